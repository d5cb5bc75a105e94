/*
 * Tests of src/packet/encap.c: the link layers below IP (MPLS, PPPoE, VLAN
 * zones) and the encapsulations ct_pkt_parse() reports (IP in IP, GRE, VXLAN,
 * Geneve, Teredo, GTP-U), on hand-built frames, on frames copied from the
 * corpus (Zeek's and Suricata's test captures, BSD and MIT licensed; the source
 * of each is named beside it) and, when the corpus folder is there, on whole
 * captures, against the connections Zeek's baselines list.
 *
 * Every frame is also re-parsed at every prefix length from an exactly
 * sized heap copy, as a truncated packet and as a snapped capture, following
 * its encapsulations, so that ASan catches any read past the end; and a
 * deterministic mutation loop does the same with random bytes changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "support/corpus.h"
#include "support/frames.h"
#include "support/pcapfile.h"
#include "ctrack/defrag.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/tuple.h"
#include "ctrack/zone.h"

/* ---- builders (the headers are support/frames.h's) ---------------------------------------- */

#define CT_ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t A6[16] = IPV6_DOC_ADDR(1);
static const uint8_t B6[16] = IPV6_DOC_ADDR(2);

/* Each builder writes at `o` and returns the length. Transport checksums
   are left zero: the parser does not check them. */
static size_t ip4(uint8_t *o, uint8_t proto, uint32_t src, uint32_t dst, const uint8_t *pl,
                  size_t plen)
{
    return ipv4_packet(o, proto, src, dst, 0x4242, pl, plen);
}

/* UDP with a zero checksum (none, RFC 768). */
static size_t udp(uint8_t *o, uint16_t sp, uint16_t dp, const uint8_t *pl, size_t plen)
{
    size_t hl = udp_header(o, sp, dp, plen);
    if (plen)
        memcpy(o + hl, pl, plen);
    return hl + plen;
}

static size_t tcp(uint8_t *o, uint16_t sp, uint16_t dp, uint8_t flags)
{
    return tcp_header(o, sp, dp, 1000, 0, flags, 8192, NULL, 0);
}

/* Concatenates a header and a payload. */
static size_t cat(uint8_t *o, const uint8_t *h, size_t hl, const uint8_t *pl, size_t plen)
{
    memcpy(o, h, hl);
    if (plen)
        memcpy(o + hl, pl, plen);
    return hl + plen;
}

/* Inner packets used throughout: IPv4/TCP 10.0.0.1:1234 -> 10.0.0.2:80 and
   IPv6/UDP A6:5000 -> B6:53, and an Ethernet frame around the first. */
static uint8_t in4[64], in6[64], ineth[96];
static size_t in4_len, in6_len, ineth_len;

static void make_inner(void)
{
    uint8_t l4[32];
    size_t n = tcp(l4, 1234, 80, CT_TCP_SYN);
    in4_len = ip4(in4, 6, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), l4, n);
    n = udp(l4, 5000, 53, (const uint8_t *)"query", 5);
    in6_len = ipv6_packet(in6, 17, A6, B6, l4, n);
    ineth_len = eth_frame(ineth, NULL, 0, 0x0800, in4, in4_len);
}

/* ---- parsing helpers ---------------------------------------------------------------------- */

#define MAX_DEPTH 4

/* Parses `f` and follows its encapsulations, at most MAX_DEPTH deep;
   pk[0] is the outer packet. Returns the index of the innermost one. */
static int follow(const struct ct_frame *f, struct ct_pkt *pk)
{
    ct_pkt_parse(f, &pk[0]);
    int d = 0;
    struct ct_frame in;
    while (d < MAX_DEPTH && ct_pkt_inner_frame(&pk[d], &in) == 0) {
        ct_pkt_parse(&in, &pk[d + 1]);
        d++;
    }
    return d;
}

static struct ct_pkt PK[MAX_DEPTH + 1];
static int DEPTH;

/* Parses a whole frame into PK / DEPTH. */
static void parse_all(const uint8_t *f, size_t n, uint16_t link)
{
    struct ct_frame fr = {.data = f, .len = (uint32_t)n, .link = link, .zone = 3, .mark = 77};
    DEPTH = follow(&fr, PK);
}

/* Checks what every layer of a decapsulation must respect, for a frame
   whose bytes are [base, base + cap). */
static void check_layers(const struct ct_pkt *pk, int depth, const uint8_t *base, size_t cap)
{
    for (int i = 0; i <= depth; i++) {
        const struct ct_pkt *p = &pk[i];
        CHECK(p->reason < CT_REASON_COUNT);
        CHECK(p->data >= base && p->data + p->len <= base + cap);
        if (p->reason != CT_REASON_NONE)
            CHECK_EQ_U(p->encap, CT_ENCAP_NONE);
        if (p->reason == CT_REASON_NONE) {
            CHECK(p->l4_off <= p->len);
            CHECK((size_t)p->payload_off + p->payload_len <= p->len);
        }
        struct ct_frame in;
        if (ct_pkt_inner_frame(p, &in) == 0) {
            CHECK(p->encap != CT_ENCAP_NONE);
            CHECK(in.data >= p->data && in.data + in.len <= p->data + p->len);
            CHECK(in.len <= in.wire_len || in.wire_len == 0);
            CHECK_EQ_U(in.zone, p->tuple.zone);
            CHECK_EQ_U(in.mark, p->mark);
        }
    }
}

/* Every prefix, from an exact heap copy, truncated and snapped. */
static void sweep(const uint8_t *f, size_t n, uint16_t link)
{
    struct ct_pkt pk[MAX_DEPTH + 1];
    for (size_t k = 0; k <= n; k++) {
        uint8_t *b = malloc(k ? k : 1);
        memcpy(b, f, k);
        for (int snapped = 0; snapped < 2; snapped++) {
            struct ct_frame fr = {.data = b,
                                  .len = (uint32_t)k,
                                  .wire_len = (uint32_t)(snapped ? n : k),
                                  .link = link};
            int d = follow(&fr, pk);
            check_layers(pk, d, b, k);
        }
        free(b);
    }
}

/* Parses, checks the layers and sweeps the prefixes. */
static void expect_layers(const uint8_t *f, size_t n, uint16_t link)
{
    sweep(f, n, link);
    parse_all(f, n, link);
    check_layers(PK, DEPTH, f, n);
}

static void check_inner_tcp4(const struct ct_pkt *p)
{
    CHECK_EQ_U(p->reason, CT_REASON_NONE);
    CHECK_EQ_U(p->tuple.l3, CT_L3_IPV4);
    CHECK_EQ_U(p->tuple.proto, 6);
    CHECK_EQ_U(ntohl(p->tuple.src.v4), IPV4_ADDR(10, 0, 0, 1));
    CHECK_EQ_U(ntohl(p->tuple.dst.v4), IPV4_ADDR(10, 0, 0, 2));
    CHECK_EQ_U(p->tuple.sport, 1234);
    CHECK_EQ_U(p->tuple.dport, 80);
    CHECK_EQ_U(p->tcp_flags, CT_TCP_SYN);
}

