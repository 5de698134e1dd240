/**
 * Checkers of recorded histories against the safety contract:
 * - {@link checkAcknowledgedWrites} (D1): every acknowledged write is on the final primary and
 *   on every caught-up standby given; a definitely failed write is on none.
 * - {@link checkSingleWriter} (S1, S2): no two nodes accept writes at the same time, and no node
 *   accepts a write on an older timeline after another node wrote on a newer one.
 *
 * Both are pure functions of plain data, so they are tested with hand-written histories.
 *
 * @module
 */

import type { WriteRecord } from "./write_history.ts";

/** The ids found in the write table of one node at the end of a scenario. */
export interface NodeRows {
  /** Node name, as in the history. */
  readonly node: string;
  /** Ids present on that node. */
  readonly ids: Iterable<number>;
}

/** An acknowledged write absent from at least one checked node. */
export interface MissingWrite {
  readonly id: number;
  /** Node the write was acknowledged by. */
  readonly acknowledgedBy: string | null;
  /** Checked nodes without the row. */
  readonly missingOn: readonly string[];
  readonly startMs: number;
  readonly endMs: number | null;
}

/** A row present on a node although its write definitely failed or was never attempted. */
export interface PhantomWrite {
  readonly id: number;
  /** "failed" when the client was told it failed; "never-attempted" when no write had the id. */
  readonly reason: "failed" | "never-attempted";
  readonly presentOn: readonly string[];
}

/** The verdict of {@link checkAcknowledgedWrites}. */
export interface AcknowledgedWritesResult {
  /** True when nothing is missing and there is no phantom row. */
  readonly ok: boolean;
  readonly acknowledgedCount: number;
  /** Unknown-outcome writes found on the first node given (the primary) / not found there. */
  readonly unknownPresent: number;
  readonly unknownAbsent: number;
  /** Every acknowledged write missing somewhere, ordered by id. */
  readonly missing: readonly MissingWrite[];
  /** Every phantom row, ordered by id. */
  readonly phantom: readonly PhantomWrite[];
  /** One line for logs and assertion messages. */
  readonly summary: string;
}

/**
 * Checks D1. `finalRowsPerNode` lists the final primary first, then any standbys that have
 * caught up (the caller waits for replay before reading them). Unknown and pending writes may
 * be present or absent.
 */
export function checkAcknowledgedWrites(
  history: readonly WriteRecord[],
  finalRowsPerNode: readonly NodeRows[],
): AcknowledgedWritesResult {
  if (finalRowsPerNode.length === 0) {
    throw new Error("checkAcknowledgedWrites: no node rows given; pass at least the final primary");
  }
  const rowSets = finalRowsPerNode.map((rows) => ({ node: rows.node, ids: new Set(rows.ids) }));
  const missing: MissingWrite[] = [];
  let acknowledgedCount = 0;
  let unknownPresent = 0;
  let unknownAbsent = 0;
  const primaryIds = rowSets[0]?.ids ?? new Set<number>();
  for (const record of history) {
    if (record.outcome === "acknowledged") {
      acknowledgedCount += 1;
      const missingOn = rowSets.filter((rows) => !rows.ids.has(record.id)).map((r) => r.node);
      if (missingOn.length > 0) {
        const { id, startMs, endMs } = record;
        missing.push({ id, acknowledgedBy: record.node, missingOn, startMs, endMs });
      }
    } else if (record.outcome === "unknown" || record.outcome === "pending") {
      if (primaryIds.has(record.id)) unknownPresent += 1;
      else unknownAbsent += 1;
    }
  }
  missing.sort((a, b) => a.id - b.id);
  const phantom = findPhantomRows(history, rowSets);
  const ok = missing.length === 0 && phantom.length === 0;
  const summary = `${acknowledgedCount} acknowledged writes checked on ` +
    `${rowSets.map((r) => r.node).join(", ")}: ${missing.length} missing` +
    (missing.length > 0 ? ` (ids ${missing.slice(0, 20).map((m) => m.id).join(", ")})` : "") +
    `, ${phantom.length} phantom; unknown outcome: ${unknownPresent} present, ` +
    `${unknownAbsent} absent`;
  return { ok, acknowledgedCount, unknownPresent, unknownAbsent, missing, phantom, summary };
}

function findPhantomRows(
  history: readonly WriteRecord[],
  rowSets: readonly { node: string; ids: Set<number> }[],
): PhantomWrite[] {
  const outcomeById = new Map(history.map((record) => [record.id, record.outcome]));
  const presentOnById = new Map<number, string[]>();
  for (const rows of rowSets) {
    for (const id of rows.ids) {
      const outcome = outcomeById.get(id);
      if (outcome !== undefined && outcome !== "failed") continue;
      const nodes = presentOnById.get(id) ?? [];
      nodes.push(rows.node);
      presentOnById.set(id, nodes);
    }
  }
  return [...presentOnById.entries()]
    .map(([id, presentOn]): PhantomWrite => ({
      id,
      reason: outcomeById.has(id) ? "failed" : "never-attempted",
      presentOn,
    }))
    .sort((a, b) => a.id - b.id);
}

/** One probe write attempt on one node. */
export interface ProbeRecord {
  /** Node probed. */
  readonly node: string;
  /** Per-node sequence number of the attempt. */
  readonly seq: number;
  /** performance.now() at the start and the end of the attempt, in milliseconds. */
  readonly startMs: number;
  readonly endMs: number;
  /** "ok" when the write was acknowledged; "error" or "timeout" otherwise. */
  readonly outcome: "ok" | "error" | "timeout";
  /** Timeline the node wrote on (known for "ok" records); null when unknown. */
  readonly timeline: number | null;
  /** Error text of a failed attempt; null otherwise. */
  readonly error: string | null;
}

