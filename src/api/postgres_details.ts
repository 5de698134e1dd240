/**
 * What the REST API and the metrics show of the local Postgres beyond the core's observation:
 * server version, start time, WAL receiver state, replay progress and the standbys connected
 * to a primary. Read on demand with short timeouts, never on HAProxy's `OPTIONS` checks.
 *
 * @module
 */
import { parseLsn } from "../postgres/lsn.ts";
import type { PostgresSettings } from "../postgres/settings.ts";
import { withLocalSql } from "../postgres/sql_client.ts";

/** One row of pg_stat_replication, with Patroni's field names. */
export interface ReplicationConnection {
  readonly usename: string | null;
  readonly application_name: string;
  readonly client_addr: string | null;
  readonly state: string;
  readonly sync_state: string;
  readonly sync_priority: number;
  /** Seconds the standby's replay trails this primary (pg_stat_replication.replay_lag), null when idle. */
  readonly replay_lag_seconds: number | null;
}

/** The local Postgres, read on demand. */
export interface PostgresDetails {
  /** server_version_num, e.g. 160004. */
  readonly serverVersion: number;
  /** When the postmaster started, ISO 8601. */
  readonly postmasterStartIso: string;
  readonly inRecovery: boolean;
  /** Standby only: last WAL received / replayed, in bytes. */
  readonly receivedLsn: number | null;
  readonly replayedLsn: number | null;
  /** Standby only: commit time of the last replayed transaction, ISO 8601. */
  readonly replayedTimestampIso: string | null;
  /** Standby only: replay paused by pg_wal_replay_pause(). */
  readonly replayPaused: boolean;
  /** Standby only: pg_stat_wal_receiver.status ("streaming", ...), null without a receiver. */
  readonly walReceiverStatus: string | null;
  /**
   * Standby only: seconds since the last replayed commit while WAL is waiting to be replayed,
   * 0 when everything received is replayed (an idle primary does not make a standby "late").
   */
  readonly replayLagSeconds: number;
  /** Primary only: the standbys streaming from it. */
  readonly replication: readonly ReplicationConnection[];
}

interface DetailsRow {
  server_version: number;
  started_iso: string;
  in_recovery: boolean;
  receive_lsn: string | null;
  replay_lsn: string | null;
  replay_iso: string | null;
  replay_paused: boolean;
  receiver_status: string | null;
  replay_lag_seconds: number | null;
}

/** Time limits: a health check must not hang on a busy server. */
const DETAILS_TIMEOUTS = { connectTimeoutSeconds: 1, statementTimeoutMs: 1_000 };

/** Reads the details; throws when the server does not answer. */
export async function readPostgresDetails(settings: PostgresSettings): Promise<PostgresDetails> {
  return await withLocalSql(settings, async (sql) => {
    const rows = await sql<DetailsRow[]>`
      SELECT current_setting('server_version_num')::int AS server_version,
        to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
          AS started_iso,
        pg_is_in_recovery() AS in_recovery,
        pg_last_wal_receive_lsn()::text AS receive_lsn,
        pg_last_wal_replay_lsn()::text AS replay_lsn,
        to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS replay_iso,
        CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END
          AS replay_paused,
        (SELECT status FROM pg_stat_wal_receiver) AS receiver_status,
        CASE WHEN NOT pg_is_in_recovery()
            OR pg_last_wal_receive_lsn() IS NULL
            OR pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0::float8
          ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END
          AS replay_lag_seconds`;
    const row = rows[0];
    if (row === undefined) throw new Error("reading Postgres details: the query returned no row");
    const replication = row.in_recovery ? [] : await sql<ReplicationConnection[]>`
      SELECT usename::text, application_name, host(client_addr) AS client_addr, state,
        sync_state, sync_priority, extract(epoch FROM replay_lag)::float8 AS replay_lag_seconds
      FROM pg_stat_replication ORDER BY application_name`;
    return {
      serverVersion: row.server_version,
      postmasterStartIso: row.started_iso,
      inRecovery: row.in_recovery,
      receivedLsn: row.receive_lsn === null ? null : parseLsn(row.receive_lsn),
      replayedLsn: row.replay_lsn === null ? null : parseLsn(row.replay_lsn),
      replayedTimestampIso: row.replay_iso,
      replayPaused: row.replay_paused,
      walReceiverStatus: row.receiver_status,
      replayLagSeconds: Math.max(0, row.replay_lag_seconds ?? 0),
      replication: [...replication],
    };
  }, DETAILS_TIMEOUTS);
}

/**
 * Patroni's `replication_state` of a standby: "streaming" while the WAL receiver streams,
 * else "in archive recovery" (replaying local or archived WAL, reconnecting); null on a primary.
 */
export function replicationState(details: PostgresDetails | null): string | null {
  if (details === null || !details.inRecovery) return null;
  return details.walReceiverStatus === "streaming" ? "streaming" : "in archive recovery";
}
