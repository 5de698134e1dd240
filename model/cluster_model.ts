/**
 * The environment around N nodes running the real `src/core`, as a {@link Model} for the
 * explorer: a network of in-flight messages (deliver any, drop, duplicate: reordering is
 * choosing any), node crash and restart, Postgres crash and slow restart, clock ticks under
 * bounded drift, client writes and their acknowledgement, WAL streaming, promotion, fencing
 * within its deadline, rewind, lagging Postgres observations, and every operator request;
 * a data directory lost to a failed rewind and cloned again, a new cluster's initdb and
 * clones, and a standby whose replay lags (model/postgres_model.ts).
 *
 * Only the environment is modelled. Each node's behaviour is `step` of the real core, its
 * Postgres role is `decidePostgresRole` of the real core.
 *
 * @module
 */
import {
  type CoreConfig,
  createNode,
  decidePostgresRole,
  defaultCoreConfig,
  hasWriteAuthority,
  type Message,
  type PersistentState,
  SYSTEM_IDENTIFIER_KEY,
} from "../src/core/mod.ts";
import type { Model } from "./explorer.ts";
import {
  type ClusterModelOptions,
  type ClusterModelState,
  COLD_START_SNAPSHOT_INDEX,
  type ModelNode,
  type PostgresModel,
} from "./cluster_types.ts";
import {
  absentPostgres,
  failedRewind,
  finishClone,
  finishStart,
  hasNoData,
  INITIAL_POSTGRES,
  isWritable,
  observe,
  type ReconcileContext,
  reconcilePostgres,
  stopForGood,
  streamNext,
  streamUnreplayed,
} from "./postgres_model.ts";
import {
  describeOperatorAction,
  type OperatorAction,
  operatorActions,
  operatorInput,
} from "./operator_actions.ts";
import { type ModelContext, Work } from "./cluster_step.ts";
import { symmetryFor } from "./cluster_encoding.ts";
import { canonicalFingerprint } from "./symmetry.ts";
import { describeMessage, describeStateChange } from "./cluster_describe.ts";
import { clusterProperties, stateCheckpoint } from "./invariants.ts";

/** One choice of the environment. */
export type ClusterAction =
  | { readonly kind: "tick-all" | "advance" }
  | { readonly kind: "round"; readonly isolated: number }
  | { readonly kind: "tick"; readonly node: number; readonly jitter: number }
  | { readonly kind: "rush"; readonly node: number }
  | { readonly kind: "deliver" | "drop" | "duplicate"; readonly message: number }
  | { readonly kind: NodeActionKind | "propose"; readonly node: number }
  | { readonly kind: "remove"; readonly node: number; readonly target: number }
  | OperatorAction;

/** Actions of one node's environment (machine, Postgres, supervisor, shell). */
type NodeActionKind =
  | "crash"
  | "restart"
  | "write"
  | "stream"
  | "reconcile"
  | "observe"
  | "started"
  | "postgres-crash"
  | "postgres-cannot-start"
  | "postgres-unreadable"
  | DataActionKind;

/**
 * Actions of a node's data directory and replay: a rewind the core asked for fails and
 * leaves the directory absent, a clone the core asked for ends, a standby receives a record
 * without replaying it, a standby's replay catches up.
 */
type DataActionKind = "rewind-fails" | "cloned" | "stream-unreplayed" | "replay";

/**
 * How many ticks a node's shell may let pass between two reads of its Postgres when
 * observations lag: the real shell reads every 1000 ms against a minimum election timeout
 * of 800 ms (20 and 16 ticks); scaled to the model's E = 5 that is 6 ticks.
 */
export const OBSERVATION_INTERVAL_TICKS = 6;

/**
 * Core timing for the model. Small, so that elections fit in few steps, and valid for the
 * core's own configuration check. The lease is leaseDurationTicks = (5 - 1) - 1 = 3 ticks.
 */
