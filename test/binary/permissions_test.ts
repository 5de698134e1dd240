/**
 * Why hactl runs with --allow-all (src/self_command.ts): fencing lists /proc to find the
 * postmaster's children, and Deno grants /proc only with every permission. Even the widest
 * list short of it (every flag but one, here ffi) cannot list /proc, while hactl's own
 * permission list can. If a Deno release lifts that rule, this test fails: narrow then.
 */
import { assert, assertEquals } from "../postgres/assert.ts";
import { HACTL_PERMISSIONS } from "../../src/self_command.ts";

const LIST_PROC = 'let n = 0; for (const _ of Deno.readDirSync("/proc")) n++; console.log(n);';

/** Runs a module listing /proc with `permissions`; its exit code and output. */
async function listProc(permissions: readonly string[]): Promise<{ code: number; text: string }> {
  const directory = await Deno.makeTempDir({ prefix: "hactl-permissions-" });
  try {
    await Deno.writeTextFile(`${directory}/list_proc.ts`, LIST_PROC);
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-config", ...permissions, `${directory}/list_proc.ts`],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const decoder = new TextDecoder();
    return {
      code: result.code,
      text: decoder.decode(result.stdout) + decoder.decode(result.stderr),
    };
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("every permission but one cannot list /proc; hactl's permission list can", async () => {
  const narrower = await listProc([
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-run",
    "--allow-env",
    "--allow-sys",
    "--allow-import",
  ]);
  assert(narrower.code !== 0, `a narrower list listed /proc: ${narrower.text}`);
  assert(narrower.text.includes('"/proc"'), narrower.text);
  const hactl = await listProc(HACTL_PERMISSIONS);
  assertEquals(hactl.code, 0, hactl.text);
  assert(Number(hactl.text.trim()) > 1, hactl.text);
});
