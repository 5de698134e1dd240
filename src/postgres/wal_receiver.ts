/**
 * "Receive WAL from no one": stopping a standby's WAL receiver while its core knows no live
 * leader, and telling whether one runs. A vote counts only an observation read after the
 * receiver stopped (issue 9; the argument is at `leaseDurationTicks`, src/core/config.ts).
 *
 * @module
 */

import { editAutoConf } from "./config_files.ts";
import { delay } from "./postmaster.ts";
import type { PostgresSettings } from "./settings.ts";
import { closeQuietly, connectLocal, type SqlClient } from "./sql_client.ts";

/** Longest wait for the receiver to stop after the reload. */
export const RECEIVER_STOP_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 20;
/**
 * Consecutive checks, POLL_INTERVAL_MS apart, that must find no receiver. The startup
 * process, which starts receivers, applies a reload when its latch is next set (a reload
 * sets it); seeing none several times lets a start decided just before the reload show up.
 */
const QUIET_CHECKS = 3;

/** What the server says about its WAL receiver. */
export interface ReceiverState {
  /** Receiver processes (pg_stat_activity) plus connected receivers (pg_stat_wal_receiver). */
  readonly receivers: number;
  /** primary_conninfo in effect; a standby with a non-empty one may start a receiver. */
  readonly conninfo: string;
}

/** True when a receiver runs or may start on a standby in this state. */
export function mayReceiveWal(state: ReceiverState): boolean {
  return state.receivers > 0 || state.conninfo !== "";
}

/** Reads the receiver state of the local server (in its own statement, a fresh snapshot). */
export async function readReceiverState(sql: SqlClient): Promise<ReceiverState> {
  const rows = await sql<{ receivers: number; conninfo: string }[]>`
    SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walreceiver')::int +
        (SELECT count(*) FROM pg_stat_wal_receiver)::int AS receivers,
      current_setting('primary_conninfo') AS conninfo`;
  const row = rows[0];
  if (row === undefined) throw new Error("reading the WAL receiver state returned no row");
  return { receivers: row.receivers, conninfo: row.conninfo };
}

/**
 * Makes the standby receive WAL from no one. Running: `ALTER SYSTEM SET primary_conninfo =
 * ''` and a reload (Postgres applies primary_conninfo on reload and stops the receiver), then
 * waits until {@link QUIET_CHECKS} checks in a row see no receiver and the empty setting.
 * Stopped: writes the empty setting to postgresql.auto.conf, so the next start streams from
 * no one. What was received is still replayed. Throws when the receiver does not stop in
 * time (the caller retries; votes stay refused meanwhile).
 */
export async function stopWalReceiver(
  settings: PostgresSettings,
  options: { readonly running: boolean; readonly timeoutMs?: number },
): Promise<void> {
  if (!options.running) {
    await editAutoConf(settings, { primary_conninfo: "" });
    return;
  }
  const sql = connectLocal(settings);
  try {
    await sql`ALTER SYSTEM SET primary_conninfo = ''`;
    await sql`SELECT pg_reload_conf()`;
    await waitForNoReceiver(sql, options.timeoutMs ?? RECEIVER_STOP_TIMEOUT_MS);
  } finally {
    await closeQuietly(sql);
  }
}

async function waitForNoReceiver(sql: SqlClient, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let last: ReceiverState = { receivers: -1, conninfo: "" };
  while (Date.now() < deadline) {
    last = await readReceiverState(sql);
    quiet = mayReceiveWal(last) ? 0 : quiet + 1;
    if (quiet >= QUIET_CHECKS) return;
    await delay(POLL_INTERVAL_MS);
  }
  throw new Error(
    `the WAL receiver did not stop within ${timeoutMs} ms after primary_conninfo was cleared ` +
      `(receivers: ${last.receivers}, primary_conninfo: "${last.conninfo}"); check the ` +
      `server log for the startup process`,
  );
}
