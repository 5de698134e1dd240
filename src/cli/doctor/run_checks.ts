/**
 * Runs every check of `hactl doctor` in order, from the config file to the clocks. When the
 * config cannot be loaded that is the only row: every other check needs it.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { tlsFilesOf } from "../../config/tls_config.ts";
import { useApiTls } from "../api_transport.ts";
import { type CheckResult, messageOf, warned } from "./check_result.ts";
import { checkConfigFile } from "./config_check.ts";
import { checkPostgresBinaries } from "./binaries_check.ts";
import { checkDataDirectory } from "./data_directory_check.ts";
import { checkDiskSpace } from "./disk_space_check.ts";
import { findDebianClusters } from "./debian_clusters.ts";
import { checkDebianClusters } from "./other_postgres_check.ts";
import { checkSecretFile } from "./secret_file_check.ts";
import { checkCertificates } from "./tls_certificate_check.ts";
import { checkPrivateKey } from "./tls_key_check.ts";
import { runningAgentNodeId } from "./running_agent.ts";
import { checkListenPorts, listenAddressesOf, tryBind } from "./listen_ports_check.ts";
import { checkPeers } from "./peer_reachability_check.ts";
import { checkClocks } from "./clock_check.ts";
import { checkClientNetworks } from "./client_networks_check.ts";
import type { DoctorEnvironment } from "./doctor_environment.ts";

/** Every check's row for the node config at `configPath`. */
export async function runDoctorChecks(
  configPath: string,
  environment: DoctorEnvironment,
): Promise<CheckResult[]> {
  const loaded = await checkConfigFile(configPath, environment.variables);
  if (loaded.config === null) return [loaded.result];
  const config = loaded.config;
  const results: CheckResult[] = [loaded.result];
  const transport = await useApiTransport(config);
  const debianClusters = await findDebianClusters(environment.debianConfigRoot);
  const run = async (check: string, body: () => Promise<CheckResult | CheckResult[]>) => {
    results.push(...[await guarded(check, body)].flat());
  };
  await run("postgres binaries", () => checkPostgresBinaries(config));
  await run("data directory", () => checkDataDirectory(config, debianClusters));
  await run("disk space", () => checkDiskSpace(config.postgres.dataDir));
  const postgresAddress = listenAddressesOf(config).find((address) =>
    address.key === "postgres.port"
  )!;
  results.push(checkDebianClusters(config, debianClusters, tryBind(postgresAddress) === null));
  await run("cluster secret", () => checkSecretFile(config));
  await run("tls", () => checkTls(config));
  const runningNodeId = transport === null
    ? await runningAgentNodeId(config, environment.connectTimeoutMs)
    : null;
  await run("ports", () =>
    checkListenPorts(config, {
      runningNodeId,
      debianClusters,
      probeTimeoutMs: environment.connectTimeoutMs,
    }));
  const peers = await checkPeers(config, environment.connectTimeoutMs);
  results.push(...peers.results);
  if (transport !== null) results.push(transport);
  else if (config.cluster.peers.length > 0) {
    await run("clocks", () => checkClocks(config, peers.reachableApis, environment.clockSamples));
  }
  results.push(checkClientNetworks(config));
  return results;
}

/**
 * Runs one check; an error it did not expect (e.g. a directory this user may not read)
 * becomes a warning saying the check could not be made, instead of ending doctor.
 */
async function guarded(
  check: string,
  body: () => Promise<CheckResult | CheckResult[]>,
): Promise<CheckResult | CheckResult[]> {
  try {
    return await body();
  } catch (error) {
    return warned(
      check,
      `could not check: ${messageOf(error)}; run hactl doctor as root or as the user hactl runs as`,
    );
  }
}

/** Sets up HTTPS with the cluster CA for API requests; a row when that is impossible. */
async function useApiTransport(config: AgentConfig): Promise<CheckResult | null> {
  try {
    await useApiTls(tlsFilesOf(config)?.caFile ?? null);
    return null;
  } catch (error) {
    await useApiTls(null);
    return warned("clocks", `not measured: ${messageOf(error)}`);
  }
}

async function checkTls(config: AgentConfig): Promise<CheckResult[]> {
  const files = tlsFilesOf(config);
  if (files === null) {
    return [
      warned(
        "tls",
        "tls.enabled = false: Postgres clients, replication and the REST API are plain " +
          "text; turn it on (hactl init --nodes writes a CA and certificates)",
      ),
    ];
  }
  return [...await checkCertificates(config, files, Date.now()), await checkPrivateKey(files)];
}
