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
#include "ctrack/table.h"
#include "proto/proto.h"
#include "proto/tcp_conn.h"
#include "support/table_fixture.h"

#define NS (1000000000ull)

static struct ct_proto_cfg cfg;

/* Linux's defaults, as ct_table_config_init() sets them. */
static void cfg_default(void)
{
    /* Linux's defaults, from the table defaults (test_table.c checks those). */
    struct ct_table_config tc;
    ct_table_config_init(&tc);
    memset(&cfg, 0, sizeof(cfg));
    ct_proto_cfg_from_config(&cfg, tc.timeouts, 0, tc.tcp_max_retrans);
}

static struct ct_conn4 entry;

static struct ct_conn *fresh(void)
{
    memset(&entry, 0, sizeof(entry));
    return &entry.c;
}

static struct ct_proto_result send(struct ct_conn *c, unsigned dir, const struct ct_pkt *p)
{
    struct ct_proto_result r;
    memset(&r, 0xaa, sizeof(r));
    ct_tcp_packet(&cfg, c, (enum ct_dir)dir, p, 0, &r);
    if (dir == CT_DIR_REPLY && r.action == CT_PROTO_ACCEPT)
        c->status |= CT_STATUS_SEEN_REPLY;
    return r;
}

/* ct_tcp_new then the first ct_tcp_packet, as the path does. */
static uint16_t open_with(struct ct_conn *c, const struct ct_pkt *p, struct ct_proto_result *out)
{
    uint16_t r = ct_tcp_new(&cfg, c, p, 0);
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
        uint16_t nr = ct_tcp_new(&cfg, &n.c, &p, 0);
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
    CHECK_EQ_U(ct_tcp_new(&cfg, fresh(), &p, 0), CT_REASON_TCP_HDR_LEN);
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
    const struct ct_tcp_dir *s = &ct_tcp_of_const(c)->seen[dir];
    const struct ct_tcp_dir *r = &ct_tcp_of_const(c)->seen[!dir];
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
                    /* A SYN in SYN_SENT before any reply, from either side,
                     * moves the state but is not counted and does not renew
                     * the timeout (Linux 5.14 and later). */
                    const int uncounted = cls == CT_TCP_CLASS_SYN && st == CT_TCP_SYN_SENT;
                    const uint16_t want_reason = uncounted ? CT_REASON_TCP_IGNORED : CT_REASON_NONE;
                    if (c->l4state != want || r.reason != want_reason)
                        fprintf(stderr, "cell dir %u class %u state %u -> %u reason %u\n", dir, cls, st,
                                c->l4state, r.reason);
                    CHECK(r.action == CT_PROTO_ACCEPT || r.action == CT_PROTO_CLOSE);
                    CHECK_EQ_U(r.reason, want_reason);
                    CHECK_EQ_U(c->l4state, want);
                    if (uncounted)
                        CHECK_EQ_U(c->timeout, before.c.timeout);
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
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, A + 1);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend, A + 1);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxwin, W);

    p = seg(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, W, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_RECV);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, B + 1);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend, A + 1 + W);

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
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, A + 101);
    CHECK(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
    p = seg(CT_TCP_ACK, B + 1, A + 101, W, 0);
    send(c, R, &p);
    CHECK(!(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED));
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);

    /* Close from the original side. */
    p = seg(CT_TCP_FIN | CT_TCP_ACK, A + 101, B + 1, W, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_FIN_WAIT);
    CHECK(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_CLOSE_INIT);
    CHECK(!(ct_tcp_of_const(c)->seen[R].flags & CT_TCPF_CLOSE_INIT));
    /* The FIN is unacknowledged, but FIN_WAIT's 120 s is below UNACK's 300 s. */
    CHECK(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED);
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
    CHECK(ct_tcp_of_const(c)->seen[R].flags & CT_TCPF_CLOSE_INIT);
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
    /* As in Linux, a SYN before any reply is neither counted nor renews the
     * timeout, and the reply SYN is such a SYN: SYN_SENT's timeout stays in
     * force. */
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_SENT);
    CHECK(ct_tcp_last_flags(ct_tcp_of_const(c)) & CT_TCP_LASTF_SIMULTANEOUS_OPEN);
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
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, A + 1);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend, A + 1 + W);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, B + 1);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxend, B + 1 + W);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxwin, W);
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
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, A + 2 + W);
    CHECK(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend,
               ct_tcp_of_const(&before.c)->seen[O].td_maxend);
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
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, A + 601);
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
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, ct_tcp_of_const(&before.c)->seen[O].td_end);
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

/* ---- RST ------------------------------------------------------------------------ */

static void test_rst_answering_syn(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = seg(CT_TCP_SYN, A, 0, W, 0);
    open_with(c, &p, NULL);
    /* A closed port answers RST+ACK with sequence number 0. */
    p = seg(CT_TCP_RST | CT_TCP_ACK, 0, A + 1, 0, 0);
    struct ct_proto_result r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_CLOSE);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);
    /* One acknowledging data never sent is out of window (A + 2 would pass
     * as the answer to a keep-alive, as in Linux). */
    c = fresh();
    p = seg(CT_TCP_SYN, A, 0, W, 0);
    open_with(c, &p, NULL);
    p = seg(CT_TCP_RST | CT_TCP_ACK, 0, A + 3, 0, 0);
    struct ct_conn4 before = entry;
    r = send(c, R, &p);
    /* The reply side's window data set up from this RST is undone too. */
    CHECK(conn_same(&before.c, c));
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_ACK_OVER);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT);
}

