// Main-thread helpers of the multi-threaded tests: start workers that are always terminated when
// their test ends (passed, failed or timed out), wait for their results, talk to an RPC worker.

import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { Worker } from "node:worker_threads";
import type { Heap } from "../src/index.js";
import { freeAllAssertEmpty } from "./helpers.js";

/** Starts test/workers/<name>.js; the worker is terminated when test `t` ends, whatever happens. */
export function spawn(t: TestContext, name: string, workerData: unknown): Worker {
  const w = new Worker(new URL(`./workers/${name}.js`, import.meta.url), { workerData });
  t.after(() => w.terminate());
  return w;
}

/** The first message the worker posts; rejects when it fails or exits before posting one. */
export function firstMessage<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      w.off("message", onMessage);
      w.off("error", onError);
      w.off("exit", onExit);
    };
    const onMessage = (msg: T): void => {
      done();
      resolve(msg);
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    const onExit = (code: number): void => {
      done();
      reject(new Error(`worker exited with code ${code} before posting a message`));
    };
    w.on("message", onMessage);
    w.on("error", onError);
    w.on("exit", onExit);
  });
}

/** Resolves when the worker has exited (its thread is gone). */
export function exited(w: Worker): Promise<number> {
  return new Promise((resolve) => {
    if (w.threadId < 0) resolve(0);
    else w.once("exit", resolve);
  });
}

/** Runs workers to completion: their result messages, after every one of them has exited. */
export async function results<T>(workers: Worker[]): Promise<T[]> {
  const exits = workers.map(exited);
  const out = await Promise.all(workers.map((w) => firstMessage<T>(w)));
  await Promise.all(exits);
  return out;
}

export interface RemoteError {
  name: string;
  code?: string;
  message: string;
}

/** A worker (workers/rpc.js) that runs Heap methods on its own attached Heap on request. */
export class Remote {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  readonly ready: Promise<{ slot: number }>;

  constructor(readonly worker: Worker) {
    this.ready = firstMessage<{ slot: number }>(worker);
    worker.on("message", (msg: { id?: number; ok?: boolean; value?: unknown; error?: RemoteError }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id)!;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(Object.assign(new Error(msg.error!.message), msg.error));
    });
    worker.on("error", (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  /** The error a call throws in the worker (fails when it does not throw). */
  async error(op: string, ...args: unknown[]): Promise<RemoteError> {
    try {
      await this.call(op, ...args);
    } catch (e) {
      return e as RemoteError;
    }
    throw new Error(`${op}(${args.join(", ")}) did not throw`);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The end of a multi-threaded test, once every worker has detached: check(), free the test's own
 * `blocks` (queues, control words), flush, and the heap must be empty, with this thread its only
 * thread, and consistent.
 */
export function assertEmptyAfter(heap: Heap, blocks: number[]): void {
  heap.check();
  freeAllAssertEmpty(heap, blocks);
  assert.equal(heap.stats().threads, 1);
}
