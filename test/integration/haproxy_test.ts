/**
 * Patroni's stock haproxy.cfg (`option httpchk` = `OPTIONS /`, `http-check expect status
 * 200`, `inter 3s fall 3 rise 2 on-marked-down shutdown-sessions`), unchanged but for the
 * addresses, in front of a real 3-node hactl cluster with the real haproxy (apt package
 * haproxy): haproxy's primary backend never has two servers UP at once — polled from its
 * stats (the same table as `show stat`) through a SIGKILL failover and a planned switchover —
 * and writes through haproxy succeed after each. On the way, every node's /metrics (leader
 * and standbys, with per-peer families filled) passes `promtool check metrics`.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import postgres from "postgres";
import { LocalCluster } from "../../src/demo/local_cluster.ts";
import { readClusterSecret } from "../../src/config/cluster_secret.ts";
import { adminAuthorization } from "../api/test_tokens.ts";
import { testHactlCommand } from "../cluster/hactl_process.ts";

const STARTUP_MS = 180_000;
const BASE_PORT = 27700;
const PROXY_PORT = BASE_PORT + 90;
const STATS_PORT = BASE_PORT + 91;
/** haproxy needs fall × inter (9 s) to mark a server DOWN; a failover must settle within this. */
const SETTLE_MS = 90_000;

/** Patroni's haproxy.cfg with this cluster's addresses (one server line per node). */
function haproxyConfig(cluster: LocalCluster): string {
  const servers = cluster.nodes.map((node) =>
    `    server postgresql_127.0.0.1_${node.postgresPort} 127.0.0.1:${node.postgresPort} ` +
    `maxconn 100 check port ${node.apiPort}`
  );
  return [
    "global",
    "    maxconn 100",
    "",
    "defaults",
    "    log global",
    "    mode tcp",
    "    retries 2",
    "    timeout client 30m",
    "    timeout connect 4s",
    "    timeout server 30m",
    "    timeout check 5s",
    "",
    "listen stats",
    "    mode http",
    `    bind 127.0.0.1:${STATS_PORT}`,
    "    stats enable",
    "    stats uri /",
    "",
    "listen batman",
    `    bind 127.0.0.1:${PROXY_PORT}`,
    "    option httpchk",
    "    http-check expect status 200",
    "    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions",
    ...servers,
    "",
  ].join("\n");
}

/** The servers of the `batman` backend that haproxy has UP, from its stats CSV. */
async function serversUp(): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${STATS_PORT}/;csv`, {
    signal: AbortSignal.timeout(2000),
  });
  const lines = (await response.text()).trim().split("\n");
  const header = lines[0]!.replace(/^# /, "").split(",");
  const [proxy, server, status] = ["pxname", "svname", "status"].map((name) =>
    header.indexOf(name)
  );
  return lines.slice(1).map((line) => line.split(",")).filter((fields) =>
    fields[proxy!] === "batman" && !["FRONTEND", "BACKEND"].includes(fields[server!]!) &&
    fields[status!]!.startsWith("UP")
  ).map((fields) => fields[server!]!);
}

/** Polls haproxy's stats every 100 ms and remembers every moment more than one server was UP. */
class UpWatcher {
  readonly overlaps: string[] = [];
  samples = 0;
  #running = true;
  readonly #done: Promise<void>;

  constructor() {
    this.#done = this.#poll();
  }

  async #poll(): Promise<void> {
    while (this.#running) {
      const up = await serversUp().catch(() => null);
      if (up !== null) {
        this.samples++;
        if (up.length > 1) this.overlaps.push(`${new Date().toISOString()}: ${up.join(", ")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}

/** The sum over every node of each unlabelled `hactl_*_total` counter. */
async function counterTotals(cluster: LocalCluster): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const node of cluster.nodes) {
    const page = await (await fetch(`http://127.0.0.1:${node.apiPort}/metrics`)).text();
    for (const match of page.matchAll(/^(hactl_\w+_total) (\d+)$/gm)) {
      totals.set(match[1]!, (totals.get(match[1]!) ?? 0) + Number(match[2]));
    }
  }
  return totals;
}

