/**
 * Canonical fingerprints of cluster model states, with node identities renamed for symmetry:
 * each node's core, disk, Postgres and grant (values hashed by {@link StructuralHasher}, model
 * node indexes renamed), the in-flight messages as a multiset, and the ghost variables.
 * Node fingerprints are cached per node object and renaming: a node a step did not touch
 * costs nothing.
 *
 * @module
 */
import type { ClusterModelState, ModelNode, PostgresModel } from "./cluster_types.ts";
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

/** Symmetry over a cluster model's nodes, and the fingerprints of single messages. */
export interface ClusterSymmetry extends NodeSymmetry<ClusterModelState> {
  /** Fingerprint of one message with node ids renamed by `rename`. */
  messageFingerprint(message: unknown, rename: readonly number[]): Fingerprint;
}

/** One symmetry per node-id list (its caches serve every model and action of those ids). */
const sharedSymmetries = new Map<string, ClusterSymmetry>();

/** The shared {@link ClusterSymmetry} of `nodeIds`. */
export function symmetryFor(nodeIds: readonly string[]): ClusterSymmetry {
  const key = nodeIds.join("\u0000");
  let symmetry = sharedSymmetries.get(key);
  if (symmetry === undefined) {
    symmetry = clusterSymmetry(nodeIds);
    sharedSymmetries.set(key, symmetry);
  }
  return symmetry;
}

/** Symmetry (and fingerprints) over the nodes of a cluster model state. */
export function clusterSymmetry(nodeIds: readonly string[]): ClusterSymmetry {
  const hasher = new StructuralHasher(nodeIds);
  const nodes = new NodeFingerprints(hasher);
  const signatureRenamings = new SignatureRenamings();
  return {
    nodeCount: (state) => state.nodes.length,
    signature: (state, node) => {
      // Erase identities: this node is 0, every other node is 1.
      const renaming = signatureRenamings.of(state.nodes.length, node);
      const ranks = promotionRanks(state);
      const own = state.nodes[node]!;
      return new FingerprintBuilder(TAG.node)
        .add(nodes.of(own, renaming.rename, renaming.key))
        .word(ranks.get(own.postgres.promotion) ?? -1)
        .finish();
    },
    quickSignature: (state, node) => quickSignature(state, node),
    messageFingerprint: (message, rename) => hasher.hash(message, rename, renamingKey(rename)),
    fingerprint: (state, rename) => stateFingerprint(nodes, state, rename),
  };
}

/** Raft roles as quick-signature words. */
const ROLE_WORDS: Readonly<Record<string, number>> = {
  follower: 1,
  "pre-candidate": 2,
  candidate: 3,
  leader: 4,
};

/**
 * A node's own fields that no renaming changes (no node id, only whether one is the node
 * itself): enough to tell the nodes of most states apart without hashing them under a
 * renaming each (symmetry.ts falls back to full signatures when two tie).
 */
function quickSignature(state: ClusterModelState, index: number): Fingerprint {
  const node = state.nodes[index]!;
  const builder = new FingerprintBuilder(TAG.node).word(node.clockLead);
  const core = node.core;
  if (core === null) builder.word(-1);
  else {
    const log = core.log;
    builder.word(ROLE_WORDS[core.role] ?? 0).word(core.term).word(core.commitIndex)
      .word(core.appliedIndex).word(log.length).word(log[log.length - 1]?.term ?? -1)
      .word(core.electionElapsedTicks).word(core.ticksSinceLeaderContact)
      .word(core.leaseRemainingTicks).word(core.observationAgeTicks)
      .word(core.votedFor === null ? 0 : core.votedFor === core.id ? 1 : 2)
      .word(core.leader === null ? 0 : core.leader === core.id ? 1 : 2);
  }
  const disk = node.disk;
  builder.word(disk.hardState.term).word(disk.entries.length);
  const postgres = node.postgres;
  const last = postgres.wal[postgres.wal.length - 1];
  builder.word(STATUS_CODES[postgres.status]).word(postgres.inRecovery ? 1 : 0)
    .word(postgres.fenced ? 1 : 0).word(postgres.wal.length).word(last?.timeline ?? -1)
    .word(last?.write ?? -1).word(postgres.source < 0 ? 0 : 1)
    .word(promotionRanks(state).get(postgres.promotion) ?? -1);
  return builder.word(node.grant === null ? -1 : node.grant.term).finish();
}

