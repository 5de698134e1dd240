/**
 * A real 3-node cluster of `hactl run` processes on loopback, each supervising a real
 * Postgres: bootstrap, replication of data, roles and grants, SIGKILL of the primary with
 * no acknowledged row lost, rejoin of the old primary by pg_rewind, re-clone when its WAL
 * is gone, and clear errors for bad configs and flags.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import postgres from "postgres";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { assertNoEscapedErrors } from "./hactl_process.ts";
import { testHactlCommand } from "./hactl_process.ts";

const STARTUP_MS = 180_000;

async function query<T>(cluster: LocalCluster, id: string, text: string): Promise<T[]> {
  const sql = cluster.superuser(id);
  try {
    return await sql.unsafe(text) as unknown as T[];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A client of the app role through node `id`'s gateway port. */
function viaGateway(cluster: LocalCluster, id: string): postgres.Sql {
  return postgres({
    host: "127.0.0.1",
    port: cluster.node(id).gatewayPort,
    user: "app",
    password: "app-secret",
    database: "postgres",
    max: 1,
    connect_timeout: 5,
    idle_timeout: 0,
    fetch_types: false,
    prepare: false,
    onnotice: () => {},
  });
}

async function logOf(cluster: LocalCluster, id: string): Promise<string> {
  return await Deno.readTextFile(cluster.node(id).logPath).catch(() => "");
}

