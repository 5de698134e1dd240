/**
 * One line of latency figures for the benchmark scripts: median, p90, p99 and mean.
 *
 * @module
 */

/** Prints `name` and the figures of `durationsMs` (in ms, `digits` decimals), then `extra`. */
export function printLatencySummary(
  name: string,
  durationsMs: readonly number[],
  options: { readonly digits?: number; readonly width?: number; readonly extra?: string } = {},
): void {
  const digits = options.digits ?? 2;
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  const figures = [
    `median ${at(0.5).toFixed(digits)}`,
    `p90 ${at(0.9).toFixed(digits)}`,
    `p99 ${at(0.99).toFixed(digits)}`,
    `mean ${mean.toFixed(digits)} ms`,
  ];
  console.log(`${name.padEnd(options.width ?? 44)} ${figures.join("  ")}${options.extra ?? ""}`);
}
