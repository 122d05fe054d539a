#!/usr/bin/env node
// cli: `sabmalloc demo` - many worker threads share one heap and a hash map inside it.
//
//   main thread                                   N worker threads
//   Heap.create, SharedTable.create
//   spawn workers (heap.handle, table.ptr) ---->  Heap.attach, SharedTable.open
//   GO                                   ---->  get / put / delete, every record checked
//   progress bar (stderr)                         ...
//   STOP                                 ---->  flush, report counters
//   throughput, formatStats(heap.stats()), heapMap(heap) -> heapmap.svg
//   (--profile FILE) heap.profile() -> toPprof / toDevTools -> FILE
//   check every record, free them all, workers detach, check(), stats().allocated === 0

import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { formatBytes, formatStats } from "./format.js";
import { Heap } from "./heap.js";
import { heapMap } from "./heapmap.js";
import { formatProfile, toDevTools, toPprof } from "./pprof.js";
import type { HeapStats } from "./stats.js";
import { SharedTable } from "./demo/table.js";
import { Counters, newCounters, Phase } from "./demo/workload.js";
import type { WorkerData } from "./demo/workload.js";

const USAGE = `usage: sabmalloc demo [options]

Starts worker threads that share one sabmalloc heap and a hash map that lives inside it, runs a
mixed workload (get / put / delete of variable-length records, every byte checked), then prints
the throughput and the heap's statistics and draws the heap's pages to an SVG file.

options:
  --workers N      worker threads (default: the number of CPUs, here ${availableParallelism()})
  --seconds S      how long to run (default 3)
  --max-bytes B    the heap's size limit, e.g. 64M, 1G (default 1G)
  --keys K         size of the key space (default 16384)
  --out FILE       where to write the heap map (default heapmap.svg)
  --json           print the raw stats object and the results as JSON on stdout
  --profile FILE   sample the heap (HeapOptions.profile) and write the live records' heap profile:
                   FILE.heapprofile in Chrome DevTools' format, anything else (say out.pb.gz) as
                   gzip'd pprof
  --profile-sample B  mean bytes between samples (default 512K; 1: every allocation)
  -h, --help       this text
`;

interface Options {
  workers: number;
  seconds: number;
  maxBytes: number;
  keys: number;
  out: string;
  json: boolean;
  profile: string | null;
  profileSample: number;
}

class UsageError extends Error {}

const MIN_BYTES = 8 * 2 ** 20; // the heap's header, the table, and a thread cache per worker

function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`--max-bytes: cannot read "${s}" (say 64M or 1G)`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  const v = Math.floor(Number(m[1]) * mult);
  if (v < MIN_BYTES || v > 2 ** 32) throw new UsageError(`--max-bytes: from 8M to 4G, not ${s}`);
  return v;
}

