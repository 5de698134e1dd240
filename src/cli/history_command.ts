/**
 * `hactl history`: the promotions recorded in the Raft log (src/agent/promotion_history.ts):
 * term, timeline, member, why (bootstrap, switchover, failover), when, and the WAL position.
 *
 * @module
 */
import { formatWalPosition } from "../core/mod.ts";
import { type HistoryEntry, readHistory } from "../agent/promotion_history.ts";
import { fetchStatus } from "./api_client.ts";
import { renderTable } from "./table.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  optionalReadToken,
  parseOperatorArgs,
  runGuarded,
} from "./operator_options.ts";

/** Usage text of `hactl history`. */
export const HISTORY_USAGE = `usage: hactl history (--api HOST:PORT | --config FILE) [--json]

The promotions of the cluster, oldest first (the last 100): the Raft term, the Postgres
timeline, the member, the reason (bootstrap, switchover, failover) and the time.
${COMMON_FLAGS_USAGE}`;

/** The history as a table. */
export function renderHistory(entries: readonly HistoryEntry[]): string {
  return renderTable(
    ["Term", "TL", "Member", "Reason", "Time", "LSN"],
    entries.map((entry) => [
      String(entry.term),
      entry.timeline === null ? "-" : String(entry.timeline),
      entry.node,
      entry.reason,
      entry.atIso,
      entry.lsn === null || entry.timeline === null
        ? "-"
        : formatWalPosition({ timeline: entry.timeline, lsn: entry.lsn, history: [] }),
    ]),
  );
}

/** Runs `hactl history ARGS`; 0 when an agent answered. */
export function historyCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("history", output, async () => {
    const parsed = await parseOperatorArgs(args, HISTORY_USAGE);
    if (parsed === null) return (output.out(HISTORY_USAGE), 0);
    const token = await optionalReadToken(parsed);
    for (const api of parsed.apis) {
      try {
        const entries = readHistory((await fetchStatus(api, undefined, token)).cluster.keyValues);
        output.out(parsed.json ? JSON.stringify(entries) : renderHistory(entries));
        return 0;
      } catch (error) {
        output.error(`${api}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return 1;
  });
}
