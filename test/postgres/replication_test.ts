/**
 * The supervisor on real Postgres 15 servers: initdb, start, observe; clone by pg_basebackup
 * and stream (data, roles with SCRAM passwords and GRANTs arrive); promote to timeline 2;
 * rewind a crashed deposed primary and stream on the new timeline; WAL gone makes rewind ask
 * for a re-clone without ever starting the old primary as a primary; the re-clone replaces
 * the old data directory.
 */

import { assert, assertEquals, assertGreater } from "./assert.ts";
import { cloneFrom, type CloneProgress } from "../../src/postgres/clone.ts";
import { createReplicationRole, initCluster } from "../../src/postgres/cluster_setup.ts";
import { hasStandbySignal } from "../../src/postgres/config_files.ts";
import { observePostgres } from "../../src/postgres/observe.ts";
import type { Postmaster } from "../../src/postgres/postmaster.ts";
import { rewindFrom } from "../../src/postgres/rewind.ts";
import { promote, setSynchronousStandbyNames } from "../../src/postgres/roles.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import {
  createReplicationSlot,
  listReplicationSlots,
  slotNameFor,
} from "../../src/postgres/slots.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import {
  APP_PASSWORD,
  appClient,
  countRows,
  TEST_PORT_BASE,
  TestCluster,
  waitFor,
} from "./test_cluster.ts";

const CLONE_TIMEOUT_MS = 120_000;

async function positionOf(cluster: TestCluster, settings: PostgresSettings) {
  const observation = await observePostgres(settings, cluster.binaries);
  assert(observation.position !== null, `no position for ${settings.applicationName}`);
  return { observation, position: observation.position };
}

/** Runs a step and stops the test at the first failed one (later steps depend on it). */
async function step(t: Deno.TestContext, name: string, fn: () => Promise<void>): Promise<void> {
  if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
}

