/*
 * The Internet checksum of src/packet/csum.c and packet_priv.h, and the
 * NIC checksum flag of a frame (CT_FRAME_F_L4_CSUM_GOOD) through the table.
 *
 * The sum is compared, on random bytes of every length from 0 to 2000 at
 * every start alignment within 16 bytes, with two references: the one-chain
 * 64-bit sum with a 4-, 2- and 1-byte tail that csum.c used before its
 * two-chain sum and one-load tail (copied below), and the byte-wise RFC 1071
 * sum of support/frames.h. Every length is also summed from an exactly
 * sized heap block, so that ASan sees a read outside it. The fold is
 * compared with the five-step fold it replaced; the transport check with
 * segments whose checksums support/frames.h wrote.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "support/frames.h"
#include "support/table_fixture.h"
#include "ctrack/ctrack.h"
#include "packet/packet_priv.h"

#define SEC 1000000000ull

static uint64_t RNG = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    RNG ^= RNG << 13;
    RNG ^= RNG >> 7;
    RNG ^= RNG << 17;
    return RNG;
}

/* ---- the previous implementation, as a reference ------------------------------------ */

static uint64_t ref_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t ref_add_eac(uint64_t s, uint64_t a)
{
    uint64_t r;
    unsigned carry = __builtin_add_overflow(s, a, &r);
    return r + carry;
}

/* One end-around-carry chain of 64-bit words, unrolled by four, then the
   tail in 4-, 2- and 1-byte steps. */
static uint64_t ref_csum_bytes(const uint8_t *p, uint32_t n)
{
    uint64_t s = 0;
    while (n >= 32) {
        s = ref_add_eac(s, ref_load64(p));
        s = ref_add_eac(s, ref_load64(p + 8));
        s = ref_add_eac(s, ref_load64(p + 16));
        s = ref_add_eac(s, ref_load64(p + 24));
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        s = ref_add_eac(s, ref_load64(p));
        p += 8;
        n -= 8;
    }
    s = (s & 0xffffffffu) + (s >> 32);
    if (n & 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        s += v;
        p += 4;
    }
    if (n & 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        s += v;
        p += 2;
    }
    if (n & 1) {
        uint8_t b[2] = {p[0], 0};
        uint16_t v;
        memcpy(&v, b, 2);
        s += v;
    }
    return s;
}

/* The five-step fold. */
static uint16_t ref_fold(uint64_t sum)
{
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)sum;
}

/* ---- the sum ------------------------------------------------------------------------- */

#define MAXLEN 2000
#define ALIGNS 16

/* Fills b with random bytes, with runs of 0xff and of 0 (the carries and
   the zero sums) here and there. */
static void fill(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
    for (size_t k = 0; k < 8; k++) {
        size_t at = (size_t)(rnd() % n), len = (size_t)(rnd() % 300);
        if (at + len > n)
            len = n - at;
        memset(b + at, (k & 1) ? 0 : 0xff, len);
    }
}

static void test_sum_every_length(void)
{
    static uint8_t buf[MAXLEN + ALIGNS + 8];
    fill(buf, sizeof(buf));
    unsigned long bad = 0;
    for (size_t align = 0; align < ALIGNS; align++) {
        for (uint32_t n = 0; n <= MAXLEN; n++) {
            const uint8_t *p = buf + align;
            uint64_t got = ct_csum_add(0, p, n);
            uint64_t old = ref_csum_bytes(p, n);
            /* Both are below 2^33 and 0 only for all-zero bytes. */
            if (got >> 33 || (got == 0) != (old == 0) || ct_csum_fold(got) != ref_fold(old)) {
                if (bad++ < 5)
                    CHECK_FAIL_("align %zu len %u: %#llx against %#llx", align, n,
                                (unsigned long long)got, (unsigned long long)old);
            }
            /* The byte-wise RFC 1071 sum, in network order. */
            uint16_t want = inet_fold(inet_sum(0, p, n));
            if (ntohs((uint16_t)~ct_csum_fold(got)) != want && bad++ < 5)
                CHECK_FAIL_("align %zu len %u: not the RFC 1071 sum", align, n);
            /* Added to a running sum, and split at an even offset. */
            uint64_t run = rnd() >> 31;
            if (ct_csum_fold(ct_csum_add(run, p, n)) != ref_fold(run + old) && bad++ < 5)
                CHECK_FAIL_("align %zu len %u: with a running sum", align, n);
            uint32_t half = (uint32_t)(rnd() % (n + 1)) & ~1u;
            uint64_t two = ct_csum_add(ct_csum_add(0, p, half), p + half, n - half);
            if (ct_csum_fold(two) != ct_csum_fold(got) && bad++ < 5)
                CHECK_FAIL_("align %zu len %u: split at %u", align, n, half);
        }
    }
    CHECK_EQ_U(bad, 0);
}

