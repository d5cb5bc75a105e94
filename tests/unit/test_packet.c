/*
 * Tests of ct_pkt_parse() and ct_pkt_verify_checksum() on hand-built frames.
 *
 * Frames are assembled field by field (tests/support/frames.h); checksums
 * are computed with a plain byte-wise RFC 1071 reference (not the
 * library's), so a correct frame and a corrupted one check the library's
 * fast sum against an independent one. Every frame is also re-parsed at
 * every prefix length from an exactly sized heap copy (ASan catches any read
 * past the end), once as a truncated packet and once as a snapped capture.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "support/frames.h"
#include "support/parsepaths.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/tuple.h"
#include "packet/packet_priv.h"

/* ---- builders (support/frames.h has the headers and the reference checksum) ---- */

static void fill_payload(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(0x41 + i * 7);
}

/* TCP header (+ options padded by the caller to a multiple of 4) + payload. */
static size_t tcp_seg(uint8_t *o, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack,
                      uint8_t flags, uint16_t win, const uint8_t *opt, size_t olen, size_t plen)
{
    size_t hl = tcp_header(o, sp, dp, seq, ack, flags, win, opt, olen);
    fill_payload(o + hl, plen);
    return hl + plen;
}

static size_t udp_seg(uint8_t *o, uint16_t sp, uint16_t dp, size_t plen)
{
    size_t hl = udp_header(o, sp, dp, plen);
    fill_payload(o + hl, plen);
    return hl + plen;
}

static size_t icmp_seg(uint8_t *o, uint8_t type, uint8_t code, uint16_t id, uint16_t seq,
                       const uint8_t *body, size_t blen)
{
    size_t hl = icmp_header(o, type, code, id, seq);
    if (blen)
        memcpy(o + hl, body, blen);
    return hl + blen;
}

/* IPv4 header (+ options) around an L4 segment, with both checksums. */
static size_t ip4_pkt(uint8_t *o, uint8_t proto, uint32_t src, uint32_t dst, const uint8_t *opt,
                      size_t olen, const uint8_t *l4, size_t l4len)
{
    size_t hl = ipv4_header(o, proto, src, dst, 0x1234, opt, olen, l4len);
    memmove(o + hl, l4, l4len);
    ipv4_fill_transport_checksum(o);
    return hl + l4len;
}

static const uint8_t A6[16] = IPV6_DOC_ADDR(1);
static const uint8_t B6[16] = IPV6_DOC_ADDR(2);
static const uint8_t C6[16] = IPV6_DOC_ADDR(3);

/* IPv6 header, extension headers (already chained, the last one naming
   `proto`), L4 segment; `nh` is the first next-header value. */
static size_t ip6_pkt(uint8_t *o, uint8_t nh, uint8_t proto, const uint8_t *src, const uint8_t *dst,
                      const uint8_t *ext, size_t elen, const uint8_t *l4, size_t l4len)
{
    size_t hl = ipv6_header(o, nh, src, dst, elen + l4len);
    if (elen)
        memcpy(o + hl, ext, elen);
    if (l4len)
        memmove(o + hl + elen, l4, l4len);
    ipv6_fill_transport_checksum(o, hl + elen, proto, NULL);
    return hl + elen + l4len;
}

/* ---- parsing helpers ------------------------------------------------------------- */

static struct ct_pkt P;

/* Frames the parser's fast path took, of those parse() saw. */
static unsigned long FAST_TAKEN, FRAMES_SEEN;

/* Every frame parsed here also goes through the fast path and the general
   parser apart (support/parsepaths.h), with and without the IPv4 header
   checksum check: the descriptors must be the same byte for byte. */
static void check_paths(const struct ct_frame *fr)
{
    static const unsigned flag_sets[] = {0, CT_PARSE_F_NO_IP_CHECKSUM};
    for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
        struct ct_pkt g;
        long at;
        int r = parse_paths_compare(fr, flag_sets[i], &g, &at);
        if (r == PARSEPATHS_DIFFER)
            CHECK_FAIL_(
                "fast path and general parser differ at byte %ld (len %u, wire %u, reason %s)", at,
                (unsigned)fr->len, (unsigned)fr->wire_len, ct_reason_name(g.reason));
        if (i == 0) {
            FRAMES_SEEN++;
            FAST_TAKEN += r == PARSEPATHS_FAST;
        }
    }
}

static uint16_t parse(const uint8_t *f, size_t n, uint16_t link, uint32_t wire)
{
    struct ct_frame fr = {.data = f,
                          .len = (uint32_t)n,
                          .wire_len = wire,
                          .link = link,
                          .zone = 7,
                          .mark = 99,
                          .flags = CT_FRAME_F_L4_CSUM_GOOD};
    check_paths(&fr);
    fr.flags = 0;
    ct_pkt_parse(&fr, &P);
    return P.reason;
}

static int is_trunc_reason(unsigned r)
{
    return r == CT_REASON_L2_TRUNCATED || r == CT_REASON_IP_TRUNCATED ||
           r == CT_REASON_L4_TRUNCATED || r == CT_REASON_ICMP_TRUNCATED ||
           r == CT_REASON_IP6_EXT_HDR;
}

/* Bounds every parsed descriptor must respect when it says NONE. */
static void check_bounds(const struct ct_pkt *p, size_t caplen)
{
    CHECK(p->l3_off <= caplen);
    CHECK(p->l4_off <= caplen);
    CHECK(p->l4_off >= p->l3_off);
    CHECK((size_t)p->payload_off + p->payload_len <= caplen);
    CHECK(p->payload_off >= p->l4_off);
    CHECK(p->l4_len <= p->ip_len);
    if (p->inner_ok)
        CHECK(p->inner_l4_off <= caplen && p->inner_l3_off < p->inner_l4_off);
}

/*
 * Parses every prefix of the frame from an exactly sized heap copy, as a
 * truncated packet (wire_len = prefix) and as a snapped one (wire_len =
 * full length). A snapped prefix that parses must agree with the full frame;
 * one that does not must give a truncation reason or the full frame's reason.
 */
static void prefixes(const uint8_t *f, size_t n, uint16_t link)
{
    struct ct_pkt full;
    parse(f, n, link, 0);
    full = P;
    for (size_t k = 0; k < n; k++) {
        uint8_t *b = malloc(k ? k : 1);
        memcpy(b, f, k);
        parse(b, k, link, (uint32_t)k);
        CHECK(P.reason < CT_REASON_COUNT);
        CHECK_EQ_U(P.snapped, 0);
        if (P.reason == CT_REASON_NONE) {
            check_bounds(&P, k);
            CHECK(P.l3_off + P.ip_len <= k);
        }
        parse(b, k, link, (uint32_t)n);
        CHECK(P.reason < CT_REASON_COUNT);
        CHECK_EQ_U(P.snapped, 1);
        if (P.reason == CT_REASON_NONE) {
            check_bounds(&P, k);
            CHECK_EQ_U(full.reason, CT_REASON_NONE);
            CHECK(ct_tuple_equal(&P.tuple, &full.tuple));
            CHECK_EQ_U(P.l4_off, full.l4_off);
            CHECK_EQ_U(P.ip_len, full.ip_len);
            CHECK_EQ_U(P.tcp_opts, full.tcp_opts);
            CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1); /* not checkable */
            if (full.inner_ok)
                CHECK(P.inner_ok && ct_tuple_equal(&P.inner, &full.inner));
        } else if (P.reason != full.reason && !is_trunc_reason(P.reason) &&
                   !(P.reason == CT_REASON_FRAGMENT && full.reason == CT_REASON_FRAG_INVALID)) {
            /* (A snapped first fragment whose header chain was cut cannot
               be judged complete or not: it stays a plain fragment.) */
            CHECK_FAIL_("prefix %zu of %zu: snapped reason %s, full %s", k, n,
                        ct_reason_name(P.reason), ct_reason_name(full.reason));
        }
        free(b);
    }
}

/* Parses the frame, checks the reason, and runs the prefix checks. */
static void expect(const uint8_t *f, size_t n, uint16_t link, unsigned reason)
{
    prefixes(f, n, link);
    parse(f, n, link, 0);
    if (P.reason != reason)
        CHECK_FAIL_("reason %s, expected %s", ct_reason_name(P.reason), ct_reason_name(reason));
    if (P.reason == CT_REASON_NONE)
        check_bounds(&P, n);
}