function parseSample(s: string): number {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(s.trim());
  const mult = m ? { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"] : 0;
  const v = m ? Number(m[1]) * mult : NaN;
  if (!(v >= 1 && v <= 2 ** 30)) throw new UsageError(`--profile-sample: from 1 to 1G bytes, not "${s}"`);
  return v;
}

function parseNumber(name: string, s: string | undefined, dflt: number, min: number, max: number): number {
  if (s === undefined) return dflt;
  const v = Number(s);
  if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${name}: expected a number from ${min} to ${max}, not "${s}"`);
  return v;
}

function readOptions(argv: string[]): Options | null {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      workers: { type: "string" },
      seconds: { type: "string" },
      "max-bytes": { type: "string" },
      keys: { type: "string" },
      out: { type: "string" },
      json: { type: "boolean" },
      profile: { type: "string" },
      "profile-sample": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return null;
  if (positionals.length !== 1 || positionals[0] !== "demo") {
    throw new UsageError(positionals.length === 0 ? "say which command: demo" : `unknown command "${positionals.join(" ")}"`);
  }
  return {
    workers: Math.floor(parseNumber("workers", values.workers, availableParallelism(), 1, 120)),
    seconds: parseNumber("seconds", values.seconds, 3, 0.1, 3600),
    maxBytes: values["max-bytes"] === undefined ? 2 ** 30 : parseBytes(values["max-bytes"]),
    keys: Math.floor(parseNumber("keys", values.keys, 16384, 1, 1 << 24)),
    out: values.out ?? "heapmap.svg",
    json: values.json ?? false,
    profile: values.profile ?? null,
    profileSample: values["profile-sample"] === undefined ? 512 * 1024 : parseSample(values["profile-sample"]),
  };
}

// ---- Progress -----------------------------------------------------------------------------------

const BAR = 24;

/** A progress bar on stderr when it is a terminal; else a plain line every second. */
class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastLine = 0;

  update(elapsed: number, total: number, ops: number, heapBytes: number): void {
    const rate = elapsed > 0 ? ops / elapsed : 0;
    const tail = `${elapsed.toFixed(1)} s / ${total.toFixed(1)} s  ${ops.toLocaleString("en-US")} ops  ` +
      `${fmtRate(rate)} ops/s  heap ${formatBytes(heapBytes)} allocated`;
    if (this.tty) {
      const done = Math.min(BAR, Math.round((BAR * elapsed) / total));
      const line = `  [${"█".repeat(done)}${"░".repeat(BAR - done)}] ${tail}`;
      process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
    } else if (Math.floor(elapsed) > this.lastLine) {
      this.lastLine = Math.floor(elapsed);
      process.stderr.write(`  ${tail}\n`);
    }
  }

  end(): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
  }
}

function fmtRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)} M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} k`;
  return r.toFixed(0);
}

// ---- The demo ----------------------------------------------------------------------------------------

interface WorkerResult {
  id: number;
  slot: number;
  ms: number;
  counters: Counters;
}

type Msg =
  | { type: "ready"; slot: number }
  | { type: "done"; counters: Counters; ms: number }
  | { type: "detached" }
  | { type: "error"; message: string; slot: number };

/** A worker and a queue of its messages, to await one at a time. */
class Peer {
  readonly worker: Worker;
  private readonly queue: Msg[] = [];
  private waiting: ((m: Msg) => void) | null = null;
  private failure: Error | null = null;

  constructor(url: URL, data: WorkerData) {
    this.worker = new Worker(url, { workerData: data });
    this.worker.on("message", (m: Msg) => this.push(m));
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => {
      if (code !== 0) this.fail(new Error(`worker ${data.id} exited with code ${code}`));
    });
  }

  private push(m: Msg): void {
    if (m.type === "error") return this.fail(new Error(`worker failed: ${m.message}`));
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(m);
    } else {
      this.queue.push(m);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ type: "error", message: e.message, slot: -1 });
    }
  }

  async next<T extends Msg["type"]>(type: T): Promise<Extract<Msg, { type: T }>> {
    const m = this.queue.shift() ?? (this.failure ? null : await new Promise<Msg>((r) => (this.waiting = r)));
    if (this.failure) throw this.failure;
    if (!m || m.type !== type) throw new Error(`expected "${type}" from a worker, got ${JSON.stringify(m)}`);
    return m as Extract<Msg, { type: T }>;
  }
}

function sum(results: WorkerResult[]): Counters {
  const t = newCounters();
  for (const r of results) for (const k of Object.keys(t) as (keyof Counters)[]) t[k] += r.counters[k];
  return t;
}

