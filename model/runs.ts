/**
 * What `deno task model-check` runs: the real configuration at N=3 and N=5, and one
 * negative control per safety rule, each with the bounds it is explored under and the
 * invariant it must break. Every bound is a named value with the reason it is enough.
 *
 * @module
 */
import { type CoreConfig, leaseDurationTicks, NO_FAULTS } from "../src/core/mod.ts";
import type { ClusterBounds, ClusterModelOptions, Scenario } from "./cluster_types.ts";
import { MODEL_TIMING } from "./cluster_model.ts";
import { INVARIANTS, REACHABLE } from "./invariants.ts";
import { defaultCoreConfig } from "../src/core/mod.ts";

/**
 * The largest clock skew (in ticks, between any two running nodes) under which the core's
 * lease is safe. A voter that acknowledged a round sent at leader tick s votes again only
 * after E of its own ticks from when it heard it, which is no earlier than leader tick
 * s + E - 2D when clocks differ by at most D; the lease lasts L ticks from s. So L <= E - 2D,
 * D = floor((E - L) / 2). With E = 5 and L = 3: D = 1. The "excess drift" control uses D + 1.
 */
export function safeClockDriftTicks(config: CoreConfig): number {
  return Math.floor((config.electionTimeoutTicks - leaseDurationTicks(config)) / 2);
}

const MODEL_CONFIG = defaultCoreConfig(MODEL_TIMING);

/** Bounds of the default run. */
export const DEFAULT_BOUNDS: ClusterBounds = {
  // Figure 8 of the Raft paper needs a fifth term (its warm start reaches term 3, the search
  // elects in term 4); no other property needs more than three elections after term 2.
  maxTerm: 5,
  // One heartbeat round at N=3 is 2 requests + 2 answers; 6 leaves room for a candidate's
  // requests in flight at the same time. Messages sent beyond it are lost (the network may).
  maxInFlight: 6,
  // One crash is enough to lose a primary (the failover the safety rules are about); a
  // second crash only repeats it. --large allows two.
  maxCrashes: 1,
  // D1 and S2 are about one acknowledged write: losing it, or acknowledging it late.
  maxWrites: 1,
  // Admin proposals are only needed by figure 8 (an old-term entry that is not a noop);
  // everywhere else a new leader's noop entry already exercises replication and commit.
  maxProposals: 0,
  // A duplicated vote or append is the classic way to count a vote twice; one is enough to
  // try every message kind duplicated once.
  maxDuplicates: 1,
  // Removing one voter is the smallest change that makes the sync set and Raft quorum differ.
  maxMembershipChanges: 1,
  // Operator requests other than kv and removal are explored in the "operator" runs (see
  // model/operator_actions.ts for why one or two are enough); the other runs keep their
  // state space.
  maxOperatorRequests: 0,
  // A Postgres crash under a running agent matters for restarts (the "restart" runs).
  maxPostgresCrashes: 0,
  // A data directory lost to a failed rewind, and standby replay lag, matter for a rejoin
  // and the promotion after it (the "rejoin" run, which says why one of each is enough).
  maxFailedRewinds: 0,
  maxUnreplayedRecords: 0,
  // Observations lag only in the "lag" runs; elsewhere the shell observes every change at
  // once (and at once when the core needs a fresh observation to vote).
  observationLag: false,
  // Positions are true (the shell reads the timeline of the WAL itself, issue 9 item 1);
  // the compareTimelineNumbers control brings back the old shell's fallen-back report.
  fallenBackTimelines: false,
  clockDriftTicks: safeClockDriftTicks(MODEL_CONFIG),
  // Jitter only spreads timeouts; bounded drift and individual ticks spread them already.
  // One tick of it: a timeout of E + 1, the shortest after which voters can be fresh.
  jitterChoices: [1],
  // Loss is modelled by messages never delivered, by overflow, and by rounds that cut a
  // node off; explicit drops are offered with --large.
  dropMessages: false,
  rounds: true,
};

/**
 * Bounds of the runs from the figure-8 warm start, whose script crashes two leaders, makes
 * one admin proposal (an old-term entry that is not a noop) and loses messages; the search
 * may crash one more node. Client writes play no part in figure 8.
 */
