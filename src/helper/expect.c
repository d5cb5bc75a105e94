/*
 * The expectation table: a bounded array of expectations chained into a
 * keyed hash, with Linux's rules for adding, matching, evicting and expiring
 * them (nf_conntrack_expect.c). Design in helper/helper.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/siphash.h"
#include "helper/helper.h"
#include "table/ext.h"
#include "table/table.h"

struct ct_helper_conn *ct_helper_conn_state(const struct ct_table *t, const struct ct_conn *c)
{
    return ct_table_ext_get(t, ct_table_conn_id(t, c), (unsigned)t->helpers->ext_id);
}

/* The key an expectation is hashed and compared on: the tuple without its
 * source port, which every expectation leaves open. */
static void expect_key(const struct ct_tuple *tu, struct ct_tuple *k)
{
    *k = *tu;
    k->sport = 0;
}

static uint32_t expect_bucket(const struct ct_helper_table *h, const struct ct_tuple *k)
{
    return (uint32_t)ct_siphash13(h->k0, h->k1, k, sizeof(*k)) & h->mask;
}

/* The most expectations one master of this helper may hold. */
static uint32_t max_expected(unsigned helper)
{
    return helper == CT_HELPER_TFTP ? CT_HELPER_TFTP_MAX_EXPECTED : CT_HELPER_FTP_MAX_EXPECTED;
}

void ct_helper_expect_remove(struct ct_table *t, uint32_t i, uint64_t *cause)
{
    struct ct_helper_table *h = t->helpers;
    struct ct_expect *e = &h->e[i];
    struct ct_tuple k;
    expect_key(&e->tuple, &k);
    uint32_t *link = &h->bucket[expect_bucket(h, &k)];
    while (*link != i + 1)
        link = &h->e[*link - 1].next;
    *link = e->next;
    struct ct_helper_conn *mc = ct_helper_conn_state(t, ct_table_conn_at(t, e->master));
    if (mc->expecting)
        mc->expecting--;
    e->live = 0;
    e->next = h->free_head;
    h->free_head = i + 1;
    h->count--;
    if (cause)
        (*cause)++;
}

/* Removes every expectation past its deadline (a full table's last
 * resort before refusing a new one). */
static void expire_all(struct ct_table *t, uint64_t now)
{
    struct ct_helper_table *h = t->helpers;
    for (uint32_t i = 0; i < h->hiwater && h->count; i++)
        if (h->e[i].live && now >= h->e[i].expires)
            ct_helper_expect_remove(t, i, &h->st.expect_expired);
}

uint32_t ct_helper_expect_find(struct ct_table *t, const struct ct_tuple *tu, uint64_t now)
{
    struct ct_helper_table *h = t->helpers;
    struct ct_tuple k;
    expect_key(tu, &k);
    uint32_t link = h->bucket[expect_bucket(h, &k)];
    while (link != 0) {
        uint32_t i = link - 1;
        struct ct_expect *e = &h->e[i];
        link = e->next;
        if (now >= e->expires)
            ct_helper_expect_remove(t, i, &h->st.expect_expired);
        else if (memcmp(&e->tuple, &k, sizeof(k)) == 0)
            return i;
    }
    return CT_EXPECT_NONE;
}

int ct_helper_expect_add(struct ct_table *t, struct ct_conn *master, unsigned helper,
                         const struct ct_tuple *tuple, uint64_t now)
{
    struct ct_helper_table *h = t->helpers;
    uint32_t mid = ct_table_conn_id(t, master);
    struct ct_tuple k;
    expect_key(tuple, &k);

    /* The same expectation again: the same master's replaces it (a
     * retransmitted command), another master's refuses the new one (Linux:
     * -EALREADY). Every expectation here has the same mask (source port
     * open), so this is also Linux's clash test. */
    uint32_t i = ct_helper_expect_find(t, &k, now);
    if (i != CT_EXPECT_NONE) {
        if (h->e[i].master != mid) {
            h->st.expect_refused++;
            return -EBUSY;
        }
        ct_helper_expect_remove(t, i, NULL);
    }

    /* The master's quota: evict its oldest (evict_oldest_expect()). */
    struct ct_helper_conn *mc = ct_helper_conn_state(t, master);
    if (mc->expecting >= max_expected(helper)) {
        uint32_t oldest = CT_EXPECT_NONE;
        for (uint32_t j = 0; j < h->hiwater; j++)
            if (h->e[j].live && h->e[j].master == mid &&
                (oldest == CT_EXPECT_NONE || h->e[j].serial < h->e[oldest].serial))
                oldest = j;
        if (oldest != CT_EXPECT_NONE)
            ct_helper_expect_remove(t, oldest, &h->st.expect_evicted);
    }

    if (h->count >= h->max)
        expire_all(t, now);
    if (h->count >= h->max) {
        h->st.expect_refused++;
        return -EMFILE;
    }
    if (h->free_head) {
        i = h->free_head - 1;
        h->free_head = h->e[i].next;
    } else {
        i = h->hiwater++; /* count < max and no freed slot: the tail has room */
    }
    struct ct_expect *e = &h->e[i];
    e->tuple = k;
    e->expires = now + CT_HELPER_EXPECT_TIMEOUT_NS;
    e->serial = ++h->serial;
    e->master = mid;
    e->helper = (uint8_t)helper;
    e->live = 1;
    uint32_t b = expect_bucket(h, &k);
    e->next = h->bucket[b];
    h->bucket[b] = i + 1;
    h->count++;
    mc->expecting++;
    h->st.expect_created++;
    return 0;
}

