/*
 * Unit tests of the TCP tracker (src/proto/tcp.c): the transition table cell
 * by cell, each window bound on both sides, and the Linux special cases
 * (loose pickup, liberal mode, RST rules, reopening, retransmissions,
 * timeouts, window scaling, SACK, sequence wrap-around).
 *
 * Connections are bare entries driven by ct_tcp_new()/ct_tcp_packet() as the
 * packet path drives them; send() also sets SEEN_REPLY as the path does
 * after an accepted reply-direction packet.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "proto/proto.h"
#include "proto/tcp_conn.h"

#define NS (1000000000ull)

static struct ct_proto_cfg cfg;

/* Linux's defaults, as ct_table_config_init() sets them. */
static void cfg_default(void)
{
    static const uint32_t secs[CT_TIMEOUT_COUNT] = {
        [CT_TIMEOUT_TCP_SYN_SENT] = 120,  [CT_TIMEOUT_TCP_SYN_RECV] = 60,
        [CT_TIMEOUT_TCP_ESTABLISHED] = 432000, [CT_TIMEOUT_TCP_FIN_WAIT] = 120,
        [CT_TIMEOUT_TCP_CLOSE_WAIT] = 60, [CT_TIMEOUT_TCP_LAST_ACK] = 30,
        [CT_TIMEOUT_TCP_TIME_WAIT] = 120, [CT_TIMEOUT_TCP_CLOSE] = 10,
        [CT_TIMEOUT_TCP_SYN_SENT2] = 120, [CT_TIMEOUT_TCP_RETRANS] = 300,
        [CT_TIMEOUT_TCP_UNACK] = 300,     [CT_TIMEOUT_UDP] = 30,
        [CT_TIMEOUT_UDP_STREAM] = 120,    [CT_TIMEOUT_ICMP] = 30,
        [CT_TIMEOUT_GENERIC] = 600,
    };
    memset(&cfg, 0, sizeof(cfg));
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        cfg.timeout_ns[i] = secs[i] * NS;
    cfg.tcp_loose = 1;
    cfg.tcp_max_retrans = 3;
}

static struct ct_conn4 entry;

static struct ct_conn *fresh(void)
{
    memset(&entry, 0, sizeof(entry));
    return &entry.c;
}

static struct ct_pkt seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint32_t len)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.win = win;
    p.tcp_hdr_len = 20;
    p.l4_len = 20 + len;
    p.payload_len = (uint16_t)len;
    return p;
}

static struct ct_proto_result send(struct ct_conn *c, unsigned dir, const struct ct_pkt *p)
{
    struct ct_proto_result r;
    memset(&r, 0xaa, sizeof(r));
    ct_tcp_packet(&cfg, c, (enum ct_dir)dir, p, &r);
    if (dir == CT_DIR_REPLY && r.action == CT_PROTO_ACCEPT)
        c->status |= CT_STATUS_SEEN_REPLY;
    return r;
}

/* ct_tcp_new then the first ct_tcp_packet, as the path does. */
static uint16_t open_with(struct ct_conn *c, const struct ct_pkt *p, struct ct_proto_result *out)
{
    uint16_t r = ct_tcp_new(&cfg, c, p);
    if (r != CT_REASON_NONE)
        return r;
    struct ct_proto_result res = send(c, CT_DIR_ORIGINAL, p);
    if (out)
        *out = res;
    return res.action == CT_PROTO_INVALID ? res.reason : CT_REASON_NONE;
}

#define A 1000u
#define B 5000u
#define W 1000u
#define O CT_DIR_ORIGINAL
#define R CT_DIR_REPLY

