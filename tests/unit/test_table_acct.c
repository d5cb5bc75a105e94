/*
 * Tests of the table's per-connection accounting and of the entry sizes it
 * decides: tables with counters (the default) and without (CT_TABLE_F_NO_ACCT).
 *
 *   - entry strides (96/128 B IPv4, 128/160 B IPv6), seen from the handles
 *     the packet path gives out, and the id <-> handle conversion over
 *     whole pools and at high indexes;
 *   - the cache lines the burst path prefetches cover every entry;
 *   - memory accounting per connection, up to 10 M connections;
 *   - counters counted with accounting, zero and flagged without;
 *   - the same mixed TCP/UDP/ICMP traffic (IPv4 and IPv6, with expiry, a
 *     full table and early drop) through a table of each kind gives the same
 *     verdicts, the same connections in the same entries, the same ends and
 *     the same information apart from the counters;
 *   - a full table and the reuse of freed entries;
 *   - shared tables with both strides.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"
#include "table/table.h"

#define SEC 1000000000ull
#define MS 1000000ull

static const uint32_t ACCT_MODES[2] = {0, CT_TABLE_F_NO_ACCT};

/* ---- packet descriptors ----------------------------------------------------------- */

/* Host a (client) or b (server) of flow i, in family v6. */
static void set_addr(union ct_addr *x, unsigned v6, uint32_t host)
{
    memset(x, 0, sizeof(*x));
    if (v6) {
        x->b[0] = 0x20;
        x->b[1] = 0x01;
        x->b[2] = 0x0d;
        x->b[3] = 0xb8;
        x->w[3] = host;
    } else {
        x->v4 = host;
    }
}

static struct ct_pkt base_pkt(unsigned v6, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp,
                              uint16_t dp)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.reason = CT_REASON_NONE;
    p.tuple.l3 = v6 ? CT_L3_IPV6 : CT_L3_IPV4;
    p.tuple.proto = proto;
    set_addr(&p.tuple.src, v6, src);
    set_addr(&p.tuple.dst, v6, dst);
    p.tuple.sport = sp;
    p.tuple.dport = dp;
    return p;
}

static unsigned ip_hdr(const struct ct_pkt *p)
{
    return p->tuple.l3 == CT_L3_IPV6 ? 40 : 20;
}

/* The packet of flow `orig` in direction dir (addresses and ports swapped
 * for the reply). */
static struct ct_pkt in_dir(const struct ct_pkt *orig, unsigned dir)
{
    struct ct_pkt p = *orig;
    if (dir == CT_DIR_REPLY) {
        p.tuple.src = orig->tuple.dst;
        p.tuple.dst = orig->tuple.src;
        p.tuple.sport = orig->tuple.dport;
        p.tuple.dport = orig->tuple.sport;
    }
    return p;
}

static struct ct_pkt tcp_seg(const struct ct_pkt *orig, unsigned dir, uint8_t flags, uint32_t seq,
                             uint32_t ack, uint32_t len)
{
    struct ct_pkt p = in_dir(orig, dir);
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.win = 65535;
    p.tcp_hdr_len = 20;
    p.l4_len = 20 + len;
    p.payload_len = (uint16_t)len;
    p.ip_len = ip_hdr(orig) + 20 + len;
    return p;
}

static struct ct_pkt udp_dgram(const struct ct_pkt *orig, unsigned dir, uint32_t len)
{
    struct ct_pkt p = in_dir(orig, dir);
    p.l4_len = 8 + len;
    p.payload_len = (uint16_t)len;
    p.ip_len = ip_hdr(orig) + 8 + len;
    return p;
}

static struct ct_conn_info info_of(const struct ct_table *t, const struct ct_conn *c)
{
    struct ct_conn_info i;
    memset(&i, 0xee, sizeof(i));
    CHECK_EQ_I(ct_conn_get_info(t, c, &i), 0);
    return i;
}

/* Every field of two infos alike. */
static int info_same(const struct ct_conn_info *a, const struct ct_conn_info *b)
{
    return memcmp(a->tuple, b->tuple, sizeof(a->tuple)) == 0 &&
           memcmp(a->packets, b->packets, sizeof(a->packets)) == 0 &&
           memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0 && a->first_seen == b->first_seen &&
           a->last_seen == b->last_seen && a->expires == b->expires && a->status == b->status &&
           a->mark == b->mark && a->zone[0] == b->zone[0] && a->zone[1] == b->zone[1] &&
           a->l3 == b->l3 && a->proto == b->proto && a->l4state == b->l4state &&
           a->timeout == b->timeout && a->flags == b->flags && a->helper == b->helper &&
           memcmp(&a->master, &b->master, sizeof(a->master)) == 0;
}

/*
 * The info of a table with counters as a table without them reports it:
 * checks that it says the counters are kept, then clears them and the flag.
 */
