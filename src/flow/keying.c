/*
 * Zeek connections from packets: the index from Zeek's key to a flowlog
 * slot, and the queue of Zeek deadlines that writes records on time
 * (include/ctrack/flowkey.h).
 *
 * Keying. Zeek's idea of a connection is not conntrack's, so the records
 * are not tied to conntrack's connections. Zeek makes a connection of every
 * TCP, UDP and ICMP packet (and of other protocols): a lone RST, a SYN-ACK
 * first, an ICMP error, neighbour discovery, all of which conntrack calls
 * INVALID or RELATED to another connection; it keys ICMP by the message type
 * and its counterpart (echo request 8 with reply 0) where conntrack keys it
 * by the identifier; and it ends connections by its own timers where
 * conntrack's differ. So this module keeps its own index from Zeek's key
 * (addresses, ports or ICMP types, protocol, and the zone, which holds the
 * VLAN stack when the caller keys by VLAN) to a slot of a struct
 * ct_flowlog. Every packet that parsed is accounted in the slot of its key,
 * with conntrack's verdict for the ct facts (state, TCP state, a bad
 * transport checksum). The slot's direction is that of its first packet: a
 * packet from the first packet's sender is ORIGINAL for the flowlog.
 *
 * Memory is fixed at creation: `capacity` slots (the flowlog's and this
 * index's), an open-addressing index of twice as many cells, and a heap of
 * deadlines. Nothing is allocated per packet. When every slot is taken, a
 * packet of a new key is not logged and is counted (`slots_full`).
 *
 * Expiry: after each packet the slot's deadline under Zeek's timers
 * (ct_flowlog_deadline()) is compared with the earliest time the slot is
 * queued at in a binary heap; only an earlier deadline pushes an entry (a
 * TCP close). When the caller's clock reaches an entry, the slot's real
 * deadline is read again: past, the record is written and the slot freed;
 * later (more packets came), the entry is queued again at the new time. So
 * a slot is pushed about once per timeout period, not once per packet.
 *
 * An earlier push leaves the slot's later entry behind, stale, until the
 * clock reaches it; so does a slot freed at the end of a record. At most
 * one entry per slot is live (the one at the slot's `queued` time, of its
 * current generation), so a heap of 2 * capacity entries, allocated at
 * creation, holds every live entry and at least `capacity` stale ones.
 * When it is full, the stale entries are dropped and the rest re-heaped in
 * place (Floyd's bottom-up construction, Knuth TAOCP vol. 3, 5.2.3), which
 * leaves room for `capacity` pushes: constant work per push, amortised.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/flowkey.h"
#include "ctrack/reason.h"

#define NO_SLOT CT_FLOW_SLOT_NONE

struct heap_ent {
    uint64_t when;
    uint32_t slot;
    uint32_t gen;
};

/* An index cell: 8 bytes, so that the index stays small and a probe
   touches one cache line; the key lives with the slot. */
struct cell {
    uint32_t slot1;       /* slot + 1; 0 = empty */
    uint32_t hash;
};

struct slot_meta {
    struct ct_tuple key;  /* canonical Zeek key: (src, sport) <= (dst, dport) */
    uint8_t first_is_src; /* the first packet came from key.src */
    uint8_t l4state;      /* conntrack's TCP state after the last packet that had a connection */
    uint8_t pad0[6];
    uint64_t queued;      /* earliest heap entry for this slot; UINT64_MAX none */
    uint32_t gen;         /* bumped when the slot is freed (stale heap entries) */
    uint32_t cell;        /* index cell holding this slot */
    uint32_t next_free;
    uint8_t hidden;       /* a GRE / IP-in-IP tunnel: not written, as Zeek */
    uint8_t used;
    uint8_t pad[2];
};

struct ct_flow_keyer {
    struct ct_flowlog *fl;
    void (*write)(void *arg, const struct ct_flow_record *rec);
    void *write_arg;
    int ct_info;          /* CT_FLOW_KEYER_F_CT_INFO */
    struct slot_meta *meta;
    struct cell *cells;
    uint32_t mask;
    uint32_t capacity;
    uint32_t free_head;   /* recycled slots */
    uint32_t fresh;       /* slots below this have been used once */
    uint32_t used;
    struct heap_ent *heap;
    size_t nheap, heap_cap;
    uint64_t slots_full;
    uint64_t written;
    struct ct_table *table;
};

