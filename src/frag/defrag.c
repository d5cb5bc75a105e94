/*
 * IPv4 and IPv6 fragment reassembly (ctrack/defrag.h has the contract).
 *
 * Layout, all allocated by ct_defrag_create():
 *   - a slot per datagram in reassembly: its key, its timer, what is known
 *     of its length, a bitmap of the 8-byte units received and a page table;
 *   - a chained hash index over the slots, keyed by SipHash-1-3;
 *   - a pool of CT_DEFRAG_PAGE-byte buffer pages (max_bytes in all). Page i
 *     of a datagram holds its payload bytes [i * PAGE, (i + 1) * PAGE); two
 *     more pages hold the unfragmentable part copied from the first
 *     fragment. Fragments are copied in where they belong, so completing a
 *     datagram is one copy into the output buffer;
 *   - one output buffer for the reassembled datagram.
 *
 * Every fragment offset is a multiple of 8 (RFC 791, RFC 8200), and only the
 * last fragment may end elsewhere, so one bit per 8-byte unit tells exactly
 * which bytes were received: a fragment whose units are all set is a
 * duplicate, one with some set overlaps.
 *
 * Datagrams sit on two lists in creation order, one per family, so that each
 * list is also in timeout order (one timeout per family) and expiry looks at
 * list heads only. Eviction takes the older of the two heads.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/compiler.h"
#include "base/siphash.h"
#include "ctrack/defrag.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "packet/packet_priv.h"

#define NIL UINT32_MAX
#define PAYLOAD_MAX 65536u                           /* payload bytes a datagram can span */
#define DATA_PAGES (PAYLOAD_MAX / CT_DEFRAG_PAGE)     /* 64 */
#define HDR_PAGES (CT_DEFRAG_HDR_MAX / CT_DEFRAG_PAGE) /* 2 */
#define UNITS (PAYLOAD_MAX / 8u)                      /* 8-byte units */
#define BITMAP_WORDS (UNITS / 64u)

_Static_assert(PAYLOAD_MAX % CT_DEFRAG_PAGE == 0 && CT_DEFRAG_HDR_MAX % CT_DEFRAG_PAGE == 0,
               "pages divide the payload and header areas");

/* What identifies a datagram: 40 bytes, no padding, hashed and compared as bytes. */
struct dkey {
    uint8_t src[16]; /* IPv4 in the first 4 bytes, the rest zero */
    uint8_t dst[16];
    uint32_t id;     /* identification (IPv4: 16 bits) */
    uint16_t zone;
    uint8_t l3;      /* 4 or 6 */
    uint8_t proto;   /* IPv4 protocol; 0 for IPv6 (not part of its key) */
};
_Static_assert(sizeof(struct dkey) == 40, "struct dkey must be padding-free");

struct dgram {
    struct dkey key;
    uint64_t created;   /* now at the first fragment */
    uint64_t order;     /* creation order, for eviction */
    uint32_t hnext;     /* hash chain, or free list */
    uint32_t prev;      /* age list of the family */
    uint32_t next;
    uint32_t len;       /* payload length: the last fragment's end, else the largest end so far */
    uint32_t meat;      /* payload bytes received */
    uint32_t nfrags;    /* fragments stored */
    uint16_t hdr_len;   /* unfragmentable part stored (0 until the first fragment) */
    uint16_t nh_off;    /* IPv6: offset in the header of the byte that names the fragment header */
    uint8_t first_in;   /* the fragment at offset 0 arrived */
    uint8_t last_in;    /* the fragment without MF arrived */
    uint8_t nh;         /* IPv6: next header in the first fragment's fragment header */
    uint8_t in_use;
    uint32_t page[DATA_PAGES + HDR_PAGES];
    uint64_t bits[BITMAP_WORDS];
};

