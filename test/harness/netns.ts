/**
 * A private multi-host network for fault scenarios: every "host" is a Linux network namespace
 * with one veth into a bridge that lives in a namespace of its own, so nothing touches the
 * machine's real network. Faults are injected for real: nftables drops (partitions, one-way
 * partitions), SIGSTOP/SIGCONT (freezes), SIGKILL (crashes) and libfaketime (clock skew).
 *
 * Layout of one network with prefix `hx<pid>c<random tag>`:
 * - namespace `<prefix>br` holds bridge `br0` and one port `p<i>` per host;
 * - namespace `<prefix>n<i>` (host i, counted from 0) holds `lo` and `eth0` with the address
 *   `10.231.<subnet>.<i + 1>/24`, reachable only from the other hosts of the same network.
 *
 * Processes started in a host share the root mount namespace: two Postgres servers on one port
 * in two hosts would collide on the Unix socket in /var/run/postgresql, so give each its own
 * `unix_socket_directories`. The test process itself stays in the root namespace and cannot
 * reach 10.231.x.y; reach a host's server through its Unix socket, or from a process started
 * in a host with {@link TestNetwork.spawn}.
 *
 * Requires root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the tools `ip` (iproute2), `nft`
 * (nftables, only for partitions) and `setpriv` (util-linux).
 *
 * @module
 */

import { clockSkew, type ClockSkewOptions } from "./clock_skew.ts";
import { type CommandOutput, requireTool, runCommand, runCommandSync } from "./system_commands.ts";

export { clockSkew, type ClockSkewOptions } from "./clock_skew.ts";

/** Every namespace the harness creates starts with this, followed by the owner's pid. */
export const NAMESPACE_PREFIX = "hx";
/** Upper bound on hosts in one network (addresses .1 to .32 of the /24). */
export const MAX_HOSTS = 32;
/** Name of the nftables table that holds the fault rules inside a host namespace. */
export const FAULT_TABLE = "hactl_faults";

/** Rounds of "list the namespace's processes, signal the new ones" before giving up. */
const MAX_SIGNAL_ROUNDS = 50;
/** Pause between two rounds of SIGKILL, while the kernel reaps the killed processes. */
const KILL_ROUND_PAUSE_MS = 20;
/** How long destroy waits for the processes it started to be reaped. */
const REAP_DEADLINE_MS = 5_000;

/** Options of {@link TestNetwork.create}. */
export interface TestNetworkOptions {
  /** Number of hosts, 1 to {@link MAX_HOSTS}. */
  readonly hosts: number;
  /** Third octet of the private subnet 10.231.<subnet>.0/24; default 0. */
  readonly subnet?: number;
}

/** One host of a {@link TestNetwork}. */
export interface TestHost {
  /** Position of the host, counted from 0. */
  readonly index: number;
  /** Name of the host's network namespace (for `ip netns exec`). */
  readonly namespace: string;
  /** The host's IPv4 address on the private bridge. */
  readonly address: string;
}

/** How to run a command inside a host. */
export interface HostCommandOptions {
  /** Run as this OS user (setpriv --reuid/--regid --init-groups), e.g. "postgres". */
  readonly user?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Run the program under a skewed or drifting clock (libfaketime). */
  readonly clockSkew?: ClockSkewOptions;
}

/** Options of {@link TestNetwork.run}. */
export interface HostRunOptions extends HostCommandOptions {
  /** Text written to the command's standard input. */
  readonly stdin?: string;
  /** Return a non-zero exit instead of throwing. */
  readonly allowFailure?: boolean;
  /** Kill the command after this long (it then exits with code 124). */
  readonly timeoutMs?: number;
}

/** Options of {@link TestNetwork.spawn}. */
export interface HostSpawnOptions extends HostCommandOptions {
  /** Append the process's stdout and stderr to this file (opened as root); default discarded. */
  readonly logPath?: string;
}

/** A process started in a host by {@link TestNetwork.spawn}. */
export interface HostProcess {
  /** Host index the process runs in. */
  readonly host: number;
  /** Process id of the program itself (the wrappers exec into it). */
  readonly pid: number;
  /** Resolves when the process has exited and been reaped. */
  readonly status: Promise<Deno.CommandStatus>;
}

