/*
 * Tests of NAT (ctrack/nat.h): bindings chosen by a policy, the packets
 * translated in place with valid checksums, replies mapped back, ICMP
 * errors and echo identifiers, null bindings, exhaustion as a verdict,
 * ports released with the connection, ranges refused, snapshots, and the
 * SNAT properties over many random flows: replies always map back, no two
 * live connections share a reply tuple, and with per-core affinity every
 * reply steers to the connection's worker.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/frames.h"
#include "support/table_fixture.h"

#define SEC 1000000000ull
#define CT_ARRAY_LEN_(a) (sizeof(a) / sizeof((a)[0]))

/* ---- frames ---------------------------------------------------------------------------- */

struct frame {
    uint8_t b[256];
    size_t n;
};

/* A raw IPv4 UDP packet with a valid checksum (or none, csum 0). */
static void udp4(struct frame *f, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, int csum)
{
    uint8_t l4[8 + 4];
    udp_header(l4, sp, dp, 4);
    memcpy(l4 + 8, "ping", 4);
    f->n = ipv4_packet(f->b, 17, src, dst, 1, l4, sizeof(l4));
    if (csum)
        ipv4_fill_transport_checksum(f->b);
}

/* A raw IPv4 TCP segment with a valid checksum. */
static void tcp4f(struct frame *f, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp,
                  uint8_t flags, uint32_t seq, uint32_t ack)
{
    uint8_t l4[20];
    tcp_header(l4, sp, dp, seq, ack, flags, 65535, NULL, 0);
    f->n = ipv4_packet(f->b, 6, src, dst, 1, l4, sizeof(l4));
    ipv4_fill_transport_checksum(f->b);
}

/* An ICMP echo request or reply with a valid checksum. */
static void echo4(struct frame *f, uint32_t src, uint32_t dst, uint8_t type, uint16_t id)
{
    uint8_t l4[8 + 4];
    icmp_header(l4, type, 0, id, 1);
    memcpy(l4 + 8, "abcd", 4);
    put_be16(l4 + 2, inet_csum(l4, sizeof(l4)));
    f->n = ipv4_packet(f->b, 1, src, dst, 1, l4, sizeof(l4));
}

/* An ICMP port unreachable from `src` to `dst` quoting the packet q. */
static void unreach4(struct frame *f, uint32_t src, uint32_t dst, const struct frame *q)
{
    uint8_t l4[8 + 256];
    icmp_header(l4, 3, 3, 0, 0);
    memcpy(l4 + 8, q->b, q->n);
    put_be16(l4 + 2, inet_csum(l4, 8 + q->n));
    f->n = ipv4_packet(f->b, 1, src, dst, 1, l4, 8 + q->n);
}

/* Processes one writable frame. */
static void run(struct ct_table *t, struct frame *f, struct ct_pkt *p, struct ct_verdict *v,
                uint64_t now)
{
    struct ct_frame_rw fr = {.data = f->b, .len = (uint32_t)f->n, .link = CT_LINK_IPV4};
    CHECK_EQ_I(ct_process_burst_rw(t, &fr, p, v, 1, now, CT_PROCESS_COMMIT), 1);
}

/* Every checksum of a frame is right: the IPv4 header's and the transport's. */
static int frame_ok(struct frame *f)
{
    struct ct_pkt p;
    const struct ct_frame fr = {.data = f->b, .len = (uint32_t)f->n, .link = CT_LINK_IPV4};
    ct_pkt_parse(&fr, &p);
    return p.reason == CT_REASON_NONE && inet_csum(f->b, 20) == 0 && ct_pkt_verify_checksum(&p);
}

/* ---- policies -------------------------------------------------------------------------- */

struct policy {
    uint32_t manips;
    struct ct_nat_range range[2];
    uint32_t only_src; /* if non-zero: translate only packets from this address */
};

static void policy_fn(void *arg, const struct ct_pkt *pkt, struct ct_nat_request *req)
{
    const struct policy *p = arg;
    if (p->only_src && pkt->tuple.src.v4 != __builtin_bswap32(p->only_src))
        return;
    req->manips = p->manips;
    req->range[0] = p->range[0];
    req->range[1] = p->range[1];
}

