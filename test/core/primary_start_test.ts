/**
 * A leader whose own Postgres cannot start hands leadership over (found by the chaos suite,
 * seed 5012: the leader kept its leadership forever, the cluster had no writable primary).
 * Proves, through the real core on a scripted network: the hand-over comes exactly at
 * `primaryStartTimeoutTicks` ticks without a Postgres seen running as a primary, not before;
 * a step-down when no standby holds all of the leader's WAL, a transfer when one does; a
 * transfer that cannot finish ends in a step-down; the node does not campaign until its
 * Postgres runs; a healthy primary, a paused cluster, a sole voter and a leader no other
 * voter may replace (nofailover) never hand over; and never two nodes with write authority.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type CoreConfig,
  hasWriteAuthority,
  type NodeState,
  type PostgresObservation,
  type WalPosition,
} from "../../src/core/mod.ts";
import { campaignBlocker } from "../../src/core/election.ts";
import { at, memberNode, observation, TEST_CONFIG, tickTimes } from "./helpers.ts";
import { Network } from "./network.ts";

const VOTERS = ["n1", "n2", "n3"];
/** Short transfer timeout, so that the failed-transfer case is a few rounds long. */
const CONFIG: CoreConfig = { ...TEST_CONFIG, transferTimeoutTicks: 20 };
const BOUND = CONFIG.primaryStartTimeoutTicks;

/** A primary that does not run: the shell's read of its stopped data directory. */
function stoppedPrimary(position: WalPosition): PostgresObservation {
  return { ...observation(position, true), status: "stopped", fenced: true };
}

/** Three voters at `at(1, 100)`; n1 leads with a lease and a running primary, counter at 0. */
function cluster(): Network {
  const network = new Network();
  for (const id of VOTERS) {
    network.add(memberNode(id, VOTERS, { config: CONFIG, position: at(1, 100) }));
  }
  network.run(3 * CONFIG.electionTimeoutTicks);
  assertEquals(network.node("n1").role, "leader", "n1 times out first (ids tick in order)");
  network.setPostgres("n1", observation(at(1, 100), true));
  network.run(2);
  network.observe("n1");
  assert(hasWriteAuthority(network.node("n1")), "n1 leads with a lease");
  assertEquals(network.node("n1").ticksWithoutPrimary, 0);
  return network;
}

/** `count` rounds, n1's shell reading its Postgres before each (as the real one does). */
function runObserving(network: Network, count: number): void {
  for (let round = 0; round < count; round++) {
    network.observe("n1");
    network.run(1);
  }
}

function leaderOf(network: Network): NodeState | undefined {
  return [...network.nodes.values()].find((node) => node.role === "leader");
}

Deno.test("a leader whose Postgres stays stopped steps down at the bound, not before", () => {
  const network = cluster();
  // The primary crashed with WAL its standbys never got (150 > 100): no one is caught up.
  network.setPostgres("n1", stoppedPrimary(at(1, 150)));
  runObserving(network, BOUND - 1);
  assertEquals(network.node("n1").role, "leader", "one tick before the bound it still leads");
  assertEquals(network.node("n1").transfer, null);
  runObserving(network, 1);
  const n1 = network.node("n1");
  assertEquals(n1.role, "follower", "at the bound it stepped down");
  assert(!hasWriteAuthority(n1));
  assert(n1.campaignWaitsForPostgres);
  assert(campaignBlocker(n1)?.includes("did not run as a primary"));
  // The others elect among themselves; n1 neither campaigns nor votes behind its own WAL.
  runObserving(network, 4 * CONFIG.electionTimeoutTicks);
  const leader = leaderOf(network);
  assert(leader !== undefined && leader.id !== "n1", `a standby leads: ${leader?.id}`);
  assertEquals(network.node("n1").term, leader.term, "n1 follows the new leader");
  assertEquals(network.maxWriters, 1);
  // Once its Postgres runs again (rejoined as a standby), n1 may campaign again.
  network.setPostgres("n1", observation(at(1, 100)));
  assertEquals(network.node("n1").campaignWaitsForPostgres, false);
});

