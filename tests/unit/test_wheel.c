/*
 * Tests of the expiry timer wheel (src/expiry/wheel.c) on its own, over a
 * small fake pool of IPv4 entries. The fake keeps each connection's real
 * deadline, as the table will (last_seen + timeout); its due callback ends a
 * connection whose real deadline has passed and re-files the others at their
 * real deadline, which is lazy refresh. Ids are opaque to the wheel: the fake
 * names entry i by i | FAKE_ID_BIT, as the table names IPv6 entries.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "expiry/wheel.h"

#define NS 1000000000ull
#define MS 1000000ull
#define DAY (86400ull * NS)
#define NCONN 512
#define FAKE_ID_BIT 0x40000000u
#define LOG_MAX 4096
#define T_BASE (1000000ull * NS) /* an arbitrary start, far from 0 */

struct fake;
typedef void (*hook_fn)(struct fake *f, unsigned idx);

struct fake {
    struct ct_conn4 e[NCONN];
    uint64_t deadline[NCONN];   /* real deadline (ns) */
    uint64_t due_tick[NCONN];   /* model: the tick it must expire at (by_tick mode) */
    uint8_t live[NCONN];        /* filed, not expired */
    unsigned calls[NCONN];      /* hand-outs */
    uint64_t expired_now[NCONN]; /* the advance's now when it expired */
    uint64_t expired_tick[NCONN]; /* tick_ns when it expired */
    unsigned log_idx[LOG_MAX];  /* expirations in hand-out order */
    uint64_t log_tick[LOG_MAX];
    unsigned nlog;
    unsigned ncalls;
    unsigned nresolve;
    uint64_t now;               /* now of the advance running */
    uint64_t last_tick_ns;      /* tick_ns of the previous hand-out */
    int by_tick;                /* expire when deadline <= tick_ns (else <= now) */
    hook_fn hook;               /* called on each hand-out, before deciding */
    struct ct_wheel w;
};

static struct fake F;

static uint32_t id_of(unsigned idx)
{
    return idx | FAKE_ID_BIT;
}

static unsigned idx_of(uint32_t id)
{
    return id & (FAKE_ID_BIT - 1);
}

static struct ct_conn *fake_resolve(void *ctx, uint32_t id)
{
    struct fake *f = ctx;
    f->nresolve++;
    if (!(id & FAKE_ID_BIT) || idx_of(id) >= NCONN) {
        CHECK_FAIL_("resolve of a bad id 0x%08x", id);
        return &f->e[0].c;
    }
    return &f->e[idx_of(id)].c;
}

static uint64_t fake_due(void *arg, uint32_t id, struct ct_conn *c, uint64_t tick_ns)
{
    struct fake *f = arg;
    unsigned idx = idx_of(id);
    CHECK(idx < NCONN);
    if (idx >= NCONN)
        return CT_WHEEL_EXPIRED;
    CHECK(c == &f->e[idx].c);
    CHECK(!ct_wheel_is_filed(c));
    CHECK(f->live[idx]);
    CHECK(tick_ns <= f->now);
    CHECK(tick_ns >= f->last_tick_ns);
    f->last_tick_ns = tick_ns;
    f->calls[idx]++;
    f->ncalls++;
    if (f->hook)
        f->hook(f, idx);
    uint64_t ref = f->by_tick ? tick_ns : f->now;
    if (f->deadline[idx] <= ref) {
        f->live[idx] = 0;
        f->expired_now[idx] = f->now;
        f->expired_tick[idx] = tick_ns;
        if (f->nlog < LOG_MAX) {
            f->log_idx[f->nlog] = idx;
            f->log_tick[f->nlog] = tick_ns;
        }
        f->nlog++;
        return CT_WHEEL_EXPIRED;
    }
    return f->deadline[idx];
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

static void fake_setup(struct fake *f, uint64_t now, uint64_t res)
{
    memset(f, 0, sizeof(*f));
    for (unsigned i = 0; i < NCONN; i++)
        ct_wheel_conn_init(&f->e[i].c);
    f->now = now;
    CHECK_EQ_I(ct_wheel_init(&f->w, now, res, fake_resolve, f), 0);
}

/* Files entry idx at deadline d (a new connection, or a re-file). */
static void fake_file(struct fake *f, unsigned idx, uint64_t d)
{
    uint64_t res = f->w.resolution;
    uint64_t k = ceil_div(d, res);
    uint64_t floor_tick = f->w.cur + 1;
    f->live[idx] = 1;
    f->deadline[idx] = d;
    f->due_tick[idx] = k > floor_tick ? k : floor_tick;
    CHECK_EQ_I(ct_wheel_insert(&f->w, id_of(idx), &f->e[idx].c, d), 0);
}

/* Advances to now with the given budget until nothing is due; returns hand-outs. */
static unsigned fake_advance(struct fake *f, uint64_t now, unsigned budget)
{
    unsigned total = 0;
    f->now = now;
    f->last_tick_ns = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        int n = ct_wheel_advance(&f->w, now, budget, fake_due, f);
        CHECK(n >= 0 && (unsigned)n <= budget);
        if (n < 0)
            break;
        total += (unsigned)n;
        if ((unsigned)n < budget) {
            CHECK(ct_wheel_next_due(&f->w) > now);
            break;
        }
        if (ct_wheel_next_due(&f->w) > now)
            break;
    }
    return total;
}

