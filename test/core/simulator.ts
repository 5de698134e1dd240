/**
 * A seeded, deterministic simulation of N nodes running the real core, for unit and
 * property tests. The environment is simple on purpose: a network that loses, duplicates,
 * delays and reorders messages and can be partitioned; crashes that keep only what was
 * persisted; clocks that tick together (with rare skipped or doubled ticks for drift);
 * and each node's Postgres reduced to (timeline, LSN, in recovery).
 *
 * Every step checks the safety properties and throws {@link SafetyViolation} with the
 * seed and the recent history, so that a failing seed replays exactly.
 */
import {
  applyPersistRequest,
  type Command,
  type CoreConfig,
  createNode,
  decidePostgresRole,
  defaultCoreConfig,
  EMPTY_PERSISTENT_STATE,
  hasWriteAuthority,
  type Input,
  type LogEntry,
  type Message,
  type NodeState,
  type PersistentState,
  relateWalPositions,
  step,
  type WalPosition,
} from "../../src/core/mod.ts";

/** A small, fast, seedable PRNG (mulberry32). */
export class Random {
  #state: number;
  /** Seeds the generator. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let value = this.#state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Thrown when a safety property fails; carries the seed and the last steps. */
export class SafetyViolation extends Error {
  /** Builds the error with the property, seed and recent history. */
  constructor(property: string, seed: number, history: readonly string[]) {
    super(`${property}\n  seed: ${seed}\n  last steps:\n    ${history.slice(-25).join("\n    ")}`);
    this.name = "SafetyViolation";
  }
}

/** The simulated Postgres of one node. */
export interface SimulatedPostgres {
  status: "running" | "stopped" | "absent";
  inRecovery: boolean;
  position: WalPosition;
  /** Ids of the committed writes in this node's WAL, in order (its history). */
  history: number[];
  /** synchronous_standby_names as last set by the node's agent. */
  synchronousStandbyNames?: string;
}

/** One simulated node. */
export interface SimulatedNode {
  readonly id: string;
  state: NodeState;
  disk: PersistentState;
  alive: boolean;
  postgres: SimulatedPostgres;
}

/** Knobs of a simulation run, all derived from the seed unless given. */
export interface SimulationOptions {
  readonly nodes: number;
  readonly seed: number;
  readonly steps: number;
  readonly config?: CoreConfig;
  readonly lossRate?: number;
  readonly duplicateRate?: number;
  readonly crashRate?: number;
  readonly partitionRate?: number;
}

/** A message in flight with the simulated time it may be delivered at the earliest. */
interface Flight {
  readonly message: Message;
  readonly deliverAfter: number;
}

/** Most messages in flight; beyond it the oldest are dropped (the network is lossy anyway). */
const MAX_IN_FLIGHT = 400;

/** A running simulation. */
export class Simulation {
  readonly nodes: SimulatedNode[] = [];
  random: Random;
  readonly history: string[] = [];
  readonly options: Required<Omit<SimulationOptions, "config">> & { config: CoreConfig };
  /** Simulated real time, in ticks. */
  time = 0;
  inFlight: Flight[] = [];
  /** Pairs "a>b" whose messages are dropped. */
  blocked = new Set<string>();
  /** Pairs "a>b" whose Raft messages only are dropped (WAL streaming still flows). */
  raftBlocked = new Set<string>();
  /** term -> leader seen, for election safety. */
  readonly leaders = new Map<number, string>();
  /** index -> committed entry, for durability of committed entries. */
  readonly committed = new Map<number, LogEntry>();
  /** Highest timeline any node promoted to. */
  highestTimeline = 1;
  nextWriteId = 1;

  /** Creates N nodes with node1 bootstrapped and the others joined as voters. */
  constructor(options: SimulationOptions) {
    this.options = {
      lossRate: 0.05,
      duplicateRate: 0.02,
      crashRate: 0.001,
      partitionRate: 0.003,
      config: defaultCoreConfig({
        electionTimeoutTicks: 16,
        electionTimeoutJitterTicks: 16,
        maxLogEntries: 20,
      }),
      ...options,
    };
    this.random = new Random(options.seed);
    for (let index = 1; index <= options.nodes; index++) {
      const id = `n${index}`;
      this.nodes.push({
        id,
        state: createNode(id, this.options.config, null, 0),
        disk: EMPTY_PERSISTENT_STATE,
        alive: true,
        postgres: {
          status: "absent",
          inRecovery: true,
          position: { timeline: 1, lsn: 0, history: [] },
          history: [],
        },
      });
    }
  }

