/*
 * Hierarchical timer wheel for connection expiry (Varghese & Lauck, "Hashed
 * and Hierarchical Timing Wheels", 1987). The design, the link encoding and
 * the contracts are in wheel.h; this file keeps two invariants:
 *
 * (1) Placement. A connection on level l, slot s was filed at a tick k with
 *     k > cur, k agreeing with cur above digit l, and s = digit l of k >
 *     digit l of cur. A connection on the overflow list has a tick in a later
 *     2^32-tick span than cur, and no smaller than overflow_min. Moving cur
 *     to any tick t up to the next event (the first tick of the first
 *     non-empty slot ahead) keeps this true for every slot except those that
 *     start exactly at t, which are then moved onto the pending lists.
 * (2) Pending. The pending lists hold the connections due at cur. They are
 *     only filled when cur moves, which happens only once they are empty, and
 *     nothing is ever inserted into them, so draining them always ends.
 */
#include "expiry/wheel.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>

#define SPAN_BITS (CT_WHEEL_LEVELS * CT_WHEEL_LEVEL_BITS) /* 32: ticks the levels cover */
#define SPAN_MASK ((UINT64_C(1) << SPAN_BITS) - 1)
#define SLOT_MASK (CT_WHEEL_SLOTS - 1)

static inline int is_tag(uint32_t link)
{
    return link >= CT_WHEEL_HEAD_TAG && link != CT_WHEEL_NONE;
}

static inline unsigned digit(uint64_t tick, unsigned level)
{
    return (unsigned)(tick >> (level * CT_WHEEL_LEVEL_BITS)) & SLOT_MASK;
}

static inline void bit_set(struct ct_wheel *w, unsigned list)
{
    w->occupied[list / CT_WHEEL_SLOTS][(list % CT_WHEEL_SLOTS) / 64] |= UINT64_C(1) << (list % 64);
}

static inline void bit_clear(struct ct_wheel *w, unsigned list)
{
    w->occupied[list / CT_WHEEL_SLOTS][(list % CT_WHEEL_SLOTS) / 64] &= ~(UINT64_C(1) << (list % 64));
}

/* Pushes c (named id) onto the front of list `list`. c must be unfiled. */
static void push(struct ct_wheel *w, unsigned list, uint32_t id, struct ct_conn *c)
{
    uint32_t first = w->head[list];
    c->timer_prev = CT_WHEEL_HEAD_TAG | list;
    c->timer_next = first;
    if (first != CT_WHEEL_NONE)
        w->resolve(w->ctx, first)->timer_prev = id;
    w->head[list] = id;
    if (list < CT_WHEEL_OVERFLOW)
        bit_set(w, list);
    w->filed++;
}

/* Takes a filed c off its list and marks it unfiled. */
static void unlink_conn(struct ct_wheel *w, struct ct_conn *c)
{
    uint32_t prev = c->timer_prev, next = c->timer_next;
    if (next != CT_WHEEL_NONE)
        w->resolve(w->ctx, next)->timer_prev = prev;
    if (is_tag(prev)) {
        unsigned list = prev - CT_WHEEL_HEAD_TAG;
        w->head[list] = next;
        if (next == CT_WHEEL_NONE && list < CT_WHEEL_OVERFLOW)
            bit_clear(w, list);
        else if (next == CT_WHEEL_NONE && list == CT_WHEEL_OVERFLOW)
            w->overflow_min = UINT64_MAX; /* forget a stale lower bound */
    } else {
        w->resolve(w->ctx, prev)->timer_next = next;
    }
    c->timer_prev = CT_WHEEL_NONE;
    c->timer_next = CT_WHEEL_NONE;
    w->filed--;
}

/* Moves the whole of list `from` onto the empty list `to`, in O(1). */
static void splice(struct ct_wheel *w, unsigned from, unsigned to)
{
    uint32_t first = w->head[from];
    w->head[to] = first;
    w->head[from] = CT_WHEEL_NONE;
    w->resolve(w->ctx, first)->timer_prev = CT_WHEEL_HEAD_TAG | to;
    if (from < CT_WHEEL_OVERFLOW)
        bit_clear(w, from);
}

/* The tick a deadline is filed at: the first tick not before it, after cur. */
static uint64_t deadline_tick(const struct ct_wheel *w, uint64_t deadline_ns)
{
    uint64_t k = deadline_ns / w->resolution + (deadline_ns % w->resolution != 0);
    return k > w->cur ? k : w->cur + 1;
}

/* The list a tick k > cur belongs on (invariant 1). */
static unsigned list_of(const struct ct_wheel *w, uint64_t k)
{
    uint64_t diff = k ^ w->cur;
    if (diff >> SPAN_BITS)
        return CT_WHEEL_OVERFLOW;
    unsigned level = (unsigned)(63 - __builtin_clzll(diff)) / CT_WHEEL_LEVEL_BITS;
    return level * CT_WHEEL_SLOTS + digit(k, level);
}

/* First set bit of a level's bitmap strictly after position pos, or -1. */
static int next_slot(const uint64_t *bm, unsigned pos)
{
    unsigned i = pos + 1;
    if (i >= CT_WHEEL_SLOTS)
        return -1;
    unsigned word = i / 64;
    uint64_t m = bm[word] & (~UINT64_C(0) << (i % 64));
    for (;;) {
        if (m)
            return (int)(word * 64 + (unsigned)__builtin_ctzll(m));
        if (++word == CT_WHEEL_BITMAP_WORDS)
            return -1;
        m = bm[word];
    }
}

/*
 * The first tick after cur at which a slot comes due, or UINT64_MAX. Levels
 * are scanned upward: every slot ahead on level l starts before every slot
 * ahead on level l + 1, so the first non-empty one found is the next event.
 */