static struct ct_conn_info without_counters(struct ct_conn_info i)
{
    CHECK_EQ_U(i.flags & CT_INFO_F_ACCT, CT_INFO_F_ACCT);
    memset(i.packets, 0, sizeof(i.packets));
    memset(i.bytes, 0, sizeof(i.bytes));
    i.flags &= (uint8_t)~CT_INFO_F_ACCT;
    return i;
}

/* An info of a table without counters: no flag, all counters 0. */
static void check_no_counters(const struct ct_conn_info *i)
{
    CHECK_EQ_U(i->flags, 0);
    for (unsigned d = 0; d < 2; d++) {
        CHECK_EQ_U(i->packets[d], 0);
        CHECK_EQ_U(i->bytes[d], 0);
    }
}

/* ---- strides, ids and cache lines ---------------------------------------------------- */

/* Expected entry size in bytes. */
static uint32_t want_stride(unsigned v6, uint32_t flags)
{
    unsigned acct = !(flags & CT_TABLE_F_NO_ACCT);
    return v6 ? (acct ? 160 : 128) : (acct ? 128 : 96);
}

static void test_entry_strides(void)
{
    for (unsigned m = 0; m < 2; m++) {
        for (unsigned v6 = 0; v6 < 2; v6++) {
            struct ct_table *t = mk_table(1000, ACCT_MODES[m] | CT_TABLE_F_NO_CHECKSUM);
            CHECK_EQ_U(t->pool[v6].stride, want_stride(v6, ACCT_MODES[m]));
            /* Entries are handed out in order from a fresh pool: the handles
             * of consecutive connections lie one entry apart. */
            struct ct_conn *c[4];
            for (unsigned i = 0; i < 4; i++) {
                struct ct_pkt p = base_pkt(v6, 17, 10, 20, (uint16_t)(1000 + i), 53);
                p = udp_dgram(&p, CT_DIR_ORIGINAL, 12);
                struct ct_verdict v = run1(t, p, SEC);
                CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
                c[i] = v.conn;
            }
            for (unsigned i = 1; i < 4; i++)
                CHECK_EQ_I((const uint8_t *)c[i] - (const uint8_t *)c[i - 1],
                           (int64_t)want_stride(v6, ACCT_MODES[m]));
            /* Counters just after the body, whatever the family. */
            struct ct_acct *a = ct_table_conn_acct(t, c[0]);
            if (ACCT_MODES[m] & CT_TABLE_F_NO_ACCT) {
                CHECK(a == NULL);
            } else {
                CHECK((const uint8_t *)a == (const uint8_t *)c[0] + 80);
                CHECK_EQ_U(a->packets[CT_DIR_ORIGINAL], 1);
                CHECK_EQ_U(a->bytes[CT_DIR_ORIGINAL], (v6 ? 40u : 20u) + 8 + 12);
            }
            ct_table_destroy(t);
        }
    }
}

/* Every entry of both pools: id -> handle -> id, at the expected address. */
static void test_ids_whole_pools(void)
{
    for (unsigned m = 0; m < 2; m++) {
        struct ct_table *t = mk_table(3000, ACCT_MODES[m] | CT_TABLE_F_NO_CHECKSUM);
        for (unsigned v6 = 0; v6 < 2; v6++) {
            const struct ct_pool *p = &t->pool[v6];
            uint32_t stride = want_stride(v6, ACCT_MODES[m]);
            uint32_t body = v6 ? 40 : 16;
            uint32_t n = 0;
            struct ct_conn *c;
            while ((c = ct_table_conn_alloc(t, v6)) != NULL) {
                uint32_t id = n | (v6 ? CT_ID_V6 : 0);
                if ((const uint8_t *)c != p->base + (size_t)n * stride + body ||
                    ct_table_conn_id(t, c) != id || ct_table_conn_at(t, id) != c) {
                    CHECK_FAIL_("entry %u of pool %u (stride %u) does not round-trip", n, v6,
                                stride);
                    break;
                }
                n++;
            }
            CHECK_EQ_U(n, p->cap);
            CHECK_EQ_U(p->cap, 3000 + CT_RETIRE_MAX);
            CHECK_EQ_U(p->map_len % 4096, 0);
            CHECK(p->map_len >= (size_t)p->cap * stride);
            CHECK(p->map_len < (size_t)p->cap * stride + 4096);
        }
        ct_table_destroy(t);
    }
}

