/**
 * The cluster-wide configuration as the core reads it from the applied key-value map:
 * tag nofailover stops a node from campaigning, tag nosync narrows the synchronous list but
 * never its count (the primary plus k standbys stays a Raft majority for every tag
 * combination), the recorded maximum lag replaces the node's own, and a lower
 * failover_priority makes a node campaign one election timeout after a higher one.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  failoverPriority,
  type LogEntry,
  MAXIMUM_LAG_KEY,
  outrankingVoter,
  synchronousStandbyNames,
  tagKey,
} from "../../src/core/mod.ts";
import { at, deliver, memberNode, TEST_CONFIG, tickTimes } from "./helpers.ts";

const VOTERS = ["n1", "n2", "n3"];

/** The membership entry, then one committed `kv` entry per pair. */
function entriesWith(voters: string[], pairs: Array<[string, string]>): LogEntry[] {
  return [
    { term: 1, index: 1, command: { kind: "membership", membership: { voters, learners: [] } } },
    ...pairs.map(([key, value], position): LogEntry => ({
      term: 1,
      index: position + 2,
      command: { kind: "kv", key, value },
    })),
  ];
}

Deno.test("a node tagged nofailover (or failover_priority 0) never stands for election", () => {
  for (const [tag, value] of [["nofailover", "true"], ["failover_priority", "0"]] as const) {
    const tagged = memberNode("n1", VOTERS, {
      entries: entriesWith(VOTERS, [[tagKey("n1", tag), value]]),
    });
    const { messages } = tickTimes(tagged, 60);
    assertEquals(messages.filter((message) => message.kind === "pre-vote").length, 0, tag);
  }
  // Control: the same node without the tag campaigns.
  const plain = memberNode("n1", VOTERS, {
    entries: entriesWith(VOTERS, [[tagKey("n1", "nofailover"), "false"]]),
  });
  assert(tickTimes(plain, 60).messages.some((message) => message.kind === "pre-vote"));
});

Deno.test("tag nosync narrows the synchronous list and never lowers its count below a majority", () => {
  const three = memberNode("n1", VOTERS, {
    entries: entriesWith(VOTERS, [[tagKey("n2", "nosync"), "true"]]),
  });
  assertEquals(synchronousStandbyNames(three), 'ANY 1 ("n3")');
  // Every combination of tags on 1 to 5 voters: k = floor(N/2) and at least k names listed.
  for (let size = 1; size <= 5; size++) {
    const voters = Array.from({ length: size }, (_, index) => `n${index + 1}`);
    for (let mask = 0; mask < 1 << size; mask++) {
      const tags = voters.filter((_, index) => (mask & (1 << index)) !== 0)
        .map((voter): [string, string] => [tagKey(voter, "nosync"), "true"]);
      const node = memberNode("n1", voters, { entries: entriesWith(voters, tags) });
      const names = synchronousStandbyNames({
        ...node,
        config: { ...node.config, commitGate: null },
      });
      const required = Math.floor(size / 2);
      if (required === 0) {
        assertEquals(names, "");
        continue;
      }
      const match = /^ANY (\d+) \((.*)\)$/.exec(names);
      assert(match !== null, names);
      assertEquals(Number(match[1]), required, names);
      assert(match[2]!.split(", ").length >= required, names);
      assert(!match[2]!.includes('"n1"'), `the primary lists itself: ${names}`);
    }
  }
});

Deno.test("the recorded maximum lag replaces the node's own limit", () => {
  const leaderAhead = {
    kind: "append" as const,
    from: "n3",
    to: "n1",
    term: 1,
    prevLogIndex: 2,
    prevLogTerm: 1,
    entries: [],
    commitIndex: 2,
    round: 1,
    leaderPosition: at(1, 5000),
  };
  const campaigns = (limit: string, own: number | null) => {
    const node = memberNode("n1", VOTERS, {
      config: { ...TEST_CONFIG, maxLagBytes: own },
      position: at(1, 100),
      entries: entriesWith(VOTERS, [[MAXIMUM_LAG_KEY, limit]]),
    });
    const { messages } = tickTimes(deliver(node, leaderAhead).state, 60);
    return messages.some((message) => message.kind === "pre-vote");
  };
  assertEquals(
    campaigns("1000", null),
    false,
    "the cluster's 1000 bytes must stop a node 4900 behind",
  );
  assertEquals(campaigns("none", 1000), true, "the cluster's 'no limit' overrides the file's 1000");
  assertEquals(campaigns("100000", 1000), true);
});

