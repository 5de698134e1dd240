/**
 * Which timeline a node's WAL belongs to, and that timeline's history, read from pg_wal.
 *
 * Why pg_wal and not pg_control or the WAL receiver: pg_control holds the timeline of the last
 * checkpoint (on a standby, the last restartpoint, which may be several promotions old), and
 * `pg_stat_wal_receiver` is empty whenever the receiver is down. Both under-reported a standby
 * that held timeline-3 WAL as timeline 1, and a vote was granted on that (issue 9, D1/D2).
 *
 * How Postgres names and writes WAL (PostgreSQL 12-17; checked on real servers by
 * test/postgres/wal_position_test.ts):
 * - A segment file is named `TTTTTTTTXXXXXXXXYYYYYYYY` (hex): timeline T, then the segment
 *   number split into LSN / 2^32 and (LSN mod 2^32) / segment size. It holds the bytes
 *   [number × segment size, (number + 1) × segment size).
 * - The WAL receiver writes what it streams into files named with the timeline it streams.
 *   When a standby moves to a newer timeline it streams that timeline from the START of the
 *   segment holding the switch point, so the new timeline's file repeats the old one's bytes up
 *   to the switch point; before it asks for the new timeline it fetches the missing
 *   `0000000N.history` files (TIMELINE_HISTORY). A promoted server copies the old segment's
 *   prefix into a file of its new timeline and writes its own history file. pg_basebackup
 *   (-X stream) and pg_rewind bring the source's history files along.
 * - Recycled and preallocated segments are renamed to segment numbers AFTER the end of WAL at
 *   the time, with the timeline the server then replays or inserts on. That timeline is never
 *   newer than the timeline of WAL written later at that number, so a leftover file can only
 *   lose against the real one. (Only pg_rewind and a clone make a node's timeline go back, and
 *   both replace pg_wal with the source's files.)
 * - `.partial` files (the old timeline's last segment on a promoted server, pg_receivewal) and
 *   `.backup` files do not match the 24-hex-digit name and are ignored.
 * Hence: the timeline of the WAL ending at LSN L is the highest timeline among segment files
 * holding byte L - 1. If that file is the newer timeline's copy and L is at or before its
 * switch point, the position still names the same WAL: the history shows timeline N ended at
 * or after L.
 *
 * A history file has one line per ancestor, "parent-timeline<TAB>switch-LSN<TAB>reason",
 * oldest first, comment lines starting with '#'. Timeline 1 has none. A missing or damaged
 * history file of a timeline above 1 is an error: an empty history would compare as if the
 * node had no ancestors.
 *
 * @module
 */

import type { TimelineSwitch, WalPosition } from "../core/types.ts";
import { formatLsn, parseLsn } from "./lsn.ts";

/** A WAL segment file name: timeline, then the segment number as two halves (8 hex digits each). */
const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const TWO_TO_32 = 4294967296;
/** History files are a few lines per promotion; anything larger is not a history file. */
const MAX_HISTORY_FILE_BYTES = 1024 * 1024;

/** One WAL segment file in pg_wal. */

/**
 * A timeline history file that a node on that timeline must have is missing or damaged (a
 * failed pg_rewind leaves empty ones). The node's WAL history cannot be told, so its data is
 * not usable as it is: the reconciler re-clones a node in this state unless it is the primary.
 */
export class WalHistoryDamagedError extends Error {
  /** Creates the error with its explanation. */
  constructor(message: string) {
    super(message);
    this.name = "WalHistoryDamagedError";
  }
}

export interface WalSegment {
  readonly timeline: number;
  /** LSN of the segment's first byte. */
  readonly startLsn: number;
}

/** Parses a segment file name, or null for any other file (history, .partial, .backup). */
export function parseWalSegmentName(name: string, segmentBytes: number): WalSegment | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return null;
  const startLsn = parseInt(match[2]!, 16) * TWO_TO_32 + parseInt(match[3]!, 16) * segmentBytes;
  return { timeline: parseInt(match[1]!, 16), startLsn };
}

/** The WAL segment files of `dataDirectory`/pg_wal. */
export async function listWalSegments(
  dataDirectory: string,
  segmentBytes: number,
): Promise<WalSegment[]> {
  const segments: WalSegment[] = [];
  for await (const entry of Deno.readDir(`${dataDirectory}/pg_wal`)) {
    const segment = entry.isFile ? parseWalSegmentName(entry.name, segmentBytes) : null;
    if (segment !== null) segments.push(segment);
  }
  return segments;
}

/**
 * The highest timeline among `segments` holding the last byte of WAL that ends at `endLsn`
 * (the byte at `endLsn - 1`), or null when no segment holds it.
 */