static void range4(struct ct_nat_range *r, uint32_t lo, uint32_t hi, uint16_t plo, uint16_t phi)
{
    memset(r, 0, sizeof(*r));
    if (lo) {
        r->flags |= CT_NAT_RANGE_MAP_IPS;
        r->min_addr.v4 = __builtin_bswap32(lo);
        r->max_addr.v4 = __builtin_bswap32(hi);
    }
    if (plo) {
        r->flags |= CT_NAT_RANGE_PROTO_SPECIFIED;
        r->min_port = plo;
        r->max_port = phi;
    }
}

static struct ct_table *nat_table(uint32_t max, struct policy *pol, const struct ct_nat_config *nc)
{
    struct ct_table *t = mk_table(max, 0);
    struct ct_nat_config def;
    ct_nat_config_init(&def);
    CHECK_EQ_I(ct_nat_enable(t, nc ? nc : &def), 0);
    if (pol)
        CHECK_EQ_I(ct_nat_set_policy(t, policy_fn, pol), 0);
    return t;
}

#define C1 IPV4_ADDR(10, 0, 0, 5)
#define C2 IPV4_ADDR(10, 0, 0, 6)
#define VIP IPV4_ADDR(192, 0, 2, 10)
#define BACK IPV4_ADDR(10, 1, 0, 20)
#define PUB IPV4_ADDR(198, 51, 100, 1)
#define SRV IPV4_ADDR(203, 0, 113, 7)

/* ---- tests ----------------------------------------------------------------------------- */

/* DNAT: the original direction goes to the backend, replies come back from
 * the service address, every checksum is right after each rewrite. */
static void test_dnat_round_trip(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_DST};
    range4(&pol.range[CT_NAT_MANIP_DST], BACK, BACK, 8080, 8080);
    struct ct_table *t = nat_table(64, &pol, NULL);
    struct frame f;
    struct ct_pkt p;
    struct ct_verdict v;

    tcp4f(&f, C1, 40000, VIP, 80, 0x02, 1000, 0);
    run(t, &f, &p, &v, 1 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.flags & CT_VERDICT_NAT);
    CHECK_EQ_U(get_be32(f.b + 16), BACK);
    CHECK_EQ_U(get_be16(f.b + 22), 8080);
    CHECK_EQ_U(get_be32(f.b + 12), C1);
    CHECK(frame_ok(&f));
    struct ct_conn_info ci;
    CHECK_EQ_I(ct_conn_get_info(t, v.conn, &ci), 0);
    CHECK(ci.status & CT_STATUS_DST_NAT);
    CHECK(!(ci.status & CT_STATUS_SRC_NAT));
    CHECK_EQ_U(ci.tuple[CT_DIR_REPLY].src.v4, __builtin_bswap32(BACK));
    CHECK_EQ_U(ci.tuple[CT_DIR_REPLY].sport, 8080);
    CHECK_EQ_U(ci.tuple[CT_DIR_REPLY].dst.v4, __builtin_bswap32(C1));
    CHECK_EQ_U(ci.tuple[CT_DIR_REPLY].dport, 40000);

    /* The backend answers: found as the reply, source back to the VIP. */
    tcp4f(&f, BACK, 8080, C1, 40000, 0x12, 5000, 1001);
    run(t, &f, &p, &v, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    CHECK_EQ_U(get_be32(f.b + 12), VIP);
    CHECK_EQ_U(get_be16(f.b + 20), 80);
    CHECK(frame_ok(&f));
    /* The same client port straight to the backend is another connection
     * whose reply tuple is the first one's: its null binding moves its
     * source port, as Linux's does. */
    tcp4f(&f, C1, 40000, BACK, 8080, 0x02, 7, 0);
    run(t, &f, &p, &v, 3 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.flags & CT_VERDICT_NAT);
    CHECK(get_be16(f.b + 20) != 40000);
    CHECK(frame_ok(&f));
    struct ct_nat_stats ns;
    CHECK_EQ_I(ct_nat_stats(t, &ns), 0);
    CHECK_EQ_U(ns.bindings, 2);
    CHECK_EQ_U(ns.null_remapped, 1);
    CHECK_EQ_U(ns.rewritten, 3);
    ct_table_destroy(t);
}