/* High indexes of a 16 M table (only a few pages are written). */
static void test_ids_high(void)
{
    for (unsigned m = 0; m < 2; m++) {
        struct ct_table_config cfg;
        ct_table_config_init(&cfg);
        cfg.max_connections = 1u << 24;
        cfg.flags = ACCT_MODES[m];
        int err = 0;
        struct ct_table *t = ct_table_create(&cfg, &err);
        if (!t) {
            CHECK_EQ_I(err, -ENOMEM); /* a machine without that much address space */
            continue;
        }
        for (unsigned v6 = 0; v6 < 2; v6++) {
            uint32_t cap = t->pool[v6].cap;
            const uint32_t idx[] = {0,       1,       2,           3,       5,      7,
                                    1000003, cap / 3, cap / 2 + 1, cap - 2, cap - 1};
            for (unsigned i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
                uint32_t id = idx[i] | (v6 ? CT_ID_V6 : 0);
                struct ct_conn *c = ct_table_conn_at(t, id);
                if (v6)
                    c->status = CT_STATUS_PRIV_IPV6; /* what the allocator sets */
                CHECK_EQ_U(ct_table_conn_id(t, c), id);
                CHECK_EQ_U((uint64_t)((uint8_t *)c - t->pool[v6].base),
                           (uint64_t)idx[i] * want_stride(v6, ACCT_MODES[m]) + (v6 ? 40 : 16));
            }
        }
        ct_table_destroy(t);
    }
}

/* The lines the burst path prefetches are exactly the lines each entry spans. */
static void test_prefetch_lines(void)
{
    for (unsigned m = 0; m < 2; m++) {
        struct ct_table *t = mk_table(1000, ACCT_MODES[m] | CT_TABLE_F_NO_CHECKSUM);
        for (unsigned v6 = 0; v6 < 2; v6++) {
            const struct ct_pool *p = &t->pool[v6];
            unsigned n = ct_pool_entry_lines(p);
            /* The budget of conn.h: two lines, three for IPv6 with counters. */
            CHECK_EQ_U(n, p->stride == 160 ? 3 : 2);
            CHECK(n <= CT_ENTRY_LINES_MAX);
            for (uint32_t i = 0; i < 256; i++) {
                const uint8_t *e = p->base + (size_t)i * p->stride;
                uintptr_t first = (uintptr_t)e / 64, last = ((uintptr_t)e + p->stride - 1) / 64;
                /* Entries start at byte 0 or 32 of a line. */
                CHECK_EQ_U((uintptr_t)e % 32, 0);
                /* ct_pool_prefetch_entry() touches bytes 0, 64 (and 128 for
                 * three lines): one address in each line the entry spans. */
                CHECK_EQ_U(last - first + 1, n);
                for (unsigned k = 0; k < n; k++)
                    CHECK_EQ_U(((uintptr_t)e + 64 * k) / 64, first + k);
                ct_pool_prefetch_entry(p, i); /* harmless anywhere in the pool */
            }
        }
        ct_table_destroy(t);
    }
}

/* ---- memory ---------------------------------------------------------------------------- */

static void test_memory_bytes(void)
{
    /* 3840 + CT_RETIRE_MAX = 4096 entries per pool: every pool size is a
     * whole number of pages, so the sizes are exact. */
    uint64_t mem[2];
    for (unsigned m = 0; m < 2; m++) {
        struct ct_table *t = mk_table(4096 - CT_RETIRE_MAX, ACCT_MODES[m] | CT_TABLE_F_NO_CHECKSUM);
        struct ct_table_stats s;
        CHECK_EQ_I(ct_table_stats(t, &s), 0);
        uint64_t index = ((uint64_t)s.buckets * 64 + 4095) / 4096 * 4096;
        CHECK_EQ_U(s.memory_bytes, index + 4096ull * want_stride(0, ACCT_MODES[m]) +
                                       4096ull * want_stride(1, ACCT_MODES[m]) +
                                       sizeof(struct ct_table));
        mem[m] = s.memory_bytes;
        ct_table_destroy(t);
    }
    CHECK_EQ_U(mem[0] - mem[1], 2 * 4096ull * 32);

    /* At 10 M connections: the IPv4 entries and the index come to at most
     * 128 bytes per connection without counters, 32 more with them. */
    for (unsigned m = 0; m < 2; m++) {
        struct ct_table_config cfg;
        ct_table_config_init(&cfg);
        cfg.max_connections = 10000000;
        cfg.flags = ACCT_MODES[m];
        int err = 0;
        struct ct_table *t = ct_table_create(&cfg, &err);
        if (!t) {
            CHECK_EQ_I(err, -ENOMEM);
            continue;
        }
        double per_conn = (double)(t->index_bytes + t->pool[0].map_len) / 10e6;
        if (ACCT_MODES[m] & CT_TABLE_F_NO_ACCT) {
            CHECK(per_conn <= 128.0);
            CHECK(per_conn > 96.0 + 18.0);
        } else {
            CHECK(per_conn > 128.0 + 18.0);
            CHECK(per_conn <= 128.0 + 20.0);
        }
        ct_table_destroy(t);
    }
}

/* ---- counters -------------------------------------------------------------------------- */