struct ct_defrag {
    struct ct_defrag_config cfg;
    uint64_t k0, k1;
    uint32_t nbuckets;  /* a power of two */
    uint32_t *buckets;
    struct dgram *dg;
    uint32_t free_dg;   /* free slots, chained by hnext */
    uint32_t head[2];   /* age lists: [0] IPv4, [1] IPv6 */
    uint32_t tail[2];
    uint64_t next_order;
    uint8_t *pages;     /* npages * CT_DEFRAG_PAGE bytes */
    uint32_t *free_pages;
    uint32_t npages;
    uint32_t nfree;     /* entries in free_pages */
    uint8_t *out;       /* CT_DEFRAG_HDR_MAX + PAYLOAD_MAX bytes */
    struct ct_defrag_stats st;
};

/* A fragment as read from a parsed packet. */
struct frag {
    struct dkey key;
    const uint8_t *l3;   /* IP header */
    const uint8_t *data; /* fragment data */
    uint32_t off;        /* offset of the data in the payload */
    uint32_t len;        /* data bytes */
    uint32_t hdr_len;    /* unfragmentable part: IPv4 header, IPv6 up to the fragment header */
    uint8_t more;        /* MF / M flag */
    uint8_t nh;          /* IPv6: next header of the fragment header */
    uint8_t v6;
};

CT_EXPORT void ct_defrag_config_init(struct ct_defrag_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_datagrams = 1024;
    cfg->max_fragments = 256;
    cfg->max_bytes = 4u << 20;
    cfg->timeout_ipv4 = 30ull * 1000000000ull;
    cfg->timeout_ipv6 = 60ull * 1000000000ull;
}

/* ---- creation ------------------------------------------------------------------ */

CT_EXPORT void ct_defrag_destroy(struct ct_defrag *d)
{
    if (!d)
        return;
    free(d->buckets);
    free(d->dg);
    free(d->pages);
    free(d->free_pages);
    free(d->out);
    free(d);
}

CT_EXPORT struct ct_defrag *ct_defrag_create(const struct ct_defrag_config *cfg, int *err)
{
    int e = -EINVAL;
    struct ct_defrag *d = NULL;
    if (!cfg || cfg->max_datagrams == 0 || cfg->max_datagrams > (1u << 24) || cfg->max_fragments == 0 ||
        cfg->max_bytes < CT_DEFRAG_MIN_BYTES || cfg->max_bytes / CT_DEFRAG_PAGE >= NIL ||
        cfg->timeout_ipv4 == 0 || cfg->timeout_ipv6 == 0 || (cfg->flags & ~(uint32_t)CT_DEFRAG_F_FIXED_KEY))
        goto fail;
    e = -ENOMEM;
    d = calloc(1, sizeof(*d));
    if (!d)
        goto fail;
    d->cfg = *cfg;
    if (cfg->flags & CT_DEFRAG_F_FIXED_KEY) {
        d->k0 = cfg->hash_key[0];
        d->k1 = cfg->hash_key[1];
    } else {
        uint64_t key[2];
        size_t got = 0;
        while (got < sizeof(key)) {
            ssize_t r = getrandom((uint8_t *)key + got, sizeof(key) - got, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                e = -errno;
                goto fail;
            }
            got += (size_t)r;
        }
        d->k0 = key[0];
        d->k1 = key[1];
    }
    uint32_t nb = 1;
    while (nb < cfg->max_datagrams)
        nb <<= 1;
    d->nbuckets = nb;
    d->npages = (uint32_t)(cfg->max_bytes / CT_DEFRAG_PAGE);
    d->buckets = malloc(sizeof(*d->buckets) * nb);
    d->dg = calloc(cfg->max_datagrams, sizeof(*d->dg));
    d->pages = malloc((size_t)d->npages * CT_DEFRAG_PAGE);
    d->free_pages = malloc(sizeof(*d->free_pages) * d->npages);
    d->out = malloc(CT_DEFRAG_HDR_MAX + PAYLOAD_MAX);
    if (!d->buckets || !d->dg || !d->pages || !d->free_pages || !d->out)
        goto fail;
    for (uint32_t i = 0; i < nb; i++)
        d->buckets[i] = NIL;
    for (uint32_t i = 0; i < cfg->max_datagrams; i++)
        d->dg[i].hnext = i + 1 < cfg->max_datagrams ? i + 1 : NIL;
    d->free_dg = 0;
    for (uint32_t i = 0; i < d->npages; i++)
        d->free_pages[i] = d->npages - 1 - i;
    d->nfree = d->npages;
    d->head[0] = d->head[1] = d->tail[0] = d->tail[1] = NIL;
    *err = 0;
    return d;
fail:
    ct_defrag_destroy(d);
    *err = e;
    return NULL;
}