static void check_inner_udp6(const struct ct_pkt *p)
{
    CHECK_EQ_U(p->reason, CT_REASON_NONE);
    CHECK_EQ_U(p->tuple.l3, CT_L3_IPV6);
    CHECK_EQ_U(p->tuple.proto, 17);
    CHECK(memcmp(p->tuple.src.b, A6, 16) == 0);
    CHECK(memcmp(p->tuple.dst.b, B6, 16) == 0);
    CHECK_EQ_U(p->tuple.sport, 5000);
    CHECK_EQ_U(p->tuple.dport, 53);
    CHECK_EQ_U(p->payload_len, 5);
}

static uint8_t b1[2048], b2[2048], b3[2048], fr[2048];

/* Ethernet / IPv4 (1.1.1.1 -> 2.2.2.2) / UDP sp -> dp / payload. */
static size_t over_udp4(uint16_t sp, uint16_t dp, const uint8_t *pl, size_t plen)
{
    size_t n = udp(b1, sp, dp, pl, plen);
    n = ip4(b2, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), b1, n);
    return eth_frame(fr, NULL, 0, 0x0800, b2, n);
}

/* Ethernet / IPv4 / GRE header `gh` / payload. */
static size_t over_gre(const uint8_t *gh, size_t ghl, const uint8_t *pl, size_t plen)
{
    size_t n = cat(b1, gh, ghl, pl, plen);
    n = ip4(b2, 47, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), b1, n);
    return eth_frame(fr, NULL, 0, 0x0800, b2, n);
}

/* ---- MPLS, PPPoE, VLAN zones ------------------------------------------------------------- */

static void test_mpls(void)
{
    make_inner();
    /* One label, bottom of stack, IPv4 (RFC 3032). */
    uint8_t lab[16] = {0x00, 0x01, 0xd1, 0x40, 0x00, 0x02, 0xe1, 0x40};
    size_t n = cat(b1, lab + 4, 4, in4, in4_len);
    n = eth_frame(fr, NULL, 0, 0x8847, b1, n);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    check_inner_tcp4(&PK[0]);
    CHECK_EQ_U(PK[0].nmpls, 1);
    CHECK_EQ_U(PK[0].l3_off, 18);
    CHECK_EQ_U(DEPTH, 0);
    /* Two labels (the first without the S bit), IPv6, multicast type. */
    uint8_t two[8] = {0x00, 0x01, 0xd0, 0x40, 0x00, 0x02, 0xe1, 0x40};
    n = cat(b1, two, 8, in6, in6_len);
    n = eth_frame(fr, NULL, 0, 0x8848, b1, n);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    check_inner_udp6(&PK[0]);
    CHECK_EQ_U(PK[0].nmpls, 2);
    /* VLAN, then MPLS, as in Zeek's mixed-vlan-mpls capture. */
    uint16_t tag[2] = {0x8100, 100};
    n = cat(b1, lab + 4, 4, in4, in4_len);
    n = eth_frame(fr, tag, 1, 0x8847, b1, n);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    check_inner_tcp4(&PK[0]);
    CHECK_EQ_U(PK[0].nvlan, 1);
    CHECK_EQ_U(PK[0].vlan[0], 100);
    CHECK_EQ_U(PK[0].nmpls, 1);
    /* The stack ends at the end of the frame. */
    n = eth_frame(fr, NULL, 0, 0x8847, two, 4);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_L2_TRUNCATED);
    n = eth_frame(fr, NULL, 0, 0x8847, lab + 4, 4);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_L2_TRUNCATED);
    /* A long stack: the count saturates, the packet still parses. */
    static uint8_t deep[300 * 4 + 64];
    for (int i = 0; i < 300; i++) {
        memcpy(deep + 4 * i, two, 4);
        if (i == 299)
            deep[4 * i + 2] |= 1;
    }
    n = cat(b1, deep, 1200, in4, in4_len);
    static uint8_t big[1400];
    n = eth_frame(big, NULL, 0, 0x8847, b1, n);
    parse_all(big, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].nmpls, 255);
}

static void test_pppoe(void)
{
    make_inner();
    uint8_t h[8] = {0x11, 0x00, 0x12, 0x34, 0, 0, 0x00, 0x21};
    put_be16(h + 4, (uint16_t)(2 + in4_len));
    size_t n = cat(b1, h, 8, in4, in4_len);
    n = eth_frame(fr, NULL, 0, 0x8864, b1, n);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    check_inner_tcp4(&PK[0]);
    CHECK_EQ_U(PK[0].l3_off, 22);
    h[7] = 0x57;
    n = cat(b1, h, 8, in6, in6_len);
    n = eth_frame(fr, NULL, 0, 0x8864, b1, n);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    check_inner_udp6(&PK[0]);
    h[1] = 0x09; /* a discovery code on the session type: not data */
    n = cat(b1, h, 8, in6, in6_len);
    n = eth_frame(fr, NULL, 0, 0x8864, b1, n);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NOT_IP);
}

static uint16_t zone_of(const uint16_t *tags, int ntag)
{
    make_inner();
    size_t n = eth_frame(fr, tags, ntag, 0x0800, in4, in4_len);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    return ct_zone_from_vlan(&PK[0]);
}

static void test_vlan_zone(void)
{
    CHECK_EQ_U(zone_of(NULL, 0), 0);
    uint16_t one[2] = {0x8100, 42};
    CHECK_EQ_U(zone_of(one, 1), 42);
    uint16_t pcp[2] = {0x8100, 0xe000 | 4095}; /* priority bits are not the ID */
    CHECK_EQ_U(zone_of(pcp, 1), 4095);
    uint16_t prio[2] = {0x8100, 0x6000}; /* priority tag, VLAN ID 0 */
    CHECK_EQ_U(zone_of(prio, 1), 0);
    uint16_t prio_then[4] = {0x88a8, 0, 0x8100, 7}; /* an ID-0 tag is skipped */
    CHECK_EQ_U(zone_of(prio_then, 2), 7);
    uint16_t qinq[4] = {0x88a8, 13, 0x8100, 10};
    uint16_t z = zone_of(qinq, 2);
    CHECK(z >= 0x1000);
    uint16_t swapped[4] = {0x88a8, 10, 0x8100, 13};
    CHECK(zone_of(swapped, 2) != z); /* order matters */
    uint16_t qinq_old[4] = {0x9100, 13, 0x8100, 10};
    CHECK_EQ_U(zone_of(qinq_old, 2), z); /* the TPID does not */
    uint16_t three[6] = {0x8100, 1, 0x8100, 10, 0x8100, 100};
    uint16_t z3 = zone_of(three, 3);
    CHECK(z3 >= 0x1000 && z3 != z);
    /* Every two-tag stack lands in [4096, 65535]; count collisions over a
       sample of stacks to see the fold spreads them. */
    static uint8_t seen[65536];
    memset(seen, 0, sizeof(seen));
    unsigned coll = 0, total = 0;
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.nvlan = 2;
    for (unsigned o = 1; o < 4096; o += 37)
        for (unsigned i = 1; i < 4096; i += 41) {
            p.vlan[0] = (uint16_t)o;
            p.vlan[1] = (uint16_t)i;
            uint16_t v = ct_zone_from_vlan(&p);
            CHECK(v >= 0x1000);
            coll += seen[v];
            seen[v] = 1;
            total++;
        }
    CHECK(coll < total / 10);

    /* ct_pkt_set_zone() changes the tuple's zone and the embedded one. */
    make_inner();
    size_t n = eth_frame(fr, qinq, 2, 0x0800, in4, in4_len);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].tuple.zone, 3);
    ct_pkt_set_zone(&PK[0], ct_zone_from_vlan(&PK[0]));
    CHECK_EQ_U(PK[0].tuple.zone, z);
    CHECK_EQ_U(PK[0].inner.zone, z);
}

