/*
 * Packet rewriting (src/packet/rewrite.c): field offsets, in-place address
 * and port rewrites with incremental checksums (RFC 1624), ICMP error
 * translation, and the writable burst entry point (src/path/process.c).
 *
 * The main test builds many random frames (TCP, UDP, UDP without checksum,
 * UDP-Lite, ICMP and ICMPv6 echo, ICMP and ICMPv6 errors quoting TCP, UDP,
 * UDP without checksum or an echo request, cut at random lengths; IPv4 and
 * IPv6; with and without a VLAN tag), rewrites a random set of their
 * addresses and ports in a random order, and checks that the frame is then
 * byte for byte the frame built from scratch with the new values, that the
 * library's checks pass on it (the parser's IPv4 header checksum and
 * ct_pkt_verify_checksum()), and that the rewritten descriptor is the one
 * parsing the new frame gives.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/table.h"
#include "support/frames.h"

/* ---- random numbers (xorshift64*, fixed seed: runs are repeatable) --------------------- */

static uint64_t RNG = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    RNG ^= RNG >> 12;
    RNG ^= RNG << 25;
    RNG ^= RNG >> 27;
    return (uint32_t)((RNG * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
    return rnd() % n;
}

/* ---- frames from scratch ------------------------------------------------------------ */

/* What a frame is made of. */
enum kind {
    K_TCP = 0,
    K_UDP,
    K_UDP0,    /* UDP without checksum (0) */
    K_UDPLITE,
    K_ECHO,    /* ICMP / ICMPv6 echo request */
    K_ERROR,   /* ICMP / ICMPv6 error quoting a packet of kind `inner` */
    K_COUNT,
};

struct spec {
    int v6;
    int ntag;
    int kind;
    union ct_addr src, dst;
    uint16_t sport, dport;   /* ports; echo: sport is the identifier */
    size_t plen;             /* transport payload (of the quoted packet for an error) */
    /* K_ERROR: the quoted packet, and how many of its transport bytes are quoted */
    int inner;               /* K_TCP, K_UDP, K_UDP0 or K_ECHO */
    union ct_addr isrc, idst;
    uint16_t isport, idport;
    size_t quote;
};

static uint8_t proto_of(const struct spec *s, int kind)
{
    switch (kind) {
    case K_TCP:
        return 6;
    case K_UDP:
    case K_UDP0:
        return 17;
    case K_UDPLITE:
        return 136;
    default:
        return s->v6 ? 58 : 1;
    }
}

/*
 * An IP packet of `kind` from src to dst with the given ports, transport
 * checksum filled in (but for K_UDP0), into `o`; returns its length. `pl`
 * is the transport payload.
 */
static size_t ip_packet(uint8_t *o, int v6, int kind, uint8_t proto, const union ct_addr *src,
                        const union ct_addr *dst, uint16_t sport, uint16_t dport, const uint8_t *pl,
                        size_t plen)
{
    uint8_t l4[1600];
    size_t l;
    switch (kind) {
    case K_TCP:
        l = tcp_header(l4, sport, dport, 0x11223344, 0x55667788, CT_TCP_ACK | CT_TCP_PSH, 1000,
                       NULL, 0);
        break;
    case K_UDP:
    case K_UDP0:
    case K_UDPLITE:
        l = udp_header(l4, sport, dport, plen);
        break;
    case K_ECHO:
        l = icmp_header(l4, v6 ? 128 : 8, 0, sport, 7);
        break;
    default: /* K_ERROR: destination unreachable, port unreachable */
        l = icmp_header(l4, v6 ? 1 : 3, v6 ? 4 : 3, 0, 0);
        break;
    }
    memcpy(l4 + l, pl, plen);
    l += plen;
    size_t n;
    if (!v6) {
        n = ipv4_packet(o, proto, get_be32(src->b), get_be32(dst->b), 0x4242, l4, l);
        if (kind != K_UDP0)
            ipv4_fill_transport_checksum(o);
    } else {
        n = ipv6_packet(o, proto, src->b, dst->b, l4, l);
        if (kind != K_UDP0)
            ipv6_fill_transport_checksum(o, 40, proto, NULL);
    }
    return n;
}

/* The Ethernet frame of a spec, into `o`; returns its length. */
static size_t build(const struct spec *s, uint8_t *o)
{
    uint8_t pl[1600], ip[1700];
    size_t plen;
    for (size_t i = 0; i < s->plen; i++)
        pl[i] = (uint8_t)(i * 29 + 5);
    plen = s->plen;
    if (s->kind == K_ERROR) {
        /* The quoted packet in full, then as much of it as is quoted. */
        uint8_t full[1700];
        size_t n = ip_packet(full, s->v6, s->inner, proto_of(s, s->inner), &s->isrc, &s->idst,
                             s->isport, s->idport, pl, plen);
        size_t hl = s->v6 ? 40 : 20;
        size_t q = hl + s->quote < n ? hl + s->quote : n;
        memcpy(pl, full, q);
        plen = q;
    }
    size_t n = ip_packet(ip, s->v6, s->kind, proto_of(s, s->kind), &s->src, &s->dst, s->sport,
                         s->dport, pl, plen);
    static const uint16_t tag[] = {0x8100, 0x0123};
    return eth_frame(o, tag, s->ntag, s->v6 ? 0x86dd : 0x0800, ip, n);
}

static void rnd_addr(union ct_addr *a, int v6)
{
    memset(a, 0, sizeof(*a));
    for (unsigned i = 0; i < (v6 ? 16u : 4u); i++)
        a->b[i] = (uint8_t)rnd();
}

/* A port no UDP tunnel decoder claims (VXLAN, Geneve, Teredo, GTP-U). */
static uint16_t rnd_port(void)
{
    for (;;) {
        uint16_t p = (uint16_t)(1 + rnd_below(65535));
        if (p != 4789 && p != 6081 && p != 3544 && p != 2152)
            return p;
    }
}

static void rnd_spec(struct spec *s)
{
    memset(s, 0, sizeof(*s));
    s->v6 = (int)rnd_below(2);
    s->ntag = (int)rnd_below(2);
    s->kind = (int)rnd_below(K_COUNT);
    rnd_addr(&s->src, s->v6);
    rnd_addr(&s->dst, s->v6);
    s->sport = rnd_port();
    s->dport = rnd_port();
    s->plen = rnd_below(4) == 0 ? 0 : rnd_below(300);
    if (s->kind == K_ERROR) {
        static const int inner[] = {K_TCP, K_UDP, K_UDP0, K_ECHO};
        s->inner = inner[rnd_below(4)];
        s->sport = 0;
        s->dport = 0;
        rnd_addr(&s->isrc, s->v6);
        rnd_addr(&s->idst, s->v6);
        s->isport = rnd_port();
        s->idport = rnd_port();
        /* 8 bytes (what RFC 792 asks), up to the TCP checksum (bytes
           16-17), the whole TCP header, odd lengths, or everything. A
           quote of 17 to 19 bytes is left out: the quoted TCP checksum is
           then left as it was (Linux's NAT updates it only with the whole
           20-byte header quoted), so no rewrite can match a frame built
           from the whole packet. */
        static const size_t quotes[] = {8, 12, 15, 16, 20, 21, 23, 28, 2000};
        s->quote = quotes[rnd_below(9)];
    }
}

/* ---- the random round trip ------------------------------------------------------------ */

/* The descriptor of a writable frame. */
static void parse_rw(uint8_t *f, size_t n, struct ct_pkt *p)
{
    const struct ct_frame_rw fr = {.data = f, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    ct_pkt_parse_rw(&fr, p, 0);
}

/* 1 if the library's checksum checks pass on a descriptor (the parser has
   checked the IPv4 header's). IPv6 forbids a UDP checksum of 0. */
static int valid(const struct ct_pkt *p, const struct spec *s)
{
    if (p->reason != CT_REASON_NONE)
        return 0;
    if (s->v6 && s->kind == K_UDP0)
        return ct_pkt_verify_checksum(p) == 0;
    return ct_pkt_verify_checksum(p) == 1;
}

static uint8_t FA[2048], FB[2048];

/* Changes spec `to` and the parsed frame the same way, one field at a time. */
static int rewrite_one(struct ct_pkt *p, struct spec *to, unsigned field)
{
    union ct_addr a;
    uint16_t port = rnd_port();
    rnd_addr(&a, to->v6);
    switch (field) {
    case 0:
        to->src = a;
        return ct_pkt_rewrite_addr(p, CT_PKT_SRC, &a);
    case 1:
        to->dst = a;
        return ct_pkt_rewrite_addr(p, CT_PKT_DST, &a);
    case 2:
        to->sport = port;
        return ct_pkt_rewrite_port(p, CT_PKT_SRC, port);
    case 3:
        to->dport = port;
        return ct_pkt_rewrite_port(p, CT_PKT_DST, port);
    case 4:
        to->isrc = a;
        return ct_pkt_rewrite_inner_addr(p, CT_PKT_SRC, &a);
    case 5:
        to->idst = a;
        return ct_pkt_rewrite_inner_addr(p, CT_PKT_DST, &a);
    case 6:
        to->isport = port;
        return ct_pkt_rewrite_inner_port(p, CT_PKT_SRC, port);
    default:
        to->idport = port;
        return ct_pkt_rewrite_inner_port(p, CT_PKT_DST, port);
    }
}

/* The fields of a spec that a rewrite may change (rewrite_one() numbers). */
static unsigned fields_of(const struct spec *s, unsigned *out)
{
    unsigned n = 0;
    out[n++] = 0;
    out[n++] = 1;
    if (s->kind == K_ECHO) {
        out[n++] = 2;
    } else if (s->kind == K_ERROR) {
        out[n++] = 4;
        out[n++] = 5;
        out[n++] = 6;
        if (s->inner != K_ECHO)
            out[n++] = 7;
    } else {
        out[n++] = 2;
        out[n++] = 3;
    }
    return n;
}

static unsigned long ROUNDS, CHANGES, QUOTED_TCP_CSUM;

static void round_trip(void)
{
    struct spec s, to;
    rnd_spec(&s);
    size_t n = build(&s, FA);
    struct ct_pkt p, q;
    parse_rw(FA, n, &p);
    if (!valid(&p, &s)) {
        CHECK_FAIL_("round %lu: the frame as built (kind %d, v6 %d) does not check: %s", ROUNDS,
                    s.kind, s.v6, ct_reason_name(p.reason));
        return;
    }
    if (s.kind == K_ERROR && s.inner == K_TCP &&
        ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_L4_CSUM) >= 0)
        QUOTED_TCP_CSUM++;
    to = s;
    unsigned fields[8], nf = fields_of(&s, fields);
    /* A random subset in a random order, each field possibly twice. */
    unsigned changes = 1 + rnd_below(2 * nf);
    for (unsigned i = 0; i < changes; i++) {
        unsigned f = fields[rnd_below(nf)];
        int r = rewrite_one(&p, &to, f);
        if (r != 0) {
            CHECK_FAIL_("round %lu: rewrite of field %u (kind %d inner %d, v6 %d) gave %d", ROUNDS,
                        f, s.kind, s.inner, s.v6, r);
            return;
        }
        CHANGES++;
    }
    size_t m = build(&to, FB);
    CHECK_EQ_U(m, n);
    if (m != n || memcmp(FA, FB, n) != 0) {
        size_t at = 0;
        while (at < n && FA[at] == FB[at])
            at++;
        CHECK_FAIL_("round %lu (kind %d inner %d, v6 %d, quote %zu): frames differ at byte %zu",
                    ROUNDS, s.kind, s.inner, s.v6, s.quote, at);
        return;
    }
    parse_rw(FB, m, &q);
    CHECK(valid(&q, &to));
    /* The descriptor the rewrites left is the one the new frame parses to. */
    q.data = p.data;
    CHECK(memcmp(&p, &q, sizeof(p)) == 0);
    ROUNDS++;
}

static void test_random_round_trips(void)
{
    for (unsigned i = 0; i < 20000 && check_failures_ == 0; i++)
        round_trip();
    printf("%lu frames rewritten, %lu changes, %lu with a quoted TCP checksum\n", ROUNDS, CHANGES,
           QUOTED_TCP_CSUM);
    CHECK(ROUNDS >= 20000);
    CHECK(QUOTED_TCP_CSUM > 100);
}

/* ---- hand-picked cases ------------------------------------------------------------------ */

/* A fixed spec of `kind`, IPv4 or IPv6, without a tag. */
static void fixed_spec(struct spec *s, int v6, int kind, int inner)
{
    memset(s, 0, sizeof(*s));
    s->v6 = v6;
    s->kind = kind;
    for (unsigned i = 0; i < (v6 ? 16u : 4u); i++) {
        s->src.b[i] = (uint8_t)(10 + i);
        s->dst.b[i] = (uint8_t)(100 + i);
        s->isrc.b[i] = (uint8_t)(100 + i);
        s->idst.b[i] = (uint8_t)(200 + i);
    }
    s->sport = kind == K_ERROR ? 0 : 1234;
    s->dport = kind == K_ERROR ? 0 : 80;
    s->plen = 20;
    s->inner = inner;
    s->isport = 1234;
    s->idport = 80;
    s->quote = 8;
}

/* Offsets computed from the headers, for each family and kind. */
static void test_field_offsets(void)
{
    struct spec s;
    struct ct_pkt p;
    /* IPv4 TCP behind Ethernet: IP header at 14, TCP at 34. */
    fixed_spec(&s, 0, K_TCP, 0);
    size_t n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_SRC_ADDR), 26);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_DST_ADDR), 30);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_IP_CSUM), 24);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_SRC_PORT), 34);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_DST_PORT), 36);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_L4_CSUM), 50);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_SRC_ADDR), -ENOENT);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_COUNT), -EINVAL);
    CHECK_EQ_I(ct_pkt_field_off(NULL, CT_PKT_FIELD_SRC_ADDR), -EINVAL);
    /* IPv6 UDP: no header checksum; UDP's at 54 + 6. */
    fixed_spec(&s, 1, K_UDP, 0);
    n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_SRC_ADDR), 22);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_DST_ADDR), 38);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_IP_CSUM), -ENOENT);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_L4_CSUM), 60);
    /* ICMP echo: the identifier is the source "port"; no destination. */
    fixed_spec(&s, 0, K_ECHO, 0);
    n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_SRC_PORT), 38);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_DST_PORT), -ENOENT);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_L4_CSUM), 36);
    /* An ICMP error quoting 8 bytes of TCP: ICMP at 34, the quoted IP
       header at 42, its TCP header at 62; no identifier outside, and the
       quoted TCP checksum is not in the quote. */
    fixed_spec(&s, 0, K_ERROR, K_TCP);
    n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_U(p.reason, CT_REASON_NONE);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_SRC_PORT), -ENOENT);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_L4_CSUM), 36);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_SRC_ADDR), 54);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_DST_ADDR), 58);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_IP_CSUM), 52);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_SRC_PORT), 62);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_DST_PORT), 64);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_L4_CSUM), -ENOENT);
    s.quote = 20;
    n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_INNER_L4_CSUM), 78);
    /* A fragment has no fields. */
    fixed_spec(&s, 0, K_UDP, 0);
    n = build(&s, FA);
    ipv4_set_frag(FA + 14, 0x0001);
    parse_rw(FA, n, &p);
    CHECK_EQ_U(p.reason, CT_REASON_FRAGMENT);
    CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_SRC_ADDR), -ENOENT);
}

