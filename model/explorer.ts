/**
 * A generic explicit-state model checker: breadth-first (or depth-first) search over the
 * states of a {@link Model}, deduplicated by 64-bit fingerprints of canonical encodings,
 * bounded by depth and state count, checking three kinds of property:
 *
 * - always: must hold in every reached state (and transition); a failure is a counterexample;
 * - sometimes: must hold in at least one reached state (non-vacuity); the first state where
 *   it holds is kept as a witness, and none found is a failure;
 * - eventually: must hold somewhere on every path that ends in a state with no enabled
 *   action. With deduplication the path of a revisited state is the first one found, so
 *   this is checked along the recorded paths only (the usual approximation).
 *
 * Counterexamples are lists of chosen actions, rebuilt by replaying from an initial state;
 * a replay that does not reach the recorded fingerprints reports non-determinism.
 *
 * @module
 */
import { type Fingerprint, FingerprintTable } from "./fingerprint.ts";

/** A property of a model's states (and, for `always`, of the transition into them). */
export type Property<State, Action> =
  | {
    readonly kind: "always";
    readonly name: string;
    /** Null when the property holds, else what is wrong. `previous` is null for initial states. */
    readonly check: (state: State, previous: Transition<State, Action> | null) => string | null;
  }
  | {
    readonly kind: "sometimes" | "eventually";
    readonly name: string;
    readonly holds: (state: State) => boolean;
  };

/** The step that led into a state. */
export interface Transition<State, Action> {
  readonly state: State;
  readonly action: Action;
}

/** What the explorer needs from a model. `nextState` must be a pure, deterministic function. */
export interface Model<State, Action> {
  readonly name: string;
  initialStates(): readonly State[];
  /** Enabled actions, in a deterministic order. */
  actions(state: State): readonly Action[];
  nextState(state: State, action: Action): State;
  /** Canonical fingerprint; equal fingerprints must mean equal futures. Symmetry-reduced when asked. */
  fingerprint(state: State, symmetry: boolean): Fingerprint;
  /** States outside the boundary are checked but not expanded. */
  withinBoundary(state: State): boolean;
  /** Stable text naming an action (used to match actions when replaying a saved trace). */
  describeAction(action: Action): string;
  /** What changed in a step, for a readable trace. */
  describeTransition(before: State, action: Action, after: State): string;
  readonly properties: readonly Property<State, Action>[];
}

/** Exploration settings. */
export interface ExploreOptions {
  readonly strategy: "bfs" | "dfs";
  /** Actions on a path from an initial state; states at this depth are not expanded. */
  readonly maxDepth: number;
  /** Stop (incomplete) after this many distinct states. */
  readonly maxStates: number;
  readonly symmetry: boolean;
  /** Stop at the first always/eventually violation (true) or collect one per property. */
  readonly stopOnViolation: boolean;
  /** Progress line interval; 0 disables progress. */
  readonly progressIntervalMs: number;
  readonly progress: (line: string) => void;
}

/** A path of actions from an initial state, with why it matters. */
export interface Counterexample<Action> {
  readonly property: string;
  readonly kind: Property<unknown, unknown>["kind"];
  readonly message: string;
  /** Index of the initial state the path starts from. */
  readonly initialState: number;
  readonly actions: readonly Action[];
}

/** The outcome of one exploration. */
export interface ExplorationReport<Action> {
  readonly model: string;
  readonly states: number;
  readonly transitions: number;
  readonly maxDepthReached: number;
  readonly seconds: number;
  /** True when every state within the depth bound was expanded (the state cap was not hit). */
  readonly complete: boolean;
  /** True when some state was left unexpanded because of the depth bound. */
  readonly depthBounded: boolean;
  readonly violations: readonly Counterexample<Action>[];
  readonly witnesses: readonly {
    readonly property: string;
    readonly witness: Counterexample<Action> | null;
  }[];
}

/** Raised when replaying recorded actions does not reproduce the recorded states. */
export class NonDeterminismError extends Error {
  override readonly name = "NonDeterminismError";
}

/** Defaults: BFS, symmetry on, progress every 5 s on stderr. */
export function defaultExploreOptions(overrides: Partial<ExploreOptions> = {}): ExploreOptions {
  return {
    strategy: "bfs",
    maxDepth: 20,
    maxStates: 1_000_000,
    symmetry: true,
    stopOnViolation: true,
    progressIntervalMs: 5000,
    progress: (line) => console.error(line),
    ...overrides,
  };
}

