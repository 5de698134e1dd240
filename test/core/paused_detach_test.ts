/**
 * A paused cluster that loses its leader can still elect one (found by the model's paused
 * warm start): pause stops automatic role changes, but a standby without a live leader
 * still stops receiving WAL, which votes require; with a live leader it is left alone.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decidePostgresRole, type LogEntry } from "../../src/core/mod.ts";
import { feed, memberNode, observation, TEST_CONFIG, tickTimes } from "./helpers.ts";

const VOTERS = ["n1", "n2", "n3"];
const PAUSED: LogEntry[] = [
  {
    term: 1,
    index: 1,
    command: { kind: "membership", membership: { voters: VOTERS, learners: [] } },
  },
  { term: 1, index: 2, command: { kind: "pause", paused: true } },
];

Deno.test("paused: a standby that lost its leader stops receiving WAL; otherwise it holds", () => {
  let node = memberNode("n2", VOTERS, { entries: PAUSED });
  node = feed(node, {
    kind: "postgres",
    observation: { ...observation({ timeline: 1, lsn: 100, history: [] }), receivingWal: true },
    readTicksAgo: 0,
  }).state;
  assertEquals(node.applied.paused, true);
  node = feed(node, {
    kind: "message",
    message: {
      kind: "append",
      from: "n1",
      to: "n2",
      term: 1,
      prevLogIndex: 2,
      prevLogTerm: 1,
      entries: [],
      commitIndex: 2,
      round: 1,
      leaderPosition: null,
    },
  }).state;
  assertEquals(node.leader, "n1");
  assertEquals(decidePostgresRole(node).kind, "hold", "with a live leader nothing changes");
  node = tickTimes(node, TEST_CONFIG.electionTimeoutTicks + 1).state;
  assertEquals(decidePostgresRole(node), { kind: "standby", source: null });
});
