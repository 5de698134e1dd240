/**
 * The meaning of a {@link PersistRequest}, as a pure function over {@link PersistentState}.
 * Storage implementations and simulated disks must produce exactly this result.
 *
 * @module
 */
import { assert } from "./assert.ts";
import type { PersistentState, PersistRequest } from "./types.ts";

/** The state of a fresh disk. */
export const EMPTY_PERSISTENT_STATE: PersistentState = {
  hardState: { term: 0, votedFor: null, commitIndex: 0 },
  snapshot: null,
  entries: [],
};

/**
 * Applies a request in its defined order: hard state, truncation, append, then the
 * snapshot, which discards every entry it covers.
 */
export function applyPersistRequest(
  state: PersistentState,
  request: PersistRequest,
): PersistentState {
  let entries = state.entries;
  if (request.truncateFrom !== null) {
    const from = request.truncateFrom;
    entries = entries.filter((entry) => entry.index < from);
  }
  if (request.append.length > 0) {
    const first = request.append[0]!.index;
    // Re-sent entries replace what is stored from their first index on.
    entries = entries.filter((entry) => entry.index < first);
    const tail = entries[entries.length - 1]?.index ?? (state.snapshot?.lastIndex ?? 0);
    assert(
      tail === first - 1,
      `append at ${first} does not follow the stored log ending at ${tail}`,
    );
    entries = [...entries, ...request.append];
  }
  let snapshot = state.snapshot;
  if (request.snapshot !== null) {
    snapshot = request.snapshot;
    const covered = snapshot.lastIndex;
    entries = entries.filter((entry) => entry.index > covered);
  }
  return { hardState: request.hardState ?? state.hardState, snapshot, entries };
}
