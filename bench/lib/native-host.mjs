// The native peers' side of the single-threaded runner, and their multi-threaded repetitions.
//
// NativeHost stands in for a worker-thread host (harness.mjs): the same call(msg) -> reply, but
// the allocator is bench/.build/native-bench in a child process (`serve` mode, one command line in,
// one JSON line out), so its repetitions interleave with the JS allocators' ones in the same run
// (A B C ..., rotated) and the ratios are taken pair by pair like any other. For each workload it
// sends the workload's parameters and seed; the C program generates the trace with its port of
// lib/rng.mjs and answers with a checksum, which must equal the JS trace's (else: error).
// The C program measures its own time (CLOCK_MONOTONIC around the loop, like performance.now()
// around the JS loop); process start-up and the pipe are outside the timed region.
//
// runNativeMt: one multi-threaded repetition = one run of `native-bench mt <kind>` (pthreads).
import { spawn } from "node:child_process";
import { Rng, seedFor } from "./rng.mjs";
import { traceChecksum } from "../workloads/micro.mjs";

const errText = (err) => String(err?.message ?? err).split("\n")[0];

/** key=value words of a parameter object's numbers and booleans (prefix: "w_" for warm-up ones) */
function words(p, prefix = "") {
  return Object.entries(p)
    .filter(([, v]) => typeof v === "number" || typeof v === "boolean")
    .map(([k, v]) => `${prefix}${k}=${Number(v)}`);
}

const checks = new Map(); // JS trace checksums, per workload, parameters and seed

export class NativeHost {
  constructor(adapter, workloads) {
    this.ad = adapter;
    this.id = adapter.id;
    this.workloads = workloads;
    this.child = null;
    this.dead = null;
    this.lines = [];
    this.waiting = null;
    this.stderr = "";
  }

  async call(msg, timeoutMs) {
    if (this.dead) throw new Error(this.dead);
    switch (msg.type) {
      case "load": return this._load();
      case "prepare": return this._prepare(msg, timeoutMs);
      case "rep": return this._rep(timeoutMs);
      case "memory": return null; // no memory pass for the native peers
      case "finish": await this._ask("finish", timeoutMs); return {};
      default: throw new Error(`unknown request ${msg.type}`);
    }
  }

