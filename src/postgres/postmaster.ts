/**
 * The postmaster as a child process of the agent: start (`postgres -D`, not pg_ctl, so the
 * agent owns the process and sees it die), wait until it accepts connections, stop (fast,
 * then immediate, then SIGKILL), and a bounded restart helper.
 *
 * @module
 */

import type { PostgresBinaries } from "./binaries.ts";
import { hasStandbySignal, writeStandbySignal } from "./config_files.ts";
import { ensureDirectory, ownerFor, pathExists, refuseSymlink } from "./files.ts";
import { runCommand, signalNumber, wrapForUser } from "./process_runner.ts";
import { logFileOf, type PostgresSettings, stateDirectoryOf } from "./settings.ts";

/** Marker beside the data directory: this node must start as a standby (see {@link requireStandby}). */
export const STANDBY_REQUIRED_MARKER = "standby.required";

const READY_POLL_INTERVAL_MS = 100;
const PG_ISREADY_TIMEOUT_MS = 3_000;
/** Characters of the server log quoted in an error message. */
const LOG_TAIL_CHARS = 2_000;

/** Time limits of {@link Postmaster.stop}. */
export interface StopOptions {
  /** Wait this long after SIGINT (fast shutdown) before SIGQUIT (immediate). */
  readonly fastTimeoutMs?: number;
  /** Wait this long after SIGQUIT before SIGKILL. */
  readonly immediateTimeoutMs?: number;
  /** Skip the fast shutdown and go straight to immediate (fencing). */
  readonly immediate?: boolean;
}

const DEFAULT_FAST_TIMEOUT_MS = 30_000;
const DEFAULT_IMMEDIATE_TIMEOUT_MS = 5_000;
const KILL_TIMEOUT_MS = 5_000;

/**
 * Records that this node must never start as a primary on its own: until {@link
 * clearStandbyRequired} (called by promote), every start writes standby.signal first.
 */
