/**
 * The environment's mechanics for one model action: running the real core's `step` on a
 * node and carrying out what it returns (persist to the modelled disk first, then put the
 * messages in flight), feeding Postgres observations back (at once, or at a separate
 * "observe" action when observations lag), and acknowledging writes whose synchronous
 * standbys have flushed them. Fencing is the supervisor's separate action; the deadline
 * it must meet is enforced in cluster_model.ts ({@link fenceOverdue}).
 *
 * @module
 */
import {
  applyPersistRequest,
  type CoreConfig,
  hasWriteAuthority,
  type Input,
  type Message,
  type NodeState,
  type PostgresObservation,
  step,
} from "../src/core/mod.ts";
import type {
  AckedWrite,
  ClusterBounds,
  ClusterModelState,
  CommittedEntry,
  Grant,
  ModelNode,
  PendingWrite,
  PostgresModel,
} from "./cluster_types.ts";
import {
  holdsRecordAt,
  isWritable,
  observe,
  parseSynchronousStandbyNames,
  receiverDown,
} from "./postgres_model.ts";
import { specTermAt as termAt } from "./spec.ts";
import { symmetryFor } from "./cluster_encoding.ts";
import { canonicalRenaming } from "./symmetry.ts";
import { compareFingerprints, type Fingerprint } from "./fingerprint.ts";
import { needsFreshObservation } from "../src/core/freshness.ts";

/** Model constants shared by every action of one model instance. */
export interface ModelContext {
  readonly nodeIds: readonly string[];
  readonly config: CoreConfig;
  readonly bounds: ClusterBounds;
  /** Checks the selected invariants on an intermediate state of a macro action. */
  readonly checkpoint: (state: ClusterModelState) => string | null;
  /** Called with every input given to a core (tests use it to see which kinds are driven). */
  readonly onInput?: (input: Input) => void;
}

/**
 * The start state whose canonical renaming was computed last, and that renaming. The explorer
 * expands all actions of one state object in a row, so one entry serves them all (a WeakMap
 * per state object measured the same time with twice the peak heap).
 */
let lastStart: { state: ClusterModelState | null; rename: readonly number[] } = {
  state: null,
  rename: [],
};

/** The canonical renaming of `state` (states are never mutated, so it is kept per object). */
function startRenaming(context: ModelContext, state: ClusterModelState): readonly number[] {
  if (lastStart.state !== state) {
    lastStart = { state, rename: canonicalRenaming(symmetryFor(context.nodeIds), state) };
  }
  return lastStart.rename;
}

/** A mutable copy of the state that one action edits, then freezes. */
export class Work {
  nodes: ModelNode[];
  messages: Message[];
  writesIssued: number;
  proposals: number;
  pending: PendingWrite[];
  acked: AckedWrite[];
  crashes: number;
  duplicates: number;
  membershipChanges: number;
  operatorRequests: number;
  postgresCrashes: number;
  postgresStartFailures: number;
  failedRewinds: number;
  unreplayedRecords: number;
  latestPromotion: number;
  elected: Record<string, number>;
  committed: readonly CommittedEntry[];
  electionClash: string | null;
  coreFailure: string | null;
  transientViolation: string | null;
  snapshotInstalled: boolean;

  /** The state the action started from: its canonical renaming orders all work in the action. */
  readonly #start: ClusterModelState;

  constructor(readonly context: ModelContext, state: ClusterModelState) {
    this.#start = state;
    this.nodes = [...state.nodes];
    this.messages = [...state.messages];
    this.writesIssued = state.writesIssued;
    this.proposals = state.proposals;
    this.pending = [...state.pending];
    this.acked = [...state.acked];
    this.crashes = state.crashes;
    this.duplicates = state.duplicates;
    this.membershipChanges = state.membershipChanges;
    this.operatorRequests = state.operatorRequests;
    this.postgresCrashes = state.postgresCrashes;
    this.postgresStartFailures = state.postgresStartFailures;
    this.failedRewinds = state.failedRewinds;
    this.unreplayedRecords = state.unreplayedRecords;
    this.latestPromotion = state.latestPromotion;
    this.elected = state.elected;
    this.committed = state.committed;
    this.electionClash = state.electionClash;
    this.coreFailure = null;
    this.transientViolation = state.transientViolation;
    this.snapshotInstalled = false;
  }

  /** Inside a macro: checks the invariants on the state so far; true when one failed. */
  checkpoint(where: string): boolean {
    if (this.transientViolation !== null) return true;
    const problem = this.context.checkpoint(this.freeze());
    if (problem !== null) this.transientViolation = `${problem} (inside ${where})`;
    return problem !== null;
  }

  /** The finished state. */
  freeze(): ClusterModelState {
    return {
      nodes: this.nodes,
      messages: this.messages,
      writesIssued: this.writesIssued,
      proposals: this.proposals,
      pending: this.pending,
      acked: this.acked,
      crashes: this.crashes,
      duplicates: this.duplicates,
      membershipChanges: this.membershipChanges,
      operatorRequests: this.operatorRequests,
      postgresCrashes: this.postgresCrashes,
      postgresStartFailures: this.postgresStartFailures,
      failedRewinds: this.failedRewinds,
      unreplayedRecords: this.unreplayedRecords,
      latestPromotion: this.latestPromotion,
      elected: this.elected,
      committed: this.committed,
      electionClash: this.electionClash,
      coreFailure: this.coreFailure,
      transientViolation: this.transientViolation,
      snapshotInstalled: this.snapshotInstalled,
    };
  }