/* SNAT and the ICMP error a server sends back about it: the quoted packet
 * and the outer destination are translated back to the client. */
static void test_snat_icmp_error(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 0, 0);
    struct ct_table *t = nat_table(64, &pol, NULL);
    struct frame f, out, err;
    struct ct_pkt p;
    struct ct_verdict v;
    udp4(&f, C1, 5353, SRV, 53, 1);
    run(t, &f, &p, &v, SEC);
    CHECK(v.flags & CT_VERDICT_NAT);
    /* The source port is free and in its class: kept, as Linux keeps it. */
    CHECK_EQ_U(get_be32(f.b + 12), PUB);
    CHECK_EQ_U(get_be16(f.b + 20), 5353);
    CHECK(frame_ok(&f));
    out = f;
    /* The server's port unreachable, quoting what it received. */
    unreach4(&err, SRV, PUB, &out);
    run(t, &err, &p, &v, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_RELATED);
    CHECK(v.flags & CT_VERDICT_NAT);
    CHECK_EQ_U(get_be32(err.b + 16), C1);      /* outer destination */
    CHECK_EQ_U(get_be32(err.b + 28 + 12), C1); /* quoted source */
    CHECK_EQ_U(get_be16(err.b + 28 + 20), 5353);
    CHECK_EQ_U(get_be32(err.b + 28 + 16), SRV);
    CHECK(inet_csum(err.b + 20, err.n - 20) == 0); /* the ICMP checksum */
    CHECK(inet_csum(err.b + 28, 20) == 0);         /* the quoted IP header */
    CHECK(frame_ok(&err));
    /* A zero UDP checksum stays zero through the translation. */
    udp4(&f, C2, 6000, SRV, 53, 0);
    run(t, &f, &p, &v, 3 * SEC);
    CHECK(v.flags & CT_VERDICT_NAT);
    CHECK_EQ_U(get_be16(f.b + 26), 0);
    ct_table_destroy(t);
}

/* ICMP echo identifiers are translated like ports: two clients pinging the
 * same server with the same identifier through one address. */
static void test_echo_ids(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 0, 0);
    struct ct_table *t = nat_table(64, &pol, NULL);
    struct frame f;
    struct ct_pkt p;
    struct ct_verdict v;
    echo4(&f, C1, SRV, 8, 77);
    run(t, &f, &p, &v, SEC);
    CHECK_EQ_U(get_be16(f.b + 24), 77);
    CHECK(inet_csum(f.b + 20, f.n - 20) == 0);
    echo4(&f, C2, SRV, 8, 77);
    run(t, &f, &p, &v, SEC);
    CHECK(v.flags & CT_VERDICT_NAT);
    uint16_t id2 = get_be16(f.b + 24);
    CHECK(id2 != 77);
    CHECK(inet_csum(f.b + 20, f.n - 20) == 0);
    /* The reply to the second goes back to C2 with its own identifier. */
    echo4(&f, SRV, PUB, 0, id2);
    run(t, &f, &p, &v, 2 * SEC);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    CHECK_EQ_U(get_be32(f.b + 16), C2);
    CHECK_EQ_U(get_be16(f.b + 24), 77);
    CHECK(inet_csum(f.b + 20, f.n - 20) == 0);
    ct_table_destroy(t);
}

/* A port range used up: the next connection is INVALID NAT_EXHAUSTED and
 * counted; once the connections expire, their ports serve again. */
