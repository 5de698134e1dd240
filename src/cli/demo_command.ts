/**
 * `hactl demo`: a 3-node cluster on this machine, and with `--failover` a measured kill of
 * the primary: seconds until a write succeeds on the new primary, every acknowledged row
 * checked, and the old primary shown back as a standby.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { LocalCluster } from "../demo/local_cluster.ts";
import { UsageError } from "./usage_error.ts";
import { renderStatusReport } from "./status_command.ts";

/** Usage text of `hactl demo`. */
export const DEMO_USAGE = `usage: hactl demo [--dir DIR] [--base-port PORT] [--failover] [--exit]

Starts a 3-node cluster on loopback ports, prints how to connect, and runs until Ctrl-C.
  --dir DIR          where everything goes (default: a new directory under /tmp)
  --base-port PORT   Raft on PORT+1.., API on PORT+101.., Postgres on PORT+201.., gateway on
                     PORT+301.. (default 27000)
  --failover         write continuously, SIGKILL the primary, report the failover time and
                     that no acknowledged row was lost, restart the old primary as a standby
  --exit             stop the cluster and exit when done instead of running until Ctrl-C`;

/** The demo's application role (a real role with a password, replicated like any other). */
const DEMO_USER = "demo";
const DEMO_PASSWORD = "demo-password";
const STARTUP_TIMEOUT_MS = 180_000;

/** Runs the demo; returns the exit code. */
export async function demoCommand(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        dir: { type: "string" },
        "base-port": { type: "string" },
        failover: { type: "boolean" },
        exit: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), DEMO_USAGE);
  }
  if (values.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const basePort = Number(values["base-port"] ?? "27000");
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65000) {
    throw new UsageError(
      `--base-port ${values["base-port"]}: expected a port between 1024 and 65000`,
      DEMO_USAGE,
    );
  }
  const directory = values.dir ?? await Deno.makeTempDir({ prefix: "hactl-demo-" });
  const cluster = await LocalCluster.create({ directory, nodes: 3, basePort, tls: true });
  console.log(`hactl demo: 3 nodes in ${directory} (agent logs: ${directory}/node*/agent.log)`);
  try {
    const primary = await startCluster(cluster);
    await createDemoRole(cluster, primary);
    console.log(
      `\nconnect (always to the primary):\n  psql "${
        cluster.connectionString(DEMO_USER, DEMO_PASSWORD)
      }"\n  or through any node's gateway (ports ${
        cluster.nodes.map((node) => node.gatewayPort).join(", ")
      }): psql "host=127.0.0.1 port=${
        cluster.nodes[0]!.gatewayPort
      } user=${DEMO_USER} dbname=postgres sslmode=verify-full sslrootcert=${cluster.caFile}"\n`,
    );
    console.log(
      `status (HTTPS; the config names the cluster CA):\n  scripts/hactl status --config ${
        cluster.node(primary).configPath
      }\n`,
    );
    if (values.failover) await failoverDemo(cluster, primary);
    if (values.exit) return 0;
    console.log("running; Ctrl-C stops the cluster");
    await new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGINT", () => resolve());
      Deno.addSignalListener("SIGTERM", () => resolve());
    });
    return 0;
  } finally {
    console.log("stopping the cluster");
    for (const node of cluster.nodes) await cluster.stop(node.id).catch(() => {});
    if (!values.dir) await cluster.destroy(values.exit !== true);
  }
}

async function startCluster(cluster: LocalCluster): Promise<string> {
  const started = performance.now();
  await cluster.start("node1", true);
  console.log("node1: bootstrapping the first primary (initdb)");
  await cluster.waitFor(
    "node1 to become primary",
    async () => (await cluster.primary()) === "node1",
    STARTUP_TIMEOUT_MS,
  );
  for (const node of cluster.nodes.slice(1)) await cluster.start(node.id);
  console.log("node2, node3: joining (pg_basebackup from node1, then promoted to voters)");
  let last = "";
  const primary = await cluster.waitUntilHealthy(STARTUP_TIMEOUT_MS).finally(() => {});
  const statuses = await cluster.statuses();
  const table = renderStatusReport(statuses);
  if (table !== last) console.log(table);
  last = table;
  console.log(`cluster ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return primary;
}

async function createDemoRole(cluster: LocalCluster, primary: string): Promise<void> {
  const sql = cluster.superuser(primary);
  try {
    const exists = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${DEMO_USER}`;
    if (exists.length === 0) {
      await sql.unsafe(`CREATE ROLE ${DEMO_USER} LOGIN PASSWORD '${DEMO_PASSWORD}'`);
      await sql.unsafe(`GRANT ALL ON SCHEMA public TO ${DEMO_USER}`);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function failoverDemo(cluster: LocalCluster, primary: string): Promise<void> {
  const client = cluster.primaryClient(DEMO_USER, DEMO_PASSWORD);
  const acknowledged: number[] = [];
  try {
    await client.run((sql) =>
      sql`CREATE TABLE IF NOT EXISTS demo_writes (id bigint PRIMARY KEY, at timestamptz DEFAULT now())`
    );
    let next = 1;
    const write = async () => {
      const id = next++;
      await client.run((sql) => sql`INSERT INTO demo_writes (id) VALUES (${id})`);
      acknowledged.push(id);
    };
    for (let count = 0; count < 50; count++) await write();
    console.log(`wrote ${acknowledged.length} rows; SIGKILL of ${primary} (agent and postmaster)`);
    await cluster.kill(primary);
    const killedAt = performance.now();
    let seconds = 0;
    for (;;) {
      try {
        await write();
        seconds = (performance.now() - killedAt) / 1000;
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (performance.now() - killedAt > 120_000) {
        throw new Error("no write succeeded within 120 s of the kill");
      }
    }
    const newPrimary = await cluster.primary();
    console.log(
      `failover: a write succeeded on ${newPrimary ?? "the new primary"} ${
        seconds.toFixed(2)
      } s after the kill`,
    );
    for (let count = 0; count < 50; count++) await write();
    const rows = await client.run((sql) => sql<{ id: string }[]>`SELECT id FROM demo_writes`);
    const present = new Set(rows.map((row) => Number(row.id)));
    const missing = acknowledged.filter((id) => !present.has(id));
    if (missing.length > 0) throw new Error(`acknowledged rows lost: ${missing.join(", ")}`);
    console.log(`no acknowledged row lost (${acknowledged.length} acknowledged, all present)`);
  } finally {
    await client.close();
  }
  console.log(`restarting ${primary}: it must rejoin as a standby (pg_rewind)`);
  await cluster.start(primary);
  await cluster.waitFor(`${primary} to stream as a standby`, async () => {
    const status = await cluster.status(primary);
    const observation = status?.postgres.observation;
    return observation?.status === "running" && observation.inRecovery === true &&
      status?.raft.leader !== null;
  }, STARTUP_TIMEOUT_MS);
  console.log(renderStatusReport(await cluster.statuses()));
  console.log(`${primary} is back as a standby`);
}
