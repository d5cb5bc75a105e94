/*
 * Private interface of the connection table: the table's struct, connection
 * ids and handles, keys, insertion and removal. The hash index and its one
 * bucket scan are in index.h, the entry pools in pool.h.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * Goal: an established packet at 10 million connections should cost about two
 * cache misses: the bucket line of the index, then the entry's lines, which
 * are prefetched together (the burst path overlaps these misses across the
 * packets of a burst, after DPDK's two-phase bulk lookup).
 *
 * Entries: two preallocated pools, IPv4 and IPv6 (pool.h).
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
 * Index, probing and hash: index.h.
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

#include "base/arch.h"
#include "base/compiler.h"
#include "base/inet.h"
#include "base/siphash.h"
#include "ctrack/expiry.h"
#include "ctrack/table.h"
#include "expiry/wheel.h"
#include "proto/proto.h"
#include "table/conn.h"
#include "table/pool.h"
#include "zone/zone.h"

#define CT_RETIRE_MAX (4 * CT_BURST_MAX)
#define CT_ID_V6 (1u << 30)
#define CT_ID_NONE UINT32_MAX

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
struct ct_tmpl_set;
struct ct_helper_table;
struct ct_rules_bind;
struct ct_events;
struct ct_nat;

/*
 * A table of one thread: every field is its owner's. A shared table (legend
 * in table/shared.h):
 *     [I]  buckets .. max_connections, cfg, k0, k1, timer_cap, index_bytes,
 *          sh; the pools' geometry; the sweep's settings
 *     [A]  connections, peak_connections, clock
 *     [P]  pool[].hiwater, pool[].free_head       (ct_shared_pool())
 *     [W]  wheel                                  (ct_shared_wheel())
 *     [S]  sweep.interval                         (ct_shared_sweep(); stored
 *          with relaxed atomics, which ct_table_stats() reads unlocked)
 *     [X]  destroy_fn, destroy_arg, zones (set by calls that need the table
 *          to themselves; zone limits are refused on shared tables)
 *     unused: stats (counted per thread in the slots), nretired and
 *          retired[] (retired entries go to the thread's limbo)
 */
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
    /* CT templates and timeout policies (template/template.h): NULL until
     * one is registered. policy_cfg[id] points at policy id's trackers'
     * settings, and at `cfg` for 0 and every id not registered. [I] */
    struct ct_tmpl_set *tmpl;
    const struct ct_proto_cfg *policy_cfg[256];
    /* Helpers and their expectations (helper/helper.h): NULL until
     * ct_helper_enable(); tables of one thread only. */
    struct ct_helper_table *helpers;
    /* The attached ruleset (rules/attach.c): NULL without one, which is
     * all the packet path tests. */
    struct ct_rules_bind *rules;
    /* Events (events/events.h): NULL while nobody listens, which is all
     * the packet path and the removal test. Tables of one thread only.
     * Last, so that adding it moved no other field. */
    struct ct_events *ev;
    /* NAT (nat/nat.h): NULL until ct_nat_enable(). Then every
     * connection's reply key is in its binding: nat_slot[family] + pool
     * index * nat_stride (the NAT side array of table/ext.h, reached here
     * without it so that key compares stay inline). [I] */
    struct ct_nat *nat;
    uint8_t *nat_slot[2];
    uint32_t nat_stride;
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
            ct_cpu_relax();
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

static inline struct ct_conn *ct_table_ref_conn(const struct ct_table *t, uint32_t ref)
{
    return ct_table_conn_at(t, ref >> 1);
}

/*
 * The policy (timeouts, TCP settings) in force for a connection: the
 * table's, or the timeout policy its template gave it (conn->policy, set at
 * creation only, so [I]; template/template.h). One load through an array
 * whose every slot but the registered policies' points at t->cfg: a branch
 * on conn->policy instead measured about twice the instructions per packet
 * (the lookup's deadline check and the tracker both come here).
 */
