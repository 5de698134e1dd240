/**
 * Model checker benchmark: explores single configurations and prints, per configuration,
 * distinct states, transitions, depth reached, seconds, states per second, and memory per
 * visited state: the peak growth, over the process before the search, of the JavaScript heap
 * plus external memory (typed arrays: the fingerprint table, records, frontier) and of the
 * resident set, divided by the states.
 *
 *   deno run --allow-all model/bench.ts --only "real cold" [--large] [--depth 9] [--states N]
 *   deno run --allow-all model/bench.ts --cold 5 --depth 6      (a cold start at N=5)
 *   deno run --allow-all model/bench.ts --cold 3 --depth 9 --workers 2   (parallel search:
 *     model/parallel_explorer.ts; CPU seconds and the resident set cover every thread, the
 *     heap figure only the main thread's)
 *   deno run --allow-all --v8-flags=--expose-gc model/bench.ts ... (live heap: a full GC
 *     before each memory sample, slower but without uncollected garbage in the figure)
 *
 * `--only` matches configuration names exactly first, then by substring (like main.ts).
 * Nothing is judged here: main.ts decides pass or fail; this only measures.
 *
 * @module
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { NO_FAULTS } from "../src/core/mod.ts";
import { createClusterModel } from "./cluster_model.ts";
import { defaultExploreOptions, explore } from "./explorer.ts";
import { exploreInParallel } from "./parallel_explorer.ts";
import { DEFAULT_BOUNDS, LARGE_BOUNDS, modelCheckRuns, type RunSpec } from "./runs.ts";
import { startOf } from "./warm_start.ts";

/** A progress line goes to stderr this often on long searches. */
const PROGRESS_INTERVAL_MS = 30_000;

/** Memory is sampled at most this often, counted from the end of the last sample (which may run a full GC). */
const SAMPLE_INTERVAL_MS = 500;

/** The figures of one benchmarked configuration. */
export interface BenchFigures {
  readonly configuration: string;
  /** Threads that searched (1: the sequential explorer; more: model/parallel_explorer.ts). */
  readonly workers: number;
  readonly nodeCount: number;
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly complete: boolean;
  /** The first property violated (the search stops at it), or null: every invariant held. */
  readonly violation: string | null;
  readonly seconds: number;
  readonly statesPerSecond: number;
  /** CPU time of the process during the search (user + system): robust to a loaded machine. */
  readonly cpuSeconds: number;
  readonly statesPerCpuSecond: number;
  readonly peakHeapMb: number;
  readonly peakRssMb: number;
  readonly heapBytesPerState: number;
  readonly rssBytesPerState: number;
}

/** Explores `spec` (with symmetry) on `workers` threads (1: the sequential explorer) and measures it. */
export async function benchRun(spec: RunSpec, symmetry = true, workers = 1): Promise<BenchFigures> {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  const before = Deno.memoryUsage();
  // Typed arrays (the fingerprint table, records, frontier) live outside the JS heap: external.
  const heapOf = (usage: Deno.MemoryUsage) => usage.heapUsed + usage.external;
  let peakHeap = heapOf(before);
  let peakRss = before.rss;
  let lastSampleEnd = 0;
  let lastPrint = performance.now();
  const sample = (force = false, line = "") => {
    if (line !== "" && performance.now() - lastPrint >= PROGRESS_INTERVAL_MS) {
      lastPrint = performance.now();
      console.error(line);
    }
    if (!force && performance.now() - lastSampleEnd < SAMPLE_INTERVAL_MS) return;
    collect?.();
    const usage = Deno.memoryUsage();
    peakHeap = Math.max(peakHeap, heapOf(usage));
    peakRss = Math.max(peakRss, usage.rss);
    lastSampleEnd = performance.now();
  };
  const start = startOf(spec.options, spec.scenario);
  const model = createClusterModel(spec.options, start.state);
  const cpuBefore = cpuUsage();
  const progress = (line: string) => sample(false, line);
  const report = workers > 1
    ? await exploreInParallel(spec, {
      workers,
      symmetry,
      stopOnViolation: true,
      progressIntervalMs: SAMPLE_INTERVAL_MS / 5,
      progress,
    })
    : explore(
      model,
      defaultExploreOptions({
        maxDepth: spec.maxDepth,
        maxStates: spec.maxStates,
        symmetry,
        stopOnViolation: true,
        progressIntervalMs: SAMPLE_INTERVAL_MS / 5,
        progress,
      }),
    );
  const cpu = cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  sample(true);
  const states = Math.max(report.states, 1);
  return {
    configuration: spec.options.name,
    workers,
    nodeCount: spec.options.nodeCount,
    states: report.states,
    transitions: report.transitions,
    depth: report.maxDepthReached,
    complete: report.complete,
    violation: report.violations[0]?.property ?? null,
    seconds: report.seconds,
    statesPerSecond: Math.round(report.states / Math.max(report.seconds, 0.001)),
    cpuSeconds,
    statesPerCpuSecond: Math.round(report.states / Math.max(cpuSeconds, 0.001)),
    peakHeapMb: Math.round(peakHeap / 1e6),
    peakRssMb: Math.round(peakRss / 1e6),
    heapBytesPerState: Math.round((peakHeap - heapOf(before)) / states),
    rssBytesPerState: Math.round((peakRss - before.rss) / states),
  };
}

