/**
 * Interaction scripts (test/core/testdata/*.txt) replay every bug found in the core, and the
 * fixes, as readable traces through the real `step`: the actual trace must equal the one
 * written in the file. `HACTL_REWRITE=1 deno test --allow-all test/core/interaction_test.ts`
 * writes the actual traces back (review the diff before committing it).
 */
import { strictEqual } from "node:assert/strict";
import { runInteractionScript } from "./interaction/script.ts";

const directory = new URL("./testdata/", import.meta.url);
const rewrite = Deno.env.get("HACTL_REWRITE") === "1";

const files = [...Deno.readDirSync(directory)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".txt"))
  .map((entry) => entry.name)
  .sort();

Deno.test("interaction scripts exist", () => {
  // An empty directory would make every script test vanish silently.
  strictEqual(files.length > 0, true, `no scripts in ${directory.pathname}`);
});

for (const name of files) {
  Deno.test(`interaction script ${name}`, () => {
    const url = new URL(name, directory);
    const expected = Deno.readTextFileSync(url);
    const actual = runInteractionScript(expected);
    if (rewrite && actual !== expected) {
      Deno.writeTextFileSync(url, actual);
      return;
    }
    strictEqual(actual, expected, `${name}: the trace differs (HACTL_REWRITE=1 to accept)`);
  });
}
