/*
 * Tests of src/base/: the words ct_strerror() gives for every errno the
 * library returns (src/base/error.c), and the names and descriptions of the
 * verdict reasons generated from CT_REASON_LIST (src/base/reason.c).
 *
 * The reason names are printed by the CLI and matched by scripts, so they
 * must be unique, non-empty and made only of lowercase letters, digits and
 * dashes; and each must sit at its own code, which the test checks against a
 * second table generated here from the same list.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ctrack/error.h"
#include "ctrack/reason.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every errno ct_strerror() names itself, with its words (ctrack/error.h). */
static const struct {
    int err;
    const char *words;
} listed[] = {
    {0, "success"},
    {EINVAL, "invalid argument"},
    {ENOMEM, "out of memory"},
    {ENOSPC, "connection table full"},
    {EEXIST, "already exists"},
    {ENOENT, "no such connection"},
    {EIO, "input/output error"},
    {EBUSY, "busy"},
    {EAGAIN, "try again"},
    {ERANGE, "value out of range"},
    {ENOTSUP, "not supported"},
};

/* ---- ct_strerror ------------------------------------------------------------------ */

static void test_strerror_listed(void)
{
    for (size_t i = 0; i < ARRAY_LEN(listed); i++) {
        /* Functions return the negative errno; either sign gives the words. */
        CHECK_STR(ct_strerror(-listed[i].err), listed[i].words);
        CHECK_STR(ct_strerror(listed[i].err), listed[i].words);
    }
}

static void test_strerror_other(void)
{
    /* An errno the library does not name itself gets the C library's words. */
    char libc[256];
    snprintf(libc, sizeof(libc), "%s", strerror(EPERM));
    CHECK_STR(ct_strerror(-EPERM), libc);

    /* Values no errno has give some non-empty text that is none of the
     * library's own words, without crashing (INT_MIN has no positive
     * counterpart, so it cannot simply be negated). */
    static const int unknown[] = {4095, -4095, 100000, -100000, INT_MAX, -INT_MAX, INT_MIN};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++) {
        const char *s = ct_strerror(unknown[i]);
        CHECK_PTR(s);
        if (!s)
            continue;
        CHECK(s[0] != '\0');
        for (size_t j = 0; j < ARRAY_LEN(listed); j++) {
            if (strcmp(s, listed[j].words) == 0)
                CHECK_FAIL_("ct_strerror(%d) is \"%s\", the words of %d", unknown[i], s,
                            listed[j].err);
        }
    }
}

/* ---- reason names ------------------------------------------------------------------- */

/* The codes with their names and descriptions, generated from the list
 * itself, to hold reason.c's tables to the order of enum ct_reason. */
static const struct {
    unsigned code;
    const char *name;
    const char *desc;
} reasons[] = {
#define TEST_REASON_(code, name, desc) {CT_REASON_##code, name, desc},
    CT_REASON_LIST(TEST_REASON_)
#undef TEST_REASON_
};

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static void test_reason_names(void)
{
    CHECK_EQ_U(ARRAY_LEN(reasons), CT_REASON_COUNT);
    CHECK_STR(ct_reason_name(CT_REASON_NONE), "none");
    for (unsigned r = 0; r < CT_REASON_COUNT; r++) {
        const char *name = ct_reason_name(r);
        const char *desc = ct_reason_desc(r);
        CHECK_PTR(name);
        CHECK_PTR(desc);
        if (!name || !desc)
            continue;
        CHECK_EQ_U(reasons[r].code, r);
        CHECK_STR(name, reasons[r].name);
        CHECK_STR(desc, reasons[r].desc);
        CHECK(name[0] != '\0');
        CHECK(desc[0] != '\0');
        CHECK(name[0] != '-' && name[strlen(name) - 1] != '-');
        for (const char *c = name; *c; c++) {
            if (!name_char_ok(*c))
                CHECK_FAIL_("reason %u name \"%s\" has '%c'", r, name, *c);
        }
        /* "unknown" is what an out-of-range code gets: no real reason has it. */
        CHECK(strcmp(name, "unknown") != 0);
        for (unsigned o = 0; o < r; o++) {
            if (strcmp(name, ct_reason_name(o)) == 0)
                CHECK_FAIL_("reasons %u and %u are both \"%s\"", o, r, name);
        }
    }
}

static void test_reason_out_of_range(void)
{
    static const unsigned bad[] = {CT_REASON_COUNT, CT_REASON_COUNT + 1, 0xffffu, UINT_MAX};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        CHECK_STR(ct_reason_name(bad[i]), "unknown");
        CHECK_STR(ct_reason_desc(bad[i]), "unknown reason");
    }
}

int main(void)
{
    RUN(test_strerror_listed);
    RUN(test_strerror_other);
    RUN(test_reason_names);
    RUN(test_reason_out_of_range);
    return check_summary();
}
