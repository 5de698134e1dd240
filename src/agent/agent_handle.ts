/**
 * What the running agent offers its REST API, gateway and metrics: a status snapshot and
 * a way to submit operator requests to the core.
 *
 * @module
 */
import type {
  AdminRequest,
  NodeId,
  PostgresObservation,
  PostgresRole,
  RaftRole,
  WalPosition,
} from "../core/mod.ts";

/** Addresses of one member, as configured. */
export interface MemberAddress {
  readonly id: NodeId;
  /** Raft transport address. */
  readonly raft: { readonly hostname: string; readonly port: number };
  /** Postgres address clients and standbys use. */
  readonly postgres: { readonly hostname: string; readonly port: number };
  /** REST API address. */
  readonly api: { readonly hostname: string; readonly port: number };
}

/** What a leader knows of one peer. */
export interface PeerStatus {
  readonly id: NodeId;
  readonly voter: boolean;
  readonly matchIndex: number;
  readonly position: WalPosition | null;
  /** Bytes behind the leader's Postgres, or null when not comparable. */
  readonly lagBytes: number | null;
  readonly ticksSinceResponse: number;
}

/** A snapshot of this node's state, refreshed after every core step. */
export interface AgentStatus {
  readonly nodeId: NodeId;
  readonly clusterName: string;
  readonly raft: {
    readonly role: RaftRole;
    readonly term: number;
    readonly leader: NodeId | null;
    readonly commitIndex: number;
    readonly lastIndex: number;
    readonly logEntries: number;
    readonly snapshotIndex: number;
    readonly voters: readonly NodeId[];
    readonly learners: readonly NodeId[];
    readonly leaseRemainingMs: number;
    readonly writeAuthority: boolean;
  };
  readonly cluster: {
    readonly paused: boolean;
    readonly syncMode: string;
    readonly keyValues: Readonly<Record<string, string>>;
  };
  readonly postgres: {
    readonly observation: PostgresObservation | null;
    /** What the core says the local Postgres must be. */
    readonly desired: PostgresRole;
    /** What the supervisor is doing now (e.g. "cloning 42%", "promoting", "idle"). */
    readonly activity: string;
    /** Last error of the supervisor, if any. */
    readonly lastError: string | null;
  };
  /** Leader only: its view of the other members. */
  readonly peers: readonly PeerStatus[];
  readonly members: readonly MemberAddress[];
  /** Set when the node refuses to take part (damaged state); status and API still work. */
  readonly refusal: string | null;
  readonly startedAtIso: string;
}

/** The result of an operator request. */
export interface AdminResult {
  readonly ok: boolean;
  readonly error: string | null;
  readonly leaderHint: NodeId | null;
}

/** The agent as seen by the API. */
export interface AgentHandle {
  /** The latest status snapshot. */
  status(): AgentStatus;
  /** Submits a request to the local core; resolves when the core answers (or on timeout). */
  submit(request: AdminRequest, timeoutMs: number): Promise<AdminResult>;
  /** Counters for Prometheus. */
  counters(): Readonly<Record<string, number>>;
}
