/**
 * The reconciler tells the core that its reads of Postgres fail only after
 * `MAX_FAILED_OBSERVATIONS` failures in a row, once in the log: a data directory with
 * PG_VERSION but nothing else (no server answers, pg_controldata fails) is reported
 * `unreadable` (position null, last known recovery state), and nothing is done to it.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { CapturingLogger } from "../postgres/capturing_logger.ts";
import { MAX_FAILED_OBSERVATIONS, PostgresReconciler } from "../../src/agent/reconciler.ts";
import type { PostgresObservation } from "../../src/core/mod.ts";
import { findPostgresBinaries } from "../../src/postgres/binaries.ts";
import { DEFAULT_POSTGRES_SETTINGS, type PostgresSettings } from "../../src/postgres/settings.ts";

Deno.test({
  name: "reads that keep failing are reported unreadable after the bound, logged once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "hactl_unreadable_" });
    const log = new CapturingLogger("n1");
    const seen: PostgresObservation[] = [];
    let failedRounds = 0;
    const binaries = await findPostgresBinaries();
    const settings: PostgresSettings = {
      ...DEFAULT_POSTGRES_SETTINGS,
      binDirectory: binaries.directory,
      dataDirectory: `${root}/data`,
      // No server listens on this socket directory: every connection fails at once.
      port: 25_991,
      listenAddress: "127.0.0.1",
      socketDirectory: root,
      applicationName: "n1",
      replicationPassword: "unused",
    };
    await Deno.mkdir(settings.dataDirectory, { recursive: true });
    await Deno.writeTextFile(`${settings.dataDirectory}/PG_VERSION`, "15\n");
    const reconciler = new PostgresReconciler({
      settings,
      binaries,
      log,
      resolve: () => null,
      slotMembers: () => [],
      observed: (observation) => seen.push(observation),
      initialized: () => {},
      leaderTimeline: () => null,
    });
    try {
      reconciler.start();
      const deadline = Date.now() + 30_000;
      while (seen.length < 2 && Date.now() < deadline) {
        failedRounds = log.lines.filter((line) => line.includes("action for")).length;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert(seen.length >= 2, `reported: ${JSON.stringify(seen)}; log: ${log.lines.join("\n")}`);
      assert(failedRounds >= MAX_FAILED_OBSERVATIONS - 1, "the failures before the bound threw");
      assertEquals(seen[0], {
        status: "unreadable",
        inRecovery: false,
        position: null,
        replayCaughtUp: false,
        synchronousStandbyNames: null,
        fenced: false,
        receivingWal: false,
      });
      assert(seen.every((observation) => observation.status === "unreadable"));
      const warnings = log.lines.filter((line) =>
        line.includes("reporting Postgres as unreadable")
      );
      assertEquals(warnings.length, 1, "logged once");
      assert(reconciler.activity.includes("unreadable") || reconciler.activity === "starting");
      const left = [...Deno.readDirSync(settings.dataDirectory)].map((entry) => entry.name);
      assertEquals(left, ["PG_VERSION"], "nothing was done to the data directory");
    } finally {
      await reconciler.stop(false);
      await Deno.remove(root, { recursive: true });
    }
  },
});
