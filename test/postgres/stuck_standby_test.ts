/**
 * A standby that replayed past a new timeline's fork point (it received WAL, such as an old
 * primary's shutdown checkpoint, that the promoted node never had) cannot follow the new
 * primary: Postgres waits forever for WAL on the old timeline. Seen in a switchover on a
 * 3-node cluster. On real servers: B and C are standbys of A; C stops; A writes and B
 * receives it; A stops; C is promoted (timeline 2, forked before that write). The agent's
 * reconciler, told to run B as a standby of C, notices B is not streaming, compares timeline
 * histories (B holds timeline-1 WAL past C's fork), rewinds it, and B then streams on
 * timeline 2.
 */

import { assert, assertEquals } from "./assert.ts";
import { observePostgres } from "../../src/postgres/observe.ts";
import { promote } from "../../src/postgres/roles.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { PostgresReconciler } from "../../src/agent/reconciler.ts";
import { Logger } from "../../src/agent/logger.ts";
import { cloneWithSlot, TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

/** Captures the reconciler's log lines. */
class CapturingLogger extends Logger {
  readonly lines: string[] = [];
  override info(component: string, text: string): void {
    this.lines.push(`INFO ${component}: ${text}`);
  }
  override warn(component: string, text: string): void {
    this.lines.push(`WARN ${component}: ${text}`);
  }
}

Deno.test({
  name: "a standby past the new timeline's fork point is rewound and follows the new primary",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const nodeA = cluster.settings("node-sa", TEST_PORT_BASE + 30);
    const nodeB = cluster.settings("node-sb", TEST_PORT_BASE + 31);
    const nodeC = cluster.settings("node-sc", TEST_PORT_BASE + 32);
    let reconciler: PostgresReconciler | null = null;
    try {
      const postmasterA = await cluster.startPrimaryWithApp(nodeA);
      await cloneWithSlot(cluster, nodeA, nodeB);
      await cloneWithSlot(cluster, nodeA, nodeC);
      const postmasterB = await cluster.startReady(nodeB);
      const postmasterC = await cluster.startReady(nodeC);
      await withLocalSql(nodeA, (sql) => sql`INSERT INTO t VALUES (1)`);
      const primaryLsn = (await observePostgres(nodeA, cluster.binaries)).position!.lsn;
      await waitFor(
        "C caught up",
        async () => (await observePostgres(nodeC, cluster.binaries)).position!.lsn >= primaryLsn,
      );
      // C stops; A writes more, which only B receives; A stops; C becomes the new primary.
      await postmasterC.stop({ fastTimeoutMs: 10_000 });
      await withLocalSql(nodeA, (sql) => sql`INSERT INTO t SELECT generate_series(2, 100)`);
      const aheadLsn = (await observePostgres(nodeA, cluster.binaries)).position!.lsn;
      await waitFor(
        "B received the extra WAL",
        async () => (await observePostgres(nodeB, cluster.binaries)).position!.lsn >= aheadLsn,
      );
      await postmasterA.stop({ fastTimeoutMs: 10_000 });
      await postmasterB.stop({ fastTimeoutMs: 10_000 });
      const newPrimary = await cluster.startReady(nodeC);
      await promote(nodeC);
      await withLocalSql(nodeC, (sql) => sql`CHECKPOINT`);
      void newPrimary;

      const log = new CapturingLogger("node-sb", "debug");
      reconciler = new PostgresReconciler({
        settings: nodeB,
        binaries: cluster.binaries,
        log,
        resolve: (node) => node === "node-sc" ? { host: "127.0.0.1", port: nodeC.port } : null,
        slotMembers: () => [],
        observed: () => {},
        initialized: () => {},
        leaderTimeline: () => 2,
      });
      reconciler.setDesired({ kind: "standby", source: "node-sc" });
      reconciler.start();
      await waitFor("B streams from C on timeline 2", async () => {
        const observation = await observePostgres(nodeB, cluster.binaries);
        return observation.status === "running" && observation.position?.timeline === 2;
      }, 90_000);
      assert(
        log.lines.some((line) =>
          /has not streamed or replayed from node-sc .* past the fork .* rewinding/.test(line)
        ),
        log.lines.join("\n"),
      );
      assert(log.lines.some((line) => line.includes("rejoined node-sc by pg_rewind")));
      const rows = await withLocalSql(nodeB, (sql) => sql`SELECT count(*)::int AS n FROM t`);
      assertEquals(rows[0]!.n, 1, "B now has C's history: the rows C never had are gone");
    } finally {
      await reconciler?.stop(true);
      await cluster.cleanup();
    }
  },
});
