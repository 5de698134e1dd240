/**
 * A primary that cannot be fenced is killed by its watchdog when its lease ends (issue 10,
 * item 2: fencing takes real time).
 *
 * When a primary's agent loses its majority, its lease runs out and the agent fences its
 * server by SQL (up to FENCE_DEADLINE_MS, then an immediate stop). Here the server cannot be
 * fenced at all: its postmaster is stopped (SIGSTOP), so neither a connection nor a stop
 * signal gets through. The watchdog's deadline, one tick before the lease ends and anchored
 * on the ticks' due times, passes without a renewal and the watchdog kills every Postgres
 * process — before the other members could elect a new leader. (When authority ends for
 * another reason while the lease still runs, the agent sends `hold`, so the same deadline
 * stands until a read shows the server fenced: test/watchdog/hold_test.ts.)
 */
import { ok as assert } from "node:assert/strict";
import { LocalCluster, readPostmasterPid } from "../../src/demo/local_cluster.ts";
import { testHactlCommand } from "./hactl_process.ts";
import { isRunning, signalIfAlive } from "../harness/processes.ts";

const STARTUP_MS = 120_000;

Deno.test({
  name: "a primary that cannot be fenced is killed by its watchdog when its lease ends",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const directory = await Deno.makeTempDir({ prefix: "hactl-slow-fence-test-" });
    const cluster = await LocalCluster.create({
      directory,
      nodes: 3,
      basePort: 29500,
      hactlCommand: testHactlCommand,
    });
    let failed = true;
    const frozen: number[] = [];
    try {
      const primary = await cluster.startAll(STARTUP_MS);
      const postmaster = await readPostmasterPid(cluster.node(primary).dataDirectory);
      assert(postmaster !== null, "no postmaster.pid on the primary");
      // The server cannot be fenced: stopped, it takes no connection and acts on no signal.
      signalIfAlive(postmaster, "SIGSTOP");
      // The majority goes silent: the other agents are frozen, so authority ends.
      for (const node of cluster.nodes) {
        if (node.id === primary || !node.process) continue;
        frozen.push(node.process.pid);
        signalIfAlive(node.process.pid, "SIGSTOP");
      }
      const frozenAt = performance.now();
      await cluster.waitFor(
        "the watchdog kills the unfenceable postmaster",
        () => Promise.resolve(!isRunning(postmaster)),
        20_000,
      );
      console.log(
        `postmaster killed ${
          (performance.now() - frozenAt).toFixed(0)
        } ms after the majority froze`,
      );
      const log = await Deno.readTextFile(cluster.node(primary).logPath);
      assert(/no renewal from the agent before the lease deadline; killed \d+/.test(log), log);
      failed = false;
    } finally {
      for (const pid of frozen) signalIfAlive(pid, "SIGCONT");
      await cluster.destroy(failed);
      if (failed) console.error(`slow fence test failed; logs kept in ${directory}`);
    }
  },
});