export async function requireStandby(settings: PostgresSettings): Promise<void> {
  await ensureStateDirectory(settings);
  const path = `${stateDirectoryOf(settings)}/${STANDBY_REQUIRED_MARKER}`;
  await refuseSymlink(path);
  const file = await Deno.open(path, { write: true, create: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

/** True when the node is marked {@link requireStandby}: its next start is as a standby. */
export async function isStandbyRequired(settings: PostgresSettings): Promise<boolean> {
  return await pathExists(`${stateDirectoryOf(settings)}/${STANDBY_REQUIRED_MARKER}`);
}

/** Removes the marker written by {@link requireStandby}. */
export async function clearStandbyRequired(settings: PostgresSettings): Promise<void> {
  await Deno.remove(`${stateDirectoryOf(settings)}/${STANDBY_REQUIRED_MARKER}`).catch(
    (error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    },
  );
}

/** Creates the state directory beside the data directory (log, password file, markers). */
export async function ensureStateDirectory(settings: PostgresSettings): Promise<void> {
  await ensureDirectory(stateDirectoryOf(settings), {
    mode: 0o700,
    owner: await ownerFor(settings.runAsUser),
  });
}

/** A running postmaster started by this agent. */
export class Postmaster {
  /** Resolves with the exit code (128 + signal when killed) once the postmaster has exited. */
  readonly exited: Promise<number>;
  #exitCode: number | null = null;
  #exitListeners: Array<(code: number) => void> = [];
  #lastStopSignal: Deno.Signal | null = null;

  private constructor(
    readonly settings: PostgresSettings,
    readonly binaries: PostgresBinaries,
    private readonly child: Deno.ChildProcess,
    private readonly logOffset: number,
  ) {
    this.exited = child.status.then((status) => {
      const code = status.signal === null ? status.code : 128 + signalNumber(status.signal);
      this.#exitCode = code;
      for (const listener of this.#exitListeners) listener(code);
      return code;
    });
  }

  /**
   * Starts `postgres -D <dataDirectory>` as the configured OS user, its output appended to
   * the log file beside the data directory. Writes standby.signal first when the node is
   * marked {@link requireStandby}. Does not wait for readiness (see {@link waitUntilReady}).
   */
  static async start(settings: PostgresSettings, binaries: PostgresBinaries): Promise<Postmaster> {
    if (!await pathExists(`${settings.dataDirectory}/PG_VERSION`)) {
      throw new Error(
        `cannot start Postgres: ${settings.dataDirectory} holds no cluster (no PG_VERSION); ` +
          `run initdb or clone first`,
      );
    }
    await ensureStateDirectory(settings);
    if (await isStandbyRequired(settings) && !await hasStandbySignal(settings.dataDirectory)) {
      await writeStandbySignal(settings);
    }
    const logFile = logFileOf(settings);
    const logOffset = await fileSize(logFile);
    const server = wrapForUser([
      binaries.path("postgres"),
      "-D",
      settings.dataDirectory,
      // Node-local settings on the command line win over files copied from other nodes.
      "-c",
      `port=${settings.port}`,
      "-c",
      `listen_addresses=${settings.listenAddress}`,
      "-c",
      `unix_socket_directories=${settings.socketDirectory}`,
    ], settings.runAsUser);
    // sh opens the log as the agent, then execs: the child pid is the postmaster's own.
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'log="$1"; shift; exec "$@" >>"$log" 2>&1',
        "hactl-postgres",
        logFile,
        ...server,
      ],
      cwd: "/",
      env: { LC_MESSAGES: "C" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    return new Postmaster(settings, binaries, child, logOffset);
  }

  /** Process id of the postmaster. */
  get pid(): number {
    return this.child.pid;
  }

  /**
   * The last signal {@link stop} sent (null before any stop): "SIGINT" means the fast
   * shutdown sufficed, "SIGQUIT" or "SIGKILL" that it had to fall back.
   */
  get lastStopSignal(): Deno.Signal | null {
    return this.#lastStopSignal;
  }

  /** True until the postmaster has exited. */
  get alive(): boolean {
    return this.#exitCode === null;
  }

  /** Calls `listener` with the exit code when the postmaster exits (at once if it has). */
  onExit(listener: (code: number) => void): void {
    if (this.#exitCode !== null) listener(this.#exitCode);
    else this.#exitListeners.push(listener);
  }

  /** The server log written since this postmaster started (its last characters). */
  async logTail(maxChars = LOG_TAIL_CHARS): Promise<string> {
    const text = await readFrom(logFileOf(this.settings), this.logOffset);
    return text.slice(-maxChars);
  }

  /**
   * Polls pg_isready until the server accepts connections. Throws when it exits first (with
   * the log tail) or the deadline passes. A standby accepts connections only once consistent.
   */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) {
        throw new Error(
          `Postgres exited with code ${this.#exitCode} while starting ` +
            `(${this.settings.dataDirectory}); log: ${await this.logTail()}`,
        );
      }
      if (await isAcceptingConnections(this.settings, this.binaries)) return;
      await delay(READY_POLL_INTERVAL_MS);
    }
    throw new Error(
      `Postgres did not accept connections on port ${this.settings.port} within ${timeoutMs} ms; ` +
        `log: ${await this.logTail()}`,
    );
  }

  /**
   * Stops the postmaster: SIGINT (fast shutdown), then SIGQUIT (immediate) after
   * `fastTimeoutMs`, then SIGKILL. Resolves with the exit code.
   */
  async stop(options: StopOptions = {}): Promise<number> {
    const steps: Array<[Deno.Signal, number]> = [
      ["SIGINT", options.fastTimeoutMs ?? DEFAULT_FAST_TIMEOUT_MS],
      ["SIGQUIT", options.immediateTimeoutMs ?? DEFAULT_IMMEDIATE_TIMEOUT_MS],
      ["SIGKILL", KILL_TIMEOUT_MS],
    ];
    for (const [signal, waitMs] of options.immediate ? steps.slice(1) : steps) {
      if (!this.alive) break;
      this.#lastStopSignal = signal;
      try {
        this.child.kill(signal);
      } catch {
        // Exited between the check and the signal.
      }
      const code = await Promise.race([this.exited, delay(waitMs).then(() => null)]);
      if (code !== null) return code;
    }
    if (!this.alive) return await this.exited;
    throw new Error(`Postgres (pid ${this.pid}) survived SIGKILL for ${KILL_TIMEOUT_MS} ms`);
  }
}

/** True when pg_isready reports that the server accepts connections. */
export async function isAcceptingConnections(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
): Promise<boolean> {
  try {
    const result = await runCommand([
      binaries.path("pg_isready"),
      "-q",
      "-h",
      settings.socketDirectory,
      "-p",
      String(settings.port),
      "-t",
      "2",
    ], { timeoutMs: PG_ISREADY_TIMEOUT_MS, runAsUser: null });
    return result.code === 0;
  } catch {
    return false;
  }
}

/** Limits of {@link startWithBackoff}. */
export interface RestartOptions {
  /** Give up after this many failed starts. */
  readonly maxAttempts: number;
  /** Wait before the second attempt; doubles per attempt up to `maxBackoffMs`. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Time limit for each attempt to accept connections. */
  readonly readyTimeoutMs: number;
}

/**
 * Starts the postmaster and waits until it is ready, retrying with exponential backoff (the
 * agent decides to restart; this bounds how hard it tries). Throws the last error.
 */
export async function startWithBackoff(
  settings: PostgresSettings,
  binaries: PostgresBinaries,
  options: RestartOptions,
): Promise<Postmaster> {
  let backoffMs = options.initialBackoffMs;
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const postmaster = await Postmaster.start(settings, binaries);
    try {
      await postmaster.waitUntilReady(options.readyTimeoutMs);
      return postmaster;
    } catch (error) {
      lastError = error;
      if (postmaster.alive) await postmaster.stop({ immediate: true });
    }
    if (attempt < options.maxAttempts) await delay(backoffMs);
    backoffMs = Math.min(backoffMs * 2, options.maxBackoffMs);
  }
  throw new Error(
    `Postgres did not start after ${options.maxAttempts} attempts: ${String(lastError)}`,
  );
}

/** The pid in postmaster.pid when that process is alive and is a postgres process, else null. */
export async function livePostmasterPid(dataDirectory: string): Promise<number | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dataDirectory}/postmaster.pid`);
  } catch {
    return null;
  }
  const pid = parseInt(text.split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const commandLine = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    return commandLine.includes("postgres") ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Stops a postmaster this agent does not own (found by postmaster.pid), e.g. after the agent
 * restarted: `immediate` sends SIGQUIT, else SIGINT; SIGKILL if it outlives `timeoutMs`.
 * Returns true when no postmaster runs afterwards.
 */
export async function stopByPidFile(
  dataDirectory: string,
  options: { readonly immediate: boolean; readonly timeoutMs: number },
): Promise<boolean> {
  const pid = await livePostmasterPid(dataDirectory);
  if (pid === null) return true;
  const signals: Deno.Signal[] = options.immediate ? ["SIGQUIT", "SIGKILL"] : [
    "SIGINT",
    "SIGQUIT",
    "SIGKILL",
  ];
  for (const signal of signals) {
    try {
      Deno.kill(pid, signal);
    } catch {
      return true;
    }
    const deadline = Date.now() + options.timeoutMs;
    while (Date.now() < deadline) {
      if (!await pathExists(`/proc/${pid}`)) return true;
      await delay(READY_POLL_INTERVAL_MS);
    }
  }
  return !await pathExists(`/proc/${pid}`);
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  try {
    const bytes = await Deno.readFile(path);
    return new TextDecoder().decode(bytes.subarray(Math.min(offset, bytes.length)));
  } catch {
    return "";
  }
}
