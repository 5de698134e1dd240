/**
 * The cluster-wide configuration on a real 3-node cluster (agents as processes, real
 * Postgres): the first leader seeds it from its own file (node2 and node3 have other
 * `sync_mode` and no parameters, and they do not win); a switchover to a node whose file
 * says "asynchronous" leaves the mode at "quorum" (before the fix the new leader
 * re-proposed its own file's mode); `hactl edit-config --set` changes a parameter on every
 * Postgres by reload, and one that needs a restart shows as pending restart in
 * `hactl list` until `hactl restart --pending`; tag nofailover makes a switchover to that
 * member refused and keeps it out of the restart's switchover.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hactl, testHactlCommand } from "./hactl_process.ts";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import type { ListRow } from "../../src/cli/list_command.ts";

const NODES = ["node1", "node2", "node3"];

/** Rewrites one line of a node's file; fails when the line is not there. */
async function rewrite(path: string, from: RegExp, to: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  assert(from.test(text), `${path} has no line ${from}`);
  await Deno.writeTextFile(path, text.replace(from, to));
}

/** `SHOW name` on every member, in node order. */
async function showOnEvery(cluster: LocalCluster, name: string): Promise<string[]> {
  const values: string[] = [];
  for (const id of NODES) {
    const sql = cluster.superuser(id);
    try {
      const [row] = await sql.unsafe(`SHOW ${name}`);
      values.push(String(Object.values(row!)[0]));
    } finally {
      await sql.end();
    }
  }
  return values;
}

async function seededFromTheFirstLeader(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node3").configPath;
  await cluster.waitFor("work_mem of node1's file on every member", async () => {
    return (await showOnEvery(cluster, "work_mem")).every((value) => value === "7MB");
  }, 60_000);
  const shown = await hactl(["show-config", "--config", config]);
  assertEquals(shown.code, 0, shown.output);
  assert(/^sync_mode = "quorum"$/m.test(shown.output), shown.output);
  assert(/^postgresql\.parameters\.work_mem = "7MB"$/m.test(shown.output), shown.output);
}

async function leaderChangeKeepsSyncMode(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node1").configPath;
  const moved = await hactl(["switchover", "--to", "node2", "--wait", "--config", config]);
  assertEquals(moved.code, 0, moved.output);
  assertEquals(await cluster.primary(), "node2");
  // The leader's housekeeping runs every 10 ticks (0.5 s): give it many rounds.
  for (let round = 0; round < 10; round++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const [id, status] of await cluster.statuses()) {
      assertEquals(status?.cluster.syncMode, "quorum", `${id} after the leader moved`);
    }
  }
}

async function editConfigReloadsAndMarksPending(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node3").configPath;
  const edited = await hactl([
    "edit-config",
    "--config",
    config,
    "--set",
    "postgresql.parameters.work_mem=9MB",
    "postgresql.parameters.max_connections=150",
  ]);
  assertEquals(edited.code, 0, edited.output);
  await cluster.waitFor("work_mem 9MB on every member by reload", async () => {
    return (await showOnEvery(cluster, "work_mem")).every((value) => value === "9MB");
  }, 60_000);
  await cluster.waitFor("max_connections pending restart on every member", async () => {
    const result = await hactl(["list", "--config", config, "--json"]);
    const rows = (JSON.parse(result.output) as { members: ListRow[] }).members;
    return rows.length === 3 && rows.every((row) => row.pendingRestart === true);
  }, 60_000);
  assert((await showOnEvery(cluster, "max_connections")).every((value) => value !== "150"));
  const refused = await hactl([
    "edit-config",
    "--config",
    config,
    "--set",
    "postgresql.parameters.port=1",
  ]);
  assert(refused.code !== 0 && /managed by hactl/.test(refused.output), refused.output);
}

async function noFailoverTagRefusesSwitchover(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node1").configPath;
  const tagged = await hactl([
    "edit-config",
    "--config",
    config,
    "--set",
    "tags.node3.nofailover=true",
  ]);
  assertEquals(tagged.code, 0, tagged.output);
  await cluster.waitFor("node3 shows its tag", async () => {
    return (await cluster.status("node3"))?.tags["nofailover"] === "true";
  }, 30_000);
  const moved = await hactl(["switchover", "--to", "node3", "--config", config]);
  assert(moved.code !== 0 && /nofailover/.test(moved.output), moved.output);
  assertEquals(await cluster.primary(), "node2");
}

async function restartPendingAppliesTheRest(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node1").configPath;
  // Every member streaming again (the old primary may still be rejoining).
  await cluster.waitUntilHealthy(120_000);
  const before = await hactl(["list", "--config", config, "--json"]);
  const waiting = (JSON.parse(before.output) as { members: ListRow[] }).members
    .filter((row) => row.pendingRestart === true).map((row) => row.member).sort();
  const restarted = await hactl(["restart", "--pending", "--config", config, "--json"]);
  assertEquals(restarted.code, 0, restarted.output);
  // A member that restarted by itself meanwhile (a rejoin) has nothing pending any more.
  const members = (JSON.parse(restarted.output) as { member: string }[]).map((r) => r.member);
  assert(members.every((member) => waiting.includes(member)), `${members} not in ${waiting}`);
  assertEquals(await showOnEvery(cluster, "max_connections"), ["150", "150", "150"]);
  assert((await cluster.primary()) !== "node3", "the restart's switchover chose node3");
  await cluster.waitFor("no pending restart left", async () => {
    const result = await hactl(["list", "--config", config, "--json"]);
    const rows = (JSON.parse(result.output) as { members: ListRow[] }).members;
    return rows.every((row) => row.pendingRestart === false);
  }, 60_000);
}

const STAGES: readonly [string, (cluster: LocalCluster) => Promise<void>][] = [
  ["the first leader seeds the cluster configuration from its file", seededFromTheFirstLeader],
  ["a leader change does not change the sync mode", leaderChangeKeepsSyncMode],
  [
    "edit-config reloads every Postgres and marks pending restarts",
    editConfigReloadsAndMarksPending,
  ],
  ["tag nofailover: a switchover to that member is refused", noFailoverTagRefusesSwitchover],
  [
    "restart --pending restarts the members waiting, never onto node3",
    restartPendingAppliesTheRest,
  ],
];

Deno.test({
  name: "cluster-wide configuration in the Raft log on a real cluster",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-cluster-config-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: 28900,
      hactlCommand: testHactlCommand,
    });
    await rewrite(
      cluster.node("node1").configPath,
      /^parameters = \[\]$/m,
      'parameters = ["work_mem=7MB"]',
    );
    for (const id of ["node2", "node3"]) {
      await rewrite(
        cluster.node(id).configPath,
        /^sync_mode = "quorum"$/m,
        'sync_mode = "asynchronous"',
      );
    }
    let failed = true;
    try {
      await cluster.startAll(180_000);
      for (const [name, stage] of STAGES) {
        if (!await t.step(name, () => stage(cluster))) throw new Error(`stage failed: ${name}`);
      }
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`cluster config test failed; logs kept in ${directory}`);
    }
  },
});