static uint8_t seg[4096], ipb[4096], fr[4096];

/* Ethernet / IPv4 / TCP with the given options. */
static size_t frame4_tcp(const uint8_t *opt, size_t olen, size_t plen)
{
    size_t l = tcp_seg(seg, 1234, 80, 1000, 2000, CT_TCP_SYN | CT_TCP_ACK, 29200, opt, olen, plen);
    l = ip4_pkt(ipb, 6, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), NULL, 0, seg, l);
    return eth_frame(fr, NULL, 0, 0x0800, ipb, l);
}

static size_t frame4_udp(size_t plen)
{
    size_t l = udp_seg(seg, 5353, 53, plen);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(192, 168, 1, 1), IPV4_ADDR(192, 168, 1, 2), NULL, 0, seg, l);
    return eth_frame(fr, NULL, 0, 0x0800, ipb, l);
}

/* ---- happy paths -------------------------------------------------------------- */

static void test_eth_ipv4_tcp(void)
{
    static const uint8_t opt[] = {2,  4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8,
                                  10, 0, 0,    0,    1, 0, 0, 0, 0, 1, 1};
    uint8_t o[24] = {0};
    memcpy(o, opt, sizeof(opt));
    size_t n = frame4_tcp(o, 24, 5);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.l3, CT_L3_IPV4);
    CHECK_EQ_U(P.tuple.proto, 6);
    CHECK_EQ_U(ntohl(P.tuple.src.v4), IPV4_ADDR(10, 0, 0, 1));
    CHECK_EQ_U(ntohl(P.tuple.dst.v4), IPV4_ADDR(10, 0, 0, 2));
    CHECK_EQ_U(P.tuple.sport, 1234);
    CHECK_EQ_U(P.tuple.dport, 80);
    CHECK_EQ_U(P.tuple.zone, 7);
    CHECK_EQ_U(P.mark, 99);
    CHECK_EQ_U(P.seq, 1000);
    CHECK_EQ_U(P.ack, 2000);
    CHECK_EQ_U(P.win, 29200);
    CHECK_EQ_U(P.tcp_flags, CT_TCP_SYN | CT_TCP_ACK);
    CHECK_EQ_U(P.tcp_hdr_len, 44);
    CHECK_EQ_U(P.tcp_opts,
               CT_TCPOPT_MSS | CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM | CT_TCPOPT_TIMESTAMP);
    CHECK_EQ_U(P.tcp_mss, 1460);
    CHECK_EQ_U(P.tcp_wscale, 7);
    CHECK_EQ_U(P.l3_off, 14);
    CHECK_EQ_U(P.l4_off, 34);
    CHECK_EQ_U(P.ip_len, 20 + 44 + 5);
    CHECK_EQ_U(P.l4_len, 44 + 5);
    CHECK_EQ_U(P.payload_off, 34 + 44);
    CHECK_EQ_U(P.payload_len, 5);
    CHECK_EQ_U(P.snapped, 0);
    CHECK_EQ_U(P.frag, CT_FRAG_NONE);
    CHECK_EQ_U(P.nvlan, 0);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
}

static void test_tcp_options(void)
{
    /* Window scale above 14 is capped (RFC 7323 2.3); SACK blocks are seen. */
    uint8_t o[16] = {3, 3, 15, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 0, 0};
    size_t n = frame4_tcp(o, 16, 0);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tcp_opts, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK);
    CHECK_EQ_U(P.tcp_wscale, 14);

    /* A malformed option (length 1) stops parsing, the packet stays valid:
       the MSS before it is seen, the window scale after it is not. */
    uint8_t m[12] = {2, 4, 0x02, 0x18, 8, 1, 3, 3, 2, 0, 0, 0};
    n = frame4_tcp(m, 12, 0);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tcp_opts, CT_TCPOPT_MSS);
    CHECK_EQ_U(P.tcp_mss, 0x218);

    /* An option running past the header stops parsing too. */
    uint8_t r[8] = {1, 1, 4, 2, 3, 9, 1, 1};
    n = frame4_tcp(r, 8, 0);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tcp_opts, CT_TCPOPT_SACK_PERM);

    /* Options after End of List are not read; a wrong-length MSS is ignored. */
    uint8_t e[8] = {2, 3, 1, 0, 4, 2, 0, 0};
    n = frame4_tcp(e, 8, 0);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tcp_opts, 0);
    uint8_t z[4] = {0, 4, 2, 1};
    n = frame4_tcp(z, 4, 0);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tcp_opts, 0);
}

static void test_eth_ipv4_udp(void)
{
    size_t n = frame4_udp(11);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.proto, 17);
    CHECK_EQ_U(P.tuple.sport, 5353);
    CHECK_EQ_U(P.tuple.dport, 53);
    CHECK_EQ_U(P.payload_off, 14 + 20 + 8);
    CHECK_EQ_U(P.payload_len, 11);
    CHECK_EQ_U(P.ip_len, 39);
    CHECK_EQ_U(P.l4_len, 19);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
}

/* Ethernet pads short frames to 60 bytes: the padding is not payload. */
static void test_ethernet_padding(void)
{
    size_t n = frame4_udp(2);
    CHECK_EQ_U(n, 14 + 20 + 10);
    memset(fr + n, 0xee, 60 - n);
    expect(fr, 60, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.ip_len, 30);
    CHECK_EQ_U(P.l4_len, 10);
    CHECK_EQ_U(P.payload_len, 2);
    CHECK_EQ_U(P.snapped, 0);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);

    size_t l = tcp_seg(seg, 1, 2, 3, 4, CT_TCP_ACK, 5, NULL, 0, 0);
    l = ip4_pkt(ipb, 6, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    n = eth_frame(fr, NULL, 0, 0x0800, ipb, l);
    memset(fr + n, 0xff, 60 - n);
    expect(fr, 60, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.payload_len, 0);
    CHECK_EQ_U(P.l4_len, 20);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
}

/* A capture cut by its snap length: headers parse, lengths use wire_len. */
static void test_snapped(void)
{
    size_t n = frame4_tcp(NULL, 0, 1000);
    CHECK_EQ_U(parse(fr, 96, CT_LINK_ETHERNET, (uint32_t)n), CT_REASON_NONE);
    CHECK_EQ_U(P.snapped, 1);
    CHECK_EQ_U(P.ip_len, 20 + 20 + 1000);
    CHECK_EQ_U(P.l4_len, 20 + 1000);
    CHECK_EQ_U(P.payload_off, 54);
    CHECK_EQ_U(P.payload_len, 96 - 54);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    /* Not snapped: the same bytes with wire_len 0 are a short packet. */
    CHECK_EQ_U(parse(fr, 96, CT_LINK_ETHERNET, 0), CT_REASON_IP_TOTAL_LEN);
    /* A snap inside the TCP header is a truncation. */
    CHECK_EQ_U(parse(fr, 14 + 20 + 19, CT_LINK_ETHERNET, (uint32_t)n), CT_REASON_L4_TRUNCATED);
    /* wire_len below len is read as len. */
    CHECK_EQ_U(parse(fr, n, CT_LINK_ETHERNET, 10), CT_REASON_NONE);
    CHECK_EQ_U(P.snapped, 0);
}

static void test_vlan_stacks(void)
{
    size_t l = udp_seg(seg, 1, 2, 3);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 2, 3, 4), IPV4_ADDR(5, 6, 7, 8), NULL, 0, seg, l);
    static const uint16_t tags[] = {0x88a8, 0x2064, 0x8100, 0x00c8, 0x9100, 0xe12c, 0x8100, 0x0fff};
    for (int nt = 1; nt <= 4; nt++) {
        size_t n = eth_frame(fr, tags, nt, 0x0800, ipb, l);
        expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
        CHECK_EQ_U(P.nvlan, nt);
        CHECK_EQ_U(P.l3_off, 14 + 4 * nt);
        CHECK_EQ_U(P.tuple.dport, 2);
        CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    }
    CHECK_EQ_U(P.vlan[0], 100);
    CHECK_EQ_U(P.vlan[1], 200);
    CHECK_EQ_U(P.vlan[2], 300);
    CHECK_EQ_U(P.vlan[3], 4095);
    /* A VLAN-tagged non-IP frame is NOT_IP. */
    size_t n = eth_frame(fr, tags, 2, 0x0806, ipb, 28);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NOT_IP);
}

