/**
 * Elections with pre-vote and leader stickiness, and the vote rule that makes D2 hold:
 * a vote needs an up-to-date Raft log AND a Postgres position whose history holds the
 * voter's WAL, judged on an observation fresh enough to hold every acknowledged byte (read
 * after the lease wait, with no WAL receiver running).
 *
 * @module
 */
import type { Draft, Output } from "./draft.ts";
import { send } from "./draft.ts";
import {
  becomeCandidate,
  becomeFollower,
  becomeLeader,
  becomePreCandidate,
  resetElectionTimer,
} from "./roles.ts";
import { isLogUpToDate, lastIndex, lastTerm } from "./raft_log.ts";
import { isVoter } from "./membership.ts";
import { hasMajority } from "./quorum.ts";
import { MAX_TERM } from "./bounds.ts";
import {
  compareByTimelineNumber,
  formatWalPosition,
  lagBytes,
  relateWalPositions,
} from "./wal_position.ts";
import { observationFreshEnough } from "./freshness.ts";
import { broadcastAppend } from "./replication.ts";
import { failoverTagBlocker, maximumLagBytes, outrankingVoter } from "./cluster_config.ts";
import type { PreVoteRequest, VoteRequest, VoteResponse, WalPosition } from "./types.ts";

/** Why this node may not stand for election now, or null when it may. */
export function campaignBlocker(draft: Draft): string | null {
  if (!isVoter(draft.membership, draft.id)) return "not a voter";
  // A term at the bound cannot grow: campaigning would make a term peers refuse (step.ts).
  if (draft.term >= MAX_TERM) {
    return `term ${draft.term} is at its bound ${MAX_TERM}; the Raft state needs repair`;
  }
  const tagged = failoverTagBlocker(draft.applied, draft.id);
  if (tagged !== null) return tagged;
  if (draft.postgres === null) return "local Postgres not observed yet";
  if (draft.campaignWaitsForPostgres) {
    // It handed leadership over because its Postgres did not run (primary_watch.ts).
    return "handed leadership over: its Postgres did not run as a primary; waiting until it runs";
  }
  // Nothing is known of its WAL: it cannot tell whether it holds every acknowledged commit.
  if (draft.postgres.status === "unreadable") return "local Postgres unreadable";
  const position = draft.postgres.position;
  if (position === null) return "no local Postgres data";
  return lagBlocker(draft, position);
}

/** D2's maximum-lag rule: a node too far behind the last known primary is never promoted. */
function lagBlocker(draft: Draft, position: WalPosition): string | null {
  // The cluster's recorded limit, so that every member applies the same one.
  const limit = maximumLagBytes(draft.applied, draft.config.maxLagBytes);
  if (limit === null || draft.leaderPosition === null) return null;
  const lag = lagBytes(position, draft.leaderPosition);
  if (lag !== null && lag > limit) return `${lag} bytes behind the last primary (limit ${limit})`;
  return null;
}

/**
 * Extra ticks before this node campaigns: one election timeout while another voter that
 * may lead has a higher failover priority (the leader it follows is left out: that is the
 * one being replaced). Read at every tick, so a tag changed by `edit-config` counts at
 * once. Timing only: votes still go by position alone, so safety is unchanged, and an
 * outranked node still campaigns, one timeout later, when the preferred one cannot win.
 */
export function priorityDeferralTicks(draft: Draft): number {
  const outranked = outrankingVoter(draft.applied, draft.membership.voters, draft.id, draft.leader);
  return outranked === null ? 0 : draft.config.electionTimeoutTicks;
}

/** The election timer ran out: stand for election (pre-vote first) if allowed. */
export function startElection(draft: Draft, output: Output): void {
  if (campaignBlocker(draft) !== null) {
    resetElectionTimer(draft);
    return;
  }
  if (draft.membership.voters.length === 1) {
    campaign(draft, output, false);
    return;
  }
  becomePreCandidate(draft, output);
  const position = draft.postgres?.position;
  if (!position) return;
  for (const voter of draft.membership.voters) {
    if (voter === draft.id) continue;
    send(output, {
      kind: "pre-vote",
      from: draft.id,
      to: voter,
      term: draft.term + 1,
      lastLogIndex: lastIndex(draft),
      lastLogTerm: lastTerm(draft),
      position,
    });
  }
}

/** A real election in a new term; `transfer` when the leader asked for it (TimeoutNow). */
export function campaign(draft: Draft, output: Output, transfer: boolean): void {
  const position = draft.postgres?.position;
  if (!position || campaignBlocker(draft) !== null) return;
  becomeCandidate(draft, output, transfer);
  if (draft.membership.voters.length === 1) {
    becomeLeader(draft, output);
    broadcastAppend(draft, output);
    return;
  }
  for (const voter of draft.membership.voters) {
    if (voter === draft.id) continue;
    send(output, {
      kind: "vote",
      from: draft.id,
      to: voter,
      term: draft.term,
      lastLogIndex: lastIndex(draft),
      lastLogTerm: lastTerm(draft),
      position,
      transfer,
    });
  }
}

