/*
 * Tests of zones per direction (Linux's nf_ct_zone_id() and
 * resolve_normal_ct()): the same tuple in two zones kept apart, templates
 * whose zone covers the original direction only or the reply direction
 * only, the zone taken from the packet mark, per-zone limits counting the
 * original zone, ICMP errors in a template's zone, tuples taken by another
 * connection (TUPLE_CLASH), IPv6, and a shared table.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"

#define SEC 1000000000ull
#define A 0x0100000au
#define B 0x0200000au

static struct ct_conn_info info_of(struct ct_table *t, struct ct_conn *c)
{
    struct ct_conn_info i;
    memset(&i, 0, sizeof(i));
    CHECK_EQ_I(ct_conn_get_info(t, c, &i), 0);
    return i;
}

static uint32_t nconn(struct ct_table *t)
{
    struct ct_table_stats s;
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    return (uint32_t)s.connections;
}

static struct ct_pkt udp(uint16_t zone, uint8_t tmpl, uint32_t src, uint32_t dst, uint16_t sp,
                         uint16_t dp)
{
    struct ct_pkt p = pkt4(17, src, dst, sp, dp, 60);
    p.tuple.zone = zone;
    p.tmpl = tmpl;
    return p;
}

static int zone_tmpl(struct ct_table *t, uint32_t flags, uint16_t zone, uint8_t dir)
{
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = flags;
    x.zone = zone;
    x.zone_dir = dir;
    return ct_template_add(t, &x);
}

/* The same tuple in two zones: two connections, each found in its own. */
static void test_two_zones_apart(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    uint8_t z7 = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 7, CT_ZONE_DIR_BOTH);
    struct ct_verdict v1 = run1(t, udp(1, 0, A, B, 1000, 53), SEC);
    struct ct_verdict v2 = run1(t, udp(2, 0, A, B, 1000, 53), SEC);
    struct ct_verdict v3 = run1(t, udp(0, z7, A, B, 1000, 53), SEC);
    CHECK_PTR(v1.conn);
    CHECK_PTR(v2.conn);
    CHECK_PTR(v3.conn);
    CHECK(v1.conn != v2.conn && v2.conn != v3.conn && v1.conn != v3.conn);
    CHECK_EQ_U(nconn(t), 3);
    struct ct_conn_info i = info_of(t, v3.conn);
    CHECK_EQ_U(i.zone[0], 7);
    CHECK_EQ_U(i.zone[1], 7);
    CHECK_EQ_U(i.tuple[0].zone, 7);
    CHECK_EQ_U(i.tuple[1].zone, 7);
    /* Replies find their own zone's connection. */
    struct ct_verdict r = run1(t, udp(2, 0, B, A, 53, 1000), 2 * SEC);
    CHECK(r.conn == v2.conn);
    CHECK_EQ_U(r.dir, CT_DIR_REPLY);
    r = run1(t, udp(7, 0, B, A, 53, 1000), 2 * SEC);
    CHECK(r.conn == v3.conn);
    CHECK_EQ_U(r.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(nconn(t), 3);
    ct_table_destroy(t);
}

/* A zone for the original direction only: the reply direction is zone 0. */
static void test_orig_only(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    uint8_t zo = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 5, CT_ZONE_DIR_ORIG);
    struct ct_verdict v = run1(t, udp(0, zo, A, B, 1000, 53), SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.zone[0], 5);
    CHECK_EQ_U(i.zone[1], 0);
    CHECK_EQ_U(i.tuple[0].zone, 5);
    CHECK_EQ_U(i.tuple[1].zone, 0);
    /* Each tuple is indexed in its own zone. */
    struct ct_tuple k = i.tuple[1];
    enum ct_dir d;
    CHECK(ct_table_lookup(t, &k, SEC, &d) == c);
    CHECK_EQ_U(d, CT_DIR_REPLY);
    k.zone = 5;
    CHECK(ct_table_lookup(t, &k, SEC, &d) == NULL);
    k = i.tuple[0];
    k.zone = 0;
    CHECK(ct_table_lookup(t, &k, SEC, &d) == NULL);

    /* A reply without a template (zone 0) is the connection's. */
    v = run1(t, udp(0, 0, B, A, 53, 1000), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    /* So is a reply that meets the same template: its reply-direction zone
     * is 0 too. */
    v = run1(t, udp(0, zo, B, A, 53, 1000), 3 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    /* The original direction needs zone 5. */
    v = run1(t, udp(0, zo, A, B, 1000, 53), 4 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_ORIGINAL);
    /* Without the template it would be a new connection in zone 0, whose
     * reply tuple (B -> A in zone 0) is c's: refused, as Linux's confirm
     * refuses a clash. */
    v = run1(t, udp(0, 0, A, B, 1000, 53), 5 * SEC);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_TUPLE_CLASH);
    CHECK_EQ_U(nconn(t), 1);
    /* Another port is no clash. */
    v = run1(t, udp(0, 0, A, B, 1001, 53), 5 * SEC);
    CHECK_PTR(v.conn);
    CHECK_EQ_U(nconn(t), 2);
    ct_table_destroy(t);
}