export const MODEL_TIMING: Partial<CoreConfig> = {
  electionTimeoutTicks: 5,
  // Timeouts are drawn in [5, 7); the runs draw 6 (jitterChoices), one tick past the lease
  // wait: a voter grants only on an observation read after E + 1 ticks without a leader
  // (freshness.ts), so a candidate timing out at exactly E is always refused.
  electionTimeoutJitterTicks: 2,
  heartbeatIntervalTicks: 1,
  clockDriftPermille: 0,
  leaseSafetyTicks: 0,
  // One entry per append: replication of a multi-entry suffix can stop half-way, which is
  // what Raft's figure 8 needs (an old-term entry on a majority without the new-term one).
  maxEntriesPerMessage: 1,
  // A transfer times out two ticks after it starts: short, so that a TimeoutNow delivered
  // after the timeout (a stalled target, issue 9 item 3) is a few steps deep.
  transferTimeoutTicks: 2,
  // A leader hands over when its Postgres has not run as a primary for this long
  // (primary_watch.ts): one tick past the longest election timeout, the least the core
  // accepts, and past the lagging read interval (6), so that a fair schedule promotes and
  // reads a healthy new primary first; one "advance" reaches it after a fault.
  primaryStartTimeoutTicks: 8,
  // The watchdog's commit gate: named as the synchronous standby when no remote standby is
  // required (asynchronous mode); the model's gate confirms only while the lease runs.
  commitGate: "gate",
};

/** Node ids of an N-node model: n1..nN. */
export function modelNodeIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `n${index + 1}`);
}

/** The core configuration of a model instance (timing above; faults and log limit from the options). */
export function modelCoreConfig(options: ClusterModelOptions): CoreConfig {
  const logLimit = options.maxLogEntries === undefined
    ? {}
    : { maxLogEntries: options.maxLogEntries };
  return defaultCoreConfig({ ...MODEL_TIMING, faults: options.faults, ...logLimit });
}

/** Every node a voter of term 1 with the same committed snapshot; Postgres standbys of one base backup. */
export function coldStartState(options: ClusterModelOptions): ClusterModelState {
  const ids = modelNodeIds(options.nodeCount);
  const config = modelCoreConfig(options);
  const disk: PersistentState = options.uninitialised ? EMPTY_DISK : {
    hardState: { term: 1, votedFor: null, commitIndex: 1 },
    snapshot: {
      lastIndex: COLD_START_SNAPSHOT_INDEX,
      lastTerm: 1,
      state: {
        membership: { voters: ids, learners: [] },
        paused: false,
        syncMode: "quorum",
        switchoverTarget: null,
        keyValues: { [SYSTEM_IDENTIFIER_KEY]: "model", ...options.initialKeyValues },
      },
    },
    entries: [],
  };
  const work = new Work(contextOf(options), {
    nodes: ids.map((id): ModelNode => ({
      core: createNode(id, config, disk, options.bounds.jitterChoices[0] ?? 0),
      disk,
      clockLead: 0,
      postgres: options.uninitialised ? absentPostgres(INITIAL_POSTGRES) : INITIAL_POSTGRES,
      grant: null,
    })),
    messages: [],
    writesIssued: 0,
    proposals: 0,
    pending: [],
    acked: [],
    crashes: 0,
    duplicates: 0,
    membershipChanges: 0,
    operatorRequests: 0,
    postgresCrashes: 0,
    postgresStartFailures: 0,
    failedRewinds: 0,
    unreplayedRecords: 0,
    latestPromotion: 0,
    elected: {},
    committed: [],
    electionClash: null,
    coreFailure: null,
    transientViolation: null,
    snapshotInstalled: false,
  });
  // The shell reports its Postgres right after start.
  ids.forEach((_, index) => work.runCore(index, work.observation(index)));
  return work.freeze();
}

/** The storage of a node that belongs to no cluster yet. */
const EMPTY_DISK: PersistentState = {
  hardState: { term: 0, votedFor: null, commitIndex: 0 },
  snapshot: null,
  entries: [],
};

/** The shared, immutable context of one model instance. */
export function contextOf(options: ClusterModelOptions): ModelContext {
  const base = {
    nodeIds: modelNodeIds(options.nodeCount),
    config: modelCoreConfig(options),
    bounds: options.bounds,
  };
  return { ...base, checkpoint: stateCheckpoint(base, options.invariants) };
}

