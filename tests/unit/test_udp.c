/*
 * Tests of the UDP, UDP-Lite and generic trackers through the packet path
 * (ct_process_parsed() with hand-built descriptors): Linux's UDP
 * unreplied -> replied -> assured-stream progression with its 2-second
 * boundary, UDP-Lite over IPv6, the generic tracker's timeout for protocols
 * without a tracker of their own, and custom timeouts. ICMP's tests are in
 * test_icmp.c.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"

#define SEC 1000000000ull

static struct ct_conn_info info_of(struct ct_table *t, struct ct_conn *c)
{
    struct ct_conn_info i;
    memset(&i, 0, sizeof(i));
    CHECK_EQ_I(ct_conn_get_info(t, c, &i), 0);
    return i;
}

static void test_udp_progression(void)
{
    struct ct_table *t = mk_table(1024, CT_TABLE_F_NO_CHECKSUM);
    const uint64_t t0 = 1000 * SEC;
    struct ct_pkt out = pkt_tuple(CT_L3_IPV4, 17, 0x0100000a, 0x0200000a, 40000, 53, 60);
    struct ct_pkt back = pkt_tuple(CT_L3_IPV4, 17, 0x0200000a, 0x0100000a, 53, 40000, 100);

    struct ct_verdict v = run1(t, out, t0);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.status, CT_STATUS_CONFIRMED); /* unreplied */
    CHECK_EQ_U(i.timeout, CT_TIMEOUT_UDP);
    CHECK_EQ_U(i.expires, t0 + 30 * SEC);
    CHECK_EQ_U(i.first_seen, t0);

    /* More from the originator, no reply yet: still NEW. */
    v = run1(t, out, t0 + SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, 0);
    CHECK_EQ_U(v.dir, CT_DIR_ORIGINAL);

    /* The reply: ESTABLISHED; SEEN_REPLY afterwards, not a stream yet. */
    v = run1(t, back, t0 + SEC + SEC / 2);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    i = info_of(t, c);
    CHECK_EQ_U(i.status, CT_STATUS_CONFIRMED | CT_STATUS_SEEN_REPLY);
    CHECK_EQ_U(i.timeout, CT_TIMEOUT_UDP);
    CHECK_EQ_U(i.expires, t0 + SEC + SEC / 2 + 30 * SEC);

    /* Exactly 2 s after creation: not "more than 2 s", so not assured. */
    v = run1(t, out, t0 + 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    i = info_of(t, c);
    CHECK_EQ_U(i.status & CT_STATUS_ASSURED, 0);
    CHECK_EQ_U(i.timeout, CT_TIMEOUT_UDP);
    CHECK_EQ_U(i.expires, t0 + 2 * SEC + 30 * SEC);

    /* One nanosecond later: a stream, ASSURED, 120 s. */
    v = run1(t, back, t0 + 2 * SEC + 1);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    i = info_of(t, c);
    CHECK_EQ_U(i.status, CT_STATUS_CONFIRMED | CT_STATUS_SEEN_REPLY | CT_STATUS_ASSURED);
    CHECK_EQ_U(i.timeout, CT_TIMEOUT_UDP_STREAM);
    CHECK_EQ_U(i.expires, t0 + 2 * SEC + 1 + 120 * SEC);
    CHECK_EQ_U(i.packets[0], 3);
    CHECK_EQ_U(i.packets[1], 2);
    CHECK_EQ_U(i.bytes[0], 180);
    CHECK_EQ_U(i.bytes[1], 200);
    CHECK_EQ_U(i.last_seen, t0 + 2 * SEC + 1);

    /* A late first reply does not assure by itself (SEEN_REPLY is set after
     * the tracker ran); the next packet does. */
    struct ct_pkt o2 = pkt_tuple(CT_L3_IPV4, 17, 0x0100000a, 0x0200000a, 40001, 53, 60);
    struct ct_pkt b2 = pkt_tuple(CT_L3_IPV4, 17, 0x0200000a, 0x0100000a, 53, 40001, 60);
    c = run1(t, o2, t0).conn;
    v = run1(t, b2, t0 + 5 * SEC);
    CHECK_EQ_U(info_of(t, c).status & CT_STATUS_ASSURED, 0);
    CHECK_EQ_U(info_of(t, c).timeout, CT_TIMEOUT_UDP);
    v = run1(t, b2, t0 + 6 * SEC);
    CHECK_EQ_U(info_of(t, c).status & CT_STATUS_ASSURED, CT_STATUS_ASSURED);
    CHECK_EQ_U(info_of(t, c).timeout, CT_TIMEOUT_UDP_STREAM);

    /* Unreplied for 30 s: gone; the next packet starts over. */
    struct ct_pkt o3 = pkt_tuple(CT_L3_IPV4, 17, 0x0100000a, 0x0300000a, 5, 6, 60);
    struct ct_conn *c3 = run1(t, o3, t0).conn;
    v = run1(t, o3, t0 + 30 * SEC - 1);
    CHECK(v.conn == c3);
    CHECK_EQ_U(v.flags, 0);
    v = run1(t, o3, t0 + 59 * SEC); /* refreshed by the previous packet until t0 + 60 s - 1 */
    CHECK(v.conn == c3);
    CHECK_EQ_U(v.flags, 0);
    v = run1(t, o3, t0 + 89 * SEC); /* expires = last_seen + 30 s: gone at that instant */
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.expired, 1);
    ct_table_destroy(t);
}

