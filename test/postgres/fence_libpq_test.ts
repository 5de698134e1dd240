/**
 * libpq steps over a fenced node (issue 9, #5): psql (libpq) with a multi-host connection
 * string that lists the fenced node first and `target_session_attrs=read-write` lands on the
 * writable server and commits there; before the fence the same string lands on the first
 * node (so the check can fail). A session on the fenced node that turns read-only off still
 * gets no commit acknowledged, statement_timeout or not; only the documented opt-outs
 * (synchronous_commit = local with read-only off, or cancelling the waiting commit;
 * docs/SAFETY.md) commit there.
 */

import { assert, assertEquals } from "./assert.ts";
import { fence } from "../../src/postgres/fence.ts";
import { delay } from "../../src/postgres/postmaster.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { APP_PASSWORD, TEST_PORT_BASE, TestCluster } from "./test_cluster.ts";

/** How long psql may run; a commit waiting on the unreachable standby outlives it. */
const PSQL_WATCH_MS = 4_000;

/**
 * Runs psql as the app role with `connection`, each statement its own request (and so its own
 * transaction); returns its output, or "timeout" when it outlives the watch.
 */
async function psql(
  binDirectory: string,
  connection: string,
  statements: readonly string[],
): Promise<string> {
  const child = new Deno.Command(`${binDirectory}/psql`, {
    args: [
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-At",
      "-d",
      connection,
      ...statements.flatMap((sql) => ["-c", sql]),
    ],
    env: { PGPASSWORD: APP_PASSWORD, PGCONNECT_TIMEOUT: "5" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = await Promise.race([child.output(), delay(PSQL_WATCH_MS).then(() => null)]);
  if (output === null) {
    child.kill("SIGKILL");
    await child.status;
    return "timeout";
  }
  const decoder = new TextDecoder();
  return (decoder.decode(output.stdout) + decoder.decode(output.stderr)).trim();
}

/** postgresql://app@first,second/postgres?target_session_attrs=read-write */
function multiHost(first: PostgresSettings, second: PostgresSettings): string {
  return `postgresql://app@127.0.0.1:${first.port},127.0.0.1:${second.port}/postgres` +
    "?target_session_attrs=read-write";
}

async function rowsOf(node: PostgresSettings): Promise<number[]> {
  return await withLocalSql(
    node,
    async (sql) => (await sql<{ id: number }[]>`SELECT id FROM t ORDER BY id`).map((row) => row.id),
  );
}

Deno.test({
  name: "libpq's read-write multi-host string steps over a fenced node",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const fenced = cluster.settings("node-a", TEST_PORT_BASE + 83);
    const writable = cluster.settings("node-b", TEST_PORT_BASE + 84);
    const bin = cluster.binaries.directory;
    try {
      const postmaster = await cluster.startPrimaryWithApp(fenced);
      await cluster.startPrimaryWithApp(writable);
      const insert = ["INSERT INTO t VALUES (1) RETURNING current_setting('port')"];
      // Control: unfenced, the first host takes the write.
      assertEquals(
        await psql(bin, multiHost(fenced, writable), insert),
        `${fenced.port}\nINSERT 0 1`,
      );
      assertEquals((await fence(fenced, { deadlineMs: 10_000, postmaster })).method, "sql");

      const landed = await psql(bin, multiHost(fenced, writable), insert);
      assertEquals(
        landed,
        `${writable.port}\nINSERT 0 1`,
        "libpq did not step over the fenced node",
      );
      assertEquals(await rowsOf(writable), [1]);

      const direct = `postgresql://app@127.0.0.1:${fenced.port}/postgres`;
      const optOut = [
        "SET default_transaction_read_only = off",
        "SET statement_timeout = '1s'",
        "INSERT INTO t VALUES (2)",
      ];
      const waited = await psql(bin, direct, optOut);
      assert(!/INSERT 0 1/.test(waited), `a commit was acknowledged on the fenced node: ${waited}`);
      assertEquals(waited, "timeout", "the commit did not wait for the unreachable standby");

      // The documented limit: opting out of synchronous replication opts out of the fence.
      const local = await psql(bin, direct, [
        "SET default_transaction_read_only = off",
        "SET synchronous_commit = local",
        "INSERT INTO t VALUES (3)",
      ]);
      assertEquals(local, "SET\nSET\nINSERT 0 1", "synchronous_commit = local did not commit");
      assert((await rowsOf(fenced)).includes(3), "the opted-out commit is not on the fenced node");
      // Also documented: a cancel of the waiting commit (a client may cancel its own query)
      // ends the wait, and Postgres reports the commit, with a warning.
      const cancelled = psql(bin, direct, [
        "SET default_transaction_read_only = off",
        "INSERT INTO t VALUES (4)",
      ]);
      await delay(1_000);
      await withLocalSql(fenced, (sql) =>
        sql`SELECT pg_cancel_backend(pid) FROM pg_stat_activity
            WHERE wait_event = 'SyncRep' AND query LIKE '%VALUES (4)%'`);
      const reported = await cancelled;
      assert(/canceling wait for synchronous replication/.test(reported), reported);
      assert(/INSERT 0 1/.test(reported), reported);
    } finally {
      await cluster.cleanup();
    }
  },
});
