/**
 * The agent's SQL connection to its local Postgres: the npm `postgres` driver over the unix
 * socket, as the superuser (peer authentication via the hactl ident map), short timeouts.
 *
 * @module
 */

import postgres from "postgres";
import type { PostgresSettings } from "./settings.ts";

/** A connection pool of size one to the local server. */
export type SqlClient = postgres.Sql;

/** Time limits of a local connection. */
export interface SqlClientOptions {
  /** Give up connecting after this many seconds. */
  readonly connectTimeoutSeconds?: number;
  /** Server-side statement_timeout in milliseconds (0: none). */
  readonly statementTimeoutMs?: number;
  /** application_name of the session (the fence spares sessions of the agent by pid). */
  readonly applicationName?: string;
}

const DEFAULT_CONNECT_TIMEOUT_SECONDS = 5;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
/** Seconds `end()` waits for running queries before closing the socket. */
const CLOSE_TIMEOUT_SECONDS = 1;

/** Opens a superuser connection to the local server over its unix socket (lazily connects). */
export function connectLocal(
  settings: PostgresSettings,
  options: SqlClientOptions = {},
): SqlClient {
  return postgres({
    host: settings.socketDirectory,
    port: settings.port,
    user: settings.superuser,
    database: "postgres",
    max: 1,
    fetch_types: false,
    prepare: false,
    idle_timeout: 30,
    connect_timeout: options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS,
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? "hactl",
      statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    },
  });
}

/** Runs `work` on a fresh local superuser connection and always closes it afterwards. */
export async function withLocalSql<T>(
  settings: PostgresSettings,
  work: (sql: SqlClient) => Promise<T>,
  options: SqlClientOptions = {},
): Promise<T> {
  const sql = connectLocal(settings, options);
  try {
    return await work(sql);
  } finally {
    await closeQuietly(sql);
  }
}

/** Closes a client, ignoring errors of an already broken connection. */
export async function closeQuietly(sql: SqlClient): Promise<void> {
  try {
    await sql.end({ timeout: CLOSE_TIMEOUT_SECONDS });
  } catch {
    // The connection is gone either way.
  }
}

/** Quotes an SQL identifier ("name"). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes an SQL string literal ('text'); standard_conforming_strings is on since 9.1. */
export function quoteLiteral(text: string): string {
  if (text.includes("\0")) throw new Error("SQL literal must not contain a NUL character");
  return `'${text.replaceAll("'", "''")}'`;
}