static void test_exhaustion_and_release(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 2000, 2009);
    struct ct_table *t = nat_table(64, &pol, NULL);
    struct frame f;
    struct ct_pkt p;
    struct ct_verdict v;
    for (unsigned i = 0; i < 10; i++) {
        udp4(&f, C1 + i, 1000, SRV, 53, 1);
        run(t, &f, &p, &v, SEC);
        CHECK_EQ_U(v.state, CT_STATE_NEW);
        uint16_t sp = get_be16(f.b + 20);
        CHECK(sp >= 2000 && sp <= 2009);
    }
    udp4(&f, C1 + 10, 1000, SRV, 53, 1);
    uint8_t before[256];
    memcpy(before, f.b, f.n);
    run(t, &f, &p, &v, SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_NAT_EXHAUSTED);
    CHECK(v.flags & CT_VERDICT_DROP);
    CHECK(memcmp(before, f.b, f.n) == 0);
    struct ct_nat_stats ns;
    ct_nat_stats(t, &ns);
    CHECK_EQ_U(ns.exhausted, 1);
    /* Another server: the whole reply tuple is what must be unique. */
    udp4(&f, C1 + 10, 1000, SRV + 1, 53, 1);
    run(t, &f, &p, &v, SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    /* 31 s later (UDP's 30 s) the first ten have expired. */
    udp4(&f, C1 + 11, 1000, SRV, 53, 1);
    run(t, &f, &p, &v, 32 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    ct_table_destroy(t);
}

/* Linux's null binding: a connection nobody translates keeps its tuple,
 * unless its reply tuple is a translated connection's; then its source
 * port moves. */
static void test_null_binding(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC, .only_src = C1};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 0, 0);
    struct ct_table *t = nat_table(64, &pol, NULL);
    struct frame f;
    struct ct_pkt p;
    struct ct_verdict v;
    udp4(&f, C1, 4000, SRV, 53, 1);
    run(t, &f, &p, &v, SEC);
    CHECK_EQ_U(get_be16(f.b + 20), 4000);
    /* PUB itself sends from 4000 to the same server: clash. */
    udp4(&f, PUB, 4000, SRV, 53, 1);
    run(t, &f, &p, &v, SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.flags & CT_VERDICT_NAT);
    uint16_t moved = get_be16(f.b + 20);
    CHECK(moved != 4000 && moved >= 1024);
    CHECK(frame_ok(&f));
    /* A connection without a clash is left alone. */
    udp4(&f, C2, 4000, SRV, 53, 1);
    run(t, &f, &p, &v, SEC);
    CHECK(!(v.flags & CT_VERDICT_NAT));
    struct ct_conn_info ci;
    ct_conn_get_info(t, v.conn, &ci);
    CHECK(!(ci.status & (CT_STATUS_SRC_NAT | CT_STATUS_DST_NAT)));
    CHECK((ci.status & (CT_STATUS_SRC_NAT_DONE | CT_STATUS_DST_NAT_DONE)) ==
          (CT_STATUS_SRC_NAT_DONE | CT_STATUS_DST_NAT_DONE));
    struct ct_nat_stats ns;
    ct_nat_stats(t, &ns);
    CHECK_EQ_U(ns.null_remapped, 1);
    ct_table_destroy(t);
}

/* Linux's find_appropriate_src(): a source whose own port is not in the
 * range keeps the translated port its earlier connection got, towards
 * every destination (as long as that is unique); `random` asks otherwise. */
static void test_same_source_mapping(void)
{
    for (unsigned rnd = 0; rnd < 2; rnd++) {
        struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
        range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 20000, 29999);
        if (rnd)
            pol.range[CT_NAT_MANIP_SRC].flags |= CT_NAT_RANGE_PROTO_RANDOM;
        struct ct_table *t = nat_table(64, &pol, NULL);
        struct frame f;
        struct ct_pkt p;
        struct ct_verdict v;
        udp4(&f, C1, 5000, SRV, 53, 1);
        run(t, &f, &p, &v, SEC);
        uint16_t first = get_be16(f.b + 20);
        CHECK(first >= 20000 && first <= 29999);
        unsigned same = 0;
        for (unsigned i = 1; i <= 8; i++) {
            udp4(&f, C1, 5000, SRV + i, 53, 1);
            run(t, &f, &p, &v, SEC);
            CHECK(v.flags & CT_VERDICT_CREATED);
            same += get_be16(f.b + 20) == first;
        }
        if (rnd)
            CHECK(same < 8);
        else
            CHECK_EQ_U(same, 8);
        /* The mapping's owners gone (UDP's 30 s), a new one is chosen
         * afresh, and the lists stay consistent through the removals. */
        udp4(&f, C1, 5000, SRV, 53, 1);
        run(t, &f, &p, &v, 40 * SEC);
        CHECK(v.flags & CT_VERDICT_CREATED);
        udp4(&f, C1, 5000, SRV + 1, 53, 1);
        run(t, &f, &p, &v, 40 * SEC);
        CHECK(v.flags & CT_VERDICT_CREATED);
        ct_table_destroy(t);
    }
}

