// Proves the bounded-liveness check can pass and can fail: the liveness corner of
// docs/SAFETY.md (the freshest Postgres and the longest Raft log on different survivors) gets a
// writable primary within the bound once the crashed leader returns and none while it stays
// down; the preVoteCountedInOwnTerm fault is caught; a paused cluster gets one only through the
// operator's resume (retried while a transfer refuses it); the operator and paused liveness runs
// pass (one step shallower here); and a changed state count of a pinned real run fails it with
// the message that says what to do.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { NO_FAULTS } from "../../src/core/mod.ts";
import { type ClusterAction, contextOf } from "../../model/cluster_model.ts";
import type { ClusterModelOptions } from "../../model/cluster_types.ts";
import { DEFAULT_BOUNDS, livenessRuns, modelCheckRuns } from "../../model/runs.ts";
import { startOf, warmStart } from "../../model/warm_start.ts";
import { ScriptedRun } from "../../model/scripted_run.ts";
import {
  checkBoundedLiveness,
  livenessBoundTicks,
  ticksToWritablePrimary,
} from "../../model/liveness.ts";
import { pinChange } from "../../model/safety_run.ts";

const cornerOptions: ClusterModelOptions = {
  name: "liveness corner",
  nodeCount: 3,
  faults: NO_FAULTS,
  bounds: { ...DEFAULT_BOUNDS, maxProposals: 1, dropMessages: true, maxInFlight: 8 },
  start: "warm",
  invariants: "all",
};

/** Steady, then: a write flushed by standby b only, a kv entry stored by standby a only, the leader crashes. */
function livenessCorner(): ScriptedRun {
  const warm = warmStart(cornerOptions, "steady");
  const scripted = new ScriptedRun(contextOf(cornerOptions), warm.state);
  const leader = scripted.state.nodes.findIndex((node) => node.core?.role === "leader");
  const [a, b] = [0, 1, 2].filter((node) => node !== leader) as [number, number];
  const ids = scripted.context.nodeIds;
  scripted.run({ kind: "write", node: leader });
  scripted.run({ kind: "stream", node: b });
  scripted.run({ kind: "propose", node: leader });
  const appendToA = (action: ClusterAction) => {
    const message = scripted.messageOf(action);
    return action.kind === "deliver" && message?.kind === "append" && message.to === ids[a] &&
      message.entries.length > 0;
  };
  scripted.take(appendToA, "deliver the kv entry to a");
  scripted.dropAll();
  scripted.run({ kind: "crash", node: leader });
  const [coreA, coreB] = [scripted.state.nodes[a]!.core!, scripted.state.nodes[b]!.core!];
  const last = (log: readonly { index: number }[]) => log[log.length - 1]?.index ?? 0;
  assert(last(coreA.log) > last(coreB.log), "a must hold the longer Raft log");
  assert(
    scripted.state.nodes[b]!.postgres.wal.length > scripted.state.nodes[a]!.postgres.wal.length,
    "b must hold the newer Postgres WAL",
  );
  return scripted;
}

Deno.test("the liveness corner: a writable primary within the bound once the old leader returns", () => {
  const corner = livenessCorner();
  const bound = livenessBoundTicks(cornerOptions);
  const ticks = ticksToWritablePrimary(corner.context, corner.state, bound);
  assert(ticks !== null, `no writable primary within ${bound} ticks from the liveness corner`);
});

Deno.test("the liveness corner is real: with the old leader kept down, no primary comes", () => {
  const corner = livenessCorner();
  const ticks = ticksToWritablePrimary(corner.context, corner.state, 60, false);
  assertEquals(ticks, null);
});

Deno.test("bounded liveness catches a pre-candidate that never wins (preVoteCountedInOwnTerm)", () => {
  const spec = modelCheckRuns(false).find((run) => run.options.name === "real cold")!;
  const options = { ...spec.options, invariants: [] };
  assertEquals(checkBoundedLiveness(options, "cold", 1, 1000).failure, null);
  const faulty = { ...options, faults: { ...NO_FAULTS, preVoteCountedInOwnTerm: true } };
  assert(checkBoundedLiveness(faulty, "cold", 1, 1000).failure !== null);
});

/** The paused liveness run's options and the continuation context. */
function pausedRun() {
  const spec = livenessRuns(false).find((run) => run.options.name === "liveness paused")!;
  return { spec, context: contextOf(spec.options), bound: livenessBoundTicks(spec.options) };
}

Deno.test("a paused cluster cut from its leader gets a writable primary only through resume", () => {
  const { spec, context, bound } = pausedRun();
  const start = startOf(spec.options, "paused").state;
  assert(start.nodes.some((node) => node.core?.role === "leader" && node.core.applied.paused));
  assert(ticksToWritablePrimary(context, start, bound) !== null, "no primary after resume");
  assertEquals(ticksToWritablePrimary(context, start, bound, true, false), null);
});

Deno.test("the operator's resume is retried while a leadership transfer refuses it", () => {
  const { spec, context, bound } = pausedRun();
  const scripted = new ScriptedRun(context, startOf(spec.options, "paused").state);
  const leader = scripted.state.nodes.findIndex((node) => node.core?.role === "leader");
  scripted.take(
    (action) => action.kind === "transfer" && action.node === leader && action.target >= 0,
    "ask the paused leader for a transfer",
  );
  assert(scripted.state.nodes[leader]!.core!.transfer !== null);
  assert(ticksToWritablePrimary(context, scripted.state, bound) !== null);
});

Deno.test("bounded liveness holds from the operator and paused states (one step shallower)", () => {
  for (const name of ["liveness steady (operator)", "liveness paused"]) {
    const spec = livenessRuns(false).find((run) => run.options.name === name)!;
    assertEquals(spec.mustFail, false);
    const report = checkBoundedLiveness(spec.options, spec.scenario, spec.maxDepth - 1, 20_000);
    assertEquals(report.failure, null, `${name}: ${report.failure?.path.join(", ")}`);
    assert(report.complete, `${name}: every state to depth ${spec.maxDepth - 1}`);
  }
});

Deno.test("a real run whose state count differs from its pin fails with what to do", () => {
  const spec = modelCheckRuns(false).find((run) => run.options.name === "real cold")!;
  assertEquals(typeof spec.pinned, "number");
  const pinned = spec.pinned as number;
  assertEquals(pinChange(spec, { states: pinned, complete: true }), null);
  assertEquals(
    pinChange(spec, { states: pinned + 1, complete: true }),
    `state count changed: expected ${pinned}, got ${pinned + 1} — update runs.ts if intended`,
  );
  const capped = modelCheckRuns(false).find((run) => run.options.name === "real steady")!;
  assertEquals(pinChange(capped, { states: 150_000, complete: false }), null);
  assert(pinChange(capped, { states: 120_000, complete: true }) !== null);
  const control = modelCheckRuns(false).find((run) => run.mustBreak !== null)!;
  assertEquals(pinChange(control, { states: 1, complete: true }), null);
});