  /**
   * A copy of this simulation that continues under another seed: the expensive bootstrap
   * is done once and every schedule starts from it.
   */
  fork(seed: number, overrides: Partial<SimulationOptions> = {}): Simulation {
    const copy = new Simulation({ ...this.options, ...overrides, seed, nodes: this.nodes.length });
    copy.nodes.length = 0;
    for (const node of this.nodes) {
      const clone = structuredClone(node);
      // A fork may run another configuration (a negative control) from the same start.
      if (overrides.config) clone.state = { ...clone.state, config: overrides.config };
      copy.nodes.push(clone);
    }
    copy.time = this.time;
    copy.inFlight = structuredClone(this.inFlight);
    copy.blocked = new Set(this.blocked);
    copy.raftBlocked = new Set(this.raftBlocked);
    for (const [term, leader] of this.leaders) copy.leaders.set(term, leader);
    for (const [index, entry] of this.committed) copy.committed.set(index, entry);
    copy.highestTimeline = this.highestTimeline;
    copy.nextWriteId = this.nextWriteId;
    return copy;
  }

  /** A digest of every node's state, to compare two runs of the same seed. */
  fingerprint(): string {
    return JSON.stringify(
      this.nodes.map((node) => [node.state, node.disk, node.postgres, node.alive]),
    );
  }

  /** True when messages from `from` to `to` are dropped. */
  isCut(from: string, to: string): boolean {
    const key = `${from}>${to}`;
    return this.blocked.has(key) || this.raftBlocked.has(key);
  }

  /** The node with this id. */
  node(id: string): SimulatedNode {
    const found = this.nodes.find((node) => node.id === id);
    if (!found) throw new Error(`no node ${id}`);
    return found;
  }

  /** Feeds one input to a node, persists, sends, and enacts its Postgres role. */
  input(node: SimulatedNode, input: Input): void {
    if (!node.alive) return;
    const result = step(node.state, input);
    if (input.kind === "message" && input.message.kind === "vote") {
      this.checkVote(node, input.message, result.messages);
    }
    if (result.persist) node.disk = applyPersistRequest(node.disk, result.persist);
    node.state = result.state;
    for (const message of result.messages) this.enqueue(message);
    this.enactPostgres(node);
    this.checkSafety(
      input.kind === "message"
        ? `${node.id} <- ${describe(input.message)}`
        : `${node.id} ${input.kind}`,
    );
  }

  /** D2 at the voter: a granted vote never goes to a candidate behind the voter's position. */
  private checkVote(
    voter: SimulatedNode,
    request: Message & { kind: "vote" },
    replies: readonly Message[],
  ): void {
    const granted = replies.some((reply) =>
      reply.kind === "vote-response" && reply.granted && !reply.preVote
    );
    const own = voter.state.postgres?.position;
    if (granted && own && !positionAtLeast(request.position, own)) {
      throw new SafetyViolation(
        `${voter.id} voted for ${request.from} whose position is behind its own`,
        this.options.seed,
        this.history,
      );
    }
  }

  /** Reports the node's Postgres to its core. */
  observe(node: SimulatedNode): void {
    const postgres = node.postgres;
    this.input(node, {
      kind: "postgres",
      observation: {
        status: postgres.status,
        inRecovery: postgres.inRecovery,
        position: postgres.status === "absent" ? null : postgres.position,
        replayCaughtUp: true,
        synchronousStandbyNames: postgres.synchronousStandbyNames ?? "",
        fenced: false,
        // The simulator does not model the WAL receiver (its standbys copy the leader's WAL).
        receivingWal: false,
      },
      readTicksAgo: 0,
    });
  }

  private enqueue(message: Message): void {
    if (this.isCut(message.from, message.to)) return;
    if (this.random.chance(this.options.lossRate)) return;
    const delay = this.random.below(3);
    this.inFlight.push({ message, deliverAfter: this.time + delay });
    if (this.random.chance(this.options.duplicateRate)) {
      this.inFlight.push({ message, deliverAfter: this.time + delay + 1 });
    }
    if (this.inFlight.length > MAX_IN_FLIGHT) this.inFlight.shift();
  }

