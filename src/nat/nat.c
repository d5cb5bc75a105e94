/*
 * NAT bindings: enabling NAT on a table, the policy, and the allocation of
 * a unique reply tuple for a new connection (nat.h has the design,
 * docs/nat.md the algorithm and the differences from Linux).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/nat.h"
#include "nat/nat.h"
#include "rules/rules.h"
#include "table/ext.h"
#include "table/index.h"
#include "table/shared.h"
#include "table/table.h"

struct ct_nat_bs_lock {
    struct ct_spinlock l;
};

CT_EXPORT void ct_nat_config_init(struct ct_nat_config *cfg)
{
    if (cfg)
        memset(cfg, 0, sizeof(*cfg));
}

CT_EXPORT int ct_nat_enable(struct ct_table *t, const struct ct_nat_config *cfg)
{
    if (!t || !cfg || (cfg->flags & ~(uint32_t)CT_NAT_F_ALL) || cfg->reserved[0] ||
        cfg->reserved[1] || (cfg->workers > 1 && cfg->worker >= cfg->workers))
        return -EINVAL;
    if (t->nat)
        return -EBUSY;
    struct ct_nat *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    int ext = ct_table_ext_register(t, sizeof(struct ct_nat_slot), 8);
    if (ext < 0) {
        free(n);
        return ext == -ENOSPC ? -ENOMEM : ext;
    }
    /* By-source heads: a power of two near half the connections (a list
     * holds the connections of one source, usually one or a few). */
    uint32_t heads = 256;
    while (heads < t->max_connections / 2 && heads < (1u << 30))
        heads <<= 1;
    n->bs_head = malloc((size_t)heads * sizeof(*n->bs_head));
    n->bs_lock = t->sh ? calloc(CT_NAT_BS_LOCKS, sizeof(*n->bs_lock)) : NULL;
    if (!n->bs_head || (t->sh && !n->bs_lock)) {
        free(n->bs_head);
        free(n->bs_lock);
        free(n);
        return -ENOMEM;
    }
    memset(n->bs_head, 0xff, (size_t)heads * sizeof(*n->bs_head)); /* CT_ID_NONE */
    n->bs_mask = heads - 1;
    n->cfg = *cfg;
    n->ext = ext;
    t->nat_slot[0] = t->ext->area[ext].base[0];
    t->nat_slot[1] = t->ext->area[ext].base[1];
    t->nat_stride = t->ext->area[ext].stride;
    t->nat = n;
    return 0;
}

CT_EXPORT int ct_nat_set_policy(struct ct_table *t, ct_nat_policy_fn fn, void *arg)
{
    if (!t)
        return -EINVAL;
    if (!t->nat)
        return -ENOTSUP;
    t->nat->policy = fn;
    t->nat->policy_arg = fn ? arg : NULL;
    return 0;
}

void ct_nat_destroy(struct ct_table *t)
{
    if (t->nat) {
        free(t->nat->bs_head);
        free(t->nat->bs_lock);
    }
    free(t->nat);
    t->nat = NULL;
}

/* ---- by source ----------------------------------------------------------------- */

/* The list of a source: address, port, protocol and zone, as Linux's
 * hash_by_src() keys it, through the index's keyed hash of a key that has
 * only those (no destination). */
static uint32_t bs_bucket(const struct ct_table *t, const struct ct_tuple *T)
{
    uint64_t h;
    if (T->l3 == CT_L3_IPV6) {
        struct ct_key6 k;
        memset(&k, 0, sizeof(k));
        memcpy(k.src, T->src.b, 16);
        k.sport = T->sport;
        k.zone = T->zone;
        k.l3 = CT_L3_IPV6;
        k.proto = T->proto;
        h = ct_table_hash6(t, &k);
    } else {
        struct ct_key4 k;
        memset(&k, 0, sizeof(k));
        k.src = T->src.v4;
        k.sport = T->sport;
        k.zone = T->zone;
        k.l3 = CT_L3_IPV4;
        k.proto = T->proto;
        h = ct_table_hash4(t, &k);
    }
    return (uint32_t)(h >> 32) & t->nat->bs_mask;
}

