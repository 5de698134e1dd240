/**
 * Running the system tools the test harness depends on (`ip`, `nft`, `setpriv`, ...), with
 * errors that name the command, its output and the Debian package to install when a tool is
 * missing.
 *
 * @module
 */

/** Debian package that provides each tool the harness calls; used in "install X" messages. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: "iproute2",
  nft: "nftables",
  setpriv: "util-linux",
  sh: "dash",
  bash: "bash",
  env: "coreutils",
  timeout: "coreutils",
  faketime: "faketime",
  pg_ctl: "postgresql-15",
  initdb: "postgresql-15",
};

/** Directories searched besides $PATH: sbin directories are often missing from a test's PATH. */
const EXTRA_TOOL_DIRECTORIES = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/** The output of a finished command. */
export interface CommandOutput {
  /** Exit code (non-zero on failure). */
  readonly code: number;
  /** True when the exit code is 0. */
  readonly success: boolean;
  /** Standard output decoded as UTF-8. */
  readonly stdout: string;
  /** Standard error decoded as UTF-8. */
  readonly stderr: string;
}

/** Options of {@link runCommand} and {@link runCommandSync}. */
export interface RunCommandOptions {
  /** Text written to the command's standard input. */
  readonly stdin?: string;
  /** When true a non-zero exit is returned instead of thrown. */
  readonly allowFailure?: boolean;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Returns the absolute path of `tool`, or throws an error naming the Debian package that
 * provides it (the CI script installs them with apt-get; the harness never installs anything).
 */
export function requireTool(tool: string): string {
  const found = findTool(tool);
  if (found !== null) return found;
  const packageName = TOOL_PACKAGES[tool] ?? tool;
  throw new Error(
    `test harness: the tool '${tool}' is not installed (searched $PATH and ` +
      `${EXTRA_TOOL_DIRECTORIES.join(", ")}); install the Debian package '${packageName}' ` +
      `(apt-get install -y ${packageName})`,
  );
}

/** Returns the absolute path of `tool` in $PATH or the sbin directories, or null. */
export function findTool(tool: string): string | null {
  const pathDirectories = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const directory of [...pathDirectories, ...EXTRA_TOOL_DIRECTORIES]) {
    const candidate = `${directory}/${tool}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return null;
}

/** Runs `argv` to completion; throws (with its stderr) on a non-zero exit unless allowed. */
export async function runCommand(
  argv: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandOutput> {
  const command = buildCommand(argv, options);
  let output: Deno.CommandOutput;
  if (options.stdin === undefined) {
    output = await command.output();
  } else {
    const child = command.spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
    output = await child.output();
  }
  return checkOutput(argv, output, options);
}

/**
 * Synchronous {@link runCommand} without stdin, for cleanup from an `unload` event or a signal
 * handler where no promise can be awaited.
 */
export function runCommandSync(
  argv: readonly string[],
  options: RunCommandOptions = {},
): CommandOutput {
  if (options.stdin !== undefined) {
    throw new Error("runCommandSync: stdin is not supported; use runCommand");
  }
  return checkOutput(argv, buildCommand(argv, options).outputSync(), options);
}

function buildCommand(argv: readonly string[], options: RunCommandOptions): Deno.Command {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error("runCommand: argv is empty; pass a program name");
  return new Deno.Command(program, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env === undefined ? {} : { env: { ...options.env } }),
  });
}

function checkOutput(
  argv: readonly string[],
  output: Deno.CommandOutput,
  options: RunCommandOptions,
): CommandOutput {
  const decoder = new TextDecoder();
  const result: CommandOutput = {
    code: output.code,
    success: output.success,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if (!result.success && options.allowFailure !== true) {
    throw new Error(
      `command failed with exit code ${result.code}: ${argv.join(" ")}\n` +
        `stderr: ${result.stderr.trim()}\nstdout: ${result.stdout.trim()}`,
    );
  }
  return result;
}
