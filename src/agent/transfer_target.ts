/**
 * The target of a leadership transfer: every transfer the agent submits (an operator's
 * switchover, a scheduled one, a planned stop) goes through {@link planTransfer} (agent.ts,
 * `submit`).
 *
 * The core picks the voter whose reported position holds the most WAL, but a position says
 * nothing of whether that standby streams from this primary right now. A standby that was
 * just restarted or rewound reports a position equal to a streaming one's, and if it wins
 * the tie it cannot catch up once this Postgres stops for the transfer: the transfer times
 * out and the cluster waits out the lease (measured in the rolling-restart scenario: 10.2 to
 * 10.6 s without an acknowledged write, in 4 of 5 runs; with the wait below, 3.0 to 3.8 s in
 * 3 of 3). The same held for an operator's switchover right after a failover
 * (the other standby still switching timelines: 11.5 s without writes and a failed request).
 * So a transfer first waits briefly for a standby to stream, and when some stream and some
 * do not, names a streaming one; the core still checks that the target
 * holds all of this node's WAL before it hands over, so this only chooses among targets the
 * core accepts.
 *
 * @module
 */
import { failoverPriority, failoverTagBlocker, type NodeId, type NodeState } from "../core/mod.ts";

/** What the choice needs of one pg_stat_replication row (application_name is the node id). */
export interface StreamingStandby {
  readonly application_name: string;
  readonly state: string;
}

/** The other voters that may lead (not tagged nofailover): the targets a transfer may have. */
function otherCandidates(state: NodeState): NodeId[] {
  return state.membership.voters.filter((voter) =>
    voter !== state.id && failoverTagBlocker(state.applied, voter) === null
  );
}

/** The application names (node ids) of the standbys in state "streaming". */
function streamingNames(replication: readonly StreamingStandby[]): Set<string> {
  return new Set(
    replication.filter((row) => row.state === "streaming").map((row) => row.application_name),
  );
}

/**
 * A voter streaming from this primary to hand leadership to, or null to let the core choose
 * (every candidate streams, or none does, or this node is no leader).
 */
export function streamingTransferTarget(
  state: NodeState,
  replication: readonly StreamingStandby[],
): NodeId | null {
  if (state.role !== "leader") return null;
  const candidates = otherCandidates(state);
  const streaming = streamingNames(replication);
  const ready = candidates.filter((voter) => streaming.has(voter));
  if (ready.length === 0 || ready.length === candidates.length) return null;
  // Among streaming voters: the higher failover priority, then the name (deterministic).
  return [...ready].sort((a, b) =>
    failoverPriority(state.applied, b) - failoverPriority(state.applied, a) || a.localeCompare(b)
  )[0]!;
}

/** How long a transfer waits for a standby to stream before it is submitted (or refused) anyway. */
export const STREAMING_WAIT_MS = 3_000;
const STREAMING_POLL_MS = 100;

/** What a transfer request becomes after the wait. */
export interface TransferPlan {
  /** The target to submit (null: the core chooses). */
  readonly target: NodeId | null;
  /**
   * Why the transfer cannot succeed now, or null: the target (or, with none named, every
   * voter that may lead) has no WAL sender on this primary, so once this Postgres stops for
   * the transfer nothing can bring it the rest of the WAL.
   */
  readonly notConnected: string | null;
}

/**
 * Waits up to `waitMs` for a standby to stream from this primary (pg_stat_replication state
 * "streaming": on this timeline and caught up), then plans a transfer that asked for
 * `requested` (null: the best voter).
 *
 * A leadership transfer stops this Postgres at once, so a target that is not streaming then
 * can never receive the rest of the WAL: one still switching to this primary's timeline (it
 * followed this node before its promotion), or starting after a rewind. The transfer then
 * times out and the cluster waits out the lease, where a wait here costs at most `waitMs`:
 * - a named target: waits until it streams, and names it whatever happens (the core refuses
 *   a target it cannot accept);
 * - no target: waits until some other voter streams, then names a streaming one when only
 *   some do ({@link streamingTransferTarget}); null (the core chooses) when all or none do.
 * `notConnected` says when even after the wait no WAL sender serves the target (one in
 * "catchup" may still catch up while this Postgres shuts down, so only a missing one counts).
 *
 * No wait when this node does not lead, is the only voter (the core refuses at once), or its
 * Postgres is not a running primary (then nothing streams from it: a hand-over because it
 * cannot start, primary_watch.ts).
 */
export async function planTransfer(
  state: () => NodeState,
  readReplication: () => Promise<readonly StreamingStandby[]>,
  requested: NodeId | null,
  waitMs: number = STREAMING_WAIT_MS,
): Promise<TransferPlan> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const current = state();
    const postgres = current.postgres;
    const alone = current.membership.voters.every((voter) => voter === current.id);
    if (
      current.role !== "leader" || alone || postgres?.status !== "running" || postgres.inRecovery
    ) return { target: requested, notConnected: null };
    const replication = await readReplication();
    const streaming = streamingNames(replication);
    const ready = requested !== null
      ? streaming.has(requested)
      : current.membership.voters.some((voter) => voter !== current.id && streaming.has(voter));
    if (ready || Date.now() >= deadline) {
      return {
        target: requested ?? streamingTransferTarget(current, replication),
        notConnected: connectionProblem(current, replication, requested),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, STREAMING_POLL_MS));
  }
}

/** Why no WAL sender serves the target (or any voter that may lead), or null. */
function connectionProblem(
  state: NodeState,
  replication: readonly StreamingStandby[],
  requested: NodeId | null,
): string | null {
  const connected = new Set(replication.map((row) => row.application_name));
  if (requested !== null) {
    return connected.has(requested) ? null : `${requested} does not stream from this primary`;
  }
  return otherCandidates(state).some((voter) => connected.has(voter))
    ? null
    : "no standby that may lead streams from this primary";
}
