/**
 * Observing the local Postgres for the core: status, role, (timeline, LSN), replay progress,
 * synchronous_standby_names and the fence.
 *
 * @module
 */

import type { PostgresObservation, WalPosition } from "../core/types.ts";
import { withRecentHistory } from "../core/wal_position.ts";
import type { PostgresBinaries } from "./binaries.ts";
import { hasStandbySignal } from "./config_files.ts";
import { readControlData, stoppedWalPosition } from "./control_data.ts";
import { FENCE_SYNCHRONOUS_STANDBY_NAMES, isFencedBySettings } from "./fence.ts";
import { pathExists } from "./files.ts";
import { parseLsn } from "./lsn.ts";
import { livePostmasterPid } from "./postmaster.ts";
import { readTimelineHistory, walPositionAt } from "./timeline_history.ts";
import type { PostgresSettings } from "./settings.ts";
import { withLocalSql } from "./sql_client.ts";

/** Time limits of one observation. */
export interface ObserveOptions {
  /** Give up connecting after this many seconds and observe the stopped server instead. */
  readonly connectTimeoutSeconds?: number;
  readonly statementTimeoutMs?: number;
}

/** The observation of a node without a data directory. */
export const ABSENT_OBSERVATION: PostgresObservation = {
  status: "absent",
  inRecovery: false,
  position: null,
  replayCaughtUp: false,
  synchronousStandbyNames: null,
  fenced: false,
  receivingWal: false,
};

/**
 * What the shell reports once its reads of Postgres have failed for a bounded time: nothing
 * known of its WAL (position null), the last known recovery state (false when none), no
 * fence, no receiver and no synchronous names claimed.
 */
export function unreadableObservation(lastKnown: PostgresObservation | null): PostgresObservation {
  return {
    status: "unreadable",
    inRecovery: lastKnown?.inRecovery ?? false,
    position: null,
    replayCaughtUp: false,
    synchronousStandbyNames: null,
    fenced: false,
    receivingWal: false,
  };
}

/**
 * Observes the local Postgres: `absent` without PG_VERSION; `running` when it answers SQL;
 * an error when its postmaster is alive but does not answer; else `stopped`, from
 * pg_controldata, the end of WAL found by pg_waldump, standby.signal and
 * postgresql.auto.conf. Every position carries its timeline history; a position that
 * cannot be told (a damaged history file, an unreadable pg_wal) is an error, never a guess.
 */
export async function observePostgres(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  options: ObserveOptions = {},
): Promise<PostgresObservation> {
  if (!await pathExists(`${settings.dataDirectory}/PG_VERSION`)) return ABSENT_OBSERVATION;
  let row: RunningRow;
  try {
    row = await queryRunning(settings, options);
  } catch (error) {
    // A postmaster that is alive but does not answer (frozen, hung on its disk, out of
    // connections) is not stopped: its control file says "in production" while it may
    // still accept writes. The read fails; after a few such reads the reconciler reports
    // it unreadable, on which nothing is started, rewound or cloned over it.
    const pid = await livePostmasterPid(settings.dataDirectory);
    if (pid !== null) {
      throw new Error(
        `Postgres (postmaster ${pid}) is running but did not answer: ${String(error)}`,
      );
    }
    return withRecentPosition(await observeStopped(settings, binaries));
  }
  // A server that answered is running: a position it cannot be given is an error, not "stopped".
  return withRecentPosition(await runningObservation(settings, row));
}

/**
 * The observation with its position's history cut to the newest MAX_HISTORY_LINES lines
 * (`withRecentHistory`): peers refuse every message carrying a longer one.
 */
function withRecentPosition(observation: PostgresObservation): PostgresObservation {
  const position: WalPosition | null = observation.position;
  if (position === null) return observation;
  return { ...observation, position: withRecentHistory(position) };
}

interface RunningRow {
  in_recovery: boolean;
  sync_names: string;
  read_only: string;
  walfile: string | null;
  flush_lsn: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  segment_bytes: number;
  receiver_running: boolean;
  primary_conninfo: string;
}

/**
 * Observes a server that answers SQL; throws when it cannot connect or when its position
 * cannot be told (see timeline_history.ts for how the timeline is found).
 */
export async function observeRunning(
  settings: PostgresSettings,
  options: ObserveOptions = {},
): Promise<PostgresObservation> {
  return await runningObservation(settings, await queryRunning(settings, options));
}

/** Runs the status query on the local server; throws when it cannot connect. */
async function queryRunning(
  settings: PostgresSettings,
  options: ObserveOptions,
): Promise<RunningRow> {
  const rows = await withLocalSql(settings, (sql) =>
    sql<RunningRow[]>`
    SELECT pg_is_in_recovery() AS in_recovery,
      current_setting('synchronous_standby_names') AS sync_names,
      current_setting('default_transaction_read_only') AS read_only,
      CASE WHEN NOT pg_is_in_recovery()
        THEN pg_walfile_name(pg_current_wal_flush_lsn()) END AS walfile,
      CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_flush_lsn()::text END AS flush_lsn,
      pg_last_wal_receive_lsn()::text AS receive_lsn,
      pg_last_wal_replay_lsn()::text AS replay_lsn,
      (SELECT bytes_per_wal_segment FROM pg_control_init())::int AS segment_bytes,
      EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AS receiver_running,
      current_setting('primary_conninfo') AS primary_conninfo`, {
    connectTimeoutSeconds: options.connectTimeoutSeconds ?? 2,
    statementTimeoutMs: options.statementTimeoutMs ?? 5_000,
  });
  const row = rows[0];
  if (row === undefined) throw new Error("observing Postgres: the status query returned no row");
  return row;
}

