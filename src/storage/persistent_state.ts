/**
 * Pure rules of the persisted Raft state: applying a {@link PersistRequest} to a
 * {@link PersistentState} and the invariants a stored state must satisfy.
 *
 * @module
 */

import type { PersistentState, PersistRequest } from "../core/types.ts";

/** The state of a node that never persisted anything (term 0, no vote, empty log). */
export const EMPTY_PERSISTENT_STATE: PersistentState = {
  hardState: { term: 0, votedFor: null, commitIndex: 0 },
  snapshot: null,
  entries: [],
};

/** True when `state` holds nothing beyond {@link EMPTY_PERSISTENT_STATE}. */
export function isEmptyPersistentState(state: PersistentState): boolean {
  const hard = state.hardState;
  return hard.term === 0 && hard.votedFor === null && hard.commitIndex === 0 &&
    state.snapshot === null && state.entries.length === 0;
}

/** Index of the last entry, in the log or covered by the snapshot; 0 when both are empty. */
export function lastIndexOf(state: Pick<PersistentState, "snapshot" | "entries">): number {
  return state.entries.at(-1)?.index ?? state.snapshot?.lastIndex ?? 0;
}

/**
 * The state after `request`, with the meaning the core defines (src/core/persistence.ts,
 * checked against this one by test/storage/persistent_state_test.ts): hard state, then
 * truncation, then the append (re-sent entries replace the stored ones from their first
 * index on), then the snapshot, which discards every entry it covers. Throws when the
 * append would leave a gap or the snapshot is older than the stored one (a caller bug).
 */
export function applyPersistRequest(
  state: PersistentState,
  request: PersistRequest,
): PersistentState {
  const truncateFrom = request.truncateFrom;
  let entries = truncateFrom === null
    ? state.entries
    : state.entries.filter((entry) => entry.index < truncateFrom);
  const first = request.append[0]?.index;
  if (first !== undefined) {
    entries = entries.filter((entry) => entry.index < first);
    const lastKept = lastIndexOf({ snapshot: state.snapshot, entries });
    if (first !== lastKept + 1) {
      throw new Error(
        `persist: appended entries start at index ${first}, but the stored log ends at ` +
          `${lastKept}; the log must stay contiguous`,
      );
    }
    entries = [...entries, ...request.append];
  }
  let snapshot = state.snapshot;
  if (request.snapshot !== null) {
    const storedIndex = snapshot?.lastIndex ?? 0;
    if (request.snapshot.lastIndex < storedIndex) {
      throw new Error(
        `persist: snapshot up to index ${request.snapshot.lastIndex} is older than the stored ` +
          `snapshot up to index ${storedIndex}`,
      );
    }
    snapshot = request.snapshot;
    const covered = snapshot.lastIndex;
    entries = entries.filter((entry) => entry.index > covered);
  }
  return { hardState: request.hardState ?? state.hardState, snapshot, entries };
}

/**
 * The first broken invariant of `state`, or null when it is valid: entries contiguous and
 * following the snapshot, terms non-decreasing and at least 1, the hard state's term at
 * least every stored term, the commit index within the stored log.
 */
export function findStateProblem(state: PersistentState): string | null {
  const { hardState, snapshot, entries } = state;
  let previousIndex = snapshot?.lastIndex ?? 0;
  let previousTerm = snapshot?.lastTerm ?? 0;
  for (const entry of entries) {
    if (entry.index !== previousIndex + 1) {
      return `log entry index ${entry.index} does not follow index ${previousIndex} ` +
        `(entries must be contiguous after the snapshot)`;
    }
    if (entry.term < Math.max(1, previousTerm)) {
      return `log entry ${entry.index} has term ${entry.term}, below the preceding term ` +
        `${previousTerm} (terms must be at least 1 and non-decreasing)`;
    }
    previousIndex = entry.index;
    previousTerm = entry.term;
  }
  if (hardState.term < previousTerm) {
    return `hard state term ${hardState.term} is below the last stored term ${previousTerm}`;
  }
  if (hardState.commitIndex > previousIndex) {
    return `commit index ${hardState.commitIndex} is beyond the last stored index ${previousIndex}`;
  }
  return null;
}
