/* Compiler helpers shared by every module. */
#ifndef CT_COMMON_COMPILER_H
#define CT_COMMON_COMPILER_H

#include <stddef.h>

#define CT_LIKELY(x) __builtin_expect(!!(x), 1)
#define CT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CT_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define CT_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#define CT_ALIGNED(n) __attribute__((aligned(n)))
#define CT_EXPORT __attribute__((visibility("default")))
#define CT_CACHE_LINE 64

/*
 * Inlining the hot path relies on, said once. CT_ALWAYS_INLINE marks a
 * function the burst path needs inlined whatever the optimiser's size
 * heuristics say (it includes `inline`: write `static CT_ALWAYS_INLINE`);
 * CT_NOINLINE keeps a rarely taken branch out of its caller's body so that
 * the common case stays small.
 */
#define CT_ALWAYS_INLINE inline __attribute__((always_inline))
#define CT_NOINLINE __attribute__((noinline))

#define CT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CT_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * Clang thread-safety annotations (-Wthread-safety; Hutchins, Ballman and
 * Sutherland, "C/C++ Thread Safety Analysis", SCAM 2014). They expand to
 * nothing for other compilers, so annotated code builds everywhere and is
 * checked where clang runs it (CTRACK_THREAD_SAFETY=ON, make test-tsa, whose
 * tests/tsa/ cases prove that the checks fire).
 *
 * A capability is a struct type marked CT_CAPABILITY (the spinlock of
 * table/shared.h); functions say what they take (CT_ACQUIRE, CT_TRY_ACQUIRE
 * with the value that means success), give back (CT_RELEASE), need held
 * (CT_REQUIRES) or must not be called holding (CT_EXCLUDES), naming the lock
 * by an expression over their parameters (t->sh->wheel_lock). CT_GUARDED
 * marks a field that may only be read or written with some lock held: in C,
 * clang before 19 cannot name a sibling member in guarded_by(), so the
 * field's comment names the lock, and the functions that use the field
 * take that lock or require it. CT_NO_TSA is for the bodies of the lock
 * primitives only, which the analysis cannot see into.
 */
#if defined(__clang__) && defined(CT_THREAD_SAFETY_ANALYSIS)
#define CT_TSA(x) __attribute__((x))
#else
#define CT_TSA(x)
#endif
#define CT_CAPABILITY(name) CT_TSA(capability(name))
#define CT_GUARDED CT_TSA(guarded_var)
#define CT_REQUIRES(...) CT_TSA(requires_capability(__VA_ARGS__))
#define CT_ACQUIRE(...) CT_TSA(acquire_capability(__VA_ARGS__))
#define CT_RELEASE(...) CT_TSA(release_capability(__VA_ARGS__))
#define CT_TRY_ACQUIRE(...) CT_TSA(try_acquire_capability(__VA_ARGS__))
#define CT_EXCLUDES(...) CT_TSA(locks_excluded(__VA_ARGS__))
#define CT_NO_TSA CT_TSA(no_thread_safety_analysis)

#endif
