/**
 * Read-only helpers over a node's log: the entries after its snapshot.
 *
 * @module
 */
import type { LogEntry, Membership, NodeState, Snapshot } from "./types.ts";
import { EMPTY_MEMBERSHIP } from "./cluster_state.ts";

/** The subset of the state that describes the log. */
export interface LogView {
  readonly snapshot: Snapshot | null;
  readonly log: readonly LogEntry[];
}

/** Index of the first entry kept in the log (after the snapshot). */
export function firstIndex(view: LogView): number {
  return (view.snapshot?.lastIndex ?? 0) + 1;
}

/** Index of the last entry, counting the snapshot. */
export function lastIndex(view: LogView): number {
  const last = view.log[view.log.length - 1];
  return last ? last.index : (view.snapshot?.lastIndex ?? 0);
}

/** Term of the last entry, counting the snapshot. */
export function lastTerm(view: LogView): number {
  const last = view.log[view.log.length - 1];
  return last ? last.term : (view.snapshot?.lastTerm ?? 0);
}

/** Term of the entry at `index`; 0 for index 0; null when compacted away or beyond the log. */
export function termAt(view: LogView, index: number): number | null {
  if (index === 0) return 0;
  if (view.snapshot && index === view.snapshot.lastIndex) return view.snapshot.lastTerm;
  const entry = view.log[index - firstIndex(view)];
  return entry ? entry.term : null;
}

/** The entry at `index`, or null when compacted away or beyond the log. */
export function entryAt(view: LogView, index: number): LogEntry | null {
  if (index < firstIndex(view)) return null;
  return view.log[index - firstIndex(view)] ?? null;
}

/** Entries in [from, to], clipped to the log. */
export function entriesBetween(view: LogView, from: number, to: number): LogEntry[] {
  const start = Math.max(0, from - firstIndex(view));
  const end = Math.max(start, to - firstIndex(view) + 1);
  return view.log.slice(start, end);
}

/** Raft's up-to-date rule: (term, index) of the candidate's last entry is at least ours. */
export function isLogUpToDate(
  view: LogView,
  candidateLastTerm: number,
  candidateLastIndex: number,
): boolean {
  const ownTerm = lastTerm(view);
  if (candidateLastTerm !== ownTerm) return candidateLastTerm > ownTerm;
  return candidateLastIndex >= lastIndex(view);
}

/**
 * The membership in force: the latest membership entry in the log, committed or not (the
 * single-server change rule), else the snapshot's. Returns it with the index that set it.
 */
export function latestMembership(view: LogView): { membership: Membership; index: number } {
  for (let position = view.log.length - 1; position >= 0; position--) {
    const entry = view.log[position];
    if (entry && entry.command.kind === "membership") {
      return { membership: entry.command.membership, index: entry.index };
    }
  }
  return {
    membership: view.snapshot?.state.membership ?? EMPTY_MEMBERSHIP,
    index: view.snapshot?.lastIndex ?? 0,
  };
}

/** True when the node has any Raft state: it belongs to a cluster. */
export function isInitialised(state: NodeState): boolean {
  return state.snapshot !== null || state.log.length > 0;
}
