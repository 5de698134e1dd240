/**
 * A parser for the small part of TOML that hactl's configuration uses: comments, `[section]`
 * headers, and `key = value` with strings, integers, floats, booleans and arrays of strings.
 *
 * Everything else TOML allows (dotted or quoted keys, inline tables, arrays of tables,
 * multi-line strings, dates, hex numbers...) is refused with file:line:column and what is wrong,
 * rather than half-understood. Every line is checked: all errors are reported at once.
 *
 * @module
 */

/** A parsed value. Integers and floats are told apart, as TOML does. */
export type TomlValue =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "integer"; readonly value: number }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "string-array"; readonly value: readonly string[] };

/** One `key = value` line. */
export interface TomlEntry {
  /** Section name, "" for keys before any header. */
  readonly section: string;
  readonly key: string;
  readonly value: TomlValue;
  /** 1-based position of the key. */
  readonly line: number;
  readonly column: number;
}

/** A `[section]` header. */
export interface TomlSection {
  readonly name: string;
  readonly line: number;
}

/** A parsed file: its sections and entries in file order. */
export interface TomlDocument {
  readonly sections: readonly TomlSection[];
  readonly entries: readonly TomlEntry[];
}

/** At most this many errors are reported; past them the file is too broken to be worth it. */
export const MAX_PARSE_ERRORS = 20;

