/**
 * Runs the hactl command line as a user would (a real process, the same entry module).
 */
import { hactlCommand } from "../../src/self_command.ts";

/** Runs `hactl ARGS`; returns the exit code and everything it printed. */
export async function hactl(args: string[]): Promise<{ code: number; output: string }> {
  const [program, ...rest] = hactlCommand(args);
  const result = await new Deno.Command(program!, {
    args: rest,
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
