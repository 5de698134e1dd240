/**
 * A fresh N-node hactl cluster for the fault scenarios: every node is a real `hactl run` agent
 * (running as the postgres user) supervising a real Postgres, each in its own network namespace
 * of a {@link TestNetwork}, so partitions, freezes and kills hit one "machine" at a time.
 *
 * Every host uses the same ports (raft 7401, api 8008, postgres 5432) on its own address. The
 * test process stays in the root namespace: it reaches Postgres through each node's Unix socket
 * directory (`<postgres.data_dir>.hactl`, shared filesystem) as the superuser (pg_ident maps
 * root), and the REST API by running curl inside the node's namespace.
 *
 * @module
 */
import { generateClusterSecret, writeClusterSecretFile } from "../../src/config/cluster_secret.ts";
import { renderConfigTemplate } from "../../src/config/config_template.ts";
import type { AgentStatus } from "../../src/agent/agent_handle.ts";
import { lookupUser } from "../../src/postgres/files.ts";
import { testHactlCommand as hactlCommand } from "../cluster/hactl_process.ts";
import { type HostProcess, TestNetwork } from "../harness/netns.ts";
import type { ClockSkewOptions } from "../harness/clock_skew.ts";
import { type CommandOutput, requireTool } from "../harness/system_commands.ts";
import { closeNow, openClient, type PostgresTarget } from "../harness/postgres_client.ts";

/** Ports every host uses on its own address. */
export const RAFT_PORT = 7401;
/** REST API port on every host. */
export const API_PORT = 8008;
/** Postgres port on every host. */
export const POSTGRES_PORT = 5432;
/** Gateway port (`gateway.listen`) on every host, when {@link ScenarioClusterOptions.gateway}. */
export const GATEWAY_PORT = 6432;
/** Time for bootstrap plus clones of every standby on a loaded 2-core machine. */
export const STARTUP_TIMEOUT_MS = 120_000;
/** Most time one status request may take (curl inside the namespace). */
const STATUS_TIMEOUT_MS = 1_500;
/** Pause between two polls of {@link ScenarioCluster.waitFor}. */
const POLL_INTERVAL_MS = 100;
/** Time a graceful stop may take before the agent is killed. */
const GRACEFUL_STOP_TIMEOUT_MS = 30_000;
/** Lines of each agent log printed when a scenario fails. */
const LOG_TAIL_LINES = 60;

/** Options of {@link ScenarioCluster.start}. */
export interface ScenarioClusterOptions {
  /** Number of nodes (hosts), at least 1. */
  readonly nodes: number;
  /** Replication mode written into every config; default "quorum". */
  readonly syncMode?: "quorum" | "asynchronous";
  /** cluster.max_lag_bytes; default the product default. */
  readonly maxLagBytes?: number | "unlimited";
  /** Name used in the temp dir and messages. */
  readonly name: string;
  /** The clock node `index`'s agent (and every process it starts) sees; null: the real one. */
  readonly clockSkew?: (index: number) => ClockSkewOptions | null;
  /** Extra hosts without a node (indices nodes..nodes+clientHosts-1), for clients; default 0. */
  readonly clientHosts?: number;
  /** Turn on every node's gateway port ({@link GATEWAY_PORT}); default off. */
  readonly gateway?: boolean;
}

/** One node of a scenario cluster. */
export interface ScenarioNode {
  readonly index: number;
  /** Node id, "node<index+1>". */
  readonly id: string;
  readonly address: string;
  readonly configPath: string;
  readonly dataDirectory: string;
  readonly socketDirectory: string;
  readonly logPath: string;
  /** The running `hactl run` process, or null while stopped. */
  agent: HostProcess | null;
}

/** A running cluster in namespaces; see the module documentation. */
export class ScenarioCluster {
  readonly network: TestNetwork;
  readonly directory: string;
  readonly nodes: readonly ScenarioNode[];
  readonly #name: string;
  readonly #clockSkew: (index: number) => ClockSkewOptions | null;

  private constructor(
    network: TestNetwork,
    directory: string,
    nodes: ScenarioNode[],
    name: string,
    clockSkew: ((index: number) => ClockSkewOptions | null) | undefined,
  ) {
    this.network = network;
    this.directory = directory;
    this.nodes = nodes;
    this.#name = name;
    this.#clockSkew = clockSkew ?? (() => null);
  }

