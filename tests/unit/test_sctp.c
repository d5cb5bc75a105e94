/*
 * Unit tests of SCTP tracking: the parser's ports for SCTP (RFC 9260),
 * CRC32c, the tuple text, names and timeouts, and the tracker of
 * src/proto/sctp.c driven directly with parsed packets, as the packet path
 * drives it (the path sets SEEN_REPLY after an accepted reply-direction
 * packet and CONFIRMED once the first packet made the connection). GRE's
 * tests are in test_gre.c.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/tuple.h"
#include "packet/packet_priv.h"
#include "proto/proto.h"
#include "support/frames.h"
#include "support/tracker_fixture.h"

#define NS (1000000000ull)

#define A4 0x0a010001u /* 10.1.0.1 */
#define B4 0x0a020001u /* 10.2.0.1 */
#define TAG_A 0x0a0a0a0au
#define TAG_B 0x0b0b0b0bu
#define TAG_C 0x0c0c0c0cu
#define O CT_DIR_ORIGINAL
#define R CT_DIR_REPLY

/* SCTP chunk types (RFC 9260 section 3.2). */
enum {
    DATA = 0,
    INIT = 1,
    INIT_ACK = 2,
    SACK = 3,
    HB = 4,
    HB_ACK = 5,
    ABORT = 6,
    SHUTDOWN = 7,
    SHUTDOWN_ACK = 8,
    ERROR_CH = 9,
    COOKIE_ECHO = 10,
    COOKIE_ACK = 11,
    SHUTDOWN_COMPLETE = 14,
};

static struct ct_proto_cfg cfg;

static void cfg_default(void)
{
    tracker_cfg_default(&cfg);
}

/* ---- frames --------------------------------------------------------------------------- */

/* An IPv4 packet of protocol `proto` from A to B (dir O) or back. */
static void ip4(struct frame *f, unsigned dir, uint8_t proto, const uint8_t *l4, size_t n)
{
    f->len = ipv4_packet(f->b, proto, dir ? B4 : A4, dir ? A4 : B4, 1, l4, n);
    parse_as(f, CT_LINK_IPV4, 0);
}

/* Chunks being assembled. */
struct chunks {
    uint8_t b[256];
    size_t n;
};

/* Appends a chunk: INIT / INIT ACK with Initiate Tag `tag`, others with the
   smallest body their section allows. */
static void add(struct chunks *c, uint8_t type, uint8_t flags, uint32_t tag)
{
    uint8_t *ch = c->b + c->n;
    size_t n = 4;
    memset(ch, 0, 20);
    ch[0] = type;
    ch[1] = flags;
    if (type == INIT || type == INIT_ACK) {
        put_be32(ch + 4, tag);
        put_be32(ch + 8, 65536);
        put_be16(ch + 12, 1);
        put_be16(ch + 14, 1);
        put_be32(ch + 16, 1);
        n = 20;
    } else if (type == DATA) {
        ch[1] = 3;
        put_be32(ch + 4, 1);
        n = 20;
    } else if (type == SACK) {
        n = 16;
    } else if (type == HB || type == HB_ACK) {
        put_be16(ch + 4, 1);
        put_be16(ch + 6, 8);
        n = 12;
    } else if (type == SHUTDOWN || type == COOKIE_ECHO) {
        n = 8;
    }
    put_be16(ch + 2, (uint16_t)n);
    c->n += n;
}

/* An SCTP packet (ports 5000 -> 7000 in direction O) with a correct CRC32c. */
static void sctp(struct frame *f, unsigned dir, uint32_t vtag, const struct chunks *c)
{
    uint8_t l4[300];
    put_be16(l4, dir ? 7000 : 5000);
    put_be16(l4 + 2, dir ? 5000 : 7000);
    put_be32(l4 + 4, vtag);
    put_le32(l4 + 8, 0);
    memcpy(l4 + 12, c->b, c->n);
    uint32_t crc = ~ct_crc32c_update(0xffffffffu, l4, (uint32_t)(12 + c->n));
    put_le32(l4 + 8, crc);
    ip4(f, dir, 132, l4, 12 + c->n);
}

/* ---- parser ------------------------------------------------------------------------------ */