export function timelineHoldingEnd(
  segments: readonly WalSegment[],
  endLsn: number,
  segmentBytes: number,
): number | null {
  const lastByte = Math.max(endLsn - 1, 0);
  let timeline: number | null = null;
  for (const segment of segments) {
    const holds = segment.startLsn <= lastByte && lastByte < segment.startLsn + segmentBytes;
    if (holds && (timeline === null || segment.timeline > timeline)) timeline = segment.timeline;
  }
  return timeline;
}

/** The file name of `timeline`'s history, e.g. "00000003.history". */
export function historyFileName(timeline: number): string {
  return `${timeline.toString(16).toUpperCase().padStart(8, "0")}.history`;
}

/**
 * Parses the text of `timeline`'s history file (`where` names it in errors). Throws when a
 * line is not "timeline<TAB>LSN[<TAB>reason]", when timelines do not increase or are not below
 * `timeline`, when switch points go backwards, or when a timeline above 1 has no ancestor.
 */
export function parseTimelineHistory(
  text: string,
  timeline: number,
  where: string,
): TimelineSwitch[] {
  const history: TimelineSwitch[] = [];
  const lines = text.split("\n");
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (why: string): never => {
      throw new WalHistoryDamagedError(
        `timeline history ${where} line ${index + 1} ("${line.slice(0, 80)}"): ${why}; ` +
          `the file is damaged: re-clone this node (or copy the file from the primary)`,
      );
    };
    const match = /^(\d+)\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(\s.*)?$/.exec(line);
    if (match === null) return fail("expected a timeline id, a tab and a switch LSN");
    const parent = parseInt(match[1]!, 10);
    const endLsn = parseLsn(match[2]!);
    const previous = history.at(-1);
    if (parent < 1 || parent >= timeline) fail(`timeline ${parent} is not below ${timeline}`);
    if (previous !== undefined && parent <= previous.timeline) {
      fail(`timeline ${parent} does not follow ${previous.timeline}`);
    }
    if (previous !== undefined && endLsn < previous.endLsn) {
      fail(`switch point ${formatLsn(endLsn)} is before ${formatLsn(previous.endLsn)}`);
    }
    history.push({ timeline: parent, endLsn });
  }
  if (timeline > 1 && history.length === 0) {
    throw new WalHistoryDamagedError(
      `timeline history ${where} names no ancestor of timeline ${timeline}; the file is ` +
        `damaged: re-clone this node (or copy the file from the primary)`,
    );
  }
  return history;
}

/** Reads and parses `timeline`'s history from `dataDirectory`/pg_wal; timeline 1 has none. */
export async function readTimelineHistory(
  dataDirectory: string,
  timeline: number,
): Promise<TimelineSwitch[]> {
  if (!Number.isSafeInteger(timeline) || timeline < 1) {
    throw new Error(`cannot read the history of timeline ${timeline}: not a timeline id`);
  }
  if (timeline === 1) return [];
  const path = `${dataDirectory}/pg_wal/${historyFileName(timeline)}`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new WalHistoryDamagedError(
      `cannot read the history of timeline ${timeline} (${path}): ${
        error instanceof Error ? error.message : String(error)
      }; a node on timeline ${timeline} must have it: re-clone this node`,
    );
  }
  if (bytes.length > MAX_HISTORY_FILE_BYTES) {
    throw new WalHistoryDamagedError(
      `timeline history ${path} has ${bytes.length} bytes: not a history file; re-clone this node`,
    );
  }
  return parseTimelineHistory(new TextDecoder().decode(bytes), timeline, path);
}

/**
 * The position of WAL ending at `endLsn` in `dataDirectory`: its timeline is the highest one
 * of the segment files holding its last byte (see the module doc), else `fallbackTimeline`;
 * without a fallback, no such file is an error. The history is read from the timeline's file.
 */
export async function walPositionAt(
  dataDirectory: string,
  endLsn: number,
  segmentBytes: number,
  fallbackTimeline: number | null,
): Promise<WalPosition> {
  const segments = await listWalSegments(dataDirectory, segmentBytes);
  const timeline = timelineHoldingEnd(segments, endLsn, segmentBytes) ?? fallbackTimeline;
  if (timeline === null) {
    throw new Error(
      `no WAL segment in ${dataDirectory}/pg_wal holds LSN ${formatLsn(endLsn)}: cannot tell ` +
        `its timeline (was pg_wal emptied by hand?)`,
    );
  }
  return { timeline, lsn: endLsn, history: await readTimelineHistory(dataDirectory, timeline) };
}
