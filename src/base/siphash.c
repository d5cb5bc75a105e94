/* SipHash with parameterised round counts; see siphash.h. */
#include "base/siphash.h"

uint64_t ct_siphash(uint64_t k0, uint64_t k1, const void *data, size_t len, unsigned crounds,
                    unsigned drounds)
{
    return ct_siphash_inline(k0, k1, data, len, crounds, drounds);
}
