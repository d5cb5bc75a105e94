/*
 * Tests of shared tables (CT_TABLE_F_SHARED), meant to run under
 * ThreadSanitizer too (ctest label "concurrency"; make test-tsan):
 *   - threads racing to create the same connections end with exactly one
 *     connection per tuple, and no packet is refused or lost;
 *   - a bounded churn stress (new connections, replies, closes, early drop
 *     on a full table, the sweep from one thread, lookups) keeps every
 *     count consistent: created = deleted + live, one destroy report per
 *     ended connection, every live connection filed in the timer wheel;
 *   - a thread that goes offline does not hold reclamation back.
 * Each stress phase is bounded in time (about a second).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"
#include "table/shared.h"
#include "table/table.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define NTHREADS 4

static struct ct_pkt udp4(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
    struct ct_pkt p = pkt4(17, src, dst, sp, dp, 60);
    p.l4_len = 40;
    return p;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

/* ---- racing creations -------------------------------------------------------------- */

#define RACE_FLOWS 2000

struct race_arg {
    struct ct_table *t;
    unsigned idx;
    uint64_t bad;      /* verdicts without a connection */
    uint64_t created;  /* verdicts flagged CREATED */
    uint64_t packets;
};

static void *race_thread(void *p)
{
    struct race_arg *a = p;
    struct ct_pkt pk[CT_BURST_MAX];
    struct ct_verdict v[CT_BURST_MAX];
    for (unsigned round = 0; round < 4; round++) {
        /* Every thread walks the same flows, from a different starting point
         * and direction, so that creations collide. */
        for (unsigned base = 0; base < RACE_FLOWS; base += CT_BURST_MAX) {
            unsigned n = 0;
            for (unsigned i = 0; i < CT_BURST_MAX && base + i < RACE_FLOWS; i++, n++) {
                unsigned f = (base + i + a->idx * 577u) % RACE_FLOWS;
                pk[n] = udp4(0x0a000000u + f, 0x0b000001u, (uint16_t)(1000 + f), 53);
            }
            /* CHECK is not thread-safe: count failures, check after the join. */
            int r = ct_process_parsed(a->t, pk, v, n, 10 * SEC + round * MS, CT_PROCESS_COMMIT);
            if (r != (int)n)
                a->bad++;
            for (unsigned i = 0; i < n; i++) {
                a->packets++;
                if (!v[i].conn || v[i].state == CT_STATE_INVALID)
                    a->bad++;
                if (v[i].flags & CT_VERDICT_CREATED)
                    a->created++;
            }
        }
    }
    ct_table_thread_offline(a->t);
    return NULL;
}

static int count_conn(struct ct_conn *c, void *arg)
{
    (void)c;
    (*(uint64_t *)arg)++;
    return 0;
}

static void test_race_create(void)
{
    struct ct_table *t = mk_table(4 * RACE_FLOWS, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    if (!t)
        return;
    pthread_t th[NTHREADS];
    struct race_arg a[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].t = t;
        a[i].idx = i;
        CHECK_EQ_I(pthread_create(&th[i], NULL, race_thread, &a[i]), 0);
    }
    uint64_t bad = 0, created = 0, packets = 0;
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        bad += a[i].bad;
        created += a[i].created;
        packets += a[i].packets;
    }
    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(bad, 0);
    CHECK_EQ_U(created, RACE_FLOWS);
    CHECK_EQ_U(s.created, RACE_FLOWS);
    CHECK_EQ_U(s.connections, RACE_FLOWS);
    CHECK_EQ_U(s.packets, packets);
    CHECK_EQ_U(s.found + s.created, packets);
    CHECK_EQ_U(s.timers, RACE_FLOWS);
    uint64_t live = 0;
    ct_table_foreach(t, count_conn, &live);
    CHECK_EQ_U(live, RACE_FLOWS);
    /* Every flow counts every packet sent on it: NTHREADS threads x 4 rounds. */
    for (unsigned f = 0; f < RACE_FLOWS; f += 97) {
        struct ct_pkt p = udp4(0x0a000000u + f, 0x0b000001u, (uint16_t)(1000 + f), 53);
        enum ct_dir d;
        struct ct_conn *c = ct_table_lookup(t, &p.tuple, 10 * SEC + 5 * MS, &d);
        CHECK_PTR(c);
        struct ct_conn_info info;
        if (c && ct_conn_get_info(t, c, &info) == 0)
            CHECK_EQ_U(info.packets[0], NTHREADS * 4);
    }
    ct_table_destroy(t);
}

