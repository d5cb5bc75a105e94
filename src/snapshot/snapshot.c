/*
 * Snapshots of a connection table (include/ctrack/snapshot.h): the format is
 * in docs/snapshot.md; this file is its one writer and reader.
 *
 * Every multi-byte field is written little-endian byte by byte (put16/32/64,
 * get16/32/64), so a snapshot reads the same on any host; addresses are
 * kept in network order as they are on the wire. Each block of records and
 * the header carry a CRC32C (RFC 3720, appendix B.4; the table-driven
 * implementation in src/packet/crc32c.c).
 *
 * Restore checks the whole input (header, every block's checksum, every
 * record's values) before it takes the first entry, so that a damaged file
 * never leaves a half-filled table; what can only fail while inserting (a
 * tuple that clashes with an earlier record, the index's probe cap) flushes
 * what was inserted before returning the error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrack/snapshot.h"
#include "events/events.h"
#include "helper/helper.h"
#include "nat/nat.h"
#include "packet/packet_priv.h"
#include "proto/tcp_conn.h"
#include "table/ext.h"
#include "table/index.h"
#include "table/table.h"
#include "template/template.h"

/* "CTSNAP" then CR LF: a file mangled by a text-mode transfer fails the
 * magic, as PNG's signature is built to. */
static const uint8_t snap_magic[8] = {'C', 'T', 'S', 'N', 'A', 'P', '\r', '\n'};

#define SNAP_HEADER_BYTES 96u
#define SNAP_BLOCK_RECORDS 4096u
#define SNAP_BLOCK_HEAD 8u  /* records, payload bytes */
#define SNAP_BLOCK_TAIL 4u  /* CRC32C */
#define SNAP_REC_BASE 112u  /* a record without counters or extensions */
#define SNAP_REC_ACCT 32u    /* the counters */
#define SNAP_REC_TMPL 20u    /* the template's extras: labels, events, helper */
#define SNAP_REC_HELPER 60u  /* the helper's per-connection state */
#define SNAP_REC_NAT 40u     /* the translated reply tuple */
#define SNAP_FLAGS_KNOWN \
    (CT_SNAPSHOT_F_ACCT | CT_SNAPSHOT_F_TMPL | CT_SNAPSHOT_F_HELPER | CT_SNAPSHOT_F_NAT)
/* Status bits a snapshot may carry: the public ones less CONFIRMED and
 * DYING, which describe the entry, not the connection. */
#define SNAP_STATUS_MASK                                                                    \
    ((uint32_t)CT_STATUS_PUBLIC_MASK & ~(uint32_t)(CT_STATUS_CONFIRMED | CT_STATUS_DYING))
/* How many records ahead restore prefetches index buckets. */
#define SNAP_PREFETCH_AHEAD 8u
/* The largest snapshot restore reads from a descriptor. */
#define SNAP_MAX_BYTES (1ull << 40)

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

#if defined(__x86_64__)
/* CRC32C with SSE4.2's crc32 instruction, which computes this very
 * polynomial (Castagnoli), 8 bytes per instruction: the table-driven
 * loop's byte per step made it most of a snapshot's time. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n)
{
    uint64_t c = crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
    }
    crc = (uint32_t)c;
    for (; n > 0; p++, n--)
        crc = __builtin_ia32_crc32qi(crc, *p);
    return crc;
}
#endif

static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_hw(crc, p, n) ^ 0xffffffffu;
#endif
    while (n > 0) {
        uint32_t chunk = n > 0x40000000u ? 0x40000000u : (uint32_t)n;
        crc = ct_crc32c_update(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc ^ 0xffffffffu;
}

/* The side arrays a snapshot knows: the template's and the helper's. Other
 * extensions (none in the library today) are not saved. */
static int tmpl_ext(const struct ct_table *t)
{
    return t->tmpl && t->tmpl->ext_id >= 0 ? t->tmpl->ext_id : -1;
}

static int helper_ext(const struct ct_table *t)
{
    return t->helpers ? t->helpers->ext_id : -1;
}

