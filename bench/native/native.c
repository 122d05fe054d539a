/*
 * native.c: the benchmark's workloads in C, for the native columns of `npm run bench`.
 *
 * Built at bench time by bench/adapters/native.mjs (cc -O2) into bench/.build/native-bench and run
 * with the system's malloc (glibc) or with jemalloc preloaded (LD_PRELOAD). Two modes:
 *
 *   native-bench serve
 *       single-threaded: reads one command per line on stdin and answers one JSON line on stdout
 *         hello                                   -> {"malloc": "<which allocator is in use>"}
 *         prepare <kind> key=value ...            -> {"status": "ok", "check": <trace checksum>}
 *             builds the request trace from `seed` with the generator of bench/lib/rng.mjs (ported
 *             bit for bit; the checksum lets the caller compare it with the JS trace), then runs
 *             `warmups` warm-up runs with the w_* parameters
 *         rep                                     -> {"status": "ok"|"timeout", "ms": .., "ops": ..}
 *         finish                                  -> {} (drops the trace)
 *   native-bench mt <kind> key=value ...
 *       one multi-threaded repetition (pthreads), prints {"ms": .., "ops": ..}
 *
 * Kinds (single-threaded): malloc-free, batch, replace, realloc-step, realloc-x2, calloc, tree;
 * multi-threaded: larson, tree. Each loop mirrors its JavaScript twin in bench/workloads/micro.mjs
 * or in bench/workers/ step for step: the same requests in the same order, the same reads and
 * writes of the blocks, the same adaptive clock checks against the deadline.
 *
 * The compiler must not see malloc/free as builtins (it may delete a malloc whose block is only
 * freed): the build passes -fno-builtin-malloc etc., and ESCAPE() keeps the pointer alive too.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ESCAPE(p) __asm__ volatile("" : : "r"(p))

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *msg, long arg) {
  fprintf(stderr, "native-bench: %s (%ld)\n", msg, arg);
  exit(3);
}

/* ------------------------------------------------------------------ bench/lib/rng.mjs, ported */

typedef struct { uint32_t a, b, c, d; } rng_t;

static uint32_t rng_u32(rng_t *r) {
  uint32_t t = r->a + r->b + r->d;
  r->d += 1;
  r->a = r->b ^ (r->b >> 9);
  r->b = r->c + (r->c << 3);
  r->c = (r->c << 21) | (r->c >> 11);
  r->c += t;
  return t;
}

/* sfc32 seeded through splitmix32, then 12 outputs dropped: as the Rng constructor */
static void rng_seed(rng_t *r, uint32_t seed) {
  uint32_t s = seed, out[4];
  for (int i = 0; i < 4; i++) {
    s += 0x9e3779b9u;
    uint32_t t = s ^ (s >> 16);
    t *= 0x21f0aafdu;
    t ^= t >> 15;
    t *= 0x735a2d97u;
    out[i] = t ^ (t >> 15);
  }
  r->a = out[0]; r->b = out[1]; r->c = out[2]; r->d = out[3] | 1;
  for (int i = 0; i < 12; i++) rng_u32(r);
}

static double rng_float(rng_t *r) { return rng_u32(r) / 4294967296.0; }

static uint32_t rng_int(rng_t *r, uint32_t lo, uint32_t hi) {
  return lo + (uint32_t)floor(rng_float(r) * (double)(hi - lo + 1));
}

static uint32_t rng_log_int(rng_t *r, uint32_t lo, uint32_t hi) {
  double v = floor((double)lo * pow((double)(hi + 1) / (double)lo, rng_float(r)));
  return v > hi ? hi : (uint32_t)v;
}

static uint32_t *size_trace(rng_t *r, long n, uint32_t lo, uint32_t hi) {
  uint32_t *out = malloc((size_t)(n > 0 ? n : 1) * 4);
  if (!out) die("out of memory for a trace", n);
  for (long i = 0; i < n; i++) out[i] = rng_log_int(r, lo, hi);
  return out;
}