/* ---- churn stress ---------------------------------------------------------------- */

struct stress {
    struct ct_table *t;
    uint64_t clock;     /* atomic: the shared time, moved by every burst */
    uint64_t deadline;  /* monotonic ns at which the threads stop */
    uint64_t ended;     /* atomic: destroy reports */
    uint64_t stop;      /* atomic */
};

struct stress_arg {
    struct stress *s;
    unsigned idx;
    uint64_t bad;
    uint64_t bursts;
};

static void on_end(void *arg, const struct ct_table *t, const struct ct_conn *c, unsigned reason,
                   uint64_t now)
{
    struct stress *s = arg;
    struct ct_conn_info info;
    (void)now;
    (void)reason;
    /* The handle is intact during the callback. */
    if (ct_conn_get_info(t, c, &info) == 0 && info.tuple[0].l3 == CT_L3_IPV4)
        __atomic_fetch_add(&s->ended, 1, __ATOMIC_RELAXED);
}

static void *stress_thread(void *p)
{
    struct stress_arg *a = p;
    struct stress *s = a->s;
    struct ct_pkt pk[CT_BURST_MAX];
    struct ct_verdict v[CT_BURST_MAX];
    uint32_t rng = 0x9e3779b9u * (a->idx + 1);
    uint64_t next_expire = 0;
    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        for (unsigned i = 0; i < CT_BURST_MAX; i++) {
            rng = rng * 1103515245u + 12345u;
            /* 12,000 flows over a 4,096-connection table: the table stays
             * full, so early drop and the sweep both run. A flow's reply
             * makes it assured-free UDP stream traffic half of the time. */
            uint32_t f = (rng >> 8) % 12000u;
            pk[i] = udp4(0x0a000000u + f, 0x0b000001u, (uint16_t)(2000 + f), 53);
            if (rng & 0x10) {
                struct ct_pkt r = pk[i];
                r.tuple.src = pk[i].tuple.dst;
                r.tuple.dst = pk[i].tuple.src;
                r.tuple.sport = pk[i].tuple.dport;
                r.tuple.dport = pk[i].tuple.sport;
                pk[i] = r;
            }
        }
        uint64_t now = __atomic_add_fetch(&s->clock, 50 * MS, __ATOMIC_RELAXED);
        int r = ct_process_parsed(s->t, pk, v, CT_BURST_MAX, now, CT_PROCESS_COMMIT);
        if (r != CT_BURST_MAX)
            a->bad++;
        for (unsigned i = 0; i < CT_BURST_MAX; i++)
            if (v[i].state == CT_STATE_INVALID && v[i].reason != CT_REASON_TABLE_FULL)
                a->bad++;
        /* One thread sweeps, as a poll loop would. */
        if (a->idx == 0 && now >= next_expire)
            next_expire = ct_expire(s->t, now, 0);
        /* Another looks connections up between bursts. */
        if (a->idx == 1) {
            enum ct_dir d;
            struct ct_conn *c = ct_table_lookup(s->t, &pk[0].tuple, now, &d);
            (void)c;
        }
        a->bursts++;
        if ((a->bursts & 63) == 0 && mono_ns() >= s->deadline)
            __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
    }
    ct_table_thread_offline(s->t);
    return NULL;
}

