// Single-threaded runner.
//
// Every allocator runs in its own worker thread ("host"): its own V8 isolate, so its own JIT type
// feedback, its own garbage-collected heap and no interference from the other allocators (in one
// isolate, running six allocators made every peer 1.3-2x slower than running three). Only one
// host works at a time: the main thread sends "run repetition r" to each host in turn and waits,
// so repetitions are interleaved A B C, B C A, ... and ratios are taken pair by pair.
// Per workload and host: a fresh instance, warm-up runs, timed repetitions (each after a full GC),
// a per-run time limit ("timed out", with the rate until then), and a separate memory pass.
// The native (C) peers answer the same requests from a child process (native-host.mjs). A
// workload that does not apply to an allocator (applies() in micro.mjs) is "n/a" for it.
import { Worker } from "node:worker_threads";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { churn } from "./churn.mjs";
import { Rng, seedFor } from "./rng.mjs";
import { summary, median } from "./stats.mjs";
import { NativeHost } from "./native-host.mjs";
import { MICRO_WORKLOADS, applies } from "../workloads/micro.mjs";

/** A fresh copy of a self-contained function, with its own inline caches / type feedback. */
let clones = 0;
export function cloneFn(fn) {
  // The comment makes every clone's source unique: V8 shares one compiled function (and its
  // optimized code) among evaluations of the same source, which would defeat the purpose.
  // eslint-disable-next-line no-new-func
  return new Function(`"use strict"; /* clone ${++clones} */ return (${fn.toString()});`)();
}

let gcFn = typeof globalThis.gc === "function" ? globalThis.gc : null;
if (!gcFn) {
  try {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc");
  } catch { gcFn = null; }
}
export function maybeGc() {
  if (gcFn) gcFn();
}

// ====================================================================== worker side

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
    if (v === undefined) return undefined;
    this.sizes.delete(p);
    this.live -= Math.floor(v / 2 ** 32); this.liveUsable -= v % 2 ** 32; this.blocks--;
    return v;
  }
  _tick() { if (++this.count % this.every === 0) this.sample(); }
  sample() {
    const st = this.inner.memStats(this.blocks, this.liveUsable);
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
    const old = p ? this._del(p) : undefined;
    const q = this.inner.realloc(p, n);
    if (q) this._add(q, n);
    else if (old !== undefined) { this.sizes.set(p, old); this.live += Math.floor(old / 2 ** 32); this.liveUsable += old % 2 ** 32; this.blocks++; }
    this._tick();
    return q;
  }
  slots(n) { return this.inner.slots(n); }
  view() { return this.inner.view(); }
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

const errText = (err) => String(err?.message ?? err).split("\n")[0];

/**
 * Runs every path of a fresh instance once, mixed sizes from 8 B to 100 KB, before any workload:
 * otherwise the first workload's code is compiled while a slow path has never been taken (V8 then
 * leaves it out as a deoptimization exit, which a real program does not keep for long), and the
 * first workload alone measures that lucky state. The instance is then thrown away.
 */
function warmAllocator(ad) {
  let inst;
  try {
    inst = ad.create({ bytes: 64 * 1024 * 1024 });
    // mostly small, some large
    churn(inst, inst.slots(256), 20000, (r) => Math.floor(8 * Math.pow(12500, (r / 2 ** 32) ** 2)));
  } catch { /* a peer that cannot do this is reported by the workloads themselves */ }
  try { inst?.destroy?.(); } catch { /* ignore */ }
}

