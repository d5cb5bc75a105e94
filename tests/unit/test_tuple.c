/* Tests of the tuple functions: inversion, equality, text, names, steering. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "support/tuples.h"
#include "ctrack/tuple.h"

static void test_invert_ports(void)
{
    struct ct_tuple t = tuple_v4("10.0.0.1", "10.0.0.2", 6, 1234, 80), r, rr;
    t.zone = 5;
    CHECK_EQ_I(ct_tuple_invert(&t, &r), 0);
    CHECK_EQ_U(r.src.v4, t.dst.v4);
    CHECK_EQ_U(r.dst.v4, t.src.v4);
    CHECK_EQ_U(r.sport, 80);
    CHECK_EQ_U(r.dport, 1234);
    CHECK_EQ_U(r.zone, 5);
    CHECK_EQ_U(r.proto, 6);
    CHECK_EQ_U(r.l3, CT_L3_IPV4);
    CHECK_EQ_I(ct_tuple_invert(&r, &rr), 0);
    CHECK(ct_tuple_equal(&rr, &t));
    CHECK(!ct_tuple_equal(&r, &t));

    struct ct_tuple u = tuple_v6("2001:db8::1", "fe80::2", 17, 5353, 53);
    CHECK_EQ_I(ct_tuple_invert(&u, &r), 0);
    CHECK(memcmp(r.src.b, u.dst.b, 16) == 0);
    CHECK(memcmp(r.dst.b, u.src.b, 16) == 0);
    CHECK_EQ_U(r.sport, 53);
    CHECK_EQ_U(r.dport, 5353);
    /* In place. */
    r = u;
    CHECK_EQ_I(ct_tuple_invert(&r, &r), 0);
    CHECK_EQ_U(r.sport, 53);
    CHECK(memcmp(r.src.b, u.dst.b, 16) == 0);
    /* Generic protocols keep zero ports. */
    struct ct_tuple g = tuple_v4("1.1.1.1", "2.2.2.2", 47, 0, 0);
    CHECK_EQ_I(ct_tuple_invert(&g, &r), 0);
    CHECK_EQ_U(r.sport, 0);
    CHECK_EQ_U(r.dport, 0);
    CHECK_EQ_U(r.src.v4, g.dst.v4);
}

static void test_invert_icmp(void)
{
    static const uint8_t pairs4[][2] = {{8, 0}, {13, 14}, {15, 16}, {17, 18}};
    for (size_t i = 0; i < 4; i++) {
        for (int way = 0; way < 2; way++) {
            uint8_t a = pairs4[i][way], b = pairs4[i][!way];
            struct ct_tuple t = tuple_v4("192.0.2.1", "192.0.2.2", 1, 0x4321,
                                         (uint16_t)(a << 8 | 3)),
                            r, rr;
            CHECK_EQ_I(ct_tuple_invert(&t, &r), 0);
            CHECK_EQ_U(r.dport >> 8, b);
            CHECK_EQ_U(r.dport & 0xff, 3);
            CHECK_EQ_U(r.sport, 0x4321);
            CHECK_EQ_U(r.src.v4, t.dst.v4);
            CHECK_EQ_I(ct_tuple_invert(&r, &rr), 0);
            CHECK(ct_tuple_equal(&rr, &t));
        }
    }
    static const uint8_t pairs6[][2] = {{128, 129}, {139, 140}};
    for (size_t i = 0; i < 2; i++) {
        for (int way = 0; way < 2; way++) {
            uint8_t a = pairs6[i][way], b = pairs6[i][!way];
            struct ct_tuple t = tuple_v6("2001:db8::1", "2001:db8::2", 58, 9, (uint16_t)(a << 8)),
                            r, rr;
            CHECK_EQ_I(ct_tuple_invert(&t, &r), 0);
            CHECK_EQ_U(r.dport, (unsigned)b << 8);
            CHECK_EQ_U(r.sport, 9);
            CHECK_EQ_I(ct_tuple_invert(&r, &rr), 0);
            CHECK(ct_tuple_equal(&rr, &t));
        }
    }
    /* Types without a reply form. */
    static const uint8_t bad4[] = {3, 4, 5, 9, 10, 11, 12, 19, 42, 255};
    for (size_t i = 0; i < sizeof(bad4); i++) {
        struct ct_tuple t = tuple_v4("1.1.1.1", "2.2.2.2", 1, 1, (uint16_t)(bad4[i] << 8)), r;
        memset(&r, 0xaa, sizeof(r));
        CHECK_EQ_I(ct_tuple_invert(&t, &r), -EINVAL);
    }
    static const uint8_t bad6[] = {1, 2, 3, 4, 130, 133, 135, 136, 141, 0};
    for (size_t i = 0; i < sizeof(bad6); i++) {
        struct ct_tuple t = tuple_v6("::1", "::2", 58, 1, (uint16_t)(bad6[i] << 8)), r;
        CHECK_EQ_I(ct_tuple_invert(&t, &r), -EINVAL);
    }
    /* An IPv6 tuple with protocol 1 (ICMP for IPv4) is not an ICMP query:
       its ports are just swapped. */
    struct ct_tuple t = tuple_v6("::1", "::2", 1, 7, 3 << 8), r;
    CHECK_EQ_I(ct_tuple_invert(&t, &r), 0);
    CHECK_EQ_U(r.sport, 3 << 8);
    CHECK_EQ_U(r.dport, 7);
}

