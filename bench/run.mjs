#!/usr/bin/env node
// sabmalloc benchmark suite: `npm run bench` (full, ~15 minutes here) or `npm run bench -- --quick`
// (~2.5 minutes). Runs every workload against sabmalloc and its peers in one run and writes
// bench/results.md, bench/charts/*.svg (and bench/results.json with --json). See bench/README.md.
import os from "node:os";
import path from "node:path";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { ALL_ADAPTERS } from "./adapters/index.mjs";
import { DEFAULT_IMPL, loadImpl, SAB_CONFIGS } from "./adapters/sabmalloc.mjs";
import { MICRO_WORKLOADS } from "./workloads/micro.mjs";
import { MT_WORKLOADS } from "./workloads/mt.mjs";
import { runSingleThread, startHosts, stopHosts } from "./lib/harness.mjs";
import { runMultiThread } from "./lib/mt.mjs";
import { FLOOR_OPS, scalingFloor } from "./scaling-floor.mjs";
import { makeLog, terminalSummary, markdown, charts, collectNotes } from "./lib/report.mjs";
import { fmtBytes } from "./lib/stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const show = (p) => { const r = path.relative(process.cwd(), p); return r.startsWith("..") ? p : r; };

const HELP = `usage: node bench/run.mjs [options]      (npm run bench -- [options])

  --quick              the quick subset, ~2.5 minutes (fewer workloads, fewer ops and repetitions)
  --smoke              tiny sizes, 2 repetitions, results to a temporary folder: proves the suite runs
  --filter REGEX       only workloads whose id matches (ids: malloc-free/16, batch/1k/fifo, replace/1M,
                       realloc/step, calloc/mix, larson, xmalloc, mstress, cache-scratch, ...)
  --adapters LIST      only these allocators (comma-separated ids: ${ALL_ADAPTERS.map((a) => a.id).join(", ")})
  --ref ID             reference for the ratios (default: sabmalloc, or gc-u8 when sabmalloc is skipped)
  --workers LIST       worker counts for the multi-threaded workloads (default 1,2,4)
  --reps N             timed repetitions per single-threaded workload (default 5; quick 3)
  --warmups N          warm-up runs (default 2; quick 1)
  --warm-ms MS         and warm-up runs until MS milliseconds have passed (default 300; quick 100; smoke 0)
  --mt-reps N          repetitions per multi-threaded configuration (default 5; quick 3)
  --time-limit S       seconds before a single-threaded run is stopped as "timed out" (default 4; quick 0.5; smoke 1)
  --budget S           seconds of timed runs per workload and allocator after which a slow allocator
                       stops at 3 repetitions (default 3; quick 1)
  --mt-time-limit S    seconds before a multi-threaded repetition counts as hung (default 120; quick 30)
  --scale F            multiply every operation count by F
  --seed N             seed of the request generators (default 1)
  --no-st | --no-mt | --no-memory    skip the single-threaded / multi-threaded workloads / memory pass
  --shared-hosts       one host thread per JavaScript allocator for all the single-threaded workloads
                       (default: a fresh one per workload, so that no row inherits the JIT state of
                       the rows before it)
  --impl PATH          module that exports Heap (default dist/index.js)
  --require-sabmalloc  exit 1 when sabmalloc cannot be loaded
  --out-dir DIR        where results.md and charts/ go (default bench/)
  --json [PATH]        also write the raw results as JSON (default <out-dir>/results.json)
  --report PATH        run nothing: write results.md again from a --json file (after a change to
                       the report itself; the charts are left as they are)
  --no-write           print only, write no files
Exit status 1 when sabmalloc failed (error, hang, leak, corrupted data), or --require-sabmalloc and it
could not be loaded; peers that fail or time out are reported, not fatal.`;

