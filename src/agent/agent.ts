/**
 * The agent: one loop that feeds ticks, peer messages, Postgres observations and operator
 * requests into the pure core, one at a time, and carries out each step's output in
 * order: persist (fsync) → send → effects → desired Postgres role.
 *
 * @module
 */
import {
  type AdminRequest,
  createNode,
  decidePostgresRole,
  hasWriteAuthority,
  type Input,
  isInitialised,
  lagBytes,
  lastIndex,
  type NodeState,
  ownTermCommitted,
  type PostgresObservation,
  step,
  SYSTEM_IDENTIFIER_KEY,
} from "../core/mod.ts";
import { needsFreshObservation } from "../core/freshness.ts";
import {
  clusterParameters,
  maximumLagBytes,
  nodeTags,
  SEEDED_KEY,
} from "../core/cluster_config.ts";
import { ParameterApplier } from "./parameter_applier.ts";
import { seedCommands } from "./config_seed.ts";
import { DecisionLog } from "./decision_log.ts";
import { historyCommands } from "./promotion_history.ts";
import { SwitchoverScheduler } from "./switchover_scheduler.ts";
import { hookRoleOf, HookRunner, HookWatch } from "./hook_runner.ts";
import { explain, type WhyReport } from "./why.ts";
import type { AgentConfig } from "../config/config_schema.ts";
import { coreConfigOf } from "../config/core_config.ts";
import { RaftStorage } from "../storage/raft_storage.ts";
import { StorageCorruptionError } from "../storage/durable_file.ts";
import { readNodeIdentity, writeNodeIdentity } from "../storage/node_identity.ts";
import { PeerTransport } from "../transport/peer_transport.ts";
import { readPeerTlsMaterial } from "../transport/peer_tls.ts";
import { tlsFilesOf } from "../config/tls_config.ts";
import { findPostgresBinaries } from "../postgres/binaries.ts";
import { PostgresReconciler } from "./reconciler.ts";
import { PrimaryGuard } from "./primary_guard.ts";
import { WatchdogClient } from "./watchdog_client.ts";
import { COMMIT_GATE_NAME } from "../watchdog/commit_gate.ts";
import { Logger } from "./logger.ts";
import { Counters } from "./counters.ts";
import { type PostgresDetails, readPostgresDetails } from "../api/postgres_details.ts";
import { planTransfer, STREAMING_WAIT_MS } from "./transfer_target.ts";
import type { PostgresSettings } from "../postgres/settings.ts";
import { buildPostgresSettings, memberAddresses } from "./members.ts";
import type {
  AdminResult,
  AgentHandle,
  AgentStatus,
  MemberAddress,
  SubmitOptions,
} from "./agent_handle.ts";

/** Most inputs waiting for the core; beyond it peer messages are dropped (Raft tolerates loss). */
export const MAX_QUEUED_INPUTS = 4096;
/** The leader re-checks its housekeeping (joins, settings) every this many ticks. */
const HOUSEKEEPING_INTERVAL_TICKS = 10;
/** A promotion not yet in the history is proposed again after this many ticks. */
const HISTORY_RETRY_TICKS = 100;
/** Most ticks delivered at once after a stall (more carry no extra meaning: counters are capped). */
const MAX_CATCH_UP_TICKS = 1000;

/** An observation waiting for the core, with {@link Agent}'s tick count when its read began. */
interface ObservationRead {
  readonly kind: "observation-read";
  readonly observation: PostgresObservation;
  readonly readStartTick: number;
}

/** How the agent is started. */
export interface AgentOptions {
  readonly config: AgentConfig;
  readonly secret: string;
  /** Create a new cluster on this node if it belongs to none. */
  readonly bootstrap: boolean;
  readonly log: Logger;
}

