/**
 * The agent's event counters for Prometheus: one registry per agent, named counters that
 * only go up. Each counter has its help text here, so that /metrics describes it once
 * (`promtool check metrics` rejects a second HELP line for a name).
 *
 * @module
 */

/** Counters every agent exposes, with the help text of their metric. */
export const COUNTER_HELP = {
  steps: "Inputs the core has processed.",
  persists: "Raft state writes (fsync) before a step's output was released.",
  messagesQueued: "Raft messages handed to the peer transport.",
  inputsDropped: "Peer messages dropped because the core's input queue was full.",
  elections: "Elections this node started as a candidate (pre-votes not included).",
  leaderChanges: "Times this node saw the Raft leader change to another node.",
  promotions: "Times the local Postgres was seen to leave recovery (became a primary).",
  fences: "Times the local Postgres was seen to become fenced (refusing writes).",
  rewinds: "pg_rewind runs of the local data directory.",
  reclones: "Times the local data directory was cloned again (pg_basebackup).",
  watchdogFirings: "Times the watchdog killed the local Postgres because renewals stopped.",
  foreignWalsendersTerminated:
    "Walsenders the primary terminated: not a member from its address, nor the commit gate over the local socket.",
  coreWarnings:
    "Inputs the core refused with a warning (e.g. a peer message with an absurd term or a second leader).",
} as const;

/** The name of a counter of {@link COUNTER_HELP}. */
export type CounterName = keyof typeof COUNTER_HELP;

/** A set of counters starting at zero. */
export class Counters {
  readonly #values: Record<CounterName, number>;

  /** Creates every counter of {@link COUNTER_HELP} at zero. */
  constructor() {
    const values = {} as Record<CounterName, number>;
    for (const name of Object.keys(COUNTER_HELP) as CounterName[]) values[name] = 0;
    this.#values = values;
  }

  /** Adds `by` (a non-negative integer) to `name`. */
  increment(name: CounterName, by = 1): void {
    if (!Number.isSafeInteger(by) || by < 0) {
      throw new RangeError(
        `counter ${name}: cannot add ${by}; counters only go up by whole numbers`,
      );
    }
    this.#values[name] += by;
  }

  /** The current values. */
  snapshot(): Readonly<Record<CounterName, number>> {
    return { ...this.#values };
  }
}

/** Help text for a counter name, from {@link COUNTER_HELP} or the transport's names. */
export function counterHelp(name: string): string {
  const known = (COUNTER_HELP as Record<string, string>)[name];
  if (known !== undefined) return known;
  return TRANSPORT_COUNTER_HELP[name] ?? `Agent counter ${name}.`;
}

/** Help text of the peer transport's counters (src/transport/transport_limits.ts). */
const TRANSPORT_COUNTER_HELP: Readonly<Record<string, string>> = {
  messagesSent: "Raft messages written to a peer connection.",
  messagesReceived: "Raft messages received from peers and accepted.",
  messagesDropped: "Raft messages dropped by the transport (queue full, peer unreachable).",
  messagesRefused: "Outgoing Raft messages the transport refused as invalid (a bug of this node).",
  framesRejected: "Peer frames refused (bad authentication, size, version or content).",
  connectionsOpened: "Outbound peer connections opened.",
};