static uint32_t *index_trace(rng_t *r, long n, uint32_t m) {
  uint32_t *out = malloc((size_t)(n > 0 ? n : 1) * 4);
  if (!out) die("out of memory for a trace", n);
  for (long i = 0; i < n; i++) out[i] = rng_u32(r) % m;
  return out;
}

/* checksum of a trace: h = (h ^ v) * FNV prime over every value in generation order (same in JS) */
static uint32_t check_add(uint32_t h, const uint32_t *v, long n) {
  for (long i = 0; i < n; i++) h = (h ^ v[i]) * 0x01000193u;
  return h;
}

/* ------------------------------------------------------------------ parameters: key=value words */

typedef struct {
  long size, ops, n, rounds, lifo, slots, growths, max, depth;
  long per_thread, ops_per_gen, gens, min_size, max_size, warm_remote, warm_ops, threads, trees;
  double limit_ms;
} params_t;

typedef struct {
  params_t p, w;          /* timed and warm-up parameters */
  uint32_t seed;
  long warmups;
  char seeds[8192];       /* mt: comma-separated per-thread seeds */
} args_t;

static void set_param(params_t *p, const char *k, double v) {
  if (!strcmp(k, "size")) p->size = (long)v;
  else if (!strcmp(k, "ops")) p->ops = (long)v;
  else if (!strcmp(k, "n")) p->n = (long)v;
  else if (!strcmp(k, "rounds")) p->rounds = (long)v;
  else if (!strcmp(k, "lifo")) p->lifo = (long)v;
  else if (!strcmp(k, "slots")) p->slots = (long)v;
  else if (!strcmp(k, "growths")) p->growths = (long)v;
  else if (!strcmp(k, "max")) p->max = (long)v;
  else if (!strcmp(k, "depth")) p->depth = (long)v;
  else if (!strcmp(k, "trees")) p->trees = (long)v;
  else if (!strcmp(k, "perThread")) p->per_thread = (long)v;
  else if (!strcmp(k, "opsPerGen")) p->ops_per_gen = (long)v;
  else if (!strcmp(k, "gensPerRep")) p->gens = (long)v;
  else if (!strcmp(k, "minSize")) p->min_size = (long)v;
  else if (!strcmp(k, "maxSize")) p->max_size = (long)v;
  else if (!strcmp(k, "warmRemote")) p->warm_remote = (long)v;
  else if (!strcmp(k, "warmOps")) p->warm_ops = (long)v;
  else if (!strcmp(k, "threads")) p->threads = (long)v;
  else if (!strcmp(k, "limitMs")) p->limit_ms = v;
  /* other keys of the JS parameters are not needed here */
}

static void parse_args(args_t *a, char **words, int n) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < n; i++) {
    char *eq = strchr(words[i], '=');
    if (!eq) continue;
    *eq = 0;
    const char *k = words[i], *v = eq + 1;
    if (!strcmp(k, "seed")) a->seed = (uint32_t)strtoul(v, NULL, 10);
    else if (!strcmp(k, "warmups")) a->warmups = atol(v);
    else if (!strcmp(k, "seeds")) snprintf(a->seeds, sizeof a->seeds, "%s", v);
    else if (!strncmp(k, "w_", 2)) set_param(&a->w, k + 2, strtod(v, NULL));
    else set_param(&a->p, k, strtod(v, NULL));
  }
}

/* ------------------------------------------------------------------ adaptive deadline checks */
/*
 * As in micro.mjs: the clock is read every `stride` operations; the stride doubles (up to 4096)
 * while two readings are less than 1 ms apart and halves when they are more than 2 ms apart. The flat
 * loops run chunks of `stride` operations, then read the clock (clk_end, clk_check); the realloc
 * chains and the tree's recursion count their operations (clk_tick).
 */
typedef struct { long chk, stride; double last, deadline; } clock_t_;

static void clk_init(clock_t_ *c, double deadline) {
  c->chk = 0; c->stride = 1; c->last = now_ms(); c->deadline = deadline;
}

/* The end of the next chunk of operations from i (of n): `stride` of them, as micro.mjs's flat loops
 * run theirs; clk_check() follows each chunk. */
static inline long clk_end(const clock_t_ *c, long i, long n) {
  return n - i > c->stride ? i + c->stride : n;
}

