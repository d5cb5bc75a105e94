/*
 * Tests of the connection table: configuration checks, creation, insertion
 * and lookup from both directions, removal, a full table, the probe cap, the
 * same operations with a constant hash (every key collides), connection
 * handles of both families, iteration and memory accounting.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "table/index.h"
#include "support/table_fixture.h"
#include "table/table.h"

#define SEC 1000000000ull
#define CT_ARRAY_LEN(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

static struct ct_pkt pkt6(uint8_t proto, uint32_t src_last, uint32_t dst_last, uint16_t sp,
                          uint16_t dp, uint32_t ip_len)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.reason = CT_REASON_NONE;
    p.tuple.l3 = CT_L3_IPV6;
    p.tuple.proto = proto;
    p.tuple.src.b[0] = 0x20;
    p.tuple.src.b[1] = 0x01;
    p.tuple.src.w[3] = src_last;
    p.tuple.dst.b[0] = 0x20;
    p.tuple.dst.b[1] = 0x01;
    p.tuple.dst.w[3] = dst_last;
    p.tuple.sport = sp;
    p.tuple.dport = dp;
    p.ip_len = ip_len;
    return p;
}

static struct ct_pkt reverse(const struct ct_pkt *p, uint32_t ip_len)
{
    struct ct_pkt r = *p;
    r.tuple.src = p->tuple.dst;
    r.tuple.dst = p->tuple.src;
    r.tuple.sport = p->tuple.dport;
    r.tuple.dport = p->tuple.sport;
    r.ip_len = ip_len;
    return r;
}

static uint64_t const_hash(const void *key, size_t len)
{
    (void)key;
    (void)len;
    return 0x123456789abcdef0ull;
}

/* ---- configuration ------------------------------------------------------------ */

static void test_config_defaults(void)
{
    struct ct_table_config cfg;
    memset(&cfg, 0xab, sizeof(cfg));
    ct_table_config_init(&cfg);
    CHECK_EQ_U(cfg.max_connections, 65536);
    CHECK_EQ_U(cfg.flags, 0);
    CHECK_EQ_U(cfg.tcp_max_retrans, 3);
    CHECK_EQ_U(cfg.timeouts[CT_TIMEOUT_UDP], 30);
    CHECK_EQ_U(cfg.timeouts[CT_TIMEOUT_UDP_STREAM], 120);
    CHECK_EQ_U(cfg.timeouts[CT_TIMEOUT_ICMP], 30);
    CHECK_EQ_U(cfg.timeouts[CT_TIMEOUT_GENERIC], 600);
    CHECK_EQ_U(cfg.timeouts[CT_TIMEOUT_TCP_ESTABLISHED], 432000);
    for (unsigned i = 0; i < CT_ARRAY_LEN(cfg.reserved); i++)
        CHECK_EQ_U(cfg.reserved[i], 0);
    for (unsigned i = 0; i < 7; i++)
        CHECK_EQ_U(cfg.reserved8[i], 0);
    /* Expiry and sweep defaults (docs/lifecycle.md). */
    CHECK_EQ_U(cfg.expiry_resolution_ns, 1000000000ull);
    CHECK_EQ_U(cfg.sweep_min_interval_ns, 10000000ull);
    CHECK_EQ_U(cfg.sweep_interval_step_ns, 10000000ull);
    CHECK_EQ_U(cfg.sweep_max_interval_ns, 468750000ull);
    CHECK_EQ_U(cfg.sweep_budget, 1024);
    CHECK_EQ_U(cfg.sweep_expired_pct, 50);
}

static void expect_einval(const struct ct_table_config *cfg)
{
    int err = 0;
    struct ct_table *t = ct_table_create(cfg, &err);
    CHECK(t == NULL);
    CHECK_EQ_I(err, -EINVAL);
    ct_table_destroy(t);
}

