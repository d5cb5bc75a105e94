/*
 * bench/traffic.c: frame construction, the packet rings and the fill
 * generator of ctbench. See traffic.h for the address plan and for how a
 * ring is replayed.
 */
#include "traffic.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define ETH_LEN 14
#define IP4_LEN 20
#define IP6_LEN 40
#define TCP_LEN 20
#define TCP_SYN_OPT_LEN 12
#define UDP_LEN 8
#define ETH_MIN_FRAME 60
#define SLOT_ALIGN 64

#define TCP_PORT 80
#define UDP_PORT 53
#define SYN_WINDOW 64240
#define DATA_WINDOW 65535
#define WSCALE 7
#define OOW_OFFSET 0x40000000u

const char *tr_workload_name(unsigned w)
{
    static const char *const names[TR_W_COUNT] = {"established", "new", "udp", "mixed"};
    return w < TR_W_COUNT ? names[w] : "unknown";
}

const char *tr_expect_name(unsigned x)
{
    static const char *const names[] = {"ok", "bad-flags", "out-of-window", "bad-checksum"};
    return x < sizeof(names) / sizeof(names[0]) ? names[x] : "unknown";
}

/* ---- random numbers and hashing ------------------------------------------------ */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    /* splitmix64: fast, and good enough to pick connections. */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static uint32_t mix32(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* Initial sequence numbers of connection g in a space: side 0 client, 1 server. */
static uint32_t isn(unsigned space, uint32_t g, unsigned side)
{
    return mix32(((uint64_t)(space * 2 + side) << 32) | g);
}

/* ---- byte helpers and checksums ---------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Adds big-endian 16-bit words (a trailing odd byte padded with zero). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    while (n > 1) {
        sum += get16(p);
        p += 2;
        n -= 2;
    }
    if (n)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* RFC 1624, equation 3: the checksum after one 16-bit word went from old to new. */
static uint16_t csum_update16(uint16_t hc, uint16_t old, uint16_t new_word)
{
    uint32_t s = (uint32_t)(uint16_t)~hc + (uint16_t)~old + new_word;
    return csum_fold(s);
}

static uint16_t csum_update32(uint16_t hc, uint32_t old, uint32_t new_word)
{
    hc = csum_update16(hc, (uint16_t)(old >> 16), (uint16_t)(new_word >> 16));
    return csum_update16(hc, (uint16_t)old, (uint16_t)new_word);
}

/* ---- flows and frames ---------------------------------------------------------------- */

/* Both ends of one connection. */
struct flow {
    uint8_t c[16], s[16]; /* client and server addresses, network order */
    uint16_t cport, sport;
};

/* The pass words (see traffic.h) of a space: pass 0 of the ring for TR_SPACE_NEW. */
static void space_words(unsigned family, unsigned space, uint16_t *cw, uint16_t *sw)
{
    if (family == 4) {
        switch (space) {
        case TR_SPACE_EST: *cw = 0x0a00; *sw = 0xc612; break;  /* 10.0, 198.18 */
        case TR_SPACE_NEW: *cw = 0x0a01; *sw = 0xc611; break;  /* 10.1, 198.17 */
        default: *cw = 0x0ac8; *sw = 0xc6c8; break;            /* 10.200, 198.200 */
        }
    } else {
        switch (space) {
        case TR_SPACE_EST: *cw = 0x0000; *sw = 0xffff; break;
        case TR_SPACE_NEW: *cw = 0x0100; *sw = 0xfeff; break;
        default: *cw = 0x8000; *sw = 0x7fff; break;
        }
    }
}

static void flow_make(struct flow *f, unsigned family, unsigned space, uint32_t g, uint8_t proto)
{
    uint16_t cw, sw;
    space_words(family, space, &cw, &sw);
    memset(f, 0, sizeof(*f));
    f->cport = (uint16_t)(10000 + (g & 0x3ff));
    f->sport = proto == IPPROTO_UDP ? UDP_PORT : TCP_PORT;
    if (family == 4) {
        /* Client 10.P.x.y with x.y = (g >> 10) + 1, so never .0.0 nor .255.255. */
        put16(f->c, cw);
        put16(f->c + 2, (uint16_t)((g >> 10) + 1));
        put16(f->s, sw);
        put16(f->s + 2, (uint16_t)(1 + g % 61));
    } else {
        static const uint8_t pfx[4] = {0x20, 0x01, 0x0d, 0xb8};
        memcpy(f->c, pfx, 4);
        put16(f->c + 6, cw);
        put32(f->c + 12, g + 1);
        memcpy(f->s, pfx, 4);
        put16(f->s + 4, 0xffff);
        put16(f->s + 6, sw);
        put16(f->s + 14, (uint16_t)(1 + g % 61));
    }
}

static unsigned l3_len(unsigned family)
{
    return family == 4 ? IP4_LEN : IP6_LEN;
}

/* Offset of the transport header in every frame of a family. */
static unsigned l4_off(unsigned family)
{
    return ETH_LEN + l3_len(family);
}

/*
 * Writes Ethernet and IP headers for a transport segment of l4len bytes from
 * src to dst, and returns the pseudo-header sum for the transport checksum.
 */
static uint32_t write_l2l3(uint8_t *b, unsigned family, const uint8_t *src, const uint8_t *dst,
                           uint8_t proto, unsigned l4len, uint16_t ip_id)
{
    static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    uint8_t *ip = b + ETH_LEN;
    uint32_t sum = 0;

    memcpy(b, macs, sizeof(macs));
    if (family == 4) {
        put16(b + 12, 0x0800);
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip + 2, (uint16_t)(IP4_LEN + l4len));
        put16(ip + 4, ip_id);
        put16(ip + 6, 0x4000); /* DF */
        ip[8] = 64;
        ip[9] = proto;
        put16(ip + 10, 0);
        memcpy(ip + 12, src, 4);
        memcpy(ip + 16, dst, 4);
        put16(ip + 10, csum_fold(csum_add(0, ip, IP4_LEN)));
        sum = csum_add(sum, src, 4);
        sum = csum_add(sum, dst, 4);
    } else {
        put16(b + 12, 0x86dd);
        put32(ip, 0x60000000u);
        put16(ip + 4, (uint16_t)l4len);
        ip[6] = proto;
        ip[7] = 64;
        memcpy(ip + 8, src, 16);
        memcpy(ip + 24, dst, 16);
        sum = csum_add(sum, src, 16);
        sum = csum_add(sum, dst, 16);
    }
    sum += proto;
    sum += l4len;
    return sum;
}

