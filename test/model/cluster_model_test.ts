// Proves the cluster model runs the real core faithfully enough to matter: every negative
// control yields a counterexample of its target invariant, the saved counterexample replays
// from the cold start through the same code (and the same actions are harmless with the
// fault switched off), symmetry merges renamed states, and long seeded random schedules —
// deeper than the exhaustive bounds — keep every invariant of the real configuration and
// replay exactly from their seed.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import { NO_FAULTS } from "../../src/core/mod.ts";
import { defaultExploreOptions, explore } from "../../model/explorer.ts";
import {
  applyAction,
  type ClusterAction,
  coldStartState,
  contextOf,
  createClusterModel,
  enabledActions,
} from "../../model/cluster_model.ts";
import type { ClusterModelOptions, ClusterModelState } from "../../model/cluster_types.ts";
import { DEFAULT_BOUNDS, modelCheckRuns } from "../../model/runs.ts";
import { startOf, warmStart } from "../../model/warm_start.ts";
import {
  counterexampleOf,
  loadCounterexample,
  replaySaved,
  saveCounterexample,
} from "../../model/saved_counterexample.ts";
import { clusterProperties, INVARIANTS } from "../../model/invariants.ts";
import { ScriptedRun } from "../../model/scripted_run.ts";
import { isWritable } from "../../model/postgres_model.ts";
import { hasWriteAuthority } from "../../src/core/mod.ts";

const quiet = { progressIntervalMs: 0, stopOnViolation: true };

// Every control, the excess-drift one included (from clock-swing: 386 states).
const controls = modelCheckRuns(false).filter((spec) => spec.mustBreak !== null);

for (const spec of controls) {
  Deno.test(`control ${spec.options.name} breaks "${spec.mustBreak}"; its saved trace replays`, async () => {
    const start = startOf(spec.options, spec.scenario);
    const model = createClusterModel(spec.options, start.state);
    const report = explore(
      model,
      defaultExploreOptions({ ...quiet, maxDepth: spec.maxDepth, maxStates: spec.maxStates }),
    );
    const violation = report.violations[0];
    assert(
      violation !== undefined,
      `${spec.options.name}: no counterexample within depth ${spec.maxDepth}`,
    );
    assertEquals(violation.property, spec.mustBreak);
    const directory = await Deno.makeTempDir({ prefix: "hactl-model-" });
    try {
      const file = await saveCounterexample(
        directory,
        counterexampleOf(spec, start.script, violation),
      );
      const saved = await loadCounterexample(file);
      const replayed = replaySaved(saved);
      assertEquals(replayed.problem, violation.message);
      // The same schedule with every fault off must not break the invariant (or must stop
      // being possible): the counterexample is due to the switched-off rule.
      if (spec.options.faults !== NO_FAULTS) {
        const realOptions: ClusterModelOptions = { ...spec.options, faults: NO_FAULTS };
        let realProblem: string | null = null;
        try {
          realProblem = replaySaved({ ...saved, options: realOptions }).problem;
        } catch {
          realProblem = null; // diverged: the real core does not allow this schedule
        }
        assertEquals(realProblem, null);
      }
    } finally {
      await Deno.remove(directory, { recursive: true });
    }
  });
}

Deno.test("symmetry reduction explores fewer states and finds the same verdict", () => {
  const spec = modelCheckRuns(false).find((run) => run.options.name === "real cold")!;
  const initial = startOf(spec.options, spec.scenario).state;
  const model = createClusterModel(spec.options, initial);
  const options = { ...quiet, maxDepth: 4, maxStates: 200_000 };
  const reduced = explore(model, defaultExploreOptions({ ...options, symmetry: true }));
  const full = explore(model, defaultExploreOptions({ ...options, symmetry: false }));
  assertEquals(reduced.violations.length, 0);
  assertEquals(full.violations.length, 0);
  assert(
    full.states > reduced.states * 2,
    `symmetry saved too little: ${full.states} vs ${reduced.states}`,
  );
});

/** Options for random schedules: the real core, default bounds but deeper than exhaustive. */
const randomOptions: ClusterModelOptions = {
  name: "random",
  nodeCount: 3,
  faults: NO_FAULTS,
  bounds: {
    ...DEFAULT_BOUNDS,
    maxCrashes: 3,
    maxWrites: 4,
    maxProposals: 2,
    maxDuplicates: 2,
    dropMessages: true,
  },
  start: "cold",
  invariants: "all",
};

/** Runs a schedule of choice numbers; returns the first invariant problem, and the final state. */
function runSchedule(
  options: ClusterModelOptions,
  choices: readonly number[],
): { problem: string | null; state: ClusterModelState } {
  const context = contextOf(options);
  const properties = clusterProperties(context, options.invariants);
  let state = coldStartState(options);
  for (const choice of choices) {
    const actions: ClusterAction[] = enabledActions(context, state);
    const action = actions[choice % actions.length]!;
    const previous = state;
    state = applyAction(context, state, action);
    for (const property of properties) {
      if (property.kind !== "always") continue;
      const problem = property.check(state, { state: previous, action });
      if (problem !== null) return { problem: `${property.name}: ${problem}`, state };
    }
  }
  return { problem: null, state };
}

