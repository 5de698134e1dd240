/**
 * A stand-in agent for API tests: a real object whose status the test sets field by field
 * (the real agent is tested on real clusters in test/cluster). It records what it was asked
 * to do and answers with `answer`.
 */
import type {
  AdminResult,
  AgentHandle,
  AgentStatus,
  MemberAddress,
  PeerStatus,
  PostgresDetails,
  SubmitOptions,
} from "../../src/agent/agent_handle.ts";
import type {
  AdminRequest,
  PostgresObservation,
  RaftRole,
  WalPosition,
} from "../../src/core/mod.ts";
import type { DurabilityOptOut } from "../../src/postgres/durability_settings.ts";

/** The cluster secret the tests use. */
export const TEST_SECRET = "0123456789abcdef0123456789abcdef";

/** A running, unfenced primary's observation, with `overrides`. */
export function observation(overrides: Partial<PostgresObservation> = {}): PostgresObservation {
  return {
    status: "running",
    inRecovery: false,
    position: { timeline: 2, lsn: 0x3000060, history: [{ timeline: 1, endLsn: 0x2000000 }] },
    replayCaughtUp: true,
    synchronousStandbyNames: 'ANY 1 ("n2", "n3")',
    fenced: false,
    receivingWal: false,
    ...overrides,
  };
}

/** A member whose API is at 127.0.0.1:`apiPort`. */
export function member(id: string, apiPort: number): MemberAddress {
  return {
    id,
    raft: { hostname: "127.0.0.1", port: apiPort + 1000 },
    postgres: { hostname: "127.0.0.1", port: 5432 },
    api: { hostname: "127.0.0.1", port: apiPort },
  };
}

/** An agent whose every status field the test controls. */
export class FakeAgent implements AgentHandle {
  nodeId: string;
  raftRole: RaftRole = "leader";
  term = 3;
  leader: string | null;
  writeAuthority = true;
  paused = false;
  postgres: PostgresObservation | null = observation();
  activity = "primary";
  peers: PeerStatus[] = [];
  members: MemberAddress[] = [];
  voters: string[] = ["n1", "n2", "n3"];
  learners: string[] = [];
  syncMode = "quorum";
  tags: Record<string, string> = {};
  /** The leader's position as heard; the own position on the leader. */
  leaderPosition: WalPosition | null = null;
  maxLagBytes: number | null = null;
  /** Role or database settings opting out of D1; null: unknown. */
  durabilityOptOuts: DurabilityOptOut[] | null = null;
  stepAgeMs = 5;
  /** How long this agent has held write authority (when it holds it). */
  writeAuthorityAgeMs = 60_000;
  /** What postgresDetails answers (null: Postgres does not answer). */
  details: PostgresDetails | null = null;
  /** How many times the details were read. */
  detailsReads = 0;
  /** Requests received, in order. */
  readonly submitted: AdminRequest[] = [];
  /** The options of each request received, in order. */
  readonly submitOptions: SubmitOptions[] = [];
  /** What every submit answers. */
  answer: AdminResult = { ok: true, error: null, leaderHint: null };

  /** A leader and primary named `nodeId`. */
  constructor(nodeId = "n1") {
    this.nodeId = nodeId;
    this.leader = nodeId;
  }

  /** Makes this agent a follower whose Postgres streams from `leader`. */
  becomeStandby(leader: string): this {
    this.raftRole = "follower";
    this.leader = leader;
    this.writeAuthority = false;
    this.postgres = observation({
      inRecovery: true,
      position: { timeline: 2, lsn: 0x3000000, history: [{ timeline: 1, endLsn: 0x2000000 }] },
    });
    this.leaderPosition = {
      timeline: 2,
      lsn: 0x3000060,
      history: [{ timeline: 1, endLsn: 0x2000000 }],
    };
    this.activity = `standby of ${leader}`;
    this.answer = { ok: false, error: `${this.nodeId} is not the leader`, leaderHint: leader };
    return this;
  }

  status(): AgentStatus {
    return {
      nodeId: this.nodeId,
      clusterName: "test",
      raft: {
        role: this.raftRole,
        term: this.term,
        leader: this.leader,
        commitIndex: 9,
        lastIndex: 9,
        logEntries: 9,
        snapshotIndex: 0,
        voters: this.voters,
        learners: this.learners,
        leaseRemainingMs: this.writeAuthority ? 500 : 0,
        writeAuthority: this.writeAuthority,
        tickMs: 50,
        electionTimeoutMs: 1000,
        leaderContactAgeMs: this.raftRole === "leader" ? 0 : 100,
        writeAuthorityAgeMs: this.writeAuthority ? this.writeAuthorityAgeMs : 0,
      },
      cluster: {
        paused: this.paused,
        syncMode: this.syncMode,
        keyValues: {},
        maxLagBytes: this.maxLagBytes,
      },
      postgres: {
        observation: this.postgres,
        desired: { kind: "hold", reason: "test" },
        activity: this.activity,
        lastError: null,
        leaderPosition: this.raftRole === "leader"
          ? this.postgres?.position ?? null
          : this.leaderPosition,
        durabilityOptOuts: this.durabilityOptOuts,
      },
      tags: this.tags,
      stepAgeMs: this.stepAgeMs,
      peers: this.peers,
      members: this.members,
      refusal: null,
      startedAtIso: "2026-01-01T00:00:00Z",
    };
  }

  submit(request: AdminRequest, _timeoutMs = 0, options: SubmitOptions = {}): Promise<AdminResult> {
    this.submitted.push(request);
    this.submitOptions.push(options);
    return Promise.resolve(this.answer);
  }

  counters(): Readonly<Record<string, number>> {
    return { steps: 10, messagesSent: 4 };
  }

  postgresDetails(): Promise<PostgresDetails | null> {
    this.detailsReads++;
    return Promise.resolve(this.details);
  }
}
