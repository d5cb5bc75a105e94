/*
 * Zeek conn.log records from ct_flowlog (the connection model in
 * src/flow/zeek.c): every conn_state, the history letters (including the RST
 * cases of Zeek's conn_state-RST-behavior test, direction flips and the 1, 10,
 * 100 repetition rule), TCP byte counts from sequence numbers with
 * retransmissions, gaps and wrap-around, UDP and ICMP records, Zeek's timers,
 * and the exact text of the header and of a line, all with hand-built packet
 * descriptors. Then, when the corpus is there (../shared/corpus or
 * $CTRACK_CORPUS), a replay of Zeek's test captures whose records must match
 * Zeek's expected conn.log rows in every column but ts, uid, service and
 * tunnel_parents.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "ctrack/flowlog.h"
#include "support/corpus.h"
#include "support/frames.h"
#include "support/pcapfile.h"

/* ---- flows ----------------------------------------------------------------- */

#define RP_MAX_FLOWS 256
#define RP_MAX_RECS 256

struct rp_flow {
    struct ct_tuple first; /* the first packet's tuple, in Zeek's key form */
    int used;
};

struct replay {
    struct ct_flowlog *fl;
    struct rp_flow flows[RP_MAX_FLOWS];
    unsigned n_flows;
    struct ct_flow_record recs[RP_MAX_RECS];
    unsigned n_recs;
    uint64_t last_ts;
    uint8_t frame[65536];
};

/* Zeek's key form of a packet's tuple: ICMP ports are (type, counterpart or code). */
static struct ct_tuple rp_key(const struct ct_pkt *p)
{
    struct ct_tuple t = p->tuple;
    t.zone = 0;
    if ((t.proto == 1 && t.l3 == CT_L3_IPV4) || (t.proto == 58 && t.l3 == CT_L3_IPV6)) {
        static const uint8_t v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16},
                                        {16, 15}, {10, 9}, {9, 10}, {17, 18}, {18, 17}};
        static const uint8_t v6[][2] = {{128, 129}, {129, 128}, {130, 131}, {131, 130},
                                        {133, 134}, {134, 133}, {135, 136}, {136, 135},
                                        {139, 140}, {140, 139}, {144, 145}, {145, 144}};
        uint16_t peer = p->icmp_code;
        if (t.proto == 1) {
            for (unsigned i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
                if (v4[i][0] == p->icmp_type)
                    peer = v4[i][1];
        } else {
            for (unsigned i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
                if (v6[i][0] == p->icmp_type)
                    peer = v6[i][1];
        }
        t.sport = p->icmp_type;
        t.dport = peer;
    } else if (t.proto != 6 && t.proto != 17) {
        t.sport = t.dport = 0;
    }
    return t;
}

static int rp_same(const struct ct_tuple *a, const struct ct_tuple *b)
{
    return a->l3 == b->l3 && a->proto == b->proto && memcmp(&a->src, &b->src, 16) == 0 &&
           memcmp(&a->dst, &b->dst, 16) == 0 && a->sport == b->sport && a->dport == b->dport;
}

static int rp_reverse(const struct ct_tuple *a, const struct ct_tuple *b)
{
    return a->l3 == b->l3 && a->proto == b->proto && memcmp(&a->src, &b->dst, 16) == 0 &&
           memcmp(&a->dst, &b->src, 16) == 0 && a->sport == b->dport && a->dport == b->sport;
}

static void rp_emit(struct replay *r, const struct ct_flow_record *rec)
{
    if (r->n_recs < RP_MAX_RECS)
        r->recs[r->n_recs++] = *rec;
}

/* Replays a capture; check_csum marks packets with a bad checksum as Zeek sees them. */
static int rp_run(struct replay *r, const char *path, unsigned flags, int check_csum)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct pcap_reader c;
    if (pcap_reader_open(&c, f) != 0) {
        pcap_reader_close(&c);
        fclose(f);
        return -1;
    }
    struct ct_flowlog_config cfg;
    ct_flowlog_config_init(&cfg);
    cfg.capacity = RP_MAX_FLOWS;
    cfg.flags = flags;
    cfg.uid_seed = 1;
    int err;
    r->fl = ct_flowlog_create(&cfg, &err);
    if (!r->fl) {
        pcap_reader_close(&c);
        fclose(f);
        return -1;
    }
    struct pcap_packet pk;
    struct ct_flow_record ended;
    while (pcap_reader_next(&c, &pk) == 1) {
        const uint8_t *data = pk.data;
        uint32_t caplen = pk.caplen;
        uint64_t ts = pk.ts_ns;
        struct ct_frame fr = {
            .data = data, .len = caplen, .wire_len = pk.wirelen, .link = CT_LINK_ETHERNET};
        struct ct_pkt p;
        ct_pkt_parse(&fr, &p);
        if (p.reason == CT_REASON_IP_CHECKSUM && !check_csum && caplen <= sizeof(r->frame)) {
            /* Zeek ran with checksums off (-C): repair the IPv4 header
               checksum in a copy so that the packet parses. */
            memcpy(r->frame, data, caplen);
            unsigned off = 12;
            while (off + 2 <= caplen && get_be16(r->frame + off) != 0x0800 &&
                   (get_be16(r->frame + off) == 0x8100 || get_be16(r->frame + off) == 0x88a8))
                off += 4;
            ipv4_refresh_checksum(r->frame + off + 2);
            fr.data = r->frame;
            ct_pkt_parse(&fr, &p);
        }
        if (p.reason != CT_REASON_NONE) {
            if (getenv("ZEEK_REPLAY_VERBOSE"))
                fprintf(stderr, "  skipped packet: %s\n", ct_reason_name(p.reason));
            continue;
        }
        /* ICMP errors are flows of their own, as Zeek logs them. */
        struct ct_verdict v;
        memset(&v, 0, sizeof(v));
        v.state = CT_STATE_ESTABLISHED;
        if (check_csum && !ct_pkt_verify_checksum(&p))
            v.reason = CT_REASON_L4_CHECKSUM;
        if (ts > r->last_ts)
            r->last_ts = ts;
        struct ct_tuple k = rp_key(&p);
        unsigned i;
        for (i = 0; i < r->n_flows; i++) {
            if (rp_same(&r->flows[i].first, &k)) {
                v.dir = CT_DIR_ORIGINAL;
                break;
            }
            if (rp_reverse(&r->flows[i].first, &k)) {
                v.dir = CT_DIR_REPLY;
                break;
            }
        }
        int rc;
        if (i == r->n_flows) {
            if (r->n_flows == RP_MAX_FLOWS)
                continue;
            r->flows[r->n_flows++].first = k;
            v.dir = CT_DIR_ORIGINAL;
            rc = ct_flowlog_open(r->fl, i, &p, &v, ts, &ended);
        } else {
            rc = ct_flowlog_packet(r->fl, i, &p, &v, ts, &ended);
        }
        if (rc == 1)
            rp_emit(r, &ended);
    }
    for (unsigned i = 0; i < r->n_flows; i++)
        if (ct_flowlog_close(r->fl, i, NULL, CT_FLOW_END_SHUTDOWN, r->last_ts, &ended) == 1)
            rp_emit(r, &ended);
    ct_flowlog_destroy(r->fl);
    r->fl = NULL;
    pcap_reader_close(&c);
    fclose(f);
    return 0;
}

