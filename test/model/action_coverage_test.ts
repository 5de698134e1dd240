// Proves the model drives every input the core accepts: the kinds of `Input`, of
// `AdminRequest` and of the commands an operator proposes are read from src/core/types.ts
// itself, so a kind added there and not driven by the model fails this test. A scripted
// walk through the model's own actions (each checked enabled) feeds the real core a tick,
// messages, observations, every admin request kind and a bootstrap; a removed member is
// added back as a learner and the core promotes it to voter. From the rejoin warm start,
// the data actions (a failed rewind, a clone, replay lag and catch-up) feed the core every
// Postgres status it accepts (absent and unreadable included) and both replay states.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { decidePostgresRole, type Input } from "../../src/core/mod.ts";
import { type ClusterAction, contextOf, enabledActions } from "../../model/cluster_model.ts";
import type { ClusterModelOptions } from "../../model/cluster_types.ts";
import type { ModelContext } from "../../model/cluster_step.ts";
import { DEFAULT_BOUNDS, issueBounds } from "../../model/runs.ts";
import { warmStart } from "../../model/warm_start.ts";
import { ScriptedRun } from "../../model/scripted_run.ts";
import { NO_FAULTS } from "../../src/core/mod.ts";

/** The string literals of `kind` in the union type `name` of src/core/types.ts. */
async function kindsOf(name: string): Promise<string[]> {
  const source = await Deno.readTextFile(new URL("../../src/core/types.ts", import.meta.url));
  const start = source.indexOf(`export type ${name} =`);
  assert(start >= 0, `types.ts has no union type ${name}`);
  const end = source.indexOf(";\n\n", start);
  const body = source.slice(start, end);
  return [...body.matchAll(/kind: "([a-z-]+)"/g)].map((match) => match[1]!).sort();
}

/** Commands an operator does not propose directly, and why. */
const COMMANDS_NOT_PROPOSED: Record<string, string> = {
  noop: "written by every new leader itself",
  membership: "refused by propose: membership changes go through add-learner and remove-member",
};

const options: ClusterModelOptions = {
  name: "coverage",
  nodeCount: 3,
  faults: NO_FAULTS,
  bounds: {
    ...DEFAULT_BOUNDS,
    maxOperatorRequests: 10,
    maxProposals: 1,
    maxMembershipChanges: 1,
    maxPostgresCrashes: 1,
    observationLag: true,
  },
  start: "warm",
  invariants: "all",
};

Deno.test("the model drives every Input, AdminRequest and proposed command kind", async () => {
  const seen = { input: new Set<string>(), admin: new Set<string>(), command: new Set<string>() };
  const record = (input: Input) => {
    seen.input.add(input.kind);
    if (input.kind !== "admin") return;
    seen.admin.add(input.request.kind);
    if (input.request.kind === "propose") seen.command.add(input.request.command.kind);
  };
  const context: ModelContext = { ...contextOf(options), onInput: record };
  const start = warmStart(options, "steady");
  const run = new ScriptedRun(context, start.state);
  const kinds = (action: ClusterAction) => action.kind;
  const offered = new Set(enabledActions(context, run.state).map(kinds));
  for (const kind of ["transfer", "maintenance", "bootstrap", "propose", "remove", "observe"]) {
    assert(offered.has(kind as ClusterAction["kind"]), `steady leader is not offered ${kind}`);
  }
  // One of each operator action the leader is offered (transfer last: it stops admin requests).
  const leaderActions = enabledActions(context, run.state).filter((action) =>
    ["maintenance", "bootstrap", "propose"].includes(action.kind)
  );
  for (const action of leaderActions) run.run(action);
  run.take((action) => action.kind === "tick-all" || action.kind === "observe", "tick");
  run.take((action) => action.kind === "deliver", "deliver a message");
  removeThenAddLearner(run);
  run.take((action) => action.kind === "transfer", "transfer leadership");
  assertEquals([...seen.input].sort(), await kindsOf("Input"));
  assertEquals([...seen.admin].sort(), await kindsOf("AdminRequest"));
  const proposable = (await kindsOf("Command")).filter((kind) => !(kind in COMMANDS_NOT_PROPOSED));
  assertEquals([...seen.command].sort(), proposable);
});

