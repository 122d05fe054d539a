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
//
// --save FILE keeps the heap (heap.save, the table found again through the root "demo.table")
// once the workers have stopped; --load FILE starts from such a file instead of an empty heap,
// verifies every record, and goes on. `sabmalloc inspect FILE` (inspectcmd.ts) reports on a file.

import { statSync, writeFileSync } from "node:fs";
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
import { inspectCommand } from "./inspectcmd.js";
import type { WorkerData } from "./demo/workload.js";

const USAGE = `usage: sabmalloc demo [options]
       sabmalloc inspect FILE [--svg map.svg] [--json]   (a heap saved by demo --save or heap.save)

Starts worker threads that share one sabmalloc heap and a hash map that lives inside it, runs a
mixed workload (get / put / delete of variable-length records, every byte checked), then prints
the throughput and the heap's statistics and draws the heap's pages to an SVG file.

options:
  --workers N      worker threads (default: the number of CPUs, here ${availableParallelism()})
  --seconds S      how long to run (default 3)
  --max-bytes B    the heap's size limit, e.g. 64M, 1G (default 1G)
  --keys K         size of the key space (default 16384)
  --out FILE       where to write the heap map (default heapmap.svg)
  --chaos          terminate workers at random moments (every 30-300 ms) and start new ones:
                   their slots are reclaimed by heap.watch(), every record is still verified
  --json           print the raw stats object and the results as JSON on stdout
  --save FILE      save the heap to FILE when the workers stop (heap.save), then tear down
  --load FILE      start from a heap saved with --save: find the table, verify every record, go on
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
  chaos: boolean;
  save?: string;
  load?: string;
  profile: string | null;
  profileSample: number;
}

class UsageError extends Error {}

/** The root under which the demo keeps its table (found again by --load). */
const TABLE_ROOT = "demo.table";

const MIN_BYTES = 8 * 2 ** 20; // the heap's header, the table, and a thread cache per worker
/** The largest record the workload makes (workload.ts: recordSize), with its header, in a block. */
const MAX_RECORD = (1 << 20) + (3 << 19) + 4096;

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
      chaos: { type: "boolean" },
      save: { type: "string" },
      load: { type: "string" },
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
    keys: Math.floor(parseNumber("keys", values.keys, values.load === undefined ? 16384 : 0, 1, 1 << 24)), // 0: the loaded table's
    out: values.out ?? "heapmap.svg",
    json: values.json ?? false,
    chaos: values.chaos ?? false,
    save: values.save,
    load: values.load,
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
  private killed = false;

  constructor(url: URL, data: WorkerData, heap: Heap) {
    this.worker = new Worker(url, { workerData: data });
    this.worker.on("message", (m: Msg) => this.push(m));
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => {
      if (code !== 0 && !this.killed) this.fail(new Error(`worker ${data.id} exited with code ${code}`));
    });
    // Its slot is reclaimed when it exits without detach() (a crash, or --chaos).
    this.worker.postMessage(heap.watch(this.worker));
  }

  /** Terminates the worker wherever it is (--chaos). */
  kill(): Promise<number> {
    this.killed = true;
    return this.worker.terminate();
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
  let heap: Heap;
  let table: SharedTable;
  let loaded: { file: string; ms: number; bytes: number; records: number; verifyMs: number } | undefined;
  if (o.load !== undefined) {
    // A saved heap: the table is where its root says; every record must still check out.
    const t0 = performance.now();
    heap = await Heap.load(o.load, { maxBytes: o.maxBytes });
    const ms = performance.now() - t0;
    const ptr = heap.getRoot(TABLE_ROOT);
    if (ptr === 0) throw new Error(`${o.load} holds no demo table (no root "${TABLE_ROOT}")`);
    table = SharedTable.open(heap, ptr);
    const t1 = performance.now();
    const found = table.verifyAll();
    loaded = { file: o.load, ms, bytes: heap.stats().mapped, records: found.records, verifyMs: performance.now() - t1 };
    if (o.keys === 0) o.keys = table.capacity / 2;
  } else {
    heap = Heap.create({
      maxBytes: o.maxBytes, initialBytes: Math.min(o.maxBytes, 8 << 20),
      profile: o.profile === null ? false : { sampleBytes: o.profileSample },
    });
    table = SharedTable.create(heap, 2 * o.keys);
    heap.setRoot(TABLE_ROOT, table.ptr);
  }
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (1 + o.workers)));
  const url = new URL("./demo/worker.js", import.meta.url);
  say(`sabmalloc demo: ${o.workers} worker thread${o.workers === 1 ? "" : "s"} x ${o.seconds} s on one shared heap (max ${formatBytes(o.maxBytes)})`);
  say(`workload: a hash map in the heap (${o.keys.toLocaleString("en-US")} keys, ${table.capacity.toLocaleString("en-US")} slots, ` +
    `a lock per 64 slots); records of 12 B .. 2.5 MiB; 50% get, 30% put, 20% delete; every byte checked`);
  if (loaded) {
    say(`loaded ${loaded.file}: ${formatBytes(loaded.bytes)} of chunks in ${loaded.ms.toFixed(1)} ms; ` +
      `${int(loaded.records)} records found through root "${TABLE_ROOT}", every byte verified in ${loaded.verifyMs.toFixed(1)} ms`);
  }

  const peers: Peer[] = [];
  let generation = 0;
  const spawn = (id: number): Peer =>
    new Peer(url, { table: table.ptr, ctl: ctl.buffer as SharedArrayBuffer, id, keys: o.keys, seed: 0x9e3779b9 * (id + 1) + generation++ }, heap);
  for (let id = 0; id < o.workers; id++) peers.push(spawn(id));
  const chaos = { kills: 0, opsOfDead: 0, locksBroken: 0 };
  try {
    const slots = await Promise.all(peers.map((p) => p.next("ready")));
    // Go.
    const progress = new Progress();
    const t0 = performance.now();
    Atomics.store(ctl, 0, Phase.GO);
    Atomics.notify(ctl, 0);
    const total = o.seconds;
    const timer = setInterval(() => {
      const elapsed = Math.min(total, (performance.now() - t0) / 1000);
      let ops = chaos.opsOfDead;
      for (let i = 0; i < o.workers; i++) ops += Atomics.load(ctl, 1 + i);
      progress.update(elapsed, total, ops, heap.stats().allocated);
    }, 100);
    const end = t0 + o.seconds * 1000;
    while (o.chaos && performance.now() < end - 30) {
      // Chaos: terminate a worker wherever it is - inside malloc, free, a table lock - and start
      // another in its place. watch() reclaims its heap slot on 'exit'; its table locks are broken.
      await new Promise((r) => setTimeout(r, Math.min(30 + Math.random() * 270, end - performance.now())));
      if (performance.now() >= end) break;
      const id = Math.floor(Math.random() * o.workers);
      chaos.opsOfDead += Atomics.load(ctl, 1 + id);
      await peers[id].kill();
      chaos.locksBroken += table.breakLocksOf(slots[id].slot);
      chaos.kills++;
      peers[id] = spawn(id);
      Atomics.store(ctl, 1 + id, 0);
      slots[id] = await peers[id].next("ready");
    }
    await new Promise((r) => setTimeout(r, Math.max(0, end - performance.now())));
    const done = Promise.all(peers.map((p) => p.next("done")));
    Atomics.store(ctl, 0, Phase.STOP);
    clearInterval(timer);
    const dones = await done.finally(() => progress.end());
    const wall = (performance.now() - t0) / 1000;
    const results: WorkerResult[] = dones.map((d, id) => ({ id, slot: slots[id].slot, ms: d.ms, counters: d.counters }));
    const t = sum(results);
    t.ops += chaos.opsOfDead;

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
      `${formatBytes(t.bytesWritten)} written, ${formatBytes(t.bytesChecked)} checked` +
      (o.chaos ? " (calls and bytes of the workers alive at the end; ops of all)" : ""));
    if (t.full > 0) say(`note: ${int(t.full)} puts found no room (the heap reached --max-bytes ${formatBytes(o.maxBytes)})`);
    if (o.chaos) {
      say(`chaos: ${chaos.kills} workers terminated at random moments and replaced; their slots reclaimed by ` +
        `heap.watch(), ${chaos.locksBroken} table lock${chaos.locksBroken === 1 ? "" : "s"} broken; heap check() passed`);
    }

    // The heap as the workers left it (still attached, caches flushed).
    const stats: HeapStats = heap.stats();
    const live = table.verifyAll();
    say(`table: ${int(live.records)} records, ${formatBytes(live.bytes)} of record bytes, every byte checked`);
    let saved: { file: string; ms: number; bytes: number } | undefined;
    if (o.save !== undefined) {
      const t1 = performance.now();
      await heap.save(o.save);
      saved = { file: o.save, ms: performance.now() - t1, bytes: statSync(o.save).size };
      say(`saved the heap to ${o.save}: ${formatBytes(saved.bytes)} in ${saved.ms.toFixed(1)} ms (sabmalloc demo --load ${o.save} goes on from here)`);
    }
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
    // A terminated worker may take with it the record it was making or freeing: not the heap's
    // to know (the table held no pointer to it). At most one such record per termination.
    // With profiling on, the profile's own tables stay (they hold the stacks seen).
    const lostBound = chaos.kills * MAX_RECORD;
    const ok = after.allocated >= profileOverhead && after.allocated - profileOverhead <= lostBound;
    say(`teardown: all records freed, ${o.workers} worker${o.workers === 1 ? "" : "s"} detached, check() passed, ` +
      `allocated ${formatBytes(after.allocated)}` + (o.chaos ? ` (records in flight in terminated workers; at most ${formatBytes(lostBound)})` : "") +
      `${ok ? "" : "  <-- expected " + (o.chaos ? "less" : "0")}` +
      `${profileOverhead > 0 ? ` (the profile's own tables: ${formatBytes(profileOverhead)})` : ""}`);
    if (o.json) {
      process.stdout.write(JSON.stringify({
        config: o,
        results: { seconds: wall, ops: t.ops, opsPerSec, mallocs, frees, counters: t, workers: results },
        chaos: o.chaos ? chaos : undefined,
        table: live,
        stats,
        heapMap: o.out,
        loaded,
        saved,
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
  if (process.argv[2] === "inspect") {
    process.exitCode = await inspectCommand(process.argv.slice(3));
    return;
  }
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