/* ---- IP in IP ------------------------------------------------------------------------- */

static void test_ipip(void)
{
    make_inner();
    /* IPv4 in IPv4 (RFC 2003). */
    size_t n = ip4(b2, 4, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), in4, in4_len);
    n = eth_frame(fr, NULL, 0, 0x0800, b2, n);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].tuple.proto, 4);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_IPIP);
    CHECK_EQ_U(PK[0].encap_off, 34);
    CHECK_EQ_U(PK[0].encap_len, in4_len);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV4);
    CHECK_EQ_U(DEPTH, 1);
    check_inner_tcp4(&PK[1]);
    CHECK_EQ_U(PK[1].tuple.zone, 3);
    CHECK_EQ_U(PK[1].mark, 77);
    /* IPv6 in IPv4 (RFC 4213), IPv4 in IPv6 and IPv6 in IPv6 (RFC 2473). */
    n = ip4(b2, 41, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), in6, in6_len);
    expect_layers(b2, n, CT_LINK_IPV4);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV6);
    CHECK_EQ_U(DEPTH, 1);
    check_inner_udp6(&PK[1]);
    n = ipv6_packet(b2, 4, B6, A6, in4, in4_len);
    expect_layers(b2, n, CT_LINK_IPV6);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_IPIP);
    CHECK_EQ_U(PK[0].encap_off, 40);
    check_inner_tcp4(&PK[1]);
    n = ipv6_packet(b2, 41, B6, A6, in6, in6_len);
    expect_layers(b2, n, CT_LINK_IPV6);
    check_inner_udp6(&PK[1]);
    /* Protocol 4 carrying IPv6: the inner parse says so. */
    n = ip4(b2, 4, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), in6, in6_len);
    expect_layers(b2, n, CT_LINK_IPV4);
    CHECK_EQ_U(DEPTH, 1);
    CHECK_EQ_U(PK[1].reason, CT_REASON_IP_VERSION);
    /* Ethernet padding after the outer packet is not part of the inner one. */
    n = ip4(b2, 4, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), in4, in4_len);
    memset(b2 + n, 0xee, 10);
    parse_all(b2, n + 10, CT_LINK_IPV4);
    struct ct_frame in;
    CHECK_EQ_I(ct_pkt_inner_frame(&PK[0], &in), 0);
    CHECK_EQ_U(in.len, in4_len);
    /* An outer fragment carries no inner frame until reassembled. */
    b2[6] = 0x20; /* MF */
    b2[10] = b2[11] = 0;
    put_be16(b2 + 10, inet_csum(b2, 20));
    parse_all(b2, n, CT_LINK_IPV4);
    CHECK_EQ_U(PK[0].reason, CT_REASON_FRAGMENT);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    CHECK_EQ_I(ct_pkt_inner_frame(&PK[0], &in), -ENOENT);
}

/* ---- GRE -------------------------------------------------------------------------------- */

static void test_gre(void)
{
    make_inner();
    /* RFC 2784: flags 0, protocol IPv4. */
    uint8_t g[32] = {0x00, 0x00, 0x08, 0x00};
    size_t n = over_gre(g, 4, in4, in4_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].tuple.proto, 47);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GRE);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 4);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV4);
    CHECK_EQ_U(PK[0].encap_id, 0);
    check_inner_tcp4(&PK[1]);
    /* Checksum, key and sequence number (RFC 2890): 16 bytes. */
    uint8_t gcks[16] = {0xb0, 0x00, 0x86, 0xdd, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 9};
    n = over_gre(gcks, 16, in6, in6_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 16);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV6);
    CHECK_EQ_U(PK[0].encap_id, 0xdeadbeef);
    check_inner_udp6(&PK[1]);
    /* Key only, transparent Ethernet bridging. */
    uint8_t gteb[8] = {0x20, 0x00, 0x65, 0x58, 0, 0, 0x01, 0x00};
    n = over_gre(gteb, 8, ineth, ineth_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_id, 256);
    check_inner_tcp4(&PK[1]);
    /* ERSPAN type I (no sequence number, no header), type II (8-byte
       header, version 1), type III (12 bytes, version 2, + 8 with O). */
    uint8_t e1[4] = {0x00, 0x00, 0x88, 0xbe};
    n = over_gre(e1, 4, ineth, ineth_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 4);
    check_inner_tcp4(&PK[1]);
    uint8_t e2[16] = {0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0};
    n = over_gre(e2, 16, ineth, ineth_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 16);
    check_inner_tcp4(&PK[1]);
    e2[8] = 0x20; /* version 2 under type II's protocol: not ERSPAN II */
    n = over_gre(e2, 16, ineth, ineth_len);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    uint8_t e3[36] = {0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0x64, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    n = over_gre(e3, 20, ineth, ineth_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 20);
    check_inner_tcp4(&PK[1]);
    e3[19] = 1; /* O flag: an 8-byte platform-specific subheader follows */
    n = over_gre(e3, 28, ineth, ineth_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 28);
    check_inner_tcp4(&PK[1]);

    /* Not decapsulated: routing present (RFC 1701), strict source route,
       recursion bits, version 2, an unknown protocol (MPLS), a key that is
       not there. The outer packet still parses. */
    static const uint8_t bad[][4] = {
        {0x40, 0x00, 0x08, 0x00}, {0x08, 0x00, 0x08, 0x00}, {0x04, 0x00, 0x08, 0x00},
        {0x00, 0x02, 0x08, 0x00}, {0x00, 0x00, 0x88, 0x47},
    };
    for (size_t i = 0; i < CT_ARRAY_SIZE_(bad); i++) {
        n = over_gre(bad[i], 4, in4, in4_len);
        parse_all(fr, n, CT_LINK_ETHERNET);
        CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
        CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    }
    uint8_t gk[4] = {0x20, 0x00, 0x08, 0x00};
    n = over_gre(gk, 4, NULL, 0);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    /* Recursion bits 6-7 are ignored on receipt (RFC 2784 2.3). */
    uint8_t rec[4] = {0x03, 0x00, 0x08, 0x00};
    n = over_gre(rec, 4, in4, in4_len);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GRE);
}

