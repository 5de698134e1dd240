/**
 * One peer's outgoing side: a bounded outbox and a connection made lazily, kept while it works
 * and re-established with bounded exponential backoff when it breaks.
 *
 * Messages are only ever dropped, never blocked on: Raft retries by itself (heartbeats, vote
 * timeouts), so a stale queue is worth less than a fresh message, and the oldest goes first.
 *
 * @module
 */
import type { NodeId } from "../core/types.ts";
import { encodeFrame, HELLO_BYTES, parseHello } from "./frame.ts";
import {
  formatAddress,
  type MutableTransportCounters,
  type PeerAddress,
  type TransportLimits,
} from "./transport_limits.ts";
import { closeQuietly, type PeerConnection, readExactly, writeAll } from "./connection_io.ts";
import { connectPeerTls, type PeerTlsMaterial } from "./peer_tls.ts";
import { sleepUnlessWoken, Wakeup, withDeadline } from "./wakeup.ts";

/** What a link needs from its transport. */
export interface OutboundLinkContext {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly frameKey: Uint8Array;
  /** Mutual TLS with the peer's certificate checked to name it; null: plain TCP. */
  readonly tls: PeerTlsMaterial | null;
  readonly limits: TransportLimits;
  readonly counters: MutableTransportCounters;
  /** Called once per outage, when a connection attempt fails or an open connection breaks. */
  readonly onPeerDown: (peer: NodeId, reason: string) => void;
  /** Called when a connection is established after an outage (or for the first time). */
  readonly onPeerUp: (peer: NodeId) => void;
}

/** Outgoing messages to one peer. Create with a peer id and address, then `enqueue`. */
export class OutboundLink {
  readonly #peer: NodeId;
  readonly #context: OutboundLinkContext;
  #address: PeerAddress;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #closed = false;
  #connection: PeerConnection | null = null;
  #addressChanged = false;
  /** Last reported state, so that an outage is reported once, not at every retry. */
  #reported: "unknown" | "up" | "down" = "unknown";
  /** Notified when a message is queued. */
  readonly #messages = new Wakeup();
  /** Notified on close and address change: ends a backoff sleep or an idle connection. */
  readonly #interrupt = new Wakeup();
  #running: Promise<void> | null = null;

  /** A link to `peer` at `address`; no connection is made before the first message. */
  constructor(peer: NodeId, address: PeerAddress, context: OutboundLinkContext) {
    this.#peer = peer;
    this.#address = address;
    this.#context = context;
  }

  /** Messages waiting in the outbox. */
  get queuedMessages(): number {
    return this.#queue.length;
  }

