/**
 * The leader lease (S1). A leader may act as primary only while a heartbeat round it sent
 * less than `leaseDurationTicks` ago (its own clock) was acknowledged by a majority. The
 * clock assumption and why the bound is safe are written at {@link leaseDurationTicks}.
 * The lease is only valid together with leader stickiness (voters refuse to vote while
 * they heard a leader within the election timeout) and check-quorum (a leader whose lease
 * ran out steps down).
 *
 * @module
 */
import type { Draft } from "./draft.ts";
import { leaseDurationTicks } from "./config.ts";
import { hasMajority } from "./quorum.ts";
import { termAt } from "./raft_log.ts";
import type { NodeState } from "./types.ts";

/** Most heartbeat rounds a leader tracks while waiting for a majority to acknowledge them. */
export const MAX_TRACKED_ROUNDS = 64;

/** Starts a new heartbeat round; returns its number. */
export function openRound(draft: Draft): number {
  draft.round += 1;
  const ages: Record<string, number> = { ...draft.roundAgeTicks, [String(draft.round)]: 0 };
  const rounds = Object.keys(ages).map(Number).sort((a, b) => a - b);
  for (const old of rounds.slice(0, Math.max(0, rounds.length - MAX_TRACKED_ROUNDS))) {
    delete ages[String(old)];
  }
  draft.roundAgeTicks = ages;
  return draft.round;
}

/** Ages every tracked round by one tick and runs the lease down; forgets rounds too old to help. */
export function ageLease(draft: Draft): void {
  const duration = leaseDurationTicks(draft.config);
  const ages: Record<string, number> = {};
  for (const [round, age] of Object.entries(draft.roundAgeTicks)) {
    if (age + 1 < duration) ages[round] = age + 1;
  }
  draft.roundAgeTicks = ages;
  draft.leaseRemainingTicks = Math.max(0, draft.leaseRemainingTicks - 1);
}

/** Extends the lease from the newest round a majority (the leader included) has acknowledged. */
export function renewLease(draft: Draft): void {
  const duration = leaseDurationTicks(draft.config);
  const voters = draft.membership.voters;
  let newest = -1;
  for (const [round, age] of Object.entries(draft.roundAgeTicks)) {
    const number = Number(round);
    if (number <= newest) continue;
    const acknowledged = hasMajority(
      voters,
      (voter) => voter === draft.id || (draft.progress[voter]?.ackedRound ?? 0) >= number,
    );
    if (acknowledged) {
      newest = number;
      draft.leaseRemainingTicks = Math.max(draft.leaseRemainingTicks, duration - age);
    }
  }
  if (newest < 0) return;
  draft.ticksWithoutQuorum = 0;
  const ages: Record<string, number> = {};
  for (const [round, age] of Object.entries(draft.roundAgeTicks)) {
    if (Number(round) > newest) ages[round] = age;
  }
  draft.roundAgeTicks = ages;
}

/** True when this node is the leader and has committed an entry of its own term. */
export function ownTermCommitted(state: NodeState): boolean {
  return state.role === "leader" && termAt(state, state.commitIndex) === state.term;
}

/**
 * True when this node may accept writes now: leader, own-term entry committed, lease
 * valid, no leadership transfer under way.
 */
export function hasWriteAuthority(state: NodeState): boolean {
  if (state.role !== "leader" || state.transfer !== null || !ownTermCommitted(state)) return false;
  if (state.config.faults.keepWritingWithoutMajority) return true;
  return state.leaseRemainingTicks > 0;
}
