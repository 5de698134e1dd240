/**
 * Proves a voter without Postgres data grants no election vote (D1), driven through `step`.
 * Found by the model (run "real rejoin-data-lost"): the deposed primary n2 held a commit
 * acknowledged with the new leader's flush; its pg_rewind failed, so the shell reported its
 * directory absent (position null); the new leader crashed; the third node, which never
 * received the commit, won with n2's vote alone and was promoted without it. The control
 * `voteWithoutData` brings the old rule back and elects that candidate. A transfer vote is
 * still granted: its target holds the old leader's whole WAL.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type FaultSwitches,
  type Message,
  NO_FAULTS,
  type NodeState,
  type PostgresObservation,
  type VoteResponse,
} from "../../src/core/mod.ts";
import { at, deliver, feed, memberNode, observeAgain, TEST_CONFIG, tickTimes } from "./helpers.ts";

const VOTERS = ["n1", "n2", "n3"];

/** What the shell reports for a data directory that is absent or unusable. */
const ABSENT: PostgresObservation = {
  status: "absent",
  inRecovery: false,
  position: null,
  replayCaughtUp: false,
  synchronousStandbyNames: null,
  fenced: false,
  receivingWal: false,
};

/** n2, its directory lost, an election timeout after leader n1 died, freshly observed. */
function voterWithoutData(faults: Partial<FaultSwitches>): NodeState {
  const config = { ...TEST_CONFIG, faults: { ...NO_FAULTS, ...faults } };
  let voter = memberNode("n2", VOTERS, { config, position: at(1, 200) });
  voter = feed(voter, { kind: "postgres", observation: ABSENT, readTicksAgo: 0 }).state;
  return observeAgain(tickTimes(voter, TEST_CONFIG.electionTimeoutTicks + 3).state);
}

/** n3 at 1:150 campaigns with n2's answers only; returns n3 and n2's answers. */
function campaign(voter: NodeState): { candidate: NodeState; answers: VoteResponse[] } {
  let candidate = memberNode("n3", VOTERS, { config: voter.config, position: at(1, 150) });
  const started = tickTimes(candidate, TEST_CONFIG.electionTimeoutTicks);
  candidate = started.state;
  assertEquals(candidate.role, "pre-candidate");
  const answers: VoteResponse[] = [];
  let current = voter;
  let pending: Message[] = started.messages.filter((message) => message.to === "n2");
  for (let round = 0; round < 2; round++) {
    const next: Message[] = [];
    for (const message of pending) {
      const answered = deliver(current, message);
      current = answered.state;
      for (const reply of answered.messages) {
        if (reply.kind === "vote-response") answers.push(reply);
        const result = deliver(candidate, reply);
        candidate = result.state;
        next.push(...result.messages.filter((message) => message.to === "n2"));
      }
    }
    pending = next;
  }
  return { candidate, answers };
}

Deno.test("a voter whose Postgres data is absent refuses an election vote", () => {
  const { candidate, answers } = campaign(voterWithoutData({}));
  assertEquals(candidate.role, "pre-candidate", "the candidate missing the commit must lose");
  assert(answers.length > 0 && answers.every((answer) => !answer.granted));
  assert(answers[0]!.reason.includes("no local Postgres data"), answers[0]!.reason);
});

Deno.test("control voteWithoutData: the voter without data elects the candidate missing a commit", () => {
  const { candidate } = campaign(voterWithoutData({ voteWithoutData: true }));
  assertEquals(candidate.role, "leader");
});

Deno.test("a voter whose Postgres data is absent still grants a transfer's vote", () => {
  const voter = voterWithoutData({});
  const request: Message = {
    kind: "vote",
    from: "n3",
    to: "n2",
    term: voter.term + 1,
    lastLogIndex: 1,
    lastLogTerm: 1,
    position: at(1, 150),
    transfer: true,
  };
  const answer = deliver(voter, request).messages.find((message) =>
    message.kind === "vote-response"
  );
  assert(answer?.kind === "vote-response" && answer.granted, JSON.stringify(answer));
});