/* ---- index, lists and pages ---------------------------------------------------------------- */

static uint32_t bucket_of(const struct ct_defrag *d, const struct dkey *k)
{
    return (uint32_t)ct_siphash13(d->k0, d->k1, k, sizeof(*k)) & (d->nbuckets - 1);
}

static uint32_t lookup(const struct ct_defrag *d, const struct dkey *k)
{
    for (uint32_t i = d->buckets[bucket_of(d, k)]; i != NIL; i = d->dg[i].hnext)
        if (memcmp(&d->dg[i].key, k, sizeof(*k)) == 0)
            return i;
    return NIL;
}

static unsigned fam(const struct dgram *g)
{
    return g->key.l3 == CT_L3_IPV6;
}

/* Unlinks a datagram from the index and its age list, returns its pages
   and its slot. */
static void release(struct ct_defrag *d, uint32_t i)
{
    struct dgram *g = &d->dg[i];
    uint32_t *pp = &d->buckets[bucket_of(d, &g->key)];
    while (*pp != i)
        pp = &d->dg[*pp].hnext;
    *pp = g->hnext;
    unsigned f = fam(g);
    if (g->prev != NIL)
        d->dg[g->prev].next = g->next;
    else
        d->head[f] = g->next;
    if (g->next != NIL)
        d->dg[g->next].prev = g->prev;
    else
        d->tail[f] = g->prev;
    for (unsigned p = 0; p < DATA_PAGES + HDR_PAGES; p++)
        if (g->page[p] != NIL)
            d->free_pages[d->nfree++] = g->page[p];
    g->in_use = 0;
    g->hnext = d->free_dg;
    d->free_dg = i;
    d->st.datagrams--;
}

/* The oldest datagram other than `keep`, or NIL. */
static uint32_t oldest(const struct ct_defrag *d, uint32_t keep)
{
    uint32_t best = NIL;
    for (unsigned f = 0; f < 2; f++) {
        uint32_t i = d->head[f];
        if (i != NIL && i == keep)
            i = d->dg[i].next;
        if (i != NIL && (best == NIL || d->dg[i].order < d->dg[best].order))
            best = i;
    }
    return best;
}

/* Evicts the oldest datagram other than `keep`; 0 when there is none. */
static int evict_one(struct ct_defrag *d, uint32_t keep)
{
    uint32_t i = oldest(d, keep);
    if (i == NIL)
        return 0;
    release(d, i);
    d->st.evicted++;
    return 1;
}

static uint32_t create(struct ct_defrag *d, const struct dkey *k, uint64_t now)
{
    if (d->free_dg == NIL)
        evict_one(d, NIL);
    uint32_t i = d->free_dg;
    struct dgram *g = &d->dg[i];
    d->free_dg = g->hnext;
    memset(g, 0, offsetof(struct dgram, page));
    g->key = *k;
    g->created = now;
    g->order = d->next_order++;
    g->in_use = 1;
    for (unsigned p = 0; p < DATA_PAGES + HDR_PAGES; p++)
        g->page[p] = NIL;
    memset(g->bits, 0, sizeof(g->bits));
    uint32_t b = bucket_of(d, k);
    g->hnext = d->buckets[b];
    d->buckets[b] = i;
    unsigned f = fam(g);
    g->next = NIL;
    g->prev = d->tail[f];
    if (g->prev != NIL)
        d->dg[g->prev].next = i;
    else
        d->head[f] = i;
    d->tail[f] = i;
    d->st.datagrams++;
    return i;
}

