/*
 * The fragments --write holds back (fragstore.h has the contract).
 *
 * Layout: one slot per datagram the reassembler may hold (its
 * max_datagrams), each with the datagram's key as the reassembler keys it
 * (ctrack/defrag.h: addresses, identification, IPv4 protocol, family and
 * zone), the time of its first fragment, its creation order and a list of
 * fragments, each one allocation of its record header and bytes. Slots are
 * searched linearly: fragments are rare in traffic and the slots few.
 *
 * Keeping in step with the reassembler without looking inside it: every
 * change to its set of datagrams happens inside ct_defrag_add(), in this
 * order: expiry at `now` (ct_defrag_expire(): a datagram goes when `now`
 * is its first fragment's time plus its family's timeout or later), then
 * at most the creation of the fragment's datagram, evictions of the oldest
 * datagrams other than the fragment's (counted in `evicted`), and either
 * the fragment kept (HELD), the datagram completed (DONE), the datagram
 * dropped with the fragment (DROPPED, one datagram fewer than the other
 * changes explain), or the fragment alone refused (DROPPED, the datagrams
 * unchanged). The store applies the same changes in the same order.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/fragstore.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The reassembler's key of a datagram. */
struct fkey {
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;
    uint16_t zone;
    uint8_t l3;
    uint8_t proto;
};

struct group {
    struct fkey key;
    uint64_t created;
    uint64_t order;
    struct cli_frag *frags;
    uint32_t nfrags;
    uint8_t in_use;
    uint8_t lost; /* fragments were dropped for room: none is written */
};

struct cli_fragstore {
    struct group *g;
    uint32_t ng;
    uint64_t timeout[2]; /* IPv4, IPv6 */
    uint64_t next_order;
    uint64_t bytes, max_bytes;
    struct cli_fragstore_stats st;
};

struct cli_fragstore *cli_fragstore_create(const struct ct_defrag_config *dc)
{
    struct cli_fragstore *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ng = dc->max_datagrams;
    s->g = calloc(s->ng, sizeof(*s->g));
    if (!s->g) {
        free(s);
        return NULL;
    }
    s->timeout[0] = dc->timeout_ipv4;
    s->timeout[1] = dc->timeout_ipv6;
    s->max_bytes = 2 * dc->max_bytes;
    return s;
}

void cli_fragstore_release(struct cli_fragstore *s, struct cli_frag *list)
{
    while (list) {
        struct cli_frag *n = list->next;
        s->bytes -= sizeof(*list) + list->caplen;
        free(list);
        list = n;
    }
}

void cli_fragstore_destroy(struct cli_fragstore *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->ng; i++)
        cli_fragstore_release(s, s->g[i].frags);
    free(s->g);
    free(s);
}

void cli_fragstore_stats(const struct cli_fragstore *s, struct cli_fragstore_stats *st)
{
    *st = s->st;
}

/* The key and the offset of a fragment the reassembler accepted (so its
   headers were captured and checked). */
static void read_key(const struct ct_pkt *pkt, struct fkey *k, uint32_t *off)
{
    const uint8_t *h = pkt->data + pkt->l3_off;
    memset(k, 0, sizeof(*k));
    k->zone = pkt->tuple.zone;
    if (pkt->tuple.l3 == CT_L3_IPV4) {
        k->l3 = CT_L3_IPV4;
        k->proto = h[9];
        k->id = be16(h + 4);
        memcpy(k->src, h + 12, 4);
        memcpy(k->dst, h + 16, 4);
        *off = (be16(h + 6) & 0x1fffu) * 8u;
    } else {
        const uint8_t *fh = pkt->data + pkt->l4_off - 8;
        k->l3 = CT_L3_IPV6;
        k->id = be32(fh + 4);
        memcpy(k->src, h + 8, 16);
        memcpy(k->dst, h + 24, 16);
        *off = be16(fh + 2) & 0xfff8u;
    }
}

static int same_key(const struct fkey *a, const struct fkey *b)
{
    return memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0 && a->id == b->id &&
           a->zone == b->zone && a->l3 == b->l3 && a->proto == b->proto;
}

static struct group *find(struct cli_fragstore *s, const struct fkey *k)
{
    for (uint32_t i = 0; i < s->ng; i++)
        if (s->g[i].in_use && same_key(&s->g[i].key, k))
            return &s->g[i];
    return NULL;
}

/* Frees a datagram's slot and its fragments. */
static void drop_group(struct cli_fragstore *s, struct group *g)
{
    cli_fragstore_release(s, g->frags);
    memset(g, 0, sizeof(*g));
}

/* Drops a datagram's fragments for room; the slot stays, so that the
   datagram is still followed, and is not written when it completes. */
