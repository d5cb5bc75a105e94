/*
 * Tests of table snapshots (ctrack/snapshot.h, src/snapshot/snapshot.c):
 *
 *   - a table of TCP (IPv4, IPv6), UDP and a template's labels and event
 *     mask, saved and restored into a table with another hash key, at the
 *     same `now` and later: every connection found again under both tuples
 *     with the same facts (times moved by the difference), and the restored
 *     table tracks the next packets exactly as the original does;
 *   - with and without counters; through a pipe (ct_table_save_fd() and
 *     ct_table_restore_fd());
 *   - refusals, each with its errno and an empty table after it: every
 *     truncation, a flipped bit in every byte, a wrong magic, a future
 *     version, bytes after the end, counts that disagree, a smaller table,
 *     a non-empty table, a clash between two records, a missing template
 *     side array;
 *   - a mutated-input loop (random bytes changed, some with the checksums
 *     made right again so that the record checks are reached): never a
 *     crash (run it under ASan), every refusal a known errno, every
 *     acceptance a consistent table.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "packet/packet_priv.h"
#include "support/table_fixture.h"
#include "table/table.h"

#define SEC 1000000000ull

/* A TCP segment of flow (src:sp -> dst:dp), family v6, in direction dir. */
static struct ct_pkt tcp_any(unsigned v6, uint32_t i, unsigned dir, uint8_t flags, uint32_t seq,
                             uint32_t ack, uint32_t len)
{
    struct ct_pkt p = tcp4(0x0a000001u + i, 0x0a100001u, (uint16_t)(1024 + i), 80, flags, seq,
                           ack, len);
    if (v6) {
        p.tuple.l3 = CT_L3_IPV6;
        memset(&p.tuple.src, 0, sizeof(p.tuple.src));
        memset(&p.tuple.dst, 0, sizeof(p.tuple.dst));
        p.tuple.src.b[0] = p.tuple.dst.b[0] = 0x20;
        p.tuple.src.w[3] = i + 1;
        p.tuple.dst.w[3] = 0xffff;
        p.ip_len += 20;
    }
    if (dir == CT_DIR_REPLY) {
        union ct_addr a = p.tuple.src;
        p.tuple.src = p.tuple.dst;
        p.tuple.dst = a;
        uint16_t s = p.tuple.sport;
        p.tuple.sport = p.tuple.dport;
        p.tuple.dport = s;
    }
    return p;
}

static struct ct_pkt udp_any(uint32_t i, unsigned dir)
{
    struct ct_pkt p = pkt4(17, 0x0b000001u + i, 0x0b100001u, (uint16_t)(2000 + i), 53, 40);
    p.l4_len = 20;
    p.payload_len = 12;
    if (dir == CT_DIR_REPLY) {
        union ct_addr a = p.tuple.src;
        p.tuple.src = p.tuple.dst;
        p.tuple.dst = a;
        p.tuple.sport = 53;
        p.tuple.dport = (uint16_t)(2000 + i);
    }
    return p;
}

#define NTCP 300
#define NUDP 200

/* Builds the test traffic into t by `now`: TCP flows at every stage of the
 * handshake and some with data, in both families; UDP flows with and
 * without a reply; every third UDP flow through template tmpl (0: none). */
static void fill(struct ct_table *t, uint64_t now, uint8_t tmpl)
{
    for (uint32_t i = 0; i < NTCP; i++) {
        unsigned v6 = i % 4 == 3;
        uint64_t at = now - 10 * SEC + i * 1000;
        uint32_t isn = 1000 * i, risn = 7777 * i;
        run1(t, tcp_any(v6, i, 0, CT_TCP_SYN, isn, 0, 0), at);
        if (i % 5 == 0)
            continue;
        run1(t, tcp_any(v6, i, 1, CT_TCP_SYN | CT_TCP_ACK, risn, isn + 1, 0), at + 10);
        if (i % 5 == 1)
            continue;
        run1(t, tcp_any(v6, i, 0, CT_TCP_ACK, isn + 1, risn + 1, 0), at + 20);
        if (i % 5 == 2)
            continue;
        run1(t, tcp_any(v6, i, 0, CT_TCP_ACK | CT_TCP_PSH, isn + 1, risn + 1, 100 + i), at + 30);
        if (i % 5 == 3)
            run1(t, tcp_any(v6, i, 1, CT_TCP_ACK | CT_TCP_FIN, risn + 1, isn + 101 + i, 0),
                 at + 40);
    }
    for (uint32_t i = 0; i < NUDP; i++) {
        struct ct_pkt p = udp_any(i, 0);
        if (i % 3 == 0)
            p.tmpl = tmpl;
        run1(t, p, now - 5 * SEC + i);
        if (i % 2)
            run1(t, udp_any(i, 1), now - 4 * SEC + i);
    }
}

