// Scenarios of MISSION's list on the multi-host cluster, each on a fresh cluster:
// - the synchronous set and the Raft voters name the same nodes after membership changes
//   (a voter removed, then added back), with the client load running and nothing lost;
// - the Raft log stays bounded through compaction over many entries;
// - a deposed primary whose WAL is gone rejoins by a fresh pg_basebackup;
// - a power cut of every node and a full restart: one primary again, nothing lost.
import { assert, assertEquals } from "../harness/test_assertions.ts";
import { type ScenarioCluster, withScenarioCluster } from "./scenario_cluster.ts";
import { readClusterSecret } from "../../src/config/cluster_secret.ts";
import { adminAuthorization } from "../api/test_tokens.ts";
import {
  acknowledgedSince,
  startLoad,
  stopAndCheckLoad,
  waitForWrites,
  waitRejoined,
  WRITES_PER_PHASE,
} from "./scenario_load.ts";

const CHANGE_TIMEOUT_MS = 60_000;
/** Rejoins, re-adds and restarts here include a clone or a whole cluster start. */
const RECOVERY_TIMEOUT_MS = 120_000;
/** Admin entries written in the compaction scenario (the log keeps at most 256 + one batch). */
const KV_ENTRIES = 600;
const MAX_LOG_ENTRIES = 256 + 64;

/** The primary's synchronous_standby_names and its voters, as its own status reports them. */
async function syncAndVoters(
  cluster: ScenarioCluster,
  primary: number,
): Promise<{ names: string | null; voters: string }> {
  const status = await cluster.status(primary);
  return {
    names: status?.postgres.observation?.synchronousStandbyNames ?? null,
    voters: status?.raft.voters.join(",") ?? "",
  };
}

/** `hactl members add|remove ID` against the primary's API; fails the test unless it succeeds. */
async function members(
  cluster: ScenarioCluster,
  primary: number,
  action: "add" | "remove",
  id: string,
): Promise<void> {
  const result = await cluster.hactl(primary, [
    "members",
    action,
    id,
    "--api",
    cluster.apiAddress(primary),
    "--secret-file",
    cluster.secretFile,
  ]);
  assertEquals(result.code, 0, result.stdout + result.stderr);
}

/** `ANY k ("a", "b")` over the voters other than the primary, k = floor(N/2). */
function expectedNames(voters: readonly string[], primary: string): string {
  const others = voters.filter((voter) => voter !== primary).sort();
  const count = Math.min(Math.floor(voters.length / 2), others.length);
  return `ANY ${count} (${others.map((name) => `"${name}"`).join(", ")})`;
}

Deno.test({
  name: "after removing and re-adding a voter, the synchronous set names exactly the voters",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "membership" }, async (cluster) => {
      const primary = await cluster.waitHealthy(30_000);
      const primaryId = cluster.node(primary).id;
      const victim = cluster.nodes.find((node) => node.index !== primary)!;
      const all = cluster.nodes.map((node) => node.id);
      // A change waits until the current synchronous set is in effect (else it is refused,
      // HTTP 409, with that reason).
      await cluster.waitFor("the synchronous set over both standbys", async () => {
        const { names } = await syncAndVoters(cluster, primary);
        return names === expectedNames(all, primaryId);
      }, CHANGE_TIMEOUT_MS);
      const load = await startLoad(cluster);
      try {
        await members(cluster, primary, "remove", victim.id);
        const remaining = cluster.nodes.map((node) => node.id).filter((id) => id !== victim.id);
        await cluster.waitFor("voters and synchronous set without the removed node", async () => {
          const { names, voters } = await syncAndVoters(cluster, primary);
          return voters === remaining.join(",") && names === expectedNames(remaining, primaryId);
        }, CHANGE_TIMEOUT_MS);
        const marker = acknowledgedSince(load.writer.history.records, 0);
        await waitForWrites(cluster, load, marker + 10, { timeoutMs: CHANGE_TIMEOUT_MS });
        await members(cluster, primary, "add", victim.id);
        await cluster.waitFor("the node is a voter again and in the synchronous set", async () => {
          const { names, voters } = await syncAndVoters(cluster, primary);
          return voters === all.join(",") && names === expectedNames(all, primaryId);
        }, RECOVERY_TIMEOUT_MS);
      } finally {
        console.log(await stopAndCheckLoad(cluster, load, RECOVERY_TIMEOUT_MS));
      }
    });
  },
});

