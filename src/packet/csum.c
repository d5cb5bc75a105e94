/*
 * Internet checksum (RFC 1071) and transport checksum verification.
 *
 * The sum is computed eight bytes at a time: 64-bit native loads added with
 * end-around carry (an add and an add-with-carry of 0 per word, since
 * 2^64 = 1 modulo 2^16 - 1: RFC 1071 section 2(C), deferred carries), in
 * two independent chains over 64-byte blocks (section 2(D), unrolling).
 * Because the one's complement sum is independent of byte order up to a
 * final swap (RFC 1071 section 2(B)), native loads need no conversion as
 * long as every part of a sum is added the same way. The last 1 to 7 bytes
 * are one more 8-byte load that ends at the last byte, its bytes already
 * counted masked off; when it starts at an odd offset, a rotation by 8
 * bits (a multiplication by 2^8, a byte swap modulo 2^16 - 1) puts each
 * byte back in its half of a 16-bit word.
 */
#include <stdint.h>
#include <string.h>

#include "base/compiler.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "packet/packet_priv.h"

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* s + a with end-around carry: never 0 unless both are. */
static inline uint64_t add_eac(uint64_t s, uint64_t a)
{
    uint64_t r;
    unsigned carry = __builtin_add_overflow(s, a, &r);
    return r + carry;
}

/*
 * The last `r` (0 to 7) bytes of the 64-bit word `w` loaded from memory,
 * moved to where its first r bytes would be: the bytes they hold start at
 * an even offset of the buffer, so that each lands in its own half of a
 * 16-bit word. None for r = 0 (two shifts, never one by 64).
 */
static inline uint64_t last_bytes(uint64_t w, uint32_t r)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (w << 1) << (63 - 8 * r);
#else
    return (w >> 1) >> (63 - 8 * r);
#endif
}

/* Fewer than 8 bytes: 4-, 2- and 1-byte steps; a last odd byte is the
   high half of its 16-bit word in network order, padded with zero
   (RFC 1071). */