static void test_counters(void)
{
    for (unsigned m = 0; m < 2; m++) {
        int acct = !(ACCT_MODES[m] & CT_TABLE_F_NO_ACCT);
        for (unsigned v6 = 0; v6 < 2; v6++) {
            struct ct_table *t = mk_table(100, ACCT_MODES[m] | CT_TABLE_F_NO_CHECKSUM);
            unsigned h = v6 ? 40 : 20;
            /* UDP: three datagrams out, two back. */
            struct ct_pkt u = base_pkt(v6, 17, 1, 2, 4000, 53);
            struct ct_conn *c = NULL;
            for (unsigned i = 0; i < 3; i++) {
                struct ct_verdict v =
                    run1(t, udp_dgram(&u, CT_DIR_ORIGINAL, 10 * (i + 1)), SEC + i);
                CHECK_PTR(v.conn);
                c = v.conn;
            }
            for (unsigned i = 0; i < 2; i++)
                CHECK(run1(t, udp_dgram(&u, CT_DIR_REPLY, 100), 2 * SEC + i).conn == c);
            /* A TCP connection next to it: handshake and one data segment. */
            struct ct_pkt tc = base_pkt(v6, 6, 1, 2, 5000, 80);
            struct ct_conn *k = run1(t, tcp_seg(&tc, 0, CT_TCP_SYN, 100, 0, 0), 3 * SEC).conn;
            CHECK_PTR(k);
            run1(t, tcp_seg(&tc, 1, CT_TCP_SYN | CT_TCP_ACK, 900, 101, 0), 3 * SEC);
            run1(t, tcp_seg(&tc, 0, CT_TCP_ACK, 101, 901, 0), 3 * SEC);
            struct ct_verdict v =
                run1(t, tcp_seg(&tc, 0, CT_TCP_ACK | CT_TCP_PSH, 101, 901, 500), 3 * SEC);
            CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
            CHECK(v.conn == k);
            /* Out of window: INVALID, not counted. */
            v = run1(t, tcp_seg(&tc, 0, CT_TCP_ACK, 101 + 0x40000000u, 901, 10), 3 * SEC);
            CHECK_EQ_U(v.state, CT_STATE_INVALID);

            struct ct_conn_info iu = info_of(t, c), ik = info_of(t, k);
            if (acct) {
                CHECK_EQ_U(iu.flags, CT_INFO_F_ACCT);
                CHECK_EQ_U(iu.packets[0], 3);
                CHECK_EQ_U(iu.packets[1], 2);
                CHECK_EQ_U(iu.bytes[0], 3 * (h + 8) + 10 + 20 + 30);
                CHECK_EQ_U(iu.bytes[1], 2 * (h + 8 + 100));
                CHECK_EQ_U(ik.flags, CT_INFO_F_ACCT);
                CHECK_EQ_U(ik.packets[0], 3);
                CHECK_EQ_U(ik.packets[1], 1);
                CHECK_EQ_U(ik.bytes[0], 3 * (h + 20) + 500);
                CHECK_EQ_U(ik.bytes[1], h + 20);
            } else {
                check_no_counters(&iu);
                check_no_counters(&ik);
            }
            /* Either way the rest is kept. */
            CHECK_EQ_U(iu.first_seen, SEC);
            CHECK_EQ_U(iu.last_seen, 2 * SEC + 1);
            CHECK(iu.status & CT_STATUS_SEEN_REPLY);
            CHECK_EQ_U(iu.tuple[0].sport, 4000);
            CHECK_EQ_U(iu.tuple[1].dport, 4000);
            CHECK_EQ_U(ik.l4state, CT_TCP_ESTABLISHED);
            CHECK(ik.status & CT_STATUS_ASSURED);
            CHECK_EQ_U(ik.tuple[0].sport, 5000);
            CHECK_EQ_U(ik.l3, v6 ? CT_L3_IPV6 : CT_L3_IPV4);
            ct_table_destroy(t);
        }
    }
}

/* ---- the same traffic through both kinds of table -------------------------------------- */

#define MAXP 48

struct flow {
    struct ct_pkt p[MAXP];
    unsigned n, next;
};

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: fixed seed, the same traffic every run. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void push(struct flow *f, struct ct_pkt p)
{
    if (f->n < MAXP)
        f->p[f->n++] = p;
}

/* A TCP connection: handshake (kinds 0-3), data both ways with now and
 * then a segment out of window; ended by FIN (0), RST (1), left open (2),
 * or opened with a retransmitted SYN (3); picked up mid-stream (4); or a
 * SYN that is never answered (5). */