const liveNetworks = new Set<TestNetwork>();

/** A set of network namespaces joined by a bridge; see the module documentation. */
export class TestNetwork {
  readonly #prefix: string;
  readonly #hosts: readonly TestHost[];
  readonly #children = new Set<HostProcess>();
  /** Directed pairs "from>to": packets from host `from` are dropped on arrival at `to`. */
  readonly #blockedPairs = new Set<string>();
  /** Namespaces this network made; destroy deletes these only, never a same-named stranger. */
  readonly #created: string[] = [];
  #destroyed = false;
  #destroying: Promise<void> | null = null;

  private constructor(prefix: string, hosts: readonly TestHost[]) {
    this.#prefix = prefix;
    this.#hosts = hosts;
  }

  /**
   * Creates the namespaces, the bridge and the veth pairs. Throws, after removing whatever it
   * made, when not root or when `ip netns` does not work here.
   */
  static async create(options: TestNetworkOptions): Promise<TestNetwork> {
    checkCreateOptions(options);
    requireRootAndTools();
    // Deno runs test modules of one `deno test` in one process, each with its own copy of this
    // module, so the pid alone is not unique: a random tag separates networks of one process.
    const tag = crypto.getRandomValues(new Uint32Array(1))[0]?.toString(36) ?? "0";
    const prefix = `${NAMESPACE_PREFIX}${Deno.pid}c${tag}`;
    const subnet = options.subnet ?? 0;
    const hosts = Array.from({ length: options.hosts }, (_, index) => ({
      index,
      namespace: `${prefix}n${index}`,
      address: `10.231.${subnet}.${index + 1}`,
    }));
    const network = new TestNetwork(prefix, hosts);
    liveNetworks.add(network);
    installExitHandlers();
    try {
      await network.#build();
    } catch (error) {
      await network.destroy();
      throw error;
    }
    return network;
  }

  /** The namespace name prefix of this network, e.g. "hx4242c1x3f9a". */
  get prefix(): string {
    return this.#prefix;
  }

  /** Number of hosts. */
  get hostCount(): number {
    return this.#hosts.length;
  }

  /** The host at `index` (from 0); throws on an index out of range. */
  host(index: number): TestHost {
    const host = this.#hosts[index];
    if (host === undefined) {
      throw new Error(
        `TestNetwork.host: no host ${index}; this network has hosts 0..${this.#hosts.length - 1}`,
      );
    }
    return host;
  }