const BARE_KEY = /[A-Za-z0-9_-]/;
const ESCAPES: Readonly<Record<string, string>> = {
  b: "\b",
  t: "\t",
  n: "\n",
  f: "\f",
  r: "\r",
  '"': '"',
  "\\": "\\",
};
const INTEGER = /^[+-]?(0|[1-9](_?[0-9])*)$/;
const FLOAT = /^[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$/;

/** Thrown inside the parser for one line; the line is skipped and parsing goes on. */
class LineError extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

/**
 * Parses `text`; errors read `file:line:column: what is wrong`.
 * Never throws on any input.
 */
export function parseToml(
  text: string,
  fileName: string,
): { ok: true; document: TomlDocument } | { ok: false; errors: string[] } {
  const parser = new Parser(text, fileName);
  parser.parse();
  return parser.errors.length > 0
    ? { ok: false, errors: parser.errors }
    : { ok: true, document: { sections: parser.sections, entries: parser.entries } };
}

/** Renders a value in TOML syntax (used in error messages and by the template). */
export function renderTomlValue(value: TomlValue): string {
  switch (value.kind) {
    case "string":
      return quoteTomlString(value.value);
    case "integer":
    case "boolean":
      return String(value.value);
    case "float":
      return Number.isInteger(value.value) ? value.value.toFixed(1) : String(value.value);
    case "string-array":
      return `[${value.value.map(quoteTomlString).join(", ")}]`;
  }
}

/** A TOML basic string literal for `text`. */
export function quoteTomlString(text: string): string {
  let quoted = '"';
  for (const character of text) {
    const code = character.codePointAt(0)!;
    if (character === '"' || character === "\\") quoted += `\\${character}`;
    else if (code < 0x20 || code === 0x7f) quoted += `\\u${code.toString(16).padStart(4, "0")}`;
    else quoted += character;
  }
  return `${quoted}"`;
}

class Parser {
  readonly errors: string[] = [];
  readonly sections: TomlSection[] = [];
  readonly entries: TomlEntry[] = [];
  #offset = 0;
  #section = "";
  readonly #text: string;
  readonly #fileName: string;
  readonly #lineStarts: number[] = [0];

  constructor(text: string, fileName: string) {
    this.#text = text;
    this.#fileName = fileName;
    for (let i = 0; i < text.length; i++) if (text[i] === "\n") this.#lineStarts.push(i + 1);
  }

  parse(): void {
    while (this.#offset < this.#text.length && this.errors.length < MAX_PARSE_ERRORS) {
      try {
        this.#parseLine();
      } catch (error) {
        if (!(error instanceof LineError)) throw error;
        this.#error(error.offset, error.message);
        this.#skipToNextLine();
      }
    }
  }

  #parseLine(): void {
    this.#skipSpaces();
    const character = this.#peek();
    if (character === "\n" || character === "#" || character === "\r" || character === undefined) {
      this.#expectEndOfLine();
      return;
    }
    if (character === "[") this.#parseHeader();
    else this.#parseKeyValue();
    this.#expectEndOfLine();
  }

  #parseHeader(): void {
    const start = this.#offset;
    this.#offset++;
    if (this.#peek() === "[") {
      throw new LineError(start, "arrays of tables ([[...]]) are not supported");
    }
    this.#skipSpaces();
    const name = this.#readBareKey("section name");
    this.#skipSpaces();
    if (this.#peek() === ".") {
      throw new LineError(this.#offset, "nested sections ([a.b]) are not supported");
    }
    if (this.#peek() !== "]") {
      throw new LineError(this.#offset, `expected "]" to close the section header`);
    }
    this.#offset++;
    const earlier = this.sections.find((section) => section.name === name);
    if (earlier !== undefined) {
      throw new LineError(start, `section [${name}] appears twice (first at line ${earlier.line})`);
    }
    this.#section = name;
    this.sections.push({ name, line: this.#position(start).line });
  }

  #parseKeyValue(): void {
    const start = this.#offset;
    const key = this.#readBareKey("key");
    this.#skipSpaces();
    if (this.#peek() === ".") {
      throw new LineError(this.#offset, "dotted keys are not supported; use a [section] header");
    }
    if (this.#peek() !== "=") {
      throw new LineError(this.#offset, `expected "=" after the key ${key}`);
    }
    this.#offset++;
    this.#skipSpaces();
    const value = this.#parseValue();
    const earlier = this.entries.find((entry) =>
      entry.section === this.#section && entry.key === key
    );
    if (earlier !== undefined) {
      const where = this.#section === "" ? key : `${this.#section}.${key}`;
      throw new LineError(start, `${where} is set twice (first at line ${earlier.line})`);
    }
    const { line, column } = this.#position(start);
    this.entries.push({ section: this.#section, key, value, line, column });
  }

  #parseValue(): TomlValue {
    const character = this.#peek();
    if (character === '"' || character === "'") {
      return { kind: "string", value: this.#parseString() };
    }
    if (character === "[") return { kind: "string-array", value: this.#parseArray() };
    if (character === "{") {
      throw new LineError(this.#offset, "inline tables ({...}) are not supported");
    }
    if (character === undefined || character === "\n" || character === "\r" || character === "#") {
      throw new LineError(this.#offset, "expected a value after =");
    }
    return this.#parseScalar();
  }

  #parseScalar(): TomlValue {
    const start = this.#offset;
    while (this.#offset < this.#text.length && !/[\s#,\]]/.test(this.#text[this.#offset]!)) {
      this.#offset++;
    }
    const token = this.#text.slice(start, this.#offset);
    if (token === "true" || token === "false") return { kind: "boolean", value: token === "true" };
    if (INTEGER.test(token)) {
      const value = Number(token.replaceAll("_", ""));
      if (!Number.isSafeInteger(value)) {
        throw new LineError(
          start,
          `integer ${token} is out of range (at most ${Number.MAX_SAFE_INTEGER})`,
        );
      }
      return { kind: "integer", value };
    }
    if (FLOAT.test(token)) return { kind: "float", value: Number(token.replaceAll("_", "")) };
    throw new LineError(start, this.#describeBadToken(token));
  }

  #describeBadToken(token: string): string {
    if (/^[+-]?0[xob]/.test(token)) {
      return `${token}: hex, octal and binary integers are not supported`;
    }
    if (/^\d{4}-\d{2}-\d{2}/.test(token) || /^\d{2}:\d{2}/.test(token)) {
      return `${token}: dates and times are not supported`;
    }
    if (/^[+-]?(inf|nan)$/.test(token)) return `${token}: inf and nan are not supported`;
    if (/^(True|False|TRUE|FALSE|yes|no|on|off)$/.test(token)) {
      return `${token}: booleans are written true or false`;
    }
    if (/^[0-9+-]/.test(token)) return `${token} is not a valid number`;
    return `${token} is not a value: strings need quotes, e.g. "${token}"`;
  }

  #parseString(): string {
    const quote = this.#peek()!;
    const start = this.#offset;
    if (this.#text.startsWith(quote.repeat(3), start)) {
      throw new LineError(start, "multi-line strings are not supported");
    }
    this.#offset++;
    let value = "";
    for (;;) {
      const character = this.#peek();
      if (character === undefined || character === "\n" || character === "\r") {
        throw new LineError(start, "string is not closed on its line");
      }
      this.#offset++;
      if (character === quote) return value;
      if (quote === '"' && character === "\\") value += this.#parseEscape();
      else if (character.charCodeAt(0) < 0x20 && character !== "\t") {
        throw new LineError(this.#offset - 1, "control characters must be escaped in strings");
      } else value += character;
    }
  }

  #parseEscape(): string {
    const start = this.#offset - 1;
    const character = this.#peek();
    this.#offset++;
    if (character !== undefined && ESCAPES[character] !== undefined) return ESCAPES[character];
    if (character === "u" || character === "U") {
      const digits = character === "u" ? 4 : 8;
      const hex = this.#text.slice(this.#offset, this.#offset + digits);
      const code = /^[0-9A-Fa-f]+$/.test(hex) && hex.length === digits ? parseInt(hex, 16) : NaN;
      if (Number.isNaN(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        throw new LineError(start, `\\${character}${hex} is not a valid unicode escape`);
      }
      this.#offset += digits;
      return String.fromCodePoint(code);
    }
    throw new LineError(
      start,
      `\\${character ?? ""} is not a valid escape; write \\\\ for a backslash`,
    );
  }

  #parseArray(): string[] {
    const start = this.#offset;
    this.#offset++;
    const items: string[] = [];
    for (;;) {
      this.#skipSpacesNewlinesAndComments();
      const character = this.#peek();
      if (character === "]") {
        this.#offset++;
        return items;
      }
      if (character === undefined) throw new LineError(start, `array is not closed with "]"`);
      if (character !== '"' && character !== "'") {
        throw new LineError(this.#offset, "arrays may only hold strings");
      }
      items.push(this.#parseString());
      this.#skipSpacesNewlinesAndComments();
      if (this.#peek() === ",") this.#offset++;
      else if (this.#peek() !== "]") {
        throw new LineError(this.#offset, `expected "," or "]" in the array`);
      }
    }
  }

  #readBareKey(what: string): string {
    const start = this.#offset;
    const character = this.#peek();
    if (character === '"' || character === "'") {
      throw new LineError(start, `quoted ${what}s are not supported; use letters, digits, _ and -`);
    }
    while (this.#offset < this.#text.length && BARE_KEY.test(this.#text[this.#offset]!)) {
      this.#offset++;
    }
    if (this.#offset === start) {
      throw new LineError(
        start,
        `expected a ${what} (letters, digits, _ and -), got ${JSON.stringify(character ?? "")}`,
      );
    }
    return this.#text.slice(start, this.#offset);
  }

  #expectEndOfLine(): void {
    this.#skipSpaces();
    if (this.#peek() === "#") {
      while (this.#offset < this.#text.length && this.#text[this.#offset] !== "\n") this.#offset++;
    }
    if (this.#peek() === "\r" && this.#text[this.#offset + 1] === "\n") this.#offset++;
    const character = this.#peek();
    if (character !== undefined && character !== "\n") {
      throw new LineError(
        this.#offset,
        `unexpected ${JSON.stringify(character)}; expected the end of the line`,
      );
    }
    this.#offset++;
  }

  #skipSpaces(): void {
    while (this.#peek() === " " || this.#peek() === "\t") this.#offset++;
  }

  #skipSpacesNewlinesAndComments(): void {
    for (;;) {
      const character = this.#peek();
      if (character === " " || character === "\t" || character === "\n" || character === "\r") {
        this.#offset++;
      } else if (character === "#") {
        while (this.#offset < this.#text.length && this.#text[this.#offset] !== "\n") {
          this.#offset++;
        }
      } else return;
    }
  }

  #skipToNextLine(): void {
    while (this.#offset < this.#text.length && this.#text[this.#offset] !== "\n") this.#offset++;
    this.#offset++;
  }

  #peek(): string | undefined {
    return this.#text[this.#offset];
  }

  #position(offset: number): { line: number; column: number } {
    let low = 0;
    let high = this.#lineStarts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.#lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: offset - this.#lineStarts[low]! + 1 };
  }

  #error(offset: number, message: string): void {
    const { line, column } = this.#position(offset);
    this.errors.push(`${this.#fileName}:${line}:${column}: ${message}`);
  }
}