static void test_vlan_too_deep(void)
{
    size_t l = udp_seg(seg, 1, 2, 3);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 2, 3, 4), IPV4_ADDR(5, 6, 7, 8), NULL, 0, seg, l);
    static const uint16_t tags[] = {0x8100, 1, 0x8100, 2, 0x8100, 3, 0x8100, 4, 0x8100, 5};
    size_t n = eth_frame(fr, tags, 5, 0x0800, ipb, l);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_VLAN_TOO_DEEP);
}

static void test_link_types(void)
{
    size_t l = udp_seg(seg, 40000, 443, 4);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(10, 1, 1, 1), IPV4_ADDR(10, 2, 2, 2), NULL, 0, seg, l);
    uint8_t s6[256];
    size_t l6 = tcp_seg(seg, 5000, 22, 1, 0, CT_TCP_SYN, 100, NULL, 0, 0);
    l6 = ip6_pkt(s6, 6, 6, A6, B6, NULL, 0, seg, l6);

    /* Linux cooked v1: 16-byte header, protocol at offset 14. */
    memset(fr, 0, 16);
    put_be16(fr + 2, 1);
    put_be16(fr + 14, 0x0800);
    memcpy(fr + 16, ipb, l);
    expect(fr, 16 + l, CT_LINK_LINUX_SLL, CT_REASON_NONE);
    CHECK_EQ_U(P.l3_off, 16);
    CHECK_EQ_U(P.tuple.dport, 443);
    put_be16(fr + 14, 0x86dd);
    memcpy(fr + 16, s6, l6);
    expect(fr, 16 + l6, CT_LINK_LINUX_SLL, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.l3, CT_L3_IPV6);
    put_be16(fr + 14, 0x0806);
    expect(fr, 16 + 28, CT_LINK_LINUX_SLL, CT_REASON_NOT_IP);

    /* Linux cooked v2: 20-byte header, protocol first. */
    memset(fr, 0, 20);
    put_be16(fr, 0x0800);
    memcpy(fr + 20, ipb, l);
    expect(fr, 20 + l, CT_LINK_LINUX_SLL2, CT_REASON_NONE);
    CHECK_EQ_U(P.l3_off, 20);
    CHECK_EQ_U(P.tuple.sport, 40000);
    put_be16(fr, 0x86dd);
    memcpy(fr + 20, s6, l6);
    expect(fr, 20 + l6, CT_LINK_LINUX_SLL2, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.dport, 22);

    /* Raw IP: version from the first nibble. */
    expect(ipb, l, CT_LINK_RAW, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.l3, CT_L3_IPV4);
    CHECK_EQ_U(P.l3_off, 0);
    expect(s6, l6, CT_LINK_RAW, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.l3, CT_L3_IPV6);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
    expect(s6, l6, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.l4_off, 40);

    /* BSD NULL: host-order family (either byte order); LOOP: network order. */
    uint32_t fam = 2;
    memcpy(fr, &fam, 4);
    memcpy(fr + 4, ipb, l);
    expect(fr, 4 + l, CT_LINK_NULL, CT_REASON_NONE);
    CHECK_EQ_U(P.l3_off, 4);
    fam = __builtin_bswap32(2);
    memcpy(fr, &fam, 4);
    expect(fr, 4 + l, CT_LINK_NULL, CT_REASON_NONE);
    put_be32(fr, 2);
    expect(fr, 4 + l, CT_LINK_LOOP, CT_REASON_NONE);
    memcpy(fr + 4, s6, l6);
    for (uint32_t f6 = 24; f6 <= 30; f6 += 2) {
        if (f6 == 26)
            continue;
        memcpy(fr, &f6, 4);
        expect(fr, 4 + l6, CT_LINK_NULL, CT_REASON_NONE);
        CHECK_EQ_U(P.tuple.l3, CT_L3_IPV6);
        put_be32(fr, f6);
        expect(fr, 4 + l6, CT_LINK_LOOP, CT_REASON_NONE);
    }
    put_be32(fr, 7);
    expect(fr, 4 + l6, CT_LINK_LOOP, CT_REASON_NOT_IP);
}

static void test_link_unsupported(void)
{
    size_t n = frame4_udp(1);
    expect(fr, n, 105 /* 802.11 */, CT_REASON_LINK_UNSUPPORTED);
    expect(fr, n, 9999, CT_REASON_LINK_UNSUPPORTED);
}

static void test_l2_truncated(void)
{
    size_t n = frame4_udp(1);
    expect(fr, 13, CT_LINK_ETHERNET, CT_REASON_L2_TRUNCATED);
    static const uint16_t tags[] = {0x8100, 1, 0x8100, 2};
    n = eth_frame(fr, tags, 2, 0x0800, ipb, 28);
    expect(fr, 19, CT_LINK_ETHERNET, CT_REASON_L2_TRUNCATED);
    memset(fr, 0, 20);
    expect(fr, 15, CT_LINK_LINUX_SLL, CT_REASON_L2_TRUNCATED);
    expect(fr, 19, CT_LINK_LINUX_SLL2, CT_REASON_L2_TRUNCATED);
    expect(fr, 3, CT_LINK_NULL, CT_REASON_L2_TRUNCATED);
    expect(fr, 0, CT_LINK_LOOP, CT_REASON_L2_TRUNCATED);
    (void)n;
}

static void test_not_ip(void)
{
    uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1};
    static const uint16_t types[] = {0x0806, 0x88cc, 0x0600, 0x002e, 0x88e5};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = eth_frame(fr, NULL, 0, types[i], arp, sizeof(arp));
        expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NOT_IP);
    }
    /* MPLS (unicast and multicast) whose payload after the bottom of the
       stack starts with neither 4 nor 6 (a pseudowire control word), and
       an MPLS stack that never ends. */
    uint8_t mpls[32] = {0x00, 0x01, 0xd1, 0x40, 0x00, 0x00, 0x00, 0x00};
    size_t n = eth_frame(fr, NULL, 0, 0x8847, mpls, sizeof(mpls));
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NOT_IP);
    CHECK_EQ_U(P.nmpls, 1);
    n = eth_frame(fr, NULL, 0, 0x8848, mpls, sizeof(mpls));
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NOT_IP);
    n = eth_frame(fr, NULL, 0, 0x8847, arp, sizeof(arp));
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_L2_TRUNCATED);
    /* PPPoE discovery, and a PPPoE session carrying LCP. */
    uint8_t lcp[16] = {0x11, 0x00, 0x12, 0x34, 0x00, 0x08, 0xc0, 0x21};
    n = eth_frame(fr, NULL, 0, 0x8863, lcp, sizeof(lcp));
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NOT_IP);
    n = eth_frame(fr, NULL, 0, 0x8864, lcp, sizeof(lcp));
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NOT_IP);
    uint32_t fam = 7;
    memcpy(fr, &fam, 4);
    expect(fr, 32, CT_LINK_NULL, CT_REASON_NOT_IP);
}

static void test_ip_truncated(void)
{
    size_t n = frame4_udp(1);
    expect(fr, 14 + 19, CT_LINK_ETHERNET, CT_REASON_IP_TRUNCATED);
    expect(fr, 14, CT_LINK_ETHERNET, CT_REASON_IP_TRUNCATED);
    expect(fr, 0, CT_LINK_RAW, CT_REASON_IP_TRUNCATED);
    size_t l = ip6_pkt(ipb, 59, 59, A6, B6, NULL, 0, (const uint8_t *)"pad", 3);
    expect(ipb, 39, CT_LINK_IPV6, CT_REASON_IP_TRUNCATED);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    /* Options inside the packet but cut by the capture. */
    uint8_t opt[8] = {1, 1, 1, 1, 1, 1, 1, 0};
    l = udp_seg(seg, 1, 2, 0);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), opt, 8, seg, l);
    CHECK_EQ_U(parse(ipb, 24, CT_LINK_IPV4, (uint32_t)l), CT_REASON_IP_TRUNCATED);
    (void)n;
}