/* Ranges the API refuses, and a policy giving one: NAT_RANGE. */
static void test_bad_ranges(void)
{
    struct ct_nat_range r;
    range4(&r, PUB + 1, PUB, 0, 0);
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), -EINVAL);
    range4(&r, PUB, PUB, 2000, 1000);
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), -EINVAL);
    range4(&r, PUB, PUB, 1000, 2000);
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), 0);
    r.min_addr.w[2] = 1;
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), -EINVAL);
    range4(&r, IPV4_ADDR(10, 9, 0, 0), IPV4_ADDR(10, 9, 0, 255), 0, 0);
    r.flags = CT_NAT_RANGE_NETMAP;
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), 0);
    r.max_addr.v4 = __builtin_bswap32(IPV4_ADDR(10, 9, 0, 254));
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), -EINVAL);
    r.flags = 1u << 9;
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), -EINVAL);
    CHECK_EQ_I(ct_nat_range_check(NULL, CT_L3_IPV4), -EINVAL);

    struct policy pol = {.manips = 1u << CT_NAT_MANIP_DST};
    range4(&pol.range[CT_NAT_MANIP_DST], BACK, BACK - 1, 0, 0);
    struct ct_table *t = nat_table(16, &pol, NULL);
    struct frame f;
    struct ct_pkt p;
    struct ct_verdict v;
    udp4(&f, C1, 1, VIP, 2, 1);
    run(t, &f, &p, &v, SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_NAT_RANGE);
    CHECK(v.flags & CT_VERDICT_DROP);
    struct ct_table_stats st;
    ct_table_stats(t, &st);
    CHECK_EQ_U(st.connections, 0);
    /* Enabling twice, or after traffic, is refused. */
    struct ct_nat_config nc;
    ct_nat_config_init(&nc);
    CHECK_EQ_I(ct_nat_enable(t, &nc), -EBUSY);
    ct_table_destroy(t);
    t = mk_table(16, 0);
    nc.workers = 2;
    nc.worker = 2;
    CHECK_EQ_I(ct_nat_enable(t, &nc), -EINVAL);
    CHECK_EQ_I(ct_nat_set_policy(t, policy_fn, &pol), -ENOTSUP);
    ct_table_destroy(t);
}

/* An ICMP error too short to name its connection is INVALID and left
 * alone; an ICMP redirect about a translated connection is dropped
 * unchanged, as Linux's NAT drops it. */
static void test_untranslatable(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 3000, 3000);
    struct ct_table *t = nat_table(16, &pol, NULL);
    struct frame f, err;
    struct ct_pkt p;
    struct ct_verdict v;
    udp4(&f, C1, 1000, SRV, 53, 1);
    run(t, &f, &p, &v, SEC);
    CHECK_EQ_U(get_be16(f.b + 20), 3000);
    struct frame q = f;
    q.n = 20;
    unreach4(&err, SRV, PUB, &q);
    uint8_t before[300];
    memcpy(before, err.b, err.n);
    run(t, &err, &p, &v, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK(memcmp(before, err.b, err.n) == 0);
    /* A redirect (type 5) quoting the translated packet. */
    unreach4(&err, SRV, PUB, &f);
    err.b[20] = 5;
    err.b[21] = 1;
    put_be32(err.b + 24, IPV4_ADDR(203, 0, 113, 1));
    put_be16(err.b + 22, 0);
    put_be16(err.b + 22, inet_csum(err.b + 20, err.n - 20));
    memcpy(before, err.b, err.n);
    run(t, &err, &p, &v, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_NAT_REWRITE);
    CHECK(v.flags & CT_VERDICT_DROP);
    CHECK(memcmp(before, err.b, err.n) == 0);
    struct ct_nat_stats ns;
    ct_nat_stats(t, &ns);
    CHECK_EQ_U(ns.rewrite_failed, 1);
    ct_table_destroy(t);
}

/* A translated connection survives a snapshot: the restored table finds
 * its replies and translates them. */
