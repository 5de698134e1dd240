/**
 * Crash-safe storage of a node's Raft state (hard state, snapshot, log) in one directory.
 *
 * Files:
 * - `raft_state`: hard state, log entries and a reference to the snapshot file. It is the
 *   commit point: every apply ends by replacing it atomically (see durable_file.ts).
 * - `raft_snapshot.<sequence>`: the snapshot `raft_state` refers to. A new snapshot goes to
 *   the next sequence number and is durable before `raft_state` refers to it, and the old
 *   file is removed only after; so a crash at any point leaves the old or the new state.
 * - `raft.lock`: held (flock) while a process has the directory open.
 *
 * The whole log is rewritten on every apply: the core compacts it to about a thousand small
 * entries, so a rewrite costs far less than the fsyncs (see scripts/bench_storage.ts), and
 * there is no torn-tail case to get right.
 *
 * @module
 */

import { join } from "node:path";
import type { PersistentState, PersistRequest } from "../core/types.ts";
import {
  readDurableJson,
  removeTemporaryFiles,
  StorageCorruptionError,
  syncDirectory,
  writeDurableJson,
} from "./durable_file.ts";
import {
  applyPersistRequest,
  EMPTY_PERSISTENT_STATE,
  findStateProblem,
  isEmptyPersistentState,
} from "./persistent_state.ts";
import { decodeRaftState, decodeSnapshot, encodeRaftState, encodeSnapshot } from "./state_codec.ts";

/** The commit-point file. */
export const RAFT_STATE_FILE = "raft_state";
/** Snapshot files are named this prefix followed by a sequence number. */
export const SNAPSHOT_FILE_PREFIX = "raft_snapshot.";
const LOCK_FILE = "raft.lock";
const SNAPSHOT_FILE_PATTERN = /^raft_snapshot\.(\d+)$/;

interface LoadedState {
  readonly state: PersistentState;
  /** Sequence number of the snapshot file in use; 0 when there is no snapshot. */
  readonly snapshotSequence: number;
}

/** A node's Raft state directory, opened for exclusive use by this process. */
export class RaftStorage {
  /** The state directory. */
  readonly directory: string;
  #lock: Deno.FsFile;
  #current: LoadedState | null = null;
  #applying = false;

  private constructor(directory: string, lock: Deno.FsFile) {
    this.directory = directory;
    this.#lock = lock;
  }

  /**
   * Opens (creating it with mode 0700 when absent) the state directory, locks it against
   * other processes and removes temporary files left by a crash. A directory with no Raft
   * state gets an empty `raft_state`, so that from then on a missing `raft_state` is damage.
   */
  static async open(directory: string): Promise<RaftStorage> {
    await createDirectory(directory);
    const lock = await lockDirectory(directory);
    try {
      await removeTemporaryFiles(directory);
      if ((await listStateFiles(directory)).length === 0) {
        await writeDurableJson(
          join(directory, RAFT_STATE_FILE),
          encodeRaftState(EMPTY_PERSISTENT_STATE, 0),
        );
      }
      return new RaftStorage(directory, lock);
    } catch (error) {
      releaseLock(lock);
      throw error;
    }
  }

  /**
   * The stored state, checked against the Raft log invariants; null for a node that never
   * persisted anything. Throws {@link StorageCorruptionError} when a file is damaged or
   * missing: a node must never start with an empty state where it had one.
   */
  async load(): Promise<PersistentState | null> {
    const loaded = await readState(this.directory);
    await removeUnreferencedSnapshots(this.directory, loaded.snapshotSequence);
    this.#current = loaded;
    return isEmptyPersistentState(loaded.state) ? null : loaded.state;
  }

