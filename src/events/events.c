/*
 * Connection events (ctrack/events.h): what each connection last reported,
 * the per-table buffer and its delivery. The rules for which change emits
 * which event are in events.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/compiler.h"
#include "events/events.h"
#include "table/ext.h"

/* What a connection last reported; zero (ext.h) until its NEW. */
struct ct_ev_seen {
    uint8_t reported; /* its NEW went out (or was masked) */
    uint8_t l4state;
    uint8_t helper;
    uint8_t pad;
    uint32_t status;
    uint32_t mark;
    uint8_t labels[16];
};

CT_EXPORT const char *ct_event_type_name(unsigned type)
{
    switch (type) {
    case CT_EVENT_TYPE_NEW:
        return "NEW";
    case CT_EVENT_TYPE_UPDATE:
        return "UPDATE";
    case CT_EVENT_TYPE_DESTROY:
        return "DESTROY";
    default:
        return "UNKNOWN";
    }
}

CT_EXPORT int ct_table_set_event_cb(struct ct_table *t, ct_event_fn fn, void *arg,
                                    uint16_t default_mask, uint32_t capacity)
{
    if (!t || (default_mask & ~(unsigned)CT_EVENT_ALL) || capacity > CT_EVENT_MAX_CAPACITY)
        return -EINVAL;
    if (t->sh)
        return -ENOTSUP;
    if (!fn) {
        ct_event_free(t);
        return 0;
    }
    if (!capacity)
        capacity = CT_EVENT_DEFAULT_CAPACITY;
    struct ct_events *ev = t->ev;
    if (!ev) {
        ev = calloc(1, sizeof(*ev));
        if (!ev)
            return -ENOMEM;
        int id = ct_table_ext_register(t, sizeof(struct ct_ev_seen), _Alignof(struct ct_ev_seen));
        if (id < 0) {
            free(ev);
            return id;
        }
        ev->ext_id = id;
    }
    if (ev->cap != capacity) {
        /* Mapped, not allocated: only the pages events are written to cost
         * memory, so a buffer sized for the worst call is cheap. */
        struct ct_event *buf = ct_table_map((size_t)capacity * sizeof(*buf), 0);
        if (!buf) {
            if (!t->ev)
                free(ev); /* the side array stays registered, unused */
            return -ENOMEM;
        }
        if (ev->buf)
            munmap(ev->buf, (size_t)ev->cap * sizeof(*ev->buf));
        ev->buf = buf;
        ev->cap = capacity;
        ev->n = 0;
    }
    ev->fn = fn;
    ev->arg = arg;
    ev->mask = default_mask;
    t->ev = ev;
    return 0;
}

CT_EXPORT int ct_table_event_stats(const struct ct_table *t, struct ct_event_stats *s)
{
    if (!t || !s)
        return -EINVAL;
    if (t->ev)
        *s = t->ev->stats;
    else
        memset(s, 0, sizeof(*s));
    return 0;
}

void ct_event_free(struct ct_table *t)
{
    if (!t->ev)
        return;
    if (t->ev->buf)
        munmap(t->ev->buf, (size_t)t->ev->cap * sizeof(*t->ev->buf));
    free(t->ev);
    t->ev = NULL;
}

/* The mask in force for a connection: its own (template or rule), else the
 * table's default. */
static uint16_t conn_mask(const struct ct_events *ev, const struct ct_conn_info *ci)
{
    return (ci->flags & CT_INFO_F_EVENTS) ? ci->events : ev->mask;
}

/* Queues one message when any of its events is in the connection's mask
 * (nf_conntrack_eventmask_report(): `events & ctmask`), or counts it lost. */
static void emit(struct ct_table *t, uint8_t type, uint16_t events, uint8_t reason,
                 const struct ct_conn_info *ci)
{
    struct ct_events *ev = t->ev;
    if (!(events & conn_mask(ev, ci)))
        return;
    if (ev->n == ev->cap) {
        ev->stats.lost++;
        return;
    }
    struct ct_event *e = &ev->buf[ev->n++];
    e->time = t->clock;
    e->type = type;
    e->reason = reason;
    e->events = events;
    e->pad = 0;
    e->info = *ci;
}

static int is_stateful(uint8_t proto)
{
    return proto == CT_IPPROTO_TCP || proto == CT_IPPROTO_SCTP;
}

static void remember(struct ct_ev_seen *s, const struct ct_conn_info *ci)
{
    s->reported = 1;
    s->l4state = ci->l4state;
    s->helper = ci->helper;
    s->status = ci->status;
    s->mark = ci->mark;
    memcpy(s->labels, ci->labels, sizeof(s->labels));
}

