/**
 * Shared shapes of the peer transport: addresses, limits and counters.
 *
 * @module
 */

/** Where a peer's Raft port listens. */
export interface PeerAddress {
  readonly hostname: string;
  readonly port: number;
}

/** Every bound of the transport, named. */
export interface TransportLimits {
  /** Outbox length per peer; when full the oldest message is dropped (Raft tolerates loss). */
  readonly maxQueuedMessagesPerPeer: number;
  /** Outbox size per peer in payload bytes; the oldest messages are dropped beyond it. */
  readonly maxQueuedBytesPerPeer: number;
  /** A TCP connect that takes longer is abandoned and retried after a backoff. */
  readonly connectTimeoutMs: number;
  /** The accepting side's hello must arrive within this after connecting. */
  readonly helloTimeoutMs: number;
  /** A frame write that takes longer (peer stopped reading) closes the connection. */
  readonly writeTimeoutMs: number;
  /** First reconnect delay after a failed attempt; doubles per consecutive failure. */
  readonly minReconnectDelayMs: number;
  /** Upper bound of the reconnect delay, so a healed partition is noticed quickly. */
  readonly maxReconnectDelayMs: number;
  /** An accepted connection must deliver an authenticated frame within this, or it is closed. */
  readonly handshakeTimeoutMs: number;
  /**
   * Accepted connections not yet authenticated. A new one beyond it closes the oldest (not the
   * new one), so a flood of idle strangers cannot lock a real peer out.
   */
  readonly maxUnauthenticatedConnections: number;
  /** The same, per source address: a new one beyond it closes that source's oldest. */
  readonly maxUnauthenticatedConnectionsPerSource: number;
  /** Refusals are reported at most once per source address per this interval, with a count. */
  readonly refusalReportIntervalMs: number;
}

/** Defaults sized for a 50 ms tick: a reconnect is tried at least every 500 ms. */
export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = {
  maxQueuedMessagesPerPeer: 256,
  maxQueuedBytesPerPeer: 64 * 1024 * 1024,
  connectTimeoutMs: 1_000,
  helloTimeoutMs: 1_000,
  writeTimeoutMs: 2_000,
  minReconnectDelayMs: 25,
  maxReconnectDelayMs: 500,
  // A peer sends its authentication frame right after the hello: one round trip.
  handshakeTimeoutMs: 2_000,
  maxUnauthenticatedConnections: 16,
  maxUnauthenticatedConnectionsPerSource: 4,
  refusalReportIntervalMs: 10_000,
};

/** What the transport counted since it was created (for metrics). */
export interface TransportCounters {
  /** Messages written to a peer's connection. */
  readonly messagesSent: number;
  /** Messages given up: outbox full, unknown destination, connection lost mid-write, closed. */
  readonly messagesDropped: number;
  /** Outgoing messages refused as invalid (a bug of this node; see `onSendRefused`). */
  readonly messagesRefused: number;
  /** Authenticated, valid messages handed to `onMessage`. */
  readonly messagesReceived: number;
  /** Incoming frames or messages refused (each one reported through `onRejected`). */
  readonly framesRejected: number;
  /** Outgoing connections established. */
  readonly connectionsOpened: number;
}

/** The mutable form the transport's parts update. */
export type MutableTransportCounters = { -readonly [Key in keyof TransportCounters]: number };

/** Counters all at zero. */
export function zeroCounters(): MutableTransportCounters {
  return {
    messagesSent: 0,
    messagesDropped: 0,
    messagesRefused: 0,
    messagesReceived: 0,
    framesRejected: 0,
    connectionsOpened: 0,
  };
}

/** "host:port", with brackets around an IPv6 host. */
export function formatAddress(address: PeerAddress): string {
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}
