/**
 * The production lease formula keeps S1 (one writer) over every value the config file
 * accepts, given the shell's real delays (issue 10, item 2). Exhaustive, in exact integer
 * arithmetic, in two parts whose composition is the argument:
 *
 * Setting: tick t ms (raft.tick_ms, 1-10000), election timeout E ticks (2-100000), drift p
 * permille (0-499; every clock runs at a rate within 1 ± p/1000 of real time), margin S =
 * leaseSafetyTicksFor(t), lease L = leaseDurationTicks. A leader's round is sent at real
 * time 0.
 * - Earliest vote against it: a voter that acknowledged the round grants a vote only after
 *   E ticks of its own clock without leader contact, counted from when it heard the round
 *   (at or after 0), whole ticks: real time >= (E - 1) t / (1 + d).
 * - Latest instant the old primary accepts writes: the agent arms the watchdog for one tick
 *   before the lease's end, anchored on the ticks' due times (agent.ts), so on the leader's
 *   clock the deadline is at most L ticks after the send (the send lies within a tick, the
 *   arm is one tick short): real time <= L t / (1 - d). The watchdog kills every Postgres
 *   process within K = WATCHDOG_KILL_MARGIN_MS of it, and a live agent that lost
 *   authority earlier leaves that deadline standing until a read shows the server fenced
 *   (`hold`), so a slow SQL fence changes nothing.
 * S1 needs L t / (1 - d) + K <= (E - 1) t / (1 + d).
 *
 * Part 1 (ticks, every E and p): (L + 1 + S)(1000 + p) <= (E - 1)(1000 - p). Dividing by
 * (1000 + p)(1000 - p) and multiplying by t: (L + 1 + S) t/(1 - d) <= (E - 1) t/(1 + d), so
 * (E - 1) t/(1 + d) - L t/(1 - d) >= (1 + S) t/(1 - d).
 * Part 2 (real time, every t and p): (1 + S) t · 1000 >= K (1000 - p), i.e.
 * (1 + S) t/(1 - d) >= K. Together: the inequality S1 needs, for every accepted config.
 * Part 3: every config the file accepts has a positive lease (validation refuses the rest).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type CoreConfig, defaultCoreConfig, leaseDurationTicks } from "../../src/core/mod.ts";
import { leaseSafetyTicksFor, WATCHDOG_KILL_MARGIN_MS } from "../../src/config/core_config.ts";

const MAX_TICK_MS = 10_000;
const MAX_ELECTION_TICKS = 100_000;
const MAX_DRIFT_PERMILLE = 499;

/** The margins leaseSafetyTicksFor gives over the whole tick range (few distinct values). */
function marginsInUse(): number[] {
  const margins = new Set<number>();
  for (let tick = 1; tick <= MAX_TICK_MS; tick++) margins.add(leaseSafetyTicksFor(tick));
  return [...margins].sort((a, b) => a - b);
}

Deno.test("part 1: the lease leaves (1 + margin) ticks before any vote, for every E and drift", () => {
  const margins = marginsInUse();
  console.log(`margins in use over ticks 1-${MAX_TICK_MS} ms: ${margins.join(", ")}`);
  let checked = 0;
  // The core's lease is a float formula: checked against exact integers. L + S does not
  // depend on S (the formula subtracts S last), so the inequality is the same for every
  // margin wherever L > 0: the smallest margin has the most such configurations; the
  // largest is checked too, as a guard against a formula where S enters otherwise.
  const config = { ...defaultCoreConfig(), leaseSafetyTicks: 0 } as {
    -readonly [K in keyof CoreConfig]: CoreConfig[K];
  };
  for (const margin of [margins[0]!, margins[margins.length - 1]!]) {
    config.leaseSafetyTicks = margin;
    for (let permille = 0; permille <= MAX_DRIFT_PERMILLE; permille++) {
      config.clockDriftPermille = permille;
      for (let election = 2; election <= MAX_ELECTION_TICKS; election++) {
        config.electionTimeoutTicks = election;
        const lease = leaseDurationTicks(config);
        if (lease <= 0) continue; // refused by validation (part 3)
        const left = (lease + 1 + margin) * (1000 + permille);
        const right = (election - 1) * (1000 - permille);
        if (left > right) {
          assert(false, `E=${election} p=${permille} S=${margin}: lease ${lease} too long`);
        }
        checked++;
      }
    }
  }
  console.log(`${checked.toLocaleString("en")} (E, drift, margin) combinations checked`);
});

Deno.test("part 2: (1 + margin) ticks cover the watchdog's kill, for every tick and drift", () => {
  let checked = 0;
  for (let tick = 1; tick <= MAX_TICK_MS; tick++) {
    const margin = leaseSafetyTicksFor(tick);
    for (let permille = 0; permille <= MAX_DRIFT_PERMILLE; permille++) {
      if ((1 + margin) * tick * 1000 < WATCHDOG_KILL_MARGIN_MS * (1000 - permille)) {
        assert(false, `tick ${tick} ms, drift ${permille}: margin ${margin} ticks is too short`);
      }
      checked++;
    }
  }
  assertEquals(checked, MAX_TICK_MS * (MAX_DRIFT_PERMILLE + 1));
  // The default tick keeps the core's default margin: nothing changes for default configs.
  assertEquals(leaseSafetyTicksFor(50), defaultCoreConfig().leaseSafetyTicks);
});

Deno.test("part 3: a config the validation accepts has a lease longer than two heartbeats", () => {
  // The validation (config.ts) refuses heartbeat * 2 >= lease; spot the boundary it guards.
  for (const election of [2, 3, 5, 8, 10, 16]) {
    for (const heartbeat of [1, 2]) {
      let accepted = true;
      try {
        defaultCoreConfig({
          electionTimeoutTicks: election,
          heartbeatIntervalTicks: heartbeat,
          leaseSafetyTicks: leaseSafetyTicksFor(50),
        });
      } catch {
        accepted = false;
      }
      const lease = leaseDurationTicks(
        { ...defaultCoreConfig(), electionTimeoutTicks: election, leaseSafetyTicks: 2 },
      );
      assertEquals(accepted, heartbeat * 2 < lease, `E=${election} h=${heartbeat}`);
    }
  }
});
