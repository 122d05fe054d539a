// Summary statistics and number formatting.

export function median(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length & 1 ? a[m] : (a[m - 1] + a[m]) / 2;
}

export function summary(xs) {
  const a = xs.filter((x) => Number.isFinite(x));
  if (a.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(a), min: Math.min(...a), max: Math.max(...a), n: a.length };
}

/** nanoseconds, human-readable: 12.3 ns, 4.56 µs, 7.89 ms */
export function fmtNs(ns) {
  if (!Number.isFinite(ns)) return "-";
  if (ns < 10) return ns.toFixed(2) + " ns";
  if (ns < 1000) return ns.toFixed(1) + " ns";
  if (ns < 1e6) return (ns / 1e3).toPrecision(3) + " µs";
  if (ns < 1e9) return (ns / 1e6).toPrecision(3) + " ms";
  return (ns / 1e9).toPrecision(3) + " s";
}

/** ns without the unit, compact, for "min–max" ranges */
export function fmtRange(lo, hi) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return "";
  return `${fmtNs(lo)}–${fmtNs(hi)}`;
}

export function fmtRate(opsPerSec) {
  if (!Number.isFinite(opsPerSec)) return "-";
  if (opsPerSec >= 1e6) return (opsPerSec / 1e6).toPrecision(3) + " M/s";
  if (opsPerSec >= 1e3) return (opsPerSec / 1e3).toPrecision(3) + " k/s";
  return opsPerSec.toPrecision(3) + " /s";
}

export function fmtRatio(r) {
  if (!Number.isFinite(r)) return "-";
  if (r >= 100) return r.toFixed(0) + "×";
  if (r >= 10) return r.toFixed(1) + "×";
  return r.toFixed(2) + "×";
}

export function fmtBytes(b) {
  if (!Number.isFinite(b)) return "-";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return (i === 0 || b >= 100 ? b.toFixed(0) : b.toPrecision(3)) + " " + u[i];
}

export function fmtFactor(x) {
  if (!Number.isFinite(x)) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
