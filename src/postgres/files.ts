/**
 * Durable file writes owned by the Postgres OS user (write temp, fsync, rename, fsync dir).
 *
 * @module
 */

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
 * Writes `content` to `path` so that a crash leaves either the old or the new file:
 * write a temp file, fsync it, rename it over `path`, fsync the directory.
 */
export async function writeFileDurably(
  path: string,
  content: string,
  options: { readonly mode: number; readonly owner: UserIds | null },
): Promise<void> {
  const temporaryPath = `${path}.hactl-tmp`;
  const file = await Deno.open(temporaryPath, {
    write: true,
    create: true,
    truncate: true,
    mode: options.mode,
  });
  try {
    await writeAll(file, new TextEncoder().encode(content));
    await Deno.chmod(temporaryPath, options.mode);
    if (options.owner !== null) {
      await Deno.chown(temporaryPath, options.owner.uid, options.owner.gid);
    }
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temporaryPath, path);
  await syncDirectory(parentOf(path));
}

/** Bound on write calls for one file: each writes at least one byte, so this never trips. */
const MAX_WRITE_CALLS = 1 << 20;

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  for (let call = 0; offset < bytes.length; call++) {
    if (call >= MAX_WRITE_CALLS) throw new Error("writeAll made no progress");
    offset += await file.write(bytes.subarray(offset));
  }
}

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
  await Deno.mkdir(path, { recursive: true, mode: options.mode });
  await Deno.chmod(path, options.mode);
  if (options.owner !== null) await Deno.chown(path, options.owner.uid, options.owner.gid);
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
