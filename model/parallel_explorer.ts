/**
 * Breadth-first search of one run on several workers (issue 10: "workers where cores
 * allow"), level by level. The fingerprint table and the parent links live in shared
 * memory (model/shared_search.ts), so a state is inserted once by whichever worker reaches
 * it first and any worker can rebuild any state from its number; a level's frontier is cut
 * into one contiguous slice per worker (a parent's children stay together, so rebuilds stay
 * about one `nextState` each) and the workers' new states, concatenated in worker order,
 * are the next level.
 *
 * What it finds is what the sequential explorer finds: every state within the depth bound
 * is reached at its least depth (levels are complete before the next starts), checked once
 * with the transition that first reached it, and counted once. Which of two equal-depth
 * paths is recorded for a state depends on the workers' timing, so a counterexample may
 * differ between runs (each is replayed and checked against the table before it is
 * reported); a run cut by its state cap may stop on a few more states (one per worker at
 * most). Eventually-properties are not supported (no cluster run has one).
 *
 * @module
 */
import type { Counterexample, ExplorationReport, Model, Property } from "./explorer.ts";
import { pathOf, replayIndexes } from "./explorer.ts";
import { type ClusterAction, createClusterModel } from "./cluster_model.ts";
import type { ClusterModelState } from "./cluster_types.ts";
import type { RunSpec } from "./runs.ts";
import { startOf } from "./warm_start.ts";
import { SharedSearch } from "./shared_search.ts";
import type { LevelResult, StateFinding, WorkerLevel, WorkerSetup } from "./parallel_worker.ts";

/** How a parallel search runs. */
export interface ParallelOptions {
  readonly workers: number;
  readonly symmetry: boolean;
  readonly stopOnViolation: boolean;
  /** Progress line interval; 0 disables progress. */
  readonly progressIntervalMs: number;
  readonly progress: (line: string) => void;
}

/** One worker thread and its pending answer. */
class SearchWorker {
  readonly #worker = new Worker(new URL("./parallel_worker.ts", import.meta.url), {
    type: "module",
  });
  #pending: { resolve: (value: unknown) => void; reject: (error: Error) => void } | null = null;

  constructor() {
    this.#worker.onmessage = (event: MessageEvent<{ error?: string }>) => {
      const pending = this.#pending;
      this.#pending = null;
      if (pending === null) return;
      if (event.data.error !== undefined) pending.reject(new Error(event.data.error));
      else pending.resolve(event.data);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#pending?.reject(new Error(`parallel worker failed: ${event.message}`));
      this.#pending = null;
    };
  }

  /** Sends the setup and waits until the worker has built its model. */
  async setUp(setup: WorkerSetup): Promise<void> {
    await this.#ask(setup);
  }

  /** Expands one slice of a level. */
  async expand(level: WorkerLevel): Promise<LevelResult> {
    const answer = await this.#ask(level) as { result: LevelResult };
    return answer.result;
  }

  terminate(): void {
    this.#worker.terminate();
  }

  #ask(message: WorkerSetup | WorkerLevel): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage(message);
    });
  }
}

/** What the levels found, merged. */
interface SearchTally {
  transitions: number;
  maxDepthReached: number;
  depthBounded: boolean;
  readonly violations: StateFinding[];
  readonly witnesses: Map<number, StateFinding>;
}

/** Explores `spec` breadth-first on `options.workers` workers. */
export async function exploreInParallel(
  spec: RunSpec,
  options: ParallelOptions,
): Promise<ExplorationReport<ClusterAction>> {
  const started = performance.now();
  const model = createClusterModel(spec.options, startOf(spec.options, spec.scenario).state);
  if (model.properties.some((property) => property.kind === "eventually")) {
    throw new Error("parallel search: eventually-properties are not supported");
  }
  const shared = SharedSearch.create(spec.maxStates);
  const tally: SearchTally = {
    transitions: 0,
    maxDepthReached: 0,
    depthBounded: false,
    violations: [],
    witnesses: new Map(),
  };
  let frontier = initialFrontier(model, shared, options, tally);
  const workers = Array.from({ length: Math.max(1, options.workers) }, () => new SearchWorker());
  const progress = options.progressIntervalMs > 0
    ? setInterval(
      () => options.progress(progressLine(spec, shared, started)),
      options.progressIntervalMs,
    )
    : undefined;
  try {
    const setup: WorkerSetup = {
      kind: "setup",
      spec,
      symmetry: options.symmetry,
      stopOnViolation: options.stopOnViolation,
      buffers: shared.buffers,
    };
    await Promise.all(workers.map((worker) => worker.setUp(setup)));
    for (let depth = 0; frontier.length > 0 && !shared.stopped; depth++) {
      if (depth >= spec.maxDepth) {
        tally.depthBounded = true;
        break;
      }
      const slices = sliced(frontier, workers.length);
      const results = await Promise.all(
        workers.map((worker, index) =>
          worker.expand({ kind: "level", depth, numbers: slices[index]! })
        ),
      );
      frontier = merge(results, depth + 1, tally);
    }
  } finally {
    if (progress !== undefined) clearInterval(progress);
    for (const worker of workers) worker.terminate();
  }
  return reportOf(model, spec, shared, tally, options.symmetry, started);
}