static void test_rst_established(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    /* Exactly at the sequence number the peer acknowledged: closes. */
    struct ct_pkt p = seg(CT_TCP_RST, A + 1, 0, 0, 0);
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);

    /* Below it: INVALID, nothing changes. */
    c = fresh();
    handshake(c, A, B);
    struct ct_conn4 before = entry;
    p = seg(CT_TCP_RST, A, 0, 0, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_RST_WINDOW);
    CHECK(conn_same(&before.c, c));
    /* ... unless invalid RSTs are ignored: then it is an inexact RST. */
    cfg.tcp_ignore_invalid_rst = 1;
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);
    cfg.tcp_ignore_invalid_rst = 0;

    /* In window but not exact (RFC 5961): the state stays, 10 s timeout. */
    c = fresh();
    handshake(c, A, B);
    p = seg(CT_TCP_RST, A + 50, 0, 0, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);
    /* The peer answers with a challenge ACK; the RST at the sequence number
     * it asks for then closes. */
    p = seg(CT_TCP_ACK, B + 1, A + 1, W, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    p = seg(CT_TCP_RST, A + 1, 0, 0, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);

    /* Out of window above: INVALID. The connection is assured, so the RST
     * is noted as the last packet (see test_invalid_fin_rst_exchange);
     * nothing else changes. */
    c = fresh();
    handshake(c, A, B);
    before = entry;
    p = seg(CT_TCP_RST, A + 1 + 5 * W, 0, 0, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_SEQ_OVER);
    ct_tcp_set_last_index(ct_tcp_of(&before.c), CT_TCP_CLASS_RST);
    ct_tcp_set_last_dir(ct_tcp_of(&before.c), O);
    CHECK(conn_same(&before.c, c));

    /* From the reply side, exact. */
    c = fresh();
    handshake(c, A, B);
    p = seg(CT_TCP_RST | CT_TCP_ACK, B + 1, A + 1, 0, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
}

static void test_rst_after_data(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    /* A RST right behind this side's own unacknowledged data closes. */
    struct ct_pkt p = seg(CT_TCP_ACK | CT_TCP_PSH, A + 1, B + 1, W, 100);
    send(c, O, &p);
    p = seg(CT_TCP_RST | CT_TCP_ACK, A + 101, B + 1, 0, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);

    /* Partly acknowledged data: the peer's last ACK is the bound. */
    c = fresh();
    handshake(c, A, B);
    p = seg(CT_TCP_ACK | CT_TCP_PSH, A + 1, B + 1, W, 100);
    send(c, O, &p);
    p = seg(CT_TCP_ACK, B + 1, A + 51, W, 0);
    send(c, R, &p);
    struct ct_conn4 before = entry;
    p = seg(CT_TCP_RST, A + 50, 0, 0, 0);
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_RST_WINDOW);
    CHECK(conn_same(&before.c, c));
    p = seg(CT_TCP_RST, A + 51, 0, 0, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
}

static void test_rst_while_closing(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    struct ct_pkt p = seg(CT_TCP_FIN | CT_TCP_ACK, A + 1, B + 1, W, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_FIN_WAIT);
    /* Closing: any RST is taken, window data may be stale. */
    p = seg(CT_TCP_RST, B + 123456, 0, 0, 0);
    struct ct_proto_result r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);
}

