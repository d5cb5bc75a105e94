/*
 * Community ID v1 (github.com/corelight/community-id-spec): a flow hash
 * that Zeek, Suricata, Arkime and others compute alike, so that records of
 * one flow from different tools can be joined on one string.
 *
 * Hash input, in this order: the 16-bit seed, the source address, the
 * destination address, the IP protocol (one byte), one zero byte, then for
 * protocols with ports the source and destination port (16 bits each); all
 * in network byte order. The endpoints are put in order first: the source
 * is the endpoint with the numerically smaller address, or with the smaller
 * port when the addresses are equal, so both directions give one value.
 * ICMP and ICMPv6 messages use the type as the source "port" and, as the
 * destination "port", the type of the matching reply or request where the
 * message has one (echo, timestamp, information, router and address-mask
 * messages; ICMPv6 echo, MLD query/report, router and neighbour discovery,
 * node information, home agent address discovery), else the code. Messages
 * without a counterpart are one-way: their endpoints are not reordered. The
 * pairs are the counterpart column of the ICMP type table (base/inet.h).
 */
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/flowlog.h"
#include "flow/sha1.h"

static int has_ports(uint8_t proto)
{
    return proto == CT_IPPROTO_TCP || proto == CT_IPPROTO_UDP || proto == CT_IPPROTO_SCTP;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

CT_EXPORT int ct_community_id_v1(const struct ct_tuple *t, uint16_t seed, unsigned flags,
                                 char *buf, size_t len)
{
    if (!t || !buf || (t->l3 != CT_L3_IPV4 && t->l3 != CT_L3_IPV6))
        return -EINVAL;
    size_t alen = t->l3 == CT_L3_IPV4 ? 4 : 16;
    int hex = (flags & CT_COMMUNITY_ID_HEX) != 0;
    size_t need = hex ? 42 : 30;
    if (len < need + 1) {
        if (len)
            buf[0] = '\0';
        return -ENOSPC;
    }

    const uint8_t *sa = t->src.b, *da = t->dst.b;
    uint16_t sp = t->sport, dp = t->dport;
    int ports = has_ports(t->proto);
    int one_way = 0;
    if ((t->proto == CT_IPPROTO_ICMP && t->l3 == CT_L3_IPV4) ||
        (t->proto == CT_IPPROTO_ICMPV6 && t->l3 == CT_L3_IPV6)) {
        uint8_t type = (uint8_t)(t->dport >> 8), code = (uint8_t)t->dport;
        int peer = ct_icmp_counterpart(t->proto == CT_IPPROTO_ICMPV6, type);
        sp = type;
        dp = peer >= 0 ? (uint16_t)peer : code;
        one_way = peer < 0;
        ports = 1;
    } else if (!ports) {
        sp = dp = 0;
    }

    if (!one_way) {
        int c = memcmp(sa, da, alen);
        if (c > 0 || (c == 0 && sp > dp)) {
            const uint8_t *ta = sa;
            sa = da;
            da = ta;
            uint16_t tp = sp;
            sp = dp;
            dp = tp;
        }
    }

    uint8_t in[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    in[n++] = (uint8_t)(seed >> 8);
    in[n++] = (uint8_t)seed;
    memcpy(in + n, sa, alen);
    n += alen;
    memcpy(in + n, da, alen);
    n += alen;
    in[n++] = t->proto;
    in[n++] = 0;
    if (ports) {
        in[n++] = (uint8_t)(sp >> 8);
        in[n++] = (uint8_t)sp;
        in[n++] = (uint8_t)(dp >> 8);
        in[n++] = (uint8_t)dp;
    }

    uint8_t d[CT_SHA1_DIGEST_LEN];
    ct_sha1(in, n, d);

    char *o = buf;
    *o++ = '1';
    *o++ = ':';
    if (hex) {
        static const char hx[] = "0123456789abcdef";
        for (unsigned i = 0; i < CT_SHA1_DIGEST_LEN; i++) {
            *o++ = hx[d[i] >> 4];
            *o++ = hx[d[i] & 15];
        }
    } else {
        /* 20 bytes: six full 3-byte groups, then 2 bytes with one '=' of padding. */
        unsigned i = 0;
        for (; i + 3 <= CT_SHA1_DIGEST_LEN; i += 3) {
            uint32_t v = ((uint32_t)d[i] << 16) | ((uint32_t)d[i + 1] << 8) | d[i + 2];
            *o++ = b64[(v >> 18) & 63];
            *o++ = b64[(v >> 12) & 63];
            *o++ = b64[(v >> 6) & 63];
            *o++ = b64[v & 63];
        }
        uint32_t v = ((uint32_t)d[i] << 16) | ((uint32_t)d[i + 1] << 8);
        *o++ = b64[(v >> 18) & 63];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = '=';
    }
    *o = '\0';
    return (int)(o - buf);
}
