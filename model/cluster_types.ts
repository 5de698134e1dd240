/**
 * The state of the modelled cluster: N nodes running the real core, each with a modelled
 * disk, clock and Postgres, the network's in-flight messages, and the ghost variables the
 * invariants read (acknowledged writes, grants, elections).
 *
 * @module
 */
import type { FaultSwitches, Message, NodeState, PersistentState } from "../src/core/mod.ts";

/** One WAL record: a client write (write > 0) or the end-of-recovery record of a promotion (0). */
export interface WalRecord {
  readonly timeline: number;
  readonly write: number;
}

/** The environment's abstract Postgres of one node. */
export interface PostgresModel {
  /** The flushed WAL, in order; its length is the LSN. */
  readonly wal: readonly WalRecord[];
  /**
   * "starting": asked to start, not yet accepting connections (crash recovery). "absent":
   * no usable data directory (a failed pg_rewind damaged it); "cloning": pg_basebackup from
   * `source` runs into a new directory, the data directory still absent. Both hold no WAL.
   */
  readonly status: "running" | "starting" | "stopped" | "absent" | "cloning";
  readonly inRecovery: boolean;
  /** A primary that refuses writes (the shell's SQL fence); it still streams WAL. */
  readonly fenced: boolean;
  /** Index of the node this standby streams from, or -1. */
  readonly source: number;
  /** synchronous_standby_names in effect (meaningful on a primary). */
  readonly synchronousStandbyNames: string;
  /** Sequence number of the promotion (or primary start) that made this server primary; 0 if never. */
  readonly promotion: number;
  /** A standby holds received WAL it has not replayed yet (its position is the received LSN). */
  readonly replayBehind: boolean;
  /**
   * Set on a stopped server whose every start fails (a PANIC in crash recovery, a bad
   * setting): only a rewind, which replaces what broke it, starts it again (as a standby).
   * Absent otherwise (so that runs without the fault keep their fingerprints).
   */
  readonly cannotStart?: true;
  /**
   * Set when every read of the shell fails for good (an unreadable data directory, a hanging
   * socket): the shell then reports `unreadable` (src/agent/reconciler.ts,
   * `MAX_FAILED_OBSERVATIONS`), whatever the server does. Absent otherwise (fingerprints).
   */
  readonly unreadable?: true;
}

/** Ghost record of the last real vote a node granted, with its own WAL at that moment (for D2). */
export interface Grant {
  readonly term: number;
  readonly candidate: number;
  readonly wal: readonly WalRecord[];
}

/** One node of the model. */
export interface ModelNode {
  /** The real core's state; null while the node is crashed. */
  readonly core: NodeState | null;
  /** What the node's storage holds (survives crashes). */
  readonly disk: PersistentState;
  /** Ticks this node's clock is ahead of the slowest running node (0..clockDriftTicks). */
  readonly clockLead: number;
  readonly postgres: PostgresModel;
  readonly grant: Grant | null;
}

/** An acknowledged client write (ghost). */
export interface AckedWrite {
  readonly write: number;
  /** The promotion sequence number of the primary that acknowledged it. */
  readonly promotion: number;
  /** True when, at the instant of the acknowledgement, a newer promotion already existed (S2). */
  readonly afterNewerPrimary: boolean;
  /**
   * True when acknowledged after remote standbys flushed it (quorum mode). Asynchronous
   * mode (or the commit gate alone) promises no durability across a failover (D1 exempts it).
   */
  readonly durable: boolean;
}

/** A write accepted by a primary and waiting for its synchronous standbys. */
export interface PendingWrite {
  readonly write: number;
  readonly node: number;
}

/**
 * Ghost record of a log entry the first time any core knew it committed: its index and
 * term, and the term of the node that knew it (the entry was committed in that term, so
 * every leader of a later term must hold it).
 */
export interface CommittedEntry {
  readonly index: number;
  readonly term: number;
  readonly knownInTerm: number;
}

/** Where an exploration starts: the cold start, or a scripted warm start (model/warm_start.ts). */
export type Scenario =
  | "cold"
  | "steady"
  | "write-in-flight"
  | "crash-after-ack"
  | "figure-8"
  | "transfer"
  | "paused"
  | "postgres-restart"
  | "fenced-write"
  | "snapshot-catch-up"
  | "clock-swing"
  | "rejoin"
  | "rejoin-data-lost"
  | "bootstrap"
  | "asynchronous";

/** Last index of the committed snapshot every node holds at the cold start (cluster_model.ts). */
export const COLD_START_SNAPSHOT_INDEX = 1;

