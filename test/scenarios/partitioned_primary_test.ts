// Proves S1, S2 and D1 when the network cuts a running primary off (MISSION: "network-partitioned
// primary fences itself", "minority primary fences itself"): the cut-off primary stops
// accepting writes within a few seconds, a new primary on the majority side takes writes, at no
// instant do two nodes accept writes, no acknowledged write is lost, and once the network heals
// the old primary rejoins as a standby of the new one.
import { assert } from "../harness/test_assertions.ts";
import {
  isWritablePrimary,
  type ScenarioCluster,
  withScenarioCluster,
} from "./scenario_cluster.ts";
import {
  assertNoAcknowledgedWriteLost,
  assertSingleWriter,
  probeSuccesses,
  relaxAfterFault,
  startLoad,
  stopLoad,
  waitForNewPrimary,
  waitForWrites,
  waitRejoined,
  WRITES_PER_PHASE,
} from "./scenario_load.ts";

/** A cut-off primary must report itself non-writable within this (lease plus margins). */
const FENCE_TIMEOUT_MS = 5_000;

async function cutOffPrimaryScenario(
  cluster: ScenarioCluster,
  cut: (oldPrimary: number, others: number[]) => Promise<void>,
  asynchronous: boolean,
): Promise<void> {
  const oldPrimary = await cluster.waitHealthy(30_000);
  const others = cluster.nodes.map((n) => n.index).filter((i) => i !== oldPrimary);
  const oldId = cluster.node(oldPrimary).id;
  const load = await startLoad(cluster);
  let stopped = false;
  try {
    await waitForWrites(cluster, load, WRITES_PER_PHASE);
    const cutAtMs = performance.now();
    await cut(oldPrimary, others);

    const { index: newPrimary, firstWriteMs: firstNewWriteMs } = await waitForNewPrimary(
      cluster,
      load,
      oldPrimary,
      cutAtMs,
    );
    const newId = cluster.node(newPrimary).id;
    console.log(
      `${oldId} cut off; ${newId} took its first write after ` +
        `${(firstNewWriteMs - cutAtMs).toFixed(0)} ms`,
    );

    // The cut-off node knows it lost its lease: its own API (reached inside its namespace)
    // says it is no writable primary any more.
    await cluster.waitFor(`${oldId} reports it is no writable primary`, async () => {
      const status = await cluster.status(oldPrimary);
      return status !== null && !isWritablePrimary(status);
    }, FENCE_TIMEOUT_MS);
    await waitForWrites(cluster, load, WRITES_PER_PHASE, { sinceMs: cutAtMs, node: newId });
    const lateOld = probeSuccesses(load.prober.records, oldId, firstNewWriteMs);
    assert(
      lateOld.length === 0,
      `${oldId} acknowledged ${lateOld.length} probe writes after ${newId} took writes`,
    );

    await cluster.network.heal();
    await waitRejoined(cluster, oldPrimary, newPrimary);
    // A primary is never turned into a standby without a rewind (R1).
    const oldLog = await Deno.readTextFile(cluster.node(oldPrimary).logPath);
    assert(
      oldLog.includes(`rejoined ${newId} by pg_rewind`),
      `${oldId} did not rejoin by pg_rewind`,
    );
    assert((await cluster.waitHealthy(30_000)) === newPrimary, "the new primary stays primary");
    const { probes, writes } = await stopLoad(load);
    stopped = true;
    assertSingleWriter(probes);
    const standbys = cluster.nodes.map((n) => n.index).filter((i) => i !== newPrimary);
    // Asynchronous mode may lose what the old primary acknowledged after the cut and before its
    // fence (no standby received it): those count as unknown there. Quorum mode loses nothing.
    const durable = asynchronous ? relaxAfterFault(writes, oldId, cutAtMs) : writes;
    console.log(await assertNoAcknowledgedWriteLost(cluster, durable, newPrimary, standbys));
  } finally {
    if (!stopped) await stopLoad(load);
  }
}

Deno.test({
  name: "a primary isolated two-way fences itself, a new primary takes writes, it rejoins",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "isolated-primary" }, async (cluster) => {
      await cutOffPrimaryScenario(cluster, (old) => cluster.network.isolate(old), false);
    });
  },
});

Deno.test({
  name: "a minority primary whose packets to the others are dropped (one-way) fences itself",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // Asynchronous mode: nothing but the fence stops the old primary from acknowledging writes
    // (in quorum mode the commit would also wait for a standby), so this checks the fence alone.
    await withScenarioCluster(
      { nodes: 3, name: "one-way-primary", syncMode: "asynchronous" },
      async (cluster) => {
        await cutOffPrimaryScenario(cluster, async (old, others) => {
          for (const other of others) await cluster.network.partitionOneWay(old, other);
        }, true);
      },
    );
  },
});
