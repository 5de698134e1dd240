/**
 * A node whose shell can read nothing of its Postgres (every observation fails: an unreadable
 * data directory, a hanging socket) reports it `unreadable` after a bounded run of failures
 * (src/agent/reconciler.ts, `MAX_FAILED_OBSERVATIONS`). Proves, through the real core: a
 * leader whose observation turns unreadable hands over at `primaryStartTimeoutTicks`, not
 * before (before, the last observation stayed in force and it led forever); an unreadable
 * voter refuses election votes and does not campaign (it cannot vouch for its WAL, D1/D2);
 * `decidePostgresRole` never clones, initdbs or rewinds over it, and fences a server last
 * known as a primary on a node without write authority.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type CoreConfig,
  decidePostgresRole,
  hasWriteAuthority,
  type NodeState,
  type PostgresObservation,
  type VoteResponse,
} from "../../src/core/mod.ts";
import { campaignBlocker } from "../../src/core/election.ts";
import { at, deliver, feed, memberNode, observation, TEST_CONFIG, tickTimes } from "./helpers.ts";
import { Network } from "./network.ts";

const VOTERS = ["n1", "n2", "n3"];
const CONFIG: CoreConfig = { ...TEST_CONFIG, transferTimeoutTicks: 20 };
const BOUND = CONFIG.primaryStartTimeoutTicks;

/** What the shell reports once its reads failed for the bound (src/postgres/observe.ts). */
function unreadable(inRecovery: boolean): PostgresObservation {
  return {
    status: "unreadable",
    inRecovery,
    position: null,
    replayCaughtUp: false,
    synchronousStandbyNames: null,
    fenced: false,
    receivingWal: false,
  };
}

/** The node with `observation` fed as fresh. */
function observed(state: NodeState, fed: PostgresObservation): NodeState {
  return feed(state, { kind: "postgres", observation: fed, readTicksAgo: 0 }).state;
}

Deno.test("a leader whose Postgres turns unreadable hands over at the bound, not before", () => {
  const network = new Network();
  for (const id of VOTERS) {
    network.add(memberNode(id, VOTERS, { config: CONFIG, position: at(1, 100) }));
  }
  network.run(3 * CONFIG.electionTimeoutTicks);
  assertEquals(network.node("n1").role, "leader");
  network.setPostgres("n1", observation(at(1, 100), true));
  network.run(2);
  assert(hasWriteAuthority(network.node("n1")));
  network.setPostgres("n1", unreadable(false));
  for (let round = 0; round < BOUND - 1; round++) {
    network.observe("n1");
    network.run(1);
  }
  assertEquals(network.node("n1").role, "leader", "one tick before the bound it still leads");
  network.observe("n1");
  network.run(1);
  const n1 = network.node("n1");
  assertEquals(n1.role, "follower", "no position known: no caught-up target, it steps down");
  assert(n1.campaignWaitsForPostgres);
  network.run(4 * CONFIG.electionTimeoutTicks);
  const leader = [...network.nodes.values()].find((node) => node.role === "leader");
  assert(leader !== undefined && leader.id !== "n1", `a standby leads: ${leader?.id}`);
  assertEquals(network.maxWriters, 1);
});

Deno.test("an unreadable voter refuses election votes and does not campaign", () => {
  let voter = memberNode("n2", VOTERS, { position: at(1, 200) });
  voter = tickTimes(observed(voter, unreadable(true)), TEST_CONFIG.electionTimeoutTicks + 3)
    .state;
  voter = observed(voter, unreadable(true));
  assertEquals(campaignBlocker(voter), "local Postgres unreadable");
  assertEquals(voter.role, "follower", "it never stood");
  const candidate = tickTimes(memberNode("n3", VOTERS, { position: at(1, 150) }), 40);
  const requests = candidate.messages.filter((message) =>
    message.to === "n2" && message.kind === "pre-vote"
  );
  assert(requests.length > 0, "n3 asked n2 for a pre-vote");
  const answers = requests.flatMap((request) => deliver(voter, request).messages)
    .filter((message): message is VoteResponse => message.kind === "vote-response");
  assert(answers.length > 0 && answers.every((answer) => !answer.granted));
  assert(answers[0]!.reason.includes("local Postgres unreadable"), answers[0]!.reason);
});

Deno.test("decidePostgresRole never clones or initdbs over an unreadable Postgres", () => {
  // A follower of a live leader, its directory last seen absent: absent would clone.
  let follower = memberNode("n2", VOTERS);
  follower = deliver(follower, {
    kind: "append",
    from: "n1",
    to: "n2",
    term: 1,
    prevLogIndex: 1,
    prevLogTerm: 1,
    entries: [],
    commitIndex: 1,
    round: 1,
    leaderPosition: at(1, 100),
  }).state;
  assertEquals(follower.leader, "n1");
  assertEquals(
    decidePostgresRole(observed(follower, { ...unreadable(false), status: "absent" })).kind,
    "clone",
    "control: the same follower with its directory absent clones",
  );
  const standby = observed(follower, unreadable(true));
  assertEquals(decidePostgresRole(standby).kind, "hold");
  // Last known as a primary, no write authority: fenced, never rejoined (pg_rewind).
  const deposed = decidePostgresRole(observed(follower, unreadable(false)));
  assertEquals(deposed.kind, "fenced");
  // A sole-voter leader without a recorded system identifier would run initdb if absent.
  let single = memberNode("n1", ["n1"], { position: at(1, 100) });
  single = tickTimes(single, TEST_CONFIG.electionTimeoutTicks + 40).state;
  assertEquals(single.role, "leader");
  const absent = observed(single, { ...unreadable(false), status: "absent" });
  assertEquals(decidePostgresRole(absent).kind, "initdb", "control: absent would initdb");
  const role = decidePostgresRole(observed(single, unreadable(false)));
  assertEquals(role.kind, hasWriteAuthority(single) ? "hold" : "fenced");
});
