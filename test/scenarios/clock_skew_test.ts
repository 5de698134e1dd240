// Clock skew on the multi-host cluster (libfaketime in the agents' processes): one standby's
// wall clock is an hour ahead, another's monotonic clock runs 0.5 % fast (inside the
// configured 1 % drift bound). hactl times leases and elections with the monotonic clock, so
// a power cut of the primary gives one new primary, never two writers at once (the prober
// writes to every node), and every acknowledged write survives.
import { assert } from "../harness/test_assertions.ts";
import type { ClockSkewOptions } from "../harness/clock_skew.ts";
import { withScenarioCluster } from "./scenario_cluster.ts";
import { startLoad, stopAndCheckLoad, waitForWrites, WRITES_PER_PHASE } from "./scenario_load.ts";

/** Failover under skewed clocks, with bounds kept generous (the skewed nodes elect). */
const FAILOVER_TIMEOUT_MS = 60_000;

/** Node 2: wall clock +1 h. Node 3: monotonic clock 0.5 % fast. Node 1: true time. */
function skewOf(index: number): ClockSkewOptions | null {
  if (index === 1) return { offsetMs: 3_600_000 };
  if (index === 2) return { rate: 1.005, fakeMonotonic: true };
  return null;
}

Deno.test({
  name: "skewed wall clocks and a slightly fast monotonic clock keep one writer and lose nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster(
      { nodes: 3, name: "clock-skew", clockSkew: skewOf },
      async (cluster) => {
        const oldPrimary = await cluster.waitHealthy(30_000);
        // The skew is real: node 2's agent started "an hour from now" by its own wall clock.
        const started = Date.parse((await cluster.status(1))?.startedAtIso ?? "");
        assert(started - Date.now() > 50 * 60_000, `node2's wall clock is not ahead: ${started}`);
        const load = await startLoad(cluster);
        try {
          await waitForWrites(cluster, load, WRITES_PER_PHASE);
          const cutAtMs = performance.now();
          await cluster.killNode(oldPrimary);
          const survivors = cluster.nodes.map((n) => n.index).filter((i) => i !== oldPrimary);
          const newPrimary = await cluster.waitHealthy(FAILOVER_TIMEOUT_MS, survivors);
          assert(newPrimary !== oldPrimary, "a new primary");
          await waitForWrites(cluster, load, WRITES_PER_PHASE, {
            sinceMs: cutAtMs,
            timeoutMs: FAILOVER_TIMEOUT_MS,
          });
        } finally {
          const survivors = cluster.nodes.map((n) => n.index).filter((i) => i !== oldPrimary);
          console.log(await stopAndCheckLoad(cluster, load, FAILOVER_TIMEOUT_MS, survivors));
        }
      },
    );
  },
});
