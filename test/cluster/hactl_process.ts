/**
 * Runs the hactl command line as a user would (a real process, the same entry module).
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `hactl ARGS`; returns the exit code and everything it printed. */
export async function hactl(args: string[]): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}src/main.ts`,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}
