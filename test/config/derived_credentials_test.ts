/**
 * The credentials derived from the cluster secret: one per purpose (peer frame key,
 * replication password, admin and read-only API tokens), all different from each other and
 * from the secret, equal to a simple reference HKDF (node:crypto), and stable across runs and
 * versions (pinned vectors: a change here breaks every operator's stored token).
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { hkdfSync } from "node:crypto";
import {
  API_ADMIN_LABEL,
  API_READ_LABEL,
  deriveApiTokens,
  deriveSecretBytes,
} from "../../src/config/derived_credentials.ts";
import { deriveFrameKey } from "../../src/transport/frame.ts";
import { replicationPassword } from "../../src/agent/members.ts";

const SECRET = "0123456789abcdef0123456789abcdef";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("the API tokens of a pinned secret never change", async () => {
  assertEquals(await deriveApiTokens(SECRET), {
    admin: "hactl-admin-fcd58d945a1b8fdf63b46600e3f4a76743abd4a21e39458cfbf0cd1baef39301",
    read: "hactl-read-6c3e02fdc6e000f086d60f603cbf24be58c6fdc2f6f8430e9ca702fa55dfc45e",
  });
  // The peer frame key and the replication password keep their derivation from before the
  // API tokens (HMAC-SHA256 of a label), so that a rolling upgrade works: pinned too.
  assertEquals(
    hex(deriveFrameKey(SECRET)),
    "6d23334a5b181d64bc711b7c8e0f97df13be749a3176a84294a8342cdb40b5dc",
  );
  assertEquals(
    replicationPassword(SECRET),
    "2976fe55d9cec6a257bce3337329950f794771db4c2e431cfa3dec5415d06148",
  );
});

Deno.test("every purpose gets its own credential, none equal to the secret", async () => {
  for (const secret of [SECRET, "another cluster's secret!"]) {
    const tokens = await deriveApiTokens(secret);
    const all = [
      hex(deriveFrameKey(secret)),
      replicationPassword(secret),
      tokens.admin.replace("hactl-admin-", ""),
      tokens.read.replace("hactl-read-", ""),
    ];
    assertEquals(new Set(all).size, 4, `credentials of ${secret} collide: ${all.join(" ")}`);
    for (const credential of all) assert(!credential.includes(secret) && credential !== secret);
  }
  const [one, other] = [await deriveApiTokens(SECRET), await deriveApiTokens(`${SECRET}x`)];
  assert(one.admin !== other.admin && one.read !== other.read, "another secret, same tokens");
});

Deno.test("WebCrypto HKDF agrees with node:crypto's reference HKDF", async () => {
  for (const label of [API_ADMIN_LABEL, API_READ_LABEL, "hactl something else v1"]) {
    const reference = hkdfSync("sha256", SECRET, "hactl cluster secret v1", label, 32);
    assertEquals(hex(await deriveSecretBytes(SECRET, label)), hex(new Uint8Array(reference)));
  }
});

Deno.test("an empty secret or a foreign label is refused", async () => {
  await rejects(deriveSecretBytes("", API_ADMIN_LABEL), /cluster secret is empty/);
  await rejects(deriveSecretBytes(SECRET, "admin"), /must start with "hactl "/);
});
