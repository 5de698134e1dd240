/**
 * Doctor's check for another Postgres on hactl's port: Debian's own cluster (installing
 * `postgresql-15` creates `15/main` on 5432 and starts it at every boot), or any server that
 * answers Postgres' SSLRequest there.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { type CheckResult, failed, passed, warned } from "./check_result.ts";
import { type DebianCluster, dropClusterCommand } from "./debian_clusters.ts";

const CHECK = "other postgres";
/** SSLRequest: length 8, code 80877103; a Postgres server answers one byte, "S" or "N". */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Debian clusters configured on postgres.port: running there while the port is taken (FAIL);
 * running while the port is still free to hactl's listen address, e.g. Debian's listens on
 * localhost only or in another network namespace, or starting at boot (warn).
 */
export function checkDebianClusters(
  config: AgentConfig,
  clusters: readonly DebianCluster[],
  portFree: boolean,
): CheckResult {
  const port = config.postgres.port;
  const onPort = clusters.filter((cluster) => cluster.port === port);
  const running = onPort.find((cluster) => cluster.running);
  if (running !== undefined) {
    const text = `Debian's cluster ${running.version}/${running.name} runs on port ${port}, ` +
      `postgres.port of hactl: remove it with ${dropClusterCommand(running)} (or set ` +
      "postgres.port to another port)";
    return portFree
      ? warned(CHECK, `${text}; the port is still free on ${config.postgres.listenAddress}`)
      : failed(CHECK, text);
  }
  const atBoot = onPort.find((cluster) => cluster.startMode === "auto");
  if (atBoot !== undefined) {
    return warned(
      CHECK,
      `Debian's cluster ${atBoot.version}/${atBoot.name} is down but starts at boot on port ` +
        `${port} and would then take hactl's port: ${dropClusterCommand(atBoot)}`,
    );
  }
  const others = clusters.map((cluster) => `${cluster.version}/${cluster.name}:${cluster.port}`);
  return passed(
    CHECK,
    `no Debian cluster on port ${port}` +
      (others.length > 0 ? ` (others: ${others.join(", ")})` : ""),
  );
}

/** True when a Postgres server answers at `hostname:port` within `timeoutMs`. */
export async function speaksPostgres(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<boolean> {
  let connection: Deno.TcpConn | null = null;
  const timer = setTimeout(() => connection?.close(), timeoutMs);
  try {
    connection = await Deno.connect({ hostname, port, signal: AbortSignal.timeout(timeoutMs) });
    await connection.write(SSL_REQUEST);
    const answer = new Uint8Array(1);
    const read = await connection.read(answer);
    return read === 1 && (answer[0] === 0x53 || answer[0] === 0x4e);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      connection?.close();
    } catch {
      // Closed by the timer already.
    }
  }
}
