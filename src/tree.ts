// tree: an ordered set of runs, threaded through their first pages' map entries (a treap).
//
//   map entry of a run's first page:  +------+------+-------+-------+
//                                      | info | left | right | nfree |
//                                      +------+------+-------+-------+
//
// Nodes are global page numbers (0 = none). The key of a node is read from its page info:
//
//   key = size * 2^20 + gpage        size = the info's size field
//
// For a free page run `size` is its length in pages, so the arena's tree of free runs is ordered by
// length, then address: the first node with key >= n * 2^20 is the best fit for n pages, lowest
// address first. For a small run the first page's size field (its index in the run) is 0, so a
// bin's tree of non-full runs is ordered by address alone. One structure serves both.
//
// A treap keeps the tree balanced in expectation (O(log n) per operation) with no rebalancing
// state: each node's priority is a hash of its page number, and the tree is a heap on priorities.
// Recursion depth is O(log n); split() returns its two halves through module variables, so no
// operation allocates.

import { corruption } from "./errors.js";
import { crashPoint } from "./journal.js";
import { L } from "./layout.js";
import { mapIdx, Space } from "./space.js";

const KEY_SIZE_UNIT = 2 ** 20; // > any global page number (4 GiB / 4 KiB)
/**
 * Deeper than any treap of a heap's runs will be (expected depth ~2 ln n, under 40 for the 10^6
 * runs of a full 4 GiB heap): a walk that goes deeper is going round a damaged tree's cycle, and
 * stops with CORRUPTION instead of a stack overflow or an endless loop.
 */
const MAX_DEPTH = 200;

function tooDeep(): never {
  throw corruption("a run tree is damaged: a walk went deeper than any treap of this heap (a cycle?)");
}

export function treeKey(s: Space, node: number): number {
  const size = (s.i32[mapIdx(s, node) + L.MAP_INFO] >>> L.PI_SIZE_SHIFT) & L.PI_SIZE_MASK;
  return size * KEY_SIZE_UNIT + node;
}

/** The key a free run of `npages` pages at `gpage` will have. */
export function freeRunKey(npages: number, gpage: number): number {
  return npages * KEY_SIZE_UNIT + gpage;
}

function priority(node: number): number {
  return Math.imul(node ^ (node >>> 7), 0x9e3779b1) >>> 0;
}

function left(s: Space, n: number): number { return s.i32[mapIdx(s, n) + L.MAP_LEFT]; }
function right(s: Space, n: number): number { return s.i32[mapIdx(s, n) + L.MAP_RIGHT]; }
// Links are derived state (journal.ts): not journaled, rebuilt after a rollback (repair.ts).
function setLeft(s: Space, n: number, v: number): void {
  crashPoint(s);
  s.i32[mapIdx(s, n) + L.MAP_LEFT] = v;
}
function setRight(s: Space, n: number, v: number): void {
  crashPoint(s);
  s.i32[mapIdx(s, n) + L.MAP_RIGHT] = v;
}

let splitLeft = 0;
let splitRight = 0;

/** Splits tree t into keys < k (splitLeft) and keys >= k (splitRight). */
function split(s: Space, t: number, k: number, depth: number): void {
  if (depth > MAX_DEPTH) tooDeep();
  if (t === 0) {
    splitLeft = splitRight = 0;
  } else if (treeKey(s, t) < k) {
    split(s, right(s, t), k, depth + 1);
    setRight(s, t, splitLeft);
    splitLeft = t;
  } else {
    split(s, left(s, t), k, depth + 1);
    setLeft(s, t, splitRight);
    splitRight = t;
  }
}

/** Joins trees a and b, every key of a below every key of b. */
function merge(s: Space, a: number, b: number, depth: number): number {
  if (depth > MAX_DEPTH) tooDeep();
  if (a === 0) return b;
  if (b === 0) return a;
  if (priority(a) > priority(b)) {
    setRight(s, a, merge(s, right(s, a), b, depth + 1));
    return a;
  }
  setLeft(s, b, merge(s, a, left(s, b), depth + 1));
  return b;
}

/** Inserts `node` (its key already set in its page info); returns the new root. */
export function treeInsert(s: Space, root: number, node: number): number {
  return insert(s, root, node, 0);
}

function insert(s: Space, root: number, node: number, depth: number): number {
  if (depth > MAX_DEPTH) tooDeep();
  if (root === 0 || priority(node) > priority(root)) {
    split(s, root, treeKey(s, node), depth);
    setLeft(s, node, splitLeft);
    setRight(s, node, splitRight);
    return node;
  }
  if (treeKey(s, node) < treeKey(s, root)) setLeft(s, root, insert(s, left(s, root), node, depth + 1));
  else setRight(s, root, insert(s, right(s, root), node, depth + 1));
  return root;
}

/** Removes the node with key `key` (which must be present); returns the new root. */
export function treeRemove(s: Space, root: number, key: number): number {
  return remove(s, root, key, 0);
}

function remove(s: Space, root: number, key: number, depth: number): number {
  if (depth > MAX_DEPTH) tooDeep();
  if (root === 0) throw corruption(`a run tree misses the run it should hold (key ${key})`);
  const k = treeKey(s, root);
  if (k === key) return merge(s, left(s, root), right(s, root), depth);
  if (key < k) setLeft(s, root, remove(s, left(s, root), key, depth + 1));
  else setRight(s, root, remove(s, right(s, root), key, depth + 1));
  return root;
}

/** The node with the smallest key >= `key`, or 0. */
export function treeLowerBound(s: Space, root: number, key: number): number {
  let best = 0;
  let depth = 0;
  for (let t = root; t !== 0;) {
    if (++depth > MAX_DEPTH) tooDeep();
    if (treeKey(s, t) >= key) {
      best = t;
      t = left(s, t);
    } else {
      t = right(s, t);
    }
  }
  return best;
}

/** The largest key below `key` in the tree, or -1 when there is none. */
export function treeKeyBelow(s: Space, root: number, key: number): number {
  let best = -1;
  let depth = 0;
  for (let t = root; t !== 0;) {
    if (++depth > MAX_DEPTH) tooDeep();
    const k = treeKey(s, t);
    if (k < key) {
      best = k;
      t = right(s, t);
    } else {
      t = left(s, t);
    }
  }
  return best;
}

/** The node with the smallest key, or 0. */
export function treeFirst(s: Space, root: number): number {
  if (root === 0) return 0;
  let t = root;
  let depth = 0;
  for (let l = left(s, t); l !== 0; l = left(s, t)) {
    if (++depth > MAX_DEPTH) tooDeep();
    t = l;
  }
  return t;
}

/**
 * Visits every node in key order, at most `limit` of them, each below `maxNode` (check() walks
 * metadata that may be garbage: a cycle must end, an index must stay inside the views). Returns the number visited, or -1 when the walk was cut short or
 * found keys out of order.
 */
export function treeWalk(
  s: Space, root: number, limit: number, maxNode: number, visit: (node: number) => void,
): number {
  let count = 0;
  let lastKey = -1;
  let ok = true;
  const stack: number[] = [];
  let t = root;
  while (ok && (t !== 0 || stack.length > 0)) {
    while (t !== 0) {
      if (stack.length > 256 || count + stack.length > limit || t < 0 || t >= maxNode) {
        ok = false;
        break;
      }
      stack.push(t);
      t = left(s, t);
    }
    if (!ok) break;
    t = stack.pop() as number;
    const k = treeKey(s, t);
    if (k <= lastKey || ++count > limit) { ok = false; break; }
    lastKey = k;
    visit(t);
    t = right(s, t);
  }
  return ok ? count : -1;
}
