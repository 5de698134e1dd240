/**
 * The Postgres reconciler: a loop, apart from the core's step loop, that makes the local
 * Postgres match the role the core decided (initdb, start, promote, follow, fence, rewind,
 * clone) and reports what it observes. Long actions (a basebackup) never delay ticks.
 *
 * @module
 */
import type { NodeId, PostgresObservation, PostgresRole, WalPosition } from "../core/mod.ts";
import type { PostgresBinaries } from "../postgres/binaries.ts";
import type { PostgresSettings } from "../postgres/settings.ts";
import {
  ABSENT_OBSERVATION,
  observePostgres,
  readStandbyProgress,
  unreadableObservation,
} from "../postgres/observe.ts";
import { WalHistoryDamagedError } from "../postgres/timeline_history.ts";
import { createReplicationRole, initCluster } from "../postgres/cluster_setup.ts";
import { Postmaster } from "../postgres/postmaster.ts";
import { withLocalSql } from "../postgres/sql_client.ts";
import {
  configureStandby,
  promote,
  type ReplicationSource,
  setSynchronousStandbyNames,
} from "../postgres/roles.ts";
import { fence, startFencedUnlessStandby, unfence } from "../postgres/fence.ts";
import { localRejoinPositions, rewindFrom } from "../postgres/rewind.ts";
import { planRejoinAll, type RejoinPlan } from "../postgres/rejoin_plan.ts";
import { readSourcePosition } from "../postgres/source_position.ts";
import { formatLsn } from "../postgres/lsn.ts";
import { lastLines } from "../postgres/process_runner.ts";
import { cloneFrom, finishInterruptedSwap } from "../postgres/clone.ts";
import {
  createReplicationSlot,
  dropReplicationSlot,
  listReplicationSlots,
  slotNameFor,
} from "../postgres/slots.ts";
import { writePasswordFile } from "../postgres/config_files.ts";
import { stopWalReceiver } from "../postgres/wal_receiver.ts";
import { ensureStateDirectory, stopByPidFile } from "../postgres/postmaster.ts";
import type { Logger } from "./logger.ts";

/** Bound on waiting for observations of others before reading one's own. */
const MAX_OBSERVATION_WAITS = 8;
/** How often the reconciler observes Postgres when nothing else wakes it. */
export const OBSERVE_INTERVAL_MS = 1000;
/**
 * A fast shutdown is given this long before the immediate one. It is not expected to be
 * needed: the commit gate is away while the node has no authority (commit_gate.ts).
 */
const FAST_STOP_TIMEOUT_MS = 10_000;
/** Fencing must be confirmed within this time, else the postmaster is stopped. */
export const FENCE_DEADLINE_MS = 300;
/** Time limits of long actions. */
const CLONE_TIMEOUT_MS = 6 * 60 * 60 * 1000;
const REWIND_TIMEOUT_MS = 30 * 60 * 1000;
const READY_TIMEOUT_MS = 120_000;

/** What the reconciler needs from the agent. */
export interface ReconcilerHost {
  readonly settings: PostgresSettings;
  readonly binaries: PostgresBinaries;
  readonly log: Logger;
  /** Where a member's Postgres listens, or null when unknown. */
  resolve(node: NodeId): ReplicationSource | null;
  /** Members that should have a replication slot on the primary (every other member). */
  slotMembers(): readonly NodeId[];
  /**
   * Reports an observation to the core; `readStartTick` is {@link ticksProcessed} when its
   * read began (the core ages it from then: `readTicksAgo`).
   */
  observed(observation: PostgresObservation, readStartTick: number): void;
  /** Ticks the core has processed so far (the clock its ages count); 0 when not told. */
  ticksProcessed?(): number;
  /** Called once after initdb created the first primary (the agent records it in the log). */
  initialized(systemIdentifier: string): void;
  /** The timeline of the leader's Postgres as the leader last reported it, or null. */
  leaderTimeline(): number | null;
  /** Counts a pg_rewind run or a re-clone of the data directory (for metrics). */
  counted?(event: "rewinds" | "reclones"): void;
  /**
   * Checks a running server that is a primary or fenced: walsenders that are not hactl's are
   * terminated, synchronous_commit kept on (src/agent/primary_guard.ts). Never throws.
   */
  guardPrimary?(): Promise<void>;
}

