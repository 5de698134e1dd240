/**
 * Rejoining a deposed primary by pg_rewind.
 *
 * The source connection uses the replication role, which {@link createReplicationRole} grants
 * EXECUTE on the four functions pg_rewind calls (pg_ls_dir, pg_stat_file, pg_read_binary_file
 * twice), so no superuser password travels on the network.
 *
 * Before pg_rewind runs, the node's true end of WAL and history are compared with the source's
 * (rejoin_plan.ts): when pg_rewind cannot help (same timeline id with another history, or
 * pg_rewind answers "no rewind required" while this node holds WAL past the fork), the result
 * asks for a re-clone and says why.
 *
 * Safety: standby.signal and the standby-required marker are written BEFORE pg_rewind runs and
 * again after it (pg_rewind deletes target files the source lacks), so the deposed primary is
 * never started as a primary, even after a failed or interrupted rewind.
 *
 * @module
 */

import type { PostgresBinaries } from "./binaries.ts";
import {
  clientTlsConninfo,
  editAutoConf,
  primaryConninfo,
  quoteConninfoValue,
  writeNodeConfiguration,
  writePasswordFile,
  writeStandbySignal,
} from "./config_files.ts";
import type { WalPosition } from "../core/types.ts";
import { controlPointOf, readControlData, stoppedWalPosition } from "./control_data.ts";
import { livePostmasterPid, Postmaster, requireStandby } from "./postmaster.ts";
import { lastLines, runCommand } from "./process_runner.ts";
import { planRejoinAll, type RejoinPlan } from "./rejoin_plan.ts";
import type { ReplicationSource } from "./roles.ts";
import { readSourcePosition } from "./source_position.ts";
import { readTimelineHistory } from "./timeline_history.ts";
import { passwordFileOf, type PostgresSettings } from "./settings.ts";

/** The outcome of {@link rewindFrom}. */
export interface RewindResult {
  readonly ok: boolean;
  /** True when pg_rewind cannot work on this data directory (WAL gone, unrelated system, damaged
   * by a failed rewind): clone the node afresh with cloneFrom. */
  readonly recloneNeeded: boolean;
  /** pg_rewind said "no rewind required" or "same timeline". */
  readonly noRewindRequired: boolean;
  /** pg_rewind's stderr tail, or why it did not run. */
  readonly detail: string;
}

/** Options of {@link rewindFrom}. */
export interface RewindOptions {
  /** primary_slot_name to stream with afterwards, or null. */
  readonly slotName: string | null;
  /** Time limit for pg_rewind. */
  readonly timeoutMs: number;
  /** Time limit for the crash recovery that must precede a rewind of a crashed server. */
  readonly recoveryTimeoutMs?: number;
}

const DEFAULT_RECOVERY_TIMEOUT_MS = 120_000;

/** pg_rewind messages meaning this data directory cannot be rewound: clone instead. */
const RECLONE_PATTERNS: readonly RegExp[] = [
  /could not find previous WAL record/i,
  /could not open file ".*pg_wal\//i,
  /could not find common ancestor/i,
  /source and target clusters are from different systems/i,
  /clusters are not compatible/i,
  /could not find WAL file/i,
  /target server needs to use either data checksums or "wal_log_hints = on"/i,
  /invalid record|record with incorrect prev-link|unexpected pageaddr/i,
];
/** pg_rewind messages meaning the source was unreachable: nothing changed, retry later. */
const RETRY_PATTERNS: readonly RegExp[] = [
  /could not connect|connection to server|timeout expired|password authentication failed/i,
];

/**
 * Rewinds the stopped data directory to follow `source` (the new primary): writes
 * standby.signal first, brings a crashed server to a clean state by recovering it as a
 * standby, runs `pg_rewind --source-server`, then configures it as a standby of `source`.
 */
