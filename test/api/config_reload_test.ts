/**
 * SIGHUP re-reads the node's file: a real SIGHUP sent to this process makes the reload
 * listener report the settings that changed (waiting for a restart), a file with a mistake
 * is reported and the running settings kept, and an unchanged file reports no change.
 */
import { assert, assertEquals } from "../postgres/assert.ts";
import { loadAgentConfig } from "../../src/config/config_file.ts";
import { changedSettings, reloadConfig, reloadOnHangup } from "../../src/cli/config_reload.ts";

const BASE = `[node]\nid = "node1"\n[cluster]\nname = "main"\nsecret_file = "/etc/hactl/s"\n` +
  `[raft]\nadvertise = "10.0.0.1:7401"\n[postgres]\ndata_dir = "/data/pg"\n`;

/** Collects log lines. */
function recorder() {
  const lines: string[] = [];
  return {
    lines,
    info: (_component: string, text: string) => lines.push(`info ${text}`),
    warn: (_component: string, text: string) => lines.push(`warn ${text}`),
  };
}

Deno.test("a real SIGHUP reloads the file and names the changed settings", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-reload-" });
  const path = `${directory}/hactl.toml`;
  try {
    await Deno.writeTextFile(path, BASE);
    const running = await loadAgentConfig(path);
    await Deno.writeTextFile(path, BASE.replace("/data/pg", "/data/pg2"));
    const log = recorder();
    const stop = reloadOnHangup(path, running, log);
    try {
      Deno.kill(Deno.pid, "SIGHUP");
      for (let waited = 0; log.lines.length === 0 && waited < 100; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      stop();
    }
    assertEquals(log.lines.length, 1, log.lines.join("\n"));
    assert(log.lines[0]!.includes("changed: postgres.dataDir"), log.lines[0]);
    assert(log.lines[0]!.includes("restart"), log.lines[0]);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("a reload of a file with a mistake keeps the running settings; no change says so", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-reload-" });
  const path = `${directory}/hactl.toml`;
  try {
    await Deno.writeTextFile(path, BASE);
    const running = await loadAgentConfig(path);
    const same = recorder();
    assertEquals(await reloadConfig(path, running, same), { changed: [] });
    assert(same.lines[0]!.includes("nothing changed"), same.lines[0]);

    await Deno.writeTextFile(path, BASE + '[api]\nlisten = "nowhere"\n');
    const wrong = recorder();
    const refused = await reloadConfig(path, running, wrong);
    assert("error" in refused && refused.error.includes("nowhere"), JSON.stringify(refused));
    assert(
      wrong.lines[0]!.startsWith("warn") && wrong.lines[0]!.includes("nowhere"),
      wrong.lines[0],
    );
    assertEquals(changedSettings(running, running), []);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
