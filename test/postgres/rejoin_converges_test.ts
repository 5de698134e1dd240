/**
 * Rejoin converges (issue 9, #7), on real servers. B and C are standbys of A; C stops; A
 * writes, B receives it; A stops; C is promoted (timeline 2, forked before those writes);
 * B's WAL receiver had fetched C's timeline history. Two variants:
 * - B had only RECEIVED the writes (replay paused). pg_rewind judges by the control file and
 *   says "no rewind required"; started like that, B replays the writes C never had and is
 *   silently diverged (shown on a copy D of B). rewindFrom compares histories and asks for a
 *   re-clone instead, saying why; the reconciler re-clones B and it streams C's rows.
 * - B had replayed the writes and checkpointed past the fork: every start fails ("requested
 *   timeline 2 is not a child of this server's history"). The reconciler counts the failed
 *   starts and re-clones B after MAX_STANDBY_START_FAILURES, saying why; B then streams.
 * And the control: a standby whose replay is only paused stalls, is compared, found on its
 * source's history and left alone (no rewind, no clone).
 */

import { assert, assertEquals } from "./assert.ts";
import { CapturingLogger } from "./capturing_logger.ts";
import { MAX_STANDBY_START_FAILURES, PostgresReconciler } from "../../src/agent/reconciler.ts";
import { configureStandby, promote } from "../../src/postgres/roles.ts";
import { observePostgres } from "../../src/postgres/observe.ts";
import { lookupUser } from "../../src/postgres/files.ts";
import { ensureStateDirectory } from "../../src/postgres/postmaster.ts";
import { runCommand } from "../../src/postgres/process_runner.ts";
import { rewindFrom, sourceConninfo } from "../../src/postgres/rewind.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { writePasswordFile } from "../../src/postgres/config_files.ts";
import { createReplicationSlot, slotNameFor } from "../../src/postgres/slots.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { historyFileName } from "../../src/postgres/timeline_history.ts";
import { cloneWithSlot, countRows, TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

const TIMEOUT_MS = 120_000;

async function lsnOf(settings: PostgresSettings, query: "receive" | "flush"): Promise<string> {
  const rows = await withLocalSql(
    settings,
    (sql) =>
      query === "receive"
        ? sql`SELECT pg_last_wal_receive_lsn()::text AS lsn`
        : sql`SELECT pg_current_wal_flush_lsn()::text AS lsn`,
  );
  return rows[0]!.lsn as string;
}

/** Builds B and C as in the module doc; `pauseReplay` leaves the writes unreplayed on B. */
async function buildDivergedStandby(
  cluster: TestCluster,
  nodes: { a: PostgresSettings; b: PostgresSettings; c: PostgresSettings },
  pauseReplay: boolean,
): Promise<void> {
  const postmasterA = await cluster.startPrimaryWithApp(nodes.a);
  await cloneWithSlot(cluster, nodes.a, nodes.b);
  await cloneWithSlot(cluster, nodes.a, nodes.c);
  const postmasterB = await cluster.startReady(nodes.b);
  const postmasterC = await cluster.startReady(nodes.c);
  await withLocalSql(nodes.a, (sql) => sql`INSERT INTO t VALUES (1)`);
  const caughtUp = (await observePostgres(nodes.a, cluster.binaries)).position!.lsn;
  for (const node of [nodes.b, nodes.c]) {
    await waitFor("standbys caught up", async () => {
      const observation = await observePostgres(node, cluster.binaries);
      return observation.position!.lsn >= caughtUp && observation.replayCaughtUp;
    });
  }
  if (pauseReplay) await withLocalSql(nodes.b, (sql) => sql`SELECT pg_wal_replay_pause()`);
  await postmasterC.stop({ fastTimeoutMs: 10_000 });
  await withLocalSql(nodes.a, (sql) => sql`INSERT INTO t SELECT generate_series(2, 100)`);
  const aheadLsn = await lsnOf(nodes.a, "flush");
  await waitFor("B received A's extra WAL", async () => {
    const rows = await withLocalSql(
      nodes.b,
      (sql) => sql`SELECT pg_last_wal_receive_lsn() >= ${aheadLsn}::pg_lsn AS ok`,
    );
    return rows[0]!.ok === true;
  });
  await postmasterA.stop({ fastTimeoutMs: 10_000 });
  await postmasterB.stop({ fastTimeoutMs: 10_000 });
  await cluster.startReady(nodes.c);
  assertEquals(await promote(nodes.c), 2);
  await withLocalSql(
    nodes.c,
    (sql) => createReplicationSlot(sql, slotNameFor(nodes.b.applicationName)),
  );
  // B's WAL receiver fetches the history of the source's timeline when it first connects.
  const history = `${nodes.b.dataDirectory}/pg_wal/${historyFileName(2)}`;
  await Deno.copyFile(`${nodes.c.dataDirectory}/pg_wal/${historyFileName(2)}`, history);
  const owner = await lookupUser("postgres");
  await Deno.chown(history, owner.uid, owner.gid);
}

/** Copies the stopped `from` data directory to `to`'s place. */
async function copyDataDirectory(from: PostgresSettings, to: PostgresSettings): Promise<void> {
  const parent = to.dataDirectory.slice(0, to.dataDirectory.lastIndexOf("/"));
  const owner = await lookupUser("postgres");
  await Deno.mkdir(parent, { recursive: true });
  await Deno.chown(parent, owner.uid, owner.gid);
  const copied = await new Deno.Command("cp", {
    args: ["-a", from.dataDirectory, to.dataDirectory],
  }).output();
  assert(copied.success, new TextDecoder().decode(copied.stderr));
}

/** The old path: plain pg_rewind, then a start as a standby. Returns pg_rewind's words and the rows. */
async function oldPath(
  cluster: TestCluster,
  node: PostgresSettings,
  source: { host: string; port: number },
): Promise<{ rewind: string; rows: number }> {
  await ensureStateDirectory(node);
  await writePasswordFile(node);
  const rewind = await runCommand([
    cluster.binaries.path("pg_rewind"),
    `--target-pgdata=${node.dataDirectory}`,
    `--source-server=${sourceConninfo(node, source)}`,
  ], { timeoutMs: TIMEOUT_MS, runAsUser: node.runAsUser });
  await configureStandby(node, source, slotNameFor(node.applicationName), { running: false });
  const postmaster = await cluster.startReady(node);
  const rows = await countRows(node);
  await postmaster.stop({ fastTimeoutMs: 10_000 });
  return { rewind: rewind.stderr.trim(), rows };
}

function reconcilerFor(
  cluster: TestCluster,
  node: PostgresSettings,
  source: PostgresSettings,
  log: CapturingLogger,
): PostgresReconciler {
  return new PostgresReconciler({
    settings: node,
    binaries: cluster.binaries,
    log,
    resolve: (id) =>
      id === source.applicationName ? { host: "127.0.0.1", port: source.port } : null,
    slotMembers: () => [],
    observed: () => {},
    initialized: () => {},
    leaderTimeline: () => 2,
  });
}

async function waitStreamsFromC(
  cluster: TestCluster,
  nodeB: PostgresSettings,
  nodeC: PostgresSettings,
): Promise<void> {
  await withLocalSql(nodeC, (sql) => sql`INSERT INTO t VALUES (200)`);
  const rowsOnC = await countRows(nodeC);
  await waitFor("B streams C's rows on timeline 2", async () => {
    const observation = await observePostgres(nodeB, cluster.binaries);
    return observation.status === "running" && observation.position?.timeline === 2 &&
      await countRows(nodeB) === rowsOnC;
  }, 90_000);
}

Deno.test({
  name: "a standby that received WAL past the fork is re-cloned, not falsely rewound",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const nodes = {
      a: cluster.settings("node-ra", TEST_PORT_BASE + 50),
      b: cluster.settings("node-rb", TEST_PORT_BASE + 51),
      c: cluster.settings("node-rc", TEST_PORT_BASE + 52),
    };
    const sourceC = { host: "127.0.0.1", port: nodes.c.port };
    const nodeD = cluster.settings("node-rd", TEST_PORT_BASE + 53);
    const log = new CapturingLogger("node-rb", "debug");
    const reconciler = reconcilerFor(cluster, nodes.b, nodes.c, log);
    try {
      await buildDivergedStandby(cluster, nodes, true);
      await copyDataDirectory(nodes.b, nodeD);
      await withLocalSql(nodes.c, (sql) => createReplicationSlot(sql, slotNameFor("node-rd")));
      const old = await oldPath(cluster, nodeD, sourceC);
      console.log(
        `old path on a copy D of B: ${old.rewind.replaceAll("\n", " | ")}; rows on D after ` +
          `start ${old.rows}, on C ${await countRows(nodes.c)}; D then reports ${
            JSON.stringify((await observePostgres(nodeD, cluster.binaries)).position)
          }`,
      );
      assert(/no rewind required/.test(old.rewind), old.rewind);
      assertEquals(old.rows, 100, "the old path replays the writes C never had");

      const result = await rewindFrom(nodes.b, cluster.binaries, sourceC, {
        slotName: slotNameFor("node-rb"),
        timeoutMs: TIMEOUT_MS,
      });
      console.log(`rewindFrom: ${JSON.stringify(result)}`);
      assert(!result.ok && result.recloneNeeded, result.detail);
      assert(/nothing to rewind, but this node holds WAL to timeline 1/.test(result.detail));

      reconciler.setDesired({ kind: "rejoin", source: "node-rc" });
      reconciler.start();
      await waitStreamsFromC(cluster, nodes.b, nodes.c);
      assert(
        log.lines.some((line) =>
          /pg_rewind cannot rejoin .*nothing to rewind.*re-cloning from node-rc/.test(line)
        ),
        log.lines.join("\n"),
      );
      assert(log.lines.some((line) => line.includes("clone from node-rc complete")));
    } finally {
      await reconciler.stop(true);
      await cluster.cleanup();
    }
  },
});

