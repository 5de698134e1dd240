/**
 * A scheduled switchover as the cluster records it, in the replicated key-value map (so it
 * survives the operator's terminal and leader changes, as Patroni keeps it in its DCS):
 *
 * - `switchover/scheduled` = JSON {at, from, candidate, scheduledAtIso}: pending. `at` is the
 *   operator's ISO 8601 time with its offset, `from` the leader when it was scheduled,
 *   `candidate` the member to make primary (null: the most advanced standby);
 * - `switchover/outcome` = JSON {schedule, outcome, reason, atIso, by}: what became of the
 *   last one (`started`, `dropped`, `failed`, `cancelled`), the cluster-wide event entry.
 *
 * Written by the API (POST and DELETE /switchover) and the leader's agent
 * (switchover_scheduler.ts); read by `GET /switchover`, `/cluster` and `hactl list`.
 *
 * @module
 */
import type { Command, NodeId } from "../core/types.ts";

/** Key of the pending scheduled switchover. */
export const SCHEDULED_SWITCHOVER_KEY = "switchover/scheduled";
/** Key of the outcome of the last scheduled switchover. */
export const SWITCHOVER_OUTCOME_KEY = "switchover/outcome";
/** Latest time accepted: a week ahead (a schedule further out is more likely a typo). */
export const MAX_SCHEDULE_AHEAD_MS = 7 * 24 * 3_600_000;
/** An ISO 8601 date and time with a zone: `Z` or an offset. */
const SCHEDULE_TIME_PATTERN =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A pending scheduled switchover. */
export interface ScheduledSwitchover {
  /** When, as the operator gave it (ISO 8601 with a zone). */
  readonly at: string;
  /** The leader when it was scheduled: only it carries it out (Patroni's rule). */
  readonly from: NodeId;
  /** The member to make primary; null: the most advanced standby. */
  readonly candidate: NodeId | null;
  /** When it was recorded. */
  readonly scheduledAtIso: string;
}

/** What became of a scheduled switchover. */
export interface SwitchoverOutcome {
  readonly schedule: ScheduledSwitchover;
  readonly outcome: "started" | "dropped" | "failed" | "cancelled";
  readonly reason: string;
  readonly atIso: string;
  /** The member that decided it. */
  readonly by: NodeId;
}

/**
 * The time `text` names, in milliseconds since the epoch, or why it is not acceptable:
 * no zone, not a time, in the past, or more than {@link MAX_SCHEDULE_AHEAD_MS} ahead.
 */
export function scheduleTimeMs(text: string, nowMs: number): number | string {
  const atMs = parseScheduleTimeText(text);
  if (typeof atMs === "string") return atMs;
  if (atMs <= nowMs) {
    return `${text} is in the past (now is ${new Date(nowMs).toISOString()}): give a later time`;
  }
  if (atMs - nowMs > MAX_SCHEDULE_AHEAD_MS) return `${text} is more than 7 days ahead`;
  return atMs;
}

/**
 * The time `text` names, in milliseconds since the epoch, or why it is not an ISO 8601 date
 * and time with a zone (what the CLI checks before it asks the leader).
 */
export function parseScheduleTimeText(text: string): number | string {
  if (!SCHEDULE_TIME_PATTERN.test(text)) {
    return `${JSON.stringify(text)}: expected an ISO 8601 time with a time zone, e.g. ` +
      "2026-05-01T02:00:00Z or 2026-05-01T04:00:00+02:00";
  }
  return parseScheduleTime(text) ?? `${JSON.stringify(text)} is not a valid date and time`;
}

/** Milliseconds since the epoch of a recorded `at`, or null when it does not parse. */
export function parseScheduleTime(text: string): number | null {
  // Date.parse wants "T" and an offset with a colon; both other spellings are ISO 8601 too.
  const normalized = text.replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  const atMs = Date.parse(normalized);
  return Number.isNaN(atMs) || !hasCalendarFields(normalized) ? null : atMs;
}

/** False for a day the month lacks or an hour past 23 (Date.parse rolls those over). */
function hasCalendarFields(text: string): boolean {
  const fields = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(text);
  if (fields === null) return false;
  const [year, month, day, hour, minute, second] = fields.slice(1).map((f) => Number(f ?? 0));
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  return date.getUTCMonth() === month! - 1 && date.getUTCDate() === day && hour! <= 23 &&
    minute! <= 59 && second! <= 59;
}

/** The pending scheduled switchover; null when none (or its value is not one: see below). */
export function readScheduledSwitchover(
  keyValues: Readonly<Record<string, string>>,
): ScheduledSwitchover | null {
  const text = keyValues[SCHEDULED_SWITCHOVER_KEY];
  if (text === undefined) return null;
  const value = parseObject(text);
  if (
    value === null || typeof value.at !== "string" || typeof value.from !== "string" ||
    !(typeof value.candidate === "string" || value.candidate === null)
  ) return null;
  return {
    at: value.at,
    from: value.from,
    candidate: value.candidate,
    scheduledAtIso: typeof value.scheduledAtIso === "string" ? value.scheduledAtIso : "",
  };
}

/** True when a value is recorded under the key but is not a schedule (written by hand). */
export function hasUnreadableSchedule(keyValues: Readonly<Record<string, string>>): boolean {
  return keyValues[SCHEDULED_SWITCHOVER_KEY] !== undefined &&
    readScheduledSwitchover(keyValues) === null;
}

/** The outcome of the last scheduled switchover, or null. */
export function readSwitchoverOutcome(
  keyValues: Readonly<Record<string, string>>,
): SwitchoverOutcome | null {
  const text = keyValues[SWITCHOVER_OUTCOME_KEY];
  const value = text === undefined ? null : parseObject(text);
  if (value === null || typeof value.outcome !== "string" || typeof value.reason !== "string") {
    return null;
  }
  return value as unknown as SwitchoverOutcome;
}

/** The command recording `schedule` as pending. */
export function scheduleCommand(schedule: ScheduledSwitchover): Command {
  return { kind: "kv", key: SCHEDULED_SWITCHOVER_KEY, value: JSON.stringify(schedule) };
}

/** The command removing the pending schedule. */
export function unscheduleCommand(): Command {
  return { kind: "kv", key: SCHEDULED_SWITCHOVER_KEY, value: null };
}

/** The command recording what became of a schedule. */
export function outcomeCommand(outcome: SwitchoverOutcome): Command {
  return { kind: "kv", key: SWITCHOVER_OUTCOME_KEY, value: JSON.stringify(outcome) };
}

/** "switchover scheduled at AT from A to B", as `hactl list` prints it. */
export function describeSchedule(schedule: ScheduledSwitchover): string {
  const to = schedule.candidate ?? "the most advanced standby";
  return `switchover scheduled at ${schedule.at} from ${schedule.from} to ${to}`;
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}