export const FIGURE_8_BOUNDS: ClusterBounds = {
  ...DEFAULT_BOUNDS,
  maxCrashes: 3,
  maxProposals: 1,
  maxWrites: 0,
  dropMessages: true,
};

/** Bounds of `--large`. */
export const LARGE_BOUNDS: ClusterBounds = {
  ...DEFAULT_BOUNDS,
  maxInFlight: 8,
  maxCrashes: 2,
  maxWrites: 2,
  dropMessages: true,
};

/** One exploration of the model-check run. */
export interface RunSpec {
  readonly options: ClusterModelOptions;
  readonly scenario: Scenario;
  readonly maxDepth: number;
  readonly maxStates: number;
  /** Null: every invariant must hold. Otherwise the invariant this control must break. */
  readonly mustBreak: string | null;
  /** Non-vacuity properties a real run must reach within its bounds (empty for controls). */
  readonly mustReach: readonly string[];
  /**
   * A real run's pinned outcome (default run only, {@link PINNED_STATES}): the exact number
   * of states, or that the state cap is hit; null for controls and `--large`.
   */
  readonly pinned?: number | "state cap hit" | "missing" | null;
}

/**
 * State counts of the default real runs, measured 2026-12-03 on the tree of that day (after
 * multi-node work in one action was put in the canonical order of the action's start state:
 * docs/VERIFICATION.md, "Symmetry"). A change means the explored space changed (core
 * behaviour, model, symmetry or fingerprints): the run fails until this table is updated on
 * purpose. Runs that hit their state cap pin that fact instead (the count is the cap).
 */
export const PINNED_STATES: Readonly<Record<string, number | "state cap hit">> = {
  "real steady (operator)": 27_724,
  "real asynchronous (return to quorum)": 26_974,
  "real transfer": 58_634,
  "real paused (receiver rule off)": 48_701,
  "real postgres-restart": 25_306,
  "real steady (cannot start)": 54_106,
  "real steady (unreadable)": 72_321,
  "real crash-after-ack (lag)": 31_602,
  "real cold": 59_605,
  "real steady": "state cap hit",
  "real write-in-flight": "state cap hit",
  "real figure-8": 114_652,
  "real steady (priorities, maximum lag 0)": 244_357,
  "real clock-swing": 11_795,
  "real rejoin (re-clone, replay lag)": 26_110,
  "real rejoin-data-lost": 18_618,
  "real bootstrap": 7_737,
  "real snapshot-catch-up (log limit 2)": 46_345,
};

/**
 * The default run's real runs carry their pin ("missing" fails the run: every real run must
 * pin its count); controls and `--large` runs carry none.
 */
function withPins(runs: readonly RunSpec[], large: boolean): RunSpec[] {
  return runs.map((spec) =>
    spec.mustBreak !== null || large
      ? { ...spec, pinned: null }
      : { ...spec, pinned: PINNED_STATES[spec.options.name] ?? "missing" }
  );
}

/** Everything a run from a warm start must reach; a cold run must at least elect and promote. */
const REACH_FROM_WARM = [
  "a leader is elected",
  "a primary is promoted",
  "a write is acknowledged",
  "a failover completes",
];
const REACH_FROM_COLD = ["a leader is elected", "a primary is promoted"];
const REACH_FROM_FIGURE_8 = [
  "a leader is elected",
  "a primary is promoted",
  "a failover completes",
];

function real(
  nodeCount: number,
  scenario: RunSpec["scenario"],
  maxDepth: number,
  maxStates: number,
  bounds: ClusterBounds,
  variant = "",
  reach: readonly string[] | null = null,
  faults: CoreConfig["faults"] = NO_FAULTS,
): RunSpec {
  return {
    options: {
      name: `real ${scenario}${variant}`,
      nodeCount,
      faults,
      bounds,
      start: scenario === "cold" ? "cold" : "warm",
      invariants: "all",
    },
    scenario,
    maxDepth,
    maxStates,
    mustBreak: null,
    mustReach: reach !== null
      ? reach
      : scenario === "cold"
      ? REACH_FROM_COLD
      : scenario === "figure-8"
      ? REACH_FROM_FIGURE_8
      : REACH_FROM_WARM,
  };
}