/* What the rewrite calls refuse, leaving the frame as it was. */
static void test_refusals(void)
{
    struct spec s;
    struct ct_pkt p;
    union ct_addr a;
    memset(&a, 7, sizeof(a));
    fixed_spec(&s, 0, K_TCP, 0);
    size_t n = build(&s, FA);
    memcpy(FB, FA, n);
    /* A read-only frame's descriptor is never written through. */
    struct ct_frame ro = {.data = FA, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    ct_pkt_parse(&ro, &p);
    CHECK_EQ_U(p.writable, 0);
    CHECK_EQ_I(ct_pkt_rewrite_addr(&p, CT_PKT_SRC, &a), -EROFS);
    CHECK_EQ_I(ct_pkt_rewrite_port(&p, CT_PKT_DST, 9), -EROFS);
    CHECK_EQ_I(ct_pkt_rewrite_inner_addr(&p, CT_PKT_SRC, &a), -EROFS);
    CHECK_EQ_I(ct_pkt_rewrite_inner_port(&p, CT_PKT_SRC, 9), -EROFS);
    /* Bad arguments. */
    parse_rw(FA, n, &p);
    CHECK_EQ_U(p.writable, 1);
    CHECK_EQ_I(ct_pkt_rewrite_addr(&p, 2, &a), -EINVAL);
    CHECK_EQ_I(ct_pkt_rewrite_addr(&p, CT_PKT_SRC, NULL), -EINVAL);
    CHECK_EQ_I(ct_pkt_rewrite_addr(NULL, CT_PKT_SRC, &a), -EINVAL);
    CHECK_EQ_I(ct_pkt_rewrite_port(NULL, CT_PKT_SRC, 1), -EINVAL);
    CHECK_EQ_I(ct_pkt_rewrite_port(&p, 5, 1), -EINVAL);
    /* Not an ICMP error. */
    CHECK_EQ_I(ct_pkt_rewrite_inner_addr(&p, CT_PKT_SRC, &a), -ENOENT);
    CHECK_EQ_I(ct_pkt_rewrite_inner_port(&p, CT_PKT_DST, 1), -ENOENT);
    CHECK(memcmp(FA, FB, n) == 0);
    /* An echo has no destination "port"; an error no identifier. */
    fixed_spec(&s, 1, K_ECHO, 0);
    n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_I(ct_pkt_rewrite_port(&p, CT_PKT_DST, 1), -ENOENT);
    fixed_spec(&s, 1, K_ERROR, K_ECHO);
    n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_I(ct_pkt_rewrite_port(&p, CT_PKT_SRC, 1), -ENOENT);
    CHECK_EQ_I(ct_pkt_rewrite_inner_port(&p, CT_PKT_DST, 1), -ENOENT);
    /* A packet that did not parse. */
    fixed_spec(&s, 0, K_UDP, 0);
    n = build(&s, FA);
    parse_rw(FA, n - 1 - 20, &p);
    CHECK(p.reason != CT_REASON_NONE);
    CHECK_EQ_I(ct_pkt_rewrite_addr(&p, CT_PKT_SRC, &a), -ENOENT);
    /* SCTP ports (CRC32c) and GRE (no ports). */
    {
        uint8_t sctp[12 + 16] = {0x04, 0xd2, 0x00, 0x50};
        size_t m = ipv4_packet(FB, 132, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, sctp,
                               sizeof(sctp));
        n = eth_frame(FA, NULL, 0, 0x0800, FB, m);
        parse_rw(FA, n, &p);
        CHECK_EQ_U(p.reason, CT_REASON_NONE);
        CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_SRC_PORT), 34);
        /* A port change computes the CRC32c again over the packet. */
        struct ct_pkt sq;
        memcpy(FB, FA, n);
        parse_rw(FB, n, &sq);
        CHECK_EQ_I(ct_pkt_rewrite_port(&sq, CT_PKT_SRC, 1), 0);
        CHECK_EQ_U(FB[34], 0);
        CHECK_EQ_U(FB[35], 1);
        parse_rw(FB, n, &sq);
        CHECK_EQ_I(ct_pkt_verify_checksum(&sq), 1);
        /* ... which takes the whole packet. */
        const struct ct_frame_rw cut = {
            .data = FB, .len = (uint32_t)n - 4, .wire_len = (uint32_t)n, .link = CT_LINK_ETHERNET};
        ct_pkt_parse_rw(&cut, &sq, 0);
        CHECK_EQ_U(sq.reason, CT_REASON_NONE);
        CHECK_EQ_I(ct_pkt_rewrite_port(&sq, CT_PKT_SRC, 2), -ENOENT);
        CHECK_EQ_I(ct_pkt_field_off(&p, CT_PKT_FIELD_L4_CSUM), -ENOENT);
        /* Its addresses are not covered by the CRC: only the IP header
           checksum changes. */
        memcpy(FB, FA, n);
        CHECK_EQ_I(ct_pkt_rewrite_addr(&p, CT_PKT_DST, &a), 0);
        struct ct_pkt q;
        parse_rw(FA, n, &q);
        CHECK_EQ_U(q.reason, CT_REASON_NONE);
        CHECK(memcmp(FA + 34, FB + 34, n - 34) == 0);
        uint8_t gre[4] = {0, 0, 0x08, 0x00};
        m = ipv4_packet(FB, 47, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, gre,
                        sizeof(gre));
        n = eth_frame(FA, NULL, 0, 0x0800, FB, m);
        parse_rw(FA, n, &p);
        CHECK_EQ_I(ct_pkt_rewrite_port(&p, CT_PKT_SRC, 1), -ENOENT);
    }
    /* An ICMP error quoting SCTP: its addresses are rewritten (the CRC32c
       does not cover them), its ports are refused. */
    {
        uint8_t inner[20 + 12], msg[8 + sizeof(inner)];
        uint8_t sctp[12] = {0x04, 0xd2, 0x00, 0x50};
        size_t m = ipv4_packet(inner, 132, IPV4_ADDR(10, 0, 0, 2), IPV4_ADDR(10, 0, 0, 9), 1, sctp,
                               sizeof(sctp));
        size_t l = icmp_header(msg, 3, 3, 0, 0);
        memcpy(msg + l, inner, m);
        m = ipv4_packet(FB, 1, IPV4_ADDR(10, 0, 0, 7), IPV4_ADDR(10, 0, 0, 2), 1, msg, l + m);
        ipv4_fill_transport_checksum(FB);
        n = eth_frame(FA, NULL, 0, 0x0800, FB, m);
        parse_rw(FA, n, &p);
        CHECK_EQ_U(p.reason, CT_REASON_NONE);
        CHECK_EQ_U(p.inner_ok, 1);
        CHECK_EQ_I(ct_pkt_rewrite_inner_port(&p, CT_PKT_SRC, 1), -ENOTSUP);
        CHECK_EQ_I(ct_pkt_rewrite_inner_addr(&p, CT_PKT_SRC, &a), 0);
        struct ct_pkt q;
        parse_rw(FA, n, &q);
        CHECK_EQ_U(q.reason, CT_REASON_NONE);
        CHECK_EQ_I(ct_pkt_verify_checksum(&q), 1);
        CHECK(memcmp(&q.inner, &p.inner, sizeof(q.inner)) == 0);
        CHECK(memcmp(q.inner.src.b, a.b, 4) == 0);
    }
    /* IPv6 with an extension header: a routing header would name another
       pseudo-header destination, so the destination is refused. */
    {
        uint8_t ext[8 + 20] = {6, 0, 1, 4, 0, 0, 0, 0}; /* destination options, PadN */
        static const uint8_t A6[16] = IPV6_DOC_ADDR(1), B6[16] = IPV6_DOC_ADDR(2);
        size_t l = tcp_header(ext + 8, 1, 2, 3, 4, CT_TCP_SYN, 5, NULL, 0);
        size_t m = ipv6_packet(FB, 60, A6, B6, ext, 8 + l);
        ipv6_fill_transport_checksum(FB, 48, 6, NULL);
        n = eth_frame(FA, NULL, 0, 0x86dd, FB, m);
        parse_rw(FA, n, &p);
        CHECK_EQ_U(p.reason, CT_REASON_NONE);
        CHECK_EQ_I(ct_pkt_rewrite_addr(&p, CT_PKT_DST, &a), -ENOTSUP);
        CHECK_EQ_I(ct_pkt_rewrite_addr(&p, CT_PKT_SRC, &a), 0);
        struct ct_pkt q;
        parse_rw(FA, n, &q);
        CHECK_EQ_I(ct_pkt_verify_checksum(&q), 1);
    }
}