/* ---- comparison ------------------------------------------------------------- */

/* Splits a tab-separated line in place; returns the number of fields. */
static unsigned rp_split(char *line, char **f, unsigned max)
{
    unsigned n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t)
            break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

/* Compares one expected conn.log (full or a zeek-cut column subset) with the
   replayed records. Columns compared: everything but ts, uid, service,
   tunnel_parents. Returns the number of mismatching rows and prints them. */
static unsigned rp_compare(struct replay *r, const char *logpath, unsigned *rows)
{
    FILE *f = fopen(logpath, "r");
    if (!f)
        return 1;
    char line[2048], *cols[40], *vals[40];
    char colbuf[2048];
    unsigned ncols = 0, bad = 0;
    int used[RP_MAX_RECS] = {0};
    *rows = 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "### ", 4) || !strncmp(line, "#separator", 10) ||
            !strncmp(line, "#set_", 5) || !strncmp(line, "#empty", 6) ||
            !strncmp(line, "#unset", 6) || !strncmp(line, "#path", 5) ||
            !strncmp(line, "#open", 5) || !strncmp(line, "#close", 6) ||
            !strncmp(line, "#types", 6))
            continue;
        if (!strncmp(line, "#fields\t", 8) || !strncmp(line, "ts\t", 3) ||
            !strncmp(line, "uid\t", 4)) {
            strcpy(colbuf, line[0] == '#' ? line + 8 : line);
            ncols = rp_split(colbuf, cols, 40);
            continue;
        }
        unsigned nv = rp_split(line, vals, 40);
        if (nv != ncols)
            continue;
        int inner = 0;
        for (unsigned c = 0; c < ncols; c++)
            if (!strcmp(cols[c], "tunnel_parents") && strcmp(vals[c], "-") != 0)
                inner = 1;
        if (inner)
            continue; /* a flow inside a tunnel: this replay does not decapsulate */
        (*rows)++;
        /* Our rendering of each record, by column name. */
        int match = -1;
        for (unsigned k = 0; k < r->n_recs && match < 0; k++) {
            if (used[k])
                continue;
            char mine[1024], *mv[40];
            ct_flow_record_format_zeek(&r->recs[k], CT_ZEEK_F_IP_PROTO, mine, sizeof(mine));
            rp_split(mine, mv, 40);
            static const char *const names[] = {
                "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
                "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
                "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
                "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto"};
            int ok = 1, keyok = 1;
            for (unsigned c = 0; c < ncols; c++) {
                unsigned m;
                for (m = 0; m < 22 && strcmp(names[m], cols[c]); m++)
                    ;
                if (m == 22 || m == 0 || m == 1 || m == 7 || m == 20)
                    continue;
                if (strcmp(mv[m], vals[c]) != 0) {
                    ok = 0;
                    if (m >= 2 && m <= 6)
                        keyok = 0;
                }
            }
            if (ok)
                match = (int)k;
            else if (keyok && getenv("ZEEK_REPLAY_VERBOSE")) {
                ct_flow_record_format_zeek(&r->recs[k], CT_ZEEK_F_IP_PROTO, mine, sizeof(mine));
                fprintf(stderr, "  candidate: %s", mine);
            }
        }
        if (match >= 0) {
            used[match] = 1;
        } else {
            bad++;
            fprintf(stderr, "%s: no record matches:", logpath);
            for (unsigned c = 0; c < nv; c++)
                fprintf(stderr, " %s=%s", cols[c], vals[c]);
            fputc('\n', stderr);
        }
    }
    fclose(f);
    return bad;
}


/* ---- hand-built packets ------------------------------------------------------ */

/* Host A (10.0.0.1:40000, the client) and host B (192.0.2.80:80, the server). */
#define A_PORT 40000
#define B_PORT 80
#define SEC 1000000000ull

static struct ct_flowlog *new_fl(unsigned flags)
{
    struct ct_flowlog_config cfg;
    ct_flowlog_config_init(&cfg);
    cfg.capacity = 8;
    cfg.flags = flags;
    cfg.uid_seed = 42;
    int err = 0;
    struct ct_flowlog *fl = ct_flowlog_create(&cfg, &err);
    CHECK_PTR(fl);
    CHECK_EQ_I(err, 0);
    return fl;
}

static struct ct_pkt mk(int from_a, uint8_t proto, uint16_t aport, uint16_t bport)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.reason = CT_REASON_NONE;
    p.tuple.l3 = CT_L3_IPV4;
    p.tuple.proto = proto;
    uint8_t a[4] = {10, 0, 0, 1}, b[4] = {192, 0, 2, 80};
    memcpy(from_a ? p.tuple.src.b : p.tuple.dst.b, a, 4);
    memcpy(from_a ? p.tuple.dst.b : p.tuple.src.b, b, 4);
    p.tuple.sport = from_a ? aport : bport;
    p.tuple.dport = from_a ? bport : aport;
    return p;
}

static struct ct_pkt tcp(int from_a, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
    struct ct_pkt p = mk(from_a, 6, A_PORT, B_PORT);
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.win = 1000;
    p.tcp_hdr_len = 20;
    p.l4_len = 20 + len;
    p.payload_len = (uint16_t)len;
    p.ip_len = 40 + len;
    return p;
}