/** A breach of "at most one writer" found by {@link checkSingleWriter}. */
export type SingleWriterViolation =
  | {
    /** Two nodes acknowledged writes whose [start, end] intervals overlap. */
    readonly kind: "overlap";
    readonly first: ProbeRecord;
    readonly second: ProbeRecord;
    readonly overlapMs: number;
  }
  | {
    /** `stale` was written after `newer` had been acknowledged on a newer timeline. */
    readonly kind: "stale-timeline";
    readonly stale: ProbeRecord;
    readonly newer: ProbeRecord;
  };

/** The verdict of {@link checkSingleWriter}. */
export interface SingleWriterResult {
  readonly ok: boolean;
  /** Number of acknowledged probe writes examined. */
  readonly successfulWrites: number;
  /** Total violations found (only the first `maxReportedViolations` are listed). */
  readonly violationCount: number;
  readonly violations: readonly SingleWriterViolation[];
  /** One line per reported violation, for assertion messages. */
  readonly summary: string;
}

/** Options of {@link checkSingleWriter}. */
export interface SingleWriterOptions {
  /** Violations listed in the result (all are counted); default 100. */
  readonly maxReportedViolations?: number;
}

/**
 * Checks S1 and S2 on the successful probe writes: two writes acknowledged by different nodes
 * whose intervals overlap, or a write acknowledged by a node after (it started after the end
 * of) another node's write on a newer timeline, is a violation.
 *
 * Overlap is conservative: a write is known to have happened somewhere inside its interval, so
 * an acknowledgement delayed past the promotion of another node is reported too; the probers
 * keep intervals short (one attempt timeout at most) to make that rare.
 */
export function checkSingleWriter(
  probes: readonly ProbeRecord[],
  options: SingleWriterOptions = {},
): SingleWriterResult {
  const maxReported = options.maxReportedViolations ?? 100;
  const successes = probes.filter((p) => p.outcome === "ok");
  for (const probe of successes) {
    if (!(probe.endMs >= probe.startMs)) {
      throw new Error(
        `checkSingleWriter: probe ${probe.node}#${probe.seq} ends (${probe.endMs}) before it ` +
          `starts (${probe.startMs}); record times with performance.now()`,
      );
    }
  }
  const found: SingleWriterViolation[] = [];
  let violationCount = 0;
  const report = (violation: SingleWriterViolation) => {
    violationCount += 1;
    if (found.length < maxReported) found.push(violation);
  };
  findOverlaps(successes, report);
  findStaleTimelines(successes, report);
  const summary = violationCount === 0
    ? `${successes.length} successful probe writes, one writer at a time`
    : `${violationCount} single-writer violations in ${successes.length} successful writes:\n` +
      found.map(describeViolation).join("\n");
  return {
    ok: violationCount === 0,
    successfulWrites: successes.length,
    violationCount,
    violations: found,
    summary,
  };
}

/** Sweep by start time, keeping the writes still in progress. */
function findOverlaps(
  successes: readonly ProbeRecord[],
  report: (violation: SingleWriterViolation) => void,
): void {
  const byStart = [...successes].sort((a, b) => a.startMs - b.startMs);
  let active: ProbeRecord[] = [];
  for (const probe of byStart) {
    active = active.filter((other) => other.endMs > probe.startMs);
    for (const other of active) {
      if (other.node === probe.node) continue;
      const overlapMs = Math.min(other.endMs, probe.endMs) - probe.startMs;
      report({ kind: "overlap", first: other, second: probe, overlapMs });
    }
    active.push(probe);
  }
}

/** Sweep by start time, keeping per node the newest timeline among writes already ended. */
function findStaleTimelines(
  successes: readonly ProbeRecord[],
  report: (violation: SingleWriterViolation) => void,
): void {
  const withTimeline = successes.filter((p) => p.timeline !== null);
  const byStart = [...withTimeline].sort((a, b) => a.startMs - b.startMs);
  const byEnd = [...withTimeline].sort((a, b) => a.endMs - b.endMs);
  const newestEndedByNode = new Map<string, ProbeRecord>();
  let endedCount = 0;
  for (const probe of byStart) {
    for (; endedCount < byEnd.length; endedCount++) {
      const ended = byEnd[endedCount];
      if (ended === undefined || ended.endMs > probe.startMs) break;
      const newest = newestEndedByNode.get(ended.node);
      if (newest === undefined || (ended.timeline ?? 0) > (newest.timeline ?? 0)) {
        newestEndedByNode.set(ended.node, ended);
      }
    }
    for (const [node, newer] of newestEndedByNode) {
      if (node === probe.node) continue;
      if ((newer.timeline ?? 0) > (probe.timeline ?? 0)) {
        report({ kind: "stale-timeline", stale: probe, newer });
      }
    }
  }
}

function describeProbe(probe: ProbeRecord): string {
  return `${probe.node}#${probe.seq} [${probe.startMs.toFixed(1)}, ${probe.endMs.toFixed(1)}] ms` +
    ` timeline ${probe.timeline ?? "?"}`;
}

/** Formats a violation as one line with nodes, times and timelines. */
export function describeViolation(violation: SingleWriterViolation): string {
  if (violation.kind === "overlap") {
    return `overlap of ${violation.overlapMs.toFixed(1)} ms: ${describeProbe(violation.first)} ` +
      `and ${describeProbe(violation.second)}`;
  }
  return `stale timeline: ${describeProbe(violation.stale)} acknowledged after ` +
    `${describeProbe(violation.newer)}`;
}
