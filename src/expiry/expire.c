/*
 * The lifecycle calls of ctrack/expiry.h: the incremental sweep (ct_expire),
 * drain, flush, the destroy callback and per-zone limits. The timer wheel
 * they drive is in wheel.c; how the pieces fit is in docs/lifecycle.md.
 *
 * Handles: these calls free the entries they end at once (after the destroy
 * callback), and first free the entries retired by the previous call, so a
 * handle from an earlier call is invalid after any of them (ctrack/conn.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "common/compiler.h"
#include "ctrack/expiry.h"
#include "expiry/wheel.h"
#include "table/shared.h"
#include "table/table.h"

CT_EXPORT const char *ct_end_reason_name(unsigned reason)
{
    static const char *const names[CT_END_COUNT] = {
        [CT_END_CLOSED] = "closed",   [CT_END_EXPIRED] = "expired", [CT_END_REPLACED] = "replaced",
        [CT_END_EVICTED] = "evicted", [CT_END_FLUSHED] = "flushed", [CT_END_DRAINED] = "drained",
    };
    return reason < CT_END_COUNT ? names[reason] : "unknown";
}

CT_EXPORT int ct_table_set_destroy_cb(struct ct_table *t, ct_destroy_fn fn, void *arg)
{
    if (!t)
        return -EINVAL;
    t->destroy_fn = fn;
    t->destroy_arg = fn ? arg : NULL;
    return 0;
}

/* Starts a call that may end connections at `now`. Returns 0, or -EAGAIN
 * when a shared table has no thread slot left for the caller. */
static int call_begin(struct ct_table *t, uint64_t now)
{
    if (t->sh) {
        if (!ct_shared_enter(t))
            return -EAGAIN;
    } else {
        ct_table_reclaim(t);
    }
    __atomic_store_n(&t->clock, now, __ATOMIC_RELAXED);
    return 0;
}

/* ---- the sweep ----------------------------------------------------------------- */

struct sweep_run {
    struct ct_table *t;
    uint64_t now;
    unsigned expired;
    unsigned refiled;
};

/*
 * Due callback of the wheel: the connection came out of its slot (the wheel
 * has unfiled it). Expire it if its real deadline has passed, else hand the
 * real deadline back to be filed again (lazy refresh moved it later).
 */
/* Shared tables: the wheel is locked while it hands connections out, and a
 * connection may only be locked with the wheel unlocked (lock order, see
 * table/shared.h), so the due callback only collects them. */
#define SWEEP_CHUNK 256
struct sweep_collect {
    uint32_t n;
    uint32_t id[SWEEP_CHUNK];
};

static uint64_t sweep_collect_due(void *arg, uint32_t id, struct ct_conn *c, uint64_t tick_ns)
{
    struct sweep_collect *col = arg;
    (void)c;
    (void)tick_ns;
    col->id[col->n++] = id;
    return CT_WHEEL_EXPIRED; /* unfiled for now: filed again or ended below */
}

/* ct_expire() on a shared table: up to budget connections, SWEEP_CHUNK at a time. */
static int sweep_shared(struct ct_table *t, struct sweep_run *r, unsigned budget)
{
    int total = 0;
    while ((unsigned)total < budget) {
        struct sweep_collect col;
        col.n = 0;
        unsigned want = budget - (unsigned)total < SWEEP_CHUNK ? budget - (unsigned)total : SWEEP_CHUNK;
        ct_spin_lock(&t->sh->wheel_lock);
        int n = ct_wheel_advance(&t->wheel, r->now, want, sweep_collect_due, &col);
        ct_spin_unlock(&t->sh->wheel_lock);
        if (n <= 0)
            break;
        total += n;
        for (uint32_t i = 0; i < col.n; i++) {
            struct ct_conn *c = ct_table_conn_at(t, col.id[i]);
            ct_conn_lock(c);
            if ((c->status & (CT_STATUS_CONFIRMED | CT_STATUS_DYING)) == CT_STATUS_CONFIRMED) {
                if (ct_table_conn_expires(t, c) <= r->now) {
                    r->expired++;
                    ct_table_conn_end(t, c, CT_RM_EXPIRED);
                } else {
                    r->refiled++;
                    ct_spin_lock(&t->sh->wheel_lock);
                    (void)ct_wheel_insert(&t->wheel, col.id[i], c,
                                          ct_table_file_deadline(t, c, r->now));
                    ct_spin_unlock(&t->sh->wheel_lock);
                }
            }
            ct_conn_unlock(c);
        }
        if ((unsigned)n < want)
            break;
    }
    return total;
}