  /**
   * Node indexes in the canonical order of the state the action started from (symmetry.ts,
   * `canonicalRenaming`). Work on several nodes in one action goes in this order, never in
   * index order: what one node's step leaves for the next (a message bound, a promotion
   * number, who answers first) then falls alike in renamed states, which symmetry reduction
   * relies on. The start state's order serves every step of the action: the action is then a
   * function of its start state that commutes with renaming, which is all that needs (and a
   * state's actions share one computation, {@link startRenaming}).
   */
  canonicalOrder(): number[] {
    const rename = startRenaming(this.context, this.#start);
    const order = new Array<number>(rename.length);
    rename.forEach((position, index) => order[position] = index);
    return order;
  }

  /**
   * Puts the messages from `from` on in canonical order (their fingerprints with node ids
   * renamed by the start state's canonical renaming): a round delivers in queue order, and
   * the core's own order of a batch follows its peers' names.
   */
  sortMessagesFrom(from: number): void {
    if (this.messages.length - from < 2) return;
    const symmetry = symmetryFor(this.context.nodeIds);
    const rename = startRenaming(this.context, this.#start);
    const keyed = this.messages.slice(from).map((message) => ({
      message,
      key: symmetry.messageFingerprint(message, rename) as Fingerprint,
    }));
    keyed.sort((a, b) => compareFingerprints(a.key, b.key));
    for (let offset = 0; offset < keyed.length; offset++) {
      this.messages[from + offset] = keyed[offset]!.message;
    }
  }

  node(index: number): ModelNode {
    const node = this.nodes[index];
    if (node === undefined) throw new Error(`model: no node #${index}`);
    return node;
  }

  setNode(index: number, changes: Partial<ModelNode>): void {
    this.nodes[index] = { ...this.node(index), ...changes };
  }

  /** Runs the real core on `index` with `input` and carries out the result. */
  runCore(index: number, input: Input): void {
    const node = this.node(index);
    if (node.core === null || this.coreFailure !== null) return;
    this.context.onInput?.(input);
    let result;
    try {
      result = step(node.core, input);
    } catch (error) {
      this.coreFailure = `${this.context.nodeIds[index]}: ${
        error instanceof Error ? error.message : error
      }`;
      return;
    }
    // Persist before send: the disk is updated before any message of this step can be delivered.
    const disk = result.persist === null
      ? node.disk
      : applyPersistRequest(node.disk, result.persist);
    let grant = node.grant;
    for (const message of result.messages) {
      if (message.kind === "vote-response" && message.granted && !message.preVote) {
        grant = this.#grant(node, message);
      }
    }
    // The in-flight bound loses a step's messages all together or not at all: keeping the
    // first that fit would keep them by the core's order of peers, i.e. by node name, and
    // renamed states would then differ in what they lose (symmetry reduction needs every
    // rule to treat renamed states alike; found by the parallel search, docs/VERIFICATION.md).
    if (this.messages.length + result.messages.length <= this.context.bounds.maxInFlight) {
      this.messages.push(...result.messages);
    }
    // A snapshot message that replaced the core's snapshot was installed (one it already
    // covers is only acknowledged).
    if (
      input.kind === "message" && input.message.kind === "snapshot" &&
      result.state.snapshot !== node.core.snapshot
    ) this.snapshotInstalled = true;
    this.#noteElection(index, node, result.state);
    this.#noteCommits(result.state);
    this.setNode(index, { core: result.state, disk, grant });
  }

  #grant(node: ModelNode, message: Message): Grant {
    return {
      term: message.term,
      candidate: this.context.nodeIds.indexOf(message.to),
      wal: node.postgres.wal,
    };
  }

  /** What node `index`'s shell observes of its Postgres now (a "postgres" input). */
  observation(index: number): Input {
    const postgres = this.node(index).postgres;
    const source = this.nodes[postgres.source]?.postgres;
    const fallenBack = this.context.bounds.fallenBackTimelines && receiverDown(postgres, source);
    return { kind: "postgres", observation: observe(postgres, fallenBack), readTicksAgo: 0 };
  }

  #noteElection(index: number, before: ModelNode, after: NonNullable<ModelNode["core"]>): void {
    if (after.role !== "leader") return;
    if (before.core?.role === "leader" && before.core.term === after.term) return;
    const key = String(after.term);
    const winner = this.elected[key];
    if (winner !== undefined && winner !== index && this.electionClash === null) {
      const ids = this.context.nodeIds;
      this.electionClash = `${ids[winner]} and ${ids[index]} both won term ${after.term}`;
    }
    this.elected = { ...this.elected, [key]: index };
  }

