/**
 * The cluster secret file: a private file is read, one that other users can read is refused
 * with the chmod that fixes it, and `hactl init`'s writer creates private files only.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  generateClusterSecret,
  readClusterSecret,
  writeClusterSecretFile,
} from "../../src/config/cluster_secret.ts";

async function refusal(path: string): Promise<string> {
  try {
    await readClusterSecret(path);
  } catch (error) {
    return String(error);
  }
  throw new Error(`${path} was accepted`);
}

Deno.test("secret files: private accepted, world- or group-readable, short or missing refused", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl_secret_" });
  try {
    const path = `${directory}/cluster.secret`;
    const secret = generateClusterSecret();
    assert(/^[0-9a-f]{64}$/.test(secret));
    await writeClusterSecretFile(path, secret);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals(await readClusterSecret(path), secret);

    await Deno.chmod(path, 0o644);
    const worldReadable = await refusal(path);
    assert(worldReadable.includes("readable by other users (mode 644)"), worldReadable);
    assert(worldReadable.includes(`chmod 600 ${path}`), worldReadable);
    await Deno.chmod(path, 0o640);
    assert((await refusal(path)).includes("mode 640"));

    const short = `${directory}/short.secret`;
    await Deno.writeTextFile(short, "tiny\n", { mode: 0o600 });
    await Deno.chmod(short, 0o600);
    assert((await refusal(short)).includes("the secret has 4 characters, expected at least 16"));

    assert((await refusal(`${directory}/absent`)).includes("create it with hactl init"));

    let overwrite = "";
    try {
      await writeClusterSecretFile(short, secret);
    } catch (error) {
      overwrite = String(error);
    }
    assert(
      overwrite.includes("AlreadyExists"),
      `an existing secret file was overwritten: ${overwrite}`,
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