function parseArgs(argv) {
  const o = { flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--quick": case "--smoke": case "--no-st": case "--no-mt": case "--no-memory":
      case "--require-sabmalloc": case "--no-write": case "--shared-hosts": case "--help": case "-h":
        o.flags.add(a.replace(/^-+/, "")); break;
      case "--filter": o.filter = new RegExp(next()); break;
      case "--adapters": o.adapters = next().split(",").map((s) => s.trim()).filter(Boolean); break;
      case "--ref": o.ref = next(); break;
      case "--workers": o.workers = next().split(",").map(Number); break;
      case "--reps": o.reps = Number(next()); break;
      case "--warmups": o.warmups = Number(next()); break;
      case "--warm-ms": o.warmMs = Number(next()); break;
      case "--mt-reps": o.mtReps = Number(next()); break;
      case "--time-limit": o.limit = Number(next()); break;
      case "--mt-time-limit": o.mtLimit = Number(next()); break;
      case "--budget": o.budget = Number(next()); break;
      case "--scale": o.scale = Number(next()); break;
      case "--seed": o.seed = Number(next()); break;
      case "--impl": o.impl = path.resolve(next()); break;
      case "--out-dir": o.outDir = path.resolve(next()); break;
      case "--report": o.report = path.resolve(next()); break;
      case "--json":
        if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) o.json = path.resolve(next());
        else o.json = true;
        break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number" && !(v >= 0)) throw new Error(`bad value for ${k}: ${v}`);
  }
  return o;
}

/** A note for each native column that did not load. */
function skippedNative(adapters) {
  return adapters.filter((a) => a.kind === "native" && !a.ok).map((a) => `${a.id} column skipped: ${a.reason}`);
}

