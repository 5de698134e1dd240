/**
 * Log lines: `text` is one readable line; `json` (log.format = "json") is one JSON object per
 * line with time, level, node, component and message — a message with newlines or quotes
 * stays on one line and reads back unchanged.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { formatLogLine } from "../../src/agent/logger.ts";

const EVENT = {
  time: new Date("2026-01-02T03:04:05.678Z"),
  level: "warn" as const,
  node: "node1",
  component: "postgres",
  message: 'pg_rewind failed:\nline two "quoted"',
};

Deno.test("a JSON log line is one object that reads back to the event", () => {
  const line = formatLogLine("json", EVENT);
  assertEquals(line.endsWith("\n"), true);
  assertEquals(line.slice(0, -1).includes("\n"), false);
  assertEquals(JSON.parse(line), {
    time: "2026-01-02T03:04:05.678Z",
    level: "warn",
    node: "node1",
    component: "postgres",
    message: 'pg_rewind failed:\nline two "quoted"',
  });
});

Deno.test("a text log line keeps the readable layout", () => {
  assertEquals(
    formatLogLine("text", { ...EVENT, message: "promoted" }),
    "2026-01-02T03:04:05.678Z WARN  node1 postgres: promoted\n",
  );
});
