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
import type { PostgresDetails } from "../api/postgres_details.ts";
import type { DurabilityOptOut } from "../postgres/durability_settings.ts";
import type { WhyReport } from "./why.ts";

export type { PostgresDetails };

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
    /** Length of one tick in milliseconds (converts the tick counts below). */
    readonly tickMs: number;
    /** The minimum election timeout in milliseconds. */
    readonly electionTimeoutMs: number;
    /** Milliseconds since this node last heard from a live leader (0 on the leader). */
    readonly leaderContactAgeMs: number;
    /** Milliseconds since this node gained the write authority it holds (0 without). */
    readonly writeAuthorityAgeMs: number;
  };
  readonly cluster: {
    readonly paused: boolean;
    readonly syncMode: string;
    readonly keyValues: Readonly<Record<string, string>>;
    /** The most a standby may trail the primary and still be promoted automatically; null: no limit. */
    readonly maxLagBytes: number | null;
  };
  readonly postgres: {
    readonly observation: PostgresObservation | null;
    /** What the core says the local Postgres must be. */
    readonly desired: PostgresRole;
    /** What the supervisor is doing now (e.g. "cloning 42%", "promoting", "idle"). */
    readonly activity: string;
    /** Last error of the supervisor, if any. */
    readonly lastError: string | null;
    /** The leader's Postgres position as last heard (the own position on the leader). */
    readonly leaderPosition: WalPosition | null;
    /** Some cluster parameter waits for a Postgres restart; null while unknown. */
    readonly pendingRestart?: boolean | null;
    /** The parameters waiting for a restart (pg_settings.pending_restart); null while unknown. */
    readonly pendingRestartParameters?: readonly string[] | null;
    /**
     * Role or database settings (pg_db_role_setting) that opt sessions out of D1
     * (synchronous_commit off/local/remote_write, default_transaction_read_only off); null
     * while unknown (read on a running primary only).
     */
    readonly durabilityOptOuts?: readonly DurabilityOptOut[] | null;
  };
  /** This node's tags (Patroni's `tags`: nofailover, noloadbalance...); empty when none. */
  readonly tags: Readonly<Record<string, string>>;
  /** Milliseconds since the agent's loop last finished a step (a stuck loop grows it). */
  readonly stepAgeMs: number;
  /** Leader only: its view of the other members. */
  readonly peers: readonly PeerStatus[];
  readonly members: readonly MemberAddress[];
  /** Set when the node refuses to take part (damaged state); status and API still work. */
  readonly refusal: string | null;
  readonly startedAtIso: string;
  /**
   * tls.enabled: true when the Raft peer transport (mutual TLS), the REST API (HTTPS) and
   * Postgres (hostssl) use TLS; false when all three run in plain text. Absent in test agents.
   */
  readonly tlsEnabled?: boolean;
}

/** The result of an operator request. */
export interface AdminResult {
  readonly ok: boolean;
  readonly error: string | null;
  readonly leaderHint: NodeId | null;
}

/** How an operator request is submitted. */
export interface SubmitOptions {
  /**
   * Refuse a leadership transfer whose target (or, with none named, every voter that may
   * lead) has no WAL sender on the primary, instead of trying it: trying stops the primary's
   * Postgres, and writes stay stopped until the transfer times out (an operator's switchover;
   * a planned stop, which then stops without a hand-over). `POST /failover` tries anyway.
   */
  readonly refuseUnconnectedTarget?: boolean;
}

/** The agent as seen by the API. */
export interface AgentHandle {
  /** The latest status snapshot. */
  status(): AgentStatus;
  /** Submits a request to the local core; resolves when the core answers (or on timeout). */
  submit(request: AdminRequest, timeoutMs: number, options?: SubmitOptions): Promise<AdminResult>;
  /** Counters for Prometheus. */
  counters(): Readonly<Record<string, number>>;
  /** Why this node is or is not the primary (`GET /why`); absent in API-only test agents. */
  why?(): WhyReport;
  /** Reads what the core does not need of the local Postgres (for /patroni and metrics); null when it does not answer. */
  postgresDetails(): Promise<PostgresDetails | null>;
}