static void test_equal(void)
{
    struct ct_tuple a = tuple_v4("10.0.0.1", "10.0.0.2", 6, 1, 2), b = a;
    CHECK(ct_tuple_equal(&a, &b));
    b.sport = 3;
    CHECK(!ct_tuple_equal(&a, &b));
    b = a;
    b.dport = 3;
    CHECK(!ct_tuple_equal(&a, &b));
    b = a;
    b.zone = 1;
    CHECK(!ct_tuple_equal(&a, &b));
    b = a;
    b.proto = 17;
    CHECK(!ct_tuple_equal(&a, &b));
    b = a;
    b.l3 = CT_L3_IPV6;
    CHECK(!ct_tuple_equal(&a, &b));
    b = a;
    b.dst.b[3] ^= 1;
    CHECK(!ct_tuple_equal(&a, &b));
    b = a;
    b.src.b[15] = 1; /* an unused address byte: not zero, not equal */
    CHECK(!ct_tuple_equal(&a, &b));
}

static void test_format(void)
{
    char buf[160];
    struct ct_tuple t = tuple_v4("10.0.0.1", "10.0.0.2", 6, 1234, 80);
    int n = ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.0.0.1 dst=10.0.0.2 sport=1234 dport=80");
    CHECK_EQ_I(n, (int)strlen(buf));
    t = tuple_v4("192.168.1.10", "8.8.8.8", 17, 40000, 53);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=192.168.1.10 dst=8.8.8.8 sport=40000 dport=53");
    t = tuple_v4("1.2.3.4", "5.6.7.8", 136, 1, 65535);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=1.2.3.4 dst=5.6.7.8 sport=1 dport=65535");
    t = tuple_v4("10.0.0.1", "10.0.0.2", 1, 1234, 8 << 8);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1234");
    t = tuple_v4("10.0.0.1", "10.0.0.2", 1, 0, 3 << 8 | 3);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.0.0.1 dst=10.0.0.2 type=3 code=3 id=0");
    t = tuple_v6("2001:db8::1", "2001:db8::2", 58, 7, 128 << 8);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=2001:db8::1 dst=2001:db8::2 type=128 code=0 id=7");
    t = tuple_v6("fe80::1:2", "::ffff:10.0.0.1", 6, 22, 50000);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=fe80::1:2 dst=::ffff:10.0.0.1 sport=22 dport=50000");
    t = tuple_v4("10.0.0.1", "10.0.0.2", 253, 0, 0);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.0.0.1 dst=10.0.0.2");
    /* GRE prints its keys as conntrack does (version 0: both zero). */
    t = tuple_v4("10.0.0.1", "10.0.0.2", 47, 0, 0);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.0.0.1 dst=10.0.0.2 srckey=0x0 dstkey=0x0");
    t = tuple_v6("2001:db8::1", "2001:db8::2", 50, 0, 0);
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=2001:db8::1 dst=2001:db8::2");

    /* Like snprintf: short buffers are NUL-terminated, the full length is returned. */
    t = tuple_v4("10.0.0.1", "10.0.0.2", 6, 1234, 80);
    char small[10];
    memset(small, 'x', sizeof(small));
    n = ct_tuple_format(&t, small, sizeof(small));
    CHECK_EQ_I(n, 45);
    CHECK_STR(small, "src=10.0.");
    CHECK_EQ_I(ct_tuple_format(&t, NULL, 0), 45);
    small[0] = 'x';
    CHECK_EQ_I(ct_tuple_format(&t, small, 1), 45);
    CHECK_EQ_U(small[0], 0);
}

