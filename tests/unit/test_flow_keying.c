/*
 * ct_flow_keyer (src/flow/keying.c): packets keyed into Zeek connections.
 * Both directions of a flow land in one slot and one record, whichever
 * side sent first; ICMP requests and replies pair by type whatever their
 * identifier; records end in order of their Zeek deadline as the clock
 * advances; the deadline queue stays within its fixed size when stale
 * entries pile up; a full keyer counts what it cannot log; the end of the
 * input writes the open records in order of their first packet; tunnel
 * carriers are kept but not written; bad configurations are refused.
 *
 * Packets are real frames (tests/support/frames.h) parsed by the library
 * and judged by a real table, as `ctrack read` feeds them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "ctrack/flowkey.h"
#include "support/frames.h"

#define SEC 1000000000ull
#define MAX_RECS 16

#define HOST_A IPV4_ADDR(10, 0, 0, 1)
#define HOST_B IPV4_ADDR(10, 0, 0, 2)
#define HOST_C IPV4_ADDR(10, 0, 0, 3)

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* A table, a keyer and the records it wrote, in the order written. */
struct fx {
    struct ct_table *table;
    struct ct_flow_keyer *keyer;
    struct ct_flow_record recs[MAX_RECS];
    unsigned nrecs;
    uint8_t buf[256];
};

static void collect(void *arg, const struct ct_flow_record *rec)
{
    struct fx *x = arg;
    if (x->nrecs < MAX_RECS)
        x->recs[x->nrecs++] = *rec;
}

/* A keyer of `capacity` slots with UDP and ICMP records idle after 10 s. */
static int fx_open(struct fx *x, uint32_t capacity)
{
    memset(x, 0, sizeof(*x));
    struct ct_table_config tc;
    ct_table_config_init(&tc);
    tc.max_connections = 1024;
    int err = 0;
    x->table = ct_table_create(&tc, &err);
    CHECK_PTR(x->table);
    struct ct_flow_keyer_config kc;
    ct_flow_keyer_config_init(&kc);
    kc.flowlog.capacity = capacity;
    kc.flowlog.uid_seed = 1;
    kc.flowlog.udp_inactivity_ms = 10000;
    kc.flowlog.icmp_inactivity_ms = 10000;
    kc.write = collect;
    kc.write_arg = x;
    x->keyer = ct_flow_keyer_create(&kc, &err);
    CHECK_PTR(x->keyer);
    CHECK_EQ_I(err, 0);
    return x->table && x->keyer ? 0 : -1;
}

static void fx_close(struct fx *x)
{
    ct_flow_keyer_destroy(x->keyer);
    ct_table_destroy(x->table);
}

/* Parses the IPv4 packet in x->buf, runs it through the table at `now`
   after advancing the keyer to `now`, and returns its slot. */
static uint32_t fx_send(struct fx *x, size_t len, uint64_t now, unsigned flags)
{
    ipv4_fill_transport_checksum(x->buf);
    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = x->buf;
    f.len = (uint32_t)len;
    f.link = CT_LINK_RAW;
    struct ct_pkt pkt;
    struct ct_verdict v;
    ct_pkt_parse(&f, &pkt);
    CHECK_EQ_U(pkt.reason, CT_REASON_NONE);
    ct_flow_keyer_advance(x->keyer, now);
    CHECK_EQ_I(ct_process_parsed(x->table, &pkt, &v, 1, now, CT_PROCESS_COMMIT), 1);
    ct_flow_keyer_prefetch(x->keyer, &pkt);
    return ct_flow_keyer_packet(x->keyer, &pkt, &v, now, CT_FLOW_SLOT_NONE, flags);
}

static uint32_t udp(struct fx *x, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                    uint64_t now)
{
    uint8_t l4[12];
    size_t n = udp_header(l4, sport, dport, 4);
    memcpy(l4 + n, "ping", 4);
    return fx_send(x, ipv4_packet(x->buf, 17, src, dst, 1, l4, n + 4), now, 0);
}

static uint32_t icmp(struct fx *x, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
                     uint64_t now)
{
    uint8_t l4[8];
    size_t n = icmp_header(l4, type, 0, id, 1);
    return fx_send(x, ipv4_packet(x->buf, 1, src, dst, 1, l4, n), now, 0);
}

static uint32_t tcp(struct fx *x, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t fl, uint64_t now)
{
    uint8_t l4[20];
    size_t n = tcp_header(l4, sport, dport, seq, ack, fl, 65535, NULL, 0);
    return fx_send(x, ipv4_packet(x->buf, 6, src, dst, 1, l4, n), now, 0);
}

static struct ct_flow_keyer_stats stats(const struct fx *x)
{
    struct ct_flow_keyer_stats st;
    ct_flow_keyer_stats(x->keyer, &st);
    return st;
}