  /** Runs `argv` to completion inside host `index` and returns its output. */
  async run(
    index: number,
    argv: readonly string[],
    options: HostRunOptions = {},
  ): Promise<CommandOutput> {
    this.#assertUsable("run");
    const timeoutPrefix = options.timeoutMs === undefined
      ? []
      : [requireTool("timeout"), "--signal=KILL", `${Math.max(options.timeoutMs, 1) / 1000}s`];
    const wrapped = [...this.#wrap(index, options), ...timeoutPrefix, ...argv];
    return await runCommand(wrapped, {
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(options.allowFailure === undefined ? {} : { allowFailure: options.allowFailure }),
      ...(options.env === undefined ? {} : { env: options.env }),
    });
  }

  /**
   * Starts `argv` inside host `index` and returns at once. The returned pid is the program's
   * own (every wrapper execs), so it can be frozen and killed directly.
   */
  spawn(index: number, argv: readonly string[], options: HostSpawnOptions = {}): HostProcess {
    this.#assertUsable("spawn");
    const wrapper = this.#wrap(index, options);
    // The log file is opened by a root shell before setpriv drops privileges, so any user's
    // process can log into the test's temp directory; `exec` keeps the pid the program's.
    const logPrefix = options.logPath === undefined ? [] : [
      requireTool("sh"),
      "-c",
      'log="$1"; shift; exec "$@" >>"$log" 2>&1',
      "sh",
      options.logPath,
    ];
    const namespaceWrapperLength = 4; // ip netns exec <namespace>
    const [ipTool, ...wrapped] = [
      ...wrapper.slice(0, namespaceWrapperLength),
      ...logPrefix,
      ...wrapper.slice(namespaceWrapperLength),
      ...argv,
    ];
    const child = new Deno.Command(ipTool ?? requireTool("ip"), {
      args: wrapped,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      ...(options.env === undefined ? {} : { env: { ...options.env } }),
    }).spawn();
    const process: HostProcess = { host: index, pid: child.pid, status: child.status };
    this.#children.add(process);
    child.status.finally(() => this.#children.delete(process));
    return process;
  }

  /** Returns the pids of every process running in host `index` (`ip netns pids`). */
  async processesOf(index: number): Promise<number[]> {
    return await listNamespacePids(this.host(index).namespace);
  }

  /**
   * Two-way partition: no packet passes between any host of `groupA` and any host of
   * `groupB`. Cumulative with earlier partitions until {@link heal}. Packets are dropped on
   * arrival, so senders see a black hole (timeouts), not an error.
   */
  async partition(groupA: readonly number[], groupB: readonly number[]): Promise<void> {
    this.#assertUsable("partition");
    checkGroups(this, groupA, groupB);
    for (const a of groupA) {
      for (const b of groupB) {
        this.#blockedPairs.add(`${a}>${b}`);
        this.#blockedPairs.add(`${b}>${a}`);
      }
    }
    await this.#applyRules([...groupA, ...groupB]);
  }

  /** Cuts host `index` off from every other host (both directions). */
  async isolate(index: number): Promise<void> {
    const others = this.#hosts.map((h) => h.index).filter((i) => i !== index);
    await this.partition([index], others);
  }

  /** Drops packets from host `from` to host `to` only; `to` can still send to `from`. */
  async partitionOneWay(from: number, to: number): Promise<void> {
    this.#assertUsable("partitionOneWay");
    checkGroups(this, [from], [to]);
    this.#blockedPairs.add(`${from}>${to}`);
    await this.#applyRules([to]);
  }

  /**
   * Two-way partition of one TCP port: between any host of `groupA` and any host of `groupB`,
   * packets to or from `port` are dropped (e.g. the Raft port only, or Postgres replication
   * only); other traffic passes. Cumulative until {@link heal}.
   */
  async partitionPort(
    groupA: readonly number[],
    groupB: readonly number[],
    port: number,
  ): Promise<void> {
    this.#assertUsable("partitionPort");
    checkGroups(this, groupA, groupB);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new Error(`TestNetwork.partitionPort: port must be in 1..65535, got ${port}`);
    }
    for (const a of groupA) {
      for (const b of groupB) {
        this.#blockedPairs.add(`${a}>${b}:${port}`);
        this.#blockedPairs.add(`${b}>${a}:${port}`);
      }
    }
    await this.#applyRules([...groupA, ...groupB]);
  }

  /** Removes every partition. */
  async heal(): Promise<void> {
    this.#assertUsable("heal");
    const touched = new Set<number>();
    for (const pair of this.#blockedPairs) touched.add(parseBlockedPair(pair).to);
    this.#blockedPairs.clear();
    await this.#applyRules([...touched]);
  }

  /** Stops one process (SIGSTOP): it keeps its sockets but answers nothing. */
  freeze(pid: number): void {
    signalPid(pid, "SIGSTOP");
  }

  /** Resumes a process stopped by {@link freeze} (SIGCONT). */
  thaw(pid: number): void {
    signalPid(pid, "SIGCONT");
  }

  /** Stops every process of host `index`, including ones forked while freezing. */
  async freezeHost(index: number): Promise<number[]> {
    return await signalNamespaceUntilStable(this.host(index).namespace, "SIGSTOP");
  }

  /** Resumes every process of host `index`. */
  async thawHost(index: number): Promise<number[]> {
    const pids = await this.processesOf(index);
    for (const pid of pids) signalPid(pid, "SIGCONT");
    return pids;
  }

  /**
   * SIGKILLs every process of host `index` (a power cut of that host's processes) and waits
   * until the namespace is empty and the processes this network spawned there are reaped.
   */
  async killHost(index: number): Promise<void> {
    await killNamespaceProcesses(this.host(index).namespace);
    const reaping = [...this.#children].filter((c) => c.host === index).map((c) => c.status);
    await waitAtMost(Promise.allSettled(reaping), REAP_DEADLINE_MS);
  }

  /**
   * True when a TCP connection from host `from` to `address:port` is established within
   * `timeoutMs` (bash's /dev/tcp under coreutils timeout).
   */
  async canConnect(
    from: number,
    address: string,
    port: number,
    timeoutMs = 1_000,
  ): Promise<boolean> {
    const script = 'exec 3<>"/dev/tcp/$0/$1"';
    const bash = requireTool("bash");
    const output = await this.run(from, [bash, "-c", script, address, String(port)], {
      allowFailure: true,
      timeoutMs,
    });
    return output.success;
  }

  /**
   * Kills every process in the network's namespaces, waits for the ones it spawned, and
   * deletes the namespaces (their veths, bridge and nftables rules go with them). Idempotent.
   */
  async destroy(): Promise<void> {
    if (this.#destroying === null) this.#destroying = this.#destroyOnce();
    await this.#destroying;
  }

  /** Synchronous {@link destroy} for `unload` and signal handlers (does not wait for reaping). */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const child of this.#children) signalPid(child.pid, "SIGKILL");
    for (const namespace of this.#namespaces()) deleteNamespaceSync(namespace);
    liveNetworks.delete(this);
    removeExitHandlersWhenIdle();
  }

  async #destroyOnce(): Promise<void> {
    this.#destroyed = true;
    for (const child of this.#children) signalPid(child.pid, "SIGKILL");
    for (const namespace of this.#namespaces()) {
      await killNamespaceProcesses(namespace).catch(() => {});
    }
    const reaping = [...this.#children].map((c) => c.status);
    await waitAtMost(Promise.allSettled(reaping), REAP_DEADLINE_MS);
    for (const namespace of this.#namespaces()) {
      await runCommand([requireTool("ip"), "netns", "delete", namespace], { allowFailure: true });
    }
    liveNetworks.delete(this);
    removeExitHandlersWhenIdle();
  }

  #namespaces(): string[] {
    return [...this.#created];
  }

  async #addNamespace(namespace: string): Promise<void> {
    await addNamespace(namespace);
    this.#created.push(namespace);
  }

  async #build(): Promise<void> {
    const ip = requireTool("ip");
    const bridge = `${this.#prefix}br`;
    await this.#addNamespace(bridge);
    await runCommand([ip, "-n", bridge, "link", "add", "br0", "type", "bridge"]);
    await runCommand([ip, "-n", bridge, "link", "set", "br0", "up"]);
    await Promise.all(this.#hosts.map((host) => this.#buildHost(ip, bridge, host)));
  }

  async #buildHost(ip: string, bridge: string, host: TestHost): Promise<void> {
    const port = `p${host.index}`;
    await this.#addNamespace(host.namespace);
    await runCommand([ip, "-n", host.namespace, "link", "set", "lo", "up"]);
    await runCommand([
      ip,
      "-n",
      bridge,
      "link",
      "add",
      port,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      host.namespace,
    ]); // deno-fmt-ignore
    await runCommand([ip, "-n", bridge, "link", "set", port, "master", "br0", "up"]);
    await runCommand([
      ip,
      "-n",
      host.namespace,
      "addr",
      "add",
      `${host.address}/24`,
      "dev",
      "eth0",
    ]);
    await runCommand([ip, "-n", host.namespace, "link", "set", "eth0", "up"]);
  }

  /** `ip netns exec <ns> [setpriv ...] [env LD_PRELOAD=...]`: everything before the program. */
  #wrap(index: number, options: HostCommandOptions): string[] {
    const prefix = [requireTool("ip"), "netns", "exec", this.host(index).namespace];
    if (options.user !== undefined) {
      prefix.push(
        requireTool("setpriv"),
        `--reuid=${options.user}`,
        `--regid=${options.user}`,
        "--init-groups",
      );
    }
    if (options.clockSkew !== undefined) prefix.push(...clockSkew(options.clockSkew).argvPrefix);
    return prefix;
  }

  /** Rewrites, atomically, the drop rules of each host in `indices` from #blockedPairs. */
  async #applyRules(indices: readonly number[]): Promise<void> {
    const nft = requireTool("nft");
    for (const index of new Set(indices)) {
      const arriving = [...this.#blockedPairs].map(parseBlockedPair).filter((p) => p.to === index);
      const sources = arriving.filter((p) => p.port === null).map((p) => this.host(p.from).address);
      const portSources = arriving.flatMap((p) =>
        p.port === null ? [] : [{ address: this.host(p.from).address, port: p.port }]
      );
      await this.run(index, [nft, "-f", "-"], { stdin: faultRuleset(sources, portSources) });
    }
  }

  #assertUsable(action: string): void {
    if (this.#destroyed) {
      throw new Error(`TestNetwork.${action}: network ${this.#prefix} was already destroyed`);
    }
  }
}

/**
 * Deletes namespaces named `<prefix>...` left by crashed runs: those whose owner pid (the
 * digits after "hx") is no longer alive. Namespaces of live runs are left alone, so parallel
 * test processes do not destroy each other's networks. Returns the deleted names.
 */
export async function cleanupStale(prefix: string = NAMESPACE_PREFIX): Promise<string[]> {
  requireRootAndTools();
  const deleted: string[] = [];
  for (const namespace of await listNamespaces()) {
    if (!namespace.startsWith(prefix)) continue;
    const owner = /^hx(\d+)c[0-9a-z]+/.exec(namespace);
    if (owner === null || processIsAlive(Number(owner[1]))) continue;
    await killNamespaceProcesses(namespace).catch(() => {});
    await runCommand([requireTool("ip"), "netns", "delete", namespace], { allowFailure: true });
    deleted.push(namespace);
  }
  return deleted;
}

/** Names of every network namespace on the machine (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const output = await runCommand([requireTool("ip"), "netns", "list"]);
  return output.stdout.split("\n").map((line) => line.split(" ")[0] ?? "").filter((n) => n);
}

/** A source whose packets to or from one TCP port are dropped ({@link faultRuleset}). */
export interface PortSource {
  readonly address: string;
  readonly port: number;
}

/**
 * The nftables script that replaces the fault table with drops of every packet from `sources`
 * and of the TCP packets from `portSources` whose source or destination port is theirs.
 */
export function faultRuleset(
  sources: readonly string[],
  portSources: readonly PortSource[] = [],
): string {
  // "table" creates the table when missing so that "delete" always succeeds; nft -f applies the
  // whole script as one transaction, so there is no instant without the rules.
  const lines = [`table inet ${FAULT_TABLE}`, `delete table inet ${FAULT_TABLE}`];
  if (sources.length > 0 || portSources.length > 0) {
    lines.push(
      `table inet ${FAULT_TABLE} {`,
      "  chain input {",
      "    type filter hook input priority filter; policy accept;",
    );
    if (sources.length > 0) lines.push(`    ip saddr { ${sources.join(", ")} } drop`);
    for (const { address, port } of portSources) {
      lines.push(`    ip saddr ${address} tcp dport ${port} drop`);
      lines.push(`    ip saddr ${address} tcp sport ${port} drop`);
    }
    lines.push("  }", "}");
  }
  return lines.join("\n") + "\n";
}

/** Parses an entry of #blockedPairs: "from>to" (every packet) or "from>to:port". */
function parseBlockedPair(pair: string): { from: number; to: number; port: number | null } {
  const [from, rest] = pair.split(">");
  const [to, port] = (rest ?? "").split(":");
  return { from: Number(from), to: Number(to), port: port === undefined ? null : Number(port) };
}

function checkCreateOptions(options: TestNetworkOptions): void {
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > MAX_HOSTS) {
    throw new Error(
      `TestNetwork.create: hosts must be an integer in 1..${MAX_HOSTS}, got ${options.hosts}`,
    );
  }
  const subnet = options.subnet ?? 0;
  if (!Number.isInteger(subnet) || subnet < 0 || subnet > 255) {
    throw new Error(`TestNetwork.create: subnet must be an integer in 0..255, got ${subnet}`);
  }
}

