// sabmalloc works unchanged in a browser: a page (served with COOP/COEP headers) loads the ESM
// from dist/ directly, creates a heap, and four Web Workers attach to it and stress it with checked
// patterns while the page's main thread, which may not block, allocates and frees too.
// Driven by playwright-core with the system's Chromium (apt-get install chromium).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { startServer } from "./server.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let server;
let browser;
let page;
const consoleLines = [];

before(async () => {
  assert.ok(existsSync(new URL("../../dist/index.js", import.meta.url)), "dist/ is missing: npm run build first");
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  server = await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  page = await browser.newPage();
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("a page with 4 Web Workers and its main thread share one heap, then it is consistent and empty", { timeout: 180000 }, async () => {
  await page.goto(`${server.url}test/browser/index.html`);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 170000, polling: 200 });
  const r = await page.evaluate(() => window.__result);
  assert.equal(r.error, undefined, `the page failed: ${r.error}\n${consoleLines.join("\n")}`);
  assert.equal(r.crossOriginIsolated, true);
  assert.equal(r.mainCanWait, false, "a browser's main thread may not Atomics.wait: the locks had to spin");
  assert.equal(r.workers.length, 4);
  for (const w of r.workers) assert.ok(w.ops === 60000 && w.checked > 50000, JSON.stringify(w));
  assert.equal(new Set(r.slots).size, 4, "each worker got its own slot");
  assert.ok(r.mainOps >= 5000, `the main thread ran ${r.mainOps} operations`);
  assert.equal(r.check, "passed");
  assert.equal(r.allocated, 0, "everything freed, every cache flushed or detached: stats().allocated === 0");
  assert.equal(r.threads, 1, "only the main thread is still attached");
  assert.match(r.report, /Begin sabmalloc statistics/);
  assert.ok(r.svgBytes > 1000, "heapMap() made a picture");
  assert.ok(r.busySvgBytes > 1000, "heapMap() drew the heap from the main thread while the workers ran");
  assert.ok(r.busyThreads >= 2, `threads attached while the picture was taken: ${r.busyThreads}`);
  assert.equal(r.wasmAllocated, 0, "a heap in a shared WebAssembly.Memory works in the page");
  assert.equal(r.bulk, true, "the page compiles bulk.ts's module: that heap zeroes and copies with memory.fill and memory.copy");
  console.log(`# browser run: ${r.ms} ms, main thread ${r.mainOps} ops, workers ${r.workers.map((w) => w.ops).join(", ")}`);
});

test("a Web Worker's allocations show in the page's heap profile, in every format", { timeout: 60000 }, async () => {
  await page.goto(`${server.url}test/browser/profile.html`);
  await page.waitForFunction(() => window.__profile !== undefined, null, { timeout: 50000, polling: 100 });
  const r = await page.evaluate(() => window.__profile);
  assert.equal(r.error, undefined, `the page failed: ${r.error}\n${consoleLines.join("\n")}`);
  assert.deepEqual(r.slots, [r.workerSlot], "the samples are the worker's");
  assert.equal(r.bigSite, r.expectBig, "sampleBytes 1: exact");
  assert.equal(r.smallSite, r.expectSmall);
  assert.match(r.url, /profile-worker\.mjs$/);
  assert.deepEqual(r.pprofHead, [0x1f, 0x8b], "gzip without node:zlib");
  assert.ok(r.pprofBytes > 100);
  assert.equal(r.devtoolsRoot, "(root)");
  assert.ok(r.devtoolsChildren >= 1);
  assert.match(r.text, /bigSite profile-worker\.mjs:\d+/);
});

test("heap.watch(worker) in a browser: a terminated Web Worker's slot is reclaimed, its blocks stay live", { timeout: 60000 }, async () => {
  await page.goto(`${server.url}test/browser/watch.html`);
  await page.waitForFunction(() => window.__watch !== undefined, null, { timeout: 50000, polling: 100 });
  const r = await page.evaluate(() => window.__watch);
  assert.equal(r.error, undefined, `the page failed: ${r.error}\n${consoleLines.join("\n")}`);
  assert.equal(r.threadsBefore, 2);
  assert.ok(r.cachedBefore > 0, "the worker's cache held blocks");
  assert.equal(r.threadsAfter, 1, "its slot was reclaimed");
  assert.ok(r.reclaimedAfter >= 2900, `not before the grace period (Chromium stops a busy worker 2 s after terminate()): ${r.reclaimedAfter} ms`);
  assert.equal(r.cachedAfter, 0, "its cache was returned");
  assert.equal(r.intact, r.live, "its live blocks kept their bytes");
  // Terminated inside its malloc/free loop, it may take the one block in flight with it: 64 bytes.
  assert.ok(r.allocatedAtEnd === 0 || r.allocatedAtEnd === 64, `allocated at the end: ${r.allocatedAtEnd}`);
});
