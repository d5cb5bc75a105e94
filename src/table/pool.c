/*
 * Entry pools: the free lists and high-water marks of the two pools, the
 * shared tables' per-thread magazines in front of them, and the entries a
 * call retired. The design is in pool.h.
 */
#include <string.h>

#include "table/ext.h"
#include "table/pool.h"
#include "table/shared.h"
#include "table/table.h"

/*
 * What ct_pool_entry_lines() (pool.h) relies on, in a page-aligned pool
 * where entries start at byte 0 or 32 of a line: a 96-byte entry ends
 * within the next line, 128-byte entries fill line pairs exactly, and a
 * 160-byte entry ends within its third line.
 */
_Static_assert(CT_ENTRY4_SIZE(0) + CT_ENTRY_ALIGN <= 2 * CT_CACHE_LINE,
               "a 96-byte entry spans two lines wherever it starts");
_Static_assert(CT_ENTRY4_SIZE(1) == 2 * CT_CACHE_LINE && CT_ENTRY6_SIZE(0) == 2 * CT_CACHE_LINE,
               "128-byte entries fill line pairs");
_Static_assert(CT_ENTRY6_SIZE(1) > 2 * CT_CACHE_LINE &&
                   CT_ENTRY6_SIZE(1) + CT_ENTRY_ALIGN <= CT_ENTRY_LINES_MAX * CT_CACHE_LINE,
               "a 160-byte entry spans three lines wherever it starts");

void ct_pool_init(struct ct_pool *p, uint32_t cap, uint32_t stride, uint32_t body_off)
{
    p->cap = cap;
    p->stride = stride;
    p->body_off = body_off;
    p->hiwater = 0;
    p->free_head = CT_ID_NONE;
    p->map_len = ((size_t)cap * stride + 4095) / 4096 * 4096;
    /* stride = odd << shift; the inverse of odd modulo 2^64 by Newton's
     * iteration (x = odd is right to 3 bits, each step doubles them). */
    uint32_t shift = (uint32_t)__builtin_ctz(stride);
    uint64_t odd = stride >> shift, x = odd;
    for (unsigned i = 0; i < 5; i++)
        x *= 2 - odd * x;
    p->stride_shift = shift;
    p->stride_inv = x;
}

/* ---- the free lists ------------------------------------------------------------ */

/* Takes a free index from p's list or above its high-water mark; CT_ID_NONE
 * when the pool is exhausted. A shared table's caller holds pool_lock. */
static uint32_t pool_take(struct ct_table *t, struct ct_pool *p, unsigned v6)
{
    if (p->free_head != CT_ID_NONE) {
        uint32_t idx = p->free_head;
        p->free_head = ct_table_conn_at(t, idx | (v6 ? CT_ID_V6 : 0))->timer_next;
        return idx;
    }
    return p->hiwater < p->cap ? p->hiwater++ : CT_ID_NONE;
}

/* Puts entry c, at pool index idx, on p's free list (its timer_next is the
 * link). */
static void pool_push(struct ct_pool *p, struct ct_conn *c, uint32_t idx)
{
    c->timer_next = p->free_head;
    p->free_head = idx;
}

/* Puts back a free index. */
static void pool_give(struct ct_table *t, struct ct_pool *p, unsigned v6, uint32_t idx)
{
    pool_push(p, ct_table_conn_at(t, idx | (v6 ? CT_ID_V6 : 0)), idx);
}

/* Marks a freed entry: it keeps only its family bit, so without CONFIRMED
 * iteration skips it. */
static void conn_mark_free(struct ct_conn *c, unsigned v6)
{
    c->status = v6 ? CT_STATUS_PRIV_IPV6 : 0;
}

/* A zeroed entry at pool index idx. */
static struct ct_conn *conn_init(struct ct_pool *p, unsigned v6, uint32_t idx)
{
    uint8_t *e = p->base + (size_t)idx * p->stride;
    memset(e, 0, p->stride);
    struct ct_conn *c = (struct ct_conn *)(void *)(e + p->body_off);
    c->status = v6 ? CT_STATUS_PRIV_IPV6 : 0;
    c->timer_prev = CT_ID_NONE;
    c->timer_next = CT_ID_NONE;
    return c;
}

/* ---- magazines ---------------------------------------------------------------- */

/*
 * Per-thread entry caches of shared tables (magazines: Bonwick and Adams,
 * "Magazines and Vmem", USENIX 2001; design and bound in shared.h). A thread
 * refills its empty magazine with CT_SHARED_MAG_BATCH indices under one
 * pool_lock acquisition and, when a free finds it full, gives
 * CT_SHARED_MAG_BATCH back under one.
 */
static int mag_refill(struct ct_table *t, struct ct_tslot *me, unsigned v6)
    CT_EXCLUDES(t->sh->pool_lock)
{
    uint32_t n = 0;
    ct_spin_lock(&t->sh->pool_lock);
    struct ct_pool *p = ct_shared_pool(t, v6);
    while (n < CT_SHARED_MAG_BATCH) {
        uint32_t idx = pool_take(t, p, v6);
        if (idx == CT_ID_NONE)
            break;
        me->mag[v6][n++] = idx;
    }
    ct_spin_unlock(&t->sh->pool_lock);
    /* Reversed, so that the pops hand the batch out in the pool's order
     * (ascending addresses on a fresh pool). */
    for (uint32_t i = 0; i < n / 2; i++) {
        uint32_t x = me->mag[v6][i];
        me->mag[v6][i] = me->mag[v6][n - 1 - i];
        me->mag[v6][n - 1 - i] = x;
    }
    me->nmag[v6] = n;
    return n != 0;
}

