// Native peers: the workloads in C (bench/native/native.c), built at bench time with the system's
// C compiler (cc -O2) into bench/.build/native-bench, and run as a child process:
//   native-glibc     the C library's malloc (glibc)
//   native-jemalloc  the same program with jemalloc preloaded (LD_PRELOAD=libjemalloc.so.2)
// Without a compiler, or without jemalloc, the adapter reports "skipped" with the reason and the
// suite runs without that column. The child process protocol is in lib/native-host.mjs.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(here, "..", "native", "native.c");
const OUT_DIR = path.join(here, "..", ".build");
const BIN = path.join(OUT_DIR, "native-bench");
const STAMP = path.join(OUT_DIR, "native-bench.stamp");
// -O2; malloc & co. not treated as builtins (the compiler may delete a malloc whose block is only freed)
export const CFLAGS = ["-O2", "-fno-builtin-malloc", "-fno-builtin-free", "-fno-builtin-calloc", "-fno-builtin-realloc", "-pthread"];
const LIBS = ["-lm", "-ldl"];
const JEMALLOC_DEFAULT = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

/** The first C compiler that runs: $CC, cc, gcc, clang. -> { cc, version } or null */
export function findCompiler() {
  for (const cc of [process.env.CC, "cc", "gcc", "clang"].filter(Boolean)) {
    const r = spawnSync(cc, ["--version"], { encoding: "utf8" });
    if (r.status === 0) return { cc, version: r.stdout.split("\n")[0].trim() };
  }
  return null;
}

/** libjemalloc.so.2: the Debian/Ubuntu path, else what `ldconfig -p` lists. -> path or null */
export function findJemalloc() {
  if (existsSync(JEMALLOC_DEFAULT)) return JEMALLOC_DEFAULT;
  for (const ldconfig of ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
    const r = spawnSync(ldconfig, ["-p"], { encoding: "utf8" });
    if (r.status !== 0) continue;
    for (const line of r.stdout.split("\n")) {
      const m = /^\s*libjemalloc\.so\.2 \(([^)]*)\) => (\S+)/.exec(line);
      if (m && (process.arch !== "x64" || m[1].includes("x86-64")) && existsSync(m[2])) return m[2];
    }
    return null;
  }
  return null;
}

let building = null;

/**
 * Compile (or reuse) bench/.build/native-bench, once per process.
 * -> { ok: true, bin, cc, version, compiled, ms } or { ok: false, reason }
 */
export function buildNative() {
  building ??= (async () => {
    const comp = findCompiler();
    if (!comp) return { ok: false, reason: "no C compiler (cc, gcc or clang; or set CC)" };
    const src = await readFile(SRC, "utf8");
    const args = [...CFLAGS, "-o", BIN, SRC, ...LIBS];
    const stamp = createHash("sha256").update(src).update(comp.cc).update(comp.version).update(args.join(" ")).digest("hex");
    try {
      if ((await readFile(STAMP, "utf8")) === stamp && existsSync(BIN)) return { ok: true, bin: BIN, ...comp, compiled: false, ms: 0 };
    } catch { /* not built yet */ }
    await mkdir(OUT_DIR, { recursive: true });
    const t0 = performance.now();
    const r = spawnSync(comp.cc, args, { encoding: "utf8" });
    if (r.status !== 0) return { ok: false, reason: `${comp.cc} failed: ${(r.stderr || r.error?.message || "").trim().split("\n").slice(0, 3).join(" | ")}` };
    await writeFile(STAMP, stamp);
    return { ok: true, bin: BIN, ...comp, compiled: true, ms: performance.now() - t0 };
  })();
  return building;
}

function makeNative(id, label, preload) {
  return {
    id,
    label,
    kind: "native",
    style: "native",
    preload,            // true: LD_PRELOAD jemalloc
    runtime: null,      // after a successful load: { bin, env, malloc }, also used by the multi-threaded runner
    /** build, find the library: -> { ok, bin, env, note } or { ok: false, reason } */
    async prepareRuntime() {
      if (process.platform !== "linux") return { ok: false, reason: `native peers need Linux (this is ${process.platform})` };
      const b = await buildNative();
      if (!b.ok) return b;
      const env = { ...process.env };
      delete env.LD_PRELOAD;
      if (preload) {
        const lib = findJemalloc();
        if (!lib) return { ok: false, reason: "libjemalloc.so.2 not found (Debian/Ubuntu: apt-get install libjemalloc2)" };
        env.LD_PRELOAD = lib;
      }
      return { ok: true, bin: b.bin, env, note: `${b.cc} ${CFLAGS[0]} (${b.version})${b.compiled ? `, compiled in ${(b.ms / 1000).toFixed(1)} s` : ", cached build"}` + (preload ? `, LD_PRELOAD=${env.LD_PRELOAD}` : "") };
    },
    async load() { return { ok: false, reason: "runs as a child process (lib/native-host.mjs), not in a worker" }; },
    create() { throw new Error(`${id} has no in-process instance`); },
  };
}

export const nativeGlibc = makeNative("native-glibc", "C, -O2, glibc malloc (child process)", false);
export const nativeJemalloc = makeNative("native-jemalloc", "C, -O2, jemalloc (LD_PRELOAD, child process)", true);
