// Proves, with long seeded random walks over the cluster model's own actions (the same
// environment, real core and invariants as `deno task model-check`, hundreds of actions deep,
// bounds wider than the exhaustive ones: test/model/random_walk.ts), that:
// - every always-invariant holds on every state of HACTL_PROPERTY_RUNS walks (default 250) at
//   N=3 and at N=5 from the cold start, with crashes, drops, duplicates, cut-off nodes, writes,
//   kv proposals, an operator request, lagging observations; the fast-check seed is printed
//   and HACTL_PROPERTY_SEED=<seed> replays every walk exactly;
// - a walk seed replays to the same final fingerprint, and another seed gives another walk;
// - L1: after a random fault schedule, the fair fault-free continuation reaches a writable
//   primary within the model's liveness bound, at N=3 and N=5;
// - a crashed primary is replaced by a writable primary on another node, the old one down;
// - the walks can fail: with keepWritingWithoutMajority, skipLeaseWait (and the receiver
//   rule off) or voteIgnoresPosition, a bounded search finds the invariant each must break.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import { decidePostgresRole, type FaultSwitches, NO_FAULTS } from "../../src/core/mod.ts";
import { applyAction, coldStartState, createClusterModel } from "../../model/cluster_model.ts";
import type { ClusterModelOptions, ClusterModelState } from "../../model/cluster_types.ts";
import { INVARIANTS } from "../../model/invariants.ts";
import { livenessBoundTicks, ticksToWritablePrimary } from "../../model/liveness.ts";
import { isWritable } from "../../model/postgres_model.ts";
import { atLeastAsUpToDate, isWalPrefix } from "../../model/spec.ts";
import {
  describeFailure,
  maxLogEntriesOf,
  observationLagOf,
  randomWalk,
  walkBounds,
  walkContext,
  walkOptions,
  type WalkParameters,
} from "./random_walk.ts";

/** Walks per node count: 250 at N=3 and at N=5 take 12 s on a quiet 2-core machine, 35 s loaded. */
const RUNS = Number(Deno.env.get("HACTL_PROPERTY_RUNS") ?? "250");
const SEED = Number(Deno.env.get("HACTL_PROPERTY_SEED") ?? Date.now() % 1_000_000_000);
/** Actions per walk: a dozen elections' worth, far past the exhaustive depth of 5 to 7. */
const WALK_STEPS = 400;
/**
 * Below this many walks a run may miss a rare non-vacuity property by chance (InstallSnapshot,
 * the rarest, comes in about 6 % of walks: none in 200 has odds of about 4 in a million).
 */
const RUNS_FOR_NON_VACUITY = 200;

function safetyParameters(nodeCount: number, seed: number, faultLevel: number): WalkParameters {
  const lag = observationLagOf(seed);
  const bounds = walkBounds(nodeCount, lag);
  const options = walkOptions(nodeCount, lag, NO_FAULTS, "all", bounds);
  const maxLogEntries = maxLogEntriesOf(seed);
  return { nodeCount, seed, faultLevel, steps: WALK_STEPS, options, maxLogEntries };
}

/** True when some core compacted its log past the cold start's snapshot. */
function compacted(state: ClusterModelState): boolean {
  return state.nodes.some((node) => (node.core?.snapshot?.lastIndex ?? 0) > 1);
}

/** What the walks must reach, or they prove nothing: the model's sometimes-properties and more. */
const MUST_REACH = [
  "a leader is elected",
  "a write is acknowledged",
  "a failover completes",
  "log compacted",
  "InstallSnapshot",
];

/** Runs one walk; throws its failure; counts in `reached` what it reached; returns its actions. */
function checkedWalk(
  nodeCount: number,
  seed: number,
  faultLevel: number,
  reached: Map<string, number>,
): number {
  const seen = new Set<string>();
  const parameters = {
    ...safetyParameters(nodeCount, seed, faultLevel),
    onAction: (_step: number, description: string) => {
      if (description.startsWith("deliver") && description.includes(" snapshot to ")) {
        seen.add("InstallSnapshot");
      }
    },
  };
  const result = randomWalk(parameters);
  if (result.problem !== null) throw new Error(describeFailure(parameters, result));
  if (compacted(result.state)) seen.add("log compacted");
  for (const name of [...seen, ...result.reached]) reached.set(name, (reached.get(name) ?? 0) + 1);
  return result.steps;
}

