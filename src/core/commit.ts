/**
 * Commit, apply and compaction.
 *
 * @module
 */
import { assert } from "./assert.ts";
import type { Draft, Output } from "./draft.ts";
import { applyCommand } from "./cluster_state.ts";
import { entriesBetween, lastIndex, termAt } from "./raft_log.ts";
import { majorityValue } from "./quorum.ts";
import type { LogEntry } from "./types.ts";
import { quorumSwitchCommitCap } from "./quorum_switch.ts";

/**
 * Leader: advance the commit index to what a majority has stored. Only an entry of the
 * current term is committed by counting replicas (Raft paper §5.4.2, figure 8); earlier
 * entries commit with it.
 */
export function advanceLeaderCommit(draft: Draft, output: Output): void {
  const voters = draft.membership.voters;
  if (draft.config.faults.commitWithoutMajority) {
    // Negative control: the leader's own append counts as committed.
    setCommitIndex(draft, output, lastIndex(draft));
    return;
  }
  const stored = majorityValue(
    voters,
    (voter) => voter === draft.id ? lastIndex(draft) : (draft.progress[voter]?.matchIndex ?? 0),
  );
  // A return to quorum mode commits only once the primary runs with the quorum names.
  const candidate = Math.min(stored, quorumSwitchCommitCap(draft));
  if (candidate <= draft.commitIndex) return;
  if (termAt(draft, candidate) !== draft.term && !draft.config.faults.commitOldTermByCount) return;
  setCommitIndex(draft, output, candidate);
}

/** Raises the commit index (never lowers it) and applies what became committed. */
export function setCommitIndex(draft: Draft, output: Output, index: number): void {
  const target = Math.min(index, lastIndex(draft));
  if (target <= draft.commitIndex) return;
  draft.commitIndex = target;
  applyCommitted(draft, output);
}

/** Applies committed entries to the cluster state, answers pending requests, compacts. */
function applyCommitted(draft: Draft, output: Output): void {
  if (draft.appliedIndex >= draft.commitIndex) return;
  const entries: LogEntry[] = entriesBetween(draft, draft.appliedIndex + 1, draft.commitIndex);
  assert(
    entries.length === draft.commitIndex - draft.appliedIndex,
    `entries ${draft.appliedIndex + 1}..${draft.commitIndex} must be in the log to be applied`,
  );
  let state = draft.applied;
  for (const entry of entries) state = applyCommand(state, entry.command);
  draft.applied = state;
  draft.appliedIndex = draft.commitIndex;
  if (draft.bootstrapMembership === null && state.membership.voters.length > 0) {
    draft.bootstrapMembership = state.membership;
  }
  output.effects.push({ kind: "applied", entries });
  answerPending(draft, output);
  compactIfNeeded(draft, output);
}

/** Reports committed (or overwritten) pending admin requests. */
function answerPending(draft: Draft, output: Output): void {
  const waiting = [];
  for (const pending of draft.pending) {
    if (pending.index > draft.commitIndex) {
      waiting.push(pending);
      continue;
    }
    const committed = termAt(draft, pending.index) === pending.term;
    output.effects.push({
      kind: "admin-result",
      requestId: pending.requestId,
      ok: committed,
      error: committed ? null : "the entry was overwritten by a newer leader; retry",
      leaderHint: draft.leader,
    });
  }
  draft.pending = waiting;
}

/** Snapshots the applied state and drops the log prefix once the log holds too many entries. */
function compactIfNeeded(draft: Draft, output: Output): void {
  const firstKept = (draft.snapshot?.lastIndex ?? 0) + 1;
  if (draft.appliedIndex - firstKept + 1 <= draft.config.maxLogEntries) return;
  const lastTerm = termAt(draft, draft.appliedIndex);
  assert(lastTerm !== null, `term of applied entry ${draft.appliedIndex} must be known`);
  const snapshot = { lastIndex: draft.appliedIndex, lastTerm, state: draft.applied };
  draft.snapshot = snapshot;
  draft.log = draft.log.filter((entry) => entry.index > snapshot.lastIndex);
  output.snapshot = snapshot;
}
