/*
 * Tests of the IPv4 and IPv6 reassembler (ctrack/defrag.h).
 *
 * Datagrams are built whole, with correct checksums (a byte-wise RFC 1071
 * reference, not the library's), then cut into fragments the way RFC 791
 * and RFC 8200 section 4.5 describe. A reassembled datagram must come back
 * byte for byte equal to the original, and parse with valid checksums.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "support/frames.h"
#include "ctrack/defrag.h"
#include "ctrack/packet.h"
#include "ctrack/zone.h"
#include "ctrack/reason.h"
#include "ctrack/tuple.h"

#define SEC 1000000000ull

static const uint8_t A6[16] = IPV6_DOC_ADDR(1);
static const uint8_t B6[16] = IPV6_DOC_ADDR(2);

/* ---- whole datagrams (headers and checksums from support/frames.h) --------------------------- */

/*
 * IPv4 / UDP sport -> dport with `plen` payload bytes (a pattern seeded by
 * `seed`), identification `id`, both checksums. Returns the length.
 */
static size_t dgram4(uint8_t *o, uint32_t src, uint32_t dst, uint16_t id, uint16_t sport,
                     uint16_t dport, size_t plen, unsigned seed)
{
    size_t hl = ipv4_header(o, 17, src, dst, id, NULL, 0, 8 + plen);
    uint8_t *u = o + hl;
    udp_header(u, sport, dport, plen);
    for (size_t i = 0; i < plen; i++)
        u[8 + i] = (uint8_t)(seed + i * 13 + (i >> 8));
    ipv4_fill_transport_checksum(o);
    return hl + 8 + plen;
}

/* IPv6 with `ext` (elen bytes of extension headers, chained, the last
   naming UDP; nh is the first next header), then UDP with `plen` bytes. */
static size_t dgram6(uint8_t *o, uint8_t nh, const uint8_t *ext, size_t elen, uint16_t sport,
                     uint16_t dport, size_t plen, unsigned seed)
{
    size_t hl = ipv6_header(o, nh, A6, B6, elen + 8 + plen);
    if (elen)
        memcpy(o + hl, ext, elen);
    uint8_t *u = o + hl + elen;
    udp_header(u, sport, dport, plen);
    for (size_t i = 0; i < plen; i++)
        u[8 + i] = (uint8_t)(seed + i * 7 + (i >> 8));
    ipv6_fill_transport_checksum(o, hl + elen, 17, NULL);
    return hl + elen + 8 + plen;
}

/* ---- fragmenting ----------------------------------------------------------------------------- */

/* Fragment [off, off + len) of the IPv4 datagram `d` (RFC 791 section 3.2). */
static size_t frag4(uint8_t *o, const uint8_t *d, size_t off, size_t len, int more)
{
    size_t hl = (d[0] & 15u) * 4u;
    memcpy(o, d, hl);
    memcpy(o + hl, d + hl + off, len);
    put_be16(o + 2, (uint16_t)(hl + len));
    put_be16(o + 6, (uint16_t)((get_be16(d + 6) & 0x4000) | (more ? 0x2000 : 0) | (off / 8)));
    ipv4_refresh_checksum(o);
    return hl + len;
}

/*
 * Fragment [off, off + len) of the IPv6 packet `d` whose unfragmentable
 * part is `ul` bytes, the byte naming the next header after it at `nh_off`
 * (RFC 8200 section 4.5): the unfragmentable part, a fragment header, then
 * the slice.
 */
static size_t frag6(uint8_t *o, const uint8_t *d, size_t ul, size_t nh_off, size_t off, size_t len,
                    int more, uint32_t id)
{
    size_t dlen = 40 + get_be16(d + 4);
    (void)dlen;
    memcpy(o, d, ul);
    o[nh_off] = 44;
    uint8_t *fh = o + ul;
    fh[0] = d[nh_off];
    fh[1] = 0;
    put_be16(fh + 2, (uint16_t)(off | (more ? 1u : 0u)));
    put_be32(fh + 4, id);
    memcpy(fh + 8, d + ul + off, len);
    put_be16(o + 4, (uint16_t)(ul - 40 + 8 + len));
    return ul + 8 + len;
}

/* ---- feeding --------------------------------------------------------------------------------- */

static struct ct_defrag *D;
static struct ct_frame OUT;
static uint16_t REASON;

static struct ct_defrag *mk(uint32_t max_dg, uint32_t max_frags, uint64_t max_bytes)
{
    struct ct_defrag_config c;
    ct_defrag_config_init(&c);
    if (max_dg)
        c.max_datagrams = max_dg;
    if (max_frags)
        c.max_fragments = max_frags;
    if (max_bytes)
        c.max_bytes = max_bytes;
    c.flags = CT_DEFRAG_F_FIXED_KEY;
    c.hash_key[0] = 1;
    c.hash_key[1] = 2;
    int err = 1;
    struct ct_defrag *d = ct_defrag_create(&c, &err);
    CHECK_PTR(d);
    CHECK_EQ_I(err, 0);
    return d;
}