/* Feeds a packet to slot 0 with conntrack direction ORIGINAL for packets from A. */
static int feed(struct ct_flowlog *fl, const struct ct_pkt *p, int from_a, uint64_t now,
                struct ct_flow_record *ended)
{
    struct ct_verdict v;
    memset(&v, 0, sizeof(v));
    v.state = CT_STATE_ESTABLISHED;
    v.dir = from_a ? CT_DIR_ORIGINAL : CT_DIR_REPLY;
    struct ct_flow_record tmp;
    return ct_flowlog_packet(fl, 0, p, &v, now, ended ? ended : &tmp);
}

/* A TCP packet description for scripted exchanges. */
struct step {
    int from_a;
    uint8_t flags;
    uint32_t seq, ack, len;
};

enum { S_ = CT_TCP_SYN, A_ = CT_TCP_ACK, F_ = CT_TCP_FIN, R_ = CT_TCP_RST, P_ = CT_TCP_PSH };

/* Plays steps 1 ms apart and closes the record. */
static void play(const struct step *st, unsigned n, unsigned flags, struct ct_flow_record *rec)
{
    struct ct_flowlog *fl = new_fl(flags);
    if (!fl)
        return;
    uint64_t t = 1000 * SEC;
    for (unsigned i = 0; i < n; i++) {
        struct ct_pkt p = tcp(st[i].from_a, st[i].flags, st[i].seq, st[i].ack, st[i].len);
        CHECK_EQ_I(feed(fl, &p, st[i].from_a, t, NULL), 0);
        t += SEC / 1000;
    }
    CHECK_EQ_I(ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, t, rec), 1);
    ct_flowlog_destroy(fl);
}

#define PLAY(steps, rec) play(steps, sizeof(steps) / sizeof(steps[0]), 0, rec)

/* Client ISN 1000, server ISN 5000. */
#define HS {1, S_, 1000, 0, 0}, {0, S_ | A_, 5000, 1001, 0}, {1, A_, 1001, 5001, 0}

static void test_conn_states(void)
{
    struct ct_flow_record r;
    const struct step s0[] = {{1, S_, 1000, 0, 0}};
    PLAY(s0, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "S0");
    CHECK_STR(r.history, "S");
    CHECK_EQ_U(r.has_duration, 0);

    const struct step s1[] = {HS};
    PLAY(s1, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "S1");
    CHECK_STR(r.history, "ShA");

    const struct step sf[] = {HS, {1, F_ | A_, 1001, 5001, 0}, {0, F_ | A_, 5001, 1002, 0},
                              {1, A_, 1002, 5002, 0}};
    PLAY(sf, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "SF");
    CHECK_STR(r.history, "ShAFf");
    CHECK_EQ_U(r.orig_bytes, 0);
    CHECK_EQ_U(r.resp_bytes, 0);
    /* The final ACK after both FINs does not count in the duration. */
    CHECK_EQ_U(r.last - r.ts, 4 * SEC / 1000);
    CHECK_EQ_U(r.orig_pkts, 4);
    CHECK_EQ_U(r.orig_ip_bytes, 160);

    const struct step rej[] = {{1, S_, 1000, 0, 0}, {0, R_ | A_, 0, 1001, 0}};
    PLAY(rej, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "REJ");
    CHECK_STR(r.history, "Sr");

    const struct step s2[] = {HS, {1, F_ | A_, 1001, 5001, 0}};
    PLAY(s2, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "S2");
    CHECK_STR(r.history, "ShAF");

    const struct step s3[] = {HS, {0, F_ | A_, 5001, 1001, 0}};
    PLAY(s3, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "S3");
    CHECK_STR(r.history, "ShAf");

    const struct step rsto[] = {HS, {1, R_ | A_, 1001, 5001, 0}};
    PLAY(rsto, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "RSTO");
    CHECK_STR(r.history, "ShAR");

    const struct step rstr[] = {HS, {0, R_, 5001, 0, 0}};
    PLAY(rstr, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "RSTR");
    CHECK_STR(r.history, "ShAr");

    const struct step rstos0[] = {{1, S_, 1000, 0, 0}, {1, R_, 1001, 0, 0}};
    PLAY(rstos0, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "RSTOS0");
    CHECK_STR(r.history, "SR");

    /* A SYN-ACK from port 80 first: the roles flip at once (likely server
       port), then the server resets: RSTRH. */
    const struct step rstrh[] = {{0, S_ | A_, 5000, 1001, 0}, {0, R_, 5001, 0, 0}};
    PLAY(rstrh, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "RSTRH");
    CHECK_STR(r.history, "^hr");
    CHECK_EQ_U(r.flipped, 1);
    CHECK_EQ_U(r.id.sport, A_PORT);
    CHECK_EQ_U(r.id.dport, B_PORT);
    CHECK_EQ_U(r.orig_pkts, 0);
    CHECK_EQ_U(r.resp_pkts, 2);

    const struct step sh[] = {{1, S_, 1000, 0, 0}, {1, F_, 1001, 0, 0}};
    PLAY(sh, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "SH");
    CHECK_STR(r.history, "SF");

    const struct step shr[] = {{0, S_ | A_, 5000, 1001, 0}, {0, F_ | A_, 5001, 1001, 0}};
    PLAY(shr, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "SHR");
    CHECK_STR(r.history, "^hf");

    const struct step oth[] = {{1, A_, 1001, 5001, 0}, {0, A_, 5001, 1001, 0}};
    PLAY(oth, &r);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "OTH");
    CHECK_STR(r.history, "Aa");
}

