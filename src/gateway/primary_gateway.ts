/**
 * The gateway port (`gateway.listen`): a TCP proxy on every node that forwards each client
 * connection to the Postgres of the current leader, the one node allowed to be primary.
 * Clients point at any node's gateway and always reach the primary, without HAProxy. When
 * the leader changes, or this node no longer knows one, every proxied connection to the
 * old primary is closed (clients reconnect, as after any failover); while no leader is
 * known, new connections are closed at once.
 *
 * What it does not do: it does not look inside the protocol (TLS and authentication pass
 * through), and in the moment between an election and the promotion a new connection can
 * reach the new leader's Postgres while it still is a standby (writes then fail read-only).
 *
 * @module
 */
import type { AgentHandle, AgentStatus } from "../agent/agent_handle.ts";
import type { Logger } from "../agent/logger.ts";
import { sleepUnlessWoken, Wakeup } from "../transport/wakeup.ts";

/** Default of the most client connections proxied at once (`gateway.max_connections`). */
export const MAX_GATEWAY_CONNECTIONS = 1024;
/** First pause after `accept` failed (e.g. EMFILE: out of file descriptors); doubles per failure. */
export const MIN_ACCEPT_BACKOFF_MS = 10;
/** Longest pause between accept attempts while they keep failing. */
export const MAX_ACCEPT_BACKOFF_MS = 1_000;
/** How often the leader is checked, to cut connections to a deposed primary. */
const LEADER_CHECK_INTERVAL_MS = 50;
/** Longest wait for the primary to accept the proxied connection. */
const CONNECT_TIMEOUT_MS = 3_000;

/** Where the gateway forwards to: the leader's Postgres. */
export interface GatewayTarget {
  readonly id: string;
  readonly hostname: string;
  readonly port: number;
}

/** The leader's Postgres address from a status snapshot, or null when none may be used. */
export function gatewayTarget(status: AgentStatus): GatewayTarget | null {
  const leader = status.raft.leader;
  if (leader === null || status.refusal !== null) return null;
  // A leader that lost its write authority is about to be fenced: send nobody to it.
  if (leader === status.nodeId && !status.raft.writeAuthority) return null;
  const member = status.members.find((candidate) => candidate.id === leader);
  if (member === undefined) return null;
  return { id: leader, hostname: member.postgres.hostname, port: member.postgres.port };
}

interface Proxied {
  readonly target: string;
  readonly client: Deno.Conn;
  upstream: Deno.Conn | null;
}

/** What accepting needs of a listener: a seam for tests that inject accept errors. */
export interface GatewayListener {
  readonly addr: Deno.Addr;
  accept(): Promise<Deno.Conn>;
  close(): void;
}

/** Options of {@link PrimaryGateway.start}. */
export interface GatewayOptions {
  /** Most client connections proxied at once; default {@link MAX_GATEWAY_CONNECTIONS}. */
  readonly maxConnections?: number;
  /** Wraps the real listener (tests inject accept errors with it). */
  readonly wrapListener?: (listener: Deno.Listener) => GatewayListener;
}

/** A running gateway. */
export class PrimaryGateway {
  readonly #listener: GatewayListener;
  readonly #agent: AgentHandle;
  readonly #log: Logger;
  readonly #maxConnections: number;
  readonly #connections = new Set<Proxied>();
  readonly #watch: ReturnType<typeof setInterval>;
  readonly #wakeup = new Wakeup();
  #target: GatewayTarget | null = null;
  #accepted = 0;
  #refused = 0;
  #acceptErrors = 0;
  #closed = false;

  private constructor(
    listener: GatewayListener,
    agent: AgentHandle,
    log: Logger,
    maxConnections: number,
  ) {
    this.#listener = listener;
    this.#agent = agent;
    this.#log = log;
    this.#maxConnections = maxConnections;
    this.#watch = setInterval(() => this.#followLeader(), LEADER_CHECK_INTERVAL_MS);
    void this.#acceptLoop();
  }

