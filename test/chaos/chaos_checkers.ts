/**
 * The chaos suite's own checkers, independent of test/harness/checkers.ts (a second opinion
 * written from the contract in docs/SAFETY.md, not from the first one's code):
 *
 * - {@link findLostWrites}: every acknowledged write is on the final primary (D1); a write that
 *   definitely failed is not (a phantom means the client's classification or the server lied).
 * - {@link findWriterOverlaps}: at no instant did two nodes acknowledge writes (S1/S2). Only
 *   definite violations are reported, from the time bounds each record carries: a write is
 *   known to have committed inside its "commit window" [lo, hi], where hi is the client's
 *   acknowledgement time and lo the server's own clock during the statement (clamped into the
 *   client's interval; the client's send time when the server clock is not trusted).
 *
 * A "reign" is the set of acknowledged writes of one node on one timeline: a node that loses
 * write authority and regains it goes through a promotion, hence a new timeline. Violations:
 * - overlap: a write of another node committed strictly inside the span in which a reign
 *   certainly held authority (after one of its commits, before another);
 * - stale: a write on a timeline lower than one another node had definitely written on before;
 * - forked: two nodes wrote on the same timeline (two promotions from one history).
 *
 * @module
 */

import type { ChaosWrite } from "./chaos_history.ts";

/** The verdict of {@link findLostWrites}. */
export interface LostWritesResult {
  readonly acknowledged: number;
  /** Acknowledged writes absent from the final primary, by id. */
  readonly lost: readonly ChaosWrite[];
  /** Definitely failed writes present on the final primary, by id. */
  readonly phantom: readonly ChaosWrite[];
  /** Unknown-outcome writes present on / absent from the final primary. */
  readonly unknownPresent: number;
  readonly unknownAbsent: number;
}

/** Checks D1 against the ids of the final primary's table. */
export function findLostWrites(
  writes: readonly ChaosWrite[],
  finalIds: Iterable<number>,
): LostWritesResult {
  const present = new Set(finalIds);
  const lost: ChaosWrite[] = [];
  const phantom: ChaosWrite[] = [];
  let acknowledged = 0;
  let unknownPresent = 0;
  let unknownAbsent = 0;
  for (const write of writes) {
    const here = present.has(write.id);
    if (write.outcome === "acknowledged") {
      acknowledged += 1;
      if (!here) lost.push(write);
    } else if (write.outcome === "failed") {
      if (here) phantom.push(write);
    } else if (here) {
      unknownPresent += 1;
    } else {
      unknownAbsent += 1;
    }
  }
  lost.sort((a, b) => a.id - b.id);
  phantom.sort((a, b) => a.id - b.id);
  return { acknowledged, lost, phantom, unknownPresent, unknownAbsent };
}

/** A time during which two nodes certainly both acknowledged writes. */
export interface OverlapWindow {
  /** The reign that held authority around the other node's writes. */
  readonly holder: string;
  readonly holderTimeline: number;
  /** The node that wrote inside it. */
  readonly intruder: string;
  readonly intruderTimeline: number;
  /** Wall-clock bounds of the intruder's writes inside the holder's certain span. */
  readonly startMs: number;
  readonly endMs: number;
  /** Intruding writes, and the first of them. */
  readonly writes: number;
  readonly firstId: number;
}

/** A write on a timeline older than one another node had definitely written on before. */
export interface StaleWrite {
  readonly write: ChaosWrite;
  readonly newer: ChaosWrite;
}

/** The verdict of {@link findWriterOverlaps}. */
export interface WriterOverlapResult {
  /** Acknowledged writes with a known node and timeline (the ones examined). */
  readonly examined: number;
  readonly windows: readonly OverlapWindow[];
  readonly stale: readonly StaleWrite[];
  /** Timelines written by more than one node, with the nodes. */
  readonly forked: readonly { readonly timeline: number; readonly nodes: readonly string[] }[];
  /** Reigns seen, in order of their first write ("node1@1", ...). */
  readonly reigns: readonly string[];
}

/** A write reduced to what the overlap check needs. */
interface Bounded {
  readonly write: ChaosWrite;
  readonly node: string;
  readonly timeline: number;
  /** Commit window (see the module documentation). */
  readonly lo: number;
  readonly hi: number;
}

/** Checks S1/S2 on the acknowledged writes; see the module documentation. */
export function findWriterOverlaps(writes: readonly ChaosWrite[]): WriterOverlapResult {
  const bounded = writes.flatMap(toBounded).sort((a, b) => a.lo - b.lo);
  const reigns = groupReigns(bounded);
  const windows: OverlapWindow[] = [];
  for (const reign of reigns.values()) windows.push(...overlapsOf(reign, bounded));
  return {
    examined: bounded.length,
    windows: mergePairs(windows),
    stale: findStale(bounded),
    forked: findForks(reigns),
    reigns: [...reigns.values()].sort((a, b) => a.firstLo - b.firstLo).map((r) => r.key),
  };
}

function toBounded(write: ChaosWrite): Bounded[] {
  if (write.outcome !== "acknowledged" || write.node === null || write.timeline === null) return [];
  const server = write.serverMs;
  const lo = server === null
    ? write.startMs
    : Math.min(Math.max(server, write.startMs), write.endMs);
  return [{ write, node: write.node, timeline: write.timeline, lo, hi: write.endMs }];
}

