/**
 * Waiting, after a switchover or failover was accepted, until the change shows: a member
 * other than the former leader (or the one asked for) leads with a writable primary.
 *
 * @module
 */
import type { AgentStatus } from "../agent/agent_handle.ts";
import { describeNodeRole } from "../api/health.ts";
import { collectStatuses } from "./status_command.ts";

/** How often the members are asked while waiting. */
const POLL_INTERVAL_MS = 500;

/** The member that leads with a writable primary, if one answered as such. */
export function writablePrimaryOf(
  statuses: ReadonlyMap<string, AgentStatus | null>,
): string | null {
  for (const status of statuses.values()) {
    if (status?.raft.role === "leader" && describeNodeRole(status) === "primary") {
      return status.nodeId;
    }
  }
  return null;
}

/** The member leading now (highest term among the answers), or null. */
export async function currentLeader(apis: readonly string[]): Promise<string | null> {
  const statuses = await collectStatuses(apis);
  const leaders = [...statuses.values()].filter((status) => status?.raft.role === "leader");
  return leaders.sort((a, b) => b!.raft.term - a!.raft.term)[0]?.nodeId ?? null;
}

/**
 * Polls until a writable primary runs on `target` (or, when null, on any member but
 * `formerLeader`); returns that member, or null when `timeoutMs` passed first.
 */
export async function waitForNewPrimary(options: {
  readonly apis: readonly string[];
  readonly formerLeader: string | null;
  readonly target: string | null;
  readonly timeoutMs: number;
}): Promise<string | null> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const primary = writablePrimaryOf(await collectStatuses(options.apis));
    const wanted = options.target === null
      ? primary !== null && primary !== options.formerLeader
      : primary === options.target;
    if (wanted) return primary;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return null;
}
