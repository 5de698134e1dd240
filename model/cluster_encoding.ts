/**
 * Canonical fingerprints of cluster model states, with node identities renamed for symmetry:
 * each node's core, disk, Postgres and grant (values hashed by {@link StructuralHasher}, model
 * node indexes renamed), the in-flight messages as a multiset, and the ghost variables.
 * Node fingerprints are cached per node object and renaming: a node a step did not touch
 * costs nothing.
 *
 * @module
 */
import type { ClusterModelState, ModelNode } from "./cluster_types.ts";
import type { NodeSymmetry } from "./symmetry.ts";
import { compareFingerprints, type Fingerprint, FingerprintBuilder } from "./fingerprint.ts";
import { renamingKey, StructuralHasher } from "./structural_hasher.ts";

/** Tags of the values hashed here (the hasher uses 1..15 for plain values). */
const TAG = {
  node: 13,
  state: 14,
} as const;

/** Node fingerprints cached per node object (nodes are never mutated) and renaming. */
class NodeFingerprints {
  readonly #cache = new WeakMap<ModelNode, number[]>();

  constructor(readonly hasher: StructuralHasher) {}

  /** {@link nodeFingerprint} of `node` under `rename` (`key`: its {@link renamingKey}). */
  of(node: ModelNode, rename: readonly number[], key: number): Fingerprint {
    let cached = this.#cache.get(node);
    if (cached !== undefined) {
      for (let slot = 0; slot < cached.length; slot += 3) {
        if (cached[slot] === key) return { high: cached[slot + 1]!, low: cached[slot + 2]! };
      }
    } else {
      cached = [];
      this.#cache.set(node, cached);
    }
    const fingerprint = nodeFingerprint(this.hasher, node, rename, key);
    if (cached.length >= MAX_CACHED_NODE_RENAMINGS * 3) cached.splice(0, 3);
    cached.push(key, fingerprint.high, fingerprint.low);
    return fingerprint;
  }
}

/** Renamings whose node fingerprint is kept per node object (N signatures and a few orders). */
const MAX_CACHED_NODE_RENAMINGS = 8;

/** Symmetry (and fingerprints) over the nodes of a cluster model state. */
export function clusterSymmetry(nodeIds: readonly string[]): NodeSymmetry<ClusterModelState> {
  const hasher = new StructuralHasher(nodeIds);
  const nodes = new NodeFingerprints(hasher);
  return {
    nodeCount: (state) => state.nodes.length,
    signature: (state, node) => {
      // Erase identities: this node is 0, every other node is 1.
      const rename = state.nodes.map((_, index) => index === node ? 0 : 1);
      const ranks = promotionRanks(state);
      const own = state.nodes[node]!;
      return new FingerprintBuilder(TAG.node)
        .add(nodes.of(own, rename, renamingKey(rename)))
        .word(ranks.get(own.postgres.promotion) ?? -1)
        .finish();
    },
    fingerprint: (state, rename) => stateFingerprint(nodes, state, rename),
  };
}

/** One node: core, disk, clock lead, Postgres, grant; node indexes held by the model renamed. */
function nodeFingerprint(
  hasher: StructuralHasher,
  node: ModelNode,
  rename: readonly number[],
  key: number,
): Fingerprint {
  const builder = new FingerprintBuilder(TAG.node);
  hasher.feed(builder, node.core, rename, key);
  hasher.feed(builder, node.disk, rename, key);
  const postgres = node.postgres;
  const status = postgres.status === "running" ? 1 : postgres.status === "starting" ? 2 : 0;
  builder.word(node.clockLead).word(status).word(postgres.inRecovery ? 1 : 0)
    .word(postgres.fenced ? 1 : 0);
  builder.word(postgres.source < 0 ? -1 : rename[postgres.source] ?? -1);
  hasher.feed(builder, postgres.synchronousStandbyNames, rename, key);
  hasher.feed(builder, postgres.wal, rename, key);
  const grant = node.grant;
  if (grant === null) builder.word(-1);
  else {
    builder.word(grant.term).word(rename[grant.candidate] ?? -1);
    hasher.feed(builder, grant.wal, rename, key);
  }
  return builder.finish();
}

/**
 * Promotion sequence numbers only matter by their order (S2 compares them), so they are
 * hashed as ranks: states that differ only in how many promotions happened before merge.
 */
function promotionRanks(state: ClusterModelState): Map<number, number> {
  // One state is asked for N signatures and one or more renamings in a row.
  if (state === lastRanked.state) return lastRanked.ranks;
  const ranks = computePromotionRanks(state);
  lastRanked = { state, ranks };
  return ranks;
}

/** The state whose promotion ranks were computed last (a state is never mutated). */
let lastRanked: { state: ClusterModelState | null; ranks: Map<number, number> } = {
  state: null,
  ranks: new Map(),
};

function computePromotionRanks(state: ClusterModelState): Map<number, number> {
  const values = new Set<number>([0, state.latestPromotion]);
  for (const node of state.nodes) values.add(node.postgres.promotion);
  for (const acked of state.acked) values.add(acked.promotion);
  return new Map([...values].sort((a, b) => a - b).map((value, rank) => [value, rank]));
}

/** The fingerprint of `state` under `rename` (old index -> new index). */
function stateFingerprint(
  nodes: NodeFingerprints,
  state: ClusterModelState,
  rename: readonly number[],
): Fingerprint {
  const key = renamingKey(rename);
  const hasher = nodes.hasher;
  const ranks = promotionRanks(state);
  const ordered = new Array<Fingerprint>(state.nodes.length);
  state.nodes.forEach((node, old) => {
    ordered[rename[old]!] = new FingerprintBuilder(TAG.node)
      .add(nodes.of(node, rename, key))
      .word(ranks.get(node.postgres.promotion) ?? -1)
      .finish();
  });
  const builder = new FingerprintBuilder(TAG.state);
  for (const node of ordered) builder.add(node);
  const messages = state.messages.map((message) => hasher.hash(message, rename, key)).sort(
    compareFingerprints,
  );
  builder.word(messages.length);
  for (const message of messages) builder.add(message);
  builder.word(state.writesIssued).word(state.crashes).word(state.duplicates).word(
    state.membershipChanges,
  ).word(state.operatorRequests).word(state.postgresCrashes);
  builder.word(ranks.get(state.latestPromotion) ?? -1);
  const pending = state.pending.map((write) => write.write * 16 + (rename[write.node] ?? 15)).sort((
    a,
    b,
  ) => a - b);
  builder.word(pending.length);
  for (const write of pending) builder.word(write);
  const acked = state.acked.map((write) =>
    (write.write * 64 + (ranks.get(write.promotion) ?? 0)) * 4 + (write.afterNewerPrimary ? 1 : 0) +
    (write.durable ? 2 : 0)
  ).sort((a, b) => a - b);
  builder.word(acked.length);
  for (const write of acked) builder.word(write);
  const elected = Object.entries(state.elected).map(([term, node]) =>
    Number(term) * 16 + (rename[node] ?? 15)
  )
    .sort((a, b) => a - b);
  builder.word(elected.length);
  for (const entry of elected) builder.word(entry);
  builder.word(state.proposals).word(state.committed.length);
  for (const entry of state.committed) {
    builder.word(entry.index).word(entry.term).word(entry.knownInTerm);
  }
  hasher.feed(builder, state.electionClash, rename, key);
  hasher.feed(builder, state.coreFailure, rename, key);
  hasher.feed(builder, state.transientViolation, rename, key);
  return builder.finish();
}
