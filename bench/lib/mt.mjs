// Multi-threaded runner: for each workload and worker count, repetitions interleaved between the
// heap configurations (sabmalloc A, global-lock baseline B: A B A B ...), each repetition on the
// same heap (created once per workload x config x worker count). A repetition = setup on the main
// thread, one or more generations of worker threads (spawn, attach, warm up, barrier, run,
// detach), teardown on the main thread, then a leak check (after main's flush, stats().allocated
// must be 0). A watchdog terminates hung repetitions. Memory peaks come from one more repetition,
// before the timed ones and not timed, with a sampler thread.
// Native configurations (cfg.native: id -> runtime, see adapters/native.mjs) run the workloads that
// have a C twin (wl.native) as one `native-bench mt` process per repetition, interleaved with the
// heap configurations' repetitions. Each row gets ratios configs[0] ÷ every other configuration
// (pair by pair), and `scaling`: each configuration's median throughput ÷ its median with 1 worker.
import { Worker } from "node:worker_threads";
import { Rng, seedFor } from "./rng.mjs";
import { summary } from "./stats.mjs";
import { heapOptions } from "../adapters/sabmalloc.mjs";
import { maybeGc } from "./harness.mjs";
import { runNativeMt } from "./native-host.mjs";

const WORKER_DIR = new URL("../workers/", import.meta.url);

function deferred() {
  let resolve, reject;
  const promise = new Promise((a, b) => { resolve = a; reject = b; });
  promise.catch(() => {}); // handled where awaited; never "unhandled"
  return { promise, resolve, reject };
}