/** The signature renamings (node `node` is 0, every other node 1) and their keys, made once. */
class SignatureRenamings {
  readonly #byCount: { rename: number[]; key: number }[][] = [];

  of(count: number, node: number): { readonly rename: readonly number[]; readonly key: number } {
    let renamings = this.#byCount[count];
    if (renamings === undefined) {
      renamings = Array.from({ length: count }, (_, own) => {
        const rename = Array.from({ length: count }, (_, index) => index === own ? 0 : 1);
        return { rename, key: renamingKey(rename) };
      });
      this.#byCount[count] = renamings;
    }
    return renamings[node]!;
  }
}

/** Marks the cannot-start fault in a fingerprint (no status, index or count takes it). */
const CANNOT_START_WORD = 0x5ca7_0001;
/** Marks the unreadable fault in a fingerprint (likewise a word nothing else takes). */
const UNREADABLE_WORD = 0x5ca7_0002;

/** Postgres statuses as hashed (the first three as before absent data was modelled). */
const STATUS_CODES: Readonly<Record<PostgresModel["status"], number>> = {
  stopped: 0,
  running: 1,
  starting: 2,
  absent: 3,
  cloning: 4,
};

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
  builder.word(node.clockLead).word(STATUS_CODES[postgres.status]).word(postgres.inRecovery ? 1 : 0)
    .word(postgres.fenced ? 1 : 0);
  // Hashed only when set: runs without replay lag keep their fingerprints.
  if (postgres.replayBehind) builder.word(1);
  // Hashed only when set, as a word no other field here takes (runs without it keep theirs).
  if (postgres.cannotStart === true) builder.word(CANNOT_START_WORD);
  if (postgres.unreadable === true) builder.word(UNREADABLE_WORD);
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

/** The (term, node) pairs of a ghost election record, kept per record object (never mutated). */
function electedPairs(elected: ClusterModelState["elected"]): readonly [number, number][] {
  let pairs = electedCache.get(elected);
  if (pairs === undefined) {
    pairs = Object.entries(elected).map(([term, node]) => [Number(term), node]);
    electedCache.set(elected, pairs);
  }
  return pairs;
}

const electedCache = new WeakMap<object, readonly [number, number][]>();

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
  const elected = electedPairs(state.elected).map(([term, node]) =>
    term * 16 + (rename[node] ?? 15)
  ).sort((a, b) => a - b);
  builder.word(elected.length);
  for (const entry of elected) builder.word(entry);
  builder.word(state.proposals).word(state.committed.length);
  for (const entry of state.committed) {
    builder.word(entry.index).word(entry.term).word(entry.knownInTerm);
  }
  hasher.feed(builder, state.electionClash, rename, key);
  hasher.feed(builder, state.coreFailure, rename, key);
  hasher.feed(builder, state.transientViolation, rename, key);
  // Hashed only when set: states of runs without these faults keep their fingerprints.
  if (state.failedRewinds > 0 || state.unreplayedRecords > 0) {
    builder.word(state.failedRewinds).word(state.unreplayedRecords);
  }
  // Hashed only when set: states of runs that never install a snapshot keep their fingerprints.
  if (state.snapshotInstalled) builder.word(1);
  // Likewise for the cannot-start fault, behind its own word.
  if (state.postgresStartFailures > 0) {
    builder.word(CANNOT_START_WORD).word(state.postgresStartFailures);
  }
  return builder.finish();
}
