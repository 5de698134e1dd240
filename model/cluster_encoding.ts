/**
 * Canonical fingerprints of cluster model states, with node identities renamed for symmetry.
 *
 * Values are hashed structurally (no strings are built): node ids hash as their renamed
 * index; id-keyed collections (membership lists, vote and progress maps, the names in
 * synchronous_standby_names) hash as unordered sets (sorted element fingerprints), which is
 * what hashing the renamed value would give, since the core keeps those sorted or keyed.
 * Object keys are hashed in sorted order. Each object's fingerprint is cached with the
 * renaming it was computed for (or for all renamings when it holds no node id): a step
 * shares every unchanged object with its parent, so mostly only the changed parts are hashed.
 *
 * Left out, because no behaviour depends on them: the configuration (one object shared by
 * all nodes) and the free-text `reason` of vote answers.
 *
 * @module
 */
import type { ClusterModelState, ModelNode } from "./cluster_types.ts";
import type { NodeSymmetry } from "./symmetry.ts";
import {
  compareFingerprints,
  type Fingerprint,
  FingerprintBuilder,
  fingerprintOf,
} from "./fingerprint.ts";

const SKIPPED_KEYS = new Set(["config", "reason"]);

/** Tags keep values of different kinds with equal contents apart. */
const TAG = {
  null: 1,
  false: 2,
  true: 3,
  number: 4,
  string: 5,
  id: 6,
  idSet: 7,
  array: 8,
  object: 9,
  idMap: 10,
  entry: 11,
  sync: 12,
  node: 13,
  state: 14,
  undefined: 15,
} as const;

interface CachedFingerprint {
  readonly fingerprint: Fingerprint;
  /** Null when the value holds no node id (valid for every renaming). */
  readonly renaming: string | null;
}

/** Hashes values with node ids renamed; one instance per node-id list (per model). */
export class StructuralHasher {
  readonly #index: ReadonlyMap<string, number>;
  readonly #cache = new WeakMap<object, CachedFingerprint>();
  readonly #strings = new Map<string, Fingerprint>();
  readonly #sortedKeys = new Map<string, string[]>();
  /** Set while hashing when a node id was met (the value depends on the renaming). */
  #sawId = false;

  constructor(nodeIds: readonly string[]) {
    this.#index = new Map(nodeIds.map((id, index) => [id, index]));
  }

  /** Fingerprint of `value` with ids renamed by `rename` (`key` names the renaming). */
  hash(value: unknown, rename: readonly number[], key: string): Fingerprint {
    const builder = new FingerprintBuilder(0);
    this.feed(builder, value, rename, key);
    return builder.finish();
  }

  /** Adds `value` to `builder`. */
  feed(builder: FingerprintBuilder, value: unknown, rename: readonly number[], key: string): void {
    if (value === null) builder.word(TAG.null);
    else if (value === undefined) builder.word(TAG.undefined);
    else if (typeof value === "boolean") builder.word(value ? TAG.true : TAG.false);
    else if (typeof value === "number") {
      builder.word(TAG.number).word(value).word(Math.floor(value / 2 ** 32));
    } else if (typeof value === "string") this.#feedString(builder, value, rename, key);
    else if (typeof value === "object") builder.add(this.#object(value, rename, key));
    else throw new Error(`model hashing: unexpected ${typeof value}`);
  }

  #feedString(
    builder: FingerprintBuilder,
    value: string,
    rename: readonly number[],
    key: string,
  ): void {
    const node = this.#index.get(value);
    if (node !== undefined) {
      this.#sawId = true;
      builder.word(TAG.id).word(rename[node] ?? -1);
      return;
    }
    const match = value.startsWith("ANY ") ? /^ANY (\d+) \((.*)\)$/.exec(value) : null;
    if (match !== null) {
      const names = (match[2] ?? "").split(",").map((name) =>
        name.trim().replace(/^"(.*)"$/, "$1")
      );
      builder.word(TAG.sync).word(Number(match[1]));
      this.#feedIdSet(builder, names, rename, key);
      return;
    }
    builder.word(TAG.string).add(this.#string(value));
  }

  #string(value: string): Fingerprint {
    let fingerprint = this.#strings.get(value);
    if (fingerprint === undefined) {
      fingerprint = fingerprintOf(value);
      this.#strings.set(value, fingerprint);
    }
    return fingerprint;
  }