Deno.test("with a standby holding all of its WAL, the leader transfers leadership to it", () => {
  const network = cluster();
  network.setPostgres("n1", stoppedPrimary(at(1, 100)));
  runObserving(network, BOUND - 1);
  assertEquals(network.node("n1").transfer, null, "no hand-over before the bound");
  runObserving(network, 3);
  const leader = leaderOf(network);
  assertEquals(leader?.id, "n2", "the best caught-up voter took over by the transfer");
  assertEquals(network.node("n1").role, "follower");
  assert(network.node("n1").campaignWaitsForPostgres);
  assertEquals(network.maxWriters, 1);
});

Deno.test("a hand-over transfer that cannot finish ends in a step-down, not a retry", () => {
  const network = cluster();
  network.setPostgres("n1", stoppedPrimary(at(1, 100)));
  runObserving(network, BOUND - 1);
  // From now on n1's shell reads nothing (its start hangs): TimeoutNow needs a read after
  // the transfer began, so the transfer can only time out.
  network.run(1);
  const transfer = network.node("n1").transfer;
  assertEquals(transfer?.target, "n2");
  assertEquals(transfer?.requestId, null, "started by the core itself");
  assert(!hasWriteAuthority(network.node("n1")), "a transfer ends write authority at once");
  network.run(CONFIG.transferTimeoutTicks - 1);
  assertEquals(network.node("n1").role, "leader");
  network.run(1);
  assertEquals(network.node("n1").role, "follower", "stepped down at the transfer timeout");
  assertEquals(network.node("n1").transfer, null);
  network.run(4 * CONFIG.electionTimeoutTicks);
  assert(leaderOf(network) !== undefined && leaderOf(network)!.id !== "n1");
  assertEquals(network.maxWriters, 1);
});

Deno.test("a primary seen running restarts the count; a healthy one never hands over", () => {
  const network = cluster();
  network.setPostgres("n1", stoppedPrimary(at(1, 150)));
  runObserving(network, BOUND - 1);
  // The start succeeded just in time (fenced first, as the shell starts every primary).
  network.setPostgres("n1", { ...observation(at(1, 150), true), fenced: true });
  assertEquals(network.node("n1").ticksWithoutPrimary, 0);
  runObserving(network, 3 * BOUND);
  assertEquals(network.node("n1").role, "leader");
  assertEquals(network.node("n1").transfer, null);
});

Deno.test("no other voter may lead (nofailover): the leader keeps leading", () => {
  const network = cluster();
  for (const peer of ["n2", "n3"]) {
    network.input("n1", {
      kind: "admin",
      request: {
        kind: "propose",
        requestId: `tag ${peer}`,
        command: { kind: "kv", key: `config/tags/${peer}/nofailover`, value: "true" },
      },
    });
    network.deliverAll();
  }
  network.run(2);
  network.setPostgres("n1", stoppedPrimary(at(1, 150)));
  runObserving(network, 2 * BOUND);
  assertEquals(network.node("n1").role, "leader", "stepping down would gain nothing");
  assertEquals(network.node("n1").transfer, null);
});

Deno.test("paused, or the only voter: the leader keeps leading and waits for its Postgres", () => {
  const network = cluster();
  network.input("n1", {
    kind: "admin",
    request: { kind: "propose", requestId: "pause", command: { kind: "pause", paused: true } },
  });
  network.deliverAll();
  network.run(2);
  assert(network.node("n1").applied.paused);
  network.setPostgres("n1", stoppedPrimary(at(1, 150)));
  runObserving(network, 2 * BOUND);
  assertEquals(network.node("n1").role, "leader", "no automatic role change while paused");

  let single = memberNode("n1", ["n1"], { config: CONFIG, position: at(1, 100) });
  single = tickTimes(single, CONFIG.electionTimeoutTicks + CONFIG.electionTimeoutJitterTicks)
    .state;
  assertEquals(single.role, "leader");
  single = tickTimes(single, 2 * BOUND).state;
  assertEquals(single.ticksWithoutPrimary, BOUND, "the count is capped at the bound");
  assertEquals(single.role, "leader", "nobody else could lead");
});
