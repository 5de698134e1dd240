/**
 * One safety run of the model check: explore a run's configuration from its start, print
 * each counterexample with its trace, and judge the outcome (a real run must pass, reach its
 * non-vacuity properties and match its pinned state count; a control must break its target
 * invariant). Also the table of outcomes. Used in-process and by the workers of
 * model/run_pool.ts.
 *
 * @module
 */
import { formatColumns } from "./table.ts";
import type { ClusterModelState } from "./cluster_types.ts";
import { type ClusterAction, createClusterModel } from "./cluster_model.ts";
import {
  defaultExploreOptions,
  type ExplorationReport,
  explore,
  formatTrace,
  type Model,
} from "./explorer.ts";
import { exploreInParallel } from "./parallel_explorer.ts";
import type { RunSpec } from "./runs.ts";
import { startOf } from "./warm_start.ts";
import { counterexampleOf, type SavedCounterexample } from "./saved_counterexample.ts";

/** The outcome of one run, for the table. */
export interface RunOutcome {
  readonly spec: RunSpec;
  readonly report: ExplorationReport<ClusterAction>;
  readonly ok: boolean;
  readonly result: string;
}

/**
 * Explores one run and judges it; each counterexample goes to `print` (standard output
 * unless a worker collects it) and comes back in its saved form. `searchWorkers` above 1
 * searches on that many workers (model/parallel_explorer.ts).
 */
export async function runOne(
  spec: RunSpec,
  symmetry: boolean,
  print: (text: string) => void = console.log,
  searchWorkers = 1,
): Promise<{ outcome: RunOutcome; saved: SavedCounterexample[] }> {
  const start = startOf(spec.options, spec.scenario);
  const model = createClusterModel(spec.options, start.state);
  console.error(
    `== ${label(spec)}: exploring (depth <= ${spec.maxDepth}, states <= ${spec.maxStates})` +
      (searchWorkers > 1 ? ` on ${searchWorkers} workers` : ""),
  );
  const options = defaultExploreOptions({
    maxDepth: spec.maxDepth,
    maxStates: spec.maxStates,
    symmetry,
    stopOnViolation: true,
  });
  const report = searchWorkers > 1
    ? await exploreInParallel(spec, { ...options, workers: searchWorkers })
    : explore(model, options);
  const saved: SavedCounterexample[] = [];
  for (const violation of report.violations) {
    if (start.script.length > 0) {
      print(`(from the ${spec.scenario} warm start: ${start.script.length} scripted steps)`);
    }
    print(
      `${label(spec)}: ${
        formatTrace(model as Model<ClusterModelState, ClusterAction>, violation)
      }\n`,
    );
    saved.push(counterexampleOf(spec, start.script, violation));
  }
  // Pins count symmetry-reduced states: without symmetry the counts differ by design.
  const judged = symmetry ? spec : { ...spec, pinned: null };
  return { outcome: judge(judged, report), saved };
}

/** Whether a run did what it must: pass (real) or break its target (control). */
function judge(spec: RunSpec, report: ExplorationReport<ClusterAction>): RunOutcome {
  const violation = report.violations[0];
  if (spec.mustBreak !== null) {
    const caught = violation?.property === spec.mustBreak;
    const result = caught
      ? `caught: ${spec.mustBreak} at depth ${violation.actions.length}`
      : `NOT CAUGHT: ${spec.mustBreak}${violation ? ` (broke ${violation.property} instead)` : ""}`;
    return { spec, report, ok: caught, result };
  }
  if (violation !== undefined) {
    return {
      spec,
      report,
      ok: false,
      result: `VIOLATED: ${violation.property}: ${violation.message}`,
    };
  }
  const missing = report.witnesses
    .filter((entry) => entry.witness === null && spec.mustReach.includes(entry.property))
    .map((entry) => entry.property);
  if (missing.length > 0) {
    return { spec, report, ok: false, result: `VACUOUS: never reached ${missing.join(", ")}` };
  }
  const coverage = report.complete ? "exhaustive" : "state cap hit";
  const changed = pinChange(spec, report);
  if (changed !== null) return { spec, report, ok: false, result: changed };
  return { spec, report, ok: true, result: `pass (${coverage})` };
}

/** Why a real run's outcome differs from its pin in runs.ts (PINNED_STATES), or null. */
export function pinChange(
  spec: RunSpec,
  report: Pick<ExplorationReport<unknown>, "states" | "complete">,
): string | null {
  if (spec.pinned === undefined || spec.pinned === null) return null;
  const got = report.complete ? String(report.states) : "state cap hit";
  if (spec.pinned === "missing") {
    return `state count not pinned: got ${got}; add it to PINNED_STATES in runs.ts`;
  }
  if (got === String(spec.pinned)) return null;
  return `state count changed: expected ${spec.pinned}, got ${got} — update runs.ts if intended`;
}

function label(spec: RunSpec): string {
  return `${spec.options.name} N=${spec.options.nodeCount}`;
}

function describeBounds(spec: RunSpec): string {
  const bounds = spec.options.bounds;
  return `depth<=${spec.maxDepth} term<=${bounds.maxTerm} msgs<=${bounds.maxInFlight} crash<=${bounds.maxCrashes} ` +
    `writes<=${bounds.maxWrites} dup<=${bounds.maxDuplicates} drift<=${bounds.clockDriftTicks}` +
    (bounds.maxProposals > 0 ? ` proposals<=${bounds.maxProposals}` : "") +
    (bounds.maxFailedRewinds > 0 ? ` failed-rewinds<=${bounds.maxFailedRewinds}` : "") +
    (bounds.maxUnreplayedRecords > 0 ? ` unreplayed<=${bounds.maxUnreplayedRecords}` : "") +
    ((bounds.maxPostgresStartFailures ?? 0) > 0
      ? ` cannot-start<=${bounds.maxPostgresStartFailures}`
      : "") +
    ((bounds.maxUnreadablePostgres ?? 0) > 0
      ? ` unreadable<=${bounds.maxUnreadablePostgres}`
      : "") +
    (bounds.dropMessages ? " drops" : "");
}

/** The safety runs as a table: bounds, states, depth, seconds, states/s, result. */
export function formatTable(outcomes: readonly RunOutcome[]): string {
  const header = [
    "configuration",
    "N",
    "start",
    "bounds",
    "states",
    "depth",
    "seconds",
    "states/s",
    "result",
  ];
  const rows = outcomes.map(({ spec, report, result }) => [
    spec.options.name,
    String(spec.options.nodeCount),
    spec.scenario,
    describeBounds(spec),
    String(report.states),
    String(report.maxDepthReached),
    report.seconds.toFixed(1),
    String(Math.round(report.states / Math.max(report.seconds, 0.001))),
    result,
  ]);
  return formatColumns(header, rows);
}