static void gen_tcp(struct flow *f, unsigned v6, uint32_t i)
{
    struct ct_pkt o = base_pkt(v6, 6, 0x0a000000u + i, 0x0b000001u + i % 7, (uint16_t)(1024 + i),
                               (uint16_t)(80 + i % 3));
    unsigned kind = rnd() % 6;
    uint32_t a = rnd(), b = rnd();
    if (kind == 5) {
        push(f, tcp_seg(&o, 0, CT_TCP_SYN, a, 0, 0));
        return;
    }
    if (kind == 4) {
        for (unsigned r = 0; r < 3; r++) {
            uint32_t len = 1 + rnd() % 1000;
            push(f, tcp_seg(&o, 0, CT_TCP_ACK | CT_TCP_PSH, a, b, len));
            a += len;
            push(f, tcp_seg(&o, 1, CT_TCP_ACK, b, a, 0));
        }
        return;
    }
    push(f, tcp_seg(&o, 0, CT_TCP_SYN, a, 0, 0));
    if (kind == 3)
        push(f, tcp_seg(&o, 0, CT_TCP_SYN, a, 0, 0));
    push(f, tcp_seg(&o, 1, CT_TCP_SYN | CT_TCP_ACK, b, a + 1, 0));
    a++;
    b++;
    push(f, tcp_seg(&o, 0, CT_TCP_ACK, a, b, 0));
    unsigned rounds = 1 + rnd() % 6;
    for (unsigned r = 0; r < rounds; r++) {
        uint32_t len = 1 + rnd() % 1400;
        push(f, tcp_seg(&o, 0, CT_TCP_ACK | CT_TCP_PSH, a, b, len));
        a += len;
        push(f, tcp_seg(&o, 1, CT_TCP_ACK, b, a, 0));
        if (rnd() % 3 == 0) {
            uint32_t m = 1 + rnd() % 1400;
            push(f, tcp_seg(&o, 1, CT_TCP_ACK | CT_TCP_PSH, b, a, m));
            b += m;
            push(f, tcp_seg(&o, 0, CT_TCP_ACK, a, b, 0));
        }
        if (rnd() % 6 == 0)
            push(f, tcp_seg(&o, rnd() % 2, CT_TCP_ACK, a + 0x40000000u, b, 10));
    }
    if (kind == 0) {
        push(f, tcp_seg(&o, 0, CT_TCP_FIN | CT_TCP_ACK, a, b, 0));
        push(f, tcp_seg(&o, 1, CT_TCP_FIN | CT_TCP_ACK, b, a + 1, 0));
        push(f, tcp_seg(&o, 0, CT_TCP_ACK, a + 1, b + 1, 0));
    } else if (kind == 1) {
        push(f, tcp_seg(&o, 0, CT_TCP_RST | CT_TCP_ACK, a, b, 0));
    }
}

static void gen_udp(struct flow *f, unsigned v6, uint32_t i)
{
    struct ct_pkt o = base_pkt(v6, 17, 0x0c000000u + i, 0x0d000001u, (uint16_t)(20000 + i), 53);
    unsigned out = 1 + rnd() % 4, back = rnd() % 4;
    push(f, udp_dgram(&o, 0, rnd() % 500));
    out--;
    while (out || back) {
        if (back && (!out || rnd() % 2)) {
            push(f, udp_dgram(&o, 1, rnd() % 500));
            back--;
        } else {
            push(f, udp_dgram(&o, 0, rnd() % 500));
            out--;
        }
    }
}

static void gen_icmp(struct flow *f, unsigned v6, uint32_t i)
{
    uint8_t req = v6 ? 128 : 8, rep = v6 ? 129 : 0;
    struct ct_pkt o = base_pkt(v6, v6 ? 58 : 1, 0x0e000000u + i, 0x0f000001u, (uint16_t)(7 + i),
                               (uint16_t)(req << 8));
    o.icmp_type = req;
    o.ip_len = 84;
    push(f, o);
    if (rnd() % 4) {
        struct ct_pkt r = in_dir(&o, CT_DIR_REPLY);
        r.tuple.sport = o.tuple.sport;
        r.tuple.dport = (uint16_t)(rep << 8);
        r.icmp_type = rep;
        push(f, r);
    }
}

/* What a table's destroy callback saw: every end, in order. */
#define MAXENDS 4096
struct ends {
    unsigned n;
    unsigned reason[MAXENDS];
    uint32_t id[MAXENDS];
    struct ct_conn_info info[MAXENDS];
};

static void on_end(void *arg, const struct ct_table *t, const struct ct_conn *c, unsigned reason,
                   uint64_t now)
{
    struct ends *e = arg;
    (void)now;
    if (e->n == MAXENDS)
        return;
    e->reason[e->n] = reason;
    e->id[e->n] = ct_table_conn_id(t, c);
    ct_conn_get_info(t, c, &e->info[e->n]);
    e->n++;
}

