/**
 * Finding the Postgres server binaries (postgres, initdb, pg_basebackup, pg_rewind...).
 *
 * @module
 */

/** Binaries that must all be present in the chosen directory. */
export const REQUIRED_BINARIES = [
  "postgres",
  "initdb",
  "pg_controldata",
  "pg_basebackup",
  "pg_rewind",
  "pg_isready",
  "pg_waldump",
] as const;

/** Name of one required binary. */
export type PostgresBinary = typeof REQUIRED_BINARIES[number];

/** Where the Postgres binaries were found. */
export interface PostgresBinaries {
  /** The bin directory holding every {@link REQUIRED_BINARIES} entry. */
  readonly directory: string;
  /** Absolute path of one binary. */
  path(binary: PostgresBinary): string;
}

/** Where to look; each field overrides the process-wide default (for tests). */
export interface BinarySearchOptions {
  /** An explicit bin directory (configuration); when set, nothing else is tried. */
  readonly binDirectory?: string | null;
  /** The PATH to search; default: the PATH environment variable. */
  readonly searchPath?: string;
  /** Root holding Debian-style `<version>/bin` directories. */
  readonly debianRoot?: string;
  /** Time limit for `pg_config --bindir`. */
  readonly pgConfigTimeoutMs?: number;
}

const DEFAULT_DEBIAN_ROOT = "/usr/lib/postgresql";
const DEFAULT_PG_CONFIG_TIMEOUT_MS = 5_000;

/**
 * Finds a directory holding every Postgres binary hactl runs: the explicit `binDirectory`,
 * else a PATH entry, else `pg_config --bindir`, else the highest `/usr/lib/postgresql/<v>/bin`.
 * Throws an error that lists every place tried and how to configure the directory.
 */
export async function findPostgresBinaries(
  options: BinarySearchOptions = {},
): Promise<PostgresBinaries> {
  const tried: string[] = [];
  if (options.binDirectory) {
    const missing = missingBinaries(options.binDirectory);
    if (missing.length === 0) return binariesIn(options.binDirectory);
    throw new Error(
      `Postgres binaries not found in the configured bin directory "${options.binDirectory}" ` +
        `(missing: ${missing.join(", ")}); set postgres.binDirectory to the directory that ` +
        `holds postgres and initdb (see "pg_config --bindir")`,
    );
  }
  const candidates: string[] = [];
  const searchPath = options.searchPath ?? Deno.env.get("PATH") ?? "";
  candidates.push(...searchPath.split(":").filter((entry) => entry.length > 0));
  const pgConfigDirectory = await pgConfigBinDirectory(
    candidates,
    options.pgConfigTimeoutMs ?? DEFAULT_PG_CONFIG_TIMEOUT_MS,
  );
  if (pgConfigDirectory !== null) candidates.push(pgConfigDirectory);
  candidates.push(...debianBinDirectories(options.debianRoot ?? DEFAULT_DEBIAN_ROOT));
  for (const directory of candidates) {
    tried.push(directory);
    if (missingBinaries(directory).length === 0) return binariesIn(directory);
  }
  throw new Error(
    `Postgres binaries (${REQUIRED_BINARIES.join(", ")}) not found; looked in PATH, ` +
      `"pg_config --bindir" and ${options.debianRoot ?? DEFAULT_DEBIAN_ROOT}/*/bin: ` +
      `${tried.join(", ") || "(nothing to try)"}. Install PostgreSQL or set ` +
      `postgres.binDirectory to its bin directory`,
  );
}

function binariesIn(directory: string): PostgresBinaries {
  return {
    directory,
    path: (binary) => `${directory}/${binary}`,
  };
}

function missingBinaries(directory: string): string[] {
  return REQUIRED_BINARIES.filter((binary) => !isExecutableFile(`${directory}/${binary}`));
}

function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Runs the first pg_config found in `directories`; null when none answers in time. */
async function pgConfigBinDirectory(
  directories: readonly string[],
  timeoutMs: number,
): Promise<string | null> {
  const pgConfig = directories.map((directory) => `${directory}/pg_config`).find(
    isExecutableFile,
  );
  if (pgConfig === undefined) return null;
  try {
    const output = await new Deno.Command(pgConfig, {
      args: ["--bindir"],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    if (!output.success) return null;
    const directory = new TextDecoder().decode(output.stdout).trim();
    return directory.length > 0 ? directory : null;
  } catch {
    return null;
  }
}

/** `<root>/<version>/bin` directories, highest version first (numeric order: 15 > 9.6). */
function debianBinDirectories(root: string): string[] {
  const versions: string[] = [];
  try {
    for (const entry of Deno.readDirSync(root)) {
      if (entry.isDirectory && /^[0-9]+(\.[0-9]+)?$/.test(entry.name)) versions.push(entry.name);
    }
  } catch {
    return [];
  }
  versions.sort((a, b) => parseFloat(b) - parseFloat(a));
  return versions.map((version) => `${root}/${version}/bin`);
}
