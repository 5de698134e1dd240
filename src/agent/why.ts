/**
 * `hactl why` / `GET /why`: from the core's own reasons, why this node is or is not the
 * primary, why no failover happens now, and the last decisions.
 *
 * @module
 */
import {
  decidePostgresRole,
  hasWriteAuthority,
  lagBytes,
  maximumLagBytes,
  type NodeState,
  ownTermCommitted,
} from "../core/mod.ts";
import { campaignBlocker } from "../core/election.ts";
import { type DecisionEvent, describeRole } from "./decision_log.ts";

/** The answer of `GET /why`. */
export interface WhyReport {
  readonly node: string;
  /** This node holds write authority and the core wants its Postgres primary. */
  readonly primary: boolean;
  /** One sentence: is this node the primary, and why (not). */
  readonly summary: string;
  /** The facts behind it, most important first. */
  readonly reasons: readonly string[];
  /** The last decisions, oldest first. */
  readonly events: readonly DecisionEvent[];
}

/** Explains `state`; `tickMs` converts tick counts for people. */
export function explain(
  state: NodeState,
  tickMs: number,
  events: readonly DecisionEvent[],
): WhyReport {
  const desired = decidePostgresRole(state);
  const primary = hasWriteAuthority(state) && desired.kind === "primary";
  const reasons = [
    `Postgres: the core wants it ${describeRole(desired)}`,
    ...(state.role === "leader" ? leaderReasons(state) : followerReasons(state, tickMs)),
  ];
  if (state.applied.paused) {
    reasons.unshift("the cluster is paused: no automatic promotion or failover (hactl resume)");
  }
  const summary = primary
    ? `${state.id} is the primary: Raft leader in term ${state.term} with write authority`
    : state.role === "leader"
    ? `${state.id} leads Raft in term ${state.term} but its Postgres is not writable yet`
    : `${state.id} is not the primary${state.leader ? `: ${state.leader} leads` : ""}`;
  return { node: state.id, primary, summary, reasons, events };
}

function leaderReasons(state: NodeState): string[] {
  const reasons: string[] = [];
  if (!ownTermCommitted(state)) reasons.push("no entry of this term is committed yet");
  if (!hasWriteAuthority(state)) {
    reasons.push("no write authority: the lease is not renewed by a majority (or a transfer)");
  }
  if (state.transfer !== null) {
    reasons.push(`leadership transfer to ${state.transfer.target} in progress`);
  }
  return reasons;
}

function followerReasons(state: NodeState, tickMs: number): string[] {
  const reasons: string[] = [];
  const contactMs = state.ticksSinceLeaderContact * tickMs;
  const timeoutMs = state.config.electionTimeoutTicks * tickMs;
  if (state.leader !== null && state.ticksSinceLeaderContact < state.config.electionTimeoutTicks) {
    reasons.push(
      `no failover: leader ${state.leader} was heard ${contactMs} ms ago ` +
        `(an election starts after ${timeoutMs} ms of silence)`,
    );
  } else {
    reasons.push(`no leader heard for ${contactMs} ms (election timeout ${timeoutMs} ms)`);
  }
  const blocker = campaignBlocker(state);
  reasons.push(
    blocker === null
      ? "this node may stand for election (it needs a majority of votes)"
      : `this node does not stand for election: ${blocker}`,
  );
  const own = state.postgres?.position ?? null;
  const limit = maximumLagBytes(state.applied, state.config.maxLagBytes);
  if (own !== null && state.leaderPosition !== null) {
    const lag = lagBytes(own, state.leaderPosition);
    reasons.push(
      `WAL behind the last primary: ${lag ?? "unknown (diverged)"} bytes` +
        ` (maximum on failover: ${limit ?? "none"})`,
    );
  }
  const voters = state.membership.voters.length;
  reasons.push(`${voters} voter(s): an election needs ${Math.floor(voters / 2) + 1} votes`);
  return reasons;
}
