/**
 * The failover decision: from Raft role, lease and the local Postgres, the one role the
 * local Postgres must have, and the synchronous_standby_names of the primary.
 *
 * @module
 */
import { hasWriteAuthority } from "./lease.ts";
import type { NodeState, PostgresRole } from "./types.ts";

/** Key in the cluster key-value map recording that the first primary was created. */
export const SYSTEM_IDENTIFIER_KEY = "postgres/system-identifier";

/**
 * The quorum-sync value for this node as primary (D1): `ANY k (others)` over the other
 * voters with k = floor(N/2), so that the primary plus k standbys is a Raft majority.
 * When no remote standby is required (asynchronous mode, or the primary is the only voter):
 * the local commit gate if there is one (S2 under a whole-host freeze), else empty.
 */
export function synchronousStandbyNames(state: NodeState): string {
  const remote = remoteStandbyNames(state);
  if (remote !== "" || state.config.commitGate === null) return remote;
  return `"${state.config.commitGate}"`;
}

function remoteStandbyNames(state: NodeState): string {
  if (state.applied.syncMode !== "quorum") return "";
  const faults = state.config.faults;
  const membership = faults.syncSetIgnoresMembership && state.bootstrapMembership !== null
    ? state.bootstrapMembership
    : state.membership;
  const others = membership.voters.filter((voter) => voter !== state.id);
  const required = faults.ackOnOneStandby ? 1 : Math.floor(membership.voters.length / 2);
  const count = Math.min(required, others.length);
  if (count === 0) return "";
  return `ANY ${count} (${others.map((name) => `"${name}"`).join(", ")})`;
}

/** The role the local Postgres must have now. */
export function decidePostgresRole(state: NodeState): PostgresRole {
  if (state.applied.paused) return { kind: "hold", reason: "cluster is paused (maintenance mode)" };
  const postgres = state.postgres;
  if (postgres === null) return { kind: "hold", reason: "local Postgres not observed yet" };
  if (state.role === "leader") return leaderRole(state);
  const leader = state.leader;
  if (postgres.status === "absent") {
    if (leader !== null) return { kind: "clone", source: leader };
    return { kind: "hold", reason: "no data yet and no primary to clone from" };
  }
  if (!postgres.inRecovery) {
    // A primary that is not (or no longer) the leader: it may have diverged. It never
    // starts as a primary again: rewind and follow, or stay fenced while no leader is known.
    if (leader !== null) return { kind: "rejoin", source: leader };
    return { kind: "fenced", reason: "not the leader and no leader known" };
  }
  return { kind: "standby", source: leader };
}

function leaderRole(state: NodeState): PostgresRole {
  const postgres = state.postgres!;
  if (postgres.status === "absent") {
    if (state.applied.keyValues[SYSTEM_IDENTIFIER_KEY] === undefined) return { kind: "initdb" };
    return { kind: "hold", reason: "this leader has no Postgres data; another member must lead" };
  }
  if (!hasWriteAuthority(state)) {
    if (postgres.inRecovery) return { kind: "standby", source: null };
    const reason = state.transfer !== null
      ? `leadership transfer to ${state.transfer.target}`
      : "no valid lease (waiting for a majority)";
    return { kind: "fenced", reason };
  }
  if (postgres.inRecovery && !postgres.replayCaughtUp) return { kind: "standby", source: null };
  return { kind: "primary", synchronousStandbyNames: synchronousStandbyNames(state) };
}
