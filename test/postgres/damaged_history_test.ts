/**
 * A node whose WAL history is damaged converges (found by the chaos suite: a failed pg_rewind
 * left empty `pg_wal/0000000N.history` files, after which the node refused every action with
 * "re-clone this node" hundreds of times and never did). The reconciler reports such a data
 * directory as holding no usable data, so the core has it cloned from the leader; the node
 * then streams again. A node asked to be primary is never wiped this way.
 */
import { assert, assertEquals } from "./assert.ts";
import { CapturingLogger } from "./capturing_logger.ts";
import { PostgresReconciler } from "../../src/agent/reconciler.ts";
import type { PostgresObservation, PostgresRole } from "../../src/core/mod.ts";
import { cloneFrom } from "../../src/postgres/clone.ts";
import { promote } from "../../src/postgres/roles.ts";
import { createReplicationSlot, slotNameFor } from "../../src/postgres/slots.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { historyFileName } from "../../src/postgres/timeline_history.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

const TIMEOUT_MS = 120_000;

async function cloneOf(cluster: TestCluster, from: PostgresSettings, to: PostgresSettings) {
  await withLocalSql(from, (sql) => createReplicationSlot(sql, slotNameFor(to.applicationName)));
  await cloneFrom(to, cluster.binaries, { host: "127.0.0.1", port: from.port }, {
    slotName: slotNameFor(to.applicationName),
    timeoutMs: TIMEOUT_MS,
  });
}

/** A reconciler for `node` whose "core" asks for a clone from `source` once it sees no data. */
function reconcilerFor(
  cluster: TestCluster,
  node: PostgresSettings,
  source: PostgresSettings,
  log: CapturingLogger,
  seen: PostgresObservation[],
): PostgresReconciler {
  const reconciler: PostgresReconciler = new PostgresReconciler({
    settings: node,
    binaries: cluster.binaries,
    log,
    resolve: (id) =>
      id === source.applicationName ? { host: "127.0.0.1", port: source.port } : null,
    slotMembers: () => [],
    observed: (observation) => {
      seen.push(observation);
      const role: PostgresRole = observation.status === "absent"
        ? { kind: "clone", source: source.applicationName }
        : { kind: "standby", source: source.applicationName };
      reconciler.setDesired(role);
    },
    initialized: () => {},
    leaderTimeline: () => 2,
  });
  return reconciler;
}

Deno.test({
  name: "a standby with an emptied timeline history file is re-cloned and streams again",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const nodeA = cluster.settings("node-ha", TEST_PORT_BASE + 96);
    const nodeB = cluster.settings("node-hb", TEST_PORT_BASE + 97);
    const nodeC = cluster.settings("node-hc", TEST_PORT_BASE + 98);
    const log = new CapturingLogger("node-hc", "info");
    const seen: PostgresObservation[] = [];
    const reconciler = reconcilerFor(cluster, nodeC, nodeB, log, seen);
    try {
      await cluster.startPrimaryWithApp(nodeA);
      await cloneOf(cluster, nodeA, nodeB);
      await cluster.startReady(nodeB);
      await promote(nodeB);
      await cloneOf(cluster, nodeB, nodeC);
      const history = `${nodeC.dataDirectory}/pg_wal/${historyFileName(2)}`;
      await Deno.truncate(history, 0); // what a failed pg_rewind left behind
      await withLocalSql(nodeB, (sql) => sql`INSERT INTO t SELECT generate_series(1, 30)`);

      reconciler.setDesired({ kind: "standby", source: "node-hb" });
      reconciler.start();
      await waitFor("C is re-cloned and streams B's rows", async () => {
        const last = seen.at(-1);
        if (last?.status !== "running" || last.position?.timeline !== 2) return false;
        const rows = await withLocalSql(nodeC, (sql) => sql`SELECT count(*)::int AS n FROM t`);
        return rows[0]!.n === 30;
      }, 90_000);
      assert(
        log.lines.some((line) => /unusable as it is.*re-cloning from the leader/.test(line)),
        log.lines.join("\n"),
      );
      assert(log.lines.some((line) => line.includes("clone from node-hb complete")));
      assertEquals(seen.some((observation) => observation.status === "absent"), true);
      assert((await Deno.stat(history)).size > 0, "the clone brought a whole history file");
    } finally {
      await reconciler.stop(true);
      await cluster.cleanup();
    }
  },
});
