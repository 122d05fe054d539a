// The speed targets of issue 11 ("native speed where it counts"), checked against this run's own
// numbers: for each target the measured value, the goal computed from the same run (its peers, its
// own cache-hit pair), whether it is met, and the floor: the same loop with no allocator at all
// (adapters/floor.mjs; for trees also the trivial free list, and the free lists with the free mark
// and free's pointer checks). Where a target is missed, the note says where the time goes as far
// as we have measured it (bench/FINDINGS.md).
import { fmtNs, fmtRatio } from "./stats.mjs";

const ok = (a) => a && a.status === "ok" && Number.isFinite(a.nsPerOp?.median);
const ns = (r, id) => (ok(r?.adapters[id]) ? r.adapters[id].nsPerOp.median : NaN);

/** Median over the repetitions of a's time ÷ b's time in the same repetition (interleaved). */
function pairRatio(r, a, b) {
  const x = r?.adapters[a], y = r?.adapters[b];
  if (!ok(x) || !ok(y)) return NaN;
  const rs = [];
  for (let k = 0; k < Math.min(x.samples.length, y.samples.length); k++) {
    if (Number.isFinite(x.samples[k]) && Number.isFinite(y.samples[k])) rs.push(x.samples[k] / y.samples[k]);
  }
  if (rs.length === 0) return NaN;
  rs.sort((p, q) => p - q);
  return rs.length % 2 ? rs[rs.length >> 1] : (rs[rs.length / 2 - 1] + rs[rs.length / 2]) / 2;
}

const timedOut = (r, id) => r?.adapters[id]?.status === "timeout";
const mark = (met) => (met === true ? "met" : met === false ? "**not met**" : "n/a");
/** The mark of a target with several goals: met, or not met with the goals that are. */
function marks(names, checks) {
  if (checks.length === 0) return mark(undefined);
  if (checks.every(Boolean)) return mark(true);
  const ok = names.filter((_, i) => checks[i]);
  return mark(false) + (ok.length ? ` (${ok.join(", ")}: met)` : "");
}
/**
 * The floor column: the no-allocator loop, then each of the `more` floors that ran, as
 * "<label> <time>" ([label, adapter id] pairs).
 */
function floorCell(r, more = []) {
  return [["", "no-allocator"], ...more].filter(([, id]) => Number.isFinite(ns(r, id)))
    .map(([label, id]) => (label ? `${label} ${fmtNs(ns(r, id))}` : fmtNs(ns(r, id)))).join("; ");
}

/**
 * The mark floor against thi.ng's LIFO goal (bulk). thi.ng keeps its free blocks on a list sorted
 * by address and, after each free, gives the topmost one back to its heap's top (MemPool.compact):
 * a batch freed LIFO makes it a bump pointer that writes a header into each block.
 */
function thingWhy(markNs, thing) {
  if (!Number.isFinite(thing)) return "";
  if (markNs < thing) return `, below thi.ng's LIFO time (${fmtNs(thing)})`;
  return `, at or above thi.ng's LIFO time (${fmtNs(thing)}: thi.ng gives each block freed at the top of its heap back to the top, so a batch freed LIFO makes it a bump pointer that writes a header into each block)`;
}

/**
 * One row per target and workload: [target, workload, sabmalloc, goal, met, floor, note].
 * Rows whose workloads did not run (a --filter, --quick) are left out.
 */
