/**
 * The pure core of hactl: Raft with pre-vote, check-quorum and a leader lease, and the
 * failover decision. No I/O, clocks, randomness or promises: the agent, the model checker
 * and the property tests all run this same code.
 *
 * @module
 */
export * from "./types.ts";
export { step } from "./step.ts";
export { createNode, NODE_ID_PATTERN } from "./node.ts";
export {
  decidePostgresRole,
  synchronousStandbyNames,
  SYSTEM_IDENTIFIER_KEY,
} from "./postgres_role.ts";
export { hasWriteAuthority, ownTermCommitted } from "./lease.ts";
export {
  ageCapTicks,
  defaultCoreConfig,
  leaseDurationTicks,
  NO_FAULTS,
  OBSERVATION_MARGIN_TICKS,
  PRIMARY_START_TIMEOUT_ELECTION_TIMEOUTS,
  validateCoreConfig,
} from "./config.ts";
export {
  commonWalBytes,
  formatWalPosition,
  lagBytes,
  MAX_HISTORY_LINES,
  relateWalPositions,
  timelineOwning,
  type WalRelation,
  withRecentHistory,
} from "./wal_position.ts";
export { needsFreshObservation, observationFreshEnough } from "./freshness.ts";
export { AssertionError } from "./assert.ts";
export {
  isInitialised,
  isLogUpToDate,
  lastIndex,
  lastTerm,
  latestMembership,
  type LogView,
  termAt,
} from "./raft_log.ts";
export { INITIAL_CLUSTER_STATE, MAX_KEY_LENGTH, MAX_VALUE_LENGTH } from "./cluster_state.ts";
export { MAX_MEMBERS } from "./membership.ts";
export { applyPersistRequest, EMPTY_PERSISTENT_STATE } from "./persistence.ts";
export {
  clusterParameters,
  CONFIG_KEY_PREFIX,
  failoverPriority,
  failoverTagBlocker,
  hasNoSyncTag,
  isTrueTag,
  MAXIMUM_LAG_KEY,
  maximumLagBytes,
  NO_LIMIT,
  NODE_TAGS,
  nodeTags,
  outrankingVoter,
  PARAMETER_KEY_PREFIX,
  SEEDED_KEY,
  TAG_KEY_PREFIX,
  tagKey,
} from "./cluster_config.ts";
