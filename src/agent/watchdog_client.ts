/**
 * The agent's side of the watchdog: starts `hactl watchdog` as a child process and renews
 * it after every step.
 *
 * @module
 */
import { wrapForUser } from "../postgres/process_runner.ts";
import type { Logger } from "./logger.ts";
import { hactlCommand } from "../self_command.ts";
import type { PostgresSettings } from "../postgres/settings.ts";
import { FIRED_LINE } from "../watchdog/watchdog_command.ts";

/** Renewals are sent at most this often. */
const MIN_RENEWAL_INTERVAL_MS = 100;

/** A running watchdog process. */
export class WatchdogClient {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lastLine = "";
  #lastSentMs = 0;
  #child: Deno.ChildProcess;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
  }

  /**
   * Starts the watchdog for the local Postgres (as `runAsUser` when root), with its commit
   * gate connecting over the local socket as the superuser, and the Linux watchdog `device`
   * if one is configured.
   */
  static start(
    settings: PostgresSettings,
    device: string | null,
    log: Logger,
    onFired: () => void = () => {},
  ): WatchdogClient {
    const argv = wrapForUser(
      hactlCommand([
        "watchdog",
        ...(device === null ? [] : ["--device", device]),
        "--pgdata",
        settings.dataDirectory,
        "--socket-dir",
        settings.socketDirectory,
        "--port",
        String(settings.port),
        "--user",
        settings.superuser,
        // The watchdog writes to the agent's stderr, in the agent's log format.
        "--node",
        log.nodeId,
        "--log-format",
        log.format,
      ]),
      settings.runAsUser,
    );
    const child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    void readFirings(child.stdout, onFired);
    child.status.then((status) => log.warn("watchdog", `watchdog exited (code ${status.code})`));
    return new WatchdogClient(child);
  }

  /**
   * Arms the watchdog for `validMs` more milliseconds, disarms it (null), or holds it
   * ("hold": the last deadline stands, no renewal, the commit gate leaves).
   */
  renew(validMs: number | null | "hold"): void {
    const line = validMs === null
      ? "disarm\n"
      : validMs === "hold"
      ? "hold\n"
      : `arm ${Math.max(0, Math.floor(validMs))}\n`;
    const now = performance.now();
    const standing = line === "disarm\n" || line === "hold\n";
    if (line === this.#lastLine && standing) return;
    if (
      !standing && now - this.#lastSentMs < MIN_RENEWAL_INTERVAL_MS &&
      this.#lastLine.startsWith("arm ")
    ) return;
    this.#lastLine = line;
    this.#lastSentMs = now;
    this.#writer.write(new TextEncoder().encode(line)).catch(() => {});
  }

  /** Disarms and stops the watchdog. */
  async close(): Promise<void> {
    this.renew(null);
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

/** Calls `onFired` for each firing line the watchdog writes; reads until the pipe closes. */
async function readFirings(
  stdout: ReadableStream<Uint8Array>,
  onFired: () => void,
): Promise<void> {
  const lines = stdout.pipeThrough(new TextDecoderStream());
  let buffered = "";
  try {
    for await (const chunk of lines) {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) if (line === FIRED_LINE) onFired();
      // The watchdog writes nothing else; a runaway partial line is dropped, not kept.
      if (buffered.length > 1024) buffered = "";
    }
  } catch {
    // The watchdog exited; its exit is logged by start().
  }
}
