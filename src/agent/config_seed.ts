/**
 * The seed of the cluster configuration: the commands the first leader proposes, once, to
 * record its file's cluster-wide settings (sync mode, maximum lag, Postgres parameters)
 * in the Raft log. After the seed the node files no longer decide these settings.
 *
 * @module
 */
import type { AgentConfig } from "../config/config_schema.ts";
import {
  MAXIMUM_LAG_KEY,
  NO_LIMIT,
  PARAMETER_KEY_PREFIX,
  SEEDED_KEY,
} from "../core/cluster_config.ts";
import type { ClusterState, Command } from "../core/types.ts";

/** The commands recording `config`'s cluster-wide settings; the seeded marker comes last. */
export function seedCommands(config: AgentConfig, applied: ClusterState): Command[] {
  const commands: Command[] = [];
  if (applied.syncMode !== config.cluster.syncMode) {
    commands.push({ kind: "sync-mode", mode: config.cluster.syncMode });
  }
  const limit = config.cluster.maxLagBytes;
  commands.push({
    kind: "kv",
    key: MAXIMUM_LAG_KEY,
    value: limit === null ? NO_LIMIT : String(limit),
  });
  for (const parameter of config.postgres.parameters) {
    commands.push({
      kind: "kv",
      key: `${PARAMETER_KEY_PREFIX}${parameter.name}`,
      value: parameter.value,
    });
  }
  commands.push({ kind: "kv", key: SEEDED_KEY, value: config.node.id });
  return commands;
}
