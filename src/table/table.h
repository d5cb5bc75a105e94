/*
 * Private interface of the connection table: the hash index, the entry
 * pools, connection ids, insertion, lookup and removal.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * Goal: an established packet at 10 million connections should cost about two
 * cache misses: the bucket line of the index, then the entry's lines, which
 * are prefetched together (the burst path overlaps these misses across the
 * packets of a burst, after DPDK's two-phase bulk lookup).
 *
 * Entries. Two preallocated pools, IPv4 and IPv6, each an array of entries
 * of one size, the pool's stride, chosen per table (conn.h): IPv4 96 bytes,
 * or 128 with the per-connection counters (the default; CT_TABLE_F_NO_ACCT
 * leaves them out); IPv6 128, or 160 with counters. Strides are multiples of
 * 32 and the pools page-aligned, so an entry spans two lines (96, 128) or
 * three (160) wherever it lies. Each pool
 * is one anonymous mapping with MAP_NORESERVE sized for max_connections
 * entries (plus the few entries a burst may retire, see "Retired entries"),
 * so only touched pages cost memory; CT_TABLE_F_PREFAULT touches every page
 * at creation. Entries are handed out from a LIFO free list (a freed entry is
 * still warm in cache) and, when the list is empty, from the never-used tail
 * of the pool (a high-water mark), so creation does not have to touch the
 * whole pool to build the list. The free list is threaded through
 * conn->timer_next, which no timer uses while an entry is free.
 *
 * Connection ids. A connection is named inside the table by a 32-bit id:
 *     id  = pool index | CT_ID_V6 (bit 30) for the IPv6 pool;
 *     ref = id << 1 | direction        (what an index slot stores).
 * Pool indexes stay below 2^30 (max_connections is at most 2^30), so a ref
 * uses all 32 bits at most. id -> handle is base + index * stride + the
 * key's size (one multiply by the pool's stride); handle -> id divides the
 * offset by the stride exactly, as a shift and a multiply by the inverse of
 * the stride's odd part modulo 2^64 (96 = 3 << 5, 160 = 5 << 5), never with
 * a division instruction.
 *
 * Index. An array of nbuckets 64-byte buckets (one cache line each):
 *     uint16_t sig[9]   16-bit signature of the hash (top bits), 0 = empty
 *     uint16_t ovf      how many tuples homed at or before this bucket are
 *                       stored after it (see probing)
 *     uint32_t seq      reserved for the per-bucket seqlock of shared tables
 *     uint32_t ref[9]   connection id << 1 | direction
 *     uint32_t spare
 * Both tuples of every connection are indexed, so a reply-direction packet is
 * found as directly as an original one. The top 32 bits of the hash choose
 * the home bucket (multiply-shift range reduction, so nbuckets is any
 * count), the low 16 bits are the signature; a computed signature of 0 is
 * replaced by 1 so that 0 can mean "empty" and a zeroed (untouched) index is
 * an empty index. A lookup compares the 9 signatures of the home bucket (all
 * in the one line) and reads an entry only on a signature match: with at most
 * 0.75 tuples per slot the chance of a false signature match per lookup is
 * about 9 / 65536, so a hit costs the bucket line plus the entry, and a miss
 * (a NEW packet) usually only the bucket line.
 *
 * Probing: bucketised linear probing with a cap. A tuple goes into the first
 * bucket with a free slot among home, home+1, ... home+CT_PROBE_MAX-1 (wrapping);
 * every bucket passed over gets its ovf count raised. A lookup stops at the
 * first bucket whose ovf is 0: nothing homed at or before it lies further on.
 * Removal lowers the counts again, so deletions need no tombstones and never
 * lengthen later lookups. When all CT_PROBE_MAX buckets are full the insert is
 * refused (stats.probe_limit, verdict INVALID PROBE_LIMIT). The index has
 * ceil(2 * max_connections / (9 * 0.75)) buckets (CT_INDEX_LOAD_PCT), so a
 * full table fills 75 % of the slots: 19 bytes of index per connection
 * (the power-of-two sizing before cost 27 to 34). Linear probing at that
 * load has runs longer than the old cap of 8 buckets (a simulation of 10 M
 * connections with random hashes: 4,000 inserts refused at a cap of 8, 4 at
 * 24, none at 32; at 85 % load still 60,000 at 8). 32 is still too close:
 * the longest run of linear probing grows as ln(n) / (a - 1 - ln a) slots at
 * load a (Knuth; Pittel 1987), about 390 slots or 43 buckets for 2 million
 * tuples at a = 0.75 and 450 slots for 20 million, and ctbench's 1 M IPv6
 * fill did hit a cap of 32 now and then. CT_PROBE_MAX is 128 buckets, a
 * margin of 2.5 over the expected longest run at 10 M connections; the cap
 * only bounds what a flood could do, since lookups stop at ovf 0. A
 * lookup walks only while ovf says something homed earlier lies further on:
 * about 95 % of tuples sit in their home bucket, and the next bucket is the
 * adjacent line, which the hardware prefetcher streams. (Cuckoo or
 * two-choice schemes would bound the probe length but cost a second line on
 * every miss and make insertion move entries, which a seqlocked shared
 * table would pay for in retries; linear probing keeps misses and inserts on
 * one line.)
 *
 * Hash: NH (the UMAC hash) over the compact 16-byte IPv4 key or the 40-byte
 * IPv6 key, keyed with 32-bit words derived from 128 random bits per table
 * (getrandom(), or the configured key with CT_TABLE_F_FIXED_KEY), then an
 * invertible 64-bit mix (ct_table_hash4(), below). Flood resistance, argued
 * honestly: for any two distinct keys the chance over the secret that their
 * 64-bit hashes collide is at most 2^-32 (NH is 2^-32-almost-universal and
 * the mix is a bijection), and no output is ever shown outside the table, so
 * a remote party who cannot read the secret cannot aim connections at one
 * bucket except by guessing. NH is not a pseudo-random function as SipHash
 * is: an attacker who could observe many hash values (timing of bucket
 * overflows) might learn about the key, and bucket-level collisions are not
 * bounded by the 2^-32 figure. What bounds the damage is the probe cap: a
 * lookup never reads more than CT_PROBE_MAX bucket lines, and a flood that
 * did concentrate tuples would get inserts refused (PROBE_LIMIT), not a
 * quadratic slowdown. The reason to leave SipHash-1-3: it cost about 100
 * instructions per packet (16 bytes: two compression and three finalisation
 * rounds), NH plus the mix about 15 (callgrind, established IPv4 traffic:
 * 1226 -> 1075 instructions per packet with the timer change below). The
 * hash is computed once per packet (stage 1) and serves the bucket, the
 * signature and stage 3's re-check. Tests may replace the hash
 * (ct_table_set_hash_hook()).
 *
 * Reply tuple: not stored. ct_table_reply_key4/6() is the one place that
 * derives it (the inverse of the original, in the reply zone), and
 * ct_table_reply_match4() the one that compares a key with it without
 * building it; NAT will keep rewritten reply tuples in a side array indexed
 * like the pool and look there first.
 *
 * Cache-line budget of an established IPv4 packet: 1 bucket line (signature
 * compare) + 2 entry lines (key, times and state on the first; the rest of
 * the TCP window state, and the counters when kept, on the second; conn.h
 * has the map for each stride), prefetched together by
 * ct_pool_prefetch_entry(); nothing else of the table is touched. IPv6: 1
 * bucket line + 2 entry lines without counters, 3 with.
 *
 * Retired entries: a connection removed while a call is running (closed,
 * replaced, expired on lookup) leaves the index at once but its entry is only
 * put back on the free list at the start of the next call that processes
 * packets (ct_table_reclaim()), so that a verdict's handle stays readable
 * (status DYING) until then, as ctrack/conn.h promises, and a later packet of
 * the same burst cannot reuse the entry under an earlier verdict.
 *
 * Removal: every path that ends a connection goes through
 * ct_table_conn_remove() (report it to the destroy callback, unlink both
 * tuples, take it off the timer wheel, retire the entry, count it) or, from
 * calls that invalidate handles anyway (ct_expire, flush, drain),
 * ct_table_conn_end(), which frees the entry at once.
 *
 * Timer wheel (src/expiry/wheel.h, docs/lifecycle.md): every live connection
 * is filed at a deadline no later than its real one (last_seen + timeout in
 * force). ct_table_insert() files it; a packet only moves last_seen (lazy
 * refresh) unless it shortens the timeout in force so that the real deadline
 * moves earlier, and then the connection is re-filed. The wheel is re-based
 * on the first insert after it emptied, so a table created at time 0 and fed
 * epoch timestamps does not start with a huge jump.
 */
