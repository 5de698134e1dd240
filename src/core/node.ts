/**
 * Creating a node's core state, fresh or from what its storage kept.
 *
 * @module
 */
import { assert } from "./assert.ts";
import { ageCapTicks, validateCoreConfig } from "./config.ts";
import { applyCommand, INITIAL_CLUSTER_STATE } from "./cluster_state.ts";
import { lastIndex, latestMembership } from "./raft_log.ts";
import type { CoreConfig, NodeId, NodeState, PersistentState } from "./types.ts";

/** Node ids: letters, digits, `_` and `-`, 1 to 63 characters (also a Postgres application_name). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * Builds a node's state. `persistent` is what storage returned (null for a fresh node).
 * A restarted node counts its restart as leader contact: it refuses votes for one election
 * timeout, since it cannot know whether a leader's lease is still running.
 */
export function createNode(
  id: NodeId,
  config: CoreConfig,
  persistent: PersistentState | null,
  initialJitterTicks: number,
): NodeState {
  assert(NODE_ID_PATTERN.test(id), `node id ${JSON.stringify(id)} must match ${NODE_ID_PATTERN}`);
  validateCoreConfig(config);
  const snapshot = persistent?.snapshot ?? null;
  const log = persistent?.entries ?? [];
  checkLoadedLog(persistent);
  const view = { snapshot, log };
  let applied = snapshot?.state ?? INITIAL_CLUSTER_STATE;
  const appliedIndex = snapshot?.lastIndex ?? 0;
  const commitIndex = Math.max(
    appliedIndex,
    Math.min(persistent?.hardState.commitIndex ?? 0, lastIndex(view)),
  );
  for (const entry of log) {
    if (entry.index <= commitIndex) applied = applyCommand(applied, entry.command);
  }
  const membership = latestMembership(view);
  const jitter = Math.min(
    Math.max(0, Math.floor(initialJitterTicks)),
    config.electionTimeoutJitterTicks - 1,
  );
  return {
    id,
    config,
    term: persistent?.hardState.term ?? 0,
    votedFor: persistent?.hardState.votedFor ?? null,
    snapshot,
    log,
    role: "follower",
    leader: null,
    commitIndex,
    appliedIndex: commitIndex,
    applied,
    membership: membership.membership,
    membershipIndex: membership.index,
    bootstrapMembership: applied.membership.voters.length > 0 ? applied.membership : null,
    ticksSinceLeaderContact: 0,
    electionElapsedTicks: 0,
    electionTimeoutTicks: config.electionTimeoutTicks + jitter,
    nextJitterTicks: jitter,
    votes: {},
    campaignIsTransfer: false,
    postgres: null,
    // No observation yet: as old as an age can be.
    observationAgeTicks: ageCapTicks(config),
    leaderPosition: null,
    progress: {},
    heartbeatElapsedTicks: 0,
    round: 0,
    roundAgeTicks: {},
    leaseRemainingTicks: 0,
    ticksWithoutQuorum: 0,
    transfer: null,
    ticksWithoutPrimary: 0,
    campaignWaitsForPostgres: false,
    quorumSwitch: null,
    pending: [],
  };
}

/** Assertions on loaded state: contiguous entries after the snapshot, terms in order. */
function checkLoadedLog(persistent: PersistentState | null): void {
  if (persistent === null) return;
  let expected = (persistent.snapshot?.lastIndex ?? 0) + 1;
  let term = persistent.snapshot?.lastTerm ?? 0;
  for (const entry of persistent.entries) {
    assert(
      entry.index === expected,
      `loaded log: entry ${entry.index} where ${expected} was expected`,
    );
    assert(entry.term >= term, `loaded log: entry ${entry.index} term ${entry.term} below ${term}`);
    term = entry.term;
    expected++;
  }
  assert(
    persistent.hardState.term >= term,
    `loaded hard state term ${persistent.hardState.term} below log term ${term}`,
  );
}
