/**
 * Small pieces shared by the write prober and the continuous writer: one-connection clients of
 * the npm `postgres` driver, attempts with a deadline, and the classification of an error as a
 * definite failure or an unknown outcome.
 *
 * @module
 */

import postgres from "postgres";

/** Connection options of the npm `postgres` driver (host, port, user, database, path, ...). */
export type ConnectionOptions = postgres.Options<Record<string, postgres.PostgresType>>;

/** A client of the npm `postgres` driver. */
export type PostgresClient = postgres.Sql<Record<string, unknown>>;

/** A named node to write to. */
export interface PostgresTarget {
  /** Node name used in the records (e.g. "node1"). */
  readonly name: string;
  /** How to reach the node's Postgres. */
  readonly connection: ConnectionOptions;
}

/** Raised by {@link withDeadline} when the attempt outlives its deadline. */
export class DeadlineExceeded extends Error {
  /** @param what the attempt that timed out, for the message */
  constructor(what: string, timeoutMs: number) {
    super(`${what} did not finish within ${timeoutMs} ms`);
    this.name = "DeadlineExceeded";
  }
}

/**
 * Opens a single-connection client. Notices are dropped (they would flood the test log) and
 * type fetching is off (one round trip less per connection, and nothing here needs custom types).
 */
export function openClient(
  connection: ConnectionOptions,
  connectTimeoutMs: number,
): PostgresClient {
  return postgres({
    ...connection,
    max: 1,
    connect_timeout: Math.max(1, Math.ceil(connectTimeoutMs / 1000)),
    fetch_types: false,
    onnotice: () => {},
  });
}

/** Closes a client at once, abandoning queries in flight; never throws. */
export async function closeNow(client: PostgresClient): Promise<void> {
  await client.end({ timeout: 0 }).catch(() => {});
}

/**
 * Resolves like `attempt`, or rejects with {@link DeadlineExceeded} after `timeoutMs`. The
 * attempt keeps running: the caller closes its client so that it ends; its late rejection is
 * swallowed here so it cannot become an unhandled rejection.
 */
export async function withDeadline<T>(
  attempt: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  attempt.catch(() => {});
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(what, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when the server answered with an ERROR (not FATAL or PANIC): the statement's
 * transaction was rolled back, so an autocommit write definitely did not commit. A broken
 * connection, a FATAL (e.g. a terminated backend that may have committed while waiting for
 * synchronous replication) or a timeout leaves the outcome unknown.
 */
export function isDefiniteFailure(error: unknown): boolean {
  return error instanceof postgres.PostgresError && error.severity === "ERROR";
}

/** SQLSTATE of a server error, or null for other errors (e.g. "25006" for read-only). */
export function sqlState(error: unknown): string | null {
  return error instanceof postgres.PostgresError ? error.code : null;
}

/** One line describing an error for records and messages. */
export function describeError(error: unknown): string {
  if (error instanceof postgres.PostgresError) {
    return `${error.severity} ${error.code}: ${error.message}`;
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Resolves after `delayMs`, or at once when `signal` is aborted. */
export function sleep(delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || delayMs <= 0) return resolve();
    const timer = setTimeout(done, delayMs);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
