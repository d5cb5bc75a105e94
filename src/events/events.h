/*
 * Private interface of the events (ctrack/events.h): the hooks the packet
 * path and the table call, each behind one test of t->ev, which is NULL for
 * a table nobody listens to.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * Which change emits which event follows Linux's nf_conntrack_ecache users:
 * nf_conntrack_confirm() caches IPCT_NEW (IPCT_RELATED for an expected
 * connection), nf_conntrack_in() IPCT_REPLY when a reply first sets
 * IPS_SEEN_REPLY, the trackers IPCT_ASSURED when they set IPS_ASSURED and
 * IPCT_PROTOINFO when the TCP or SCTP state changes, the helper and mark
 * and label setters IPCT_HELPER, IPCT_MARK and IPCT_LABEL. The events
 * cached for one packet go out together after it (nf_ct_deliver_cached_
 * events()), and ctnetlink_conntrack_event() turns them into one message:
 * DESTROY, else NEW when NEW or RELATED is among them, else UPDATE.
 *
 * Rather than a hook at every place that changes a connection, the table
 * keeps per connection what it last reported (struct ct_ev_seen, a side
 * array, table/ext.h) and compares it with the connection after each
 * packet that found or created one: the trackers and the packet path stay
 * as they are, and a table without a listener pays one branch per burst
 * and one per removal. A change made and undone by one packet is not seen,
 * nor is it by Linux's listener, whose cached events say only what changed.
 */
#ifndef CT_EVENTS_EVENTS_H
#define CT_EVENTS_EVENTS_H

#include <stdint.h>

#include "ctrack/events.h"
#include "table/table.h"

struct ct_events {
    ct_event_fn fn;
    void *arg;
    uint16_t mask;      /* the table's default mask */
    int ext_id;         /* the side array of struct ct_ev_seen */
    uint32_t cap, n;    /* buffer capacity, events queued */
    struct ct_event_stats stats;
    struct ct_event *buf;
};

/* After one packet of a burst: reports what changed on verdict v's
 * connection (NEW for one it created). With `merge` (after the rules of
 * the burst), a change joins the connection's latest queued message. */
void ct_event_packet(struct ct_table *t, const struct ct_verdict *v, int merge);

/* A live connection about to be removed (table.c): DESTROY (after its NEW,
 * if that was not reported yet). */
void ct_event_destroy(struct ct_table *t, const struct ct_conn *c, unsigned reason);

/* A connection a snapshot restored (snapshot/): counted as reported as it
 * is, so that its next change is an UPDATE and the stream after a restore
 * goes on as the stream of the run that saved it. */
void ct_event_restored(struct ct_table *t, const struct ct_conn *c);

/* Hands the queued events to the callback (end of every call). */
void ct_event_flush(struct ct_table *t);

static inline void ct_event_call_end(struct ct_table *t)
{
    if (CT_UNLIKELY(t->ev != NULL) && t->ev->n)
        ct_event_flush(t);
}

/* Frees the events of a table (ct_table_destroy()). */
void ct_event_free(struct ct_table *t);

#endif
