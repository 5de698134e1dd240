/**
 * The cluster secret file: read it (refusing one other users can read) and create one.
 *
 * @module
 */

/** A secret shorter than this is too easy to guess. */
export const MIN_SECRET_LENGTH = 16;
/** A secret file larger than this is not a secret file. */
export const MAX_SECRET_FILE_BYTES = 4096;
/** Random bytes in a generated secret (written as hex). */
const GENERATED_SECRET_BYTES = 32;

/**
 * Reads the secret from `path` (surrounding whitespace removed). Throws, naming the file and
 * the fix, when it is missing, readable by group or others, empty or too short.
 */
export async function readClusterSecret(path: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new Error(
      `cluster.secret_file ${path}: cannot be read: ${String(error)}; create it with hactl init`,
    );
  }
  if (!info.isFile) throw new Error(`cluster.secret_file ${path}: is not a regular file`);
  const mode = info.mode ?? 0;
  // Group-readable is refused too: a secret for the whole cluster belongs to hactl's user only.
  if ((mode & 0o044) !== 0) {
    throw new Error(
      `cluster.secret_file ${path}: readable by other users (mode ${
        (mode & 0o777).toString(8)
      }); ` +
        `run chmod 600 ${path}`,
    );
  }
  if (info.size > MAX_SECRET_FILE_BYTES) {
    throw new Error(
      `cluster.secret_file ${path}: ${info.size} bytes, expected at most ${MAX_SECRET_FILE_BYTES}`,
    );
  }
  const secret = (await Deno.readTextFile(path)).trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `cluster.secret_file ${path}: the secret has ${secret.length} characters, expected at least ` +
        `${MIN_SECRET_LENGTH}; generate one with hactl init`,
    );
  }
  return secret;
}

/** A fresh random secret: 32 bytes as 64 hex characters. */
export function generateClusterSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(GENERATED_SECRET_BYTES));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Writes `secret` to a new file only the owner can read; refuses to overwrite an existing one. */
export async function writeClusterSecretFile(path: string, secret: string): Promise<void> {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`writeClusterSecretFile: secret of ${secret.length} characters is too short`);
  }
  await Deno.writeTextFile(path, `${secret}\n`, { createNew: true, mode: 0o600 });
  // The mode given at creation is filtered by the umask; set it explicitly.
  await Deno.chmod(path, 0o600);
}