/**
 * A standby that has not streamed, or not replayed the WAL it received, for this long may
 * have replayed past the new timeline's fork point (it received WAL, such as the old
 * primary's shutdown checkpoint, that the promoted node never had): Postgres then waits, or
 * fails to replay, forever. Its timeline history is compared with the source's, and it is
 * rewound or re-cloned only when it cannot follow (src/postgres/rejoin_plan.ts).
 */
const STUCK_STANDBY_MS = 5_000;
/** Least time between two such rewinds of a standby. */
const STUCK_STANDBY_RETRY_MS = 30_000;
/**
 * A standby that failed to start this many times in a row is re-cloned: its data directory
 * cannot reach the source's timeline (issue 9, #7: "no rewind required", then every start
 * failed). Three tries let a passing cause (a port in use, a slow disk) clear first.
 */
export const MAX_STANDBY_START_FAILURES = 3;
/**
 * Observations that failed in a row (each one a connection attempt of at most 1 s and a
 * read of the stopped data directory, about 1 s apart in the loop: some 3 to 6 s in all)
 * after which the core is told that Postgres is unreadable (`unreadableObservation`): a
 * leader whose reads all fail then hands over (src/core/primary_watch.ts), and nothing
 * destructive is done to the data directory. Three let a passing cause (a slow disk, a busy
 * server) clear first, as for {@link MAX_STANDBY_START_FAILURES}.
 */
export const MAX_FAILED_OBSERVATIONS = 3;

/** Carries out the desired Postgres role, one action at a time. */
export class PostgresReconciler {
  #desired: PostgresRole = { kind: "hold", reason: "starting" };
  #postmaster: Postmaster | null = null;
  #observation: PostgresObservation | null = null;
  #wake: (() => void) | null = null;
  #stopped = false;
  /** The source the running standby was last pointed at ("host:port"), to reconfigure only on change. */
  #following: string | null = null;
  /** Since when the standby has not been streaming or replaying (ms), see {@link STUCK_STANDBY_MS}. */
  #stalledSince: number | null = null;
  /** The replayed LSN at the previous check, to tell a replay that stopped. */
  #lastReplayedLsn = -1;
  #lastStuckRewindMs = -Infinity;
  /** Failed standby starts in a row (see {@link MAX_STANDBY_START_FAILURES}). */
  #standbyStartFailures = 0;
  /** Failed observations in a row (see {@link MAX_FAILED_OBSERVATIONS}). */
  #failedObservations = 0;
  /**
   * False only after this reconciler verified that the standby receives WAL from no one
   * ({@link stopWalReceiver}) and has pointed it at no source since; true at start (unknown).
   */
  #receiverMayRun = true;
  /** Counts the times a source was given, so that a read overlapping one reports a receiver. */
  #sourceEpoch = 0;
  #loop: Promise<void> | null = null;
  /** The leader to re-clone from, when the operator asked for a reinitialize. */
  #reinitializeFrom: NodeId | null = null;
  /** The observation being read, if any (observations never overlap). */
  #observing: Promise<PostgresObservation> | null = null;
  /** What the reconciler is doing, for status. */
  activity = "starting";
  /** The last action error, for status. */
  lastError: string | null = null;

  /** Creates a reconciler; call {@link start}. */
  constructor(private readonly host: ReconcilerHost) {}

  /** Starts the loop. */
  start(): void {
    this.#loop = this.#run();
  }