async function main() {
  const t0 = performance.now();
  // No memory reducer in this process's isolates (every host thread and worker made from here on):
  // V8 runs it ~8 s after an isolate starts, a garbage collection of an idle heap that shrinks it,
  // and with a fresh host per allocator and workload, 15 idle hosts did so while the first
  // repetitions ran (measured: 0.5 core-seconds, 7-9 s after the hosts started; the first two
  // repetitions of a row up to 3x the others, whichever allocator they fell on). It changes no
  // collection an allocation makes, only these idle ones.
  setFlagsFromString("--no-memory-reducer");
  let args;
  try { args = parseArgs(process.argv.slice(2)); } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  if (args.flags.has("help") || args.flags.has("h")) { console.log(HELP); return 0; }
  if (args.report) {
    // The same markdown() as a run, from the run's own JSON: meta, adapters, st, mt.
    const r = JSON.parse(await readFile(args.report, "utf8"));
    const mtConfigs = [...Object.keys(SAB_CONFIGS), ...r.adapters.filter((a) => a.kind === "native" && a.ok).map((a) => a.id)];
    const notes = [...skippedNative(r.adapters), ...collectNotes(r)];
    const chartFiles = ["throughput.svg", "scaling.svg"].map((f) => `charts/${f}`);
    const outDir = args.outDir ?? here;
    await writeFile(path.join(outDir, "results.md"), markdown({ meta: r.meta, st: r.st, mt: r.mt, mtConfigs, adapters: r.adapters, chartFiles, notes }));
    console.log(`wrote ${show(path.join(outDir, "results.md"))} from ${show(args.report)}`);
    return 0;
  }
  const smoke = args.flags.has("smoke");
  const quick = smoke || args.flags.has("quick");
  const mode = smoke ? "smoke" : quick ? "quick" : "full";
  const cfg = {
    quick, mode,
    scale: args.scale ?? (smoke ? 0.02 : 1),
    reps: args.reps ?? (smoke ? 2 : quick ? 3 : 5),
    warmups: args.warmups ?? (smoke ? 1 : quick ? 1 : 2),
    stWarmMs: args.warmMs ?? (smoke ? 0 : quick ? 100 : 300), // single-threaded warm-up time (harness.mjs)
    limitMs: 1000 * (args.limit ?? (smoke ? 1 : quick ? 0.5 : 4)), // smoke: cold code on a loaded machine
    budgetMs: 1000 * (args.budget ?? (smoke ? 0.5 : quick ? 1 : 3)),
    mtReps: args.mtReps ?? (smoke ? 1 : quick ? 3 : 5),
    mtLimitMs: 1000 * (args.mtLimit ?? (smoke ? 30 : quick ? 30 : 120)),
    mtWarmMs: smoke ? 0 : quick ? 100 : 400, // the least time larson's workers warm up (workers/larson.mjs)
    seed: args.seed ?? 1,
    memory: !args.flags.has("no-memory"),
    freshHosts: !args.flags.has("shared-hosts"),
    workers: args.workers ?? [1, 2, 4],
  };
  const outDir = args.outDir ?? (smoke ? path.join(os.tmpdir(), `sabmalloc-bench-smoke-${process.pid}`) : here);
  const log = makeLog();
  const cpus = os.cpus();
  const meta = {
    mode, command: `node bench/run.mjs ${process.argv.slice(2).join(" ")}`.trim(), date: new Date().toISOString(),
    node: process.version, cpus: `${cpus.length} × ${cpus[0]?.model?.trim() ?? "cpu"}`, memory: fmtBytes(os.totalmem()),
    seed: cfg.seed, reps: cfg.reps, warmups: cfg.warmups, stWarmMs: cfg.stWarmMs, mtReps: cfg.mtReps, limitMs: cfg.limitMs, mtLimitMs: cfg.mtLimitMs,
    freshHosts: cfg.freshHosts,
  };
  log.line(`sabmalloc bench: ${mode} mode, ${cfg.reps} repetitions (+${cfg.warmups} warm-up${cfg.stWarmMs ? `, at least ${cfg.stWarmMs} ms` : ""}), seed ${cfg.seed}, ` +
    `time limit ${(cfg.limitMs / 1000).toFixed(1)} s per run; node ${meta.node}, ${meta.cpus}`);

  // ---- allocators
  const implPath = args.impl ?? DEFAULT_IMPL;
  let adapters = ALL_ADAPTERS;
  if (args.adapters) {
    const unknown = args.adapters.filter((id) => !ALL_ADAPTERS.some((a) => a.id === id));
    if (unknown.length) { console.error(`unknown adapter(s): ${unknown.join(", ")}`); return 2; }
    adapters = ALL_ADAPTERS.filter((a) => args.adapters.includes(a.id));
  }
  const adapterInfo = await startHosts(adapters, implPath);
  for (const a of adapterInfo) log.line(`  ${a.id.padEnd(15)} ${a.ok ? "ok" + (a.note ? `: ${a.note}` : "") : `SKIPPED: ${a.reason}`}`);
  const loaded = adapterInfo.filter((a) => a.ok);
  const impl = await loadImpl(implPath);
  const sabOk = impl.ok;
  if (!sabOk && args.flags.has("require-sabmalloc")) {
    console.error(`sabmalloc could not be loaded: ${impl.reason}`);
    await stopHosts(adapterInfo);
    return 1;
  }
  const ref = args.ref ?? (loaded.some((a) => a.id === "sabmalloc") ? "sabmalloc" : "gc-u8");
  cfg.ref = ref;
  // second ratio table: against native jemalloc (native glibc when jemalloc is missing)
  const nativeRef = ["native-jemalloc", "native-glibc"].find((id) => loaded.some((a) => a.id === id));
  cfg.refs = nativeRef && nativeRef !== ref ? [nativeRef] : [];
  const nativeNotes = skippedNative(adapterInfo);
  log.line("");

  // ---- single-threaded
  const pick = (list) => list.filter((w) => (args.filter ? args.filter.test(w.id) : quick ? w.quick : true));
  let st = [];
  if (!args.flags.has("no-st")) {
    const wls = pick(MICRO_WORKLOADS);
    if (wls.length && loaded.length) {
      log.line(`Single-threaded workloads (${wls.length}), each allocator in its own worker thread, ratios against ${ref}:`);
      st = await runSingleThread(wls, loaded, cfg, log);
      log.line("");
    }
  }

  await stopHosts(adapterInfo);

  // ---- multi-threaded
  let mt = [];
  // the native peers that loaded also run the multi-threaded workloads that have a C twin
  const native = Object.fromEntries(ALL_ADAPTERS.filter((a) => a.kind === "native" && a.runtime && loaded.some((l) => l.id === a.id)).map((a) => [a.id, a.runtime]));
  // --adapters picks the sabmalloc configurations too (sabmalloc itself always runs: the reference).
  const sabConfigs = Object.keys(SAB_CONFIGS).filter((id) => id === "sabmalloc" || !args.adapters || args.adapters.includes(id));
  const mtConfigs = [...sabConfigs, ...Object.keys(native)];
  if (!args.flags.has("no-mt")) {
    const wls = pick(MT_WORKLOADS);
    if (wls.length && !sabOk) {
      log.line(`Multi-threaded workloads skipped: sabmalloc is not available (${impl.reason})`);
    } else if (wls.length) {
      log.line(`Multi-threaded workloads (${wls.length}), workers ${cfg.workers.join(", ")}, ${mtConfigs.join(" vs ")}:`);
      mt = await runMultiThread(wls, {
        reps: cfg.mtReps, workerCounts: cfg.workers, configs: mtConfigs, seed: cfg.seed, quick, scale: cfg.scale,
        limitMs: cfg.mtLimitMs, sampleMs: 2, memory: cfg.memory, implUrl: impl.url, Heap: impl.Heap, warmOps: smoke ? 2000 : 20000, warmMs: cfg.mtWarmMs, native,
      }, log);
      log.line("");
      // The floors of target 4: the larson and tree loops on 1 and 2 workers over a trivial allocator.
      if (cfg.workers.includes(1) && cfg.workers.includes(2)) {
        const scale = (smoke ? 0.05 : quick ? 0.25 : 1) * (args.scale ?? 1);
        for (const r of mt.filter((x) => x.id === "larson" || x.id === "tree")) {
          const loop = r.id;
          const ops = Math.max(20000, Math.round(2000000 * scale));
          const depth = r.params.depth ?? 16;
          const trees = r.params.trees ?? 64;
          const what = loop === "tree" ? `${trees} trees of depth ${depth} a worker` : `${ops} ops a worker (the trivial allocator ${ops * FLOOR_OPS})`;
          log.line(`Scaling floor (bench/scaling-floor.mjs): the ${loop} loop, ${what}, 1 and 2 workers, ${cfg.mtReps} repetitions`);
          try {
            r.floor = await scalingFloor({ lib: impl.url, reps: cfg.mtReps, loop, ops, depth, trees, warmMs: cfg.mtWarmMs });
            log.line(`  trivial allocator ${r.floor.floor.scaling.toFixed(2)}x, sabmalloc ${r.floor.sabmalloc.scaling.toFixed(2)}x`);
          } catch (err) {
            log.line(`  failed: ${err?.message ?? err}`);
          }
          log.line("");
        }
      }
    }
  }

  // ---- report
  meta.seconds = (performance.now() - t0) / 1000;
  log.line(terminalSummary({ st, mt, mtConfigs }));
  const notes = [...nativeNotes, ...collectNotes({ st, mt })];
  if (!sabOk) notes.unshift(`sabmalloc was skipped: ${impl.reason}`);
  if (notes.length) { log.line(""); log.line("Notes:"); for (const n of notes) log.line(`  - ${n}`); }
  if (!args.flags.has("no-write")) {
    await mkdir(path.join(outDir, "charts"), { recursive: true });
    const svgs = charts({ st, mt, mtConfigs, meta });
    const chartFiles = [];
    for (const [name, svg] of Object.entries(svgs)) {
      await writeFile(path.join(outDir, "charts", name), svg);
      chartFiles.push(`charts/${name}`);
    }
    await writeFile(path.join(outDir, "results.md"), markdown({ meta, st, mt, mtConfigs, adapters: adapterInfo.map(({ host, renew, ...a }) => a), chartFiles, notes }));
    log.line("");
    log.line(`wrote ${show(path.join(outDir, "results.md"))}` +
      (chartFiles.length ? ` and ${chartFiles.map((f) => show(path.join(outDir, f))).join(", ")}` : ""));
  }
  if (args.json) {
    const file = args.json === true ? path.join(outDir, "results.json") : args.json;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ meta, adapters: adapterInfo.map(({ host, renew, ...a }) => a), st, mt }, null, 1));
    log.line(`wrote ${show(file)}`);
  }
  log.line(`done in ${meta.seconds.toFixed(0)} s`);

  // sabmalloc failures make the run fail (peers' failures and timeouts do not)
  const sabFailed =
    st.some((r) => Object.entries(r.adapters).some(([id, a]) => id.startsWith("sabmalloc") && a.status === "error")) ||
    mt.some((r) => r.rows.some((row) => Object.entries(row.configs).some(([id, c]) => id.startsWith("sabmalloc") && (c.status !== "ok" || c.leaked))));
  return sabFailed ? 1 : 0;
}

// exit explicitly: a worker left behind by a failure must not keep the process alive
// (stdout/stderr are synchronous for files and pipes on Linux, so nothing is lost)
main().then((code) => process.exit(code), (err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