/* Every length from an exactly sized heap block: a read before or after it
   is an ASan error. All ones: the most carries. */
static void test_sum_exact_blocks(void)
{
    for (uint32_t n = 0; n <= MAXLEN; n++) {
        uint8_t *b = malloc(n ? n : 1);
        if (!b) {
            CHECK_FAIL_("out of memory");
            return;
        }
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 0)
                memset(b, 0xff, n);
            else
                fill(b, n ? n : 1);
            uint64_t got = ct_csum_add(0, b, n);
            if (ct_csum_fold(got) != ref_fold(ref_csum_bytes(b, n))) {
                CHECK_FAIL_("len %u pass %d", n, pass);
                pass = 2;
                n = MAXLEN;
            }
        }
        free(b);
    }
}

static void test_fold(void)
{
    static const uint64_t edges[] = {0, 1, 0xfffe, 0xffff, 0x10000, 0x1fffe, 0xffffffff,
                                     0x100000000, 0xfffeffff, 0xffffffff0000ffffull, ~0ull,
                                     ~0ull - 1, 1ull << 63, 0x8000800080008000ull};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        CHECK_EQ_U(ct_csum_fold(edges[i]), ref_fold(edges[i]));
    unsigned long bad = 0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t v = rnd() >> (rnd() % 64);
        if (ct_csum_fold(v) != ref_fold(v) && bad++ < 5)
            CHECK_FAIL_("fold %#llx: %#x against %#x", (unsigned long long)v, ct_csum_fold(v),
                        ref_fold(v));
    }
    CHECK_EQ_U(bad, 0);
    /* ct_csum_add_be32() adds a big-endian field. */
    uint8_t f[4] = {0x12, 0x34, 0xab, 0xcd};
    CHECK_EQ_U(ct_csum_fold(ct_csum_add_be32(0, 0x1234abcdu)), ct_csum_fold(ct_csum_add(0, f, 4)));
}

/* The 20-byte IPv4 header check: right for a correct checksum, wrong for
   any one bit changed (a one-bit change moves a one's complement sum by a
   power of two, never by a multiple of 0xffff). */
static void test_ip4_header(void)
{
    uint8_t h[20];
    for (int i = 0; i < 20000; i++) {
        for (int k = 0; k < 20; k++)
            h[k] = (uint8_t)rnd();
        if (i & 1)
            memset(h + 4, 0xff, 8);
        put_be16(h + 10, 0);
        put_be16(h + 10, inet_csum(h, 20));
        CHECK_EQ_I(ct_ip4_hdr20_csum_ok(h), 1);
        unsigned bit = (unsigned)(rnd() % 160);
        h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_EQ_I(ct_ip4_hdr20_csum_ok(h), inet_csum(h, 20) == 0);
        CHECK_EQ_I(ct_ip4_hdr20_csum_ok(h), 0);
    }
    memset(h, 0, 20);
    CHECK_EQ_I(ct_ip4_hdr20_csum_ok(h), 0); /* all zero: +0, not -0 */
}

/* ---- transport verification ------------------------------------------------------------ */

