/*
 * Tests of the connection events (ctrack/events.h): every event kind as a
 * packet, an expiry or a flush causes it (TCP handshake and end, UDP reply
 * and stream, a connection ended by its first reply, a replaced
 * connection, a mark changed by a rule), the table's default mask and a
 * template's own mask, the order within a burst and one delivery per call,
 * the lost-events counter of a full buffer, and the setup errors.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"

#define SEC 1000000000ull
#define A 0x0100000au /* 10.0.0.1 */
#define B 0x0200000au /* 10.0.0.2 */
#define MAXEV 64

/* What the callback received: the events, and how many deliveries. */
struct seen {
    struct ct_event ev[MAXEV];
    unsigned n;
    unsigned calls;
};

static void on_events(void *arg, const struct ct_event *ev, unsigned n)
{
    struct seen *s = arg;
    CHECK(n >= 1);
    s->calls++;
    for (unsigned i = 0; i < n && s->n < MAXEV; i++)
        s->ev[s->n++] = ev[i];
}

static struct ct_table *mk_listened(struct seen *s, uint16_t mask, uint32_t cap)
{
    memset(s, 0, sizeof(*s));
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, s, mask, cap), 0);
    return t;
}

static void check_event(const struct seen *s, unsigned i, unsigned type, unsigned events,
                        unsigned l4state)
{
    if (i >= s->n) {
        CHECK_FAIL_("event %u missing (%u seen)", i, s->n);
        return;
    }
    CHECK_EQ_U(s->ev[i].type, type);
    CHECK_EQ_U(s->ev[i].events, events);
    CHECK_EQ_U(s->ev[i].info.l4state, l4state);
}

static void test_errors(void)
{
    struct seen s;
    struct ct_event_stats st;
    CHECK_EQ_I(ct_table_set_event_cb(NULL, on_events, &s, CT_EVENT_ALL, 0), -EINVAL);
    CHECK_EQ_I(ct_table_event_stats(NULL, &st), -EINVAL);
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    CHECK_EQ_I(ct_table_event_stats(t, NULL), -EINVAL);
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, &s, (uint16_t)(CT_EVENT_ALL + 1), 0),
               -EINVAL);
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, &s, CT_EVENT_ALL, CT_EVENT_MAX_CAPACITY + 1),
               -EINVAL);
    /* Without a callback: no counters, no events. */
    CHECK_EQ_I(ct_table_event_stats(t, &st), 0);
    CHECK_EQ_U(st.delivered, 0);
    /* After the first connection the per-connection record cannot be added. */
    struct ct_verdict v = run1(t, pkt4(17, A, B, 1000, 53, 60), SEC);
    CHECK_PTR(v.conn);
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, &s, CT_EVENT_ALL, 0), -EBUSY);
    CHECK_EQ_I(ct_table_set_event_cb(t, NULL, NULL, 0, 0), 0);
    ct_table_destroy(t);

    t = mk_table(64, CT_TABLE_F_NO_CHECKSUM | CT_TABLE_F_SHARED);
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, &s, CT_EVENT_ALL, 0), -ENOTSUP);
    ct_table_destroy(t);
    CHECK_STR(ct_event_type_name(CT_EVENT_TYPE_NEW), "NEW");
    CHECK_STR(ct_event_type_name(CT_EVENT_TYPE_UPDATE), "UPDATE");
    CHECK_STR(ct_event_type_name(CT_EVENT_TYPE_DESTROY), "DESTROY");
    CHECK_STR(ct_event_type_name(0), "UNKNOWN");
}

/* The handshake gives NEW SYN_SENT, UPDATE reply+protoinfo SYN_RECV, UPDATE
 * assured+protoinfo ESTABLISHED (what Linux sends, seen with conntrack -E);
 * data changes nothing; a flush gives DESTROY with the final counters. */
