/**
 * A small structured logger: one line per event, to stderr, with time, level, node and
 * component. `text` lines are for people; `json` lines (log.format = "json") are one object
 * per line for log collectors. The agent and its watchdog process write the same shapes.
 *
 * @module
 */

/** Log levels in order. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** How lines are written. */
export type LogFormat = "text" | "json";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One event, as a line of `format` (ending with a newline). */
export function formatLogLine(
  format: LogFormat,
  event: {
    readonly time: Date;
    readonly level: LogLevel;
    readonly node: string;
    readonly component: string;
    readonly message: string;
  },
): string {
  const time = event.time.toISOString();
  if (format === "json") {
    // Field names of common log schemas; a message with newlines stays one JSON line.
    return JSON.stringify({
      time,
      level: event.level,
      node: event.node,
      component: event.component,
      message: event.message,
    }) + "\n";
  }
  return `${time} ${
    event.level.toUpperCase().padEnd(5)
  } ${event.node} ${event.component}: ${event.message}\n`;
}

/** Writes log lines for one node. */
export class Logger {
  /** Creates a logger; lines below `level` are dropped. */
  constructor(
    readonly nodeId: string,
    readonly level: LogLevel = "info",
    readonly format: LogFormat = "text",
  ) {}

  /** Logs at `level`. */
  write(level: LogLevel, component: string, text: string): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const line = formatLogLine(this.format, {
      time: new Date(),
      level,
      node: this.nodeId,
      component,
      message: text,
    });
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