static void test_config_errors(void)
{
    struct ct_table_config cfg;
    expect_einval(NULL);
    CHECK(ct_table_create(NULL, NULL) == NULL); /* err may be NULL */

    ct_table_config_init(&cfg);
    cfg.max_connections = 0;
    expect_einval(&cfg);

    ct_table_config_init(&cfg);
    cfg.max_connections = (1u << 30) + 1;
    expect_einval(&cfg);

    ct_table_config_init(&cfg);
    cfg.flags = CT_TABLE_F_ALL + 1;
    expect_einval(&cfg);

    ct_table_config_init(&cfg);
    cfg.flags = 1u << 31;
    expect_einval(&cfg);

    for (unsigned i = 0; i < CT_ARRAY_LEN(cfg.reserved); i++) {
        ct_table_config_init(&cfg);
        cfg.reserved[i] = 1;
        expect_einval(&cfg);
    }
    ct_table_config_init(&cfg);
    cfg.sweep_min_interval_ns = cfg.sweep_max_interval_ns + 1;
    expect_einval(&cfg);
    ct_table_config_init(&cfg);
    cfg.sweep_expired_pct = 101;
    expect_einval(&cfg);
    /* Zero expiry fields take their defaults. */
    ct_table_config_init(&cfg);
    cfg.expiry_resolution_ns = 0;
    cfg.sweep_min_interval_ns = 0;
    cfg.sweep_interval_step_ns = 0;
    cfg.sweep_max_interval_ns = 0;
    cfg.sweep_budget = 0;
    cfg.sweep_expired_pct = 0;
    struct ct_table *z = ct_table_create(&cfg, NULL);
    CHECK_PTR(z);
    if (z) {
        CHECK_EQ_U(z->wheel.resolution, 1000000000ull);
        CHECK_EQ_U(z->sweep.max_interval, 468750000ull);
        CHECK_EQ_U(z->sweep.budget, 1024);
    }
    ct_table_destroy(z);
    for (unsigned i = 0; i < 7; i++) {
        ct_table_config_init(&cfg);
        cfg.reserved8[i] = 1;
        expect_einval(&cfg);
    }
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++) {
        ct_table_config_init(&cfg);
        cfg.timeouts[i] = 0;
        expect_einval(&cfg);
    }

    /* The largest allowed size is accepted (memory is reserved, not used). */
    ct_table_config_init(&cfg);
    cfg.max_connections = 1u << 30;
    int err = 1;
    struct ct_table *t = ct_table_create(&cfg, &err);
    if (t) {
        CHECK_EQ_I(err, 0);
        ct_table_destroy(t);
    } else {
        CHECK_EQ_I(err, -ENOMEM); /* a machine without that much address space */
    }
    ct_table_destroy(NULL);
}

