/**
 * A node whose term reached MAX_TERM (pushed there by a peer holding the secret, or by an
 * absurd number of elections) stops campaigning instead of making a term every peer refuses;
 * it says why, and keeps answering as a follower.
 */
import { strictEqual } from "node:assert/strict";
import { MAX_TERM } from "../../src/core/bounds.ts";
import { memberNode, TEST_CONFIG, tickTimes } from "./helpers.ts";

Deno.test("a node at the term bound never campaigns", () => {
  const node = memberNode("n1", ["n1", "n2", "n3"], { term: MAX_TERM });
  const after = tickTimes(node, 4 * (TEST_CONFIG.electionTimeoutTicks + 5));
  strictEqual(after.state.term, MAX_TERM);
  strictEqual(after.state.role, "follower");
  strictEqual(after.messages.filter((message) => message.kind === "pre-vote").length, 0);
});

Deno.test("a node below the bound campaigns as usual (the check above can fail)", () => {
  const node = memberNode("n1", ["n1", "n2", "n3"], { term: MAX_TERM - 1 });
  const after = tickTimes(node, 4 * (TEST_CONFIG.electionTimeoutTicks + 5));
  strictEqual(after.messages.some((message) => message.kind === "pre-vote"), true);
});
