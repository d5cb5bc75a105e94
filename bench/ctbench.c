/*
 * ctbench: the benchmark of libctrack.
 *
 * For each workload (established, new, udp, mixed), address family, table
 * size, thread count and concurrency mode it builds the traffic in memory
 * (traffic.c), fills the table(s), runs one warm-up pass and then --runs
 * timed passes over the packet ring, and prints one line per measurement.
 * See docs/performance.md for how to run it and how to read the output.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/arch.h"
#include "ctbench.h"

#define MAX_RUNS 100
#define MAX_LIST 16
#define MAX_THREADS 256
#define NS_PER_S 1000000000ull
#define EST_DT_NS 1000ull          /* established/udp traffic: 1 us per burst */
#define START_NS (1ull * NS_PER_S) /* the clock starts at 1 s */
#define CHURN_TIMEOUT_S 60u        /* TCP timeouts of the new and mixed workloads */
/* Shared clock (ctbench.h): how far a worker's clock may run ahead of
 * another's: this many of its bursts, at most 1/8 of the churn timeout, and
 * at least two bursts. */
#define CLOCK_LAG_BURSTS 256u
#define CLOCK_LAG_MAX_NS (CHURN_TIMEOUT_S * NS_PER_S / 8)

enum { MODE_PERCORE = 0, MODE_SHARED = 1, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {"percore", "shared"};

struct opts {
    unsigned workloads;          /* bit per enum tr_workload */
    unsigned families[2];
    unsigned nfamilies;
    uint32_t conns[MAX_LIST];
    unsigned nconns;
    unsigned threads[MAX_LIST];
    unsigned nthreads;
    unsigned modes;              /* bit per MODE_* */
    unsigned runs;
    unsigned burst;
    unsigned payload;
    uint32_t ring_len;
    uint64_t seed;
    int quick;
    int single_run;
    int json;
    int checksum;
    int csum_offload; /* --csum-offload: frames marked CT_FRAME_F_L4_CSUM_GOOD */
    int acct;                    /* per-connection counters (else CT_TABLE_F_NO_ACCT) */
    int pin;
    int fork;
    int verify;
};

/* ---- output: one line per record, key=value or JSON ------------------------------------ */

struct line {
    char buf[4096];
    size_t len;
    int json;
    int n;
};

static void l_raw(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void l_raw(struct line *l, const char *fmt, ...)
{
    va_list ap;
    if (l->len >= sizeof(l->buf))
        return;
    va_start(ap, fmt);
    int k = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        l->len += (size_t)k;
    if (l->len > sizeof(l->buf))
        l->len = sizeof(l->buf);
}

static void l_key(struct line *l, const char *k)
{
    if (l->json)
        l_raw(l, "%s\"%s\":", l->n ? "," : "", k);
    else
        l_raw(l, "%s%s=", l->n ? " " : "", k);
    l->n++;
}

static void l_str(struct line *l, const char *k, const char *v)
{
    l_key(l, k);
    l_raw(l, l->json ? "\"%s\"" : "%s", v);
}

static void l_u64(struct line *l, const char *k, uint64_t v)
{
    l_key(l, k);
    l_raw(l, "%llu", (unsigned long long)v);
}

/* A number; NaN or a negative value prints as na (JSON null). */
static void l_num(struct line *l, const char *k, double v, int prec)
{
    l_key(l, k);
    if (isnan(v) || v < 0)
        l_raw(l, "%s", l->json ? "null" : "na");
    else
        l_raw(l, "%.*f", prec, v);
}

static void l_begin(struct line *l, int json, const char *kind)
{
    l->len = 0;
    l->n = 0;
    l->json = json;
    if (json)
        l_raw(l, "{");
    l_str(l, "kind", kind);
}

static void l_end(struct line *l)
{
    if (l->json)
        l_raw(l, "}");
    fwrite(l->buf, 1, l->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* ---- one measurement: a job and its workers ------------------------------------------- */

struct job;

struct worker {
    struct job *job;
    unsigned id;
    pthread_t th;
    struct tr_params p;
    struct tr_ring ring;
    struct ct_table *table;     /* own table (per-core) or the shared one */
    uint32_t old_fill;          /* connections of the old space to open first */
    struct ctb_clock clock;
    uint64_t dt;                /* clock step per burst in the timed passes */
    uint64_t next_expire;       /* when ct_expire() wants to be called next */
    uint64_t run_ns[MAX_RUNS + 1];
    uint64_t run_cpu_ns[MAX_RUNS + 1]; /* CPU time of the thread in the loop */
    uint64_t run_instr[MAX_RUNS + 1];
    uint64_t run_cycles[MAX_RUNS + 1];
    uint64_t fill_bad;          /* fill packets that were INVALID or got no connection */
    uint64_t fill_ns;
    uint64_t verify_bad;        /* --verify: verdicts that differ from the frame's kind */
    int err;
    const char *err_what;
};

struct job {
    const struct opts *o;
    unsigned workload, family, threads, mode;
    uint32_t conns;             /* in total, over all threads */
    uint32_t share;             /* connections per thread */
    unsigned nruns;             /* passes including the warm-up */
    unsigned warmup;            /* 1 if pass 0 is a warm-up */
    pthread_barrier_t bar;
    struct ct_table *shared;
    uint64_t clock;             /* atomic: shared mode: the table's clock (struct ctb_clock) */
    struct ctb_lane *lanes;     /* shared mode: one per worker */
    unsigned gate;              /* atomic: shared mode: start gates passed */
    atomic_int failed;
    struct worker *w;
};

/* The measured loop (see ctbench.h); never inlined, so that callgrind can find it. */
__attribute__((noinline))
void ctbench_process_ring(struct ct_table *table, const struct tr_ring *ring,
                          struct ct_pkt *pkts, struct ct_verdict *verdicts,
                          struct ctb_clock *clock, uint64_t dt, uint64_t *next_expire)
{
    for (uint32_t b = 0; b < ring->nbursts; b++) {
        uint32_t s = ring->bstart[b];
        uint64_t now = ctb_clock_next(clock, dt);
        ct_process_burst(table, &ring->frames[s], pkts, verdicts, ring->bstart[b + 1] - s, now,
                         CT_PROCESS_COMMIT);
        if (now >= *next_expire)
            *next_expire = ct_expire(table, now, 0);
    }
}

/* ---- the shared clock (ctbench.h) ---- */

static void clock_pause(unsigned spins)
{
    if (spins < 64)
        ct_cpu_relax();
    else
        sched_yield();
}

void ctb_clock_start(struct ctb_clock *c)
{
    if (!c->shared)
        return;
    /* Every worker starts the phase from the table's time. */
    uint64_t cur = __atomic_load_n(c->shared, __ATOMIC_RELAXED);
    if (c->now < cur)
        c->now = cur;
    __atomic_store_n(&c->lanes[c->self].at, c->now, __ATOMIC_RELAXED);
    c->bound = 0;
    c->gates++;
    __atomic_fetch_add(c->gate, 1, __ATOMIC_RELAXED);
    for (unsigned spins = 0; __atomic_load_n(c->gate, __ATOMIC_RELAXED) < c->gates * c->nlanes;
         spins++)
        clock_pause(spins);
}

void ctb_clock_leave(struct ctb_clock *c)
{
    if (c->shared)
        __atomic_store_n(&c->lanes[c->self].at, UINT64_MAX, __ATOMIC_RELAXED);
}

void ctb_clock_wait(struct ctb_clock *c, uint64_t own, uint64_t dt)
{
    uint64_t lag = (uint64_t)CLOCK_LAG_BURSTS * dt;
    if (lag > CLOCK_LAG_MAX_NS)
        lag = CLOCK_LAG_MAX_NS;
    if (lag < 2 * dt)
        lag = 2 * dt;
    for (unsigned spins = 0;; spins++) {
        uint64_t min = UINT64_MAX;
        for (unsigned i = 0; i < c->nlanes; i++) {
            uint64_t at = __atomic_load_n(&c->lanes[i].at, __ATOMIC_RELAXED);
            if (i != c->self && at < min)
                min = at;
        }
        if (min == UINT64_MAX) {
            /* Nobody else is calling now; look again a lag later. */
            c->bound = own + lag;
            return;
        }
        /* The worker furthest behind (own <= min + dt < min + lag) never
         * waits, so some worker always moves on and every wait ends. */
        if (own < min + lag) {
            c->bound = min + lag;
            return;
        }
        clock_pause(spins);
    }
}

/*
 * --verify: the same pass, burst by burst, comparing every verdict with what
 * its frame was generated to be. Prints the first mismatches to stderr and
 * returns how many there were. Not timed.
 */
static uint64_t verify_ring(struct worker *w, struct ct_pkt *pkts, struct ct_verdict *v)
{
    const struct tr_ring *ring = &w->ring;
    uint64_t bad = 0;

    for (uint32_t b = 0; b < ring->nbursts; b++) {
        uint32_t s = ring->bstart[b], n = ring->bstart[b + 1] - s;
        uint64_t now = ctb_clock_next(&w->clock, w->dt);
        ct_process_burst(w->table, &ring->frames[s], pkts, v, n, now, CT_PROCESS_COMMIT);
        for (uint32_t i = 0; i < n; i++) {
            unsigned x = ring->expect[s + i];
            int invalid = v[i].state == CT_STATE_INVALID;
            if (invalid == (x != TR_X_OK))
                continue;
            if (bad++ < 3)
                fprintf(stderr,
                        "ctbench: verify: thread %u pass %u frame %u (%s): state %s reason %s "
                        "l4state %u\n",
                        w->id, ring->pass, s + i, tr_expect_name(x), ct_state_name(v[i].state),
                        ct_reason_name(v[i].reason), v[i].l4state);
        }
        if (now >= w->next_expire)
            w->next_expire = ct_expire(w->table, now, 0);
    }
    return bad;
}

static void fail(struct worker *w, int err, const char *what)
{
    if (!w->err) {
        w->err = err;
        w->err_what = what;
    }
    atomic_store(&w->job->failed, 1);
}

static void table_config(const struct job *j, struct ct_table_config *cfg, uint32_t max)
{
    ct_table_config_init(cfg);
    cfg->max_connections = max;
    if (!j->o->checksum)
        cfg->flags |= CT_TABLE_F_NO_CHECKSUM;
    if (j->mode == MODE_SHARED)
        cfg->flags |= CT_TABLE_F_SHARED;
    if (!j->o->acct)
        cfg->flags |= CT_TABLE_F_NO_ACCT;
    if (j->workload == TR_W_NEW || j->workload == TR_W_MIXED) {
        /* Churn: connections live CHURN_TIMEOUT_S after their last packet. */
        for (unsigned t = CT_TIMEOUT_TCP_SYN_SENT; t <= CT_TIMEOUT_TCP_UNACK; t++)
            if (cfg->timeouts[t] > CHURN_TIMEOUT_S)
                cfg->timeouts[t] = CHURN_TIMEOUT_S;
    }
}

/* Opens `count` connections of a space, one burst at a time, dt apart. */
static void fill_space(struct worker *w, unsigned space, uint8_t proto, uint32_t count,
                       uint64_t dt, struct ct_pkt *pkts, struct ct_verdict *v)
{
    struct tr_fill f;
    unsigned n;

    if (count == 0)
        return;
    if (tr_fill_init(&f, &w->p, space, proto, count)) {
        fail(w, -ENOMEM, "fill buffer");
        return;
    }
    while ((n = tr_fill_next(&f)) != 0) {
        uint64_t now = ctb_clock_next(&w->clock, dt);
        int rc = ct_process_burst(w->table, f.frames, pkts, v, n, now, CT_PROCESS_COMMIT);
        if (rc < 0) {
            fail(w, rc, "ct_process_burst");
            break;
        }
        for (unsigned i = 0; i < n; i++)
            if (v[i].state == CT_STATE_INVALID || v[i].conn == NULL)
                w->fill_bad++;
        if (now >= w->next_expire)
            w->next_expire = ct_expire(w->table, now, 0);
    }
    tr_fill_free(&f);
}

/*
 * A worker stops calling the table to wait at a barrier. In shared mode it
 * goes offline first, as the library asks of a thread that stops using a
 * shared table (ct_table_thread_offline()), so that entries the others
 * retire meanwhile can be reused; its next call registers it again.
 */
static void leave_table(struct worker *w)
{
    ctb_clock_leave(&w->clock);
    if (w->table && w->job->mode == MODE_SHARED)
        (void)ct_table_thread_offline(w->table);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct job *j = w->job;
    const struct opts *o = j->o;
    struct ct_pkt pkts[CT_BURST_MAX];
    struct ct_verdict v[CT_BURST_MAX];
    struct sys_counters ctr = {-1, -1};
    int rc;

    if (o->pin)
        (void)sys_pin(w->id % sys_cpus());

    /* 1: traffic. */
    rc = tr_ring_build(&w->ring, &w->p);
    if (rc)
        fail(w, rc, "ring");
    pthread_barrier_wait(&j->bar); /* main: RSS before the table */
    pthread_barrier_wait(&j->bar);

    /* 2: the table. */
    if (!atomic_load(&j->failed)) {
        struct ct_table_config cfg;
        int err = 0;
        if (j->mode == MODE_PERCORE) {
            table_config(j, &cfg, j->share);
            w->table = ct_table_create(&cfg, &err);
            if (!w->table)
                fail(w, err ? err : -ENOMEM, "ct_table_create");
        } else if (w->id == 0) {
            table_config(j, &cfg, j->conns);
            j->shared = ct_table_create(&cfg, &err);
            if (!j->shared)
                fail(w, err ? err : -ENOMEM, "ct_table_create(shared)");
        }
    }
    pthread_barrier_wait(&j->bar);
    if (j->mode == MODE_SHARED)
        w->table = j->shared;

    /* 3: fill. */
    w->clock.now = START_NS;
    if (j->mode == MODE_SHARED) {
        w->clock.shared = &j->clock;
        w->clock.lanes = j->lanes;
        w->clock.nlanes = j->threads;
        w->clock.self = w->id;
        w->clock.gate = &j->gate;
    }
    if (!atomic_load(&j->failed)) {
        ctb_clock_start(&w->clock);
        uint64_t t0 = sys_now_ns();
        unsigned b = w->p.burst;
        if (w->old_fill) {
            /* Spread the old connections over one timeout so they expire steadily. */
            uint64_t bursts = 3 * (((uint64_t)w->old_fill + b - 1) / b);
            uint64_t dt = (uint64_t)CHURN_TIMEOUT_S * NS_PER_S / (bursts ? bursts : 1);
            fill_space(w, TR_SPACE_OLD, IPPROTO_TCP, w->old_fill, dt, pkts, v);
        }
        fill_space(w, TR_SPACE_EST, j->workload == TR_W_UDP ? IPPROTO_UDP : IPPROTO_TCP,
                   w->p.est_conns, EST_DT_NS, pkts, v);
        w->fill_ns = sys_now_ns() - t0;
        leave_table(w);
    }
    pthread_barrier_wait(&j->bar); /* main: RSS and counters after the fill */
    pthread_barrier_wait(&j->bar);

    /* 4: the passes. */
    int have_ctr = sys_counters_open(&ctr) == 0;
    for (unsigned r = 0; r < j->nruns; r++) {
        pthread_barrier_wait(&j->bar);
        if (atomic_load(&j->failed))
            continue;
        ctb_clock_start(&w->clock);
        if (have_ctr)
            sys_counters_start(&ctr);
        if (o->verify) {
            w->verify_bad += verify_ring(w, pkts, v);
            leave_table(w);
            if (r + 1 < j->nruns)
                tr_ring_next_pass(&w->ring);
            continue;
        }
        uint64_t c0 = sys_thread_cpu_ns();
        uint64_t t0 = sys_now_ns();
        ctbench_process_ring(w->table, &w->ring, pkts, v, &w->clock, w->dt, &w->next_expire);
        uint64_t t1 = sys_now_ns();
        leave_table(w);
        w->run_cpu_ns[r] = sys_thread_cpu_ns() - c0;
        w->run_instr[r] = w->run_cycles[r] = UINT64_MAX;
        if (have_ctr)
            sys_counters_stop(&ctr, &w->run_instr[r], &w->run_cycles[r]);
        w->run_ns[r] = t1 - t0;
        if (r + 1 < j->nruns)
            tr_ring_next_pass(&w->ring);
    }
    sys_counters_close(&ctr);
    pthread_barrier_wait(&j->bar); /* main: counters after the passes */
    pthread_barrier_wait(&j->bar);

    if (j->mode == MODE_PERCORE)
        ct_table_destroy(w->table);
    w->table = NULL;
    tr_ring_free(&w->ring);
    return NULL;
}

/* Sums the counters of the job's table(s). */
static void job_stats(struct job *j, struct ct_table_stats *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < j->threads; i++) {
        struct ct_table_stats s;
        struct ct_table *t = j->mode == MODE_SHARED ? j->shared : j->w[i].table;
        if (!t || ct_table_stats(t, &s) != 0)
            continue;
        sum->packets += s.packets;
        sum->found += s.found;
        sum->created += s.created;
        sum->invalid += s.invalid;
        sum->untracked += s.untracked;
        sum->refused_full += s.refused_full;
        sum->probe_limit += s.probe_limit;
        sum->deleted += s.deleted;
        sum->expired += s.expired;
        sum->early_drop += s.early_drop;
        sum->replaced += s.replaced;
        sum->connections += s.connections;
        sum->max_connections += s.max_connections;
        sum->memory_bytes += s.memory_bytes;
        if (j->mode == MODE_SHARED)
            break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Results kept for the scaling ratio (total rate over the 1-thread rate). */
struct base {
    unsigned workload, family, mode;
    uint32_t conns;
    double total;
};
static struct base bases[256];
static unsigned nbases;

static double base_rate(const struct job *j)
{
    for (unsigned i = 0; i < nbases; i++)
        if (bases[i].workload == j->workload && bases[i].family == j->family &&
            bases[i].mode == j->mode && bases[i].conns == j->conns)
            return bases[i].total;
    return NAN;
}

/*
 * Did the traffic do what it was built to do? Returns "ok" or "fail:<what>"
 * for the first thing that went wrong, so that a figure measured on traffic
 * the table rejected (a bug, a missing feature) is never taken at face value.
 */
static const char *check_result(const struct job *j, const struct ct_table_stats *s_fill,
                                const struct ct_table_stats *s_end, uint64_t fill_bad)
{
    uint64_t want_fill = 0, want_new = 0, want_invalid = 0, frames = 0;
    uint64_t runs = j->nruns;
    uint64_t pkts = s_end->packets - s_fill->packets;
    uint64_t invalid = s_end->invalid - s_fill->invalid;

    for (unsigned t = 0; t < j->threads; t++) {
        want_fill += j->w[t].p.est_conns + j->w[t].old_fill;
        want_new += j->w[t].ring.new_conns * runs;
        want_invalid += j->w[t].ring.n_invalid * runs;
        frames += (uint64_t)j->w[t].ring.n * runs;
    }
    if (fill_bad)
        return "fail:fill_bad";
    if (s_fill->connections != want_fill)
        return "fail:fill_count";
    if (pkts != frames)
        return "fail:packet_count";
    if (s_end->refused_full != s_fill->refused_full)
        return "fail:refused_full";
    if (s_end->probe_limit != s_fill->probe_limit)
        return "fail:probe_limit";
    if (invalid != want_invalid) {
        static char msg[80];
        snprintf(msg, sizeof(msg), "fail:invalid_count:%llu/%llu", (unsigned long long)invalid,
                 (unsigned long long)want_invalid);
        return msg;
    }
    if (s_end->created - s_fill->created != want_new)
        return "fail:created_count";
    if ((j->workload == TR_W_ESTABLISHED || j->workload == TR_W_UDP) &&
        s_end->found - s_fill->found != pkts)
        return "fail:not_found";
    return "ok";
}

/* Where a forked job sends its 1-thread rate back (-1: it runs in the main process). */
static int base_fd = -1;

static void add_base(unsigned workload, unsigned family, unsigned mode, uint32_t conns, double rate)
{
    if (nbases < sizeof(bases) / sizeof(bases[0]))
        bases[nbases++] = (struct base){workload, family, mode, conns, rate};
}

static void report_base(const struct job *j, double rate)
{
    if (base_fd < 0) {
        add_base(j->workload, j->family, j->mode, j->conns, rate);
        return;
    }
    if (write(base_fd, &rate, sizeof(rate)) != (ssize_t)sizeof(rate))
        perror("ctbench: write");
}

static void print_result(struct job *j, const struct ct_table_stats *s_fill,
                         const struct ct_table_stats *s_end, uint64_t rss0, uint64_t rss1)
{
    const struct opts *o = j->o;
    double per[MAX_RUNS], tot[MAX_RUNS], ipp[MAX_RUNS], cpp[MAX_RUNS];
    double per_cpu[MAX_RUNS], share_min = 1.0;
    unsigned nr = 0, ni = 0, nc = 0;
    uint64_t fill_bad = 0, fill_ns = 0, ring_frames = 0, ring_new = 0;
    struct line l;

    for (unsigned r = j->warmup; r < j->nruns; r++, nr++) {
        double sum = 0, isum = 0, csum = 0, cpusum = 0;
        int iok = 1, cok = 1;
        for (unsigned t = 0; t < j->threads; t++) {
            struct worker *w = &j->w[t];
            double pk = w->ring.n;
            double share = (double)w->run_cpu_ns[r] / (double)w->run_ns[r];
            sum += pk / (double)w->run_ns[r] * 1e3;
            cpusum += pk / (double)(w->run_cpu_ns[r] ? w->run_cpu_ns[r] : 1) * 1e3;
            if (share < share_min)
                share_min = share;
            if (w->run_instr[r] == UINT64_MAX)
                iok = 0;
            else
                isum += (double)w->run_instr[r] / pk;
            if (w->run_cycles[r] == UINT64_MAX)
                cok = 0;
            else
                csum += (double)w->run_cycles[r] / pk;
        }
        tot[nr] = sum;
        per[nr] = sum / j->threads;
        per_cpu[nr] = cpusum / j->threads;
        if (iok)
            ipp[ni++] = isum / j->threads;
        if (cok)
            cpp[nc++] = csum / j->threads;
    }
    for (unsigned t = 0; t < j->threads; t++) {
        fill_bad += j->w[t].fill_bad;
        if (j->w[t].fill_ns > fill_ns)
            fill_ns = j->w[t].fill_ns;
        ring_frames += j->w[t].ring.n;
        ring_new += j->w[t].ring.new_conns;
    }

    double pmin = per[0], pmax = per[0];
    for (unsigned r = 1; r < nr; r++) {
        if (per[r] < pmin)
            pmin = per[r];
        if (per[r] > pmax)
            pmax = per[r];
    }
    double pmed = median(per, nr), tmed = median(tot, nr);
    double scaling = NAN;
    if (j->threads == 1)
        report_base(j, tmed);
    else
        scaling = tmed / base_rate(j);
    uint64_t pkts = s_end->packets - s_fill->packets;

    l_begin(&l, o->json, "result");
    l_str(&l, "workload", tr_workload_name(j->workload));
    l_u64(&l, "family", j->family);
    l_u64(&l, "conns", j->conns);
    l_u64(&l, "threads", j->threads);
    l_str(&l, "mode", mode_names[j->mode]);
    l_u64(&l, "burst", o->burst);
    l_u64(&l, "payload", o->payload);
    l_str(&l, "checksum", o->csum_offload ? "offload" : o->checksum ? "on" : "off");
    l_str(&l, "acct", o->acct ? "on" : "off");
    l_u64(&l, "runs", nr);
    l_u64(&l, "packets_per_run", j->w[0].ring.n);
    l_num(&l, "mpps_median", pmed, 3);
    l_num(&l, "mpps_min", pmin, 3);
    l_num(&l, "mpps_max", pmax, 3);
    l_num(&l, "total_mpps_median", tmed, 3);
    l_num(&l, "scaling", scaling, 2);
    l_num(&l, "ns_per_pkt", 1e3 / pmed, 1);
    l_num(&l, "mpps_cpu_median", median(per_cpu, nr), 3);
    l_num(&l, "cpu_share_min", share_min, 3);
    l_num(&l, "instr_per_pkt", ni ? median(ipp, ni) : NAN, 1);
    l_num(&l, "cycles_per_pkt", nc ? median(cpp, nc) : NAN, 1);
    if (ring_new)
        l_num(&l, "mcps_median", pmed * (double)ring_new / (double)ring_frames, 3);
    l_num(&l, "bytes_per_conn", (double)s_fill->memory_bytes / j->conns, 1);
    l_num(&l, "rss_bytes_per_conn", rss1 >= rss0 ? (double)(rss1 - rss0) / j->conns : NAN, 1);
    l_u64(&l, "table_bytes", s_fill->memory_bytes);
    l_u64(&l, "table_conns_filled", s_fill->connections);
    l_u64(&l, "table_conns_end", s_end->connections);
    l_num(&l, "found_pct", pkts ? 100.0 * (double)(s_end->found - s_fill->found) / pkts : NAN, 2);
    l_num(&l, "invalid_pct",
          pkts ? 100.0 * (double)(s_end->invalid - s_fill->invalid) / pkts : NAN, 3);
    l_u64(&l, "created", s_end->created - s_fill->created);
    l_u64(&l, "expired", s_end->expired - s_fill->expired);
    l_u64(&l, "early_drop", s_end->early_drop - s_fill->early_drop);
    l_u64(&l, "refused_full", s_end->refused_full - s_fill->refused_full);
    l_u64(&l, "probe_limit", s_end->probe_limit - s_fill->probe_limit);
    l_u64(&l, "fill_probe_limit", s_fill->probe_limit);
    l_num(&l, "fill_s", (double)fill_ns / 1e9, 2);
    l_u64(&l, "fill_bad", fill_bad);
    l_str(&l, "check", check_result(j, s_fill, s_end, fill_bad));
    l_end(&l);
}

static void print_verify(struct job *j, const struct ct_table_stats *s_fill,
                         const struct ct_table_stats *s_end)
{
    uint64_t bad = 0, fill_bad = 0, frames = 0;
    struct line l;

    for (unsigned t = 0; t < j->threads; t++) {
        bad += j->w[t].verify_bad;
        fill_bad += j->w[t].fill_bad;
        frames += (uint64_t)j->w[t].ring.n * j->nruns;
    }
    l_begin(&l, j->o->json, "verify");
    l_str(&l, "workload", tr_workload_name(j->workload));
    l_u64(&l, "family", j->family);
    l_u64(&l, "conns", j->conns);
    l_u64(&l, "threads", j->threads);
    l_str(&l, "mode", mode_names[j->mode]);
    l_str(&l, "acct", j->o->acct ? "on" : "off");
    l_u64(&l, "frames", frames);
    l_u64(&l, "mismatches", bad);
    l_u64(&l, "table_conns_end", s_end->connections);
    l_str(&l, "check", check_result(j, s_fill, s_end, fill_bad));
    l_end(&l);
}

static void print_error(const struct opts *o, const struct job *j, const char *what, int err)
{
    struct line l;
    l_begin(&l, o->json, "error");
    l_str(&l, "workload", tr_workload_name(j->workload));
    l_u64(&l, "family", j->family);
    l_u64(&l, "conns", j->conns);
    l_u64(&l, "threads", j->threads);
    l_str(&l, "mode", mode_names[j->mode]);
    l_str(&l, "what", what);
    l_str(&l, "error", ct_strerror(err));
    l_end(&l);
}

static void run_job_here(const struct opts *o, unsigned workload, unsigned family,
                         uint32_t conns, unsigned threads, unsigned mode)
{
    struct job j;
    struct ct_table_stats s_fill, s_end;
    uint64_t rss0, rss1;

    memset(&j, 0, sizeof(j));
    j.o = o;
    j.workload = workload;
    j.family = family;
    j.conns = conns;
    j.threads = threads;
    j.mode = mode;
    j.share = (conns + threads - 1) / threads;
    j.warmup = o->single_run ? 0 : 1;
    j.nruns = o->runs + j.warmup;
    atomic_init(&j.failed, 0);
    j.clock = START_NS;
    j.w = calloc(threads, sizeof(*j.w));
    j.lanes = aligned_alloc(64, threads * sizeof(*j.lanes));
    if (j.lanes)
        for (unsigned t = 0; t < threads; t++)
            j.lanes[t].at = UINT64_MAX;
    if (!j.w || !j.lanes || pthread_barrier_init(&j.bar, NULL, threads + 1)) {
        free(j.w);
        free(j.lanes);
        print_error(o, &j, "setup", -ENOMEM);
        return;
    }

    for (unsigned t = 0; t < threads; t++) {
        struct worker *w = &j.w[t];
        uint32_t share = j.share;
        w->job = &j;
        w->id = t;
        w->p = (struct tr_params){
            .workload = workload, .family = family, .thread = t, .threads = threads,
            .ring_len = o->ring_len, .burst = o->burst, .payload = (uint16_t)o->payload,
            .checksum = (uint8_t)o->checksum, .csum_offload = (uint8_t)o->csum_offload,
            .seed = o->seed};
        /*
         * Churn population: 0.9 (new) or 0.6 (mixed) of the share, less two
         * bursts, since connections are opened a burst at a time and a small
         * table would otherwise overflow between two sweeps. Mixed keeps 0.3
         * of the share established: with the churn clock, each of them then
         * sees a valid segment every 2 % of a timeout on average, so none
         * times out between its packets.
         */
        double churn = 0;
        switch (workload) {
        case TR_W_NEW:
            churn = share * 0.9;
            break;
        case TR_W_MIXED:
            w->p.est_conns = (uint32_t)(share * 0.3);
            churn = share * 0.6;
            break;
        default:
            w->p.est_conns = share;
            break;
        }
        if (churn > 0) {
            double lumps = churn - 2.0 * o->burst;
            w->old_fill = (uint32_t)(lumps > churn / 2 ? lumps : churn / 2);
        }
        if (workload == TR_W_MIXED && w->p.est_conns == 0)
            w->p.est_conns = 1;
    }

    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&j.w[started].th, NULL, worker_main, &j.w[started]))
            break;
    if (started < threads) {
        /* Cannot happen in practice; give up on the whole process rather than deadlock. */
        fprintf(stderr, "ctbench: pthread_create failed\n");
        exit(1);
    }

    pthread_barrier_wait(&j.bar); /* rings built */
    rss0 = sys_rss_bytes();
    pthread_barrier_wait(&j.bar);
    pthread_barrier_wait(&j.bar); /* tables created */
    pthread_barrier_wait(&j.bar); /* filled */
    rss1 = sys_rss_bytes();
    job_stats(&j, &s_fill);
    /* The clock step of the timed passes, now that the rings are known. */
    for (unsigned t = 0; t < threads; t++) {
        struct worker *w = &j.w[t];
        w->dt = EST_DT_NS;
        if ((workload == TR_W_NEW || workload == TR_W_MIXED) && w->ring.nbursts) {
            /*
             * New connections arrive so that the churn population stays at
             * `target`. A connection lives from its SYN to its ACK (up to a
             * few bursts), then the timeout, then up to one wheel tick (1 s)
             * until the sweep finds it: the clock step solves
             * target = rate * (timeout + 1 s + 4 * dt), rate = per_burst / dt,
             * with one burst of connections kept in reserve, since the fill
             * and the ring's first burst open connections a burst at a time.
             */
            double target = w->old_fill;
            double per_burst = (double)w->ring.new_conns / w->ring.nbursts;
            double denom = target - 4 * per_burst - o->burst;
            if (denom < target / 4)
                denom = target / 4;
            if (denom < 1)
                denom = 1;
            w->dt = (uint64_t)((double)(CHURN_TIMEOUT_S + 1) * NS_PER_S * per_burst / denom);
            if (w->dt == 0)
                w->dt = 1;
        }
    }
    if (mode == MODE_SHARED) {
        /* One clock: every worker's pass must span the same time, or the
         * one that finishes first leaves its connections idle while the
         * others' clocks run on. Their steps differ by a fraction of a
         * percent (their rings open slightly different numbers of
         * connections); take the mean. */
        uint64_t sum = 0;
        for (unsigned t = 0; t < threads; t++)
            sum += j.w[t].dt;
        for (unsigned t = 0; t < threads; t++)
            j.w[t].dt = sum / threads ? sum / threads : 1;
    }
    pthread_barrier_wait(&j.bar);
    for (unsigned r = 0; r < j.nruns; r++)
        pthread_barrier_wait(&j.bar);
    pthread_barrier_wait(&j.bar); /* passes done */
    job_stats(&j, &s_end);

    if (atomic_load(&j.failed)) {
        for (unsigned t = 0; t < threads; t++)
            if (j.w[t].err) {
                print_error(o, &j, j.w[t].err_what, j.w[t].err);
                break;
            }
    } else {
        if (o->verify)
            print_verify(&j, &s_fill, &s_end);
        else
            print_result(&j, &s_fill, &s_end, rss0, rss1);
    }
    pthread_barrier_wait(&j.bar);
    for (unsigned t = 0; t < threads; t++)
        pthread_join(j.w[t].th, NULL);
    if (j.shared)
        ct_table_destroy(j.shared);
    pthread_barrier_destroy(&j.bar);
    free(j.w);
    free(j.lanes);
}

/*
 * Runs one measurement in a child process, so that every measurement starts
 * from a fresh heap (clean RSS figures) and a crash in the library is
 * reported as one error line instead of ending the benchmark.
 */
static void run_job(const struct opts *o, unsigned workload, unsigned family, uint32_t conns,
                    unsigned threads, unsigned mode)
{
    int fds[2], status = 0;
    double rate;
    pid_t pid;

    if (!o->fork) {
        run_job_here(o, workload, family, conns, threads, mode);
        return;
    }
    fflush(stdout);
    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        perror("ctbench: fork");
        exit(1);
    }
    if (pid == 0) {
        close(fds[0]);
        base_fd = fds[1];
        run_job_here(o, workload, family, conns, threads, mode);
        fflush(stdout);
        _exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &rate, sizeof(rate)) == (ssize_t)sizeof(rate))
        add_base(workload, family, mode, conns, rate);
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        struct job j;
        char what[64];
        memset(&j, 0, sizeof(j));
        j.workload = workload;
        j.family = family;
        j.conns = conns;
        j.threads = threads;
        j.mode = mode;
        if (WIFSIGNALED(status))
            snprintf(what, sizeof(what), "crashed:signal_%d", WTERMSIG(status));
        else
            snprintf(what, sizeof(what), "exit_%d", WEXITSTATUS(status));
        print_error(o, &j, what, -EIO);
    }
}