static uint64_t timeout_of(const struct ct_defrag *d, unsigned f)
{
    return f ? d->cfg.timeout_ipv6 : d->cfg.timeout_ipv4;
}

CT_EXPORT unsigned ct_defrag_expire(struct ct_defrag *d, uint64_t now)
{
    unsigned n = 0;
    for (unsigned f = 0; f < 2; f++) {
        uint64_t to = timeout_of(d, f);
        while (d->head[f] != NIL) {
            const struct dgram *g = &d->dg[d->head[f]];
            if (now < g->created || now - g->created < to)
                break;
            release(d, d->head[f]);
            d->st.timed_out++;
            n++;
        }
    }
    return n;
}

/*
 * Makes sure the pages [first, last] of datagram `i` exist, evicting older
 * datagrams when the pool runs out. The pool holds at least one whole
 * datagram (CT_DEFRAG_MIN_BYTES), so this cannot fail once every other
 * datagram is gone.
 */
static void ensure_pages(struct ct_defrag *d, uint32_t i, unsigned first, unsigned last)
{
    struct dgram *g = &d->dg[i];
    uint32_t need = 0;
    for (unsigned p = first; p <= last; p++)
        need += g->page[p] == NIL;
    while (d->nfree < need && evict_one(d, i))
        ;
    for (unsigned p = first; p <= last; p++)
        if (g->page[p] == NIL)
            g->page[p] = d->free_pages[--d->nfree];
}

/* Copies n bytes to byte `pos` of the paged area starting at page index `p0`. */
static void put_paged(struct ct_defrag *d, const struct dgram *g, unsigned p0, uint32_t pos, const uint8_t *src,
                      uint32_t n)
{
    while (n) {
        uint32_t in = pos % CT_DEFRAG_PAGE;
        uint32_t k = CT_DEFRAG_PAGE - in < n ? CT_DEFRAG_PAGE - in : n;
        memcpy(d->pages + (size_t)g->page[p0 + pos / CT_DEFRAG_PAGE] * CT_DEFRAG_PAGE + in, src, k);
        src += k;
        pos += k;
        n -= k;
    }
}

static void get_paged(const struct ct_defrag *d, const struct dgram *g, unsigned p0, uint8_t *dst, uint32_t n)
{
    for (uint32_t pos = 0; pos < n; pos += CT_DEFRAG_PAGE) {
        uint32_t k = n - pos < CT_DEFRAG_PAGE ? n - pos : CT_DEFRAG_PAGE;
        memcpy(dst + pos, d->pages + (size_t)g->page[p0 + pos / CT_DEFRAG_PAGE] * CT_DEFRAG_PAGE, k);
    }
}

/* ---- the 8-byte unit bitmap ----------------------------------------------------------------- */

/* Mask of bits [lo, hi) within one 64-bit word, 0 <= lo < hi <= 64. */
static inline uint64_t word_mask(unsigned lo, unsigned hi)
{
    uint64_t m = hi == 64 ? ~0ull : (1ull << hi) - 1;
    return m & ~((1ull << lo) - 1);
}

/* How many units in [a, b) are set. */
static uint32_t units_set(const struct dgram *g, uint32_t a, uint32_t b)
{
    uint32_t n = 0;
    while (a < b) {
        unsigned w = a / 64, lo = a % 64;
        unsigned hi = b - (uint32_t)w * 64 < 64 ? (unsigned)(b - w * 64u) : 64;
        n += (uint32_t)__builtin_popcountll(g->bits[w] & word_mask(lo, hi));
        a = w * 64u + hi;
    }
    return n;
}