/* The events between what s last reported and ci now (0: nothing new). */
static uint16_t changes(const struct ct_ev_seen *s, const struct ct_conn_info *ci)
{
    uint16_t e = 0;
    uint32_t set = ci->status & ~s->status;
    if (set & CT_STATUS_SEEN_REPLY)
        e |= CT_EVENT_REPLY;
    if (set & CT_STATUS_ASSURED)
        e |= CT_EVENT_ASSURED;
    if (ci->l4state != s->l4state && is_stateful(ci->proto))
        e |= CT_EVENT_PROTOINFO;
    if (ci->helper != s->helper)
        e |= CT_EVENT_HELPER;
    if (ci->mark != s->mark)
        e |= CT_EVENT_MARK;
    if (memcmp(ci->labels, s->labels, sizeof(s->labels)) != 0)
        e |= CT_EVENT_LABEL;
    return e;
}

/* NEW (RELATED for an expected connection) with what the first packet set,
 * as the events cached before nf_conntrack_confirm() go out with it. */
static void report_new(struct ct_table *t, struct ct_ev_seen *s, const struct ct_conn_info *ci)
{
    uint16_t e = (ci->status & CT_STATUS_EXPECTED) ? CT_EVENT_RELATED : CT_EVENT_NEW;
    if (is_stateful(ci->proto))
        e |= CT_EVENT_PROTOINFO;
    if (ci->helper)
        e |= CT_EVENT_HELPER;
    if (ci->mark)
        e |= CT_EVENT_MARK;
    emit(t, CT_EVENT_TYPE_NEW, e, 0, ci);
    remember(s, ci);
}

/* Whether two events are of the same connection: the same original tuple
 * in the same zones (no two live connections share it). */
static int same_conn(const struct ct_conn_info *a, const struct ct_conn_info *b)
{
    return memcmp(&a->tuple[CT_DIR_ORIGINAL], &b->tuple[CT_DIR_ORIGINAL],
                  sizeof(a->tuple[CT_DIR_ORIGINAL])) == 0 &&
           memcmp(a->zone, b->zone, sizeof(a->zone)) == 0;
}

void ct_event_restored(struct ct_table *t, const struct ct_conn *c)
{
    struct ct_ev_seen *s = ct_table_ext_get(t, ct_table_conn_id(t, c), (unsigned)t->ev->ext_id);
    struct ct_conn_info ci;
    (void)ct_conn_get_info(t, c, &ci);
    remember(s, &ci);
}

void ct_event_packet(struct ct_table *t, const struct ct_verdict *v, int merge)
{
    const struct ct_conn *c = v->conn;
    if (!c || (c->status & (CT_STATUS_CONFIRMED | CT_STATUS_DYING)) != CT_STATUS_CONFIRMED)
        return;
    struct ct_ev_seen *s = ct_table_ext_get(t, ct_table_conn_id(t, c), (unsigned)t->ev->ext_id);
    struct ct_conn_info ci;
    (void)ct_conn_get_info(t, c, &ci);
    if (!s->reported) {
        report_new(t, s, &ci);
        return;
    }
    uint16_t e = changes(s, &ci);
    if (!e)
        return;
    remember(s, &ci);
    if (merge) {
        /* The rules ran after the packet whose events are queued already:
         * Linux sends one message for what a packet and its rules changed,
         * so the change joins the connection's latest message of this call
         * when it has one (a NEW or an UPDATE; a DESTROY
         * found first is an earlier connection's). */
        struct ct_events *ev = t->ev;
        for (uint32_t i = ev->n; i-- > 0;) {
            if (!same_conn(&ev->buf[i].info, &ci))
                continue;
            if (ev->buf[i].type == CT_EVENT_TYPE_DESTROY)
                break; /* an earlier connection's end on the same tuple */
            ev->buf[i].events |= e;
            ev->buf[i].info = ci;
            return;
        }
    }
    emit(t, CT_EVENT_TYPE_UPDATE, e, 0, &ci);
}

void ct_event_destroy(struct ct_table *t, const struct ct_conn *c, unsigned reason)
{
    struct ct_ev_seen *s = ct_table_ext_get(t, ct_table_conn_id(t, c), (unsigned)t->ev->ext_id);
    struct ct_conn_info ci;
    (void)ct_conn_get_info(t, c, &ci);
    /* A connection ended by the packet that created it (a TCP RST) is
     * reported first, as Linux confirms it before it can be destroyed. */
    if (!s->reported)
        report_new(t, s, &ci);
    emit(t, CT_EVENT_TYPE_DESTROY, CT_EVENT_DESTROY, (uint8_t)reason, &ci);
}

void ct_event_flush(struct ct_table *t)
{
    struct ct_events *ev = t->ev;
    unsigned n = ev->n;
    ev->n = 0;
    ev->stats.delivered += n;
    ev->fn(ev->arg, ev->buf, n);
}
