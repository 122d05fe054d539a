// SABMALLOC_CONF: options from the environment (Node) or globalThis (browsers), under the explicit
// options; one warning that names every key it could not use; stats_print at exit.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { promisify } from "node:util";
import { Heap } from "../src/index.js";
import { parseConf, resetConf } from "../src/conf.js";
import { L } from "../src/layout.js";
import { sizeToBin } from "../src/sizeclass.js";
import { TC_CAP } from "../src/tcache.js";
import { internals } from "./helpers.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const lib = pathToFileURL(join(root, "dist/index.js")).href;

/** Runs `code` (an ES module importing the built library as `lib`) in a new node with SABMALLOC_CONF. */
function node(code: string, conf: string): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ["--input-type=module", "-e", `import * as lib from ${JSON.stringify(lib)};\n${code}`],
    { env: { ...process.env, SABMALLOC_CONF: conf }, timeout: 30000 });
}

test("parseConf reads every key", () => {
  const c = parseConf("arenas:8,thread_cache:false,debug:true,max_threads:64,profile:true,profile_sample:1048576,stats_print:true");
  assert.deepEqual(c.problems, []);
  assert.deepEqual(c.options, { arenas: 8, threadCache: false, debug: true, maxThreads: 64, profile: { sampleBytes: 1048576 } });
  assert.equal(c.statsPrint, true);
  assert.deepEqual(parseConf(" arenas : 2 , ,debug:0,profile:true").options, { arenas: 2, debug: false, profile: true });
  assert.deepEqual(parseConf("").options, {});
  assert.deepEqual(parseConf("profile:true,profile_frames:12").options, { profile: { maxFrames: 12 } });
  assert.deepEqual(parseConf("profile:true,profile_sample:64,profile_frames:128").options, { profile: { sampleBytes: 64, maxFrames: 128 } });
  assert.deepEqual(parseConf("keep_empty_runs:false").options, { keepEmptyRuns: false });
  assert.deepEqual(parseConf("keep_empty_runs:true").options, { keepEmptyRuns: true });
  assert.ok(parseConf("keep_empty_runs:sometimes").problems.some((p) => p.startsWith("keep_empty_runs:")));
  assert.deepEqual(parseConf("kept_decay_ms:250").options, { keptDecayMs: 250 });
  assert.deepEqual(parseConf("kept_decay_ms:-1").options, { keptDecayMs: Infinity }); // never, as jemalloc's -1
  for (const v of ["0", "-2", "1.5", "soon", String(2 ** 31)]) {
    assert.ok(parseConf(`kept_decay_ms:${v}`).problems.some((p) => p.startsWith("kept_decay_ms:")), v);
  }
});

test("parseConf names every unknown key and bad value, and leaves them out", () => {
  const c = parseConf("arenas:0,bogus:1,debug:maybe,max_threads:x,profile_sample:-5,profile_frames:129,thread_cache:true");
  assert.deepEqual(c.options, { threadCache: true });
  assert.equal(c.problems.length, 6);
  for (const key of ["arenas", "bogus", "debug", "max_threads", "profile_sample", "profile_frames"]) {
    assert.ok(c.problems.some((p) => p.startsWith(key + ":")), `${key} is named`);
  }
});

test("Heap.create takes SABMALLOC_CONF's options; explicit options win; globalThis.SABMALLOC_CONF in a browser", (t) => {
  const saved = process.env.SABMALLOC_CONF;
  t.after(() => {
    if (saved === undefined) delete process.env.SABMALLOC_CONF;
    else process.env.SABMALLOC_CONF = saved;
    delete (globalThis as { SABMALLOC_CONF?: string }).SABMALLOC_CONF;
    resetConf();
  });
  process.env.SABMALLOC_CONF = "arenas:3,thread_cache:false,max_threads:7,debug:true";
  resetConf();
  const h = Heap.create({ maxBytes: 16 << 20 });
  const s = internals(h);
  assert.equal(h.stats().arenas.length, 3);
  assert.equal(s.i32[s.hdr + L.H_NSLOTS], 7);
  assert.equal(s.i32[s.hdr + L.H_FLAGS], L.HF_DEBUG, "no thread cache, debug");
  const e = Heap.create({ maxBytes: 16 << 20, arenas: 2, threadCache: true, debug: undefined });
  const se = internals(e);
  assert.equal(e.stats().arenas.length, 2, "explicit arenas win");
  assert.equal(se.i32[se.hdr + L.H_FLAGS], L.HF_THREAD_CACHE | L.HF_DEBUG, "explicit threadCache wins, an undefined option does not");
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 512, shared: true });
  assert.equal(Heap.fromMemory(memory, { maxBytes: 16 << 20 }).stats().arenas.length, 3, "fromMemory too");
  // Read once: a change of the environment later is not seen...
  process.env.SABMALLOC_CONF = "arenas:5";
  assert.equal(Heap.create({ maxBytes: 16 << 20 }).stats().arenas.length, 3);
  // ...and without process.env's, globalThis.SABMALLOC_CONF (what a page sets) is read.
  delete process.env.SABMALLOC_CONF;
  (globalThis as { SABMALLOC_CONF?: string }).SABMALLOC_CONF = "arenas:6";
  resetConf();
  assert.equal(Heap.create({ maxBytes: 16 << 20 }).stats().arenas.length, 6);
});

test("unknown keys and bad values give one warning naming them, however many heaps are made", async () => {
  const { stderr } = await node(`
    for (let i = 0; i < 3; i++) lib.Heap.create({ maxBytes: 8 << 20 });
    console.log(lib.Heap.create({ maxBytes: 8 << 20 }).stats().arenas.length);`, "arenas:3,colour:blue,debug:maybe");
  const warnings = stderr.split("\n").filter((l) => l.includes("SabmallocConfWarning"));
  assert.equal(warnings.length, 1, stderr);
  assert.match(warnings[0], /colour: unknown key/);
  assert.match(warnings[0], /debug: expected true or false/);
});

test("profile keys are accepted without a warning; stats_print:true prints the statistics at exit", async () => {
  // A sample every 2^30 bytes: the 1000-byte block below is sampled (and then served as a page run
  // of its own, not from its class) about once in 700,000 runs; at 64 KiB it was once in ~45
  // (45 of 2,000 heaps, counted), and the class's fill that the test looks for was not there.
  const { stdout, stderr } = await node(`
    const h = lib.Heap.create({ maxBytes: 8 << 20 });
    h.malloc(1000);
    console.log("made", h.profile().sampleBytes);`, "profile:true,profile_sample:1073741824,stats_print:true");
  assert.equal(stdout, "made 1073741824\n");
  assert.doesNotMatch(stderr, /Warning/);
  assert.match(stderr, /___ Begin sabmalloc statistics ___/);
  assert.match(stderr, /^allocated: +\d+ /m);
  // One fill of the 1000-byte block's class: half its cache capacity taken from the arena.
  const fill = TC_CAP[sizeToBin(1000)] >> 1;
  assert.match(stderr, new RegExp(`^ +1024 +4 +1 +${fill} `, "m"), "the 1000-byte block's class, filled into the cache");
});
