// Proves the generic explorer counts states exactly, finds a planted bug by its shortest
// path, detects non-determinism on replay, and that symmetry reduction merges exactly the
// states that differ by a renaming of nodes.
import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import {
  defaultExploreOptions,
  explore,
  formatTrace,
  type Model,
  NonDeterminismError,
  type Property,
  replayCounterexample,
} from "../../model/explorer.ts";
import { allRenamings, canonicalFingerprint, type NodeSymmetry } from "../../model/symmetry.ts";
import { compareFingerprints, fingerprintOf, FingerprintTable } from "../../model/fingerprint.ts";

/** N counters, each 0..limit-1; a counter may also point at another counter (to test renaming). */
interface ToyState {
  readonly counters: readonly number[];
  /** For each counter, the index of a counter it "follows", or -1. */
  readonly follows: readonly number[];
}
type ToyAction = { readonly kind: "increment" | "follow-next"; readonly node: number };

function toySymmetry(): NodeSymmetry<ToyState> {
  return {
    nodeCount: (state) => state.counters.length,
    signature: (state, node) =>
      fingerprintOf(`${state.counters[node]}:${state.follows[node] === -1 ? "-" : "f"}`),
    fingerprint: (state, rename) => fingerprintOf(encodeRenamed(state, rename)),
  };
}

/** The toy state as text with node `old` renamed to `rename[old]`. */
function encodeRenamed(state: ToyState, rename: readonly number[]): string {
  {
    const slots: string[] = new Array(state.counters.length);
    state.counters.forEach((value, old) => {
      const follow = state.follows[old] ?? -1;
      slots[rename[old] ?? 0] = `${value}>${follow === -1 ? -1 : rename[follow]}`;
    });
    return slots.join(",");
  }
}

function toyModel(
  nodes: number,
  limit: number,
  properties: Property<ToyState, ToyAction>[],
  options: { withFollow?: boolean; nondeterministic?: boolean } = {},
): Model<ToyState, ToyAction> {
  const symmetry = toySymmetry();
  let calls = 0;
  return {
    name: `toy-${nodes}x${limit}`,
    initialStates:
      () => [{ counters: new Array(nodes).fill(0), follows: new Array(nodes).fill(-1) }],
    actions: (state) => {
      const actions: ToyAction[] = [];
      state.counters.forEach((value, node) => {
        if (value < limit - 1) actions.push({ kind: "increment", node });
        if (options.withFollow && state.follows[node] === -1) {
          actions.push({ kind: "follow-next", node });
        }
      });
      return actions;
    },
    nextState: (state, action) => {
      const counters = [...state.counters];
      const follows = [...state.follows];
      if (action.kind === "increment") {
        // The non-deterministic variant sometimes increments by two: replay must notice.
        const step = options.nondeterministic && calls++ % 7 === 3 ? 2 : 1;
        counters[action.node] = Math.min(limit - 1, (counters[action.node] ?? 0) + step);
      } else follows[action.node] = (action.node + 1) % nodes;
      return { counters, follows };
    },
    fingerprint: (state, useSymmetry) => canonicalFingerprint(symmetry, state, useSymmetry),
    withinBoundary: () => true,
    describeAction: (action) => `${action.kind} ${action.node}`,
    describeTransition: (_before, _action, after) => `counters=${after.counters.join(",")}`,
    properties,
  };
}

const quiet = { progressIntervalMs: 0, maxDepth: 100 };

Deno.test("explorer counts every state of a small known system exactly", () => {
  for (const [nodes, limit] of [[2, 3], [3, 4], [4, 2]] as const) {
    const report = explore(
      toyModel(nodes, limit, []),
      defaultExploreOptions({ ...quiet, symmetry: false }),
    );
    assertEquals(report.states, limit ** nodes);
    assert(report.complete);
    assertEquals(report.maxDepthReached, nodes * (limit - 1));
  }
});

Deno.test("symmetry reduction visits one state per multiset of counters", () => {
  // Without symmetry 4^3 = 64 states; counters are interchangeable, so multisets: C(4+3-1, 3) = 20.
  const report = explore(toyModel(3, 4, []), defaultExploreOptions({ ...quiet, symmetry: true }));
  assertEquals(report.states, 20);
});

Deno.test("symmetry renames node references too: states differing by a renaming share a canonical form", () => {
  const symmetry = toySymmetry();
  const state: ToyState = { counters: [1, 1, 0], follows: [1, -1, 0] };
  const canonical = canonicalFingerprint(symmetry, state, true);
  for (const order of allRenamings(3)) {
    // order[new] = old: build the renamed state.
    const rename = new Array<number>(3);
    order.forEach((old, position) => rename[old] = position);
    const renamed: ToyState = {
      counters: order.map((old) => state.counters[old] ?? 0),
      follows: order.map((old) => {
        const follow = state.follows[old] ?? -1;
        return follow === -1 ? -1 : rename[follow] ?? -1;
      }),
    };
    assertEquals(canonicalFingerprint(symmetry, renamed, true), canonical);
  }
  // A state that is not a renaming must differ.
  const other = canonicalFingerprint(symmetry, { counters: [1, 1, 0], follows: [2, -1, 0] }, true);
  assert(compareFingerprints(other, canonical) !== 0);
});

