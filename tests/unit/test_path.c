/*
 * Tests of the packet path (src/path/process.c) with real frames (through
 * ct_pkt_parse()): a burst of 64 and 64 single calls give the same verdicts and
 * the same table, transport checksums on and off, commit versus classify-only,
 * the stats counters (exact after bursts mixing outcomes), and argument checks.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "support/frames.h"
#include "support/table_fixture.h"
#include "ctrack/ctrack.h"

#define SEC 1000000000ull

/* ---- frame builders (raw IP link; checksums per RFC 1071) ---------------------- */

/* IPv4 header + l4 bytes (whose checksum field at csum_off gets filled). */
static size_t ip4(uint8_t *b, uint8_t proto, uint32_t src, uint32_t dst, const uint8_t *l4,
                  size_t l4len, int csum_off, int pseudo)
{
    memset(b, 0, 20);
    b[0] = 0x45;
    put_be16(b + 2, (uint16_t)(20 + l4len));
    b[8] = 64;
    b[9] = proto;
    put_be32(b + 12, src);
    put_be32(b + 16, dst);
    put_be16(b + 10, inet_fold(inet_sum(0, b, 20)));
    memcpy(b + 20, l4, l4len);
    if (csum_off >= 0) {
        uint8_t *h = b + 20;
        put_be16(h + csum_off, 0);
        uint32_t s = 0;
        if (pseudo) {
            s = inet_sum(s, b + 12, 8);
            s += proto;
            s += (uint32_t)l4len;
        }
        uint16_t c = inet_fold(inet_sum(s, h, l4len));
        if (proto == 17 && c == 0)
            c = 0xffff;
        put_be16(h + csum_off, c);
    }
    return 20 + l4len;
}

static size_t udp4(uint8_t *b, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, size_t pay)
{
    uint8_t l4[64];
    memset(l4, 0, sizeof(l4));
    put_be16(l4, sp);
    put_be16(l4 + 2, dp);
    put_be16(l4 + 4, (uint16_t)(8 + pay));
    for (size_t i = 0; i < pay; i++)
        l4[8 + i] = (uint8_t)(i * 13 + sp);
    return ip4(b, 17, src, dst, l4, 8 + pay, 6, 1);
}

static size_t icmp4(uint8_t *b, uint32_t src, uint32_t dst, uint8_t type, uint16_t id)
{
    uint8_t l4[16] = {type, 0, 0, 0};
    put_be16(l4 + 4, id);
    put_be16(l4 + 6, 1);
    return ip4(b, 1, src, dst, l4, 16, 2, 0);
}

/* ICMP port unreachable from `router` about the IP packet in `inner`. */
static size_t icmp4_err(uint8_t *b, uint32_t router, uint32_t dst, const uint8_t *inner,
                        size_t ilen)
{
    uint8_t l4[8 + 64] = {3, 3, 0, 0};
    if (ilen > 28)
        ilen = 28; /* IP header + 8 bytes, as RFC 792 asks */
    memcpy(l4 + 8, inner, ilen);
    return ip4(b, 1, router, dst, l4, 8 + ilen, 2, 0);
}

static size_t udp6(uint8_t *b, uint8_t src_last, uint8_t dst_last, uint16_t sp, uint16_t dp,
                   size_t pay)
{
    memset(b, 0, 48 + pay);
    b[0] = 0x60;
    put_be16(b + 4, (uint16_t)(8 + pay));
    b[6] = 17;
    b[7] = 64;
    b[8] = 0x20;
    b[9] = 0x01;
    b[23] = src_last;
    b[24] = 0x20;
    b[25] = 0x01;
    b[39] = dst_last;
    uint8_t *h = b + 40;
    put_be16(h, sp);
    put_be16(h + 2, dp);
    put_be16(h + 4, (uint16_t)(8 + pay));
    for (size_t i = 0; i < pay; i++)
        h[8 + i] = (uint8_t)(i + dp);
    uint32_t s = inet_sum(0, b + 8, 32);
    s += 17;
    s += (uint32_t)(8 + pay);
    uint16_t c = inet_fold(inet_sum(s, h, 8 + pay));
    put_be16(h + 6, c ? c : 0xffff);
    return 48 + pay;
}