static void test_rst_answering_ignored_syn(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    struct ct_pkt p = seg(CT_TCP_SYN, A + 90000, 0, W, 0);
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    /* The server resets the SYN it did not expect: the RST acknowledges
     * the ignored SYN, so the window checks are skipped and it closes. */
    p = seg(CT_TCP_RST | CT_TCP_ACK, 0, A + 90001, 0, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
}

static void test_rst_after_challenge_ack_in_syn_sent(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = seg(CT_TCP_SYN, A, 0, W, 0);
    open_with(c, &p, NULL);
    /* The server still holds an old connection and answers with an ACK. */
    p = seg(CT_TCP_ACK, 777, 4242, W, 0);
    struct ct_proto_result r = send(c, R, &p);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT);
    /* The client resets with the sequence number that ACK asked for. */
    p = seg(CT_TCP_RST, 4242, 0, 0, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
}

/* ---- reopening and resynchronisation ---------------------------------------------------- */

static struct ct_pkt syn_with_options(uint8_t flags, uint32_t seq, uint32_t ack, uint8_t opts, uint8_t wscale)
{
    struct ct_pkt p = seg(flags, seq, ack, W, 0);
    p.tcp_hdr_len = 32;
    p.l4_len = 32;
    p.tcp_opts = opts;
    p.tcp_wscale = wscale;
    return p;
}

static void test_reopen_after_rst_and_resync(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    /* Our own RST, then our SYN: the connection is replaced. */
    struct ct_pkt p = seg(CT_TCP_RST, A + 1, 0, 0, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
    p = seg(CT_TCP_SYN, A + 90000, 0, W, 0);
    CHECK_EQ_U(send(c, O, &p).action, CT_PROTO_REPLACE);

    /* The peer's RST, then our SYN: ignored, its options noted. */
    c = fresh();
    handshake(c, A, B);
    p = seg(CT_TCP_RST, B + 1, 0, 0, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
    const uint32_t x = A + 90000, y = B + 70000;
    p = syn_with_options(CT_TCP_SYN, x, 0, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM, 3);
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
    CHECK_EQ_U(ct_tcp_last_index(ct_tcp_of_const(c)), CT_TCP_CLASS_SYN);
    CHECK_EQ_U(ct_tcp_last_wscale(ct_tcp_of_const(c)), 3);
    /* A SYN/ACK acknowledging something else stays ignored. */
    p = syn_with_options(CT_TCP_SYN | CT_TCP_ACK, y, x + 2, CT_TCPOPT_WSCALE, 2);
    r = send(c, R, &p);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_CLOSE);
    /* Re-send the SYN (the SYN/ACK above replaced the note), then the
     * SYN/ACK that answers it: we resynchronise on the new handshake. */
    p = syn_with_options(CT_TCP_SYN, x, 0, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM, 3);
    send(c, O, &p);
    p = syn_with_options(CT_TCP_SYN | CT_TCP_ACK, y, x + 1, CT_TCPOPT_WSCALE, 2);
    r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, x + 1);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_scale, 3);
    CHECK(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_SACK_PERM);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, y + 1);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_scale, 2);
    p = seg(CT_TCP_ACK, x + 1, y + 1, 100, 0);
    send(c, O, &p);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    /* The window of the new handshake is scaled: 100 << 3. */
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxend, y + 1 + (100u << 3));
}

static void test_challenge_ack_in_last_ack(void)
{
    cfg_default();
    struct ct_conn *c = reach(CT_TCP_LAST_ACK);
    /* A SYN while the last ACK is awaited (RFC 5961 challenge ACK). */
    struct ct_pkt p = seg(CT_TCP_SYN, A + 90000, 0, W, 0);
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK(ct_tcp_last_flags(ct_tcp_of_const(c)) & CT_TCP_LASTF_CHALLENGE_ACK);
    /* The server's ACK answers the SYN, not our FIN: LAST_ACK stays. */
    p = seg(CT_TCP_ACK, B + 2, A + 2, W, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_CHALLENGE_ACK);
    CHECK_EQ_U(c->l4state, CT_TCP_LAST_ACK);
    /* Only once. */
    r = send(c, R, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_TIME_WAIT);
}

static void test_syn_retransmission_and_restart(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = seg(CT_TCP_SYN, A, 0, W, 0);
    open_with(c, &p, NULL);
    /* Retransmitted SYN: same state, timeout not renewed (left as it is),
     * and not counted: accepted with a reason. */
    c->timeout = CT_TIMEOUT_TCP_CLOSE;
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);
    /* A SYN with a higher ISN restarts the original side's window; it is
     * not counted either. */
    p = syn_with_options(CT_TCP_SYN, A + 500, 0, CT_TCPOPT_WSCALE, 5);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, A + 501);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend, A + 501);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_scale, 5);
    p = seg(CT_TCP_SYN | CT_TCP_ACK, B, A + 501, W, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    /* The SYN/ACK had no window scale: scaling is off both ways. */
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_scale, 0);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_scale, 0);
}

/* ---- packets accepted but not counted ---------------------------------------------- */

/*
 * Sends p and adds it to counted[dir] the way the packet path counts: an
 * accepted packet with a reason (ignored) is neither counted nor refreshes
 * the timer, an INVALID one is not counted.
 */
static struct ct_proto_result send_count(struct ct_conn *c, unsigned dir, const struct ct_pkt *p,
                                         unsigned counted[2])
{
    struct ct_proto_result r = send(c, dir, p);
    if (r.action != CT_PROTO_INVALID && r.action != CT_PROTO_REPLACE && r.reason == CT_REASON_NONE)
        counted[dir]++;
    return r;
}

/* A SYN with the options tools/kernel_cases puts in its SYNs. */
static struct ct_pkt case_syn(uint8_t flags, uint32_t seq, uint32_t ack)
{
    struct ct_pkt p = syn_with_options(flags, seq, ack, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM, 7);
    p.win = 64240;
    return p;
}

/* The kernel comparison's case tcp-half-open: Linux counts one packet. */
static void test_half_open_counts(void)
{
    cfg_default();
    unsigned counted[2] = {0, 0};
    struct ct_conn *c = fresh();
    struct ct_pkt p = case_syn(CT_TCP_SYN, 1000, 0);
    CHECK_EQ_U(ct_tcp_new(&cfg, c, &p, 0), CT_REASON_NONE);
    struct ct_proto_result r = send_count(c, O, &p, counted);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_SENT);
    for (unsigned i = 0; i < 2; i++) {
        c->timeout = CT_TIMEOUT_TCP_CLOSE; /* a marker: must stay */
        r = send_count(c, O, &p, counted);
        CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
        CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
        CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT);
        CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_CLOSE);
    }
    CHECK_EQ_U(counted[O], 1);
    CHECK_EQ_U(counted[R], 0);
}

