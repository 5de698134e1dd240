/**
 * Creating the first primary's cluster: initdb with data checksums, hactl's configuration,
 * and the replication role (which also gets the grants pg_rewind needs from its source).
 *
 * @module
 */

import type { PostgresBinaries } from "./binaries.ts";
import { writeNodeConfiguration } from "./config_files.ts";
import { ensureDirectory, ownerFor, pathExists } from "./files.ts";
import { ensureStateDirectory } from "./postmaster.ts";
import { runChecked } from "./process_runner.ts";
import { scramSha256Verifier } from "./scram.ts";
import type { PostgresSettings } from "./settings.ts";
import { quoteIdentifier, quoteLiteral, type SqlClient } from "./sql_client.ts";

const DEFAULT_INITDB_TIMEOUT_MS = 120_000;

/**
 * Runs initdb into `settings.dataDirectory` (which must not exist or be empty) with
 * `--data-checksums` (pg_rewind needs checksums or wal_log_hints), peer authentication on the
 * unix socket and scram-sha-256 on the network, then writes hactl's configuration files.
 */
export async function initCluster(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  options: { readonly timeoutMs?: number } = {},
): Promise<void> {
  if (await pathExists(`${settings.dataDirectory}/PG_VERSION`)) {
    throw new Error(
      `refusing to initdb: ${settings.dataDirectory} already holds a cluster (PG_VERSION exists)`,
    );
  }
  await ensureDirectory(settings.dataDirectory, {
    mode: 0o700,
    owner: await ownerFor(settings.runAsUser),
  });
  await ensureStateDirectory(settings);
  await runChecked([
    binaries.path("initdb"),
    "-D",
    settings.dataDirectory,
    "--data-checksums",
    "--auth-local=peer",
    "--auth-host=scram-sha-256",
    `--username=${settings.superuser}`,
    "--encoding=UTF8",
    "--locale=C",
  ], { timeoutMs: options.timeoutMs ?? DEFAULT_INITDB_TIMEOUT_MS, runAsUser: settings.runAsUser });
  await writeNodeConfiguration(settings);
}

/** Functions pg_rewind calls on its source; granting them avoids a networked superuser. */
export const REWIND_FUNCTIONS = [
  "pg_catalog.pg_ls_dir(text, boolean, boolean)",
  "pg_catalog.pg_stat_file(text, boolean)",
  "pg_catalog.pg_read_binary_file(text)",
  "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
] as const;

/**
 * Creates (or updates) the replication role: LOGIN REPLICATION with the configured password,
 * plus EXECUTE on {@link REWIND_FUNCTIONS} so that pg_rewind can use it as `--source-server`
 * user. Run on the primary; standbys receive the role by replication. The password is sent
 * only as a SCRAM verifier.
 */
export async function createReplicationRole(
  sql: SqlClient,
  settings: PostgresSettings,
): Promise<void> {
  const role = quoteIdentifier(settings.replicationUser);
  const password = quoteLiteral(passwordForSql(settings.replicationPassword));
  const existing = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${settings.replicationUser}`;
  const verb = existing.length === 0 ? "CREATE" : "ALTER";
  await sql.unsafe(`${verb} ROLE ${role} WITH LOGIN REPLICATION PASSWORD ${password}`);
  for (const signature of REWIND_FUNCTIONS) {
    await sql.unsafe(`GRANT EXECUTE ON FUNCTION ${signature} TO ${role}`);
  }
}

/** A SCRAM verifier when one can be computed locally, else the clear text (server hashes it). */
function passwordForSql(password: string): string {
  try {
    return scramSha256Verifier(password);
  } catch {
    return password;
  }
}