  /**
   * Creates the network and the configs, bootstraps node 0, starts the others and waits until
   * one primary has N-1 streaming standby voters. On failure everything is torn down (logs kept).
   */
  static async start(options: ScenarioClusterOptions): Promise<ScenarioCluster> {
    requireTool("nft"); // partitions need it: fail here with the package name, not mid-scenario
    requireTool("curl");
    // A random subnet keeps parallel scenario files apart on the shared 10.231/16 range.
    const subnet = 100 + Math.floor(Math.random() * 150);
    const hosts = options.nodes + (options.clientHosts ?? 0);
    const network = await TestNetwork.create({ hosts, subnet });
    const directory = await Deno.makeTempDir({ prefix: `hactl-scenario-${options.name}-` });
    let cluster: ScenarioCluster | null = null;
    try {
      const nodes = await writeConfigs(network, directory, options);
      cluster = new ScenarioCluster(network, directory, nodes, options.name, options.clockSkew);
      cluster.startAgent(0, true);
      await cluster.waitFor("node1 bootstraps as primary", async () => {
        return (await cluster!.primaryIndex()) === 0;
      }, STARTUP_TIMEOUT_MS);
      for (let index = 1; index < options.nodes; index++) cluster.startAgent(index);
      await cluster.waitHealthy(STARTUP_TIMEOUT_MS);
      return cluster;
    } catch (error) {
      if (cluster !== null) await cluster.destroy(true);
      else await network.destroy();
      throw error;
    }
  }

  /** The node at `index`. */
  node(index: number): ScenarioNode {
    const node = this.nodes[index];
    if (node === undefined) {
      throw new Error(
        `ScenarioCluster.node: no node ${index}; nodes are 0..${this.nodes.length - 1}`,
      );
    }
    return node;
  }

  /** Starts the agent of node `index` (as the postgres user, inside its namespace). */
  startAgent(index: number, bootstrap = false): void {
    const node = this.node(index);
    if (node.agent !== null) throw new Error(`startAgent: ${node.id} already runs`);
    const argv = hactlCommand([
      "run",
      "--config",
      node.configPath,
      ...(bootstrap ? ["--bootstrap"] : []),
    ]);
    const skew = this.#clockSkew(index);
    const agent = this.network.spawn(index, argv, {
      user: "postgres",
      logPath: node.logPath,
      env: { NO_COLOR: "1", ...(skew === null ? {} : { FAKETIME_DISABLE_SHM: "1" }) },
      // The fake clock is preloaded into the agent only, not into the root wrappers before it.
      ...(skew === null ? {} : { clockSkew: skew }),
    });
    node.agent = agent;
    agent.status.finally(() => {
      if (node.agent === agent) node.agent = null;
    });
  }

  /** The cluster secret file every node's config names. */
  get secretFile(): string {
    return `${this.directory}/cluster.secret`;
  }

