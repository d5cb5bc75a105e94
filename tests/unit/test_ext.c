/*
 * Per-connection extensions (src/table/ext.c): registration and its
 * errors, slot layout, zeroing of every new connection's slots whatever
 * the id held before, both families, per-core and shared tables.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/expiry.h"
#include "ctrack/table.h"
#include "support/frames.h"
#include "table/ext.h"
#include "table/table.h"

static struct ct_table *mk_table(uint32_t max, uint32_t flags)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = max;
    cfg.flags = flags;
    int err;
    struct ct_table *t = ct_table_create(&cfg, &err);
    CHECK_PTR(t);
    return t;
}

static uint8_t FRAME[256];

/* A UDP frame of family v6 from port `sport`; its length. */
static size_t udp_frame(int v6, uint16_t sport)
{
    static const uint8_t A6[16] = IPV6_DOC_ADDR(1), B6[16] = IPV6_DOC_ADDR(2);
    uint8_t l4[16], ip[80];
    size_t l = udp_header(l4, sport, 53, 4);
    memset(l4 + l, 0x5a, 4);
    size_t n;
    if (v6) {
        n = ipv6_packet(ip, 17, A6, B6, l4, l + 4);
        ipv6_fill_transport_checksum(ip, 40, 17, NULL);
    } else {
        n = ipv4_packet(ip, 17, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, l4, l + 4);
        ipv4_fill_transport_checksum(ip);
    }
    return eth_frame(FRAME, NULL, 0, v6 ? 0x86dd : 0x0800, ip, n);
}

/* Creates the connection of a UDP packet; returns its id, or UINT32_MAX. */
static uint32_t create(struct ct_table *t, int v6, uint16_t sport, uint64_t now)
{
    size_t n = udp_frame(v6, sport);
    struct ct_frame fr = {.data = FRAME, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    struct ct_pkt p;
    struct ct_verdict v;
    CHECK_EQ_I(ct_process(t, &fr, &p, &v, now, CT_PROCESS_COMMIT), 0);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.flags & CT_VERDICT_CREATED);
    if (!v.conn)
        return UINT32_MAX;
    return ct_table_conn_id(t, v.conn);
}

/* 1 if the n bytes at p are all `b`. */
static int all(const void *p, uint8_t b, size_t n)
{
    const uint8_t *x = p;
    for (size_t i = 0; i < n; i++)
        if (x[i] != b)
            return 0;
    return 1;
}

static void test_register_errors(void)
{
    struct ct_table *t = mk_table(64, 0);
    CHECK(t->ext == NULL);
    CHECK_EQ_I(ct_table_ext_register(NULL, 8, 8), -EINVAL);
    CHECK_EQ_I(ct_table_ext_register(t, 0, 8), -EINVAL);
    CHECK_EQ_I(ct_table_ext_register(t, CT_EXT_SIZE_MAX + 1, 8), -EINVAL);
    CHECK_EQ_I(ct_table_ext_register(t, 8, 0), -EINVAL);
    CHECK_EQ_I(ct_table_ext_register(t, 8, 3), -EINVAL);
    CHECK_EQ_I(ct_table_ext_register(t, 8, CT_EXT_SIZE_MAX * 2), -EINVAL);
    CHECK(t->ext == NULL);
    for (int i = 0; i < CT_EXT_MAX; i++)
        CHECK_EQ_I(ct_table_ext_register(t, 1 + (size_t)i * 100, 1), i);
    CHECK_EQ_I(ct_table_ext_register(t, 8, 8), -ENOSPC);
    ct_table_destroy(t);

    /* Closed once an entry has been handed out, even one given back. */
    t = mk_table(64, 0);
    CHECK_EQ_I(ct_table_ext_register(t, 16, 8), 0);
    CHECK(create(t, 0, 1000, 1) != UINT32_MAX);
    CHECK_EQ_I(ct_table_ext_register(t, 16, 8), -EBUSY);
    CHECK_EQ_I(ct_table_flush(t, NULL, 2), 1);
    CHECK_EQ_I(ct_table_ext_register(t, 16, 8), -EBUSY);
    ct_table_destroy(t);
    t = mk_table(64, CT_TABLE_F_SHARED);
    CHECK(create(t, 1, 1000, 1) != UINT32_MAX);
    CHECK_EQ_I(ct_table_ext_register(t, 16, 8), -EBUSY);
    ct_table_destroy(t);
}

/* Slots are `align`-aligned, `stride` apart, disjoint per family and
   extension, and counted in the table's memory. */