static void test_create_stats(void)
{
    struct ct_table *t = mk_table(1000, CT_TABLE_F_NO_CHECKSUM);
    struct ct_table_stats s;
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    CHECK_EQ_I(ct_table_stats(NULL, &s), -EINVAL);
    CHECK_EQ_I(ct_table_stats(t, NULL), -EINVAL);
    CHECK_EQ_U(s.max_connections, 1000);
    CHECK_EQ_U(s.connections, 0);
    CHECK_EQ_U(s.packets, 0);
    /* Enough buckets that a full table uses CT_INDEX_LOAD_PCT of the slots
     * (two tuples per connection), and not a slot's worth more: any count,
     * not a power of two. */
    CHECK(s.buckets * CT_BUCKET_SLOTS * CT_INDEX_LOAD_PCT >= 2000u * 100u);
    CHECK((s.buckets - 1) * CT_BUCKET_SLOTS * CT_INDEX_LOAD_PCT < 2000u * 100u);
    /* Index plus both pools at least. */
    CHECK(s.memory_bytes >= (uint64_t)s.buckets * 64 + 1000ull * 128 + 1000ull * 160);
    ct_table_destroy(t);

    /* Random keys: two tables hash the same key differently. */
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    struct ct_table *a = ct_table_create(&cfg, NULL);
    struct ct_table *b = ct_table_create(&cfg, NULL);
    CHECK_PTR(a);
    CHECK_PTR(b);
    if (a && b) {
        struct ct_key4 k = {1, 2, 3, 4, 0, CT_L3_IPV4, 17};
        CHECK(ct_table_hash4(a, &k) != ct_table_hash4(b, &k));
    }
    ct_table_destroy(a);
    ct_table_destroy(b);

    /* Prefault touches every page and still works. */
    t = mk_table(5000, CT_TABLE_F_PREFAULT | CT_TABLE_F_NO_CHECKSUM);
    struct ct_pkt p = pkt4(17, 0x0100000a, 0x0200000a, 1000, 53, 60);
    struct ct_verdict v = run1(t, p, SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    ct_table_destroy(t);
}

/* ---- insert, lookup, delete --------------------------------------------------- */

static void check_insert_lookup_delete(struct ct_table *t, unsigned n)
{
    struct ct_table_stats s;
    uint64_t now = 10 * SEC;
    for (unsigned i = 0; i < n; i++) {
        struct ct_pkt p =
            (i & 1) ? pkt6(17, i, 1000 + i, (uint16_t)(1024 + i), 53, 100 + i)
                    : pkt4(17, 0x0a000000u + i, 0x0b000000u + i, (uint16_t)(1024 + i), 53, 100 + i);
        struct ct_verdict v = run1(t, p, now);
        CHECK_EQ_U(v.state, CT_STATE_NEW);
        CHECK_EQ_U(v.reason, CT_REASON_NONE);
        CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
        CHECK_PTR(v.conn);
    }
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    CHECK_EQ_U(s.connections, n);
    CHECK_EQ_U(s.created, n);

    for (unsigned i = 0; i < n; i++) {
        struct ct_pkt p =
            (i & 1) ? pkt6(17, i, 1000 + i, (uint16_t)(1024 + i), 53, 100 + i)
                    : pkt4(17, 0x0a000000u + i, 0x0b000000u + i, (uint16_t)(1024 + i), 53, 100 + i);
        enum ct_dir d = CT_DIR_REPLY;
        struct ct_conn *c = ct_table_lookup(t, &p.tuple, now, &d);
        CHECK_PTR(c);
        CHECK_EQ_U(d, CT_DIR_ORIGINAL);
        struct ct_pkt r = reverse(&p, 40);
        d = CT_DIR_ORIGINAL;
        CHECK(ct_table_lookup(t, &r.tuple, now, &d) == c);
        CHECK_EQ_U(d, CT_DIR_REPLY);
        CHECK(ct_table_lookup(t, &r.tuple, now, NULL) == c);

        struct ct_conn_info info;
        CHECK_EQ_I(ct_conn_get_info(t, c, &info), 0);
        CHECK(ct_tuple_equal(&info.tuple[0], &p.tuple));
        CHECK(ct_tuple_equal(&info.tuple[1], &r.tuple));
        CHECK_EQ_U(info.bytes[0], 100 + i);
        CHECK_EQ_U(info.packets[0], 1);
        CHECK_EQ_U(info.packets[1], 0);
        CHECK_EQ_U(info.l3, (i & 1) ? CT_L3_IPV6 : CT_L3_IPV4);
        CHECK_EQ_U(ct_conn_is_v6(c), i & 1);

        /* A near miss (other port, other zone) is not found. */
        struct ct_tuple miss = p.tuple;
        miss.sport++;
        CHECK(ct_table_lookup(t, &miss, now, NULL) != c);
        miss = p.tuple;
        miss.zone = 7;
        CHECK(ct_table_lookup(t, &miss, now, NULL) == NULL);
    }

    /* Delete every other connection; the rest stay findable both ways. */
    for (unsigned i = 0; i < n; i += 2) {
        struct ct_pkt p =
            (i & 1) ? pkt6(17, i, 1000 + i, (uint16_t)(1024 + i), 53, 100 + i)
                    : pkt4(17, 0x0a000000u + i, 0x0b000000u + i, (uint16_t)(1024 + i), 53, 100 + i);
        struct ct_conn *c = ct_table_lookup(t, &p.tuple, now, NULL);
        CHECK_PTR(c);
        if (c)
            ct_table_conn_remove(t, c, CT_RM_DELETE);
        CHECK(ct_table_lookup(t, &p.tuple, now, NULL) == NULL);
        struct ct_pkt r = reverse(&p, 40);
        CHECK(ct_table_lookup(t, &r.tuple, now, NULL) == NULL);
    }
    for (unsigned i = 1; i < n; i += 2) {
        struct ct_pkt p = pkt6(17, i, 1000 + i, (uint16_t)(1024 + i), 53, 100 + i);
        struct ct_pkt r = reverse(&p, 40);
        struct ct_conn *c = ct_table_lookup(t, &p.tuple, now, NULL);
        CHECK_PTR(c);
        CHECK(ct_table_lookup(t, &r.tuple, now, NULL) == c);
    }
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    CHECK_EQ_U(s.connections, n / 2);
    CHECK_EQ_U(s.deleted, (n + 1) / 2);
    CHECK_EQ_U(s.peak_connections, n);

    /* Deleted tuples can be created again. */
    for (unsigned i = 0; i < n; i += 2) {
        struct ct_pkt p =
            pkt4(17, 0x0a000000u + i, 0x0b000000u + i, (uint16_t)(1024 + i), 53, 100 + i);
        struct ct_verdict v = run1(t, p, now + 1);
        CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    }
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    CHECK_EQ_U(s.connections, n);
}

static void test_insert_lookup_delete(void)
{
    struct ct_table *t = mk_table(4096, CT_TABLE_F_NO_CHECKSUM);
    check_insert_lookup_delete(t, 2000);
    ct_table_destroy(t);
}

static void test_insert_lookup_delete_colliding(void)
{
    /* Every key hashes to one bucket: only CT_PROBE_MAX buckets' worth of
     * tuples fit, each connection taking two. */
    struct ct_table *t = mk_table(4096, CT_TABLE_F_NO_CHECKSUM);
    CHECK_EQ_I(ct_table_set_hash_hook(t, const_hash), 0);
    check_insert_lookup_delete(t, CT_PROBE_MAX * CT_BUCKET_SLOTS / 2);
    /* The hash cannot change under live connections. */
    CHECK_EQ_I(ct_table_set_hash_hook(t, NULL), -EBUSY);
    ct_table_destroy(t);
}

static void test_probe_limit(void)
{
    struct ct_table *t = mk_table(4096, CT_TABLE_F_NO_CHECKSUM);
    CHECK_EQ_I(ct_table_set_hash_hook(t, const_hash), 0);
    unsigned fit = CT_PROBE_MAX * CT_BUCKET_SLOTS / 2;
    unsigned i;
    for (i = 0; i < fit + 3; i++) {
        struct ct_pkt p =
            pkt4(i & 1 ? 17 : 47, 0x0a000001, 0x0a000002, (uint16_t)(2000 + i), 80, 60);
        struct ct_verdict v = run1(t, p, SEC);
        if (i < fit) {
            CHECK_EQ_U(v.state, CT_STATE_NEW);
            CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
        } else {
            CHECK_EQ_U(v.state, CT_STATE_INVALID);
            CHECK_EQ_U(v.reason, CT_REASON_PROBE_LIMIT);
            CHECK(v.conn == NULL);
        }
    }
    struct ct_table_stats s;
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    CHECK_EQ_U(s.connections, fit);
    CHECK_EQ_U(s.probe_limit, 3);
    CHECK_EQ_U(s.created, fit);
    CHECK_EQ_U(s.invalid, 3);
    CHECK_EQ_U(s.reasons[CT_REASON_PROBE_LIMIT], 3);

    /* An odd slot count: after one connection goes, a new one fits again. */
    struct ct_pkt p0 = pkt4(47, 0x0a000001, 0x0a000002, 2000, 80, 60);
    struct ct_conn *c = ct_table_lookup(t, &p0.tuple, SEC, NULL);
    CHECK_PTR(c);
    if (c)
        ct_table_conn_remove(t, c, CT_RM_DELETE);
    struct ct_pkt pn = pkt4(17, 0x0a000001, 0x0a000002, 9999, 80, 60);
    struct ct_verdict v = run1(t, pn, SEC);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    ct_table_destroy(t);
}

/* Destroy callback that records the last ended connection and counts by reason. */
struct end_log {
    unsigned n[CT_END_COUNT];
    struct ct_conn_info last;
};

static void log_end(void *arg, const struct ct_table *t, const struct ct_conn *c, unsigned reason,
                    uint64_t now)
{
    struct end_log *l = arg;
    (void)now;
    if (reason < CT_END_COUNT)
        l->n[reason]++;
    ct_conn_get_info(t, c, &l->last);
}

static void test_full_table(void)
{
    struct ct_table *t = mk_table(10, CT_TABLE_F_NO_CHECKSUM);
    struct end_log log;
    memset(&log, 0, sizeof(log));
    ct_table_set_destroy_cb(t, log_end, &log);
    /* Ten UDP connections answered at once and active again after 2 s are
     * ASSURED (UDP stream), except connection 0, which gets no reply. */
    for (unsigned i = 0; i < 10; i++) {
        struct ct_pkt p = (i % 3) ? pkt4(17, 0x0a000001, 0x0a000002, (uint16_t)(100 + i), 53, 60)
                                  : pkt6(17, 1, 2, (uint16_t)(100 + i), 53, 80);
        struct ct_verdict v = run1(t, p, SEC);
        CHECK_EQ_U(v.state, CT_STATE_NEW);
        CHECK_PTR(v.conn);
        if (i == 0)
            continue;
        struct ct_pkt r = reverse(&p, 60);
        run1(t, r, SEC);
        v = run1(t, p, 4 * SEC);
        CHECK(v.conn && (v.conn->status & CT_STATUS_ASSURED));
    }
    /* Full: the first new connection evicts the one unassured connection. */
    struct ct_pkt n1 = pkt4(17, 0x0a000005, 0x0a000006, 7, 7, 60);
    struct ct_verdict v = run1(t, n1, 5 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    CHECK_EQ_U(log.n[CT_END_EVICTED], 1);
    CHECK_EQ_U(log.last.tuple[0].sport, 100);
    CHECK(!(log.last.status & CT_STATUS_ASSURED));
    /* That one is unassured too, but a full table of assured connections
     * refuses everything else: ASSURED connections are never evicted. */
    struct ct_pkt n2 = pkt4(17, 0x0a000007, 0x0a000008, 7, 7, 60);
    v = run1(t, n2, 5 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW); /* n1 was evicted to make room */
    CHECK_EQ_U(log.n[CT_END_EVICTED], 2);
    CHECK_EQ_U(log.last.tuple[0].src.v4, 0x0a000005);
    for (unsigned i = 0; i < 2; i++) {
        struct ct_pkt q = pkt4(17, 0x0a000009, 0x0a00000a, (uint16_t)(9 + i), 7, 60);
        struct ct_pkt r = reverse(&n2, 60);
        run1(t, r, 5 * SEC); /* n2 answered, then assured after 2 s */
        v = run1(t, n2, 8 * SEC);
        CHECK(v.conn && (v.conn->status & CT_STATUS_ASSURED));
        v = run1(t, q, 8 * SEC);
        CHECK_EQ_U(v.state, CT_STATE_INVALID);
        CHECK_EQ_U(v.reason, CT_REASON_TABLE_FULL);
        CHECK(v.conn == NULL);
    }
    /* Established traffic still flows on a full table. */
    struct ct_pkt p = pkt4(17, 0x0a000001, 0x0a000002, 101, 53, 60);
    struct ct_pkt r = reverse(&p, 60);
    v = run1(t, r, 9 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);

    /* A packet that could not create a connection anyway keeps its own reason. */
    struct ct_pkt echo_reply = pkt4(1, 0x0a000001, 0x0a000002, 7, 0 << 8, 84);
    echo_reply.icmp_type = 0;
    v = run1(t, echo_reply, 9 * SEC);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_REPLY_NO_REQUEST);

    struct ct_table_stats s;
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    CHECK_EQ_U(s.connections, 10);
    CHECK_EQ_U(s.refused_full, 2);
    CHECK_EQ_U(s.reasons[CT_REASON_TABLE_FULL], 2);
    CHECK_EQ_U(s.early_drop, 2);
    CHECK_EQ_U(s.early_drop_scans, 4);

    /* Without commit a full table still classifies. */
    struct ct_pkt q = pkt4(17, 0x0a000009, 0x0a000002, 5, 53, 60);
    CHECK_EQ_I(ct_process_parsed(t, &q, &v, 1, 10 * SEC, 0), 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.conn == NULL);

    /* Once a connection has expired (UDP stream: 120 s after its last
     * packet at 4 s), a new connection finds it in the early-drop scan and
     * takes its place: it is counted as expired, not evicted. */
    struct ct_pkt n3 = pkt4(17, 0x0a000003, 0x0a000004, 1, 2, 60);
    v = run1(t, n3, 124 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    CHECK_EQ_I(ct_table_stats(t, &s), 0);
    CHECK_EQ_U(s.connections, 10);
    CHECK_EQ_U(s.expired, 1);
    CHECK_EQ_U(s.expired_inline, 1);
    CHECK_EQ_U(s.early_drop, 2);
    CHECK_EQ_U(log.n[CT_END_EXPIRED], 1);
    CHECK_EQ_U(s.deleted, 3);
    ct_table_destroy(t);
}

/* ---- handles, iteration, expiry -------------------------------------------------- */

struct count_arg {
    unsigned v4, v6;
    int stop_at;
};

static int count_fn(struct ct_conn *c, void *arg)
{
    struct count_arg *a = arg;
    if (ct_conn_is_v6(c))
        a->v6++;
    else
        a->v4++;
    if (a->stop_at && (int)(a->v4 + a->v6) == a->stop_at)
        return 42;
    return 0;
}

static void test_handles_foreach(void)
{
    struct ct_table *t = mk_table(100, CT_TABLE_F_NO_CHECKSUM);
    struct ct_conn *c4 = NULL, *c6 = NULL;
    for (unsigned i = 0; i < 7; i++) {
        struct ct_pkt p = pkt4(253, 0x01010101u + i, 0x02020202u, 0, 0, 100);
        struct ct_verdict v = run1(t, p, SEC);
        c4 = v.conn;
    }
    for (unsigned i = 0; i < 5; i++) {
        struct ct_pkt p = pkt6(253, i, 9, 0, 0, 100);
        struct ct_verdict v = run1(t, p, SEC);
        c6 = v.conn;
    }
    CHECK_PTR(c4);
    CHECK_PTR(c6);
    if (!c4 || !c6) {
        ct_table_destroy(t);
        return;
    }
    /* Entry alignment of each family, and ids that round-trip. */
    CHECK_EQ_U(((uintptr_t)ct_conn_key4(c4)) % 128, 0);
    CHECK_EQ_U(((uintptr_t)ct_conn_key6(c6)) % 32, 0);
    CHECK(!ct_conn_is_v6(c4));
    CHECK(ct_conn_is_v6(c6));
    uint32_t id4 = ct_table_conn_id(t, c4), id6 = ct_table_conn_id(t, c6);
    CHECK_EQ_U(id4, 6);
    CHECK_EQ_U(id6, 4 | CT_ID_V6);
    CHECK(ct_table_conn_at(t, id4) == c4);
    CHECK(ct_table_conn_at(t, id6) == c6);

    struct ct_conn_info info;
    CHECK_EQ_I(ct_conn_get_info(t, c6, &info), 0);
    CHECK_EQ_U(info.l3, CT_L3_IPV6);
    CHECK_EQ_U(info.proto, 253);
    CHECK_EQ_U(info.timeout, CT_TIMEOUT_GENERIC);
    CHECK_EQ_U(info.expires, SEC + 600 * SEC);
    CHECK_EQ_U(info.status, CT_STATUS_CONFIRMED);
    CHECK_EQ_I(ct_conn_get_info(NULL, c6, &info), -EINVAL);
    CHECK_EQ_I(ct_conn_get_info(t, NULL, &info), -EINVAL);
    CHECK_EQ_I(ct_conn_get_info(t, c6, NULL), -EINVAL);

    struct count_arg a = {0, 0, 0};
    CHECK_EQ_I(ct_table_foreach(t, count_fn, &a), 0);
    CHECK_EQ_U(a.v4, 7);
    CHECK_EQ_U(a.v6, 5);
    struct count_arg b = {0, 0, 3};
    CHECK_EQ_I(ct_table_foreach(t, count_fn, &b), 42);
    CHECK_EQ_U(b.v4 + b.v6, 3);

    /* Removed entries are skipped, and freed ones reused LIFO. */
    ct_table_conn_remove(t, c4, CT_RM_DELETE);
    CHECK(c4->status & CT_STATUS_DYING); /* still readable until the next call */
    struct count_arg c = {0, 0, 0};
    ct_table_foreach(t, count_fn, &c);
    CHECK_EQ_U(c.v4, 6);
    struct ct_pkt p = pkt4(47, 0x09090909u, 0x02020202u, 0, 0, 100);
    struct ct_verdict v = run1(t, p, 2 * SEC);
    CHECK(v.conn == c4);
    ct_table_destroy(t);
}

static void test_expiry_on_lookup(void)
{
    struct ct_table *t = mk_table(100, CT_TABLE_F_NO_CHECKSUM);
    struct ct_pkt p = pkt4(17, 0x0a000001, 0x0a000002, 5000, 53, 70);
    struct ct_verdict v = run1(t, p, 100 * SEC);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    /* UDP unreplied: 30 s. One nanosecond before, it is still there. */
    CHECK(ct_table_lookup(t, &p.tuple, 130 * SEC - 1, NULL) == c);
    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.expired, 0);
    /* At expires it is gone, from both directions, and counted. */
    struct ct_pkt r = reverse(&p, 70);
    CHECK(ct_table_lookup(t, &r.tuple, 130 * SEC, NULL) == NULL);
    CHECK(ct_table_lookup(t, &p.tuple, 130 * SEC, NULL) == NULL);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.expired, 1);
    CHECK_EQ_U(s.deleted, 1);
    CHECK_EQ_U(s.connections, 0);

    /* A packet on an expired connection starts a fresh one. */
    v = run1(t, p, 200 * SEC);
    c = v.conn;
    v = run1(t, p, 300 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    struct ct_conn_info info;
    ct_conn_get_info(t, v.conn, &info);
    CHECK_EQ_U(info.first_seen, 300 * SEC);
    CHECK_EQ_U(info.packets[0], 1);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.expired, 2);
    CHECK_EQ_U(s.created, 3);
    CHECK_EQ_U(s.connections, 1);
    (void)c;
    ct_table_destroy(t);
}

