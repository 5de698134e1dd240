/**
 * The nemesis schedule of a chaos run, a pure function of one seed: which fault comes next,
 * whom it targets (by role: the primary or a standby, resolved when it is injected), how long it
 * holds before it is healed and how long the cluster is left alone afterwards. Printing the seed
 * (and the options) is enough to replay a run's schedule exactly; the cluster's reactions are
 * real and vary, which is what the run is for.
 *
 * Kinds are drawn as shuffled rounds of every kind, so that even a short schedule injects each
 * kind once.
 *
 * @module
 */

import { SeededRandom } from "./seeded_random.ts";

/** Every fault the nemesis can inject. */
export const FAULT_KINDS = [
  "kill", // SIGKILL of a node's agent, watchdog and Postgres; healed by starting the agent
  "partition-agent", // the node's Raft port cut from every other node (Postgres still streams)
  "partition-host", // the whole host cut from every other host, clients included
  "one-way", // packets in one direction between the node and one peer are dropped
  "replication-cut", // the Postgres port cut between the node and the other nodes
  "stall-standby", // SIGSTOP of a standby's Postgres processes (its agent keeps running)
  "freeze-host", // SIGSTOP of every process of the host
  "clock-skew", // the node's agent restarted under a skewed wall clock (libfaketime)
  "switchover", // `hactl switchover` (to the targeted standby, or to the most advanced one)
  "pause", // `hactl pause`, healed by `hactl resume`
  "cut-and-kill", // a standby's replication cut for a few seconds, then SIGKILL of the primary
] as const;

/** One kind of fault. */
export type FaultKind = typeof FAULT_KINDS[number];

/** Whom a fault targets; resolved to a node when the fault is injected. */
export type TargetRole = "primary" | "standby";

/** One fault of a schedule. */
export interface FaultStep {
  /** Position in the schedule, from 0. */
  readonly step: number;
  readonly kind: FaultKind;
  readonly target: TargetRole;
  /** Chooses among candidates (standbys, peers) modulo their number. */
  readonly pick: number;
  /** Time between injecting and healing the fault. */
  readonly holdMs: number;
  /** Quiet time after the heal, before the next fault. */
  readonly gapMs: number;
  /** For "clock-skew": the wall-clock offset; for "one-way": its sign picks the direction. */
  readonly skewMs: number;
  /**
   * Keep this fault in effect while the next one is injected and held, then heal this one and
   * then the next (no quiet time in between): combinations such as a replication cut during a
   * kill of the primary, or a pause lifted while a partition still holds. At most two faults
   * are in effect at once.
   */
  readonly overlapsNext: boolean;
}

/** Bounds of a schedule. */
export interface ScheduleOptions {
  /** Number of faults. */
  readonly steps: number;
  /** Range of {@link FaultStep.holdMs}. */
  readonly minHoldMs: number;
  readonly maxHoldMs: number;
  /** Range of {@link FaultStep.gapMs}. */
  readonly minGapMs: number;
  readonly maxGapMs: number;
  /** Largest absolute clock skew. */
  readonly maxSkewMs: number;
  /** Probability that a step {@link FaultStep.overlapsNext}, in [0, 1]. */
  readonly overlapProbability: number;
}

/** A seeded schedule. */
export interface NemesisSchedule {
  readonly seed: number;
  readonly options: ScheduleOptions;
  readonly steps: readonly FaultStep[];
}

/** Kinds that act on a standby whatever the draw says (cut-and-kill: the one it cuts). */
const STANDBY_ONLY: readonly FaultKind[] = ["stall-standby", "cut-and-kill"];
/** Probability that a fault which may hit any node targets the primary. */
const PRIMARY_TARGET_PROBABILITY = 0.6;
/** Upper bound on steps: a schedule longer than this is a typo (hours at ~10 s a step). */
export const MAX_STEPS = 10_000;

/** The schedule decided by `seed`. */
export function makeSchedule(seed: number, options: ScheduleOptions): NemesisSchedule {
  checkOptions(options);
  const random = new SeededRandom(seed);
  const steps: FaultStep[] = [];
  let round: FaultKind[] = [];
  for (let step = 0; step < options.steps; step++) {
    if (round.length === 0) round = random.shuffle(FAULT_KINDS);
    const kind = round.pop() as FaultKind;
    const target: TargetRole = STANDBY_ONLY.includes(kind) ||
        random.nextFloat() >= PRIMARY_TARGET_PROBABILITY
      ? "standby"
      : "primary";
    steps.push({
      step,
      kind,
      target,
      pick: random.integer(0, 1_000),
      holdMs: random.integer(options.minHoldMs, options.maxHoldMs),
      gapMs: random.integer(options.minGapMs, options.maxGapMs),
      skewMs: random.integer(-options.maxSkewMs, options.maxSkewMs),
      // Drawn for every step, so that the rest of the stream does not depend on the position.
      overlapsNext: random.nextFloat() < options.overlapProbability &&
        step < options.steps - 1 && steps[step - 1]?.overlapsNext !== true,
    });
  }
  return { seed, options, steps };
}

/** One line per step, for the log of a run. */
export function describeSchedule(schedule: NemesisSchedule): string {
  const header = `nemesis schedule, seed ${schedule.seed}, ${schedule.steps.length} steps ` +
    `(${JSON.stringify(schedule.options)})`;
  return [header, ...schedule.steps.map(describeStep)].join("\n");
}

/** One line describing a step. */
export function describeStep(step: FaultStep): string {
  const extra = step.kind === "clock-skew" ? ` skew ${step.skewMs} ms` : "";
  const after = step.overlapsNext ? "kept during the next step" : `then ${step.gapMs} ms quiet`;
  return `  #${step.step} ${step.kind} on the ${step.target} (pick ${step.pick}) for ` +
    `${step.holdMs} ms, ${after}${extra}`;
}

/** Wall time the schedule's holds and gaps add up to (injection and heals take more). */
export function scheduledDurationMs(schedule: NemesisSchedule): number {
  return schedule.steps.reduce((sum, step) => sum + step.holdMs + step.gapMs, 0);
}

function checkOptions(options: ScheduleOptions): void {
  const { steps, minHoldMs, maxHoldMs, minGapMs, maxGapMs, maxSkewMs } = options;
  const problems: string[] = [];
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    problems.push(`steps must be in 1..${MAX_STEPS}, got ${steps}`);
  }
  if (!(0 <= minHoldMs && minHoldMs <= maxHoldMs)) {
    problems.push(`need 0 <= minHoldMs <= maxHoldMs, got ${minHoldMs}, ${maxHoldMs}`);
  }
  if (!(0 <= minGapMs && minGapMs <= maxGapMs)) {
    problems.push(`need 0 <= minGapMs <= maxGapMs, got ${minGapMs}, ${maxGapMs}`);
  }
  if (!(maxSkewMs >= 0)) problems.push(`maxSkewMs must be >= 0, got ${maxSkewMs}`);
  if (!(options.overlapProbability >= 0 && options.overlapProbability <= 1)) {
    problems.push(`overlapProbability must be in [0, 1], got ${options.overlapProbability}`);
  }
  if (problems.length > 0) throw new Error(`makeSchedule: ${problems.join("; ")}`);
}