/** One allocator, one workload at a time: what a host does on the main thread's requests. */
export class AdapterSession {
  constructor(adapter, workloads) {
    this.ad = adapter;
    this.workloads = workloads;
    this.s = null;
  }
  async load() {
    const r = await this.ad.load();
    if (r.ok) warmAllocator(this.ad);
    return r;
  }
  _fresh() {
    const s = this.s;
    try { s.inst?.destroy?.(); } catch { /* ignore */ }
    s.inst = null;
    maybeGc();
    s.inst = this.ad.create({ bytes: s.bytes });
  }
  _after(res) {
    if (res.dirty || !this.s.inst.reset()) this._fresh();
  }
  _fail(err) {
    const s = this.s;
    s.status = "error";
    s.note = errText(err);
    try { s.inst?.destroy?.(); } catch { /* ignore */ }
    s.inst = null;
    return { status: s.status, note: s.note };
  }
  prepare({ workloadId, cfg }) {
    const w = this.workloads.find((x) => x.id === workloadId);
    const p = { ...w.params(cfg), limitMs: cfg.limitMs };
    const t = w.trace(p, new Rng(seedFor(cfg.seed, w.id)));
    const run = this.ad.style === "objects" ? w.runObjects : w.run;
    this.s = { w, p, t, cfg, bytes: w.bytes(p, t), run, fn: cloneFn(run), inst: null, status: "ok", note: "", partial: null };
    const s = this.s;
    try { this._fresh(); } catch (err) { return this._fail(err); }
    const wp = { ...w.warm(p), limitMs: cfg.limitMs };
    // At least cfg.warmups runs, and on until cfg.warmMs have passed: a run of a few milliseconds
    // (64 KiB blocks, the realloc chains) ends before V8 has optimized what it calls, and in a
    // fresh host nothing else has run it (measured, one warm-up run each: the first timed
    // repetitions 2-4x the last ones, sabmalloc's and the peers' alike).
    const until = performance.now() + (cfg.warmMs ?? 0);
    for (let k = 0; (k < cfg.warmups || performance.now() < until) && s.status === "ok"; k++) {
      try {
        const res = s.fn(s.inst, wp, t, performance.now() + cfg.limitMs);
        if (res.timedOut) {
          s.status = "timeout";
          s.partial = { ops: res.ops, ms: res.ms, nsPerOp: res.ops > 0 ? (res.ms * 1e6) / res.ops : NaN, warmup: true };
          s.note = `timed out in warm-up (${(cfg.limitMs / 1000).toFixed(1)} s)`;
        }
        this._after(res);
      } catch (err) { return this._fail(err); }
    }
    // The warm-up's garbage is collected now, in this host's turn, not while another host's first
    // repetitions run: the garbage-collected peers' warm-ups leave gigabytes of typed arrays
    // (64 KiB each, on that row), whose freeing otherwise went on beside the next timed runs
    // (measured: the first two repetitions of the 64 KiB row 2-3x the rest, whichever allocator's).
    maybeGc();
    return { status: s.status, note: s.note, partial: s.partial };
  }
  rep() {
    const s = this.s;
    if (s.status !== "ok") return { status: s.status };
    maybeGc();
    try {
      const res = s.fn(s.inst, s.p, s.t, performance.now() + s.cfg.limitMs);
      const out = { status: "ok", ms: res.ms, ops: res.ops };
      if (res.timedOut) {
        s.status = "timeout";
        s.partial = { ops: res.ops, ms: res.ms, nsPerOp: res.ops > 0 ? (res.ms * 1e6) / res.ops : NaN };
        s.note = `timed out (${(s.cfg.limitMs / 1000).toFixed(1)} s limit)`;
        Object.assign(out, { status: "timeout", note: s.note, partial: s.partial });
      }
      this._after(res);
      return out;
    } catch (err) { return this._fail(err); }
  }
  memory() {
    const s = this.s;
    if (!s.cfg.memory || !s.w.memory || s.status === "error" || this.ad.style === "objects" || this.ad.memory === false) return null;
    try {
      try { s.inst?.destroy?.(); } catch { /* ignore */ }
      s.inst = null;
      maybeGc();
      const mp = { ...s.w.memParams(s.p), limitMs: s.cfg.limitMs };
      const every = Math.max(1, Math.floor(s.w.calls(mp) / 300));
      const inst = this.ad.create({ bytes: s.bytes });
      const st0 = inst.memStats(0, 0);
      const probe = new MemProbe(inst, every, 0);
      const res = cloneFn(s.run)(probe, mp, s.t, performance.now() + s.cfg.limitMs);
      probe.sample();
      const out = probe.result();
      if (st0.approx && out.peakMapped != null) {
        // GC baseline: growth of the JS heap over its floor (before the run, or after it once
        // everything was dropped and collected, whichever is lower)
        maybeGc();
        const floor = Math.min(st0.mapped, inst.memStats(0, 0).mapped);
        out.peakMapped -= floor;
      }
      try { inst.destroy?.(); } catch { /* ignore */ }
      return res.timedOut ? { timedOut: true } : out;
    } catch (err) {
      return { error: errText(err) };
    }
  }
  finish() {
    if (this.s) { try { this.s.inst?.destroy?.(); } catch { /* ignore */ } }
    this.s = null;
    maybeGc();
    return {};
  }
}

// ====================================================================== main side

const HOST_SCRIPT = new URL("./st-worker.mjs", import.meta.url);
const MIN_REPS = 3;