struct frames {
    uint8_t buf[CT_BURST_MAX][160];
    struct ct_frame f[CT_BURST_MAX];
    unsigned n;
};

static void add(struct frames *fs, size_t len, uint16_t link)
{
    struct ct_frame *f = &fs->f[fs->n];
    memset(f, 0, sizeof(*f));
    f->data = fs->buf[fs->n];
    f->len = (uint32_t)len;
    f->link = link;
    fs->n++;
}

static uint8_t *next_buf(struct frames *fs)
{
    return fs->buf[fs->n];
}

/* ---- burst versus single -------------------------------------------------------- */

/* Round r of a deterministic mixed workload: 64 frames. */
static void workload(struct frames *fs, unsigned r)
{
    fs->n = 0;
    for (unsigned i = 0; fs->n < CT_BURST_MAX; i++) {
        unsigned k = (i * 7 + r * 5) % 23;
        unsigned rev = ((i + r) >> 1) & 1;
        uint32_t cli = 0x0a000001 + k, srv = 0x0a010001;
        if (k < 12) {
            /* UDP v4 flows, both directions; the same flow repeats in a burst. */
            size_t len = rev ? udp4(next_buf(fs), srv, cli, 53, (uint16_t)(1000 + k), k)
                             : udp4(next_buf(fs), cli, srv, (uint16_t)(1000 + k), 53, 2 * k);
            add(fs, len, CT_LINK_RAW);
        } else if (k < 16) {
            size_t len = rev ? udp6(next_buf(fs), 0x99, (uint8_t)k, 443, (uint16_t)(2000 + k), 4)
                             : udp6(next_buf(fs), (uint8_t)k, 0x99, (uint16_t)(2000 + k), 443, 9);
            add(fs, len, CT_LINK_RAW);
        } else if (k < 19) {
            size_t len = icmp4(next_buf(fs), rev ? srv : cli, rev ? cli : srv, rev ? 0 : 8,
                               (uint16_t)k);
            add(fs, len, CT_LINK_RAW);
        } else if (k == 19) {
            /* An error about flow 0's original packet. */
            uint8_t inner[64];
            size_t il = udp4(inner, 0x0a000001, srv, 1000, 53, 0);
            add(fs, icmp4_err(next_buf(fs), 0x0a0a0a0a, 0x0a000001, inner, il), CT_LINK_RAW);
        } else if (k == 20) {
            /* Bad UDP checksum. */
            size_t len = udp4(next_buf(fs), cli, srv, 7777, 53, 3);
            next_buf(fs)[27] ^= 0x5a;
            add(fs, len, CT_LINK_RAW);
        } else if (k == 21) {
            /* Not IP: an Ethernet ARP frame. */
            uint8_t *b = next_buf(fs);
            memset(b, 0, 60);
            b[12] = 0x08;
            b[13] = 0x06;
            add(fs, 60, CT_LINK_ETHERNET);
        } else {
            /* Truncated IPv4 header. */
            size_t len = udp4(next_buf(fs), cli, srv, 1, 2, 0);
            (void)len;
            add(fs, 12, CT_LINK_RAW);
        }
    }
}

static void compare_verdicts(struct ct_table *ta, const struct ct_verdict *a, struct ct_table *tb,
                             const struct ct_verdict *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        CHECK_EQ_U(a[i].state, b[i].state);
        CHECK_EQ_U(a[i].dir, b[i].dir);
        CHECK_EQ_U(a[i].flags, b[i].flags);
        CHECK_EQ_U(a[i].reason, b[i].reason);
        CHECK_EQ_U(a[i].l4state, b[i].l4state);
        CHECK_EQ_U(a[i].conn == NULL, b[i].conn == NULL);
        if (a[i].conn && b[i].conn) {
            struct ct_conn_info ia, ib;
            CHECK_EQ_I(ct_conn_get_info(ta, a[i].conn, &ia), 0);
            CHECK_EQ_I(ct_conn_get_info(tb, b[i].conn, &ib), 0);
            CHECK(ct_tuple_equal(&ia.tuple[0], &ib.tuple[0]));
        }
    }
}

struct cmp_arg {
    struct ct_table *self, *other;
    uint64_t now;
    unsigned seen, mismatched;
};

