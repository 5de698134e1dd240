/**
 * The TOML subset parser reads every construct hactl.toml uses, refuses everything else with
 * file:line:column and what is wrong, reports all bad lines at once, and never throws.
 */
import fc from "fast-check";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  parseToml,
  quoteTomlString,
  renderTomlValue,
  type TomlValue,
} from "../../src/config/toml_subset.ts";

function values(text: string): Record<string, TomlValue> {
  const parsed = parseToml(text, "t.toml");
  assert(parsed.ok, parsed.ok ? "" : parsed.errors.join("\n"));
  return Object.fromEntries(
    parsed.document.entries.map((entry) => [`${entry.section}.${entry.key}`, entry.value]),
  );
}

Deno.test("every supported construct is read: comments, sections, strings, numbers, booleans, string arrays", () => {
  const text = [
    "# a comment line",
    "top = 1",
    "",
    "[node]   # a comment after a header",
    'id = "node1"  # trailing comment',
    "data_dir = '/var/lib/hactl'",
    'escaped = "tab\\there \\"quoted\\" back\\\\slash \\u00e9 \\U0001F600"',
    "literal = 'C:\\no\\escapes'",
    "[numbers]",
    "port = 5_432",
    "negative = -17",
    "ratio = 0.25",
    "big = 1e3",
    "flag = true",
    "other = false",
    "[lists]",
    "empty = []",
    'one = ["a"]',
    "many = [",
    '  "node2=10.0.0.2:7401",  # first peer',
    "  'node3=10.0.0.3:7401',",
    "]",
  ].join("\r\n");
  assertEquals(values(text), {
    ".top": { kind: "integer", value: 1 },
    "node.id": { kind: "string", value: "node1" },
    "node.data_dir": { kind: "string", value: "/var/lib/hactl" },
    "node.escaped": { kind: "string", value: 'tab\there "quoted" back\\slash \u00e9 \u{1F600}' },
    "node.literal": { kind: "string", value: "C:\\no\\escapes" },
    "numbers.port": { kind: "integer", value: 5432 },
    "numbers.negative": { kind: "integer", value: -17 },
    "numbers.ratio": { kind: "float", value: 0.25 },
    "numbers.big": { kind: "float", value: 1000 },
    "numbers.flag": { kind: "boolean", value: true },
    "numbers.other": { kind: "boolean", value: false },
    "lists.empty": { kind: "string-array", value: [] },
    "lists.one": { kind: "string-array", value: ["a"] },
    "lists.many": { kind: "string-array", value: ["node2=10.0.0.2:7401", "node3=10.0.0.3:7401"] },
  });
});

Deno.test("entries carry the line and column of their key", () => {
  const parsed = parseToml('[node]\n\n   id = "x"\n', "t.toml");
  assert(parsed.ok);
  assertEquals(parsed.document.entries[0], {
    section: "node",
    key: "id",
    value: { kind: "string", value: "x" },
    line: 3,
    column: 4,
  });
  assertEquals(parsed.document.sections, [{ name: "node", line: 1 }]);
});

