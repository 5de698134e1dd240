/**
 * A node's reported (timeline, LSN, history) is that of its newest WAL on the timeline that
 * WAL belongs to, in every state, on real servers: a streaming standby; a primary and a
 * standby after a switchover; a node after pg_rewind; a standby whose WAL receiver is down
 * (its primary killed) after two promotions elsewhere (timeline 3) — the case that lost 3,875
 * acknowledged rows, where the old observation (control file and WAL receiver) said timeline 1;
 * and a crashed standby read from its files.
 */

import { assert, assertEquals } from "./assert.ts";
import type { WalPosition } from "../../src/core/types.ts";
import { cloneFrom } from "../../src/postgres/clone.ts";
import { observePostgres } from "../../src/postgres/observe.ts";
import { rewindFrom } from "../../src/postgres/rewind.ts";
import { configureStandby, promote } from "../../src/postgres/roles.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

const TIMEOUT_MS = 120_000;

async function positionOf(cluster: TestCluster, settings: PostgresSettings) {
  const observation = await observePostgres(settings, cluster.binaries);
  assert(observation.position !== null, `no position for ${settings.applicationName}`);
  return { observation, position: observation.position };
}

/** The timeline the observation before issue 9 reported for a running standby. */
async function oldStandbyTimeline(settings: PostgresSettings): Promise<number> {
  const rows = await withLocalSql(settings, (sql) =>
    sql<{ timeline: number }[]>`SELECT greatest(
      (SELECT timeline_id FROM pg_control_checkpoint()),
      (SELECT min_recovery_end_timeline FROM pg_control_recovery()),
      coalesce((SELECT received_tli FROM pg_stat_wal_receiver), 0))::int AS timeline`);
  return rows[0]!.timeline;
}

async function receiverRunning(settings: PostgresSettings): Promise<boolean> {
  const rows = await withLocalSql(settings, (sql) => sql`SELECT 1 FROM pg_stat_wal_receiver`);
  return rows.length > 0;
}

/** Points the running standby `standby` at `source` and waits until it reports `timeline`. */
async function follow(
  cluster: TestCluster,
  standby: PostgresSettings,
  source: PostgresSettings,
  timeline: number,
): Promise<void> {
  await configureStandby(standby, { host: "127.0.0.1", port: source.port }, null, {
    running: true,
  });
  const target = (await positionOf(cluster, source)).position.lsn;
  await waitFor(`${standby.applicationName} streams timeline ${timeline}`, async () => {
    const { position } = await positionOf(cluster, standby);
    return position.timeline === timeline && position.lsn >= target &&
      await receiverRunning(standby);
  }, TIMEOUT_MS);
}

function assertSameHistory(actual: WalPosition, expected: WalPosition, what: string): void {
  assertEquals(actual.timeline, expected.timeline, what);
  assertEquals(actual.history, expected.history, what);
}