/* Walks every list: links agree both ways, bitmaps match, the count adds up. */
static void check_links(const struct fake *f)
{
    const struct ct_wheel *w = &f->w;
    unsigned total = 0;
    uint8_t seen[NCONN] = {0};
    for (unsigned list = 0; list < CT_WHEEL_LISTS; list++) {
        uint32_t prev = CT_WHEEL_HEAD_TAG | list;
        uint32_t id = w->head[list];
        if (list < CT_WHEEL_OVERFLOW) {
            unsigned l = list / CT_WHEEL_SLOTS, s = list % CT_WHEEL_SLOTS;
            int bit = (w->occupied[l][s / 64] >> (s % 64)) & 1;
            CHECK_EQ_I(bit, id != CT_WHEEL_NONE);
        }
        while (id != CT_WHEEL_NONE) {
            unsigned idx = idx_of(id);
            if (!(id & FAKE_ID_BIT) || idx >= NCONN || seen[idx]) {
                CHECK_FAIL_("list %u: bad or repeated id 0x%08x", list, id);
                return;
            }
            seen[idx] = 1;
            const struct ct_conn *c = &f->e[idx].c;
            CHECK_EQ_U(c->timer_prev, prev);
            prev = id;
            id = c->timer_next;
            total++;
        }
    }
    CHECK_EQ_U(total, w->filed);
    for (unsigned i = 0; i < NCONN; i++) {
        CHECK_EQ_I(seen[i], ct_wheel_is_filed(&f->e[i].c));
        if (!seen[i])
            CHECK_EQ_U(f->e[i].c.timer_next, CT_WHEEL_NONE);
    }
}

/* ---- basics ---------------------------------------------------------------- */

static void test_init_errors(void)
{
    struct ct_wheel w;
    CHECK_EQ_I(ct_wheel_init(NULL, 0, NS, fake_resolve, NULL), -EINVAL);
    CHECK_EQ_I(ct_wheel_init(&w, 0, 0, fake_resolve, NULL), -EINVAL);
    CHECK_EQ_I(ct_wheel_init(&w, 0, NS, NULL, NULL), -EINVAL);
    CHECK_EQ_I(ct_wheel_init(&w, 5 * NS, NS, fake_resolve, &F), 0);
    CHECK_EQ_U(ct_wheel_count(&w), 0);
    CHECK_EQ_U(ct_wheel_next_due(&w), UINT64_MAX);
    CHECK_EQ_I(ct_wheel_advance(&w, 6 * NS, 10, NULL, NULL), -EINVAL);
    CHECK_EQ_I(ct_wheel_advance(NULL, 6 * NS, 10, fake_due, &F), -EINVAL);
    CHECK_EQ_U(ct_wheel_next_due(NULL), UINT64_MAX);
}

