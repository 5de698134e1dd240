/**
 * Physical replication slots on the primary, one per member, named from node ids.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { NodeId } from "../core/types.ts";
import { delay } from "./postmaster.ts";
import type { SqlClient } from "./sql_client.ts";

/** One physical replication slot. */
export interface ReplicationSlot {
  readonly name: string;
  readonly active: boolean;
  /** Oldest WAL the slot retains, or null when it reserves none yet. */
  readonly restartLsn: string | null;
}

const SLOT_PREFIX = "hactl_";
/** NAMEDATALEN - 1. */
const MAX_SLOT_NAME_LENGTH = 63;
/** Attempts to drop a slot whose walsender must first be terminated. */
const MAX_DROP_ATTEMPTS = 20;
const DROP_RETRY_DELAY_MS = 100;

/**
 * The slot name of a member: slot names allow only [a-z0-9_], so upper case and "-" are
 * escaped ("_" -> "__", "-" -> "_h", "A" -> "_a") to keep distinct ids distinct; a name too
 * long for Postgres becomes a hash.
 */
export function slotNameFor(node: NodeId): string {
  let encoded = "";
  for (const character of node) {
    if (/[a-z0-9]/.test(character)) encoded += character;
    else if (character === "_") encoded += "__";
    else if (character === "-") encoded += "_h";
    else if (/[A-Z]/.test(character)) encoded += `_${character.toLowerCase()}`;
    else throw new Error(`node id "${node}" has "${character}"; use letters, digits, _ and -`);
  }
  const name = SLOT_PREFIX + encoded;
  if (name.length <= MAX_SLOT_NAME_LENGTH) return name;
  return `${SLOT_PREFIX}x${createHash("sha256").update(node).digest("hex").slice(0, 40)}`;
}

/** Creates a physical slot reserving WAL now; an existing slot of that name is kept. */
export async function createReplicationSlot(sql: SqlClient, name: string): Promise<void> {
  await sql`
    SELECT pg_create_physical_replication_slot(${name}, true)
    WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ${name})`;
}

/**
 * Drops a slot (absent is fine). An active slot's walsender is terminated first, so a
 * departed member cannot pin WAL forever.
 */
export async function dropReplicationSlot(sql: SqlClient, name: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_DROP_ATTEMPTS; attempt++) {
    const rows = await sql<{ active_pid: number | null }[]>`
      SELECT active_pid FROM pg_replication_slots WHERE slot_name = ${name}`;
    const row = rows[0];
    if (row === undefined) return;
    if (row.active_pid !== null) {
      await sql`SELECT pg_terminate_backend(${row.active_pid})`;
      await delay(DROP_RETRY_DELAY_MS);
      continue;
    }
    try {
      await sql`SELECT pg_drop_replication_slot(${name})`;
      return;
    } catch (error) {
      // Reacquired by a reconnecting walsender between the check and the drop: retry.
      if (attempt === MAX_DROP_ATTEMPTS - 1) throw error;
      await delay(DROP_RETRY_DELAY_MS);
    }
  }
  throw new Error(
    `could not drop replication slot "${name}" after ${MAX_DROP_ATTEMPTS} attempts: ` +
      `its standby keeps reconnecting; remove that member first`,
  );
}

/** The physical replication slots of the server. */
export async function listReplicationSlots(sql: SqlClient): Promise<ReplicationSlot[]> {
  const rows = await sql<{ slot_name: string; active: boolean; restart_lsn: string | null }[]>`
    SELECT slot_name, active, restart_lsn::text AS restart_lsn
    FROM pg_replication_slots WHERE slot_type = 'physical' ORDER BY slot_name`;
  return rows.map((row) => ({
    name: row.slot_name,
    active: row.active,
    restartLsn: row.restart_lsn,
  }));
}
