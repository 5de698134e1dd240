/**
 * Operator commands that talk to running agents over their REST API: status, switchover,
 * members, pause and resume. Each finds the API from `--api host:port` (repeatable) or from
 * `--config FILE` (this node's API plus every configured peer), and the secret from
 * `--secret-file` or the config.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadAgentConfig } from "../config/config_file.ts";
import { readClusterSecret } from "../config/cluster_secret.ts";
import { memberAddresses } from "../agent/members.ts";
import type { AgentStatus } from "../agent/agent_handle.ts";
import { UsageError } from "./usage_error.ts";
import { renderStatusTable } from "./demo_status.ts";

/** Most time one API request may take. */
const REQUEST_TIMEOUT_MS = 15_000;

const COMMON_USAGE = `  --api HOST:PORT    an agent's API (repeatable); default: from --config
  --config FILE      a node's config: its API, its peers' APIs and the secret file
  --secret-file FILE the cluster secret (for commands that change something)
  --json             machine-readable output`;

interface Target {
  readonly apis: string[];
  readonly secret: string | null;
  readonly json: boolean;
  readonly positionals: string[];
  readonly values: Record<string, string | boolean | string[] | undefined>;
}

async function parseTarget(
  args: string[],
  usage: string,
  extra: Record<string, { type: "string" | "boolean" }> = {},
) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        api: { type: "string", multiple: true },
        config: { type: "string" },
        "secret-file": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        ...extra,
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), usage);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) return null;
  let apis = (values.api as string[] | undefined) ?? [];
  let secretFile = values["secret-file"] as string | undefined;
  if (typeof values.config === "string") {
    const config = await loadAgentConfig(values.config);
    if (apis.length === 0) {
      apis = memberAddresses(config).map((member) => `${member.api.hostname}:${member.api.port}`);
    }
    secretFile ??= config.cluster.secretFile;
  }
  if (apis.length === 0) {
    throw new UsageError("say which agent to ask: --api HOST:PORT or --config FILE", usage);
  }
  const secret = secretFile ? await readClusterSecret(secretFile) : null;
  return {
    apis,
    secret,
    json: values.json === true,
    positionals: parsed.positionals,
    values,
  } as Target;
}

