/**
 * A compact status table of a set of nodes, from their /status answers.
 *
 * @module
 */
import type { AgentStatus } from "../agent/agent_handle.ts";
import { formatWalPosition } from "../core/mod.ts";

/** The role a person would name: primary, standby, fenced, ... */
export function describeRole(status: AgentStatus): string {
  const observation = status.postgres.observation;
  if (status.refusal) return "refused";
  if (!observation || observation.status === "absent") return "no data";
  if (observation.status === "stopped") return "stopped";
  if (observation.fenced) return "fenced";
  if (!observation.inRecovery) return status.raft.writeAuthority ? "primary" : "primary (no lease)";
  return "standby";
}

/** Renders one row per node. */
export function renderStatusTable(statuses: ReadonlyMap<string, AgentStatus | null>): string {
  const header = ["member", "role", "raft", "term", "leader", "position", "activity"];
  const rows = [...statuses.entries()].map(([id, status]) => {
    if (!status) return [id, "unreachable", "-", "-", "-", "-", "-"];
    return [
      id,
      describeRole(status),
      status.raft.role,
      String(status.raft.term),
      status.raft.leader ?? "-",
      formatWalPosition(status.postgres.observation?.position ?? null),
      status.postgres.activity,
    ];
  });
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => row[column]!.length))
  );
  const line = (row: string[]) =>
    row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