static void test_insert_remove_basics(void)
{
    struct fake *f = &F;
    uint64_t t0 = T_BASE + NS / 2; /* mid-tick */
    fake_setup(f, t0, NS);

    /* Reserved ids and NULL entries are refused and change nothing. */
    CHECK_EQ_I(ct_wheel_insert(&f->w, CT_WHEEL_HEAD_TAG, &f->e[0].c, t0 + NS), -EINVAL);
    CHECK_EQ_I(ct_wheel_insert(&f->w, CT_WHEEL_NONE, &f->e[0].c, t0 + NS), -EINVAL);
    CHECK_EQ_I(ct_wheel_insert(&f->w, id_of(0), NULL, t0 + NS), -EINVAL);
    CHECK(!ct_wheel_is_filed(&f->e[0].c));
    CHECK_EQ_U(ct_wheel_count(&f->w), 0);

    fake_file(f, 0, T_BASE + 5 * NS);
    fake_file(f, 1, T_BASE + 5 * NS);
    fake_file(f, 2, T_BASE + 5 * NS);
    fake_file(f, 3, T_BASE + 10 * NS);
    CHECK_EQ_U(ct_wheel_count(&f->w), 4);
    CHECK(ct_wheel_is_filed(&f->e[1].c));
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 5 * NS);
    check_links(f);

    /* Middle, head and tail of one slot's list; removing twice is harmless. */
    ct_wheel_remove(&f->w, &f->e[1].c);
    check_links(f);
    ct_wheel_remove(&f->w, &f->e[2].c);
    check_links(f);
    ct_wheel_remove(&f->w, &f->e[2].c);
    ct_wheel_remove(&f->w, NULL);
    ct_wheel_remove(NULL, &f->e[0].c);
    f->live[1] = f->live[2] = 0;
    CHECK(!ct_wheel_is_filed(&f->e[1].c));
    CHECK_EQ_U(f->e[1].c.timer_prev, CT_WHEEL_NONE);
    CHECK_EQ_U(f->e[1].c.timer_next, CT_WHEEL_NONE);
    CHECK_EQ_U(ct_wheel_count(&f->w), 2);

    /* Nothing before the tick of the deadline, then exactly at it. */
    CHECK_EQ_U(fake_advance(f, T_BASE + 5 * NS - 1, 100), 0);
    CHECK_EQ_U(fake_advance(f, T_BASE + 5 * NS, 100), 1);
    CHECK(!f->live[0]);
    CHECK_EQ_U(f->expired_now[0], T_BASE + 5 * NS);
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 10 * NS);
    check_links(f);

    /* A re-insert moves the connection: it fires once, at the new deadline. */
    fake_file(f, 3, T_BASE + 7 * NS);
    CHECK_EQ_U(ct_wheel_count(&f->w), 1);
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 7 * NS);
    CHECK_EQ_U(fake_advance(f, T_BASE + 7 * NS + 1, 100), 1);
    CHECK(!f->live[3]);
    CHECK_EQ_U(fake_advance(f, T_BASE + 20 * NS, 100), 0);
    CHECK_EQ_U(f->calls[3], 1);
    CHECK_EQ_U(ct_wheel_next_due(&f->w), UINT64_MAX);

    /* A deadline in the past goes to the next tick after the wheel's. */
    fake_file(f, 4, T_BASE);
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 21 * NS);
    CHECK_EQ_U(fake_advance(f, T_BASE + 21 * NS - 1, 100), 0);
    CHECK(f->live[4]);
    CHECK_EQ_U(fake_advance(f, T_BASE + 21 * NS, 100), 1);
    CHECK(!f->live[4]);

    /* A level-0 connection is handed out once, never before its deadline. */
    fake_file(f, 6, T_BASE + 24 * NS + 1);
    CHECK_EQ_U(fake_advance(f, T_BASE + 24 * NS + NS / 2, 100), 0);
    CHECK_EQ_U(fake_advance(f, T_BASE + 25 * NS, 100), 1);
    CHECK_EQ_U(f->calls[6], 1);
    CHECK(!f->live[6]);

    /* Time going backwards hands out nothing and moves nothing. */
    fake_file(f, 5, T_BASE + 30 * NS);
    CHECK_EQ_U(fake_advance(f, T_BASE, 100), 0);
    CHECK(f->live[5]);
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 30 * NS);
    CHECK_EQ_U(fake_advance(f, T_BASE + 30 * NS, 100), 1);
    CHECK_EQ_U(ct_wheel_count(&f->w), 0);
    check_links(f);
}

/* ---- timing ------------------------------------------------------------------ */

/*
 * One connection with timeout `to` from start t0, advanced in coarse steps
 * far from its deadline and steps of a tenth of a tick near it. It must
 * expire no later than the first advance whose now reaches the deadline's
 * tick (ceil(deadline / resolution), which is before deadline + resolution)
 * and never before the deadline; in tick mode, at exactly that tick.
 */
static void one_deadline(uint64_t res, uint64_t t0, uint64_t to, int by_tick)
{
    struct fake *f = &F;
    fake_setup(f, t0, res);
    f->by_tick = by_tick;
    uint64_t d = t0 + to;
    fake_file(f, 0, d);
    uint64_t now = t0;
    uint64_t coarse = 7777 * NS + 123456789; /* no multiple of any resolution */
    uint64_t fine = res / 10 ? res / 10 : 1;
    unsigned advances = 0;
    uint64_t prev_now = now;
    uint64_t tick_ns = ceil_div(d, res) * res;
    while (f->live[0] && advances < 10000000) {
        /* Long strides, then halving the distance, then tenths of a tick. */
        uint64_t step = fine;
        if (d > now + 20 * res) {
            step = (d - now) / 2 + 7;
            if (step > coarse)
                step = coarse;
        }
        prev_now = now;
        now += step;
        fake_advance(f, now, 1000);
        advances++;
        if (f->live[0] && now >= tick_ns) {
            CHECK_FAIL_("timeout %" PRIu64 " ns at resolution %" PRIu64
                        ": not expired at now %" PRIu64 " (deadline %" PRIu64 ")",
                        to, res, now, d);
            break;
        }
    }
    CHECK(tick_ns < d + res);
    CHECK(!f->live[0]);
    CHECK(f->expired_now[0] >= d);
    CHECK(prev_now < tick_ns);      /* the advance before did not reach the tick */
    if (by_tick) {
        CHECK(f->expired_now[0] >= tick_ns);
        CHECK_EQ_U(f->expired_tick[0], tick_ns);
    }
    /* Handed out at most once per level it went through, plus its expiry. */
    CHECK(f->calls[0] >= 1 && f->calls[0] <= CT_WHEEL_LEVELS + 1);
    CHECK_EQ_U(ct_wheel_count(&f->w), 0);
}

