/**
 * Quorum arithmetic over a set of voters.
 *
 * @module
 */
import type { NodeId } from "./types.ts";

/** The number of voters that form a majority of `voterCount`. */
export function majoritySize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** True when the voters for which `granted` holds form a majority of `voters`. */
export function hasMajority(
  voters: readonly NodeId[],
  granted: (voter: NodeId) => boolean,
): boolean {
  let count = 0;
  for (const voter of voters) if (granted(voter)) count++;
  return voters.length > 0 && count >= majoritySize(voters.length);
}

/**
 * The highest value that a majority of voters has reached: sort descending and take the
 * majority-th element (e.g. the commit index from match indexes).
 */
export function majorityValue(
  voters: readonly NodeId[],
  valueOf: (voter: NodeId) => number,
): number {
  if (voters.length === 0) return 0;
  const values = voters.map(valueOf).sort((a, b) => b - a);
  return values[majoritySize(voters.length) - 1] ?? 0;
}