/* Parses a frame and hands it to D; returns ct_defrag_add()'s result. */
static int feed_link(const uint8_t *f, size_t n, uint16_t link, uint16_t zone, uint64_t now)
{
    struct ct_frame fr = {.data = f, .len = (uint32_t)n, .link = link, .zone = zone, .mark = 5};
    struct ct_pkt p;
    ct_pkt_parse(&fr, &p);
    REASON = 0xffff;
    return ct_defrag_add(D, &p, now, &OUT, &REASON);
}

static int feed(const uint8_t *f, size_t n, uint64_t now)
{
    return feed_link(f, n, CT_LINK_RAW, 0, now);
}

/* The reassembled datagram equals `want` and parses with valid checksums. */
static void check_out(const uint8_t *want, size_t n)
{
    CHECK_EQ_U(OUT.len, n);
    CHECK_EQ_U(OUT.wire_len, n);
    if (OUT.len == n && memcmp(OUT.data, want, n) != 0)
        CHECK_FAIL_("reassembled bytes differ");
    struct ct_pkt p;
    ct_pkt_parse(&OUT, &p);
    CHECK_EQ_U(p.reason, CT_REASON_NONE);
    CHECK_EQ_U(p.frag, CT_FRAG_NONE);
    CHECK_EQ_U(ct_pkt_verify_checksum(&p), 1);
}

static struct ct_defrag_stats stats(void)
{
    struct ct_defrag_stats st;
    ct_defrag_stats(D, &st);
    return st;
}

static uint8_t dg[70000], fb[70000];

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_config(void)
{
    struct ct_defrag_config c;
    int err = 0;
    ct_defrag_config_init(&c);
    CHECK_EQ_U(c.timeout_ipv4, 30 * SEC);
    CHECK_EQ_U(c.timeout_ipv6, 60 * SEC);
    CHECK_EQ_U(c.max_bytes, 4u << 20);
    struct ct_defrag *d = ct_defrag_create(&c, &err);
    CHECK_PTR(d);
    ct_defrag_destroy(d);
    ct_defrag_destroy(NULL);
    struct ct_defrag_config bad[6];
    for (int i = 0; i < 6; i++)
        ct_defrag_config_init(&bad[i]);
    bad[0].max_datagrams = 0;
    bad[1].max_fragments = 0;
    bad[2].max_bytes = CT_DEFRAG_MIN_BYTES - 1;
    bad[3].timeout_ipv4 = 0;
    bad[4].timeout_ipv6 = 0;
    bad[5].flags = 0x80;
    for (int i = 0; i < 6; i++) {
        err = 0;
        CHECK(ct_defrag_create(&bad[i], &err) == NULL);
        CHECK_EQ_I(err, -EINVAL);
    }
    c.max_bytes = CT_DEFRAG_MIN_BYTES;
    d = ct_defrag_create(&c, &err);
    CHECK_PTR(d);
    ct_defrag_destroy(d);
}

static void test_not_fragment(void)
{
    D = mk(0, 0, 0);
    size_t n = dgram4(dg, IPV4_ADDR(1, 1, 1, 1), IPV4_ADDR(2, 2, 2, 2), 7, 1000, 53, 100, 1);
    CHECK_EQ_I(feed(dg, n, 0), -EINVAL);
    CHECK_EQ_U(REASON, CT_REASON_NONE);
    /* A frame that did not parse as far as a fragment. */
    CHECK_EQ_I(feed(dg, 10, 0), -EINVAL);
    CHECK_EQ_U(stats().fragments, 0);
    ct_defrag_destroy(D);
}

static void test_in_order4(void)
{
    D = mk(0, 0, 0);
    size_t n =
        dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 0x1234, 4000, 53, 3000, 3);
    size_t pl = n - 20;
    size_t f = frag4(fb, dg, 0, 1480, 1);
    CHECK_EQ_I(feed(fb, f, 1 * SEC), CT_DEFRAG_HELD);
    CHECK_EQ_U(REASON, CT_REASON_NONE);
    f = frag4(fb, dg, 1480, 1480, 1);
    CHECK_EQ_I(feed(fb, f, 1 * SEC), CT_DEFRAG_HELD);
    struct ct_defrag_stats st = stats();
    CHECK_EQ_U(st.datagrams, 1);
    CHECK_EQ_U(st.pages, 4); /* payload bytes [0, 2960): 3 pages, and the header's */
    f = frag4(fb, dg, 2960, pl - 2960, 0);
    CHECK_EQ_I(feed(fb, f, 2 * SEC), CT_DEFRAG_DONE);
    CHECK_EQ_U(OUT.link, CT_LINK_IPV4);
    CHECK_EQ_U(OUT.mark, 5);
    check_out(dg, n);
    st = stats();
    CHECK_EQ_U(st.fragments, 3);
    CHECK_EQ_U(st.reassembled, 1);
    CHECK_EQ_U(st.datagrams, 0);
    CHECK_EQ_U(st.pages, 0);
    /* The same identification again later is a new datagram. */
    f = frag4(fb, dg, 0, 1480, 1);
    CHECK_EQ_I(feed(fb, f, 3 * SEC), CT_DEFRAG_HELD);
    ct_defrag_destroy(D);
}

