/**
 * A small seeded pseudo-random generator for the chaos suite: one 32-bit seed decides every
 * choice of a nemesis schedule, so printing the seed is enough to replay it. Xorshift32
 * (Marsaglia's shift triple 13, 17, 5): statistically weak but plenty for choosing faults, and
 * simple enough to be obviously deterministic.
 *
 * @module
 */

/** Used instead of a zero state, which xorshift would never leave. */
const NONZERO_STATE = 0x2545f491;

/** A deterministic stream of numbers decided by one seed. */
export class SeededRandom {
  #state: number;

  /** `seed` is taken modulo 2^32; every seed gives its own stream. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new Error(`SeededRandom: seed must be a safe integer, got ${seed}`);
    }
    this.#state = (seed >>> 0) === 0 ? NONZERO_STATE : seed >>> 0;
    // A few rounds spread seeds that differ in one bit.
    for (let round = 0; round < 8; round++) this.nextUint32();
  }

  /** The next number in 0..2^32-1. */
  nextUint32(): number {
    let x = this.#state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.#state = x;
    return x;
  }

  /** A number in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** An integer in [min, max], both included. */
  integer(min: number, max: number): number {
    if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max)) {
      throw new Error(`SeededRandom.integer: need integers min <= max, got ${min}, ${max}`);
    }
    return min + Math.floor(this.nextFloat() * (max - min + 1));
  }

  /** One element of `items` (not empty). */
  pick<T>(items: readonly T[]): T {
    const item = items[this.integer(0, items.length - 1)];
    if (item === undefined) throw new Error("SeededRandom.pick: items is empty");
    return item;
  }

  /** A shuffled copy of `items` (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index--) {
      const other = this.integer(0, index);
      [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
    }
    return copy;
  }
}
