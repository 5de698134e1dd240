/**
 * A chaos client: writes unique ids, one at a time, through a session opened the way libpq
 * opens a multi-host connection string, and records every attempt as a {@link ChaosWrite}.
 *
 * Session opening follows libpq: the hosts are tried in order; a host that cannot be reached is
 * skipped; with `readWrite` (target_session_attrs=read-write) a host whose session is read-only
 * or in recovery is skipped too; an authentication failure ends the attempt without trying the
 * later hosts (libpq does not go on after a server rejected the credentials). No id is spent
 * while no session can be opened.
 *
 * Each write is one statement that also returns the server's clock, address and timeline, so
 * that the acknowledgement carries what {@link findWriterOverlaps} needs.
 *
 * @module
 */

import {
  closeNow,
  type ConnectionOptions,
  describeError,
  isDefiniteFailure,
  openClient,
  type PostgresClient,
  sleep,
  sqlState,
  withDeadline,
} from "../harness/postgres_client.ts";
import { type ChaosWrite, wallClockMs } from "./chaos_history.ts";

/** Table every chaos client writes to. */
export const CHAOS_TABLE = "chaos_writes";

/** A host of the connection string. */
export interface ChaosHost {
  /** Name recorded as `via` (and as the node for Unix-socket sessions). */
  readonly name: string;
  readonly connection: ConnectionOptions;
}

/** Options of {@link ChaosWriter}. */
export interface ChaosWriterOptions {
  /** Client name in the records. */
  readonly client: string;
  readonly hosts: readonly ChaosHost[];
  /** target_session_attrs=read-write. */
  readonly readWrite: boolean;
  /** First id; ids go up by one. */
  readonly firstId: number;
  /** Pause between the starts of two writes. */
  readonly intervalMs: number;
  /** Deadline of one write; then its outcome is unknown. */
  readonly writeTimeoutMs: number;
  /** Deadline of opening and checking one host's session. */
  readonly connectTimeoutMs: number;
  /** Called with every record as soon as its outcome is known. */
  readonly onRecord: (write: ChaosWrite) => void;
}

/** SQLSTATEs of an authentication failure (invalid_authorization_specification, bad password). */
const AUTHENTICATION_FAILURES = new Set(["28000", "28P01"]);
/** Wait before trying the host list again when no session could be opened. */
const RECONNECT_PAUSE_MS = 100;

const WRITE_STATEMENT = `WITH inserted AS (
  INSERT INTO ${CHAOS_TABLE} (id, client) VALUES ($1, $2) RETURNING 1)
SELECT extract(epoch FROM clock_timestamp()) * 1000 AS server_ms,
       host(inet_server_addr()) AS server_address,
       pg_walfile_name(pg_current_wal_lsn()) AS wal_file
  FROM inserted`;

/** See the module documentation. */
export class ChaosWriter {
  readonly #options: ChaosWriterOptions;
  readonly #stop = new AbortController();
  #session: { client: PostgresClient; host: ChaosHost } | null = null;
  #loop: Promise<void> | null = null;
  /** Times no host would take a session (counted, not recorded as writes). */
  sessionFailures = 0;
  /** Times an authentication failure ended a session attempt. */
  authenticationStops = 0;

  constructor(options: ChaosWriterOptions) {
    if (options.hosts.length === 0) throw new Error("ChaosWriter: give at least one host");
    this.#options = options;
  }

  /** Starts writing in the background. */
  start(): void {
    if (this.#loop !== null) throw new Error("ChaosWriter.start: already started");
    this.#loop = this.#writeLoop();
  }

  /** Stops after the write in flight (its outcome is recorded) and closes the session. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    if (this.#session !== null) await closeNow(this.#session.client);
    this.#session = null;
  }

  async #writeLoop(): Promise<void> {
    let id = this.#options.firstId;
    while (!this.#stop.signal.aborted) {
      const startedMs = performance.now();
      this.#session ??= await this.#openSession();
      if (this.#session === null) {
        this.sessionFailures += 1;
        await sleep(RECONNECT_PAUSE_MS, this.#stop.signal);
        continue;
      }
      await this.#writeOne(id, this.#session);
      id += 1;
      await sleep(this.#options.intervalMs - (performance.now() - startedMs), this.#stop.signal);
    }
  }

  async #writeOne(id: number, session: { client: PostgresClient; host: ChaosHost }) {
    const { client, host } = session;
    const base = { client: this.#options.client, id, via: host.name, startMs: wallClockMs() };
    try {
      const rows = await withDeadline(
        client.unsafe(WRITE_STATEMENT, [id, this.#options.client]),
        this.#options.writeTimeoutMs,
        `write ${id} via ${host.name}`,
      );
      const row: Record<string, unknown> = rows[0] ?? {};
      const timeline = Number.parseInt(String(row.wal_file ?? "").slice(0, 8), 16);
      const serverMs = Number(row.server_ms);
      this.#options.onRecord({
        ...base,
        node: typeof row.server_address === "string" ? row.server_address : host.name,
        endMs: wallClockMs(),
        outcome: "acknowledged",
        serverMs: Number.isFinite(serverMs) ? serverMs : null,
        timeline: Number.isSafeInteger(timeline) && timeline > 0 ? timeline : null,
        error: null,
      });
    } catch (error) {
      const definite = isDefiniteFailure(error);
      this.#options.onRecord({
        ...base,
        node: null,
        endMs: wallClockMs(),
        outcome: definite ? "failed" : "unknown",
        serverMs: null,
        timeline: null,
        error: describeError(error),
      });
      // Any error sends the client back to the host list, as an application would reconnect.
      this.#session = null;
      void closeNow(client);
    }
  }

  /** Tries the hosts in order, libpq-style; null when none gives a suitable session. */
  async #openSession(): Promise<{ client: PostgresClient; host: ChaosHost } | null> {
    for (const host of this.#options.hosts) {
      if (this.#stop.signal.aborted) return null;
      const client = openClient(host.connection, this.#options.connectTimeoutMs);
      try {
        const rows = await withDeadline(
          client.unsafe(
            "SELECT pg_is_in_recovery() AS in_recovery, " +
              "current_setting('transaction_read_only') AS read_only",
          ),
          this.#options.connectTimeoutMs,
          `session check of ${host.name}`,
        );
        const writable = rows[0]?.in_recovery === false && rows[0]?.read_only === "off";
        if (writable || !this.#options.readWrite) return { client, host };
      } catch (error) {
        if (AUTHENTICATION_FAILURES.has(sqlState(error) ?? "")) {
          this.authenticationStops += 1;
          void closeNow(client);
          return null;
        }
      }
      void closeNow(client);
    }
    return null;
  }
}
