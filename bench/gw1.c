/* GW1 driver: generates the workload of ../shared/WORKLOAD.md, computes its checksums in
 * memory, runs phases W1-W8 (plus W2 with 8 threads) against one system (gw1.h) and prints
 * one line per result: "system phase metric value".
 *
 *   gw1_<system> S|L [dir]      run every phase in dir (default $TMPDIR/gw1-<system>), and
 *                               LS and UR in <dir>-labels
 *   gw1_<system> --reference S|L  print the in-memory checksums as system "reference"
 *
 * The last line is "<system> ALL checksums ok" or "... INVALID"; the exit status is 1 when
 * any checksum disagrees with the in-memory computation.
 *
 * W8 also reports close_s (not in WORKLOAD.md): how long the clean close after W7 (and its
 * W4 re-run) takes, the close that W8's reopen follows.
 *
 * After W8 two more phases (not in WORKLOAD.md) run on a second database of their own, the
 * labelled graph, in directory <dir>-labels; they draw no random numbers, so W1-W8 and
 * their checksums are as before.
 *   Labelled graph: LN nodes (size S 200,000; size L 2,000,000), no edges. Node i has label
 *     "Label<i % 8>", age = i % 100 and name = "p<i>" (as a GW1 node), so each label's nodes
 *     are every 8th node, spread over the whole id range. Loaded in durable transactions of
 *     100,000 nodes (as W1); LS load_nodes_per_s is that load's rate.
 *   LS label scan: in one read transaction, visit every node of label "Label3" (LN / 8
 *     nodes) and read its age and name. Nine passes, each its own read transaction;
 *     nodes_per_s is LN / 8 over the median pass. checksum = sum of ages + total name bytes
 *     (the same in every pass); an untimed pass then checks each node's label and values.
 *   UR update rounds: rounds r = 1..5 each set the name of every node i to "p<i>-r<r>"
 *     (three bytes longer than the loaded name, then the same length in every round), in
 *     durable transactions of 10,000 updates, in index order. After the load and after each
 *     round the database is closed cleanly, its directory's allocated blocks are counted
 *     (as W1's size_bytes) and it is reopened: a clean close is where every system settles
 *     (Quiver checkpoints and retires its log, SQLite checkpoints and deletes its WAL,
 *     RocksDB flushes its memtables, LMDB has nothing to do). updates_per_s counts the
 *     updates' transactions only, not the close and reopen. size_ratio = size after round 5
 *     / size after round 1. checksum = sum of ages + total name bytes over a scan of all
 *     eight labels after round 5, which also checks every node's label and new name.
 *
 * fsync, fdatasync and msync(MS_SYNC) are defined here so that every sync the system issues
 * (from its static or shared library) is counted; the binary is linked with -rdynamic so
 * shared libraries bind to these definitions. They call the kernel directly.
 */
#define _GNU_SOURCE
#include "gw1.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

/* ---------- sync counting ---------- */

static atomic_uint_fast64_t g_syncs;

int fsync(int fd) {
  atomic_fetch_add(&g_syncs, 1);
  return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd) {
  atomic_fetch_add(&g_syncs, 1);
  return (int)syscall(SYS_fdatasync, fd);
}

int msync(void *addr, size_t len, int flags) {
  if (flags & MS_SYNC) atomic_fetch_add(&g_syncs, 1);
  return (int)syscall(SYS_msync, addr, len, flags);
}

/* ---------- helpers ---------- */

/* One line on stderr: the system's name in `tag` (a format with one %s), then the message. */
static void say(const char *tag, const char *fmt, va_list ap) {
  fprintf(stderr, tag, SYS_NAME);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void gw_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say("%s: ", fmt, ap);
  va_end(ap);
  exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) gw_die("out of memory (%zu bytes)", n);
  return p;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) gw_die("out of memory (%zu x %zu bytes)", n, size);
  return p;
}

void gw_vec_push(gw_vec *a, uint64_t x) {
  if (a->len == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 64;
    a->v = realloc(a->v, a->cap * sizeof *a->v);
    if (!a->v) gw_die("out of memory");
  }
  a->v[a->len++] = x;
}

size_t gw_name(uint64_t index, char *buf) {
  return (size_t)sprintf(buf, "p%" PRIu64, index);
}

const char *gw_label_name(unsigned k) {
  static const char *const names[GW_LABELS] = {"Label0", "Label1", "Label2", "Label3",
                                               "Label4", "Label5", "Label6", "Label7"};
  if (k >= GW_LABELS) gw_die("no label number %u", k);
  return names[k];
}

/* Round 0 is the name the load gives (gw_name); systems only ask for rounds 1..5. */
size_t gw_round_name(uint64_t index, int round, char *buf) {
  if (round == 0) return gw_name(index, buf);
  return (size_t)sprintf(buf, "p%" PRIu64 "-r%d", index, round);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void out_line(const char *phase, const char *metric, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s %s %s ", SYS_NAME, phase, metric);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  va_end(ap);
}

static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say("[%s] ", fmt, ap);
  va_end(ap);
}

