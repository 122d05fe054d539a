// Single-threaded runner: warm-up, interleaved repetitions (A B C A B C ...), per-case time limit,
// pairwise ratios against a reference allocator, and a separate memory pass.
import { Rng, seedFor } from "./rng.mjs";
import { summary, median } from "./stats.mjs";

/** A fresh copy of a self-contained function, with its own inline caches / type feedback. */
export function cloneFn(fn) {
  // eslint-disable-next-line no-new-func
  return new Function(`"use strict"; return (${fn.toString()});`)();
}

export function maybeGc() {
  if (typeof globalThis.gc === "function") globalThis.gc();
}

/**
 * Wraps an allocator instance and records the live requested bytes, the live usable bytes and,
 * every `every` calls, the allocator's own figures (active, mapped, metadata). Memory pass only.
 */
class MemProbe {
  constructor(inner, every, base) {
    this.inner = inner;
    this.every = every;
    this.base = base; // subtracted from `mapped` (GC baseline: the JS heap before the run)
    this.sizes = new Map();
    this.count = 0;
    this.live = 0; this.liveUsable = 0; this.blocks = 0;
    this.peakLive = 0; this.peakUsable = 0;
    this.peakActive = null; this.peakMapped = null; this.metaAtPeak = null; this.peakMeta = null;
    this.approx = false; this.samples = 0;
  }
  _add(p, n) {
    const u = this.inner.usable(p);
    this.sizes.set(p, n * 2 ** 32 + u); // requested and usable size in one number
    this.live += n; this.liveUsable += u; this.blocks++;
    if (this.live > this.peakLive) this.peakLive = this.live;
    if (this.liveUsable > this.peakUsable) this.peakUsable = this.liveUsable;
  }
  _del(p) {
    const v = this.sizes.get(p);
    if (v === undefined) return false;
    this.sizes.delete(p);
    this.live -= Math.floor(v / 2 ** 32); this.liveUsable -= v % 2 ** 32; this.blocks--;
    return true;
  }
  _tick() { if (++this.count % this.every === 0) this.sample(); }
  sample() {
    const st = this.inner.memStats(this.blocks);
    this.samples++;
    if (st.approx) this.approx = true;
    if (st.active != null) this.peakActive = Math.max(this.peakActive ?? 0, st.active);
    if (st.metadata != null) this.peakMeta = Math.max(this.peakMeta ?? 0, st.metadata);
    if (st.mapped != null) {
      const m = st.mapped - this.base;
      if (this.peakMapped == null || m > this.peakMapped) {
        this.peakMapped = m;
        this.metaAtPeak = st.metadata;
      }
    }
  }
  malloc(n) { const p = this.inner.malloc(n); if (p) this._add(p, n); this._tick(); return p; }
  calloc(c, n) { const p = this.inner.calloc(c, n); if (p) this._add(p, c * n); this._tick(); return p; }
  free(p) { if (p) this._del(p); this.inner.free(p); this._tick(); }
  realloc(p, n) {
    const old = p ? this.sizes.get(p) : undefined;
    if (p) this._del(p);
    const q = this.inner.realloc(p, n);
    if (q) this._add(q, n);
    else if (old !== undefined) { this.sizes.set(p, old); this.live += Math.floor(old / 2 ** 32); this.liveUsable += old % 2 ** 32; this.blocks++; }
    this._tick();
    return q;
  }
  slots(n) { return this.inner.slots(n); }
  result() {
    return {
      peakRequested: this.peakLive,
      peakAllocated: this.peakUsable,
      peakActive: this.peakActive,
      peakMapped: this.peakMapped,
      metadataAtPeakMapped: this.metaAtPeak,
      peakMetadata: this.peakMeta,
      approx: this.approx,
      samples: this.samples,
    };
  }
}

/**
 * Runs the given workloads against the given (loaded) adapters.
 * cfg: { reps, warmups, limitMs, seed, quick, scale, memory, ref }
 * log: progress callbacks { workloadStart(w, i, n, p), rep(r, reps), adapterFail(w, e, msg), workloadDone(result) }
 */
