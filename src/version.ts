/**
 * hactl's version, printed by `hactl version` and reported by every agent's API.
 *
 * @module
 */

/** The version of this hactl. */
export const VERSION = "0.1.0";
