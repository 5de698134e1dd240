/**
 * Doctor's Postgres data directory check: it exists with the right owner and mode, or can be
 * created; and it is not the data directory of Debian's own cluster.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { lookupUser, type UserIds } from "../../postgres/files.ts";
import { type CheckResult, failed, messageOf, passed, warned } from "./check_result.ts";
import { type DebianCluster, dropClusterCommand } from "./debian_clusters.ts";
import { formatMode, nearestExisting, writableBy } from "./file_mode.ts";

const CHECK = "data directory";

/** Checks postgres.data_dir against the OS user Postgres runs as and Debian's clusters. */
export async function checkDataDirectory(
  config: AgentConfig,
  debianClusters: readonly DebianCluster[],
): Promise<CheckResult> {
  const path = config.postgres.dataDir;
  const debian = debianClusters.find((cluster) =>
    withoutTrailingSlash(cluster.dataDirectory) === withoutTrailingSlash(path)
  );
  if (debian !== undefined) {
    return failed(
      CHECK,
      `${path} is the data directory of Debian's cluster ${debian.version}/${debian.name}: ` +
        `give hactl a directory of its own (e.g. /var/lib/postgresql/${debian.version}/hactl), ` +
        `or remove that cluster first: ${dropClusterCommand(debian)}`,
    );
  }
  const userName = config.postgres.runAsUser;
  let user: UserIds;
  try {
    user = await lookupUser(userName);
  } catch (error) {
    return failed(CHECK, `postgres.run_as_user: ${messageOf(error)}`);
  }
  const found = await nearestExisting(path);
  if (found.path !== path) return creatable(path, found, userName, user);
  if (!found.info.isDirectory) {
    return failed(CHECK, `${path} exists but is not a directory: move it away`);
  }
  return await existing(path, found.info, userName, user);
}

async function existing(
  path: string,
  info: Deno.FileInfo,
  userName: string,
  user: UserIds,
): Promise<CheckResult> {
  const fix = `chown -R ${userName}: ${path} && chmod 700 ${path}`;
  if (info.uid !== user.uid) {
    return failed(
      CHECK,
      `${path} is owned by uid ${info.uid}, not by ${userName} (uid ${user.uid}, ` +
        `postgres.run_as_user): Postgres refuses it; run ${fix}`,
    );
  }
  const mode = (info.mode ?? 0) & 0o777;
  if (mode === 0o750) {
    return warned(CHECK, `${path} has mode 0750 (group may read the data): chmod 700 ${path}`);
  }
  if (mode !== 0o700) {
    return failed(
      CHECK,
      `${path} has mode ${formatMode(mode)}; Postgres needs 0700 (or 0750): chmod 700 ${path}`,
    );
  }
  const version = await Deno.readTextFile(`${path}/PG_VERSION`).catch(() => null);
  if (version !== null) {
    return passed(
      CHECK,
      `${path}: owner ${userName}, mode 0700, holds PostgreSQL ${version.trim()} data`,
    );
  }
  let entries = 0;
  for await (const _ of Deno.readDir(path)) entries++;
  if (entries > 0) {
    return warned(
      CHECK,
      `${path} is not empty and holds no Postgres data (no PG_VERSION): initdb and ` +
        `pg_basebackup need an empty directory; empty it or pick another postgres.data_dir`,
    );
  }
  return passed(CHECK, `${path}: empty, owner ${userName}, mode 0700`);
}

function creatable(
  path: string,
  ancestor: { readonly path: string; readonly info: Deno.FileInfo },
  userName: string,
  user: UserIds,
): CheckResult {
  if (!ancestor.info.isDirectory) {
    return failed(CHECK, `${path} cannot be created: ${ancestor.path} is not a directory`);
  }
  if (writableBy(ancestor.info, user)) {
    return passed(
      CHECK,
      `${path} does not exist yet; hactl creates it (${ancestor.path} is writable by ${userName})`,
    );
  }
  // An agent run as root creates it (owned by run_as_user); one run as that user cannot.
  return warned(
    CHECK,
    `${path} does not exist and ${ancestor.path} (owner uid ${ancestor.info.uid}, mode ` +
      `${formatMode(ancestor.info.mode ?? 0)}) is not writable by ${userName}: an agent run as ` +
      `${userName} cannot create it; run install -d -o ${userName} -g ${userName} -m 0700 ${path}`,
  );
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}
