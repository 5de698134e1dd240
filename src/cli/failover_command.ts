/**
 * `hactl failover [--candidate NODE] [--force] [--wait]`: an operator-ordered change of
 * primary for when the primary is not healthy (POST /failover). It asks for confirmation
 * unless `--force`; a healthy primary is only replaced with `--force` (use switchover).
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
import { reportWait, waitTimeoutMs } from "./switchover_command.ts";
import { currentLeader } from "./wait_for_primary.ts";

/** Usage text of `hactl failover`. */
export const FAILOVER_USAGE =
  `usage: hactl failover [--candidate NODE] [--force] [--wait [--timeout SECONDS]]
                      (--api HOST:PORT | --config FILE) [--secret-file FILE]

Moves the primary to NODE (default: the most advanced standby) when the primary is not
healthy. hactl fails over by itself whenever a majority of members is up; this is for a
primary that runs but is unfit, or to choose the candidate. Refused while the primary is
healthy, unless --force (a planned change is hactl switchover).
  --candidate NODE    the member to promote
  --force             no confirmation question; replace even a healthy primary
  --wait              return once the new primary accepts writes
  --timeout SECONDS   how long --wait waits (default 60)
${COMMON_FLAGS_USAGE}`;

/** Asks a yes/no question; true for yes. */
export type Confirm = (question: string) => Promise<boolean>;

/** Longest answer read from standard input. */
const MAX_ANSWER_BYTES = 64;

/**
 * Asks on standard error and reads one line from standard input (a terminal or a pipe);
 * anything but y/yes, or the end of input, is a no.
 */
export const STDIN_CONFIRM: Confirm = async (question) => {
  await Deno.stderr.write(new TextEncoder().encode(`${question} [y/N] `));
  const reader = Deno.stdin.readable.getReader();
  let answer = "";
  try {
    while (!answer.includes("\n") && answer.length < MAX_ANSWER_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      answer += new TextDecoder().decode(value);
    }
  } finally {
    reader.releaseLock();
  }
  return /^(y|yes)$/i.test(answer.split("\n")[0]!.trim());
};

/** Runs `hactl failover ARGS`. */
export function failoverCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
  confirm: Confirm = STDIN_CONFIRM,
): Promise<number> {
  return runGuarded("failover", output, async () => {
    const parsed = await parseOperatorArgs(args, FAILOVER_USAGE, {
      stringFlags: ["candidate", "timeout"],
      booleanFlags: ["force", "wait"],
    });
    if (parsed === null) return (output.out(FAILOVER_USAGE), 0);
    const candidate = parsed.flags.candidate ?? null;
    const force = parsed.switches.force === true;
    const timeoutMs = waitTimeoutMs(parsed.flags.timeout, FAILOVER_USAGE);
    const token = await requireAdminToken(parsed, FAILOVER_USAGE);
    const formerLeader = await currentLeader(parsed.apis);
    if (!force) {
      const question = `Fail over ${formerLeader === null ? "" : `from ${formerLeader} `}to ${
        candidate ?? "the most advanced standby"
      }?`;
      if (!await confirm(question)) {
        output.error("failover not confirmed; nothing was sent");
        return 1;
      }
    }
    const code = await sendOperatorRequest({
      parsed,
      token,
      path: "/failover",
      body: { candidate, force },
      doneMessage: `failover ${
        candidate === null ? "to the most advanced standby" : `to ${candidate}`
      } started`,
      output,
      outcomeWatched: parsed.switches.wait === true,
    });
    if (code !== 0 || parsed.switches.wait !== true) return code;
    return await reportWait(parsed.apis, formerLeader, candidate, timeoutMs, output);
  });
}
