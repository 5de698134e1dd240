/**
 * Authenticated Raft messaging between peers over TCP, or mutual TLS when `tls` is given.
 *
 * Each node listens on its Raft port for incoming messages and dials each peer it sends to, so
 * every connection carries messages one way. Frames are authenticated with the cluster secret
 * (see frame.ts); with TLS, each side also proves its node id by a certificate of the cluster
 * CA and may only send frames as that node (see peer_tls.ts), the HMAC staying as a second
 * layer. Refusals are reported through `onRejected` and never thrown or allowed to
 * stop the transport. Sending never blocks: each peer has a bounded outbox that drops its oldest
 * message when full.
 *
 * @module
 */
import type { Message, NodeId } from "../core/types.ts";
import { deriveFrameKey } from "./frame.ts";
import { InboundConnection } from "./inbound_connection.ts";
import { decodeMessage, encodeMessage } from "./message_codec.ts";
import { OutboundLink } from "./outbound_link.ts";
import {
  type IncomingConnection,
  listenForPeersInPlainText,
  listenForPeersWithTls,
  type PeerListener,
} from "./peer_listener.ts";
import type { PeerTlsMaterial } from "./peer_tls.ts";
import {
  DEFAULT_TRANSPORT_LIMITS,
  formatAddress,
  type MutableTransportCounters,
  type PeerAddress,
  type TransportCounters,
  type TransportLimits,
  zeroCounters,
} from "./transport_limits.ts";
import { sleepUnlessWoken, Wakeup } from "./wakeup.ts";
import { RefusalReporter } from "./refusal_reporter.ts";

/** Delay before accepting again after `accept` failed (e.g. out of file descriptors). */
const ACCEPT_RETRY_DELAY_MS = 100;

/** How a {@link PeerTransport} is set up. */
export interface PeerTransportOptions {
  readonly nodeId: NodeId;
  /** The cluster name; frames of another cluster are refused. */
  readonly clusterId: string;
  /** The cluster secret shared by every member. */
  readonly secret: string | Uint8Array;
  /**
   * Mutual TLS with the cluster CA (certificates name node ids as subject CN); absent or null:
   * plain TCP, frames still authenticated by HMAC.
   */
  readonly tls?: PeerTlsMaterial | null;
  /** Where to listen for peers (port 0 picks a free port, see `listenAddress`). */
  readonly listen: PeerAddress;
  /** The current peers (this node excluded). */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** Receives every authenticated, valid message addressed to this node. Must not throw. */
  readonly onMessage: (message: Message) => void;
  /**
   * Receives refused frames and messages with a reason and the remote "host:port": at most one
   * per source address per `refusalReportIntervalMs` (the next one counts those left out);
   * `counters().framesRejected` counts all of them.
   */
  readonly onRejected: (reason: string, remote: string) => void;
  /** Receives every outgoing message refused as invalid (a bug of this node), with the reason. */
  readonly onSendRefused?: (reason: string) => void;
  /** Called once per outage of the outgoing connection to a peer. */
  readonly onPeerDown?: (peer: NodeId, reason: string) => void;
  /** Called when the outgoing connection to a peer is (re-)established. */
  readonly onPeerUp?: (peer: NodeId) => void;
  /** Overrides of {@link DEFAULT_TRANSPORT_LIMITS}. */
  readonly limits?: Partial<TransportLimits>;
}

/** Peer-to-peer Raft messaging. `start()`, then `send()`; `close()` when done. */
export class PeerTransport {
  readonly #options: PeerTransportOptions;
  readonly #limits: TransportLimits;
  readonly #frameKey: Uint8Array;
  readonly #counters: MutableTransportCounters = zeroCounters();
  #peers: Map<NodeId, PeerAddress>;
  readonly #links = new Map<NodeId, OutboundLink>();
  readonly #inbound = new Set<InboundConnection>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #acceptRetry = new Wakeup();
  readonly #refusals: RefusalReporter;
  #listener: PeerListener | null = null;
  #closed = false;
  #starting = false;