for (const nodeCount of [3, 5]) {
  Deno.test(`safety: every invariant holds over ${RUNS} random walks at N=${nodeCount}`, () => {
    console.log(`N=${nodeCount}: fast-check seed ${SEED} (replay: HACTL_PROPERTY_SEED=${SEED})`);
    const started = performance.now();
    const reached = new Map<string, number>();
    let actions = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 4 }),
        (seed, faultLevel) => {
          actions += checkedWalk(nodeCount, seed, faultLevel, reached);
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const seconds = (performance.now() - started) / 1000;
    const counts = MUST_REACH.map((name) => `${name} ${reached.get(name) ?? 0}`).join(", ");
    console.log(
      `N=${nodeCount}: ${RUNS} walks, ${actions} actions, ${seconds.toFixed(1)} s; ` +
        `walks that reached: ${counts}`,
    );
    if (RUNS < RUNS_FOR_NON_VACUITY) return;
    for (const name of MUST_REACH) {
      assert((reached.get(name) ?? 0) > 0, `no walk reached "${name}": the walks are vacuous`);
    }
  });
}

function fingerprintOf(options: ClusterModelOptions, state: ClusterModelState) {
  const model = createClusterModel(options, coldStartState(options));
  return model.fingerprint(state, false);
}

Deno.test("a walk seed replays the same walk exactly; another seed gives another walk", () => {
  for (const nodeCount of [3, 5]) {
    const walk = (seed: number) => randomWalk(safetyParameters(nodeCount, seed, 3));
    const first = walk(12345);
    const again = walk(12345);
    const other = walk(54321);
    assertEquals(first.steps, WALK_STEPS);
    assertEquals(first.trail, again.trail);
    assertEquals(
      fingerprintOf(first.options, first.state),
      fingerprintOf(again.options, again.state),
    );
    assert(
      JSON.stringify(fingerprintOf(other.options, other.state)) !==
        JSON.stringify(fingerprintOf(first.options, first.state)),
      `N=${nodeCount}: seeds 12345 and 54321 ended in the same state`,
    );
  }
});

/** Options without operator requests: a pause would rightly stop every failover. */
function livenessOptions(nodeCount: number, lag: boolean): ClusterModelOptions {
  const bounds = { ...walkBounds(nodeCount, lag), maxOperatorRequests: 0 };
  return walkOptions(nodeCount, lag, NO_FAULTS, "all", bounds);
}

/** Walks per node count in the liveness and failover tests. */
const LIVENESS_SEEDS = 40;

Deno.test("L1: after a random fault schedule, the fair continuation gives a writable primary within the bound", () => {
  for (const nodeCount of [3, 5]) {
    let worst = 0;
    for (let seed = 1; seed <= LIVENESS_SEEDS; seed++) {
      const options = livenessOptions(nodeCount, observationLagOf(seed));
      const maxLogEntries = maxLogEntriesOf(seed);
      const faultLevel = 1 + (seed % 4);
      const steps = WALK_STEPS;
      const parameters = { nodeCount, seed, faultLevel, steps, options, maxLogEntries };
      const result = randomWalk(parameters);
      assert(result.problem === null, describeFailure(parameters, result));
      // Restarts crashed nodes, then fair synchronous rounds (model/liveness.ts).
      const bound = livenessBoundTicks(options);
      const context = walkContext(options, maxLogEntries);
      const ticks = ticksToWritablePrimary(context, result.state, bound);
      assert(ticks !== null, `N=${nodeCount} seed ${seed}: no writable primary in ${bound} ticks`);
      worst = Math.max(worst, ticks);
    }
    const withLag = livenessBoundTicks(livenessOptions(nodeCount, true));
    const withoutLag = livenessBoundTicks(livenessOptions(nodeCount, false));
    console.log(
      `N=${nodeCount}: ${LIVENESS_SEEDS} fault schedules, at worst ${worst} ticks to a writable ` +
        `primary (bound ${withLag} ticks with lagging observations, ${withoutLag} without)`,
    );
  }
});

/** The index of the node whose core decides primary and whose Postgres accepts writes, or -1. */
function writablePrimaryOf(state: ClusterModelState): number {
  return state.nodes.findIndex((node) =>
    node.core !== null && decidePostgresRole(node.core).kind === "primary" &&
    isWritable(node.postgres)
  );
}

/**
 * True when a writable primary exists and a majority with it holds its whole WAL and Raft
 * log. Only then can the others elect without it: a survivor lacking WAL the primary
 * flushed must not win (D2), and one with a shorter log cannot (the liveness corner of
 * docs/SAFETY.md, where the old primary must come back; the L1 test above restarts it).
 */
