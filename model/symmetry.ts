/**
 * Symmetry reduction over node identities: two states that differ only by a renaming of
 * the nodes (in node states, in-flight messages, everything) get the same canonical
 * fingerprint, so the explorer visits one of them.
 *
 * The canonical fingerprint is the smallest fingerprint over the renamings that sort nodes
 * by a rename-invariant signature. Signatures are invariant, so a state and any renaming of
 * it sort into the same signature sequence and try the same set of renamed states: the
 * minimum is the same. Only nodes with equal signatures need their orders tried, which is
 * one order for most states and N! only for fully symmetric ones.
 *
 * @module
 */
import { compareFingerprints, type Fingerprint } from "./fingerprint.ts";

/** How a model exposes node identities to symmetry reduction. */
export interface NodeSymmetry<State> {
  /** Number of interchangeable nodes in `state`. */
  nodeCount(state: State): number;
  /** Node `node`'s local state with other identities erased (must not change under renaming). */
  signature(state: State, node: number): Fingerprint;
  /**
   * A cheaper rename-invariant summary of node `node` (a few of its own fields, no identity),
   * used instead of {@link signature} when given: nodes that tie on it have their orders
   * tried, so it must only be invariant, not complete.
   */
  quickSignature?(state: State, node: number): Fingerprint;
  /** Fingerprint of the whole state with node ids renamed: node `old` becomes node `rename[old]`. */
  fingerprint(state: State, rename: readonly number[]): Fingerprint;
}

/** At most this many renamings are tried for one state (5! covers a fully symmetric N=5). */
const MAX_RENAMINGS = 120;

/** The fingerprint of `state`, canonical over renamings when `enabled`. */
export function canonicalFingerprint<State>(
  symmetry: NodeSymmetry<State>,
  state: State,
  enabled: boolean,
): Fingerprint {
  const count = symmetry.nodeCount(state);
  if (!enabled) return symmetry.fingerprint(state, identityOf(count));
  const form = canonicalForm(symmetry, state);
  return form.fingerprint ?? symmetry.fingerprint(state, form.rename);
}

/**
 * The canonical renaming of `state` (old index -> new index): renamed states get renamings
 * that put the same nodes in the same places (up to the state's own symmetries), so a model
 * that orders its work by it treats them alike. Cheap when signatures do not tie (no
 * fingerprint is computed then).
 */
export function canonicalRenaming<State>(
  symmetry: NodeSymmetry<State>,
  state: State,
): readonly number[] {
  return canonicalForm(symmetry, state).rename;
}

/**
 * The canonical renaming of `state` and, when ties made it compute them, its fingerprint
 * under it (null: not computed).
 */
function canonicalForm<State>(
  symmetry: NodeSymmetry<State>,
  state: State,
): { fingerprint: Fingerprint | null; rename: readonly number[] } {
  const count = symmetry.nodeCount(state);
  // Called for every transition: plain loops, no closures or intermediate arrays.
  // Nodes sorted by their quick signatures when the model has them (a few own fields: they
  // tell apart nearly every pair the full ones do), else by full signatures.
  let signatures = quickSignatures(symmetry, state, count);
  if (signatures === null) {
    signatures = new Array<Fingerprint>(count);
    for (let node = 0; node < count; node++) signatures[node] = symmetry.signature(state, node);
  }
  const sorted = sortedBySignature(signatures);
  const tied = hasTies(sorted, signatures);
  if (!tied) {
    // No ties (most states): the sorted order is the only renaming to try.
    const rename = new Array<number>(count);
    for (let position = 0; position < count; position++) rename[sorted[position]!] = position;
    return { fingerprint: null, rename };
  }
  const groups = tieGroups(sorted, signatures);
  let best: { fingerprint: Fingerprint; rename: readonly number[] } | null = null;
  let tried = 0;
  for (const order of orderings(groups)) {
    if (++tried > MAX_RENAMINGS) {
      throw new Error(`symmetry: more than ${MAX_RENAMINGS} renamings for one state`);
    }
    const rename = new Array<number>(count);
    order.forEach((old, position) => rename[old] = position);
    const fingerprint = symmetry.fingerprint(state, rename);
    if (best === null || compareFingerprints(fingerprint, best.fingerprint) < 0) {
      best = { fingerprint, rename };
    }
  }
  const identity = identityOf(count);
  return best ?? { fingerprint: symmetry.fingerprint(state, identity), rename: identity };
}

