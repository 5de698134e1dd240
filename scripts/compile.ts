/**
 * Builds the single-file hactl executable with `deno compile`, with exactly the permissions
 * hactl runs with from source (src/self_command.ts), never --allow-all.
 *
 *   deno run --allow-run --allow-read --allow-write --allow-env scripts/compile.ts \
 *     [--target x86_64-unknown-linux-gnu] [--output dist/hactl] [--no-check]
 *
 * deno compile downloads its runtime (denort) for the target, or takes it from `DENORT_BIN`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { HACTL_PERMISSIONS } from "../src/self_command.ts";

/** What to compile: a target triple (null: this machine's) and the output path. */
export interface CompileOptions {
  readonly target: string | null;
  readonly output: string;
  /** False skips the type check (a test that has its own type-check step). */
  readonly typeCheck?: boolean;
}

/** The project's root directory (where deno.json is). */
export const PROJECT_ROOT = new URL("..", import.meta.url).pathname;

/** Arguments of `deno compile` for hactl. */
export function compileArguments(options: CompileOptions): string[] {
  return [
    "compile",
    ...HACTL_PERMISSIONS,
    "--frozen",
    ...(options.typeCheck === false ? ["--no-check"] : []),
    "--config",
    `${PROJECT_ROOT}deno.json`,
    ...(options.target === null ? [] : ["--target", options.target]),
    "--output",
    options.output,
    `${PROJECT_ROOT}src/main.ts`,
  ];
}

/** Why a failed compile failed, when the cause is that denort could not be downloaded. */
export function runtimeDownloadFailure(stderr: string): string | null {
  if (!/Download\S*\s+https:\/\/dl\.deno\.land\/\S*denort/.test(stderr)) return null;
  return "deno compile could not download its runtime (denort) from dl.deno.land; " +
    "without network access set DENORT_BIN to a denort of the same Deno version";
}

/** Runs `deno compile`; the exit code and what it printed on standard error. */
export async function compileHactl(
  options: CompileOptions,
): Promise<{ code: number; stderr: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: compileArguments(options),
    cwd: PROJECT_ROOT,
    stdout: "inherit",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: result.code, stderr: new TextDecoder().decode(result.stderr) };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string" },
      output: { type: "string" },
      "no-check": { type: "boolean" },
    },
  });
  const options = {
    target: values.target ?? null,
    output: values.output ?? "dist/hactl",
    typeCheck: values["no-check"] !== true,
  };
  const { code, stderr } = await compileHactl(options);
  console.error(stderr.trimEnd());
  const reason = code === 0 ? null : runtimeDownloadFailure(stderr);
  if (reason !== null) console.error(`compile: ${reason}`);
  Deno.exit(code);
}