Deno.test({
  name: "clone, stream, promote, rewind and re-clone on real servers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await TestCluster.create();
    const nodeA = cluster.settings("node-a", TEST_PORT_BASE + 1);
    const nodeB = cluster.settings("node-b", TEST_PORT_BASE + 2);
    try {
      let postmasterA!: Postmaster;
      let postmasterB!: Postmaster;

      await step(t, "initdb, start and observe a primary on timeline 1", async () => {
        assertEquals((await observePostgres(nodeA, cluster.binaries)).status, "absent");
        await initCluster(nodeA, cluster.binaries);
        const stopped = await observePostgres(nodeA, cluster.binaries);
        assertEquals(stopped.status, "stopped");
        assertEquals(stopped.inRecovery, false);
        postmasterA = await cluster.startReady(nodeA);
        const before = await positionOf(cluster, nodeA);
        assertEquals(before.observation.status, "running");
        assertEquals(before.observation.inRecovery, false);
        assertEquals(before.position.timeline, 1);
        assert(before.position.lsn >= stopped.position!.lsn, "LSN went backwards over a start");
        await withLocalSql(nodeA, async (sql) => {
          await createReplicationRole(sql, nodeA);
          await sql.unsafe(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}'`);
          await sql`CREATE TABLE t (id int primary key, note text)`;
          await sql`GRANT SELECT, INSERT ON t TO app`;
          await sql`INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g`;
        });
        const after = await positionOf(cluster, nodeA);
        assertGreater(after.position.lsn, before.position.lsn);
      });

      await step(t, "a clone by pg_basebackup streams data, roles and grants", async () => {
        await withLocalSql(nodeA, (sql) => createReplicationSlot(sql, slotNameFor("node-b")));
        const progress: CloneProgress[] = [];
        await cloneFrom(nodeB, cluster.binaries, { host: "127.0.0.1", port: nodeA.port }, {
          slotName: slotNameFor("node-b"),
          onProgress: (update) => progress.push(update),
          timeoutMs: CLONE_TIMEOUT_MS,
        });
        assertGreater(progress.length, 0, "no progress reported");
        assertEquals(progress.at(-1)!.percent, 100);
        assert(await hasStandbySignal(nodeB.dataDirectory));
        postmasterB = await cluster.startReady(nodeB);
        await withLocalSql(nodeA, (sql) => sql`INSERT INTO t VALUES (1001, 'after clone')`);
        await waitFor("row 1001 on the standby", async () => await countRows(nodeB) === 1001);
        const app = appClient(nodeB.port);
        try {
          const rows = await app`SELECT count(*)::int AS n FROM t`;
          assertEquals(rows[0]!.n, 1001, "the app role logs in on the standby and reads t");
        } finally {
          await app.end();
        }
        const standby = await positionOf(cluster, nodeB);
        assertEquals(standby.observation.inRecovery, true);
        assertEquals(standby.position.timeline, 1);
        const primary = await positionOf(cluster, nodeA);
        await waitFor("standby caught up", async () => {
          const now = await positionOf(cluster, nodeB);
          return now.position.lsn >= primary.position.lsn && now.observation.replayCaughtUp;
        });
        const slots = await withLocalSql(nodeA, (sql) => listReplicationSlots(sql));
        assertEquals(slots.map((slot) => [slot.name, slot.active]), [["hactl_node_hb", true]]);
      });

      await step(
        t,
        "promote the standby to timeline 2 while the old primary diverges",
        async () => {
          await setSynchronousStandbyNames(nodeB, "");
          const timeline = await promote(nodeB);
          assertEquals(timeline, 2);
          const promoted = await positionOf(cluster, nodeB);
          assertEquals(promoted.observation.inRecovery, false);
          assertEquals(promoted.position.timeline, 2);
          // Split brain on purpose: the old primary writes on timeline 1, then crashes.
          await withLocalSql(
            nodeA,
            (sql) => sql`INSERT INTO t VALUES (5000, 'lost on timeline 1')`,
          );
          const lastRunning = await positionOf(cluster, nodeA);
          await postmasterA.stop({ immediate: true });
          // A crashed node must not under-report: its voters' promise (D2) depends on it.
          const crashed = await positionOf(cluster, nodeA);
          assertEquals(crashed.observation.status, "stopped");
          assertEquals(crashed.position.timeline, 1);
          assert(
            crashed.position.lsn >= lastRunning.position.lsn,
            `stopped LSN ${crashed.position.lsn} < running LSN ${lastRunning.position.lsn}`,
          );
          await withLocalSql(nodeB, (sql) => sql`INSERT INTO t VALUES (2000, 'timeline 2')`);
        },
      );

      await step(t, "rewind the crashed old primary; it streams on timeline 2", async () => {
        await withLocalSql(nodeB, (sql) => createReplicationSlot(sql, slotNameFor("node-a")));
        const result = await rewindFrom(nodeA, cluster.binaries, {
          host: "127.0.0.1",
          port: nodeB.port,
        }, { slotName: slotNameFor("node-a"), timeoutMs: CLONE_TIMEOUT_MS });
        assert(result.ok, `rewind failed: ${result.detail}`);
        assertEquals(result.noRewindRequired, false);
        assert(await hasStandbySignal(nodeA.dataDirectory));
        postmasterA = await cluster.startReady(nodeA);
        await withLocalSql(nodeB, (sql) => sql`INSERT INTO t VALUES (2001, 'streamed')`);
        await waitFor("row 2001 on the rewound node", async () => {
          const rows = await withLocalSql(nodeA, (sql) => sql`SELECT id FROM t WHERE id >= 2000`);
          return rows.length === 2;
        });
        const rewound = await positionOf(cluster, nodeA);
        assertEquals(rewound.observation.inRecovery, true);
        assertEquals(rewound.position.timeline, 2);
        const lost = await withLocalSql(nodeA, (sql) => sql`SELECT 1 FROM t WHERE id = 5000`);
        assertEquals(lost.length, 0, "the diverged write of the old primary was rewound away");
      });

      await step(t, "with its WAL gone, rewind asks for a re-clone; never a primary", async () => {
        // node-a becomes primary on timeline 3 while node-b keeps writing on timeline 2.
        assertEquals(await promote(nodeA), 3);
        await withLocalSql(nodeB, (sql) => sql`INSERT INTO t VALUES (6000, 'lost on timeline 2')`);
        await postmasterB.stop();
        for await (const entry of Deno.readDir(`${nodeB.dataDirectory}/pg_wal`)) {
          if (/^[0-9A-F]{24}$/.test(entry.name)) {
            await Deno.remove(`${nodeB.dataDirectory}/pg_wal/${entry.name}`);
          }
        }
        const result = await rewindFrom(nodeB, cluster.binaries, {
          host: "127.0.0.1",
          port: nodeA.port,
        }, { slotName: null, timeoutMs: CLONE_TIMEOUT_MS });
        assertEquals(result.ok, false);
        assert(result.recloneNeeded, `expected a re-clone request, got: ${result.detail}`);
        assert(await hasStandbySignal(nodeB.dataDirectory), "standby.signal missing after rewind");
        const stopped = await observePostgres(nodeB, cluster.binaries);
        assertEquals(stopped.status, "stopped");
        assertEquals(stopped.inRecovery, true);
      });

      await step(t, "the re-clone replaces the old data directory and streams", async () => {
        await cloneFrom(nodeB, cluster.binaries, { host: "127.0.0.1", port: nodeA.port }, {
          slotName: null,
          timeoutMs: CLONE_TIMEOUT_MS,
        });
        postmasterB = await cluster.startReady(nodeB);
        await withLocalSql(nodeA, (sql) => sql`INSERT INTO t VALUES (3000, 'timeline 3')`);
        await waitFor("row 3000 on the re-cloned node", async () => {
          const rows = await withLocalSql(nodeB, (sql) => sql`SELECT id FROM t WHERE id = 3000`);
          return rows.length === 1;
        });
        const lost = await withLocalSql(nodeB, (sql) => sql`SELECT 1 FROM t WHERE id = 6000`);
        assertEquals(lost.length, 0);
        assertEquals((await positionOf(cluster, nodeB)).position.timeline, 3);
      });
    } finally {
      await cluster.cleanup();
    }
  },
});
