/**
 * Fencing: making the local server refuse writes in a way no client can undo, while new
 * client connections still get in and see a read-only session.
 *
 * Step 1 (SQL): `default_transaction_read_only = on` and `synchronous_standby_names` set to a
 * name no standby can have, by ALTER SYSTEM and a reload. read-only alone is not a fence (a
 * session can SET it off): such a session's commit then waits for an acknowledgement that
 * never comes and is never reported to its client. Once the settings are in effect, every
 * client backend that started before is terminated (its transaction may have begun
 * read-write; a commit waiting for the old standbys is cut off, unacknowledged); sessions
 * started later have the fence's settings from their first statement. Walsenders stay, so
 * standbys can still catch up (switchover).
 *
 * Why clients are let in (issue 9, #5): libpq's multi-host connection with
 * `target_session_attrs=read-write` moves on to the next host when a session is read-only
 * (the server reports default_transaction_read_only when the session starts) or when the
 * connection is refused, but it gives up on the whole list at an authentication error, such
 * as "no pg_hba.conf entry". A fenced node that refused clients in pg_hba.conf therefore
 * blocked every writer that listed it first; a read-only session is stepped over.
 *
 * What a session can still opt out of: `SET synchronous_commit = local` (or `off`) together
 * with `SET default_transaction_read_only = off` commits on a fenced node without waiting for
 * the unreachable standby. Such a session has opted out of synchronous replication, and so of
 * the durability and single-writer promises (docs/SAFETY.md, S2); hactl cannot forbid it.
 * Such settings made by role or database are reported, walsenders posing as a standby under
 * the fence's or a member's name are terminated (src/agent/primary_guard.ts).
 *
 * Why the settings come before the terminations, not after: a transaction is read-only or
 * not from its start, so every backend from before the settings is ended (one started
 * between a termination and the settings would start writable). A backend forked just
 * before the postmaster's reload is its child by then, receives the reload signal and
 * applies it before reading its first command, so it is no exception (Postgres 15 forks with
 * signals blocked: the signal waits for the backend's handler; checked against that source,
 * not by a test).
 *
 * The settings live in postgresql.auto.conf, so a fenced server restarts fenced; and a server
 * that is not a standby is only ever started fenced ({@link startFencedUnlessStandby}): it
 * becomes writable only by {@link unfence}, when the core grants authority again.
 * Step 2: when step 1 is not confirmed by the caller's deadline, the postmaster is stopped
 * with an immediate shutdown.
 *
 * @module
 */

import type { PostgresBinaries } from "./binaries.ts";
import { editAutoConf, hasStandbySignal, writePgHba } from "./config_files.ts";
import { delay, isStandbyRequired, Postmaster, stopByPidFile } from "./postmaster.ts";
import type { PostgresSettings } from "./settings.ts";
import { closeQuietly, connectLocal, quoteLiteral, type SqlClient } from "./sql_client.ts";

/**
 * synchronous_standby_names while fenced. The dot and the quotes make it a name no node id
 * (letters, digits, `_`, `-`) can match.
 */
export const FENCE_SYNCHRONOUS_STANDBY_NAMES = '"hactl.fenced"';
/** The settings of a fenced server (postgresql.auto.conf), by name. */
export const FENCE_SETTINGS: Readonly<Record<string, string>> = {
  default_transaction_read_only: "on",
  synchronous_standby_names: FENCE_SYNCHRONOUS_STANDBY_NAMES,
};
/** application_name of the agent's fencing session (for logs). */
export const FENCE_APPLICATION_NAME = "hactl-fence";
const CONFIRM_POLL_INTERVAL_MS = 50;
/** Time allowed for an immediate shutdown in step 2 before SIGKILL. */
const IMMEDIATE_STOP_TIMEOUT_MS = 2_000;

/** How a fence was achieved. */
export interface FenceResult {
  /** "sql": step 1 confirmed; "stopped": the postmaster was stopped (step 2). */
  readonly method: "sql" | "stopped";
  /** Client backends terminated by step 1. */
  readonly terminatedBackends: number;
  /** Why step 1 was not enough (null when it was). */
  readonly step1Error: string | null;
}