/* The CT_SNAPSHOT_F_* sections a save of t writes. */
static uint32_t table_flags(const struct ct_table *t)
{
    uint32_t f = 0;
    if ((t->flags & CT_TABLE_F_NO_ACCT) == 0)
        f |= CT_SNAPSHOT_F_ACCT;
    if (tmpl_ext(t) >= 0)
        f |= CT_SNAPSHOT_F_TMPL;
    if (helper_ext(t) >= 0)
        f |= CT_SNAPSHOT_F_HELPER;
    if (t->nat)
        f |= CT_SNAPSHOT_F_NAT;
    return f;
}

static uint32_t record_for(uint32_t flags)
{
    return SNAP_REC_BASE + ((flags & CT_SNAPSHOT_F_ACCT) ? SNAP_REC_ACCT : 0) +
           ((flags & CT_SNAPSHOT_F_TMPL) ? SNAP_REC_TMPL : 0) +
           ((flags & CT_SNAPSHOT_F_HELPER) ? SNAP_REC_HELPER : 0) +
           ((flags & CT_SNAPSHOT_F_NAT) ? SNAP_REC_NAT : 0);
}

static uint32_t record_bytes(const struct ct_table *t)
{
    return record_for(table_flags(t));
}

static uint64_t blocks_for(uint64_t n)
{
    return (n + SNAP_BLOCK_RECORDS - 1) / SNAP_BLOCK_RECORDS;
}

static uint64_t total_for(uint64_t n, uint32_t rec)
{
    return SNAP_HEADER_BYTES + blocks_for(n) * (SNAP_BLOCK_HEAD + SNAP_BLOCK_TAIL) + n * rec;
}

/* ---- records ------------------------------------------------------------- */

/* The tracker's state in a fixed little-endian layout: TCP field by field,
 * SCTP its tags, the other trackers keep nothing there (verbatim). */
static void proto_encode(uint8_t *o, const struct ct_conn *c, uint8_t proto)
{
    if (proto == CT_IPPROTO_TCP) {
        const struct ct_tcp_conn *tc = (const struct ct_tcp_conn *)(const void *)c->proto;
        for (unsigned d = 0; d < 2; d++) {
            uint8_t *p = o + 14 * d;
            put32(p, tc->seen[d].td_end);
            put32(p + 4, tc->seen[d].td_maxend);
            put32(p + 8, tc->seen[d].td_maxwin);
            p[12] = tc->seen[d].td_scale;
            p[13] = tc->seen[d].flags;
        }
        put32(o + 28, tc->last_seq);
        put32(o + 32, tc->last_ack);
        put32(o + 36, tc->last_end);
        put16(o + 40, tc->last_win);
        o[42] = tc->last_dir_index;
        o[43] = tc->last_wscale_flags;
    } else if (proto == CT_IPPROTO_SCTP) {
        const struct ct_sctp_conn *sc = (const struct ct_sctp_conn *)(const void *)c->proto;
        memset(o, 0, CT_CONN_PROTO_BYTES);
        put32(o, sc->vtag[0]);
        put32(o + 4, sc->vtag[1]);
        o[8] = sc->init_seen;
        o[9] = sc->flags;
    } else {
        memcpy(o, c->proto, CT_CONN_PROTO_BYTES);
    }
}

static void proto_decode(struct ct_conn *c, const uint8_t *o, uint8_t proto)
{
    if (proto == CT_IPPROTO_TCP) {
        struct ct_tcp_conn *tc = (struct ct_tcp_conn *)(void *)c->proto;
        for (unsigned d = 0; d < 2; d++) {
            const uint8_t *p = o + 14 * d;
            tc->seen[d].td_end = get32(p);
            tc->seen[d].td_maxend = get32(p + 4);
            tc->seen[d].td_maxwin = get32(p + 8);
            tc->seen[d].td_scale = p[12];
            tc->seen[d].flags = p[13];
        }
        tc->last_seq = get32(o + 28);
        tc->last_ack = get32(o + 32);
        tc->last_end = get32(o + 36);
        tc->last_win = get16(o + 40);
        tc->last_dir_index = o[42];
        tc->last_wscale_flags = o[43];
    } else if (proto == CT_IPPROTO_SCTP) {
        struct ct_sctp_conn *sc = (struct ct_sctp_conn *)(void *)c->proto;
        memset(c->proto, 0, CT_CONN_PROTO_BYTES);
        sc->vtag[0] = get32(o);
        sc->vtag[1] = get32(o + 4);
        sc->init_seen = o[8];
        sc->flags = o[9];
    } else {
        memcpy(c->proto, o, CT_CONN_PROTO_BYTES);
    }
}