struct collect {
    struct ct_table *t;
    struct ct_conn_info *v;
    size_t n, cap;
};

static int collect_one(struct ct_conn *c, void *arg)
{
    struct collect *k = arg;
    if (k->n < k->cap)
        CHECK_EQ_I(ct_conn_get_info(k->t, c, &k->v[k->n]), 0);
    k->n++;
    return 0;
}

/* Every connection of a is in b under both tuples, with the same facts,
 * its times moved by shift. */
static void check_same(struct ct_table *a, struct ct_table *b, uint64_t now_b, uint64_t shift)
{
    struct collect k = {.t = a, .cap = 4096};
    k.v = calloc(k.cap, sizeof(*k.v));
    ct_table_foreach(a, collect_one, &k);
    CHECK_EQ_U(k.n, b->connections);
    for (size_t i = 0; i < k.n && i < k.cap; i++) {
        struct ct_conn_info want = k.v[i];
        want.first_seen += shift;
        want.last_seen += shift;
        want.expires += shift;
        for (unsigned d = 0; d < 2; d++) {
            enum ct_dir dir;
            struct ct_conn *c = ct_table_lookup(b, &want.tuple[d], now_b, &dir);
            CHECK_PTR(c);
            if (!c)
                continue;
            CHECK_EQ_U(dir, d);
            struct ct_conn_info got;
            CHECK_EQ_I(ct_conn_get_info(b, c, &got), 0);
            CHECK(memcmp(&got, &want, sizeof(got)) == 0);
        }
    }
    free(k.v);
}

/* A snapshot of a filled table (template `tmpl` registered when asked). */
static uint8_t *snap_of(struct ct_table *t, uint64_t now, size_t *len)
{
    size_t cap = ct_table_save_size(t);
    uint8_t *buf = malloc(cap);
    long n = ct_table_save_buf(t, buf, cap, now);
    CHECK(n > 0);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

static struct ct_table *fresh(uint32_t max, uint32_t flags, int with_tmpl, uint64_t key)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = max;
    cfg.flags = flags | CT_TABLE_F_FIXED_KEY;
    cfg.hash_key[0] = key;
    cfg.hash_key[1] = ~key;
    struct ct_table *t = ct_table_create(&cfg, NULL);
    CHECK_PTR(t);
    if (with_tmpl) {
        struct ct_template tp;
        memset(&tp, 0, sizeof(tp));
        tp.flags = CT_TMPL_LABELS | CT_TMPL_EVENTS | CT_TMPL_MARK;
        tp.labels[3] = 0x5a;
        tp.events = CT_EVENT_NEW | CT_EVENT_DESTROY;
        tp.mark = 0x42;
        CHECK_EQ_I(ct_template_add(t, &tp), 1);
    }
    return t;
}

