// Proves that README's three-host deployment works as written: the commands of the block marked
// ```sh readme-deploy are read from README.md itself (so README and this test cannot drift),
// only the example addresses and node1's config directory are substituted, and each runs on
// its host: a network namespace whose /etc/hactl and /var/lib/hactl are bind mounts of its own
// directories, so every node sees the same paths as on a real machine. Afterwards one node is a
// writable primary and a row written through it reaches every node. The Debian `pg_dropcluster`
// line is skipped (with the reason printed): the namespaces share this machine's Postgres
// clusters, and a test must never drop a real one.
import { assert, assertEquals } from "../harness/test_assertions.ts";
import { TestNetwork } from "../harness/netns.ts";
import { requireTool } from "../harness/system_commands.ts";
import { closeNow, openClient } from "../harness/postgres_client.ts";
import { testHactlCommand } from "../cluster/hactl_process.ts";
import type { AgentStatus } from "../../src/agent/agent_handle.ts";
import { isWritablePrimary, STARTUP_TIMEOUT_MS } from "./scenario_cluster.ts";
import {
  readmeDeploySteps,
  type ReadmeStep,
  stepRunsOn,
  substituteForHost,
} from "./readme_steps.ts";

const NODES = 3;
/** The host paths README uses; each namespace bind-mounts its own directory over them. */
const MOUNTED_PATHS = ["/etc/hactl", "/var/lib/hactl"] as const;
const README = new URL("../../README.md", import.meta.url);

/** The per-test directories and the network. */
interface Deployment {
  readonly network: TestNetwork;
  readonly directory: string;
  readonly addresses: readonly string[];
}

/** Directory standing in for `path` on node `number`. */
function hostPath(deployment: Deployment, number: number, path: string): string {
  return `${deployment.directory}/node${number}${path}`;
}

/** A shell that mounts node `number`'s directories, enters the shared work dir, runs `command`. */
function hostShell(deployment: Deployment, number: number, command: string): string[] {
  const mounts = MOUNTED_PATHS.map((path) =>
    `mount --bind '${hostPath(deployment, number, path)}' '${path}'`
  );
  const script = [
    "set -e",
    ...mounts,
    `cd '${deployment.directory}/work'`,
    `export PATH='${deployment.directory}/bin':"$PATH" NO_COLOR=1`,
    `exec sh -c "$0"`,
  ].join("\n");
  return [requireTool("sh"), "-c", script, command];
}

