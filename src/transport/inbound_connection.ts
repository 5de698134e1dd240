/**
 * One accepted connection: send the hello, then read, authenticate and validate frames.
 *
 * Frame-level faults (garbage, oversized length, wrong version or cluster, unknown sender, bad
 * HMAC, sequence gap) close this connection: after them the byte stream cannot be trusted. A
 * frame that authenticates but carries an invalid message is refused alone and the connection
 * stays open: the sender holds the secret, so the fault is a bug or a version skew, and closing
 * would only add reconnect churn. Every refusal is reported through `reject`, never thrown.
 *
 * With TLS the handshake runs first, inside the same deadline as the first frame: until a frame
 * authenticates, the connection counts against the pre-authentication limits. A frame must then
 * claim the sender its client certificate names (see peer_tls.ts), or it is refused.
 *
 * @module
 */
import type { Message, NodeId } from "../core/types.ts";
import {
  CHALLENGE_BYTES,
  encodeHello,
  FRAME_PROTOCOL_VERSION,
  FrameReader,
  MAX_FRAME_BYTES,
  MAX_UNAUTHENTICATED_FRAME_BYTES,
  parseFrameBody,
  verifyFrameMac,
} from "./frame.ts";
import { decodeMessageBytes } from "./message_codec.ts";
import { closeQuietly, type PeerConnection, writeAll } from "./connection_io.ts";
import type { IncomingConnection } from "./peer_listener.ts";
import { formatAddress, type TransportLimits } from "./transport_limits.ts";
import { withDeadline } from "./wakeup.ts";

/** Bytes read from the socket at a time. */
const READ_BUFFER_BYTES = 64 * 1024;

/** What an accepted connection needs from its transport. */
export interface InboundContext {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly frameKey: Uint8Array;
  readonly limits: TransportLimits;
  /** True when `id` is a current peer of this node. */
  readonly isKnownPeer: (id: NodeId) => boolean;
  /** Hands a valid message to the node. */
  readonly deliver: (message: Message) => void;
  /** Reports a refused frame or message, with the remote "host:port" and host. */
  readonly reject: (reason: string, remote: string, sourceHost: string) => void;
  /** Called when the connection's first frame authenticates (the transport drops older ones). */
  readonly authenticated: (connection: InboundConnection) => void;
}

/** An accepted peer connection. `serve()` runs it to its end and never rejects. */
export class InboundConnection {
  /** The remote "host:port", for reports. */
  readonly remote: string;
  /** The remote host alone: connection limits and report rates are per source address. */
  readonly sourceHost: string;
  readonly #incoming: IncomingConnection;
  /** The stream once the handshake (if any) is done. */
  #connection: PeerConnection | null = null;
  /** The node the peer's certificate names (TLS), or null on plain TCP. */
  #certifiedNodeId: string | null = null;
  readonly #context: InboundContext;
  readonly #challenge = crypto.getRandomValues(new Uint8Array(CHALLENGE_BYTES));
  readonly #reader = new FrameReader();
  #senderId: NodeId | null = null;
  #expectedSequence = 0;
  #closed = false;

  /** Wraps an accepted connection; nothing is sent before `serve()`. */
  constructor(incoming: IncomingConnection, context: InboundContext) {
    this.#incoming = incoming;
    this.#context = context;
    const address = incoming.remoteAddr;
    this.remote = formatAddress({ hostname: address.hostname, port: address.port });
    this.sourceHost = address.hostname;
  }

  /** The authenticated sender, or null before the first valid frame. */
  get senderId(): NodeId | null {
    return this.#senderId;
  }