/* After a chunk: 1 when the deadline has passed; else the stride adapts (doubled while two readings
 * are less than 1 ms apart, up to 4096; halved when more than 2 ms apart) */
static inline int clk_check(clock_t_ *c) {
  double now = now_ms();
  if (now > c->deadline) return 1;
  double d = now - c->last;
  c->last = now;
  c->stride = d < 1 ? (c->stride < 4096 ? c->stride * 2 : c->stride) : d > 2 && c->stride > 1 ? c->stride >> 1 : c->stride;
  return 0;
}

/* 1 when the deadline has passed */
static inline int clk_tick(clock_t_ *c) {
  if (++c->chk < c->stride) return 0;
  c->chk = 0;
  return clk_check(c);
}

typedef struct { double ms, ops; int timed_out; } result_t;

/* ------------------------------------------------------------------ single-threaded workloads */

typedef struct {
  int kind;
  uint32_t *sizes, *init, *idx, *deltas;
  long nsizes, ninit, nidx, ndeltas;
  void **slots;
  long nslots;
} trace_t;

enum { K_MALLOC_FREE, K_BATCH, K_REPLACE, K_REALLOC_STEP, K_REALLOC_X2, K_CALLOC, K_TREE };

static result_t run_malloc_free(const params_t *p, trace_t *t, double deadline) {
  (void)t;
  long n = p->ops, i = 0;
  size_t size = (size_t)p->size;
  int timed_out = 0;
  clock_t_ c;
  clk_init(&c, deadline);
  double t0 = c.last;
  while (i < n) {
    for (long end = clk_end(&c, i, n); i < end; i++) {
      void *q = malloc(size);
      if (!q) die("malloc returned NULL", (long)size);
      ESCAPE(q);
      free(q);
    }
    if (clk_check(&c)) { timed_out = 1; break; }
  }
  return (result_t){ now_ms() - t0, (double)i, timed_out };
}

static result_t run_batch(const params_t *p, trace_t *t, double deadline) {
  long n = p->n, rounds = p->rounds, calls = 0;
  int lifo = p->lifo != 0, timed_out = 0;
  void **slots = t->slots;
  const uint32_t *sizes = t->sizes;
  clock_t_ c;
  clk_init(&c, deadline);
  double t0 = c.last;
  for (long r = 0; r < rounds && !timed_out; r++) {
    for (long i = 0; i < n;) {
      long end = clk_end(&c, i, n);
      calls += end - i;
      for (; i < end; i++) {
        void *q = malloc(sizes[i]);
        if (!q) die("malloc returned NULL", sizes[i]);
        slots[i] = q;
      }
      if (clk_check(&c)) { timed_out = 1; break; }
    }
    if (timed_out) break;
    c.stride = 1;
    for (long k = 0; k < n;) {
      long end = clk_end(&c, k, n);
      calls += end - k;
      for (; k < end; k++) {
        long i = lifo ? n - 1 - k : k;
        free(slots[i]);
        slots[i] = NULL;
      }
      if (clk_check(&c)) { timed_out = 1; break; }
    }
  }
  double ms = now_ms() - t0;
  for (long i = 0; i < n; i++) if (slots[i]) { free(slots[i]); slots[i] = NULL; } /* untimed */
  return (result_t){ ms, calls / 2.0, timed_out };
}

static result_t run_replace(const params_t *p, trace_t *t, double deadline) {
  long S = p->slots, n = p->ops, k = 0;
  void **slots = t->slots;
  int timed_out = 0;
  for (long i = 0; i < S; i++) {
    void *q = malloc(t->init[i]);
    if (!q) die("malloc returned NULL", t->init[i]);
    slots[i] = q;
    if ((i & 4095) == 4095 && now_ms() > deadline) {
      for (long j = 0; j <= i; j++) { free(slots[j]); slots[j] = NULL; }
      return (result_t){ 0, 0, 1 };
    }
  }
  clock_t_ c;
  clk_init(&c, deadline);
  double t0 = c.last;
  while (k < n) {
    for (long end = clk_end(&c, k, n); k < end; k++) {
      uint32_t i = t->idx[k];
      free(slots[i]);
      void *q = malloc(t->sizes[k]);
      if (!q) die("malloc returned NULL", t->sizes[k]);
      slots[i] = q;
    }
    if (clk_check(&c)) { timed_out = 1; break; }
  }
  double ms = now_ms() - t0;
  for (long i = 0; i < S; i++) { free(slots[i]); slots[i] = NULL; } /* untimed */
  return (result_t){ ms, (double)k, timed_out };
}

