/**
 * Sends one operator request for a command: to the first API that accepts a connection (the
 * client follows a leader hint once), then prints the outcome and returns the exit code.
 *
 * @module
 */
import { type OperatorOutcome, postOperatorRequest } from "./api_client.ts";
import type { CommandOutput, OperatorArgs } from "./operator_options.ts";

/**
 * Posts `body` to `path`. Only an unreachable API (nothing sent) moves on to the next one;
 * a timeout does not, because the request may have been carried out. Exit code 0 when done,
 * 1 otherwise.
 */
export async function sendOperatorRequest(options: {
  readonly parsed: OperatorArgs;
  readonly token: string;
  readonly path: string;
  readonly body: unknown;
  readonly doneMessage: string;
  readonly output: CommandOutput;
  readonly timeoutMs?: number;
  readonly method?: "POST" | "PATCH" | "DELETE";
  /** The line printed when done, from the answer's body (instead of `doneMessage`). */
  readonly describeDone?: (body: unknown) => string;
  /**
   * True when the caller goes on to watch for the outcome itself (`--wait`): an answer that
   * timed out is then a note, not a failure (a switchover under load may outlast the API's
   * 10 s wait for the core's answer and still complete).
   */
  readonly outcomeWatched?: boolean;
}): Promise<number> {
  const { parsed, output } = options;
  let outcome: OperatorOutcome | null = null;
  for (const api of parsed.apis) {
    outcome = await postOperatorRequest({ ...options, api, trustedApis: parsed.apis });
    if (outcome.kind !== "unreachable") break;
    output.error(`${api}: unreachable (${outcome.error})`);
  }
  if (outcome === null || outcome.kind === "unreachable") {
    output.error(`no agent reachable at ${parsed.apis.join(", ")}; is hactl run up?`);
    return 1;
  }
  if (parsed.json) output.out(JSON.stringify(outcome));
  switch (outcome.kind) {
    case "done":
      if (!parsed.json) {
        const done = options.describeDone?.(outcome.body) ?? options.doneMessage;
        output.out(`${done} (accepted by ${outcome.answeredBy})`);
      }
      return 0;
    case "timed-out":
      if (options.outcomeWatched === true) {
        output.error(
          `${options.path} at ${outcome.api}: ${outcome.error}; watching for the outcome`,
        );
        return 0;
      }
      output.error(
        `${options.path} at ${outcome.api}: ${outcome.error}; the request may still take ` +
          "effect, check with hactl status",
      );
      return 1;
    case "refused":
      output.error(
        `${options.path} refused by ${outcome.answeredBy} (HTTP ${outcome.httpStatus}): ` +
          outcome.error,
      );
      return 1;
  }
}
