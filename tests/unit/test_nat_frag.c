/*
 * Tests of ct_nat_fragment() (ctrack/nat.h): fragments of a translated
 * datagram.
 *
 * Each case builds a datagram twice from scratch, as it arrived and as NAT
 * leaves it (other addresses and ports, checksums computed afresh by the
 * byte-wise RFC 1071 reference of support/frames.h, not by the library),
 * and cuts both at the same boundaries (RFC 791 section 3.2, RFC 8200
 * section 4.5). Every fragment of the first, fixed by ct_nat_fragment(),
 * must be byte for byte the fragment of the second.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ctrack/nat.h"
#include "ctrack/packet.h"
#include "support/frames.h"

#define A4 IPV4_ADDR(192, 0, 2, 10)
#define B4 IPV4_ADDR(198, 51, 100, 20)
#define C4 IPV4_ADDR(203, 0, 113, 1)

static const uint8_t A6[16] = IPV6_DOC_ADDR(1);
static const uint8_t B6[16] = IPV6_DOC_ADDR(2);
static const uint8_t C6[16] = IPV6_DOC_ADDR(0x99);

#define BUF 4096
#define ETH 14

/* IPv4 / UDP or TCP sport -> dport with `plen` payload bytes, both checksums. */
static size_t dgram4(uint8_t *o, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
                     uint16_t dport, size_t plen)
{
    size_t th = proto == 6 ? 32 : 8;
    size_t hl = ipv4_header(o, proto, src, dst, 0x4242, NULL, 0, th + plen);
    uint8_t *l4 = o + hl;
    if (proto == 6) {
        static const uint8_t opt[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
        tcp_header(l4, sport, dport, 1000, 2000, 0x18, 512, opt, sizeof(opt));
    } else {
        udp_header(l4, sport, dport, plen);
    }
    for (size_t i = 0; i < plen; i++)
        l4[th + i] = (uint8_t)(i * 31 + (i >> 7));
    ipv4_fill_transport_checksum(o);
    return hl + th + plen;
}

/* IPv6 with a Hop-by-Hop Options header (PadN) when `hbh`, then UDP. */
static size_t dgram6(uint8_t *o, const uint8_t *src, const uint8_t *dst, uint16_t sport,
                     uint16_t dport, size_t plen, int hbh)
{
    size_t el = hbh ? 8 : 0;
    ipv6_header(o, hbh ? 0 : 17, src, dst, el + 8 + plen);
    if (hbh) {
        static const uint8_t ext[8] = {17, 0, 1, 4, 0, 0, 0, 0};
        memcpy(o + 40, ext, 8);
    }
    uint8_t *u = o + 40 + el;
    udp_header(u, sport, dport, plen);
    for (size_t i = 0; i < plen; i++)
        u[8 + i] = (uint8_t)(i * 7 + 3);
    ipv6_fill_transport_checksum(o, 40 + el, 17, NULL);
    return 40 + el + 8 + plen;
}

/* Fragment [off, off + len) of the IPv4 datagram `d` behind an Ethernet header. */
static size_t frag4(uint8_t *o, const uint8_t *d, size_t off, size_t len, int more)
{
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    size_t e = eth_header(o, mac, mac, NULL, 0, 0x0800);
    uint8_t *ip = o + e;
    size_t hl = (d[0] & 15u) * 4u;
    memcpy(ip, d, hl);
    memcpy(ip + hl, d + hl + off, len);
    put_be16(ip + 2, (uint16_t)(hl + len));
    put_be16(ip + 6, (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
    ipv4_refresh_checksum(ip);
    return e + hl + len;
}

/* Fragment [off, off + len) of the IPv6 datagram `d` whose unfragmentable
   part is `ul` bytes, the next-header byte naming what follows it at
   `nh_off`, behind an Ethernet header. */
static size_t frag6(uint8_t *o, const uint8_t *d, size_t ul, size_t nh_off, size_t off, size_t len,
                    int more)
{
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    size_t e = eth_header(o, mac, mac, NULL, 0, 0x86dd);
    uint8_t *ip = o + e;
    memcpy(ip, d, ul);
    ip[nh_off] = 44;
    uint8_t *fh = ip + ul;
    fh[0] = d[nh_off];
    fh[1] = 0;
    put_be16(fh + 2, (uint16_t)(off | (more ? 1u : 0u)));
    put_be32(fh + 4, 0x01020304);
    memcpy(fh + 8, d + ul + off, len);
    put_be16(ip + 4, (uint16_t)(ul - 40 + 8 + len));
    return e + ul + 8 + len;
}

static struct ct_frame raw(const uint8_t *d, size_t n, uint16_t link)
{
    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = d;
    f.len = (uint32_t)n;
    f.link = link;
    return f;
}

static int fix(uint8_t *f, size_t n, const struct ct_frame *b, const struct ct_frame *a)
{
    struct ct_frame_rw rw;
    memset(&rw, 0, sizeof(rw));
    rw.data = f;
    rw.len = (uint32_t)n;
    rw.link = CT_LINK_ETHERNET;
    return ct_nat_fragment(&rw, b, a);
}

/*
 * Cuts `before` and `after` (IPv4 or IPv6 with an unfragmentable part of
 * ul bytes) at the data offsets cuts[0..n) and checks every fixed fragment
 * of `before` against the fragment of `after`.
 */
static void check_cuts(const uint8_t *before, const uint8_t *after, size_t dlen, int v6, size_t ul,
                       size_t nh_off, const size_t *cuts, unsigned n)
{
    struct ct_frame b = raw(before, dlen, v6 ? CT_LINK_IPV6 : CT_LINK_IPV4);
    struct ct_frame a = raw(after, dlen, v6 ? CT_LINK_IPV6 : CT_LINK_IPV4);
    size_t total = dlen - ul;
    for (unsigned i = 0; i < n; i++) {
        size_t off = cuts[i], end = i + 1 < n ? cuts[i + 1] : total;
        int more = i + 1 < n;
        uint8_t got[BUF], want[BUF];
        size_t gl, wl;
        if (v6) {
            gl = frag6(got, before, ul, nh_off, off, end - off, more);
            wl = frag6(want, after, ul, nh_off, off, end - off, more);
        } else {
            gl = frag4(got, before, off, end - off, more);
            wl = frag4(want, after, off, end - off, more);
        }
        CHECK_EQ_U(gl, wl);
        /* Every case translates an address: every fragment changes. */
        CHECK_EQ_I(fix(got, gl, &b, &a), 1);
        if (memcmp(got, want, wl) != 0)
            CHECK_FAIL_("fragment at %zu: fixed bytes differ from the translated datagram's", off);
        /* Fixing it again with the translated datagram as `before` is a no-op. */
        CHECK_EQ_I(fix(got, gl, &a, &a), 0);
    }
}

/* SNAT of UDP over IPv4: addresses in every fragment, the port and
   checksum in the first. */
static void test_udp4_snat(void)
{
    uint8_t b[BUF], a[BUF];
    size_t n = dgram4(b, 17, A4, B4, 40000, 53, 3000);
    CHECK_EQ_U(dgram4(a, 17, C4, B4, 1024, 53, 3000), n);
    static const size_t cuts[] = {0, 1480, 2960};
    check_cuts(b, a, n, 0, 20, 0, cuts, 3);
}

/* DNAT of TCP over IPv4, first fragment 16 bytes: the header (32 bytes with
   options) runs into the second fragment, whose data then changes too. */
static void test_tcp4_split_header(void)
{
    uint8_t b[BUF], a[BUF];
    size_t n = dgram4(b, 6, A4, B4, 40000, 80, 1200);
    CHECK_EQ_U(dgram4(a, 6, A4, C4, 40000, 8080, 1200), n);
    static const size_t cuts[] = {0, 16, 64, 1000};
    check_cuts(b, a, n, 0, 20, 0, cuts, 4);
    static const size_t even[] = {0, 616};
    check_cuts(b, a, n, 0, 20, 0, even, 2);
}

/* DNAT of UDP over IPv6, with and without a Hop-by-Hop header in the
   unfragmentable part. */
static void test_udp6_dnat(void)
{
    uint8_t b[BUF], a[BUF];
    size_t n = dgram6(b, A6, B6, 5000, 53, 2500, 0);
    CHECK_EQ_U(dgram6(a, A6, C6, 5000, 5353, 2500, 0), n);
    static const size_t cuts[] = {0, 1232, 2464};
    check_cuts(b, a, n, 1, 40, 6, cuts, 3);
    n = dgram6(b, A6, B6, 5000, 53, 2500, 1);
    CHECK_EQ_U(dgram6(a, C6, B6, 7000, 53, 2500, 1), n);
    check_cuts(b, a, n, 1, 48, 40, cuts, 3);
}

/* A datagram NAT left alone: every fragment comes back unchanged, 0. */
static void test_untranslated(void)
{
    uint8_t b[BUF], f[BUF], g[BUF];
    size_t n = dgram4(b, 17, A4, B4, 40000, 53, 2000);
    struct ct_frame d = raw(b, n, CT_LINK_IPV4);
    size_t fl = frag4(f, b, 0, 1480, 1);
    memcpy(g, f, fl);
    CHECK_EQ_I(fix(f, fl, &d, &d), 0);
    CHECK(memcmp(f, g, fl) == 0);
}

/* Bad input: nothing is written and the error says why. */
static void test_bad_input(void)
{
    uint8_t b[BUF], a[BUF], f[BUF], g[BUF];
    size_t n = dgram4(b, 17, A4, B4, 40000, 53, 3000);
    dgram4(a, 17, C4, B4, 1024, 53, 3000);
    struct ct_frame bf = raw(b, n, CT_LINK_IPV4), af = raw(a, n, CT_LINK_IPV4);
    size_t fl = frag4(f, b, 0, 1480, 1);
    memcpy(g, f, fl);
    struct ct_frame_rw rw;
    memset(&rw, 0, sizeof(rw));
    rw.data = f;
    rw.len = (uint32_t)fl;
    rw.link = CT_LINK_ETHERNET;

    CHECK_EQ_I(ct_nat_fragment(NULL, &bf, &af), -EINVAL);
    CHECK_EQ_I(ct_nat_fragment(&rw, NULL, &af), -EINVAL);
    CHECK_EQ_I(ct_nat_fragment(&rw, &bf, NULL), -EINVAL);
    /* Datagrams of different lengths or links, or not raw IP. */
    struct ct_frame shorter = raw(a, n - 8, CT_LINK_IPV4);
    CHECK_EQ_I(ct_nat_fragment(&rw, &bf, &shorter), -EINVAL);
    struct ct_frame eth = raw(b, n, CT_LINK_ETHERNET);
    CHECK_EQ_I(ct_nat_fragment(&rw, &eth, &eth), -EINVAL);
    struct ct_frame as6 = raw(b, n, CT_LINK_IPV6);
    CHECK_EQ_I(ct_nat_fragment(&rw, &as6, &as6), -EINVAL);
    /* A datagram whose total length is not its length. */
    struct ct_frame cut = raw(b, n - 8, CT_LINK_IPV4), cuta = raw(a, n - 8, CT_LINK_IPV4);
    CHECK_EQ_I(ct_nat_fragment(&rw, &cut, &cuta), -EINVAL);
    CHECK(memcmp(f, g, fl) == 0);

    /* Another datagram: other identification, protocol or address. */
    put_be16(f + ETH + 4, 0x4243);
    ipv4_refresh_checksum(f + ETH);
    CHECK_EQ_I(fix(f, fl, &bf, &af), -EINVAL);
    memcpy(f, g, fl);
    f[ETH + 15] ^= 1;
    ipv4_refresh_checksum(f + ETH);
    CHECK_EQ_I(fix(f, fl, &bf, &af), -EINVAL);
    memcpy(f, g, fl);
    /* Data that is not the datagram's at that offset. */
    f[fl - 1] ^= 0xff;
    memcpy(g, f, fl);
    CHECK_EQ_I(fix(f, fl, &bf, &af), -EINVAL);
    CHECK(memcmp(f, g, fl) == 0);
    /* A fragment past the datagram's end. */
    size_t pl = frag4(f, b, 1480, 1520, 0);
    put_be16(f + ETH + 6, (uint16_t)(2960 / 8));
    ipv4_refresh_checksum(f + ETH);
    memcpy(g, f, pl);
    CHECK_EQ_I(fix(f, pl, &bf, &af), -EINVAL);
    CHECK(memcmp(f, g, pl) == 0);
    /* Not captured whole. */
    fl = frag4(f, b, 1480, 1480, 1);
    memcpy(g, f, fl);
    rw.len = (uint32_t)fl - 1;
    rw.wire_len = (uint32_t)fl;
    CHECK_EQ_I(ct_nat_fragment(&rw, &bf, &af), -ENOENT);
    rw.len = ETH + 10;
    CHECK_EQ_I(ct_nat_fragment(&rw, &bf, &af), -ENOENT);
    CHECK(memcmp(f, g, fl) == 0);
    /* Not a fragment: the whole datagram itself. */
    struct ct_frame_rw whole = {.data = b, .len = (uint32_t)n, .link = CT_LINK_IPV4};
    CHECK_EQ_I(ct_nat_fragment(&whole, &bf, &af), -EINVAL);
    /* An IPv6 fragment against an IPv4 datagram, and the other way round. */
    uint8_t b6[BUF];
    size_t n6 = dgram6(b6, A6, B6, 5000, 53, 2500, 0);
    struct ct_frame d6 = raw(b6, n6, CT_LINK_IPV6);
    fl = frag6(f, b6, 40, 6, 0, 1232, 1);
    CHECK_EQ_I(fix(f, fl, &bf, &af), -EINVAL);
    fl = frag4(f, b, 0, 1480, 1);
    CHECK_EQ_I(fix(f, fl, &d6, &d6), -EINVAL);
    /* An empty frame holds no fragment. */
    rw.len = 0;
    rw.wire_len = 0;
    CHECK(ct_nat_fragment(&rw, &bf, &af) < 0);
}

int main(void)
{
    RUN(test_udp4_snat);
    RUN(test_tcp4_split_header);
    RUN(test_udp6_dnat);
    RUN(test_untranslated);
    RUN(test_bad_input);
    return check_summary();
}
