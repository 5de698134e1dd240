/**
 * Doctor's Postgres binaries check: every binary hactl runs is found where the config says
 * (or where `hactl run` would look), and `postgres -V` reports a supported major version.
 *
 * @module
 */
import type { AgentConfig } from "../../config/config_schema.ts";
import { findPostgresBinaries } from "../../postgres/binaries.ts";
import { type CheckResult, failed, messageOf, passed } from "./check_result.ts";

/** The oldest Postgres major version hactl supports. */
export const MIN_POSTGRES_MAJOR_VERSION = 15;
const VERSION_TIMEOUT_MS = 5_000;
const CHECK = "postgres binaries";

/** Finds the binaries and checks the version of `postgres`. */
export async function checkPostgresBinaries(config: AgentConfig): Promise<CheckResult> {
  let directory: string;
  try {
    directory = (await findPostgresBinaries({ binDirectory: config.postgres.binDir })).directory;
  } catch (error) {
    return failed(CHECK, messageOf(error));
  }
  let versionLine: string;
  try {
    versionLine = await postgresVersionLine(`${directory}/postgres`);
  } catch (error) {
    return failed(
      CHECK,
      `${directory}/postgres -V failed: ${messageOf(error)}; reinstall PostgreSQL or set ` +
        "postgres.bin_dir to a working installation",
    );
  }
  const major = parseMajorVersion(versionLine);
  if (major === null) {
    return failed(CHECK, `${directory}/postgres -V printed "${versionLine}": not a version`);
  }
  if (major < MIN_POSTGRES_MAJOR_VERSION) {
    return failed(
      CHECK,
      `${versionLine} in ${directory}: hactl needs PostgreSQL ${MIN_POSTGRES_MAJOR_VERSION} or ` +
        `later; install it (apt-get install postgresql-${MIN_POSTGRES_MAJOR_VERSION}) and set ` +
        `postgres.bin_dir (e.g. /usr/lib/postgresql/${MIN_POSTGRES_MAJOR_VERSION}/bin)`,
    );
  }
  return passed(CHECK, `${versionLine} in ${directory}`);
}

/** The major version in `postgres (PostgreSQL) 15.20 (Debian ...)`, or null. */
export function parseMajorVersion(versionLine: string): number | null {
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(versionLine);
  return match === null ? null : parseInt(match[1]!, 10);
}

async function postgresVersionLine(binary: string): Promise<string> {
  const output = await new Deno.Command(binary, {
    args: ["-V"],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(VERSION_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(`exit code ${output.code}: ${decoder.decode(output.stderr).trim()}`);
  }
  return decoder.decode(output.stdout).trim();
}
