/**
 * Human-readable text for counterexample traces: messages, and what an action changed
 * (Raft role, term, commit, lease, Postgres role and WAL, acknowledgements).
 *
 * @module
 */
import { hasWriteAuthority, type Message, type NodeState } from "../src/core/mod.ts";
import type { ClusterModelState, ModelNode } from "./cluster_types.ts";
import type { ModelContext } from "./cluster_step.ts";
import { positionOf } from "./postgres_model.ts";

/** One message in a line, e.g. `vote n1→n2 t3 log(2,4) pos 2/5`. */
export function describeMessage(message: Message): string {
  const head = `${message.kind} ${message.from}→${message.to} t${message.term}`;
  switch (message.kind) {
    case "pre-vote":
    case "vote":
      return `${head} log(${message.lastLogTerm},${message.lastLogIndex}) pos ${message.position.timeline}/${message.position.lsn}`;
    case "vote-response":
      return `${head} ${message.preVote ? "pre-" : ""}${
        message.granted ? "granted" : `refused (${message.reason})`
      }`;
    case "append": {
      const entries = message.entries.map((entry) =>
        `${entry.term}@${entry.index}${
          entry.command.kind === "noop" ? "" : `:${entry.command.kind}`
        }`
      ).join(",");
      return `${head} prev(${message.prevLogTerm},${message.prevLogIndex}) [${entries}] commit ${message.commitIndex} round ${message.round}`;
    }
    case "append-response":
      return `${head} ${
        message.success ? "ok" : "rejected"
      } match ${message.matchIndex} round ${message.round}`;
    case "snapshot":
      return `${head} snapshot to ${message.snapshot.lastIndex}`;
    case "timeout-now":
      return head;
  }
}

/** The facts of one node that a reader of a trace cares about. */
export function describeNode(node: ModelNode): string {
  const postgres = node.postgres;
  const position = positionOf(postgres);
  const role = postgres.status !== "running"
    ? postgres.status
    : postgres.inRecovery
    ? "standby"
    : postgres.fenced
    ? "fenced primary"
    : "PRIMARY";
  const writes = postgres.wal.filter((record) => record.write > 0).map((record) =>
    `w${record.write}`
  ).join(",");
  const pg = `pg ${role} ${position.timeline}/${position.lsn}${writes ? ` {${writes}}` : ""}`;
  if (node.core === null) return `down, ${pg}`;
  return `${describeCore(node.core)}, ${pg}`;
}

function describeCore(core: NodeState): string {
  const lastIndex = core.log[core.log.length - 1]?.index ?? core.snapshot?.lastIndex ?? 0;
  const authority = hasWriteAuthority(core) ? " AUTHORITY" : "";
  const lease = core.role === "leader" ? ` lease ${core.leaseRemainingTicks}` : "";
  return `${core.role} t${core.term} log ${lastIndex} commit ${core.commitIndex}${lease}${authority}`;
}

/** What changed between two states, naming nodes by id. */
export function describeStateChange(
  context: ModelContext,
  before: ClusterModelState,
  action: { readonly kind: string; readonly message?: number },
  after: ClusterModelState,
): string {
  const parts: string[] = [];
  const message = action.message === undefined ? undefined : before.messages[action.message];
  if (message !== undefined) parts.push(`[${describeMessage(message)}]`);
  after.nodes.forEach((node, index) => {
    const previous = before.nodes[index];
    if (previous === undefined) return;
    const text = describeNode(node);
    if (text !== describeNode(previous)) parts.push(`${context.nodeIds[index]}: ${text}`);
  });
  const acked = after.acked.slice(before.acked.length).map((write) => `w${write.write}`);
  if (acked.length > 0) parts.push(`ACKED ${acked.join(",")}`);
  const sent = after.messages.filter((message) => !before.messages.includes(message));
  if (sent.length > 0) parts.push(`sent ${sent.length}`);
  if (after.coreFailure !== null) parts.push(`CORE ASSERTION: ${after.coreFailure}`);
  return parts.join("; ");
}
