// conf: SABMALLOC_CONF, options from the environment (jemalloc's MALLOC_CONF, in its spirit).
//
//   SABMALLOC_CONF="arenas:8,thread_cache:false,debug:true,max_threads:64,stats_print:true"
//
// Read once per thread (per module instance): in Node from process.env, in a browser (or anywhere
// else) from globalThis.SABMALLOC_CONF. Heap.create and Heap.fromMemory take its options as
// defaults: an option given explicitly wins. A key this module does not know, or a value it cannot
// read, is left out, and all of them are named in ONE warning (process.emitWarning in Node,
// console.warn elsewhere), given the first time a heap is made.
//
//   key            option              value
//   arenas         arenas              integer 1 .. 256
//   thread_cache   threadCache         true | false
//   debug          debug               true | false
//   keep_empty_runs keepEmptyRuns      true | false
//   kept_decay_ms  keptDecayMs         integer 1 .. 2^31 - 1, or -1: never (jemalloc's dirty_decay_ms)
//   max_threads    maxThreads          integer 1 .. 4096
//   profile        profile             true | false (profiling: another module's option)
//   profile_sample profile.sampleBytes bytes, an integer >= 1 (with profile:true)
//   profile_frames profile.maxFrames   integer 1 .. 128: frames a sampled stack keeps (with profile:true)
//   stats_print    -                   true | false: print formatStats(heap.stats()) of every heap
//                                      this thread made when the process exits (Node)

import { formatStats } from "./format.js";
import type { Heap, HeapOptions } from "./heap.js";

/** What SABMALLOC_CONF says. */
export interface Conf {
  /** Options for Heap.create / fromMemory (`profile` is passed on for the profiling option). */
  options: HeapOptions & { profile?: boolean | { sampleBytes?: number; maxFrames?: number } };
  statsPrint: boolean;
  /** One line per key that was left out, naming it. */
  problems: string[];
}

const BOOL: Record<string, boolean> = { true: true, false: false, "1": true, "0": false, yes: true, no: false };

function readInt(v: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

/** Parses a SABMALLOC_CONF string (pure: no warning, no side effect). */
export function parseConf(text: string): Conf {
  const conf: Conf = { options: {}, statsPrint: false, problems: [] };
  let profile: boolean | undefined;
  let sample: number | undefined;
  let frames: number | undefined;
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const colon = item.indexOf(":");
    const key = (colon < 0 ? item : item.slice(0, colon)).trim();
    const value = colon < 0 ? "" : item.slice(colon + 1).trim();
    const bool = BOOL[value.toLowerCase()];
    const bad = (expected: string): void => {
      conf.problems.push(`${key}: expected ${expected}, not ${JSON.stringify(value)}`);
    };
    switch (key) {
      case "arenas": {
        const n = readInt(value, 1, 256);
        if (n === undefined) bad("an integer from 1 to 256");
        else conf.options.arenas = n;
        break;
      }
      case "max_threads": {
        const n = readInt(value, 1, 4096);
        if (n === undefined) bad("an integer from 1 to 4096");
        else conf.options.maxThreads = n;
        break;
      }
      case "kept_decay_ms": {
        const n = value === "-1" ? Infinity : readInt(value, 1, 2 ** 31 - 1);
        if (n === undefined) bad("milliseconds, an integer from 1 to 2^31 - 1, or -1: never");
        else conf.options.keptDecayMs = n;
        break;
      }
      case "thread_cache":
      case "keep_empty_runs":
      case "debug":
      case "stats_print":
      case "profile":
        if (bool === undefined) {
          bad("true or false");
        } else if (key === "thread_cache") {
          conf.options.threadCache = bool;
        } else if (key === "keep_empty_runs") {
          conf.options.keepEmptyRuns = bool;
        } else if (key === "debug") {
          conf.options.debug = bool;
        } else if (key === "stats_print") {
          conf.statsPrint = bool;
        } else {
          profile = bool;
        }
        break;
      case "profile_sample": {
        const n = readInt(value, 1, 2 ** 32);
        if (n === undefined) bad("a number of bytes, an integer >= 1");
        else sample = n;
        break;
      }
      case "profile_frames": {
        const n = readInt(value, 1, 128);
        if (n === undefined) bad("an integer from 1 to 128");
        else frames = n;
        break;
      }
      default:
        conf.problems.push(`${key || JSON.stringify(item)}: unknown key (known: arenas, thread_cache, keep_empty_runs, kept_decay_ms, debug, max_threads, profile, profile_sample, profile_frames, stats_print)`);
    }
  }
  if (profile !== undefined) {
    conf.options.profile = profile && (sample !== undefined || frames !== undefined)
      ? { ...(sample !== undefined ? { sampleBytes: sample } : {}), ...(frames !== undefined ? { maxFrames: frames } : {}) }
      : profile;
  }
  return conf;
}

// ---- The environment, read once ------------------------------------------------------------------

let envConf: Conf | null = null;
let warned = false;

/** The SABMALLOC_CONF text of this environment, or "". */
function envText(): string {
  const g = globalThis as { SABMALLOC_CONF?: unknown; process?: { env?: Record<string, string | undefined> } };
  const fromEnv = g.process?.env?.SABMALLOC_CONF;
  if (typeof fromEnv === "string") return fromEnv;
  return typeof g.SABMALLOC_CONF === "string" ? g.SABMALLOC_CONF : "";
}

/** SABMALLOC_CONF as read the first time (warning once about what it could not use). */
export function environmentConf(): Conf {
  if (envConf === null) envConf = parseConf(envText());
  if (!warned && envConf.problems.length > 0) {
    warned = true;
    const text = `SABMALLOC_CONF: ignored ${envConf.problems.join("; ")}`;
    const p = (globalThis as { process?: { emitWarning?: (w: string, type: string) => void } }).process;
    if (typeof p?.emitWarning === "function") p.emitWarning(text, "SabmallocConfWarning");
    else console.warn(text);
  }
  return envConf;
}

/** For tests: forget what was read, so the next heap reads the environment again. @internal */
export function resetConf(): void {
  envConf = null;
  warned = false;
}

/** `options` over the environment's: explicit options win; options that are undefined do not count. */
export function withConf<T extends HeapOptions>(options: T): T {
  if (options === null || typeof options !== "object") return options; // readOptions says what is wrong
  const env = environmentConf().options;
  const out: Record<string, unknown> = { ...env };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
  return out as T;
}

// ---- stats_print -----------------------------------------------------------------------------------

const printAtExit: Heap[] = [];

/** With stats_print:true, `heap`'s statistics are printed (stderr) when the process exits. */
export function statsAtExit(heap: Heap): Heap {
  if (!environmentConf().statsPrint) return heap;
  const p = (globalThis as { process?: { once?: (e: string, f: () => void) => void; stderr?: { write(s: string): void } } }).process;
  if (typeof p?.once !== "function" || p.stderr === undefined) return heap; // Node only
  if (printAtExit.length === 0) {
    p.once("exit", () => {
      for (const h of printAtExit) {
        try {
          p.stderr!.write(formatStats(h.stats()));
        } catch {
          // detached meanwhile: nothing to print
        }
      }
    });
  }
  printAtExit.push(heap);
  return heap;
}
