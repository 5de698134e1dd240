/**
 * Applies the cluster-wide Postgres parameters on this node: writes parameters.conf when
 * the committed set changes, reloads a running server, and reads which parameters wait
 * for a restart (pg_settings.pending_restart, shown by `hactl list` and used by
 * `hactl restart --pending`). One operation at a time, off the agent's loop.
 *
 * @module
 */
import type { PostgresSettings } from "../postgres/settings.ts";
import {
  readPendingRestart,
  reloadConfiguration,
  renderClusterParameters,
  writeClusterParameters,
} from "../postgres/cluster_parameters.ts";
import type { Logger } from "./logger.ts";

/** The pending-restart list is read again at most this often while nothing changes. */
const PENDING_REFRESH_MS = 5_000;
/** The server applies a reload asynchronously: read pending_restart this long after it. */
const RELOAD_SETTLE_MS = 300;

/** Writes, reloads and reports the cluster parameters of the local Postgres. */
export class ParameterApplier {
  /** The text last written successfully; null before the first write. */
  #written: string | null = null;
  #busy = false;
  #lastRefreshMs = -Infinity;
  /** Parameters waiting for a restart; null while unknown (Postgres not running). */
  pendingRestart: string[] | null = null;
  lastError: string | null = null;

  constructor(
    private readonly settings: PostgresSettings,
    private readonly log: Logger,
  ) {}

  /** Called after each step: starts one write/reload/read when something is due. */
  update(parameters: ReadonlyArray<readonly [string, string]>, running: boolean): void {
    if (this.#busy) return;
    const text = renderClusterParameters(parameters);
    const changed = text !== this.#written;
    if (!running) this.pendingRestart = null;
    const sinceLastMs = performance.now() - this.#lastRefreshMs;
    // After a failure, wait before trying again rather than retrying at every step.
    if (this.lastError !== null && sinceLastMs < PENDING_REFRESH_MS) return;
    const refreshDue = running && sinceLastMs >= PENDING_REFRESH_MS;
    if (!changed && !refreshDue) return;
    this.#busy = true;
    this.#apply(text, changed, running, parameters.length)
      .catch((error) => {
        this.lastError = error instanceof Error ? error.message : String(error);
        this.log.warn("postgres", `cluster parameters: ${this.lastError}`);
      })
      .finally(() => {
        this.#lastRefreshMs = performance.now();
        this.#busy = false;
      });
  }

  async #apply(text: string, changed: boolean, running: boolean, count: number): Promise<void> {
    if (changed) {
      await writeClusterParameters(this.settings, text);
      this.#written = text;
      this.log.info("postgres", `cluster parameters written (${count})`);
      if (running) {
        await reloadConfiguration(this.settings);
        await new Promise((resolve) => setTimeout(resolve, RELOAD_SETTLE_MS));
      }
    }
    if (!running) return;
    const pending = await readPendingRestart(this.settings);
    if (pending.join() !== (this.pendingRestart ?? []).join()) {
      this.log.info(
        "postgres",
        pending.length === 0
          ? "no parameter waits for a restart"
          : `parameters waiting for a restart: ${pending.join(", ")}`,
      );
    }
    this.pendingRestart = pending;
    this.lastError = null;
  }
}