static void test_churn_stress(void)
{
    struct stress s;
    memset(&s, 0, sizeof(s));
    s.t = mk_table(4096, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    if (!s.t)
        return;
    ct_table_set_destroy_cb(s.t, on_end, &s);
    s.clock = 100 * SEC;
    s.deadline = mono_ns() + 1500 * MS;
    pthread_t th[NTHREADS];
    struct stress_arg a[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].s = &s;
        a[i].idx = i;
        CHECK_EQ_I(pthread_create(&th[i], NULL, stress_thread, &a[i]), 0);
    }
    uint64_t bad = 0, bursts = 0;
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        bad += a[i].bad;
        bursts += a[i].bursts;
    }
    struct ct_table_stats st;
    ct_table_stats(s.t, &st);
    printf("shared stress: %" PRIu64 " bursts, created %" PRIu64 " expired %" PRIu64
           " early_drop %" PRIu64 " refused_full %" PRIu64 " live %u\n",
           bursts, st.created, st.expired, st.early_drop, st.refused_full, st.connections);
    CHECK_EQ_U(bad, 0);
    CHECK(bursts > 100);
    CHECK_EQ_U(st.packets, bursts * CT_BURST_MAX);
    CHECK_EQ_U(st.created, st.deleted + st.connections);
    CHECK_EQ_U(__atomic_load_n(&s.ended, __ATOMIC_RELAXED), st.deleted);
    CHECK(st.connections <= 4096);
    CHECK_EQ_U(st.timers, st.connections);
    CHECK(st.early_drop + st.expired > 0);
    uint64_t live = 0;
    ct_table_foreach(s.t, count_conn, &live);
    CHECK_EQ_U(live, st.connections);
    /* Draining ends every connection once. */
    uint64_t before = __atomic_load_n(&s.ended, __ATOMIC_RELAXED);
    CHECK_EQ_I(ct_table_drain(s.t, s.clock + SEC), (int)st.connections);
    CHECK_EQ_U(__atomic_load_n(&s.ended, __ATOMIC_RELAXED) - before, st.connections);
    ct_table_destroy(s.t);
}

/* ---- single-thread behaviour of a shared table ------------------------------------ */

static void test_shared_basics(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    if (!t)
        return;
    CHECK_EQ_I(ct_zone_set_limit(t, 1, 10), -ENOTSUP);
    struct ct_pkt p = udp4(0x0a000001u, 0x0b000001u, 1234, 53);
    struct ct_verdict v;
    CHECK_EQ_I(ct_process_parsed(t, &p, &v, 1, SEC, CT_PROCESS_COMMIT), 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.flags & CT_VERDICT_CREATED);
    struct ct_pkt r = udp4(0x0b000001u, 0x0a000001u, 53, 1234);
    CHECK_EQ_I(ct_process_parsed(t, &r, &v, 1, 2 * SEC, CT_PROCESS_COMMIT), 1);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    /* UDP times out after 30 s; the lookup reaps it. */
    CHECK(ct_table_lookup(t, &p.tuple, 100 * SEC, NULL) == NULL);
    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.connections, 0);
    CHECK_EQ_U(s.expired, 1);
    CHECK_EQ_I(ct_table_thread_offline(t), 0);
    CHECK_EQ_I(ct_table_thread_offline(NULL), -EINVAL);
    /* Entries retired by an offline thread are reused after it comes back. */
    for (unsigned i = 0; i < 3 * 64; i++) {
        struct ct_pkt q = udp4(0x0a000100u + i, 0x0b000001u, 1, 53);
        CHECK_EQ_I(ct_process_parsed(t, &q, &v, 1, 200 * SEC + i * 40 * SEC, CT_PROCESS_COMMIT), 1);
        CHECK_EQ_U(v.state, CT_STATE_NEW);
        ct_expire(t, 200 * SEC + i * 40 * SEC, 0);
    }
    ct_table_stats(t, &s);
    CHECK(s.connections <= 64);
    ct_table_destroy(t);
}

/* ---- reclamation: idle threads, offline and back, large retirements ----------------- */

/*
 * A watchdog for the tests below: a regression that makes a thread wait for
 * another must fail the test, not hang the suite. SIGALRM's default action
 * ends the process, which ctest reports as a failure.
 */
#define WATCHDOG_S 60

/* One burst of `n` new UDP flows numbered from `first`. */
static int churn_burst(struct ct_table *t, uint32_t first, unsigned n, uint64_t now,
                       struct ct_verdict *v)
{
    struct ct_pkt pk[CT_BURST_MAX];
    for (unsigned i = 0; i < n; i++) {
        uint32_t f = first + i;
        pk[i] = udp4(0x0a100000u + (f >> 14), 0x0b000002u, (uint16_t)(1024 + (f & 0x3fff)), 53);
    }
    return ct_process_parsed(t, pk, v, n, now, CT_PROCESS_COMMIT);
}