static int cmp_fn(struct ct_conn *c, void *arg)
{
    struct cmp_arg *a = arg;
    struct ct_conn_info mine, theirs;
    a->seen++;
    ct_conn_get_info(a->self, c, &mine);
    enum ct_dir d = CT_DIR_REPLY;
    struct ct_conn *o = ct_table_lookup(a->other, &mine.tuple[0], a->now, &d);
    if (!o || d != CT_DIR_ORIGINAL) {
        a->mismatched++;
        return 0;
    }
    ct_conn_get_info(a->other, o, &theirs);
    if (memcmp(&mine, &theirs, sizeof(mine)) != 0)
        a->mismatched++;
    return 0;
}

static void test_burst_equals_single(void)
{
    struct ct_table *ta = mk_table(4096, 0), *tb = mk_table(4096, 0);
    static struct frames fs;
    struct ct_pkt pa[CT_BURST_MAX], pb[CT_BURST_MAX];
    struct ct_verdict va[CT_BURST_MAX], vb[CT_BURST_MAX];
    unsigned established = 0, created = 0, related = 0, dup_new = 0;
    for (unsigned r = 0; r < 6; r++) {
        uint64_t now = (r < 5 ? 100 + r * 7 : 200) * SEC; /* round 5: past every UDP timeout */
        workload(&fs, r);
        CHECK_EQ_I(ct_process_burst(ta, fs.f, pa, va, fs.n, now, CT_PROCESS_COMMIT), (int)fs.n);
        for (unsigned i = 0; i < fs.n; i++)
            CHECK_EQ_I(ct_process(tb, &fs.f[i], &pb[i], &vb[i], now, CT_PROCESS_COMMIT), 0);
        compare_verdicts(ta, va, tb, vb, fs.n);
        for (unsigned i = 0; i < fs.n; i++) {
            established += va[i].state == CT_STATE_ESTABLISHED;
            created += (va[i].flags & CT_VERDICT_CREATED) != 0;
            related += va[i].state == CT_STATE_RELATED;
            dup_new += va[i].state == CT_STATE_NEW && !(va[i].flags & CT_VERDICT_CREATED);
        }
    }
    /* The workload exercises what it should. */
    CHECK(established > 50);
    CHECK(created > 10);
    CHECK(related > 0);
    CHECK(dup_new > 0); /* a second packet of a flow created earlier in the same burst */

    struct ct_table_stats sa, sb;
    ct_table_stats(ta, &sa);
    ct_table_stats(tb, &sb);
    CHECK(memcmp(&sa, &sb, sizeof(sa)) == 0);
    CHECK(sa.expired > 0);

    struct cmp_arg a = {ta, tb, 200 * SEC, 0, 0}, b = {tb, ta, 200 * SEC, 0, 0};
    ct_table_foreach(ta, cmp_fn, &a);
    ct_table_foreach(tb, cmp_fn, &b);
    CHECK_EQ_U(a.seen, sa.connections);
    CHECK_EQ_U(b.seen, sb.connections);
    CHECK_EQ_U(a.mismatched, 0);
    CHECK_EQ_U(b.mismatched, 0);
    ct_table_destroy(ta);
    ct_table_destroy(tb);
}

/* ---- checksums, commit, stats ----------------------------------------------------- */

