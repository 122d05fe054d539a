// inspectcmd: `sabmalloc inspect FILE [--svg map.svg] [--json]` - a saved heap, looked at.
//
//   Heap.load(FILE)        the snapshot checked (BAD_SNAPSHOT: exit 1) and made a heap again; the
//                          saved threads' caches go back to their arenas, as on every restore
//   formatStats(stats())   the report, as at the end of `sabmalloc demo` (--json: the raw stats)
//   check()                every piece of metadata verified (CORRUPTION: exit 1)
//   heapMap(heap)          the picture of its pages, to the --svg file
//
// Node only (it reads and writes files): the CLI imports it, the library does not.

import { statSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { HeapError } from "./errors.js";
import { formatBytes, formatStats } from "./format.js";
import { Heap } from "./heap.js";
import { heapMap } from "./heapmap.js";
import { listRoots } from "./roots.js";

const USAGE = `usage: sabmalloc inspect FILE [options]

Loads a heap saved by heap.save(path) or \`sabmalloc demo --save FILE\`, prints its statistics,
verifies all of its metadata (check()) and can draw its pages.

options:
  --svg FILE   draw the heap map (one row per 1 MiB chunk, one cell per page) to FILE
  --json       print the raw stats, roots and check result as JSON on stdout
  -h, --help   this text
`;

/** Runs the command on `argv` (after "inspect"); returns the exit code. */
export async function inspectCommand(argv: string[]): Promise<number> {
  let file: string;
  let svg: string | undefined;
  let json: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { svg: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new Error(positionals.length === 0 ? "say which file" : `one file, not ${positionals.length}`);
    file = positionals[0];
    svg = values.svg;
    json = values.json ?? false;
  } catch (e) {
    process.stderr.write(`sabmalloc inspect: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const say = json ? () => {} : (s = "") => process.stdout.write(s + "\n");
  let heap: Heap;
  const t0 = performance.now();
  try {
    heap = await Heap.load(file);
  } catch (e) {
    process.stderr.write(`sabmalloc inspect: ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  const loadMs = performance.now() - t0;
  const bytes = statSync(file).size;
  const stats = heap.stats();
  const roots = listRoots(heap);
  say(`${file}: a sabmalloc heap snapshot of ${formatBytes(bytes)}, loaded in ${loadMs.toFixed(1)} ms ` +
    `(the saved threads' caches were returned to their arenas)`);
  const names = Object.keys(roots);
  say(`roots: ${names.length === 0 ? "none" : names.map((n) => `${n} = ${roots[n]}`).join(", ")}`);
  say();
  if (!json) process.stdout.write(formatStats(stats));
  let check = "passed";
  try {
    heap.check();
  } catch (e) {
    if (!(e instanceof HeapError)) throw e;
    check = e.message;
  }
  say();
  say(`check(): ${check}`);
  if (svg !== undefined) {
    writeFileSync(svg, heapMap(heap));
    say(`heap map: wrote ${svg} (${stats.chunks} chunks of 1 MiB)`);
  }
  if (json) process.stdout.write(JSON.stringify({ file, bytes, loadMs, roots, check, stats, heapMap: svg }, null, 2) + "\n");
  heap.detach();
  return check === "passed" ? 0 : 1;
}