#ifndef CT_TABLE_TABLE_H
#define CT_TABLE_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/compiler.h"
#include "base/siphash.h"
#include "ctrack/expiry.h"
#include "ctrack/table.h"
#include "expiry/wheel.h"
#include "proto/proto.h"
#include "table/conn.h"
#include "zone/zone.h"

#define CT_BUCKET_SLOTS 9
#define CT_PROBE_MAX 128        /* buckets one tuple may be placed past its home, + 1 */
#define CT_INDEX_LOAD_PCT 75    /* share of index slots in use when the table is full */
#define CT_RETIRE_MAX (4 * CT_BURST_MAX)
#define CT_ID_V6 (1u << 30)
#define CT_ID_NONE UINT32_MAX

struct ct_bucket {
    uint16_t sig[CT_BUCKET_SLOTS];
    uint16_t ovf;
    uint32_t seq;
    uint32_t ref[CT_BUCKET_SLOTS];
    uint32_t spare;
} CT_ALIGNED(64);
_Static_assert(sizeof(struct ct_bucket) == 64, "a bucket is one cache line");

/* One entry pool. */
struct ct_pool {
    uint8_t *base;
    size_t map_len;
    uint32_t stride;    /* bytes per entry: CT_ENTRY4_SIZE() or CT_ENTRY6_SIZE() of the table's accounting */
    uint32_t cap;       /* entries in the mapping */
    uint32_t hiwater;   /* entries [0, hiwater) have been handed out at least once */
    uint32_t free_head; /* LIFO free list through conn->timer_next; CT_ID_NONE ends it */
    uint32_t body_off;  /* offset of struct ct_conn inside the entry (the key's size) */
    uint32_t stride_shift; /* stride = odd << stride_shift */
    uint64_t stride_inv;   /* odd * stride_inv == 1 (mod 2^64): exact division by the stride */
};

