/**
 * `synchronous_commit` as the server sets it, and the role and database settings that opt
 * sessions out of D1 (acknowledged durability).
 *
 * A commit waits for the synchronous standbys (or the commit gate) only while
 * `synchronous_commit` is `on` or `remote_apply`; `off`, `local` and `remote_write` return
 * before the standbys have flushed it. hactl writes `synchronous_commit = on` in hactl.conf,
 * and the primary sets it again by ALTER SYSTEM when a server-level file setting (e.g. an
 * operator's ALTER SYSTEM) says otherwise. Settings by role or database
 * (`ALTER ROLE ... SET`, `ALTER DATABASE ... SET`, stored in pg_db_role_setting) override the
 * server's for the sessions they apply to; hactl does not remove them (they may be
 * deliberate) but reports each one as an opt-out of D1. So is a role or database setting of
 * `default_transaction_read_only` to off, which undoes the read-only half of the fence for
 * those sessions. A session's own `SET` cannot be seen or prevented (docs/SAFETY.md).
 *
 * @module
 */

import type { SqlClient } from "./sql_client.ts";

/** One role or database setting that opts sessions out of D1. */
export interface DurabilityOptOut {
  /** The role it applies to; null for every role. */
  readonly role: string | null;
  /** The database it applies to; null for every database. */
  readonly database: string | null;
  /** "synchronous_commit" or "default_transaction_read_only". */
  readonly setting: string;
  readonly value: string;
}

/** synchronous_commit values that acknowledge a commit before the synchronous standbys flushed it. */
const SYNCHRONOUS_COMMIT_OPT_OUTS = new Set(["off", "false", "no", "0", "local", "remote_write"]);
/** The spellings Postgres reads as boolean false (it takes unique prefixes). */
const BOOLEAN_FALSE = /^(f|fa|fal|fals|false|n|no|of|off|0)$/;
/** Bound on pg_db_role_setting entries read per round. */
const MAX_SETTINGS_READ = 1_000;

/** True when `setting = value` (as stored in pg_db_role_setting) opts out of D1. */
export function isDurabilityOptOut(setting: string, value: string): boolean {
  const normalized = value.trim().toLowerCase();
  switch (setting.trim().toLowerCase()) {
    case "synchronous_commit":
      return SYNCHRONOUS_COMMIT_OPT_OUTS.has(normalized);
    case "default_transaction_read_only":
      return BOOLEAN_FALSE.test(normalized);
    default:
      return false;
  }
}

/** Every opt-out in pg_db_role_setting, ordered by role, database and setting. */
export async function readDurabilityOptOuts(sql: SqlClient): Promise<DurabilityOptOut[]> {
  const rows = await sql<{ role: string | null; database: string | null; entry: string }[]>`
    SELECT r.rolname::text AS role, d.datname::text AS database, entry
    FROM pg_db_role_setting s
      LEFT JOIN pg_roles r ON r.oid = s.setrole
      LEFT JOIN pg_database d ON d.oid = s.setdatabase,
      unnest(s.setconfig) AS entry
    WHERE entry ILIKE 'synchronous_commit=%' OR entry ILIKE 'default_transaction_read_only=%'
    ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, 3
    LIMIT ${MAX_SETTINGS_READ}`;
  const optOuts: DurabilityOptOut[] = [];
  for (const row of rows) {
    const equals = row.entry.indexOf("=");
    const setting = row.entry.slice(0, equals).toLowerCase();
    const value = row.entry.slice(equals + 1);
    if (isDurabilityOptOut(setting, value)) {
      optOuts.push({ role: row.role, database: row.database, setting, value });
    }
  }
  return optOuts;
}

/**
 * Makes the server's own synchronous_commit `on`: when the setting in effect from the
 * configuration files (postgresql.conf, hactl.conf, postgresql.auto.conf) opts out, it is set
 * by ALTER SYSTEM and the configuration reloaded. Returns the value it replaced, or null when
 * nothing needed changing.
 */
export async function ensureServerSynchronousCommit(sql: SqlClient): Promise<string | null> {
  const rows = await sql<{ setting: string }[]>`
    SELECT setting FROM pg_file_settings
    WHERE name = 'synchronous_commit' AND applied AND error IS NULL`;
  const current = rows.at(-1)?.setting ?? "on";
  if (!isDurabilityOptOut("synchronous_commit", current)) return null;
  await sql.unsafe("ALTER SYSTEM SET synchronous_commit = 'on'");
  await sql`SELECT pg_reload_conf()`;
  return current;
}

/** A short text of one opt-out, for logs. */
export function describeOptOut(optOut: DurabilityOptOut): string {
  const scope = [
    optOut.role === null ? "every role" : `role ${optOut.role}`,
    optOut.database === null ? "every database" : `database ${optOut.database}`,
  ].join(" in ");
  return `${optOut.setting} = ${optOut.value} for ${scope}`;
}
