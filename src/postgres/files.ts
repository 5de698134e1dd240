/**
 * Durable file writes owned by the Postgres OS user (write temp, fsync, rename, fsync dir),
 * safe against symbolic links planted by that user (the agent may run as root).
 *
 * @module
 */
import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  openSync,
  writeSync,
} from "node:fs";

/** Numeric ids of an OS user. */
export interface UserIds {
  readonly uid: number;
  readonly gid: number;
}

const userIdCache = new Map<string, UserIds>();
const ID_TIMEOUT_MS = 5_000;

/** Looks up uid and gid of an OS user with `id`; throws when the user does not exist. */
export async function lookupUser(name: string): Promise<UserIds> {
  const cached = userIdCache.get(name);
  if (cached !== undefined) return cached;
  const run = async (flag: string) => {
    const output = await new Deno.Command("id", {
      args: [flag, name],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(ID_TIMEOUT_MS),
    }).output();
    if (!output.success) {
      throw new Error(
        `OS user "${name}" not found (id ${flag} ${name} failed); create it or set ` +
          `postgres.runAsUser to the user that owns the data directory`,
      );
    }
    return parseInt(new TextDecoder().decode(output.stdout).trim(), 10);
  };
  const ids = { uid: await run("-u"), gid: await run("-g") };
  userIdCache.set(name, ids);
  return ids;
}

/** The ids files must be owned by: those of `runAsUser` when the agent is root, else null. */
export async function ownerFor(runAsUser: string | null): Promise<UserIds | null> {
  if (runAsUser === null || Deno.uid() !== 0) return null;
  return await lookupUser(runAsUser);
}

/**
 * Thrown when a path hactl writes (as root, into a directory another OS user owns) is a
 * symbolic link: following it would let that user point hactl's write, chmod or chown at any
 * file of the system (a database superuser can create files as the postgres user).
 */
export class SymlinkRefusedError extends Error {
  /** Creates the error for `path`. */
  constructor(readonly path: string) {
    super(
      `refusing to write ${path}: it is a symbolic link. hactl never follows links in the ` +
        `directories it manages; remove the link (and find out who created it)`,
    );
    this.name = "SymlinkRefusedError";
  }
}

/** Throws {@link SymlinkRefusedError} when `path` exists as a symbolic link. */
export async function refuseSymlink(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isSymlink) throw new SymlinkRefusedError(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Most attempts to create a temp file whose name someone keeps occupying. */
const MAX_TEMP_ATTEMPTS = 3;

/**
 * Creates `path` exclusively without following links (O_CREAT | O_EXCL | O_NOFOLLOW): a file,
 * link or anything else already there is removed first (unlink never follows a link), and a
 * name taken again in between fails the attempt. Returns the file descriptor.
 */
async function createExclusive(path: string, mode: number): Promise<number> {
  const flags = fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY |
    fsConstants.O_NOFOLLOW;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < MAX_TEMP_ATTEMPTS; attempt++) {
    await Deno.remove(path).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    try {
      return openSync(path, flags, mode);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`cannot create ${path} exclusively: ${String(lastError)}`);
}

/**
 * Writes `content` to `path` so that a crash leaves either the old or the new file:
 * write a temp file, fsync it, rename it over `path`, fsync the directory. Safe against
 * links planted by another user of the directory: the target must not be a link
 * ({@link SymlinkRefusedError}), the temp file is created exclusively without following
 * links, and its mode and owner are set through the open descriptor, never by path.
 */
export async function writeFileDurably(
  path: string,
  content: string,
  options: { readonly mode: number; readonly owner: UserIds | null },
): Promise<void> {
  await refuseSymlink(path);
  const temporaryPath = `${path}.hactl-tmp`;
  const descriptor = await createExclusive(temporaryPath, options.mode);
  try {
    const bytes = new TextEncoder().encode(content);
    let offset = 0;
    for (let call = 0; offset < bytes.length; call++) {
      if (call >= MAX_WRITE_CALLS) throw new Error(`writing ${temporaryPath} made no progress`);
      offset += writeSync(descriptor, bytes, offset, bytes.length - offset);
    }
    fchmodSync(descriptor, options.mode);
    if (options.owner !== null) fchownSync(descriptor, options.owner.uid, options.owner.gid);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  await Deno.rename(temporaryPath, path);
  await syncDirectory(parentOf(path));
}

/** Bound on write calls for one file: each writes at least one byte, so this never trips. */
const MAX_WRITE_CALLS = 1 << 20;

/** fsyncs a directory so that a rename or create inside it survives power loss. */
export async function syncDirectory(path: string): Promise<void> {
  const directory = await Deno.open(path, { read: true });
  try {
    await directory.sync();
  } finally {
    directory.close();
  }
}

/**
 * Creates `path` owned by `owner` with `mode`, if it does not exist. Missing parents are
 * created with mode 0755 and the same owner, so that the owner can reach `path`.
 */
export async function ensureDirectory(
  path: string,
  options: { readonly mode: number; readonly owner: UserIds | null },
): Promise<void> {
  const parent = parentOf(path);
  if (parent !== path && !await pathExists(parent)) {
    await ensureDirectory(parent, { mode: 0o755, owner: options.owner });
  }
  await refuseSymlink(path);
  await Deno.mkdir(path, { recursive: true, mode: options.mode });
  // Mode and owner through a descriptor opened without following links: the directory
  // cannot be swapped for a link between mkdir and chown.
  const descriptor = openSync(
    path,
    fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW,
  );
  try {
    fchmodSync(descriptor, options.mode);
    if (options.owner !== null) fchownSync(descriptor, options.owner.uid, options.owner.gid);
  } finally {
    closeSync(descriptor);
  }
}

/** True when `path` exists (file or directory). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The directory part of an absolute path. */
export function parentOf(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  const index = trimmed.lastIndexOf("/");
  return index <= 0 ? "/" : trimmed.slice(0, index);
}
