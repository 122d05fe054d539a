// Snapshot timings: a heap of a few hundred MiB of blocks (small, large and huge), then
// heap.snapshot(), Heap.restore(), heap.save(file) and Heap.load(file), each timed, per GiB of
// snapshot. Run: npm run build && node bench/snapshot.mjs [MiB of blocks, default 400] [dir]
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Heap } from "../dist/index.js";

const target = Number(process.argv[2] ?? 400) * 2 ** 20;
const dir = mkdtempSync(join(process.argv[3] ?? tmpdir(), "sabmalloc-snap-bench-"));
const heap = Heap.create({ maxBytes: 2 ** 31 });
let x = 0x2545f491;
const rnd = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
let live = 0;
let blocks = 0;
while (live < target) {
  const r = rnd();
  const n = r < 0.6 ? 8 + Math.floor(rnd() * 2000) : r < 0.95 ? 16384 + Math.floor(rnd() * 200000) : 1 + Math.floor(rnd() * 4 * 2 ** 20);
  const p = heap.malloc(n);
  if (p === 0) throw new Error("out of memory");
  heap.u8.fill(blocks & 255, p, p + Math.min(n, 64));
  live += n;
  blocks++;
}
const GiB = 2 ** 30;
const time = async (f) => {
  const t0 = performance.now();
  const v = await f();
  return [performance.now() - t0, v];
};
const rows = [];
const report = (what, ms, bytes) => rows.push(`${what.padEnd(22)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / (bytes / GiB)).toFixed(0).padStart(6)} ms/GiB  ${((bytes / GiB) / (ms / 1000)).toFixed(2)} GiB/s`);
const st = heap.stats();
console.log(`heap: ${blocks} blocks, ${(st.allocated / 2 ** 20).toFixed(0)} MiB allocated, ${(st.mapped / 2 ** 20).toFixed(0)} MiB of chunks in use`);
for (let round = 0; round < 2; round++) {
  const [snapMs, bytes] = await time(() => heap.snapshot());
  report("heap.snapshot()", snapMs, bytes.length);
  const [restoreMs, r] = await time(() => Heap.restore(bytes));
  report("Heap.restore(bytes)", restoreMs, bytes.length);
  r.detach();
  const file = join(dir, "heap.bin");
  const [saveMs] = await time(() => heap.save(file));
  const size = statSync(file).size;
  report("heap.save(file)", saveMs, size);
  const [loadMs, l] = await time(() => Heap.load(file));
  report("Heap.load(file)", loadMs, size);
  const [checkMs] = await time(() => l.check());
  report("check() of the loaded", checkMs, size);
  l.detach();
  rmSync(file);
  if (round === 1) console.log(`snapshot: ${(bytes.length / 2 ** 20).toFixed(0)} MiB\n` + rows.slice(5).join("\n"));
}
rmSync(dir, { recursive: true, force: true });
