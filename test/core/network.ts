/**
 * A tiny deterministic network of real cores for scripted regression tests: messages are
 * delivered in the order they were sent, links can be cut, a node can stall (its inbound
 * messages wait until it resumes), and every step records how many nodes hold write
 * authority at once. Like the shell, it observes a node's Postgres again whenever the
 * core asks for a fresh observation (`needsFreshObservation`).
 */
import {
  hasWriteAuthority,
  type Input,
  type Message,
  needsFreshObservation,
  type NodeState,
  type PostgresObservation,
  step,
} from "../../src/core/mod.ts";

/** Most messages one `deliverAll` delivers (a bound so that a livelock fails the test). */
const MAX_DELIVERIES = 10_000;

/** A scripted cluster of cores. */
export class Network {
  readonly nodes = new Map<string, NodeState>();
  /** The truth about each node's Postgres, reported whenever the core asks or a test says. */
  readonly postgres = new Map<string, PostgresObservation>();
  readonly queue: Message[] = [];
  /** Messages waiting for a stalled node, in order. */
  readonly held: Message[] = [];
  /** Directed links "from>to" whose messages are lost. */
  readonly cut = new Set<string>();
  /** Stalled nodes: no ticks, inbound messages held until `resume`. */
  readonly stalled = new Set<string>();
  /** When it returns true for a message, its target stalls before receiving it. */
  stallWhen: (message: Message) => boolean = () => false;
  /** The largest number of nodes that held write authority at the same time. */
  maxWriters = 0;
  /** Nodes that held write authority together when `maxWriters` was reached. */
  writersAtMax: string[] = [];

  /** Adds a node whose latest observation is its Postgres's truth. */
  add(state: NodeState): void {
    this.nodes.set(state.id, state);
    if (state.postgres !== null) this.postgres.set(state.id, state.postgres);
  }

  /** The node with this id. */
  node(id: string): NodeState {
    const state = this.nodes.get(id);
    if (state === undefined) throw new Error(`no node ${id}`);
    return state;
  }

  /** Steps a node, queues its messages, and records the writers. */
  input(id: string, input: Input): void {
    const result = step(this.node(id), input);
    this.nodes.set(id, result.state);
    for (const message of result.messages) {
      if (!this.cut.has(`${message.from}>${message.to}`)) this.queue.push(message);
    }
    const writers = [...this.nodes.values()].filter(hasWriteAuthority).map((node) => node.id);
    if (writers.length > this.maxWriters) {
      this.maxWriters = writers.length;
      this.writersAtMax = writers;
    }
    if (needsFreshObservation(result.state)) this.observe(id);
  }

  /** Sets what a node's Postgres is now and reports it to its core. */
  setPostgres(id: string, observation: PostgresObservation): void {
    this.postgres.set(id, observation);
    this.observe(id);
  }

  /** Reports a node's Postgres to its core. */
  observe(id: string): void {
    const observation = this.postgres.get(id);
    if (observation !== undefined) {
      this.input(id, { kind: "postgres", observation, readTicksAgo: 0 });
    }
  }

  /**
   * `count` rounds in which every node that is not stalled ticks once, in id order, each
   * tick followed by the delivery of everything it caused (so the nodes do not act in
   * lockstep, which would split every vote).
   */
  run(count: number): void {
    for (let round = 0; round < count; round++) {
      for (const id of [...this.nodes.keys()].sort()) {
        if (this.stalled.has(id)) continue;
        this.input(id, { kind: "tick", jitterTicks: 0 });
        this.deliverAll();
      }
    }
  }

  /** Delivers queued messages until none is left. */
  deliverAll(): void {
    for (let count = 0; this.queue.length > 0; count++) {
      if (count >= MAX_DELIVERIES) throw new Error(`over ${MAX_DELIVERIES} deliveries`);
      const message = this.queue.shift()!;
      if (this.stallWhen(message)) this.stalled.add(message.to);
      if (this.stalled.has(message.to)) {
        this.held.push(message);
        continue;
      }
      this.input(message.to, { kind: "message", message });
    }
  }

  /** A stalled node resumes: it receives everything held for it, in order (no new stall). */
  resume(id: string): void {
    this.stalled.delete(id);
    this.stallWhen = () => false;
    const waiting = this.held.filter((message) => message.to === id);
    this.held.splice(0, this.held.length, ...this.held.filter((message) => message.to !== id));
    this.queue.unshift(...waiting);
    this.deliverAll();
  }
}