static void test_deadlines_fire_within_one_tick(void)
{
    static const uint64_t timeouts[] = {1 * NS, 59 * NS, 300 * NS, 5 * DAY};
    static const uint64_t offsets[] = {0,        1,         NS / 3, NS - 1, 12345 * NS + 678 * MS,
                                       255 * NS, 65535 * NS};
    for (unsigned i = 0; i < CT_ARRAY_SIZE(timeouts); i++)
        for (unsigned j = 0; j < CT_ARRAY_SIZE(offsets); j++)
            for (int by_tick = 0; by_tick < 2; by_tick++)
                one_deadline(NS, T_BASE + offsets[j], timeouts[i], by_tick);
}

static void test_resolution_10ms(void)
{
    static const uint64_t timeouts[] = {15 * MS, 1 * NS, 59 * NS, 300 * NS, 5 * DAY};
    static const uint64_t offsets[] = {0, 3 * MS + 7, 2560 * MS, 9999999};
    for (unsigned i = 0; i < CT_ARRAY_SIZE(timeouts); i++)
        for (unsigned j = 0; j < CT_ARRAY_SIZE(offsets); j++)
            for (int by_tick = 0; by_tick < 2; by_tick++)
                one_deadline(10 * MS, T_BASE + offsets[j], timeouts[i], by_tick);

    /* Tick by tick at 10 ms: the advance at the deadline's tick expires it. */
    struct fake *f = &F;
    fake_setup(f, T_BASE, 10 * MS);
    fake_file(f, 0, T_BASE + 1234 * MS + 1); /* tick 124 after T_BASE */
    for (uint64_t t = T_BASE + 10 * MS; t <= T_BASE + 2 * NS; t += 10 * MS) {
        fake_advance(f, t, 16);
        if (!f->live[0])
            break;
    }
    CHECK_EQ_U(f->expired_now[0], T_BASE + 1240 * MS);
}

/* Exhaustive tick-by-tick stepping for the short timeouts at 1 s. */
static void test_tick_by_tick(void)
{
    static const uint64_t timeouts[] = {1, 59, 300, 256, 257, 65536};
    for (unsigned i = 0; i < CT_ARRAY_SIZE(timeouts); i++) {
        struct fake *f = &F;
        fake_setup(f, T_BASE, NS);
        fake_file(f, 0, T_BASE + timeouts[i] * NS);
        uint64_t t = T_BASE;
        while (f->live[0] && t < T_BASE + (timeouts[i] + 2) * NS) {
            t += NS;
            fake_advance(f, t, 16);
        }
        CHECK_EQ_U(f->expired_now[0], T_BASE + timeouts[i] * NS);
    }
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* (Vigna), deterministic from the seed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/*
 * Nothing fires early: with many connections and random jumps, in tick mode
 * every connection expires at exactly the tick of its deadline, in tick
 * order, and is handed out before that at most once per level.
 */
static void test_nothing_fires_early(void)
{
    struct fake *f = &F;
    rng_state = 0x9E3779B97F4A7C15ull;
    fake_setup(f, T_BASE, NS);
    f->by_tick = 1;
    for (unsigned i = 0; i < NCONN; i++)
        fake_file(f, i, T_BASE + 1 + rng() % (5 * DAY));
    uint64_t now = T_BASE;
    uint64_t last = 0;
    while (ct_wheel_count(&f->w) > 0) {
        now += rng() % (6 * 3600 * NS);
        unsigned before = f->nlog;
        fake_advance(f, now, 1u << 20);
        for (unsigned k = before; k < f->nlog && k < LOG_MAX; k++) {
            unsigned idx = f->log_idx[k];
            CHECK(f->log_tick[k] >= last);
            last = f->log_tick[k];
            CHECK_EQ_U(f->log_tick[k], ceil_div(f->deadline[idx], NS) * NS);
            CHECK(f->expired_now[idx] >= f->deadline[idx]);
        }
        for (unsigned i = 0; i < NCONN; i++)
            if (f->live[i])
                CHECK(f->deadline[i] > now - now % NS);
    }
    for (unsigned i = 0; i < NCONN; i++)
        CHECK(f->calls[i] >= 1 && f->calls[i] <= CT_WHEEL_LEVELS + 1);
    CHECK_EQ_U(f->nlog, NCONN);
}

/* ---- re-filing ---------------------------------------------------------------- */

/* Lazy refresh: packets move the real deadline; the wheel is told nothing. */
static void test_refile_from_callback(void)
{
    struct fake *f = &F;
    fake_setup(f, T_BASE, NS);
    fake_file(f, 0, T_BASE + 30 * NS);
    uint64_t now = T_BASE;
    while (now < T_BASE + 60 * NS) {
        now += NS / 2;
        if (now == T_BASE + 10 * NS)
            f->deadline[0] = now + 40 * NS; /* a packet: real deadline 50 s */
        unsigned calls = f->calls[0];
        fake_advance(f, now, 8);
        if (now == T_BASE + 30 * NS) {
            CHECK_EQ_U(f->calls[0], calls + 1); /* handed out at the filed deadline */
            CHECK(f->live[0]);
            CHECK(ct_wheel_is_filed(&f->e[0].c));
            CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 50 * NS);
        }
        if (now < T_BASE + 50 * NS)
            CHECK(f->live[0]);
        if (!f->live[0])
            break;
    }
    CHECK_EQ_U(f->expired_now[0], T_BASE + 50 * NS);
    CHECK_EQ_U(f->calls[0], 2);

    /* Handed out at 3 s with a real deadline of 5 s: re-filed, and handed out
     * again at 5 s within the same advance. */
    fake_setup(f, T_BASE, NS);
    fake_file(f, 1, T_BASE + 3 * NS);
    f->by_tick = 1;
    f->deadline[1] = T_BASE + 5 * NS;
    CHECK_EQ_U(fake_advance(f, T_BASE + 10 * NS, 100), 2);
    CHECK_EQ_U(f->expired_tick[1], T_BASE + 5 * NS);
}