export async function runSingleThread(workloads, adapters, cfg, log) {
  const results = [];
  for (let wi = 0; wi < workloads.length; wi++) {
    const w = workloads[wi];
    const p = { ...w.params(cfg), limitMs: cfg.limitMs };
    const t = w.trace(p, new Rng(seedFor(cfg.seed, w.id)));
    const bytes = w.bytes(p, t);
    log.workloadStart(w, wi, workloads.length, p);
    const t0 = performance.now();

    const entries = adapters.map((ad) => ({
      ad, id: ad.id, fn: cloneFn(w.run), inst: null,
      samples: new Array(cfg.reps).fill(NaN), ops: new Array(cfg.reps).fill(0),
      status: "ok", note: "", partial: null,
    }));
    const fresh = (e) => {
      try { e.inst?.destroy?.(); } catch { /* ignore */ }
      e.inst = null;
      maybeGc();
      e.inst = e.ad.create({ bytes });
    };
    const fail = (e, err) => {
      e.status = "error";
      e.note = String(err?.message ?? err).split("\n")[0];
      log.adapterFail(w, e, e.note);
      try { e.inst?.destroy?.(); } catch { /* ignore */ }
      e.inst = null;
    };
    const after = (e, res) => {
      if (res.dirty || !e.inst.reset()) fresh(e);
    };

    for (const e of entries) {
      try { fresh(e); } catch (err) { fail(e, err); }
    }
    // warm-up (untimed): smaller runs of the same code
    const wp = { ...w.warm(p), limitMs: cfg.limitMs };
    for (let k = 0; k < cfg.warmups; k++) {
      for (const e of entries) {
        if (e.status !== "ok") continue;
        try {
          const res = e.fn(e.inst, wp, t, performance.now() + cfg.limitMs);
          if (res.timedOut) {
            e.status = "timeout";
            e.partial = { ops: res.ops, ms: res.ms, nsPerOp: res.ops > 0 ? (res.ms * 1e6) / res.ops : NaN, warmup: true };
            e.note = `timed out in warm-up (${(cfg.limitMs / 1000).toFixed(1)} s)`;
          }
          after(e, res);
        } catch (err) { fail(e, err); }
      }
    }
    // timed repetitions, interleaved; the order rotates every repetition
    for (let r = 0; r < cfg.reps; r++) {
      log.rep(r, cfg.reps);
      const order = entries.map((_, i) => entries[(i + r) % entries.length]);
      for (const e of order) {
        if (e.status !== "ok") continue;
        maybeGc();
        try {
          const res = e.fn(e.inst, p, t, performance.now() + cfg.limitMs);
          if (res.timedOut) {
            e.status = "timeout";
            e.partial = { ops: res.ops, ms: res.ms, nsPerOp: res.ops > 0 ? (res.ms * 1e6) / res.ops : NaN };
            e.note = `timed out (${(cfg.limitMs / 1000).toFixed(1)} s limit)`;
          } else {
            e.samples[r] = (res.ms * 1e6) / res.ops;
            e.ops[r] = res.ops;
          }
          after(e, res);
        } catch (err) { fail(e, err); }
      }
    }
    // memory pass: one instrumented run per allocator, on a fresh instance
    const mem = {};
    if (cfg.memory && w.memory) {
      const mp = { ...w.memParams(p), limitMs: cfg.limitMs };
      const every = Math.max(1, Math.floor(w.calls(mp) / 300));
      for (const e of entries) {
        if (e.status === "error") continue;
        try {
          e.inst?.destroy?.();
          e.inst = null;
          maybeGc();
          const inst = e.ad.create({ bytes });
          const st0 = inst.memStats(0);
          const probe = new MemProbe(inst, every, st0.approx ? st0.mapped : 0);
          const res = cloneFn(w.run)(probe, mp, t, performance.now() + cfg.limitMs);
          probe.sample();
          mem[e.id] = res.timedOut ? { timedOut: true } : probe.result();
          inst.destroy?.();
        } catch (err) {
          mem[e.id] = { error: String(err?.message ?? err).split("\n")[0] };
        }
      }
    }
    for (const e of entries) {
      try { e.inst?.destroy?.(); } catch { /* ignore */ }
      e.inst = null;
    }
    maybeGc();

    // summaries and pairwise ratios against the reference (same repetition = same conditions)
    const ref = entries.find((e) => e.id === cfg.ref && e.status === "ok");
    const res = {
      id: w.id, title: w.title, group: w.group, unit: w.unit, params: stripParams(p),
      seconds: (performance.now() - t0) / 1000,
      ref: ref ? ref.id : null,
      adapters: {},
      memory: mem,
    };
    for (const e of entries) {
      const s = summary(e.samples);
      let ratio = null;
      if (ref && e !== ref && e.status === "ok") {
        const rs = [];
        for (let r = 0; r < cfg.reps; r++) {
          if (Number.isFinite(e.samples[r]) && Number.isFinite(ref.samples[r])) rs.push(e.samples[r] / ref.samples[r]);
        }
        ratio = summary(rs);
      } else if (ref && e !== ref && e.status === "timeout" && e.partial && Number.isFinite(e.partial.nsPerOp)) {
        // a lower bound: the allocator was at least this much slower until it timed out
        ratio = { median: e.partial.nsPerOp / median(ref.samples), min: NaN, max: NaN, n: 0, lowerBound: true };
      }
      res.adapters[e.id] = {
        status: e.status, note: e.note,
        nsPerOp: s, samples: e.samples, ops: e.ops,
        partial: e.partial, ratio,
      };
    }
    results.push(res);
    log.workloadDone(res, entries.map((e) => e.id));
  }
  return results;
}

function stripParams(p) {
  const out = {};
  for (const [k, v] of Object.entries(p)) if (k !== "limitMs") out[k] = v;
  return out;
}
