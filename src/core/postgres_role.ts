/**
 * The failover decision: from Raft role, lease and the local Postgres, the one role the
 * local Postgres must have, and the synchronous_standby_names of the primary.
 *
 * @module
 */
import { hasWriteAuthority } from "./lease.ts";
import { knowsLiveLeader } from "./freshness.ts";
import type { NodeId, NodeState, PostgresObservation, PostgresRole } from "./types.ts";
import { hasNoSyncTag } from "./cluster_config.ts";
import { quorumNamesInForce } from "./quorum_switch.ts";

/** Key in the cluster key-value map recording that the first primary was created. */
export const SYSTEM_IDENTIFIER_KEY = "postgres/system-identifier";

/**
 * The quorum-sync value for this node as primary (D1): `ANY k (others)` over the other
 * voters with k = floor(N/2), so that the primary plus k standbys is a Raft majority.
 * When no remote standby is required (asynchronous mode, or the primary is the only voter):
 * the local commit gate if there is one (S2 under a whole-host freeze), else empty.
 */
export function synchronousStandbyNames(state: NodeState): string {
  const remote = remoteStandbyNames(state);
  if (remote !== "" || state.config.commitGate === null) return remote;
  return `"${state.config.commitGate}"`;
}

function remoteStandbyNames(state: NodeState): string {
  if (!quorumNamesInForce(state)) return "";
  const faults = state.config.faults;
  const membership = faults.syncSetIgnoresMembership && state.bootstrapMembership !== null
    ? state.bootstrapMembership
    : state.membership;
  const others = membership.voters.filter((voter) => voter !== state.id);
  const required = faults.ackOnOneStandby ? 1 : Math.floor(membership.voters.length / 2);
  const count = Math.min(required, others.length);
  if (count === 0) return "";
  // Tag nosync narrows the list, never k: the primary plus k standbys stays a majority, so
  // every acknowledged commit still reaches every electing majority. When too few untagged
  // standbys remain to make k, the tag is not honoured (safety over the operator's wish).
  const untagged = others.filter((voter) => !hasNoSyncTag(state.applied, voter));
  const listed = untagged.length >= count ? untagged : others;
  return `ANY ${count} (${listed.map((name) => `"${name}"`).join(", ")})`;
}

/**
 * The role the local Postgres must have now.
 *
 * Write authority and Postgres's writability are ordered once, here; the shell carries it
 * out. (1) Fence: a node without write authority never runs a writable Postgres, whatever
 * else holds (pause included); its lease ended earlier by leaseSafetyTicks than any other
 * node may be elected. (2) Watchdog deadline: if the agent cannot fence in time (hung,
 * dead), the watchdog kills the postmaster when the lease it was last told of runs out.
 * (3) Restart fenced: a stopped server is started unable to write, even by a leader holding
 * authority: a primary fenced ("start fenced first"), a standby as a standby, so a desired
 * role decided before the lease ended can never bring it back writable. (4) Unfence:
 * `primary` is decided only while this node holds authority and only for a running server:
 * a fenced one is unfenced, a caught-up standby promoted. A standby streams only from a
 * live leader (`standby` with source null: receive WAL from no one), see `standbySource`.
 */
export function decidePostgresRole(state: NodeState): PostgresRole {
  const postgres = state.postgres;
  if (postgres?.status === "unreadable") return unreadableRole(state, postgres);
  if (state.applied.paused) return pausedRole(state);
  if (postgres === null) return { kind: "hold", reason: "local Postgres not observed yet" };
  if (state.role === "leader") return leaderRole(state);
  const leader = state.leader;
  if (postgres.status === "absent") {
    if (leader !== null) return { kind: "clone", source: leader };
    return { kind: "hold", reason: "no data yet and no primary to clone from" };
  }
  if (!postgres.inRecovery) {
    // A primary that is not (or no longer) the leader: it may have diverged. It never
    // starts as a primary again: rewind and follow, or stay fenced while no leader is known.
    if (leader !== null) return { kind: "rejoin", source: leader };
    if (postgres.status === "stopped" && !state.campaignWaitsForPostgres) {
      // Not started fenced: the stop that follows any start writes a shutdown checkpoint
      // past the WAL a new primary took over (the old primary of a switchover, between the
      // transfer's end and the new leader's first append), which then needs a rewind. A
      // node that handed over because its server would not start does start it: it stands
      // again only once the server runs (primary_watch.ts), and it may hold the newest WAL
      // (found by the model's liveness walks, seed 6).
      return { kind: "hold", reason: "a deposed primary stays stopped until a leader is known" };
    }
    return { kind: "fenced", reason: "not the leader and no leader known" };
  }
  return { kind: "standby", source: standbySource(state) };
}