async function runningObservation(
  settings: PostgresSettings,
  row: RunningRow,
): Promise<PostgresObservation> {
  const directory = settings.dataDirectory;
  return {
    status: "running",
    inRecovery: row.in_recovery,
    ...(row.in_recovery
      ? await standbyPosition(directory, row)
      : await primaryPosition(directory, row)),
    synchronousStandbyNames: row.sync_names,
    fenced: isFencedBySettings(row.sync_names, row.read_only),
    // A standby with a source restarts its receiver by itself whenever it stops.
    receivingWal: row.in_recovery && (row.receiver_running || row.primary_conninfo !== ""),
  };
}

/** A primary's flushed WAL: the timeline from the name of the segment it is in. */
async function primaryPosition(
  dataDirectory: string,
  row: RunningRow,
): Promise<Pick<PostgresObservation, "position" | "replayCaughtUp">> {
  if (row.walfile === null || row.flush_lsn === null) {
    throw new Error("observing Postgres: a primary reported no WAL flush position");
  }
  const timeline = parseInt(row.walfile.slice(0, 8), 16);
  return {
    position: {
      timeline,
      lsn: parseLsn(row.flush_lsn),
      history: await readTimelineHistory(dataDirectory, timeline),
    },
    replayCaughtUp: true,
  };
}

/**
 * A standby's WAL: the newest it received (kept after the receiver stopped) or replayed, on
 * the timeline of the segment file holding it, whether or not the receiver runs.
 */
async function standbyPosition(
  dataDirectory: string,
  row: RunningRow,
): Promise<Pick<PostgresObservation, "position" | "replayCaughtUp">> {
  const received = row.receive_lsn === null ? null : parseLsn(row.receive_lsn);
  const replayed = row.replay_lsn === null ? null : parseLsn(row.replay_lsn);
  if (received === null && replayed === null) {
    throw new Error("observing Postgres: a standby reported neither a received nor a replayed LSN");
  }
  const lsn = Math.max(received ?? 0, replayed ?? 0);
  return {
    position: await walPositionAt(dataDirectory, lsn, row.segment_bytes, null),
    replayCaughtUp: received === null || (replayed !== null && replayed >= received),
  };
}

/**
 * Observes a stopped server from its files: pg_controldata, the end of WAL in pg_wal found by
 * pg_waldump, the timeline history, standby.signal and postgresql.auto.conf.
 */
export async function observeStopped(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
): Promise<PostgresObservation> {
  const directory = settings.dataDirectory;
  const control = await readControlData(binaries, directory);
  const inRecovery = await hasStandbySignal(directory);
  const position = await stoppedWalPosition(binaries, directory, control);
  const autoConf = await readAutoConf(directory);
  return {
    status: "stopped",
    inRecovery,
    position,
    // A stopped standby may hold WAL it has not replayed; only a primary is surely caught up.
    replayCaughtUp: !inRecovery,
    synchronousStandbyNames: autoConf.get("synchronous_standby_names") ?? null,
    fenced: autoConf.get("synchronous_standby_names") === FENCE_SYNCHRONOUS_STANDBY_NAMES &&
      autoConf.get("default_transaction_read_only") === "on",
    // Once started, a standby with a source streams; the agent adds what it is about to do.
    receivingWal: inRecovery && (autoConf.get("primary_conninfo") ?? "") !== "",
  };
}

/** Settings of postgresql.auto.conf (unquoted values), lower-case names. */
export async function readAutoConf(dataDirectory: string): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  let text = "";
  try {
    text = await Deno.readTextFile(`${dataDirectory}/postgresql.auto.conf`);
  } catch {
    return values;
  }
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*=?\s*(.*?)\s*$/.exec(line);
    if (match === null || line.trim().startsWith("#")) continue;
    let value = match[2]!;
    if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
      value = value.slice(1, -1).replaceAll("''", "'").replaceAll("\\\\", "\\");
    }
    values.set(match[1]!.toLowerCase(), value);
  }
  return values;
}

/** How a running standby is getting on: receiver state and the received and replayed LSNs. */
export interface StandbyProgress {
  /** The WAL receiver is connected and streaming. */
  readonly streaming: boolean;
  readonly receivedLsn: number | null;
  readonly replayedLsn: number | null;
}

/** Reads the local standby's progress (see {@link StandbyProgress}). */
export async function readStandbyProgress(settings: PostgresSettings): Promise<StandbyProgress> {
  const rows = await withLocalSql(
    settings,
    (sql) =>
      sql<{ streaming: boolean | null; received: string | null; replayed: string | null }[]>`
      SELECT (SELECT status = 'streaming' FROM pg_stat_wal_receiver) AS streaming,
        pg_last_wal_receive_lsn()::text AS received,
        pg_last_wal_replay_lsn()::text AS replayed`,
    {
      connectTimeoutSeconds: 1,
      statementTimeoutMs: 2_000,
    },
  );
  const row = rows[0];
  return {
    streaming: row?.streaming === true,
    receivedLsn: row?.received == null ? null : parseLsn(row.received),
    replayedLsn: row?.replayed == null ? null : parseLsn(row.replayed),
  };
}
