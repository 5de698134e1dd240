/**
 * A real agent's /metrics passes Prometheus' own checker (`promtool check metrics`, apt
 * package prometheus) and carries the families docs/OPERATIONS.md lists; the shipped alert
 * rules (docs/alerts.yml) pass `promtool check rules` and their unit tests (they fire when
 * they should, and not otherwise); with log.format = "json" every line the agent and its
 * watchdog write is one JSON object.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { testHactlCommand } from "../cluster/hactl_process.ts";
import { WatchdogClient } from "../../src/agent/watchdog_client.ts";
import { Logger } from "../../src/agent/logger.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";

const STARTUP_MS = 180_000;
const DOCS = new URL("../../docs/", import.meta.url).pathname;

/** Runs promtool with `args`, `input` on stdin; exit code and everything it printed. */
async function promtool(args: string[], input = ""): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const result = await child.output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/** The families a page declares (its TYPE lines). */
function familiesOf(page: string): Set<string> {
  return new Set([...page.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!));
}

Deno.test("promtool rejects a page with a family written twice (the bug /metrics had)", async () => {
  // The negative control: the checker this test relies on does reject what was served before.
  const page = "# HELP hactl_messages_sent_total a\n# TYPE hactl_messages_sent_total counter\n" +
    "hactl_messages_sent_total 1\n# HELP hactl_messages_sent_total b\n" +
    "# TYPE hactl_messages_sent_total counter\nhactl_messages_sent_total 2\n";
  const result = await promtool(["check", "metrics"], page);
  assert(result.code !== 0, `promtool accepted a duplicate family: ${result.output}`);
});

Deno.test({
  name: "a real agent's /metrics passes promtool; JSON logs from the agent and its watchdog",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-promtool-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 1,
      // Ports 23601-23901: apart from every other LocalCluster test (haproxy_test uses 27700-28003).
      basePort: 23600,
      hactlCommand: testHactlCommand,
    });
    try {
      await cluster.start("node1", true, { HACTL_LOG_FORMAT: "json" });
      await cluster.waitFor(
        "node1 primary",
        async () => (await cluster.primary()) === "node1",
        STARTUP_MS,
      );
      const url = `http://127.0.0.1:${cluster.node("node1").apiPort}/metrics`;
      const page = await (await fetch(url)).text();
      const result = await promtool(["check", "metrics"], page);
      assertEquals(result.code, 0, `promtool check metrics:\n${result.output}\n${page}`);
      assertEquals(result.output.trim(), "", "promtool reports no lint problem");
      const families = familiesOf(page);
      for (
        const name of [
          "hactl_build_info",
          "hactl_write_authority",
          "hactl_writable_primary",
          "hactl_lease_remaining_seconds",
          "hactl_peer_last_contact_seconds",
          "hactl_replication_lag_bytes",
          "hactl_replication_lag_seconds",
          "hactl_elections_total",
          "hactl_leader_changes_total",
          "hactl_promotions_total",
          "hactl_fences_total",
          "hactl_rewinds_total",
          "hactl_reclones_total",
          "hactl_watchdog_firings_total",
          "hactl_frames_rejected_total",
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
        ]
      ) assert(families.has(name), `${name} missing from /metrics`);
      assert(/^hactl_writable_primary 1$/m.test(page), "the bootstrapped node is the primary");
      assert(/^hactl_postgres_server_version [1-9]\d{4,5}$/m.test(page), "server version read");
      assert(/^process_resident_memory_bytes [1-9]/m.test(page));
      await cluster.stop("node1");
      const lines = (await Deno.readTextFile(cluster.node("node1").logPath)).trimEnd().split("\n");
      assert(lines.length > 3, "the agent logged");
      const components = new Set<string>();
      for (const line of lines) {
        const event = JSON.parse(line); // throws on a line that is not JSON
        assertEquals(event.node, "node1", line);
        assert(["debug", "info", "warn", "error"].includes(event.level), line);
        assert(!Number.isNaN(Date.parse(event.time)), line);
        components.add(event.component);
      }
      assert(components.has("raft") && components.has("agent"), [...components].join(", "));
    } finally {
      await cluster.destroy();
    }
  },
});

Deno.test("the watchdog writes JSON lines in the agent's format when it fires", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-watchdog-log-" });
  try {
    const [program, ...args] = testHactlCommand([
      "watchdog",
      "--pgdata",
      directory,
      "--node",
      "node7",
      "--log-format",
      "json",
    ]);
    // No postmaster in the directory: the watchdog fires on the missed renewal, kills nothing.
    const result = await runWithInput(program!, args, "arm 20\n");
    const lines = result.stderr.trimEnd().split("\n");
    const events = lines.map((line) => JSON.parse(line));
    const firing = events.find((event) => event.message.includes("no renewal from the agent"));
    assert(firing, result.stderr);
    assertEquals(firing.node, "node7");
    assertEquals(firing.component, "watchdog");
    assertEquals(firing.level, "error");
    assertEquals(result.stdout, "fired\n", "the agent is told of the firing on stdout");
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

/** Runs a program with `input` on stdin, closing it after a pause long enough to fire. */
async function runWithInput(
  program: string,
  args: string[],
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(program, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await new Promise((resolve) => setTimeout(resolve, 500));
  await writer.close();
  const result = await child.output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

Deno.test("the agent's watchdog client counts each firing of its watchdog", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-watchdog-count-" });
  try {
    // No Postgres at all: the watchdog fires and kills nothing (its commit gate finds no
    // server and keeps retrying, which does not delay the deadline).
    const settings = {
      dataDirectory: directory,
      socketDirectory: directory,
      port: 1,
      superuser: "postgres",
      runAsUser: null,
    } as unknown as PostgresSettings;
    let firings = 0;
    const client = WatchdogClient.start(settings, null, new Logger("node7", "error"), () => {
      firings++;
    });
    client.renew(20);
    const deadline = performance.now() + 10_000;
    while (firings === 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.close();
    assertEquals(firings, 1);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("the shipped alert rules pass promtool check rules and their unit tests", async () => {
  const check = await promtool(["check", "rules", `${DOCS}alerts.yml`]);
  assertEquals(check.code, 0, check.output);
  const unit = await promtool([
    "test",
    "rules",
    new URL("./alerts_test.yml", import.meta.url).pathname,
  ]);
  assertEquals(unit.code, 0, unit.output);
});
