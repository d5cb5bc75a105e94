/*
 * Shared tables: thread registration, quiescent-state reclamation, the
 * lock-free bucket reader and the bucket-locking writers. The protocol and
 * the lock order are in shared.h.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/arch.h"
#include "table/index.h"
#include "table/pool.h"
#include "table/shared.h"
#include "table/table.h"

/* The calling thread's slot in the shared table it used last. */
_Thread_local struct ct_tls_cache ct_tls;

/* Per-thread token: the address of a thread-local object is unique among
 * live threads. */
static _Thread_local char tls_token;

static uint64_t next_table_id = 1;

int ct_shared_create(struct ct_table *t)
{
    struct ct_shared *sh = aligned_alloc(CT_CACHE_LINE, sizeof(*sh));
    if (!sh)
        return -ENOMEM;
    memset(sh, 0, sizeof(*sh));
    sh->id = __atomic_fetch_add(&next_table_id, 1, __ATOMIC_RELAXED);
    sh->epoch = 1;
    /* Nobody else sees sh yet; the lock costs nothing here and keeps the
     * deferred list's fields under it everywhere. */
    ct_spin_lock(&sh->defer_lock);
    sh->defer_head = CT_ID_NONE;
    sh->defer_tail = CT_ID_NONE;
    sh->defer_head_tag = CT_QS_OFFLINE;
    ct_spin_unlock(&sh->defer_lock);
    for (unsigned i = 0; i < CT_SHARED_THREADS; i++)
        sh->slot[i].qs = CT_QS_OFFLINE;
    t->sh = sh;
    return 0;
}

void ct_shared_destroy(struct ct_table *t)
{
    free(t->sh);
    t->sh = NULL;
}

/* The calling thread's slot in sh found by its owner token, or NULL. */
static struct ct_tslot *slot_find(struct ct_shared *sh, uintptr_t me)
{
    uint32_t n = __atomic_load_n(&sh->nslots, __ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < n; i++)
        if (__atomic_load_n(&sh->slot[i].owner, __ATOMIC_ACQUIRE) == me)
            return &sh->slot[i];
    return NULL;
}

