/**
 * A client that keeps inserting sequential ids into the current primary and records every
 * attempt in a {@link WriteHistory}, for {@link checkAcknowledgedWrites}.
 *
 * It follows the primary like a libpq multi-host connection string with
 * `target_session_attrs=read-write`: it tries the targets in order and writes to the first one
 * where `pg_is_in_recovery()` is false and `transaction_read_only` is off (a fenced primary in
 * read-only mode is not a primary to a client). After an error or a timeout it looks again.
 *
 * @module
 */

import {
  closeNow,
  describeError,
  isDefiniteFailure,
  openClient,
  type PostgresClient,
  type PostgresTarget,
  sleep,
  sqlState,
  withDeadline,
} from "./postgres_client.ts";
import { WriteHistory, type WriteRecord } from "./write_history.ts";

/** Table the writer inserts into. */
export const WRITE_TABLE = "hactl_writes";
/** SQLSTATE read_only_sql_transaction: the node is (now) a standby or fenced. */
const READ_ONLY_SQL_STATE = "25006";

/** Options of {@link ContinuousWriter}. */
export interface ContinuousWriterOptions {
  /** Pause between the starts of two writes; default 10 ms. */
  readonly intervalMs?: number;
  /** Deadline of one write; after it the outcome is unknown; default 2000 ms. */
  readonly writeTimeoutMs?: number;
  /** Deadline of asking one target whether it is the primary; default 1000 ms. */
  readonly discoveryTimeoutMs?: number;
  /** Deadline for finding a primary in {@link ContinuousWriter.start}; default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** First id written; default 1. */
  readonly firstId?: number;
  /** The writer stops by itself after this many attempts; default 1 000 000. */
  readonly maxWrites?: number;
}

/** Writes sequential ids through whichever target is the primary; see the module docs. */
export class ContinuousWriter {
  /** Every attempt, with its node, times and outcome. */
  readonly history: WriteHistory;
  readonly #targets: readonly PostgresTarget[];
  readonly #options: Required<ContinuousWriterOptions>;
  readonly #clients = new Map<string, PostgresClient>();
  readonly #stop = new AbortController();
  #primary: PostgresTarget | null = null;
  #loop: Promise<void> | null = null;

  /** Targets in the order a libpq host list would try them; names must be distinct. */
  constructor(targets: readonly PostgresTarget[], options: ContinuousWriterOptions = {}) {
    if (targets.length === 0) throw new Error("ContinuousWriter: give at least one target");
    this.#targets = targets;
    this.#options = {
      intervalMs: options.intervalMs ?? 10,
      writeTimeoutMs: options.writeTimeoutMs ?? 2_000,
      discoveryTimeoutMs: options.discoveryTimeoutMs ?? 1_000,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      firstId: options.firstId ?? 1,
      maxWrites: options.maxWrites ?? 1_000_000,
    };
    this.history = new WriteHistory(this.#options.maxWrites);
  }

  /** The target currently written to, or null while looking for one. */
  get currentPrimary(): string | null {
    return this.#primary?.name ?? null;
  }

  /** Finds the primary, creates the table there and starts writing in the background. */
  async start(): Promise<void> {
    if (this.#loop !== null) throw new Error("ContinuousWriter.start: already started");
    const deadline = performance.now() + this.#options.startTimeoutMs;
    while (this.#primary === null && performance.now() < deadline) {
      this.#primary = await this.#discoverPrimary();
      if (this.#primary === null) await sleep(100, this.#stop.signal);
    }
    if (this.#primary === null) {
      throw new Error(
        `ContinuousWriter.start: no writable primary among ${this.#targets.map((t) => t.name)} ` +
          `within ${this.#options.startTimeoutMs} ms; is the cluster up?`,
      );
    }
    const create = this.#client(this.#primary).unsafe(
      `CREATE TABLE IF NOT EXISTS ${WRITE_TABLE} (id bigint PRIMARY KEY, at timestamptz)`,
    );
    await withDeadline(create, this.#options.writeTimeoutMs * 5, `create ${WRITE_TABLE}`);
    this.#loop = this.#writeLoop();
  }

  /** Stops writing, waits for the write in flight, closes connections; returns the records. */
  async stop(): Promise<readonly WriteRecord[]> {
    this.#stop.abort();
    await this.#loop;
    await Promise.all([...this.#clients.values()].map(closeNow));
    this.#clients.clear();
    return this.history.records;
  }

  async #writeLoop(): Promise<void> {
    const { firstId, maxWrites, intervalMs } = this.#options;
    for (let id = firstId; id < firstId + maxWrites && !this.#stop.signal.aborted; id++) {
      const startMs = performance.now();
      this.#primary ??= await this.#discoverPrimary();
      this.history.begin(id, this.#primary?.name ?? null);
      if (this.#primary === null) {
        this.history.finish(id, "failed", "no writable primary found");
      } else {
        await this.#writeOne(id, this.#primary);
      }
      await sleep(intervalMs - (performance.now() - startMs), this.#stop.signal);
    }
  }

  async #writeOne(id: number, target: PostgresTarget): Promise<void> {
    const client = this.#client(target);
    try {
      const insert = client.unsafe(`INSERT INTO ${WRITE_TABLE} (id, at) VALUES ($1, now())`, [id]);
      await withDeadline(insert, this.#options.writeTimeoutMs, `write ${id} on ${target.name}`);
      this.history.finish(id, "acknowledged");
    } catch (error) {
      const definite = isDefiniteFailure(error);
      this.history.finish(id, definite ? "failed" : "unknown", describeError(error));
      if (!definite || sqlState(error) === READ_ONLY_SQL_STATE) this.#primary = null;
      // A timed-out or broken connection may be stuck; a server ERROR leaves it usable.
      if (!definite) this.#dropClient(target);
    }
  }

  /** Asks each target in order whether it is a writable primary; null when none is. */
  async #discoverPrimary(): Promise<PostgresTarget | null> {
    for (const target of this.#targets) {
      if (this.#stop.signal.aborted) return null;
      try {
        const rows = await withDeadline(
          this.#client(target).unsafe(
            "SELECT pg_is_in_recovery() AS in_recovery, " +
              "current_setting('transaction_read_only') AS read_only",
          ),
          this.#options.discoveryTimeoutMs,
          `primary check of ${target.name}`,
        );
        if (rows[0]?.in_recovery === false && rows[0]?.read_only === "off") return target;
      } catch {
        this.#dropClient(target); // unreachable now; the next look opens a fresh connection
      }
    }
    return null;
  }

  #client(target: PostgresTarget): PostgresClient {
    let client = this.#clients.get(target.name);
    if (client === undefined) {
      client = openClient(target.connection, this.#options.discoveryTimeoutMs);
      this.#clients.set(target.name, client);
    }
    return client;
  }

  #dropClient(target: PostgresTarget): void {
    const client = this.#clients.get(target.name);
    this.#clients.delete(target.name);
    if (client !== undefined) void closeNow(client);
  }
}

/** Reads every id in the write table of one node (for {@link checkAcknowledgedWrites}). */
export async function readWrittenIds(
  target: PostgresTarget,
  timeoutMs = 10_000,
): Promise<number[]> {
  const client = openClient(target.connection, timeoutMs);
  try {
    const rows = await withDeadline(
      client.unsafe(`SELECT id FROM ${WRITE_TABLE} ORDER BY id`),
      timeoutMs,
      `read ${WRITE_TABLE} on ${target.name}`,
    );
    return rows.map((row) => Number(row.id));
  } finally {
    await closeNow(client);
  }
}
