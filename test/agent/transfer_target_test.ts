/**
 * The target a planned stop hands leadership to (src/agent/transfer_target.ts): a voter that
 * streams from this primary when only some do; the core's own choice (null) when all or none
 * do; never a voter tagged nofailover; the higher failover priority among streaming ones.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  createNode,
  defaultCoreConfig,
  type NodeState,
  type PostgresObservation,
} from "../../src/core/mod.ts";
import { INITIAL_CLUSTER_STATE } from "../../src/core/cluster_state.ts";
import { planTransfer, streamingTransferTarget } from "../../src/agent/transfer_target.ts";

/** What a running primary's shell observes. */
const RUNNING_PRIMARY: PostgresObservation = {
  status: "running",
  inRecovery: false,
  position: { timeline: 2, lsn: 1000, history: [{ timeline: 1, endLsn: 900 }] },
  replayCaughtUp: true,
  synchronousStandbyNames: null,
  fenced: false,
  receivingWal: false,
};

function leader(voters: string[], keyValues: Record<string, string> = {}): NodeState {
  const node = createNode("n1", defaultCoreConfig(), null, 0);
  return {
    ...node,
    role: "leader",
    membership: { ...node.membership, voters, learners: [] },
    applied: { ...INITIAL_CLUSTER_STATE, keyValues },
    postgres: RUNNING_PRIMARY,
  };
}

/** The target {@link planTransfer} names (its connection verdict is tested below). */
async function targetOf(...args: Parameters<typeof planTransfer>): Promise<string | null> {
  return (await planTransfer(...args)).target;
}

/** A replication reader that answers `rows(n)` on its n-th read (from 1) and counts reads. */
function countedReads(rows: (read: number) => ReturnType<typeof streaming>[]) {
  const reader = {
    reads: 0,
    read: () => Promise.resolve(rows(++reader.reads)),
  };
  return reader;
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
  const switching = countedReads((read) =>
    read < 3 ? [catchingUp("n3")] : [catchingUp("n2"), streaming("n3")]
  );
  const target = await targetOf(() => state, switching.read, null, 5_000);
  assertEquals([target, switching.reads], ["n3", 3]);
  // No voter ever streams: after the wait the core chooses (null), having read repeatedly.
  const idle = countedReads(() => [catchingUp("n2")]);
  const started = Date.now();
  const none = await targetOf(() => state, idle.read, null, 300);
  assertEquals(none, null);
  assertEquals(idle.reads > 1 && Date.now() - started >= 300, true);
});

Deno.test("a switchover right after a failover waits for the standby still switching timelines", async () => {
  // n2 was just promoted; n1 (the old primary) is dead, n3 still follows n2's old timeline
  // and streams from the third read on. The request named no target: n3, once it streams.
  const state = leader(["n1", "n2", "n3"]);
  const replication = countedReads((read) => read < 3 ? [] : [streaming("n3")]);
  const target = await targetOf(() => state, replication.read, null, 5_000);
  assertEquals([target, replication.reads], ["n3", 3]);
});

Deno.test("a named target is waited for, and named after the wait whatever happened", async () => {
  const state = leader(["n1", "n2", "n3"]);
  // n3 streams at once, but n2 was asked for: it streams on the second read.
  const replication = countedReads((read) =>
    read < 2 ? [streaming("n3")] : [streaming("n2"), streaming("n3")]
  );
  const named = await targetOf(() => state, replication.read, "n2", 5_000);
  assertEquals([named, replication.reads], ["n2", 2]);
  const never = await targetOf(
    () => state,
    () => Promise.resolve([]),
    "n2",
    200,
  );
  assertEquals(never, "n2");
});

Deno.test("no wait when this node's Postgres is not a running primary, or it is the only voter", async () => {
  // A hand-over because this Postgres cannot start (primary_watch.ts): nothing can stream.
  const stopped = {
    ...leader(["n1", "n2", "n3"]),
    postgres: { ...RUNNING_PRIMARY, status: "stopped" as const },
  };
  const replication = countedReads(() => []);
  const started = Date.now();
  const target = await targetOf(() => stopped, replication.read, null, 5_000);
  assertEquals([target, replication.reads], [null, 0]);
  // The only voter: the core refuses at once ("no voter is ready"), so no wait either.
  const alone = await targetOf(() => leader(["n1"]), replication.read, null, 5_000);
  assertEquals([alone, replication.reads], [null, 0]);
  assertEquals(Date.now() - started < 1_000, true);
});

Deno.test("the plan says when the target has no WAL sender at all, not when it catches up", async () => {
  const state = leader(["n1", "n2", "n3"]);
  const plan = (rows: ReturnType<typeof streaming>[], requested: string | null) =>
    planTransfer(() => state, () => Promise.resolve(rows), requested, 100);
  // n3 named, cut off from this primary (no row): refused by an operator's switchover.
  assertEquals(await plan([streaming("n2")], "n3"), {
    target: "n3",
    notConnected: "n3 does not stream from this primary",
  });
  // n3 named and catching up: it may still catch up while this Postgres shuts down.
  assertEquals(await plan([catchingUp("n3")], "n3"), { target: "n3", notConnected: null });
  // No target named: refused only when no voter that may lead has a WAL sender.
  assertEquals(await plan([], null), {
    target: null,
    notConnected: "no standby that may lead streams from this primary",
  });
  assertEquals(await plan([catchingUp("n2")], null), { target: null, notConnected: null });
  const tagged = leader(["n1", "n2", "n3"], { "config/tags/n2/nofailover": "true" });
  assertEquals(
    await planTransfer(() => tagged, () => Promise.resolve([streaming("n2")]), null, 100),
    { target: null, notConnected: "no standby that may lead streams from this primary" },
  );
});
