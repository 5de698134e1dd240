/**
 * A primary whose Postgres hangs while its agent runs (a postmaster frozen by SIGSTOP: what a
 * server stuck on a dead disk looks like from outside) is replaced, and the hung server is
 * killed before it can run on as a second primary.
 *
 * Before, the agent's read of a live postmaster that does not answer fell back to the data
 * directory's control file and reported the server `stopped`: the leader asked to start it
 * ("start fenced first", refused by the postmaster's lock), the watchdog's deadline was
 * dropped (a stopped server accepts no writes), and the thawed server came back writable
 * until the next reconcile. Now such a read fails (src/postgres/observe.ts); after three
 * failures the agent reports Postgres `unreadable` (src/agent/reconciler.ts): the leader
 * hands over (src/core/primary_watch.ts), the node refuses votes, nothing is started,
 * rewound or cloned over the server, and the watchdog's deadline stands, so the hung
 * postmaster is killed when the lease it was told of ends. Once it is gone the node is
 * read again (stopped) and rejoins the new primary as a standby; no acknowledged row is lost.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LocalCluster, readPostmasterPid } from "../../src/demo/local_cluster.ts";
import { testHactlCommand } from "./hactl_process.ts";
import { isRunning, signalIfAlive } from "../harness/processes.ts";

const STARTUP_MS = 120_000;

/** Inserts `id` on `node`'s Postgres; true once the commit is acknowledged. */
async function insert(cluster: LocalCluster, node: string, id: number): Promise<boolean> {
  const sql = cluster.superuser(node);
  try {
    await sql`INSERT INTO frozen_rows VALUES (${id})`;
    return true;
  } finally {
    await sql.end();
  }
}

/** The ids in frozen_rows on `node`. */
async function rowsOn(cluster: LocalCluster, node: string): Promise<number[]> {
  const sql = cluster.superuser(node);
  try {
    const rows = await sql<{ id: number }[]>`SELECT id FROM frozen_rows ORDER BY id`;
    return rows.map((row) => row.id);
  } finally {
    await sql.end();
  }
}

/** True when `node`'s Postgres is a standby that streams WAL. */
async function isStreamingStandby(cluster: LocalCluster, node: string): Promise<boolean> {
  const sql = cluster.superuser(node);
  try {
    const rows = await sql`SELECT status FROM pg_stat_wal_receiver`;
    return rows[0]?.status === "streaming";
  } finally {
    await sql.end();
  }
}

Deno.test({
  name: "a primary whose Postgres hangs is replaced, and the hung server is killed, not resumed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-frozen-postgres-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: 30100,
      hactlCommand: testHactlCommand,
    });
    let failed = true;
    let postmaster: number | null = null;
    try {
      const primary = await cluster.startAll(STARTUP_MS);
      const setup = cluster.superuser(primary);
      try {
        await setup`CREATE TABLE frozen_rows (id integer PRIMARY KEY)`;
      } finally {
        await setup.end();
      }
      assert(await insert(cluster, primary, 1), "the first row is acknowledged");
      postmaster = await readPostmasterPid(cluster.node(primary).dataDirectory);
      assert(postmaster !== null, "no postmaster.pid on the primary");
      signalIfAlive(postmaster, "SIGSTOP");
      const frozenAt = performance.now();
      let successor: string | null = null;
      await cluster.waitFor("another node becomes the writable primary", async () => {
        successor = await cluster.primary();
        return successor !== null && successor !== primary;
      }, 60_000);
      const failoverMs = performance.now() - frozenAt;
      const hungPostmaster = postmaster;
      await cluster.waitFor(
        "the watchdog kills the hung postmaster",
        () => Promise.resolve(!isRunning(hungPostmaster)),
        30_000,
      );
      const killedMs = performance.now() - frozenAt;
      console.log(
        `Postgres frozen on ${primary}: ${successor} writable after ${failoverMs.toFixed(0)} ms, ` +
          `the hung postmaster killed after ${killedMs.toFixed(0)} ms`,
      );
      assert(await insert(cluster, successor!, 2), "a row is acknowledged on the new primary");
      const log = await Deno.readTextFile(cluster.node(primary).logPath);
      assert(/reporting Postgres as unreadable/.test(log), log);
      await cluster.waitFor(`${primary} streams from ${successor} as a standby`, async () => {
        return await isStreamingStandby(cluster, primary);
      }, 90_000);
      assertEquals(await rowsOn(cluster, successor!), [1, 2]);
      await cluster.waitFor(`${primary} holds both rows`, async () => {
        return JSON.stringify(await rowsOn(cluster, primary)) === "[1,2]";
      }, 30_000);
      failed = false;
    } finally {
      if (postmaster !== null) signalIfAlive(postmaster, "SIGCONT");
      await cluster.destroy(failed);
      if (failed) console.error(`frozen postgres test failed; logs kept in ${directory}`);
    }
  },
});
