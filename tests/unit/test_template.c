/*
 * Tests of CT templates and timeout policies (ctrack/template.h) through the
 * packet path: notrack, ct mark, labels, events and helper of a NEW
 * connection, timeout policies at their exact deadlines (TCP, UDP, a policy
 * of one protocol left off the others), a template never applied to an
 * existing connection, a shared table, and every registration error.
 * Zones per direction are in test_zone.c.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"

#define SEC 1000000000ull
#define A 0x0100000au /* 10.0.0.1 */
#define B 0x0200000au /* 10.0.0.2 */

static struct ct_conn_info info_of(struct ct_table *t, struct ct_conn *c)
{
    struct ct_conn_info i;
    memset(&i, 0, sizeof(i));
    CHECK_EQ_I(ct_conn_get_info(t, c, &i), 0);
    return i;
}

static struct ct_table_stats stats_of(struct ct_table *t)
{
    struct ct_table_stats s;
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    return s;
}

static struct ct_pkt udp_with(uint8_t tmpl, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp)
{
    struct ct_pkt p = pkt4(17, src, dst, sp, dp, 60);
    p.tmpl = tmpl;
    return p;
}

static int add_tmpl(struct ct_table *t, uint32_t flags)
{
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = flags;
    return ct_template_add(t, &x);
}

/* ---- registration errors ---------------------------------------------------------- */

static void test_template_errors(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_template x;
    memset(&x, 0, sizeof(x));

    CHECK_EQ_I(ct_template_add(NULL, &x), -EINVAL);
    CHECK_EQ_I(ct_template_add(t, NULL), -EINVAL);
    x.flags = 1u << 8;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    x.flags = CT_TMPL_NOTRACK | CT_TMPL_MARK;
    x.mark = 1;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_ZONE | CT_TMPL_ZONE_MARK;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    x.flags = CT_TMPL_ZONE;
    x.zone_dir = 4;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    x.zone_dir = 0;
    x.reserved[2] = 1;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    x.reserved[2] = 0;
    x.reserved8 = 1;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_EVENTS;
    x.events = (uint16_t)(CT_EVENT_ALL + 1);
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    /* A field without its flag would be ignored: refused. */
    memset(&x, 0, sizeof(x));
    x.mark = 7;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    memset(&x, 0, sizeof(x));
    x.zone = 7;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    memset(&x, 0, sizeof(x));
    x.labels[3] = 1;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_MARK;
    x.helper = CT_HELPER_FTP;
    CHECK_EQ_I(ct_template_add(t, &x), -EINVAL);
    /* Unknown policy and helper. */
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_TIMEOUT;
    x.policy = 1;
    CHECK_EQ_I(ct_template_add(t, &x), -ENOENT);
    x.flags = CT_TMPL_HELPER;
    x.policy = 0;
    x.helper = CT_HELPER_COUNT;
    CHECK_EQ_I(ct_template_add(t, &x), -ENOENT);
    x.helper = CT_HELPER_NONE;
    CHECK_EQ_I(ct_template_add(t, &x), -ENOENT);

    /* Ids count from 1; get copies back, unknown ids are -ENOENT. */
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_ZONE;
    x.zone = 9;
    CHECK_EQ_I(ct_template_add(t, &x), 1);
    struct ct_template y;
    CHECK_EQ_I(ct_template_get(t, 1, &y), 0);
    CHECK_EQ_U(y.zone, 9);
    CHECK_EQ_U(y.zone_dir, CT_ZONE_DIR_BOTH); /* 0 means both */
    CHECK_EQ_I(ct_template_get(t, 0, &y), -ENOENT);
    CHECK_EQ_I(ct_template_get(t, 2, &y), -ENOENT);
    CHECK_EQ_I(ct_template_get(t, 1, NULL), -EINVAL);
    CHECK_EQ_I(ct_template_get(NULL, 1, &y), -EINVAL);

    /* Full at CT_TEMPLATE_MAX. */
    for (int i = 2; i <= CT_TEMPLATE_MAX; i++)
        CHECK_EQ_I(add_tmpl(t, CT_TMPL_NOTRACK), i);
    CHECK_EQ_I(add_tmpl(t, CT_TMPL_NOTRACK), -ENOSPC);
    ct_table_destroy(t);

    /* Labels, events and a helper need their side array before the first
     * connection; other templates do not. */
    t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    (void)run1(t, udp_with(0, A, B, 1000, 53), SEC);
    CHECK_EQ_I(add_tmpl(t, CT_TMPL_NOTRACK), 1);
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_LABELS;
    x.labels[0] = 1;
    CHECK_EQ_I(ct_template_add(t, &x), -EBUSY);
    x.flags = CT_TMPL_HELPER;
    x.labels[0] = 0;
    x.helper = CT_HELPER_TFTP;
    CHECK_EQ_I(ct_template_add(t, &x), -EBUSY);
    ct_table_destroy(t);
}

