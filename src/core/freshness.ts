/**
 * Fresh enough to vote: a voter's Postgres observation must be read after its lease wait
 * ended, so that it holds every WAL byte the voter flushed for an acknowledged commit. The
 * argument is written next to `leaseDurationTicks` in config.ts.
 *
 * @module
 */
import { OBSERVATION_DELIVERY_TICKS } from "./config.ts";
import type { NodeState } from "./types.ts";

/**
 * Ticks between the end of this node's lease wait (E ticks after its last leader contact)
 * and the read of its latest observation, less the delivery allowance; negative when the
 * observation was read before the wait ended.
 */
function observationMarginTicks(state: NodeState): number {
  return state.ticksSinceLeaderContact - state.observationAgeTicks -
    state.config.electionTimeoutTicks - OBSERVATION_DELIVERY_TICKS;
}

/** True when the latest observation was read after this node's lease wait ended. */
export function observationFreshEnough(state: NodeState): boolean {
  return state.postgres !== null && observationMarginTicks(state) >= 0;
}

/**
 * True when the shell should observe the local Postgres at once: this node is past its
 * lease wait (it may vote or campaign) and its observation predates the end of that wait,
 * so it would refuse votes with "observation too old". The shell calls it after each step
 * and runs at most one observation at a time.
 */
export function needsFreshObservation(state: NodeState): boolean {
  if (state.role === "leader") return false;
  // Before the wait (plus the delivery allowance) has ended, no read can count yet.
  const waitTicks = state.config.electionTimeoutTicks + OBSERVATION_DELIVERY_TICKS;
  if (state.ticksSinceLeaderContact < waitTicks) return false;
  return !observationFreshEnough(state);
}
