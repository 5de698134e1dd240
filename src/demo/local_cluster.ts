/**
 * A cluster of hactl agents on this machine (loopback ports, one directory), each agent a
 * real `hactl run` process. Used by `hactl demo`, the cluster tests and the benchmark.
 *
 * @module
 */
import { generateClusterSecret, writeClusterSecretFile } from "../config/cluster_secret.ts";
import { renderConfigTemplate, type TemplateValues } from "../config/config_template.ts";
import { createClusterCertificates } from "../cli/tls_files.ts";
import { deriveApiTokens } from "../config/derived_credentials.ts";
import type { AgentStatus } from "../agent/agent_handle.ts";
import { runningAsRoot } from "../postgres/process_runner.ts";
import { lookupUser } from "../postgres/files.ts";
import { hactlCommand } from "../self_command.ts";
import { PrimaryClient, type Sql } from "./primary_client.ts";
import { connectLocal } from "../postgres/sql_client.ts";
import type { PostgresSettings } from "../postgres/settings.ts";

/** Options of a local cluster. */
export interface LocalClusterOptions {
  /** Directory for everything (configs, state, data, logs); created. */
  readonly directory: string;
  readonly nodes: number;
  /** Ports: raft base+i, api base+100+i, postgres base+200+i, gateway base+300+i (1-based i). */
  readonly basePort: number;
  readonly syncMode?: "quorum" | "asynchronous";
  /** Tick length (the default config's 50 ms unless given). */
  readonly tickMs?: number;
  /** argv of `hactl ARGS` for the agents (tests pass a compiled binary's); default: this hactl. */
  readonly hactlCommand?: (args: readonly string[]) => string[];
  /** api.require_read_token for every node (status reads then send the read-only token). */
  readonly requireReadToken?: boolean;
  /** TLS for Postgres and the API with a CA made in `<directory>/tls` (default: off). */
  readonly tls?: boolean;
}

/** One node of the local cluster. */
export interface LocalNode {
  readonly id: string;
  readonly configPath: string;
  readonly apiPort: number;
  readonly postgresPort: number;
  /** The node's gateway port: always forwards to the primary. */
  readonly gatewayPort: number;
  readonly dataDirectory: string;
  readonly logPath: string;
  process: Deno.ChildProcess | null;
}

/** Most time a status request may take. */
const STATUS_TIMEOUT_MS = 1500;

/** A running local cluster. */
export class LocalCluster {
  readonly nodes: LocalNode[] = [];
  /** `Bearer <read-only token>` of the cluster's secret, sent with every status read. */
  #readAuthorization = "";
  /** The cluster CA (PEM file) with TLS on, else null. */
  caFile: string | null = null;
  #httpClient: Deno.HttpClient | undefined;

  private constructor(readonly options: LocalClusterOptions, readonly runAsUser: string | null) {}

  /** Writes the secret and one config per node; starts nothing. */
  static async create(options: LocalClusterOptions): Promise<LocalCluster> {
    const runAsUser = runningAsRoot() ? "postgres" : null;
    const cluster = new LocalCluster(options, runAsUser);
    await Deno.mkdir(options.directory, { recursive: true, mode: 0o755 });
    const secretFile = `${options.directory}/cluster.secret`;
    const secret = generateClusterSecret();
    await writeClusterSecretFile(secretFile, secret);
    cluster.#readAuthorization = `Bearer ${(await deriveApiTokens(secret)).read}`;
    const owner = runAsUser ? await lookupUser(runAsUser) : null;
    if (owner) {
      await Deno.chown(options.directory, owner.uid, owner.gid);
      await Deno.chown(secretFile, owner.uid, owner.gid);
    }
    const ids = Array.from({ length: options.nodes }, (_, index) => `node${index + 1}`);
    const tlsValues = await cluster.#createTlsFiles(ids);
    for (const [index, id] of ids.entries()) {
      const number = index + 1;
      const ports = cluster.portsOf(number);
      const peers = ids.filter((other) => other !== id).map((other) => {
        const otherPorts = cluster.portsOf(ids.indexOf(other) + 1);
        return `${other}=127.0.0.1:${otherPorts.raft},postgres=${otherPorts.postgres},api=${otherPorts.api}`;
      });
      const nodeDirectory = `${options.directory}/${id}`;
      const configPath = `${options.directory}/${id}.toml`;
      const text = renderConfigTemplate({
        "node.id": id,
        "node.data_dir": `${nodeDirectory}/state`,
        "cluster.name": "demo",
        "cluster.secret_file": secretFile,
        "cluster.peers": peers,
        "cluster.sync_mode": options.syncMode ?? "quorum",
        "raft.listen": `127.0.0.1:${ports.raft}`,
        "raft.advertise": `127.0.0.1:${ports.raft}`,
        ...(options.tickMs ? { "raft.tick_ms": options.tickMs } : {}),
        "api.listen": `127.0.0.1:${ports.api}`,
        ...(options.requireReadToken ? { "api.require_read_token": true } : {}),
        "gateway.listen": `127.0.0.1:${ports.gateway}`,
        "postgres.data_dir": `${nodeDirectory}/pgdata`,
        "postgres.listen_address": "127.0.0.1",
        "postgres.advertise_host": "127.0.0.1",
        "postgres.port": ports.postgres,
        ...tlsValues(id),
      });
      await Deno.writeTextFile(configPath, text);
      await Deno.mkdir(nodeDirectory, { recursive: true, mode: 0o700 });
      if (owner) await Deno.chown(nodeDirectory, owner.uid, owner.gid);
      cluster.nodes.push({
        id,
        configPath,
        apiPort: ports.api,
        postgresPort: ports.postgres,
        gatewayPort: ports.gateway,
        dataDirectory: `${nodeDirectory}/pgdata`,
        logPath: `${nodeDirectory}/agent.log`,
        process: null,
      });
    }
    return cluster;
  }

