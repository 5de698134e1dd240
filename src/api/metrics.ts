/**
 * Prometheus text exposition of an agent's status and counters.
 *
 * @module
 */
import type { AgentStatus } from "../agent/agent_handle.ts";

const RAFT_ROLES = ["follower", "pre-candidate", "candidate", "leader"] as const;

/** Renders the metrics page. */
export function renderMetrics(
  status: AgentStatus,
  counters: Readonly<Record<string, number>>,
): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const observation = status.postgres.observation;
  gauge("hactl_raft_term", "Current Raft term.", [["", status.raft.term]]);
  gauge(
    "hactl_raft_role",
    "1 for the node's current Raft role.",
    RAFT_ROLES.map((role) => [`{role="${role}"}`, status.raft.role === role ? 1 : 0]),
  );
  gauge("hactl_raft_commit_index", "Highest committed Raft log index.", [[
    "",
    status.raft.commitIndex,
  ]]);
  gauge("hactl_raft_log_entries", "Entries kept in the Raft log after the snapshot.", [[
    "",
    status.raft.logEntries,
  ]]);
  gauge(
    "hactl_write_authority",
    "1 when this node may accept writes (leader with a valid lease).",
    [[
      "",
      status.raft.writeAuthority ? 1 : 0,
    ]],
  );
  gauge("hactl_postgres_running", "1 when the local Postgres answers.", [[
    "",
    observation?.status === "running" ? 1 : 0,
  ]]);
  gauge("hactl_postgres_fenced", "1 when the local Postgres is fenced (refuses writes).", [[
    "",
    observation?.fenced ? 1 : 0,
  ]]);
  gauge("hactl_postgres_in_recovery", "1 when the local Postgres is a standby.", [[
    "",
    observation?.inRecovery ? 1 : 0,
  ]]);
  gauge("hactl_postgres_timeline", "Timeline of the local Postgres.", [[
    "",
    observation?.position?.timeline ?? 0,
  ]]);
  gauge("hactl_postgres_lsn_bytes", "Flushed (or received) WAL position of the local Postgres.", [[
    "",
    observation?.position?.lsn ?? 0,
  ]]);
  gauge(
    "hactl_peer_lag_bytes",
    "Leader only: bytes each peer's Postgres trails the primary.",
    status.peers.filter((peer) => peer.lagBytes !== null).map((
      peer,
    ) => [`{peer="${peer.id}"}`, peer.lagBytes!]),
  );
  for (const [name, value] of Object.entries(counters)) {
    const metric = `hactl_${
      name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`).replace(/[^a-z0-9_]/g, "_")
    }_total`;
    lines.push(
      `# HELP ${metric} Counter ${name}.`,
      `# TYPE ${metric} counter`,
      `${metric} ${value}`,
    );
  }
  return lines.join("\n") + "\n";
}
