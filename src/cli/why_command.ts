/**
 * `hactl why [MEMBER]`: asks a member's agent (`GET /why`) why it is or is not the primary,
 * why no failover happens, and what it decided last.
 *
 * @module
 */
import { apiFetchOptions, apiUrl } from "./api_transport.ts";
import type { WhyReport } from "../agent/why.ts";
import { fetchStatus, STATUS_TIMEOUT_MS } from "./api_client.ts";
import { formatApiAddress } from "../api/api_address.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  optionalReadToken,
  parseOperatorArgs,
  runGuarded,
} from "./operator_options.ts";

/** Usage text of `hactl why`. */
export const WHY_USAGE = `usage: hactl why [MEMBER] (--api HOST:PORT | --config FILE) [--json]

Why MEMBER (default: the first agent that answers) is or is not the primary, why no failover
happens now (a live leader, lag, paused, no majority...), and its last decisions.
${COMMON_FLAGS_USAGE}`;

/** The report as text for people. */
export function renderWhy(report: WhyReport): string {
  return [
    report.summary,
    ...report.reasons.map((reason) => `  - ${reason}`),
    "",
    "last decisions:",
    ...report.events.map((event) => `  ${event.atIso}  ${event.kind.padEnd(8)} ${event.text}`),
  ].join("\n");
}

/** Runs `hactl why ARGS`; 0 when an agent answered. */
export function whyCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("why", output, async () => {
    const parsed = await parseOperatorArgs(args, WHY_USAGE, { maxPositionals: 1 });
    if (parsed === null) return (output.out(WHY_USAGE), 0);
    const member = parsed.positionals[0];
    const token = await optionalReadToken(parsed);
    for (const api of parsed.apis) {
      try {
        let target = api;
        if (member !== undefined) {
          // Ask the member's own API, found from the members this agent knows.
          const known = (await fetchStatus(api, undefined, token)).members.find((m) =>
            m.id === member
          );
          if (known === undefined) throw new Error(`${member} is not a member known to ${api}`);
          target = formatApiAddress(known);
        }
        const response = await fetch(apiUrl(target, "/why"), {
          ...apiFetchOptions(),
          signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
          headers: token === null ? {} : { authorization: `Bearer ${token}` },
        });
        if (!response.ok) throw new Error(`${apiUrl(target, "/why")} answered ${response.status}`);
        const report = await response.json() as WhyReport;
        output.out(parsed.json ? JSON.stringify(report) : renderWhy(report));
        return 0;
      } catch (error) {
        output.error(`${api}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return 1;
  });
}
