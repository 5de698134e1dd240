/**
 * Issue 9's failures of the core, each replayed by driving `step` directly: the scenario
 * is safe as the code stands, and the fault switch that reintroduces the old rule makes the
 * same scenario unsafe (so each check can fail). Covered: a vote on a stale or fallen-back
 * timeline, a vote on an old observation, a vote while the voter's standby still streams
 * from a primary that acknowledges commits, an observation aged from its arrival rather
 * than its read, a late TimeoutNow after a transfer timed out, pause without fencing, and a
 * restart writable after the lease.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type AppendRequest,
  decidePostgresRole,
  type FaultSwitches,
  hasWriteAuthority,
  leaseDurationTicks,
  type Message,
  needsFreshObservation,
  NO_FAULTS,
  type NodeState,
  synchronousStandbyNames,
  type WalPosition,
} from "../../src/core/mod.ts";
import {
  at,
  deliver,
  feed,
  memberNode,
  observation,
  observeAgain,
  TEST_CONFIG,
  tickTimes,
} from "./helpers.ts";
import { Network } from "./network.ts";

const VOTERS = ["n1", "n2", "n3"];
/** The cluster went 1 → 2 (at 100 000) → 3 (at 200 000), as after two switchovers. */
const ON_3 = [[1, 100_000], [2, 200_000]] as const;

function withFaults(faults: Partial<FaultSwitches>) {
  return { ...TEST_CONFIG, faults: { ...NO_FAULTS, ...faults } };
}

/** An append from leader n1 in `term`, carrying no entries: contact with the leader. */
function heartbeat(to: string, term: number, commitIndex: number): AppendRequest {
  return {
    kind: "append",
    from: "n1",
    to,
    term,
    prevLogIndex: commitIndex,
    prevLogTerm: 1,
    entries: [],
    commitIndex,
    round: 1,
    leaderPosition: null,
  };
}

/** A standby at `position` that lost leader n1 an election timeout ago and observed since. */
function voterPastWait(position: WalPosition, faults: Partial<FaultSwitches>): NodeState {
  const voter = memberNode("n2", VOTERS, { config: withFaults(faults), position });
  return observeAgain(tickTimes(voter, TEST_CONFIG.electionTimeoutTicks + 3).state);
}

/**
 * n1 (the primary) is dead. Standby n3 at `position` campaigns; its pre-vote and vote go to
 * `voter` (n2) only. Returns n3 at the end: leader exactly when n2 voted for it.
 */
function campaignAgainst(voter: NodeState, position: WalPosition): NodeState {
  let candidate = memberNode("n3", VOTERS, { config: voter.config, position });
  const started = tickTimes(candidate, TEST_CONFIG.electionTimeoutTicks);
  candidate = started.state;
  assertEquals(candidate.role, "pre-candidate");
  let current = voter;
  let pending = started.messages.filter((message) => message.to === "n2");
  for (let round = 0; round < 2; round++) {
    const next: Message[] = [];
    for (const message of pending) {
      const answered = deliver(current, message);
      current = answered.state;
      for (const reply of answered.messages) {
        const result = deliver(candidate, reply);
        candidate = result.state;
        next.push(...result.messages.filter((message) => message.to === "n2"));
      }
    }
    pending = next;
  }
  return candidate;
}

Deno.test("D1: a standby far ahead on timeline 3 refuses a candidate behind it, whatever timeline it reports", () => {
  const candidate = at(3, 210_000, ON_3);
  // The advanced standby as it truly is: timeline 3 at 989 728.
  const truthful = campaignAgainst(voterPastWait(at(3, 989_728, ON_3), {}), candidate);
  assertEquals(truthful.role, "pre-candidate", "the candidate behind must lose");
  // As issue 9 saw it with its WAL receiver down: the timeline of its last restartpoint, 1.
  const fallenBack = campaignAgainst(voterPastWait(at(1, 989_728), {}), candidate);
  assertEquals(fallenBack.role, "pre-candidate", "the candidate behind must lose");
});

Deno.test("control compareTimelineNumbers: the fallen-back standby elects the candidate behind it", () => {
  const voter = voterPastWait(at(1, 989_728), { compareTimelineNumbers: true });
  const candidate = campaignAgainst(voter, at(3, 210_000, ON_3));
  assertEquals(candidate.role, "leader", "timeline 3 > 1 outranked 779 728 more bytes");
});

