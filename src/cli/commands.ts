/**
 * The operator commands, by name, for src/main.ts to dispatch to. They talk to running agents
 * over the REST API; each finds the API from `--api host:port` (repeatable) or `--config FILE`
 * (this node's API plus every configured peer's) and the secret from `--secret-file` or the
 * config.
 *
 * @module
 */
import { statusCommand } from "./status_command.ts";
import { switchoverCommand } from "./switchover_command.ts";
import { membersCommand } from "./members_command.ts";
import { pauseCommand } from "./pause_command.ts";

/** An operator command: a one-line summary and a function from arguments to exit code. */
export interface OperatorCommand {
  readonly summary: string;
  run(args: string[]): Promise<number>;
}

/** Operator commands by name. */
export const OPERATOR_COMMANDS: Record<string, OperatorCommand> = {
  status: {
    summary: "members, roles, timeline, LSN, lag, term and leader (a table, or --json)",
    run: (args) => statusCommand(args),
  },
  switchover: {
    summary: "planned, lossless change of primary (--to NODE)",
    run: (args) => switchoverCommand(args),
  },
  members: {
    summary: "list, add or remove members",
    run: (args) => membersCommand(args),
  },
  pause: {
    summary: "maintenance mode: no automatic Postgres role changes",
    run: (args) => pauseCommand(true, args),
  },
  resume: {
    summary: "leave maintenance mode",
    run: (args) => pauseCommand(false, args),
  },
};