/** The cluster model for the explorer, starting from `initial` (cold or warm). */
export function createClusterModel(
  options: ClusterModelOptions,
  initial: ClusterModelState,
): Model<ClusterModelState, ClusterAction> {
  const context = contextOf(options);
  const symmetry = symmetryFor(context.nodeIds);
  // Settings that name nodes (failover priorities) make the nodes unlike: renamed states
  // then have different futures, so states are told apart by identity (no reduction).
  const symmetric = nodesAreInterchangeable(options);
  return {
    name: options.name,
    initialStates: () => [initial],
    actions: (state) => enabledActions(context, state),
    nextState: (state, action) => applyAction(context, state, action),
    fingerprint: (state, useSymmetry) =>
      canonicalFingerprint(symmetry, state, useSymmetry && symmetric),
    withinBoundary: (state) =>
      highestTerm(state) <= options.bounds.maxTerm && state.coreFailure === null,
    describeAction: (action) => describeAction(context, action, null),
    describeTransition: (before, action, after) =>
      describeStateChange(context, before, action, after),
    properties: clusterProperties(context, options.invariants),
  };
}

/**
 * False when the initial cluster configuration names a node (a tag key such as
 * `config/tags/n2/failover_priority`): symmetry reduction would merge a state with its
 * renaming although the renamed nodes behave differently (found by exploring with the
 * actions in reverse order: test/model/symmetry_soundness_test.ts).
 */
export function nodesAreInterchangeable(options: ClusterModelOptions): boolean {
  const ids = modelNodeIds(options.nodeCount);
  return Object.keys(options.initialKeyValues ?? {}).every((key) =>
    !key.split("/").some((part) => ids.includes(part))
  );
}

/** Highest term held by any core or disk. */
export function highestTerm(state: ClusterModelState): number {
  let highest = 0;
  for (const node of state.nodes) {
    highest = Math.max(highest, node.core?.term ?? 0, node.disk.hardState.term);
  }
  return highest;
}

/** The enabled actions, in a fixed order. Identical in-flight messages are offered once. */
export function enabledActions(context: ModelContext, state: ClusterModelState): ClusterAction[] {
  const actions: ClusterAction[] = [];
  const bounds = context.bounds;
  const up = state.nodes.map((node) => node.core !== null);
  const clocks = timeMayPass(context, state);
  if (clocks.every && up.some(Boolean)) actions.push({ kind: "tick-all" }, { kind: "advance" });
  if (clocks.every && bounds.rounds && up.some(Boolean)) {
    actions.push({ kind: "round", isolated: -1 });
    state.nodes.forEach((_, isolated) => actions.push({ kind: "round", isolated }));
  }
  state.nodes.forEach((_, node) => {
    if (up[node] && clocks.node[node] && canTickAlone(state, node, bounds.clockDriftTicks)) {
      for (const jitter of bounds.jitterChoices) actions.push({ kind: "tick", node, jitter });
      actions.push({ kind: "rush", node });
    }
  });
  const seen = new Set<string>();
  const distinct: number[] = [];
  state.messages.forEach((message, index) => {
    const key = messageKey(message);
    if (seen.has(key)) return;
    seen.add(key);
    distinct.push(index);
  });
  for (const message of distinct) {
    if (up[context.nodeIds.indexOf(state.messages[message]!.to)]) {
      actions.push({ kind: "deliver", message });
    }
  }
  if (bounds.dropMessages) {
    for (const message of distinct) {
      actions.push({ kind: "drop", message });
    }
  }
  if (state.duplicates < bounds.maxDuplicates && state.messages.length < bounds.maxInFlight) {
    for (const message of distinct) actions.push({ kind: "duplicate", message });
  }
  state.nodes.forEach((node, index) => pushNodeActions(context, state, node, index, actions));
  return actions;
}