function control(
  name: string,
  nodeCount: number,
  scenario: RunSpec["scenario"],
  fault: keyof typeof NO_FAULTS | readonly (keyof typeof NO_FAULTS)[] | null,
  mustBreak: string,
  bounds: ClusterBounds,
  maxDepth: number,
): RunSpec {
  const switched = fault === null ? [] : typeof fault === "string" ? [fault] : fault;
  const faults = switched.length === 0
    ? NO_FAULTS
    : { ...NO_FAULTS, ...Object.fromEntries(switched.map((name) => [name, true])) };
  return {
    options: {
      name,
      nodeCount,
      faults,
      bounds,
      start: scenario === "cold" ? "cold" : "warm",
      invariants: [mustBreak],
    },
    scenario,
    maxDepth,
    maxStates: 2_000_000,
    mustBreak,
    mustReach: [],
  };
}

/** Bounds of the runs that drive operator requests, lagging observations or Postgres crashes. */
export function issueBounds(bounds: ClusterBounds): Record<string, ClusterBounds> {
  return {
    // Every operator request from steady: one is enough (model/operator_actions.ts).
    operator: { ...bounds, maxOperatorRequests: 1 },
    // The transfer warm start spends the one request; the search adds none.
    transfer: { ...bounds, maxOperatorRequests: 1 },
    // The paused warm start spends one request; a second lets the search resume. Its
    // script cuts the primary off by losing its messages (drops).
    paused: { ...bounds, maxOperatorRequests: 2, dropMessages: true },
    // The restart warm start spends the one Postgres crash, and cuts the primary off too.
    restart: { ...bounds, maxPostgresCrashes: 1, dropMessages: true },
    // A primary that cannot start again (src/core/primary_watch.ts): one is enough, its
    // leader must hand over; a second one repeats that on the next primary. No voter is
    // removed: with two voters the stepped-down leader's vote is needed, and it refuses
    // (D2) a standby its unacknowledged WAL is ahead of, so nothing but a repair of its
    // Postgres helps there (found by this run; docs/OPERATIONS.md). Observations lag, so that
    // the shell reads the stopped server again on its own schedule: a hand-over transfer's
    // TimeoutNow waits for a read begun after it started, which a model that reads only on
    // a change never takes (every hand-over would then end in a step-down).
    cannotStart: {
      ...bounds,
      maxPostgresStartFailures: 1,
      maxMembershipChanges: 0,
      observationLag: true,
    },
    // A Postgres whose every read fails for good (the shell reports it unreadable,
    // src/agent/reconciler.ts): one is enough, on the primary its leader must hand over
    // (primary_watch.ts) and fence it, on a standby it must refuse votes; a second would
    // leave two of three voters unable to vouch for their WAL, so no election could be won.
    // Observations lag as for cannotStart (the shell's reads keep their own schedule).
    unreadable: {
      ...bounds,
      maxUnreadablePostgres: 1,
      maxMembershipChanges: 0,
      observationLag: true,
    },
    // Observations as separate actions, at most OBSERVATION_INTERVAL_TICKS apart.
    lag: { ...bounds, observationLag: true },
    // The asynchronous warm start spends one request; the second returns to quorum mode.
    asynchronous: { ...bounds, maxOperatorRequests: 2 },
    // The snapshot-catch-up warm start spends a crash (the follower left behind) and its kv
    // proposals (the entries that pass the log limit), and loses that follower's messages.
    snapshot: {
      ...bounds,
      maxCrashes: bounds.maxCrashes + 1,
      maxProposals: SNAPSHOT_RUN_PROPOSALS,
      dropMessages: true,
    },
    // The rejoin warm start spends the unreplayed record (on the new leader) and cuts the
    // old primary off (drops). One failed rewind is enough: it is the only way a directory
    // becomes absent, an absent node holds nothing and the clone copies whatever its source
    // holds then, so a second one repeats the first on the other deposed node. One record
    // unreplayed is enough: the core reads only whether replay caught up, not by how much.
    rejoin: { ...bounds, maxFailedRewinds: 1, maxUnreplayedRecords: 1, dropMessages: true },
    // The bootstrap warm start (N=3) spends them all: the bootstrap and one add-learner for
    // each other node.
    bootstrap: { ...bounds, maxOperatorRequests: 3 },
  };
}