/* ---------- the workload ---------- */

enum {
  BATCH = 100000,        /* W1 operations per transaction */
  W2_TXNS = 2000,
  W2_BLOCK = 100,        /* W2 and the raw loop alternate in blocks of this many */
  RAW_BYTES = 4096,
  W2X8_THREADS = 8,
  W2X8_PER_THREAD = 250,
  W3_READS = 1000000,
  W4_STARTS = 100000,
  W5_STARTS = 1000,
  W6_TXNS = 10000,
  W7_BATCH = 10000,
  LS_LABEL = 3,          /* the label the scan visits */
  LS_PASSES = 9,
  UR_ROUNDS = 5,
  UR_BATCH = 10000,      /* updates per transaction */
};

typedef struct workload {
  uint64_t n, m;
  uint64_t labelled; /* nodes of the labelled graph (LS, UR) */
  uint32_t *src, *dst; /* edge j */
  uint32_t w2_dst[W2_TXNS];
  uint32_t *w3, *w4, *w5;
  uint32_t w6_dst[W6_TXNS];
} workload;

static uint64_t g_rng;
static uint64_t rnd(void) {
  uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Node indices: loaded 0..N; W2 N+k; W6 N+2000+k; W2x8 (not in WORKLOAD.md, added here)
 * N+12000+i, whose edge goes to w2_dst[i] so that it draws no number. Edge numbers follow
 * the same order after the M loaded edges. */
#define W2_NODE(w, k) ((w)->n + (k))
#define W6_NODE(w, k) ((w)->n + W2_TXNS + (k))
#define W2X8_NODE(w, i) ((w)->n + W2_TXNS + W6_TXNS + (i))
#define W2_EDGE(w, k) ((w)->m + (k))
#define W6_EDGE(w, k) ((w)->m + W2_TXNS + (k))
#define W2X8_EDGE(w, i) ((w)->m + W2_TXNS + W6_TXNS + (i))
_Static_assert(W2X8_THREADS * W2X8_PER_THREAD <= W2_TXNS, "W2x8 reuses W2's destinations");
#define TOTAL_NODES(w) ((w)->n + W2_TXNS + W6_TXNS + W2X8_THREADS * W2X8_PER_THREAD)

static void generate(workload *w, char size) {
  if (size == 'S') {
    w->n = 100000;
    w->m = 500000;
    w->labelled = 200000;
  } else if (size == 'L') {
    w->n = 1000000;
    w->m = 5000000;
    w->labelled = 2000000;
  } else {
    gw_die("size must be S or L");
  }
  g_rng = 42;
  w->src = xmalloc(w->m * sizeof *w->src);
  w->dst = xmalloc(w->m * sizeof *w->dst);
  for (uint64_t j = 0; j < w->m; j++) {
    w->src[j] = (uint32_t)(rnd() % w->n);
    w->dst[j] = (uint32_t)(rnd() % w->n);
  }
  for (int k = 0; k < W2_TXNS; k++) w->w2_dst[k] = (uint32_t)(rnd() % w->n);
  w->w3 = xmalloc(W3_READS * sizeof *w->w3);
  for (int i = 0; i < W3_READS; i++) w->w3[i] = (uint32_t)(rnd() % w->n);
  w->w4 = xmalloc(W4_STARTS * sizeof *w->w4);
  for (int i = 0; i < W4_STARTS; i++) w->w4[i] = (uint32_t)(rnd() % w->n);
  w->w5 = xmalloc(W5_STARTS * sizeof *w->w5);
  for (int i = 0; i < W5_STARTS; i++) w->w5[i] = (uint32_t)(rnd() % w->n);
  for (int k = 0; k < W6_TXNS; k++) w->w6_dst[k] = (uint32_t)(rnd() % w->n);
}

/* ---------- the in-memory computation ---------- */

typedef struct expected {
  int64_t w3;
  uint64_t w4_sum, w4_edges, w5, w7_sum, w7_edges;
  uint64_t ls_sum, ur_sum; /* the labelled graph's scans: LS before UR, UR after round 5 */
} expected;

/* Out-adjacency of every node, in compressed form. */
typedef struct csr {
  uint64_t *off;
  uint32_t *to;
} csr;

static csr build_csr(const workload *w) {
  uint64_t nodes = TOTAL_NODES(w), edges = w->m + W2_TXNS + W6_TXNS + W2X8_THREADS * W2X8_PER_THREAD;
  uint32_t *s = xmalloc(edges * sizeof *s), *d = xmalloc(edges * sizeof *d);
  uint64_t e = 0;
  for (uint64_t j = 0; j < w->m; j++, e++) s[e] = w->src[j], d[e] = w->dst[j];
  for (int k = 0; k < W2_TXNS; k++, e++) s[e] = (uint32_t)W2_NODE(w, k), d[e] = w->w2_dst[k];
  for (int k = 0; k < W6_TXNS; k++, e++) s[e] = (uint32_t)W6_NODE(w, k), d[e] = w->w6_dst[k];
  for (int i = 0; i < W2X8_THREADS * W2X8_PER_THREAD; i++, e++)
    s[e] = (uint32_t)W2X8_NODE(w, i), d[e] = w->w2_dst[i];
  csr c = {xcalloc(nodes + 1, sizeof *c.off), xmalloc(edges * sizeof *c.to)};
  for (uint64_t i = 0; i < edges; i++) c.off[s[i] + 1]++;
  for (uint64_t i = 0; i < nodes; i++) c.off[i + 1] += c.off[i];
  uint64_t *fill = xmalloc(nodes * sizeof *fill);
  memcpy(fill, c.off, nodes * sizeof *fill);
  for (uint64_t i = 0; i < edges; i++) c.to[fill[s[i]]++] = d[i];
  free(fill);
  free(s);
  free(d);
  return c;
}

/* Distinct nodes reachable from `start` in one or two outgoing hops; `seen`/`done` are
 * stamp arrays (one slot per node index), `stamp` is new for each start. The same code
 * counts for every system (through `out_of`) and for the in-memory graph. */
typedef void (*out_fn)(void *ctx, uint64_t index, gw_vec *out);

static uint64_t two_hop(uint64_t start, out_fn out_of, void *ctx, uint32_t *seen, uint32_t *done,
                        uint32_t stamp, gw_vec *hop1, gw_vec *hop2) {
  uint64_t count = 0;
  hop1->len = 0;
  out_of(ctx, start, hop1);
  for (size_t i = 0; i < hop1->len; i++) {
    uint64_t d = hop1->v[i];
    if (seen[d] != stamp) seen[d] = stamp, count++;
  }
  for (size_t i = 0; i < hop1->len; i++) {
    uint64_t d = hop1->v[i];
    if (done[d] == stamp) continue;
    done[d] = stamp;
    hop2->len = 0;
    out_of(ctx, d, hop2);
    for (size_t k = 0; k < hop2->len; k++) {
      uint64_t x = hop2->v[k];
      if (seen[x] != stamp) seen[x] = stamp, count++;
    }
  }
  return count;
}

static void csr_out(void *ctx, uint64_t index, gw_vec *out) {
  const csr *c = ctx;
  for (uint64_t i = c->off[index]; i < c->off[index + 1]; i++) gw_vec_push(out, c->to[i]);
}

static int deleted(uint64_t index) { return index % 10 == 0; }

/* Sum of ages + name bytes over the labelled graph's nodes of label number `label` (all
 * labels when it is GW_LABELS), with the names of update round `round`. */
static uint64_t labelled_sum(const workload *w, unsigned label, int round) {
  uint64_t sum = 0;
  char name[GW_ROUND_NAME_CAP];
  for (uint64_t i = 0; i < w->labelled; i++)
    if (label == GW_LABELS || gw_label_num(i) == label)
      sum += (uint64_t)gw_age(i) + gw_round_name(i, round, name);
  return sum;
}

static expected compute_expected(const workload *w) {
  expected x = {0};
  x.ls_sum = labelled_sum(w, LS_LABEL, 0);
  x.ur_sum = labelled_sum(w, GW_LABELS, UR_ROUNDS);
  csr c = build_csr(w);
  for (int i = 0; i < W3_READS; i++) x.w3 += gw_age(w->w3[i]);
  for (int i = 0; i < W4_STARTS; i++) {
    uint32_t s = w->w4[i];
    for (uint64_t k = c.off[s]; k < c.off[s + 1]; k++) {
      x.w4_sum += c.to[k];
      x.w4_edges++;
      if (!deleted(s) && !deleted(c.to[k])) x.w7_sum += c.to[k], x.w7_edges++;
    }
  }
  uint64_t nodes = TOTAL_NODES(w);
  uint32_t *seen = xcalloc(nodes, sizeof *seen), *done = xcalloc(nodes, sizeof *done);
  gw_vec h1 = {0}, h2 = {0};
  for (int i = 0; i < W5_STARTS; i++)
    x.w5 += two_hop(w->w5[i], csr_out, &c, seen, done, (uint32_t)i + 1, &h1, &h2);
  free(seen);
  free(done);
  free(h1.v);
  free(h2.v);
  free(c.off);
  free(c.to);
  return x;
}

/* ---------- refs ---------- */

typedef struct refmap {
  uint64_t *ref;   /* index -> ref (UINT64_MAX: not created) */
  uint64_t count;  /* indices */
  uint32_t *index; /* ref -> index (UINT32_MAX: none) */
  uint64_t max_ref;
} refmap;

static void refmap_index(refmap *r) {
  uint64_t max = 0;
  for (uint64_t i = 0; i < r->count; i++)
    if (r->ref[i] != UINT64_MAX && r->ref[i] > max) max = r->ref[i];
  free(r->index);
  r->max_ref = max;
  r->index = xmalloc((max + 1) * sizeof *r->index);
  memset(r->index, 0xff, (max + 1) * sizeof *r->index);
  for (uint64_t i = 0; i < r->count; i++)
    if (r->ref[i] != UINT64_MAX) r->index[r->ref[i]] = (uint32_t)i;
}

static uint64_t index_of(const refmap *r, uint64_t ref) {
  if (ref > r->max_ref || r->index[ref] == UINT32_MAX)
    gw_die("the system returned ref %" PRIu64 ", which names no node", ref);
  return r->index[ref];
}

static void refs_path(const char *dir, char *buf, size_t cap) {
  snprintf(buf, cap, "%s.refs", dir);
}

static void save_refs(const char *dir, const refmap *r) {
  char p[4096];
  refs_path(dir, p, sizeof p);
  FILE *f = fopen(p, "wb");
  if (!f || fwrite(r->ref, sizeof *r->ref, r->count, f) != r->count || fclose(f) != 0)
    gw_die("cannot write %s: %s", p, strerror(errno));
}

static void load_refs(const char *dir, refmap *r) {
  char p[4096];
  refs_path(dir, p, sizeof p);
  FILE *f = fopen(p, "rb");
  if (!f || fread(r->ref, sizeof *r->ref, r->count, f) != r->count)
    gw_die("cannot read %s", p);
  fclose(f);
}

/* ---------- files ---------- */

static uint64_t dir_bytes(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) gw_die("cannot open %s: %s", dir, strerror(errno));
  uint64_t total = 0;
  struct dirent *e;
  char p[4096];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      total += dir_bytes(p);
    else
      total += (uint64_t)st.st_blocks * 512; /* allocated, as du counts */
  }
  closedir(d);
  return total;
}

