/**
 * The binary an operator downloads works: a `deno compile`d hactl (HACTL_BIN, or one built
 * here by scripts/compile.ts) prints its version, and runs its own watchdog as itself
 * (`hactl watchdog`, not `hactl run --allow-all ...`), which kills a stand-in postmaster at
 * its deadline. Where the
 * compile cannot download Deno's runtime (no network), the steps are skipped with the reason
 * printed: `deno run` is never passed off as the binary.
 */
import { assert, assertEquals } from "../postgres/assert.ts";
import { selfCommand } from "../../src/self_command.ts";
import { VERSION } from "../../src/version.ts";
import { compileHactl, runtimeDownloadFailure } from "../../scripts/compile.ts";
import { hactlBinary } from "../cluster/hactl_process.ts";
import { probeWatchdog, startStandInPostmaster } from "./watchdog_probe.ts";

/** The binary to test, or why there is none; throws when a compile fails for another reason. */
async function obtainBinary(directory: string): Promise<{ path: string } | { skip: string }> {
  const given = hactlBinary();
  if (given !== null) return { path: given };
  const output = `${directory}/hactl`;
  // The suite has its own type-check step; this one checks that the binary is built and runs.
  const result = await compileHactl({ target: null, output, typeCheck: false });
  if (result.code === 0) return { path: output };
  const reason = runtimeDownloadFailure(result.stderr);
  if (reason === null) {
    throw new Error(`deno compile failed (exit ${result.code}):\n${result.stderr}`);
  }
  return { skip: `${reason} (or run the suite with HACTL_BIN=/path/to/hactl)` };
}

Deno.test("a compiled hactl runs its own watchdog as itself", async (t) => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-compiled-" });
  try {
    const binary = await obtainBinary(directory);
    const ignore = "skip" in binary;
    if ("skip" in binary) console.log(`NOT TESTED — no compiled hactl: ${binary.skip}`);
    const executable = "path" in binary ? binary.path : "";
    await t.step({
      name: "hactl version from the binary",
      ignore,
      fn: async () => {
        const result = await new Deno.Command(executable, { args: ["version"] }).output();
        assertEquals(result.code, 0);
        assertEquals(
          new TextDecoder().decode(result.stdout).trim().split("\n")[0],
          `hactl ${VERSION}`,
        );
      },
    });
    await t.step({
      name: "hactl watchdog started the way a compiled hactl starts it fires",
      ignore,
      fn: async () => {
        const argv = selfCommand({ kind: "compiled", executable }, [
          "watchdog",
          "--pgdata",
          directory,
        ]);
        const postmaster = await startStandInPostmaster(directory);
        const result = await probeWatchdog(argv);
        try {
          postmaster.kill("SIGKILL");
        } catch {
          // Killed by the watchdog, as it should be.
        }
        await postmaster.status;
        assertEquals(result.code, 0, result.stderr);
        assert(result.stderr.includes("killed 1 Postgres processes"), result.stderr);
      },
    });
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