static void test_snapshot(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 4000, 4000);
    struct ct_table *t = nat_table(16, &pol, NULL);
    struct frame f;
    struct ct_pkt p;
    struct ct_verdict v;
    udp4(&f, C1, 1000, SRV, 53, 1);
    run(t, &f, &p, &v, SEC);
    size_t cap = ct_table_save_size(t);
    uint8_t *buf = malloc(cap);
    long len = ct_table_save_buf(t, buf, cap, SEC);
    CHECK(len > 0);
    /* Into a table without NAT: refused as a table without the section. */
    struct ct_table *plain = mk_table(16, 0);
    CHECK_EQ_I(ct_table_restore_buf(plain, buf, (size_t)len, SEC), -EMEDIUMTYPE);
    ct_table_destroy(plain);
    struct ct_table *u = nat_table(16, &pol, NULL);
    CHECK_EQ_I(ct_table_restore_buf(u, buf, (size_t)len, SEC), 1);
    udp4(&f, SRV, 53, PUB, 4000, 1);
    run(u, &f, &p, &v, 2 * SEC);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    CHECK_EQ_U(get_be32(f.b + 16), C1);
    CHECK_EQ_U(get_be16(f.b + 22), 1000);
    CHECK(frame_ok(&f));
    free(buf);
    ct_table_destroy(u);
    ct_table_destroy(t);
}

/* The folded pseudo-header sum of an IPv4 TCP segment at ip (not
 * complemented): what a frame the NIC will finish carries in its checksum
 * field (CHECKSUM_PARTIAL). */
static uint16_t pseudo_sum4(const uint8_t *ip)
{
    uint32_t s = inet_pseudo4(ip + 12, ip + 16, 6, (uint16_t)(get_be16(ip + 2) - 20));
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Frames whose transport checksum the NIC fills: the field holds the
 * pseudo-header sum, which a translation updates for the addresses and
 * leaves alone for the ports. Per frame (CT_FRAME_F_CSUM_PARTIAL) and per
 * table (CT_NAT_F_CSUM_PARTIAL). */
static void test_csum_partial(void)
{
    for (unsigned per_table = 0; per_table < 2; per_table++) {
        struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC | 1u << CT_NAT_MANIP_DST};
        range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 3333, 3333);
        range4(&pol.range[CT_NAT_MANIP_DST], BACK, BACK, 8080, 8080);
        struct ct_table *t = mk_table(16, CT_TABLE_F_NO_CHECKSUM);
        struct ct_nat_config nc;
        ct_nat_config_init(&nc);
        nc.flags = per_table ? CT_NAT_F_CSUM_PARTIAL : 0;
        CHECK_EQ_I(ct_nat_enable(t, &nc), 0);
        CHECK_EQ_I(ct_nat_set_policy(t, policy_fn, &pol), 0);
        struct frame f;
        tcp4f(&f, C1, 40000, VIP, 80, 0x02, 1, 0);
        put_be16(f.b + 36, pseudo_sum4(f.b));
        struct ct_frame_rw fr = {.data = f.b, .len = (uint32_t)f.n, .link = CT_LINK_IPV4,
                                 .flags = per_table ? 0 : CT_FRAME_F_CSUM_PARTIAL};
        struct ct_pkt p;
        struct ct_verdict v;
        CHECK_EQ_I(ct_process_burst_rw(t, &fr, &p, &v, 1, SEC, CT_PROCESS_COMMIT), 1);
        CHECK(v.flags & CT_VERDICT_NAT);
        CHECK_EQ_U(get_be32(f.b + 12), PUB);
        CHECK_EQ_U(get_be32(f.b + 16), BACK);
        CHECK_EQ_U(get_be16(f.b + 20), 3333);
        CHECK_EQ_U(get_be16(f.b + 22), 8080);
        CHECK_EQ_U(get_be16(f.b + 36), pseudo_sum4(f.b));
        CHECK(inet_csum(f.b, 20) == 0);
        ct_table_destroy(t);
    }
}

/* ---- SNAT properties over many flows ------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

struct seen {
    uint32_t src, dst;
    uint16_t sp, dp;
    uint16_t nat_port;
};

/*
 * Random UDP flows from many clients through SNAT to one address: every
 * reply tuple distinct, every reply maps back to its original tuple, and
 * with affinity (4 workers) every reply tuple steers to this table's
 * worker. Run once without and once with affinity.
 */