/**
 * Voter n2 observed its Postgres at 1:100 while leader n1 was alive; then it flushed an
 * acknowledged commit up to 1:200 (not yet observed) and n1 died. Candidate n3 is at 1:150.
 */
function voteOnOldObservation(faults: Partial<FaultSwitches>) {
  const config = withFaults(faults);
  let voter = memberNode("n2", VOTERS, { config, position: at(1, 100) });
  voter = deliver(voter, heartbeat("n2", 1, 1)).state;
  voter = tickTimes(voter, TEST_CONFIG.electionTimeoutTicks + 3).state;
  return voter;
}

Deno.test("a vote is refused on an observation read before the voter's lease wait ended", () => {
  const voter = voteOnOldObservation({});
  assert(needsFreshObservation(voter), "the shell is asked to observe at once");
  const candidate = campaignAgainst(voter, at(1, 150));
  assertEquals(candidate.role, "pre-candidate");
  // The fresh observation shows the acknowledged WAL: the candidate is behind it.
  const fresh =
    feed(voter, { kind: "postgres", observation: observation(at(1, 200)), readTicksAgo: 0 }).state;
  assertEquals(needsFreshObservation(fresh), false);
  assertEquals(campaignAgainst(fresh, at(1, 150)).role, "pre-candidate");
  // A candidate holding that WAL wins on the fresh observation (the rule is not a deadlock).
  assertEquals(campaignAgainst(fresh, at(1, 200)).role, "leader");
});

Deno.test("control voteOnStaleObservation: the old observation elects a candidate missing a commit", () => {
  const voter = voteOnOldObservation({ voteOnStaleObservation: true });
  assertEquals(campaignAgainst(voter, at(1, 150)).role, "leader");
});

/** Voter n2's Postgres at `position`, read `readTicksAgo` ticks ago, receiver running or not. */
function observed(
  state: NodeState,
  position: WalPosition,
  receivingWal: boolean,
  readTicksAgo = 0,
): NodeState {
  const postgres = { ...observation(position), receivingWal };
  return feed(state, { kind: "postgres", observation: postgres, readTicksAgo }).state;
}

/**
 * Issue 9's remaining gap. Voter n2 follows leader n1, its standby streaming from n1's
 * primary; then n2 is cut from n1's Raft traffic only (n1's lease is renewed by n3, its
 * standby keeps streaming). n2 passes its lease wait and reads a fresh observation at 1:100
 * while its WAL receiver still runs. Returns n2 then.
 */
function voterCutFromRaftOnly(faults: Partial<FaultSwitches>): NodeState {
  let voter = memberNode("n2", VOTERS, { config: withFaults(faults), position: at(1, 100) });
  voter = observed(voter, at(1, 100), true);
  voter = deliver(voter, heartbeat("n2", 1, 1)).state;
  assertEquals(decidePostgresRole(voter), { kind: "standby", source: "n1" });
  voter = tickTimes(voter, TEST_CONFIG.electionTimeoutTicks + 3).state;
  return observed(voter, at(1, 100), true);
}

Deno.test("a standby cut from the leader's Raft traffic stops receiving WAL and votes only after its receiver stopped", () => {
  const voter = voterCutFromRaftOnly({});
  // No live leader: the core asks for a standby that receives WAL from no one.
  assertEquals(decidePostgresRole(voter), { kind: "standby", source: null });
  assertEquals(needsFreshObservation(voter), false, "the observation is fresh by time");
  // Still streaming (the shell has not stopped the receiver yet): n1's primary, whose lease
  // n3 renews, may acknowledge a commit up to 1:200 with n2's flush after this read.
  assertEquals(campaignAgainst(voter, at(1, 150)).role, "pre-candidate");
  // The receiver stopped after flushing that commit; the observation read after the stop has it.
  const stopped = observed(voter, at(1, 200), false);
  assertEquals(campaignAgainst(stopped, at(1, 150)).role, "pre-candidate");
  // Not a deadlock: a candidate holding that WAL wins on this observation.
  assertEquals(campaignAgainst(stopped, at(1, 200)).role, "leader");
  // Liveness: hearing the leader again, n2 follows it at once.
  const reattached = deliver(stopped, heartbeat("n2", 1, 1)).state;
  assertEquals(decidePostgresRole(reattached), { kind: "standby", source: "n1" });
});

