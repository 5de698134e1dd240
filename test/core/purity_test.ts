/**
 * Keeps src/core pure: the model checker and the property tests can run the real core
 * only because it touches no clock, I/O, randomness, timers or promises, and imports
 * nothing from outside itself. Also keeps functions short (STYLE.md: about 70 lines).
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";

const CORE = new URL("../../src/core/", import.meta.url);
const FORBIDDEN: readonly [RegExp, string][] = [
  [/\bDeno\./, "Deno APIs"],
  [/\bDate\b/, "the wall clock (Date)"],
  [/Math\.random/, "randomness"],
  [/\bsetTimeout\b|\bsetInterval\b/, "timers"],
  [/\basync\b|\bawait\b|\bPromise\b/, "promises"],
  [/\bperformance\.now\b/, "the monotonic clock"],
];
/** Most lines a function body may have in src/core. */
const MAX_FUNCTION_LINES = 70;

async function coreFiles(): Promise<{ name: string; text: string }[]> {
  const files = [];
  for await (const entry of Deno.readDir(CORE)) {
    if (entry.isFile && entry.name.endsWith(".ts")) {
      files.push({ name: entry.name, text: await Deno.readTextFile(new URL(entry.name, CORE)) });
    }
  }
  return files;
}

/** Strips comments so that prose mentioning "Date" or "await" does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}

Deno.test("src/core uses no clock, I/O, randomness, timers or promises", async () => {
  const problems: string[] = [];
  for (const file of await coreFiles()) {
    for (const [pattern, what] of FORBIDDEN) {
      if (pattern.test(code(file.text))) problems.push(`${file.name} uses ${what}`);
    }
  }
  assertEquals(problems, []);
});

Deno.test("src/core imports only from src/core", async () => {
  const problems: string[] = [];
  for (const file of await coreFiles()) {
    for (const match of file.text.matchAll(/from\s+"([^"]+)"/g)) {
      const target = match[1]!;
      if (!target.startsWith("./") || target.includes("..")) {
        problems.push(`${file.name} imports ${target}`);
      }
    }
  }
  assertEquals(problems, []);
});

Deno.test(`src/core functions stay under ${MAX_FUNCTION_LINES} lines`, async () => {
  const problems: string[] = [];
  for (const file of await coreFiles()) {
    const lines = code(file.text).split("\n");
    let start = -1;
    let name = "";
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index]!;
      const opened = line.match(/^(?:export )?function (\w+)/);
      if (opened) {
        start = index;
        name = opened[1]!;
      } else if (start >= 0 && line === "}") {
        if (index - start > MAX_FUNCTION_LINES) {
          problems.push(`${file.name}: ${name} has ${index - start} lines`);
        }
        start = -1;
      }
    }
  }
  assertEquals(problems, []);
});