/** A worker thread hosting one allocator; call(msg) -> its reply. */
class Host {
  constructor(id, implPath) {
    this.id = id;
    this.worker = new Worker(HOST_SCRIPT, { workerData: { id, implPath }, resourceLimits: { maxOldGenerationSizeMb: 8192 } });
    this.waiting = null;
    this.dead = null;
    this.worker.on("message", (m) => { const w = this.waiting; this.waiting = null; w?.resolve(m); });
    const die = (why) => {
      this.dead = why;
      const w = this.waiting; this.waiting = null; w?.reject(new Error(why));
    };
    this.worker.on("error", (err) => die(`host crashed: ${errText(err)}`));
    this.worker.on("exit", (code) => die(`host exited (code ${code})`));
  }
  call(msg, timeoutMs) {
    if (this.dead) return Promise.reject(new Error(this.dead));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.worker.terminate();
        reject(new Error(`no answer within ${(timeoutMs / 1000).toFixed(0)} s, host terminated`));
      }, timeoutMs);
      this.waiting = {
        resolve: (m) => { clearTimeout(timer); m && m.type === "fatal" ? reject(new Error(m.message)) : resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      this.worker.postMessage(msg);
    });
  }
  async close() {
    if (!this.dead) { this.worker.removeAllListeners("exit"); await this.worker.terminate(); }
  }
}

/** A new host of adapter `ad`, loaded: { host, r } (host null when the load failed: r.reason). */
async function loadHost(ad, implPath) {
  const host = ad.kind === "native" ? new NativeHost(ad, MICRO_WORKLOADS) : new Host(ad.id, implPath);
  let r;
  try { r = await host.call({ type: "load" }, 120000); } catch (err) { r = { ok: false, reason: errText(err) }; }
  if (!r.ok) await host.close();
  return { host: r.ok ? host : null, r };
}

/**
 * Start one host per adapter id and load the adapter in it.
 * -> [{ id, label, ok, note, reason, host, renew }], renew(): a fresh host in place of host (for a
 * JavaScript adapter; null for a native one, whose child process has no JIT state to carry over).
 */
export async function startHosts(adapters, implPath) {
  const out = [];
  for (const ad of adapters) {
    const { host, r } = await loadHost(ad, implPath);
    const e = { id: ad.id, label: ad.label, kind: ad.kind, style: ad.style ?? "heap", only: ad.only, ok: r.ok, note: r.note, reason: r.reason, host, renew: null };
    if (ad.kind !== "native") {
      e.renew = async () => {
        if (e.host) await e.host.close();
        const got = await loadHost(ad, implPath);
        e.host = got.host;
        if (!got.host) throw new Error(`a fresh host did not load: ${got.r.reason}`);
      };
    }
    out.push(e);
  }
  return out;
}

export async function stopHosts(hosts) {
  await Promise.all(hosts.filter((h) => h.host).map((h) => h.host.close()));
}

/**
 * Runs the given workloads on the loaded hosts.
 * cfg: { reps, warmups, stWarmMs, limitMs, seed, quick, scale, memory, ref, refs, freshHosts }
 * Ratios: against cfg.ref (`ratio`) and against each of cfg.refs (`ratios[id]`), pair by pair.
 */