function checkGroups(
  network: TestNetwork,
  groupA: readonly number[],
  groupB: readonly number[],
): void {
  for (const index of [...groupA, ...groupB]) network.host(index);
  const overlap = groupA.filter((index) => groupB.includes(index));
  if (overlap.length > 0) {
    throw new Error(
      `TestNetwork.partition: hosts ${overlap.join(", ")} are on both sides; ` +
        "pass two disjoint groups",
    );
  }
}

function requireRootAndTools(): void {
  if (Deno.uid() !== 0) {
    throw new Error(
      `test network: must run as root (uid is ${Deno.uid()}): creating network namespaces needs ` +
        "CAP_SYS_ADMIN and CAP_NET_ADMIN; run the scenario tests as root (CI does)",
    );
  }
  requireTool("ip");
  requireTool("setpriv");
}

async function addNamespace(namespace: string): Promise<void> {
  const output = await runCommand([requireTool("ip"), "netns", "add", namespace], {
    allowFailure: true,
  });
  if (!output.success && output.stderr.includes("File exists")) {
    throw new Error(
      `test network: namespace ${namespace} already exists (a leftover of a crashed run, or a ` +
        "name collision); run cleanupStale() or `ip netns delete` it",
    );
  }
  if (!output.success) {
    throw new Error(
      `test network: 'ip netns add ${namespace}' failed (${output.stderr.trim()}); network ` +
        "namespaces do not work here: the tests need a Linux kernel with network namespaces " +
        "and CAP_SYS_ADMIN (in a container: --privileged or --cap-add SYS_ADMIN,NET_ADMIN)",
    );
  }
}

