/**
 * Health predicates for load balancers (Patroni-style: HAProxy sends traffic where the check
 * answers 200) and the role name people see in `hactl status`.
 *
 * @module
 */
import type { AgentStatus } from "../agent/agent_handle.ts";

/**
 * True when this node is the writable primary: it holds Raft write authority (leader with a
 * valid lease) AND its Postgres runs, out of recovery, unfenced. Both halves matter: a leader
 * whose Postgres is still a standby must not get writes, nor a primary that lost its lease.
 */
export function isWritablePrimary(status: AgentStatus): boolean {
  const observation = status.postgres.observation;
  return status.raft.writeAuthority && observation !== null &&
    observation.status === "running" && !observation.inRecovery && !observation.fenced;
}

/** True when this node's Postgres runs as a standby (in recovery) and is not the primary. */
export function isReadableStandby(status: AgentStatus): boolean {
  const observation = status.postgres.observation;
  return observation !== null && observation.status === "running" && observation.inRecovery &&
    !isWritablePrimary(status);
}

/** True when this node's Postgres accepts connections, whatever its role. */
export function isPostgresRunning(status: AgentStatus): boolean {
  return status.postgres.observation?.status === "running";
}

/** The role a person would name: primary, standby, fenced, stopped, ... */
export function describeNodeRole(status: AgentStatus): string {
  const observation = status.postgres.observation;
  if (status.refusal !== null) return "refused";
  if (observation === null || observation.status === "absent") return "no data";
  if (observation.status === "stopped") return "stopped";
  if (observation.status === "unreadable") return "unreadable";
  if (observation.fenced) return "fenced";
  if (observation.inRecovery) return "standby";
  return status.raft.writeAuthority ? "primary" : "primary (no lease)";
}
