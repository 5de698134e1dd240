/**
 * The JSON documents of `/patroni` (node status, also the body of every health check on
 * GET), `/cluster` and `/history`, with Patroni's field names where they mean the same thing.
 * What only hactl has (Raft role, term, fence, lease) is under `hactl`.
 *
 * @module
 */
import { formatWalPosition, SYSTEM_IDENTIFIER_KEY } from "../core/mod.ts";
import type { AgentStatus, PostgresDetails } from "../agent/agent_handle.ts";
import { formatApiAddress } from "./api_address.ts";
import { describeNodeRole, isWritablePrimary } from "./health.ts";
import { isQuorumStandby, standbyLagBytes } from "./health_checks.ts";
import { replicationState } from "./postgres_details.ts";
import { plainTextParts } from "../config/tls_config.ts";
import { readScheduledSwitchover } from "../agent/scheduled_switchover.ts";

/** The version reported in documents and metrics. */
export const HACTL_VERSION = "0.1.0";

/** Patroni's `state` of the local Postgres. */
function postgresState(status: AgentStatus): string {
  const observation = status.postgres.observation;
  if (observation === null) return "unknown";
  if (observation.status === "running") return "running";
  if (observation.status === "unreadable") return "unknown";
  if (status.postgres.activity.startsWith("cloning")) return "creating replica";
  return observation.status === "absent" ? "uninitialized" : "stopped";
}

/** Patroni's `role`: primary, replica or uninitialized. */
function postgresRole(status: AgentStatus): string {
  const observation = status.postgres.observation;
  if (observation === null || observation.status === "absent") return "uninitialized";
  return observation.inRecovery ? "replica" : "primary";
}

function xlog(status: AgentStatus, details: PostgresDetails | null): Record<string, unknown> {
  const observation = status.postgres.observation;
  if (observation?.inRecovery === false) return { location: observation.position?.lsn ?? null };
  return {
    received_location: details?.receivedLsn ?? observation?.position?.lsn ?? null,
    replayed_location: details?.replayedLsn ?? null,
    replayed_timestamp: details?.replayedTimestampIso ?? null,
    paused: details?.replayPaused ?? false,
  };
}

/** The `/patroni` document of this node. `nowMs` is the wall clock (for dcs_last_seen). */
export function nodeDocument(
  status: AgentStatus,
  details: PostgresDetails | null,
  nowMs: number,
): Record<string, unknown> {
  const observation = status.postgres.observation;
  const state = replicationState(details);
  const systemIdentifier = status.cluster.keyValues[SYSTEM_IDENTIFIER_KEY];
  return {
    state: postgresState(status),
    ...(details ? { postmaster_start_time: details.postmasterStartIso } : {}),
    role: postgresRole(status),
    ...(details ? { server_version: details.serverVersion } : {}),
    xlog: xlog(status, details),
    timeline: observation?.position?.timeline ?? null,
    ...(state !== null ? { replication_state: state } : {}),
    ...(details && !details.inRecovery ? { replication: details.replication } : {}),
    ...(status.raft.leader === null ? { cluster_unlocked: true } : {}),
    ...(status.cluster.paused ? { pause: true } : {}),
    ...(isQuorumStandby(status) ? { quorum_standby: true } : {}),
    // The last time this node heard from the leader (Patroni: the DCS), in epoch seconds.
    dcs_last_seen: Math.floor((nowMs - status.raft.leaderContactAgeMs) / 1000),
    tags: status.tags,
    ...(systemIdentifier ? { database_system_identifier: systemIdentifier } : {}),
    patroni: { scope: status.clusterName, name: status.nodeId },
    hactl: {
      version: HACTL_VERSION,
      role: describeNodeRole(status),
      raft_role: status.raft.role,
      term: status.raft.term,
      leader: status.raft.leader,
      write_authority: status.raft.writeAuthority,
      lease_remaining_ms: status.raft.leaseRemainingMs,
      fenced: observation?.fenced ?? false,
      activity: status.postgres.activity,
      last_error: status.postgres.lastError,
      refusal: status.refusal,
      // tls.enabled = false is a choice the operator made; say what it leaves unencrypted.
      tls: status.tlsEnabled ?? false,
      plain_text: plainTextParts(status.tlsEnabled ?? false),
    },
  };
}

/**
 * The `/cluster` document as this node sees it: roles from Raft, positions and lag from the
 * leader's progress (only the leader knows every member's position; other nodes report null).
 */
export function clusterDocument(status: AgentStatus): Record<string, unknown> {
  const members = status.members.map((member) => {
    const peer = status.peers.find((candidate) => candidate.id === member.id);
    const self = member.id === status.nodeId;
    const position = self ? status.postgres.observation?.position ?? null : peer?.position ?? null;
    return {
      name: member.id,
      role: memberRole(status, member.id),
      state: self ? postgresState(status) : null,
      api_url: `http://${formatApiAddress(member)}/patroni`,
      host: member.postgres.hostname,
      port: member.postgres.port,
      timeline: position?.timeline ?? null,
      lsn: position ? formatWalPosition(position).split(":")[1] : null,
      lag: self
        ? (isWritablePrimary(status) ? 0 : standbyLagBytes(status))
        : peer?.lagBytes ?? null,
      tags: self ? status.tags : {},
    };
  });
  const scheduled = readScheduledSwitchover(status.cluster.keyValues);
  return {
    members,
    scope: status.clusterName,
    ...(status.cluster.paused ? { pause: true } : {}),
    // Patroni's field and names (at, from, to); `to` is absent for "the best standby".
    ...(scheduled === null ? {} : {
      scheduled_switchover: {
        at: scheduled.at,
        from: scheduled.from,
        ...(scheduled.candidate === null ? {} : { to: scheduled.candidate }),
      },
    }),
  };
}

function memberRole(status: AgentStatus, id: string): string {
  if (id === status.raft.leader) return "leader";
  if (status.raft.learners.includes(id)) return "replica";
  if (!status.raft.voters.includes(id)) return "not a member";
  return status.cluster.syncMode === "quorum" ? "quorum_standby" : "replica";
}

/**
 * The `/history` document: one row per timeline switch of the local Postgres' history,
 * `[timeline, switch LSN, reason, timestamp]` as Patroni lays it out. hactl knows the switch
 * points from the timeline history; the time of a switch is not recorded there (null).
 */
export function historyDocument(status: AgentStatus): unknown[][] {
  const history = status.postgres.observation?.position?.history ?? [];
  return history.map((entry) => [entry.timeline, entry.endLsn, "promotion", null]);
}
