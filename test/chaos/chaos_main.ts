/**
 * The chaos suite from the command line (`scripts/chaos`): one short run, or with `--long`
 * rounds of fresh clusters under the long schedule until `--hours` have passed (nightly).
 * Every round's seed is printed; the exit code is 1 when any round broke the contract.
 *
 *   scripts/chaos [--seed N] [--steps N]
 *   scripts/chaos --long [--hours H] [--seed N]
 *
 * HACTL_CHAOS_LONG=1 and HACTL_CHAOS_HOURS=H do the same as the flags.
 *
 * @module
 */

import {
  chooseSeed,
  LONG_ROUND_SCHEDULE,
  RECOVERY_TIMEOUT_MS,
  SHORT_SCHEDULE,
} from "./chaos_options.ts";
import { runChaos } from "./chaos_run.ts";
import type { ChaosFigures } from "./chaos_figures.ts";

/** Parsed command line. */
interface MainOptions {
  readonly long: boolean;
  readonly hours: number;
  readonly seed: number;
  readonly steps: number | null;
}

const USAGE = "usage: scripts/chaos [--long [--hours H]] [--seed N] [--steps N]";
/** A long run longer than a week is a typo. */
const MAX_HOURS = 168;

function parseArgs(args: readonly string[]): MainOptions {
  let long = Deno.env.get("HACTL_CHAOS_LONG") === "1";
  let hours = Number(Deno.env.get("HACTL_CHAOS_HOURS") ?? "2");
  let seed = chooseSeed();
  let steps: number | null = null;
  for (let index = 0; index < args.length; index++) {
    const flag = args[index];
    const value = () => Number(args[++index]);
    if (flag === "--long") long = true;
    else if (flag === "--hours") hours = value();
    else if (flag === "--seed") seed = value();
    else if (flag === "--steps") steps = value();
    else throw new Error(`chaos: unknown argument "${flag}"; ${USAGE}`);
  }
  if (!(hours > 0 && hours <= MAX_HOURS)) {
    throw new Error(`chaos: --hours must be in (0, ${MAX_HOURS}], got ${hours}; ${USAGE}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`chaos: bad --seed ${seed}; ${USAGE}`);
  }
  if (steps !== null && !(Number.isInteger(steps) && steps > 0)) {
    throw new Error(`chaos: --steps must be a positive integer, got ${steps}; ${USAGE}`);
  }
  return { long, hours, seed, steps };
}

/** Runs rounds until the deadline (one round unless long); returns every round's figures. */
async function runRounds(options: MainOptions): Promise<ChaosFigures[]> {
  const base = options.long ? LONG_ROUND_SCHEDULE : SHORT_SCHEDULE;
  const schedule = options.steps === null ? base : { ...base, steps: options.steps };
  const deadline = performance.now() + options.hours * 3_600_000;
  const rounds: ChaosFigures[] = [];
  for (let round = 0; round === 0 || (options.long && performance.now() < deadline); round++) {
    const seed = (options.seed + round) % 2 ** 32;
    console.log(`== chaos round ${round + 1}, seed ${seed}`);
    try {
      const figures = await runChaos({
        seed,
        schedule,
        recoveryTimeoutMs: RECOVERY_TIMEOUT_MS,
        log: (line) => console.log(line),
      });
      console.log(figures.report);
      rounds.push(figures);
    } catch (error) {
      // A cluster that did not start is not a verdict on safety; say so and go on.
      console.log(`round ${round + 1} (seed ${seed}) could not run: ${String(error)}`);
    }
  }
  return rounds;
}

function printTotals(rounds: readonly ChaosFigures[]): void {
  const failed = rounds.filter((figures) => !figures.ok);
  const lost = rounds.reduce((sum, figures) => sum + (figures.lost?.lost.length ?? 0), 0);
  const acknowledged = rounds.reduce((sum, figures) => sum + (figures.lost?.acknowledged ?? 0), 0);
  const windows = rounds.reduce((sum, figures) => sum + figures.overlaps.windows.length, 0);
  console.log(
    `== chaos totals: ${rounds.length} rounds, ${failed.length} with violations` +
      (failed.length > 0 ? ` (seeds ${failed.map((figures) => figures.seed).join(", ")})` : "") +
      `; ${acknowledged} acknowledged writes, ${lost} lost, ${windows} overlap windows`,
  );
}

if (import.meta.main) {
  const options = parseArgs(Deno.args);
  const rounds = await runRounds(options);
  printTotals(rounds);
  Deno.exit(rounds.length > 0 && rounds.every((figures) => figures.ok) ? 0 : 1);
}
