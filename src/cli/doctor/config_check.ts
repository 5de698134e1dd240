/**
 * Doctor's first check: the node's config file parses and validates, with the loader's own
 * messages (the same loading as `hactl run`, environment overrides included).
 *
 * @module
 */
import { ConfigError, loadAgentConfig } from "../../config/config_file.ts";
import type { AgentConfig } from "../../config/config_schema.ts";
import { type CheckResult, failed, messageOf, passed } from "./check_result.ts";

/** The config (null when it cannot be used) and the row saying so. */
export interface ConfigCheckOutcome {
  readonly config: AgentConfig | null;
  readonly result: CheckResult;
}

/** Loads `path` as `hactl run` would. */
export async function checkConfigFile(
  path: string,
  variables: Readonly<Record<string, string>>,
): Promise<ConfigCheckOutcome> {
  try {
    const config = await loadAgentConfig(path, { environment: variables });
    const peers = config.cluster.peers.map((peer) => peer.id);
    return {
      config,
      result: passed(
        "config",
        `${path}: node ${config.node.id} of cluster ${config.cluster.name}, ` +
          `peers ${peers.length === 0 ? "(none)" : peers.join(", ")}`,
      ),
    };
  } catch (error) {
    const detail = error instanceof ConfigError ? error.errors.join("; ") : messageOf(error);
    return { config: null, result: failed("config", `${path}: ${detail}`) };
  }
}