  /** With TLS: a CA and node certificates for 127.0.0.1; returns each node's [tls] values. */
  async #createTlsFiles(ids: readonly string[]): Promise<(id: string) => TemplateValues> {
    if (this.options.tls !== true) return () => ({});
    const directory = `${this.options.directory}/tls`;
    const files = await createClusterCertificates(
      directory,
      "demo",
      ids.map((id) => ({ id, hosts: ["127.0.0.1", "localhost"] })),
    );
    this.caFile = `${directory}/ca.crt`;
    // The agents run as the Postgres OS user when the demo runs as root: they read these.
    const owner = this.runAsUser ? await lookupUser(this.runAsUser) : null;
    if (owner) {
      for (
        const path of [
          directory,
          ...[...files.values()].flatMap((node) => [
            node.certFile,
            node.keyFile,
          ]),
          this.caFile,
        ]
      ) {
        await Deno.chown(path, owner.uid, owner.gid);
      }
    }
    this.#httpClient = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(this.caFile)] });
    return (id) => {
      const node = files.get(id)!;
      return {
        "tls.enabled": true,
        "tls.ca_file": node.caFile,
        "tls.cert_file": node.certFile,
        "tls.key_file": node.keyFile,
      };
    };
  }

  private portsOf(
    number: number,
  ): { raft: number; api: number; postgres: number; gateway: number } {
    const base = this.options.basePort;
    return {
      raft: base + number,
      api: base + 100 + number,
      postgres: base + 200 + number,
      gateway: base + 300 + number,
    };
  }

  /** The node with this id. */
  node(id: string): LocalNode {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (!node) throw new Error(`no node ${id} in this cluster`);
    return node;
  }

  /** Starts a node's agent process (as the postgres user when run as root), with extra environment. */
  async start(
    id: string,
    bootstrap = false,
    environment: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    const node = this.node(id);
    const argv = (this.options.hactlCommand ?? hactlCommand)(["run", "--config", node.configPath]);
    if (bootstrap) argv.push("--bootstrap");
    // Extra environment (e.g. libfaketime's LD_PRELOAD) applies to the agent only, after the
    // user switch, so that it does not also act on the shell and setpriv.
    const pairs = Object.entries(environment).map(([key, value]) => `${key}=${value}`);
    if (pairs.length > 0) argv.unshift("env", ...pairs);
    const command = this.runAsUser
      ? [
        "setpriv",
        `--reuid=${this.runAsUser}`,
        `--regid=${this.runAsUser}`,
        "--init-groups",
        ...argv,
      ]
      : argv;
    await Deno.writeTextFile(node.logPath, "", { append: true });
    if (this.runAsUser) {
      const owner = await lookupUser(this.runAsUser);
      await Deno.chown(node.logPath, owner.uid, owner.gid);
    }
    // The shell appends the agent's output to its log file directly (exec keeps the pid),
    // so the log survives whatever happens to this process.
    const child = new Deno.Command("bash", {
      args: ["-c", 'exec "$@" >> "$HACTL_AGENT_LOG" 2>&1', "bash", ...command],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { NO_COLOR: "1", HACTL_AGENT_LOG: node.logPath },
    }).spawn();
    node.process = child;
  }

  /** SIGKILLs a node's agent and its postmaster: the whole node dies at once. */
  async kill(id: string): Promise<void> {
    const node = this.node(id);
    const postmasterPid = await readPostmasterPid(node.dataDirectory);
    try {
      node.process?.kill("SIGKILL");
    } catch { /* already gone */ }
    if (postmasterPid !== null) {
      try {
        Deno.kill(postmasterPid, "SIGKILL");
      } catch { /* already gone */ }
    }
    await node.process?.status;
    node.process = null;
  }

  /** Stops a node's agent gracefully (it stops its Postgres). */
  async stop(id: string): Promise<void> {
    const node = this.node(id);
    if (!node.process) return;
    try {
      node.process.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        node.process?.kill("SIGKILL");
      } catch { /* gone */ }
    }, 30_000);
    await node.process.status;
    clearTimeout(timer);
    node.process = null;
  }

  /** The node's /status, or null when it does not answer. */
  async status(id: string): Promise<AgentStatus | null> {
    const node = this.node(id);
    try {
      const scheme = this.caFile === null ? "http" : "https";
      const response = await fetch(`${scheme}://127.0.0.1:${node.apiPort}/status`, {
        ...(this.#httpClient === undefined ? {} : { client: this.#httpClient }),
        headers: { authorization: this.#readAuthorization },
        signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return null;
      }
      return await response.json() as AgentStatus;
    } catch {
      return null;
    }
  }

  /** Every node's status (null for those that do not answer). */
  async statuses(): Promise<Map<string, AgentStatus | null>> {
    const entries = await Promise.all(
      this.nodes.map(async (node) => [node.id, await this.status(node.id)] as const),
    );
    return new Map(entries);
  }

  /** The id of the node whose Postgres is the writable primary (per its own status), or null. */
  async primary(): Promise<string | null> {
    for (const [id, status] of await this.statuses()) {
      const observation = status?.postgres.observation;
      if (
        status?.raft.writeAuthority && observation?.status === "running" &&
        !observation.inRecovery && !observation.fenced
      ) {
        return id;
      }
    }
    return null;
  }

  /** Polls until `predicate` holds; throws with `what` after `timeoutMs`. */
  async waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (await predicate().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}; agent logs are in ${this.options.directory}`,
    );
  }

  /** Waits until every node runs and the given number of standbys stream from a primary. */
  async waitUntilHealthy(timeoutMs: number): Promise<string> {
    let primary: string | null = null;
    await this.waitFor("a primary with every other node a streaming standby voter", async () => {
      primary = await this.primary();
      if (primary === null) return false;
      const statuses = await this.statuses();
      const leader = statuses.get(primary)!;
      if (leader.raft.voters.length !== this.nodes.length) return false;
      return [...statuses.entries()].every(([id, status]) => {
        if (id === primary) return true;
        const observation = status?.postgres.observation;
        return observation?.status === "running" && observation.inRecovery &&
          status?.raft.leader === primary;
      });
    }, timeoutMs);
    return primary!;
  }

  /** A client that always writes to the current primary. */
  primaryClient(user: string, password: string): PrimaryClient {
    const hosts = this.nodes.map((node) => ({ hostname: "127.0.0.1", port: node.postgresPort }));
    return new PrimaryClient({ hosts, user, password, caFile: this.caFile });
  }

  /** Bootstraps node1, starts every other node, and waits until the cluster is healthy. */
  async startAll(timeoutMs: number): Promise<string> {
    await this.start(this.nodes[0]!.id, true);
    await this.waitFor(
      "the first node to become primary",
      async () => (await this.primary()) === this.nodes[0]!.id,
      timeoutMs,
    );
    for (const node of this.nodes.slice(1)) await this.start(node.id);
    return await this.waitUntilHealthy(timeoutMs);
  }

  /** A superuser connection to a node's Postgres over its unix socket (root and postgres may use it). */
  superuser(id: string): Sql {
    const node = this.node(id);
    return connectLocal({
      dataDirectory: node.dataDirectory,
      socketDirectory: `${node.dataDirectory}.hactl`,
      port: node.postgresPort,
      superuser: "postgres",
    } as PostgresSettings, { connectTimeoutSeconds: 3 });
  }

  /** libpq multi-host connection string that always reaches the primary. */
  connectionString(user: string, password: string, database = "postgres"): string {
    const hosts = this.nodes.map((node) => `127.0.0.1:${node.postgresPort}`).join(",");
    const tls = this.caFile === null
      ? ""
      : `&sslmode=verify-full&sslrootcert=${encodeURIComponent(this.caFile)}`;
    return `postgresql://${user}:${password}@${hosts}/${database}?target_session_attrs=read-write${tls}`;
  }

  /** Kills every node and removes the directory. */
  async destroy(keepDirectory = false): Promise<void> {
    for (const node of this.nodes) await this.kill(node.id).catch(() => {});
    this.#httpClient?.close();
    this.#httpClient = undefined;
    if (!keepDirectory) {
      await Deno.remove(this.options.directory, { recursive: true }).catch(() => {});
    }
  }
}

/** The postmaster's pid from postmaster.pid, or null. */
export async function readPostmasterPid(dataDirectory: string): Promise<number | null> {
  try {
    const text = await Deno.readTextFile(`${dataDirectory}/postmaster.pid`);
    const pid = Number(text.split("\n")[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
