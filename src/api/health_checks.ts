/**
 * Patroni's health checks with Patroni's meaning: each answers whether this node belongs in
 * a load balancer pool (200) or not (503), and why. hactl's "leader lock" is Raft write
 * authority (leader with a valid lease); "primary" is that plus an unfenced Postgres out of
 * recovery. hactl's quorum mode (`ANY k (...)`) is Patroni's quorum mode: its standbys are
 * quorum standbys, none is a (priority) synchronous standby.
 *
 * @module
 */
import { lagBytes } from "../core/mod.ts";
import type { AgentStatus, PostgresDetails } from "../agent/agent_handle.ts";
import { isPostgresRunning, isWritablePrimary } from "./health.ts";
import type { HealthQuery, QueryParameter } from "./health_query.ts";
import { replicationState } from "./postgres_details.ts";

/** The outcome of a check. */
export interface CheckResult {
  readonly healthy: boolean;
  /** Why, in words, for the JSON body and logs. */
  readonly reason: string;
}

/** What a check looks at. */
export interface CheckInput {
  readonly status: AgentStatus;
  readonly query: HealthQuery;
  /** Read only when the check needs it (see {@link HealthEndpoint.needsDetails}). */
  readonly details: PostgresDetails | null;
  /** api.primary_hold_ms: the primary checks wait this long after write authority is gained. */
  readonly primaryHoldMs: number;
}

/** One health endpoint. */
export interface HealthEndpoint {
  readonly parameters: readonly QueryParameter[];
  /** True when the check must read Postgres (not only the status snapshot) for `query`. */
  readonly needsDetails: (query: HealthQuery) => boolean;
  readonly check: (input: CheckInput) => CheckResult;
}

const SYNC_REASON = "hactl has no priority synchronous standbys (in quorum mode see /quorum)";
const REPLICA_PARAMETERS: readonly QueryParameter[] = ["lag", "replication_state", "tags"];
const byState = (query: HealthQuery) => query.replicationState !== null;

const ok = (reason: string): CheckResult => ({ healthy: true, reason });
const no = (reason: string): CheckResult => ({ healthy: false, reason });

/** `/`, `/primary`: the writable primary. Tags are ignored, as Patroni does. */
function primary(input: CheckInput): CheckResult {
  const { status } = input;
  if (!status.raft.writeAuthority) return no(`no write authority (Raft ${status.raft.role})`);
  if (!isWritablePrimary(status)) {
    return no("write authority, but the local Postgres is not an unfenced running primary");
  }
  return holding(input) ?? ok("writable primary with write authority");
}

/** `/leader`: holds the leader lock (write authority), whatever Postgres is doing. */
function leader(input: CheckInput): CheckResult {
  if (!input.status.raft.writeAuthority) {
    return no(`no write authority (Raft ${input.status.raft.role})`);
  }
  return holding(input) ?? ok("Raft leader with a valid lease");
}

/**
 * A load balancer notices a failed primary only after its checks failed `fall` times; a new
 * primary reported at once would be UP beside the old one. The hold (api.primary_hold_ms)
 * keeps the new one out until the old one is marked DOWN. Null once the hold is over.
 */
function holding({ status, primaryHoldMs }: CheckInput): CheckResult | null {
  const ageMs = Math.floor(status.raft.writeAuthorityAgeMs);
  if (ageMs >= primaryHoldMs) return null;
  return no(
    `write authority for ${ageMs} ms; the primary checks answer 200 after ` +
      `api.primary_hold_ms = ${primaryHoldMs}, once load balancers have dropped the old primary`,
  );
}

/** `/replica`: a running standby, not excluded by noloadbalance, lag, state or tags. */
function replica(input: CheckInput): CheckResult {
  const { status, query, details } = input;
  const observation = status.postgres.observation;
  if (observation === null || observation.status !== "running") return no("Postgres not running");
  if (!observation.inRecovery || isWritablePrimary(status)) return no("not a standby");
  if (isTrue(status.tags["noloadbalance"])) return no("tag noloadbalance is set");
  if (query.lagBytes !== null) {
    const lag = standbyLagBytes(status);
    if (lag === null) return no("lag unknown (no leader position on this timeline)");
    if (lag > query.lagBytes) return no(`lag ${lag} bytes exceeds ${query.lagBytes}`);
  }
  if (query.replicationState !== null) {
    const state = replicationState(details);
    if (state !== query.replicationState) return no(`replication state is ${state ?? "unknown"}`);
  }
  return matchTags(status, query, "running standby");
}