static void test_parse_sctp_ports(void)
{
    struct frame f;
    struct chunks c = {.n = 0};
    add(&c, INIT, 0, TAG_A);
    sctp(&f, O, 0, &c);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.tuple.proto, 132);
    CHECK_EQ_U(f.pkt.tuple.sport, 5000);
    CHECK_EQ_U(f.pkt.tuple.dport, 7000);
    CHECK_EQ_U(f.pkt.payload_off, 20 + 12);
    CHECK(ct_sctp_checksum_ok(&f.pkt));

    /* IPv6. */
    uint8_t l4[32], s6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, d6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    memset(l4, 0, sizeof(l4));
    put_be16(l4, 36412);
    put_be16(l4 + 2, 2905);
    l4[12] = HB;
    put_be16(l4 + 14, 4);
    f.len = ipv6_packet(f.b, 132, s6, d6, l4, 16);
    parse_as(&f, CT_LINK_IPV6, 0);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.tuple.sport, 36412);
    CHECK_EQ_U(f.pkt.tuple.dport, 2905);

    /* Shorter than the common header, or the header not captured. */
    ip4(&f, O, 132, l4, 11);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_L4_TRUNCATED);
    ip4(&f, O, 132, l4, 3);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_L4_TRUNCATED);
    sctp(&f, O, 0, &c);
    parse_as(&f, CT_LINK_IPV4, 20 + 8);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_L4_TRUNCATED);

    /* DCCP (33) keeps ports zero: Linux 6.16 and later track it as a
       protocol without ports. */
    ip4(&f, O, 33, l4, 16);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.tuple.sport, 0);
    CHECK_EQ_U(f.pkt.tuple.dport, 0);
}

static void test_crc32c(void)
{
    /* The check value of CRC-32C (Castagnoli) over "123456789". */
    CHECK_EQ_U(~ct_crc32c_update(0xffffffffu, (const uint8_t *)"123456789", 9), 0xe3069283u);
    struct frame f;
    struct chunks c = {.n = 0};
    add(&c, DATA, 0, 0);
    sctp(&f, O, TAG_B, &c);
    CHECK(ct_sctp_checksum_ok(&f.pkt));
    f.b[20 + 12 + 16] ^= 1; /* one payload bit */
    parse_as(&f, CT_LINK_IPV4, 0);
    CHECK(!ct_sctp_checksum_ok(&f.pkt));
    /* A capture cut short cannot be checked. */
    parse_as(&f, CT_LINK_IPV4, f.len - 2);
    CHECK(ct_sctp_checksum_ok(&f.pkt));
}

/* An ICMP destination unreachable quoting `quote` (IPv4 header + bytes). */
static void icmp_quoting(struct frame *f, const uint8_t *quote, size_t qlen)
{
    uint8_t m[128];
    icmp_header(m, 3, 3, 0, 0);
    memcpy(m + 8, quote, qlen);
    put_be16(m + 2, 0);
    put_be16(m + 2, inet_csum(m, 8 + qlen));
    ip4(f, R, 1, m, 8 + qlen);
}

static void test_parse_icmp_inner(void)
{
    struct frame f;
    uint8_t q[64], l4[8];
    memset(l4, 0, sizeof(l4));
    put_be16(l4, 5000);
    put_be16(l4 + 2, 7000);
    size_t n = ipv4_packet(q, 132, A4, B4, 1, l4, 8);
    icmp_quoting(&f, q, n);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    CHECK_EQ_U(f.pkt.inner_ok, 1);
    CHECK_EQ_U(f.pkt.inner.sport, 5000);
    CHECK_EQ_U(f.pkt.inner.dport, 7000);
}

