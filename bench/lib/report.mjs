// Terminal progress and tables, bench/results.md, results.json and the SVG charts.
import { fmtNs, fmtRate, fmtRatio, fmtBytes, fmtFactor } from "./stats.mjs";
import { barChart, scalingChart } from "./svg.mjs";
import { targetRows } from "./targets.mjs";

const pad = (s, n) => (s.length >= n ? s : s + " ".repeat(n - s.length));
const padL = (s, n) => (s.length >= n ? s : " ".repeat(n - s.length) + s);

/** plain-text table with aligned columns */
export function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? "").length)));
  const line = (r) => r.map((c, i) => (i === 0 ? pad(String(c ?? ""), widths[i]) : padL(String(c ?? ""), widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function mdTable(header, rows, align) {
  const a = align ?? header.map((_, i) => (i === 0 ? ":--" : "--:"));
  return [`| ${header.join(" | ")} |`, `| ${a.join(" | ")} |`, ...rows.map((r) => `| ${r.map((c) => String(c ?? "").replace(/\|/g, "\\|")).join(" | ")} |`)].join("\n");
}

// ------------------------------------------------------------------ cells

export function nsCell(a, { range = true } = {}) {
  if (!a || a.status === "n/a") return "";
  if (a.status === "timeout") {
    const p = a.partial;
    return p && Number.isFinite(p.nsPerOp) ? `timeout (${fmtNs(p.nsPerOp)} until then)` : "timeout";
  }
  if (a.status === "error") return "error";
  const s = a.nsPerOp;
  if (!Number.isFinite(s.median)) return "-";
  return range && s.n > 1 ? `${fmtNs(s.median)} (${fmtNs(s.min)}–${fmtNs(s.max)})` : fmtNs(s.median);
}

export function ratioCell(a, refId) {
  const r = refId ? a?.ratios?.[refId] : a?.ratio;
  if (!r) return "";
  if (r.lowerBound) return `≥ ${fmtRatio(r.median)}`;
  if (!Number.isFinite(r.median)) return "-";
  return r.n > 1 ? `${fmtRatio(r.median)} (${fmtRatio(r.min)}–${fmtRatio(r.max)})` : fmtRatio(r.median);
}

function rateCell(c, { range = true } = {}) {
  if (!c) return "";
  if (c.status !== "ok") return c.status;
  const s = c.rate;
  if (!Number.isFinite(s.median)) return "-";
  return range && s.n > 1 ? `${fmtRate(s.median)} (${fmtRate(s.min)}–${fmtRate(s.max)})` : fmtRate(s.median);
}

function mtRatioCell(r, { range = true } = {}) {
  if (!r || !Number.isFinite(r.median)) return "";
  return range && r.n > 1 ? `${fmtRatio(r.median)} (${fmtRatio(r.min)}–${fmtRatio(r.max)})` : fmtRatio(r.median);
}

const SHORT = { sabmalloc: "sab", "sabmalloc-lock": "lock", "native-glibc": "glibc", "native-jemalloc": "jemalloc" };
const shortName = (c) => SHORT[c] ?? c;

/** "sab 1.85×, lock 1.10×, ...": each configuration's throughput ÷ its throughput with 1 worker */
function scalingCell(row, configs) {
  if (!row.scaling) return "";
  const cells = configs.filter((c) => Number.isFinite(row.scaling[c])).map((c) => `${shortName(c)} ${fmtRatio(row.scaling[c])}`);
  return cells.join(", ");
}

/** configurations present in the multi-threaded results, and the ratio columns (sabmalloc ÷ c) */
function mtColumns(mt, mtConfigs) {
  const configs = mtConfigs.filter((c) => mt.some((r) => r.rows.some((row) => row.configs[c])));
  const ratios = configs.slice(1).filter((c) => mt.some((r) => r.rows.some((row) => row.ratios?.[c])))
    .filter((c) => c === "sabmalloc-lock" || c === "native-jemalloc" || !configs.includes("native-jemalloc"));
  return { configs, ratios };
}

/** the references of the ratio tables: the run's reference, then native-jemalloc (or glibc) */
function ratioRefs(st) {
  const refs = [];
  const ref = st.find((r) => r.ref)?.ref;
  if (ref) refs.push(ref);
  for (const id of st.find((r) => r.refs?.length)?.refs ?? []) if (!refs.includes(id)) refs.push(id);
  return refs;
}

// ------------------------------------------------------------------ terminal progress

export function makeLog(out = process.stdout) {
  const w = (s) => out.write(s);
  return {
    line: (s = "") => w(s + "\n"),
    workloadStart(wl, i, n, p) {
      const ps = Object.entries(p).filter(([k]) => k !== "limitMs").map(([k, v]) => `${k}=${v}`).join(" ");
      w(`[${padL(String(i + 1), String(n).length)}/${n}] ${pad(wl.title, 38)} ${ps} `);
    },
    rep() { w("."); },
    adapterFail(wl, e, msg) { w(`!(${e.id}: ${msg})`); },
    workloadDone(res, ids) {
      w(` ${res.seconds.toFixed(1)} s\n`);
      for (const id of ids) {
        const a = res.adapters[id];
        if (a.status === "n/a") continue;
        const ratio = ratioCell(a);
        w(`      ${pad(id, 15)} ${pad(nsCell(a), 40)} ${ratio ? `×${res.ref}: ${ratio}` : id === res.ref ? "(reference)" : ""}\n`);
        if (a.status === "error") w(`      ${" ".repeat(15)} ${a.note}\n`);
      }
    },
    mtWorkloadStart(wl, i, n, p) {
      w(`[${padL(String(i + 1), String(n).length)}/${n}] ${wl.title}\n`);
      this.mtT0 = performance.now();
    },
    mtRep(wl, workers, config, r, reps) { w(r < 0 ? "m" : "."); }, // m: the untimed repetition that samples memory
    mtFail(wl, workers, config, msg) { w(`!(${config}: ${msg.slice(0, 200)})`); },
    mtRowDone(wl, row, configs) {
      const cells = configs.filter((c) => row.configs[c]).map((c) => `${c} ${rateCell(row.configs[c], { range: false })}`).join("   ");
      w(` ${padL(String(row.workers), 2)} workers: ${cells}${row.ratio ? `   ratio ${mtRatioCell(row.ratio)}` : ""}` +
        `  [${((performance.now() - this.mtT0) / 1000).toFixed(1)} s]\n`);
    },
  };
}

// ------------------------------------------------------------------ summaries

function adapterIds(st) {
  const ids = [];
  for (const r of st) for (const id of Object.keys(r.adapters)) if (!ids.includes(id)) ids.push(id);
  return ids;
}

export function terminalSummary({ st, mt, mtConfigs }) {
  const parts = [];
  if (st.length) {
    const ids = adapterIds(st);
    parts.push("Single-threaded, median time per operation (lower is better):");
    parts.push(textTable(["workload", ...ids], st.map((r) => [r.title, ...ids.map((id) => nsCell(r.adapters[id], { range: false }))])));
    for (const ref of ratioRefs(st)) {
      const peers = ids.filter((id) => id !== ref);
      parts.push("");
      parts.push(`Ratio peer time / ${ref} time, pair by pair (median; > 1: ${ref} is faster):`);
      parts.push(textTable(["workload", ...peers], st.map((r) => [r.title, ...peers.map((id) => {
        const a = r.adapters[id];
        const x = ref === r.ref ? a?.ratio : a?.ratios?.[ref];
        return x ? (x.lowerBound ? "≥ " : "") + fmtRatio(x.median) : a?.status === "ok" || a?.status === "n/a" ? "" : a?.status ?? "";
      })])));
    }
  }
  if (mt.length) {
    parts.push("");
    parts.push("Multi-threaded throughput (median, higher is better; scaling: throughput ÷ throughput with 1 worker):");
    const cs = mtColumns(mt, mtConfigs);
    const rows = [];
    for (const r of mt) for (const row of r.rows) {
      rows.push([r.id, row.workers, ...cs.configs.map((c) => rateCell(row.configs[c], { range: false })),
        ...cs.ratios.map((c) => mtRatioCell(row.ratios?.[c], { range: false })), scalingCell(row, cs.configs)]);
    }
    parts.push(textTable(["workload", "workers", ...cs.configs, ...cs.ratios.map((c) => `${cs.configs[0]} / ${c}`), `scaling (${cs.configs.map(shortName).join(", ")})`], rows));
  }
  return parts.join("\n");
}

// ------------------------------------------------------------------ memory table

function memRows(st) {
  const rows = [];
  for (const r of st) {
    for (const [id, m] of Object.entries(r.memory ?? {})) {
      if (m.timedOut) { rows.push([r.title, id, "timed out", "", "", "", ""]); continue; }
      if (m.error) { rows.push([r.title, id, "error", "", "", "", ""]); continue; }
      const req = m.peakRequested;
      const f = (v) => (v == null || !req ? "n/a" : fmtFactor(v / req));
      rows.push([
        r.title, id, fmtBytes(req), f(m.peakAllocated), f(m.peakActive),
        m.peakMapped == null ? "n/a" : f(m.peakMapped) + (m.approx ? " (JS heap, approx.)" : ""),
        m.metadataAtPeakMapped != null && m.peakMapped ? (100 * m.metadataAtPeakMapped / m.peakMapped).toFixed(2) + " %" : "n/a",
      ]);
    }
  }
  return rows;
}

function mtMemRows(mt, configs) {
  const rows = [];
  for (const r of mt) for (const row of r.rows) for (const c of configs) {
    const m = row.configs[c]?.memory;
    if (!m) continue;
    const req = m.peakRequested;
    const f = (v) => (v == null || !req ? "n/a" : fmtFactor(v / req));
    rows.push([r.id, row.workers, c, fmtBytes(req), f(m.peakAllocated), f(m.peakActive),
      m.cachedAtPeakActive != null && req ? fmtFactor(m.cachedAtPeakActive / req) : "n/a", f(m.peakMapped),
      m.metadataAtPeakMapped != null && m.peakMapped ? (100 * m.metadataAtPeakMapped / m.peakMapped).toFixed(2) + " %" : "n/a"]);
  }
  return rows;
}

// ------------------------------------------------------------------ charts

export function charts({ st, mt, mtConfigs, meta }) {
  const out = {};
  if (st.length) {
    const ids = adapterIds(st);
    out["throughput.svg"] = barChart({
      title: "Single-threaded throughput per workload and allocator",
      subtitle: `${meta.mode}, median of ${meta.reps} repetitions, node ${meta.node}, ${meta.cpus}`,
      unit: "operations per second",
      series: ids.map((id) => ({ id, label: id })),
      groups: st.map((r) => ({
        label: r.title,
        sublabel: `op = ${r.unit}`,
        bars: ids.filter((id) => r.adapters[id]?.status !== "n/a").map((id) => {
          const a = r.adapters[id];
          if (!a) return { series: id, value: NaN, flag: "n/a" };
          if (a.status === "timeout") {
            const ns = a.partial?.nsPerOp;
            return { series: id, value: Number.isFinite(ns) ? 1e9 / ns : NaN, flag: "timeout", text: Number.isFinite(ns) ? fmtRate(1e9 / ns) : undefined };
          }
          if (a.status === "error") return { series: id, value: NaN, flag: "error" };
          const s = a.nsPerOp;
          return { series: id, value: 1e9 / s.median, lo: 1e9 / s.max, hi: 1e9 / s.min, text: fmtRate(1e9 / s.median) };
        }),
      })),
    });
  }
  if (mt.length) {
    mtConfigs = mtColumns(mt, mtConfigs).configs;
    out["scaling.svg"] = scalingChart({
      title: "Multi-threaded throughput vs. workers",
      subtitle: `${meta.mode}, median of ${meta.mtReps} repetitions, ${meta.cpus} (weak scaling: work per worker fixed)`,
      unit: "operations per second (each panel: its own op)",
      series: mtConfigs.map((c) => ({ id: c, label: c === "sabmalloc" ? "sabmalloc" : c === "sabmalloc-lock" ? "global lock (1 arena, no tcache)" : c === "native-glibc" ? "C, glibc malloc, pthreads" : c === "native-jemalloc" ? "C, jemalloc, pthreads" : c })),
      panels: mt.map((r) => ({
        title: `${r.id} (op = ${r.unit})`,
        xs: r.rows.map((row) => row.workers),
        lines: mtConfigs.filter((c) => r.rows.some((row) => row.configs[c])).map((c) => ({
          series: c,
          points: r.rows.map((row) => {
            const cc = row.configs[c];
            if (!cc || cc.status !== "ok") return { x: row.workers, y: NaN, flag: cc?.status };
            return { x: row.workers, y: cc.rate.median, lo: cc.rate.min, hi: cc.rate.max, text: fmtRate(cc.rate.median) };
          }),
        })),
      })),
    });
  }
  return out;
}

// ------------------------------------------------------------------ results.md

export function markdown({ meta, st, mt, mtConfigs, adapters, chartFiles, notes }) {
  const L = [];
  L.push("# sabmalloc benchmark results", "");
  L.push(`Generated by \`${meta.command}\` on ${meta.date}.`, "");
  L.push(mdTable(["", ""], [
    ["mode", meta.mode], ["machine", `${meta.cpus}, ${meta.memory}`], ["node", meta.node],
    ["seed", meta.seed], ["repetitions", `${meta.reps} single-threaded (+${meta.warmups} warm-up${meta.stWarmMs ? `, at least ${meta.stWarmMs} ms` : ""}), ${meta.mtReps} multi-threaded`],
    ["time limit", `${(meta.limitMs / 1000).toFixed(1)} s per single-threaded run, ${(meta.mtLimitMs / 1000).toFixed(0)} s per multi-threaded repetition`],
    ["duration", `${meta.seconds.toFixed(0)} s`],
  ], [":--", ":--"]));
  L.push("", "Allocators:", "");
  for (const a of adapters) L.push(`- **${a.id}** — ${a.label}: ${a.ok ? "ran" + (a.note ? ` (${a.note})` : "") : `**skipped**: ${a.reason}`}`);
  L.push("");
  L.push(`Method: every workload's requests come from one seeded generator, identical for every allocator. Each JavaScript allocator runs in a worker thread of its own${meta.freshHosts ? ", a fresh one for each workload, so that no row inherits the JIT state of the rows before it" : " for all the workloads"}, and each native one in a child process. Each gets its own copy of the workload function (separate JIT type feedback), warm-up runs, then timed repetitions interleaved across allocators (A B C, B C A, ...) with a forced GC before each; medians with min–max. Ratios are computed pair by pair within the same repetition. A run that passes the time limit is stopped and reported as timed out, with its rate until then.`, "");

  const targets = targetRows({ st, mt });
  if (targets.length) {
    L.push("## Targets", "");
    L.push("The speed targets of issue 11, checked against this run's numbers: goals are computed from the same run (ratios pair by pair, as in the tables below). *Floor*: the same loop with no allocator at all (the no-allocator column; for trees also the trivial free list; where they ran, the same loop over free lists with sabmalloc's free mark, and with free's pointer checks too). *Note*: where the time goes, for a target not met.", "");
    L.push(mdTable(["target", "workload", "sabmalloc", "goal (this run)", "", "floor", "note"], targets, [":--", ":--", "--:", ":--", ":--", "--:", ":--"]));
    L.push("");
  }
  if (st.length) {
    const ids = adapterIds(st);
    L.push("## Single-threaded: time per operation", "");
    L.push("Median (min–max) over the repetitions; lower is better. The op of each workload is in the second column.", "");
    L.push(mdTable(["workload", "op", ...ids], st.map((r) => [r.title, r.unit, ...ids.map((id) => nsCell(r.adapters[id]))])));
    L.push("");
    L.push("Blank: the workload does not apply (the typed-array peers cannot hold a tree; freelist and js-objects only do trees). no-allocator is the floor: each workload's loop with a bump pointer for malloc and nothing for free; no-allocator-touch (random replace only) keeps a LIFO free list per size whose links live in the freed blocks: free writes each freed block, malloc reads it back, as a free list or a header does; no-allocator-mark (batch, random replace and the 16 and 32 B pairs) is the same, and its free reads the block's mark before it writes it, as sabmalloc's free does to tell a block in a thread cache from a live one; no-allocator-checked (the 16 and 32 B pairs) is no-allocator-mark whose free first checks the pointer as sabmalloc's fast path does (chunk table, page map, region boundary); no-allocator-move (realloc only) copies a block wherever the seed's size classes make it move (bench/adapters/floor.mjs). sabmalloc-wasm (calloc and realloc only) is sabmalloc in a shared WebAssembly.Memory (Heap.fromMemory), as a wasm program's heap: there calloc zeroes with memory.fill and realloc moves blocks with memory.copy (src/bulk.ts), which a plain SharedArrayBuffer cannot offer. The native columns run the same workloads in C (bench/native/native.c, `cc -O2`) in a child process, with the same request traces (checked by checksum) and the same writes, interleaved with the JS allocators' repetitions; they time their own loops.", "");
    for (const ref of ratioRefs(st)) {
      const peers = ids.filter((id) => id !== ref);
      const main = ref === st.find((r) => r.ref)?.ref;
      L.push(`### Ratios against ${ref}`, "");
      L.push(`Time of the peer ÷ time of ${ref}, computed pair by pair in the same repetition (the ${ref} repetition interleaved with the peer's): median (min–max). Above 1: ${ref} is faster. "≥": the peer timed out; lower bound from its rate until then.`, "");
      L.push(mdTable(["workload", ...peers], st.map((r) => [r.title, ...peers.map((id) => {
        const a = r.adapters[id];
        if (!a || a.status === "n/a") return "";
        return ratioCell(a, main ? undefined : ref) || (a.status === "ok" ? "" : a.status);
      })])));
      L.push("");
    }
  }
  if (mt.length) {
    const cs = mtColumns(mt, mtConfigs);
    L.push("## Multi-threaded: throughput", "");
    L.push(`Operations per second over all workers (median, min–max); higher is better. Work per worker is fixed (weak scaling), the machine has ${meta.cpus}. Ratios: ${cs.configs[0]} ÷ the other configuration, pair by pair (repetitions interleaved). Scaling: each configuration's median throughput with w workers ÷ its median with 1 worker (${cs.configs.map((c) => `${shortName(c)} = ${c}`).join(", ")}). The native columns (larson and tree only) are the same loops in C with pthreads (bench/native/native.c), one process per repetition, timed from the threads' common start (a barrier) to the last one's end.`, "");
    const rows = [];
    for (const r of mt) for (const row of r.rows) {
      rows.push([r.id, r.unit, row.workers, ...cs.configs.map((c) => rateCell(row.configs[c])),
        ...cs.ratios.map((c) => mtRatioCell(row.ratios?.[c])), scalingCell(row, cs.configs)]);
    }
    L.push(mdTable(["workload", "op", "workers", ...cs.configs, ...cs.ratios.map((c) => `${shortName(cs.configs[0])} ÷ ${shortName(c)}`), "scaling ÷ 1 worker"], rows));
    L.push("");
    for (const r of mt) L.push(`- **${r.id}**: ${r.title}. Parameters: ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(", ")}.`);
    L.push("");
    const other = mt.map((r) => otherCoresLine(r, cs.configs[0])).filter((x) => x);
    if (other.length) {
      L.push(`CPU of the process's other threads while ${cs.configs[0]}'s workers ran (the process's CPU time less the workers' own, per wall-clock time: V8's compiler and garbage collector, the memory sampler; median of the repetitions, in cores). On a 2-core machine, what they use with 2 workers comes out of the workers' time; with 1 worker it runs on the idle core:`, "");
      for (const line of other) L.push(line);
      L.push("");
    }
  }
  if (chartFiles.length) {
    L.push("## Charts", "");
    for (const f of chartFiles) L.push(`![${f}](${f})`, "");
  }
  const mrows = memRows(st);
  const mtm = mtMemRows(mt, mtConfigs);
  if (mrows.length || mtm.length) {
    L.push("## Memory", "");
    L.push("Peak figures (single-threaded: one instrumented run, allocator statistics sampled about 300 times, peak live requested bytes exact; multi-threaded: in an untimed repetition of each configuration before the timed ones, a sampler thread reading stats() every 2 ms, and the workers' requested bytes published before each malloc and after each free, read before and after each stats() call), as factors of the peak live requested bytes: *allocated* = usable sizes of live blocks (internal fragmentation), *active* = pages in use (sabmalloc) or used blocks with headers (thi.ng), *mapped* = memory the allocator holds (sabmalloc: chunks in use; thi.ng: pool high-water mark; freelist: its bump pointer; TLSF: the wasm linear memory; GC: JS heap + array buffers, approximate). *metadata/mapped*: the allocator's own bookkeeping at the mapped peak (thi.ng: 8-byte headers; TLSF: 4-byte headers only).", "");
    if (mrows.length) {
      L.push(mdTable(["workload", "allocator", "peak requested", "allocated", "active", "mapped", "metadata/mapped"], mrows));
      L.push("");
    }
    if (mtm.length) {
      L.push("Multi-threaded (peaks of the untimed repetition that samples memory; *in caches*: stats().cached, the free blocks that thread caches held, at the sample of the active peak):", "");
      L.push(mdTable(["workload", "workers", "config", "peak requested", "allocated", "active", "in caches at the active peak", "mapped", "metadata/mapped"], mtm));
      L.push("");
    }
  }
  const st_params = st.map((r) => `- **${r.title}** (\`${r.id}\`): ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (st_params.length) L.push("## Workload parameters", "", ...st_params, "");
  if (notes.length) L.push("## Notes", "", ...notes.map((n) => `- ${n}`), "");
  return L.join("\n");
}

/** "- **id**: 1 worker 0.02, 2 workers 0.05" from each row's otherCores of `config`, or null. */
export function otherCoresLine(r, config) {
  const parts = r.rows.map((row) => [row.workers, row.configs[config]?.otherCores?.median])
    .filter(([, x]) => Number.isFinite(x)).map(([w, x]) => `${w} worker${w === 1 ? "" : "s"} ${Math.max(0, x).toFixed(2)}`);
  return parts.length ? `- **${r.id}**: ${parts.join(", ")}` : null;
}

/** timeouts, errors, leaks and failures, as text lines */
export function collectNotes({ st, mt }) {
  const notes = [];
  for (const r of st) for (const [id, a] of Object.entries(r.adapters)) {
    if (a.status === "error") notes.push(`${r.title}, ${id}: error: ${a.note}`);
    else if (a.status === "timeout") notes.push(`${r.title}, ${id}: ${a.note}` + (a.partial?.ops ? `; ${Math.round(a.partial.ops)} ops done` : ""));
  }
  for (const r of st) for (const [id, m] of Object.entries(r.memory ?? {})) if (m.error) notes.push(`${r.title}, ${id}, memory pass: error: ${m.error}`);
  for (const r of mt) for (const row of r.rows) for (const [c, cc] of Object.entries(row.configs)) {
    if (cc.status !== "ok") notes.push(`${r.id}, ${row.workers} workers, ${c}: ${cc.status}: ${cc.note}`);
    else if (cc.leaked) notes.push(`${r.id}, ${row.workers} workers, ${c}: LEAK: ${cc.note}`);
  }
  return notes;
}