/* A UDP checksum of 0 stays 0, in IPv4 and in a quoted packet; a computed
   0 is sent as 0xffff. */
static void test_udp_zero(void)
{
    struct spec s;
    struct ct_pkt p;
    union ct_addr a;
    fixed_spec(&s, 0, K_UDP0, 0);
    size_t n = build(&s, FA);
    parse_rw(FA, n, &p);
    rnd_addr(&a, 0);
    CHECK_EQ_I(ct_pkt_rewrite_addr(&p, CT_PKT_SRC, &a), 0);
    CHECK_EQ_I(ct_pkt_rewrite_port(&p, CT_PKT_DST, 4242), 0);
    CHECK_EQ_U(get_be16(FA + 40), 0);
    fixed_spec(&s, 0, K_ERROR, K_UDP0);
    n = build(&s, FA);
    parse_rw(FA, n, &p);
    CHECK_EQ_I(ct_pkt_rewrite_inner_port(&p, CT_PKT_SRC, 4242), 0);
    CHECK_EQ_U(get_be16(FA + 62 + 6), 0);
    /* Search for a destination port that makes the UDP checksum come out
       as 0 and check it is written as 0xffff, as a sender would. */
    fixed_spec(&s, 0, K_UDP, 0);
    n = build(&s, FA);
    uint32_t found = 0;
    for (uint32_t port = 1; port < 65536 && !found; port++) {
        n = build(&s, FA);
        parse_rw(FA, n, &p);
        CHECK_EQ_I(ct_pkt_rewrite_port(&p, CT_PKT_DST, (uint16_t)port), 0);
        if (get_be16(FA + 40) == 0xffff)
            found = port;
    }
    CHECK(found != 0);
    struct spec t = s;
    t.dport = (uint16_t)found;
    size_t m = build(&t, FB);
    CHECK(m == n && memcmp(FA, FB, n) == 0);
    parse_rw(FB, m, &p);
    CHECK_EQ_I(ct_pkt_verify_checksum(&p), 1);
}