/** Runs one README step on every host it names; `hactl run` steps are started, not awaited. */
async function runStep(deployment: Deployment, step: ReadmeStep): Promise<void> {
  if (step.command.startsWith("pg_dropcluster")) {
    console.log(
      `readme deploy: skipping "${step.command}": the namespaces share this machine's ` +
        "Postgres clusters (no Debian main cluster of their own), and a test must not drop one",
    );
    return;
  }
  for (let number = 1; number <= NODES; number++) {
    if (!stepRunsOn(step, number)) continue;
    const command = substituteForHost(step.command, number, deployment.addresses);
    const argv = hostShell(deployment, number, command);
    if (/\bhactl run\b/.test(command)) {
      deployment.network.spawn(number - 1, argv, {
        logPath: `${deployment.directory}/node${number}.log`,
      });
      continue;
    }
    const output = await deployment.network.run(number - 1, argv, {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    assert(
      output.success,
      `readme deploy: "${command}" failed on node${number} (exit ${output.code}): ` +
        `${output.stdout}${output.stderr}`,
    );
  }
}

/** Makes the directories, the `hactl` on PATH and the mount points; returns those it created. */
async function prepare(deployment: Deployment): Promise<string[]> {
  const { directory } = deployment;
  await Deno.chmod(directory, 0o755);
  for (const sub of ["work", "bin"]) await Deno.mkdir(`${directory}/${sub}`);
  const quoted = testHactlCommand([]).map((part) => `'${part.replaceAll("'", "'\\''")}'`);
  await Deno.writeTextFile(`${directory}/bin/hactl`, `#!/bin/sh\nexec ${quoted.join(" ")} "$@"\n`);
  await Deno.chmod(`${directory}/bin/hactl`, 0o755);
  for (let number = 1; number <= NODES; number++) {
    await Deno.mkdir(`${directory}/node${number}`, { mode: 0o755 });
    for (const path of MOUNTED_PATHS) {
      await Deno.mkdir(hostPath(deployment, number, path), { recursive: true, mode: 0o755 });
    }
  }
  const created: string[] = [];
  for (const path of MOUNTED_PATHS) {
    const existed = await Deno.stat(path).then(() => true, () => false);
    if (existed) continue;
    await Deno.mkdir(path, { mode: 0o755 });
    created.push(path);
  }
  return created;
}

/** node `number`'s /status through curl inside its namespace, or null. */
async function status(deployment: Deployment, number: number): Promise<AgentStatus | null> {
  const address = deployment.addresses[number - 1];
  // With TLS (init --nodes turns it on) the API is HTTPS, verified against the cluster CA.
  const caFile = `${hostPath(deployment, number, "/etc/hactl")}/tls/ca.crt`;
  const tls = await Deno.stat(caFile).then(() => true, () => false);
  const output = await deployment.network.run(number - 1, [
    requireTool("curl"),
    "-sf",
    "--max-time",
    "1.5",
    ...(tls ? ["--cacert", caFile] : []),
    `${tls ? "https" : "http"}://${address}:8008/status`,
  ], { allowFailure: true, timeoutMs: 3_000 });
  if (!output.success) return null;
  try {
    return JSON.parse(output.stdout) as AgentStatus;
  } catch {
    return null;
  }
}

/** Polls until one node is a writable primary led by a 3-voter Raft group; returns its number. */
async function waitForPrimary(deployment: Deployment): Promise<number> {
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const statuses = await Promise.all(
      Array.from({ length: NODES }, (_, index) => status(deployment, index + 1)),
    );
    const index = statuses.findIndex((s) => s !== null && isWritablePrimary(s));
    if (index >= 0 && statuses[index]?.raft.voters.length === NODES) return index + 1;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`readme deploy: no writable primary with ${NODES} voters in time`);
}

/** Runs `statement` on node `number` as the superuser through its Unix socket. */
async function sql(deployment: Deployment, number: number, statement: string): Promise<unknown[]> {
  const socket = `${hostPath(deployment, number, "/var/lib/hactl")}/node${number}/pgdata.hactl`;
  const client = openClient(
    { host: socket, port: 5432, user: "postgres", database: "postgres" },
    5_000,
  );
  try {
    return [...await client.unsafe(statement)];
  } finally {
    await closeNow(client);
  }
}

/** Polls until the row is readable on node `number`. */
async function waitForRow(deployment: Deployment, number: number): Promise<void> {
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  let last = "";
  while (performance.now() < deadline) {
    try {
      const rows = await sql(deployment, number, "SELECT note FROM readme_deploy");
      if (rows.length === 1) return;
      last = `${rows.length} rows`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`readme deploy: the row never reached node${number} (last: ${last})`);
}

async function printLogs(directory: string): Promise<void> {
  for (let number = 1; number <= NODES; number++) {
    const text = await Deno.readTextFile(`${directory}/node${number}.log`).catch(() => "");
    console.error(`----- node${number} -----\n${text.split("\n").slice(-40).join("\n")}`);
  }
}

Deno.test("README's three-host deployment runs as written and replicates a row to every node", async () => {
  const steps = readmeDeploySteps(await Deno.readTextFile(README));
  assert(steps.some((step) => step.command.includes("--bootstrap")), "no bootstrap step");
  requireTool("curl");
  const network = await TestNetwork.create({
    hosts: NODES,
    subnet: 10 + Math.floor(Math.random() * 80),
  });
  const directory = await Deno.makeTempDir({ prefix: "hactl-readme-deploy-" });
  const addresses = Array.from({ length: NODES }, (_, index) => network.host(index).address);
  const deployment: Deployment = { network, directory, addresses };
  let created: string[] = [];
  let failed = true;
  try {
    created = await prepare(deployment);
    for (const step of steps) await runStep(deployment, step);
    const primary = await waitForPrimary(deployment);
    await sql(deployment, primary, "CREATE TABLE readme_deploy (note text)");
    await sql(deployment, primary, "INSERT INTO readme_deploy VALUES ('through the primary')");
    for (let number = 1; number <= NODES; number++) await waitForRow(deployment, number);
    const standbys = await Promise.all([1, 2, 3].map((number) => status(deployment, number)));
    assertEquals(standbys.filter((s) => s !== null && isWritablePrimary(s)).length, 1);
    failed = false;
  } finally {
    await network.destroy();
    for (const path of created) await Deno.remove(path).catch(() => {});
    if (failed) {
      await printLogs(directory);
      console.error(`readme deploy: logs kept in ${directory}`);
    } else {
      await Deno.remove(directory, { recursive: true }).catch(() => {});
    }
  }
});
