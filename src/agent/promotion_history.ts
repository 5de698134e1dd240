/**
 * The cluster's promotion history, recorded in the Raft log: one key per term in which a
 * leader made its Postgres the writable primary, `history/<term, 12 digits>` = JSON
 * {term, node, timeline, lsn, reason, atIso}. Bounded: past {@link MAX_HISTORY_ENTRIES}
 * the oldest is deleted. Read by `hactl history` from any member's status.
 *
 * @module
 */
import type { Command, NodeState } from "../core/types.ts";

/** Prefix of the history keys. */
export const HISTORY_KEY_PREFIX = "history/";
/** Most promotions kept. */
export const MAX_HISTORY_ENTRIES = 100;

/** One promotion. */
export interface HistoryEntry {
  readonly term: number;
  readonly node: string;
  readonly timeline: number | null;
  /** The WAL position when the promotion was recorded (bytes). */
  readonly lsn: number | null;
  /** "bootstrap", "switchover" (a leader handed over) or "failover" (an election). */
  readonly reason: string;
  readonly atIso: string;
}

/** The key of a term's entry; zero-padded so that keys sort by term. */
export function historyKey(term: number): string {
  return `${HISTORY_KEY_PREFIX}${String(term).padStart(12, "0")}`;
}

/**
 * The commands recording this leader's promotion (and pruning the oldest entry), or none
 * when nothing is due: not a leader with a writable Postgres, or this term is recorded.
 */
export function historyCommands(state: NodeState, reason: string, atIso: string): Command[] {
  const postgres = state.postgres;
  if (state.role !== "leader" || postgres === null || postgres.status !== "running") return [];
  if (postgres.inRecovery || postgres.fenced) return [];
  if (state.applied.keyValues[historyKey(state.term)] !== undefined) return [];
  const entry: HistoryEntry = {
    term: state.term,
    node: state.id,
    timeline: postgres.position?.timeline ?? null,
    lsn: postgres.position?.lsn ?? null,
    reason,
    atIso,
  };
  const commands: Command[] = [{
    kind: "kv",
    key: historyKey(state.term),
    value: JSON.stringify(entry),
  }];
  const recorded = Object.keys(state.applied.keyValues)
    .filter((key) => key.startsWith(HISTORY_KEY_PREFIX)).sort();
  for (const old of recorded.slice(0, Math.max(0, recorded.length + 1 - MAX_HISTORY_ENTRIES))) {
    commands.push({ kind: "kv", key: old, value: null });
  }
  return commands;
}

/** The recorded history, oldest first; entries that do not parse are skipped. */
export function readHistory(keyValues: Readonly<Record<string, string>>): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const key of Object.keys(keyValues).filter((k) => k.startsWith(HISTORY_KEY_PREFIX)).sort()) {
    try {
      const entry = JSON.parse(keyValues[key]!) as HistoryEntry;
      if (typeof entry.term === "number" && typeof entry.node === "string") entries.push(entry);
    } catch {
      // A value written by something else under this prefix: not shown.
    }
  }
  return entries;
}
