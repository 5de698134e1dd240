/**
 * Crash-safe whole-file replacement with corruption detection.
 *
 * A write goes to `<name>.tmp` in the same directory, is fsynced, renamed over the target
 * and the directory is fsynced: after a crash the target holds either the old or the new
 * contents, never a mix (rename is atomic on POSIX file systems).
 *
 * Every file is framed as
 *
 *   magic "HACTLDF\n" (8 bytes) | format version (u32 BE) | payload length (u32 BE)
 *   | SHA-256 of version, length and payload (32 bytes) | payload
 *
 * SHA-256 (node:crypto) rather than CRC32C: it is built in and hardware-accelerated, so
 * there is no checksum table of our own to get wrong, and it detects every damage pattern
 * (a CRC misses some multi-bit errors). Its cost is negligible next to the fsyncs.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";

/** Suffix of temporary files; such files are never read as state and are removed on open. */
export const TEMPORARY_FILE_SUFFIX = ".tmp";

/** Files larger than this are refused: the Raft state is compacted far below it. */
export const MAX_DURABLE_FILE_BYTES = 64 * 1024 * 1024;

const MAGIC = new TextEncoder().encode("HACTLDF\n");
const FORMAT_VERSION = 1;
const CHECKSUM_BYTES = 32;
const HEADER_BYTES = MAGIC.length + 4 + 4 + CHECKSUM_BYTES;

/** What an operator can do about damaged state; appended to every corruption message. */
const CORRUPTION_ADVICE = "hactl will not vote or act with damaged state. Restore the node's " +
  "state directory from a backup taken while hactl was stopped, or remove the node from the " +
  "cluster with `hactl members remove <node>` on a healthy member and re-add it with a fresh, " +
  "empty state directory.";

/** A state file is damaged, truncated or missing where it must exist. The node must not run. */
export class StorageCorruptionError extends Error {
  /** The damaged (or missing) file. */
  readonly path: string;
  /** What is wrong with it, without the advice. */
  readonly problem: string;

  /** `problem` says what is wrong, e.g. "checksum mismatch". */
  constructor(path: string, problem: string) {
    super(`Damaged hactl state file ${path}: ${problem}. ${CORRUPTION_ADVICE}`);
    this.name = "StorageCorruptionError";
    this.path = path;
    this.problem = problem;
  }
}

/** Atomically and durably replaces `path` with a framed `payload` (see the module doc). */
export async function writeDurableFile(path: string, payload: Uint8Array): Promise<void> {
  if (payload.length > MAX_DURABLE_FILE_BYTES) {
    throw new Error(
      `writeDurableFile ${path}: payload of ${payload.length} bytes exceeds the limit of ` +
        `${MAX_DURABLE_FILE_BYTES} bytes; the caller must compact its state`,
    );
  }
  const temporaryPath = path + TEMPORARY_FILE_SUFFIX;
  const file = await Deno.open(temporaryPath, {
    write: true,
    create: true,
    truncate: true,
    mode: 0o600,
  });
  try {
    await writeAll(file, encodeFrame(payload));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temporaryPath, path);
  await syncDirectory(dirname(path));
}

/**
 * Reads the payload of a file written by {@link writeDurableFile}; null when the file does
 * not exist. Throws {@link StorageCorruptionError} when it is damaged or truncated.
 */
export async function readDurableFile(path: string): Promise<Uint8Array | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return decodeFrame(path, bytes);
}

/** Writes `value` as JSON with {@link writeDurableFile}. */
export async function writeDurableJson(path: string, value: unknown): Promise<void> {
  await writeDurableFile(path, new TextEncoder().encode(JSON.stringify(value)));
}

/** Reads a JSON value written by {@link writeDurableJson}; null when the file does not exist. */
export async function readDurableJson(path: string): Promise<unknown | null> {
  const payload = await readDurableFile(path);
  if (payload === null) return null;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch (error) {
    // The checksum matched, so the writer produced this: a bug or a foreign file.
    throw new StorageCorruptionError(path, `payload is not valid UTF-8 JSON (${error})`);
  }
}

/** Removes temporary files left by a crash mid-write; returns the names removed. */
export async function removeTemporaryFiles(directory: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile && entry.name.endsWith(TEMPORARY_FILE_SUFFIX)) {
      await Deno.remove(join(directory, entry.name));
      removed.push(entry.name);
    }
  }
  return removed;
}

/** fsyncs a directory so that a rename or creation inside it survives power loss. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await Deno.open(directory, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const written = await file.write(bytes.subarray(offset));
    // A zero-byte write would loop forever; the kernel only does it for impossible sizes.
    if (written <= 0) throw new Error(`write made no progress at byte ${offset}`);
    offset += written;
  }
}

function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(HEADER_BYTES + payload.length);
  frame.set(MAGIC, 0);
  const view = new DataView(frame.buffer);
  view.setUint32(MAGIC.length, FORMAT_VERSION);
  view.setUint32(MAGIC.length + 4, payload.length);
  frame.set(payload, HEADER_BYTES);
  frame.set(checksum(frame), MAGIC.length + 8);
  return frame;
}

function decodeFrame(path: string, frame: Uint8Array): Uint8Array {
  const name = basename(path);
  if (frame.length < HEADER_BYTES) {
    throw new StorageCorruptionError(
      path,
      `truncated: expected at least a ${HEADER_BYTES}-byte header, got ${frame.length} bytes`,
    );
  }
  if (!MAGIC.every((byte, index) => frame[index] === byte)) {
    throw new StorageCorruptionError(path, `bad magic: ${name} is not an hactl state file`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const version = view.getUint32(MAGIC.length);
  if (version !== FORMAT_VERSION) {
    throw new StorageCorruptionError(
      path,
      `unsupported format version ${version} (this hactl reads version ${FORMAT_VERSION})`,
    );
  }
  const expectedBytes = HEADER_BYTES + view.getUint32(MAGIC.length + 4);
  if (frame.length !== expectedBytes) {
    const what = frame.length < expectedBytes ? "truncated" : "trailing bytes";
    throw new StorageCorruptionError(
      path,
      `${what}: expected ${expectedBytes} bytes got ${frame.length}`,
    );
  }
  const stored = frame.subarray(MAGIC.length + 8, HEADER_BYTES);
  if (!checksum(frame).every((byte, index) => stored[index] === byte)) {
    throw new StorageCorruptionError(path, "checksum mismatch: the contents were altered");
  }
  return frame.slice(HEADER_BYTES);
}

/** SHA-256 over the version, length and payload: everything but the magic and the checksum. */
function checksum(frame: Uint8Array): Uint8Array {
  return createHash("sha256")
    .update(frame.subarray(MAGIC.length, MAGIC.length + 8))
    .update(frame.subarray(HEADER_BYTES))
    .digest();
}