/** True when these two settings are the fence's (see {@link FENCE_SYNCHRONOUS_STANDBY_NAMES}). */
export function isFencedBySettings(synchronousStandbyNames: string, readOnly: string): boolean {
  return synchronousStandbyNames === FENCE_SYNCHRONOUS_STANDBY_NAMES && readOnly === "on";
}

/** True when the server this session is connected to runs with the fence settings. */
export async function isFenced(sql: SqlClient): Promise<boolean> {
  const rows = await sql<{ names: string; read_only: string }[]>`
    SELECT current_setting('synchronous_standby_names') AS names,
      current_setting('default_transaction_read_only') AS read_only`;
  const row = rows[0];
  return row !== undefined && isFencedBySettings(row.names, row.read_only);
}

/**
 * Fences the local server within `deadlineMs`: step 1 by SQL; if it is not confirmed in
 * time, step 2 stops the postmaster immediately (`postmaster` when the agent owns it, else by
 * postmaster.pid). Throws only when even step 2 fails.
 */
export async function fence(
  settings: PostgresSettings,
  options: { readonly deadlineMs: number; readonly postmaster?: Postmaster | null },
): Promise<FenceResult> {
  const sql = connectLocal(settings, {
    applicationName: FENCE_APPLICATION_NAME,
    connectTimeoutSeconds: Math.max(1, Math.ceil(options.deadlineMs / 1000)),
    statementTimeoutMs: options.deadlineMs,
  });
  const deadline = Date.now() + options.deadlineMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`fence not confirmed within ${options.deadlineMs} ms`)),
      options.deadlineMs,
    );
  });
  let step1Error: string;
  try {
    const terminatedBackends = await Promise.race([fenceBySql(sql, deadline), timeout]);
    return { method: "sql", terminatedBackends, step1Error: null };
  } catch (error) {
    step1Error = error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
    await closeQuietly(sql);
  }
  await stopImmediately(settings, options.postmaster ?? null);
  return { method: "stopped", terminatedBackends: 0, step1Error };
}

async function stopImmediately(settings: PostgresSettings, postmaster: Postmaster | null) {
  if (postmaster !== null && postmaster.alive) {
    await postmaster.stop({ immediate: true, immediateTimeoutMs: IMMEDIATE_STOP_TIMEOUT_MS });
    return;
  }
  const stopped = await stopByPidFile(settings.dataDirectory, {
    immediate: true,
    timeoutMs: IMMEDIATE_STOP_TIMEOUT_MS,
  });
  if (!stopped) {
    throw new Error(
      `fencing failed: the postmaster of ${settings.dataDirectory} survived SIGQUIT and SIGKILL`,
    );
  }
}

/**
 * Step 1; resolves with the number of client backends terminated once the fence is confirmed:
 * the settings are in effect (this session sees them, so the postmaster has reloaded and every
 * backend it starts from now on has them) and no client backend that started before remains.
 */
async function fenceBySql(sql: SqlClient, deadline: number): Promise<number> {
  for (const [name, value] of Object.entries(FENCE_SETTINGS)) {
    await sql.unsafe(`ALTER SYSTEM SET ${name} = ${quoteLiteral(value)}`);
  }
  await sql`SELECT pg_reload_conf()`;
  let fencedSince: string | null = null;
  let terminated = 0;
  while (Date.now() < deadline) {
    fencedSince ??= await fenceInEffectSince(sql);
    if (fencedSince !== null) {
      terminated += await terminateClientBackends(sql, fencedSince);
      if (await countClientBackends(sql, fencedSince) === 0) return terminated;
    }
    await delay(CONFIRM_POLL_INTERVAL_MS);
  }
  throw new Error(
    fencedSince === null
      ? "fence step 1 not confirmed: the settings are not in effect"
      : "fence step 1 not confirmed: client backends from before the fence remain",
  );
}

/** The server's time now if this session runs with the fence's settings, else null. */
async function fenceInEffectSince(sql: SqlClient): Promise<string | null> {
  const rows = await sql<{ names: string; read_only: string; now: string }[]>`
    SELECT current_setting('synchronous_standby_names') AS names,
      current_setting('default_transaction_read_only') AS read_only,
      clock_timestamp()::text AS now`;
  const row = rows[0];
  return row !== undefined && isFencedBySettings(row.names, row.read_only) ? row.now : null;
}

