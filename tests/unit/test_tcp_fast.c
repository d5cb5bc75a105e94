/*
 * The TCP tracker's fast paths against its full path.
 *
 * ct_tcp_packet() takes shortcuts for in-window ACK segments of assured
 * ESTABLISHED connections and for the three packets of a plain handshake,
 * and runs ct_tcp_packet_full() for everything else. This test drives
 * pseudo-random but plausible connections (handshakes with and without
 * window scaling and SACK, with odd acknowledgements and packets out of
 * turn, mid-stream pickups, data in both directions, lost and
 * retransmitted segments, keep-alives, window changes, zero windows, SACK
 * blocks, segments outside the window, FIN, RST and SYN in the middle of
 * the stream, malformed headers, sequence numbers around the 2^32 wrap)
 * and, before every packet, runs it through both functions on identical
 * copies of the connection. The verdicts, reasons and the whole
 * connection entry must come out byte for byte the same. Some connections
 * also get their stored state disturbed (huge windows, odd scale shifts,
 * flag bits, a pending retransmission count, missing status bits) so that
 * the edges of the fast paths' conditions are crossed too, and a second
 * test puts sequence numbers, acknowledgements and lengths exactly at,
 * just inside and just outside each bound.
 *
 * The generator is seeded and deterministic; a failure prints the seed,
 * the connection, the packet and both resulting states.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ctrack/table.h"
#include "proto/proto.h"
#include "proto/tcp_conn.h"
#include "support/table_fixture.h"

#define NS (1000000000ull)

/* ---- random numbers (xorshift64*) --------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Uniform enough in [0, n) for a test generator. */
static uint32_t below(uint32_t n)
{
    return (uint32_t)((rnd() >> 32) % n);
}

/* 1 with probability pct percent. */
static int chance(unsigned pct)
{
    return below(100) < pct;
}

/* ---- configuration ---------------------------------------------------------------- */

static struct ct_proto_cfg cfg;

/*
 * Linux's defaults most of the time; otherwise timeouts ordered so that the
 * RETRANS and UNACK caps apply or do not, and the other switches flipped.
 */
static void cfg_random(void)
{
    static const uint8_t max_retrans[] = {0, 1, 2, 3, 3, 3, 14, 15, 16, 255};
    /* Linux's defaults, from the table defaults (test_table.c checks those). */
    struct ct_table_config tc;
    ct_table_config_init(&tc);
    memset(&cfg, 0, sizeof(cfg));
    ct_proto_cfg_from_config(&cfg, tc.timeouts, 0, tc.tcp_max_retrans);
    if (chance(50))
        return;
    static const uint32_t choices[] = {1, 100, 299, 300, 301, 432000};
    cfg.timeout_ns[CT_TIMEOUT_TCP_ESTABLISHED] = choices[below(6)] * NS;
    cfg.timeout_ns[CT_TIMEOUT_TCP_RETRANS] = choices[below(6)] * NS;
    cfg.timeout_ns[CT_TIMEOUT_TCP_UNACK] = choices[below(6)] * NS;
    cfg.tcp_loose = (uint8_t)chance(70);
    cfg.tcp_liberal = (uint8_t)chance(15);
    cfg.tcp_ignore_invalid_rst = (uint8_t)chance(30);
    cfg.tcp_max_retrans = max_retrans[below(sizeof(max_retrans))];
}

/* ---- packets ---------------------------------------------------------------------- */

/* The TCP header area of the current packet, for the SACK option. */
static uint8_t frame[64];

