/**
 * `hactl dsn`: the libpq multi-host connection URI of the cluster, which connects to the
 * primary (or to a standby) wherever it runs — Patroni's `dsn`, for every member at once.
 *
 * @module
 */
import type { MemberAddress } from "../agent/agent_handle.ts";
import { collectStatuses } from "./status_command.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  optionalReadToken,
  parseOperatorArgs,
  runGuarded,
} from "./operator_options.ts";
import { UsageError } from "./usage_error.ts";

/** libpq's target_session_attrs for each `--role`. */
const SESSION_ATTRIBUTES: Readonly<Record<string, string>> = {
  primary: "read-write",
  standby: "prefer-standby",
  any: "any",
};

/** Usage text of `hactl dsn`. */
export const DSN_USAGE =
  `usage: hactl dsn [--role primary|standby|any] [--dbname NAME] [--user NAME]
                 (--api HOST:PORT | --config FILE) [--json]

Prints the libpq URI listing every member's Postgres; libpq tries them in turn and keeps the
one that matches --role (default primary: target_session_attrs=read-write).
${COMMON_FLAGS_USAGE}`;

/** The URI for `members` (sorted by id). */
export function multiHostUri(
  members: readonly MemberAddress[],
  options: { role: string; dbname: string; user: string | null },
): string {
  const hosts = [...members].sort((a, b) => a.id.localeCompare(b.id)).map((member) => {
    const host = member.postgres.hostname.includes(":")
      ? `[${member.postgres.hostname}]`
      : member.postgres.hostname;
    return `${host}:${member.postgres.port}`;
  });
  const user = options.user === null ? "" : `${encodeURIComponent(options.user)}@`;
  const attributes = SESSION_ATTRIBUTES[options.role] ?? "read-write";
  return `postgresql://${user}${hosts.join(",")}/${
    encodeURIComponent(options.dbname)
  }?target_session_attrs=${attributes}`;
}

/** Runs `hactl dsn ARGS`; the members come from the first agent that answers. */
export function dsnCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("dsn", output, async () => {
    const parsed = await parseOperatorArgs(args, DSN_USAGE, {
      stringFlags: ["role", "dbname", "user"],
    });
    if (parsed === null) return (output.out(DSN_USAGE), 0);
    const role = parsed.flags.role ?? "primary";
    if (!(role in SESSION_ATTRIBUTES)) {
      throw new UsageError(`--role ${role}: expected primary, standby or any`, DSN_USAGE);
    }
    const statuses = await collectStatuses(parsed.apis, await optionalReadToken(parsed));
    const answer = [...statuses.values()].find((status) => status !== null);
    if (answer === undefined) {
      output.error(`no agent answered at ${parsed.apis.join(", ")}; is hactl run up?`);
      return 1;
    }
    const uri = multiHostUri(answer.members, {
      role,
      dbname: parsed.flags.dbname ?? "postgres",
      user: parsed.flags.user ?? null,
    });
    output.out(
      parsed.json ? JSON.stringify({ dsn: uri, members: answer.members.map((m) => m.id) }) : uri,
    );
    return 0;
  });
}