/* ---- the index's signature match and bucket views ------------------------------- */

/* xorshift64*: a fixed seed, the same buckets every run. */
static uint64_t rnd(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545f4914f6cdd1dull;
}

/* The mask layout every variant promises (base/arch.h): bit 2*i for slot i. */
static void test_sig_match_layout(void)
{
    struct ct_bucket b;
    memset(&b, 0, sizeof(b));
    CHECK_EQ_U(ct_sig9_match(b.sig, 1), 0);
    CHECK_EQ_U(ct_sig9_match(b.sig, 0), 0x15555u); /* every slot empty */
    b.sig[0] = 0x8000;
    b.sig[3] = 0xffff;
    b.sig[8] = 0xffff;
    CHECK_EQ_U(ct_sig9_match(b.sig, 0xffff), 1u << 6 | 1u << 16);
    CHECK_EQ_U(ct_sig9_match(b.sig, 0x8000), 1u);
    CHECK_EQ_U(ct_sig9_slot(ct_sig9_match(b.sig, 0xffff)), 3);
    CHECK_EQ_U(ct_sig9_slot(1u << 16), 8);
    CHECK_EQ_U(ct_sig9_match_generic(b.sig, 0xffff), 1u << 6 | 1u << 16);
}

/*
 * Every SIMD variant compiled for this target against the portable one, on
 * random buckets whose signatures come from a small alphabet (so that most
 * queries match several slots) that includes 0, 0x8000 and 0xffff, where a
 * signed 16-bit compare would differ.
 */
