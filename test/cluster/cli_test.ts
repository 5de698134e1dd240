/**
 * The command line as a user meets it: `hactl demo --failover` end to end (a failover time,
 * no acknowledged row lost, the old primary back as a standby), and clear errors with exit
 * code 2 for a bad flag, a missing config and a config with mistakes.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hactl } from "./hactl_process.ts";
import { loadAgentConfig } from "../../src/config/config_file.ts";

Deno.test("hactl demo --failover reports the failover time, no loss, and the old primary as a standby", async () => {
  const { code, output } = await hactl(["demo", "--failover", "--exit", "--base-port", "27500"]);
  assertEquals(code, 0, output);
  const failover = /failover: a write succeeded on (node\d) ([\d.]+) s after the kill/.exec(output);
  assert(failover, output);
  assert(output.includes("no acknowledged row lost"), output);
  assert(/node1 is back as a standby/.test(output), output);
  assert(output.includes("target_session_attrs=read-write"), "prints how to connect");
  assert(/gateway \(ports 27801, 27802, 27803\)/.test(output), "prints the gateway ports");
});

Deno.test("hactl init writes a config that loads; bad flags and configs get clear errors and exit code 2", async () => {
  const flag = await hactl(["run", "--bogus"]);
  assertEquals(flag.code, 2);
  assert(flag.output.includes("bogus"), flag.output);
  assert(flag.output.includes("usage: hactl run"), flag.output);

  const missing = await hactl(["run", "--config", "/nonexistent/hactl.toml"]);
  assertEquals(missing.code, 2);
  assert(
    missing.output.includes("/nonexistent/hactl.toml") && missing.output.includes("hactl init"),
    missing.output,
  );

  const directory = await Deno.makeTempDir();
  try {
    const path = `${directory}/hactl.toml`;
    await Deno.writeTextFile(path, '[node]\nid = "node1"\n[postgres]\nport = 99999\nprot = 5\n');
    const wrong = await hactl(["run", "--config", path]);
    assertEquals(wrong.code, 2);
    assert(wrong.output.includes("postgres.port = 99999"), wrong.output);
    assert(wrong.output.includes("did you mean postgres.port"), wrong.output);

    const init = await hactl([
      "init",
      "--node-id",
      "node1",
      "--output",
      `${directory}/init.toml`,
      "--peers",
      "node2=10.0.0.2:7401,node3=10.0.0.3:7401",
      "--data-dir",
      `${directory}/state`,
    ]);
    assertEquals(init.code, 0, init.output);
    const parsed = await loadAgentConfig(`${directory}/init.toml`);
    assertEquals(parsed.cluster.peers.map((peer) => peer.id), ["node2", "node3"]);
    const again = await hactl(["init", "--node-id", "node1", "--output", `${directory}/init.toml`]);
    assertEquals(again.code, 2, "init never overwrites a config");

    const unknown = await hactl(["frobnicate"]);
    assertEquals(unknown.code, 2);
    assert(unknown.output.includes('unknown command "frobnicate"'), unknown.output);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
