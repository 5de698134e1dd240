/**
 * Once the lease is gone, Postgres never comes back writable on its own (issue 9, #2), through
 * the real reconciler on a real server: a stopped primary is started fenced (read-only, the
 * unreachable synchronous set: a client cannot commit, even with read-only off) and stays
 * fenced until the role in force is `primary`; a primary killed with SIGKILL the way the
 * watchdog kills it comes back fenced first, also while the reconciler still holds the stale
 * `primary` role (the first observation after the restart is fenced), and stays fenced when
 * the role is `fenced`.
 */

import { assert, assertEquals } from "../postgres/assert.ts";
import type { PostgresObservation } from "../../src/core/mod.ts";
import { Logger } from "../../src/agent/logger.ts";
import { PostgresReconciler } from "../../src/agent/reconciler.ts";
import { FENCE_SYNCHRONOUS_STANDBY_NAMES } from "../../src/postgres/fence.ts";
import { delay } from "../../src/postgres/postmaster.ts";
import type { PostgresSettings } from "../../src/postgres/settings.ts";
import { withLocalSql } from "../../src/postgres/sql_client.ts";
import { killPostmaster } from "../../src/watchdog/fence_postmaster.ts";
import {
  APP_PASSWORD,
  appClient,
  TEST_PORT_BASE,
  TestCluster,
  waitFor,
} from "../postgres/test_cluster.ts";

/** How long a commit on a fenced server is watched; it must not complete in this time. */
const COMMIT_WATCH_MS = 3_000;
/** Two rounds of the reconciler (it observes every second): time to unfence, if it would. */
const TWO_ROUNDS_MS = 2_500;