/* The four captures of Zeek's conn_state-RST-behavior test, as INDEX.md lists them. */
static void test_rst_behaviour(void)
{
    struct ct_flow_record r;
    const struct step single[] = {{1, R_, 1000, 0, 0}};
    PLAY(single, &r);
    CHECK_STR(r.history, "R");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "OTH");

    const struct step syn_rst[] = {{1, S_, 1000, 0, 0}, {1, R_, 1001, 0, 0}};
    PLAY(syn_rst, &r);
    CHECK_STR(r.history, "SR");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "RSTOS0");

    /* The responder acknowledges the SYN without a SYN-ACK. */
    const struct step syn_ack_rst[] = {{1, S_, 1000, 0, 0}, {0, A_, 5000, 1001, 0},
                                       {1, R_, 1001, 0, 0}};
    PLAY(syn_ack_rst, &r);
    CHECK_STR(r.history, "SaR");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "RSTOS0");

    const struct step stuff[] = {{1, S_, 1000, 0, 0}, {0, A_, 5000, 1001, 0},
                                 {1, F_ | A_, 1001, 5000, 0}, {1, R_, 1002, 0, 0}};
    PLAY(stuff, &r);
    CHECK_STR(r.history, "SaFR");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "OTH");
}

static void test_flip(void)
{
    struct ct_flow_record r;
    /* A SYN-ACK between two unknown ports flips only when an ACK or data
       follows; the history then reads as if the roles had been right. */
    struct ct_flowlog *fl = new_fl(0);
    struct ct_pkt sa = mk(0, 6, 50000, 40000);
    sa.tcp_flags = S_ | A_;
    sa.seq = 7000;
    sa.ack = 1001;
    sa.tcp_hdr_len = 20;
    sa.l4_len = 20;
    sa.ip_len = 40;
    sa.win = 100;
    struct ct_pkt ack = mk(1, 6, 50000, 40000);
    ack.tcp_flags = A_;
    ack.seq = 1001;
    ack.ack = 7001;
    ack.tcp_hdr_len = 20;
    ack.l4_len = 20;
    ack.ip_len = 40;
    ack.win = 100;
    /* conntrack saw the SYN-ACK first: it is conntrack's ORIGINAL direction. */
    struct ct_verdict v = {0};
    v.dir = CT_DIR_ORIGINAL;
    CHECK_EQ_I(ct_flowlog_open(fl, 0, &sa, &v, SEC, &r), 0);
    CHECK_EQ_I(ct_flowlog_peek(fl, 0, &r), 1);
    CHECK_STR(r.history, "H");
    CHECK_EQ_U(r.flipped, 0);
    v.dir = CT_DIR_REPLY;
    CHECK_EQ_I(ct_flowlog_packet(fl, 0, &ack, &v, 2 * SEC, &r), 0);
    CHECK_EQ_I(ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, 3 * SEC, &r), 1);
    CHECK_STR(r.history, "^hA");
    CHECK_EQ_U(r.flipped, 1);
    CHECK_EQ_U(r.id.sport, 50000);  /* the client is Zeek's originator */
    CHECK_EQ_U(r.id.dport, 40000);
    CHECK_EQ_U(r.orig_pkts, 1);
    CHECK_EQ_U(r.resp_pkts, 1);
    CHECK_STR(ct_zeek_state_name(r.conn_state), "S1");
    ct_flowlog_destroy(fl);

    /* Without a following ACK (a scan answered by nothing) no flip. */
    fl = new_fl(0);
    v.dir = CT_DIR_ORIGINAL;
    ct_flowlog_open(fl, 0, &sa, &v, SEC, &r);
    ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, SEC, &r);
    CHECK_STR(r.history, "H");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "OTH");
    ct_flowlog_destroy(fl);

    /* Mid-stream data from port 80: flipped at once by the port. */
    const struct step mid[] = {{0, A_ | P_, 5001, 1001, 10}, {1, A_, 1001, 5011, 0}};
    PLAY(mid, &r);
    CHECK_STR(r.history, "^dA");
    CHECK_EQ_U(r.resp_bytes, 10);
}

static void test_bytes_retransmission(void)
{
    struct ct_flow_record r;
    /* 100 bytes sent twice, then 50 more: 150 bytes, one 'T'. */
    const struct step st[] = {HS,
                              {1, A_ | P_, 1001, 5001, 100},
                              {1, A_ | P_, 1001, 5001, 100},
                              {0, A_, 5001, 1101, 0},
                              {1, A_ | P_, 1101, 5001, 50},
                              {0, A_, 5001, 1151, 0}};
    PLAY(st, &r);
    CHECK_STR(r.history, "ShADTa");
    CHECK_EQ_U(r.orig_bytes, 150);
    CHECK_EQ_U(r.resp_bytes, 0);
    CHECK_EQ_U(r.missed_bytes, 0);
    CHECK_EQ_U(r.orig_pkts, 5);
    CHECK_EQ_U(r.orig_ip_bytes, 3 * 40 + 140 + 140 + 90 - 40);
}

static void test_bytes_gap(void)
{
    struct ct_flow_record r;
    /* Bytes 1101..1200 are never seen but acknowledged: a gap of 100. */
    const struct step st[] = {HS,
                              {1, A_ | P_, 1001, 5001, 100},
                              {1, A_ | P_, 1201, 5001, 100},
                              {0, A_, 5001, 1301, 0}};
    PLAY(st, &r);
    CHECK_STR(r.history, "ShADaG");
    CHECK_EQ_U(r.orig_bytes, 300);
    CHECK_EQ_U(r.missed_bytes, 100);

    /* Out of order but complete: no gap. */
    const struct step ooo[] = {HS,
                               {1, A_ | P_, 1101, 5001, 100},
                               {1, A_ | P_, 1001, 5001, 100},
                               {0, A_, 5001, 1201, 0}};
    PLAY(ooo, &r);
    CHECK_EQ_U(r.missed_bytes, 0);
    CHECK_EQ_U(r.orig_bytes, 200);
    CHECK(strchr(r.history, 'G') == NULL);

    /* A truncated payload (snap length) is a gap once acknowledged. */
    struct ct_flowlog *fl = new_fl(0);
    uint64_t t = SEC;
    const struct step hs[] = {HS};
    for (unsigned i = 0; i < 3; i++) {
        struct ct_pkt p = tcp(hs[i].from_a, hs[i].flags, hs[i].seq, hs[i].ack, 0);
        feed(fl, &p, hs[i].from_a, t += 1000, NULL);
    }
    struct ct_pkt d = tcp(1, A_, 1001, 5001, 500);
    d.payload_len = 60;
    feed(fl, &d, 1, t += 1000, NULL);
    struct ct_pkt a = tcp(0, A_, 5001, 1501, 0);
    feed(fl, &a, 0, t += 1000, NULL);
    ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, t, &r);
    CHECK_EQ_U(r.orig_bytes, 500);
    CHECK_EQ_U(r.missed_bytes, 500);
    ct_flowlog_destroy(fl);
}