/** Ticks until the node sends its first pre-vote; the tick count, or -1 within `limit`. */
function ticksToFirstPreVote(node: ReturnType<typeof memberNode>, limit: number): number {
  let current = node;
  for (let tick = 1; tick <= limit; tick++) {
    const result = tickTimes(current, 1);
    if (result.messages.some((message) => message.kind === "pre-vote")) return tick;
    current = result.state;
  }
  return -1;
}

Deno.test("a node outranked by failover_priority campaigns one election timeout later", () => {
  const timeout = TEST_CONFIG.electionTimeoutTicks;
  const plain = ticksToFirstPreVote(memberNode("n1", VOTERS), 100);
  const outranked = memberNode("n1", VOTERS, {
    entries: entriesWith(VOTERS, [[tagKey("n3", "failover_priority"), "5"]]),
  });
  assertEquals(ticksToFirstPreVote(outranked, 100), plain + timeout);
  // The preferred node itself does not wait; nor does a node whose peers rank lower.
  const preferred = memberNode("n3", VOTERS, {
    entries: entriesWith(VOTERS, [[tagKey("n3", "failover_priority"), "5"]]),
  });
  assertEquals(ticksToFirstPreVote(preferred, 100), plain);
  // A higher priority that may not lead (nofailover) outranks nobody.
  const blocked = memberNode("n1", VOTERS, {
    entries: entriesWith(VOTERS, [
      [tagKey("n3", "failover_priority"), "5"],
      [tagKey("n3", "nofailover"), "true"],
    ]),
  });
  assertEquals(ticksToFirstPreVote(blocked, 100), plain);
});

Deno.test("the leader being replaced outranks nobody: its followers do not wait for it", () => {
  const applied = memberNode("n1", VOTERS, {
    entries: entriesWith(VOTERS, [[tagKey("n2", "failover_priority"), "9"]]),
  }).applied;
  assertEquals(outrankingVoter(applied, VOTERS, "n1", null), "n2");
  assertEquals(outrankingVoter(applied, VOTERS, "n1", "n2"), null);
  assertEquals(failoverPriority(applied, "n2"), 9);
  assertEquals(failoverPriority(applied, "n3"), 1);
});

Deno.test("a preferred candidate refused only for freshness gets one more timeout before the outranked node campaigns", () => {
  // Regression (cluster test failover_priority, 1 run in 5): n3 (priority 5) asked before
  // n1's lease wait had ended; n1 refused "observation too old" and, one deferral later,
  // campaigned before n3's retry (E + jitter after its first try) and won.
  const timeout = TEST_CONFIG.electionTimeoutTicks;
  const jitter = TEST_CONFIG.electionTimeoutJitterTicks;
  const entries = entriesWith(VOTERS, [[tagKey("n3", "failover_priority"), "5"]]);
  const asked = tickTimes(memberNode("n1", VOTERS, { entries }), timeout).state;
  const preVote = {
    kind: "pre-vote" as const,
    from: "n3",
    to: "n1",
    term: asked.term + 1,
    lastLogIndex: entries.length,
    lastLogTerm: 1,
    position: at(1, 100),
  };
  const answered = deliver(asked, preVote);
  const [response] = answered.messages;
  assert(response?.kind === "vote-response" && !response.granted, JSON.stringify(response));
  assert(response.reason.startsWith("observation too old"), response.reason);
  // n3 retries within E + jitter - 1 ticks; n1 waits a full timeout plus its deferral.
  const wait = ticksToFirstPreVote(answered.state, 100);
  assert(wait > timeout + jitter - 1, `n1 campaigned ${wait} ticks after refusing n3`);
  // A refusal on a standing reason (a lower priority asks) defers nothing.
  const lower = deliver(asked, { ...preVote, from: "n2" });
  assertEquals(ticksToFirstPreVote(lower.state, 100), ticksToFirstPreVote(asked, 100));
});
