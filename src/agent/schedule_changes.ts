/**
 * One change of the scheduled switchover at a time, in this process. The leader's API
 * (schedule, cancel) and the leader's agent (removing a schedule before it runs it) share the
 * process and read-then-write the same key; the key-value map has no compare-and-set, so
 * without this a cancel and the start of a run could both see the schedule pending, and the
 * operator be told "cancelled" while it runs. Process-wide because both sides are.
 *
 * @module
 */

/** Runs async work one piece at a time, in the order it was handed in. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` once every earlier piece has settled; its result or rejection. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work, work);
    this.#tail = result.catch(() => {});
    return result;
  }
}

/** Serializes every change of the scheduled switchover key in this process. */
export const SCHEDULE_CHANGES: SerialQueue = new SerialQueue();