  /** Carries out the role the core decided for the node's Postgres (instantly). */
  private enactPostgres(node: SimulatedNode): void {
    const role = decidePostgresRole(node.state);
    const postgres = node.postgres;
    switch (role.kind) {
      case "initdb":
        node.postgres = {
          status: "running",
          inRecovery: false,
          position: { timeline: 1, lsn: 1, history: [] },
          history: [],
        };
        this.input(node, {
          kind: "admin",
          request: {
            kind: "propose",
            requestId: `sysid-${node.id}`,
            command: { kind: "kv", key: "postgres/system-identifier", value: "42" },
          },
        });
        return;
      case "primary":
        if (postgres.synchronousStandbyNames !== role.synchronousStandbyNames) {
          node.postgres = {
            ...node.postgres,
            synchronousStandbyNames: role.synchronousStandbyNames,
          };
        }
        if (postgres.inRecovery) {
          this.highestTimeline = Math.max(this.highestTimeline, postgres.position.timeline + 1);
          node.postgres = {
            ...postgres,
            status: "running",
            inRecovery: false,
            position: {
              timeline: this.highestTimeline,
              lsn: postgres.position.lsn,
              history: [
                ...postgres.position.history,
                { timeline: postgres.position.timeline, endLsn: postgres.position.lsn },
              ],
            },
          };
        }
        return;
      case "clone":
      case "rejoin": {
        const source = this.node(role.source);
        if (!source.alive || source.postgres.inRecovery || source.postgres.status === "absent") {
          return;
        }
        node.postgres = {
          ...source.postgres,
          status: "running",
          inRecovery: true,
          history: [...source.postgres.history],
        };
        return;
      }
      default:
        return;
    }
  }

  /** One random environment action. */
  randomAction(): void {
    const random = this.random;
    if (random.chance(this.options.crashRate)) return this.crashOrRestart();
    if (random.chance(this.options.partitionRate)) return this.changePartition();
    const roll = random.next();
    if (roll < 0.2) return this.advanceTime();
    if (roll < 0.92) {
      const burst = 1 + random.below(4);
      for (let count = 0; count < burst; count++) this.deliverRandom();
      return;
    }
    this.writeAndStream();
  }

  /** Every live node ticks once (rarely twice or not at all: bounded drift). */
  advanceTime(): void {
    this.time++;
    for (const node of this.nodes) {
      if (!node.alive) continue;
      const jitterTicks = this.random.below(this.options.config.electionTimeoutJitterTicks);
      this.input(node, { kind: "tick", jitterTicks });
      if (this.time % 8 === 0) this.observe(node);
    }
  }

  /** Delivers one due message chosen at random (reordering). */
  deliverRandom(): void {
    const due = this.inFlight.filter((flight) => flight.deliverAfter <= this.time);
    if (due.length === 0) return;
    const flight = due[this.random.below(due.length)]!;
    this.inFlight.splice(this.inFlight.indexOf(flight), 1);
    const target = this.nodes.find((node) => node.id === flight.message.to);
    if (!target || this.isCut(flight.message.from, flight.message.to)) return;
    this.input(target, { kind: "message", message: flight.message });
  }

  /** A client write on whichever node acts as primary, and streaming to standbys. */
  writeAndStream(): void {
    const proposer = this.nodes.find((node) => node.alive && node.state.role === "leader");
    if (proposer && this.random.chance(0.3)) {
      const key = `k${this.random.below(5)}`;
      this.input(proposer, {
        kind: "admin",
        request: {
          kind: "propose",
          requestId: `w${this.nextWriteId}`,
          command: { kind: "kv", key, value: `${this.nextWriteId}` },
        },
      });
    }
    for (const node of this.nodes) {
      if (!node.alive || node.postgres.inRecovery || node.postgres.status !== "running") continue;
      if (!hasWriteAuthority(node.state)) continue;
      const id = this.nextWriteId++;
      node.postgres = {
        ...node.postgres,
        history: [...node.postgres.history, id],
        position: { ...node.postgres.position, lsn: node.postgres.position.lsn + 1 },
      };
    }
    for (const standby of this.nodes) {
      if (!standby.alive || !standby.postgres.inRecovery || standby.postgres.status !== "running") {
        continue;
      }
      const leader = standby.state.leader ? this.node(standby.state.leader) : null;
      if (!leader || !leader.alive || leader.postgres.inRecovery) continue;
      if (this.blocked.has(`${leader.id}>${standby.id}`)) continue;
      if (!isPrefix(standby.postgres.history, leader.postgres.history)) continue;
      standby.postgres = {
        ...leader.postgres,
        status: "running",
        inRecovery: true,
        history: [...leader.postgres.history],
      };
    }
  }