/* Replacement hash for tests: must be a pure function of the key bytes. */
typedef uint64_t (*ct_table_hash_fn)(const void *key, size_t len);

/*
 * Why a connection is removed (which counter besides `deleted` counts it).
 * The values are those of the public enum ct_end_reason that the destroy
 * callback receives.
 */
enum ct_remove_cause {
    CT_RM_DELETE = CT_END_CLOSED,       /* the tracker closed it, or by request */
    CT_RM_EXPIRED = CT_END_EXPIRED,     /* timed out */
    CT_RM_REPLACED = CT_END_REPLACED,   /* a new connection took its tuple */
    CT_RM_EARLY_DROP = CT_END_EVICTED,  /* evicted to make room */
    CT_RM_FLUSHED = CT_END_FLUSHED,     /* ct_table_flush*() */
    CT_RM_DRAINED = CT_END_DRAINED,     /* ct_table_drain() */
};

/* Early drop looks at most this many buckets from the new tuple's home
 * bucket, as Linux's NF_CT_EVICTION_RANGE. */
#define CT_EARLY_DROP_RANGE 8

/* The sweep's settings and state (ct_expire(), src/expiry/expire.c). */
struct ct_sweep {
    uint64_t min_interval;
    uint64_t step;
    uint64_t max_interval;
    uint64_t interval;     /* the pacing interval now */
    uint32_t budget;       /* default budget */
    uint32_t expired_pct;
};

struct ct_ext_set;

struct ct_table {
    /* Read on every packet: keep together. */
    struct ct_bucket *buckets;
    uint32_t nbuckets;    /* any count >= 1 (not a power of two) */
    uint32_t probe_max;   /* min(CT_PROBE_MAX, nbuckets) */
    uint32_t nh[10];      /* NH key words, derived from (k0, k1) */
    ct_table_hash_fn hash_hook; /* NULL: the keyed NH hash */
    uint32_t flags;       /* CT_TABLE_F_* */
    uint32_t max_connections;
    uint32_t connections; /* live, in the index */
    uint32_t peak_connections;
    uint64_t gen;         /* bumped by every index change (burst staleness check) */
    struct ct_pool pool[2]; /* [0] IPv4, [1] IPv6 */
    struct ct_proto_cfg cfg; /* policy 0: the table's settings */

    struct ct_table_stats stats; /* event counters; the gauges are filled on copy */
    uint64_t k0, k1;      /* the table's 128-bit secret (SipHash key of the NH key) */
    uint64_t timer_cap;   /* filing horizon: see ct_table_timer_file() */
    uint32_t nretired;
    size_t index_bytes;
    uint32_t retired[CT_RETIRE_MAX]; /* connection ids removed but not yet freed */

    /* Lifecycle (src/expiry/): the timer wheel, the sweep, the destroy
     * callback, zone limits. */
    uint64_t clock;          /* `now` of the latest call: the time given to the destroy callback */
    ct_destroy_fn destroy_fn;
    void *destroy_arg;
    struct ct_zone_slot *zones; /* NULL until a zone limit is set */
    struct ct_sweep sweep;
    struct ct_wheel wheel;
    /* Shared tables (CT_TABLE_F_SHARED): thread slots, epochs, global locks
     * (table/shared.h); NULL for a table owned by one thread. */
    struct ct_shared *sh;
    /* Per-connection extensions (side arrays, table/ext.h): NULL until a
     * module registers one; only entry allocation reads it. */
    struct ct_ext_set *ext;
};

/* ---- shared tables (shared.c; protocol in shared.h) ------------------------ */

struct ct_tslot;
struct ct_tls_cache {
    uint64_t id;           /* ct_shared.id of the table the slot belongs to */
    struct ct_tslot *slot;
};
extern _Thread_local struct ct_tls_cache ct_tls;

int ct_shared_create(struct ct_table *t);
void ct_shared_destroy(struct ct_table *t);
/* Registers the calling thread if needed and marks the start of a call (its
 * quiescent state); frees what it retired that nobody can see any more.
 * Returns its slot, or NULL when CT_SHARED_THREADS threads are registered. */