/*
 * The kernel comparison's case tcp-simultaneous-open: Linux counts the
 * three original-direction packets but, of the reply direction, only the
 * last ACK: the reply SYN arrives in SYN_SENT before any reply, the reply
 * SYN/ACK in SYN_RECV is ignored.
 */
static void test_simultaneous_open_counts(void)
{
    cfg_default();
    unsigned counted[2] = {0, 0};
    struct ct_conn *c = fresh();
    struct ct_pkt p = case_syn(CT_TCP_SYN, 1000, 0);
    CHECK_EQ_U(ct_tcp_new(&cfg, c, &p, 0), CT_REASON_NONE);
    CHECK_EQ_U(send_count(c, O, &p, counted).reason, CT_REASON_NONE);
    p = case_syn(CT_TCP_SYN, 5000, 0);
    CHECK_EQ_U(send_count(c, R, &p, counted).reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT2);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_SENT);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, 5001);
    p = case_syn(CT_TCP_SYN | CT_TCP_ACK, 1000, 5001);
    CHECK_EQ_U(send_count(c, O, &p, counted).reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_RECV);
    p = case_syn(CT_TCP_SYN | CT_TCP_ACK, 5000, 1001);
    CHECK_EQ_U(send_count(c, R, &p, counted).reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_RECV);
    p = seg(CT_TCP_ACK, 1001, 5001, 502, 0);
    CHECK_EQ_U(send_count(c, O, &p, counted).reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK(c->status & CT_STATUS_ASSURED);
    p = seg(CT_TCP_ACK, 5001, 1001, 502, 0);
    CHECK_EQ_U(send_count(c, R, &p, counted).reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(counted[O], 3);
    CHECK_EQ_U(counted[R], 1);
}

/*
 * Once a reply was seen (even an ignored one), a SYN in SYN_SENT is an
 * ordinary packet again: counted, and it renews the SYN_SENT timeout.
 */
static void test_syn_sent_after_reply_counts(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = seg(CT_TCP_SYN, A, 0, W, 0);
    open_with(c, &p, NULL);
    /* The server still holds an old connection and answers with an ACK. */
    struct ct_pkt ack = seg(CT_TCP_ACK, 777, 4242, W, 0);
    struct ct_proto_result r = send(c, R, &ack);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_IGNORED);
    CHECK(c->status & CT_STATUS_SEEN_REPLY);
    c->timeout = CT_TIMEOUT_TCP_CLOSE;
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_SYN_SENT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_SYN_SENT);
}

/*
 * The start of the corpus capture zeek/vlan-collisions (the same packets
 * seen on two VLANs): the second SYN, before any reply, is not counted;
 * the third, in ESTABLISHED, is ignored.
 */
static void test_duplicated_syn_counts(void)
{
    cfg_default();
    unsigned counted[2] = {0, 0};
    const uint32_t ci = 4263588410u, si = 2779762238u;
    struct ct_conn *c = fresh();
    struct ct_pkt syn = syn_with_options(CT_TCP_SYN, ci, 0, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM, 4);
    syn.win = 65535;
    CHECK_EQ_U(ct_tcp_new(&cfg, c, &syn, 0), CT_REASON_NONE);
    CHECK_EQ_U(send_count(c, O, &syn, counted).reason, CT_REASON_NONE);
    CHECK_EQ_U(send_count(c, O, &syn, counted).reason, CT_REASON_TCP_IGNORED);
    struct ct_pkt p = syn_with_options(CT_TCP_SYN | CT_TCP_ACK, si, ci + 1, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM, 7);
    p.win = 14480;
    CHECK_EQ_U(send_count(c, R, &p, counted).reason, CT_REASON_NONE);
    p = seg(CT_TCP_ACK, ci + 1, si + 1, 8235, 0);
    CHECK_EQ_U(send_count(c, O, &p, counted).reason, CT_REASON_NONE);
    p = seg(CT_TCP_ACK | CT_TCP_PSH, ci + 1, si + 1, 8235, 136);
    CHECK_EQ_U(send_count(c, O, &p, counted).reason, CT_REASON_NONE);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
    CHECK_EQ_U(send_count(c, O, &syn, counted).reason, CT_REASON_TCP_IGNORED);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
    CHECK_EQ_U(counted[O], 3);
    CHECK_EQ_U(counted[R], 1);
}

/* ---- out-of-window FIN and RST exchange ----------------------------------------------- */

/*
 * The corpus capture zeek/communityid/tcp, whose data segments were cut by
 * the snap length (their IP total length is past the frame: INVALID before
 * the tracker, which never sees them). Every later ACK acknowledges data
 * the tracker did not see, so the FIN exchange is out of window. Linux cuts
 * the timeout of the assured connection to UNACK's 300 s when the second
 * FIN, from the other side, fails the checks too.
 */