static void test_tcp_lifecycle(void)
{
    struct seen s;
    struct ct_table *t = mk_listened(&s, CT_EVENT_ALL, 0);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_SYN, 100, 0, 0), 1 * SEC);
    CHECK_EQ_U(s.calls, 1);
    run1(t, tcp4(B, A, 80, 1000, CT_TCP_SYN | CT_TCP_ACK, 500, 101, 0), 2 * SEC);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_ACK, 101, 501, 0), 3 * SEC);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_ACK | CT_TCP_PSH, 101, 501, 10), 4 * SEC);
    CHECK_EQ_U(s.n, 3);
    check_event(&s, 0, CT_EVENT_TYPE_NEW, CT_EVENT_NEW | CT_EVENT_PROTOINFO, CT_TCP_SYN_SENT);
    CHECK_EQ_U(s.ev[0].time, 1 * SEC);
    CHECK_EQ_U(s.ev[0].info.status & CT_STATUS_SEEN_REPLY, 0);
    check_event(&s, 1, CT_EVENT_TYPE_UPDATE, CT_EVENT_REPLY | CT_EVENT_PROTOINFO,
                CT_TCP_SYN_RECV);
    check_event(&s, 2, CT_EVENT_TYPE_UPDATE, CT_EVENT_ASSURED | CT_EVENT_PROTOINFO,
                CT_TCP_ESTABLISHED);
    CHECK(s.ev[2].info.status & CT_STATUS_ASSURED);
    CHECK_EQ_I(ct_table_flush(t, NULL, 5 * SEC), 1);
    CHECK_EQ_U(s.n, 4);
    check_event(&s, 3, CT_EVENT_TYPE_DESTROY, CT_EVENT_DESTROY, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(s.ev[3].reason, CT_END_FLUSHED);
    CHECK_EQ_U(s.ev[3].time, 5 * SEC);
    CHECK_EQ_U(s.ev[3].info.packets[CT_DIR_ORIGINAL], 3);
    CHECK_EQ_U(s.ev[3].info.packets[CT_DIR_REPLY], 1);
    CHECK_EQ_U(s.ev[3].info.bytes[CT_DIR_ORIGINAL], 40 + 40 + 50);
    struct ct_event_stats st;
    CHECK_EQ_I(ct_table_event_stats(t, &st), 0);
    CHECK_EQ_U(st.delivered, 4);
    CHECK_EQ_U(st.lost, 0);
    ct_table_destroy(t);
}

/* UDP: NEW without state, UPDATE reply, UPDATE assured once a stream, and
 * DESTROY expired from the sweep (delivered by ct_expire()). */
static void test_udp_and_expiry(void)
{
    struct seen s;
    struct ct_table *t = mk_listened(&s, CT_EVENT_ALL, 0);
    run1(t, pkt4(17, A, B, 1000, 53, 60), 1 * SEC);
    run1(t, pkt4(17, B, A, 53, 1000, 60), 2 * SEC);
    run1(t, pkt4(17, B, A, 53, 1000, 60), 3 * SEC); /* nothing new */
    CHECK_EQ_U(s.n, 2);
    check_event(&s, 0, CT_EVENT_TYPE_NEW, CT_EVENT_NEW, 0);
    check_event(&s, 1, CT_EVENT_TYPE_UPDATE, CT_EVENT_REPLY, 0);
    /* Whenever the tracker assures it, exactly one UPDATE says so. */
    for (uint64_t i = 4; i < 10; i++)
        run1(t, pkt4(17, A, B, 1000, 53, 60), i * SEC);
    unsigned assured = 0;
    for (unsigned i = 2; i < s.n; i++) {
        check_event(&s, i, CT_EVENT_TYPE_UPDATE, CT_EVENT_ASSURED, 0);
        assured++;
    }
    CHECK_EQ_U(assured, 1);
    unsigned before = s.n;
    (void)ct_expire(t, 1000 * SEC, 0);
    CHECK_EQ_U(s.n, before + 1);
    check_event(&s, before, CT_EVENT_TYPE_DESTROY, CT_EVENT_DESTROY, 0);
    CHECK_EQ_U(s.ev[before].reason, CT_END_EXPIRED);
    ct_table_destroy(t);
}

