/*
 * Entry pools of the connection table: where connection entries live, how
 * they are handed out and given back, in both concurrency modes.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * Two preallocated pools, IPv4 and IPv6, each an array of entries of one
 * size, the pool's stride, chosen per table (conn.h): IPv4 96 bytes, or 128
 * with the per-connection counters (the default; CT_TABLE_F_NO_ACCT leaves
 * them out); IPv6 128, or 160 with counters. Strides are multiples of 32 and
 * the pools page-aligned, so an entry spans two lines (96, 128) or three
 * (160) wherever it lies. Each pool is one anonymous mapping with
 * MAP_NORESERVE sized for max_connections entries (plus the few entries a
 * burst may retire, table.h's "Retired entries"), so only touched pages cost
 * memory; CT_TABLE_F_PREFAULT touches every page at creation. Entries are
 * handed out from a LIFO free list (a freed entry is still warm in cache)
 * and, when the list is empty, from the never-used tail of the pool (a
 * high-water mark), so creation does not have to touch the whole pool to
 * build the list. The free list is threaded through conn->timer_next, which
 * no timer uses while an entry is free.
 *
 * Shared tables put a per-thread cache in front of each pool (magazines:
 * Bonwick and Adams, "Magazines and Vmem", USENIX 2001; design and bound in
 * shared.h, "Entry caches"), so that creating and freeing connections takes
 * pool_lock once per CT_SHARED_MAG_BATCH entries. The magazines live in the
 * thread slots (struct ct_tslot); pool.c is the only code that fills and
 * empties them. When a shared table's pool and the caller's magazine are
 * both empty, an allocation runs one reclaim pass of the caller's retired
 * entries (ct_shared_reclaim()) before it gives up.
 *
 * Retired entries of a table of one thread (table.h, "Retired entries")
 * return here through ct_table_reclaim().
 */
#ifndef CT_TABLE_POOL_H
#define CT_TABLE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

struct ct_conn;
struct ct_table;
struct ct_tslot;

/* One entry pool. In a shared table hiwater and free_head are [P], reached
 * through ct_shared_pool(); the rest is [I] (legend in table/shared.h). */
struct ct_pool {
    uint8_t *base;
    size_t map_len;
    uint32_t stride;    /* bytes per entry: CT_ENTRY4_SIZE() or CT_ENTRY6_SIZE(), by accounting */
    uint32_t cap;       /* entries in the mapping */
    uint32_t hiwater;   /* entries [0, hiwater) have been handed out at least once */
    uint32_t free_head; /* LIFO free list through conn->timer_next; CT_ID_NONE ends it */
    uint32_t body_off;  /* offset of struct ct_conn inside the entry (the key's size) */
    uint32_t stride_shift; /* stride = odd << stride_shift */
    uint64_t stride_inv;   /* odd * stride_inv == 1 (mod 2^64): exact division by the stride */
};

/* Sets up pool p's bookkeeping for cap entries of `stride` bytes whose body
 * starts body_off bytes in; the caller maps p->map_len bytes at p->base. */
void ct_pool_init(struct ct_pool *p, uint32_t cap, uint32_t stride, uint32_t body_off);

/*
 * The cache lines an entry of pool p spans, wherever it lies: 2 for strides
 * up to 128, 3 above. The pool is page-aligned and strides are multiples of
 * CT_ENTRY_ALIGN, so a 96-byte entry starts at byte 0 or 32 of a line and
 * ends within the next one, a 128-byte entry fills two lines exactly (it
 * starts at byte 0 of a 128-byte pair), and a 160-byte entry starting at 0
 * or 32 ends in the third line. Checked for every stride in test_acct.c.
 */
#define CT_ENTRY_LINES_MAX 3u
static inline unsigned ct_pool_entry_lines(const struct ct_pool *p)
{
    return p->stride > 2 * CT_CACHE_LINE ? 3 : 2;
}

/*
 * Prefetches, for writing, every line of entry idx of pool p: bytes 0, 64
 * and, for a three-line entry, 128 each lie in a different line of it.
 * Keep it straight-line: GCC 12 at -O3 deleted a form that collected the
 * addresses in an array and prefetched them in a loop (a loop whose only
 * effect is prefetching counts as dead code), and the burst path silently
 * lost its entry prefetch.
 */
static inline void ct_pool_prefetch_entry(const struct ct_pool *p, uint32_t idx)
{
    const uint8_t *e = p->base + (size_t)idx * p->stride;
    CT_PREFETCH_W(e);
    CT_PREFETCH_W(e + CT_CACHE_LINE);
    if (ct_pool_entry_lines(p) > 2)
        CT_PREFETCH_W(e + 2 * CT_CACHE_LINE);
}

/* Hands out a zeroed entry of the family with its private family bit set, or NULL. */
struct ct_conn *ct_table_conn_alloc(struct ct_table *t, unsigned v6);

/* Returns an entry that was never inserted to the free list at once. */
void ct_table_conn_free(struct ct_table *t, struct ct_conn *c);

/* Frees the entries retired since the last call (table.h, "Retired
 * entries"). */
void ct_table_reclaim(struct ct_table *t);

/* Shared tables: puts a free entry in thread slot me's magazine (giving a
 * batch back to the pool when it is full); gives the whole magazine back. */
void ct_pool_mag_put(struct ct_table *t, struct ct_tslot *me, struct ct_conn *c);
void ct_pool_mag_drain(struct ct_table *t, struct ct_tslot *me);
/* ct_table_conn_free_locked(), for a caller holding a shared table's
 * pool_lock, is declared with its lock requirement in table/shared.h. */

#endif