interface Reign {
  readonly key: string;
  readonly node: string;
  readonly timeline: number;
  /** The reign certainly held authority in [certainFrom, certainUntil] (empty if reversed). */
  certainFrom: number;
  certainUntil: number;
  firstLo: number;
}

function groupReigns(bounded: readonly Bounded[]): Map<string, Reign> {
  const reigns = new Map<string, Reign>();
  for (const item of bounded) {
    const key = `${item.node}@${item.timeline}`;
    const reign = reigns.get(key);
    if (reign === undefined) {
      reigns.set(key, {
        key,
        node: item.node,
        timeline: item.timeline,
        certainFrom: item.hi,
        certainUntil: item.lo,
        firstLo: item.lo,
      });
    } else {
      // Some commit of the reign happened by min(hi), another at or after max(lo).
      reign.certainFrom = Math.min(reign.certainFrom, item.hi);
      reign.certainUntil = Math.max(reign.certainUntil, item.lo);
      reign.firstLo = Math.min(reign.firstLo, item.lo);
    }
  }
  return reigns;
}

/** Writes of other nodes whose whole commit window lies inside the reign's certain span. */
function overlapsOf(reign: Reign, byLo: readonly Bounded[]): OverlapWindow[] {
  if (!(reign.certainFrom < reign.certainUntil)) return [];
  const byIntruder = new Map<string, Bounded[]>();
  for (let index = firstAfter(byLo, reign.certainFrom); index < byLo.length; index++) {
    const item = byLo[index] as Bounded;
    if (item.lo >= reign.certainUntil) break;
    if (item.node === reign.node || item.hi >= reign.certainUntil) continue;
    const key = `${item.node}@${item.timeline}`;
    byIntruder.set(key, [...(byIntruder.get(key) ?? []), item]);
  }
  return [...byIntruder.values()].map((items) => {
    const first = items[0] as Bounded;
    return {
      holder: reign.node,
      holderTimeline: reign.timeline,
      intruder: first.node,
      intruderTimeline: first.timeline,
      startMs: Math.min(...items.map((item) => item.lo)),
      endMs: Math.max(...items.map((item) => item.hi)),
      writes: items.length,
      firstId: first.write.id,
    };
  });
}

/**
 * One window per pair of reigns: when A wrote inside B's span and B inside A's, both describe
 * the same two writers; the merged window covers both.
 */
function mergePairs(windows: readonly OverlapWindow[]): OverlapWindow[] {
  const byPair = new Map<string, OverlapWindow>();
  const sorted = [...windows].sort((a, b) => a.startMs - b.startMs);
  for (const window of sorted) {
    const pair = [
      `${window.holder}@${window.holderTimeline}`,
      `${window.intruder}@${window.intruderTimeline}`,
    ]
      .sort().join("+");
    const earlier = byPair.get(pair);
    byPair.set(
      pair,
      earlier === undefined ? window : {
        ...earlier,
        endMs: Math.max(earlier.endMs, window.endMs),
        writes: earlier.writes + window.writes,
      },
    );
  }
  return [...byPair.values()];
}

/** Index of the first item whose lo is strictly greater than `time` (binary search). */
function firstAfter(byLo: readonly Bounded[], time: number): number {
  let low = 0;
  let high = byLo.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((byLo[middle] as Bounded).lo <= time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Sweep by lo; per node, the newest timeline among writes that certainly committed before. */
function findStale(byLo: readonly Bounded[]): StaleWrite[] {
  const byHi = [...byLo].sort((a, b) => a.hi - b.hi);
  const newestByNode = new Map<string, Bounded>();
  const stale: StaleWrite[] = [];
  let ended = 0;
  for (const item of byLo) {
    for (; ended < byHi.length && (byHi[ended] as Bounded).hi < item.lo; ended++) {
      const done = byHi[ended] as Bounded;
      const newest = newestByNode.get(done.node);
      if (newest === undefined || done.timeline > newest.timeline) {
        newestByNode.set(done.node, done);
      }
    }
    for (const [node, newer] of newestByNode) {
      if (node !== item.node && newer.timeline > item.timeline) {
        stale.push({ write: item.write, newer: newer.write });
        break;
      }
    }
  }
  return stale;
}

function findForks(reigns: Map<string, Reign>): { timeline: number; nodes: string[] }[] {
  const nodesByTimeline = new Map<number, string[]>();
  for (const reign of reigns.values()) {
    nodesByTimeline.set(reign.timeline, [
      ...(nodesByTimeline.get(reign.timeline) ?? []),
      reign.node,
    ]);
  }
  return [...nodesByTimeline.entries()]
    .filter(([, nodes]) => nodes.length > 1)
    .map(([timeline, nodes]) => ({ timeline, nodes: nodes.sort() }))
    .sort((a, b) => a.timeline - b.timeline);
}

/** One line per overlap window, for reports. */
export function describeWindow(window: OverlapWindow): string {
  return `${window.intruder} (timeline ${window.intruderTimeline}) acknowledged ` +
    `${window.writes} writes (first id ${window.firstId}) over ` +
    `${(window.endMs - window.startMs).toFixed(1)} ms while ${window.holder} (timeline ` +
    `${window.holderTimeline}) certainly held write authority`;
}