static void test_policy_errors(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_timeout_policy p;
    memset(&p, 0, sizeof(p));
    p.proto = 6;
    p.timeouts[CT_TIMEOUT_TCP_ESTABLISHED] = 100;

    CHECK_EQ_I(ct_timeout_policy_add(NULL, "a", &p), -EINVAL);
    CHECK_EQ_I(ct_timeout_policy_add(t, NULL, &p), -EINVAL);
    CHECK_EQ_I(ct_timeout_policy_add(t, "a", NULL), -EINVAL);
    CHECK_EQ_I(ct_timeout_policy_add(t, "", &p), -EINVAL);
    char longname[CT_NAME_MAX + 1];
    memset(longname, 'x', CT_NAME_MAX);
    longname[CT_NAME_MAX] = 0;
    CHECK_EQ_I(ct_timeout_policy_add(t, longname, &p), -EINVAL);
    longname[CT_NAME_MAX - 1] = 0; /* 31 bytes: the longest */
    CHECK_EQ_I(ct_timeout_policy_add(t, longname, &p), 1);
    p.l3 = 5;
    CHECK_EQ_I(ct_timeout_policy_add(t, "b", &p), -EINVAL);
    p.l3 = CT_L3_IPV6;
    p.reserved[1] = 1;
    CHECK_EQ_I(ct_timeout_policy_add(t, "b", &p), -EINVAL);
    p.reserved[1] = 0;
    /* A state of another protocol. */
    p.timeouts[CT_TIMEOUT_UDP] = 10;
    CHECK_EQ_I(ct_timeout_policy_add(t, "b", &p), -EINVAL);
    p.timeouts[CT_TIMEOUT_UDP] = 0;
    CHECK_EQ_I(ct_timeout_policy_add(t, "b", &p), 2);
    CHECK_EQ_I(ct_timeout_policy_add(t, "b", &p), -EEXIST);

    CHECK_EQ_I(ct_timeout_policy_find(t, "b"), 2);
    CHECK_EQ_I(ct_timeout_policy_find(t, longname), 1);
    CHECK_EQ_I(ct_timeout_policy_find(t, "c"), -ENOENT);
    CHECK_EQ_I(ct_timeout_policy_find(t, NULL), -EINVAL);
    struct ct_timeout_policy q;
    CHECK_EQ_I(ct_timeout_policy_get(t, 2, &q), 0);
    CHECK_EQ_U(q.l3, CT_L3_IPV6);
    CHECK_EQ_U(q.timeouts[CT_TIMEOUT_TCP_ESTABLISHED], 100);
    CHECK_EQ_I(ct_timeout_policy_get(t, 3, &q), -ENOENT);
    CHECK_EQ_I(ct_timeout_policy_get(t, 0, &q), -ENOENT);
    CHECK_EQ_I(ct_timeout_policy_get(t, 1, NULL), -EINVAL);

    p.l3 = 0;
    for (int i = 3; i <= CT_POLICY_MAX; i++) {
        char name[16];
        name[0] = 'p';
        name[1] = (char)('0' + i / 100);
        name[2] = (char)('0' + i / 10 % 10);
        name[3] = (char)('0' + i % 10);
        name[4] = 0;
        CHECK_EQ_I(ct_timeout_policy_add(t, name, &p), i);
    }
    CHECK_EQ_I(ct_timeout_policy_add(t, "last", &p), -ENOSPC);
    ct_table_destroy(t);
}