/* ---- Zeek's key ------------------------------------------------------------ */

static uint16_t icmp_counterpart(uint8_t l3, uint8_t type, uint8_t code)
{
    int peer = ct_icmp_counterpart(l3 != CT_L3_IPV4, type);
    return peer >= 0 ? (uint16_t)peer : code;
}

/* The packet's key as sent (src -> dst); ICMP ports are (type, counterpart). */
static void packet_key(const struct ct_pkt *p, struct ct_tuple *k)
{
    *k = p->tuple;
    uint8_t pr = k->proto;
    if ((pr == CT_IPPROTO_ICMP && k->l3 == CT_L3_IPV4) ||
        (pr == CT_IPPROTO_ICMPV6 && k->l3 == CT_L3_IPV6)) {
        k->sport = p->icmp_type;
        k->dport = icmp_counterpart(k->l3, p->icmp_type, p->icmp_code);
    } else if (pr != CT_IPPROTO_TCP && pr != CT_IPPROTO_UDP && pr != CT_IPPROTO_SCTP &&
               pr != CT_IPPROTO_DCCP && pr != CT_IPPROTO_UDPLITE) {
        k->sport = k->dport = 0;
    }
}

/* Orders the two endpoints; returns 1 if the packet's source came first. */
static int canonical(struct ct_tuple *k)
{
    int c = memcmp(&k->src, &k->dst, sizeof(k->src));
    if (c < 0 || (c == 0 && k->sport <= k->dport))
        return 1;
    union ct_addr a = k->src;
    k->src = k->dst;
    k->dst = a;
    uint16_t p = k->sport;
    k->sport = k->dport;
    k->dport = p;
    return 0;
}

static uint32_t key_hash(const struct ct_tuple *k)
{
    uint64_t w[5];
    memcpy(w, k, sizeof(w));
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < 5; i++) {
        h ^= w[i];
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebull;
    return (uint32_t)(h ^ (h >> 32));
}

/* ---- index --------------------------------------------------------------------- */

static struct cell *find(const struct ct_flow_keyer *f, const struct ct_tuple *k, uint32_t h)
{
    for (uint32_t i = h & f->mask;; i = (i + 1) & f->mask) {
        struct cell *c = &f->cells[i];
        if (c->slot1 == 0)
            return NULL;
        if (c->hash == h && memcmp(&f->meta[c->slot1 - 1].key, k, sizeof(*k)) == 0)
            return c;
    }
}

static struct cell *insert(struct ct_flow_keyer *f, uint32_t slot, const struct ct_tuple *k,
                           uint32_t h)
{
    uint32_t i = h & f->mask;
    while (f->cells[i].slot1 != 0)
        i = (i + 1) & f->mask;
    struct cell *c = &f->cells[i];
    f->meta[slot].key = *k;
    c->slot1 = slot + 1;
    c->hash = h;
    f->meta[slot].cell = i;
    return c;
}

/* Removes the slot's cell, shifting later cells of the run back (linear
   probing without tombstones). */
static void erase(struct ct_flow_keyer *f, uint32_t slot)
{
    uint32_t i = f->meta[slot].cell;
    f->cells[i].slot1 = 0;
    for (uint32_t j = (i + 1) & f->mask; f->cells[j].slot1 != 0; j = (j + 1) & f->mask) {
        uint32_t home = f->cells[j].hash & f->mask;
        /* The cell at j may move to the hole at i if its home is not in (i, j]. */
        int move = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
        if (move) {
            f->cells[i] = f->cells[j];
            f->meta[f->cells[i].slot1 - 1].cell = i;
            f->cells[j].slot1 = 0;
            i = j;
        }
    }
}

/* ---- heap ---------------------------------------------------------------------- */

/* An entry is live while its slot is in use, of the same generation, and
   queued at the entry's time; every other entry is stale. */
static int heap_live(const struct ct_flow_keyer *f, const struct heap_ent *e)
{
    const struct slot_meta *m = &f->meta[e->slot];
    return m->used && e->gen == m->gen && e->when == m->queued;
}

/* Puts `e` at hole `i` of the first `n` entries, moving it down past the
   smaller of its children until neither is earlier. */