/* A public tuple in 40 bytes: addresses as on the wire, then ports, zone
 * little-endian, family, protocol (the helper's master tuple). */
static void tuple_encode(uint8_t *o, const struct ct_tuple *tu)
{
    memcpy(o, tu->src.b, 16);
    memcpy(o + 16, tu->dst.b, 16);
    put16(o + 32, tu->sport);
    put16(o + 34, tu->dport);
    put16(o + 36, tu->zone);
    o[38] = tu->l3;
    o[39] = tu->proto;
}

static void tuple_decode(struct ct_tuple *tu, const uint8_t *o)
{
    memcpy(tu->src.b, o, 16);
    memcpy(tu->dst.b, o + 16, 16);
    tu->sport = get16(o + 32);
    tu->dport = get16(o + 34);
    tu->zone = get16(o + 36);
    tu->l3 = o[38];
    tu->proto = o[39];
}

/* The template's extras: labels, event mask, helper, flags. */
static void tmpl_encode(uint8_t *o, const struct ct_tmpl_conn *x)
{
    memcpy(o, x->labels, CT_LABELS_BYTES);
    put16(o + 16, x->events);
    o[18] = x->helper;
    o[19] = x->flags;
}

static void tmpl_decode(struct ct_tmpl_conn *x, const uint8_t *o)
{
    memcpy(x->labels, o, CT_LABELS_BYTES);
    x->events = get16(o + 16);
    x->helper = o[18];
    x->flags = o[19];
}

/* The helper's state. `expecting` is not saved: expectations are not (a
 * restored master holds none). */
static void helper_encode(uint8_t *o, const struct ct_helper_conn *x)
{
    o[0] = x->helper;
    o[1] = x->has_master;
    o[2] = x->nl_num[0];
    o[3] = x->nl_num[1];
    for (unsigned d = 0; d < 2; d++)
        for (unsigned i = 0; i < CT_FTP_SEQ_REMEMBER; i++)
            put32(o + 4 + 4 * (d * CT_FTP_SEQ_REMEMBER + i), x->nl_seq[d][i]);
    tuple_encode(o + 20, &x->master);
}

static void helper_decode(struct ct_helper_conn *x, const uint8_t *o)
{
    memset(x, 0, sizeof(*x));
    x->helper = o[0];
    x->has_master = o[1];
    x->nl_num[0] = o[2];
    x->nl_num[1] = o[3];
    for (unsigned d = 0; d < 2; d++)
        for (unsigned i = 0; i < CT_FTP_SEQ_REMEMBER; i++)
            x->nl_seq[d][i] = get32(o + 4 + 4 * (d * CT_FTP_SEQ_REMEMBER + i));
    tuple_decode(&x->master, o + 20);
}