static uint64_t next_event(const struct ct_wheel *w)
{
    for (unsigned l = 0; l < CT_WHEEL_LEVELS; l++) {
        int s = next_slot(w->occupied[l], digit(w->cur, l));
        if (s >= 0) {
            unsigned shift = l * CT_WHEEL_LEVEL_BITS;
            uint64_t round = ~((UINT64_C(1) << (shift + CT_WHEEL_LEVEL_BITS)) - 1);
            return (w->cur & round) | ((uint64_t)s << shift);
        }
    }
    if (w->head[CT_WHEEL_OVERFLOW] != CT_WHEEL_NONE) {
        uint64_t span = w->cur >> SPAN_BITS;
        if (span == UINT64_MAX >> SPAN_BITS)
            return UINT64_MAX; /* no later span exists */
        uint64_t next_span = (span + 1) << SPAN_BITS;
        uint64_t min_span = w->overflow_min & ~SPAN_MASK;
        return min_span > next_span ? min_span : next_span;
    }
    return UINT64_MAX;
}

/* Moves cur to tick t (at most the next event) and makes its due slots pending. */
static void move_to(struct ct_wheel *w, uint64_t t)
{
    w->cur = t;
    w->steps++;
    for (unsigned l = 0; l < CT_WHEEL_LEVELS; l++) {
        unsigned shift = l * CT_WHEEL_LEVEL_BITS;
        if (l > 0 && (t & ((UINT64_C(1) << shift) - 1)) != 0)
            break; /* lower digits not zero: no higher slot starts here */
        unsigned list = l * CT_WHEEL_SLOTS + digit(t, l);
        if (w->head[list] != CT_WHEEL_NONE)
            splice(w, list, CT_WHEEL_PENDING + l);
    }
    if ((t & SPAN_MASK) == 0 && w->head[CT_WHEEL_OVERFLOW] != CT_WHEEL_NONE &&
        t >= (w->overflow_min & ~SPAN_MASK)) {
        splice(w, CT_WHEEL_OVERFLOW, CT_WHEEL_PENDING + CT_WHEEL_LEVELS);
        w->overflow_min = UINT64_MAX;
    }
}

int ct_wheel_init(struct ct_wheel *w, uint64_t now_ns, uint64_t resolution_ns,
                  ct_wheel_resolve_fn resolve, void *ctx)
{
    if (!w || !resolve || resolution_ns == 0)
        return -EINVAL;
    w->resolution = resolution_ns;
    w->cur = now_ns / resolution_ns;
    w->overflow_min = UINT64_MAX;
    w->steps = 0;
    w->resolve = resolve;
    w->ctx = ctx;
    w->filed = 0;
    w->pad = 0;
    for (unsigned l = 0; l < CT_WHEEL_LEVELS; l++)
        for (unsigned i = 0; i < CT_WHEEL_BITMAP_WORDS; i++)
            w->occupied[l][i] = 0;
    for (unsigned i = 0; i < CT_WHEEL_LISTS; i++)
        w->head[i] = CT_WHEEL_NONE;
    return 0;
}

int ct_wheel_insert(struct ct_wheel *w, uint32_t id, struct ct_conn *c, uint64_t deadline_ns)
{
    if (!w || !c || id > CT_WHEEL_ID_MAX)
        return -EINVAL;
    if (ct_wheel_is_filed(c))
        unlink_conn(w, c);
    uint64_t k = deadline_tick(w, deadline_ns);
    unsigned list = list_of(w, k);
    if (list == CT_WHEEL_OVERFLOW && k < w->overflow_min)
        w->overflow_min = k;
    push(w, list, id, c);
    return 0;
}

void ct_wheel_remove(struct ct_wheel *w, struct ct_conn *c)
{
    if (!w || !c || !ct_wheel_is_filed(c))
        return;
    unlink_conn(w, c);
}

int ct_wheel_advance(struct ct_wheel *w, uint64_t now_ns, unsigned budget, ct_wheel_due_fn fn,
                     void *arg)
{
    if (!w || !fn)
        return -EINVAL;
    uint64_t target = now_ns / w->resolution;
    if (target < w->cur)
        return 0;
    if (budget > INT_MAX)
        budget = INT_MAX;
    unsigned examined = 0;
    for (;;) {
        for (unsigned p = CT_WHEEL_PENDING; p < CT_WHEEL_PENDING + CT_WHEEL_NPENDING; p++) {
            while (w->head[p] != CT_WHEEL_NONE) {
                if (examined >= budget)
                    return (int)examined;
                uint32_t id = w->head[p];
                struct ct_conn *c = w->resolve(w->ctx, id);
                unlink_conn(w, c);
                examined++;
                uint64_t deadline = fn(arg, id, c, w->cur * w->resolution);
                if (deadline != CT_WHEEL_EXPIRED)
                    ct_wheel_insert(w, id, c, deadline);
            }
        }
        if (w->cur >= target)
            return (int)examined;
        uint64_t e = next_event(w);
        move_to(w, e < target ? e : target);
    }
}

uint64_t ct_wheel_next_due(const struct ct_wheel *w)
{
    if (!w)
        return UINT64_MAX;
    for (unsigned p = CT_WHEEL_PENDING; p < CT_WHEEL_PENDING + CT_WHEEL_NPENDING; p++)
        if (w->head[p] != CT_WHEEL_NONE)
            return w->cur * w->resolution;
    uint64_t e = next_event(w);
    if (e == UINT64_MAX || e > UINT64_MAX / w->resolution)
        return UINT64_MAX;
    return e * w->resolution;
}
