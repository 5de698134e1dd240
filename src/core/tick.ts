/**
 * The logical clock: timers, heartbeats, check-quorum and transfer timeouts.
 *
 * @module
 */
import type { Draft, Output } from "./draft.ts";
import { becomeFollower } from "./roles.ts";
import { priorityDeferralTicks, startElection } from "./election.ts";
import { broadcastAppend } from "./replication.ts";
import { ageLease } from "./lease.ts";
import { ageQuorumSwitch } from "./quorum_switch.ts";
import { ageCapTicks } from "./config.ts";
import { answer, promoteCaughtUpLearner } from "./leader_admin.ts";
import { isInitialised } from "./raft_log.ts";
import { handOverDue, watchPrimaryStart } from "./primary_watch.ts";
import type { NodeId, PeerProgress } from "./types.ts";

/** Handles one tick with the shell's fresh jitter draw. */
export function handleTick(draft: Draft, output: Output, jitterTicks: number): void {
  draft.nextJitterTicks = jitterTicks;
  const ageCap = ageCapTicks(draft.config);
  draft.ticksSinceLeaderContact = Math.min(draft.ticksSinceLeaderContact + 1, ageCap);
  draft.observationAgeTicks = Math.min(draft.observationAgeTicks + 1, ageCap);
  if (draft.role === "leader") return leaderTick(draft, output);
  if (!isInitialised(draft)) return;
  const deadline = draft.electionTimeoutTicks + priorityDeferralTicks(draft);
  draft.electionElapsedTicks = Math.min(draft.electionElapsedTicks + 1, deadline);
  if (draft.electionElapsedTicks >= deadline) startElection(draft, output);
}

function leaderTick(draft: Draft, output: Output): void {
  const config = draft.config;
  // The leader is its own live leader: it never votes another in while it leads.
  draft.ticksSinceLeaderContact = 0;
  draft.ticksWithoutQuorum = Math.min(draft.ticksWithoutQuorum + 1, config.electionTimeoutTicks);
  ageLease(draft);
  agePeers(draft);
  ageQuorumSwitch(draft);
  // Check-quorum: a leader that heard no majority for an election timeout steps down.
  // Write authority already ended with the lease, which is shorter; a fresh leader gets
  // one election timeout to gather its first majority.
  if (draft.ticksWithoutQuorum >= config.electionTimeoutTicks) {
    if (!config.faults.keepWritingWithoutMajority) {
      return becomeFollower(draft, output, draft.term, null);
    }
  }
  if (draft.transfer !== null && !ageTransfer(draft, output)) return;
  // A leader whose Postgres does not run as a primary in time hands over (primary_watch.ts).
  if (!watchPrimaryStart(draft, output)) return;
  draft.heartbeatElapsedTicks += 1;
  if (draft.heartbeatElapsedTicks >= config.heartbeatIntervalTicks) broadcastAppend(draft, output);
  promoteCaughtUpLearner(draft, output);
}

/**
 * Ages a transfer; at its timeout abandons it. Returns false when this node stepped down.
 *
 * Before TimeoutNow was sent the target cannot campaign on our behalf, so the leader simply
 * keeps leading. After it was sent, the target may still act on it at any later time (a
 * stalled process, a delayed message) and voters grant a transfer vote even inside a lease.
 * Keeping the leadership would let this leader renew its lease while that late election
 * runs: two nodes with write authority. So the leader steps down (same term, no write
 * authority, its primary stays fenced) and leadership is settled by a normal election.
 */
function ageTransfer(draft: Draft, output: Output): boolean {
  const transfer = draft.transfer!;
  const elapsedTicks = transfer.elapsedTicks + 1;
  if (elapsedTicks < draft.config.transferTimeoutTicks) {
    draft.transfer = { ...transfer, elapsedTicks };
    return true;
  }
  // A hand-over for a Postgres that did not run (primary_watch.ts) is not retried: the
  // leader steps down and the others elect.
  const stepDown = (transfer.timeoutNowSent && !draft.config.faults.keepLeadingAfterTimeoutNow) ||
    handOverDue(draft);
  if (transfer.requestId) {
    const outcome = stepDown
      ? `${draft.id} stepped down (TimeoutNow was sent; a late election may still follow)`
      : `${draft.id} keeps leading`;
    answer(
      output,
      transfer.requestId,
      `transfer to ${transfer.target} timed out; ${outcome}`,
      stepDown ? null : draft.id,
    );
  }
  draft.transfer = null;
  if (!stepDown) return true;
  becomeFollower(draft, output, draft.term, null);
  return false;
}

function agePeers(draft: Draft): void {
  const cap = draft.config.electionTimeoutTicks + draft.config.electionTimeoutJitterTicks;
  const progress: Record<NodeId, PeerProgress> = {};
  for (const [peer, entry] of Object.entries(draft.progress)) {
    progress[peer] = { ...entry, ticksSinceResponse: Math.min(entry.ticksSinceResponse + 1, cap) };
  }
  draft.progress = progress;
}