static void test_invalid_fin_exchange(void)
{
    cfg_default();
    const uint32_t ci = 3201037957u, si = 2888831847u;
    struct ct_conn *c = fresh();
    struct ct_pkt p = syn_with_options(CT_TCP_SYN, ci, 0, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM, 0);
    p.win = 5840;
    CHECK_EQ_U(open_with(c, &p, NULL), CT_REASON_NONE);
    p = syn_with_options(CT_TCP_SYN | CT_TCP_ACK, si, ci + 1, CT_TCPOPT_WSCALE | CT_TCPOPT_SACK_PERM, 0);
    p.win = 5792;
    expect_in(c, R, &p);
    p = seg(CT_TCP_ACK, ci + 1, si + 1, 5840, 0);
    expect_in(c, O, &p);
    CHECK(c->status & CT_STATUS_ASSURED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);

    /* ACKs of data never seen: INVALID; an ACK changes nothing. */
    p = seg(CT_TCP_ACK, si + 1, ci + 497, 6432, 0);
    expect_out(c, R, &p, CT_PROTO_INVALID, CT_REASON_TCP_ACK_OVER);
    p = seg(CT_TCP_ACK, ci + 497, si + 1449, 8688, 0);
    expect_out(c, O, &p, CT_PROTO_INVALID, CT_REASON_TCP_ACK_OVER);
    p = seg(CT_TCP_ACK, ci + 497, si + 1732, 11584, 0);
    expect_out(c, O, &p, CT_PROTO_INVALID, CT_REASON_TCP_ACK_OVER);
    CHECK_EQ_U(ct_tcp_last_index(ct_tcp_of_const(c)), CT_TCP_CLASS_ACK);
    CHECK_EQ_U(ct_tcp_last_dir(ct_tcp_of_const(c)), O);

    /* The server's FIN: INVALID, noted as the last packet; the timeout
     * stays. */
    struct ct_conn4 before = entry;
    p = seg(CT_TCP_FIN | CT_TCP_ACK, si + 1732, ci + 497, 6432, 0);
    struct ct_proto_result r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_ACK_OVER);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(ct_tcp_last_index(ct_tcp_of_const(c)), CT_TCP_CLASS_FIN);
    CHECK_EQ_U(ct_tcp_last_dir(ct_tcp_of_const(c)), R);
    ct_tcp_set_last_index(ct_tcp_of(&before.c), CT_TCP_CLASS_FIN);
    ct_tcp_set_last_dir(ct_tcp_of(&before.c), R);
    CHECK(conn_same(&before.c, c));

    /* The client's FIN crosses it: INVALID, and the timeout is cut. */
    p = seg(CT_TCP_FIN | CT_TCP_ACK, ci + 497, si + 1733, 11584, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_ACK_OVER);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
    CHECK_EQ_U(timeout_s(c), 300);
    /* The note stays as it was. */
    CHECK_EQ_U(ct_tcp_last_index(ct_tcp_of_const(c)), CT_TCP_CLASS_FIN);
    CHECK_EQ_U(ct_tcp_last_dir(ct_tcp_of_const(c)), R);
    /* The last ACK, INVALID too, changes nothing more. */
    p = seg(CT_TCP_ACK, si + 1733, ci + 498, 6432, 0);
    expect_out(c, R, &p, CT_PROTO_INVALID, CT_REASON_TCP_ACK_OVER);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
}

/* The conditions of the cut, one at a time. */
static void test_invalid_fin_rst_exchange(void)
{
    cfg_default();
    /* A FIN and a RST from the other side, both above the window. */
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    struct ct_pkt fin = seg(CT_TCP_FIN | CT_TCP_ACK, A + 1 + 5 * W, B + 1, W, 0);
    struct ct_proto_result r = send(c, O, &fin);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_SEQ_OVER);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    struct ct_pkt rst = seg(CT_TCP_RST, B + 1 + 5 * W, 0, 0, 0);
    r = send(c, R, &rst);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
    /* An accepted packet picks the timeout afresh. */
    struct ct_pkt ack = seg(CT_TCP_ACK, A + 1, B + 1, W, 0);
    expect_in(c, O, &ack);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);

    /* Two from the same side: the second only renews the note. */
    c = fresh();
    handshake(c, A, B);
    send(c, O, &fin);
    send(c, O, &fin);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(ct_tcp_last_dir(ct_tcp_of_const(c)), O);
    /* An INVALID ACK between them is not noted and breaks nothing. */
    struct ct_pkt bad_ack = seg(CT_TCP_ACK, B + 1, A + 5000, W, 0);
    expect_out(c, R, &bad_ack, CT_PROTO_INVALID, CT_REASON_TCP_ACK_OVER);
    CHECK_EQ_U(ct_tcp_last_index(ct_tcp_of_const(c)), CT_TCP_CLASS_FIN);
    struct ct_pkt rfin = seg(CT_TCP_FIN | CT_TCP_ACK, B + 1 + 5 * W, A + 1, W, 0);
    send(c, R, &rfin);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);

    /* Not assured (SYN_RECV): nothing is noted or cut. */
    c = reach(CT_TCP_SYN_RECV);
    struct ct_conn4 before = entry;
    expect_out(c, O, &fin, CT_PROTO_INVALID, CT_REASON_TCP_SEQ_OVER);
    CHECK(conn_same(&before.c, c));

    /* A fixed timeout is never cut. */
    c = fresh();
    handshake(c, A, B);
    c->status |= CT_STATUS_FIXED_TIMEOUT;
    send(c, O, &fin);
    send(c, R, &rfin);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(ct_tcp_last_index(ct_tcp_of_const(c)), CT_TCP_CLASS_ACK);

    /* Less than 120 s in force: not cut, and the note stays the first
     * FIN's. */
    cfg.timeout_ns[CT_TIMEOUT_TCP_ESTABLISHED] = 100 * NS;
    c = fresh();
    handshake(c, A, B);
    send(c, O, &fin);
    send(c, R, &rfin);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(ct_tcp_last_dir(ct_tcp_of_const(c)), O);
    /* 120 s or more, but not more than UNACK's: not cut either. */
    cfg.timeout_ns[CT_TIMEOUT_TCP_ESTABLISHED] = 300 * NS;
    c = fresh();
    handshake(c, A, B);
    send(c, O, &fin);
    send(c, R, &rfin);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    cfg.timeout_ns[CT_TIMEOUT_TCP_ESTABLISHED] = 301 * NS;
    c = fresh();
    handshake(c, A, B);
    send(c, O, &fin);
    send(c, R, &rfin);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);

    /* Liberal tracking lets both through: nothing is INVALID. */
    cfg_default();
    cfg.tcp_liberal = 1;
    c = fresh();
    handshake(c, A, B);
    CHECK_EQ_U(send(c, O, &fin).action, CT_PROTO_ACCEPT);
    cfg.tcp_liberal = 0;

    /* A RST INVALID for being below the acknowledged sequence number is
     * refused before the window checks (Linux too): it is not noted. */
    c = fresh();
    handshake(c, A, B);
    send(c, R, &rfin);
    struct ct_pkt low_rst = seg(CT_TCP_RST, A, 0, 0, 0);
    r = send(c, O, &low_rst);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_RST_WINDOW);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    CHECK_EQ_U(ct_tcp_last_dir(ct_tcp_of_const(c)), R);
}

