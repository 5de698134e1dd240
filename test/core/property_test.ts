/**
 * Property tests: clusters of the real core (N=3 and N=5) under random message loss,
 * duplication, reordering, partitions (two-way and one-way), crashes and restarts that keep
 * only what was persisted, and client writes. Every step checks: at most one leader per
 * term, log matching, committed entries never lost (leader completeness), no vote for a
 * candidate behind in (timeline, LSN), at most one node with write authority at any instant.
 *
 * Runs HACTL_PROPERTY_RUNS schedules (default 10,000). On failure fast-check prints its
 * seed and path; HACTL_PROPERTY_SEED=<seed> replays the run exactly.
 */
import fc from "fast-check";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { SafetyViolation, Simulation } from "./simulator.ts";
import { NO_FAULTS } from "../../src/core/mod.ts";

const RUNS = Number(Deno.env.get("HACTL_PROPERTY_RUNS") ?? "10000");
const SEED = Deno.env.get("HACTL_PROPERTY_SEED");
/** Environment actions per schedule: several elections' worth of ticks and messages. */
const ACTIONS_PER_SCHEDULE = 1000;

const bases = new Map<number, Simulation>();
function base(nodes: number): Simulation {
  let simulation = bases.get(nodes);
  if (!simulation) {
    simulation = new Simulation({ nodes, seed: 7, steps: 0 });
    simulation.bootstrapCluster();
    bases.set(nodes, simulation);
  }
  return simulation;
}

function runSchedule(nodes: number, seed: number, faultLevel: number): Simulation {
  const simulation = base(nodes).fork(seed, {
    lossRate: 0.02 + faultLevel * 0.1,
    duplicateRate: faultLevel * 0.05,
    crashRate: faultLevel * 0.001,
    partitionRate: faultLevel * 0.0015,
  });
  for (let action = 0; action < ACTIONS_PER_SCHEDULE; action++) simulation.randomAction();
  return simulation;
}

Deno.test(`safety holds over ${RUNS} random schedules of 3- and 5-node clusters`, () => {
  const options: fc.Parameters<[number, number, number]> = { numRuns: RUNS };
  if (SEED) options.seed = Number(SEED);
  fc.assert(
    fc.property(
      fc.constantFrom(3, 5),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 0, max: 4 }),
      (nodes, seed, faultLevel) => {
        runSchedule(nodes, seed, faultLevel);
      },
    ),
    options,
  );
});

Deno.test("a seed replays the same run exactly", () => {
  const first = runSchedule(3, 12345, 3).fingerprint();
  const second = runSchedule(3, 12345, 3).fingerprint();
  assertEquals(first, second);
  assert(runSchedule(3, 54321, 3).fingerprint() !== first, "another seed gives another run");
});

Deno.test("liveness: after faults heal, a writable primary exists within a bounded time", () => {
  for (const nodes of [3, 5]) {
    for (let seed = 1; seed <= 20; seed++) {
      const simulation = runSchedule(nodes, seed, 4);
      simulation.healAll();
      const recovered = simulation.runUntil(() => {
        const writer = simulation.writableLeader();
        return writer !== null && !writer.postgres.inRecovery;
      }, 20_000);
      assert(recovered, `no writable primary after healing (N=${nodes}, seed ${seed})`);
    }
  }
});

Deno.test("a crashed primary is replaced by a writable one on another node", () => {
  for (const nodes of [3, 5]) {
    for (let seed = 1; seed <= 10; seed++) {
      const simulation = base(nodes).fork(seed);
      simulation.runUntil(() => simulation.writableLeader() !== null, 10_000);
      const old = simulation.writableLeader();
      assert(old, "a leader before the crash");
      old.alive = false;
      const replaced = simulation.runUntil(() => {
        const writer = simulation.writableLeader();
        return writer !== null && writer.id !== old.id && !writer.postgres.inRecovery;
      }, 20_000);
      assert(replaced, `no failover (N=${nodes}, seed ${seed})`);
    }
  }
});

/** Searches schedules under a negative control until the checks report a violation. */
function findViolation(
  fault: keyof typeof NO_FAULTS,
  nodes: number,
  maxSchedules: number,
): string | null {
  const config = { ...base(nodes).options.config, faults: { ...NO_FAULTS, [fault]: true } };
  for (let seed = 1; seed <= maxSchedules; seed++) {
    try {
      const simulation = base(nodes).fork(seed, {
        config,
        lossRate: 0.1,
        partitionRate: 0.006,
        crashRate: 0.004,
      });
      for (let action = 0; action < ACTIONS_PER_SCHEDULE; action++) simulation.randomAction();
    } catch (error) {
      if (error instanceof SafetyViolation) return error.message.split("\n")[0]!;
      throw error;
    }
  }
  return null;
}

for (
  const [fault, expected] of [
    ["keepWritingWithoutMajority", "write authority"],
    ["skipLeaseWait", "write authority"],
    ["voteIgnoresPosition", "position is behind"],
  ] as const
) {
  Deno.test(`the checks can fail: with ${fault} on, a violation is found`, () => {
    const violation = findViolation(fault, 3, 4000);
    assert(violation !== null, `no violation found under ${fault}`);
    assert(violation.includes(expected), violation);
  });
}
