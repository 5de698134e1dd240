/**
 * The cluster-wide configuration on a real 3-node cluster (agents as processes, real
 * Postgres): the first leader seeds it from its own file (node2 and node3 have other
 * `sync_mode` and no parameters, and they do not win); a switchover to a node whose file
 * says "asynchronous" leaves the mode at "quorum" (before the fix the new leader
 * re-proposed its own file's mode); `hactl edit-config --set` changes a parameter on every
 * Postgres by reload (so does an edit in $EDITOR), and one that needs a restart shows as
 * pending restart in `hactl list` until `hactl restart --pending`; tag nofailover makes a
 * switchover to that member refused (`hactl why` gives the core's reason) and keeps it out
 * of the restart's switchover; tag noloadbalance takes it out of `/replica`. Hooks (a real script) are called with Patroni's arguments on start and on
 * every role change, on both nodes of a switchover; `hactl history` shows the bootstrap and
 * the switchover, with their terms and timelines; with `failover_priority` 5 on node3, a
 * killed primary's place goes to node3, not to the outranked standby.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hactl, testHactlCommand } from "./hactl_process.ts";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import type { ListRow } from "../../src/cli/list_command.ts";
import type { WhyReport } from "../../src/agent/why.ts";
import type { HistoryEntry } from "../../src/agent/promotion_history.ts";

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
  // The old primary follows without diverging: it stayed stopped until it heard node2 (it
  // was once started fenced in between, and that restart's shutdown checkpoint forked it:
  // it streamed only after the stuck-standby rule rewound it).
  await cluster.waitFor("node1 streaming from node2", async () => {
    const sql = cluster.superuser("node1");
    try {
      const rows = await sql`SELECT status FROM pg_stat_wal_receiver`;
      return rows[0]?.status === "streaming";
    } catch {
      return false;
    } finally {
      await sql.end();
    }
  }, 30_000);
  const oldPrimaryLog = await Deno.readTextFile(cluster.node("node1").logPath);
  assert(!/cannot follow it.*rewinding$/m.test(oldPrimaryLog), oldPrimaryLog);
}

/** The primary's synchronous_standby_names. */
async function primaryNames(cluster: LocalCluster): Promise<string> {
  const primary = await cluster.primary();
  assert(primary !== null, "a primary");
  return (await showOnEvery(cluster, "synchronous_standby_names"))[NODES.indexOf(primary)]!;
}

/**
 * Asynchronous mode, then quorum again: when `edit-config` returns, the primary already
 * names the quorum (before the fix it committed the mode and acknowledged with the commit
 * gate alone until its next reconcile; found by the model's walks).
 */