static void fresh_dir(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.refs'", dir, dir);
  if (system(cmd) != 0) gw_die("cannot remove %s", dir);
  if (mkdir(dir, 0755) != 0) gw_die("cannot create %s: %s", dir, strerror(errno));
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

/* Runs this program again as `argv0 mode dir arg` with stdout inherited; returns the pid. */
static pid_t spawn(const char *argv0, const char *mode, const char *dir, const char *arg) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) gw_die("fork: %s", strerror(errno));
  if (pid == 0) {
    execl("/proc/self/exe", argv0, mode, dir, arg, (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* ---------- W2 with 8 threads ---------- */

typedef struct w2x8_arg {
  sys *db;
  const workload *w;
  const refmap *r;
  int thread;
  uint64_t *created; /* refs, by position i = thread * PER_THREAD + k */
} w2x8_arg;

static void *w2x8_thread(void *p) {
  w2x8_arg *a = p;
  sys *t = sys_attach(a->db);
  for (int k = 0; k < W2X8_PER_THREAD; k++) {
    int i = a->thread * W2X8_PER_THREAD + k;
    a->created[i] = sys_small_txn(t, W2X8_NODE(a->w, i), a->r->ref[a->w->w2_dst[i]], W2X8_EDGE(a->w, i));
  }
  sys_detach(t);
  return NULL;
}

/* ---------- children ---------- */

/* W6's writer: 10,000 small durable transactions; reports each new ref on fd `pipe_fd` once
 * its commit returned, then waits to be killed. */
static int w6_child(const char *dir, const char *arg) {
  char size;
  int fd;
  if (sscanf(arg, "%c:%d", &size, &fd) != 2) gw_die("bad --w6-child argument");
  workload w;
  generate(&w, size);
  refmap r = {.count = TOTAL_NODES(&w)};
  r.ref = xmalloc(r.count * sizeof *r.ref);
  load_refs(dir, &r);
  sys *s = sys_open(dir, 0);
  for (int k = 0; k < W6_TXNS; k++) {
    uint64_t ref = sys_small_txn(s, W6_NODE(&w, k), r.ref[w.w6_dst[k]], W6_EDGE(&w, k));
    if (write(fd, &ref, sizeof ref) != (ssize_t)sizeof ref) gw_die("pipe: %s", strerror(errno));
  }
  for (;;) pause();
}

/* W8: open + first read of node 1, timed in a fresh process. */
static int w8_child(const char *dir, const char *arg) {
  uint64_t ref = strtoull(arg, NULL, 10);
  double t0 = now_s();
  sys *s = sys_open(dir, 0);
  sys_read_begin(s);
  int64_t age = sys_read_age(s, ref);
  sys_read_end(s);
  double t1 = now_s();
  long rss = rss_kib();
  if (age != gw_age(1)) gw_die("W8: node 1 has age %" PRId64 ", expected %" PRId64, age, gw_age(1));
  out_line("W8", "open_read_ms", "%.3f", (t1 - t0) * 1e3);
  out_line("W8", "rss_kib", "%ld", rss);
  sys_close(s);
  return 0;
}

/* ---------- the run ---------- */

typedef struct out_ctx {
  sys *s;
  const refmap *r;
} out_ctx;

/* Out-neighbours as workload indices. */
static void sys_out_index(void *ctx, uint64_t index, gw_vec *out) {
  out_ctx *c = ctx;
  size_t from = out->len;
  sys_out(c->s, c->r->ref[index], out);
  for (size_t i = from; i < out->len; i++) out->v[i] = index_of(c->r, out->v[i]);
}

static int check(const char *phase, uint64_t got, uint64_t want) {
  out_line(phase, "checksum", "%" PRIu64, got);
  if (got != want) {
    note("%s checksum %" PRIu64 " differs from the in-memory %" PRIu64, phase, got, want);
    return 0;
  }
  return 1;
}

static void w4_pass(sys *s, const workload *w, const refmap *r, int skip_deleted, uint64_t *sum,
                    uint64_t *edges, double *secs) {
  gw_vec v = {0};
  *sum = *edges = 0;
  double t0 = now_s();
  sys_read_begin(s);
  for (int i = 0; i < W4_STARTS; i++) {
    uint32_t st = w->w4[i];
    if (skip_deleted && deleted(st)) continue;
    v.len = 0;
    sys_out(s, r->ref[st], &v);
    for (size_t k = 0; k < v.len; k++) *sum += index_of(r, v.v[k]);
    *edges += v.len;
  }
  sys_read_end(s);
  *secs = now_s() - t0;
  free(v.v);
}

/* ---------- LS and UR: the labelled graph ---------- */

typedef void (*load_fn)(sys *s, uint64_t from, uint64_t to, uint64_t *refs);

/* Loads nodes [0, n) with `load` in durable transactions of BATCH nodes. */
static void load_batched(sys *s, load_fn load, uint64_t n, uint64_t *refs) {
  for (uint64_t i = 0; i < n; i += BATCH) load(s, i, i + BATCH < n ? i + BATCH : n, refs);
}

/* What a label scan saw. With `r` set, each node is also checked against its index: label
 * `label`, age, and the name of update round `round`; `wrong` counts the misses. */
typedef struct scan_acc {
  uint64_t nodes, sum, wrong; /* sum: ages + name bytes */
  const refmap *r;
  unsigned label;
  int round;
} scan_acc;

static void scan_sum(void *ctx, uint64_t ref, int64_t age, const char *name, size_t len) {
  scan_acc *a = ctx;
  (void)ref;
  (void)name;
  a->nodes++;
  a->sum += (uint64_t)age + len;
}

static void scan_check(void *ctx, uint64_t ref, int64_t age, const char *name, size_t len) {
  scan_acc *a = ctx;
  scan_sum(ctx, ref, age, name, len);
  uint64_t i = index_of(a->r, ref);
  char want[GW_ROUND_NAME_CAP];
  size_t want_len = gw_round_name(i, a->round, want);
  if (gw_label_num(i) != a->label || age != gw_age(i) || len != want_len ||
      memcmp(name, want, len) != 0)
    a->wrong++;
}

/* One scan of label number `label` in its own read transaction; returns its seconds. */
static double scan_once(sys *s, unsigned label, gw_node_fn fn, scan_acc *a) {
  double t0 = now_s();
  sys_read_begin(s);
  sys_scan_label(s, label, fn, a);
  sys_read_end(s);
  return now_s() - t0;
}

/* Scans every label with scan_check for `round`'s names; returns the nodes that were wrong,
 * missing or extra (0 when the graph is exactly as expected) and stores the checksum. */
static uint64_t check_all_labels(sys *s, const workload *w, const refmap *r, int round,
                                 uint64_t *sum) {
  scan_acc a = {.r = r, .round = round};
  for (a.label = 0; a.label < GW_LABELS; a.label++) scan_once(s, a.label, scan_check, &a);
  *sum = a.sum;
  return a.wrong + (a.nodes > w->labelled ? a.nodes - w->labelled : w->labelled - a.nodes);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int label_scan(sys *s, const workload *w, const refmap *r, const expected *x) {
  double secs[LS_PASSES];
  scan_acc a = {0};
  int ok = 1;
  for (int p = 0; p < LS_PASSES; p++) {
    scan_acc pass = {0};
    secs[p] = scan_once(s, LS_LABEL, scan_sum, &pass);
    if (p > 0 && (pass.sum != a.sum || pass.nodes != a.nodes))
      ok = 0, note("LS pass %d saw another graph than pass 1", p + 1);
    a = pass;
  }
  qsort(secs, LS_PASSES, sizeof *secs, cmp_double);
  out_line("LS", "nodes_per_s", "%.0f", (double)a.nodes / secs[LS_PASSES / 2]);
  ok &= check("LS", a.sum, x->ls_sum);
  scan_acc c = {.r = r, .label = LS_LABEL, .round = 0};
  scan_once(s, LS_LABEL, scan_check, &c);
  uint64_t want = (w->labelled + GW_LABELS - 1 - LS_LABEL) / GW_LABELS;
  if (c.wrong || c.nodes != want)
    ok = 0, note("LS: %" PRIu64 " nodes, %" PRIu64 " wrong; expected %" PRIu64, c.nodes, c.wrong, want);
  return ok;
}

/* The directory's allocated bytes after a clean close (as W1's size_bytes), which is where
 * every system settles: its log or WAL checkpointed away, its memtables flushed. Reopens
 * the database into *s. */
static uint64_t settled_bytes(sys **s, const char *dir) {
  sys_close(*s);
  uint64_t bytes = dir_bytes(dir);
  *s = sys_open(dir, 0);
  return bytes;
}

static int update_rounds(sys **s, const workload *w, const refmap *r, const expected *x,
                         const char *dir) {
  uint64_t n = w->labelled, size[UR_ROUNDS + 1];
  size[0] = settled_bytes(s, dir);
  double secs = 0;
  for (int round = 1; round <= UR_ROUNDS; round++) {
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i += UR_BATCH)
      sys_rename(*s, i, i + UR_BATCH < n ? i + UR_BATCH : n, r->ref, round);
    secs += now_s() - t0;
    size[round] = settled_bytes(s, dir);
    note("UR round %d: %" PRIu64 " bytes", round, size[round]);
  }
  out_line("UR", "updates_per_s", "%.0f", (double)(n * UR_ROUNDS) / secs);
  out_line("UR", "size_load_bytes", "%" PRIu64, size[0]);
  out_line("UR", "size_round1_bytes", "%" PRIu64, size[1]);
  out_line("UR", "size_round5_bytes", "%" PRIu64, size[UR_ROUNDS]);
  out_line("UR", "size_ratio", "%.3f", (double)size[UR_ROUNDS] / (double)size[1]);
  uint64_t sum, bad = check_all_labels(*s, w, r, UR_ROUNDS, &sum);
  int ok = check("UR", sum, x->ur_sum);
  if (bad) ok = 0, note("UR: %" PRIu64 " nodes wrong, missing or extra after round %d", bad, UR_ROUNDS);
  return ok;
}

/* Builds the labelled graph in `dir`, then runs LS and UR on it. */
static int labelled_phases(const workload *w, const expected *x, const char *dir) {
  fresh_dir(dir);
  refmap r = {.count = w->labelled};
  r.ref = xmalloc(r.count * sizeof *r.ref);
  memset(r.ref, 0xff, r.count * sizeof *r.ref);
  sys *s = sys_open(dir, 1);
  double t0 = now_s();
  load_batched(s, sys_load_labelled, w->labelled, r.ref);
  double t1 = now_s();
  sys_close(s);
  out_line("LS", "load_nodes_per_s", "%.0f", (double)w->labelled / (t1 - t0));
  refmap_index(&r);
  s = sys_open(dir, 0);
  int ok = label_scan(s, w, &r, x);
  ok &= update_rounds(&s, w, &r, x, dir);
  sys_close(s);
  free(r.ref);
  free(r.index);
  return ok;
}

static int run(const char *argv0, char size, const char *dir) {
  workload w;
  generate(&w, size);
  expected x = compute_expected(&w);
  note("size %c: %" PRIu64 " nodes, %" PRIu64 " edges, directory %s", size, w.n, w.m, dir);
  int ok = 1;
  fresh_dir(dir);
  refmap r = {.count = TOTAL_NODES(&w)};
  r.ref = xmalloc(r.count * sizeof *r.ref);
  memset(r.ref, 0xff, r.count * sizeof *r.ref);

  /* W1 */
  sys *s = sys_open(dir, 1);
  double t0 = now_s();
  load_batched(s, sys_load_nodes, w.n, r.ref);
  double t1 = now_s();
  gw_edge *batch = xmalloc(BATCH * sizeof *batch);
  for (uint64_t j = 0; j < w.m; j += BATCH) {
    size_t n = (size_t)(j + BATCH < w.m ? BATCH : w.m - j);
    for (size_t k = 0; k < n; k++) batch[k] = (gw_edge){r.ref[w.src[j + k]], r.ref[w.dst[j + k]]};
    sys_load_edges(s, batch, n, j);
  }
  double t2 = now_s();
  free(batch);
  sys_close(s);
  double t3 = now_s();
  out_line("W1", "nodes_per_s", "%.0f", (double)w.n / (t1 - t0));
  out_line("W1", "edges_per_s", "%.0f", (double)w.m / (t2 - t1));
  out_line("W1", "total_s", "%.3f", t3 - t0);
  out_line("W1", "size_bytes", "%" PRIu64, dir_bytes(dir));
  s = sys_open(dir, 0);

  /* W2, interleaved with the raw append + fdatasync loop in blocks of W2_BLOCK */
  char raw_path[4200];
  snprintf(raw_path, sizeof raw_path, "%s/gw1-raw-fsync", dir);
  int raw = open(raw_path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
  if (raw < 0) gw_die("cannot create %s: %s", raw_path, strerror(errno));
  char page[RAW_BYTES];
  memset(page, 'r', sizeof page);
  double w2_s = 0, raw_s = 0;
  for (int b = 0; b < W2_TXNS; b += W2_BLOCK) {
    double a = now_s();
    for (int k = b; k < b + W2_BLOCK; k++)
      r.ref[W2_NODE(&w, k)] = sys_small_txn(s, W2_NODE(&w, k), r.ref[w.w2_dst[k]], W2_EDGE(&w, k));
    double m = now_s();
    for (int k = 0; k < W2_BLOCK; k++)
      if (write(raw, page, sizeof page) != (ssize_t)sizeof page || fdatasync(raw) != 0)
        gw_die("raw fsync loop: %s", strerror(errno));
    double e = now_s();
    w2_s += m - a;
    raw_s += e - m;
  }
  close(raw);
  unlink(raw_path);
  double raw_rate = W2_TXNS / raw_s;
  out_line("W2", "commits_per_s", "%.0f", W2_TXNS / w2_s);
  out_line("W2", "raw_fsync_per_s", "%.0f", raw_rate);
  out_line("W2", "fraction_of_raw", "%.3f", (W2_TXNS / w2_s) / raw_rate);

  /* W2 with 8 threads */
  {
    pthread_t th[W2X8_THREADS];
    w2x8_arg args[W2X8_THREADS];
    uint64_t created[W2X8_THREADS * W2X8_PER_THREAD];
    uint64_t syncs0 = atomic_load(&g_syncs);
    double a = now_s();
    for (int t = 0; t < W2X8_THREADS; t++) {
      args[t] = (w2x8_arg){s, &w, &r, t, created};
      if (pthread_create(&th[t], NULL, w2x8_thread, &args[t]) != 0) gw_die("pthread_create");
    }
    for (int t = 0; t < W2X8_THREADS; t++) pthread_join(th[t], NULL);
    double e = now_s();
    uint64_t syncs = atomic_load(&g_syncs) - syncs0;
    for (int i = 0; i < W2X8_THREADS * W2X8_PER_THREAD; i++) r.ref[W2X8_NODE(&w, i)] = created[i];
    double rate = W2X8_THREADS * W2X8_PER_THREAD / (e - a);
    out_line("W2x8", "commits_per_s", "%.0f", rate);
    out_line("W2x8", "fsyncs", "%" PRIu64, syncs);
    out_line("W2x8", "times_raw", "%.2f", rate / raw_rate);
  }
  refmap_index(&r);

  /* W3 */
  {
    int64_t sum = 0;
    double a = now_s();
    sys_read_begin(s);
    for (int i = 0; i < W3_READS; i++) sum += sys_read_age(s, r.ref[w.w3[i]]);
    sys_read_end(s);
    double e = now_s();
    out_line("W3", "reads_per_s", "%.0f", W3_READS / (e - a));
    ok &= check("W3", (uint64_t)sum, (uint64_t)x.w3);
  }

  /* W4 */
  {
    uint64_t sum, edges;
    double secs;
    w4_pass(s, &w, &r, 0, &sum, &edges, &secs);
    out_line("W4", "edges_per_s", "%.0f", (double)edges / secs);
    ok &= check("W4", sum, x.w4_sum);
    if (edges != x.w4_edges) ok = 0, note("W4 visited %" PRIu64 " edges, expected %" PRIu64, edges, x.w4_edges);
  }

  /* W5 */
  {
    uint64_t nodes = TOTAL_NODES(&w), count = 0;
    uint32_t *seen = xcalloc(nodes, sizeof *seen), *done = xcalloc(nodes, sizeof *done);
    gw_vec h1 = {0}, h2 = {0};
    out_ctx c = {s, &r};
    double a = now_s();
    sys_read_begin(s);
    for (int i = 0; i < W5_STARTS; i++)
      count += two_hop(w.w5[i], sys_out_index, &c, seen, done, (uint32_t)i + 1, &h1, &h2);
    sys_read_end(s);
    double e = now_s();
    out_line("W5", "starts_per_s", "%.0f", W5_STARTS / (e - a));
    ok &= check("W5", count, x.w5);
    free(seen);
    free(done);
    free(h1.v);
    free(h2.v);
  }

  /* W6: a child commits, is killed, and this process times the recovering open */
  {
    save_refs(dir, &r);
    sys_close(s);
    int fds[2];
    if (pipe(fds) != 0) gw_die("pipe: %s", strerror(errno));
    char arg[64];
    snprintf(arg, sizeof arg, "%c:%d", size, fds[1]);
    pid_t pid = spawn(argv0, "--w6-child", dir, arg);
    close(fds[1]);
    for (int k = 0; k < W6_TXNS; k++) {
      uint64_t ref;
      size_t got = 0;
      while (got < sizeof ref) {
        ssize_t n = read(fds[0], (char *)&ref + got, sizeof ref - got);
        if (n <= 0) gw_die("W6: the writer stopped after %d commits", k);
        got += (size_t)n;
      }
      r.ref[W6_NODE(&w, k)] = ref;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    refmap_index(&r);
    double a = now_s();
    s = sys_open(dir, 0);
    sys_read_begin(s);
    int64_t age = sys_read_age(s, r.ref[1]);
    sys_read_end(s);
    double e = now_s();
    if (age != gw_age(1)) gw_die("W6: node 1 has age %" PRId64, age);
    int verified = 0;
    sys_read_begin(s);
    for (int k = 0; k < W6_TXNS; k++) verified += sys_has_node(s, r.ref[W6_NODE(&w, k)], W6_NODE(&w, k));
    sys_read_end(s);
    out_line("W6", "open_s", "%.4f", e - a);
    out_line("W6", "verified", "%d", verified);
    if (verified != W6_TXNS) ok = 0, note("W6: only %d of %d committed nodes are present", verified, W6_TXNS);
  }

  /* W7 */
  {
    uint64_t *victims = xmalloc(r.count / 10 * sizeof *victims + sizeof *victims);
    size_t nv = 0;
    for (uint64_t i = 0; i < r.count; i += 10) victims[nv++] = r.ref[i];
    double a = now_s();
    for (size_t i = 0; i < nv; i += W7_BATCH)
      sys_delete_nodes(s, victims + i, nv - i < W7_BATCH ? nv - i : W7_BATCH);
    double e = now_s();
    free(victims);
    out_line("W7", "deletes_per_s", "%.0f", (double)nv / (e - a));
    uint64_t sum, edges;
    double secs;
    w4_pass(s, &w, &r, 1, &sum, &edges, &secs);
    ok &= check("W7", sum, x.w7_sum);
    if (edges != x.w7_edges) ok = 0, note("W7 re-run visited %" PRIu64 " edges, expected %" PRIu64, edges, x.w7_edges);
  }

  /* W8: the clean close after W7 (timed here; not in WORKLOAD.md), then the reopen */
  {
    double a = now_s();
    sys_close(s);
    out_line("W8", "close_s", "%.4f", now_s() - a);
    char arg[32];
    snprintf(arg, sizeof arg, "%" PRIu64, r.ref[1]);
    pid_t pid = spawn(argv0, "--w8-child", dir, arg);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) gw_die("W8: the reopening process failed");
  }

  /* LS and UR, on the labelled graph */
  char labelled_dir[4200];
  snprintf(labelled_dir, sizeof labelled_dir, "%s-labels", dir);
  ok &= labelled_phases(&w, &x, labelled_dir);

  out_line("ALL", "checksums", "%s", ok ? "ok" : "INVALID");
  char cmd[8500];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.refs' '%s'", dir, dir, labelled_dir);
  if (!getenv("GW1_KEEP") && system(cmd) != 0) note("could not remove %s", dir);
  return ok ? 0 : 1;
}

static int reference(char size) {
  workload w;
  generate(&w, size);
  expected x = compute_expected(&w);
  printf("reference W3 checksum %" PRId64 "\n", x.w3);
  printf("reference W4 checksum %" PRIu64 "\n", x.w4_sum);
  printf("reference W5 checksum %" PRIu64 "\n", x.w5);
  printf("reference W7 checksum %" PRIu64 "\n", x.w7_sum);
  printf("reference LS checksum %" PRIu64 "\n", x.ls_sum);
  printf("reference UR checksum %" PRIu64 "\n", x.ur_sum);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--w6-child") == 0) return w6_child(argv[2], argv[3]);
  if (argc == 4 && strcmp(argv[1], "--w8-child") == 0) return w8_child(argv[2], argv[3]);
  if (argc == 3 && strcmp(argv[1], "--reference") == 0) return reference(argv[2][0]);
  if (argc < 2 || argc > 3 || (strcmp(argv[1], "S") != 0 && strcmp(argv[1], "L") != 0)) {
    fprintf(stderr, "usage: %s S|L [dir]\n       %s --reference S|L\n", argv[0], argv[0]);
    return 2;
  }
  char dir[4096];
  if (argc == 3) {
    snprintf(dir, sizeof dir, "%s", argv[2]);
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/gw1-%s", tmp && *tmp ? tmp : "/tmp", SYS_NAME);
  }
  return run(argv[0], argv[1][0], dir);
}
