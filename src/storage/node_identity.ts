/**
 * The node's cluster identity, written once into its state directory.
 *
 * @module
 */

import { join } from "node:path";
import type { NodeId } from "../core/types.ts";
import { readDurableJson, StorageCorruptionError, writeDurableJson } from "./durable_file.ts";
import { expectLiteral, expectRecord, expectString } from "./json_shape.ts";

/** Which cluster this node belongs to and under which name. Never changes once written. */
export interface NodeIdentity {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  /** When the identity was created, e.g. `new Date().toISOString()`. */
  readonly createdAtIso: string;
}

/** The identity file's name inside the state directory. */
export const NODE_IDENTITY_FILE = "node_identity";

const IDENTITY_FORMAT = "hactl-node-identity-v1";
const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,63}$/;
const MAX_CLUSTER_ID_CHARS = 200;

/**
 * The identity stored in `directory`, or null when none was written. Throws
 * {@link StorageCorruptionError} when the file is damaged.
 */
export async function readNodeIdentity(directory: string): Promise<NodeIdentity | null> {
  const path = join(directory, NODE_IDENTITY_FILE);
  const value = await readDurableJson(path);
  if (value === null) return null;
  try {
    const record = expectRecord(value, "node identity");
    expectLiteral(record.format, IDENTITY_FORMAT, "format");
    return checkedIdentity({
      clusterId: expectString(record.clusterId, "clusterId"),
      nodeId: expectString(record.nodeId, "nodeId"),
      createdAtIso: expectString(record.createdAtIso, "createdAtIso"),
    });
  } catch (error) {
    throw new StorageCorruptionError(path, `unexpected contents: ${(error as Error).message}`);
  }
}

/**
 * Durably writes `identity` into `directory` (created with mode 0700 when absent). Writing
 * the identity already stored (same cluster and node id) does nothing; a different stored
 * identity is never overwritten: that throws.
 */
export async function writeNodeIdentity(directory: string, identity: NodeIdentity): Promise<void> {
  checkedIdentity(identity);
  await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
  const existing = await readNodeIdentity(directory);
  if (existing === null) {
    const { clusterId, nodeId, createdAtIso } = identity;
    await writeDurableJson(join(directory, NODE_IDENTITY_FILE), {
      format: IDENTITY_FORMAT,
      clusterId,
      nodeId,
      createdAtIso,
    });
    return;
  }
  if (existing.clusterId === identity.clusterId && existing.nodeId === identity.nodeId) return;
  throw new Error(
    `writeNodeIdentity: ${directory} already belongs to node "${existing.nodeId}" of cluster ` +
      `"${existing.clusterId}" (created ${existing.createdAtIso}); refusing to overwrite it with ` +
      `node "${identity.nodeId}" of cluster "${identity.clusterId}". A state directory keeps one ` +
      `identity for life: use a fresh state directory for the new identity, after removing the ` +
      `old node with \`hactl members remove ${existing.nodeId}\`.`,
  );
}

function checkedIdentity(identity: NodeIdentity): NodeIdentity {
  if (!NODE_ID_PATTERN.test(identity.nodeId)) {
    throw new Error(
      `node identity: nodeId ${JSON.stringify(identity.nodeId)} is invalid; use 1 to 63 ` +
        `letters, digits, "_" or "-"`,
    );
  }
  if (identity.clusterId.length === 0 || identity.clusterId.length > MAX_CLUSTER_ID_CHARS) {
    throw new Error(
      `node identity: clusterId ${JSON.stringify(identity.clusterId)} must be 1 to ` +
        `${MAX_CLUSTER_ID_CHARS} characters`,
    );
  }
  if (Number.isNaN(Date.parse(identity.createdAtIso))) {
    throw new Error(
      `node identity: createdAtIso ${JSON.stringify(identity.createdAtIso)} is not a date; ` +
        `use new Date().toISOString()`,
    );
  }
  return identity;
}