/**
 * The cores' log limit in the snapshot-catch-up run: a leader keeps at most two applied
 * entries before it compacts them into a snapshot. Two kv proposals after the first
 * leader's noop pass it (three entries), and a follower one entry behind the snapshot's
 * end still catches up by an append, so both ways of catching up are explored.
 */
export const SNAPSHOT_LOG_LIMIT = 2;
/** Kv proposals in the snapshot-catch-up run: the two its warm start spends. */
const SNAPSHOT_RUN_PROPOSALS = 2;

function withLogLimit(spec: RunSpec, maxLogEntries: number): RunSpec {
  return { ...spec, options: { ...spec.options, maxLogEntries } };
}

/**
 * The cluster configuration that bears on elections, set from the start. Failover
 * priorities n1 3, n2 2, n3 1 (the default): after the leader n1 is lost, n3 is outranked
 * by n2 and campaigns one election timeout later. Maximum lag on failover 0 bytes (D2's
 * lag rule, Patroni's maximum_lag_on_failover): a node behind the last primary's position
 * by any byte neither campaigns nor wins. Both only narrow who may lead, so every invariant
 * must still hold and a failover must still be reached.
 */
const FAILOVER_PRIORITIES: Readonly<Record<string, string>> = {
  "config/tags/n1/failover_priority": "3",
  "config/tags/n2/failover_priority": "2",
  "config/maximum_lag_on_failover": "0",
};

function tagged(spec: RunSpec): RunSpec {
  return { ...spec, options: { ...spec.options, initialKeyValues: FAILOVER_PRIORITIES } };
}

/** What the runs of issue 9's scenarios must reach (their depth is spent on the fault). */
const REACH_ELECTED = ["a leader is elected"];
const REACH_FAILOVER = ["a leader is elected", "a primary is promoted", "a failover completes"];
/** Log compaction: the leader's log is compacted and the follower behind it installs it. */
const REACH_SNAPSHOT = [
  "a leader is elected",
  REACHABLE.leaderCompacts,
  REACHABLE.snapshotInstalled,
];

/** Absent data and replay lag: the directory is lost and re-cloned, a leader waits for replay. */
const REACH_RECLONE = [
  "a leader is elected",
  "a failover completes",
  REACHABLE.postgresAbsent,
  REACHABLE.recloned,
  REACHABLE.leaderReplayBehind,
];

/** A node without data votes for no one: the crashed leader returns, the lost node is re-cloned. */
const REACH_DATA_LOST = [
  "a leader is elected",
  "a failover completes",
  REACHABLE.postgresAbsent,
  REACHABLE.recloned,
];

/** A new cluster: initdb on the bootstrapped node, the learners cloned and promoted. */
const REACH_BOOTSTRAP = [
  "a leader is elected",
  "a primary is promoted",
  REACHABLE.postgresAbsent,
  REACHABLE.learnerPromoted,
];

/** Unreadable Postgres: a core sees it, and a leader whose reads fail hands over and is fenced. */
const REACH_UNREADABLE = [
  "a leader is elected",
  REACHABLE.postgresUnreadable,
  REACHABLE.unreadableFenced,
];

function uninitialised(spec: RunSpec): RunSpec {
  return { ...spec, options: { ...spec.options, uninitialised: true } };
}

