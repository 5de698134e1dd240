/**
 * A stop of a node without authority does not wait for the commit gate (issue 9, #6): a fast
 * shutdown waits until every walsender's client confirmed the last WAL, and the gate confirms
 * nothing while the watchdog is disarmed. With the primary's watchdog disarmed (no lease), a
 * fast stop completes by itself — the postmaster never needs the immediate-shutdown fallback —
 * and a stop while armed (the gate confirms) does too. Stop times are printed, not asserted.
 */

import { assert, assertEquals } from "../postgres/assert.ts";
import { delay, type Postmaster } from "../../src/postgres/postmaster.ts";
import { setSynchronousStandbyNames } from "../../src/postgres/roles.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { wrapForUser } from "../../src/postgres/process_runner.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { COMMIT_GATE_NAME } from "../../src/watchdog/commit_gate.ts";
import { testHactlCommand as hactlCommand } from "../cluster/hactl_process.ts";
import { appClient, TEST_PORT_BASE, TestCluster, waitFor } from "../postgres/test_cluster.ts";

/** The reconciler's fast-shutdown allowance before it falls back to an immediate one. */
const FAST_STOP_TIMEOUT_MS = 10_000;

/** A `hactl watchdog` process with its commit gate on the local server of `node`. */
function startWatchdog(node: PostgresSettings) {
  const argv = wrapForUser(
    hactlCommand([
      "watchdog",
      "--pgdata",
      node.dataDirectory,
      "--socket-dir",
      node.socketDirectory,
      "--port",
      String(node.port),
      "--user",
      node.superuser,
    ]),
    node.runAsUser,
  );
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  return {
    send: (line: string) => writer.write(new TextEncoder().encode(`${line}\n`)),
    async close(): Promise<void> {
      await writer.write(new TextEncoder().encode("disarm\n")).catch(() => {});
      await writer.close().catch(() => {});
      const exited = await Promise.race([child.status, delay(10_000).then(() => null)]);
      if (exited === null) {
        child.kill("SIGKILL");
        await child.status;
      }
    },
  };
}

async function gateConnected(node: PostgresSettings): Promise<boolean> {
  return await withLocalSql(
    node,
    async (sql) =>
      (await sql`SELECT 1 FROM pg_stat_replication WHERE application_name = ${COMMIT_GATE_NAME}`)
        .length === 1,
  );
}

/** Starts a gated primary, commits through the armed gate, then stops it; returns the stop. */
async function stopAfterCommit(
  cluster: TestCluster,
  node: PostgresSettings,
  disarmFirst: boolean,
): Promise<{ postmaster: Postmaster; stopMs: number }> {
  const watchdog = startWatchdog(node);
  try {
    const postmaster = await cluster.startReady(node);
    await watchdog.send("arm 600000");
    await waitFor("the gate connects while armed", () => gateConnected(node));
    const app = appClient(node.port);
    await app`INSERT INTO t VALUES (1)`;
    await app.end({ timeout: 5 });
    if (disarmFirst) await watchdog.send("disarm");
    // More WAL after the last confirmation: the shutdown checkpoint must be confirmed too.
    await withLocalSql(node, (sql) => sql`SELECT pg_switch_wal()`);
    const started = performance.now();
    await postmaster.stop({ fastTimeoutMs: FAST_STOP_TIMEOUT_MS });
    return { postmaster, stopMs: performance.now() - started };
  } finally {
    await watchdog.close();
  }
}

Deno.test({
  name: "a fast stop does not wait for the commit gate, disarmed or armed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await TestCluster.create();
    const node = cluster.settings("node-s", TEST_PORT_BASE + 82);
    try {
      const first = await cluster.startPrimaryWithApp(node);
      await setSynchronousStandbyNames(node, `"${COMMIT_GATE_NAME}"`);
      await first.stop();
      const disarmed = await stopAfterCommit(cluster, node, true);
      console.log(`fast stop with the watchdog disarmed: ${disarmed.stopMs.toFixed(0)} ms`);
      assertEquals(disarmed.postmaster.lastStopSignal, "SIGINT", "the fast stop had to fall back");
      const armed = await stopAfterCommit(cluster, node, false);
      console.log(`fast stop with the watchdog armed: ${armed.stopMs.toFixed(0)} ms`);
      assertEquals(armed.postmaster.lastStopSignal, "SIGINT", "the fast stop had to fall back");
      assert(!armed.postmaster.alive && !disarmed.postmaster.alive);
    } finally {
      await cluster.cleanup();
    }
  },
});
