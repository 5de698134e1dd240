/**
 * `hactl switchover [--to NODE]`: a planned, lossless change of primary.
 *
 * @module
 */
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  parseOperatorArgs,
  requireSecret,
  runGuarded,
} from "./operator_options.ts";
import { sendOperatorRequest } from "./operator_request.ts";

/** Usage text of `hactl switchover`. */
export const SWITCHOVER_USAGE =
  `usage: hactl switchover [--to NODE] (--api HOST:PORT | --config FILE) [--secret-file FILE]

Planned, lossless change of primary: the primary is fenced, NODE (default: the most advanced
standby) catches up, then takes over; the old primary follows it.
  --to NODE           the member to make primary
${COMMON_FLAGS_USAGE}`;

/** Runs `hactl switchover ARGS`; 0 when the leader accepted the transfer. */
export function switchoverCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("switchover", output, async () => {
    const parsed = await parseOperatorArgs(args, SWITCHOVER_USAGE, { stringFlags: ["to"] });
    if (parsed === null) return (output.out(SWITCHOVER_USAGE), 0);
    const target = parsed.flags.to ?? null;
    return await sendOperatorRequest({
      parsed,
      secret: await requireSecret(parsed, SWITCHOVER_USAGE),
      path: "/switchover",
      body: { target },
      doneMessage: `switchover ${
        target === null ? "to the most advanced standby" : `to ${target}`
      } started`,
      output,
    });
  });
}
