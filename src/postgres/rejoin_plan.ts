/**
 * Deciding how a node rejoins a source (the new primary) by comparing timeline histories:
 * follow as it is, pg_rewind, or clone afresh because pg_rewind cannot help.
 *
 * pg_rewind finds the last timeline both histories share and rewinds only when the target's
 * WAL, as its control file sees it (last checkpoint or minimum recovery point), ends after
 * the fork. Two cases it gets wrong, both seen in issue 9 (#7): a standby that had RECEIVED
 * WAL past the fork without replaying it ("no rewind required", then every start fails on
 * that WAL), and two timelines with the same id but different histories ("same timeline",
 * nothing done, a standby that cannot follow). Positions here are true ends of WAL (received
 * WAL included, see timeline_history.ts), so the comparison sees both.
 *
 * @module
 */

import type { TimelineSwitch, WalPosition } from "../core/types.ts";
import { formatLsn } from "./lsn.ts";

/** What a node must do to stream from a source. */
export type RejoinPlan =
  /** The node's WAL is a prefix of the source's history: it can stream as it is. */
  | { readonly kind: "follow" }
  /** The node holds WAL past its fork from the source's history at `forkLsn`: pg_rewind. */
  | { readonly kind: "rewind"; readonly forkLsn: number; readonly reason: string }
  /** pg_rewind cannot make this node follow the source: clone it afresh. */
  | { readonly kind: "clone"; readonly reason: string };

/** Where `timeline` ends in `position`'s history: its switch point, Infinity for its own. */
function endOf(position: WalPosition, timeline: number): number | null {
  if (timeline === position.timeline) return Infinity;
  return position.history.find((entry) => entry.timeline === timeline)?.endLsn ?? null;
}

function sameHistory(a: readonly TimelineSwitch[], b: readonly TimelineSwitch[]): boolean {
  return a.length === b.length &&
    a.every((entry, index) =>
      entry.timeline === b[index]!.timeline && entry.endLsn === b[index]!.endLsn
    );
}

function describe(position: WalPosition): string {
  return `timeline ${position.timeline} at ${formatLsn(position.lsn)}`;
}

/**
 * The timelines `local` and `source` share, oldest first, as pg_rewind counts them: equal
 * ids on both histories in the same order, every earlier one ending at the same LSN.
 */
function sharedTimelines(local: WalPosition, source: WalPosition): number[] {
  const localIds = [...local.history.map((entry) => entry.timeline), local.timeline];
  const sourceIds = [...source.history.map((entry) => entry.timeline), source.timeline];
  const shared: number[] = [];
  for (let index = 0; index < Math.min(localIds.length, sourceIds.length); index++) {
    if (localIds[index] !== sourceIds[index]) break;
    shared.push(localIds[index]!);
    const localEnd = endOf(local, localIds[index]!);
    if (localEnd !== endOf(source, sourceIds[index]!)) break;
  }
  return shared;
}

/** Decides how the node at `local` rejoins the source at `source` (see the module doc). */
export function planRejoin(local: WalPosition, source: WalPosition): RejoinPlan {
  if (local.timeline === source.timeline) {
    if (!sameHistory(local.history, source.history)) {
      return {
        kind: "clone",
        reason: `both are on timeline ${local.timeline} but their histories differ ` +
          `(${JSON.stringify(local.history)} here, ${JSON.stringify(source.history)} on the ` +
          `source); pg_rewind would see nothing to do`,
      };
    }
    if (local.lsn <= source.lsn) return { kind: "follow" };
    return {
      kind: "clone",
      reason: `this node (${describe(local)}) is ahead of the source (${describe(source)}) on ` +
        `the same timeline; pg_rewind would see nothing to do`,
    };
  }
  const shared = sharedTimelines(local, source);
  const last = shared.at(-1);
  if (last === undefined) {
    return {
      kind: "clone",
      reason: `this node (${describe(local)}) and the source (${describe(source)}) share no ` +
        `timeline`,
    };
  }
  const forkLsn = Math.min(endOf(local, last)!, endOf(source, last)!);
  if (last === local.timeline && local.lsn <= forkLsn) return { kind: "follow" };
  return {
    kind: "rewind",
    forkLsn,
    reason: `this node holds WAL to ${describe(local)}, past the fork from the source's ` +
      `history on timeline ${last} at ${formatLsn(forkLsn)}`,
  };
}

const STRENGTH = { follow: 0, rewind: 1, clone: 2 } as const;

/**
 * The plan for a node described by several positions that must all be on the source's history
 * (its end of WAL, and the point its data files reached): the most drastic of their plans.
 */
export function planRejoinAll(locals: readonly WalPosition[], source: WalPosition): RejoinPlan {
  let chosen: RejoinPlan = { kind: "follow" };
  for (const local of locals) {
    const plan = planRejoin(local, source);
    if (STRENGTH[plan.kind] > STRENGTH[chosen.kind]) chosen = plan;
  }
  return chosen;
}
