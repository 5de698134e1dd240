/**
 * The old primary of a switchover stays stopped until it hears the new leader. Found by the
 * full suite (cluster_config_test, 2026-12-02): the transfer ended when node1 stepped down
 * on node2's vote request, and for the 75 ms before node2's first append node1 was a
 * follower with no leader known. The core asked for `fenced` ("not the leader and no leader
 * known"), which the shell carries out on a stopped server by starting it fenced; the
 * rejoin that followed stopped it again, and that second shutdown checkpoint lay past the
 * WAL node2 had taken over: node1 could not stream ("new timeline 2 forked off current
 * database system timeline 1 before current recovery point") and was rewound 10 s later.
 * Replayed here through the real cores; before the fix the decision in the window was
 * `fenced` on a stopped server.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type CoreConfig, decidePostgresRole, type NodeState } from "../../src/core/mod.ts";
import { at, memberNode, observation, TEST_CONFIG } from "./helpers.ts";
import { Network } from "./network.ts";

const VOTERS = ["n1", "n2", "n3"];
const CONFIG: CoreConfig = { ...TEST_CONFIG, transferTimeoutTicks: 20 };

/** A cluster led by n1, whose primary runs at (1, 100) with both standbys caught up. */
function ledByN1(): Network {
  const network = new Network();
  for (const id of VOTERS) {
    network.add(memberNode(id, VOTERS, { config: CONFIG, position: at(1, 100) }));
  }
  network.run(3 * CONFIG.electionTimeoutTicks);
  const leader = [...network.nodes.values()].find((node) => node.role === "leader");
  if (leader?.id !== "n1") throw new Error(`n1 should lead first, not ${leader?.id}`);
  network.setPostgres("n1", observation(at(1, 100), true));
  network.run(2);
  return network;
}

/** The shell's answer to `fenced` with `shutDown`: fence, then a fast shutdown. */
function shutDownForTransfer(network: Network): void {
  const stoppedAt = at(1, 120); // the shutdown checkpoint, handed to both standbys
  network.setPostgres("n1", {
    ...observation(stoppedAt, true),
    status: "stopped",
    fenced: true,
  });
  network.setPostgres("n2", observation(stoppedAt));
  network.setPostgres("n3", observation(stoppedAt));
}

Deno.test("switchover: the stopped old primary is not started while no leader is known", () => {
  const network = ledByN1();
  network.input("n1", {
    kind: "admin",
    request: { kind: "transfer", requestId: "t1", target: "n2" },
  });
  network.deliverAll();
  assertEquals(decidePostgresRole(network.node("n1")), {
    kind: "fenced",
    reason: "leadership transfer to n2",
    shutDown: true,
  });
  shutDownForTransfer(network);
  // n1 stalls on the new leader's first append: the window between the transfer's end and
  // the new leader becoming known.
  network.stallWhen = (message) =>
    message.to === "n1" && message.from === "n2" && message.kind === "append";
  network.run(CONFIG.transferTimeoutTicks);
  const window: NodeState = network.node("n1");
  assertEquals([window.role, window.leader, window.transfer], ["follower", null, null]);
  assertEquals(network.node("n2").role, "leader");
  assertEquals(decidePostgresRole(window), {
    kind: "hold",
    reason: "a deposed primary stays stopped until a leader is known",
  });
  network.resume("n1");
  assertEquals(decidePostgresRole(network.node("n1")), { kind: "rejoin", source: "n2" });
});

Deno.test("a running deposed primary with no leader known is still fenced", () => {
  let node = memberNode("n1", VOTERS, { config: CONFIG });
  node = { ...node, postgres: observation(at(1, 100), true) };
  assertEquals(decidePostgresRole(node), {
    kind: "fenced",
    reason: "not the leader and no leader known",
  });
});

Deno.test("a node that handed over because its server would not start still starts it fenced", () => {
  // It stands again only once its server runs (primary_watch.ts), and it may hold the newest
  // WAL: kept stopped, no one could be elected (the model's liveness walk, N=3 seed 6).
  let node = memberNode("n1", VOTERS, { config: CONFIG });
  const stopped = { ...observation(at(1, 100), true), status: "stopped" as const };
  node = { ...node, postgres: stopped, campaignWaitsForPostgres: true };
  assertEquals(decidePostgresRole(node), {
    kind: "fenced",
    reason: "not the leader and no leader known",
  });
});