/* The live connections of both tables: the same entries, the same facts. */
static void compare_live(struct ct_table *ta, struct ct_table *tb)
{
    struct ct_table_stats sa, sb;
    CHECK_EQ_I(ct_table_stats(ta, &sa), 0);
    CHECK_EQ_I(ct_table_stats(tb, &sb), 0);
    CHECK_EQ_U(sa.connections, sb.connections);
    unsigned live = 0;
    for (unsigned v6 = 0; v6 < 2; v6++) {
        CHECK_EQ_U(ta->pool[v6].hiwater, tb->pool[v6].hiwater);
        for (uint32_t i = 0; i < ta->pool[v6].hiwater; i++) {
            uint32_t id = i | (v6 ? CT_ID_V6 : 0);
            struct ct_conn *a = ct_table_conn_at(ta, id), *b = ct_table_conn_at(tb, id);
            CHECK_EQ_U(a->status, b->status);
            if ((a->status & (CT_STATUS_CONFIRMED | CT_STATUS_DYING)) != CT_STATUS_CONFIRMED)
                continue;
            live++;
            struct ct_conn_info ia = without_counters(info_of(ta, a)), ib = info_of(tb, b);
            check_no_counters(&ib);
            if (!info_same(&ia, &ib))
                CHECK_FAIL_("connection %u of pool %u differs between the tables", i, v6);
        }
    }
    CHECK_EQ_U(live, sa.connections);
}

/* Table counters alike, apart from the memory. */
static void compare_stats(struct ct_table *ta, struct ct_table *tb)
{
    struct ct_table_stats sa, sb;
    memset(&sa, 0, sizeof(sa));
    memset(&sb, 0, sizeof(sb));
    CHECK_EQ_I(ct_table_stats(ta, &sa), 0);
    CHECK_EQ_I(ct_table_stats(tb, &sb), 0);
    CHECK(sa.memory_bytes > sb.memory_bytes);
    sa.memory_bytes = sb.memory_bytes = 0;
    if (memcmp(&sa, &sb, sizeof(sa)) != 0)
        CHECK_FAIL_("table counters differ");
}

static void run_compare(uint32_t max, uint64_t seed, uint32_t extra_flags)
{
    enum { NTCP = 150, NUDP = 60, NICMP = 20, NFLOW = 2 * (NTCP + NUDP + NICMP) };
    struct flow *fl = calloc(NFLOW, sizeof(*fl));
    struct ends *ends = calloc(2, sizeof(*ends));
    CHECK_PTR(fl);
    CHECK_PTR(ends);
    if (!fl || !ends) {
        free(fl);
        free(ends);
        return;
    }
    rng_state = seed;
    unsigned nf = 0, total = 0;
    for (unsigned v6 = 0; v6 < 2; v6++) {
        for (uint32_t i = 0; i < NTCP; i++)
            gen_tcp(&fl[nf++], v6, i);
        for (uint32_t i = 0; i < NUDP; i++)
            gen_udp(&fl[nf++], v6, i);
        for (uint32_t i = 0; i < NICMP; i++)
            gen_icmp(&fl[nf++], v6, i);
    }
    for (unsigned i = 0; i < nf; i++)
        total += fl[i].n;

    struct ct_table *t[2];
    for (unsigned m = 0; m < 2; m++) {
        t[m] = mk_table(max, ACCT_MODES[m] | extra_flags | CT_TABLE_F_NO_CHECKSUM);
        if (!t[m])
            goto out;
        CHECK_EQ_I(ct_table_set_destroy_cb(t[m], on_end, &ends[m]), 0);
    }

    /* Interleave the flows at random (each keeps its own order), in bursts
     * of 1 to 32 packets 1 ms apart, with one 35 s pause halfway (UDP flows
     * time out) and the sweep run as it asks. */
    uint64_t now = SEC, next[2] = {0, 0};
    unsigned done = 0, paused = 0, bursts = 0;
    struct ct_pkt pk[2][CT_BURST_MAX];
    struct ct_verdict vd[2][CT_BURST_MAX];
    while (done < total) {
        unsigned n = 1 + rnd() % 32;
        if (n > total - done)
            n = total - done;
        for (unsigned k = 0; k < n; k++) {
            unsigned f = rnd() % nf;
            while (fl[f].next == fl[f].n)
                f = (f + 1) % nf;
            pk[0][k] = pk[1][k] = fl[f].p[fl[f].next++];
        }
        for (unsigned m = 0; m < 2; m++)
            CHECK_EQ_I(ct_process_parsed(t[m], pk[m], vd[m], n, now, CT_PROCESS_COMMIT), (int)n);
        for (unsigned k = 0; k < n; k++) {
            const struct ct_verdict *a = &vd[0][k], *b = &vd[1][k];
            int same = a->state == b->state && a->dir == b->dir && a->l4state == b->l4state &&
                       a->flags == b->flags && a->reason == b->reason &&
                       (a->conn == NULL) == (b->conn == NULL);
            if (same && a->conn)
                same = ct_table_conn_id(t[0], a->conn) == ct_table_conn_id(t[1], b->conn);
            if (!same) {
                CHECK_FAIL_("burst %u packet %u: verdicts differ (state %u/%u reason %u/%u)",
                            bursts, k, a->state, b->state, a->reason, b->reason);
                goto out;
            }
        }
        done += n;
        bursts++;
        now += MS;
        if (!paused && done >= total / 2) {
            paused = 1;
            now += 35 * SEC;
        }
        if (now >= next[0] || now >= next[1]) {
            for (unsigned m = 0; m < 2; m++)
                next[m] = ct_expire(t[m], now, 0);
            CHECK_EQ_U(next[0], next[1]);
        }
    }
    compare_live(t[0], t[1]);
    compare_stats(t[0], t[1]);

    /* End everything; both tables report the same ends of the same entries. */
    unsigned before = ends[0].n;
    int drained[2];
    for (unsigned m = 0; m < 2; m++)
        drained[m] = ct_table_drain(t[m], now);
    CHECK_EQ_I(drained[0], drained[1]);
    CHECK(drained[0] > 0);
    CHECK_EQ_U(ends[0].n, before + (unsigned)drained[0]);
    CHECK_EQ_U(ends[0].n, ends[1].n);
    CHECK(ends[0].n < MAXENDS);
    CHECK(ends[0].n > NFLOW / 2);
    for (unsigned i = 0; i < ends[0].n && i < ends[1].n; i++) {
        struct ct_conn_info a = without_counters(ends[0].info[i]);
        check_no_counters(&ends[1].info[i]);
        if (ends[0].reason[i] != ends[1].reason[i] || ends[0].id[i] != ends[1].id[i] ||
            !info_same(&a, &ends[1].info[i])) {
            CHECK_FAIL_("end %u differs between the tables", i);
            break;
        }
    }
    compare_stats(t[0], t[1]);

out:
    ct_table_destroy(t[0]);
    ct_table_destroy(t[1]);
    free(fl);
    free(ends);
}