/* SYN (A), SYN/ACK (B), ACK: an established connection with windows W. */
static void handshake(struct ct_conn *c, uint32_t a, uint32_t b)
{
    struct ct_pkt p = seg(CT_TCP_SYN, a, 0, W, 0);
    CHECK_EQ_U(open_with(c, &p, NULL), CT_REASON_NONE);
    p = seg(CT_TCP_SYN | CT_TCP_ACK, b, a + 1, W, 0);
    CHECK_EQ_U(send(c, R, &p).action, CT_PROTO_ACCEPT);
    p = seg(CT_TCP_ACK, a + 1, b + 1, W, 0);
    CHECK_EQ_U(send(c, O, &p).action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
}

static int conn_same(const struct ct_conn *a, const struct ct_conn *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static uint64_t timeout_s(const struct ct_conn *c)
{
    return cfg.timeout_ns[c->timeout] / NS;
}

/* ---- flag combinations -------------------------------------------------------- */

static int flags_valid(uint8_t f)
{
    /* Linux's tcp_error: these combinations of FIN/SYN/RST/ACK/URG only. */
    static const uint8_t ok[] = {
        CT_TCP_SYN, CT_TCP_SYN | CT_TCP_URG, CT_TCP_SYN | CT_TCP_ACK, CT_TCP_RST, CT_TCP_RST | CT_TCP_ACK,
        CT_TCP_FIN | CT_TCP_ACK, CT_TCP_FIN | CT_TCP_ACK | CT_TCP_URG, CT_TCP_ACK, CT_TCP_ACK | CT_TCP_URG,
    };
    uint8_t core = f & (uint8_t)~(CT_TCP_ECE | CT_TCP_CWR | CT_TCP_PSH);
    for (unsigned i = 0; i < sizeof(ok); i++)
        if (core == ok[i])
            return 1;
    return 0;
}

static void test_flag_combinations(void)
{
    cfg_default();
    unsigned invalid = 0;
    for (unsigned f = 0; f < 256; f++) {
        struct ct_conn *c = fresh();
        handshake(c, A, B);
        struct ct_conn4 before = entry;
        struct ct_pkt p = seg((uint8_t)f, A + 1, B + 1, W, 0);
        struct ct_proto_result r = send(c, O, &p);
        struct ct_conn4 n;
        memset(&n, 0, sizeof(n));
        uint16_t nr = ct_tcp_new(&cfg, &n.c, &p);
        if (!flags_valid((uint8_t)f)) {
            invalid++;
            CHECK_EQ_U(r.action, CT_PROTO_INVALID);
            CHECK_EQ_U(r.reason, CT_REASON_TCP_FLAGS);
            CHECK(conn_same(&before.c, c));
            CHECK_EQ_U(nr, CT_REASON_TCP_FLAGS);
        } else {
            CHECK(r.reason != CT_REASON_TCP_FLAGS);
            CHECK(nr != CT_REASON_TCP_FLAGS);
        }
    }
    /* 9 valid cores times 8 ECE/CWR/PSH variants. */
    CHECK_EQ_U(invalid, 256 - 72);
}

static void test_bad_header_length(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    struct ct_conn4 before = entry;
    struct ct_pkt p = seg(CT_TCP_ACK, A + 1, B + 1, W, 0);
    p.tcp_hdr_len = 16;
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_HDR_LEN);
    CHECK(conn_same(&before.c, c));
    p.tcp_hdr_len = 24;
    p.l4_len = 20;
    CHECK_EQ_U(ct_tcp_new(&cfg, fresh(), &p), CT_REASON_TCP_HDR_LEN);
}

/* ---- the transition table, cell by cell ---------------------------------------------- */

#define X_IV 100 /* INVALID */
#define X_IG 101 /* ignored: accepted, state unchanged */
#define X_RE 102 /* REPLACE: the SYN reopens a closed connection */

/*
 * What Linux does for each cell, for connections brought into each state by
 * a normal exchange (see reach()). Differs from the bare table where Linux's
 * code overrides it: a SYN in TIME_WAIT (FIN seen) or in CLOSE (after our own
 * RST) reopens the connection.
 */
static const uint8_t expect_cell[2][6][10] = {
    [O] = {
        /*         NO    SS    SR    ES    FW    CW    LA    TW    CL    S2 */
        /*syn*/  {1,    1,    X_IG, X_IG, X_IG, X_IG, X_IG, X_RE, X_RE, 9},
        /*synack*/{X_IV, X_IV, 2,    X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, 2},
        /*fin*/  {X_IV, X_IV, 4,    4,    6,    6,    6,    7,    8,    X_IV},
        /*ack*/  {3,    X_IV, 3,    3,    5,    5,    7,    7,    8,    X_IV},
        /*rst*/  {X_IV, 8,    8,    8,    8,    8,    8,    8,    8,    8},
        /*none*/ {X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV},
    },
    [R] = {
        /*         NO    SS    SR    ES    FW    CW    LA    TW    CL    S2 */
        /*syn*/  {X_IV, 9,    X_IV, X_IV, X_IV, X_IV, X_IV, X_RE, X_IV, 9},
        /*synack*/{X_IV, 2,    X_IG, X_IG, X_IG, X_IG, X_IG, X_IG, X_IG, 2},
        /*fin*/  {X_IV, X_IV, 4,    4,    6,    6,    6,    7,    8,    X_IV},
        /*ack*/  {X_IV, X_IG, 2,    3,    5,    5,    7,    7,    8,    X_IG},
        /*rst*/  {X_IV, 8,    8,    8,    8,    8,    8,    8,    8,    8},
        /*none*/ {X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV, X_IV},
    },
};

/* Drives a fresh connection into `state` with real packets (A, B, W). */
static struct ct_conn *reach(unsigned state)
{
    struct ct_conn *c = fresh();
    struct ct_pkt p;
    switch (state) {
    case CT_TCP_NONE:
        return c;
    case CT_TCP_SYN_SENT:
        p = seg(CT_TCP_SYN, A, 0, W, 0);
        CHECK_EQ_U(open_with(c, &p, NULL), CT_REASON_NONE);
        break;
    case CT_TCP_SYN_SENT2:
        p = seg(CT_TCP_SYN, A, 0, W, 0);
        CHECK_EQ_U(open_with(c, &p, NULL), CT_REASON_NONE);
        p = seg(CT_TCP_SYN, B, 0, W, 0);
        send(c, R, &p);
        break;
    case CT_TCP_SYN_RECV:
        p = seg(CT_TCP_SYN, A, 0, W, 0);
        CHECK_EQ_U(open_with(c, &p, NULL), CT_REASON_NONE);
        p = seg(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, W, 0);
        send(c, R, &p);
        break;
    case CT_TCP_CLOSE:
        handshake(c, A, B);
        p = seg(CT_TCP_RST, A + 1, 0, 0, 0);
        send(c, O, &p);
        break;
    default:
        handshake(c, A, B);
        if (state == CT_TCP_ESTABLISHED)
            break;
        p = seg(CT_TCP_FIN | CT_TCP_ACK, A + 1, B + 1, W, 0);
        send(c, O, &p);
        if (state == CT_TCP_FIN_WAIT)
            break;
        p = seg(CT_TCP_ACK, B + 1, A + 2, W, 0);
        send(c, R, &p);
        if (state == CT_TCP_CLOSE_WAIT)
            break;
        p = seg(CT_TCP_FIN | CT_TCP_ACK, B + 1, A + 2, W, 0);
        send(c, R, &p);
        if (state == CT_TCP_LAST_ACK)
            break;
        p = seg(CT_TCP_ACK, A + 2, B + 2, W, 0);
        send(c, O, &p);
        break;
    }
    CHECK_EQ_U(c->l4state, state);
    return c;
}

static const uint8_t class_flags[6] = {
    CT_TCP_SYN, CT_TCP_SYN | CT_TCP_ACK, CT_TCP_FIN | CT_TCP_ACK, CT_TCP_ACK, CT_TCP_RST | CT_TCP_ACK, 0,
};

/* A packet of the class that is in window for the connection as it stands. */
static struct ct_pkt cell_packet(const struct ct_conn *c, unsigned dir, unsigned cls)
{
    const struct ct_tcp_dir *s = &c->proto.tcp.seen[dir];
    const struct ct_tcp_dir *r = &c->proto.tcp.seen[!dir];
    uint32_t isn = dir == O ? A : B;
    uint32_t seq;
    if (cls == CT_TCP_CLASS_SYN || cls == CT_TCP_CLASS_SYNACK)
        seq = s->td_maxwin ? s->td_end - 1 : isn; /* the SYN again */
    else
        seq = s->td_maxwin ? s->td_end : isn + 1;
    uint32_t ack = (class_flags[cls] & CT_TCP_ACK) ? r->td_end : 0;
    return seg(class_flags[cls], seq, ack, W, 0);
}

static void test_transition_table_walk(void)
{
    cfg_default();
    unsigned cells = 0;
    for (unsigned dir = 0; dir < 2; dir++) {
        for (unsigned cls = 0; cls < 6; cls++) {
            for (unsigned st = 0; st < CT_TCP_STATE_COUNT; st++) {
                struct ct_conn *c = reach(st);
                struct ct_conn4 before = entry;
                struct ct_pkt p = cell_packet(c, dir, cls);
                struct ct_proto_result r;
                unsigned want = expect_cell[dir][cls][st];
                cells++;
                if (st == CT_TCP_NONE && dir == O) {
                    /* A connection is created by ct_tcp_new first. */
                    uint16_t nr = open_with(c, &p, &r);
                    if (want == X_IV) {
                        CHECK(nr == CT_REASON_TCP_NEW_NOT_SYN || nr == CT_REASON_TCP_FLAGS);
                    } else {
                        CHECK_EQ_U(nr, CT_REASON_NONE);
                        CHECK_EQ_U(c->l4state, want);
                    }
                    continue;
                }
                r = send(c, dir, &p);
                if (want == X_IV) {
                    if (r.action != CT_PROTO_INVALID)
                        fprintf(stderr, "cell dir %u class %u state %u\n", dir, cls, st);
                    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
                    CHECK_EQ_U(r.reason, cls == CT_TCP_CLASS_NONE ? CT_REASON_TCP_FLAGS
                                                                  : CT_REASON_TCP_INVALID_STATE);
                    CHECK(conn_same(&before.c, c));
                } else if (want == X_IG) {
                    if (r.reason != CT_REASON_TCP_IGNORED)
                        fprintf(stderr, "cell dir %u class %u state %u\n", dir, cls, st);
                    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
                    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
                    CHECK_EQ_U(c->l4state, st);
                    CHECK_EQ_U(c->timeout, before.c.timeout);
                } else if (want == X_RE) {
                    CHECK_EQ_U(r.action, CT_PROTO_REPLACE);
                    CHECK(conn_same(&before.c, c));
                } else {
                    if (c->l4state != want || r.reason != CT_REASON_NONE)
                        fprintf(stderr, "cell dir %u class %u state %u -> %u reason %u\n", dir, cls, st,
                                c->l4state, r.reason);
                    CHECK(r.action == CT_PROTO_ACCEPT || r.action == CT_PROTO_CLOSE);
                    CHECK_EQ_U(r.reason, CT_REASON_NONE);
                    CHECK_EQ_U(c->l4state, want);
                    /* Only a RST before any reply ends the connection. */
                    CHECK_EQ_U(r.action == CT_PROTO_CLOSE,
                               cls == CT_TCP_CLASS_RST && !(before.c.status & CT_STATUS_SEEN_REPLY));
                }
            }
        }
    }
    CHECK_EQ_U(cells, 2 * 6 * 10);
}

/* ---- connection life cycles ----------------------------------------------------- */

static void test_handshake_data_close(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = seg(CT_TCP_SYN, A, 0, W, 0);
    struct ct_proto_result r;
    CHECK_EQ_U(open_with(c, &p, &r), CT_REASON_NONE);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_SENT);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_end, A + 1);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_maxend, A + 1);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_maxwin, W);

    p = seg(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, W, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_RECV);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    CHECK_EQ_U(c->proto.tcp.seen[R].td_end, B + 1);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_maxend, A + 1 + W);

    p = seg(CT_TCP_ACK, A + 1, B + 1, W, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK(c->status & CT_STATUS_ASSURED);
    CHECK_EQ_U(timeout_s(c), 432000);

    /* Data, unacknowledged: the UNACK timeout caps ESTABLISHED. */
    p = seg(CT_TCP_ACK | CT_TCP_PSH, A + 1, B + 1, W, 100);
    r = send(c, O, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_end, A + 101);
    CHECK(c->proto.tcp.seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
    p = seg(CT_TCP_ACK, B + 1, A + 101, W, 0);
    send(c, R, &p);
    CHECK(!(c->proto.tcp.seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED));
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);

    /* Close from the original side. */
    p = seg(CT_TCP_FIN | CT_TCP_ACK, A + 101, B + 1, W, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_FIN_WAIT);
    CHECK(c->proto.tcp.seen[O].flags & CT_TCPF_CLOSE_INIT);
    CHECK(!(c->proto.tcp.seen[R].flags & CT_TCPF_CLOSE_INIT));
    /* The FIN is unacknowledged, but FIN_WAIT's 120 s is below UNACK's 300 s. */
    CHECK(c->proto.tcp.seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_FIN_WAIT);
    CHECK_EQ_U(timeout_s(c), 120);
    p = seg(CT_TCP_ACK, B + 1, A + 102, W, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE_WAIT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE_WAIT);
    p = seg(CT_TCP_FIN | CT_TCP_ACK, B + 1, A + 102, W, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_LAST_ACK);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_LAST_ACK);
    p = seg(CT_TCP_ACK, A + 102, B + 2, W, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_TIME_WAIT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_TIME_WAIT);

    /* A late retransmitted last ACK keeps TIME_WAIT. */
    r = send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_TIME_WAIT);

    /* A new SYN reuses the tuple: the old connection is replaced. */
    struct ct_conn4 before = entry;
    p = seg(CT_TCP_SYN, A + 70000, 0, W, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_REPLACE);
    CHECK(conn_same(&before.c, c));
    /* The same from the reply side ("the server switched roles"). */
    r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_REPLACE);
}