/* ---- retransmissions and timeouts -------------------------------------------------- */

static void test_retransmissions(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    struct ct_pkt p = seg(CT_TCP_ACK | CT_TCP_PSH, A + 1, B + 1, W, 100);
    send(c, O, &p);
    CHECK_EQ_U(ct_tcp_retrans(ct_tcp_of_const(c)), 0);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_UNACK);
    for (unsigned i = 1; i <= 3; i++) {
        send(c, O, &p);
        CHECK_EQ_U(ct_tcp_retrans(ct_tcp_of_const(c)), i);
        CHECK_EQ_U(c->timeout, i >= 3 ? CT_TIMEOUT_TCP_RETRANS : CT_TIMEOUT_TCP_UNACK);
    }
    /* The counter saturates instead of wrapping. */
    for (unsigned i = 0; i < 40; i++)
        send(c, O, &p);
    CHECK_EQ_U(ct_tcp_retrans(ct_tcp_of_const(c)), CT_TCP_RETRANS_MAX);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_RETRANS);
    /* The peer's ACK resets it. */
    p = seg(CT_TCP_ACK, B + 1, A + 101, W, 0);
    send(c, R, &p);
    CHECK_EQ_U(ct_tcp_retrans(ct_tcp_of_const(c)), 0);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);

    /* A different window is not a retransmission. */
    p = seg(CT_TCP_ACK, B + 1, A + 101, W + 1, 0);
    send(c, R, &p);
    CHECK_EQ_U(ct_tcp_retrans(ct_tcp_of_const(c)), 0);

    /* A lower max_retrans applies sooner; the RETRANS cap applies only to
     * states whose own timeout is longer. */
    cfg.tcp_max_retrans = 1;
    send(c, R, &p);
    CHECK_EQ_U(ct_tcp_retrans(ct_tcp_of_const(c)), 1);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_RETRANS);
    cfg.timeout_ns[CT_TIMEOUT_TCP_RETRANS] = 500000 * NS;
    send(c, R, &p);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
}

static void test_zero_window_timeout(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    handshake(c, A, B);
    struct ct_pkt p = seg(CT_TCP_ACK, B + 1, A + 1, 0, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_RETRANS);
    CHECK_EQ_U(timeout_s(c), 300);
    p = seg(CT_TCP_ACK, B + 1, A + 1, 10, 0);
    send(c, R, &p);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
}

/* ---- loose pickup ------------------------------------------------------------------ */