/** A running agent. */
export class Agent implements AgentHandle {
  #state: NodeState;
  readonly #queue: (Input | ObservationRead)[] = [];
  /** Tick inputs the core has processed: the clock its age counters count. */
  #ticksProcessed = 0;
  #wakeLoop: (() => void) | null = null;
  #running = true;
  #loop: Promise<void> | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;
  #ticksDelivered = 0;
  /** Ticks a stall longer than MAX_CATCH_UP_TICKS skipped (never given to the core). */
  #ticksDropped = 0;
  #startedMs = performance.now();
  readonly #waiting = new Map<string, (result: AdminResult) => void>();
  readonly #counters = new Counters();
  /** When the loop last finished a step (performance.now() milliseconds). */
  #lastStepMs = performance.now();
  #settings: PostgresSettings | null = null;
  /** The last leader this node knew of (for the leader change counter). */
  #lastKnownLeader: string | null = null;
  /** When this node gained the write authority it holds (performance.now()), or null. */
  #authoritySinceMs: number | null = null;
  #requestSequence = 0;
  #systemIdentifier: string | null = null;
  /** The term in which this node proposed the seed of the cluster configuration. */
  #seedProposedTerm = -1;
  /** How this node's current leadership came about, for the promotion history. */
  #leadershipReason = "failover";
  /** A TimeoutNow arrived: the next leadership is a switchover. */
  #transferRequested = false;
  #historyProposedAtTick = -Infinity;
  readonly startedAtIso = new Date().toISOString();
  readonly members: readonly MemberAddress[];
  transport: PeerTransport | null = null;
  reconciler: PostgresReconciler | null = null;
  parameters: ParameterApplier | null = null;
  hooks: HookRunner | null = null;
  /** Which hooks each new observation calls for (against the last readable one). */
  readonly #hookWatch = new HookWatch();
  /** Walsender and durability checks of the primary (primary_guard.ts). */
  primaryGuard: PrimaryGuard | null = null;
  /** The last decisions, for `hactl why`. */
  readonly decisions: DecisionLog;
  /** Carries out a scheduled switchover when this node leads at its time. */
  readonly switchovers: SwitchoverScheduler;
  watchdog: WatchdogClient | null = null;
  refusal: string | null = null;

  private constructor(
    readonly options: AgentOptions,
    private readonly storage: RaftStorage | null,
    state: NodeState,
  ) {
    this.#state = state;
    this.members = memberAddresses(options.config);
    this.decisions = new DecisionLog(options.log);
    this.switchovers = new SwitchoverScheduler(
      options.config.node.id,
      () => this.#state,
      (request, timeoutMs, options) => this.submit(request, timeoutMs, options),
      this.decisions,
      options.log,
    );
  }

  /** Opens storage, checks identity, and starts transport, reconciler and clock. */
  static async start(options: AgentOptions): Promise<Agent> {
    const { config, log } = options;
    const coreConfig = coreConfigOf(config, {
      maxLagBytes: config.cluster.maxLagBytes,
      commitGate: COMMIT_GATE_NAME,
    });
    await Deno.mkdir(config.node.dataDir, { recursive: true, mode: 0o700 });
    const refusal = await checkIdentity(config, options.bootstrap);
    let storage: RaftStorage | null = null;
    let persistent = null;
    let damaged: string | null = refusal;
    if (damaged === null) {
      storage = await RaftStorage.open(`${config.node.dataDir}/raft`);
      try {
        persistent = await storage.load();
      } catch (error) {
        if (!(error instanceof StorageCorruptionError)) throw error;
        damaged = error.message;
      }
    }
    const jitter = Math.floor(Math.random() * coreConfig.electionTimeoutJitterTicks);
    const state = createNode(config.node.id, coreConfig, persistent, jitter);
    const agent = new Agent(options, storage, state);
    if (damaged !== null) {
      // R2: a node with damaged state refuses to vote rather than forgetting a vote.
      agent.refusal = damaged;
      log.error(
        "storage",
        `${damaged}\nthis node will not take part in the cluster until this is fixed`,
      );
      return agent;
    }
    await agent.#startServices(persistent === null);
    return agent;
  }