/* Every order of four fragments, with DF-less options in the header. */
static void test_orders4(void)
{
    D = mk(0, 0, 0);
    /* A header with options (record route, 8 bytes + end of list): the
       reassembled header is the first fragment's. */
    size_t n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 99, 1, 2, 200, 5);
    static uint8_t opt[300];
    memcpy(opt, dg, 20);
    uint8_t rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
    memcpy(opt + 20, rr, 8);
    memcpy(opt + 28, dg + 20, n - 20);
    opt[0] = 0x47;
    put_be16(opt + 2, (uint16_t)(n + 8));
    ipv4_refresh_checksum(opt);
    n += 8;
    size_t offs[4] = {0, 56, 112, 168}, lens[4] = {56, 56, 56, n - 28 - 168};
    static const int perms[][4] = {
        {0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}, {3, 0, 1, 2}};
    for (size_t p = 0; p < sizeof(perms) / sizeof(perms[0]); p++) {
        for (int k = 0; k < 4; k++) {
            int i = perms[p][k];
            size_t f = frag4(fb, opt, offs[i], lens[i], i != 3);
            int r = feed(fb, f, 0);
            CHECK_EQ_I(r, k == 3 ? CT_DEFRAG_DONE : CT_DEFRAG_HELD);
        }
        check_out(opt, n);
    }
    CHECK_EQ_U(stats().reassembled, 5);
    ct_defrag_destroy(D);
}

/* IPv6 with extension headers before and after the fragment header. */
static void test_ipv6(void)
{
    D = mk(0, 0, 0);
    /* Plain: the fragment header follows the IPv6 header. */
    size_t n = dgram6(dg, 17, NULL, 0, 53, 5353, 3198, 9);
    size_t fl = n - 40;
    size_t f = frag6(fb, dg, 40, 6, 1432, 1432, 1, 77);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag6(fb, dg, 40, 6, 2864, fl - 2864, 0, 77);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag6(fb, dg, 40, 6, 0, 1432, 1, 77);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DONE);
    CHECK_EQ_U(OUT.link, CT_LINK_IPV6);
    check_out(dg, n);
    struct ct_pkt p;
    ct_pkt_parse(&OUT, &p);
    CHECK_EQ_U(p.ip_len, 40 + 8 + 3198);
    CHECK_EQ_U(p.tuple.sport, 53);

    /* Hop-by-hop and routing headers are unfragmentable; a destination
       options header after the routing header is fragmentable (RFC 8200
       4.5). Chain: HBH(8) -> routing(24) | dest opts(8) -> UDP. */
    uint8_t ext[40] = {0};
    ext[0] = 43; /* HBH, next routing */
    ext[2] = 1;  /* PadN */
    ext[3] = 4;
    ext[8] = 60; /* routing, next dest opts, 2 units, type 0... segments left 0 */
    ext[9] = 2;
    ext[10] = 4;
    ext[32] = 17; /* dest opts, next UDP */
    ext[34] = 1;
    ext[35] = 4;
    n = dgram6(dg, 0, ext, 40, 1, 2, 600, 11);
    size_t ul = 40 + 32; /* unfragmentable: IPv6 + HBH + routing */
    fl = n - ul;
    f = frag6(fb, dg, ul, 40 + 8, 0, 304, 1, 5);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag6(fb, dg, ul, 40 + 8, 304, fl - 304, 0, 5);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DONE);
    check_out(dg, n);
    ct_pkt_parse(&OUT, &p);
    CHECK_EQ_U(p.tuple.proto, 17);
    CHECK_EQ_U(p.l4_off, 40 + 40);

    /* RFC 8200: the next header of later fragments may differ; only the
       first fragment's counts, and it is not part of the key. */
    n = dgram6(dg, 17, NULL, 0, 7, 8, 100, 13);
    f = frag6(fb, dg, 40, 6, 0, 56, 1, 6);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag6(fb, dg, 40, 6, 56, n - 40 - 56, 0, 6);
    fb[40] = 6; /* next header TCP in the last fragment's header */
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DONE);
    check_out(dg, n);
    ct_defrag_destroy(D);
}

static void test_duplicates(void)
{
    D = mk(0, 0, 0);
    size_t n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, 1, 2, 300, 17);
    size_t f = frag4(fb, dg, 0, 160, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    /* The same fragment again, then with other data: a duplicate either
       way (Linux does not compare); the first copy's bytes stay. */
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_DUPLICATE);
    fb[100] ^= 0xff;
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_DUPLICATE);
    /* A fragment inside what was received, not at a fragment boundary. */
    f = frag4(fb, dg, 64, 32, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_DUPLICATE);
    f = frag4(fb, dg, 160, n - 20 - 160, 0);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DONE);
    check_out(dg, n);
    CHECK_EQ_U(stats().duplicates, 3);
    /* A duplicate last fragment after all but the first arrived. */
    f = frag4(fb, dg, 160, n - 20 - 160, 0);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_DUPLICATE);
    f = frag4(fb, dg, 0, 160, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DONE);
    check_out(dg, n);
    ct_defrag_destroy(D);
}

