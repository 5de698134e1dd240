/**
 * Least privilege for the agent run as root: the files it writes into directories the
 * postgres OS user owns never follow a symbolic link that user planted (a database superuser
 * can create files as that user, so a followed link would let it become root).
 */
import { ok as assert, rejects, strictEqual } from "node:assert/strict";
import {
  ensureDirectory,
  lookupUser,
  SymlinkRefusedError,
  writeFileDurably,
} from "../../src/postgres/files.ts";

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "hactl-files-" });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("a link planted at the target is refused and its target stays untouched", async () => {
  await withDirectory(async (directory) => {
    const victim = `${directory}/victim`;
    await Deno.writeTextFile(victim, "secret\n");
    await Deno.symlink(victim, `${directory}/pg_hba.conf`);
    await rejects(
      writeFileDurably(`${directory}/pg_hba.conf`, "host all all 0.0.0.0/0 trust\n", {
        mode: 0o600,
        owner: null,
      }),
      (error) => error instanceof SymlinkRefusedError && /symbolic link/.test(error.message),
    );
    strictEqual(await Deno.readTextFile(victim), "secret\n");
    assert((await Deno.lstat(`${directory}/pg_hba.conf`)).isSymlink, "the link is reported, kept");
  });
});

Deno.test("a link planted at the temp file's name is replaced, never written through", async () => {
  await withDirectory(async (directory) => {
    const victim = `${directory}/victim`;
    await Deno.writeTextFile(victim, "secret\n");
    await Deno.symlink(victim, `${directory}/hactl.conf.hactl-tmp`);
    await writeFileDurably(`${directory}/hactl.conf`, "port = 5432\n", {
      mode: 0o600,
      owner: null,
    });
    strictEqual(await Deno.readTextFile(victim), "secret\n");
    strictEqual(await Deno.readTextFile(`${directory}/hactl.conf`), "port = 5432\n");
    const info = await Deno.lstat(`${directory}/hactl.conf`);
    assert(info.isFile && !info.isSymlink);
    strictEqual(info.mode! & 0o777, 0o600);
  });
});

Deno.test("owner and mode are set on the written file itself", async () => {
  if (Deno.uid() !== 0) return; // chown to another user needs root, as the agent has
  await withDirectory(async (directory) => {
    const owner = await lookupUser("postgres");
    await writeFileDurably(`${directory}/pg_ident.conf`, "x\n", { mode: 0o640, owner });
    const info = await Deno.lstat(`${directory}/pg_ident.conf`);
    strictEqual(info.uid, owner.uid);
    strictEqual(info.mode! & 0o777, 0o640);
  });
});

Deno.test("a directory that is a link is refused, and so is a link in its place", async () => {
  await withDirectory(async (directory) => {
    const elsewhere = `${directory}/elsewhere`;
    await Deno.mkdir(elsewhere, { mode: 0o755 });
    await Deno.symlink(elsewhere, `${directory}/state`);
    await rejects(
      ensureDirectory(`${directory}/state`, { mode: 0o700, owner: null }),
      SymlinkRefusedError,
    );
    strictEqual(
      (await Deno.stat(elsewhere)).mode! & 0o777,
      0o755,
      "the link's target is unchanged",
    );
    await ensureDirectory(`${directory}/fresh/inner`, { mode: 0o700, owner: null });
    strictEqual((await Deno.lstat(`${directory}/fresh/inner`)).mode! & 0o777, 0o700);
  });
});