/* Enhanced GRE of PPTP (RFC 2637 4.1) carrying PPP. */
static void test_gre_pptp(void)
{
    make_inner();
    uint8_t g[256];
    /* K and S set, version 1, protocol PPP; payload length, call ID 77,
       sequence number; PPP address/control and protocol 0x0021. */
    uint8_t ppp[4] = {0xff, 0x03, 0x00, 0x21};
    uint8_t h[12] = {0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 77, 0, 0, 0, 1};
    put_be16(h + 4, (uint16_t)(4 + in4_len));
    size_t pl = cat(g, ppp, 4, in4, in4_len);
    size_t n = over_gre(h, 12, g, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GRE);
    CHECK_EQ_U(PK[0].encap_id, 77);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 12 + 4);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV4);
    check_inner_tcp4(&PK[1]);
    /* Address and control compressed, protocol field compressed (0x57, IPv6),
       an acknowledgment number too (A flag). */
    uint8_t ha[16] = {0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 77, 0, 0, 0, 2, 0, 0, 0, 1};
    uint8_t p6[1] = {0x57};
    put_be16(ha + 4, (uint16_t)(1 + in6_len));
    pl = cat(g, p6, 1, in6, in6_len);
    n = over_gre(ha, 16, g, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 16 + 1);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV6);
    check_inner_udp6(&PK[1]);
    /* An acknowledgment alone (payload length 0), LCP (0xc021), a payload
       length past the packet, and K missing: no inner frame. */
    uint8_t ack[12] = {0x20, 0x81, 0x88, 0x0b, 0, 0, 0, 77, 0, 0, 0, 1};
    n = over_gre(ack, 12, NULL, 0);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    uint8_t lcp[8] = {0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4};
    put_be16(h + 4, 8);
    n = over_gre(h, 12, lcp, 8);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    put_be16(h + 4, (uint16_t)(4 + in4_len + 1));
    pl = cat(g, ppp, 4, in4, in4_len);
    n = over_gre(h, 12, g, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    put_be16(h + 4, (uint16_t)(4 + in4_len));
    h[0] = 0x10;
    n = over_gre(h, 12, g, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
}

/* ---- UDP encapsulations ------------------------------------------------------------------ */

static void test_vxlan(void)
{
    make_inner();
    uint8_t v[8] = {0x08, 0, 0, 0, 0x00, 0x30, 0x39, 0x00}; /* VNI 12345 */
    size_t pl = cat(b3, v, 8, ineth, ineth_len);
    size_t n = over_udp4(40000, 4789, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].tuple.proto, 17);
    CHECK_EQ_U(PK[0].tuple.dport, 4789);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_VXLAN);
    CHECK_EQ_U(PK[0].encap_id, 12345);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8 + 8);
    CHECK_EQ_U(PK[0].encap_len, ineth_len);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_ETHERNET);
    CHECK_EQ_U(DEPTH, 1);
    check_inner_tcp4(&PK[1]);
    /* The outer packet is what was parsed: its tuple, payload and
       transport fields are those of the UDP datagram. */
    CHECK_EQ_U(PK[0].payload_len, pl);
    /* Without the I flag, or on the source port only: plain UDP. */
    v[0] = 0;
    pl = cat(b3, v, 8, ineth, ineth_len);
    n = over_udp4(40000, 4789, b3, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    v[0] = 0x08;
    pl = cat(b3, v, 8, ineth, ineth_len);
    n = over_udp4(4789, 40000, b3, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    /* ...but ct_pkt_decap() decodes it on any port. */
    struct ct_frame in;
    CHECK_EQ_I(ct_pkt_decap(&PK[0], CT_ENCAP_VXLAN, &in), 0);
    CHECK_EQ_U(in.len, ineth_len);
    CHECK_EQ_U(in.link, CT_LINK_ETHERNET);
    CHECK_EQ_I(ct_pkt_decap(&PK[0], CT_ENCAP_GRE, &in), -EINVAL);
    CHECK_EQ_I(ct_pkt_decap(&PK[0], CT_ENCAP_GENEVE, &in), -ENOENT);
    /* A header cut by the end of the datagram. */
    n = over_udp4(40000, 4789, v, 7);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    /* VXLAN with nothing inside: an empty inner frame. */
    n = over_udp4(40000, 4789, v, 8);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_VXLAN);
    CHECK_EQ_U(PK[0].encap_len, 0);
    CHECK_EQ_U(DEPTH, 1);
    CHECK_EQ_U(PK[1].reason, CT_REASON_L2_TRUNCATED);
}