static void test_close_from_reply_side(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    struct ct_pkt p = seg(CT_TCP_FIN | CT_TCP_ACK, B + 1, A + 1, W, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_FIN_WAIT);
    CHECK(c->proto.tcp.seen[R].flags & CT_TCPF_CLOSE_INIT);
    /* FIN crossing: both sides close at once. */
    p = seg(CT_TCP_FIN | CT_TCP_ACK, A + 1, B + 1, W, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_LAST_ACK);
    p = seg(CT_TCP_ACK, B + 2, A + 2, W, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_TIME_WAIT);
    p = seg(CT_TCP_ACK, A + 2, B + 2, W, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_TIME_WAIT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_TIME_WAIT);
}

static void test_simultaneous_open(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = seg(CT_TCP_SYN, A, 0, W, 0);
    CHECK_EQ_U(open_with(c, &p, NULL), CT_REASON_NONE);
    p = seg(CT_TCP_SYN, B, 0, W, 0);
    struct ct_proto_result r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT2);
    /* As in Linux, a SYN before any reply does not renew the timeout, and
     * the reply SYN is such a SYN: SYN_SENT's timeout stays in force. */
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_SENT);
    CHECK(ct_tcp_last_flags(&c->proto.tcp) & CT_TCP_LASTF_SIMULTANEOUS_OPEN);
    /* Each side answers the other's SYN with a SYN/ACK. */
    p = seg(CT_TCP_SYN | CT_TCP_ACK, A, B + 1, W, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    p = seg(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, W, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    /* The reply side's ACK completes a simultaneous open. */
    p = seg(CT_TCP_ACK, B + 1, A + 1, W, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK(c->status & CT_STATUS_ASSURED);

    /* Without the simultaneous open, a reply ACK in SYN_RECV stays there. */
    c = fresh();
    p = seg(CT_TCP_SYN, A, 0, W, 0);
    open_with(c, &p, NULL);
    p = seg(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, W, 0);
    send(c, R, &p);
    p = seg(CT_TCP_ACK, B + 1, A + 1, W, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
}

/* ---- window bounds ---------------------------------------------------------------- */

static void established_with_data(struct ct_conn *c)
{
    handshake(c, A, B);
    /* After the handshake: orig end A+1, maxend A+1+W; reply end B+1, maxend B+1+W. */
    CHECK_EQ_U(c->proto.tcp.seen[O].td_end, A + 1);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_maxend, A + 1 + W);
    CHECK_EQ_U(c->proto.tcp.seen[R].td_end, B + 1);
    CHECK_EQ_U(c->proto.tcp.seen[R].td_maxend, B + 1 + W);
    CHECK_EQ_U(c->proto.tcp.seen[R].td_maxwin, W);
}

/* Sends p; expects an out-of-window result and an untouched connection. */
static void expect_out(struct ct_conn *c, unsigned dir, const struct ct_pkt *p, unsigned action, uint16_t reason)
{
    struct ct_conn4 before = entry;
    struct ct_proto_result r = send(c, dir, p);
    CHECK_EQ_U(r.action, action);
    CHECK_EQ_U(r.reason, reason);
    if (action == CT_PROTO_INVALID || reason != CT_REASON_TCP_SEQ_OVER)
        CHECK(conn_same(&before.c, c) || (dir == R && action == CT_PROTO_ACCEPT));
}

static void expect_in(struct ct_conn *c, unsigned dir, const struct ct_pkt *p)
{
    struct ct_proto_result r = send(c, dir, p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
}

static void test_bound_seq_upper(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    /* I: seq <= td_maxend (A+1+W) of the sender. */
    established_with_data(c);
    struct ct_pkt in = seg(CT_TCP_ACK, A + 1 + W, B + 1, W, 0);
    expect_in(c, O, &in);
    /* Past it by more than the receiver's window: INVALID. */
    c = fresh();
    established_with_data(c);
    struct ct_pkt out = seg(CT_TCP_ACK, A + 1 + W + W, B + 1, W, 0);
    expect_out(c, O, &out, CT_PROTO_INVALID, CT_REASON_TCP_SEQ_OVER);
    /* Past it by at most the receiver's window: let through, but only the
     * end of the data is noted (the overrun work-around). */
    c = fresh();
    established_with_data(c);
    struct ct_pkt over = seg(CT_TCP_ACK, A + 2 + W, B + 1, W, 0);
    struct ct_conn4 before = entry;
    struct ct_proto_result r = send(c, O, &over);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_SEQ_OVER);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_end, A + 2 + W);
    CHECK(c->proto.tcp.seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_maxend, before.c.proto.tcp.seen[O].td_maxend);
    CHECK_EQ_U(c->timeout, before.c.timeout);
    /* Overrun of exactly the window: end - maxend + 1 == W. */
    c = fresh();
    established_with_data(c);
    over = seg(CT_TCP_ACK, A + W + W, B + 1, W, 0);
    r = send(c, O, &over);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_SEQ_OVER);
}

