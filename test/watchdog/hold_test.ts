/**
 * `hold`: the line the agent sends once its write authority ended while its Postgres is not
 * yet seen fenced. The armed deadline stands (no renewal), so a fence slower than the
 * lease's margin ends in the watchdog's kill; a `disarm` after the fence was seen cancels
 * it. A stand-in postmaster (a `sleep` process named in postmaster.pid) shows the kill, and
 * the test prints how late after the deadline it died (the figure WATCHDOG_KILL_MARGIN_MS
 * in src/config/core_config.ts bounds).
 */
import { assert } from "../postgres/assert.ts";
import { testHactlCommand as hactlCommand } from "../cluster/hactl_process.ts";

const encoder = new TextEncoder();

/** A data directory whose postmaster.pid names a fresh `sleep` process. */
async function fakePostmaster(directory: string): Promise<Deno.ChildProcess> {
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  await Deno.mkdir(`${directory}/pgdata`, { recursive: true });
  await Deno.writeTextFile(`${directory}/pgdata/postmaster.pid`, `${sleeper.pid}\n`);
  return sleeper;
}

/** Whether `child` is still running after `ms`. */
async function aliveAfter(child: Deno.ChildProcess, ms: number): Promise<boolean> {
  const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms));
  const ended = child.status.then(() => false);
  return await Promise.race([timer, ended]);
}

/** Runs `hactl watchdog` on a fake postmaster; `body` gets a line writer. */
async function withWatchdog(
  body: (send: (line: string) => Promise<void>, sleeper: Deno.ChildProcess) => Promise<void>,
): Promise<void> {
  const directory = await Deno.makeTempDir({ prefix: "hactl_hold_" });
  const sleeper = await fakePostmaster(directory);
  const argv = hactlCommand(["watchdog", "--pgdata", `${directory}/pgdata`]);
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    await body((line) => writer.write(encoder.encode(`${line}\n`)), sleeper);
  } finally {
    await writer.close().catch(() => {});
    try {
      sleeper.kill("SIGKILL");
    } catch { /* already killed */ }
    await sleeper.status;
    await child.status;
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("after `hold` the armed deadline stands: the postmaster is killed when it passes", async () => {
  await withWatchdog(async (send, sleeper) => {
    const armedAt = performance.now();
    await send("arm 400");
    await send("hold");
    assert(await aliveAfter(sleeper, 250), "killed before the deadline");
    await sleeper.status;
    const lateMs = performance.now() - armedAt - 400;
    console.log(`postmaster killed ${lateMs.toFixed(1)} ms after the deadline`);
    assert(lateMs >= -5, `killed ${-lateMs} ms before the deadline`);
  });
});

Deno.test("`disarm` after `hold` (the fence was seen) cancels the kill", async () => {
  await withWatchdog(async (send, sleeper) => {
    await send("arm 300");
    await send("hold");
    await send("disarm");
    assert(await aliveAfter(sleeper, 800), "killed although disarmed");
  });
});
