/*
 * Tests of the helpers and their expectations (src/helper/): the FTP parser
 * on every command and reply form and on malformed input, the TFTP request
 * test, and FTP and TFTP sessions built as frames and driven through
 * ct_process_burst() on a table whose template names the helper: RELATED
 * data connections with their master, the address check, the newline rule
 * for split commands, per-master and table limits, expiry, and
 * expectations ending with their master.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "check.h"
#include "ctrack/ctrack.h"
#include "ctrack/helper.h"
#include "ctrack/template.h"
#include "helper/helper.h"
#include "support/frames.h"
#include "support/table_fixture.h"

#define SEC 1000000000ull

/* ---- the FTP parser ------------------------------------------------------------- */

/* An IPv4 address in network order, as struct ct_tuple holds it. */
static uint32_t v4(uint32_t host)
{
    uint8_t b[4];
    uint32_t r;
    put_be32(b, host);
    memcpy(&r, b, 4);
    return r;
}

static int ftp(const char *s, unsigned dir, uint8_t l3, struct ct_ftp_cmd *cmd)
{
    return ct_helper_ftp_parse((const uint8_t *)s, strlen(s), dir, l3, cmd);
}

static void test_ftp_port(void)
{
    struct ct_ftp_cmd c;
    CHECK_EQ_I(ftp("PORT 192,0,2,1,200,10\r\n", CT_DIR_ORIGINAL, CT_L3_IPV4, &c), 1);
    CHECK_EQ_U(c.kind, CT_FTP_PORT);
    CHECK_EQ_U(c.has_addr, 1);
    CHECK_EQ_U(c.addr.v4, v4(IPV4_ADDR(192, 0, 2, 1)));
    CHECK_EQ_U(c.port, 200 * 256 + 10);
    CHECK_EQ_U(c.num_off, 5);
    CHECK_EQ_U(c.num_len, 16);
    /* Case does not matter; extra spaces before the numbers are skipped
     * only up to the first space. */
    CHECK_EQ_I(ftp("port 10,1,2,3,0,21\r\n", CT_DIR_ORIGINAL, CT_L3_IPV4, &c), 1);
    CHECK_EQ_U(c.port, 21);
    CHECK_EQ_I(ftp("PORT  10,1,2,3,0,21\r\n", CT_DIR_ORIGINAL, CT_L3_IPV4, &c), -1);
    /* A command in the wrong direction, or another command, is nothing. */
    CHECK_EQ_I(ftp("PORT 10,1,2,3,0,21\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), 0);
    CHECK_EQ_I(ftp("LIST\r\n", CT_DIR_ORIGINAL, CT_L3_IPV4, &c), 0);
    CHECK_EQ_I(ftp("PASV\r\n", CT_DIR_ORIGINAL, CT_L3_IPV4, &c), 0);
    /* A PORT on an IPv6 connection announces nothing trackable. */
    CHECK_EQ_I(ftp("PORT 10,1,2,3,0,21\r\n", CT_DIR_ORIGINAL, CT_L3_IPV6, &c), 0);
}

static void test_ftp_port_malformed(void)
{
    struct ct_ftp_cmd c;
    static const char *const bad[] = {
        "PORT 10,1,2,3,0,21\n",      /* not ended by CR */
        "PORT 10,1,2,3,0,21",        /* cut short */
        "PORT 10,1,2,3,0\r\n",       /* five numbers */
        "PORT 10,1,2,3,0,21,5\r\n",  /* seven */
        "PORT 10,1,2,256,0,21\r\n",  /* above 255 */
        "PORT 10,1,,3,0,21\r\n",     /* empty number */
        "PORT 10,1,2,3,0,0\r\n",     /* port 0 */
        "PORT 10.1.2.3,0,21\r\n",    /* wrong separator */
        "PORT",                      /* no space */
        "POR",                       /* partial name */
        "P",
        "PORTX",                     /* no space before the end */
    };
    for (unsigned i = 0; i < (unsigned)CT_ARRAY_SIZE(bad); i++)
        CHECK_EQ_I(ftp(bad[i], CT_DIR_ORIGINAL, CT_L3_IPV4, &c), -1);
}

static void test_ftp_eprt(void)
{
    struct ct_ftp_cmd c;
    CHECK_EQ_I(ftp("EPRT |1|192.0.2.7|6275|\r\n", CT_DIR_ORIGINAL, CT_L3_IPV4, &c), 1);
    CHECK_EQ_U(c.kind, CT_FTP_EPRT);
    CHECK_EQ_U(c.addr.v4, v4(IPV4_ADDR(192, 0, 2, 7)));
    CHECK_EQ_U(c.port, 6275);
    static const uint8_t a6[16] = IPV6_DOC_ADDR(1);
    CHECK_EQ_I(ftp("eprt !2!2001:db8::1!6275!\r\n", CT_DIR_ORIGINAL, CT_L3_IPV6, &c), 1);
    CHECK(memcmp(c.addr.b, a6, 16) == 0);
    CHECK_EQ_U(c.port, 6275);
    /* The family must be the connection's. */
    CHECK_EQ_I(ftp("EPRT |2|2001:db8::1|6275|\r\n", CT_DIR_ORIGINAL, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("EPRT |1|192.0.2.7|6275|\r\n", CT_DIR_ORIGINAL, CT_L3_IPV6, &c), -1);
    static const char *const bad[] = {
        "EPRT |1|192.0.2.7|6275\r\n", /* no closing delimiter */
        "EPRT |1|192.0.2|6275|\r\n",  /* three numbers */
        "EPRT |1|192.0.2.300|1|\r\n", /* above 255 */
        "EPRT 1|1|192.0.2.7|6275|\r\n", /* digit delimiter */
        "EPRT |1!192.0.2.7|6275|\r\n", /* delimiters differ */
        "EPRT |3|192.0.2.7|6275|\r\n", /* unknown family */
        "EPRT |1|192.0.2.7|0|\r\n",   /* port 0 */
        "EPRT |1|192.0.2.7|70000|\r\n", /* port above 65535 */
        "EPRT |1|192.0.2.7||\r\n",    /* no port */
        "EPRT |1||6275|\r\n",         /* no address */
        "EPRT |1|",                   /* cut short */
        "EPRT",
    };
    for (unsigned i = 0; i < (unsigned)CT_ARRAY_SIZE(bad); i++)
        CHECK_EQ_I(ftp(bad[i], CT_DIR_ORIGINAL, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("EPRT |2|2001:db8::g|6275|\r\n", CT_DIR_ORIGINAL, CT_L3_IPV6, &c), -1);
    CHECK_EQ_I(ftp("EPRT |2|2001:db8:0:0:0:0:0:0:1|1|\r\n", CT_DIR_ORIGINAL, CT_L3_IPV6, &c), -1);
}

static void test_ftp_pasv(void)
{
    struct ct_ftp_cmd c;
    CHECK_EQ_I(ftp("227 Entering Passive Mode (192,0,2,9,19,137).\r\n", CT_DIR_REPLY, CT_L3_IPV4,
                   &c),
               1);
    CHECK_EQ_U(c.kind, CT_FTP_PASV);
    CHECK_EQ_U(c.addr.v4, v4(IPV4_ADDR(192, 0, 2, 9)));
    CHECK_EQ_U(c.port, 19 * 256 + 137);
    /* RFC 1123: without parentheses, from the first digit. */
    CHECK_EQ_I(ftp("227 =192,0,2,9,4,1\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), 1);
    CHECK_EQ_U(c.port, 1025);
    CHECK_EQ_I(ftp("227 ok 192,0,2,9,4,1", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("227 Entering Passive Mode\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("227 (192,0,2,9,4)\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("22", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("227", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("226 Transfer complete\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), 0);
    CHECK_EQ_I(ftp("200 PORT ok\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), 0);
}

static void test_ftp_epsv(void)
{
    struct ct_ftp_cmd c;
    CHECK_EQ_I(ftp("229 Entering Extended Passive Mode (|||6446|)\r\n", CT_DIR_REPLY, CT_L3_IPV6,
                   &c),
               1);
    CHECK_EQ_U(c.kind, CT_FTP_EPSV);
    CHECK_EQ_U(c.has_addr, 0);
    CHECK_EQ_U(c.port, 6446);
    CHECK_EQ_I(ftp("229 ok (!!!1!)\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), 1);
    CHECK_EQ_U(c.port, 1);
    CHECK_EQ_I(ftp("229 ok (|||0|)\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("229 ok (||6446|)\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("229 ok (|||6446)\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
    CHECK_EQ_I(ftp("229 ok no paren\r\n", CT_DIR_REPLY, CT_L3_IPV4, &c), -1);
}

/* Every prefix and every single-byte change of valid lines: never a crash
 * (ASan checks the reads), and a result in {-1, 0, 1}. */
static void test_ftp_mutations(void)
{
    static const char *const lines[] = {
        "PORT 192,0,2,1,200,10\r\n", "EPRT |2|2001:db8::1|6275|\r\n",
        "227 Entering Passive Mode (192,0,2,9,19,137).\r\n", "229 x (|||6446|)\r\n",
    };
    uint8_t buf[64];
    struct ct_ftp_cmd c;
    for (unsigned l = 0; l < (unsigned)CT_ARRAY_SIZE(lines); l++) {
        size_t n = strlen(lines[l]);
        for (size_t cut = 0; cut <= n; cut++)
            for (unsigned dir = 0; dir < 2; dir++)
                for (uint8_t l3 = CT_L3_IPV4; l3 <= CT_L3_IPV6; l3++) {
                    int r = ct_helper_ftp_parse((const uint8_t *)lines[l], cut, dir, l3, &c);
                    CHECK(r >= -1 && r <= 1);
                }
        for (size_t pos = 0; pos < n; pos++)
            for (unsigned v = 0; v < 256; v += 7) {
                memcpy(buf, lines[l], n);
                buf[pos] = (uint8_t)v;
                for (unsigned dir = 0; dir < 2; dir++) {
                    int r = ct_helper_ftp_parse(buf, n, dir, l < 1 || l == 2 ? CT_L3_IPV4
                                                                            : CT_L3_IPV6, &c);
                    CHECK(r >= -1 && r <= 1);
                }
            }
    }
}

static void test_tftp_request(void)
{
    static const uint8_t rrq[] = {0, 1, 'f', 0, 'o', 'c', 't', 'e', 't', 0};
    static const uint8_t wrq[] = {0, 2, 'f', 0};
    static const uint8_t data[] = {0, 3, 0, 1};
    static const uint8_t ack[] = {0, 4, 0, 1};
    CHECK_EQ_I(ct_helper_tftp_is_request(rrq, sizeof(rrq)), 1);
    CHECK_EQ_I(ct_helper_tftp_is_request(wrq, sizeof(wrq)), 1);
    CHECK_EQ_I(ct_helper_tftp_is_request(data, sizeof(data)), 0);
    CHECK_EQ_I(ct_helper_tftp_is_request(ack, sizeof(ack)), 0);
    CHECK_EQ_I(ct_helper_tftp_is_request(rrq, 1), 0);
    CHECK_EQ_I(ct_helper_tftp_is_request(NULL, 4), 0);
}

/* ---- sessions through the packet path ------------------------------------------ */

/* One endpoint of a session: its address and the next sequence number it sends. */
struct ep {
    uint8_t addr[16];
    uint16_t port;
    uint32_t seq;
};

struct sess {
    struct ct_table *t;
    int v6;
    uint8_t tmpl;
    struct ep cli, srv;
    uint64_t now;
};

/* Builds one raw-IP frame from a to b and runs it; returns the verdict. */
static struct ct_verdict send_pkt(struct sess *s, const struct ep *a, const struct ep *b,
                                  uint8_t proto, uint16_t sport, uint16_t dport, uint8_t flags,
                                  uint32_t seq, uint32_t ack, const void *pl, size_t plen)
{
    uint8_t l4[1600], frame[1700];
    size_t hl;
    if (proto == CT_IPPROTO_TCP)
        hl = tcp_header(l4, sport, dport, seq, ack, flags, 65535, NULL, 0);
    else
        hl = udp_header(l4, sport, dport, plen);
    if (plen)
        memcpy(l4 + hl, pl, plen);
    size_t n;
    if (s->v6) {
        n = ipv6_packet(frame, proto, a->addr, b->addr, l4, hl + plen);
        ipv6_fill_transport_checksum(frame, 40, proto, NULL);
    } else {
        uint32_t as = get_be32(a->addr), bs = get_be32(b->addr);
        n = ipv4_packet(frame, proto, as, bs, 1, l4, hl + plen);
        ipv4_fill_transport_checksum(frame);
    }
    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = frame;
    f.len = (uint32_t)n;
    f.link = CT_LINK_RAW;
    f.tmpl = s->tmpl;
    struct ct_pkt p;
    struct ct_verdict v;
    s->now += SEC / 100;
    CHECK_EQ_I(ct_process_burst(s->t, &f, &p, &v, 1, s->now, CT_PROCESS_COMMIT), 1);
    return v;
}

/* A TCP segment of the control connection with payload text, from the
 * client (dir 0) or the server (dir 1); advances the sender's sequence. */
static struct ct_verdict ctl(struct sess *s, unsigned dir, const char *text)
{
    struct ep *a = dir ? &s->srv : &s->cli, *b = dir ? &s->cli : &s->srv;
    size_t n = strlen(text);
    struct ct_verdict v = send_pkt(s, a, b, CT_IPPROTO_TCP, a->port, b->port, 0x18, a->seq, b->seq,
                                   text, n);
    a->seq += (uint32_t)n;
    return v;
}

static struct ct_table *helper_table(uint8_t helper, uint8_t *tmpl, uint32_t max_expect)
{
    struct ct_table *t = mk_table(1024, 0);
    if (max_expect) {
        struct ct_helper_config hc;
        memset(&hc, 0, sizeof(hc));
        hc.max_expect = max_expect;
        CHECK_EQ_I(ct_helper_enable(t, &hc), 0);
    }
    struct ct_template x;
    memset(&x, 0, sizeof(x));
    x.flags = CT_TMPL_HELPER;
    x.helper = helper;
    int id = ct_template_add(t, &x);
    CHECK(id > 0);
    *tmpl = (uint8_t)id;
    return t;
}

static void ep_set(struct ep *e, int v6, uint8_t last, uint16_t port, uint32_t seq)
{
    memset(e, 0, sizeof(*e));
    if (v6) {
        static const uint8_t base[16] = IPV6_DOC_ADDR(0);
        memcpy(e->addr, base, 16);
        e->addr[15] = last;
    } else {
        put_be32(e->addr, IPV4_ADDR(192, 0, 2, last));
    }
    e->port = port;
    e->seq = seq;
}

/* A session with its handshake done and the greeting and first command
 * seen (Linux never reads the first segment of a direction). */
static struct ct_conn *ftp_open(struct sess *s, int v6, uint32_t max_expect)
{
    memset(s, 0, sizeof(*s));
    s->t = helper_table(CT_HELPER_FTP, &s->tmpl, max_expect);
    s->v6 = v6;
    s->now = 100 * SEC;
    ep_set(&s->cli, v6, 1, 40000, 1000);
    ep_set(&s->srv, v6, 2, 21, 5000);
    struct ct_verdict v = send_pkt(s, &s->cli, &s->srv, CT_IPPROTO_TCP, 40000, 21, 0x02, 999, 0,
                                   NULL, 0);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    struct ct_conn *c = v.conn;
    CHECK_PTR(c);
    v = send_pkt(s, &s->srv, &s->cli, CT_IPPROTO_TCP, 21, 40000, 0x12, 4999, 1000, NULL, 0);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    v = send_pkt(s, &s->cli, &s->srv, CT_IPPROTO_TCP, 40000, 21, 0x10, 1000, 5000, NULL, 0);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(ctl(s, 1, "220 ready\r\n").state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(ctl(s, 0, "USER anonymous\r\n").state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(ctl(s, 1, "331 password\r\n").flags, 0);
    struct ct_conn_info i;
    CHECK_EQ_I(ct_conn_get_info(s->t, c, &i), 0);
    CHECK_EQ_U(i.helper, CT_HELPER_FTP);
    CHECK(i.status & CT_STATUS_HELPER);
    return c;
}

static int count_one(const struct ct_expect_info *e, void *arg)
{
    (void)e;
    (*(unsigned *)arg)++;
    return 0;
}

/* The live expectations at `now`, counted by the listing and by the stats. */
static unsigned n_expect(struct ct_table *t, uint64_t now)
{
    unsigned n = 0;
    CHECK_EQ_I(ct_helper_expect_foreach(t, now, count_one, &n), (int)n);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(t, &st), 0);
    CHECK_EQ_U(st.expectations, n);
    return n;
}

static int grab_first(const struct ct_expect_info *e, void *arg)
{
    *(struct ct_expect_info *)arg = *e;
    return 1;
}

/* A data connection from `from` (any port) to `to`:port opened with a SYN. */
static struct ct_verdict data_syn(struct sess *s, const struct ep *from, const struct ep *to,
                                  uint16_t sport, uint16_t dport)
{
    return send_pkt(s, from, to, CT_IPPROTO_TCP, sport, dport, 0x02, 77, 0, NULL, 0);
}

static void check_related(struct sess *s, struct ct_verdict v, struct ct_conn *master)
{
    CHECK_EQ_U(v.state, CT_STATE_RELATED);
    CHECK_PTR(v.conn);
    CHECK(v.flags & CT_VERDICT_CREATED);
    struct ct_conn_info i, m;
    CHECK_EQ_I(ct_conn_get_info(s->t, v.conn, &i), 0);
    CHECK_EQ_I(ct_conn_get_info(s->t, master, &m), 0);
    CHECK(i.status & CT_STATUS_EXPECTED);
    CHECK(i.flags & CT_INFO_F_MASTER);
    CHECK(memcmp(&i.master, &m.tuple[CT_DIR_ORIGINAL], sizeof(i.master)) == 0);
    CHECK_EQ_U(i.helper, CT_HELPER_NONE);
    CHECK(!(m.flags & CT_INFO_F_MASTER));
}

static void test_ftp_active(int v6)
{
    struct sess s;
    struct ct_conn *c = ftp_open(&s, v6, 0);
    struct ct_verdict v = ctl(&s, 0, v6 ? "EPRT |2|2001:db8::1|50010|\r\n"
                                        : "PORT 192,0,2,1,195,90\r\n");
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK_EQ_U(v.flags, 0);
    uint16_t port = v6 ? 50010 : 195 * 256 + 90;
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    struct ct_expect_info e;
    CHECK_EQ_I(ct_helper_expect_foreach(s.t, s.now, grab_first, &e), 1);
    CHECK(memcmp(e.tuple.src.b, s.srv.addr, v6 ? 16 : 4) == 0);
    CHECK(memcmp(e.tuple.dst.b, s.cli.addr, v6 ? 16 : 4) == 0);
    CHECK_EQ_U(e.tuple.sport, 0);
    CHECK_EQ_U(e.tuple.dport, port);
    CHECK_EQ_U(e.flags, CT_EXPECT_F_SPORT_ANY);
    CHECK_EQ_U(e.helper, CT_HELPER_FTP);
    CHECK_EQ_U(e.expires, s.now + 300 * SEC);
    CHECK_EQ_U(ctl(&s, 1, "200 PORT ok\r\n").flags, 0);
    /* A connection to another port is NEW; the announced one RELATED, from
     * any source port, and it uses the expectation up. */
    CHECK_EQ_U(data_syn(&s, &s.srv, &s.cli, 20, port + 1).state, CT_STATE_NEW);
    v = data_syn(&s, &s.srv, &s.cli, 20, port);
    check_related(&s, v, c);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    /* Its later original-direction packets stay RELATED until a reply. */
    CHECK_EQ_U(data_syn(&s, &s.srv, &s.cli, 20, port).state, CT_STATE_RELATED);
    struct ct_verdict r = send_pkt(&s, &s.cli, &s.srv, CT_IPPROTO_TCP, port, 20, 0x12, 500, 78,
                                   NULL, 0);
    CHECK_EQ_U(r.state, CT_STATE_ESTABLISHED);
    CHECK(r.conn == v.conn);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(s.t, &st), 0);
    CHECK_EQ_U(st.expect_created, 1);
    CHECK_EQ_U(st.expect_matched, 1);
    ct_table_destroy(s.t);
}

static void test_ftp_active_v4(void)
{
    test_ftp_active(0);
}

static void test_ftp_active_v6(void)
{
    test_ftp_active(1);
}

static void test_ftp_passive(int v6)
{
    struct sess s;
    struct ct_conn *c = ftp_open(&s, v6, 0);
    CHECK_EQ_U(ctl(&s, 0, v6 ? "EPSV\r\n" : "PASV\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    struct ct_verdict v = ctl(&s, 1, v6 ? "229 Entering Extended Passive Mode (|||40123|)\r\n"
                                        : "227 Entering Passive Mode (192,0,2,2,156,187).\r\n");
    CHECK_EQ_U(v.flags, 0);
    uint16_t port = v6 ? 40123 : 156 * 256 + 187;
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    v = data_syn(&s, &s.cli, &s.srv, 40001, port);
    check_related(&s, v, c);
    ct_table_destroy(s.t);
}

static void test_ftp_passive_v4(void)
{
    test_ftp_passive(0);
}

static void test_ftp_passive_v6(void)
{
    test_ftp_passive(1);
}

/* A 229 reply on IPv4 and an EPRT |1| work the same way. */
static void test_ftp_extended_v4(void)
{
    struct sess s;
    struct ct_conn *c = ftp_open(&s, 0, 0);
    CHECK_EQ_U(ctl(&s, 1, "229 Entering Extended Passive Mode (|||2121|)\r\n").flags, 0);
    check_related(&s, data_syn(&s, &s.cli, &s.srv, 40002, 2121), c);
    CHECK_EQ_U(ctl(&s, 0, "EPRT |1|192.0.2.1|2122|\r\n").flags, 0);
    check_related(&s, data_syn(&s, &s.srv, &s.cli, 20, 2122), c);
    ct_table_destroy(s.t);
}

/* Linux's loose=0: an address other than the sender's expects nothing, and
 * the packet passes. */
static void test_ftp_other_address(void)
{
    struct sess s;
    ftp_open(&s, 0, 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,99,4,1\r\n").flags, 0);
    CHECK_EQ_U(ctl(&s, 1, "227 Entering Passive Mode (10,0,0,1,4,2)\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    CHECK_EQ_U(data_syn(&s, &s.srv, &s.cli, 20, 1025).state, CT_STATE_NEW);
    ct_table_destroy(s.t);
}

/* Malformed and partial commands: the packet is flagged for dropping, no
 * expectation is made, the connection stays as it was. */
static void test_ftp_malformed_drop(void)
{
    struct sess s;
    struct ct_conn *c = ftp_open(&s, 0, 0);
    struct ct_verdict v = ctl(&s, 0, "PORT 192,0,2,1,4\r\n");
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK(v.conn == c);
    CHECK_EQ_U(v.flags, CT_VERDICT_DROP);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(s.t, &st), 0);
    CHECK_EQ_U(st.parse_drops, 1);
    /* The dropped segment did not count as a newline: Linux would see the
     * retransmission at the same sequence number. */
    s.cli.seq -= (uint32_t)strlen("PORT 192,0,2,1,4\r\n");
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    ct_table_destroy(s.t);
}

/*
 * A command split over two segments: Linux only reads a segment that
 * starts right after a newline, so the first half ("PO") is a partial
 * match (dropped) and the second half is never read; nothing is expected.
 * A segment that does not start after a newline is ignored entirely.
 */
static void test_ftp_split(void)
{
    struct sess s;
    ftp_open(&s, 0, 0);
    CHECK_EQ_U(ctl(&s, 0, "NOOP").flags, 0);
    CHECK_EQ_U(ctl(&s, 0, "\r\nPORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    /* After that newline, a whole command is read again. */
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    /* A split PORT: the first part is a partial match. */
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2").flags, CT_VERDICT_DROP);
    ct_table_destroy(s.t);
}

/* Before the handshake completes nothing is read; nor on the first
 * segment of a direction. */
static void test_ftp_needs_established(void)
{
    struct sess s;
    memset(&s, 0, sizeof(s));
    s.t = helper_table(CT_HELPER_FTP, &s.tmpl, 0);
    s.now = SEC;
    ep_set(&s.cli, 0, 1, 40000, 1000);
    ep_set(&s.srv, 0, 2, 21, 5000);
    CHECK_EQ_U(send_pkt(&s, &s.cli, &s.srv, CT_IPPROTO_TCP, 40000, 21, 0x02, 999, 0, NULL, 0).state,
               CT_STATE_NEW);
    send_pkt(&s, &s.srv, &s.cli, CT_IPPROTO_TCP, 21, 40000, 0x12, 4999, 1000, NULL, 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    ct_table_destroy(s.t);
}

/* One expectation per master (Linux's max_expected 1): a second PORT
 * evicts the first; announcing the same one again replaces it. */
static void test_ftp_per_master_limit(void)
{
    struct sess s;
    struct ct_conn *c = ftp_open(&s, 0, 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,2\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,2\r\n").flags, 0);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(s.t, &st), 0);
    CHECK_EQ_U(st.expectations, 1);
    CHECK_EQ_U(st.expect_evicted, 1);
    CHECK_EQ_U(st.expect_created, 3);
    CHECK_EQ_U(data_syn(&s, &s.srv, &s.cli, 20, 1025).state, CT_STATE_NEW);
    check_related(&s, data_syn(&s, &s.srv, &s.cli, 20, 1026), c);
    ct_table_destroy(s.t);
}

/* Expectations expire after 300 s. */
static void test_ftp_expiry(void)
{
    struct sess s;
    ftp_open(&s, 0, 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now + 300 * SEC - 1), 1);
    s.now += 300 * SEC;
    CHECK_EQ_U(data_syn(&s, &s.srv, &s.cli, 20, 1025).state, CT_STATE_NEW);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(s.t, &st), 0);
    CHECK_EQ_U(st.expectations, 0);
    CHECK_EQ_U(st.expect_expired, 1);
    ct_table_destroy(s.t);
}

/* The master's end takes its expectations: here it is flushed. */
static void test_ftp_master_death(void)
{
    struct sess s;
    ftp_open(&s, 0, 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    CHECK_EQ_I(ct_table_flush(s.t, NULL, s.now), 1);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(s.t, &st), 0);
    CHECK_EQ_U(st.expectations, 0);
    CHECK_EQ_U(st.expect_master, 1);
    CHECK_EQ_U(data_syn(&s, &s.srv, &s.cli, 20, 1025).state, CT_STATE_NEW);
    ct_table_destroy(s.t);
}

/* The table's bound: with room for one expectation, a second master's is
 * refused (the packet dropped), and room comes back when the first is used. */
static void test_table_limit(void)
{
    struct sess s;
    struct ct_conn *c = ftp_open(&s, 0, 1);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    /* A second control connection from another client port. */
    struct sess s2 = s;
    s2.cli.port = 40001;
    s2.cli.seq = 1000;
    s2.srv.seq = 5000;
    send_pkt(&s2, &s2.cli, &s2.srv, CT_IPPROTO_TCP, 40001, 21, 0x02, 999, 0, NULL, 0);
    send_pkt(&s2, &s2.srv, &s2.cli, CT_IPPROTO_TCP, 21, 40001, 0x12, 4999, 1000, NULL, 0);
    ctl(&s2, 1, "220 ready\r\n");
    ctl(&s2, 0, "USER a\r\n");
    CHECK_EQ_U(ctl(&s2, 0, "PORT 192,0,2,1,4,2\r\n").flags, CT_VERDICT_DROP);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(s.t, &st), 0);
    CHECK_EQ_U(st.expect_refused, 1);
    CHECK_EQ_U(st.max_expect, 1);
    s.now = s2.now;
    check_related(&s, data_syn(&s, &s.srv, &s.cli, 20, 1025), c);
    s2.now = s.now;
    CHECK_EQ_U(ctl(&s2, 0, "PORT 192,0,2,1,4,2\r\n").flags, 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    ct_table_destroy(s.t);
}

/* Many masters on a table bounded at 64: the first 64 expectations fit,
 * the rest are refused; each matches only its own data connection; once
 * they expire, the slots serve again. */
static void test_many_masters(void)
{
    struct sess s;
    ftp_open(&s, 0, 64);
    ct_table_destroy(s.t);
    s.t = helper_table(CT_HELPER_FTP, &s.tmpl, 64);
    struct sess m[100];
    for (unsigned k = 0; k < 100; k++) {
        m[k] = s;
        m[k].cli.port = (uint16_t)(30000 + k);
        m[k].cli.seq = 1000;
        m[k].srv.seq = 5000;
        m[k].now = s.now + k;
        send_pkt(&m[k], &m[k].cli, &m[k].srv, CT_IPPROTO_TCP, m[k].cli.port, 21, 0x02, 999, 0,
                 NULL, 0);
        send_pkt(&m[k], &m[k].srv, &m[k].cli, CT_IPPROTO_TCP, 21, m[k].cli.port, 0x12, 4999, 1000,
                 NULL, 0);
        ctl(&m[k], 1, "220 ready\r\n");
        ctl(&m[k], 0, "USER a\r\n");
        char cmd[64];
        unsigned port = 10000 + k;
        snprintf(cmd, sizeof(cmd), "PORT 192,0,2,1,%u,%u\r\n", port >> 8, port & 255);
        CHECK_EQ_U(ctl(&m[k], 0, cmd).flags, k < 64 ? 0 : CT_VERDICT_DROP);
    }
    s.now = m[99].now;
    CHECK_EQ_U(n_expect(s.t, s.now), 64);
    for (unsigned k = 0; k < 100; k += 9) {
        struct ct_verdict v = data_syn(&s, &s.srv, &s.cli, 20, (uint16_t)(10000 + k));
        CHECK_EQ_U(v.state, k < 64 ? CT_STATE_RELATED : CT_STATE_NEW);
    }
    CHECK_EQ_U(n_expect(s.t, s.now), 64 - 8);
    s.now += 301 * SEC;
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(s.t, &st), 0);
    CHECK_EQ_U(st.expect_refused, 36);
    CHECK_EQ_U(st.expect_matched, 8);
    CHECK_EQ_U(st.expect_expired, 56);
    ct_table_destroy(s.t);
}

/* Without the template's helper nothing is read: no port-based assignment. */
static void test_no_helper_without_template(void)
{
    struct sess s;
    ftp_open(&s, 0, 0);
    struct sess p = s;
    p.tmpl = 0;
    p.cli.port = 40005;
    p.cli.seq = 1000;
    p.srv.seq = 5000;
    struct ct_verdict v =
        send_pkt(&p, &p.cli, &p.srv, CT_IPPROTO_TCP, 40005, 21, 0x02, 999, 0, NULL, 0);
    struct ct_conn_info i;
    CHECK_EQ_I(ct_conn_get_info(p.t, v.conn, &i), 0);
    CHECK_EQ_U(i.helper, CT_HELPER_NONE);
    CHECK(!(i.status & CT_STATUS_HELPER));
    send_pkt(&p, &p.srv, &p.cli, CT_IPPROTO_TCP, 21, 40005, 0x12, 4999, 1000, NULL, 0);
    ctl(&p, 1, "220 ready\r\n");
    ctl(&p, 0, "USER a\r\n");
    CHECK_EQ_U(ctl(&p, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    CHECK_EQ_U(n_expect(p.t, p.now), 0);
    ct_table_destroy(s.t);
}

/* TFTP: a read request expects the server's reply from any port to the
 * client's port; the reply is RELATED with the request as its master. */
static void test_tftp(int v6)
{
    struct sess s;
    memset(&s, 0, sizeof(s));
    s.t = helper_table(CT_HELPER_TFTP, &s.tmpl, 0);
    s.v6 = v6;
    s.now = SEC;
    ep_set(&s.cli, v6, 1, 33000, 0);
    ep_set(&s.srv, v6, 2, 69, 0);
    static const uint8_t rrq[] = {0, 1, 'b', 'o', 'o', 't', 0, 'o', 'c', 't', 'e', 't', 0};
    struct ct_verdict v = send_pkt(&s, &s.cli, &s.srv, CT_IPPROTO_UDP, 33000, 69, 0, 0, 0, rrq,
                                   sizeof(rrq));
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags, CT_VERDICT_CREATED);
    struct ct_conn *m = v.conn;
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    struct ct_expect_info e;
    CHECK_EQ_I(ct_helper_expect_foreach(s.t, s.now, grab_first, &e), 1);
    CHECK_EQ_U(e.tuple.proto, CT_IPPROTO_UDP);
    CHECK_EQ_U(e.tuple.dport, 33000);
    CHECK_EQ_U(e.helper, CT_HELPER_TFTP);
    /* A retransmitted request replaces the expectation. */
    send_pkt(&s, &s.cli, &s.srv, CT_IPPROTO_UDP, 33000, 69, 0, 0, 0, rrq, sizeof(rrq));
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    static const uint8_t data[] = {0, 3, 0, 1, 'x'};
    v = send_pkt(&s, &s.srv, &s.cli, CT_IPPROTO_UDP, 51515, 33000, 0, 0, 0, data, sizeof(data));
    check_related(&s, v, m);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    /* The client's ACK is the reply direction of the data connection. */
    static const uint8_t ack[] = {0, 4, 0, 1};
    struct ct_verdict a = send_pkt(&s, &s.cli, &s.srv, CT_IPPROTO_UDP, 33000, 51515, 0, 0, 0, ack,
                                   sizeof(ack));
    CHECK(a.conn == v.conn);
    CHECK_EQ_U(a.state, CT_STATE_ESTABLISHED);
    ct_table_destroy(s.t);
}

static void test_tftp_v4(void)
{
    test_tftp(0);
}

static void test_tftp_v6(void)
{
    test_tftp(1);
}

/* The rules' seam: a helper set on a NEW connection after the lookup runs
 * on the packet that created it; a connection that has a helper keeps it,
 * and an expected connection may get one (as nft's ct helper object). */
static void test_conn_start(void)
{
    struct sess s;
    memset(&s, 0, sizeof(s));
    s.t = mk_table(1024, 0);
    CHECK_EQ_I(ct_helper_enable(s.t, NULL), 0);
    s.now = SEC;
    ep_set(&s.cli, 0, 1, 33000, 0);
    ep_set(&s.srv, 0, 2, 69, 0);
    static const uint8_t rrq[] = {0, 2, 'f', 0, 'o', 'c', 't', 'e', 't', 0};
    uint8_t l4[64], frame[128];
    size_t hl = udp_header(l4, 33000, 69, sizeof(rrq));
    memcpy(l4 + hl, rrq, sizeof(rrq));
    size_t n = ipv4_packet(frame, 17, IPV4_ADDR(192, 0, 2, 1), IPV4_ADDR(192, 0, 2, 2), 1, l4,
                           hl + sizeof(rrq));
    ipv4_fill_transport_checksum(frame);
    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = frame;
    f.len = (uint32_t)n;
    f.link = CT_LINK_RAW;
    struct ct_pkt p;
    struct ct_verdict v;
    CHECK_EQ_I(ct_process_burst(s.t, &f, &p, &v, 1, s.now, CT_PROCESS_COMMIT), 1);
    CHECK_EQ_U(n_expect(s.t, s.now), 0);
    CHECK_EQ_U(ct_helper_conn_start(s.t, v.conn, CT_HELPER_TFTP, &p, CT_DIR_ORIGINAL, s.now), 0);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    struct ct_conn_info i;
    CHECK_EQ_I(ct_conn_get_info(s.t, v.conn, &i), 0);
    CHECK_EQ_U(i.helper, CT_HELPER_TFTP);
    /* A second start changes nothing. */
    CHECK_EQ_U(ct_helper_conn_start(s.t, v.conn, CT_HELPER_FTP, &p, CT_DIR_ORIGINAL, s.now), 0);
    CHECK_EQ_I(ct_conn_get_info(s.t, v.conn, &i), 0);
    CHECK_EQ_U(i.helper, CT_HELPER_TFTP);
    /* The reply's connection is expected and has no helper of its own,
     * unless one is set for it. */
    static const uint8_t data[] = {0, 4, 0, 0};
    struct ct_verdict d = send_pkt(&s, &s.srv, &s.cli, CT_IPPROTO_UDP, 40404, 33000, 0, 0, 0, data,
                                   sizeof(data));
    CHECK_EQ_U(d.state, CT_STATE_RELATED);
    CHECK_EQ_I(ct_conn_get_info(s.t, d.conn, &i), 0);
    CHECK_EQ_U(i.helper, CT_HELPER_NONE);
    CHECK_EQ_U(ct_helper_conn_start(s.t, d.conn, CT_HELPER_TFTP, &p, CT_DIR_ORIGINAL, s.now), 0);
    CHECK_EQ_I(ct_conn_get_info(s.t, d.conn, &i), 0);
    CHECK_EQ_U(i.helper, CT_HELPER_TFTP);
    CHECK(i.flags & CT_INFO_F_MASTER);
    ct_table_destroy(s.t);
}

/* Uncommitted classification says RELATED without using the expectation. */
static void test_classify_related(void)
{
    struct sess s;
    ftp_open(&s, 0, 0);
    CHECK_EQ_U(ctl(&s, 0, "PORT 192,0,2,1,4,1\r\n").flags, 0);
    uint8_t l4[20], frame[64];
    size_t hl = tcp_header(l4, 20, 1025, 1, 0, 0x02, 1024, NULL, 0);
    size_t n = ipv4_packet(frame, 6, IPV4_ADDR(192, 0, 2, 2), IPV4_ADDR(192, 0, 2, 1), 1, l4, hl);
    ipv4_fill_transport_checksum(frame);
    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = frame;
    f.len = (uint32_t)n;
    f.link = CT_LINK_RAW;
    struct ct_pkt p;
    struct ct_verdict v;
    CHECK_EQ_I(ct_process_burst(s.t, &f, &p, &v, 1, s.now, 0), 1);
    CHECK_EQ_U(v.state, CT_STATE_RELATED);
    CHECK(v.conn == NULL);
    CHECK_EQ_U(n_expect(s.t, s.now), 1);
    ct_table_destroy(s.t);
}

static void test_enable_errors(void)
{
    CHECK_EQ_I(ct_helper_enable(NULL, NULL), -EINVAL);
    struct ct_table *t = mk_table(64, 0);
    struct ct_helper_config hc;
    memset(&hc, 0, sizeof(hc));
    hc.reserved[1] = 1;
    CHECK_EQ_I(ct_helper_enable(t, &hc), -EINVAL);
    struct ct_helper_stats st;
    CHECK_EQ_I(ct_helper_stats(t, &st), -ENOENT);
    CHECK_EQ_I(ct_helper_expect_foreach(t, 0, grab_first, NULL), 0);
    CHECK_EQ_I(ct_helper_expect_foreach(t, 0, NULL, NULL), -EINVAL);
    /* Once the table has created a connection it is too late. */
    uint8_t l4[8], frame[64];
    size_t hl = udp_header(l4, 1, 2, 0);
    size_t n = ipv4_packet(frame, 17, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, l4, hl);
    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = frame;
    f.len = (uint32_t)n;
    f.link = CT_LINK_RAW;
    struct ct_pkt p;
    struct ct_verdict v;
    CHECK_EQ_I(ct_process_burst(t, &f, &p, &v, 1, SEC, CT_PROCESS_COMMIT), 1);
    CHECK_EQ_I(ct_helper_enable(t, NULL), -EBUSY);
    ct_table_destroy(t);
    /* Default bound: 4 * max(max_connections / 256, 1). */
    t = mk_table(1024 * 256, 0);
    CHECK_EQ_I(ct_helper_enable(t, NULL), 0);
    CHECK_EQ_I(ct_helper_enable(t, NULL), 0);
    CHECK_EQ_I(ct_helper_stats(t, &st), 0);
    CHECK_EQ_U(st.max_expect, 4096);
    ct_table_destroy(t);
    t = mk_table(64, CT_TABLE_F_SHARED);
    CHECK_EQ_I(ct_helper_enable(t, NULL), -ENOTSUP);
    ct_table_destroy(t);
    CHECK_EQ_U(ct_helper_proto(CT_HELPER_FTP), 6);
    CHECK_EQ_U(ct_helper_proto(CT_HELPER_TFTP), 17);
    CHECK_EQ_U(ct_helper_proto(CT_HELPER_COUNT), 0);
}

int main(void)
{
    RUN(test_ftp_port);
    RUN(test_ftp_port_malformed);
    RUN(test_ftp_eprt);
    RUN(test_ftp_pasv);
    RUN(test_ftp_epsv);
    RUN(test_ftp_mutations);
    RUN(test_tftp_request);
    RUN(test_ftp_active_v4);
    RUN(test_ftp_active_v6);
    RUN(test_ftp_passive_v4);
    RUN(test_ftp_passive_v6);
    RUN(test_ftp_extended_v4);
    RUN(test_ftp_other_address);
    RUN(test_ftp_malformed_drop);
    RUN(test_ftp_split);
    RUN(test_ftp_needs_established);
    RUN(test_ftp_per_master_limit);
    RUN(test_ftp_expiry);
    RUN(test_ftp_master_death);
    RUN(test_table_limit);
    RUN(test_many_masters);
    RUN(test_no_helper_without_template);
    RUN(test_tftp_v4);
    RUN(test_tftp_v6);
    RUN(test_conn_start);
    RUN(test_classify_related);
    RUN(test_enable_errors);
    return check_summary();
}
