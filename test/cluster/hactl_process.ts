/**
 * Runs the hactl command line as a user would (a real process). Which hactl: the executable
 * named by `HACTL_BIN` (a compiled release binary) when set, else the entry module from
 * source with `deno run`. Every test that starts hactl goes through {@link testHactlCommand}.
 */
import { hactlCommand, selfCommand } from "../../src/self_command.ts";

/** The compiled hactl the tests run, from `HACTL_BIN`; null to run from source. */
export function hactlBinary(): string | null {
  const path = Deno.env.get("HACTL_BIN") ?? "";
  return path === "" ? null : path;
}

/** argv of `hactl ARGS` for tests: the `HACTL_BIN` executable, or `deno run` of the source. */
export function testHactlCommand(args: readonly string[]): string[] {
  const executable = hactlBinary();
  return executable === null
    ? hactlCommand(args)
    : selfCommand({ kind: "compiled", executable }, args);
}

/** Runs `hactl ARGS` with `input` on its standard input; the exit code and all it printed. */
export async function hactl(
  args: string[],
  input = "",
): Promise<{ code: number; output: string }> {
  const [program, ...rest] = testHactlCommand(args);
  const child = new Deno.Command(program!, {
    args: rest,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input)).catch(() => {});
  await writer.close().catch(() => {});
  const result = await child.output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/**
 * Words in an agent log that mean an error escaped every boundary: Deno prints "Uncaught" for an
 * uncaught error or unhandled rejection, and a core assertion says "invariant violated". No
 * remote input may cause either, so a cluster test that sees one fails.
 */
export const ESCAPED_ERROR_PATTERN = /Uncaught|unhandled|invariant violated/i;

/** The lines of `text` that show an escaped error (with the line number), at most `max`. */
export function escapedErrorLines(text: string, max = 20): string[] {
  const found: string[] = [];
  for (const [position, line] of text.split("\n").entries()) {
    if (ESCAPED_ERROR_PATTERN.test(line)) found.push(`${position + 1}: ${line}`);
    if (found.length >= max) break;
  }
  return found;
}

/**
 * Throws when any of the agent logs shows an uncaught error or unhandled rejection, naming
 * the log and the lines. Call it at the end of every cluster test (missing logs are skipped).
 */
export async function assertNoEscapedErrors(logPaths: readonly string[]): Promise<void> {
  const problems: string[] = [];
  for (const path of logPaths) {
    const text = await Deno.readTextFile(path).catch(() => "");
    const lines = escapedErrorLines(text);
    if (lines.length > 0) problems.push(`${path}:\n  ${lines.join("\n  ")}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `an agent had an uncaught error or unhandled rejection:\n${problems.join("\n")}`,
    );
  }
}
