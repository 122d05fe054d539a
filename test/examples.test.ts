// Every example in examples/ runs to completion and says "ok" (they import "sabmalloc", that is
// dist/: npm test builds it first).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const examples = readdirSync(new URL("examples/", `file://${root}`)).filter((f) => f.endsWith(".mjs")).sort();

test("the examples are there: matrices, hash map, WebAssembly", () => {
  for (const name of ["matrix.mjs", "hashmap.mjs", "wasm.mjs"]) assert.ok(examples.includes(name), name);
});

for (const name of examples) {
  test(`examples/${name} runs and ends with "ok"`, { timeout: 60000 }, async () => {
    const { stdout } = await run(process.execPath, [`examples/${name}`], { cwd: root, timeout: 55000 });
    const lines = stdout.trim().split("\n");
    assert.match(lines[lines.length - 1], /^ok: /, stdout);
  });
}