static void test_loose_pickup(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = seg(CT_TCP_ACK | CT_TCP_PSH, 700000, 900000, 2000, 50);
    struct ct_proto_result r;
    CHECK_EQ_U(open_with(c, &p, &r), CT_REASON_NONE);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(c->l4state, CT_TCP_ESTABLISHED);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, 700050);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend, 702050);
    CHECK(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_BE_LIBERAL);
    CHECK(ct_tcp_of_const(c)->seen[R].flags & CT_TCPF_SACK_PERM);
    /* No answer yet: not the 5-day ESTABLISHED timeout. */
    CHECK_EQ_U(timeout_s(c), 300);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    /* The answer initialises the reply side from its own packet. */
    p = seg(CT_TCP_ACK, 900000, 700050, 3000, 0);
    r = send(c, R, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, 900000);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxwin, 3000);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    CHECK_EQ_U(timeout_s(c), 300);
    p = seg(CT_TCP_ACK, 700050, 900000, 2000, 0);
    send(c, O, &p);
    CHECK(c->status & CT_STATUS_ASSURED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_TCP_ESTABLISHED);
    /* Picked-up connections are tracked liberally. */
    p = seg(CT_TCP_ACK, 700050 + 100000, 900000, 2000, 0);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);

    /* Only SYN and ACK may start a connection. */
    static const uint8_t no[] = {CT_TCP_SYN | CT_TCP_ACK, CT_TCP_FIN | CT_TCP_ACK, CT_TCP_RST,
                                 CT_TCP_RST | CT_TCP_ACK};
    for (unsigned i = 0; i < sizeof(no); i++) {
        p = seg(no[i], 1, 1, W, 0);
        CHECK_EQ_U(ct_tcp_new(&cfg, fresh(), &p, 0), CT_REASON_TCP_NEW_NOT_SYN);
    }
    /* Loose pickup off: ACKs do not start connections; SYNs still do. */
    cfg.tcp_loose = 0;
    p = seg(CT_TCP_ACK, 1, 1, W, 0);
    CHECK_EQ_U(ct_tcp_new(&cfg, fresh(), &p, 0), CT_REASON_TCP_NEW_NOT_SYN);
    p = seg(CT_TCP_SYN, 1, 0, W, 0);
    CHECK_EQ_U(ct_tcp_new(&cfg, fresh(), &p, 0), CT_REASON_NONE);
}

/* ---- window scaling, SACK, wrap-around ------------------------------------------------ */

static void test_window_scaling(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    struct ct_pkt p = syn_with_options(CT_TCP_SYN, A, 0, CT_TCPOPT_WSCALE, 7);
    open_with(c, &p, NULL);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_scale, 7);
    p = syn_with_options(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, CT_TCPOPT_WSCALE, 20);
    send(c, R, &p);
    /* A shift above 14 counts as 14. */
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_scale, 14);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_scale, 7);
    p = seg(CT_TCP_ACK, A + 1, B + 1, 100, 0);
    send(c, O, &p);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxend, B + 1 + (100u << 7));
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxwin, 100u << 7);
    p = seg(CT_TCP_ACK, B + 1, A + 1, 2, 0);
    send(c, R, &p);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend, A + 1 + (2u << 14));
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxwin, 2u << 14);
    /* Data up to the scaled window is in, beyond it is not. */
    p = seg(CT_TCP_ACK, A + 1 + (2u << 14), B + 1, 100, 0);
    CHECK_EQ_U(send(c, O, &p).reason, CT_REASON_NONE);

    /* Only one side offered scaling: neither window is scaled. */
    c = fresh();
    p = syn_with_options(CT_TCP_SYN, A, 0, CT_TCPOPT_WSCALE, 7);
    open_with(c, &p, NULL);
    p = syn_with_options(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, CT_TCPOPT_MSS, 0);
    send(c, R, &p);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_scale, 0);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_scale, 0);
    p = seg(CT_TCP_ACK, A + 1, B + 1, 2000, 0);
    send(c, O, &p);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxend, B + 1 + 2000);
}

/* A frame holding a TCP header with one SACK block [left, right). */
static uint8_t sack_frame[64];

static struct ct_pkt sack_segment(uint32_t seq, uint32_t ack, uint32_t left, uint32_t right)
{
    memset(sack_frame, 0, sizeof(sack_frame));
    uint8_t *o = sack_frame + 20;
    o[0] = 1;
    o[1] = 1;
    o[2] = 5;
    o[3] = 10;
    for (int i = 0; i < 4; i++) {
        o[4 + i] = (uint8_t)(left >> (24 - 8 * i));
        o[8 + i] = (uint8_t)(right >> (24 - 8 * i));
    }
    struct ct_pkt p = seg(CT_TCP_ACK, seq, ack, W, 0);
    p.data = sack_frame;
    p.len = 32;
    p.l4_off = 0;
    p.tcp_hdr_len = 32;
    p.l4_len = 32;
    p.tcp_opts = CT_TCPOPT_SACK;
    p.tcp_sack_off = 22; /* where the parser finds the option (test_parse_fast.c) */
    return p;
}

static void sack_connection(struct ct_conn *c, int permitted)
{
    uint8_t opt = permitted ? CT_TCPOPT_SACK_PERM : CT_TCPOPT_MSS;
    struct ct_pkt p = syn_with_options(CT_TCP_SYN, A, 0, opt, 0);
    open_with(c, &p, NULL);
    p = syn_with_options(CT_TCP_SYN | CT_TCP_ACK, B, A + 1, opt, 0);
    send(c, R, &p);
    p = seg(CT_TCP_ACK, A + 1, B + 1, W, 0);
    send(c, O, &p);
    /* The reply side sends 500 bytes. */
    p = seg(CT_TCP_ACK, B + 1, A + 1, W, 500);
    send(c, R, &p);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, B + 501);
}