/* A callback that keeps a due connection one more tick (a past deadline). */
static unsigned stubborn_left;
static uint64_t stubborn_tick[8];

static uint64_t stubborn_due(void *arg, uint32_t id, struct ct_conn *c, uint64_t tick_ns)
{
    (void)arg;
    (void)id;
    CHECK(!ct_wheel_is_filed(c));
    if (stubborn_left == 0)
        return CT_WHEEL_EXPIRED;
    stubborn_tick[8 - stubborn_left] = tick_ns;
    stubborn_left--;
    return tick_ns - 5 * NS;
}

static void test_refile_past_deadline(void)
{
    struct fake *f = &F;
    fake_setup(f, T_BASE, NS);
    fake_file(f, 0, T_BASE + 3 * NS);
    stubborn_left = 8;
    /* Each past deadline goes to the tick after the one being processed. */
    CHECK_EQ_I(ct_wheel_advance(&f->w, T_BASE + 6 * NS, 100, stubborn_due, NULL), 4);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ_U(stubborn_tick[i], T_BASE + (3 + i) * NS);
    CHECK(ct_wheel_is_filed(&f->e[0].c));
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 7 * NS);
    /* Under a budget it comes back no more than the budget allows. */
    CHECK_EQ_I(ct_wheel_advance(&f->w, T_BASE + 100 * NS, 2, stubborn_due, NULL), 2);
    CHECK_EQ_U(stubborn_tick[5], T_BASE + 8 * NS);
    CHECK_EQ_I(ct_wheel_advance(&f->w, T_BASE + 100 * NS, 100, stubborn_due, NULL), 3);
    CHECK(!ct_wheel_is_filed(&f->e[0].c));
    CHECK_EQ_U(ct_wheel_count(&f->w), 0);
}

/* A shrinking timeout (ESTABLISHED 5 days -> CLOSE 10 s) is an O(1) re-file. */
static void test_shrink_refile(void)
{
    struct fake *f = &F;
    fake_setup(f, T_BASE, NS);
    for (unsigned i = 0; i < 64; i++)
        fake_file(f, i, T_BASE + 5 * DAY + i * NS);
    fake_advance(f, T_BASE + 100 * NS, 1000);
    unsigned r = f->nresolve;
    fake_file(f, 7, T_BASE + 110 * NS);
    CHECK(f->nresolve - r <= 4); /* a few neighbour updates, no walk */
    CHECK_EQ_U(ct_wheel_count(&f->w), 64);
    check_links(f);
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 110 * NS);
    CHECK_EQ_U(fake_advance(f, T_BASE + 110 * NS - 1, 1000), 0);
    CHECK_EQ_U(fake_advance(f, T_BASE + 110 * NS, 1000), 1);
    CHECK(!f->live[7]);
    fake_advance(f, T_BASE + 6 * DAY, 1000);
    CHECK_EQ_U(f->calls[7], 1);
    for (unsigned i = 0; i < 64; i++) {
        CHECK(!f->live[i]);
        if (i != 7)
            CHECK_EQ_U(f->expired_now[i], T_BASE + 6 * DAY);
    }
}

/* ---- changes during an advance ------------------------------------------------ */

static void hook_remove_and_insert(struct fake *f, unsigned idx)
{
    if (idx >= 10 || f->calls[idx] != 1 || f->ncalls != 1)
        return;
    /* On the first hand-out: remove five connections still pending in the
     * same slot, remove the one being handed out (already unfiled: no-op),
     * and file new ones, one with a past deadline. */
    unsigned removed = 0;
    for (unsigned i = 0; i < 10 && removed < 5; i++) {
        if (i == idx)
            continue;
        ct_wheel_remove(&f->w, &f->e[i].c);
        f->live[i] = 0;
        removed++;
    }
    ct_wheel_remove(&f->w, &f->e[idx].c);
    fake_file(f, 20, T_BASE + 2 * NS);
    fake_file(f, 21, T_BASE + 10 * NS + NS / 2);
    fake_file(f, 22, T_BASE + 12 * NS);
    check_links(f);
}