  /** Sets the role to reach; wakes the loop at once when it changed. */
  setDesired(role: PostgresRole): void {
    const changed = JSON.stringify(role) !== JSON.stringify(this.#desired);
    this.#desired = role;
    if (changed) this.#wake?.();
  }

  /** The postmaster this agent started, if running. */
  get postmaster(): Postmaster | null {
    return this.#postmaster?.alive ? this.#postmaster : null;
  }

  /** Stops the loop; `stopPostgres` also stops the postmaster (fast). */
  async stop(stopPostgres: boolean): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop?.catch(() => {});
    const postmaster = this.#postmaster;
    if (stopPostgres && postmaster?.alive) {
      await postmaster.stop({ fastTimeoutMs: FAST_STOP_TIMEOUT_MS });
      if (postmaster.lastStopSignal !== "SIGINT") {
        this.host.log.warn(
          "postgres",
          `the fast shutdown did not finish within ${FAST_STOP_TIMEOUT_MS} ms; ` +
            `stopped by ${postmaster.lastStopSignal}`,
        );
      }
    }
  }

  async #run(): Promise<void> {
    await finishInterruptedSwap(this.host.settings).catch(() => {});
    while (!this.#stopped) {
      try {
        await this.#observe();
        await this.#act(this.#desired);
        this.lastError = null;
      } catch (error) {
        this.lastError = error instanceof Error ? error.message : String(error);
        this.host.log.warn(
          "postgres",
          `action for ${this.#desired.kind} failed: ${this.lastError}`,
        );
        await this.#sleep(1000);
      }
      await this.#sleep(OBSERVE_INTERVAL_MS);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  /**
   * Observes Postgres and reports it to the core. Observations run one at a time, so they
   * reach the core in the order they were read: the core's freshness rule for votes counts
   * an observation as read when it arrives, which a late, older read would break.
   */
  async #observe(): Promise<PostgresObservation> {
    for (let waited = 0; this.#observing !== null && waited < MAX_OBSERVATION_WAITS; waited++) {
      await this.#observing.catch(() => {});
    }
    const reading = this.#readObservation();
    this.#observing = reading;
    try {
      return await reading;
    } finally {
      if (this.#observing === reading) this.#observing = null;
    }
  }

  /**
   * Reads an observation. Its age is counted from when the read began (a slow query must not
   * look fresh), and it reports a WAL receiver whenever this reconciler may have given the
   * standby a source at any moment of the read (the core votes only on one without).
   */
  async #readObservation(): Promise<PostgresObservation> {
    const readStartTick = this.host.ticksProcessed?.() ?? 0;
    const epoch = this.#sourceEpoch;
    const mayRunAtStart = this.#receiverMayRun;
    let read: PostgresObservation;
    try {
      read = await this.#observeUsableData();
    } catch (error) {
      return this.#observationFailed(error, readStartTick);
    }
    if (this.#failedObservations >= MAX_FAILED_OBSERVATIONS) {
      this.host.log.info("postgres", "Postgres is readable again");
    }
    this.#failedObservations = 0;
    const sourceGiven = mayRunAtStart || this.#receiverMayRun || epoch !== this.#sourceEpoch;
    const observation = {
      ...read,
      receivingWal: read.receivingWal || (read.inRecovery && sourceGiven),
    };
    this.#observation = observation;
    this.host.observed(observation, readStartTick);
    return observation;
  }

  /**
   * After a failed read: rethrows until {@link MAX_FAILED_OBSERVATIONS} failed in a row, then
   * reports (and returns) the unreadable observation, logged once, so that the core stops
   * trusting the last one and the reconciler acts only on what that allows (`#act`).
   */
  #observationFailed(error: unknown, readStartTick: number): PostgresObservation {
    this.#failedObservations = Math.min(this.#failedObservations + 1, MAX_FAILED_OBSERVATIONS);
    if (this.#failedObservations < MAX_FAILED_OBSERVATIONS) throw error;
    if (this.#observation?.status !== "unreadable") {
      this.host.log.warn(
        "postgres",
        `${MAX_FAILED_OBSERVATIONS} observations in a row failed (last: ${String(error)}); ` +
          `reporting Postgres as unreadable: no vote, no campaign, and no clone, rewind or ` +
          `start until a read succeeds; check the data directory and the server`,
      );
    }
    const observation = unreadableObservation(this.#observation);
    this.#observation = observation;
    this.host.observed(observation, readStartTick);
    return observation;
  }

  /** Called before any action that may give the standby a source (it may stream after it). */
  #mayGiveSource(): void {
    this.#receiverMayRun = true;
    this.#sourceEpoch++;
  }