/** Explores `model` within the bounds of `options`. */
export function explore<State, Action>(
  model: Model<State, Action>,
  options: ExploreOptions,
): ExplorationReport<Action> {
  const search = new Search(model, options);
  if (options.strategy === "bfs") search.breadthFirst();
  else search.depthFirst();
  return search.report();
}

/** Per-state parent links, as the state cache reads them (growable here, shared by workers elsewhere). */
export interface StateLinks {
  readonly parent: Int32Array;
  readonly actionIndex: Int32Array;
  readonly depth: Int32Array;
  /** States recorded (a bound on any path's length). */
  readonly count: number;
}

/** Growable typed arrays of per-state search data (parent links for path rebuilding). */
class StateRecords implements StateLinks {
  parent: Int32Array = new Int32Array(1 << 16);
  actionIndex: Int32Array = new Int32Array(1 << 16);
  depth: Int32Array = new Int32Array(1 << 16);
  count = 0;

  add(parent: number, actionIndex: number, depth: number): number {
    if (this.count === this.parent.length) {
      this.parent = grow(this.parent);
      this.actionIndex = grow(this.actionIndex);
      this.depth = grow(this.depth);
    }
    this.parent[this.count] = parent;
    this.actionIndex[this.count] = actionIndex;
    this.depth[this.count] = depth;
    return this.count++;
  }

  /**
   * The path to `state`: action indexes (the first is the initial state's index) and the
   * state numbers along it.
   */
  path(state: number): { indexes: number[]; numbers: number[] } {
    return pathOf(this, state);
  }
}

/**
 * The path to `state` in `links`: action indexes (the first is the initial state's index)
 * and the state numbers along it.
 */
export function pathOf(links: StateLinks, state: number): { indexes: number[]; numbers: number[] } {
  const indexes: number[] = [];
  const numbers: number[] = [];
  for (let current = state; current >= 0; current = links.parent[current] ?? -1) {
    indexes.push(links.actionIndex[current] ?? 0);
    numbers.push(current);
    if (indexes.length > links.count) throw new Error("explorer: cycle in parent links");
  }
  return { indexes: indexes.reverse(), numbers: numbers.reverse() };
}

function grow(array: Int32Array): Int32Array {
  const larger = new Int32Array(array.length * 2);
  larger.set(array);
  return larger;
}

/** One BFS level: state numbers and their eventually-bits, in growable typed arrays. */
class FrontierLevel {
  numbers: Int32Array = new Int32Array(1024);
  bits: Int32Array = new Int32Array(1024);
  length = 0;

  push(number: number, eventuallyBits: number): void {
    if (this.length === this.numbers.length) {
      this.numbers = grow(this.numbers);
      this.bits = grow(this.bits);
    }
    this.numbers[this.length] = number;
    this.bits[this.length] = eventuallyBits;
    this.length++;
  }
}

/** Every this many rebuilt states, one is checked against its recorded fingerprint. */
const REBUILD_CHECK_INTERVAL = 1024;

/**
 * Rebuilds a state from its number by replaying the recorded parent links, keeping the last
 * state rebuilt at each depth. BFS expands a level in the order it was generated, so the
 * children of one parent are consecutive: a rebuild is one `nextState` from the cached
 * parent, and an ancestor is rebuilt once per run of descendants (about 1 + 1/b + 1/b^2
 * steps per state for branching factor b). The rebuilt state is the one first visited
 * (`nextState` is deterministic); a sample of rebuilds is checked against the table.
 */
export class StateCache<State, Action> {
  readonly #numbers: number[] = [];
  readonly #states: State[] = [];
  /** Enabled actions of the cached state at each depth, once asked. */
  readonly #actions: (readonly Action[] | undefined)[] = [];
  #rebuilds = 0;

  constructor(
    readonly model: Model<State, Action>,
    readonly records: StateLinks,
    /** The state number the table holds for a state's fingerprint. */
    readonly lookup: (state: State) => number,
  ) {}

  /** The state recorded as `number`. */
  rebuild(number: number): State {
    const chain: number[] = [];
    let current = number;
    while (current >= 0 && this.#numbers[this.records.depth[current]!] !== current) {
      chain.push(current);
      current = this.records.parent[current]!;
      if (chain.length > this.records.count) throw new Error("explorer: cycle in parent links");
    }
    let state = current >= 0 ? this.#states[this.records.depth[current]!] : undefined;
    for (let link = chain.length - 1; link >= 0; link--) {
      const step = chain[link]!;
      state = this.#step(state, step);
      const depth = this.records.depth[step]!;
      this.#numbers[depth] = step;
      this.#states[depth] = state;
      this.#actions[depth] = undefined;
    }
    if (state === undefined) throw new Error(`explorer: state #${number} cannot be rebuilt`);
    if (chain.length > 0 && this.#rebuilds++ % REBUILD_CHECK_INTERVAL === 0) {
      const found = this.lookup(state);
      if (found !== number) {
        throw new NonDeterminismError(
          `rebuilding state #${number} of ${this.model.name} reached state #${found}; ` +
            `nextState or actions is not deterministic`,
        );
      }
    }
    return state;
  }

