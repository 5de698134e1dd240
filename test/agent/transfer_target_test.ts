/**
 * The target a planned stop hands leadership to (src/agent/transfer_target.ts): a voter that
 * streams from this primary when only some do; the core's own choice (null) when all or none
 * do; never a voter tagged nofailover; the higher failover priority among streaming ones.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createNode, defaultCoreConfig, type NodeState } from "../../src/core/mod.ts";
import { INITIAL_CLUSTER_STATE } from "../../src/core/cluster_state.ts";
import {
  awaitStreamingTransferTarget,
  streamingTransferTarget,
} from "../../src/agent/transfer_target.ts";

function leader(voters: string[], keyValues: Record<string, string> = {}): NodeState {
  const node = createNode("n1", defaultCoreConfig(), null, 0);
  return {
    ...node,
    role: "leader",
    membership: { ...node.membership, voters, learners: [] },
    applied: { ...INITIAL_CLUSTER_STATE, keyValues },
  };
}

const streaming = (name: string) => ({ application_name: name, state: "streaming" });
const catchingUp = (name: string) => ({ application_name: name, state: "catchup" });

Deno.test("a planned stop names the streaming voter when another is not streaming yet", () => {
  // The rolling-restart failure: n2 was rewound and started but not streaming yet, n3 streamed.
  assertEquals(streamingTransferTarget(leader(["n1", "n2", "n3"]), [streaming("n3")]), "n3");
  assertEquals(
    streamingTransferTarget(leader(["n1", "n2", "n3"]), [catchingUp("n2"), streaming("n3")]),
    "n3",
  );
});

Deno.test("when every voter streams, or none does, the core chooses (null)", () => {
  const state = leader(["n1", "n2", "n3"]);
  assertEquals(streamingTransferTarget(state, [streaming("n2"), streaming("n3")]), null);
  assertEquals(streamingTransferTarget(state, []), null);
  // A streaming learner or stranger is no candidate.
  assertEquals(streamingTransferTarget(state, [streaming("n9")]), null);
});

Deno.test("nofailover voters are left out; priority, then name, orders streaming voters", () => {
  const tagged = leader(["n1", "n2", "n3"], { "config/tags/n3/nofailover": "true" });
  // n3 may not lead: n2 is the only candidate, and it streams.
  assertEquals(streamingTransferTarget(tagged, [streaming("n2"), streaming("n3")]), null);
  assertEquals(streamingTransferTarget(tagged, [streaming("n3")]), null);
  const five = leader(["n1", "n2", "n3", "n4", "n5"], {
    "config/tags/n4/failover_priority": "5",
  });
  assertEquals(
    streamingTransferTarget(five, [streaming("n2"), streaming("n3"), streaming("n4")]),
    "n4",
  );
  assertEquals(streamingTransferTarget(five, [streaming("n3"), streaming("n2")]), "n2");
});

Deno.test("a follower names no target", () => {
  const follower = { ...leader(["n1", "n2", "n3"]), role: "follower" as const };
  assertEquals(streamingTransferTarget(follower, [streaming("n3")]), null);
});

Deno.test("a planned stop waits for a voter to stream, then names it; gives up after the wait", async () => {
  const state = leader(["n1", "n2", "n3"]);
  // n3 switches to this primary's timeline on the third read.
  let reads = 0;
  const target = await awaitStreamingTransferTarget(() => state, () => {
    reads++;
    return Promise.resolve(reads < 3 ? [catchingUp("n3")] : [catchingUp("n2"), streaming("n3")]);
  }, 5_000);
  assertEquals([target, reads], ["n3", 3]);
  // No voter ever streams: after the wait the core chooses (null), having read repeatedly.
  let idleReads = 0;
  const started = Date.now();
  const none = await awaitStreamingTransferTarget(() => state, () => {
    idleReads++;
    return Promise.resolve([catchingUp("n2")]);
  }, 300);
  assertEquals(none, null);
  assertEquals(idleReads > 1 && Date.now() - started >= 300, true);
});
