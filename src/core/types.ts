/**
 * Data types of the pure core: node state, inputs, messages and effects.
 *
 * Everything here is plain data (JSON-serializable: strings, numbers, booleans,
 * arrays, plain objects, null) so that the shell can persist and send it, and the
 * model checker can fingerprint it. Time is counted in logical ticks.
 *
 * @module
 */

/** A member's stable identity, e.g. "node1". Letters, digits, `_` and `-`, at most 63 chars. */
export type NodeId = string;

/**
 * One line of a Postgres timeline history file: WAL of `timeline` ends at `endLsn`, where
 * the next timeline of the history begins (Postgres calls it the switch point).
 */
export interface TimelineSwitch {
  readonly timeline: number;
  readonly endLsn: number;
}

/**
 * A position in a node's Postgres WAL history: the timeline the WAL at `lsn` belongs to, the
 * flushed LSN in bytes, and the history that leads to the timeline (its ancestors, oldest
 * first, as in `0000000N.history`). Two positions compare by that history, never by timeline
 * number alone (see wal_position.ts). LSNs fit in a safe integer (2^53 bytes = 8 PiB of WAL).
 */
export interface WalPosition {
  /** Postgres timeline id of the WAL at `lsn` (1 after initdb; a promotion makes a new one). */
  readonly timeline: number;
  /** Flushed (or, on a standby, received and flushed) WAL location in bytes. */
  readonly lsn: number;
  /** The ancestors of `timeline`, oldest first; empty for timeline 1. */
  readonly history: readonly TimelineSwitch[];
}

/** How the primary waits for standbys before acknowledging a commit. */
export type SyncMode = "quorum" | "asynchronous";

/** The Raft membership configuration. Voters elect and form quorums; learners only follow. */
export interface Membership {
  /** Voting members, sorted. */
  readonly voters: readonly NodeId[];
  /** Non-voting members that replicate and are promoted to voters once caught up, sorted. */
  readonly learners: readonly NodeId[];
}

/** A command replicated through the Raft log; applied in log order to {@link ClusterState}. */
export type Command =
  /** Written by every new leader so that it commits an entry of its own term. */
  | { readonly kind: "noop" }
  /** A membership change (at most one voter added or removed relative to the previous one). */
  | { readonly kind: "membership"; readonly membership: Membership }
  /** Sets (value) or deletes (null) a key of the small key-value map. */
  | { readonly kind: "kv"; readonly key: string; readonly value: string | null }
  /** Maintenance mode: while paused, no automatic Postgres role change is made. */
  | { readonly kind: "pause"; readonly paused: boolean }
  /** Replication mode of the cluster. */
  | { readonly kind: "sync-mode"; readonly mode: SyncMode }
  /** Records the member a switchover is heading to (null when none). */
  | { readonly kind: "switchover"; readonly target: NodeId | null };

/** One entry of the Raft log. */
export interface LogEntry {
  readonly term: number;
  readonly index: number;
  readonly command: Command;
}

/** The replicated state machine: what every member agrees on. */
export interface ClusterState {
  readonly membership: Membership;
  readonly paused: boolean;
  readonly syncMode: SyncMode;
  readonly switchoverTarget: NodeId | null;
  /** Small key-value map (member addresses, settings); bounded by `maxKeyValueEntries`. */
  readonly keyValues: Readonly<Record<string, string>>;
}

/** A snapshot of the state machine up to and including `lastIndex`. */
export interface Snapshot {
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly state: ClusterState;
}

/** The state that must survive a crash, written before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | null;
  /** Highest index known committed; persisting it is an optimisation, not needed for safety. */
  readonly commitIndex: number;
}

/** Everything a restarted node gets back from its storage. */
export interface PersistentState {
  readonly hardState: HardState;
  /** Snapshot covering the prefix of the log that was compacted away, or null. */
  readonly snapshot: Snapshot | null;
  /** Log entries after the snapshot, contiguous indexes. */
  readonly entries: readonly LogEntry[];
}

