/*
 * Tests of the ICMP and ICMPv6 type table (src/base/inet.h, src/base/icmp.c):
 * every row against the pairs and classes its sources define, for all 256
 * types of both families, so that a row added, dropped or mistyped fails.
 */
#include <stdint.h>

#include "check.h"
#include "base/compiler.h"
#include "base/inet.h"

/* A pair of types (a, b): each answers the other. */
struct pair {
    uint8_t a, b;
};

/* Linux's invmap (nf_conntrack_proto_icmp.c, nf_conntrack_proto_icmpv6.c):
 * echo, timestamp, information and address-mask requests and their replies;
 * ICMPv6 echo and node information. The request comes first. */
static const struct pair conntrack4[] = {{8, 0}, {13, 14}, {15, 16}, {17, 18}};
static const struct pair conntrack6[] = {{128, 129}, {139, 140}};

/* The Community ID v1 spec's pairs (github.com/corelight/community-id-spec),
 * which Zeek's conn_id uses too: conntrack's, plus router discovery, MLD
 * query/report, neighbour discovery and home agent address discovery. */
static const struct pair community4[] = {{8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18}};
static const struct pair community6[] = {{128, 129}, {130, 131}, {133, 134},
                                         {135, 136}, {139, 140}, {144, 145}};

/* The partner of `type` in a pair list, or -1. */
static int partner(const struct pair *p, unsigned n, unsigned type)
{
    for (unsigned i = 0; i < n; i++) {
        if (p[i].a == type)
            return p[i].b;
        if (p[i].b == type)
            return p[i].a;
    }
    return -1;
}

/* 1 if `type` is the first (request) half of a pair in the list. */
static int is_first(const struct pair *p, unsigned n, unsigned type)
{
    for (unsigned i = 0; i < n; i++)
        if (p[i].a == type)
            return 1;
    return 0;
}

static void test_reply_types(void)
{
    for (unsigned v6 = 0; v6 < 2; v6++) {
        const struct pair *p = v6 ? conntrack6 : conntrack4;
        unsigned n = v6 ? CT_ARRAY_SIZE(conntrack6) : CT_ARRAY_SIZE(conntrack4);
        for (unsigned type = 0; type < 256; type++) {
            int r = ct_icmp_reply_type(v6, (uint8_t)type);
            CHECK_EQ_I(r, partner(p, n, type));
            if (r < 0)
                continue;
            /* The reply type maps back, both are queries, and exactly the
               request half may start a connection. */
            CHECK_EQ_I(ct_icmp_reply_type(v6, (uint8_t)r), (int)type);
            unsigned f = ct_icmp_flags(v6, (uint8_t)type);
            CHECK(f & CT_ICMPF_QUERY);
            CHECK_EQ_U((f & CT_ICMPF_REQUEST) != 0, is_first(p, n, type));
        }
    }
}

static void test_counterparts(void)
{
    for (unsigned v6 = 0; v6 < 2; v6++) {
        const struct pair *p = v6 ? community6 : community4;
        unsigned n = v6 ? CT_ARRAY_SIZE(community6) : CT_ARRAY_SIZE(community4);
        for (unsigned type = 0; type < 256; type++) {
            int c = ct_icmp_counterpart(v6, (uint8_t)type);
            CHECK_EQ_I(c, partner(p, n, type));
            if (c >= 0)
                CHECK_EQ_I(ct_icmp_counterpart(v6, (uint8_t)c), (int)type);
            /* Every conntrack pair is also a Community ID pair. */
            int r = ct_icmp_reply_type(v6, (uint8_t)type);
            if (r >= 0)
                CHECK_EQ_I(c, r);
        }
    }
    /* Where the two columns differ: Zeek pairs router discovery, conntrack
       does not track it. */
    CHECK_EQ_I(ct_icmp_counterpart(0, 10), 9);
    CHECK_EQ_I(ct_icmp_reply_type(0, 10), -1);
    CHECK_EQ_I(ct_icmp_counterpart(1, 135), 136);
    CHECK_EQ_I(ct_icmp_reply_type(1, 135), -1);
}

static void test_classes(void)
{
    /* Errors: RFC 792 (unreachable, source quench, redirect, time exceeded,
       parameter problem) and RFC 4443 (unreachable, too big, time exceeded,
       parameter problem). */
    static const uint8_t err4[] = {3, 4, 5, 11, 12};
    static const uint8_t err6[] = {1, 2, 3, 4};
    /* Untracked: MLD (RFC 2710, RFC 3810) and neighbour discovery
       (RFC 4861), as Linux leaves them. */
    static const uint8_t untracked6[] = {130, 131, 132, 133, 134, 135, 136, 143};
    for (unsigned v6 = 0; v6 < 2; v6++) {
        for (unsigned type = 0; type < 256; type++) {
            unsigned f = ct_icmp_flags(v6, (uint8_t)type);
            int err = 0, unt = 0;
            const uint8_t *e = v6 ? err6 : err4;
            unsigned ne = v6 ? CT_ARRAY_SIZE(err6) : CT_ARRAY_SIZE(err4);
            for (unsigned i = 0; i < ne; i++)
                err |= (unsigned)e[i] == type;
            for (unsigned i = 0; v6 && i < CT_ARRAY_SIZE(untracked6); i++)
                unt |= (unsigned)untracked6[i] == type;
            CHECK_EQ_U((f & CT_ICMPF_ERROR) != 0, err);
            CHECK_EQ_U((f & CT_ICMPF_UNTRACKED) != 0, unt);
            /* A query is exactly a type with a conntrack reply type, and
               no error or untracked message is one. */
            CHECK_EQ_U((f & CT_ICMPF_QUERY) != 0, ct_icmp_reply_type(v6, (uint8_t)type) >= 0);
            if (f & (CT_ICMPF_ERROR | CT_ICMPF_UNTRACKED))
                CHECK(!(f & (CT_ICMPF_QUERY | CT_ICMPF_REQUEST)));
            if (f & CT_ICMPF_ERROR)
                CHECK_EQ_I(ct_icmp_counterpart(v6, (uint8_t)type), -1);
        }
    }
    /* Any non-zero family argument selects ICMPv6. */
    CHECK_EQ_U(ct_icmp_flags(6, 128), ct_icmp_flags(1, 128));
    CHECK_EQ_I(ct_icmp_reply_type(6, 128), 129);
}

int main(void)
{
    RUN(test_reply_types);
    RUN(test_counterparts);
    RUN(test_classes);
    return check_summary();
}
