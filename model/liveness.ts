/**
 * Bounded liveness (issue 10 item 6): once faults stop, a writable primary within T ticks,
 * from every state an exhaustive run reaches.
 *
 * "Faults stop" means: crashed agents restart (systemd), no message is dropped or
 * duplicated, no operator request is made but the resume of a paused cluster (a paused
 * cluster does not fail over by design, so the operator resumes it: see `resumeRequest`),
 * and the environment is fair. From each reached
 * state a deterministic fault-free continuation runs in a round-robin: restart every crashed
 * node; let every supervisor do its work (start, reconcile: fence, promote, follow, rewind;
 * stream WAL; observe) until none is left; then one synchronous round (every clock ticks
 * once, every message in flight and its answers delivered). Every fourth round one node in
 * turn runs its clock one tick ahead (within the drift bound) first: the model's jitter is
 * fixed, and equal timers would split the vote forever, where a real cluster's random
 * timeouts break the tie; the supervisors' work that creates (a timer fired, e.g. a
 * leader's hand-over, whose server must then be fenced) is settled before the round. A round is one tick; the check fails when no node's core decides
 * "primary" while its Postgres accepts writes within T rounds.
 *
 * T (`livenessBoundTicks`): the old leader's lease and the followers' wait for it
 * (E + jitter ticks without contact, then a read begun after E + 1: freshness.ts), the
 * lagging shell's read interval when observations lag, one split vote broken by a clock
 * running ahead (another E + jitter, and up to four rounds until the turn comes), and the
 * rounds of one election (pre-vote, vote, the new leader's no-op committed, the lease
 * acknowledged, promotion): see the function.
 *
 * @module
 */
import { formatColumns } from "./table.ts";
import { decidePostgresRole, leaseDurationTicks } from "../src/core/mod.ts";
import type { ClusterModelOptions, ClusterModelState, Scenario } from "./cluster_types.ts";
import {
  applyAction,
  type ClusterAction,
  contextOf,
  createClusterModel,
  enabledActions,
  OBSERVATION_INTERVAL_TICKS,
} from "./cluster_model.ts";
import type { ModelContext } from "./cluster_step.ts";
import { isWritable } from "./postgres_model.ts";
import { startOf } from "./warm_start.ts";
import type { LivenessRunSpec } from "./runs.ts";

/** Most supervisor and restart actions between two rounds (a bound, never reached in practice). */
const MAX_SETTLE_ACTIONS = 64;
/** Every this many rounds one node's clock runs a tick ahead (the tie-breaker). */
const TIE_BREAK_ROUNDS = 4;

/**
 * Rounds the operator's resume of a paused cluster adds once a leader exists: the resume
 * entry appended and acknowledged (one round, which commits and applies it), and one more
 * for the leader's lease round before it decides primary.
 */
const RESUME_ROUNDS = 2;

/**
 * Rounds within which a writable primary must exist after faults stop:
 * lease wait + freshness (E + J + 1), the lagging read interval (when lag is modelled),
 * one split vote retried (E + J + TIE_BREAK_ROUNDS), the lease of a leader cut off at the
 * start (L), the transfer timeout of an abandoned switchover, six rounds of one
 * election and promotion (pre-vote, vote, no-op append, its answer, lease, reconcile), and
 * the operator's resume when the run may pause (operator requests allowed). When a primary
 * may be unable to start, its leader first waits out `primaryStartTimeoutTicks` before it
 * hands over (src/core/primary_watch.ts); the other voters' wait starts from there.
 */
export function livenessBoundTicks(options: ClusterModelOptions): number {
  const config = contextOf(options).config;
  const wait = config.electionTimeoutTicks + config.electionTimeoutJitterTicks + 1;
  const lag = options.bounds.observationLag ? OBSERVATION_INTERVAL_TICKS : 0;
  const splitVote = config.electionTimeoutTicks + config.electionTimeoutJitterTicks +
    TIE_BREAK_ROUNDS;
  const resume = options.bounds.maxOperatorRequests > 0 ? RESUME_ROUNDS : 0;
  const bounds = options.bounds;
  const handOver = (bounds.maxPostgresStartFailures ?? 0) + (bounds.maxUnreadablePostgres ?? 0) > 0
    ? config.primaryStartTimeoutTicks
    : 0;
  return wait + lag + splitVote + leaseDurationTicks(config) + config.transferTimeoutTicks + 6 +
    resume + handOver;
}

/** True when some core decides "primary" and its Postgres accepts writes. */
export function hasWritablePrimary(state: ClusterModelState): boolean {
  return state.nodes.some((node) =>
    node.core !== null && decidePostgresRole(node.core).kind === "primary" &&
    isWritable(node.postgres)
  );
}

