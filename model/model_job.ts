/**
 * One job of the model check, as a worker receives it and answers it: a safety run or a
 * bounded-liveness run named by its place in `modelCheckRuns`/`livenessRuns` (each side
 * builds the same lists, so only the index crosses), and its result in a form that can be
 * posted between workers: the table's figures, the judgement, and what the run printed.
 *
 * @module
 */
import type { ExplorationReport } from "./explorer.ts";
import type { ClusterAction } from "./cluster_model.ts";
import { type LivenessReport, runLivenessCheck } from "./liveness.ts";
import { livenessRuns, modelCheckRuns } from "./runs.ts";
import { runOne } from "./safety_run.ts";
import type { SavedCounterexample } from "./saved_counterexample.ts";

/** A run to do: its kind, its index in the run list, and the list's options. */
export interface ModelJob {
  readonly kind: "safety" | "liveness";
  readonly index: number;
  readonly large: boolean;
  readonly symmetry: boolean;
  /** Workers of one safety run's search (model/parallel_explorer.ts); 1 or absent: this thread. */
  readonly searchWorkers?: number;
}

/** What a job found: judgement, figures, and its printed counterexamples in order. */
export type ModelJobResult =
  | {
    readonly kind: "safety";
    readonly index: number;
    readonly ok: boolean;
    readonly result: string;
    /** The report without its counterexamples' states (posted, not needed for the table). */
    readonly report: ExplorationReport<ClusterAction>;
    readonly printed: readonly string[];
    readonly saved: readonly SavedCounterexample[];
  }
  | {
    readonly kind: "liveness";
    readonly index: number;
    readonly ok: boolean;
    readonly result: string;
    readonly report: LivenessReport;
    readonly printed: readonly string[];
  };

/** Runs `job` in this thread; what it prints is collected, not written. */
export async function runModelJob(job: ModelJob): Promise<ModelJobResult> {
  const printed: string[] = [];
  const print = (text: string) => printed.push(text);
  if (job.kind === "liveness") {
    const spec = livenessRuns(job.large)[job.index];
    if (spec === undefined) throw new Error(`no liveness run ${job.index}`);
    const outcome = runLivenessCheck(spec, print);
    const { ok, result, report } = outcome;
    return { kind: "liveness", index: job.index, ok, result, report, printed };
  }
  const spec = modelCheckRuns(job.large)[job.index];
  if (spec === undefined) throw new Error(`no model check run ${job.index}`);
  const { outcome, saved } = await runOne(spec, job.symmetry, print, job.searchWorkers ?? 1);
  const report = { ...outcome.report, violations: [], witnesses: [] };
  return {
    kind: "safety",
    index: job.index,
    ok: outcome.ok,
    result: outcome.result,
    report,
    printed,
    saved,
  };
}