async function getStatus(api: string): Promise<AgentStatus | null> {
  try {
    const response = await fetch(`http://${api}/status`, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    return await response.json() as AgentStatus;
  } catch {
    return null;
  }
}

/** Status of every member reachable from the given APIs (members learned from the answers). */
async function collectStatuses(apis: string[]): Promise<Map<string, AgentStatus | null>> {
  const statuses = new Map<string, AgentStatus | null>();
  const pending = [...apis];
  const asked = new Set<string>();
  for (let round = 0; round < 64 && pending.length > 0; round++) {
    const api = pending.shift()!;
    if (asked.has(api)) continue;
    asked.add(api);
    const status = await getStatus(api);
    if (status === null) continue;
    statuses.set(status.nodeId, status);
    for (const member of status.members) {
      const address = `${member.api.hostname}:${member.api.port}`;
      if (!statuses.has(member.id) && !asked.has(address)) pending.push(address);
    }
  }
  for (const status of [...statuses.values()]) {
    for (const member of status?.members ?? []) {
      if (!statuses.has(member.id)) statuses.set(member.id, null);
    }
  }
  return new Map([...statuses.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Sends an operator request, following a "not the leader" answer to the leader once. */
async function postToLeader(target: Target, path: string, body: unknown): Promise<number> {
  if (target.secret === null) {
    throw new UsageError("this command needs the cluster secret: --secret-file or --config", "");
  }
  let api = target.apis[0]!;
  for (let attempt = 0; attempt < 3; attempt++) {
    let response: Response;
    try {
      response = await fetch(`http://${api}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${target.secret}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      console.error(
        `cannot reach ${api}: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (attempt + 1 < target.apis.length) {
        api = target.apis[attempt + 1]!;
        continue;
      }
      return 1;
    }
    const answer = await response.json().catch(() => ({})) as {
      ok?: boolean;
      error?: string;
      leaderApi?: string;
    };
    if (response.ok) {
      console.log(target.json ? JSON.stringify(answer) : "done");
      return 0;
    }
    if (response.status === 409 && answer.leaderApi && answer.leaderApi !== api) {
      api = answer.leaderApi;
      continue;
    }
    console.error(`${path} refused (${response.status}): ${answer.error ?? "no reason given"}`);
    return 1;
  }
  return 1;
}

const STATUS_USAGE =
  `usage: hactl status [--api HOST:PORT ...] [--config FILE] [--json]\n\n${COMMON_USAGE}`;
const SWITCHOVER_USAGE =
  `usage: hactl switchover [--to NODE] (--api HOST:PORT | --config FILE)\n\n` +
  `Planned, lossless change of primary: the primary is fenced, NODE (default: the most advanced\nstandby) catches up, then takes over.\n${COMMON_USAGE}`;
const MEMBERS_USAGE =
  `usage: hactl members list|add NODE|remove NODE (--api HOST:PORT | --config FILE)\n\n` +
  `add: the node (listed in the members' cluster.peers) joins as a learner, clones, and becomes a voter.\n${COMMON_USAGE}`;
const PAUSE_USAGE =
  `usage: hactl pause|resume (--api HOST:PORT | --config FILE)\n\nWhile paused, no automatic Postgres role change happens (maintenance).\n${COMMON_USAGE}`;

async function statusCommand(args: string[]): Promise<number> {
  const target = await parseTarget(args, STATUS_USAGE);
  if (target === null) return (console.log(STATUS_USAGE), 0);
  const statuses = await collectStatuses(target.apis);
  if (statuses.size === 0) {
    console.error(`no agent answered at ${target.apis.join(", ")}`);
    return 1;
  }
  if (target.json) console.log(JSON.stringify(Object.fromEntries(statuses), null, 2));
  else console.log(renderStatusTable(statuses));
  return 0;
}

async function switchoverCommand(args: string[]): Promise<number> {
  const target = await parseTarget(args, SWITCHOVER_USAGE, { to: { type: "string" } });
  if (target === null) return (console.log(SWITCHOVER_USAGE), 0);
  return await postToLeader(target, "/switchover", { target: target.values.to ?? null });
}

async function membersCommand(args: string[]): Promise<number> {
  const target = await parseTarget(args, MEMBERS_USAGE);
  if (target === null) return (console.log(MEMBERS_USAGE), 0);
  const [action, node] = target.positionals;
  if (action === "list" || action === undefined) {
    const statuses = await collectStatuses(target.apis);
    const leader = [...statuses.values()].find((status) => status?.raft.role === "leader");
    const voters = leader?.raft.voters ?? [];
    const learners = leader?.raft.learners ?? [];
    if (target.json) console.log(JSON.stringify({ voters, learners }));
    else {for (const member of [...voters, ...learners]) {
        console.log(`${member}\t${voters.includes(member) ? "voter" : "learner"}`);
      }}
    return leader ? 0 : 1;
  }
  if ((action === "add" || action === "remove") && node) {
    return await postToLeader(target, `/members/${action}`, { node });
  }
  throw new UsageError(
    `expected "list", "add NODE" or "remove NODE", got ${
      JSON.stringify(target.positionals.join(" "))
    }`,
    MEMBERS_USAGE,
  );
}

function pauseCommand(paused: boolean) {
  return async (args: string[]): Promise<number> => {
    const target = await parseTarget(args, PAUSE_USAGE);
    if (target === null) return (console.log(PAUSE_USAGE), 0);
    return await postToLeader(target, paused ? "/pause" : "/resume", {});
  };
}

/** Operator commands by name. */
export const OPERATOR_COMMANDS: Record<
  string,
  { summary: string; run(args: string[]): Promise<number> }
> = {
  status: {
    summary: "members, roles, timeline, LSN, term and leader (a table, or --json)",
    run: statusCommand,
  },
  switchover: {
    summary: "planned, lossless change of primary (--to NODE)",
    run: switchoverCommand,
  },
  members: { summary: "list, add or remove members", run: membersCommand },
  pause: {
    summary: "maintenance mode: no automatic Postgres role changes",
    run: pauseCommand(true),
  },
  resume: { summary: "leave maintenance mode", run: pauseCommand(false) },
};
