/**
 * The memory a parallel breadth-first search shares between its workers
 * (model/parallel_explorer.ts): a fixed-size open-addressing table of 64-bit fingerprints
 * with lock-free inserts, the parent links of every state (for rebuilding a state from its
 * number and for counterexample paths), and a few counters. All of it lives in
 * SharedArrayBuffers, so a worker posts only state numbers.
 *
 * The table is written by compare-and-swap on a slot's value word: 0 empty, -1 being
 * written, n + 1 holding state n. The winner writes the fingerprint's two words, allocates
 * the state number from the shared counter and publishes it; a reader that meets a slot
 * being written waits for it (a few instructions away). The table never grows: it is sized
 * for the state cap at the start (pages never touched are never resident).
 *
 * @module
 */
import type { Fingerprint } from "./fingerprint.ts";
import type { StateLinks } from "./explorer.ts";

/** Words per table slot: fingerprint high, low, value. */
const SLOT_WORDS = 3;
/** Most of the table in use at the state cap (a fuller open-addressing table probes long). */
const MAX_LOAD = 0.6;
/** Parent-link slots beyond the cap: each worker may allocate one number after the cap is reached. */
const CAP_SLACK = 256;
/** Value word of a slot whose fingerprint is being written. */
const WRITING = -1;

/** Header words. */
const HEADER = {
  /** States allocated so far. */
  count: 0,
  /** Set when a worker must stop (cap reached, or a violation with stop-on-violation). */
  stop: 1,
  /** Set when the state cap was reached. */
  capped: 2,
  words: 4,
} as const;

/** The buffers of one search, as posted to a worker. */
export interface SharedSearchBuffers {
  readonly header: SharedArrayBuffer;
  readonly table: SharedArrayBuffer;
  readonly parent: SharedArrayBuffer;
  readonly actionIndex: SharedArrayBuffer;
  readonly depth: SharedArrayBuffer;
  readonly maxStates: number;
}

/** A view of one search's shared memory (one per thread). */
export class SharedSearch implements StateLinks {
  readonly parent: Int32Array;
  readonly actionIndex: Int32Array;
  readonly depth: Int32Array;
  readonly #header: Int32Array;
  readonly #table: Int32Array;
  readonly #mask: number;

  private constructor(readonly buffers: SharedSearchBuffers) {
    this.#header = new Int32Array(buffers.header);
    this.#table = new Int32Array(buffers.table);
    this.#mask = this.#table.length / SLOT_WORDS - 1;
    this.parent = new Int32Array(buffers.parent);
    this.actionIndex = new Int32Array(buffers.actionIndex);
    this.depth = new Int32Array(buffers.depth);
  }

  /** New shared memory for a search of at most `maxStates` states. */
  static create(maxStates: number): SharedSearch {
    let slots = 1024;
    while (slots * MAX_LOAD < maxStates + CAP_SLACK) slots *= 2;
    const links = (maxStates + CAP_SLACK) * Int32Array.BYTES_PER_ELEMENT;
    return new SharedSearch({
      header: new SharedArrayBuffer(HEADER.words * Int32Array.BYTES_PER_ELEMENT),
      table: new SharedArrayBuffer(slots * SLOT_WORDS * Int32Array.BYTES_PER_ELEMENT),
      parent: new SharedArrayBuffer(links),
      actionIndex: new SharedArrayBuffer(links),
      depth: new SharedArrayBuffer(links),
      maxStates,
    });
  }

  /** A view of memory another thread created. */
  static attach(buffers: SharedSearchBuffers): SharedSearch {
    return new SharedSearch(buffers);
  }

  /** States allocated so far. */
  get count(): number {
    return Atomics.load(this.#header, HEADER.count);
  }

  /** True once the search must stop. */
  get stopped(): boolean {
    return Atomics.load(this.#header, HEADER.stop) !== 0;
  }

  /** True when the state cap was reached. */
  get capped(): boolean {
    return Atomics.load(this.#header, HEADER.capped) !== 0;
  }

  /** Tells every worker to stop at its next state. */
  stop(): void {
    Atomics.store(this.#header, HEADER.stop, 1);
  }

  /** Bytes of shared memory held (table and parent links). */
  get bytes(): number {
    const buffers = this.buffers;
    return buffers.table.byteLength + 3 * buffers.parent.byteLength;
  }

  /** The state number recorded for `fingerprint`, or -1. */
  get(fingerprint: Fingerprint): number {
    const table = this.#table;
    const high = fingerprint.high | 0;
    const low = fingerprint.low | 0;
    for (let slot = low & this.#mask;; slot = (slot + 1) & this.#mask) {
      const base = slot * SLOT_WORDS;
      const value = this.#settled(base);
      if (value === 0) return -1;
      if (table[base] === high && table[base + 1] === low) return value - 1;
    }
  }

  /**
   * Records a state reached from `parent` by action `actionIndex` at `depth` unless its
   * fingerprint is known: returns its new number, or -1 when it was known. Reaching the cap
   * stops the search (a few states past it may still be recorded, one per worker at most).
   */
  insert(fingerprint: Fingerprint, parent: number, actionIndex: number, depth: number): number {
    const table = this.#table;
    const high = fingerprint.high | 0;
    const low = fingerprint.low | 0;
    for (let slot = low & this.#mask;; slot = (slot + 1) & this.#mask) {
      const base = slot * SLOT_WORDS;
      let value = this.#settled(base);
      if (value === 0) {
        value = Atomics.compareExchange(table, base + 2, 0, WRITING);
        if (value === 0) return this.#claim(base, high, low, parent, actionIndex, depth);
        value = this.#settled(base);
      }
      if (table[base] === high && table[base + 1] === low) return -1;
    }
  }

  #claim(
    base: number,
    high: number,
    low: number,
    parent: number,
    actionIndex: number,
    depth: number,
  ): number {
    const number = Atomics.add(this.#header, HEADER.count, 1);
    if (number >= this.parent.length) {
      throw new Error(`parallel search: state #${number} past the cap's slack`);
    }
    this.parent[number] = parent;
    this.actionIndex[number] = actionIndex;
    this.depth[number] = depth;
    this.#table[base] = high;
    this.#table[base + 1] = low;
    // The store publishes the fingerprint and links written above (Atomics are seq-cst).
    Atomics.store(this.#table, base + 2, number + 1);
    if (number + 1 >= this.buffers.maxStates) {
      Atomics.store(this.#header, HEADER.capped, 1);
      this.stop();
    }
    return number;
  }

  /** A slot's value word once no other thread is writing it. */
  #settled(base: number): number {
    let value = Atomics.load(this.#table, base + 2);
    while (value === WRITING) value = Atomics.load(this.#table, base + 2);
    return value;
  }
}
