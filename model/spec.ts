/**
 * The model's own small definitions, used by the invariants instead of the core's helpers
 * (so that a bug in a core helper cannot change the specification with the code). Each is
 * written from the Raft paper and Postgres's documentation, as plainly as possible, and
 * reads only plain data: log entries, snapshots, the modelled WAL records.
 *
 * @module
 */
import type { LogEntry, Membership, NodeId, Snapshot } from "../src/core/mod.ts";
import type { WalRecord } from "./cluster_types.ts";

/** A Raft log as the spec reads it: a snapshot (or none) and the entries after it. */
export interface SpecLog {
  readonly snapshot: Snapshot | null;
  readonly log: readonly LogEntry[];
}

/** The term of the entry at `index`, 0 for index 0, null when the log does not hold it. */
export function specTermAt(view: SpecLog, index: number): number | null {
  if (index === 0) return 0;
  if (view.snapshot !== null && view.snapshot.lastIndex === index) return view.snapshot.lastTerm;
  for (const entry of view.log) {
    if (entry.index === index) return entry.term;
  }
  return null;
}

/** Index of the last entry (the snapshot's when the log is empty). */
export function specLastIndex(view: SpecLog): number {
  return view.log[view.log.length - 1]?.index ?? view.snapshot?.lastIndex ?? 0;
}

/** Term of the last entry. */
export function specLastTerm(view: SpecLog): number {
  return view.log[view.log.length - 1]?.term ?? view.snapshot?.lastTerm ?? 0;
}

/** Raft §5.4.1: `a` is at least as up to date as `b` (later last term, or same and not shorter). */
export function atLeastAsUpToDate(a: SpecLog, b: SpecLog): boolean {
  const termA = specLastTerm(a);
  const termB = specLastTerm(b);
  return termA > termB || (termA === termB && specLastIndex(a) >= specLastIndex(b));
}

/** The membership a node uses (Raft §6): the last membership entry in its log, else its snapshot's. */
export function specMembership(view: SpecLog): Membership {
  for (let position = view.log.length - 1; position >= 0; position--) {
    const command = view.log[position]!.command;
    if (command.kind === "membership") return command.membership;
  }
  return view.snapshot?.state.membership ?? { voters: [], learners: [] };
}

/** True when `members` (a set of node ids) holds more than half of `voters`. */
export function isMajorityOf(members: ReadonlySet<NodeId>, voters: readonly NodeId[]): boolean {
  return voters.filter((voter) => members.has(voter)).length * 2 > voters.length;
}

/** Every subset of `items` (the model has at most five nodes: 32 subsets). */
export function subsetsOf<T>(items: readonly T[]): T[][] {
  let subsets: T[][] = [[]];
  for (const item of items) subsets = [...subsets, ...subsets.map((subset) => [...subset, item])];
  return subsets;
}

/** True when two WAL records are the same record (same timeline, same write). */
export function sameRecord(a: WalRecord, b: WalRecord): boolean {
  return a.timeline === b.timeline && a.write === b.write;
}

/** True when `prefix` is a prefix of `wal`: every record of it sits at the same place in `wal`. */
export function isWalPrefix(prefix: readonly WalRecord[], wal: readonly WalRecord[]): boolean {
  return prefix.length <= wal.length &&
    prefix.every((record, index) => sameRecord(record, wal[index]!));
}