static void lose_group(struct cli_fragstore *s, struct group *g)
{
    s->st.lost += g->nfrags;
    cli_fragstore_release(s, g->frags);
    g->frags = NULL;
    g->nfrags = 0;
    g->lost = 1;
}

/* The oldest datagram other than `keep` (with fragments kept, when
   `with_frags`), or NULL. */
static struct group *oldest(struct cli_fragstore *s, const struct group *keep, int with_frags)
{
    struct group *best = NULL;
    for (uint32_t i = 0; i < s->ng; i++) {
        struct group *g = &s->g[i];
        if (!g->in_use || g == keep || (with_frags && !g->frags))
            continue;
        if (!best || g->order < best->order)
            best = g;
    }
    return best;
}

/* ct_defrag_expire() at `now`, on the store. */
static void expire(struct cli_fragstore *s, uint64_t now)
{
    for (uint32_t i = 0; i < s->ng; i++) {
        struct group *g = &s->g[i];
        uint64_t to = s->timeout[g->key.l3 == CT_L3_IPV6];
        if (g->in_use && now >= g->created && now - g->created >= to)
            drop_group(s, g);
    }
}

/* A slot for a new datagram; with none free (the store lost step), the
   oldest datagram's. */
static struct group *create(struct cli_fragstore *s, const struct fkey *k, uint64_t now)
{
    struct group *g = NULL;
    for (uint32_t i = 0; i < s->ng && !g; i++)
        if (!s->g[i].in_use)
            g = &s->g[i];
    if (!g) {
        g = oldest(s, NULL, 0);
        drop_group(s, g);
    }
    g->key = *k;
    g->created = now;
    g->order = s->next_order++;
    g->in_use = 1;
    return g;
}

/* Copies the fragment into datagram `g` in offset order, dropping older
   datagrams' fragments for room. 0, or -1 when it cannot be kept. */
static int keep(struct cli_fragstore *s, struct group *g, const struct cli_frag_rec *rec,
                uint32_t off)
{
    uint64_t need = sizeof(struct cli_frag) + rec->caplen;
    struct group *o;
    while (s->bytes + need > s->max_bytes && (o = oldest(s, g, 1)) != NULL)
        lose_group(s, o);
    struct cli_frag *f = s->bytes + need <= s->max_bytes ? malloc(need) : NULL;
    if (!f)
        return -1;
    f->ts = rec->ts;
    f->caplen = rec->caplen;
    f->wire_len = rec->wire_len;
    f->off = off;
    f->link = rec->link;
    memcpy(f->data, rec->data, rec->caplen);
    s->bytes += need;
    struct cli_frag **pp = &g->frags;
    while (*pp && (*pp)->off < off)
        pp = &(*pp)->next;
    f->next = *pp;
    *pp = f;
    g->nfrags++;
    s->st.kept++;
    return 0;
}

int cli_fragstore_add(struct cli_fragstore *s, struct ct_defrag *d, const struct ct_pkt *pkt,
                      uint64_t now, const struct cli_frag_rec *rec, struct ct_frame *out,
                      uint16_t *reason, struct cli_frag **done)
{
    *done = NULL;
    struct ct_defrag_stats s0, s1;
    ct_defrag_stats(d, &s0);
    expire(s, now);
    int rc = ct_defrag_add(d, pkt, now, out, reason);
    ct_defrag_stats(d, &s1);
    if (rc < 0)
        return rc;
    uint64_t evicted = s1.evicted - s0.evicted;
    uint64_t gone = s1.timed_out - s0.timed_out + evicted;
    /* The fragment's datagram was dropped with it when the count falls by
       one more than expiry and eviction explain. */
    int dgram_dropped = rc == CT_DEFRAG_DROPPED && (uint64_t)s1.datagrams + gone != s0.datagrams;

    /* The reassembler read the fragment's key unless it refused the
       fragment alone before looking it up (then it evicted nothing). */
    struct fkey k;
    uint32_t off = 0;
    struct group *g = NULL;
    if (rc != CT_DEFRAG_DROPPED || evicted || dgram_dropped) {
        read_key(pkt, &k, &off);
        g = find(s, &k);
    }
    for (; evicted; evicted--) {
        struct group *o = oldest(s, g, 0);
        if (!o)
            break;
        drop_group(s, o);
    }
    if (rc == CT_DEFRAG_DROPPED) {
        if (dgram_dropped && g)
            drop_group(s, g);
        return rc;
    }
    if (!g)
        g = create(s, &k, now);
    if (rec && (g->lost || keep(s, g, rec, off) < 0)) {
        lose_group(s, g);
        s->st.lost++;
    }
    if (rc == CT_DEFRAG_DONE) {
        if (g->lost)
            s->st.lost_dgrams++;
        else
            s->st.handed += g->nfrags;
        *done = g->frags;
        g->frags = NULL;
        memset(g, 0, sizeof(*g));
    }
    return rc;
}
