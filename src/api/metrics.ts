/**
 * The agent's Prometheus page: build info, Raft (term, role, lease, contact with peers),
 * the local Postgres, replication lag in bytes and seconds, process memory and CPU, and the
 * event counters. Every family once, with HELP and TYPE (checked by `promtool check metrics`
 * in test/api/promtool_test.ts). docs/OPERATIONS.md lists them.
 *
 * @module
 */
import process from "node:process";
import type { AgentStatus, PostgresDetails } from "../agent/agent_handle.ts";
import type { RaftRole } from "../core/mod.ts";
import { counterHelp } from "../agent/counters.ts";
import { COMMIT_GATE_NAME } from "../watchdog/commit_gate.ts";
import { isWritablePrimary } from "./health.ts";
import { isQuorumStandby, standbyLagBytes } from "./health_checks.ts";
import { MetricsPage, type Sample } from "./metrics_page.ts";
import { HACTL_VERSION } from "./node_document.ts";

const RAFT_ROLES: readonly RaftRole[] = ["follower", "pre-candidate", "candidate", "leader"];

/** `messagesSent` → `hactl_messages_sent_total`. */
export function counterMetricName(name: string): string {
  const snake = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()
    .replace(/[^a-z0-9_]/g, "_");
  return snake.endsWith("_total") ? `hactl_${snake}` : `hactl_${snake}_total`;
}

/** Renders the metrics page; `details` is null when Postgres did not answer. */
export function renderMetrics(
  status: AgentStatus,
  counters: Readonly<Record<string, number>>,
  details: PostgresDetails | null = null,
): string {
  const page = new MetricsPage();
  page.family("hactl_build_info", "gauge", "Always 1; labels give the version and the node.", [
    [{
      version: HACTL_VERSION,
      deno: Deno.version.deno,
      cluster: status.clusterName,
      node: status.nodeId,
    }, 1],
  ]);
  raftMetrics(page, status);
  postgresMetrics(page, status, details);
  replicationMetrics(page, status, details);
  processMetrics(page);
  for (const [name, value] of Object.entries(counters)) {
    page.counter(counterMetricName(name), counterHelp(name), value);
  }
  return page.text();
}

function raftMetrics(page: MetricsPage, status: AgentStatus): void {
  const raft = status.raft;
  page.gauge("hactl_raft_term", "Current Raft term.", raft.term);
  page.family(
    "hactl_raft_role",
    "gauge",
    "1 for this node's current Raft role, 0 for the others.",
    RAFT_ROLES.map((role): Sample => [{ role }, raft.role === role ? 1 : 0]),
  );
  page.gauge("hactl_raft_commit_index", "Highest committed Raft log index.", raft.commitIndex);
  page.gauge(
    "hactl_raft_log_entries",
    "Raft log entries kept after the snapshot.",
    raft.logEntries,
  );
  page.gauge("hactl_raft_voters", "Voting members in the membership in force.", raft.voters.length);
  page.gauge(
    "hactl_write_authority",
    "1 when this node may accept writes (Raft leader with a valid lease).",
    raft.writeAuthority,
  );
  page.gauge(
    "hactl_lease_remaining_seconds",
    "Seconds of write authority left before the lease must be renewed (0 without a lease).",
    raft.leaseRemainingMs / 1000,
  );
  page.gauge(
    "hactl_leader_contact_age_seconds",
    "Seconds since this node last heard from a live leader (0 on the leader).",
    raft.leaderContactAgeMs / 1000,
  );
  page.family(
    "hactl_peer_last_contact_seconds",
    "gauge",
    "Leader only: seconds since each peer last answered.",
    status.peers.map((peer): Sample => [
      { peer: peer.id },
      (peer.ticksSinceResponse * raft.tickMs) / 1000,
    ]),
  );
  page.gauge("hactl_paused", "1 while the cluster is paused (maintenance).", status.cluster.paused);
  page.gauge(
    "hactl_tls_enabled",
    "1 when the Raft peer transport, REST API and Postgres use TLS; 0: all three in plain text.",
    status.tlsEnabled ?? false,
  );
  page.gauge(
    "hactl_agent_step_age_seconds",
    "Seconds since the agent's loop last finished a step (grows when the loop is stuck).",
    status.stepAgeMs / 1000,
  );
}

