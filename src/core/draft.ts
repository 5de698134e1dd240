/**
 * The mutable working copy a step edits, and the output it accumulates. A step copies
 * the input state shallowly; nested values are replaced, never mutated, so the input
 * state stays untouched.
 *
 * @module
 */
import type { Effect, LogEntry, Message, NodeState, RaftRole, Snapshot } from "./types.ts";
import { latestMembership } from "./raft_log.ts";

/** A node state whose top-level fields a step may assign. */
export type Draft = { -readonly [Key in keyof NodeState]: NodeState[Key] };

/** What a step produces besides the new state. */
export interface Output {
  readonly messages: Message[];
  readonly effects: Effect[];
  truncateFrom: number | null;
  readonly append: LogEntry[];
  snapshot: Snapshot | null;
}

/** Starts a step: a shallow copy of the state and an empty output. */
export function beginStep(state: NodeState): { draft: Draft; output: Output } {
  return {
    draft: { ...state },
    output: { messages: [], effects: [], truncateFrom: null, append: [], snapshot: null },
  };
}

/** Queues a message for sending after the step's persistence. */
export function send(output: Output, message: Message): void {
  output.messages.push(message);
}

/** Appends entries to the draft's log and records them for persistence. */
export function appendEntries(draft: Draft, output: Output, entries: readonly LogEntry[]): void {
  if (entries.length === 0) return;
  draft.log = [...draft.log, ...entries];
  output.append.push(...entries);
  refreshMembership(draft);
}

/** Drops entries with index >= `from` from the draft's log and records the truncation. */
export function truncateLog(draft: Draft, output: Output, from: number): void {
  const first = (draft.snapshot?.lastIndex ?? 0) + 1;
  draft.log = draft.log.slice(0, Math.max(0, from - first));
  // Entries appended earlier in this step at or beyond `from` are gone too.
  const kept = output.append.filter((entry) => entry.index < from);
  output.append.length = 0;
  output.append.push(...kept);
  output.truncateFrom = output.truncateFrom === null ? from : Math.min(output.truncateFrom, from);
  refreshMembership(draft);
}

/** Recomputes the membership in force from the log (latest entry wins, committed or not). */
export function refreshMembership(draft: Draft): void {
  const latest = latestMembership(draft);
  draft.membership = latest.membership;
  draft.membershipIndex = latest.index;
}

/** Records a role change for the shell's logs and metrics. */
export function noteRole(
  output: Output,
  role: RaftRole,
  term: number,
  leader: string | null,
): void {
  output.effects.push({ kind: "role-changed", role, term, leader });
}