/** Why a (pre-)vote for this request must be refused, or null to grant it. */
export function voteRefusal(draft: Draft, request: PreVoteRequest | VoteRequest): string | null {
  // No check that we are a voter ourselves: a member that has not yet received the entry
  // making it a voter must still answer, or the cluster could not elect (the candidate
  // counts only the votes of voters in its own configuration).
  if (draft.postgres === null) return "local Postgres not observed yet";
  const transfer = request.kind === "vote" && request.transfer;
  if (!transfer && !draft.config.faults.skipLeaseWait) {
    // Leader stickiness: inside a live leader's lease no vote may depose it (S1).
    if (draft.ticksSinceLeaderContact < draft.config.electionTimeoutTicks) {
      return `heard from a leader ${draft.ticksSinceLeaderContact} ticks ago (its lease may still run)`;
    }
  }
  return freshnessRefusal(draft, request) ?? standingRefusal(draft, request);
}

/**
 * Why this node cannot judge the request yet: its observation may not hold every byte it
 * flushed for an acknowledged commit. Transient: the shell observes again at once.
 */
function freshnessRefusal(draft: Draft, request: PreVoteRequest | VoteRequest): string | null {
  // A transfer needs no wait: the old leader fenced its primary and the target holds all of
  // its WAL before TimeoutNow is sent.
  if (request.kind === "vote" && request.transfer) return null;
  const faults = draft.config.faults;
  // Freshness implies the lease wait (the read must follow its end), so the skipLeaseWait
  // control skips both.
  const checkFreshness = !faults.voteOnStaleObservation && !faults.skipLeaseWait;
  if (checkFreshness && !observationFreshEnough(draft)) {
    // The position compared must hold every byte flushed for an acknowledged commit
    // (config.ts, next to leaseDurationTicks).
    return `observation too old: read ${draft.observationAgeTicks} ticks ago, before this ` +
      `node's lease wait ended; waiting for a fresh one`;
  }
  if (!faults.voteWhileReceivingWal && draft.postgres?.receivingWal === true) {
    // A running receiver may flush WAL of commits acknowledged after the read; without a
    // live leader the shell stops it (decidePostgresRole) and observes again.
    return "the local standby still runs a WAL receiver; waiting for an observation after " +
      "it stopped";
  }
  return null;
}

/** Why the request must be refused on the votes, logs and positions as they stand. */
function standingRefusal(draft: Draft, request: PreVoteRequest | VoteRequest): string | null {
  const faults = draft.config.faults;
  const votedForOther = draft.votedFor !== null && draft.votedFor !== request.from;
  if (request.kind === "vote" && votedForOther && !faults.voteTwiceInTerm) {
    return `already voted for ${draft.votedFor} in term ${draft.term}`;
  }
  if (request.kind === "pre-vote" && request.term <= draft.term) {
    return `pre-vote for stale term ${request.term}`;
  }
  if (!isLogUpToDate(draft, request.lastLogTerm, request.lastLogIndex)) {
    return `candidate log (${request.lastLogTerm}, ${request.lastLogIndex}) behind ours (${
      lastTerm(draft)
    }, ${lastIndex(draft)})`;
  }
  const own = draft.postgres?.position ?? null;
  const transfer = request.kind === "vote" && request.transfer;
  if (own === null && !transfer && !faults.voteWithoutData) {
    // No data directory (a failed rewind left it unusable, or it was lost): whatever WAL it
    // held, acknowledged commits included, is gone from here, so this node cannot vouch
    // that the candidate holds it; granting could elect a node without a commit that only a
    // crashed node still holds (found by the model, rejoin-data-lost). A transfer target
    // holds the old leader's whole WAL, so that vote is still granted. An unreadable
    // Postgres (the shell's reads all fail) has no position either: refused likewise.
    if (draft.postgres?.status === "unreadable") {
      return "local Postgres unreadable: cannot tell whether the candidate holds the WAL " +
        "this node holds; it votes again once its Postgres is read";
    }
    return "no local Postgres data: cannot tell whether the candidate holds the WAL this " +
      "node held; it votes again once re-cloned";
  }
  if (own !== null && !faults.voteIgnoresPosition) {
    const refusal = positionRefusal(draft, own, request.position);
    if (refusal !== null) return refusal;
  }
  return lagBlocker(draft, request.position);
}