async function listNamespacePids(namespace: string): Promise<number[]> {
  const output = await runCommand([requireTool("ip"), "netns", "pids", namespace]);
  return output.stdout.split("\n").filter((line) => line.trim() !== "").map(Number);
}

async function signalNamespaceUntilStable(
  namespace: string,
  signal: Deno.Signal,
): Promise<number[]> {
  const signalled = new Set<number>();
  for (let round = 0; round < MAX_SIGNAL_ROUNDS; round++) {
    const fresh = (await listNamespacePids(namespace)).filter((pid) => !signalled.has(pid));
    if (fresh.length === 0) return [...signalled];
    for (const pid of fresh) {
      signalPid(pid, signal);
      signalled.add(pid);
    }
  }
  throw new Error(
    `test network: processes kept appearing in ${namespace} after ${MAX_SIGNAL_ROUNDS} rounds ` +
      `of ${signal}; a fork bomb in the test?`,
  );
}

async function killNamespaceProcesses(namespace: string): Promise<void> {
  for (let round = 0; round < MAX_SIGNAL_ROUNDS; round++) {
    const pids = await listNamespacePids(namespace);
    if (pids.length === 0) return;
    for (const pid of pids) signalPid(pid, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, KILL_ROUND_PAUSE_MS));
  }
  throw new Error(
    `test network: processes of ${namespace} survived ${MAX_SIGNAL_ROUNDS} rounds of SIGKILL ` +
      "(stuck in uninterruptible sleep?); check `ip netns pids` and `ps -o stat`",
  );
}