/* ---- the writable burst entry point ------------------------------------------------------- */

static struct ct_table *mk_table(void)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = 1024;
    cfg.flags = CT_TABLE_F_FIXED_KEY;
    cfg.hash_key[0] = 1;
    cfg.hash_key[1] = 2;
    int err;
    struct ct_table *t = ct_table_create(&cfg, &err);
    CHECK_PTR(t);
    return t;
}

/*
 * ct_process_burst_rw() gives the verdicts, descriptors and table state of
 * ct_process_burst() for the same bytes, writes no frame, and hands out
 * descriptors the rewrite calls accept.
 */
static void test_process_rw(void)
{
    enum { N = 48 };
    static uint8_t frames[N][2048];
    struct ct_frame ro[N];
    struct ct_frame_rw rw[N];
    struct spec s[N];
    for (unsigned i = 0; i < N; i++) {
        if (i % 2 && i < N / 2) {
            /* The reverse of the packet before: a reply. */
            s[i] = s[i - 1];
            s[i].src = s[i - 1].dst;
            s[i].dst = s[i - 1].src;
            s[i].sport = s[i - 1].dport;
            s[i].dport = s[i - 1].sport;
        } else {
            rnd_spec(&s[i]);
        }
        size_t n = build(&s[i], frames[i]);
        ro[i] = (struct ct_frame){.data = frames[i], .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
        rw[i] =
            (struct ct_frame_rw){.data = frames[i], .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    }
    static uint8_t copy[N][2048];
    memcpy(copy, frames, sizeof(copy));
    struct ct_table *a = mk_table(), *b = mk_table();
    struct ct_pkt pa[N], pb[N];
    struct ct_verdict va[N], vb[N];
    for (int round = 0; round < 2; round++) {
        CHECK_EQ_I(ct_process_burst(a, ro, pa, va, N, 1000 + (uint64_t)round, CT_PROCESS_COMMIT),
                   N);
        CHECK_EQ_I(ct_process_burst_rw(b, rw, pb, vb, N, 1000 + (uint64_t)round, CT_PROCESS_COMMIT),
                   N);
        CHECK(memcmp(copy, frames, sizeof(copy)) == 0);
        for (unsigned i = 0; i < N; i++) {
            CHECK_EQ_U(pa[i].writable, 0);
            CHECK_EQ_U(pb[i].writable, 1);
            pb[i].writable = 0;
            CHECK(memcmp(&pa[i], &pb[i], sizeof(pa[i])) == 0);
            pb[i].writable = 1;
            CHECK_EQ_U(va[i].state, vb[i].state);
            CHECK_EQ_U(va[i].dir, vb[i].dir);
            CHECK_EQ_U(va[i].l4state, vb[i].l4state);
            CHECK_EQ_U(va[i].flags, vb[i].flags);
            CHECK_EQ_U(va[i].reason, vb[i].reason);
            CHECK_EQ_U(va[i].conn != NULL, vb[i].conn != NULL);
        }
    }
    struct ct_table_stats sa, sb;
    ct_table_stats(a, &sa);
    ct_table_stats(b, &sb);
    CHECK_EQ_U(sa.connections, sb.connections);
    CHECK_EQ_U(sa.created, sb.created);
    CHECK_EQ_U(sa.found, sb.found);
    CHECK(sa.found > 0);
    /* After the verdict: the read-only descriptors are refused, the
       writable ones rewritten. */
    union ct_addr x;
    rnd_addr(&x, s[0].v6);
    CHECK_EQ_I(ct_pkt_rewrite_addr(&pa[0], CT_PKT_SRC, &x), -EROFS);
    CHECK_EQ_I(ct_pkt_rewrite_addr(&pb[0], CT_PKT_SRC, &x), 0);
    CHECK(memcmp(frames[0] + pb[0].l3_off + (s[0].v6 ? 8 : 12), x.b, s[0].v6 ? 16 : 4) == 0);
    /* Bad arguments, as ct_process_burst(). */
    CHECK_EQ_I(ct_process_burst_rw(NULL, rw, pb, vb, 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_burst_rw(b, NULL, pb, vb, 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_burst_rw(b, rw, pb, vb, CT_BURST_MAX + 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_burst_rw(b, NULL, NULL, NULL, 0, 0, 0), 0);
    ct_table_destroy(a);
    ct_table_destroy(b);
}

int main(void)
{
    RUN(test_field_offsets);
    RUN(test_refusals);
    RUN(test_udp_zero);
    RUN(test_random_round_trips);
    RUN(test_process_rw);
    return check_summary();
}
