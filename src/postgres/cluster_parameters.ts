/**
 * The cluster-wide Postgres parameters on disk: `<data dir>.hactl/parameters.conf`, outside
 * PGDATA (never copied by a clone or a rewind), included at the top of hactl.conf. Included
 * first, the settings hactl needs (hactl.conf's own lines, then ALTER SYSTEM in
 * postgresql.auto.conf) still win over any cluster parameter.
 *
 * @module
 */
import { type PostgresSettings, stateDirectoryOf } from "./settings.ts";
import { ownerFor, writeFileDurably } from "./files.ts";
import { withLocalSql } from "./sql_client.ts";

/** Path of the cluster parameters file of this data directory. */
export function clusterParametersFileOf(settings: Pick<PostgresSettings, "dataDirectory">): string {
  return `${stateDirectoryOf(settings)}/parameters.conf`;
}

/** Quotes a value for a postgresql.conf line (any type may be written quoted). */
function quoted(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/** The text of parameters.conf for these name/value pairs. */
export function renderClusterParameters(
  parameters: ReadonlyArray<readonly [string, string]>,
): string {
  return [
    "# Written by hactl from the cluster configuration (hactl edit-config). Do not edit.",
    ...parameters.map(([name, value]) => `${name} = ${quoted(value)}`),
    "",
  ].join("\n");
}

/** Writes parameters.conf durably, readable by the Postgres OS user. */
export async function writeClusterParameters(
  settings: PostgresSettings,
  text: string,
): Promise<void> {
  await writeFileDurably(clusterParametersFileOf(settings), text, {
    mode: 0o600,
    owner: await ownerFor(settings.runAsUser),
  });
}

/** Asks the running server to re-read its files (pg_reload_conf). */
export async function reloadConfiguration(settings: PostgresSettings): Promise<void> {
  await withLocalSql(settings, async (sql) => {
    await sql`SELECT pg_reload_conf()`;
  });
}

/**
 * The parameters whose new value waits for a restart (pg_settings.pending_restart), read on
 * a new connection so that it sees the configuration after the last reload.
 */
export async function readPendingRestart(settings: PostgresSettings): Promise<string[]> {
  return await withLocalSql(settings, async (sql) => {
    const rows = await sql<{ name: string }[]>`
      SELECT name FROM pg_settings WHERE pending_restart ORDER BY name`;
    return rows.map((row) => row.name);
  });
}
