/*
 * Tests of the ICMP/ICMPv6 tracker through the packet path
 * (ct_process_parsed() with hand-built descriptors): ICMP queries and
 * replies, ICMP errors RELATED to the connection they report on, untracked
 * ICMPv6 neighbour discovery and MLD, the ICMP timeout. UDP's and the
 * generic tracker's tests are in test_udp.c.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"

#define SEC 1000000000ull

/* An ICMP query or reply: id as source port, type << 8 | code as destination. */
static struct ct_pkt icmp(uint8_t l3, uint32_t src, uint32_t dst, uint8_t type, uint16_t id)
{
    struct ct_pkt p = pkt_tuple(l3, l3 == CT_L3_IPV4 ? 1 : 58, src, dst, id, (uint16_t)(type << 8), 84);
    p.icmp_type = type;
    return p;
}

/* An ICMP error from `router` to `dst` embedding a packet with tuple inner. */
static struct ct_pkt icmp_err(uint32_t router, uint32_t dst, const struct ct_tuple *inner)
{
    struct ct_pkt p = pkt_tuple(CT_L3_IPV4, 1, router, dst, 0, 3 << 8 | 3, 56);
    p.icmp_type = 3; /* destination unreachable */
    p.icmp_code = 3;
    p.icmp_is_error = 1;
    p.inner_ok = 1;
    p.inner = *inner;
    return p;
}

static struct ct_conn_info info_of(struct ct_table *t, struct ct_conn *c)
{
    struct ct_conn_info i;
    memset(&i, 0, sizeof(i));
    CHECK_EQ_I(ct_conn_get_info(t, c, &i), 0);
    return i;
}

static void test_icmp_echo(void)
{
    struct ct_table *t = mk_table(1024, CT_TABLE_F_NO_CHECKSUM);
    struct ct_verdict v = run1(t, icmp(CT_L3_IPV4, 0x0100000a, 0x0200000a, 8, 77), SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.timeout, CT_TIMEOUT_ICMP);
    CHECK_EQ_U(i.expires, 31 * SEC);
    CHECK_EQ_U(i.tuple[1].dport, 0 << 8); /* the reply tuple carries echo reply */
    CHECK_EQ_U(i.tuple[1].sport, 77);

    v = run1(t, icmp(CT_L3_IPV4, 0x0200000a, 0x0100000a, 0, 77), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    CHECK(info_of(t, c).status & CT_STATUS_SEEN_REPLY);

    /* A reply nobody asked for, another identifier. */
    v = run1(t, icmp(CT_L3_IPV4, 0x0200000a, 0x0100000a, 0, 78), 2 * SEC);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_REPLY_NO_REQUEST);
    /* The same reply type with the request's id but from a third host. */
    v = run1(t, icmp(CT_L3_IPV4, 0x0300000a, 0x0100000a, 0, 77), 2 * SEC);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_REPLY_NO_REQUEST);
    /* Timestamp, information and address mask requests create; their replies alone don't. */
    static const uint8_t req[] = {13, 15, 17}, rep[] = {14, 16, 18};
    for (unsigned k = 0; k < 3; k++) {
        v = run1(t, icmp(CT_L3_IPV4, 0x0100000a, 0x0200000a, req[k], 5), SEC);
        CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
        v = run1(t, icmp(CT_L3_IPV4, 0x0200000a, 0x0100000a, rep[k], 5), SEC);
        CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
        v = run1(t, icmp(CT_L3_IPV4, 0x0200000a, 0x0100000a, rep[k], 6), SEC);
        CHECK_EQ_U(v.reason, CT_REASON_ICMP_REPLY_NO_REQUEST);
    }
    /* Types that are neither: router advertisement (9), redirect-free informational. */
    v = run1(t, icmp(CT_L3_IPV4, 0x0100000a, 0x0200000a, 9, 0), SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_TYPE);

    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.connections, 4);
    CHECK_EQ_U(s.reasons[CT_REASON_ICMP_REPLY_NO_REQUEST], 5);
    CHECK_EQ_U(s.reasons[CT_REASON_ICMP_TYPE], 1);
    CHECK_EQ_U(s.invalid, 6);
    ct_table_destroy(t);
}

static void test_icmpv6(void)
{
    struct ct_table *t = mk_table(1024, CT_TABLE_F_NO_CHECKSUM);
    struct ct_verdict v = run1(t, icmp(CT_L3_IPV6, 1, 2, 128, 9), SEC);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    v = run1(t, icmp(CT_L3_IPV6, 2, 1, 129, 9), SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    v = run1(t, icmp(CT_L3_IPV6, 1, 2, 139, 9), SEC); /* node information query */
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    v = run1(t, icmp(CT_L3_IPV6, 2, 1, 129, 10), SEC);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_REPLY_NO_REQUEST);
    /* Neighbour discovery and MLD: untracked, nothing created. */
    static const uint8_t nd[] = {130, 131, 132, 133, 134, 135, 136, 143};
    for (unsigned k = 0; k < sizeof(nd); k++) {
        v = run1(t, icmp(CT_L3_IPV6, 1, 2, nd[k], 0), SEC);
        CHECK_EQ_U(v.state, CT_STATE_UNTRACKED);
        CHECK_EQ_U(v.reason, CT_REASON_ICMP6_UNTRACKED);
        CHECK(v.conn == NULL);
    }
    v = run1(t, icmp(CT_L3_IPV6, 1, 2, 137, 0), SEC); /* redirect: not a query */
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_TYPE);
    /* An ICMPv4 type number over IPv6 means something else: 8 is not echo there. */
    v = run1(t, icmp(CT_L3_IPV6, 1, 2, 8, 1), SEC);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_TYPE);
    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.untracked, 8);
    CHECK_EQ_U(s.reasons[CT_REASON_ICMP6_UNTRACKED], 8);
    CHECK_EQ_U(s.connections, 2);
    ct_table_destroy(t);
}