/* Writes connection c's record (record_bytes(t) bytes at o). */
static void record_encode(const struct ct_table *t, struct ct_conn *c, uint8_t *o, uint64_t now)
{
    memset(o, 0, 48);
    uint8_t proto;
    if (ct_conn_is_v6(c)) {
        const struct ct_key6 *k = ct_conn_key6(c);
        o[0] = 6;
        proto = k->proto;
        put16(o + 2, k->zone);
        put16(o + 8, k->sport);
        put16(o + 10, k->dport);
        memcpy(o + 12, k->src, 16);
        memcpy(o + 28, k->dst, 16);
    } else {
        const struct ct_key4 *k = ct_conn_key4(c);
        o[0] = 4;
        proto = k->proto;
        put16(o + 2, k->zone);
        put16(o + 8, k->sport);
        put16(o + 10, k->dport);
        memcpy(o + 12, &k->src, 4);
        memcpy(o + 28, &k->dst, 4);
    }
    o[1] = proto;
    put16(o + 4, c->zone_reply);
    put16(o + 6, (uint16_t)(c->status & SNAP_STATUS_MASK));
    put32(o + 44, c->mark);
    o[48] = c->l4state;
    o[49] = c->policy;
    o[50] = c->timeout;
    o[51] = 0;
    /* Ages, not times: the restoring table has its own clock. */
    put64(o + 52, now - c->last_seen);
    put64(o + 60, now - c->first_seen);
    proto_encode(o + 68, c, proto);
    uint8_t *p = o + SNAP_REC_BASE;
    const struct ct_acct *a = ct_table_conn_acct(t, c);
    if (a) {
        put64(p, a->packets[0]);
        put64(p + 8, a->packets[1]);
        put64(p + 16, a->bytes[0]);
        put64(p + 24, a->bytes[1]);
        p += SNAP_REC_ACCT;
    }
    uint32_t id = ct_table_conn_id(t, c);
    int e = tmpl_ext(t);
    if (e >= 0) {
        tmpl_encode(p, ct_table_ext_get(t, id, (unsigned)e));
        p += SNAP_REC_TMPL;
    }
    if ((e = helper_ext(t)) >= 0) {
        helper_encode(p, ct_table_ext_get(t, id, (unsigned)e));
        p += SNAP_REC_HELPER;
    }
    /* NAT: the reply tuple of a translated connection (zeros otherwise),
     * which no other field can give back. */
    if (t->nat && (c->status & CT_STATUS_NAT_MASK)) {
        struct ct_tuple r;
        ct_table_conn_tuple(t, c, CT_DIR_REPLY, &r);
        tuple_encode(p, &r);
    }
}

/* Checks one record's values (anything an entry could not hold). */
static int record_check(const struct ct_table *t, const uint8_t *o, uint32_t flags)
{
    if (o[0] != 4 && o[0] != 6)
        return -EBADMSG;
    if (o[0] == 4) {
        for (unsigned i = 4; i < 16; i++)
            if (o[12 + i] != 0 || o[28 + i] != 0)
                return -EBADMSG;
    }
    if ((get16(o + 6) & ~SNAP_STATUS_MASK) != 0 || o[50] >= CT_TIMEOUT_COUNT || o[51] != 0)
        return -EBADMSG;
    /* A translated connection's reply tuple: of its family, protocol and
     * reply zone (the slot is the index's key), IPv4 with zero padding. */
    if (get16(o + 6) & CT_STATUS_NAT_MASK) {
        if (!(flags & CT_SNAPSHOT_F_NAT))
            return -EBADMSG;
        const uint8_t *n = o + record_for(flags) - SNAP_REC_NAT;
        if (n[38] != o[0] || n[39] != o[1] || get16(n + 36) != get16(o + 4))
            return -EBADMSG;
        if (o[0] == 4)
            for (unsigned i = 4; i < 16; i++)
                if (n[i] != 0 || n[16 + i] != 0)
                    return -EBADMSG;
    }
    if (o[49] != 0 && t->policy_cfg[o[49]] == &t->cfg)
        return -EBADMSG; /* a policy id the table has not registered */
    uint64_t last_age = get64(o + 52), first_age = get64(o + 60);
    if (last_age > first_age)
        return -EBADMSG;
    /* A saved connection had time left at the save: its age is below its
     * timeout in force (in the restoring table's policies). */
    if (last_age >= t->policy_cfg[o[49]]->timeout_ns[o[50]])
        return -EBADMSG;
    return 0;
}

/* ---- save ---------------------------------------------------------------- */

/* The writer's state: a buffer holding the header or one block at a time,
 * emptied to fd when full (fd < 0: the buffer is the whole output). */
struct snap_out {
    const struct ct_table *t;
    uint64_t now;
    uint32_t rec;
    uint8_t *buf;
    size_t cap, len; /* bytes of buf, bytes used */
    size_t block;    /* offset of the open block's head */
    uint32_t nrec;   /* records in the open block */
    uint64_t total;  /* records written */
    int fd;
    int err;
};

static int out_flush(struct snap_out *w)
{
    if (w->fd < 0 || w->len == 0)
        return 0;
    size_t off = 0;
    while (off < w->len) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        off += (size_t)n;
    }
    w->len = 0;
    return 0;
}