  /** Queues an encoded message; drops the oldest ones when the outbox is over its bounds. */
  enqueue(payload: Uint8Array): void {
    if (this.#closed) {
      this.#context.counters.messagesDropped++;
      return;
    }
    const limits = this.#context.limits;
    this.#queue.push(payload);
    this.#queuedBytes += payload.length;
    while (
      this.#queue.length > limits.maxQueuedMessagesPerPeer ||
      (this.#queuedBytes > limits.maxQueuedBytesPerPeer && this.#queue.length > 1)
    ) {
      this.#queuedBytes -= this.#queue.shift()!.length;
      this.#context.counters.messagesDropped++;
    }
    this.#running ??= this.#run();
    this.#messages.notify();
  }

  /** Points the link at a new address; an open connection to the old one is closed. */
  setAddress(address: PeerAddress): void {
    if (address.hostname === this.#address.hostname && address.port === this.#address.port) return;
    this.#address = address;
    this.#addressChanged = true;
    closeQuietly(this.#connection);
    this.#interrupt.notify();
  }

  /** Closes the connection, drops the outbox and waits until the link's loop has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#context.counters.messagesDropped += this.#queue.length;
    this.#queue = [];
    this.#queuedBytes = 0;
    closeQuietly(this.#connection);
    this.#interrupt.notify();
    this.#messages.notify();
    await this.#running;
  }

  async #run(): Promise<void> {
    let consecutiveFailures = 0;
    while (!this.#closed) {
      if (this.#queue.length === 0) {
        await Promise.race([this.#messages.wait(), this.#interrupt.wait()]);
        continue;
      }
      this.#addressChanged = false;
      const error = await this.#connectAndSend();
      if (this.#closed) break;
      if (error === null || this.#addressChanged) {
        consecutiveFailures = 0;
        continue;
      }
      consecutiveFailures++;
      if (this.#reported !== "down") {
        this.#reported = "down";
        this.#context.onPeerDown(this.#peer, error);
      }
      await sleepUnlessWoken(this.#reconnectDelayMs(consecutiveFailures), this.#interrupt);
    }
  }

  #reconnectDelayMs(consecutiveFailures: number): number {
    const { minReconnectDelayMs, maxReconnectDelayMs } = this.#context.limits;
    const exponent = Math.min(consecutiveFailures - 1, 16);
    return Math.min(maxReconnectDelayMs, minReconnectDelayMs * 2 ** exponent);
  }

  /** One connection's life. Returns null when it ended because of close or an address change. */
  async #connectAndSend(): Promise<string | null> {
    const address = this.#address;
    const where = `${this.#peer} at ${formatAddress(address)}`;
    let connection: PeerConnection | null = null;
    let remoteGone: Promise<void> | null = null;
    try {
      connection = await this.#connect(address);
      this.#connection = connection;
      if (this.#closed || this.#addressChanged) return null;
      const challenge = await this.#readHello(connection);
      this.#context.counters.connectionsOpened++;
      if (this.#reported !== "up") {
        this.#reported = "up";
        this.#context.onPeerUp(this.#peer);
      }
      // The accepting side never writes after its hello, so a read ends only when it hangs up.
      let hungUp = false;
      remoteGone = connection.read(new Uint8Array(1)).then(() => {}, () => {}).finally(() => {
        hungUp = true;
        this.#interrupt.notify();
      });
      return await this.#sendQueued(connection, challenge, () => hungUp);
    } catch (error) {
      return this.#closed || this.#addressChanged ? null : `${where}: ${errorText(error)}`;
    } finally {
      this.#connection = null;
      closeQuietly(connection);
      await remoteGone;
    }
  }

  async #connect(address: PeerAddress): Promise<PeerConnection> {
    const { tls, limits } = this.#context;
    if (tls !== null) {
      // TCP connect and TLS handshake share the connect deadline.
      return await connectPeerTls(this.#peer, address, tls, limits.connectTimeoutMs);
    }
    const abort = new AbortController();
    const connecting = Deno.connect({
      hostname: address.hostname,
      port: address.port,
      signal: abort.signal,
    });
    // A connect that completes after its deadline must not leak its connection.
    connecting.then((connection) => abort.signal.aborted && closeQuietly(connection), () => {});
    return await withDeadline(
      connecting,
      this.#context.limits.connectTimeoutMs,
      "connecting",
      () => abort.abort(),
    );
  }

  async #readHello(connection: PeerConnection): Promise<Uint8Array> {
    const hello = await withDeadline(
      readExactly(connection, HELLO_BYTES),
      this.#context.limits.helloTimeoutMs,
      "waiting for the hello",
      () => closeQuietly(connection),
    );
    const parsed = parseHello(hello);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.challenge;
  }

  async #sendQueued(
    connection: PeerConnection,
    challenge: Uint8Array,
    hungUp: () => boolean,
  ): Promise<string | null> {
    const { nodeId, clusterId, frameKey, limits, counters } = this.#context;
    // An empty first frame authenticates the connection at once: the accepting side buffers
    // nothing bigger from a connection that has not authenticated.
    const authentication = encodeFrame(
      { clusterId, senderId: nodeId, sequence: 0, payload: new Uint8Array(0) },
      frameKey,
      challenge,
    );
    await withDeadline(
      writeAll(connection, authentication),
      limits.writeTimeoutMs,
      "sending the authentication frame",
      () => closeQuietly(connection),
    );
    for (let sequence = 1; !this.#closed && !this.#addressChanged;) {
      if (hungUp()) throw new Error("the peer closed the connection");
      const payload = this.#queue.shift();
      if (payload === undefined) {
        await Promise.race([this.#messages.wait(), this.#interrupt.wait()]);
        continue;
      }
      this.#queuedBytes -= payload.length;
      const frame = encodeFrame(
        { clusterId, senderId: nodeId, sequence, payload },
        frameKey,
        challenge,
      );
      sequence++;
      try {
        await withDeadline(
          writeAll(connection, frame),
          limits.writeTimeoutMs,
          "sending a frame",
          () => closeQuietly(connection),
        );
      } catch (error) {
        counters.messagesDropped++;
        throw error;
      }
      counters.messagesSent++;
    }
    return null;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
