/**
 * Role changes of a node's Postgres: promote, follow a primary as a standby, and the
 * synchronous standby set of a primary.
 *
 * @module
 */

import {
  editAutoConf,
  primaryConninfo,
  writePasswordFile,
  writeStandbySignal,
} from "./config_files.ts";
import { FENCE_SYNCHRONOUS_STANDBY_NAMES, isFenced, waitForSettings } from "./fence.ts";
import { clearStandbyRequired, requireStandby } from "./postmaster.ts";
import type { PostgresSettings } from "./settings.ts";
import { closeQuietly, connectLocal, quoteLiteral, withLocalSql } from "./sql_client.ts";

/** Where a standby streams from. */
export interface ReplicationSource {
  readonly host: string;
  readonly port: number;
}

/** Seconds pg_promote waits for the promotion to finish. */
export const PROMOTE_WAIT_SECONDS = 60;
const PROMOTE_STATEMENT_TIMEOUT_MS = (PROMOTE_WAIT_SECONDS + 10) * 1000;
const CHECKPOINT_TIMEOUT_MS = 120_000;
const RELOAD_CONFIRM_TIMEOUT_MS = 5_000;

/**
 * Promotes the running standby: `pg_promote(true, 60)`, then CHECKPOINT (the new primary
 * must be checkpointed on its new timeline before it can be a pg_rewind source). Clears the
 * standby-required marker. Returns the new timeline.
 */
export async function promote(settings: PostgresSettings): Promise<number> {
  return await withLocalSql(settings, async (sql) => {
    const rows = await sql<{ promoted: boolean }[]>`
      SELECT pg_promote(true, ${PROMOTE_WAIT_SECONDS}) AS promoted`;
    if (rows[0]?.promoted !== true) {
      throw new Error(
        `promotion of ${settings.applicationName} did not finish within ` +
          `${PROMOTE_WAIT_SECONDS} s; check the server log`,
      );
    }
    await clearStandbyRequired(settings);
    await sql.unsafe(`SET statement_timeout = ${CHECKPOINT_TIMEOUT_MS}`);
    await sql`CHECKPOINT`;
    const timeline = await sql<{ walfile: string }[]>`
      SELECT pg_walfile_name(pg_current_wal_lsn()) AS walfile`;
    return parseInt(timeline[0]!.walfile.slice(0, 8), 16);
  }, { statementTimeoutMs: PROMOTE_STATEMENT_TIMEOUT_MS });
}

/** What {@link configureStandby} did. */
export type StandbyConfigured =
  /** The running standby reloaded its new conninfo (PG 13+ reloads primary_conninfo). */
  | "reloaded"
  /** The server is stopped; standby.signal and the settings are written for the next start. */
  | "written";

/**
 * Makes this node a standby of `source`: standby.signal, primary_conninfo (application_name =
 * node id, the replication user, its password file, its TLS options) and primary_slot_name.
 * On a running standby the settings are applied by ALTER SYSTEM and a reload (no restart is
 * needed since PostgreSQL 13); on a stopped server they are written to the files. A running
 * primary is refused: stop it and use rewindFrom.
 */
export async function configureStandby(
  settings: PostgresSettings,
  source: ReplicationSource,
  slotName: string | null,
  options: { readonly running: boolean },
): Promise<StandbyConfigured> {
  await requireStandby(settings);
  await writePasswordFile(settings);
  const conninfo = primaryConninfo(settings, source);
  if (!options.running) {
    await writeStandbySignal(settings);
    await editAutoConf(settings, { primary_conninfo: conninfo, primary_slot_name: slotName });
    return "written";
  }
  await withLocalSql(settings, async (sql) => {
    const rows = await sql<{ in_recovery: boolean }[]>`SELECT pg_is_in_recovery() AS in_recovery`;
    if (rows[0]?.in_recovery !== true) {
      throw new Error(
        `cannot make ${settings.applicationName} a standby while it runs as a primary; ` +
          `stop it and rejoin with rewindFrom (or cloneFrom)`,
      );
    }
    await sql.unsafe(`ALTER SYSTEM SET primary_conninfo = ${quoteLiteral(conninfo)}`);
    await sql.unsafe(
      slotName === null
        ? "ALTER SYSTEM RESET primary_slot_name"
        : `ALTER SYSTEM SET primary_slot_name = ${quoteLiteral(slotName)}`,
    );
    await sql`SELECT pg_reload_conf()`;
    await waitForSettings(sql, { primary_slot_name: slotName ?? "" }, {
      timeoutMs: RELOAD_CONFIRM_TIMEOUT_MS,
    });
  });
  return "reloaded";
}

/**
 * Sets synchronous_standby_names (ALTER SYSTEM, which also works on a standby about to be
 * promoted, then reload) and confirms it by SHOW. Refused while fenced: the fence owns that
 * setting; pass the value to unfence instead.
 */
export async function setSynchronousStandbyNames(
  settings: PostgresSettings,
  value: string,
): Promise<void> {
  if (value === FENCE_SYNCHRONOUS_STANDBY_NAMES) {
    throw new Error("setSynchronousStandbyNames: that value is reserved for the fence");
  }
  const sql = connectLocal(settings);
  try {
    if (await isFenced(sql)) {
      throw new Error(
        `cannot set synchronous_standby_names to "${value}" on ${settings.applicationName}: ` +
          `the server is fenced; call unfence with this value instead`,
      );
    }
    await sql.unsafe(`ALTER SYSTEM SET synchronous_standby_names = ${quoteLiteral(value)}`);
    await sql`SELECT pg_reload_conf()`;
    await waitForSettings(sql, { synchronous_standby_names: value }, {
      timeoutMs: RELOAD_CONFIRM_TIMEOUT_MS,
    });
  } finally {
    await closeQuietly(sql);
  }
}
