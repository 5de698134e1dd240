/**
 * The commit gate and the watchdog process on a real Postgres: a commit on a primary that
 * names the gate as its synchronous standby completes only while the gate may acknowledge
 * (the lease runs), waits while it may not, and completes once the lease is renewed; the
 * `hactl watchdog` process runs the gate, and still kills Postgres at the armed deadline
 * after the agent's end of the pipe has closed (the agent died).
 */

import postgres from "postgres";
import { assert, assertEquals } from "../postgres/assert.ts";
import type { Postmaster } from "../../src/postgres/postmaster.ts";
import { setSynchronousStandbyNames } from "../../src/postgres/roles.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { wrapForUser } from "../../src/postgres/process_runner.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { COMMIT_GATE_NAME, CommitGate } from "../../src/watchdog/commit_gate.ts";
import { testHactlCommand as hactlCommand } from "../cluster/hactl_process.ts";
import { appClient, TEST_PORT_BASE, TestCluster, waitFor } from "../postgres/test_cluster.ts";

/** How long a held commit is watched; it must not complete in this time. */
const HOLD_WATCH_MS = 1_500;

/** "committed", "failed: ..." or "pending" after `ms`. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("pending"), ms);
  });
  const settled = promise.then(() => "committed", (error) => `failed: ${error.message}`);
  const result = await Promise.race([settled, pending]);
  clearTimeout(timer);
  return result;
}

/** A primary with the gate as its synchronous standby and a table the app role may write. */
async function gatedPrimary(cluster: TestCluster, node: PostgresSettings): Promise<Postmaster> {
  const postmaster = await cluster.startPrimaryWithApp(node);
  await setSynchronousStandbyNames(node, `"${COMMIT_GATE_NAME}"`);
  return postmaster;
}

async function gateIsSynchronous(node: PostgresSettings): Promise<boolean> {
  return await withLocalSql(node, async (sql) =>
    (await sql`SELECT 1 FROM pg_stat_replication
               WHERE application_name = ${COMMIT_GATE_NAME} AND sync_state = 'sync'`)
      .length === 1);
}

async function insert(app: postgres.Sql, id: number): Promise<void> {
  await app`INSERT INTO t VALUES (${id})`;
}

Deno.test({
  name: "the commit gate holds commits while the lease is over and releases them on renewal",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const node = cluster.settings("node-g", TEST_PORT_BASE + 20);
    let gate: CommitGate | null = null;
    try {
      await gatedPrimary(cluster, node);
      const app = appClient(node.port);
      // Without the gate connected, a commit waits (the gate is the synchronous standby).
      assertEquals(await settleWithin(insert(app, 0), HOLD_WATCH_MS), "pending");
      let leaseRuns = true;
      const problems: string[] = [];
      gate = new CommitGate(
        { socketDirectory: node.socketDirectory, port: node.port, user: node.superuser },
        () => leaseRuns,
        (text) => problems.push(text),
      );
      gate.start();
      await waitFor("the gate streams as the synchronous standby", () => gateIsSynchronous(node));
      await insert(app, 1);
      leaseRuns = false;
      const held = insert(app, 2);
      assertEquals(
        await settleWithin(held, HOLD_WATCH_MS),
        "pending",
        "a commit went through a closed gate",
      );
      leaseRuns = true;
      gate.acknowledge();
      assertEquals(await settleWithin(held, 10_000), "committed");
      const rows = await app`SELECT id FROM t ORDER BY id`;
      assertEquals(rows.map((row) => row.id), [0, 1, 2]);
      assert(problems.length === 0, `gate problems: ${problems.join("; ")}`);
      await app.end({ timeout: 5 });
    } finally {
      gate?.stop();
      await cluster.cleanup();
    }
  },
});

Deno.test({
  name: "hactl watchdog runs the gate, and kills Postgres at the deadline after the agent is gone",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const node = cluster.settings("node-w", TEST_PORT_BASE + 21);
    let child: Deno.ChildProcess | null = null;
    try {
      const postmaster = await gatedPrimary(cluster, node);
      const argv = wrapForUser(
        hactlCommand([
          "watchdog",
          "--pgdata",
          node.dataDirectory,
          "--socket-dir",
          node.socketDirectory,
          "--port",
          String(node.port),
          "--user",
          node.superuser,
        ]),
        node.runAsUser,
      );
      child = new Deno.Command(argv[0]!, { args: argv.slice(1), stdin: "piped", stderr: "piped" })
        .spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("arm 600000\n"));
      await waitFor("the gate streams as the synchronous standby", () => gateIsSynchronous(node));
      const app = appClient(node.port);
      await insert(app, 1);
      // A short deadline, then the agent's end of the pipe closes (the agent died).
      await writer.write(new TextEncoder().encode("arm 1500\n"));
      await writer.close();
      await waitFor(
        "the watchdog kills the postmaster",
        () => Promise.resolve(!postmaster.alive),
        20_000,
      );
      const status = await child.status;
      const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
      child = null;
      assertEquals(status.code, 0, stderr);
      assert(/killed \d+ Postgres processes/.test(stderr), stderr);
      await app.end({ timeout: 1 }).catch(() => {});
    } finally {
      if (child !== null) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
      }
      await cluster.cleanup();
    }
  },
});
