// Proves the model feeds the core the Postgres states it accepts beyond a running or
// stopped server with all WAL replayed (issue 10 item 1): from the rejoin warm start, a
// failed rewind leaves the deposed primary's data directory absent (the core sees position
// null, may not campaign, and asks for a clone from the leader); the clone runs as its own
// step (still absent), then ends as a standby holding the leader's WAL. The new leader's
// standby holds a record it received but has not replayed: its core keeps it a standby,
// with authority, until replay catches up, and only then decides primary. From the
// rejoin-data-lost start (the rewind failed, the new leader crashed), the node without data
// no longer elects the node missing the acknowledged write (the model's D1 finding). From
// the bootstrap start (a new cluster), initdb made the first primary and a learner is cloned
// and promoted; the scripts meet every Postgres role kind the core can decide. Random walks
// with failed rewinds and replay lag keep every invariant and elect a writable primary once
// faults stop.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  decidePostgresRole,
  hasWriteAuthority,
  NO_FAULTS,
  SYSTEM_IDENTIFIER_KEY,
} from "../../src/core/mod.ts";
import { campaignBlocker } from "../../src/core/election.ts";
import { type ClusterAction, coldStartState, contextOf } from "../../model/cluster_model.ts";
import type { ClusterModelOptions } from "../../model/cluster_types.ts";
import { DEFAULT_BOUNDS, issueBounds, modelCheckRuns } from "../../model/runs.ts";
import { INVARIANTS, REACHABLE } from "../../model/invariants.ts";
import { livenessBoundTicks, ticksToWritablePrimary } from "../../model/liveness.ts";
import {
  describeFailure,
  maxLogEntriesOf,
  observationLagOf,
  randomWalk,
  walkBounds,
  walkContext,
  walkOptions,
} from "./random_walk.ts";
import { warmStart } from "../../model/warm_start.ts";
import { ScriptedRun } from "../../model/scripted_run.ts";

const options: ClusterModelOptions = {
  name: "absent data",
  nodeCount: 3,
  faults: NO_FAULTS,
  bounds: issueBounds(DEFAULT_BOUNDS).rejoin!,
  start: "warm",
  invariants: "all",
};

function rejoinStart(): { run: ScriptedRun; deposed: number; leader: number } {
  const start = warmStart(options, "rejoin");
  const run = new ScriptedRun(contextOf(options), start.state);
  const deposed = run.state.nodes.findIndex((node) =>
    node.core !== null && decidePostgresRole(node.core).kind === "rejoin"
  );
  const leader = run.state.nodes.findIndex((node) => node.core?.role === "leader");
  assert(deposed >= 0 && leader >= 0, "the warm start has a rejoining node and a leader");
  return { run, deposed, leader };
}

const own = (kind: ClusterAction["kind"], node: number) => (action: ClusterAction) =>
  action.kind === kind && "node" in action && action.node === node;

Deno.test("a failed rewind leaves the data absent; the core has it re-cloned from the leader", () => {
  const { run, deposed, leader } = rejoinStart();
  run.take(own("rewind-fails", deposed), "fail the rewind");
  const core = () => run.state.nodes[deposed]!.core!;
  assertEquals(core().postgres?.status, "absent");
  assertEquals(core().postgres?.position, null);
  assertEquals(campaignBlocker({ ...core() }), "no local Postgres data");
  assertEquals(decidePostgresRole(core()), { kind: "clone", source: `n${leader + 1}` });
  assert(!run.can(own("rewind-fails", deposed)), "one failed rewind is the bound");
  run.take(own("reconcile", deposed), "start the clone");
  assertEquals(run.state.nodes[deposed]!.postgres.status, "cloning");
  assertEquals(core().postgres?.status, "absent");
  assert(!run.can(own("reconcile", deposed)), "the shell waits for pg_basebackup");
  run.take(own("cloned", deposed), "finish the clone");
  const postgres = run.state.nodes[deposed]!.postgres;
  const source = run.state.nodes[leader]!.postgres;
  assertEquals([postgres.status, postgres.inRecovery, postgres.source], ["running", true, leader]);
  assertEquals(postgres.wal, source.wal);
  assertEquals(core().postgres?.status, "running");
  assertEquals(decidePostgresRole(core()).kind, "standby");
});

Deno.test("a leader whose standby has not replayed all it received is promoted only after replay", () => {
  const { run, leader } = rejoinStart();
  const write = run.state.acked[0];
  assert(write !== undefined, "the warm start's write is acknowledged");
  const postgres = () => run.state.nodes[leader]!.postgres;
  assert(postgres().replayBehind, "the new leader's standby has not replayed the write");
  assertEquals(postgres().wal[postgres().wal.length - 1]?.write, write.write);
  const core = () => run.state.nodes[leader]!.core!;
  for (let step = 0; !hasWriteAuthority(core()); step++) {
    assert(step < 20, "the new leader gains authority");
    run.take((action) => action.kind === "round" && action.isolated < 0, "a synchronous round");
  }
  assertEquals(core().postgres?.replayCaughtUp, false);
  assertEquals(decidePostgresRole(core()), { kind: "standby", source: null });
  run.take(own("replay", leader), "replay");
  assertEquals(core().postgres?.replayCaughtUp, true);
  assertEquals(decidePostgresRole(core()).kind, "primary");
  run.take(own("reconcile", leader), "promote");
  assert(!postgres().inRecovery && !postgres().replayBehind);
});

