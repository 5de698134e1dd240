/**
 * A small structured logger: one line per event, to stderr, with time, level, component.
 *
 * @module
 */

/** Log levels in order. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Writes log lines for one node. */
export class Logger {
  /** Creates a logger; lines below `level` are dropped. */
  constructor(readonly nodeId: string, readonly level: LogLevel = "info") {}

  /** Logs at `level`. */
  write(level: LogLevel, component: string, text: string): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const line = `${new Date().toISOString()} ${
      level.toUpperCase().padEnd(5)
    } ${this.nodeId} ${component}: ${text}\n`;
    Deno.stderr.writeSync(new TextEncoder().encode(line));
  }

  /** Debug detail. */
  debug(component: string, text: string): void {
    this.write("debug", component, text);
  }
  /** A normal event. */
  info(component: string, text: string): void {
    this.write("info", component, text);
  }
  /** Something needs attention but the node carries on. */
  warn(component: string, text: string): void {
    this.write("warn", component, text);
  }
  /** Something failed. */
  error(component: string, text: string): void {
    this.write("error", component, text);
  }
}
