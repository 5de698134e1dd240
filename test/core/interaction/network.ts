/**
 * The small world an interaction script runs in: named core nodes, what each has persisted,
 * and the messages in flight between them. Every change goes through the real `step`.
 *
 * @module
 */
import {
  type AdminRequest,
  applyPersistRequest,
  type CoreConfig,
  createNode,
  type Input,
  type Message,
  type NodeState,
  type PersistentState,
  step,
  type StepResult,
} from "../../../src/core/mod.ts";
import { formatEffect, formatMessage } from "./format.ts";

/** One node of the world: its core state and its disk. */
interface WorldNode {
  state: NodeState;
  disk: PersistentState;
}

/** Which in-flight messages a `deliver` or `drop` applies to (unset fields match anything). */
export interface MessageFilter {
  readonly from?: string;
  readonly to?: string;
  readonly kind?: string;
}

/** Nodes, disks and the network of one interaction script. */
export class InteractionWorld {
  readonly #nodes = new Map<string, WorldNode>();
  #inFlight: Message[] = [];
  #requestSequence = 0;

  /** Adds a node built from `disk` with `config`, its first election timer at E + `jitterTicks`. */
  add(id: string, config: CoreConfig, disk: PersistentState, jitterTicks = 0): void {
    this.#nodes.set(id, { state: createNode(id, config, disk, jitterTicks), disk });
  }

  /** The node's current core state; throws on an unknown id (a script error). */
  state(id: string): NodeState {
    return this.#node(id).state;
  }

  /** Node ids in creation order. */
  ids(): string[] {
    return [...this.#nodes.keys()];
  }

  /** Steps `id` with `input`, persisting then queueing its messages; returns printed lines. */
  step(id: string, input: Input): string[] {
    const node = this.#node(id);
    const result: StepResult = step(node.state, input);
    if (result.persist !== null) node.disk = applyPersistRequest(node.disk, result.persist);
    node.state = result.state;
    this.#inFlight.push(...result.messages);
    return [
      ...result.messages.map((message) => `send ${formatMessage(message)}`),
      ...result.effects.map(formatEffect),
    ];
  }

  /** Sends an admin request to `id` with a fresh request id. */
  admin(id: string, request: DistributiveOmit<AdminRequest, "requestId">): string[] {
    this.#requestSequence += 1;
    const requestId = `r${this.#requestSequence}`;
    return this.step(id, { kind: "admin", request: { ...request, requestId } as AdminRequest });
  }

  /** Delivers every in-flight message matching `filter`, oldest first; new ones wait. */
  deliver(filter: MessageFilter): string[] {
    const chosen = this.#inFlight.filter((message) => matches(message, filter));
    this.#inFlight = this.#inFlight.filter((message) => !matches(message, filter));
    const lines: string[] = [];
    for (const message of chosen) {
      lines.push(`${formatMessage(message)}`);
      if (!this.#nodes.has(message.to)) continue;
      lines.push(...this.step(message.to, { kind: "message", message }).map((line) => `  ${line}`));
    }
    return lines;
  }

  /** Drops every in-flight message matching `filter`; returns how many. */
  drop(filter: MessageFilter): number {
    const before = this.#inFlight.length;
    this.#inFlight = this.#inFlight.filter((message) => !matches(message, filter));
    return before - this.#inFlight.length;
  }

  /** The messages in flight, printed. */
  pending(): string[] {
    return this.#inFlight.map(formatMessage);
  }

  /** A crash and restart: volatile state is lost, the node comes back from its disk. */
  restart(id: string): void {
    const node = this.#node(id);
    node.state = createNode(id, node.state.config, node.disk, 0);
  }

  #node(id: string): WorldNode {
    const node = this.#nodes.get(id);
    if (node === undefined) throw new Error(`unknown node ${JSON.stringify(id)}`);
    return node;
  }
}

/** `Omit` applied to each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function matches(message: Message, filter: MessageFilter): boolean {
  return (filter.from === undefined || message.from === filter.from) &&
    (filter.to === undefined || message.to === filter.to) &&
    (filter.kind === undefined || message.kind === filter.kind);
}