/** The runs for the inputs and faults of issues 9 and 10, real and controls. */
function issueRuns(bounds: ClusterBounds, scale: number): RunSpec[] {
  const extra = issueBounds(bounds);
  return [
    // Depths: each run is exhaustive to one step past the depth its control is caught at
    // (operator: every request from steady, one step shallower than the other steady runs).
    real(3, "steady", 4, 150_000 * scale, extra.operator!, " (operator)", REACH_ELECTED),
    real(3, "transfer", 5, 150_000 * scale, extra.transfer!, "", REACH_FAILOVER),
    real(3, "paused", 4, 150_000 * scale, extra.paused!, " (receiver rule off)", REACH_ELECTED, {
      ...NO_FAULTS,
      voteWhileReceivingWal: true,
    }),
    real(3, "postgres-restart", 4, 150_000 * scale, extra.restart!, "", REACH_FAILOVER),
    // Every invariant while a leader hands over for a primary that cannot start (the states
    // of "liveness steady (cannot start)", which shows the writable primary that follows).
    real(3, "steady", 5, 150_000 * scale, extra.cannotStart!, " (cannot start)", REACH_ELECTED),
    // Every invariant while some node's reads of its Postgres fail for good (any node, at
    // any moment): the hand-over itself is shown by test/model/unreadable_test.ts.
    real(3, "steady", 5, 150_000 * scale, extra.unreadable!, " (unreadable)", REACH_UNREADABLE),
    // Its depth is spent on the lagging observations: a leader is elected, the failover
    // itself is reached by the transfer and postgres-restart runs (to depth 5 it was not).
    real(3, "crash-after-ack", 5, 150_000 * scale, extra.lag!, " (lag)", REACH_ELECTED),
    tagged(real(3, "steady", 6, 400_000 * scale, bounds, " (priorities, maximum lag 0)")),
    // Log compaction (issue 10): the follower left behind is restarted and installs the
    // leader's snapshot two steps in (restart, round); exhaustive to depth 5 (46,115 states,
    // ~25 s). Depth 6, or one more kv proposal for the search (80,151 states at depth 5),
    // costs more than the run's budget of ~30 s. A failover is not reached at this depth.
    withLogLimit(
      real(
        3,
        "snapshot-catch-up",
        5,
        150_000 * scale,
        extra.snapshot!,
        ` (log limit ${SNAPSHOT_LOG_LIMIT})`,
        REACH_SNAPSHOT,
      ),
      SNAPSHOT_LOG_LIMIT,
    ),
    // Absent data and replay lag (issue 10): the deposed primary's rewind succeeds or fails
    // (its directory absent, then cloned as its core asks) and the new leader waits for
    // replay before it promotes: exhaustive to depth 4 (29,057 states, ~7 s; depth 5 passes
    // 150,000 states).
    real(3, "rejoin", 4, 150_000 * scale, extra.rejoin!, " (re-clone, replay lag)", REACH_RECLONE),
    // Its script spends the failed rewind, the unreplayed record and the crash: the search
    // restarts the crashed leader (the only one that can win) and re-clones the lost node.
    real(3, "rejoin-data-lost", 6, 150_000 * scale, extra.rejoin!, "", REACH_DATA_LOST),
    // A new cluster (issue 10): the learners asking for a clone from the bootstrapped node
    // (initdb'd by its script); one is cloned and promoted to voter at depth 4 (7,674
    // states, ~3 s).
    uninitialised(real(3, "bootstrap", 4, 150_000 * scale, extra.bootstrap!, "", REACH_BOOTSTRAP)),
    control(
      "compareTimelineNumbers",
      3,
      "crash-after-ack",
      "compareTimelineNumbers",
      INVARIANTS.mostAdvanced,
      { ...extra.lag!, fallenBackTimelines: true },
      // Since standbys detach their receiver without a live leader, the survivor must
      // reconcile and observe again before its vote counts: caught at 6 (60,327 states).
      6,
    ),
    // Freshness and the stopped receiver guard the same bytes: a voter's receiver stops
    // only after E ticks without a leader, and the read that shows it stopped holds every
    // byte it flushed. Either rule alone keeps D1 here (voteOnStaleObservation alone: no
    // violation to depth 6, 175,204 states; voteWhileReceivingWal alone: none to depth 5,
    // 34,671 states), so the control drops both; caught at 4 (3,778 states).
    control(
      "voteOnStaleObservation",
      3,
      "crash-after-ack",
      ["voteOnStaleObservation", "voteWhileReceivingWal"],
      INVARIANTS.durability,
      extra.lag!,
      4,
    ),
    control(
      "keepLeadingAfterTimeoutNow",
      3,
      "transfer",
      "keepLeadingAfterTimeoutNow",
      INVARIANTS.oneWriter,
      extra.transfer!,
      // One step deeper since TimeoutNow waits for the stopped server: the kept leader must
      // start it fenced again before it decides primary: caught at 6.
      6,
    ),
    // The paused warm start cannot elect a new leader under the real core (a paused
    // standby keeps its receiver, so no vote is granted; reported as a liveness issue),
    // so this control and the paused real run switch the receiver rule off too. That rule
    // alone keeps S1 from this start to depth 4 (49,371 states); caught at 3 (6,098).
    control(
      "pauseSkipsFencing",
      3,
      "paused",
      ["pauseSkipsFencing", "voteWhileReceivingWal"],
      INVARIANTS.oneWriter,
      extra.paused!,
      3,
    ),
    // A return to quorum mode (found by the walks): the entry commits only once the primary
    // runs with the quorum names (src/core/quorum_switch.ts).
    real(3, "asynchronous", 4, 150_000 * scale, extra.asynchronous!, " (return to quorum)", [
      REACHABLE.quorumReturns,
    ]),
    control(
      "commitBeforeQuorumNames",
      3,
      "asynchronous",
      "commitBeforeQuorumNames",
      INVARIANTS.syncQuorum,
      extra.asynchronous!,
      // Caught at once: propose, then one round commits it (235 states).
      3,
    ),
    control(
      "restartWritable",
      3,
      "postgres-restart",
      "restartWritable",
      INVARIANTS.oneWriter,
      extra.restart!,
      3,
    ),
    // Found by the model (issue 10): the node whose rewind failed voted without data and
    // elected the node missing the write it had held: caught at 3 (advance, round, promote).
    control(
      "voteWithoutData",
      3,
      "rejoin-data-lost",
      "voteWithoutData",
      INVARIANTS.durability,
      extra.rejoin!,
      3,
    ),
  ];
}

