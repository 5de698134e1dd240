/**
 * Rate limit for the transport's refusal reports: at most one report per source address per
 * interval, the next one saying how many were left out. A neighbour that opens connections in a
 * loop must not be able to fill the disk with log lines (it once wrote 714,250 in 30 s).
 *
 * @module
 */

/** Most source addresses remembered; beyond it the least recently reported one is forgotten. */
export const MAX_TRACKED_SOURCES = 1024;

interface SourceWindow {
  startedMs: number;
  suppressed: number;
}

/** Decides which refusals are reported; the caller counts every one of them anyway. */
export class RefusalReporter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #sources = new Map<string, SourceWindow>();

  /** `intervalMs` 0 reports every refusal. `now` is a monotonic clock in milliseconds. */
  constructor(intervalMs: number, now: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * Returns the text to report for a refusal from `source` (a host, without port), or null
   * when it is left out because this source was reported less than an interval ago.
   */
  admit(source: string, reason: string): string | null {
    if (this.#intervalMs <= 0) return reason;
    const nowMs = this.#now();
    const window = this.#sources.get(source);
    if (window !== undefined && nowMs - window.startedMs < this.#intervalMs) {
      window.suppressed++;
      return null;
    }
    const suppressed = window?.suppressed ?? 0;
    // Re-inserting keeps the map in report order, so the first key is the stalest source.
    this.#sources.delete(source);
    this.#sources.set(source, { startedMs: nowMs, suppressed: 0 });
    if (this.#sources.size > MAX_TRACKED_SOURCES) {
      this.#sources.delete(this.#sources.keys().next().value!);
    }
    if (suppressed === 0) return reason;
    return `${reason} (${suppressed} more refusal(s) from ${source} were not reported in the ` +
      "interval before)";
  }
}