  /** Validates the options; nothing is opened before `start()`. */
  constructor(options: PeerTransportOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_TRANSPORT_LIMITS, ...options.limits };
    this.#frameKey = deriveFrameKey(options.secret);
    this.#refusals = new RefusalReporter(this.#limits.refusalReportIntervalMs);
    this.#peers = new Map(options.peers);
    this.#peers.delete(options.nodeId);
  }

  /**
   * Opens the listening socket. In plain text it is bound when this returns (and throws at
   * once when the address cannot be bound); with TLS, await the promise, which rejects then.
   */
  start(): Promise<void> {
    if (this.#listener !== null || this.#closed || this.#starting) {
      throw new Error("PeerTransport.start: already started or closed");
    }
    const tls = this.#options.tls ?? null;
    if (tls === null) {
      let listener: PeerListener;
      try {
        listener = listenForPeersInPlainText(this.#options.listen);
      } catch (error) {
        throw this.#listenFailure(error);
      }
      this.#listening(listener);
      return Promise.resolve();
    }
    this.#starting = true;
    return listenForPeersWithTls(this.#options.listen, tls, this.#limits.handshakeTimeoutMs)
      .then((listener) => this.#listening(listener), (error) => {
        this.#starting = false;
        throw this.#listenFailure(error);
      });
  }

  /** True when peers are authenticated by certificate (mutual TLS) as well as by HMAC. */
  get tlsEnabled(): boolean {
    return (this.#options.tls ?? null) !== null;
  }

  /** The bound listening address (with the real port when 0 was asked). */
  get listenAddress(): PeerAddress {
    if (this.#listener === null) throw new Error("PeerTransport.listenAddress: call start() first");
    return this.#listener.address;
  }

  /** The error of a failed listen, naming the setting to check. */
  #listenFailure(error: unknown): Error {
    return new Error(
      `raft transport: cannot listen on ${formatAddress(this.#options.listen)}: ${
        String(error)
      }; check raft.listen and that no other process uses the port`,
    );
  }

  #listening(listener: PeerListener): void {
    this.#starting = false;
    if (this.#closed) {
      listener.close();
      return;
    }
    this.#listener = listener;
    this.#track(this.#acceptLoop(listener));
  }

  /**
   * Queues a message for its `to` peer and returns at once. Returns false when it was dropped
   * because the destination is not a peer or the transport is closed, or refused because peers
   * would refuse it (invalid, or not from this node): that is a bug of this node, counted in
   * `messagesRefused` and reported through `onSendRefused`, but never thrown, so that no value
   * that reached the core from outside can stop the agent here.
   */
  send(message: Message): boolean {
    const problem = message.from !== this.#options.nodeId
      ? `message from ${message.from} given to the transport of ${this.#options.nodeId}`
      : invalidMessage(message);
    if (problem !== null) {
      this.#counters.messagesRefused++;
      this.#reportSendRefused(`refused to send ${message.kind} to ${message.to}: ${problem}`);
      return false;
    }
    const address = this.#peers.get(message.to);
    if (this.#closed || address === undefined) {
      this.#counters.messagesDropped++;
      return false;
    }
    let link = this.#links.get(message.to);
    if (link === undefined) {
      link = new OutboundLink(message.to, address, this.#linkContext());
      this.#links.set(message.to, link);
    }
    link.enqueue(encodeMessage(message));
    return true;
  }

  /** Replaces the peer set (membership changed): links to removed peers close, moved ones reconnect. */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    this.#peers = new Map(peers);
    this.#peers.delete(this.#options.nodeId);
    for (const [peer, link] of this.#links) {
      const address = this.#peers.get(peer);
      if (address !== undefined) {
        link.setAddress(address);
        continue;
      }
      this.#links.delete(peer);
      this.#track(link.close());
    }
    for (const connection of this.#inbound) {
      if (connection.senderId !== null && !this.#peers.has(connection.senderId)) connection.close();
    }
  }

  /** Counters since creation, for metrics. */
  counters(): TransportCounters {
    return { ...this.#counters };
  }

  /** Messages waiting in the outbox of `peer` (0 when none or unknown). */
  queuedMessages(peer: NodeId): number {
    return this.#links.get(peer)?.queuedMessages ?? 0;
  }

  /** Stops listening, closes every connection and waits until all of the transport's work ended. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    this.#acceptRetry.notify();
    for (const link of this.#links.values()) this.#track(link.close());
    this.#links.clear();
    for (const connection of this.#inbound) connection.close();
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  async #acceptLoop(listener: PeerListener): Promise<void> {
    while (!this.#closed) {
      let connection: IncomingConnection;
      try {
        connection = await listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.#report(
          `accepting a connection failed: ${String(error)}`,
          formatAddress(this.#options.listen),
        );
        await sleepUnlessWoken(ACCEPT_RETRY_DELAY_MS, this.#acceptRetry);
        continue;
      }
      this.#admit(connection);
    }
  }

  #admit(connection: IncomingConnection): void {
    const inbound = new InboundConnection(connection, this.#inboundContext());
    if (this.#closed) {
      inbound.close();
      return;
    }
    this.#makeRoomFor(inbound);
    this.#inbound.add(inbound);
    this.#track(inbound.serve().finally(() => this.#inbound.delete(inbound)));
  }

  /**
   * Closes the oldest unauthenticated connection of the newcomer's source when that source is
   * at its limit, else the oldest of all when the total is. The newcomer is never the one
   * refused: a real peer authenticates within one round trip, so junk connections held open
   * by a neighbour are what goes first.
   */
  #makeRoomFor(newcomer: InboundConnection): void {
    const waiting = [...this.#inbound].filter((existing) => existing.senderId === null);
    const sameSource = waiting.filter((existing) => existing.sourceHost === newcomer.sourceHost);
    const { maxUnauthenticatedConnections, maxUnauthenticatedConnectionsPerSource } = this.#limits;
    const victim = sameSource.length >= maxUnauthenticatedConnectionsPerSource
      ? sameSource[0]
      : waiting.length >= maxUnauthenticatedConnections
      ? waiting[0]
      : undefined;
    if (victim === undefined) return;
    victim.close();
    this.#inbound.delete(victim);
    this.#report(
      `closed an unauthenticated connection from ${victim.remote} to admit a new one ` +
        `(${waiting.length} waiting, ${sameSource.length} from ${newcomer.sourceHost})`,
      victim.remote,
      victim.sourceHost,
    );
  }

  #inboundContext() {
    return {
      nodeId: this.#options.nodeId,
      clusterId: this.#options.clusterId,
      frameKey: this.#frameKey,
      limits: this.#limits,
      isKnownPeer: (id: NodeId) => this.#peers.has(id),
      deliver: (message: Message) => {
        this.#counters.messagesReceived++;
        this.#options.onMessage(message);
      },
      reject: (reason: string, remote: string, sourceHost: string) =>
        this.#report(reason, remote, sourceHost),
      authenticated: (connection: InboundConnection) => {
        // A peer reconnects when its old connection broke; the old one here is stale.
        for (const other of this.#inbound) {
          if (other !== connection && other.senderId === connection.senderId) other.close();
        }
      },
    };
  }

  #linkContext() {
    return {
      nodeId: this.#options.nodeId,
      clusterId: this.#options.clusterId,
      frameKey: this.#frameKey,
      tls: this.#options.tls ?? null,
      limits: this.#limits,
      counters: this.#counters,
      onPeerDown: (peer: NodeId, reason: string) => this.#options.onPeerDown?.(peer, reason),
      onPeerUp: (peer: NodeId) => this.#options.onPeerUp?.(peer),
    };
  }

  #reportSendRefused(reason: string): void {
    try {
      this.#options.onSendRefused?.(reason);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** Counts a refusal; reports it unless its source was reported within the interval. */
  #report(reason: string, remote: string, sourceHost: string = remote): void {
    this.#counters.framesRejected++;
    const text = this.#refusals.admit(sourceHost, reason);
    if (text === null) return;
    try {
      this.#options.onRejected(text, remote);
    } catch (error) {
      // A throwing logger is a bug of the node; surface it without stopping the transport.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }
}

/** Why peers would refuse `message`, or null when it is valid. */
function invalidMessage(message: Message): string | null {
  const checked = decodeMessage(message);
  return checked.ok ? null : checked.error;
}