static inline const struct ct_proto_cfg *ct_table_conn_cfg(const struct ct_table *t,
                                                           const struct ct_conn *c)
{
    return t->policy_cfg[c->policy];
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
 * The reply-direction key of a connection. Without NAT it is the inverse of
 * the original key (addresses and ports swapped; ICMP queries: the reply
 * type, ct_tuple_invert()) in the reply zone; in a table with NAT every
 * connection keeps it in its NAT slot (nat/nat.h), translated or not.
 * This is the only place that derives it.
 */
void ct_table_reply_key6(const struct ct_table *t, const struct ct_conn *c, struct ct_key6 *out);
/* The ICMP case of ct_table_reply_key4() without NAT (out of line). */
void ct_table_reply_key4_slow(const struct ct_table *t, const struct ct_conn *c,
                              struct ct_key4 *out);

/* Whether c's reply key is not the plain swap of its original key: an
 * ICMP query, or any connection of a table with NAT, whose reply keys all
 * live in their NAT slots (nat/nat.h). One test of both, on fields that
 * never change ([I]), so lock-free lookups may read them. */
static inline int ct_table_reply_special4(const struct ct_table *t, const struct ct_key4 *o)
{
    return (o->proto == CT_IPPROTO_ICMP) | (t->nat != NULL);
}

/* The binding of connection id `id` of a table with NAT (nat/nat.h),
 * which starts with its reply key. */
static inline const void *ct_table_nat_at(const struct ct_table *t, uint32_t id)
{
    return t->nat_slot[(id & CT_ID_V6) != 0] + (size_t)(id & (CT_ID_V6 - 1)) * t->nat_stride;
}

static inline const void *ct_table_nat_reply(const struct ct_table *t, const struct ct_conn *c)
{
    return ct_table_nat_at(t, ct_table_conn_id(t, c));
}

/* Inline, since every reply-direction IPv4 lookup derives the key to compare. */
static inline void ct_table_reply_key4(const struct ct_table *t, const struct ct_conn *c, struct ct_key4 *out)
{
    const struct ct_key4 *k = ct_conn_key4((struct ct_conn *)c);
    if (CT_UNLIKELY(ct_table_reply_special4(t, k))) {
        if (t->nat)
            memcpy(out, ct_table_nat_reply(t, c), sizeof(*out));
        else
            ct_table_reply_key4_slow(t, c, out);
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
 */
static inline int ct_table_reply_match4(const struct ct_table *t, const struct ct_conn *c,
                                        const struct ct_key4 *k)
{
    const struct ct_key4 *o = ct_conn_key4((struct ct_conn *)c);
    if (CT_UNLIKELY(ct_table_reply_special4(t, o))) {
        if (t->nat)
            return ct_key4_equal((const struct ct_key4 *)ct_table_nat_reply(t, c), k);
        struct ct_key4 r;
        ct_table_reply_key4_slow(t, c, &r);
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
    if (t->nat)
        return ct_key6_equal((const struct ct_key6 *)ct_table_nat_reply(t, c), k);
    struct ct_key6 r;
    ct_table_reply_key6(t, c, &r);
    return ct_key6_equal(&r, k);
}

/* ---- operations (table.c) ------------------------------------------------ */

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

/* Anonymous zero pages for `len` bytes of the table's own memory (index,
 * pools, extension arrays), backed when touched or at once with
 * `prefault`; huge pages are asked for on large areas. NULL when the
 * mapping fails. (table.c) */
void *ct_table_map(size_t len, int prefault);

/* Files a connection in the timer wheel at its real deadline (re-files it if
 * filed): a table of one thread; a shared table's caller holds wheel_lock
 * and calls ct_shared_timer_file() (table/shared.h). */
void ct_table_timer_file(struct ct_table *t, struct ct_conn *c);

/* As ct_table_timer_file(), in either mode: a shared table's wheel_lock is
 * taken around the filing. For a live connection whose deadline moved
 * earlier (the packet path). */
void ct_table_timer_refile(struct ct_table *t, struct ct_conn *c);

/*
 * An entry for a NEW connection, or NULL when the table is full
 * (max_connections). A table of one thread counts the connection when it is
 * inserted; a shared table reserves the count at once with an atomic add, so
 * that threads creating at the same time never take it past
 * max_connections. The packet path's one allocation call.
 */
static inline struct ct_conn *ct_table_conn_new(struct ct_table *t, unsigned v6)
{
    if (CT_LIKELY(!t->sh))
        return t->connections < t->max_connections ? ct_table_conn_alloc(t, v6) : NULL;
    if (__atomic_add_fetch(&t->connections, 1, __ATOMIC_RELAXED) > t->max_connections) {
        __atomic_sub_fetch(&t->connections, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    struct ct_conn *c = ct_table_conn_alloc(t, v6);
    if (!c)
        __atomic_sub_fetch(&t->connections, 1, __ATOMIC_RELAXED);
    return c;
}

/* Gives back an entry from ct_table_conn_new() that was never inserted
 * (and a shared table's reservation with it). */
static inline void ct_table_conn_discard(struct ct_table *t, struct ct_conn *c)
{
    ct_table_conn_free(t, c);
    if (t->sh)
        __atomic_sub_fetch(&t->connections, 1, __ATOMIC_RELAXED);
}

/* Fills a public tuple from direction dir of c. */
void ct_table_conn_tuple(const struct ct_table *t, const struct ct_conn *c, unsigned dir,
                         struct ct_tuple *out);

/*
 * Test hook: replaces the table's hash (NULL restores the keyed NH hash of
 * index.h). Only on an empty table: existing entries would be indexed under
 * the old hash. Returns 0 or -EBUSY.
 */
int ct_table_set_hash_hook(struct ct_table *t, ct_table_hash_fn fn);

/*
 * Shared tables: as ct_table_find_live() (index.h), without bucket locks, and returns
 * the connection locked (ct_conn_unlock() when done), or NULL. A connection
 * that ended meanwhile is a miss; one past its deadline is reaped under its
 * lock and is a miss. (lookup.c)
 */
struct ct_conn *ct_shared_find_live_locked(struct ct_table *t, const void *k, unsigned v6,
                                           uint64_t h, uint64_t now, unsigned *dir);

#endif
