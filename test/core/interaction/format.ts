/**
 * One-line renderings of core messages, effects and node states for interaction scripts.
 * Stable and compact: a script's expected output is a readable trace, diffed as text.
 *
 * @module
 */
import {
  type Command,
  decidePostgresRole,
  type Effect,
  hasWriteAuthority,
  type LogEntry,
  type Message,
  type NodeState,
  type PostgresRole,
  type WalPosition,
} from "../../../src/core/mod.ts";

/** `tl:lsn` with the history as `[1@100,2@300]` when there is one; `-` for null. */
export function formatPosition(position: WalPosition | null): string {
  if (position === null) return "-";
  const history = position.history.length === 0
    ? ""
    : `[${position.history.map((item) => `${item.timeline}@${item.endLsn}`).join(",")}]`;
  return `${position.timeline}:${position.lsn}${history}`;
}

function formatCommand(command: Command): string {
  switch (command.kind) {
    case "membership":
      return `membership(voters=${command.membership.voters.join(",")}${
        command.membership.learners.length > 0
          ? ` learners=${command.membership.learners.join(",")}`
          : ""
      })`;
    case "kv":
      return `kv(${command.key}=${command.value ?? "null"})`;
    case "pause":
      return `pause(${command.paused})`;
    case "sync-mode":
      return `sync-mode(${command.mode})`;
    case "switchover":
      return `switchover(${command.target ?? "null"})`;
    default:
      return command.kind;
  }
}

function formatEntries(entries: readonly LogEntry[]): string {
  return `[${
    entries.map((entry) => `${entry.term}/${entry.index}:${formatCommand(entry.command)}`).join(
      " ",
    )
  }]`;
}

/** `from->to kind term=… fields…`. */
export function formatMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.kind} term=${message.term}`;
  switch (message.kind) {
    case "pre-vote":
    case "vote":
      return `${head} last=${message.lastLogTerm}/${message.lastLogIndex} pos=${
        formatPosition(message.position)
      }${message.kind === "vote" && message.transfer ? " transfer" : ""}`;
    case "vote-response":
      return `${head}${message.preVote ? " pre" : ""} ${
        message.granted ? "granted" : `refused (${message.reason})`
      }`;
    case "append":
      return `${head} prev=${message.prevLogTerm}/${message.prevLogIndex} commit=${message.commitIndex} round=${message.round} entries=${
        formatEntries(message.entries)
      }`;
    case "append-response":
      return `${head} ${
        message.success ? "ok" : "reject"
      } match=${message.matchIndex} round=${message.round} pos=${formatPosition(message.position)}`;
    case "snapshot":
      return `${head} last=${message.snapshot.lastTerm}/${message.snapshot.lastIndex}`;
    case "timeout-now":
      return head;
  }
}

/** One effect, e.g. `role leader term=2` or `admin r1 ok`. */
export function formatEffect(effect: Effect): string {
  switch (effect.kind) {
    case "admin-result":
      return `admin ${effect.requestId} ${effect.ok ? "ok" : `error: ${effect.error}`}`;
    case "applied":
      return `applied ${formatEntries(effect.entries)}`;
    case "role-changed":
      return `role ${effect.role} term=${effect.term} leader=${effect.leader ?? "-"}`;
    case "warning":
      return `warning: ${effect.text}`;
  }
}

function formatRole(role: PostgresRole): string {
  switch (role.kind) {
    case "primary":
      return `primary(${role.synchronousStandbyNames})`;
    case "standby":
      return `standby(${role.source ?? "-"})`;
    case "fenced":
    case "hold":
      return `${role.kind}(${role.reason})`;
    case "rejoin":
    case "clone":
      return `${role.kind}(${role.source})`;
    case "initdb":
      return "initdb";
  }
}

/** The facts a script asserts on: Raft role, term, leader, log, lease, authority, Postgres role. */
export function formatNode(state: NodeState): string {
  const last = state.log[state.log.length - 1]?.index ?? state.snapshot?.lastIndex ?? 0;
  return `${state.id}: ${state.role} term=${state.term} leader=${state.leader ?? "-"} ` +
    `vote=${state.votedFor ?? "-"} last=${last} commit=${state.commitIndex} ` +
    `lease=${state.leaseRemainingTicks} authority=${
      hasWriteAuthority(state) ? "yes" : "no"
    } postgres=${formatRole(decidePostgresRole(state))}`;
}
