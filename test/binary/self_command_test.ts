/**
 * hactl runs itself again (the watchdog, the demo's agents) correctly both from source and
 * compiled: the argv of each mode, and the real `hactl watchdog` started through the argv of
 * the mode this test runs in fences a stand-in postmaster (a real process it must kill).
 */
import { assert, assertEquals } from "../postgres/assert.ts";
import {
  currentSelfInvocation,
  HACTL_PERMISSIONS,
  hactlCommand,
  selfCommand,
} from "../../src/self_command.ts";
import { probeWatchdog, startStandInPostmaster } from "./watchdog_probe.ts";

Deno.test("a compiled hactl runs itself as its own executable followed by the arguments", () => {
  const argv = selfCommand({ kind: "compiled", executable: "/usr/local/bin/hactl" }, [
    "watchdog",
    "--pgdata",
    "/data",
  ]);
  assertEquals(argv, ["/usr/local/bin/hactl", "watchdog", "--pgdata", "/data"]);
});

Deno.test("hactl from source runs deno run with its config, entry module and hactl's permissions", () => {
  const argv = selfCommand(
    { kind: "source", deno: "/opt/deno", entry: "/src/hactl/main.ts", config: "/src/deno.json" },
    ["version"],
  );
  assertEquals(argv, [
    "/opt/deno",
    "run",
    ...HACTL_PERMISSIONS,
    "--quiet",
    "--config",
    "/src/deno.json",
    "/src/hactl/main.ts",
    "version",
  ]);
});

Deno.test("this test runs from source, so hactlCommand is deno run of src/main.ts", () => {
  const invocation = currentSelfInvocation();
  assertEquals(invocation.kind, "source");
  const argv = hactlCommand(["status"]);
  assertEquals(argv[0], Deno.execPath());
  assert(argv.at(-2)!.endsWith("/src/main.ts"), argv.join(" "));
});

Deno.test("the real hactl watchdog started through hactlCommand kills the postmaster at its deadline", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-self-command-" });
  const postmaster = await startStandInPostmaster(directory);
  try {
    const result = await probeWatchdog(hactlCommand(["watchdog", "--pgdata", directory]));
    assertEquals(result.code, 0, `watchdog exit code; stderr: ${result.stderr}`);
    assert(
      result.stderr.includes("before the lease deadline; killed 1 Postgres processes"),
      `the watchdog fired and killed the stand-in: ${result.stderr}`,
    );
    assertEquals((await postmaster.status).signal, "SIGKILL");
  } finally {
    try {
      postmaster.kill("SIGKILL");
    } catch {
      // Already killed by the watchdog.
    }
    await postmaster.status;
    await Deno.remove(directory, { recursive: true });
  }
});
