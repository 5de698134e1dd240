/**
 * Operator commands (placeholder until the full CLI lands).
 *
 * @module
 */

/** Operator commands by name. */
export const OPERATOR_COMMANDS: Record<
  string,
  { summary: string; run(args: string[]): Promise<number> }
> = {};
