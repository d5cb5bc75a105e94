/*
 * Private helpers of the packet module, shared with the rest of the library:
 * IP protocol numbers, big-endian loads, the one bounded-read accessor and
 * the Internet checksum (RFC 1071).
 */
#ifndef CT_PACKET_PACKET_PRIV_H
#define CT_PACKET_PACKET_PRIV_H

#include <stdint.h>
#include <string.h>

/* IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
enum {
    CT_IPPROTO_HOPOPTS = 0,
    CT_IPPROTO_ICMP = 1,
    CT_IPPROTO_IPIP = 4,
    CT_IPPROTO_TCP = 6,
    CT_IPPROTO_UDP = 17,
    CT_IPPROTO_DCCP = 33,
    CT_IPPROTO_IPV6 = 41,
    CT_IPPROTO_ROUTING = 43,
    CT_IPPROTO_FRAGMENT = 44,
    CT_IPPROTO_GRE = 47,
    CT_IPPROTO_ESP = 50,
    CT_IPPROTO_AH = 51,
    CT_IPPROTO_ICMPV6 = 58,
    CT_IPPROTO_NONE = 59,
    CT_IPPROTO_DSTOPTS = 60,
    CT_IPPROTO_SCTP = 132,
    CT_IPPROTO_MH = 135,
    CT_IPPROTO_UDPLITE = 136,
    CT_IPPROTO_HIP = 139,
    CT_IPPROTO_SHIM6 = 140,
};

/*
 * The bounded-read accessor every header read goes through: a pointer to
 * `n` bytes at `off`, or NULL when they do not all lie below `lim`. Callers
 * pass a `lim` no larger than the captured length, so a non-NULL result can
 * be read for `n` bytes.
 */
static inline const uint8_t *ct_pkt_span(const uint8_t *data, uint32_t lim, uint32_t off, uint32_t n)
{
    if (off > lim || n > lim - off)
        return NULL;
    return data + off;
}

static inline uint16_t ct_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t ct_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Internet checksum (RFC 1071). ct_csum_add() adds `n` bytes at `p` to a
 * running sum; the bytes are summed as native-order words, which RFC 1071
 * section 2(B) shows gives the byte-swapped sum on a little-endian machine,
 * so every part of one checksum must be added through this function or as
 * native loads of big-endian fields (ct_csum_add_be32()). `p` must start at
 * an even offset from the start of the checksummed data; an odd `n` is
 * padded with a zero byte. ct_csum_fold() folds the sum to 16 bits; a
 * region that includes its correct checksum folds to 0xffff.
 */
uint64_t ct_csum_add(uint64_t sum, const uint8_t *p, uint32_t n);

/* Adds the 32-bit value `v` as if it were stored big-endian in the data. */
static inline uint64_t ct_csum_add_be32(uint64_t sum, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    uint32_t w;
    memcpy(&w, b, 4);
    return sum + w;
}

static inline uint16_t ct_csum_fold(uint64_t sum)
{
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)sum;
}

/*
 * CRC32c (RFC 9260 appendix A) over `n` bytes, continuing from `crc` (start
 * with 0xffffffff, complement the end result). src/packet/crc32c.c.
 */
uint32_t ct_crc32c_update(uint32_t crc, const uint8_t *p, uint32_t n);

struct ct_pkt;

/*
 * 1 if a parsed SCTP packet's CRC32c checksum is right or cannot be
 * checked (not parsed, a fragment, cut by the capture), 0 if it is wrong.
 */
int ct_sctp_checksum_ok(const struct ct_pkt *pkt);

#endif
