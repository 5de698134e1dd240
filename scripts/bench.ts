/**
 * `deno task bench`: failover time from SIGKILL of the primary (agent and postmaster) to
 * the first successful write through a multi-host connection string, over several kills
 * (median and p90), and each agent's resident memory and idle CPU. Prints the figures;
 * docs/BENCHMARKS.md records them with the method.
 *
 * Flags: --kills N (default 10), --base-port PORT (default 29000).
 */
import { parseArgs } from "node:util";
import { LocalCluster } from "../src/demo/local_cluster.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { kills: { type: "string" }, "base-port": { type: "string" } },
});
const kills = Number(values.kills ?? "10");
// --kills 0 measures only the idle footprint.
const basePort = Number(values["base-port"] ?? "29000");
const STARTUP_MS = 180_000;
const CPU_SAMPLE_MS = 10_000;
const CLOCK_TICKS_PER_SECOND = 100;

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

function residentMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

const directory = await Deno.makeTempDir({ prefix: "hactl-bench-" });
const cluster = await LocalCluster.create({ directory, nodes: 3, basePort });
try {
  let primary = await cluster.startAll(STARTUP_MS);
  const admin = cluster.superuser(primary);
  await admin.unsafe(
    "CREATE ROLE bench LOGIN PASSWORD 'bench'; GRANT ALL ON SCHEMA public TO bench",
  );
  await admin.end();

  // Idle footprint, measured before any failover.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const before = cluster.nodes.map((member) => cpuTicks(member.process!.pid));
  await new Promise((resolve) => setTimeout(resolve, CPU_SAMPLE_MS));
  console.log("node   resident MB   idle CPU (% of one core)");
  for (const [index, member] of cluster.nodes.entries()) {
    const pid = member.process!.pid;
    const cpu = (cpuTicks(pid) - before[index]!) / CLOCK_TICKS_PER_SECOND / (CPU_SAMPLE_MS / 1000) *
      100;
    console.log(
      `${member.id}  ${residentMb(pid).toFixed(1).padStart(11)}   ${cpu.toFixed(2).padStart(8)}`,
    );
  }

  const client = cluster.primaryClient("bench", "bench");
  await client.run((sql) =>
    sql`CREATE TABLE IF NOT EXISTS bench_writes (id bigserial PRIMARY KEY)`
  );
  const seconds: number[] = [];
  for (let kill = 1; kill <= kills; kill++) {
    await client.run((sql) => sql`INSERT INTO bench_writes DEFAULT VALUES`);
    await cluster.kill(primary);
    const killedAt = performance.now();
    for (;;) {
      try {
        await client.run((sql) => sql`INSERT INTO bench_writes DEFAULT VALUES`);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const elapsed = (performance.now() - killedAt) / 1000;
    seconds.push(elapsed);
    console.log(`kill ${kill}: ${primary} killed, first write after ${elapsed.toFixed(2)} s`);
    await cluster.start(primary);
    primary = await cluster.waitUntilHealthy(STARTUP_MS);
  }
  await client.close();
  const sorted = [...seconds].sort((a, b) => a - b);
  if (sorted.length > 0) {
    console.log(
      `failover over ${kills} kills: median ${percentile(sorted, 0.5).toFixed(2)} s, p90 ${
        percentile(sorted, 0.9).toFixed(2)
      } s, min ${sorted[0]!.toFixed(2)} s, max ${sorted[sorted.length - 1]!.toFixed(2)} s`,
    );
  }
} finally {
  await cluster.destroy();
}