static void test_remove_during_advance(void)
{
    struct fake *f = &F;
    fake_setup(f, T_BASE, NS);
    for (unsigned i = 0; i < 10; i++)
        fake_file(f, i, T_BASE + 10 * NS);
    f->hook = hook_remove_and_insert;
    CHECK_EQ_U(fake_advance(f, T_BASE + 10 * NS, 100), 5);
    f->hook = NULL;
    unsigned alive = 0, handed = 0;
    for (unsigned i = 0; i < 10; i++) {
        alive += f->live[i];
        handed += f->calls[i];
    }
    CHECK_EQ_U(alive, 0);
    CHECK_EQ_U(handed, 5);
    CHECK_EQ_U(ct_wheel_count(&f->w), 3);
    check_links(f);
    /* Filed during the advance at tick 10: they wait for tick 11 and later. */
    CHECK_EQ_U(ct_wheel_next_due(&f->w), T_BASE + 11 * NS);
    CHECK_EQ_U(fake_advance(f, T_BASE + 11 * NS - 1, 100), 0);
    CHECK_EQ_U(fake_advance(f, T_BASE + 11 * NS, 100), 2);
    CHECK(!f->live[20] && !f->live[21] && f->live[22]);
    CHECK_EQ_U(fake_advance(f, T_BASE + 12 * NS, 100), 1);
    CHECK_EQ_U(ct_wheel_count(&f->w), 0);
}

/* ---- budget --------------------------------------------------------------------- */

static void test_budget_resume(void)
{
    struct fake *f = &F;
    fake_setup(f, T_BASE, NS);
    f->by_tick = 1;
    for (unsigned i = 0; i < 100; i++)
        fake_file(f, i, T_BASE + 5 * NS);
    for (unsigned i = 100; i < 150; i++)
        fake_file(f, i, T_BASE + 7 * NS);
    for (unsigned i = 150; i < 180; i++)
        fake_file(f, i, T_BASE + 3 * DAY);

    uint64_t now = T_BASE + 10 * NS;
    f->now = now;
    CHECK_EQ_I(ct_wheel_advance(&f->w, now, 0, fake_due, f), 0); /* budget 0: nothing */
    CHECK_EQ_U(ct_wheel_count(&f->w), 180);

    unsigned total = 0, calls = 0;
    int n;
    do {
        n = ct_wheel_advance(&f->w, now, 7, fake_due, f);
        CHECK(n >= 0 && n <= 7);
        total += (unsigned)n;
        calls++;
        check_links(f);
        if (n == 7 && total < 140)
            CHECK(ct_wheel_next_due(&f->w) <= now);
        if (calls == 2) {
            /* Pending connections wait: an earlier now hands none out. */
            f->now = T_BASE + NS;
            CHECK_EQ_I(ct_wheel_advance(&f->w, T_BASE + NS, 7, fake_due, f), 0);
            CHECK_EQ_U(total, 14);
            f->now = now;
        }
        if (calls == 3) {
            /* Mid-slot: drop ten still-pending connections, add five due
             * later in this same advance. */
            unsigned dropped = 0;
            for (unsigned i = 0; i < 100 && dropped < 10; i++) {
                if (f->live[i]) {
                    ct_wheel_remove(&f->w, &f->e[i].c);
                    f->live[i] = 0;
                    dropped++;
                }
            }
            CHECK_EQ_U(dropped, 10);
            for (unsigned i = 200; i < 205; i++)
                fake_file(f, i, T_BASE + 8 * NS);
            check_links(f);
        }
    } while (n == 7 && calls < 1000);
    CHECK_EQ_U(total, 145);
    CHECK_EQ_U(calls, 21); /* 20 full calls and one of 5 */
    CHECK(ct_wheel_next_due(&f->w) > now);
    CHECK_EQ_U(ct_wheel_count(&f->w), 30);
    /* Expired in tick order, each at its own tick, each once. */
    CHECK_EQ_U(f->nlog, 145);
    for (unsigned k = 0; k < f->nlog; k++) {
        unsigned idx = f->log_idx[k];
        CHECK_EQ_U(f->log_tick[k], ceil_div(f->deadline[idx], NS) * NS);
        if (k)
            CHECK(f->log_tick[k] >= f->log_tick[k - 1]);
        CHECK_EQ_U(f->calls[idx], 1);
    }
}

/* ---- large jumps ---------------------------------------------------------------- */

