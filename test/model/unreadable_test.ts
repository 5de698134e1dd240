// Proves the model drives the hand-over of a leader whose reads of its Postgres all fail
// (the shell reports it `unreadable`, src/agent/reconciler.ts; src/core/primary_watch.ts):
// from steady, the primary's reads fail for good while it still runs; a fair continuation
// (supervisors first, then synchronous rounds, as liveness.ts's) reaches a writable primary
// on another node, not before the leader waited out primaryStartTimeoutTicks, and the
// unreadable server, once its node lost write authority, is fenced (never cloned over).
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { decidePostgresRole, NO_FAULTS } from "../../src/core/mod.ts";
import { contextOf } from "../../model/cluster_model.ts";
import type { ClusterModelOptions } from "../../model/cluster_types.ts";
import { DEFAULT_BOUNDS, issueBounds } from "../../model/runs.ts";
import { warmStart } from "../../model/warm_start.ts";
import { ScriptedRun } from "../../model/scripted_run.ts";
import { continueFairly, livenessBoundTicks } from "../../model/liveness.ts";

const options: ClusterModelOptions = {
  name: "unreadable",
  nodeCount: 3,
  faults: NO_FAULTS,
  bounds: issueBounds(DEFAULT_BOUNDS).unreadable!,
  start: "warm",
  invariants: "all",
};

Deno.test("a leader whose reads fail hands over; its still-running server is fenced", () => {
  const run = new ScriptedRun(contextOf(options), warmStart(options, "steady").state);
  const broken = run.state.nodes.findIndex((node) => node.core?.role === "leader");
  run.run({ kind: "postgres-unreadable", node: broken });
  run.take(
    (action) => action.kind === "observe" && "node" in action && action.node === broken,
    "the shell reports the failed reads",
  );
  const core = run.state.nodes[broken]!.core!;
  assertEquals(core.postgres?.status, "unreadable");
  const bound = livenessBoundTicks(options);
  const result = continueFairly(run.context, run.state, bound);
  assert(result.ticks !== null, `no writable primary within ${bound} rounds`);
  assert(result.ticks >= core.config.primaryStartTimeoutTicks - core.ticksWithoutPrimary);
  const node = result.state.nodes[broken]!;
  assert(node.core!.role !== "leader", "the unreadable node no longer leads");
  assertEquals(node.postgres.status, "running", "its server still runs (only reads fail)");
  assert(node.postgres.fenced, "fenced, so only the new primary accepts writes");
  assertEquals(decidePostgresRole(node.core!).kind, "fenced");
});

// Found by "liveness steady (unreadable)": a clock run ahead (the continuation's tie-breaker)
// fired the unreadable leader's hand-over, so its still-writable server was overdue for the
// fence and no round could run; the continuation gave up instead of settling that work first.
Deno.test("the fair continuation settles work that a clock run ahead creates", () => {
  const run = new ScriptedRun(contextOf(options), warmStart(options, "steady").state);
  const broken = run.state.nodes.findIndex((node) => node.core?.role === "leader");
  const other = (broken + 1) % run.state.nodes.length;
  run.take(
    (action) => action.kind === "tick" && action.node === other,
    "another node's clock ticks alone",
  );
  run.run({ kind: "postgres-unreadable", node: broken });
  run.take(
    (action) => action.kind === "observe" && "node" in action && action.node === broken,
    "the shell reports the failed reads",
  );
  run.take((action) => action.kind === "tick-all", "every clock ticks");
  run.take((action) => action.kind === "tick-all", "every clock ticks");
  const bound = livenessBoundTicks(options);
  const result = continueFairly(run.context, run.state, bound);
  assert(result.ticks !== null, `no writable primary within ${bound} rounds`);
  assert(result.state.nodes[broken]!.core!.role !== "leader", "the unreadable node handed over");
});
