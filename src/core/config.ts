/**
 * Core configuration: defaults and the lease derived from the election timeout.
 *
 * @module
 */
import { assert } from "./assert.ts";
import type { CoreConfig, FaultSwitches } from "./types.ts";

/** Every negative-control switch off: the production setting. */
export const NO_FAULTS: FaultSwitches = {
  ackOnOneStandby: false,
  voteIgnoresPosition: false,
  skipLeaseWait: false,
  keepWritingWithoutMajority: false,
  commitOldTermByCount: false,
  syncSetIgnoresMembership: false,
};

/** Defaults, tuned for a 50 ms tick: election timeout 0.8-1.6 s, heartbeat 100 ms. */
export function defaultCoreConfig(overrides: Partial<CoreConfig> = {}): CoreConfig {
  const config: CoreConfig = {
    electionTimeoutTicks: 16,
    electionTimeoutJitterTicks: 16,
    heartbeatIntervalTicks: 2,
    clockDriftPermille: 10,
    leaseSafetyTicks: 2,
    maxLogEntries: 256,
    maxEntriesPerMessage: 64,
    maxKeyValueEntries: 1024,
    maxLagBytes: null,
    learnerCatchUpBytes: 16 * 1024 * 1024,
    transferTimeoutTicks: 200,
    commitGate: null,
    faults: NO_FAULTS,
    ...overrides,
  };
  validateCoreConfig(config);
  return config;
}

/** Throws a descriptive error when a configuration cannot give the lease guarantee. */
export function validateCoreConfig(config: CoreConfig): void {
  const positive = [
    "electionTimeoutTicks",
    "heartbeatIntervalTicks",
    "maxLogEntries",
    "maxEntriesPerMessage",
    "maxKeyValueEntries",
    "transferTimeoutTicks",
  ] as const;
  for (const key of positive) {
    assert(
      Number.isSafeInteger(config[key]) && config[key] > 0,
      `${key} must be a positive integer, got ${config[key]}`,
    );
  }
  assert(config.electionTimeoutJitterTicks >= 1, "electionTimeoutJitterTicks must be at least 1");
  assert(
    config.commitGate === null || /^[A-Za-z0-9._-]{1,63}$/.test(config.commitGate),
    `commitGate must be null or an application name of letters, digits, ".", "_", "-", got ${config.commitGate}`,
  );
  assert(
    config.clockDriftPermille >= 0 && config.clockDriftPermille < 500,
    `clockDriftPermille must be in [0, 500), got ${config.clockDriftPermille}`,
  );
  assert(
    config.heartbeatIntervalTicks * 2 < leaseDurationTicks(config),
    `heartbeatIntervalTicks (${config.heartbeatIntervalTicks}) must be well under the lease ` +
      `(${leaseDurationTicks(config)} ticks): raise electionTimeoutTicks or lower the heartbeat`,
  );
}

/**
 * How long, on the leader's clock, a heartbeat round acknowledged by a majority lets the
 * leader act as primary, counted from when the round was sent.
 *
 * Why it is safe: a voter refuses to vote until it has not heard from a leader for
 * `electionTimeoutTicks` on its own clock, and it heard the round no earlier than it was
 * sent. Ticks are whole, so the voter may have waited one tick less in real time, and the
 * leader may have aged the round one tick less than real time. With clock rates within
 * ±drift of real time, the voter's wait lasts at least (E - 1)(1 - d) real ticks while the
 * lease lasts at most (L + 1)(1 + d); L below is the largest whole L with
 * (L + 1)(1 + d) <= (E - 1)(1 - d), less the shell's fencing margin. Every election that
 * could depose this leader therefore needs a vote from some member of the acknowledging
 * majority, which is impossible before the lease has run out.
 */
export function leaseDurationTicks(config: CoreConfig): number {
  const drift = config.clockDriftPermille / 1000;
  const voterWait = (config.electionTimeoutTicks - 1) * (1 - drift);
  const longest = Math.floor(voterWait / (1 + drift)) - 1;
  return Math.max(0, longest - config.leaseSafetyTicks);
}