/**
 * D2's position rule: grant only when our WAL is on the candidate's history (equal or
 * behind), so the candidate holds every byte we hold, acknowledged or not.
 *
 * Why "superseded" (our timeline ended, in the candidate's history, below our LSN) is
 * refused, although the tail it replaced is usually an unacknowledged one of a deposed
 * primary: Postgres timelines are not bound to Raft terms, so the fork may be OLDER than our
 * tail. Counterexample with three nodes: C is elected in term 6 by V (V at 2:500) and
 * promotes to timeline 3 at 500; C is cut off before it rewinds; P, the deposed primary of
 * timeline 2 (with an unacknowledged tail), gets C's entries, is elected in term 7 by V
 * (V behind it), and acknowledges commits on timeline 2 past 500 with V's flush; P dies; C,
 * still on 3 (forked at 500), campaigns in term 8 with an up-to-date log. V is superseded by
 * C; granting elects C and loses every commit of term 7. Refusing also protects against a
 * standby that reports an old timeline for newer WAL (issue 9, D1: reported 1:X, truly
 * 3:X, which a history of timeline 3 would show as superseded). The cost is liveness only:
 * a superseded voter votes again once it is rewound onto the leader's history.
 */
function positionRefusal(draft: Draft, own: WalPosition, candidate: WalPosition): string | null {
  const shown = `ours ${formatWalPosition(own)}, the candidate's ${formatWalPosition(candidate)}`;
  if (draft.config.faults.compareTimelineNumbers) {
    // Negative control: the pre-issue-9 rule (timeline number first, then LSN).
    if (compareByTimelineNumber(candidate, own) >= 0) return null;
    return `candidate's Postgres position is behind ours (${shown})`;
  }
  const relation = relateWalPositions(own, candidate);
  switch (relation) {
    case "equal":
    case "behind":
      return null;
    case "ahead":
      return `candidate's Postgres position is behind ours (${shown})`;
    case "superseded":
    case "diverged":
      return `candidate's Postgres position is not on our WAL history: ours is ${relation} ` +
        `(${shown}); a rewind onto the leader's history makes this node vote again`;
  }
}

/**
 * A higher-priority candidate asked before this node's observation was fresh enough to
 * judge it (it cannot be, until its own lease wait has ended and a read followed): give
 * that candidate one more election timeout before this node campaigns itself, so its retry
 * (due within E + jitter) meets a fresh observation here. Without it the outranked node's
 * single deferral often ran out first and it won instead (measured on a real cluster).
 * Timing only: no vote changes. Bounded: it repeats only while this node's own read is not
 * fresh, and the shell observes at once (`needsFreshObservation`).
 */
function deferToWaitingCandidate(draft: Draft, request: PreVoteRequest, refusal: string): void {
  // The very refusal given was the freshness one (not stickiness, not a standing reason).
  if (draft.role === "leader" || refusal !== freshnessRefusal(draft, request)) return;
  const outranking = outrankingVoter(draft.applied, [request.from], draft.id, draft.leader);
  if (outranking === request.from) resetElectionTimer(draft);
}

/** Answers a pre-vote or vote request (term handling already done by the caller). */
export function handleVoteRequest(
  draft: Draft,
  output: Output,
  request: PreVoteRequest | VoteRequest,
): void {
  const refusal = voteRefusal(draft, request);
  const preVote = request.kind === "pre-vote";
  if (refusal === null && !preVote) {
    draft.votedFor = request.from;
    resetElectionTimer(draft);
  }
  if (request.kind === "pre-vote" && refusal !== null) {
    deferToWaitingCandidate(draft, request, refusal);
  }
  send(output, {
    kind: "vote-response",
    from: draft.id,
    to: request.from,
    // A granted pre-vote answers in the proposed term; everything else in our own term.
    term: refusal === null && preVote ? request.term : draft.term,
    preVote,
    granted: refusal === null,
    reason: refusal ?? "",
  });
}

/** Counts a (pre-)vote answer; wins or gives up when a majority has spoken. */
export function handleVoteResponse(draft: Draft, output: Output, response: VoteResponse): void {
  // A granted pre-vote answers in the proposed term (handleVoteRequest).
  const preVoteTerm = draft.config.faults.preVoteCountedInOwnTerm ? draft.term : draft.term + 1;
  const counting = (draft.role === "pre-candidate" && response.preVote &&
    (!response.granted || response.term === preVoteTerm)) ||
    (draft.role === "candidate" && !response.preVote && response.term === draft.term);
  if (!counting || !isVoter(draft.membership, response.from)) return;
  draft.votes = { ...draft.votes, [response.from]: response.granted };
  const voters = draft.membership.voters;
  if (hasMajority(voters, (voter) => draft.votes[voter] === true)) {
    if (draft.role === "pre-candidate") campaign(draft, output, false);
    else {
      becomeLeader(draft, output);
      broadcastAppend(draft, output);
    }
  } else if (hasMajority(voters, (voter) => draft.votes[voter] === false)) {
    becomeFollower(draft, output, draft.term, null);
  }
}
