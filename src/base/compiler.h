/* Compiler helpers shared by every module. */
#ifndef CT_COMMON_COMPILER_H
#define CT_COMMON_COMPILER_H

#include <stddef.h>

#define CT_LIKELY(x) __builtin_expect(!!(x), 1)
#define CT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CT_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define CT_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#define CT_ALIGNED(n) __attribute__((aligned(n)))
/* For helpers of the packet path that must stay inline whatever the
 * compiler's size heuristics say (callgrind counts depend on it). */
#define CT_ALWAYS_INLINE __attribute__((always_inline))
#define CT_EXPORT __attribute__((visibility("default")))
#define CT_CACHE_LINE 64

#define CT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CT_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * Clang thread-safety annotations (-Wthread-safety). They expand to nothing
 * for other compilers, so annotated code builds everywhere and is checked
 * where clang runs it (CTRACK_THREAD_SAFETY=ON).
 */
#if defined(__clang__) && defined(CT_THREAD_SAFETY_ANALYSIS)
#define CT_TSA(x) __attribute__((x))
#else
#define CT_TSA(x)
#endif
#define CT_CAPABILITY(name) CT_TSA(capability(name))
#define CT_GUARDED_BY(lock) CT_TSA(guarded_by(lock))
#define CT_PT_GUARDED_BY(lock) CT_TSA(pt_guarded_by(lock))
#define CT_REQUIRES(...) CT_TSA(requires_capability(__VA_ARGS__))
#define CT_ACQUIRE(...) CT_TSA(acquire_capability(__VA_ARGS__))
#define CT_RELEASE(...) CT_TSA(release_capability(__VA_ARGS__))
#define CT_TRY_ACQUIRE(...) CT_TSA(try_acquire_capability(__VA_ARGS__))
#define CT_EXCLUDES(...) CT_TSA(locks_excluded(__VA_ARGS__))
#define CT_NO_TSA CT_TSA(no_thread_safety_analysis)

#endif