/**
 * One control per Raft invariant and S2 (issue 10 item 4), each from the smallest start
 * that has what the bug needs. Election safety needs only two candidates in one term: from the cold
 * start, caught at depth 2 (11 states). Log matching and committed entries need divergent
 * logs, which the figure-8 start has (a term-2 entry on s1 and s2, a term-3 entry on s5 at
 * the same index): caught at depth 5 (36,153 and 30,185 states).
 */
function raftControls(figure8Bounds: ClusterBounds): RunSpec[] {
  return [
    control(
      "voteTwiceInTerm",
      3,
      "cold",
      "voteTwiceInTerm",
      INVARIANTS.electionSafety,
      DEFAULT_BOUNDS,
      2,
    ),
    control(
      "appendSkipsPrevLogCheck",
      5,
      "figure-8",
      "appendSkipsPrevLogCheck",
      INVARIANTS.logMatching,
      figure8Bounds,
      5,
    ),
    control(
      "commitWithoutMajority",
      5,
      "figure-8",
      "commitWithoutMajority",
      INVARIANTS.committedNeverLost,
      figure8Bounds,
      5,
    ),
    // S2: a fence by read-only alone (model option) leaves the write waiting on the fenced
    // primary, and a voter whose receiver still streams from it flushes the write after the
    // new primary's promotion. Either alone keeps S2 from this start to depth 6 (fence only:
    // 382,321 states; receiver rule only: 367,327; both exhaustive); together caught at 6.
    control(
      "fenceKeepsWaitingCommits",
      3,
      "fenced-write",
      "voteWhileReceivingWal",
      INVARIANTS.noAckOnDeposed,
      { ...DEFAULT_BOUNDS, dropMessages: true, fenceKeepsWaitingCommits: true },
      6,
    ),
  ];
}

/** A bounded-liveness run (model/liveness.ts): the continuation from every reached state. */
export interface LivenessRunSpec {
  readonly options: ClusterModelOptions;
  readonly scenario: Scenario;
  readonly maxDepth: number;
  readonly maxStates: number;
  /** 1: every reached state; k: every k-th (a sample, reported as such). */
  readonly sampleEvery: number;
  /** True for a control: some state must miss the bound. */
  readonly mustFail: boolean;
}

/**
 * The bounded-liveness runs: every state of the real cold run (depth 7), of the real
 * failover run (crash-after-ack with lagging observations, depth 5) and of the operator run
 * (depth 4), the states of the paused start (to depth 4, capped), and the control whose
 * pre-candidates never win, caught at the cold start itself.
 */