static void test_sig_match_variants(void)
{
    static const uint16_t alphabet[] = {0, 1, 2, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned compared = 0;
    struct ct_bucket b;
    memset(&b, 0, sizeof(b));
    for (unsigned round = 0; round < 20000; round++) {
        for (unsigned i = 0; i < CT_BUCKET_SLOTS; i++) {
            uint64_t r = rnd(&x);
            b.sig[i] = (r & 1) ? alphabet[(r >> 1) % CT_ARRAY_LEN(alphabet)] : (uint16_t)(r >> 16);
        }
        uint16_t queries[3] = {b.sig[rnd(&x) % CT_BUCKET_SLOTS], (uint16_t)rnd(&x),
                               alphabet[rnd(&x) % CT_ARRAY_LEN(alphabet)]};
        for (unsigned q = 0; q < 3; q++) {
            unsigned want = ct_sig9_match_generic(b.sig, queries[q]);
            CHECK_EQ_U(ct_sig9_match(b.sig, queries[q]), want);
#if defined(CT_ARCH_HAVE_SSE2)
            CHECK_EQ_U(ct_sig9_match_sse2(b.sig, queries[q]), want);
            compared++;
#endif
#if defined(CT_ARCH_HAVE_NEON)
            CHECK_EQ_U(ct_sig9_match_neon(b.sig, queries[q]), want);
            compared++;
#endif
        }
    }
#if defined(CT_ARCH_HAVE_SSE2) || defined(CT_ARCH_HAVE_NEON)
    CHECK(compared >= 60000);
#else
    CHECK_EQ_U(compared, 0); /* only the generic version exists here */
#endif
}

/* Moves every bucket's seq on by one, as a writer's lock (to odd) or unlock
 * (to even) would: what the locked view checks for in debug builds. */
static void index_toggle_locks(struct ct_table *t)
{
    for (uint32_t b = 0; b < t->nbuckets; b++)
        t->buckets[b].seq += 1;
}

/*
 * The three bucket views find the same thing: on a table whose keys all
 * collide (long probe runs) and on one with the keyed hash, every key of
 * both directions, and a near miss of each, walked directly, on seqlocked
 * copies and with the buckets marked locked.
 */
static void check_views_agree(struct ct_table *t, unsigned n)
{
    uint64_t now = 1 * SEC;
    for (unsigned i = 0; i < n; i++) {
        struct ct_pkt p = (i & 1) ? pkt6(17, i, 1000 + i, (uint16_t)(1024 + i), 53, 100)
                                  : pkt4(17, 0x0a000000u + i, 0x0b000000u + i,
                                         (uint16_t)(1024 + i), 53, 100);
        struct ct_verdict v = run1(t, p, now);
        CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    }
    unsigned found = 0;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned variant = 0; variant < 3; variant++) {
            struct ct_pkt p = (i & 1) ? pkt6(17, i, 1000 + i, (uint16_t)(1024 + i), 53, 100)
                                      : pkt4(17, 0x0a000000u + i, 0x0b000000u + i,
                                             (uint16_t)(1024 + i), 53, 100);
            if (variant == 1)
                p = reverse(&p, 100);
            if (variant == 2)
                p.tuple.dport = 54; /* a near miss */
            struct ct_key4 k4;
            struct ct_key6 k6;
            const void *k;
            uint64_t h;
            unsigned v6 = p.tuple.l3 == CT_L3_IPV6;
            if (v6) {
                memcpy(&k6, &p.tuple, sizeof(k6));
                k = &k6;
                h = ct_table_hash6(t, &k6);
            } else {
                ct_key4_from_tuple(&k4, &p.tuple);
                k = &k4;
                h = ct_table_hash4(t, &k4);
            }
            uint32_t home = ct_table_bucket_of(t, h);
            unsigned d0 = 9, d1 = 9, d2 = 9;
            struct ct_conn *c0 = ct_index_walk(t, CT_VIEW_DIRECT, k, v6, h, home, &d0);
            struct ct_conn *c1 = ct_index_walk(t, CT_VIEW_SNAPSHOT, k, v6, h, home, &d1);
            index_toggle_locks(t);
            struct ct_conn *c2 = ct_index_walk(t, CT_VIEW_LOCKED, k, v6, h, home, &d2);
            index_toggle_locks(t);
            CHECK(c0 == c1);
            CHECK(c0 == c2);
            CHECK((c0 == NULL) == (variant == 2));
            if (c0) {
                CHECK_EQ_U(d0, variant);
                CHECK_EQ_U(d1, d0);
                CHECK_EQ_U(d2, d0);
                found++;
            }
        }
    }
    CHECK_EQ_U(found, 2 * n);
}

static void test_bucket_views(void)
{
    struct ct_table *t = mk_table(4096, 0);
    check_views_agree(t, 1500);
    ct_table_destroy(t);
    t = mk_table(4096, 0);
    CHECK_EQ_I(ct_table_set_hash_hook(t, const_hash), 0);
    check_views_agree(t, CT_PROBE_MAX * CT_BUCKET_SLOTS / 2);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_config_defaults);
    RUN(test_config_errors);
    RUN(test_create_stats);
    RUN(test_insert_lookup_delete);
    RUN(test_insert_lookup_delete_colliding);
    RUN(test_probe_limit);
    RUN(test_full_table);
    RUN(test_handles_foreach);
    RUN(test_expiry_on_lookup);
    RUN(test_sig_match_layout);
    RUN(test_sig_match_variants);
    RUN(test_bucket_views);
    return check_summary();
}