  async #startServices(fresh: boolean): Promise<void> {
    const { config, log } = this.options;
    const binaries = await findPostgresBinaries(
      config.postgres.binDir ? { binDirectory: config.postgres.binDir } : {},
    );
    const settings = buildPostgresSettings(config, this.options.secret, binaries.directory);
    this.#settings = settings;
    this.parameters = new ParameterApplier(settings, log);
    this.hooks = new HookRunner(config.hooks, config.cluster.name, log);
    const peers = new Map(
      this.members.filter((member) => member.id !== config.node.id).map((
        member,
      ) => [member.id, member.raft]),
    );
    const tlsFiles = tlsFilesOf(config);
    this.transport = new PeerTransport({
      nodeId: config.node.id,
      clusterId: config.cluster.name,
      secret: this.options.secret,
      // tls.enabled: mutual TLS with the cluster CA on the Raft port too, HMAC kept inside.
      tls: tlsFiles === null ? null : await readPeerTlsMaterial(tlsFiles),
      listen: config.raft.listen,
      peers,
      onMessage: (message) => this.#enqueue({ kind: "message", message }),
      onRejected: (reason, remote) => log.warn("transport", `refused from ${remote}: ${reason}`),
      // A bug of this node, reported loudly, but never allowed to stop it (see PeerTransport.send).
      onSendRefused: (reason) => log.error("transport", reason),
    });
    await this.transport.start();
    this.reconciler = new PostgresReconciler({
      settings,
      binaries,
      log,
      resolve: (node) => {
        const member = this.members.find((candidate) => candidate.id === node);
        return member ? { host: member.postgres.hostname, port: member.postgres.port } : null;
      },
      // Slots follow the membership in force: a removed member's slot is dropped (R3).
      slotMembers: () =>
        [...this.#state.membership.voters, ...this.#state.membership.learners].filter((id) =>
          id !== config.node.id
        ),
      observed: (observation, readStartTick) =>
        this.#enqueue({ kind: "observation-read", observation, readStartTick }),
      ticksProcessed: () => this.#ticksProcessed,
      initialized: (systemIdentifier) => {
        this.#systemIdentifier = systemIdentifier;
      },
      leaderTimeline: () => this.#state.leaderPosition?.timeline ?? null,
      counted: (event) => this.#counters.increment(event),
      guardPrimary: () => this.primaryGuard?.check() ?? Promise.resolve(),
    });
    this.primaryGuard = new PrimaryGuard(
      settings,
      () =>
        this.members.filter((member) => member.id !== config.node.id).map((member) => ({
          id: member.id,
          hosts: [member.postgres.hostname, member.raft.hostname],
        })),
      log,
      (count) => this.#counters.increment("foreignWalsendersTerminated", count),
    );
    this.reconciler.start();
    this.watchdog = WatchdogClient.start(
      settings,
      config.node.hardwareWatchdog,
      log,
      () => this.#counters.increment("watchdogFirings"),
    );
    if (this.options.bootstrap) {
      if (fresh && !isInitialised(this.#state)) {
        log.info(
          "raft",
          `bootstrapping a new cluster "${config.cluster.name}" with ${config.node.id} as first member`,
        );
        this.#enqueue({ kind: "bootstrap" });
      } else {
        log.info("raft", "this node already belongs to a cluster; --bootstrap ignored");
      }
    } else if (!isInitialised(this.#state)) {
      log.info(
        "raft",
        "no cluster state yet: waiting for a leader to add this node (listed in its cluster.peers)",
      );
    }
    this.#loop = this.#run();
    this.#ticker = setInterval(
      () => this.#deliverTicks(),
      Math.max(5, config.raft.tickMs),
    );
  }

