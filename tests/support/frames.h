/*
 * Frame building for the unit tests and the capture-writing tools: byte
 * order, the Internet checksum, and Ethernet, IPv4, IPv6, TCP, UDP and ICMP
 * headers written field by field.
 *
 * The checksum is a plain byte-wise sum as RFC 1071 describes it, written
 * independently of the library's fast one, so that a frame built here checks
 * the library against a reference. Every builder writes at `o` and returns
 * the number of bytes written; multi-byte fields are written in network
 * order whatever the host's order, so that what a tool writes is the same on
 * every host. Addresses given as uint32_t are in host order (IPV4_ADDR());
 * IPv6 addresses are 16 bytes in network order.
 *
 * Header-only (static inline functions), for the tests (which include it as
 * "support/frames.h") and for the programs under tools/ (which include it
 * by a relative path), so that it needs no library of its own.
 */
#ifndef CT_TESTS_SUPPORT_FRAMES_H
#define CT_TESTS_SUPPORT_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- byte order --------------------------------------------------------------------- */

static inline void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

/* An IPv4 address in host order, from its four dotted parts. */
#define IPV4_ADDR(a, b, c, d) \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* The initializer of the IPv6 address 2001:db8::`last` (RFC 3849), for
   `static const uint8_t A6[16] = IPV6_DOC_ADDR(1);`. */
#define IPV6_DOC_ADDR(last) {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (last)}

/* Writes the bytes a string of hexadecimal digit pairs spells (a frame
   copied from a capture) to `o`; returns how many. */
static inline size_t hex_bytes(const char *s, uint8_t *o)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        o[n++] = (uint8_t)v;
    }
    return n;
}

/* ---- the Internet checksum (RFC 1071) --------------------------------------------------- */

/* Adds the bytes [p, p + n) to a running sum as 16-bit big-endian words, an
   odd last byte padded with a zero byte. */
static inline uint32_t inet_sum(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

/* Folds a running sum to 16 bits and complements it: the checksum field. */
static inline uint16_t inet_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* The checksum of [p, p + n) on its own (an IPv4 header, ICMP). */
static inline uint16_t inet_csum(const uint8_t *p, size_t n)
{
    return inet_fold(inet_sum(0, p, n));
}

/* The sum of the IPv4 pseudo-header (RFC 9293 section 3.1, RFC 768):
   source, destination, protocol and transport length. */
static inline uint32_t inet_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                                    uint32_t len)
{
    return inet_sum(inet_sum(0, src, 4), dst, 4) + proto + len;
}

/* The sum of the IPv6 pseudo-header (RFC 8200 section 8.1): source,
   destination, 32-bit upper-layer length and next header. */
static inline uint32_t inet_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                                    uint32_t len)
{
    return inet_sum(inet_sum(0, src, 16), dst, 16) + (len >> 16) + (len & 0xffff) + proto;
}

/* Where the checksum field of a transport header is (TCP, UDP, UDP-Lite,
   ICMP on IPv4, ICMPv6 on IPv6), or -1 for a protocol without one here. */
static inline int transport_checksum_offset(uint8_t proto, int v6)
{
    switch (proto) {
    case 6: return 16;
    case 17: case 136: return 6;
    case 1: return v6 ? -1 : 2;
    case 58: return v6 ? 2 : -1;
    default: return -1;
    }
}

/*
 * Writes the checksum of the transport segment [l4, l4 + len) into its
 * field, starting from the pseudo-header sum `pseudo` (0 for ICMPv4). UDP
 * and UDP-Lite cover their length field's bytes (UDP-Lite: its checksum
 * coverage, 0 meaning all); a computed zero is sent as 0xffff for UDP
 * (RFC 768). The caller's pseudo-header length must be the UDP length field
 * for UDP.
 */
