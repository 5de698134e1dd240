/**
 * The commented hactl.toml that `hactl init` writes: every section and key, explained, with its
 * default. Keys without a value are written commented out, so the file parses as it is and the
 * operator sees what can be set.
 *
 * @module
 */
import {
  CONFIG_FIELDS,
  CONFIG_KEY_PATHS,
  CONFIG_SECTIONS,
  type ConfigKeyPath,
  type ConfigSection,
} from "./config_schema.ts";
import { quoteTomlString, renderTomlValue, type TomlValue } from "./toml_subset.ts";

/** A value to write into the template, by "section.key". */
export type TemplateValue = string | number | boolean | readonly string[];

/** Values for the template; keys left out get their default (or are written commented out). */
export type TemplateValues = Partial<Readonly<Record<ConfigKeyPath, TemplateValue>>>;

/** A comment written after a key's value, on the same line (e.g. why it is off). */
export type TemplateNotes = Partial<Readonly<Record<ConfigKeyPath, string>>>;

/** Arrays longer than this are written one element per line. */
const MAX_INLINE_ARRAY_LENGTH = 60;

/** Renders a fully commented configuration file holding `values`, with `notes` beside them. */
export function renderConfigTemplate(values: TemplateValues, notes: TemplateNotes = {}): string {
  for (const path of Object.keys(values)) {
    if (!Object.hasOwn(CONFIG_FIELDS, path)) {
      throw new Error(`renderConfigTemplate: ${path} is not a configuration key`);
    }
  }
  const lines = [
    "# hactl node configuration.",
    "#",
    "# Every key is listed with what it does; commented-out keys show an example and keep their",
    "# default. Any key can be overridden by the environment variable HACTL_<SECTION>_<KEY>",
    "# (e.g. HACTL_POSTGRES_PORT=5433) or on the command line.",
  ];
  for (const section of Object.keys(CONFIG_SECTIONS) as ConfigSection[]) {
    lines.push("", `# ${CONFIG_SECTIONS[section]}`, `[${section}]`);
    for (
      const path of CONFIG_KEY_PATHS.filter((candidate) => candidate.startsWith(`${section}.`))
    ) {
      const rendered = renderKey(path, values[path]);
      const note = notes[path];
      if (note !== undefined) rendered.push(`${rendered.pop()}  # ${note}`);
      lines.push("", ...rendered);
    }
  }
  return `${lines.join("\n")}\n`;
}

function renderKey(path: ConfigKeyPath, value: TemplateValue | undefined): string[] {
  const field = CONFIG_FIELDS[path];
  const key = path.slice(path.indexOf(".") + 1);
  const comments = field.help.map((line) => `# ${line}`);
  if (field.default === "required") comments.push("# Required.");
  else if (field.default === "optional") comments.push("# Optional.");
  else comments.push(`# Default: ${renderTomlValue(field.default)}`);
  if (value !== undefined) return [...comments, ...assignment(key, toTomlValue(value))];
  if (typeof field.default !== "string") return [...comments, ...assignment(key, field.default)];
  return [...comments, `# ${key} = ${field.example}`];
}

function assignment(key: string, value: TomlValue): string[] {
  const inline = `${key} = ${renderTomlValue(value)}`;
  if (value.kind !== "string-array" || inline.length <= MAX_INLINE_ARRAY_LENGTH) return [inline];
  return [`${key} = [`, ...value.value.map((item) => `  ${quoteTomlString(item)},`), "]"];
}

function toTomlValue(value: TemplateValue): TomlValue {
  if (typeof value === "string") return { kind: "string", value };
  if (typeof value === "boolean") return { kind: "boolean", value };
  if (typeof value === "number") {
    return Number.isInteger(value) ? { kind: "integer", value } : { kind: "float", value };
  }
  return { kind: "string-array", value };
}
