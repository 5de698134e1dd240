/**
 * The abstract Postgres of one node, as the model's environment sees it: a WAL history of
 * (timeline, write) records, running, starting or stopped, primary or standby of a source,
 * fenced or not.
 *
 * What is kept is what the safety contract talks about: which writes a server holds, in
 * which order and on which timeline, and whether it accepts writes. A promotion appends
 * an end-of-recovery record on a new timeline (so two promotions from the same history
 * diverge, as in Postgres); a rewind truncates to the common prefix with the source; a
 * clone copies the source's WAL. A fenced primary runs and still sends WAL to its
 * standbys but refuses and acknowledges no write; a stopped server does nothing. Starting
 * a primary takes time (crash recovery): the start is asked for by one reconcile and the
 * server accepts connections at a later, separate action ("started"), as it was asked to
 * start (writable or fenced) whatever the core decides meanwhile.
 *
 * A data directory can also be absent: a pg_rewind that fails half-way leaves damaged
 * timeline history files, which the shell reports as no usable data (`absent`, position
 * null) so that the core has it re-cloned (src/agent/reconciler.ts, `#observeUsableData`).
 * A clone (pg_basebackup into a new directory, swapped in when it completes) is asked for
 * by one reconcile and finishes at a later, separate action ("cloned"), as a start does;
 * meanwhile the data directory stays absent. A standby may have received WAL it has not
 * replayed yet (`replayBehind`): its position (the received LSN) does not change, only
 * `replayCaughtUp`, which the core waits for before it promotes.
 *
 * @module
 */
import type {
  PostgresObservation,
  PostgresRole,
  TimelineSwitch,
  WalPosition,
} from "../src/core/mod.ts";
import type { PostgresModel, WalRecord } from "./cluster_types.ts";

/** The Postgres of a node just built from the same base backup as every other: an empty WAL on timeline 1. */
export const INITIAL_POSTGRES: PostgresModel = {
  wal: [],
  status: "running",
  inRecovery: true,
  fenced: false,
  source: -1,
  synchronousStandbyNames: "",
  promotion: 0,
  replayBehind: false,
};

/** A node whose data directory is unusable or gone: what a failed pg_rewind leaves. */
export function absentPostgres(postgres: PostgresModel): PostgresModel {
  return {
    ...withoutStartFault(postgres),
    wal: [],
    status: "absent",
    inRecovery: false,
    fenced: false,
    source: -1,
    synchronousStandbyNames: "",
    replayBehind: false,
  };
}

/** True when the data directory is absent (none yet, or a clone into a new one runs). */
export function hasNoData(postgres: PostgresModel): boolean {
  return postgres.status === "absent" || postgres.status === "cloning";
}

/** The shell's observation of a node without a data directory (src/postgres/observe.ts). */
const ABSENT_OBSERVATION: PostgresObservation = {
  status: "absent",
  inRecovery: false,
  position: null,
  replayCaughtUp: false,
  synchronousStandbyNames: null,
  fenced: false,
  receivingWal: false,
};

/**
 * What the shell reports once its reads fail for good (src/postgres/observe.ts,
 * `unreadableObservation`): no position; the recovery state is the last one read, which
 * the model takes to be the server's own.
 */
function unreadableObservation(postgres: PostgresModel): PostgresObservation {
  return { ...ABSENT_OBSERVATION, status: "unreadable", inRecovery: postgres.inRecovery };
}

/** Timeline of the last record (1 for an empty history). */
export function timelineOf(postgres: PostgresModel): number {
  return postgres.wal[postgres.wal.length - 1]?.timeline ?? 1;
}

/**
 * The history of the timeline `wal` ends on, as Postgres's `.history` file gives it: every
 * earlier timeline of the WAL with the LSN where the next one begins, oldest first.
 */
export function historyOf(wal: readonly WalRecord[]): TimelineSwitch[] {
  const history: TimelineSwitch[] = [];
  let timeline = 1;
  wal.forEach((record, lsn) => {
    if (record.timeline === timeline) return;
    history.push({ timeline, endLsn: lsn });
    timeline = record.timeline;
  });
  return history;
}

/** (timeline, LSN = number of records, history of the timeline): the truth about the WAL. */
export function positionOf(postgres: PostgresModel): WalPosition {
  return {
    timeline: timelineOf(postgres),
    lsn: postgres.wal.length,
    history: historyOf(postgres.wal),
  };
}

/**
 * What a standby whose WAL receiver is down reports through the control file: the true
 * LSN, but the timeline of its last restartpoint, which may be older than the WAL it holds
 * (issue 9: timeline 1 while the cluster was on 3). The model takes the worst case, the
 * base backup's timeline 1 with its empty history.
 */