/** The schedule length: well past the exhaustive depth bounds. */
const SCHEDULE_STEPS = 150;

Deno.test("long random schedules keep every invariant of the real configuration (seed printed on failure)", () => {
  const seed = Number(Deno.env.get("HACTL_MODEL_SEED") ?? Date.now() % 1_000_000);
  console.log(`random schedules: seed ${seed} (rerun with HACTL_MODEL_SEED=${seed})`);
  fc.assert(
    fc.property(
      fc.array(fc.nat(), { minLength: SCHEDULE_STEPS, maxLength: SCHEDULE_STEPS }),
      (choices) => {
        const { problem } = runSchedule(randomOptions, choices);
        if (problem !== null) throw new Error(problem);
      },
    ),
    { seed, numRuns: 40 },
  );
});

Deno.test("a random schedule replays exactly from its seed", () => {
  const draw = (seed: number) =>
    fc.sample(fc.array(fc.nat(), { minLength: 80, maxLength: 80 }), { seed, numRuns: 1 })[0]!;
  const first = runSchedule(randomOptions, draw(4242)).state;
  const second = runSchedule(randomOptions, draw(4242)).state;
  const model = createClusterModel(randomOptions, coldStartState(randomOptions));
  assertEquals(model.fingerprint(first, false), model.fingerprint(second, false));
});

Deno.test("the random search can fail: it breaks an invariant when the lease wait is skipped", () => {
  const mutant = { ...randomOptions, faults: { ...NO_FAULTS, skipLeaseWait: true } };
  const found = fc.sample(fc.array(fc.nat(), { minLength: 200, maxLength: 200 }), {
    seed: 7,
    numRuns: 300,
  })
    .some((choices) => runSchedule(mutant, choices).problem !== null);
  assert(found, "no random schedule broke an invariant with the lease wait skipped");
});

Deno.test("after any random fault schedule, a healed cluster elects a writable primary (L1)", () => {
  const healSteps = 80;
  fc.assert(
    fc.property(fc.array(fc.nat(), { minLength: 60, maxLength: 60 }), (choices) => {
      const context = contextOf(randomOptions);
      let { state } = runSchedule(randomOptions, choices);
      for (let step = 0; step < healSteps; step++) {
        // Heal: restart crashed nodes, let the supervisor work, and run synchronous rounds.
        // The model's jitter is fixed, so equal timers would split votes forever: every
        // fourth step one node's clock runs ahead, as random jitter does in a real cluster.
        const actions = enabledActions(context, state);
        const ahead = step % 4 === 0
          ? actions.find((action) =>
            action.kind === "rush" && action.node === (step / 4) % state.nodes.length
          )
          : undefined;
        const next = actions.find((action) => action.kind === "restart") ??
          actions.find((action) => action.kind === "reconcile") ??
          actions.find((action) => action.kind === "stream") ?? ahead ??
          actions.find((action) => action.kind === "round" && action.isolated === -1)!;
        state = applyAction(context, state, next);
        const primary = state.nodes.find((node) =>
          node.core !== null && hasWriteAuthority(node.core) && isWritable(node.postgres)
        );
        if (primary !== undefined) return;
      }
      throw new Error(`no writable primary within ${healSteps} healing steps`);
    }),
    { seed: 99, numRuns: 25 },
  );
});

Deno.test("figure 8 in full: after the control's early commit, the flagged node wins and overwrites the entry", () => {
  const spec = modelCheckRuns(false).find((run) => run.options.name === "commitOldTermByCount")!;
  const warm = warmStart(spec.options, "figure-8");
  const model = createClusterModel(spec.options, warm.state);
  const report = explore(
    model,
    defaultExploreOptions({ ...quiet, maxDepth: spec.maxDepth, maxStates: spec.maxStates }),
  );
  const violation = report.violations[0]!;
  assertEquals(violation.property, INVARIANTS.leaderCompleteness);
  const electable = /^(n\d+) could win an election/.exec(violation.message)?.[1];
  assert(electable !== undefined, `unexpected message: ${violation.message}`);
  const context = contextOf(spec.options);
  let state = warm.state;
  for (const action of violation.actions) state = applyAction(context, state, action);
  // Continue as Raft's figure 8 (d): the leader that committed by counting crashes, the
  // flagged node restarts and wins with the votes of the running nodes its log beats.
  const scripted = new ScriptedRun(context, state);
  const leader = state.nodes.findIndex((node) => node.core?.role === "leader");
  const winner = context.nodeIds.indexOf(electable);
  scripted.run({ kind: "crash", node: leader });
  scripted.dropAll();
  scripted.run({ kind: "restart", node: winner });
  const voters = scripted.state.nodes.flatMap((node, index) =>
    node.core !== null && index !== winner ? [index] : []
  );
  scripted.elect(winner, voters);
  const [lost] = clusterProperties(context, [INVARIANTS.committedNeverLost]);
  assert(lost?.kind === "always");
  const problem = lost.check(scripted.state, null);
  assert(
    problem !== null && problem.startsWith(`leader ${electable} (t5) has term 3 at 3`),
    `the committed entry survived: ${problem}`,
  );
});
