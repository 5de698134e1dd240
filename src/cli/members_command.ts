/**
 * `hactl members list|add NODE|remove NODE`: the Raft membership as the leader sees it, and
 * changes to it.
 *
 * @module
 */
import { UsageError } from "./usage_error.ts";
import {
  type CommandOutput,
  COMMON_FLAGS_USAGE,
  CONSOLE_OUTPUT,
  type OperatorArgs,
  optionalReadToken,
  parseOperatorArgs,
  requireAdminToken,
  runGuarded,
} from "./operator_options.ts";
import { sendOperatorRequest } from "./operator_request.ts";
import { collectStatuses } from "./status_command.ts";
import { renderTable } from "./table.ts";

/** Usage text of `hactl members`. */
export const MEMBERS_USAGE =
  `usage: hactl members list|add NODE|remove NODE (--api HOST:PORT | --config FILE)

list    voters and learners as the leader sees them
add     NODE (listed in the members' cluster.peers) joins as a learner, clones, becomes a voter
remove  NODE leaves the cluster and is not re-added from the config until hactl members add
${COMMON_FLAGS_USAGE}`;

/** Runs `hactl members ARGS`. */
export function membersCommand(
  args: readonly string[],
  output: CommandOutput = CONSOLE_OUTPUT,
): Promise<number> {
  return runGuarded("members", output, async () => {
    const parsed = await parseOperatorArgs(args, MEMBERS_USAGE, { maxPositionals: 2 });
    if (parsed === null) return (output.out(MEMBERS_USAGE), 0);
    const [action = "list", node] = parsed.positionals;
    if (action === "list" && node === undefined) return await listMembers(parsed, output);
    if ((action === "add" || action === "remove") && node !== undefined) {
      return await sendOperatorRequest({
        parsed,
        token: await requireAdminToken(parsed, MEMBERS_USAGE),
        path: `/members/${action}`,
        body: { node },
        doneMessage: action === "add"
          ? `${node} added as a learner; it becomes a voter once it has caught up`
          : `${node} removed`,
        output,
      });
    }
    throw new UsageError(
      `expected "list", "add NODE" or "remove NODE", got ${
        JSON.stringify(parsed.positionals.join(" "))
      }`,
      MEMBERS_USAGE,
    );
  });
}

async function listMembers(parsed: OperatorArgs, output: CommandOutput): Promise<number> {
  const statuses = await collectStatuses(parsed.apis, await optionalReadToken(parsed));
  const leaders = [...statuses.values()].filter((status) => status?.raft.role === "leader");
  const leader = leaders.sort((a, b) => b!.raft.term - a!.raft.term)[0] ?? null;
  if (leader === null) {
    output.error("no leader answered; membership is only known to the leader, try again later");
    return 1;
  }
  const { voters, learners } = leader.raft;
  if (parsed.json) {
    output.out(JSON.stringify({ leader: leader.nodeId, term: leader.raft.term, voters, learners }));
    return 0;
  }
  const rows = [...voters, ...learners].sort().map((id) => [
    id,
    voters.includes(id) ? "voter" : "learner",
    statuses.get(id) ? "yes" : "no",
    id === leader.nodeId ? "leader" : "",
  ]);
  output.out(renderTable(["member", "membership", "reachable", ""], rows));
  return 0;
}