function pushNodeActions(
  context: ModelContext,
  state: ClusterModelState,
  node: ModelNode,
  index: number,
  actions: ClusterAction[],
): void {
  const bounds = context.bounds;
  if (node.core === null) {
    actions.push({ kind: "restart", node: index });
    return;
  }
  if (state.crashes < bounds.maxCrashes) actions.push({ kind: "crash", node: index });
  const postmaster = node.postgres.status === "running" || node.postgres.status === "starting";
  if (state.postgresCrashes < bounds.maxPostgresCrashes && postmaster) {
    actions.push({ kind: "postgres-crash", node: index });
  }
  // A primary (fenced or not, running or starting) stops and cannot start again.
  const primaryServer = postmaster && !node.postgres.inRecovery;
  if (state.postgresStartFailures < (bounds.maxPostgresStartFailures ?? 0) && primaryServer) {
    actions.push({ kind: "postgres-cannot-start", node: index });
  }
  if (unreadableOffered(bounds, state, node)) {
    actions.push({ kind: "postgres-unreadable", node: index });
  }
  if (node.postgres.status === "starting") actions.push({ kind: "started", node: index });
  if (bounds.observationLag && observationUseful(node)) {
    actions.push({ kind: "observe", node: index });
  }
  if (state.writesIssued < bounds.maxWrites && isWritable(node.postgres)) {
    actions.push({ kind: "write", node: index });
  }
  if (state.proposals < bounds.maxProposals && node.core.role === "leader") {
    actions.push({ kind: "propose", node: index });
  }
  const source = state.nodes[node.postgres.source]?.postgres;
  if (source !== undefined && streamNext(node.postgres, source) !== null) {
    actions.push({ kind: "stream", node: index });
  }
  if (reconciled(context, state, index) !== null) actions.push({ kind: "reconcile", node: index });
  pushDataActions(context, state, node, index, actions);
  if (state.membershipChanges < bounds.maxMembershipChanges && node.core.role === "leader") {
    for (const voter of node.core.membership.voters) {
      const target = context.nodeIds.indexOf(voter);
      if (target !== index) actions.push({ kind: "remove", node: index, target });
    }
  }
  actions.push(...operatorActions(context, state, node, index));
}

function pushDataActions(
  context: ModelContext,
  state: ClusterModelState,
  node: ModelNode,
  index: number,
  actions: ClusterAction[],
): void {
  const bounds = context.bounds;
  const postgres = node.postgres;
  if (postgres.status === "cloning") actions.push({ kind: "cloned", node: index });
  if (postgres.replayBehind && postgres.status === "running") {
    actions.push({ kind: "replay", node: index });
  }
  const source = state.nodes[postgres.source]?.postgres;
  if (
    state.unreplayedRecords < bounds.maxUnreplayedRecords && source !== undefined &&
    streamUnreplayed(postgres, source) !== null
  ) actions.push({ kind: "stream-unreplayed", node: index });
  if (state.failedRewinds < bounds.maxFailedRewinds && rewindFailure(context, state, index)) {
    actions.push({ kind: "rewind-fails", node: index });
  }
}

/**
 * Which clocks may advance. The fence deadline: no tick while a writable Postgres runs on
 * a node whose core asks for anything but primary or hold (the shell fences within the
 * lease's safety margin, leaseSafetyTicks = 0 ticks in the model; every other action may
 * come first). With lagging observations, a node whose last read is
 * OBSERVATION_INTERVAL_TICKS old does not tick before its shell reads again.
 */
function timeMayPass(
  context: ModelContext,
  state: ClusterModelState,
): { every: boolean; node: boolean[] } {
  const overdue = state.nodes.some((node) => {
    if (node.core === null || !isWritable(node.postgres)) return false;
    const role = decidePostgresRole(node.core).kind;
    return role !== "primary" && role !== "hold";
  });
  const node = state.nodes.map((other) =>
    !overdue && (!context.bounds.observationLag || other.core === null ||
      other.core.observationAgeTicks < OBSERVATION_INTERVAL_TICKS)
  );
  return { every: node.every(Boolean), node };
}

/**
 * The unreadable fault is offered on a node with data whose reads do not fail yet, while
 * fewer than `maxUnreadablePostgres` nodes have it (it is never repaired, so the flags count it).
 */