static void units_mark(struct dgram *g, uint32_t a, uint32_t b)
{
    while (a < b) {
        unsigned w = a / 64, lo = a % 64;
        unsigned hi = b - (uint32_t)w * 64 < 64 ? (unsigned)(b - w * 64u) : 64;
        g->bits[w] |= word_mask(lo, hi);
        a = w * 64u + hi;
    }
}

/* ---- reading a fragment -------------------------------------------------------------------- */

/*
 * Length in bytes of the IPv6 extension header at `e` of type `nh`
 * (RFC 8200 section 4; AH per RFC 4302 counts 4-byte units), or 0 for a
 * type that is not an extension header.
 */
static uint32_t ext_len(uint8_t nh, const uint8_t *e)
{
    switch (nh) {
    case CT_IPPROTO_HOPOPTS:
    case CT_IPPROTO_ROUTING:
    case CT_IPPROTO_DSTOPTS:
    case CT_IPPROTO_MH:
    case CT_IPPROTO_HIP:
    case CT_IPPROTO_SHIM6:
        return ((uint32_t)e[1] + 1) * 8;
    case CT_IPPROTO_FRAGMENT:
        return 8;
    case CT_IPPROTO_AH:
        return ((uint32_t)e[1] + 2) * 4;
    default:
        return 0;
    }
}

/*
 * Finds, in an IPv6 header chain from `h` whose fragment header is at
 * `fh_off`, the offset of the byte naming the fragment header: the IPv6
 * next header field (6) or the first byte of the extension header before
 * it. Returns 0 when the chain does not lead there.
 */
static uint32_t ip6_nh_off(const uint8_t *h, uint32_t fh_off)
{
    uint32_t nh_off = 6, off = 40;
    uint8_t nh = h[6];
    while (off < fh_off) {
        if (fh_off - off < 2)
            return 0;
        uint32_t l = ext_len(nh, h + off);
        if (l == 0 || l > fh_off - off)
            return 0;
        nh_off = off;
        nh = h[off];
        off += l;
    }
    return nh == CT_IPPROTO_FRAGMENT ? nh_off : 0;
}

/* Reads the fragment fields; returns a reason when they cannot be used. */
static uint16_t read_frag(const struct ct_pkt *pkt, struct frag *fr)
{
    memset(fr, 0, sizeof(*fr));
    const struct ct_tuple *t = &pkt->tuple;
    uint32_t l3 = pkt->l3_off, l4 = pkt->l4_off;
    if (!pkt->data || l3 > pkt->len || pkt->ip_len > pkt->len - l3 || l4 < l3 || pkt->l4_len > pkt->ip_len ||
        l4 - l3 > pkt->ip_len - pkt->l4_len)
        return pkt->snapped ? CT_REASON_FRAG_SNAPPED : CT_REASON_FRAG_INVALID;
    const uint8_t *h = pkt->data + l3;
    fr->l3 = h;
    fr->data = pkt->data + l4;
    fr->len = pkt->l4_len;
    fr->key.zone = t->zone;
    if (t->l3 == CT_L3_IPV4) {
        if (l4 - l3 < 20)
            return CT_REASON_FRAG_INVALID;
        uint16_t fo = ct_be16(h + 6);
        fr->off = (fo & 0x1fffu) * 8u;
        fr->more = (fo & 0x2000u) != 0;
        fr->hdr_len = l4 - l3;
        fr->key.l3 = CT_L3_IPV4;
        fr->key.proto = h[9];
        fr->key.id = ct_be16(h + 4);
        memcpy(fr->key.src, h + 12, 4);
        memcpy(fr->key.dst, h + 16, 4);
    } else if (t->l3 == CT_L3_IPV6) {
        if (l4 - l3 < 48)
            return CT_REASON_FRAG_INVALID;
        const uint8_t *fh = pkt->data + l4 - 8;
        uint16_t fo = ct_be16(fh + 2);
        fr->v6 = 1;
        fr->off = fo & 0xfff8u;
        fr->more = fo & 1u;
        fr->nh = fh[0];
        fr->hdr_len = l4 - 8 - l3;
        fr->key.l3 = CT_L3_IPV6;
        fr->key.id = ct_be32(fh + 4);
        memcpy(fr->key.src, h + 8, 16);
        memcpy(fr->key.dst, h + 24, 16);
    } else {
        return CT_REASON_FRAG_INVALID;
    }
    if (fr->off + fr->len > 65535u || (fr->more && (fr->len & 7u)))
        return CT_REASON_FRAG_INVALID;
    return CT_REASON_NONE;
}

