/**
 * How two Postgres WAL positions relate, by timeline history (never by timeline number).
 *
 * A position says which timeline owns every WAL byte below its LSN: byte x belongs to the
 * first timeline of the history whose WAL ends after x (`x < endLsn`), and to `timeline`
 * itself when no history line does. Two servers hold the same WAL up to some byte exactly
 * when their positions give the same owner to every byte below it (a timeline is one
 * server's WAL after one promotion; Postgres never reuses a timeline id for a different
 * fork within one cluster history, and where it happens the histories differ and this
 * module says "diverged"). Everything below follows from that one definition.
 *
 * @module
 */
import type { WalPosition } from "./types.ts";

/**
 * How position `a` relates to position `b`:
 * - `equal`: the same WAL bytes;
 * - `behind`: a's WAL is a strict prefix of b's (b has all of a, and more);
 * - `ahead`: b's WAL is a strict prefix of a's;
 * - `superseded`: a's timeline is a strict ancestor in b's history and a holds WAL past the
 *   point where b's history says that timeline ended: a's tail was replaced by a promotion;
 * - `diverged`: anything else (sibling timelines, one timeline id with two histories, ...).
 */
export type WalRelation = "equal" | "behind" | "ahead" | "superseded" | "diverged";

/**
 * At most this many lines of timeline history travel with a position (one line per promotion
 * in the node's past; the wire codec refuses more). Older lines are dropped by
 * {@link withRecentHistory}: a cut history treats the bytes before its first kept line as
 * that line's timeline. That can hide a fork older than this many promotions (long since
 * rewound away), and can show a position whose history was not cut as "diverged" from one
 * whose history was (a refused vote, never a wrong grant on a recent fork).
 */
export const MAX_HISTORY_LINES = 64;

/** The position with only its newest MAX_HISTORY_LINES history lines (the shell applies it). */
export function withRecentHistory(position: WalPosition): WalPosition {
  if (position.history.length <= MAX_HISTORY_LINES) return position;
  return { ...position, history: position.history.slice(-MAX_HISTORY_LINES) };
}

/** The timeline owning WAL byte `byte` of `position` (meaningful for byte < position.lsn). */
export function timelineOwning(position: WalPosition, byte: number): number {
  for (const line of position.history) {
    if (byte < line.endLsn) return line.timeline;
  }
  return position.timeline;
}

/**
 * The number of leading WAL bytes `a` and `b` hold in common: the largest L at most both
 * LSNs such that every byte below L has the same owner in both. Owners change only at the
 * history's end LSNs, so comparing the owner at the start of every such segment is enough.
 */
export function commonWalBytes(a: WalPosition, b: WalPosition): number {
  const limit = Math.min(a.lsn, b.lsn);
  const starts = [
    0,
    ...a.history.map((line) => line.endLsn),
    ...b.history.map((line) => line.endLsn),
  ]
    .filter((start) => start < limit)
    .sort((left, right) => left - right);
  for (const start of starts) {
    if (timelineOwning(a, start) !== timelineOwning(b, start)) return start;
  }
  return limit;
}

/** How `a` relates to `b` (see {@link WalRelation}). */
export function relateWalPositions(a: WalPosition, b: WalPosition): WalRelation {
  const common = commonWalBytes(a, b);
  if (common === a.lsn && common === b.lsn) return "equal";
  if (common === a.lsn) return "behind";
  if (common === b.lsn) return "ahead";
  for (const line of b.history) {
    if (line.timeline === a.timeline && a.lsn > line.endLsn && common >= line.endLsn) {
      return "superseded";
    }
  }
  return "diverged";
}

/**
 * The comparison hactl used before issue 9: timeline number first, then LSN (negative when
 * a < b). Wrong: a lower timeline number may hold WAL a higher one lacks, and a stale
 * timeline report makes an advanced node look behind. Kept only for the negative control
 * `compareTimelineNumbers`.
 */
export function compareByTimelineNumber(a: WalPosition, b: WalPosition): number {
  if (a.timeline !== b.timeline) return a.timeline - b.timeline;
  return a.lsn - b.lsn;
}

/**
 * Bytes by which `position` trails `reference` when `position` is on `reference`'s history
 * (equal or behind), or null when it is not (ahead, superseded or diverged: lag is then
 * not a byte count).
 */
export function lagBytes(position: WalPosition, reference: WalPosition): number | null {
  const relation = relateWalPositions(position, reference);
  if (relation !== "equal" && relation !== "behind") return null;
  return reference.lsn - position.lsn;
}

/** Formats a position as Postgres does, e.g. "2:0/16B3748" → timeline 2, LSN 0/16B3748. */
export function formatWalPosition(position: WalPosition | null): string {
  if (position === null) return "-";
  const high = Math.floor(position.lsn / 2 ** 32);
  const low = position.lsn % 2 ** 32;
  return `${position.timeline}:${high.toString(16).toUpperCase()}/${
    low.toString(16).toUpperCase()
  }`;
}
