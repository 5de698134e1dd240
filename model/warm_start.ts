/**
 * Warm starts: states reached from the cold start by a fixed, scripted schedule of model
 * actions (so every warm state is reachable, and a counterexample found from it replays
 * from the cold start as script + found actions). They let a bounded search begin where
 * the interesting failures begin — a primary serving writes — instead of spending its
 * depth on the first election.
 *
 * @module
 */
import { decidePostgresRole, hasWriteAuthority, synchronousStandbyNames } from "../src/core/mod.ts";
import {
  type ClusterModelOptions,
  type ClusterModelState,
  COLD_START_SNAPSHOT_INDEX,
  type Scenario,
} from "./cluster_types.ts";
import { type ClusterAction, coldStartState, contextOf, enabledActions } from "./cluster_model.ts";
import { isWritable } from "./postgres_model.ts";
import { ScriptedRun } from "./scripted_run.ts";

/** A scripted prefix and the state it reaches. */
export interface WarmStart {
  readonly state: ClusterModelState;
  readonly script: readonly ClusterAction[];
}

/** Most scripted steps before giving up (an election and promotion take a few dozen). */
const MAX_SCRIPT_STEPS = 400;

/**
 * "steady": one node (the first elected) is the writable primary with write authority, every other node a caught-up
 * standby streaming from it, the synchronous names applied, nothing in flight.
 * "write-in-flight": steady, then a client write on the primary that one standby has flushed.
 * "crash-after-ack": write-in-flight, then the primary's machine crashes (the search starts
 * at the failover; with lagging observations, the standby that flushed the write read its
 * Postgres just before, so its core has not seen the write).
 * "figure-8" (N=5): the divergent logs of the Raft paper's figure 8, see {@link figure8}.
 * "snapshot-catch-up": a leader that compacted its log past a crashed follower's, see
 * {@link snapshotCatchUp}.
 * "rejoin": a deposed primary asked to rejoin, the new leader's replay behind, see
 * {@link rejoinScenario}; "rejoin-data-lost": then its rewind fails and the new leader
 * crashes, see {@link dataLost}.
 * "bootstrap" (options.uninitialised): a new cluster, see {@link bootstrapCluster}.
 */
export function warmStart(
  options: ClusterModelOptions,
  scenario: Exclude<Scenario, "cold">,
): WarmStart {
  const scripted = new ScriptedRun(contextOf(options), coldStartState(options));
  if (scenario === "bootstrap") {
    bootstrapCluster(scripted);
    return { state: scripted.state, script: scripted.script };
  }
  // n1's clock runs one tick ahead so that it times out first: a clean first election.
  scripted.run({ kind: "tick", node: 0, jitter: options.bounds.jitterChoices[0] ?? 0 });
  for (let step = 0; steadyPrimary(scripted.state) < 0; step++) {
    if (step >= MAX_SCRIPT_STEPS) {
      throw new Error(
        `warm start of ${options.name}: no steady primary after ${MAX_SCRIPT_STEPS} scripted steps`,
      );
    }
    scripted.run(nextScriptedAction(enabledActions(scripted.context, scripted.state)));
  }
  if (scenario === "write-in-flight" || scenario === "crash-after-ack") {
    const primary = steadyPrimary(scripted.state);
    const standby = primary === 0 ? 1 : 0;
    // Before a crash: one tick since the standbys last heard the leader, so that a read
    // taken now is younger than their leader contact (it can still count when they vote).
    if (scenario === "crash-after-ack") scripted.run({ kind: "tick-all" });
    scripted.run({ kind: "write", node: primary });
    // With lagging observations, the standby reads its Postgres just before it flushes the
    // write: its core's observation misses an acknowledged write until its next read.
    const read = (action: ClusterAction) => action.kind === "observe" && action.node === standby;
    if (scripted.can(read)) scripted.take(read, "observe the standby");
    scripted.run({ kind: "stream", node: standby });
    // "crash-after-ack": the write is acknowledged, every other standby reads its Postgres
    // (its receiver still up), then the primary's machine crashes.
    if (scenario === "crash-after-ack") {
      scripted.state.nodes.forEach((_, node) => {
        const read = (action: ClusterAction) =>
          action.kind === "observe" && action.node === node && node !== standby;
        if (scripted.can(read)) scripted.take(read, "observe a standby");
      });
      scripted.run({ kind: "crash", node: primary });
    }
  }
  if (scenario === "figure-8") figure8(scripted);
  if (scenario === "fenced-write") fencedWrite(scripted);
  if (scenario === "snapshot-catch-up") snapshotCatchUp(scripted);
  if (scenario === "clock-swing") clockSwing(scripted);
  if (scenario === "rejoin" || scenario === "rejoin-data-lost") rejoinScenario(scripted);
  if (scenario === "rejoin-data-lost") dataLost(scripted);
  if (scenario === "asynchronous") asynchronousScenario(scripted);
  if (scenario === "transfer" || scenario === "paused" || scenario === "postgres-restart") {
    operatorScenario(scripted, scenario);
  }
  return { state: scripted.state, script: scripted.script };
}

