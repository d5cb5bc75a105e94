/*
 * Unit tests of GRE tracking: the parser's keys for GRE version 0
 * (RFC 2784, keys of RFC 2890) and version 1 (PPTP's enhanced GRE,
 * RFC 2637), in a packet and quoted in an ICMP error, the tuple text, names
 * and timeouts, and the tracker of src/proto/gre.c driven directly with
 * parsed packets, as the packet path drives it (the path sets SEEN_REPLY
 * after an accepted reply-direction packet and CONFIRMED once the first
 * packet made the connection).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/tuple.h"
#include "packet/packet_priv.h"
#include "proto/proto.h"
#include "support/frames.h"
#include "support/tracker_fixture.h"

#define NS (1000000000ull)

#define A4 0x0a010001u /* 10.1.0.1 */
#define B4 0x0a020001u /* 10.2.0.1 */
#define O CT_DIR_ORIGINAL
#define R CT_DIR_REPLY

static struct ct_proto_cfg cfg;

static void cfg_default(void)
{
    tracker_cfg_default(&cfg);
}

/* ---- frames --------------------------------------------------------------------------- */

/* An IPv4 packet of protocol `proto` from A to B (dir O) or back. */
static void ip4(struct frame *f, unsigned dir, uint8_t proto, const uint8_t *l4, size_t n)
{
    f->len = ipv4_packet(f->b, proto, dir ? B4 : A4, dir ? A4 : B4, 1, l4, n);
    parse_as(f, CT_LINK_IPV4, 0);
}

/* ---- parser ------------------------------------------------------------------------------ */

/* A GRE header: flags/version word, protocol type, then `extra` bytes. */
static void gre(struct frame *f, unsigned dir, uint16_t flags, uint16_t ptype, const uint8_t *extra,
                size_t n)
{
    uint8_t l4[64];
    put_be16(l4, flags);
    put_be16(l4 + 2, ptype);
    if (n)
        memcpy(l4 + 4, extra, n);
    ip4(f, dir, 47, l4, 4 + n);
}

static void test_parse_gre_keys(void)
{
    struct frame f;
    uint8_t x[24];
    memset(x, 0, sizeof(x));

    /* Version 0 with a key (RFC 2890): no keys in the tuple. */
    put_be32(x, 0x11223344u);
    gre(&f, O, 0x2000, 0x0800, x, 4 + 20);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.tuple.sport, 0);
    CHECK_EQ_U(f.pkt.tuple.dport, 0);

    /* Version 1 (RFC 2637): payload length, call ID 0x1234. */
    memset(x, 0, sizeof(x));
    put_be16(x, 8);
    put_be16(x + 2, 0x1234);
    gre(&f, O, 0x2001, 0x880b, x, 4 + 8);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.tuple.sport, 0);
    CHECK_EQ_U(f.pkt.tuple.dport, 0x1234);
    CHECK_EQ_U(f.pkt.encap, CT_ENCAP_NONE);

    /* Version 1 without PPP has no tuple. */
    gre(&f, O, 0x2001, 0x0800, x, 4 + 8);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_GRE_PROTO);
    /* Too short for the call ID, or for the version: keys zero. */
    gre(&f, O, 0x2001, 0x0800, x, 2);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.tuple.dport, 0);
    ip4(&f, O, 47, x, 2);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.tuple.dport, 0);
    /* The call ID in the packet but not in the capture. */
    gre(&f, O, 0x2001, 0x880b, x, 4 + 8);
    parse_as(&f, CT_LINK_IPV4, 20 + 6);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_L4_TRUNCATED);
}

/* An ICMP destination unreachable quoting `quote` (IPv4 header + bytes). */
static void icmp_quoting(struct frame *f, const uint8_t *quote, size_t qlen)
{
    uint8_t m[128];
    icmp_header(m, 3, 3, 0, 0);
    memcpy(m + 8, quote, qlen);
    put_be16(m + 2, 0);
    put_be16(m + 2, inet_csum(m, 8 + qlen));
    ip4(f, R, 1, m, 8 + qlen);
}

