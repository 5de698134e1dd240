// Proves the drift bound is checked at its edge: the clock-swing start spends the whole skew
// swing the bound allows (2D ticks) right after the leader's lease was renewed; with one tick
// of drift more than the bound (the "excess clock drift (model)" control) a follower is
// elected and the new leader decides primary while the cut-off leader's lease still runs (S1)
// at the control's pinned depth; within the bound the same start keeps every invariant one
// step deeper.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { leaseDurationTicks } from "../../src/core/mod.ts";
import { contextOf, createClusterModel } from "../../model/cluster_model.ts";
import { defaultExploreOptions, explore } from "../../model/explorer.ts";
import { INVARIANTS } from "../../model/invariants.ts";
import { runNamed, type RunSpec, safeClockDriftTicks } from "../../model/runs.ts";
import { startOf } from "../../model/warm_start.ts";

function exploreRun(spec: RunSpec) {
  const model = createClusterModel(spec.options, startOf(spec.options, spec.scenario).state);
  return explore(
    model,
    defaultExploreOptions({
      maxDepth: spec.maxDepth,
      maxStates: spec.maxStates,
      symmetry: true,
      stopOnViolation: true,
    }),
  );
}

Deno.test("clock-swing: the whole swing the bound allows, right after the lease was renewed", () => {
  const spec = runNamed("real clock-swing");
  const context = contextOf(spec.options);
  const drift = safeClockDriftTicks(context.config);
  assertEquals(spec.options.bounds.clockDriftTicks, drift);
  const state = startOf(spec.options, "clock-swing").state;
  assertEquals(state.messages.length, 0);
  const leader = state.nodes.findIndex((node) => node.core?.role === "leader");
  assertEquals(state.nodes[leader]!.clockLead, 0);
  assertEquals(state.nodes[leader]!.core!.leaseRemainingTicks, leaseDurationTicks(context.config));
  for (const [index, node] of state.nodes.entries()) {
    if (index === leader) continue;
    assertEquals(node.clockLead, drift);
    assertEquals(node.core!.ticksSinceLeaderContact, 2 * drift);
  }
});

Deno.test("excess drift (D + 1) breaks S1 from clock-swing at the control's pinned depth", () => {
  const spec = runNamed("excess clock drift (model)");
  assertEquals(spec.mustBreak, INVARIANTS.oneWriter);
  assertEquals(spec.scenario, "clock-swing");
  const real = runNamed("real clock-swing");
  assertEquals(spec.options.bounds.clockDriftTicks, real.options.bounds.clockDriftTicks + 1);
  const violation = exploreRun(spec).violations[0];
  assert(violation !== undefined, "the excess-drift control was not caught");
  assertEquals(violation.property, INVARIANTS.oneWriter);
  assertEquals(violation.actions.length, spec.maxDepth);
});

Deno.test("within the drift bound the clock-swing start keeps every invariant one step deeper", () => {
  const spec = runNamed("real clock-swing");
  assertEquals(spec.maxDepth, runNamed("excess clock drift (model)").maxDepth + 1);
  const report = exploreRun(spec);
  assertEquals(report.violations, []);
  assert(report.complete, "the real clock-swing run must be exhaustive");
});