static const uint8_t A6[16] = IPV6_DOC_ADDR(1);
static const uint8_t B6[16] = IPV6_DOC_ADDR(2);

/* An Ethernet frame with TCP or UDP over IPv4 or IPv6 and `plen` random
   payload bytes, its checksums right. */
static size_t build(uint8_t *fr, int v6, int udp, size_t plen)
{
    static uint8_t l4[1600], ip[1700];
    size_t l;
    if (udp) {
        l = udp_header(l4, (uint16_t)rnd(), 9999, plen);
    } else {
        uint8_t opt[12] = {1, 1, 8, 10};
        l = tcp_header(l4, (uint16_t)rnd(), 443, (uint32_t)rnd(), (uint32_t)rnd(), CT_TCP_ACK, 1000,
                       opt, (rnd() & 1) ? 12 : 0);
    }
    fill(l4 + l, plen ? plen : 1);
    l += plen;
    size_t n;
    uint8_t proto = udp ? 17 : 6;
    if (!v6) {
        n = ipv4_packet(ip, proto, (uint32_t)rnd(), (uint32_t)rnd(), 1, l4, l);
        ipv4_fill_transport_checksum(ip);
    } else {
        uint8_t a[16], b[16];
        memcpy(a, A6, 16);
        memcpy(b, B6, 16);
        for (int k = 8; k < 16; k++) {
            a[k] = (uint8_t)rnd();
            b[k] = (uint8_t)rnd();
        }
        n = ipv6_packet(ip, proto, a, b, l4, l);
        ipv6_fill_transport_checksum(ip, 40, proto, NULL);
    }
    return eth_frame(fr, NULL, 0, v6 ? 0x86dd : 0x0800, ip, n);
}

