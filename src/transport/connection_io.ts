/**
 * The byte stream the transport reads and writes, whether plain TCP or TLS, and byte-level
 * helpers over it: read or write an exact number of bytes, close without caring whether it is
 * already closed.
 *
 * @module
 */

/** A peer connection as the transport uses it; a `Deno.TcpConn` is one, and so is a TLS socket behind tls_socket_connection.ts. */
export interface PeerConnection {
  /** The remote address, for reports and per-source limits. */
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
  /** Reads into `buffer`; resolves with the count, or null at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some or all of `bytes`; resolves with how many were taken. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the connection; pending reads end. */
  close(): void;
}

/** Reads exactly `length` bytes or throws when the connection ends first. */
export async function readExactly(connection: PeerConnection, length: number): Promise<Uint8Array> {
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
export async function writeAll(connection: PeerConnection, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await connection.write(bytes.subarray(written));
  }
}

/** Closes a connection that may already be closed. */
export function closeQuietly(connection: { close(): void } | null): void {
  try {
    connection?.close();
  } catch {
    // Already closed: nothing to do.
  }
}
