/**
 * Reading a rejoin source's WAL position and timeline history over an ordinary session of the
 * replication role (the role pg_rewind uses; it may run pg_read_binary_file, see
 * cluster_setup.ts REWIND_FUNCTIONS), so that the node can compare histories before a rewind.
 *
 * @module
 */

import postgres from "postgres";
import type { WalPosition } from "../core/types.ts";
import type { ReplicationSource } from "./roles.ts";
import type { PostgresSettings } from "./settings.ts";
import { parseLsn } from "./lsn.ts";
import { postgresClientTls } from "./postgres_tls.ts";
import { historyFileName, parseTimelineHistory } from "./timeline_history.ts";

const CONNECT_TIMEOUT_SECONDS = 5;
const STATEMENT_TIMEOUT_MS = 10_000;

interface SourceRow {
  in_recovery: boolean;
  walfile: string | null;
  flush_lsn: string | null;
}

/**
 * The flushed WAL position of the primary at `source`, with its timeline history. Throws when
 * the source cannot be reached, is not a primary, or its history file is damaged.
 */
export async function readSourcePosition(
  settings: PostgresSettings,
  source: ReplicationSource,
): Promise<WalPosition> {
  const sql = postgres({
    host: source.host,
    port: source.port,
    user: settings.replicationUser,
    password: settings.replicationPassword,
    database: "postgres",
    max: 1,
    ssl: await postgresClientTls(settings),
    fetch_types: false,
    prepare: false,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    onnotice: () => {},
    connection: {
      application_name: `${settings.applicationName}-rejoin`,
      statement_timeout: STATEMENT_TIMEOUT_MS,
    },
  });
  const where = `${source.host}:${source.port}`;
  try {
    const rows = await sql<SourceRow[]>`
      SELECT pg_is_in_recovery() AS in_recovery,
        CASE WHEN NOT pg_is_in_recovery()
          THEN pg_walfile_name(pg_current_wal_flush_lsn()) END AS walfile,
        CASE WHEN NOT pg_is_in_recovery() THEN pg_current_wal_flush_lsn()::text END AS flush_lsn`;
    const row = rows[0];
    if (row === undefined || row.in_recovery || row.walfile === null || row.flush_lsn === null) {
      throw new Error(`the rejoin source ${where} is not a primary; retry when it is`);
    }
    const timeline = parseInt(row.walfile.slice(0, 8), 16);
    const lsn = parseLsn(row.flush_lsn);
    if (timeline === 1) return { timeline, lsn, history: [] };
    const file = `pg_wal/${historyFileName(timeline)}`;
    const text = await sql<{ text: string }[]>`
      SELECT convert_from(pg_read_binary_file(${file}), 'UTF8') AS text`;
    return {
      timeline,
      lsn,
      history: parseTimelineHistory(text[0]?.text ?? "", timeline, `${file} on ${where}`),
    };
  } finally {
    await sql.end({ timeout: 1 });
  }
}
