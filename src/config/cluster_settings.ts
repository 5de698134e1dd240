/**
 * The cluster configuration as operators see it — a JSON document (`GET/PATCH /config`) and
 * flat `key = value` settings (`hactl edit-config`, `--set`) — and the commands that record
 * a change in the Raft log. Keys:
 *
 * - `sync_mode` = quorum | asynchronous (Patroni's `synchronous_mode` true/false is accepted)
 * - `maximum_lag_on_failover` = bytes (null / absent: no limit)
 * - `postgresql.parameters.<name>` = value
 * - `tags.<member>.<tag>` = value, tag one of nofailover, nosync, noloadbalance, failover_priority
 *
 * @module
 */
import {
  clusterParameters,
  MAXIMUM_LAG_KEY,
  NO_LIMIT,
  NODE_TAGS,
  PARAMETER_KEY_PREFIX,
  TAG_KEY_PREFIX,
  tagKey,
} from "../core/cluster_config.ts";
import { MAX_VALUE_LENGTH } from "../core/cluster_state.ts";
import { NODE_ID_PATTERN } from "../core/node.ts";
import type { Command } from "../core/types.ts";
import { MANAGED_POSTGRES_PARAMETERS } from "./config_schema.ts";

/** Most settings one change may carry. */
export const MAX_SETTINGS_PER_CHANGE = 200;
const PARAMETER_PREFIX = "postgresql.parameters.";
const PARAMETER_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
const LAG_PATTERN = /^[0-9]{1,15}$/;

/** What the configuration is read from: the applied cluster state, or an agent's status. */
export interface ConfigSource {
  readonly syncMode: string;
  readonly keyValues: Readonly<Record<string, string>>;
}

/** One flat setting; value null removes it (the default applies). */
export interface Setting {
  readonly key: string;
  readonly value: string | null;
}

/** The cluster configuration as a JSON document (Patroni's shape where it has one). */
export function clusterConfigDocument(
  applied: ConfigSource,
): Record<string, unknown> {
  const lag = applied.keyValues[MAXIMUM_LAG_KEY];
  const tags: Record<string, Record<string, string>> = {};
  for (const [key, value] of Object.entries(applied.keyValues)) {
    if (!key.startsWith(TAG_KEY_PREFIX)) continue;
    const [node, tag] = key.slice(TAG_KEY_PREFIX.length).split("/");
    if (node === undefined || tag === undefined) continue;
    (tags[node] ??= {})[tag] = value;
  }
  return {
    sync_mode: applied.syncMode,
    maximum_lag_on_failover: lag === undefined || lag === NO_LIMIT ? null : Number(lag),
    postgresql: { parameters: Object.fromEntries(clusterParameters(applied)) },
    tags,
  };
}

/** The document as flat settings, in a stable order. */
export function flatSettings(applied: ConfigSource): Setting[] {
  const document = clusterConfigDocument(applied);
  const settings: Setting[] = [{ key: "sync_mode", value: applied.syncMode }];
  const lag = document.maximum_lag_on_failover;
  if (lag !== null) settings.push({ key: "maximum_lag_on_failover", value: String(lag) });
  for (const [name, value] of clusterParameters(applied)) {
    settings.push({ key: `${PARAMETER_PREFIX}${name}`, value });
  }
  const tags = document.tags as Record<string, Record<string, string>>;
  for (const node of Object.keys(tags).sort()) {
    for (const [tag, value] of Object.entries(tags[node]!)) {
      settings.push({ key: `tags.${node}.${tag}`, value });
    }
  }
  return settings;
}