Deno.test({
  name: "the Raft log stays bounded through compaction over many entries",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "compaction" }, async (cluster) => {
      const primary = await cluster.waitHealthy(30_000);
      const address = cluster.apiAddress(primary);
      // One shell inside the namespace posts every entry (a process per request would be slow).
      const authorization = await adminAuthorization(await readClusterSecret(cluster.secretFile));
      const posted = await cluster.network.run(primary, [
        "bash",
        "-c",
        `for i in $(seq 1 ${KV_ENTRIES}); do
           curl -sf --max-time 5 -X POST -H "authorization: ${authorization}" \\
             -d "{\\"key\\":\\"load/$((i % 50))\\",\\"value\\":\\"$i\\"}" \\
             "http://${address}/kv" > /dev/null || { echo "entry $i refused"; exit 1; }
         done`,
      ], { allowFailure: true, timeoutMs: 300_000 });
      assert(posted.success, `posting entries failed: ${posted.stdout}${posted.stderr}`);
      for (const node of cluster.nodes) {
        await cluster.waitFor(`${node.id} applied the entries`, async () => {
          const status = await cluster.status(node.index);
          return (status?.raft.commitIndex ?? 0) >= KV_ENTRIES &&
            status?.cluster.keyValues["load/49"] !== undefined;
        }, CHANGE_TIMEOUT_MS);
        const status = (await cluster.status(node.index))!;
        assert(status.raft.snapshotIndex > 0, `${node.id} took no snapshot`);
        assert(
          status.raft.logEntries <= MAX_LOG_ENTRIES,
          `${node.id} keeps ${status.raft.logEntries} log entries`,
        );
      }
    });
  },
});

Deno.test({
  name: "a deposed primary whose WAL is gone rejoins by a fresh pg_basebackup",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "reclone" }, async (cluster) => {
      const oldPrimary = await cluster.waitHealthy(30_000);
      const load = await startLoad(cluster);
      try {
        await waitForWrites(cluster, load, WRITES_PER_PHASE);
        await cluster.killNode(oldPrimary);
        const survivors = cluster.nodes.map((n) => n.index).filter((i) => i !== oldPrimary);
        const newPrimary = await cluster.waitHealthy(RECOVERY_TIMEOUT_MS, survivors);
        assert(newPrimary !== oldPrimary, "a new primary");
        // The deposed primary's WAL disappears (a disk replaced, a careless cleanup): rewind
        // cannot find the fork point, so the agent must re-clone.
        const walDirectory = `${cluster.node(oldPrimary).dataDirectory}/pg_wal`;
        let removed = 0;
        for await (const entry of Deno.readDir(walDirectory)) {
          if (/^[0-9A-F]{24}$/.test(entry.name)) {
            await Deno.remove(`${walDirectory}/${entry.name}`);
            removed++;
          }
        }
        assert(removed > 0, "no WAL segment to remove");
        cluster.startAgent(oldPrimary);
        await waitRejoined(cluster, oldPrimary, newPrimary, RECOVERY_TIMEOUT_MS);
        const log = await Deno.readTextFile(cluster.node(oldPrimary).logPath);
        assert(log.includes("re-cloning"), "the agent log does not report the re-clone");
      } finally {
        console.log(await stopAndCheckLoad(cluster, load, RECOVERY_TIMEOUT_MS));
      }
    });
  },
});

Deno.test({
  name: "a power cut of every node, then a full restart: one primary again, nothing lost",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withScenarioCluster({ nodes: 3, name: "full-restart" }, async (cluster) => {
      await cluster.waitHealthy(30_000);
      const load = await startLoad(cluster);
      try {
        await waitForWrites(cluster, load, WRITES_PER_PHASE);
        // Every process of every node dies at once (agents, watchdogs, Postgres).
        await Promise.all(cluster.nodes.map((node) => cluster.killNode(node.index)));
        const downAtMs = performance.now();
        for (const node of cluster.nodes) cluster.startAgent(node.index);
        await cluster.waitHealthy(RECOVERY_TIMEOUT_MS);
        await waitForWrites(cluster, load, 10, {
          sinceMs: downAtMs,
          timeoutMs: RECOVERY_TIMEOUT_MS,
        });
      } finally {
        console.log(await stopAndCheckLoad(cluster, load, RECOVERY_TIMEOUT_MS));
      }
    });
  },
});
