/**
 * `hactl switchover [--to NODE] [--scheduled TIME | --cancel] [--wait]`: a planned, lossless
 * change of primary, now, or scheduled in the cluster for a given time (recorded in the Raft
 * log and carried out by the leader's agent: the command returns at once), or the cancel of
 * a scheduled one; optionally waiting until the new primary is writable.
 *
 * @module
 */
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  type OperatorArgs,
  parseOperatorArgs,
  requireAdminToken,
  runGuarded,
} from "./operator_options.ts";
import { sendOperatorRequest } from "./operator_request.ts";
import { UsageError } from "./usage_error.ts";
import { parseScheduleTimeText } from "../agent/scheduled_switchover.ts";
import { currentLeader, waitForNewPrimary, writablePrimaryOf } from "./wait_for_primary.ts";
import { collectStatuses } from "./status_command.ts";

/** How long --wait waits for the new primary by default. */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 60;

/** Usage text of `hactl switchover`. */
export const SWITCHOVER_USAGE =
  `usage: hactl switchover [--to NODE] [--scheduled TIME | --cancel] [--wait [--timeout SECONDS]]
                        (--api HOST:PORT | --config FILE) [--secret-file FILE]

Planned, lossless change of primary: the primary is fenced, NODE (default: the most advanced
standby) catches up, then takes over; the old primary follows it.
  --to NODE           the member to make primary
  --scheduled TIME    record the switchover in the cluster for TIME (ISO 8601 with a zone, e.g.
                      2026-05-01T02:00:00+02:00, at most 7 days ahead) and return; the leader
                      then carries it out, only if it still leads at TIME (else it is dropped);
                      hactl list shows it
  --cancel            cancel the scheduled switchover
  --wait              return once the new primary accepts writes (exit 1 on timeout)
  --timeout SECONDS   how long --wait waits (default ${DEFAULT_WAIT_TIMEOUT_SECONDS})
${COMMON_FLAGS_USAGE}`;

/** Runs `hactl switchover ARGS`; 0 when the leader accepted the transfer (and, with --wait, it happened). */
export function switchoverCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("switchover", output, async () => {
    const parsed = await parseOperatorArgs(args, SWITCHOVER_USAGE, {
      stringFlags: ["to", "scheduled", "timeout"],
      booleanFlags: ["wait", "cancel"],
    });
    if (parsed === null) return (output.out(SWITCHOVER_USAGE), 0);
    const target = parsed.flags.to ?? null;
    const wait = parsed.switches.wait === true;
    const timeoutMs = waitTimeoutMs(parsed.flags.timeout, SWITCHOVER_USAGE);
    const scheduled = parsed.flags.scheduled;
    const cancel = parsed.switches.cancel === true;
    refuseMixedFlags({ target, wait, scheduled, cancel });
    const token = await requireAdminToken(parsed, SWITCHOVER_USAGE);
    if (cancel) return await cancelScheduled(parsed, token, output);
    if (scheduled !== undefined) {
      // The format here; the time itself (past, too far ahead) is the leader's to judge.
      const problem = parseScheduleTimeText(scheduled);
      if (typeof problem === "string") {
        throw new UsageError(`--scheduled ${problem}`, SWITCHOVER_USAGE);
      }
      return await schedule(parsed, token, { target, at: scheduled }, output);
    }
    const formerLeader = wait ? await currentLeader(parsed.apis) : null;
    const code = await sendOperatorRequest({
      parsed,
      token,
      path: "/switchover",
      body: { target },
      doneMessage: `switchover ${
        target === null ? "to the most advanced standby" : `to ${target}`
      } started`,
      output,
      outcomeWatched: wait,
    });
    if (code !== 0 || !wait) return code;
    return await reportWait(parsed.apis, formerLeader, target, timeoutMs, output);
  });
}

function refuseMixedFlags(options: {
  target: string | null;
  wait: boolean;
  scheduled: string | undefined;
  cancel: boolean;
}): void {
  if (options.cancel && (options.target !== null || options.scheduled !== undefined)) {
    throw new UsageError("--cancel takes no --to or --scheduled", SWITCHOVER_USAGE);
  }
  if (options.wait && (options.cancel || options.scheduled !== undefined)) {
    throw new UsageError(
      "--wait goes with a switchover now only: a scheduled one runs in the cluster at its " +
        "time (watch it with hactl list)",
      SWITCHOVER_USAGE,
    );
  }
}

/** POST /switchover with scheduled_at: the leader validates the time and records it. */
function schedule(
  parsed: OperatorArgs,
  token: string,
  request: { target: string | null; at: string },
  output: CommandOutput,
): Promise<number> {
  const to = request.target ?? "the most advanced standby";
  return sendOperatorRequest({
    parsed,
    token,
    path: "/switchover",
    body: { target: request.target, scheduled_at: request.at },
    doneMessage: `switchover to ${to} scheduled at ${request.at}`,
    describeDone: (body) => {
      const message = (body as { message?: unknown } | null)?.message;
      return `${typeof message === "string" ? message : `switchover to ${to} scheduled`}; ` +
        "it runs in the cluster, nothing needs to keep running here (cancel: hactl switchover " +
        "--cancel)";
    },
    output,
  });
}

/** DELETE /switchover: cancels the pending scheduled switchover. */
function cancelScheduled(parsed: OperatorArgs, token: string, output: CommandOutput) {
  return sendOperatorRequest({
    parsed,
    token,
    path: "/switchover",
    method: "DELETE",
    body: {},
    doneMessage: "scheduled switchover cancelled",
    describeDone: (body) => {
      const cancelled = (body as { cancelled?: { at?: unknown } | null } | null)?.cancelled;
      return typeof cancelled?.at === "string"
        ? `scheduled switchover at ${cancelled.at} cancelled`
        : "scheduled switchover cancelled";
    },
    output,
  });
}

/** The --timeout of --wait in milliseconds; throws a usage error for a bad value. */
export function waitTimeoutMs(text: string | undefined, usage: string): number {
  const seconds = text === undefined ? DEFAULT_WAIT_TIMEOUT_SECONDS : Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new UsageError(`--timeout ${text}: expected 1 to 3600 seconds`, usage);
  }
  return seconds * 1000;
}

/** Waits for the new primary and says what happened; the exit code. */
export async function reportWait(
  apis: readonly string[],
  formerLeader: string | null,
  target: string | null,
  timeoutMs: number,
  output: CommandOutput,
): Promise<number> {
  const primary = await waitForNewPrimary({ apis, formerLeader, target, timeoutMs });
  if (primary === null) {
    const now = writablePrimaryOf(await collectStatuses(apis));
    const wanted = target === null ? "no new writable primary" : `${target} is not the primary`;
    output.error(
      `${wanted} after ${timeoutMs / 1000} s (the writable primary now: ${now ?? "none"}); ` +
        "see hactl list and hactl history",
    );
    return 1;
  }
  output.out(`${primary} is the primary and accepts writes`);
  return 0;
}