  /** Crashes a live node or restarts a dead one (from its disk only). */
  crashOrRestart(): void {
    const node = this.nodes[this.random.below(this.nodes.length)]!;
    if (node.alive) {
      const living = this.nodes.filter((candidate) => candidate.alive).length;
      if (living <= 1) return;
      node.alive = false;
      this.inFlight = this.inFlight.filter((flight) => flight.message.to !== node.id);
      this.history.push(`crash ${node.id}`);
      return;
    }
    node.alive = true;
    node.state = createNode(node.id, this.options.config, node.disk, this.random.below(10));
    if (!node.postgres.inRecovery) node.postgres = { ...node.postgres, status: "stopped" };
    this.history.push(`restart ${node.id}`);
    this.observe(node);
  }

  /** Cuts a random node off (two-way or one-way), or heals every cut. */
  changePartition(): void {
    if (this.blocked.size + this.raftBlocked.size > 0 && this.random.chance(0.5)) {
      this.blocked.clear();
      this.raftBlocked.clear();
      this.history.push("heal");
      return;
    }
    const victim = this.nodes[this.random.below(this.nodes.length)]!.id;
    const kind = this.random.below(3);
    if (kind === 2) {
      // A single cut link, one or both directions: the victim still hears the others.
      const others = this.nodes.filter((node) => node.id !== victim);
      const peer = others[this.random.below(others.length)]!.id;
      // Half of the cuts hit only the agents' Raft traffic (e.g. a firewall rule on its port).
      const raftOnly = this.random.chance(0.5);
      const set = raftOnly ? this.raftBlocked : this.blocked;
      set.add(`${peer}>${victim}`);
      if (this.random.chance(0.5)) set.add(`${victim}>${peer}`);
      this.history.push(`cut ${raftOnly ? "raft " : ""}link ${peer}-${victim}`);
      return;
    }
    for (const other of this.nodes) {
      if (other.id === victim) continue;
      this.blocked.add(`${other.id}>${victim}`);
      if (kind === 0) this.blocked.add(`${victim}>${other.id}`);
    }
    this.history.push(`partition ${victim}${kind === 1 ? " (inbound only)" : ""}`);
  }

  /** Heals partitions and restarts every dead node. */
  healAll(): void {
    this.blocked.clear();
    this.raftBlocked.clear();
    for (const node of this.nodes) {
      if (node.alive) continue;
      node.alive = true;
      node.state = createNode(node.id, this.options.config, node.disk, 0);
      this.observe(node);
    }
  }

  /** Checks every safety property after a step. */
  checkSafety(label: string): void {
    this.history.push(`t=${this.time} ${label}`);
    if (this.history.length > 200) this.history.splice(0, 100);
    const fail = (property: string) => {
      throw new SafetyViolation(property, this.options.seed, this.history);
    };
    let writers = 0;
    for (const node of this.nodes) {
      const state = node.state;
      if (state.role === "leader") {
        const known = this.leaders.get(state.term);
        if (known !== undefined && known !== node.id) {
          fail(`two leaders in term ${state.term}: ${known}, ${node.id}`);
        }
        this.leaders.set(state.term, node.id);
      }
      if (node.alive && hasWriteAuthority(state)) writers++;
      this.checkCommitted(node, fail);
    }
    if (writers > 1) fail(`${writers} nodes hold write authority at once`);
    this.checkLogMatching(fail);
  }

  private checkCommitted(node: SimulatedNode, fail: (property: string) => never): void {
    const state = node.state;
    const first = (state.snapshot?.lastIndex ?? 0) + 1;
    for (const entry of state.log) {
      if (entry.index > state.commitIndex) break;
      const known = this.committed.get(entry.index);
      if (
        known &&
        (known.term !== entry.term ||
          commandKey(known.command) !== commandKey(entry.command))
      ) {
        fail(`committed entry ${entry.index} differs on ${node.id}`);
      }
      if (!known) this.committed.set(entry.index, entry);
    }
    // Leader completeness: a live leader holds every committed entry of its term or earlier.
    if (state.role === "leader" && node.alive) {
      for (const [index, entry] of this.committed) {
        if (index < first || entry.term > state.term) continue;
        const own = state.log[index - first];
        if (!own || own.term !== entry.term) {
          fail(`leader ${node.id} of term ${state.term} lacks committed ${index}`);
        }
      }
    }
  }