/* Any overlap drops the datagram: IPv6 (RFC 5722) and IPv4 (Linux). */
static void test_overlap(void)
{
    D = mk(0, 0, 0);
    size_t n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 2, 1, 2, 300, 19);
    size_t f = frag4(fb, dg, 0, 160, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag4(fb, dg, 152, 64, 1); /* starts inside the first */
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_OVERLAP);
    struct ct_defrag_stats st = stats();
    CHECK_EQ_U(st.overlaps, 1);
    CHECK_EQ_U(st.datagrams, 0);
    CHECK_EQ_U(st.pages, 0);
    /* The rest alone starts over and cannot complete. */
    f = frag4(fb, dg, 160, n - 20 - 160, 0);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    /* A fragment covering received data and more (Linux: overlap). */
    f = frag4(fb, dg, 0, 168, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_OVERLAP);

    size_t n6 = dgram6(dg, 17, NULL, 0, 1, 2, 500, 23);
    f = frag6(fb, dg, 40, 6, 0, 256, 1, 9);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag6(fb, dg, 40, 6, 248, n6 - 40 - 248, 0, 9);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_OVERLAP);
    CHECK_EQ_U(stats().overlaps, 3);
    ct_defrag_destroy(D);
}

/* Inconsistent lengths drop the datagram (Linux's ip_frag_queue()). */
static void test_lengths(void)
{
    D = mk(0, 0, 0);
    size_t n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 3, 1, 2, 300, 29);
    (void)n;
    /* Two last fragments with different ends. */
    size_t f = frag4(fb, dg, 200, 40, 0);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag4(fb, dg, 200, 48, 0);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_INVALID);
    CHECK_EQ_U(stats().datagrams, 0);
    /* A fragment past the end the last one set. */
    f = frag4(fb, dg, 64, 64, 0);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag4(fb, dg, 128, 16, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_INVALID);
    /* A last fragment ending before data already received. */
    f = frag4(fb, dg, 64, 64, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag4(fb, dg, 8, 40, 0);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_INVALID);
    /* An empty fragment. */
    f = frag4(fb, dg, 0, 64, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    f = frag4(fb, dg, 64, 0, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_INVALID);
    CHECK_EQ_U(stats().datagrams, 0);
    /* Longer than an IPv4 packet can be: 20 header bytes + 65535. */
    static uint8_t big[65600];
    size_t bn = dgram4(big, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 4, 1, 2, 1000, 31);
    (void)bn;
    f = frag4(fb, big, 0, 64, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    memset(fb, 0, 40);
    ipv4_header(fb, 17, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 4, NULL, 0, 7);
    ipv4_set_frag(fb, 65528 / 8); /* last fragment, 7 bytes at 65528: ends at 65535 */
    CHECK_EQ_I(feed(fb, 27, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_INVALID);
    CHECK_EQ_U(stats().datagrams, 0);
    CHECK_EQ_U(stats().invalid, 5);
    ct_defrag_destroy(D);
}

/* What the parser already calls FRAG_INVALID is refused. */
static void test_parser_invalid(void)
{
    D = mk(0, 0, 0);
    dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 5, 1, 2, 300, 37);
    size_t f = frag4(fb, dg, 0, 100, 1); /* not a multiple of 8 */
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_INVALID);
    /* RFC 7112: an IPv6 first fragment without the whole header chain
       (a first fragment of 8 bytes holding a destination options header
       but not the UDP header after it). */
    uint8_t ext[8] = {17, 0, 1, 4, 0, 0, 0, 0};
    dgram6(dg, 60, ext, 8, 1, 2, 100, 41);
    f = frag6(fb, dg, 40, 6, 0, 8, 1, 3);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_INVALID);
    CHECK_EQ_U(stats().invalid, 2);
    CHECK_EQ_U(stats().datagrams, 0);
    ct_defrag_destroy(D);
}

static void test_too_many(void)
{
    D = mk(0, 4, 0);
    size_t n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 6, 1, 2, 100, 43);
    (void)n;
    for (int i = 0; i < 4; i++) {
        size_t f = frag4(fb, dg, (size_t)i * 16, 16, 1);
        CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    }
    size_t f = frag4(fb, dg, 64, 16, 1);
    CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_TOO_MANY);
    struct ct_defrag_stats st = stats();
    CHECK_EQ_U(st.too_many, 1);
    CHECK_EQ_U(st.datagrams, 0);
    /* Four are enough for a datagram in four pieces. */
    n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 7, 1, 2, 100, 43);
    for (int i = 0; i < 4; i++) {
        f = frag4(fb, dg, (size_t)i * 32, i < 3 ? 32 : n - 20 - 96, i < 3);
        CHECK_EQ_I(feed(fb, f, 0), i < 3 ? CT_DEFRAG_HELD : CT_DEFRAG_DONE);
    }
    check_out(dg, n);
    ct_defrag_destroy(D);
}