static void test_same_tracking(void)
{
    /* Room for everything. */
    run_compare(4096, 0x0123456789abcdefull, 0);
    /* A table far too small: early drops and refusals, entries reused. */
    run_compare(48, 0xfedcba9876543210ull, 0);
    /* Liberal TCP and no loose pickup take other tracker paths. */
    run_compare(4096, 0x5555aaaa5555aaaaull, CT_TABLE_F_TCP_LIBERAL);
    run_compare(4096, 0x0f0f0f0f0f0f0f0full, CT_TABLE_F_TCP_NO_LOOSE);
}

/* ---- a full table and reused entries ---------------------------------------------------- */

static void test_full_and_reuse(void)
{
    for (unsigned m = 0; m < 2; m++) {
        int acct = !(ACCT_MODES[m] & CT_TABLE_F_NO_ACCT);
        for (unsigned v6 = 0; v6 < 2; v6++) {
            struct ct_table *t = mk_table(8, ACCT_MODES[m] | CT_TABLE_F_NO_CHECKSUM);
            unsigned h = v6 ? 40 : 20;
            struct ct_pkt o[8];
            struct ct_conn *c[8];
            /* Eight assured TCP connections with data: the table is full. */
            for (unsigned i = 0; i < 8; i++) {
                o[i] = base_pkt(v6, 6, 100 + i, 200, (uint16_t)(3000 + i), 443);
                c[i] = run1(t, tcp_seg(&o[i], 0, CT_TCP_SYN, 1000, 0, 0), SEC).conn;
                CHECK_PTR(c[i]);
                run1(t, tcp_seg(&o[i], 1, CT_TCP_SYN | CT_TCP_ACK, 5000, 1001, 0), SEC);
                run1(t, tcp_seg(&o[i], 0, CT_TCP_ACK | CT_TCP_PSH, 1001, 5001, 100 + i), SEC);
                struct ct_verdict v =
                    run1(t, tcp_seg(&o[i], 1, CT_TCP_ACK, 5001, 1101 + i, 0), SEC);
                CHECK(v.conn && (v.conn->status & CT_STATUS_ASSURED));
            }
            struct ct_pkt extra = base_pkt(v6, 6, 999, 200, 9999, 443);
            struct ct_verdict v = run1(t, tcp_seg(&extra, 0, CT_TCP_SYN, 1, 0, 0), 2 * SEC);
            CHECK_EQ_U(v.state, CT_STATE_INVALID);
            CHECK_EQ_U(v.reason, CT_REASON_TABLE_FULL);
            CHECK(v.conn == NULL);

            /* Connection 3 is reset (CLOSE, 10 s) and reaped by a lookup once
             * that has passed; the next new connection takes its entry (the
             * free list is LIFO) with fresh counters, and the pool has not
             * grown. */
            uint32_t id3 = ct_table_conn_id(t, c[3]);
            uint32_t hiwater = t->pool[v6].hiwater;
            CHECK_EQ_U(hiwater, 8);
            v = run1(t, tcp_seg(&o[3], 0, CT_TCP_RST | CT_TCP_ACK, 1104, 5001, 0), 3 * SEC);
            CHECK(v.conn == c[3]);
            CHECK_EQ_U(v.l4state, CT_TCP_CLOSE);
            CHECK(ct_table_lookup(t, &o[3].tuple, 14 * SEC, NULL) == NULL);
            v = run1(t, tcp_seg(&extra, 0, CT_TCP_SYN, 1, 0, 0), 14 * SEC);
            CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
            CHECK_PTR(v.conn);
            if (v.conn) {
                CHECK_EQ_U(ct_table_conn_id(t, v.conn), id3);
                CHECK_EQ_U(t->pool[v6].hiwater, hiwater);
                struct ct_conn_info i = info_of(t, v.conn);
                CHECK_EQ_U(i.tuple[0].sport, 9999);
                CHECK_EQ_U(i.first_seen, 14 * SEC);
                CHECK_EQ_U(i.l4state, CT_TCP_SYN_SENT);
                if (acct) {
                    CHECK_EQ_U(i.flags, CT_INFO_F_ACCT);
                    CHECK_EQ_U(i.packets[0], 1);
                    CHECK_EQ_U(i.bytes[0], h + 20);
                    CHECK_EQ_U(i.packets[1], 0);
                    CHECK_EQ_U(i.bytes[1], 0);
                } else {
                    check_no_counters(&i);
                }
            }
            /* The neighbours of the reused entry are untouched. */
            for (unsigned k = 0; k < 8; k++) {
                if (k == 3)
                    continue;
                struct ct_conn_info i = info_of(t, c[k]);
                CHECK_EQ_U(i.tuple[0].sport, 3000 + k);
                CHECK_EQ_U(i.l4state, CT_TCP_ESTABLISHED);
                if (acct) {
                    CHECK_EQ_U(i.packets[0], 2);
                    CHECK_EQ_U(i.packets[1], 2);
                    CHECK_EQ_U(i.bytes[0], 2 * (h + 20) + 100 + k);
                    CHECK_EQ_U(i.bytes[1], 2 * (h + 20));
                } else {
                    check_no_counters(&i);
                }
            }
            struct ct_table_stats s;
            CHECK_EQ_I(ct_table_stats(t, &s), 0);
            CHECK_EQ_U(s.connections, 8);
            CHECK_EQ_U(s.refused_full, 1);
            CHECK_EQ_U(s.expired_inline, 1);
            CHECK_EQ_U(s.deleted, 1);
            ct_table_destroy(t);
        }
    }
}

