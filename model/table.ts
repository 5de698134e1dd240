/**
 * The model check's result tables: aligned columns two spaces apart, a dashed rule under
 * the header (the CLI's tables, src/cli/table.ts, have no rule and trim the ends).
 *
 * @module
 */

/** Renders `header` and `rows` with a dashed rule under the header. */
export function formatColumns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column]!)).join("  ");
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join(
    "\n",
  );
}