export async function rewindFrom(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  source: ReplicationSource,
  options: RewindOptions,
): Promise<RewindResult> {
  if (await livePostmasterPid(settings.dataDirectory) !== null) {
    throw new Error(`cannot rewind ${settings.dataDirectory}: its postmaster is running; stop it`);
  }
  await requireStandby(settings);
  await writeStandbySignal(settings);
  await writePasswordFile(settings);
  // The recovery pass of a crashed server replays its own WAL only. With a source it could
  // stream the source's newer timeline while it runs and stop anywhere on it: pg_rewind then
  // found the control file past the fork and the fork's record missing from the old
  // timeline's WAL file, and the node was re-cloned (test/postgres/rewind_crashed_test.ts).
  await editAutoConf(settings, { primary_conninfo: null, primary_slot_name: null });
  const recovered = await ensureCleanShutdown(settings, binaries, options);
  if (recovered !== null) return recovered;
  await editAutoConf(settings, {
    primary_conninfo: primaryConninfo(settings, source),
    primary_slot_name: options.slotName,
  });
  const plan = await planFromHistories(settings, binaries, source);
  if (!("kind" in plan)) return plan;
  if (plan.kind === "clone") {
    return { ok: false, recloneNeeded: true, noRewindRequired: false, detail: plan.reason };
  }
  const result = await runCommand([
    binaries.path("pg_rewind"),
    `--target-pgdata=${settings.dataDirectory}`,
    `--source-server=${sourceConninfo(settings, source)}`,
  ], { timeoutMs: options.timeoutMs, runAsUser: settings.runAsUser });
  // pg_rewind removes target files missing on the source, standby.signal among them.
  await writeStandbySignal(settings);
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.code !== 0) {
    return {
      ok: false,
      recloneNeeded: !RETRY_PATTERNS.some((pattern) => pattern.test(output)) ||
        RECLONE_PATTERNS.some((pattern) => pattern.test(output)),
      noRewindRequired: false,
      detail: lastLines(output),
    };
  }
  const noRewindRequired = /no rewind required|on the same timeline/i.test(output);
  if (noRewindRequired && plan.kind === "rewind") {
    // Its start would replay the WAL past the fork and fail, every time (issue 9, #7).
    return {
      ok: false,
      recloneNeeded: true,
      noRewindRequired: true,
      detail: `pg_rewind found nothing to rewind, but ${plan.reason}: a rewind cannot help`,
    };
  }
  // pg_rewind copied the source's configuration files: restore this node's own.
  await writeNodeConfiguration(settings);
  await editAutoConf(settings, {
    primary_conninfo: primaryConninfo(settings, source),
    primary_slot_name: options.slotName,
  });
  return { ok: true, recloneNeeded: false, noRewindRequired, detail: lastLines(output) };
}

/**
 * The positions of this node that must be on the source's history for it to follow: its end
 * of WAL (`endOfWal`, or read from pg_wal when stopped) and the point its data files reached
 * by the control file (a standby may have replayed WAL past a fork that pg_wal no longer
 * shows as its newest). Throws when a position or history cannot be read.
 */
export async function localRejoinPositions(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  endOfWal: WalPosition | null,
): Promise<WalPosition[]> {
  const directory = settings.dataDirectory;
  const control = await readControlData(binaries, directory);
  const point = controlPointOf(control);
  const history = await readTimelineHistory(directory, point.timeline);
  return [
    endOfWal ?? await stoppedWalPosition(binaries, directory, control),
    { ...point, history },
  ];
}

/**
 * Compares this stopped node's positions with the source's (rejoin_plan.ts). Returns the
 * plan, or a failed result: re-clone when this node's own position cannot be read, retry
 * later when the source's cannot.
 */
async function planFromHistories(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  source: ReplicationSource,
): Promise<RejoinPlan | RewindResult> {
  const failed = (recloneNeeded: boolean, what: string, error: unknown): RewindResult => ({
    ok: false,
    recloneNeeded,
    noRewindRequired: false,
    detail: `${what}: ${error instanceof Error ? error.message : String(error)}`,
  });
  let locals: WalPosition[];
  try {
    locals = await localRejoinPositions(settings, binaries, null);
  } catch (error) {
    return failed(
      true,
      "this node's own position cannot be read, so no rewind can be planned",
      error,
    );
  }
  try {
    return planRejoinAll(locals, await readSourcePosition(settings, source));
  } catch (error) {
    return failed(
      false,
      `reading the timeline history of ${source.host}:${source.port} failed`,
      error,
    );
  }
}

/** The libpq conninfo pg_rewind uses to read the source (an ordinary, not a replication, session). */
export function sourceConninfo(settings: PostgresSettings, source: ReplicationSource): string {
  return [
    `host=${quoteConninfoValue(source.host)}`,
    `port=${source.port}`,
    `user=${quoteConninfoValue(settings.replicationUser)}`,
    `passfile=${quoteConninfoValue(passwordFileOf(settings))}`,
    "dbname=postgres",
    `application_name=${quoteConninfoValue(`${settings.applicationName}-rewind`)}`,
    ...clientTlsConninfo(settings),
    "connect_timeout=10",
  ].join(" ");
}

/**
 * pg_rewind needs a cleanly shut down target. pg_rewind's own crash recovery uses single-user
 * mode, which refuses standby.signal, so a crashed server is instead started as a standby
 * (standby.signal is present), allowed to reach consistency, and stopped fast. Returns null
 * when the target is clean, else a failed result.
 */
async function ensureCleanShutdown(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  options: RewindOptions,
): Promise<RewindResult | null> {
  const control = await readControlData(binaries, settings.dataDirectory);
  if (control.state === "shut down" || control.state === "shut down in recovery") return null;
  const postmaster = await Postmaster.start(settings, binaries);
  try {
    await postmaster.waitUntilReady(options.recoveryTimeoutMs ?? DEFAULT_RECOVERY_TIMEOUT_MS);
  } catch (error) {
    return {
      ok: false,
      recloneNeeded: true,
      noRewindRequired: false,
      detail: `crash recovery before pg_rewind failed (state "${control.state}"): ${
        error instanceof Error ? error.message : String(error)
      }`,
    };
  } finally {
    if (postmaster.alive) await postmaster.stop();
  }
  return null;
}
