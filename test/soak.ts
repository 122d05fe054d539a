// `npm run soak`: the chaos soak at full length (test/chaos.ts), with its numbers printed.
//   npm run soak -- [kills] [workers]     (default 1000 kills, 3 workers)

import { runChaos } from "./chaos.js";

const kills = Number(process.argv[2] ?? 1000);
const workers = Number(process.argv[3] ?? 3);
const t0 = Date.now();
const r = await runChaos({
  kills, workers, seed: Date.now() & 0xffff,
  onKill: (n) => {
    if (n % 50 === 0) process.stderr.write(`\r${n} / ${kills} terminations, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  },
});
process.stderr.write("\n");
console.log(`${r.kills} workers terminated at random moments (${r.byWatch} reclaimed by watch(), the rest by reclaim()),` +
  ` ${r.checks} check()s while the others ran: no damage, no hang.`);
console.log(`${r.blocks} recorded blocks verified byte for byte at the end; ${r.lostBlocks} blocks (${r.lostBytes} bytes) lost` +
  ` with calls in flight, at most one per termination; ${(r.ms / 1000).toFixed(1)} s.`);