/**
 * A local Postgres the shell cannot read: its data is never replaced (no clone, initdb or
 * rewind over a directory that may hold the only copy of some WAL), nor is it started or
 * promoted. A server last known as a primary is fenced when this node has no write
 * authority (it may still run writable; the shell's fence stops its postmaster when SQL
 * fails), pause or not, as pausedRole does.
 */
function unreadableRole(state: NodeState, postgres: PostgresObservation): PostgresRole {
  if (!postgres.inRecovery && !hasWriteAuthority(state)) {
    return {
      kind: "fenced",
      reason: "local Postgres unreadable, and this node has no write authority",
    };
  }
  return { kind: "hold", reason: "local Postgres unreadable" };
}

/**
 * Whom a follower's standby receives WAL from: the leader while it is live, else no one.
 * A standby cut from the leader's Raft traffic could otherwise keep streaming from that
 * leader's primary (whose lease another majority renews) and flush WAL of commits
 * acknowledged after its observation: with the receiver stopped before the observation that
 * votes count on, the observation holds all of them (config.ts, at `leaseDurationTicks`).
 * A follower that hears a leader again follows it at once.
 */
function standbySource(state: NodeState): NodeId | null {
  return knowsLiveLeader(state) ? state.leader : null;
}

/**
 * Maintenance mode: no automatic promotion, rejoin, clone or start; but pause never disables
 * fencing: a running writable Postgres on a node without write authority is fenced (a
 * deposed primary that did not hear of the new leader must not accept writes after resume).
 */
function pausedRole(state: NodeState): PostgresRole {
  const postgres = state.postgres;
  const writable = postgres !== null && postgres.status === "running" && !postgres.inRecovery;
  if (writable && !hasWriteAuthority(state) && !state.config.faults.pauseSkipsFencing) {
    return { kind: "fenced", reason: "cluster is paused, and this node has no write authority" };
  }
  // A standby that lost its leader still stops receiving WAL (not a role change): without
  // that no vote counts (election.ts), so a paused cluster that lost its leader could never
  // elect one, nor be resumed (found by the model's paused warm start).
  const detach = postgres !== null && postgres.status === "running" && postgres.inRecovery &&
    postgres.receivingWal && state.role !== "leader" && standbySource(state) === null;
  if (detach) return { kind: "standby", source: null };
  // Pause stops failover and lifecycle actions, not durability: a writable primary still
  // gets the synchronous names the log asks for (a return to quorum mode waits for them
  // before it commits, quorum_switch.ts; without this a paused cluster could never commit
  // it, nor the resume behind it).
  const names = synchronousStandbyNames(state);
  if (writable && state.role === "leader" && postgres.synchronousStandbyNames !== names) {
    return { kind: "primary", synchronousStandbyNames: names };
  }
  return { kind: "hold", reason: "cluster is paused (maintenance mode)" };
}

function leaderRole(state: NodeState): PostgresRole {
  const postgres = state.postgres!;
  if (postgres.status === "absent") {
    if (state.applied.keyValues[SYSTEM_IDENTIFIER_KEY] === undefined) return { kind: "initdb" };
    return { kind: "hold", reason: "this leader has no Postgres data; another member must lead" };
  }
  if (!hasWriteAuthority(state)) {
    if (postgres.inRecovery) return { kind: "standby", source: null };
    if (state.transfer !== null) {
      // TimeoutNow waits for the target to hold this server's WAL to its very end, which a
      // stopped server's position is (shutdown checkpoint included): see PostgresRole.
      return {
        kind: "fenced",
        reason: `leadership transfer to ${state.transfer.target}`,
        shutDown: true,
      };
    }
    return { kind: "fenced", reason: "no valid lease (waiting for a majority)" };
  }
  if (postgres.inRecovery && !postgres.replayCaughtUp) return { kind: "standby", source: null };
  if (postgres.status === "stopped" && !state.config.faults.restartWritable) {
    // Step (3) above: a stopped server starts as it cannot write (a standby, or a fenced
    // primary); only a later decision on the running server makes it writable.
    if (postgres.inRecovery) return { kind: "standby", source: null };
    return { kind: "fenced", reason: "start fenced first" };
  }
  return { kind: "primary", synchronousStandbyNames: synchronousStandbyNames(state) };
}
