// Scenarios of MISSION's list on the multi-host cluster, each on a fresh cluster:
// - the synchronous set and the Raft voters name the same nodes after membership changes
//   (a voter removed, then added back), with the client load running and nothing lost;
// - the Raft log stays bounded through compaction over many entries;
// - a deposed primary whose WAL is gone rejoins by a fresh pg_basebackup;
// - a power cut of every node and a full restart: one primary again, nothing lost.
import { assert, assertEquals } from "../harness/test_assertions.ts";
import { type ScenarioCluster, withScenarioCluster } from "./scenario_cluster.ts";
import { acknowledgedSince, startLoad, stopAndCheckLoad } from "./scenario_load.ts";

const CHANGE_TIMEOUT_MS = 60_000;
const REJOIN_TIMEOUT_MS = 120_000;
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
        const removed = await cluster.hactl(primary, [
          "members",
          "remove",
          victim.id,
          "--api",
          cluster.apiAddress(primary),
          "--secret-file",
          cluster.secretFile,
        ]);
        assertEquals(removed.code, 0, removed.stdout + removed.stderr);
        const remaining = cluster.nodes.map((node) => node.id).filter((id) => id !== victim.id);
        await cluster.waitFor("voters and synchronous set without the removed node", async () => {
          const { names, voters } = await syncAndVoters(cluster, primary);
          return voters === remaining.join(",") && names === expectedNames(remaining, primaryId);
        }, CHANGE_TIMEOUT_MS);
        const marker = acknowledgedSince(load.writer.history.records, 0);
        await cluster.waitFor(
          "writes continue with two voters",
          () => Promise.resolve(acknowledgedSince(load.writer.history.records, 0) >= marker + 10),
          CHANGE_TIMEOUT_MS,
        );
        const added = await cluster.hactl(primary, [
          "members",
          "add",
          victim.id,
          "--api",
          cluster.apiAddress(primary),
          "--secret-file",
          cluster.secretFile,
        ]);
        assertEquals(added.code, 0, added.stdout + added.stderr);
        await cluster.waitFor("the node is a voter again and in the synchronous set", async () => {
          const { names, voters } = await syncAndVoters(cluster, primary);
          return voters === all.join(",") && names === expectedNames(all, primaryId);
        }, REJOIN_TIMEOUT_MS);
      } finally {
        console.log(await stopAndCheckLoad(cluster, load, REJOIN_TIMEOUT_MS));
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
      const posted = await cluster.network.run(primary, [
        "bash",
        "-c",
        `secret="$(cat '${cluster.secretFile}')"
         for i in $(seq 1 ${KV_ENTRIES}); do
           curl -sf --max-time 5 -X POST -H "authorization: Bearer $secret" \\
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
        await cluster.waitFor(
          "writes acknowledged",
          () => Promise.resolve(acknowledgedSince(load.writer.history.records, 0) >= 20),
          30_000,
        );
        await cluster.killNode(oldPrimary);
        const survivors = cluster.nodes.map((n) => n.index).filter((i) => i !== oldPrimary);
        const newPrimary = await cluster.waitHealthy(REJOIN_TIMEOUT_MS, survivors);
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
        await cluster.waitFor("the old primary streams again as a standby", async () => {
          const status = await cluster.status(oldPrimary);
          const observation = status?.postgres.observation;
          return observation?.status === "running" && observation.inRecovery &&
            status?.raft.leader === cluster.node(newPrimary).id;
        }, REJOIN_TIMEOUT_MS);
        const log = await Deno.readTextFile(cluster.node(oldPrimary).logPath);
        assert(log.includes("re-cloning"), "the agent log does not report the re-clone");
      } finally {
        console.log(await stopAndCheckLoad(cluster, load, REJOIN_TIMEOUT_MS));
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
        await cluster.waitFor(
          "writes acknowledged",
          () => Promise.resolve(acknowledgedSince(load.writer.history.records, 0) >= 20),
          30_000,
        );
        // Every process of every node dies at once (agents, watchdogs, Postgres).
        await Promise.all(cluster.nodes.map((node) => cluster.killNode(node.index)));
        const downAtMs = performance.now();
        for (const node of cluster.nodes) cluster.startAgent(node.index);
        await cluster.waitHealthy(REJOIN_TIMEOUT_MS);
        await cluster.waitFor(
          "writes acknowledged after the restart",
          () => Promise.resolve(acknowledgedSince(load.writer.history.records, downAtMs) >= 10),
          REJOIN_TIMEOUT_MS,
        );
      } finally {
        console.log(await stopAndCheckLoad(cluster, load, REJOIN_TIMEOUT_MS));
      }
    });
  },
});
