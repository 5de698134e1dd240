import { LocalCluster } from "./demo/local_cluster.ts";
import { loadAgentConfig } from "./config/config_file.ts";
import { readClusterSecret } from "./config/cluster_secret.ts";
import { Agent } from "./agent/agent.ts";
import { Logger } from "./agent/logger.ts";
import { renderStatusTable } from "./cli/demo_status.ts";
const dir = "/tmp/hactl-try";
await Deno.remove(dir, { recursive: true }).catch(() => {});
const cluster = await LocalCluster.create({ directory: dir, nodes: 3, basePort: 28000 });
const agents: Agent[] = [];
for (const node of cluster.nodes) {
  const config = await loadAgentConfig(node.configPath);
  const secret = await readClusterSecret(config.cluster.secretFile);
  agents.push(await Agent.start({ config, secret, bootstrap: node.id === "node1", log: new Logger(node.id, "info") }));
}
const show = () => console.log(renderStatusTable(new Map(agents.map((a) => [a.state.id, a.status()]))));
for (let i = 0; i < 60; i++) {
  await new Promise((r) => setTimeout(r, 2000));
  show();
  const s = agents.map((a) => a.status());
  if (s.filter((x) => x.postgres.observation?.status === "running").length === 3 && s[0]!.raft.voters.length === 3) break;
}
console.log("killing leader agent");
const leader = agents.find((a) => a.state.role === "leader")!;
await leader.stop(true);
const t0 = performance.now();
for (let i = 0; i < 40; i++) {
  await new Promise((r) => setTimeout(r, 500));
  const w = agents.filter((a) => a !== leader).find((a) => a.status().raft.writeAuthority && a.status().postgres.observation?.inRecovery === false);
  if (w) { console.log("new primary", w.state.id, (performance.now() - t0) / 1000); break; }
}
show();
for (const a of agents) if (a !== leader) await a.stop(true);
Deno.exit(0);