/** Removes a voter, lets it commit, adds it back as a learner and waits for its promotion. */
function removeThenAddLearner(run: ScriptedRun): void {
  const leader = run.state.nodes.findIndex((node) => node.core?.role === "leader");
  run.take((action) => action.kind === "remove" && action.node === leader, "remove a voter");
  const removed = run.script[run.script.length - 1]!;
  assert(removed.kind === "remove");
  const target = run.context.nodeIds[removed.target]!;
  const leaderCore = () => run.state.nodes[leader]!.core!;
  settle(run, () => !leaderCore().applied.membership.voters.includes(target), "the removal");
  run.take((action) => action.kind === "add-learner", "add the removed node as a learner");
  settle(run, () => leaderCore().applied.membership.voters.includes(target), "the promotion");
}

/** Synchronous rounds, reconciles and observations until `done` (at most 60 steps). */
function settle(run: ScriptedRun, done: () => boolean, what: string): void {
  const order: ClusterAction["kind"][] = ["observe", "reconcile", "stream", "round"];
  for (let step = 0; !done(); step++) {
    assert(step < 60, `${what} did not complete in 60 steps`);
    const enabled = enabledActions(run.context, run.state);
    const action = order.map((kind) =>
      enabled.find((candidate) =>
        candidate.kind === kind &&
        (kind !== "round" || (candidate.kind === "round" && candidate.isolated < 0))
      )
    ).find((candidate) => candidate !== undefined);
    assert(action !== undefined, `${what}: nothing enabled`);
    run.run(action);
  }
}

/** The string literals of the union type `name` in `file` (a type of string literals). */
async function literalsOf(file: string, name: string, field = ""): Promise<string[]> {
  const source = await Deno.readTextFile(new URL(file, import.meta.url));
  const start = source.indexOf(field === "" ? `type ${name} =` : `interface ${name} {`);
  assert(start >= 0, `${file} has no type ${name}`);
  const from = field === "" ? start : source.indexOf(`readonly ${field}:`, start);
  const body = source.slice(from, source.indexOf(";", from));
  return [...body.matchAll(/"([a-z-]+)"/g)].map((match) => match[1]!).sort();
}

Deno.test("the model feeds every Postgres status and replay state, by its data actions", async () => {
  const statuses = new Set<string>();
  const replay = new Set<boolean>();
  const record = (input: Input) => {
    if (input.kind !== "postgres") return;
    statuses.add(input.observation.status);
    replay.add(input.observation.replayCaughtUp);
  };
  const dataOptions: ClusterModelOptions = {
    ...options,
    bounds: {
      ...issueBounds(DEFAULT_BOUNDS).rejoin!,
      maxUnreplayedRecords: 2,
      maxPostgresCrashes: 1,
      maxUnreadablePostgres: 1,
    },
  };
  const context: ModelContext = { ...contextOf(dataOptions), onInput: record };
  const run = new ScriptedRun(context, warmStart(dataOptions, "rejoin").state);
  const offered = new Set<string>();
  const note = () =>
    enabledActions(context, run.state).forEach((action) => offered.add(action.kind));
  // A standby that has not flushed the write in flight may receive it without replaying it.
  enabledActions(context, warmStart(dataOptions, "write-in-flight").state)
    .forEach((action) => offered.add(action.kind));
  const deposed = run.state.nodes.findIndex((node) =>
    node.core !== null && decidePostgresRole(node.core).kind === "rejoin"
  );
  const own = (kind: ClusterAction["kind"]) => (action: ClusterAction) =>
    action.kind === kind && "node" in action && action.node === deposed;
  note();
  for (const kind of ["rewind-fails", "reconcile", "cloned"] as const) {
    run.take(own(kind), kind);
    note();
  }
  run.take((action) => action.kind === "replay", "replay");
  run.take((action) => action.kind === "postgres-crash", "crash a Postgres");
  run.take((action) => action.kind === "postgres-unreadable", "reads of a Postgres fail");
  const dataKinds = await literalsOf("../../model/cluster_model.ts", "DataActionKind");
  assertEquals(dataKinds.filter((kind) => !offered.has(kind)), []);
  assertEquals(
    [...statuses].sort(),
    await literalsOf("../../src/core/types.ts", "PostgresObservation", "status"),
  );
  assertEquals([...replay].sort(), [false, true]);
});