static void snat_property(unsigned workers)
{
    enum {
        FLOWS = 3000
    };
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 10000, 19999);
    struct ct_nat_config nc;
    ct_nat_config_init(&nc);
    nc.workers = (uint16_t)workers;
    nc.worker = workers > 1 ? 1 : 0;
    nc.steer_seed = 42;
    struct ct_table *t = nat_table(FLOWS * 2, &pol, &nc);
    static struct seen s[FLOWS];
    unsigned made = 0;
    for (unsigned i = 0; i < FLOWS; i++) {
        struct frame f;
        struct ct_pkt p;
        struct ct_verdict v;
        s[made].src = IPV4_ADDR(10, 2, 0, 0) | (rnd() & 0xff);
        s[made].dst = SRV + (rnd() & 3);
        s[made].sp = (uint16_t)(1024 + rnd() % 200); /* many equal ports */
        s[made].dp = 53;
        udp4(&f, s[made].src, s[made].sp, s[made].dst, s[made].dp, 1);
        run(t, &f, &p, &v, SEC);
        if (!(v.flags & CT_VERDICT_CREATED))
            continue; /* the same flow drawn twice */
        CHECK(frame_ok(&f));
        s[made].nat_port = get_be16(f.b + 20);
        CHECK(s[made].nat_port >= 10000 && s[made].nat_port <= 19999);
        CHECK_EQ_U(get_be32(f.b + 12), PUB);
        if (workers > 1) {
            struct ct_tuple r;
            CHECK_EQ_I(ct_conn_get_info(t, v.conn, &(struct ct_conn_info){0}), 0);
            struct ct_conn_info ci;
            ct_conn_get_info(t, v.conn, &ci);
            r = ci.tuple[CT_DIR_REPLY];
            CHECK_EQ_U(ct_nat_steer_worker(ct_tuple_steer_hash(&r, 42), workers), 1);
        }
        made++;
    }
    CHECK(made > FLOWS / 2);
    /* Distinct reply tuples: (dst, nat_port) pairs never repeat. */
    unsigned dup = 0;
    for (unsigned i = 0; i < made; i++)
        for (unsigned j = i + 1; j < made; j++)
            dup += s[i].dst == s[j].dst && s[i].nat_port == s[j].nat_port;
    CHECK_EQ_U(dup, 0);
    /* Every reply maps back. */
    unsigned back = 0;
    for (unsigned i = 0; i < made; i++) {
        struct frame f;
        struct ct_pkt p;
        struct ct_verdict v;
        udp4(&f, s[i].dst, s[i].dp, PUB, s[i].nat_port, 1);
        run(t, &f, &p, &v, 2 * SEC);
        back += v.dir == CT_DIR_REPLY && v.state == CT_STATE_ESTABLISHED &&
                get_be32(f.b + 16) == s[i].src && get_be16(f.b + 22) == s[i].sp && frame_ok(&f);
    }
    CHECK_EQ_U(back, made);
    ct_table_destroy(t);
}

static void test_snat_properties(void)
{
    snat_property(1);
}

static void test_snat_affinity(void)
{
    snat_property(4);
}

/* ---- shared tables ---------------------------------------------------------------------- */

#define SH_OWN 2000u
#define SH_COMMON 1000u

struct sh_arg {
    struct ct_table *t;
    unsigned id;
    unsigned created, refused;
};

/* One thread: its own flows (clients 10.3+id.x.y) and the common ones
 * (10.9.x.y), which the other thread sends too, all with source port 7777
 * to one server port through one address: every one needs a port. */
static void *sh_thread(void *p)
{
    struct sh_arg *a = p;
    for (unsigned i = 0; i < SH_OWN + SH_COMMON; i++) {
        uint32_t src = i < SH_OWN ? IPV4_ADDR(10, 3 + a->id, 0, 0) + i
                                  : IPV4_ADDR(10, 9, 0, 0) + (i - SH_OWN);
        struct frame f;
        struct ct_pkt pk;
        struct ct_verdict v;
        udp4(&f, src, 7777, SRV, 53, 1);
        struct ct_frame_rw fr = {.data = f.b, .len = (uint32_t)f.n, .link = CT_LINK_IPV4};
        if (ct_process_burst_rw(a->t, &fr, &pk, &v, 1, SEC, CT_PROCESS_COMMIT) != 1 ||
            v.state == CT_STATE_INVALID)
            a->refused++;
        else if (v.flags & CT_VERDICT_CREATED)
            a->created++;
    }
    ct_table_thread_offline(a->t);
    return NULL;
}

