// Proves the model drives the hand-over of a leader whose Postgres cannot start
// (src/core/primary_watch.ts): from steady, the primary stops for good; a fair continuation
// (liveness.ts's: supervisors first, then synchronous rounds, a clock run ahead in turn) reaches a writable primary on
// another node, after its leader waited out primaryStartTimeoutTicks and handed over: by a
// transfer when a standby holds all of its WAL, by a step-down when its WAL is ahead (a
// write no standby received). With the hand-over out of reach (a bound of 1000 ticks) no
// primary comes, so the check can fail; and the broken server starts again only by a rewind.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { NO_FAULTS } from "../../src/core/mod.ts";
import { applyAction, contextOf, enabledActions } from "../../model/cluster_model.ts";
import type { ClusterModelOptions, ClusterModelState } from "../../model/cluster_types.ts";
import type { ModelContext } from "../../model/cluster_step.ts";
import { DEFAULT_BOUNDS, issueBounds } from "../../model/runs.ts";
import { warmStart } from "../../model/warm_start.ts";
import { ScriptedRun } from "../../model/scripted_run.ts";
import { continueFairly, livenessBoundTicks } from "../../model/liveness.ts";

const options: ClusterModelOptions = {
  name: "cannot start",
  nodeCount: 3,
  faults: NO_FAULTS,
  bounds: issueBounds(DEFAULT_BOUNDS).cannotStart!,
  start: "warm",
  invariants: "all",
};

/** What a fair continuation saw on the way to a writable primary. */
interface Continuation {
  readonly state: ClusterModelState;
  readonly rounds: number | null;
  /** The broken node started a transfer (the core's own, no request id). */
  readonly transferred: boolean;
  /** The broken node stepped down from leader. */
  readonly steppedDown: boolean;
}

/** liveness.ts's continuation, also noting how the broken node handed over. */
function continueNoting(
  context: ModelContext,
  start: ClusterModelState,
  broken: number,
  maxRounds: number,
): Continuation {
  let transferred = false;
  let steppedDown = false;
  const onState = (state: ClusterModelState) => {
    const core = state.nodes[broken]!.core!;
    if (core.transfer !== null && core.transfer.requestId === null) transferred = true;
    if (core.role !== "leader") steppedDown = true;
  };
  const { state, ticks } = continueFairly(context, start, maxRounds, { onState });
  return { state, rounds: ticks, transferred, steppedDown };
}

/** Steady; optionally a write only the primary holds; then its Postgres stops for good. */
function brokenPrimary(writeFirst: boolean): { run: ScriptedRun; broken: number } {
  const run = new ScriptedRun(contextOf(options), warmStart(options, "steady").state);
  const broken = run.state.nodes.findIndex((node) => node.core?.role === "leader");
  if (writeFirst) run.run({ kind: "write", node: broken });
  run.run({ kind: "postgres-cannot-start", node: broken });
  const postgres = run.state.nodes[broken]!.postgres;
  assertEquals([postgres.status, postgres.cannotStart], ["stopped", true]);
  return { run, broken };
}

function writablePrimaryNode(state: ClusterModelState): number {
  return state.nodes.findIndex((node) =>
    node.postgres.status === "running" && !node.postgres.inRecovery && !node.postgres.fenced
  );
}

Deno.test("a standby holds all of its WAL: the leader transfers, another node becomes primary", () => {
  const { run, broken } = brokenPrimary(false);
  const bound = livenessBoundTicks(options);
  const result = continueNoting(run.context, run.state, broken, bound);
  assert(result.rounds !== null, `no writable primary within ${bound} rounds`);
  assert(result.transferred, "it handed over by a transfer");
  const primary = writablePrimaryNode(result.state);
  assert(primary >= 0 && primary !== broken, `the primary is node ${primary}`);
  // Not before its leader waited out the bound from where its count stood at the fault.
  const core = run.state.nodes[broken]!.core!;
  assert(result.rounds >= core.config.primaryStartTimeoutTicks - core.ticksWithoutPrimary);
});

Deno.test("its WAL is ahead of every standby: the leader steps down and the others elect", () => {
  const { run, broken } = brokenPrimary(true);
  const bound = livenessBoundTicks(options);
  const result = continueNoting(run.context, run.state, broken, bound);
  assert(result.rounds !== null, `no writable primary within ${bound} rounds`);
  assert(result.steppedDown && !result.transferred, "it stepped down without a transfer");
  const primary = writablePrimaryNode(result.state);
  assert(primary >= 0 && primary !== broken, `the primary is node ${primary}`);
  // The deposed node starts again only by a rewind onto the new primary (a standby).
  let rejoined = result.state;
  for (let step = 0; step < 20 && !rejoined.nodes[broken]!.postgres.inRecovery; step++) {
    const enabled = enabledActions(run.context, rejoined);
    const action = enabled.find((candidate) =>
      candidate.kind === "reconcile" && candidate.node === broken
    ) ?? enabled.find((candidate) => candidate.kind === "round" && candidate.isolated === -1);
    assert(action !== undefined, "nothing enabled");
    rejoined = applyAction(run.context, rejoined, action);
  }
  const postgres = rejoined.nodes[broken]!.postgres;
  assertEquals([postgres.cannotStart, postgres.inRecovery], [undefined, true]);
});

Deno.test("without the hand-over (a bound out of reach) no writable primary comes", () => {
  const { run, broken } = brokenPrimary(false);
  const state: ClusterModelState = {
    ...run.state,
    nodes: run.state.nodes.map((node) =>
      node.core === null ? node : {
        ...node,
        core: { ...node.core, config: { ...node.core.config, primaryStartTimeoutTicks: 1000 } },
      }
    ),
  };
  const result = continueNoting(run.context, state, broken, 60);
  assertEquals(result.rounds, null);
  assertEquals(result.state.nodes[broken]!.core!.role, "leader", "it keeps leading");
});