static result_t run_realloc_step(const params_t *p, trace_t *t, double deadline) {
  long growths = p->growths, max = p->max, D = t->ndeltas, k = 0, ops = 0;
  int timed_out = 0;
  clock_t_ c;
  clk_init(&c, deadline);
  double t0 = c.last;
  for (long g = 0; g < growths && !timed_out; g++) {
    long size = 8;
    void *q = malloc((size_t)size);
    if (!q) die("malloc returned NULL", 8);
    while (size < max) {
      size += t->deltas[k];
      k = k + 1 == D ? 0 : k + 1;
      if (size > max) size = max;
      void *r = realloc(q, (size_t)size);
      if (!r) die("realloc returned NULL", size);
      q = r;
      ops++;
      if (clk_tick(&c)) { timed_out = 1; break; }
    }
    free(q);
  }
  return (result_t){ now_ms() - t0, (double)ops, timed_out };
}

static result_t run_realloc_x2(const params_t *p, trace_t *t, double deadline) {
  (void)t;
  long growths = p->growths, max = p->max, ops = 0;
  int timed_out = 0;
  double t0 = now_ms();
  for (long g = 0; g < growths; g++) {
    long size = 8;
    void *q = malloc((size_t)size);
    if (!q) die("malloc returned NULL", 8);
    while (size < max) {
      size = size * 2 > max ? max : size * 2;
      void *r = realloc(q, (size_t)size);
      if (!r) die("realloc returned NULL", size);
      q = r;
      ops++;
    }
    free(q);
    if ((g & 7) == 7 && now_ms() > deadline) { timed_out = 1; break; }
  }
  return (result_t){ now_ms() - t0, (double)ops, timed_out };
}

static result_t run_calloc(const params_t *p, trace_t *t, double deadline) {
  long n = p->ops, i = 0, mask = t->nsizes - 1;
  int timed_out = 0;
  clock_t_ c;
  clk_init(&c, deadline);
  double t0 = c.last;
  while (i < n) {
    for (long end = clk_end(&c, i, n); i < end; i++) {
      uint32_t size = t->sizes[i & mask];
      void *q = calloc(1, size);
      if (!q) die("calloc returned NULL", size);
      ESCAPE(q);
      free(q);
    }
    if (clk_check(&c)) { timed_out = 1; break; }
  }
  return (result_t){ now_ms() - t0, (double)i, timed_out };
}

/* ---- tree: a complete binary tree of 16-byte nodes, built pre-order, walked, freed post-order.
 * A node is malloc(16), as in JS; with 64-bit pointers, left and right fill the 16 bytes, so the
 * payload (a value 0..15) lives in the low 4 bits of `left` (malloc(16) is 16-byte aligned in
 * glibc and jemalloc; checked). The walk masks it out: one AND more per node than the JS walk. */

typedef struct node { uintptr_t left_val; struct node *right; } node_t;
_Static_assert(sizeof(node_t) == 16, "16-byte nodes");

typedef struct {
  clock_t_ c;
  uint32_t k;          /* payload counter: node value = k++ & 15 */
  long frees;          /* ops: nodes freed */
  int stop;            /* the deadline passed */
  double t_stop;
  long count;
  uint64_t sum, expect;
} tree_ctx;

static inline void tree_tick(tree_ctx *x) {
  if (!x->stop && clk_tick(&x->c)) { x->stop = 1; x->t_stop = now_ms(); }
}

