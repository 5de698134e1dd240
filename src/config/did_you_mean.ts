/**
 * Suggestions for misspelt names ("did you mean postgres.port?").
 *
 * @module
 */

/** Names longer than this are not compared (edit distance is quadratic). */
const MAX_COMPARED_LENGTH = 64;

/** The candidate closest to `name` when it is close enough to be a likely typo, else null. */
export function closestName(name: string, candidates: readonly string[]): string | null {
  if (name.length > MAX_COMPARED_LENGTH) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the length: "prot" -> "port" (1 of 4) is a typo, "user" -> "port" is not.
  const allowed = Math.max(1, Math.floor(name.length / 3));
  return bestDistance <= allowed ? best : null;
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
export function editDistance(left: string, right: string): number {
  const rows = left.length + 1;
  const columns = right.length + 1;
  const table: number[][] = Array.from(
    { length: rows },
    (_, i) => Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      let distance = Math.min(
        table[i - 1]![j]! + 1,
        table[i]![j - 1]! + 1,
        table[i - 1]![j - 1]! + cost,
      );
      if (i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1]) {
        distance = Math.min(distance, table[i - 2]![j - 2]! + 1);
      }
      table[i]![j] = distance;
    }
  }
  return table[rows - 1]![columns - 1]!;
}
