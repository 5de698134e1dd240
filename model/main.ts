/**
 * `deno task model-check`: explores the real core at N=3 and N=5 and every negative
 * control, prints a table, and exits non-zero unless the real configuration passes (every
 * invariant holds, every non-vacuity property is reached) and every control yields a
 * counterexample of the invariant it targets.
 *
 * Options: `--large` widens bounds; `--no-symmetry` turns symmetry reduction off (to
 * measure what it saves); `--save-counterexample DIR` writes each counterexample as JSON;
 * `--only TEXT` runs the configurations whose name contains TEXT; `--workers N` runs N
 * configurations at once, one per worker (default: one per core, at most 4; 1 runs them
 * all in this thread); `--search-workers N` instead runs the configurations one after the
 * other, each safety run's search on N workers (model/parallel_explorer.ts: for `--large`,
 * whose few big runs would leave cores idle).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { livenessRuns, modelCheckRuns } from "./runs.ts";
import { formatLivenessTable, type LivenessOutcome } from "./liveness.ts";
import { saveCounterexample } from "./saved_counterexample.ts";
import { formatTable, type RunOutcome } from "./safety_run.ts";
import type { ModelJob, ModelJobResult } from "./model_job.ts";
import { defaultWorkerCount, runModelJobs } from "./run_pool.ts";

/** Runs everything; returns the process exit code. */
export async function modelCheck(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      large: { type: "boolean", default: false },
      "no-symmetry": { type: "boolean", default: false },
      "save-counterexample": { type: "string" },
      only: { type: "string" },
      workers: { type: "string" },
      "search-workers": { type: "string", default: "1" },
    },
  });
  const workers = values.workers === undefined ? defaultWorkerCount() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(
      `model-check: --workers takes a whole number of at least 1, not ${values.workers}`,
    );
    return 2;
  }
  const searchWorkers = Number(values["search-workers"]);
  if (!Number.isInteger(searchWorkers) || searchWorkers < 1) {
    console.error(
      `model-check: --search-workers takes a whole number of at least 1, not ${
        values["search-workers"]
      }`,
    );
    return 2;
  }
  const large = values.large;
  const symmetry = !values["no-symmetry"];
  const chosen = (name: string) => !values.only || name.includes(values.only);
  const runs = modelCheckRuns(large);
  const livenessChecks = livenessRuns(large);
  const jobOf = (kind: ModelJob["kind"]) => (index: number): ModelJob => ({
    kind,
    index,
    large,
    symmetry,
    searchWorkers,
  });
  const jobs = [
    ...indexesChosen(runs, chosen).map(jobOf("safety")),
    ...indexesChosen(livenessChecks, chosen).map(jobOf("liveness")),
  ];
  if (jobs.length === 0) {
    console.error(`model-check: no configuration matches --only ${values.only}`);
    return 2;
  }
  const poolSize = searchWorkers > 1 ? 1 : Math.min(workers, jobs.length);
  console.error(
    searchWorkers > 1
      ? `model-check: ${jobs.length} runs one after the other, each search on ${searchWorkers} workers`
      : `model-check: ${jobs.length} runs on ${poolSize} worker(s)`,
  );
  const results = await runModelJobs(jobs, poolSize);
  for (const result of results) for (const text of result.printed) console.log(text);
  const outcomes = safetyOutcomes(results, runs);
  const liveness = livenessOutcomes(results, livenessChecks);
  const directory = values["save-counterexample"];
  if (directory !== undefined) {
    for (const result of results) {
      if (result.kind !== "safety") continue;
      for (const saved of result.saved) await saveCounterexample(directory, saved);
    }
  }
  if (outcomes.length > 0) console.log(formatTable(outcomes));
  if (liveness.length > 0) console.log(formatLivenessTable(liveness));
  const failed = [...outcomes, ...liveness].filter((outcome) => !outcome.ok);
  console.log(
    failed.length === 0 ? "model check: all passed" : `model check: ${failed.length} FAILED`,
  );
  return failed.length === 0 ? 0 : 1;
}

/** The indexes of the runs whose name is chosen. */
function indexesChosen(
  runs: readonly { readonly options: { readonly name: string } }[],
  chosen: (name: string) => boolean,
): number[] {
  return runs.flatMap((spec, index) => chosen(spec.options.name) ? [index] : []);
}

/** The safety results joined with their specs, for the table. */
function safetyOutcomes(
  results: readonly ModelJobResult[],
  runs: ReturnType<typeof modelCheckRuns>,
): RunOutcome[] {
  return results.flatMap((result) =>
    result.kind === "safety"
      ? [{ spec: runs[result.index]!, report: result.report, ok: result.ok, result: result.result }]
      : []
  );
}

/** The liveness results joined with their specs, for the table. */
function livenessOutcomes(
  results: readonly ModelJobResult[],
  runs: ReturnType<typeof livenessRuns>,
): LivenessOutcome[] {
  return results.flatMap((result) =>
    result.kind === "liveness"
      ? [{ spec: runs[result.index]!, report: result.report, ok: result.ok, result: result.result }]
      : []
  );
}

if (import.meta.main) Deno.exit(await modelCheck(Deno.args));
