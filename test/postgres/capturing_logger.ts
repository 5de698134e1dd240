/** A logger for tests that keeps the reconciler's info, warn and debug lines to assert on. */
import { Logger } from "../../src/agent/logger.ts";

/** Keeps every info, warn and debug line as `LEVEL component: text`. */
export class CapturingLogger extends Logger {
  readonly lines: string[] = [];
  override info(component: string, text: string): void {
    this.lines.push(`INFO ${component}: ${text}`);
  }
  override warn(component: string, text: string): void {
    this.lines.push(`WARN ${component}: ${text}`);
  }
  override debug(component: string, text: string): void {
    this.lines.push(`DEBUG ${component}: ${text}`);
  }
}