static void test_geneve(void)
{
    make_inner();
    /* Version 0, 8 bytes of options (2 words), protocol TEB, VNI 0x7b, one
       option: class 0x0102, type 0x80 (critical), length 1 word. */
    uint8_t g[16] = {0x02, 0x40, 0x65, 0x58, 0x00, 0x00, 0x7b, 0x00,
                     0x01, 0x02, 0x80, 0x01, 1,    2,    3,    4};
    size_t pl = cat(b3, g, 16, ineth, ineth_len);
    size_t n = over_udp4(12345, 6081, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GENEVE);
    CHECK_EQ_U(PK[0].encap_id, 0x7b);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8 + 16);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_ETHERNET);
    check_inner_tcp4(&PK[1]);
    /* Protocol IPv6 and IPv4, without options. */
    uint8_t g6[8] = {0x00, 0x00, 0x86, 0xdd, 0, 0, 1, 0};
    pl = cat(b3, g6, 8, in6, in6_len);
    n = over_udp4(12345, 6081, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV6);
    check_inner_udp6(&PK[1]);
    g6[2] = 0x08;
    g6[3] = 0x00;
    pl = cat(b3, g6, 8, in4, in4_len);
    n = over_udp4(12345, 6081, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV4);
    check_inner_tcp4(&PK[1]);
    /* Version 1, an unknown protocol type, options past the datagram. */
    g6[0] = 0x40;
    pl = cat(b3, g6, 8, in4, in4_len);
    n = over_udp4(12345, 6081, b3, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    g6[0] = 0;
    g6[2] = 0x88;
    g6[3] = 0x47;
    pl = cat(b3, g6, 8, in4, in4_len);
    n = over_udp4(12345, 6081, b3, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    g[0] = 0x3f; /* 252 bytes of options in a shorter datagram */
    pl = cat(b3, g, 16, ineth, ineth_len);
    n = over_udp4(12345, 6081, b3, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
}

static void test_teredo(void)
{
    make_inner();
    /* Plain: the UDP payload is the IPv6 packet. */
    size_t n = over_udp4(3797, 3544, in6, in6_len);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_TEREDO);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_IPV6);
    check_inner_udp6(&PK[1]);
    /* From the server port; with an origin indication (8 bytes). */
    uint8_t org[8] = {0x00, 0x00, 0x7f, 0x7b, 0xac, 0x55, 0xfe, 0xd9};
    size_t pl = cat(b3, org, 8, in6, in6_len);
    n = over_udp4(3544, 3797, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_TEREDO);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8 + 8);
    check_inner_udp6(&PK[1]);
    /* An authentication indication (ID length 2, auth length 3, nonce,
       confirmation: 18 bytes), then the origin indication. */
    uint8_t au[18] = {0x00, 0x01, 2, 3, 'i', 'd', 'a', 'u', 't', 1, 2, 3, 4, 5, 6, 7, 8, 0};
    uint8_t auth_org[26];
    cat(auth_org, au, 18, org, 8);
    pl = cat(b3, auth_org, 26, in6, in6_len);
    n = over_udp4(3544, 3797, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8 + 26);
    check_inner_udp6(&PK[1]);
    /* A bubble: an IPv6 header alone, next header 59. */
    uint8_t bub[40];
    ipv6_packet(bub, 59, A6, B6, NULL, 0);
    n = over_udp4(3797, 3544, bub, 40);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_TEREDO);
    CHECK_EQ_U(PK[1].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[1].tuple.proto, 59);
    /* Port 3544 carrying something else: a payload length that does not
       fill the datagram, trailing bytes, IPv4, too short. */
    memcpy(b3, in6, in6_len);
    b3[5]++;
    n = over_udp4(3797, 3544, b3, in6_len);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    memcpy(b3, in6, in6_len);
    b3[in6_len] = 0;
    n = over_udp4(3797, 3544, b3, in6_len + 1);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    n = over_udp4(3797, 3544, in4, in4_len);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    n = over_udp4(3797, 3544, in6, 39);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    /* Teredo between a client and a relay on other ports: only on request. */
    pl = cat(b3, auth_org, 26, in6, in6_len);
    n = over_udp4(3797, 32900, b3, pl);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_NONE);
    struct ct_frame in;
    CHECK_EQ_I(ct_pkt_decap(&PK[0], CT_ENCAP_TEREDO, &in), 0);
    CHECK_EQ_U(in.data - PK[0].data, 14 + 20 + 8 + 26);
    CHECK_EQ_U(in.len, in6_len);
    struct ct_pkt p;
    ct_pkt_parse(&in, &p);
    check_inner_udp6(&p);
    CHECK_EQ_I(ct_pkt_decap(&PK[0], CT_ENCAP_GTPU, &in), -ENOENT);
    /* Not for packets that are not UDP. */
    parse_all(in4, in4_len, CT_LINK_IPV4);
    CHECK_EQ_I(ct_pkt_decap(&PK[0], CT_ENCAP_TEREDO, &in), -ENOENT);
}

static void test_gtpu(void)
{
    make_inner();
    /* Version 1, PT 1, no optional fields, G-PDU, TEID 0x01020304. */
    uint8_t g[32] = {0x30, 0xff, 0, 0, 1, 2, 3, 4};
    put_be16(g + 2, (uint16_t)in4_len);
    size_t pl = cat(b3, g, 8, in4, in4_len);
    size_t n = over_udp4(2152, 2152, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GTPU);
    CHECK_EQ_U(PK[0].encap_id, 0x01020304);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8 + 8);
    CHECK_EQ_U(PK[0].encap_link, CT_LINK_RAW);
    check_inner_tcp4(&PK[1]);
    /* From port 2152 to another; IPv6 inside; a sequence number (S). */
    uint8_t gs[12] = {0x32, 0xff, 0, 0, 0, 0, 0, 9, 0x12, 0x34, 0, 0};
    put_be16(gs + 2, (uint16_t)(4 + in6_len));
    pl = cat(b3, gs, 12, in6, in6_len);
    n = over_udp4(2152, 40000, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8 + 12);
    check_inner_udp6(&PK[1]);
    /* Extension headers (E): a PDU session container (type 0x85, 1 word)
       then a 2-word one of type 0x40, then none. */
    uint8_t ge[24] = {0x34, 0xff, 0,    0,    0, 0, 0, 9, 0, 0, 0, 0x85,
                      1,    0x10, 0x05, 0x40, 2, 1, 2, 3, 4, 5, 6, 0};
    put_be16(ge + 2, (uint16_t)(16 + in4_len));
    pl = cat(b3, ge, 24, in4, in4_len);
    n = over_udp4(2152, 2152, b3, pl);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap_off, 14 + 20 + 8 + 24);
    check_inner_tcp4(&PK[1]);
    /* The GTP length bounds the inner frame (trailing bytes excluded). */
    memcpy(b3 + pl, "xyz", 3);
    n = over_udp4(2152, 2152, b3, pl + 3);
    parse_all(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GTPU);
    CHECK_EQ_U(PK[0].encap_len, in4_len);
    /* Not a user packet: an echo request (type 1), GTP' (PT 0), version 2,
       an extension of length 0, a GTP length past the datagram, a payload
       whose first nibble is not an IP version, extension headers past the
       end. */
    struct {
        uint8_t off, val;
    } bad[] = {{1, 1}, {0, 0x20}, {0, 0x50}, {12, 0}, {2, 0xff}, {24, 0x50}, {16, 0xff}};
    for (size_t i = 0; i < CT_ARRAY_SIZE_(bad); i++) {
        pl = cat(b3, ge, 24, in4, in4_len);
        b3[bad[i].off] = bad[i].val;
        n = over_udp4(2152, 2152, b3, pl);
        parse_all(fr, n, CT_LINK_ETHERNET);
        CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
        if (PK[0].encap != CT_ENCAP_NONE)
            CHECK_FAIL_("case %zu: encap %u", i, PK[0].encap);
    }
}

