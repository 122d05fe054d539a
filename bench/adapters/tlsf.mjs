// Peer: AssemblyScript's runtime allocator (TLSF) in WebAssembly, single-threaded.
// The module (bench/peers/tlsf.as.ts) is compiled at bench time into bench/.build/ with the
// `assemblyscript` package's programmatic API, and recompiled only when its source, the compiler
// version or the flags change.
import { createHash } from "node:crypto";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(here, "..", "peers", "tlsf.as.ts");
const OUT_DIR = path.join(here, "..", ".build");
const OUT = path.join(OUT_DIR, "tlsf.wasm");
const STAMP = path.join(OUT_DIR, "tlsf.stamp");
// -O3, no assertions (as a release build), TLSF without an automatic GC.
const FLAGS = ["-O3", "--noAssert", "--runtime", "minimal"];

let wasmModule = null;

async function ascVersion() {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(await readFile(require.resolve("assemblyscript/package.json"), "utf8"));
  return pkg.version;
}

/** Compile (or reuse) bench/.build/tlsf.wasm; returns { file, compiled, ms, version }. */
export async function buildTlsf({ force = false } = {}) {
  const src = await readFile(SRC, "utf8");
  const version = await ascVersion();
  const stamp = createHash("sha256").update(src).update(version).update(FLAGS.join(" ")).digest("hex");
  if (!force) {
    try {
      if ((await readFile(STAMP, "utf8")) === stamp) {
        await readFile(OUT);
        return { file: OUT, compiled: false, ms: 0, version };
      }
    } catch { /* not built yet */ }
  }
  await mkdir(OUT_DIR, { recursive: true });
  const t0 = performance.now();
  const { default: asc } = await import("assemblyscript/asc");
  const out = [];
  const { error, stderr } = await asc.main([path.relative(process.cwd(), SRC), "--outFile", path.relative(process.cwd(), OUT), ...FLAGS], {
    stdout: { write: (s) => { out.push(String(s)); return true; } },
  });
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
  await writeFile(STAMP, stamp);
  return { file: OUT, compiled: true, ms: performance.now() - t0, version };
}

class TlsfInstance {
  constructor(instance) {
    const e = instance.exports;
    this.e = e;
    this.mem = e.memory;
    this._malloc = e.malloc;
    this._free = e.free;
    this._realloc = e.realloc;
    this._calloc = e.calloc;
    this.base = this.mem.buffer.byteLength;
  }
  malloc(n) { return this._malloc(n) >>> 0; }
  free(p) { this._free(p); }
  realloc(p, n) { return this._realloc(p, n) >>> 0; }
  calloc(c, n) { return this._calloc(c, n) >>> 0; }
  slots(n) { return new Uint32Array(n); }
  reset() { return false; } // no way to reset TLSF from outside: the runner makes a new instance
  usable(p) { return this.e.usable(p) >>> 0; }
  view() { return new Uint32Array(this.mem.buffer); } // a new one after memory.grow
  memStats(liveBlocks) {
    return {
      active: null,
      mapped: this.mem.buffer.byteLength,       // linear memory (TLSF grows it by doubling)
      metadata: liveBlocks != null ? 4 * liveBlocks : null, // 4-byte header per block (+ a ~1.5 KiB root)
      capacity: this.mem.buffer.byteLength,
    };
  }
}

export default {
  id: "as-tlsf",
  label: "AssemblyScript TLSF (wasm)",
  kind: "peer",
  info: null,
  async load() {
    try {
      const info = await buildTlsf();
      this.info = info;
      wasmModule = await WebAssembly.compile(await readFile(info.file));
      return { ok: true, note: `assemblyscript ${info.version}, ${FLAGS.join(" ")}` + (info.compiled ? `, compiled in ${(info.ms / 1000).toFixed(1)} s` : ", cached build") };
    } catch (err) {
      return { ok: false, reason: `could not build the AssemblyScript module: ${err.message}` };
    }
  },
  create() {
    const inst = new WebAssembly.Instance(wasmModule, {
      env: {
        abort(msg, file, line, col) { throw new Error(`AssemblyScript abort at ${line}:${col}`); },
      },
    });
    return new TlsfInstance(inst);
  },
};