function primaryCaughtUp(state: ClusterModelState): boolean {
  const primary = state.nodes[writablePrimaryOf(state)];
  if (primary === undefined) return false;
  const holders = state.nodes.filter((node) =>
    node !== primary && node.core !== null &&
    isWalPrefix(primary.postgres.wal, node.postgres.wal) &&
    atLeastAsUpToDate(node.core, primary.core!)
  );
  return holders.length + 1 > state.nodes.length / 2;
}

/** Options of the failover walks: no operator request, and no voter removal (a 2-voter cluster rightly cannot replace a crashed member). */
function failoverOptions(nodeCount: number, lag: boolean): ClusterModelOptions {
  const bounds = { ...walkBounds(nodeCount, lag), maxOperatorRequests: 0, maxMembershipChanges: 0 };
  return walkOptions(nodeCount, lag, NO_FAULTS, "all", bounds);
}

Deno.test("a crashed primary is replaced by a writable one on another node", () => {
  for (const nodeCount of [3, 5]) {
    let worst = 0;
    for (let seed = 1; seed <= LIVENESS_SEEDS; seed++) {
      const options = failoverOptions(nodeCount, observationLagOf(seed));
      const maxLogEntries = maxLogEntriesOf(seed);
      const context = walkContext(options, maxLogEntries);
      // A fault-free walk of at least `seed` actions, until a caught-up primary exists.
      let actions = 0;
      const stopWhen = (state: ClusterModelState) => ++actions >= seed && primaryCaughtUp(state);
      const steps = 2_000;
      const parameters = {
        nodeCount,
        seed,
        faultLevel: 0,
        steps,
        options,
        maxLogEntries,
        stopWhen,
      };
      const result = randomWalk(parameters);
      assert(result.problem === null, describeFailure(parameters, result));
      const primary = writablePrimaryOf(result.state);
      assert(primary >= 0, `N=${nodeCount} seed ${seed}: no caught-up primary in ${steps} actions`);
      const crashed = applyAction(context, result.state, { kind: "crash", node: primary });
      // The crashed node stays down (restartCrashed false) with its Postgres stopped, so the
      // writable primary the continuation reaches is on another node.
      const bound = livenessBoundTicks(options);
      const ticks = ticksToWritablePrimary(context, crashed, bound, false);
      assert(
        ticks !== null,
        `N=${nodeCount} seed ${seed}: n${primary + 1} crashed and no other node became a ` +
          `writable primary within ${bound} ticks`,
      );
      worst = Math.max(worst, ticks);
    }
    console.log(
      `N=${nodeCount}: ${LIVENESS_SEEDS} crashed primaries replaced, worst ${worst} ticks`,
    );
  }
});

/** Most walks a control may need before it breaks its invariant. */
const MAX_CONTROL_WALKS = 400;

/** Walks (N=3, one invariant checked) until one breaks it; returns how many it took, or null. */
function walksUntilViolation(faults: FaultSwitches, invariant: string): number | null {
  for (let seed = 1; seed <= MAX_CONTROL_WALKS; seed++) {
    const lag = observationLagOf(seed);
    const options = walkOptions(3, lag, faults, [invariant]);
    const parameters = {
      nodeCount: 3,
      seed,
      faultLevel: 1 + (seed % 4),
      steps: WALK_STEPS,
      options,
    };
    const result = randomWalk(parameters);
    if (result.problem !== null) {
      assert(result.problem.startsWith(`${invariant}: `), result.problem);
      return seed;
    }
  }
  return null;
}

const CONTROLS: readonly (readonly [readonly (keyof FaultSwitches)[], string])[] = [
  [["keepWritingWithoutMajority"], INVARIANTS.oneWriter],
  // A vote needs the voter's receiver stopped, which waits out the lease by itself: as the
  // model-check control (model/runs.ts), the receiver rule is switched off too.
  [["skipLeaseWait", "voteWhileReceivingWal"], INVARIANTS.oneWriter],
  [["voteIgnoresPosition"], INVARIANTS.mostAdvanced],
];

for (const [switches, invariant] of CONTROLS) {
  Deno.test(`the walks can fail: with ${switches.join(" + ")} on, "${invariant}" breaks`, () => {
    const faults = { ...NO_FAULTS, ...Object.fromEntries(switches.map((name) => [name, true])) };
    const started = performance.now();
    const walks = walksUntilViolation(faults, invariant);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `${switches.join(" + ")}: ${walks ?? "no"} walk(s) to break "${invariant}", ${seconds} s`,
    );
    assert(walks !== null, `no walk of ${MAX_CONTROL_WALKS} broke "${invariant}"`);
  });
}