Deno.test("symmetry with references reduces states but never below the true orbit count", () => {
  const plain = explore(
    toyModel(3, 2, [], { withFollow: true }),
    defaultExploreOptions({ ...quiet, symmetry: false }),
  );
  const reduced = explore(
    toyModel(3, 2, [], { withFollow: true }),
    defaultExploreOptions({ ...quiet, symmetry: true }),
  );
  assertEquals(plain.states, 64); // 2^3 counter values x 2^3 follow flags
  assert(reduced.states < plain.states && reduced.states >= plain.states / 6, `${reduced.states}`);
});

Deno.test("a planted bug is found by its shortest path and replays to the violating state", () => {
  const bug: Property<ToyState, ToyAction> = {
    kind: "always",
    name: "sum below 5",
    check: (state) => state.counters.reduce((a, b) => a + b, 0) < 5 ? null : "sum reached 5",
  };
  const model = toyModel(3, 4, [bug]);
  const report = explore(model, defaultExploreOptions(quiet));
  assertEquals(report.violations.length, 1);
  const counterexample = report.violations[0]!;
  assertEquals(counterexample.actions.length, 5); // BFS: shortest
  const states = replayCounterexample(model, 0, counterexample.actions);
  assertEquals(states[states.length - 1]!.counters.reduce((a, b) => a + b, 0), 5);
  assert(formatTrace(model, counterexample).includes("sum below 5"));
  // The same bug is found depth-first too (not necessarily shortest).
  const deep = explore(model, defaultExploreOptions({ ...quiet, strategy: "dfs" }));
  assertEquals(deep.violations[0]?.property, "sum below 5");
});

Deno.test("depth-first search with revisits visits the same states as breadth-first", () => {
  const model = toyModel(3, 3, [], { withFollow: true });
  const bfs = explore(model, defaultExploreOptions({ ...quiet, maxDepth: 4, symmetry: false }));
  const dfs = explore(
    model,
    defaultExploreOptions({ ...quiet, maxDepth: 4, symmetry: false, strategy: "dfs" }),
  );
  assertEquals(dfs.states, bfs.states);
});

Deno.test("sometimes-properties report a witness or fail as vacuous; eventually catches a dead end", () => {
  const properties: Property<ToyState, ToyAction>[] = [
    {
      kind: "sometimes",
      name: "all at top",
      holds: (state) => state.counters.every((value) => value === 2),
    },
    { kind: "sometimes", name: "impossible", holds: (state) => (state.counters[0] ?? 0) > 5 },
    {
      kind: "eventually",
      name: "first counter moves",
      holds: (state) => (state.counters[0] ?? 0) > 0,
    },
  ];
  const report = explore(
    toyModel(2, 3, properties),
    defaultExploreOptions({ ...quiet, symmetry: false }),
  );
  assertEquals(
    report.witnesses.find((w) => w.property === "all at top")?.witness?.actions.length,
    4,
  );
  assertEquals(report.witnesses.find((w) => w.property === "impossible")?.witness, null);
  // Every path ends at (2,2), and counter 0 has moved on all of them: no violation.
  assertEquals(report.violations.length, 0);
  const stuck: Property<ToyState, ToyAction>[] = [
    { kind: "eventually", name: "reaches 3", holds: (state) => (state.counters[0] ?? 0) === 3 },
  ];
  const failed = explore(
    toyModel(2, 3, stuck),
    defaultExploreOptions({ ...quiet, symmetry: false }),
  );
  assertEquals(failed.violations[0]?.kind, "eventually");
});

Deno.test("state and depth bounds stop the search and say so", () => {
  const capped = explore(
    toyModel(3, 4, []),
    defaultExploreOptions({ ...quiet, symmetry: false, maxStates: 10 }),
  );
  assertEquals(capped.states, 10);
  assert(!capped.complete);
  const shallow = explore(
    toyModel(3, 4, []),
    defaultExploreOptions({ ...quiet, symmetry: false, maxDepth: 1 }),
  );
  assertEquals(shallow.states, 4);
  assert(shallow.depthBounded);
});

Deno.test("a model whose nextState is not deterministic is reported on replay", () => {
  const bug: Property<ToyState, ToyAction> = {
    kind: "always",
    name: "sum below 6",
    check: (state) => state.counters.reduce((a, b) => a + b, 0) < 6 ? null : "sum reached 6",
  };
  const model = toyModel(3, 4, [bug], { nondeterministic: true });
  assertThrows(
    () => explore(model, defaultExploreOptions({ ...quiet, symmetry: false })),
    NonDeterminismError,
  );
});

Deno.test("fingerprint table stores and finds 200,000 fingerprints without loss", () => {
  const table = new FingerprintTable();
  const count = 200_000;
  for (let index = 0; index < count; index++) {
    assert(table.insert(fingerprintOf(`state-${index}`), index));
  }
  assertEquals(table.size, count);
  for (let index = 0; index < count; index += 997) {
    assertEquals(table.get(fingerprintOf(`state-${index}`)), index);
  }
  assertEquals(table.get(fingerprintOf("never inserted")), -1);
  assert(!table.insert(fingerprintOf("state-5"), 1));
});
