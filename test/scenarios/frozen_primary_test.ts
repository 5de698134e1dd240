// Proves S3, S2 and L1 against stopped processes (MISSION: "hung agent fenced by the watchdog",
// chaos freezes, "a healthy primary is not deposed by a short stall"):
// - SIGSTOP of only the primary's agent: the watchdog kills its Postgres before any other node
//   takes a write; after SIGCONT the node rejoins as a standby;
// - SIGSTOP of the whole primary host, thawed once a new primary exists: the old primary
//   acknowledges no write after the new one took one;
// - a 500 ms SIGSTOP of a healthy primary's agent causes no election at all.
// The first two run in asynchronous mode, where no remote standby holds a commit back: only the
// watchdog's kill and its commit gate (the local synchronous standby that acknowledges WAL only
// while the lease runs) stop the old primary. In quorum mode commits also wait for a standby.
import { assert, assertEquals } from "../harness/test_assertions.ts";
import { type ScenarioCluster, withScenarioCluster } from "./scenario_cluster.ts";
import {
  assertNoAcknowledgedWriteLost,
  assertSingleWriter,
  probeSuccesses,
  relaxAfterFault,
  type ScenarioLoad,
  startLoad,
  stopLoad,
  waitForNewPrimary,
  waitForWrites,
  waitRejoined,
  WRITES_PER_PHASE,
} from "./scenario_load.ts";

/** The stall the leader must ride out: well under the 800 ms minimum election timeout. */
const SHORT_STALL_MS = 500;
/** How long after the stall the cluster is watched for a (wrong) election. */
const AFTER_STALL_WATCH_MS = 3_000;

/** Heals the fault with `resume`, waits for the old primary to follow the new one, checks. */
async function resumeAndCheck(
  cluster: ScenarioCluster,
  load: ScenarioLoad,
  oldPrimary: number,
  newPrimary: number,
  faultMs: number,
  resume: () => Promise<void> | void,
): Promise<void> {
  const oldId = cluster.node(oldPrimary).id;
  const newId = cluster.node(newPrimary).id;
  await resume();
  await waitRejoined(cluster, oldPrimary, newPrimary);
  await waitForWrites(cluster, load, WRITES_PER_PHASE, { sinceMs: faultMs, node: newId });
  const { probes, writes } = await stopLoad(load);
  assertSingleWriter(probes);
  const standbys = cluster.nodes.map((n) => n.index).filter((i) => i !== newPrimary);
  const durable = relaxAfterFault(writes, oldId, faultMs);
  console.log(await assertNoAcknowledgedWriteLost(cluster, durable, newPrimary, standbys));
}

Deno.test({
  name: "a hung agent (SIGSTOP) is fenced by the watchdog before a new primary takes writes",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const options = { nodes: 3, name: "hung-agent", syncMode: "asynchronous" } as const;
    await withScenarioCluster(options, async (cluster) => {
      const oldPrimary = await cluster.waitHealthy(30_000);
      const oldId = cluster.node(oldPrimary).id;
      const agentPid = cluster.agentPid(oldPrimary);
      const load = await startLoad(cluster);
      try {
        await waitForWrites(cluster, load, WRITES_PER_PHASE);
        const frozenAtMs = performance.now();
        cluster.network.freeze(agentPid); // the agent only: Postgres and the watchdog run on
        const { index: newPrimary, firstWriteMs } = await waitForNewPrimary(
          cluster,
          load,
          oldPrimary,
          frozenAtMs,
        );
        const oldWrites = probeSuccesses(load.prober.records, oldId, 0);
        const lastOldEndMs = Math.max(...oldWrites.map((r) => r.endMs));
        console.log(
          `agent of ${oldId} frozen; its Postgres took its last write ` +
            `${(lastOldEndMs - frozenAtMs).toFixed(0)} ms later, the new primary its first ` +
            `${(firstWriteMs - frozenAtMs).toFixed(0)} ms later`,
        );
        assert(
          lastOldEndMs < firstWriteMs,
          `the frozen agent's Postgres wrote until ${lastOldEndMs.toFixed(0)} ms, after the new ` +
            `primary's first write at ${firstWriteMs.toFixed(0)} ms`,
        );
        await resumeAndCheck(cluster, load, oldPrimary, newPrimary, frozenAtMs, () => {
          cluster.network.thaw(agentPid);
        });
      } catch (error) {
        await stopLoad(load).catch(() => {});
        throw error;
      }
    });
  },
});

async function frozenHostScenario(syncMode: "quorum" | "asynchronous"): Promise<void> {
  const options = { nodes: 3, name: `frozen-host-${syncMode}`, syncMode } as const;
  await withScenarioCluster(options, async (cluster) => {
    const oldPrimary = await cluster.waitHealthy(30_000);
    const oldId = cluster.node(oldPrimary).id;
    const load = await startLoad(cluster);
    try {
      await waitForWrites(cluster, load, WRITES_PER_PHASE);
      const frozenAtMs = performance.now();
      await cluster.network.freezeHost(oldPrimary);
      const { index: newPrimary, firstWriteMs } = await waitForNewPrimary(
        cluster,
        load,
        oldPrimary,
        frozenAtMs,
      );
      // Thaw while the probers keep knocking on the old primary: its backends, its agent and
      // its watchdog all resume at once, and none of them may let a write through.
      await resumeAndCheck(cluster, load, oldPrimary, newPrimary, frozenAtMs, async () => {
        await cluster.network.thawHost(oldPrimary);
      });
      const late = probeSuccesses(load.prober.records, oldId, 0)
        .filter((r) => r.endMs > firstWriteMs);
      assertEquals(late.length, 0, `${oldId} acknowledged probe writes after the new primary`);
    } catch (error) {
      await stopLoad(load).catch(() => {});
      throw error;
    }
  });
}

Deno.test({
  name: "quorum mode: a frozen primary host, thawed after a new primary exists, acks no write",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => frozenHostScenario("quorum"),
});

Deno.test({
  name: "asynchronous mode: a frozen primary host, thawed after a new primary, acks no write",
  // Finding F1: before the commit gate, the thawed backends committed two writes on the old
  // timeline before the (also thawed) watchdog killed them.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => frozenHostScenario("asynchronous"),
});

Deno.test({
  name: "a 500 ms stall of a healthy primary's agent causes no failover",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "short-stall" }, async (cluster) => {
      const primary = await cluster.waitHealthy(30_000);
      const before = await cluster.status(primary);
      assert(before !== null, "the primary answers /status");
      const agentPid = cluster.agentPid(primary);
      cluster.network.freeze(agentPid);
      try {
        await new Promise((resolve) => setTimeout(resolve, SHORT_STALL_MS));
      } finally {
        cluster.network.thaw(agentPid);
      }
      // Watching for an absence needs a fixed window: an election would happen within it.
      await new Promise((resolve) => setTimeout(resolve, AFTER_STALL_WATCH_MS));
      const after = await cluster.statuses();
      for (const status of after) {
        assert(status !== null, "every node answers /status after the stall");
        assertEquals(
          { leader: status.raft.leader, term: status.raft.term },
          { leader: before.nodeId, term: before.raft.term },
          `${status.nodeId} saw a new leader or term after a ${SHORT_STALL_MS} ms stall`,
        );
      }
      assertEquals(await cluster.waitHealthy(10_000), primary, "the same node is primary");
    });
  },
});
