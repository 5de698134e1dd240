/**
 * Running Postgres binaries as the configured OS user, with a time limit and captured output.
 *
 * @module
 */

/** Keep at most this many characters of a command's stdout and of its stderr. */
export const MAX_CAPTURED_OUTPUT_CHARS = 256 * 1024;

/** Options of {@link runCommand}. */
export interface RunOptions {
  /** Kill the command (SIGKILL) and throw {@link CommandTimeoutError} after this long. */
  readonly timeoutMs: number;
  /** OS user to run as (see {@link wrapForUser}); null: the agent's own user. */
  readonly runAsUser: string | null;
  /** Extra environment variables (added to the agent's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** Called with every chunk of stderr as it arrives (progress output). */
  readonly onStderr?: (text: string) => void;
  /** Working directory; default "/" so that a switched user can always enter it. */
  readonly cwd?: string;
}

/** What a finished command produced. */
export interface CommandResult {
  /** Exit code; 128 + signal number when killed by a signal. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Thrown when a command ran past its time limit (it has been killed). */
export class CommandTimeoutError extends Error {
  /** Creates the error for `argv` and the limit it exceeded. */
  constructor(readonly argv: readonly string[], readonly timeoutMs: number, stderr: string) {
    super(
      `command timed out after ${timeoutMs} ms and was killed: ${argv.join(" ")}` +
        (stderr.trim() ? `; stderr: ${lastLines(stderr)}` : ""),
    );
    this.name = "CommandTimeoutError";
  }
}

/** Thrown by {@link runChecked} when a command exits with a non-zero code. */
export class CommandFailedError extends Error {
  /** Creates the error from the command and its result. */
  constructor(readonly argv: readonly string[], readonly result: CommandResult) {
    super(
      `command failed with exit code ${result.code}: ${argv.join(" ")}; stderr: ` +
        `${lastLines(result.stderr) || "(empty)"}`,
    );
    this.name = "CommandFailedError";
  }
}

/** True when the agent runs as root (uid 0). */
export function runningAsRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * The argv that runs `argv` as `runAsUser`: prefixed with
 * `setpriv --reuid=U --regid=U --init-groups` when the agent is root and `runAsUser` is set
 * (setpriv execs, so the process id is the target's own), unchanged otherwise.
 */
export function wrapForUser(argv: readonly string[], runAsUser: string | null): string[] {
  if (runAsUser === null || runAsUser === "root" || !runningAsRoot()) return [...argv];
  return ["setpriv", `--reuid=${runAsUser}`, `--regid=${runAsUser}`, "--init-groups", ...argv];
}

/** Runs `argv` (as `runAsUser`) to completion within `timeoutMs`; never throws on exit codes. */
export async function runCommand(
  argv: readonly string[],
  options: RunOptions,
): Promise<CommandResult> {
  const wrapped = wrapForUser(argv, options.runAsUser);
  const child = new Deno.Command(wrapped[0]!, {
    args: wrapped.slice(1),
    cwd: options.cwd ?? "/",
    env: { LC_MESSAGES: "C", LC_ALL: "C", ...(options.env ?? {}) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, options.timeoutMs);
  try {
    const [stdout, stderr, status] = await Promise.all([
      collect(child.stdout, undefined),
      collect(child.stderr, options.onStderr),
      child.status,
    ]);
    if (timedOut) throw new CommandTimeoutError(argv, options.timeoutMs, stderr);
    const code = status.signal === null ? status.code : 128 + signalNumber(status.signal);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Like {@link runCommand} but throws {@link CommandFailedError} on a non-zero exit code. */
export async function runChecked(
  argv: readonly string[],
  options: RunOptions,
): Promise<CommandResult> {
  const result = await runCommand(argv, options);
  if (result.code !== 0) throw new CommandFailedError(argv, result);
  return result;
}

/** The last few lines of an output, for error messages. */
export function lastLines(text: string, maxLines = 8): string {
  return text.trim().split("\n").slice(-maxLines).join(" | ");
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  onText: ((text: string) => void) | undefined,
): Promise<string> {
  const decoder = new TextDecoder();
  let captured = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    onText?.(text);
    captured += text;
    if (captured.length > MAX_CAPTURED_OUTPUT_CHARS) {
      captured = captured.slice(captured.length - MAX_CAPTURED_OUTPUT_CHARS);
    }
  }
  return captured + decoder.decode();
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15,
};

/** Number of a signal name (for exit codes 128 + n); 0 when unknown. */
export function signalNumber(signal: string): number {
  return SIGNAL_NUMBERS[signal] ?? 0;
}