/** A real run from the cold start at `nodeCount` nodes (not in the default model check at N=5). */
function coldRun(nodeCount: number, large: boolean): RunSpec {
  return {
    options: {
      name: `bench cold N=${nodeCount}`,
      nodeCount,
      faults: NO_FAULTS,
      bounds: large ? LARGE_BOUNDS : DEFAULT_BOUNDS,
      start: "cold",
      invariants: "all",
    },
    scenario: "cold",
    maxDepth: 7,
    maxStates: 400_000,
    mustBreak: null,
    mustReach: [],
  };
}

function selectRuns(values: {
  only?: string | undefined;
  cold?: string | undefined;
  large: boolean;
}): RunSpec[] {
  if (values.cold !== undefined) return [coldRun(Number(values.cold), values.large)];
  const runs = modelCheckRuns(values.large);
  if (values.only === undefined) return runs;
  const exact = runs.filter((spec) => spec.options.name === values.only);
  return exact.length > 0 ? exact : runs.filter((spec) => spec.options.name.includes(values.only!));
}

/** How the search ended: every invariant held to the bound, the cap hit, or a violation. */
function outcome(figures: BenchFigures): string {
  if (figures.violation !== null) return `stopped: ${figures.violation} violated`;
  return figures.complete ? "complete, every invariant held" : "cap hit, every invariant held";
}

function formatFigures(figures: BenchFigures): string {
  return [
    `${figures.configuration} N=${figures.nodeCount}` +
    (figures.workers > 1 ? ` (${figures.workers} workers):` : ":"),
    `${figures.states} states (${outcome(figures)}),`,
    `${figures.transitions} transitions, depth ${figures.depth},`,
    `${figures.seconds.toFixed(1)} s, ${figures.statesPerSecond} states/s,`,
    `${figures.cpuSeconds.toFixed(1)} CPU s, ${figures.statesPerCpuSecond} states/CPU s,`,
    `peak heap ${figures.peakHeapMb} MB (${figures.heapBytesPerState} B/state),`,
    `peak RSS ${figures.peakRssMb} MB (${figures.rssBytesPerState} B/state)`,
  ].join(" ");
}

/** Runs the selected configurations one after the other; prints one line (and JSON) each. */
export async function bench(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      only: { type: "string" },
      cold: { type: "string" },
      large: { type: "boolean", default: false },
      depth: { type: "string" },
      states: { type: "string" },
      workers: { type: "string", default: "1" },
      "no-symmetry": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(`bench: --workers takes a whole number of at least 1, not ${values.workers}`);
    return 2;
  }
  const runs = selectRuns(values);
  if (runs.length === 0) {
    console.error(`bench: no configuration matches --only ${values.only}`);
    return 2;
  }
  for (const run of runs) {
    const spec: RunSpec = {
      ...run,
      maxDepth: values.depth === undefined ? run.maxDepth : Number(values.depth),
      maxStates: values.states === undefined ? run.maxStates : Number(values.states),
    };
    const figures = await benchRun(spec, !values["no-symmetry"], workers);
    console.log(values.json ? JSON.stringify(figures) : formatFigures(figures));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await bench(Deno.args));