function postgresMetrics(
  page: MetricsPage,
  status: AgentStatus,
  details: PostgresDetails | null,
): void {
  const observation = status.postgres.observation;
  page.gauge(
    "hactl_writable_primary",
    "1 when this node is the writable primary (write authority and an unfenced primary).",
    isWritablePrimary(status),
  );
  page.gauge(
    "hactl_postgres_running",
    "1 when the local Postgres accepts connections.",
    observation?.status === "running",
  );
  page.gauge(
    "hactl_postgres_fenced",
    "1 when the local Postgres is fenced (refuses writes).",
    observation?.fenced ?? false,
  );
  page.gauge(
    "hactl_postgres_in_recovery",
    "1 when the local Postgres is a standby.",
    observation?.inRecovery ?? false,
  );
  page.gauge(
    "hactl_postgres_timeline",
    "Timeline of the local Postgres (0: unknown).",
    observation?.position?.timeline ?? 0,
  );
  page.gauge(
    "hactl_postgres_lsn_bytes",
    "Flushed (primary) or received (standby) WAL position of the local Postgres, in bytes.",
    observation?.position?.lsn ?? 0,
  );
  page.gauge(
    "hactl_postgres_server_version",
    "server_version_num of the local Postgres (0: not answering).",
    details?.serverVersion ?? 0,
  );
  const optOuts = status.postgres.durabilityOptOuts;
  page.family(
    "hactl_durability_opt_outs",
    "gauge",
    "Role or database settings opting sessions out of acknowledged durability (synchronous_commit off/local/remote_write, default_transaction_read_only off); no sample while unknown (not a running primary).",
    optOuts === null || optOuts === undefined ? [] : [[{}, optOuts.length]],
  );
  page.gauge(
    "hactl_quorum_standby",
    "1 when this node is named in the primary's synchronous_standby_names (quorum mode).",
    isQuorumStandby(status),
  );
}

function replicationMetrics(
  page: MetricsPage,
  status: AgentStatus,
  details: PostgresDetails | null,
): void {
  const lag = standbyLagBytes(status);
  const standby = status.postgres.observation?.inRecovery === true;
  page.family(
    "hactl_replication_lag_bytes",
    "gauge",
    "Standby: bytes its WAL trails the leader's last reported position (absent when unknown; " +
      "0 on the primary).",
    isWritablePrimary(status) ? [[{}, 0]] : standby && lag !== null ? [[{}, lag]] : [],
  );
  page.family(
    "hactl_replication_lag_seconds",
    "gauge",
    "Standby: seconds since the last replayed commit while WAL waits to be replayed " +
      "(0 when caught up or on the primary; absent when Postgres does not answer).",
    details === null ? [] : [[{}, details.replayLagSeconds]],
  );
  const maxLag = status.cluster.maxLagBytes;
  page.family(
    "hactl_max_lag_bytes",
    "gauge",
    "cluster.max_lag_bytes: a standby further behind is not promoted (absent: no limit).",
    maxLag === null ? [] : [[{}, maxLag]],
  );
  page.family(
    "hactl_peer_lag_bytes",
    "gauge",
    "Leader only: bytes each peer's Postgres trails the primary.",
    status.peers.flatMap((peer): Sample[] =>
      peer.lagBytes === null ? [] : [[{ peer: peer.id }, peer.lagBytes]]
    ),
  );
  page.family(
    "hactl_peer_replay_lag_seconds",
    "gauge",
    "Primary only: pg_stat_replication.replay_lag of each connected standby, in seconds.",
    // The watchdog's commit gate is a replication client too, not a standby: left out.
    (details?.replication ?? []).filter((row) => row.application_name !== COMMIT_GATE_NAME)
      .map((row): Sample => [{ peer: row.application_name }, row.replay_lag_seconds ?? 0]),
  );
}

/** Process figures under the names Prometheus client libraries use. */
function processMetrics(page: MetricsPage): void {
  const cpu = process.cpuUsage();
  page.counter(
    "process_cpu_seconds_total",
    "User and system CPU time the agent process spent, in seconds.",
    (cpu.user + cpu.system) / 1e6,
  );
  const memory = Deno.memoryUsage();
  page.gauge("process_resident_memory_bytes", "Resident memory of the agent process.", memory.rss);
  page.gauge("hactl_process_heap_used_bytes", "JavaScript heap in use.", memory.heapUsed);
  page.gauge(
    "process_start_time_seconds",
    "When the agent process started, in seconds since the epoch.",
    PROCESS_START_SECONDS,
  );
}

/** Wall-clock start of this process (Date.now() minus the monotonic uptime). */
const PROCESS_START_SECONDS = Math.floor((Date.now() - performance.now()) / 1000);