/** [input, the one error expected]. */
const REFUSED: readonly [string, string][] = [
  ["[node]\nid = node1", 't.toml:2:6: node1 is not a value: strings need quotes, e.g. "node1"'],
  ["[a]\nx = 0x1F", "t.toml:2:5: 0x1F: hex, octal and binary integers are not supported"],
  ["[a]\nwhen = 1979-05-27", "t.toml:2:8: 1979-05-27: dates and times are not supported"],
  ["[a]\nx = inf", "t.toml:2:5: inf: inf and nan are not supported"],
  ["[a]\nx = True", "t.toml:2:5: True: booleans are written true or false"],
  ["[a]\nx = 01", "t.toml:2:5: 01 is not a valid number"],
  [
    "[a]\nx = 9007199254740993",
    "t.toml:2:5: integer 9007199254740993 is out of range (at most 9007199254740991)",
  ],
  ["[a.b]", "t.toml:1:3: nested sections ([a.b]) are not supported"],
  ["[[a]]", "t.toml:1:1: arrays of tables ([[...]]) are not supported"],
  ["[a", 't.toml:1:3: expected "]" to close the section header'],
  ["[a]\nb.c = 1", "t.toml:2:2: dotted keys are not supported; use a [section] header"],
  ['[a]\n"quoted" = 1', "t.toml:2:1: quoted keys are not supported; use letters, digits, _ and -"],
  ["[a]\nx = {a = 1}", "t.toml:2:5: inline tables ({...}) are not supported"],
  ['[a]\nx = """long"""', "t.toml:2:5: multi-line strings are not supported"],
  ['[a]\nx = "open', "t.toml:2:5: string is not closed on its line"],
  [
    '[a]\nx = "bad \\q escape"',
    "t.toml:2:10: \\q is not a valid escape; write \\\\ for a backslash",
  ],
  ['[a]\nx = "\\uD800"', "t.toml:2:6: \\uD800 is not a valid unicode escape"],
  ["[a]\nx = [1, 2]", "t.toml:2:6: arrays may only hold strings"],
  ['[a]\nx = ["a" "b"]', 't.toml:2:10: expected "," or "]" in the array'],
  ['[a]\nx = ["a",', 't.toml:2:5: array is not closed with "]"'],
  ["[a]\nx = 1 2", 't.toml:2:7: unexpected "2"; expected the end of the line'],
  ["[a]\nx =", "t.toml:2:4: expected a value after ="],
  ["[a]\nx 1", 't.toml:2:3: expected "=" after the key x'],
  ["[a]\nx = 1\nx = 2", "t.toml:3:1: a.x is set twice (first at line 2)"],
  ["[a]\n[b]\n[a]", "t.toml:3:1: section [a] appears twice (first at line 1)"],
  ["[a]\n= 1", 't.toml:2:1: expected a key (letters, digits, _ and -), got "="'],
];

Deno.test("unsupported or malformed TOML is refused with file:line:column and what is wrong", () => {
  for (const [text, expected] of REFUSED) {
    const parsed = parseToml(text, "t.toml");
    assert(!parsed.ok, `accepted: ${JSON.stringify(text)}`);
    assertEquals(parsed.errors, [expected], `for ${JSON.stringify(text)}`);
  }
});

Deno.test("every bad line is reported at once, good lines around them are still read", () => {
  const parsed = parseToml('[a]\nx = nope\ny = 2\nz = [1]\nw = "ok"\nv = 0b1\n', "t.toml");
  assert(!parsed.ok);
  assertEquals(parsed.errors.map((error) => error.split(":").slice(0, 2).join(":")), [
    "t.toml:2",
    "t.toml:4",
    "t.toml:6",
  ]);
});

Deno.test("property: rendered values parse back to themselves", () => {
  const valueArbitrary: fc.Arbitrary<TomlValue> = fc.oneof(
    fc.string({ unit: "grapheme" }).map((value) => ({ kind: "string" as const, value })),
    fc.maxSafeInteger().map((value) => ({ kind: "integer" as const, value })),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Object.is(value, -0))
      .map((value) => ({ kind: "float" as const, value })),
    fc.boolean().map((value) => ({ kind: "boolean" as const, value })),
    fc.array(fc.string({ unit: "grapheme" })).map((value) => ({
      kind: "string-array" as const,
      value,
    })),
  );
  fc.assert(
    fc.property(valueArbitrary, (value) => {
      const parsed = values(`[s]\nk = ${renderTomlValue(value)}\n`);
      assertEquals(parsed["s.k"], value);
    }),
    { numRuns: 1000 },
  );
  assertEquals(quoteTomlString('a"b\\c\n'), '"a\\"b\\\\c\\u000a"');
});

Deno.test("property: the parser never throws, whatever the input", () => {
  const pieces = fc.constantFrom(
    "[",
    "]",
    "=",
    '"',
    "'",
    "#",
    "\n",
    " ",
    ",",
    "a",
    "1",
    ".",
    "{",
    "\\",
    "e",
    "_",
    "-",
  );
  fc.assert(
    fc.property(
      fc.oneof(fc.string(), fc.array(pieces, { maxLength: 60 }).map((parts) => parts.join(""))),
      (text) => {
        const parsed = parseToml(text, "t.toml");
        if (!parsed.ok) {
          assert(
            parsed.errors.every((error) => /^t\.toml:\d+:\d+: /.test(error)),
            parsed.errors.join("\n"),
          );
        }
      },
    ),
    { numRuns: 3000 },
  );
});
