/**
 * The cluster-wide configuration, kept in the replicated key-value map under `config/`:
 *
 * - `config/postgresql/parameters/<name>` = value: a Postgres parameter for every member;
 * - `config/maximum_lag_on_failover` = bytes, or `none`: D2's maximum lag (Patroni's name);
 * - `config/tags/<node>/<tag>` = value: a member's tag (`nofailover`, `nosync`,
 *   `noloadbalance`, `failover_priority`);
 * - `config/seeded` = node id: the first leader wrote its file's values once (never again).
 *
 * The sync mode has a command of its own (`sync-mode`). Every member reads these keys from
 * the same applied state, so leadership moving never changes a setting. Pure: the core reads
 * the tags that bear on elections and the synchronous set from here.
 *
 * @module
 */
import type { ClusterState, NodeId } from "./types.ts";

/** Every cluster configuration key starts with this. */
export const CONFIG_KEY_PREFIX = "config/";
/** Prefix of a cluster-wide Postgres parameter's key. */
export const PARAMETER_KEY_PREFIX = "config/postgresql/parameters/";
/** Key of the cluster's maximum lag on failover, in bytes (or `none`). */
export const MAXIMUM_LAG_KEY = "config/maximum_lag_on_failover";
/** Key recording that the first leader seeded the configuration from its file. */
export const SEEDED_KEY = "config/seeded";
/** Prefix of the per-member tags. */
export const TAG_KEY_PREFIX = "config/tags/";
/** The value of {@link MAXIMUM_LAG_KEY} meaning "no limit". */
export const NO_LIMIT = "none";
/** The tags a member may carry. */
export const NODE_TAGS: readonly string[] = [
  "nofailover",
  "nosync",
  "noloadbalance",
  "failover_priority",
];

/** The key of one member's tag. */
export function tagKey(node: NodeId, tag: string): string {
  return `${TAG_KEY_PREFIX}${node}/${tag}`;
}

/** One member's tags, by name (empty when it has none). */
export function nodeTags(applied: ClusterState, node: NodeId): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const tag of NODE_TAGS) {
    const value = applied.keyValues[tagKey(node, tag)];
    if (value !== undefined) tags[tag] = value;
  }
  return tags;
}

/** True when a tag value means "set" (Patroni accepts booleans written several ways). */
export function isTrueTag(value: string | undefined): boolean {
  return value !== undefined && ["true", "on", "yes", "1"].includes(value.toLowerCase());
}

/**
 * Why the tags forbid `node` to become primary, or null. `nofailover`, and Patroni's
 * `failover_priority = 0`, mean: never campaigns, never a switchover target.
 */
export function failoverTagBlocker(
  applied: Pick<ClusterState, "keyValues">,
  node: NodeId,
): string | null {
  if (isTrueTag(applied.keyValues[tagKey(node, "nofailover")])) return "tag nofailover is set";
  if (applied.keyValues[tagKey(node, "failover_priority")]?.trim() === "0") {
    return "tag failover_priority is 0";
  }
  return null;
}

/** Patroni's default `failover_priority` for a member without the tag. */
export const DEFAULT_FAILOVER_PRIORITY = 1;

/**
 * A member's failover priority (Patroni's `failover_priority`): higher is preferred among
 * members that may lead; 0 never leads (see {@link failoverTagBlocker}). A missing or
 * malformed value (the API validates it) counts as the default.
 */
export function failoverPriority(applied: ClusterState, node: NodeId): number {
  const text = applied.keyValues[tagKey(node, "failover_priority")]?.trim();
  if (text === undefined || !/^[0-9]{1,6}$/.test(text)) return DEFAULT_FAILOVER_PRIORITY;
  return Number(text);
}

/**
 * The voter, if any, that outranks `node` for an election: one that may lead, is not in
 * `excluded` (the leader being replaced, which cannot campaign) and has a strictly higher
 * failover priority. Only the order of candidacy follows from it, never a vote: a node
 * that is outranked waits one more election timeout before it campaigns, so an equally
 * placed higher-priority member wins when it is alive, and the lower one still takes
 * over when it is not (or when it is behind and cannot win a vote).
 */
export function outrankingVoter(
  applied: ClusterState,
  voters: readonly NodeId[],
  node: NodeId,
  excluded: NodeId | null,
): NodeId | null {
  const own = failoverPriority(applied, node);
  for (const voter of voters) {
    if (voter === node || voter === excluded) continue;
    if (failoverTagBlocker(applied, voter) !== null) continue;
    if (failoverPriority(applied, voter) > own) return voter;
  }
  return null;
}

/** True when `node` asks to be left out of the synchronous set (tag `nosync`). */
export function hasNoSyncTag(applied: ClusterState, node: NodeId): boolean {
  return isTrueTag(applied.keyValues[tagKey(node, "nosync")]);
}

/**
 * The maximum lag on failover in force: the cluster's value once recorded, else the
 * node's own (before the first leader seeded it). Null: no limit.
 */
export function maximumLagBytes(applied: ClusterState, local: number | null): number | null {
  const text = applied.keyValues[MAXIMUM_LAG_KEY];
  if (text === undefined) return local;
  if (text === NO_LIMIT) return null;
  // Written only after validation (the API refuses anything else); a damaged value falls
  // back to the node's own limit rather than disabling the rule.
  return /^[0-9]{1,15}$/.test(text) ? Number(text) : local;
}

/** The cluster-wide Postgres parameters, sorted by name. */
export function clusterParameters(
  applied: Pick<ClusterState, "keyValues">,
): Array<[string, string]> {
  return Object.entries(applied.keyValues)
    .filter(([key]) => key.startsWith(PARAMETER_KEY_PREFIX))
    .map(([key, value]): [string, string] => [key.slice(PARAMETER_KEY_PREFIX.length), value])
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}
