/**
 * Structural 64-bit hashing of plain model values with node ids renamed (for symmetry),
 * without building strings and without allocating per field: every value hashes to two
 * 32-bit lanes returned through two fields of the hasher.
 *
 * - Node ids (strings naming a node) hash as their renamed index; arrays made only of node
 *   ids, and the names in `ANY k (...)`, hash as sets (sorted renamed indexes), which is
 *   what hashing the renamed value would give since the core keeps those sorted.
 * - A record hashes as the lane-wise sum of its mixed (key, value) entries, so key order does
 *   not matter and no key list is built or sorted; a record keyed by node ids (vote and
 *   progress maps) is the same sum with the keys renamed: an unordered set of entries.
 * - Left out, because no behaviour depends on them: `config` (one object shared by all
 *   nodes) and the free-text `reason` of vote answers; fields holding `undefined`.
 *
 * Caching: an object whose hashing visited at least {@link MIN_CACHED_WORK} values keeps its
 * fingerprint in a WeakMap, once for every renaming when it holds no node id, else per
 * renaming (the last {@link MAX_CACHED_RENAMINGS}); a record that holds node ids also keeps
 * the sum of its id-free entries, so another renaming only visits the entries with ids.
 * A step shares every unchanged object with its parent and siblings, so mostly only the
 * changed parts are hashed.
 *
 * @module
 */
import {
  avalanche,
  type Fingerprint,
  type FingerprintBuilder,
  fingerprintOf,
} from "./fingerprint.ts";

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
  sync: 12,
  undefined: 15,
} as const;

/**
 * Objects whose hashing visited fewer values (fields, items, nested) than this are not
 * cached: setting a WeakMap entry costs more than hashing a few fields again.
 */
const MIN_CACHED_WORK = 8;
/** Renaming key of a value whose fingerprint does not depend on the renaming. */
const ANY_RENAMING = -1;
/** Renamings cached per object: the N signature renamings and a few canonical orders. */
const MAX_CACHED_RENAMINGS = 8;

/**
 * What is cached for one object: its fingerprints as flat triples (renaming key, high, low;
 * key {@link ANY_RENAMING}: valid for every renaming) and, for a record holding node ids,
 * its entries split by whether they hold one (see `#record`). One WeakMap entry holds both.
 */
interface CachedObject {
  readonly fingerprints: number[];
  parts: RecordParts | null;
}

/** A string as hashing sees it. */
interface StringInfo {
  /** Index of the node it names, or -1. */
  readonly node: number;
  /** Its text's fingerprint. */
  readonly high: number;
  readonly low: number;
  /** Parsed when it is a `synchronous_standby_names` value `ANY k (...)`. */
  readonly rule: { readonly count: number; readonly names: readonly string[] } | null;
}

/** A record's entries split by whether they hold a node id (see `#record`). */
interface RecordParts {
  /** Lane sums of the entries that hold no node id. */
  readonly high: number;
  readonly low: number;
  /** Entries hashed (undefined values and skipped keys left out). */
  readonly count: number;
  /** Every key is a node id (a map keyed by node). */
  readonly keyedById: boolean;
  /** Keys whose entry holds a node id: hashed again for each renaming. */
  readonly idEntries: readonly string[];
  /** What hashing knows of each of those keys (same order), so they are not looked up again. */
  readonly idEntryKeys: readonly StringInfo[];
}

/** The id entries of a record that has none. */
const NO_ID_ENTRIES: readonly string[] = [];
/** Their keys. */
const NO_ID_ENTRY_KEYS: readonly StringInfo[] = [];

/** Scratch for the renamed indexes of an id set (sorted in place; never held across calls). */
const ID_SET_SCRATCH: number[] = [];

/**
 * A number naming a renaming (old index -> new index): its entries as base-8 digits, plus
 * 8^N. Node signatures use renamings with repeated entries (this node 0, every other 1),
 * which no permutation has, so the two kinds never share a key. Good for up to 8 nodes.
 */