/* A RST answering the SYN ends the connection in the packet's call: NEW
 * first, then DESTROY (closed). */
static void test_closed_by_reply(void)
{
    struct seen s;
    struct ct_table *t = mk_listened(&s, CT_EVENT_ALL, 0);
    run1(t, tcp4(A, B, 1000, 81, CT_TCP_SYN, 100, 0, 0), 1 * SEC);
    struct ct_verdict v = run1(t, tcp4(B, A, 81, 1000, CT_TCP_RST | CT_TCP_ACK, 0, 101, 0),
                               2 * SEC);
    CHECK_PTR(v.conn);
    CHECK_EQ_U(s.n, 2);
    check_event(&s, 0, CT_EVENT_TYPE_NEW, CT_EVENT_NEW | CT_EVENT_PROTOINFO, CT_TCP_SYN_SENT);
    CHECK_EQ_U(s.ev[1].type, CT_EVENT_TYPE_DESTROY);
    CHECK_EQ_U(s.ev[1].reason, CT_END_CLOSED);
    CHECK_EQ_U(s.ev[1].info.packets[CT_DIR_REPLY], 1);
    ct_table_destroy(t);
}

/* One burst: events in packet order, handed over in one call. */
static void test_burst_order(void)
{
    struct seen s;
    struct ct_table *t = mk_listened(&s, CT_EVENT_ALL, 0);
    struct ct_pkt p[4] = {
        pkt4(17, A, B, 1000, 53, 60),
        pkt4(17, A, B, 1001, 53, 60),
        pkt4(17, B, A, 53, 1000, 60),
        pkt4(17, A, B, 1002, 53, 60),
    };
    struct ct_verdict v[4];
    CHECK_EQ_I(ct_process_parsed(t, p, v, 4, SEC, CT_PROCESS_COMMIT), 4);
    CHECK_EQ_U(s.calls, 1);
    CHECK_EQ_U(s.n, 4);
    static const unsigned sport[4] = {1000, 1001, 1000, 1002};
    static const unsigned type[4] = {CT_EVENT_TYPE_NEW, CT_EVENT_TYPE_NEW, CT_EVENT_TYPE_UPDATE,
                                     CT_EVENT_TYPE_NEW};
    for (unsigned i = 0; i < 4 && i < s.n; i++) {
        CHECK_EQ_U(s.ev[i].type, type[i]);
        CHECK_EQ_U(s.ev[i].info.tuple[CT_DIR_ORIGINAL].sport, sport[i]);
    }
    ct_table_destroy(t);
}

/* A buffer of 2 keeps the first two events of a call and counts the rest
 * lost; the next call starts empty again. */
static void test_lost(void)
{
    struct seen s;
    struct ct_table *t = mk_listened(&s, CT_EVENT_ALL, 2);
    struct ct_pkt p[4];
    struct ct_verdict v[4];
    for (unsigned i = 0; i < 4; i++)
        p[i] = pkt4(17, A, B, (uint16_t)(2000 + i), 53, 60);
    CHECK_EQ_I(ct_process_parsed(t, p, v, 4, SEC, CT_PROCESS_COMMIT), 4);
    CHECK_EQ_U(s.n, 2);
    CHECK_EQ_U(s.ev[1].info.tuple[CT_DIR_ORIGINAL].sport, 2001);
    struct ct_event_stats st;
    CHECK_EQ_I(ct_table_event_stats(t, &st), 0);
    CHECK_EQ_U(st.delivered, 2);
    CHECK_EQ_U(st.lost, 2);
    run1(t, pkt4(17, B, A, 53, 2003, 60), 2 * SEC);
    CHECK_EQ_U(s.n, 3);
    check_event(&s, 2, CT_EVENT_TYPE_UPDATE, CT_EVENT_REPLY, 0);
    /* A larger buffer set later takes the whole flush. */
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, &s, CT_EVENT_ALL, 16), 0);
    CHECK_EQ_I(ct_table_flush(t, NULL, 3 * SEC), 4);
    CHECK_EQ_U(s.n, 7);
    CHECK_EQ_I(ct_table_event_stats(t, &st), 0);
    CHECK_EQ_U(st.lost, 2);
    /* No callback: nothing more. */
    CHECK_EQ_I(ct_table_set_event_cb(t, NULL, NULL, 0, 0), 0);
    run1(t, pkt4(17, A, B, 3000, 53, 60), 4 * SEC);
    CHECK_EQ_U(s.n, 7);
    ct_table_destroy(t);
}