/*
 * A shared table guards list b with one of its spinlocks; a table of one
 * thread takes none. The lock is taken only for the list's own edits and
 * walks, never while another lock is waited for, and a connection's lock
 * may be held around it (process.c, table.c): never the other way round.
 * The locking is conditional, which clang's analysis cannot follow: these
 * two are its only users.
 */
static void bs_enter(const struct ct_table *t, uint32_t b) CT_NO_TSA
{
    if (t->sh)
        ct_spin_lock(&t->nat->bs_lock[b & (CT_NAT_BS_LOCKS - 1)].l);
}

static void bs_leave(const struct ct_table *t, uint32_t b) CT_NO_TSA
{
    if (t->sh)
        ct_spin_unlock(&t->nat->bs_lock[b & (CT_NAT_BS_LOCKS - 1)].l);
}

static struct ct_nat_slot *slot_at(const struct ct_table *t, uint32_t id)
{
    return ct_nat_slot_of(t, ct_table_conn_at(t, id));
}

void ct_nat_conn_added(struct ct_table *t, struct ct_conn *c)
{
    struct ct_nat *n = t->nat;
    struct ct_nat_slot *s = ct_nat_slot_of(t, c);
    const uint32_t b = s->bs_list, id = ct_table_conn_id(t, c);
    bs_enter(t, b);
    s->bs_prev = CT_ID_NONE;
    s->bs_next = n->bs_head[b];
    if (s->bs_next != CT_ID_NONE)
        slot_at(t, s->bs_next)->bs_prev = id;
    n->bs_head[b] = id;
    s->bs = 1;
    bs_leave(t, b);
}

void ct_nat_conn_gone(struct ct_table *t, struct ct_conn *c)
{
    struct ct_nat_slot *s = ct_nat_slot_of(t, c);
    if (!s->bs)
        return;
    struct ct_nat *n = t->nat;
    const uint32_t b = s->bs_list;
    bs_enter(t, b);
    if (s->bs_prev != CT_ID_NONE)
        slot_at(t, s->bs_prev)->bs_next = s->bs_next;
    else
        n->bs_head[b] = s->bs_next;
    if (s->bs_next != CT_ID_NONE)
        slot_at(t, s->bs_next)->bs_prev = s->bs_prev;
    s->bs = 0;
    bs_leave(t, b);
}

#define NAT_STAT_ADD(t, field, v)                                              \
    do {                                                                       \
        if ((t)->sh)                                                           \
            __atomic_fetch_add(&(t)->nat->stats.field, (v), __ATOMIC_RELAXED); \
        else                                                                   \
            (t)->nat->stats.field += (v);                                      \
    } while (0)

CT_EXPORT int ct_nat_stats(const struct ct_table *t, struct ct_nat_stats *out)
{
    if (!t || !out)
        return -EINVAL;
    if (!t->nat)
        return -ENOTSUP;
    const uint64_t *s = (const uint64_t *)(const void *)&t->nat->stats;
    uint64_t *d = (uint64_t *)(void *)out;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    return 0;
}

/* ---- ranges ------------------------------------------------------------------- */

static unsigned addr_len(unsigned l3)
{
    return l3 == CT_L3_IPV6 ? 16u : 4u;
}

/* Addresses compared as numbers: network order is big-endian, so bytes. */
static int addr_cmp(const union ct_addr *a, const union ct_addr *b, unsigned l3)
{
    return memcmp(a->b, b->b, addr_len(l3));
}