/** True when Patroni would call this standby a quorum standby: named in `ANY k (...)`. */
export function isQuorumStandby(status: AgentStatus): boolean {
  return status.cluster.syncMode === "quorum" && status.raft.voters.length > 1 &&
    status.raft.voters.includes(status.nodeId) && status.raft.leader !== status.nodeId;
}

/** Bytes this standby trails the leader's last reported position, or null when not comparable. */
export function standbyLagBytes(status: AgentStatus): number | null {
  const own = status.postgres.observation?.position ?? null;
  const leaderPosition = status.postgres.leaderPosition;
  if (own === null || leaderPosition === null) return null;
  return lagBytes(own, leaderPosition);
}

function matchTags(status: AgentStatus, query: HealthQuery, reason: string): CheckResult {
  for (const [name, wanted] of Object.entries(query.tags)) {
    const actual = status.tags[name];
    if (actual === undefined) return no(`tag ${name} is not set on this node`);
    if (actual !== wanted) return no(`tag ${name} is ${JSON.stringify(actual)}`);
  }
  return ok(reason);
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["true", "on", "yes", "1"].includes(value.toLowerCase());
}

/** A replica check narrowed by `pick`, optionally also passing the writable primary. */
function standbyOf(
  pick: (status: AgentStatus) => boolean,
  notPicked: string,
  withPrimary: boolean,
): (input: CheckInput) => CheckResult {
  return (input) => {
    if (withPrimary && isWritablePrimary(input.status)) {
      return matchTags(input.status, input.query, "writable primary");
    }
    if (!pick(input.status)) return no(notPicked);
    return replica(input);
  };
}

const REPLICA_ENDPOINT: HealthEndpoint = {
  parameters: REPLICA_PARAMETERS,
  needsDetails: byState,
  check: replica,
};
const SYNC: HealthEndpoint = {
  parameters: REPLICA_PARAMETERS,
  needsDetails: byState,
  check: standbyOf(() => false, SYNC_REASON, false),
};
const QUORUM_ONLY = standbyOf(isQuorumStandby, "not a quorum standby", false);
const ASYNC_ONLY = standbyOf((status) => !isQuorumStandby(status), "a quorum standby", false);

/** Every health endpoint by path, with Patroni's aliases. */
export const HEALTH_ENDPOINTS: Readonly<Record<string, HealthEndpoint>> = {
  "/": { parameters: ["tags"], needsDetails: () => false, check: primary },
  "/primary": { parameters: ["tags"], needsDetails: () => false, check: primary },
  "/master": { parameters: ["tags"], needsDetails: () => false, check: primary },
  "/read-write": { parameters: ["tags"], needsDetails: () => false, check: primary },
  "/leader": { parameters: ["tags"], needsDetails: () => false, check: leader },
  "/replica": REPLICA_ENDPOINT,
  "/read-only": { ...REPLICA_ENDPOINT, check: standbyOf(() => true, "", true) },
  "/synchronous": SYNC,
  "/sync": SYNC,
  "/read-only-sync": { ...SYNC, check: standbyOf(() => false, SYNC_REASON, true) },
  "/read-only-synchronous": { ...SYNC, check: standbyOf(() => false, SYNC_REASON, true) },
  "/quorum": { ...REPLICA_ENDPOINT, check: QUORUM_ONLY },
  "/read-only-quorum": {
    ...REPLICA_ENDPOINT,
    check: standbyOf(isQuorumStandby, "not a quorum standby", true),
  },
  "/asynchronous": { ...REPLICA_ENDPOINT, check: ASYNC_ONLY },
  "/async": { ...REPLICA_ENDPOINT, check: ASYNC_ONLY },
  "/health": {
    parameters: ["tags"],
    needsDetails: () => false,
    check: ({ status, query }) =>
      isPostgresRunning(status)
        ? matchTags(status, query, "Postgres running")
        : no("Postgres not running"),
  },
};
