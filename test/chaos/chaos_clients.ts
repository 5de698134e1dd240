/**
 * The three clients of a chaos run, started together and stopped together:
 * - "socket": in this process, a libpq-style read-write session over each node's Unix socket
 *   (a client on every side of every partition: it keeps reaching a cut-off primary);
 * - "multihost": a process in a client host, the README's multi-host connection string with
 *   target_session_attrs=read-write over the private network;
 * - "gateway": a process in a client host, through the nodes' gateway ports in order.
 * Ids are disjoint: client k writes ids from k * {@link ID_SPACE} + 1.
 *
 * @module
 */

import type { HostProcess } from "../harness/netns.ts";
import {
  GATEWAY_PORT,
  POSTGRES_PORT,
  type ScenarioCluster,
} from "../scenarios/scenario_cluster.ts";
import { type ChaosWrite, parseRecordLines } from "./chaos_history.ts";
import { CHAOS_TABLE, ChaosWriter } from "./chaos_writer.ts";
import type { ClientProcessOptions } from "./chaos_client.ts";

/** Ids of one client lie in [k * ID_SPACE + 1, (k + 1) * ID_SPACE). */
export const ID_SPACE = 1_000_000_000;
/** Role the network clients log in as (scram over TCP, as an application would). */
export const CHAOS_USER = "chaos";
const CHAOS_PASSWORD = "chaos-password";
/** Timing of every client: a write every 30 ms at most, each bounded by 2 s. */
const CLIENT_TIMING = { intervalMs: 30, writeTimeoutMs: 2_000, connectTimeoutMs: 1_000 };
/** How long a client process may take to stop after SIGTERM before it is killed. */
const CLIENT_STOP_TIMEOUT_MS = 10_000;

/** Running clients. */
export interface ChaosClients {
  readonly socketRecords: ChaosWrite[];
  readonly socketWriter: ChaosWriter;
  readonly processes: readonly {
    readonly name: string;
    readonly process: HostProcess;
    readonly logPath: string;
  }[];
}

/** Creates the table and the login role on the primary `primary`. */
export async function prepareDatabase(cluster: ScenarioCluster, primary: number): Promise<void> {
  await cluster.sql(primary, `CREATE TABLE ${CHAOS_TABLE} (id bigint PRIMARY KEY, client text)`);
  await cluster.sql(primary, `CREATE ROLE ${CHAOS_USER} LOGIN PASSWORD '${CHAOS_PASSWORD}'`);
  await cluster.sql(primary, `GRANT SELECT, INSERT ON ${CHAOS_TABLE} TO ${CHAOS_USER}`);
}

/** Starts the three clients; network clients run in host `clientHost`. */
export function startClients(cluster: ScenarioCluster, clientHost: number): ChaosClients {
  const socketRecords: ChaosWrite[] = [];
  const socketWriter = new ChaosWriter({
    client: "socket",
    hosts: cluster.targets().map((target) => ({
      name: target.name,
      connection: target.connection,
    })),
    readWrite: true,
    firstId: 0 * ID_SPACE + 1,
    ...CLIENT_TIMING,
    onRecord: (write) => socketRecords.push(write),
  });
  socketWriter.start();
  const processes = [
    spawnClient(cluster, clientHost, "multihost", 1, POSTGRES_PORT, true),
    spawnClient(cluster, clientHost, "gateway", 2, GATEWAY_PORT, false),
  ];
  return { socketRecords, socketWriter, processes };
}

function spawnClient(
  cluster: ScenarioCluster,
  clientHost: number,
  name: string,
  position: number,
  port: number,
  readWrite: boolean,
): { name: string; process: HostProcess; logPath: string } {
  const options: ClientProcessOptions = {
    client: name,
    hosts: cluster.nodes.map((node) => ({ name: node.id, host: node.address, port })),
    user: CHAOS_USER,
    password: CHAOS_PASSWORD,
    readWrite,
    firstId: position * ID_SPACE + 1,
    ...CLIENT_TIMING,
  };
  const logPath = `${cluster.directory}/client-${name}.log`;
  const argv = [
    Deno.execPath(),
    "run",
    "--allow-all",
    "--quiet",
    "--config",
    new URL("../../deno.json", import.meta.url).pathname,
    new URL("./chaos_client.ts", import.meta.url).pathname,
    JSON.stringify(options),
  ];
  const env = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };
  const process = cluster.network.spawn(clientHost, argv, { logPath, env });
  return { name, process, logPath };
}

/** Stops every client (each records its write in flight) and returns all records. */
export async function stopClients(clients: ChaosClients): Promise<ChaosWrite[]> {
  const stopping = clients.processes.map(async ({ process }) => {
    try {
      Deno.kill(process.pid, "SIGTERM");
    } catch {
      return; // already gone: its records so far are in its log
    }
    const timer = setTimeout(() => {
      try {
        Deno.kill(process.pid, "SIGKILL");
      } catch { /* exited meanwhile */ }
    }, CLIENT_STOP_TIMEOUT_MS);
    await process.status;
    clearTimeout(timer);
  });
  await Promise.all([clients.socketWriter.stop(), ...stopping]);
  const records: ChaosWrite[] = [...clients.socketRecords];
  for (const { logPath } of clients.processes) {
    records.push(...parseRecordLines(await Deno.readTextFile(logPath).catch(() => "")));
  }
  return records;
}

/** Acknowledged writes so far per client (network clients' logs are read as they grow). */
export async function acknowledgedSoFar(clients: ChaosClients): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const count = (writes: readonly ChaosWrite[], name: string) =>
    counts.set(name, writes.filter((write) => write.outcome === "acknowledged").length);
  count(clients.socketRecords, "socket");
  for (const { name, logPath } of clients.processes) {
    count(parseRecordLines(await Deno.readTextFile(logPath).catch(() => "")), name);
  }
  return counts;
}
