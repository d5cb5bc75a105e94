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

#include "check.h"
#include "ctrack/ctrack.h"
#include "table/table.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define NTHREADS 4

static struct ct_pkt udp4(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.reason = CT_REASON_NONE;
    p.tuple.l3 = CT_L3_IPV4;
    p.tuple.proto = 17;
    p.tuple.src.v4 = src;
    p.tuple.dst.v4 = dst;
    p.tuple.sport = sp;
    p.tuple.dport = dp;
    p.ip_len = 60;
    p.l4_len = 40;
    return p;
}

static struct ct_table *mk_shared(uint32_t max)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = max;
    cfg.flags = CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM;
    int err = 0;
    struct ct_table *t = ct_table_create(&cfg, &err);
    CHECK_EQ_I(err, 0);
    return t;
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
    struct ct_table *t = mk_shared(4 * RACE_FLOWS);
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
    s.t = mk_shared(4096);
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
    struct ct_table *t = mk_shared(64);
    if (!t)
        return;
    CHECK_EQ_I(ct_table_set_zone_limit(t, 1, 10), -ENOTSUP);
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

int main(void)
{
    RUN(test_shared_basics);
    RUN(test_race_create);
    RUN(test_churn_stress);
    return check_summary();
}
