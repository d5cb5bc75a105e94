/*
 * The incremental sweep of ctrack/expiry.h (ct_expire, ct_expire_all). The
 * timer wheel it drives is in wheel.c; drain, flush and the destroy callback
 * are the table's (table/lifecycle.c); how the pieces fit is in
 * docs/lifecycle.md.
 *
 * Handles: these calls free the entries they end at once (after the destroy
 * callback), and first free the entries retired by the previous call, so a
 * handle from an earlier call is invalid after any of them (ctrack/conn.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "base/compiler.h"
#include "events/events.h"
#include "ctrack/expiry.h"
#include "expiry/wheel.h"
#include "table/shared.h"
#include "table/table.h"

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
        int n = ct_wheel_advance(ct_shared_wheel(t), r->now, want, sweep_collect_due, &col);
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
                    (void)ct_wheel_insert(ct_shared_wheel(t), col.id[i], c,
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

static uint64_t expire_locked(struct ct_table *t, struct ct_sweep *sw, uint64_t now,
                              unsigned budget);

CT_EXPORT uint64_t ct_expire(struct ct_table *t, uint64_t now, unsigned budget)
{
    if (!t)
        return UINT64_MAX;
    if (ct_table_call_begin(t, now))
        return now;
    if (t->sh) {
        /* One sweeper at a time; a thread that finds the sweep busy leaves
         * it to the other (the sweep state is the sweeper's alone). */
        if (!ct_spin_trylock(&t->sh->sweep_lock))
            return now + t->sweep.min_interval;
        uint64_t next = expire_locked(t, ct_shared_sweep(t), now, budget);
        ct_spin_unlock(&t->sh->sweep_lock);
        return next;
    }
    uint64_t next = expire_locked(t, &t->sweep, now, budget);
    ct_event_call_end(t);
    return next;
}

/* ct_expire() once the caller may sweep: sw is t's sweep state, which a
 * shared table's caller holds sweep_lock for. */
static uint64_t expire_locked(struct ct_table *t, struct ct_sweep *sw, uint64_t now,
                              unsigned budget)
{
    if (budget == 0)
        budget = sw->budget;

    struct sweep_run r = {t, now, 0, 0};
    int n;
    uint64_t due;
    if (t->sh) {
        n = sweep_shared(t, &r, budget);
        ct_spin_lock(&t->sh->wheel_lock);
        due = ct_wheel_next_due(ct_shared_wheel(t));
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

    /* The interval is stored with a relaxed atomic: ct_table_stats() reads
     * it as a gauge without sweep_lock. */
    if (examined >= budget && due <= now) {
        /* Stopped on the budget with more due: come back at once. */
        CT_STAT_INC(t, sweep_backlog);
        __atomic_store_n(&sw->interval, sw->min_interval, __ATOMIC_RELAXED);
        return now;
    }
    /* gVisor's reaper: mostly expired means more is coming, so come back
     * soon; otherwise back off step by step up to the cap. */
    uint64_t interval = sw->min_interval;
    if (!examined || (uint64_t)r.expired * 100 <= (uint64_t)examined * sw->expired_pct)
        interval = sw->interval + sw->step < sw->max_interval ? sw->interval + sw->step
                                                              : sw->max_interval;
    __atomic_store_n(&sw->interval, interval, __ATOMIC_RELAXED);
    uint64_t next = sat_add(now, interval);
    uint64_t soonest = sat_add(now, sw->min_interval);
    if (due < next)
        next = due > soonest ? due : soonest;
    return next;
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
    int n = ct_table_end_where(t, now, CT_RM_EXPIRED, is_expired, &now);
    CT_STAT_ADD(t, expired_inline, (uint64_t)n);
    return n;
}

