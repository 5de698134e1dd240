/**
 * Plain text only by an explicit setting, and never silently: `hactl init --plain-text` for one
 * node (a real process) writes `tls.enabled = false` with a comment saying what runs in plain text
 * and says it on the console, and the config parses to TLS off; an agent with TLS off says so in
 * `/patroni` (hactl.tls, hactl.plain_text), in `/metrics` (hactl_tls_enabled 0) and in
 * `hactl status`'s notes, and one with TLS on says the opposite.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { AgentStatus } from "../../src/agent/agent_handle.ts";
import { createApiApp } from "../../src/api/server.ts";
import { renderStatusReport } from "../../src/cli/status_command.ts";
import { parseAgentConfig } from "../../src/config/config_file.ts";
import { tlsFilesOf } from "../../src/config/tls_config.ts";
import { FakeAgent } from "./fake_agent.ts";
import { TEST_TOKENS } from "./test_tokens.ts";

/** A fake agent whose status carries `tlsEnabled`. */
class TlsReportingAgent extends FakeAgent {
  constructor(readonly tlsEnabled: boolean) {
    super("n1");
  }

  override status(): AgentStatus {
    return { ...super.status(), tlsEnabled: this.tlsEnabled };
  }
}

Deno.test("hactl init --plain-text writes plain text explicitly and says so", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-plain-text-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("../../src/main.ts", import.meta.url).pathname,
        "init",
        "--node-id",
        "node1",
        "--output",
        `${directory}/hactl.toml`,
        "--plain-text",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const console = new TextDecoder().decode(output.stdout);
    assert(output.success, new TextDecoder().decode(output.stderr));
    assert(console.includes("TLS is off"), console);
    assert(console.includes("hactl init --nodes"), console);
    const text = await Deno.readTextFile(`${directory}/hactl.toml`);
    const line = text.split("\n").find((candidate) => candidate.startsWith("enabled ="));
    assert(
      line?.startsWith("enabled = false  # plain text: Raft port, REST API and Postgres"),
      line,
    );
    const parsed = parseAgentConfig(text, { fileName: "hactl.toml" });
    assert(parsed.ok, JSON.stringify(parsed));
    assertEquals(tlsFilesOf(parsed.config), null);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

async function reported(tlsEnabled: boolean) {
  const agent = new TlsReportingAgent(tlsEnabled);
  const app = createApiApp(agent, { tokens: TEST_TOKENS });
  const document = await (await app.request("/patroni")).json();
  const metrics = await (await app.request("/metrics")).text();
  const gauge = metrics.split("\n").find((line) => line.startsWith("hactl_tls_enabled "));
  const report = renderStatusReport(new Map([["n1", agent.status()]]));
  return { hactl: document.hactl, gauge, report };
}

Deno.test("TLS off is shown in /patroni, /metrics and hactl status; TLS on is not", async () => {
  const off = await reported(false);
  assertEquals(off.hactl.tls, false);
  assertEquals(off.hactl.plain_text, ["raft peer transport", "rest api", "postgres"]);
  assertEquals(off.gauge, "hactl_tls_enabled 0");
  assert(
    off.report.includes("n1: plain text (tls.enabled = false): raft peer transport, rest api"),
    off.report,
  );
  const on = await reported(true);
  assertEquals([on.hactl.tls, on.hactl.plain_text, on.gauge], [true, [], "hactl_tls_enabled 1"]);
  assert(!on.report.includes("plain text"), on.report);
});