static void test_sack(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    sack_connection(c, 1);
    CHECK(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_SACK_PERM);
    /* First 100 bytes lost, the rest SACKed: the SACK edge counts as the
     * acknowledgement for the bounds and the window. */
    struct ct_pkt p = sack_segment(A + 1, B + 1, B + 101, B + 501);
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_maxend, B + 501 + W);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxwin, W + 500);
    /* A SACK edge beyond the data sent: ACK over the upper bound. */
    struct ct_conn4 before = entry;
    p = sack_segment(A + 1, B + 1, B + 101, B + 502);
    r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_ACK_OVER);
    CHECK(conn_same(&before.c, c));
    /* Only the option the parser recorded is read: with none the blocks are
     * not looked at. */
    p = sack_segment(A + 1, B + 1, B + 101, B + 502);
    p.tcp_sack_off = 0;
    r = send(c, O, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    /* A malformed SACK option (length not 2 + 8n) is skipped. */
    p = sack_segment(A + 1, B + 1, B + 101, B + 502);
    sack_frame[23] = 9;
    r = send(c, O, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);

    /* Without SACK-permitted the blocks are not looked at. */
    c = fresh();
    sack_connection(c, 0);
    p = sack_segment(A + 1, B + 1, B + 101, B + 502);
    r = send(c, O, &p);
    CHECK_EQ_U(r.reason, CT_REASON_NONE);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxwin, W);
}

static void test_sequence_wraparound(void)
{
    cfg_default();
    struct ct_conn *c = fresh();
    const uint32_t a = 0xFFFFFF00u, b = 0xFFFFFFF0u;
    handshake(c, a, b);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, 0xFFFFFFF1u);
    /* 512 bytes from the original side cross 2^32. */
    struct ct_pkt p = seg(CT_TCP_ACK, a + 1, b + 1, W, 512);
    CHECK_EQ_U(send(c, O, &p).reason, CT_REASON_NONE);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_end, 0x101u);
    /* The reply side acknowledges across the wrap; then sends data across it. */
    p = seg(CT_TCP_ACK, b + 1, 0x101u, W, 100);
    CHECK_EQ_U(send(c, R, &p).reason, CT_REASON_NONE);
    CHECK(!(ct_tcp_of_const(c)->seen[O].flags & CT_TCPF_DATA_UNACKNOWLEDGED));
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[R].td_end, 0x55u);
    CHECK_EQ_U(ct_tcp_of_const(c)->seen[O].td_maxend, 0x101u + W);
    /* Bound III across the wrap. */
    p = seg(CT_TCP_ACK, 0x101u, 0x55u, W, 0);
    CHECK_EQ_U(send(c, O, &p).reason, CT_REASON_NONE);
    p = seg(CT_TCP_ACK, 0x101u, 0x56u, W, 0);
    CHECK_EQ_U(send(c, O, &p).reason, CT_REASON_TCP_ACK_OVER);
    /* Bound I after the wrap. */
    p = seg(CT_TCP_ACK, 0x101u + W, 0x55u, W, 0);
    CHECK_EQ_U(send(c, O, &p).reason, CT_REASON_NONE);
    c = fresh();
    handshake(c, a, b);
    p = seg(CT_TCP_ACK, a + 1 + 2 * W + 1, b + 1, W, 0);
    struct ct_proto_result r = send(c, O, &p);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_TCP_SEQ_OVER);
}

static void test_accessors(void)
{
    struct ct_tcp_conn t;
    memset(&t, 0, sizeof(t));
    ct_tcp_set_last_dir(&t, 1);
    ct_tcp_set_last_index(&t, CT_TCP_CLASS_NONE);
    ct_tcp_set_retrans(&t, 99);
    ct_tcp_set_last_wscale(&t, 14);
    ct_tcp_set_last_flags(&t, 0xf);
    CHECK_EQ_U(ct_tcp_last_dir(&t), 1);
    CHECK_EQ_U(ct_tcp_last_index(&t), CT_TCP_CLASS_NONE);
    CHECK_EQ_U(ct_tcp_retrans(&t), CT_TCP_RETRANS_MAX);
    CHECK_EQ_U(ct_tcp_last_wscale(&t), 14);
    CHECK_EQ_U(ct_tcp_last_flags(&t), 0xf);
    ct_tcp_set_last_dir(&t, 0);
    ct_tcp_set_retrans(&t, 2);
    CHECK_EQ_U(ct_tcp_last_dir(&t), 0);
    CHECK_EQ_U(ct_tcp_last_index(&t), CT_TCP_CLASS_NONE);
    CHECK_EQ_U(ct_tcp_retrans(&t), 2);
    CHECK_EQ_U(ct_tcp_last_wscale(&t), 14);
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
    RUN(test_rst_answering_syn);
    RUN(test_rst_established);
    RUN(test_rst_after_data);
    RUN(test_rst_while_closing);
    RUN(test_rst_answering_ignored_syn);
    RUN(test_rst_after_challenge_ack_in_syn_sent);
    RUN(test_reopen_after_rst_and_resync);
    RUN(test_challenge_ack_in_last_ack);
    RUN(test_syn_retransmission_and_restart);
    RUN(test_half_open_counts);
    RUN(test_simultaneous_open_counts);
    RUN(test_syn_sent_after_reply_counts);
    RUN(test_duplicated_syn_counts);
    RUN(test_invalid_fin_exchange);
    RUN(test_invalid_fin_rst_exchange);
    RUN(test_retransmissions);
    RUN(test_zero_window_timeout);
    RUN(test_loose_pickup);
    RUN(test_window_scaling);
    RUN(test_sack);
    RUN(test_sequence_wraparound);
    RUN(test_accessors);
    return check_summary();
}