async function returnToQuorumIsInForce(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node3").configPath;
  const set = (mode: string) =>
    hactl(["edit-config", "--config", config, "--set", `sync_mode=${mode}`]);
  const away = await set("asynchronous");
  assertEquals(away.code, 0, away.output);
  await cluster.waitFor("the primary names only the commit gate", async () => {
    return (await primaryNames(cluster)).includes("hactl.gate");
  }, 30_000);
  const back = await set("quorum");
  assertEquals(back.code, 0, back.output);
  const names = await primaryNames(cluster);
  assert(names.startsWith("ANY 1 ("), `the primary's names when edit-config returned: ${names}`);
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
  // The editor path: $EDITOR edits the key = "value" lines; the change is recorded.
  Deno.env.set(
    "EDITOR",
    `sed -i -e 's/^postgresql.parameters.work_mem = "9MB"$/postgresql.parameters.work_mem = "10MB"/'`,
  );
  try {
    const viaEditor = await hactl(["edit-config", "--config", config]);
    assertEquals(viaEditor.code, 0, viaEditor.output);
    assert(/changed: postgresql\.parameters\.work_mem \(/.test(viaEditor.output), viaEditor.output);
  } finally {
    Deno.env.delete("EDITOR");
  }
  await cluster.waitFor("work_mem 10MB on every member", async () => {
    return (await showOnEvery(cluster, "work_mem")).every((value) => value === "10MB");
  }, 60_000);
}

async function noFailoverTagRefusesSwitchover(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node1").configPath;
  const tagged = await hactl([
    "edit-config",
    "--config",
    config,
    "--set",
    "tags.node3.nofailover=true",
    "tags.node3.noloadbalance=true",
  ]);
  assertEquals(tagged.code, 0, tagged.output);
  await cluster.waitFor("node3 shows its tags", async () => {
    const tags = (await cluster.status("node3"))?.tags;
    return tags?.["nofailover"] === "true" && tags?.["noloadbalance"] === "true";
  }, 30_000);
  // noloadbalance: node3's /replica takes it out of HAProxy's read pool; node1's stays in.
  const replica = async (id: string) => {
    const response = await fetch(`http://127.0.0.1:${cluster.node(id).apiPort}/replica`);
    await response.body?.cancel();
    return response.status;
  };
  assertEquals([await replica("node1"), await replica("node3")], [200, 503]);
  // hactl why names the core's own reason, and the decisions record it.
  const why = await hactl(["why", "node3", "--config", config, "--json"]);
  assertEquals(why.code, 0, why.output);
  const report = JSON.parse(why.output) as WhyReport;
  assertEquals(report.node, "node3");
  assertEquals(report.primary, false);
  assert(
    report.reasons.includes("this node does not stand for election: tag nofailover is set"),
    why.output,
  );
  assert(
    report.events.some((event) =>
      event.kind === "election" && event.text.endsWith("tag nofailover is set")
    ),
    why.output,
  );
  const leaderWhy = await hactl(["why", "node2", "--config", config]);
  assert(
    /^node2 is the primary: Raft leader in term \d+ with write authority$/m.test(leaderWhy.output),
    leaderWhy.output,
  );
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

/** The hook script every node runs: appends its arguments to hooks.log in the test directory. */
async function installHook(cluster: LocalCluster, directory: string): Promise<string> {
  const log = `${directory}/hooks.log`;
  await Deno.writeTextFile(log, "");
  await Deno.chmod(log, 0o666);
  const script = `${directory}/hook.sh`;
  await Deno.writeTextFile(script, `#!/bin/sh\necho "$*" >> '${log}'\n`);
  await Deno.chmod(script, 0o755);
  for (const id of NODES) {
    const lines = ["on_role_change", "on_start", "on_stop"]
      .map((key) => `${key} = "${script} ${id}"`).join("\n");
    const path = cluster.node(id).configPath;
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(
      path,
      /^\[hooks\]$/m.test(text)
        ? text.replace(/^\[hooks\]$/m, `[hooks]\n${lines}`)
        : `${text}\n[hooks]\n${lines}\n`,
    );
  }
  return log;
}

/** Stage (after the switchover to node2): the hooks saw the role changes on both nodes. */
function hooksSawTheSwitchover(log: string) {
  return async (cluster: LocalCluster): Promise<void> => {
    const expected = [
      "node1 on_role_change primary demo", // the first primary accepts writes
      "node2 on_start replica demo",
      "node2 on_role_change primary demo", // the switchover promotes node2
    ];
    // The switchover fences node1 and stops it (so that node2 gets its last WAL): a stop
    // seen while it was still a primary, or a demotion if a read caught it fenced first.
    const demoted = ["node1 on_stop primary demo", "node1 on_role_change demoted demo"];
    await cluster.waitFor("the hooks of the switchover", async () => {
      const lines = (await Deno.readTextFile(log)).split("\n");
      return expected.every((line) => lines.includes(line)) &&
        demoted.some((line) => lines.includes(line)) &&
        lines.some((line) => line.startsWith("node1 on_start "));
    }, 30_000);
    const lines = (await Deno.readTextFile(log)).split("\n");
    assert(
      lines.indexOf("node1 on_role_change primary demo") <
        lines.indexOf("node2 on_role_change primary demo"),
      lines.join("\n"),
    );
  };
}

/** Stage (after the switchover to node2): the history records both promotions. */
async function historyRecordsPromotions(cluster: LocalCluster): Promise<void> {
  const config = cluster.node("node3").configPath;
  await cluster.waitFor("two promotions in the history", async () => {
    const result = await hactl(["history", "--config", config, "--json"]);
    return (JSON.parse(result.output) as HistoryEntry[]).length >= 2;
  }, 30_000);
  const result = await hactl(["history", "--config", config, "--json"]);
  const entries = JSON.parse(result.output) as HistoryEntry[];
  assertEquals(
    entries.map((entry) => [entry.node, entry.reason, entry.timeline]),
    [["node1", "bootstrap", 1], ["node2", "switchover", 2]],
  );
  assert(entries[0]!.term < entries[1]!.term, result.output);
  const table = await hactl(["history", "--config", config]);
  assert(/^\d+\s+2\s+node2\s+switchover\s/m.test(table.output), table.output);
}

/**
 * Stage: failover_priority. node3 may lead again and outranks the other standby; the
 * primary is killed with its Postgres, and node3 (equally caught up: no writes run) wins
 * because the outranked standby campaigns one election timeout later.
 */
async function failoverPriorityPicksTheSurvivor(cluster: LocalCluster): Promise<void> {
  const primary = await cluster.primary();
  assert(primary !== null && primary !== "node3", `primary ${primary}`);
  const other = primary === "node1" ? "node2" : "node1";
  const config = cluster.node(other).configPath;
  const edited = await hactl([
    "edit-config",
    "--config",
    config,
    "--set",
    "tags.node3.nofailover=false",
    "tags.node3.failover_priority=5",
  ]);
  assertEquals(edited.code, 0, edited.output);
  // node3 shows its own tags once it applied the entry; the leader committed it before.
  await cluster.waitFor("node3 applied its priority", async () => {
    const tags = (await cluster.status("node3"))?.tags;
    return tags?.["failover_priority"] === "5" && tags?.["nofailover"] === "false";
  }, 30_000);
  await cluster.waitUntilHealthy(120_000);
  await cluster.kill(primary);
  await cluster.waitFor("a new primary", async () => (await cluster.primary()) !== null, 60_000);
  assertEquals(await cluster.primary(), "node3", `${other} won although node3 outranks it`);
}

const STAGES = (hookLog: string): [string, (cluster: LocalCluster) => Promise<void>][] => [
  ["the first leader seeds the cluster configuration from its file", seededFromTheFirstLeader],
  ["a leader change does not change the sync mode", leaderChangeKeepsSyncMode],
  [
    "back to quorum mode: in force on the primary when edit-config returns",
    returnToQuorumIsInForce,
  ],
  ["hooks run with Patroni's arguments on every role change", hooksSawTheSwitchover(hookLog)],
  ["hactl history records the bootstrap and the switchover", historyRecordsPromotions],
  [
    "edit-config reloads every Postgres and marks pending restarts",
    editConfigReloadsAndMarksPending,
  ],
  ["tag nofailover: a switchover to that member is refused", noFailoverTagRefusesSwitchover],
  [
    "restart --pending restarts the members waiting, never onto node3",
    restartPendingAppliesTheRest,
  ],
  ["failover_priority: the preferred survivor wins the failover", failoverPriorityPicksTheSurvivor],
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
    const hookLog = await installHook(cluster, directory);
    let failed = true;
    try {
      await cluster.startAll(180_000);
      for (const [name, stage] of STAGES(hookLog)) {
        if (!await t.step(name, () => stage(cluster))) throw new Error(`stage failed: ${name}`);
      }
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`cluster config test failed; logs kept in ${directory}`);
    }
  },
});
