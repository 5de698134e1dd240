/**
 * Byte-level helpers over a Deno connection: read or write an exact number of bytes, close
 * without caring whether it is already closed.
 *
 * @module
 */

/** Reads exactly `length` bytes or throws when the connection ends first. */
export async function readExactly(connection: Deno.Conn, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const count = await connection.read(buffer.subarray(filled));
    if (count === null) throw new Error(`connection closed after ${filled} of ${length} bytes`);
    filled += count;
  }
  return buffer;
}

/** Writes every byte (a single write may take only part of them). */
export async function writeAll(connection: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await connection.write(bytes.subarray(written));
  }
}

/** Closes a connection that may already be closed. */
export function closeQuietly(connection: Deno.Conn | null): void {
  try {
    connection?.close();
  } catch {
    // Already closed: nothing to do.
  }
}
