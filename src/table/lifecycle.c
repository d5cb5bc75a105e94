/*
 * Ending connections on request (ctrack/expiry.h, ctrack/table.h): drain,
 * flush, the destroy callback they report to, and the call prologue shared
 * with the sweep (expiry/expire.c).
 *
 * Handles: these calls free the entries they end at once (after the destroy
 * callback), and first free the entries retired by the previous call, so a
 * handle from an earlier call is invalid after any of them (ctrack/conn.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "base/compiler.h"
#include "events/events.h"
#include "ctrack/expiry.h"
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
int ct_table_call_begin(struct ct_table *t, uint64_t now)
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

/*
 * Ends every live connection that match() accepts (all when match is NULL)
 * with `cause`, freeing entries as it goes (the walk is by pool index, so a
 * freed entry is never met again). A drain ends connections already past
 * their deadline as EXPIRED instead.
 */
int ct_table_end_where(struct ct_table *t, uint64_t now, enum ct_remove_cause cause,
                       int (*match)(void *arg, const struct ct_table *t, const struct ct_conn *c),
                       void *arg)
{
    int n = 0;
    if (ct_table_call_begin(t, now))
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
    ct_event_call_end(t);
    return n;
}

CT_EXPORT int ct_table_drain(struct ct_table *t, uint64_t now)
{
    if (!t)
        return -EINVAL;
    return ct_table_end_where(t, now, CT_RM_DRAINED, NULL, NULL);
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
        return ct_table_end_where(t, now, CT_RM_FLUSHED, NULL, NULL);
    if ((filter->match & ~(uint32_t)CT_FLUSH_ALL_FIELDS) || filter->reserved)
        return -EINVAL;
    if ((filter->match & (CT_FLUSH_SRC | CT_FLUSH_DST)) && !(filter->match & CT_FLUSH_L3))
        return -EINVAL;
    return ct_table_end_where(t, now, CT_RM_FLUSHED, filter_match, (void *)filter);
}

CT_EXPORT int ct_table_flush_if(struct ct_table *t,
                                int (*match)(void *arg, const struct ct_table *table,
                                             const struct ct_conn *conn),
                                void *arg, uint64_t now)
{
    if (!t || !match)
        return -EINVAL;
    return ct_table_end_where(t, now, CT_RM_FLUSHED, match, arg);
}
