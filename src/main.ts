/**
 * The `hactl` command line: dispatches to the subcommands.
 *
 * @module
 */
import { runCommand } from "./cli/run_command.ts";
import { initCommand } from "./cli/init_command.ts";
import { demoCommand } from "./cli/demo_command.ts";
import { doctorCommand } from "./cli/doctor/doctor_command.ts";
import { showCommand } from "./cli/show_command.ts";
import { OPERATOR_COMMANDS } from "./cli/commands.ts";
import { watchdogCommand } from "./watchdog/watchdog_command.ts";
import { UsageError } from "./cli/usage_error.ts";
import { ConfigError } from "./config/config_file.ts";
import { VERSION } from "./version.ts";

export { VERSION } from "./version.ts";

const LOCAL_COMMANDS: Record<string, { summary: string; run(args: string[]): Promise<number> }> = {
  run: {
    summary: "run this node's agent (Raft member, Postgres supervisor, API)",
    run: runCommand,
  },
  init: { summary: "write a commented config file and a cluster secret", run: initCommand },
  doctor: {
    summary: "check this host before hactl run: ports, peers, clocks, disk, Postgres, files",
    run: (args) => doctorCommand(args),
  },
  watchdog: {
    summary: "(internal) the fencing watchdog started by hactl run",
    run: watchdogCommand,
  },
  demo: {
    summary: "start a local 3-node cluster (--failover: kill the primary and measure)",
    run: demoCommand,
  },
  show: { summary: "print the systemd unit of the agent (show systemd)", run: showCommand },
};

function usage(): string {
  const all = { ...LOCAL_COMMANDS, ...OPERATOR_COMMANDS };
  const lines = Object.entries(all).map(([name, command]) =>
    `  ${name.padEnd(12)} ${command.summary}`
  );
  return `usage: hactl COMMAND [flags]   (hactl COMMAND --help for its flags)\n\ncommands:\n${
    lines.join("\n")
  }`;
}

/** Runs the command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") {
    console.log(`hactl ${VERSION}`);
    return 0;
  }
  const command = LOCAL_COMMANDS[name] ?? OPERATOR_COMMANDS[name];
  if (!command) {
    console.error(`hactl: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`hactl ${name}: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    console.error(`hactl ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