static inline uint64_t csum_short(const uint8_t *p, uint32_t n)
{
    uint64_t s = 0;
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

/*
 * The sum of n bytes at p added to `s` with end-around carry: congruent to
 * their one's complement sum plus s modulo 2^16 - 1, and 0 only when s and
 * every byte are 0. Reads nothing outside the n bytes. Inlined into the
 * transport checksum below, which for a TCP segment with a small payload
 * is a handful of words.
 */
static CT_ALWAYS_INLINE uint64_t csum_bytes(uint64_t s, const uint8_t *p, uint32_t n)
{
    if (CT_UNLIKELY(n < 8))
        return add_eac(s, csum_short(p, n));
    const uint8_t *end = p + n;
    uint64_t t = 0;
    while (n >= 64) {
        s = add_eac(s, load64(p));
        t = add_eac(t, load64(p + 8));
        s = add_eac(s, load64(p + 16));
        t = add_eac(t, load64(p + 24));
        s = add_eac(s, load64(p + 32));
        t = add_eac(t, load64(p + 40));
        s = add_eac(s, load64(p + 48));
        t = add_eac(t, load64(p + 56));
        p += 64;
        n -= 64;
    }
    if (n & 32) {
        s = add_eac(s, load64(p));
        t = add_eac(t, load64(p + 8));
        s = add_eac(s, load64(p + 16));
        t = add_eac(t, load64(p + 24));
        p += 32;
    }
    if (n & 16) {
        s = add_eac(s, load64(p));
        t = add_eac(t, load64(p + 8));
        p += 16;
    }
    if (n & 8)
        s = add_eac(s, load64(p));
    /* The last n % 8 bytes: the 8 bytes that end at `end` lie inside the
       buffer (n >= 8 at the start). */
    t = add_eac(t, last_bytes(load64(end - 8), n & 7u));
    return add_eac(s, t);
}

uint64_t ct_csum_add(uint64_t sum, const uint8_t *p, uint32_t n)
{
    uint64_t s = csum_bytes(0, p, n);
    /* Below 2^33, so that callers can add sums without overflow
       (2^32 = 1 modulo 2^16 - 1). */
    return sum + (s & 0xffffffffu) + (s >> 32);
}

/* Sum of the TCP/UDP pseudo-header for IPv4 (RFC 793 section 3.1, RFC 768). */
static inline uint64_t pseudo4(const struct ct_pkt *pkt, uint8_t proto, uint32_t len)
{
    uint32_t src, dst;
    memcpy(&src, pkt->tuple.src.b, 4);
    memcpy(&dst, pkt->tuple.dst.b, 4);
    return ct_csum_add_be32((uint64_t)src + dst, (uint32_t)proto << 16 | (len & 0xffff));
}

/*
 * The destination address of the IPv6 pseudo-header is the final
 * destination (RFC 8200 section 8.1). In transit, with a Routing header
 * whose Segments Left is not zero, that is the last address of the routing
 * header (types 0 and 2) or Segment List[0] (type 4, RFC 8754). Returns a
 * pointer to the 16 address bytes, or NULL when it cannot be found (an
 * unknown routing type): then the checksum is not checkable.
 */
static const uint8_t *final_dst6(const struct ct_pkt *pkt)
{
    const uint8_t *h = ct_pkt_span(pkt->data, pkt->len, pkt->l3_off, 40);
    if (!h)
        return NULL;
    const uint8_t *dst = h + 24;
    uint8_t nh = h[6];
    uint32_t off = pkt->l3_off + 40u;
    for (int i = 0; i < 16 && off < pkt->l4_off; i++) {
        const uint8_t *e = ct_pkt_span(pkt->data, pkt->l4_off, off, 2);
        if (!e)
            return NULL;
        uint32_t hl = nh == CT_IPPROTO_AH ? ((uint32_t)e[1] + 2) * 4 : ((uint32_t)e[1] + 1) * 8;
        if (nh == CT_IPPROTO_FRAGMENT)
            hl = 8;
        e = ct_pkt_span(pkt->data, pkt->l4_off, off, hl);
        if (!e)
            return NULL;
        if (nh == CT_IPPROTO_ROUTING && e[3] != 0) {
            uint32_t naddr = e[1] / 2u;
            if (naddr == 0)
                return NULL;
            if (e[2] == 0 || e[2] == 2)
                dst = e + 8 + (naddr - 1) * 16;
            else if (e[2] == 4)
                dst = e + 8;
            else
                return NULL;
        }
        nh = e[0];
        off += hl;
    }
    return dst;
}

/* Sum of the IPv6 upper-layer pseudo-header (RFC 8200 section 8.1). */
static int pseudo6(const struct ct_pkt *pkt, uint8_t proto, uint32_t len, uint64_t *sum)
{
    const uint8_t *dst = pkt->tuple.dst.b;
    if (pkt->l4_off != pkt->l3_off + 40u) {
        dst = final_dst6(pkt);
        if (!dst)
            return -1;
    }
    uint64_t s = 0;
    s = ct_csum_add(s, pkt->tuple.src.b, 16);
    s = ct_csum_add(s, dst, 16);
    s = ct_csum_add_be32(s, len);
    *sum = ct_csum_add_be32(s, proto);
    return 0;
}

/* Every protocol and IPv6 header chain; the caller has checked reason,
   fragment and snapped. */
static CT_NOINLINE int verify_general(const struct ct_pkt *pkt)
{
    const int v6 = pkt->tuple.l3 == CT_L3_IPV6;
    const uint8_t proto = pkt->tuple.proto;
    const uint8_t *l4;
    uint32_t cover = pkt->l4_len;  /* bytes the checksum covers */
    uint32_t plen = pkt->l4_len;   /* length in the pseudo-header */
    int pseudo = 1;

    switch (proto) {
    case CT_IPPROTO_TCP:
        break;
    case CT_IPPROTO_UDP:
        l4 = ct_pkt_span(pkt->data, pkt->len, pkt->l4_off, 8);
        if (!l4)
            return 1;
        if (ct_be16(l4 + 6) == 0)
            return v6 ? 0 : 1; /* RFC 768: none sent (IPv4); RFC 8200 8.1: mandatory (IPv6) */
        cover = plen = ct_be16(l4 + 4);
        break;
    case CT_IPPROTO_UDPLITE:
        /* RFC 3828 section 3.1: the checksum is mandatory and covers the
           first Checksum Coverage bytes (0: all); the pseudo-header carries
           the length from the IP layer. */
        l4 = ct_pkt_span(pkt->data, pkt->len, pkt->l4_off, 8);
        if (!l4)
            return 1;
        if (ct_be16(l4 + 6) == 0)
            return 0;
        if (ct_be16(l4 + 4) != 0)
            cover = ct_be16(l4 + 4);
        break;
    case CT_IPPROTO_ICMP:
        if (v6)
            return 1;
        pseudo = 0; /* RFC 792: the ICMP checksum has no pseudo-header */
        break;
    case CT_IPPROTO_ICMPV6:
        if (!v6)
            return 1;
        break;
    case CT_IPPROTO_SCTP:
        return ct_sctp_checksum_ok(pkt); /* CRC32c, RFC 9260 section 6.8 */
    default:
        return 1;
    }
    if (cover > pkt->l4_len)
        return 1;
    l4 = ct_pkt_span(pkt->data, pkt->len, pkt->l4_off, cover);
    if (!l4)
        return 1;

    uint64_t sum = 0;
    if (pseudo) {
        if (v6) {
            if (pseudo6(pkt, proto, plen, &sum) != 0)
                return 1;
        } else {
            sum = pseudo4(pkt, proto, plen);
        }
    }
    return ct_csum_fold(csum_bytes(sum, l4, cover)) == 0xffff;
}

/*
 * TCP and UDP over IPv4, or over IPv6 without extension headers: the
 * pseudo-header (RFC 9293 section 3.1, RFC 768, RFC 8200 section 8.1) from
 * the tuple's addresses, then the segment. Everything else goes to
 * verify_general().
 */
CT_EXPORT int ct_pkt_verify_checksum(const struct ct_pkt *pkt)
{
    if (pkt->reason != CT_REASON_NONE || pkt->frag != CT_FRAG_NONE || pkt->snapped)
        return 1;
    const uint8_t proto = pkt->tuple.proto;
    const int v6 = pkt->tuple.l3 == CT_L3_IPV6;
    if ((proto != CT_IPPROTO_TCP && proto != CT_IPPROTO_UDP) || (v6 && pkt->l4_off != pkt->l3_off + 40u))
        return verify_general(pkt);
    /* Both headers are at least 8 bytes; the UDP length (checked against
       the IP length by the parser) is what the UDP checksum covers. */
    const uint32_t room = pkt->len > pkt->l4_off ? pkt->len - pkt->l4_off : 0;
    if (room < 8)
        return 1;
    const uint8_t *l4 = pkt->data + pkt->l4_off;
    uint32_t cover = pkt->l4_len;
    if (proto == CT_IPPROTO_UDP) {
        if (ct_be16(l4 + 6) == 0)
            return !v6; /* RFC 768: none sent (IPv4); RFC 8200 8.1: mandatory (IPv6) */
        cover = ct_be16(l4 + 4);
        if (cover > pkt->l4_len)
            return 1;
    }
    if (cover > room)
        return 1;
    uint64_t sum;
    if (!v6) {
        uint32_t a;
        memcpy(&a, pkt->tuple.src.b, 4);
        sum = a;
        memcpy(&a, pkt->tuple.dst.b, 4);
        sum += a;
        sum = ct_csum_add_be32(sum, (uint32_t)proto << 16 | (cover & 0xffffu));
    } else {
        sum = add_eac(load64(pkt->tuple.src.b), load64(pkt->tuple.src.b + 8));
        sum = add_eac(sum, load64(pkt->tuple.dst.b));
        sum = add_eac(sum, load64(pkt->tuple.dst.b + 8));
        sum = add_eac(sum, (uint64_t)ct_csum_add_be32(0, cover) + ct_csum_add_be32(0, proto));
    }
    return ct_csum_fold(csum_bytes(sum, l4, cover)) == 0xffff;
}
