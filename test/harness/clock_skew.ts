/**
 * Clock skew and clock drift for one process, by libfaketime (the Debian package `faketime`,
 * which pulls in `libfaketime`).
 *
 * What was measured with libfaketime 0.9.10 (Debian 12) and Deno 2:
 * - `FAKETIME="+2s"` shifts CLOCK_REALTIME (`Date.now()`, `now()` in Postgres) by 2 s.
 * - By default libfaketime ALSO fakes CLOCK_MONOTONIC and CLOCK_BOOTTIME: with an offset they
 *   jump to wall-clock-sized values (harmless: only differences of a monotonic clock mean
 *   anything), and with a rate (`x2`) they run at that rate. Deno's `performance.now()` and its
 *   timers follow the faked monotonic clock, so a rate fakes a drifting clock for an agent.
 * - `FAKETIME_DONT_FAKE_MONOTONIC=1` leaves CLOCK_MONOTONIC and CLOCK_BOOTTIME untouched; then
 *   only the wall clock is skewed (and drifts with a rate), like a host whose NTP is off.
 * - libfaketime also scales libc sleeps (`usleep`, `nanosleep`) by the rate even when the
 *   monotonic clock is not faked; Deno's timers are not affected in that mode.
 * - Statically linked programs and direct `syscall(SYS_clock_gettime)` callers escape it.
 * - At exit, libfaketime's destructor releases the semaphore its stat wrappers take while Deno's
 *   other threads may still call `fstat`: the process then dies of SIGSEGV after its work is done
 *   (a core showed `lock_for_stat` in `__fxstat64` on one thread, `_dl_fini` on the main one).
 *   Measured on 2 cores under 3 busy loops: a 600 ms Deno probe died so in 1 of 60 runs with
 *   libfaketime.so.1, 16 of about 430 with libfaketimeMT.so.1, 0 of 300 with `NO_FAKE_STAT=1`, which leaves file times real
 *   (nothing here needs them faked). So `NO_FAKE_STAT=1` is always set.
 *
 * @module
 */

import { requireTool } from "./system_commands.ts";

/** Places where Debian and other distributions put the preload library. */
const LIBFAKETIME_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/faketime/libfaketime.so.1",
  "/usr/local/lib/faketime/libfaketime.so.1",
  "/usr/lib64/faketime/libfaketime.so.1",
];

/** What clock a process should see. */
export interface ClockSkewOptions {
  /** Wall-clock offset in milliseconds (may be negative); default 0. */
  readonly offsetMs?: number;
  /** Clock rate: 1.05 runs 5% fast, 0.95 runs 5% slow; default 1 (no drift). */
  readonly rate?: number;
  /**
   * Also fake CLOCK_MONOTONIC (default false). Set it to make a rate act on the monotonic clock
   * that leases are measured with (bounded-drift tests); leave it false for wall-clock skew only.
   */
  readonly fakeMonotonic?: boolean;
}

/** How to start a process under a skewed clock. */
export interface ClockSkew {
  /** Environment variables to add to the process (LD_PRELOAD, FAKETIME, ...). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The same as an argv prefix (`env VAR=value ...`), for when the variables must reach only
   * the final program and not the wrappers (`ip netns exec`, `setpriv`) before it.
   */
  readonly argvPrefix: readonly string[];
  /** The FAKETIME specification, e.g. "+2.000s x1.05". */
  readonly specification: string;
}

/** Rates outside this range are a typo, not a drift (libfaketime accepts anything positive). */
const MIN_RATE = 0.01;
const MAX_RATE = 100;

/** Returns the env and argv prefix that run a process under the requested fake clock. */
export function clockSkew(options: ClockSkewOptions): ClockSkew {
  const offsetMs = options.offsetMs ?? 0;
  const rate = options.rate ?? 1;
  if (!Number.isFinite(offsetMs)) {
    throw new Error(`clockSkew: offsetMs must be a finite number, got ${offsetMs}`);
  }
  if (!(rate >= MIN_RATE && rate <= MAX_RATE)) {
    throw new Error(`clockSkew: rate must be within [${MIN_RATE}, ${MAX_RATE}], got ${rate}`);
  }
  const sign = offsetMs < 0 ? "-" : "+";
  const seconds = (Math.abs(offsetMs) / 1000).toFixed(3);
  const specification = rate === 1 ? `${sign}${seconds}s` : `${sign}${seconds}s x${rate}`;
  const env: Record<string, string> = {
    LD_PRELOAD: findLibfaketime(),
    FAKETIME: specification,
    NO_FAKE_STAT: "1",
  };
  if (options.fakeMonotonic !== true) env.FAKETIME_DONT_FAKE_MONOTONIC = "1";
  const envTool = requireTool("env");
  const argvPrefix = [envTool, ...Object.entries(env).map(([key, value]) => `${key}=${value}`)];
  return { env, argvPrefix, specification };
}

/** Returns the path of libfaketime.so.1 or throws naming the package to install. */
export function findLibfaketime(): string {
  for (const candidate of LIBFAKETIME_CANDIDATES) {
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // Not here; try the next place.
    }
  }
  throw new Error(
    `clock skew: libfaketime.so.1 not found in ${LIBFAKETIME_CANDIDATES.join(", ")}; ` +
      "install the Debian package 'faketime' (apt-get install -y faketime)",
  );
}