/** Where a run of `scenario` starts: the cold start (no script), or its warm start. */
export function startOf(options: ClusterModelOptions, scenario: Scenario): WarmStart {
  return scenario === "cold"
    ? { state: coldStartState(options), script: [] }
    : warmStart(options, scenario);
}

/**
 * Raft's figure 8, (a) and (b), from a steady five-node cluster led by s1: s1 appends an
 * entry in its term and replicates it to s2 only, then crashes; s5 wins the next term with
 * the votes of s3 and s4 (s2, whose log is longer, is not asked), appends its own entry
 * at the same index, and crashes before sending it. Nothing is committed that a correct
 * leader could not commit. What follows is left to the search: some node (s2, or s1 after a
 * restart) wins a later term and replicates the old entry to a majority. A correct core
 * waits for an entry of its own term before it counts that as committed; the
 * commitOldTermByCount control does not, while s5 can still win and overwrite the entry.
 */
function figure8(scripted: ScriptedRun): void {
  const ids = scripted.context.nodeIds;
  if (ids.length !== 5) throw new Error(`the figure-8 warm start needs 5 nodes, not ${ids.length}`);
  const s1 = steadyPrimary(scripted.state);
  const [s2, s3, s4, s5] = [0, 1, 2, 3, 4].filter((node) => node !== s1) as [
    number,
    number,
    number,
    number,
  ];
  scripted.take((action) => action.kind === "propose" && action.node === s1, "propose");
  scripted.take((action) => {
    const sent = scripted.messageOf(action);
    return action.kind === "deliver" && sent?.kind === "append" && sent.to === ids[s2] &&
      sent.entries.length > 0;
  }, "deliver the new entry to one follower");
  scripted.take((action) => action.kind === "crash" && action.node === s1, "crash the leader");
  scripted.dropAll();
  scripted.elect(s5, [s3, s4]);
  scripted.take((action) => action.kind === "crash" && action.node === s5, "crash s5");
  scripted.dropAll();
}

/**
 * From steady, with the primary p:
 * "transfer": p is asked to transfer leadership to another voter; the script runs until
 * p's TimeoutNow is in flight, undelivered (the target stalls; what follows is searched).
 * "paused": p proposes pause and every node applies it; then p is cut off until another
 * node leads (a partition p does not hear about; the search may resume and promote).
 * "postgres-restart": p's Postgres crashes (its agent runs on) and p's supervisor starts it
 * again as p's core decides; then p is cut off until another node leads, while that start
 * is still under way (crash recovery is slow; the search finishes it).
 */
function operatorScenario(
  scripted: ScriptedRun,
  scenario: "transfer" | "paused" | "postgres-restart",
): void {
  const primary = steadyPrimary(scripted.state);
  if (scenario === "postgres-restart") {
    const own = (kind: ClusterAction["kind"]) => (action: ClusterAction) =>
      action.kind === kind && "node" in action && action.node === primary;
    scripted.take(own("postgres-crash"), "crash Postgres");
    if (scripted.can(own("observe"))) scripted.take(own("observe"), "observe");
    scripted.take(own("reconcile"), "restart Postgres");
    cutOffUntilNewLeader(scripted, primary);
    return;
  }
  if (scenario === "transfer") {
    scripted.take((action) => action.kind === "transfer" && action.target >= 0, "transfer");
  } else {
    scripted.take((action) => action.kind === "maintenance" && action.command === "pause", "pause");
  }
  const done = () =>
    scenario === "transfer"
      ? scripted.state.messages.some((message) => message.kind === "timeout-now")
      : scripted.state.messages.length === 0 &&
        scripted.state.nodes.every((node) => node.core?.applied.paused === true);
  for (let step = 0; !done(); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error(`warm start: ${scenario} did not complete`);
    scripted.run(nextScriptedAction(enabledActions(scripted.context, scripted.state)));
  }
  if (scenario === "paused") cutOffUntilNewLeader(scripted, primary);
}