static void test_udp_v6_and_lite(void)
{
    struct ct_table *t = mk_table(1024, CT_TABLE_F_NO_CHECKSUM);
    struct ct_pkt out = pkt_tuple(CT_L3_IPV6, 136, 1, 2, 7, 9, 100);
    struct ct_pkt back = pkt_tuple(CT_L3_IPV6, 136, 2, 1, 9, 7, 100);
    struct ct_verdict v = run1(t, out, SEC);
    CHECK_EQ_U(info_of(t, v.conn).timeout, CT_TIMEOUT_UDP);
    v = run1(t, back, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    v = run1(t, out, 4 * SEC);
    CHECK_EQ_U(info_of(t, v.conn).timeout, CT_TIMEOUT_UDP_STREAM);
    CHECK(info_of(t, v.conn).status & CT_STATUS_ASSURED);
    /* UDP and UDP-Lite have no states to print. */
    CHECK(ct_proto_state_name(17, 0) == NULL);
    CHECK(ct_proto_state_name(136, 0) == NULL);
    ct_table_destroy(t);
}

static void test_generic(void)
{
    struct ct_table *t = mk_table(1024, CT_TABLE_F_NO_CHECKSUM);
    /* 253: reserved for experimentation (RFC 3692), no tracker of its own. */
    struct ct_pkt fwd = pkt_tuple(CT_L3_IPV4, 253, 0x0100000a, 0x0200000a, 0, 0, 1400);
    struct ct_pkt back = pkt_tuple(CT_L3_IPV4, 253, 0x0200000a, 0x0100000a, 0, 0, 1400);
    struct ct_verdict v = run1(t, fwd, SEC);
    struct ct_conn_info i = info_of(t, v.conn);
    CHECK_EQ_U(i.timeout, CT_TIMEOUT_GENERIC);
    CHECK_EQ_U(i.expires, 601 * SEC);
    CHECK_EQ_U(i.l4state, 0);
    v = run1(t, back, 300 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    v = run1(t, fwd, 899 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_ORIGINAL);
    CHECK_EQ_U(info_of(t, v.conn).expires, 1499 * SEC);
    /* ICMP's protocol number over IPv6 is not ICMPv6: generic. */
    v = run1(t, pkt_tuple(CT_L3_IPV6, 1, 1, 2, 0, 0, 60), SEC);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    CHECK_EQ_U(info_of(t, v.conn).timeout, CT_TIMEOUT_GENERIC);
    ct_table_destroy(t);
}

static void test_custom_timeout(void)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.flags = CT_TABLE_F_NO_CHECKSUM;
    cfg.timeouts[CT_TIMEOUT_UDP] = 5;
    struct ct_table *t = ct_table_create(&cfg, NULL);
    CHECK_PTR(t);
    struct ct_verdict v = run1(t, pkt_tuple(CT_L3_IPV4, 17, 1, 2, 3, 4, 60), SEC);
    CHECK_EQ_U(info_of(t, v.conn).expires, 6 * SEC);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_udp_progression);
    RUN(test_udp_v6_and_lite);
    RUN(test_generic);
    RUN(test_custom_timeout);
    return check_summary();
}
