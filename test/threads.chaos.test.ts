// The chaos soak, short: workers terminated at random moments while they churn (test/chaos.ts).
// `npm run soak` runs the long one (1,000 terminations).

import assert from "node:assert/strict";
import { test } from "node:test";
import { runChaos } from "./chaos.js";

test("workers terminated at random moments, reclaimed by reclaim() or watch(): the heap stays whole", { timeout: 120_000 }, async () => {
  const r = await runChaos({ kills: Number(process.env.SABMALLOC_CHAOS_KILLS ?? 40), workers: 3, seed: 7 });
  assert.ok(r.blocks > 0 && r.checks >= 4);
});