static void test_bytes_wrap(void)
{
    struct ct_flow_record r;
    /* The client's sequence numbers wrap past 2^32. */
    const struct step st[] = {{1, S_, 0xfffffe00u, 0, 0},
                              {0, S_ | A_, 5000, 0xfffffe01u, 0},
                              {1, A_, 0xfffffe01u, 5001, 0},
                              {1, A_ | P_, 0xfffffe01u, 5001, 1000},
                              {0, A_, 5001, 0xfffffe01u + 1000, 0},
                              {1, A_ | P_, 0xfffffe01u + 1000, 5001, 1000},
                              {0, A_, 5001, 0xfffffe01u + 2000, 0},
                              {1, F_ | A_, 0xfffffe01u + 2000, 5001, 0},
                              {0, F_ | A_, 5001, 0xfffffe01u + 2001, 0}};
    PLAY(st, &r);
    CHECK_EQ_U(r.orig_bytes, 2000);
    CHECK_EQ_U(r.missed_bytes, 0);
    CHECK_STR(r.history, "ShADaFf");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "SF");
}

static void test_repetition_rule(void)
{
    struct ct_flow_record r;
    struct ct_flowlog *fl = new_fl(0);
    uint64_t t = SEC;
    const struct step hs[] = {HS};
    for (unsigned i = 0; i < 3; i++) {
        struct ct_pkt p = tcp(hs[i].from_a, hs[i].flags, hs[i].seq, hs[i].ack, 0);
        feed(fl, &p, hs[i].from_a, t += 1000, NULL);
    }
    struct ct_pkt d = tcp(1, A_ | P_, 1001, 5001, 10);
    feed(fl, &d, 1, t += 1000, NULL);
    /* 1 retransmission: T; 9 more (10): TT; 90 more (100): TTT. */
    unsigned want[] = {1, 9, 90};
    const char *hist[] = {"ShADT", "ShADTT", "ShADTTT"};
    for (unsigned k = 0; k < 3; k++) {
        for (unsigned i = 0; i < want[k]; i++)
            feed(fl, &d, 1, t += 1000, NULL);
        ct_flowlog_peek(fl, 0, &r);
        CHECK_STR(r.history, hist[k]);
    }
    /* 899 more (999 in all) add nothing; the 1000th adds the fourth. */
    for (unsigned i = 0; i < 899; i++)
        feed(fl, &d, 1, t += 1000, NULL);
    ct_flowlog_peek(fl, 0, &r);
    CHECK_STR(r.history, "ShADTTT");
    feed(fl, &d, 1, t += 1000, NULL);
    ct_flowlog_peek(fl, 0, &r);
    CHECK_STR(r.history, "ShADTTTT");
    CHECK_EQ_U(r.orig_bytes, 10);
    /* A zero window from the server: 'w', once per power of ten too. */
    struct ct_pkt z = tcp(0, A_, 5001, 1011, 0);
    z.win = 0;
    feed(fl, &z, 0, t += 1000, NULL);
    ct_flowlog_peek(fl, 0, &r);
    CHECK_STR(r.history, "ShADTTTTaw");
    ct_flowlog_destroy(fl);
}

static struct ct_pkt udp(int from_a, uint16_t aport, uint16_t bport, uint32_t payload)
{
    struct ct_pkt p = mk(from_a, 17, aport, bport);
    p.l4_len = 8 + payload;
    p.ip_len = 28 + payload;
    p.payload_len = (uint16_t)payload;
    return p;
}

static void test_udp(void)
{
    struct ct_flow_record r;
    struct ct_flowlog *fl = new_fl(0);
    struct ct_pkt q = udp(1, 53000, 53, 38), a = udp(0, 53000, 53, 89);
    feed(fl, &q, 1, 10 * SEC, NULL);
    feed(fl, &a, 0, 10 * SEC + 435000, NULL);
    CHECK_EQ_I(ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_CT_TIMEOUT, 40 * SEC, &r), 1);
    CHECK_STR(r.history, "Dd");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "SF");
    CHECK_EQ_U(r.orig_bytes, 38);
    CHECK_EQ_U(r.resp_bytes, 89);
    CHECK_EQ_U(r.orig_ip_bytes, 66);
    CHECK_EQ_U(r.resp_ip_bytes, 117);
    CHECK_EQ_U(r.proto, CT_ZEEK_PROTO_UDP);
    /* Idle past dns_session_timeout: the record ended by Zeek's DNS timer at 20 s. */
    CHECK_EQ_U(r.end_reason, CT_FLOW_END_IDLE);
    CHECK_EQ_U(r.end, 20 * SEC);
    char line[512];
    ct_flow_record_format_zeek(&r, 0, line, sizeof(line));
    CHECK(strstr(line, "\tudp\t-\t0.000435\t38\t89\tSF\tT\tT\t0\tDd\t1\t66\t1\t117\t-\n") != NULL);

    /* One-way, then 61 s of silence: the next datagram is a new record. */
    struct ct_pkt o = udp(1, 5004, 5004, 172);
    struct ct_flow_record ended;
    CHECK_EQ_I(feed(fl, &o, 1, 100 * SEC, &ended), 0);
    CHECK_EQ_I(feed(fl, &o, 1, 101 * SEC, &ended), 0);
    CHECK_EQ_I(feed(fl, &o, 1, 162 * SEC, &ended), 1);
    CHECK_STR(ended.history, "D");
    CHECK_STR(ct_zeek_state_name(ended.conn_state), "S0");
    CHECK_EQ_U(ended.orig_pkts, 2);
    CHECK_EQ_U(ended.end_reason, CT_FLOW_END_IDLE);
    CHECK_EQ_U(ended.end, 161 * SEC);
    CHECK_EQ_U(ct_flowlog_deadline(fl, 0), 222 * SEC);
    ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, 162 * SEC, &r);
    CHECK_EQ_U(r.orig_pkts, 1);
    CHECK(strcmp(r.uid, ended.uid) != 0);
    ct_flowlog_destroy(fl);

    /* A first datagram from port 53 to a high port: flipped. */
    fl = new_fl(0);
    struct ct_pkt rev = udp(0, 40001, 53, 50);
    feed(fl, &rev, 0, SEC, NULL);
    ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, SEC, &r);
    CHECK_STR(r.history, "^d");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "SHR");
    CHECK_EQ_U(r.id.dport, 53);
    ct_flowlog_destroy(fl);
}

