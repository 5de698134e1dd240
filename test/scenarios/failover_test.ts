// Proves D2, D1 and L1 across crashes and restarts (MISSION: "highest-LSN survivor promoted",
// "quorum-sync loses no acknowledged commit", chaos rolling restarts):
// - after the primary dies, the standby with the most WAL is promoted, not the lagging one;
// - three SIGKILLs of successive primaries under a continuous writer lose no acknowledged row;
// - a graceful restart of every node, one by one, keeps a writable primary most of the time
//   and loses nothing.
import { assert, assertEquals } from "../harness/test_assertions.ts";
import { type ScenarioCluster, withScenarioCluster } from "./scenario_cluster.ts";
import {
  assertNoAcknowledgedWriteLost,
  assertSingleWriter,
  FAILOVER_TIMEOUT_MS,
  longestAcknowledgementGapMs,
  REJOIN_TIMEOUT_MS,
  type ScenarioLoad,
  startLoad,
  stopLoad,
  waitForWrites,
  WRITES_PER_PHASE,
} from "./scenario_load.ts";

/** Successive primaries killed in the repeated-failover scenario. */
const FAILOVER_ROUNDS = 3;
/** Longest stretch without an acknowledged write during a rolling restart. */
const MAX_ROLLING_GAP_MS = 10_000;

/** Stops the load, then checks S1 and D1 on the final primary and every other node. */
async function finish(cluster: ScenarioCluster, load: ScenarioLoad): Promise<void> {
  const primary = await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
  const { probes, writes } = await stopLoad(load);
  assertSingleWriter(probes);
  const standbys = cluster.nodes.map((n) => n.index).filter((i) => i !== primary);
  console.log(await assertNoAcknowledgedWriteLost(cluster, writes, primary, standbys));
  console.log(
    `longest gap without an acknowledged write: ` +
      `${longestAcknowledgementGapMs(writes).toFixed(0)} ms`,
  );
}

Deno.test({
  name: "after the primary dies the standby with the highest WAL position is promoted",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // Asynchronous mode, so the primary keeps committing while one standby is cut off from it.
    const options = { nodes: 3, name: "highest-lsn", syncMode: "asynchronous" } as const;
    await withScenarioCluster(options, async (cluster) => {
      const primary = await cluster.waitHealthy(30_000);
      const [ahead, behind] = cluster.nodes.map((n) => n.index).filter((i) => i !== primary);
      assert(ahead !== undefined && behind !== undefined, "three nodes");
      const load = await startLoad(cluster);
      try {
        await cluster.network.partition([primary], [behind]);
        const cutAtMs = performance.now();
        await waitForWrites(cluster, load, WRITES_PER_PHASE, { sinceMs: cutAtMs });
        let aheadLsn = 0;
        let behindLsn = 0;
        await cluster.waitFor("the streaming standby is ahead of the cut-off one", async () => {
          aheadLsn = (await cluster.status(ahead))?.postgres.observation?.position?.lsn ?? 0;
          behindLsn = (await cluster.status(behind))?.postgres.observation?.position?.lsn ?? 0;
          return behindLsn > 0 && aheadLsn > behindLsn;
        }, 10_000);
        await cluster.killNode(primary);
        const killedAtMs = performance.now();
        let promoted = -1;
        await cluster.waitFor("a surviving standby is promoted", async () => {
          promoted = (await cluster.primaryIndex([primary])) ?? -1;
          return promoted >= 0;
        }, FAILOVER_TIMEOUT_MS);
        console.log(
          `positions before the kill: ${cluster.node(ahead).id} ${aheadLsn}, ` +
            `${cluster.node(behind).id} ${behindLsn}; promoted ${cluster.node(promoted).id} ` +
            `${(performance.now() - killedAtMs).toFixed(0)} ms after the kill`,
        );
        assertEquals(
          cluster.node(promoted).id,
          cluster.node(ahead).id,
          "the standby with the highest WAL position is the one promoted",
        );
        const { probes } = await stopLoad(load);
        assertSingleWriter(probes);
      } catch (error) {
        await stopLoad(load).catch(() => {});
        throw error;
      }
    });
  },
});

Deno.test({
  name: "quorum-sync: three SIGKILLs of successive primaries lose no acknowledged write",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "repeated-failover" }, async (cluster) => {
      const load = await startLoad(cluster);
      try {
        for (let round = 0; round < FAILOVER_ROUNDS; round++) {
          const primary = await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
          await waitForWrites(cluster, load, WRITES_PER_PHASE * (round + 1));
          await cluster.killNode(primary);
          const killedAtMs = performance.now();
          await waitForWrites(cluster, load, WRITES_PER_PHASE, {
            sinceMs: killedAtMs,
            timeoutMs: FAILOVER_TIMEOUT_MS,
          });
          cluster.startAgent(primary);
        }
        await finish(cluster, load);
      } catch (error) {
        await stopLoad(load).catch(() => {});
        throw error;
      }
    });
  },
});

Deno.test({
  name: "a rolling graceful restart of every node keeps a writable primary and loses nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "rolling-restart" }, async (cluster) => {
      const load = await startLoad(cluster);
      try {
        for (const node of cluster.nodes) {
          await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
          await cluster.stopAgent(node.index);
          cluster.startAgent(node.index);
        }
        await finish(cluster, load);
        const gapMs = longestAcknowledgementGapMs(load.writer.history.records);
        console.log(
          `rolling restart: longest stretch without an acknowledged write ${gapMs.toFixed(0)} ms`,
        );
        assert(
          gapMs < MAX_ROLLING_GAP_MS,
          `no acknowledged write for ${gapMs.toFixed(0)} ms during the rolling restart`,
        );
      } catch (error) {
        await stopLoad(load).catch(() => {});
        throw error;
      }
    });
  },
});