export function renamingKey(rename: readonly number[]): number {
  let key = 0;
  for (const index of rename) key = key * 8 + (index & 7);
  return key + 8 ** rename.length;
}

/** One step of the first lane (FNV-style multiply, xorshift). */
function stepFirst(lane: number, word: number): number {
  const mixed = Math.imul(lane ^ word, 0x01000193);
  return mixed ^ (mixed >>> 13);
}

/** One step of the second lane (murmur2 multiplier, xorshift). */
function stepSecond(lane: number, word: number): number {
  const mixed = Math.imul(lane ^ word, 0x5bd1e995);
  return mixed ^ (mixed >>> 15);
}

/** Hashes values with node ids renamed; one instance per node-id list (per model). */
export class StructuralHasher {
  readonly #index: ReadonlyMap<string, number>;
  readonly #cache = new WeakMap<object, CachedObject>();
  /** Everything hashing needs to know of a string, looked up once per use. */
  readonly #strings = new Map<string, StringInfo>();
  /** The result of the last `#value`: two 32-bit lanes. */
  #high = 0;
  #low = 0;
  /** The sum of a record's id entries, left by `#recordParts`. */
  #idHigh = 0;
  #idLow = 0;
  /** Set while hashing when a node id was met (the value depends on the renaming). */
  #sawId = false;
  /** Values hashed so far: what caching an object saves. */
  #work = 0;

  constructor(nodeIds: readonly string[]) {
    this.#index = new Map(nodeIds.map((id, index) => [id, index]));
  }

  /** Fingerprint of `value` with ids renamed by `rename` (`key`: its {@link renamingKey}). */
  hash(value: unknown, rename: readonly number[], key: number): Fingerprint {
    this.#value(value, rename, key);
    return { high: this.#high, low: this.#low };
  }

  /** Adds the fingerprint of `value` (ids renamed) to `builder`. */
  feed(builder: FingerprintBuilder, value: unknown, rename: readonly number[], key: number): void {
    this.#value(value, rename, key);
    builder.word(this.#high).word(this.#low);
  }

  /** Hashes `value` into the result lanes. */
  #value(value: unknown, rename: readonly number[], key: number): void {
    switch (typeof value) {
      case "number":
        this.#high = Math.imul(TAG.number, 0x9e3779b9) ^ (Math.floor(value / 2 ** 32) | 0);
        this.#low = value | 0;
        return;
      case "boolean":
        this.#set(value ? TAG.true : TAG.false, 0);
        return;
      case "string":
        this.#string(value, rename);
        return;
      case "undefined":
        this.#set(TAG.undefined, 0);
        return;
      case "object":
        if (value === null) this.#set(TAG.null, 0);
        else this.#object(value, rename, key);
        return;
      default:
        throw new Error(`model hashing: unexpected ${typeof value}`);
    }
  }

  #set(tag: number, word: number): void {
    this.#high = Math.imul(tag, 0x9e3779b9);
    this.#low = word;
  }

