/**
 * `hactl switchover [--to NODE] [--scheduled TIME] [--wait]`: a planned, lossless change of
 * primary, now or at a given time, optionally waiting until the new primary is writable.
 *
 * @module
 */
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  parseOperatorArgs,
  requireAdminToken,
  runGuarded,
} from "./operator_options.ts";
import { sendOperatorRequest } from "./operator_request.ts";
import { UsageError } from "./usage_error.ts";
import { currentLeader, delayUntil, waitForNewPrimary } from "./wait_for_primary.ts";

/** Latest --scheduled accepted: a week ahead. */
const MAX_SCHEDULE_DELAY_MS = 7 * 24 * 3_600_000;
/** How long --wait waits for the new primary by default. */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 60;

/** Usage text of `hactl switchover`. */
export const SWITCHOVER_USAGE =
  `usage: hactl switchover [--to NODE] [--scheduled TIME] [--wait [--timeout SECONDS]]
                        (--api HOST:PORT | --config FILE) [--secret-file FILE]

Planned, lossless change of primary: the primary is fenced, NODE (default: the most advanced
standby) catches up, then takes over; the old primary follows it.
  --to NODE           the member to make primary
  --scheduled TIME    wait until TIME (ISO 8601 with a zone, at most 7 days ahead), then start;
                      this command waits in the foreground: keep it running until then
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
      booleanFlags: ["wait"],
    });
    if (parsed === null) return (output.out(SWITCHOVER_USAGE), 0);
    const target = parsed.flags.to ?? null;
    const wait = parsed.switches.wait === true;
    const timeoutMs = waitTimeoutMs(parsed.flags.timeout, SWITCHOVER_USAGE);
    const token = await requireAdminToken(parsed, SWITCHOVER_USAGE);
    if (parsed.flags.scheduled !== undefined) {
      const delayMs = delayUntil(parsed.flags.scheduled, Date.now(), MAX_SCHEDULE_DELAY_MS);
      if (typeof delayMs === "string") {
        throw new UsageError(`--scheduled ${delayMs}`, SWITCHOVER_USAGE);
      }
      output.error(
        `switchover scheduled for ${parsed.flags.scheduled}; waiting ${
          Math.round(delayMs / 1000)
        } s`,
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
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
    });
    if (code !== 0 || !wait) return code;
    return await reportWait(parsed.apis, formerLeader, target, timeoutMs, output);
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
    output.error(`no new writable primary within ${timeoutMs / 1000} s; see hactl list`);
    return 1;
  }
  output.out(`${primary} is the primary and accepts writes`);
  return 0;
}
