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
 * the timer wheel (wheel_lock), the deferred list of retired entries
 * (defer_lock, see Reclamation). The live-connection count is an atomic.
 *
 * Lock order (never taken in the other direction):
 *     connection lock  ->  bucket locks (ascending index)  ->  pool_lock
 *     connection lock  ->  wheel_lock
 *     connection lock  ->  defer_lock (no other lock is taken while it is held)
 *     sweep_lock  ->  every other lock
 * ct_expire() holds sweep_lock for the whole sweep, but only ever
 * try-locks it, so it takes no part in a wait cycle. The sweep holds
 * wheel_lock only while it takes due connections off the wheel; it then
 * locks each connection with the wheel unlocked. Early drop only try-locks
 * victims.
 *
 * ---- What the compiler checks -------------------------------------------------
 *
 * The global locks are capabilities of clang's -Wthread-safety analysis
 * (base/compiler.h; make test-tsa builds with it, warnings as errors, and
 * tests/tsa/ proves it fires). What each lock guards, as pf tags fields
 * (pfvar_priv.h), with the same letters beside struct ct_shared,
 * struct ct_table (table.h), struct ct_bucket (table.h) and struct ct_conn
 * (conn.h):
 *     [I]  immutable once the table (or the entry's insert) is done
 *     [A]  atomic: read and written with __atomic builtins, no lock
 *     [O]  the thread slot's owner only
 *     [X]  calls that need the table to themselves (flush, drain, foreach)
 *     [P]  pool_lock      [W]  wheel_lock      [S]  sweep_lock
 *     [D]  defer_lock     [B]  the bucket's seq lock
 *     [C]  the connection lock
 * In a table of one thread every field is its owner's, and no lock is taken.
 *
 * Checked: the fields of the deferred list are CT_GUARDED (read or written
 * only with a lock held); every function that needs one of the global locks
 * held says so with CT_REQUIRES (ct_table_conn_free_locked(), ...), and
 * those that take one themselves with CT_EXCLUDES (a spinlock taken twice
 * by one thread never comes back). The table-wide state that a global lock
 * guards in shared mode, the wheel [W], the pools' free lists [P] and the
 * sweep's pacing [S], lives in struct ct_table and is used without locks
 * by tables of one thread, so it cannot be CT_GUARDED: shared-mode code
 * reaches it only through ct_shared_wheel(), ct_shared_pool() and
 * ct_shared_sweep() below, each of which requires its lock; code of a table
 * of one thread names the fields directly. The accessors are inline and
 * return the field's address, so the packet path pays nothing for them.
 * (Rejected: one "owner" capability that the entry points of a table of one
 * thread assert, so that [W] and [P] could be guarded in both modes. The
 * analysis has no "this lock or that one", so every function on both paths,
 * from path/ down, would carry a mode-specific annotation, and the guard on
 * a field of struct ct_table would still have to name a lock in struct
 * ct_shared, which clang before 19 cannot parse in C.)
 *
 * Not checked, by the legend only: the bucket locks [B] and the connection
 * lock [C]. A writer locks a sorted set of buckets whose size is known only
 * at run time, which the analysis, tracking locks by name, cannot follow.
 * The connection lock is taken only in shared mode, on the same code that
 * tables of one thread run without it (if (t->sh) ct_conn_lock(c)), and a
 * lookup hands the connection to its caller locked
 * (ct_shared_find_live_locked()); the analysis needs each lock taken and
 * given back on every path of one function. The one opt-out is CT_NO_TSA
 * on ct_spin_lock(), ct_spin_trylock() and ct_spin_unlock(): their bodies
 * are the atomics that implement the capability, which the analysis cannot
 * see into.
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
 * the current epoch advances it (and, still at its quiescent state,
 * publishes the new epoch at once). Why QSBR rather than liburcu or
 * per-lookup epochs: the handle rule already makes every call boundary a
 * quiescent state, so readers pay one store and one fence per burst, not per
 * lookup, and the library needs no dependency.
 *
 * Where retired entries wait. Each thread keeps the entries it retired in
 * its slot's limbo (CT_SHARED_LIMBO of them, in tag order) and frees from it
 * at the start of each call. A limbo that fills up, within one call or over
 * many, and the limbo of a thread that goes offline, move as a whole to the
 * table's deferred list: the entries chained through timer_next (free while
 * an entry is off the wheel and off the free list), each with the low 32
 * bits of its tag in timer_prev, appended under defer_lock. Every thread's
 * reclaim pass also frees from the head of that list while the head's tag
 * is below the minimum qs, at most CT_SHARED_LIMBO entries per call; a
 * 32-bit tag is widened against an epoch read under the lock, which gives
 * the true tag or a later one (never an earlier one), so a wrapped tag can
 * only delay a free.
 *
 * Decision: a thread never waits for another to reclaim. An earlier version
 * spun at the start of a call while its limbo was nearly full until every
 * registered thread had passed a quiescent state; a thread that was
 * registered but idle (blocked at a barrier, or an application thread that
 * had not called for a while) then stalled every other thread forever, and
 * a call that retired more than the limbo held (a sweep with a large budget,
 * a flush) wrote past its end. Deferring instead bounds the damage a slow
 * thread can do by the pool: while a registered thread holds reclamation
 * back, retired entries accumulate on the deferred list, and once the
 * pool's spare entries (CT_SHARED_SPARE beyond max_connections) are used
 * up, a new connection finds no entry and is refused as in a full table
 * (stats.refused_full, verdict INVALID TABLE_FULL). That is graceful
 * degradation rather than a hang, and it ends by itself: the idle thread's
 * next call (or ct_table_thread_offline()) lets the next reclaim passes
 * free everything. A creation that finds the pool empty first runs a
 * reclaim pass of its own (without moving its quiescent state, which would
 * be wrong mid-call) and tries once more.
 *
 * Entry caches. Each slot keeps a magazine of free entry indices per family
 * (CT_SHARED_MAG; Bonwick and Adams, "Magazines and Vmem", USENIX 2001): a
 * creation pops from it, an empty one is refilled with CT_SHARED_MAG_BATCH
 * indices under one pool_lock acquisition, a free pushes onto it and a full
 * one gives CT_SHARED_MAG_BATCH back under one; reclaimed entries fill the
 * reclaiming thread's magazine first. Bound: at most CT_SHARED_MAG entries
 * per family per registered slot sit in magazines, and each pool has that
 * much room (CT_SHARED_THREADS * CT_SHARED_MAG) beyond max_connections and
 * the spare, so caches never make a table with room refuse a connection.
 * ct_table_thread_offline() gives the magazine back; a thread that exits
 * registered keeps its slot and its entries, as it keeps its limbo. The
 * live-connection count stays one atomic, reserved before the entry is
 * taken, so max_connections is exact.
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

