/*
 * Private helpers of the packet module, shared with the rest of the library:
 * big-endian loads, the one bounded-read accessor and the Internet checksum
 * (RFC 1071). Protocol numbers are in base/inet.h, included here for the
 * modules that read packets.
 */
#ifndef CT_PACKET_PACKET_PRIV_H
#define CT_PACKET_PACKET_PRIV_H

#include <stdint.h>
#include <string.h>

#include "base/inet.h"
#include "ctrack/packet.h"

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

/* Big-endian loads, as one load and a byte swap where that is what they are. */
static inline uint16_t ct_be16(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint16_t v;
    memcpy(&v, p, 2);
    return __builtin_bswap16(v);
#else
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
#endif
}

static inline uint32_t ct_be32(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
#else
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
#endif
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
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return sum + __builtin_bswap32(v);
#else
    return sum + v;
#endif
}

/*
 * Folds with end-around carry (RFC 1071 section 4.1): adding a value to
 * itself rotated by half its width leaves the one's complement sum of its
 * two halves in the upper half, carry included. 64 to 32 bits, then 32 to
 * 16. A sum of 0 folds to 0, any other sum to its residue modulo 0xffff
 * in 1..0xffff.
 */
static inline uint16_t ct_csum_fold(uint64_t sum)
{
    sum += sum >> 32 | sum << 32;
    uint32_t s = (uint32_t)(sum >> 32);
    s += s >> 16 | s << 16;
    return (uint16_t)(s >> 16);
}

/*
 * 1 if the 20-byte IPv4 header at `h` (no options) has a correct header
 * checksum (RFC 791): its five 32-bit words, checksum field included, sum
 * to 0xffff in one's complement. RFC 1071 section 2(B): the words are
 * added as native loads, whatever the byte order, and 0xffff reads the same
 * either way; two 64-bit loads and one 32-bit load, two end-around-carry
 * additions, one fold.
 */
static inline int ct_ip4_hdr20_csum_ok(const uint8_t *h)
{
    uint64_t a, b, s, t;
    uint32_t c;
    memcpy(&a, h, 8);
    memcpy(&b, h + 8, 8);
    memcpy(&c, h + 16, 4);
    /* A carry out of 64 bits is worth 1 (2^64 = 1 modulo 0xffff); adding
       it back cannot carry again, as the sum that carried is small. */
    s = a + (uint64_t)c;
    s += s < c;
    unsigned carry = __builtin_add_overflow(s, b, &t);
    return ct_csum_fold(t + carry) == 0xffff;
}

/*
 * The SACK blocks (RFC 2018 section 3) of a parsed TCP segment's first SACK
 * option: a pointer to the first of *n blocks of 8 bytes (left edge, then
 * right edge, each big-endian), or NULL with *n = 0 when the segment has no
 * SACK option or its first one is malformed (a length other than 2 + 8n,
 * n >= 1). The parser recorded where that option is (pkt->tcp_sack_off)
 * after checking that its kind, length and all the bytes its length covers
 * lie inside the captured header, so this reads no byte the parser did not
 * bound.
 */
static inline const uint8_t *ct_pkt_sack_blocks(const struct ct_pkt *pkt, unsigned *n)
{
    *n = 0;
    if (pkt->tcp_sack_off == 0)
        return NULL;
    const uint8_t *o = pkt->data + pkt->l4_off + pkt->tcp_sack_off;
    if (o[1] < 10 || ((o[1] - 2u) & 7u) != 0)
        return NULL;
    *n = (unsigned)(o[1] - 2u) / 8u;
    return o + 2;
}

/*
 * The parser in two halves, for the test that proves them equal
 * (tests/unit/test_parse_fast.c); ct_pkt_parse_flags() is the fast path,
 * then the general parser when the fast path declines. The fast path
 * returns 1 when it parsed the frame (*pkt is complete), 0 when the frame
 * is not one it takes (*pkt is then partly written, and the general parser
 * starts over).
 */
int ct_pkt_parse_fast(const struct ct_frame *frame, struct ct_pkt *pkt, unsigned flags);
void ct_pkt_parse_general(const struct ct_frame *frame, struct ct_pkt *pkt, unsigned flags);

/*
 * CRC32c (RFC 9260 appendix A) over `n` bytes, continuing from `crc` (start
 * with 0xffffffff, complement the end result). src/packet/crc32c.c.
 */
uint32_t ct_crc32c_update(uint32_t crc, const uint8_t *p, uint32_t n);

/*
 * 1 if a parsed SCTP packet's CRC32c checksum is right or cannot be
 * checked (not parsed, a fragment, cut by the capture), 0 if it is wrong.
 */
int ct_sctp_checksum_ok(const struct ct_pkt *pkt);

#endif
