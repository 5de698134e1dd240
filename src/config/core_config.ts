/**
 * The core's configuration as a node's file gives it, with the lease's safety margin set from
 * the tick length (the one real-time figure the core cannot know).
 *
 * Why the margin: the core ends write authority `leaseSafetyTicks` before the lease bound
 * of config.ts, and the agent arms the watchdog one tick shorter still; when authority ends,
 * the watchdog's deadline stands until a read shows the server fenced (agent.ts), so the
 * old primary stops accepting writes at the latest by that deadline plus the time the
 * watchdog needs to notice and kill every Postgres process. That time must fit in
 * `(leaseSafetyTicks + 1)` ticks, whatever the tick: with {@link WATCHDOG_KILL_MARGIN_MS}
 * as its bound, a short tick gets more margin ticks. test/core/lease_formula_test.ts checks
 * the whole chain over every value the config file accepts.
 *
 * @module
 */
import {
  type CoreConfig,
  defaultCoreConfig,
  PRIMARY_START_TIMEOUT_ELECTION_TIMEOUTS,
} from "../core/mod.ts";
import type { AgentConfig } from "./config_schema.ts";

/**
 * Bound on the time from the watchdog's deadline to the last Postgres process killed: the
 * timer firing late, reading postmaster.pid, signalling the process group. Measured in
 * milliseconds on an idle host (test/watchdog); the bound leaves room for a loaded one.
 */
export const WATCHDOG_KILL_MARGIN_MS = 100;

/** The core's minimum margin, in ticks, whatever the tick (the default at 50 ms ticks). */
export const MIN_LEASE_SAFETY_TICKS = 2;

/** Margin ticks for a tick of `tickMs`: (margin + 1) ticks cover the watchdog's kill. */
export function leaseSafetyTicksFor(tickMs: number): number {
  return Math.max(MIN_LEASE_SAFETY_TICKS, Math.ceil(WATCHDOG_KILL_MARGIN_MS / tickMs) - 1);
}

/**
 * Least real time a leader gives its Postgres to run as a primary before it hands over
 * (src/core/config.ts, PRIMARY_START_TIMEOUT_ELECTION_TIMEOUTS, says why): a short tick must
 * not make it shorter than a healthy start.
 */
export const PRIMARY_START_TIMEOUT_MS = 8_000;

/**
 * The hand-over bound in ticks: five of the longest election timeouts, and at least
 * {@link PRIMARY_START_TIMEOUT_MS} (160 ticks at the default 50 ms tick, either way).
 */
export function primaryStartTimeoutTicksFor(config: Pick<AgentConfig, "raft">): number {
  const raft = config.raft;
  const longest = raft.electionTimeoutTicks + raft.electionTimeoutJitterTicks;
  return Math.max(
    PRIMARY_START_TIMEOUT_ELECTION_TIMEOUTS * longest,
    Math.ceil(PRIMARY_START_TIMEOUT_MS / raft.tickMs),
  );
}

/** The core configuration of a node's file (`overrides` for what the agent adds). */
export function coreConfigOf(
  config: Pick<AgentConfig, "raft">,
  overrides: Partial<CoreConfig> = {},
): CoreConfig {
  return defaultCoreConfig({
    electionTimeoutTicks: config.raft.electionTimeoutTicks,
    electionTimeoutJitterTicks: config.raft.electionTimeoutJitterTicks,
    heartbeatIntervalTicks: config.raft.heartbeatIntervalTicks,
    clockDriftPermille: config.raft.clockDriftPermille,
    leaseSafetyTicks: leaseSafetyTicksFor(config.raft.tickMs),
    primaryStartTimeoutTicks: primaryStartTimeoutTicksFor(config),
    ...overrides,
  });
}
