/**
 * A peer message that contradicts the receiver's state is refused with a warning, never an
 * assertion: a second leader in a term (seen by the leader itself and by a follower that knows
 * the real one), a term above MAX_TERM, and an append that rewrites a committed entry. Each of
 * these once stopped the receiving agent (the core's assertions fired on remote input).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type AppendRequest, createNode, type NodeState, step } from "../../src/core/mod.ts";
import { MAX_TERM } from "../../src/core/bounds.ts";
import { deliver, memberNode, TEST_CONFIG } from "./helpers.ts";

function append(from: string, to: string, term: number, extra: Partial<AppendRequest> = {}) {
  const request: AppendRequest = {
    kind: "append",
    from,
    to,
    term,
    prevLogIndex: 1,
    prevLogTerm: 1,
    entries: [],
    commitIndex: 1,
    round: 1,
    leaderPosition: null,
    ...extra,
  };
  return request;
}

function warnings(result: ReturnType<typeof step>): string[] {
  return result.effects.flatMap((effect) => effect.kind === "warning" ? [effect.text] : []);
}

/** n1 as the bootstrapped leader of a one-voter cluster, term 1. */
function soleLeader(): NodeState {
  const node = step(createNode("n1", TEST_CONFIG, null, 0), { kind: "bootstrap" }).state;
  assertEquals([node.role, node.term], ["leader", 1]);
  return node;
}

Deno.test("a leader refuses an append of its own term from another node, and stays leader", () => {
  const result = deliver(soleLeader(), append("n2", "n1", 1, { prevLogIndex: 0, prevLogTerm: 0 }));
  assertEquals(result.state.role, "leader");
  assertEquals(result.messages, []);
  assert(warnings(result).some((text) => text.includes("two leaders")), warnings(result).join());
});

Deno.test("a follower refuses an append from a second leader of the term it knows", () => {
  const voters = ["n1", "n2", "n3"];
  const follower = deliver(memberNode("n2", voters), append("n1", "n2", 1)).state;
  assertEquals(follower.leader, "n1");
  const result = deliver(follower, append("n3", "n2", 1));
  assertEquals(result.state.leader, "n1");
  assertEquals(result.messages, []);
  assert(warnings(result).some((text) => text.includes("whose leader is n1")));
});

Deno.test("a term above MAX_TERM is refused and the node keeps its term", () => {
  const node = memberNode("n2", ["n1", "n2", "n3"]);
  for (const term of [MAX_TERM + 1, Number.MAX_SAFE_INTEGER]) {
    const result = deliver(node, append("n1", "n2", term));
    assertEquals(result.state.term, node.term);
    assertEquals(result.persist, null);
    assert(warnings(result).some((text) => text.includes(`above the bound ${MAX_TERM}`)));
  }
  // The bound itself is still a term.
  assertEquals(deliver(node, append("n1", "n2", MAX_TERM)).state.term, MAX_TERM);
});

Deno.test("an append that rewrites a committed entry is refused, not asserted on", () => {
  const node = memberNode("n2", ["n1", "n2", "n3"]);
  const result = deliver(
    node,
    append("n1", "n2", 2, {
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ term: 2, index: 1, command: { kind: "noop" } }],
    }),
  );
  assertEquals(result.state.log, node.log);
  assertEquals(result.persist?.truncateFrom ?? null, null);
  assert(warnings(result).some((text) => text.includes("contradicts committed entry 1")));
});