/* The default mask, then a template's own mask overriding it. */
static void test_masks(void)
{
    struct seen s;
    struct ct_table *t = mk_listened(&s, CT_EVENT_DESTROY, 0);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_SYN, 100, 0, 0), 1 * SEC);
    run1(t, tcp4(B, A, 80, 1000, CT_TCP_SYN | CT_TCP_ACK, 500, 101, 0), 2 * SEC);
    CHECK_EQ_U(s.n, 0);
    CHECK_EQ_I(ct_table_flush(t, NULL, 3 * SEC), 1);
    CHECK_EQ_U(s.n, 1);
    CHECK_EQ_U(s.ev[0].type, CT_EVENT_TYPE_DESTROY);
    ct_table_destroy(t);

    /* PROTOINFO in the mask lets the state changes through, each message
     * with all of its events. */
    t = mk_listened(&s, CT_EVENT_PROTOINFO, 0);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_SYN, 100, 0, 0), 1 * SEC);
    run1(t, tcp4(B, A, 80, 1000, CT_TCP_SYN | CT_TCP_ACK, 500, 101, 0), 2 * SEC);
    CHECK_EQ_U(s.n, 2);
    check_event(&s, 1, CT_EVENT_TYPE_UPDATE, CT_EVENT_REPLY | CT_EVENT_PROTOINFO,
                CT_TCP_SYN_RECV);
    ct_table_destroy(t);

    /* A template's mask (NEW only) wins over the table's ALL; a template
     * mark shows in the NEW. */
    memset(&s, 0, sizeof(s));
    t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_EVENTS | CT_TMPL_MARK;
    x.events = CT_EVENT_NEW;
    x.mark = 9;
    int id = ct_template_add(t, &x);
    CHECK(id > 0);
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, &s, CT_EVENT_ALL, 0), 0);
    struct ct_pkt p = pkt4(17, A, B, 1000, 53, 60);
    p.tmpl = (uint8_t)id;
    run1(t, p, 1 * SEC);
    run1(t, pkt4(17, B, A, 53, 1000, 60), 2 * SEC);
    run1(t, pkt4(17, A, B, 1001, 53, 60), 2 * SEC); /* no template: the default */
    CHECK_EQ_I(ct_table_flush(t, NULL, 3 * SEC), 2);
    CHECK_EQ_U(s.n, 3);
    check_event(&s, 0, CT_EVENT_TYPE_NEW, CT_EVENT_NEW | CT_EVENT_MARK, 0);
    CHECK_EQ_U(s.ev[0].info.mark, 9);
    CHECK(s.ev[0].info.flags & CT_INFO_F_EVENTS);
    check_event(&s, 1, CT_EVENT_TYPE_NEW, CT_EVENT_NEW, 0);
    CHECK_EQ_U(s.ev[1].info.tuple[CT_DIR_ORIGINAL].sport, 1001);
    CHECK_EQ_U(s.ev[2].type, CT_EVENT_TYPE_DESTROY);
    CHECK_EQ_U(s.ev[2].info.tuple[CT_DIR_ORIGINAL].sport, 1001);
    ct_table_destroy(t);
}