  /**
   * Makes `request` durable; when it resolves the new state survives a crash or power loss,
   * and a crash before leaves the old or the new state. Calls must not overlap. Throws when
   * the request would break a log invariant (a bug in the caller); nothing is written then.
   */
  async apply(request: PersistRequest): Promise<void> {
    if (this.#applying) {
      throw new Error("RaftStorage.apply: called again before the last call resolved");
    }
    this.#applying = true;
    try {
      const current = this.#current ?? await readState(this.directory);
      this.#current = await writeState(this.directory, current, request);
      if (this.#current.snapshotSequence !== current.snapshotSequence) {
        await removeUnreferencedSnapshots(this.directory, this.#current.snapshotSequence);
      }
    } finally {
      this.#applying = false;
    }
  }

  /** Releases the directory lock. */
  close(): void {
    releaseLock(this.#lock);
  }
}

async function writeState(
  directory: string,
  current: LoadedState,
  request: PersistRequest,
): Promise<LoadedState> {
  const state = applyPersistRequest(current.state, request);
  const problem = findStateProblem(state);
  if (problem !== null) {
    throw new Error(
      `RaftStorage.apply: refusing to persist an invalid state (a caller bug): ${problem}`,
    );
  }
  let snapshotSequence = current.snapshotSequence;
  if (request.snapshot !== null) {
    snapshotSequence += 1;
    await writeDurableJson(
      snapshotPath(directory, snapshotSequence),
      encodeSnapshot(request.snapshot),
    );
  }
  await writeDurableJson(
    join(directory, RAFT_STATE_FILE),
    encodeRaftState(state, snapshotSequence),
  );
  return { state, snapshotSequence };
}

async function readState(directory: string): Promise<LoadedState> {
  const statePath = join(directory, RAFT_STATE_FILE);
  const value = await readDurableJson(statePath);
  if (value === null) {
    const others = await listStateFiles(directory);
    if (others.length === 0) return { state: EMPTY_PERSISTENT_STATE, snapshotSequence: 0 };
    throw new StorageCorruptionError(statePath, `missing, but ${others.join(", ")} exists`);
  }
  const stored = decodeOrThrow(statePath, () => decodeRaftState(value));
  let state: PersistentState = { ...stored, snapshot: null };
  if (stored.snapshot !== null) {
    const path = snapshotPath(directory, stored.snapshot.sequence);
    const snapshotValue = await readDurableJson(path);
    if (snapshotValue === null) {
      throw new StorageCorruptionError(path, `missing, but ${RAFT_STATE_FILE} refers to it`);
    }
    const snapshot = decodeOrThrow(path, () => decodeSnapshot(snapshotValue));
    if (
      snapshot.lastIndex !== stored.snapshot.lastIndex ||
      snapshot.lastTerm !== stored.snapshot.lastTerm
    ) {
      throw new StorageCorruptionError(
        path,
        `holds the snapshot up to index ${snapshot.lastIndex} term ${snapshot.lastTerm}, but ` +
          `${RAFT_STATE_FILE} expects index ${stored.snapshot.lastIndex} term ${stored.snapshot.lastTerm}`,
      );
    }
    state = { ...state, snapshot };
  }
  const problem = findStateProblem(state);
  if (problem !== null) throw new StorageCorruptionError(statePath, problem);
  return { state, snapshotSequence: stored.snapshot?.sequence ?? 0 };
}

function decodeOrThrow<T>(path: string, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    // The checksum matched, so this is a foreign file or a writer bug; either way unusable.
    throw new StorageCorruptionError(path, `unexpected contents: ${(error as Error).message}`);
  }
}

function snapshotPath(directory: string, sequence: number): string {
  return join(directory, `${SNAPSHOT_FILE_PREFIX}${sequence}`);
}

/** Names of the Raft state files present (temporary files excluded), sorted. */
async function listStateFiles(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.name === RAFT_STATE_FILE || SNAPSHOT_FILE_PATTERN.test(entry.name)) {
      names.push(entry.name);
    }
  }
  return names.sort();
}

/** Removes snapshot files other than `keepSequence`: superseded or never committed. */
async function removeUnreferencedSnapshots(directory: string, keepSequence: number): Promise<void> {
  for (const name of await listStateFiles(directory)) {
    const sequence = SNAPSHOT_FILE_PATTERN.exec(name)?.[1];
    if (sequence !== undefined && Number(sequence) !== keepSequence) {
      await Deno.remove(join(directory, name));
    }
  }
}

async function createDirectory(directory: string): Promise<void> {
  try {
    const info = await Deno.stat(directory);
    if (!info.isDirectory) {
      throw new Error(
        `RaftStorage.open: ${directory} exists but is not a directory; choose another state directory`,
      );
    }
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
  // The new directory entry itself must survive a power loss, like the files inside it.
  await syncDirectory(join(directory, ".."));
}

/**
 * Unlocks, then closes. Closing alone can leave the flock held for a moment: Deno closes the
 * descriptor only when no pending operation still refers to the file, and a reopen in
 * between finds the directory "in use" (seen under load in CI).
 */
function releaseLock(lock: Deno.FsFile): void {
  try {
    lock.unlockSync();
  } finally {
    lock.close();
  }
}

async function lockDirectory(directory: string): Promise<Deno.FsFile> {
  const lockPath = join(directory, LOCK_FILE);
  const lock = await Deno.open(lockPath, { read: true, write: true, create: true, mode: 0o600 });
  if (!(await lock.tryLock(true))) {
    lock.close();
    throw new Error(
      `RaftStorage.open: ${directory} is in use by another process (${lockPath} is locked); ` +
        `stop the other hactl agent or give this one its own state directory`,
    );
  }
  return lock;
}
