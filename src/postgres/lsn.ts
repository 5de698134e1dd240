/**
 * Postgres LSNs ("16/B374D848") as byte counts, and back.
 *
 * @module
 */

/** Largest LSN this module handles: it must fit in a safe integer (2^53 - 1 bytes). */
const MAX_LSN_BYTES = Number.MAX_SAFE_INTEGER;
const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const TWO_TO_32 = 4294967296;

/**
 * Parses a textual LSN "HI/LO" (hex halves of a 64-bit position) into a number of bytes.
 * Throws when the text is not an LSN or exceeds 2^53 - 1.
 */
export function parseLsn(text: string): number {
  const match = LSN_PATTERN.exec(text.trim());
  if (match === null) {
    throw new Error(`cannot parse LSN "${text}": expected two hex numbers like "16/B374D848"`);
  }
  const high = parseInt(match[1]!, 16);
  const low = parseInt(match[2]!, 16);
  const bytes = high * TWO_TO_32 + low;
  if (bytes > MAX_LSN_BYTES) {
    throw new Error(`LSN "${text}" is beyond 2^53 bytes and cannot be held exactly`);
  }
  return bytes;
}

/** Formats a number of bytes as a Postgres LSN "HI/LO" in upper-case hex, as Postgres does. */
export function formatLsn(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new Error(`cannot format LSN from ${bytes}: expected a non-negative safe integer`);
  }
  const high = Math.floor(bytes / TWO_TO_32);
  const low = bytes - high * TWO_TO_32;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}
