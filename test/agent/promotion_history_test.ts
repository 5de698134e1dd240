/**
 * The promotion history's Raft records: a leader with a writable Postgres records its term
 * once (not as a standby, fenced, or when already recorded), the oldest entry is deleted
 * past the bound, and the reader skips values it cannot parse.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  historyCommands,
  historyKey,
  MAX_HISTORY_ENTRIES,
  readHistory,
} from "../../src/agent/promotion_history.ts";
import type { NodeState } from "../../src/core/types.ts";
import { at, memberNode, observation } from "../core/helpers.ts";

function leaderWith(keyValues: Record<string, string>, fenced = false): NodeState {
  const node = memberNode("n1", ["n1"], { term: 3 });
  return {
    ...node,
    role: "leader",
    postgres: { ...observation(at(2, 4096), true), fenced },
    applied: { ...node.applied, keyValues },
  };
}

Deno.test("a leader records its promotion once, bounded, readable back", () => {
  const [record, ...rest] = historyCommands(leaderWith({}), "failover", "2026-01-01T00:00:00Z");
  assertEquals(rest, []);
  assertEquals(record!.kind === "kv" ? record!.key : null, historyKey(3));
  const keyValues = { [historyKey(3)]: record!.kind === "kv" ? record!.value! : "" };
  assertEquals(readHistory({ ...keyValues, "history/x": "not json" }), [{
    term: 3,
    node: "n1",
    timeline: 2,
    lsn: 4096,
    reason: "failover",
    atIso: "2026-01-01T00:00:00Z",
  }]);
  assertEquals(historyCommands(leaderWith(keyValues), "failover", "later"), []);
  assertEquals(historyCommands(leaderWith({}, true), "failover", "now"), []);
  const standby = { ...leaderWith({}), postgres: observation(at(2, 4096)) };
  assertEquals(historyCommands(standby, "failover", "now"), []);
  const full = Object.fromEntries(
    Array.from({ length: MAX_HISTORY_ENTRIES }, (_, index) => [historyKey(index + 1000), "{}"]),
  );
  const commands = historyCommands(leaderWith(full), "failover", "now");
  assertEquals(commands.slice(1), [{ kind: "kv", key: historyKey(1000), value: null }]);
});
