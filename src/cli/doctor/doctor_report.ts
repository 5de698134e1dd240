/**
 * How `hactl doctor` prints its rows: an aligned table with a verdict line for people, or one
 * JSON document for machines, and the exit code they imply.
 *
 * @module
 */
import { renderTable } from "../table.ts";
import type { CheckResult } from "./check_result.ts";

/** The JSON document of `hactl doctor --json`. */
export interface DoctorReport {
  /** False when any check FAILed. */
  readonly ok: boolean;
  readonly failures: number;
  readonly warnings: number;
  readonly checks: readonly CheckResult[];
}

/** Counts the rows into a report. */
export function doctorReport(checks: readonly CheckResult[]): DoctorReport {
  const failures = checks.filter((check) => check.status === "FAIL").length;
  const warnings = checks.filter((check) => check.status === "warn").length;
  return { ok: failures === 0, failures, warnings, checks };
}

/** 1 when any check FAILed, else 0. */
export function doctorExitCode(report: DoctorReport): number {
  return report.ok ? 0 : 1;
}

/** The table and a last line saying whether `hactl run` may go ahead. */
export function renderDoctorReport(report: DoctorReport): string {
  const table = renderTable(
    ["CHECK", "STATUS", "DETAIL"],
    report.checks.map((check) => [check.check, check.status, check.detail]),
  );
  const verdict = report.ok
    ? `no failures, ${report.warnings} warning(s): ready for hactl run`
    : `${report.failures} failure(s), ${report.warnings} warning(s): fix the FAIL rows before hactl run`;
  return `${table}\n\n${verdict}`;
}