static uint64_t sweep_due(void *arg, uint32_t id, struct ct_conn *c, uint64_t tick_ns)
{
    struct sweep_run *r = arg;
    uint64_t deadline = ct_table_conn_expires(r->t, c);
    (void)id;
    (void)tick_ns;
    if (deadline <= r->now) {
        r->expired++;
        ct_table_conn_end(r->t, c, CT_RM_EXPIRED);
        return CT_WHEEL_EXPIRED;
    }
    r->refiled++;
    return ct_table_file_deadline(r->t, c, r->now);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t expire_locked(struct ct_table *t, uint64_t now, unsigned budget);

CT_EXPORT uint64_t ct_expire(struct ct_table *t, uint64_t now, unsigned budget)
{
    if (!t)
        return UINT64_MAX;
    if (call_begin(t, now))
        return now;
    if (t->sh) {
        /* One sweeper at a time; a thread that finds the sweep busy leaves
         * it to the other (the sweep state is the sweeper's alone). */
        if (!ct_spin_trylock(&t->sh->sweep_lock))
            return now + t->sweep.min_interval;
        uint64_t next = expire_locked(t, now, budget);
        ct_spin_unlock(&t->sh->sweep_lock);
        return next;
    }
    return expire_locked(t, now, budget);
}

/* ct_expire() once the caller may sweep. */
static uint64_t expire_locked(struct ct_table *t, uint64_t now, unsigned budget)
{
    if (budget == 0)
        budget = t->sweep.budget;

    struct sweep_run r = {t, now, 0, 0};
    int n;
    uint64_t due;
    if (t->sh) {
        n = sweep_shared(t, &r, budget);
        ct_spin_lock(&t->sh->wheel_lock);
        due = ct_wheel_next_due(&t->wheel);
        ct_spin_unlock(&t->sh->wheel_lock);
    } else {
        n = ct_wheel_advance(&t->wheel, now, budget, sweep_due, &r);
        due = ct_wheel_next_due(&t->wheel);
    }
    unsigned examined = n > 0 ? (unsigned)n : 0;
    CT_STAT_INC(t, sweep_calls);
    CT_STAT_ADD(t, sweep_examined, examined);
    CT_STAT_ADD(t, sweep_expired, r.expired);
    CT_STAT_ADD(t, sweep_refiled, r.refiled);

    struct ct_sweep *sw = &t->sweep;
    if (examined >= budget && due <= now) {
        /* Stopped on the budget with more due: come back at once. */
        CT_STAT_INC(t, sweep_backlog);
        sw->interval = sw->min_interval;
        return now;
    }
    /* gVisor's reaper: mostly expired means more is coming, so come back
     * soon; otherwise back off step by step up to the cap. */
    if (examined && (uint64_t)r.expired * 100 > (uint64_t)examined * sw->expired_pct)
        sw->interval = sw->min_interval;
    else
        sw->interval = sw->interval + sw->step < sw->max_interval ? sw->interval + sw->step
                                                                  : sw->max_interval;
    uint64_t next = sat_add(now, sw->interval);
    uint64_t soonest = sat_add(now, sw->min_interval);
    if (due < next)
        next = due > soonest ? due : soonest;
    return next;
}

/* ---- drain and flush ---------------------------------------------------------------- */

/*
 * Ends every live connection that match() accepts (all when match is NULL)
 * with `cause`, freeing entries as it goes (the walk is by pool index, so a
 * freed entry is never met again). A drain ends connections already past
 * their deadline as EXPIRED instead.
 */
static int walk_end(struct ct_table *t, uint64_t now, enum ct_remove_cause cause,
                    int (*match)(void *arg, const struct ct_table *t, const struct ct_conn *c),
                    void *arg)
{
    int n = 0;
    if (call_begin(t, now))
        return 0;
    for (unsigned f = 0; f < 2; f++) {
        const struct ct_pool *p = &t->pool[f];
        for (uint32_t i = 0; i < p->hiwater; i++) {
            struct ct_conn *c = ct_table_conn_at(t, i | (f ? CT_ID_V6 : 0));
            if ((c->status & (CT_STATUS_CONFIRMED | CT_STATUS_DYING)) != CT_STATUS_CONFIRMED)
                continue;
            if (match && !match(arg, t, c))
                continue;
            enum ct_remove_cause why = cause;
            if (cause == CT_RM_DRAINED && ct_table_conn_expires(t, c) <= now)
                why = CT_RM_EXPIRED; /* what the sweep would have said */
            ct_table_conn_end(t, c, why);
            if (n < INT32_MAX)
                n++;
        }
    }
    return n;
}

static int is_expired(void *arg, const struct ct_table *t, const struct ct_conn *c)
{
    const uint64_t *now = arg;
    return ct_table_conn_expires(t, c) <= *now;
}

CT_EXPORT int ct_expire_all(struct ct_table *t, uint64_t now)
{
    if (!t)
        return -EINVAL;
    int n = walk_end(t, now, CT_RM_EXPIRED, is_expired, &now);
    CT_STAT_ADD(t, expired_inline, (uint64_t)n);
    return n;
}

CT_EXPORT int ct_table_drain(struct ct_table *t, uint64_t now)
{
    if (!t)
        return -EINVAL;
    return walk_end(t, now, CT_RM_DRAINED, NULL, NULL);
}

static int addr_equal(const union ct_addr *a, const union ct_addr *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static int filter_match(void *arg, const struct ct_table *t, const struct ct_conn *c)
{
    const struct ct_flush_filter *f = arg;
    struct ct_tuple o;
    ct_table_conn_tuple(t, c, CT_DIR_ORIGINAL, &o);
    uint32_t m = f->match;
    if ((m & CT_FLUSH_ZONE) && o.zone != f->zone)
        return 0;
    if ((m & CT_FLUSH_L3) && o.l3 != f->l3)
        return 0;
    if ((m & CT_FLUSH_PROTO) && o.proto != f->proto)
        return 0;
    if ((m & CT_FLUSH_SRC) && !addr_equal(&o.src, &f->src))
        return 0;
    if ((m & CT_FLUSH_DST) && !addr_equal(&o.dst, &f->dst))
        return 0;
    if ((m & CT_FLUSH_SPORT) && o.sport != f->sport)
        return 0;
    if ((m & CT_FLUSH_DPORT) && o.dport != f->dport)
        return 0;
    return 1;
}

CT_EXPORT int ct_table_flush(struct ct_table *t, const struct ct_flush_filter *filter, uint64_t now)
{
    if (!t)
        return -EINVAL;
    if (!filter)
        return walk_end(t, now, CT_RM_FLUSHED, NULL, NULL);
    if ((filter->match & ~(uint32_t)CT_FLUSH_ALL_FIELDS) || filter->reserved)
        return -EINVAL;
    if ((filter->match & (CT_FLUSH_SRC | CT_FLUSH_DST)) && !(filter->match & CT_FLUSH_L3))
        return -EINVAL;
    return walk_end(t, now, CT_RM_FLUSHED, filter_match, (void *)filter);
}

CT_EXPORT int ct_table_flush_if(struct ct_table *t,
                                int (*match)(void *arg, const struct ct_table *table,
                                             const struct ct_conn *conn),
                                void *arg, uint64_t now)
{
    if (!t || !match)
        return -EINVAL;
    return walk_end(t, now, CT_RM_FLUSHED, match, arg);
}

/* ---- zone limits ------------------------------------------------------------------- */

static int count_zone(struct ct_conn *c, void *arg)
{
    struct ct_zone_slot *zones = arg;
    zones[ct_table_conn_zone(c)].count++;
    return 0;
}

CT_EXPORT int ct_table_set_zone_limit(struct ct_table *t, uint16_t zone, uint32_t max)
{
    if (t && t->sh)
        return -ENOTSUP; /* the counts would need atomics on every insert */
    if (!t)
        return -EINVAL;
    if (!t->zones) {
        /* Zeroed on demand by the kernel: only zones in use cost a page. */
        void *p = mmap(NULL, CT_ZONES * sizeof(struct ct_zone_slot), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return -ENOMEM;
        ct_table_foreach(t, count_zone, p);
        t->zones = p;
    }
    t->zones[zone].limit = max;
    return 0;
}

CT_EXPORT int ct_table_zone_count(const struct ct_table *t, uint16_t zone, uint32_t *count,
                                  uint32_t *limit)
{
    if (!t)
        return -EINVAL;
    if (!t->zones) {
        if (count)
            *count = 0;
        if (limit)
            *limit = 0;
        return -ENOENT;
    }
    if (count)
        *count = t->zones[zone].count;
    if (limit)
        *limit = t->zones[zone].limit;
    return 0;
}
