/**
 * Named upper bounds of the numbers a peer message carries. The wire codec refuses anything
 * above them and the core refuses a message whose term is above {@link MAX_TERM}, so that no
 * arithmetic on a received number (`term + 1`, `index + count`) can leave the safe integers.
 *
 * Why these values: a term grows by one per election; at one election per millisecond
 * 2^40 terms last 34 years. A log index grows by one per committed command, and hactl's
 * commands are operator requests and membership changes: 2^48 of them at a million per
 * second last 8 years. Both stay far below 2^53, where a JavaScript number stops being exact.
 *
 * @module
 */

/** Largest term a node accepts from a peer or reaches by its own elections. */
export const MAX_TERM = 2 ** 40;
/** Largest log index (also commit and match indexes, snapshot indexes). */
export const MAX_LOG_INDEX = 2 ** 48;
/** Largest heartbeat round number (one per heartbeat interval). */
export const MAX_ROUND = 2 ** 48;