#include "base/arch.h"
#include "base/compiler.h"
#include "ctrack/table.h"
#include "table/table.h"

#define CT_SHARED_THREADS 64     /* threads registered at once */
#define CT_SHARED_LIMBO 4096     /* retired entries one thread holds before deferring them */
#define CT_SHARED_SPARE (4 * CT_SHARED_LIMBO) /* pool entries beyond max_connections */
#define CT_SHARED_MAG 64         /* entry indices one thread's magazine holds, per family */
#define CT_SHARED_MAG_BATCH 32   /* indices moved between a magazine and the pool at once */
#define CT_QS_OFFLINE UINT64_MAX /* qs of a slot whose thread is not using the table */

/* A test-and-test-and-set spinlock, visible to clang's thread-safety analysis
 * (the functions below are its only users of v, hence CT_NO_TSA on them). */
struct CT_CAPABILITY("mutex") ct_spinlock {
    uint32_t v;
};

static inline void ct_spin_lock(struct ct_spinlock *l) CT_ACQUIRE(*l) CT_NO_TSA
{
    while (__atomic_exchange_n(&l->v, 1u, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
            ct_cpu_relax();
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

/* One registered thread. Written by its owner [O]; qs and owner read by all [A]. */
struct ct_tslot {
    uint64_t qs;                  /* [A] epoch at the start of the current call, or CT_QS_OFFLINE */
    uintptr_t owner;              /* [A] the owner's token, 0 when the slot is free */
    uint32_t nlimbo;              /* [O] */
    uint32_t pad;
    /* [O] written with relaxed atomics; ct_table_stats() sums (at offset
     * CT_CACHE_LINE, which ct_table_st() relies on) */
    struct ct_table_stats stats CT_ALIGNED(64);
    uint32_t nmag[2] CT_ALIGNED(64); /* [O] indices in mag[family] */
    uint32_t mag[2][CT_SHARED_MAG]; /* [O] free pool indices, IPv4 and IPv6 */
    struct ct_limbo limbo[CT_SHARED_LIMBO]; /* [O] */
} CT_ALIGNED(64);

/*
 * The shared state of a table (legend above). Lock order at the top of the
 * file; what each global lock guards in struct ct_table: pool_lock the
 * pools' free lists and high-water marks (ct_shared_pool()), wheel_lock the
 * wheel and the timer links of filed connections (ct_shared_wheel()),
 * sweep_lock the sweep's pacing (ct_shared_sweep()).
 */
struct ct_shared {
    uint64_t id;                  /* [I] unique per table, for the thread-local cache */
    uint64_t epoch CT_ALIGNED(64); /* [A] the global epoch */
    uint32_t nslots;              /* [A] slots ever used (scan bound) */
    struct ct_spinlock pool_lock CT_ALIGNED(64);
    struct ct_spinlock wheel_lock CT_ALIGNED(64);
    struct ct_spinlock sweep_lock;  /* ct_expire(): try-locked, one sweeper at a time */
    /* The deferred list (see Reclamation): retired entries chained through
     * timer_next, oldest first. [D]; the two counters are also read without
     * the lock, with atomic loads, which the analysis does not count as
     * accesses. */
    struct ct_spinlock defer_lock CT_ALIGNED(64);
    uint32_t defer_head CT_GUARDED; /* [D] the oldest entry, CT_ID_NONE when empty */
    uint32_t defer_tail CT_GUARDED; /* [D] the newest entry */
    uint64_t defer_head_tag CT_GUARDED; /* [D], read [A]: the head's tag (or above it);
                                         * CT_QS_OFFLINE when the list is empty */
    uint64_t ndeferred CT_GUARDED; /* [D], read [A]: entries on the list */
    struct ct_tslot slot[CT_SHARED_THREADS];
};

_Static_assert(offsetof(struct ct_tslot, stats) == CT_CACHE_LINE, "ct_table_st() finds the shard here");

static inline struct ct_tslot *ct_shared_self(const struct ct_table *t)
{
    return CT_LIKELY(ct_tls.id == t->sh->id) ? ct_tls.slot : NULL;
}

/*
 * The table-wide state that a global lock guards in shared mode, for
 * shared-mode code (what the compiler checks, above): each requires its
 * lock. Tables of one thread use the fields directly. The wheel's comes
 * from a const table too, for ct_table_stats(), as the table's own
 * accessors do (ct_table_conn_at()).
 */
static inline struct ct_wheel *ct_shared_wheel(const struct ct_table *t)
    CT_REQUIRES(t->sh->wheel_lock)
{
    return (struct ct_wheel *)(uintptr_t)&t->wheel;
}

static inline struct ct_pool *ct_shared_pool(struct ct_table *t, unsigned v6)
    CT_REQUIRES(t->sh->pool_lock)
{
    return &t->pool[v6];
}

static inline struct ct_sweep *ct_shared_sweep(struct ct_table *t) CT_REQUIRES(t->sh->sweep_lock)
{
    return &t->sweep;
}

/* As ct_table_conn_free(), for a caller that holds a shared table's pool_lock. */
void ct_table_conn_free_locked(struct ct_table *t, struct ct_conn *c) CT_REQUIRES(t->sh->pool_lock);

/* As ct_table_timer_file(), for a caller that holds a shared table's wheel_lock. */
void ct_shared_timer_file(struct ct_table *t, struct ct_conn *c) CT_REQUIRES(t->sh->wheel_lock);

#endif