static inline void transport_checksum_write(uint8_t *l4, size_t len, uint8_t proto, int v6,
                                            uint32_t pseudo)
{
    int at = transport_checksum_offset(proto, v6);
    if (at < 0)
        return;
    size_t cover = len;
    if (proto == 17)
        cover = get_be16(l4 + 4);
    if (proto == 136 && get_be16(l4 + 4))
        cover = get_be16(l4 + 4);
    put_be16(l4 + at, 0);
    uint16_t c = inet_fold(inet_sum(pseudo, l4, cover));
    if (c == 0 && proto == 17)
        c = 0xffff;
    put_be16(l4 + at, c);
}

/* ---- link layer ----------------------------------------------------------------------- */

/* Ethernet II: destination, source, `ntag` VLAN tags given as (TPID, TCI)
   pairs, then the EtherType. */
static inline size_t eth_header(uint8_t *o, const uint8_t dst[6], const uint8_t src[6],
                                const uint16_t *tags, int ntag, uint16_t type)
{
    memcpy(o, dst, 6);
    memcpy(o + 6, src, 6);
    size_t off = 12;
    for (int i = 0; i < ntag; i++) {
        put_be16(o + off, tags[2 * i]);
        put_be16(o + off + 2, tags[2 * i + 1]);
        off += 4;
    }
    put_be16(o + off, type);
    return off + 2;
}

/* An Ethernet frame from 02:00:00:00:00:02 to 02:00:00:00:00:01 around the
   payload, which may overlap `o` (it is moved). */
static inline size_t eth_frame(uint8_t *o, const uint16_t *tags, int ntag, uint16_t type,
                               const uint8_t *pl, size_t plen)
{
    static const uint8_t dst[6] = {2, 0, 0, 0, 0, 1}, src[6] = {2, 0, 0, 0, 0, 2};
    size_t off = eth_header(o, dst, src, tags, ntag, type);
    if (plen)
        memmove(o + off, pl, plen);
    return off + plen;
}

/* ---- IP ------------------------------------------------------------------------------ */

/* Recomputes the header checksum of the IPv4 header at `ip` after a change. */
static inline void ipv4_refresh_checksum(uint8_t *ip)
{
    size_t hl = (ip[0] & 15u) * 4u;
    put_be16(ip + 10, 0);
    put_be16(ip + 10, inet_csum(ip, hl));
}

/*
 * IPv4 header (RFC 791): version 4, the length of the header with `olen`
 * bytes of options (a multiple of 4), no TOS, identification `id`, no flags
 * and offset, TTL 64, the header checksum; `payload_len` bytes follow it.
 */
static inline size_t ipv4_header(uint8_t *o, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id,
                                 const uint8_t *opt, size_t olen, size_t payload_len)
{
    size_t hl = 20 + olen;
    memset(o, 0, 20);
    o[0] = (uint8_t)(0x40 | hl / 4);
    put_be16(o + 2, (uint16_t)(hl + payload_len));
    put_be16(o + 4, id);
    o[8] = 64;
    o[9] = proto;
    put_be32(o + 12, src);
    put_be32(o + 16, dst);
    if (olen)
        memcpy(o + 20, opt, olen);
    ipv4_refresh_checksum(o);
    return hl;
}

/* Sets the flags and fragment offset field (0x4000 DF, 0x2000 MF, offset
   in 8-byte units) of an IPv4 header and refreshes its checksum. */
static inline void ipv4_set_frag(uint8_t *ip, uint16_t flags_offset)
{
    put_be16(ip + 6, flags_offset);
    ipv4_refresh_checksum(ip);
}

/* An IPv4 header without options around a payload, which may overlap `o`. */
static inline size_t ipv4_packet(uint8_t *o, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id,
                                 const uint8_t *pl, size_t plen)
{
    size_t hl = ipv4_header(o, proto, src, dst, id, NULL, 0, plen);
    if (plen)
        memmove(o + hl, pl, plen);
    return hl + plen;
}

/*
 * Writes the transport checksum of the whole IPv4 packet at `ip` (its total
 * length field says how long it is); fragments (offset or MF set) are left
 * alone, since their checksum covers the reassembled datagram.
 */