  /** The enabled actions of `state`, computed once while it is the cached state at `depth`. */
  actionsOf(state: State, depth: number): readonly Action[] {
    if (this.#states[depth] !== state) return this.model.actions(state);
    let actions = this.#actions[depth];
    if (actions === undefined) {
      actions = this.model.actions(state);
      this.#actions[depth] = actions;
    }
    return actions;
  }

  /** The state `number` from its parent's state (undefined: `number` is an initial state). */
  #step(parent: State | undefined, number: number): State {
    const index = this.records.actionIndex[number]!;
    if (parent === undefined || this.records.parent[number]! < 0) {
      const initial = this.model.initialStates()[index];
      if (initial === undefined) throw new Error(`explorer: no initial state #${index}`);
      return initial;
    }
    const action = this.actionsOf(parent, this.records.depth[number]! - 1)[index];
    if (action === undefined) {
      throw new NonDeterminismError(
        `rebuilding state #${number} of ${this.model.name}: action #${index} is not enabled`,
      );
    }
    return this.model.nextState(parent, action);
  }
}

/** One entry of the search frontier (or DFS stack). */
interface Node<State> {
  readonly state: State;
  readonly number: number;
  readonly depth: number;
  /** Bit i set: eventually-property i held somewhere on the path here. */
  readonly eventuallyBits: number;
}

/** At most 30 eventually-properties (bits of a small integer). */
const MAX_EVENTUALLY_PROPERTIES = 30;

/** The state of one exploration. */
class Search<State, Action> {
  readonly #table = new FingerprintTable();
  readonly #records = new StateRecords();
  readonly #states: StateCache<State, Action>;
  readonly #violations: Counterexample<Action>[] = [];
  readonly #violated = new Set<string>();
  readonly #witnesses = new Map<string, Counterexample<Action> | null>();
  readonly #eventually: { name: string; holds: (state: State) => boolean }[];
  readonly #started = performance.now();
  #lastProgress = performance.now();
  #transitions = 0;
  #maxDepthReached = 0;
  #capped = false;
  #depthBounded = false;
  #frontierSize = 0;

