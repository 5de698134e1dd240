/**
 * Walsenders that are not hactl's: the rule that tells them apart and their termination.
 *
 * A commit on the primary waits for the standbys named in `synchronous_standby_names`, and
 * Postgres matches those names against the `application_name` a replication client chooses
 * for itself. Any login of the replication role could therefore call itself a member, or the
 * commit gate, and acknowledge commits that no member holds (issue 11). The primary checks
 * every walsender each reconcile round: the name must be a member's id, from that member's
 * address, or the commit gate's name, over the local socket (the gate in the watchdog process
 * connects only that way, commit_gate.ts). Everything else, also an operator's
 * pg_receivewal or a logical replication subscriber, is terminated.
 *
 * @module
 */

import type { SqlClient } from "./sql_client.ts";

/** Who may stream from this primary. */
export interface WalsenderPolicy {
  /**
   * Member id (other members only) → the IP addresses its connections may come from; null
   * when its host name could not be resolved yet (its walsenders are then not checked by
   * address, only by name).
   */
  readonly members: ReadonlyMap<string, readonly string[] | null>;
  /** application_name of the commit gate (it must come over the local socket). */
  readonly gateName: string;
}

/** One walsender, as pg_stat_activity shows it. */
export interface WalsenderRow {
  readonly pid: number;
  readonly applicationName: string;
  /** host(client_addr); null for a Unix-socket connection. */
  readonly clientAddress: string | null;
}

/** A walsender this module terminated, with the reason. */
export interface TerminatedWalsender extends WalsenderRow {
  readonly reason: string;
}

/** Upper bound on walsenders looked at per round (max_wal_senders is 16, config_files.ts). */
const MAX_WALSENDERS_CHECKED = 256;

/** An address as it is compared: lower case, an IPv4-mapped IPv6 address as plain IPv4. */
export function normalizeAddress(address: string | null): string | null {
  if (address === null) return null;
  const lower = address.trim().toLowerCase();
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower;
}

/** Why this walsender is not one of hactl's, or null when it is allowed. */
export function foreignWalsenderReason(row: WalsenderRow, policy: WalsenderPolicy): string | null {
  const name = row.applicationName;
  const address = normalizeAddress(row.clientAddress);
  const from = address === null ? "the local socket" : address;
  if (name === policy.gateName) {
    return address === null
      ? null
      : `application_name "${name}" is the commit gate's, which connects over the local ` +
        `socket only; this one came from ${address}`;
  }
  if (!policy.members.has(name)) {
    return `application_name "${name}" (from ${from}) is not a member of the cluster`;
  }
  const allowed = policy.members.get(name) ?? null;
  if (allowed === null) return null;
  if (address !== null && allowed.map(normalizeAddress).includes(address)) return null;
  return `application_name "${name}" came from ${from}, not from the member's address ` +
    `(${allowed.join(", ") || "none known"})`;
}

/** Every walsender of the server (physical and logical), at most {@link MAX_WALSENDERS_CHECKED}. */
export async function listWalsenders(sql: SqlClient): Promise<WalsenderRow[]> {
  const rows = await sql<{ pid: number; application_name: string; client_addr: string | null }[]>`
    SELECT pid, coalesce(application_name, '') AS application_name,
      host(client_addr) AS client_addr
    FROM pg_stat_activity WHERE backend_type = 'walsender'
    ORDER BY pid LIMIT ${MAX_WALSENDERS_CHECKED}`;
  return rows.map((row) => ({
    pid: row.pid,
    applicationName: row.application_name,
    clientAddress: row.client_addr,
  }));
}

/**
 * Terminates every walsender {@link foreignWalsenderReason} refuses; returns those it
 * terminated. The terminating statement checks the pid is still that walsender, so a pid
 * reused meanwhile is left alone.
 */
export async function terminateForeignWalsenders(
  sql: SqlClient,
  policy: WalsenderPolicy,
): Promise<TerminatedWalsender[]> {
  const terminated: TerminatedWalsender[] = [];
  for (const row of await listWalsenders(sql)) {
    const reason = foreignWalsenderReason(row, policy);
    if (reason === null) continue;
    const result = await sql<{ terminated: boolean }[]>`
      SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
      WHERE pid = ${row.pid} AND backend_type = 'walsender'
        AND coalesce(application_name, '') = ${row.applicationName}`;
    if (result[0]?.terminated === true) terminated.push({ ...row, reason });
  }
  return terminated;
}
