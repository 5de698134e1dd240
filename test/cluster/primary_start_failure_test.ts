/**
 * A leader whose own Postgres cannot start hands leadership over (the chaos suite's seed
 * 5012: the leader kept it forever and the cluster had no writable primary). Proves on a real
 * 3-node cluster: the primary's postmaster is stopped immediately (SIGQUIT, what
 * `pg_ctl stop -m immediate` sends) after an invalid setting was written into its
 * postgresql.auto.conf, so every start the agent tries fails at once with a FATAL error (a
 * setting the agent never writes, so it does not repair it); a standby becomes the writable
 * primary within a bound, every acknowledged row is on it, and once the setting is removed
 * the old primary rejoins as a standby. First, the same stop without the setting: the agent
 * restarts its primary, with no hand-over (the bound exceeds a healthy restart).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LocalCluster, readPostmasterPid } from "../../src/demo/local_cluster.ts";
import { assertNoEscapedErrors, testHactlCommand } from "./hactl_process.ts";

const STARTUP_MS = 180_000;
/** Ports 24000-24303: no other test uses them. */
const BASE_PORT = 24_000;
/**
 * Most time from the stop to the first write on a new primary: the hand-over bound (8 s,
 * PRIMARY_START_TIMEOUT_MS), a transfer that may time out (10 s) and an election, with room
 * for a loaded host.
 */
const TAKEOVER_BOUND_MS = 40_000;
/** The line that makes every start of the old primary fail. */
const BROKEN_SETTING = "shared_buffers = 'not-a-size'";

