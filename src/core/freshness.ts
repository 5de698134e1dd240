/**
 * Fresh enough to vote: a voter's Postgres observation must be read after its lease wait
 * ended, with no WAL receiver running, so that it holds every WAL byte the voter flushed
 * for an acknowledged commit. The argument is written next to `leaseDurationTicks` in
 * config.ts.
 *
 * @module
 */
import { assert } from "./assert.ts";
import { ageCapTicks, OBSERVATION_MARGIN_TICKS } from "./config.ts";
import type { Draft } from "./draft.ts";
import type { NodeState, PostgresObservation } from "./types.ts";
import { quorumSwitchAwaitsRead } from "./quorum_switch.ts";

/**
 * Records an observation whose read began `readTicksAgo` ticks ago: its age is what the
 * shell measured (capped like every age counter), never the moment it arrived.
 */
export function recordObservation(
  draft: Draft,
  observation: PostgresObservation,
  readTicksAgo: number,
): void {
  assert(
    Number.isSafeInteger(readTicksAgo) && readTicksAgo >= 0,
    `an observation's readTicksAgo must be a whole number >= 0, got ${readTicksAgo}`,
  );
  draft.postgres = observation;
  draft.observationAgeTicks = Math.min(readTicksAgo, ageCapTicks(draft.config));
}

/**
 * Ticks between the end of this node's lease wait (E ticks after its last leader contact)
 * and the start of its latest observation's read, less the margin; negative when the read
 * began before the wait ended.
 */
function observationMarginTicks(state: NodeState): number {
  return state.ticksSinceLeaderContact - state.observationAgeTicks -
    state.config.electionTimeoutTicks - OBSERVATION_MARGIN_TICKS;
}

/** True when the latest observation's read began after this node's lease wait ended. */
export function observationFreshEnough(state: NodeState): boolean {
  return state.postgres !== null && observationMarginTicks(state) >= 0;
}

/**
 * True when this node knows a live leader: it has one and heard from it within the
 * election timeout (a leader is its own). Without one, its standby receives WAL from no
 * one (`decidePostgresRole`), so that an observation can hold every byte it will flush.
 */
export function knowsLiveLeader(state: NodeState): boolean {
  if (state.role === "leader") return true;
  return state.leader !== null &&
    state.ticksSinceLeaderContact < state.config.electionTimeoutTicks;
}

/**
 * True when the shell should observe the local Postgres at once: this node is past its
 * lease wait (it may vote or campaign) and its observation predates the end of that wait,
 * so it would refuse votes with "observation too old"; or it leads and a return to quorum
 * mode waits for a read that shows the new names (quorum_switch.ts). The shell calls it after each step
 * and runs at most one observation at a time. (A receiver still running is not a reason:
 * the shell observes as soon as it has stopped one.)
 */
export function needsFreshObservation(state: NodeState): boolean {
  if (state.role === "leader") return quorumSwitchAwaitsRead(state);
  // Before the wait (plus the margin) has ended, no read can count yet.
  const waitTicks = state.config.electionTimeoutTicks + OBSERVATION_MARGIN_TICKS;
  if (state.ticksSinceLeaderContact < waitTicks) return false;
  return !observationFreshEnough(state);
}