/** The quick signatures of every node, or null when the model has none. */
function quickSignatures<State>(
  symmetry: NodeSymmetry<State>,
  state: State,
  count: number,
): Fingerprint[] | null {
  if (symmetry.quickSignature === undefined) return null;
  const signatures = new Array<Fingerprint>(count);
  for (let node = 0; node < count; node++) signatures[node] = symmetry.quickSignature(state, node);
  return signatures;
}

/** True when two neighbours of the sorted order have equal signatures. */
function hasTies(sorted: readonly number[], signatures: readonly Fingerprint[]): boolean {
  for (let position = 1; position < sorted.length; position++) {
    if (
      compareFingerprints(signatures[sorted[position - 1]!]!, signatures[sorted[position]!]!) === 0
    ) {
      return true;
    }
  }
  return false;
}

/** Identity renamings by node count (shared, never mutated). */
const IDENTITIES: number[][] = [];

function identityOf(count: number): readonly number[] {
  let identity = IDENTITIES[count];
  if (identity === undefined) {
    identity = Array.from({ length: count }, (_, index) => index);
    IDENTITIES[count] = identity;
  }
  return identity;
}

/** Node indexes ordered by signature (insertion sort, stable: N is at most a handful). */
function sortedBySignature(signatures: readonly Fingerprint[]): number[] {
  const sorted = new Array<number>(signatures.length);
  for (let node = 0; node < signatures.length; node++) {
    let slot = node;
    while (slot > 0 && compareFingerprints(signatures[sorted[slot - 1]!]!, signatures[node]!) > 0) {
      sorted[slot] = sorted[slot - 1]!;
      slot--;
    }
    sorted[slot] = node;
  }
  return sorted;
}

/** Every ordering of `count` nodes (order[new position] = old index). */
export function allRenamings(count: number): number[][] {
  return orderings([Array.from({ length: count }, (_, index) => index)]);
}

/** Splits the sorted node list into runs of equal signature. */
function tieGroups(sorted: readonly number[], signatures: readonly Fingerprint[]): number[][] {
  const groups: number[][] = [];
  for (const node of sorted) {
    const last = groups[groups.length - 1];
    if (last !== undefined && compareFingerprints(signatures[last[0]!]!, signatures[node]!) === 0) {
      last.push(node);
    } else groups.push([node]);
  }
  return groups;
}

/** All concatenations of one permutation of each group, in group order. */
function orderings(groups: readonly number[][]): number[][] {
  let partial: number[][] = [[]];
  for (const group of groups) {
    const next: number[][] = [];
    for (const prefix of partial) {
      for (const permutation of permutations(group)) next.push([...prefix, ...permutation]);
    }
    partial = next;
  }
  return partial;
}

/** Heap's algorithm, iterative (no recursion), over a small group. */
function permutations(items: readonly number[]): number[][] {
  const current = [...items];
  const result = [[...current]];
  const counters = new Array<number>(current.length).fill(0);
  let index = 1;
  while (index < current.length) {
    const counter = counters[index] ?? 0;
    if (counter < index) {
      const swapWith = index % 2 === 0 ? 0 : counter;
      [current[swapWith], current[index]] = [current[index] ?? 0, current[swapWith] ?? 0];
      result.push([...current]);
      counters[index] = counter + 1;
      index = 1;
    } else {
      counters[index] = 0;
      index++;
    }
  }
  return result;
}