static void test_proto_names(void)
{
    CHECK_STR(ct_proto_name(6), "tcp");
    CHECK_STR(ct_proto_name(17), "udp");
    CHECK_STR(ct_proto_name(136), "udplite");
    CHECK_STR(ct_proto_name(1), "icmp");
    CHECK_STR(ct_proto_name(58), "icmpv6");
    CHECK_STR(ct_proto_name(132), "sctp");
    CHECK_STR(ct_proto_name(33), "dccp");
    CHECK_STR(ct_proto_name(47), "gre");
    CHECK_STR(ct_proto_name(50), "esp");
    CHECK_STR(ct_proto_name(51), "ah");
    CHECK_STR(ct_proto_name(0), "unknown");
    CHECK_STR(ct_proto_name(4), "unknown");
    CHECK_STR(ct_proto_name(255), "unknown");
}

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static struct ct_tuple random_tuple(int i)
{
    struct ct_tuple t;
    memset(&t, 0, sizeof(t));
    t.l3 = (i & 1) ? CT_L3_IPV6 : CT_L3_IPV4;
    static const uint8_t protos[] = {6, 17, 136, 47, 50, 1};
    t.proto = protos[(i >> 1) % 6];
    if (t.proto == 1 && t.l3 == CT_L3_IPV6)
        t.proto = 58;
    size_t alen = t.l3 == CT_L3_IPV6 ? 16 : 4;
    for (size_t k = 0; k < alen; k++) {
        t.src.b[k] = (uint8_t)rnd();
        t.dst.b[k] = (uint8_t)rnd();
    }
    if (i % 17 == 0) /* same address both ways */
        memcpy(t.dst.b, t.src.b, alen);
    if (t.proto == 1 || t.proto == 58) {
        static const uint8_t q4[] = {8, 0, 13, 14, 15, 16, 17, 18}, q6[] = {128, 129, 139, 140};
        uint8_t type = t.proto == 1 ? q4[rnd() % 8] : q6[rnd() % 4];
        t.sport = (uint16_t)rnd();
        t.dport = (uint16_t)(type << 8);
    } else if (t.proto != 47 && t.proto != 50) {
        t.sport = (uint16_t)rnd();
        t.dport = (uint16_t)rnd();
        if (i % 13 == 0)
            t.dport = t.sport;
    }
    t.zone = (uint16_t)(rnd() % 3);
    return t;
}

static void test_steer_symmetric(void)
{
    for (int i = 0; i < 20000; i++) {
        struct ct_tuple t = random_tuple(i), r;
        CHECK_EQ_I(ct_tuple_invert(&t, &r), 0);
        uint64_t seed = rnd();
        uint32_t a = ct_tuple_steer_hash(&t, seed), b = ct_tuple_steer_hash(&r, seed);
        if (a != b) {
            char buf[160];
            ct_tuple_format(&t, buf, sizeof(buf));
            CHECK_FAIL_("asymmetric for %s proto %u: %08x != %08x", buf, t.proto, a, b);
            break;
        }
        CHECK_EQ_U(ct_tuple_steer_hash(&t, seed), a); /* deterministic */
    }
}

/* The hash depends on the seed and on every part of the tuple. */
static void test_steer_sensitivity(void)
{
    int same_seed = 0, same_port = 0, same_addr = 0, same_zone = 0, same_proto = 0, same_id = 0;
    for (int i = 0; i < 2000; i++) {
        struct ct_tuple t = random_tuple(i), u;
        uint32_t h = ct_tuple_steer_hash(&t, 1);
        same_seed += h == ct_tuple_steer_hash(&t, 2);
        u = t;
        u.sport ^= 1;
        same_port +=
            (t.proto == 6 || t.proto == 17 || t.proto == 136) && h == ct_tuple_steer_hash(&u, 1);
        same_id += (t.proto == 1 || t.proto == 58) && h == ct_tuple_steer_hash(&u, 1);
        u = t;
        u.dst.b[i % (t.l3 == CT_L3_IPV6 ? 16 : 4)] ^= 0x10;
        same_addr += h == ct_tuple_steer_hash(&u, 1);
        u = t;
        u.zone++;
        same_zone += h == ct_tuple_steer_hash(&u, 1);
        u = t;
        u.proto ^= 0x80;
        same_proto += h == ct_tuple_steer_hash(&u, 1);
    }
    CHECK(same_seed <= 1);
    CHECK(same_port <= 1);
    CHECK(same_id <= 1);
    CHECK(same_addr <= 1);
    CHECK(same_zone <= 1);
    CHECK(same_proto <= 1);
}

/* Steering 64k flows over 16 workers spreads them evenly (each within 10%
   of the mean), also for flows that differ only in the source port. */
static void test_steer_balance(void)
{
    unsigned bins[16] = {0}, pbins[16] = {0};
    const unsigned n = 65536;
    struct ct_tuple base = tuple_v4("10.1.2.3", "93.184.216.34", 6, 0, 443);
    for (unsigned i = 0; i < n; i++) {
        struct ct_tuple t = random_tuple((int)i);
        bins[ct_tuple_steer_hash(&t, 0x5eed) % 16]++;
        base.sport = (uint16_t)i;
        pbins[ct_tuple_steer_hash(&base, 0x5eed) >> 28]++;
    }
    for (int b = 0; b < 16; b++) {
        CHECK(bins[b] > n / 16 * 9 / 10 && bins[b] < n / 16 * 11 / 10);
        CHECK(pbins[b] > n / 16 * 9 / 10 && pbins[b] < n / 16 * 11 / 10);
    }
}

int main(void)
{
    RUN(test_invert_ports);
    RUN(test_invert_icmp);
    RUN(test_equal);
    RUN(test_format);
    RUN(test_proto_names);
    RUN(test_steer_symmetric);
    RUN(test_steer_sensitivity);
    RUN(test_steer_balance);
    return check_summary();
}
