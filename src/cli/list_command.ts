/**
 * `hactl list`: every member in Patroni's columns (member, host:port of its Postgres, role
 * with the synchronous/quorum marker, state, timeline, lag, pending restart, tags), as a
 * table, `--json`, or again every `--watch SECONDS`.
 *
 * @module
 */
import type { AgentStatus } from "../agent/agent_handle.ts";
import { collectStatuses } from "./status_command.ts";
import { renderTable } from "./table.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  optionalReadToken,
  parseOperatorArgs,
  runGuarded,
} from "./operator_options.ts";
import { UsageError } from "./usage_error.ts";
import {
  describeSchedule,
  readScheduledSwitchover,
  type ScheduledSwitchover,
} from "../agent/scheduled_switchover.ts";

/** Most rounds of `--watch` when `--count` is not given (a day at one second). */
const MAX_WATCH_ROUNDS = 86_400;

/** Usage text of `hactl list`. */
export const LIST_USAGE =
  `usage: hactl list [--watch SECONDS [--count N]] (--api HOST:PORT | --config FILE) [--json]

Every member as Patroni's list shows it: member, host, role (Leader, Sync Standby, Quorum
Standby, Replica), state, timeline, lag in MB behind the leader, pending restart, tags; then
"switchover scheduled at ..." when one is pending (hactl switchover --scheduled).
  --watch SECONDS     print the list again every SECONDS until interrupted
  --count N           with --watch: stop after N lists
${COMMON_FLAGS_USAGE}`;

/** One member's row; null fields are unknown (member unreachable or no leader). */
export interface ListRow {
  readonly member: string;
  readonly host: string | null;
  readonly role: string;
  readonly state: string;
  readonly timeline: number | null;
  readonly lagMegabytes: number | null;
  readonly pendingRestart: boolean | null;
  readonly tags: Readonly<Record<string, string>>;
}

/** Column headers of the table, in order. */
export const LIST_COLUMNS = [
  "Member",
  "Host",
  "Role",
  "State",
  "TL",
  "Lag in MB",
  "Pending restart",
  "Tags",
] as const;

/** Members named by the leader's synchronous_standby_names, and whether it is a quorum. */
export function synchronousMembers(names: string): { ids: Set<string>; quorum: boolean } {
  const quorum = /^\s*ANY\b/i.test(names);
  const inner = /\((.*)\)/.exec(names)?.[1] ?? names;
  const ids = inner.split(",").map((name) => name.trim().replace(/^"|"$/g, ""))
    .filter((name) => name !== "" && name !== "*");
  return { ids: new Set(ids), quorum };
}

/** The rows, from the members' statuses (null: did not answer). */
export function listRows(statuses: ReadonlyMap<string, AgentStatus | null>): ListRow[] {
  const answered = [...statuses.values()].filter((status) => status !== null);
  const leader = answered.filter((status) => status.raft.role === "leader")
    .sort((a, b) => b.raft.term - a.raft.term)[0] ?? null;
  const addresses = new Map(answered.flatMap((status) => status.members).map((m) => [m.id, m]));
  const sync = synchronousMembers(leader?.postgres.observation?.synchronousStandbyNames ?? "");
  return [...statuses.entries()].map(([id, status]): ListRow => {
    const address = addresses.get(id);
    const host = address ? `${address.postgres.hostname}:${address.postgres.port}` : null;
    if (status === null) {
      return {
        member: id,
        host,
        role: "unknown",
        state: "unreachable",
        timeline: null,
        lagMegabytes: null,
        pendingRestart: null,
        tags: {},
      };
    }
    const observation = status.postgres.observation;
    const lagBytes = leader === null
      ? null
      : leader.nodeId === id
      ? 0
      : leader.peers.find((peer) => peer.id === id)?.lagBytes ?? null;
    const pending = (status.postgres as { pendingRestart?: unknown }).pendingRestart;
    return {
      member: id,
      host,
      role: id === leader?.nodeId
        ? "Leader"
        : sync.ids.has(id)
        ? (sync.quorum ? "Quorum Standby" : "Sync Standby")
        : "Replica",
      state: observation?.fenced
        ? "fenced"
        : status.postgres.activity || observation?.status || "unknown",
      timeline: observation?.position?.timeline ?? null,
      lagMegabytes: lagBytes === null ? null : Math.round(lagBytes / 1024 / 102.4) / 10,
      pendingRestart: typeof pending === "boolean" ? pending : null,
      tags: status.tags ?? {},
    };
  });
}

/**
 * The pending scheduled switchover as the members report it (the answer that has committed
 * the most entries: the leader's, when it answered), or null.
 */
export function pendingSwitchover(
  statuses: ReadonlyMap<string, AgentStatus | null>,
): ScheduledSwitchover | null {
  const answered = [...statuses.values()].filter((status) => status !== null);
  const latest = answered.sort((a, b) => b.raft.commitIndex - a.raft.commitIndex)[0];
  return latest ? readScheduledSwitchover(latest.cluster.keyValues) : null;
}

/** The table for people, headed by the cluster name; then the pending switchover, if any. */
export function renderList(
  clusterName: string,
  rows: readonly ListRow[],
  scheduled: ScheduledSwitchover | null = null,
): string {
  const cells = rows.map((row) => [
    row.member,
    row.host ?? "-",
    row.role,
    row.state,
    row.timeline === null ? "-" : String(row.timeline),
    row.lagMegabytes === null ? "-" : String(row.lagMegabytes),
    row.pendingRestart === null ? "-" : row.pendingRestart ? "*" : "",
    Object.entries(row.tags).map(([key, value]) => `${key}=${value}`).join(",") || "",
  ]);
  const table = `Cluster: ${clusterName}\n${renderTable(LIST_COLUMNS, cells)}`;
  return scheduled === null ? table : `${table}\n${describeSchedule(scheduled)}`;
}

/** Runs `hactl list ARGS`; 0 when at least one member answered (in the last round). */
export function listCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("list", output, async () => {
    const parsed = await parseOperatorArgs(args, LIST_USAGE, { stringFlags: ["watch", "count"] });
    if (parsed === null) return (output.out(LIST_USAGE), 0);
    const watchSeconds = positiveNumber(parsed.flags.watch, "--watch");
    const rounds = watchSeconds === null
      ? 1
      : positiveNumber(parsed.flags.count, "--count") ?? MAX_WATCH_ROUNDS;
    let code = 1;
    for (let round = 0; round < rounds; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, watchSeconds! * 1000));
      const statuses = await collectStatuses(parsed.apis, await optionalReadToken(parsed));
      const rows = listRows(statuses);
      const name = [...statuses.values()].find((status) => status !== null)?.clusterName ?? "?";
      const scheduled = pendingSwitchover(statuses);
      output.out(
        parsed.json
          ? JSON.stringify({ cluster: name, members: rows, scheduledSwitchover: scheduled })
          : renderList(name, rows, scheduled),
      );
      code = rows.every((row) => row.state === "unreachable") ? 1 : 0;
      if (code === 1) {
        output.error(`no agent answered at ${parsed.apis.join(", ")}; is hactl run up?`);
      }
    }
    return code;
  });
}

function positiveNumber(text: string | undefined, flag: string): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > MAX_WATCH_ROUNDS) {
    throw new UsageError(`${flag} ${text}: expected a positive number`, LIST_USAGE);
  }
  return value;
}