Deno.test({
  name: "a standby whose starts keep failing is re-cloned after a bounded number of tries",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const nodes = {
      a: cluster.settings("node-fa", TEST_PORT_BASE + 55),
      b: cluster.settings("node-fb", TEST_PORT_BASE + 56),
      c: cluster.settings("node-fc", TEST_PORT_BASE + 57),
    };
    const log = new CapturingLogger("node-fb", "debug");
    const reconciler = reconcilerFor(cluster, nodes.b, nodes.c, log);
    try {
      await buildDivergedStandby(cluster, nodes, false);
      reconciler.setDesired({ kind: "standby", source: "node-fc" });
      reconciler.start();
      await waitStreamsFromC(cluster, nodes.b, nodes.c);
      const failures = log.lines.filter((line) => line.includes("action for standby failed"));
      const reclone = log.lines.find((line) =>
        line.includes(`failed to start ${MAX_STANDBY_START_FAILURES} times in a row`)
      );
      console.log(`failed starts logged: ${failures.length}; then: ${reclone}`);
      assertEquals(failures.length, MAX_STANDBY_START_FAILURES - 1);
      assert(failures[0]!.includes("is not a child of this server's history"), failures[0]);
      assert(reclone !== undefined, log.lines.join("\n"));
      assert(/is not a child of this server's history.*re-cloning/.test(reclone), reclone);
      assert(log.lines.some((line) => line.includes("clone from node-fc complete")));
    } finally {
      await reconciler.stop(true);
      await cluster.cleanup();
    }
  },
});

