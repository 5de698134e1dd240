/**
 * SCRAM-SHA-256 password verifiers computed by the agent, so that the replication password
 * never travels to the server (or into its logs) in clear text.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/** Iterations Postgres uses by default (scram_iterations). */
export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/**
 * The verifier "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" for `password`,
 * as Postgres stores it (RFC 5802 / RFC 7677). Only printable ASCII passwords are accepted,
 * because Postgres applies SASLprep first, which is the identity exactly on them.
 */
export function scramSha256Verifier(password: string, salt?: Uint8Array): string {
  if (!/^[\x20-\x7e]+$/.test(password)) {
    throw new Error(
      "cannot compute a SCRAM verifier: the password must be 1 or more printable ASCII characters",
    );
  }
  const saltBytes = salt ?? randomBytes(SALT_BYTES);
  const saltedPassword = pbkdf2Sync(password, saltBytes, SCRAM_ITERATIONS, KEY_BYTES, "sha256");
  const clientKey = createHmac("sha256", saltedPassword).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", saltedPassword).update("Server Key").digest();
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${base64(saltBytes)}$${base64(storedKey)}:${
    base64(serverKey)
  }`;
}