static void test_both_directions_one_record(void)
{
    struct fx x;
    if (fx_open(&x, 8) != 0)
        return;
    /* The first packet comes from the larger address, so the slot's key
       (smaller endpoint first) is the reverse of the originator. */
    uint32_t s1 = udp(&x, HOST_B, 5000, HOST_A, 6000, 1 * SEC);
    uint32_t s2 = udp(&x, HOST_A, 6000, HOST_B, 5000, 2 * SEC);
    uint32_t s3 = udp(&x, HOST_B, 5000, HOST_A, 6000, 3 * SEC);
    CHECK(s1 != CT_FLOW_SLOT_NONE);
    CHECK_EQ_U(s2, s1);
    CHECK_EQ_U(s3, s1);
    CHECK_EQ_U(stats(&x).open, 1);
    CHECK_EQ_I(ct_flow_keyer_finish(x.keyer, 4 * SEC), 0);
    CHECK_EQ_U(x.nrecs, 1);
    const struct ct_flow_record *r = &x.recs[0];
    CHECK_EQ_U(r->id.src.v4, htonl(HOST_B));
    CHECK_EQ_U(r->id.sport, 5000);
    CHECK_EQ_U(r->id.dst.v4, htonl(HOST_A));
    CHECK_EQ_U(r->id.dport, 6000);
    CHECK_EQ_U(r->orig_pkts, 2);
    CHECK_EQ_U(r->resp_pkts, 1);
    CHECK_EQ_U(r->ts, 1 * SEC);
    CHECK_EQ_U(r->end_reason, CT_FLOW_END_SHUTDOWN);
    CHECK_EQ_U(stats(&x).open, 0);
    CHECK_EQ_U(stats(&x).written, 1);
    fx_close(&x);
}

static void test_icmp_pairs_by_type(void)
{
    struct fx x;
    if (fx_open(&x, 8) != 0)
        return;
    /* Echo request and reply share a record, whatever the identifier:
       Zeek keys ICMP by type and counterpart, not by conntrack's id. */
    uint32_t req = icmp(&x, HOST_A, HOST_B, 8, 7, 1 * SEC);
    uint32_t rep = icmp(&x, HOST_B, HOST_A, 0, 7, 1 * SEC + 1000);
    uint32_t req2 = icmp(&x, HOST_A, HOST_B, 8, 9, 2 * SEC);
    /* A timestamp request (13, counterpart 14) is another connection. */
    uint32_t ts = icmp(&x, HOST_A, HOST_B, 13, 7, 2 * SEC);
    CHECK(req != CT_FLOW_SLOT_NONE);
    CHECK_EQ_U(rep, req);
    CHECK_EQ_U(req2, req);
    CHECK(ts != CT_FLOW_SLOT_NONE && ts != req);
    CHECK_EQ_I(ct_flow_keyer_finish(x.keyer, 3 * SEC), 0);
    CHECK_EQ_U(x.nrecs, 2);
    const struct ct_flow_record *echo = &x.recs[0], *tsr = &x.recs[1];
    CHECK_EQ_U(echo->proto, CT_ZEEK_PROTO_ICMP);
    CHECK_EQ_U(echo->id.src.v4, htonl(HOST_A));
    CHECK_EQ_U(echo->id.sport, 8);
    CHECK_EQ_U(echo->id.dport, 0);
    CHECK_EQ_U(echo->orig_pkts, 2);
    CHECK_EQ_U(echo->resp_pkts, 1);
    CHECK_EQ_U(tsr->id.sport, 13);
    CHECK_EQ_U(tsr->id.dport, 14);
    CHECK_EQ_U(tsr->orig_pkts, 1);
    fx_close(&x);
}

static void test_expiry_in_deadline_order(void)
{
    struct fx x;
    if (fx_open(&x, 8) != 0)
        return;
    /* Idle deadlines: flow 1 at 11 s, flow 3 at 13 s, flow 2 (refreshed
       at 4 s) at 14 s. */
    udp(&x, HOST_A, 1001, HOST_B, 7000, 1 * SEC);
    udp(&x, HOST_A, 1002, HOST_B, 7000, 2 * SEC);
    udp(&x, HOST_A, 1003, HOST_B, 7000, 3 * SEC);
    udp(&x, HOST_A, 1002, HOST_B, 7000, 4 * SEC);
    /* The clock moves a second at a time, as packet timestamps would. */
    static const uint16_t order[] = {1001, 1003, 1002};
    static const unsigned written_by[] = {10, 11, 12, 13, 14};
    static const unsigned count_at[] = {0, 1, 1, 2, 3};
    for (unsigned i = 0; i < 5; i++) {
        ct_flow_keyer_advance(x.keyer, written_by[i] * SEC);
        CHECK_EQ_U(x.nrecs, count_at[i]);
    }
    for (unsigned i = 0; i < 3 && i < x.nrecs; i++) {
        CHECK_EQ_U(x.recs[i].id.sport, order[i]);
        CHECK_EQ_U(x.recs[i].end_reason, CT_FLOW_END_IDLE);
    }
    CHECK_EQ_U(x.recs[0].end, 11 * SEC);
    CHECK_EQ_U(x.recs[2].end, 14 * SEC);
    CHECK_EQ_U(x.recs[2].orig_pkts, 2);
    CHECK_EQ_U(stats(&x).open, 0);
    /* Nothing is left for the end of the input. */
    CHECK_EQ_I(ct_flow_keyer_finish(x.keyer, 100 * SEC), 0);
    CHECK_EQ_U(x.nrecs, 3);
    fx_close(&x);
}

