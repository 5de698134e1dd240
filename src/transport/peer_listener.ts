/**
 * The accepting side of the Raft port, plain TCP or mutual TLS, behind one interface.
 *
 * A connection is handed over as soon as TCP accepted it, before any TLS handshake, so that the
 * transport's pre-authentication limits (per-source caps, oldest-first closing, the handshake
 * timeout) count a TLS handshake in progress like any other unauthenticated connection: a
 * neighbour holding half-finished handshakes cannot lock a real peer out.
 *
 * @module
 */
import type { Socket } from "node:net";
import tls from "node:tls";
import { closeQuietly, type PeerConnection } from "./connection_io.ts";
import { certifiedNodeId, type PeerTlsMaterial } from "./peer_tls.ts";
import { TlsSocketConnection } from "./tls_socket_connection.ts";
import type { PeerAddress } from "./transport_limits.ts";

/** A connection once its handshake is done: the stream and the node its certificate names. */
export interface SecuredConnection {
  readonly connection: PeerConnection;
  /** The node id of the peer's verified certificate (never null with TLS); null on plain TCP. */
  readonly certifiedNodeId: string | null;
}

/** An accepted connection whose handshake (if any) has not run yet. */
export interface IncomingConnection {
  readonly remoteAddr: PeerAddress;
  /** Completes the handshake; rejects with the reason when the peer is refused. */
  secure(): Promise<SecuredConnection>;
  /** Closes it, at any stage. */
  close(): void;
}

/** A listening Raft port. */
export interface PeerListener {
  readonly address: PeerAddress;
  /** The next accepted connection; rejects once closed. */
  accept(): Promise<IncomingConnection>;
  close(): void;
}

/** Accepted connections not yet taken by `accept()`; beyond it the newest is closed. */
const MAX_ACCEPT_BACKLOG = 64;

/** Listens on `listen` with mutual TLS; rejects when the address cannot be bound. */
export async function listenForPeersWithTls(
  listen: PeerAddress,
  material: PeerTlsMaterial,
  handshakeTimeoutMs: number,
): Promise<PeerListener> {
  const listener = new TlsPeerListener(material, handshakeTimeoutMs);
  await listener.listen(listen);
  return listener;
}

/** Listens on `listen` with plain TCP; throws at once when the address cannot be bound. */
export function listenForPeersInPlainText(listen: PeerAddress): PeerListener {
  return plainListener(Deno.listen({ hostname: listen.hostname, port: listen.port }));
}

function plainListener(listener: Deno.TcpListener): PeerListener {
  const { hostname, port } = listener.addr;
  return {
    address: { hostname, port },
    accept: async () => {
      const connection = await listener.accept();
      const { hostname, port } = connection.remoteAddr;
      return {
        remoteAddr: { hostname, port },
        secure: () => Promise.resolve({ connection, certifiedNodeId: null }),
        close: () => closeQuietly(connection),
      };
    },
    close: () => listener.close(),
  };
}

/** One accepted TCP connection of the TLS listener, waiting for its handshake. */
class PendingTlsConnection implements IncomingConnection {
  readonly remoteAddr: PeerAddress;
  readonly raw: Socket;
  readonly #outcome: Promise<SecuredConnection>;
  #settle: { resolve(value: SecuredConnection): void; reject(error: Error): void } | null = null;

  constructor(raw: Socket) {
    this.raw = raw;
    this.remoteAddr = { hostname: raw.remoteAddress ?? "unknown", port: raw.remotePort ?? 0 };
    this.#outcome = new Promise((resolve, reject) => this.#settle = { resolve, reject });
    // Rejections before `secure()` was called must not count as unhandled.
    this.#outcome.catch(() => {});
  }

  secure(): Promise<SecuredConnection> {
    return this.#outcome;
  }

  established(socket: tls.TLSSocket): void {
    const name = certifiedNodeId(socket.getPeerCertificate());
    if (name === null) {
      // Without a name there is no identity to bind frames to: refuse the peer.
      socket.destroy();
      this.raw.destroy();
      return this.failed("the client certificate names no node (one subject CN expected)");
    }
    this.#settle?.resolve({
      connection: new TlsSocketConnection(socket, this.remoteAddr),
      certifiedNodeId: name,
    });
    this.#settle = null;
  }

  failed(reason: string): void {
    this.#settle?.reject(new Error(`TLS handshake failed: ${reason}`));
    this.#settle = null;
  }

  close(): void {
    this.raw.destroy();
    this.failed("closed by this node");
  }
}

/** node:tls server asking every client for a certificate of the cluster CA. */
class TlsPeerListener implements PeerListener {
  readonly #server: tls.Server;
  readonly #byRemote = new Map<string, PendingTlsConnection>();
  readonly #backlog: PendingTlsConnection[] = [];
  #waiter: { resolve(value: IncomingConnection): void; reject(error: Error): void } | null = null;
  #closed = false;
  #address: PeerAddress | null = null;

  constructor(material: PeerTlsMaterial, handshakeTimeoutMs: number) {
    this.#server = tls.createServer({
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
      handshakeTimeout: handshakeTimeoutMs,
    });
    this.#server.on("connection", (raw: Socket) => this.#accepted(raw));
    this.#server.on("secureConnection", (socket: tls.TLSSocket) => {
      const pending = this.#byRemote.get(remoteKey(socket));
      if (pending === undefined) socket.destroy();
      else pending.established(socket);
    });
    this.#server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
      // The TLS socket of a failed handshake may have lost its address; its TCP socket has it.
      const raw = (socket as unknown as { _parent?: Socket })._parent;
      const pending = raw === undefined ? undefined : this.#byRemote.get(remoteKey(raw));
      pending?.failed(error.message);
    });
  }

  get address(): PeerAddress {
    if (this.#address === null) throw new Error("TlsPeerListener.address: not listening");
    return this.#address;
  }

  listen(listen: PeerAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(listen.port, listen.hostname, () => {
        this.#server.off("error", reject);
        const bound = this.#server.address();
        if (bound === null || typeof bound === "string") {
          reject(new Error(`listening on ${listen.hostname}:${listen.port} gave no address`));
          return;
        }
        this.#address = { hostname: bound.address, port: bound.port };
        // A server error after listening (e.g. EMFILE) must not end the process.
        this.#server.on("error", () => {});
        resolve();
      });
    });
  }

  accept(): Promise<IncomingConnection> {
    if (this.#closed) return Promise.reject(new Error("listener closed"));
    const next = this.#backlog.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve, reject) => this.#waiter = { resolve, reject });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const pending of this.#backlog.splice(0)) pending.close();
    this.#waiter?.reject(new Error("listener closed"));
    this.#waiter = null;
  }

  #accepted(raw: Socket): void {
    const pending = new PendingTlsConnection(raw);
    const key = remoteKey(raw);
    this.#byRemote.set(key, pending);
    raw.on("error", () => {});
    raw.on("close", () => {
      if (this.#byRemote.get(key) === pending) this.#byRemote.delete(key);
      pending.failed("the connection closed during the handshake");
    });
    if (this.#closed) return pending.close();
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter !== null) return waiter.resolve(pending);
    if (this.#backlog.length >= MAX_ACCEPT_BACKLOG) return pending.close();
    this.#backlog.push(pending);
  }
}

function remoteKey(
  socket: { remoteAddress?: string | undefined; remotePort?: number | undefined },
) {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
