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
  acknowledgedSince,
  assertNoAcknowledgedWriteLost,
  assertSingleWriter,
  probeSuccesses,
  startLoad,
  stopLoad,
} from "./scenario_load.ts";

/** The product promises failover well under this; generous for a loaded 2-core CI machine. */
const FAILOVER_TIMEOUT_MS = 20_000;
/** A cut-off primary must report itself non-writable within this (lease plus margins). */
const FENCE_TIMEOUT_MS = 5_000;
/** Rejoin by pg_rewind after heal. */
const REJOIN_TIMEOUT_MS = 60_000;
/** Writes acknowledged before and after the fault, so the history is not vacuous. */
const WRITES_PER_PHASE = 20;

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
    await cluster.waitFor(
      `${WRITES_PER_PHASE} writes acknowledged`,
      () => acknowledgedSince(load.writer.history.records, 0) >= WRITES_PER_PHASE,
      30_000,
    );
    const cutAtMs = performance.now();
    await cut(oldPrimary, others);

    let newPrimary = -1;
    await cluster.waitFor("a new primary on the majority side takes probe writes", async () => {
      newPrimary = (await cluster.primaryIndex([oldPrimary])) ?? -1;
      return newPrimary >= 0 &&
        probeSuccesses(load.prober.records, cluster.node(newPrimary).id, cutAtMs).length > 0;
    }, FAILOVER_TIMEOUT_MS);
    const newId = cluster.node(newPrimary).id;
    const firstNewWriteMs = Math.min(
      ...probeSuccesses(load.prober.records, newId, cutAtMs).map((r) => r.startMs),
    );
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
    await cluster.waitFor(
      `${WRITES_PER_PHASE} writes acknowledged by ${newId}`,
      () => acknowledgedSince(load.writer.history.records, cutAtMs, newId) >= WRITES_PER_PHASE,
      30_000,
    );
    const lateOld = probeSuccesses(load.prober.records, oldId, firstNewWriteMs);
    assert(
      lateOld.length === 0,
      `${oldId} acknowledged ${lateOld.length} probe writes after ${newId} took writes`,
    );

    await cluster.network.heal();
    await cluster.waitFor(`${oldId} rejoins as a standby of ${newId}`, async () => {
      const status = await cluster.status(oldPrimary);
      const observation = status?.postgres.observation;
      return observation?.status === "running" && observation.inRecovery &&
        status?.raft.leader === newId;
    }, REJOIN_TIMEOUT_MS);
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
    const durable = writes.map((w) =>
      asynchronous && w.node === oldId && w.startMs >= cutAtMs && w.outcome === "acknowledged"
        ? { ...w, outcome: "unknown" as const }
        : w
    );
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