  /** A set of ids: renamed indexes, sorted. */
  #feedIdSet(
    builder: FingerprintBuilder,
    ids: readonly string[],
    rename: readonly number[],
    key: string,
  ): void {
    const renamed = ids.map((id) => {
      const node = this.#index.get(id);
      if (node === undefined) return -1 - this.#string(id).low; // not a node id: keep it distinct
      this.#sawId = true;
      return rename[node] ?? -1;
    }).sort((a, b) => a - b);
    builder.word(TAG.idSet).word(renamed.length);
    for (const node of renamed) builder.word(node);
    void key;
  }

  #object(value: object, rename: readonly number[], key: string): Fingerprint {
    const cached = this.#cache.get(value);
    if (cached !== undefined && (cached.renaming === null || cached.renaming === key)) {
      if (cached.renaming !== null) this.#sawId = true;
      return cached.fingerprint;
    }
    const outerSawId = this.#sawId;
    this.#sawId = false;
    const fingerprint = Array.isArray(value)
      ? this.#array(value, rename, key)
      : this.#record(value as Record<string, unknown>, rename, key);
    const holdsIds = this.#sawId;
    this.#sawId = outerSawId || holdsIds;
    this.#cache.set(value, { fingerprint, renaming: holdsIds ? key : null });
    return fingerprint;
  }

  #array(values: readonly unknown[], rename: readonly number[], key: string): Fingerprint {
    const builder = new FingerprintBuilder(TAG.array);
    const isIdSet = values.length > 0 &&
      values.every((item) => typeof item === "string" && this.#index.has(item));
    if (isIdSet) this.#feedIdSet(builder, values as string[], rename, key);
    else {
      builder.word(values.length);
      for (const item of values) this.feed(builder, item, rename, key);
    }
    return builder.finish();
  }

  #record(value: Record<string, unknown>, rename: readonly number[], key: string): Fingerprint {
    const keys = this.#keysOf(value);
    const keyedById = keys.length > 0 && keys.every((name) => this.#index.has(name));
    if (!keyedById) {
      const builder = new FingerprintBuilder(TAG.object);
      for (const name of keys) {
        if (value[name] === undefined) continue;
        builder.add(this.#string(name));
        this.feed(builder, value[name], rename, key);
      }
      return builder.finish();
    }
    this.#sawId = true;
    const entries = keys.map((name) => {
      const entry = new FingerprintBuilder(TAG.entry).word(rename[this.#index.get(name)!] ?? -1);
      this.feed(entry, value[name], rename, key);
      return entry.finish();
    }).sort(compareFingerprints);
    const builder = new FingerprintBuilder(TAG.idMap).word(entries.length);
    for (const entry of entries) builder.add(entry);
    return builder.finish();
  }

  /** Keys in sorted order, without the skipped ones (cached per key set). */
  #keysOf(value: Record<string, unknown>): string[] {
    const raw = Object.keys(value);
    const shape = raw.join("\u0000");
    let sorted = this.#sortedKeys.get(shape);
    if (sorted === undefined) {
      sorted = raw.filter((name) => !SKIPPED_KEYS.has(name)).sort();
      this.#sortedKeys.set(shape, sorted);
    }
    return sorted;
  }
}

/** Symmetry (and fingerprints) over the nodes of a cluster model state. */
export function clusterSymmetry(nodeIds: readonly string[]): NodeSymmetry<ClusterModelState> {
  const hasher = new StructuralHasher(nodeIds);
  return {
    nodeCount: (state) => state.nodes.length,
    signature: (state, node) => {
      // Erase identities: this node is 0, every other node is 1.
      const rename = state.nodes.map((_, index) => index === node ? 0 : 1);
      const ranks = promotionRanks(state);
      const own = state.nodes[node]!;
      return new FingerprintBuilder(TAG.node)
        .add(nodeFingerprint(hasher, own, rename, `s${node}`))
        .word(ranks.get(own.postgres.promotion) ?? -1)
        .finish();
    },
    fingerprint: (state, rename) => stateFingerprint(hasher, state, rename),
  };
}

/** One node: core, disk, clock lead, Postgres, grant; node indexes held by the model renamed. */
function nodeFingerprint(
  hasher: StructuralHasher,
  node: ModelNode,
  rename: readonly number[],
  key: string,
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
  const values = new Set<number>([0, state.latestPromotion]);
  for (const node of state.nodes) values.add(node.postgres.promotion);
  for (const acked of state.acked) values.add(acked.promotion);
  return new Map([...values].sort((a, b) => a - b).map((value, rank) => [value, rank]));
}

/** The fingerprint of `state` under `rename` (old index -> new index). */
function stateFingerprint(
  hasher: StructuralHasher,
  state: ClusterModelState,
  rename: readonly number[],
): Fingerprint {
  const key = rename.join(",");
  const ranks = promotionRanks(state);
  const ordered = new Array<Fingerprint>(state.nodes.length);
  state.nodes.forEach((node, old) => {
    ordered[rename[old]!] = new FingerprintBuilder(TAG.node)
      .add(nodeFingerprint(hasher, node, rename, key))
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