static void test_parse_icmp_inner(void)
{
    struct frame f;
    uint8_t q[64], l4[8];
    size_t n;

    /* Quoted GRE version 1: the call ID; without PPP: no tuple. */
    memset(l4, 0, sizeof(l4));
    put_be16(l4, 0x2001);
    put_be16(l4 + 2, 0x880b);
    put_be16(l4 + 6, 0x4321);
    n = ipv4_packet(q, 47, A4, B4, 1, l4, 8);
    icmp_quoting(&f, q, n);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.inner.sport, 0);
    CHECK_EQ_U(f.pkt.inner.dport, 0x4321);
    put_be16(l4 + 2, 0x0800);
    n = ipv4_packet(q, 47, A4, B4, 1, l4, 8);
    icmp_quoting(&f, q, n);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_ICMP_INNER_INVALID);
}

static void test_tuple_text_and_names(void)
{
    struct ct_tuple t;
    memset(&t, 0, sizeof(t));
    t.l3 = CT_L3_IPV4;
    t.proto = 47;
    put_be32(t.src.b, A4);
    put_be32(t.dst.b, B4);
    t.dport = 0x1234;
    char buf[128];
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.1.0.1 dst=10.2.0.1 srckey=0x0 dstkey=0x1234");
    struct ct_tuple r;
    CHECK_EQ_I(ct_tuple_invert(&t, &r), 0);
    ct_tuple_format(&r, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.2.0.1 dst=10.1.0.1 srckey=0x1234 dstkey=0x0");

    /* GRE has no states to print. */
    CHECK(ct_proto_state_name(47, 0) == NULL);

    /* Linux's defaults (sysctl nf_conntrack_gre_timeout*). */
    CHECK_STR(ct_timeout_name(CT_TIMEOUT_GRE), "gre");
    CHECK_EQ_U(ct_timeout_default(CT_TIMEOUT_GRE), 30);
    CHECK_STR(ct_timeout_name(CT_TIMEOUT_GRE_STREAM), "gre_stream");
    CHECK_EQ_U(ct_timeout_default(CT_TIMEOUT_GRE_STREAM), 180);
    CHECK_EQ_U(CT_TIMEOUT_GENERIC, 14); /* earlier numbers unchanged */
    CHECK_STR(ct_reason_name(CT_REASON_GRE_PROTO), "gre-proto");
}

/* ---- GRE tracker --------------------------------------------------------------------------- */

static struct ct_conn4 entry;

static struct ct_conn *fresh(void)
{
    memset(&entry, 0, sizeof(entry));
    return &entry.c;
}

static void test_gre_tracker(void)
{
    struct ct_conn *c = fresh();
    struct frame f;
    struct ct_proto_result res;
    gre(&f, O, 0, 0x0800, NULL, 0);
    CHECK_EQ_U(ct_gre_new(&cfg, c, &f.pkt, 0), CT_REASON_NONE);
    ct_gre_packet(&cfg, c, O, &f.pkt, 0, &res);
    CHECK_EQ_U(res.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(res.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_GRE);
    c->status |= CT_STATUS_CONFIRMED;
    /* The first reply is not yet a stream: SEEN_REPLY comes after it. */
    ct_gre_packet(&cfg, c, R, &f.pkt, 0, &res);
    c->status |= CT_STATUS_SEEN_REPLY;
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_GRE);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    ct_gre_packet(&cfg, c, O, &f.pkt, 0, &res);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_GRE_STREAM);
    CHECK(c->status & CT_STATUS_ASSURED);
}

int main(void)
{
    cfg_default();
    RUN(test_parse_gre_keys);
    RUN(test_parse_icmp_inner);
    RUN(test_tuple_text_and_names);
    RUN(test_gre_tracker);
    return check_summary();
}