/** Inserts one row through haproxy; throws when it cannot. */
async function writeThroughProxy(id: number): Promise<void> {
  const sql = postgres({
    host: "127.0.0.1",
    port: PROXY_PORT,
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
  try {
    await sql`INSERT INTO items VALUES (${id})`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Waits until haproxy has exactly `node`'s server UP and a write through it succeeds. */
async function waitRoutedTo(cluster: LocalCluster, node: string, id: number): Promise<void> {
  const name = `postgresql_127.0.0.1_${cluster.node(node).postgresPort}`;
  await cluster.waitFor(`haproxy routes to ${node} only`, async () => {
    const up = await serversUp();
    return up.length === 1 && up[0] === name;
  }, SETTLE_MS);
  await cluster.waitFor(`a write through haproxy (row ${id})`, async () => {
    await writeThroughProxy(id);
    return true;
  }, 30_000);
}

/** What the stages start, stopped in `finally`. */
interface Running {
  haproxy: Deno.ChildProcess | null;
  watcher: UpWatcher | null;
}

/** Starts the cluster, a table and role for writes, and haproxy; returns the primary. */
async function startBehindHaproxy(
  cluster: LocalCluster,
  directory: string,
  running: Running,
): Promise<string> {
  const primary = await cluster.startAll(STARTUP_MS);
  const sql = cluster.superuser(primary);
  try {
    await sql.unsafe("CREATE TABLE items (id int PRIMARY KEY)");
    await sql.unsafe("CREATE ROLE app LOGIN PASSWORD 'app-secret'");
    await sql.unsafe("GRANT SELECT, INSERT ON items TO app");
  } finally {
    await sql.end({ timeout: 5 });
  }
  const configPath = `${directory}/haproxy.cfg`;
  await Deno.writeTextFile(configPath, haproxyConfig(cluster));
  running.haproxy = new Deno.Command("haproxy", {
    args: ["-f", configPath, "-db"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitRoutedTo(cluster, primary, 1);
  return primary;
}

/** SIGKILLs the primary, waits for haproxy to route to the new one, restarts the old node. */
async function failOver(cluster: LocalCluster, old: string): Promise<string> {
  await cluster.kill(old);
  let primary = old;
  await cluster.waitFor("a new primary", async () => {
    const current = await cluster.primary();
    if (current === null || current === old) return false;
    primary = current;
    return true;
  }, SETTLE_MS);
  await waitRoutedTo(cluster, primary, 2);
  await cluster.start(old);
  await cluster.waitUntilHealthy(STARTUP_MS);
  return primary;
}

/** Asks `primary`'s API for a switchover to another node; waits for haproxy to follow. */
async function switchOver(cluster: LocalCluster, directory: string, primary: string) {
  const target = cluster.nodes.find((node) => node.id !== primary)!.id;
  const secret = await readClusterSecret(`${directory}/cluster.secret`);
  const response = await fetch(`http://127.0.0.1:${cluster.node(primary).apiPort}/switchover`, {
    method: "POST",
    headers: {
      authorization: await adminAuthorization(secret),
      "content-type": "application/json",
    },
    body: JSON.stringify({ target }),
  });
  assertEquals(response.status, 200, await response.text());
  await waitRoutedTo(cluster, target, 3);
}

/** `promtool check metrics` on a page: exit code and what it printed. */
async function promtoolCheck(page: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(page));
  await writer.close();
  const result = await child.output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/** Every node's page passes promtool; the leader's has per-peer figures; counters moved. */
async function checkMetrics(cluster: LocalCluster): Promise<void> {
  for (const node of cluster.nodes) {
    const page = await (await fetch(`http://127.0.0.1:${node.apiPort}/metrics`)).text();
    const result = await promtoolCheck(page);
    assertEquals(result.code, 0, `${node.id}: ${result.output}\n${page}`);
  }
  const leader = cluster.node((await cluster.primary())!);
  const page = await (await fetch(`http://127.0.0.1:${leader.apiPort}/metrics`)).text();
  assert(/^hactl_peer_last_contact_seconds\{peer="node\d"\} /m.test(page), page);
  assert(/^hactl_peer_replay_lag_seconds\{peer="node\d"\} /m.test(page), page);
  // The counters saw what happened: two promotions (failover, switchover), at least two
  // elections and leader changes, and the killed primary's rejoin by pg_rewind.
  const totals = await counterTotals(cluster);
  const seen = JSON.stringify([...totals]);
  assert((totals.get("hactl_promotions_total") ?? 0) >= 2, seen);
  assert((totals.get("hactl_elections_total") ?? 0) >= 2, seen);
  assert((totals.get("hactl_leader_changes_total") ?? 0) >= 2, seen);
  assert((totals.get("hactl_rewinds_total") ?? 0) >= 1, seen);
}

Deno.test({
  name: "Patroni's haproxy.cfg never has two primaries UP through a failover and a switchover",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-haproxy-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: BASE_PORT,
      hactlCommand: testHactlCommand,
    });
    const running: Running = { haproxy: null, watcher: null };
    const stage = async (name: string, body: () => Promise<void>) => {
      if (!await t.step(name, body)) throw new Error(`stage failed: ${name}`);
    };
    try {
      let primary = "";
      await stage("a healthy cluster behind haproxy takes writes", async () => {
        primary = await startBehindHaproxy(cluster, directory, running);
        running.watcher = new UpWatcher();
      });
      await stage(
        "SIGKILL of the primary: haproxy moves to the new one, never two UP",
        async () => {
          primary = await failOver(cluster, primary);
        },
      );
      await stage("a planned switchover: haproxy follows, never two UP", async () => {
        await switchOver(cluster, directory, primary);
      });
      await stage("every node's /metrics passes promtool check metrics", async () => {
        await checkMetrics(cluster);
      });
      const watcher = running.watcher!;
      await watcher.stop();
      assert(watcher.samples > 50, `haproxy's stats were read ${watcher.samples} times`);
      assertEquals(watcher.overlaps, [], "moments with two servers UP in the primary backend");
    } finally {
      await running.watcher?.stop();
      running.haproxy?.kill("SIGTERM");
      await running.haproxy?.status;
      await cluster.destroy();
    }
  },
});
