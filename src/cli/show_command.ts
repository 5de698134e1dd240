/**
 * `hactl show systemd`: prints files an operator installs next to hactl (for now the systemd
 * unit of the agent).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { renderSystemdUnit } from "./systemd_unit.ts";
import { UsageError } from "./usage_error.ts";
import { currentSelfInvocation } from "../self_command.ts";

/** Where the release binary is installed by the README's steps. */
export const DEFAULT_EXECUTABLE = "/usr/local/bin/hactl";
/** Where the README's steps put the node's config. */
export const DEFAULT_CONFIG_PATH = "/etc/hactl/hactl.toml";

/** Usage text of `hactl show`. */
export const SHOW_USAGE =
  `usage: hactl show systemd [--executable PATH] [--config FILE] [--user USER]

Prints a systemd unit for this node's agent; install it as /etc/systemd/system/hactl.service.
  --executable PATH   the hactl binary (default: this one when compiled, else ${DEFAULT_EXECUTABLE})
  --config FILE       the node's config (default: ${DEFAULT_CONFIG_PATH})
  --user USER         the user the agent runs as (default: postgres)`;

/** Runs `hactl show ARGS`. */
export function showCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        executable: { type: "string" },
        config: { type: "string" },
        user: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), SHOW_USAGE);
  }
  const { values, positionals } = parsed;
  if (values.help) return Promise.resolve((console.log(SHOW_USAGE), 0));
  if (positionals.length !== 1 || positionals[0] !== "systemd") {
    throw new UsageError(
      `expected "systemd", got ${JSON.stringify(positionals.join(" "))}`,
      SHOW_USAGE,
    );
  }
  const invocation = currentSelfInvocation();
  const executable = values.executable ??
    (invocation.kind === "compiled" ? invocation.executable : DEFAULT_EXECUTABLE);
  for (const [flag, path] of [["--executable", executable], ["--config", values.config]]) {
    if (path !== undefined && !path.startsWith("/")) {
      throw new UsageError(`${flag} ${path}: systemd needs an absolute path`, SHOW_USAGE);
    }
  }
  console.log(
    renderSystemdUnit({
      executable,
      configPath: values.config ?? DEFAULT_CONFIG_PATH,
      user: values.user ?? "postgres",
    }).trimEnd(),
  );
  return Promise.resolve(0);
}