/** What the shell observed of its local Postgres. */
export interface PostgresObservation {
  /**
   * `running`: accepts connections; `stopped`: data directory present, server down; `absent`:
   * no data directory yet; `unreadable`: every read of the shell failed for a bounded time
   * (src/agent/reconciler.ts, `MAX_FAILED_OBSERVATIONS`), so nothing is known of its WAL
   * (position null: it refuses votes and never campaigns) and its data is never replaced.
   */
  readonly status: "running" | "stopped" | "absent" | "unreadable";
  /** True when the server runs (or, stopped, would start) as a standby; the last known value when unreadable. */
  readonly inRecovery: boolean;
  /** (timeline, flushed or received LSN); null when unknown (absent data). */
  readonly position: WalPosition | null;
  /** True when every received WAL record is replayed (replay LSN >= received LSN). */
  readonly replayCaughtUp: boolean;
  /** The synchronous_standby_names value in effect on the server, or null when unknown. */
  readonly synchronousStandbyNames: string | null;
  /** True when the shell confirmed that the server refuses writes (fenced). */
  readonly fenced: boolean;
  /**
   * True when this standby runs a WAL receiver or may start one (primary_conninfo set, or
   * the shell was pointing it at a source during the read); false for a primary, and for a
   * stopped server that the shell will not start streaming. A non-transfer vote is granted
   * only on an observation without one: a receiving standby can flush WAL of commits
   * acknowledged after the read (see `leaseDurationTicks`, config.ts).
   */
  readonly receivingWal: boolean;
}

/** Raft message kinds exchanged between peers. */
export type Message =
  | PreVoteRequest
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | SnapshotRequest
  | TimeoutNowRequest;