/* A thread that made calls and then waits, still registered, until told. */
struct idler {
    struct ct_table *t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;   /* 0 start, 1 registered and idle, 2 told to leave, 3 left */
    int offline; /* leave by ct_table_thread_offline() (else: by calling again) */
    uint64_t now; /* the time of that call */
    int bad;
};

static void idler_set(struct idler *d, int state)
{
    pthread_mutex_lock(&d->mu);
    d->state = state;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void idler_wait(struct idler *d, int state)
{
    pthread_mutex_lock(&d->mu);
    while (d->state < state)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
}

static void *idler_thread(void *p)
{
    struct idler *d = p;
    struct ct_pkt pk = udp4(0x0c000001u, 0x0b000002u, 7, 53);
    struct ct_verdict v;
    if (ct_process_parsed(d->t, &pk, &v, 1, SEC, CT_PROCESS_COMMIT) != 1)
        d->bad++;
    idler_set(d, 1);
    idler_wait(d, 2);
    if (d->offline) {
        if (ct_table_thread_offline(d->t) != 0)
            d->bad++;
    } else {
        /* One more call (a quiescent state; the flow itself has long
         * expired), then idle again until the end. */
        (void)ct_table_lookup(d->t, &pk.tuple, d->now, NULL);
    }
    idler_set(d, 3);
    idler_wait(d, 4);
    ct_table_thread_offline(d->t);
    return NULL;
}

#define IDLE_TABLE 256u
#define IDLE_ROUNDS 600u /* 64 flows each: far more than the pool's spare entries */

/*
 * One thread creates and retires connections without pause (64 flows per
 * burst, each expired by the sweep a burst later) while another is
 * registered but idle. Nothing the busy thread retires can be reused, so
 * the pool's spare entries run out: the busy thread must not wait, new
 * connections are refused as in a full table and counted. Once the idle
 * thread leaves (offline) or calls again, every retired entry is reclaimed
 * and creation works again.
 */
static void idle_thread_case(int offline)
{
    struct idler d;
    memset(&d, 0, sizeof(d));
    d.t = mk_table(IDLE_TABLE, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    if (!d.t)
        return;
    d.offline = offline;
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    pthread_t th;
    CHECK_EQ_I(pthread_create(&th, NULL, idler_thread, &d), 0);
    idler_wait(&d, 1);

    alarm(WATCHDOG_S);
    struct ct_verdict v[CT_BURST_MAX];
    uint64_t now = 2 * SEC, sent = 0, ok = 0, full = 0, other = 0;
    for (uint32_t r = 0; r < IDLE_ROUNDS; r++, now += 31 * SEC) {
        int n = churn_burst(d.t, r * CT_BURST_MAX, CT_BURST_MAX, now, v);
        CHECK_EQ_I(n, CT_BURST_MAX);
        for (int i = 0; i < n; i++) {
            sent++;
            if (v[i].state == CT_STATE_NEW && v[i].conn)
                ok++;
            else if (v[i].state == CT_STATE_INVALID && v[i].reason == CT_REASON_TABLE_FULL)
                full++;
            else
                other++;
        }
        /* UDP's unreplied timeout is 30 s: the previous burst's flows are due. */
        (void)ct_expire(d.t, now, 4 * CT_BURST_MAX);
    }
    struct ct_table_stats s;
    ct_table_stats(d.t, &s);
    printf("idle thread (%s): created %" PRIu64 " refused_full %" PRIu64
           " unreclaimed %" PRIu64 "\n",
           offline ? "offline" : "calls again", s.created, s.refused_full,
           ct_shared_unreclaimed(d.t));
    CHECK_EQ_U(other, 0);
    CHECK_EQ_U(ok + full, sent);
    CHECK_EQ_U(s.created, ok + 1); /* the idle thread's flow */
    CHECK_EQ_U(s.refused_full, full);
    CHECK(full > 0);             /* the pool ran out: reclamation was held back */
    CHECK_EQ_U(s.early_drop, 0); /* the table itself was never full */
    CHECK_EQ_U(s.created, s.deleted + s.connections);
    CHECK(ct_shared_unreclaimed(d.t) > 2 * 4096);

    d.now = now;
    idler_set(&d, 2);
    idler_wait(&d, 3);
    /* Calls that retire nothing: each frees what has become safe, the
     * deferred list a bounded chunk per call. */
    struct ct_pkt q = udp4(0x0d000001u, 0x0b000002u, 9, 53);
    for (unsigned i = 0; i < 64 && ct_shared_unreclaimed(d.t) != 0; i++)
        (void)ct_table_lookup(d.t, &q.tuple, now, NULL);
    CHECK_EQ_U(ct_shared_unreclaimed(d.t), 0);
    /* A table's worth of new flows fits again, none refused. */
    uint64_t refused0 = s.refused_full;
    for (uint32_t r = 0; r < IDLE_TABLE / CT_BURST_MAX; r++) {
        CHECK_EQ_I(churn_burst(d.t, (IDLE_ROUNDS + r) * CT_BURST_MAX, CT_BURST_MAX, now, v),
                   CT_BURST_MAX);
        for (unsigned i = 0; i < CT_BURST_MAX; i++)
            CHECK(v[i].state == CT_STATE_NEW && v[i].conn);
    }
    alarm(0);
    ct_table_stats(d.t, &s);
    CHECK_EQ_U(s.refused_full, refused0);
    CHECK_EQ_U(s.created, s.deleted + s.connections);
    CHECK_EQ_U(s.timers, s.connections);

    idler_set(&d, 4);
    pthread_join(th, NULL);
    CHECK_EQ_I(d.bad, 0);
    pthread_cond_destroy(&d.cv);
    pthread_mutex_destroy(&d.mu);
    ct_table_destroy(d.t);
}

static void test_idle_thread_offline(void)
{
    idle_thread_case(1);
}

static void test_idle_thread_calls_again(void)
{
    idle_thread_case(0);
}

/* ---- threads going offline and coming back -------------------------------------------- */

#define CYCLE_ROUNDS 100u

struct cycle {
    struct ct_table *t;     /* the shared table of the test */
    struct ct_table *other; /* a second shared table the cycling threads also use */
    uint64_t clock;         /* atomic: the one clock of both threads */
    uint64_t stop;          /* atomic: the cycling threads are done */
    unsigned ncycling;      /* atomic: cycling threads still running */
};

struct cycle_arg {
    struct cycle *c;
    unsigned idx;
    uint64_t bad;     /* calls that failed, verdicts INVALID for another reason than a full table */
    uint64_t created; /* flows created */
    uint64_t bursts;
};

/*
 * The table may fill for a while: the clock runs 5 s a burst, so a thread
 * descheduled while it holds the sweep (or mid-call, holding reclamation
 * back) lets minutes of flows pile up. That is counted, not wrong.
 */
static void cycle_count(struct cycle_arg *a, const struct ct_verdict *v, int n)
{
    if (n != CT_BURST_MAX)
        a->bad++;
    for (int i = 0; i < n; i++) {
        if (v[i].state == CT_STATE_NEW && v[i].conn)
            a->created++;
        else if (v[i].state != CT_STATE_INVALID || v[i].reason != CT_REASON_TABLE_FULL)
            a->bad++;
    }
}

/* Works without pause until the cycling threads are done. */
static void *cycle_worker(void *p)
{
    struct cycle_arg *a = p;
    struct cycle *c = a->c;
    struct ct_verdict v[CT_BURST_MAX];
    uint64_t next_expire = 0;
    for (uint32_t r = 0; !__atomic_load_n(&c->stop, __ATOMIC_RELAXED); r++) {
        uint64_t now = __atomic_add_fetch(&c->clock, 5 * SEC, __ATOMIC_RELAXED);
        cycle_count(a, v, churn_burst(c->t, (r % 4096) * CT_BURST_MAX, CT_BURST_MAX, now, v));
        if (now >= next_expire)
            next_expire = ct_expire(c->t, now, 0);
        a->bursts++;
    }
    ct_table_thread_offline(c->t);
    return NULL;
}

/*
 * Makes a few calls on the test's table and on another one, goes offline
 * from the test's table while its thread-local cache names the other, and
 * comes back; sometimes sleeps while offline.
 */
static void *cycle_thread(void *p)
{
    struct cycle_arg *a = p;
    struct cycle *c = a->c;
    struct ct_verdict v[CT_BURST_MAX];
    for (uint32_t r = 0; r < CYCLE_ROUNDS; r++) {
        for (unsigned k = 0; k < 3; k++) {
            uint64_t now = __atomic_add_fetch(&c->clock, 5 * SEC, __ATOMIC_RELAXED);
            uint32_t first = (1u << 20) * (a->idx + 1) + ((r * 3 + k) % 4096) * CT_BURST_MAX;
            cycle_count(a, v, churn_burst(c->t, first, CT_BURST_MAX, now, v));
            (void)ct_expire(c->t, now, 0);
            a->bursts++;
        }
        if (churn_burst(c->other, a->idx * CT_BURST_MAX, CT_BURST_MAX, SEC, v) != CT_BURST_MAX)
            a->bad++;
        if (ct_table_thread_offline(c->t) != 0)
            a->bad++;
        if (r % 3 == 0)
            ct_table_thread_offline(c->other);
        if (r % 8 == 0) {
            struct timespec ts = {0, 200 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    ct_table_thread_offline(c->other);
    if (__atomic_sub_fetch(&c->ncycling, 1, __ATOMIC_RELAXED) == 0)
        __atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
    return NULL;
}

/*
 * Threads that go offline and come back, many times, while another works
 * without pause: nobody waits for anybody, every call works, and once all
 * have left, everything they retired is reclaimed by the next caller. The
 * cycling threads go offline from a table that is not the last they used,
 * so their slot is found without the thread-local cache.
 */
static void test_offline_cycles(void)
{
    struct cycle c;
    memset(&c, 0, sizeof(c));
    c.t = mk_table(8192, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    c.other = mk_table(1024, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    if (!c.t || !c.other)
        return;
    c.clock = 10 * SEC;
    c.ncycling = 2;
    alarm(WATCHDOG_S);
    pthread_t th[3];
    struct cycle_arg a[3];
    for (unsigned i = 0; i < 3; i++) {
        memset(&a[i], 0, sizeof(a[i]));
        a[i].c = &c;
        a[i].idx = i;
        CHECK_EQ_I(pthread_create(&th[i], NULL, i == 0 ? cycle_worker : cycle_thread, &a[i]), 0);
    }
    uint64_t bad = 0, bursts = 0;
    for (unsigned i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        bad += a[i].bad;
        bursts += a[i].bursts;
    }
    CHECK_EQ_U(bad, 0);
    CHECK(a[1].bursts == 3 * CYCLE_ROUNDS && a[2].bursts == 3 * CYCLE_ROUNDS);
    CHECK(a[0].created > 0 && a[1].created > 0 && a[2].created > 0);
    /* Every thread has left: this thread's calls free everything. */
    struct ct_pkt q = udp4(0x0d000001u, 0x0b000002u, 9, 53);
    uint64_t now = __atomic_load_n(&c.clock, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < 64 && ct_shared_unreclaimed(c.t) != 0; i++)
        (void)ct_table_lookup(c.t, &q.tuple, now, NULL);
    alarm(0);
    CHECK_EQ_U(ct_shared_unreclaimed(c.t), 0);
    struct ct_table_stats s;
    ct_table_stats(c.t, &s);
    printf("offline cycles: %" PRIu64 " bursts, created %" PRIu64 " expired %" PRIu64
           " live %u\n", bursts, s.created, s.expired, s.connections);
    CHECK_EQ_U(s.packets, bursts * CT_BURST_MAX);
    CHECK_EQ_U(s.created, a[0].created + a[1].created + a[2].created);
    CHECK_EQ_U(s.created, s.deleted + s.connections);
    CHECK_EQ_U(s.timers, s.connections);
    CHECK(s.expired > 0);
    ct_table_destroy(c.t);
    ct_table_destroy(c.other);
}

/* ---- one call retiring more entries than a thread's limbo holds ----------------------- */

/*
 * A sweep with a large budget, and a drain, each end far more connections
 * in one call than CT_SHARED_LIMBO: the surplus goes to the deferred list,
 * and every entry comes back for reuse.
 */
static void test_large_retirement(void)
{
    enum { N = 3 * 4096 + 100 };
    struct ct_table *t = mk_table(N, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    if (!t)
        return;
    struct ct_verdict v[CT_BURST_MAX];
    for (int round = 0; round < 2; round++) {
        uint64_t now = (uint64_t)(1 + round * 200) * SEC;
        for (uint32_t f = 0; f < N; f += CT_BURST_MAX) {
            unsigned n = N - f < CT_BURST_MAX ? N - f : CT_BURST_MAX;
            CHECK_EQ_I(churn_burst(t, f, n, now, v), (int)n);
            for (unsigned i = 0; i < n; i++)
                CHECK(v[i].state == CT_STATE_NEW && v[i].conn);
        }
        struct ct_table_stats s;
        ct_table_stats(t, &s);
        CHECK_EQ_U(s.connections, N);
        if (round == 0) {
            /* All due 30 s later: one sweep ends them all. */
            (void)ct_expire(t, now + 60 * SEC, 2 * N);
            ct_table_stats(t, &s);
            CHECK_EQ_U(s.expired, N);
        } else {
            CHECK_EQ_I(ct_table_drain(t, now + SEC), N);
            ct_table_stats(t, &s);
            CHECK_EQ_U(s.drained, N);
        }
        CHECK_EQ_U(s.connections, 0);
        CHECK(ct_shared_unreclaimed(t) == N);
        struct ct_pkt q = udp4(0x0d000001u, 0x0b000002u, 9, 53);
        for (unsigned i = 0; i < 16 && ct_shared_unreclaimed(t) != 0; i++)
            (void)ct_table_lookup(t, &q.tuple, now + 100 * SEC, NULL);
        CHECK_EQ_U(ct_shared_unreclaimed(t), 0);
    }
    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.created, 2 * N);
    CHECK_EQ_U(s.refused_full, 0);
    CHECK_EQ_U(s.created, s.deleted);
    ct_table_destroy(t);
}

/* ---- per-thread entry caches (magazines) -------------------------------------------- */

/* Free entries of pool v6: on its free list plus those never handed out. */
static uint64_t pool_free(struct ct_table *t, unsigned v6)
{
    const struct ct_pool *p = &t->pool[v6];
    uint64_t n = p->cap - p->hiwater;
    for (uint32_t id = p->free_head; id != CT_ID_NONE;
         id = ct_table_conn_at(t, id | (v6 ? CT_ID_V6 : 0))->timer_next)
        n++;
    return n;
}

/* Entries cached in the magazines of all slots. */
static uint64_t mag_held(struct ct_table *t, unsigned v6)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < CT_SHARED_THREADS; i++)
        n += t->sh->slot[i].nmag[v6];
    return n;
}

#define MAG_MAX 600
#define MAG_ROUNDS 8

struct mag_arg {
    struct ct_table *t;
    pthread_barrier_t *bar;
    unsigned idx;
    uint64_t refused;
    uint64_t leak;     /* rounds where some entry was unaccounted for */
    uint64_t held_max; /* most entries this thread's magazine held */
};

/* Round r: the two threads fill the table exactly to max_connections in
 * uneven shares, thread 0 expires everything, both pass quiescent states
 * until nothing waits for reclamation, then every entry must be live, free
 * or in a magazine. */
static void *mag_thread(void *p)
{
    struct mag_arg *a = p;
    struct ct_table *t = a->t;
    struct ct_verdict v[CT_BURST_MAX];
    struct ct_pkt q = udp4(0x0d000001u, 0x0b000002u, 9, 53);
    for (unsigned r = 0; r < MAG_ROUNDS; r++) {
        uint64_t now = (uint64_t)(1 + 100 * r) * SEC;
        unsigned mine = (r + a->idx) % 2 ? MAG_MAX - 7 : 7;
        uint32_t first = (r * 2 + a->idx) * MAG_MAX;
        for (unsigned f = 0; f < mine; f += CT_BURST_MAX) {
            unsigned n = mine - f < CT_BURST_MAX ? mine - f : CT_BURST_MAX;
            (void)churn_burst(t, first + f, n, now, v);
            for (unsigned i = 0; i < n; i++)
                if (v[i].state != CT_STATE_NEW || !v[i].conn)
                    a->refused++;
        }
        pthread_barrier_wait(a->bar);
        if (a->idx == 0)
            (void)ct_expire(t, now + 60 * SEC, 4 * MAG_MAX);
        for (unsigned i = 0; i < 6; i++) {
            pthread_barrier_wait(a->bar);
            (void)ct_table_lookup(t, &q.tuple, now + 70 * SEC, NULL);
        }
        pthread_barrier_wait(a->bar);
        struct ct_tslot *me = ct_tls.slot;
        if (me->nmag[0] > a->held_max)
            a->held_max = me->nmag[0];
        if (a->idx == 0 && (ct_shared_unreclaimed(t) != 0 ||
                            pool_free(t, 0) + mag_held(t, 0) != t->pool[0].cap))
            a->leak++;
        pthread_barrier_wait(a->bar);
    }
    return NULL;
}

/*
 * The bound on cached entries: each registered thread's magazine holds at
 * most CT_SHARED_MAG entries per family, and the pools have that much room
 * per slot beyond max_connections and the spare, so a table filled exactly
 * to max_connections by several threads in any shares refuses nothing while
 * no retired entry waits for reclamation. No entry is ever lost between the
 * pool, the caches and the table, and an offline thread's cache returns to
 * the pool.
 */
static void test_magazines(void)
{
    struct ct_table *t = mk_table(MAG_MAX, CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
    if (!t)
        return;
    CHECK(t->pool[0].cap >= MAG_MAX + CT_SHARED_SPARE + CT_SHARED_THREADS * CT_SHARED_MAG);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    struct mag_arg a[2];
    pthread_t th[2];
    for (unsigned i = 0; i < 2; i++) {
        a[i] = (struct mag_arg){t, &bar, i, 0, 0, 0};
        CHECK_EQ_I(pthread_create(&th[i], NULL, mag_thread, &a[i]), 0);
    }
    for (unsigned i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    for (unsigned i = 0; i < 2; i++) {
        CHECK_EQ_U(a[i].refused, 0);
        CHECK_EQ_U(a[i].leak, 0);
        CHECK(a[i].held_max <= CT_SHARED_MAG);
    }
    /* Thread 0 freed what it expired into its own magazine first. */
    CHECK(a[0].held_max > 0);
    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.created, MAG_ROUNDS * MAG_MAX);
    CHECK_EQ_U(s.refused_full, 0);

    /* A thread that goes offline gives its cached entries back. */
    CHECK(mag_held(t, 0) > 0); /* the two threads exited without going offline */
    struct ct_verdict v[CT_BURST_MAX];
    CHECK_EQ_I(churn_burst(t, 100000, 20, 2000 * SEC, v), 20);
    CHECK(ct_tls.slot->nmag[0] > 0);
    (void)ct_expire(t, 2100 * SEC, 100);
    struct ct_tslot *mine = ct_tls.slot;
    uint64_t held = mine->nmag[0], free_before = pool_free(t, 0);
    CHECK_EQ_I(ct_table_thread_offline(t), 0);
    CHECK_EQ_U(mine->nmag[0], 0);
    CHECK(pool_free(t, 0) >= free_before + held);
    CHECK_EQ_U(pool_free(t, 0) + mag_held(t, 0) + ct_shared_unreclaimed(t), t->pool[0].cap);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_shared_basics);
    RUN(test_race_create);
    RUN(test_churn_stress);
    RUN(test_large_retirement);
    RUN(test_idle_thread_offline);
    RUN(test_idle_thread_calls_again);
    RUN(test_offline_cycles);
    RUN(test_magazines);
    return check_summary();
}
