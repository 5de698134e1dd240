// Proves hactl keeps its safety contract under a short seeded nemesis schedule on a real
// multi-host cluster: after kills, agent-only and whole-host partitions, one-way links,
// replication cuts, stalled standbys, frozen hosts, skewed clocks, switchovers and a pause,
// every acknowledged write of three clients (Unix socket, multi-host read-write, gateway) is
// on the final primary, and no two nodes ever acknowledged writes at the same time. The seed
// is printed; HACTL_CHAOS_SEED=<seed> replays the schedule.

import { assert } from "../harness/test_assertions.ts";
import { chooseSeed, RECOVERY_TIMEOUT_MS, SHORT_SCHEDULE } from "./chaos_options.ts";
import { runChaos } from "./chaos_run.ts";

Deno.test({
  name: "chaos: a short seeded nemesis schedule loses no acknowledged write and has one writer",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const seed = chooseSeed();
    console.log(`chaos seed ${seed} (replay with HACTL_CHAOS_SEED=${seed})`);
    const figures = await runChaos({
      seed,
      schedule: SHORT_SCHEDULE,
      recoveryTimeoutMs: RECOVERY_TIMEOUT_MS,
      log: (line) => console.log(line),
    });
    console.log(figures.report);
    assert(figures.ok, `chaos run with seed ${seed} broke the contract:\n${figures.report}`);
    assert((figures.lost?.acknowledged ?? 0) > 0, "no acknowledged write at all");
  },
});
