/**
 * Fencing on a real primary: a client that turns default_transaction_read_only off never gets
 * a commit acknowledged, existing client sessions are cut off, new client connections get in
 * but are read-only; the fence survives a restart; unfence restores writes (and is withdrawn
 * when the caller's decision changed); a hung server is fenced by stopping it (step 2); a
 * killed postmaster is detected.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { fence, isFenced, unfence } from "../../src/postgres/fence.ts";
import { observePostgres } from "../../src/postgres/observe.ts";
import { delay, Postmaster } from "../../src/postgres/postmaster.ts";
import { setSynchronousStandbyNames } from "../../src/postgres/roles.ts";
import { connectLocal, withLocalSql } from "../../src/postgres/sql_client.ts";
import { APP_PASSWORD, appClient, TEST_PORT_BASE, TestCluster, waitFor } from "./test_cluster.ts";

const READY_TIMEOUT_MS = 60_000;
/** How long a commit on a fenced primary is watched; it must not complete in this time. */
const COMMIT_WATCH_MS = 2_000;

/** Resolves "timeout" when `promise` does not settle within `ms`. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  return await Promise.race([
    promise.then(() => "committed", (error) => `error: ${error.message}`),
    delay(ms).then(() => "timeout"),
  ]);
}

/** A psql session over TCP as the app role with an INSERT in an open transaction. */
function openTransactionInPsql(binDirectory: string, port: number) {
  const child = new Deno.Command(`${binDirectory}/psql`, {
    args: ["-h", "127.0.0.1", "-p", String(port), "-U", "app", "-d", "postgres", "-X"],
    env: { PGPASSWORD: APP_PASSWORD, PGCONNECT_TIMEOUT: "5" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const started = writer.write(new TextEncoder().encode("BEGIN;\nINSERT INTO t VALUES (1);\n"));
  return {
    /** Sends COMMIT, closes psql and returns everything it printed. */
    async commit(): Promise<string> {
      await started;
      await writer.write(new TextEncoder().encode("COMMIT;\n"));
      await writer.close();
      const output = await Promise.race([child.output(), delay(COMMIT_WATCH_MS).then(() => null)]);
      if (output === null) {
        child.kill("SIGKILL");
        await child.status;
        return "timeout";
      }
      const decoder = new TextDecoder();
      return decoder.decode(output.stdout) + decoder.decode(output.stderr);
    },
  };
}

async function step(t: Deno.TestContext, name: string, fn: () => Promise<void>): Promise<void> {
  if (!await t.step(name, fn)) throw new Error(`step failed: ${name}`);
}

Deno.test({
  name: "fence and unfence a real primary; detect a dead postmaster",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await TestCluster.create();
    const node = cluster.settings("node-f", TEST_PORT_BASE + 11);
    try {
      let postmaster = await cluster.startPrimaryWithApp(node);

      await step(
        t,
        "a fenced primary acknowledges no commit, even after SET read_only off",
        async () => {
          const idle = appClient(node.port);
          await idle`SELECT 1`;
          // psql holds a transaction open across the fence (the driver's reserved connections
          // crash on a terminated backend, so a real client program is used here).
          const open = openTransactionInPsql(cluster.binaries.directory, node.port);
          await waitFor(
            "the open transaction",
            () =>
              withLocalSql(node, async (sql) =>
                (await sql`SELECT 1 FROM pg_stat_activity
                       WHERE state = 'idle in transaction' AND usename = 'app'`).length === 1),
          );
          const result = await fence(node, { deadlineMs: 10_000, postmaster });
          assertEquals(result.method, "sql");
          assert(result.terminatedBackends >= 2, `terminated ${result.terminatedBackends}`);
          const commit = await open.commit();
          assert(!/^COMMIT$/m.test(commit), `an open transaction committed when fenced: ${commit}`);
          const write = settleWithin(
            idle.begin(async (sql) => {
              await sql`SET default_transaction_read_only = off`;
              await sql`INSERT INTO t VALUES (2)`;
            }),
            COMMIT_WATCH_MS,
          );
          assert(await write !== "committed", "an existing session committed after the fence");
          // A new client gets in (libpq must be able to step over it) but is read-only.
          const fresh = appClient(node.port);
          const setting = await fresh`SELECT current_setting('default_transaction_read_only') AS v`;
          assertEquals(setting[0]!.v, "on");
          const refused = await assertRejects(fresh`INSERT INTO t VALUES (5)`, "a write passed");
          assert(/read-only transaction/.test(refused.message), refused.message);
          await Promise.all([idle, fresh].map((sql) => sql.end({ timeout: 5 })));
        },
      );

      await step(t, "a session that slips past the fence waits forever on its commit", async () => {
        // The local superuser keeps access (the agent needs it), so it stands for a client
        // that connected before the fence took hold: its commit is never acknowledged.
        const sql = connectLocal(node, { statementTimeoutMs: 0 });
        const transaction = sql.begin(async (transaction) => {
          await transaction`SET LOCAL default_transaction_read_only = off`;
          await transaction`SET LOCAL transaction_read_only = off`;
          await transaction`INSERT INTO t VALUES (3)`;
        });
        assertEquals(await settleWithin(transaction, COMMIT_WATCH_MS), "timeout");
        await withLocalSql(
          node,
          (admin) =>
            admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE wait_event = 'SyncRep'`,
        );
        // Closing the client with its query still pending upsets the driver: let it fail first.
        assert((await settleWithin(transaction, 10_000)).startsWith("error"));
        await sql.end({ timeout: 5 });
        const observation = await observePostgres(node, cluster.binaries);
        assertEquals(observation.fenced, true);
        await assertRejects(setSynchronousStandbyNames(node, "node-x"));
      });

      await step(t, "the fence survives a restart, and unfence restores writes", async () => {
        await postmaster.stop();
        assertEquals((await observePostgres(node, cluster.binaries)).fenced, true);
        postmaster = cluster.track(await Postmaster.start(node, cluster.binaries));
        await postmaster.waitUntilReady(READY_TIMEOUT_MS);
        assertEquals(await withLocalSql(node, (sql) => isFenced(sql)), true);
        const withdrawn = await unfence(node, "", { timeoutMs: 5_000, mayUnfence: () => false });
        assertEquals(withdrawn, false);
        assertEquals(await withLocalSql(node, (sql) => isFenced(sql)), true);
        assertEquals(await unfence(node, "", { timeoutMs: 5_000 }), true);
        assertEquals(await withLocalSql(node, (sql) => isFenced(sql)), false);
        const app = appClient(node.port);
        try {
          await app`INSERT INTO t VALUES (4)`;
          const rows = await app`SELECT count(*)::int AS n FROM t WHERE id = 4`;
          assertEquals(rows[0]!.n, 1);
        } finally {
          await app.end();
        }
        const observation = await observePostgres(node, cluster.binaries);
        assertEquals([observation.fenced, observation.synchronousStandbyNames], [false, ""]);
      });

      await step(t, "a hung server is fenced by stopping it (step 2)", async () => {
        Deno.kill(postmaster.pid, "SIGSTOP");
        const started = Date.now();
        const result = await fence(node, { deadlineMs: 1_500, postmaster });
        assertEquals(result.method, "stopped");
        assert(!postmaster.alive, "the hung postmaster still runs");
        assert(Date.now() - started < 15_000, "step 2 took too long");
      });

      await step(t, "a killed postmaster is detected", async () => {
        postmaster = cluster.track(await Postmaster.start(node, cluster.binaries));
        await postmaster.waitUntilReady(READY_TIMEOUT_MS);
        await unfence(node, "", { timeoutMs: 5_000 });
        let reported: number | null = null;
        postmaster.onExit((code) => reported = code);
        Deno.kill(postmaster.pid, "SIGKILL");
        const code = await Promise.race([postmaster.exited, delay(10_000).then(() => -1)]);
        assertEquals(code, 137);
        assertEquals(reported, 137);
        assertEquals(postmaster.alive, false);
      });
    } finally {
      await cluster.cleanup();
    }
  },
});