static void test_icmp(void)
{
    struct ct_flow_record r;
    struct ct_flowlog *fl = new_fl(0);
    struct ct_pkt req = mk(1, 1, 0x1234, 8 << 8), rep = mk(0, 1, 0x1234, 0);
    req.icmp_type = 8;
    req.l4_len = 64;
    req.ip_len = 84;
    rep.icmp_type = 0;
    rep.l4_len = 64;
    rep.ip_len = 84;
    for (unsigned i = 0; i < 4; i++) {
        feed(fl, &req, 1, SEC + i * SEC, NULL);
        feed(fl, &rep, 0, SEC + i * SEC + 1000, NULL);
    }
    ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, 10 * SEC, &r);
    CHECK_EQ_U(r.proto, CT_ZEEK_PROTO_ICMP);
    CHECK_EQ_U(r.id.sport, 8); /* orig_p: the type */
    CHECK_EQ_U(r.id.dport, 0); /* resp_p: the counterpart type */
    CHECK_EQ_U(r.orig_bytes, 4 * 56);
    CHECK_EQ_U(r.resp_bytes, 4 * 56);
    CHECK_EQ_U(r.orig_ip_bytes, 336);
    CHECK_STR(r.history, "");
    CHECK_STR(ct_zeek_state_name(r.conn_state), "OTH");
    char line[512];
    ct_flow_record_format_zeek(&r, CT_ZEEK_F_IP_PROTO, line, sizeof(line));
    CHECK(strstr(line, "\t10.0.0.1\t8\t192.0.2.80\t0\ticmp\t-\t3.000001\t224\t224\tOTH\tT\tT\t0"
                       "\t-\t4\t336\t4\t336\t-\t1\n") != NULL);
    /* Community ID of the echo flow (type 8 pairs with 0). */
    char cid[CT_COMMUNITY_ID_MAX];
    struct ct_tuple t = req.tuple;
    ct_community_id_v1(&t, 0, 0, cid, sizeof(cid));
    CHECK_STR(r.community_id, cid);
    ct_flowlog_destroy(fl);
}

static void test_zeek_timers(void)
{
    struct ct_flow_record r, ended;
    struct ct_flowlog *fl = new_fl(0);
    /* An unanswered SYN, retransmitted after 6 s: Zeek's attempt timer
       ended the first connection at 5 s. */
    struct ct_pkt syn = tcp(1, S_, 1000, 0, 0);
    CHECK_EQ_I(feed(fl, &syn, 1, 10 * SEC, &ended), 0);
    CHECK_EQ_U(ct_flowlog_deadline(fl, 0), 15 * SEC);
    CHECK_EQ_I(feed(fl, &syn, 1, 13 * SEC, &ended), 0);
    CHECK_EQ_I(feed(fl, &syn, 1, 16 * SEC, &ended), 1);
    CHECK_EQ_U(ended.end_reason, CT_FLOW_END_ATTEMPT);
    CHECK_EQ_U(ended.orig_pkts, 2);
    CHECK_STR(ended.history, "S");
    CHECK_STR(ct_zeek_state_name(ended.conn_state), "S0");
    CHECK_EQ_I(ct_flowlog_expire(fl, 0, 20 * SEC, &r), 0);
    CHECK_EQ_I(ct_flowlog_expire(fl, 0, 21 * SEC, &r), 1);
    CHECK_EQ_U(r.end, 21 * SEC);
    CHECK_EQ_I(ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, 30 * SEC, &r), 0);

    /* A closed connection ends 5 s after its close; a new SYN after that is new. */
    uint64_t t = 100 * SEC;
    const struct step st[] = {HS, {1, F_ | A_, 1001, 5001, 0}, {0, F_ | A_, 5001, 1002, 0}};
    for (unsigned i = 0; i < 5; i++) {
        struct ct_pkt p = tcp(st[i].from_a, st[i].flags, st[i].seq, st[i].ack, 0);
        feed(fl, &p, st[i].from_a, t += SEC / 10, NULL);
    }
    CHECK_EQ_U(ct_flowlog_deadline(fl, 0), t + 5 * SEC);
    /* A SYN reusing the ports 1 s later: Zeek starts a new connection. */
    struct ct_pkt syn2 = tcp(1, S_, 90000, 0, 0);
    CHECK_EQ_I(feed(fl, &syn2, 1, t + SEC, &ended), 1);
    CHECK_EQ_U(ended.end_reason, CT_FLOW_END_REUSE);
    CHECK_STR(ended.history, "ShAFf");
    ct_flowlog_destroy(fl);

    /* With CT_FLOWLOG_F_NO_ZEEK_TIMERS records end only by close(). */
    fl = new_fl(CT_FLOWLOG_F_NO_ZEEK_TIMERS);
    CHECK_EQ_I(feed(fl, &syn, 1, 10 * SEC, &ended), 0);
    CHECK_EQ_I(feed(fl, &syn, 1, 1000 * SEC, &ended), 0);
    CHECK_EQ_U(ct_flowlog_deadline(fl, 0), UINT64_MAX);
    struct ct_conn_info info;
    memset(&info, 0, sizeof(info));
    info.status = CT_STATUS_CONFIRMED;
    info.packets[0] = 2;
    info.l4state = CT_TCP_SYN_SENT;
    CHECK_EQ_I(ct_flowlog_close(fl, 0, &info, CT_FLOW_END_CT_TIMEOUT, 2000 * SEC, &r), 1);
    CHECK_EQ_U(r.orig_pkts, 2);
    CHECK_EQ_U(r.end_reason, CT_FLOW_END_CT_TIMEOUT);
    char js[1024];
    ct_flow_record_format_json(&r, 0, js, sizeof(js));
    CHECK(strstr(js, "\"conn_state\":\"S0\"") != NULL);
    CHECK(strstr(js, "\"history\":\"S\"") != NULL);
    CHECK(strstr(js, "\"l4_state\":\"SYN_SENT\"") != NULL);
    CHECK(strstr(js, "\"ct_status\":[\"CONFIRMED\"]") != NULL);
    CHECK(strstr(js, "\"end_reason\":\"ct-timeout\"") != NULL);
    CHECK(strstr(js, "\"ct_orig\":{\"packets\":2,") != NULL);
    CHECK(strstr(js, "\"duration\":990.000000") != NULL);
    ct_flowlog_destroy(fl);
}