Deno.test("after the failed rewind and the new leader's crash, the node without data elects no one", () => {
  const start = warmStart(options, "rejoin-data-lost");
  const run = new ScriptedRun(contextOf(options), start.state);
  const absent = run.state.nodes.findIndex((node) => node.postgres.status === "absent");
  const third = run.state.nodes.findIndex((node, index) => index !== absent && node.core !== null);
  assert(absent >= 0 && third >= 0 && run.state.nodes.some((node) => node.core === null));
  // The counterexample the real core once allowed: time passes, a round elects the third node.
  run.run({ kind: "advance" });
  run.run({ kind: "round", isolated: -1 });
  assert(
    run.state.nodes[third]!.core!.role !== "leader",
    "the node missing the write is not elected",
  );
});

const bootstrapOptions: ClusterModelOptions = {
  ...options,
  name: "bootstrap",
  bounds: issueBounds(DEFAULT_BOUNDS).bootstrap!,
  uninitialised: true,
};

Deno.test("a new cluster: initdb on the bootstrapped node, a learner cloned and promoted", () => {
  const start = warmStart(bootstrapOptions, "bootstrap");
  const run = new ScriptedRun(contextOf(bootstrapOptions), start.state);
  const first = run.state.nodes[0]!;
  assertEquals(first.core!.applied.keyValues[SYSTEM_IDENTIFIER_KEY], "model");
  assertEquals(first.postgres.wal, [], "initdb made an empty primary on timeline 1");
  const learner = 1;
  assertEquals(run.state.nodes[learner]!.core!.postgres?.status, "absent");
  run.take(own("reconcile", learner), "start the clone");
  run.take(own("cloned", learner), "finish the clone");
  const core = () => run.state.nodes[0]!.core!;
  for (let step = 0; !core().membership.voters.includes("n2"); step++) {
    assert(step < 10, "the leader promotes the cloned learner");
    run.take((action) => action.kind === "round" && action.isolated < 0, "a synchronous round");
  }
  assert(!core().membership.voters.includes("n3"), "the learner still without data stays one");
});

/** The kinds of the union type `name` of src/core/types.ts. */
async function kindsOf(name: string): Promise<string[]> {
  const source = await Deno.readTextFile(new URL("../../src/core/types.ts", import.meta.url));
  const start = source.indexOf(`export type ${name} =`);
  const body = source.slice(start, source.indexOf(";\n\n", start));
  return [...new Set([...body.matchAll(/kind: "([a-z-]+)"/g)].map((match) => match[1]!))].sort();
}

Deno.test("the bootstrap and rejoin scripts meet every Postgres role the core decides", async () => {
  const decided = new Set<string>();
  for (
    const [scenarioOptions, scenario] of [[bootstrapOptions, "bootstrap"], [
      options,
      "rejoin",
    ]] as const
  ) {
    const script = warmStart(scenarioOptions, scenario).script;
    const run = new ScriptedRun(contextOf(scenarioOptions), coldStartState(scenarioOptions));
    const note = () =>
      run.state.nodes.forEach((node) => {
        if (node.core !== null) decided.add(decidePostgresRole(node.core).kind);
      });
    note();
    for (const action of script) {
      run.run(action);
      note();
    }
  }
  assertEquals([...decided].sort(), await kindsOf("PostgresRole"));
});

Deno.test("the model check fails unless its runs reach an absent Postgres and a finished clone", () => {
  const runs = modelCheckRuns(false);
  const reach = (name: string) => runs.find((spec) => spec.options.name === name)?.mustReach ?? [];
  for (const name of ["real rejoin (re-clone, replay lag)", "real rejoin-data-lost"]) {
    assert(reach(name).includes(REACHABLE.postgresAbsent), `${name} must reach absent data`);
    assert(reach(name).includes(REACHABLE.recloned), `${name} must reach a finished re-clone`);
  }
  assert(reach("real rejoin (re-clone, replay lag)").includes(REACHABLE.leaderReplayBehind));
  assert(reach("real bootstrap").includes(REACHABLE.learnerPromoted));
  const control = runs.find((spec) => spec.options.name === "voteWithoutData");
  assertEquals(control?.mustBreak, INVARIANTS.durability);
});

/** Walks per node count with failed rewinds and replay lag (about 5 s for both counts). */
const DATA_WALK_SEEDS = 25;

Deno.test("random walks with failed rewinds and replay lag keep every invariant and elect again (L1)", () => {
  const reached = { recloned: 0, unreplayed: 0 };
  for (const nodeCount of [3, 5]) {
    for (let seed = 1; seed <= DATA_WALK_SEEDS; seed++) {
      const lag = observationLagOf(seed);
      const bounds = {
        ...walkBounds(nodeCount, lag),
        maxOperatorRequests: 0,
        maxFailedRewinds: 1,
        maxUnreplayedRecords: 2,
      };
      const walkOptionsOfSeed = walkOptions(nodeCount, lag, NO_FAULTS, "all", bounds);
      const maxLogEntries = maxLogEntriesOf(seed);
      const parameters = {
        nodeCount,
        seed,
        faultLevel: 1 + (seed % 4),
        steps: 400,
        options: walkOptionsOfSeed,
        maxLogEntries,
      };
      const result = randomWalk(parameters);
      assert(result.problem === null, describeFailure(parameters, result));
      if (result.reached.has(REACHABLE.recloned)) reached.recloned++;
      if (result.state.unreplayedRecords > 0) reached.unreplayed++;
      const context = walkContext(walkOptionsOfSeed, maxLogEntries);
      const ticks = ticksToWritablePrimary(
        context,
        result.state,
        livenessBoundTicks(walkOptionsOfSeed),
      );
      assert(ticks !== null, `N=${nodeCount} seed ${seed}: no writable primary after faults stop`);
    }
  }
  assert(reached.recloned > 0 && reached.unreplayed > 0, JSON.stringify(reached));
});
