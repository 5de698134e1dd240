/**
 * Per-purpose credentials derived from the cluster secret, so that the secret itself never
 * leaves the node: what goes over the network (an API token) or into another program (the
 * replication password) can be revoked only by rotating the secret, but reveals nothing of it
 * nor of the other credentials.
 *
 * | purpose                  | derivation                                                    |
 * | ------------------------ | ------------------------------------------------------------- |
 * | peer frame MAC key       | HMAC-SHA256(secret, "hactl peer frame key v1") — frame.ts     |
 * | replication password     | HMAC-SHA256(secret, "hactl replication password v1") — members.ts |
 * | API admin token          | HKDF-SHA256(secret, info "hactl api-admin v1")                |
 * | API read-only token      | HKDF-SHA256(secret, info "hactl api-read v1")                 |
 *
 * The first two keep the derivation they had before the API tokens existed: changing either
 * would break a rolling upgrade (peers of two versions could not authenticate each other's
 * frames; standbys of the new version could not log in to a primary whose role still has the
 * old password). Both are already one-way and per purpose. The API tokens are new (before,
 * the secret itself was the bearer token), so they use HKDF as specified in RFC 5869.
 *
 * @module
 */

/** HKDF info label of the token for API requests that change the cluster. */
export const API_ADMIN_LABEL = "hactl api-admin v1";
/** HKDF info label of the token for API reads (status, metrics, documents). */
export const API_READ_LABEL = "hactl api-read v1";
/** Bytes of key material in each derived token. */
export const DERIVED_TOKEN_BYTES = 32;
/**
 * HKDF salt: fixed, because every member must derive the same tokens from the same secret
 * without sharing anything else; the secret is random (hactl init) so a salt adds little.
 */
const HKDF_SALT = new TextEncoder().encode("hactl cluster secret v1");

/** The two bearer tokens of the REST API. */
export interface ApiTokens {
  /** Needed by every request that changes something: `hactl-admin-` and 64 hex digits. */
  readonly admin: string;
  /** Enough for reads when `api.require_read_token` is on: `hactl-read-` and 64 hex digits. */
  readonly read: string;
}

/**
 * Derives `lengthBytes` bytes for `label` from `secret` with HKDF-SHA256 (WebCrypto). Throws
 * when the secret is empty or the label is not a hactl label.
 */
export async function deriveSecretBytes(
  secret: string,
  label: string,
  lengthBytes: number = DERIVED_TOKEN_BYTES,
): Promise<Uint8Array> {
  if (secret.length === 0) {
    throw new Error("deriveSecretBytes: the cluster secret is empty; create one with hactl init");
  }
  if (!label.startsWith("hactl ")) {
    throw new Error(`deriveSecretBytes: label ${JSON.stringify(label)} must start with "hactl "`);
  }
  const material = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    "HKDF",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: new TextEncoder().encode(label) },
    material,
    lengthBytes * 8,
  );
  return new Uint8Array(bits);
}

/** Derives the admin and the read-only API token from the cluster secret. */
export async function deriveApiTokens(secret: string): Promise<ApiTokens> {
  const [admin, read] = await Promise.all([
    deriveSecretBytes(secret, API_ADMIN_LABEL),
    deriveSecretBytes(secret, API_READ_LABEL),
  ]);
  return { admin: `hactl-admin-${toHex(admin)}`, read: `hactl-read-${toHex(read)}` };
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
