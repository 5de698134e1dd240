/**
 * Membership changes, computed on a copy and validated before they are proposed: one
 * voter added or removed at a time, so that every majority of the old configuration
 * intersects every majority of the new one.
 *
 * @module
 */
import type { Membership, NodeId } from "./types.ts";

/** Most members a cluster may have (voters plus learners). */
export const MAX_MEMBERS = 9;

/** True when `node` is a voter. */
export function isVoter(membership: Membership, node: NodeId): boolean {
  return membership.voters.includes(node);
}

/** True when `node` is a voter or a learner. */
export function isMember(membership: Membership, node: NodeId): boolean {
  return membership.voters.includes(node) || membership.learners.includes(node);
}

/** Every member other than `self`, voters first. */
export function peersOf(membership: Membership, self: NodeId): NodeId[] {
  return [...membership.voters, ...membership.learners].filter((node) => node !== self);
}

/** A change validated against the current membership: the new membership or an error. */
export type MembershipChange = { ok: true; membership: Membership } | { ok: false; error: string };

/** Adds `node` as a learner (a non-voting member that replicates). */
export function addLearner(current: Membership, node: NodeId): MembershipChange {
  if (isMember(current, node)) return { ok: false, error: `${node} is already a member` };
  if (current.voters.length + current.learners.length >= MAX_MEMBERS) {
    return {
      ok: false,
      error: `the cluster already has ${MAX_MEMBERS} members, the most hactl supports`,
    };
  }
  return {
    ok: true,
    membership: { voters: current.voters, learners: sorted([...current.learners, node]) },
  };
}

/** Turns learner `node` into a voter. */
export function promoteLearner(current: Membership, node: NodeId): MembershipChange {
  if (!current.learners.includes(node)) return { ok: false, error: `${node} is not a learner` };
  return {
    ok: true,
    membership: {
      voters: sorted([...current.voters, node]),
      learners: current.learners.filter((member) => member !== node),
    },
  };
}

/** Removes `node`, voter or learner; the last voter cannot be removed. */
export function removeMember(current: Membership, node: NodeId): MembershipChange {
  if (!isMember(current, node)) return { ok: false, error: `${node} is not a member` };
  if (current.voters.length === 1 && current.voters[0] === node) {
    return { ok: false, error: `${node} is the last voter; a cluster needs at least one` };
  }
  return {
    ok: true,
    membership: {
      voters: current.voters.filter((member) => member !== node),
      learners: current.learners.filter((member) => member !== node),
    },
  };
}

/** True when two memberships list the same voters and learners. */
export function sameMembership(a: Membership, b: Membership): boolean {
  return a.voters.join(",") === b.voters.join(",") && a.learners.join(",") === b.learners.join(",");
}

function sorted(nodes: NodeId[]): NodeId[] {
  return [...nodes].sort();
}
