/**
 * Issue 11, item 6, through real agents: on a 2-node quorum cluster the primary's guard leaves
 * the real standby and the watchdog's commit gate alone (commits that wait for the standby
 * complete), terminates a replication client
 * that calls itself the standby over the local socket (logged with the reason and counted in
 * /metrics), and reports a role setting of synchronous_commit = local in /status and as the
 * gauge hactl_durability_opt_outs.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { findPostgresBinaries } from "../../src/postgres/binaries.ts";
import { assertNoEscapedErrors, testHactlCommand } from "./hactl_process.ts";

const STARTUP_MS = 120_000;

async function metric(cluster: LocalCluster, id: string, name: string): Promise<number | null> {
  const response = await fetch(`http://127.0.0.1:${cluster.node(id).apiPort}/metrics`);
  const text = await response.text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? null : Number(line.split(" ")[1]);
}

async function walsenders(cluster: LocalCluster, id: string): Promise<string[]> {
  const sql = cluster.superuser(id);
  try {
    const rows = await sql<{ entry: string }[]>`
      SELECT application_name || '@' || coalesce(host(client_addr), 'socket') AS entry
      FROM pg_stat_activity WHERE backend_type = 'walsender' ORDER BY 1`;
    return rows.map((row) => row.entry);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

Deno.test({
  name: "the primary's guard spares the standby, cuts an impostor and reports opt-outs",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-guard-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 2,
      basePort: 29300,
      hactlCommand: testHactlCommand,
    });
    let impostor: Deno.ChildProcess | null = null;
    try {
      await cluster.start("node1", true);
      await cluster.waitFor(
        "node1 primary",
        async () => (await cluster.primary()) === "node1",
        STARTUP_MS,
      );
      await cluster.start("node2");
      assertEquals(await cluster.waitUntilHealthy(STARTUP_MS), "node1");
      await cluster.waitFor("the opt-outs read on the primary", async () => {
        const status = await cluster.status("node1");
        return JSON.stringify(status?.postgres.durabilityOptOuts) === "[]";
      }, 30_000);
      assertEquals(await metric(cluster, "node1", "hactl_durability_opt_outs"), 0);

      // A replication client over the primary's socket that calls itself node2.
      const binaries = await findPostgresBinaries();
      const walDirectory = `${directory}/impostor`;
      await Deno.mkdir(walDirectory);
      const node = cluster.node("node1");
      impostor = new Deno.Command(`${binaries.directory}/pg_receivewal`, {
        args: [
          "--no-loop",
          "--synchronous",
          "-D",
          walDirectory,
          "-d",
          `host=${node.dataDirectory}.hactl port=${node.postgresPort} user=postgres ` +
          "application_name=node2",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const running = impostor;
      const timer = setTimeout(() => running.kill("SIGKILL"), 20_000);
      const exited = await running.status;
      clearTimeout(timer);
      assert(exited.signal === null, "the impostor ran until killed by the test: not terminated");
      assert(!exited.success, "the impostor's walsender was terminated");
      impostor = null;
      await cluster.waitFor(
        "the termination counted",
        async () =>
          (await metric(cluster, "node1", "hactl_foreign_walsenders_terminated_total") ?? 0) >= 1,
        10_000,
      );
      const log = await Deno.readTextFile(node.logPath);
      assert(
        /terminated walsender \d+: application_name "node2" came from the local socket/.test(log),
        log,
      );
      assertEquals(await walsenders(cluster, "node1"), ["hactl.gate@socket", "node2@127.0.0.1"]);

      const sql = cluster.superuser("node1");
      try {
        // Quorum-sync: this commit completes only when node2 acknowledges it.
        await sql`CREATE TABLE guarded (id int)`;
        await sql`CREATE ROLE bulk_load LOGIN`;
        await sql`ALTER ROLE bulk_load SET synchronous_commit = local`;
      } finally {
        await sql.end({ timeout: 5 });
      }
      await cluster.waitFor("the opt-out reported", async () => {
        const status = await cluster.status("node1");
        return JSON.stringify(status?.postgres.durabilityOptOuts) === JSON.stringify([
          { role: "bulk_load", database: null, setting: "synchronous_commit", value: "local" },
        ]);
      }, 30_000);
      assertEquals(await metric(cluster, "node1", "hactl_durability_opt_outs"), 1);
      assertEquals(await walsenders(cluster, "node1"), ["hactl.gate@socket", "node2@127.0.0.1"]);
      await assertNoEscapedErrors(cluster.nodes.map((member) => member.logPath));
    } finally {
      try {
        impostor?.kill("SIGKILL");
      } catch { /* already exited */ }
      await cluster.destroy();
    }
  },
});