Deno.test({
  name:
    "a 3-node cluster replicates, fails over on SIGKILL without loss, and rejoins the old primary",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-cluster-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: 26000,
      hactlCommand: testHactlCommand,
    });
    let failed = true;
    // Later stages build on earlier ones: stop at the first failure.
    const stage = async (name: string, body: () => Promise<void>) => {
      if (!await t.step(name, body)) throw new Error(`stage failed: ${name}`);
    };
    try {
      let primary = "";
      await stage("bootstrap: one primary, two streaming standby voters", async () => {
        await cluster.start("node1", true);
        await cluster.waitFor(
          "node1 primary",
          async () => (await cluster.primary()) === "node1",
          STARTUP_MS,
        );
        await cluster.start("node2");
        await cluster.start("node3");
        primary = await cluster.waitUntilHealthy(STARTUP_MS);
        assertEquals(primary, "node1");
        const status = await cluster.status("node1");
        assertEquals(status?.raft.voters, ["node1", "node2", "node3"]);
        // Quorum-sync follows the membership: the primary waits for one of the two standbys.
        await cluster.waitFor("synchronous_standby_names over both standbys", async () => {
          const current = await cluster.status("node1");
          return current?.postgres.observation?.synchronousStandbyNames ===
            'ANY 1 ("node2", "node3")';
        }, 10_000);
      });

      await stage("a table, a role with a password and a GRANT reach every standby", async () => {
        await query(cluster, primary, "CREATE TABLE accounts (id int PRIMARY KEY, owner text)");
        await query(cluster, primary, "INSERT INTO accounts VALUES (1, 'alice'), (2, 'bob')");
        await query(cluster, primary, "CREATE ROLE app LOGIN PASSWORD 'app-secret'");
        await query(cluster, primary, "GRANT SELECT, INSERT ON accounts TO app");
        for (const standby of ["node2", "node3"]) {
          await cluster.waitFor(`rows on ${standby}`, async () => {
            const rows = await query<{ count: string }>(
              cluster,
              standby,
              "SELECT count(*) FROM accounts",
            );
            return rows[0]?.count === "2";
          }, 30_000);
          // The role logs in on the standby with its password, over TCP (scram-sha-256).
          const app = postgres({
            host: "127.0.0.1",
            port: cluster.node(standby).postgresPort,
            user: "app",
            password: "app-secret",
            database: "postgres",
            max: 1,
            connect_timeout: 5,
          });
          try {
            const rows = await app`SELECT owner FROM accounts ORDER BY id`;
            assertEquals(rows.map((row) => row.owner), ["alice", "bob"]);
          } finally {
            await app.end({ timeout: 5 });
          }
        }
      });

      await stage("every node's gateway port reaches the primary", async () => {
        for (const node of cluster.nodes) {
          const sql = viaGateway(cluster, node.id);
          try {
            const [row] = await sql`SELECT pg_is_in_recovery() AS standby,
                                           current_setting('port') AS port`;
            assertEquals(row?.standby, false, `${node.id}'s gateway reached a standby`);
            assertEquals(Number(row?.port), cluster.node(primary).postgresPort);
            await sql`INSERT INTO accounts VALUES (${10 + cluster.nodes.indexOf(node)}, 'gateway')`;
          } finally {
            await sql.end({ timeout: 5 });
          }
        }
      });

      const survivor = cluster.nodes.find((node) => node.id !== primary)!.id;

      const acknowledged: number[] = [];
      let newPrimary = "";
      await stage(
        "SIGKILL of the primary: a new writable primary with every acknowledged row",
        async () => {
          const writer = cluster.primaryClient("app", "app-secret");
          try {
            for (let id = 100; id < 200; id++) {
              await writer.run((sql) => sql`INSERT INTO accounts VALUES (${id}, 'writer')`);
              acknowledged.push(id);
            }
            await cluster.kill(primary);
            const killedAt = performance.now();
            let next = 200;
            while (performance.now() - killedAt < 60_000) {
              try {
                // A retried row may have committed unacknowledged (the connection broke after
                // the commit): ON CONFLICT keeps the retry from failing on it for ever.
                await writer.run((sql) =>
                  sql`INSERT INTO accounts VALUES (${next}, 'writer') ON CONFLICT DO NOTHING`
                );
                acknowledged.push(next);
                next++;
                if (next >= 210) break;
              } catch {
                await new Promise((resolve) => setTimeout(resolve, 50));
              }
            }
            assert(next >= 210, "writes resumed on a new primary");
          } finally {
            await writer.close();
          }
          newPrimary = (await cluster.primary()) ?? "";
          assert(newPrimary !== "" && newPrimary !== primary, `new primary: ${newPrimary}`);
          const rows = await query<{ id: number }>(cluster, newPrimary, "SELECT id FROM accounts");
          const present = new Set(rows.map((row) => Number(row.id)));
          assertEquals(
            acknowledged.filter((id) => !present.has(id)),
            [],
            "no acknowledged row lost",
          );
        },
      );

      // Cutting sessions to a deposed primary is shown on sockets in test/gateway/.
      await stage(
        "after the failover, a survivor's gateway reaches the new primary",
        async () => {
          const sql = viaGateway(cluster, survivor);
          try {
            await cluster.waitFor("the gateway reaches the new primary", async () => {
              try {
                const [row] = await sql`SELECT pg_is_in_recovery() AS standby,
                                             current_setting('port') AS port`;
                return row?.standby === false &&
                  Number(row?.port) === cluster.node(newPrimary).postgresPort;
              } catch {
                return false;
              }
            }, 30_000);
            await sql`INSERT INTO accounts VALUES (20, 'gateway after failover')`;
          } finally {
            await sql.end({ timeout: 5 });
          }
        },
      );

      await stage(
        "the old primary comes back as a standby of the new one, by pg_rewind",
        async () => {
          await cluster.start(primary);
          await cluster.waitFor(`${primary} streaming from ${newPrimary}`, async () => {
            const status = await cluster.status(primary);
            const observation = status?.postgres.observation;
            return observation?.status === "running" && observation.inRecovery &&
              status?.raft.leader === newPrimary;
          }, STARTUP_MS);
          await cluster.waitFor(
            "the agent log to report the rewind",
            async () => (await logOf(cluster, primary)).includes("by pg_rewind"),
            10_000,
          );
          await cluster.waitFor("old primary has the rows written after failover", async () => {
            const rows = await query<{ count: string }>(
              cluster,
              primary,
              "SELECT count(*) FROM accounts WHERE id >= 200",
            );
            return Number(rows[0]?.count) >= 10;
          }, 30_000);
        },
      );

      await stage(
        "a deposed primary whose WAL is gone rejoins by a fresh pg_basebackup",
        async () => {
          const victim = newPrimary;
          await cluster.kill(victim);
          await cluster.waitFor("another primary", async () => {
            const current = await cluster.primary();
            return current !== null && current !== victim;
          }, 60_000);
          const walDirectory = `${cluster.node(victim).dataDirectory}/pg_wal`;
          for await (const entry of Deno.readDir(walDirectory)) {
            if (/^[0-9A-F]{24}$/.test(entry.name)) {
              await Deno.remove(`${walDirectory}/${entry.name}`);
            }
          }
          await cluster.start(victim);
          await cluster.waitFor(`${victim} re-cloned and streaming`, async () => {
            const status = await cluster.status(victim);
            const observation = status?.postgres.observation;
            return observation?.status === "running" && observation.inRecovery === true;
          }, STARTUP_MS);
          await cluster.waitFor(
            "the agent log to report the re-clone",
            async () => (await logOf(cluster, victim)).includes("re-cloning"),
            10_000,
          );
        },
      );
      // No agent may have had an uncaught error or unhandled rejection (issue 11).
      await assertNoEscapedErrors(cluster.nodes.map((node) => node.logPath));
      failed = false;
    } finally {
      await cluster.destroy(failed);
      if (failed) console.error(`cluster test failed; logs kept in ${directory}`);
    }
  },
});