/* ---- options -------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: ctbench [--quick] [--workload established|new|udp|mixed|all[,...]]\n"
          "               [--family 4|6|both] [--conns N[,N...]] [--threads N[,N...]]\n"
          "               [--mode percore|shared|both] [--runs N] [--burst N] [--ring N]\n"
          "               [--payload N] [--format kv|json] [--no-checksum] [--csum-offload]\n"
          "               [--acct on|off]\n"
          "               [--single-run] [--seed N] [--no-pin] [--no-fork] [--verify]\n"
          "       ctbench --snapshot [--conns N] [--family 4|6] [--acct on|off] [--runs N]\n"
          "       ctbench --nat [--conns N] [--range R] [--runs N]\n"
          "Counts take k, m suffixes (1k = 1000, 10m = 10000000).\n"
          "See docs/performance.md for the workloads and every output field.\n",
          f);
}

static int parse_count(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == 'k' || *end == 'K') {
        v *= 1000;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v *= 1000000;
        end++;
    }
    if (*end)
        return -1;
    *out = v;
    return 0;
}

/* A comma-separated list of counts within [lo, hi]. */
static int parse_list(const char *arg, uint64_t lo, uint64_t hi, uint64_t *out, unsigned *n)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", arg);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        uint64_t v;
        if (*n == MAX_LIST || parse_count(tok, &v) || v < lo || v > hi)
            return -1;
        out[(*n)++] = v;
    }
    return *n ? 0 : -1;
}