function unreadableOffered(
  bounds: ClusterModelOptions["bounds"],
  state: ClusterModelState,
  node: ModelNode,
): boolean {
  const limit = bounds.maxUnreadablePostgres ?? 0;
  if (limit === 0 || node.postgres.unreadable === true || hasNoData(node.postgres)) return false;
  return state.nodes.filter((other) => other.postgres.unreadable === true).length < limit;
}

/**
 * A read may happen at any moment after a tick (the shell's timer and its reads on demand
 * are not synchronised with anything); a second read in the same tick changes nothing a
 * core compares except its content, so it is offered then only when Postgres changed.
 */
function observationUseful(node: ModelNode): boolean {
  const core = node.core;
  if (core === null) return false;
  if (core.observationAgeTicks > 0 || core.postgres === null) return true;
  const now = observe(node.postgres);
  return core.postgres.status !== now.status || core.postgres.inRecovery !== now.inRecovery ||
    core.postgres.fenced !== now.fenced || core.postgres.position?.lsn !== now.position?.lsn ||
    core.postgres.replayCaughtUp !== now.replayCaughtUp;
}

/** Ticking one node alone keeps every running clock within `drift` ticks of the slowest. */
function canTickAlone(state: ClusterModelState, node: number, drift: number): boolean {
  const leads = state.nodes.filter((other) => other.core !== null).map((other) => other.clockLead);
  const own = state.nodes[node]!.clockLead + 1;
  const others = state.nodes.filter((other, index) => other.core !== null && index !== node);
  const slowest = Math.min(own, ...others.map((other) => other.clockLead));
  return own - slowest <= drift && leads.length > 0;
}

/** Identical messages (duplicates) share a key; cached because messages are immutable and shared. */
const messageKeys = new WeakMap<Message, string>();
function messageKey(message: Message): string {
  let key = messageKeys.get(message);
  if (key === undefined) {
    key = JSON.stringify(message);
    messageKeys.set(message, key);
  }
  return key;
}

/** The Postgres after one supervisor action, or null when the supervisor has nothing to do. */
function reconciled(context: ModelContext, state: ClusterModelState, index: number) {
  const node = state.nodes[index]!;
  if (node.core === null) return null;
  return reconcilePostgres(
    node.postgres,
    decidePostgresRole(node.core),
    reconcileContextOf(context, state),
  );
}

/** The absent Postgres a failed pg_rewind leaves, or null when no rewind would run now. */
function rewindFailure(context: ModelContext, state: ClusterModelState, index: number) {
  const node = state.nodes[index]!;
  if (node.core === null) return null;
  return failedRewind(
    node.postgres,
    decidePostgresRole(node.core),
    reconcileContextOf(context, state),
  );
}

function reconcileContextOf(context: ModelContext, state: ClusterModelState): ReconcileContext {
  return {
    nodeIds: context.nodeIds,
    postgresOf: (other) => state.nodes[other]!.postgres,
    nextPromotion: state.latestPromotion + 1,
    nextTimeline: nextTimeline(state),
  };
}

/**
 * A promotion's new timeline: one above every timeline any node's WAL holds, so that two
 * promotions from one history get distinct timelines (Postgres picks an id no history file
 * it can see uses; the model lets it see every node's).
 */
function nextTimeline(state: ClusterModelState): number {
  let highest = 1;
  for (const node of state.nodes) {
    for (const record of node.postgres.wal) highest = Math.max(highest, record.timeline);
  }
  return highest + 1;
}