export async function runSingleThread(workloads, hosts, cfg, log) {
  const results = [];
  const wcfg = { reps: cfg.reps, warmups: cfg.warmups, warmMs: cfg.stWarmMs ?? 0, limitMs: cfg.limitMs, seed: cfg.seed, quick: cfg.quick, scale: cfg.scale, memory: cfg.memory };
  // generous: a warm-up or memory pass may legitimately use several time limits
  const answerMs = Math.max(60000, (cfg.warmups + 4) * cfg.limitMs * 3);
  for (let wi = 0; wi < workloads.length; wi++) {
    const w = workloads[wi];
    const p = { ...w.params(wcfg) };
    log.workloadStart(w, wi, workloads.length, p);
    const t0 = performance.now();
    // A fresh host (a new isolate) per workload for every JavaScript allocator: V8's type feedback
    // and compiled code for its malloc and free, and its garbage collector's state, then come from
    // this workload alone (and the load's warm-up), not from the rows before it, so a row measures
    // the same whether the suite runs whole or in part (--filter). (Measured with shared hosts:
    // batch 100k FIFO 69-77 ns a pair in full runs, 47-55 in runs of part of the suite.)
    if (cfg.freshHosts && wi > 0) {
      for (const h of hosts) {
        if (!h.renew || !(h.host || h.lost) || !applies(w, h)) continue;
        try { await h.renew(); h.lost = null; } catch (err) { h.lost = errText(err); log.adapterFail(w, { id: h.id }, h.lost); }
      }
    }
    // An allocator whose fresh host did not load is reported as an error from then on.
    const entries = hosts.filter((h) => h.host || h.lost).map((h) => ({
      id: h.id, host: h.host, adapter: h,
      samples: new Array(cfg.reps).fill(NaN), ops: new Array(cfg.reps).fill(0),
      status: h.host ? "ok" : "error", note: h.host ? "" : h.lost, partial: null, memory: null, spent: 0, capped: 0, wall: {},
    }));
    const ask = async (e, msg) => {
      const t1 = performance.now();
      try {
        return await e.host.call(msg, answerMs);
      } catch (err) {
        e.status = "error";
        e.note = errText(err);
        log.adapterFail(w, e, e.note);
        return null;
      } finally {
        e.wall[msg.type] = (e.wall[msg.type] ?? 0) + (performance.now() - t1) / 1000;
      }
    };
    for (const e of entries) {
      if (!applies(w, e.adapter)) { e.status = "n/a"; continue; }
      if (!e.host) continue; // lost: an error already
      const r = await ask(e, { type: "prepare", workloadId: w.id, cfg: wcfg });
      if (!r) continue;
      e.status = r.status; e.note = r.note; e.partial = r.partial;
      if (r.status === "error") log.adapterFail(w, e, r.note);
    }
    for (let r = 0; r < cfg.reps; r++) {
      log.rep(r, cfg.reps);
      const order = entries.map((_, i) => entries[(i + r) % entries.length]);
      for (const e of order) {
        if (e.status !== "ok" || e.capped) continue;
        const res = await ask(e, { type: "rep" });
        if (!res) continue;
        if (res.status === "ok") {
          e.samples[r] = (res.ms * 1e6) / res.ops;
          e.ops[r] = res.ops;
          e.spent += res.ms;
          // a slow allocator stops after MIN_REPS once it has used its time budget for this workload
          if (r + 1 >= MIN_REPS && r + 1 < cfg.reps && e.spent > cfg.budgetMs) {
            e.capped = r + 1;
            e.note = `${r + 1} of ${cfg.reps} repetitions (time budget)`;
          }
        } else {
          e.status = res.status; e.note = res.note; e.partial = res.partial ?? null;
          if (res.status === "error") log.adapterFail(w, e, res.note);
        }
      }
    }
    const mem = {};
    for (const e of entries) {
      if (!e.host || e.host.dead || e.status === "n/a") continue;
      // an allocator that timed out would time out again in the memory pass
      const m = e.status === "timeout" ? { timedOut: true } : await ask(e, { type: "memory" });
      if (m) mem[e.id] = m;
      await ask(e, { type: "finish" });
    }

    const ref = entries.find((e) => e.id === cfg.ref && e.status === "ok");
    /** ratios of e's times to r's, pair by pair; a lower bound when e timed out */
    const ratioTo = (e, r) => {
      if (!r || e === r) return null;
      if (e.status === "ok") {
        const rs = [];
        for (let k = 0; k < cfg.reps; k++) {
          if (Number.isFinite(e.samples[k]) && Number.isFinite(r.samples[k])) rs.push(e.samples[k] / r.samples[k]);
        }
        return summary(rs);
      }
      if (e.status === "timeout" && e.partial && Number.isFinite(e.partial.nsPerOp)) {
        // a lower bound: the allocator was at least this much slower until it timed out
        return { median: e.partial.nsPerOp / median(r.samples), min: NaN, max: NaN, n: 0, lowerBound: true };
      }
      return null;
    };
    const res = {
      id: w.id, title: w.title, group: w.group, unit: w.unit, params: p,
      seconds: (performance.now() - t0) / 1000,
      ref: ref ? ref.id : null,
      adapters: {},
      memory: mem,
    };
    const others = (cfg.refs ?? []).map((id) => entries.find((e) => e.id === id && e.status === "ok")).filter(Boolean);
    res.refs = others.map((r) => r.id);
    for (const e of entries) {
      const ratios = {};
      for (const r of others) { const x = ratioTo(e, r); if (x) ratios[r.id] = x; }
      res.adapters[e.id] = {
        status: e.status, note: e.note, nsPerOp: summary(e.samples), samples: e.samples, ops: e.ops, partial: e.partial,
        ratio: ratioTo(e, ref), ratios, wallSeconds: e.wall,
      };
    }
    results.push(res);
    log.workloadDone(res, entries.map((e) => e.id));
  }
  return results;
}
