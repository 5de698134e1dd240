/**
 * Measures what the commit gate costs a commit in asynchronous mode: single-row INSERT
 * latency on one real Postgres, first with no synchronous standby (asynchronous mode without
 * the gate), then with the gate (an in-process CommitGate whose lease always runs) as the
 * synchronous standby. Run as root (Postgres runs as the postgres OS user) or as postgres.
 *
 * Usage: deno run --allow-all scripts/bench_commit_gate.ts [--commits 2000] [--port 25490]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { findPostgresBinaries } from "../src/postgres/binaries.ts";
import { initCluster } from "../src/postgres/cluster_setup.ts";
import { lookupUser } from "../src/postgres/files.ts";
import { Postmaster } from "../src/postgres/postmaster.ts";
import { setSynchronousStandbyNames } from "../src/postgres/roles.ts";
import { DEFAULT_POSTGRES_SETTINGS, type PostgresSettings } from "../src/postgres/settings.ts";
import { connectLocal, withLocalSql } from "../src/postgres/sql_client.ts";
import { COMMIT_GATE_NAME, CommitGate } from "../src/watchdog/commit_gate.ts";
import { printLatencySummary } from "./latency_summary.ts";

const { values } = parseArgs({
  options: {
    commits: { type: "string", default: "2000" },
    port: { type: "string", default: "25490" },
  },
});
const commits = Number(values.commits);
const port = Number(values.port);
if (!Number.isSafeInteger(commits) || commits < 10) throw new Error("--commits must be >= 10");

async function measure(settings: PostgresSettings, name: string): Promise<void> {
  const sql = connectLocal(settings, { statementTimeoutMs: 10_000 });
  try {
    const durations: number[] = [];
    for (let commit = 0; commit < commits; commit++) {
      const started = performance.now();
      await sql`INSERT INTO bench VALUES (${commit})`;
      durations.push(performance.now() - started);
    }
    const measured = durations.slice(Math.floor(commits / 10));
    printLatencySummary(name, measured, {
      digits: 3,
      width: 34,
      extra: `  (${measured.length} commits)`,
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const binaries = await findPostgresBinaries();
const root = await Deno.makeTempDir({ prefix: "hactl_bench_gate_" });
const owner = await lookupUser("postgres");
await Deno.chown(root, owner.uid, owner.gid);
const settings: PostgresSettings = {
  ...DEFAULT_POSTGRES_SETTINGS,
  binDirectory: binaries.directory,
  dataDirectory: `${root}/data`,
  port,
  listenAddress: "127.0.0.1",
  socketDirectory: root,
  applicationName: "bench",
  replicationPassword: "bench",
  allowedNetworks: ["127.0.0.1/32"],
  walKeepSizeMb: 64,
};
let postmaster: Postmaster | null = null;
const gate = new CommitGate(
  { socketDirectory: root, port, user: settings.superuser },
  () => true,
  (text) => console.error(text),
);
try {
  console.log(`initdb and start Postgres in ${root} ...`);
  await initCluster(settings, binaries);
  postmaster = await Postmaster.start(settings, binaries);
  await postmaster.waitUntilReady(60_000);
  await withLocalSql(settings, (sql) => sql`CREATE TABLE bench (id int)`);
  console.log(`single-row INSERT latency (first 10% discarded as warm-up):`);
  await measure(settings, "no synchronous standby");
  await setSynchronousStandbyNames(settings, `"${COMMIT_GATE_NAME}"`);
  gate.start();
  await measure(settings, "commit gate as synchronous standby");
} finally {
  gate.stop();
  await postmaster?.stop({ immediate: true }).catch(() => {});
  await Deno.remove(root, { recursive: true });
}
