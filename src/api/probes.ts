/**
 * Patroni's `/liveness` and `/readiness` probes (e.g. for Kubernetes). Liveness: the agent's
 * loop is stepping. Readiness: this node leads, or its Postgres streams and is close enough
 * to the leader to serve reads and be promoted.
 *
 * @module
 */
import { lagBytes } from "../core/mod.ts";
import type { CheckInput, CheckResult, HealthEndpoint } from "./health_checks.ts";
import { replicationState } from "./postgres_details.ts";

const ok = (reason: string): CheckResult => ({ healthy: true, reason });
const no = (reason: string): CheckResult => ({ healthy: false, reason });

/**
 * Live while the loop finished a step within one election timeout (two on a standby, like
 * Patroni's ttl rule): ticks arrive every tickMs, so a larger gap means a stuck loop.
 */
function liveness({ status }: CheckInput): CheckResult {
  const limitMs = status.raft.electionTimeoutMs * (status.raft.writeAuthority ? 1 : 2);
  const ageMs = Math.round(status.stepAgeMs);
  return ageMs <= limitMs
    ? ok(`last step ${ageMs} ms ago`)
    : no(`last step ${ageMs} ms ago, more than ${limitMs} ms: the agent loop is stuck`);
}

/**
 * Ready when this node has write authority, or when its Postgres streams and its replayed
 * (`mode=apply`, default) or received (`mode=write`) WAL trails the leader's last reported
 * position by at most `lag` (default: cluster.max_lag_bytes; no limit when that is unset).
 */
function readiness({ status, query, details }: CheckInput): CheckResult {
  if (status.raft.writeAuthority) return ok("Raft leader with a valid lease");
  if (status.postgres.observation?.status !== "running") return no("Postgres not running");
  if (replicationState(details) !== "streaming") return no("Postgres is not streaming");
  const leaderPosition = status.postgres.leaderPosition;
  const own = status.postgres.observation.position;
  if (leaderPosition === null || own === null) return no("the leader's position is unknown");
  const location = query.mode === "write" ? details?.receivedLsn : details?.replayedLsn;
  if (location === null || location === undefined) return no(`no ${query.mode} position`);
  // On the own timeline's history: a standby past the leader's fork point is not comparable.
  const lag = lagBytes({ ...own, lsn: location }, leaderPosition);
  if (lag === null) return no("not on the leader's timeline history");
  const limit = query.lagBytes ?? status.cluster.maxLagBytes;
  if (limit !== null && lag > limit) {
    return no(`${query.mode} lag ${lag} bytes exceeds ${limit}`);
  }
  return ok(`streaming, ${query.mode} lag ${lag} bytes`);
}

/** The probe endpoints. */
export const PROBE_ENDPOINTS: Readonly<Record<string, HealthEndpoint>> = {
  "/liveness": { parameters: [], needsDetails: () => false, check: liveness },
  "/readiness": {
    parameters: ["lag", "mode"],
    needsDetails: () => true,
    check: readiness,
  },
};
