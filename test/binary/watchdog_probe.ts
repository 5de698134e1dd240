/**
 * Runs the real `hactl watchdog` through an argv built by src/self_command.ts, the way the
 * agent starts it: armed for a moment, then left without renewal so that its deadline fires.
 *
 * @module
 */

/** What the watchdog did: its exit code and standard error. */
export interface WatchdogProbeResult {
  readonly code: number;
  readonly stderr: string;
}

/**
 * Starts `argv` (a `hactl watchdog --pgdata DIR` command line) on an empty data directory,
 * arms it for 200 ms and closes its input: the deadline passes, the watchdog fences (nothing
 * to kill) and exits.
 */
export async function probeWatchdog(argv: readonly string[]): Promise<WatchdogProbeResult> {
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("arm 200\n"));
  await writer.close();
  const result = await child.output();
  return { code: result.code, stderr: new TextDecoder().decode(result.stderr) };
}

/**
 * A process standing in for the postmaster of `dataDirectory`: a `sleep` whose pid is
 * written to postmaster.pid, so that the watchdog's fence has a real process to kill.
 */
export async function startStandInPostmaster(dataDirectory: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" })
    .spawn();
  await Deno.writeTextFile(`${dataDirectory}/postmaster.pid`, `${child.pid}\n${dataDirectory}\n`);
  return child;
}