static void test_header_and_line(void)
{
    char buf[2048];
    /* 2024-01-01 00:00:00 UTC */
    int n = ct_flowlog_zeek_header(CT_ZEEK_F_IP_PROTO, 1704067200ull * SEC, buf, sizeof(buf));
    const char *want =
        "#separator \\x09\n"
        "#set_separator\t,\n"
        "#empty_field\t(empty)\n"
        "#unset_field\t-\n"
        "#path\tconn\n"
        "#open\t2024-01-01-00-00-00\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
        "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
        "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
        "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n";
    CHECK_STR(buf, want);
    CHECK_EQ_I(n, (int)strlen(want));
    /* Too small a buffer: truncated, NUL-terminated, full length returned. */
    char small[10];
    CHECK_EQ_I(
        ct_flowlog_zeek_header(CT_ZEEK_F_IP_PROTO, 1704067200ull * SEC, small, sizeof(small)), n);
    CHECK_STR(small, "#separato");
    ct_flowlog_zeek_header(CT_ZEEK_F_COMMUNITY_ID, 0, buf, sizeof(buf));
    CHECK(strstr(buf, "\ttunnel_parents\tcommunity_id\n#types") != NULL);
    CHECK(strstr(buf, "\tset[string]\tstring\n") != NULL);
    ct_flowlog_zeek_footer(1704067261ull * SEC, buf, sizeof(buf));
    CHECK_STR(buf, "#close\t2024-01-01-00-01-01\n");

    /* A whole line, uid included (fixed by the seed). */
    struct ct_flow_record r;
    const struct step st[] = {HS, {1, A_ | P_, 1001, 5001, 136}, {0, A_ | P_, 5001, 1137, 1007},
                              {1, F_ | A_, 1137, 6008, 0}, {0, F_ | A_, 6008, 1138, 0},
                              {1, A_, 1138, 6009, 0}};
    PLAY(st, &r);
    n = ct_flow_record_format_zeek(&r, CT_ZEEK_F_IP_PROTO | CT_ZEEK_F_COMMUNITY_ID, buf,
                                   sizeof(buf));
    char want_line[512];
    snprintf(
        want_line, sizeof(want_line),
        "1000.000000\t%s\t10.0.0.1\t40000\t192.0.2.80\t80\ttcp\t-\t0.006000\t136\t1007\tSF\tT\tT"
        "\t0\tShADdFf\t5\t336\t3\t1127\t-\t6\t%s\n",
        r.uid, r.community_id);
    CHECK_STR(buf, want_line);
    CHECK_EQ_I(n, (int)strlen(want_line));
    CHECK(r.uid[0] == 'C' && strlen(r.uid) > 5);
    CHECK(strncmp(r.community_id, "1:", 2) == 0);

    /* Same seed, same packets: same uid. */
    struct ct_flow_record r2;
    PLAY(st, &r2);
    CHECK_STR(r.uid, r2.uid);
}

static void test_api_errors(void)
{
    struct ct_flowlog_config cfg;
    ct_flowlog_config_init(&cfg);
    int err = 0;
    cfg.capacity = 0;
    CHECK(ct_flowlog_create(&cfg, &err) == NULL);
    CHECK_EQ_I(err, -EINVAL);
    ct_flowlog_config_init(&cfg);
    cfg.flags = 1u << 30;
    CHECK(ct_flowlog_create(&cfg, &err) == NULL);
    ct_flowlog_config_init(&cfg);
    cfg.tcp_close_ms = 0;
    CHECK(ct_flowlog_create(&cfg, &err) == NULL);
    CHECK(ct_flowlog_create(NULL, &err) == NULL);

    struct ct_flowlog *fl = new_fl(CT_FLOWLOG_F_NO_LOCAL_NETS);
    struct ct_pkt p = tcp(1, S_, 1, 0, 0);
    struct ct_verdict v = {0};
    struct ct_flow_record r;
    CHECK_EQ_I(ct_flowlog_packet(fl, 8, &p, &v, 0, &r), -EINVAL);
    CHECK_EQ_I(ct_flowlog_packet(fl, 0, NULL, &v, 0, &r), -EINVAL);
    p.reason = CT_REASON_IP_CHECKSUM;
    CHECK_EQ_I(ct_flowlog_open(fl, 0, &p, &v, 0, &r), -EINVAL);
    p.reason = CT_REASON_NONE;
    CHECK_EQ_I(ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, 0, &r), 0);
    CHECK_EQ_I(ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_COUNT, 0, &r), -EINVAL);
    CHECK_EQ_I(ct_flowlog_add_parent(fl, 0, 1), -ENOENT);
    CHECK_EQ_I(ct_flowlog_set_server_port(fl, 1, 80, 1), -EINVAL);
    /* Without local networks local_orig/local_resp are unset. */
    CHECK_EQ_I(ct_flowlog_open(fl, 0, &p, &v, 0, &r), 0);
    CHECK_EQ_I(ct_flowlog_open(fl, 1, &p, &v, 0, &r), 0);
    CHECK_EQ_I(ct_flowlog_add_parent(fl, 0, 1), 0);
    CHECK_EQ_I(ct_flowlog_add_parent(fl, 0, 1), 0);
    CHECK_EQ_I(ct_flowlog_close(fl, 0, NULL, CT_FLOW_END_SHUTDOWN, 0, &r), 1);
    CHECK_EQ_U(r.local_orig, CT_FLOW_UNSET);
    CHECK_EQ_U(r.n_parents, 1);
    char line[512];
    ct_flow_record_format_zeek(&r, 0, line, sizeof(line));
    CHECK(strstr(line, "\tS0\t-\t-\t0\tS\t") != NULL);
    /* Reopening a slot ends its record with reason ct-replace. */
    CHECK_EQ_I(ct_flowlog_open(fl, 1, &p, &v, SEC, &r), 1);
    CHECK_EQ_U(r.end_reason, CT_FLOW_END_CT_REPLACE);
    CHECK_STR(ct_flow_end_name(r.end_reason), "ct-replace");
    CHECK_STR(ct_zeek_state_name(99), "-");
    ct_flowlog_destroy(fl);
    ct_flowlog_destroy(NULL);
}

