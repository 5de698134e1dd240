/**
 * `hactl restart [MEMBER...]`: a rolling restart of Postgres, one member at a time — the
 * standbys first, each back up before the next, then the primary last: a switchover makes
 * it a standby, and it is restarted as one. Each restart is `POST /restart` on that member's
 * own API (configured or given addresses only).
 *
 * @module
 */
import type { AgentStatus } from "../agent/agent_handle.ts";
import { formatApiAddress } from "../api/api_address.ts";
import { RESTART_TIMEOUT_MS } from "../api/restart_routes.ts";
import { fetchStatus, postOperatorRequest } from "./api_client.ts";
import { collectStatuses } from "./status_command.ts";
import { renderTable } from "./table.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  MAX_API_ADDRESSES,
  type OperatorArgs,
  optionalReadToken,
  parseOperatorArgs,
  requireAdminToken,
  runGuarded,
} from "./operator_options.ts";
import { waitForNewPrimary, writablePrimaryOf } from "./wait_for_primary.ts";

/** The agent's answer while it holds no postmaster (between the stop and start of a rejoin). */
const NOT_SUPERVISING = /runs no postmaster now/;

/** How long the old primary may take to run as a standby after the switchover. */
const REJOIN_TIMEOUT_MS = 120_000;

/** Usage text of `hactl restart`. */
export const RESTART_USAGE = `usage: hactl restart [MEMBER...] (--api HOST:PORT | --config FILE)
                     [--secret-file FILE] [--pending] [--json]

Restarts Postgres on each MEMBER (default: every member), one at a time: standbys first, each
running again before the next; the primary last, after a switchover has made it a standby.
With --pending, only the members where a cluster parameter waits for a restart.
${COMMON_FLAGS_USAGE}`;

/** What happened to one member. */
export interface RestartResult {
  readonly member: string;
  readonly ok: boolean;
  /** "restarted", or "switched over, restarted" for the former primary. */
  readonly action: string;
  readonly error: string | null;
}

/** What every restart step needs. */
interface RestartContext {
  readonly parsed: OperatorArgs;
  readonly token: string;
  /** The read-only token (api.require_read_token), or null without a secret file. */
  readonly readToken: string | null;
  readonly addresses: ReadonlyMap<string, string>;
}

/** Runs `hactl restart ARGS`; 0 when every member was restarted. */
export function restartCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("restart", output, async () => {
    const parsed = await parseOperatorArgs(args, RESTART_USAGE, {
      maxPositionals: MAX_API_ADDRESSES,
      booleanFlags: ["pending"],
    });
    if (parsed === null) return (output.out(RESTART_USAGE), 0);
    const token = await requireAdminToken(parsed, RESTART_USAGE);
    const readToken = await optionalReadToken(parsed);
    const statuses = await collectStatuses(parsed.apis, readToken);
    const context = { parsed, token, readToken, addresses: addressesOf(statuses) };
    const primary = writablePrimaryOf(statuses);
    const named = parsed.positionals.length > 0 ? parsed.positionals : [...statuses.keys()];
    // --pending: only the members with a cluster parameter waiting for a restart.
    const wanted = parsed.switches["pending"]
      ? named.filter((id) => statuses.get(id)?.postgres.pendingRestart === true)
      : named;
    if (wanted.length === 0) {
      output.out(parsed.json ? "[]" : "no member needs a restart");
      return 0;
    }
    const results: RestartResult[] = [];
    // Standbys first, one at a time; stop at the first failure.
    for (const member of wanted.filter((id) => id !== primary)) {
      results.push(await restartOne(context, member, "restarted"));
      if (!results.at(-1)!.ok) break;
    }
    if (primary !== null && wanted.includes(primary) && results.every((r) => r.ok)) {
      results.push(await restartPrimary(context, primary));
    }
    if (parsed.json) output.out(JSON.stringify(results));
    else {
      output.out(renderTable(
        ["member", "result"],
        results.map((r) => [r.member, r.ok ? r.action : `failed: ${r.error}`]),
      ));
    }
    return results.length > 0 && results.every((result) => result.ok) ? 0 : 1;
  });
}

function addressesOf(statuses: ReadonlyMap<string, AgentStatus | null>): Map<string, string> {
  return new Map(
    [...statuses.values()].flatMap((status) => status?.members ?? [])
      .map((member) => [member.id, formatApiAddress(member)]),
  );
}

/** POST /restart on `member`'s own API, which answers once Postgres runs again. */
async function restartOne(
  context: RestartContext,
  member: string,
  action: string,
): Promise<RestartResult> {
  const api = context.addresses.get(member);
  if (api === undefined) return failed(member, "not a member that answered");
  if (!context.parsed.apis.includes(api)) {
    return failed(member, `its API ${api} is not configured: pass --api ${api}`);
  }
  const outcome = await postOperatorRequest({
    api,
    path: "/restart",
    body: {},
    token: context.token,
    trustedApis: [],
    timeoutMs: RESTART_TIMEOUT_MS + 10_000,
  });
  if (outcome.kind !== "done") return failed(member, outcome.error);
  return { member, ok: true, action, error: null };
}

/** Switches over away from `primary`, waits until it runs as a standby, restarts it. */
async function restartPrimary(context: RestartContext, primary: string): Promise<RestartResult> {
  const { parsed, token } = context;
  const switched = await postOperatorRequest({
    api: parsed.apis[0]!,
    path: "/switchover",
    body: { target: null },
    token,
    trustedApis: parsed.apis,
  });
  if (switched.kind !== "done") return failed(primary, `switchover: ${switched.error}`);
  const apis = parsed.apis;
  const next = await waitForNewPrimary({
    apis,
    formerLeader: primary,
    target: null,
    timeoutMs: REJOIN_TIMEOUT_MS,
  });
  if (next === null) return failed(primary, "switchover: no new writable primary in time");
  const api = context.addresses.get(primary)!;
  const deadline = Date.now() + REJOIN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const status = await fetchStatus(api, undefined, context.readToken).catch(() => null);
    const observation = status?.postgres.observation;
    if (observation?.status === "running" && observation.inRecovery) {
      const result = await restartOne(context, primary, `switched over to ${next}, restarted`);
      // The old primary may be between two starts of its rejoin (the agent holds no
      // postmaster for a moment): ask again rather than report a restart that will happen.
      if (result.ok || !NOT_SUPERVISING.test(result.error ?? "")) return result;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return failed(primary, `did not run as a standby of ${next} in time`);
}

function failed(member: string, error: string): RestartResult {
  return { member, ok: false, action: "", error };
}