/* ---- reassembly ------------------------------------------------------------------------------ */

/* Writes the reassembled datagram `i` to the output buffer and describes it. */
static void build(struct ct_defrag *d, uint32_t i, const struct ct_pkt *pkt, struct ct_frame *out)
{
    const struct dgram *g = &d->dg[i];
    uint8_t *o = d->out;
    uint32_t hl = g->hdr_len;
    get_paged(d, g, DATA_PAGES, o, hl);
    get_paged(d, g, 0, o + hl, g->len);
    uint32_t total = hl + g->len;
    if (g->key.l3 == CT_L3_IPV4) {
        o[2] = (uint8_t)(total >> 8);
        o[3] = (uint8_t)total;
        o[6] &= 0x40; /* keep DF; clear MF and the offset */
        o[7] = 0;
        o[10] = o[11] = 0;
        uint16_t c = (uint16_t)~ct_csum_fold(ct_csum_add(0, o, hl));
        memcpy(o + 10, &c, 2); /* the sum is in native order (packet_priv.h) */
        out->link = CT_LINK_IPV4;
    } else {
        uint32_t plen = total - 40;
        o[4] = (uint8_t)(plen >> 8);
        o[5] = (uint8_t)plen;
        o[g->nh_off] = g->nh;
        out->link = CT_LINK_IPV6;
    }
    out->data = o;
    out->len = total;
    out->wire_len = total;
    out->zone = g->key.zone;
    out->mark = pkt->mark;
    out->flags = 0; /* NICs do not verify the checksum of a fragmented datagram */
}

/* Drops datagram `i` for `reason`, counting it. */
static int drop_dgram(struct ct_defrag *d, uint32_t i, uint16_t reason, uint16_t *out_reason)
{
    release(d, i);
    if (reason == CT_REASON_FRAG_OVERLAP)
        d->st.overlaps++;
    else if (reason == CT_REASON_FRAG_TOO_MANY)
        d->st.too_many++;
    else
        d->st.invalid++;
    *out_reason = reason;
    return CT_DEFRAG_DROPPED;
}

/* 1 if the datagram's known header and length make it longer than IP allows. */
static int oversized(const struct dgram *g)
{
    if (!g->first_in || !g->last_in)
        return 0;
    uint32_t hl = g->hdr_len;
    return g->key.l3 == CT_L3_IPV4 ? hl + g->len > 65535u : hl - 40 + g->len > 65535u;
}

