/**
 * Doctor's listen port check: each port this node's agent will listen on (Raft, API,
 * Postgres, gateway) can be bound now. A port already held is explained: by this node's own
 * running hactl, by another Postgres, or by some other process.
 *
 * @module
 */
import type { AgentConfig, HostPort } from "../../config/config_schema.ts";
import { isWildcardHost } from "../../config/config_schema.ts";
import { type CheckResult, failed, messageOf, passed, warned } from "./check_result.ts";
import { type DebianCluster, dropClusterCommand } from "./debian_clusters.ts";
import { speaksPostgres } from "./other_postgres_check.ts";

/** One address the agent listens on, with the config key that sets it. */
export interface ListenAddress extends HostPort {
  readonly key: string;
}

/** What the port check knows besides the config. */
export interface PortCheckContext {
  /** The node id a hactl already answering at this node's API reports, or null. */
  readonly runningNodeId: string | null;
  readonly debianClusters: readonly DebianCluster[];
  readonly probeTimeoutMs: number;
}

/** The addresses `hactl run` binds, in the order it binds them. */
export function listenAddressesOf(config: AgentConfig): ListenAddress[] {
  const postgresHost = config.postgres.listenAddress === "*"
    ? "0.0.0.0"
    : config.postgres.listenAddress;
  const addresses: ListenAddress[] = [
    { key: "raft.listen", ...config.raft.listen },
    { key: "api.listen", ...config.api.listen },
    { key: "postgres.port", hostname: postgresHost, port: config.postgres.port },
  ];
  if (config.gateway.listen !== null) {
    addresses.push({ key: "gateway.listen", ...config.gateway.listen });
  }
  return addresses;
}

/** One row per listen address. */
export async function checkListenPorts(
  config: AgentConfig,
  context: PortCheckContext,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const address of listenAddressesOf(config)) {
    results.push(await checkListenAddress(config, address, context));
  }
  return results;
}

async function checkListenAddress(
  config: AgentConfig,
  address: ListenAddress,
  context: PortCheckContext,
): Promise<CheckResult> {
  const check = `port ${address.key}`;
  const where = `${address.hostname}:${address.port}`;
  const outcome = tryBind(address);
  if (outcome === null) return passed(check, `${where} is free`);
  if (outcome instanceof Deno.errors.AddrNotAvailable) {
    return failed(
      check,
      `${address.hostname} is not an address of this host: set ${address.key} to one of ` +
        "this host's addresses (ip -br addr) or 0.0.0.0",
    );
  }
  if (!(outcome instanceof Deno.errors.AddrInUse)) {
    return failed(check, `cannot listen on ${where}: ${messageOf(outcome)}`);
  }
  if (context.runningNodeId === config.node.id) {
    return warned(
      check,
      `${where} is in use by the running hactl of ${config.node.id} (its API answers): ` +
        "expected on a running node; stop it (systemctl stop hactl) before deploying again",
    );
  }
  if (address.key === "postgres.port") return await postgresPortTaken(address, context);
  return failed(
    check,
    `port ${address.port} (${where}) is in use by another process: find it with ` +
      `ss -ltnp 'sport = :${address.port}', stop it, or set ${address.key} to a free port`,
  );
}

async function postgresPortTaken(
  address: ListenAddress,
  context: PortCheckContext,
): Promise<CheckResult> {
  const check = `port ${address.key}`;
  const debian = context.debianClusters.find((cluster) =>
    cluster.port === address.port && cluster.running
  );
  const probeHost = isWildcardHost(address.hostname) ? "127.0.0.1" : address.hostname;
  if (
    debian !== undefined || await speaksPostgres(probeHost, address.port, context.probeTimeoutMs)
  ) {
    const fix = debian === undefined
      ? "stop it (pg_lsclusters lists Debian's clusters; pg_dropcluster VERSION NAME --stop)"
      : `Debian's cluster ${debian.version}/${debian.name}: ${dropClusterCommand(debian)}`;
    return failed(
      check,
      `another Postgres listens on port ${address.port}: ${fix}, or set postgres.port to a ` +
        "free port",
    );
  }
  return failed(
    check,
    `port ${address.port} is in use by another process: find it with ss -ltnp ` +
      `'sport = :${address.port}', stop it, or set postgres.port to a free port`,
  );
}

/** Binds and releases `address`; null when that worked, else the error. */
export function tryBind(address: HostPort): Error | null {
  try {
    Deno.listen({ hostname: address.hostname, port: address.port }).close();
    return null;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
