/*
 * Minimal test harness: typed assertions that print both sides and keep
 * going, a per-test name, and a summary line. Each test file is its own
 * executable; main() calls RUN(test_fn) for each test and returns
 * check_summary().
 */
#ifndef CT_TESTS_CHECK_H
#define CT_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures_;
static int check_tests_;
static int check_tests_failed_;
static const char *check_current_ = "";

#define CHECK_FAIL_(...)                                                             \
    do {                                                                             \
        fprintf(stderr, "FAIL %s (%s:%d): ", check_current_, __FILE__, __LINE__);    \
        fprintf(stderr, __VA_ARGS__);                                                \
        fputc('\n', stderr);                                                         \
        check_failures_++;                                                           \
    } while (0)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond))                                                                 \
            CHECK_FAIL_("%s", #cond);                                                \
    } while (0)

#define CHECK_EQ_U(a, b)                                                             \
    do {                                                                             \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                             \
        if (a_ != b_)                                                                \
            CHECK_FAIL_("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_);        \
    } while (0)

#define CHECK_EQ_I(a, b)                                                             \
    do {                                                                             \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                \
        if (a_ != b_)                                                                \
            CHECK_FAIL_("%s == %s: %" PRId64 " != %" PRId64, #a, #b, a_, b_);        \
    } while (0)

#define CHECK_STR(a, b)                                                              \
    do {                                                                             \
        const char *a_ = (a), *b_ = (b);                                             \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                       \
            CHECK_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",    \
                        b_ ? b_ : "(null)");                                         \
    } while (0)

#define CHECK_PTR(p)                                                                 \
    do {                                                                             \
        if ((p) == NULL)                                                             \
            CHECK_FAIL_("%s is NULL", #p);                                           \
    } while (0)

#define RUN(fn)                                                                      \
    do {                                                                             \
        int before_ = check_failures_;                                               \
        check_current_ = #fn;                                                        \
        check_tests_++;                                                              \
        fn();                                                                        \
        if (check_failures_ != before_)                                              \
            check_tests_failed_++;                                                   \
    } while (0)

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_tests_ - check_tests_failed_, check_tests_failed_);
    return check_tests_failed_ ? 1 : 0;
}

#endif