/** The command recording one setting, or what is wrong with it. */
export function settingCommand(setting: Setting): Command | string {
  const { key, value } = setting;
  // A newline in a value would start a new line of parameters.conf: control characters out.
  // deno-lint-ignore no-control-regex
  if (value !== null && (value.length > MAX_VALUE_LENGTH || /[\x00-\x1f\x7f]/.test(value))) {
    return `${key}: expected at most ${MAX_VALUE_LENGTH} characters without control characters`;
  }
  if (key === "synchronous_mode") {
    // Patroni's name: true (or "quorum") is hactl's quorum mode, false asynchronous.
    const mode = value === "true" || value === "quorum"
      ? "quorum"
      : value === "false"
      ? "asynchronous"
      : null;
    if (mode === null) {
      return `synchronous_mode: expected true, false or "quorum", got ${JSON.stringify(value)}`;
    }
    return { kind: "sync-mode", mode };
  }
  if (key === "sync_mode") {
    if (value !== "quorum" && value !== "asynchronous") {
      return `sync_mode: expected "quorum" or "asynchronous", got ${JSON.stringify(value)}`;
    }
    return { kind: "sync-mode", mode: value };
  }
  if (key === "maximum_lag_on_failover") {
    if (value !== null && !LAG_PATTERN.test(value)) {
      return `maximum_lag_on_failover: expected a number of bytes (or null for no limit), got ${
        JSON.stringify(value)
      }`;
    }
    return { kind: "kv", key: MAXIMUM_LAG_KEY, value: value ?? NO_LIMIT };
  }
  if (key.startsWith(PARAMETER_PREFIX)) return parameterCommand(key, value);
  if (key.startsWith("tags.")) return tagCommand(key, value);
  return `unknown setting ${JSON.stringify(key)}: expected sync_mode, maximum_lag_on_failover, ` +
    "postgresql.parameters.<name> or tags.<member>.<tag>";
}

function parameterCommand(key: string, value: string | null): Command | string {
  const name = key.slice(PARAMETER_PREFIX.length);
  if (!PARAMETER_NAME.test(name) || name.length > 63) {
    return `${key}: ${JSON.stringify(name)} is not a Postgres parameter name`;
  }
  if (MANAGED_POSTGRES_PARAMETERS.includes(name)) {
    return `${key}: ${name} is managed by hactl and cannot be set cluster-wide`;
  }
  return { kind: "kv", key: `${PARAMETER_KEY_PREFIX}${name}`, value };
}

function tagCommand(key: string, value: string | null): Command | string {
  const parts = key.split(".");
  const [, node, tag] = parts;
  if (parts.length !== 3 || node === undefined || !NODE_ID_PATTERN.test(node)) {
    return `${key}: expected tags.<member>.<tag> with a member id`;
  }
  if (tag === undefined || !NODE_TAGS.includes(tag)) {
    return `${key}: unknown tag ${JSON.stringify(tag)}; expected one of ${NODE_TAGS.join(", ")}`;
  }
  if (tag === "failover_priority" && value !== null && !/^[0-9]{1,6}$/.test(value)) {
    return `${key}: expected a non-negative integer, got ${JSON.stringify(value)}`;
  }
  return { kind: "kv", key: tagKey(node, tag), value };
}

/**
 * A JSON merge patch of the document (`PATCH /config`) as flat settings; null removes.
 * Returns what is wrong when the body is not such a patch.
 */
export function settingsOfPatch(body: Record<string, unknown>): Setting[] | string {
  const settings: Setting[] = [];
  const walk = (value: unknown, path: string, depth: number): string | null => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      if (depth >= 3) return `${path}: nested too deeply`;
      for (const [name, inner] of Object.entries(value)) {
        const problem = walk(inner, path === "" ? name : `${path}.${name}`, depth + 1);
        if (problem !== null) return problem;
      }
      return null;
    }
    if (settings.length >= MAX_SETTINGS_PER_CHANGE) {
      return `more than ${MAX_SETTINGS_PER_CHANGE} settings in one change`;
    }
    if (value === null || typeof value === "string") settings.push({ key: path, value });
    else if (typeof value === "number" || typeof value === "boolean") {
      settings.push({ key: path, value: String(value) });
    } else return `${path}: expected a string, number, boolean or null`;
    return null;
  };
  const problem = walk(body, "", 0);
  return problem ?? settings;
}
