/*
 * The hash index of the connection table: its buckets, the hash, the
 * signatures and the one bucket scan that every lookup runs, whatever the
 * table's concurrency mode. The table around it (entries, ids, removal) is
 * described in table.h.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * Index. An array of nbuckets 64-byte buckets (one cache line each):
 *     uint16_t sig[9]   16-bit signature of the hash (its low bits), 0 = empty
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
 * full table fills 75 % of the slots: 19 bytes of index per connection.
 * Linear probing at that load has runs longer than the old cap of 8 buckets
 * (a simulation of 10 M connections with random hashes: 4,000 inserts
 * refused at a cap of 8, 4 at 24, none at 32; at 85 % load still 60,000 at
 * 8). 32 is still too close:
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
 * quadratic slowdown. The reason to leave SipHash-1-3 is cost: it runs two
 * compression and three finalisation rounds over a 16-byte key, NH plus the
 * mix one multiply per 8 bytes and the finaliser (docs/performance.md has
 * the measurement). The hash is computed once per packet (stage 1) and
 * serves the bucket, the signature and stage 3's re-check. Tests may replace the hash
 * (ct_table_set_hash_hook()).
 *
 * One scan for every concurrency mode. A lookup walks the probe run of its
 * hash bucket by bucket and, in each, matches the signatures and compares
 * the keys of the matching slots (ct_bucket_scan()). Only how a bucket is
 * read differs between the modes, so the walk (ct_index_walk()) takes a
 * bucket view, a constant that inlining resolves:
 *     CT_VIEW_DIRECT    the bucket in place: a table of one thread;
 *     CT_VIEW_LOCKED    the bucket in place, under its bucket lock (the
 *                       writers of a shared table, shared.c): no other
 *                       thread can write it, so plain loads are exact;
 *     CT_VIEW_SNAPSHOT  a consistent copy taken under the bucket's seqlock
 *                       (the lock-free readers of a shared table, protocol
 *                       in shared.h), scanned like a bucket in place.
 * DPDK builds its locked and lock-free searches on one helper in the same
 * way (search_one_bucket_l and search_one_bucket_lf in rte_cuckoo_hash.c).
 * The direct view is the established packet's path: the walk, the view and
 * the scan are always inline and the view is a compile-time constant, so
 * that path compiles to the bucket loads and the SIMD compare, with no call
 * and no copy. The scan reports a hit through its result and out-parameters
 * rather than by returning the connection or NULL: the walk's test of a
 * returned pointer cost about 4 instructions per established packet
 * (docs/performance.md).
 */
#ifndef CT_TABLE_INDEX_H
#define CT_TABLE_INDEX_H

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/arch.h"
#include "base/compiler.h"
#include "table/table.h"

#define CT_BUCKET_SLOTS 9
#define CT_PROBE_MAX 128        /* buckets one tuple may be placed past its home, + 1 */
#define CT_INDEX_LOAD_PCT 75    /* share of index slots in use when the table is full */

/*
 * Locking of a shared table's bucket (table/shared.h; legend there): seq is
 * the bucket's lock and seqcount [A]; sig, ovf and ref are [B], written
 * with release stores while seq is odd and read lock-free by copying them
 * between two loads of seq. Not a capability of the analysis: a writer
 * holds a run-time set of buckets.
 */
struct ct_bucket {
    uint16_t sig[CT_BUCKET_SLOTS];
    uint16_t ovf;
    uint32_t seq;
    uint32_t ref[CT_BUCKET_SLOTS];
    uint32_t spare;
} CT_ALIGNED(64);
_Static_assert(sizeof(struct ct_bucket) == 64, "a bucket is one cache line");
_Static_assert(CT_BUCKET_SLOTS == CT_SIG9_SLOTS && offsetof(struct ct_bucket, sig) == 0,
               "the signatures are what ct_sig9_match() compares, 16-byte aligned");

/* ---- hashing ------------------------------------------------------------------ */

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

/* ---- the bucket scan ---------------------------------------------------------- */

/*
 * The slots of the bucket that carry signature sig, as a mask with bit 2*i
 * set for slot i (base/arch.h). Walk it with ct_match_slot() and m &= m - 1.
 */
static CT_ALWAYS_INLINE unsigned ct_bucket_match(const struct ct_bucket *b, uint16_t sig)
{
    return ct_sig9_match(b->sig, sig);
}

static CT_ALWAYS_INLINE unsigned ct_match_slot(unsigned m)
{
    return ct_sig9_slot(m);
}

/* How a walk reads its buckets (see the design note above). */
enum ct_bucket_view {
    CT_VIEW_DIRECT,
    CT_VIEW_LOCKED,
    CT_VIEW_SNAPSHOT,
};

/*
 * Copies bucket bk into *s under its seqlock (shared.h): seq, then the
 * signatures, refs and ovf with acquire loads, then seq again; a copy that
 * overlapped a writer (seq odd, or changed) is taken again. Only sig[], ref[]
 * and ovf of the copy are written.
 */
