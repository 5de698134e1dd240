/**
 * The codec's named bounds: a term above MAX_TERM, a log index above MAX_LOG_INDEX and a round
 * above MAX_ROUND are refused with the field path and the bound (2^53 - 1, which a correctly
 * signed append once carried into every agent's state, among them); the bounds themselves are
 * accepted; and the bounds sit far below where numbers stop being exact.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { Message } from "../../src/core/types.ts";
import {
  decodeMessage,
  MAX_LOG_INDEX,
  MAX_ROUND,
  MAX_TERM,
} from "../../src/transport/message_codec.ts";

function heartbeat(fields: Record<string, number>): unknown {
  return {
    kind: "append",
    from: "node1",
    to: "node2",
    term: 5,
    prevLogIndex: 3,
    prevLogTerm: 2,
    entries: [],
    commitIndex: 3,
    round: 9,
    leaderPosition: null,
    ...fields,
  };
}

function refusal(json: unknown): string {
  const result = decodeMessage(json);
  assert(!result.ok, `accepted ${JSON.stringify(json)}`);
  return result.error;
}

Deno.test("terms, indexes and rounds above their bounds are refused, naming field and bound", () => {
  for (const term of [MAX_TERM + 1, 2 ** 53 - 1]) {
    assertEquals(
      refusal(heartbeat({ term })),
      `append.term: expected a term of at most ${MAX_TERM}, got ${term}`,
    );
  }
  assertEquals(
    refusal(heartbeat({ prevLogIndex: MAX_LOG_INDEX + 1 })),
    `append.prevLogIndex: expected a log index of at most ${MAX_LOG_INDEX}, got ${
      MAX_LOG_INDEX + 1
    }`,
  );
  assert(refusal(heartbeat({ commitIndex: MAX_LOG_INDEX + 1 })).startsWith("append.commitIndex"));
  assert(refusal(heartbeat({ round: MAX_ROUND + 1 })).startsWith("append.round"));
  const vote = { kind: "timeout-now", from: "node1", to: "node2", term: MAX_TERM + 1 };
  assert(refusal(vote).startsWith("timeout-now.term"));
});

Deno.test("the bounds themselves are accepted, and are far below 2^53", () => {
  const result = decodeMessage(
    heartbeat({ term: MAX_TERM, prevLogIndex: MAX_LOG_INDEX, commitIndex: 0, round: MAX_ROUND }),
  );
  assert(result.ok, JSON.stringify(result));
  assertEquals((result.message as Message).term, MAX_TERM);
  // Room for arithmetic on received numbers (term + 1, index + entries) to stay exact.
  for (const bound of [MAX_TERM, MAX_LOG_INDEX, MAX_ROUND]) {
    assert(bound * 16 < Number.MAX_SAFE_INTEGER);
  }
});
