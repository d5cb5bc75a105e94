/*
 * Private interface of shared tables (CT_TABLE_F_SHARED): one table used by
 * many threads at once (seed 001).
 *
 * ---- Lock protocol ------------------------------------------------------------
 *
 * Lookups take no lock. Each bucket's `seq` word is a sequence lock: even
 * when the bucket is free, odd while a writer holds it. A reader loads seq
 * (acquire), copies the bucket's signatures, refs and ovf with relaxed
 * atomic loads, issues an acquire fence and loads seq again; if the two
 * values differ or the first was odd it copies the bucket again. Only then
 * does it follow a ref into the entry pool, so every entry it reads was
 * published (its key written) before the writer's unlock that the reader's
 * first load synchronised with. Entries never move between slots; a reader
 * that misses a tuple inserted meanwhile is ordered before that insert.
 *
 * Writers (insert and removal of a connection) lock buckets: for each of the
 * connection's two tuples, the run of buckets from its home bucket to the
 * bucket that holds (or will hold) it and on to the end of its ovf chain.
 * The buckets of both runs are locked in ascending bucket-index order (seed
 * 001), so two writers can never wait on each other in a cycle; each run is
 * found without locks first and checked again once locked (a run that grew
 * meanwhile: unlock all, retry). A bucket's sig[], ref[] and ovf change only
 * under its lock.
 *
 * Per-connection state (counters, times, status, protocol state, the timer
 * links while filed) is guarded by the connection's own lock, a byte
 * spinlock in conn->flags8. A packet finds its connection without locks,
 * takes the connection lock, and checks that the connection is still live
 * (CONFIRMED and not DYING) before touching it. A creating thread holds the
 * new connection's lock from before the connection becomes visible until
 * its first packet is accounted and it is filed in the timer wheel.
 *
 * Two packets racing to create one connection: both miss, both build an
 * entry; the first to lock the buckets inserts, the second finds the first's
 * tuple on its locked re-check, frees its own entry and is processed as a
 * packet of the existing connection. No packet is dropped.
 *
 * Global state has its own locks: the entry pools' free lists (pool_lock),
 * the timer wheel (wheel_lock). The live-connection count is an atomic.
 *
 * Lock order (never taken in the other direction):
 *     connection lock  ->  bucket locks (ascending index)  ->  pool_lock
 *     connection lock  ->  wheel_lock
 * The sweep holds wheel_lock only while it takes due connections off the
 * wheel; it then locks each connection with the wheel unlocked. Early drop
 * only try-locks victims.
 *
 * ---- Reclamation ----------------------------------------------------------------
 *
 * Entries are pool memory that is never unmapped, but a freed entry is
 * reused by the next insert, so an entry may go back on the free list only
 * when no thread can still hold a pointer to it. The scheme is quiescent-
 * state-based reclamation (QSBR, McKenney and Slingwine, "Read-Copy Update",
 * 1998; Fraser's epochs, "Practical lock-freedom", 2004): the start of each
 * call on the table is a quiescent state of the calling thread, because the
 * handles it was given by its previous call stay valid exactly until then
 * (ctrack/conn.h), and it holds no other pointer into the table between
 * calls. Each registered thread publishes in its slot the global epoch it
 * saw at the start of its current call (qs). A removed entry is tagged with
 * the epoch read after it was unlinked, and is freed once every online
 * thread has qs above that tag; a thread that finds all online threads at
 * the current epoch advances it. Why QSBR rather than liburcu or
 * per-lookup epochs: the handle rule already makes every call boundary a
 * quiescent state, so readers pay one store and one fence per burst, not per
 * lookup, and the library needs no dependency. The price is QSBR's usual
 * one: a thread that stops calling while registered holds reclamation back,
 * so a thread that leaves the table calls ct_table_thread_offline().
 *
 * Thread slots: a thread registers on its first call (CT_SHARED_THREADS at
 * most at once; -EAGAIN beyond that is reported as the call's error) and is
 * found again through a one-entry thread-local cache keyed by a table id
 * that is unique per ct_table_create(). Each slot, on its own cache lines,
 * holds the thread's epoch, its list of retired entries and its shard of the
 * counters; ct_table_stats() sums the shards.
 */
#ifndef CT_TABLE_SHARED_H
#define CT_TABLE_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "ctrack/table.h"
#include "table/table.h"

#define CT_SHARED_THREADS 64     /* threads registered at once */
#define CT_SHARED_LIMBO 4096     /* retired entries one thread may hold */
#define CT_QS_OFFLINE UINT64_MAX /* qs of a slot whose thread is not using the table */

/* A test-and-test-and-set spinlock, visible to clang's thread-safety analysis. */
struct CT_CAPABILITY("mutex") ct_spinlock {
    uint32_t v;
};

static inline void ct_spin_lock(struct ct_spinlock *l) CT_ACQUIRE(*l) CT_NO_TSA
{
    while (__atomic_exchange_n(&l->v, 1u, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static inline int ct_spin_trylock(struct ct_spinlock *l) CT_TRY_ACQUIRE(1, *l) CT_NO_TSA
{
    return __atomic_load_n(&l->v, __ATOMIC_RELAXED) == 0 &&
           __atomic_exchange_n(&l->v, 1u, __ATOMIC_ACQUIRE) == 0;
}

static inline void ct_spin_unlock(struct ct_spinlock *l) CT_RELEASE(*l) CT_NO_TSA
{
    __atomic_store_n(&l->v, 0u, __ATOMIC_RELEASE);
}

/* Retired entry: connection id and the epoch read after its unlinking. */
struct ct_limbo {
    uint64_t epoch;
    uint32_t id;
    uint32_t pad;
};

/* One registered thread. Written by its owner; qs and owner read by all. */
struct ct_tslot {
    uint64_t qs;                  /* atomic: epoch at the start of the current call, or CT_QS_OFFLINE */
    uintptr_t owner;              /* atomic: the owner's token, 0 when the slot is free */
    uint32_t nlimbo;              /* owner only */
    uint32_t pad;
    /* owner writes with relaxed atomics; ct_table_stats() sums (at offset
     * CT_CACHE_LINE, which ct_table_st() relies on) */
    struct ct_table_stats stats CT_ALIGNED(64);
    struct ct_limbo limbo[CT_SHARED_LIMBO]; /* owner only */
} CT_ALIGNED(64);

struct ct_shared {
    uint64_t id;                  /* unique per table, for the thread-local cache */
    uint64_t epoch CT_ALIGNED(64); /* atomic: the global epoch */
    uint32_t nslots;              /* atomic: slots ever used (scan bound) */
    struct ct_spinlock pool_lock CT_ALIGNED(64); /* entry pools: free lists, high-water marks */
    struct ct_spinlock wheel_lock CT_ALIGNED(64); /* the timer wheel */
    struct ct_spinlock sweep_lock;  /* ct_expire(): try-locked, one sweeper at a time */
    struct ct_tslot slot[CT_SHARED_THREADS];
};

_Static_assert(offsetof(struct ct_tslot, stats) == CT_CACHE_LINE, "ct_table_st() finds the shard here");

static inline struct ct_tslot *ct_shared_self(const struct ct_table *t)
{
    return CT_LIKELY(ct_tls.id == t->sh->id) ? ct_tls.slot : NULL;
}

#endif
