/* Tuples: inversion, comparison, conntrack-style text, steering hash. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/tuple.h"

/* 1 if the tuple is ICMP over IPv4 or ICMPv6 over IPv6: its "ports" are an
   identifier and a type/code pair. */
static int tuple_is_icmp(const struct ct_tuple *t)
{
    return (t->l3 == CT_L3_IPV4 && t->proto == CT_IPPROTO_ICMP) ||
           (t->l3 == CT_L3_IPV6 && t->proto == CT_IPPROTO_ICMPV6);
}

CT_EXPORT int ct_tuple_invert(const struct ct_tuple *t, struct ct_tuple *reply)
{
    struct ct_tuple r = *t;
    r.src = t->dst;
    r.dst = t->src;
    if (tuple_is_icmp(t)) {
        int rt = ct_icmp_reply_type(t->l3 == CT_L3_IPV6, (uint8_t)(t->dport >> 8));
        if (rt < 0)
            return -EINVAL;
        r.sport = t->sport;
        r.dport = (uint16_t)((unsigned)rt << 8 | (t->dport & 0xffu));
    } else {
        r.sport = t->dport;
        r.dport = t->sport;
    }
    *reply = r;
    return 0;
}

CT_EXPORT int ct_tuple_equal(const struct ct_tuple *a, const struct ct_tuple *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/* Protocols whose tuple carries ports, printed as sport=/dport=. DCCP is
   not one: Linux 6.16 removed its DCCP tracker, so the kernel keys DCCP
   like any other protocol, by addresses only. */
static int tuple_has_ports(const struct ct_tuple *t)
{
    return t->proto == CT_IPPROTO_TCP || t->proto == CT_IPPROTO_UDP || t->proto == CT_IPPROTO_UDPLITE ||
           t->proto == CT_IPPROTO_SCTP;
}

CT_EXPORT int ct_tuple_format(const struct ct_tuple *t, char *buf, size_t len)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    int af = t->l3 == CT_L3_IPV6 ? AF_INET6 : AF_INET;
    if (!inet_ntop(af, t->src.b, src, sizeof(src)))
        src[0] = '\0';
    if (!inet_ntop(af, t->dst.b, dst, sizeof(dst)))
        dst[0] = '\0';
    char scratch[1];
    if (!buf || len == 0) {
        buf = scratch;
        len = 0;
    }
    if (tuple_is_icmp(t))
        return snprintf(buf, len, "src=%s dst=%s type=%u code=%u id=%u", src, dst, (unsigned)(t->dport >> 8),
                        (unsigned)(t->dport & 0xffu), (unsigned)t->sport);
    if (tuple_has_ports(t))
        return snprintf(buf, len, "src=%s dst=%s sport=%u dport=%u", src, dst, (unsigned)t->sport,
                        (unsigned)t->dport);
    /* GRE: the keys (PPTP call IDs, RFC 2637) are the "ports", printed in
       hexadecimal as conntrack prints them, zero for GRE version 0. */
    if (t->proto == CT_IPPROTO_GRE)
        return snprintf(buf, len, "src=%s dst=%s srckey=0x%x dstkey=0x%x", src, dst, (unsigned)t->sport,
                        (unsigned)t->dport);
    return snprintf(buf, len, "src=%s dst=%s", src, dst);
}

CT_EXPORT const char *ct_proto_name(uint8_t proto)
{
    switch (proto) {
    case CT_IPPROTO_TCP: return "tcp";
    case CT_IPPROTO_UDP: return "udp";
    case CT_IPPROTO_UDPLITE: return "udplite";
    case CT_IPPROTO_ICMP: return "icmp";
    case CT_IPPROTO_ICMPV6: return "icmpv6";
    case CT_IPPROTO_SCTP: return "sctp";
    case CT_IPPROTO_DCCP: return "dccp";
    case CT_IPPROTO_GRE: return "gre";
    case CT_IPPROTO_ESP: return "esp";
    case CT_IPPROTO_AH: return "ah";
    default: return "unknown";
    }
}

/*
 * One mixing step: the 128-bit product of (h ^ v) and an odd key-derived
 * multiplier, folded by xoring its halves (the "multiply and fold" mixer of
 * wyhash/MUM hashing). Not a PRF like SipHash, but every input bit reaches
 * every output bit within two steps, which is what steering needs.
 */
static inline uint64_t steer_mix(uint64_t h, uint64_t v, uint64_t m)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 p = (unsigned __int128)(h ^ v) * m;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
    uint64_t x = (h ^ v) * m;
    return x ^ (x >> 29) ^ (x >> 47);
#endif
}

static inline uint64_t load_addr64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/*
 * Symmetric steering hash. Construction: the two endpoints (address, port)
 * are put in a canonical order (the smaller address first, ties broken by
 * port), so a tuple and its plain inverse present the same words; for ICMP
 * the ports are replaced by the identifier alone, because inversion changes
 * the type (echo 8 <-> 0) but keeps the identifier. The words (addresses as
 * 64-bit lanes, then ports, zone, family and protocol in one lane) are
 * absorbed with a keyed multiply-and-fold mixer; the seed sets both the
 * initial state and the multiplier, and a final mix spreads the last word.
 */
CT_EXPORT uint32_t ct_tuple_steer_hash(const struct ct_tuple *t, uint64_t seed)
{
    const int v6 = t->l3 == CT_L3_IPV6;
    const size_t alen = v6 ? 16 : 4;
    const union ct_addr *a = &t->src, *b = &t->dst;
    uint16_t pa, pb;
    if (tuple_is_icmp(t)) {
        pa = t->sport;
        pb = 0;
    } else {
        pa = t->sport;
        pb = t->dport;
    }
    int c = memcmp(a->b, b->b, alen);
    if (c > 0 || (c == 0 && pa > pb)) {
        const union ct_addr *tmp = a;
        a = b;
        b = tmp;
        uint16_t tp = pa;
        pa = pb;
        pb = tp;
    }
    if (tuple_is_icmp(t)) {
        pa = t->sport; /* the identifier, whichever endpoint is first */
        pb = 0;
    }
    const uint64_t m = (seed ^ 0x9e3779b97f4a7c15ull) | 1u;
    uint64_t h = seed ^ 0xa0761d6478bd642full;
    if (v6) {
        h = steer_mix(h, load_addr64(a->b), m);
        h = steer_mix(h, load_addr64(a->b + 8), m);
        h = steer_mix(h, load_addr64(b->b), m);
        h = steer_mix(h, load_addr64(b->b + 8), m);
    } else {
        h = steer_mix(h, (uint64_t)a->w[0] << 32 | b->w[0], m);
    }
    uint64_t last = (uint64_t)pa | (uint64_t)pb << 16 | (uint64_t)t->zone << 32 | (uint64_t)t->l3 << 48 |
                    (uint64_t)t->proto << 56;
    h = steer_mix(h, last, m);
    h = steer_mix(h, 0xe7037ed1a0b428dbull, m);
    return (uint32_t)(h ^ (h >> 32));
}