static void test_large_jump(void)
{
    struct fake *f = &F;

    /* Empty wheel: a 3-day jump is one step. */
    fake_setup(f, T_BASE, NS);
    uint64_t steps = f->w.steps;
    CHECK_EQ_U(fake_advance(f, T_BASE + 3 * DAY, 64), 0);
    CHECK(f->w.steps - steps <= 1);
    CHECK_EQ_U(f->w.cur, (T_BASE + 3 * DAY) / NS);

    /* One 5-day connection: a 3-day jump costs a few cascades, not 259200 ticks. */
    fake_setup(f, T_BASE, NS);
    fake_file(f, 0, T_BASE + 5 * DAY);
    fake_advance(f, T_BASE + 3 * DAY, 64);
    CHECK(f->live[0]);
    CHECK(f->calls[0] <= CT_WHEEL_LEVELS - 1);
    CHECK(f->w.steps <= CT_WHEEL_LEVELS);
    fake_advance(f, T_BASE + 5 * DAY, 64);
    CHECK(!f->live[0]);
    CHECK(f->calls[0] <= CT_WHEEL_LEVELS + 1);
    CHECK(f->w.steps <= 2 * CT_WHEEL_LEVELS);

    /* NCONN connections spread over 5 days; one 3-day jump. */
    rng_state = 12345;
    fake_setup(f, T_BASE, NS);
    for (unsigned i = 0; i < NCONN; i++)
        fake_file(f, i, T_BASE + NS + rng() % (5 * DAY));
    unsigned handed = fake_advance(f, T_BASE + 3 * DAY, 1u << 20);
    CHECK(handed <= CT_WHEEL_LEVELS * NCONN);
    CHECK(f->w.steps <= CT_WHEEL_LEVELS * NCONN + 1); /* vs 259200 ticks */
    for (unsigned i = 0; i < NCONN; i++)
        CHECK_EQ_I(f->live[i], f->deadline[i] > T_BASE + 3 * DAY);
    check_links(f);

    /* Resolution 1 ns: 5 days is 4.3e14 ticks, past the levels' 2^32: the
     * overflow list still expires it exactly, in few steps. */
    fake_setup(f, T_BASE, 1);
    f->by_tick = 1;
    fake_file(f, 0, T_BASE + 5 * DAY);
    fake_file(f, 1, T_BASE + 10 * NS); /* 1e10 ticks: overflow too */
    fake_file(f, 2, T_BASE + 1000);
    CHECK(ct_wheel_next_due(&f->w) > T_BASE && ct_wheel_next_due(&f->w) <= T_BASE + 1000);
    fake_advance(f, T_BASE + 3 * DAY, 64);
    CHECK_EQ_U(f->nlog, 2);
    CHECK(!f->live[1] && !f->live[2] && f->live[0]);
    CHECK_EQ_U(f->expired_tick[2], T_BASE + 1000);
    CHECK_EQ_U(f->expired_tick[1], T_BASE + 10 * NS);
    CHECK(f->w.steps <= 16);
    fake_advance(f, T_BASE + 5 * DAY - 1, 64);
    CHECK(f->live[0]);
    fake_advance(f, T_BASE + 5 * DAY, 64);
    CHECK(!f->live[0]);
    CHECK(f->calls[0] <= CT_WHEEL_LEVELS + 2);
    CHECK(f->w.steps <= 32);

    /* An overflow connection removed leaves no stale early event behind. */
    fake_setup(f, T_BASE, 1);
    fake_file(f, 0, T_BASE + 10 * NS);
    ct_wheel_remove(&f->w, &f->e[0].c);
    f->live[0] = 0;
    fake_file(f, 1, T_BASE + 5 * DAY);
    CHECK(ct_wheel_next_due(&f->w) > T_BASE + 4 * DAY);
    fake_advance(f, T_BASE + 4 * DAY, 64);
    CHECK_EQ_U(f->calls[1], 0);
}

/* ---- randomized against a reference model ------------------------------------------ */

struct expect {
    uint64_t tick;
    unsigned idx;
};

