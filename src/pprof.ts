// pprof: a heap profile (profile.ts) in the formats the tools read - pprof's profile.proto (gzip),
// Chrome DevTools' .heapprofile JSON, and a short text like `pprof -top`.
//
// Browsers: this module imports nothing from node: at its top. gzip is node:zlib's where there is
// a node:zlib (imported on load, only in Node), else a gzip stream of stored (uncompressed) deflate
// blocks written here - every pprof reader accepts it, it is only bigger. The encoder, the npm
// package `pprof-format`, is imported on load too; a page without it (no bundler, no import map
// for "pprof-format") can still use everything else, and toPprof says what is missing.

import { formatBytes } from "./format.js";
import type { HeapProfile, ProfileFrame } from "./profile.js";

type PprofFormat = typeof import("pprof-format");
type Gzip = (data: Uint8Array) => Uint8Array;

let pprofFormat: PprofFormat | null = null;
try {
  pprofFormat = await import("pprof-format");
} catch {
  pprofFormat = null;
}

let nodeGzip: Gzip | null = null;
if (typeof process !== "undefined" && process.versions?.node) {
  try {
    const zlib = await import("node:zlib");
    nodeGzip = (data) => new Uint8Array(zlib.gzipSync(data));
  } catch {
    nodeGzip = null;
  }
}

// ---- gzip without zlib ---------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crc32(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * A gzip member (RFC 1952) holding `data` in stored deflate blocks (RFC 1951, BTYPE 00, at most
 * 65535 bytes each): valid gzip that any reader inflates, written without a compressor.
 *
 *   | 1f 8b 08 00 | mtime 0 | 00 ff | (block: final? 00 | len | ~len | bytes)* | crc32 | size |
 */
