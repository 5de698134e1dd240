/**
 * A deterministic series of PersistRequests for the crash tests, and the exact state after
 * each, computed independently (closed form) rather than by replaying the requests.
 *
 * State k has hardState.term = k and every log index up to k. Step k appends entry k; every
 * 5th step rewrites entry k-1 with term k (truncate + append); steps 13, 23, 33, ... compact
 * the log with a snapshot three entries back; steps 17, 67, 117, ... install a snapshot
 * beyond the log (a snapshot at k while the log ends at k-1).
 *
 * @module
 */

import type {
  ClusterState,
  LogEntry,
  PersistentState,
  PersistRequest,
  Snapshot,
} from "../../src/core/types.ts";

function isInstallStep(step: number): boolean {
  return step % 50 === 17;
}

function isCompactionStep(step: number): boolean {
  return step % 10 === 3 && step > 10;
}

function isRewriteStep(step: number): boolean {
  return step % 5 === 0;
}

/** Term of entry `index` in state `step`: entries before a rewrite step get that step's term. */
function termOf(index: number, step: number): number {
  return isRewriteStep(index + 1) && index + 1 <= step ? index + 1 : index;
}

function entry(index: number, step: number): LogEntry {
  const term = termOf(index, step);
  return { index, term, command: { kind: "kv", key: "entry", value: `${index}@${term}` } };
}

function snapshotAt(step: number): Snapshot {
  const lastIndex = isInstallStep(step) ? step : step - 3;
  const state: ClusterState = {
    membership: { voters: ["node0", "node1", "node2"], learners: [] },
    paused: step % 2 === 0,
    syncMode: "quorum",
    switchoverTarget: null,
    keyValues: { snapshotIndex: String(lastIndex), ["__proto__"]: "plain key" },
  };
  return { lastIndex, lastTerm: termOf(lastIndex, step), state };
}

function lastSnapshotStep(step: number): number | null {
  for (let candidate = step; candidate > 0; candidate--) {
    if (isInstallStep(candidate) || isCompactionStep(candidate)) return candidate;
  }
  return null;
}

function hardStateAt(step: number) {
  return { term: step, votedFor: `node${step % 3}`, commitIndex: Math.max(0, step - 2) };
}

/** The request that turns state `step - 1` into state `step` (step >= 1). */
export function requestFor(step: number): PersistRequest {
  const hardState = hardStateAt(step);
  if (isInstallStep(step)) {
    return { hardState, truncateFrom: null, append: [], snapshot: snapshotAt(step) };
  }
  if (isRewriteStep(step)) {
    const append = [entry(step - 1, step), entry(step, step)];
    return { hardState, truncateFrom: step - 1, append, snapshot: null };
  }
  const snapshot = isCompactionStep(step) ? snapshotAt(step) : null;
  return { hardState, truncateFrom: null, append: [entry(step, step)], snapshot };
}

/** The complete state after steps 1..step. */
export function expectedState(step: number): PersistentState {
  const snapshotStep = lastSnapshotStep(step);
  const snapshot = snapshotStep === null ? null : snapshotAt(snapshotStep);
  const entries: LogEntry[] = [];
  for (let index = (snapshot?.lastIndex ?? 0) + 1; index <= step; index++) {
    entries.push(entry(index, step));
  }
  return { hardState: hardStateAt(step), snapshot, entries };
}