async function query<T>(cluster: LocalCluster, id: string, text: string): Promise<T[]> {
  const sql = cluster.superuser(id);
  try {
    return await sql.unsafe(text) as unknown as T[];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function logOf(cluster: LocalCluster, id: string): Promise<string> {
  return await Deno.readTextFile(cluster.node(id).logPath).catch(() => "");
}

/**
 * Writes the invalid setting, then stops the postmaster as `pg_ctl stop -m immediate` does,
 * and returns once it is gone.
 */
async function breakPostgres(cluster: LocalCluster, id: string): Promise<void> {
  const path = `${cluster.node(id).dataDirectory}/postgresql.auto.conf`;
  await Deno.writeTextFile(path, `${BROKEN_SETTING}\n`, { append: true });
  await stopImmediately(cluster, id);
}

/** Stops the postmaster as `pg_ctl stop -m immediate` does; returns once it is gone. */
async function stopImmediately(cluster: LocalCluster, id: string): Promise<void> {
  const pid = await readPostmasterPid(cluster.node(id).dataDirectory);
  assert(pid !== null, `${id}'s postmaster runs`);
  Deno.kill(pid, "SIGQUIT");
  // The shutdown is asynchronous: a write sent now could still commit on the old primary.
  const deadline = performance.now() + 10_000;
  while (await Deno.stat(`/proc/${pid}`).then(() => true, () => false)) {
    assert(performance.now() < deadline, `${id}'s postmaster ${pid} did not exit`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name: "a primary whose Postgres cannot start hands over to a standby, losing no row",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-start-failure-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: BASE_PORT,
      hactlCommand: testHactlCommand,
    });
    let failed = true;
    const stage = async (name: string, body: () => Promise<void>) => {
      if (!await t.step(name, body)) throw new Error(`stage failed: ${name}`);
    };
    try {
      let primary = "";
      await stage("bootstrap: a primary and two streaming standby voters", async () => {
        primary = await cluster.startAll(STARTUP_MS);
        await query(cluster, primary, "CREATE TABLE rows_written (id int PRIMARY KEY)");
        await query(cluster, primary, "CREATE ROLE app LOGIN PASSWORD 'app-secret'");
        await query(cluster, primary, "GRANT SELECT, INSERT ON rows_written TO app");
      });

      const acknowledged: number[] = [];
      await stage("a crashed primary that can start is restarted, not handed over", async () => {
        // The bound must exceed a healthy restart (src/core/config.ts): measured here.
        const writer = cluster.primaryClient("app", "app-secret");
        try {
          await stopImmediately(cluster, primary);
          const stoppedAt = performance.now();
          let restartedMs: number | null = null;
          for (let id = 1_000; restartedMs === null; id++) {
            assert(performance.now() - stoppedAt < TAKEOVER_BOUND_MS, "no write after the restart");
            try {
              await writer.run((sql) => sql`INSERT INTO rows_written VALUES (${id})`);
              restartedMs = performance.now() - stoppedAt;
              acknowledged.push(id);
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }
          console.log(`healthy restart: first write ${Math.round(restartedMs)} ms after the stop`);
          // Its status follows at the agent's next read.
          await cluster.waitFor(
            `${primary} primary again`,
            async () => (await cluster.primary()) === primary,
            10_000,
          );
          const log = await logOf(cluster, primary);
          assert(!log.includes("has not run as a primary"), "no hand-over for a healthy restart");
        } finally {
          await writer.close();
        }
      });

      let newPrimary = "";
      await stage("the primary cannot start: a standby becomes the writable primary", async () => {
        const writer = cluster.primaryClient("app", "app-secret");
        try {
          for (let id = 1; id <= 100; id++) {
            await writer.run((sql) => sql`INSERT INTO rows_written VALUES (${id})`);
            acknowledged.push(id);
          }
          await breakPostgres(cluster, primary);
          const stoppedAt = performance.now();
          // A failed INSERT may still have committed (a session cut while its commit waited):
          // each id is tried once, and only the ones the client saw succeed are counted.
          let next = 101;
          let firstWriteMs: number | null = null;
          while (performance.now() - stoppedAt < TAKEOVER_BOUND_MS && acknowledged.length < 110) {
            const id = next++;
            try {
              await writer.run((sql) => sql`INSERT INTO rows_written VALUES (${id})`);
              firstWriteMs ??= performance.now() - stoppedAt;
              acknowledged.push(id);
            } catch {
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }
          assert(firstWriteMs !== null, `no write succeeded within ${TAKEOVER_BOUND_MS} ms`);
          console.log(
            `first write on the new primary ${Math.round(firstWriteMs)} ms after the stop`,
          );
          assert(acknowledged.length >= 110, "writes continue on the new primary");
        } finally {
          await writer.close();
        }
        newPrimary = (await cluster.primary()) ?? "";
        assert(newPrimary !== "" && newPrimary !== primary, `new primary: ${newPrimary}`);
        const rows = await query<{ id: number }>(
          cluster,
          newPrimary,
          "SELECT id FROM rows_written",
        );
        const present = new Set(rows.map((row) => Number(row.id)));
        assertEquals(acknowledged.filter((id) => !present.has(id)), [], "no acknowledged row lost");
        const log = await logOf(cluster, primary);
        const handOver = log.split("\n").find((line) => line.includes("has not run as a primary"));
        assert(handOver !== undefined, "the old leader said why it handed over");
        console.log(handOver);
        assert(log.includes("not-a-size"), "its starts failed on the invalid setting");
      });

      await stage("with the setting removed, the old primary rejoins as a standby", async () => {
        const path = `${cluster.node(primary).dataDirectory}/postgresql.auto.conf`;
        const text = await Deno.readTextFile(path);
        await Deno.writeTextFile(
          path,
          text.split("\n").filter((line) => line !== BROKEN_SETTING).join("\n"),
        );
        await cluster.waitFor(`${primary} streaming from ${newPrimary}`, async () => {
          const status = await cluster.status(primary);
          const observation = status?.postgres.observation;
          return observation?.status === "running" && observation.inRecovery &&
            status?.raft.leader === newPrimary;
        }, STARTUP_MS);
        assertEquals(await cluster.primary(), newPrimary);
      });
      await assertNoEscapedErrors(cluster.nodes.map((node) => node.logPath));
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`cluster test failed; logs kept in ${directory}`);
    }
  },
});
