/**
 * Plain-text tables for people (aligned columns, two spaces apart) and the cell formats
 * they use.
 *
 * @module
 */

/** Renders `header` and `rows` as aligned columns; short rows are padded with "-". */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const cells = [header, ...rows].map((row) => header.map((_, column) => row[column] ?? "-"));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells
    .map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd())
    .join("\n");
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** `1536` → `1.5 KiB`; null → `-`. */
export function formatByteCount(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return "-";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${bytes < 0 ? "-" : ""}${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}