/** one generation of `w` workers; resolves to [{start, end, ops, ...}] */
async function runGeneration({ heap, script, w, gen, params, shared, genShared, live, implUrl, seed, deadline }) {
  const ctlSab = new SharedArrayBuffer(16);
  const ctl = new Int32Array(ctlSab);
  const workers = [];
  const slots = new Array(w).fill(null);
  const ready = [], done = [], exited = [];
  for (let id = 0; id < w; id++) {
    const wk = new Worker(new URL(script, WORKER_DIR), {
      workerData: {
        handle: heap.handle, implUrl, id, workers: w, gen, params, shared, genShared,
        ctl: ctlSab, live, seed: seedFor(seed, gen, id),
      },
    });
    workers.push(wk);
    const r = deferred(), d = deferred();
    ready.push(r.promise);
    done.push(d.promise);
    exited.push(new Promise((res) => wk.once("exit", res)));
    const fail = (msg) => { r.reject(new Error(msg)); d.reject(new Error(msg)); };
    wk.on("message", (m) => {
      if (m.type === "ready") { slots[id] = m.slot; r.resolve(); }
      else if (m.type === "done") d.resolve(m);
      else if (m.type === "error") { if (m.slot != null) slots[id] = m.slot; fail(`worker ${id}: ${m.message}`); }
    });
    wk.on("error", (err) => fail(`worker ${id} crashed: ${err?.stack ?? err}`));
    wk.once("exit", (code) => fail(`worker ${id} exited (code ${code}) before reporting`));
  }
  let timer;
  const waitMs = Math.max(1, deadline - performance.now());
  const watchdog = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`watchdog: no result within ${(waitMs / 1000).toFixed(0)} s`)), waitMs);
  });
  watchdog.catch(() => {});
  try {
    await Promise.race([Promise.all(ready), watchdog]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    Atomics.store(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    const results = await Promise.race([Promise.all(done), watchdog]);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    await Promise.race([Promise.all(exited), watchdog]);
    // CPU of the process while the workers ran, less theirs: other threads' (V8's compiler and
    // GC, the memory sampler, this one), in cores (NaN where threads' CPU cannot be read).
    const workersMs = results.reduce((a, r) => a + r.cpuMs, 0);
    return { results, otherCores: ((cpu.user + cpu.system) / 1000 - workersMs) / wallMs };
  } catch (err) {
    for (const wk of workers) wk.terminate();
    await Promise.all(exited);
    // give the slots of threads that never detached back to the heap (a free slot: no-op)
    for (const s of slots) if (s != null) { try { heap.reclaim(s); } catch { /* best effort */ } }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Start the memory sampler thread; resolves to { stop(): Promise<mem> , kill() }. */
async function startSampler({ heap, implUrl, liveSab, sampleMs, deadline }) {
  const ctlSab = new SharedArrayBuffer(4), outSab = new SharedArrayBuffer(8 * 7);
  const ctl = new Int32Array(ctlSab), out = new Float64Array(outSab);
  const wk = new Worker(new URL("sampler.mjs", WORKER_DIR), {
    workerData: { handle: heap.handle, implUrl, ctl: ctlSab, live: liveSab, out: outSab, sampleMs },
  });
  let slot = null;
  const ready = deferred(), done = deferred();
  const exited = new Promise((res) => wk.once("exit", res));
  const fail = (msg) => { ready.reject(new Error(msg)); done.reject(new Error(msg)); };
  wk.on("message", (m) => {
    if (m.type === "ready") { slot = m.slot; ready.resolve(); }
    else if (m.type === "done") done.resolve();
    else if (m.type === "error") { if (m.slot != null) slot = m.slot; fail(`memory sampler: ${m.message}`); }
  });
  wk.on("error", (err) => fail(`memory sampler crashed: ${err?.stack ?? err}`));
  wk.once("exit", (code) => fail(`memory sampler exited (code ${code})`));
  const kill = async () => {
    await wk.terminate();
    await exited;
    if (slot != null) { try { heap.reclaim(slot); } catch { /* best effort */ } }
  };
  const timeout = (what) => new Promise((_, rej) => {
    const t = setTimeout(() => rej(new Error(`watchdog: memory sampler did not ${what}`)), Math.max(1000, deadline - performance.now()));
    t.unref();
  });
  try {
    await Promise.race([ready.promise, timeout("start")]);
  } catch (err) { await kill(); throw err; }
  return {
    kill,
    async stop() {
      Atomics.store(ctl, 0, 1);
      Atomics.notify(ctl, 0);
      try {
        await Promise.race([done.promise, timeout("stop")]);
        await exited;
      } catch (err) { await kill(); throw err; }
      return {
        peakRequested: out[0], peakAllocated: out[1], peakActive: out[2], peakMapped: out[3],
        metadataAtPeakMapped: out[4], samples: out[5], cachedAtPeakActive: out[6],
      };
    },
  };
}

/** Peaks over several repetitions: the largest of each figure (metadata: at the largest mapped). */
function mergePeaks(a, b) {
  if (!a) return b;
  const m = { ...a };
  for (const k of ["peakRequested", "peakAllocated"]) m[k] = Math.max(a[k], b[k]);
  if (b.peakActive > a.peakActive) { m.peakActive = b.peakActive; m.cachedAtPeakActive = b.cachedAtPeakActive; }
  if (b.peakMapped > a.peakMapped) { m.peakMapped = b.peakMapped; m.metadataAtPeakMapped = b.metadataAtPeakMapped; }
  m.samples = a.samples + b.samples;
  return m;
}

/** one repetition on `heap` with `w` workers */
async function runRep({ heap, wl, w, p, implUrl, seed, limitMs, sampleMs, memory }) {
  const rng = new Rng(seedFor(seed, "setup"));
  const { shared, mainNet } = wl.setup(heap, w, p, rng);
  const liveSab = new SharedArrayBuffer(8 * (w + 1));
  const live = new Float64Array(liveSab);
  live[w] = mainNet;
  const deadline = performance.now() + limitMs;
  // the main thread makes no heap calls while workers run: a deadlock inside the heap must not
  // block the watchdog, so a separate attached thread samples stats()
  const sampler = memory ? await startSampler({ heap, implUrl, liveSab, sampleMs, deadline }) : null;
  let ms = 0, ops = 0, mem = null, other = 0;
  const extra = {};
  try {
    for (let g = 0; g < wl.gens(p); g++) {
      // Per-generation set-up by this thread (before any worker runs: no heap calls while they do).
      const genShared = wl.genSetup ? wl.genSetup(heap, w, p, rng) : null;
      if (genShared?.warmBytes) live[w] += genShared.warmBytes * w; // freed (and counted) by the workers
      const { results: res, otherCores } = await runGeneration({ heap, script: wl.script, w, gen: g, params: p, shared, genShared, live: liveSab, implUrl, seed: seedFor(seed, "gen", g), deadline });
      const genMs = Math.max(...res.map((r) => r.end)) - Math.min(...res.map((r) => r.start));
      ms += genMs;
      other += otherCores * genMs;
      for (const r of res) {
        ops += r.ops;
        for (const k of ["allocs", "frees", "transfers"]) if (r[k] != null) extra[k] = (extra[k] ?? 0) + r[k];
      }
    }
    if (sampler) mem = await sampler.stop();
  } catch (err) {
    if (sampler) await sampler.kill();
    throw err;
  }
  wl.teardown(heap, shared, p);
  heap.flush();
  const leaked = heap.stats().allocated;
  return { ms, ops, rate: (ops / ms) * 1000, leaked, mem, extra, otherCores: other / ms };
}

/**
 * cfg: { reps, workerCounts, configs: ["sabmalloc", "sabmalloc-lock", native ids...], seed, quick, scale,
 *        warmOps, warmMs (a worker's warm-up: allocator calls, and the least time its loop runs: larson),
 *        limitMs (per repetition), sampleMs, implUrl, Heap, native: { id: runtime } }
 */
export async function runMultiThread(workloads, cfg, log) {
  const out = [];
  for (let wi = 0; wi < workloads.length; wi++) {
    const wl = workloads[wi];
    const p = { ...wl.params(cfg), warmOps: cfg.warmOps, warmMs: cfg.warmMs ?? 0 };
    log.mtWorkloadStart(wl, wi, workloads.length, p);
    const t0 = performance.now();
    const res = { id: wl.id, title: wl.title, unit: wl.unit, params: p, rows: [], seconds: 0 };
    const hangs = new Map(); // config -> repetitions that hung in this workload
    for (const w of cfg.workerCounts) {
      const native = cfg.native ?? {};
      const entries = cfg.configs.filter((config) => !native[config] || wl.native).map((config) => ({
        config, heap: null, status: "ok", note: "", native: native[config] ?? null,
        rates: new Array(cfg.reps).fill(NaN), others: [], leaks: [], mem: null, extra: null,
      }));
      for (const e of entries) {
        if (e.native) continue;
        try {
          e.heap = cfg.Heap.create(heapOptions(e.config, wl.bytes(p, w)));
        } catch (err) {
          e.status = "error"; e.note = `Heap.create failed: ${err.message}`;
        }
      }
      // Memory is sampled in a repetition of its own, before the timed ones and not timed (r = -1):
      // the sampler thread's stats() calls every 2 ms take each arena's lock and, with as many
      // workers as cores, a core's share from them (the native columns have no sampler). Up to run
      // 21 it was the first timed repetition: of the 2-worker larson and tree rows of runs 18-21,
      // it was the slowest repetition in 5 of 8.
      const sampled = wl.memory && cfg.memory !== false;
      for (let r = sampled ? -1 : 0; r < cfg.reps; r++) {
        const order = entries.map((_, i) => entries[(i + Math.max(r, 0)) % entries.length]);
        for (const e of order) {
          if (e.status !== "ok" || (r < 0 && e.native)) continue;
          if ((hangs.get(e.config) ?? 0) >= 2) {
            e.status = "hung";
            e.note = "skipped: hung twice already in this workload";
            continue;
          }
          log.mtRep(wl, w, e.config, r, cfg.reps);
          maybeGc();
          if (e.native) {
            try {
              const rep = await runNativeMt(e.native, wl.native, { p, w, gens: wl.gens(p), repSeed: seedFor(cfg.seed, wl.id, w, r), limitMs: cfg.limitMs });
              e.rates[r] = rep.rate;
            } catch (err) {
              e.status = /^watchdog:/.test(err.message) ? "hung" : "error";
              e.note = String(err.message).split("\n").slice(0, 3).join(" | ");
              log.mtFail(wl, w, e.config, e.note);
            }
            continue;
          }
          try {
            const rep = await runRep({ heap: e.heap, wl, w, p, implUrl: cfg.implUrl, seed: seedFor(cfg.seed, wl.id, w, r), limitMs: cfg.limitMs, sampleMs: cfg.sampleMs, memory: r < 0 });
            e.leaks.push(rep.leaked);
            if (rep.mem) e.mem = mergePeaks(e.mem, rep.mem);
            if (r >= 0) {
              e.rates[r] = rep.rate;
              if (Number.isFinite(rep.otherCores)) e.others.push(rep.otherCores);
              e.extra = rep.extra;
            }
            if (rep.leaked !== 0 && !e.note) e.note = `stats().allocated = ${rep.leaked} after everything was freed`;
          } catch (err) {
            e.status = /^watchdog:/.test(err.message) ? "hung" : "error";
            if (e.status === "hung") hangs.set(e.config, (hangs.get(e.config) ?? 0) + 1);
            e.note = String(err.message).split("\n").slice(0, 3).join(" | ");
            log.mtFail(wl, w, e.config, e.note);
          }
        }
      }
      for (const e of entries) {
        if (e.heap) { try { e.heap.detach(); } catch { /* ignore */ } }
        e.heap = null;
      }
      maybeGc();
      const [a] = entries;
      const ratios = {}; // throughput of configs[0] / each other configuration's, pair by pair
      for (const b of entries.slice(1)) {
        if (!a || a.status !== "ok" || b.status !== "ok") continue;
        const rs = [];
        for (let r = 0; r < cfg.reps; r++) if (Number.isFinite(a.rates[r]) && Number.isFinite(b.rates[r])) rs.push(a.rates[r] / b.rates[r]);
        ratios[b.config] = summary(rs);
      }
      const row = {
        workers: w,
        ratio: ratios[cfg.configs[1]] ?? null, // configs[0] / configs[1]
        ratios,
        configs: Object.fromEntries(entries.map((e) => [e.config, {
          status: e.status, note: e.note, rate: summary(e.rates), rates: e.rates,
          otherCores: e.others.length ? summary(e.others) : null,
          leaked: e.leaks.length ? Math.max(...e.leaks) : null, memory: e.mem, extra: e.extra,
        }])),
      };
      res.rows.push(row);
      const one = res.rows.find((x) => x.workers === 1);
      if (one) {
        row.scaling = {};
        for (const [c, cc] of Object.entries(row.configs)) {
          const base = one.configs[c];
          if (cc.status === "ok" && base?.status === "ok") row.scaling[c] = cc.rate.median / base.rate.median;
        }
      }
      log.mtRowDone(wl, row, cfg.configs);
    }
    res.seconds = (performance.now() - t0) / 1000;
    out.push(res);
  }
  return out;
}
