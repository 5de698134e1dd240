/**
 * Day-2 commands on a real 3-node cluster, run as processes (the HACTL_BIN binary when set):
 * `hactl list` shows Patroni's columns for every member (table and --json), `hactl dsn`
 * prints a URI that really connects to the writable primary, `hactl version` reports every
 * member's hactl and Postgres, `hactl failover` refuses to replace a healthy primary without
 * --force and with --force --candidate --wait moves it, and `hactl switchover --wait` returns
 * only once the new primary accepts writes; `hactl reload` has every agent read its file
 * again and name the settings that changed; `hactl restart` restarts every Postgres, standbys
 * first and the primary last after a switchover; `hactl reinit` replaces a standby's data by a
 * fresh clone and refuses the primary.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hactl, testHactlCommand } from "./hactl_process.ts";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { VERSION } from "../../src/version.ts";
import type { ListRow } from "../../src/cli/list_command.ts";

/** The node's config file path. */
function configOf(cluster: LocalCluster, id: string): string {
  return cluster.node(id).configPath;
}

/** Stage: hactl list shows every member with Patroni's columns. */
async function listShowsPatroniColumns(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  await cluster.waitFor("both standbys in the synchronous set", async () => {
    const result = await hactl(["list", "--config", config("node2"), "--json"]);
    const rows = (JSON.parse(result.output) as { members: ListRow[] }).members;
    return rows.filter((row) => row.role === "Quorum Standby").length === 2;
  }, 60_000);
  const table = await hactl(["list", "--config", config("node3")]);
  assertEquals(table.code, 0, table.output);
  assert(/^Member\s+Host\s+Role\s+State\s+TL\s+Lag in MB/m.test(table.output), table.output);
  assert(/^node1\s+127\.0\.0\.1:\d+\s+Leader\s/m.test(table.output), table.output);
  assert(/^node2\s+\S+\s+Quorum Standby\s/m.test(table.output), table.output);
}

/** Stage: hactl dsn connects to the writable primary. */
async function dsnReachesThePrimary(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  const result = await hactl(["dsn", "--config", config("node1"), "--user", "postgres"]);
  assertEquals(result.code, 0, result.output);
  assert(result.output.trim().endsWith("target_session_attrs=read-write"), result.output);
  const hosts = /@([^/]+)\//.exec(result.output)![1]!.split(",");
  assertEquals(hosts.length, 3, result.output);
  // The URI's hosts, tried in order for the one that is not in recovery.
  let writable = 0;
  for (const host of hosts) {
    const [hostname, port] = host.split(":");
    const sql = cluster.superuser(
      ["node1", "node2", "node3"].find((id) => String(cluster.node(id).postgresPort) === port)!,
    );
    const [row] = await sql`SELECT pg_is_in_recovery() AS standby`;
    if (row!.standby === false) writable++;
    await sql.end();
    assertEquals(hostname, "127.0.0.1");
  }
  assertEquals(writable, 1, "exactly one host of the URI is the primary");
}

/** Stage: hactl version reports every member. */
async function versionOfEveryMember(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  const result = await hactl(["version", "--config", config("node1"), "--json"]);
  assertEquals(result.code, 0, result.output);
  const answer = JSON.parse(result.output) as {
    members: { member: string; hactl: string; postgres: string }[];
  };
  assertEquals(answer.members.map((m) => [m.member, m.hactl]), [
    ["node1", VERSION],
    ["node2", VERSION],
    ["node3", VERSION],
  ]);
  assert(answer.members.every((m) => /^1\d\.\d+$/.test(m.postgres)), result.output);
}

/** Stage: hactl reload: each agent reads its file again and names what changed. */
async function reloadNamesChanges(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  const path = config("node2");
  const gateway = cluster.node("node2").gatewayPort;
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(
    path,
    text.replace(`127.0.0.1:${gateway}"`, `127.0.0.1:${gateway + 50}"`),
  );
  try {
    const result = await hactl(["reload", "--config", config("node1"), "--json"]);
    assertEquals(result.code, 0, result.output);
    const answers = JSON.parse(result.output) as { member: string; changed: string[] }[];
    assertEquals(answers.map((a) => [a.member, a.changed]), [
      ["node1", []],
      ["node2", ["gateway.listen"]],
      ["node3", []],
    ]);
  } finally {
    await Deno.writeTextFile(path, text);
  }
}

