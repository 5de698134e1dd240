/**
 * The logical clock: timers, heartbeats, check-quorum and transfer timeouts.
 *
 * @module
 */
import type { Draft, Output } from "./draft.ts";
import { becomeFollower } from "./roles.ts";
import { startElection } from "./election.ts";
import { broadcastAppend } from "./replication.ts";
import { ageLease } from "./lease.ts";
import { answer, promoteCaughtUpLearner } from "./leader_admin.ts";
import { isInitialised } from "./raft_log.ts";
import type { NodeId, PeerProgress } from "./types.ts";

/** Handles one tick with the shell's fresh jitter draw. */
export function handleTick(draft: Draft, output: Output, jitterTicks: number): void {
  draft.nextJitterTicks = jitterTicks;
  const contactCap = draft.config.electionTimeoutTicks + draft.config.electionTimeoutJitterTicks;
  draft.ticksSinceLeaderContact = Math.min(draft.ticksSinceLeaderContact + 1, contactCap);
  if (draft.role === "leader") return leaderTick(draft, output);
  if (!isInitialised(draft)) return;
  draft.electionElapsedTicks = Math.min(draft.electionElapsedTicks + 1, draft.electionTimeoutTicks);
  if (draft.electionElapsedTicks >= draft.electionTimeoutTicks) startElection(draft, output);
}

function leaderTick(draft: Draft, output: Output): void {
  const config = draft.config;
  // The leader is its own live leader: it never votes another in while it leads.
  draft.ticksSinceLeaderContact = 0;
  draft.ticksWithoutQuorum = Math.min(draft.ticksWithoutQuorum + 1, config.electionTimeoutTicks);
  ageLease(draft);
  agePeers(draft);
  // Check-quorum: a leader that heard no majority for an election timeout steps down.
  // Write authority already ended with the lease, which is shorter; a fresh leader gets
  // one election timeout to gather its first majority.
  if (draft.ticksWithoutQuorum >= config.electionTimeoutTicks) {
    if (!config.faults.keepWritingWithoutMajority) {
      return becomeFollower(draft, output, draft.term, null);
    }
  }
  if (draft.transfer !== null) {
    const elapsedTicks = draft.transfer.elapsedTicks + 1;
    if (elapsedTicks >= config.transferTimeoutTicks) {
      const target = draft.transfer.target;
      if (draft.transfer.requestId) {
        answer(
          output,
          draft.transfer.requestId,
          `transfer to ${target} timed out; ${draft.id} keeps leading`,
          draft.id,
        );
      }
      draft.transfer = null;
    } else {
      draft.transfer = { ...draft.transfer, elapsedTicks };
    }
  }
  draft.heartbeatElapsedTicks += 1;
  if (draft.heartbeatElapsedTicks >= config.heartbeatIntervalTicks) broadcastAppend(draft, output);
  promoteCaughtUpLearner(draft, output);
}

function agePeers(draft: Draft): void {
  const cap = draft.config.electionTimeoutTicks + draft.config.electionTimeoutJitterTicks;
  const progress: Record<NodeId, PeerProgress> = {};
  for (const [peer, entry] of Object.entries(draft.progress)) {
    progress[peer] = { ...entry, ticksSinceResponse: Math.min(entry.ticksSinceResponse + 1, cap) };
  }
  draft.progress = progress;
}