static void test_timeout(void)
{
    D = mk(0, 0, 0);
    size_t n4 = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 8, 1, 2, 100, 47);
    size_t f = frag4(fb, dg, 0, 64, 1);
    CHECK_EQ_I(feed(fb, f, 100 * SEC), CT_DEFRAG_HELD);
    static uint8_t d6[400];
    size_t n6 = dgram6(d6, 17, NULL, 0, 1, 2, 100, 53);
    f = frag6(fb, d6, 40, 6, 0, 64, 1, 8);
    CHECK_EQ_I(feed(fb, f, 100 * SEC), CT_DEFRAG_HELD);
    /* Time going backwards expires nothing. */
    CHECK_EQ_U(ct_defrag_expire(D, 50 * SEC), 0);
    /* Just before 30 s the IPv4 datagram completes... */
    f = frag4(fb, dg, 64, n4 - 20 - 64, 0);
    CHECK_EQ_I(feed(fb, f, 130 * SEC - 1), CT_DEFRAG_DONE);
    check_out(dg, n4);
    /* ...a second one, 30 s after its first fragment, does not: its first
       fragment is gone and the last one starts a new datagram. */
    f = frag4(fb, dg, 0, 64, 1);
    CHECK_EQ_I(feed(fb, f, 130 * SEC), CT_DEFRAG_HELD);
    CHECK_EQ_U(ct_defrag_expire(D, 160 * SEC - 1), 0);
    CHECK_EQ_U(ct_defrag_expire(D, 160 * SEC), 2); /* IPv4 at 30 s, IPv6 at 60 s */
    f = frag4(fb, dg, 64, n4 - 20 - 64, 0);
    CHECK_EQ_I(feed(fb, f, 160 * SEC), CT_DEFRAG_HELD);
    struct ct_defrag_stats st = stats();
    CHECK_EQ_U(st.timed_out, 2);
    CHECK_EQ_U(st.datagrams, 1);
    /* IPv6 waits 60 s: still there at 59 s, gone at 60 s. */
    f = frag6(fb, d6, 40, 6, 0, 64, 1, 9);
    CHECK_EQ_I(feed(fb, f, 200 * SEC), CT_DEFRAG_HELD);
    f = frag6(fb, d6, 40, 6, 64, n6 - 40 - 64, 0, 9);
    CHECK_EQ_I(feed(fb, f, 259 * SEC), CT_DEFRAG_DONE);
    check_out(d6, n6);
    f = frag6(fb, d6, 40, 6, 0, 64, 1, 10);
    CHECK_EQ_I(feed(fb, f, 300 * SEC), CT_DEFRAG_HELD);
    f = frag6(fb, d6, 40, 6, 64, n6 - 40 - 64, 0, 10);
    CHECK_EQ_I(feed(fb, f, 360 * SEC), CT_DEFRAG_HELD);
    /* Expiry inside add: the IPv4 leftover from 160 s went at 190 s. */
    CHECK_EQ_U(stats().timed_out, 4);
    ct_defrag_destroy(D);
}

/* The buffer budget and the datagram limit drop the oldest datagrams. */
static void test_eviction(void)
{
    /* 66 pages: room for one 40 KB datagram, not two. */
    D = mk(0, 0, CT_DEFRAG_MIN_BYTES);
    static uint8_t d1[50000], d2[50000];
    size_t n1 = dgram4(d1, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, 1, 2, 40000, 59);
    size_t n2 = dgram4(d2, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 2, 1, 2, 40000, 61);
    size_t f;
    for (size_t off = 0; off < 32000; off += 1480) {
        f = frag4(fb, d1, off, 1480, 1);
        CHECK_EQ_I(feed(fb, f, 0), CT_DEFRAG_HELD);
    }
    CHECK_EQ_U(stats().pages, 33);
    /* Datagram 2 arrives whole, in order: it pushes datagram 1 out. */
    size_t pl = n2 - 20;
    for (size_t off = 0; off < pl; off += 1480) {
        size_t len = pl - off > 1480 ? 1480 : pl - off;
        f = frag4(fb, d2, off, len, off + len < pl);
        CHECK_EQ_I(feed(fb, f, 1), off + len < pl ? CT_DEFRAG_HELD : CT_DEFRAG_DONE);
    }
    check_out(d2, n2);
    struct ct_defrag_stats st = stats();
    CHECK_EQ_U(st.evicted, 1);
    CHECK_EQ_U(st.datagrams, 0);
    CHECK_EQ_U(st.pages, 0);
    (void)n1;
    ct_defrag_destroy(D);

    /* Two datagrams at most: a third evicts the oldest. */
    D = mk(2, 0, 0);
    size_t n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 10, 1, 2, 100, 67);
    for (uint16_t id = 10; id < 13; id++) {
        dg[4] = 0;
        dg[5] = (uint8_t)id;
        f = frag4(fb, dg, 0, 64, 1);
        CHECK_EQ_I(feed(fb, f, id), CT_DEFRAG_HELD);
    }
    st = stats();
    CHECK_EQ_U(st.evicted, 1);
    CHECK_EQ_U(st.datagrams, 2);
    /* Datagram 10 was evicted: its last fragment starts over. 11 completes. */
    dg[5] = 10;
    f = frag4(fb, dg, 64, n - 20 - 64, 0);
    CHECK_EQ_I(feed(fb, f, 20), CT_DEFRAG_HELD);
    CHECK_EQ_U(stats().evicted, 2); /* 11 was the oldest now */
    dg[5] = 12;
    f = frag4(fb, dg, 64, n - 20 - 64, 0);
    CHECK_EQ_I(feed(fb, f, 21), CT_DEFRAG_DONE);
    ct_defrag_destroy(D);
}