/* A closed TCP connection: handshake at `t`, FIN exchange at `t + 2 s`. */
static void tcp_conn(struct fx *x, uint16_t sport, uint64_t t, int wait_attempt)
{
    tcp(x, HOST_A, sport, HOST_B, 80, 100, 0, TCP_SYN, t);
    tcp(x, HOST_B, 80, HOST_A, sport, 500, 101, TCP_SYN | TCP_ACK, t + SEC / 10);
    tcp(x, HOST_A, sport, HOST_B, 80, 101, 501, TCP_ACK, t + SEC / 5);
    /* Past the attempt delay the slot's entry is queued again at the
       (later) inactivity deadline. */
    if (wait_attempt)
        ct_flow_keyer_advance(x->keyer, t + 6 * SEC);
    uint64_t c = t + 7 * SEC;
    tcp(x, HOST_A, sport, HOST_B, 80, 101, 501, TCP_FIN | TCP_ACK, c);
    tcp(x, HOST_B, 80, HOST_A, sport, 501, 102, TCP_FIN | TCP_ACK, c);
    tcp(x, HOST_A, sport, HOST_B, 80, 102, 502, TCP_ACK, c);
}

static void test_deadline_queue_stays_bounded(void)
{
    struct fx x;
    if (fx_open(&x, 1) != 0)
        return;
    /* One slot, so a queue of two entries. Each connection leaves its
       inactivity entry behind, stale, when the close brings the deadline
       forward; the second connection's close finds the queue full and
       must drop the stale entry to make room (ASan checks the bounds). */
    tcp_conn(&x, 40000, 1 * SEC, 1);
    ct_flow_keyer_advance(x.keyer, 14 * SEC);
    CHECK_EQ_U(x.nrecs, 1);
    tcp_conn(&x, 40001, 20 * SEC, 1);
    ct_flow_keyer_advance(x.keyer, 31 * SEC);
    CHECK_EQ_U(x.nrecs, 1);
    ct_flow_keyer_advance(x.keyer, 33 * SEC);
    CHECK_EQ_U(x.nrecs, 2);
    for (unsigned i = 0; i < x.nrecs; i++) {
        CHECK_EQ_U(x.recs[i].end_reason, CT_FLOW_END_CLOSED);
        CHECK_STR(ct_zeek_state_name(x.recs[i].conn_state), "SF");
        CHECK_EQ_U(x.recs[i].id.sport, 40000 + i);
    }
    CHECK_EQ_U(stats(&x).slots_full, 0);
    fx_close(&x);
}

static void test_full_is_counted(void)
{
    struct fx x;
    if (fx_open(&x, 2) != 0)
        return;
    uint32_t a = udp(&x, HOST_A, 1001, HOST_B, 7000, 1 * SEC);
    uint32_t b = udp(&x, HOST_A, 1002, HOST_B, 7000, 1 * SEC);
    CHECK(a != CT_FLOW_SLOT_NONE && b != CT_FLOW_SLOT_NONE && a != b);
    CHECK_EQ_U(udp(&x, HOST_A, 1003, HOST_B, 7000, 2 * SEC), CT_FLOW_SLOT_NONE);
    CHECK_EQ_U(udp(&x, HOST_C, 1003, HOST_B, 7000, 2 * SEC), CT_FLOW_SLOT_NONE);
    /* Known keys still find their slot, from either side. */
    CHECK_EQ_U(udp(&x, HOST_B, 7000, HOST_A, 1002, 2 * SEC), b);
    struct ct_flow_keyer_stats st = stats(&x);
    CHECK_EQ_U(st.slots_full, 2);
    CHECK_EQ_U(st.open, 2);
    CHECK_EQ_U(st.capacity, 2);
    /* Once a record ends, its slot takes a new key. */
    ct_flow_keyer_advance(x.keyer, 20 * SEC);
    CHECK_EQ_U(x.nrecs, 2);
    CHECK(udp(&x, HOST_A, 1003, HOST_B, 7000, 21 * SEC) != CT_FLOW_SLOT_NONE);
    CHECK_EQ_U(stats(&x).slots_full, 2);
    fx_close(&x);
}