  /** Listens on `hostname:port` (port 0: any free port). */
  static start(
    agent: AgentHandle,
    address: { readonly hostname: string; readonly port: number },
    log: Logger,
    options: GatewayOptions = {},
  ): PrimaryGateway {
    const maxConnections = options.maxConnections ?? MAX_GATEWAY_CONNECTIONS;
    if (!Number.isSafeInteger(maxConnections) || maxConnections < 1) {
      throw new Error(
        `gateway: max_connections must be a positive integer, got ${maxConnections}`,
      );
    }
    const listener = Deno.listen({ hostname: address.hostname, port: address.port });
    const wrapped = options.wrapListener?.(listener) ?? listener;
    return new PrimaryGateway(wrapped, agent, log, maxConnections);
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Counters for metrics and tests. */
  counters(): { open: number; accepted: number; refused: number; acceptErrors: number } {
    return {
      open: this.#connections.size,
      accepted: this.#accepted,
      refused: this.#refused,
      acceptErrors: this.#acceptErrors,
    };
  }

  /** Stops listening and closes every proxied connection. */
  close(): void {
    this.#closed = true;
    this.#wakeup.notify();
    clearInterval(this.#watch);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const connection of [...this.#connections]) this.#drop(connection);
  }

  #followLeader(): void {
    const target = gatewayTarget(this.#agent.status());
    if (target?.id === this.#target?.id) return;
    const previous = this.#target;
    this.#target = target;
    const stale = [...this.#connections].filter((connection) => connection.target !== target?.id);
    if (previous !== null || stale.length > 0) {
      this.#log.info(
        "gateway",
        `primary ${previous?.id ?? "none"} -> ${
          target?.id ?? "none"
        }; closing ${stale.length} client connection(s)`,
      );
    }
    for (const connection of stale) this.#drop(connection);
  }

  /**
   * Accepts until closed. An accept error (out of file descriptors, a connection reset before
   * it was accepted) pauses accepting with a doubling backoff instead of ending the loop:
   * one error once stopped the gateway for good. The first error of a run is logged, the
   * run's count when accepting works again.
   */
  async #acceptLoop(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return;
        this.#acceptErrors++;
        if (failures++ === 0) {
          this.#log.warn("gateway", `accepting a client failed, retrying: ${errorText(error)}`);
        }
        const delayMs = Math.min(
          MAX_ACCEPT_BACKOFF_MS,
          MIN_ACCEPT_BACKOFF_MS * 2 ** (failures - 1),
        );
        await sleepUnlessWoken(delayMs, this.#wakeup);
        continue;
      }
      if (failures > 0) {
        this.#log.info("gateway", `accepting again after ${failures} failed attempt(s)`);
        failures = 0;
      }
      this.#admit(client);
    }
  }

  /** Proxies a client to the primary, or closes it at once (no primary, or at the cap). */
  #admit(client: Deno.Conn): void {
    const target = gatewayTarget(this.#agent.status());
    if (target === null || this.#connections.size >= this.#maxConnections) {
      this.#refused++;
      closeQuietly(client);
      return;
    }
    this.#accepted++;
    const connection: Proxied = { target: target.id, client, upstream: null };
    this.#connections.add(connection);
    void this.#proxy(connection, target);
  }

  async #proxy(connection: Proxied, target: GatewayTarget): Promise<void> {
    const connecting = Deno.connect({ hostname: target.hostname, port: target.port });
    try {
      const upstream = await withTimeout(connecting, CONNECT_TIMEOUT_MS);
      if (!this.#connections.has(connection)) {
        closeQuietly(upstream); // dropped while connecting (the leader changed)
        return;
      }
      connection.upstream = upstream;
      await Promise.race([
        connection.client.readable.pipeTo(upstream.writable).catch(() => {}),
        upstream.readable.pipeTo(connection.client.writable).catch(() => {}),
      ]);
    } catch (error) {
      connecting.then(closeQuietly, () => {}); // a connection that arrives after the timeout
      this.#log.debug(
        "gateway",
        `cannot reach ${target.id} at ${target.hostname}:${target.port}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    } finally {
      this.#drop(connection);
    }
  }

  #drop(connection: Proxied): void {
    if (!this.#connections.delete(connection)) return;
    closeQuietly(connection.client);
    if (connection.upstream !== null) closeQuietly(connection.upstream);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function closeQuietly(connection: Deno.Conn): void {
  try {
    connection.close();
  } catch {
    // already closed (pipeTo closes the writable end it finished with)
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