static CT_ALWAYS_INLINE void ct_bucket_snapshot(const struct ct_bucket *bk,
                                                       struct ct_bucket *s)
{
    for (;;) {
        uint32_t s1 = __atomic_load_n(&bk->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            ct_cpu_relax();
            continue;
        }
        /* Acquire loads keep the second read of seq after them (plain
         * loads on x86; no fence, which GCC's ThreadSanitizer lacks). */
        for (unsigned i = 0; i < CT_BUCKET_SLOTS; i++) {
            s->sig[i] = __atomic_load_n(&bk->sig[i], __ATOMIC_ACQUIRE);
            s->ref[i] = __atomic_load_n(&bk->ref[i], __ATOMIC_ACQUIRE);
        }
        s->ovf = __atomic_load_n(&bk->ovf, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&bk->seq, __ATOMIC_RELAXED) == s1)
            return;
    }
}

/*
 * Bucket b as the view reads it: the bucket itself, or a consistent copy in
 * *snap. A locked view asserts (debug builds) that the bucket is locked.
 */
static CT_ALWAYS_INLINE const struct ct_bucket *
ct_bucket_view(const struct ct_table *t, uint32_t b, enum ct_bucket_view view,
               struct ct_bucket *snap)
{
    const struct ct_bucket *bk = &t->buckets[b];
    if (view == CT_VIEW_SNAPSHOT) {
        ct_bucket_snapshot(bk, snap);
        return snap;
    }
    assert(view == CT_VIEW_DIRECT || (__atomic_load_n(&bk->seq, __ATOMIC_RELAXED) & 1));
    return bk;
}

/*
 * Finds, among the slots of bucket bk (as a view gave it) that carry
 * signature sig, the tuple with key k (a struct ct_key4 when v6 is 0, else a
 * struct ct_key6): returns 1 with its connection in *conn and the tuple's
 * direction in *dir, or 0. In a snapshot, the key behind a ref stays that
 * connection's until the entry is reused, which reclamation holds back while
 * the calling thread's call runs (shared.h).
 */
static CT_ALWAYS_INLINE int ct_bucket_scan(const struct ct_table *t,
                                                  const struct ct_bucket *bk, uint16_t sig,
                                                  const void *k, unsigned v6,
                                                  struct ct_conn **conn, unsigned *dir)
{
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
            *conn = c;
            *dir = d;
            return 1;
        }
    }
    return 0;
}

/*
 * Finds the connection one of whose tuples has key k (as for
 * ct_bucket_scan()) and hash h, walking the probe run from home bucket
 * b = ct_table_bucket_of(t, h) (the burst path computes it once per packet)
 * while ovf says that something homed earlier lies further on. Stores the
 * tuple's direction in *dir and returns its connection, or returns NULL.
 * Does not look at expiry.
 */
static CT_ALWAYS_INLINE struct ct_conn *ct_index_walk(const struct ct_table *t,
                                                             enum ct_bucket_view view,
                                                             const void *k, unsigned v6,
                                                             uint64_t h, uint32_t b,
                                                             unsigned *dir)
{
    uint16_t sig = ct_hash_sig(h);
    struct ct_bucket snap;
    for (uint32_t i = 0; i < t->probe_max; i++) {
        const struct ct_bucket *bk = ct_bucket_view(t, b, view, &snap);
        struct ct_conn *c;
        if (ct_bucket_scan(t, bk, sig, k, v6, &c, dir))
            return c;
        if (bk->ovf == 0)
            break;
        b = ct_table_next_bucket(t, b);
    }
    return NULL;
}

/* ---- the writers ---------------------------------------------------------------- */

/*
 * The writers' stores. A table of one thread stores plainly (CT_VIEW_DIRECT).
 * A shared table's writer holds the lock of every bucket it touches
 * (CT_VIEW_LOCKED) and stores with release, so that none of its stores
 * becomes visible before the odd seq its lock wrote (shared.h): a lock-free
 * reader that sees one of them then sees the bucket as changed. The loads
 * stay plain in both views, since only the lock holder writes a locked
 * bucket.
 */
static CT_ALWAYS_INLINE void ct_index_store16(uint16_t *p, uint16_t v,
                                                     enum ct_bucket_view view)
{
    if (view == CT_VIEW_LOCKED)
        __atomic_store_n(p, v, __ATOMIC_RELEASE);
    else
        *p = v;
}

static CT_ALWAYS_INLINE void ct_index_store32(uint32_t *p, uint32_t v,
                                                     enum ct_bucket_view view)
{
    if (view == CT_VIEW_LOCKED)
        __atomic_store_n(p, v, __ATOMIC_RELEASE);
    else
        *p = v;
}

