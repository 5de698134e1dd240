/**
 * Ordering of Postgres WAL positions (timeline first, then LSN).
 *
 * @module
 */
import type { WalPosition } from "./types.ts";

/** Compares two positions: negative when a < b, zero when equal, positive when a > b. */
export function compareWalPositions(a: WalPosition, b: WalPosition): number {
  if (a.timeline !== b.timeline) return a.timeline - b.timeline;
  return a.lsn - b.lsn;
}

/**
 * Bytes by which `position` trails `reference` on the same timeline, or null when the
 * two are on different timelines (lag is then not comparable byte-wise).
 */
export function lagBytes(position: WalPosition, reference: WalPosition): number | null {
  if (position.timeline !== reference.timeline) return null;
  return Math.max(0, reference.lsn - position.lsn);
}

/** Formats a position as Postgres does, e.g. "2/0/16B3748" → timeline 2, LSN 0/16B3748. */
export function formatWalPosition(position: WalPosition | null): string {
  if (position === null) return "-";
  const high = Math.floor(position.lsn / 2 ** 32);
  const low = position.lsn % 2 ** 32;
  return `${position.timeline}:${high.toString(16).toUpperCase()}/${
    low.toString(16).toUpperCase()
  }`;
}