static node_t *tree_build(tree_ctx *x, long d) {
  node_t *q = malloc(16);
  if (!q) die("malloc(16) returned NULL", 16);
  if ((uintptr_t)q & 15) die("malloc(16) is not 16-byte aligned", (long)((uintptr_t)q & 15));
  uint32_t v = x->k++ & 15;
  x->expect += v;
  node_t *l = NULL, *r = NULL;
  if (d > 1 && !x->stop) {
    l = tree_build(x, d - 1);
    r = tree_build(x, d - 1);
  }
  q->left_val = (uintptr_t)l | v;
  q->right = r;
  tree_tick(x);
  return q;
}

static void tree_walk(tree_ctx *x, const node_t *q) {
  x->count++;
  x->sum += q->left_val & 15;
  const node_t *l = (const node_t *)(q->left_val & ~(uintptr_t)15), *r = q->right;
  if (l) tree_walk(x, l);
  if (r) tree_walk(x, r);
}

/* After the deadline the rest is freed too (untimed: the time was taken when it passed). */
static void tree_free(tree_ctx *x, node_t *q) {
  node_t *l = (node_t *)(q->left_val & ~(uintptr_t)15), *r = q->right;
  if (l) tree_free(x, l);
  if (r) tree_free(x, r);
  free(q);
  if (!x->stop) x->frees++;
  tree_tick(x);
}

/* `trees` trees of `depth` levels (2^depth - 1 nodes); ops = nodes freed before the deadline */
static result_t tree_rounds(long depth, long trees, double deadline, uint32_t *k) {
  tree_ctx x;
  memset(&x, 0, sizeof x);
  x.k = *k;
  clk_init(&x.c, deadline);
  double t0 = x.c.last;
  long nodes = (1L << depth) - 1;
  for (long r = 0; r < trees && !x.stop; r++) {
    x.count = 0; x.sum = 0; x.expect = 0;
    node_t *root = tree_build(&x, depth);
    if (!x.stop) {
      tree_walk(&x, root);
      if (x.count != nodes || x.sum != x.expect) die("tree walk: wrong count or payload sum", x.count);
    }
    tree_free(&x, root);
  }
  double end = x.stop ? x.t_stop : now_ms();
  *k = x.k;
  return (result_t){ end - t0, (double)x.frees, x.stop };
}

static result_t run_tree(const params_t *p, trace_t *t, double deadline) {
  (void)t;
  uint32_t k = 0;
  return tree_rounds(p->depth, p->rounds, deadline, &k);
}

static result_t run_kind(int kind, const params_t *p, trace_t *t) {
  double deadline = now_ms() + p->limit_ms;
  switch (kind) {
    case K_MALLOC_FREE: return run_malloc_free(p, t, deadline);
    case K_BATCH: return run_batch(p, t, deadline);
    case K_REPLACE: return run_replace(p, t, deadline);
    case K_REALLOC_STEP: return run_realloc_step(p, t, deadline);
    case K_REALLOC_X2: return run_realloc_x2(p, t, deadline);
    case K_CALLOC: return run_calloc(p, t, deadline);
    default: return run_tree(p, t, deadline);
  }
}

static int kind_of(const char *s) {
  static const char *names[] = { "malloc-free", "batch", "replace", "realloc-step", "realloc-x2", "calloc", "tree" };
  for (int i = 0; i < 7; i++) if (!strcmp(s, names[i])) return i;
  return -1;
}

static void trace_free(trace_t *t) {
  free(t->sizes); free(t->init); free(t->idx); free(t->deltas); free(t->slots);
  memset(t, 0, sizeof *t);
}

