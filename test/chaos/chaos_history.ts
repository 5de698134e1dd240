/**
 * What a chaos client records about each write: which client, which id, when (client wall
 * clock, epoch milliseconds, so that records of several processes on this machine compare),
 * the outcome, and, for an acknowledged write, what the server said about itself in the same
 * statement: its clock (`clock_timestamp()`), its address and the timeline it wrote on.
 *
 * Outcomes: "acknowledged" (COMMIT confirmed: the row must survive), "failed" (an ERROR: the
 * row must not exist), "unknown" (the connection broke or the deadline passed after the
 * statement was sent: the row may or may not exist).
 *
 * @module
 */

/** The outcome of one write. */
export type ChaosOutcome = "acknowledged" | "failed" | "unknown";

/** One write attempt of a chaos client. */
export interface ChaosWrite {
  /** Name of the client ("socket", "multihost", "gateway"). */
  readonly client: string;
  /** The row's primary key, unique over every client of a run. */
  readonly id: number;
  /** Host the client's session was opened to (a node, or a node's gateway). */
  readonly via: string;
  /** Node that executed the write (from the server's address); null when not known. */
  readonly node: string | null;
  /** Client wall clock when the statement was sent and when its outcome was known. */
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: ChaosOutcome;
  /** Server's clock_timestamp() during the statement; null when unknown or not trusted. */
  readonly serverMs: number | null;
  /** Timeline the row was written on; null when unknown. */
  readonly timeline: number | null;
  /** Error text of a failed or unknown write; null otherwise. */
  readonly error: string | null;
}

/** Client wall clock in epoch milliseconds with sub-millisecond resolution. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Marker of a record line in a client's output (other lines are logs). */
export const RECORD_PREFIX = "chaos-write ";

/** The output line of one record. */
export function formatRecordLine(write: ChaosWrite): string {
  return RECORD_PREFIX + JSON.stringify(write);
}

/** The records in a client's output; lines that are not records are skipped. */
export function parseRecordLines(text: string): ChaosWrite[] {
  const writes: ChaosWrite[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(RECORD_PREFIX)) continue;
    try {
      writes.push(JSON.parse(line.slice(RECORD_PREFIX.length)) as ChaosWrite);
    } catch {
      // A line cut by a kill mid-write: its write is lost to the history, not to the check.
    }
  }
  return writes;
}