/* ---- shared tables ---------------------------------------------------------------------- */

static void test_shared(void)
{
    for (unsigned m = 0; m < 2; m++) {
        int acct = !(ACCT_MODES[m] & CT_TABLE_F_NO_ACCT);
        for (unsigned v6 = 0; v6 < 2; v6++) {
            struct ct_table *t =
                mk_table(64, ACCT_MODES[m] | CT_TABLE_F_SHARED | CT_TABLE_F_NO_CHECKSUM);
            if (!t)
                continue;
            CHECK_EQ_U(t->pool[v6].stride, want_stride(v6, ACCT_MODES[m]));
            struct ct_conn *c[3];
            for (unsigned i = 0; i < 3; i++) {
                struct ct_pkt u = base_pkt(v6, 17, 1, 2, (uint16_t)(40 + i), 53);
                c[i] = run1(t, udp_dgram(&u, 0, 30), SEC).conn;
                CHECK_PTR(c[i]);
                run1(t, udp_dgram(&u, 1, 50), SEC);
                run1(t, udp_dgram(&u, 1, 50), SEC);
            }
            for (unsigned i = 0; i < 3; i++) {
                struct ct_conn_info inf = info_of(t, c[i]);
                CHECK_EQ_U(inf.tuple[0].sport, 40 + i);
                CHECK(inf.status & CT_STATUS_SEEN_REPLY);
                if (acct) {
                    CHECK_EQ_U(inf.flags, CT_INFO_F_ACCT);
                    CHECK_EQ_U(inf.packets[0], 1);
                    CHECK_EQ_U(inf.packets[1], 2);
                    CHECK_EQ_U(inf.bytes[1], 2 * ((v6 ? 40u : 20u) + 8 + 50));
                } else {
                    check_no_counters(&inf);
                }
                if (i)
                    CHECK_EQ_I((const uint8_t *)c[i] - (const uint8_t *)c[i - 1],
                               (int64_t)want_stride(v6, ACCT_MODES[m]));
            }
            CHECK_EQ_I(ct_table_thread_offline(t), 0);
            ct_table_destroy(t);
        }
    }
}

int main(void)
{
    RUN(test_entry_strides);
    RUN(test_ids_whole_pools);
    RUN(test_ids_high);
    RUN(test_prefetch_lines);
    RUN(test_memory_bytes);
    RUN(test_counters);
    RUN(test_same_tracking);
    RUN(test_full_and_reuse);
    RUN(test_shared);
    return check_summary();
}
