/**
 * Fencing: making the local server refuse writes in a way no client can undo.
 *
 * Step 1 (SQL): `default_transaction_read_only = on` alone is not a fence (a client can SET
 * it off), so the fence also sets synchronous_standby_names to a name no standby can have:
 * every commit then waits for an acknowledgement that never comes and is never reported to
 * its client. pg_hba.conf loses the entries of ordinary clients (new connections are refused)
 * and every existing client backend is terminated (a commit waiting for the standby is then
 * cut off, unacknowledged). Walsenders stay, so standbys can still catch up (switchover).
 * The settings live in postgresql.auto.conf, so a fenced server restarts fenced.
 * Step 2: when step 1 is not confirmed by the caller's deadline, the postmaster is stopped
 * with an immediate shutdown.
 *
 * @module
 */

import { writePgHba } from "./config_files.ts";
import { delay, type Postmaster, stopByPidFile } from "./postmaster.ts";
import type { PostgresSettings } from "./settings.ts";
import { closeQuietly, connectLocal, quoteLiteral, type SqlClient } from "./sql_client.ts";

/**
 * synchronous_standby_names while fenced. The dot and the quotes make it a name no node id
 * (letters, digits, `_`, `-`) can match.
 */
export const FENCE_SYNCHRONOUS_STANDBY_NAMES = '"hactl.fenced"';
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
    const terminatedBackends = await Promise.race([fenceBySql(sql, settings, deadline), timeout]);
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

/** Step 1; resolves with the number of backends terminated once the fence is confirmed. */
async function fenceBySql(
  sql: SqlClient,
  settings: PostgresSettings,
  deadline: number,
): Promise<number> {
  await sql.unsafe("ALTER SYSTEM SET default_transaction_read_only = on");
  await sql.unsafe(
    `ALTER SYSTEM SET synchronous_standby_names = ${quoteLiteral(FENCE_SYNCHRONOUS_STANDBY_NAMES)}`,
  );
  await writePgHba(settings, true);
  await sql`SELECT pg_reload_conf()`;
  let terminated = 0;
  while (Date.now() < deadline) {
    terminated += await terminateClientBackends(sql);
    const remaining = await sql<{ count: number }[]>`
      SELECT count(*)::int AS count FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
    if ((remaining[0]?.count ?? 1) === 0 && await isFenced(sql)) return terminated;
    await delay(CONFIRM_POLL_INTERVAL_MS);
  }
  throw new Error("fence step 1 not confirmed: settings not in effect or clients remain");
}

/** Terminates every client backend except this session; walsenders are not client backends. */
export async function terminateClientBackends(sql: SqlClient): Promise<number> {
  const rows = await sql<{ terminated: boolean }[]>`
    SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`;
  return rows.filter((row) => row.terminated).length;
}

/**
 * Reverses step 1: normal pg_hba.conf, default_transaction_read_only reset, and
 * synchronous_standby_names set to `synchronousStandbyNames` (the value the core decided;
 * set it before writes resume, so no commit is acknowledged without the quorum). Confirms by
 * SHOW within `timeoutMs`.
 */
export async function unfence(
  settings: PostgresSettings,
  synchronousStandbyNames: string,
  options: { readonly timeoutMs: number },
): Promise<void> {
  const sql = connectLocal(settings, { statementTimeoutMs: options.timeoutMs });
  try {
    await writePgHba(settings, false);
    await sql.unsafe("ALTER SYSTEM RESET default_transaction_read_only");
    await sql.unsafe(
      `ALTER SYSTEM SET synchronous_standby_names = ${quoteLiteral(synchronousStandbyNames)}`,
    );
    await sql`SELECT pg_reload_conf()`;
    await waitForSettings(sql, {
      synchronous_standby_names: synchronousStandbyNames,
      default_transaction_read_only: "off",
    }, options);
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