static inline void ipv4_fill_transport_checksum(uint8_t *ip)
{
    size_t hl = (ip[0] & 15u) * 4u, tot = get_be16(ip + 2);
    uint8_t proto = ip[9], *l4 = ip + hl;
    if (get_be16(ip + 6) & 0x3fff)
        return;
    uint32_t len = (uint32_t)(tot - hl);
    if (proto == 17)
        len = get_be16(l4 + 4);
    transport_checksum_write(l4, tot - hl, proto, 0,
                             proto == 1 ? 0 : inet_pseudo4(ip + 12, ip + 16, proto, len));
}

/* IPv6 header (RFC 8200): traffic class and flow label 0, hop limit 64. */
static inline size_t ipv6_header(uint8_t *o, uint8_t nh, const uint8_t src[16],
                                 const uint8_t dst[16], size_t payload_len)
{
    memset(o, 0, 40);
    o[0] = 0x60;
    put_be16(o + 4, (uint16_t)payload_len);
    o[6] = nh;
    o[7] = 64;
    memcpy(o + 8, src, 16);
    memcpy(o + 24, dst, 16);
    return 40;
}

/* An IPv6 header around a payload, which may overlap `o`. */
static inline size_t ipv6_packet(uint8_t *o, uint8_t nh, const uint8_t src[16],
                                 const uint8_t dst[16], const uint8_t *pl, size_t plen)
{
    size_t hl = ipv6_header(o, nh, src, dst, plen);
    if (plen)
        memmove(o + hl, pl, plen);
    return hl + plen;
}

/*
 * Writes the transport checksum of the IPv6 packet at `ip` whose transport
 * header (protocol `proto`) is at `l4off`, the packet ending where its
 * payload length says; `pseudo_dst` is the pseudo-header's destination
 * (the final one of a routing header), NULL for the header's own.
 */
static inline void ipv6_fill_transport_checksum(uint8_t *ip, size_t l4off, uint8_t proto,
                                                const uint8_t *pseudo_dst)
{
    size_t end = 40 + get_be16(ip + 4);
    uint8_t *l4 = ip + l4off;
    uint32_t len = (uint32_t)(end - l4off);
    if (proto == 17)
        len = get_be16(l4 + 4);
    transport_checksum_write(l4, end - l4off, proto, 1,
                             inet_pseudo6(ip + 8, pseudo_dst ? pseudo_dst : ip + 24, proto, len));
}

/* ---- transport --------------------------------------------------------------------------- */

/* TCP header (RFC 9293) with `olen` bytes of options (a multiple of 4),
   checksum and urgent pointer zero. */
static inline size_t tcp_header(uint8_t *o, uint16_t sport, uint16_t dport, uint32_t seq,
                                uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opt,
                                size_t olen)
{
    memset(o, 0, 20);
    put_be16(o, sport);
    put_be16(o + 2, dport);
    put_be32(o + 4, seq);
    put_be32(o + 8, ack);
    o[12] = (uint8_t)(((20 + olen) / 4) << 4);
    o[13] = flags;
    put_be16(o + 14, win);
    if (olen)
        memcpy(o + 20, opt, olen);
    return 20 + olen;
}

/* UDP header (RFC 768) for `payload_len` bytes, checksum zero (none). */
static inline size_t udp_header(uint8_t *o, uint16_t sport, uint16_t dport, size_t payload_len)
{
    put_be16(o, sport);
    put_be16(o + 2, dport);
    put_be16(o + 4, (uint16_t)(8 + payload_len));
    put_be16(o + 6, 0);
    return 8;
}

/* ICMP or ICMPv6 header with an identifier and sequence number (echo and
   the other queries; zero for errors), checksum zero. */
static inline size_t icmp_header(uint8_t *o, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
    o[0] = type;
    o[1] = code;
    put_be16(o + 2, 0);
    put_be16(o + 4, id);
    put_be16(o + 6, seq);
    return 8;
}

#endif