static void test_ip_version(void)
{
    size_t l6 = ip6_pkt(ipb, 59, 59, A6, B6, NULL, 0, (const uint8_t *)"pad", 3);
    size_t n = eth_frame(fr, NULL, 0, 0x0800, ipb, l6);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_IP_VERSION);
    expect(ipb, l6, CT_LINK_IPV4, CT_REASON_IP_VERSION);
    uint32_t fam = 2;
    memcpy(fr, &fam, 4);
    memcpy(fr + 4, ipb, l6);
    expect(fr, 4 + l6, CT_LINK_NULL, CT_REASON_IP_VERSION);
    size_t l = udp_seg(seg, 1, 2, 0);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    n = eth_frame(fr, NULL, 0, 0x86dd, ipb, l);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_IP_VERSION);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_IP_VERSION);
    ipb[0] = 0x55;
    expect(ipb, l, CT_LINK_RAW, CT_REASON_IP_VERSION);
}

static void test_ip_hdr_len(void)
{
    size_t l = udp_seg(seg, 1, 2, 20);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    ipb[0] = 0x44;
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_IP_HDR_LEN);
    ipb[0] = 0x40;
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_IP_HDR_LEN);
    /* A header longer than the whole packet. */
    ipb[0] = 0x4f;
    ipv4_refresh_checksum(ipb);
    CHECK_EQ_U(parse(ipb, 56, CT_LINK_IPV4, 0), CT_REASON_IP_HDR_LEN);
}

static void test_ip_total_len(void)
{
    size_t l = udp_seg(seg, 1, 2, 4);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    put_be16(ipb + 2, 19);
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_IP_TOTAL_LEN);
    put_be16(ipb + 2, (uint16_t)(l + 1));
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_IP_TOTAL_LEN);
    /* Longer than the captured bytes but not than the wire: a snapped capture. */
    CHECK_EQ_U(parse(ipb, l, CT_LINK_IPV4, (uint32_t)l + 1), CT_REASON_NONE);
    CHECK_EQ_U(P.snapped, 1);

    size_t l6 = udp_seg(seg, 1, 2, 4);
    l6 = ip6_pkt(ipb, 17, 17, A6, B6, NULL, 0, seg, l6);
    put_be16(ipb + 4, (uint16_t)(l6 - 40 + 1));
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_IP_TOTAL_LEN);
    /* A zero payload length without a hop-by-hop header is an empty
       packet (Linux's ipv6_rcv()): UDP is then truncated, and "no next
       header" (a Teredo bubble) is a whole packet. */
    put_be16(ipb + 4, 0);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_L4_TRUNCATED);
    ipb[6] = 59;
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.ip_len, 40);
    CHECK_EQ_U(P.l4_len, 0);
    CHECK_EQ_U(P.tuple.proto, 59);
    /* With a hop-by-hop header, zero needs a jumbo option. */
    uint8_t hbh[8] = {59, 0, 1, 4, 0, 0, 0, 0};
    l6 = ip6_pkt(ipb, 0, 59, A6, B6, hbh, 8, NULL, 0);
    put_be16(ipb + 4, 0);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_IP_TOTAL_LEN);
}

static void test_ip_checksum(void)
{
    size_t l = udp_seg(seg, 1, 2, 4);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
    ipb[8] = 63; /* TTL changed, checksum not updated */
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_IP_CHECKSUM);
    ipb[8] = 64;
    ipb[10] ^= 0x01;
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_IP_CHECKSUM);
}

static size_t ip4_with_opts(const uint8_t *opt, size_t olen)
{
    size_t l = udp_seg(seg, 7, 8, 3);
    return ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), opt, olen, seg, l);
}

static void test_ip_options(void)
{
    /* Well-formed: NOP, record route (3 slots, pointer 4), router alert, EOL. */
    uint8_t good[24] = {1, 7, 15, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 148, 4, 0, 0, 0, 0, 0, 0};
    size_t l = ip4_with_opts(good, 24);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
    CHECK_EQ_U(P.l4_off, 44);
    CHECK_EQ_U(P.tuple.sport, 7);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    /* Timestamp option with pointer 5. */
    uint8_t ts[12] = {68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    l = ip4_with_opts(ts, 12);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);

    static const uint8_t bad[][8] = {
        {7, 1, 4, 0, 0, 0, 0, 0},   /* length below 2 */
        {130, 9, 0, 0, 0, 0, 0, 0}, /* past the header */
        {7, 7, 3, 0, 0, 0, 0, 0},   /* record route pointer below 4 */
        {68, 4, 4, 0, 0, 0, 0, 0},  /* timestamp pointer below 5 */
        {148, 3, 0, 1, 0, 0, 0, 0}, /* router alert not 4 bytes */
        {131, 3, 4, 137, 3, 4, 0, 0}, /* two source routes */
        {1, 1, 1, 1, 1, 1, 1, 130}, /* type without a length byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        l = ip4_with_opts(bad[i], 8);
        expect(ipb, l, CT_LINK_IPV4, CT_REASON_IP_OPTIONS);
    }
}

static void test_fragment4(void)
{
    size_t l = udp_seg(seg, 1, 2, 24);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    put_be16(ipb + 6, 0x2000); /* MF, offset 0; 32 bytes */
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_FRAGMENT);
    CHECK_EQ_U(P.frag, CT_FRAG_FIRST);
    CHECK_EQ_U(P.tuple.proto, 17);
    CHECK_EQ_U(ntohl(P.tuple.src.v4), IPV4_ADDR(1, 1, 1, 1));
    CHECK_EQ_U(P.tuple.sport, 0);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    put_be16(ipb + 6, 0x0010); /* last fragment at offset 128 */
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_FRAGMENT);
    CHECK_EQ_U(P.frag, CT_FRAG_LATER);
    CHECK_EQ_U(P.tuple.proto, 17);
    put_be16(ipb + 6, 0x4000); /* DF alone is not a fragment */
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
}

static void test_frag_invalid(void)
{
    size_t l = udp_seg(seg, 1, 2, 23); /* 31 bytes: not a multiple of 8 */
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    put_be16(ipb + 6, 0x2001);
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_FRAG_INVALID);
    put_be16(ipb + 6, 0x1fff); /* last fragment ending past 65535 */
    ipv4_refresh_checksum(ipb);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_FRAG_INVALID);

    uint8_t fh[8] = {17, 0, 0, 1, 0, 0, 0, 9}; /* M set, offset 0 */
    size_t l6 = ip6_pkt(ipb, 44, 17, A6, B6, fh, 8, seg, 31);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_FRAG_INVALID);
    put_be16(fh + 2, 0xfff8); /* offset 65528, last */
    l6 = ip6_pkt(ipb, 44, 17, A6, B6, fh, 8, seg, 31);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_FRAG_INVALID);
}

/* ---- IPv6 --------------------------------------------------------------------------- */

static void test_ipv6_tcp(void)
{
    uint8_t o[4] = {2, 4, 0x05, 0xa0};
    size_t l = tcp_seg(seg, 33000, 443, 7, 0, CT_TCP_SYN, 64800, o, 4, 0);
    l = ip6_pkt(ipb, 6, 6, A6, B6, NULL, 0, seg, l);
    size_t n = eth_frame(fr, NULL, 0, 0x86dd, ipb, l);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.l3, CT_L3_IPV6);
    CHECK(memcmp(P.tuple.src.b, A6, 16) == 0);
    CHECK(memcmp(P.tuple.dst.b, B6, 16) == 0);
    CHECK_EQ_U(P.tuple.sport, 33000);
    CHECK_EQ_U(P.tuple.dport, 443);
    CHECK_EQ_U(P.ip_len, 40 + 24);
    CHECK_EQ_U(P.l4_len, 24);
    CHECK_EQ_U(P.l4_off, 54);
    CHECK_EQ_U(P.tcp_mss, 1440);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
}

