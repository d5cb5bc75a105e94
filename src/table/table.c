/*
 * The connection table: configuration, creation, keys, the hash index's
 * writers for a table of one thread (bucketised linear probing with a cap),
 * insertion, removal, early drop and iteration. The design and its
 * reasoning are in table.h, index.h and pool.h.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "ctrack/table.h"
#include "events/events.h"
#include "helper/helper.h"
#include "nat/nat.h"
#include "rules/rules.h"
#include "table/ext.h"
#include "table/index.h"
#include "table/pool.h"
#include "table/shared.h"
#include "table/table.h"
#include "template/template.h"

#define CT_MAX_CONNECTIONS_LIMIT (1u << 30)

/* ---- configuration --------------------------------------------------------- */

CT_EXPORT void ct_table_config_init(struct ct_table_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_connections = 65536;
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        cfg->timeouts[i] = ct_timeout_default(i);
    cfg->tcp_max_retrans = 3;
    cfg->expiry_resolution_ns = CT_EXPIRY_DEFAULT_RESOLUTION_NS;
    cfg->sweep_min_interval_ns = CT_SWEEP_DEFAULT_MIN_INTERVAL_NS;
    cfg->sweep_interval_step_ns = CT_SWEEP_DEFAULT_INTERVAL_STEP_NS;
    cfg->sweep_max_interval_ns = CT_SWEEP_DEFAULT_MAX_INTERVAL_NS;
    cfg->sweep_budget = CT_SWEEP_DEFAULT_BUDGET;
    cfg->sweep_expired_pct = CT_SWEEP_DEFAULT_EXPIRED_PCT;
}

/* A configured value, or its default when 0. */
static uint64_t or_default(uint64_t v, uint64_t def)
{
    return v ? v : def;
}

static int config_check(const struct ct_table_config *cfg)
{
    if (!cfg)
        return -EINVAL;
    if (cfg->max_connections == 0 || cfg->max_connections > CT_MAX_CONNECTIONS_LIMIT)
        return -EINVAL;
    if (cfg->flags & ~(uint32_t)CT_TABLE_F_ALL)
        return -EINVAL;
    for (unsigned i = 0; i < CT_ARRAY_SIZE(cfg->reserved8); i++)
        if (cfg->reserved8[i])
            return -EINVAL;
    for (unsigned i = 0; i < CT_ARRAY_SIZE(cfg->reserved); i++)
        if (cfg->reserved[i])
            return -EINVAL;
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        if (cfg->timeouts[i] == 0)
            return -EINVAL;
    if (or_default(cfg->sweep_min_interval_ns, CT_SWEEP_DEFAULT_MIN_INTERVAL_NS) >
        or_default(cfg->sweep_max_interval_ns, CT_SWEEP_DEFAULT_MAX_INTERVAL_NS))
        return -EINVAL;
    if (cfg->sweep_expired_pct > 100)
        return -EINVAL;
    return 0;
}

static struct ct_conn *wheel_resolve(void *ctx, uint32_t id)
{
    return ct_table_conn_at(ctx, id);
}

/* ---- memory ---------------------------------------------------------------- */

void *ct_table_map(size_t len, int prefault)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* Fewer TLB misses on the random accesses of the index and the pools. */
    if (len >= (2u << 20))
        (void)madvise(p, len, MADV_HUGEPAGE);
#endif
    if (prefault) {
        long pg = sysconf(_SC_PAGESIZE);
        size_t step = pg > 0 ? (size_t)pg : 4096;
        volatile uint8_t *b = p;
        for (size_t off = 0; off < len; off += step)
            b[off] = 0;
    }
    return p;
}

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

/* The settings that come straight from the configuration: timeouts and
 * TCP policy, the timer wheel's filing horizon and resolution, the sweep. */