/** A psql session that turns read-only off and inserts: "timeout" while its commit waits. */
async function insertWithReadOnlyOff(settings: PostgresSettings, id: number): Promise<string> {
  const child = new Deno.Command(`${settings.binDirectory}/psql`, {
    args: [
      "-X",
      "-At",
      "-d",
      `postgresql://app@127.0.0.1:${settings.port}/postgres`,
      "-c",
      "SET default_transaction_read_only = off",
      "-c",
      `INSERT INTO t VALUES (${id})`,
    ],
    env: { PGPASSWORD: APP_PASSWORD, PGCONNECT_TIMEOUT: "5" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = await Promise.race([child.output(), delay(COMMIT_WATCH_MS).then(() => null)]);
  if (output === null) {
    child.kill("SIGKILL");
    await child.status;
    return "timeout";
  }
  const decoder = new TextDecoder();
  return (decoder.decode(output.stdout) + decoder.decode(output.stderr)).trim();
}

/** Checks that the running server is fenced: settings, a refused write, a commit that waits. */
async function assertFenced(settings: PostgresSettings, id: number): Promise<void> {
  const rows = await withLocalSql(settings, (sql) =>
    sql<{ read_only: string; names: string }[]>`
      SELECT current_setting('default_transaction_read_only') AS read_only,
        current_setting('synchronous_standby_names') AS names`);
  assertEquals([rows[0]?.read_only, rows[0]?.names], ["on", FENCE_SYNCHRONOUS_STANDBY_NAMES]);
  const app = appClient(settings.port);
  try {
    const error = await app`INSERT INTO t VALUES (${id})`.then(() => null, (error) => error);
    assert(error !== null, "a client committed on the fenced server");
    assert(/read-only transaction/.test(String(error.message)), String(error.message));
  } finally {
    await app.end({ timeout: 5 });
  }
  assertEquals(await insertWithReadOnlyOff(settings, id + 1), "timeout");
}

/** The first observation from `index` on that shows the server running. */
function firstRunningFrom(observations: PostgresObservation[], index: number) {
  return observations.slice(index).find((observation) => observation.status === "running");
}

Deno.test({
  name: "a primary is only ever started fenced; only a primary decision unfences it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await TestCluster.create();
    const node = cluster.settings("node-r", TEST_PORT_BASE + 86);
    const observations: PostgresObservation[] = [];
    const reconciler = new PostgresReconciler({
      settings: node,
      binaries: cluster.binaries,
      log: new Logger("node-r", "warn"),
      resolve: () => null,
      slotMembers: () => [],
      observed: (observation) => observations.push(observation),
      initialized: () => {},
      leaderTimeline: () => null,
    });
    const last = () => observations[observations.length - 1];
    const runningWith = (fenced: boolean, from: number) => () =>
      Promise.resolve(
        observations.slice(from).some((o) => o.status === "running" && o.fenced === fenced),
      );
    try {
      await (await cluster.startPrimaryWithApp(node)).stop();
      reconciler.setDesired({ kind: "fenced", reason: "test: leader, Postgres stopped" });
      reconciler.start();

      await t.step("a stopped primary is started fenced and stays fenced", async () => {
        await waitFor("the server running fenced", runningWith(true, 0));
        cluster.track(reconciler.postmaster!);
        assertEquals(firstRunningFrom(observations, 0)?.fenced, true, "started writable");
        await assertFenced(node, 10);
        await delay(TWO_ROUNDS_MS);
        assertEquals([last()?.status, last()?.fenced], ["running", true]);
      });

      await t.step("only the primary role unfences it", async () => {
        const from = observations.length;
        reconciler.setDesired({ kind: "primary", synchronousStandbyNames: "" });
        await waitFor("the server unfenced", runningWith(false, from));
        const app = appClient(node.port);
        await app`INSERT INTO t VALUES (20)`;
        await app.end({ timeout: 5 });
      });

      await t.step("killed while the role is still primary, it comes back fenced", async () => {
        const from = observations.length;
        assert(await killPostmaster(node.dataDirectory) > 0, "nothing was killed");
        await waitFor("the server unfenced again", runningWith(false, from));
        cluster.track(reconciler.postmaster!);
        const first = firstRunningFrom(observations, from);
        assertEquals(first?.fenced, true, "the restarted primary was writable before any decision");
      });

      await t.step("killed while the role is fenced, it comes back fenced and stays", async () => {
        reconciler.setDesired({ kind: "fenced", reason: "test: lease lost" });
        const from = observations.length;
        assert(await killPostmaster(node.dataDirectory) > 0, "nothing was killed");
        await waitFor("the server running fenced", runningWith(true, from));
        cluster.track(reconciler.postmaster!);
        assertEquals(firstRunningFrom(observations, from)?.fenced, true);
        await assertFenced(node, 30);
        await delay(TWO_ROUNDS_MS);
        assertEquals([last()?.status, last()?.fenced], ["running", true]);
      });
    } finally {
      await reconciler.stop(true);
      await cluster.cleanup();
    }
  },
});

Deno.test({
  name: "initdb starts the new primary fenced and still creates the replication role",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // The bootstrap session opts out of the fence for the one role it creates; without that,
    // CREATE ROLE fails on the read-only server and the cluster never gets its first primary.
    const cluster = await TestCluster.create();
    const node = cluster.settings("node-i", TEST_PORT_BASE + 87);
    const observations: PostgresObservation[] = [];
    let systemIdentifier: string | null = null;
    const reconciler = new PostgresReconciler({
      settings: node,
      binaries: cluster.binaries,
      log: new Logger("node-i", "warn"),
      resolve: () => null,
      slotMembers: () => [],
      observed: (observation) => observations.push(observation),
      initialized: (identifier) => systemIdentifier = identifier,
      leaderTimeline: () => null,
    });
    try {
      reconciler.setDesired({ kind: "initdb" });
      reconciler.start();
      await waitFor("initdb", () => Promise.resolve(systemIdentifier !== null), 60_000);
      cluster.track(reconciler.postmaster!);
      await waitFor(
        "an observation of the new server",
        () => Promise.resolve(firstRunningFrom(observations, 0) !== undefined),
      );
      assertEquals(firstRunningFrom(observations, 0)?.fenced, true, "initdb started writable");
      const roles = await withLocalSql(
        node,
        (sql) =>
          sql`SELECT 1 FROM pg_roles WHERE rolname = ${node.replicationUser} AND rolreplication`,
      );
      assertEquals(roles.length, 1);
      const from = observations.length;
      reconciler.setDesired({ kind: "primary", synchronousStandbyNames: "" });
      await waitFor(
        "the first primary unfenced",
        () =>
          Promise.resolve(
            observations.slice(from).some((o) => o.status === "running" && !o.fenced),
          ),
      );
    } finally {
      await reconciler.stop(true);
      await cluster.cleanup();
    }
  },
});