/* Hop-by-hop, destination options, routing, AH, mobility-free chain to UDP. */
static void test_ipv6_ext_chain(void)
{
    uint8_t ext[96];
    size_t e = 0;
    /* hop-by-hop: next DSTOPTS, 8 bytes: PadN(4) */
    const uint8_t hbh[8] = {60, 0, 1, 4, 0, 0, 0, 0};
    memcpy(ext + e, hbh, 8), e += 8;
    /* destination options: next ROUTING, 16 bytes: Pad1, PadN(11) */
    const uint8_t dst[16] = {43, 1, 0, 1, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(ext + e, dst, 16), e += 16;
    /* routing type 2, segments left 0, one address; next AH */
    uint8_t rh[24] = {51, 2, 2, 0, 0, 0, 0, 0};
    memcpy(rh + 8, C6, 16);
    memcpy(ext + e, rh, 24), e += 24;
    /* AH: payload length 4 -> (4 + 2) * 4 = 24 bytes; next UDP */
    uint8_t ah[24] = {17, 4, 0, 0, 0, 0, 1, 0};
    memcpy(ext + e, ah, 24), e += 24;
    size_t l = udp_seg(seg, 500, 4500, 9);
    l = ip6_pkt(ipb, 0, 17, A6, B6, ext, e, seg, l);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.proto, 17);
    CHECK_EQ_U(P.l4_off, 40 + 72);
    CHECK_EQ_U(P.tuple.sport, 500);
    CHECK_EQ_U(P.tuple.dport, 4500);
    CHECK_EQ_U(P.l4_len, 17);
    CHECK_EQ_U(P.ip_len, 40 + 72 + 17);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);

    /* Mobility, HIP and shim6 headers are walked like the others. */
    static const uint8_t walked[] = {135, 139, 140};
    for (size_t i = 0; i < 3; i++) {
        uint8_t x[8] = {6, 0, 0, 0, 0, 0, 0, 0};
        size_t lt = tcp_seg(seg, 1, 2, 3, 4, CT_TCP_ACK, 5, NULL, 0, 1);
        lt = ip6_pkt(ipb, walked[i], 6, A6, B6, x, 8, seg, lt);
        expect(ipb, lt, CT_LINK_IPV6, CT_REASON_NONE);
        CHECK_EQ_U(P.tuple.proto, 6);
        CHECK_EQ_U(P.l4_off, 48);
        CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    }
}

/* ESP and "no next header" end the chain and are tracked generically. */
static void test_ipv6_esp_none(void)
{
    uint8_t esp[16] = {0, 0, 1, 0, 0, 0, 0, 1, 9, 9, 9, 9, 9, 9, 9, 9};
    uint8_t dopt[8] = {50, 0, 1, 4, 0, 0, 0, 0};
    memcpy(seg, esp, 16);
    size_t l = ip6_pkt(ipb, 60, 50, A6, B6, dopt, 8, seg, 16);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.proto, 50);
    CHECK_EQ_U(P.tuple.sport, 0);
    CHECK_EQ_U(P.l4_off, 48);
    CHECK_EQ_U(P.payload_off, 48);
    CHECK_EQ_U(P.payload_len, 16);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    /* Bytes after "no next header" are ignored (RFC 8200 4.7). */
    l = ip6_pkt(ipb, 59, 59, A6, B6, NULL, 0, (const uint8_t *)"pad", 3);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.proto, 59);
    CHECK_EQ_U(P.l4_len, 3);
    /* A zero payload length without a hop-by-hop header is an empty packet
       (RFC 2675 gives zero a meaning only with a jumbo option). */
    l = ip6_pkt(ipb, 59, 59, A6, B6, NULL, 0, NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.l4_len, 0);
    /* GRE over IPv4: generic, ports 0. */
    memset(seg, 0, 8);
    put_be16(seg + 2, 0x0800);
    l = ip4_pkt(ipb, 47, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, 8);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.proto, 47);
    CHECK_EQ_U(P.tuple.sport, 0);
    CHECK_EQ_U(P.tuple.dport, 0);
    CHECK_EQ_U(P.payload_len, 8);
}

static void test_ip6_ext_hdr(void)
{
    /* Destination options header running past the payload. */
    uint8_t d[8] = {6, 1, 1, 4, 0, 0, 0, 0};
    size_t l = ip6_pkt(ipb, 60, 6, A6, B6, d, 8, NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_IP6_EXT_HDR);
    /* Hop-by-hop after another header (RFC 8200 4.1). */
    uint8_t two[16] = {0, 0, 1, 4, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0};
    l = ip6_pkt(ipb, 60, 59, A6, B6, two, 16, NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_IP6_EXT_HDR);
    /* An option overrunning its header. */
    uint8_t o[8] = {59, 0, 1, 5, 0, 0, 0, 0};
    l = ip6_pkt(ipb, 60, 59, A6, B6, o, 8, NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_IP6_EXT_HDR);
    /* A jumbo option with a non-zero payload length (RFC 2675). */
    uint8_t j[8] = {59, 0, 0xc2, 4, 0, 1, 0, 0};
    l = ip6_pkt(ipb, 0, 59, A6, B6, j, 8, NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_IP6_EXT_HDR);
    /* A jumbo option in a destination options header. */
    j[0] = 59;
    l = ip6_pkt(ipb, 60, 59, A6, B6, j, 8, NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_IP6_EXT_HDR);
}

static void test_ip6_ext_chain(void)
{
    uint8_t ext[17 * 8];
    for (int i = 0; i < 17; i++) {
        uint8_t h[8] = {60, 0, 1, 4, 0, 0, 0, 0};
        if (i == 16)
            h[0] = 59;
        memcpy(ext + 8 * i, h, 8);
    }
    size_t l = ip6_pkt(ipb, 60, 59, A6, B6, ext, sizeof(ext), NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_IP6_EXT_CHAIN);
    /* Sixteen headers are allowed. */
    ext[15 * 8] = 59;
    l = ip6_pkt(ipb, 60, 59, A6, B6, ext, 16 * 8, NULL, 0);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.l4_off, 40 + 128);
}

static void test_fragment6(void)
{
    uint8_t fh[8] = {17, 0, 0, 1, 0, 0, 0, 9}; /* first, M set */
    size_t l = udp_seg(seg, 1, 2, 24);
    size_t l6 = ip6_pkt(ipb, 44, 17, A6, B6, fh, 8, seg, l);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_FRAGMENT);
    CHECK_EQ_U(P.frag, CT_FRAG_FIRST);
    CHECK_EQ_U(P.tuple.proto, 17);
    CHECK(memcmp(P.tuple.dst.b, B6, 16) == 0);
    CHECK_EQ_U(P.tuple.sport, 0);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    /* RFC 7112: a first fragment must hold the upper-layer header. */
    l6 = ip6_pkt(ipb, 44, 17, A6, B6, fh, 8, seg, 0);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_FRAG_INVALID);
    uint8_t chain[16] = {60, 0, 0, 1, 0, 0, 0, 9, 6, 0, 1, 4, 0, 0, 0, 0};
    memset(seg, 0, 24);
    l6 = ip6_pkt(ipb, 44, 6, A6, B6, chain, 16, seg, 16); /* TCP header cut at 16 */
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_FRAG_INVALID);
    l6 = ip6_pkt(ipb, 44, 6, A6, B6, chain, 16, seg, 24);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_FRAGMENT);
    CHECK_EQ_U(P.tuple.proto, 60); /* the header after the fragment header */
    /* Snapped inside the chain: cannot tell, still a plain fragment. */
    CHECK_EQ_U(parse(ipb, 40 + 12, CT_LINK_IPV6, (uint32_t)l6), CT_REASON_FRAGMENT);
    l = udp_seg(seg, 1, 2, 24);
    put_be16(fh + 2, 0x0100); /* offset 256, last */
    l6 = ip6_pkt(ipb, 44, 17, A6, B6, fh, 8, seg, l);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_FRAGMENT);
    CHECK_EQ_U(P.frag, CT_FRAG_LATER);
    /* An atomic fragment (offset 0, M clear) is a whole packet (RFC 6946). */
    put_be16(fh + 2, 0);
    l6 = ip6_pkt(ipb, 44, 17, A6, B6, fh, 8, seg, l);
    expect(ipb, l6, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.frag, CT_FRAG_NONE);
    CHECK_EQ_U(P.tuple.sport, 1);
    CHECK_EQ_U(P.l4_off, 48);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
}

