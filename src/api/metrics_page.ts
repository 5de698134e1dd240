/**
 * A Prometheus text exposition page (format 0.0.4) built family by family: each family gets
 * exactly one HELP and one TYPE line, a second family of the same name is a bug of the caller
 * (`promtool check metrics` would reject the page), so it throws.
 *
 * @module
 */

/** One sample: label pairs and value. */
export type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

/** The families written so far, as lines. */
export class MetricsPage {
  readonly #lines: string[] = [];
  readonly #names = new Set<string>();

  /** Adds a family; samples may be empty (then only HELP and TYPE are written). */
  family(name: string, type: "gauge" | "counter", help: string, samples: readonly Sample[]): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name ${name}`);
    if (this.#names.has(name)) throw new Error(`metric ${name} written twice on one page`);
    this.#names.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      this.#lines.push(`${name}${formatLabels(labels)} ${formatNumber(value)}`);
    }
  }

  /** A gauge with one unlabelled sample (booleans become 0 or 1). */
  gauge(name: string, help: string, value: number | boolean): void {
    this.family(name, "gauge", help, [[{}, Number(value)]]);
  }

  /** A counter with one unlabelled sample. */
  counter(name: string, help: string, value: number): void {
    this.family(name, "counter", help, [[{}, value]]);
  }

  /** True when a family of this name was written. */
  has(name: string): boolean {
    return this.#names.has(name);
  }

  /** The page text, ending with a newline. */
  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels);
  if (pairs.length === 0) return "";
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`;
}

/** Escapes a label value as the exposition format requires. */
function escapeLabel(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  return String(value);
}