static void table_init_settings(struct ct_table *t, const struct ct_table_config *cfg)
{
    t->flags = cfg->flags;
    t->max_connections = cfg->max_connections;
    ct_proto_cfg_from_config(&t->cfg, cfg->timeouts, cfg->flags, cfg->tcp_max_retrans);
    /* Timeout policy 0 is the table's own settings; ct_timeout_policy_add()
     * points the others at theirs. */
    for (unsigned i = 0; i < CT_ARRAY_SIZE(t->policy_cfg); i++)
        t->policy_cfg[i] = &t->cfg;
    uint64_t unack = t->cfg.timeout_ns[CT_TIMEOUT_TCP_UNACK];
    uint64_t retrans = t->cfg.timeout_ns[CT_TIMEOUT_TCP_RETRANS];
    t->timer_cap = unack < retrans ? unack : retrans;
    struct ct_sweep *sw = &t->sweep;
    sw->min_interval = or_default(cfg->sweep_min_interval_ns, CT_SWEEP_DEFAULT_MIN_INTERVAL_NS);
    sw->step = or_default(cfg->sweep_interval_step_ns, CT_SWEEP_DEFAULT_INTERVAL_STEP_NS);
    sw->max_interval = or_default(cfg->sweep_max_interval_ns, CT_SWEEP_DEFAULT_MAX_INTERVAL_NS);
    sw->budget = (uint32_t)or_default(cfg->sweep_budget, CT_SWEEP_DEFAULT_BUDGET);
    sw->expired_pct = (uint32_t)or_default(cfg->sweep_expired_pct, CT_SWEEP_DEFAULT_EXPIRED_PCT);
    sw->interval = sw->min_interval;
    (void)ct_wheel_init(&t->wheel, 0,
                        or_default(cfg->expiry_resolution_ns, CT_EXPIRY_DEFAULT_RESOLUTION_NS),
                        wheel_resolve, t);
}

/*
 * The table's 128-bit secret (the configured one with CT_TABLE_F_FIXED_KEY,
 * else from getrandom()) and the NH key drawn from it (index.h). Returns 0
 * or -EIO when the kernel gives no random bytes.
 */