struct ct_tslot *ct_shared_enter(struct ct_table *t);
/* Puts an unlinked entry on the calling thread's limbo list. */
void ct_shared_retire(struct ct_table *t, struct ct_conn *c);
/* Within a call: frees what has become safe since the call began (the
 * calling thread's quiescent state is not moved). */
void ct_shared_reclaim(struct ct_table *t);
/* Retired entries not yet freed (limbo lists and the deferred list). Exact
 * only while no call runs on the table. */
uint64_t ct_shared_unreclaimed(const struct ct_table *t);
void ct_shared_stats_sum(const struct ct_table *t, struct ct_table_stats *out);
struct ct_conn *ct_shared_find(const struct ct_table *t, const void *k, unsigned v6, uint64_t h,
                               unsigned *dir);
void ct_shared_prefetch(const struct ct_table *t, uint64_t h);
/* The refs in bucket b, from a consistent (seq-validated) copy; returns how many. */
unsigned ct_shared_bucket_refs(const struct ct_table *t, uint32_t b, uint32_t *refs);
/* Indexes both tuples under bucket locks (h_orig: the original key's hash,
 * as for ct_table_insert()). Returns 0, -ENOSPC, or -EEXIST with *existing
 * (and the packet's direction in it) when another thread created the
 * connection first. */
int ct_shared_index_insert(struct ct_table *t, struct ct_conn *c, uint64_t h_orig,
                           struct ct_conn **existing, unsigned *existing_dir);
void ct_shared_index_remove(struct ct_table *t, struct ct_conn *c);

/* The per-thread counters of a shared table sit at the start of the slot. */
static inline struct ct_table_stats *ct_table_st(struct ct_table *t)
{
    if (CT_LIKELY(t->sh == NULL))
        return &t->stats;
    return (struct ct_table_stats *)(void *)((uint8_t *)ct_tls.slot + CT_CACHE_LINE);
}

/* Counter updates: relaxed atomics, so ct_table_stats() may read a shared
 * table's shards while their threads count (a plain load and store on x86). */
#define CT_STAT_ADD(t, field, n)                                                               \
    do {                                                                                       \
        struct ct_table_stats *st_ = ct_table_st(t);                                           \
        __atomic_store_n(&st_->field, __atomic_load_n(&st_->field, __ATOMIC_RELAXED) + (n),     \
                         __ATOMIC_RELAXED);                                                    \
    } while (0)
#define CT_STAT_INC(t, field) CT_STAT_ADD(t, field, 1)