  constructor(readonly model: Model<State, Action>, readonly options: ExploreOptions) {
    this.#states = new StateCache(
      model,
      this.#records,
      (state) => this.#table.get(model.fingerprint(state, options.symmetry)),
    );
    this.#eventually = [];
    for (const property of model.properties) {
      if (property.kind === "sometimes") this.#witnesses.set(property.name, null);
      if (property.kind === "eventually") this.#eventually.push(property);
    }
    if (this.#eventually.length > MAX_EVENTUALLY_PROPERTIES) {
      throw new Error(`explorer: at most ${MAX_EVENTUALLY_PROPERTIES} eventually-properties`);
    }
  }

  /**
   * Level by level. A frontier entry is a state number and its eventually-bits (8 bytes),
   * not a state: the state is rebuilt from its parent link when it is expanded (see
   * {@link StateCache}), so memory per visited state is a few dozen bytes of typed arrays.
   */
  breadthFirst(): void {
    let frontier = new FrontierLevel();
    for (const node of this.#initialNodes()) frontier.push(node.number, node.eventuallyBits);
    for (let depth = 0; frontier.length > 0 && !this.#done(); depth++) {
      if (depth >= this.options.maxDepth) {
        // The last level is never expanded, so never rebuilt (it is the largest one).
        this.#depthBounded = true;
        break;
      }
      const next = new FrontierLevel();
      const accept = (child: Node<State>) => {
        // A state outside the boundary is checked, not expanded: no need to rebuild it.
        if (child.depth < this.options.maxDepth && !this.model.withinBoundary(child.state)) return;
        next.push(child.number, child.eventuallyBits);
      };
      this.#frontierSize = frontier.length;
      for (let entry = 0; entry < frontier.length; entry++) {
        if (this.#done()) break;
        const number = frontier.numbers[entry]!;
        const state = this.#states.rebuild(number);
        this.#expand({ state, number, depth, eventuallyBits: frontier.bits[entry]! }, accept);
        this.#frontierSize--;
      }
      frontier = next;
    }
  }

  /** Depth-first with revisits when a state is reached by a shorter path (keeps it complete). */
  depthFirst(): void {
    const stack: { node: Node<State>; children: Node<State>[] | null }[] = [];
    for (const node of this.#initialNodes().reverse()) stack.push({ node, children: null });
    while (stack.length > 0 && !this.#done()) {
      const top = stack[stack.length - 1];
      if (top === undefined) break;
      if (top.children === null) {
        const children: Node<State>[] = [];
        this.#expand(top.node, (child) => children.push(child));
        top.children = children.reverse();
      }
      const child = top.children.pop();
      if (child === undefined) stack.pop();
      else stack.push({ node: child, children: null });
      this.#frontierSize = stack.length;
    }
  }

  report(): ExplorationReport<Action> {
    const witnesses = [...this.#witnesses].map(([property, witness]) => ({ property, witness }));
    return {
      model: this.model.name,
      states: this.#table.size,
      transitions: this.#transitions,
      maxDepthReached: this.#maxDepthReached,
      seconds: (performance.now() - this.#started) / 1000,
      complete: !this.#capped && !(this.options.stopOnViolation && this.#violations.length > 0),
      depthBounded: this.#depthBounded,
      violations: this.#violations,
      witnesses,
    };
  }

  #done(): boolean {
    return this.#capped || (this.options.stopOnViolation && this.#violations.length > 0);
  }

  #initialNodes(): Node<State>[] {
    const nodes: Node<State>[] = [];
    this.model.initialStates().forEach((state, index) => {
      const node = this.#visit(state, -1, index, 0, 0, null);
      if (node !== null) nodes.push(node);
    });
    return nodes;
  }

  /** Generates the successors of `node`, handing new (or shorter-path) ones to `accept`. */
  #expand(node: Node<State>, accept: (child: Node<State>) => void): void {
    if (node.depth >= this.options.maxDepth || !this.model.withinBoundary(node.state)) {
      if (node.depth >= this.options.maxDepth) this.#depthBounded = true;
      return;
    }
    const actions = this.#states.actionsOf(node.state, node.depth);
    if (actions.length === 0) this.#checkEventually(node);
    actions.forEach((action, index) => {
      if (this.#done()) return;
      this.#transitions++;
      const next = this.model.nextState(node.state, action);
      const child = this.#visit(next, node.number, index, node.depth + 1, node.eventuallyBits, {
        state: node.state,
        action,
      });
      if (child !== null) accept(child);
    });
    this.#maybeProgress();
  }

  /** Records a reached state; returns a node to expand, or null when already seen closer. */
  #visit(
    state: State,
    parent: number,
    actionIndex: number,
    depth: number,
    parentBits: number,
    previous: Transition<State, Action> | null,
  ): Node<State> | null {
    const fingerprint = this.model.fingerprint(state, this.options.symmetry);
    const known = this.#table.get(fingerprint);
    if (known >= 0 && (this.#records.depth[known] ?? 0) <= depth) return null;
    let number: number;
    if (known >= 0) {
      number = known;
      this.#records.parent[known] = parent;
      this.#records.actionIndex[known] = actionIndex;
      this.#records.depth[known] = depth;
    } else {
      number = this.#records.add(parent, actionIndex, depth);
      this.#table.insert(fingerprint, number);
      if (this.#table.size >= this.options.maxStates) this.#capped = true;
    }
    this.#maxDepthReached = Math.max(this.#maxDepthReached, depth);
    this.#checkState(state, number, previous);
    return { state, number, depth, eventuallyBits: parentBits | this.#eventuallyBits(state) };
  }

  #checkState(state: State, number: number, previous: Transition<State, Action> | null): void {
    for (const property of this.model.properties) {
      if (property.kind === "always") {
        if (this.#violated.has(property.name)) continue;
        const problem = property.check(state, previous);
        if (problem !== null) this.#record(property.name, "always", problem, number);
      } else if (property.kind === "sometimes" && this.#witnesses.get(property.name) === null) {
        if (property.holds(state)) {
          this.#witnesses.set(
            property.name,
            this.#counterexample(property.name, "sometimes", "witness", number),
          );
        }
      }
    }
  }

  #eventuallyBits(state: State): number {
    let bits = 0;
    this.#eventually.forEach((property, index) => {
      if (property.holds(state)) bits |= 1 << index;
    });
    return bits;
  }

  /** A state with no enabled action ends its path: every eventually-property must have held. */
  #checkEventually(node: Node<State>): void {
    this.#eventually.forEach((property, index) => {
      if ((node.eventuallyBits & (1 << index)) !== 0 || this.#violated.has(property.name)) return;
      this.#record(
        property.name,
        "eventually",
        "a path ended without it ever holding",
        node.number,
      );
    });
  }

  #record(property: string, kind: "always" | "eventually", message: string, number: number): void {
    this.#violated.add(property);
    this.#violations.push(this.#counterexample(property, kind, message, number));
  }

  #counterexample(
    property: string,
    kind: Property<State, Action>["kind"],
    message: string,
    number: number,
  ): Counterexample<Action> {
    const { indexes, numbers } = this.#records.path(number);
    const rebuilt = replayIndexes(this.model, indexes, numbers, this.options.symmetry, this.#table);
    return { property, kind, message, initialState: indexes[0] ?? 0, actions: rebuilt };
  }

  #maybeProgress(): void {
    if (this.options.progressIntervalMs <= 0) return;
    const now = performance.now();
    if (now - this.#lastProgress < this.options.progressIntervalMs) return;
    this.#lastProgress = now;
    const seconds = (now - this.#started) / 1000;
    const memoryMb = Math.round(Deno.memoryUsage().rss / 1e6);
    this.options.progress(
      `  [${this.model.name}] ${this.#table.size} states, depth ${this.#maxDepthReached}, ` +
        `${
          Math.round(this.#table.size / seconds)
        } states/s, frontier ${this.#frontierSize}, ${memoryMb} MB`,
    );
  }
}

/**
 * Rebuilds the actions of a recorded path by replaying it, checking at each step that the
 * state reached has the fingerprint recorded for it.
 */
export function replayIndexes<State, Action>(
  model: Model<State, Action>,
  indexes: readonly number[],
  numbers: readonly number[],
  symmetry: boolean,
  table: { get(fingerprint: Fingerprint): number },
): Action[] {
  const initial = model.initialStates()[indexes[0] ?? 0];
  if (initial === undefined) {
    throw new NonDeterminismError(`replay: initial state ${indexes[0]} is gone`);
  }
  let state: State = initial;
  const actions: Action[] = [];
  for (let step = 1; step < indexes.length; step++) {
    const enabled = model.actions(state);
    const action = enabled[indexes[step] ?? -1];
    if (action === undefined) {
      throw new NonDeterminismError(
        `replay of ${model.name} diverged at step ${step}: action #${
          indexes[step]
        } of ${enabled.length} enabled`,
      );
    }
    actions.push(action);
    state = model.nextState(state, action);
    const reached = table.get(model.fingerprint(state, symmetry));
    if (reached !== numbers[step]) {
      throw new NonDeterminismError(
        `replay of ${model.name} diverged at step ${step} (${model.describeAction(action)}): ` +
          `reached state #${reached}, recorded #${
            numbers[step]
          }; nextState or actions is not deterministic`,
      );
    }
  }
  return actions;
}

/** The states along a counterexample, from its initial state, matching actions by description. */
export function replayCounterexample<State, Action>(
  model: Model<State, Action>,
  initialState: number,
  actions: readonly { readonly description: string }[] | readonly Action[],
): State[] {
  const initial = model.initialStates()[initialState];
  if (initial === undefined) {
    throw new NonDeterminismError(`replay: no initial state #${initialState}`);
  }
  const states: State[] = [initial];
  let state: State = initial;
  actions.forEach((recorded, step) => {
    const wanted = typeof recorded === "object" && recorded !== null && "description" in recorded
      ? String((recorded as { description: string }).description)
      : model.describeAction(recorded as Action);
    const action = model.actions(state).find((candidate) =>
      model.describeAction(candidate) === wanted
    );
    if (action === undefined) {
      throw new NonDeterminismError(
        `replay of ${model.name} diverged at step ${step + 1}: "${wanted}" is not enabled there`,
      );
    }
    state = model.nextState(state, action);
    states.push(state);
  });
  return states;
}

/** A readable trace: one line per step naming the action and what changed. */
export function formatTrace<State, Action>(
  model: Model<State, Action>,
  counterexample: Counterexample<Action>,
): string {
  const states = replayCounterexample(model, counterexample.initialState, counterexample.actions);
  const lines = [`${counterexample.kind} "${counterexample.property}": ${counterexample.message}`];
  counterexample.actions.forEach((action, step) => {
    const before = states[step];
    const after = states[step + 1];
    if (before === undefined || after === undefined) return;
    const detail = model.describeTransition(before, action, after);
    lines.push(
      `  ${String(step + 1).padStart(3)}. ${model.describeAction(action)}${
        detail ? `  ${detail}` : ""
      }`,
    );
  });
  return lines.join("\n");
}