export function livenessRuns(large: boolean): LivenessRunSpec[] {
  const extra = issueBounds(DEFAULT_BOUNDS);
  const lag = extra.lag!;
  const liveness = (
    name: string,
    scenario: Scenario,
    bounds: ClusterBounds,
    maxDepth: number,
    faults: CoreConfig["faults"] = NO_FAULTS,
    maxStates = 150_000,
  ): LivenessRunSpec => ({
    options: {
      name,
      nodeCount: 3,
      faults,
      bounds,
      start: scenario === "cold" ? "cold" : "warm",
      invariants: [],
    },
    scenario,
    maxDepth: large ? maxDepth + 1 : maxDepth,
    maxStates: large ? 1_000_000 : maxStates,
    sampleEvery: 1,
    mustFail: faults !== NO_FAULTS,
  });
  return [
    // The depths of the real runs from the same starts: every state they reach.
    liveness("liveness cold", "cold", DEFAULT_BOUNDS, 7),
    liveness("liveness crash-after-ack (lag)", "crash-after-ack", lag, 5),
    // Operator requests (transfer, pause, resume, sync mode, switchover record, add-learner,
    // bootstrap) and a paused cluster cut from its leader. The continuation resumes a paused
    // cluster first (liveness.ts: a paused cluster does not fail over by design). Both with
    // the real core: the paused run's receiver rule is on here (a paused standby without a
    // live leader detaches, postgres_role.ts). Operator: every state of its real run (depth
    // 4). Paused: every state to depth 3 and the first of depth 4 up to a cap that keeps the
    // run near 20 s (all of depth 4 is 56,111 states, ~27 s).
    liveness("liveness steady (operator)", "steady", extra.operator!, 4),
    liveness("liveness paused", "paused", extra.paused!, 4, NO_FAULTS, 25_000),
    // A primary that cannot start: from every state the continuation needs its leader to
    // hand over (transfer or step-down, primary_watch.ts) before another node promotes.
    // Every state of its real run (depth 5, 54,043 states, ~40 s on a loaded machine).
    liveness("liveness steady (cannot start)", "steady", extra.cannotStart!, 5),
    // A Postgres that cannot be read: from every state the continuation keeps it unreadable
    // (it refuses votes and does not stand, postgres_role.ts and election.ts), so the
    // others elect among themselves; a leader whose reads fail hands over first.
    liveness("liveness steady (unreadable)", "steady", extra.unreadable!, 5),
    // Its warm starts cannot be scripted (no election succeeds): from the cold start.
    liveness("liveness preVoteCountedInOwnTerm", "cold", DEFAULT_BOUNDS, 1, {
      ...NO_FAULTS,
      preVoteCountedInOwnTerm: true,
    }),
  ];
}

/** The default run's configuration named `name` (tests look runs up by name). */
export function runNamed(name: string): RunSpec {
  const spec = modelCheckRuns(false).find((run) => run.options.name === name);
  if (spec === undefined) throw new Error(`no run named ${name}`);
  return spec;
}

/** The runs, default or `--large`. Controls are pinned at the depth where they must be caught. */
export function modelCheckRuns(large: boolean): RunSpec[] {
  const bounds = large ? LARGE_BOUNDS : DEFAULT_BOUNDS;
  const scale = large ? 4 : 1;
  const figure8Bounds = large ? { ...FIGURE_8_BOUNDS, maxInFlight: 8 } : FIGURE_8_BOUNDS;
  return withPins(allRuns(large, bounds, scale, figure8Bounds), large);
}