static int table_init_key(struct ct_table *t, const struct ct_table_config *cfg)
{
    if (cfg->flags & CT_TABLE_F_FIXED_KEY) {
        t->k0 = cfg->hash_key[0];
        t->k1 = cfg->hash_key[1];
    } else {
        uint64_t key[2];
        size_t got = 0;
        while (got < sizeof(key)) {
            ssize_t r = getrandom((uint8_t *)key + got, sizeof(key) - got, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -EIO;
            got += (size_t)r;
        }
        t->k0 = key[0];
        t->k1 = key[1];
    }
    /* The NH key: ten 32-bit words drawn from the 128-bit secret with
     * SipHash-1-3 as a keyed generator, so the configured key still decides
     * every bucket. */
    for (unsigned i = 0; i < 5; i++) {
        uint64_t ctr = i, w = ct_siphash13(t->k0, t->k1, &ctr, sizeof(ctr));
        t->nh[2 * i] = (uint32_t)w;
        t->nh[2 * i + 1] = (uint32_t)(w >> 32);
    }
    return 0;
}

/*
 * The index: enough buckets that a full table fills CT_INDEX_LOAD_PCT of the
 * slots (two tuples per connection); any count, not a power of two
 * (index.h). Returns 0 or -ENOMEM.
 */
static int table_init_index(struct ct_table *t, int prefault)
{
    uint64_t per_bucket = CT_BUCKET_SLOTS * CT_INDEX_LOAD_PCT; /* tuples per bucket, x 100 */
    uint64_t want = ((uint64_t)t->max_connections * 2 * 100 + per_bucket - 1) / per_bucket;
    uint64_t nb = want ? want : 1;
    t->nbuckets = (uint32_t)nb;
    t->probe_max = nb < CT_PROBE_MAX ? (uint32_t)nb : CT_PROBE_MAX;
    t->index_bytes = round_up((size_t)nb * sizeof(struct ct_bucket), 4096);
    t->buckets = ct_table_map(t->index_bytes, prefault);
    return t->buckets ? 0 : -ENOMEM;
}

/*
 * The entry pools (pool.h), with a shared table's thread slots and locks:
 * room for the live connections plus the entries a call may retire, and in a
 * shared table for the retired entries that wait for reclamation and the
 * entries that the threads' magazines hold (shared.h). Entry sizes follow
 * the accounting (conn.h): the counters, when kept, take 32 bytes after the
 * body. Returns 0 or -ENOMEM.
 */
static int table_init_pools(struct ct_table *t, int prefault)
{
    uint64_t cap = (uint64_t)t->max_connections + CT_RETIRE_MAX;
    if (t->flags & CT_TABLE_F_SHARED) {
        cap += CT_SHARED_SPARE + (uint64_t)CT_SHARED_THREADS * CT_SHARED_MAG;
        int e = ct_shared_create(t);
        if (e)
            return e;
    }
    if (cap > CT_MAX_CONNECTIONS_LIMIT)
        cap = CT_MAX_CONNECTIONS_LIMIT;
    int acct = (t->flags & CT_TABLE_F_NO_ACCT) == 0;
    ct_pool_init(&t->pool[0], (uint32_t)cap, (uint32_t)CT_ENTRY4_SIZE(acct),
                 offsetof(struct ct_conn4, c));
    ct_pool_init(&t->pool[1], (uint32_t)cap, (uint32_t)CT_ENTRY6_SIZE(acct),
                 offsetof(struct ct_conn6, c));
    for (unsigned i = 0; i < 2; i++) {
        t->pool[i].base = ct_table_map(t->pool[i].map_len, prefault);
        if (!t->pool[i].base)
            return -ENOMEM;
    }
    return 0;
}

CT_EXPORT struct ct_table *ct_table_create(const struct ct_table_config *cfg, int *err)
{
    struct ct_table *t = NULL;
    int e = config_check(cfg);
    if (e)
        goto fail;
    t = aligned_alloc(CT_CACHE_LINE, round_up(sizeof(*t), CT_CACHE_LINE));
    if (!t) {
        e = -ENOMEM;
        goto fail;
    }
    memset(t, 0, sizeof(*t));
    int prefault = (cfg->flags & CT_TABLE_F_PREFAULT) != 0;
    table_init_settings(t, cfg);
    e = table_init_key(t, cfg);
    if (!e)
        e = table_init_index(t, prefault);
    if (!e)
        e = table_init_pools(t, prefault);
    if (e)
        goto fail;
    if (err)
        *err = 0;
    return t;

fail:
    ct_table_destroy(t);
    if (err)
        *err = e;
    return NULL;
}

CT_EXPORT void ct_table_destroy(struct ct_table *t)
{
    if (!t)
        return;
    if (t->buckets)
        munmap(t->buckets, t->index_bytes);
    for (unsigned i = 0; i < 2; i++)
        if (t->pool[i].base)
            munmap(t->pool[i].base, t->pool[i].map_len);
    if (t->zones)
        munmap(t->zones, CT_ZONES * sizeof(struct ct_zone_slot));
    if (t->sh)
        ct_shared_destroy(t);
    ct_helper_destroy(t);
    ct_event_free(t);
    ct_table_ext_destroy(t);
    ct_tmpl_destroy(t);
    ct_rules_unbind(t);
    ct_nat_destroy(t);
    free(t);
}

int ct_table_set_hash_hook(struct ct_table *t, ct_table_hash_fn fn)
{
    if (t->connections || t->nretired)
        return -EBUSY;
    t->hash_hook = fn;
    return 0;
}

/* ---- keys ------------------------------------------------------------------ */

static int is_icmp_query_proto(uint8_t l3, uint8_t proto)
{
    return (l3 == CT_L3_IPV4 && proto == CT_IPPROTO_ICMP) ||
           (l3 == CT_L3_IPV6 && proto == CT_IPPROTO_ICMPV6);
}

void ct_table_reply_key4_slow(const struct ct_table *t, const struct ct_conn *c,
                              struct ct_key4 *out)
{
    const struct ct_key4 *k = ct_conn_key4((struct ct_conn *)c);
    struct ct_tuple o, r;
    ct_key4_to_tuple(&o, k);
    if (ct_tuple_invert(&o, &r) != 0)
        r = o; /* cannot happen for a tracked query; keep a defined key */
    ct_key4_from_tuple(out, &r);
    out->zone = c->zone_reply;
}

void ct_table_reply_key6(const struct ct_table *t, const struct ct_conn *c, struct ct_key6 *out)
{
    if (CT_UNLIKELY(t->nat != NULL)) {
        *out = ct_nat_slot_of(t, c)->k6;
        return;
    }
    const struct ct_key6 *k = ct_conn_key6((struct ct_conn *)c);
    if (CT_UNLIKELY(is_icmp_query_proto(CT_L3_IPV6, k->proto))) {
        struct ct_tuple o, r;
        memcpy(&o, k, sizeof(o));
        if (ct_tuple_invert(&o, &r) != 0)
            r = o;
        memcpy(out, &r, sizeof(*out));
    } else {
        memcpy(out->src, k->dst, 16);
        memcpy(out->dst, k->src, 16);
        out->sport = k->dport;
        out->dport = k->sport;
        out->l3 = CT_L3_IPV6;
        out->proto = k->proto;
    }
    out->zone = c->zone_reply;
}

void ct_table_conn_tuple(const struct ct_table *t, const struct ct_conn *c, unsigned dir,
                         struct ct_tuple *out)
{
    if (ct_conn_is_v6(c)) {
        struct ct_key6 k;
        if (dir == CT_DIR_ORIGINAL)
            k = *ct_conn_key6((struct ct_conn *)c);
        else
            ct_table_reply_key6(t, c, &k);
        memcpy(out, &k, sizeof(*out));
    } else {
        struct ct_key4 k;
        if (dir == CT_DIR_ORIGINAL)
            k = *ct_conn_key4((struct ct_conn *)c);
        else
            ct_table_reply_key4(t, c, &k);
        ct_key4_to_tuple(out, &k);
    }
}

/* ---- the index ------------------------------------------------------------- */

int ct_table_insert(struct ct_table *t, struct ct_conn *c, uint64_t h0)
{
    uint32_t id = ct_table_conn_id(t, c);
    assert(h0 == ct_table_conn_hash(t, c, CT_DIR_ORIGINAL)); /* debug builds: the caller's hash is c's */
    uint64_t h1 = ct_table_conn_hash(t, c, CT_DIR_REPLY);
    if (ct_index_put(t, CT_VIEW_DIRECT, h0, id << 1 | CT_DIR_ORIGINAL) != 0) {
        CT_STAT_INC(t, probe_limit);
        return -ENOSPC;
    }
    if (ct_index_put(t, CT_VIEW_DIRECT, h1, id << 1 | CT_DIR_REPLY) != 0) {
        (void)ct_index_del(t, CT_VIEW_DIRECT, h0, id << 1 | CT_DIR_ORIGINAL);
        CT_STAT_INC(t, probe_limit);
        return -ENOSPC;
    }
    c->status |= CT_STATUS_CONFIRMED;
    t->connections++;
    if (t->connections > t->peak_connections)
        t->peak_connections = t->connections;
    CT_STAT_INC(t, created);
    if (CT_UNLIKELY(t->zones != NULL))
        ct_zone_count_add(t->zones, c);
    ct_table_timer_file(t, c);
    return 0;
}

int ct_table_insert_shared(struct ct_table *t, struct ct_conn *c, uint64_t h_orig,
                           struct ct_conn **existing, unsigned *existing_dir)
{
    c->status |= CT_STATUS_CONFIRMED; /* readers look only under the connection lock we hold */
    int r = ct_shared_index_insert(t, c, h_orig, existing, existing_dir);
    if (r) {
        c->status &= (uint16_t)~CT_STATUS_CONFIRMED;
        if (r == -ENOSPC)
            CT_STAT_INC(t, probe_limit);
        return r;
    }
    /* The caller counted it in t->connections when it took the entry. */
    uint32_t n = __atomic_load_n(&t->connections, __ATOMIC_RELAXED);
    uint32_t peak = __atomic_load_n(&t->peak_connections, __ATOMIC_RELAXED);
    while (n > peak && !__atomic_compare_exchange_n(&t->peak_connections, &peak, n, 1,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    CT_STAT_INC(t, created);
    ct_spin_lock(&t->sh->wheel_lock);
    ct_shared_timer_file(t, c);
    ct_spin_unlock(&t->sh->wheel_lock);
    return 0;
}

/* Files c in w, t's wheel, at its real deadline. */
static void timer_file(struct ct_table *t, struct ct_wheel *w, struct ct_conn *c)
{
    /* An empty wheel is re-based at the connection's time, so that its
     * current tick is near the caller's clock (see table.h). */
    if (CT_UNLIKELY(ct_wheel_count(w) == 0))
        (void)ct_wheel_init(w, c->last_seen, w->resolution, wheel_resolve, t);
    (void)ct_wheel_insert(w, ct_table_conn_id(t, c), c, ct_table_file_deadline(t, c, c->last_seen));
}

void ct_table_timer_file(struct ct_table *t, struct ct_conn *c)
{
    timer_file(t, &t->wheel, c);
}

void ct_shared_timer_file(struct ct_table *t, struct ct_conn *c)
{
    timer_file(t, ct_shared_wheel(t), c);
}

void ct_table_timer_refile(struct ct_table *t, struct ct_conn *c)
{
    if (t->sh) {
        ct_spin_lock(&t->sh->wheel_lock);
        ct_shared_timer_file(t, c);
        ct_spin_unlock(&t->sh->wheel_lock);
    } else {
        timer_file(t, &t->wheel, c);
    }
}

/* A table of one thread: unlink both tuples, unfile, count. */
static void conn_unlink_index(struct ct_table *t, struct ct_conn *c)
{
    uint32_t id = ct_table_conn_id(t, c);
    for (unsigned d = 0; d < 2; d++)
        (void)ct_index_del(t, CT_VIEW_DIRECT, ct_table_conn_hash(t, c, d), id << 1 | d);
    /* Unfile before the entry can reach the free list, which reuses timer_next. */
    ct_wheel_remove(&t->wheel, c);
    if (CT_UNLIKELY(t->zones != NULL))
        ct_zone_count_sub(t->zones, c);
    /* A helper's master takes its expectations with it. */
    if (CT_UNLIKELY(c->status & CT_STATUS_HELPER))
        ct_helper_conn_end(t, c);
    c->status |= CT_STATUS_DYING;
    t->connections--;
}

/* Everything of ending a live connection except what happens to its entry. */
static void conn_unlink(struct ct_table *t, struct ct_conn *c, enum ct_remove_cause cause)
{
    /* NAT: off its source's list first, before anything can reuse it. */
    if (CT_UNLIKELY(t->nat != NULL))
        ct_nat_conn_gone(t, c);
    /* Reported while still intact, so the callback reads the final state. */
    if (t->destroy_fn)
        t->destroy_fn(t->destroy_arg, t, c, (unsigned)cause,
                      __atomic_load_n(&t->clock, __ATOMIC_RELAXED));
    if (CT_UNLIKELY(t->ev != NULL))
        ct_event_destroy(t, c, (unsigned)cause);
    if (t->sh) {
        /* Shared: the caller holds c's lock; buckets, then the wheel. */
        ct_shared_index_remove(t, c);
        ct_spin_lock(&t->sh->wheel_lock);
        ct_wheel_remove(ct_shared_wheel(t), c);
        ct_spin_unlock(&t->sh->wheel_lock);
        c->status |= CT_STATUS_DYING;
        __atomic_sub_fetch(&t->connections, 1, __ATOMIC_RELAXED);
    } else {
        conn_unlink_index(t, c);
    }
    CT_STAT_INC(t, deleted);
    switch (cause) {
    case CT_RM_EXPIRED:
        CT_STAT_INC(t, expired);
        break;
    case CT_RM_REPLACED:
        CT_STAT_INC(t, replaced);
        break;
    case CT_RM_EARLY_DROP:
        CT_STAT_INC(t, early_drop);
        break;
    case CT_RM_DELETE:
        CT_STAT_INC(t, closed);
        break;
    case CT_RM_FLUSHED:
        CT_STAT_INC(t, flushed);
        break;
    case CT_RM_DRAINED:
        CT_STAT_INC(t, drained);
        break;
    }
}

static int conn_live(const struct ct_conn *c)
{
    return (c->status & (CT_STATUS_CONFIRMED | CT_STATUS_DYING)) == CT_STATUS_CONFIRMED;
}

void ct_table_conn_remove(struct ct_table *t, struct ct_conn *c, enum ct_remove_cause cause)
{
    if (!conn_live(c))
        return;
    conn_unlink(t, c, cause);
    if (t->sh) {
        ct_shared_retire(t, c);
        return;
    }
    if (t->nretired == CT_RETIRE_MAX)
        ct_table_reclaim(t); /* never within one call: a call retires fewer */
    t->retired[t->nretired++] = ct_table_conn_id(t, c);
}

void ct_table_conn_end(struct ct_table *t, struct ct_conn *c, enum ct_remove_cause cause)
{
    if (!conn_live(c))
        return;
    conn_unlink(t, c, cause);
    if (t->sh)
        ct_shared_retire(t, c); /* other threads may still read it */
    else
        ct_table_conn_free(t, c);
}

/* ---- early drop ------------------------------------------------------------ */

/*
 * One bucket of early drop. Every connection indexed there is looked at in
 * slot order; the first one past its deadline is removed as EXPIRED (it had
 * timed out and nothing reaped it yet: not an eviction). Otherwise a table
 * of one thread evicts the unassured connection seen longest ago. A shared
 * table reads the bucket through a seqlocked copy and looks at a connection
 * only once its lock was taken without waiting (the caller may hold another
 * connection's lock, and lock order forbids waiting), and only while it is
 * live; since it cannot hold every candidate's lock at once, it evicts the
 * first unassured connection instead of the oldest. Returns 1 if a
 * connection was removed.
 */
static int early_drop_bucket(struct ct_table *t, uint32_t b, uint64_t now)
{
    const int shared = t->sh != NULL;
    struct ct_bucket snap;
    const struct ct_bucket *bk =
        ct_bucket_view(t, b, shared ? CT_VIEW_SNAPSHOT : CT_VIEW_DIRECT, &snap);
    struct ct_conn *victim = NULL;
    for (unsigned s = 0; s < CT_BUCKET_SLOTS; s++) {
        if (bk->sig[s] == 0)
            continue;
        struct ct_conn *c = ct_table_ref_conn(t, bk->ref[s]);
        if (shared && !ct_conn_trylock(c))
            continue;
        int expired = 0, evict = 0;
        if (!shared || conn_live(c)) {
            expired = ct_table_conn_expires(t, c) <= now;
            if (!expired && !(c->status & CT_STATUS_ASSURED)) {
                if (shared)
                    evict = 1;
                else if (!victim || c->last_seen < victim->last_seen)
                    victim = c;
            }
        }
        if (expired) {
            CT_STAT_INC(t, expired_inline);
            ct_table_conn_remove(t, c, CT_RM_EXPIRED);
        } else if (evict) {
            ct_table_conn_remove(t, c, CT_RM_EARLY_DROP);
        }
        if (shared)
            ct_conn_unlock(c);
        if (expired || evict)
            return 1;
    }
    if (victim) {
        ct_table_conn_remove(t, victim, CT_RM_EARLY_DROP);
        return 1;
    }
    return 0;
}

int ct_table_early_drop(struct ct_table *t, uint64_t h, uint64_t now)
{
    uint32_t b = ct_table_bucket_of(t, h);
    uint32_t range = t->nbuckets < CT_EARLY_DROP_RANGE ? t->nbuckets : CT_EARLY_DROP_RANGE;
    CT_STAT_INC(t, early_drop_scans);
    for (uint32_t i = 0; i < range; i++, b = ct_table_next_bucket(t, b))
        if (early_drop_bucket(t, b, now))
            return 1;
    return 0;
}

/* ---- iteration and stats ---------------------------------------------------- */

CT_EXPORT int ct_table_foreach(struct ct_table *t, int (*fn)(struct ct_conn *conn, void *arg),
                               void *arg)
{
    if (!t || !fn)
        return 0;
    for (unsigned f = 0; f < 2; f++) {
        const struct ct_pool *p = &t->pool[f];
        for (uint32_t i = 0; i < p->hiwater; i++) {
            struct ct_conn *c = ct_table_conn_at(t, i | (f ? CT_ID_V6 : 0));
            if (!conn_live(c))
                continue;
            int r = fn(c, arg);
            if (r)
                return r;
        }
    }
    return 0;
}

/* The timer gauges from t's wheel w. */
static void wheel_gauges(const struct ct_table *t, const struct ct_wheel *w,
                         struct ct_table_stats *s)
{
    s->sweep_interval_ns = __atomic_load_n(&t->sweep.interval, __ATOMIC_RELAXED); /* [S] */
    s->timer_next_due = ct_wheel_next_due(w);
    s->timers = ct_wheel_count(w);
}

CT_EXPORT int ct_table_stats(const struct ct_table *t, struct ct_table_stats *s)
{
    if (!t || !s)
        return -EINVAL;
    *s = t->stats;
    if (t->sh)
        ct_shared_stats_sum(t, s);
    s->connections = __atomic_load_n(&t->connections, __ATOMIC_RELAXED);
    s->peak_connections = __atomic_load_n(&t->peak_connections, __ATOMIC_RELAXED);
    s->max_connections = t->max_connections;
    s->buckets = t->nbuckets;
    s->memory_bytes = t->index_bytes + t->pool[0].map_len + t->pool[1].map_len + sizeof(*t) +
                      (t->zones ? CT_ZONES * sizeof(struct ct_zone_slot) : 0) +
                      ct_table_ext_bytes(t);
    if (t->sh) {
        ct_spin_lock(&t->sh->wheel_lock);
        wheel_gauges(t, ct_shared_wheel(t), s);
        ct_spin_unlock(&t->sh->wheel_lock);
    } else {
        wheel_gauges(t, &t->wheel, s);
    }
    s->pad = 0;
    return 0;
}

CT_EXPORT int ct_conn_get_info(const struct ct_table *t, const struct ct_conn *c,
                               struct ct_conn_info *info)
{
    if (!t || !c || !info)
        return -EINVAL;
    memset(info, 0, sizeof(*info));
    ct_table_conn_tuple(t, c, CT_DIR_ORIGINAL, &info->tuple[0]);
    ct_table_conn_tuple(t, c, CT_DIR_REPLY, &info->tuple[1]);
    const struct ct_acct *a = ct_table_conn_acct(t, c);
    if (a) {
        for (unsigned d = 0; d < 2; d++) {
            info->packets[d] = a->packets[d];
            info->bytes[d] = a->bytes[d];
        }
        info->flags |= CT_INFO_F_ACCT;
    }
    info->first_seen = c->first_seen;
    info->last_seen = c->last_seen;
    info->expires = ct_table_conn_expires(t, c);
    info->status = c->status & CT_STATUS_PUBLIC_MASK;
    info->mark = c->mark;
    info->zone[0] = info->tuple[0].zone;
    info->zone[1] = c->zone_reply;
    info->l3 = info->tuple[0].l3;
    info->proto = info->tuple[0].proto;
    info->l4state = c->l4state;
    info->timeout = c->timeout;
    ct_tmpl_conn_info(t, c, info);
    if (CT_UNLIKELY(t->helpers != NULL))
        ct_helper_conn_info(t, c, info);
    return 0;
}
