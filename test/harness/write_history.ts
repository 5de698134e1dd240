/**
 * A record of client writes for the fault scenarios: which id was sent to which node, when it
 * started and ended (monotonic `performance.now()` milliseconds) and what the client learned.
 *
 * Outcomes:
 * - `acknowledged`: the server confirmed the commit; the row must survive every failover.
 * - `failed`: the server definitely did not commit (an ERROR before commit, or no connection
 *   was ever made); the row must not appear.
 * - `unknown`: the connection broke or the attempt timed out after the statement was sent; the
 *   row may or may not appear.
 * - `pending`: not finished yet; checkers treat it as `unknown`.
 *
 * @module
 */

/** What a client learned about one write. */
export type WriteOutcome = "acknowledged" | "failed" | "unknown";

/** One write attempt. */
export interface WriteRecord {
  /** Unique id of the write (the row's primary key). */
  readonly id: number;
  /** Node the write was sent to; null when no node could be chosen (no primary found). */
  readonly node: string | null;
  /** performance.now() when the attempt started, in milliseconds. */
  readonly startMs: number;
  /** performance.now() when the outcome was known; null while pending. */
  readonly endMs: number | null;
  /** The outcome, or "pending" while in flight. */
  readonly outcome: WriteOutcome | "pending";
  /** The error text of a failed or unknown write; null otherwise. */
  readonly error: string | null;
}

/** Counts of outcomes, for logs and assertion messages. */
export interface WriteSummary {
  readonly acknowledged: number;
  readonly failed: number;
  readonly unknown: number;
  readonly pending: number;
}

/** A scenario writes a few thousand rows; a million means a runaway loop. */
export const DEFAULT_MAX_WRITE_RECORDS = 1_000_000;

/** Records write attempts; ids must be unique and every outcome is set once. */
export class WriteHistory {
  readonly #records: WriteRecord[] = [];
  readonly #positionById = new Map<number, number>();
  readonly #maxRecords: number;
  readonly #now: () => number;

  /** `now` returns monotonic milliseconds; tests may pass a fake clock. */
  constructor(
    maxRecords: number = DEFAULT_MAX_WRITE_RECORDS,
    now: () => number = () => performance.now(),
  ) {
    this.#maxRecords = maxRecords;
    this.#now = now;
  }

  /** Records that write `id` is being sent to `node` (null: no node was found). */
  begin(id: number, node: string | null): void {
    if (!Number.isSafeInteger(id)) {
      throw new Error(`WriteHistory.begin: id must be a safe integer, got ${id}`);
    }
    if (this.#positionById.has(id)) {
      throw new Error(`WriteHistory.begin: id ${id} was already used; ids must be unique`);
    }
    if (this.#records.length >= this.#maxRecords) {
      throw new Error(
        `WriteHistory.begin: more than ${this.#maxRecords} writes recorded; raise maxRecords ` +
          "or stop the writer sooner",
      );
    }
    this.#positionById.set(id, this.#records.length);
    this.#records.push({
      id,
      node,
      startMs: this.#now(),
      endMs: null,
      outcome: "pending",
      error: null,
    });
  }

  /** Records the outcome of write `id`; each write is finished exactly once. */
  finish(id: number, outcome: WriteOutcome, error: string | null = null): void {
    const position = this.#positionById.get(id);
    const record = position === undefined ? undefined : this.#records[position];
    if (position === undefined || record === undefined) {
      throw new Error(`WriteHistory.finish: write ${id} was never begun; call begin first`);
    }
    if (record.outcome !== "pending") {
      throw new Error(
        `WriteHistory.finish: write ${id} already finished as ${record.outcome}; ` +
          `cannot set ${outcome}`,
      );
    }
    this.#records[position] = { ...record, endMs: this.#now(), outcome, error };
  }

  /** Every write so far, in the order begun. */
  get records(): readonly WriteRecord[] {
    return this.#records;
  }

  /** Ids of the acknowledged writes. */
  acknowledgedIds(): number[] {
    return this.#records.filter((r) => r.outcome === "acknowledged").map((r) => r.id);
  }

  /** Counts of each outcome. */
  summary(): WriteSummary {
    const count = (outcome: WriteRecord["outcome"]) =>
      this.#records.filter((r) => r.outcome === outcome).length;
    return {
      acknowledged: count("acknowledged"),
      failed: count("failed"),
      unknown: count("unknown"),
      pending: count("pending"),
    };
  }
}