function allRuns(
  large: boolean,
  bounds: ClusterBounds,
  scale: number,
  figure8Bounds: ClusterBounds,
): RunSpec[] {
  return [
    ...issueRuns(bounds, scale),
    // State caps of the default run cut (2026-12-02) to fit the CI budget of ~15 min on
    // 2 cores after the core became ~2x slower per state: N=3 steady and write-in-flight
    // are no longer exhaustive to depth 6 (390,353 and 293,797 states were); --large keeps
    // the former caps x4 for a nightly run (docs/BENCHMARKS.md).
    real(3, "cold", 7, 400_000 * scale, bounds),
    real(3, "steady", 6, large ? 1_600_000 : 150_000, bounds),
    real(3, "write-in-flight", 6, large ? 1_600_000 : 150_000, bounds),
    // N=5 from steady and write-in-flight: since a vote needs a detached receiver and a fresh
    // read, a failover takes more than 5 steps at N=5 (both runs were vacuous at depth 5:
    // 285,793 and 300,000 states, 260 s each), so they run only with --large, one step deeper.
    // N=5 stays in the default run through the figure-8 run and the N=5 controls.
    ...(large
      ? [
        real(5, "steady", 6, 1_200_000, bounds),
        real(5, "write-in-flight", 6, 1_200_000, bounds),
        // The cold starts explored deep with the default bounds (issue 10: N=3 to depth 10,
        // N=5 to depth 8; docs/BENCHMARKS.md gives their sizes): for the nightly run,
        // searched on every core (--search-workers).
        real(3, "cold", 10, 24_000_000, DEFAULT_BOUNDS, " (deep)"),
        real(5, "cold", 8, 24_000_000, DEFAULT_BOUNDS, " (deep)"),
      ]
      : []),
    real(5, "figure-8", large ? 7 : 6, large ? 1_600_000 : 150_000, figure8Bounds),
    // From the crash: a vote now needs the voter's receiver stopped, which only a
    // reconcile after E ticks without a leader does, and that read shows the write; from
    // "write-in-flight" nothing is found to depth 6 (crash-after-ack: none to depth 6,
    // 322,451 states). With the receiver rule off as well: caught at 5 (22,571 states).
    control(
      "ackOnOneStandby",
      5,
      "crash-after-ack",
      ["ackOnOneStandby", "voteWhileReceivingWal"],
      INVARIANTS.durability,
      bounds,
      5,
    ),
    control(
      "voteIgnoresPosition",
      3,
      "write-in-flight",
      "voteIgnoresPosition",
      INVARIANTS.mostAdvanced,
      bounds,
      6,
    ),
    // A standby stops its receiver only once it knows no live leader (E ticks without
    // one), which a vote needs: that alone waits out the lease. The control drops both
    // waits; caught at 6 (22,556 states). skipLeaseWait alone: none to depth 6.
    control(
      "skipLeaseWait",
      3,
      "steady",
      ["skipLeaseWait", "voteWhileReceivingWal"],
      INVARIANTS.oneWriter,
      bounds,
      6,
    ),
    control(
      "keepWritingWithoutMajority",
      3,
      "steady",
      "keepWritingWithoutMajority",
      INVARIANTS.oneWriter,
      bounds,
      // One step deeper since a vote needs the voter's receiver stopped (a reconcile):
      // caught at 7 (395,863 states).
      7,
    ),
    // Figure 8: the search finds the faulty commit in five steps from the divergent logs.
    control(
      "commitOldTermByCount",
      5,
      "figure-8",
      "commitOldTermByCount",
      INVARIANTS.leaderCompleteness,
      figure8Bounds,
      5,
    ),
    control(
      "syncSetIgnoresMembership",
      3,
      "steady",
      "syncSetIgnoresMembership",
      INVARIANTS.syncFormula,
      bounds,
      6,
    ),
    ...raftControls(figure8Bounds),
    // The drift bound, from the start that spends the whole skew swing it allows right after
    // the lease was renewed (warm_start.ts, clock-swing). Within the bound the followers still
    // wait out the lease (none to depth 6: 521,864 states, exhaustive; the default run goes
    // one step past the control). With D + 1 a follower wins while the cut-off leader's lease
    // runs: caught at 3 (386 states). From steady the same swing is about a dozen actions
    // deep (nothing to depth 6: 846,265 states at D + 1).
    real(3, "clock-swing", 4, 150_000 * scale, bounds, "", REACH_ELECTED),
    control("excess clock drift (model)", 3, "clock-swing", null, INVARIANTS.oneWriter, {
      ...bounds,
      clockDriftTicks: bounds.clockDriftTicks + 1,
    }, 3),
  ];
}