export function fallenBackPositionOf(postgres: PostgresModel): WalPosition {
  return { timeline: 1, lsn: postgres.wal.length, history: [] };
}

/** True when the server accepts client writes. */
export function isWritable(postgres: PostgresModel): boolean {
  return postgres.status === "running" && !postgres.inRecovery && !postgres.fenced;
}

/** True when the standby's WAL receiver cannot run: no source, or the source is not running. */
export function receiverDown(postgres: PostgresModel, source: PostgresModel | undefined): boolean {
  return postgres.inRecovery && (source === undefined || source.status !== "running");
}

/**
 * What the shell reports to the core. A standby whose receiver is down may report a
 * fallen-back timeline (`receiverIsDown`), see {@link fallenBackPositionOf}; a starting
 * server is reported stopped (it accepts no connection yet).
 */
export function observe(postgres: PostgresModel, receiverIsDown = false): PostgresObservation {
  if (postgres.unreadable === true) return unreadableObservation(postgres);
  if (hasNoData(postgres)) return ABSENT_OBSERVATION;
  const primary = isWritable(postgres);
  const running = postgres.status === "running";
  return {
    status: running ? "running" : "stopped",
    inRecovery: postgres.inRecovery,
    position: receiverIsDown && running ? fallenBackPositionOf(postgres) : positionOf(postgres),
    // As the shell reads it: a stopped standby may hold WAL it has not replayed, so only a
    // running one that replayed all it received is caught up; a primary always is.
    replayCaughtUp: !postgres.inRecovery || (running && !postgres.replayBehind),
    synchronousStandbyNames: primary ? postgres.synchronousStandbyNames : null,
    fenced: !running || postgres.fenced,
    // A standby given a source streams from it (the receiver restarts by itself).
    receivingWal: postgres.inRecovery && postgres.source >= 0,
  };
}

/** Number of leading records two histories share. */
export function commonPrefixLength(a: readonly WalRecord[], b: readonly WalRecord[]): number {
  const limit = Math.min(a.length, b.length);
  for (let index = 0; index < limit; index++) {
    const left = a[index]!;
    const right = b[index]!;
    if (left.timeline !== right.timeline || left.write !== right.write) return index;
  }
  return limit;
}

/** True when `record` sits at `index` of `wal`. */
export function holdsRecordAt(
  wal: readonly WalRecord[],
  index: number,
  record: WalRecord,
): boolean {
  const own = wal[index];
  return own !== undefined && own.timeline === record.timeline && own.write === record.write;
}

/** Parsed synchronous_standby_names: `ANY k ("a", "b")`, or null for "" (no synchronous standby). */
export interface SyncRule {
  readonly count: number;
  readonly names: readonly string[];
}

/** Parses the forms hactl writes (quorum, or one quoted name); throws on anything else so a format change is noticed. */
export function parseSynchronousStandbyNames(text: string): SyncRule | null {
  // Invariants and steps parse the same few texts again and again: remember them.
  const known = parsedSyncRules.get(text);
  if (known !== undefined) return known;
  const rule = parseSyncRule(text);
  if (parsedSyncRules.size >= MAX_PARSED_SYNC_RULES) parsedSyncRules.clear();
  parsedSyncRules.set(text, rule);
  return rule;
}

/** Parsed synchronous_standby_names texts (a rule is never mutated). */
const parsedSyncRules = new Map<string, SyncRule | null>();
/** Bound on {@link parsedSyncRules}; a model run uses a few dozen texts. */
const MAX_PARSED_SYNC_RULES = 4096;

function parseSyncRule(text: string): SyncRule | null {
  if (text.trim() === "") return null;
  const single = /^"([^"]*)"$/.exec(text.trim());
  if (single !== null) return { count: 1, names: [single[1]!] }; // one name: FIRST 1 (name)
  const match = /^ANY\s+(\d+)\s*\((.*)\)$/.exec(text.trim());
  if (match === null) {
    throw new Error(`model: cannot parse synchronous_standby_names ${JSON.stringify(text)}`);
  }
  const names = (match[2] ?? "").split(",").map((name) => name.trim().replace(/^"(.*)"$/, "$1"));
  return { count: Number(match[1]), names: names.filter((name) => name.length > 0) };
}

/** The standby's WAL after receiving the next record from its source, or null when it cannot. */
export function streamNext(standby: PostgresModel, source: PostgresModel): PostgresModel | null {
  if (standby.status !== "running" || !standby.inRecovery || source.status !== "running") {
    return null;
  }
  const length = standby.wal.length;
  if (length >= source.wal.length || commonPrefixLength(standby.wal, source.wal) !== length) {
    return null;
  }
  return { ...standby, wal: [...standby.wal, source.wal[length]!] };
}