static void test_tuple_text_and_names(void)
{
    struct ct_tuple t;
    memset(&t, 0, sizeof(t));
    t.l3 = CT_L3_IPV4;
    put_be32(t.src.b, A4);
    put_be32(t.dst.b, B4);
    char buf[128];
    t.proto = 132;
    t.sport = 5000;
    t.dport = 7000;
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.1.0.1 dst=10.2.0.1 sport=5000 dport=7000");
    t.proto = 33;
    ct_tuple_format(&t, buf, sizeof(buf));
    CHECK_STR(buf, "src=10.1.0.1 dst=10.2.0.1");

    CHECK_STR(ct_sctp_state_name(CT_SCTP_CLOSED), "CLOSED");
    CHECK_STR(ct_sctp_state_name(CT_SCTP_SHUTDOWN_ACK_SENT), "SHUTDOWN_ACK_SENT");
    CHECK_STR(ct_sctp_state_name(CT_SCTP_HEARTBEAT_SENT), "HEARTBEAT_SENT");
    CHECK_STR(ct_sctp_state_name(CT_SCTP_STATE_COUNT), "UNKNOWN");
    CHECK_STR(ct_proto_state_name(132, CT_SCTP_ESTABLISHED), "ESTABLISHED");
    CHECK_STR(ct_proto_state_name(6, CT_TCP_TIME_WAIT), "TIME_WAIT");
    CHECK_STR(ct_proto_state_name(132, CT_SCTP_STATE_COUNT), "UNKNOWN");

    /* Linux's defaults (sysctl nf_conntrack_sctp_timeout_*). */
    static const struct {
        unsigned t;
        const char *name;
        uint32_t s;
    } want[] = {
        {CT_TIMEOUT_SCTP_CLOSED, "sctp_closed", 10},
        {CT_TIMEOUT_SCTP_COOKIE_WAIT, "sctp_cookie_wait", 3},
        {CT_TIMEOUT_SCTP_COOKIE_ECHOED, "sctp_cookie_echoed", 3},
        {CT_TIMEOUT_SCTP_ESTABLISHED, "sctp_established", 210},
        {CT_TIMEOUT_SCTP_SHUTDOWN_SENT, "sctp_shutdown_sent", 3},
        {CT_TIMEOUT_SCTP_SHUTDOWN_RECD, "sctp_shutdown_recd", 3},
        {CT_TIMEOUT_SCTP_SHUTDOWN_ACK_SENT, "sctp_shutdown_ack_sent", 3},
        {CT_TIMEOUT_SCTP_HEARTBEAT_SENT, "sctp_heartbeat_sent", 30},
    };
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_STR(ct_timeout_name(want[i].t), want[i].name);
        CHECK_EQ_U(ct_timeout_default(want[i].t), want[i].s);
    }
    CHECK_STR(ct_reason_name(CT_REASON_SCTP_VTAG), "sctp-vtag");
}

/* ---- SCTP tracker --------------------------------------------------------------------------- */

static struct ct_conn4 entry;

static struct ct_conn *fresh(void)
{
    memset(&entry, 0, sizeof(entry));
    return &entry.c;
}

/* Sends one packet of chunks; the first packet goes through ct_sctp_new. */
static struct ct_proto_result sc(struct ct_conn *c, unsigned dir, uint32_t vtag, const struct chunks *ch)
{
    struct frame f;
    struct ct_proto_result r;
    memset(&r, 0xaa, sizeof(r));
    sctp(&f, dir, vtag, ch);
    CHECK_EQ_U(f.pkt.reason, CT_REASON_NONE);
    if (!(c->status & CT_STATUS_CONFIRMED)) {
        uint16_t e = ct_sctp_new(&cfg, c, &f.pkt, 0);
        if (e != CT_REASON_NONE) {
            r.action = CT_PROTO_INVALID;
            r.reason = e;
            return r;
        }
    }
    ct_sctp_packet(&cfg, c, (enum ct_dir)dir, &f.pkt, 0, &r);
    if (r.action == CT_PROTO_ACCEPT) {
        c->status |= CT_STATUS_CONFIRMED;
        if (dir == R)
            c->status |= CT_STATUS_SEEN_REPLY;
    }
    return r;
}

/* One chunk. */
static struct ct_proto_result sc1(struct ct_conn *c, unsigned dir, uint32_t vtag, uint8_t type, uint8_t flags,
                                  uint32_t tag)
{
    struct chunks ch = {.n = 0};
    add(&ch, type, flags, tag);
    return sc(c, dir, vtag, &ch);
}

/* A function, not a macro: its argument sends a packet and must be
   evaluated once. */
static int ACCEPTED(struct ct_proto_result r)
{
    return r.action == CT_PROTO_ACCEPT && r.reason == CT_REASON_NONE;
}