static void block_close(struct snap_out *w)
{
    if (w->nrec == 0)
        return;
    uint8_t *h = w->buf + w->block;
    uint32_t payload = w->nrec * w->rec;
    put32(h, w->nrec);
    put32(h + 4, payload);
    put32(h + SNAP_BLOCK_HEAD + payload, crc32c(h, SNAP_BLOCK_HEAD + payload));
    w->len = w->block + SNAP_BLOCK_HEAD + payload + SNAP_BLOCK_TAIL;
    w->nrec = 0;
}

static int save_one(struct ct_conn *c, void *arg)
{
    struct snap_out *w = arg;
    if (ct_table_conn_expires(w->t, c) <= w->now)
        return 0; /* gone at `now`: a lookup would not find it either */
    if (w->nrec == 0) {
        size_t need = SNAP_BLOCK_HEAD + (size_t)SNAP_BLOCK_RECORDS * w->rec + SNAP_BLOCK_TAIL;
        if (w->fd >= 0 && w->len + need > w->cap && (w->err = out_flush(w)) != 0)
            return 1;
        if (w->len + SNAP_BLOCK_HEAD + w->rec + SNAP_BLOCK_TAIL > w->cap) {
            w->err = -ENOSPC;
            return 1;
        }
        w->block = w->len;
    }
    size_t at = w->block + SNAP_BLOCK_HEAD + (size_t)w->nrec * w->rec;
    if (at + w->rec + SNAP_BLOCK_TAIL > w->cap) {
        w->err = -ENOSPC;
        return 1;
    }
    record_encode(w->t, c, w->buf + at, w->now);
    w->nrec++;
    w->total++;
    if (w->nrec == SNAP_BLOCK_RECORDS)
        block_close(w);
    return 0;
}

static void header_encode(uint8_t *h, const struct ct_table *t, uint64_t count, uint64_t now)
{
    memset(h, 0, SNAP_HEADER_BYTES);
    memcpy(h, snap_magic, 8);
    put32(h + 8, CT_SNAPSHOT_VERSION);
    put32(h + 12, SNAP_HEADER_BYTES);
    put32(h + 16, record_bytes(t));
    put32(h + 20, table_flags(t));
    put64(h + 24, count);
    put64(h + 32, now);
    put32(h + 40, t->max_connections);
    put32(h + 44, SNAP_BLOCK_RECORDS);
    put32(h + 92, crc32c(h, 92));
}

/* The header goes first and holds the count, so that a descriptor that
 * cannot seek (a pipe) still gets a complete snapshot: the connections
 * alive at `now` are counted before anything is written. */
static int count_live(struct ct_conn *c, void *arg)
{
    struct snap_out *w = arg;
    if (ct_table_conn_expires(w->t, c) > w->now)
        w->total++;
    return 0;
}

static int save_run(struct ct_table *t, struct snap_out *w)
{
    w->total = 0;
    ct_table_foreach(t, count_live, w);
    uint64_t count = w->total;
    w->total = 0;
    header_encode(w->buf, t, count, w->now);
    w->len = SNAP_HEADER_BYTES;
    ct_table_foreach(t, save_one, w);
    if (w->err)
        return w->err;
    block_close(w);
    return out_flush(w);
}

CT_EXPORT size_t ct_table_save_size(const struct ct_table *t)
{
    if (!t)
        return 0;
    return (size_t)total_for(t->connections, record_bytes(t));
}

CT_EXPORT long ct_table_save_buf(struct ct_table *t, void *buf, size_t len, uint64_t now)
{
    if (!t || !buf)
        return -EINVAL;
    if (len < SNAP_HEADER_BYTES)
        return -ENOSPC;
    struct snap_out w = {.t = t, .now = now, .rec = record_bytes(t), .buf = buf, .cap = len,
                         .fd = -1};
    int r = save_run(t, &w);
    return r ? r : (long)w.len;
}

