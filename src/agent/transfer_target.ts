/**
 * The target of the leadership transfer a planned stop starts (agent.ts, `stop`).
 *
 * The core picks the voter whose reported position holds the most WAL, but a position says
 * nothing of whether that standby streams from this primary right now. A standby that was
 * just restarted or rewound reports a position equal to a streaming one's, and if it wins
 * the tie it cannot catch up once this Postgres stops for the transfer: the transfer times
 * out and the cluster waits out the lease (measured in the rolling-restart scenario: 10.2 to
 * 10.6 s without an acknowledged write, in 4 of 5 runs; with the wait below, 3.0 to 3.8 s in
 * 3 of 3). So a planned stop first waits briefly for another voter to stream, and when some
 * stream and some do not, names a streaming one; the core still checks that the target
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
  const candidates = state.membership.voters.filter((voter) =>
    voter !== state.id && failoverTagBlocker(state.applied, voter) === null
  );
  const streaming = streamingNames(replication);
  const ready = candidates.filter((voter) => streaming.has(voter));
  if (ready.length === 0 || ready.length === candidates.length) return null;
  // Among streaming voters: the higher failover priority, then the name (deterministic).
  return [...ready].sort((a, b) =>
    failoverPriority(state.applied, b) - failoverPriority(state.applied, a) || a.localeCompare(b)
  )[0]!;
}

/** How long a planned stop waits for another voter to stream before it hands over anyway. */
export const STREAMING_WAIT_MS = 3_000;
const STREAMING_POLL_MS = 100;

/**
 * Waits up to `waitMs` until some other voter streams from this primary (pg_stat_replication
 * state "streaming": on this timeline and caught up), then returns the target as
 * {@link streamingTransferTarget} does. A standby that is still switching to this primary's
 * timeline (it followed this node before its promotion) or starting after a rewind would
 * not catch up once this Postgres stops, and the transfer would fail; a short wait here
 * costs less than the lease the cluster would wait out then. Null after the wait: the core
 * chooses as before.
 */
export async function awaitStreamingTransferTarget(
  state: () => NodeState,
  readReplication: () => Promise<readonly StreamingStandby[]>,
  waitMs: number = STREAMING_WAIT_MS,
): Promise<NodeId | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const current = state();
    if (current.role !== "leader") return null;
    const replication = await readReplication();
    const streaming = streamingNames(replication);
    const anyStreaming = current.membership.voters.some((voter) =>
      voter !== current.id && streaming.has(voter)
    );
    if (anyStreaming || Date.now() >= deadline) {
      return streamingTransferTarget(current, replication);
    }
    await new Promise((resolve) => setTimeout(resolve, STREAMING_POLL_MS));
  }
}
