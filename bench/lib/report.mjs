// Terminal progress and tables, bench/results.md, results.json and the SVG charts.
import { fmtNs, fmtRate, fmtRatio, fmtBytes, fmtFactor } from "./stats.mjs";
import { barChart, scalingChart } from "./svg.mjs";

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
  if (!a) return "";
  if (a.status === "timeout") {
    const p = a.partial;
    return p && Number.isFinite(p.nsPerOp) ? `timeout (${fmtNs(p.nsPerOp)} until then)` : "timeout";
  }
  if (a.status === "error") return "error";
  const s = a.nsPerOp;
  if (!Number.isFinite(s.median)) return "-";
  return range && s.n > 1 ? `${fmtNs(s.median)} (${fmtNs(s.min)}–${fmtNs(s.max)})` : fmtNs(s.median);
}

export function ratioCell(a) {
  if (!a || !a.ratio) return "";
  const r = a.ratio;
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

function mtRatioCell(r) {
  if (!r || !Number.isFinite(r.median)) return "";
  return r.n > 1 ? `${fmtRatio(r.median)} (${fmtRatio(r.min)}–${fmtRatio(r.max)})` : fmtRatio(r.median);
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
        const ratio = ratioCell(a);
        w(`      ${pad(id, 15)} ${pad(nsCell(a), 40)} ${ratio ? `×${res.ref}: ${ratio}` : id === res.ref ? "(reference)" : ""}\n`);
        if (a.status === "error") w(`      ${" ".repeat(15)} ${a.note}\n`);
      }
    },
    mtWorkloadStart(wl, i, n, p) {
      w(`[${padL(String(i + 1), String(n).length)}/${n}] ${wl.title}\n`);
      this.mtT0 = performance.now();
    },
    mtRep(wl, workers, config, r, reps) { if (r === 0 && config) w(""); w("."); },
    mtFail(wl, workers, config, msg) { w(`!(${config}: ${msg.slice(0, 200)})`); },
    mtRowDone(wl, row, configs) {
      const cells = configs.map((c) => `${c} ${rateCell(row.configs[c], { range: false })}`).join("   ");
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
    const ref = st.find((r) => r.ref)?.ref;
    if (ref) {
      const peers = ids.filter((id) => id !== ref);
      parts.push("");
      parts.push(`Ratio peer time / ${ref} time, pair by pair (median; > 1: ${ref} is faster):`);
      parts.push(textTable(["workload", ...peers], st.map((r) => [r.title, ...peers.map((id) => {
        const a = r.adapters[id];
        return a?.ratio ? (a.ratio.lowerBound ? "≥ " : "") + fmtRatio(a.ratio.median) : a?.status === "ok" ? "" : a?.status ?? "";
      })])));
    }
  }
  if (mt.length) {
    parts.push("");
    parts.push("Multi-threaded throughput (median, higher is better):");
    const rows = [];
    for (const r of mt) for (const row of r.rows) rows.push([r.id, row.workers, ...mtConfigs.map((c) => rateCell(row.configs[c], { range: false })), mtRatioCell(row.ratio)]);
    parts.push(textTable(["workload", "workers", ...mtConfigs, `${mtConfigs[0]} / ${mtConfigs[1] ?? "-"}`], rows));
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
        bars: ids.map((id) => {
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
    out["scaling.svg"] = scalingChart({
      title: "Multi-threaded throughput vs. workers",
      subtitle: `${meta.mode}, median of ${meta.mtReps} repetitions, ${meta.cpus} (weak scaling: work per worker fixed)`,
      unit: "operations per second (each panel: its own op)",
      series: mtConfigs.map((c) => ({ id: c, label: c === "sabmalloc" ? "sabmalloc" : c === "sabmalloc-lock" ? "global lock (1 arena, no tcache)" : c })),
      panels: mt.map((r) => ({
        title: `${r.id} (op = ${r.unit})`,
        xs: r.rows.map((row) => row.workers),
        lines: mtConfigs.map((c) => ({
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
    ["seed", meta.seed], ["repetitions", `${meta.reps} single-threaded (+${meta.warmups} warm-up), ${meta.mtReps} multi-threaded`],
    ["time limit", `${(meta.limitMs / 1000).toFixed(1)} s per single-threaded run, ${(meta.mtLimitMs / 1000).toFixed(0)} s per multi-threaded repetition`],
    ["duration", `${meta.seconds.toFixed(0)} s`],
  ], [":--", ":--"]));
  L.push("", "Allocators:", "");
  for (const a of adapters) L.push(`- **${a.id}** — ${a.label}: ${a.ok ? "ran" + (a.note ? ` (${a.note})` : "") : `**skipped**: ${a.reason}`}`);
  L.push("");
  L.push("Method: every workload's requests come from one seeded generator, identical for every allocator. Each allocator gets its own copy of the workload function (separate JIT type feedback), warm-up runs, then timed repetitions interleaved across allocators (A B C, B C A, ...) with a forced GC before each; medians with min–max. Ratios are computed pair by pair within the same repetition. A run that passes the time limit is stopped and reported as timed out, with its rate until then.", "");

  if (st.length) {
    const ids = adapterIds(st);
    L.push("## Single-threaded: time per operation", "");
    L.push("Median (min–max) over the repetitions; lower is better. The op of each workload is in the second column.", "");
    L.push(mdTable(["workload", "op", ...ids], st.map((r) => [r.title, r.unit, ...ids.map((id) => nsCell(r.adapters[id]))])));
    L.push("");
    const ref = st.find((r) => r.ref)?.ref;
    if (ref) {
      const peers = ids.filter((id) => id !== ref);
      L.push(`### Ratios against ${ref}`, "");
      L.push(`Time of the peer ÷ time of ${ref}, computed pair by pair in the same repetition: median (min–max). Above 1: ${ref} is faster. "≥": the peer timed out; lower bound from its rate until then.`, "");
      L.push(mdTable(["workload", ...peers], st.map((r) => [r.title, ...peers.map((id) => ratioCell(r.adapters[id]) || r.adapters[id]?.status || "")])));
      L.push("");
    }
  }
  if (mt.length) {
    L.push("## Multi-threaded: throughput", "");
    L.push(`Operations per second over all workers (median, min–max); higher is better. Work per worker is fixed (weak scaling), the machine has ${meta.cpus}. Ratio: ${mtConfigs[0]} ÷ ${mtConfigs[1] ?? "-"}, pair by pair.`, "");
    const rows = [];
    for (const r of mt) for (const row of r.rows) rows.push([r.id, r.unit, row.workers, ...mtConfigs.map((c) => rateCell(row.configs[c])), mtRatioCell(row.ratio)]);
    L.push(mdTable(["workload", "op", "workers", ...mtConfigs, "ratio"], rows));
    L.push("");
    for (const r of mt) L.push(`- **${r.id}**: ${r.title}. Parameters: ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(", ")}.`);
    L.push("");
  }
  if (chartFiles.length) {
    L.push("## Charts", "");
    for (const f of chartFiles) L.push(`![${f}](${f})`, "");
  }
  const mrows = memRows(st);
  const mtm = mtMemRows(mt, mtConfigs);
  if (mrows.length || mtm.length) {
    L.push("## Memory", "");
    L.push("Peak figures (single-threaded: one instrumented run, allocator statistics sampled about 300 times, peak live requested bytes exact; multi-threaded: over all repetitions, a sampler thread reading stats() every 2 ms, and the workers' requested bytes published before each malloc and after each free, read before and after each stats() call), as factors of the peak live requested bytes: *allocated* = usable sizes of live blocks (internal fragmentation), *active* = pages in use (sabmalloc) or used blocks with headers (thi.ng), *mapped* = memory the allocator holds (sabmalloc: chunks in use; thi.ng: pool high-water mark; TLSF: the wasm linear memory; GC: JS heap + array buffers, approximate). *metadata/mapped*: the allocator's own bookkeeping at the mapped peak (thi.ng: 8-byte headers; TLSF: 4-byte headers only).", "");
    if (mrows.length) {
      L.push(mdTable(["workload", "allocator", "peak requested", "allocated", "active", "mapped", "metadata/mapped"], mrows));
      L.push("");
    }
    if (mtm.length) {
      L.push("Multi-threaded (peaks over all repetitions; *in caches*: stats().cached, the free blocks that thread caches held, at the sample of the active peak):", "");
      L.push(mdTable(["workload", "workers", "config", "peak requested", "allocated", "active", "in caches at the active peak", "mapped", "metadata/mapped"], mtm));
      L.push("");
    }
  }
  const st_params = st.map((r) => `- **${r.title}** (\`${r.id}\`): ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  if (st_params.length) L.push("## Workload parameters", "", ...st_params, "");
  if (notes.length) L.push("## Notes", "", ...notes.map((n) => `- ${n}`), "");
  return L.join("\n");
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
