/**
 * A return to quorum mode takes effect on the primary before it takes effect in the log.
 *
 * In asynchronous mode the primary names only the local commit gate as its synchronous
 * standby (postgres_role.ts). Once a `sync-mode quorum` entry is applied, every
 * acknowledged commit must be on a majority (D1), but the primary keeps acknowledging with
 * the gate alone until the shell has set the quorum names. Found by the model's random
 * walks with two operator requests (asynchronous mode, then quorum): the sync-set invariant broke in
 * that window. So:
 * 1. a leader uses the quorum names as soon as such an entry is in its log, committed or
 *    not (`quorumNamesInForce`), so every reconcile, promotion and unfencing from then on
 *    sets them;
 * 2. it does not commit that entry (nor anything after it) until an observation whose read
 *    began after the entry was seen shows the names in effect, or shows a server that cannot
 *    acknowledge (stopped, absent, a standby, fenced): such a server becomes writable again
 *    only through a promotion or an unfencing, both of which set the names first.
 * Delaying a commit is always safe in Raft; the cost is one observation round on a switch.
 *
 * @module
 */
import type { Draft } from "./draft.ts";
import { ageCapTicks } from "./config.ts";
import type { NodeState, PostgresObservation, SyncMode } from "./types.ts";

/**
 * The index of the first uncommitted entry of this leader's log that switches the sync
 * mode to quorum from another mode, or null (not a leader, or none).
 */
export function pendingQuorumSwitchIndex(state: NodeState): number | null {
  if (state.role !== "leader") return null;
  let mode: SyncMode = state.applied.syncMode;
  for (const entry of state.log) {
    if (entry.index <= state.commitIndex || entry.command.kind !== "sync-mode") continue;
    if (entry.command.mode === "quorum" && mode !== "quorum") return entry.index;
    mode = entry.command.mode;
  }
  return null;
}

/** True when this node, as primary, must name a quorum of standbys: applied or pending. */
export function quorumNamesInForce(state: NodeState): boolean {
  return state.applied.syncMode === "quorum" || pendingQuorumSwitchIndex(state) !== null;
}

/**
 * Keeps the leader's wait in step with its log (after every input): a new pending switch
 * starts unconfirmed and unaged; none pending clears it.
 */
export function trackQuorumSwitch(draft: Draft): void {
  const index = pendingQuorumSwitchIndex(draft);
  if (index === null) {
    draft.quorumSwitch = null;
  } else if (draft.quorumSwitch?.index !== index) {
    draft.quorumSwitch = { index, ageTicks: 0, confirmed: false };
  }
}

/**
 * True when only a new read can let the pending switch commit: unconfirmed, and at least a
 * tick old (a read that began in the tick the switch was seen does not count).
 */
export function quorumSwitchAwaitsRead(state: NodeState): boolean {
  const wait = state.quorumSwitch;
  return wait !== null && !wait.confirmed && wait.ageTicks > 0;
}

/** One tick older (capped like every age counter). */
export function ageQuorumSwitch(draft: Draft): void {
  const wait = draft.quorumSwitch;
  if (wait === null || wait.confirmed) return;
  const ageTicks = Math.min(wait.ageTicks + 1, ageCapTicks(draft.config));
  draft.quorumSwitch = { ...wait, ageTicks };
}

/**
 * Confirms the pending switch on an observation read after it was seen, when that read
 * shows the quorum names in effect or a server that cannot acknowledge a commit.
 */
export function confirmQuorumSwitch(draft: Draft, names: string, readTicksAgo: number): void {
  const wait = draft.quorumSwitch;
  const observation = draft.postgres;
  if (wait === null || wait.confirmed || observation === null) return;
  if (readTicksAgo >= wait.ageTicks) return; // read before the switch was seen
  if (observation.synchronousStandbyNames === names || !mayAcknowledge(observation)) {
    draft.quorumSwitch = { ...wait, confirmed: true };
  }
}

function mayAcknowledge(observation: PostgresObservation): boolean {
  return observation.status === "running" && !observation.inRecovery && !observation.fenced;
}

/** The highest index the leader may commit now (a pending, unconfirmed switch stays out). */
export function quorumSwitchCommitCap(state: NodeState): number {
  if (state.config.faults.commitBeforeQuorumNames) return Number.MAX_SAFE_INTEGER;
  // Computed from the log, not only from the tracked wait: a single voter appends and
  // commits in one step, before the wait is tracked.
  const index = pendingQuorumSwitchIndex(state);
  if (index === null) return Number.MAX_SAFE_INTEGER;
  const wait = state.quorumSwitch;
  return wait !== null && wait.index === index && wait.confirmed
    ? Number.MAX_SAFE_INTEGER
    : index - 1;
}
