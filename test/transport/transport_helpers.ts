/**
 * Helpers for transport tests: nodes that record what they receive and refuse, a raw client
 * that speaks the frame format by hand, and polling with a deadline.
 *
 * @module
 */
import type { Message, NodeId } from "../../src/core/types.ts";
import { deriveFrameKey, encodeFrame, HELLO_BYTES, parseHello } from "../../src/transport/frame.ts";
import { encodeMessage } from "../../src/transport/message_codec.ts";
import { PeerTransport, type PeerTransportOptions } from "../../src/transport/peer_transport.ts";
import type { PeerAddress, TransportLimits } from "../../src/transport/transport_limits.ts";
import type { PeerTlsMaterial } from "../../src/transport/peer_tls.ts";

/** The secret and cluster id of the test cluster. */
export const SECRET = "test-cluster-secret-0123456789abcdef";
/** The cluster id of the test cluster. */
export const CLUSTER_ID = "test-cluster";
/** Loopback, where every test endpoint lives. */
export const LOOPBACK = "127.0.0.1";

/** A transport and everything it reported. */
export interface RecordingNode {
  readonly id: NodeId;
  readonly transport: PeerTransport;
  readonly received: Message[];
  readonly rejections: { reason: string; remote: string }[];
  readonly peerDown: { peer: NodeId; reason: string }[];
  /** Outgoing messages the transport refused to send, with the reason. */
  readonly sendRefused: string[];
  readonly address: PeerAddress;
}

/** What a recording node may differ in from the defaults. */
export interface RecordingNodeOptions {
  limits?: Partial<TransportLimits>;
  secret?: string;
  clusterId?: string;
}

/** Starts a transport on a free loopback port that records messages and refusals. */
export function startRecordingNode(id: NodeId, options: RecordingNodeOptions = {}): RecordingNode {
  const node = createRecordingNode(id, options, null);
  node.transport.start();
  return { ...node, address: node.transport.listenAddress };
}

/** {@link startRecordingNode} with mutual TLS on its Raft port. */
export async function startTlsRecordingNode(
  id: NodeId,
  tls: PeerTlsMaterial,
  options: RecordingNodeOptions = {},
): Promise<RecordingNode> {
  const node = createRecordingNode(id, options, tls);
  await node.transport.start();
  return { ...node, address: node.transport.listenAddress };
}

function createRecordingNode(
  id: NodeId,
  options: RecordingNodeOptions,
  tls: PeerTlsMaterial | null,
): Omit<RecordingNode, "address"> {
  const received: Message[] = [];
  const rejections: { reason: string; remote: string }[] = [];
  const peerDown: { peer: NodeId; reason: string }[] = [];
  const sendRefused: string[] = [];
  const transportOptions: PeerTransportOptions = {
    nodeId: id,
    clusterId: options.clusterId ?? CLUSTER_ID,
    secret: options.secret ?? SECRET,
    tls,
    listen: { hostname: LOOPBACK, port: 0 },
    peers: new Map(),
    onMessage: (message) => received.push(message),
    onRejected: (reason, remote) => rejections.push({ reason, remote }),
    onPeerDown: (peer, reason) => peerDown.push({ peer, reason }),
    onSendRefused: (reason) => sendRefused.push(reason),
    // Tests look at every refusal: no rate limit unless a test asks for one.
    limits: { refusalReportIntervalMs: 0, ...options.limits },
  };
  const transport = new PeerTransport(transportOptions);
  return { id, transport, received, rejections, peerDown, sendRefused };
}

/** Tells every node about every other one. */
export function connectAll(nodes: readonly RecordingNode[]): void {
  for (const node of nodes) {
    node.transport.setPeers(
      new Map(nodes.filter((other) => other !== node).map((other) => [other.id, other.address])),
    );
  }
}

/** Polls `condition` every 10 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A heartbeat-like message from `from` to `to`, numbered by `round`. */
export function timeoutNow(from: NodeId, to: NodeId, term: number): Message {
  return { kind: "timeout-now", from, to, term };
}

/** A hand-driven client connection to a transport's listening port. */
export class RawClient {
  readonly connection: Deno.TcpConn;
  readonly challenge: Uint8Array;
  #sequence = 0;

  private constructor(connection: Deno.TcpConn, challenge: Uint8Array) {
    this.connection = connection;
    this.challenge = challenge;
  }

  /** Connects and reads the hello. */
  static async connect(address: PeerAddress): Promise<RawClient> {
    const connection = await Deno.connect({ hostname: address.hostname, port: address.port });
    const hello = new Uint8Array(HELLO_BYTES);
    let filled = 0;
    while (filled < HELLO_BYTES) {
      const count = await connection.read(hello.subarray(filled));
      if (count === null) throw new Error("connection closed before the hello");
      filled += count;
    }
    const parsed = parseHello(hello);
    if (!parsed.ok) throw new Error(parsed.error);
    return new RawClient(connection, parsed.challenge);
  }

  /** A frame for this connection carrying `payload` (a message or raw bytes). */
  frame(
    payload: Message | Uint8Array,
    options: { senderId?: string; clusterId?: string; secret?: string; sequence?: number } = {},
  ): Uint8Array {
    return encodeFrame(
      {
        clusterId: options.clusterId ?? CLUSTER_ID,
        senderId: options.senderId ?? "node1",
        sequence: options.sequence ?? this.#sequence++,
        payload: payload instanceof Uint8Array ? payload : encodeMessage(payload),
      },
      deriveFrameKey(options.secret ?? SECRET),
      this.challenge,
    );
  }

  /** Writes raw bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let written = 0; written < bytes.length;) {
      written += await this.connection.write(bytes.subarray(written));
    }
  }

  /** Resolves true when the other side closes the connection within `timeoutMs`. */
  async closedByPeer(timeoutMs = 5_000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) =>
      timer = setTimeout(() => resolve(false), timeoutMs)
    );
    const ended = this.connection.read(new Uint8Array(16)).then(
      (count) => count === null,
      () => true,
    );
    const result = await Promise.race([ended, timeout]);
    clearTimeout(timer);
    if (!result) {
      this.close();
      await ended;
    }
    return result;
  }

  /** Closes the connection (idempotent). */
  close(): void {
    try {
      this.connection.close();
    } catch {
      // Already closed.
    }
  }
}