static void handshake(struct ct_conn *c)
{
    CHECK(ACCEPTED(sc1(c, O, 0, INIT, 0, TAG_A)));
    CHECK_EQ_U(c->l4state, CT_SCTP_CLOSED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_SCTP_CLOSED);
    CHECK(ACCEPTED(sc1(c, R, TAG_A, INIT_ACK, 0, TAG_B)));
    CHECK_EQ_U(c->l4state, CT_SCTP_COOKIE_WAIT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_SCTP_COOKIE_WAIT);
    CHECK(ACCEPTED(sc1(c, O, TAG_B, COOKIE_ECHO, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_COOKIE_ECHOED);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    CHECK(ACCEPTED(sc1(c, R, TAG_A, COOKIE_ACK, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_ESTABLISHED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_SCTP_ESTABLISHED);
    CHECK(c->status & CT_STATUS_ASSURED);
}

static void test_sctp_association(void)
{
    struct ct_conn *c = fresh();
    handshake(c);
    struct ct_sctp_conn *s = ct_sctp_of(c);
    CHECK_EQ_U(s->vtag[O], TAG_B);
    CHECK_EQ_U(s->vtag[R], TAG_A);
    CHECK(ACCEPTED(sc1(c, O, TAG_B, DATA, 0, 0)));
    CHECK(ACCEPTED(sc1(c, R, TAG_A, SACK, 0, 0)));
    /* Graceful close (section 9.2). */
    CHECK(ACCEPTED(sc1(c, O, TAG_B, SHUTDOWN, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_SHUTDOWN_SENT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_SCTP_SHUTDOWN_SENT);
    CHECK(ACCEPTED(sc1(c, R, TAG_A, SHUTDOWN_ACK, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_SHUTDOWN_ACK_SENT);
    CHECK(ACCEPTED(sc1(c, O, TAG_B, SHUTDOWN_COMPLETE, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_CLOSED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_SCTP_CLOSED);

    /* The peer starts the close: SHUTDOWN_RECD. */
    c = fresh();
    handshake(c);
    CHECK(ACCEPTED(sc1(c, R, TAG_A, SHUTDOWN, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_SHUTDOWN_RECD);
}

static void test_sctp_vtags(void)
{
    struct ct_conn *c = fresh();
    handshake(c);
    /* A wrong tag: INVALID, nothing changes. */
    struct ct_conn4 before = entry;
    struct ct_proto_result r = sc1(c, O, TAG_A, DATA, 0, 0);
    CHECK_EQ_U(r.action, CT_PROTO_INVALID);
    CHECK_EQ_U(r.reason, CT_REASON_SCTP_VTAG);
    CHECK(memcmp(&before, &entry, sizeof(entry)) == 0);
    /* ABORT: own tag, or the T bit with the tag it reflects. */
    r = sc1(c, O, TAG_A, ABORT, 0, 0);
    CHECK_EQ_U(r.reason, CT_REASON_SCTP_VTAG);
    r = sc1(c, O, TAG_A, ABORT, 0x01, 0);
    CHECK(ACCEPTED(r));
    CHECK_EQ_U(c->l4state, CT_SCTP_CLOSED);
    /* An INIT must carry tag 0 (section 8.5.1 A). */
    r = sc1(c, O, TAG_B, INIT, 0, TAG_A);
    CHECK_EQ_U(r.reason, CT_REASON_SCTP_VTAG);
    /* After the handshake, an INIT ACK with a new tag is INVALID. */
    c = fresh();
    handshake(c);
    r = sc1(c, R, TAG_A, INIT_ACK, 0, TAG_C);
    CHECK_EQ_U(r.reason, CT_REASON_SCTP_VTAG);
    r = sc1(c, R, TAG_A, INIT_ACK, 0, TAG_B);
    CHECK(ACCEPTED(r));
    /* Before it, an INIT ACK answering the INIT may bring a new tag. */
    c = fresh();
    CHECK(ACCEPTED(sc1(c, O, 0, INIT, 0, TAG_A)));
    CHECK(ACCEPTED(sc1(c, R, TAG_A, INIT_ACK, 0, TAG_B)));
    CHECK(ACCEPTED(sc1(c, R, TAG_A, INIT_ACK, 0, TAG_C)));
    CHECK_EQ_U(ct_sctp_of(c)->vtag[O], TAG_C);
}

static void test_sctp_chunk_checks(void)
{
    struct ct_conn *c = fresh();
    handshake(c);
    struct chunks ch = {.n = 0};
    /* INIT bundled with DATA. */
    add(&ch, INIT, 0, TAG_A);
    add(&ch, DATA, 0, 0);
    CHECK_EQ_U(sc(c, O, 0, &ch).reason, CT_REASON_SCTP_CHUNKS);
    /* A COOKIE ECHO that is not first. */
    ch.n = 0;
    add(&ch, DATA, 0, 0);
    add(&ch, COOKIE_ECHO, 0, 0);
    CHECK_EQ_U(sc(c, O, TAG_B, &ch).reason, CT_REASON_SCTP_CHUNKS);
    /* ... but first, with DATA after it, is fine. */
    ch.n = 0;
    add(&ch, COOKIE_ECHO, 0, 0);
    add(&ch, DATA, 0, 0);
    CHECK(ACCEPTED(sc(c, O, TAG_B, &ch)));
    /* A zero-length chunk; no chunk at all. */
    ch.n = 0;
    add(&ch, DATA, 0, 0);
    add(&ch, SACK, 0, 0);
    put_be16(ch.b + 22, 0);
    CHECK_EQ_U(sc(c, O, TAG_B, &ch).reason, CT_REASON_SCTP_CHUNKS);
    ch.n = 0;
    CHECK_EQ_U(sc(c, O, TAG_B, &ch).reason, CT_REASON_SCTP_CHUNKS);
    /* A chunk whose length runs past the packet ends the walk quietly. */
    ch.n = 0;
    add(&ch, DATA, 0, 0);
    put_be16(ch.b + 2, 400);
    CHECK(ACCEPTED(sc(c, O, TAG_B, &ch)));
    /* An INIT whose fixed part is missing. */
    c = fresh();
    ch.n = 0;
    add(&ch, ABORT, 0, 0);
    ch.b[0] = INIT;
    CHECK_EQ_U(sc(c, O, 0, &ch).reason, CT_REASON_L4_TRUNCATED);
}

static void test_sctp_new(void)
{
    /* Out of the blue, or no state from NONE: cannot start. */
    static const uint8_t refused[] = {ABORT, SHUTDOWN_COMPLETE, COOKIE_ACK, DATA, SACK};
    for (unsigned i = 0; i < sizeof(refused); i++) {
        struct ct_conn *c = fresh();
        CHECK_EQ_U(sc1(c, O, 0, refused[i], 0, 0).reason, CT_REASON_SCTP_NEW);
    }
    /* A SHUTDOWN ACK out of the blue: SHUTDOWN_ACK_SENT, and its tag is the
       one the SHUTDOWN COMPLETE answering it carries (section 8.4). */
    struct ct_conn *c = fresh();
    CHECK(ACCEPTED(sc1(c, O, TAG_B, SHUTDOWN_ACK, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_SHUTDOWN_ACK_SENT);
    CHECK_EQ_U(ct_sctp_of(c)->vtag[R], TAG_B);
    CHECK(ACCEPTED(sc1(c, R, TAG_B, SHUTDOWN_COMPLETE, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_CLOSED);
    /* Other chunks start in CLOSED. */
    c = fresh();
    CHECK(ACCEPTED(sc1(c, O, 0, ERROR_CH, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_CLOSED);
}

static void test_sctp_init_retransmit(void)
{
    struct ct_conn *c = fresh();
    CHECK(ACCEPTED(sc1(c, O, 0, INIT, 0, TAG_A)));
    c->timeout = CT_TIMEOUT_GENERIC; /* to see that it is left alone */
    struct ct_proto_result r = sc1(c, O, 0, INIT, 0, TAG_C);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_SCTP_IGNORED);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_GENERIC);
    CHECK_EQ_U(ct_sctp_of(c)->vtag[R], TAG_C);
    /* The answer counts. */
    CHECK(ACCEPTED(sc1(c, R, TAG_C, INIT_ACK, 0, TAG_B)));
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_SCTP_COOKIE_WAIT);
}

static void test_sctp_heartbeat(void)
{
    /* A second path seen first by its HEARTBEAT, then its answer. */
    struct ct_conn *c = fresh();
    CHECK(ACCEPTED(sc1(c, O, TAG_B, HB, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_HEARTBEAT_SENT);
    CHECK_EQ_U(c->timeout, CT_TIMEOUT_SCTP_HEARTBEAT_SENT);
    CHECK(!(c->status & CT_STATUS_ASSURED));
    CHECK(ACCEPTED(sc1(c, R, TAG_A, HB_ACK, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_ESTABLISHED);
    CHECK(c->status & CT_STATUS_ASSURED);
    CHECK(ACCEPTED(sc1(c, O, TAG_B, DATA, 0, 0)));
    /* In the reply direction only HEARTBEAT and its ACK are valid in
       HEARTBEAT_SENT (the reply side's tag is not known yet: 0). */
    c = fresh();
    CHECK(ACCEPTED(sc1(c, O, TAG_B, HB, 0, 0)));
    CHECK_EQ_U(sc1(c, R, TAG_A, ERROR_CH, 0, 0).reason, CT_REASON_SCTP_VTAG);
    CHECK_EQ_U(sc1(c, R, 0, ERROR_CH, 0, 0).reason, CT_REASON_SCTP_INVALID_STATE);

    /* A HEARTBEAT with another tag is let through without refresh; the
       other side's HEARTBEAT ACK with a new tag then replaces the tags. */
    c = fresh();
    handshake(c);
    struct ct_proto_result r = sc1(c, O, TAG_C, HB, 0, 0);
    CHECK_EQ_U(r.action, CT_PROTO_ACCEPT);
    CHECK_EQ_U(r.reason, CT_REASON_SCTP_IGNORED);
    CHECK(ct_sctp_of(c)->flags & CT_SCTPF_HB_VTAG_FAILED);
    /* Not from the same side. */
    CHECK_EQ_U(sc1(c, O, TAG_C, HB_ACK, 0, 0).reason, CT_REASON_SCTP_VTAG);
    CHECK(ACCEPTED(sc1(c, R, 0x0d0d0d0du, HB_ACK, 0, 0)));
    CHECK_EQ_U(ct_sctp_of(c)->vtag[R], 0x0d0d0d0du);
    CHECK_EQ_U(ct_sctp_of(c)->vtag[O], 0);
    /* With DATA in the same packet, a tag mismatch is INVALID. */
    c = fresh();
    handshake(c);
    struct chunks ch = {.n = 0};
    add(&ch, HB, 0, 0);
    add(&ch, DATA, 0, 0);
    CHECK_EQ_U(sc(c, O, TAG_C, &ch).reason, CT_REASON_SCTP_VTAG);
}

/*
 * A few cells of the transition table, each from a fresh association: the
 * state reached, then one chunk in one direction (with the right tags).
 */
static void test_sctp_table_cells(void)
{
    /* ESTABLISHED: an INIT from the originator keeps it, ABORT closes. */
    struct ct_conn *c = fresh();
    handshake(c);
    CHECK(ACCEPTED(sc1(c, O, 0, INIT, 0, TAG_A)));
    CHECK_EQ_U(c->l4state, CT_SCTP_ESTABLISHED);
    /* COOKIE_ECHOED: an ERROR from the reply side closes. */
    c = fresh();
    CHECK(ACCEPTED(sc1(c, O, 0, INIT, 0, TAG_A)));
    CHECK(ACCEPTED(sc1(c, R, TAG_A, INIT_ACK, 0, TAG_B)));
    CHECK(ACCEPTED(sc1(c, O, TAG_B, COOKIE_ECHO, 0, 0)));
    CHECK(ACCEPTED(sc1(c, R, TAG_A, ERROR_CH, 0, 0)));
    CHECK_EQ_U(c->l4state, CT_SCTP_CLOSED);
    /* SHUTDOWN_SENT: an INIT from the originator gives CLOSED. */
    c = fresh();
    handshake(c);
    CHECK(ACCEPTED(sc1(c, O, TAG_B, SHUTDOWN, 0, 0)));
    CHECK(ACCEPTED(sc1(c, O, 0, INIT, 0, TAG_A)));
    CHECK_EQ_U(c->l4state, CT_SCTP_CLOSED);
}

int main(void)
{
    cfg_default();
    RUN(test_parse_sctp_ports);
    RUN(test_crc32c);
    RUN(test_parse_icmp_inner);
    RUN(test_tuple_text_and_names);
    RUN(test_sctp_association);
    RUN(test_sctp_vtags);
    RUN(test_sctp_chunk_checks);
    RUN(test_sctp_new);
    RUN(test_sctp_init_retransmit);
    RUN(test_sctp_heartbeat);
    RUN(test_sctp_table_cells);
    return check_summary();
}
