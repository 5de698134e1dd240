/**
 * Helpers of doctor's file checks: permission bits as text, the nearest existing ancestor of
 * a path, and whether an OS user may write a directory.
 *
 * @module
 */
import type { UserIds } from "../../postgres/files.ts";
import { parentOf } from "../../postgres/files.ts";

/** `0o600` → "0600". */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/** True when group or others have any permission on a file of `mode`. */
export function openToOthers(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/** The path itself when it exists, else its closest existing ancestor, with its info. */
export async function nearestExisting(
  path: string,
): Promise<{ readonly path: string; readonly info: Deno.FileInfo }> {
  let current = path;
  // Bounded by the path's depth: each step removes one component, "/" always exists.
  for (let depth = 0; depth <= path.split("/").length; depth++) {
    try {
      return { path: current, info: await Deno.stat(current) };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      current = parentOf(current);
    }
  }
  throw new Error(`no existing ancestor of ${path}`);
}

/**
 * Whether `user` may create entries in a directory with `info`, judged from its owner, group
 * and mode (supplementary groups and ACLs are not looked at; root may always).
 */
export function writableBy(info: Deno.FileInfo, user: UserIds): boolean {
  if (user.uid === 0) return true;
  const mode = info.mode ?? 0;
  if (info.uid === user.uid) return (mode & 0o300) === 0o300;
  if (info.gid === user.gid) return (mode & 0o030) === 0o030;
  return (mode & 0o003) === 0o003;
}