/* A zone for the reply direction only. */
static void test_reply_only(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    uint8_t zr = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 9, CT_ZONE_DIR_REPL);
    struct ct_verdict v = run1(t, udp(0, zr, A, B, 1000, 53), SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.zone[0], 0);
    CHECK_EQ_U(i.zone[1], 9);
    /* A reply in zone 9 (from the frame, both directions) finds it ... */
    v = run1(t, udp(9, 0, B, A, 53, 1000), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    /* ... as does one that meets the reply-only template ... */
    v = run1(t, udp(0, zr, B, A, 53, 1000), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    /* ... and the original direction finds it in zone 0, with or without
     * the template. */
    v = run1(t, udp(0, 0, A, B, 1000, 53), 3 * SEC);
    CHECK(v.conn == c);
    v = run1(t, udp(0, zr, A, B, 1000, 53), 3 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_ORIGINAL);
    /* A reply in zone 0 would be a new connection B -> A in zone 0 both
     * ways, whose reply tuple is c's original: a clash. */
    v = run1(t, udp(0, 0, B, A, 53, 1000), 4 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_TUPLE_CLASH);
    CHECK_EQ_U(nconn(t), 1);
    ct_table_destroy(t);
}

/* The zone from the packet mark's low 16 bits, per direction mask. */
static void test_zone_from_mark(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    uint8_t zm = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE_MARK, 0, 0);
    uint8_t zmo = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE_MARK, 0, CT_ZONE_DIR_ORIG);
    struct ct_pkt p = udp(0, zm, A, B, 1000, 53);
    p.mark = 0x00030042;
    struct ct_verdict v = run1(t, p, SEC);
    struct ct_conn_info i = info_of(t, v.conn);
    CHECK_EQ_U(i.zone[0], 0x42);
    CHECK_EQ_U(i.zone[1], 0x42);
    CHECK_EQ_U(i.mark, 0); /* the packet mark is not the ct mark */
    p.mark = 0x43;
    v = run1(t, p, SEC);
    CHECK_EQ_U(info_of(t, v.conn).zone[0], 0x43);
    CHECK_EQ_U(nconn(t), 2);
    /* The same mark again: the same connection. */
    struct ct_conn *c = v.conn;
    v = run1(t, p, 2 * SEC);
    CHECK(v.conn == c);
    /* Original direction only. */
    p = udp(0, zmo, A, B, 2000, 53);
    p.mark = 0xffff0007;
    v = run1(t, p, SEC);
    i = info_of(t, v.conn);
    CHECK_EQ_U(i.zone[0], 7);
    CHECK_EQ_U(i.zone[1], 0);
    ct_table_destroy(t);
}

/* Per-zone limits count the original direction's zone. */
static void test_limits_count_original_zone(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    uint8_t zr = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 5, CT_ZONE_DIR_REPL);
    uint8_t zo = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 5, CT_ZONE_DIR_ORIG);
    CHECK_EQ_I(ct_zone_set_limit(t, 5, 1), 0);
    struct ct_verdict v = run1(t, udp(0, zr, A, B, 1, 53), SEC);
    CHECK_PTR(v.conn);
    v = run1(t, udp(0, zo, A, B, 2, 53), SEC);
    CHECK_PTR(v.conn);
    uint32_t count = 0, limit = 0;
    CHECK_EQ_I(ct_zone_count(t, 5, &count, &limit), 0);
    CHECK_EQ_U(count, 1);
    CHECK_EQ_I(ct_zone_count(t, 0, &count, NULL), 0);
    CHECK_EQ_U(count, 1);
    v = run1(t, udp(0, zo, A, B, 3, 53), SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_ZONE_LIMIT);
    ct_table_destroy(t);
}

