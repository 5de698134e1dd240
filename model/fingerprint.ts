/**
 * Compact state fingerprints: a 64-bit hash of a canonical encoding, kept as two 32-bit
 * halves in an open-addressing table of typed arrays (8 bytes of key and 4 of value per
 * slot), so that millions of visited states cost tens of megabytes, not gigabytes of
 * strings.
 *
 * @module
 */

/** A 64-bit fingerprint as two unsigned 32-bit halves. */
export interface Fingerprint {
  readonly high: number;
  readonly low: number;
}

/**
 * Hashes a string to 64 bits: two independent 32-bit multiply-xorshift lanes over the UTF-16
 * code units, each finished with a murmur3-style avalanche. Stable across runs and
 * platforms (no seed), so a fingerprint printed today matches one recomputed tomorrow.
 */
export function fingerprintOf(text: string): Fingerprint {
  let first = 0x9e3779b9 ^ text.length;
  let second = 0x85ebca6b ^ Math.imul(text.length, 0x27d4eb2f);
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    first = Math.imul(first ^ unit, 0x01000193);
    second = Math.imul(second ^ unit, 0x5bd1e995);
    second ^= second >>> 15;
  }
  return {
    high: avalanche(first ^ (second >>> 7)),
    low: avalanche(second ^ Math.imul(first, 0xc2b2ae35)),
  };
}

/** Murmur3's 32-bit finaliser: every input bit affects every output bit. */
export function avalanche(value: number): number {
  let mixed = value;
  mixed ^= mixed >>> 16;
  mixed = Math.imul(mixed, 0x85ebca6b);
  mixed ^= mixed >>> 13;
  mixed = Math.imul(mixed, 0xc2b2ae35);
  mixed ^= mixed >>> 16;
  return mixed >>> 0;
}

/** Orders fingerprints (high half first): negative, zero or positive. */
export function compareFingerprints(a: Fingerprint, b: Fingerprint): number {
  return a.high !== b.high ? a.high - b.high : a.low - b.low;
}

/**
 * Builds a fingerprint from a sequence of 32-bit words and child fingerprints, without
 * building a string: two multiply-xorshift lanes, finished by {@link avalanche}.
 */
export class FingerprintBuilder {
  #first: number;
  #second: number;

  /** Starts a builder; `tag` separates kinds of values with equal contents. */
  constructor(tag: number) {
    this.#first = Math.imul(0x9e3779b9 ^ tag, 0x01000193);
    this.#second = Math.imul(0x85ebca6b ^ tag, 0x5bd1e995);
  }

  /** Adds one 32-bit word. */
  word(value: number): this {
    this.#first = Math.imul(this.#first ^ (value | 0), 0x01000193);
    this.#first ^= this.#first >>> 13;
    this.#second = Math.imul(this.#second ^ (value | 0), 0x5bd1e995);
    this.#second ^= this.#second >>> 15;
    return this;
  }

  /** Adds a child fingerprint. */
  add(fingerprint: Fingerprint): this {
    return this.word(fingerprint.high).word(fingerprint.low);
  }

  /** The finished fingerprint. */
  finish(): Fingerprint {
    return {
      high: avalanche(this.#first ^ (this.#second >>> 7)),
      low: avalanche(this.#second ^ Math.imul(this.#first, 0xc2b2ae35)),
    };
  }
}

/** Formats a fingerprint as 16 hex digits (for traces and saved counterexamples). */
export function formatFingerprint(fingerprint: Fingerprint): string {
  return fingerprint.high.toString(16).padStart(8, "0") +
    fingerprint.low.toString(16).padStart(8, "0");
}

/** The table doubles when it is this full; open addressing slows down sharply beyond ~0.7. */
const MAX_LOAD_FACTOR = 0.5;
/** Initial slot count (a power of two). */
const INITIAL_SLOTS = 1 << 16;
/** Refuse to grow past this many slots (2^28 slots = 3 GiB of typed arrays). */
const MAX_SLOTS = 1 << 28;

/**
 * A map from fingerprint to a non-negative integer (a state number). Linear probing over
 * typed arrays; value 0 in a slot means empty, so values are stored plus one.
 */
export class FingerprintTable {
  #high: Uint32Array;
  #low: Uint32Array;
  #values: Int32Array;
  #size = 0;

  /** Creates an empty table. */
  constructor() {
    this.#high = new Uint32Array(INITIAL_SLOTS);
    this.#low = new Uint32Array(INITIAL_SLOTS);
    this.#values = new Int32Array(INITIAL_SLOTS);
  }

  /** Number of fingerprints stored. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.#values.length * 12;
  }

  /** The value stored for `fingerprint`, or -1 when absent. */
  get(fingerprint: Fingerprint): number {
    const mask = this.#values.length - 1;
    for (let slot = fingerprint.low & mask;; slot = (slot + 1) & mask) {
      const stored = this.#values[slot] ?? 0;
      if (stored === 0) return -1;
      if (this.#high[slot] === fingerprint.high && this.#low[slot] === fingerprint.low) {
        return stored - 1;
      }
    }
  }

  /** Stores `value` for a fingerprint that is not yet present; returns false if it was. */
  insert(fingerprint: Fingerprint, value: number): boolean {
    if (value < 0 || value >= 0x7fffffff) {
      throw new Error(`fingerprint table value ${value} out of range`);
    }
    if ((this.#size + 1) > this.#values.length * MAX_LOAD_FACTOR) this.#grow();
    const inserted = this.#place(fingerprint.high, fingerprint.low, value + 1, false);
    if (inserted) this.#size++;
    return inserted;
  }

  /** Overwrites the value of a fingerprint already present. */
  update(fingerprint: Fingerprint, value: number): void {
    this.#place(fingerprint.high, fingerprint.low, value + 1, true);
  }

  #place(high: number, low: number, stored: number, overwrite: boolean): boolean {
    const mask = this.#values.length - 1;
    for (let slot = low & mask;; slot = (slot + 1) & mask) {
      if ((this.#values[slot] ?? 0) === 0) {
        this.#high[slot] = high;
        this.#low[slot] = low;
        this.#values[slot] = stored;
        return true;
      }
      if (this.#high[slot] === high && this.#low[slot] === low) {
        if (overwrite) this.#values[slot] = stored;
        return false;
      }
    }
  }

  #grow(): void {
    const slots = this.#values.length * 2;
    if (slots > MAX_SLOTS) {
      throw new Error(
        `fingerprint table would exceed ${MAX_SLOTS} slots (${this.#size} states): lower the state bound`,
      );
    }
    const [high, low, values] = [this.#high, this.#low, this.#values];
    this.#high = new Uint32Array(slots);
    this.#low = new Uint32Array(slots);
    this.#values = new Int32Array(slots);
    for (let slot = 0; slot < values.length; slot++) {
      const stored = values[slot] ?? 0;
      if (stored !== 0) this.#place(high[slot] ?? 0, low[slot] ?? 0, stored, false);
    }
  }
}
