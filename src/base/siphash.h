/*
 * SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012)
 * with the number of compression rounds (c) and finalisation rounds (d) as
 * parameters: SipHash-2-4 is the published standard, SipHash-1-3 the faster
 * variant. The table uses SipHash-1-3 only to draw its NH key words from its
 * 128-bit secret (connection keys are hashed with NH plus a mix, see
 * table/table.h); the defragmenter hashes its datagram keys with it, and the
 * Zeek model derives connection uids with ct_siphash().
 *
 * The key is two 64-bit words k0, k1 (the little-endian reading of the 16
 * key bytes). Message words are read little-endian on every host.
 *
 * ct_siphash() is the general function. ct_siphash_inline() is the same
 * algorithm for callers that pass a constant length and constant round
 * counts, so that the compiler unrolls it completely (ct_siphash13() over
 * a fixed-size key).
 */
#ifndef CT_COMMON_SIPHASH_H
#define CT_COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t ct_sip_rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t ct_sip_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* One SipRound over the state v[0..3]. */
#define CT_SIPROUND(v0, v1, v2, v3)                                                         \
    do {                                                                                   \
        v0 += v1;                                                                          \
        v1 = ct_sip_rotl(v1, 13);                                                          \
        v1 ^= v0;                                                                          \
        v0 = ct_sip_rotl(v0, 32);                                                          \
        v2 += v3;                                                                          \
        v3 = ct_sip_rotl(v3, 16);                                                          \
        v3 ^= v2;                                                                          \
        v0 += v3;                                                                          \
        v3 = ct_sip_rotl(v3, 21);                                                          \
        v3 ^= v0;                                                                          \
        v2 += v1;                                                                          \
        v1 = ct_sip_rotl(v1, 17);                                                          \
        v1 ^= v2;                                                                          \
        v2 = ct_sip_rotl(v2, 32);                                                          \
    } while (0)

static inline uint64_t ct_siphash_inline(uint64_t k0, uint64_t k1, const void *data, size_t len,
                                         unsigned crounds, unsigned drounds)
{
    const uint8_t *p = (const uint8_t *)data;
    /* Initialisation constants: "somepseudorandomlygeneratedbytes". */
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len & ~(size_t)7;

    for (size_t off = 0; off < full; off += 8) {
        uint64_t m = ct_sip_load64(p + off);
        v3 ^= m;
        for (unsigned r = 0; r < crounds; r++)
            CT_SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }

    /* Last block: the remaining 0-7 bytes, and the length mod 256 on top. */
    uint64_t b = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    for (unsigned r = 0; r < crounds; r++)
        CT_SIPROUND(v0, v1, v2, v3);
    v0 ^= b;

    v2 ^= 0xff;
    for (unsigned r = 0; r < drounds; r++)
        CT_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* SipHash-c-d of data[0..len) under the key (k0, k1). */
uint64_t ct_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len, unsigned crounds,
                    unsigned drounds);

/* SipHash-1-3: the table's NH key generator and the defragmenter's hash. */
static inline uint64_t ct_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    return ct_siphash_inline(k0, k1, data, len, 1, 3);
}

#endif
