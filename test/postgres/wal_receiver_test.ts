/**
 * "Receive WAL from no one" on real Postgres 15 servers (issue 9's remaining gap): on a
 * streaming standby, stopWalReceiver stops the WAL receiver by clearing primary_conninfo and
 * reloading (no restart); the observation then reports receivingWal false, and commits on the
 * primary no longer reach the standby; a stopped standby set that way starts without a
 * receiver; pointing it at the primary again (configureStandby) resumes streaming.
 */

import { assert, assertEquals } from "./assert.ts";
import { cloneFrom } from "../../src/postgres/clone.ts";
import { observePostgres } from "../../src/postgres/observe.ts";
import { configureStandby } from "../../src/postgres/roles.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { createReplicationSlot, slotNameFor } from "../../src/postgres/slots.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { readReceiverState, stopWalReceiver } from "../../src/postgres/wal_receiver.ts";
import { delay } from "../../src/postgres/postmaster.ts";
import { countRows, TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

async function insertRows(settings: PostgresSettings, count: number): Promise<void> {
  await withLocalSql(
    settings,
    (sql) => sql`INSERT INTO t SELECT g FROM generate_series(1, ${count}) g`,
  );
}

async function receiverCount(settings: PostgresSettings): Promise<number> {
  return (await withLocalSql(settings, (sql) => readReceiverState(sql))).receivers;
}

/** Runs a step and stops the test at the first failed one (later steps depend on it). */
async function step(t: Deno.TestContext, name: string, fn: () => Promise<void>): Promise<void> {
  if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
}

Deno.test({
  name: "a standby stops receiving WAL on request, reports it, and streams again when re-attached",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await TestCluster.create();
    const primary = cluster.settings("node-a", TEST_PORT_BASE + 70);
    const standby = cluster.settings("node-b", TEST_PORT_BASE + 71);
    const source = { host: "127.0.0.1", port: primary.port };
    const slot = slotNameFor("node-b");
    try {
      await step(t, "a streaming standby reports a WAL receiver", async () => {
        await cluster.startPrimaryWithApp(primary);
        await withLocalSql(primary, (sql) => createReplicationSlot(sql, slot));
        await cloneFrom(standby, cluster.binaries, source, { slotName: slot, timeoutMs: 120_000 });
        await cluster.startReady(standby);
        await insertRows(primary, 10);
        await waitFor("10 rows streamed", async () => await countRows(standby) === 10);
        await waitFor("a receiver shown", async () => await receiverCount(standby) > 0);
        const observation = await observePostgres(standby, cluster.binaries);
        assertEquals(observation.inRecovery, true);
        assertEquals(observation.receivingWal, true);
      });

      let stoppedAt = 0;
      await step(
        t,
        "stopWalReceiver stops it without a restart; nothing more arrives",
        async () => {
          const pidBefore = await withLocalSql(
            standby,
            (sql) => sql`SELECT pg_postmaster_start_time()::text AS t`,
          );
          await stopWalReceiver(standby, { running: true });
          assertEquals(await receiverCount(standby), 0);
          const observation = await observePostgres(standby, cluster.binaries);
          assertEquals(observation.status, "running");
          assertEquals(observation.inRecovery, true);
          assertEquals(observation.receivingWal, false);
          stoppedAt = observation.position!.lsn;
          const pidAfter = await withLocalSql(
            standby,
            (sql) => sql`SELECT pg_postmaster_start_time()::text AS t`,
          );
          assertEquals(pidAfter[0]!.t, pidBefore[0]!.t, "the standby was reloaded, not restarted");
          // The primary keeps committing (no synchronous standby here); none of it arrives.
          await insertRows(primary, 100);
          await delay(1_500); // several of the standby's retry intervals (200 ms)
          assertEquals(await countRows(standby), 10);
          assertEquals(await receiverCount(standby), 0);
          const later = await observePostgres(standby, cluster.binaries);
          assertEquals(later.receivingWal, false);
          assertEquals(later.position!.lsn, stoppedAt, "no WAL flushed after the stop");
        },
      );

      await step(
        t,
        "a stopped standby set to receive from no one starts without a receiver",
        async () => {
          await cluster.postmasters.at(-1)!.stop({ fastTimeoutMs: 10_000 });
          await stopWalReceiver(standby, { running: false });
          const stopped = await observePostgres(standby, cluster.binaries);
          assertEquals(stopped.status, "stopped");
          assertEquals(stopped.receivingWal, false);
          await cluster.startReady(standby);
          await delay(1_000);
          assertEquals(await receiverCount(standby), 0);
          assertEquals((await observePostgres(standby, cluster.binaries)).receivingWal, false);
          assertEquals(await countRows(standby), 10);
        },
      );

      await step(t, "re-attached to the primary, it streams again", async () => {
        await configureStandby(standby, source, slot, { running: true });
        await waitFor("the missed rows streamed", async () => await countRows(standby) === 110);
        const observation = await observePostgres(standby, cluster.binaries);
        assertEquals(observation.receivingWal, true);
        assert(observation.position!.lsn > stoppedAt, "WAL arrived after re-attaching");
        await insertRows(primary, 5);
        await waitFor("new rows stream", async () => await countRows(standby) === 115);
      });
    } finally {
      await cluster.cleanup();
    }
  },
});
