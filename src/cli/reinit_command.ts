/**
 * `hactl reinit MEMBER [--wait]` (patronictl's reinit): replaces a standby's data by a fresh
 * clone of the leader. `POST /reinitialize` goes to that member's own API (a configured or
 * given address only); the primary refuses. With --wait, the command follows the member's
 * `GET /status` until the clone completed and it runs as a standby again.
 *
 * @module
 */
import { formatApiAddress } from "../api/api_address.ts";
import { fetchStatus, postOperatorRequest } from "./api_client.ts";
import { collectStatuses } from "./status_command.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  optionalReadToken,
  parseOperatorArgs,
  requireAdminToken,
  runGuarded,
} from "./operator_options.ts";
import { waitTimeoutMs } from "./switchover_command.ts";
import { UsageError } from "./usage_error.ts";

/** How often --wait looks at the member. */
const WAIT_POLL_INTERVAL_MS = 500;

/** Usage text of `hactl reinit`. */
export const REINIT_USAGE = `usage: hactl reinit MEMBER (--api HOST:PORT | --config FILE)
                    [--secret-file FILE] [--wait [--timeout SECONDS]] [--json]

Replaces MEMBER's Postgres data by a fresh clone of the leader (pg_basebackup into a new
directory, swapped in only when complete). Only a standby can be reinitialized.
  --wait              return once MEMBER runs as a standby again (exit 1 on timeout)
  --timeout SECONDS   how long --wait waits (default 60)
${COMMON_FLAGS_USAGE}`;

/** Runs `hactl reinit ARGS`; 0 when the re-clone started (and, with --wait, completed). */
export function reinitCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("reinit", output, async () => {
    const parsed = await parseOperatorArgs(args, REINIT_USAGE, {
      maxPositionals: 1,
      booleanFlags: ["wait"],
      stringFlags: ["timeout"],
    });
    if (parsed === null) return (output.out(REINIT_USAGE), 0);
    const member = parsed.positionals[0];
    if (member === undefined) {
      throw new UsageError("say which MEMBER to reinitialize", REINIT_USAGE);
    }
    const timeoutMs = waitTimeoutMs(parsed.flags["timeout"], REINIT_USAGE);
    const token = await requireAdminToken(parsed, REINIT_USAGE);
    const readToken = await optionalReadToken(parsed);
    const statuses = await collectStatuses(parsed.apis, readToken);
    const known = [...statuses.values()].flatMap((status) => status?.members ?? [])
      .find((candidate) => candidate.id === member);
    if (known === undefined) throw new UsageError(`${member} is not a member`, REINIT_USAGE);
    const api = formatApiAddress(known);
    if (!parsed.apis.includes(api)) {
      throw new UsageError(
        `${member}'s API ${api} is not configured: pass --api ${api}`,
        REINIT_USAGE,
      );
    }
    const outcome = await postOperatorRequest({
      api,
      path: "/reinitialize",
      body: {},
      token,
      trustedApis: [],
    });
    if (outcome.kind !== "done") {
      output.error(`reinit ${member}: ${outcome.error}`);
      return 1;
    }
    const done = !parsed.switches["wait"] || await waitRecloned(api, readToken, timeoutMs);
    const result = { member, started: true, completed: parsed.switches["wait"] ? done : null };
    output.out(
      parsed.json
        ? JSON.stringify(result)
        : done
        ? `${member}: ${
          parsed.switches["wait"] ? "re-cloned, streaming again" : "re-clone started"
        }`
        : `${member}: re-clone started but not finished within ${timeoutMs / 1000} s`,
    );
    return done ? 0 : 1;
  });
}

/** True once the member was seen cloning and then running as a standby again. */
async function waitRecloned(
  api: string,
  readToken: string | null,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let sawClone = false;
  while (Date.now() < deadline) {
    const status = await fetchStatus(api, undefined, readToken).catch(() => null);
    const activity = status?.postgres.activity ?? "";
    sawClone ||= /clon|reinitialize/.test(activity);
    const observation = status?.postgres.observation;
    if (
      sawClone && observation?.status === "running" && observation.inRecovery &&
      activity.startsWith("standby")
    ) return true;
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_INTERVAL_MS));
  }
  return false;
}