/* Source, destination, identification, protocol (IPv4) and zone are the key. */
static void test_keys(void)
{
    D = mk(0, 0, 0);
    size_t n = dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 20, 1, 2, 100, 71);
    size_t f = frag4(fb, dg, 0, 64, 1);
    CHECK_EQ_I(feed_link(fb, f, CT_LINK_RAW, 1, 0), CT_DEFRAG_HELD);
    /* The rest in another zone, with another protocol, from another
       source: none completes zone 1's datagram. */
    f = frag4(fb, dg, 64, n - 20 - 64, 0);
    CHECK_EQ_I(feed_link(fb, f, CT_LINK_RAW, 2, 0), CT_DEFRAG_HELD);
    fb[9] = 6;
    ipv4_refresh_checksum(fb);
    CHECK_EQ_I(feed_link(fb, f, CT_LINK_RAW, 1, 0), CT_DEFRAG_HELD);
    f = frag4(fb, dg, 64, n - 20 - 64, 0);
    fb[15] = 9;
    ipv4_refresh_checksum(fb);
    CHECK_EQ_I(feed_link(fb, f, CT_LINK_RAW, 1, 0), CT_DEFRAG_HELD);
    CHECK_EQ_U(stats().datagrams, 4);
    f = frag4(fb, dg, 64, n - 20 - 64, 0);
    CHECK_EQ_I(feed_link(fb, f, CT_LINK_RAW, 1, 0), CT_DEFRAG_DONE);
    CHECK_EQ_U(OUT.zone, 1);
    check_out(dg, n);
    /* Fragments in Ethernet with a VLAN tag: the zone from the tag stack
       (the reassembled frame keeps no link layer). */
    static uint8_t eth[2000];
    static const uint8_t hdr[18] = {2, 0, 0, 0,    0,    1,    2,    0,    0,
                                    0, 0, 2, 0x81, 0x00, 0x00, 0x06, 0x08, 0x00};
    for (int k = 0; k < 2; k++) {
        f = k ? frag4(eth + 18, dg, 64, n - 20 - 64, 0) : frag4(eth + 18, dg, 0, 64, 1);
        memcpy(eth, hdr, 18);
        struct ct_frame fr = {.data = eth, .len = (uint32_t)(18 + f), .link = CT_LINK_ETHERNET};
        struct ct_pkt p;
        ct_pkt_parse(&fr, &p);
        ct_pkt_set_zone(&p, ct_zone_from_vlan(&p));
        CHECK_EQ_I(ct_defrag_add(D, &p, 0, &OUT, NULL), k ? CT_DEFRAG_DONE : CT_DEFRAG_HELD);
    }
    CHECK_EQ_U(OUT.zone, 6);
    check_out(dg, n);
    ct_defrag_destroy(D);
}

static void test_snapped(void)
{
    D = mk(0, 0, 0);
    dgram4(dg, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 30, 1, 2, 100, 73);
    size_t f = frag4(fb, dg, 0, 64, 1);
    struct ct_frame fr = {
        .data = fb, .len = (uint32_t)f - 4, .wire_len = (uint32_t)f, .link = CT_LINK_IPV4};
    struct ct_pkt p;
    ct_pkt_parse(&fr, &p);
    CHECK_EQ_U(p.reason, CT_REASON_FRAGMENT);
    CHECK_EQ_I(ct_defrag_add(D, &p, 0, &OUT, &REASON), CT_DEFRAG_DROPPED);
    CHECK_EQ_U(REASON, CT_REASON_FRAG_SNAPPED);
    CHECK_EQ_U(stats().snapped, 1);
    CHECK_EQ_U(stats().datagrams, 0);
    ct_defrag_destroy(D);
}

/* Many datagrams, both families, random fragment sizes, shuffled together
   with duplicates: all complete, byte for byte. */