/* An ICMP error is looked up in its template's (original) zone. */
static void test_icmp_error_in_zone(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    uint8_t z = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 4, CT_ZONE_DIR_BOTH);
    struct ct_verdict v = run1(t, udp(0, z, A, B, 1000, 53), SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    /* B's port-unreachable about A's datagram. */
    struct ct_pkt e = pkt4(1, B, A, 0, 0x0303, 88);
    e.icmp_type = 3;
    e.icmp_code = 3;
    e.icmp_is_error = 1;
    e.inner_ok = 1;
    e.inner.l3 = CT_L3_IPV4;
    e.inner.proto = 17;
    e.inner.src.v4 = A;
    e.inner.dst.v4 = B;
    e.inner.sport = 1000;
    e.inner.dport = 53;
    v = run1(t, e, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_INVALID); /* zone 0: no connection */
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_NO_CONN);
    e.tmpl = z;
    v = run1(t, e, 2 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_RELATED);
    CHECK(v.conn == c);
    ct_table_destroy(t);
}

/* IPv6 and a shared table go the same way. */
static void run_v6_orig_only(uint32_t flags)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM | flags);
    uint8_t zo = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 11, CT_ZONE_DIR_ORIG);
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.tuple.l3 = CT_L3_IPV6;
    p.tuple.proto = 17;
    p.tuple.src.b[0] = 0xfe;
    p.tuple.src.b[15] = 1;
    p.tuple.dst.b[0] = 0xfe;
    p.tuple.dst.b[15] = 2;
    p.tuple.sport = 1000;
    p.tuple.dport = 53;
    p.ip_len = 80;
    p.tmpl = zo;
    struct ct_pkt r = p;
    r.tuple.src = p.tuple.dst;
    r.tuple.dst = p.tuple.src;
    r.tuple.sport = 53;
    r.tuple.dport = 1000;

    struct ct_verdict v = run1(t, p, SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.zone[0], 11);
    CHECK_EQ_U(i.zone[1], 0);
    v = run1(t, r, 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    r.tmpl = 0;
    v = run1(t, r, 2 * SEC);
    CHECK(v.conn == c);
    p.tmpl = 0;
    v = run1(t, p, 3 * SEC);
    CHECK_EQ_U(v.reason, CT_REASON_TUPLE_CLASH);
    CHECK_EQ_U(nconn(t), 1);
    p.tuple.sport = 1001;
    v = run1(t, p, 3 * SEC);
    CHECK_PTR(v.conn);
    CHECK_EQ_U(nconn(t), 2);
    ct_table_destroy(t);
}

/*
 * A tuple that is another connection's reply tuple in a zone the packet's
 * template gives the other direction only: tmpl_lookup() passes over it,
 * and the new connection would index the same key twice; refused, in both
 * table modes. A packet in that zone for both directions does match it.
 */
static void run_taken_by_reply(uint32_t flags)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM | flags);
    uint8_t zr5 = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 5, CT_ZONE_DIR_REPL);
    uint8_t zo5 = (uint8_t)zone_tmpl(t, CT_TMPL_ZONE, 5, CT_ZONE_DIR_ORIG);
    /* X: B -> A in zone 0, its reply A -> B in zone 5. */
    struct ct_verdict v = run1(t, udp(0, zr5, B, A, 53, 1000), SEC);
    struct ct_conn *x = v.conn;
    CHECK_PTR(x);
    v = run1(t, udp(0, zo5, A, B, 1000, 53), 2 * SEC);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_TUPLE_CLASH);
    CHECK_EQ_U(nconn(t), 1);
    v = run1(t, udp(5, 0, A, B, 1000, 53), 3 * SEC);
    CHECK(v.conn == x);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    ct_table_destroy(t);
}

static void test_taken_by_reply(void)
{
    run_taken_by_reply(0);
    run_taken_by_reply(CT_TABLE_F_SHARED);
}

static void test_v6_and_shared(void)
{
    run_v6_orig_only(0);
    run_v6_orig_only(CT_TABLE_F_SHARED);
}

int main(void)
{
    RUN(test_two_zones_apart);
    RUN(test_orig_only);
    RUN(test_reply_only);
    RUN(test_zone_from_mark);
    RUN(test_limits_count_original_zone);
    RUN(test_icmp_error_in_zone);
    RUN(test_v6_and_shared);
    RUN(test_taken_by_reply);
    return check_summary();
}
