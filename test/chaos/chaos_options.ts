/**
 * The two standard chaos schedules: the short one of the normal test suite (about 4 minutes of
 * wall time on a 2-core machine, every fault kind once) and the long one of `scripts/chaos
 * --long` (rounds of fresh clusters until a duration has passed), and the seed choice: the
 * environment's HACTL_CHAOS_SEED replays a run, otherwise a fresh seed is drawn and printed.
 *
 * @module
 */

import type { ScheduleOptions } from "./nemesis_schedule.ts";

/** Eleven steps: each kind once; holds and gaps of a few seconds. */
export const SHORT_SCHEDULE: ScheduleOptions = {
  steps: 11,
  minHoldMs: 1_500,
  maxHoldMs: 5_000,
  minGapMs: 2_000,
  maxGapMs: 4_000,
  maxSkewMs: 10_000,
  overlapProbability: 0.3,
};

/** A round of the long run: forty steps, longer holds (elections and rejoins under load). */
export const LONG_ROUND_SCHEDULE: ScheduleOptions = {
  steps: 40,
  minHoldMs: 1_000,
  maxHoldMs: 12_000,
  minGapMs: 500,
  maxGapMs: 8_000,
  maxSkewMs: 30_000,
  overlapProbability: 0.3,
};

/** Time a healed cluster gets to recover (one primary, every standby streaming). */
export const RECOVERY_TIMEOUT_MS = 90_000;

/** The seed in HACTL_CHAOS_SEED, or a fresh one. */
export function chooseSeed(): number {
  const text = Deno.env.get("HACTL_CHAOS_SEED");
  if (text === undefined || text === "") return crypto.getRandomValues(new Uint32Array(1))[0] ?? 1;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`HACTL_CHAOS_SEED must be a non-negative integer, got "${text}"`);
  }
  return seed;
}
