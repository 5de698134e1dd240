/**
 * Small checkers that turn parsed JSON (`unknown`) into typed values. Each throws a
 * {@link ShapeError} naming the field and the wrong value; storage turns it into a
 * corruption error naming the file.
 *
 * @module
 */

/** A JSON value does not have the expected shape. */
export class ShapeError extends Error {
  /** `field` is a dotted path such as "hardState.term". */
  constructor(field: string, expected: string, value: unknown) {
    super(`${field} must be ${expected}, got ${describe(value)}`);
    this.name = "ShapeError";
  }
}

/** A plain object (not null, not an array). */
export function expectRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ShapeError(field, "an object", value);
  }
  return value as Record<string, unknown>;
}

/** An array. */
export function expectArray(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(field, "an array", value);
  return value;
}

/** A safe integer >= 0. */
export function expectNaturalNumber(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ShapeError(field, "an integer >= 0", value);
  }
  return value as number;
}

/** A string. */
export function expectString(value: unknown, field: string): string {
  if (typeof value !== "string") throw new ShapeError(field, "a string", value);
  return value;
}

/** A string or null. */
export function expectStringOrNull(value: unknown, field: string): string | null {
  return value === null ? null : expectString(value, field);
}

/** A boolean. */
export function expectBoolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new ShapeError(field, "a boolean", value);
  return value;
}

/** The exact string `expected` (format tags). */
export function expectLiteral<T extends string>(value: unknown, expected: T, field: string): T {
  if (value !== expected) throw new ShapeError(field, JSON.stringify(expected), value);
  return expected;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  const maxShownChars = 60;
  return text.length > maxShownChars ? `${text.slice(0, maxShownChars)}...` : text;
}
