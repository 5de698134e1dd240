// An operator's switchover right after a failover (MISSION: planned, lossless switchover):
// the primary is killed, and as soon as the new one accepts writes `hactl switchover` is run
// without a target. The other standby is then still switching to the new primary's timeline.
// The switchover must hand over to it, not time out: before the fix, the new primary stopped
// its Postgres for the transfer at once, the standby could never fetch the new timeline, the
// request failed (HTTP 504 after 10 s) and the cluster went 11.5 s without a write.
import { assert } from "../harness/test_assertions.ts";
import { withScenarioCluster } from "./scenario_cluster.ts";
import {
  assertNoAcknowledgedWriteLost,
  assertSingleWriter,
  FAILOVER_TIMEOUT_MS,
  REJOIN_TIMEOUT_MS,
  startLoad,
  stopLoad,
  waitForWrites,
} from "./scenario_load.ts";
import type { WriteRecord } from "../harness/write_history.ts";

/** Longest time between two acknowledgements that end after `sinceMs`. */
function longestGapSinceMs(writes: readonly WriteRecord[], sinceMs: number): number {
  const ends = writes.filter((w) => w.outcome === "acknowledged" && (w.endMs ?? 0) >= sinceMs)
    .map((w) => w.endMs ?? 0).sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < ends.length; i++) longest = Math.max(longest, ends[i]! - ends[i - 1]!);
  return longest;
}

Deno.test({
  name: "a switchover right after a failover hands over to the standby still switching timelines",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "switchover-after-failover" }, async (cluster) => {
      const load = await startLoad(cluster);
      try {
        const first = await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
        await cluster.killNode(first);
        let promoted = -1;
        await cluster.waitFor("a surviving standby is promoted", async () => {
          promoted = (await cluster.primaryIndex([first])) ?? -1;
          return promoted >= 0;
        }, FAILOVER_TIMEOUT_MS);
        const requestedMs = performance.now();
        const config = cluster.node(promoted).configPath;
        const answer = await cluster.hactl(promoted, ["switchover", "--config", config]);
        const answeredMs = performance.now() - requestedMs;
        assert(answer.success, `hactl switchover failed: ${answer.stdout}${answer.stderr}`);
        const third = cluster.nodes.map((n) => n.index).find((i) => i !== first && i !== promoted)!;
        await cluster.waitFor(
          `${cluster.node(third).id} takes over`,
          async () => (await cluster.primaryIndex([first, promoted])) === third,
          FAILOVER_TIMEOUT_MS,
        );
        const movedMs = performance.now() - requestedMs;
        await waitForWrites(cluster, load, 20, { sinceMs: performance.now() });
        const { probes, writes } = await stopLoad(load);
        assertSingleWriter(probes);
        console.log(await assertNoAcknowledgedWriteLost(cluster, writes, third, [promoted]));
        console.log(
          `switchover accepted after ${answeredMs.toFixed(0)} ms, ${cluster.node(third).id} ` +
            `primary after ${movedMs.toFixed(0)} ms; longest stretch without an acknowledged ` +
            `write since the request ${longestGapSinceMs(writes, requestedMs).toFixed(0)} ms`,
        );
      } catch (error) {
        await stopLoad(load).catch(() => {});
        throw error;
      }
    });
  },
});