  /**
   * Observes Postgres; a data directory whose WAL history is missing or damaged (a failed
   * pg_rewind leaves empty history files) is reported as holding no usable data, so that the
   * core has it re-cloned from the leader instead of refusing every action forever. Its
   * postmaster is stopped first (cloning needs it down). A node asked to be primary keeps
   * the error: nothing is ever wiped under the cluster's only writable copy.
   */
  async #observeUsableData(): Promise<PostgresObservation> {
    try {
      return await observePostgres(this.host.settings, this.host.binaries, {
        connectTimeoutSeconds: 1,
        statementTimeoutMs: 2000,
      });
    } catch (error) {
      if (!(error instanceof WalHistoryDamagedError) || this.#desired.kind === "primary") {
        throw error;
      }
      this.host.log.warn(
        "postgres",
        `${error.message}; this node's data is unusable as it is: stopping Postgres and ` +
          `re-cloning from the leader`,
      );
      if (this.#postmaster?.alive) await this.#postmaster.stop({ immediate: true });
      else {await stopByPidFile(this.host.settings.dataDirectory, {
          immediate: true,
          timeoutMs: 5_000,
        });}
      return ABSENT_OBSERVATION;
    }
  }

  /**
   * Observes Postgres now, beside whatever action runs (the core asks for it when a vote
   * would need a fresher observation: `needsFreshObservation`). Does nothing while another
   * observation is under way; the caller asks again after its next step.
   */
  observeNow(): void {
    if (this.#observing !== null || this.#stopped) return;
    this.#observe().catch((error) => {
      this.host.log.warn("postgres", `observation failed: ${String(error)}`);
    });
  }

  /**
   * Asks for this node's data to be replaced by a fresh clone from the leader (the operator's
   * `hactl reinit`). Refused, with the reason, unless the node is a standby of a known leader:
   * the primary's data is never thrown away, and without a leader there is nothing to clone.
   * The clone runs in the loop, into a new directory swapped in only when it completed.
   */
  requestReinitialize(): string | null {
    const role = this.#desired;
    if (role.kind !== "standby" || role.source === null) {
      return role.kind === "primary" || role.kind === "fenced"
        ? "this node runs (or may run) the primary: switch over first"
        : `this node is not a standby of a known leader now (${role.kind})`;
    }
    this.#reinitializeFrom = role.source;
    this.#wake?.();
    return null;
  }

  /** True while a requested re-clone has not completed (for the API's answer). */
  get reinitializing(): boolean {
    return this.#reinitializeFrom !== null;
  }

  /** Carries out a requested re-clone: stop Postgres, clone from the leader, start. */
  async #reinitialize(sourceId: NodeId): Promise<void> {
    const source = this.host.resolve(sourceId);
    if (source === null) throw new Error(`no address known for ${sourceId}`);
    this.host.log.warn("postgres", `reinitialize requested: re-cloning from ${sourceId}`);
    this.activity = "stopping postgres for reinitialize";
    if (this.#postmaster?.alive) await this.#postmaster.stop({ fastTimeoutMs: 10_000 });
    else {
      await stopByPidFile(this.host.settings.dataDirectory, {
        immediate: false,
        timeoutMs: 10_000,
      });
    }
    await this.#cloneFromSource(sourceId, source);
    this.host.counted?.("reclones");
    await this.#startPostmaster();
    await this.#observe();
  }

  async #act(role: PostgresRole): Promise<void> {
    const observation = this.#observation;
    if (observation === null) return;
    if (observation.status === "unreadable" && role.kind !== "fenced") {
      // A role decided on an older observation (or a pending reinitialize): nothing but
      // fencing acts on a data directory that cannot be read.
      this.activity = "holding: local Postgres unreadable";
      return;
    }
    const reinitializeFrom = this.#reinitializeFrom;
    if (reinitializeFrom !== null && role.kind === "standby" && role.source === reinitializeFrom) {
      try {
        return await this.#reinitialize(reinitializeFrom);
      } finally {
        this.#reinitializeFrom = null;
      }
    }
    this.#reinitializeFrom = null; // the role changed since the request: it no longer applies
    switch (role.kind) {
      case "hold":
        this.activity = `holding: ${role.reason}`;
        return;
      case "initdb":
        return await this.#initdb(observation);
      case "primary":
        return await this.#primary(observation);
      case "standby":
        return await this.#standby(observation, role.source);
      case "fenced":
        if (role.shutDown === true) {
          return await this.#shutDownForTransfer(observation, role.reason);
        }
        return await this.#fence(observation, role.reason);
      case "rejoin":
        return await this.#rejoin(observation, role.source);
      case "clone":
        return await this.#clone(observation, role.source);
    }
  }

  async #initdb(observation: PostgresObservation): Promise<void> {
    if (observation.status !== "absent") return;
    this.activity = "initdb";
    this.host.log.info("postgres", `initdb into ${this.host.settings.dataDirectory}`);
    await initCluster(this.host.settings, this.host.binaries);
    await this.#startPostmaster();
    const systemIdentifier = await withLocalSql(this.host.settings, async (sql) => {
      // The new server runs fenced like every primary start; this bootstrap session of the
      // agent, on an empty cluster, opts out of the fence for the role it creates.
      await sql`SET default_transaction_read_only = off`;
      await sql`SET synchronous_commit = local`;
      await createReplicationRole(sql, this.host.settings);
      const rows = await sql<
        { id: string }[]
      >`SELECT system_identifier::text AS id FROM pg_control_system()`;
      return rows[0]?.id ?? "unknown";
    });
    this.host.log.info("postgres", `first primary created, system identifier ${systemIdentifier}`);
    this.host.initialized(systemIdentifier);
    await this.#observe();
  }

  async #startPostmaster(): Promise<void> {
    if (this.#postmaster?.alive) return;
    this.activity = "starting postgres";
    // Issue 9, #2: a server that is not a standby starts fenced, on every path.
    const postmaster = await startFencedUnlessStandby(this.host.settings, this.host.binaries);
    this.#postmaster = postmaster;
    postmaster.onExit((code) => {
      this.#following = null;
      this.host.log.warn("postgres", `postmaster exited with code ${code}`);
      this.#wake?.();
    });
    await postmaster.waitUntilReady(READY_TIMEOUT_MS);
  }

  /** The synchronous standby names of the role in force now if it is `primary`, else null. */
  #primaryInForce(): string | null {
    const role = this.#desired;
    return role.kind === "primary" ? role.synchronousStandbyNames : null;
  }

  /**
   * Promotes, unfences or keeps the primary. A stopped server is only started (fenced, or as
   * a standby) and observed: the core sees that observation before a later round, on a fresh
   * observation, may unfence it. Promotion and unfencing read the role in force at the
   * moment they act, never a value captured before an await.
   */
  async #primary(observation: PostgresObservation): Promise<void> {
    if (observation.status === "absent") return;
    if (observation.status === "stopped") {
      await this.#startPostmaster();
      await this.#observe();
      return;
    }
    if (observation.inRecovery) return await this.#promote();
    // Before unfencing too: no impostor may be connected when commits start to count.
    await this.host.guardPrimary?.();
    const names = this.#primaryInForce();
    if (names === null) return; // the role changed meanwhile: the next round acts on it
    if (observation.fenced) {
      this.activity = "unfencing";
      const unfenced = await unfence(this.host.settings, names, {
        timeoutMs: 5000,
        mayUnfence: () => this.#primaryInForce() === names,
      });
      if (!unfenced) return;
      this.host.log.info("postgres", "unfenced: accepting writes");
    } else if (observation.synchronousStandbyNames !== names) {
      await setSynchronousStandbyNames(this.host.settings, names);
      this.host.log.info("postgres", `synchronous_standby_names = '${names}'`);
    }
    await this.#manageSlots();
    this.activity = "primary";
  }

  async #promote(): Promise<void> {
    this.activity = "promoting";
    const names = this.#primaryInForce();
    if (names === null) return;
    // D1: the synchronous set is in place before the first commit on the new timeline.
    await setSynchronousStandbyNames(this.host.settings, names).catch(() => {});
    await this.host.guardPrimary?.(); // no impostor among its walsenders when commits start
    if (this.#primaryInForce() !== names) return; // changed meanwhile: the next round decides
    const timeline = await promote(this.host.settings);
    this.host.log.info("postgres", `promoted to primary on timeline ${timeline}`);
    await this.#observe();
  }

  /** One slot per other member; slots of departed members are dropped (R3). */
  async #manageSlots(): Promise<void> {
    const wanted = new Set(this.host.slotMembers().map(slotNameFor));
    await withLocalSql(this.host.settings, async (sql) => {
      const existing = await listReplicationSlots(sql);
      const names = new Set(existing.map((slot) => slot.name));
      for (const name of wanted) if (!names.has(name)) await createReplicationSlot(sql, name);
      for (const slot of existing) {
        if (slot.name.startsWith("hactl_") && !wanted.has(slot.name)) {
          await dropReplicationSlot(sql, slot.name);
        }
      }
    });
  }

  async #standby(observation: PostgresObservation, sourceId: NodeId | null): Promise<void> {
    if (observation.status === "absent") return;
    const source = sourceId === null ? null : this.host.resolve(sourceId);
    if (!observation.inRecovery) {
      // A primary must never be turned into a standby without a rewind: the core asks for
      // "rejoin" in that case; here it is a leader waiting for its lease.
      this.activity = "waiting";
      return;
    }
    if (sourceId === null) return await this.#receiveFromNoOne(observation);
    const key = source === null ? null : `${source.host}:${source.port}`;
    const running = observation.status === "running";
    if (source !== null && (!running || key !== this.#following)) {
      const slot = slotNameFor(this.host.settings.applicationName);
      this.#mayGiveSource();
      await configureStandby(this.host.settings, source, slot, { running });
      this.#following = key;
      this.host.log.info("postgres", `following ${sourceId} (${key})`);
    }
    if (observation.status === "stopped") await this.#startStandby(sourceId);
    this.activity = source === null
      ? `standby (no address for ${sourceId})`
      : `standby of ${sourceId}`;
    if (running) await this.#rewindIfStuck(observation, sourceId);
  }

  /**
   * No live leader is known: the standby receives WAL from no one (issue 9). Its receiver
   * is stopped (a stopped server is set to start without a source) and Postgres observed
   * again at once, so that the observation a vote counts on holds all WAL it flushed.
   */
  async #receiveFromNoOne(observation: PostgresObservation): Promise<void> {
    if (this.#receiverMayRun || observation.receivingWal) {
      this.activity = "stopping the WAL receiver (no live leader known)";
      await stopWalReceiver(this.host.settings, { running: observation.status === "running" });
      this.#following = null;
      this.#receiverMayRun = false;
      this.host.log.info("postgres", "WAL receiver stopped: no live leader known");
      await this.#observe();
    }
    if (observation.status === "stopped") await this.#startStandby(null);
    this.activity = "standby receiving WAL from no one (no live leader known)";
  }

  /**
   * See {@link STUCK_STANDBY_MS}: a standby that has not streamed, or not replayed WAL it
   * received, for that long is compared with its source by timeline history (its end of WAL
   * and the point its data files reached); when it cannot follow, it is rewound, or re-cloned
   * when a rewind cannot help. A standby that is only slow (a replay conflict, a lost link)
   * follows the source's history and is left alone.
   */
  async #rewindIfStuck(observation: PostgresObservation, sourceId: NodeId): Promise<void> {
    const progress = await readStandbyProgress(this.host.settings).catch(() => null);
    if (progress === null) return; // could not tell: decide on a later observation
    const replayed = progress.replayedLsn ?? 0;
    const replaying = replayed !== this.#lastReplayedLsn ||
      replayed >= (progress.receivedLsn ?? 0);
    this.#lastReplayedLsn = replayed;
    if (progress.streaming && replaying) {
      this.#stalledSince = null;
      return;
    }
    const now = performance.now();
    this.#stalledSince ??= now;
    if (
      now - this.#stalledSince < STUCK_STANDBY_MS ||
      now - this.#lastStuckRewindMs < STUCK_STANDBY_RETRY_MS
    ) return;
    this.#lastStuckRewindMs = now;
    const source = this.host.resolve(sourceId);
    if (source === null || observation.position === null) return;
    const plan = await this.#planRejoin(source, observation.position);
    if (plan === null) return; // the source cannot be read: try again later
    if (plan.kind === "follow") {
      this.host.log.debug(
        "postgres",
        `standby has not streamed or replayed for ${STUCK_STANDBY_MS / 1000} s but is on the ` +
          `history of ${sourceId}: left alone (slow, not diverged)`,
      );
      return;
    }
    this.#stalledSince = null;
    this.host.log.warn(
      "postgres",
      `standby at timeline ${observation.position.timeline}, ${
        formatLsn(observation.position.lsn)
      } has not streamed or replayed from ${sourceId} for ${STUCK_STANDBY_MS / 1000} s and ` +
        `cannot follow it: ${plan.reason}; ${plan.kind === "clone" ? "re-cloning" : "rewinding"}`,
    );
    await this.#rejoin(observation, sourceId);
  }

  /** How this running node would rejoin `source`, or null when either side cannot be read. */
  async #planRejoin(source: ReplicationSource, position: WalPosition): Promise<RejoinPlan | null> {
    try {
      const locals = await localRejoinPositions(this.host.settings, this.host.binaries, position);
      return planRejoinAll(locals, await readSourcePosition(this.host.settings, source));
    } catch (error) {
      this.host.log.warn(
        "postgres",
        `cannot compare timeline histories with ${source.host}:${source.port}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
      return null;
    }
  }

  /**
   * Starts the stopped standby; after {@link MAX_STANDBY_START_FAILURES} failed starts in a
   * row, re-clones it from `sourceId` and starts the clone. A start that did not become ready
   * is stopped, so the next try starts afresh.
   */
  async #startStandby(sourceId: NodeId | null): Promise<void> {
    let failure: unknown;
    try {
      await this.#startPostmaster();
      this.#standbyStartFailures = 0;
      return;
    } catch (error) {
      failure = error;
    }
    if (this.#postmaster?.alive) await this.#postmaster.stop({ fastTimeoutMs: 10_000 });
    this.#standbyStartFailures++;
    const source = sourceId === null ? null : this.host.resolve(sourceId);
    if (
      this.#standbyStartFailures < MAX_STANDBY_START_FAILURES || sourceId === null ||
      source === null
    ) throw failure;
    this.host.log.warn(
      "postgres",
      `the standby failed to start ${this.#standbyStartFailures} times in a row (last: ` +
        `${startFailureReason(failure)}); its data directory cannot follow ${sourceId}: ` +
        `re-cloning`,
    );
    this.#standbyStartFailures = 0;
    await this.#cloneFromSource(sourceId, source);
    await this.#startPostmaster();
  }

  /**
   * A leadership transfer: fence by SQL (at once, as any fence), then stop the server with a
   * fast shutdown, whose walsenders hand every standby the last WAL before it exits; a
   * stopped server stays stopped while the transfer lasts (never "start fenced first").
   */
  async #shutDownForTransfer(observation: PostgresObservation, reason: string): Promise<void> {
    this.activity = `stopped for ${reason}`;
    if (observation.status !== "running" || observation.inRecovery) return;
    if (!observation.fenced) {
      const result = await fence(this.host.settings, {
        deadlineMs: FENCE_DEADLINE_MS,
        postmaster: this.postmaster,
      });
      this.host.log.warn("postgres", `fenced (${result.method}): ${reason}`);
    }
    this.host.log.info("postgres", `stopping the primary (fast) for the ${reason}`);
    if (this.#postmaster?.alive) await this.#postmaster.stop({ fastTimeoutMs: 10_000 });
    else {
      await stopByPidFile(this.host.settings.dataDirectory, {
        immediate: false,
        timeoutMs: 10_000,
      });
    }
    await this.#observe();
  }

  async #fence(observation: PostgresObservation, reason: string): Promise<void> {
    this.activity = `fenced: ${reason}`;
    if (observation.status === "absent" || observation.inRecovery) return;
    if (observation.status === "stopped") {
      // "Start fenced first": the start path writes the fence before the postmaster runs.
      await this.#startPostmaster();
      await this.#observe();
      return;
    }
    if (observation.fenced) {
      // The unreachable synchronous set holds commits only while no impostor takes its name.
      await this.host.guardPrimary?.();
      return;
    }
    const result = await fence(this.host.settings, {
      deadlineMs: FENCE_DEADLINE_MS,
      postmaster: this.postmaster,
    });
    this.host.log.warn("postgres", `fenced (${result.method}): ${reason}`);
    await this.#observe();
  }

  async #rejoin(observation: PostgresObservation, sourceId: NodeId): Promise<void> {
    const source = this.host.resolve(sourceId);
    if (source === null) throw new Error(`no address known for ${sourceId}`);
    this.#mayGiveSource(); // the rewound (or re-cloned) standby is set to stream from source
    if (observation.status === "running") {
      this.activity = "stopping the deposed primary";
      if (this.#postmaster?.alive) await this.#postmaster.stop({ fastTimeoutMs: 10_000 });
    }
    this.activity = `rewinding from ${sourceId}`;
    const slot = slotNameFor(this.host.settings.applicationName);
    const result = await rewindFrom(this.host.settings, this.host.binaries, source, {
      slotName: slot,
      timeoutMs: REWIND_TIMEOUT_MS,
    });
    this.host.counted?.("rewinds");
    if (result.ok) {
      this.host.log.info(
        "postgres",
        `rejoined ${sourceId} by pg_rewind${result.noRewindRequired ? " (no divergence)" : ""}`,
      );
    } else if (result.recloneNeeded) {
      this.host.log.warn(
        "postgres",
        `pg_rewind cannot rejoin (${result.detail}); re-cloning from ${sourceId}`,
      );
      this.host.counted?.("reclones");
      await this.#cloneFromSource(sourceId, source);
    } else {
      throw new Error(`pg_rewind from ${sourceId} failed: ${result.detail}`);
    }
    await this.#startStandby(sourceId);
    await this.#observe();
  }

  async #clone(observation: PostgresObservation, sourceId: NodeId): Promise<void> {
    if (observation.status !== "absent") return;
    const source = this.host.resolve(sourceId);
    if (source === null) throw new Error(`no address known for ${sourceId}`);
    await this.#cloneFromSource(sourceId, source);
    await this.#startPostmaster();
    await this.#observe();
  }

  async #cloneFromSource(sourceId: NodeId, source: ReplicationSource): Promise<void> {
    this.#mayGiveSource(); // the clone is set to stream from source
    await ensureStateDirectory(this.host.settings);
    await writePasswordFile(this.host.settings);
    this.activity = `cloning from ${sourceId}`;
    this.host.log.info(
      "postgres",
      `pg_basebackup from ${sourceId} (${source.host}:${source.port})`,
    );
    let lastPercent = -1;
    await cloneFrom(this.host.settings, this.host.binaries, source, {
      slotName: slotNameFor(this.host.settings.applicationName),
      timeoutMs: CLONE_TIMEOUT_MS,
      onProgress: (progress) => {
        this.activity = `cloning from ${sourceId}: ${progress.percent}%`;
        if (progress.percent >= lastPercent + 10 || progress.percent === 100) {
          lastPercent = progress.percent;
          this.host.log.info(
            "postgres",
            `basebackup ${progress.percent}% (${progress.doneBytes} of ${progress.totalBytes} bytes)`,
          );
        }
      },
    });
    this.host.log.info("postgres", `clone from ${sourceId} complete`);
  }
}

/** The FATAL/PANIC lines of a failed start's server log, else the error's last lines. */
function startFailureReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const fatal = text.split("\n").filter((line) =>
    /\b(FATAL|PANIC):/.test(line) &&
    !/the database system is (starting up|shutting down)/.test(line)
  );
  return fatal.length > 0 ? fatal.slice(-2).join(" / ") : lastLines(text, 4);
}