  /** Runs `hactl ARGS` to completion inside node `index`'s namespace (as root). */
  async hactl(index: number, args: readonly string[]): Promise<CommandOutput> {
    return await this.network.run(index, hactlCommand(args), {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  }

  /** The REST API address of node `index` ("host:port"). */
  apiAddress(index: number): string {
    return `${this.node(index).address}:${API_PORT}`;
  }

  /** Pid of the running agent of node `index`; throws when it does not run. */
  agentPid(index: number): number {
    const agent = this.node(index).agent;
    if (agent === null) throw new Error(`agentPid: the agent of node ${index} does not run`);
    return agent.pid;
  }

  /** SIGKILLs every process of node `index` (agent, watchdog, Postgres): a power cut. */
  async killNode(index: number): Promise<void> {
    await this.network.killHost(index);
    this.node(index).agent = null;
  }

  /** SIGTERMs the agent of node `index` and waits for it to exit (it stops its Postgres). */
  async stopAgent(index: number): Promise<void> {
    const agent = this.node(index).agent;
    if (agent === null) return;
    Deno.kill(agent.pid, "SIGTERM");
    const timer = setTimeout(() => this.network.killHost(index), GRACEFUL_STOP_TIMEOUT_MS);
    await agent.status;
    clearTimeout(timer);
  }

  /** The node's /status, or null when it does not answer within 1.5 s. */
  async status(index: number): Promise<AgentStatus | null> {
    const node = this.node(index);
    const output = await this.network.run(index, [
      requireTool("curl"),
      "-sf",
      "--max-time",
      String(STATUS_TIMEOUT_MS / 1000),
      `http://${node.address}:${API_PORT}/status`,
    ], { allowFailure: true, timeoutMs: STATUS_TIMEOUT_MS + 1_000 });
    if (!output.success) return null;
    try {
      return JSON.parse(output.stdout) as AgentStatus;
    } catch {
      return null;
    }
  }

  /** Every node's status, by index (null for those that do not answer). */
  async statuses(): Promise<(AgentStatus | null)[]> {
    return await Promise.all(this.nodes.map((node) => this.status(node.index)));
  }

  /**
   * Index of a node that says it is the writable primary (write authority, Postgres running,
   * not in recovery, not fenced), skipping `exclude`; null when none does.
   */
  async primaryIndex(exclude: readonly number[] = []): Promise<number | null> {
    const statuses = await this.statuses();
    for (const [index, status] of statuses.entries()) {
      if (!exclude.includes(index) && status !== null && isWritablePrimary(status)) return index;
    }
    return null;
  }

  /** Polls `predicate` until it holds; throws naming `what` after `timeoutMs`. */
  async waitFor(
    what: string,
    predicate: () => Promise<boolean> | boolean,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let lastError = "";
    while (performance.now() < deadline) {
      try {
        if (await predicate()) return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
    throw new Error(
      `${this.#name}: timed out after ${timeoutMs} ms waiting until ${what}` +
        (lastError === "" ? "" : ` (last error: ${lastError})`) +
        `; agent logs are in ${this.directory}`,
    );
  }

  /**
   * Waits until one node is the writable primary and every other running agent is a streaming
   * standby voter following it; returns the primary's index. `expectedNodes` lists the nodes
   * that must take part (default all).
   */
  async waitHealthy(
    timeoutMs: number,
    expectedNodes: readonly number[] = this.nodes.map((n) => n.index),
  ): Promise<number> {
    let primary: number | null = null;
    await this.waitFor("one primary with every other node a streaming standby voter", async () => {
      const statuses = await this.statuses();
      primary = statuses.findIndex((s) => s !== null && isWritablePrimary(s));
      const leader = statuses[primary];
      if (primary < 0 || leader === undefined || leader === null) return false;
      if (leader.raft.voters.length !== this.nodes.length) return false;
      const leaderId = leader.nodeId;
      return expectedNodes.every((index) => {
        if (index === primary) return true;
        const status = statuses[index];
        const observation = status?.postgres.observation;
        // Its WAL receiver runs: a standby just started (after a rewind) reports a position
        // before it streams, and a planned stop of the primary then could not hand over to it.
        return observation?.status === "running" && observation.inRecovery &&
          observation.receivingWal && status?.raft.leader === leaderId &&
          leader.peers.some((peer) => peer.id === status.nodeId && peer.lagBytes !== null);
      });
    }, timeoutMs);
    if (primary === null || primary < 0) throw new Error("waitHealthy: no primary found");
    return primary;
  }

  /** How to reach node `index`'s Postgres as the superuser through its Unix socket. */
  target(index: number): PostgresTarget {
    const node = this.node(index);
    return {
      name: node.id,
      connection: {
        host: node.socketDirectory,
        port: POSTGRES_PORT,
        user: "postgres",
        database: "postgres",
      },
    };
  }

  /** Targets of every node, in index order. */
  targets(): PostgresTarget[] {
    return this.nodes.map((node) => this.target(node.index));
  }

  /** Runs `statement` on node `index` over its socket and returns the rows. */
  async sql<T = Record<string, unknown>>(
    index: number,
    statement: string,
    timeoutMs = 5_000,
  ): Promise<T[]> {
    const client = openClient(this.target(index).connection, timeoutMs);
    try {
      const rows = await Promise.race([
        client.unsafe(statement),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`sql on node ${index} timed out`)), timeoutMs)
        ),
      ]);
      return rows as unknown as T[];
    } finally {
      await closeNow(client);
    }
  }