struct sh_collect {
    const struct ct_table *t;
    uint32_t n;
    uint64_t key[2 * SH_OWN + SH_COMMON + 8];
};

static int sh_collect_fn(struct ct_conn *c, void *arg)
{
    struct sh_collect *sc = arg;
    struct ct_conn_info ci;
    ct_conn_get_info(sc->t, c, &ci);
    if (sc->n < CT_ARRAY_LEN_(sc->key))
        sc->key[sc->n++] = (uint64_t)ci.tuple[CT_DIR_REPLY].dst.v4 << 16 |
                           ci.tuple[CT_DIR_REPLY].dport;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Two threads allocating ports in one shared table at once, including for
 * the same flows: every flow ends as exactly one connection, no reply
 * tuple is taken twice, and every reply maps back to its flow.
 */
static void test_shared_race(void)
{
    struct policy pol = {.manips = 1u << CT_NAT_MANIP_SRC};
    range4(&pol.range[CT_NAT_MANIP_SRC], PUB, PUB, 20000, 29999);
    struct ct_table *t = mk_table(4 * (SH_OWN + SH_COMMON), CT_TABLE_F_SHARED);
    struct ct_nat_config nc;
    ct_nat_config_init(&nc);
    CHECK_EQ_I(ct_nat_enable(t, &nc), 0);
    CHECK_EQ_I(ct_nat_set_policy(t, policy_fn, &pol), 0);
    struct sh_arg a[2] = {{.t = t, .id = 0}, {.t = t, .id = 1}};
    pthread_t th[2];
    for (unsigned i = 0; i < 2; i++)
        CHECK_EQ_I(pthread_create(&th[i], NULL, sh_thread, &a[i]), 0);
    for (unsigned i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_U(a[0].refused + a[1].refused, 0);
    CHECK_EQ_U(a[0].created + a[1].created, 2 * SH_OWN + SH_COMMON);
    static struct sh_collect sc;
    sc.t = t;
    sc.n = 0;
    ct_table_foreach(t, sh_collect_fn, &sc);
    CHECK_EQ_U(sc.n, 2 * SH_OWN + SH_COMMON);
    qsort(sc.key, sc.n, sizeof(sc.key[0]), cmp_u64);
    unsigned dup = 0;
    for (uint32_t i = 1; i < sc.n; i++)
        dup += sc.key[i] == sc.key[i - 1];
    CHECK_EQ_U(dup, 0);
    /* Each reply port leads back to a client that sent from 7777. */
    unsigned back = 0;
    for (uint32_t i = 0; i < sc.n; i++) {
        struct ct_tuple r = {.l3 = CT_L3_IPV4, .proto = 17, .sport = 53};
        r.src.v4 = __builtin_bswap32(SRV);
        r.dst.v4 = (uint32_t)(sc.key[i] >> 16);
        r.dport = (uint16_t)sc.key[i];
        enum ct_dir d;
        struct ct_conn *c = ct_table_lookup(t, &r, 2 * SEC, &d);
        struct ct_conn_info ci;
        if (c && d == CT_DIR_REPLY && ct_conn_get_info(t, c, &ci) == 0 &&
            ci.tuple[CT_DIR_ORIGINAL].sport == 7777)
            back++;
    }
    CHECK_EQ_U(back, sc.n);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_dnat_round_trip);
    RUN(test_snat_icmp_error);
    RUN(test_echo_ids);
    RUN(test_exhaustion_and_release);
    RUN(test_null_binding);
    RUN(test_same_source_mapping);
    RUN(test_bad_ranges);
    RUN(test_untranslatable);
    RUN(test_snapshot);
    RUN(test_csum_partial);
    RUN(test_snat_properties);
    RUN(test_snat_affinity);
    RUN(test_shared_race);
    return check_summary();
}
