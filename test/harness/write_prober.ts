/**
 * The single-writer prober: every few tens of milliseconds it tries a tiny write on EVERY node
 * and records, per node, the interval and the timeline of each acknowledged write. Its records
 * feed {@link checkSingleWriter} (S1: one writer at a time; S2: no write on a deposed primary).
 *
 * One attempt per node is in flight at a time (the concurrency bound is the number of nodes), and
 * an attempt that outlives `attemptTimeoutMs` is abandoned with its connection, recorded as a
 * timeout (its write may or may not have happened) and never counted as a success.
 *
 * @module
 */

import type { ProbeRecord } from "./checkers.ts";
import {
  closeNow,
  DeadlineExceeded,
  describeError,
  isDefiniteFailure,
  openClient,
  type PostgresClient,
  type PostgresTarget,
  sleep,
  withDeadline,
} from "./postgres_client.ts";

export type { ProbeRecord } from "./checkers.ts";

/** Name of the table the prober writes to. */
export const PROBE_TABLE = "hactl_probe";
/** A cluster under test has a handful of nodes; more is a mistake in the scenario. */
export const MAX_PROBE_TARGETS = 16;

/** Options of {@link WriteProber}. */
export interface WriteProberOptions {
  /** Pause between the starts of two attempts on one node; default 25 ms. */
  readonly intervalMs?: number;
  /** Deadline of one attempt, connection included; default 1000 ms. */
  readonly attemptTimeoutMs?: number;
  /** Upper bound on records kept (about 40 per node per second); default 500 000. */
  readonly maxRecords?: number;
}

// The insert and the timeline read are one statement, so the timeline is the one the row was
// written on: pg_walfile_name() names the segment after the WAL insertion timeline.
const PROBE_STATEMENT = `WITH inserted AS (
  INSERT INTO ${PROBE_TABLE} (node, seq, at) VALUES ($1, $2, now()) RETURNING 1)
SELECT pg_walfile_name(pg_current_wal_lsn()) AS wal_file FROM inserted`;

/** Probes every target for writability until stopped; see the module documentation. */
export class WriteProber {
  readonly #targets: readonly PostgresTarget[];
  readonly #intervalMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #maxRecords: number;
  readonly #records: ProbeRecord[] = [];
  readonly #clients = new Map<string, PostgresClient>();
  readonly #stop = new AbortController();
  #loops: Promise<void>[] = [];

  /** Targets must have distinct names. */
  constructor(targets: readonly PostgresTarget[], options: WriteProberOptions = {}) {
    checkTargets(targets);
    this.#targets = targets;
    this.#intervalMs = options.intervalMs ?? 25;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 1_000;
    this.#maxRecords = options.maxRecords ?? 500_000;
  }

  /**
   * Creates the probe table on every node that accepts it (at least one must: the primary),
   * then starts one probe loop per node.
   */
  async start(): Promise<void> {
    if (this.#loops.length > 0) throw new Error("WriteProber.start: already started");
    const errors: string[] = [];
    for (const target of this.#targets) {
      const client = openClient(target.connection, this.#attemptTimeoutMs);
      try {
        const create = client.unsafe(
          `CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (node text, seq bigint, at timestamptz)`,
        );
        await withDeadline(create, this.#attemptTimeoutMs * 5, `create ${PROBE_TABLE}`);
      } catch (error) {
        errors.push(`${target.name}: ${describeError(error)}`);
      } finally {
        await closeNow(client);
      }
    }
    if (errors.length === this.#targets.length) {
      throw new Error(
        `WriteProber.start: no node accepted CREATE TABLE ${PROBE_TABLE} (${errors.join("; ")}); ` +
          "start the prober once the cluster has a writable primary",
      );
    }
    this.#loops = this.#targets.map((target) => this.#probeLoop(target));
  }

  /** Stops probing, waits for the attempts in flight, closes connections; returns the records. */
  async stop(): Promise<readonly ProbeRecord[]> {
    this.#stop.abort();
    await Promise.all(this.#loops);
    await Promise.all([...this.#clients.values()].map(closeNow));
    this.#clients.clear();
    return this.#records;
  }

  /** The records so far, in order of completion. */
  get records(): readonly ProbeRecord[] {
    return this.#records;
  }

  async #probeLoop(target: PostgresTarget): Promise<void> {
    for (let seq = 1; !this.#stop.signal.aborted; seq++) {
      if (this.#records.length >= this.#maxRecords) {
        throw new Error(
          `WriteProber: more than ${this.#maxRecords} records; raise maxRecords or probe less`,
        );
      }
      const startMs = performance.now();
      this.#records.push(await this.#attempt(target, seq, startMs));
      await sleep(this.#intervalMs - (performance.now() - startMs), this.#stop.signal);
    }
  }

  async #attempt(target: PostgresTarget, seq: number, startMs: number): Promise<ProbeRecord> {
    let client = this.#clients.get(target.name);
    if (client === undefined) {
      client = openClient(target.connection, this.#attemptTimeoutMs);
      this.#clients.set(target.name, client);
    }
    const base = { node: target.name, seq, startMs };
    try {
      const rows = await withDeadline(
        client.unsafe(PROBE_STATEMENT, [target.name, seq]),
        this.#attemptTimeoutMs,
        `probe write on ${target.name}`,
      );
      const walFile = String(rows[0]?.wal_file ?? "");
      const timeline = Number.parseInt(walFile.slice(0, 8), 16);
      const known = Number.isSafeInteger(timeline) && timeline > 0;
      const endMs = performance.now();
      return { ...base, endMs, outcome: "ok", timeline: known ? timeline : null, error: null };
    } catch (error) {
      const endMs = performance.now();
      // A fresh connection for the next attempt: this one may be stuck (frozen or partitioned
      // server) or broken; a server ERROR leaves it usable, so keep it then.
      if (!isDefiniteFailure(error)) {
        this.#clients.delete(target.name);
        void closeNow(client);
      }
      const outcome = error instanceof DeadlineExceeded ? "timeout" as const : "error" as const;
      return { ...base, endMs, outcome, timeline: null, error: describeError(error) };
    }
  }
}

function checkTargets(targets: readonly PostgresTarget[]): void {
  if (targets.length === 0 || targets.length > MAX_PROBE_TARGETS) {
    throw new Error(
      `write prober: expected 1..${MAX_PROBE_TARGETS} targets, got ${targets.length}`,
    );
  }
  const names = targets.map((t) => t.name);
  const duplicates = names.filter((name, index) => names.indexOf(name) !== index);
  if (duplicates.length > 0) {
    throw new Error(`write prober: target names must be distinct; repeated: ${duplicates}`);
  }
}