/* Jumbogram (RFC 2675): payload length 0 and a jumbo option. */
static void test_ipv6_jumbo(void)
{
    static uint8_t big[70000];
    size_t plen = 8 + 65600;
    memset(big, 0, 48);
    big[0] = 0x60;
    big[6] = 0;
    memcpy(big + 8, A6, 16);
    memcpy(big + 24, B6, 16);
    uint8_t hbh[8] = {59, 0, 0xc2, 4, 0, 0, 0, 0};
    put_be32(hbh + 4, (uint32_t)plen);
    memcpy(big + 40, hbh, 8);
    CHECK_EQ_U(parse(big, 40 + plen, CT_LINK_IPV6, 0), CT_REASON_NONE);
    CHECK_EQ_U(P.ip_len, 40 + plen);
    CHECK_EQ_U(P.l4_len, 65600);
    CHECK_EQ_U(P.tuple.proto, 59);
    CHECK_EQ_U(P.payload_len, 65535); /* saturated */
    CHECK_EQ_U(parse(big, 40 + plen - 1, CT_LINK_IPV6, 0), CT_REASON_IP_TOTAL_LEN);
    put_be32(big + 44, 65535); /* jumbo length must exceed 65535 */
    CHECK_EQ_U(parse(big, 40 + plen, CT_LINK_IPV6, 0), CT_REASON_IP6_EXT_HDR);
}

/* ---- transport errors --------------------------------------------------------------- */

static void test_l4_truncated(void)
{
    /* IP payload too short for each transport header. */
    memset(seg, 0, 32);
    size_t l = ip4_pkt(ipb, 6, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, 19);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_L4_TRUNCATED);
    l = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, 7);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_L4_TRUNCATED);
    l = ip4_pkt(ipb, 136, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, 7);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_L4_TRUNCATED);
    l = ip4_pkt(ipb, 1, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, 3);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_L4_TRUNCATED);
    seg[0] = 8; /* echo request needs 8 bytes */
    l = ip4_pkt(ipb, 1, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, 7);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_L4_TRUNCATED);
    seg[0] = 128;
    l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, 6);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_L4_TRUNCATED);
}

static void test_tcp_hdr_len(void)
{
    size_t l = tcp_seg(seg, 1, 2, 3, 4, CT_TCP_ACK, 5, NULL, 0, 8);
    seg[12] = 4 << 4;
    l = ip4_pkt(ipb, 6, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_TCP_HDR_LEN);
    l = tcp_seg(seg, 1, 2, 3, 4, CT_TCP_ACK, 5, NULL, 0, 8);
    seg[12] = 8 << 4; /* 32 bytes of header in a 28-byte segment */
    l = ip4_pkt(ipb, 6, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_TCP_HDR_LEN);
    /* Flags are not judged here: SYN+FIN+RST parses. */
    l = tcp_seg(seg, 1, 2, 3, 4, CT_TCP_SYN | CT_TCP_FIN | CT_TCP_RST, 5, NULL, 0, 0);
    l = ip4_pkt(ipb, 6, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
    CHECK_EQ_U(P.tcp_flags, 0x07);
}

static void test_udp_len(void)
{
    size_t l = udp_seg(seg, 1, 2, 10);
    put_be16(seg + 4, 7);
    size_t n = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, n, CT_LINK_IPV4, CT_REASON_UDP_LEN);
    l = udp_seg(seg, 1, 2, 10);
    put_be16(seg + 4, 19);
    n = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, n, CT_LINK_IPV4, CT_REASON_UDP_LEN);
    /* Shorter than the IP payload is accepted; the rest is not payload. */
    l = udp_seg(seg, 1, 2, 10);
    put_be16(seg + 4, 12);
    n = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, n, CT_LINK_IPV4, CT_REASON_NONE);
    CHECK_EQ_U(P.payload_len, 4);
    CHECK_EQ_U(P.l4_len, 18);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    /* UDP-Lite: coverage 0 (all) or 8..payload. */
    l = udp_seg(seg, 1, 2, 10);
    put_be16(seg + 4, 0);
    n = ip4_pkt(ipb, 136, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, n, CT_LINK_IPV4, CT_REASON_NONE);
    CHECK_EQ_U(P.payload_len, 10);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    put_be16(seg + 4, 4);
    n = ip4_pkt(ipb, 136, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, n, CT_LINK_IPV4, CT_REASON_UDP_LEN);
    put_be16(seg + 4, 19);
    n = ip4_pkt(ipb, 136, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, n, CT_LINK_IPV4, CT_REASON_UDP_LEN);
}

/* ---- ICMP --------------------------------------------------------------------------- */

static void test_icmp_queries(void)
{
    static const uint8_t q4[] = {8, 0, 13, 14, 15, 16, 17, 18};
    for (size_t i = 0; i < sizeof(q4); i++) {
        size_t l = icmp_seg(seg, q4[i], 0, 0x1234, 1, (const uint8_t *)"abcd", 4);
        l = ip4_pkt(ipb, 1, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
        expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
        CHECK_EQ_U(P.icmp_type, q4[i]);
        CHECK_EQ_U(P.tuple.sport, 0x1234);
        CHECK_EQ_U(P.tuple.dport, (unsigned)q4[i] << 8);
        CHECK_EQ_U(P.icmp_is_error, 0);
        CHECK_EQ_U(P.payload_off, 28);
        CHECK_EQ_U(P.payload_len, 4);
        CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    }
    static const uint8_t q6[] = {128, 129, 139, 140};
    for (size_t i = 0; i < sizeof(q6); i++) {
        size_t l = icmp_seg(seg, q6[i], 1, 77, 1, NULL, 0);
        l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, l);
        expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
        CHECK_EQ_U(P.tuple.sport, 77);
        CHECK_EQ_U(P.tuple.dport, (unsigned)q6[i] << 8 | 1);
        CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    }
    /* Another informational type: same layout; 4-byte message has id 0. */
    size_t l = icmp_seg(seg, 9, 0, 0x0102, 0, NULL, 0);
    l = ip4_pkt(ipb, 1, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV4, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.sport, 0x0102);
    CHECK_EQ_U(P.tuple.dport, 9 << 8);
    l = icmp_seg(seg, 135, 0, 0xffff, 0, NULL, 0);
    l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, 4);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.sport, 0);
    CHECK_EQ_U(P.tuple.dport, 135 << 8);
    /* ICMP in IPv6 (and ICMPv6 in IPv4) is just a protocol number. */
    l = icmp_seg(seg, 8, 0, 5, 0, NULL, 0);
    l = ip6_pkt(ipb, 1, 1, A6, B6, NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.tuple.sport, 0);
    CHECK_EQ_U(P.icmp_type, 0);
}

/* An ICMP error quoting the IPv4/UDP packet 10.0.0.2:5000 -> 10.0.0.9:53. */
static size_t icmp4_error(uint8_t type, const uint8_t *inner, size_t ilen)
{
    uint8_t body[600];
    memcpy(body, inner, ilen);
    size_t l = icmp_seg(seg, type, 3, 0, 0, body, ilen);
    l = ip4_pkt(ipb, 1, IPV4_ADDR(10, 0, 0, 9), IPV4_ADDR(10, 0, 0, 2), NULL, 0, seg, l);
    return eth_frame(fr, NULL, 0, 0x0800, ipb, l);
}

static uint8_t inner[600];

static size_t inner4_udp(void)
{
    uint8_t u[32];
    size_t l = udp_seg(u, 5000, 53, 20);
    return ip4_pkt(inner, 17, IPV4_ADDR(10, 0, 0, 2), IPV4_ADDR(10, 0, 0, 9), NULL, 0, u, l);
}