Deno.test({
  name: "a standby whose replay is only paused is compared and left alone",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const nodeA = cluster.settings("node-la", TEST_PORT_BASE + 58);
    const nodeB = cluster.settings("node-lb", TEST_PORT_BASE + 59);
    const log = new CapturingLogger("node-lb", "debug");
    const reconciler = reconcilerFor(cluster, nodeB, nodeA, log);
    try {
      await cluster.startPrimaryWithApp(nodeA);
      await cloneWithSlot(cluster, nodeA, nodeB);
      reconciler.setDesired({ kind: "standby", source: "node-la" });
      reconciler.start();
      await waitFor("B runs", async () => {
        return (await observePostgres(nodeB, cluster.binaries)).status === "running";
      });
      await withLocalSql(nodeB, (sql) => sql`SELECT pg_wal_replay_pause()`);
      await withLocalSql(nodeA, (sql) => sql`INSERT INTO t SELECT generate_series(1, 50)`);
      await waitFor("the stalled replay is compared", () =>
        Promise.resolve(
          log.lines.some((line) => line.includes("left alone (slow, not diverged)")),
        ));
      assertEquals(log.lines.filter((line) => /cannot follow|rewind|clon/.test(line)), []);
      assertEquals(await countRows(nodeB), 0, "replay stayed paused: nothing restarted B");
      await withLocalSql(nodeB, (sql) => sql`SELECT pg_wal_replay_resume()`);
      await waitFor("B replays A's rows", async () => await countRows(nodeB) === 50);
    } finally {
      await reconciler.stop(true);
      await cluster.cleanup();
    }
  },
});
