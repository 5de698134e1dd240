/**
 * Small builders for unit tests of the core: nodes in a known state, observations,
 * and a step that collects what came out.
 */
import {
  type CoreConfig,
  createNode,
  defaultCoreConfig,
  type Input,
  type LogEntry,
  type Message,
  type NodeState,
  type PostgresObservation,
  step,
  type StepResult,
  type WalPosition,
} from "../../src/core/mod.ts";

/** Test config: election timeout 10 ticks, heartbeat every 2. */
export const TEST_CONFIG: CoreConfig = defaultCoreConfig({
  electionTimeoutTicks: 10,
  electionTimeoutJitterTicks: 5,
});

/**
 * A WAL position: `timeline` at `lsn`, with the history given as [timeline, endLsn] pairs,
 * oldest first (none: timeline 1, or a test where the history does not matter).
 */
export function at(
  timeline: number,
  lsn: number,
  history: readonly (readonly [number, number])[] = [],
): WalPosition {
  return {
    timeline,
    lsn,
    history: history.map(([ancestor, endLsn]) => ({ timeline: ancestor, endLsn })),
  };
}

/** The same node with its latest observation fed again, as fresh as can be. */
export function observeAgain(state: NodeState): NodeState {
  if (state.postgres === null) throw new Error(`${state.id} has no observation to repeat`);
  return step(state, { kind: "postgres", observation: state.postgres, readTicksAgo: 0 }).state;
}

/** A running Postgres at `position`, standby unless `primary`. */
export function observation(position: WalPosition, primary = false): PostgresObservation {
  return {
    status: "running",
    inRecovery: !primary,
    position,
    replayCaughtUp: true,
    synchronousStandbyNames: primary ? "" : null,
    fenced: false,
    receivingWal: false,
  };
}

/** A follower of a cluster whose voters are `voters`, all entries committed, at `term`. */
export function memberNode(
  id: string,
  voters: string[],
  options: { term?: number; entries?: LogEntry[]; position?: WalPosition; config?: CoreConfig } =
    {},
): NodeState {
  const term = options.term ?? 1;
  const entries: LogEntry[] = options.entries ?? [
    { term: 1, index: 1, command: { kind: "membership", membership: { voters, learners: [] } } },
  ];
  const node = createNode(id, options.config ?? TEST_CONFIG, {
    hardState: { term, votedFor: null, commitIndex: entries.length },
    snapshot: null,
    entries,
  }, 0);
  return feed(node, {
    kind: "postgres",
    observation: observation(options.position ?? at(1, 100)),
    readTicksAgo: 0,
  })
    .state;
}

/** Steps once. */
export function feed(state: NodeState, input: Input): StepResult {
  return step(state, input);
}

/** Ticks `count` times, returning the last result and every message sent. */
export function tickTimes(
  state: NodeState,
  count: number,
): { state: NodeState; messages: Message[] } {
  const messages: Message[] = [];
  let current = state;
  for (let index = 0; index < count; index++) {
    const result = step(current, { kind: "tick", jitterTicks: 0 });
    current = result.state;
    messages.push(...result.messages);
  }
  return { state: current, messages };
}

/** Delivers a message. */
export function deliver(state: NodeState, message: Message): StepResult {
  return step(state, { kind: "message", message });
}