static void test_shuffle(void)
{
    D = mk(64, 0, 0);
    enum { NDG = 24, MAXF = 64 };
    static uint8_t orig[NDG][4000], frags[NDG * MAXF][1700];
    static size_t olen[NDG], flen[NDG * MAXF];
    static int owner[NDG * MAXF], done[NDG];
    uint64_t s = 12345;
    size_t nf = 0;
    for (int i = 0; i < NDG; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t plen = 100 + (size_t)((s >> 33) % 3000);
        int v6 = i & 1;
        olen[i] = v6 ? dgram6(orig[i], 17, NULL, 0, (uint16_t)i, 9, plen, (unsigned)i)
                     : dgram4(orig[i], IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), (uint16_t)i,
                              (uint16_t)i, 9, plen, (unsigned)i);
        size_t hl = v6 ? 40 : 20, fl = olen[i] - hl;
        for (size_t off = 0; off < fl;) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t len = 8 * (1 + (size_t)((s >> 35) % 180));
            if (off + len >= fl)
                len = off == 0 ? 8 * (fl / 16) : fl - off; /* at least two fragments */
            int more = off + len < fl;
            flen[nf] = v6 ? frag6(frags[nf], orig[i], 40, 6, off, len, more, 1000u + (uint32_t)i)
                          : frag4(frags[nf], orig[i], off, len, more);
            owner[nf++] = i;
            if (nf >= NDG * MAXF - 2) {
                CHECK_FAIL_("too many fragments for the test arrays");
                return;
            }
            if ((s >> 20) % 7 == 0) { /* a duplicate */
                memcpy(frags[nf], frags[nf - 1], flen[nf - 1]);
                flen[nf] = flen[nf - 1];
                owner[nf++] = -1 - i;
            }
            off += len;
        }
    }
    /* Fisher-Yates with the same generator. */
    for (size_t i = nf - 1; i > 0; i--) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((s >> 33) % (i + 1));
        static uint8_t tmp[1700];
        memcpy(tmp, frags[i], 1700);
        memcpy(frags[i], frags[j], 1700);
        memcpy(frags[j], tmp, 1700);
        size_t tl = flen[i];
        flen[i] = flen[j];
        flen[j] = tl;
        int to = owner[i];
        owner[i] = owner[j];
        owner[j] = to;
    }
    int completed = 0;
    for (size_t k = 0; k < nf; k++) {
        int r = feed(frags[k], flen[k], k);
        if (r == CT_DEFRAG_DONE) {
            struct ct_pkt p;
            ct_pkt_parse(&OUT, &p);
            int i = p.tuple.sport;
            CHECK(i >= 0 && i < NDG);
            if (i >= 0 && i < NDG) {
                check_out(orig[i], olen[i]);
                CHECK_EQ_I(done[i], 0);
                done[i] = 1;
                completed++;
            }
        } else if (r == CT_DEFRAG_DROPPED) {
            CHECK_EQ_U(REASON, CT_REASON_FRAG_DUPLICATE);
        }
    }
    CHECK_EQ_I(completed, NDG);
    struct ct_defrag_stats st = stats();
    CHECK_EQ_U(st.reassembled, NDG);
    CHECK_EQ_U(st.overlaps, 0);
    /* Duplicates that came after their datagram completed started new
       ones (as in Linux); they time out and give everything back. */
    CHECK(st.datagrams > 0);
    CHECK_EQ_U(ct_defrag_expire(D, 61 * SEC), st.datagrams);
    st = stats();
    CHECK_EQ_U(st.datagrams, 0);
    CHECK_EQ_U(st.pages, 0);
    ct_defrag_destroy(D);
}

/* Random fragments, random flags and offsets: no crash, the limits hold. */
static void test_random(void)
{
    D = mk(16, 32, CT_DEFRAG_MIN_BYTES * 2);
    uint64_t s = 99;
    static uint8_t base[2000];
    size_t bn = dgram4(base, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, 1, 2, 1400, 3);
    static uint8_t b6[2000];
    uint8_t ext[8] = {17, 0, 1, 4, 0, 0, 0, 0};
    size_t b6n = dgram6(b6, 60, ext, 8, 1, 2, 1400, 3);
    for (int it = 0; it < 30000; it++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t off = 8 * (size_t)((s >> 33) % 200);
        int more = (s >> 20) & 1;
        size_t len = 8 * (size_t)((s >> 45) % 175) + (more ? 0 : (size_t)((s >> 5) & 7));
        size_t f;
        if ((s >> 10) & 1) {
            if (off + len > bn - 20)
                off = 0;
            if (off + len > bn - 20)
                len = bn - 20;
            f = frag4(fb, base, off, len, more);
            fb[5] = (uint8_t)((s >> 24) & 7); /* identification */
            ipv4_refresh_checksum(fb);
        } else {
            size_t fl = b6n - 40;
            if (off + len > fl)
                off = 0;
            if (off + len > fl)
                len = fl;
            f = frag6(fb, b6, 40, 6, off, len, more, (uint32_t)((s >> 24) & 7));
        }
        if ((s >> 50) % 9 == 0)
            fb[(s >> 13) % f] ^= (uint8_t)(s >> 3); /* corrupt a byte */
        struct ct_frame fr = {.data = fb, .len = (uint32_t)f, .link = CT_LINK_RAW};
        struct ct_pkt p;
        ct_pkt_parse(&fr, &p);
        int r = ct_defrag_add(D, &p, (uint64_t)it * 10000000u, &OUT, &REASON);
        if (p.frag == CT_FRAG_NONE ||
            (p.reason != CT_REASON_FRAGMENT && p.reason != CT_REASON_FRAG_INVALID)) {
            CHECK_EQ_I(r, -EINVAL);
            continue;
        }
        CHECK(r >= 0 && r <= 2);
        if (r == CT_DEFRAG_DONE) {
            struct ct_pkt q;
            ct_pkt_parse(&OUT, &q);
            CHECK(q.reason < CT_REASON_COUNT);
            CHECK(OUT.len <= 65535 + 40);
        }
        struct ct_defrag_stats st = stats();
        CHECK(st.datagrams <= 16);
        CHECK(st.pages <= 2 * CT_DEFRAG_MIN_BYTES / CT_DEFRAG_PAGE);
    }
    /* The sequence is fixed: it reaches every outcome. */
    struct ct_defrag_stats st = stats();
    CHECK(st.reassembled > 0 && st.overlaps > 0 && st.duplicates > 0 && st.invalid > 0);
    ct_defrag_destroy(D);
}

/* GTP-U whose outer IPv4 packets are fragmented (as in Zeek's
   gtp1_gn_normal_incl_fragmentation capture): reassemble, then the
   reassembled packet carries the tunnel. */