static void test_icmp_errors(void)
{
    struct ct_table *t = mk_table(1024, CT_TABLE_F_NO_CHECKSUM);
    struct ct_pkt out = pkt_tuple(CT_L3_IPV4, 17, 0x0100000a, 0x0200000a, 40000, 53, 60);
    struct ct_pkt back = pkt_tuple(CT_L3_IPV4, 17, 0x0200000a, 0x0100000a, 53, 40000, 60);
    struct ct_conn *c = run1(t, out, SEC).conn;
    CHECK_PTR(c);
    struct ct_conn_info before = info_of(t, c);

    /* A router tells the originator its packet could not be delivered. */
    struct ct_verdict v = run1(t, icmp_err(0x0900000a, 0x0100000a, &out.tuple), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_RELATED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    CHECK_EQ_U(v.reason, CT_REASON_NONE);
    /* The server's answer bounced: the error travels towards the server. */
    v = run1(t, icmp_err(0x0900000a, 0x0200000a, &back.tuple), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_RELATED);
    CHECK_EQ_U(v.dir, CT_DIR_ORIGINAL);
    /* Nothing about the connection changed. */
    struct ct_conn_info after = info_of(t, c);
    CHECK(memcmp(&before, &after, sizeof(before)) == 0);

    /* An error about an unknown connection. */
    struct ct_pkt other = pkt_tuple(CT_L3_IPV4, 17, 0x0100000a, 0x0200000a, 40001, 53, 60);
    v = run1(t, icmp_err(0x0900000a, 0x0100000a, &other.tuple), 2 * SEC);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_NO_CONN);

    /* An error about an echo request is related to the echo connection. */
    struct ct_pkt echo = icmp(CT_L3_IPV4, 0x0100000a, 0x0200000a, 8, 3);
    struct ct_conn *ce = run1(t, echo, SEC).conn;
    v = run1(t, icmp_err(0x0900000a, 0x0100000a, &echo.tuple), 2 * SEC);
    CHECK(v.conn == ce);
    CHECK_EQ_U(v.state, CT_STATE_RELATED);

    /* The parser's verdict on a broken embedded packet is kept. */
    struct ct_pkt bad = icmp_err(0x0900000a, 0x0100000a, &out.tuple);
    bad.reason = CT_REASON_ICMP_TRUNCATED;
    bad.inner_ok = 0;
    v = run1(t, bad, 2 * SEC);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_TRUNCATED);
    /* An error without a usable embedded tuple is never matched. */
    bad.reason = CT_REASON_NONE;
    v = run1(t, bad, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_INNER_INVALID);

    /* After the connection expired, its errors are no longer related. */
    v = run1(t, icmp_err(0x0900000a, 0x0100000a, &out.tuple), 31 * SEC);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_NO_CONN);

    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.related, 3);
    CHECK_EQ_U(s.reasons[CT_REASON_ICMP_NO_CONN], 2);
    CHECK_EQ_U(s.expired, 1);
    ct_table_destroy(t);
}

/* The ICMP tracker takes ICMP only over IPv4 and ICMPv6 only over IPv6;
 * the other family's packets of these numbers are generic ones. */
static void test_family(void)
{
    struct ct_table *t = mk_table(1024, CT_TABLE_F_NO_CHECKSUM);
    struct ct_pkt p = pkt_tuple(CT_L3_IPV4, 58, 1, 2, 0, 128 << 8, 60);
    p.icmp_type = 128;
    struct ct_verdict v = run1(t, p, SEC);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    CHECK_EQ_U(info_of(t, v.conn).timeout, CT_TIMEOUT_GENERIC);
    p = pkt_tuple(CT_L3_IPV6, 1, 1, 2, 0, 8 << 8, 60);
    p.icmp_type = 8;
    v = run1(t, p, SEC);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    CHECK_EQ_U(info_of(t, v.conn).timeout, CT_TIMEOUT_GENERIC);
    /* Neither has states to print. */
    CHECK(ct_proto_state_name(1, 0) == NULL);
    CHECK(ct_proto_state_name(58, 0) == NULL);
    ct_table_destroy(t);
}

static void test_custom_timeout(void)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.flags = CT_TABLE_F_NO_CHECKSUM;
    cfg.timeouts[CT_TIMEOUT_ICMP] = 7;
    struct ct_table *t = ct_table_create(&cfg, NULL);
    CHECK_PTR(t);
    struct ct_verdict v = run1(t, icmp(CT_L3_IPV4, 1, 2, 8, 1), SEC);
    CHECK_EQ_U(info_of(t, v.conn).expires, 8 * SEC);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_icmp_echo);
    RUN(test_icmpv6);
    RUN(test_icmp_errors);
    RUN(test_family);
    RUN(test_custom_timeout);
    return check_summary();
}
