/**
 * Role transitions: follower, pre-candidate, candidate, leader.
 *
 * @module
 */
import { assert } from "./assert.ts";
import type { Draft, Output } from "./draft.ts";
import { appendEntries, noteRole } from "./draft.ts";
import { lastIndex } from "./raft_log.ts";
import { peersOf } from "./membership.ts";
import type { NodeId, PeerProgress } from "./types.ts";

/** Starts a fresh randomized election timeout (the jitter was drawn by the shell). */
export function resetElectionTimer(draft: Draft): void {
  const jitter = Math.min(
    Math.max(0, Math.floor(draft.nextJitterTicks)),
    draft.config.electionTimeoutJitterTicks - 1,
  );
  draft.electionElapsedTicks = 0;
  draft.electionTimeoutTicks = draft.config.electionTimeoutTicks + jitter;
}

/** Becomes a follower of `leader` (or of no known leader) in `term`. */
export function becomeFollower(
  draft: Draft,
  output: Output,
  term: number,
  leader: NodeId | null,
): void {
  assert(term >= draft.term, `becomeFollower: term ${term} below current ${draft.term}`);
  const changed = draft.role !== "follower" || draft.term !== term || draft.leader !== leader;
  if (term > draft.term) {
    draft.term = term;
    draft.votedFor = null;
  }
  if (draft.role === "leader") leaveLeadership(draft, output, leader);
  draft.role = "follower";
  draft.leader = leader;
  draft.votes = {};
  draft.campaignIsTransfer = false;
  resetElectionTimer(draft);
  if (changed) noteRole(output, "follower", draft.term, leader);
}

/** Clears leader-only state, answering every pending request. */
function leaveLeadership(draft: Draft, output: Output, newLeader: NodeId | null): void {
  for (const pending of draft.pending) {
    output.effects.push({
      kind: "admin-result",
      requestId: pending.requestId,
      ok: false,
      error:
        "leadership was lost before the change committed; it may still take effect, check `hactl status`",
      leaderHint: newLeader,
    });
  }
  const transfer = draft.transfer;
  if (transfer?.requestId) {
    // Once TimeoutNow went out, stepping down for the target's election is the expected end.
    const reached = newLeader === transfer.target ||
      (transfer.timeoutNowSent && newLeader === null);
    output.effects.push({
      kind: "admin-result",
      requestId: transfer.requestId,
      ok: reached,
      error: reached
        ? null
        : `leadership moved to ${newLeader ?? "no leader yet"}, not ${transfer.target}`,
      leaderHint: newLeader,
    });
  }
  draft.pending = [];
  draft.transfer = null;
  draft.ticksWithoutPrimary = 0;
  draft.progress = {};
  draft.roundAgeTicks = {};
  draft.leaseRemainingTicks = 0;
  draft.ticksWithoutQuorum = 0;
  draft.heartbeatElapsedTicks = 0;
}

/** Starts a pre-vote: asks whether a majority would vote, without raising the term. */
export function becomePreCandidate(draft: Draft, output: Output): void {
  assert(draft.role !== "leader", "a leader cannot become a pre-candidate");
  draft.role = "pre-candidate";
  draft.leader = null;
  draft.votes = { [draft.id]: true };
  draft.campaignIsTransfer = false;
  resetElectionTimer(draft);
  noteRole(output, "pre-candidate", draft.term, null);
}

/** Starts a real election: raises the term and votes for itself. */
export function becomeCandidate(draft: Draft, output: Output, transfer: boolean): void {
  assert(draft.role !== "leader", "a leader cannot become a candidate");
  draft.term += 1;
  draft.votedFor = draft.id;
  draft.role = "candidate";
  draft.leader = null;
  draft.votes = { [draft.id]: true };
  draft.campaignIsTransfer = transfer;
  resetElectionTimer(draft);
  noteRole(output, "candidate", draft.term, null);
}

/** Becomes leader: fresh progress for every peer and a no-op entry of the new term. */
export function becomeLeader(draft: Draft, output: Output): void {
  assert(draft.role === "candidate" || draft.role === "leader", `becomeLeader from ${draft.role}`);
  draft.role = "leader";
  draft.leader = draft.id;
  draft.votes = {};
  draft.campaignIsTransfer = false;
  draft.round = 0;
  draft.roundAgeTicks = {};
  draft.leaseRemainingTicks = 0;
  draft.ticksWithoutQuorum = 0;
  draft.heartbeatElapsedTicks = 0;
  draft.transfer = null;
  draft.ticksWithoutPrimary = 0;
  draft.pending = [];
  const next = lastIndex(draft) + 1;
  const progress: Record<NodeId, PeerProgress> = {};
  for (const peer of peersOf(draft.membership, draft.id)) {
    progress[peer] = {
      matchIndex: 0,
      nextIndex: next,
      ackedRound: 0,
      position: null,
      ticksSinceResponse: 0,
    };
  }
  draft.progress = progress;
  // A new leader commits an entry of its own term before anything else counts (Raft §5.4.2).
  appendEntries(draft, output, [{ term: draft.term, index: next, command: { kind: "noop" } }]);
  noteRole(output, "leader", draft.term, draft.id);
}

/** Keeps the leader's progress map in step with the membership in force. */
export function syncProgressWithMembership(draft: Draft): void {
  if (draft.role !== "leader") return;
  const peers = peersOf(draft.membership, draft.id);
  const progress: Record<NodeId, PeerProgress> = {};
  const next = lastIndex(draft) + 1;
  for (const peer of peers) {
    progress[peer] = draft.progress[peer] ??
      { matchIndex: 0, nextIndex: next, ackedRound: 0, position: null, ticksSinceResponse: 0 };
  }
  draft.progress = progress;
}