Deno.test("control voteWhileReceivingWal: the streaming voter elects a candidate missing an acknowledged commit", () => {
  const voter = voterCutFromRaftOnly({ voteWhileReceivingWal: true });
  // The vote counts the read at 1:100 taken while the receiver ran; n2 then flushes the
  // commit up to 1:200 (acknowledged with its flush) before its receiver stops, and n1
  // dies: n3 at 1:150 is elected, losing that commit.
  assertEquals(campaignAgainst(voter, at(1, 150)).role, "leader");
});

Deno.test("an observation's age is measured from when its read began, not from when it arrived", () => {
  let voter = memberNode("n2", VOTERS, { position: at(1, 100) });
  voter = deliver(voter, heartbeat("n2", 1, 1)).state;
  // The read begins 2 ticks before the wait ends and takes 5 ticks (a slow query).
  voter = tickTimes(voter, TEST_CONFIG.electionTimeoutTicks + 3).state;
  const slow = observed(voter, at(1, 100), false, 5);
  assertEquals(slow.observationAgeTicks, 5);
  assert(needsFreshObservation(slow), "a read begun before the wait ended does not count");
  assertEquals(campaignAgainst(slow, at(1, 150)).role, "pre-candidate");
  // Arrival-time ageing (readTicksAgo 0) would have counted it.
  assertEquals(needsFreshObservation(observed(voter, at(1, 100), false, 0)), false);
  // A read begun after the wait ended (2 ticks ago) counts; ages are capped like every age.
  assertEquals(needsFreshObservation(observed(voter, at(1, 100), false, 2)), false);
  assertEquals(observed(voter, at(1, 100), false, 10_000).observationAgeTicks, 15);
});

/**
 * Switchover from n1 to n3; n3 stalls as TimeoutNow reaches it and stays stalled past the
 * transfer timeout; then it resumes and acts on the late TimeoutNow. n3's messages to n1
 * are lost, so n1 learns of the new term only through n2. Returns the network.
 */
function lateTimeoutNow(faults: Partial<FaultSwitches>): Network {
  const config = { ...withFaults(faults), transferTimeoutTicks: 20 };
  const network = new Network();
  for (const id of VOTERS) network.add(memberNode(id, VOTERS, { config, position: at(1, 100) }));
  network.run(3 * TEST_CONFIG.electionTimeoutTicks);
  const leader = [...network.nodes.values()].find((node) => node.role === "leader");
  assert(leader, "a leader was elected");
  assertEquals(leader.id, "n1", "n1 times out first (ids tick in order)");
  network.setPostgres("n1", observation(at(1, 100), true));
  network.run(4);
  assert(hasWriteAuthority(network.node("n1")), "n1 leads with a lease");
  network.input("n1", {
    kind: "admin",
    request: { kind: "transfer", requestId: "switchover", target: "n3" },
  });
  // Fenced, then stopped for the transfer: TimeoutNow waits for the stopped server's read.
  network.setPostgres("n1", { ...observation(at(1, 100), true), fenced: true, status: "stopped" });
  network.stallWhen = (message) => message.kind === "timeout-now";
  network.deliverAll();
  assert(network.stalled.has("n3"), "TimeoutNow was sent and n3 stalled on it");
  network.cut.add("n3>n1");
  network.run(config.transferTimeoutTicks + 2);
  network.resume("n3");
  network.run(2);
  return network;
}

Deno.test("a late TimeoutNow after the transfer timed out never makes two nodes with write authority", () => {
  const network = lateTimeoutNow({});
  assertEquals(network.node("n3").role, "leader", "n3 was elected on the late TimeoutNow");
  assert(hasWriteAuthority(network.node("n3")), "and holds write authority");
  assertEquals(network.maxWriters, 1, `writers at once: ${network.writersAtMax.join(", ")}`);
});

Deno.test("control keepLeadingAfterTimeoutNow: the old leader's lease overlaps the late election", () => {
  const network = lateTimeoutNow({ keepLeadingAfterTimeoutNow: true });
  assertEquals(network.maxWriters, 2);
  assertEquals(network.writersAtMax.sort(), ["n1", "n3"]);
});

/** n1 leads n2 and n3 with a lease; its Postgres is the writable primary. */
function leaderWithLease(faults: Partial<FaultSwitches>): NodeState {
  const config = withFaults(faults);
  const network = new Network();
  for (const id of VOTERS) network.add(memberNode(id, VOTERS, { config, position: at(1, 100) }));
  network.run(3 * TEST_CONFIG.electionTimeoutTicks);
  network.setPostgres("n1", observation(at(1, 100), true));
  network.run(4);
  const leader = network.node("n1");
  assert(hasWriteAuthority(leader), "n1 leads with a lease");
  return leader;
}