static void sift_down(struct ct_flow_keyer *f, size_t i, size_t n, struct heap_ent e)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && f->heap[c + 1].when < f->heap[c].when)
            c++;
        if (f->heap[c].when >= e.when)
            break;
        f->heap[i] = f->heap[c];
        i = c;
    }
    f->heap[i] = e;
}

/* Drops the stale entries and restores the heap order over the rest. */
static void heap_compact(struct ct_flow_keyer *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nheap; i++)
        if (heap_live(f, &f->heap[i]))
            f->heap[n++] = f->heap[i];
    f->nheap = n;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(f, i, n, f->heap[i]);
}

static void heap_push(struct ct_flow_keyer *f, uint64_t when, uint32_t slot)
{
    /* At most one entry per slot is live, so compaction leaves room. */
    if (f->nheap == f->heap_cap)
        heap_compact(f);
    size_t i = f->nheap++;
    struct heap_ent e = {when, slot, f->meta[slot].gen};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (f->heap[p].when <= when)
            break;
        f->heap[i] = f->heap[p];
        i = p;
    }
    f->heap[i] = e;
    f->meta[slot].queued = when;
}

static struct heap_ent heap_pop(struct ct_flow_keyer *f)
{
    struct heap_ent top = f->heap[0];
    struct heap_ent last = f->heap[--f->nheap];
    if (f->nheap)
        sift_down(f, 0, f->nheap, last);
    return top;
}

/* ---- records --------------------------------------------------------------------- */

static void free_slot(struct ct_flow_keyer *f, uint32_t slot)
{
    struct slot_meta *m = &f->meta[slot];
    erase(f, slot);
    m->used = 0;
    m->gen++;
    m->queued = UINT64_MAX;
    m->next_free = f->free_head;
    f->free_head = slot;
    f->used--;
}

/* Adds conntrack's facts for TCP and UDP records whose connection is still
   in the table (ICMP records are keyed by type, not by conntrack's id). */
static const struct ct_conn_info *ct_info(struct ct_flow_keyer *f, const struct ct_flow_record *r,
                                          uint64_t now, struct ct_conn_info *ci)
{
    if (!f->ct_info || (r->ip_proto != CT_IPPROTO_TCP && r->ip_proto != CT_IPPROTO_UDP))
        return NULL;
    struct ct_conn *c = ct_table_lookup(f->table, &r->id, now, NULL);
    if (!c || ct_conn_get_info(f->table, c, ci) != 0)
        return NULL;
    return ci;
}

static void write_record(struct ct_flow_keyer *f, uint32_t slot, const struct ct_flow_record *r)
{
    if (f->meta[slot].hidden)
        return;
    f->write(f->write_arg, r);
    f->written++;
}

/* Writes the record of a slot whose deadline passed, with conntrack's facts
   added by hand: ct_flowlog_expire() ended it without them. */
static void expire_slot(struct ct_flow_keyer *f, uint32_t slot, uint64_t now)
{
    struct ct_flow_record rec;
    if (ct_flowlog_expire(f->fl, slot, now, &rec) == 1) {
        struct ct_conn_info ci;
        const struct ct_conn_info *pi = ct_info(f, &rec, now, &ci);
        if (pi) {
            rec.has_ct_info = 1;
            rec.ct_status = pi->status;
            rec.mark = pi->mark;
            rec.ct_timeout = pi->timeout;
            rec.l4state = pi->l4state;
            for (unsigned i = 0; i < 2; i++) {
                rec.ct_packets[i] = pi->packets[i];
                rec.ct_bytes[i] = pi->bytes[i];
            }
        }
        write_record(f, slot, &rec);
    }
    free_slot(f, slot);
}

CT_EXPORT void ct_flow_keyer_advance(struct ct_flow_keyer *f, uint64_t now)
{
    while (f->nheap > 0 && f->heap[0].when <= now) {
        struct heap_ent e = heap_pop(f);
        struct slot_meta *m = &f->meta[e.slot];
        if (!heap_live(f, &e))
            continue; /* stale: freed since, or queued again earlier */
        uint64_t d = ct_flowlog_deadline(f->fl, e.slot);
        if (d <= now) {
            expire_slot(f, e.slot, now);
        } else if (d != UINT64_MAX) {
            m->queued = UINT64_MAX;
            heap_push(f, d, e.slot);
        } else {
            m->queued = UINT64_MAX;
        }
    }
}