function deleteNamespaceSync(namespace: string): void {
  const ip = requireTool("ip");
  const pids = runCommandSync([ip, "netns", "pids", namespace], { allowFailure: true });
  for (const pid of pids.stdout.split("\n").filter((line) => line.trim() !== "")) {
    signalPid(Number(pid), "SIGKILL");
  }
  runCommandSync([ip, "netns", "delete", namespace], { allowFailure: true });
}

function signalPid(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch (error) {
    // A process that already exited is not an error: the fault is moot.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function waitAtMost(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
  await Promise.race([promise, deadline]);
  clearTimeout(timer);
}

// Exit handlers: a test that throws, or a Ctrl-C, must not leave namespaces behind. `unload`
// runs on a normal exit and on an uncaught error; SIGINT and SIGTERM skip it, hence the
// signal listeners. They are removed once no network is alive so that an idle harness leaves
// no pending signal op (Deno's test sanitizers would report it).
let handlersInstalled = false;
const EXIT_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

function destroyAllSync(): void {
  for (const network of [...liveNetworks]) network.destroySync();
}

function onSignal(): void {
  destroyAllSync();
  Deno.exit(130);
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  globalThis.addEventListener("unload", destroyAllSync);
  for (const signal of EXIT_SIGNALS) Deno.addSignalListener(signal, onSignal);
}

function removeExitHandlersWhenIdle(): void {
  if (!handlersInstalled || liveNetworks.size > 0) return;
  handlersInstalled = false;
  globalThis.removeEventListener("unload", destroyAllSync);
  for (const signal of EXIT_SIGNALS) Deno.removeSignalListener(signal, onSignal);
}
