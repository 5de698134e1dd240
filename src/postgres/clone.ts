/**
 * Cloning a node from a running primary (or standby) by pg_basebackup into a NEW directory
 * beside the data directory; the old data directory is replaced only once the clone
 * succeeded.
 *
 * @module
 */

import type { PostgresBinaries } from "./binaries.ts";
import {
  editAutoConf,
  primaryConninfo,
  writeNodeConfiguration,
  writePasswordFile,
  writeStandbySignal,
} from "./config_files.ts";
import { ensureDirectory, ownerFor, parentOf, pathExists, syncDirectory } from "./files.ts";
import { livePostmasterPid, requireStandby } from "./postmaster.ts";
import { CommandFailedError, lastLines, runChecked } from "./process_runner.ts";
import type { ReplicationSource } from "./roles.ts";
import { clientTlsEnvironment } from "./postgres_tls.ts";
import { passwordFileOf, type PostgresSettings } from "./settings.ts";

/** Progress of a clone, from pg_basebackup's `-P` output. */
export interface CloneProgress {
  readonly doneBytes: number;
  readonly totalBytes: number;
  readonly percent: number;
}

/** Options of {@link cloneFrom}. */
export interface CloneOptions {
  /** primary_slot_name of the new standby (the slot must exist on the source), or null. */
  readonly slotName: string | null;
  readonly onProgress?: (progress: CloneProgress) => void;
  /** Time limit for pg_basebackup (large databases need hours). */
  readonly timeoutMs: number;
}

/** The directory a clone is written to before it replaces the data directory. */
export function cloneDirectoryOf(settings: PostgresSettings): string {
  return `${settings.dataDirectory}.clone`;
}

/** Where the old data directory is moved while a finished clone takes its place. */
export function previousDirectoryOf(settings: PostgresSettings): string {
  return `${settings.dataDirectory}.previous`;
}

/**
 * Copies `source` into a new directory with `pg_basebackup -X stream -P -R -c fast`,
 * configures it as a standby of `source` (standby.signal, primary_conninfo, slot, hactl's
 * files), then swaps it in for the data directory. On failure the clone directory is removed
 * and the old data directory is untouched. The server must be stopped.
 */
export async function cloneFrom(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  source: ReplicationSource,
  options: CloneOptions,
): Promise<void> {
  if (await livePostmasterPid(settings.dataDirectory) !== null) {
    throw new Error(`cannot clone into ${settings.dataDirectory}: its postmaster is running`);
  }
  await finishInterruptedSwap(settings);
  await requireStandby(settings);
  await writePasswordFile(settings);
  const cloneDirectory = cloneDirectoryOf(settings);
  await Deno.remove(cloneDirectory, { recursive: true }).catch(() => {});
  await ensureDirectory(cloneDirectory, { mode: 0o700, owner: await ownerFor(settings.runAsUser) });
  try {
    await runBaseBackup(settings, binaries, source, cloneDirectory, options);
    await writeNodeConfiguration(settings, cloneDirectory);
    await writeStandbySignal(settings, cloneDirectory);
    await editAutoConf(settings, {
      primary_conninfo: primaryConninfo(settings, source),
      primary_slot_name: options.slotName,
    }, cloneDirectory);
  } catch (error) {
    await Deno.remove(cloneDirectory, { recursive: true }).catch(() => {});
    if (error instanceof CommandFailedError) {
      throw new Error(
        `cloning from ${source.host}:${source.port} failed (data directory left unchanged): ` +
          `${lastLines(error.result.stderr)}`,
      );
    }
    throw error;
  }
  await swapIn(settings);
}

async function runBaseBackup(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  source: ReplicationSource,
  cloneDirectory: string,
  options: CloneOptions,
): Promise<void> {
  let pending = "";
  await runChecked([
    binaries.path("pg_basebackup"),
    "-h",
    source.host,
    "-p",
    String(source.port),
    "-U",
    settings.replicationUser,
    "-D",
    cloneDirectory,
    "-X",
    "stream",
    "-P",
    "-R",
    "-c",
    "fast",
    "-w",
  ], {
    timeoutMs: options.timeoutMs,
    runAsUser: settings.runAsUser,
    env: {
      PGPASSFILE: passwordFileOf(settings),
      PGAPPNAME: settings.applicationName,
      ...clientTlsEnvironment(settings),
    },
    onStderr: (text) => {
      // -P rewrites one line with "\r"; report each complete update.
      pending += text;
      const parts = pending.split(/[\r\n]/);
      pending = parts.pop() ?? "";
      for (const part of parts) {
        const progress = parseBaseBackupProgress(part);
        if (progress !== null) options.onProgress?.(progress);
      }
    },
  });
}

/** Parses one pg_basebackup progress line: "  1234/56789 kB (2%), 0/1 tablespace ...". */
export function parseBaseBackupProgress(line: string): CloneProgress | null {
  const match = /(\d+)\/(\d+) kB \((\d+)%\)/.exec(line);
  if (match === null) return null;
  return {
    doneBytes: parseInt(match[1]!, 10) * 1024,
    totalBytes: parseInt(match[2]!, 10) * 1024,
    percent: parseInt(match[3]!, 10),
  };
}

/** Replaces the data directory with the finished clone: rename, rename, fsync, remove. */
async function swapIn(settings: PostgresSettings): Promise<void> {
  const previous = previousDirectoryOf(settings);
  await Deno.remove(previous, { recursive: true }).catch(() => {});
  if (await pathExists(settings.dataDirectory)) {
    await Deno.rename(settings.dataDirectory, previous);
  }
  await Deno.rename(cloneDirectoryOf(settings), settings.dataDirectory);
  await syncDirectory(parentOf(settings.dataDirectory));
  await Deno.remove(previous, { recursive: true }).catch(() => {});
}

/**
 * Completes a swap a crash interrupted: the clone is only renamed after it finished, so a
 * missing data directory with both the clone and the previous directory present means the
 * clone is complete. Call before starting Postgres after an agent restart.
 */
export async function finishInterruptedSwap(settings: PostgresSettings): Promise<void> {
  if (await pathExists(settings.dataDirectory)) return;
  if (
    await pathExists(cloneDirectoryOf(settings)) && await pathExists(previousDirectoryOf(settings))
  ) {
    await Deno.rename(cloneDirectoryOf(settings), settings.dataDirectory);
    await syncDirectory(parentOf(settings.dataDirectory));
    await Deno.remove(previousDirectoryOf(settings), { recursive: true }).catch(() => {});
  }
}