/* Per-connection lock of shared tables: a byte spinlock in flags8. */
static inline void ct_conn_lock(struct ct_conn *c)
{
    while (__atomic_exchange_n(&c->flags8, (uint8_t)1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&c->flags8, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static inline int ct_conn_trylock(struct ct_conn *c)
{
    return __atomic_exchange_n(&c->flags8, (uint8_t)1, __ATOMIC_ACQUIRE) == 0;
}

static inline void ct_conn_unlock(struct ct_conn *c)
{
    __atomic_store_n(&c->flags8, (uint8_t)0, __ATOMIC_RELEASE);
}

/* ---- ids and handles ---------------------------------------------------- */

static inline struct ct_conn *ct_table_conn_at(const struct ct_table *t, uint32_t id)
{
    unsigned v6 = (id & CT_ID_V6) != 0;
    const struct ct_pool *p = &t->pool[v6];
    uint32_t idx = id & (CT_ID_V6 - 1);
    return (struct ct_conn *)(void *)(p->base + (size_t)idx * p->stride + p->body_off);
}

static inline uint32_t ct_table_conn_id(const struct ct_table *t, const struct ct_conn *c)
{
    unsigned v6 = ct_conn_is_v6(c);
    const struct ct_pool *p = &t->pool[v6];
    /* The offset is a multiple of the stride: divide exactly (table.h). */
    uint64_t off = (uint64_t)((const uint8_t *)c - p->base - p->body_off);
    uint64_t idx = (off >> p->stride_shift) * p->stride_inv;
    return (uint32_t)idx | (v6 ? CT_ID_V6 : 0);
}

/*
 * The packet and byte counters of c, or NULL when the table keeps none
 * (CT_TABLE_F_NO_ACCT). They follow the body directly, at the same offset
 * in both families (conn.h). Every read and write of a counter goes through
 * here.
 */
static inline struct ct_acct *ct_table_conn_acct(const struct ct_table *t, const struct ct_conn *c)
{
    if (t->flags & CT_TABLE_F_NO_ACCT)
        return NULL;
    return (struct ct_acct *)(void *)((uint8_t *)(uintptr_t)c + sizeof(struct ct_conn));
}

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

static inline struct ct_conn *ct_table_ref_conn(const struct ct_table *t, uint32_t ref)
{
    return ct_table_conn_at(t, ref >> 1);
}

/* The policy (timeouts, TCP settings) in force for a connection. */
static inline const struct ct_proto_cfg *ct_table_conn_cfg(const struct ct_table *t,
                                                           const struct ct_conn *c)
{
    (void)c; /* conn->policy selects a timeout policy once policies exist */
    return &t->cfg;
}

/* ns at which the connection times out: last_seen + the timeout in force. */
static inline uint64_t ct_table_conn_expires(const struct ct_table *t, const struct ct_conn *c)
{
    unsigned to = c->timeout < CT_TIMEOUT_COUNT ? c->timeout : CT_TIMEOUT_GENERIC;
    return c->last_seen + ct_table_conn_cfg(t, c)->timeout_ns[to];
}

/*
 * The deadline a connection is filed at in the timer wheel when filed at time
 * `now`: its real deadline, but never more than timer_cap (the shorter of the
 * UNACK and RETRANS timeouts, 300 s by default) after now. The cap is what
 * lets established TCP traffic leave the wheel alone: a data segment cuts
 * the timeout in force from ESTABLISHED (5 days) to UNACK (300 s) and its
 * ACK puts it back, and with the cap the filed deadline is already no later
 * than either. The price is that the sweep meets each long-lived connection
 * once per timer_cap and files it again (1/300 of the connections per
 * second), instead of once per 5 days.
 *
 * Invariant: filed deadline <= min(real deadline, now + timer_cap) at every
 * `now` after the filing (the clock never goes back). A packet therefore
 * needs to re-file only when its new real deadline is below that bound
 * (process.c, refile_if_earlier()).
 */
static inline uint64_t ct_table_file_deadline(const struct ct_table *t, const struct ct_conn *c,
                                              uint64_t now)
{
    uint64_t real = ct_table_conn_expires(t, c);
    uint64_t cap = now + t->timer_cap;
    return real < cap ? real : cap;
}

/* ---- keys and hashing ------------------------------------------------------ */

static inline void ct_key4_from_tuple(struct ct_key4 *k, const struct ct_tuple *t)
{
    k->src = t->src.v4;
    k->dst = t->dst.v4;
    k->sport = t->sport;
    k->dport = t->dport;
    k->zone = t->zone;
    k->l3 = CT_L3_IPV4;
    k->proto = t->proto;
}

static inline void ct_key4_to_tuple(struct ct_tuple *t, const struct ct_key4 *k)
{
    memset(t, 0, sizeof(*t));
    t->src.v4 = k->src;
    t->dst.v4 = k->dst;
    t->sport = k->sport;
    t->dport = k->dport;
    t->zone = k->zone;
    t->l3 = CT_L3_IPV4;
    t->proto = k->proto;
}

static inline int ct_key4_equal(const struct ct_key4 *a, const struct ct_key4 *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&a1, (const uint8_t *)a + 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, (const uint8_t *)b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

static inline int ct_key6_equal(const struct ct_key6 *a, const struct ct_key6 *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/*
 * NH (Black, Halevi, Krawczyk, Krovetz, Rogaway, "UMAC: Fast and Secure
 * Message Authentication", CRYPTO 1999) over the key as 32-bit words:
 *     NH(M) = sum over pairs of ((m[2i] + k[2i]) mod 2^32) * ((m[2i+1] + k[2i+1]) mod 2^32)
 * taken mod 2^64. For any two distinct keys of the same length, the chance
 * over the secret k that their NH values collide is at most 2^-32. The sum is
 * then passed through MurmurHash3's 64-bit finaliser (Appleby; an invertible
 * mix, so it keeps that bound on full collisions) so that every output bit
 * depends on every input bit: the bucket comes from the top 32 bits, the
 * signature from the low 16.
 */
static inline uint64_t ct_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static inline uint64_t ct_nh_pair(uint64_t w, uint32_t ka, uint32_t kb)
{
    return (uint64_t)(uint32_t)((uint32_t)w + ka) * (uint64_t)(uint32_t)((uint32_t)(w >> 32) + kb);
}

static inline uint64_t ct_table_hash4(const struct ct_table *t, const struct ct_key4 *k)
{
    if (CT_UNLIKELY(t->hash_hook != NULL))
        return t->hash_hook(k, sizeof(*k));
    uint64_t a, b;
    memcpy(&a, k, 8);
    memcpy(&b, (const uint8_t *)k + 8, 8);
    return ct_hash_mix(ct_nh_pair(a, t->nh[0], t->nh[1]) + ct_nh_pair(b, t->nh[2], t->nh[3]));
}

static inline uint64_t ct_table_hash6(const struct ct_table *t, const struct ct_key6 *k)
{
    if (CT_UNLIKELY(t->hash_hook != NULL))
        return t->hash_hook(k, sizeof(*k));
    uint64_t h = 0;
    for (unsigned i = 0; i < 5; i++) {
        uint64_t w;
        memcpy(&w, (const uint8_t *)k + 8 * i, 8);
        h += ct_nh_pair(w, t->nh[2 * i], t->nh[2 * i + 1]);
    }
    return ct_hash_mix(h);
}

/* Signature of a hash: its low 16 bits, never 0 (0 marks an empty slot). */
static inline uint16_t ct_hash_sig(uint64_t h)
{
    uint16_t s = (uint16_t)h;
    return s ? s : 1;
}

/* Home bucket of a hash: Lemire's multiply-shift range reduction ("A fast
 * alternative to the modulo reduction", 2016) of its top 32 bits, so the
 * bucket count need not be a power of two. */
static inline uint32_t ct_table_bucket_of(const struct ct_table *t, uint64_t h)
{
    return (uint32_t)(((h >> 32) * (uint64_t)t->nbuckets) >> 32);
}

/* The bucket after b, wrapping. */
static inline uint32_t ct_table_next_bucket(const struct ct_table *t, uint32_t b)
{
    return b + 1 == t->nbuckets ? 0 : b + 1;
}

static inline struct ct_bucket *ct_table_home(const struct ct_table *t, uint64_t h)
{
    return &t->buckets[ct_table_bucket_of(t, h)];
}

/*
 * The slots of the bucket that carry signature sig, as a mask with bit 2*i
 * set for slot i (the layout SSE2's byte mask gives for 16-bit lanes). Walk
 * it with ct_match_slot() and m &= m - 1.
 */
static inline unsigned ct_bucket_match(const struct ct_bucket *b, uint16_t sig)
{
#if defined(__SSE2__)
    __m128i v = _mm_load_si128((const __m128i *)(const void *)b->sig);
    __m128i eq = _mm_cmpeq_epi16(v, _mm_set1_epi16((short)sig));
    unsigned m = (unsigned)_mm_movemask_epi8(eq) & 0x5555u;
    return m | (unsigned)(b->sig[8] == sig) << 16;
#else
    unsigned m = 0;
    for (unsigned i = 0; i < CT_BUCKET_SLOTS; i++)
        m |= (unsigned)(b->sig[i] == sig) << (2 * i);
    return m;
#endif
}

static inline unsigned ct_match_slot(unsigned m)
{
    return (unsigned)__builtin_ctz(m) >> 1;
}

/*
 * The reply-direction key of a connection. Without NAT it is the inverse of
 * the original key (addresses and ports swapped; ICMP queries: the reply
 * type, ct_tuple_invert()) in the reply zone. This is the only place that
 * derives it: NAT will look up its side array here first.
 */
void ct_table_reply_key6(const struct ct_table *t, const struct ct_conn *c, struct ct_key6 *out);
/* The ICMP case of ct_table_reply_key4() (out of line: ct_tuple_invert()). */
void ct_table_reply_key4_icmp(const struct ct_table *t, const struct ct_conn *c, struct ct_key4 *out);

/* Inline, since every reply-direction IPv4 lookup derives the key to compare. */
static inline void ct_table_reply_key4(const struct ct_table *t, const struct ct_conn *c, struct ct_key4 *out)
{
    const struct ct_key4 *k = ct_conn_key4((struct ct_conn *)c);
    /* NAT: the side array of rewritten reply tuples is consulted here. */
    if (CT_UNLIKELY(k->proto == 1)) {
        ct_table_reply_key4_icmp(t, c, out);
        return;
    }
    out->src = k->dst;
    out->dst = k->src;
    out->sport = k->dport;
    out->dport = k->sport;
    out->l3 = CT_L3_IPV4;
    out->proto = k->proto;
    out->zone = c->zone_reply;
}

/*
 * Whether k is the reply key of c: ct_table_reply_key4() compared without
 * building it (on every reply-direction IPv4 lookup, the build through
 * memory cost about 25 instructions). Rotating a pair of 32-bit addresses
 * or of 16-bit ports by half its width swaps the pair in either byte order.
 * NAT: the side array of rewritten reply tuples is consulted here too.
 */
static inline int ct_table_reply_match4(const struct ct_table *t, const struct ct_conn *c,
                                        const struct ct_key4 *k)
{
    const struct ct_key4 *o = ct_conn_key4((struct ct_conn *)c);
    if (CT_UNLIKELY(o->proto == 1)) {
        struct ct_key4 r;
        ct_table_reply_key4_icmp(t, c, &r);
        return ct_key4_equal(&r, k);
    }
    uint64_t oa, ka;
    uint32_t op, kp;
    memcpy(&oa, o, 8);
    memcpy(&ka, k, 8);
    memcpy(&op, &o->sport, 4);
    memcpy(&kp, &k->sport, 4);
    uint64_t d = (ka ^ (oa >> 32 | oa << 32)) | (kp ^ (op >> 16 | op << 16)) |
                 (uint64_t)(k->zone ^ c->zone_reply) | (uint64_t)(k->proto ^ o->proto) |
                 (uint64_t)(k->l3 ^ CT_L3_IPV4);
    return d == 0;
}

/* Hash of direction dir of c's key (what the index files it under). */
static inline uint64_t ct_table_conn_hash(const struct ct_table *t, const struct ct_conn *c,
                                          unsigned dir)
{
    if (ct_conn_is_v6(c)) {
        struct ct_key6 k;
        if (dir == CT_DIR_ORIGINAL)
            k = *ct_conn_key6((struct ct_conn *)c);
        else
            ct_table_reply_key6(t, c, &k);
        return ct_table_hash6(t, &k);
    }
    struct ct_key4 k;
    if (dir == CT_DIR_ORIGINAL)
        k = *ct_conn_key4((struct ct_conn *)c);
    else
        ct_table_reply_key4(t, c, &k);
    return ct_table_hash4(t, &k);
}

/* Whether direction `dir` of connection c has key k. */
static inline int ct_conn_match4(const struct ct_table *t, struct ct_conn *c, unsigned dir,
                                 const struct ct_key4 *k)
{
    if (dir == CT_DIR_ORIGINAL)
        return ct_key4_equal(ct_conn_key4(c), k);
    return ct_table_reply_match4(t, c, k);
}

static inline int ct_conn_match6(const struct ct_table *t, struct ct_conn *c, unsigned dir,
                                 const struct ct_key6 *k)
{
    if (dir == CT_DIR_ORIGINAL)
        return ct_key6_equal(ct_conn_key6(c), k);
    struct ct_key6 r;
    ct_table_reply_key6(t, c, &r);
    return ct_key6_equal(&r, k);
}

/* ---- operations (table.c) ------------------------------------------------ */

/*
 * Finds the connection one of whose tuples has key k (a struct ct_key4 when
 * v6 is 0, else a struct ct_key6) and hash h; stores that tuple's direction
 * in *dir. Does not look at expiry.
 */
static inline struct ct_conn *ct_table_find_at(const struct ct_table *t, const void *k, unsigned v6,
                                               uint64_t h, uint32_t b, unsigned *dir);

static inline struct ct_conn *ct_table_find(const struct ct_table *t, const void *k, unsigned v6,
                                            uint64_t h, unsigned *dir)
{
    return ct_table_find_at(t, k, v6, h, ct_table_bucket_of(t, h), dir);
}

/* As ct_table_find(), with the home bucket b = ct_table_bucket_of(t, h)
 * already computed (the burst path computes it once per packet). */
static inline struct ct_conn *ct_table_find_at(const struct ct_table *t, const void *k, unsigned v6,
                                               uint64_t h, uint32_t b, unsigned *dir)
{
    uint16_t sig = ct_hash_sig(h);
    for (uint32_t i = 0; i < t->probe_max; i++) {
        const struct ct_bucket *bk = &t->buckets[b];
        unsigned m = ct_bucket_match(bk, sig);
        while (m) {
            unsigned s = ct_match_slot(m);
            m &= m - 1;
            uint32_t ref = bk->ref[s];
            if (((ref >> 1 & CT_ID_V6) != 0) != (v6 != 0))
                continue;
            struct ct_conn *c = ct_table_ref_conn(t, ref);
            unsigned d = ref & 1;
            int eq = v6 ? ct_conn_match6(t, c, d, k) : ct_conn_match4(t, c, d, k);
            if (eq) {
                *dir = d;
                return c;
            }
        }
        if (bk->ovf == 0)
            break;
        b = ct_table_next_bucket(t, b);
    }
    return NULL;
}

/* Hands out a zeroed entry of the family with its private family bit set, or NULL. */
struct ct_conn *ct_table_conn_alloc(struct ct_table *t, unsigned v6);

/* Returns an entry that was never inserted to the free list at once. */
void ct_table_conn_free(struct ct_table *t, struct ct_conn *c);
/* Shared tables: puts a free entry in thread slot me's magazine (giving a
 * batch back to the pool when it is full); gives the whole magazine back. */
void ct_table_mag_put(struct ct_table *t, struct ct_tslot *me, struct ct_conn *c);
void ct_table_mag_drain(struct ct_table *t, struct ct_tslot *me);
/* As ct_table_conn_free(), for a caller that holds a shared table's pool_lock. */
void ct_table_conn_free_locked(struct ct_table *t, struct ct_conn *c);

/*
 * Indexes both tuples of c (the original key must be set) and counts it as
 * live. h_orig is the hash of the original key (ct_table_hash4/6()), which
 * the packet path has already computed for its lookup; only the reply key
 * is hashed here. Returns 0, or -ENOSPC when the probe cap stopped either
 * insert (the index is left as it was and stats.probe_limit counted).
 */
int ct_table_insert(struct ct_table *t, struct ct_conn *c, uint64_t h_orig);

/*
 * Shared tables: as ct_table_insert(), under bucket locks, with c's lock held
 * by the caller, who has already counted c in t->connections (process.c,
 * new_alloc()); files c in the wheel under wheel_lock. h_orig as for
 * ct_table_insert(). Returns 0, -ENOSPC, or -EEXIST when another thread
 * created the connection first (*existing, and in *existing_dir the
 * direction of c's original tuple in it).
 */
int ct_table_insert_shared(struct ct_table *t, struct ct_conn *c, uint64_t h_orig,
                           struct ct_conn **existing, unsigned *existing_dir);

/*
 * Ends a live connection: reports it to the destroy callback (reason =
 * cause, time = t->clock), unlinks both tuples, takes it off the timer wheel,
 * marks it DYING, retires the entry (freed by the next ct_table_reclaim()),
 * counts `deleted` and the counter of the cause. A connection that is not
 * live (unconfirmed or already DYING) is ignored.
 */
void ct_table_conn_remove(struct ct_table *t, struct ct_conn *c, enum ct_remove_cause cause);

/*
 * As ct_table_conn_remove(), but frees the entry at once instead of retiring
 * it: for calls that invalidate handles anyway (ct_expire, flush, drain).
 */
void ct_table_conn_end(struct ct_table *t, struct ct_conn *c, enum ct_remove_cause cause);

/*
 * Makes room for one connection in a full table, for a NEW tuple with hash h,
 * at time now: looks at the home bucket of h and the CT_EARLY_DROP_RANGE - 1
 * buckets after it, bucket by bucket. The first connection met whose deadline
 * has passed is removed as EXPIRED; otherwise, in the first bucket holding
 * unassured connections, the one seen longest ago is removed as EARLY_DROP.
 * Assured connections are never evicted. Returns 1 if a connection was
 * removed (retired), else 0.
 */
int ct_table_early_drop(struct ct_table *t, uint64_t h, uint64_t now);

/* Starts a call that may end connections at `now` (sweep, drain, flush):
 * enters a shared table or frees a table's retired entries, and sets the
 * clock. Returns 0, or -EAGAIN when a shared table has no thread slot left
 * for the caller. (lifecycle.c) */
int ct_table_call_begin(struct ct_table *t, uint64_t now);

/*
 * Ends every live connection that match() accepts (all when match is NULL)
 * with `cause`, freeing entries as it goes; a drain ends connections past
 * their deadline as EXPIRED instead. Returns how many. (lifecycle.c)
 */
int ct_table_end_where(struct ct_table *t, uint64_t now, enum ct_remove_cause cause,
                       int (*match)(void *arg, const struct ct_table *t, const struct ct_conn *c),
                       void *arg);

/* Files a connection in the timer wheel at its real deadline (re-files it if filed). */
void ct_table_timer_file(struct ct_table *t, struct ct_conn *c);

/* Frees the entries retired since the last call. */
void ct_table_reclaim(struct ct_table *t);

/* Fills a public tuple from direction dir of c. */
void ct_table_conn_tuple(const struct ct_table *t, const struct ct_conn *c, unsigned dir,
                         struct ct_tuple *out);

/*
 * Test hook: replaces the table's hash (NULL restores SipHash-1-3). Only on
 * an empty table: existing entries would be indexed under the old hash.
 * Returns 0 or -EBUSY.
 */
int ct_table_set_hash_hook(struct ct_table *t, ct_table_hash_fn fn);

/*
 * Finds the live connection of key k (hash h, home bucket b, as for
 * ct_table_find_at()) on a table of one thread. A connection past its
 * deadline is reaped (both tuples removed, counted expired_inline) and is a
 * miss, however late the sweep is: seed 001's reaping during lookup.
 */
static inline struct ct_conn *ct_table_find_live(struct ct_table *t, const void *k, unsigned v6,
                                                 uint64_t h, uint32_t b, uint64_t now,
                                                 unsigned *dir)
{
    struct ct_conn *c = ct_table_find_at(t, k, v6, h, b, dir);
    if (c && CT_UNLIKELY(ct_table_conn_expires(t, c) <= now)) {
        CT_STAT_INC(t, expired_inline);
        ct_table_conn_remove(t, c, CT_RM_EXPIRED);
        c = NULL;
    }
    return c;
}

/*
 * Shared tables: as ct_table_find_live(), without bucket locks, and returns
 * the connection locked (ct_conn_unlock() when done), or NULL. A connection
 * that ended meanwhile is a miss; one past its deadline is reaped under its
 * lock and is a miss.
 */
struct ct_conn *ct_shared_find_live_locked(struct ct_table *t, const void *k, unsigned v6,
                                           uint64_t h, uint64_t now, unsigned *dir);

#endif