  /**
   * Records, the first time any core knows them committed, the entries above the highest
   * index recorded so far (what a core knows committed below it is checked, not recorded).
   */
  #noteCommits(core: NodeState): void {
    const recorded = this.committed[this.committed.length - 1]?.index ??
      (core.snapshot?.lastIndex ?? 0);
    if (core.commitIndex <= recorded) return;
    const added: CommittedEntry[] = [];
    for (let index = recorded + 1; index <= core.commitIndex; index++) {
      const term = termAt(core, index);
      // Compacted away before it was seen committed: nothing to compare against later.
      if (term === null) continue;
      added.push({ index, term, knownInTerm: core.term });
    }
    this.committed = [...this.committed, ...added];
  }

  /**
   * Without observation lag: every running core whose last observation differs from what
   * its shell would observe now (its Postgres, or its standby's source, changed), or that
   * needs a fresh one to vote (the shell reads at once then), gets a new one.
   */
  settleObservations(): void {
    if (this.context.bounds.observationLag) return;
    const due: number[] = [];
    this.nodes.forEach((node, index) => {
      if (node.core === null) return;
      const input = this.observation(index);
      if (
        input.kind === "postgres" && (needsFreshObservation(node.core) ||
          !sameObservation(node.core.postgres, input.observation))
      ) due.push(index);
    });
    // Several at once: in canonical order (see canonicalOrder).
    const order = due.length > 1
      ? this.canonicalOrder().filter((index) => due.includes(index))
      : due;
    for (const index of order) this.runCore(index, this.observation(index));
  }

  /** Replaces a node's Postgres, tells its core, and settles acknowledgements. */
  setPostgres(index: number, postgres: PostgresModel): void {
    this.setNode(index, { postgres });
    if (!this.#mayAcknowledge(postgres)) {
      this.pending = this.pending.filter((write) => write.node !== index);
    }
    if (!this.context.bounds.observationLag) this.runCore(index, this.observation(index));
    this.settleAcknowledgements();
  }

  /** Acknowledges every pending write whose primary's synchronous standbys hold it. */
  settleAcknowledgements(): void {
    const waiting: PendingWrite[] = [];
    for (const pending of this.pending) {
      const primary = this.node(pending.node).postgres;
      if (!this.#mayAcknowledge(primary)) continue; // the client gets an error: never acknowledged
      const rule = parseSynchronousStandbyNames(primary.synchronousStandbyNames);
      if (this.#quorumHolds(pending, primary)) {
        this.acked.push({
          write: pending.write,
          promotion: primary.promotion,
          afterNewerPrimary: primary.promotion < this.latestPromotion,
          durable: rule !== null && rule.names.some((name) => this.context.nodeIds.includes(name)),
        });
      } else waiting.push(pending);
    }
    this.pending = waiting;
  }

  /** Whether a commit waiting on this server can still be acknowledged to its client. */
  #mayAcknowledge(postgres: PostgresModel): boolean {
    if (isWritable(postgres)) return true;
    // The fenceKeepsWaitingCommits fault: a fenced (running) primary keeps them waiting.
    return this.context.bounds.fenceKeepsWaitingCommits === true &&
      postgres.status === "running" && !postgres.inRecovery;
  }

  /** True when enough standbys streaming directly from the primary flushed the write. */
  #quorumHolds(pending: PendingWrite, primary: PostgresModel): boolean {
    const rule = parseSynchronousStandbyNames(primary.synchronousStandbyNames);
    if (rule === null) return true;
    const position = primary.wal.findIndex((record) => record.write === pending.write);
    const record = primary.wal[position];
    if (record === undefined) return false;
    let flushed = 0;
    for (const name of rule.names) {
      if (!this.context.nodeIds.includes(name)) {
        // The commit gate: the watchdog's client confirms WAL only while the lease runs.
        const core = this.node(pending.node).core;
        if (core !== null && hasWriteAuthority(core)) flushed++;
        continue;
      }
      const standby = this.nodes[this.context.nodeIds.indexOf(name)]?.postgres;
      if (standby === undefined || standby.status !== "running" || !standby.inRecovery) continue;
      if (standby.source !== pending.node) continue;
      if (holdsRecordAt(standby.wal, position, record)) flushed++;
    }
    return flushed >= rule.count;
  }
}

/** Field-by-field equality of two observations (cheaper than serialising them). */
function sameObservation(a: PostgresObservation | null, b: PostgresObservation): boolean {
  if (a === null) return false;
  if (
    a.status !== b.status || a.inRecovery !== b.inRecovery || a.fenced !== b.fenced ||
    a.replayCaughtUp !== b.replayCaughtUp ||
    a.synchronousStandbyNames !== b.synchronousStandbyNames ||
    a.receivingWal !== b.receivingWal
  ) return false;
  const left = a.position;
  const right = b.position;
  if (left === null || right === null) return left === right;
  return left.timeline === right.timeline && left.lsn === right.lsn &&
    left.history.length === right.history.length &&
    left.history.every((line, index) =>
      line.timeline === right.history[index]!.timeline &&
      line.endLsn === right.history[index]!.endLsn
    );
}