/**
 * The standby's WAL after receiving the next record without replaying it yet (replay
 * conflicts, a slow disk), or null when it cannot receive one.
 */
export function streamUnreplayed(
  standby: PostgresModel,
  source: PostgresModel,
): PostgresModel | null {
  const next = streamNext(standby, source);
  return next === null ? null : { ...next, replayBehind: true };
}

/** Inputs the environment needs to carry out a role. */
export interface ReconcileContext {
  readonly nodeIds: readonly string[];
  readonly postgresOf: (node: number) => PostgresModel;
  readonly nextPromotion: number;
  /** The timeline a promotion now creates. */
  readonly nextTimeline: number;
}

/**
 * One supervisor action towards `role`: the new Postgres, or null when nothing changes (or
 * nothing can be done yet, e.g. a rewind whose source is down). Any role but primary and
 * hold first fences a writable server (the shell fences before it stops, rewinds or
 * demotes); a stopped primary asked to be fenced is started fenced, except during a
 * transfer, which stops the fenced primary and keeps it stopped.
 */
export function reconcilePostgres(
  postgres: PostgresModel,
  role: PostgresRole,
  context: ReconcileContext,
): PostgresModel | null {
  if (postgres.status === "starting") return null; // the shell waits for the start to finish
  // Without a data directory every handler of the shell returns at once, but clone's and
  // initdb's.
  if (postgres.status === "cloning") return null; // the shell waits for pg_basebackup
  if (postgres.status === "absent") {
    if (role.kind === "initdb") return initdb(postgres);
    if (role.kind !== "clone") return null;
    const source = context.nodeIds.indexOf(role.source);
    return source < 0 ? null : { ...postgres, status: "cloning", source };
  }
  if (postgres.cannotStart === true) return restartBroken(postgres, role, context);
  if (role.kind !== "primary" && role.kind !== "hold" && isWritable(postgres)) {
    return { ...postgres, fenced: true };
  }
  switch (role.kind) {
    case "primary":
      return becomePrimary(postgres, role.synchronousStandbyNames, context);
    case "standby":
      return followSource(
        postgres,
        role.source === null ? -1 : context.nodeIds.indexOf(role.source),
      );
    case "rejoin":
      return rejoin(postgres, context.nodeIds.indexOf(role.source), context);
    case "clone":
      return null; // decided on a stale read of an absent directory: the shell clones only into none
    case "fenced":
      if (role.shutDown) {
        // A transfer: the fenced primary is stopped (the shell's fast shutdown) and stays
        // stopped while the transfer lasts; TimeoutNow waits for this stopped read.
        return postgres.status === "running" && !postgres.inRecovery
          ? { ...postgres, status: "stopped" }
          : null;
      }
      return postgres.status === "stopped" && !postgres.inRecovery
        ? { ...postgres, status: "running", fenced: true }
        : null;
    case "initdb":
    case "hold":
      return null;
  }
}

/**
 * pg_basebackup from `source` ends: with the source running, the copy (its WAL to the end
 * of the backup) is swapped in and started as a standby streaming from it; otherwise the
 * clone fails, its directory is removed and the data directory stays absent (the shell
 * tries again on its next round, as the core asks).
 */
export function finishClone(postgres: PostgresModel, source: PostgresModel): PostgresModel {
  if (source.status !== "running") return { ...postgres, status: "absent", source: -1 };
  return {
    ...postgres,
    wal: [...source.wal],
    status: "running",
    inRecovery: true,
    fenced: false,
    synchronousStandbyNames: "",
    replayBehind: false,
  };
}

/**
 * The environment's other outcome of a rewind the core asked for (`rejoin`, once the
 * server is fenced): pg_rewind fails half-way and leaves the data directory unusable
 * (damaged history files), which the shell reports as absent; the core then asks for a
 * clone. Null when no rewind would run now. A rewind that cannot start (the source's WAL
 * is gone) is re-cloned with the old directory in place until the clone is swapped in: a
 * stopped deposed primary, then the source's WAL, which the model reaches by a rewind and
 * streaming, so only the absent directory is a case of its own.
 */
export function failedRewind(
  postgres: PostgresModel,
  role: PostgresRole,
  context: ReconcileContext,
): PostgresModel | null {
  if (role.kind !== "rejoin" || isWritable(postgres)) return null;
  return reconcilePostgres(postgres, role, context) === null ? null : absentPostgres(postgres);
}

