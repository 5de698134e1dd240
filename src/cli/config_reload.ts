/**
 * SIGHUP for `hactl run` (systemd's ExecReload): the node's file is read again and checked.
 * A file with mistakes is reported and the running settings are kept. A valid file is
 * compared with the running settings: every setting of the node's file shapes how the agent
 * was started (listeners, Raft timing, Postgres' data directory and users, peers), so a
 * changed setting is reported by name as waiting for a restart of the agent — none is
 * applied half-way. A reload never stops the agent.
 *
 * @module
 */
import type { AgentConfig } from "../config/config_schema.ts";
import { ConfigError, loadAgentConfig } from "../config/config_file.ts";

/** Settings of the node's file that only seed the cluster configuration (cluster_settings.ts). */
const CLUSTER_WIDE_SETTINGS: readonly string[] = [
  "cluster.syncMode",
  "cluster.maxLagBytes",
  "postgres.parameters",
];

/** Where a reload reports what it found. */
export interface ReloadLog {
  info(component: string, text: string): void;
  warn(component: string, text: string): void;
}

/** Settings (`section.key`, camelCase as in AgentConfig) whose values differ. */
export function changedSettings(running: AgentConfig, reloaded: AgentConfig): string[] {
  const changed: string[] = [];
  for (const section of Object.keys(running) as (keyof AgentConfig)[]) {
    const before = running[section] as Record<string, unknown>;
    const after = reloaded[section] as Record<string, unknown>;
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
        changed.push(`${section}.${key}`);
      }
    }
  }
  return changed.sort();
}

/** Reads `path` again and logs what changed; returns the changed settings or the error. */
export async function reloadConfig(
  path: string,
  running: AgentConfig,
  log: ReloadLog,
): Promise<{ changed: string[] } | { error: string }> {
  let reloaded: AgentConfig;
  try {
    reloaded = await loadAgentConfig(path, { environment: Deno.env.toObject() });
  } catch (error) {
    const text = error instanceof ConfigError || error instanceof Error
      ? error.message
      : String(error);
    log.warn("reload", `${path} not reloaded, the running settings stay: ${text}`);
    return { error: text };
  }
  const changed = changedSettings(running, reloaded);
  const clusterWide = changed.filter((name) => CLUSTER_WIDE_SETTINGS.includes(name));
  if (clusterWide.length > 0) {
    log.warn(
      "reload",
      `${clusterWide.join(", ")}: only the first leader's value seeds the cluster ` +
        "configuration; change the cluster's with hactl edit-config",
    );
  }
  log.info(
    "reload",
    changed.length === 0
      ? `${path} read again and valid; nothing changed`
      : `${path} read again and valid; changed: ${changed.join(", ")}; ` +
        "they take effect when the agent restarts (systemctl restart hactl)",
  );
  return { changed };
}

/** Reloads `path` on every SIGHUP until `stop` is called. */
export function reloadOnHangup(path: string, running: AgentConfig, log: ReloadLog): () => void {
  const listener = () => void reloadConfig(path, running, log);
  Deno.addSignalListener("SIGHUP", listener);
  return () => Deno.removeSignalListener("SIGHUP", listener);
}
