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
  compareTimelineNumbers: false,
  voteOnStaleObservation: false,
  voteWhileReceivingWal: false,
  keepLeadingAfterTimeoutNow: false,
  pauseSkipsFencing: false,
  restartWritable: false,
  voteTwiceInTerm: false,
  appendSkipsPrevLogCheck: false,
  commitWithoutMajority: false,
  preVoteCountedInOwnTerm: false,
  commitBeforeQuorumNames: false,
  voteWithoutData: false,
};

/**
 * Ticks of margin in the freshness rule, beyond what the argument needs. The shell measures
 * an observation's age (`readTicksAgo`) in ticks of the same clock that counts
 * `ticksSinceLeaderContact`, from the tick before its read began, so a read counts as after
 * the wait only when it is; the margin absorbs the rounding of a shell that measures the age
 * by a wall clock instead.
 */
export const OBSERVATION_MARGIN_TICKS = 1;

/**
 * Cap of the age counters `ticksSinceLeaderContact` and `observationAgeTicks`, so that the
 * state space stays finite. Why it is enough: each counter is only compared with values up
 * to the longest election timeout (E + jitter); a capped counter never makes a check pass
 * that the true value would fail (the freshness check needs contact - age >= E + 1, which a
 * capped age, at least E + jitter, never meets while contact is at most E + jitter).
 */
export function ageCapTicks(config: CoreConfig): number {
  return config.electionTimeoutTicks + config.electionTimeoutJitterTicks;
}

/**
 * How many of the longest election timeouts (E + jitter) a leader gives its Postgres to run
 * as a primary before it hands leadership over (`primaryStartTimeoutTicks`, primary_watch.ts),
 * unless configured otherwise: 5 x 32 ticks = 8 s at the default 50 ms tick.
 *
 * Why this value. It must exceed what a healthy start takes, or a crashed primary that would
 * come back is failed over instead: the shell notices a dead postmaster at once, starts it
 * fenced, waits for connections (crash recovery), observes it running and unfences it, every
 * read at most OBSERVE_INTERVAL_MS (1 s) apart (src/agent/reconciler.ts): 2.2 to 3.6 s from
 * an immediate stop to the first write on a loaded 2-core host
 * (test/cluster/primary_start_failure_test.ts, which also shows no hand-over then).
 * After a start that fails, the shell tries again about every 2 s (1 s back-off, 1 s read
 * interval): 8 s is at least three failed starts, as for a standby
 * (MAX_STANDBY_START_FAILURES) before it is re-cloned. It must stay short next to the
 * failover target: a leader whose Postgres cannot start (a PANIC in crash recovery, a bad
 * setting, a data directory it cannot read) otherwise keeps the cluster without a writable
 * primary for as long as it leads. A crash recovery longer than this (much WAL since the last
 * checkpoint) is handed over too, which is safe (a hand-over is a transfer or a step-down)
 * and usually sooner than waiting. The agent scales it to the tick it runs with
 * (src/config/core_config.ts).
 */
export const PRIMARY_START_TIMEOUT_ELECTION_TIMEOUTS = 5;

/** Defaults, tuned for a 50 ms tick: election timeout 0.8-1.6 s, heartbeat 100 ms. */
export function defaultCoreConfig(overrides: Partial<CoreConfig> = {}): CoreConfig {
  const timing = { electionTimeoutTicks: 16, electionTimeoutJitterTicks: 16, ...overrides };
  const longestElectionTimeoutTicks = timing.electionTimeoutTicks +
    timing.electionTimeoutJitterTicks;
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
    primaryStartTimeoutTicks: PRIMARY_START_TIMEOUT_ELECTION_TIMEOUTS * longestElectionTimeoutTicks,
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
    "primaryStartTimeoutTicks",
  ] as const;
  for (const key of positive) {
    assert(
      Number.isSafeInteger(config[key]) && config[key] > 0,
      `${key} must be a positive integer, got ${config[key]}`,
    );
  }
  assert(config.electionTimeoutJitterTicks >= 1, "electionTimeoutJitterTicks must be at least 1");
  // A new leader needs time to commit its first entry, win its lease and promote.
  assert(
    config.primaryStartTimeoutTicks >
      config.electionTimeoutTicks + config.electionTimeoutJitterTicks,
    `primaryStartTimeoutTicks (${config.primaryStartTimeoutTicks}) must exceed the longest ` +
      `election timeout (${config.electionTimeoutTicks + config.electionTimeoutJitterTicks} ticks)`,
  );
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
 *
 * Fresh enough to vote (issue 9). That argument protects acknowledged commits only if the
 * position a voter compares with the candidate's already holds every WAL byte the voter
 * flushed for a commit a primary acknowledged. So a non-transfer (pre-)vote is granted only
 * on an observation that (a) was read after the voter had gone E ticks without leader
 * contact (plus OBSERVATION_MARGIN_TICKS; the shell measures when the read began,
 * `readTicksAgo`; freshness.ts) and (b) shows no WAL receiver running (`receivingWal`).
 *
 * (a) covers every leader whose rounds this voter acknowledged: by the inequality above with
 * the voter's own wait, the lease of each has run out, and leaseSafetyTicks earlier its
 * Postgres was fenced or killed by the watchdog: it acknowledges nothing more.
 *
 * (b) covers a primary whose lease other nodes renew while this voter is cut from its Raft
 * traffic but its standby still streams from it (and counts in `ANY k (...)`). A follower
 * that has gone E ticks without leader contact knows no live leader, so decidePostgresRole
 * asks for a standby that receives WAL from no one; the shell stops the WAL receiver and
 * waits until it is gone, and reports a receiver for any read it overlapped. A commit
 * acknowledged with this voter's flush was flushed before the receiver stopped; an
 * observation showing no receiver was read after it stopped, so it holds all of them; and
 * no receiver starts again before the voter hears a leader, which restarts its lease wait
 * (a vote then needs a new observation, read after a new wait and a new stop).
 *
 * The shell observes Postgres at once when `needsFreshObservation` says so and after it
 * stopped a receiver, which keeps elections live; a follower that hears a leader again
 * follows it at once. Switches: voteOnStaleObservation drops (a), voteWhileReceivingWal
 * drops (b).
 */
export function leaseDurationTicks(config: CoreConfig): number {
  const drift = config.clockDriftPermille / 1000;
  const voterWait = (config.electionTimeoutTicks - 1) * (1 - drift);
  const longest = Math.floor(voterWait / (1 + drift)) - 1;
  return Math.max(0, longest - config.leaseSafetyTicks);
}
