/**
 * node_identity: the identity is written once, reads back, is never silently replaced by a
 * different one, and a damaged identity file is refused.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { StorageCorruptionError } from "../../src/storage/durable_file.ts";
import {
  NODE_IDENTITY_FILE,
  type NodeIdentity,
  readNodeIdentity,
  writeNodeIdentity,
} from "../../src/storage/node_identity.ts";
import { expectRejection, withTempDirectory } from "./test_helpers.ts";

const identity: NodeIdentity = {
  clusterId: "c0ffee00-1234",
  nodeId: "node1",
  createdAtIso: "2025-01-02T03:04:05.000Z",
};

Deno.test("an identity reads back; a directory without one reads as null", async () => {
  await withTempDirectory("hactl_identity_", async (parent) => {
    const directory = join(parent, "state");
    assertEquals(await readNodeIdentity(parent), null);
    await writeNodeIdentity(directory, identity);
    assertEquals(await readNodeIdentity(directory), identity);
    assertEquals((await Deno.stat(directory)).mode! & 0o777, 0o700);
  });
});

Deno.test("writing the same identity again is a no-op; a different one is refused", async () => {
  await withTempDirectory("hactl_identity_", async (directory) => {
    await writeNodeIdentity(directory, identity);
    await writeNodeIdentity(directory, { ...identity, createdAtIso: new Date().toISOString() });
    assertEquals(await readNodeIdentity(directory), identity, "the original creation time stays");
    for (const other of [{ ...identity, nodeId: "node2" }, { ...identity, clusterId: "other" }]) {
      const error = await expectRejection(() => writeNodeIdentity(directory, other), Error);
      assert(error.message.includes("refusing to overwrite"), error.message);
      assert(error.message.includes(`node "${other.nodeId}" of cluster "${other.clusterId}"`));
    }
    assertEquals(await readNodeIdentity(directory), identity);
  });
});

Deno.test("an invalid identity is refused before anything is written", async () => {
  await withTempDirectory("hactl_identity_", async (directory) => {
    const invalid = [
      { ...identity, nodeId: "node 1" },
      { ...identity, nodeId: "n".repeat(64) },
      { ...identity, clusterId: "" },
      { ...identity, createdAtIso: "yesterday" },
    ];
    for (const candidate of invalid) {
      await expectRejection(() => writeNodeIdentity(directory, candidate), Error);
    }
    assertEquals(await readNodeIdentity(directory), null);
  });
});

Deno.test("a damaged identity file is refused with a message naming it", async () => {
  await withTempDirectory("hactl_identity_", async (directory) => {
    await writeNodeIdentity(directory, identity);
    const path = join(directory, NODE_IDENTITY_FILE);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 3]! ^= 0x04;
    await Deno.writeFile(path, bytes);
    const error = await expectRejection(() => readNodeIdentity(directory), StorageCorruptionError);
    assertEquals(error.path, path);
    await expectRejection(() => writeNodeIdentity(directory, identity), StorageCorruptionError);
  });
});