/** The state after `action`. Deterministic: the explorer replays counterexamples through it. */
export function applyAction(
  context: ModelContext,
  state: ClusterModelState,
  action: ClusterAction,
): ClusterModelState {
  const work = new Work(context, state);
  switch (action.kind) {
    case "tick-all":
      tickAll(work);
      break;
    case "advance":
      advance(work);
      break;
    case "round":
      synchronousRound(work, action.isolated);
      break;
    case "rush":
      rush(work, action.node);
      break;
    case "tick":
      tickAlone(work, action.node);
      work.runCore(action.node, { kind: "tick", jitterTicks: action.jitter });
      break;
    case "deliver":
    case "drop":
    case "duplicate":
      networkAction(work, action.kind, action.message);
      break;
    case "propose":
      work.proposals++;
      work.runCore(action.node, {
        kind: "admin",
        request: {
          kind: "propose",
          requestId: `propose-${work.proposals}`,
          // A kv command, the smallest entry an operator can add (hactl set-key).
          command: { kind: "kv", key: `key${work.proposals}`, value: "value" },
        },
      });
      break;
    case "transfer":
    case "maintenance":
    case "add-learner":
    case "bootstrap":
      work.operatorRequests++;
      work.runCore(action.node, operatorInput(context, action, work.operatorRequests));
      break;
    case "remove":
      work.membershipChanges++;
      work.runCore(action.node, {
        kind: "admin",
        request: {
          kind: "remove-member",
          requestId: "remove",
          node: context.nodeIds[action.target]!,
        },
      });
      break;
    default:
      nodeAction(context, state, work, action.kind, action.node);
  }
  work.settleObservations();
  return work.freeze();
}

/** Every running node ticks once (all clocks advance together, so the drift bound holds). */
function tickAll(work: Work): void {
  const jitterTicks = work.context.bounds.jitterChoices[0] ?? 0;
  // In canonical order, not by index: renamed states tick alike (Work.canonicalOrder).
  for (const index of work.canonicalOrder()) {
    if (work.node(index).core !== null) work.runCore(index, { kind: "tick", jitterTicks });
  }
  work.settleObservations();
}

/**
 * Ticks everyone until something observable happens: a message is sent, or a node's role,
 * term, leader, write authority, Postgres role or Postgres changes. The ticks it skips
 * change only counters, so every state it passes through satisfies the same invariants as
 * the state it starts from; it is a shortcut (time passing quietly costs one step of
 * depth), and "tick all" remains for interleaving single ticks with other actions.
 */
function advance(work: Work): void {
  const limit = work.context.config.electionTimeoutTicks +
    work.context.config.electionTimeoutJitterTicks + 1;
  for (let tick = 0; tick < limit; tick++) {
    const before = work.nodes.map(observable);
    const sent = work.messages.length;
    tickAll(work);
    if (work.messages.length !== sent || work.coreFailure !== null) return;
    if (work.nodes.some((node, index) => observable(node) !== before[index])) return;
  }
}

/** Most deliveries in one synchronous round (a round of N nodes needs a few per pair). */
const MAX_ROUND_DELIVERIES = 64;

/**
 * A synchronous round: everyone ticks, then in-flight messages are delivered in order (and
 * the answers they cause) until none is left, except that messages to or from `isolated`
 * are lost. A shortcut through states reachable one action at a time; the invariants are
 * checked after every delivery inside it, so it cannot step over a violation.
 */
function synchronousRound(work: Work, isolated: number): void {
  tickAll(work);
  if (work.checkpoint("a round, after the ticks")) return;
  const ids = work.context.nodeIds;
  // The queue, and each delivery's answers, in canonical order (Work.sortMessagesFrom):
  // the in-flight array's order is not part of the state, and a batch's follows names.
  work.sortMessagesFrom(0);
  for (
    let delivered = 0;
    delivered < MAX_ROUND_DELIVERIES && work.messages.length > 0;
    delivered++
  ) {
    const message = work.messages.shift()!;
    const target = ids.indexOf(message.to);
    if (
      target === isolated || ids.indexOf(message.from) === isolated ||
      work.node(target).core === null
    ) continue;
    const queued = work.messages.length;
    work.runCore(target, { kind: "message", message });
    work.sortMessagesFrom(queued);
    if (work.checkpoint(`a round, delivering ${describeMessage(message)}`)) return;
  }
}

/**
 * Runs one node's clock ahead alone, as far as the drift bound allows, stopping early when
 * its role, term, authority or Postgres role changes. Messages it sends stay in flight. A
 * shortcut like {@link advance}: ticks never grant authority or break an invariant without
 * one of those changes, so the skipped intermediate states hold what the start held.
 */