/* The trace of micro.mjs's trace(p, rng) for this kind; returns its checksum. */
static uint32_t trace_make(trace_t *t, int kind, const params_t *p, uint32_t seed) {
  rng_t r;
  rng_seed(&r, seed);
  uint32_t h = 0x811c9dc5u;
  memset(t, 0, sizeof *t);
  t->kind = kind;
  switch (kind) {
    case K_BATCH:
      t->sizes = size_trace(&r, p->n, 8, 1024); t->nsizes = p->n;
      h = check_add(h, t->sizes, t->nsizes);
      t->nslots = p->n;
      break;
    case K_REPLACE:
      t->init = size_trace(&r, p->slots, 8, 1024); t->ninit = p->slots;
      t->idx = index_trace(&r, p->ops, (uint32_t)p->slots); t->nidx = p->ops;
      t->sizes = size_trace(&r, p->ops, 8, 1024); t->nsizes = p->ops;
      h = check_add(check_add(check_add(h, t->init, t->ninit), t->idx, t->nidx), t->sizes, t->nsizes);
      t->nslots = p->slots;
      break;
    case K_REALLOC_STEP:
      t->ndeltas = 65536;
      t->deltas = malloc(65536 * 4);
      if (!t->deltas) die("out of memory for a trace", 65536);
      for (long i = 0; i < 65536; i++) t->deltas[i] = rng_int(&r, 1, 128);
      h = check_add(h, t->deltas, t->ndeltas);
      break;
    case K_CALLOC:
      t->sizes = size_trace(&r, 65536, 8, 4096); t->nsizes = 65536;
      h = check_add(h, t->sizes, t->nsizes);
      break;
    default: break;
  }
  if (t->nslots) {
    t->slots = calloc((size_t)t->nslots, sizeof(void *));
    if (!t->slots) die("out of memory for the slots", t->nslots);
  }
  return h;
}

/* which malloc this process calls: jemalloc (mallctl is there when it is preloaded) or glibc */
static void describe_malloc(char *out, size_t n) {
  typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
  mallctl_fn mallctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
  if (mallctl) {
    const char *v = NULL;
    size_t len = sizeof v;
    if (mallctl("version", &v, &len, NULL, 0) == 0 && v) snprintf(out, n, "jemalloc %s", v);
    else snprintf(out, n, "jemalloc");
  } else {
    snprintf(out, n, "glibc %s", gnu_get_libc_version());
  }
}

static void print_result(result_t r) {
  printf("{\"status\":\"%s\",\"ms\":%.6f,\"ops\":%.1f}\n", r.timed_out ? "timeout" : "ok", r.ms, r.ops);
  fflush(stdout);
}

static int serve(void) {
  char line[16384];
  char *words[64];
  trace_t t;
  memset(&t, 0, sizeof t);
  int kind = -1;
  args_t a;
  while (fgets(line, sizeof line, stdin)) {
    int n = 0;
    for (char *s = strtok(line, " \t\r\n"); s && n < 64; s = strtok(NULL, " \t\r\n")) words[n++] = s;
    if (n == 0) continue;
    if (!strcmp(words[0], "hello")) {
      char m[256];
      describe_malloc(m, sizeof m);
      printf("{\"malloc\":\"%s\",\"pointer\":%d}\n", m, (int)sizeof(void *));
    } else if (!strcmp(words[0], "prepare") && n >= 2) {
      trace_free(&t);
      kind = kind_of(words[1]);
      if (kind < 0) { printf("{\"status\":\"error\",\"note\":\"unknown workload kind %s\"}\n", words[1]); fflush(stdout); continue; }
      parse_args(&a, words + 2, n - 2);
      uint32_t h = trace_make(&t, kind, &a.p, a.seed);
      const char *status = "ok";
      for (long w = 0; w < a.warmups; w++) {
        result_t r = run_kind(kind, &a.w, &t);
        if (r.timed_out) { status = "timeout"; break; }
      }
      printf("{\"status\":\"%s\",\"check\":%u}\n", status, h);
    } else if (!strcmp(words[0], "rep") && kind >= 0) {
      print_result(run_kind(kind, &a.p, &t));
      continue;
    } else if (!strcmp(words[0], "finish")) {
      trace_free(&t);
      kind = -1;
      printf("{}\n");
    } else {
      printf("{\"status\":\"error\",\"note\":\"bad command %s\"}\n", words[0]);
    }
    fflush(stdout);
  }
  return 0;
}

/* ------------------------------------------------------------------ multi-threaded workloads */

/* bench/lib/churn.mjs with the workers' size function (8 + r % 2040): the untimed warm-up */
static void churn(long steps) {
  void *slots[256] = { 0 };
  uint32_t s = 0x9e3779b9u;
  for (long k = 0; k < steps; k++) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    long i = k & 255;
    if (slots[i]) free(slots[i]);
    slots[i] = malloc(8 + s % 2040);
  }
  for (int i = 0; i < 256; i++) if (slots[i]) free(slots[i]);
}