static void test_roundtrip(void)
{
    const uint32_t modes[2] = {0, CT_TABLE_F_NO_ACCT};
    for (unsigned m = 0; m < 2; m++) {
        uint64_t now = 1000 * SEC;
        struct ct_table *a = fresh(4096, modes[m], 1, 1);
        fill(a, now, 1);
        CHECK(a->connections > NTCP);
        size_t len;
        uint8_t *buf = snap_of(a, now, &len);
        struct ct_snapshot_info info;
        CHECK_EQ_I(ct_snapshot_info(buf, len, &info), 0);
        CHECK_EQ_U(info.connections, a->connections);
        CHECK_EQ_U(info.now, now);
        CHECK_EQ_U(info.total_bytes, len);
        CHECK_EQ_U(info.max_connections, 4096);

        /* At the same now, and a day later, under another key. */
        const uint64_t shifts[2] = {0, 86400 * SEC};
        for (unsigned s = 0; s < 2; s++) {
            struct ct_table *b = fresh(4096, modes[m], 1, 99 + s);
            CHECK_EQ_I(ct_table_restore_buf(b, buf, len, now + shifts[s]), (long)a->connections);
            check_same(a, b, now + shifts[s], shifts[s]);
            /* Both tables go on alike: the handshakes finish, data flows,
             * the template's flows answer. */
            for (uint32_t i = 0; i < NTCP; i++) {
                unsigned v6 = i % 4 == 3;
                uint32_t isn = 1000 * i, risn = 7777 * i;
                struct ct_pkt p = tcp_any(v6, i, 1, CT_TCP_ACK, risn + 1, isn + 101 + i, 10);
                struct ct_verdict va = run1(a, p, now + SEC);
                struct ct_verdict vb = run1(b, p, now + shifts[s] + SEC);
                CHECK_EQ_U(va.state, vb.state);
                CHECK_EQ_U(va.reason, vb.reason);
                CHECK_EQ_U(va.l4state, vb.l4state);
            }
            for (uint32_t i = 0; i < NUDP; i++) {
                struct ct_verdict va = run1(a, udp_any(i, 1), now + 2 * SEC);
                struct ct_verdict vb = run1(b, udp_any(i, 1), now + shifts[s] + 2 * SEC);
                CHECK_EQ_U(va.state, vb.state);
                CHECK_EQ_U(va.flags, vb.flags);
            }
            check_same(a, b, now + shifts[s] + 2 * SEC, shifts[s]);
            ct_table_destroy(b);
            /* a moved on: take it back to the snapshot's state. */
            ct_table_destroy(a);
            a = fresh(4096, modes[m], 1, 1);
            CHECK_EQ_I(ct_table_restore_buf(a, buf, len, now), (long)info.connections);
        }
        ct_table_destroy(a);
        free(buf);
    }
}

/* The descriptor variants, through a pipe (which cannot seek). */
static void test_fd(void)
{
    uint64_t now = 50 * SEC;
    struct ct_table *a = fresh(4096, 0, 0, 3);
    fill(a, now, 0);
    int fds[2];
    CHECK_EQ_I(pipe(fds), 0);
    /* The pipe holds 64 KiB at most by default: write from a child. */
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        _exit(ct_table_save_fd(a, fds[1], now) == 0 ? 0 : 1);
    }
    close(fds[1]);
    struct ct_table *b = fresh(4096, 0, 0, 4);
    CHECK_EQ_I(ct_table_restore_fd(b, fds[0], now), (long)a->connections);
    close(fds[0]);
    int st = -1;
    CHECK_EQ_I(waitpid(pid, &st, 0), pid);
    CHECK_EQ_I(st, 0);
    check_same(a, b, now, 0);
    CHECK_EQ_I(ct_table_save_fd(NULL, 1, now), -EINVAL);
    CHECK_EQ_I(ct_table_restore_fd(b, -1, now), -EINVAL);
    ct_table_destroy(a);
    ct_table_destroy(b);
}

/* Rewrites the header's and every block's checksum after an edit. */
static void fix_crcs(uint8_t *b, size_t len)
{
    uint32_t c = ct_crc32c_update(0xffffffffu, b, 92) ^ 0xffffffffu;
    memcpy(b + 92, &c, 4); /* the tests run little-endian hosts */
    uint32_t rec;
    memcpy(&rec, b + 16, 4);
    size_t off = 96;
    while (off + 8 <= len) {
        uint32_t nrec, payload;
        memcpy(&nrec, b + off, 4);
        memcpy(&payload, b + off + 4, 4);
        if (payload > len - off - 8 || len - off - 8 - payload < 4)
            return;
        c = ct_crc32c_update(0xffffffffu, b + off, 8 + payload) ^ 0xffffffffu;
        memcpy(b + off + 8 + payload, &c, 4);
        off += 8 + payload + 4;
    }
}

static long restore_copy(const uint8_t *buf, size_t len, uint32_t max, int tmpl)
{
    struct ct_table *t = fresh(max, 0, tmpl, 7);
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    long r = ct_table_restore_buf(t, copy, len, 100 * SEC);
    if (r < 0)
        CHECK_EQ_U(t->connections, 0);
    free(copy);
    ct_table_destroy(t);
    return r;
}