export function gzipStored(data: Uint8Array): Uint8Array {
  const nblocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(10 + nblocks * 5 + data.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  let at = 10;
  for (let b = 0; b < nblocks; b++) {
    const start = b * 65535;
    const len = Math.min(65535, data.length - start);
    out[at++] = b === nblocks - 1 ? 1 : 0;
    out[at++] = len & 255;
    out[at++] = len >>> 8;
    out[at++] = ~len & 255;
    out[at++] = (~len >>> 8) & 255;
    out.set(data.subarray(start, start + len), at);
    at += len;
  }
  const view = new DataView(out.buffer);
  view.setUint32(at, crc32(data), true);
  view.setUint32(at + 4, data.length >>> 0, true);
  return out;
}

// ---- pprof ---------------------------------------------------------------------------------------

/**
 * The profile as gzip-compressed pprof profile.proto bytes: sample types inuse_objects/count and
 * inuse_space/bytes (the default), one location per (function, file, line, column), the sampling
 * period in space/bytes, and a label "slot" with the allocating thread's slot. Read it with
 * `go tool pprof` (or `pprof -http=: FILE`).
 */
export function toPprof(p: HeapProfile): Uint8Array {
  const pf = pprofFormat;
  if (pf === null) {
    throw new Error("sabmalloc: toPprof needs the npm package pprof-format (in a browser: an import map or a bundler)");
  }
  const strings = new pf.StringTable();
  const str = (v: string): number => strings.dedup(v);
  const functions: InstanceType<PprofFormat["Function"]>[] = [];
  const locations: InstanceType<PprofFormat["Location"]>[] = [];
  const functionIds = new Map<string, number>();
  const locationIds = new Map<string, number>();
  const locationOf = (f: ProfileFrame): number => {
    const fkey = `${f.functionName}\n${f.url}`;
    let fid = functionIds.get(fkey);
    if (fid === undefined) {
      fid = functions.length + 1;
      functionIds.set(fkey, fid);
      functions.push(new pf.Function({ id: fid, name: str(f.functionName), systemName: str(f.functionName), filename: str(f.url) }));
    }
    const lkey = `${fkey}\n${f.line}\n${f.column}`;
    let lid = locationIds.get(lkey);
    if (lid === undefined) {
      lid = locations.length + 1;
      locationIds.set(lkey, lid);
      locations.push(new pf.Location({ id: lid, mappingId: 1, line: [new pf.Line({ functionId: fid, line: f.line, column: f.column })] }));
    }
    return lid;
  };
  const objects = new pf.ValueType({ type: str("inuse_objects"), unit: str("count") });
  const space = new pf.ValueType({ type: str("inuse_space"), unit: str("bytes") });
  const slotKey = str("slot");
  const sample = p.samples.map((s) => new pf.Sample({
    locationId: s.stack.map(locationOf),
    value: [Math.round(s.objects), Math.round(s.bytes)],
    label: [new pf.Label({ key: slotKey, num: s.slot })],
  }));
  const profile = new pf.Profile({
    sampleType: [objects, space],
    sample,
    mapping: [new pf.Mapping({ id: 1, filename: str("sabmalloc"), hasFunctions: true, hasFilenames: true, hasLineNumbers: true })],
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(Date.now()) * 1_000_000n,
    periodType: new pf.ValueType({ type: str("space"), unit: str("bytes") }),
    period: p.sampleBytes,
    defaultSampleType: str("inuse_space"),
  });
  const raw = profile.encode();
  return (nodeGzip ?? gzipStored)(raw);
}

// ---- DevTools --------------------------------------------------------------------------------------

/** A node of Chrome's sampling heap profile (the DevTools protocol's HeapProfiler.SamplingHeapProfileNode). */
export interface DevToolsNode {
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  id: number;
  children: DevToolsNode[];
}

/** Chrome's `.heapprofile` (HeapProfiler.SamplingHeapProfile). */
export interface DevToolsProfile {
  head: DevToolsNode;
  samples: { size: number; nodeId: number; ordinal: number }[];
}

/**
 * The profile as Chrome's `.heapprofile` JSON (save it with JSON.stringify, then DevTools, Memory
 * panel, Load): a call tree from "(root)", each stack's estimated live bytes as the self size of
 * its innermost frame's node; line and column numbers 0-based, as Chrome writes them.
 */
export function toDevTools(p: HeapProfile): DevToolsProfile {
  let ids = 0;
  const node = (functionName: string, url: string, line: number, column: number): DevToolsNode => ({
    callFrame: { functionName, scriptId: "0", url, lineNumber: line, columnNumber: column },
    selfSize: 0, id: ++ids, children: [],
  });
  const head = node("(root)", "", -1, -1);
  const childIndex = new Map<DevToolsNode, Map<string, DevToolsNode>>();
  const samples: DevToolsProfile["samples"] = [];
  for (const s of p.samples) {
    let at = head;
    for (let i = s.stack.length - 1; i >= 0; i--) {
      const f = s.stack[i];
      const key = `${f.functionName}\n${f.url}\n${f.line}\n${f.column}`;
      let kids = childIndex.get(at);
      if (kids === undefined) childIndex.set(at, (kids = new Map()));
      let next = kids.get(key);
      if (next === undefined) {
        next = node(f.functionName, f.url, Math.max(0, f.line - 1), Math.max(0, f.column - 1));
        kids.set(key, next);
        at.children.push(next);
      }
      at = next;
    }
    const bytes = Math.round(s.bytes);
    at.selfSize += bytes;
    samples.push({ size: bytes, nodeId: at.id, ordinal: samples.length + 1 });
  }
  return { head, samples };
}

// ---- Text ----------------------------------------------------------------------------------------------

/**
 * A short report like `pprof -top`: the estimated live bytes and blocks by innermost frame, biggest
 * first (flat), with their share and the running sum.
 */
export function formatProfile(p: HeapProfile, limit = 20): string {
  if (p.sampleBytes === 0) return "heap profile: profiling is off (HeapOptions.profile)\n";
  let total = 0;
  let objects = 0;
  let count = 0;
  const rows = new Map<string, { bytes: number; objects: number }>();
  for (const s of p.samples) {
    total += s.bytes;
    objects += s.objects;
    count += s.count;
    const f = s.stack[0];
    const file = f.url.slice(f.url.lastIndexOf("/") + 1);
    const key = `${f.functionName} ${file}:${f.line}`;
    const r = rows.get(key) ?? { bytes: 0, objects: 0 };
    r.bytes += s.bytes;
    r.objects += s.objects;
    rows.set(key, r);
  }
  const every = p.sampleBytes === 1 ? "every allocation sampled" : `a sample every ${formatBytes(p.sampleBytes)} on average`;
  const lines = [
    `heap profile: ${formatBytes(Math.round(total))} in ${Math.round(objects)} live blocks (estimated from ${count} samples; ${every})`,
    `${"flat".padStart(10)} ${"flat%".padStart(6)} ${"sum%".padStart(6)} ${"blocks".padStart(9)}  function file:line`,
  ];
  let sum = 0;
  const sorted = [...rows.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
  for (const [key, r] of sorted.slice(0, limit)) {
    sum += r.bytes;
    const pct = (v: number): string => (total > 0 ? ((100 * v) / total).toFixed(1) + "%" : "-").padStart(6);
    lines.push(`${formatBytes(Math.round(r.bytes)).padStart(10)} ${pct(r.bytes)} ${pct(sum)} ${String(Math.round(r.objects)).padStart(9)}  ${key}`);
  }
  if (sorted.length > limit) lines.push(`(${sorted.length - limit} more)`);
  return lines.join("\n") + "\n";
}
