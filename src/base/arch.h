/*
 * Architecture-specific helpers, each with a portable fallback, so that the
 * rest of the library names no instruction set (after DPDK's
 * compare_signatures_{x86,arm,generic}.h split).
 *
 * ct_cpu_relax(): the hint a spin-wait loop gives the core while it waits
 * for another thread's store. On x86 PAUSE stops the loop from flooding the
 * pipeline with speculative loads and saves the memory-order machine clear
 * when the lock word finally changes; on arm64 YIELD tells a shared core to
 * run its other thread. Elsewhere a compiler barrier, so that the loop still
 * reloads the word it waits on.
 *
 * ct_sig9_match(): which of nine 16-bit signatures equal a given one, the
 * inner step of every index lookup (table/index.h). The result is a mask
 * with bit 2*i set when sig[i] matches: the layout SSE2's byte mask gives for
 * 16-bit lanes, kept for every variant so that callers walk it the same way
 * (ct_sig9_slot() and m &= m - 1). sig must be 16-byte aligned. Every
 * variant compiled for the target is declared (CT_ARCH_HAVE_SSE2,
 * CT_ARCH_HAVE_NEON), so tests can hold each of them equal to the generic
 * one; ct_sig9_match() is the fastest of them.
 */
#ifndef CT_BASE_ARCH_H
#define CT_BASE_ARCH_H

#include <stdint.h>

#include "base/compiler.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define CT_ARCH_HAVE_SSE2 1
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define CT_ARCH_HAVE_NEON 1
#endif

static inline void ct_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* Signatures compared per lookup: one bucket's worth (table/index.h). */
#define CT_SIG9_SLOTS 9

/* The portable version: one compare per slot. */
static CT_ALWAYS_INLINE unsigned ct_sig9_match_generic(const uint16_t *sig, uint16_t s)
{
    unsigned m = 0;
    for (unsigned i = 0; i < CT_SIG9_SLOTS; i++)
        m |= (unsigned)(sig[i] == s) << (2 * i);
    return m;
}

#if defined(CT_ARCH_HAVE_SSE2)
/* Eight slots in one 128-bit compare; the byte mask has two bits per lane,
 * of which the even one is kept. The ninth slot is compared on its own. */
static CT_ALWAYS_INLINE unsigned ct_sig9_match_sse2(const uint16_t *sig, uint16_t s)
{
    __m128i v = _mm_load_si128((const __m128i *)(const void *)sig);
    __m128i eq = _mm_cmpeq_epi16(v, _mm_set1_epi16((short)s));
    unsigned m = (unsigned)_mm_movemask_epi8(eq) & 0x5555u;
    return m | (unsigned)(sig[8] == s) << 16;
}
#endif

#if defined(CT_ARCH_HAVE_NEON)
/* Eight slots in one 128-bit compare; each all-ones lane keeps its own bit
 * (lane i: 1 << 2i) and an across-vector add gathers them, as no movemask
 * exists on arm64. The ninth slot is compared on its own. */
static CT_ALWAYS_INLINE unsigned ct_sig9_match_neon(const uint16_t *sig, uint16_t s)
{
    static const uint16_t bits[8] = {1u << 0, 1u << 2, 1u << 4, 1u << 6,
                                     1u << 8, 1u << 10, 1u << 12, 1u << 14};
    uint16x8_t eq = vceqq_u16(vld1q_u16(sig), vdupq_n_u16(s));
    unsigned m = vaddvq_u16(vandq_u16(eq, vld1q_u16(bits)));
    return m | (unsigned)(sig[8] == s) << 16;
}
#endif

static CT_ALWAYS_INLINE unsigned ct_sig9_match(const uint16_t *sig, uint16_t s)
{
#if defined(CT_ARCH_HAVE_SSE2)
    return ct_sig9_match_sse2(sig, s);
#elif defined(CT_ARCH_HAVE_NEON)
    return ct_sig9_match_neon(sig, s);
#else
    return ct_sig9_match_generic(sig, s);
#endif
}

/* The slot of the lowest match left in a ct_sig9_match() mask (m != 0). */
static CT_ALWAYS_INLINE unsigned ct_sig9_slot(unsigned m)
{
    return (unsigned)__builtin_ctz(m) >> 1;
}

#endif