/**
 * Terminates every client backend except this session (those started before `startedBefore`,
 * a server timestamp, when given); walsenders are not client backends. Returns how many.
 */
export async function terminateClientBackends(
  sql: SqlClient,
  startedBefore: string | null = null,
): Promise<number> {
  const rows = await sql<{ terminated: boolean }[]>`
    SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND (${startedBefore}::timestamptz IS NULL OR backend_start < ${startedBefore}::timestamptz)`;
  return rows.filter((row) => row.terminated).length;
}

async function countClientBackends(sql: SqlClient, startedBefore: string): Promise<number> {
  const rows = await sql<{ count: number }[]>`
    SELECT count(*)::int AS count FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND backend_start < ${startedBefore}::timestamptz`;
  return rows[0]?.count ?? 1;
}

/**
 * Writes the fence to the stopped server's files: the fence's settings in
 * postgresql.auto.conf, and pg_hba.conf as hactl writes it (clients are let in; the
 * settings make their sessions read-only). The next start is fenced.
 */
export async function writeFenceToDisk(settings: PostgresSettings): Promise<void> {
  await editAutoConf(settings, FENCE_SETTINGS);
  await writePgHba(settings);
}

/**
 * Starts the postmaster of a data directory; unless it will start as a standby
 * (standby.signal, or the standby-required marker), the fence is written to disk first: a
 * primary never comes back writable on its own, after a crash, a watchdog kill or any stop
 * (issue 9, #2). Only {@link unfence} makes it writable. Does not wait for readiness.
 */
export async function startFencedUnlessStandby(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
): Promise<Postmaster> {
  const standby = await hasStandbySignal(settings.dataDirectory) ||
    await isStandbyRequired(settings);
  if (!standby) await writeFenceToDisk(settings);
  return await Postmaster.start(settings, binaries);
}

/**
 * Reverses step 1: default_transaction_read_only reset, and synchronous_standby_names set to
 * `synchronousStandbyNames` (the value the core decided; set it before writes resume, so no
 * commit is acknowledged without the quorum); pg_hba.conf is rewritten as hactl writes it.
 * Confirms by SHOW within `timeoutMs`. `mayUnfence` is asked once connected, right before
 * the first change: the caller's decision is read when it acts, not before an await. Returns
 * false (and changes nothing) when it says no.
 */
export async function unfence(
  settings: PostgresSettings,
  synchronousStandbyNames: string,
  options: { readonly timeoutMs: number; readonly mayUnfence?: () => boolean },
): Promise<boolean> {
  if (synchronousStandbyNames === FENCE_SYNCHRONOUS_STANDBY_NAMES) {
    throw new Error("unfence: the synchronous standby names given are the fence's own");
  }
  const sql = connectLocal(settings, { statementTimeoutMs: options.timeoutMs });
  try {
    await sql`SELECT 1`;
    if (options.mayUnfence !== undefined && !options.mayUnfence()) return false;
    await writePgHba(settings);
    await sql.unsafe("ALTER SYSTEM RESET default_transaction_read_only");
    await sql.unsafe(
      `ALTER SYSTEM SET synchronous_standby_names = ${quoteLiteral(synchronousStandbyNames)}`,
    );
    await sql`SELECT pg_reload_conf()`;
    await waitForSettings(sql, {
      synchronous_standby_names: synchronousStandbyNames,
      default_transaction_read_only: "off",
    }, options);
    return true;
  } finally {
    await closeQuietly(sql);
  }
}

/**
 * Polls SHOW until every named setting has the expected value in this session (a reload
 * reaches a session between statements). Throws naming the setting still different.
 */
export async function waitForSettings(
  sql: SqlClient,
  expected: Readonly<Record<string, string>>,
  options: { readonly timeoutMs: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let mismatch = "";
  while (Date.now() < deadline) {
    mismatch = "";
    for (const [name, value] of Object.entries(expected)) {
      const rows = await sql<{ value: string }[]>`SELECT current_setting(${name}) AS value`;
      const actual = rows[0]?.value;
      if (actual !== value) mismatch = `${name} is "${actual}", expected "${value}"`;
    }
    if (mismatch === "") return;
    await delay(CONFIRM_POLL_INTERVAL_MS);
  }
  throw new Error(`settings not in effect after ${options.timeoutMs} ms: ${mismatch}`);
}