static void test_finish_in_ts_order(void)
{
    struct fx x;
    if (fx_open(&x, 4) != 0)
        return;
    /* A takes slot 0 and ends; C, later than B, reuses slot 0, so the
       slots hold C before B while their first packets say B, C. */
    uint32_t a = udp(&x, HOST_A, 1001, HOST_B, 7000, 1 * SEC);
    uint32_t b = udp(&x, HOST_A, 1002, HOST_B, 7000, 2 * SEC);
    udp(&x, HOST_A, 1002, HOST_B, 7000, 10 * SEC);
    ct_flow_keyer_advance(x.keyer, 12 * SEC);
    CHECK_EQ_U(x.nrecs, 1);
    uint32_t c = udp(&x, HOST_A, 1003, HOST_B, 7000, 13 * SEC);
    CHECK_EQ_U(c, a);
    CHECK(b != a);
    x.nrecs = 0;
    CHECK_EQ_I(ct_flow_keyer_finish(x.keyer, 14 * SEC), 0);
    CHECK_EQ_U(x.nrecs, 2);
    CHECK_EQ_U(x.recs[0].id.sport, 1002);
    CHECK_EQ_U(x.recs[1].id.sport, 1003);
    for (unsigned i = 0; i < x.nrecs; i++) {
        CHECK_EQ_U(x.recs[i].end_reason, CT_FLOW_END_SHUTDOWN);
        CHECK_EQ_U(x.recs[i].end, 14 * SEC);
    }
    fx_close(&x);
}

static void test_hidden_not_written(void)
{
    struct fx x;
    if (fx_open(&x, 4) != 0)
        return;
    uint8_t l4[12];
    size_t n = udp_header(l4, 1001, 7000, 4);
    memcpy(l4 + n, "ping", 4);
    uint32_t s = fx_send(&x, ipv4_packet(x.buf, 17, HOST_A, HOST_B, 1, l4, n + 4), SEC,
                         CT_FLOW_PKT_F_HIDDEN);
    CHECK(s != CT_FLOW_SLOT_NONE);
    CHECK_EQ_U(stats(&x).open, 1);
    CHECK_EQ_I(ct_flow_keyer_finish(x.keyer, 2 * SEC), 0);
    CHECK_EQ_U(x.nrecs, 0);
    CHECK_EQ_U(stats(&x).written, 0);
    CHECK_EQ_U(stats(&x).open, 0);
    fx_close(&x);
}

static void nop_write(void *arg, const struct ct_flow_record *rec)
{
    (void)arg;
    (void)rec;
}

static void test_bad_config(void)
{
    struct ct_flow_keyer_config kc;
    int err = 0;
    CHECK(ct_flow_keyer_create(NULL, &err) == NULL);
    CHECK_EQ_I(err, -EINVAL);
    ct_flow_keyer_config_init(&kc);
    CHECK(ct_flow_keyer_create(&kc, &err) == NULL); /* no writer */
    CHECK_EQ_I(err, -EINVAL);
    kc.write = nop_write;
    kc.flags = CT_FLOW_KEYER_F_CT_INFO; /* without a table */
    CHECK(ct_flow_keyer_create(&kc, &err) == NULL);
    CHECK_EQ_I(err, -EINVAL);
    kc.flags = 1u << 7;
    CHECK(ct_flow_keyer_create(&kc, &err) == NULL);
    CHECK_EQ_I(err, -EINVAL);
    kc.flags = 0;
    kc.reserved[3] = 1;
    CHECK(ct_flow_keyer_create(&kc, &err) == NULL);
    CHECK_EQ_I(err, -EINVAL);
    kc.reserved[3] = 0;
    kc.flowlog.capacity = 0;
    CHECK(ct_flow_keyer_create(&kc, &err) == NULL);
    CHECK_EQ_I(err, -EINVAL);
    kc.flowlog.capacity = 16;
    struct ct_flow_keyer *k = ct_flow_keyer_create(&kc, &err);
    CHECK_PTR(k);
    CHECK_EQ_I(err, 0);
    CHECK_PTR(ct_flow_keyer_flowlog(k));
    CHECK(ct_flow_keyer_flowlog(NULL) == NULL);
    ct_flow_keyer_destroy(k);
    ct_flow_keyer_destroy(NULL);
}

int main(void)
{
    RUN(test_both_directions_one_record);
    RUN(test_icmp_pairs_by_type);
    RUN(test_expiry_in_deadline_order);
    RUN(test_deadline_queue_stays_bounded);
    RUN(test_full_is_counted);
    RUN(test_finish_in_ts_order);
    RUN(test_hidden_not_written);
    RUN(test_bad_config);
    return check_summary();
}
