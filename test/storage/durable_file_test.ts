/**
 * durable_file: a written payload reads back, and every single-byte flip, every truncation
 * and any trailing garbage is refused with a message naming the file and the remedy.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import {
  readDurableFile,
  readDurableJson,
  removeTemporaryFiles,
  StorageCorruptionError,
  writeDurableFile,
  writeDurableJson,
} from "../../src/storage/durable_file.ts";
import { expectRejection, withTempDirectory } from "./test_helpers.ts";

const payload = new TextEncoder().encode('{"term":7,"votedFor":"node2"}');

Deno.test("a durable file reads back its payload; an absent file reads as null", async () => {
  await withTempDirectory("hactl_durable_", async (directory) => {
    const path = join(directory, "state");
    assertEquals(await readDurableFile(path), null);
    await writeDurableFile(path, payload);
    assertEquals(await readDurableFile(path), payload);
    await writeDurableJson(path, { replaced: true });
    assertEquals(await readDurableJson(path), { replaced: true });
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600, "state files are private");
    assertEquals([...Deno.readDirSync(directory)].map((entry) => entry.name), ["state"]);
  });
});

Deno.test("every single-byte flip of a durable file is detected and names the file", async () => {
  await withTempDirectory("hactl_durable_", async (directory) => {
    const path = join(directory, "state");
    await writeDurableFile(path, payload);
    const original = await Deno.readFile(path);
    const problems = new Set<string>();
    for (let offset = 0; offset < original.length; offset++) {
      const damaged = original.slice();
      damaged[offset]! ^= 0x01;
      await Deno.writeFile(path, damaged);
      const error = await expectRejection(() => readDurableFile(path), StorageCorruptionError);
      assert(error.message.includes(path), error.message);
      assert(error.message.includes("hactl members remove"), error.message);
      problems.add(error.problem.match(/^[a-z ]+/)![0].trim());
    }
    // Each part of the frame is checked: magic, version, length and checksum.
    assertEquals(
      [...problems].sort(),
      [
        "bad magic",
        "checksum mismatch",
        "trailing bytes",
        "truncated",
        "unsupported format version",
      ],
    );
  });
});

Deno.test("a truncated durable file (any length) or one with trailing bytes is refused", async () => {
  await withTempDirectory("hactl_durable_", async (directory) => {
    const path = join(directory, "state");
    await writeDurableFile(path, payload);
    const original = await Deno.readFile(path);
    for (let length = 0; length < original.length; length++) {
      await Deno.writeFile(path, original.subarray(0, length));
      const error = await expectRejection(() => readDurableFile(path), StorageCorruptionError);
      assert(error.problem.startsWith("truncated"), error.message);
    }
    await Deno.writeFile(path, new Uint8Array([...original, 0]));
    const error = await expectRejection(() => readDurableFile(path), StorageCorruptionError);
    assertEquals(
      error.problem,
      `trailing bytes: expected ${original.length} bytes got ${original.length + 1}`,
    );
  });
});

Deno.test("a leftover temporary file is never read and is removed", async () => {
  await withTempDirectory("hactl_durable_", async (directory) => {
    const path = join(directory, "state");
    await writeDurableFile(path, payload);
    // What a crash between writing the temporary file and the rename leaves behind.
    await Deno.writeTextFile(`${path}.tmp`, "half-written garbage");
    assertEquals(await readDurableFile(path), payload);
    assertEquals(await removeTemporaryFiles(directory), ["state.tmp"]);
    assertEquals([...Deno.readDirSync(directory)].map((entry) => entry.name), ["state"]);
  });
});

Deno.test("a correctly framed payload that is not JSON is reported as corruption", async () => {
  await withTempDirectory("hactl_durable_", async (directory) => {
    const path = join(directory, "state");
    await writeDurableFile(path, new TextEncoder().encode("{not json"));
    const error = await expectRejection(() => readDurableJson(path), StorageCorruptionError);
    assert(error.problem.includes("not valid UTF-8 JSON"), error.message);
  });
});