CT_EXPORT int ct_helper_expect_foreach(struct ct_table *t, uint64_t now,
                                       int (*fn)(const struct ct_expect_info *e, void *arg),
                                       void *arg)
{
    if (!t || !fn)
        return -EINVAL;
    struct ct_helper_table *h = t->helpers;
    if (!h)
        return 0;
    expire_all(t, now);
    int n = 0;
    for (uint32_t i = 0; i < h->hiwater; i++) {
        const struct ct_expect *e = &h->e[i];
        if (!e->live)
            continue;
        struct ct_expect_info info;
        memset(&info, 0, sizeof(info));
        info.tuple = e->tuple;
        ct_table_conn_tuple(t, ct_table_conn_at(t, e->master), CT_DIR_ORIGINAL, &info.master);
        info.expires = e->expires;
        info.helper = e->helper;
        info.flags = CT_EXPECT_F_SPORT_ANY;
        n++;
        if (fn(&info, arg))
            break;
    }
    return n;
}

CT_EXPORT int ct_helper_stats(const struct ct_table *t, struct ct_helper_stats *out)
{
    if (!t || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (!t->helpers)
        return -ENOENT;
    *out = t->helpers->st;
    out->expectations = t->helpers->count;
    out->max_expect = t->helpers->max;
    return 0;
}

CT_EXPORT int ct_helper_enable(struct ct_table *t, const struct ct_helper_config *cfg)
{
    if (!t)
        return -EINVAL;
    if (cfg)
        for (unsigned i = 0; i < CT_ARRAY_SIZE(cfg->reserved); i++)
            if (cfg->reserved[i])
                return -EINVAL;
    if (t->helpers)
        return 0;
    if (t->sh)
        return -ENOTSUP;
    uint32_t max = cfg ? cfg->max_expect : 0;
    if (max == 0) {
        /* nf_conntrack_expect_init(): four per bucket of a hash sized at
         * 1/256 of the connection table's. */
        uint32_t hsize = t->max_connections / 256;
        max = 4 * (hsize ? hsize : 1);
    }
    if (max > (1u << 24))
        return -EINVAL;
    int ext = ct_table_ext_register(t, sizeof(struct ct_helper_conn),
                                    _Alignof(struct ct_helper_conn));
    if (ext < 0)
        return ext;
    struct ct_helper_table *h = calloc(1, sizeof(*h));
    uint32_t nb = 1;
    while (nb < max)
        nb <<= 1;
    if (h) {
        h->bucket = calloc(nb, sizeof(*h->bucket));
        h->e = calloc(max, sizeof(*h->e));
    }
    if (!h || !h->bucket || !h->e) {
        /* The extension stays registered (there is no unregistering); a
         * later call registers another, within CT_EXT_MAX. */
        if (h) {
            free(h->bucket);
            free(h->e);
        }
        free(h);
        return -ENOMEM;
    }
    h->max = max;
    h->mask = nb - 1;
    h->ext_id = ext;
    /* A key of its own, derived from the table's secret, so that the
     * expectation hash does not reveal the index's. */
    h->k0 = ct_siphash13(t->k0, t->k1, "expect-k0", 9);
    h->k1 = ct_siphash13(t->k0, t->k1, "expect-k1", 9);
    t->helpers = h;
    return 0;
}

void ct_helper_destroy(struct ct_table *t)
{
    if (!t->helpers)
        return;
    free(t->helpers->bucket);
    free(t->helpers->e);
    free(t->helpers);
    t->helpers = NULL;
}