/** The whole model state. Plain data; never mutated. */
export interface ClusterModelState {
  readonly nodes: readonly ModelNode[];
  /** In-flight messages (a multiset: duplicates are separate entries). */
  readonly messages: readonly Message[];
  readonly writesIssued: number;
  /** Admin proposals (kv commands) made so far. */
  readonly proposals: number;
  readonly pending: readonly PendingWrite[];
  readonly acked: readonly AckedWrite[];
  readonly crashes: number;
  readonly duplicates: number;
  readonly membershipChanges: number;
  /** Operator requests (transfer, pause, resume, sync mode, add-learner, bootstrap) made so far. */
  readonly operatorRequests: number;
  /** Crashes of a Postgres alone (its agent keeps running) so far. */
  readonly postgresCrashes: number;
  /** Primaries stopped for good ("cannot start", {@link PostgresModel.cannotStart}) so far. */
  readonly postgresStartFailures: number;
  /** pg_rewind runs that failed and left the data directory unusable (absent) so far. */
  readonly failedRewinds: number;
  /** WAL records a standby received without replaying them at once, so far. */
  readonly unreplayedRecords: number;
  /** Highest promotion sequence number so far. */
  readonly latestPromotion: number;
  /** Ghost: term -> index of the node elected in it (election safety across time). */
  readonly elected: Readonly<Record<string, number>>;
  /** Ghost: every entry ever known committed, by index (committed entries are never lost). */
  readonly committed: readonly CommittedEntry[];
  /** Ghost: a second node became leader of a term already won (kept once seen). */
  readonly electionClash: string | null;
  /** A core assertion that fired during the last step, or null. */
  readonly coreFailure: string | null;
  /** An invariant that failed inside a macro action (at an intermediate state), or null. */
  readonly transientViolation: string | null;
  /**
   * Ghost: during the last action a core installed a leader's snapshot (InstallSnapshot
   * applied). Reset by every action, as {@link coreFailure}: it marks the step, not history.
   */
  readonly snapshotInstalled: boolean;
}

/** Every bound of the exploration, each with the reason it is enough in {@link defaultBounds}. */
export interface ClusterBounds {
  /** States whose highest term exceeds this are checked but not expanded. */
  readonly maxTerm: number;
  /** Messages sent while this many are in flight are lost (the network may drop anything). */
  readonly maxInFlight: number;
  readonly maxCrashes: number;
  readonly maxWrites: number;
  /** Admin proposals of a kv command a leader may receive (0: the action is never offered). */
  readonly maxProposals: number;
  readonly maxDuplicates: number;
  readonly maxMembershipChanges: number;
  /**
   * Operator requests other than kv proposals and removals (transfer to each voter or to the
   * best one, pause, resume, sync mode, add-learner, bootstrap); 0: never offered.
   */
  readonly maxOperatorRequests: number;
  /** Crashes of a Postgres alone, its agent running on (the watchdog's kill, an OOM kill). */
  readonly maxPostgresCrashes: number;
  /**
   * Primaries (a server not in recovery) that stop and cannot start again until rewound
   * (absent or 0: never offered); why one is enough, in runs.ts at the bounds that set it.
   */
  readonly maxPostgresStartFailures?: number;
  /**
   * Nodes whose Postgres turns unreadable for good ({@link PostgresModel.unreadable}; absent
   * or 0: never offered); why one is enough, in runs.ts at the bounds that set it.
   */
  readonly maxUnreadablePostgres?: number;
  /**
   * Rewinds that fail and leave the data directory absent, to be re-cloned (0: never
   * offered). Why one is enough, in runs.ts at the bounds that set it.
   */
  readonly maxFailedRewinds: number;
  /** Records a standby may receive without replaying them at once (0: replay keeps up). */
  readonly maxUnreplayedRecords: number;
  /**
   * Postgres observations are a separate action of each node (the shell observes on its own
   * schedule), bounded by the observation interval; false: every change is observed at once.
   */
  readonly observationLag: boolean;
  /**
   * A standby whose WAL receiver is down reports the timeline of its last restartpoint
   * (the pre-issue-9 shell, issue 9 item 1), not its WAL's; false: positions are true.
   */
  readonly fallenBackTimelines: boolean;
  /**
   * Shell fault (S2's control): fencing makes the server read-only but leaves commits that
   * were waiting for their synchronous standbys waiting, so a standby still streaming from
   * the fenced primary acknowledges them later (src/postgres/fence.ts sets an unreachable
   * synchronous_standby_names and ends those backends to prevent exactly this). Absent or
   * false: a fence fails every waiting commit.
   */
  readonly fenceKeepsWaitingCommits?: boolean;
  /** A running node's clock may be at most this many ticks ahead of the slowest running node. */
  readonly clockDriftTicks: number;
  /** Jitter values a tick may carry (a tiny subset of [0, electionTimeoutJitterTicks)). */
  readonly jitterChoices: readonly number[];
  /** Offer message drops as actions (losses by overflow happen regardless). */
  readonly dropMessages: boolean;
  /** Offer synchronous rounds (everyone ticks, messages delivered, one node optionally cut off). */
  readonly rounds: boolean;
}

/** Everything that defines one model instance. */
export interface ClusterModelOptions {
  readonly name: string;
  readonly nodeCount: number;
  readonly faults: FaultSwitches;
  readonly bounds: ClusterBounds;
  /** "cold": all voters of term 1, no leader; "warm": after a scripted election and promotion. */
  readonly start: "cold" | "warm";
  /** Names of the always-invariants to check ("all" for every one). */
  readonly invariants: readonly string[] | "all";
  /**
   * Cluster configuration keys every node starts with (e.g. tags such as
   * `config/tags/n2/failover_priority`), in the committed snapshot of the cold start.
   */
  readonly initialKeyValues?: Readonly<Record<string, string>>;
  /**
   * The cores' log limit (`maxLogEntries`: compaction, and InstallSnapshot to a follower
   * behind the snapshot); absent: the core's default, which the model's logs never reach.
   */
  readonly maxLogEntries?: number;
  /**
   * Every node starts uninitialised: an empty disk (no term, no log) and no Postgres data
   * directory, as a new cluster before `hactl run --bootstrap` on one node (the "bootstrap"
   * warm start). Absent or false: the cold start of a cluster already created.
   */
  readonly uninitialised?: boolean;
}