/** Stage: hactl failover: a healthy primary is kept unless --force. */
async function failoverNeedsForce(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  const declined = await hactl(["failover", "--config", config("node2")], "n\n");
  assertEquals(declined.code, 1, declined.output);
  assert(declined.output.includes("not confirmed"), declined.output);
  const healthy = await hactl(
    ["failover", "--config", config("node2"), "--candidate", "node2"],
    "y\n",
  );
  assertEquals(healthy.code, 1, healthy.output);
  assert(healthy.output.includes("is healthy"), healthy.output);
  assertEquals(await cluster.primary(), "node1");
  const forced = await hactl([
    "failover",
    "--config",
    config("node3"),
    "--candidate",
    "node2",
    "--force",
    "--wait",
    "--timeout",
    "90",
  ]);
  assertEquals(forced.code, 0, forced.output);
  assert(forced.output.includes("node2 is the primary and accepts writes"), forced.output);
  assertEquals(await cluster.primary(), "node2");
}

/** Stage: hactl switchover --wait returns once the new primary accepts writes. */
async function switchoverWaitsForWrites(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  await settledStartTimes(cluster);
  const result = await hactl([
    "switchover",
    "--config",
    config("node1"),
    "--to",
    "node1",
    "--wait",
    "--timeout",
    "90",
  ]);
  if (result.code !== 0) {
    // Failed once in a full CI run (1 of ~6) with no more than the exit code to go on.
    throw new Error(`switchover --wait: ${result.output}\n${await diagnosis(cluster)}`);
  }
  assert(result.output.includes("node1 is the primary and accepts writes"), result.output);
  const sql = cluster.superuser("node1");
  const [row] = await sql`SELECT pg_is_in_recovery() AS standby`;
  await sql.end();
  assertEquals(row!.standby, false, "node1 accepts writes when --wait returns");
}

/** What `hactl list` shows and each agent logged about leadership, for a failure message. */
async function diagnosis(cluster: LocalCluster): Promise<string> {
  const list = await hactl(["list", "--config", configOf(cluster, "node2")]);
  const parts = [`hactl list:\n${list.output}`];
  for (const id of MEMBERS) {
    const log = await Deno.readTextFile(cluster.node(id).logPath).catch(() => "");
    const lines = log.split("\n").filter((line) =>
      /transfer|switchover|TimeoutNow|leader|promot|fence|rewind|error|warn/i.test(line)
    );
    parts.push(`${id}'s log (leadership lines, last 40):\n${lines.slice(-40).join("\n")}`);
  }
  return parts.join("\n");
}

const MEMBERS = ["node1", "node2", "node3"] as const;
/** How long the start times must stay the same to count as settled (a standby that replayed
 * the old primary's shutdown checkpoint is rewound, a restart of its own, about 5 s after a
 * switchover). */
const SETTLE_MS = 8_000;

/** Every member's postmaster start time, once the cluster is healthy and they stay put. */
async function settledStartTimes(cluster: LocalCluster): Promise<string[]> {
  const read = () =>
    Promise.all(MEMBERS.map(async (id) => {
      const sql = cluster.superuser(id);
      try {
        const [row] = await sql`SELECT pg_postmaster_start_time()::text AS at`;
        return row!.at as string;
      } finally {
        await sql.end();
      }
    }));
  let last: { times: string; sinceMs: number } | null = null;
  let settled: string[] = [];
  await cluster.waitFor("every postmaster running and not restarted for a while", async () => {
    await cluster.waitUntilHealthy(120_000);
    const times = await read().catch(() => null);
    if (times === null) return (last = null, false);
    if (last?.times !== JSON.stringify(times)) {
      last = { times: JSON.stringify(times), sinceMs: Date.now() };
    }
    settled = times;
    return Date.now() - last.sinceMs >= SETTLE_MS;
  }, 180_000);
  return settled;
}