static void test_gtp_outer_fragments(void)
{
    D = mk(0, 0, 0);
    /* Inner: IPv4/TCP 10.1.1.1:1923 -> 10.2.2.2:80 with 1600 bytes. */
    static uint8_t inner[2000], outer[2100];
    size_t in = 20 + 20 + 1600;
    memset(inner, 0, in);
    size_t ihl =
        ipv4_header(inner, 6, IPV4_ADDR(10, 1, 1, 1), IPV4_ADDR(10, 2, 2, 2), 0, NULL, 0, in - 20);
    tcp_header(inner + ihl, 1923, 80, 0, 0, CT_TCP_ACK | CT_TCP_PSH, 0, NULL, 0);
    /* GTP-U header (G-PDU, TEID 0x1234) + inner, in UDP 2152 -> 2152. */
    uint8_t gtp[8] = {0x30, 0xff, 0, 0, 0, 0, 0x12, 0x34};
    put_be16(gtp + 2, (uint16_t)in);
    static uint8_t udp_pl[2000];
    memcpy(udp_pl, gtp, 8);
    memcpy(udp_pl + 8, inner, in);
    size_t n = dgram4(outer, IPV4_ADDR(192, 0, 2, 1), IPV4_ADDR(192, 0, 2, 2), 0x4d2, 2152, 2152,
                      8 + in, 0);
    memcpy(outer + 28, udp_pl, 8 + in);
    /* Recompute the UDP checksum over the real payload. */
    ipv4_fill_transport_checksum(outer);
    /* Fragments in Ethernet frames; the first carries 1480 bytes. */
    static uint8_t eth[1600];
    static const uint8_t mac[14] = {0,    0,    0x0c, 7,    0xac, 0xe8, 0x88,
                                    0xe0, 0xf3, 0xc8, 0xbf, 0xf0, 0x08, 0x00};
    int r = 0;
    for (int k = 0; k < 2; k++) {
        size_t off = k ? 1480 : 0, len = k ? n - 20 - 1480 : 1480;
        memcpy(eth, mac, 14);
        size_t f = frag4(eth + 14, outer, off, len, !k);
        r = feed_link(eth, 14 + f, CT_LINK_ETHERNET, 0, (uint64_t)k);
    }
    CHECK_EQ_I(r, CT_DEFRAG_DONE);
    check_out(outer, n);
    struct ct_pkt p, q;
    ct_pkt_parse(&OUT, &p);
    CHECK_EQ_U(p.encap, CT_ENCAP_GTPU);
    CHECK_EQ_U(p.encap_id, 0x1234);
    struct ct_frame inf;
    CHECK_EQ_I(ct_pkt_inner_frame(&p, &inf), 0);
    ct_pkt_parse(&inf, &q);
    CHECK_EQ_U(q.reason, CT_REASON_NONE);
    CHECK_EQ_U(q.tuple.sport, 1923);
    CHECK_EQ_U(q.tuple.dport, 80);
    CHECK_EQ_U(ntohl(q.tuple.dst.v4), IPV4_ADDR(10, 2, 2, 2));
    CHECK_EQ_U(q.payload_len, 1600);
    ct_defrag_destroy(D);
}

/*
 * suricata-verify defrag/bug-6887 (Suricata, MIT licence): a TCP SYN in
 * three IPv4 fragments of 8 bytes, in Ethernet with VLAN 6. Suricata's
 * expected alert quotes the reassembled packet; the IP part must match
 * byte for byte (header checksum 0x74c6 included).
 */
static void test_suricata_6887(void)
{
    D = mk(0, 0, 0);
    static const char *frames[3] = {
        "0504030201000001020304058100000608004500001c000120004006"
        "54d6010101010202020230391f9000000001",
        "0504030201000001020304058100000608004500001c000120014006"
        "54d501010101020202020000000060022000",
        "0504030201000001020304058100000608004500001c000100024006"
        "74d40101010102020202190c000003030e00",
    };
    uint8_t f[64], want[64];
    int r = 0;
    for (int k = 0; k < 3; k++) {
        size_t n = hex_bytes(frames[k], f);
        r = feed_link(f, n, CT_LINK_ETHERNET, 6, 0);
    }
    CHECK_EQ_I(r, CT_DEFRAG_DONE);
    size_t wn = hex_bytes(
        "4500002c00010000400674c6010101010202020230391f90000000010000000060022000190c000003030e00",
        want);
    check_out(want, wn);
    struct ct_pkt p;
    ct_pkt_parse(&OUT, &p);
    CHECK_EQ_U(p.tuple.sport, 12345);
    CHECK_EQ_U(p.tuple.dport, 8080);
    CHECK_EQ_U(p.tcp_flags, CT_TCP_SYN);
    CHECK_EQ_U(OUT.zone, 6);
    ct_defrag_destroy(D);
}

int main(void)
{
    RUN(test_config);
    RUN(test_not_fragment);
    RUN(test_in_order4);
    RUN(test_orders4);
    RUN(test_ipv6);
    RUN(test_duplicates);
    RUN(test_overlap);
    RUN(test_lengths);
    RUN(test_parser_invalid);
    RUN(test_too_many);
    RUN(test_timeout);
    RUN(test_eviction);
    RUN(test_keys);
    RUN(test_snapped);
    RUN(test_shuffle);
    RUN(test_random);
    RUN(test_gtp_outer_fragments);
    RUN(test_suricata_6887);
    return check_summary();
}