  /** Closes the connection; `serve()` then returns. */
  close(): void {
    this.#closed = true;
    closeQuietly(this.#connection);
    closeQuietly(this.#incoming);
  }

  /**
   * Completes the TLS handshake (if any), sends the hello and handles frames until the
   * connection ends or must be closed.
   */
  async serve(): Promise<void> {
    const handshakeTimer = setTimeout(() => {
      if (this.#senderId !== null || this.#closed) return;
      const stage = this.#connection === null ? " (TLS handshake not finished)" : "";
      this.#refuse(
        `no authenticated frame within ${this.#context.limits.handshakeTimeoutMs} ms${stage}`,
      );
    }, this.#context.limits.handshakeTimeoutMs);
    try {
      const connection = await this.#secure();
      if (connection === null) return;
      await withDeadline(
        writeAll(connection, encodeHello(this.#challenge)),
        this.#context.limits.handshakeTimeoutMs,
        "sending the hello",
        () => this.close(),
      );
      await this.#readLoop(connection);
    } catch {
      // The connection failed (reset, closed by us): there is nothing to report beyond its end.
    } finally {
      clearTimeout(handshakeTimer);
      this.close();
    }
  }

  /** The stream after the handshake; null (reported) when the peer was refused. */
  async #secure(): Promise<PeerConnection | null> {
    try {
      const secured = await this.#incoming.secure();
      this.#connection = secured.connection;
      this.#certifiedNodeId = secured.certifiedNodeId;
      if (this.#closed) closeQuietly(secured.connection);
      return this.#closed ? null : secured.connection;
    } catch (error) {
      // A certificate of another CA, none at all, or junk: refused before any frame.
      if (!this.#closed) this.#refuse(error instanceof Error ? error.message : String(error));
      return null;
    }
  }

  async #readLoop(connection: PeerConnection): Promise<void> {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    while (!this.#closed) {
      const count = await connection.read(buffer);
      if (count === null) {
        if (this.#reader.bufferedBytes > 0 && !this.#closed) {
          this.#refuse(
            `connection ended inside a frame (${this.#reader.bufferedBytes} bytes pending)`,
          );
        }
        return;
      }
      this.#reader.push(buffer.slice(0, count));
      this.#drainFrames();
    }
  }

  /** Handles every complete frame received so far. */
  #drainFrames(): void {
    while (!this.#closed) {
      // Nothing bigger than an authentication frame is buffered or hashed before one passed.
      const next = this.#reader.next(
        this.#senderId === null ? MAX_UNAUTHENTICATED_FRAME_BYTES : MAX_FRAME_BYTES,
      );
      if (next.kind === "need-more") return;
      if (next.kind === "error") {
        this.#refuse(next.error);
        return;
      }
      const message = this.#openFrame(next.body);
      if (message !== null) this.#deliver(message);
    }
  }

  /** Authenticates a frame and decodes its message; null when refused. */
  #openFrame(body: Uint8Array): Message | null {
    const { clusterId, frameKey } = this.#context;
    const parsed = parseFrameBody(body);
    if (!parsed.ok) return this.#refuse(`malformed frame: ${parsed.error}`);
    const { fields } = parsed.frame;
    if (fields.version !== FRAME_PROTOCOL_VERSION) {
      return this.#refuse(
        `frame has protocol version ${fields.version}, this node speaks ${FRAME_PROTOCOL_VERSION}`,
      );
    }
    if (fields.clusterId !== clusterId) {
      return this.#refuse(
        `frame from ${fields.senderId} is for cluster ${fields.clusterId}, this node is in cluster ${clusterId}: ` +
          "check cluster.name and cluster.peers on both nodes",
      );
    }
    if (!this.#context.isKnownPeer(fields.senderId)) {
      return this.#refuse(`frame from ${fields.senderId}, which is not a peer of this node`);
    }
    if (this.#certifiedNodeId !== null && fields.senderId !== this.#certifiedNodeId) {
      return this.#refuse(
        `frame claims sender ${fields.senderId} on a TLS connection whose certificate names ` +
          `${this.#certifiedNodeId}: a member may only speak for itself`,
      );
    }
    if (this.#senderId !== null && fields.senderId !== this.#senderId) {
      return this.#refuse(
        `frame claims sender ${fields.senderId} on a connection of ${this.#senderId}`,
      );
    }
    if (!verifyFrameMac(parsed.frame, frameKey, this.#challenge)) {
      return this.#refuse(
        `frame from ${fields.senderId} failed authentication (HMAC mismatch): ` +
          "the sender uses another cluster secret, or the frame was altered or replayed",
      );
    }
    if (fields.sequence !== this.#expectedSequence) {
      return this.#refuse(
        `frame from ${fields.senderId} has sequence ${fields.sequence}, expected ${this.#expectedSequence}`,
      );
    }
    this.#expectedSequence++;
    if (this.#senderId === null) {
      this.#senderId = fields.senderId;
      this.#context.authenticated(this);
    }
    // An empty payload only authenticates the connection (the first frame a link sends).
    if (fields.payload.length === 0) return null;
    return this.#decodeMessage(fields.senderId, fields.payload);
  }

  /** Validates the payload of an authenticated frame; a bad one is refused alone. */
  #decodeMessage(senderId: NodeId, payload: Uint8Array): Message | null {
    const decoded = decodeMessageBytes(payload);
    if (!decoded.ok) {
      return this.#refuseMessage(`invalid message from ${senderId}: ${decoded.error}`);
    }
    const { message } = decoded;
    if (message.from !== senderId) {
      return this.#refuseMessage(
        `message says it is from ${message.from}, but its frame is authenticated as ${senderId}`,
      );
    }
    if (message.to !== this.#context.nodeId) {
      return this.#refuseMessage(
        `message from ${senderId} is addressed to ${message.to}, this node is ${this.#context.nodeId}`,
      );
    }
    return message;
  }

  #deliver(message: Message): void {
    try {
      this.#context.deliver(message);
    } catch (error) {
      // A throwing handler is a bug in the node, not a peer fault: let it reach the process
      // instead of ending this connection quietly.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** Reports a frame fault and closes the connection; returns null for the caller's convenience. */
  #refuse(reason: string): null {
    this.#context.reject(reason, this.remote, this.sourceHost);
    this.close();
    return null;
  }

  /** Reports a refused message; the connection stays open. */
  #refuseMessage(reason: string): null {
    this.#context.reject(reason, this.remote, this.sourceHost);
    return null;
  }
}