/* Layers inside layers: each is one parse. */
static void test_nesting(void)
{
    make_inner();
    /* IPv6/UDP inside Ethernet inside VXLAN inside IPv4/UDP inside
       Ethernet (TEB) inside GRE (key 5) inside IPv4 inside Ethernet/VLAN. */
    static uint8_t l1[512], l2[512];
    size_t n = eth_frame(l1, NULL, 0, 0x86dd, in6, in6_len);
    uint8_t vx[8] = {0x08, 0, 0, 0, 0, 0, 9, 0};
    n = cat(l2, vx, 8, l1, n);
    n = udp(l1, 5555, 4789, l2, n);
    n = ip4(l2, 17, IPV4_ADDR(172, 16, 0, 1), IPV4_ADDR(172, 16, 0, 2), l1, n);
    n = eth_frame(l1, NULL, 0, 0x0800, l2, n);
    uint8_t gre[8] = {0x20, 0x00, 0x65, 0x58, 0, 0, 0, 5};
    n = cat(l2, gre, 8, l1, n);
    n = ip4(l1, 47, IPV4_ADDR(192, 0, 2, 1), IPV4_ADDR(192, 0, 2, 2), l2, n);
    uint16_t tag[2] = {0x8100, 30};
    n = eth_frame(fr, tag, 1, 0x0800, l1, n);
    expect_layers(fr, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(DEPTH, 2);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GRE);
    CHECK_EQ_U(PK[0].encap_id, 5);
    CHECK_EQ_U(PK[1].encap, CT_ENCAP_VXLAN);
    CHECK_EQ_U(ntohl(PK[1].tuple.src.v4), IPV4_ADDR(172, 16, 0, 1));
    CHECK_EQ_U(PK[1].encap_id, 9);
    CHECK_EQ_U(PK[2].encap, CT_ENCAP_NONE);
    check_inner_udp6(&PK[2]);
    CHECK_EQ_U(PK[0].nvlan, 1);
    CHECK_EQ_U(PK[1].nvlan, 0); /* each layer has its own link header */
    /* A tunnel of tunnels deeper than the caller's cap: IP in IP, 6 times. */
    static uint8_t deep[2][512];
    size_t dn = in4_len;
    memcpy(deep[0], in4, in4_len);
    for (int i = 0; i < 6; i++) {
        dn = ip4(deep[(i + 1) & 1], 4, IPV4_ADDR(1, 1, 1, (uint8_t)i), IPV4_ADDR(2, 2, 2, 2),
                 deep[i & 1], dn);
    }
    parse_all(deep[0], dn, CT_LINK_IPV4);
    CHECK_EQ_U(DEPTH, MAX_DEPTH);
    CHECK_EQ_U(PK[MAX_DEPTH].encap, CT_ENCAP_IPIP); /* more follows; the caller stops */
}

/* A capture cut short: the inner frame is snapped too. */
static void test_snapped_inner(void)
{
    /* VXLAN / Ethernet / IPv4 / UDP with 20 bytes of payload, the last 10
       not captured. */
    uint8_t l4[64], l3[96], l2[128];
    size_t n = udp(l4, 7, 9, (const uint8_t *)"0123456789abcdefghij", 20);
    n = ip4(l3, 17, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), l4, n);
    size_t in_len = eth_frame(l2, NULL, 0, 0x0800, l3, n);
    uint8_t v[8] = {0x08, 0, 0, 0, 0, 0, 1, 0};
    size_t pl = cat(b3, v, 8, l2, in_len);
    n = over_udp4(1, 4789, b3, pl);
    struct ct_frame f = {
        .data = fr, .len = (uint32_t)n - 10, .wire_len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    struct ct_pkt p[MAX_DEPTH + 1];
    CHECK_EQ_I(follow(&f, p), 1);
    CHECK_EQ_U(p[0].snapped, 1);
    struct ct_frame in;
    CHECK_EQ_I(ct_pkt_inner_frame(&p[0], &in), 0);
    CHECK_EQ_U(in.len, in_len - 10);
    CHECK_EQ_U(in.wire_len, in_len);
    CHECK_EQ_U(p[1].reason, CT_REASON_NONE); /* headers captured */
    CHECK_EQ_U(p[1].snapped, 1);
    CHECK_EQ_U(p[1].tuple.sport, 7);
    CHECK_EQ_U(p[1].payload_len, 10);
    /* A parse that failed has no inner frame. */
    f.len = 20;
    ct_pkt_parse(&f, &p[0]);
    CHECK(p[0].reason != CT_REASON_NONE);
    CHECK_EQ_I(ct_pkt_inner_frame(&p[0], &in), -ENOENT);
}

/* ---- frames from the corpus ------------------------------------------------------------------ */

static void tuple_is(const struct ct_pkt *p, const char *text)
{
    char buf[256];
    ct_tuple_format(&p->tuple, buf, sizeof(buf));
    CHECK_STR(buf, text);
}

static void test_corpus_frames(void)
{
    static uint8_t f[2048];
    size_t n;
    /* zeek/tunnels/vxlan.pcap frame 3 (Zeek, BSD): VXLAN VNI 123, ICMP echo. */
    n = hex_bytes(
        "080027f21d8c080027ae4d62080045000086d999400040116f65c0a8380bc0a8380cbc0612b500720000080000"
        "0000007b004a7f013ba271ba092b6ef8be0800450000542f4f40004001f7570a0000010a00000208004c8a0d3d"
        "0001a38c7c5700000000b5800a0000000000101112131415161718191a1b1c1d1e1f20212223242526272829"
        "2a2b2c2d2e2f3031323334353637",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_VXLAN);
    CHECK_EQ_U(PK[0].encap_id, 123);
    CHECK_EQ_U(DEPTH, 1);
    tuple_is(&PK[1], "src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=3389");
    /* zeek/tunnels/gre-sample.pcap frame 1: GRE v0 carrying IPv4 ICMP. */
    n = hex_bytes(
        "00c0ca14b05200022d564afd08004500006c00004000ff2f1e41ac1b0142423b6d890000080045000054000040"
        "004001da90423b6fbeac1c0203080046c9cb6801007072e63e97190c0008090a0b0c0d0e0f10111213141516"
        "1718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GRE);
    tuple_is(&PK[0], "src=172.27.1.66 dst=66.59.109.137 srckey=0x0 dstkey=0x0");
    tuple_is(&PK[1], "src=66.59.111.190 dst=172.28.2.3 type=8 code=0 id=52072");
    /* suricata-verify geneve-decoder.pcap frame 3 (Suricata, MIT). */
    n = hex_bytes(
        "080027f21d8c080027ae4d620800450000869ba940004011ad55c0a8380bc0a8380c8b5717c1007200000000"
        "655800007b004a7f013ba271ba092b6ef8be080045000054f3ef4000400132b70a0000010a00000208005145"
        "0d8a00014d9d7c570000000002680e0000000000101112131415161718191a1b1c1d1e1f2021222324252627"
        "28292a2b2c2d2e2f3031323334353637",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GENEVE);
    CHECK_EQ_U(PK[0].encap_id, 0x7b);
    tuple_is(&PK[1], "src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=3466");
    /* zeek/tunnels/Teredo.pcap frame 30: client to server, ICMPv6 echo. */
    n = hex_bytes(
        "001d5adccff10016cf419c2008004500005087dc000080111081c0a8021041379e500ed50dd8003ca6ad600000"
        "00000c3a152001000041379e508000f12ab9c82815200148600000200100000000000000688000c57cd373b6"
        "9b53aa0126",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_TEREDO);
    tuple_is(&PK[1], "src=2001:0:4137:9e50:8000:f12a:b9c8:2815 dst=2001:4860:0:2001::68 "
                     "type=128 code=0 id=54131");
    /* Frame 31: server to client, origin indication, a bubble. */
    n = hex_bytes(
        "0016cf419c20001d5adccff108004500004c12c500007011959c41379e50c0a802100dd80ed50038d4990000"
        "7f7bac55fed96000000000003b00fe80000000000000708dfe834114a5122001000041379e508000f12ab9c8"
        "2815",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_TEREDO);
    CHECK_EQ_U(PK[1].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[1].tuple.proto, 59);
    /* zeek/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap frame 1:
       GTP-U G-PDU with a TCP SYN inside. */
    n = hex_bytes(
        "00000c07ace888e0f3c8bff0080045000058000000003d111da0ef729b6f3f5e95b50868086800440b2a30ff"
        "00348c61be3645000034526540008006b0300a832fb94f656e8d07830050cd6c69b7000000008002ffff37f2"
        "0000020405b40103030101010402",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].encap, CT_ENCAP_GTPU);
    CHECK_EQ_U(PK[0].encap_id, 0x8c61be36);
    tuple_is(&PK[1], "src=10.131.47.185 dst=79.101.110.141 sport=1923 dport=80");
    CHECK_EQ_U(PK[1].tcp_flags, CT_TCP_SYN);
    /* zeek/mixed-vlan-mpls.pcap frame 1: one MPLS label, TCP SYN. */
    n = hex_bytes(
        "003096e6fc3900309605283888470001ddff45c0002c00000000ff06a4e70a0102010a2200012af90017983"
        "20ffb0000000060021020a240000002040218",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].reason, CT_REASON_NONE);
    CHECK_EQ_U(PK[0].nmpls, 1);
    tuple_is(&PK[0], "src=10.1.2.1 dst=10.34.0.1 sport=11001 dport=23");
    /* zeek/q-in-q.pcap frame 1: two 802.1Q tags, 13 then 10. */
    n = hex_bytes(
        "ffffffffffff00c0e4012ced8100000d8100000a08004500002e479600004011749eac133325ac13333fbac0ba"
        "c0001ab9da810b00120120ffff00ff10080a1b591a1b59",
        f);
    expect_layers(f, n, CT_LINK_ETHERNET);
    CHECK_EQ_U(PK[0].nvlan, 2);
    CHECK_EQ_U(PK[0].vlan[0], 13);
    CHECK_EQ_U(PK[0].vlan[1], 10);
    CHECK(ct_zone_from_vlan(&PK[0]) >= 0x1000);
}