static void test_refusals(void)
{
    uint64_t now = 100 * SEC;
    struct ct_table *a = fresh(4096, 0, 1, 5);
    fill(a, now, 1);
    size_t len;
    uint8_t *buf = snap_of(a, now, &len);
    CHECK_EQ_I(restore_copy(buf, len, 4096, 1), (long)a->connections);

    for (size_t cut = 0; cut < len; cut += cut < 200 ? 1 : 97)
        CHECK_EQ_I(restore_copy(buf, cut, 4096, 1), -EBADMSG);
    uint8_t *m = malloc(len + 1);
    for (size_t i = 0; i < len; i += i < 300 ? 1 : 13) {
        memcpy(m, buf, len);
        m[i] ^= (uint8_t)(1u << (i % 8));
        long r = restore_copy(m, len, 4096, 1);
        CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT);
    }
    memcpy(m, buf, len);
    m[len] = 0;
    CHECK_EQ_I(restore_copy(m, len + 1, 4096, 1), -EBADMSG); /* trailing byte */
    memcpy(m, buf, len);
    m[0] = 'X';
    fix_crcs(m, len);
    CHECK_EQ_I(restore_copy(m, len, 4096, 1), -EBADMSG);     /* magic */
    memcpy(m, buf, len);
    m[8] = 2;
    fix_crcs(m, len);
    CHECK_EQ_I(restore_copy(m, len, 4096, 1), -EPROTONOSUPPORT);
    memcpy(m, buf, len);
    m[24]--; /* one connection fewer than the blocks hold */
    fix_crcs(m, len);
    CHECK_EQ_I(restore_copy(m, len, 4096, 1), -EBADMSG);
    memcpy(m, buf, len);
    m[96 + 8] = 5; /* the first record's family */
    fix_crcs(m, len);
    CHECK_EQ_I(restore_copy(m, len, 4096, 1), -EBADMSG);
    /* The second record made a copy of the first: a clash found while
     * inserting, after which the table is empty again. */
    memcpy(m, buf, len);
    uint32_t rec;
    memcpy(&rec, buf + 16, 4);
    memcpy(m + 96 + 8 + rec, m + 96 + 8, rec);
    fix_crcs(m, len);
    CHECK_EQ_I(restore_copy(m, len, 4096, 1), -EBADMSG);
    free(m);

    CHECK_EQ_I(restore_copy(buf, len, a->connections - 1, 1), -ENOSPC);
    CHECK_EQ_I(restore_copy(buf, len, a->connections, 1), (long)a->connections);
    CHECK_EQ_I(restore_copy(buf, len, 4096, 0), -EMEDIUMTYPE);
    /* Only into an empty table. */
    CHECK_EQ_I(ct_table_restore_buf(a, buf, len, now), -EINVAL);
    CHECK_EQ_I(ct_table_restore_buf(NULL, buf, len, now), -EINVAL);
    CHECK_EQ_I(ct_table_save_buf(a, buf, 95, now), -ENOSPC);
    CHECK_EQ_I(ct_table_save_buf(a, buf, len - 1, now), -ENOSPC);
    free(buf);
    ct_table_destroy(a);
}

/* Random edits; the ones with the checksums made right reach the record
 * checks and the inserts. */
static void test_mutations(void)
{
    uint64_t now = 100 * SEC;
    struct ct_table *a = fresh(4096, 0, 1, 6);
    fill(a, now, 1);
    size_t len;
    uint8_t *buf = snap_of(a, now, &len);
    uint8_t *m = malloc(len);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    unsigned accepted = 0, refused = 0;
    for (unsigned iter = 0; iter < 3000; iter++) {
        memcpy(m, buf, len);
        unsigned edits = 1 + iter % 8;
        for (unsigned e = 0; e < edits; e++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (size_t)(x % len);
            /* Half of the edits land in the header or the first record. */
            if (iter & 1)
                at = (size_t)(x % 300);
            m[at] = (uint8_t)(x >> 32);
        }
        if (iter % 3)
            fix_crcs(m, len);
        struct ct_table *t = fresh(4096, 0, 1, 8);
        long r = ct_table_restore_buf(t, m, len, now);
        if (r >= 0) {
            accepted++;
            CHECK_EQ_U(t->connections, (uint64_t)r);
            struct collect k = {.t = t, .cap = 0};
            ct_table_foreach(t, collect_one, &k);
            CHECK_EQ_U(k.n, (uint64_t)r);
        } else {
            refused++;
            CHECK(r == -EBADMSG || r == -EPROTONOSUPPORT || r == -ENOSPC || r == -EMEDIUMTYPE);
            CHECK_EQ_U(t->connections, 0);
        }
        ct_table_destroy(t);
    }
    /* Both outcomes happen: edits of a mark or a port are accepted. */
    CHECK(accepted > 0);
    CHECK(refused > 0);
    free(m);
    free(buf);
    ct_table_destroy(a);
}

int main(void)
{
    RUN(test_roundtrip);
    RUN(test_fd);
    RUN(test_refusals);
    RUN(test_mutations);
    return check_summary();
}