  /** The last lines of every agent log, for failure messages. */
  async logTails(): Promise<string> {
    const parts: string[] = [];
    for (const node of this.nodes) {
      const text = await Deno.readTextFile(node.logPath).catch(() => "");
      const lines = text.split("\n").slice(-LOG_TAIL_LINES).join("\n");
      parts.push(`----- ${node.id} (${node.logPath}) -----\n${lines}`);
    }
    return parts.join("\n");
  }

  /**
   * Kills everything and deletes the namespaces; removes the directory unless `keepLogs`
   * (a failed scenario keeps the agent logs and prints where they are).
   */
  async destroy(keepLogs: boolean): Promise<void> {
    await this.network.destroy();
    for (const node of this.nodes) node.agent = null;
    if (keepLogs) {
      console.error(`${this.#name}: scenario failed; agent logs kept in ${this.directory}`);
      console.error(await this.logTails());
    } else {
      await Deno.remove(this.directory, { recursive: true }).catch(() => {});
    }
  }
}

/** True when the status says its node is the writable, unfenced primary. */
export function isWritablePrimary(status: AgentStatus): boolean {
  const observation = status.postgres.observation;
  return status.raft.writeAuthority && observation?.status === "running" &&
    !observation.inRecovery && !observation.fenced;
}

/**
 * Runs `body` on a fresh cluster, always destroys it, and keeps the logs when `body` throws.
 */
export async function withScenarioCluster(
  options: ScenarioClusterOptions,
  body: (cluster: ScenarioCluster) => Promise<void>,
): Promise<void> {
  const cluster = await ScenarioCluster.start(options);
  let failed = true;
  try {
    await body(cluster);
    failed = false;
  } finally {
    await cluster.destroy(failed);
  }
}

async function writeConfigs(
  network: TestNetwork,
  directory: string,
  options: ScenarioClusterOptions,
): Promise<ScenarioNode[]> {
  const owner = await lookupUser("postgres");
  await Deno.chmod(directory, 0o755);
  await Deno.chown(directory, owner.uid, owner.gid);
  const secretFile = `${directory}/cluster.secret`;
  await writeClusterSecretFile(secretFile, generateClusterSecret());
  await Deno.chown(secretFile, owner.uid, owner.gid);
  const ids = Array.from({ length: options.nodes }, (_, index) => `node${index + 1}`);
  const nodes: ScenarioNode[] = [];
  for (const [index, id] of ids.entries()) {
    const address = network.host(index).address;
    const peers = ids.flatMap((other, otherIndex) =>
      otherIndex === index ? [] : [`${other}=${network.host(otherIndex).address}:${RAFT_PORT}`]
    );
    const nodeDirectory = `${directory}/${id}`;
    const configPath = `${directory}/${id}.toml`;
    const text = renderConfigTemplate({
      "node.id": id,
      "node.data_dir": `${nodeDirectory}/state`,
      "cluster.name": "scenario",
      "cluster.secret_file": secretFile,
      "cluster.peers": peers,
      "cluster.sync_mode": options.syncMode ?? "quorum",
      ...(options.maxLagBytes === undefined
        ? {}
        : { "cluster.max_lag_bytes": options.maxLagBytes }),
      "raft.listen": `${address}:${RAFT_PORT}`,
      "raft.advertise": `${address}:${RAFT_PORT}`,
      "api.listen": `${address}:${API_PORT}`,
      "postgres.data_dir": `${nodeDirectory}/pgdata`,
      "postgres.listen_address": address,
      "postgres.advertise_host": address,
      "postgres.port": POSTGRES_PORT,
      ...(options.gateway === true ? { "gateway.listen": `${address}:${GATEWAY_PORT}` } : {}),
    });
    await Deno.writeTextFile(configPath, text);
    await Deno.mkdir(nodeDirectory, { recursive: true, mode: 0o700 });
    await Deno.chown(nodeDirectory, owner.uid, owner.gid);
    nodes.push({
      index,
      id,
      address,
      configPath,
      dataDirectory: `${nodeDirectory}/pgdata`,
      socketDirectory: `${nodeDirectory}/pgdata.hactl`,
      logPath: `${directory}/${id}.log`,
      agent: null,
    });
  }
  return nodes;
}