CT_EXPORT int ct_table_save_fd(struct ct_table *t, int fd, uint64_t now)
{
    if (!t || fd < 0)
        return -EINVAL;
    struct snap_out w = {.t = t, .now = now, .rec = record_bytes(t), .fd = fd};
    /* Room for the header and two blocks, so that one block is written
     * while the next still fits. */
    w.cap = SNAP_HEADER_BYTES +
            2 * (SNAP_BLOCK_HEAD + (size_t)SNAP_BLOCK_RECORDS * w.rec + SNAP_BLOCK_TAIL);
    w.buf = malloc(w.cap);
    if (!w.buf)
        return -ENOMEM;
    int r = save_run(t, &w);
    free(w.buf);
    return r;
}

/* ---- restore ------------------------------------------------------------- */

CT_EXPORT int ct_snapshot_info(const void *buf, size_t len, struct ct_snapshot_info *info)
{
    if (!buf || !info)
        return -EINVAL;
    const uint8_t *h = buf;
    if (len < SNAP_HEADER_BYTES || memcmp(h, snap_magic, 8) != 0)
        return -EBADMSG;
    if (get32(h + 92) != crc32c(h, 92))
        return -EBADMSG;
    uint32_t version = get32(h + 8);
    if (version > CT_SNAPSHOT_VERSION)
        return -EPROTONOSUPPORT;
    uint32_t flags = get32(h + 20);
    if (version == 0 || get32(h + 12) != SNAP_HEADER_BYTES ||
        get32(h + 44) != SNAP_BLOCK_RECORDS || (flags & ~(uint32_t)SNAP_FLAGS_KNOWN) != 0)
        return -EBADMSG;
    for (unsigned i = 48; i < 92; i++)
        if (h[i] != 0)
            return -EBADMSG; /* reserved */
    uint32_t rec = record_for(flags);
    uint64_t count = get64(h + 24);
    if (rec != get32(h + 16) || count > (1u << 30))
        return -EBADMSG;
    *info = (struct ct_snapshot_info){
        .version = version,
        .record_bytes = rec,
        .connections = count,
        .now = get64(h + 32),
        .max_connections = get32(h + 40),
        .flags = flags,
        .total_bytes = total_for(count, rec),
    };
    return 0;
}

/* Ends every connection restored so far (the restore failed). */
static void restore_undo(struct ct_table *t, uint64_t now)
{
    ct_destroy_fn fn = t->destroy_fn;
    t->destroy_fn = NULL; /* they were never the caller's connections */
    (void)ct_table_end_where(t, now, CT_RM_FLUSHED, NULL, NULL);
    t->destroy_fn = fn;
}

/* Prefetches the index buckets of record o's two tuples: restore's time is
 * the index's cache misses, and the records say where they will fall a few
 * connections ahead. The reply tuple is the original's inverse in the reply
 * zone except for ICMP, whose reply type differs (left to the miss). */
static void restore_prefetch(const struct ct_table *t, const uint8_t *o)
{
    unsigned icmp = o[1] == CT_IPPROTO_ICMP || o[1] == CT_IPPROTO_ICMPV6;
    if (o[0] == 6) {
        struct ct_key6 k, r;
        memcpy(k.src, o + 12, 16);
        memcpy(k.dst, o + 28, 16);
        k.sport = get16(o + 8);
        k.dport = get16(o + 10);
        k.zone = get16(o + 2);
        k.l3 = CT_L3_IPV6;
        k.proto = o[1];
        CT_PREFETCH_W(ct_table_home(t, ct_table_hash6(t, &k)));
        if (icmp)
            return;
        memcpy(r.src, k.dst, 16);
        memcpy(r.dst, k.src, 16);
        r.sport = k.dport;
        r.dport = k.sport;
        r.zone = get16(o + 4);
        r.l3 = CT_L3_IPV6;
        r.proto = o[1];
        CT_PREFETCH_W(ct_table_home(t, ct_table_hash6(t, &r)));
    } else {
        struct ct_key4 k, r;
        memcpy(&k.src, o + 12, 4);
        memcpy(&k.dst, o + 28, 4);
        k.sport = get16(o + 8);
        k.dport = get16(o + 10);
        k.zone = get16(o + 2);
        k.l3 = CT_L3_IPV4;
        k.proto = o[1];
        CT_PREFETCH_W(ct_table_home(t, ct_table_hash4(t, &k)));
        if (icmp)
            return;
        r.src = k.dst;
        r.dst = k.src;
        r.sport = k.dport;
        r.dport = k.sport;
        r.zone = get16(o + 4);
        r.l3 = CT_L3_IPV4;
        r.proto = o[1];
        CT_PREFETCH_W(ct_table_home(t, ct_table_hash4(t, &r)));
    }
}

