/**
 * Prometheus text exposition (format 0.0.4) of an agent's status and counters.
 *
 * @module
 */
import type { AgentStatus } from "../agent/agent_handle.ts";
import type { RaftRole } from "../core/mod.ts";

const RAFT_ROLES: readonly RaftRole[] = ["follower", "pre-candidate", "candidate", "leader"];

/** One sample: label text (`{a="b"}` or empty) and value. */
type Sample = readonly [labels: string, value: number];

/** Escapes a label value as the exposition format requires. */
function labelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** `messagesSent` → `hactl_messages_sent_total`. */
export function counterMetricName(name: string): string {
  const snake = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()
    .replace(/[^a-z0-9_]/g, "_");
  return snake.endsWith("_total") ? `hactl_${snake}` : `hactl_${snake}_total`;
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  return String(value);
}

/** Renders the metrics page. */
export function renderMetrics(
  status: AgentStatus,
  counters: Readonly<Record<string, number>>,
): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, samples: readonly Sample[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${number(value)}`);
  };
  const gauge = (name: string, help: string, value: number | boolean) =>
    family(name, "gauge", help, [["", Number(value)]]);
  const observation = status.postgres.observation;
  gauge("hactl_raft_term", "Current Raft term.", status.raft.term);
  family(
    "hactl_raft_role",
    "gauge",
    "1 for this node's current Raft role, 0 for the others.",
    RAFT_ROLES.map((role) => [`{role="${role}"}`, status.raft.role === role ? 1 : 0]),
  );
  gauge("hactl_raft_commit_index", "Highest committed Raft log index.", status.raft.commitIndex);
  gauge(
    "hactl_raft_log_entries",
    "Raft log entries kept after the snapshot.",
    status.raft.logEntries,
  );
  gauge(
    "hactl_write_authority",
    "1 when this node may accept writes (Raft leader with a valid lease).",
    status.raft.writeAuthority,
  );
  gauge("hactl_paused", "1 while the cluster is paused (maintenance).", status.cluster.paused);
  gauge(
    "hactl_postgres_running",
    "1 when the local Postgres accepts connections.",
    observation?.status === "running",
  );
  gauge(
    "hactl_postgres_fenced",
    "1 when the local Postgres is fenced (refuses writes).",
    observation?.fenced ?? false,
  );
  gauge(
    "hactl_postgres_in_recovery",
    "1 when the local Postgres is a standby.",
    observation?.inRecovery ?? false,
  );
  gauge(
    "hactl_postgres_timeline",
    "Timeline of the local Postgres (0: unknown).",
    observation?.position?.timeline ?? 0,
  );
  gauge(
    "hactl_postgres_lsn_bytes",
    "Flushed (primary) or received (standby) WAL position of the local Postgres, in bytes.",
    observation?.position?.lsn ?? 0,
  );
  family(
    "hactl_peer_lag_bytes",
    "gauge",
    "Leader only: bytes each peer's Postgres trails the primary.",
    status.peers.flatMap((peer): Sample[] =>
      peer.lagBytes === null ? [] : [[`{peer="${labelValue(peer.id)}"}`, peer.lagBytes]]
    ),
  );
  for (const [name, value] of Object.entries(counters)) {
    family(counterMetricName(name), "counter", `Agent counter ${name}.`, [["", value]]);
  }
  return lines.join("\n") + "\n";
}