/**
 * The cannot-start fault: the primary's server stops (immediate shutdown) and no later start
 * succeeds, as after a PANIC in crash recovery or a setting it refuses (the real test:
 * test/cluster/primary_start_failure_test.ts). What the shell reads is a stopped server.
 */
export function stopForGood(postgres: PostgresModel): PostgresModel {
  return { ...postgres, status: "stopped", fenced: false, cannotStart: true };
}

/** The same server without the cannot-start fault (its data was replaced). */
function withoutStartFault(postgres: PostgresModel): PostgresModel {
  if (postgres.cannotStart !== true) return postgres;
  const { cannotStart: _repaired, ...rest } = postgres;
  return rest;
}

/**
 * A supervisor action on a server that cannot start: every start fails and changes nothing;
 * only a rewind (role rejoin), which replaces the files that broke it with the source's,
 * starts it, as a standby of that source.
 */
function restartBroken(
  postgres: PostgresModel,
  role: PostgresRole,
  context: ReconcileContext,
): PostgresModel | null {
  if (role.kind !== "rejoin") return null;
  const rejoined = rejoin(postgres, context.nodeIds.indexOf(role.source), context);
  return rejoined === null ? null : withoutStartFault(rejoined);
}

/**
 * initdb and the first start (src/agent/reconciler.ts `#initdb`): a primary with an empty
 * WAL on timeline 1, started fenced like every primary start; the core unfences it once it
 * sees it running. Local and short, so one action.
 */
function initdb(postgres: PostgresModel): PostgresModel {
  return {
    ...postgres,
    wal: [],
    status: "running",
    inRecovery: false,
    fenced: true,
    source: -1,
    synchronousStandbyNames: "",
  };
}

/** The server that was starting now accepts connections, as it was asked to start. */
export function finishStart(postgres: PostgresModel, nextPromotion: number): PostgresModel {
  return { ...postgres, status: "running", promotion: nextPromotion };
}

function becomePrimary(
  postgres: PostgresModel,
  names: string,
  context: ReconcileContext,
): PostgresModel | null {
  const nextPromotion = context.nextPromotion;
  if (postgres.status === "stopped" && postgres.inRecovery) {
    return { ...postgres, status: "running" };
  }
  if (postgres.status === "running" && postgres.inRecovery) {
    const timeline = context.nextTimeline;
    // Postgres replays every received record before it ends recovery.
    return {
      ...postgres,
      wal: [...postgres.wal, { timeline, write: 0 }],
      replayBehind: false,
      inRecovery: false,
      fenced: false,
      source: -1,
      synchronousStandbyNames: names,
      promotion: nextPromotion,
    };
  }
  if (postgres.status === "stopped") {
    // A stopped primary started as primary: writable once its crash recovery ends, whatever
    // the core decides meanwhile (the start of issue 9, item 2).
    return { ...postgres, status: "starting", fenced: false, synchronousStandbyNames: names };
  }
  if (postgres.fenced) {
    // A fenced primary whose node leads again with authority: a new primary incarnation.
    return { ...postgres, fenced: false, synchronousStandbyNames: names, promotion: nextPromotion };
  }
  if (postgres.synchronousStandbyNames !== names) {
    return { ...postgres, synchronousStandbyNames: names };
  }
  return null;
}

function followSource(postgres: PostgresModel, source: number): PostgresModel | null {
  // A (fenced) primary cannot demote in place: the shell stops it, then starts a standby.
  if (!postgres.inRecovery && postgres.status === "running") {
    return { ...postgres, status: "stopped", fenced: false };
  }
  const next: PostgresModel = {
    ...postgres,
    status: "running",
    inRecovery: true,
    fenced: false,
    source,
  };
  const same = next.status === postgres.status && next.inRecovery === postgres.inRecovery &&
    next.source === postgres.source;
  return same ? null : next;
}

function rejoin(
  postgres: PostgresModel,
  source: number,
  context: ReconcileContext,
): PostgresModel | null {
  if (source < 0) return null;
  const sourcePostgres = context.postgresOf(source);
  // pg_rewind reads from a running source.
  if (sourcePostgres.status !== "running") return null;
  const wal = postgres.wal.slice(0, commonPrefixLength(postgres.wal, sourcePostgres.wal));
  const next: PostgresModel = {
    ...postgres,
    wal,
    status: "running",
    inRecovery: true,
    fenced: false,
    source,
  };
  const same = next.wal.length === postgres.wal.length && next.status === postgres.status &&
    next.inRecovery === postgres.inRecovery && next.source === postgres.source;
  return same ? null : next;
}