Deno.test({
  name: "positions are true: streaming, switchover, rewind, receiver down on timeline 3, crashed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await TestCluster.create();
    const nodeA = cluster.settings("node-pa", TEST_PORT_BASE + 40);
    const nodeB = cluster.settings("node-pb", TEST_PORT_BASE + 41);
    const nodeC = cluster.settings("node-pc", TEST_PORT_BASE + 42);
    const source = (node: PostgresSettings) => ({ host: "127.0.0.1", port: node.port });
    const write = (node: PostgresSettings, rows: number) =>
      withLocalSql(node, (sql) => sql`INSERT INTO t SELECT generate_series(1, ${rows})`);
    try {
      let postmasterA = await cluster.startPrimaryWithApp(nodeA);
      for (const node of [nodeB, nodeC]) {
        await cloneFrom(node, cluster.binaries, source(nodeA), {
          slotName: null,
          timeoutMs: TIMEOUT_MS,
        });
      }
      const postmasterB = await cluster.startReady(nodeB);
      const postmasterC = await cluster.startReady(nodeC);

      await t.step("a streaming standby reports timeline 1, no history", async () => {
        await write(nodeA, 1000);
        const primary = (await positionOf(cluster, nodeA)).position;
        assertEquals(primary.timeline, 1);
        assertEquals(primary.history, []);
        await waitFor("C caught up", async () => {
          return (await positionOf(cluster, nodeC)).position.lsn >= primary.lsn;
        });
        const { observation, position: standby } = await positionOf(cluster, nodeC);
        assert(await receiverRunning(nodeC));
        assert(observation.receivingWal, "a streaming standby receives WAL");
        assert(!(await positionOf(cluster, nodeA)).observation.receivingWal, "a primary does not");
        assertEquals(standby.timeline, 1);
        assertEquals(standby.history, []);
      });

      let timeline2!: WalPosition;
      await t.step("switchover: B promoted to timeline 2, C follows it", async () => {
        const lastOfA = (await positionOf(cluster, nodeA)).position;
        await postmasterA.stop({ fastTimeoutMs: 10_000 });
        assertEquals(await promote(nodeB), 2);
        timeline2 = (await positionOf(cluster, nodeB)).position;
        assertEquals(timeline2.timeline, 2);
        assertEquals(timeline2.history.length, 1);
        assertEquals(timeline2.history[0]!.timeline, 1);
        assert(timeline2.history[0]!.endLsn >= lastOfA.lsn, "switch point before A's last WAL");
        await write(nodeB, 1000);
        await follow(cluster, nodeC, nodeB, 2);
        assertSameHistory((await positionOf(cluster, nodeC)).position, timeline2, "C after B");
      });

      await t.step("after pg_rewind, the old primary reports the new timeline", async () => {
        postmasterA = await cluster.startReady(nodeA);
        await write(nodeA, 500); // diverges on timeline 1
        await postmasterA.stop({ fastTimeoutMs: 10_000 });
        const result = await rewindFrom(nodeA, cluster.binaries, source(nodeB), {
          slotName: null,
          timeoutMs: TIMEOUT_MS,
        });
        assert(result.ok && !result.noRewindRequired, `rewind: ${result.detail}`);
        postmasterA = await cluster.startReady(nodeA);
        const target = (await positionOf(cluster, nodeB)).position.lsn;
        await waitFor("A streams from B", async () => {
          return (await positionOf(cluster, nodeA)).position.lsn >= target;
        }, TIMEOUT_MS);
        assertSameHistory((await positionOf(cluster, nodeA)).position, timeline2, "rewound A");
      });

      await t.step("receiver down after two promotions: C reports timeline 3", async () => {
        await postmasterB.stop({ fastTimeoutMs: 10_000 });
        assertEquals(await promote(nodeA), 3);
        const timeline3 = (await positionOf(cluster, nodeA)).position;
        assertEquals(timeline3.timeline, 3);
        assertEquals(timeline3.history.slice(0, 1), timeline2.history);
        assertEquals(timeline3.history[1]!.timeline, 2);
        await follow(cluster, nodeC, nodeA, 3);
        await write(nodeA, 300_000); // several WAL segments on timeline 3
        const lastOfA = (await positionOf(cluster, nodeA)).position;
        await waitFor("C received A's WAL", async () => {
          return (await positionOf(cluster, nodeC)).position.lsn >= lastOfA.lsn;
        }, TIMEOUT_MS);
        await postmasterA.stop({ immediate: true });
        await waitFor("C's receiver is down", async () => !await receiverRunning(nodeC));
        const down = await positionOf(cluster, nodeC);
        const standby = down.position;
        assert(down.observation.receivingWal, "its receiver restarts by itself: still receiving");
        const old = await oldStandbyTimeline(nodeC);
        console.log(
          `receiver down: new observation timeline ${standby.timeline} LSN ${standby.lsn}, ` +
            `A's last flush ${lastOfA.lsn}; old observation timeline ${old}`,
        );
        assertSameHistory(standby, timeline3, "C with its receiver down");
        assert(standby.lsn >= lastOfA.lsn, `C's LSN ${standby.lsn} < A's ${lastOfA.lsn}`);
        assertEquals(old, 1, "the old observation under-reported the timeline");
      });

      await t.step("a crashed standby, read from its files, keeps timeline 3", async () => {
        const running = (await positionOf(cluster, nodeC)).position;
        await postmasterC.stop({ immediate: true });
        const { observation, position } = await positionOf(cluster, nodeC);
        assertEquals(observation.status, "stopped");
        assertEquals(observation.inRecovery, true);
        assert(observation.receivingWal, "a stopped standby with a source streams once started");
        assertEquals(position.timeline, 3);
        assertEquals(position.history, running.history);
        assert(position.lsn >= running.lsn, `stopped ${position.lsn} < running ${running.lsn}`);
      });
    } finally {
      await cluster.cleanup();
    }
  },
});
