/**
 * A node:tls socket behind the {@link PeerConnection} calls the transport uses with Deno TCP
 * connections (`read` into a buffer, `write`, `close`), so that the frame handling does not
 * change with TLS.
 *
 * node:tls pushes data as events; this adapter keeps at most {@link MAX_READ_AHEAD_BYTES}
 * received and not yet read, pausing the socket beyond that, so a peer cannot make it buffer
 * more than the frame reader would.
 *
 * @module
 */
import type { TLSSocket } from "node:tls";
import type { PeerConnection } from "./connection_io.ts";

/** Received bytes held before the socket is paused until they are read. */
const MAX_READ_AHEAD_BYTES = 64 * 1024;

/** A TLS socket (handshake done) as a {@link PeerConnection}. */
export class TlsSocketConnection implements PeerConnection {
  /** The remote address. */
  readonly remoteAddr: { readonly hostname: string; readonly port: number };
  readonly #socket: TLSSocket;
  readonly #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  #ended = false;
  #failure: Error | null = null;
  #wake: (() => void) | null = null;

  /** Wraps `socket`, whose remote address is `remote` (a TLS socket may have lost it when closed). */
  constructor(socket: TLSSocket, remote: { hostname: string; port: number }) {
    this.#socket = socket;
    this.remoteAddr = remote;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#bufferedBytes += chunk.length;
      if (this.#bufferedBytes >= MAX_READ_AHEAD_BYTES) socket.pause();
      this.#notify();
    });
    socket.on("end", () => this.#finish(null));
    socket.on("close", () => this.#finish(null));
    socket.on("error", (error: Error) => this.#finish(error));
  }

  /** Resolves with bytes copied into `buffer`, null at the end; rejects when the socket failed. */
  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#failure !== null) throw this.#failure;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0]!;
    const count = Math.min(buffer.length, chunk.length);
    buffer.set(chunk.subarray(0, count));
    if (count === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(count);
    this.#bufferedBytes -= count;
    if (this.#bufferedBytes < MAX_READ_AHEAD_BYTES && !this.#ended) this.#socket.resume();
    return count;
  }

  /**
   * Hands `bytes` to the socket; resolves at once while its send buffer is below its high-water
   * mark, else when it drained (the caller's write deadline bounds that wait). Rejects when the
   * socket failed or was closed.
   */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#ended) return Promise.reject(this.#failure ?? new Error("connection closed"));
    if (this.#socket.write(bytes)) return Promise.resolve(bytes.length);
    return new Promise((resolve, reject) => {
      const settle = () => {
        this.#socket.off("drain", settle);
        this.#socket.off("close", settle);
        if (this.#ended) reject(this.#failure ?? new Error("connection closed"));
        else resolve(bytes.length);
      };
      this.#socket.on("drain", settle);
      this.#socket.on("close", settle);
    });
  }

  /** Destroys the socket; pending reads end. */
  close(): void {
    this.#socket.destroy();
    this.#finish(null);
  }

  #finish(error: Error | null): void {
    if (error !== null && this.#failure === null && !this.#ended) this.#failure = error;
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