static int verify(const uint8_t *f, size_t n)
{
    uint8_t *b = malloc(n);
    memcpy(b, f, n);
    struct ct_frame fr = {.data = b, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    struct ct_pkt p;
    ct_pkt_parse(&fr, &p);
    int r = p.reason == CT_REASON_NONE ? ct_pkt_verify_checksum(&p) : -1;
    free(b);
    return r;
}

static void test_verify(void)
{
    static uint8_t f[1800];
    for (int i = 0; i < 8000; i++) {
        int v6 = i & 1, udp = (i >> 1) & 1;
        size_t plen = (size_t)(rnd() % (i < 4000 ? 80 : 1400));
        size_t n = build(f, v6, udp, plen);
        CHECK_EQ_I(verify(f, n), 1);
        /* One bit of the segment or of the addresses (pseudo-header). */
        size_t l3 = 14, l4 = l3 + (v6 ? 40 : 20);
        size_t from = l3 + (v6 ? 8 : 12);
        size_t at = from + (size_t)(rnd() % (n - from));
        f[at] ^= (uint8_t)(1u << (rnd() % 8));
        if (at < l4 && !v6)
            ipv4_refresh_checksum(f + l3); /* an address: keep the IP header right */
        if (udp && !v6 && get_be16(f + l4 + 6) == 0)
            continue; /* a zero UDP checksum over IPv4: none sent */
        int r = verify(f, n);
        /* A changed UDP length or TCP data offset may not parse (-1). */
        int header = udp ? (at == l4 + 4 || at == l4 + 5) : at == l4 + 12;
        if (r != 0 && !(header && r == -1))
            CHECK_FAIL_("v6 %d udp %d len %zu: bit at %zu: %d", v6, udp, n, at, r);
    }
    /* A descriptor whose captured length falls short of the segment (as a
       caller of ct_process_parsed() could hand in): not checkable, and
       nothing read past the length (an exactly sized block). */
    for (int i = 0; i < 400; i++) {
        int v6 = i & 1, udp = (i >> 1) & 1;
        size_t n = build(f, v6, udp, (size_t)(rnd() % 100));
        struct ct_frame fr = {.data = f, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
        struct ct_pkt p;
        ct_pkt_parse(&fr, &p);
        CHECK_EQ_U(p.reason, CT_REASON_NONE);
        for (size_t k = 0; k < n; k++) {
            uint8_t *b = malloc(k ? k : 1);
            memcpy(b, f, k);
            struct ct_pkt q = p;
            q.data = b;
            q.len = (uint32_t)k;
            uint32_t cover = udp ? get_be16(f + p.l4_off + 4) : p.l4_len;
            if (k < p.l4_off + (size_t)cover)
                CHECK_EQ_I(ct_pkt_verify_checksum(&q), 1);
            free(b);
        }
    }
    /* A zero UDP checksum: none sent over IPv4 (RFC 768), invalid over
       IPv6 (RFC 8200 section 8.1). */
    size_t n = build(f, 0, 1, 10);
    put_be16(f + 14 + 20 + 6, 0);
    CHECK_EQ_I(verify(f, n), 1);
    n = build(f, 1, 1, 10);
    put_be16(f + 14 + 40 + 6, 0);
    CHECK_EQ_I(verify(f, n), 0);
}

/* ---- the NIC's verdict: CT_FRAME_F_L4_CSUM_GOOD ------------------------------------------ */

/* A TCP SYN (or a UDP datagram) whose transport checksum is wrong, in
   Ethernet (the parser's fast path) or as raw IP (its general parser). */
static size_t bad_frame(uint8_t *f, int v6, int udp, int raw, uint16_t sport)
{
    uint8_t l4[40];
    size_t l = udp ? udp_header(l4, sport, 53, 4)
                   : tcp_header(l4, sport, 80, 1000, 0, CT_TCP_SYN, 8192, NULL, 0);
    memset(l4 + l, 0x61, 4);
    l += udp ? 4 : 0;
    uint8_t ip[128];
    size_t n;
    if (!v6) {
        n = ipv4_packet(ip, udp ? 17 : 6, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, l4, l);
        ipv4_fill_transport_checksum(ip);
    } else {
        n = ipv6_packet(ip, udp ? 17 : 6, A6, B6, l4, l);
        ipv6_fill_transport_checksum(ip, 40, udp ? 17 : 6, NULL);
    }
    ip[(v6 ? 40 : 20) + (udp ? 6 : 16)] ^= 0x21; /* the checksum field */
    if (raw) {
        memcpy(f, ip, n);
        return n;
    }
    return eth_frame(f, NULL, 0, v6 ? 0x86dd : 0x0800, ip, n);
}

static void test_offload_flag(void)
{
    uint8_t f[200];
    for (int v6 = 0; v6 <= 1; v6++)
        for (int udp = 0; udp <= 1; udp++)
            for (int raw = 0; raw <= 1; raw++) {
                struct ct_table *t = mk_table(64, 0);
                uint16_t sport = (uint16_t)(1000 + v6 * 4 + udp * 2 + raw);
                size_t n = bad_frame(f, v6, udp, raw, sport);
                struct ct_frame fr = {.data = f,
                                      .len = (uint32_t)n,
                                      .link = raw ? (v6 ? CT_LINK_IPV6 : CT_LINK_IPV4)
                                                  : CT_LINK_ETHERNET};
                struct ct_pkt p;
                struct ct_verdict v;
                /* Without the flag: the table sums and finds it wrong. */
                CHECK_EQ_I(ct_process(t, &fr, &p, &v, SEC, CT_PROCESS_COMMIT), 0);
                CHECK_EQ_U(p.reason, CT_REASON_NONE);
                CHECK_EQ_U(p.frame_flags, 0);
                CHECK_EQ_U(v.state, CT_STATE_INVALID);
                CHECK_EQ_U(v.reason, CT_REASON_L4_CHECKSUM);
                CHECK(v.conn == NULL);
                /* With it: tracked, and the parser copied the flag. */
                fr.flags = CT_FRAME_F_L4_CSUM_GOOD;
                CHECK_EQ_I(ct_process(t, &fr, &p, &v, SEC, CT_PROCESS_COMMIT), 0);
                CHECK_EQ_U(p.frame_flags, CT_FRAME_F_L4_CSUM_GOOD);
                CHECK_EQ_U(v.state, CT_STATE_NEW);
                CHECK_EQ_U(v.reason, CT_REASON_NONE);
                CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
                CHECK_PTR(v.conn);
                /* ct_pkt_verify_checksum() still sums. */
                CHECK_EQ_I(ct_pkt_verify_checksum(&p), 0);
                struct ct_table_stats s;
                ct_table_stats(t, &s);
                CHECK_EQ_U(s.reasons[CT_REASON_L4_CHECKSUM], 1);
                CHECK_EQ_U(s.connections, 1);
                ct_table_destroy(t);
            }

    /* Parsed first, the flag set on the descriptor (ct_process_parsed()). */
    struct ct_table *t = mk_table(64, 0);
    size_t n = bad_frame(f, 0, 0, 0, 4000);
    struct ct_frame fr = {.data = f, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    struct ct_pkt p[2];
    struct ct_verdict v[2];
    ct_pkt_parse(&fr, &p[0]);
    p[1] = p[0];
    p[1].frame_flags |= CT_FRAME_F_L4_CSUM_GOOD;
    CHECK_EQ_I(ct_process_parsed(t, p, v, 2, SEC, CT_PROCESS_COMMIT), 2);
    CHECK_EQ_U(v[0].reason, CT_REASON_L4_CHECKSUM);
    CHECK_EQ_U(v[1].state, CT_STATE_NEW);
    CHECK_EQ_U(v[1].flags, CT_VERDICT_CREATED);
    ct_table_destroy(t);

    /* The IPv4 header checksum is still the parser's to check. */
    t = mk_table(64, 0);
    n = bad_frame(f, 0, 0, 0, 4001);
    f[14 + 10] ^= 0x01;
    fr.len = (uint32_t)n;
    fr.flags = CT_FRAME_F_L4_CSUM_GOOD;
    CHECK_EQ_I(ct_process(t, &fr, &p[0], &v[0], SEC, CT_PROCESS_COMMIT), 0);
    CHECK_EQ_U(v[0].state, CT_STATE_INVALID);
    CHECK_EQ_U(v[0].reason, CT_REASON_IP_CHECKSUM);
    ct_table_destroy(t);

    /* Frames handed out by the library carry no flag: an inner frame's
       checksum is not the one the NIC checked. */
    uint8_t vx[256];
    uint8_t inner[128];
    size_t in = bad_frame(inner, 0, 1, 0, 4002);
    uint8_t l4[200];
    size_t l = udp_header(l4, 50000, 4789, 8 + in);
    l4[l] = 0x08; /* VXLAN: I flag, VNI 0 */
    memset(l4 + l + 1, 0, 7);
    memcpy(l4 + l + 8, inner, in);
    uint8_t ip[256];
    size_t ipn =
        ipv4_packet(ip, 17, IPV4_ADDR(10, 9, 9, 1), IPV4_ADDR(10, 9, 9, 2), 1, l4, l + 8 + in);
    ipv4_fill_transport_checksum(ip);
    n = eth_frame(vx, NULL, 0, 0x0800, ip, ipn);
    struct ct_frame outer = {.data = vx, .len = (uint32_t)n, .link = CT_LINK_ETHERNET,
                             .flags = CT_FRAME_F_L4_CSUM_GOOD};
    struct ct_frame innerf;
    memset(&innerf, 0x77, sizeof(innerf));
    ct_pkt_parse(&outer, &p[0]);
    CHECK_EQ_U(p[0].encap, CT_ENCAP_VXLAN);
    CHECK_EQ_I(ct_pkt_inner_frame(&p[0], &innerf), 0);
    CHECK_EQ_U(innerf.flags, 0);
}

int main(void)
{
    RUN(test_sum_every_length);
    RUN(test_sum_exact_blocks);
    RUN(test_fold);
    RUN(test_ip4_header);
    RUN(test_verify);
    RUN(test_offload_flag);
    return check_summary();
}