/*
 * Places ref (connection id << 1 | direction) with hash h in the first free
 * slot of its probe run, and raises the ovf of every bucket passed over so
 * that lookups walk on to it. view is CT_VIEW_DIRECT or, with the run's
 * buckets locked, CT_VIEW_LOCKED. Returns 0, or -ENOSPC when the probe cap's
 * buckets are all full (nothing is changed then).
 */
static inline int ct_index_put(struct ct_table *t, enum ct_bucket_view view, uint64_t h,
                               uint32_t ref)
{
    uint32_t home = ct_table_bucket_of(t, h), b = home;
    for (uint32_t i = 0; i < t->probe_max; i++) {
        struct ct_bucket *bk = &t->buckets[b];
        assert(view == CT_VIEW_DIRECT || (__atomic_load_n(&bk->seq, __ATOMIC_RELAXED) & 1));
        for (unsigned s = 0; s < CT_BUCKET_SLOTS; s++) {
            if (bk->sig[s] == 0) {
                ct_index_store32(&bk->ref[s], ref, view);
                ct_index_store16(&bk->sig[s], ct_hash_sig(h), view);
                for (uint32_t j = home; j != b; j = ct_table_next_bucket(t, j))
                    ct_index_store16(&t->buckets[j].ovf, (uint16_t)(t->buckets[j].ovf + 1), view);
                return 0;
            }
        }
        b = ct_table_next_bucket(t, b);
    }
    return -ENOSPC;
}

/*
 * Removes ref, indexed under hash h, and lowers the ovf of the buckets
 * before it in its run again, so removal leaves no tombstone. The walk
 * stops where ovf says nothing homed earlier lies further on, as lookups
 * do. view as for ct_index_put(). Returns 0, or -ENOENT when ref is not
 * there.
 */
static inline int ct_index_del(struct ct_table *t, enum ct_bucket_view view, uint64_t h,
                               uint32_t ref)
{
    uint32_t home = ct_table_bucket_of(t, h), b = home;
    uint16_t sig = ct_hash_sig(h);
    for (uint32_t i = 0; i < t->probe_max; i++) {
        struct ct_bucket *bk = &t->buckets[b];
        assert(view == CT_VIEW_DIRECT || (__atomic_load_n(&bk->seq, __ATOMIC_RELAXED) & 1));
        for (unsigned s = 0; s < CT_BUCKET_SLOTS; s++) {
            if (bk->sig[s] == sig && bk->ref[s] == ref) {
                ct_index_store16(&bk->sig[s], 0, view);
                ct_index_store32(&bk->ref[s], 0, view);
                for (uint32_t j = home; j != b; j = ct_table_next_bucket(t, j))
                    ct_index_store16(&t->buckets[j].ovf, (uint16_t)(t->buckets[j].ovf - 1), view);
                return 0;
            }
        }
        if (bk->ovf == 0)
            break;
        b = ct_table_next_bucket(t, b);
    }
    return -ENOENT;
}

/*
 * Finds the live connection of key k (hash h, home bucket b, as for
 * ct_index_walk()) on a table of one thread. A connection past its
 * deadline is reaped (both tuples removed, counted expired_inline) and is a
 * miss, however late the sweep is: seed 001's reaping during lookup.
 */
static inline struct ct_conn *ct_table_find_live(struct ct_table *t, const void *k, unsigned v6,
                                                 uint64_t h, uint32_t b, uint64_t now,
                                                 unsigned *dir)
{
    struct ct_conn *c = ct_index_walk(t, CT_VIEW_DIRECT, k, v6, h, b, dir);
    if (c && CT_UNLIKELY(ct_table_conn_expires(t, c) <= now)) {
        CT_STAT_INC(t, expired_inline);
        ct_table_conn_remove(t, c, CT_RM_EXPIRED);
        c = NULL;
    }
    return c;
}

/*
 * Whether direction dir's key of c, a connection not yet indexed (h: that
 * key's hash, ct_table_conn_hash()), belongs to a live connection already:
 * the index holds one connection per key, so c cannot be inserted then.
 * For the inserts that cannot rule a clash out by their lookup (zones per
 * direction, snapshot restore). Tables of one thread.
 */
static inline int ct_table_key_taken(struct ct_table *t, struct ct_conn *c, unsigned dir,
                                     uint64_t h, uint64_t now)
{
    uint32_t b = ct_table_bucket_of(t, h);
    unsigned d;
    if (ct_conn_is_v6(c)) {
        struct ct_key6 k;
        if (dir == CT_DIR_ORIGINAL)
            k = *ct_conn_key6(c);
        else
            ct_table_reply_key6(t, c, &k);
        return ct_table_find_live(t, &k, 1, h, b, now, &d) != NULL;
    }
    struct ct_key4 k;
    if (dir == CT_DIR_ORIGINAL)
        k = *ct_conn_key4(c);
    else
        ct_table_reply_key4(t, c, &k);
    return ct_table_find_live(t, &k, 0, h, b, now, &d) != NULL;
}

#endif