function rush(work: Work, index: number): void {
  const limit = 2 * work.context.bounds.clockDriftTicks + 1;
  for (let tick = 0; tick < limit; tick++) {
    if (!canTickAlone(work.freeze(), index, work.context.bounds.clockDriftTicks)) return;
    const before = observable(work.node(index));
    tickAlone(work, index);
    work.runCore(index, { kind: "tick", jitterTicks: work.context.bounds.jitterChoices[0] ?? 0 });
    if (work.coreFailure !== null || observable(work.node(index)) !== before) return;
  }
}

/** What "something happened" compares in {@link advance}. */
function observable(node: ModelNode): string {
  const core = node.core;
  if (core === null) return "down";
  const role = decidePostgresRole(core);
  const authority = hasWriteAuthority(core);
  return `${core.role}/${core.term}/${core.leader}/${core.commitIndex}/${authority}/${
    JSON.stringify(role)
  }/${node.postgres.status}`;
}

function tickAlone(work: Work, index: number): void {
  work.setNode(index, { clockLead: work.node(index).clockLead + 1 });
  normaliseClocks(work);
}

/** Keeps clock leads relative to the slowest running node (which is at 0). */
function normaliseClocks(work: Work): void {
  const running = work.nodes.filter((node) => node.core !== null).map((node) => node.clockLead);
  const slowest = running.length === 0 ? 0 : Math.min(...running);
  work.nodes = work.nodes.map((node) => {
    const lead = node.core === null ? 0 : node.clockLead - slowest;
    // An unchanged node stays the same object: its fingerprints are cached per object.
    return lead === node.clockLead ? node : { ...node, clockLead: lead };
  });
}

function networkAction(work: Work, kind: "deliver" | "drop" | "duplicate", index: number): void {
  const message = work.messages[index];
  if (message === undefined) throw new Error(`model: no message #${index} in flight`);
  if (kind === "duplicate") {
    work.duplicates++;
    work.messages.push(message);
    return;
  }
  work.messages.splice(index, 1);
  if (kind === "deliver") {
    work.runCore(work.context.nodeIds.indexOf(message.to), { kind: "message", message });
  }
}

function nodeAction(
  context: ModelContext,
  state: ClusterModelState,
  work: Work,
  kind: NodeActionKind,
  index: number,
): void {
  const node = work.node(index);
  switch (kind) {
    case "crash":
    case "restart":
    case "postgres-crash":
      return machineAction(context, work, kind, index);
    case "postgres-cannot-start":
      work.postgresStartFailures++;
      work.setPostgres(index, stopForGood(node.postgres));
      return;
    case "postgres-unreadable":
      work.setPostgres(index, { ...node.postgres, unreadable: true });
      return;
    case "observe":
      work.runCore(index, work.observation(index));
      return;
    case "write": {
      work.writesIssued++;
      const timeline = node.postgres.wal[node.postgres.wal.length - 1]?.timeline ?? 1;
      work.pending.push({ write: work.writesIssued, node: index });
      work.setPostgres(index, {
        ...node.postgres,
        wal: [...node.postgres.wal, { timeline, write: work.writesIssued }],
      });
      return;
    }
    case "stream": {
      const next = streamNext(node.postgres, work.node(node.postgres.source).postgres);
      if (next !== null) work.setPostgres(index, next);
      return;
    }
    case "started":
      work.latestPromotion++;
      work.setPostgres(index, finishStart(node.postgres, work.latestPromotion));
      return;
    case "reconcile": {
      const next = reconciled(context, state, index);
      if (next === null) return;
      if (next.promotion > node.postgres.promotion) work.latestPromotion = next.promotion;
      work.setPostgres(index, next);
      // Only initdb turns an absent directory into a running server (a clone starts first).
      if (node.postgres.status === "absent" && next.status === "running") {
        recordSystemIdentifier(work, index);
      }
      return;
    }
    case "rewind-fails":
    case "cloned":
    case "stream-unreplayed":
    case "replay":
      return dataAction(context, state, work, kind, index);
  }
}