/**
 * Cuts `node` off (every message to or from it is lost; its supervisor keeps acting) and
 * elects the first other node with the votes of the rest, as {@link ScriptedRun.elect}:
 * only messages from or to that candidate are delivered, the rest are lost.
 */
function cutOffUntilNewLeader(scripted: ScriptedRun, node: number): void {
  const ids = scripted.context.nodeIds;
  const candidate = node === 0 ? 1 : 0;
  // Every supervisor acts first (a standby without a live leader stops its receiver, which
  // its votes need).
  const supervise = (action: ClusterAction) =>
    action.kind === "reconcile" || action.kind === "observe";
  const talks = (action: ClusterAction) => {
    const sent = scripted.messageOf(action);
    if (action.kind !== "deliver" || sent === null) return false;
    const [from, to] = [ids.indexOf(sent.from), ids.indexOf(sent.to)];
    const answer = sent.kind === "vote-response" || sent.kind === "append-response";
    // The candidate's requests out, and the answers to them back; nothing else.
    return from !== node && to !== node &&
      (answer ? to === candidate : from === candidate);
  };
  const ticksAlone = (action: ClusterAction) => action.kind === "tick" && action.node === candidate;
  for (let step = 0; scripted.state.nodes[candidate]!.core?.role !== "leader"; step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error(`warm start: ${ids[candidate]} was not elected`);
    if (scripted.can(supervise)) scripted.take(supervise, "let the cut-off node's supervisor act");
    else if (scripted.can(talks)) scripted.take(talks, "deliver an election message");
    else if (scripted.state.messages.length > 0) {
      scripted.take((action) => action.kind === "drop", "drop a message");
    } else if (scripted.can(ticksAlone)) {
      scripted.take(ticksAlone, "run the candidate's clock ahead");
    } else scripted.take((action) => action.kind === "tick-all", "let time pass");
  }
}

/**
 * "fenced-write" (S2's start): from steady, a client write on the primary p that no standby
 * has flushed yet; then p is cut off (every message lost) until its lease ends and its
 * supervisor fences it. The standbys still stream from p (their leader is not yet E ticks
 * silent). With the real fence the write fails at the fence; with the model option
 * `fenceKeepsWaitingCommits` it keeps waiting, and the search looks for its acknowledgement
 * after a newer promotion.
 */
function fencedWrite(scripted: ScriptedRun): void {
  const primary = steadyPrimary(scripted.state);
  scripted.run({ kind: "write", node: primary });
  const fenced = () => scripted.state.nodes[primary]!.postgres.fenced;
  const fence = (action: ClusterAction) => action.kind === "reconcile" && action.node === primary;
  for (let step = 0; !fenced(); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the primary was not fenced");
    if (scripted.state.messages.length > 0) scripted.dropAll();
    else if (scripted.can(fence)) scripted.take(fence, "fence the primary");
    else scripted.take((action) => action.kind === "tick-all", "let time pass");
  }
}

/**
 * "clock-swing" (the drift bound's start): from steady, the primary p's clock runs ahead of
 * the others as far as the drift bound allows and p's heartbeat round is then acknowledged
 * (its lease renewed at its fastest, the followers' contact at their slowest); p is cut off
 * from here on (nothing in flight, and its clock stands still while the followers' clocks run
 * ahead of it as far as the bound allows). That is the whole swing of 2D ticks the lease
 * derivation allows for (runs.ts, `safeClockDriftTicks`), spent at once right after the
 * renewal; the search continues with every action, p's clock included. Within the bound the
 * followers still wait out p's lease; with D + 1 (the excess-drift control) one may win while
 * p's lease runs.
 */