static void test_bound_ack_upper(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    /* III: ack <= td_end of the receiver (B+1). */
    established_with_data(c);
    struct ct_pkt in = seg(CT_TCP_ACK, A + 1, B + 1, W, 0);
    expect_in(c, O, &in);
    struct ct_pkt out = seg(CT_TCP_ACK, A + 1, B + 2, W, 0);
    expect_out(c, O, &out, CT_PROTO_INVALID, CT_REASON_TCP_ACK_OVER);
    /* Same in the reply direction. */
    in = seg(CT_TCP_ACK, B + 1, A + 1, W, 0);
    expect_in(c, R, &in);
    out = seg(CT_TCP_ACK, B + 1, A + 2, W, 0);
    expect_out(c, R, &out, CT_PROTO_INVALID, CT_REASON_TCP_ACK_OVER);
}

static void test_bound_seq_lower(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    established_with_data(c);
    /* Move the original side's end forward by 600 bytes. */
    struct ct_pkt p = seg(CT_TCP_ACK, A + 1, B + 1, W, 600);
    expect_in(c, O, &p);
    CHECK_EQ_U(c->proto.tcp.seen[O].td_end, A + 601);
    /* II: seq + len >= td_end - receiver maxwin = A + 601 - W. */
    uint32_t low = A + 601 - W;
    struct ct_pkt in = seg(CT_TCP_ACK, low - 1, B + 1, W, 1); /* ends at low */
    expect_in(c, O, &in);
    struct ct_pkt out = seg(CT_TCP_ACK, low - 2, B + 1, W, 1); /* ends at low - 1 */
    /* Linux lets an old retransmission through without tracking it. */
    expect_out(c, O, &out, CT_PROTO_ACCEPT, CT_REASON_TCP_SEQ_UNDER);
}