static void test_icmp_error(void)
{
    size_t il = inner4_udp();
    size_t n = icmp4_error(3, inner, 28); /* IP header + 8 bytes, as RFC 792 */
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.icmp_is_error, 1);
    CHECK_EQ_U(P.icmp_type, 3);
    CHECK_EQ_U(P.icmp_code, 3);
    CHECK_EQ_U(P.tuple.proto, 1);
    CHECK_EQ_U(P.tuple.sport, 0);
    CHECK_EQ_U(P.tuple.dport, 0);
    CHECK_EQ_U(P.inner_ok, 1);
    CHECK_EQ_U(P.inner_l3_off, 14 + 20 + 8);
    CHECK_EQ_U(P.inner_l4_off, 14 + 20 + 8 + 20);
    CHECK_EQ_U(P.inner.l3, CT_L3_IPV4);
    CHECK_EQ_U(P.inner.proto, 17);
    CHECK_EQ_U(ntohl(P.inner.src.v4), IPV4_ADDR(10, 0, 0, 2));
    CHECK_EQ_U(ntohl(P.inner.dst.v4), IPV4_ADDR(10, 0, 0, 9));
    CHECK_EQ_U(P.inner.sport, 5000);
    CHECK_EQ_U(P.inner.dport, 53);
    CHECK_EQ_U(P.inner.zone, 7);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    /* The whole quoted packet, time exceeded. */
    n = icmp4_error(11, inner, il);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.inner.sport, 5000);

    /* An error about an echo request: the inner tuple is the query's. */
    uint8_t e[16];
    size_t el = icmp_seg(e, 8, 0, 0x4242, 1, NULL, 0);
    il = ip4_pkt(inner, 1, IPV4_ADDR(10, 0, 0, 2), IPV4_ADDR(10, 0, 0, 9), NULL, 0, e, el);
    n = icmp4_error(3, inner, il);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.inner.proto, 1);
    CHECK_EQ_U(P.inner.sport, 0x4242);
    CHECK_EQ_U(P.inner.dport, 8 << 8);

    /* ICMPv6 packet too big quoting an IPv6/TCP packet with a dest-opts header. */
    uint8_t t[64], i6[256], d[8] = {6, 0, 1, 4, 0, 0, 0, 0};
    size_t tl = tcp_seg(t, 40000, 443, 1, 2, CT_TCP_ACK, 3, NULL, 0, 10);
    size_t i6l = ip6_pkt(i6, 60, 6, B6, C6, d, 8, t, tl);
    uint8_t body[300];
    memcpy(body, i6, i6l);
    size_t l = icmp_seg(seg, 2, 0, 0, 1280, body, i6l);
    l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, l);
    n = eth_frame(fr, NULL, 0, 0x86dd, ipb, l);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_NONE);
    CHECK_EQ_U(P.icmp_is_error, 1);
    CHECK_EQ_U(P.inner_ok, 1);
    CHECK_EQ_U(P.inner.l3, CT_L3_IPV6);
    CHECK_EQ_U(P.inner.proto, 6);
    CHECK(memcmp(P.inner.src.b, B6, 16) == 0);
    CHECK(memcmp(P.inner.dst.b, C6, 16) == 0);
    CHECK_EQ_U(P.inner.sport, 40000);
    CHECK_EQ_U(P.inner.dport, 443);
    CHECK_EQ_U(P.inner_l3_off, 14 + 48);
    CHECK_EQ_U(P.inner_l4_off, 14 + 48 + 48);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    /* The same error cut after 8 bytes of the inner TCP header. */
    l = icmp_seg(seg, 1, 4, 0, 0, body, 48 + 8);
    l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_NONE);
    CHECK_EQ_U(P.inner.dport, 443);
}

static void test_icmp_truncated(void)
{
    inner4_udp();
    size_t n = icmp4_error(3, inner, 27); /* 7 bytes of UDP */
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_ICMP_TRUNCATED);
    n = icmp4_error(3, inner, 19);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_ICMP_TRUNCATED);
    n = icmp4_error(11, inner, 0);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_ICMP_TRUNCATED);
    uint8_t i6[64], u[8];
    udp_seg(u, 5000, 53, 0);
    size_t l = ip6_pkt(i6, 17, 17, B6, C6, NULL, 0, u, 8);
    l = icmp_seg(seg, 3, 0, 0, 0, i6, 39);
    l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_ICMP_TRUNCATED);
}

static void test_icmp_nested(void)
{
    uint8_t e[64];
    size_t el = icmp_seg(e, 3, 1, 0, 0, NULL, 0);
    size_t il = ip4_pkt(inner, 1, IPV4_ADDR(10, 0, 0, 2), IPV4_ADDR(10, 0, 0, 9), NULL, 0, e, el);
    size_t n = icmp4_error(11, inner, il);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_ICMP_NESTED);
    uint8_t i6[64];
    el = icmp_seg(e, 1, 0, 0, 0, NULL, 0);
    size_t l = ip6_pkt(i6, 58, 58, B6, C6, NULL, 0, e, el);
    l = icmp_seg(seg, 3, 0, 0, 0, i6, l);
    l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_ICMP_NESTED);
}

static void test_icmp_inner_invalid(void)
{
    inner4_udp();
    inner[0] = 0x44; /* IHL 4 */
    size_t n = icmp4_error(3, inner, 28);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_ICMP_INNER_INVALID);
    inner4_udp();
    inner[0] = 0x65; /* IPv6 inside ICMPv4 */
    n = icmp4_error(3, inner, 28);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_ICMP_INNER_INVALID);
    inner4_udp();
    put_be16(inner + 6, 0x0004); /* a later fragment: no transport header */
    n = icmp4_error(3, inner, 28);
    expect(fr, n, CT_LINK_ETHERNET, CT_REASON_ICMP_INNER_INVALID);
    /* IPv6 inner with a malformed option. */
    uint8_t i6[64], u[8], d[8] = {17, 0, 1, 9, 0, 0, 0, 0};
    udp_seg(u, 5000, 53, 0);
    size_t l = ip6_pkt(i6, 60, 17, B6, C6, d, 8, u, 8);
    l = icmp_seg(seg, 3, 0, 0, 0, i6, l);
    l = ip6_pkt(ipb, 58, 58, A6, B6, NULL, 0, seg, l);
    expect(ipb, l, CT_LINK_IPV6, CT_REASON_ICMP_INNER_INVALID);
}

/* ---- checksums ------------------------------------------------------------------------ */

/* Builds each protocol over both families, checks that the correct
   checksum verifies and that a flipped byte in the covered data does not. */
static void csum_case(uint8_t proto, int v6, size_t plen)
{
    size_t l;
    switch (proto) {
    case 6: l = tcp_seg(seg, 1000, 2000, 1, 2, CT_TCP_ACK, 3, NULL, 0, plen); break;
    case 17: case 136: l = udp_seg(seg, 1000, 2000, plen); break;
    default:
        l = icmp_seg(seg, v6 ? 128 : 8, 0, 9, 1, NULL, 0);
        fill_payload(seg + 8, plen);
        l += plen;
        break;
    }
    if (proto == 136)
        put_be16(seg + 4, 0);
    size_t n = v6 ? ip6_pkt(ipb, proto, proto, A6, B6, NULL, 0, seg, l)
                  : ip4_pkt(ipb, proto, IPV4_ADDR(172, 16, 0, 1), IPV4_ADDR(172, 16, 9, 200), NULL,
                            0, seg, l);
    /* An odd number of VLAN tags puts the IP header at an odd 32-bit offset. */
    static const uint16_t tag[] = {0x8100, 5};
    size_t f = eth_frame(fr, tag, 1, v6 ? 0x86dd : 0x0800, ipb, n);
    CHECK_EQ_U(parse(fr, f, CT_LINK_ETHERNET, 0), CT_REASON_NONE);
    if (ct_pkt_verify_checksum(&P) != 1)
        CHECK_FAIL_("proto %u v6 %d len %zu: correct checksum rejected", proto, v6, plen);
    size_t at = P.l4_off + l - 1; /* last byte of the segment */
    fr[at] ^= 0x20;
    CHECK_EQ_U(parse(fr, f, CT_LINK_ETHERNET, 0), CT_REASON_NONE);
    if (ct_pkt_verify_checksum(&P) != 0)
        CHECK_FAIL_("proto %u v6 %d len %zu: corrupted checksum accepted", proto, v6, plen);
    fr[at] ^= 0x20;
    fr[P.l4_off + 1] ^= 0x01; /* a port / code byte */
    CHECK_EQ_U(parse(fr, f, CT_LINK_ETHERNET, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 0);
}

static void test_checksums(void)
{
    static const uint8_t protos[] = {6, 17, 136, 1, 58};
    static const size_t lens[] = {0, 1, 7, 8, 31, 32, 33, 100, 1001};
    for (size_t i = 0; i < sizeof(protos); i++)
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
            if (protos[i] != 1)
                csum_case(protos[i], protos[i] == 58 ? 1 : 0, lens[j]);
            if (protos[i] != 58)
                csum_case(protos[i], protos[i] == 1 ? 0 : 1, lens[j]);
        }
}