/* ---- the corpus ----------------------------------------------------------------- */

struct corpus_case {
    const char *pcap;
    const char *log;
    unsigned flags;
    int check_csum;
};

static const struct corpus_case cases[] = {
    {"zeek/tcp/missing-syn.pcap", "zeek/tcp/missing-syn.expected.core.tcp.missing-syn.conn.log", 0,
     0},
    {"zeek/tcp/http-on-irc-port-missing-syn.pcapng",
     "zeek/tcp/http-on-irc-port-missing-syn.expected.core.tcp.flip-without-syn.conn.log", 0, 0},
    {"zeek/http/get.pcap", "zeek/http/get.expected.core.tcp.reassembly-known-ports.conn.log", 0, 0},
    {"zeek/tcp-http-with-padding.pcap",
     "zeek/tcp-http-with-padding.expected.core.tcp-padding.conn.log", 0, 0},
    {"zeek/tcp/miss_end_data.pcap",
     "zeek/tcp/miss_end_data.expected.core.tcp.miss-end-data.conn.log",
     CT_FLOWLOG_F_REPORT_GAPS_FOR_PARTIAL, 0},
    {"zeek/tcp/retransmit-fast009.pcap",
     "zeek/tcp/retransmit-fast009.expected.core.tcp.rxmit-history.conn-1.log", 0, 0},
    {"zeek/tcp/retransmit-timeout.pcapng",
     "zeek/tcp/retransmit-timeout.expected.core.expire-all-timers.conn-all.log", 0, 0},
    {"zeek/tcp/ctu-64702-888.pcap",
     "zeek/tcp/ctu-64702-888.expected.core.conn-size-flip.conn.log.ctu", 0, 0},
    {"zeek/tcp/one-sided-2745.pcap",
     "zeek/tcp/one-sided-2745.expected.core.conn-size-flip.conn.log.one-sided", 0, 0},
    {"zeek/tcp/syn-bad.pcap", "zeek/tcp/syn-bad.expected.core.tcp.bad-checksum-syn.conn.log", 0, 1},
    {"zeek/wikipedia.pcap", "zeek/wikipedia.expected.core.tcp.rxmit-history.conn-2.log", 0, 0},
    {"zeek/q-in-q.pcap", "zeek/q-in-q.expected.core.q-in-q.conn.log", 0, 0},
    {"zeek/mixed-vlan-mpls.pcap", "zeek/mixed-vlan-mpls.expected.core.vlan-mpls.conn.log", 0, 0},
    {"zeek/vlan-collisions.pcap",
     "zeek/vlan-collisions.expected.scripts.policy.frameworks.conn_key.vlan_fivetuple.conn.log.cut",
     0, 0},
    {"zeek/tunnels/Teredo.pcap", "zeek/tunnels/Teredo.expected.core.tunnels.teredo.conn.log", 0, 0},
};

/* Rows of Zeek's expected logs that the replay must reproduce (flows inside
   tunnels are left out: this replay does not decapsulate). */
static void test_corpus(void)
{
    char dir[1024], pcap[1400], log[1400];
    corpus_dir(dir, sizeof(dir));
    static struct replay r;
    unsigned total = 0;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(pcap, sizeof(pcap), "%s/%s", dir, cases[i].pcap);
        snprintf(log, sizeof(log), "%s/%s", dir, cases[i].log);
        memset(&r, 0, sizeof(r));
        if (rp_run(&r, pcap, cases[i].flags, cases[i].check_csum) != 0) {
            printf("test_corpus: %s not found, skipped\n", pcap);
            continue;
        }
        unsigned rows = 0;
        unsigned bad = rp_compare(&r, log, &rows);
        CHECK_EQ_U(bad, 0);
        CHECK(rows > 0);
        total += rows;
    }
    printf("test_corpus: %u expected rows reproduced\n", total);
}

/* Zeek's conn_state-RST-behavior test prints "history, conn_state" for four
   captures; line N of the .out file belongs to the Nth capture. */
static void test_corpus_rst(void)
{
    static const char *const pcaps[] = {"single-rst.pcap", "syn-then-rst.pcap",
                                        "syn-then-ack-then-rst.pcap",
                                        "syn-then-stuff-then-rst.pcap"};
    char dir[1024], path[1400], line[256];
    corpus_dir(dir, sizeof(dir));
    snprintf(
        path, sizeof(path),
        "%s/zeek/tcp/single-rst.expected.scripts.base.protocols.conn.conn_state-RST-behavior.out",
        dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("test_corpus_rst: %s not found, skipped\n", path);
        return;
    }
    static struct replay r;
    unsigned i = 0;
    while (fgets(line, sizeof(line), f) && i < 4) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        snprintf(path, sizeof(path), "%s/zeek/tcp/%s", dir, pcaps[i]);
        memset(&r, 0, sizeof(r));
        CHECK_EQ_I(rp_run(&r, path, 0, 0), 0);
        CHECK_EQ_U(r.n_recs, 1);
        char got[128];
        snprintf(got, sizeof(got), "%s, %s", r.recs[0].history,
                 ct_zeek_state_name(r.recs[0].conn_state));
        CHECK_STR(got, line);
        i++;
    }
    fclose(f);
    CHECK_EQ_U(i, 4);
}

int main(void)
{
    RUN(test_conn_states);
    RUN(test_rst_behaviour);
    RUN(test_flip);
    RUN(test_bytes_retransmission);
    RUN(test_bytes_gap);
    RUN(test_bytes_wrap);
    RUN(test_repetition_rule);
    RUN(test_udp);
    RUN(test_icmp);
    RUN(test_zeek_timers);
    RUN(test_header_and_line);
    RUN(test_api_errors);
    RUN(test_corpus);
    RUN(test_corpus_rst);
    return check_summary();
}
