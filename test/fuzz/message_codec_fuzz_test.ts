/**
 * Fuzz target: the message codec. Arbitrary bytes, arbitrary JSON values and valid messages
 * with a field replaced by anything never make decodeMessageBytes or decodeMessage throw;
 * whatever they accept is itself valid (decodes again to the same message) and within the
 * named bounds of terms and indexes.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import {
  decodeMessage,
  decodeMessageBytes,
  encodeMessage,
  MAX_TERM,
} from "../../src/transport/message_codec.ts";
import { messageArbitrary } from "../transport/message_arbitraries.ts";
import { fuzzParameters } from "./fuzz_runs.ts";

function checkAccepted(result: ReturnType<typeof decodeMessage>): void {
  if (!result.ok) {
    assert(typeof result.error === "string" && result.error.length > 0);
    return;
  }
  assert(result.message.term <= MAX_TERM, `term ${result.message.term} above MAX_TERM`);
  const again = decodeMessageBytes(encodeMessage(result.message));
  assert(again.ok, "an accepted message must decode again");
  assertEquals(again.message, result.message);
}

Deno.test("fuzz: random bytes never make the codec throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      checkAccepted(decodeMessageBytes(bytes));
    }),
    fuzzParameters(),
  );
});

Deno.test("fuzz: arbitrary JSON values never make the codec throw", () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
      checkAccepted(decodeMessage(value));
      checkAccepted(decodeMessageBytes(new TextEncoder().encode(JSON.stringify(value))));
    }),
    fuzzParameters(),
  );
});

Deno.test("fuzz: valid messages with one field replaced by anything never make the codec throw", () => {
  const replacement = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(2 ** 53 - 1, MAX_TERM + 1, -1, 0.5, "a b", "__proto__", null),
  );
  fc.assert(
    fc.property(messageArbitrary, fc.nat(), replacement, (message, pick, value) => {
      const json = JSON.parse(new TextDecoder().decode(encodeMessage(message)));
      const fields = Object.keys(json);
      json[fields[pick % fields.length]!] = value;
      checkAccepted(decodeMessage(json));
    }),
    fuzzParameters(),
  );
});