typedef struct {
  const params_t *p;
  long id, gen;
  uint32_t seed;
  void **slots;            /* this thread's slice */
  uint32_t *sizes;
  void **warm;             /* blocks the main thread allocated for this thread's warm-up to free */
  volatile double *live;
  pthread_barrier_t *barrier;
  int kind;
  double start, end, ops;
} thread_t;

/* The larson loop of bench/workers/larson.mjs over one slice; returns the net bytes allocated. */
static double larson_loop(const params_t *p, void **slots, uint32_t *sizes, long n, long ops, uint32_t seed,
                          volatile double *live, long id, double base) {
  uint32_t span = (uint32_t)(p->max_size - p->min_size + 1);
  uint32_t s = seed ? seed : 0x2545f491u;
  double net = 0;
  for (long k = 0; k < ops; k++) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    uint32_t i = s % (uint32_t)n;
    uint8_t *old = slots[i];
    if (old) {
      uint32_t sz = sizes[i];
      if (old[0] != (sz & 255) || old[sz - 1] != (sz & 255)) die("larson: a block was overwritten", (long)sz);
      free(old);
      net -= sz;
    }
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    uint32_t size = (uint32_t)p->min_size + s % span;
    uint8_t *q = malloc(size);
    if (!q) die("larson: malloc returned NULL", size);
    q[0] = (uint8_t)size;
    q[size - 1] = (uint8_t)size;
    slots[i] = q;
    sizes[i] = size;
    net += size;
    if ((k & 1023) == 0) live[id] = base + net;
  }
  return net;
}

static void *larson_thread(void *arg) {
  thread_t *t = arg;
  const params_t *p = t->p;
  /* untimed, as the JS worker: churn, its own loop on a private slice, the remote frees, again */
  if (p->warm_ops > 0) churn(p->warm_ops);
  long n = p->per_thread < 1000 ? p->per_thread : 1000;
  void **ps = calloc((size_t)n, sizeof(void *));
  uint32_t *pz = calloc((size_t)n, 4);
  double scratch[1];
  long wops = p->ops_per_gen < 500000 ? p->ops_per_gen : 500000, chunk = (wops + 99) / 100;
  for (long k = 0; k < 100; k++) larson_loop(p, ps, pz, n, chunk, t->seed ^ (uint32_t)(0x5bd1e995u + k), scratch, 0, 0);
  for (long i = 0; i < p->warm_remote; i++) free(t->warm[i]);
  for (long k = 0; k < 100; k++) larson_loop(p, ps, pz, n, chunk, t->seed ^ (uint32_t)(0x1b873593u + k), scratch, 0, 0);
  for (long i = 0; i < n; i++) if (ps[i]) free(ps[i]);
  free(ps); free(pz);
  pthread_barrier_wait(t->barrier);
  t->start = now_ms();
  double base = t->live[t->id];
  double net = larson_loop(p, t->slots, t->sizes, p->per_thread, p->ops_per_gen, t->seed, t->live, t->id, base);
  t->live[t->id] = base + net;
  t->end = now_ms();
  t->ops = (double)p->ops_per_gen;
  return NULL;
}

/* bench/workers/tree.mjs: `trees` trees of `depth` levels per thread (after a short warm-up) */
static void *tree_thread(void *arg) {
  thread_t *t = arg;
  const params_t *p = t->p;
  if (p->warm_ops > 0) churn(p->warm_ops);
  uint32_t k = 0;
  long warm_trees = p->warm_ops / 100 > 10 ? p->warm_ops / 100 : 10; /* as tree.mjs */
  for (long i = 0; i < warm_trees; i++) tree_rounds(p->depth < 10 ? p->depth : 10, 1, 1e300, &k);
  pthread_barrier_wait(t->barrier);
  t->start = now_ms();
  result_t r = tree_rounds(p->depth, p->trees, 1e300, &k);
  t->end = now_ms();
  t->ops = r.ops;
  return NULL;
}

