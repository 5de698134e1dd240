/**
 * Messages a test forges and signs with the cluster secret, as an insider or a stolen key
 * would: what the agents must refuse and count.
 *
 * @module
 */
import type { Message } from "../../src/core/mod.ts";

/** An empty append from `from` to `to` in `term`, claiming leadership of that term. */
export function forgedAppend(from: string, to: string, term: number): Message {
  return {
    kind: "append",
    from,
    to,
    term,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [],
    commitIndex: 0,
    round: 1,
    leaderPosition: null,
  } as unknown as Message;
}