CT_EXPORT int ct_nat_range_check(const struct ct_nat_range *r, unsigned l3)
{
    if (!r || (l3 != CT_L3_IPV4 && l3 != CT_L3_IPV6) || (r->flags & ~(uint32_t)CT_NAT_RANGE_ALL))
        return -EINVAL;
    if (r->flags & (CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_NETMAP)) {
        if (l3 == CT_L3_IPV4 && (r->min_addr.w[1] | r->min_addr.w[2] | r->min_addr.w[3] |
                                 r->max_addr.w[1] | r->max_addr.w[2] | r->max_addr.w[3]))
            return -EINVAL;
        if (addr_cmp(&r->min_addr, &r->max_addr, l3) > 0)
            return -EINVAL;
    }
    if (r->flags & CT_NAT_RANGE_NETMAP) {
        /* The ends differ only in a run of low (host) bits: min has them
         * all clear and max all set, so min ^ max is 0...01...1. */
        unsigned n = addr_len(l3), host = 0;
        for (unsigned i = 0; i < n; i++) {
            uint8_t x = (uint8_t)(r->min_addr.b[i] ^ r->max_addr.b[i]);
            if (host && x != 0xff)
                return -EINVAL;
            if (x) {
                if ((uint8_t)(x + 1) & x)
                    return -EINVAL;
                host = 1;
            }
            if ((r->min_addr.b[i] & x) || (r->max_addr.b[i] & x) != x)
                return -EINVAL;
        }
    }
    if ((r->flags & CT_NAT_RANGE_PROTO_SPECIFIED) && r->min_port > r->max_port)
        return -EINVAL;
    return 0;
}

/* ---- Linux's address choice: Jenkins' lookup3 hash -------------------------- */

static inline uint32_t rol32(uint32_t w, unsigned s)
{
    return w << s | w >> (32 - s);
}

/*
 * Bob Jenkins' lookup3 hash of 32-bit words (hashword(), 2006), which
 * Linux calls jhash2(); the initial value 0xdeadbeef and the mix and final
 * rounds are the algorithm's. Linux's find_best_ips_proto() hashes the
 * source address with it, so the same function gives the kernel's choice
 * of an address from a range.
 */
static uint32_t jhash_words(const uint32_t *k, uint32_t n, uint32_t initval)
{
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + (n << 2) + initval;
    while (n > 3) {
        a += k[0];
        b += k[1];
        c += k[2];
        a -= c;
        a ^= rol32(c, 4);
        c += b;
        b -= a;
        b ^= rol32(a, 6);
        a += c;
        c -= b;
        c ^= rol32(b, 8);
        b += a;
        a -= c;
        a ^= rol32(c, 16);
        c += b;
        b -= a;
        b ^= rol32(a, 19);
        a += c;
        c -= b;
        c ^= rol32(b, 4);
        b += a;
        n -= 3;
        k += 3;
    }
    switch (n) {
    case 3:
        c += k[2];
        /* fall through */
    case 2:
        b += k[1];
        /* fall through */
    case 1:
        a += k[0];
        c ^= b;
        c -= rol32(b, 14);
        a ^= c;
        a -= rol32(c, 11);
        b ^= a;
        b -= rol32(a, 25);
        c ^= b;
        c -= rol32(b, 16);
        a ^= c;
        a -= rol32(c, 4);
        b ^= a;
        b -= rol32(a, 14);
        c ^= b;
        c -= rol32(b, 24);
        break;
    default:
        break;
    }
    return c;
}

/*
 * A word of an address as Linux's code sees it: the four bytes in network
 * order loaded as a little-endian 32-bit integer (x86, where the
 * comparison runs; loading them this way on every host gives the same
 * choice everywhere).
 */
