// Hand-written SVG charts (no dependencies): grouped horizontal bars on a log axis, and small
// multiples of lines for thread scaling.

const PALETTE = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"];
const FONT = `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"`;

export function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function colorFor(i) { return PALETTE[i % PALETTE.length]; }

function fmtTick(v) {
  if (v >= 1e9) return v / 1e9 + "G";
  if (v >= 1e6) return v / 1e6 + "M";
  if (v >= 1e3) return v / 1e3 + "k";
  if (v >= 1) return String(v);
  return String(Number(v.toPrecision(2)));
}

/**
 * groups: [{ label, sublabel?, bars: [{ series, value, lo?, hi?, flag? ("timeout"|"error"|...) }] }]
 * series: [{ id, label }]; values in `unit` (higher is better), drawn on a log10 axis.
 */
export function barChart({ title, subtitle = "", unit, groups, series }) {
  const W = 960, left = 250, right = 90, top = 62 + Math.ceil(series.length / 4) * 18, barH = 11, gap = 2, groupGap = 12;
  const plotW = W - left - right;
  const vals = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => Number.isFinite(v) && v > 0);
  const los = groups.flatMap((g) => g.bars.map((b) => b.lo)).filter((v) => Number.isFinite(v) && v > 0);
  const his = groups.flatMap((g) => g.bars.map((b) => b.hi)).filter((v) => Number.isFinite(v) && v > 0);
  let lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals, ...los, 1e9))));
  let hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals, ...his, 1e-9))));
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || vals.length === 0) { lo = 1; hi = 10; }
  if (hi <= lo) hi = lo * 10;
  const x = (v) => left + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const sIndex = new Map(series.map((s, i) => [s.id, i]));
  let y = top;
  const parts = [];
  for (const g of groups) {
    const h = series.length * (barH + gap);
    parts.push(`<text x="${left - 8}" y="${y + h / 2 + 4}" text-anchor="end" font-size="12">${esc(g.label)}</text>`);
    if (g.sublabel) parts.push(`<text x="${left - 8}" y="${y + h / 2 + 16}" text-anchor="end" font-size="10" fill="#666">${esc(g.sublabel)}</text>`);
    for (const b of g.bars) {
      const i = sIndex.get(b.series);
      if (i === undefined) continue;
      const by = y + i * (barH + gap);
      const color = colorFor(i);
      if (Number.isFinite(b.value) && b.value > 0) {
        const w = Math.max(1, x(Math.max(b.value, lo)) - left);
        const fill = b.flag ? `url(#hatch${i})` : color;
        parts.push(`<rect x="${left}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${fill}" stroke="${color}" stroke-width="${b.flag ? 1 : 0}"><title>${esc(`${b.series}: ${b.text ?? b.value}`)}</title></rect>`);
        if (Number.isFinite(b.lo) && Number.isFinite(b.hi) && b.hi > b.lo) {
          const y0 = by + barH / 2;
          parts.push(`<line x1="${x(Math.max(b.lo, lo)).toFixed(1)}" x2="${x(b.hi).toFixed(1)}" y1="${y0}" y2="${y0}" stroke="#222" stroke-width="1"/>`);
        }
        const label = (b.text ?? fmtTick(Number(b.value.toPrecision(3)))) + (b.flag ? ` (${b.flag})` : "");
        parts.push(`<text x="${(left + w + 4).toFixed(1)}" y="${by + barH - 2}" font-size="9" fill="#333">${esc(label)}</text>`);
      } else {
        parts.push(`<text x="${left + 4}" y="${by + barH - 2}" font-size="9" fill="${color}">${esc(b.flag ?? "n/a")}</text>`);
      }
    }
    y += h + groupGap;
  }
  const H = y + 30;
  const grid = [];
  for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e++) {
    const v = Math.pow(10, e), gx = x(v);
    grid.push(`<line x1="${gx.toFixed(1)}" x2="${gx.toFixed(1)}" y1="${top - 6}" y2="${y - groupGap + 4}" stroke="#ddd"/>`);
    grid.push(`<text x="${gx.toFixed(1)}" y="${y - groupGap + 18}" text-anchor="middle" font-size="10" fill="#555">${fmtTick(v)}</text>`);
    for (let k = 2; k < 10 && e < Math.log10(hi) - 1e-9; k++) {
      const mx = x(v * k);
      grid.push(`<line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${top - 6}" y2="${y - groupGap + 4}" stroke="#f2f2f2"/>`);
    }
  }
  const defs = series.map((s, i) => `<pattern id="hatch${i}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="${colorFor(i)}" stroke-width="3"/></pattern>`).join("");
  const legend = series.map((s, i) => {
    const lx = left + (i % 4) * 170, ly = 44 + Math.floor(i / 4) * 18;
    return `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${colorFor(i)}"/><text x="${lx + 16}" y="${ly}" font-size="11">${esc(s.label ?? s.id)}</text>`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>
<defs>${defs}</defs>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>
<text x="${W / 2}" y="34" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>
${legend}
${grid.join("\n")}
${parts.join("\n")}
<text x="${left + plotW / 2}" y="${H - 6}" text-anchor="middle" font-size="11" fill="#333">${esc(unit)} (log scale, higher is better; whiskers: min–max; hatched: timed out, partial rate)</text>
</svg>
`;
}

/**
 * panels: [{ title, xs: [1,2,4], lines: [{ series, points: [{x, y, lo, hi}] }] }]; linear y from 0.
 */
export function scalingChart({ title, subtitle = "", unit, panels, series }) {
  const cols = Math.min(3, Math.max(1, panels.length));
  const rows = Math.ceil(panels.length / cols);
  const pw = 300, ph = 220, pad = { l: 52, r: 14, t: 28, b: 36 };
  const W = cols * pw + 20, top = 64;
  const H = top + rows * ph + 30;
  const sIndex = new Map(series.map((s, i) => [s.id, i]));
  const out = [];
  panels.forEach((pnl, k) => {
    const ox = 10 + (k % cols) * pw, oy = top + Math.floor(k / cols) * ph;
    const iw = pw - pad.l - pad.r, ih = ph - pad.t - pad.b;
    const xs = pnl.xs;
    const ys = pnl.lines.flatMap((l) => l.points.flatMap((p) => [p.y, p.hi])).filter(Number.isFinite);
    let ymax = ys.length ? Math.max(...ys) * 1.1 : 1;
    const mag = Math.pow(10, Math.floor(Math.log10(ymax)));
    ymax = Math.ceil(ymax / mag) * mag;
    const X = (v) => ox + pad.l + (xs.length === 1 ? iw / 2 : (xs.indexOf(v) / (xs.length - 1)) * iw);
    const Y = (v) => oy + pad.t + ih - (v / ymax) * ih;
    out.push(`<text x="${ox + pw / 2}" y="${oy + 16}" text-anchor="middle" font-size="12" font-weight="bold">${esc(pnl.title)}</text>`);
    out.push(`<rect x="${ox + pad.l}" y="${oy + pad.t}" width="${iw}" height="${ih}" fill="none" stroke="#ccc"/>`);
    for (let t = 0; t <= 4; t++) {
      const v = (ymax * t) / 4, gy = Y(v);
      out.push(`<line x1="${ox + pad.l}" x2="${ox + pad.l + iw}" y1="${gy.toFixed(1)}" y2="${gy.toFixed(1)}" stroke="#eee"/>`);
      out.push(`<text x="${ox + pad.l - 4}" y="${(gy + 3).toFixed(1)}" text-anchor="end" font-size="9" fill="#555">${fmtTick(Number(v.toPrecision(3)))}</text>`);
    }
    for (const xv of xs) {
      out.push(`<text x="${X(xv).toFixed(1)}" y="${oy + pad.t + ih + 13}" text-anchor="middle" font-size="10" fill="#555">${xv}</text>`);
    }
    out.push(`<text x="${ox + pad.l + iw / 2}" y="${oy + pad.t + ih + 27}" text-anchor="middle" font-size="10" fill="#333">workers</text>`);
    for (const line of pnl.lines) {
      const i = sIndex.get(line.series) ?? 0;
      const pts = line.points.filter((p) => Number.isFinite(p.y));
      if (pts.length > 1) out.push(`<polyline fill="none" stroke="${colorFor(i)}" stroke-width="2" points="${pts.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(" ")}"/>`);
      for (const p of pts) {
        if (Number.isFinite(p.lo) && Number.isFinite(p.hi)) out.push(`<line x1="${X(p.x).toFixed(1)}" x2="${X(p.x).toFixed(1)}" y1="${Y(p.lo).toFixed(1)}" y2="${Y(p.hi).toFixed(1)}" stroke="${colorFor(i)}"/>`);
        out.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="3" fill="${colorFor(i)}"><title>${esc(`${line.series}, ${p.x} workers: ${p.text ?? p.y}`)}</title></circle>`);
      }
      for (const p of line.points.filter((q) => !Number.isFinite(q.y) && q.flag)) {
        out.push(`<text x="${X(p.x).toFixed(1)}" y="${oy + pad.t + 12 + i * 11}" text-anchor="middle" font-size="9" fill="${colorFor(i)}">${esc(p.flag)}</text>`);
      }
    }
  });
  const legend = series.map((s, i) => `<rect x="${20 + i * 260}" y="43" width="12" height="10" fill="${colorFor(i)}"/><text x="${36 + i * 260}" y="52" font-size="11">${esc(s.label ?? s.id)}</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>
<text x="${W / 2}" y="34" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>
${legend}
${out.join("\n")}
<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#333">${esc(unit)} (median; bars: min–max)</text>
</svg>
`;
}