function clockSwing(scripted: ScriptedRun): void {
  const primary = steadyPrimary(scripted.state);
  const alone = (node: number) => (action: ClusterAction) =>
    action.kind === "tick" && action.node === node;
  // First the clocks are brought level (the slowest ticks until none is ahead).
  for (let step = 0; scripted.state.nodes.some((node) => node.clockLead > 0); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the clocks were not levelled");
    const slowest = scripted.state.nodes.findIndex((node) => node.clockLead === 0);
    scripted.take(alone(slowest), "tick the slowest clock");
  }
  for (let step = 0; scripted.can(alone(primary)); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the primary's clock kept running");
    scripted.take(alone(primary), "run the primary's clock ahead");
  }
  const deliver = (action: ClusterAction) => action.kind === "deliver";
  for (let step = 0; scripted.state.messages.length > 0; step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: heartbeats kept coming");
    scripted.take(deliver, "deliver a heartbeat or its answer");
  }
  const followers = scripted.state.nodes.map((_, node) => node).filter((node) => node !== primary);
  // Each follower runs ahead in turn; once all of them lead p, the leads are counted from p
  // again (normalised) and they run ahead once more.
  for (let step = 0; followers.some((node) => scripted.can(alone(node))); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the followers' clocks kept running");
    const next = followers.find((node) => scripted.can(alone(node)))!;
    scripted.take(alone(next), "run a follower's clock ahead of the cut-off primary");
  }
  if (scripted.state.messages.length > 0) {
    throw new Error("warm start: clock-swing sent messages while the followers ran ahead");
  }
}

/**
 * "snapshot-catch-up" (log compaction, issue 10): from steady with the primary p, one
 * standby's machine crashes; p takes kv proposals one at a time and commits each with the
 * other follower, until its log passes the cores' log limit and p compacts it into a
 * snapshot past every entry the crashed node holds. Messages to the crashed node are
 * lost; the script ends with nothing in flight and the node still down. The search restarts
 * it, and p can catch it up only by InstallSnapshot (its next index is below p's log).
 */
function snapshotCatchUp(scripted: ScriptedRun): void {
  const primary = steadyPrimary(scripted.state);
  const behind = primary === 0 ? 1 : 0;
  const behindId = scripted.context.nodeIds[behind];
  scripted.run({ kind: "crash", node: behind });
  const leader = () => scripted.state.nodes[primary]!.core;
  const compacted = () => (leader()?.snapshot?.lastIndex ?? 0) > COLD_START_SNAPSHOT_INDEX;
  const settled = () =>
    scripted.state.messages.length === 0 &&
    scripted.state.nodes.every((node, index) =>
      index === behind || node.core?.commitIndex === leader()?.commitIndex
    );
  const lost = (action: ClusterAction) =>
    action.kind === "drop" && scripted.messageOf(action)?.to === behindId;
  const propose = (action: ClusterAction) => action.kind === "propose" && action.node === primary;
  for (let step = 0; !(compacted() && settled()); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the leader did not compact its log");
    if (scripted.can(lost)) scripted.take(lost, "lose a message to the crashed node");
    else if (!compacted() && settled()) scripted.take(propose, "propose a kv command");
    else scripted.run(nextScriptedAction(enabledActions(scripted.context, scripted.state)));
  }
}

/**
 * "rejoin" (absent data and replay lag, issue 10): from steady with the primary p, a client
 * write on p that the standby c receives without replaying it (acknowledged: c flushed it);
 * then p is cut off until c leads, and time passes until p hears of c and its core asks for
 * a rejoin (p fenced, its rewind not started). The search rewinds p or has the rewind fail
 * (p's directory absent, re-cloned from c as the core asks), and replays c's WAL before c,
 * whose core waits for that, is promoted.
 */
function rejoinScenario(scripted: ScriptedRun): void {
  const primary = steadyPrimary(scripted.state);
  const candidate = primary === 0 ? 1 : 0;
  scripted.run({ kind: "write", node: primary });
  scripted.run({ kind: "stream-unreplayed", node: candidate });
  cutOffUntilNewLeader(scripted, primary);
  const deposed = () => scripted.state.nodes[primary]!.core;
  const rejoining = () => {
    const core = deposed();
    return core !== null && decidePostgresRole(core).kind === "rejoin";
  };
  for (let step = 0; !rejoining(); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the deposed primary never rejoins");
    scripted.run(nextScriptedAction(enabledActions(scripted.context, scripted.state)));
  }
}

/**
 * "rejoin-data-lost" (a vote without data, issue 10): from "rejoin", the deposed primary
 * p's rewind fails (its data directory absent: the acknowledged write it held is gone from
 * it); synchronous rounds bring every follower's Raft log up to the new leader c's; then
 * c's machine crashes. The write is now on c's disk alone, and the third node, which never
 * received it, needs only p's vote to win.
 */