  #string(value: string, rename: readonly number[]): void {
    const info = this.#info(value);
    if (info.node >= 0) {
      this.#sawId = true;
      this.#set(TAG.id, rename[info.node] ?? -1);
    } else if (info.rule !== null) {
      this.#idSet(info.rule.names, rename, TAG.sync ^ (info.rule.count << 8));
    } else {
      this.#high = info.high ^ TAG.string;
      this.#low = info.low;
    }
  }

  /** What a string is (node id, `ANY k (...)`, text) and its fingerprint, once per text. */
  #info(value: string): StringInfo {
    let info = this.#strings.get(value);
    if (info === undefined) {
      const fingerprint = fingerprintOf(value);
      const match = value.startsWith("ANY ") ? /^ANY (\d+) \((.*)\)$/.exec(value) : null;
      info = {
        node: this.#index.get(value) ?? -1,
        high: fingerprint.high,
        low: fingerprint.low,
        rule: match === null ? null : {
          count: Number(match[1]),
          names: (match[2] ?? "").split(",").map((name) => name.trim().replace(/^"(.*)"$/, "$1")),
        },
      };
      this.#strings.set(value, info);
    }
    return info;
  }

  /** A set of ids: renamed indexes, sorted, in two lanes seeded by `tag`. */
  #idSet(ids: readonly string[], rename: readonly number[], tag: number): void {
    // Renamed indexes in ascending order (an insertion sort: id sets are small).
    // Only the first ids.length slots are written, then read: stale slots beyond stay unread.
    const renamed = ID_SET_SCRATCH;
    for (let position = 0; position < ids.length; position++) {
      const info = this.#info(ids[position]!);
      let index: number;
      if (info.node < 0) index = -1 - info.low; // not a node id: keep it distinct
      else {
        this.#sawId = true;
        index = rename[info.node] ?? -1;
      }
      let slot = position;
      while (slot > 0 && renamed[slot - 1]! > index) {
        renamed[slot] = renamed[slot - 1]!;
        slot--;
      }
      renamed[slot] = index;
    }
    let first = stepFirst(0x9e3779b9 ^ TAG.idSet, tag);
    let second = stepSecond(0x85ebca6b ^ TAG.idSet, tag ^ ids.length);
    for (let position = 0; position < ids.length; position++) {
      const node = renamed[position]!;
      first = stepFirst(first, node);
      second = stepSecond(second, node);
    }
    this.#finish(first, second);
  }

  #finish(first: number, second: number): void {
    this.#high = avalanche(first ^ (second >>> 7));
    this.#low = avalanche(second ^ Math.imul(first, 0xc2b2ae35));
  }

  /** An object's fingerprint, from the cache when it holds one for this renaming. */
  #object(value: object, rename: readonly number[], key: number): void {
    const cached = this.#cache.get(value);
    if (cached !== undefined && this.#fromCache(cached.fingerprints, key)) return;
    const outerSawId = this.#sawId;
    this.#sawId = false;
    const workBefore = this.#work;
    let parts: RecordParts | null = null;
    if (Array.isArray(value)) this.#array(value, rename, key);
    else parts = this.#record(value as Record<string, unknown>, rename, key, cached);
    const holdsIds = this.#sawId;
    this.#sawId = outerSawId || holdsIds;
    if (this.#work - workBefore < MIN_CACHED_WORK) return;
    if (!holdsIds) {
      this.#cache.set(value, { fingerprints: [ANY_RENAMING, this.#high, this.#low], parts: null });
    } else if (cached === undefined) {
      this.#cache.set(value, { fingerprints: [key, this.#high, this.#low], parts });
    } else {
      const fingerprints = cached.fingerprints;
      if (fingerprints.length >= MAX_CACHED_RENAMINGS * 3) fingerprints.splice(0, 3);
      fingerprints.push(key, this.#high, this.#low);
      cached.parts ??= parts;
    }
  }

  #fromCache(cached: readonly number[], key: number): boolean {
    for (let slot = 0; slot < cached.length; slot += 3) {
      const slotKey = cached[slot];
      if (slotKey !== ANY_RENAMING && slotKey !== key) continue;
      if (slotKey !== ANY_RENAMING) this.#sawId = true;
      this.#high = cached[slot + 1]!;
      this.#low = cached[slot + 2]!;
      return true;
    }
    return false;
  }

  #array(values: readonly unknown[], rename: readonly number[], key: number): void {
    this.#work += values.length;
    let isIdSet = values.length > 0;
    for (const item of values) {
      if (typeof item !== "string" || !this.#index.has(item)) {
        isIdSet = false;
        break;
      }
    }
    if (isIdSet) {
      this.#idSet(values as string[], rename, TAG.array);
      return;
    }
    let first = stepFirst(0x9e3779b9 ^ TAG.array, values.length);
    let second = stepSecond(0x85ebca6b ^ TAG.array, values.length);
    for (const item of values) {
      this.#value(item, rename, key);
      first = stepSecond(stepFirst(first, this.#high), this.#low);
      second = stepFirst(stepSecond(second, this.#low), this.#high);
    }
    this.#finish(first, second);
  }

  /**
   * A record: the lane-wise sum of its entries (see the module comment). The sum of the
   * entries that hold no node id is kept per record object, so hashing it again under
   * another renaming only visits the entries that do.
   */
  #record(
    value: Record<string, unknown>,
    rename: readonly number[],
    key: number,
    cached: CachedObject | undefined,
  ): RecordParts | null {
    let parts = cached?.parts ?? null;
    let high: number;
    let low: number;
    if (parts === null) {
      // First visit: the split also sums the id entries under this renaming.
      parts = this.#recordParts(value, rename, key);
      high = (parts.high + this.#idHigh) | 0;
      low = (parts.low + this.#idLow) | 0;
    } else {
      high = parts.high;
      low = parts.low;
      const idEntries = parts.idEntries;
      const idEntryKeys = parts.idEntryKeys;
      for (let position = 0; position < idEntries.length; position++) {
        this.#entry(idEntryKeys[position]!, value[idEntries[position]!], rename, key);
        high = (high + this.#high) | 0;
        low = (low + this.#low) | 0;
      }
    }
    if (parts.idEntries.length > 0) this.#sawId = true;
    const tag = parts.keyedById ? TAG.idMap : TAG.object;
    const first = stepFirst(stepFirst(0x9e3779b9 ^ tag, parts.count), high);
    const second = stepSecond(stepSecond(0x85ebca6b ^ tag, low), parts.count);
    this.#finish(first, second);
    return parts.idEntries.length > 0 ? parts : null;
  }

  /**
   * Splits a record's entries into those that hold no node id (summed) and those that do
   * (their sum under `rename` is left in `#idHigh`, `#idLow`).
   */
  #recordParts(
    value: Record<string, unknown>,
    rename: readonly number[],
    key: number,
  ): RecordParts {
    const outerSawId = this.#sawId;
    let high = 0;
    let low = 0;
    let idHigh = 0;
    let idLow = 0;
    let count = 0;
    let keyedById = true;
    let idEntries: string[] | null = null;
    let idEntryKeys: StringInfo[] | null = null;
    const names = Object.keys(value);
    for (let position = 0; position < names.length; position++) {
      const name = names[position]!;
      const item = value[name];
      if (item === undefined || name === "config" || name === "reason") continue;
      count++;
      this.#work++;
      const info = this.#info(name);
      if (info.node < 0) keyedById = false;
      this.#sawId = false;
      this.#entry(info, item, rename, key);
      if (this.#sawId) {
        (idEntries ??= []).push(name);
        (idEntryKeys ??= []).push(info);
        idHigh = (idHigh + this.#high) | 0;
        idLow = (idLow + this.#low) | 0;
      } else {
        high = (high + this.#high) | 0;
        low = (low + this.#low) | 0;
      }
    }
    this.#sawId = outerSawId;
    this.#idHigh = idHigh;
    this.#idLow = idLow;
    return {
      high,
      low,
      count,
      keyedById: keyedById && count > 0,
      idEntries: idEntries ?? NO_ID_ENTRIES,
      idEntryKeys: idEntryKeys ?? NO_ID_ENTRY_KEYS,
    };
  }

  /** One (key, value) entry of a record, mixed well (entries are summed); id keys renamed. */
  #entry(info: StringInfo, item: unknown, rename: readonly number[], key: number): void {
    let keyHigh = info.high;
    let keyLow = info.low;
    if (info.node >= 0) {
      this.#sawId = true;
      keyHigh = Math.imul(TAG.id, 0x9e3779b9);
      keyLow = rename[info.node] ?? -1;
    }
    this.#value(item, rename, key);
    const first = stepSecond(stepFirst(stepFirst(keyHigh, keyLow), this.#high), this.#low);
    const second = stepFirst(stepSecond(stepSecond(keyLow, keyHigh), this.#low), this.#high);
    this.#finish(first, second);
  }
}