static void test_layout(void)
{
    struct ct_table *t = mk_table(100, 0);
    struct ct_table_stats before, after;
    ct_table_stats(t, &before);
    CHECK_EQ_I(ct_table_ext_register(t, 24, 8), 0);
    CHECK_EQ_I(ct_table_ext_register(t, 40, 64), 1);
    CHECK_EQ_I(ct_table_ext_register(t, 3, 1), 2);
    ct_table_stats(t, &after);
    CHECK(after.memory_bytes >= before.memory_bytes + 2 * (size_t)t->pool[0].cap * (24 + 64 + 3));
    CHECK_EQ_U(t->ext->area[0].stride, 24);
    CHECK_EQ_U(t->ext->area[1].stride, 64);
    CHECK_EQ_U(t->ext->area[2].stride, 3);
    for (uint32_t idx = 0; idx < t->pool[0].cap; idx += 7)
        for (unsigned v6 = 0; v6 < 2; v6++) {
            uint32_t id = idx | (v6 ? CT_ID_V6 : 0);
            uintptr_t a = (uintptr_t)ct_table_ext_get(t, id, 0),
                      b = (uintptr_t)ct_table_ext_get(t, id, 1);
            CHECK_EQ_U(a % 8, 0);
            CHECK_EQ_U(b % 64, 0);
            CHECK(ct_table_ext_get(t, id, 0) != ct_table_ext_get(t, id ^ CT_ID_V6, 0));
            if (idx)
                CHECK_EQ_U(a - (uintptr_t)ct_table_ext_get(t, id - 1, 0), 24);
        }
    /* The last id of each pool has its whole slot in the mapping. */
    uint32_t last = t->pool[1].cap - 1;
    memset(ct_table_ext_get(t, last | CT_ID_V6, 1), 0xee, 40);
    memset(ct_table_ext_get(t, last, 2), 0xee, 3);
    ct_table_destroy(t);
}

/* Dirties every slot of every id, so that only zeroing at creation can
   make a new connection's slots zero. */
static void dirty_all(struct ct_table *t)
{
    for (unsigned e = 0; e < t->ext->n; e++)
        for (unsigned v6 = 0; v6 < 2; v6++)
            memset(t->ext->area[e].base[v6], 0xa5,
                   (size_t)t->pool[v6].cap * t->ext->area[e].stride);
}

/*
 * Every new connection finds its slots zeroed, in both families, whether
 * its entry is fresh or reused; the slots of other live connections are
 * left alone.
 */
static void zeroing(uint32_t flags)
{
    struct ct_table *t = mk_table(16, flags);
    CHECK_EQ_I(ct_table_ext_register(t, 24, 8), 0);
    CHECK_EQ_I(ct_table_ext_register(t, 100, 32), 1);
    dirty_all(t);
    uint64_t now = 1000;
    uint32_t ids[2][8];
    for (int round = 0; round < 4; round++) {
        for (int v6 = 0; v6 < 2; v6++)
            for (uint16_t i = 0; i < 8; i++) {
                uint32_t id = create(t, v6, (uint16_t)(2000 + i), now);
                ids[v6][i] = id;
                if (id == UINT32_MAX)
                    continue;
                CHECK_EQ_U((id & CT_ID_V6) != 0, (unsigned)v6);
                CHECK(all(ct_table_ext_get(t, id, 0), 0, 24));
                CHECK(all(ct_table_ext_get(t, id, 1), 0, 100));
                /* The module writes its state. */
                memset(ct_table_ext_get(t, id, 0), 0x11 + i, 24);
                memset(ct_table_ext_get(t, id, 1), 0x22 + i, 100);
            }
        /* Creating the others left each connection's slots as written. */
        for (int v6 = 0; v6 < 2; v6++)
            for (uint16_t i = 0; i < 8; i++)
                if (ids[v6][i] != UINT32_MAX) {
                    CHECK(all(ct_table_ext_get(t, ids[v6][i], 0), (uint8_t)(0x11 + i), 24));
                    CHECK(all(ct_table_ext_get(t, ids[v6][i], 1), (uint8_t)(0x22 + i), 100));
                }
        /* End them all; the next round reuses their entries. */
        now += 1000;
        CHECK_EQ_I(ct_table_flush(t, NULL, now), 16);
        dirty_all(t);
        now += 1000;
    }
    struct ct_table_stats st;
    ct_table_stats(t, &st);
    CHECK_EQ_U(st.created, 4 * 16);
    ct_table_destroy(t);
}

static void test_zeroing(void)
{
    zeroing(0);
}

static void test_zeroing_no_acct(void)
{
    zeroing(CT_TABLE_F_NO_ACCT);
}

static void test_zeroing_shared(void)
{
    zeroing(CT_TABLE_F_SHARED);
}

/* A reused id gets zeroed slots: the free list hands the last freed entry
   out first (table.h), so the id comes back at once. */
static void test_reuse_same_id(void)
{
    for (int v6 = 0; v6 < 2; v6++) {
        struct ct_table *t = mk_table(8, 0);
        CHECK_EQ_I(ct_table_ext_register(t, 64, 64), 0);
        uint32_t id = create(t, v6, 7000, 10);
        memset(ct_table_ext_get(t, id, 0), 0xff, 64);
        CHECK_EQ_I(ct_table_flush(t, NULL, 20), 1);
        CHECK_EQ_U(create(t, v6, 7001, 30), id);
        CHECK(all(ct_table_ext_get(t, id, 0), 0, 64));
        ct_table_destroy(t);
    }
}

int main(void)
{
    RUN(test_register_errors);
    RUN(test_layout);
    RUN(test_zeroing);
    RUN(test_zeroing_no_acct);
    RUN(test_zeroing_shared);
    RUN(test_reuse_same_id);
    return check_summary();
}