static void test_bound_ack_lower(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    established_with_data(c);
    /* IV: ack >= receiver td_end - max(sender maxwin, 66000) = B + 1 - 66000,
     * which wraps below zero. */
    uint32_t low = B + 1 - 66000u;
    CHECK_EQ_U(low, 4294906297u);
    struct ct_pkt in = seg(CT_TCP_ACK, A + 1, low, W, 0);
    expect_in(c, O, &in);
    struct ct_pkt out = seg(CT_TCP_ACK, A + 1, low - 1, W, 0);
    expect_out(c, O, &out, CT_PROTO_ACCEPT, CT_REASON_TCP_ACK_UNDER);
}

static void test_liberal(void)
{
    cfg_default();
    cfg.tcp_liberal = 1;
    struct ct_conn *c = fresh();
    established_with_data(c);
    struct ct_conn4 before = entry;
    struct ct_pkt out = seg(CT_TCP_ACK, A + 1 + 10 * W, B + 1, W, 0);
    struct ct_proto_result r = send(c, O, &out);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    /* Accepted, but the window data does not learn from it. */
    CHECK_EQ_U(c->proto.tcp.seen[O].td_end, before.c.proto.tcp.seen[O].td_end);
    out = seg(CT_TCP_ACK, A + 1, B + 100, W, 0);
    r = send(c, O, &out);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    /* A RST below what the peer acknowledged is still INVALID. */
    struct ct_pkt rst = seg(CT_TCP_RST, A, 0, 0, 0);
    r = send(c, O, &rst);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_RST_WINDOW);
}

int main(void)
{
    RUN(test_flag_combinations);
    RUN(test_bad_header_length);
    RUN(test_transition_table_walk);
    RUN(test_handshake_data_close);
    RUN(test_close_from_reply_side);
    RUN(test_simultaneous_open);
    RUN(test_bound_seq_upper);
    RUN(test_bound_ack_upper);
    RUN(test_bound_seq_lower);
    RUN(test_bound_ack_lower);
    RUN(test_liberal);
    return check_summary();
}