  async _load() {
    const rt = await this.ad.prepareRuntime();
    if (!rt.ok) return rt;
    this.child = spawn(rt.bin, ["serve"], { env: rt.env, stdio: ["pipe", "pipe", "pipe"] });
    let buf = "";
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (s) => {
      buf += s;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const w = this.waiting;
        this.waiting = null;
        w?.resolve(line);
      }
    });
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (s) => { this.stderr = (this.stderr + s).slice(-2000); });
    this.child.on("error", (err) => this._die(`native-bench: ${errText(err)}`));
    this.child.on("exit", (code, sig) => this._die(`native-bench exited (${sig ?? code})${this.stderr ? ": " + this.stderr.trim().split("\n").pop() : ""}`));
    let hello;
    try { hello = await this._ask("hello", 10000); } catch (err) { return { ok: false, reason: errText(err) }; }
    if (this.ad.preload && !/^jemalloc/.test(hello.malloc)) {
      await this.close();
      return { ok: false, reason: `LD_PRELOAD=${rt.env.LD_PRELOAD} did not take effect (the program sees ${hello.malloc})` };
    }
    this.ad.runtime = { bin: rt.bin, env: rt.env, malloc: hello.malloc };
    return { ok: true, note: `${hello.malloc}; ${rt.note}` };
  }

  _die(why) {
    if (this.dead) return;
    this.dead = why;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(new Error(why));
  }

  /** send one command line, wait for its JSON line */
  _ask(line, timeoutMs) {
    if (this.dead) return Promise.reject(new Error(this.dead));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this._die(`no answer within ${(timeoutMs / 1000).toFixed(0)} s, native-bench killed`);
        this.child.kill("SIGKILL");
        reject(new Error(this.dead));
      }, timeoutMs);
      this.waiting = {
        resolve: (s) => { clearTimeout(timer); try { resolve(JSON.parse(s)); } catch { reject(new Error(`bad answer from native-bench: ${s.slice(0, 200)}`)); } },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      this.child.stdin.write(line + "\n");
    });
  }

  async _prepare({ workloadId, cfg }, timeoutMs) {
    const w = this.workloads.find((x) => x.id === workloadId);
    if (!w?.native) return { status: "n/a", note: "no C version" };
    const p = { ...w.params(cfg), limitMs: cfg.limitMs };
    const wp = { ...w.warm(p), limitMs: cfg.limitMs };
    const seed = seedFor(cfg.seed, w.id);
    const key = `${w.id} ${seed} ${JSON.stringify(p)}`;
    if (!checks.has(key)) checks.set(key, traceChecksum(w.trace(p, new Rng(seed))));
    const r = await this._ask(["prepare", w.native, `seed=${seed}`, `warmups=${cfg.warmups}`, ...words(p), ...words(wp, "w_")].join(" "), timeoutMs);
    if (r.status === "error") return { status: "error", note: r.note };
    if (r.check !== checks.get(key)) {
      return { status: "error", note: `the C trace differs from the JS trace (checksum ${r.check} vs ${checks.get(key)})` };
    }
    if (r.status === "timeout") return { status: "timeout", note: `timed out in warm-up (${(cfg.limitMs / 1000).toFixed(1)} s)`, partial: null };
    return { status: "ok", note: "", partial: null };
  }

  async _rep(timeoutMs) {
    const r = await this._ask("rep", timeoutMs);
    const out = { status: "ok", ms: r.ms, ops: r.ops };
    if (r.status === "timeout") {
      const note = "timed out";
      Object.assign(out, { status: "timeout", note, partial: { ops: r.ops, ms: r.ms, nsPerOp: r.ops > 0 ? (r.ms * 1e6) / r.ops : NaN } });
    }
    return out;
  }

  async close() {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.removeAllListeners("exit");
    const exited = new Promise((res) => this.child.once("exit", res));
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
    this.dead = "closed";
  }
}

/**
 * One multi-threaded repetition in C: `native-bench mt <kind> threads=w ...` with the adapter's
 * environment (LD_PRELOAD for jemalloc). The seeds are those the JS run derives for the same
 * repetition (lib/mt.mjs): setup Rng seed, and per generation and thread the thread's seed.
 * -> { ms, ops, rate }
 */
export function runNativeMt(runtime, kind, { p, w, gens, repSeed, limitMs }) {
  const seeds = [];
  for (let g = 0; g < gens; g++) {
    const genSeed = seedFor(repSeed, "gen", g);
    for (let id = 0; id < w; id++) seeds.push(seedFor(genSeed, g, id));
  }
  const args = ["mt", kind, `threads=${w}`, `seed=${seedFor(repSeed, "setup")}`, `seeds=${seeds.join(",")}`, ...words(p)];
  return new Promise((resolve, reject) => {
    const child = spawn(runtime.bin, args, { env: runtime.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.setEncoding("utf8").on("data", (s) => { out += s; });
    child.stderr.setEncoding("utf8").on("data", (s) => { err = (err + s).slice(-2000); });
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`watchdog: native-bench gave no result within ${(limitMs / 1000).toFixed(0)} s`)); }, limitMs);
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.on("exit", (code, sig) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`native-bench mt ${kind} exited (${sig ?? code}): ${err.trim().split("\n").pop() ?? ""}`));
      try {
        const r = JSON.parse(out.trim().split("\n").pop());
        resolve({ ms: r.ms, ops: r.ops, rate: (r.ops / r.ms) * 1000, malloc: r.malloc });
      } catch { reject(new Error(`bad answer from native-bench: ${out.slice(0, 200)}`)); }
    });
  });
}