function dataLost(scripted: ScriptedRun): void {
  const deposed = scripted.state.nodes.findIndex((node) =>
    node.core !== null && decidePostgresRole(node.core).kind === "rejoin"
  );
  const leader = scripted.state.nodes.findIndex((node) => node.core?.role === "leader");
  scripted.take((action) => action.kind === "rewind-fails" && action.node === deposed, "fail");
  const lastIndex = (node: number) => scripted.state.nodes[node]!.core?.log.at(-1)?.index ?? 0;
  const behind = () =>
    scripted.state.nodes.some((_, node) => node !== leader && lastIndex(node) < lastIndex(leader));
  for (let step = 0; behind(); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the followers' logs stay behind");
    scripted.run({ kind: "round", isolated: -1 });
  }
  scripted.run({ kind: "crash", node: leader });
}

/**
 * "bootstrap" (initdb and clones, issue 10): every node uninitialised, without data; n1 is
 * bootstrapped (a single-voter cluster), its supervisor runs initdb as its core asks, the
 * new primary is unfenced, every other node is added as a learner, and synchronous rounds
 * run until each learner's core asks for a clone from n1. The search runs the clones, and
 * the leader promotes each caught-up learner to voter.
 */
function bootstrapCluster(scripted: ScriptedRun): void {
  scripted.run({ kind: "bootstrap", node: 0 });
  const first = () => scripted.state.nodes[0]!;
  const ready = () => {
    const core = first().core;
    return core !== null && isWritable(first().postgres) && hasWriteAuthority(core) &&
      scripted.state.messages.length === 0;
  };
  for (let step = 0; !ready(); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the bootstrapped node never serves");
    scripted.run(nextScriptedAction(enabledActions(scripted.context, scripted.state)));
  }
  scripted.state.nodes.forEach((_, target) => {
    if (target === 0) return;
    scripted.run({ kind: "add-learner", node: 0, target });
  });
  // The learners hear of the leader: their cores ask for a clone, which the search runs.
  const cloneAsked = () =>
    scripted.state.nodes.every((node, index) =>
      index === 0 || (node.core !== null && decidePostgresRole(node.core).kind === "clone")
    );
  for (let step = 0; !cloneAsked(); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: the learners never hear of n1");
    scripted.run({ kind: "round", isolated: -1 });
  }
}

/** Deliver first, then reconcile Postgres, then observe, then stream WAL, then let time pass. */
function nextScriptedAction(actions: readonly ClusterAction[]): ClusterAction {
  const order: ClusterAction["kind"][] = ["deliver", "reconcile", "observe", "stream", "tick-all"];
  for (const kind of order) {
    const action = actions.find((candidate) => candidate.kind === kind);
    if (action !== undefined) return action;
  }
  throw new Error("warm start: no scripted action is enabled");
}

/**
 * "asynchronous": steady, then the primary proposes asynchronous mode (one operator request)
 * and the script runs until every node applied it and the primary runs with the commit
 * gate's names, steady again. What follows is searched: the return to quorum mode (the
 * operator's next request) with its window before the primary's names change.
 */
function asynchronousScenario(scripted: ScriptedRun): void {
  scripted.take(
    (action) => action.kind === "maintenance" && action.command === "asynchronous",
    "asynchronous mode",
  );
  const settled = () => {
    const primary = scripted.state.nodes[steadyPrimary(scripted.state)];
    return primary !== undefined && primary.core !== null &&
      scripted.state.nodes.every((node) => node.core?.applied.syncMode === "asynchronous") &&
      primary.postgres.synchronousStandbyNames === synchronousStandbyNames(primary.core);
  };
  for (let step = 0; !settled(); step++) {
    if (step >= MAX_SCRIPT_STEPS) throw new Error("warm start: asynchronous mode not settled");
    scripted.run(nextScriptedAction(enabledActions(scripted.context, scripted.state)));
  }
}

/** The index of the steady primary, or -1 when the cluster is not steady yet. */
function steadyPrimary(state: ClusterModelState): number {
  if (state.messages.length > 0) return -1;
  const index = state.nodes.findIndex((node) => isWritable(node.postgres));
  const primary = state.nodes[index];
  if (primary === undefined || primary.core === null || !hasWriteAuthority(primary.core)) return -1;
  const caughtUp = state.nodes.every((node, other) =>
    other === index || (node.postgres.status === "running" && node.postgres.inRecovery &&
      node.postgres.source === index && node.postgres.wal.length === primary.postgres.wal.length)
  );
  return caughtUp ? index : -1;
}