/* What ct_flowlog_open() and _packet() accept: a packet that parsed. */
static inline int parsed(const struct ct_pkt *pkt)
{
    return (pkt->reason == CT_REASON_NONE || pkt->reason == CT_REASON_L4_CHECKSUM) &&
           (pkt->tuple.l3 == CT_L3_IPV4 || pkt->tuple.l3 == CT_L3_IPV6);
}

CT_EXPORT void ct_flow_keyer_prefetch(const struct ct_flow_keyer *f, const struct ct_pkt *pkt)
{
    struct ct_tuple k;
    packet_key(pkt, &k);
    canonical(&k);
    __builtin_prefetch(&f->cells[key_hash(&k) & f->mask]);
}

/* Takes a free slot for key `k` (hash `h`) and indexes it; NO_SLOT when
   every slot is in use. */
static uint32_t open_slot(struct ct_flow_keyer *f, const struct ct_tuple *k, uint32_t h,
                          int from_src, unsigned flags)
{
    uint32_t slot;
    if (f->free_head != NO_SLOT) {
        slot = f->free_head;
        f->free_head = f->meta[slot].next_free;
    } else if (f->fresh < f->capacity) {
        slot = f->fresh++;
    } else {
        f->slots_full++;
        return NO_SLOT;
    }
    struct slot_meta *m = &f->meta[slot];
    f->used++;
    m->used = 1;
    m->hidden = (uint8_t)((flags & CT_FLOW_PKT_F_HIDDEN) != 0);
    m->queued = UINT64_MAX;
    (void)insert(f, slot, k, h);
    m->first_is_src = (uint8_t)from_src;
    m->l4state = 0;
    return slot;
}

CT_EXPORT uint32_t ct_flow_keyer_packet(struct ct_flow_keyer *f, const struct ct_pkt *pkt,
                                        const struct ct_verdict *v, uint64_t now,
                                        uint32_t parent, unsigned flags)
{
    if (!parsed(pkt))
        return NO_SLOT;
    struct ct_tuple k;
    packet_key(pkt, &k);
    int from_src = canonical(&k);
    uint32_t h = key_hash(&k);
    struct cell *c = find(f, &k, h);
    uint32_t slot;
    struct ct_verdict fv = *v;
    struct ct_flow_record ended;
    int rc;
    if (!c) {
        slot = open_slot(f, &k, h, from_src, flags);
        if (slot == NO_SLOT)
            return NO_SLOT;
        fv.dir = CT_DIR_ORIGINAL;
        rc = ct_flowlog_open(f->fl, slot, pkt, &fv, now, &ended);
    } else {
        slot = c->slot1 - 1;
        fv.dir = (f->meta[slot].first_is_src == from_src) ? CT_DIR_ORIGINAL : CT_DIR_REPLY;
        /* A packet conntrack matched to no connection (INVALID, a late RST)
           says nothing about the connection's TCP state: keep the last one. */
        if (!v->conn)
            fv.l4state = f->meta[slot].l4state;
        rc = ct_flowlog_packet(f->fl, slot, pkt, &fv, now, &ended);
    }
    if (v->conn)
        f->meta[slot].l4state = v->l4state;
    if (rc == 1)
        write_record(f, slot, &ended);
    if (rc < 0)
        return NO_SLOT;
    if (parent != NO_SLOT)
        (void)ct_flowlog_add_parent(f->fl, slot, parent);
    uint64_t d = ct_flowlog_deadline(f->fl, slot);
    if (d < f->meta[slot].queued)
        heap_push(f, d, slot);
    return slot;
}

struct fin_ent {
    struct ct_flow_record rec;
    uint32_t slot;
};

static int cmp_fin(const void *a, const void *b)
{
    const struct fin_ent *x = a, *y = b;
    if (x->rec.ts != y->rec.ts)
        return x->rec.ts < y->rec.ts ? -1 : 1;
    return strcmp(x->rec.uid, y->rec.uid);
}