static void test_helper_names(void)
{
    CHECK_EQ_I(ct_helper_id("ftp"), CT_HELPER_FTP);
    CHECK_EQ_I(ct_helper_id("tftp"), CT_HELPER_TFTP);
    CHECK_EQ_I(ct_helper_id("sip"), -ENOENT);
    CHECK_EQ_I(ct_helper_id(""), -ENOENT);
    CHECK_EQ_I(ct_helper_id(NULL), -EINVAL);
    CHECK_STR(ct_helper_name(CT_HELPER_FTP), "ftp");
    CHECK_STR(ct_helper_name(CT_HELPER_TFTP), "tftp");
    CHECK(ct_helper_name(CT_HELPER_NONE) == NULL);
    CHECK(ct_helper_name(CT_HELPER_COUNT) == NULL);
}

/* ---- the packet path -------------------------------------------------------------- */

static void test_notrack(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    int nt = add_tmpl(t, CT_TMPL_NOTRACK);
    CHECK_EQ_I(nt, 1);

    struct ct_verdict v = run1(t, udp_with((uint8_t)nt, A, B, 1000, 53), SEC);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(v.state, CT_STATE_UNTRACKED);
    CHECK_EQ_U(v.reason, CT_REASON_NOTRACK);
    struct ct_table_stats s = stats_of(t);
    CHECK_EQ_U(s.connections, 0);
    CHECK_EQ_U(s.untracked, 1);
    CHECK_EQ_U(s.reasons[CT_REASON_NOTRACK], 1);

    /* As Linux's raw table: a packet that meets notrack is untracked even
     * when its connection exists, and leaves it alone. */
    v = run1(t, udp_with(0, A, B, 1000, 53), 2 * SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    v = run1(t, udp_with((uint8_t)nt, B, A, 53, 1000), 3 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_UNTRACKED);
    CHECK(v.conn == NULL);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.last_seen, 2 * SEC);
    CHECK_EQ_U(i.status & CT_STATUS_SEEN_REPLY, 0);

    /* An id that names no template is no template. */
    v = run1(t, udp_with(200, A, B, 1001, 53), 4 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_PTR(v.conn);
    ct_table_destroy(t);
}

static void test_mark_labels_events_helper(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_MARK | CT_TMPL_LABELS | CT_TMPL_EVENTS | CT_TMPL_HELPER;
    x.mark = 0xdeadbeef;
    x.labels[0] = 0x01;  /* label 0 */
    x.labels[15] = 0x80; /* label 127 */
    x.events = CT_EVENT_NEW | CT_EVENT_DESTROY;
    x.helper = CT_HELPER_FTP;
    int id = ct_template_add(t, &x);
    CHECK_EQ_I(id, 1);
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_MARK;
    x.mark = 5;
    int id2 = ct_template_add(t, &x);
    CHECK_EQ_I(id2, 2);

    struct ct_verdict v = run1(t, udp_with((uint8_t)id, A, B, 1000, 53), SEC);
    CHECK_PTR(v.conn);
    struct ct_conn_info i = info_of(t, v.conn);
    CHECK_EQ_U(i.mark, 0xdeadbeef);
    CHECK_EQ_U(i.labels[0], 0x01);
    CHECK_EQ_U(i.labels[15], 0x80);
    CHECK_EQ_U(i.labels[7], 0);
    CHECK_EQ_U(i.events, CT_EVENT_NEW | CT_EVENT_DESTROY);
    CHECK(i.flags & CT_INFO_F_EVENTS);
    CHECK_EQ_U(i.helper, CT_HELPER_FTP);
    CHECK_EQ_U(i.policy, 0);

    /* A template with only a mark: nothing else in the side array, and a
     * connection without a template has none of it. */
    v = run1(t, udp_with((uint8_t)id2, A, B, 1001, 53), SEC);
    i = info_of(t, v.conn);
    CHECK_EQ_U(i.mark, 5);
    CHECK_EQ_U(i.labels[0], 0);
    CHECK_EQ_U(i.helper, CT_HELPER_NONE);
    CHECK_EQ_U(i.flags & CT_INFO_F_EVENTS, 0);
    v = run1(t, udp_with(0, A, B, 1002, 53), SEC);
    i = info_of(t, v.conn);
    CHECK_EQ_U(i.mark, 0);
    CHECK_EQ_U(i.labels[15], 0);
    CHECK_EQ_U(i.events, 0);
    ct_table_destroy(t);
}

/* A template meets a connection that exists: nothing of it is applied. */
static void test_not_applied_to_existing(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_timeout_policy p;
    memset(&p, 0, sizeof(p));
    p.proto = 17;
    p.timeouts[CT_TIMEOUT_UDP] = 5;
    int pol = ct_timeout_policy_add(t, "short", &p);
    CHECK_EQ_I(pol, 1);
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_MARK | CT_TMPL_TIMEOUT | CT_TMPL_LABELS;
    x.mark = 9;
    x.policy = (uint8_t)pol;
    x.labels[1] = 4;
    int id = ct_template_add(t, &x);
    CHECK_EQ_I(id, 1);

    struct ct_verdict v = run1(t, udp_with(0, A, B, 1000, 53), SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    v = run1(t, udp_with((uint8_t)id, A, B, 1000, 53), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.flags & CT_VERDICT_CREATED, 0);
    v = run1(t, udp_with((uint8_t)id, B, A, 53, 1000), 3 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.mark, 0);
    CHECK_EQ_U(i.policy, 0);
    CHECK_EQ_U(i.labels[1], 0);
    CHECK_EQ_U(i.expires, 3 * SEC + 30 * SEC);
    ct_table_destroy(t);
}

/* A TCP handshake from A:1000 to B:80 at t0, t0 + 1 ms, t0 + 2 ms. */
static struct ct_conn *tcp_handshake(struct ct_table *t, uint8_t tmpl, uint64_t t0)
{
    struct ct_pkt syn = tcp4(A, B, 1000, 80, CT_TCP_SYN, 100, 0, 0);
    struct ct_pkt synack = tcp4(B, A, 80, 1000, CT_TCP_SYN | CT_TCP_ACK, 500, 101, 0);
    struct ct_pkt ack = tcp4(A, B, 1000, 80, CT_TCP_ACK, 101, 501, 0);
    syn.tmpl = tmpl;
    synack.tmpl = tmpl;
    ack.tmpl = tmpl;
    struct ct_verdict v = run1(t, syn, t0);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    v = run1(t, synack, t0 + SEC / 1000);
    CHECK(v.conn == c);
    v = run1(t, ack, t0 + 2 * SEC / 1000);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.l4state, CT_TCP_ESTABLISHED);
    return c;
}

static void test_policy_tcp_deadline(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_timeout_policy p;
    memset(&p, 0, sizeof(p));
    p.l3 = CT_L3_IPV4;
    p.proto = 6;
    p.timeouts[CT_TIMEOUT_TCP_ESTABLISHED] = 100;
    p.timeouts[CT_TIMEOUT_TCP_SYN_SENT] = 7;
    int pol = ct_timeout_policy_add(t, "est100", &p);
    CHECK_EQ_I(pol, 1);
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_TIMEOUT;
    x.policy = (uint8_t)pol;
    int id = ct_template_add(t, &x);
    CHECK_EQ_I(id, 1);

    const uint64_t t0 = 1000 * SEC;
    /* SYN_SENT takes the policy's 7 s; the other states the table's. */
    struct ct_pkt syn = tcp4(A, B, 2000, 80, CT_TCP_SYN, 100, 0, 0);
    syn.tmpl = (uint8_t)id;
    struct ct_verdict v = run1(t, syn, t0);
    struct ct_conn_info i = info_of(t, v.conn);
    CHECK_EQ_U(i.policy, (unsigned)pol);
    CHECK_EQ_U(i.expires, t0 + 7 * SEC);

    struct ct_conn *c = tcp_handshake(t, (uint8_t)id, t0);
    const uint64_t last = t0 + 2 * SEC / 1000;
    i = info_of(t, c);
    CHECK_EQ_U(i.timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(i.expires, last + 100 * SEC);
    /* Alive 1 ns before the deadline, gone at it: by lookup ... */
    struct ct_tuple tu = i.tuple[0];
    enum ct_dir d;
    CHECK(ct_table_lookup(t, &tu, last + 100 * SEC - 1, &d) == c);
    CHECK(ct_table_lookup(t, &tu, last + 100 * SEC, &d) == NULL);
    /* ... and by the exact sweep, on a second connection, with a connection
     * without the policy (120 s in SYN_SENT) next to one with it. The sweep first
     * takes the 7 s SYN_SENT connection of port 2000. */
    CHECK_EQ_I(ct_expire_all(t, t0 + 200 * SEC), 1);
    c = tcp_handshake(t, (uint8_t)id, t0 + 200 * SEC);
    struct ct_pkt plain = tcp4(A, B, 3000, 80, CT_TCP_SYN, 100, 0, 0);
    v = run1(t, plain, t0 + 200 * SEC);
    CHECK_EQ_U(info_of(t, v.conn).expires, t0 + 200 * SEC + 120 * SEC);
    const uint64_t last2 = t0 + 200 * SEC + 2 * SEC / 1000;
    CHECK_EQ_I(ct_expire_all(t, last2 + 100 * SEC - 1), 0);
    CHECK_EQ_I(ct_expire_all(t, last2 + 100 * SEC), 1);
    CHECK_EQ_U(stats_of(t).connections, 1);
    ct_table_destroy(t);
}

static void test_policy_udp_and_other_protocols(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_timeout_policy p;
    memset(&p, 0, sizeof(p));
    p.proto = 17;
    p.timeouts[CT_TIMEOUT_UDP] = 5;
    p.timeouts[CT_TIMEOUT_UDP_STREAM] = 40;
    int pudp = ct_timeout_policy_add(t, "udp", &p);
    memset(&p, 0, sizeof(p));
    p.proto = 6;
    p.l3 = CT_L3_IPV6;
    p.timeouts[CT_TIMEOUT_TCP_SYN_SENT] = 3;
    int ptcp6 = ct_timeout_policy_add(t, "tcp6", &p);
    CHECK_EQ_I(pudp, 1);
    CHECK_EQ_I(ptcp6, 2);
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_TIMEOUT;
    x.policy = (uint8_t)pudp;
    int tu = ct_template_add(t, &x);
    x.policy = (uint8_t)ptcp6;
    int tt = ct_template_add(t, &x);

    /* UDP with the UDP policy: 5 s unreplied. */
    const uint64_t t0 = 50 * SEC;
    struct ct_verdict v = run1(t, udp_with((uint8_t)tu, A, B, 1000, 53), t0);
    struct ct_conn *c = v.conn;
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.policy, (unsigned)pudp);
    CHECK_EQ_U(i.expires, t0 + 5 * SEC);
    struct ct_tuple k = i.tuple[0];
    CHECK(ct_table_lookup(t, &k, t0 + 5 * SEC - 1, NULL) == c);
    CHECK(ct_table_lookup(t, &k, t0 + 5 * SEC, NULL) == NULL);

    /* TCP with the UDP policy's template: the table's timeouts. */
    struct ct_pkt syn = tcp4(A, B, 1000, 80, CT_TCP_SYN, 1, 0, 0);
    syn.tmpl = (uint8_t)tu;
    v = run1(t, syn, t0);
    i = info_of(t, v.conn);
    CHECK_EQ_U(i.policy, 0);
    CHECK_EQ_U(i.expires, t0 + 120 * SEC);
    /* IPv4 TCP with the IPv6-only TCP policy: the table's too. */
    syn.tmpl = (uint8_t)tt;
    syn.tuple.sport = 1001;
    v = run1(t, syn, t0);
    i = info_of(t, v.conn);
    CHECK_EQ_U(i.policy, 0);
    CHECK_EQ_U(i.expires, t0 + 120 * SEC);
    /* UDP with the TCP policy's template: the table's 30 s. */
    v = run1(t, udp_with((uint8_t)tt, A, B, 1001, 53), t0);
    i = info_of(t, v.conn);
    CHECK_EQ_U(i.policy, 0);
    CHECK_EQ_U(i.expires, t0 + 30 * SEC);
    ct_table_destroy(t);
}

/* Classification without commit uses the policy too (and creates nothing). */
static void test_policy_not_committed(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    struct ct_timeout_policy p;
    memset(&p, 0, sizeof(p));
    p.proto = 17;
    p.timeouts[CT_TIMEOUT_UDP] = 5;
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_TIMEOUT;
    x.policy = (uint8_t)ct_timeout_policy_add(t, "udp", &p);
    struct ct_pkt pk = udp_with((uint8_t)ct_template_add(t, &x), A, B, 1, 2);
    struct ct_verdict v;
    CHECK_EQ_I(ct_process_parsed(t, &pk, &v, 1, SEC, 0), 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(stats_of(t).connections, 0);
    ct_table_destroy(t);
}

static void test_shared_table(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM | CT_TABLE_F_SHARED);
    struct ct_timeout_policy p;
    memset(&p, 0, sizeof(p));
    p.proto = 17;
    p.timeouts[CT_TIMEOUT_UDP] = 5;
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_MARK | CT_TMPL_TIMEOUT | CT_TMPL_LABELS | CT_TMPL_ZONE;
    x.mark = 77;
    x.zone = 3;
    x.zone_dir = CT_ZONE_DIR_ORIG;
    x.labels[2] = 0x10;
    x.policy = (uint8_t)ct_timeout_policy_add(t, "udp", &p);
    int id = ct_template_add(t, &x);
    CHECK_EQ_I(id, 1);
    int nt = add_tmpl(t, CT_TMPL_NOTRACK);

    struct ct_verdict v = run1(t, udp_with((uint8_t)id, A, B, 1000, 53), SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    struct ct_conn_info i = info_of(t, c);
    CHECK_EQ_U(i.mark, 77);
    CHECK_EQ_U(i.zone[0], 3);
    CHECK_EQ_U(i.zone[1], 0);
    CHECK_EQ_U(i.labels[2], 0x10);
    CHECK_EQ_U(i.expires, SEC + 5 * SEC);
    /* The reply, with the same template (zone 3 original-only): found in
     * the reply zone 0. */
    v = run1(t, udp_with((uint8_t)id, B, A, 53, 1000), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    /* Again from the originator, with the template: found in zone 3. */
    v = run1(t, udp_with((uint8_t)id, A, B, 1000, 53), 3 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.dir, CT_DIR_ORIGINAL);
    v = run1(t, udp_with((uint8_t)nt, A, B, 1000, 53), 3 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_UNTRACKED);
    CHECK_EQ_U(stats_of(t).connections, 1);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_template_errors);
    RUN(test_policy_errors);
    RUN(test_helper_names);
    RUN(test_notrack);
    RUN(test_mark_labels_events_helper);
    RUN(test_not_applied_to_existing);
    RUN(test_policy_tcp_deadline);
    RUN(test_policy_udp_and_other_protocols);
    RUN(test_policy_not_committed);
    RUN(test_shared_table);
    return check_summary();
}
