/**
 * Fuzz target: operator request bodies. Arbitrary bytes and arbitrary JSON sent to the
 * authenticated endpoints are answered 2xx/4xx, never 500; the body readers throw nothing but
 * their HTTPException (400 or 413); and every key-value command that reaches the core passes
 * the wire codec's check, so an accepted proposal can always be replicated (a key with a
 * space once stopped the leader).
 */
import { ok as assert } from "node:assert/strict";
import fc from "fast-check";
import { HTTPException } from "hono/http-exception";
import { createApiApp } from "../../src/api/server.ts";
import {
  keyValueCommand,
  optionalNodeId,
  readJsonObject,
  requiredNodeId,
} from "../../src/api/request_body.ts";
import { checkKeyValueKey, decodeMessage } from "../../src/transport/message_codec.ts";
import { FakeAgent } from "../api/fake_agent.ts";
import { TEST_TOKENS } from "../api/test_tokens.ts";
import { fuzzParameters } from "./fuzz_runs.ts";

const PATHS = ["/kv", "/switchover", "/members/add", "/members/remove", "/pause"];

/** Bodies: raw bytes, any JSON, and objects shaped like the real ones with odd values. */
const bodyArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => new TextEncoder().encode(JSON.stringify(value))),
  fc.record({
    key: fc.oneof(
      fc.string({ unit: "binary", maxLength: 140 }),
      // Printable ASCII with spaces: mostly keys the API must accept, some it must refuse.
      fc.stringMatching(/^[\x20-\x7e]{0,130}$/),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    value: fc.oneof(fc.string({ unit: "binary", maxLength: 50 }), fc.constant(null), fc.nat()),
    target: fc.oneof(fc.string({ maxLength: 70 }), fc.constant(null)),
    node: fc.string({ maxLength: 70 }),
  }, { requiredKeys: [] }).map((value) => new TextEncoder().encode(JSON.stringify(value))),
);

function isOwnValidationError(error: unknown): boolean {
  return error instanceof HTTPException && (error.status === 400 || error.status === 413);
}

Deno.test("fuzz: the body readers throw nothing but their 400/413 HTTPException", async () => {
  await fc.assert(
    fc.asyncProperty(bodyArbitrary, async (body) => {
      try {
        const object = await readJsonObject(
          new Request("http://x/kv", { method: "POST", body: new Uint8Array(body) }),
        );
        for (
          const read of [keyValueCommand, (o: Record<string, unknown>) => requiredNodeId(o, "node")]
        ) {
          try {
            read(object);
          } catch (error) {
            assert(isOwnValidationError(error), String(error));
          }
        }
        optionalNodeId(object, "target");
      } catch (error) {
        assert(isOwnValidationError(error), String(error));
      }
    }),
    fuzzParameters(),
  );
});

Deno.test("fuzz: no body makes an endpoint fail with 500; accepted keys pass the wire codec", async () => {
  const agent = new FakeAgent();
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...PATHS), bodyArbitrary, async (path, body) => {
      agent.submitted.length = 0;
      const response = await app.request(path, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TEST_TOKENS.admin}`,
          "content-type": "application/json",
        },
        body: new Uint8Array(body),
      });
      await response.body?.cancel();
      assert(response.status < 500, `${path} answered ${response.status}`);
      for (const request of agent.submitted) {
        if (request.kind !== "propose" || request.command.kind !== "kv") continue;
        const { key } = request.command;
        assert(checkKeyValueKey(key) === null, `key ${JSON.stringify(key)} reached the core`);
        const entry = { term: 1, index: 1, command: request.command };
        const message = {
          kind: "append",
          from: "n1",
          to: "n2",
          term: 1,
          prevLogIndex: 0,
          prevLogTerm: 0,
          entries: [entry],
          commitIndex: 0,
          round: 0,
          leaderPosition: null,
        };
        const decoded = decodeMessage(message);
        assert(decoded.ok, `the codec refuses what the API accepted: ${JSON.stringify(decoded)}`);
      }
    }),
    fuzzParameters(),
  );
});
