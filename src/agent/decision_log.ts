/**
 * The agent's recent decisions, as events: Raft role changes, the Postgres role the core
 * decides (and its reason), whether this node may stand for election, transfers, pause,
 * and refused votes (given and received). Kept in a bounded in-memory ring for
 * `hactl why` / `GET /why`, and logged. Derived in the shell from what each step changed:
 * the core is not touched.
 *
 * @module
 */
import { decidePostgresRole, type Input, type Message, type NodeState } from "../core/mod.ts";
import { campaignBlocker } from "../core/election.ts";
import type { PostgresRole } from "../core/types.ts";
import type { Logger } from "./logger.ts";

/** Most events kept; older ones are dropped first. */
export const MAX_DECISION_EVENTS = 200;

/** One decision. */
export interface DecisionEvent {
  readonly atIso: string;
  /** "raft", "postgres", "election", "vote", "transfer", "pause". */
  readonly kind: string;
  readonly text: string;
}

/** A bounded ring of decisions; consecutive repeats of one decision are kept once. */
export class DecisionLog {
  readonly #events: DecisionEvent[] = [];
  /** The comparison key of the last event of each kind (repeats are not recorded). */
  readonly #lastKeys = new Map<string, string>();

  constructor(private readonly log: Logger | null) {}

  /**
   * Records (and logs) one decision, unless the last one of its kind had the same `key`
   * (by default the text; figures that move on their own, such as a lag, are left out of it).
   */
  record(kind: string, text: string, key: string = text): void {
    if (this.#lastKeys.get(kind) === key) return;
    this.#lastKeys.set(kind, key);
    this.#events.push({ atIso: new Date().toISOString(), kind, text });
    if (this.#events.length > MAX_DECISION_EVENTS) this.#events.shift();
    this.log?.info("decision", `${kind}: ${text}`);
  }

  /** The last `count` events, oldest first. */
  recent(count: number = MAX_DECISION_EVENTS): DecisionEvent[] {
    return this.#events.slice(-count);
  }

  /** Records what one step changed: `before` → `after` on `input`, sending `messages`. */
  observeStep(
    before: NodeState,
    after: NodeState,
    input: Input,
    messages: readonly Message[],
  ): void {
    const roleBefore = describeRole(decidePostgresRole(before));
    const roleAfter = describeRole(decidePostgresRole(after));
    if (roleAfter !== roleBefore) this.record("postgres", `desired ${roleAfter}`);
    const blocker = campaignBlocker(after);
    this.record(
      "election",
      blocker === null ? "may stand for election" : `does not stand for election: ${blocker}`,
      withoutFigures(blocker ?? ""),
    );
    if (after.transfer?.target !== before.transfer?.target) {
      this.record(
        "transfer",
        after.transfer
          ? `leadership transfer to ${after.transfer.target} started`
          : `leadership transfer to ${before.transfer!.target} ended`,
      );
    }
    if (after.applied.paused !== before.applied.paused) {
      this.record("pause", after.applied.paused ? "cluster paused" : "cluster resumed");
    }
    if (after.role !== before.role || after.leader !== before.leader) {
      this.record("raft", `${after.role} in term ${after.term}, leader ${after.leader ?? "none"}`);
    }
    for (const message of messages) {
      if (message.kind !== "vote-response" || message.granted) continue;
      const what = message.preVote ? "pre-vote" : "vote";
      const text = `refused a ${what} to ${message.to}: ${message.reason}`;
      this.record("vote", text, withoutFigures(text));
    }
    if (input.kind === "message") {
      const message = input.message;
      if (message.kind === "vote-response" && !message.granted) {
        const what = message.preVote ? "pre-vote" : "vote";
        const text = `${message.from} refused this node a ${what}: ${message.reason}`;
        this.record("vote", text, withoutFigures(text));
      }
    }
  }
}

/** The text with its numbers left out: a lag or an age that moves is the same decision. */
function withoutFigures(text: string): string {
  return text.replace(/[0-9]+/g, "#");
}

/** A desired Postgres role as one line: its kind and, when it has one, its reason. */
export function describeRole(role: PostgresRole): string {
  const reason = "reason" in role ? `: ${role.reason}` : "";
  const source = "source" in role && role.source !== null ? ` of ${role.source}` : "";
  return `${role.kind}${source}${reason}`;
}