static int parse_workloads(const char *arg, unsigned *mask)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", arg);
    *mask = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned w;
        if (strcmp(tok, "all") == 0) {
            *mask = (1u << TR_W_COUNT) - 1;
            continue;
        }
        for (w = 0; w < TR_W_COUNT; w++)
            if (strcmp(tok, tr_workload_name(w)) == 0)
                break;
        if (w == TR_W_COUNT)
            return -1;
        *mask |= 1u << w;
    }
    return *mask ? 0 : -1;
}

static void default_threads(struct opts *o)
{
    unsigned cpus = sys_cpus();
    o->nthreads = 0;
    o->threads[o->nthreads++] = 1;
    o->threads[o->nthreads++] = 2;
    for (unsigned t = 4; t < cpus && o->nthreads < MAX_LIST - 1; t *= 2)
        o->threads[o->nthreads++] = t;
    if (cpus > 2 && o->threads[o->nthreads - 1] != cpus)
        o->threads[o->nthreads++] = cpus;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        O_QUICK = 256, O_WORKLOAD, O_FAMILY, O_CONNS, O_THREADS, O_MODE, O_RUNS, O_BURST,
        O_RING, O_PAYLOAD, O_FORMAT, O_NOCSUM, O_CSUMOFF, O_ACCT, O_SINGLE, O_SEED, O_NOPIN, O_NOFORK, O_VERIFY, O_HELP
    };
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, O_QUICK},
        {"workload", required_argument, NULL, O_WORKLOAD},
        {"family", required_argument, NULL, O_FAMILY},
        {"conns", required_argument, NULL, O_CONNS},
        {"threads", required_argument, NULL, O_THREADS},
        {"mode", required_argument, NULL, O_MODE},
        {"runs", required_argument, NULL, O_RUNS},
        {"burst", required_argument, NULL, O_BURST},
        {"ring", required_argument, NULL, O_RING},
        {"payload", required_argument, NULL, O_PAYLOAD},
        {"format", required_argument, NULL, O_FORMAT},
        {"no-checksum", no_argument, NULL, O_NOCSUM},
        {"csum-offload", no_argument, NULL, O_CSUMOFF},
        {"acct", required_argument, NULL, O_ACCT},
        {"single-run", no_argument, NULL, O_SINGLE},
        {"seed", required_argument, NULL, O_SEED},
        {"no-pin", no_argument, NULL, O_NOPIN},
        {"no-fork", no_argument, NULL, O_NOFORK},
        {"verify", no_argument, NULL, O_VERIFY},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    uint64_t list[MAX_LIST], v;
    int have_conns = 0, have_threads = 0, have_runs = 0, have_ring = 0, have_modes = 0, c;

    memset(o, 0, sizeof(*o));
    o->workloads = (1u << TR_W_COUNT) - 1;
    o->families[0] = 4;
    o->families[1] = 6;
    o->nfamilies = 2;
    o->burst = 32;
    o->payload = 6;
    o->seed = 0x6374626e63680001ull;
    o->checksum = 1;
    o->acct = 1;
    o->pin = 1;
    o->fork = 1;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_QUICK: o->quick = 1; break;
        case O_WORKLOAD:
            if (parse_workloads(optarg, &o->workloads))
                return -1;
            break;
        case O_FAMILY:
            if (strcmp(optarg, "4") == 0) {
                o->families[0] = 4;
                o->nfamilies = 1;
            } else if (strcmp(optarg, "6") == 0) {
                o->families[0] = 6;
                o->nfamilies = 1;
            } else if (strcmp(optarg, "both") == 0) {
                o->families[0] = 4;
                o->families[1] = 6;
                o->nfamilies = 2;
            } else {
                return -1;
            }
            break;
        case O_CONNS:
            if (parse_list(optarg, 1, 1u << 24, list, &o->nconns))
                return -1;
            for (unsigned i = 0; i < o->nconns; i++)
                o->conns[i] = (uint32_t)list[i];
            have_conns = 1;
            break;
        case O_THREADS:
            if (parse_list(optarg, 1, MAX_THREADS, list, &o->nthreads))
                return -1;
            for (unsigned i = 0; i < o->nthreads; i++)
                o->threads[i] = (unsigned)list[i];
            have_threads = 1;
            break;
        case O_MODE:
            if (strcmp(optarg, "percore") == 0)
                o->modes = 1u << MODE_PERCORE;
            else if (strcmp(optarg, "shared") == 0)
                o->modes = 1u << MODE_SHARED;
            else if (strcmp(optarg, "both") == 0)
                o->modes = (1u << MODE_PERCORE) | (1u << MODE_SHARED);
            else
                return -1;
            have_modes = 1;
            break;
        case O_RUNS:
            if (parse_count(optarg, &v) || v < 1 || v > MAX_RUNS)
                return -1;
            o->runs = (unsigned)v;
            have_runs = 1;
            break;
        case O_BURST:
            if (parse_count(optarg, &v) || v < 1 || v > CT_BURST_MAX)
                return -1;
            o->burst = (unsigned)v;
            break;
        case O_RING:
            if (parse_count(optarg, &v) || v < 1 || v > (1u << 24))
                return -1;
            o->ring_len = (uint32_t)v;
            have_ring = 1;
            break;
        case O_PAYLOAD:
            if (parse_count(optarg, &v) || v > 1400)
                return -1;
            o->payload = (unsigned)v;
            break;
        case O_FORMAT:
            if (strcmp(optarg, "kv") == 0)
                o->json = 0;
            else if (strcmp(optarg, "json") == 0)
                o->json = 1;
            else
                return -1;
            break;
        case O_NOCSUM: o->checksum = 0; break;
        case O_CSUMOFF: o->csum_offload = 1; break;
        case O_ACCT:
            if (strcmp(optarg, "on") == 0)
                o->acct = 1;
            else if (strcmp(optarg, "off") == 0)
                o->acct = 0;
            else
                return -1;
            break;
        case O_SINGLE: o->single_run = 1; break;
        case O_SEED:
            if (parse_count(optarg, &o->seed))
                return -1;
            break;
        case O_NOPIN: o->pin = 0; break;
        case O_NOFORK: o->fork = 0; break;
        case O_VERIFY: o->verify = 1; break;
        case O_HELP:
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc)
        return -1;

    if (!have_conns) {
        o->conns[0] = 1000;
        o->conns[1] = 1000000;
        o->conns[2] = 10000000;
        o->nconns = o->quick || o->single_run ? 2 : 3;
        if (o->single_run)
            o->nconns = 1;
    }
    if (o->single_run)
        o->fork = 0; /* one process, so that valgrind sees the measured loop */
    if (!have_threads) {
        if (o->single_run || o->quick) {
            o->threads[0] = 1;
            o->nthreads = 1;
        } else {
            default_threads(o);
        }
    }
    if (!have_modes)
        o->modes = o->single_run || o->quick ? 1u << MODE_PERCORE
                                             : (1u << MODE_PERCORE) | (1u << MODE_SHARED);
    if (!have_runs)
        o->runs = o->single_run ? 1 : o->quick ? 3 : 5;
    if (o->single_run)
        o->runs = 1;
    if (!have_ring)
        o->ring_len = o->single_run ? 1u << 16 : o->quick ? 1u << 19 : 1u << 22;
    return 0;
}