/** Stage: hactl restart restarts every Postgres, the primary last by switchover. */
async function rollingRestart(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  const before = await settledStartTimes(cluster);
  const result = await hactl(["restart", "--config", config("node2"), "--json"]);
  assertEquals(result.code, 0, result.output);
  const results = JSON.parse(result.output) as { member: string; action: string }[];
  assertEquals(results.map((r) => r.member), ["node2", "node3", "node1"], "primary last");
  assert(/^switched over to node[23], restarted$/.test(results[2]!.action), result.output);
  const after = await settledStartTimes(cluster);
  for (const [index, id] of MEMBERS.entries()) {
    assert(after[index] !== before[index], `${id}'s postmaster was restarted`);
  }
  const primary = await cluster.primary();
  assert(primary === "node2" || primary === "node3", `new primary ${primary}`);
}

/** Stage: hactl reinit re-clones a standby (its data directory is new) and refuses the primary. */
async function reinitReclonesAStandby(cluster: LocalCluster): Promise<void> {
  const config = (id: string) => configOf(cluster, id);
  await cluster.waitUntilHealthy(120_000);
  const primary = await cluster.primary();
  const standby = MEMBERS.find((id) => id !== primary)!;
  const refused = await hactl(["reinit", primary!, "--config", config(standby)]);
  assertEquals(refused.code, 1, refused.output);
  assert(/switch over first/.test(refused.output), refused.output);
  // A file the clone cannot bring: it is gone once the data directory was replaced.
  const marker = `${cluster.node(standby).dataDirectory}/hactl_reinit_marker`;
  await Deno.writeTextFile(marker, "old data\n");
  const primarySql = cluster.superuser(primary!);
  try {
    await primarySql`CREATE TABLE IF NOT EXISTS reinit_probe (id int)`;
    await primarySql`INSERT INTO reinit_probe VALUES (1)`;
  } finally {
    await primarySql.end();
  }
  const result = await hactl([
    "reinit",
    standby,
    "--config",
    config(primary!),
    "--wait",
    "--timeout",
    "120",
    "--json",
  ]);
  assertEquals(result.code, 0, result.output);
  assertEquals(JSON.parse(result.output), { member: standby, started: true, completed: true });
  assert(!await Deno.stat(marker).then(() => true, () => false), "the data directory was replaced");
  await cluster.waitFor(`${standby} has the row written before the reinit`, async () => {
    const sql = cluster.superuser(standby);
    try {
      const rows = await sql`SELECT count(*)::int AS n FROM reinit_probe`;
      return rows[0]?.n === 1;
    } catch {
      return false;
    } finally {
      await sql.end();
    }
  }, 60_000);
}

/** The stages in order; each builds on the cluster the previous ones left. */
const STAGES: readonly [string, (cluster: LocalCluster) => Promise<void>][] = [
  ["hactl list shows every member with Patroni's columns", listShowsPatroniColumns],
  ["hactl dsn connects to the writable primary", dsnReachesThePrimary],
  ["hactl version reports every member", versionOfEveryMember],
  ["hactl reload: each agent reads its file again and names what changed", reloadNamesChanges],
  ["hactl failover: a healthy primary is kept unless --force", failoverNeedsForce],
  ["hactl switchover --wait returns once the new primary accepts writes", switchoverWaitsForWrites],
  ["hactl restart restarts every Postgres, the primary last by switchover", rollingRestart],
  ["hactl reinit re-clones a standby and refuses the primary", reinitReclonesAStandby],
];

Deno.test({
  name:
    "list, dsn, version, reload, failover, switchover --wait, restart and reinit on a real cluster",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-day2-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: 28500,
      hactlCommand: testHactlCommand,
    });
    let failed = true;
    try {
      await cluster.startAll(180_000);
      for (const [name, stage] of STAGES) {
        if (!await t.step(name, () => stage(cluster))) throw new Error(`stage failed: ${name}`);
      }
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`day-2 test failed; logs kept in ${directory}`);
    }
  },
});