/** Records and checks the initial states; returns those to expand. */
function initialFrontier(
  model: Model<ClusterModelState, ClusterAction>,
  shared: SharedSearch,
  options: ParallelOptions,
  tally: SearchTally,
): Int32Array {
  const numbers: number[] = [];
  model.initialStates().forEach((state, index) => {
    const number = shared.insert(model.fingerprint(state, options.symmetry), -1, index, 0);
    if (number < 0) return;
    model.properties.forEach((property, place) => {
      const finding = findingAt(property, state, number, place);
      if (finding === null) return;
      if (property.kind === "always") tally.violations.push(finding);
      else if (!tally.witnesses.has(place)) tally.witnesses.set(place, finding);
    });
    if (model.withinBoundary(state)) numbers.push(number);
  });
  if (options.stopOnViolation && tally.violations.length > 0) shared.stop();
  return Int32Array.from(numbers);
}

function findingAt(
  property: Property<ClusterModelState, ClusterAction>,
  state: ClusterModelState,
  number: number,
  place: number,
): StateFinding | null {
  if (property.kind === "always") {
    const message = property.check(state, null);
    return message === null ? null : { property: place, number, message };
  }
  return property.kind === "sometimes" && property.holds(state)
    ? { property: place, number, message: "witness" }
    : null;
}

/** `frontier` cut into `count` contiguous slices of nearly equal length. */
function sliced(frontier: Int32Array, count: number): Int32Array[] {
  const slices: Int32Array[] = [];
  for (let index = 0; index < count; index++) {
    const from = Math.floor((frontier.length * index) / count);
    const to = Math.floor((frontier.length * (index + 1)) / count);
    slices.push(frontier.slice(from, to));
  }
  return slices;
}

/** Folds the workers' results into the tally; returns the next level's frontier. */
function merge(results: readonly LevelResult[], depth: number, tally: SearchTally): Int32Array {
  let length = 0;
  for (const result of results) {
    tally.transitions += result.transitions;
    length += result.next.length;
    if (result.added > 0) {
      tally.maxDepthReached = Math.max(tally.maxDepthReached, depth);
    }
    if (result.atDepthBound > 0) tally.depthBounded = true;
    for (const violation of result.violations) {
      if (!tally.violations.some((known) => known.property === violation.property)) {
        tally.violations.push(violation);
      }
    }
    for (const witness of result.witnesses) {
      if (!tally.witnesses.has(witness.property)) tally.witnesses.set(witness.property, witness);
    }
  }
  const next = new Int32Array(length);
  let offset = 0;
  for (const result of results) {
    next.set(result.next, offset);
    offset += result.next.length;
  }
  return next;
}

/** The report, with every counterexample and witness replayed against the table. */
function reportOf(
  model: Model<ClusterModelState, ClusterAction>,
  spec: RunSpec,
  shared: SharedSearch,
  tally: SearchTally,
  symmetry: boolean,
  started: number,
): ExplorationReport<ClusterAction> {
  const counterexample = (finding: StateFinding): Counterexample<ClusterAction> => {
    const property = model.properties[finding.property]!;
    const { indexes, numbers } = pathOf(shared, finding.number);
    return {
      property: property.name,
      kind: property.kind,
      message: finding.message,
      initialState: indexes[0] ?? 0,
      actions: replayIndexes(model, indexes, numbers, symmetry, shared),
    };
  };
  const witnesses = model.properties.flatMap((property, place) => {
    if (property.kind !== "sometimes") return [];
    const found = tally.witnesses.get(place);
    return [{ property: property.name, witness: found ? counterexample(found) : null }];
  });
  const violations = tally.violations.map(counterexample);
  return {
    model: spec.options.name,
    states: shared.count,
    transitions: tally.transitions,
    maxDepthReached: tally.maxDepthReached,
    seconds: (performance.now() - started) / 1000,
    complete: !shared.capped && !(violations.length > 0 && shared.stopped),
    depthBounded: tally.depthBounded,
    violations,
    witnesses,
  };
}

function progressLine(spec: RunSpec, shared: SharedSearch, started: number): string {
  const seconds = (performance.now() - started) / 1000;
  const memoryMb = Math.round(Deno.memoryUsage().rss / 1e6);
  return `  [${spec.options.name}] ${shared.count} states, ` +
    `${Math.round(shared.count / Math.max(seconds, 0.001))} states/s, ${memoryMb} MB`;
}