/** Fields common to every message. */
export interface MessageHeader {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Pre-vote: asks whether a vote would be granted in `term` (the sender's term + 1); changes nothing. */
export interface PreVoteRequest extends MessageHeader {
  readonly kind: "pre-vote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly position: WalPosition;
}

/** Real vote request. `transfer` is set when the leader asked for this election (TimeoutNow). */
export interface VoteRequest extends MessageHeader {
  readonly kind: "vote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly position: WalPosition;
  readonly transfer: boolean;
}

/** Answer to a pre-vote or vote request. */
export interface VoteResponse extends MessageHeader {
  readonly kind: "vote-response";
  readonly preVote: boolean;
  readonly granted: boolean;
  /** Why a vote was refused (for logs and tests); empty when granted. */
  readonly reason: string;
}

/** AppendEntries: replication and heartbeat. `round` numbers the leader's heartbeat rounds for the lease. */
export interface AppendRequest extends MessageHeader {
  readonly kind: "append";
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly LogEntry[];
  readonly commitIndex: number;
  readonly round: number;
  /** The leader's own Postgres position, for follower lag and the maximum-lag rule. */
  readonly leaderPosition: WalPosition | null;
}

/** Answer to an append or snapshot request. */
export interface AppendResponse extends MessageHeader {
  readonly kind: "append-response";
  readonly success: boolean;
  /** On success the highest index known to match; on failure a hint where to retry from. */
  readonly matchIndex: number;
  readonly round: number;
  /** The follower's Postgres position (null when unknown). */
  readonly position: WalPosition | null;
}

/** InstallSnapshot for a follower behind the leader's compacted log (state is small: one message). */
export interface SnapshotRequest extends MessageHeader {
  readonly kind: "snapshot";
  readonly snapshot: Snapshot;
  readonly round: number;
  readonly leaderPosition: WalPosition | null;
}

/** Sent by a leader transferring leadership: start an election now. */
export interface TimeoutNowRequest extends MessageHeader {
  readonly kind: "timeout-now";
}

/** Requests from an operator (CLI, API), handled by the leader. */
export type AdminRequest =
  | { readonly kind: "propose"; readonly requestId: string; readonly command: Command }
  | { readonly kind: "add-learner"; readonly requestId: string; readonly node: NodeId }
  | { readonly kind: "remove-member"; readonly requestId: string; readonly node: NodeId }
  | { readonly kind: "transfer"; readonly requestId: string; readonly target: NodeId | null };

/** One input to the core. */
export type Input =
  /** A logical clock tick. `jitterTicks` is a fresh random draw in [0, electionTimeoutJitterTicks). */
  | { readonly kind: "tick"; readonly jitterTicks: number }
  | { readonly kind: "message"; readonly message: Message }
  /**
   * An observation of the local Postgres whose read began `readTicksAgo` ticks of this
   * node's clock before this step (a whole number >= 0, measured by the shell).
   */
  | {
    readonly kind: "postgres";
    readonly observation: PostgresObservation;
    readonly readTicksAgo: number;
  }
  | { readonly kind: "admin"; readonly request: AdminRequest }
  /** Creates a new single-voter cluster on an uninitialised node. */
  | { readonly kind: "bootstrap" };

/** What the shell must make durable before sending the step's messages. */
export interface PersistRequest {
  /** New hard state to write, or null when unchanged. */
  readonly hardState: HardState | null;
  /** Drop every stored entry with index >= this before appending, or null. */
  readonly truncateFrom: number | null;
  /** Entries to append (contiguous, after any truncation). */
  readonly append: readonly LogEntry[];
  /** New snapshot; entries with index <= snapshot.lastIndex are discarded. */
  readonly snapshot: Snapshot | null;
}

/** A side effect for the shell other than persistence and messages. */
export type Effect =
  /** The result of an admin request (immediately on refusal, at commit on success). */
  | {
    readonly kind: "admin-result";
    readonly requestId: string;
    readonly ok: boolean;
    readonly error: string | null;
    readonly leaderHint: NodeId | null;
  }
  /** Entries newly committed and applied to the cluster state. */
  | { readonly kind: "applied"; readonly entries: readonly LogEntry[] }
  /** Raft role changed (for logs and metrics). */
  | {
    readonly kind: "role-changed";
    readonly role: RaftRole;
    readonly term: number;
    readonly leader: NodeId | null;
  }
  /** A fault that needs an operator (e.g. an invalid peer message); the node keeps running. */
  | { readonly kind: "warning"; readonly text: string };

/** The result of one step: the new state, then persist, then send, then effects, in that order. */
export interface StepResult {
  readonly state: NodeState;
  readonly persist: PersistRequest | null;
  readonly messages: readonly Message[];
  readonly effects: readonly Effect[];
}

/** Raft roles. */
export type RaftRole = "follower" | "pre-candidate" | "candidate" | "leader";

/** Per-peer replication progress kept by a leader. */
export interface PeerProgress {
  readonly matchIndex: number;
  readonly nextIndex: number;
  /** Heartbeat round last acknowledged by this peer. */
  readonly ackedRound: number;
  /** The peer's last reported Postgres position. */
  readonly position: WalPosition | null;
  /** Ticks since the peer last answered (for status and check-quorum). */
  readonly ticksSinceResponse: number;
}

/**
 * Negative-control switches. Each disables one safety rule so that the model checker and
 * tests can prove the rule is needed. All false in production; the agent refuses to start
 * with any of them on.
 */
export interface FaultSwitches {
  /** Quorum-sync waits for one standby whatever the cluster size. */
  readonly ackOnOneStandby: boolean;
  /** Votes ignore the candidate's (timeline, LSN). */
  readonly voteIgnoresPosition: boolean;
  /**
   * Voters do not refuse votes inside a live leader's lease (nor for an observation read
   * before that wait would have ended), and a new leader does not wait.
   */
  readonly skipLeaseWait: boolean;
  /** A leader keeps write authority after losing its majority. */
  readonly keepWritingWithoutMajority: boolean;
  /** Commit entries of earlier terms by counting replicas (Raft paper, figure 8). */
  readonly commitOldTermByCount: boolean;
  /** The synchronous set is computed from the bootstrap membership, not the current one. */
  readonly syncSetIgnoresMembership: boolean;
  /** Votes compare positions by timeline number, then LSN, not by history (issue 9, D1/D2). */
  readonly compareTimelineNumbers: boolean;
  /** Votes are granted on an observation taken before the voter's lease wait ended. */
  readonly voteOnStaleObservation: boolean;
  /**
   * Votes are granted on an observation showing the voter's WAL receiver still running, which
   * may flush commits acknowledged after the read (issue 9's remaining gap).
   */
  readonly voteWhileReceivingWal: boolean;
  /** A transfer that times out after TimeoutNow was sent leaves the old leader leading. */
  readonly keepLeadingAfterTimeoutNow: boolean;
  /** A paused cluster holds Postgres as it is, even a writable one without write authority. */
  readonly pauseSkipsFencing: boolean;
  /** A stopped primary on a leader with write authority is started writable, not fenced. */
  readonly restartWritable: boolean;
  /**
   * Election safety: a voter grants a vote in a term although it already voted for another
   * candidate in it (the `votedFor` check forgotten), so two candidates can win one term.
   */
  readonly voteTwiceInTerm: boolean;
  /**
   * Log matching: a follower accepts an append whose previous entry (prevLogIndex,
   * prevLogTerm) it holds with another term, instead of refusing it (the consistency check
   * forgotten), so two logs can agree at an index and differ before it.
   */
  readonly appendSkipsPrevLogCheck: boolean;
  /**
   * Committed entries never lost: a leader counts an entry committed as soon as it appended
   * it itself, without waiting for a majority to store it.
   */
  readonly commitWithoutMajority: boolean;
  /**
   * Liveness: a pre-candidate counts only answers in its current term, forgetting that a
   * granted pre-vote answers in the proposed term (term + 1), so no pre-vote ever wins and
   * no election follows the loss of a leader.
   */
  readonly preVoteCountedInOwnTerm: boolean;
  /**
   * D1's premise: a leader commits a return to quorum mode before its primary runs with the
   * quorum names, so commits are acknowledged by the commit gate alone while the log says
   * quorum (src/core/quorum_switch.ts).
   */
  readonly commitBeforeQuorumNames: boolean;
  /**
   * D1: a voter whose Postgres data directory is absent (a failed rewind, a lost disk)
   * grants votes without a position to compare, so a candidate missing a commit that only
   * the lost directory and a crashed node held can win.
   */
  readonly voteWithoutData: boolean;
}

/** Tuning of the core. Every limit is named here. */
export interface CoreConfig {
  /** Minimum election timeout; a follower that heard a leader within it refuses to vote. */
  readonly electionTimeoutTicks: number;
  /** Election timeouts are drawn in [electionTimeoutTicks, electionTimeoutTicks + jitter). */
  readonly electionTimeoutJitterTicks: number;
  /** A leader sends a heartbeat round every this many ticks. */
  readonly heartbeatIntervalTicks: number;
  /** Bound on the clock rate difference between any two nodes, in parts per thousand. */
  readonly clockDriftPermille: number;
  /** Ticks subtracted from the lease for the time the shell needs to fence. */
  readonly leaseSafetyTicks: number;
  /** Compact the log when it holds more than this many applied entries. */
  readonly maxLogEntries: number;
  /** At most this many entries in one append message. */
  readonly maxEntriesPerMessage: number;
  /** At most this many keys in the key-value map. */
  readonly maxKeyValueEntries: number;
  /** A node more than this many bytes behind the last known primary is not promoted automatically; null = no limit. */
  readonly maxLagBytes: number | null;
  /** A learner within this many bytes of the primary (and with a caught-up log) is promoted to voter. */
  readonly learnerCatchUpBytes: number;
  /** A leadership transfer that has not completed in this many ticks is abandoned. */
  readonly transferTimeoutTicks: number;
  /**
   * A leader whose Postgres has not been seen running as a primary for this many ticks
   * (since it became leader, or since it last saw it so) hands leadership over: to a
   * caught-up standby by a transfer, else by stepping down (src/core/primary_watch.ts).
   */
  readonly primaryStartTimeoutTicks: number;
  /**
   * The application_name of a local commit gate (the watchdog's replication client that
   * acknowledges WAL only while the lease runs), named as the synchronous standby whenever
   * no remote standby is required; null when there is none (the model, tests).
   */
  readonly commitGate: string | null;
  /** Negative-control switches; all false in production. */
  readonly faults: FaultSwitches;
}

/** A leadership transfer in progress. */
export interface Transfer {
  readonly target: NodeId;
  readonly requestId: string | null;
  readonly elapsedTicks: number;
  /** True once TimeoutNow was sent: from then on this leader has no write authority. */
  readonly timeoutNowSent: boolean;
  /**
   * True when the latest Postgres read began no earlier than the tick the transfer started
   * (`readTicksAgo` <= `elapsedTicks`). TimeoutNow needs
   * it: a read of a stopped server from before the transfer may predate a restart.
   */
  readonly readSinceStart: boolean;
}

/**
 * A leader's wait before it commits a return to quorum mode (src/core/quorum_switch.ts):
 * the entry's index, ticks since the leader saw it in its log, and whether an observation
 * read since then showed the quorum names in effect (or a server that cannot acknowledge).
 */
export interface QuorumSwitchWait {
  readonly index: number;
  readonly ageTicks: number;
  readonly confirmed: boolean;
}

/** A pending admin request waiting for its log entry to commit. */
export interface PendingRequest {
  readonly requestId: string;
  readonly index: number;
  readonly term: number;
}

/** The whole state of one node's core. Plain data; a step never mutates its input. */
export interface NodeState {
  readonly id: NodeId;
  readonly config: CoreConfig;

  // Persistent (mirrors storage).
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly snapshot: Snapshot | null;
  readonly log: readonly LogEntry[];

  // Volatile.
  readonly role: RaftRole;
  readonly leader: NodeId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** State machine after applying up to appliedIndex. */
  readonly applied: ClusterState;
  /** Membership in force: the latest membership entry in the log, committed or not. */
  readonly membership: Membership;
  /** Log index of the entry that set `membership` (0: from snapshot or bootstrap). */
  readonly membershipIndex: number;
  /** The first membership this node ever applied (used only by a negative control). */
  readonly bootstrapMembership: Membership | null;

  /** Ticks since this node last heard from a live leader (or since restart). */
  readonly ticksSinceLeaderContact: number;
  /** Ticks since the election timer was reset. */
  readonly electionElapsedTicks: number;
  /** The randomized timeout in force for the election timer. */
  readonly electionTimeoutTicks: number;
  /** Latest jitter from the shell, used at the next timer reset. */
  readonly nextJitterTicks: number;
  /** Votes received in the current (pre-)election: voter -> granted. */
  readonly votes: Readonly<Record<NodeId, boolean>>;
  /** True when the current candidacy was started by TimeoutNow. */
  readonly campaignIsTransfer: boolean;

  /** Latest observation of the local Postgres; null until the shell reports one. */
  readonly postgres: PostgresObservation | null;
  /**
   * Ticks since the read of `postgres` began (set from the input's `readTicksAgo` by every
   * observation, capped at `ageCapTicks`): a vote is granted only on an observation whose
   * read began after the voter's lease wait ended (see `observationFreshEnough`).
   */
  readonly observationAgeTicks: number;
  /** Latest Postgres position of the leader as heard in heartbeats. */
  readonly leaderPosition: WalPosition | null;

  // Leader only.
  // Time is kept as relative counters (ages, remaining ticks), never as absolute clock
  // readings, so that the state space stays finite for the model checker.
  readonly progress: Readonly<Record<NodeId, PeerProgress>>;
  readonly heartbeatElapsedTicks: number;
  /** Current heartbeat round number (restarts at 0 in every leadership). */
  readonly round: number;
  /** Age in ticks of recent rounds not yet acknowledged by a majority: round -> age. */
  readonly roundAgeTicks: Readonly<Record<string, number>>;
  /** This leader may act as primary for this many more ticks (0: no lease). */
  readonly leaseRemainingTicks: number;
  /**
   * Ticks since a majority last acknowledged a round (capped at the election timeout); a
   * leader steps down when it reaches the election timeout (check-quorum).
   */
  readonly ticksWithoutQuorum: number;
  readonly transfer: Transfer | null;
  /**
   * Leader only: ticks its latest observation has not shown its Postgres running as a
   * primary (since it became leader, or since a read showed it so), capped at
   * `primaryStartTimeoutTicks` (the hand-over, primary_watch.ts).
   */
  readonly ticksWithoutPrimary: number;
  /**
   * True after this node handed leadership over because its Postgres did not run as a
   * primary in time: it does not campaign until it observes its Postgres running.
   */
  readonly campaignWaitsForPostgres: boolean;
  /** A return to quorum mode waiting for the primary's names (leader only), else null. */
  readonly quorumSwitch: QuorumSwitchWait | null;
  readonly pending: readonly PendingRequest[];
}

/** The role the local Postgres must have, decided by {@link decidePostgresRole}. */
export type PostgresRole =
  /** Run as the writable primary. */
  | { readonly kind: "primary"; readonly synchronousStandbyNames: string }
  /**
   * Run as a standby streaming from `source`; null: receive WAL from no one (no live leader
   * is known: the WAL receiver is stopped, what was received is still replayed).
   */
  | { readonly kind: "standby"; readonly source: NodeId | null }
  /** Must not accept writes (lost lease, transfer in progress, no majority). */
  | {
    readonly kind: "fenced";
    readonly reason: string;
    /**
     * Stop the server (fast shutdown) instead of only fencing it by SQL. Asked during a
     * leadership transfer: the target then receives the old primary's last WAL, shutdown
     * checkpoint included, before it promotes, so neither the old primary nor the other
     * standbys hold WAL past the new timeline's fork point (no rewind after a switchover).
     */
    readonly shutDown?: true;
  }
  /** Was a primary, another node leads now: rewind (or re-clone) from `source`, then follow it. */
  | { readonly kind: "rejoin"; readonly source: NodeId }
  /** No data yet: clone from `source` by pg_basebackup. */
  | { readonly kind: "clone"; readonly source: NodeId }
  /** Bootstrap: create the first primary's data directory (initdb). */
  | { readonly kind: "initdb" }
  /** Leave Postgres as it is (paused, or not enough is known yet). */
  | { readonly kind: "hold"; readonly reason: string };
