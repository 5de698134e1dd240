/**
 * Bounds on a peer's wall-clock offset (peer minus local) from timed HTTP answers. The peer
 * read its clock at some local instant between sending the request and receiving the answer,
 * and its reading lies in [peerEarliestMs, peerLatestMs]; so each sample bounds the offset to
 * [peerEarliestMs - receivedMs, peerLatestMs - sentMs]. Intersecting samples narrows it.
 *
 * Two sources: hactl's `x-hactl-time-ms` header (exact milliseconds: the bounds are one round
 * trip wide), and else the HTTP `Date` header, whole seconds and cached by servers (Deno's
 * lagged the clock by 0.8-1.8 s, measured): its reading is [date, date + 2 s].
 *
 * @module
 */

/** One request: local wall-clock times around it and what the peer's clock read. */
export interface DateSample {
  readonly sentMs: number;
  readonly receivedMs: number;
  /** The peer's clock when it answered was at least this (epoch ms)... */
  readonly peerEarliestMs: number;
  /** ...and at most this. */
  readonly peerLatestMs: number;
}

/** The peer's clock minus the local clock lies in [lowMs, highMs]. */
export interface OffsetBounds {
  readonly lowMs: number;
  readonly highMs: number;
}

/** How far behind the peer's clock a `Date` header may be: whole seconds, cached up to 1 s. */
export const DATE_HEADER_WINDOW_MS = 2000;

/** A sample from a `Date` header (epoch ms of a whole second). */
export function dateHeaderSample(sentMs: number, receivedMs: number, dateMs: number): DateSample {
  return {
    sentMs,
    receivedMs,
    peerEarliestMs: dateMs,
    peerLatestMs: dateMs + DATE_HEADER_WINDOW_MS,
  };
}

/** A sample from an exact peer reading (hactl's `x-hactl-time-ms`). */
export function exactSample(sentMs: number, receivedMs: number, peerMs: number): DateSample {
  return { sentMs, receivedMs, peerEarliestMs: peerMs, peerLatestMs: peerMs };
}

/**
 * The intersection of every sample's bounds; null for no samples, or when they contradict
 * each other (a clock was stepped while measuring).
 */
export function offsetBounds(samples: readonly DateSample[]): OffsetBounds | null {
  if (samples.length === 0) return null;
  let lowMs = -Infinity;
  let highMs = Infinity;
  for (const sample of samples) {
    lowMs = Math.max(lowMs, sample.peerEarliestMs - sample.receivedMs);
    highMs = Math.min(highMs, sample.peerLatestMs - sample.sentMs);
  }
  return lowMs <= highMs ? { lowMs, highMs } : null;
}

/** The smallest offset magnitude the bounds allow: 0 when they include 0. */
export function certainOffsetMs(bounds: OffsetBounds): number {
  if (bounds.lowMs > 0) return bounds.lowMs;
  if (bounds.highMs < 0) return -bounds.highMs;
  return 0;
}

/** "+0.25 s ± 0.12 s": the middle of the bounds and half their width. */
export function describeOffset(bounds: OffsetBounds): string {
  const middle = (bounds.lowMs + bounds.highMs) / 2 / 1000;
  const half = (bounds.highMs - bounds.lowMs) / 2 / 1000;
  return `${middle >= 0 ? "+" : ""}${middle.toFixed(2)} s ± ${half.toFixed(2)} s`;
}