/* Finds or claims the calling thread's slot; NULL when all are taken. */
static struct ct_tslot *slot_register(struct ct_table *t)
{
    struct ct_shared *sh = t->sh;
    uintptr_t me = (uintptr_t)&tls_token;
    struct ct_tslot *s = slot_find(sh, me);
    for (uint32_t i = 0; i < CT_SHARED_THREADS && !s; i++) {
        uintptr_t free_owner = 0;
        if (__atomic_compare_exchange_n(&sh->slot[i].owner, &free_owner, me, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            s = &sh->slot[i];
            /* Make the slot visible to scans before it can hold an epoch
             * (sequentially consistent, like the scans' load: see
             * epoch_min()). Its qs is CT_QS_OFFLINE until the caller
             * publishes one. */
            uint32_t cur = __atomic_load_n(&sh->nslots, __ATOMIC_SEQ_CST);
            while (cur < i + 1 && !__atomic_compare_exchange_n(&sh->nslots, &cur, i + 1, 0,
                                                               __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                ;
        }
    }
    if (s) {
        ct_tls.id = sh->id;
        ct_tls.slot = s;
    }
    return s;
}

/* ---- the deferred list ----------------------------------------------------------- */

/*
 * The 64-bit epoch of a deferred entry from the low 32 bits `lo` kept in the
 * entry, given an epoch e read after the entry's tag was read: the largest
 * value not above e with those low bits. It is never below the true tag, so
 * an entry is at worst freed later than it could be, never earlier.
 */
static uint64_t tag_expand(uint64_t e, uint32_t lo)
{
    return e - (uint32_t)((uint32_t)e - lo);
}

/*
 * Frees the n entries ids[]: into me's magazines while they have room (no
 * lock), the rest to the pools under one pool_lock acquisition.
 */
static void free_ids(struct ct_table *t, struct ct_tslot *me, uint32_t *ids, uint32_t n)
    CT_EXCLUDES(t->sh->pool_lock)
{
    uint32_t rest = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct ct_conn *c = ct_table_conn_at(t, ids[i]);
        if (me->nmag[ct_conn_is_v6(c)] < CT_SHARED_MAG)
            ct_pool_mag_put(t, me, c);
        else
            ids[rest++] = ids[i];
    }
    if (rest == 0)
        return;
    ct_spin_lock(&t->sh->pool_lock);
    for (uint32_t i = 0; i < rest; i++)
        ct_table_conn_free_locked(t, ct_table_conn_at(t, ids[i]));
    ct_spin_unlock(&t->sh->pool_lock);
}

/* Moves all of me's limbo to the end of the table's deferred list. */
static void limbo_spill(struct ct_table *t, struct ct_tslot *me) CT_EXCLUDES(t->sh->defer_lock)
{
    struct ct_shared *sh = t->sh;
    uint32_t n = me->nlimbo;
    if (n == 0)
        return;
    /* Chain the entries through timer_next (unused: they are off the wheel),
     * each with the low half of its tag in timer_prev. Nobody else writes
     * these fields of a retired entry. */
    for (uint32_t i = 0; i < n; i++) {
        struct ct_conn *c = ct_table_conn_at(t, me->limbo[i].id);
        c->timer_prev = (uint32_t)me->limbo[i].epoch;
        c->timer_next = i + 1 < n ? me->limbo[i + 1].id : CT_ID_NONE;
    }
    ct_spin_lock(&sh->defer_lock);
    if (sh->defer_tail == CT_ID_NONE) {
        sh->defer_head = me->limbo[0].id;
        __atomic_store_n(&sh->defer_head_tag, me->limbo[0].epoch, __ATOMIC_RELEASE);
    } else {
        ct_table_conn_at(t, sh->defer_tail)->timer_next = me->limbo[0].id;
    }
    sh->defer_tail = me->limbo[n - 1].id;
    __atomic_store_n(&sh->ndeferred, sh->ndeferred + n, __ATOMIC_RELAXED);
    ct_spin_unlock(&sh->defer_lock);
    me->nlimbo = 0;
}

/*
 * Frees deferred entries from the head of the list while their tag is below
 * min, at most CT_SHARED_LIMBO per call so that one call's extra work stays
 * bounded. A thread that finds the list busy leaves it to the other.
 */
static void defer_reclaim(struct ct_table *t, struct ct_tslot *me, uint64_t min)
    CT_EXCLUDES(t->sh->defer_lock)
{
    struct ct_shared *sh = t->sh;
    if (__atomic_load_n(&sh->defer_head_tag, __ATOMIC_ACQUIRE) >= min)
        return;
    if (!ct_spin_trylock(&sh->defer_lock))
        return;
    /* Every tag in the list was read before its entry was appended, so an
     * epoch read now is at least each of them (tag_expand()). */
    uint64_t e = __atomic_load_n(&sh->epoch, __ATOMIC_SEQ_CST);
    uint32_t first = sh->defer_head, id = first, n = 0;
    uint64_t tag = __atomic_load_n(&sh->defer_head_tag, __ATOMIC_RELAXED);
    while (id != CT_ID_NONE && tag < min && n < CT_SHARED_LIMBO) {
        id = ct_table_conn_at(t, id)->timer_next;
        n++;
        if (id != CT_ID_NONE)
            tag = tag_expand(e, ct_table_conn_at(t, id)->timer_prev);
    }
    sh->defer_head = id;
    if (id == CT_ID_NONE)
        sh->defer_tail = CT_ID_NONE;
    __atomic_store_n(&sh->defer_head_tag, id == CT_ID_NONE ? CT_QS_OFFLINE : tag, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->ndeferred, sh->ndeferred - n, __ATOMIC_RELAXED);
    ct_spin_unlock(&sh->defer_lock);
    if (n == 0)
        return;
    /* The n entries from `first` are ours now. */
    uint32_t ids[CT_SHARED_LIMBO];
    for (uint32_t i = 0; i < n; i++) {
        ids[i] = id = i ? ct_table_conn_at(t, id)->timer_next : first;
    }
    free_ids(t, me, ids, n);
}

/* ---- quiescent-state reclamation ------------------------------------------------- */

/*
 * The lowest epoch any online thread may still be using; advances the global
 * epoch when every online thread has seen the current one. The scan's loads
 * are sequentially consistent with the epoch's and nslots' updates: a thread
 * that registers, or publishes a qs, after the scan read an epoch no lower
 * than the one this returns, so it cannot reach an entry retired with a tag
 * below it.
 */
static uint64_t epoch_min(struct ct_shared *sh)
{
    uint64_t e = __atomic_load_n(&sh->epoch, __ATOMIC_SEQ_CST);
    uint64_t min = CT_QS_OFFLINE;
    uint32_t n = __atomic_load_n(&sh->nslots, __ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t q = __atomic_load_n(&sh->slot[i].qs, __ATOMIC_SEQ_CST);
        if (q < min)
            min = q;
    }
    if (min >= e) {
        uint64_t exp = e;
        (void)__atomic_compare_exchange_n(&sh->epoch, &exp, e + 1, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED);
    }
    return min;
}

/*
 * Frees the calling thread's retired entries and the deferred ones that no
 * thread can still see. At the start of a call (`quiescent`), where the
 * thread holds no pointer into the table, it also publishes an epoch that
 * moved on meanwhile (perhaps by its own scan), so that what it retired
 * under the old one can be freed by the next scan instead of a later one.
 */
static void limbo_reclaim(struct ct_table *t, struct ct_tslot *me, int quiescent)
{
    struct ct_shared *sh = t->sh;
    uint64_t min = epoch_min(sh);
    if (quiescent) {
        uint64_t e = __atomic_load_n(&sh->epoch, __ATOMIC_SEQ_CST);
        if (e > __atomic_load_n(&me->qs, __ATOMIC_RELAXED)) {
            (void)__atomic_exchange_n(&me->qs, e, __ATOMIC_SEQ_CST);
            min = epoch_min(sh);
        }
    }
    uint32_t keep = 0, nfree = 0;
    uint32_t ids[CT_SHARED_LIMBO];
    for (uint32_t i = 0; i < me->nlimbo; i++) {
        if (me->limbo[i].epoch < min)
            ids[nfree++] = me->limbo[i].id;
        else
            me->limbo[keep++] = me->limbo[i];
    }
    me->nlimbo = keep;
    free_ids(t, me, ids, nfree);
    defer_reclaim(t, me, min);
}

struct ct_tslot *ct_shared_enter(struct ct_table *t)
{
    struct ct_tslot *me = ct_shared_self(t);
    if (CT_UNLIKELY(!me)) {
        me = slot_register(t);
        if (!me)
            return NULL;
    }
    /* The quiescent state: publish the epoch, then read the index. The
     * exchange is a full barrier (a locked instruction on x86), so no read
     * of the index moves before the publication. (No explicit fences: GCC's
     * ThreadSanitizer does not model them.) */
    (void)__atomic_exchange_n(&me->qs, __atomic_load_n(&t->sh->epoch, __ATOMIC_SEQ_CST),
                              __ATOMIC_SEQ_CST);
    /* Never wait for other threads here (shared.h, Reclamation): what cannot
     * be freed yet stays in the limbo or on the deferred list. */
    if (me->nlimbo || __atomic_load_n(&t->sh->defer_head_tag, __ATOMIC_RELAXED) != CT_QS_OFFLINE)
        limbo_reclaim(t, me, 1);
    return me;
}

void ct_shared_reclaim(struct ct_table *t)
{
    struct ct_tslot *me = ct_shared_self(t);
    if (me)
        limbo_reclaim(t, me, 0);
}

void ct_shared_retire(struct ct_table *t, struct ct_conn *c)
{
    struct ct_tslot *me = ct_tls.slot;
    /* A full limbo moves to the deferred list: a call may retire any number
     * of entries (a sweep with a large budget, a flush). */
    if (CT_UNLIKELY(me->nlimbo == CT_SHARED_LIMBO))
        limbo_spill(t, me);
    /* Read the epoch with a read-modify-write: a full barrier after the
     * unlinking stores. */
    me->limbo[me->nlimbo].epoch = __atomic_fetch_add(&t->sh->epoch, 0, __ATOMIC_SEQ_CST);
    me->limbo[me->nlimbo].id = ct_table_conn_id(t, c);
    me->nlimbo++;
}

CT_EXPORT int ct_table_thread_offline(struct ct_table *t)
{
    if (!t)
        return -EINVAL;
    if (!t->sh)
        return 0;
    /* The one-entry cache may name another table the thread used since:
     * look the slot up by owner then. */
    struct ct_tslot *me = ct_shared_self(t);
    if (!me)
        me = slot_find(t->sh, (uintptr_t)&tls_token);
    if (!me)
        return 0;
    /* Whatever this thread retired goes where every thread frees it, and
     * the free entries it cached go back to the pools. */
    limbo_spill(t, me);
    ct_pool_mag_drain(t, me);
    __atomic_store_n(&me->qs, CT_QS_OFFLINE, __ATOMIC_SEQ_CST);
    __atomic_store_n(&me->owner, (uintptr_t)0, __ATOMIC_RELEASE);
    if (ct_tls.slot == me) {
        ct_tls.id = 0;
        ct_tls.slot = NULL;
    }
    return 0;
}

uint64_t ct_shared_unreclaimed(const struct ct_table *t)
{
    const struct ct_shared *sh = t->sh;
    uint64_t n = __atomic_load_n(&sh->ndeferred, __ATOMIC_RELAXED);
    uint32_t ns = __atomic_load_n(&sh->nslots, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < ns; i++)
        n += __atomic_load_n(&sh->slot[i].nlimbo, __ATOMIC_RELAXED);
    return n;
}

void ct_shared_stats_sum(const struct ct_table *t, struct ct_table_stats *out)
{
    const struct ct_shared *sh = t->sh;
    uint64_t *o = (uint64_t *)(void *)out;
    size_t nw = offsetof(struct ct_table_stats, connections) / sizeof(uint64_t);
    uint32_t n = __atomic_load_n(&sh->nslots, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        const uint64_t *s = (const uint64_t *)(const void *)&sh->slot[i].stats;
        for (size_t w = 0; w < nw; w++)
            o[w] += __atomic_load_n(&s[w], __ATOMIC_RELAXED);
        for (size_t w = offsetof(struct ct_table_stats, closed) / sizeof(uint64_t);
             w <= offsetof(struct ct_table_stats, refiled_shrink) / sizeof(uint64_t); w++)
            o[w] += __atomic_load_n(&s[w], __ATOMIC_RELAXED);
    }
}

/* ---- the lock-free reader ------------------------------------------------------- */

/* The lock-free lookup: the index walk over seqlocked copies of the
 * buckets (index.h). */
struct ct_conn *ct_shared_find(const struct ct_table *t, const void *k, unsigned v6, uint64_t h,
                               unsigned *dir)
{
    return ct_index_walk(t, CT_VIEW_SNAPSHOT, k, v6, h, ct_table_bucket_of(t, h), dir);
}

/* Signatures and refs for stage 2's prefetch: relaxed loads, no validation. */
void ct_shared_prefetch(const struct ct_table *t, uint64_t h)
{
    const struct ct_bucket *bk = ct_table_home(t, h);
    uint16_t sig = ct_hash_sig(h);
    for (unsigned j = 0; j < CT_BUCKET_SLOTS; j++) {
        if (__atomic_load_n(&bk->sig[j], __ATOMIC_RELAXED) != sig)
            continue;
        uint32_t id = __atomic_load_n(&bk->ref[j], __ATOMIC_RELAXED) >> 1;
        ct_pool_prefetch_entry(&t->pool[(id & CT_ID_V6) != 0], id & (CT_ID_V6 - 1));
    }
}

/* ---- bucket-locking writers ----------------------------------------------------- */

/* A set of buckets to lock, kept sorted by index without duplicates, with
 * each bucket's seq as the walk that added it read it (see
 * lockset_unchanged()). Only b[0..n) and seq[0..n) are ever read, so a set
 * starts with n = 0 and stale = 0 and its arrays are left unwritten:
 * zeroing them cost hundreds of instructions per creation. */
struct lockset {
    uint32_t n;
    uint32_t stale; /* a bucket was locked, or read twice with different seqs */
    uint32_t b[2 * CT_PROBE_MAX];
    uint32_t seq[2 * CT_PROBE_MAX];
};

static void lockset_add(struct lockset *ls, uint32_t b, uint32_t seq)
{
    if (seq & 1)
        ls->stale = 1;
    /* A run walks buckets upwards, so most adds append. */
    if (ls->n == 0 || ls->b[ls->n - 1] < b) {
        ls->b[ls->n] = b;
        ls->seq[ls->n++] = seq;
        return;
    }
    uint32_t i = 0;
    while (i < ls->n && ls->b[i] < b)
        i++;
    if (i < ls->n && ls->b[i] == b) {
        if (ls->seq[i] != seq)
            ls->stale = 1;
        return;
    }
    memmove(&ls->b[i + 1], &ls->b[i], (ls->n - i) * sizeof(ls->b[0]));
    memmove(&ls->seq[i + 1], &ls->seq[i], (ls->n - i) * sizeof(ls->seq[0]));
    ls->b[i] = b;
    ls->seq[i] = seq;
    ls->n++;
}

static int lockset_has(const struct lockset *ls, uint32_t b)
{
    for (uint32_t i = 0; i < ls->n; i++)
        if (ls->b[i] == b)
            return 1;
    return 0;
}

/* The bucket locks [B] are not capabilities: a writer holds a set of them
 * whose size is known only at run time (shared.h, what the compiler checks). */
static void bucket_lock(struct ct_bucket *bk)
{
    for (;;) {
        uint32_t s = __atomic_load_n(&bk->seq, __ATOMIC_RELAXED);
        if (!(s & 1) && __atomic_compare_exchange_n(&bk->seq, &s, s + 1, 1, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_RELAXED))
            break;
        ct_cpu_relax();
    }
    /* The slot stores are release stores (ct_index_put(), ct_index_del()),
     * so none of them becomes visible before the odd seq. */
}

static void bucket_unlock(struct ct_bucket *bk)
{
    __atomic_store_n(&bk->seq, __atomic_load_n(&bk->seq, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

/* Locks every bucket of the set in ascending index order (seed 001). */
static void lockset_lock(struct ct_table *t, const struct lockset *ls)
{
    for (uint32_t i = 0; i < ls->n; i++)
        bucket_lock(&t->buckets[ls->b[i]]);
}

static void lockset_unlock(struct ct_table *t, const struct lockset *ls)
{
    for (uint32_t i = ls->n; i-- > 0;)
        bucket_unlock(&t->buckets[ls->b[i]]);
}

/*
 * The run a tuple with hash h needs: from its home to the later of the end
 * of its ovf chain and the first bucket with a free slot (insert), or to the
 * bucket holding `ref` (ref != 0: removal). Adds the run to ls; returns 0, or
 * -ENOSPC when the run would pass the probe cap. An insert that must retry
 * asks for `extra` buckets beyond the run's end.
 */
static int run_add(const struct ct_table *t, uint64_t h, uint32_t ref, struct lockset *ls,
                   uint32_t extra)
{
    uint32_t b = ct_table_bucket_of(t, h);
    int chain_open = 1, need_free = ref == 0, found = 0;
    for (uint32_t i = 0; i < t->probe_max; i++) {
        const struct ct_bucket *bk = &t->buckets[b];
        /* seq before the contents, and the contents with acquire loads: a
         * value some writer stored is then seen with that writer's odd seq
         * or a later one (lockset_unchanged()). */
        lockset_add(ls, b, __atomic_load_n(&bk->seq, __ATOMIC_ACQUIRE));
        if (ref) {
            for (unsigned s = 0; s < CT_BUCKET_SLOTS; s++)
                if (__atomic_load_n(&bk->ref[s], __ATOMIC_ACQUIRE) == ref &&
                    __atomic_load_n(&bk->sig[s], __ATOMIC_ACQUIRE))
                    found = 1;
            if (found)
                return 0;
        } else if (need_free) {
            for (unsigned s = 0; s < CT_BUCKET_SLOTS; s++)
                if (__atomic_load_n(&bk->sig[s], __ATOMIC_ACQUIRE) == 0)
                    need_free = 0;
        }
        if (__atomic_load_n(&bk->ovf, __ATOMIC_ACQUIRE) == 0)
            chain_open = 0;
        if (!chain_open && !need_free && !ref && extra-- == 0)
            return 0;
        b = ct_table_next_bucket(t, b);
    }
    return ref || !need_free ? 0 : -ENOSPC;
}

/*
 * With every bucket of ls locked by the caller: whether none of them has
 * been locked by anyone else since the walks that built ls read it. Then
 * every bucket holds what those walks saw, so the runs they computed are
 * the runs now (a seqlock's read check: a writer makes seq odd before its
 * first release store to a bucket and even again after its last, so a
 * contents load that saw its store is followed by a seq at least that
 * writer's). Each lock made seq one more than it was.
 */
static int lockset_unchanged(const struct ct_table *t, const struct lockset *ls)
{
    if (ls->stale)
        return 0;
    for (uint32_t i = 0; i < ls->n; i++)
        if (__atomic_load_n(&t->buckets[ls->b[i]].seq, __ATOMIC_RELAXED) != ls->seq[i] + 1)
            return 0;
    return 1;
}

static int run_covered(const struct ct_table *t, uint64_t h, uint32_t ref, const struct lockset *ls);

/* With ls locked: whether the runs of h0 and h1 (ref0, ref1 for a removal)
 * are still inside it. Debug builds check the fast answer against the
 * walks, so the concurrency tests catch a validation that trusts a run
 * another thread has changed. */
static int runs_covered(const struct ct_table *t, const struct lockset *ls, const uint64_t h[2],
                        uint32_t ref0, uint32_t ref1)
{
    if (lockset_unchanged(t, ls)) {
        assert(run_covered(t, h[0], ref0, ls) == 1 && run_covered(t, h[1], ref1, ls) == 1);
        return 1;
    }
    return run_covered(t, h[0], ref0, ls) == 1 && run_covered(t, h[1], ref1, ls) == 1;
}

/* Whether every bucket of the run (as run_add would compute it now, with the
 * buckets locked) is in ls: 1 if so, 0 if not, -ENOSPC if the run would
 * pass the probe cap. */
static int run_covered(const struct ct_table *t, uint64_t h, uint32_t ref, const struct lockset *ls)
{
    struct lockset now;
    now.n = 0;
    now.stale = 0;
    if (run_add(t, h, ref, &now, 0))
        return -ENOSPC;
    for (uint32_t i = 0; i < now.n; i++)
        if (!lockset_has(ls, now.b[i]))
            return 0;
    return 1;
}

/* Finds key k (hash h) among locked buckets; the caller holds the run. */
static struct ct_conn *find_locked(const struct ct_table *t, const void *k, unsigned v6, uint64_t h,
                                   unsigned *dir)
{
    return ct_index_walk(t, CT_VIEW_LOCKED, k, v6, h, ct_table_bucket_of(t, h), dir);
}

int ct_shared_index_insert(struct ct_table *t, struct ct_conn *c, uint64_t h_orig,
                           struct ct_conn **existing, unsigned *existing_dir)
{
    uint32_t id = ct_table_conn_id(t, c);
    unsigned v6 = ct_conn_is_v6(c);
    /* The keys, for the locked re-check that nobody created c meanwhile. */
    union {
        struct ct_key4 k4;
        struct ct_key6 k6;
    } key[2];
    uint64_t h[2];
    assert(h_orig == ct_table_conn_hash(t, c, CT_DIR_ORIGINAL)); /* debug builds */
    h[0] = h_orig;
    if (v6) {
        key[0].k6 = *ct_conn_key6(c);
        ct_table_reply_key6(t, c, &key[1].k6);
        h[1] = ct_table_hash6(t, &key[1].k6);
    } else {
        key[0].k4 = *ct_conn_key4(c);
        ct_table_reply_key4(t, c, &key[1].k4);
        h[1] = ct_table_hash4(t, &key[1].k4);
    }
    *existing = NULL;
    for (uint32_t extra = 0;; extra++) {
        struct lockset ls;
        ls.n = 0;
        ls.stale = 0;
        if (run_add(t, h[0], 0, &ls, extra) || run_add(t, h[1], 0, &ls, extra))
            return -ENOSPC;
        lockset_lock(t, &ls);
        if (!runs_covered(t, &ls, h, 0, 0)) {
            lockset_unlock(t, &ls);
            continue; /* a run grew before we held it */
        }
        /* The locked re-check: has another thread created this connection? */
        for (unsigned d = 0; d < 2; d++) {
            unsigned dd;
            struct ct_conn *o = find_locked(t, &key[d], v6, h[d], &dd);
            if (o) {
                *existing = o;
                *existing_dir = dd ^ d;
                lockset_unlock(t, &ls);
                return -EEXIST;
            }
        }
        /* Put the original tuple, then check that the reply's run still
         * ends at a free slot inside the locked set (the first put may have
         * taken the slot it was counting on). */
        (void)ct_index_put(t, CT_VIEW_LOCKED, h[0], id << 1 | CT_DIR_ORIGINAL);
        int covered = run_covered(t, h[1], 0, &ls);
        if (covered <= 0) {
            (void)ct_index_del(t, CT_VIEW_LOCKED, h[0], id << 1 | CT_DIR_ORIGINAL);
            lockset_unlock(t, &ls);
            if (covered < 0 || extra >= t->probe_max)
                return -ENOSPC;
            continue;
        }
        (void)ct_index_put(t, CT_VIEW_LOCKED, h[1], id << 1 | CT_DIR_REPLY);
        lockset_unlock(t, &ls);
        return 0;
    }
}

void ct_shared_index_remove(struct ct_table *t, struct ct_conn *c)
{
    uint32_t id = ct_table_conn_id(t, c);
    const uint64_t h[2] = {ct_table_conn_hash(t, c, CT_DIR_ORIGINAL),
                           ct_table_conn_hash(t, c, CT_DIR_REPLY)};
    for (;;) {
        struct lockset ls;
        ls.n = 0;
        ls.stale = 0;
        (void)run_add(t, h[0], id << 1 | CT_DIR_ORIGINAL, &ls, 0);
        (void)run_add(t, h[1], id << 1 | CT_DIR_REPLY, &ls, 0);
        lockset_lock(t, &ls);
        if (!runs_covered(t, &ls, h, id << 1 | CT_DIR_ORIGINAL, id << 1 | CT_DIR_REPLY)) {
            lockset_unlock(t, &ls);
            continue;
        }
        (void)ct_index_del(t, CT_VIEW_LOCKED, h[0], id << 1 | CT_DIR_ORIGINAL);
        (void)ct_index_del(t, CT_VIEW_LOCKED, h[1], id << 1 | CT_DIR_REPLY);
        lockset_unlock(t, &ls);
        return;
    }
}
