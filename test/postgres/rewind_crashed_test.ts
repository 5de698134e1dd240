/**
 * A crashed primary whose WAL ends exactly where its standby was promoted rejoins by
 * rewindFrom, not by a re-clone (found by the full suite: partitioned_primary_test's old
 * primary, killed by its watchdog, was re-cloned).
 *
 * rewindFrom first recovers a crashed server as a standby, since pg_rewind needs a clean
 * shutdown. If that recovery pass had the new primary in primary_conninfo, it could stream
 * the new timeline while it ran: the control file then pointed past the fork on timeline 2,
 * pg_rewind looked for the fork point's record in the timeline-1 WAL file, found zeros
 * ("could not find previous WAL record ... invalid record length"), and the node was
 * re-cloned. The recovery pass now replays only the node's own WAL.
 */

import { assert, assertEquals } from "./assert.ts";
import { promote } from "../../src/postgres/roles.ts";
import { observePostgres } from "../../src/postgres/observe.ts";
import { readControlData } from "../../src/postgres/control_data.ts";
import { rewindFrom } from "../../src/postgres/rewind.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { createReplicationSlot, slotNameFor } from "../../src/postgres/slots.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { cloneWithSlot, countRows, TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

const TIMEOUT_MS = 120_000;

/** A primary A and its caught-up standby B; A crashes (immediate stop); B is promoted and writes. */
async function crashAndPromote(
  cluster: TestCluster,
  a: PostgresSettings,
  b: PostgresSettings,
): Promise<void> {
  const postmasterA = await cluster.startPrimaryWithApp(a);
  await cloneWithSlot(cluster, a, b, TIMEOUT_MS);
  await cluster.startReady(b);
  await withLocalSql(a, (sql) => sql`INSERT INTO t SELECT generate_series(1, 50)`);
  const end = (await observePostgres(a, cluster.binaries)).position!.lsn;
  await waitFor("B holds all of A's WAL", async () => {
    const observation = await observePostgres(b, cluster.binaries);
    return observation.position!.lsn >= end && observation.replayCaughtUp;
  });
  await postmasterA.stop({ immediate: true });
  assertEquals(await promote(b), 2);
  await withLocalSql(b, (sql) => createReplicationSlot(sql, slotNameFor(a.applicationName)));
  // Timeline 2 moves on past the fork, so a recovery pass that streamed would follow it.
  await withLocalSql(b, (sql) => sql`INSERT INTO t SELECT generate_series(51, 2050)`);
}

Deno.test({
  name: "a crashed primary whose WAL ends at the fork rejoins by rewind, not a re-clone",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const a = cluster.settings("node-ka", TEST_PORT_BASE + 92);
    const b = cluster.settings("node-kb", TEST_PORT_BASE + 93);
    try {
      await crashAndPromote(cluster, a, b);
      const before = await readControlData(cluster.binaries, a.dataDirectory);
      assert(before.state === "in production", `A crashed: control file says "${before.state}"`);

      const result = await rewindFrom(a, cluster.binaries, { host: "127.0.0.1", port: b.port }, {
        slotName: slotNameFor(a.applicationName),
        timeoutMs: TIMEOUT_MS,
      });
      console.log(`rewindFrom: ${JSON.stringify(result)}`);
      assert(result.ok && !result.recloneNeeded, result.detail);
      // The recovery pass replayed A's own WAL only: had it streamed from B, A would already be
      // on B's timeline ("same timeline"), or stuck between the two (the re-clone above).
      assert(!/same timeline/.test(result.detail), `the recovery pass streamed: ${result.detail}`);
      assert(/no rewind required/.test(result.detail), result.detail);

      // It follows B as a standby on timeline 2 with every row.
      await cluster.startReady(a);
      const rowsOnB = await countRows(b);
      await waitFor("A streams B's rows on timeline 2", async () => {
        const observation = await observePostgres(a, cluster.binaries);
        return observation.status === "running" && observation.position?.timeline === 2 &&
          await countRows(a) === rowsOnB;
      }, 90_000);
    } finally {
      await cluster.cleanup();
    }
  },
});