  private checkLogMatching(fail: (property: string) => never): void {
    const byPosition = new Map<string, string>();
    for (const node of this.nodes) {
      for (const entry of node.state.log) {
        const key = `${entry.index}/${entry.term}`;
        const value = commandKey(entry.command);
        const known = byPosition.get(key);
        if (known !== undefined && known !== value) {
          fail(`log matching: ${key} holds different commands`);
        }
        byPosition.set(key, value);
      }
    }
  }

  /** Runs until `predicate` holds or `limit` actions have run; returns whether it held. */
  runUntil(predicate: () => boolean, limit: number, faults = false): boolean {
    for (let count = 0; count < limit; count++) {
      if (predicate()) return true;
      if (faults) this.randomAction();
      else if (this.random.chance(0.12)) this.advanceTime();
      else if (this.random.chance(0.9)) this.deliverRandom();
      else this.writeAndStream();
    }
    return predicate();
  }

  /** The current leader with write authority, if exactly one live node has it. */
  writableLeader(): SimulatedNode | null {
    const writers = this.nodes.filter((node) => node.alive && hasWriteAuthority(node.state));
    return writers.length === 1 ? writers[0]! : null;
  }

  /** Boots node1 as the first primary and joins every other node as a voter. */
  bootstrapCluster(limit = 20_000): void {
    const first = this.nodes[0]!;
    this.observe(first);
    this.input(first, { kind: "bootstrap" });
    for (const node of this.nodes.slice(1)) {
      this.observe(node);
      const requestId = `add-${node.id}`;
      const leader = () =>
        this.nodes.find((candidate) => candidate.state.role === "leader" && candidate.alive);
      const added = this.runUntil(() => {
        const current = leader();
        if (!current) return false;
        if (current.state.membership.voters.includes(node.id)) return true;
        if (!current.state.membership.learners.includes(node.id)) {
          this.input(current, {
            kind: "admin",
            request: { kind: "add-learner", requestId, node: node.id },
          });
        }
        return false;
      }, limit);
      if (!added) {
        throw new Error(`could not add ${node.id} as a voter (seed ${this.options.seed})`);
      }
    }
    const everyone = this.nodes.length;
    const settled = this.runUntil(
      () => this.nodes.every((node) => node.state.applied.membership.voters.length === everyone),
      limit,
    );
    if (!settled) {
      throw new Error(`membership did not settle on every node (seed ${this.options.seed})`);
    }
  }
}

/** A cheap identity of a command, for comparing entries across nodes. */
function commandKey(command: Command): string {
  switch (command.kind) {
    case "kv":
      return `kv:${command.key}=${command.value}`;
    case "membership":
      return `m:${command.membership.voters.join(",")}/${command.membership.learners.join(",")}`;
    case "pause":
      return `p:${command.paused}`;
    case "sync-mode":
      return `s:${command.mode}`;
    case "switchover":
      return `t:${command.target}`;
    case "noop":
      return "noop";
  }
}

function isPrefix(shorter: readonly number[], longer: readonly number[]): boolean {
  if (shorter.length > longer.length) return false;
  for (let index = 0; index < shorter.length; index++) {
    if (shorter[index] !== longer[index]) return false;
  }
  return true;
}

function describe(message: Message): string {
  const base = `${message.kind} from ${message.from} term ${message.term}`;
  if (message.kind === "vote-response") {
    return `${base} ${message.preVote ? "pre" : ""}granted=${message.granted}`;
  }
  if (message.kind === "append") {
    return `${base} prev ${message.prevLogIndex} +${message.entries.length}`;
  }
  return base;
}

/** True when `a` holds all of `b`'s WAL (b equal to or behind a on a's history), for tests. */
export function positionAtLeast(a: WalPosition, b: WalPosition): boolean {
  const relation = relateWalPositions(b, a);
  return relation === "equal" || relation === "behind";
}
