/**
 * A worker of the parallel breadth-first search (model/parallel_explorer.ts). It builds the
 * run's model itself (a RunSpec is plain data), attaches the shared table and parent links,
 * and for each level it is sent expands its slice of the frontier: every state is rebuilt
 * from its number (one `nextState` from the cached parent, as the sequential explorer does),
 * every successor fingerprinted and inserted; a new one is checked (always and sometimes
 * properties, as it is first reached) and, when it is to be expanded, kept for the next
 * level. It posts back the new states in the order found, so a parent's children stay
 * consecutive and the next level's rebuilds stay cheap.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { type Model, type Property, StateCache, type Transition } from "./explorer.ts";
import { type ClusterAction, createClusterModel } from "./cluster_model.ts";
import type { ClusterModelState } from "./cluster_types.ts";
import type { RunSpec } from "./runs.ts";
import { startOf } from "./warm_start.ts";
import { SharedSearch, type SharedSearchBuffers } from "./shared_search.ts";

/** The first message: what to explore and where the shared memory is. */
export interface WorkerSetup {
  readonly kind: "setup";
  readonly spec: RunSpec;
  readonly symmetry: boolean;
  readonly stopOnViolation: boolean;
  readonly buffers: SharedSearchBuffers;
}

/** One level's slice: expand these states (all at `depth`). */
export interface WorkerLevel {
  readonly kind: "level";
  readonly depth: number;
  readonly numbers: Int32Array;
}

/** A property found violated or witnessed at a state (by its place in the model's list). */
export interface StateFinding {
  readonly property: number;
  readonly number: number;
  readonly message: string;
}

/** What a level's slice produced. */
export interface LevelResult {
  /** New states to expand next, in the order found. */
  readonly next: Int32Array;
  readonly transitions: number;
  /** New states found (the next level's, those at the depth bound and those outside the boundary). */
  readonly added: number;
  /** New states at the depth bound (found, checked, never expanded). */
  readonly atDepthBound: number;
  readonly violations: readonly StateFinding[];
  readonly witnesses: readonly StateFinding[];
}

/** Growable list of state numbers. */
class NumberList {
  #values = new Int32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.#values.length) {
      const larger = new Int32Array(this.#values.length * 2);
      larger.set(this.#values);
      this.#values = larger;
    }
    this.#values[this.length++] = value;
  }

  take(): Int32Array {
    return this.#values.slice(0, this.length);
  }
}

/** One worker's search: the model, the shared memory, and what it has found so far. */
class WorkerSearch {
  readonly model: Model<ClusterModelState, ClusterAction>;
  readonly shared: SharedSearch;
  readonly cache: StateCache<ClusterModelState, ClusterAction>;
  /** Properties this worker saw violated or witnessed (each reported once). */
  readonly #reported = new Set<number>();

  constructor(readonly setup: WorkerSetup) {
    const spec = setup.spec;
    this.model = createClusterModel(spec.options, startOf(spec.options, spec.scenario).state);
    this.shared = SharedSearch.attach(setup.buffers);
    this.cache = new StateCache(
      this.model,
      this.shared,
      (state) => this.shared.get(this.model.fingerprint(state, setup.symmetry)),
    );
  }

  /** Expands the states of one level's slice. */
  expandLevel(level: WorkerLevel): LevelResult {
    const next = new NumberList();
    const found = { violations: [] as StateFinding[], witnesses: [] as StateFinding[] };
    let transitions = 0;
    let added = 0;
    let atDepthBound = 0;
    const childDepth = level.depth + 1;
    const maxDepth = this.setup.spec.maxDepth;
    for (const number of level.numbers) {
      if (this.shared.stopped) break;
      const state = this.cache.rebuild(number);
      const actions = this.cache.actionsOf(state, level.depth);
      for (let index = 0; index < actions.length && !this.shared.stopped; index++) {
        const action = actions[index]!;
        transitions++;
        const child = this.model.nextState(state, action);
        const fingerprint = this.model.fingerprint(child, this.setup.symmetry);
        const childNumber = this.shared.insert(fingerprint, number, index, childDepth);
        if (childNumber < 0) continue;
        added++;
        this.#check(child, childNumber, { state, action }, found);
        if (childDepth >= maxDepth) atDepthBound++;
        else if (this.model.withinBoundary(child)) next.push(childNumber);
      }
    }
    return { next: next.take(), transitions, added, atDepthBound, ...found };
  }

  /** Checks a new state as the sequential explorer does when it first reaches one. */
  #check(
    state: ClusterModelState,
    number: number,
    previous: Transition<ClusterModelState, ClusterAction>,
    found: { violations: StateFinding[]; witnesses: StateFinding[] },
  ): void {
    const properties: readonly Property<ClusterModelState, ClusterAction>[] = this.model.properties;
    for (let property = 0; property < properties.length; property++) {
      if (this.#reported.has(property)) continue;
      const checked = properties[property]!;
      if (checked.kind === "always") {
        const message = checked.check(state, previous);
        if (message === null) continue;
        this.#reported.add(property);
        found.violations.push({ property, number, message });
        if (this.setup.stopOnViolation) this.shared.stop();
      } else if (checked.kind === "sometimes" && checked.holds(state)) {
        this.#reported.add(property);
        found.witnesses.push({ property, number, message: "witness" });
      }
    }
  }
}

let search: WorkerSearch | null = null;

self.onmessage = (event: MessageEvent<WorkerSetup | WorkerLevel>) => {
  try {
    const message = event.data;
    if (message.kind === "setup") {
      search = new WorkerSearch(message);
      self.postMessage({ ready: true });
      return;
    }
    if (search === null) throw new Error("parallel worker: a level before the setup");
    const result = search.expandLevel(message);
    self.postMessage({ result }, [result.next.buffer as ArrayBuffer]);
  } catch (error) {
    self.postMessage({
      error: error instanceof Error ? error.stack ?? error.message : String(error),
    });
  }
};