CT_EXPORT int ct_flow_keyer_finish(struct ct_flow_keyer *f, uint64_t now)
{
    ct_flow_keyer_advance(f, now);
    size_t n = 0;
    struct fin_ent *v = f->used ? malloc(f->used * sizeof(*v)) : NULL;
    if (f->used && !v)
        return -ENOMEM;
    for (uint32_t s = 0; s < f->fresh && n < f->used; s++) {
        if (!f->meta[s].used)
            continue;
        struct ct_conn_info ci;
        struct ct_flow_record peek;
        const struct ct_conn_info *pi = NULL;
        if (ct_flowlog_peek(f->fl, s, &peek) == 1)
            pi = ct_info(f, &peek, now, &ci);
        if (ct_flowlog_close(f->fl, s, pi, CT_FLOW_END_SHUTDOWN, now, &v[n].rec) == 1) {
            v[n].slot = s;
            n++;
        }
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_fin);
    for (size_t i = 0; i < n; i++)
        write_record(f, v[i].slot, &v[i].rec);
    for (uint32_t s = 0; s < f->fresh && f->used; s++)
        if (f->meta[s].used)
            free_slot(f, s);
    free(v);
    return 0;
}

CT_EXPORT void ct_flow_keyer_stats(const struct ct_flow_keyer *f, struct ct_flow_keyer_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->written = f->written;
    st->slots_full = f->slots_full;
    st->open = f->used;
    st->capacity = f->capacity;
}

CT_EXPORT void ct_flow_keyer_config_init(struct ct_flow_keyer_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    ct_flowlog_config_init(&cfg->flowlog);
}

static int check_config(const struct ct_flow_keyer_config *cfg)
{
    if (!cfg || !cfg->write || (cfg->flags & ~(uint32_t)CT_FLOW_KEYER_F_ALL) || cfg->reserved32)
        return -EINVAL;
    for (unsigned i = 0; i < CT_ARRAY_SIZE(cfg->reserved); i++)
        if (cfg->reserved[i])
            return -EINVAL;
    if ((cfg->flags & CT_FLOW_KEYER_F_CT_INFO) && !cfg->table)
        return -EINVAL;
    return 0;
}

/* The index, the slots' keys and the deadline heap for `capacity` slots. */
static int alloc_index(struct ct_flow_keyer *f, uint32_t capacity)
{
    uint32_t cells = 16;
    while (cells < 2 * (uint64_t)capacity)
        cells *= 2;
    f->capacity = capacity;
    f->mask = cells - 1;
    f->heap_cap = 2 * (size_t)capacity;
    /* Slots are handed out in order, then recycled: memory (calloc'd, so
       committed on first touch) is touched only as far as the peak number
       of connections; the heap likewise only as far as it grows. */
    f->meta = calloc(capacity, sizeof(*f->meta));
    f->cells = calloc(cells, sizeof(*f->cells));
    f->heap = malloc(f->heap_cap * sizeof(*f->heap));
    if (!f->meta || !f->cells || !f->heap)
        return -ENOMEM;
    f->free_head = NO_SLOT;
    return 0;
}

CT_EXPORT struct ct_flow_keyer *ct_flow_keyer_create(const struct ct_flow_keyer_config *cfg,
                                                     int *err)
{
    int e = check_config(cfg);
    struct ct_flow_keyer *f = NULL;
    if (e == 0) {
        f = calloc(1, sizeof(*f));
        if (!f)
            e = -ENOMEM;
    }
    if (e == 0) {
        f->fl = ct_flowlog_create(&cfg->flowlog, &e);
        e = f->fl ? alloc_index(f, cfg->flowlog.capacity) : e;
    }
    if (e != 0) {
        ct_flow_keyer_destroy(f);
        if (err)
            *err = e;
        return NULL;
    }
    f->write = cfg->write;
    f->write_arg = cfg->write_arg;
    f->ct_info = (cfg->flags & CT_FLOW_KEYER_F_CT_INFO) != 0;
    f->table = cfg->table;
    if (err)
        *err = 0;
    return f;
}

CT_EXPORT struct ct_flowlog *ct_flow_keyer_flowlog(struct ct_flow_keyer *f)
{
    return f ? f->fl : NULL;
}

CT_EXPORT void ct_flow_keyer_destroy(struct ct_flow_keyer *f)
{
    if (!f)
        return;
    ct_flowlog_destroy(f->fl);
    free(f->meta);
    free(f->cells);
    free(f->heap);
    free(f);
}