  /** Delivers as many ticks as the monotonic clock says are due (a stall delivers them late). */
  #deliverTicks(): void {
    const due = Math.floor((performance.now() - this.#startedMs) / this.options.config.raft.tickMs);
    let missing = Math.min(due - this.#ticksDelivered, MAX_CATCH_UP_TICKS);
    this.#ticksDropped += due - this.#ticksDelivered - missing;
    this.#ticksDelivered = due;
    const jitterRange = this.#state.config.electionTimeoutJitterTicks;
    while (missing-- > 0) {
      this.#enqueue({ kind: "tick", jitterTicks: Math.floor(Math.random() * jitterRange) });
    }
  }

  #enqueue(input: Input | ObservationRead): void {
    if (!this.#running) return;
    if (this.#queue.length >= MAX_QUEUED_INPUTS && input.kind === "message") {
      this.#counters.increment("inputsDropped");
      return;
    }
    this.#queue.push(input);
    this.#wakeLoop?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const input = this.#queue.shift();
      if (input === undefined) {
        await new Promise<void>((resolve) => (this.#wakeLoop = resolve));
        this.#wakeLoop = null;
        continue;
      }
      try {
        await this.#process(this.#toInput(input));
      } catch (error) {
        // A broken local invariant or a failed fsync: the process must stop (and does, through
        // the rejection), but the log says which input it was processing.
        this.options.log.error("agent", `stopping: processing a ${input.kind} input failed`);
        throw error;
      }
    }
  }

  /**
   * The core's input for a queued item: an observation is aged, when the core takes it, by
   * the ticks processed since its read began (the core must not count a slow read, or one
   * that waited in the queue, as younger than it is).
   */
  #toInput(queued: Input | ObservationRead): Input {
    if (queued.kind !== "observation-read") return queued;
    const readTicksAgo = Math.max(0, this.#ticksProcessed - queued.readStartTick);
    return { kind: "postgres", observation: queued.observation, readTicksAgo };
  }

  async #process(input: Input): Promise<void> {
    const result = step(this.#state, input);
    if (input.kind === "tick") this.#ticksProcessed++;
    this.#counters.increment("steps");
    if (result.persist !== null && this.storage !== null) {
      // Persist before send: a vote or an acknowledgement never leaves before it is durable.
      await this.storage.apply(result.persist);
      this.#counters.increment("persists");
    }
    this.#countTransitions(this.#state, result.state);
    this.#noteLeadershipReason(input, result.state);
    this.decisions.observeStep(this.#state, result.state, input, result.messages);
    const postgres = result.state.postgres;
    const calls = postgres === this.#state.postgres ? [] : this.#hookWatch.next(postgres);
    for (const call of calls) {
      this.hooks?.enqueue(call);
    }
    this.#state = result.state;
    this.#lastStepMs = performance.now();
    if (!hasWriteAuthority(this.#state)) this.#authoritySinceMs = null;
    else this.#authoritySinceMs ??= this.#lastStepMs;
    for (const message of result.messages) {
      if (this.transport?.send(message)) this.#counters.increment("messagesQueued");
    }
    for (const effect of result.effects) this.#handleEffect(effect);
    this.#renewWatchdog();
    this.reconciler?.setDesired(decidePostgresRole(this.#state));
    this.#applyParameters();
    // A vote needs an observation read after the lease wait: read one now, not in up to 1 s.
    if (needsFreshObservation(this.#state)) this.reconciler?.observeNow();
    if (input.kind === "tick" && this.#ticksDelivered % HOUSEKEEPING_INTERVAL_TICKS === 0) {
      this.#leaderHousekeeping();
    }
  }

  /** Remembers whether a leadership won by this node came from a handover, for history. */
  #noteLeadershipReason(input: Input, after: NodeState): void {
    if (input.kind === "message" && input.message.kind === "timeout-now") {
      this.#transferRequested = true;
    }
    if (after.role === "leader" && this.#state.role !== "leader") {
      this.#leadershipReason = after.applied.keyValues[SYSTEM_IDENTIFIER_KEY] === undefined
        ? "bootstrap"
        : this.#transferRequested
        ? "switchover"
        : "failover";
    }
    if (after.role !== "candidate" && after.role !== "leader") this.#transferRequested = false;
  }

  /** Counts what a step changed: an election started, a new leader, a promotion, a fence. */
  #countTransitions(before: NodeState, after: NodeState): void {
    if (after.role === "candidate" && (before.role !== "candidate" || after.term > before.term)) {
      this.#counters.increment("elections");
    }
    // Counted from leader to leader, across the election gap (leader null) between them.
    if (after.leader !== null && after.leader !== this.#lastKnownLeader) {
      if (this.#lastKnownLeader !== null) this.#counters.increment("leaderChanges");
      this.#lastKnownLeader = after.leader;
    }
    const was = before.postgres;
    const now = after.postgres;
    if (was === null || now === null || now.status !== "running") return;
    if (was.inRecovery && !now.inRecovery) this.#counters.increment("promotions");
    if (!was.fenced && now.fenced) this.#counters.increment("fences");
  }

  #handleEffect(effect: ReturnType<typeof step>["effects"][number]): void {
    const log = this.options.log;
    switch (effect.kind) {
      case "admin-result": {
        const resolve = this.#waiting.get(effect.requestId);
        this.#waiting.delete(effect.requestId);
        resolve?.({ ok: effect.ok, error: effect.error, leaderHint: effect.leaderHint });
        if (!resolve && !effect.ok && !effect.requestId.startsWith("auto-")) {
          log.debug("raft", `request ${effect.requestId}: ${effect.error}`);
        }
        return;
      }
      case "role-changed":
        log.info(
          "raft",
          `${effect.role} in term ${effect.term}${
            effect.leader ? `, leader ${effect.leader}` : ""
          }`,
        );
        return;
      case "warning":
        // Refused peer messages (absurd terms, a second leader) are counted here.
        this.#counters.increment("coreWarnings");
        log.warn("raft", effect.text);
        return;
      case "applied":
        for (const entry of effect.entries) {
          if (entry.command.kind === "membership") {
            const { voters, learners } = entry.command.membership;
            log.info(
              "raft",
              `membership: voters ${voters.join(", ")}; learners ${learners.join(", ") || "none"}`,
            );
          }
        }
        return;
    }
  }

  /**
   * S3: while this node may act as primary, the watchdog is armed until just before the
   * lease could expire; a frozen agent stops renewing and the watchdog kills Postgres.
   */
  #renewWatchdog(): void {
    const state = this.#state;
    const tickMs = this.options.config.raft.tickMs;
    if (hasWriteAuthority(state)) {
      // The lease ends when tick (processed + remaining) falls due; the deadline is one tick
      // before, on the monotonic clock the ticks are delivered by. Anchored on the ticks'
      // due time, not on now, so a step that waited in the queue or on an fsync does not
      // push the deadline past the lease.
      const processed = this.#ticksProcessed + this.#ticksDropped;
      const deadlineMs = this.#startedMs + (processed + state.leaseRemainingTicks - 1) * tickMs;
      this.watchdog?.renew(deadlineMs - performance.now());
      return;
    }
    // Authority ended. Until a read shows the server fenced, stopped or a standby, the
    // last deadline stands: a fence slower than the lease's margin (the SQL fence may take
    // FENCE_DEADLINE_MS, then an immediate stop) ends in the watchdog's kill, before any
    // other node can have been elected (docs/SAFETY.md, "the lease in real time"). Not in a
    // leadership transfer: no node is elected before TimeoutNow, which waits for the read
    // of the stopped server, and a kill would cut the fast shutdown that hands the target
    // the last WAL (measured: a switchover whose old primary was killed mid-shutdown left
    // it past the fork).
    const hold = state.transfer === null && mayAcceptWrites(state.postgres);
    this.watchdog?.renew(hold ? "hold" : null);
  }

  /** Writes the committed cluster parameters and reloads Postgres when they change. */
  #applyParameters(): void {
    const observation = this.#state.postgres;
    if (observation === null || observation.status === "absent") return;
    if (observation.status === "unreadable") return;
    this.parameters?.update(
      clusterParameters(this.#state.applied),
      observation.status === "running",
    );
  }

  /** The leader's shell duties: record the first primary, seed the configuration, add peers. */
  #leaderHousekeeping(): void {
    const state = this.#state;
    if (state.role !== "leader" || !ownTermCommitted(state) || state.transfer !== null) return;
    this.switchovers.check(Date.now());
    const propose = (request: AdminRequest) => this.#enqueue({ kind: "admin", request });
    const id = () => `auto-${++this.#requestSequence}`;
    if (
      this.#systemIdentifier !== null &&
      state.applied.keyValues[SYSTEM_IDENTIFIER_KEY] === undefined
    ) {
      propose({
        kind: "propose",
        requestId: id(),
        command: { kind: "kv", key: SYSTEM_IDENTIFIER_KEY, value: this.#systemIdentifier },
      });
      return;
    }
    if (
      state.applied.keyValues[SEEDED_KEY] === undefined && this.#seedProposedTerm !== state.term
    ) {
      // Once per cluster: the first leader records its file's cluster-wide settings; from
      // then on they change only by edit-config, never because leadership moved.
      this.#seedProposedTerm = state.term;
      this.options.log.info("config", "seeding the cluster configuration from this node's file");
      for (const command of seedCommands(this.options.config, state.applied)) {
        propose({ kind: "propose", requestId: id(), command });
      }
      return;
    }
    if (this.#ticksDelivered - this.#historyProposedAtTick >= HISTORY_RETRY_TICKS) {
      const history = historyCommands(state, this.#leadershipReason, new Date().toISOString());
      if (history.length > 0) this.#historyProposedAtTick = this.#ticksDelivered;
      for (const command of history) propose({ kind: "propose", requestId: id(), command });
    }
    const members = new Set([...state.membership.voters, ...state.membership.learners]);
    const removed = (node: string) => state.applied.keyValues[`removed/${node}`] !== undefined;
    const joining = this.members.find((member) => !members.has(member.id) && !removed(member.id));
    if (joining) propose({ kind: "add-learner", requestId: id(), node: joining.id });
  }

  /** The latest status snapshot. */
  status(): AgentStatus {
    const state = this.#state;
    const own = state.postgres?.position ?? null;
    const tickMs = this.options.config.raft.tickMs;
    return {
      nodeId: state.id,
      clusterName: this.options.config.cluster.name,
      raft: {
        role: state.role,
        term: state.term,
        leader: state.leader,
        commitIndex: state.commitIndex,
        lastIndex: lastIndex(state),
        logEntries: state.log.length,
        snapshotIndex: state.snapshot?.lastIndex ?? 0,
        voters: state.membership.voters,
        learners: state.membership.learners,
        leaseRemainingMs: state.leaseRemainingTicks * tickMs,
        writeAuthority: hasWriteAuthority(state),
        tickMs,
        electionTimeoutMs: state.config.electionTimeoutTicks * tickMs,
        leaderContactAgeMs: state.role === "leader" ? 0 : state.ticksSinceLeaderContact * tickMs,
        writeAuthorityAgeMs: this.#authoritySinceMs === null
          ? 0
          : performance.now() - this.#authoritySinceMs,
      },
      cluster: {
        paused: state.applied.paused,
        syncMode: state.applied.syncMode,
        keyValues: state.applied.keyValues,
        maxLagBytes: maximumLagBytes(state.applied, state.config.maxLagBytes),
      },
      postgres: {
        observation: state.postgres,
        desired: decidePostgresRole(state),
        activity: this.reconciler?.activity ?? "not started",
        lastError: this.reconciler?.lastError ?? null,
        leaderPosition: state.role === "leader" ? own : state.leaderPosition,
        pendingRestart: this.parameters?.pendingRestart === null ||
            this.parameters?.pendingRestart === undefined
          ? null
          : this.parameters.pendingRestart.length > 0,
        pendingRestartParameters: this.parameters?.pendingRestart ?? null,
        // Read on a running primary (or fenced one) only; elsewhere unknown.
        durabilityOptOuts: state.postgres?.status === "running" && !state.postgres.inRecovery
          ? this.primaryGuard?.optOuts ?? null
          : null,
      },
      tags: nodeTags(state.applied, state.id),
      stepAgeMs: Math.max(0, performance.now() - this.#lastStepMs),
      peers: Object.entries(state.progress).map(([id, progress]) => ({
        id,
        voter: state.membership.voters.includes(id),
        matchIndex: progress.matchIndex,
        position: progress.position,
        lagBytes: own && progress.position ? lagBytes(progress.position, own) : null,
        ticksSinceResponse: progress.ticksSinceResponse,
      })),
      members: this.members,
      refusal: this.refusal,
      startedAtIso: this.startedAtIso,
      tlsEnabled: tlsFilesOf(this.options.config) !== null,
    };
  }

  /** Why this node is or is not the primary, and the last decisions. */
  why(): WhyReport {
    return explain(this.#state, this.options.config.raft.tickMs, this.decisions.recent(50));
  }

  /**
   * Submits an operator request to the core and waits for its answer (within `timeoutMs` in
   * all). A leadership transfer first waits briefly for a standby streaming from this primary
   * and names one when the request named none (transfer_target.ts).
   */
  async submit(
    request: AdminRequest,
    timeoutMs: number,
    options: SubmitOptions = {},
  ): Promise<AdminResult> {
    if (this.refusal !== null) return { ok: false, error: this.refusal, leaderHint: null };
    if (request.kind !== "transfer") return await this.#submitNow(request, timeoutMs);
    const startedMs = Date.now();
    const plan = await planTransfer(
      () => this.#state,
      async () => (await this.postgresDetails())?.replication ?? [],
      request.target,
      Math.min(STREAMING_WAIT_MS, timeoutMs / 2),
    );
    if (plan.notConnected !== null && options.refuseUnconnectedTarget === true) {
      const waitedMs = Date.now() - startedMs;
      const error = `${plan.notConnected} (no WAL sender for it after ${waitedMs} ms): ` +
        "a transfer now would stop writes until it timed out; retry once hactl list shows " +
        "the standby streaming";
      this.options.log.warn("agent", `transfer refused: ${error}`);
      return { ok: false, error, leaderHint: this.#state.id };
    }
    const leftMs = Math.max(timeoutMs - (Date.now() - startedMs), 1);
    return await this.#submitNow({ ...request, target: plan.target }, leftMs);
  }

  /** Hands `request` to the core now and waits up to `timeoutMs` for its answer. */
  #submitNow(request: AdminRequest, timeoutMs: number): Promise<AdminResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(request.requestId);
        resolve({
          ok: false,
          error: `no answer within ${timeoutMs} ms; the outcome is unknown`,
          leaderHint: null,
        });
      }, timeoutMs);
      this.#waiting.set(request.requestId, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.#enqueue({ kind: "admin", request });
    });
  }

  /** Counters for metrics. */
  counters(): Readonly<Record<string, number>> {
    return { ...this.#counters.snapshot(), ...(this.transport?.counters() ?? {}) };
  }

  /** Reads the local Postgres' details; null before services start or when it does not answer. */
  async postgresDetails(): Promise<PostgresDetails | null> {
    if (this.#settings === null) return null;
    try {
      return await readPostgresDetails(this.#settings);
    } catch {
      return null;
    }
  }

  /** The core state (for tests and the watchdog). */
  get state(): NodeState {
    return this.#state;
  }

  /** Stops the clock, the loop, the transport and (by default) the local Postgres. */
  async stop(stopPostgres = true): Promise<void> {
    if (
      this.#state.role === "leader" && this.#state.membership.voters.length > 1 &&
      this.refusal === null
    ) {
      // A planned stop hands leadership over first (fence, catch up, TimeoutNow), so the
      // cluster does not wait out an election timeout and nothing acknowledged is lost; to a
      // standby that streams from this primary, after a short wait for one (`submit`). When
      // no standby that may lead has a WAL sender, none could catch up: the transfer would
      // only hold the stop until it timed out, so it is not tried.
      const result = await this.submit(
        {
          kind: "transfer",
          requestId: `stop-${Date.now()}`,
          target: null,
        },
        STREAMING_WAIT_MS + 5000,
        { refuseUnconnectedTarget: true },
      );
      this.options.log.info(
        "agent",
        result.ok ? "leadership handed over before stopping" : `no handover: ${result.error}`,
      );
    }
    this.#running = false;
    if (this.#ticker !== null) clearInterval(this.#ticker);
    this.#wakeLoop?.();
    await this.#loop?.catch(() => {});
    await this.watchdog?.close();
    const lastRole = hookRoleOf(this.#state.postgres);
    await this.reconciler?.stop(stopPostgres);
    // The loop no longer observes: a Postgres stopped with the agent is reported here.
    if (stopPostgres && lastRole !== null) {
      this.hooks?.enqueue({ action: "on_stop", role: lastRole });
    }
    await this.hooks?.idle();
    await this.transport?.close();
    this.storage?.close();
    for (const resolve of this.#waiting.values()) {
      resolve({ ok: false, error: "agent stopping", leaderHint: null });
    }
  }
}

/**
 * Checks the node's identity file. A node records its cluster once; it refuses to run with
 * a config naming another cluster or node id, and refuses when its Raft state vanished.
 * Returns a refusal text, or null.
 */
async function checkIdentity(config: AgentConfig, bootstrap: boolean): Promise<string | null> {
  const directory = config.node.dataDir;
  const identity = await readNodeIdentity(directory);
  if (identity === null) {
    await writeNodeIdentity(directory, {
      clusterId: config.cluster.name,
      nodeId: config.node.id,
      createdAtIso: new Date().toISOString(),
    });
    return null;
  }
  if (identity.nodeId !== config.node.id || identity.clusterId !== config.cluster.name) {
    return `${directory} belongs to node ${identity.nodeId} of cluster ${identity.clusterId}, but the config says ` +
      `node ${config.node.id} of cluster ${config.cluster.name}; point node.data_dir at this node's own directory`;
  }
  let raftFiles = 0;
  try {
    for await (const _ of Deno.readDir(`${directory}/raft`)) raftFiles++;
  } catch {
    raftFiles = 0;
  }
  if (raftFiles === 0 && !bootstrap) {
    return `${directory} has an identity but its Raft state (${directory}/raft) is missing; restore it from a ` +
      "backup, or remove the node (hactl members remove) and re-add it with an empty node.data_dir";
  }
  return null;
}

/**
 * True unless the last read shows the local server fenced, stopped, absent or a standby. An
 * unreadable server last known as a primary may still accept writes: the deadline stands.
 */
function mayAcceptWrites(observation: PostgresObservation | null): boolean {
  if (observation?.status === "unreadable") return !observation.inRecovery;
  return observation !== null && observation.status === "running" && !observation.inRecovery &&
    !observation.fenced;
}