async function demo(o: Options): Promise<number> {
  const say = o.json ? () => {} : (s = "") => process.stdout.write(s + "\n");
  const heap = Heap.create({
    maxBytes: o.maxBytes, initialBytes: Math.min(o.maxBytes, 8 << 20),
    profile: o.profile === null ? false : { sampleBytes: o.profileSample },
  });
  const table = SharedTable.create(heap, 2 * o.keys);
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (1 + o.workers)));
  const url = new URL("./demo/worker.js", import.meta.url);
  say(`sabmalloc demo: ${o.workers} worker thread${o.workers === 1 ? "" : "s"} x ${o.seconds} s on one shared heap (max ${formatBytes(o.maxBytes)})`);
  say(`workload: a hash map in the heap (${o.keys.toLocaleString("en-US")} keys, ${table.capacity.toLocaleString("en-US")} slots, ` +
    `a lock per 64 slots); records of 12 B .. 2.5 MiB; 50% get, 30% put, 20% delete; every byte checked`);

  const peers: Peer[] = [];
  for (let id = 0; id < o.workers; id++) {
    peers.push(new Peer(url, { handle: heap.handle, table: table.ptr, ctl: ctl.buffer as SharedArrayBuffer, id, keys: o.keys, seed: 0x9e3779b9 * (id + 1) }));
  }
  try {
    const slots = await Promise.all(peers.map((p) => p.next("ready")));
    // Go.
    const progress = new Progress();
    const t0 = performance.now();
    Atomics.store(ctl, 0, Phase.GO);
    Atomics.notify(ctl, 0);
    const done = Promise.all(peers.map((p) => p.next("done")));
    const total = o.seconds;
    const timer = setInterval(() => {
      const elapsed = Math.min(total, (performance.now() - t0) / 1000);
      let ops = 0;
      for (let i = 0; i < o.workers; i++) ops += Atomics.load(ctl, 1 + i);
      progress.update(elapsed, total, ops, heap.stats().allocated);
    }, 100);
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    Atomics.store(ctl, 0, Phase.STOP);
    clearInterval(timer);
    const dones = await done.finally(() => progress.end());
    const wall = (performance.now() - t0) / 1000;
    const results: WorkerResult[] = dones.map((d, id) => ({ id, slot: slots[id].slot, ms: d.ms, counters: d.counters }));
    const t = sum(results);

    // What happened.
    const mallocs = t.inserts + t.replaces;
    const frees = t.replaces + t.deletes;
    const opsPerSec = t.ops / wall;
    const rows = results.map((r) => [
      String(r.id), String(r.slot), int(r.counters.ops), int(r.counters.ops / (r.ms / 1000)), int(r.counters.gets),
      int(r.counters.hits), int(r.counters.inserts), int(r.counters.replaces), int(r.counters.deletes), int(r.counters.full),
    ]);
    rows.push(["total", "", int(t.ops), int(opsPerSec), int(t.gets), int(t.hits), int(t.inserts), int(t.replaces), int(t.deletes), int(t.full)]);
    say();
    for (const line of columns(["worker", "slot", "ops", "ops/s", "gets", "hits", "inserts", "replaces", "deletes", "full"], rows)) say(line);
    say();
    say(`throughput: ${fmtRate(opsPerSec)} ops/s, ${fmtRate((mallocs + frees) / wall)} malloc + free calls/s; ` +
      `${formatBytes(t.bytesWritten)} written, ${formatBytes(t.bytesChecked)} checked`);
    if (t.full > 0) say(`note: ${int(t.full)} puts found no room (the heap reached --max-bytes ${formatBytes(o.maxBytes)})`);

    // The heap as the workers left it (still attached, caches flushed).
    const stats: HeapStats = heap.stats();
    const live = table.verifyAll();
    say(`table: ${int(live.records)} records, ${formatBytes(live.bytes)} of record bytes, every byte checked`);
    say();
    if (!o.json) process.stdout.write(formatStats(stats));
    const svg = heapMap(heap);
    writeFileSync(o.out, svg);
    say();
    say(`heap map: wrote ${o.out} (${stats.chunks} chunks of 1 MiB, ${formatBytes(svg.length)})`);
    let profileOverhead = 0;
    if (o.profile !== null) {
      // The live records' profile: the workers' samples, seen from this thread.
      const prof = heap.profile();
      profileOverhead = prof.overheadBytes;
      const devtools = o.profile.endsWith(".heapprofile");
      writeFileSync(o.profile, devtools ? JSON.stringify(toDevTools(prof)) : toPprof(prof));
      say();
      if (!o.json) process.stdout.write(formatProfile(prof, 8));
      say(`heap profile: wrote ${o.profile} (${devtools ? "Chrome DevTools .heapprofile: Memory panel, Load" : "pprof: go tool pprof -top " + o.profile})`);
    }

    // Teardown: free everything; every thread leaves; the heap must be consistent and empty.
    table.destroy();
    heap.flush();
    for (const p of peers) p.worker.postMessage({ type: "detach" });
    await Promise.all(peers.map((p) => p.next("detached")));
    heap.check();
    const after = heap.stats();
    // With profiling on, the profile's own tables stay (they hold the stacks seen).
    const ok = after.allocated === profileOverhead;
    say(`teardown: all records freed, ${o.workers} worker${o.workers === 1 ? "" : "s"} detached, check() passed, ` +
      `allocated ${formatBytes(after.allocated)}${ok ? "" : "  <-- expected 0"}` +
      `${profileOverhead > 0 ? ` (the profile's own tables: ${formatBytes(profileOverhead)})` : ""}`);
    if (o.json) {
      process.stdout.write(JSON.stringify({
        config: o,
        results: { seconds: wall, ops: t.ops, opsPerSec, mallocs, frees, counters: t, workers: results },
        table: live,
        stats,
        heapMap: o.out,
        teardown: { check: "passed", allocated: after.allocated, stats: after },
      }, null, 2) + "\n");
    }
    heap.detach();
    return ok ? 0 : 1;
  } finally {
    Atomics.store(ctl, 0, Phase.STOP);
    for (const p of peers) p.worker.unref();
  }
}

function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function columns(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const w = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => "  " + r.map((v, c) => v.padStart(w[c])).join("  "));
}

async function main(): Promise<void> {
  let o: Options | null;
  try {
    o = readOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`sabmalloc: ${(e as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  if (o === null) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    process.exitCode = await demo(o);
  } catch (e) {
    process.stderr.write(`\nsabmalloc demo failed: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 1000).unref(); // workers that are stuck must not keep us alive
  }
}

await main();
