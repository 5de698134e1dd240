/**
 * `hactl pause` and `hactl resume`: maintenance mode, in which no automatic Postgres role
 * change happens.
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

/** Usage text of `hactl pause` and `hactl resume`. */
export const PAUSE_USAGE =
  `usage: hactl pause|resume (--api HOST:PORT | --config FILE) [--secret-file FILE]

While paused, no automatic Postgres role change happens (no failover): for maintenance.
${COMMON_FLAGS_USAGE}`;

/** Runs `hactl pause ARGS` (paused true) or `hactl resume ARGS` (false). */
export function pauseCommand(
  paused: boolean,
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  const name = paused ? "pause" : "resume";
  return runGuarded(name, output, async () => {
    const parsed = await parseOperatorArgs(args, PAUSE_USAGE);
    if (parsed === null) return (output.out(PAUSE_USAGE), 0);
    return await sendOperatorRequest({
      parsed,
      token: await requireAdminToken(parsed, PAUSE_USAGE),
      path: paused ? "/pause" : "/resume",
      body: {},
      doneMessage: paused
        ? "cluster paused: no automatic role changes until hactl resume"
        : "cluster resumed: automatic failover is on",
      output,
    });
  });
}