CT_EXPORT int ct_defrag_add(struct ct_defrag *d, const struct ct_pkt *pkt, uint64_t now, struct ct_frame *out,
                            uint16_t *reason)
{
    uint16_t dummy;
    if (!reason)
        reason = &dummy;
    *reason = CT_REASON_NONE;
    if (!d || !pkt || !out || pkt->frag == CT_FRAG_NONE ||
        (pkt->reason != CT_REASON_FRAGMENT && pkt->reason != CT_REASON_FRAG_INVALID))
        return -EINVAL;
    d->st.fragments++;
    ct_defrag_expire(d, now);

    struct frag fr;
    uint16_t r = pkt->reason == CT_REASON_FRAG_INVALID ? CT_REASON_FRAG_INVALID : read_frag(pkt, &fr);
    if (r != CT_REASON_NONE) {
        if (r == CT_REASON_FRAG_SNAPPED)
            d->st.snapped++;
        else
            d->st.invalid++;
        *reason = r;
        return CT_DEFRAG_DROPPED;
    }
    if (fr.off == 0 && fr.hdr_len > CT_DEFRAG_HDR_MAX) {
        d->st.invalid++;
        *reason = CT_REASON_FRAG_INVALID;
        return CT_DEFRAG_DROPPED;
    }
    uint32_t nh_off = 0;
    if (fr.v6 && fr.off == 0) {
        nh_off = ip6_nh_off(fr.l3, fr.hdr_len);
        if (nh_off == 0) {
            d->st.invalid++;
            *reason = CT_REASON_FRAG_INVALID;
            return CT_DEFRAG_DROPPED;
        }
    }

    uint32_t i = lookup(d, &fr.key);
    if (i == NIL)
        i = create(d, &fr.key, now);
    struct dgram *g = &d->dg[i];
    uint32_t end = fr.off + fr.len;

    /* Lengths, in the order Linux checks them. */
    if (fr.len == 0)
        return drop_dgram(d, i, CT_REASON_FRAG_INVALID, reason);
    if (!fr.more) {
        if (end < g->len || (g->last_in && end != g->len))
            return drop_dgram(d, i, CT_REASON_FRAG_INVALID, reason);
        g->last_in = 1;
        g->len = end;
    } else if (end > g->len) {
        if (g->last_in)
            return drop_dgram(d, i, CT_REASON_FRAG_INVALID, reason);
        g->len = end;
    }

    /* Duplicates and overlaps (RFC 5722 with errata 3089). */
    uint32_t ua = fr.off / 8, ub = (end + 7) / 8;
    uint32_t seen = units_set(g, ua, ub);
    if (seen == ub - ua) {
        d->st.duplicates++;
        *reason = CT_REASON_FRAG_DUPLICATE;
        return CT_DEFRAG_DROPPED;
    }
    if (seen)
        return drop_dgram(d, i, CT_REASON_FRAG_OVERLAP, reason);
    if (g->nfrags >= d->cfg.max_fragments)
        return drop_dgram(d, i, CT_REASON_FRAG_TOO_MANY, reason);

    if (fr.off == 0) {
        g->first_in = 1;
        g->hdr_len = (uint16_t)fr.hdr_len;
        g->nh_off = (uint16_t)nh_off;
        g->nh = fr.nh;
    }
    if (oversized(g))
        return drop_dgram(d, i, CT_REASON_FRAG_INVALID, reason);

    /* Store the data (and the header of the first fragment). */
    unsigned hp = fr.off == 0 ? HDR_PAGES : 0;
    ensure_pages(d, i, fr.off / CT_DEFRAG_PAGE, (end - 1) / CT_DEFRAG_PAGE);
    put_paged(d, g, 0, fr.off, fr.data, fr.len);
    if (hp) {
        ensure_pages(d, i, DATA_PAGES, DATA_PAGES + (fr.hdr_len - 1) / CT_DEFRAG_PAGE);
        put_paged(d, g, DATA_PAGES, 0, fr.l3, fr.hdr_len);
    }
    units_mark(g, ua, ub);
    g->meat += fr.len;
    g->nfrags++;

    if (!g->first_in || !g->last_in || g->meat != g->len)
        return CT_DEFRAG_HELD;
    build(d, i, pkt, out);
    release(d, i);
    d->st.reassembled++;
    return CT_DEFRAG_DONE;
}

CT_EXPORT void ct_defrag_stats(const struct ct_defrag *d, struct ct_defrag_stats *st)
{
    *st = d->st;
    st->pages = d->npages - d->nfree;
}
