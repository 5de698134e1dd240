/**
 * Debian's own Postgres clusters (postgresql-common: `/etc/postgresql/<version>/<name>/`):
 * their data directory, port, whether they start at boot and whether they run now. Installing
 * `postgresql-15` creates and starts one, `15/main` on 5432, which takes hactl's default port.
 *
 * @module
 */

/** One Debian cluster as its config files describe it. */
export interface DebianCluster {
  readonly version: string;
  readonly name: string;
  readonly dataDirectory: string;
  readonly port: number;
  /** start.conf: "auto" starts it at boot. */
  readonly startMode: string;
  /** Its pid file names a live process. */
  readonly running: boolean;
}

/** More clusters than this under the root are not read (a bound on the directory walk). */
const MAX_CLUSTERS = 64;
const DEFAULT_DEBIAN_PORT = 5432;

/** The clusters configured under `root`; none when it does not exist. */
export async function findDebianClusters(root: string): Promise<DebianCluster[]> {
  const clusters: DebianCluster[] = [];
  for (const version of await directoryNames(root)) {
    for (const name of await directoryNames(`${root}/${version}`)) {
      if (clusters.length >= MAX_CLUSTERS) return clusters;
      const cluster = await readCluster(root, version, name);
      if (cluster !== null) clusters.push(cluster);
    }
  }
  return clusters;
}

/** The fix that removes a cluster: its data, config and boot start. */
export function dropClusterCommand(cluster: DebianCluster): string {
  return `pg_dropcluster ${cluster.version} ${cluster.name} --stop`;
}

async function readCluster(
  root: string,
  version: string,
  name: string,
): Promise<DebianCluster | null> {
  const directory = `${root}/${version}/${name}`;
  let text: string;
  try {
    text = await Deno.readTextFile(`${directory}/postgresql.conf`);
  } catch {
    return null;
  }
  const settings = parseSettings(text);
  const dataDirectory = settings.get("data_directory") ??
    `/var/lib/postgresql/${version}/${name}`;
  const port = parseInt(settings.get("port") ?? String(DEFAULT_DEBIAN_PORT), 10);
  const startText = await Deno.readTextFile(`${directory}/start.conf`).catch(() => "auto");
  const startMode = startText.split("\n").map((line) => line.replace(/#.*/, "").trim())
    .find((line) => line.length > 0) ?? "auto";
  const pidFile = settings.get("external_pid_file") ?? `${dataDirectory}/postmaster.pid`;
  return {
    version,
    name,
    dataDirectory,
    port: Number.isSafeInteger(port) ? port : DEFAULT_DEBIAN_PORT,
    startMode,
    running: await pidFileIsLive(pidFile),
  };
}

/** `name = value` lines of a postgresql.conf (quotes and comments removed). */
export function parseSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^\s*([a-z_]+)\s*=?\s*('(?:[^']|'')*'|[^\s#]+)/.exec(line);
    if (match === null) continue;
    const raw = match[2]!;
    const value = raw.startsWith("'") ? raw.slice(1, -1).replaceAll("''", "'") : raw;
    settings.set(match[1]!, value);
  }
  return settings;
}

async function pidFileIsLive(path: string): Promise<boolean> {
  try {
    const pid = parseInt((await Deno.readTextFile(path)).split("\n")[0]!.trim(), 10);
    if (!Number.isSafeInteger(pid) || pid <= 0) return false;
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function directoryNames(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (entry.isDirectory) names.push(entry.name);
    }
  } catch {
    return [];
  }
  return names.sort();
}