/* Inserts one checked record. Returns 0 or a negative errno. */
static int restore_one(struct ct_table *t, const uint8_t *o, uint32_t flags, uint64_t now)
{
    unsigned v6 = o[0] == 6;
    struct ct_conn *c = ct_table_conn_new(t, v6);
    if (!c)
        return -ENOSPC;
    uint8_t proto = o[1];
    if (v6) {
        struct ct_key6 *k = ct_conn_key6(c);
        memcpy(k->src, o + 12, 16);
        memcpy(k->dst, o + 28, 16);
        k->sport = get16(o + 8);
        k->dport = get16(o + 10);
        k->zone = get16(o + 2);
        k->l3 = CT_L3_IPV6;
        k->proto = proto;
    } else {
        struct ct_key4 *k = ct_conn_key4(c);
        memcpy(&k->src, o + 12, 4);
        memcpy(&k->dst, o + 28, 4);
        k->sport = get16(o + 8);
        k->dport = get16(o + 10);
        k->zone = get16(o + 2);
        k->l3 = CT_L3_IPV4;
        k->proto = proto;
    }
    c->zone_reply = get16(o + 4);
    c->status = (uint16_t)((c->status & CT_STATUS_PRIV_IPV6) | get16(o + 6));
    c->mark = get32(o + 44);
    c->l4state = o[48];
    c->policy = o[49];
    c->timeout = o[50];
    uint64_t last_age = get64(o + 52), first_age = get64(o + 60);
    /* A restore at a `now` earlier than an age starts the clock at 0. */
    c->last_seen = now > last_age ? now - last_age : 0;
    c->first_seen = now > first_age ? now - first_age : 0;
    proto_decode(c, o + 68, proto);
    const uint8_t *p = o + SNAP_REC_BASE;
    struct ct_acct *a = ct_table_conn_acct(t, c);
    if (a) {
        if (flags & CT_SNAPSHOT_F_ACCT) {
            a->packets[0] = get64(p);
            a->packets[1] = get64(p + 8);
            a->bytes[0] = get64(p + 16);
            a->bytes[1] = get64(p + 24);
        } else {
            memset(a, 0, sizeof(*a));
        }
    }
    if (flags & CT_SNAPSHOT_F_ACCT)
        p += SNAP_REC_ACCT;
    /* The side arrays were zeroed when the entry was handed out; a table
     * that has one the snapshot lacks keeps it zeroed. */
    uint32_t id = ct_table_conn_id(t, c);
    if (flags & CT_SNAPSHOT_F_TMPL) {
        tmpl_decode(ct_table_ext_get(t, id, (unsigned)tmpl_ext(t)), p);
        p += SNAP_REC_TMPL;
    }
    if (flags & CT_SNAPSHOT_F_HELPER) {
        helper_decode(ct_table_ext_get(t, id, (unsigned)helper_ext(t)), p);
        p += SNAP_REC_HELPER;
    }
    /* In a NAT table every connection keeps its reply key in its binding
     * (nat/nat.h): the saved one of a translated connection, else the
     * inverse of the original. */
    if ((flags & CT_SNAPSHOT_F_NAT) && (c->status & CT_STATUS_NAT_MASK)) {
        struct ct_tuple r;
        tuple_decode(&r, p);
        ct_nat_slot_restore(t, c, &r, (uint16_t)(c->status & CT_STATUS_NAT_MASK));
    } else if (t->nat) {
        ct_nat_slot_restore(t, c, NULL, 0);
    }
    /* Neither tuple may be taken already: the index holds one connection
     * per key. */
    uint64_t h0 = ct_table_conn_hash(t, c, CT_DIR_ORIGINAL);
    if (ct_table_key_taken(t, c, CT_DIR_ORIGINAL, h0, now) ||
        ct_table_key_taken(t, c, CT_DIR_REPLY, ct_table_conn_hash(t, c, CT_DIR_REPLY), now)) {
        ct_table_conn_discard(t, c);
        return -EBADMSG;
    }
    if (ct_table_insert(t, c, h0) != 0) {
        ct_table_conn_discard(t, c);
        return -ENOSPC;
    }
    if (t->nat)
        ct_nat_conn_added(t, c);
    if (t->ev)
        ct_event_restored(t, c);
    return 0;
}