export function targetRows({ st, mt }) {
  const by = new Map(st.map((r) => [r.id, r]));
  const rows = [];
  const hit = by.get("malloc-free/32");
  const hitNs = ns(hit, "sabmalloc");

  // 1. Bulk: within 1.5x of two cache-hit pairs, and no slower than thi.ng's LIFO.
  for (const id of ["batch/100k/fifo", "batch/100k/lifo", "batch/1M/fifo", "batch/1M/lifo"]) {
    const r = by.get(id);
    if (!r || !ok(r.adapters.sabmalloc)) continue;
    const lifo = by.get(id.replace(/fifo$/, "lifo"));
    const sab = ns(r, "sabmalloc");
    const thing = ns(lifo, "thi.ng");
    const goals = [], checks = [], names = [];
    if (Number.isFinite(hitNs)) { goals.push(`≤ ${fmtNs(3 * hitNs)} (1.5 × 2 hit pairs)`); checks.push(sab <= 3 * hitNs); names.push("hit pairs"); }
    if (Number.isFinite(thing)) { goals.push(`≤ ${fmtNs(thing)} (thi.ng LIFO)`); checks.push(sab <= thing); names.push("thi.ng"); }
    else if (timedOut(lifo, "thi.ng")) goals.push("thi.ng LIFO timed out");
    const met = checks.length ? checks.every(Boolean) : undefined;
    // Native jemalloc against the hit-pair goal, on the same loop in the same run.
    const je = ns(r, "native-jemalloc");
    const jeWhy = Number.isFinite(je) && Number.isFinite(hitNs)
      ? `native jemalloc takes ${fmtNs(je)} on this loop (${fmtRatio(je / hitNs / 2)} of two sabmalloc hit pairs); ` : "";
    // The free mark's floor: a free list per size whose free reads and writes each block's mark and
    // whose malloc reads it back (adapters/floor.mjs).
    const markNs = ns(r, "no-allocator-mark");
    const floor = floorCell(r, [["with a free mark", "no-allocator-mark"]]);
    const markWhy = Number.isFinite(markNs) && Number.isFinite(hitNs)
      ? `the loop with only a free mark (read and written at each free, read back at each malloc, as sabmalloc's free and fills do) takes ${fmtNs(markNs)}, ${markNs > 3 * hitNs ? "above" : "within"} the hit-pair goal (sabmalloc: ${fmtRatio(sab / markNs)} of it)${thingWhy(markNs, thing)}; ` : "";
    rows.push(["1. bulk", r.title, fmtNs(sab), goals.join("; "), marks(names, checks), floor,
      met ? "" : jeWhy + markWhy + "each free reads and writes the block's free mark (how a double free is told while the block sits in any thread cache) and each fill from a run reads it back (how a block written after its free is not handed out again from its run), a cache miss each beyond the cache: a build without marks took 0.62-0.88x the time in A/B runs; the rest is fills and flushes (the lock, the blocks grouped by run, bitmap words, run counts): the runs that empty (~24,600 per 10^6 pairs: the seed's runs hold 4 to 16 regions from 256 B to 1 KiB) are kept for their class, no longer given back to the arena and carved again at ~600 ns a run (0.72-0.84x the time of the build before on these rows, alternated bench runs); on 10^6 blocks timed alone, phase by phase beside the mark floor, the mallocs took 0.96-1.46x its time and the frees 1.8-2.4x"]);
  }
  // 1. Trees: faster than plain JS objects, within 2x of the trivial free list.
  for (const r of st.filter((x) => x.id.startsWith("tree/"))) {
    if (!ok(r.adapters.sabmalloc)) continue;
    const vsObj = pairRatio(r, "sabmalloc", "js-objects");
    const vsFl = pairRatio(r, "sabmalloc", "freelist");
    const flObj = pairRatio(r, "freelist", "js-objects");
    const goals = [], checks = [], names = [];
    if (Number.isFinite(vsObj)) { goals.push(`< js-objects (${fmtNs(ns(r, "js-objects"))}): ${fmtRatio(vsObj)}`); checks.push(vsObj < 1); names.push("objects"); }
    if (Number.isFinite(vsFl)) { goals.push(`≤ 2 × freelist (${fmtNs(ns(r, "freelist"))}): ${fmtRatio(vsFl)}`); checks.push(vsFl <= 2); names.push("free list"); }
    const met = checks.length ? checks.every(Boolean) : undefined;
    const floor = floorCell(r, [["freelist", "freelist"], ["with a free mark", "no-allocator-mark"], ["and free's pointer checks", "no-allocator-checked"]]);
    // The free lists with sabmalloc's free mark and free's pointer checks (adapters/floor.mjs): what
    // a node costs an allocator that keeps the contract's guarantees, with no thread cache or runs.
    const ckObj = pairRatio(r, "no-allocator-checked", "js-objects");
    const ckWhy = Number.isFinite(ckObj)
      ? `the loop over free lists with sabmalloc's free mark and free's pointer checks (the contract's DOUBLE_FREE and INVALID_POINTER; no thread cache, no runs) takes ${fmtNs(ns(r, "no-allocator-checked"))}, ${fmtRatio(ckObj)} the objects' time, ${ckObj >= 1 ? "at or above" : "below"} the goal (sabmalloc: ${fmtRatio(pairRatio(r, "sabmalloc", "no-allocator-checked"))} of it: the rest the thread cache, and beyond it fills and flushes)` : "";
    let note = "";
    if (!met && Number.isFinite(flObj) && flObj >= 1) note = `the trivial free list itself takes ${fmtRatio(flObj)} the objects' time on this loop (the floor of an allocator over a typed array)` + (ckWhy ? "; " + ckWhy : "");
    else if (!met) note = ckWhy || "each node pays the cache-hit pair; beyond the cache, fills and flushes";
    rows.push(["1. trees", r.title, fmtNs(ns(r, "sabmalloc")), goals.join("; "), marks(names, checks), floor, note]);
  }
  // 2. A million live blocks: within 1.5x of native jemalloc.
  // The mark floor with free's pointer checks, against the goal, pair by pair.
  const checkedWhy = (r) => {
    const cx = pairRatio(r, "no-allocator-checked", "native-jemalloc");
    if (!Number.isFinite(cx)) return "the fast paths' checks and marks, beyond what jemalloc's do";
    return `with free's checks of the pointer as well (chunk table, page map, region boundary: INVALID_POINTER, where jemalloc's free trusts it) the loop takes ${fmtNs(ns(r, "no-allocator-checked"))}, ${fmtRatio(cx)} of jemalloc's time, ${cx > 1.5 ? "above" : "within"} the goal (sabmalloc: ${fmtRatio(pairRatio(r, "sabmalloc", "no-allocator-checked"))} of it, the rest the thread cache: the request's class, a stack per class, its limit, remote frees)`;
  };
  for (const id of ["replace/1k", "replace/1M"]) {
    const r = by.get(id);
    if (!r || !ok(r.adapters.sabmalloc)) continue;
    const x = pairRatio(r, "sabmalloc", "native-jemalloc");
    const met = Number.isFinite(x) ? x <= 1.5 : undefined;
    const markNs = ns(r, "no-allocator-mark");
    const floor = floorCell(r, [["with a link written into each freed block", "no-allocator-touch"], ["with a free mark", "no-allocator-mark"], ["and free's pointer checks", "no-allocator-checked"]]);
    // The free mark's floor against the goal, pair by pair as the goal is.
    const markX = pairRatio(r, "no-allocator-mark", "native-jemalloc");
    const markWhy = Number.isFinite(markX)
      ? `the loop with only a free mark (read and written at each free, read back at each malloc: how a free tells a block in any thread cache from a live one, DOUBLE_FREE, and a fill a block written after its free) takes ${fmtNs(markNs)}, ${fmtRatio(markX)} of jemalloc's time, ${markX > 1.5 ? "above" : "within"} the goal (sabmalloc: ${fmtRatio(ns(r, "sabmalloc") / markNs)} of it); ` : "";
    rows.push(["2. live blocks", r.title, fmtNs(ns(r, "sabmalloc")),
      Number.isFinite(x) ? `≤ 1.5 × jemalloc (${fmtNs(ns(r, "native-jemalloc"))}): ${fmtRatio(x)}` : "native jemalloc did not run",
      mark(met), floor,
      met !== false ? "" : markWhy + (id === "replace/1M"
        ? "with a million blocks each touch is a cache and TLB miss; jemalloc's free reads only metadata. The state kept in metadata instead (a byte per region in its run's unused bitmap slots, read and written by free, cleared by malloc) took 0.96x the time in an A/B run: those bytes miss as the blocks do. A build with no per-region state at all took 0.52-0.64x, but it tells no double free in a cache, a guarantee the issue keeps; " + checkedWhy(r) + " (with a million blocks the page map's entry of the freed block is a miss of its own)"
        : checkedWhy(r))]);
  }
  // 3. Growing blocks.
  const grow = [
    ["realloc/x2", "as-tlsf", 1, "no step copies more than 8 KiB now (the block goes to a chunk's start when it turns large, grows there and becomes huge in place), but 11 of the 17 steps move it (10 small classes, then the small-to-large step), and each large step takes the arena lock and updates its free-run tree (and at 1 MiB the chunk table, under the global lock); TLSF grows its block in place at the top of the heap"],
    ["malloc-free/65536", "thi.ng", 1.5, "large runs through the thread cache, with their page infos"],
    ["calloc/mix", "thi.ng", 1, "zeroing the shared buffer: see the floor column, which zeroes the same way"],
  ];
  for (const [id, peer, k, why] of grow) {
    const r = by.get(id);
    if (!r || !ok(r.adapters.sabmalloc)) continue;
    const x = pairRatio(r, "sabmalloc", peer);
    const met = Number.isFinite(x) ? x <= k : timedOut(r, peer) ? true : undefined;
    // A size-class allocator moves a block doubling through its classes: native jemalloc's own
    // ratio to the peer on the same loop, in this run, says how much of the gap that is.
    const je = id === "realloc/x2" ? pairRatio(r, "native-jemalloc", peer) : NaN;
    let measured = Number.isFinite(je) ? ` (native jemalloc, whose size classes move it too: ${fmtRatio(je)} ${peer})` : "";
    // calloc: the zeroing alone (the floor column) plus a cache-hit pair, against the peer.
    const zero = id === "calloc/mix" ? ns(r, "no-allocator") : NaN;
    if (Number.isFinite(zero) && Number.isFinite(hitNs)) measured = `; the zeroing plus a hit pair: ${fmtNs(zero + hitNs)} against ${peer}'s ${fmtNs(ns(r, peer))} (its memset on a plain ArrayBuffer)`;
    // realloc: the copies that the size classes force, with no allocator (adapters/floor.mjs).
    const move = id.startsWith("realloc/") ? ns(r, "no-allocator-move") : NaN;
    const moveX = pairRatio(r, "no-allocator-move", peer);
    if (Number.isFinite(move) && Number.isFinite(moveX)) measured += `; the loop with no allocator but the moves the seed's size classes force (a small block that changes class is copied, as every size-class allocator's is) takes ${fmtNs(move)}, ${fmtRatio(moveX)} ${peer} (sabmalloc: ${fmtRatio(ns(r, "sabmalloc") / move)} of it)`;
    // The same heap in a shared WebAssembly.Memory, where calloc zeroes with memory.fill and realloc
    // moves with memory.copy (the sabmalloc-wasm column): what the plain buffer's loops cost.
    const wasmX = pairRatio(r, "sabmalloc-wasm", peer);
    if (Number.isFinite(wasmX)) measured += `; the same heap in a shared WebAssembly.Memory, which ${id === "calloc/mix" ? "zeroes with memory.fill" : "moves blocks with memory.copy"} (sabmalloc-wasm): ${fmtNs(ns(r, "sabmalloc-wasm"))}, ${fmtRatio(wasmX)} ${peer}${wasmX <= k ? ", within the goal" : ""}`;
    const floor = floorCell(r, Number.isFinite(move) ? [["with the size classes' moves", "no-allocator-move"]] : []);
    rows.push(["3. growing", r.title, fmtNs(ns(r, "sabmalloc")),
      Number.isFinite(x) ? `≤ ${k === 1 ? "" : k + " × "}${peer} (${fmtNs(ns(r, peer))}): ${fmtRatio(x)}` : `${peer}: ${r.adapters[peer]?.status ?? "did not run"}`,
      mark(met), floor, met === false ? why + measured : ""]);
  }
  // 4. Two workers: scaling at least that of native jemalloc on the same loop.
  for (const r of mt.filter((x) => x.id === "larson" || x.id === "tree")) {
    const row = r.rows.find((w) => w.workers === 2);
    const sab = row?.scaling?.sabmalloc, je = row?.scaling?.["native-jemalloc"];
    if (!Number.isFinite(sab)) continue;
    const met = Number.isFinite(je) ? sab >= je : undefined;
    // The floor: the same loop over a trivial allocator (bench/scaling-floor.mjs), in this run.
    const f = r.floor;
    const floor = f ? `trivial allocator ${fmtRatio(f.floor.scaling)} (sabmalloc ${fmtRatio(f.sabmalloc.scaling)} in the same runs)`
      : "not in this run (bench/scaling-floor.mjs)";
    const why = [];
    if (f && f.sabmalloc.scaling > f.floor.scaling) {
      // The trivial allocator did worse than sabmalloc on its own loop: not a floor, a bad hour.
      why.push(`the trivial allocator scaled ${fmtRatio(f.floor.scaling)} on the scaling floor's loop, less than sabmalloc did on it in the same runs (${fmtRatio(f.sabmalloc.scaling)}): this VM does not always give a second thread a whole core, and this run gave no floor`);
    } else if (f && Number.isFinite(je) && f.floor.scaling < je) {
      why.push(`the same loop over a trivial allocator (no checks, no locks, nothing shared) scales ${fmtRatio(f.floor.scaling)}, below jemalloc's ${fmtRatio(je)}: what keeps it from 2x (the VM's two cores and memory system, V8's own threads) keeps any JavaScript allocator from the goal`);
    } else if (f) {
      why.push(`the same loop over a trivial allocator scales ${fmtRatio(f.floor.scaling)}: the rest of the gap is sabmalloc's own`);
    }
    const other = row.configs?.sabmalloc?.otherCores?.median;
    if (Number.isFinite(other)) why.push(`while sabmalloc's 2 workers ran, the process's other threads (V8's compiler and garbage collector, the memory sampler) used ${Math.max(0, other).toFixed(2)} of a core`);
    rows.push(["4. two workers", `${r.id}, 1 → 2 workers`, `${fmtRatio(sab)} faster`,
      Number.isFinite(je) ? `≥ jemalloc's ${fmtRatio(je)}` : "native jemalloc did not run", mark(met), floor,
      met === false ? why.join("; ") : ""]);
  }
  // 5. The cache-hit pair within 1.2x of native jemalloc.
  for (const id of ["malloc-free/16", "malloc-free/32"]) {
    const r = by.get(id);
    if (!r || !ok(r.adapters.sabmalloc)) continue;
    const x = pairRatio(r, "sabmalloc", "native-jemalloc");
    const met = Number.isFinite(x) ? x <= 1.2 : undefined;
    // The pair over a free list per size that keeps the free mark: the least a cache hit with the
    // contract's double-free check does, with no check of the pointer itself.
    const markNs = ns(r, "no-allocator-mark");
    const mark1 = Number.isFinite(markNs) && Number.isFinite(x)
      ? `; the pair over a free list per size with the free mark (read and written at free, read and cleared at malloc) takes ${fmtNs(markNs)}, ${fmtRatio(pairRatio(r, "no-allocator-mark", "native-jemalloc"))} of jemalloc's (sabmalloc: ${fmtRatio(pairRatio(r, "sabmalloc", "no-allocator-mark"))} of it)` : "";
    // And with the checks free makes of the pointer before it trusts it (the contract's
    // INVALID_POINTER): what is left above that is the thread cache's stack.
    const checkedNs = ns(r, "no-allocator-checked");
    const checkedX = pairRatio(r, "no-allocator-checked", "native-jemalloc");
    const checked1 = Number.isFinite(checkedNs) && Number.isFinite(x)
      ? `; with free's checks of the pointer as well (chunk table, page map, region boundary: a pointer that is no block's start is reported, where jemalloc's free trusts it) ${fmtNs(checkedNs)}, ${fmtRatio(checkedX)} of jemalloc's${checkedX > 1.2 ? ", above the goal" : ""} (sabmalloc: ${fmtRatio(pairRatio(r, "sabmalloc", "no-allocator-checked"))} of it, the rest the thread cache: a stack per class, its limit, remote frees)`
      : mark1 ? " (the rest the pointer's checks: chunk table, page map, region boundary)" : "";
    rows.push(["5. hit pair", r.title, fmtNs(ns(r, "sabmalloc")),
      Number.isFinite(x) ? `≤ 1.2 × jemalloc (${fmtNs(ns(r, "native-jemalloc"))}): ${fmtRatio(x)}` : "native jemalloc did not run",
      mark(met), floorCell(r, [["with a free mark", "no-allocator-mark"], ["and free's pointer checks", "no-allocator-checked"]]),
      met === false ? `typed-array loads and stores, each with a bounds check (V8 inlines malloc and free into the loop), against jemalloc's fast path, which the C loop calls through the PLT; the first floor is the loop alone (a bump pointer, a count)${mark1}${checked1}` : ""]);
  }
  // 6. The native column.
  const native = st.some((r) => ok(r.adapters["native-jemalloc"]));
  if (st.length) rows.push(["6. native column", "every workload", "", "native-jemalloc runs", mark(native), "", native ? "" : "no C compiler or no libjemalloc2 (see README)"]);
  return rows;
}
