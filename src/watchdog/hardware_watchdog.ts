/**
 * The Linux watchdog device (/dev/watchdog, e.g. the softdog module or a hardware timer) as
 * the last resort of fencing: opened while this node may act as primary and kept alive by
 * the watchdog process; if that process stops (the whole machine frozen, the process
 * killed, its event loop stuck), the kernel or the hardware resets the machine when the
 * device's timeout runs out, so a Postgres that nothing else could stop goes down with it.
 *
 * Protocol (Documentation/watchdog/watchdog-api.rst in the Linux sources): opening the
 * device starts the timer, any write restarts it, and writing the magic character "V"
 * just before closing stops it (unless the driver was loaded with nowayout=1). The timeout
 * is the driver's setting (for softdog: `soft_margin`, 60 s by default); hactl does not
 * change it (that needs an ioctl). Choose one well above the lease: the device is the
 * backstop for the minutes-long hang, not the sub-second fence.
 *
 * @module
 */

/** Keep-alive writes are sent at most this often (device timeouts are whole seconds). */
const KEEPALIVE_INTERVAL_MS = 250;
const KEEPALIVE = new Uint8Array([0]);
const MAGIC_CLOSE = new TextEncoder().encode("V");

/** One watchdog device, opened on {@link activate} and closed cleanly on {@link release}. */
export class HardwareWatchdog {
  readonly #path: string;
  readonly #report: (text: string) => void;
  #device: Deno.FsFile | null = null;
  #opening = false;
  #lastKeepAliveMs = -Infinity;
  #lastProblem = "";

  constructor(path: string, report: (text: string) => void) {
    this.#path = path;
    this.#report = report;
  }

  /** Checks that the device exists (without opening it: opening starts the timer). */
  static async check(path: string): Promise<string | null> {
    try {
      const info = await Deno.stat(path);
      if (info.isDirectory) return `${path} is a directory, not a watchdog device`;
      return null;
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "no such device (load a driver, e.g. `modprobe softdog`, or leave node.hardware_watchdog out)"
        : error instanceof Error
        ? error.message
        : String(error);
      return `cannot use ${path}: ${reason}`;
    }
  }

  /** True while the device is open (its timer runs). */
  get active(): boolean {
    return this.#device !== null;
  }

  /** Opens the device if needed and restarts its timer (throttled). */
  async keepAlive(nowMs: number): Promise<void> {
    if (this.#device === null) {
      if (this.#opening) return;
      this.#opening = true;
      try {
        this.#device = await Deno.open(this.#path, { write: true });
        this.#lastProblem = "";
        this.#report(`hardware watchdog ${this.#path} active`);
      } catch (error) {
        this.#problem(
          `cannot open ${this.#path}: ${messageOf(error)}; ` +
            "give the OS user hactl's watchdog runs as write access to it (e.g. a udev rule)",
        );
        return;
      } finally {
        this.#opening = false;
      }
    }
    if (nowMs - this.#lastKeepAliveMs < KEEPALIVE_INTERVAL_MS) return;
    this.#lastKeepAliveMs = nowMs;
    try {
      await this.#device.write(KEEPALIVE);
    } catch (error) {
      this.#problem(`cannot keep ${this.#path} alive: ${messageOf(error)}`);
    }
  }

  /** Stops the timer (magic close) and closes the device; the machine is no longer at stake. */
  async release(): Promise<void> {
    const device = this.#device;
    if (device === null) return;
    this.#device = null;
    this.#lastKeepAliveMs = -Infinity;
    try {
      await device.write(MAGIC_CLOSE);
    } catch (error) {
      this.#problem(`cannot disarm ${this.#path}: ${messageOf(error)}`);
    }
    device.close();
    this.#report(`hardware watchdog ${this.#path} released`);
  }

  #problem(text: string): void {
    if (text !== this.#lastProblem) this.#report(text);
    this.#lastProblem = text;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