/* ---- whole captures from the corpus, when present ----------------------------------------- */

static char CORPUS[1024];

/* Counts, over a capture, the innermost packets whose tuple (as text)
   equals `want`, following tunnels (and Teredo on any port if asked) and
   reassembling fragments. */
struct tally {
    unsigned frames, encap, reassembled, match, match_reply;
};

static void walk(struct ct_defrag *d, const struct ct_frame *f, uint64_t now, int depth,
                 int teredo_any, const char *want, const char *want_reply, struct tally *t)
{
    struct ct_pkt p;
    ct_pkt_parse(f, &p);
    if (p.frag != CT_FRAG_NONE && p.reason == CT_REASON_FRAGMENT) {
        struct ct_frame whole;
        uint16_t reason;
        if (ct_defrag_add(d, &p, now, &whole, &reason) == CT_DEFRAG_DONE) {
            t->reassembled++;
            walk(d, &whole, now, depth, teredo_any, want, want_reply, t);
        }
        return;
    }
    struct ct_frame in;
    if (depth < MAX_DEPTH && (ct_pkt_inner_frame(&p, &in) == 0 ||
                              (teredo_any && ct_pkt_decap(&p, CT_ENCAP_TEREDO, &in) == 0))) {
        t->encap++;
        walk(d, &in, now, depth + 1, teredo_any, want, want_reply, t);
        return;
    }
    char buf[256];
    ct_tuple_format(&p.tuple, buf, sizeof(buf));
    if (p.reason == CT_REASON_NONE && depth > 0 && strcmp(buf, want) == 0)
        t->match++;
    if (p.reason == CT_REASON_NONE && depth > 0 && strcmp(buf, want_reply) == 0)
        t->match_reply++;
}

static struct tally run_capture(const char *rel, int teredo_any, const char *want,
                                const char *want_reply)
{
    struct tally t = {0};
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", CORPUS, rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        CHECK_FAIL_("cannot open %s", path);
        return t;
    }
    struct pcap_reader r;
    struct ct_defrag *d = NULL;
    if (pcap_reader_open(&r, fp) != 0) {
        CHECK_FAIL_("%s: %s", path, r.error);
        goto out;
    }
    struct ct_defrag_config dc;
    ct_defrag_config_init(&dc);
    int err;
    d = ct_defrag_create(&dc, &err);
    CHECK_PTR(d);
    if (!d)
        goto out;
    struct pcap_packet pk;
    while (pcap_reader_next(&r, &pk) == 1) {
        struct ct_frame f = {
            .data = pk.data, .len = pk.caplen, .wire_len = pk.wirelen, .link = CT_LINK_ETHERNET};
        walk(d, &f, pk.ts_ns, 0, teredo_any, want, want_reply, &t);
        t.frames++;
    }
out:
    ct_defrag_destroy(d);
    pcap_reader_close(&r);
    fclose(fp);
    return t;
}

/*
 * The inner connections of each tunnel capture, with the packet counts per
 * direction Zeek's conn.log baselines give (orig_pkts, resp_pkts).
 */
