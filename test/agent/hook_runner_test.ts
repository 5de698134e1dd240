/**
 * Hooks: which Postgres changes call which hook with which role (start, stop, promotion,
 * fence, demotion to replica; nothing for an unchanged role or the agent's first look), and
 * the runner with a real script: Patroni's three arguments, one at a time in order, and a
 * hook that hangs is killed at its timeout, with what it started, without holding up the
 * next one.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { hookCallsFor, HookRunner, HookWatch } from "../../src/agent/hook_runner.ts";
import { Logger } from "../../src/agent/logger.ts";
import type { PostgresObservation } from "../../src/core/types.ts";

function observed(status: PostgresObservation["status"], inRecovery: boolean, fenced = false) {
  return {
    status,
    inRecovery,
    position: null,
    replayCaughtUp: true,
    synchronousStandbyNames: null,
    fenced,
  } as PostgresObservation;
}

Deno.test("each Postgres change calls the hook Patroni would call", () => {
  const stopped = observed("stopped", true);
  const replica = observed("running", true);
  const primary = observed("running", false);
  const fenced = observed("running", false, true);
  assertEquals(hookCallsFor(null, primary), []);
  assertEquals(hookCallsFor(stopped, replica), [{ action: "on_start", role: "replica" }]);
  assertEquals(hookCallsFor(replica, primary), [{ action: "on_role_change", role: "primary" }]);
  assertEquals(hookCallsFor(primary, fenced), [{ action: "on_role_change", role: "demoted" }]);
  assertEquals(hookCallsFor(fenced, replica), [{ action: "on_role_change", role: "replica" }]);
  assertEquals(hookCallsFor(fenced, stopped), [{ action: "on_stop", role: "demoted" }]);
  assertEquals(hookCallsFor(primary, primary), []);
});

// Found with a frozen postmaster (test/cluster/frozen_postgres_test.ts): once its reads
// answered again, the comparison with the failed read fired on_start for a server that
// never stopped.
Deno.test("a server whose reads failed for a while calls no hook unless its role changed", () => {
  const watch = new HookWatch();
  const primary = observed("running", false);
  const unreadable = observed("unreadable", false);
  assertEquals(watch.next(primary), [], "the first read after the agent starts");
  assertEquals(watch.next(unreadable), []);
  assertEquals(watch.next(unreadable), []);
  assertEquals(watch.next(primary), [], "still the same primary: it never stopped");
  assertEquals(watch.next(unreadable), []);
  assertEquals(watch.next(observed("running", false, true)), [
    { action: "on_role_change", role: "demoted" },
  ]);
  assertEquals(watch.next(unreadable), []);
  assertEquals(watch.next(observed("stopped", false)), [{ action: "on_stop", role: "demoted" }]);
});

Deno.test("hooks run one at a time with Patroni's arguments; a hung one is killed", async () => {
  const directory = await Deno.makeTempDir({ prefix: "hactl-hook-test-" });
  try {
    const log = `${directory}/calls.log`;
    const script = `${directory}/hook.sh`;
    // Each call appends "begin ARGS", sleeps when told to, then "end ARGS": overlapping
    // calls would interleave begins and ends.
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\necho "begin $*" >> ${log}\n[ "$2" = demoted ] && sleep 29.317\nsleep 0.1\necho "end $*" >> ${log}\n`,
    );
    await Deno.chmod(script, 0o755);
    const runner = new HookRunner(
      { onRoleChange: script, onStart: script, onStop: null, timeoutMs: 500 },
      "demo",
      new Logger("n1", "error"),
    );
    runner.enqueue({ action: "on_start", role: "replica" });
    runner.enqueue({ action: "on_role_change", role: "demoted" });
    runner.enqueue({ action: "on_role_change", role: "primary" });
    runner.enqueue({ action: "on_stop", role: "primary" }); // not configured: not run
    await runner.idle();
    // The hung hook's "sleep 29.317" went with it: its "end" line never comes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sleeping = await new Deno.Command("pgrep", { args: ["-f", "sleep 29.317"] }).output();
    assert(!new TextDecoder().decode(sleeping.stdout).trim(), "the hung hook's child survived");
    assertEquals((await Deno.readTextFile(log)).trim().split("\n"), [
      "begin on_start replica demo",
      "end on_start replica demo",
      "begin on_role_change demoted demo",
      "begin on_role_change primary demo",
      "end on_role_change primary demo",
    ]);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