static void test_checksum(void)
{
    struct ct_table *on = mk_table(64, 0), *off = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    static struct frames fs;
    fs.n = 0;
    size_t len = udp4(next_buf(&fs), 0x0a000001, 0x0a000002, 1234, 53, 5);
    next_buf(&fs)[28] ^= 1; /* payload changed after the checksum */
    add(&fs, len, CT_LINK_RAW);
    len = icmp4(next_buf(&fs), 0x0a000001, 0x0a000002, 8, 1);
    next_buf(&fs)[23] ^= 0x10; /* ICMP checksum */
    add(&fs, len, CT_LINK_RAW);
    len = udp4(next_buf(&fs), 0x0a000001, 0x0a000002, 1235, 53, 5);
    add(&fs, len, CT_LINK_RAW); /* correct */

    struct ct_pkt p[3];
    struct ct_verdict v[3];
    CHECK_EQ_I(ct_process_burst(on, fs.f, p, v, 3, SEC, CT_PROCESS_COMMIT), 3);
    CHECK_EQ_U(v[0].state, CT_STATE_INVALID);
    CHECK_EQ_U(v[0].reason, CT_REASON_L4_CHECKSUM);
    CHECK(v[0].conn == NULL);
    CHECK_EQ_U(v[1].reason, CT_REASON_L4_CHECKSUM);
    CHECK_EQ_U(v[2].state, CT_STATE_NEW);
    struct ct_table_stats s;
    ct_table_stats(on, &s);
    CHECK_EQ_U(s.connections, 1);
    CHECK_EQ_U(s.reasons[CT_REASON_L4_CHECKSUM], 2);
    CHECK(ct_table_lookup(on, &p[0].tuple, SEC, NULL) == NULL);

    CHECK_EQ_I(ct_process_burst(off, fs.f, p, v, 3, SEC, CT_PROCESS_COMMIT), 3);
    for (unsigned i = 0; i < 3; i++) {
        CHECK_EQ_U(v[i].state, CT_STATE_NEW);
        CHECK_EQ_U(v[i].flags, CT_VERDICT_CREATED);
    }
    /* A bad checksum on an established connection changes nothing. */
    struct ct_conn *c = ct_table_lookup(on, &p[2].tuple, SEC, NULL);
    CHECK_PTR(c);
    fs.n = 0;
    len = udp4(next_buf(&fs), 0x0a000002, 0x0a000001, 53, 1235, 5);
    next_buf(&fs)[26] ^= 0xff;
    add(&fs, len, CT_LINK_RAW);
    CHECK_EQ_I(ct_process_burst(on, fs.f, p, v, 1, 2 * SEC, CT_PROCESS_COMMIT), 1);
    CHECK_EQ_U(v[0].reason, CT_REASON_L4_CHECKSUM);
    struct ct_conn_info info;
    ct_conn_get_info(on, c, &info);
    CHECK_EQ_U(info.packets[1], 0);
    CHECK_EQ_U(info.last_seen, SEC);
    CHECK_EQ_U(info.status & CT_STATUS_SEEN_REPLY, 0);
    ct_table_destroy(on);
    ct_table_destroy(off);
}

static void test_commit_vs_classify(void)
{
    struct ct_table *t = mk_table(64, 0);
    static struct frames fs;
    fs.n = 0;
    add(&fs, udp4(next_buf(&fs), 0x0a000001, 0x0a000002, 4000, 53, 8), CT_LINK_RAW);
    add(&fs, udp4(next_buf(&fs), 0x0a000002, 0x0a000001, 53, 4000, 30), CT_LINK_RAW);
    add(&fs, icmp4(next_buf(&fs), 0x0a000002, 0x0a000001, 0, 4), CT_LINK_RAW);
    struct ct_pkt p;
    struct ct_verdict v;
    struct ct_table_stats s;

    /* Classify only: NEW, nothing inserted; the reply is NEW too (no connection). */
    CHECK_EQ_I(ct_process(t, &fs.f[0], &p, &v, SEC, 0), 0);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(v.flags, 0);
    CHECK_EQ_I(ct_process(t, &fs.f[1], &p, &v, SEC, 0), 0);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.conn == NULL);
    /* Classify only still says why a packet could not start a connection. */
    CHECK_EQ_I(ct_process(t, &fs.f[2], &p, &v, SEC, 0), 0);
    CHECK_EQ_U(v.reason, CT_REASON_ICMP_REPLY_NO_REQUEST);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.not_committed, 2);
    CHECK_EQ_U(s.connections, 0);
    CHECK_EQ_U(s.created, 0);

    /* Commit creates. */
    CHECK_EQ_I(ct_process(t, &fs.f[0], &p, &v, 2 * SEC, CT_PROCESS_COMMIT), 0);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    /* Established packets update the connection with or without commit. */
    CHECK_EQ_I(ct_process(t, &fs.f[1], &p, &v, 3 * SEC, 0), 0);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.dir, CT_DIR_REPLY);
    struct ct_conn_info info;
    ct_conn_get_info(t, c, &info);
    CHECK_EQ_U(info.packets[0], 1);
    CHECK_EQ_U(info.packets[1], 1);
    CHECK_EQ_U(info.bytes[0], 20 + 8 + 8);
    CHECK_EQ_U(info.bytes[1], 20 + 8 + 30);
    CHECK_EQ_U(info.first_seen, 2 * SEC);
    CHECK_EQ_U(info.last_seen, 3 * SEC);
    CHECK_EQ_U(info.status, CT_STATUS_CONFIRMED | CT_STATUS_SEEN_REPLY);
    ct_table_destroy(t);
}