static uint32_t addr_word(const union ct_addr *a, unsigned i)
{
    const uint8_t *p = a->b + 4 * i;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32_word(const union ct_addr *a, unsigned i)
{
    const uint8_t *p = a->b + 4 * i;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32_word(union ct_addr *a, unsigned i, uint32_t v)
{
    uint8_t *p = a->b + 4 * i;
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/*
 * Picks the address of the manip's side of T from the range, as Linux's
 * find_best_ips_proto(): one address is taken as is; otherwise the hash of
 * the source address (keyed by the last word of the destination and the
 * zone, unless `persistent`) picks a point in the range word by word, the
 * later words spanning their whole width once an earlier word is below
 * the range's end (Lemire's multiply-shift scales the hash to a span).
 */
static void choose_addr(struct ct_tuple *T, const struct ct_nat_range *r, unsigned manip)
{
    if (!(r->flags & CT_NAT_RANGE_MAP_IPS))
        return;
    union ct_addr *var = manip == CT_NAT_MANIP_SRC ? &T->src : &T->dst;
    const unsigned l3 = T->l3;
    if (addr_cmp(&r->min_addr, &r->max_addr, l3) == 0) {
        *var = r->min_addr;
        return;
    }
    const unsigned max = addr_len(l3) / 4 - 1;
    uint32_t src[4];
    for (unsigned i = 0; i < 4; i++)
        src[i] = addr_word(&T->src, i);
    const int persistent = (r->flags & CT_NAT_RANGE_PERSISTENT) != 0;
    uint32_t j = jhash_words(src, 4, persistent ? 0u : addr_word(&T->dst, max) ^ T->zone);
    int full = 0;
    for (unsigned i = 0; i <= max; i++) {
        uint32_t minip, dist;
        if (!full) {
            minip = be32_word(&r->min_addr, i);
            dist = be32_word(&r->max_addr, i) - minip + 1;
        } else {
            minip = 0;
            dist = ~0u;
        }
        put_be32_word(var, i, minip + (uint32_t)(((uint64_t)j * dist) >> 32));
        if (addr_word(var, i) != addr_word(&r->max_addr, i))
            full = 1;
        if (!persistent)
            j ^= addr_word(&T->dst, i);
    }
}

/* NETMAP (nft's `prefix to ... map`): the host part of the manip's address
 * kept, the network part taken from the range, as Linux's
 * nft_nat_setup_netmap(); the result is one address. */
static void netmap_range(const struct ct_tuple *T, unsigned manip, struct ct_nat_range *r)
{
    union ct_addr a = manip == CT_NAT_MANIP_SRC ? T->src : T->dst;
    for (unsigned i = 0; i < addr_len(T->l3); i++) {
        uint8_t net = (uint8_t) ~(r->min_addr.b[i] ^ r->max_addr.b[i]);
        a.b[i] = (uint8_t)((a.b[i] & ~net) | (r->min_addr.b[i] & net));
    }
    r->min_addr = a;
    r->max_addr = a;
    r->flags = (r->flags & ~(uint32_t)CT_NAT_RANGE_NETMAP) | CT_NAT_RANGE_MAP_IPS;
}

/* ---- uniqueness ---------------------------------------------------------------- */

/* One allocation: the connection, the time, and the counters to add. */
struct alloc {
    struct ct_table *t;
    const struct ct_conn *c;
    uint64_t now;
    uint64_t seed; /* per connection: the keyed hash of its original tuple */
    uint64_t probes;
    uint32_t bs;  /* the by-source list of the original source */
    int affinity; /* the SRC manip must keep replies on this worker */
};

/*
 * Whether the reply tuple that T (the original tuple after translation)
 * implies is in the index already, in either direction: Linux's
 * nf_nat_used_tuple(). An expired connection found there is reaped and
 * does not count, as nf_conntrack_tuple_taken() does.
 */
static int tuple_used(struct alloc *a, const struct ct_tuple *T)
{
    struct ct_table *t = a->t;
    unsigned d;
    const unsigned v6 = T->l3 == CT_L3_IPV6;
    struct ct_key4 k4;
    struct ct_key6 k6;
    const void *k;
    uint64_t h;
    a->probes++;
    if (!v6 && T->proto != CT_IPPROTO_ICMP) {
        /* The common case, swapped in place (the allocation's inner loop). */
        k4.src = T->dst.v4;
        k4.dst = T->src.v4;
        k4.sport = T->dport;
        k4.dport = T->sport;
        k4.zone = a->c->zone_reply;
        k4.l3 = CT_L3_IPV4;
        k4.proto = T->proto;
        k = &k4;
        h = ct_table_hash4(t, &k4);
        goto find;
    }
    struct ct_tuple r;
    if (ct_tuple_invert(T, &r) != 0)
        return 1;
    r.zone = a->c->zone_reply;
    if (v6) {
        _Static_assert(sizeof(k6) == sizeof(r), "an IPv6 key is a tuple");
        memcpy(&k6, &r, sizeof(k6));
        k = &k6;
        h = ct_table_hash6(t, &k6);
    } else {
        ct_key4_from_tuple(&k4, &r);
        k = &k4;
        h = ct_table_hash4(t, &k4);
    }
find:
    if (t->sh) {
        struct ct_conn *o = ct_shared_find_live_locked(t, k, v6, h, a->now, &d);
        if (o)
            ct_conn_unlock(o);
        return o != NULL;
    }
    return ct_table_find_live(t, k, v6, h, ct_table_bucket_of(t, h), a->now, &d) != NULL;
}

/* Whether the reply tuple T implies steers to this table's worker. */
static int steers_here(const struct ct_nat *n, const struct ct_tuple *T)
{
    struct ct_tuple r;
    if (ct_tuple_invert(T, &r) != 0)
        return 1;
    return ct_nat_steer_worker(ct_tuple_steer_hash(&r, n->cfg.steer_seed), n->cfg.workers) ==
           n->cfg.worker;
}

/* Whether T may be taken for `manip`: unique, and on this worker when the
 * allocator chooses the source for affinity. */
static int usable(struct alloc *a, const struct ct_tuple *T, unsigned manip)
{
    if (a->affinity && manip == CT_NAT_MANIP_SRC && !steers_here(a->t->nat, T))
        return 0;
    return !tuple_used(a, T);
}

/* Linux's l4proto_in_range(): the manip's port (the ICMP identifier for
 * either manip) within the range; protocols without ports always are. */
static int port_in_range(const struct ct_tuple *T, unsigned manip, const struct ct_nat_range *r)
{
    uint16_t p;
    if (ct_nat_icmp_query(T))
        p = T->sport;
    else if (ct_nat_has_ports(T->proto))
        p = manip == CT_NAT_MANIP_SRC ? T->sport : T->dport;
    else
        return 1;
    return p >= r->min_port && p <= r->max_port;
}

/* Linux's nf_in_range() for the source: address and port. */
static int src_in_range(const struct ct_tuple *T, const struct ct_nat_range *r)
{
    if ((r->flags & CT_NAT_RANGE_MAP_IPS) &&
        (addr_cmp(&T->src, &r->min_addr, T->l3) < 0 || addr_cmp(&T->src, &r->max_addr, T->l3) > 0))
        return 0;
    if (!(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED))
        return 1;
    return port_in_range(T, CT_NAT_MANIP_SRC, r);
}

/*
 * Linux's find_appropriate_src(): among the live connections from T's
 * source (the by-source list, most recent first), the first whose
 * translated source, with T's destination, is in the range gives the
 * candidate (*out). The candidate is copied under the list's lock and
 * checked by the caller after it (the uniqueness lookup may reap a
 * connection, which takes the same lock). Returns 1 with *out, or 0.
 */
static int find_src(struct alloc *a, const struct ct_tuple *T, const struct ct_nat_range *r,
                    struct ct_tuple *out)
{
    struct ct_table *t = a->t;
    const uint32_t b = a->bs; /* T's source is the original one */
    int found = 0;
    bs_enter(t, b);
    for (uint32_t id = t->nat->bs_head[b]; id != CT_ID_NONE && !found;) {
        struct ct_conn *c = ct_table_conn_at(t, id);
        const struct ct_nat_slot *s = ct_nat_slot_of(t, c);
        struct ct_tuple rep, res;
        /* The same source: compared on the original key, in place. */
        int same;
        if (ct_conn_is_v6(c)) {
            const struct ct_key6 *k = ct_conn_key6(c);
            same = T->l3 == CT_L3_IPV6 && k->proto == T->proto && k->sport == T->sport &&
                   k->zone == T->zone && memcmp(k->src, T->src.b, 16) == 0;
        } else {
            const struct ct_key4 *k = ct_conn_key4(c);
            same = T->l3 == CT_L3_IPV4 && k->proto == T->proto && k->sport == T->sport &&
                   k->zone == T->zone && k->src == T->src.v4;
        }
        if (same) {
            /* Its translated source: the inverse of its reply tuple. */
            ct_table_conn_tuple(t, c, CT_DIR_REPLY, &rep);
            if (ct_tuple_invert(&rep, &res) == 0) {
                res.dst = T->dst;
                res.dport = T->dport;
                res.zone = T->zone;
                if (src_in_range(&res, r)) {
                    *out = res;
                    found = 1;
                }
            }
        }
        id = s->bs_next;
    }
    bs_leave(t, b);
    return found;
}

#define RANGE_PROTO_RANDOM_ALL (CT_NAT_RANGE_PROTO_RANDOM | CT_NAT_RANGE_PROTO_RANDOM_FULLY)
/* Linux's NF_NAT_MAX_ATTEMPTS: tuples tried per round. */
#define NAT_MAX_ATTEMPTS 128u

/*
 * The port (or ICMP identifier) search, after Linux's
 * nf_nat_l4proto_unique_tuple(): the range is the given one, or for an
 * SNAT without ports the port's class (1-511, 600-1023, 1024-65535; any
 * identifier for ICMP); a DNAT without ports keeps its port.
 *
 * A DNAT without `random` tries the range from its start in order, as
 * Linux does (so a backend port range fills as the kernel fills it).
 * Everything else probes keyed-random positions of the range: up to 128,
 * then 64, 32 and 16 more, Linux's budget of 240. Linux instead tries
 * consecutive ports from one random start; since the ports it took before
 * came the same way, a busy range is made of long taken runs, and a start
 * inside one fails 128 times in a row: at 90 % of a range in use most
 * set-ups exhausted their budget (measured with ctbench --nat). Random
 * positions cost 1 / (1 - use) probes on average whatever the history (10
 * at 90 %), and all 240 fail with probability use^240 (10^-11 at 90 %).
 * With per-core affinity an SNAT also skips the ports whose reply would
 * steer to another worker (a steering hash, no lookup), and tries
 * `workers` times as many. Returns 0 with T's port set, or -1.
 */
static int unique_port(struct alloc *a, struct ct_tuple *T, const struct ct_nat_range *r,
                       unsigned manip)
{
    uint16_t *key;
    uint32_t min, size;
    if (ct_nat_icmp_query(T)) {
        key = &T->sport;
        if (!(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED)) {
            min = 0;
            size = 65536;
        } else {
            min = r->min_port;
            size = (uint32_t)r->max_port - r->min_port + 1;
        }
    } else if (ct_nat_has_ports(T->proto)) {
        key = manip == CT_NAT_MANIP_SRC ? &T->sport : &T->dport;
        if (!(r->flags & CT_NAT_RANGE_PROTO_SPECIFIED)) {
            if (manip == CT_NAT_MANIP_DST)
                return usable(a, T, manip) ? 0 : -1;
            if (*key < 1024) {
                min = *key < 512 ? 1 : 600;
                size = *key < 512 ? 511 : 424;
            } else {
                min = 1024;
                size = 65536 - 1024;
            }
        } else {
            min = r->min_port;
            size = (uint32_t)r->max_port - r->min_port + 1;
        }
    } else {
        /* Nothing to choose (GRE keys are translated only by a PPTP
         * helper, which ctrack does not have). */
        return usable(a, T, manip) ? 0 : -1;
    }
    uint32_t per = NAT_MAX_ATTEMPTS;
    if (a->affinity && manip == CT_NAT_MANIP_SRC)
        per *= a->t->nat->cfg.workers;
    uint32_t attempts = size < per ? size : per;
    uint64_t x = a->seed ^ ((uint64_t)manip << 63);
    const int dst_seq = !(r->flags & RANGE_PROTO_RANDOM_ALL) && manip == CT_NAT_MANIP_DST;
    if (dst_seq || size <= attempts) {
        /* In order from the start (DNAT), or a range small enough to try
         * whole from a keyed-random start: Linux's walk. */
        uint32_t off = dst_seq ? 0 : (uint32_t)((x >> 32) * (uint64_t)size >> 32);
        for (uint32_t i = 0; i < attempts; i++) {
            *key = (uint16_t)(min + (off + i) % size);
            if (usable(a, T, manip))
                return 0;
        }
        if (attempts >= size || attempts < 16)
            return -1;
        attempts /= 2;
    }
    /* A 64-bit LCG (Knuth's MMIX constants) seeded from the keyed hash of
     * the connection; the high half, scaled into the range by Lemire's
     * multiply-shift, picks each position. */
    for (;;) {
        for (uint32_t i = 0; i < attempts; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            *key = (uint16_t)(min + (uint32_t)(((x >> 32) * (uint64_t)size) >> 32));
            if (usable(a, T, manip))
                return 0;
        }
        if (attempts >= size || attempts < 16)
            return -1;
        attempts /= 2;
    }
}

/*
 * One manip of a binding, as Linux's get_unique_tuple(): T is the tuple as
 * the manips before left it and receives the new one. An SNAT keeps the
 * original source when it is in the range and unique, or else takes the
 * translated source of an earlier connection from the same source when
 * that is (find_src()); otherwise the address is chosen (choose_addr()), kept with its port when that is in
 * the range and unique (a single port is taken even when used, as Linux
 * does: the insert then fails), else the port is searched for. Returns 0,
 * or -1 when no unique tuple was found (T then holds the last tried).
 */
static int unique_tuple(struct alloc *a, struct ct_tuple *T, const struct ct_nat_range *r,
                        unsigned manip)
{
    if (manip == CT_NAT_MANIP_SRC && !(r->flags & RANGE_PROTO_RANDOM_ALL)) {
        struct ct_tuple cand;
        if (src_in_range(T, r)) {
            if (usable(a, T, manip))
                return 0;
        } else if (find_src(a, T, r, &cand) && usable(a, &cand, manip)) {
            *T = cand;
            return 0;
        }
    }
    choose_addr(T, r, manip);
    if (!(r->flags & RANGE_PROTO_RANDOM_ALL)) {
        if (r->flags & CT_NAT_RANGE_PROTO_SPECIFIED) {
            if (port_in_range(T, manip, r)) {
                if (r->min_port == r->max_port)
                    return usable(a, T, manip) ? 0 : -1;
                if (usable(a, T, manip))
                    return 0;
            }
        } else if (usable(a, T, manip)) {
            return 0;
        }
    }
    return unique_port(a, T, r, manip);
}

/* ---- a new connection's binding ------------------------------------------------------ */

/* Writes c's binding: the reply key that T (the original tuple after the
 * translation) implies, and the manips that changed it. */
static void slot_set(struct ct_table *t, struct ct_conn *c, const struct ct_tuple *T,
                     uint16_t nat)
{
    struct ct_tuple r;
    if (ct_tuple_invert(T, &r) != 0)
        r = *T; /* cannot happen for a tracked connection; keep a defined key */
    r.zone = c->zone_reply;
    struct ct_nat_slot *s = ct_nat_slot_of(t, c);
    if (T->l3 == CT_L3_IPV6)
        memcpy(&s->k6, &r, sizeof(s->k6));
    else
        ct_key4_from_tuple(&s->k4, &r);
    s->nat = nat;
}

/* Where the manips' ranges come from: the policy first, then the rules. */
static uint16_t ask_range(struct ct_table *t, const struct ct_pkt *pkt,
                          const struct ct_nat_request *req, unsigned manip,
                          const struct ct_tuple *T, struct ct_nat_range *r, int *asked)
{
    *asked = 0;
    if (req->manips & (1u << manip)) {
        *r = req->range[manip];
        *asked = 1;
    } else if (t->rules) {
        int rc = ct_rules_conn_nat(t, pkt, manip, T, r);
        if (rc < 0)
            return CT_REASON_RULE_DROP;
        *asked = rc > 0;
    }
    if (*asked && ct_nat_range_check(r, T->l3) != 0) {
        NAT_STAT_ADD(t, bad_range, 1);
        return CT_REASON_NAT_RANGE;
    }
    return CT_REASON_NONE;
}

uint16_t ct_nat_conn_new(struct ct_table *t, struct ct_conn *c, const struct ct_pkt *pkt,
                         uint64_t h_orig, uint64_t now)
{
    struct ct_nat *n = t->nat;
    struct ct_nat_request req;
    req.manips = 0;
    if (n->policy)
        n->policy(n->policy_arg, pkt, &req);

    struct ct_tuple orig, T;
    ct_table_conn_tuple(t, c, CT_DIR_ORIGINAL, &orig);
    T = orig;
    struct alloc a = {.t = t, .c = c, .now = now};
    /* The index's keyed hash of the original key, which the lookup
     * computed: keyed by the table's secret, so that nobody without it
     * predicts the ports chosen. */
    a.seed = h_orig ^ 0x9e3779b97f4a7c15ull;
    a.bs = bs_bucket(t, &orig);
    uint16_t status = 0;
    int clash = 0;
    /* DST first (prerouting/output), then SRC (postrouting/input) on the
     * tuple DST left: the order of Linux's hooks. */
    static const unsigned order[2] = {CT_NAT_MANIP_DST, CT_NAT_MANIP_SRC};
    for (unsigned i = 0; i < 2; i++) {
        const unsigned m = order[i];
        struct ct_nat_range r;
        int asked;
        uint16_t why = ask_range(t, pkt, &req, m, &T, &r, &asked);
        if (why != CT_REASON_NONE) {
            NAT_STAT_ADD(t, probes, a.probes);
            return why;
        }
        if (!asked && m == CT_NAT_MANIP_DST) {
            /* A null DST binding keeps the tuple (it may not change the
             * port); whether the tuple is unique is the SRC manip's
             * question, which always follows. */
            continue;
        }
        if (!asked) {
            /* Linux's null binding: this side's own address, any port. */
            memset(&r, 0, sizeof(r));
            r.flags = CT_NAT_RANGE_MAP_IPS;
            r.min_addr = r.max_addr = m == CT_NAT_MANIP_SRC ? T.src : T.dst;
        } else if (r.flags & CT_NAT_RANGE_NETMAP) {
            netmap_range(&T, m, &r);
        }
        a.affinity = asked && n->cfg.workers > 1;
        struct ct_tuple before = T;
        clash = unique_tuple(&a, &T, &r, m) != 0;
        if (memcmp(&before, &T, sizeof(T)) != 0) {
            status |= m == CT_NAT_MANIP_SRC ? CT_STATUS_SRC_NAT : CT_STATUS_DST_NAT;
            if (!asked)
                NAT_STAT_ADD(t, null_remapped, 1);
        }
    }
    NAT_STAT_ADD(t, probes, a.probes);
    if (clash) {
        NAT_STAT_ADD(t, exhausted, 1);
        return CT_REASON_NAT_EXHAUSTED;
    }
    c->status |= CT_STATUS_SRC_NAT_DONE | CT_STATUS_DST_NAT_DONE | status;
    slot_set(t, c, &T, status);
    ct_nat_slot_of(t, c)->bs_list = a.bs;
    if (status)
        NAT_STAT_ADD(t, bindings, 1);
    return CT_REASON_NONE;
}

void ct_nat_slot_restore(struct ct_table *t, struct ct_conn *c, const struct ct_tuple *reply,
                         uint16_t nat)
{
    struct ct_tuple o, T;
    ct_table_conn_tuple(t, c, CT_DIR_ORIGINAL, &o);
    /* slot_set() takes the translated original: the reply's inverse. */
    if (!reply || ct_tuple_invert(reply, &T) != 0)
        T = o;
    slot_set(t, c, &T, reply ? nat : 0);
    ct_nat_slot_of(t, c)->bs_list = bs_bucket(t, &o);
}