/* Is CT_TABLE_F_SHARED implemented? */
static int shared_available(const struct opts *o, int *err)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = 1024;
    cfg.flags = CT_TABLE_F_SHARED;
    *err = 0;
    struct ct_table *t = ct_table_create(&cfg, err);
    (void)o;
    if (!t)
        return 0;
    ct_table_destroy(t);
    return 1;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct line l;
    char cpu[128], date[32];
    time_t now = time(NULL);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--snapshot") == 0)
            return ctbench_snapshot(argc, argv);
        if (strcmp(argv[i], "--nat") == 0)
            return ctbench_nat(argc, argv);
    }
    if (parse_opts(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    sys_cpu_model(cpu, sizeof(cpu));
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));

    l_begin(&l, o.json, "env");
    l_str(&l, "ctrack", CTRACK_VERSION);
    l_str(&l, "date", date);
    l_str(&l, "cpu", cpu);
    l_u64(&l, "cpus", sys_cpus());
    struct sys_counters ctr;
    l_str(&l, "hw_counters", sys_counters_open(&ctr) == 0 ? "yes" : "no");
    sys_counters_close(&ctr);
    l_str(&l, "quick", o.quick ? "yes" : "no");
    l_u64(&l, "runs", o.runs);
    l_str(&l, "warmup", o.single_run ? "no" : "yes");
    l_u64(&l, "ring", o.ring_len);
    l_end(&l);

    if (o.modes & (1u << MODE_SHARED)) {
        int err;
        if (!shared_available(&o, &err)) {
            l_begin(&l, o.json, "unavailable");
            l_str(&l, "mode", "shared");
            l_str(&l, "error", ct_strerror(err));
            l_end(&l);
            o.modes &= ~(1u << MODE_SHARED);
        }
    }

    for (unsigned w = 0; w < TR_W_COUNT; w++) {
        if (!(o.workloads & (1u << w)))
            continue;
        for (unsigned f = 0; f < o.nfamilies; f++)
            for (unsigned c = 0; c < o.nconns; c++)
                for (unsigned m = 0; m < MODE_COUNT; m++) {
                    if (!(o.modes & (1u << m)))
                        continue;
                    for (unsigned t = 0; t < o.nthreads; t++)
                        run_job(&o, w, o.families[f], o.conns[c], o.threads[t], m);
                }
    }
    return 0;
}