/** The first enabled action of the given kinds, in that order of preference. */
function firstOf(
  actions: readonly ClusterAction[],
  kinds: readonly ClusterAction["kind"][],
): ClusterAction | undefined {
  for (const kind of kinds) {
    const found = actions.find((action) => action.kind === kind);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The operator's resume of a paused cluster, when one is due: to the leader whose applied
 * state is paused and whose log holds no resume after what it applied. A paused cluster by
 * design neither promotes nor fails over (postgres_role.ts, `pausedRole`: a paused leader
 * holds), so no fair continuation without the operator reaches a primary; the operator runs
 * `hactl resume` against whichever node leads and retries (once a tick) while the leader
 * refuses it (a transfer under way) or loses it (deposed before it commits). Not subject to
 * the run's request budget: the continuation is not part of the explored space.
 */
function resumeRequest(state: ClusterModelState): ClusterAction | undefined {
  const leader = state.nodes.findIndex(({ core }) =>
    core !== null && core.role === "leader" && core.applied.paused &&
    !core.log.some((entry) =>
      entry.index > core.appliedIndex && entry.command.kind === "pause" && !entry.command.paused
    )
  );
  return leader < 0 ? undefined : { kind: "maintenance", node: leader, command: "resume" };
}

/**
 * Runs the fault-free continuation from `start`; returns the rounds (ticks) it took to reach
 * a writable primary, or null when none was reached within `maxTicks`. `restartCrashed`
 * false keeps crashed nodes down (to show a state that needs them back); `resumePaused`
 * false leaves a paused cluster paused (to show a state that needs the operator).
 */
export function ticksToWritablePrimary(
  context: ModelContext,
  start: ClusterModelState,
  maxTicks: number,
  restartCrashed = true,
  resumePaused = true,
): number | null {
  return continueFairly(context, start, maxTicks, { restartCrashed, resumePaused }).ticks;
}

/** How {@link continueFairly} runs, and what it reports on the way. */
export interface FairContinuationOptions {
  /** Restart crashed nodes (default true). */
  readonly restartCrashed?: boolean;
  /** Resume a paused cluster as its operator would (default true). */
  readonly resumePaused?: boolean;
  /** Called with every state the continuation reaches, after the action that made it. */
  readonly onState?: (state: ClusterModelState) => void;
}

/**
 * The fault-free continuation (see the module): settle every supervisor, then one
 * synchronous round, a clock run ahead in turn every {@link TIE_BREAK_ROUNDS} rounds, until
 * a writable primary or `maxTicks`. Returns the state it stopped in and the ticks it took
 * (null when no writable primary came).
 */
export function continueFairly(
  context: ModelContext,
  start: ClusterModelState,
  maxTicks: number,
  options: FairContinuationOptions = {},
): { state: ClusterModelState; ticks: number | null } {
  const settleKinds: ClusterAction["kind"][] = [
    ...(options.restartCrashed === false ? [] : ["restart" as const]),
    "started",
    // A clone ends and a standby's replay catches up (faults stop: neither stalls forever).
    "cloned",
    "replay",
    "reconcile",
    "stream",
    "observe",
  ];
  let state = start;
  const apply = (action: ClusterAction) => {
    state = applyAction(context, state, action);
    options.onState?.(state);
  };
  // Every supervisor's work, the operator's resume once, until none is left (true when a
  // writable primary came).
  const settle = (): boolean => {
    let resumeAsked = options.resumePaused === false;
    for (let step = 0; step < MAX_SETTLE_ACTIONS; step++) {
      if (hasWritablePrimary(state)) return true;
      const resume = resumeAsked ? undefined : resumeRequest(state);
      if (resume !== undefined) resumeAsked = true;
      const work = resume ?? firstOf(enabledActions(context, state), settleKinds);
      if (work === undefined) break;
      apply(work);
    }
    return hasWritablePrimary(state);
  };
  for (let tick = 0; tick <= maxTicks; tick++) {
    if (settle()) return { state, ticks: tick };
    if (tick === maxTicks) break;
    const turn = Math.floor(tick / TIE_BREAK_ROUNDS) % state.nodes.length;
    const ahead = tick % TIE_BREAK_ROUNDS === 0
      ? enabledActions(context, state).find((action) =>
        action.kind === "rush" && action.node === turn
      )
      : undefined;
    // A clock run ahead may fire a timer (a leader's hand-over): its work is settled first.
    if (ahead !== undefined) {
      apply(ahead);
      if (settle()) return { state, ticks: tick };
    }
    const round = enabledActions(context, state).find((action) =>
      action.kind === "round" && action.isolated === -1
    );
    if (round === undefined) return { state, ticks: null }; // no clock may advance: stuck
    apply(round);
  }
  return { state, ticks: hasWritablePrimary(state) ? maxTicks : null };
}

/** What a bounded-liveness check found. */
export interface LivenessReport {
  readonly states: number;
  readonly checked: number;
  readonly complete: boolean;
  readonly boundTicks: number;
  /** Largest number of ticks a continuation needed. */
  readonly worstTicks: number;
  /** A state (as its path of actions) from which no writable primary came within the bound. */
  readonly failure: { readonly path: readonly string[]; readonly reason: string } | null;
  readonly seconds: number;
}

/**
 * Explores `options` from `scenario` breadth-first (symmetry-reduced) to `maxDepth` and runs
 * the continuation from every reached state within the boundary (or every `sampleEvery`-th).
 */
export function checkBoundedLiveness(
  options: ClusterModelOptions,
  scenario: Scenario,
  maxDepth: number,
  maxStates: number,
  sampleEvery = 1,
  boundTicks = livenessBoundTicks(options),
): LivenessReport {
  const started = performance.now();
  const context = contextOf(options);
  const model = createClusterModel(options, startOf(options, scenario).state);
  const seen = new Set<string>();
  const keyOf = (state: ClusterModelState) => {
    const fingerprint = model.fingerprint(state, true);
    return `${fingerprint.high}:${fingerprint.low}`;
  };
  type Entry = { state: ClusterModelState; path: string[] };
  let frontier: Entry[] = model.initialStates().map((state) => ({ state, path: [] }));
  for (const entry of frontier) seen.add(keyOf(entry.state));
  let checked = 0;
  let visited = 0;
  let worst = 0;
  let complete = true;
  for (let depth = 0; frontier.length > 0; depth++) {
    const next: Entry[] = [];
    for (const entry of frontier) {
      if (!model.withinBoundary(entry.state)) continue;
      if (visited++ % sampleEvery === 0) {
        checked++;
        const ticks = ticksToWritablePrimary(context, entry.state, boundTicks);
        if (ticks === null) {
          return report(seen.size, checked, complete, boundTicks, worst, started, {
            path: entry.path,
            reason: `no writable primary within ${boundTicks} ticks after faults stopped`,
          });
        }
        worst = Math.max(worst, ticks);
      }
      if (depth >= maxDepth) continue;
      for (const action of model.actions(entry.state)) {
        // At the cap no new state is kept: stop computing successors (a state already seen
        // among the rest would change nothing), the frontier is still checked.
        if (seen.size >= maxStates) {
          complete = false;
          break;
        }
        const after = model.nextState(entry.state, action);
        const key = keyOf(after);
        if (seen.has(key)) continue;
        seen.add(key);
        next.push({ state: after, path: [...entry.path, model.describeAction(action)] });
      }
    }
    frontier = next;
  }
  return report(seen.size, checked, complete, boundTicks, worst, started, null);
}

function report(
  states: number,
  checked: number,
  complete: boolean,
  boundTicks: number,
  worstTicks: number,
  started: number,
  failure: LivenessReport["failure"],
): LivenessReport {
  const seconds = (performance.now() - started) / 1000;
  return { states, checked, complete, boundTicks, worstTicks, failure, seconds };
}

/** The outcome of one bounded-liveness run, for the table. */
export interface LivenessOutcome {
  readonly spec: LivenessRunSpec;
  readonly report: LivenessReport;
  readonly ok: boolean;
  readonly result: string;
}

/**
 * Runs one bounded-liveness run and judges it: real runs must pass, controls must fail. The
 * path to a failing state goes to `print` (standard output unless a worker collects it).
 */
export function runLivenessCheck(
  spec: LivenessRunSpec,
  print: (text: string) => void = console.log,
): LivenessOutcome {
  console.error(
    `== ${spec.options.name} N=${spec.options.nodeCount}: continuations from every state ` +
      `(depth <= ${spec.maxDepth}, states <= ${spec.maxStates})`,
  );
  const report = checkBoundedLiveness(
    spec.options,
    spec.scenario,
    spec.maxDepth,
    spec.maxStates,
    spec.sampleEvery,
  );
  const failure = report.failure;
  if (failure !== null) {
    const path = failure.path.length === 0 ? ["(the start itself)"] : failure.path;
    print(`${spec.options.name}: ${failure.reason}, from:\n  ${path.join("\n  ")}\n`);
  }
  if (spec.mustFail) {
    const ok = failure !== null;
    return { spec, report, ok, result: ok ? "caught: liveness" : "NOT CAUGHT: liveness" };
  }
  if (failure !== null) return { spec, report, ok: false, result: `VIOLATED: ${failure.reason}` };
  const coverage = report.complete ? "every state" : "state cap hit";
  const sampled = spec.sampleEvery > 1 ? `, every ${spec.sampleEvery}th state` : "";
  return { spec, report, ok: true, result: `pass (${coverage}${sampled})` };
}

/** The liveness runs as a table: states, checked, bound, worst case, seconds, result. */
export function formatLivenessTable(outcomes: readonly LivenessOutcome[]): string {
  const header = [
    "liveness run",
    "start",
    "depth",
    "states",
    "checked",
    "T",
    "worst",
    "seconds",
    "result",
  ];
  const rows = outcomes.map(({ spec, report, result }) => [
    spec.options.name,
    spec.scenario,
    String(spec.maxDepth),
    String(report.states),
    String(report.checked),
    String(report.boundTicks),
    String(report.worstTicks),
    report.seconds.toFixed(1),
    result,
  ]);
  return formatColumns(header, rows);
}