static void test_checksum_special(void)
{
    /* UDP checksum 0: not sent over IPv4 (fine), forbidden over IPv6. */
    size_t l = udp_seg(seg, 1, 2, 5);
    size_t n = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    put_be16(ipb + 20 + 6, 0);
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV4, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    n = ip6_pkt(ipb, 17, 17, A6, B6, NULL, 0, seg, l);
    put_be16(ipb + 40 + 6, 0);
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV6, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 0);

    /* UDP-Lite partial coverage: bytes past the coverage are not checked. */
    l = udp_seg(seg, 1, 2, 20);
    put_be16(seg + 4, 12);
    n = ip4_pkt(ipb, 136, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV4, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    ipb[n - 1] ^= 0xff;
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV4, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    ipb[20 + 9] ^= 0xff; /* inside the coverage */
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV4, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 0);
    /* UDP-Lite checksum 0 is never valid. */
    n = ip4_pkt(ipb, 136, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    put_be16(ipb + 20 + 6, 0);
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV4, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 0);

    /* IPv6 with a routing header still to be followed: the pseudo-header
       uses the final destination, the last address of the header. */
    uint8_t rh[40] = {6, 4, 0, 1, 0, 0, 0, 0};
    memcpy(rh + 8, B6, 16);
    memcpy(rh + 24, C6, 16);
    l = tcp_seg(seg, 1, 2, 3, 4, CT_TCP_ACK, 5, NULL, 0, 3);
    n = ip6_pkt(ipb, 43, 6, A6, B6, rh, 40, seg, l);
    ipv6_fill_transport_checksum(ipb, 80, 6, C6);
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV6, 0), CT_REASON_NONE);
    CHECK_EQ_U(P.l4_off, 80);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    ipv6_fill_transport_checksum(ipb, 80, 6,
                                 NULL); /* checksum over the current destination: wrong */
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV6, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 0);

    /* Fragments and snapped captures are not checkable. */
    l = udp_seg(seg, 1, 2, 200);
    n = ip4_pkt(ipb, 17, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), NULL, 0, seg, l);
    ipb[n - 1] ^= 1;
    CHECK_EQ_U(parse(ipb, 60, CT_LINK_IPV4, (uint32_t)n), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
    CHECK_EQ_U(parse(ipb, n, CT_LINK_IPV4, 0), CT_REASON_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 0);
    /* A packet that did not parse is not checked either. */
    CHECK_EQ_U(parse(ipb, 10, CT_LINK_IPV4, 0), CT_REASON_IP_TRUNCATED);
    CHECK_EQ_U(ct_pkt_verify_checksum(&P), 1);
}

/* The fast sum against the byte-wise reference: every length up to 300
   at every start alignment, split into two calls at an even offset. */
static void test_csum_fast_vs_reference(void)
{
    static uint8_t buf[320 + 8];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    memset(buf + 100, 0xff, 64); /* long runs of ones exercise the carries */
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= 300; n++) {
            const uint8_t *p = buf + align;
            uint16_t want = inet_fold(inet_sum(0, p, n));
            uint16_t got = (uint16_t)~ct_csum_fold(ct_csum_add(0, p, (uint32_t)n));
            /* The library sums native words: compare in network order. */
            uint16_t got_be = ntohs(got);
            if (got_be != want) {
                CHECK_FAIL_("align %zu len %zu: %04x != %04x", align, n, got_be, want);
                return;
            }
            size_t half = (n / 2) & ~(size_t)1;
            uint64_t s2 =
                ct_csum_add(ct_csum_add(0, p, (uint32_t)half), p + half, (uint32_t)(n - half));
            CHECK_EQ_U(ntohs((uint16_t)~ct_csum_fold(s2)), want);
        }
    }
    /* ct_csum_add_be32() adds a big-endian field. */
    uint8_t f[4] = {0x12, 0x34, 0xab, 0xcd};
    CHECK_EQ_U(ct_csum_fold(ct_csum_add_be32(0, 0x1234abcdu)), ct_csum_fold(ct_csum_add(0, f, 4)));
}

/* Random bytes after valid link headers never crash and always get a reason
   or a descriptor inside the frame. */
static void test_random_frames(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const uint16_t links[] = {CT_LINK_ETHERNET, CT_LINK_RAW, CT_LINK_IPV4, CT_LINK_IPV6,
                                     CT_LINK_LINUX_SLL2};
    for (int i = 0; i < 3000; i++) {
        size_t n = 0;
        uint16_t link = links[i % 5];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = 20 + (size_t)(x % 140);
        uint8_t *b = malloc(len);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[k] = (uint8_t)x;
        }
        /* Bias towards plausible headers so the deep paths run. */
        size_t l3 = link == CT_LINK_ETHERNET ? 14 : link == CT_LINK_LINUX_SLL2 ? 20 : 0;
        int v6 = (i / 5) & 1;
        if (l3) {
            put_be16(b + (link == CT_LINK_ETHERNET ? 12 : 0), v6 ? 0x86dd : 0x0800);
        }
        if (!v6 && len >= l3 + 20) {
            b[l3] = 0x45;
            put_be16(b + l3 + 2, (uint16_t)(len - l3));
            put_be16(b + l3 + 6, 0);
            b[l3 + 9] = (uint8_t)((int[]){1, 6, 17, 136, 47})[(i / 10) % 5];
            ipv4_refresh_checksum(b + l3);
        } else if (v6 && len >= l3 + 40) {
            b[l3] = 0x60;
            put_be16(b + l3 + 4, (uint16_t)(len - l3 - 40));
            b[l3 + 6] = (uint8_t)((int[]){58, 6, 17, 0, 60, 43, 44, 51})[(i / 10) % 8];
        }
        parse(b, len, link, 0);
        CHECK(P.reason < CT_REASON_COUNT);
        if (P.reason == CT_REASON_NONE) {
            check_bounds(&P, len);
            n++;
        }
        (void)ct_pkt_verify_checksum(&P);
        free(b);
        (void)n;
    }
}

/* The frames above that the fast path takes (plain Ethernet, IPv4 or IPv6,
   TCP or UDP, and every prefix of them that still parses) did go through
   it: the comparisons in parse() were not all of declined frames. */
static void test_fast_path_taken(void)
{
    CHECK(FRAMES_SEEN > 10000);
    CHECK(FAST_TAKEN > 100);
    /* The first frame of test_eth_ipv4_tcp(), as the fast path sees it. */
    uint8_t o[24] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0};
    size_t n = frame4_tcp(o, 24, 5);
    struct ct_frame frame = {.data = fr, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    struct ct_pkt g;
    long at;
    CHECK_EQ_I(parse_paths_compare(&frame, 0, &g, &at), PARSEPATHS_FAST);
    CHECK_EQ_U(g.tcp_opts,
               CT_TCPOPT_MSS | CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM | CT_TCPOPT_TIMESTAMP);
    printf("fast path took %lu of %lu frames\n", FAST_TAKEN, FRAMES_SEEN);
}

int main(void)
{
    RUN(test_eth_ipv4_tcp);
    RUN(test_tcp_options);
    RUN(test_eth_ipv4_udp);
    RUN(test_ethernet_padding);
    RUN(test_snapped);
    RUN(test_vlan_stacks);
    RUN(test_vlan_too_deep);
    RUN(test_link_types);
    RUN(test_link_unsupported);
    RUN(test_l2_truncated);
    RUN(test_not_ip);
    RUN(test_ip_truncated);
    RUN(test_ip_version);
    RUN(test_ip_hdr_len);
    RUN(test_ip_total_len);
    RUN(test_ip_checksum);
    RUN(test_ip_options);
    RUN(test_fragment4);
    RUN(test_frag_invalid);
    RUN(test_ipv6_tcp);
    RUN(test_ipv6_ext_chain);
    RUN(test_ipv6_esp_none);
    RUN(test_ip6_ext_hdr);
    RUN(test_ip6_ext_chain);
    RUN(test_fragment6);
    RUN(test_ipv6_jumbo);
    RUN(test_l4_truncated);
    RUN(test_tcp_hdr_len);
    RUN(test_udp_len);
    RUN(test_icmp_queries);
    RUN(test_icmp_error);
    RUN(test_icmp_truncated);
    RUN(test_icmp_nested);
    RUN(test_icmp_inner_invalid);
    RUN(test_checksums);
    RUN(test_checksum_special);
    RUN(test_csum_fast_vs_reference);
    RUN(test_random_frames);
    RUN(test_fast_path_taken);
    return check_summary();
}
