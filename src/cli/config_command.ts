/**
 * `hactl show-config` and `hactl edit-config`: the cluster-wide configuration recorded in
 * the Raft log (src/config/cluster_settings.ts), shown as `key = "value"` lines (TOML with
 * dotted keys) or JSON, and changed by `--set KEY=VALUE...` or in $EDITOR. A change is
 * `PATCH /config` with the changed keys only; a removed line removes the setting.
 *
 * @module
 */
import { apiFetchOptions, apiUrl } from "./api_transport.ts";
import { flatSettings, type Setting } from "../config/cluster_settings.ts";
import { quoteTomlString } from "../config/toml_subset.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  type OperatorArgs,
  optionalReadToken,
  parseOperatorArgs,
  requireAdminToken,
  runGuarded,
} from "./operator_options.ts";
import { sendOperatorRequest } from "./operator_request.ts";
import { fetchStatus } from "./api_client.ts";
import { UsageError } from "./usage_error.ts";

/** Most `KEY=VALUE` arguments of one `--set`. */
const MAX_SET_ARGUMENTS = 200;

/** Usage text of `hactl show-config`. */
export const SHOW_CONFIG_USAGE =
  `usage: hactl show-config (--api HOST:PORT | --config FILE) [--json]

Prints the cluster-wide configuration: sync_mode, maximum_lag_on_failover,
postgresql.parameters.<name>, tags.<member>.<tag>.
${COMMON_FLAGS_USAGE}`;

/** Usage text of `hactl edit-config`. */
export const EDIT_CONFIG_USAGE =
  `usage: hactl edit-config (--api HOST:PORT | --config FILE) [--secret-file FILE]
                         [--set KEY=VALUE [KEY=VALUE...]]

Changes the cluster-wide configuration: with --set, the given keys (an empty VALUE removes
the key); without, opens $EDITOR (default vi) on it and records what changed.
Keys: sync_mode (quorum|asynchronous), maximum_lag_on_failover (bytes),
postgresql.parameters.<name>, tags.<member>.<nofailover|nosync|noloadbalance|failover_priority>.
${COMMON_FLAGS_USAGE}`;

/** The settings as `key = "value"` lines. */
export function renderSettings(settings: readonly Setting[]): string {
  return settings.map((setting) => `${setting.key} = ${quoteTomlString(setting.value ?? "")}`)
    .join("\n");
}

/** Parses `key = value` lines (value quoted or bare; `#` comments); throws naming the line. */
export function parseSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const separator = line.indexOf("=");
    if (separator <= 0) throw new Error(`line ${index + 1}: expected key = value, got ${line}`);
    const key = line.slice(0, separator).trim();
    const rest = line.slice(separator + 1).trim();
    let value = rest;
    if (rest.startsWith('"')) {
      try {
        value = JSON.parse(rest);
      } catch {
        throw new Error(`line ${index + 1}: ${rest} is not a complete "quoted" value`);
      }
    }
    settings.set(key, value);
  }
  return settings;
}

/** The patch turning `before` into `after`: changed and new keys, removed ones as null. */
export function settingsPatch(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  for (const [key, value] of after) if (before.get(key) !== value) patch[key] = value;
  for (const key of before.keys()) if (!after.has(key)) patch[key] = null;
  return patch;
}

/** Runs `hactl show-config ARGS`. */
export function showConfigCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("show-config", output, async () => {
    const parsed = await parseOperatorArgs(args, SHOW_CONFIG_USAGE);
    if (parsed === null) return (output.out(SHOW_CONFIG_USAGE), 0);
    const current = await readConfig(parsed, output);
    if (current === null) return 1;
    output.out(parsed.json ? JSON.stringify(current.document) : renderSettings(current.settings));
    return 0;
  });
}

/** Reads the configuration from the first API that answers; null (reported) when none does. */
async function readConfig(
  parsed: OperatorArgs,
  output: CommandOutput,
): Promise<{ settings: Setting[]; document: unknown } | null> {
  const token = await optionalReadToken(parsed);
  for (const api of parsed.apis) {
    try {
      const status = await fetchStatus(api, undefined, token);
      const response = await fetch(apiUrl(api, "/config"), {
        ...apiFetchOptions(),
        signal: AbortSignal.timeout(3000),
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      const document = await response.json();
      return { settings: flatSettings(status.cluster), document };
    } catch (error) {
      output.error(`${api}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  output.error(`no agent reachable at ${parsed.apis.join(", ")}; is hactl run up?`);
  return null;
}

/** Runs `hactl edit-config ARGS`. */
export function editConfigCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("edit-config", output, async () => {
    const parsed = await parseOperatorArgs(args, EDIT_CONFIG_USAGE, {
      stringFlags: ["set"],
      maxPositionals: MAX_SET_ARGUMENTS,
    });
    if (parsed === null) return (output.out(EDIT_CONFIG_USAGE), 0);
    const token = await requireAdminToken(parsed, EDIT_CONFIG_USAGE);
    const patch = parsed.flags.set === undefined
      ? await patchFromEditor(parsed, output)
      : patchFromArguments([parsed.flags.set, ...parsed.positionals]);
    if (patch === null) return 1;
    if (Object.keys(patch).length === 0) return (output.out("no change"), 0);
    return await sendOperatorRequest({
      parsed,
      token,
      path: "/config",
      method: "PATCH",
      body: patch,
      doneMessage: `cluster configuration changed: ${Object.keys(patch).join(", ")}`,
      output,
    });
  });
}

function patchFromArguments(assignments: readonly string[]): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  for (const assignment of assignments) {
    const separator = assignment.indexOf("=");
    if (separator <= 0) {
      throw new UsageError(`--set: expected KEY=VALUE, got ${assignment}`, EDIT_CONFIG_USAGE);
    }
    const value = assignment.slice(separator + 1);
    patch[assignment.slice(0, separator)] = value === "" ? null : value;
  }
  return patch;
}

async function patchFromEditor(
  parsed: OperatorArgs,
  output: CommandOutput,
): Promise<Record<string, string | null> | null> {
  const current = await readConfig(parsed, output);
  if (current === null) return null;
  const before = new Map(current.settings.map((setting) => [setting.key, setting.value ?? ""]));
  const path = await Deno.makeTempFile({ prefix: "hactl-config-", suffix: ".toml" });
  try {
    await Deno.writeTextFile(
      path,
      "# The cluster configuration; remove a line to remove the setting.\n" +
        `${renderSettings(current.settings)}\n`,
    );
    const editor = Deno.env.get("VISUAL") ?? Deno.env.get("EDITOR") ?? "vi";
    const status = await new Deno.Command("sh", {
      args: ["-c", `${editor} "$1"`, "editor", path],
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) {
      output.error(`the editor (${editor}) exited with ${status.code}; nothing changed`);
      return null;
    }
    return settingsPatch(before, parseSettings(await Deno.readTextFile(path)));
  } catch (error) {
    output.error(`edit-config: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
