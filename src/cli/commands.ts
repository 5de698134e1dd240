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
import { listCommand } from "./list_command.ts";
import { dsnCommand } from "./dsn_command.ts";
import { versionCommand } from "./version_command.ts";
import { failoverCommand } from "./failover_command.ts";
import { reloadCommand } from "./reload_command.ts";
import { reinitCommand } from "./reinit_command.ts";
import { restartCommand } from "./restart_command.ts";
import { editConfigCommand, showConfigCommand } from "./config_command.ts";
import { tokenCommand } from "./token_command.ts";
import { whyCommand } from "./why_command.ts";
import { historyCommand } from "./history_command.ts";

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
  list: {
    summary: "members in Patroni's columns: host, role, state, timeline, lag, tags (--watch)",
    run: (args) => listCommand(args),
  },
  dsn: {
    summary: "the libpq multi-host URI of the cluster (--role primary|standby|any)",
    run: (args) => dsnCommand(args),
  },
  version: {
    summary: "this hactl's version; with --api/--config every member's hactl and Postgres",
    run: (args) => versionCommand(args),
  },
  switchover: {
    summary: "planned, lossless change of primary (--to NODE, --scheduled TIME, --cancel, --wait)",
    run: (args) => switchoverCommand(args),
  },
  failover: {
    summary: "move the primary off an unhealthy one (--candidate NODE, --force)",
    run: (args) => failoverCommand(args),
  },
  restart: {
    summary: "rolling restart of Postgres: standbys one by one, the primary last by switchover",
    run: (args) => restartCommand(args),
  },
  reinit: {
    summary: "replace a standby's data by a fresh clone of the leader (--wait)",
    run: (args) => reinitCommand(args),
  },
  reload: {
    summary: "every member's agent reads its config file again (like SIGHUP)",
    run: (args) => reloadCommand(args),
  },
  history: {
    summary: "the promotions recorded in the Raft log: term, timeline, member, reason, time",
    run: (args) => historyCommand(args),
  },
  why: {
    summary: "why a member is or is not the primary, why no failover happens, last decisions",
    run: (args) => whyCommand(args),
  },
  "show-config": {
    summary: "the cluster-wide configuration (sync mode, lag limit, parameters, tags)",
    run: (args) => showConfigCommand(args),
  },
  "edit-config": {
    summary: "change the cluster-wide configuration ($EDITOR, or --set KEY=VALUE...)",
    run: (args) => editConfigCommand(args),
  },
  members: {
    summary: "list, add or remove members",
    run: (args) => membersCommand(args),
  },
  token: {
    summary: "the API's admin token, or --read-only the token for status and metrics",
    run: (args) => tokenCommand(args),
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