CT_EXPORT long ct_table_restore_buf(struct ct_table *t, const void *buf, size_t len, uint64_t now)
{
    if (!t || !buf || t->sh || t->connections != 0)
        return -EINVAL;
    struct ct_snapshot_info info;
    int r = ct_snapshot_info(buf, len, &info);
    if (r)
        return r;
    if (len != info.total_bytes)
        return -EBADMSG; /* truncated, or bytes after the last block */
    if (info.connections > t->max_connections)
        return -ENOSPC;
    const uint8_t *h = buf;
    /* Template extras and helper state need the table's side arrays: the
     * restoring table registers the same templates and helpers first. */
    if (((info.flags & CT_SNAPSHOT_F_TMPL) && tmpl_ext(t) < 0) ||
        ((info.flags & CT_SNAPSHOT_F_HELPER) && helper_ext(t) < 0) ||
        ((info.flags & CT_SNAPSHOT_F_NAT) && !t->nat))
        return -EMEDIUMTYPE;
    uint32_t rec = info.record_bytes;

    /* Pass 1: every block's framing and checksum, every record's values. */
    const uint8_t *p = h + SNAP_HEADER_BYTES;
    uint64_t left = info.connections;
    while (left > 0) {
        uint32_t nrec = left < SNAP_BLOCK_RECORDS ? (uint32_t)left : SNAP_BLOCK_RECORDS;
        uint32_t payload = nrec * rec;
        if (get32(p) != nrec || get32(p + 4) != payload)
            return -EBADMSG;
        if (get32(p + SNAP_BLOCK_HEAD + payload) != crc32c(p, SNAP_BLOCK_HEAD + payload))
            return -EBADMSG;
        for (uint32_t i = 0; i < nrec; i++)
            if ((r = record_check(t, p + SNAP_BLOCK_HEAD + (size_t)i * rec, info.flags)) != 0)
                return r;
        p += SNAP_BLOCK_HEAD + payload + SNAP_BLOCK_TAIL;
        left -= nrec;
    }

    /* Pass 2: the entries. The clock starts at the restore's now. */
    t->clock = now;
    p = h + SNAP_HEADER_BYTES;
    left = info.connections;
    while (left > 0) {
        uint32_t nrec = left < SNAP_BLOCK_RECORDS ? (uint32_t)left : SNAP_BLOCK_RECORDS;
        for (uint32_t i = 0; i < nrec; i++) {
            if (i + SNAP_PREFETCH_AHEAD < nrec)
                restore_prefetch(t, p + SNAP_BLOCK_HEAD + (size_t)(i + SNAP_PREFETCH_AHEAD) * rec);
            r = restore_one(t, p + SNAP_BLOCK_HEAD + (size_t)i * rec, info.flags, now);
            if (r) {
                restore_undo(t, now);
                return r;
            }
        }
        p += SNAP_BLOCK_HEAD + (size_t)nrec * rec + SNAP_BLOCK_TAIL;
        left -= nrec;
    }
    return (long)info.connections;
}

CT_EXPORT long ct_table_restore_fd(struct ct_table *t, int fd, uint64_t now)
{
    if (!t || fd < 0)
        return -EINVAL;
    /* A regular file is read into one buffer of its size (one byte more,
     * to see the end without a second buffer); a pipe grows the buffer. */
    size_t cap = 1u << 16, len = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < SNAP_MAX_BYTES)
        cap = (size_t)st.st_size + 1;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (len == cap) {
            if (cap >= SNAP_MAX_BYTES) {
                free(buf);
                return -EFBIG;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            free(buf);
            return e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    long r = ct_table_restore_buf(t, buf, len, now);
    free(buf);
    return r;
}
