// An operator's switchover to a standby that does not stream (MISSION: planned, lossless
// switchover). A transfer stops the primary's Postgres at once, so a target without a WAL
// sender can never catch up: the transfer times out and writes stop until then.
// - Right after a failover, `hactl switchover` (no target) must wait for the other standby,
//   still switching to the new timeline, and hand over to it. Before the fix the request
//   failed (HTTP 504 after 10 s, or 409 "timed out") with 11.5 s without a write.
// - To a standby whose replication connection is cut, `hactl switchover --to` must be refused
//   at once with the reason, and writes must go on.
// - A planned stop of the primary's agent when no standby has a WAL sender must not hold the
//   stop for a transfer that cannot succeed (before: the stop took 8.05 s, 3 s of wait and
//   the transfer's 5 s, and the new primary came 9.4-9.6 s after it began).
import { assert } from "../harness/test_assertions.ts";
import { POSTGRES_PORT, type ScenarioCluster, withScenarioCluster } from "./scenario_cluster.ts";
import {
  assertNoAcknowledgedWriteLost,
  assertSingleWriter,
  FAILOVER_TIMEOUT_MS,
  longestAcknowledgementGapMs,
  REJOIN_TIMEOUT_MS,
  startLoad,
  stopLoad,
  waitForWrites,
} from "./scenario_load.ts";

/**
 * Cuts replication between `primary` and `standbys` (the Postgres port only: Raft still
 * reaches them, so they stay healthy voters), ends their WAL senders and waits until none is
 * left.
 */
async function cutReplication(
  cluster: ScenarioCluster,
  primary: number,
  standbys: readonly number[],
): Promise<void> {
  await cluster.network.partitionPort([primary], standbys, POSTGRES_PORT);
  const names = standbys.map((index) => `'${cluster.node(index).id}'`).join(", ");
  const senders = `SELECT pid FROM pg_stat_replication WHERE application_name IN (${names})`;
  await cluster.sql(primary, `SELECT pg_terminate_backend(pid) FROM (${senders}) s`);
  await cluster.waitFor(`no WAL sender for ${names}`, async () => {
    return (await cluster.sql(primary, senders)).length === 0;
  }, 30_000);
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
            `write since the request ${
              longestAcknowledgementGapMs(writes, requestedMs).toFixed(0)
            } ms`,
        );
      } catch (error) {
        await stopLoad(load).catch(() => {});
        throw error;
      }
    });
  },
});

Deno.test({
  name: "a switchover to a standby whose replication is cut off is refused, and writes go on",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "switchover-cut-off" }, async (cluster) => {
      const load = await startLoad(cluster);
      try {
        const primary = await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
        const target = cluster.nodes.map((n) => n.index).find((i) => i !== primary)!;
        const name = cluster.node(target).id;
        await cutReplication(cluster, primary, [target]);
        const requestedMs = performance.now();
        const config = cluster.node(primary).configPath;
        const answer = await cluster.hactl(primary, [
          "switchover",
          "--to",
          name,
          "--config",
          config,
        ]);
        const answeredMs = performance.now() - requestedMs;
        const output = answer.stdout + answer.stderr;
        assert(!answer.success, `the switchover to the cut-off ${name} was accepted: ${output}`);
        assert(
          output.includes(`${name} does not stream from this primary`),
          `the refusal does not say why: ${output}`,
        );
        await waitForWrites(cluster, load, 20, { sinceMs: performance.now() });
        assert(
          (await cluster.primaryIndex()) === primary,
          "the primary changed although the switchover was refused",
        );
        await cluster.network.heal();
        await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
        const { probes, writes } = await stopLoad(load);
        assertSingleWriter(probes);
        const others = cluster.nodes.map((n) => n.index).filter((i) => i !== primary);
        console.log(await assertNoAcknowledgedWriteLost(cluster, writes, primary, others));
        console.log(
          `switchover to cut-off ${name} refused after ${answeredMs.toFixed(0)} ms ` +
            `(${output.trim()}); longest stretch without an acknowledged write since the ` +
            `request ${longestAcknowledgementGapMs(writes, requestedMs).toFixed(0)} ms`,
        );
      } catch (error) {
        await stopLoad(load).catch(() => {});
        throw error;
      }
    });
  },
});

Deno.test({
  name: "a planned stop with no standby streaming stops without trying a hand-over",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "stop-without-stream" }, async (cluster) => {
      const primary = await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
      const others = cluster.nodes.map((n) => n.index).filter((i) => i !== primary);
      await cutReplication(cluster, primary, others);
      const stopBeganMs = performance.now();
      await cluster.stopAgent(primary);
      const stoppedMs = performance.now() - stopBeganMs;
      await cluster.waitFor(
        "a standby is promoted",
        async () => (await cluster.primaryIndex([primary])) !== null,
        FAILOVER_TIMEOUT_MS,
      );
      const log = await Deno.readTextFile(cluster.node(primary).logPath);
      assert(
        log.includes("no handover: no standby that may lead streams from this primary"),
        "the stopping agent did not say why it handed nothing over",
      );
      assert(
        !log.includes("stopping the primary (fast) for the leadership transfer"),
        "the stopping agent tried a transfer that could not succeed",
      );
      console.log(
        `planned stop without a streaming standby: agent stopped after ` +
          `${stoppedMs.toFixed(0)} ms, new primary ` +
          `${(performance.now() - stopBeganMs).toFixed(0)} ms after the stop began`,
      );
    });
  },
});