/* Gives back the magazine's oldest n indices (the bottom of the stack). */
static void mag_flush(struct ct_table *t, struct ct_tslot *me, unsigned v6, uint32_t n)
    CT_EXCLUDES(t->sh->pool_lock)
{
    ct_spin_lock(&t->sh->pool_lock);
    struct ct_pool *p = ct_shared_pool(t, v6);
    for (uint32_t i = 0; i < n; i++)
        pool_give(t, p, v6, me->mag[v6][i]);
    ct_spin_unlock(&t->sh->pool_lock);
    memmove(&me->mag[v6][0], &me->mag[v6][n], (me->nmag[v6] - n) * sizeof(me->mag[v6][0]));
    me->nmag[v6] -= n;
}

void ct_pool_mag_put(struct ct_table *t, struct ct_tslot *me, struct ct_conn *c)
{
    unsigned v6 = ct_conn_is_v6(c);
    conn_mark_free(c, v6);
    if (CT_UNLIKELY(me->nmag[v6] == CT_SHARED_MAG))
        mag_flush(t, me, v6, CT_SHARED_MAG_BATCH);
    me->mag[v6][me->nmag[v6]++] = ct_table_conn_id(t, c) & (CT_ID_V6 - 1);
}

void ct_pool_mag_drain(struct ct_table *t, struct ct_tslot *me)
{
    for (unsigned v6 = 0; v6 < 2; v6++)
        if (me->nmag[v6])
            mag_flush(t, me, v6, me->nmag[v6]);
}

/* ---- handing out and giving back ------------------------------------------------ */

/* ct_table_conn_alloc() without the extensions. */
static CT_ALWAYS_INLINE struct ct_conn *conn_alloc(struct ct_table *t, unsigned v6)
{
    v6 = v6 != 0;
    struct ct_pool *p = &t->pool[v6];
    if (CT_LIKELY(!t->sh)) {
        uint32_t idx = pool_take(t, p, v6);
        return idx == CT_ID_NONE ? NULL : conn_init(p, v6, idx);
    }
    struct ct_tslot *me = ct_shared_self(t);
    if (CT_UNLIKELY(!me)) {
        /* Not inside a call on t: straight from the pool. */
        ct_spin_lock(&t->sh->pool_lock);
        uint32_t idx = pool_take(t, ct_shared_pool(t, v6), v6);
        ct_spin_unlock(&t->sh->pool_lock);
        return idx == CT_ID_NONE ? NULL : conn_init(p, v6, idx);
    }
    if (CT_UNLIKELY(me->nmag[v6] == 0) && !mag_refill(t, me, v6)) {
        /* The pool's spare entries all wait for reclamation: free what
         * other threads' progress since this call began has made safe
         * (into this thread's magazine), and refill if that freed none. */
        ct_shared_reclaim(t);
        if (me->nmag[v6] == 0 && !mag_refill(t, me, v6))
            return NULL;
    }
    return conn_init(p, v6, me->mag[v6][--me->nmag[v6]]);
}

/* An entry with its extension slots zeroed (ext.h). */
static CT_NOINLINE struct ct_conn *conn_alloc_ext(struct ct_table *t, unsigned v6)
{
    struct ct_conn *c = conn_alloc(t, v6);
    if (c)
        ct_table_ext_zero(t, ct_table_conn_id(t, c));
    return c;
}

struct ct_conn *ct_table_conn_alloc(struct ct_table *t, unsigned v6)
{
    /* The one test a table without extensions pays, on entry, while t is
     * still in its argument register. */
    if (CT_UNLIKELY(t->ext != NULL))
        return conn_alloc_ext(t, v6);
    return conn_alloc(t, v6);
}

/* Marks entry c free and puts it on the free list of its pool p. */
static void conn_free_to(struct ct_table *t, struct ct_pool *p, struct ct_conn *c)
{
    conn_mark_free(c, ct_conn_is_v6(c));
    pool_push(p, c, ct_table_conn_id(t, c) & (CT_ID_V6 - 1));
}

void ct_table_conn_free(struct ct_table *t, struct ct_conn *c)
{
    if (CT_LIKELY(!t->sh)) {
        conn_free_to(t, &t->pool[ct_conn_is_v6(c)], c);
        return;
    }
    struct ct_tslot *me = ct_shared_self(t);
    if (CT_LIKELY(me != NULL)) {
        ct_pool_mag_put(t, me, c);
        return;
    }
    ct_spin_lock(&t->sh->pool_lock);
    ct_table_conn_free_locked(t, c);
    ct_spin_unlock(&t->sh->pool_lock);
}

void ct_table_conn_free_locked(struct ct_table *t, struct ct_conn *c)
{
    conn_free_to(t, ct_shared_pool(t, ct_conn_is_v6(c)), c);
}

void ct_table_reclaim(struct ct_table *t)
{
    for (uint32_t i = 0; i < t->nretired; i++)
        ct_table_conn_free(t, ct_table_conn_at(t, t->retired[i]));
    t->nretired = 0;
}