/* A SYN reopening a TIME_WAIT connection: DESTROY (replaced), then NEW. */
static void test_replaced(void)
{
    struct seen s;
    struct ct_table *t = mk_listened(&s, CT_EVENT_NEW | CT_EVENT_DESTROY, 0);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_SYN, 100, 0, 0), 1 * SEC);
    run1(t, tcp4(B, A, 80, 1000, CT_TCP_SYN | CT_TCP_ACK, 500, 101, 0), 1 * SEC);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_ACK, 101, 501, 0), 1 * SEC);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_FIN | CT_TCP_ACK, 101, 501, 0), 2 * SEC);
    run1(t, tcp4(B, A, 80, 1000, CT_TCP_FIN | CT_TCP_ACK, 501, 102, 0), 2 * SEC);
    run1(t, tcp4(A, B, 1000, 80, CT_TCP_ACK, 102, 502, 0), 2 * SEC);
    CHECK_EQ_U(s.n, 1);
    struct ct_verdict v = run1(t, tcp4(A, B, 1000, 80, CT_TCP_SYN, 90000, 0, 0), 3 * SEC);
    CHECK(v.flags & CT_VERDICT_REPLACED);
    CHECK_EQ_U(s.n, 3);
    CHECK_EQ_U(s.ev[1].type, CT_EVENT_TYPE_DESTROY);
    CHECK_EQ_U(s.ev[1].reason, CT_END_REPLACED);
    CHECK_EQ_U(s.ev[1].info.l4state, CT_TCP_TIME_WAIT);
    check_event(&s, 2, CT_EVENT_TYPE_NEW, CT_EVENT_NEW | CT_EVENT_PROTOINFO, CT_TCP_SYN_SENT);
    ct_table_destroy(t);
}

/* A rule after conntrack that sets the mark of an established connection:
 * the mark joins the UPDATE of the packet that caused it (one message per
 * packet, as Linux sends). */
static void test_rule_mark(void)
{
    static const char text[] = "table ip filter {\n"
                               "  chain ct {\n"
                               "    type filter hook prerouting priority filter\n"
                               "    ct state established ct mark set 7\n"
                               "  }\n"
                               "}\n";
    struct ct_rules_error e;
    int err = 0;
    struct ct_ruleset *rs = ct_ruleset_load(text, strlen(text), &e, &err);
    CHECK_PTR(rs);
    if (!rs)
        return;
    struct seen s;
    memset(&s, 0, sizeof(s));
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    CHECK_EQ_I(ct_ruleset_attach(t, rs), 0);
    CHECK_EQ_I(ct_table_set_event_cb(t, on_events, &s, CT_EVENT_ALL, 0), 0);
    run1(t, pkt4(17, A, B, 1000, 53, 60), 1 * SEC);
    run1(t, pkt4(17, B, A, 53, 1000, 60), 2 * SEC);
    CHECK_EQ_U(s.n, 2);
    check_event(&s, 0, CT_EVENT_TYPE_NEW, CT_EVENT_NEW, 0);
    CHECK_EQ_U(s.ev[0].info.mark, 0);
    check_event(&s, 1, CT_EVENT_TYPE_UPDATE, CT_EVENT_REPLY | CT_EVENT_MARK, 0);
    CHECK_EQ_U(s.ev[1].info.mark, 7);
    /* The next packet makes a UDP stream (ASSURED); the rule sets the same
     * mark again, which is no change: no MARK in that UPDATE. */
    struct ct_verdict v = run1(t, pkt4(17, A, B, 1000, 53, 60), 4 * SEC);
    CHECK_PTR(v.conn);
    CHECK_EQ_U(s.n, 3);
    check_event(&s, 2, CT_EVENT_TYPE_UPDATE, CT_EVENT_ASSURED, 0);
    ct_table_destroy(t);
    ct_ruleset_free(rs);
}

int main(void)
{
    RUN(test_errors);
    RUN(test_tcp_lifecycle);
    RUN(test_udp_and_expiry);
    RUN(test_closed_by_reply);
    RUN(test_burst_order);
    RUN(test_lost);
    RUN(test_masks);
    RUN(test_replaced);
    RUN(test_rule_mark);
    return check_summary();
}
