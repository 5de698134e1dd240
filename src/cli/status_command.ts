/**
 * `hactl status`: asks every member it can reach for /status (starting from the given APIs,
 * then the members named in the answers) and prints one row per member, or `--json`.
 *
 * @module
 */
import { apiTransportNote } from "./api_transport.ts";
import type { AgentStatus } from "../agent/agent_handle.ts";
import { describeNodeRole } from "../api/health.ts";
import { formatApiAddress } from "../api/api_address.ts";
import { formatLsn } from "../postgres/lsn.ts";
import { describeOptOut } from "../postgres/durability_settings.ts";
import { fetchStatus } from "./api_client.ts";
import { formatByteCount, renderTable } from "./table.ts";
import { plainTextParts } from "../config/tls_config.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  MAX_API_ADDRESSES,
  optionalReadToken,
  parseOperatorArgs,
  runGuarded,
} from "./operator_options.ts";

/** Rounds of "ask the members the answers named": a member list is complete after two. */
const MAX_DISCOVERY_ROUNDS = 4;

/** Usage text of `hactl status`. */
export const STATUS_USAGE = `usage: hactl status [--api HOST:PORT ...] [--config FILE] [--json]

Shows every member: Postgres role, Raft role, state, timeline, LSN, lag, term and leader.
${COMMON_FLAGS_USAGE}`;

/** Columns of the status table. */
export const STATUS_COLUMNS = [
  "member",
  "role",
  "raft",
  "state",
  "timeline",
  "lsn",
  "lag",
  "term",
  "leader",
] as const;

/**
 * Status of every member reachable from `apis`, keyed by node id (sorted); null for a member
 * that did not answer. An API that did not answer and that no answer names is keyed by its
 * address. `readToken` (api.require_read_token) is sent only to `apis`.
 */
export async function collectStatuses(
  apis: readonly string[],
  readToken: string | null = null,
): Promise<Map<string, AgentStatus | null>> {
  const statuses = new Map<string, AgentStatus | null>();
  const memberOfAddress = new Map<string, string>();
  const asked = new Set<string>();
  let pending = [...new Set(apis)];
  for (let round = 0; round < MAX_DISCOVERY_ROUNDS && pending.length > 0; round++) {
    pending.forEach((api) => asked.add(api));
    const answers = await Promise.all(
      // The token goes only to the APIs given or configured, not to addresses answers named.
      pending.map((api) =>
        fetchStatus(api, undefined, apis.includes(api) ? readToken : null).catch(() => null)
      ),
    );
    for (const status of answers) {
      if (status === null) continue;
      statuses.set(status.nodeId, status);
      for (const member of status.members) memberOfAddress.set(formatApiAddress(member), member.id);
    }
    pending = [...memberOfAddress.entries()]
      .filter(([address, id]) => !asked.has(address) && !statuses.has(id))
      .map(([address]) => address)
      .slice(0, MAX_API_ADDRESSES);
  }
  for (const address of asked) {
    const id = memberOfAddress.get(address) ?? address;
    if (!statuses.has(id)) statuses.set(id, null);
  }
  return new Map([...statuses.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** The status of the leader with the highest term among the answers, if any answered. */
function leaderStatus(statuses: ReadonlyMap<string, AgentStatus | null>): AgentStatus | null {
  let best: AgentStatus | null = null;
  for (const status of statuses.values()) {
    if (status?.raft.role === "leader" && (best === null || status.raft.term > best.raft.term)) {
      best = status;
    }
  }
  return best;
}

/** One table row per member, in {@link STATUS_COLUMNS} order. */
export function statusRows(statuses: ReadonlyMap<string, AgentStatus | null>): string[][] {
  const leader = leaderStatus(statuses);
  const lagOf = (id: string): number | null => {
    if (leader === null) return null;
    if (leader.nodeId === id) return 0;
    return leader.peers.find((peer) => peer.id === id)?.lagBytes ?? null;
  };
  return [...statuses.entries()].map(([id, status]) => {
    if (status === null) return [id, "unreachable"];
    const position = status.postgres.observation?.position ?? null;
    return [
      id,
      describeNodeRole(status),
      status.raft.role,
      status.postgres.activity || status.postgres.observation?.status || "unknown",
      position === null ? "-" : String(position.timeline),
      position === null ? "-" : formatLsn(position.lsn),
      formatByteCount(lagOf(id)),
      String(status.raft.term),
      status.raft.leader ?? "-",
    ];
  });
}

/** The table for people, with notes below it (paused cluster, refusing or failing nodes). */
export function renderStatusReport(statuses: ReadonlyMap<string, AgentStatus | null>): string {
  const notes: string[] = [];
  const answered = [...statuses.values()].filter((status) => status !== null);
  if (answered.some((status) => status.cluster.paused)) {
    notes.push("cluster paused: no automatic Postgres role changes (hactl resume to end)");
  }
  for (const status of answered) {
    if (status.refusal) notes.push(`${status.nodeId} refuses to take part: ${status.refusal}`);
    if (status.postgres.lastError) {
      notes.push(`${status.nodeId} last error: ${status.postgres.lastError}`);
    }
    if (status.tlsEnabled === false) {
      notes.push(
        `${status.nodeId}: plain text (tls.enabled = false): ${plainTextParts(false).join(", ")}`,
      );
    }
    const optOuts = status.postgres.durabilityOptOuts ?? [];
    if (optOuts.length > 0) {
      notes.push(
        `${status.nodeId}: sessions opt out of acknowledged durability (D1) by ` +
          `${optOuts.map(describeOptOut).join("; ")}`,
      );
    }
  }
  const table = renderTable(STATUS_COLUMNS, statusRows(statuses));
  return notes.length === 0 ? table : `${table}\n\n${notes.join("\n")}`;
}

/** Runs `hactl status ARGS`; 0 when at least one member answered. */
export function statusCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("status", output, async () => {
    const parsed = await parseOperatorArgs(args, STATUS_USAGE);
    if (parsed === null) return (output.out(STATUS_USAGE), 0);
    const statuses = await collectStatuses(parsed.apis, await optionalReadToken(parsed));
    if (parsed.json) output.out(JSON.stringify(Object.fromEntries(statuses), null, 2));
    else output.out(`${renderStatusReport(statuses)}\n${apiTransportNote()}`);
    if ([...statuses.values()].every((status) => status === null)) {
      output.error(`no agent answered at ${parsed.apis.join(", ")}; is hactl run up?`);
      return 1;
    }
    return 0;
  });
}
