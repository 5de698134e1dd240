/**
 * The parallel breadth-first search (model/parallel_explorer.ts) explores what the
 * sequential explorer explores: the same states and transitions for a complete run, every
 * non-vacuity witness, and a control caught at the same depth with a counterexample that
 * replays to the violation.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { defaultExploreOptions, explore, replayCounterexample } from "../../model/explorer.ts";
import { exploreInParallel, type ParallelOptions } from "../../model/parallel_explorer.ts";
import { createClusterModel } from "../../model/cluster_model.ts";
import { runNamed, type RunSpec } from "../../model/runs.ts";
import { startOf } from "../../model/warm_start.ts";

const parallel: ParallelOptions = {
  workers: 2,
  symmetry: true,
  stopOnViolation: true,
  progressIntervalMs: 0,
  progress: () => {},
};

function sequential(spec: RunSpec) {
  const model = createClusterModel(spec.options, startOf(spec.options, spec.scenario).state);
  const report = explore(
    model,
    defaultExploreOptions({
      maxDepth: spec.maxDepth,
      maxStates: spec.maxStates,
      progressIntervalMs: 0,
    }),
  );
  return { model, report };
}

// From the cold start many states are renamings of each other and the workers keep other
// members of those classes than one thread does: equal counts also need a symmetric model
// (test/model/symmetry_soundness_test.ts; 56,870 against 56,297 before it was).
Deno.test("two workers reach the states and transitions of one thread", async () => {
  const spec = runNamed("real cold");
  const one = sequential(spec).report;
  const two = await exploreInParallel(spec, parallel);
  assert(one.complete && two.complete);
  assertEquals(
    [two.states, two.transitions, two.maxDepthReached, two.violations.length],
    [one.states, one.transitions, one.maxDepthReached, 0],
  );
  const witnessed = (report: typeof one) =>
    report.witnesses.filter((entry) => entry.witness !== null).map((entry) => entry.property);
  assertEquals(witnessed(two), witnessed(one));
});

Deno.test("two workers catch a control at its depth, with a trace that replays", async () => {
  const spec = runNamed("restartWritable");
  const { model, report: one } = sequential(spec);
  const two = await exploreInParallel(spec, parallel);
  const violation = two.violations[0];
  assert(violation !== undefined, "the control was not caught");
  assertEquals(violation.property, spec.mustBreak);
  assertEquals(violation.actions.length, one.violations[0]!.actions.length);
  const states = replayCounterexample(model, violation.initialState, violation.actions);
  const property = model.properties.find((entry) => entry.name === violation.property)!;
  assert(property.kind === "always");
  const last = states[states.length - 1]!;
  const before = states[states.length - 2]!;
  const action = violation.actions[violation.actions.length - 1]!;
  assert(property.check(last, { state: before, action }) !== null, "the trace does not break it");
});

Deno.test("a state cap stops the workers within a state per worker", async () => {
  const spec = { ...runNamed("real steady (operator)"), maxStates: 5_000 };
  const report = await exploreInParallel(spec, parallel);
  assert(!report.complete);
  assert(report.states >= 5_000 && report.states < 5_000 + parallel.workers, `${report.states}`);
});