static int run_mt(const char *kind_name, args_t *a) {
  const params_t *p = &a->p;
  int larson = !strcmp(kind_name, "larson");
  if (!larson && strcmp(kind_name, "tree")) die("unknown multi-threaded kind", 0);
  long w = p->threads > 0 ? p->threads : 1;
  long gens = larson ? (p->gens > 0 ? p->gens : 1) : 1;
  uint32_t seeds[1024];
  long nseeds = 0;
  for (char *s = strtok(a->seeds, ","); s && nseeds < 1024; s = strtok(NULL, ",")) seeds[nseeds++] = (uint32_t)strtoul(s, NULL, 10);
  if (nseeds < gens * w) die("mt: too few seeds", nseeds);
  volatile double *live = calloc((size_t)w + 1, sizeof(double));
  void **slots = NULL;
  uint32_t *sizes = NULL;
  rng_t rng;
  rng_seed(&rng, a->seed); /* lib/mt.mjs: new Rng(seedFor(seed, "setup")), passed as `seed` */
  if (larson) {
    /* setup on the main thread, as larson.setup(): every slot filled, first/last byte touched */
    long n = w * p->per_thread;
    slots = calloc((size_t)n, sizeof(void *));
    sizes = calloc((size_t)n, 4);
    for (long i = 0; i < n; i++) {
      uint32_t size = rng_int(&rng, (uint32_t)p->min_size, (uint32_t)p->max_size);
      uint8_t *q = malloc(size);
      if (!q) die("larson setup: malloc returned NULL", size);
      q[0] = (uint8_t)size; q[size - 1] = (uint8_t)size;
      slots[i] = q; sizes[i] = size;
    }
  }
  double ms = 0, ops = 0;
  thread_t *th = calloc((size_t)w, sizeof(thread_t));
  pthread_t *ids = calloc((size_t)w, sizeof(pthread_t));
  for (long g = 0; g < gens; g++) {
    void **warm = NULL;
    if (larson) {
      /* larson.genSetup(): blocks of the main thread for each worker's warm-up to free */
      long n = w * p->warm_remote;
      warm = calloc((size_t)(n > 0 ? n : 1), sizeof(void *));
      for (long i = 0; i < n; i++) {
        warm[i] = malloc(rng_int(&rng, (uint32_t)p->min_size, (uint32_t)p->max_size));
        if (!warm[i]) die("larson setup: malloc returned NULL", 0);
      }
    }
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)w);
    for (long id = 0; id < w; id++) {
      thread_t *t = &th[id];
      memset(t, 0, sizeof *t);
      t->p = p; t->id = id; t->gen = g; t->seed = seeds[g * w + id]; t->live = live; t->barrier = &barrier;
      if (larson) {
        t->slots = slots + id * p->per_thread;
        t->sizes = sizes + id * p->per_thread;
        t->warm = warm + id * p->warm_remote;
      }
      if (pthread_create(&ids[id], NULL, larson ? larson_thread : tree_thread, t)) die("pthread_create failed", id);
    }
    double lo = 1e300, hi = -1e300;
    for (long id = 0; id < w; id++) {
      pthread_join(ids[id], NULL);
      if (th[id].start < lo) lo = th[id].start;
      if (th[id].end > hi) hi = th[id].end;
      ops += th[id].ops;
    }
    ms += hi - lo;
    pthread_barrier_destroy(&barrier);
    free(warm);
  }
  if (larson) {
    long n = w * p->per_thread;
    for (long i = 0; i < n; i++) free(slots[i]);
    free(slots); free(sizes);
  }
  free(th); free(ids); free((void *)live);
  char m[256];
  describe_malloc(m, sizeof m);
  printf("{\"ms\":%.6f,\"ops\":%.1f,\"threads\":%ld,\"malloc\":\"%s\"}\n", ms, ops, w, m);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "serve")) return serve();
  if (argc >= 3 && !strcmp(argv[1], "mt")) {
    args_t a;
    parse_args(&a, argv + 3, argc - 3);
    return run_mt(argv[2], &a);
  }
  fprintf(stderr, "usage: native-bench serve | native-bench mt <larson|tree> key=value...\n");
  return 2;
}