static int expect_cmp(const void *a, const void *b)
{
    const struct expect *x = a, *y = b;
    if (x->tick != y->tick)
        return x->tick < y->tick ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * 10,000 random inserts, removals, refreshes (real deadline moved later, the
 * wheel not told), shrinks (re-file earlier) and advances (small steps, and
 * jumps of up to 3 days, with random budgets). The reference model is the
 * sorted array of (tick it must expire at, id) of the live connections: in
 * tick mode, after each advance to now, the connections expired must be
 * exactly those of the array up to now's tick, in that order (to the tick);
 * in now mode, at least those and none whose deadline is after now.
 */
static void random_model(uint64_t res, uint64_t seed, int by_tick)
{
    struct fake *f = &F;
    static struct expect want[NCONN], got[LOG_MAX];
    rng_state = seed;
    uint64_t now = T_BASE + rng() % (1000 * NS);
    fake_setup(f, now, res);
    f->by_tick = by_tick;
    unsigned advances = 0;
    for (unsigned op = 0; op < 10000; op++) {
        unsigned r = (unsigned)(rng() % 100);
        unsigned idx = (unsigned)(rng() % NCONN);
        if (r < 35) {
            if (f->live[idx])
                continue;
            uint64_t d;
            switch (rng() % 4) {
            case 0: d = now + rng() % (3 * res + 1); break;
            case 1: d = now + rng() % (300 * NS); break;
            case 2: d = now + rng() % (5 * DAY); break;
            default: d = now - rng() % (10 * NS); break;
            }
            f->calls[idx] = 0;
            fake_file(f, idx, d);
        } else if (r < 45) {
            if (!f->live[idx])
                continue;
            ct_wheel_remove(&f->w, &f->e[idx].c);
            f->live[idx] = 0;
        } else if (r < 60) {
            if (!f->live[idx])
                continue;
            uint64_t d = now + 1 + rng() % (r < 55 ? 300 * NS : 5 * DAY);
            if (d > f->deadline[idx]) {
                f->deadline[idx] = d;
                f->due_tick[idx] = ceil_div(d, res);
            }
        } else if (r < 70) {
            if (!f->live[idx])
                continue;
            uint64_t d = now + rng() % (60 * NS);
            if (d < f->deadline[idx])
                fake_file(f, idx, d);
        } else {
            unsigned q = (unsigned)(rng() % 100);
            uint64_t delta = q < 60 ? rng() % (3 * res + 1)
                           : q < 90 ? rng() % (300 * NS)
                           : q < 98 ? rng() % DAY
                                    : rng() % (3 * DAY);
            now += delta;
            unsigned budget = rng() % 2 ? 1 + (unsigned)(rng() % 16) : 1u << 20;
            uint64_t target = now / res;
            unsigned nwant = 0;
            for (unsigned i = 0; i < NCONN; i++)
                if (f->live[i] && f->due_tick[i] <= target)
                    want[nwant++] = (struct expect){f->due_tick[i] * res, i};
            uint64_t deadline_copy[NCONN];
            memcpy(deadline_copy, f->deadline, sizeof(deadline_copy));
            f->nlog = 0;
            fake_advance(f, now, budget);
            advances++;
            if (f->nlog > LOG_MAX) {
                CHECK_FAIL_("log overflow");
                return;
            }
            for (unsigned k = 0; k < f->nlog; k++) {
                got[k] = (struct expect){f->log_tick[k], f->log_idx[k]};
                CHECK(deadline_copy[f->log_idx[k]] <= now);
                if (k)
                    CHECK(f->log_tick[k] >= f->log_tick[k - 1]);
            }
            if (by_tick) {
                /* Exactly the model's expirations, each at its tick. */
                qsort(want, nwant, sizeof(want[0]), expect_cmp);
                qsort(got, f->nlog, sizeof(got[0]), expect_cmp);
                CHECK_EQ_U(f->nlog, nwant);
                for (unsigned k = 0; k < nwant && k < f->nlog; k++) {
                    if (got[k].idx != want[k].idx || got[k].tick != want[k].tick) {
                        CHECK_FAIL_("op %u: expiry %u: got conn %u at %" PRIu64
                                    ", want conn %u at %" PRIu64,
                                    op, k, got[k].idx, got[k].tick, want[k].idx, want[k].tick);
                        return;
                    }
                }
            } else {
                /* Every connection due by now's tick expired. */
                for (unsigned k = 0; k < nwant; k++)
                    CHECK(!f->live[want[k].idx]);
            }
            /* Survivors are filed and were not due. */
            for (unsigned i = 0; i < NCONN; i++)
                if (f->live[i])
                    CHECK(f->due_tick[i] > target);
        }
        check_links(f);
        unsigned live = 0;
        for (unsigned i = 0; i < NCONN; i++)
            live += f->live[i];
        CHECK_EQ_U(ct_wheel_count(&f->w), live);
        if (check_failures_)
            return;
    }
    CHECK(advances > 2000);
}

static void test_random_model(void)
{
    random_model(NS, 0xC0FFEEull, 1);
    random_model(NS, 0xBADC0DEull, 0);
    random_model(10 * MS, 0x5EED5EEDull, 1);
    random_model(10 * MS, 0xFEEDull, 0);
    random_model(1, 0xDEADBEEFull, 1); /* long timeouts on the overflow list */
}

int main(void)
{
    RUN(test_init_errors);
    RUN(test_insert_remove_basics);
    RUN(test_deadlines_fire_within_one_tick);
    RUN(test_resolution_10ms);
    RUN(test_tick_by_tick);
    RUN(test_nothing_fires_early);
    RUN(test_refile_from_callback);
    RUN(test_refile_past_deadline);
    RUN(test_shrink_refile);
    RUN(test_remove_during_advance);
    RUN(test_budget_resume);
    RUN(test_large_jump);
    RUN(test_random_model);
    return check_summary();
}
