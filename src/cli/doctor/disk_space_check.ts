/**
 * Doctor's free disk space check on the filesystem of the Postgres data directory (measured
 * with `df -Pk`: Deno has no statfs).
 *
 * Thresholds, and why: between checkpoints Postgres keeps up to max_wal_size of WAL (1 GiB by
 * default) plus the wal_keep_size hactl sets for standbys (256 MiB), before any table data.
 * Below {@link MIN_FREE_BYTES} not even the WAL hactl retains fits: FAIL. Below
 * {@link LOW_FREE_BYTES} a busy primary can fill the disk with WAL alone: warn.
 *
 * @module
 */
import { formatByteCount } from "../table.ts";
import { type CheckResult, failed, messageOf, passed, warned } from "./check_result.ts";
import { nearestExisting } from "./file_mode.ts";

/** Less free space than this fails the check: the 256 MiB of wal_keep_size do not fit. */
export const MIN_FREE_BYTES = 256 * 1024 * 1024;
/** Less free space than this warns: max_wal_size (1 GiB) + wal_keep_size, with room to spare. */
export const LOW_FREE_BYTES = 2 * 1024 * 1024 * 1024;
const DF_TIMEOUT_MS = 5_000;
const CHECK = "disk space";

/** Checks the free space of the filesystem that holds (or will hold) `path`. */
export async function checkDiskSpace(path: string): Promise<CheckResult> {
  let measured: { readonly mount: string; readonly availableBytes: number };
  let where: string;
  try {
    where = (await nearestExisting(path)).path;
    measured = await freeSpace(where);
  } catch (error) {
    return warned(CHECK, `cannot measure the free space for ${path}: ${messageOf(error)}`);
  }
  const free = `${formatByteCount(measured.availableBytes)} free on ${measured.mount}`;
  if (measured.availableBytes < MIN_FREE_BYTES) {
    return failed(
      CHECK,
      `${free} (for ${path}): Postgres needs at least ${
        formatByteCount(MIN_FREE_BYTES)
      } for the WAL hactl keeps; free space or move postgres.data_dir`,
    );
  }
  if (measured.availableBytes < LOW_FREE_BYTES) {
    return warned(
      CHECK,
      `${free} (for ${path}): below ${formatByteCount(LOW_FREE_BYTES)}, WAL alone ` +
        "(max_wal_size + wal_keep_size) may fill it; give the data directory more room",
    );
  }
  return passed(CHECK, `${free} (for ${path})`);
}

/** The mount point and available bytes of the filesystem of an existing `path`. */
export async function freeSpace(
  path: string,
): Promise<{ readonly mount: string; readonly availableBytes: number }> {
  const output = await new Deno.Command("df", {
    args: ["-Pk", path],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(DF_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) throw new Error(`df -Pk ${path}: ${decoder.decode(output.stderr).trim()}`);
  // POSIX format: a header, then "filesystem 1024-blocks used available capacity mount".
  const fields = decoder.decode(output.stdout).trim().split("\n").at(-1)?.split(/\s+/) ?? [];
  const availableKib = parseInt(fields[3] ?? "", 10);
  if (!Number.isSafeInteger(availableKib) || fields.length < 6) {
    throw new Error(`df -Pk ${path}: unexpected output`);
  }
  return { mount: fields.slice(5).join(" "), availableBytes: availableKib * 1024 };
}