/* seg_ts(), and in 30 % of segments a timestamp option: a longer header that changes nothing. */
static struct ct_pkt seg_ts(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint32_t len)
{
    struct ct_pkt p = seg(flags, seq, ack, win, len);
    if (chance(30)) {
        p.tcp_hdr_len = 32;
        p.l4_len = 32 + len;
        p.tcp_opts = CT_TCPOPT_TIMESTAMP;
    }
    return p;
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* Adds a SACK option with one or two blocks, read back from `frame`. */
static void add_sack(struct ct_pkt *p, uint32_t left, uint32_t right)
{
    const unsigned blocks = chance(50) ? 1u : 2u;
    const unsigned hl = 20u + 4u * (blocks == 1 ? 3u : 5u);
    memset(frame, 0, sizeof(frame));
    uint8_t *o = frame + 20;
    o[0] = 1;
    o[1] = 1;
    o[2] = 5;
    o[3] = (uint8_t)(2 + 8 * blocks);
    put32(o + 4, left);
    put32(o + 8, right);
    if (blocks == 2) {
        put32(o + 12, right + 100);
        put32(o + 16, right + 100 + below(3000));
    }
    p->data = frame;
    p->len = hl;
    p->l4_off = 0;
    p->l4_len = p->l4_len - p->tcp_hdr_len + hl;
    p->tcp_hdr_len = (uint8_t)hl;
    p->tcp_opts = CT_TCPOPT_SACK;
}

/* A SYN or SYN/ACK with the options a side announces. */
static struct ct_pkt syn(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, int wscale, int sackperm,
                         uint8_t shift)
{
    struct ct_pkt p = seg_ts(flags, seq, ack, win, 0);
    p.tcp_hdr_len = 32;
    p.l4_len = 32;
    p.tcp_opts = CT_TCPOPT_MSS;
    if (wscale) {
        p.tcp_opts |= CT_TCPOPT_WSCALE;
        p.tcp_wscale = shift;
    }
    if (sackperm)
        p.tcp_opts |= CT_TCPOPT_SACK_PERM;
    return p;
}

/* ---- the comparison --------------------------------------------------------------- */

static struct ct_conn4 entry;  /* the connection, as the fast path leaves it */
static struct ct_conn4 shadow; /* the same connection through the full path */

static uint64_t seed_now;
static unsigned conn_no, pkt_no;
static unsigned reported;

/* The kinds of packet the fast paths are for. */
enum shape {
    SHAPE_OTHER,
    SHAPE_ESTABLISHED, /* class ACK in assured ESTABLISHED, no SACK option */
    SHAPE_SYN,         /* class SYN from the original side in NONE */
    SHAPE_SYNACK,      /* class SYN/ACK from the reply side in SYN_SENT, reply side unseen */
    SHAPE_LAST_ACK,    /* class ACK from the original side in SYN_RECV after a reply */
    SHAPE_COUNT,
};

static enum shape shape_of(const struct ct_conn *c, unsigned dir, const struct ct_pkt *p)
{
    const unsigned need = CT_STATUS_SEEN_REPLY | CT_STATUS_ASSURED;
    const unsigned cls = p->tcp_flags & (CT_TCP_FIN | CT_TCP_SYN | CT_TCP_RST | CT_TCP_ACK);
    if (p->tcp_hdr_len < 20 || p->l4_len < p->tcp_hdr_len)
        return SHAPE_OTHER;
    if (cls == CT_TCP_ACK && !(p->tcp_opts & CT_TCPOPT_SACK)) {
        if (c->l4state == CT_TCP_ESTABLISHED && (c->status & need) == need)
            return SHAPE_ESTABLISHED;
        if (c->l4state == CT_TCP_SYN_RECV && dir == CT_DIR_ORIGINAL && (c->status & CT_STATUS_SEEN_REPLY))
            return SHAPE_LAST_ACK;
    }
    if (cls == CT_TCP_SYN && c->l4state == CT_TCP_NONE && dir == CT_DIR_ORIGINAL)
        return SHAPE_SYN;
    if (cls == (CT_TCP_SYN | CT_TCP_ACK) && c->l4state == CT_TCP_SYN_SENT && dir == CT_DIR_REPLY &&
        ct_tcp_of_const(c)->seen[CT_DIR_REPLY].td_maxwin == 0)
        return SHAPE_SYNACK;
    return SHAPE_OTHER;
}

/* Coverage of the cases that matter, so that the test cannot pass vacuously. */
static struct {
    unsigned long packets;
    unsigned long shaped[SHAPE_COUNT]; /* packets of each shape */
    unsigned long ok[SHAPE_COUNT];     /* ... accepted with no reason */
    unsigned long out[SHAPE_COUNT];    /* ... not (a bound failed, or worse) */
    unsigned long retrans_max; /* established, accepted with the retransmission count saturated */
    unsigned long sack;        /* carrying a SACK option */
    unsigned long closed;      /* ended by REPLACE or CLOSE */
    unsigned long timeouts[CT_TIMEOUT_COUNT]; /* established, accepted: the timeout chosen */
} seen;

static void dump(const char *what, const struct ct_conn *c, const struct ct_proto_result *r)
{
    const struct ct_tcp_conn *t = ct_tcp_of_const(c);
    fprintf(stderr, "  %s: action %u reason %u pad %u | state %u status %#x timeout %u\n", what, r->action,
            r->reason, r->pad, c->l4state, c->status, c->timeout);
    for (unsigned d = 0; d < 2; d++)
        fprintf(stderr, "    dir %u: end %u maxend %u maxwin %u scale %u flags %#x\n", d, t->seen[d].td_end,
                t->seen[d].td_maxend, t->seen[d].td_maxwin, t->seen[d].td_scale, t->seen[d].flags);
    fprintf(stderr, "    last: seq %u ack %u end %u win %u dir_index %#x wscale_flags %#x\n", t->last_seq,
            t->last_ack, t->last_end, t->last_win, t->last_dir_index, t->last_wscale_flags);
}

/*
 * Runs one packet through both paths from the same state, compares, and
 * keeps the fast path's result. Sets SEEN_REPLY after an accepted reply as
 * the packet path does. Returns the action.
 */
static unsigned send(unsigned dir, const struct ct_pkt *p)
{
    struct ct_conn *c = &entry.c;
    struct ct_proto_result ra, rb;
    const enum shape shape = shape_of(c, dir, p);

    shadow = entry;
    memset(&ra, 0x5a, sizeof(ra));
    memset(&rb, 0xa5, sizeof(rb));
    ct_tcp_packet(&cfg, c, (enum ct_dir)dir, p, 0, &ra);
    ct_tcp_packet_full(&cfg, &shadow.c, (enum ct_dir)dir, p, &rb);

    if (memcmp(&ra, &rb, sizeof(ra)) != 0 || memcmp(&entry, &shadow, sizeof(entry)) != 0) {
        CHECK_FAIL_("seed %#llx connection %u packet %u: fast and full paths differ", (unsigned long long)seed_now,
                    conn_no, pkt_no);
        if (reported++ < 3) {
            fprintf(stderr, "  packet dir %u flags %#x seq %u ack %u win %u hdr %u l4_len %u opts %#x\n", dir,
                    p->tcp_flags, p->seq, p->ack, p->win, p->tcp_hdr_len, p->l4_len, p->tcp_opts);
            dump("fast", c, &ra);
            dump("full", &shadow.c, &rb);
        }
    }

    seen.packets++;
    if (p->tcp_opts & CT_TCPOPT_SACK)
        seen.sack++;
    seen.shaped[shape]++;
    if (ra.action == CT_PROTO_ACCEPT && ra.reason == CT_REASON_NONE) {
        seen.ok[shape]++;
        if (shape == SHAPE_ESTABLISHED) {
            seen.timeouts[c->timeout < CT_TIMEOUT_COUNT ? c->timeout : 0]++;
            if (ct_tcp_retrans(ct_tcp_of_const(c)) == CT_TCP_RETRANS_MAX)
                seen.retrans_max++;
        }
    } else {
        seen.out[shape]++;
    }
    if (ra.action == CT_PROTO_REPLACE || ra.action == CT_PROTO_CLOSE)
        seen.closed++;
    if (dir == CT_DIR_REPLY && ra.action == CT_PROTO_ACCEPT)
        c->status |= CT_STATUS_SEEN_REPLY;
    pkt_no++;
    return ra.action;
}

/* ---- the endpoints ------------------------------------------------------------------ */

struct side {
    uint32_t nxt;  /* next sequence number to send */
    uint32_t rcv;  /* next sequence number expected from the peer (its ACK) */
    uint16_t win;  /* raw window announced */
    uint8_t shift; /* window scale announced in the SYN */
};

static struct side side[2];

/* Recent segments, for retransmissions. */
#define HISTORY 16
static struct {
    struct ct_pkt p;
    unsigned dir;
} hist[HISTORY];
static unsigned hist_n;

static void remember(unsigned dir, const struct ct_pkt *p)
{
    if (p->tcp_opts & CT_TCPOPT_SACK)
        return; /* its option bytes live in the shared frame */
    hist[hist_n % HISTORY].p = *p;
    hist[hist_n % HISTORY].dir = dir;
    hist_n++;
}

static uint16_t random_window(void)
{
    switch (below(8)) {
    case 0:
        return 0;
    case 1:
        return (uint16_t)(1 + below(100));
    case 2:
        return 0xffff;
    default:
        return (uint16_t)(1000 + below(64000));
    }
}

static uint32_t random_len(void)
{
    switch (below(10)) {
    case 0:
    case 1:
    case 2:
        return 0;
    case 3:
        return 1;
    case 4:
        return 65535 - 32; /* the largest a header of 32 bytes leaves */
    default:
        return 1 + below(1460);
    }
}

/* Extra flag bits that never decide validity, and sometimes URG. */
static uint8_t decoration(void)
{
    uint8_t f = 0;
    if (chance(40))
        f |= CT_TCP_PSH;
    if (chance(5))
        f |= CT_TCP_URG;
    if (chance(5))
        f |= CT_TCP_ECE;
    if (chance(5))
        f |= CT_TCP_CWR;
    return f;
}

/* A far sequence offset: outside any window, or anywhere at all. */
static uint32_t far_offset(void)
{
    switch (below(4)) {
    case 0:
        return 70000 + below(1000000);
    case 1:
        return 0x7fffffffu - below(3);
    case 2:
        return 0x80000000u + below(3);
    default:
        return (uint32_t)rnd();
    }
}

/* One event on the established (or closing) connection. */
static unsigned event(void)
{
    const unsigned i = below(2);
    struct side *me = &side[i], *peer = &side[i ^ 1u];
    struct ct_pkt p;
    unsigned roll = below(1000);

    if (roll < 400) {
        /* Data (or an empty segment) in order; the peer may miss it. */
        uint32_t len = random_len();
        p = seg_ts((uint8_t)(CT_TCP_ACK | decoration()), me->nxt, me->rcv, me->win, len);
        me->nxt += len;
        if (chance(85))
            peer->rcv = me->nxt;
    } else if (roll < 650) {
        /* A pure ACK of what arrived, sometimes of less. */
        uint32_t ack = chance(80) ? me->rcv : me->rcv - below(3000);
        p = seg_ts(CT_TCP_ACK, me->nxt, ack, me->win, 0);
    } else if (roll < 720 && hist_n > 0) {
        /* The last segment again, possibly many times over. */
        unsigned k = (hist_n - 1) % HISTORY;
        unsigned times = chance(30) ? 1 + below(20) : 1;
        unsigned a = CT_PROTO_ACCEPT;
        for (unsigned n = 0; n < times && (a == CT_PROTO_ACCEPT || a == CT_PROTO_INVALID); n++)
            a = send(hist[k].dir, &hist[k].p);
        return a;
    } else if (roll < 760 && hist_n > 0) {
        /* An older segment again. */
        unsigned k = below(hist_n < HISTORY ? hist_n : HISTORY);
        return send(hist[k].dir, &hist[k].p);
    } else if (roll < 820) {
        /* The window changes. */
        me->win = random_window();
        p = seg_ts(CT_TCP_ACK, me->nxt, me->rcv, me->win, chance(50) ? 0 : 1 + below(1460));
        me->nxt += p.l4_len - p.tcp_hdr_len;
        if (chance(85))
            peer->rcv = me->nxt;
    } else if (roll < 870) {
        /* A SACK block around what the peer sent. */
        p = seg_ts(CT_TCP_ACK, me->nxt, me->rcv, me->win, 0);
        uint32_t left = me->rcv + below(2000);
        uint32_t right = chance(70) ? peer->nxt - below(500) : peer->nxt + 1 + below(100000);
        add_sack(&p, left, right);
    } else if (roll < 930) {
        /* Outside the window: seq or ack far off, in either direction. */
        p = seg_ts((uint8_t)(CT_TCP_ACK | decoration()), me->nxt, me->rcv, me->win, random_len());
        switch (below(4)) {
        case 0:
            p.seq += far_offset();
            break;
        case 1:
            p.seq -= far_offset();
            break;
        case 2:
            p.ack += far_offset();
            break;
        default:
            p.ack -= far_offset();
            break;
        }
    } else if (roll < 960) {
        /* A keep-alive: one byte below what was sent. */
        p = seg_ts(CT_TCP_ACK, me->nxt - 1, me->rcv, me->win, below(2));
    } else if (roll < 967) {
        /* FIN, in order or not. */
        p = seg_ts(CT_TCP_FIN | CT_TCP_ACK, me->nxt, me->rcv, me->win, chance(50) ? 0 : below(500));
        me->nxt += p.l4_len - p.tcp_hdr_len + 1;
        if (chance(85))
            peer->rcv = me->nxt;
    } else if (roll < 974) {
        /* RST, with or without ACK, at or near the expected sequence. */
        uint8_t f = chance(50) ? CT_TCP_RST : (uint8_t)(CT_TCP_RST | CT_TCP_ACK);
        uint32_t seq = chance(60) ? me->nxt : me->nxt + below(100000) - 50000;
        p = seg_ts(f, seq, chance(80) ? me->rcv : 0, 0, 0);
    } else if (roll < 981) {
        /* A SYN or SYN/ACK in the middle of the stream. */
        uint8_t f = chance(50) ? CT_TCP_SYN : (uint8_t)(CT_TCP_SYN | CT_TCP_ACK);
        p = syn(f, chance(50) ? me->nxt : (uint32_t)rnd(), f & CT_TCP_ACK ? me->rcv : 0, me->win, chance(50),
                chance(50), (uint8_t)below(16));
    } else if (roll < 991) {
        /* A malformed header or flag combination. */
        p = seg_ts((uint8_t)below(256), me->nxt, me->rcv, me->win, below(100));
        switch (below(3)) {
        case 0:
            p.tcp_hdr_len = (uint8_t)(4 * below(5));
            break;
        case 1:
            p.l4_len = p.tcp_hdr_len - 1 - below(p.tcp_hdr_len);
            break;
        default:
            break;
        }
    } else {
        /* Anything at all. */
        p = seg_ts((uint8_t)(CT_TCP_ACK | (chance(20) ? below(256) : 0)), (uint32_t)rnd(), (uint32_t)rnd(),
                (uint16_t)rnd(), random_len());
    }
    remember(i, &p);
    return send(i, &p);
}

/* ---- disturbing the stored state ------------------------------------------------- */

/* One change to the entry, kept in the range the tracker can produce. */
static void disturb(void)
{
    struct ct_tcp_conn *t = ct_tcp_of(&entry.c);
    struct ct_tcp_dir *d = &t->seen[below(2)];
    static const uint32_t big[] = {0, 1, 65999, 66000, 66001, 0x7ffffffeu, 0x7fffffffu, 0x80000000u,
                                   0x80000001u, 0xfffffffeu, 0xffffffffu};

    switch (below(10)) {
    case 0:
        d->td_maxwin = big[below(sizeof(big) / sizeof(big[0]))];
        break;
    case 1:
        d->td_maxwin = (uint32_t)rnd();
        break;
    case 2:
        d->td_scale = (uint8_t)below(16);
        break;
    case 3:
        d->flags ^= (uint8_t)(1u << below(8));
        break;
    case 4:
        d->td_maxend += big[below(sizeof(big) / sizeof(big[0]))];
        break;
    case 5:
        /* A retransmission count near saturation. */
        ct_tcp_set_retrans(t, 13 + below(3));
        break;
    case 6:
        entry.c.status &= (uint16_t)~(chance(50) ? CT_STATUS_ASSURED : CT_STATUS_SEEN_REPLY);
        break;
    case 7:
        entry.c.status |= CT_STATUS_FIXED_TIMEOUT;
        break;
    case 8:
        ct_tcp_set_last_dir(t, below(2));
        ct_tcp_set_last_index(t, below(CT_TCP_CLASS_COUNT));
        break;
    default:
        entry.c.timeout = (uint8_t)below(CT_TIMEOUT_COUNT);
        break;
    }
}

/* ---- connections --------------------------------------------------------------------- */

static uint32_t random_isn(void)
{
    /* Often close to the wrap of the sequence space. */
    return chance(30) ? 0xffffffffu - below(200000) : (uint32_t)rnd();
}

/* A SYN-ACK's or ACK's acknowledgement: right, or slightly or far off. */
static uint32_t ack_near(uint32_t right)
{
    switch (below(20)) {
    case 0:
        return right + 1;
    case 1:
        return right - 1;
    case 2:
        return right - 66000 + below(3);
    case 3:
        return right + far_offset();
    default:
        return right;
    }
}

/*
 * Something other than the next handshake step: a copy of an earlier
 * packet, a disturbed entry, or a SYN, SYN/ACK, ACK or RST out of turn,
 * from either side, with odd options, flags or lengths.
 */
static void handshake_noise(void)
{
    while (chance(25)) {
        const unsigned i = below(2);
        struct side *me = &side[i], *peer = &side[i ^ 1u];
        struct ct_pkt p;
        switch (below(8)) {
        case 0:
            if (hist_n > 0) {
                unsigned k = below(hist_n < HISTORY ? hist_n : HISTORY);
                send(hist[k].dir, &hist[k].p);
            }
            continue;
        case 1:
            disturb();
            continue;
        case 2:
            p = syn(CT_TCP_SYN, chance(70) ? me->nxt - 1 : (uint32_t)rnd(), 0, me->win, chance(50), chance(50),
                    (uint8_t)below(16));
            break;
        case 3:
            p = syn(CT_TCP_SYN | CT_TCP_ACK, me->nxt - 1, ack_near(me->rcv), random_window(), chance(50),
                    chance(50), (uint8_t)below(16));
            break;
        case 4:
            p = seg_ts((uint8_t)(CT_TCP_ACK | decoration()), me->nxt, ack_near(me->rcv), me->win, random_len());
            break;
        case 5:
            p = seg_ts(chance(50) ? CT_TCP_RST : (uint8_t)(CT_TCP_RST | CT_TCP_ACK), me->nxt, me->rcv, 0, 0);
            break;
        case 6:
            p = seg_ts((uint8_t)below(256), me->nxt, peer->nxt, me->win, below(100));
            p.tcp_hdr_len = (uint8_t)(4 * below(8));
            break;
        default:
            p = seg_ts(CT_TCP_ACK, me->nxt, me->rcv, me->win, 0);
            add_sack(&p, me->rcv, me->rcv + below(1000));
            break;
        }
        remember(i, &p);
        send(i, &p);
    }
}

/*
 * Opens a connection with a handshake, or picks one up mid-stream. The
 * handshake packets vary (options or none, data, odd acknowledgements,
 * zero windows, URG, SACK blocks) and may be interleaved with noise.
 */
static int open_connection(void)
{
    memset(&entry, 0, sizeof(entry));
    hist_n = 0;
    for (unsigned i = 0; i < 2; i++) {
        side[i].nxt = random_isn();
        side[i].win = random_window();
        if (side[i].win == 0)
            side[i].win = 1000;
        side[i].shift = (uint8_t)below(16);
    }

    if (cfg.tcp_loose && chance(15)) {
        /* Mid-stream: the first packet we see is data. */
        side[0].rcv = side[1].nxt;
        side[1].rcv = side[0].nxt;
        struct ct_pkt p = seg_ts(CT_TCP_ACK, side[0].nxt, side[0].rcv, side[0].win, random_len());
        if (ct_tcp_new(&cfg, &entry.c, &p, 0) != CT_REASON_NONE)
            return 0;
        side[0].nxt += p.l4_len - p.tcp_hdr_len;
        side[1].rcv = side[0].nxt;
        send(CT_DIR_ORIGINAL, &p);
        return 1;
    }

    const int noisy = chance(30);
    const int ws0 = chance(60), ws1 = chance(60), sp0 = chance(60), sp1 = chance(60);
    struct ct_pkt p = syn(CT_TCP_SYN, side[0].nxt, 0, chance(10) ? 0 : side[0].win, ws0, sp0, side[0].shift);
    if (chance(20)) {
        /* No options at all. */
        p.tcp_hdr_len = 20;
        p.l4_len = 20;
        p.tcp_opts = 0;
    }
    if (chance(10)) {
        /* Data on the SYN. */
        p.l4_len += 1 + below(1000);
    }
    if (chance(5))
        p.tcp_flags |= CT_TCP_URG;
    if (ct_tcp_new(&cfg, &entry.c, &p, 0) != CT_REASON_NONE)
        return 0;
    if (noisy && chance(30))
        disturb();
    remember(CT_DIR_ORIGINAL, &p);
    send(CT_DIR_ORIGINAL, &p);
    side[0].nxt += p.l4_len - p.tcp_hdr_len + 1;
    side[1].rcv = side[0].nxt;
    if (noisy)
        handshake_noise();

    p = syn(CT_TCP_SYN | CT_TCP_ACK, side[1].nxt, ack_near(side[1].rcv), chance(10) ? 0 : side[1].win, ws1, sp1,
            side[1].shift);
    if (chance(10)) {
        p.tcp_hdr_len = 20;
        p.l4_len = 20;
        p.tcp_opts = 0;
    }
    if (chance(5))
        p.tcp_flags |= CT_TCP_URG;
    if (chance(5))
        p.tcp_flags |= CT_TCP_PSH | CT_TCP_ECE;
    if (chance(5))
        add_sack(&p, side[1].rcv - 10, side[1].rcv);
    remember(CT_DIR_REPLY, &p);
    send(CT_DIR_REPLY, &p);
    side[1].nxt++;
    side[0].rcv = side[1].nxt;
    if (noisy)
        handshake_noise();

    p = seg_ts((uint8_t)(CT_TCP_ACK | decoration()), side[0].nxt, ack_near(side[0].rcv), side[0].win,
            chance(30) ? random_len() : 0);
    side[0].nxt += p.l4_len - p.tcp_hdr_len;
    side[1].rcv = side[0].nxt;
    remember(CT_DIR_ORIGINAL, &p);
    send(CT_DIR_ORIGINAL, &p);
    if (noisy)
        handshake_noise();
    return 1;
}

static void run_seed(uint64_t seed, unsigned connections)
{
    seed_now = seed;
    rng_state = seed;
    for (conn_no = 0; conn_no < connections; conn_no++) {
        cfg_random();
        pkt_no = 0;
        if (!open_connection())
            continue;
        const int disturbing = chance(25);
        const unsigned packets = 20 + below(400);
        unsigned elsewhere = 0;
        for (unsigned n = 0; n < packets; n++) {
            if (disturbing && chance(3))
                disturb();
            unsigned a = event();
            if (a == CT_PROTO_REPLACE || a == CT_PROTO_CLOSE)
                break;
            /* A connection closing, or stuck in its handshake, gets a few
             * more packets, not hundreds. */
            if (entry.c.l4state != CT_TCP_ESTABLISHED && ++elsewhere > 12)
                break;
        }
    }
}

static void test_fast_path_matches_full_path(void)
{
    memset(&seen, 0, sizeof(seen));
    run_seed(0x6a09e667f3bcc908ull, 5000);
    run_seed(0xbb67ae8584caa73bull, 5000);

    printf("packets %lu, SACK %lu, closed %lu, saturated retransmissions %lu\n", seen.packets, seen.sack,
           seen.closed, seen.retrans_max);
    static const char *const names[SHAPE_COUNT] = {"other", "established", "syn", "synack", "last ack"};
    for (unsigned k = 0; k < SHAPE_COUNT; k++)
        printf("  %-12s %8lu packets: %8lu accepted, %8lu not\n", names[k], seen.shaped[k], seen.ok[k], seen.out[k]);
    /* The comparison covered every case the fast paths decide. */
    CHECK(seen.ok[SHAPE_ESTABLISHED] > seen.packets / 4);
    CHECK(seen.out[SHAPE_ESTABLISHED] > 1000);
    for (unsigned k = SHAPE_SYN; k < SHAPE_COUNT; k++) {
        CHECK(seen.ok[k] > 1000);
        CHECK(seen.out[k] > 20);
    }
    CHECK(seen.retrans_max > 100);
    CHECK(seen.sack > 1000);
    CHECK(seen.closed > 100);
    CHECK(seen.timeouts[CT_TIMEOUT_TCP_ESTABLISHED] > 1000);
    CHECK(seen.timeouts[CT_TIMEOUT_TCP_UNACK] > 1000);
    CHECK(seen.timeouts[CT_TIMEOUT_TCP_RETRANS] > 100);
}

/* A value at, just inside or just outside a limit. */
static uint32_t wiggle(uint32_t limit)
{
    return limit + below(5) - 2;
}

/*
 * The edges of the fast paths' conditions: a stored state with random
 * window data, and one packet of each fast-path kind with its sequence
 * number, acknowledgement or length at one bound, one past it or one short
 * of it, and windows around 2^31.
 */
static void test_bounds_at_the_edge(void)
{
    static const uint32_t wins[] = {0, 1, 65999, 66000, 66001, 0x7ffffffeu, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    const uint64_t seed = 0x3c6ef372fe94f82bull;

    memset(&seen, 0, sizeof(seen));
    rng_state = seed;
    seed_now = seed;
    for (conn_no = 0; conn_no < 40000; conn_no++) {
        cfg_random();
        memset(&entry, 0, sizeof(entry));
        pkt_no = 0;
        struct ct_tcp_conn *t = ct_tcp_of(&entry.c);
        for (unsigned d = 0; d < 2; d++) {
            t->seen[d].td_end = (uint32_t)rnd();
            t->seen[d].td_maxwin = chance(20) ? wins[below(sizeof(wins) / sizeof(wins[0]))] : 66000 - 50 + below(100);
            t->seen[d].td_maxend = t->seen[d].td_end + below(70000);
            t->seen[d].td_scale = (uint8_t)below(15);
            t->seen[d].flags = (uint8_t)(rnd() & ~(uint64_t)CT_TCPF_BE_LIBERAL);
        }
        t->last_seq = (uint32_t)rnd();
        t->last_ack = (uint32_t)rnd();
        t->last_end = (uint32_t)rnd();
        t->last_win = chance(20) ? 0 : (uint16_t)rnd();
        t->last_dir_index = (uint8_t)rnd();
        t->last_wscale_flags = (uint8_t)rnd();
        entry.c.timeout = (uint8_t)below(CT_TIMEOUT_COUNT);
        entry.c.status = (uint16_t)(CT_STATUS_CONFIRMED | (chance(80) ? CT_STATUS_SEEN_REPLY : 0) |
                                    (chance(80) ? CT_STATUS_ASSURED : 0));

        unsigned dir;
        uint8_t flags;
        switch (below(4)) {
        case 0:
            entry.c.l4state = CT_TCP_ESTABLISHED;
            dir = below(2);
            flags = CT_TCP_ACK;
            break;
        case 1:
            entry.c.l4state = CT_TCP_SYN_RECV;
            dir = CT_DIR_ORIGINAL;
            flags = CT_TCP_ACK;
            break;
        case 2:
            entry.c.l4state = CT_TCP_NONE;
            dir = CT_DIR_ORIGINAL;
            flags = CT_TCP_SYN;
            break;
        default:
            entry.c.l4state = CT_TCP_SYN_SENT;
            dir = CT_DIR_REPLY;
            flags = CT_TCP_SYN | CT_TCP_ACK;
            if (chance(85))
                t->seen[CT_DIR_REPLY].td_maxwin = 0;
            break;
        }
        const struct ct_tcp_dir *s = &t->seen[dir], *r = &t->seen[dir ^ 1u];
        const uint32_t syn = (flags & CT_TCP_SYN) ? 1u : 0u;
        const uint32_t s_maxwin = (flags == (CT_TCP_SYN | CT_TCP_ACK) && s->td_maxwin == 0) ? 1 : s->td_maxwin;
        const uint32_t maxackwin = s_maxwin > 66000 ? s_maxwin : 66000;
        uint32_t len = chance(30) ? 0 : below(2000);
        uint32_t seq = s->td_end - syn, ack = r->td_end;
        switch (below(5)) {
        case 0: /* I: seq against the sender's td_maxend */
            seq = wiggle(s->td_maxend);
            break;
        case 1: /* II: seq + len against the sender's td_end - receiver's td_maxwin */
            seq = wiggle(s->td_end - r->td_maxwin - len - syn);
            break;
        case 2: /* III: ack against the receiver's td_end */
            ack = wiggle(r->td_end);
            break;
        case 3: /* IV: ack against the receiver's td_end - max(maxwin, 66000) */
            ack = wiggle(r->td_end - maxackwin);
            break;
        default: /* the segment length around 2^31 */
            len = wiggle(0x7fffffffu);
            break;
        }
        struct ct_pkt p = seg_ts(flags, seq, ack, chance(10) ? 0 : (uint16_t)rnd(), len);
        if (flags & CT_TCP_SYN) {
            p.tcp_hdr_len = 32;
            p.l4_len = 32 + len;
            p.tcp_opts = (uint8_t)(rnd() & (CT_TCPOPT_MSS | CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM));
            p.tcp_wscale = (uint8_t)below(16);
        }
        send(dir, &p);
    }
    for (unsigned k = SHAPE_ESTABLISHED; k < SHAPE_COUNT; k++) {
        CHECK(seen.ok[k] > 1000);
        CHECK(seen.out[k] > 1000);
    }
}

int main(void)
{
    RUN(test_fast_path_matches_full_path);
    RUN(test_bounds_at_the_edge);
    return check_summary();
}