static void test_stats_and_args(void)
{
    struct ct_table *t = mk_table(4096, 0);
    static struct frames fs;
    struct ct_pkt p[CT_BURST_MAX];
    struct ct_verdict v[CT_BURST_MAX];
    workload(&fs, 0);
    CHECK_EQ_I(ct_process_burst(t, fs.f, p, v, fs.n, SEC, CT_PROCESS_COMMIT), (int)fs.n);
    workload(&fs, 1);
    CHECK_EQ_I(ct_process_burst(t, fs.f, p, v, fs.n, 2 * SEC, CT_PROCESS_COMMIT), (int)fs.n);

    struct ct_table_stats s;
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.packets, 2 * CT_BURST_MAX);
    uint64_t sum = 0;
    for (unsigned i = 0; i < CT_REASON_COUNT; i++)
        sum += s.reasons[i];
    CHECK_EQ_U(sum, s.packets);
    uint64_t invalid = 0, untracked = 0;
    for (unsigned i = 1; i < CT_REASON_COUNT; i++) {
        if (i == CT_REASON_NOT_IP || i == CT_REASON_ICMP6_UNTRACKED || i == CT_REASON_NOTRACK)
            untracked += s.reasons[i];
        else
            invalid += s.reasons[i];
    }
    CHECK_EQ_U(s.invalid, invalid);
    CHECK_EQ_U(s.untracked, untracked);
    CHECK(s.reasons[CT_REASON_NOT_IP] > 0);
    CHECK(s.reasons[CT_REASON_IP_TRUNCATED] + s.reasons[CT_REASON_IP_HDR_LEN] > 0);
    CHECK(s.reasons[CT_REASON_L4_CHECKSUM] > 0);
    /* Every accepted packet either created a connection, was classified
     * without commit, matched one, or was RELATED. */
    CHECK_EQ_U(s.created + s.not_committed + s.found + s.related + s.invalid + s.untracked,
               s.packets);
    CHECK_EQ_U(s.connections, s.created - s.deleted);
    CHECK_EQ_U(s.peak_connections, s.connections);
    CHECK_EQ_U(s.early_drop, 0);

    /* Arguments. */
    CHECK_EQ_I(ct_process_burst(NULL, fs.f, p, v, 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_burst(t, NULL, p, v, 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_burst(t, fs.f, p, v, CT_BURST_MAX + 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_parsed(t, p, NULL, 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_parsed(t, p, v, CT_BURST_MAX + 1, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process(t, NULL, p, v, 0, 0), -EINVAL);
    CHECK_EQ_I(ct_process_burst(t, fs.f, p, v, 0, 0, 0), 0);
    CHECK(ct_table_lookup(NULL, &p[0].tuple, 0, NULL) == NULL);
    CHECK(ct_table_lookup(t, NULL, 0, NULL) == NULL);
    struct ct_tuple bad;
    memset(&bad, 0, sizeof(bad));
    bad.l3 = 5;
    CHECK(ct_table_lookup(t, &bad, 0, NULL) == NULL);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.packets, 2 * CT_BURST_MAX); /* rejected calls count nothing */
    ct_table_destroy(t);
}

/* ---- tracker actions: CLOSE and REPLACE (driven by the TCP tracker) ------------- */

static void test_close_and_replace(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    const uint32_t A = 0x0a000001, B = 0x0a000002;
    struct ct_table_stats s;

    /* A RST before any reply ends the connection after counting the packet. */
    struct ct_verdict v = run1(t, tcp4(A, B, 1111, 80, CT_TCP_SYN, 1000, 0, 0), SEC);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    struct ct_conn *c = v.conn;
    v = run1(t, tcp4(A, B, 1111, 80, CT_TCP_RST, 1001, 0, 0), 2 * SEC);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    /* The handle stays readable until the next call: DYING, packet counted. */
    struct ct_conn_info info;
    CHECK_EQ_I(ct_conn_get_info(t, c, &info), 0);
    CHECK(info.status & CT_STATUS_DYING);
    CHECK_EQ_U(info.packets[0], 2);
    CHECK(ct_table_lookup(t, &info.tuple[0], 2 * SEC, NULL) == NULL);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.connections, 0);
    CHECK_EQ_U(s.deleted, 1);

    /* Handshake, then our side aborts with a RST, then a new SYN on the same
     * ports: the old connection is replaced by a new one. */
    v = run1(t, tcp4(A, B, 2222, 80, CT_TCP_SYN, 5000, 0, 0), 3 * SEC);
    struct ct_conn *old = v.conn;
    CHECK_PTR(old);
    v = run1(t, tcp4(B, A, 80, 2222, CT_TCP_SYN | CT_TCP_ACK, 9000, 5001, 0), 3 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    v = run1(t, tcp4(A, B, 2222, 80, CT_TCP_RST, 5001, 0, 0), 4 * SEC);
    CHECK(v.conn == old);
    v = run1(t, tcp4(A, B, 2222, 80, CT_TCP_SYN, 7000, 0, 0), 5 * SEC);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED | CT_VERDICT_REPLACED);
    CHECK_PTR(v.conn);
    CHECK(v.conn != old); /* the old entry is not reused within the call */
    CHECK_EQ_I(ct_conn_get_info(t, v.conn, &info), 0);
    CHECK_EQ_U(info.first_seen, 5 * SEC);
    CHECK_EQ_U(info.packets[0], 1);
    CHECK_EQ_U(info.status & CT_STATUS_SEEN_REPLY, 0);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.replaced, 1);
    CHECK_EQ_U(s.connections, 1);
    CHECK_EQ_U(s.deleted, 2);
    CHECK_EQ_U(s.created, 3);
    ct_table_destroy(t);
}

/* ---- stats of bursts mixing outcomes ------------------------------------------ */

/* Runs a burst of parsed packets and adds each verdict's reason to by_reason. */
static void run_burst(struct ct_table *t, struct ct_pkt *p, struct ct_verdict *v, unsigned n,
                      uint64_t now, uint64_t *by_reason)
{
    CHECK_EQ_I(ct_process_parsed(t, p, v, n, now, CT_PROCESS_COMMIT), (int)n);
    for (unsigned i = 0; i < n; i++)
        by_reason[v[i].reason < CT_REASON_COUNT ? v[i].reason : 0]++;
}

/*
 * Bursts where packets that match a connection (accepted and not), create
 * one, and are rejected before the lookup alternate: every counter the burst
 * path keeps is exact after each burst, whatever the mix.
 */
static void test_stats_exact_mixed_bursts(void)
{
    struct ct_table *t = mk_table(64, CT_TABLE_F_NO_CHECKSUM);
    const uint32_t A = 0x0a000001, B = 0x0a000002;
    struct ct_pkt p[8];
    struct ct_verdict v[8];
    uint64_t by_reason[CT_REASON_COUNT];
    struct ct_table_stats s;
    memset(by_reason, 0, sizeof(by_reason));

    /* Burst 1: two creations, a truncated packet, then the first connection's
     * SYN-ACK and ACK (found, both accepted). */
    p[0] = tcp4(A, B, 1111, 80, CT_TCP_SYN, 1000, 0, 0);
    p[1] = tcp4(A, B, 2222, 80, CT_TCP_SYN, 5000, 0, 0);
    p[2] = tcp4(A, B, 3333, 80, CT_TCP_ACK, 1, 1, 0);
    p[2].reason = CT_REASON_IP_TRUNCATED;
    p[3] = tcp4(B, A, 80, 1111, CT_TCP_SYN | CT_TCP_ACK, 9000, 1001, 0);
    p[4] = tcp4(A, B, 1111, 80, CT_TCP_ACK, 1001, 9001, 0);
    run_burst(t, p, v, 5, SEC, by_reason);
    CHECK_EQ_U(v[0].flags, CT_VERDICT_CREATED);
    CHECK_EQ_U(v[1].flags, CT_VERDICT_CREATED);
    CHECK_EQ_U(v[2].state, CT_STATE_INVALID);
    CHECK_EQ_U(v[3].state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v[4].state, CT_STATE_ESTABLISHED);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.packets, 5);
    CHECK_EQ_U(s.found, 2);
    CHECK_EQ_U(s.created, 2);
    CHECK_EQ_U(s.invalid, 1);
    CHECK_EQ_U(s.untracked, 0);
    CHECK(memcmp(s.reasons, by_reason, sizeof(by_reason)) == 0);
    CHECK_EQ_U(s.reasons[CT_REASON_NONE], 4);

    /* Burst 2: found packets around a fragment, a non-IP frame, a creation,
     * a retransmitted SYN of that creation (found, NEW) and a segment far
     * outside the first connection's window (found, INVALID). */
    p[0] = tcp4(B, A, 80, 2222, CT_TCP_SYN | CT_TCP_ACK, 7000, 5001, 0);
    p[1] = tcp4(A, B, 1111, 80, CT_TCP_ACK, 1001, 9001, 0);
    p[1].frag = CT_FRAG_FIRST;
    p[2] = tcp4(A, B, 4444, 80, CT_TCP_SYN, 100, 0, 0);
    p[3] = tcp4(A, B, 2222, 80, CT_TCP_ACK, 5001, 7001, 0);
    p[4] = tcp4(A, B, 4444, 80, CT_TCP_SYN, 100, 0, 0);
    p[5] = tcp4(A, B, 9999, 80, CT_TCP_SYN, 1, 0, 0);
    p[5].reason = CT_REASON_NOT_IP;
    p[6] = tcp4(A, B, 1111, 80, CT_TCP_ACK, 1001 + 0x40000000u, 9001, 0);
    p[7] = tcp4(B, A, 80, 1111, CT_TCP_ACK, 9001, 1001, 0);
    run_burst(t, p, v, 8, 2 * SEC, by_reason);
    CHECK_EQ_U(v[0].state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v[1].reason, CT_REASON_FRAGMENT);
    CHECK_EQ_U(v[2].flags, CT_VERDICT_CREATED);
    CHECK_EQ_U(v[3].state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v[4].state, CT_STATE_NEW);
    CHECK_EQ_U(v[4].flags, 0);
    CHECK(v[4].conn == v[2].conn);
    CHECK_EQ_U(v[5].state, CT_STATE_UNTRACKED);
    CHECK_EQ_U(v[6].state, CT_STATE_INVALID);
    CHECK(v[6].reason != CT_REASON_NONE);
    CHECK_EQ_U(v[7].state, CT_STATE_ESTABLISHED);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.packets, 13);
    CHECK_EQ_U(s.found, 2 + 5);
    CHECK_EQ_U(s.created, 3);
    CHECK_EQ_U(s.invalid, 1 + 2);
    CHECK_EQ_U(s.untracked, 1);
    CHECK_EQ_U(s.related, 0);
    CHECK_EQ_U(s.not_committed, 0);
    CHECK(memcmp(s.reasons, by_reason, sizeof(by_reason)) == 0);
    CHECK_EQ_U(s.reasons[CT_REASON_NONE], 4 + 5);
    CHECK_EQ_U(s.connections, 3);

    /* A burst of found packets only, and one with nothing to look up. */
    p[0] = tcp4(A, B, 1111, 80, CT_TCP_ACK, 1001, 9001, 0);
    p[1] = tcp4(B, A, 80, 2222, CT_TCP_ACK, 7001, 5001, 0);
    p[2] = tcp4(B, A, 80, 1111, CT_TCP_ACK, 9001, 1001, 0);
    run_burst(t, p, v, 3, 3 * SEC, by_reason);
    p[0].reason = CT_REASON_IP_TRUNCATED;
    run_burst(t, p, v, 1, 3 * SEC, by_reason);
    ct_table_stats(t, &s);
    CHECK_EQ_U(s.packets, 17);
    CHECK_EQ_U(s.found, 10);
    CHECK_EQ_U(s.invalid, 4);
    CHECK(memcmp(s.reasons, by_reason, sizeof(by_reason)) == 0);
    CHECK_EQ_U(s.reasons[CT_REASON_NONE], 12);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_burst_equals_single);
    RUN(test_checksum);
    RUN(test_commit_vs_classify);
    RUN(test_stats_and_args);
    RUN(test_close_and_replace);
    RUN(test_stats_exact_mixed_bursts);
    return check_summary();
}
