// Proves the model checker drives log compaction and InstallSnapshot through the real core
// (issue 10): the snapshot-catch-up run's warm start leaves a leader whose log is compacted
// past a crashed follower's, its search has the follower install the leader's snapshot
// within a few steps while every invariant holds (and that path replays from the cold
// start with the run's log limit), the run requires both (so it fails as vacuous if they
// stop being reached), and neither property holds by accident: from
// steady, with the core's own log limit, neither is reached.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  applyAction,
  type ClusterAction,
  coldStartState,
  contextOf,
  createClusterModel,
} from "../../model/cluster_model.ts";
import { defaultExploreOptions, explore } from "../../model/explorer.ts";
import { REACHABLE } from "../../model/invariants.ts";
import { modelCheckRuns, SNAPSHOT_LOG_LIMIT } from "../../model/runs.ts";
import { startOf } from "../../model/warm_start.ts";
import type { RunSpec } from "../../model/runs.ts";

/** Depth at which the search must have installed the snapshot (restart, then a round: 2). */
const SEARCH_DEPTH = 3;

function snapshotRun(): RunSpec {
  const spec = modelCheckRuns(false).find((run) => run.scenario === "snapshot-catch-up");
  assert(spec !== undefined, "model/runs.ts has no snapshot-catch-up run");
  return spec;
}

/** The witness of each non-vacuity property to {@link SEARCH_DEPTH} (null: not reached). */
function witnesses(
  spec: RunSpec,
  scenario: RunSpec["scenario"],
): Map<string, readonly ClusterAction[] | null> {
  const start = startOf(spec.options, scenario);
  const model = createClusterModel(spec.options, start.state);
  const report = explore(
    model,
    defaultExploreOptions({ maxDepth: SEARCH_DEPTH, progressIntervalMs: 0 }),
  );
  assertEquals(report.violations.map((violation) => violation.message), []);
  return new Map(report.witnesses.map((entry) => [entry.property, entry.witness?.actions ?? null]));
}

Deno.test("the snapshot-catch-up warm start: a compacted leader, the follower it left behind down", () => {
  const spec = snapshotRun();
  assertEquals(spec.options.maxLogEntries, SNAPSHOT_LOG_LIMIT);
  const { state } = startOf(spec.options, spec.scenario);
  const leader = state.nodes.find((node) => node.core?.role === "leader")?.core;
  assert(leader?.snapshot !== null && leader?.snapshot !== undefined, "no leader with a snapshot");
  const compactedTo = leader.snapshot.lastIndex;
  const down = state.nodes.filter((node) => node.core === null);
  assertEquals(down.length, 1);
  // The crashed follower's log ends before the leader's first kept index: only a snapshot
  // can catch it up.
  const held = down[0]!.disk.entries.at(-1)?.index ?? down[0]!.disk.snapshot?.lastIndex ?? 0;
  assert(
    held < compactedTo,
    `follower holds ${held}, leader compacted to ${compactedTo}`,
  );
  assertEquals(state.messages, []);
});

Deno.test("the snapshot-catch-up run installs the leader's snapshot on the follower, invariants holding", () => {
  const spec = snapshotRun();
  assert(spec.mustReach.includes(REACHABLE.leaderCompacts));
  assert(spec.mustReach.includes(REACHABLE.snapshotInstalled));
  const reached = witnesses(spec, spec.scenario);
  assertEquals(reached.get(REACHABLE.leaderCompacts)?.length, 0);
  const installed = reached.get(REACHABLE.snapshotInstalled);
  assertEquals(installed?.length, 2);
  // The witness replays from the cold start (script, then the search's actions) with the
  // log limit the run's options carry, as a saved counterexample of this run would.
  const context = contextOf(spec.options);
  const steps = [...startOf(spec.options, spec.scenario).script, ...installed!];
  const end = steps.reduce(
    (state, action) => applyAction(context, state, action),
    coldStartState(spec.options),
  );
  assert(end.snapshotInstalled, "the replayed witness does not install a snapshot");
});

Deno.test("compaction and InstallSnapshot are not reached by accident: from steady, default log limit", () => {
  const spec = snapshotRun();
  const { maxLogEntries: _limit, ...options } = spec.options;
  const reached = witnesses({ ...spec, options }, "steady");
  assertEquals(reached.get(REACHABLE.leaderCompacts), null);
  assertEquals(reached.get(REACHABLE.snapshotInstalled), null);
});