static void test_corpus_captures(void)
{
    if (!corpus_dir(CORPUS, sizeof(CORPUS))) {
        printf("test_corpus_captures: skipped (no corpus folder)\n");
        return;
    }
    struct tally t;
    /* core.tunnels.vxlan: icmp 10.0.0.1 -> 10.0.0.2, 4 and 4 packets. */
    t = run_capture("zeek/tunnels/vxlan.pcap", 0, "src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=3389",
                    "src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=3389");
    CHECK_EQ_U(t.frames, 10);
    CHECK_EQ_U(t.encap, 10);
    CHECK_EQ_U(t.match, 4);
    CHECK_EQ_U(t.match_reply, 4);
    /* core.tunnels.gre: ssh 66.59.111.190:40264 -> 172.28.2.3:22, 12 and 10. */
    t = run_capture("zeek/tunnels/gre-sample.pcap", 0,
                    "src=66.59.111.190 dst=172.28.2.3 sport=40264 dport=22",
                    "src=172.28.2.3 dst=66.59.111.190 sport=22 dport=40264");
    CHECK_EQ_U(t.encap, 40);
    CHECK_EQ_U(t.match, 12);
    CHECK_EQ_U(t.match_reply, 10);
    /* Suricata's geneve-decoder: 10 frames, all Geneve. */
    t = run_capture("suricata-verify/geneve-decoder.pcap", 0,
                    "src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=3466",
                    "src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=3466");
    CHECK_EQ_U(t.encap, 10);
    CHECK_EQ_U(t.match, 4);
    CHECK_EQ_U(t.match_reply, 4);
    /* core.tunnels.teredo: tcp 1286 -> 80 through a relay on port 32900,
       10 and 12 packets: only with Teredo on any port, as Zeek does. */
    const char *tq =
        "src=2001:0:4137:9e50:8000:f12a:b9c8:2815 dst=2001:4860:0:2001::68 sport=1286 dport=80";
    const char *tr =
        "src=2001:4860:0:2001::68 dst=2001:0:4137:9e50:8000:f12a:b9c8:2815 sport=80 dport=1286";
    t = run_capture("zeek/tunnels/Teredo.pcap", 0, tq, tr);
    CHECK_EQ_U(t.encap, 4);
    CHECK_EQ_U(t.match, 0);
    t = run_capture("zeek/tunnels/Teredo.pcap", 1, tq, tr);
    CHECK_EQ_U(t.match, 10);
    CHECK_EQ_U(t.match_reply, 12);
    /* core.tunnels.gtp.outer_ip_frag: GTP-U in fragmented outer IPv4; tcp
       10.131.47.185:1923 -> 79.101.110.141:80, 27 and 41 packets. Of the
       40 fragmented datagrams, 4 lack their second fragment. */
    t = run_capture("zeek/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap", 0,
                    "src=10.131.47.185 dst=79.101.110.141 sport=1923 dport=80",
                    "src=79.101.110.141 dst=10.131.47.185 sport=80 dport=1923");
    CHECK_EQ_U(t.reassembled, 36);
    CHECK_EQ_U(t.match, 27);
    CHECK_EQ_U(t.match_reply, 41);
}

/* ---- robustness --------------------------------------------------------------------------- */

/* Random bytes changed in tunnel frames: never a read out of bounds. */
static void test_mutations(void)
{
    make_inner();
    static uint8_t frames[8][512];
    size_t lens[8];
    uint8_t v[8] = {0x08, 0, 0, 0, 0, 0, 1, 0};
    size_t pl = cat(b3, v, 8, ineth, ineth_len);
    lens[0] = over_udp4(1, 4789, b3, pl);
    memcpy(frames[0], fr, lens[0]);
    uint8_t g[16] = {0x02, 0x40, 0x65, 0x58, 0, 0, 1, 0, 1, 2, 0x80, 1, 1, 2, 3, 4};
    pl = cat(b3, g, 16, ineth, ineth_len);
    lens[1] = over_udp4(1, 6081, b3, pl);
    memcpy(frames[1], fr, lens[1]);
    uint8_t au[26] = {0x00, 0x01, 2, 3, 'i', 'd', 'a', 'u', 't', 1, 2, 3, 4,
                      5,    6,    7, 8, 0,   0,   0,   1,   2,   3, 4, 5, 6};
    pl = cat(b3, au, 26, in6, in6_len);
    lens[2] = over_udp4(3544, 1, b3, pl);
    memcpy(frames[2], fr, lens[2]);
    uint8_t ge[24] = {0x34, 0xff, 0,    0,    0, 0, 0, 9, 0, 0, 0, 0x85,
                      1,    0x10, 0x05, 0x40, 2, 1, 2, 3, 4, 5, 6, 0};
    put_be16(ge + 2, (uint16_t)(16 + in4_len));
    pl = cat(b3, ge, 24, in4, in4_len);
    lens[3] = over_udp4(2152, 2152, b3, pl);
    memcpy(frames[3], fr, lens[3]);
    uint8_t gk[16] = {0xb0, 0x00, 0x86, 0xdd, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 9};
    lens[4] = over_gre(gk, 16, in6, in6_len);
    memcpy(frames[4], fr, lens[4]);
    uint8_t h[12] = {0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 77, 0, 0, 0, 1};
    uint8_t ppp[4] = {0xff, 0x03, 0x00, 0x21};
    put_be16(h + 4, (uint16_t)(4 + in4_len));
    pl = cat(b3, ppp, 4, in4, in4_len);
    lens[5] = over_gre(h, 12, b3, pl);
    memcpy(frames[5], fr, lens[5]);
    uint8_t e3[28] = {0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0x64, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    lens[6] = over_gre(e3, 28, ineth, ineth_len);
    memcpy(frames[6], fr, lens[6]);
    uint8_t two[8] = {0x00, 0x01, 0xd0, 0x40, 0x00, 0x02, 0xe1, 0x40};
    pl = cat(b3, two, 8, in6, in6_len);
    lens[7] = eth_frame(frames[7], NULL, 0, 0x8847, b3, pl);

    /* Every frame at every prefix first. */
    for (int i = 0; i < 8; i++)
        sweep(frames[i], lens[i], CT_LINK_ETHERNET);

    uint64_t s = 0x9e3779b97f4a7c15ull;
    struct ct_pkt pk[MAX_DEPTH + 1];
    for (int it = 0; it < 40000; it++) {
        int i = it % 8;
        size_t n = lens[i];
        uint8_t *b = malloc(n);
        memcpy(b, frames[i], n);
        int flips = 1 + (int)((s >> 60) & 3);
        for (int k = 0; k < flips; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            b[(s >> 33) % n] = (uint8_t)(s >> 17);
        }
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t cut = (s >> 40) % 4 == 0 ? (size_t)((s >> 20) % (n + 1)) : n;
        struct ct_frame f = {
            .data = b, .len = (uint32_t)cut, .wire_len = (uint32_t)n, .link = CT_LINK_ETHERNET};
        int d = follow(&f, pk);
        check_layers(pk, d, b, cut);
        for (int j = 0; j <= d; j++) {
            struct ct_frame in;
            for (unsigned kind = CT_ENCAP_VXLAN; kind <= CT_ENCAP_GTPU; kind++)
                if (ct_pkt_decap(&pk[j], kind, &in) == 0) {
                    CHECK(in.data >= b && in.data + in.len <= b + cut);
                    struct ct_pkt q;
                    ct_pkt_parse(&in, &q);
                    CHECK(q.reason < CT_REASON_COUNT);
                }
        }
        free(b);
    }
}

int main(void)
{
    RUN(test_mpls);
    RUN(test_pppoe);
    RUN(test_vlan_zone);
    RUN(test_ipip);
    RUN(test_gre);
    RUN(test_gre_pptp);
    RUN(test_vxlan);
    RUN(test_geneve);
    RUN(test_teredo);
    RUN(test_gtpu);
    RUN(test_nesting);
    RUN(test_snapped_inner);
    RUN(test_corpus_frames);
    RUN(test_corpus_captures);
    RUN(test_mutations);
    return check_summary();
}