/**
 * After initdb the shell proposes the new system identifier (the agent's housekeeping, as
 * soon as its leader may): from then on a leader without data holds instead of running
 * initdb again. The model proposes it at once, in the same action.
 */
function recordSystemIdentifier(work: Work, index: number): void {
  work.runCore(index, {
    kind: "admin",
    request: {
      kind: "propose",
      requestId: "system-identifier",
      command: { kind: "kv", key: SYSTEM_IDENTIFIER_KEY, value: "model" },
    },
  });
}

/** See {@link DataActionKind}. */
function dataAction(
  context: ModelContext,
  state: ClusterModelState,
  work: Work,
  kind: DataActionKind,
  index: number,
): void {
  const postgres = work.node(index).postgres;
  const source = work.nodes[postgres.source]?.postgres;
  let next: PostgresModel | null = null;
  switch (kind) {
    case "rewind-fails":
      work.failedRewinds++;
      next = rewindFailure(context, state, index);
      break;
    case "cloned":
      if (source !== undefined) next = finishClone(postgres, source);
      break;
    case "stream-unreplayed":
      work.unreplayedRecords++;
      if (source !== undefined) next = streamUnreplayed(postgres, source);
      break;
    case "replay":
      next = { ...postgres, replayBehind: false };
      break;
  }
  if (next !== null) work.setPostgres(index, next);
}

/** The machine or its Postgres stops, or the machine comes back. */
function machineAction(
  context: ModelContext,
  work: Work,
  kind: "crash" | "restart" | "postgres-crash",
  index: number,
): void {
  const node = work.node(index);
  // A machine crash during a clone kills pg_basebackup: its new directory is discarded.
  const stopped = hasNoData(node.postgres)
    ? absentPostgres(node.postgres)
    : { ...node.postgres, status: "stopped" as const, fenced: false };
  switch (kind) {
    case "crash":
      // The machine stops: volatile core state is lost, Postgres stops, disks keep what was flushed.
      work.crashes++;
      work.setNode(index, { core: null, postgres: stopped });
      work.pending = work.pending.filter((write) => write.node !== index);
      normaliseClocks(work);
      return;
    case "postgres-crash":
      // Postgres alone dies (out of memory, the watchdog's kill); the agent keeps running.
      work.postgresCrashes++;
      work.setPostgres(index, stopped);
      return;
    case "restart":
      work.setNode(index, {
        core: createNode(
          context.nodeIds[index]!,
          context.config,
          node.disk,
          context.bounds.jitterChoices[0] ?? 0,
        ),
        clockLead: 0,
      });
      normaliseClocks(work);
      // The shell reads its Postgres right after start.
      work.runCore(index, work.observation(index));
      return;
  }
}

/** Names an action; with a state, names the message it acts on. Stable text, used for replay. */
export function describeAction(
  context: ModelContext,
  action: ClusterAction,
  state: ClusterModelState | null,
): string {
  const ids = context.nodeIds;
  switch (action.kind) {
    case "tick-all":
      return "tick all";
    case "advance":
      return "advance time until something happens";
    case "rush":
      return `run ${ids[action.node]}'s clock ahead`;
    case "round":
      return action.isolated < 0
        ? "synchronous round"
        : `synchronous round, ${ids[action.isolated]} cut off`;
    case "tick":
      return `tick ${ids[action.node]} (jitter ${action.jitter})`;
    case "deliver":
    case "drop":
    case "duplicate": {
      const message = state?.messages[action.message];
      return `${action.kind} #${action.message}${message ? ` ${describeMessage(message)}` : ""}`;
    }
    case "remove":
      return `admin: ${ids[action.node]} removes ${ids[action.target]}`;
    case "propose":
      return `admin: propose a kv command on ${ids[action.node]}`;
    case "transfer":
    case "maintenance":
    case "add-learner":
    case "bootstrap":
      return describeOperatorAction(context, action);
    default:
      return `${action.kind} ${ids[action.node]}`;
  }
}