/* Pads to the Ethernet minimum and returns the frame length. */
static unsigned finish_frame(uint8_t *b, unsigned len)
{
    if (len < ETH_MIN_FRAME) {
        memset(b + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    return len;
}

/* Transport payload bytes: a recognisable pattern. */
static void fill_payload(uint8_t *p, unsigned n, uint32_t g)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(g + i * 7);
}

struct seg {
    int from_client; /* direction */
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint16_t payload;
    int syn_opts;    /* MSS, SACK permitted, window scale */
};

static unsigned write_tcp(uint8_t *b, unsigned family, const struct flow *f, uint32_t g,
                          const struct seg *s)
{
    const uint8_t *src = s->from_client ? f->c : f->s;
    const uint8_t *dst = s->from_client ? f->s : f->c;
    unsigned hl = TCP_LEN + (s->syn_opts ? TCP_SYN_OPT_LEN : 0);
    unsigned l4len = hl + s->payload;
    uint32_t sum = write_l2l3(b, family, src, dst, IPPROTO_TCP, l4len, (uint16_t)g);
    uint8_t *t = b + l4_off(family);

    put16(t, s->from_client ? f->cport : f->sport);
    put16(t + 2, s->from_client ? f->sport : f->cport);
    put32(t + 4, s->seq);
    put32(t + 8, s->ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = s->flags;
    put16(t + 14, s->win);
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (s->syn_opts) {
        static const uint8_t opts[TCP_SYN_OPT_LEN] = {
            2, 4, 0x05, 0xb4, /* MSS 1460 */
            4, 2,             /* SACK permitted */
            1,                /* NOP */
            3, 3, WSCALE,     /* window scale */
            1, 1,             /* NOP NOP */
        };
        memcpy(t + TCP_LEN, opts, sizeof(opts));
    }
    fill_payload(t + hl, s->payload, g);
    put16(t + 16, csum_fold(csum_add(sum, t, l4len)));
    return finish_frame(b, l4_off(family) + l4len);
}

static unsigned write_udp(uint8_t *b, unsigned family, const struct flow *f, uint32_t g,
                          int from_client, uint16_t payload)
{
    const uint8_t *src = from_client ? f->c : f->s;
    const uint8_t *dst = from_client ? f->s : f->c;
    unsigned l4len = UDP_LEN + payload;
    uint32_t sum = write_l2l3(b, family, src, dst, IPPROTO_UDP, l4len, (uint16_t)g);
    uint8_t *u = b + l4_off(family);
    uint16_t c;

    put16(u, from_client ? f->cport : f->sport);
    put16(u + 2, from_client ? f->sport : f->cport);
    put16(u + 4, (uint16_t)l4len);
    put16(u + 6, 0);
    fill_payload(u + UDP_LEN, payload, g);
    c = csum_fold(csum_add(sum, u, l4len));
    put16(u + 6, c ? c : 0xffff);
    return finish_frame(b, l4_off(family) + l4len);
}

/* Handshake step 0 (SYN), 1 (SYN-ACK) or 2 (ACK) of connection g in a space. */
static unsigned write_handshake(uint8_t *b, unsigned family, unsigned space, uint32_t g,
                                unsigned step)
{
    struct flow f;
    struct seg s;
    uint32_t ci = isn(space, g, 0), si = isn(space, g, 1);

    flow_make(&f, family, space, g, IPPROTO_TCP);
    memset(&s, 0, sizeof(s));
    switch (step) {
    case 0:
        s = (struct seg){.from_client = 1, .seq = ci, .ack = 0, .flags = CT_TCP_SYN,
                         .win = SYN_WINDOW, .syn_opts = 1};
        break;
    case 1:
        s = (struct seg){.from_client = 0, .seq = si, .ack = ci + 1,
                         .flags = CT_TCP_SYN | CT_TCP_ACK, .win = SYN_WINDOW, .syn_opts = 1};
        break;
    default:
        s = (struct seg){.from_client = 1, .seq = ci + 1, .ack = si + 1, .flags = CT_TCP_ACK,
                         .win = DATA_WINDOW};
        break;
    }
    return write_tcp(b, family, &f, g, &s);
}

static void set_frame(struct ct_frame *fr, const uint8_t *data, unsigned len, uint32_t flags)
{
    fr->data = data;
    fr->len = len;
    fr->wire_len = len;
    fr->link = CT_LINK_ETHERNET;
    fr->zone = 0;
    fr->mark = 0;
    fr->flags = flags;
}

static size_t slot_max(unsigned family, uint16_t payload)
{
    size_t a = l4_off(family) + TCP_LEN + TCP_SYN_OPT_LEN;
    size_t b = l4_off(family) + TCP_LEN + payload;
    size_t m = a > b ? a : b;
    if (m < ETH_MIN_FRAME)
        m = ETH_MIN_FRAME;
    return (m + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
}

/* ---- the fill generator --------------------------------------------------------------- */

int tr_fill_init(struct tr_fill *f, const struct tr_params *p, unsigned space, uint8_t proto,
                 uint32_t count)
{
    memset(f, 0, sizeof(*f));
    f->p = p;
    f->space = space;
    f->proto = proto;
    f->count = count;
    f->buf = aligned_alloc(SLOT_ALIGN, CT_BURST_MAX * slot_max(p->family, p->payload));
    return f->buf ? 0 : -ENOMEM;
}

unsigned tr_fill_next(struct tr_fill *f)
{
    const struct tr_params *p = f->p;
    unsigned steps = f->proto == IPPROTO_TCP ? 3 : 2;
    uint64_t groups = ((uint64_t)f->count + p->burst - 1) / p->burst;
    size_t slot = slot_max(p->family, p->payload);

    for (;;) {
        uint64_t b = f->burst_no;
        unsigned step = (unsigned)(b % steps);
        uint64_t round = b / steps;
        unsigned n = 0;

        if (round >= groups + steps - 1)
            return 0;
        f->burst_no++;
        if (round < step || round - step >= groups)
            continue;
        uint64_t first = (round - step) * p->burst;
        for (uint64_t k = first; k < first + p->burst && k < f->count; k++, n++) {
            uint32_t g = (uint32_t)(k * p->threads + p->thread);
            uint8_t *d = f->buf + n * slot;
            unsigned len;
            if (f->proto == IPPROTO_TCP) {
                len = write_handshake(d, p->family, f->space, g, step);
            } else {
                struct flow fl;
                flow_make(&fl, p->family, f->space, g, IPPROTO_UDP);
                len = write_udp(d, p->family, &fl, g, step == 0, p->payload);
            }
            set_frame(&f->frames[n], d, len, p->csum_offload ? CT_FRAME_F_L4_CSUM_GOOD : 0);
        }
        if (n)
            return n;
    }
}

void tr_fill_free(struct tr_fill *f)
{
    free(f->buf);
    f->buf = NULL;
}

/* ---- the ring builder ---------------------------------------------------------------- */

/* A pending pipeline step: a connection and the first burst it may go in. */
struct qitem {
    uint32_t k;
    uint32_t ready;
};

struct fifo {
    struct qitem *v;
    uint32_t head, tail, cap; /* cap is a power of two */
};

static int fifo_push(struct fifo *q, uint32_t k, uint32_t ready)
{
    if (q->tail - q->head == q->cap) {
        uint32_t ncap = q->cap ? q->cap * 2 : 1024;
        struct qitem *nv = malloc(sizeof(*nv) * ncap);
        if (!nv)
            return -ENOMEM;
        for (uint32_t i = q->head; i != q->tail; i++)
            nv[i - q->head] = q->v[i & (q->cap - 1)];
        free(q->v);
        q->v = nv;
        q->tail -= q->head;
        q->head = 0;
        q->cap = ncap;
    }
    q->v[q->tail++ & (q->cap - 1)] = (struct qitem){k, ready};
    return 0;
}

static int fifo_ready(const struct fifo *q, uint32_t burst_no)
{
    return q->tail != q->head && q->v[q->head & (q->cap - 1)].ready <= burst_no;
}

static struct qitem fifo_pop(struct fifo *q)
{
    return q->v[q->head++ & (q->cap - 1)];
}

struct builder {
    const struct tr_params *p;
    struct tr_ring *r;
    struct rng rng;
    size_t off;             /* next free byte of r->buf */
    uint32_t burst_no;      /* burst being filled */
    uint32_t in_burst;      /* frames in it so far */
    uint32_t chosen[CT_BURST_MAX]; /* established connections used in this burst */
    unsigned nchosen;
    uint32_t *c_off;        /* client bytes sent so far, per established connection */
    uint8_t *phase;         /* next established segment: 0 client data, 1 server ACK */
    struct fifo q_synack, q_ack, q_reply;
    uint32_t new_next;      /* next new-space connection */
    uint32_t cap;           /* frames the arrays hold */
};

static int chosen_has(const struct builder *bd, uint32_t k)
{
    for (unsigned i = 0; i < bd->nchosen; i++)
        if (bd->chosen[i] == k)
            return 1;
    return 0;
}

/* An established connection not yet used in this burst (when there are enough). */
static uint32_t pick_conn(struct builder *bd)
{
    uint32_t n = bd->p->est_conns;
    uint32_t k = rng_below(&bd->rng, n);
    if (n >= 2u * bd->p->burst) {
        while (chosen_has(bd, k))
            k = rng_below(&bd->rng, n);
    }
    bd->chosen[bd->nchosen++] = k;
    return k;
}

static uint8_t *emit_begin(struct builder *bd)
{
    return bd->r->buf + bd->off;
}

static void emit_end(struct builder *bd, unsigned len, uint8_t rw, uint32_t conn)
{
    struct tr_ring *r = bd->r;
    uint32_t j = r->n++;
    set_frame(&r->frames[j], r->buf + bd->off, len, bd->p->csum_offload ? CT_FRAME_F_L4_CSUM_GOOD : 0);
    r->rw_kind[j] = rw;
    r->rw_conn[j] = conn;
    r->expect[j] = TR_X_OK;
    bd->off += (len + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
    bd->in_burst++;
}

static void burst_close(struct builder *bd)
{
    if (!bd->in_burst)
        return;
    bd->r->bstart[++bd->r->nbursts] = bd->r->n;
    bd->burst_no++;
    bd->in_burst = 0;
    bd->nchosen = 0;
}

static uint32_t est_g(const struct builder *bd, uint32_t k)
{
    return k * bd->p->threads + bd->p->thread;
}

/* One TCP segment on an established connection: data and ACK alternate. */
static void emit_est_tcp(struct builder *bd)
{
    const struct tr_params *p = bd->p;
    uint32_t k = pick_conn(bd);
    uint32_t g = est_g(bd, k);
    uint32_t ci = isn(TR_SPACE_EST, g, 0) + 1, si = isn(TR_SPACE_EST, g, 1) + 1;
    struct flow f;
    struct seg s;
    uint8_t *b = emit_begin(bd);

    flow_make(&f, p->family, TR_SPACE_EST, g, IPPROTO_TCP);
    if (bd->phase[k] == 0 || p->payload == 0) {
        s = (struct seg){.from_client = 1, .seq = ci + bd->c_off[k], .ack = si,
                         .flags = CT_TCP_ACK | (p->payload ? CT_TCP_PSH : 0), .win = DATA_WINDOW,
                         .payload = p->payload};
        bd->c_off[k] += p->payload;
        bd->phase[k] = 1;
        emit_end(bd, write_tcp(b, p->family, &f, g, &s), TR_RW_SEQ, k);
    } else {
        s = (struct seg){.from_client = 0, .seq = si, .ack = ci + bd->c_off[k],
                         .flags = CT_TCP_ACK, .win = DATA_WINDOW};
        bd->phase[k] = 0;
        emit_end(bd, write_tcp(b, p->family, &f, g, &s), TR_RW_ACK, k);
    }
}

/*
 * One INVALID frame on an established connection (mixed workload). INVALID
 * packets do not refresh a connection's timer, so they go to a connection
 * that already had a valid segment in this ring (and so has one in every
 * run); a connection seeing only INVALID frames would time out and its next
 * frame would open it again mid-stream. When none is found quickly, a valid
 * segment is emitted instead.
 */
static void emit_invalid(struct builder *bd)
{
    const struct tr_params *p = bd->p;
    uint32_t k = pick_conn(bd);
    for (int tries = 0; !bd->phase[k] && bd->c_off[k] == 0; tries++) {
        bd->nchosen--;
        if (tries == 8) {
            emit_est_tcp(bd);
            return;
        }
        k = pick_conn(bd);
    }
    uint32_t g = est_g(bd, k);
    uint32_t ci = isn(TR_SPACE_EST, g, 0) + 1, si = isn(TR_SPACE_EST, g, 1) + 1;
    unsigned kinds = p->checksum ? 3 : 2;
    unsigned kind = rng_below(&bd->rng, kinds);
    struct flow f;
    struct seg s = {.from_client = 1, .seq = ci + bd->c_off[k], .ack = si, .flags = CT_TCP_ACK,
                    .win = DATA_WINDOW, .payload = p->payload ? p->payload : 1};
    uint8_t *b = emit_begin(bd);
    unsigned len;
    uint8_t rw = TR_RW_SEQ;

    flow_make(&f, p->family, TR_SPACE_EST, g, IPPROTO_TCP);
    if (kind == 0) {
        s.flags = CT_TCP_SYN | CT_TCP_FIN; /* invalid flag combination */
        rw = TR_RW_NONE;
    } else if (kind == 1) {
        s.seq += OOW_OFFSET; /* far outside the window */
    }
    len = write_tcp(b, p->family, &f, g, &s);
    if (kind == 2) {
        uint8_t *c = b + l4_off(p->family) + 16;
        put16(c, (uint16_t)(get16(c) ^ 0x5a5a)); /* wrong transport checksum */
    }
    emit_end(bd, len, rw, k);
    if (kind == 2) /* a NIC would not vouch for it: the table sums it itself */
        bd->r->frames[bd->r->n - 1].flags = 0;
    bd->r->expect[bd->r->n - 1] = (uint8_t)(TR_X_BAD_FLAGS + kind);
    bd->r->n_invalid++;
}

/* One UDP frame: a request on a random flow, or a pending reply. */
static int emit_udp(struct builder *bd)
{
    const struct tr_params *p = bd->p;
    struct flow f;
    uint32_t k, g;
    int reply = 0;

    if (fifo_ready(&bd->q_reply, bd->burst_no) && (rng_next(&bd->rng) & 1) &&
        !chosen_has(bd, bd->q_reply.v[bd->q_reply.head & (bd->q_reply.cap - 1)].k)) {
        k = fifo_pop(&bd->q_reply).k;
        bd->chosen[bd->nchosen++] = k;
        reply = 1;
    } else {
        k = pick_conn(bd);
        if (fifo_push(&bd->q_reply, k, bd->burst_no + 1))
            return -ENOMEM;
    }
    g = est_g(bd, k);
    flow_make(&f, p->family, TR_SPACE_EST, g, IPPROTO_UDP);
    emit_end(bd, write_udp(emit_begin(bd), p->family, &f, g, !reply, p->payload), TR_RW_NONE, 0);
    return 0;
}

/*
 * One step of a new connection's handshake: an ACK, a SYN-ACK or a new SYN.
 * The slot's position in the burst proposes a step (so a burst carries all
 * three, mixed); if that step has nothing ready (or it is a SYN while more
 * than a burst of steps is pending), a ready ACK, then a ready SYN-ACK, then
 * a new SYN is taken instead. Pending steps are thus served
 * before new connections start, and each step follows the previous one of its
 * connection one or two bursts later, which keeps a handshake short on the
 * table's clock however fast that clock runs.
 */
static int emit_new(struct builder *bd, int syn_allowed)
{
    const struct tr_params *p = bd->p;
    int can_ack = fifo_ready(&bd->q_ack, bd->burst_no);
    int can_synack = fifo_ready(&bd->q_synack, bd->burst_no);
    unsigned want = bd->in_burst % 3; /* 0 SYN, 1 SYN-ACK, 2 ACK */
    unsigned step;
    uint32_t k;

    if (want == 2 && can_ack)
        step = 2;
    else if (want == 1 && can_synack)
        step = 1;
    else if (want == 0 && syn_allowed &&
             (bd->q_ack.tail - bd->q_ack.head) + (bd->q_synack.tail - bd->q_synack.head) <=
                 p->burst)
        step = 0; /* only while the backlog of pending steps is short */
    else if (can_ack)
        step = 2;
    else if (can_synack)
        step = 1;
    else if (syn_allowed)
        step = 0;
    else
        return 1; /* nothing to emit */

    if (step == 2) {
        k = fifo_pop(&bd->q_ack).k;
    } else if (step == 1) {
        k = fifo_pop(&bd->q_synack).k;
        if (fifo_push(&bd->q_ack, k, bd->burst_no + 1))
            return -ENOMEM;
    } else {
        k = bd->new_next++;
        bd->r->new_conns++;
        if (fifo_push(&bd->q_synack, k, bd->burst_no + 1))
            return -ENOMEM;
    }
    uint32_t g = k * p->threads + p->thread;
    unsigned len = write_handshake(emit_begin(bd), p->family, TR_SPACE_NEW, g, step);
    emit_end(bd, len, step == 1 ? TR_RW_ADDR_S2C : TR_RW_ADDR_C2S, 0);
    return 0;
}

static int pending(const struct builder *bd)
{
    return bd->q_ack.tail != bd->q_ack.head || bd->q_synack.tail != bd->q_synack.head ||
           bd->q_reply.tail != bd->q_reply.head;
}

/* Drain: bursts of whatever pending steps are ready, until none is left. */
static int drain(struct builder *bd)
{
    burst_close(bd);
    while (pending(bd)) {
        while (bd->in_burst < bd->p->burst && bd->r->n < bd->cap) {
            if (fifo_ready(&bd->q_reply, bd->burst_no)) {
                const struct tr_params *p = bd->p;
                struct flow f;
                uint32_t k = fifo_pop(&bd->q_reply).k, g = est_g(bd, k);
                if (chosen_has(bd, k)) {
                    bd->q_reply.head--; /* put it back: same flow already in this burst */
                    break;
                }
                bd->chosen[bd->nchosen++] = k;
                flow_make(&f, p->family, TR_SPACE_EST, g, IPPROTO_UDP);
                emit_end(bd, write_udp(emit_begin(bd), p->family, &f, g, 0, p->payload),
                         TR_RW_NONE, 0);
                continue;
            }
            int rc = emit_new(bd, 0);
            if (rc < 0)
                return rc;
            if (rc > 0)
                break;
        }
        if (bd->in_burst == 0 && pending(bd)) {
            /* Nothing was ready: the next burst number makes it ready. */
            bd->burst_no++;
            continue;
        }
        burst_close(bd);
    }
    return 0;
}

int tr_ring_build(struct tr_ring *r, const struct tr_params *p)
{
    struct builder bd;
    size_t slot = slot_max(p->family, p->payload);
    uint32_t cap;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    memset(&bd, 0, sizeof(bd));
    r->family = p->family;
    /* New connections can leave up to two more frames each for the drain. */
    cap = p->ring_len;
    if (p->workload == TR_W_NEW || p->workload == TR_W_MIXED)
        cap = p->ring_len * 3 + 2 * p->burst;
    else if (p->workload == TR_W_UDP)
        cap = p->ring_len * 2 + 2 * p->burst;
    bd.cap = cap;
    bd.p = p;
    bd.r = r;
    bd.rng.s = p->seed ^ ((uint64_t)p->thread << 48) ^ ((uint64_t)p->workload << 40) ^
               ((uint64_t)p->family << 36);

    r->buf_len = (size_t)cap * slot;
    r->buf = aligned_alloc(4096, (r->buf_len + 4095) / 4096 * 4096);
    r->frames = malloc(sizeof(*r->frames) * cap);
    r->rw_kind = malloc(cap);
    r->expect = malloc(cap);
    r->rw_conn = malloc(sizeof(uint32_t) * cap);
    r->bstart = malloc(sizeof(uint32_t) * (cap + 1));
    r->c_total = calloc(p->est_conns ? p->est_conns : 1, sizeof(uint32_t));
    bd.phase = calloc(p->est_conns ? p->est_conns : 1, 1);
    bd.c_off = r->c_total;
    if (!r->buf || !r->frames || !r->rw_kind || !r->expect || !r->rw_conn || !r->bstart || !r->c_total ||
        !bd.phase) {
        rc = -ENOMEM;
        goto out;
    }
    r->bstart[0] = 0;
    if ((p->workload != TR_W_NEW && p->est_conns == 0) || p->burst == 0 ||
        p->burst > CT_BURST_MAX) {
        rc = -EINVAL;
        goto out;
    }

    for (uint32_t i = 0; i < p->ring_len; i++) {
        switch (p->workload) {
        case TR_W_ESTABLISHED:
            emit_est_tcp(&bd);
            break;
        case TR_W_UDP:
            rc = emit_udp(&bd);
            break;
        case TR_W_NEW:
            rc = emit_new(&bd, 1);
            break;
        default: {
            uint32_t x = rng_below(&bd.rng, 1000);
            if (x < 10)
                emit_invalid(&bd);
            else if (x < 110)
                rc = emit_new(&bd, 1);
            else
                emit_est_tcp(&bd);
            break;
        }
        }
        if (rc)
            goto out;
        if (bd.in_burst == p->burst)
            burst_close(&bd);
    }
    rc = drain(&bd);
out:
    free(bd.phase);
    free(bd.q_ack.v);
    free(bd.q_synack.v);
    free(bd.q_reply.v);
    if (rc)
        tr_ring_free(r);
    return rc;
}

void tr_ring_next_pass(struct tr_ring *r)
{
    unsigned l3 = ETH_LEN, l4 = l4_off(r->family);
    unsigned cw_off = r->family == 4 ? 12 : 8 + 6;  /* source address pass word */
    unsigned sw_off = r->family == 4 ? 16 : 24 + 6; /* destination address pass word */

    for (uint32_t j = 0; j < r->n; j++) {
        uint8_t *b = (uint8_t *)r->frames[j].data;
        uint8_t kind = r->rw_kind[j];
        if (kind == TR_RW_SEQ || kind == TR_RW_ACK) {
            uint8_t *f = b + l4 + (kind == TR_RW_SEQ ? 4 : 8);
            uint32_t old = get32(f), nv = old + r->c_total[r->rw_conn[j]];
            put32(f, nv);
            put16(b + l4 + 16, csum_update32(get16(b + l4 + 16), old, nv));
        } else if (kind == TR_RW_ADDR_C2S || kind == TR_RW_ADDR_S2C) {
            /* Client word up, server word down: every checksum sum stays the same. */
            int up_src = kind == TR_RW_ADDR_C2S;
            put16(b + l3 + cw_off, (uint16_t)(get16(b + l3 + cw_off) + (up_src ? 1 : -1)));
            put16(b + l3 + sw_off, (uint16_t)(get16(b + l3 + sw_off) + (up_src ? -1 : 1)));
        }
    }
    r->pass++;
}

void tr_ring_free(struct tr_ring *r)
{
    free(r->buf);
    free(r->frames);
    free(r->rw_kind);
    free(r->expect);
    free(r->rw_conn);
    free(r->bstart);
    free(r->c_total);
    memset(r, 0, sizeof(*r));
}
