/*
 * ctrack/events.h: connection events, as Linux's ctnetlink reports them
 * (`conntrack -E`): NEW when a connection is committed, UPDATE when a later
 * packet changes what a listener sees (a reply seen, assured, the TCP or
 * SCTP state, the helper, the mark, the labels), DESTROY when it ends, with
 * its final counters and the reason.
 *
 * Usage:
 *     static void on_events(void *arg, const struct ct_event *ev, unsigned n)
 *     {
 *         for (unsigned i = 0; i < n; i++)
 *             log_event(&ev[i]);
 *     }
 *     ...
 *     struct ct_table *t = ct_table_create(&cfg, &err);
 *     ct_table_set_event_cb(t, on_events, ctx, CT_EVENT_ALL, 0);
 *     ct_process_burst(t, ...);   // on_events() runs before this returns
 *
 * Delivery: the calls that cause events (ct_process_*, ct_table_lookup,
 * ct_expire, ct_expire_all, ct_table_flush*, ct_table_drain) queue them, in
 * the order they happen, in a bounded buffer the table allocated when the
 * callback was set, and hand the whole batch to the callback once, just
 * before they return. The packet path never allocates. When the buffer is
 * full, further events of that call are dropped and counted in
 * ct_event_stats.lost (Linux counts the same loss as ENOBUFS on the
 * listener's socket); a larger `capacity` avoids it. An event copies the
 * connection (struct ct_conn_info), so it stays valid during the callback
 * only and names no handle.
 *
 * Masks: a connection reports the events of its own mask, set by its
 * template or a rule (`ct event set`, ctrack/template.h, CT_INFO_F_EVENTS)
 * like Linux's CT target --ctevents; every other connection uses the table's
 * default mask. As in nf_conntrack_ecache.c, a message is sent when any of
 * its events is in the mask, and then carries all of them.
 *
 * Thread-safety: only tables of one thread (not CT_TABLE_F_SHARED). The
 * callback runs on the calling thread inside the call; it must not call
 * into the same table.
 *
 * Ownership: the table owns the buffer and frees it with the table or when
 * the callback is cleared; the callback owns nothing it is handed.
 *
 * The destroy callback (ct_table_set_destroy_cb(), ctrack/expiry.h) stays
 * beside the events: it hands out the live handle at the moment of removal,
 * which the events, copied and delivered later, cannot.
 */
#ifndef CTRACK_EVENTS_H
#define CTRACK_EVENTS_H

#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/template.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_table;

/* Message types, as ctnetlink's (IPCTNL_MSG_CT_NEW in the NEW or UPDATE
 * group, IPCTNL_MSG_CT_DELETE). */
enum ct_event_type {
    CT_EVENT_TYPE_NEW = 1,
    CT_EVENT_TYPE_UPDATE = 2,
    CT_EVENT_TYPE_DESTROY = 3,
};

/* "NEW", "UPDATE", "DESTROY"; "UNKNOWN" otherwise. */
const char *ct_event_type_name(unsigned type);

/* One message. */
struct ct_event {
    uint64_t time;          /* `now` of the call that caused it (ns) */
    uint8_t type;           /* enum ct_event_type */
    uint8_t reason;         /* DESTROY: enum ct_end_reason (ctrack/expiry.h); else 0 */
    uint16_t events;        /* the CT_EVENT_* bits behind it (ctrack/template.h) */
    uint32_t pad;
    struct ct_conn_info info; /* the connection after the change; final for DESTROY */
};

/* Receives n >= 1 events, oldest first. */
typedef void (*ct_event_fn)(void *arg, const struct ct_event *events, unsigned n);

/* The buffer size when `capacity` is 0: four bursts of NEW events. */
#define CT_EVENT_DEFAULT_CAPACITY 256u
/* The largest buffer: room for ending the largest table in one call. */
#define CT_EVENT_MAX_CAPACITY ((1u << 30) + 1024u)

/*
 * Sets the event callback, the default mask (CT_EVENT_*) of connections
 * without their own, and the buffer's capacity in events (0: the default).
 * fn NULL stops events and frees the buffer. Set it before the table sees
 * its first packet: the table keeps per connection what it last reported
 * (a side array, table/ext.h), which can only be added then. Setting it
 * again later (another callback, mask or capacity) is allowed while one is
 * set; once cleared with fn NULL, it can be set again only before the
 * table's first connection.
 * Returns 0, or:
 *   -EINVAL   table is NULL, the mask has bits outside CT_EVENT_ALL, or
 *             capacity is above CT_EVENT_MAX_CAPACITY;
 *   -ENOTSUP  the table is shared (CT_TABLE_F_SHARED);
 *   -EBUSY    the first callback is set after the table created a connection;
 *   -ENOMEM   the buffer or the side array could not be allocated.
 */
int ct_table_set_event_cb(struct ct_table *table, ct_event_fn fn, void *arg,
                          uint16_t default_mask, uint32_t capacity);

/* Event counters. */
struct ct_event_stats {
    uint64_t delivered; /* events handed to the callback */
    uint64_t lost;      /* events dropped because the buffer was full */
};

/* Copies the counters (zero without a callback). Returns 0 or -EINVAL. */
int ct_table_event_stats(const struct ct_table *table, struct ct_event_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
