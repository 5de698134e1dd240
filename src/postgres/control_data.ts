/**
 * Reading a stopped server's state from `pg_controldata`, and the end of its WAL from
 * `pg_waldump`: a stopped node must not under-report its position, or a voter holding an
 * acknowledged commit could grant its vote to a node that lacks it.
 *
 * @module
 */

import type { WalPosition } from "../core/types.ts";
import type { PostgresBinaries } from "./binaries.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { runChecked, runCommand } from "./process_runner.ts";
import { listWalSegments, walPositionAt } from "./timeline_history.ts";

/** The fields of pg_controldata hactl uses. */
export interface ControlData {
  /** "shut down", "shut down in recovery", "in production", "in archive recovery", ... */
  readonly state: string;
  readonly systemIdentifier: string;
  readonly checkpointLsn: number;
  readonly redoLsn: number;
  readonly checkpointTimeline: number;
  readonly minRecoveryLsn: number;
  /** 0 when unset. */
  readonly minRecoveryTimeline: number;
  readonly walSegmentBytes: number;
}

const CONTROL_DATA_TIMEOUT_MS = 10_000;
const WAL_DUMP_TIMEOUT_MS = 60_000;

/** Runs pg_controldata on `dataDirectory` and parses it. */
export async function readControlData(
  binaries: PostgresBinaries,
  dataDirectory: string,
): Promise<ControlData> {
  const result = await runChecked([binaries.path("pg_controldata"), "-D", dataDirectory], {
    timeoutMs: CONTROL_DATA_TIMEOUT_MS,
    runAsUser: null,
  });
  return parseControlData(result.stdout);
}

/** Parses the text printed by pg_controldata (in the C locale). */
export function parseControlData(text: string): ControlData {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const field = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) {
      throw new Error(`pg_controldata output lacks "${name}"; is this PostgreSQL 12 or later?`);
    }
    return value;
  };
  return {
    state: field("Database cluster state"),
    systemIdentifier: field("Database system identifier"),
    checkpointLsn: parseLsn(field("Latest checkpoint location")),
    redoLsn: parseLsn(field("Latest checkpoint's REDO location")),
    checkpointTimeline: parseInt(field("Latest checkpoint's TimeLineID"), 10),
    minRecoveryLsn: parseLsn(field("Minimum recovery ending location")),
    minRecoveryTimeline: parseInt(field("Min recovery ending loc's timeline"), 10),
    walSegmentBytes: parseInt(field("Bytes per WAL segment"), 10),
  };
}

/**
 * The position of a stopped server: the end of the WAL in pg_wal on its newest timeline
 * (received but not replayed WAL included), at least the control file's checkpoint and
 * minimum recovery point, with the timeline of the segment holding it and that timeline's
 * history (timeline_history.ts). Throws when pg_wal or a history file cannot be read.
 */
export async function stoppedWalPosition(
  binaries: PostgresBinaries,
  dataDirectory: string,
  control: ControlData,
): Promise<WalPosition> {
  const { timeline, startLsn } = await newestWalTimeline(dataDirectory, control);
  const end = await findEndOfWal(binaries, dataDirectory, timeline, startLsn);
  const controlPoint = controlPointOf(control);
  // The control file's point counts only on the same timeline: a larger LSN on an older
  // timeline is WAL past a fork, not WAL of `timeline`.
  const lsn = end === null || (controlPoint.timeline === timeline && controlPoint.lsn > end)
    ? controlPoint.lsn
    : end;
  return await walPositionAt(dataDirectory, lsn, control.walSegmentBytes, controlPoint.timeline);
}

/**
 * The newest point the control file vouches for, with its timeline: the minimum recovery
 * point (how far a standby replayed into its data files) or else the last checkpoint.
 */
export function controlPointOf(control: ControlData): { timeline: number; lsn: number } {
  return control.minRecoveryLsn > control.checkpointLsn
    ? { timeline: control.minRecoveryTimeline, lsn: control.minRecoveryLsn }
    : { timeline: control.checkpointTimeline, lsn: control.checkpointLsn };
}

/**
 * The newest timeline with WAL segments in pg_wal and the position to start reading it:
 * the checkpoint's REDO point on the checkpoint's timeline, else the oldest segment's start.
 */
export async function newestWalTimeline(
  dataDirectory: string,
  control: ControlData,
): Promise<{ timeline: number; startLsn: number }> {
  const segments = await listWalSegments(dataDirectory, control.walSegmentBytes);
  let timeline = control.checkpointTimeline;
  for (const segment of segments) timeline = Math.max(timeline, segment.timeline);
  if (timeline === control.checkpointTimeline) return { timeline, startLsn: control.redoLsn };
  let oldestSegmentLsn: number | null = null;
  for (const segment of segments) {
    if (segment.timeline === timeline) {
      oldestSegmentLsn = Math.min(oldestSegmentLsn ?? segment.startLsn, segment.startLsn);
    }
  }
  return { timeline, startLsn: oldestSegmentLsn ?? control.redoLsn };
}

/**
 * The end of the valid WAL in pg_wal on `timeline`, read by pg_waldump from `startLsn`
 * (where pg_waldump stops with "invalid record length at X/Y" and the like); null when
 * pg_waldump cannot tell.
 */
export async function findEndOfWal(
  binaries: PostgresBinaries,
  dataDirectory: string,
  timeline: number,
  startLsn: number,
): Promise<number | null> {
  const result = await runCommand([
    binaries.path("pg_waldump"),
    "--quiet",
    "-p",
    `${dataDirectory}/pg_wal`,
    "-t",
    String(timeline),
    "-s",
    formatLsn(startLsn),
  ], { timeoutMs: WAL_DUMP_TIMEOUT_MS, runAsUser: null });
  return endOfWalFromMessage(result.stderr);
}

/** The highest LSN named in pg_waldump's final error message, or null when it names none. */
export function endOfWalFromMessage(stderr: string): number | null {
  const lsns = [...stderr.matchAll(/\bat ([0-9A-F]{1,8}\/[0-9A-F]{1,8})\b/g)].map((match) =>
    parseLsn(match[1]!)
  );
  return lsns.length === 0 ? null : Math.max(...lsns);
}