/** n1 pauses the cluster, then loses its majority (partitioned) until its lease ends. */
function pausedThenPartitioned(faults: Partial<FaultSwitches>): NodeState {
  // Commit the pause: n2 acknowledges the entry (answered by hand; then all fall silent).
  let state = feed(leaderWithLease(faults), {
    kind: "admin",
    request: { kind: "propose", requestId: "pause", command: { kind: "pause", paused: true } },
  }).state;
  state = deliver(state, {
    kind: "append-response",
    from: "n2",
    to: "n1",
    term: state.term,
    success: true,
    matchIndex: state.log[state.log.length - 1]!.index,
    round: state.round,
    position: at(1, 100),
  }).state;
  assert(state.applied.paused, "the pause committed");
  // Pause still keeps the synchronous names the log asks for (quorum_switch.ts) ...
  assertEquals(decidePostgresRole(state).kind, "primary", "paused: the names are set");
  const names = synchronousStandbyNames(state);
  state = feed(state, {
    kind: "postgres",
    observation: { ...observation(at(1, 100), true), synchronousStandbyNames: names },
    readTicksAgo: 0,
  }).state;
  // ... and otherwise changes nothing.
  assertEquals(decidePostgresRole(state).kind, "hold", "paused, with authority: no change");
  return tickTimes(state, leaseDurationTicks(state.config) + TEST_CONFIG.electionTimeoutTicks)
    .state;
}

Deno.test("pause never disables fencing: a paused primary without write authority is fenced", () => {
  const deposed = pausedThenPartitioned({});
  assertEquals(hasWriteAuthority(deposed), false);
  assertEquals(decidePostgresRole(deposed), {
    kind: "fenced",
    reason: "cluster is paused, and this node has no write authority",
  });
  // Pause still stops every automatic change of a stopped server or a standby.
  const stopped = { ...deposed.postgres!, status: "stopped" as const };
  assertEquals(decidePostgresRole({ ...deposed, postgres: stopped }).kind, "hold");
});

Deno.test("control pauseSkipsFencing: the paused deposed primary keeps accepting writes", () => {
  const deposed = pausedThenPartitioned({ pauseSkipsFencing: true });
  assertEquals(hasWriteAuthority(deposed), false);
  assertEquals(decidePostgresRole(deposed).kind, "hold");
});

/** The watchdog killed n1's postmaster; the core (again) holds write authority. */
function restartAfterWatchdogKill(faults: Partial<FaultSwitches>): NodeState[] {
  const leader = leaderWithLease(faults);
  const stopped = { ...observation(at(1, 100), true), status: "stopped" as const };
  const afterKill = feed(leader, { kind: "postgres", observation: stopped, readTicksAgo: 0 }).state;
  const startedFenced = feed(afterKill, {
    kind: "postgres",
    observation: { ...observation(at(1, 100), true), fenced: true },
    readTicksAgo: 0,
  }).state;
  return [afterKill, startedFenced];
}

Deno.test("after a stop, a primary comes back only fenced, then is unfenced under authority", () => {
  const [afterKill, startedFenced] = restartAfterWatchdogKill({});
  assert(hasWriteAuthority(afterKill!));
  assertEquals(decidePostgresRole(afterKill!), { kind: "fenced", reason: "start fenced first" });
  assertEquals(decidePostgresRole(startedFenced!).kind, "primary");
});

Deno.test("a stopped standby on a leader with authority starts as a standby, then is promoted", () => {
  const leader = leaderWithLease({});
  const stopped = { ...observation(at(1, 100)), status: "stopped" as const };
  const afterStop = feed(leader, { kind: "postgres", observation: stopped, readTicksAgo: 0 }).state;
  assertEquals(decidePostgresRole(afterStop), { kind: "standby", source: null });
  const running = feed(afterStop, {
    kind: "postgres",
    observation: observation(at(1, 100)),
    readTicksAgo: 0,
  });
  assertEquals(decidePostgresRole(running.state).kind, "primary");
});

Deno.test("control restartWritable: the stopped primary is started writable at once", () => {
  const [afterKill] = restartAfterWatchdogKill({ restartWritable: true });
  assertEquals(decidePostgresRole(afterKill!).kind, "primary");
});
