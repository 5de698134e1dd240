/**
 * Clock skew under faketime: one standby's wall clock is an hour ahead and another's monotonic
 * clock runs 0.5 % fast (inside the configured 1 % drift bound). hactl times everything with
 * the monotonic clock, so the cluster behaves as without skew: a SIGKILL of the primary gives
 * one new writable primary, never two, and every acknowledged row survives.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { clockSkew } from "../harness/clock_skew.ts";

Deno.test({
  name: "skewed wall clocks and a slightly fast monotonic clock keep one writer and lose nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-skew-test-" });
    const cluster = await LocalCluster.create({ directory, nodes: 3, basePort: 24000 });
    let failed = true;
    try {
      await cluster.start("node1", true);
      await cluster.waitFor(
        "node1 primary",
        async () => (await cluster.primary()) === "node1",
        180_000,
      );
      await cluster.start("node2", false, {
        ...clockSkew({ offsetMs: 3_600_000 }).env,
        FAKETIME_DISABLE_SHM: "1",
      });
      await cluster.start("node3", false, {
        ...clockSkew({ rate: 1.005, fakeMonotonic: true }).env,
        FAKETIME_DISABLE_SHM: "1",
      });
      await cluster.waitUntilHealthy(180_000);
      const sql = cluster.superuser("node1");
      await sql.unsafe(
        "CREATE ROLE app LOGIN PASSWORD 'app'; CREATE TABLE rows (id int PRIMARY KEY); GRANT ALL ON rows TO app",
      );
      await sql.end({ timeout: 5 });
      const client = cluster.primaryClient("app", "app");
      const acknowledged: number[] = [];
      let next = 1;
      const write = async () => {
        const id = next++;
        await client.run((db) => db`INSERT INTO rows VALUES (${id})`);
        acknowledged.push(id);
      };
      for (let count = 0; count < 20; count++) await write();
      await cluster.kill("node1");
      const deadline = performance.now() + 60_000;
      let writers = 0;
      while (acknowledged.length < 40 && performance.now() < deadline) {
        await write().catch(() => new Promise((resolve) => setTimeout(resolve, 50)));
        const statuses = await cluster.statuses();
        writers = Math.max(
          writers,
          [...statuses.values()].filter((status) => status?.raft.writeAuthority).length,
        );
      }
      await client.close();
      assert(acknowledged.length >= 40, "writes resumed after the failover");
      assert(writers <= 1, `at most one node held write authority at a time (saw ${writers})`);
      const primary = await cluster.primary();
      assert(primary !== null && primary !== "node1");
      const check = cluster.superuser(primary);
      const rows = await check<{ id: number }[]>`SELECT id FROM rows`;
      await check.end({ timeout: 5 });
      const present = new Set(rows.map((row) => Number(row.id)));
      assertEquals(acknowledged.filter((id) => !present.has(id)), []);
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`clock skew test failed; logs kept in ${directory}`);
    }
  },
});
