/*
 * SHA-1 (RFC 3174, FIPS 180-4), for the Community ID flow hash. SHA-1 is
 * not collision resistant; the Community ID specification uses it as a
 * fixed, widely implemented mixing function, and nothing here relies on it
 * for security.
 *
 * Incremental use: ct_sha1_init(), any number of ct_sha1_update(),
 * ct_sha1_final(). ct_sha1() does all three for one buffer.
 */
#ifndef CT_EXPORT_SHA1_H
#define CT_EXPORT_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define CT_SHA1_DIGEST_LEN 20

struct ct_sha1 {
    uint32_t h[5];      /* chaining value H0..H4 */
    uint64_t total;     /* message bytes so far */
    uint8_t block[64];  /* pending bytes of the current block */
    uint32_t used;      /* bytes pending in block */
};

void ct_sha1_init(struct ct_sha1 *s);
void ct_sha1_update(struct ct_sha1 *s, const void *data, size_t len);
void ct_sha1_final(struct ct_sha1 *s, uint8_t digest[CT_SHA1_DIGEST_LEN]);
void ct_sha1(const void *data, size_t len, uint8_t digest[CT_SHA1_DIGEST_LEN]);

#endif
