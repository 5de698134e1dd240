/**
 * Elections: pre-vote, leader stickiness (the lease's voter side), the position rule of D2
 * (by timeline history), votes only on a fresh observation, the maximum-lag rule, and votes
 * after a restart.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  ageCapTicks,
  createNode,
  type Message,
  needsFreshObservation,
  type VoteRequest,
  type VoteResponse,
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

const VOTERS = ["n1", "n2", "n3"];

function voteRequest(overrides: Partial<VoteRequest> = {}): VoteRequest {
  return {
    kind: "vote",
    from: "n2",
    to: "n1",
    term: 2,
    lastLogIndex: 1,
    lastLogTerm: 1,
    position: at(1, 100),
    transfer: false,
    ...overrides,
  };
}

function onlyResponse(messages: readonly Message[]): VoteResponse {
  const responses = messages.filter((message): message is VoteResponse =>
    message.kind === "vote-response"
  );
  assertEquals(responses.length, 1);
  return responses[0]!;
}

Deno.test("a follower that timed out sends pre-votes without raising its term", () => {
  const node = memberNode("n1", VOTERS);
  const { state, messages } = tickTimes(node, TEST_CONFIG.electionTimeoutTicks);
  assertEquals(state.role, "pre-candidate");
  assertEquals(state.term, 1);
  const preVotes = messages.filter((message) => message.kind === "pre-vote");
  assertEquals(preVotes.map((message) => [message.to, message.term]), [["n2", 2], ["n3", 2]]);
});

Deno.test("a majority of pre-votes starts a real election in the next term", () => {
  let node = tickTimes(memberNode("n1", VOTERS), TEST_CONFIG.electionTimeoutTicks).state;
  const result = deliver(node, {
    kind: "vote-response",
    from: "n2",
    to: "n1",
    term: 2,
    preVote: true,
    granted: true,
    reason: "",
  });
  node = result.state;
  assertEquals(node.role, "candidate");
  assertEquals(node.term, 2);
  assertEquals(node.votedFor, "n1");
  assert(result.persist?.hardState, "term and vote are persisted before the vote requests go out");
  assertEquals(result.messages.filter((message) => message.kind === "vote").length, 2);
});

Deno.test("a vote is refused to a candidate whose Postgres position is behind the voter's (D2)", () => {
  const voter = observeAgain(
    tickTimes(memberNode("n1", VOTERS, { position: at(1, 500) }), 20).state,
  );
  const refused = onlyResponse(
    deliver(voter, voteRequest({ position: at(1, 499) })).messages,
  );
  assertEquals(refused.granted, false);
  assert(refused.reason.includes("position"), refused.reason);
  const granted = onlyResponse(
    deliver(voter, voteRequest({ position: at(1, 500) })).messages,
  );
  assertEquals(granted.granted, true);
  const forkedAfterUs = onlyResponse(
    deliver(voter, voteRequest({ position: at(2, 600, [[1, 500]]) })).messages,
  );
  assertEquals(forkedAfterUs.granted, true, "a timeline forked at or after our LSN holds our WAL");
  const forkedBeforeUs = onlyResponse(
    deliver(voter, voteRequest({ position: at(2, 900, [[1, 400]]) })).messages,
  );
  assertEquals(forkedBeforeUs.granted, false, "a higher timeline number forked below our LSN");
  assert(forkedBeforeUs.reason.includes("superseded"), forkedBeforeUs.reason);
});

Deno.test("a vote is refused to a candidate with a stale Raft log even when its Postgres is ahead", () => {
  const entries = [
    {
      term: 1,
      index: 1,
      command: { kind: "membership" as const, membership: { voters: VOTERS, learners: [] } },
    },
    { term: 2, index: 2, command: { kind: "noop" as const } },
  ];
  const voter = observeAgain(tickTimes(memberNode("n1", VOTERS, { term: 2, entries }), 20).state);
  const response = onlyResponse(
    deliver(
      voter,
      voteRequest({ term: 3, position: at(9, 9), lastLogTerm: 1, lastLogIndex: 5 }),
    )
      .messages,
  );
  assertEquals(response.granted, false);
  assert(response.reason.includes("log"), response.reason);
});

Deno.test("inside a leader's lease a voter refuses votes and keeps its term; a transfer is let through", () => {
  let voter = memberNode("n1", VOTERS);
  voter = tickTimes(voter, 20).state;
  voter = deliver(voter, {
    kind: "append",
    from: "n3",
    to: "n1",
    term: 1,
    prevLogIndex: 1,
    prevLogTerm: 1,
    entries: [],
    commitIndex: 1,
    round: 1,
    leaderPosition: at(1, 100),
  }).state;
  const inLease = deliver(voter, voteRequest());
  assertEquals(onlyResponse(inLease.messages).granted, false);
  assertEquals(
    inLease.state.term,
    1,
    "a refused vote inside the lease does not adopt the candidate's term",
  );
  const transfer = deliver(voter, voteRequest({ transfer: true }));
  assertEquals(onlyResponse(transfer.messages).granted, true);
  const later = observeAgain(tickTimes(voter, TEST_CONFIG.electionTimeoutTicks + 1).state);
  assertEquals(onlyResponse(deliver(later, voteRequest()).messages).granted, true);
});

Deno.test("a restarted node refuses votes for one election timeout (it cannot know a lease ended)", () => {
  const persisted = {
    hardState: { term: 1, votedFor: null, commitIndex: 1 },
    snapshot: null,
    entries: [{
      term: 1,
      index: 1,
      command: { kind: "membership" as const, membership: { voters: VOTERS, learners: [] } },
    }],
  };
  let node = createNode("n1", TEST_CONFIG, persisted, 0);
  node =
    feed(node, { kind: "postgres", observation: observation(at(1, 1)), readTicksAgo: 0 }).state;
  assertEquals(onlyResponse(deliver(node, voteRequest()).messages).granted, false);
  node = observeAgain(tickTimes(node, TEST_CONFIG.electionTimeoutTicks + 1).state);
  assertEquals(onlyResponse(deliver(node, voteRequest()).messages).granted, true);
});

Deno.test("one vote per term, persisted before the answer is sent", () => {
  const voter = observeAgain(tickTimes(memberNode("n1", VOTERS), 20).state);
  const first = deliver(voter, voteRequest());
  assertEquals(onlyResponse(first.messages).granted, true);
  assertEquals(first.persist?.hardState, { term: 2, votedFor: "n2", commitIndex: 1 });
  const second = deliver(first.state, voteRequest({ from: "n3" }));
  assertEquals(onlyResponse(second.messages).granted, false);
});

Deno.test("a node more than maxLagBytes behind the last primary neither campaigns nor wins votes", () => {
  const config = { ...TEST_CONFIG, maxLagBytes: 1000 };
  let node = memberNode("n1", VOTERS, { config, position: at(1, 100) });
  node = deliver(node, {
    kind: "append",
    from: "n3",
    to: "n1",
    term: 1,
    prevLogIndex: 1,
    prevLogTerm: 1,
    entries: [],
    commitIndex: 1,
    round: 1,
    leaderPosition: at(1, 5000),
  }).state;
  const { state, messages } = tickTimes(node, 40);
  assertEquals(state.role, "follower");
  assertEquals(messages.filter((message) => message.kind === "pre-vote").length, 0);
  const response = onlyResponse(
    deliver(state, voteRequest({ position: at(1, 200) })).messages,
  );
  assertEquals(response.granted, false);
});

Deno.test("a node that has not observed its Postgres neither votes nor campaigns", () => {
  const persisted = {
    hardState: { term: 1, votedFor: null, commitIndex: 1 },
    snapshot: null,
    entries: [{
      term: 1,
      index: 1,
      command: { kind: "membership" as const, membership: { voters: VOTERS, learners: [] } },
    }],
  };
  const node = tickTimes(createNode("n1", TEST_CONFIG, persisted, 0), 40);
  assertEquals(node.state.role, "follower");
  assertEquals(node.messages.length, 0);
  assertEquals(onlyResponse(deliver(node.state, voteRequest()).messages).granted, false);
});

Deno.test("observation age counts ticks since the last observation, reset by one, capped", () => {
  let node = memberNode("n1", VOTERS);
  assertEquals(node.observationAgeTicks, 0);
  node = tickTimes(node, 3).state;
  assertEquals(node.observationAgeTicks, 3);
  node = tickTimes(node, 100).state;
  assertEquals(node.observationAgeTicks, ageCapTicks(TEST_CONFIG));
  assertEquals(node.ticksSinceLeaderContact, ageCapTicks(TEST_CONFIG));
  assertEquals(needsFreshObservation(node), true);
  node = observeAgain(node);
  assertEquals(node.observationAgeTicks, 0);
  assertEquals(needsFreshObservation(node), false);
});
