/*
 * Tests of the rule language (src/rules/, ctrack/rules.h): every match and
 * statement parsed and evaluated on parsed frames, the chains' order and
 * verdicts, every error message with its line and column, set lookups
 * against a linear reference, and a loop of mutated inputs that must load
 * or fail cleanly (run under ASan by `make test-asan`); and the rules
 * attached to a table, through the packet path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctrack/nat.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/rules.h"
#include "rules/rules.h"
#include "support/frames.h"
#include "support/table_fixture.h"

/* ---- packets ------------------------------------------------------------ */

struct frame {
    uint8_t b[256];
    struct ct_pkt pkt;
};

/* An Ethernet frame (with VLAN `vlan` if not 0) carrying IPv4 TCP or UDP
 * from src:sport to dst:dport, parsed; mark is the packet mark. */
static struct ct_pkt *mk4(struct frame *f, uint8_t proto, uint32_t src, uint16_t sport,
                           uint32_t dst, uint16_t dport, uint16_t vlan, uint32_t mark)
{
    uint8_t l4[64];
    size_t l4len = proto == 6 ? tcp_header(l4, sport, dport, 1, 0, CT_TCP_SYN, 1024, NULL, 0)
                              : udp_header(l4, sport, dport, 0);
    uint8_t ip[128];
    size_t iplen = ipv4_packet(ip, proto, src, dst, 1, l4, l4len);
    ipv4_fill_transport_checksum(ip);
    uint16_t tags[2] = {0x8100, vlan};
    size_t len = eth_frame(f->b, tags, vlan ? 1 : 0, 0x0800, ip, iplen);
    struct ct_frame fr = {.data = f->b, .len = (uint32_t)len, .link = CT_LINK_ETHERNET,
                          .mark = mark};
    ct_pkt_parse(&fr, &f->pkt);
    CHECK_EQ_U(f->pkt.reason, CT_REASON_NONE);
    return &f->pkt;
}

static struct ct_pkt *mk6(struct frame *f, uint8_t proto, uint8_t src_last, uint16_t sport,
                           uint8_t dst_last, uint16_t dport)
{
    uint8_t l4[64];
    size_t l4len = proto == 6 ? tcp_header(l4, sport, dport, 1, 0, CT_TCP_SYN, 1024, NULL, 0)
                              : udp_header(l4, sport, dport, 0);
    uint8_t ip[128];
    const uint8_t s[16] = IPV6_DOC_ADDR(src_last), d[16] = IPV6_DOC_ADDR(dst_last);
    size_t iplen = ipv6_packet(ip, proto, s, d, l4, l4len);
    ipv6_fill_transport_checksum(ip, 40, proto, NULL);
    size_t len = eth_frame(f->b, NULL, 0, 0x86dd, ip, iplen);
    struct ct_frame fr = {.data = f->b, .len = (uint32_t)len, .link = CT_LINK_ETHERNET};
    ct_pkt_parse(&fr, &f->pkt);
    CHECK_EQ_U(f->pkt.reason, CT_REASON_NONE);
    return &f->pkt;
}

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct ct_ruleset *load(const char *text)
{
    struct ct_rules_error e;
    int err = 0;
    struct ct_ruleset *rs = ct_ruleset_load(text, strlen(text), &e, &err);
    if (!rs)
        CHECK_FAIL_("load failed: %u:%u: %s (%d)", e.line, e.col, e.msg, err);
    return rs;
}

/* Runs the pre chains of prerouting; returns 1 if the packet passed. */
static int pre(struct ct_ruleset *rs, struct ct_pkt *p, uint16_t iif, struct ct_rules_out *o)
{
    struct ct_rules_meta m = {.iif = iif, .hook = CT_RULES_HOOK_PREROUTING};
    memset(o, 0, sizeof(*o));
    return ct_rules_eval_pre(rs, p, &m, o);
}

static int post(struct ct_ruleset *rs, struct ct_pkt *p, uint8_t state, uint16_t zone,
                uint32_t ctmark, struct ct_rules_out *o)
{
    struct ct_rules_meta m = {.hook = CT_RULES_HOOK_PREROUTING, .ct_state = state,
                              .ct_zone = zone, .ct_mark = ctmark};
    memset(o, 0, sizeof(*o));
    return ct_rules_eval_post(rs, p, &m, o);
}

/* ---- matches -------------------------------------------------------------- */

static void test_match_addresses_ports(void)
{
    struct ct_ruleset *rs = load(
        "table ip raw {\n"
        "  chain pre {\n"
        "    type filter hook prerouting priority raw; policy accept;\n"
        "    ip saddr 10.0.0.0/8 tcp dport 22 ct zone set 1\n"
        "    ip daddr { 192.168.1.1, 192.168.2.0/24 } udp dport 1000-2000 ct zone set 2\n"
        "    ip saddr != 172.16.0.0/12 udp sport { 53, 123 } ct zone set 3\n"
        "    tcp sport >= 60000 ct zone set 4\n"
        "  }\n"
        "}\n");
    struct frame f;
    struct ct_rules_out o;
    if (!rs)
        return;
    CHECK_EQ_I(pre(rs, mk4(&f, 6, A(10, 1, 2, 3), 5555, A(1, 1, 1, 1), 22, 0, 0), 0, &o), 1);
    CHECK_EQ_U(o.zone_dirs, CT_ZONE_DIR_ORIG | CT_ZONE_DIR_REPL);
    CHECK_EQ_U(o.zone, 1);
    pre(rs, mk4(&f, 6, A(11, 1, 2, 3), 5555, A(1, 1, 1, 1), 22, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    pre(rs, mk4(&f, 17, A(11, 1, 2, 3), 5555, A(192, 168, 2, 77), 1500, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 2);
    pre(rs, mk4(&f, 17, A(11, 1, 2, 3), 5555, A(192, 168, 1, 2), 1500, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    pre(rs, mk4(&f, 17, A(11, 1, 2, 3), 2001, A(192, 168, 1, 1), 2001, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    pre(rs, mk4(&f, 17, A(11, 1, 2, 3), 123, A(9, 9, 9, 9), 9, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 3);
    pre(rs, mk4(&f, 17, A(172, 17, 2, 3), 123, A(9, 9, 9, 9), 9, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    /* tcp sport on a UDP packet: no key, no match, even negated. */
    pre(rs, mk4(&f, 17, A(8, 8, 8, 8), 60001, A(9, 9, 9, 9), 9, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    pre(rs, mk4(&f, 6, A(8, 8, 8, 8), 60001, A(9, 9, 9, 9), 9, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 4);
    /* An ip table does not see IPv6 packets. */
    pre(rs, mk6(&f, 6, 1, 60001, 2, 22), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    ct_ruleset_free(rs);
}

static void test_match_ip6_meta_vlan_iif(void)
{
    struct ct_ruleset *rs = load(
        "define lan = { 2001:db8::1, 2001:db8::10-2001:db8::20 }\n"
        "table inet raw {\n"
        "  chain pre {\n"
        "    type filter hook prerouting priority -300\n"
        "    ip6 saddr $lan meta l4proto tcp ct zone set 1\n"
        "    ip6 daddr 2001:db8::80/121 meta l4proto udp ct zone set 2\n"
        "    meta mark 0x10 ct zone set 3\n"
        "    vlan id 100 ct zone set 4\n"
        "    iifname \"eth*\" meta nfproto ipv4 ct zone set 5\n"
        "    iif 7 ct zone set 6\n"
        "    iifname { \"wan\", \"dmz\" } ct zone set 7\n"
        "    meta l4proto { icmp, 132 } ct zone set 8\n"
        "  }\n"
        "}\n");
    struct frame f;
    struct ct_rules_out o;
    if (!rs)
        return;
    CHECK_EQ_I(ct_ruleset_set_iface(rs, 2, "eth0"), 0);
    CHECK_EQ_I(ct_ruleset_set_iface(rs, 3, "wan"), 0);
    CHECK_EQ_I(ct_ruleset_set_iface(rs, 0, "x"), -EINVAL);
    CHECK_EQ_I(ct_ruleset_set_iface(rs, CT_RULES_MAX_IFINDEX + 1, "x"), -ERANGE);
    pre(rs, mk6(&f, 6, 0x15, 1, 0x99, 2), 0, &o);
    CHECK_EQ_U(o.zone, 1);
    pre(rs, mk6(&f, 6, 0x21, 1, 0x99, 2), 0, &o);
    CHECK_EQ_U(o.zone, 2 * 0); /* udp rule needs udp */
    pre(rs, mk6(&f, 17, 0x21, 1, 0x99, 2), 0, &o);
    CHECK_EQ_U(o.zone, 2);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 0, 0x10), 0, &o);
    CHECK_EQ_U(o.zone, 3);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 100, 0), 0, &o);
    CHECK_EQ_U(o.zone, 4);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 0, 0), 2, &o);
    CHECK_EQ_U(o.zone, 5);
    pre(rs, mk6(&f, 17, 1, 1, 2, 2), 2, &o); /* eth0 but not IPv4 */
    CHECK_EQ_U(o.zone_dirs, 0);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 0, 0), 7, &o);
    CHECK_EQ_U(o.zone, 6);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 0, 0), 3, &o);
    CHECK_EQ_U(o.zone, 7);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 0, 0), 4, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    ct_ruleset_free(rs);
}

/* Protocol names with a dash, as `nft list` prints ICMPv6 ("ipv6-icmp"),
 * are one name in a set, beside numeric ranges. */
static void test_proto_names(void)
{
    struct ct_ruleset *rs = load("table inet raw {\n"
                                 "  chain pre {\n"
                                 "    type filter hook prerouting priority raw\n"
                                 "    meta l4proto { ipv6-icmp, 250-252 } ct zone set 11\n"
                                 "  }\n"
                                 "}\n");
    struct frame f;
    struct ct_rules_out o;
    if (!rs)
        return;
    pre(rs, mk6(&f, 58, 1, 0x8000, 2, 1), 0, &o); /* ICMPv6 echo request */
    CHECK_EQ_U(o.zone, 11);
    pre(rs, mk4(&f, 251, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 11);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 2, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    ct_ruleset_free(rs);
}

/* Marks copied between packet and connection: `ct mark set meta mark`
 * saves the packet's mark, `meta mark set ct mark` restores the
 * connection's (nothing for a packet without a connection). */
static void test_mark_copies(void)
{
    struct ct_ruleset *rs = load("table ip filter {\n"
                                 "  chain ct {\n"
                                 "    type filter hook prerouting priority filter\n"
                                 "    udp dport 1 ct mark set meta mark\n"
                                 "    udp dport 2 meta mark set ct mark\n"
                                 "    udp dport 3 ct mark set 7 meta mark set ct mark\n"
                                 "  }\n"
                                 "}\n");
    struct frame f;
    struct ct_rules_out o;
    if (!rs)
        return;
    post(rs, mk4(&f, 17, A(1, 1, 1, 1), 9, A(2, 2, 2, 2), 1, 0, 0x55), CT_STATE_NEW, 0, 0, &o);
    CHECK_EQ_U(o.ct_mark_set, 1);
    CHECK_EQ_U(o.ct_mark, 0x55);
    post(rs, mk4(&f, 17, A(1, 1, 1, 1), 9, A(2, 2, 2, 2), 1, 0, 0x55), CT_STATE_INVALID, 0, 0,
         &o);
    CHECK_EQ_U(o.ct_mark_set, 0);
    struct ct_pkt *p = mk4(&f, 17, A(1, 1, 1, 1), 9, A(2, 2, 2, 2), 2, 0, 0x55);
    post(rs, p, CT_STATE_ESTABLISHED, 0, 0x99, &o);
    CHECK_EQ_U(p->mark, 0x99);
    p = mk4(&f, 17, A(1, 1, 1, 1), 9, A(2, 2, 2, 2), 2, 0, 0x55);
    post(rs, p, CT_STATE_UNTRACKED, 0, 0x99, &o);
    CHECK_EQ_U(p->mark, 0x55);
    /* The mark a statement before it set is the connection's now. */
    p = mk4(&f, 17, A(1, 1, 1, 1), 9, A(2, 2, 2, 2), 3, 0, 0x55);
    post(rs, p, CT_STATE_ESTABLISHED, 0, 0x99, &o);
    CHECK_EQ_U(p->mark, 7);
    ct_ruleset_free(rs);
}

static void test_match_ct_post(void)
{
    struct ct_ruleset *rs = load(
        "table ip filter {\n"
        "  chain pre {\n"
        "    type filter hook prerouting priority filter; policy accept;\n"
        "    ct state invalid drop\n"
        "    ct state established,related ct mark set 7 accept\n"
        "    ct zone 5 ct mark 0 ct mark set 5\n"
        "    ct state new tcp dport 21 counter ct event set new,destroy accept\n"
        "  }\n"
        "}\n");
    struct frame f;
    struct ct_rules_out o;
    uint64_t pk = 0, by = 0;
    if (!rs)
        return;
    struct ct_pkt *p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(2, 2, 2, 2), 21, 0, 0);
    CHECK_EQ_I(post(rs, p, CT_STATE_INVALID, 0, 0, &o), 0);
    CHECK_EQ_U(o.drop, 1);
    CHECK_EQ_I(post(rs, p, CT_STATE_ESTABLISHED, 0, 0, &o), 1);
    CHECK_EQ_U(o.ct_mark_set, 1);
    CHECK_EQ_U(o.ct_mark, 7);
    CHECK_EQ_I(post(rs, p, CT_STATE_NEW, 5, 0, &o), 1);
    CHECK_EQ_U(o.ct_mark, 5);
    CHECK_EQ_U(o.events_set, 1);
    CHECK_EQ_U(o.events, CT_EVENT_NEW | CT_EVENT_DESTROY);
    CHECK_EQ_I(post(rs, p, CT_STATE_NEW, 5, 1, &o), 1);
    CHECK_EQ_U(o.ct_mark_set, 0);
    CHECK_EQ_I(ct_ruleset_counter(rs, 3, &pk, &by), 0);
    CHECK_EQ_U(pk, 2);
    CHECK_EQ_U(by, 80);
    CHECK_EQ_I(ct_ruleset_counter(rs, 0, &pk, &by), -ENOENT);
    CHECK_EQ_I(ct_ruleset_counter(rs, 9, &pk, &by), -ENOENT);
    /* The pre side of this file is empty. */
    CHECK_EQ_I(ct_ruleset_has_chains(rs, CT_RULES_HOOK_PREROUTING, 0), 0);
    CHECK_EQ_I(ct_ruleset_has_chains(rs, CT_RULES_HOOK_PREROUTING, 1), 1);
    CHECK_EQ_I(ct_ruleset_has_chains(rs, CT_RULES_HOOK_OUTPUT, 1), 0);
    CHECK_EQ_I(pre(rs, p, 0, &o), 1);
    ct_ruleset_free(rs);
}

/* ---- statements ------------------------------------------------------------- */

static void test_statements_pre(void)
{
    struct ct_ruleset *rs = load(
        "table inet raw {\n"
        "  ct timeout short-udp {\n"
        "    protocol udp; l3proto ip;\n"
        "    policy = { unreplied: 5, replied : 20 }\n"
        "  }\n"
        "  ct timeout tcp-fast { protocol tcp; policy = { established: 100, close: 10 } }\n"
        "  chain pre {\n"
        "    type filter hook prerouting priority raw - 10; policy accept;\n"
        "    udp dport 53 notrack\n"
        "    udp dport 54 ct original zone set 3 ct reply zone set 4\n"
        "    udp dport 55 ct zone set meta mark map { 1 : 10, 2-4 : 20, 0x100:30 }\n"
        "    udp dport 56 ct zone set meta mark\n"
        "    udp dport 57 meta mark set 0x2a\n"
        "    udp dport 59 drop\n"
        "    udp dport 60 accept\n"
        "    udp dport 60 drop\n"
        "  }\n"
        "  chain pre2 {\n"
        "    type filter hook prerouting priority -250\n"
        "    udp dport 60 ct zone set 9\n"
        "  }\n"
        "}\n");
    struct frame f;
    struct ct_rules_out o;
    struct ct_rules_timeout to;
    if (!rs)
        return;
    CHECK_EQ_U(ct_ruleset_timeout_count(rs), 2);
    CHECK_EQ_I(ct_ruleset_timeout(rs, 0, &to), 0);
    CHECK_STR(to.name, "short-udp");
    CHECK_EQ_U(to.proto, 17);
    CHECK_EQ_U(to.l3, CT_L3_IPV4);
    CHECK_EQ_U(to.seconds[CT_TIMEOUT_UDP], 5);
    CHECK_EQ_U(to.seconds[CT_TIMEOUT_UDP_STREAM], 20);
    CHECK_EQ_U(to.seconds[CT_TIMEOUT_TCP_CLOSE], 0);
    CHECK_EQ_I(ct_ruleset_timeout(rs, 1, &to), 0);
    CHECK_EQ_U(to.l3, 0);
    CHECK_EQ_U(to.seconds[CT_TIMEOUT_TCP_ESTABLISHED], 100);
    CHECK_EQ_U(to.seconds[CT_TIMEOUT_TCP_CLOSE], 10);
    CHECK_EQ_I(ct_ruleset_timeout(rs, 2, &to), -ENOENT);

    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 53, 0, 0), 0, &o);
    CHECK_EQ_U(o.notrack, 1);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 54, 0, 0), 0, &o);
    CHECK_EQ_U(o.notrack, 0);
    /* The first zone statement wins whole, as in Linux: zone 3, original
     * direction only; the reply zone statement after it does nothing. */
    CHECK_EQ_U(o.zone_dirs, CT_ZONE_DIR_ORIG);
    CHECK_EQ_U(o.zone, 3);
    CHECK_EQ_U(o.zone_mark, 0);
    static const uint32_t marks[] = {0, 1, 2, 3, 4, 5, 0x100, 0x101};
    static const uint16_t zones[] = {0, 10, 20, 20, 20, 0, 30, 0};
    for (unsigned i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 55, 0, marks[i]), 0, &o);
        CHECK_EQ_U(o.zone_dirs, zones[i] ? 3 : 0);
        CHECK_EQ_U(o.zone, zones[i]);
    }
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 56, 0, 0x12345), 0, &o);
    CHECK_EQ_U(o.zone, 0x2345);
    CHECK_EQ_U(o.zone_mark, 1);
    struct ct_pkt *p = mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 57, 0, 0);
    pre(rs, p, 0, &o);
    CHECK_EQ_U(p->mark, 0x2a);
    CHECK_EQ_I(pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 59, 0, 0), 0, &o), 0);
    CHECK_EQ_U(o.drop, 1);
    /* accept ends chain "pre" only: "pre2" (priority -250, after -310)
     * still runs. */
    CHECK_EQ_I(pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 60, 0, 0), 0, &o), 1);
    CHECK_EQ_U(o.zone, 9);
    ct_ruleset_free(rs);
}

static void test_statements_post_helper(void)
{
    struct ct_ruleset *rs = load(
        "table ip filter {\n"
        "  ct helper ftp-standard {\n"
        "    type \"ftp\" protocol tcp\n"
        "  }\n"
        "  ct helper tftp { type \"tftp\" protocol udp; l3proto ip; }\n"
        "  ct timeout short-udp { protocol udp; policy = { unreplied: 5 } }\n"
        "  ct timeout tcp-fast { protocol tcp; policy = { established: 100 } }\n"
        "  chain pre {\n"
        "    type filter hook prerouting priority 0; policy drop;\n"
        "    tcp dport 21 ct helper set \"ftp-standard\" accept\n"
        "    udp dport 69 ct helper set \"tftp\" accept\n"
        "    udp dport 70 ct helper set \"ftp-standard\" accept\n"
        "    udp dport 57 ct timeout set \"short-udp\" accept\n"
        "    udp dport 58 ct timeout set \"tcp-fast\" accept\n"
        "  }\n"
        "  chain out {\n"
        "    type filter hook output priority 0\n"
        "    meta mark set 1\n"
        "  }\n"
        "}\n");
    struct frame f;
    struct ct_rules_out o;
    struct ct_rules_helper h;
    if (!rs)
        return;
    CHECK_EQ_U(ct_ruleset_helper_count(rs), 2);
    CHECK_EQ_I(ct_ruleset_helper(rs, 0, &h), 0);
    CHECK_STR(h.name, "ftp-standard");
    CHECK_STR(h.type, "ftp");
    CHECK_EQ_U(h.proto, 6);
    CHECK_EQ_I(ct_ruleset_helper(rs, 1, &h), 0);
    CHECK_STR(h.type, "tftp");
    CHECK_EQ_I(ct_ruleset_helper(rs, 2, &h), -ENOENT);
    struct ct_pkt *p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(2, 2, 2, 2), 21, 0, 0);
    CHECK_EQ_I(post(rs, p, CT_STATE_NEW, 0, 0, &o), 1);
    CHECK_EQ_U(o.helper, 1);
    /* Only a new connection gets a helper. */
    CHECK_EQ_I(post(rs, p, CT_STATE_ESTABLISHED, 0, 0, &o), 1);
    CHECK_EQ_U(o.helper, 0);
    post(rs, mk4(&f, 17, A(1, 1, 1, 1), 1000, A(2, 2, 2, 2), 69, 0, 0), CT_STATE_NEW, 0, 0, &o);
    CHECK_EQ_U(o.helper, 2);
    /* A TCP helper on UDP does nothing (nft_ct_helper_obj_eval). */
    post(rs, mk4(&f, 17, A(1, 1, 1, 1), 1000, A(2, 2, 2, 2), 70, 0, 0), CT_STATE_NEW, 0, 0, &o);
    CHECK_EQ_U(o.helper, 0);
    post(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 57, 0, 0), CT_STATE_NEW, 0, 0, &o);
    CHECK_EQ_U(o.timeout, 1);
    post(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 57, 0, 0), CT_STATE_ESTABLISHED, 0, 0,
         &o);
    CHECK_EQ_U(o.timeout, 0);
    /* A TCP policy does not apply to UDP (nft_ct_timeout_obj_eval). */
    post(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 58, 0, 0), CT_STATE_NEW, 0, 0, &o);
    CHECK_EQ_U(o.timeout, 0);
    /* The policy drops what no rule accepted. */
    CHECK_EQ_I(post(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 71, 0, 0), CT_STATE_NEW, 0,
                    0, &o),
               0);
    /* Output chains see only packets on the output hook. */
    p = mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 69, 0, 0);
    struct ct_rules_meta m = {.hook = CT_RULES_HOOK_OUTPUT, .ct_state = CT_STATE_NEW};
    memset(&o, 0, sizeof(o));
    CHECK_EQ_I(ct_rules_eval_post(rs, p, &m, &o), 1);
    CHECK_EQ_U(p->mark, 1);
    CHECK_EQ_U(o.helper, 0);
    ct_ruleset_free(rs);
}

static void test_named_sets_and_order(void)
{
    struct ct_ruleset *rs = load(
        "flush ruleset\n"
        "table ip raw {\n"
        "  chain late { type filter hook prerouting priority raw + 5; ct zone set 2; }\n"
        "  chain early {\n"
        "    type filter hook prerouting priority raw\n"
        "    ip saddr @nets tcp dport @ports ct zone set 1\n"
        "  }\n"
        "  set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 1.2.3.4 } }\n"
        "  set ports {\n"
        "    type inet_service\n"
        "    elements = { 22, 80, 8000-8080 }\n"
        "  }\n"
        "}\n");
    struct frame f;
    struct ct_rules_out o;
    if (!rs)
        return;
    /* "late" runs after "early", whose zone the packet keeps (the first
     * zone set wins); a packet "early" does not match gets late's. */
    pre(rs, mk4(&f, 6, A(10, 9, 9, 9), 1, A(2, 2, 2, 2), 8080, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 1);
    pre(rs, mk4(&f, 6, A(11, 9, 9, 9), 1, A(2, 2, 2, 2), 8080, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 2);
    ct_ruleset_free(rs);
    rs = load("table ip raw {\n"
              "  chain b { type filter hook prerouting priority -300; ct zone set 2; }\n"
              "  chain a { type filter hook prerouting priority -301; ct zone set 1; }\n"
              "}\n");
    if (!rs)
        return;
    /* Chains run by priority, not by order in the file: a (-301) first. */
    pre(rs, mk4(&f, 6, A(10, 9, 9, 9), 1, A(2, 2, 2, 2), 8080, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 1);
    ct_ruleset_free(rs);
}

/* Variables: a define may use an earlier one; comments, continuations,
 * `comment "..."` and counters with starting values are accepted. */
static void test_defines_and_syntax(void)
{
    struct ct_ruleset *rs = load(
        "# a comment line\n"
        "define dns = 53\n"
        "define ports = { $dns, 5353 } # both\n"
        "table ip raw {\n"
        "  chain pre {\n"
        "    type filter hook prerouting priority raw;\n"
        "    udp dport $ports \\\n"
        "      counter packets 10 bytes 1000 ct zone set 4 comment \"dns\"\n"
        "  }\n"
        "}\n");
    struct frame f;
    struct ct_rules_out o;
    uint64_t pk = 0, by = 0;
    if (!rs)
        return;
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 5353, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 4);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 53, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone, 4);
    pre(rs, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 54, 0, 0), 0, &o);
    CHECK_EQ_U(o.zone_dirs, 0);
    CHECK_EQ_I(ct_ruleset_counter(rs, 0, &pk, &by), 0);
    CHECK_EQ_U(pk, 12);
    CHECK_EQ_U(by, 1000 + 2 * 28);
    ct_ruleset_free(rs);
}

/* ---- NAT chains ------------------------------------------------------------ */

static union ct_addr v4a(uint32_t host)
{
    union ct_addr a;
    memset(&a, 0, sizeof(a));
    a.v4 = htonl(host);
    return a;
}

static union ct_addr v6a(uint8_t last)
{
    union ct_addr a;
    const uint8_t b[16] = IPV6_DOC_ADDR(0);
    memcpy(a.b, b, 16);
    a.b[15] = last;
    return a;
}

/* Runs the nat chains for one manip on the packet's own tuple (or *t). */
static int nat(struct ct_ruleset *rs, const struct ct_pkt *p, unsigned manip,
               const struct ct_tuple *t, struct ct_nat_range *r)
{
    memset(r, 0xa5, sizeof(*r)); /* what the call does not write shows */
    int rc = ct_rules_eval_nat(rs, p, manip, t ? t : &p->tuple, r);
    /* Every range the rules ask for is one the NAT core takes. */
    if (rc == 1)
        CHECK_EQ_I(ct_nat_range_check(r, (t ? t : &p->tuple)->l3), 0);
    return rc;
}

#define CHECK_RANGE(r, fl, amin, amax, pmin, pmax)             \
    do {                                                       \
        union ct_addr lo_ = (amin), hi_ = (amax);              \
        CHECK_EQ_U((r)->flags, (fl));                          \
        CHECK(memcmp(&(r)->min_addr, &lo_, sizeof(lo_)) == 0); \
        CHECK(memcmp(&(r)->max_addr, &hi_, sizeof(hi_)) == 0); \
        CHECK_EQ_U((r)->min_port, (pmin));                     \
        CHECK_EQ_U((r)->max_port, (pmax));                     \
    } while (0)

#define NOADDR v4a(0)
#define MAP CT_NAT_RANGE_MAP_IPS
#define PROTO CT_NAT_RANGE_PROTO_SPECIFIED

/* Every form of dnat and snat, with the range Linux's nft_nat would hand
 * to nf_nat_setup_info(). */
static void test_nat_snat_dnat_forms(void)
{
    struct ct_ruleset *rs =
        load("table ip nat {\n"
             "  chain pre {\n"
             "    type nat hook prerouting priority dstnat; policy accept;\n"
             "    tcp dport 80 dnat to 10.0.0.2\n"
             "    tcp dport 81 dnat to 10.0.0.2-10.0.0.5:8080-8090 random,persistent\n"
             "    tcp dport 82 dnat to :8080 fully-random\n"
             "    tcp dport 83 dnat 10.0.0.0/30\n"
             "    meta l4proto udp udp dport 53 dnat ip to 10.0.0.9 : 5353 random fully-random\n"
             "    ip protocol tcp tcp dport 84 dnat to 10.0.0.4:1-65535 comment \"all\"\n"
             "  }\n"
             "  chain post {\n"
             "    type nat hook postrouting priority srcnat\n"
             "    ip saddr 192.168.0.0/16 meta l4proto tcp snat to 203.0.113.1:1024-65535\n"
             "    ip saddr 192.168.0.0/16 snat to 203.0.113.2-203.0.113.9 persistent\n"
             "  }\n"
             "}\n");
    struct frame f;
    struct ct_nat_range r;
    const struct ct_pkt *p;
    if (!rs)
        return;
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 80, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 2)), v4a(A(10, 0, 0, 2)), 0, 0);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 81, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO | CT_NAT_RANGE_PROTO_RANDOM | CT_NAT_RANGE_PERSISTENT,
                v4a(A(10, 0, 0, 2)), v4a(A(10, 0, 0, 5)), 8080, 8090);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 82, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, PROTO | CT_NAT_RANGE_PROTO_RANDOM_FULLY, NOADDR, NOADDR, 8080, 8080);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 83, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 0)), v4a(A(10, 0, 0, 3)), 0, 0);
    p = mk4(&f, 17, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 53, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO | CT_NAT_RANGE_PROTO_RANDOM | CT_NAT_RANGE_PROTO_RANDOM_FULLY,
                v4a(A(10, 0, 0, 9)), v4a(A(10, 0, 0, 9)), 5353, 5353);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 84, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, v4a(A(10, 0, 0, 4)), v4a(A(10, 0, 0, 4)), 1, 65535);
    /* No rule applies: 0 and a zeroed range. */
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 85, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 0);
    CHECK_RANGE(&r, 0, NOADDR, NOADDR, 0, 0);
    /* SNAT: first rule for TCP, the second for the rest. */
    p = mk4(&f, 6, A(192, 168, 1, 1), 1000, A(198, 51, 100, 1), 80, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, v4a(A(203, 0, 113, 1)), v4a(A(203, 0, 113, 1)), 1024, 65535);
    p = mk4(&f, 17, A(192, 168, 1, 1), 1000, A(198, 51, 100, 1), 80, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | CT_NAT_RANGE_PERSISTENT, v4a(A(203, 0, 113, 2)), v4a(A(203, 0, 113, 9)),
                0, 0);
    p = mk4(&f, 17, A(172, 16, 1, 1), 1000, A(198, 51, 100, 1), 80, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 0);
    /* An ip table does not see IPv6. */
    CHECK_EQ_I(nat(rs, mk6(&f, 6, 1, 1000, 2, 80), CT_NAT_MANIP_DST, NULL, &r), 0);
    /* nat chains are not filter chains: the per-packet evaluation never
     * sees them. */
    CHECK_EQ_I(ct_ruleset_has_chains(rs, CT_RULES_HOOK_PREROUTING, 1), 0);
    CHECK_EQ_I(ct_ruleset_has_chains(rs, CT_RULES_HOOK_PREROUTING, 0), 0);
    ct_ruleset_free(rs);
}

/* The IPv6 forms: bare addresses, ranges, prefixes, brackets with ports;
 * and in an inet table a port-only DNAT for both families. */
static void test_nat_ipv6_forms(void)
{
    struct ct_ruleset *rs =
        load("table ip6 nat {\n"
             "  chain pre {\n"
             "    type nat hook prerouting priority dstnat\n"
             "    tcp dport 1 dnat to 2001:db8::5\n"
             "    tcp dport 2 dnat to 2001:db8::5-2001:db8::9\n"
             "    tcp dport 3 dnat to 2001:db8::/126\n"
             "    tcp dport 4 dnat ip6 to [2001:db8::7] : 70-71\n"
             "    tcp dport 5 dnat to [2001:db8::5]-[2001:db8::6]:80 persistent\n"
             "  }\n"
             "}\n"
             "table inet both {\n"
             "  chain pre {\n"
             "    type nat hook prerouting priority dstnat + 1\n"
             "    tcp dport 6 dnat to :60\n"
             "  }\n"
             "}\n");
    struct frame f;
    struct ct_nat_range r;
    const struct ct_pkt *p;
    if (!rs)
        return;
    p = mk6(&f, 6, 1, 1000, 2, 1);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v6a(5), v6a(5), 0, 0);
    p = mk6(&f, 6, 1, 1000, 2, 2);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v6a(5), v6a(9), 0, 0);
    p = mk6(&f, 6, 1, 1000, 2, 3);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v6a(0), v6a(3), 0, 0);
    p = mk6(&f, 6, 1, 1000, 2, 4);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, v6a(7), v6a(7), 70, 71);
    p = mk6(&f, 6, 1, 1000, 2, 5);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO | CT_NAT_RANGE_PERSISTENT, v6a(5), v6a(6), 80, 80);
    p = mk6(&f, 6, 1, 1000, 2, 6);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, PROTO, NOADDR, NOADDR, 60, 60);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 6, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, PROTO, NOADDR, NOADDR, 60, 60);
    ct_ruleset_free(rs);
}

/* Masquerade and redirect resolve to the addresses the caller set, as
 * nf_nat_masquerade_ipv4() and nf_nat_redirect_ipv4() pick the
 * interface's; redirect at output goes to loopback. */
static void test_nat_masquerade_redirect(void)
{
    struct ct_ruleset *rs = load("table inet nat {\n"
                                 "  chain pre {\n"
                                 "    type nat hook prerouting priority -100\n"
                                 "    tcp dport 80 redirect to :3128\n"
                                 "    meta l4proto tcp tcp dport 81 redirect to 8080-8081 random\n"
                                 "    udp dport 53 redirect\n"
                                 "  }\n"
                                 "  chain out {\n"
                                 "    type nat hook output priority -100\n"
                                 "    tcp dport 80 redirect to :3129\n"
                                 "  }\n"
                                 "  chain post {\n"
                                 "    type nat hook postrouting priority 100\n"
                                 "    meta l4proto tcp masquerade to :20000-30000 fully-random\n"
                                 "    masquerade random,persistent\n"
                                 "  }\n"
                                 "}\n");
    struct frame f;
    struct ct_nat_range r;
    struct ct_pkt *p;
    union ct_addr lo4 = v4a(A(127, 0, 0, 1)), lo6 = v6a(0), out4 = v4a(A(203, 0, 113, 7)),
                  in4 = v4a(A(192, 168, 0, 1)), out6 = v6a(0x77), in6 = v6a(0x11);
    memset(lo6.b, 0, 16);
    lo6.b[15] = 1;
    if (!rs)
        return;
    /* Without the addresses: the packet is dropped, as Linux drops it on
     * an interface without one. */
    p = mk4(&f, 6, A(192, 168, 0, 9), 1000, A(198, 51, 100, 1), 80, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), -EPERM);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), -EPERM);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_MASQUERADE, CT_L3_IPV4, &out4), 0);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_REDIRECT, CT_L3_IPV4, &in4), 0);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_MASQUERADE, CT_L3_IPV6, &out6), 0);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_REDIRECT, CT_L3_IPV6, &in6), 0);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, 2, CT_L3_IPV4, &in4), -EINVAL);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_REDIRECT, 5, &in4), -EINVAL);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(NULL, CT_RULES_NAT_REDIRECT, CT_L3_IPV4, &in4), -EINVAL);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_REDIRECT, CT_L3_IPV4, NULL), -EINVAL);

    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, in4, in4, 3128, 3128);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO | CT_NAT_RANGE_PROTO_RANDOM_FULLY, out4, out4, 20000, 30000);
    p = mk4(&f, 6, A(192, 168, 0, 9), 1000, A(198, 51, 100, 1), 81, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO | CT_NAT_RANGE_PROTO_RANDOM, in4, in4, 8080, 8081);
    p = mk4(&f, 17, A(192, 168, 0, 9), 1000, A(198, 51, 100, 1), 53, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, in4, in4, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | CT_NAT_RANGE_PROTO_RANDOM | CT_NAT_RANGE_PERSISTENT, out4, out4, 0, 0);
    /* A source of 0.0.0.0 is accepted untranslated (nf_nat_masquerade_ipv4()). */
    p = mk4(&f, 17, 0, 68, A(255, 255, 255, 255), 67, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 0);
    /* IPv6: the family's own addresses. */
    p = mk6(&f, 6, 1, 1000, 2, 80);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, in6, in6, 3128, 3128);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO | CT_NAT_RANGE_PROTO_RANDOM_FULLY, out6, out6, 20000, 30000);
    /* A local frame meets the output chain: redirect goes to loopback. */
    p = mk4(&f, 6, A(192, 168, 0, 1), 1000, A(198, 51, 100, 1), 80, 0, 0);
    p->frame_flags |= CT_FRAME_F_LOCAL;
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, lo4, lo4, 3129, 3129);
    p = mk6(&f, 6, 1, 1000, 2, 80);
    p->frame_flags |= CT_FRAME_F_LOCAL;
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, lo6, lo6, 3129, 3129);
    p = mk6(&f, 17, 1, 1000, 2, 80);
    p->frame_flags |= CT_FRAME_F_LOCAL;
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 0); /* the output chain has no UDP rule */
    ct_ruleset_free(rs);
}

/* SNAT happens at input for packets delivered locally (their destination
 * after DNAT is the local address), at postrouting for the others and for
 * every local frame; rules match the tuple as DNAT left it. */
static void test_nat_hooks_and_tuple(void)
{
    struct ct_ruleset *rs =
        load("table ip nat {\n"
             "  chain in {\n"
             "    type nat hook input priority 100\n"
             "    snat to 10.9.9.9\n"
             "  }\n"
             "  chain post {\n"
             "    type nat hook postrouting priority 100\n"
             "    ip daddr 192.0.2.1 snat to 10.7.7.7\n"
             "    ip saddr 10.0.0.0/24 ip daddr 10.0.0.2 tcp dport 8080 snat to 10.0.0.1\n"
             "    snat to 10.8.8.8\n"
             "  }\n"
             "}\n");
    struct frame f;
    struct ct_nat_range r;
    struct ct_pkt *p;
    union ct_addr local = v4a(A(10, 0, 0, 254));
    if (!rs)
        return;
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_REDIRECT, CT_L3_IPV4, &local), 0);
    /* To the local address: input. */
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(10, 0, 0, 254), 22, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 9, 9, 9)), v4a(A(10, 9, 9, 9)), 0, 0);
    /* The same from a local frame: postrouting. */
    p->frame_flags |= CT_FRAME_F_LOCAL;
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 8, 8, 8)), v4a(A(10, 8, 8, 8)), 0, 0);
    /* Elsewhere: postrouting, matched on the packet's own tuple. */
    p = mk4(&f, 6, A(10, 0, 0, 5), 1000, A(192, 0, 2, 1), 80, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 7, 7, 7)), v4a(A(10, 7, 7, 7)), 0, 0);
    /* Hairpin: the packet went to 192.0.2.1:80, DNAT made it 10.0.0.2:8080.
     * The rules see the translated tuple, not the packet's addresses. */
    struct ct_tuple t = p->tuple;
    t.dst = v4a(A(10, 0, 0, 2));
    t.dport = 8080;
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, &t, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 1)), v4a(A(10, 0, 0, 1)), 0, 0);
    /* DNAT to the local address: the SNAT is input's. */
    t.dst = local;
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, &t, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 9, 9, 9)), v4a(A(10, 9, 9, 9)), 0, 0);
    /* No prerouting nat chain: DST finds nothing. */
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 0);
    ct_ruleset_free(rs);
}

/* Chains in priority order, the first NAT statement that applies wins,
 * accept ends only its chain, drop and a drop policy drop, counters count,
 * and a statement of the other family is passed over. */
static void test_nat_order_verdicts(void)
{
    struct ct_ruleset *rs =
        load("table inet nat {\n"
             "  chain late {\n"
             "    type nat hook prerouting priority dstnat\n"
             "    tcp dport 1 dnat ip to 10.0.0.1\n"
             "    tcp dport 2 counter dnat ip to 10.0.0.2\n"
             "    tcp dport 3 drop\n"
             "    meta l4proto tcp dnat ip6 to [2001:db8::5]:80-90\n"
             "    dnat ip to 10.0.0.4\n"
             "  }\n"
             "  chain early {\n"
             "    type nat hook prerouting priority dstnat - 50; policy accept\n"
             "    tcp dport 1 dnat ip to 10.0.1.1\n"
             "    tcp dport 1 dnat ip to 10.0.1.99\n"
             "    tcp dport 2 accept\n"
             "    tcp dport 2 dnat ip to 10.0.1.2\n"
             "    ip daddr 192.0.2.5 dnat to 10.0.1.5\n"
             "  }\n"
             "  chain closed {\n"
             "    type nat hook postrouting priority srcnat; policy drop\n"
             "    tcp dport 7 snat ip to 10.0.2.7\n"
             "  }\n"
             "}\n");
    struct frame f;
    struct ct_nat_range r;
    uint64_t pk = 0, by = 0;
    if (!rs)
        return;
    const struct ct_pkt *p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 1, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 1, 1)), v4a(A(10, 0, 1, 1)), 0, 0);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 2, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 2)), v4a(A(10, 0, 0, 2)), 0, 0);
    CHECK_EQ_I(ct_ruleset_counter(rs, 1, &pk, &by), 0);
    CHECK_EQ_U(pk, 1);
    CHECK_EQ_U(by, p->ip_len);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 3, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), -EPERM);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 5), 4, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 1, 5)), v4a(A(10, 0, 1, 5)), 0, 0);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 4, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 4)), v4a(A(10, 0, 0, 4)), 0, 0);
    /* IPv6 passes the ip statements and takes the ip6 one. */
    p = mk6(&f, 6, 1, 1000, 2, 1);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, v6a(5), v6a(5), 80, 90);
    p = mk6(&f, 17, 1, 1000, 2, 1);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 0);
    /* The policy drops what no rule translates. */
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 7, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 2, 7)), v4a(A(10, 0, 2, 7)), 0, 0);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 8, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), -EPERM);
    ct_ruleset_free(rs);
}

/* Maps: an address or port picks the target; `prefix` keeps the host
 * part (NETMAP), resolved to one address as nft_nat_setup_netmap() does. */
static void test_nat_maps(void)
{
    struct ct_ruleset *rs =
        load("table ip nat {\n"
             "  chain pre {\n"
             "    type nat hook prerouting priority dstnat\n"
             "    dnat to ip daddr map { 192.0.2.1 : 10.0.0.1, 192.0.2.2-192.0.2.9 : 10.0.0.7 }\n"
             "    meta l4proto udp dnat to ip daddr map { 198.51.100.0/24 : 10.0.1.0/30,\n"
             "                           198.51.101.1 : 10.0.0.2-10.0.0.3 } : 5000-5010\n"
             "    dnat to tcp dport map { 80 : 10.0.0.80, 443:10.0.0.44, 1000-1999 : 10.0.0.10 }\n"
             "    dnat ip prefix to ip daddr map { 203.0.113.0/24 : 10.141.11.0/25 } persistent\n"
             "  }\n"
             "  chain post {\n"
             "    type nat hook postrouting priority srcnat\n"
             "    snat ip prefix to ip saddr map { 10.141.11.0/24 : 192.168.2.0/24 }\n"
             "    ip saddr 10.99.0.0/16 snat prefix to 172.16.0.0/12\n"
             "  }\n"
             "}\n"
             "table ip6 nat6 {\n"
             "  chain post {\n"
             "    type nat hook postrouting priority srcnat\n"
             "    snat prefix to ip6 saddr map { 2001:db8::/120 : 2001:db8:1::/120 }\n"
             "  }\n"
             "}\n");
    struct frame f;
    struct ct_nat_range r;
    const struct ct_pkt *p;
    if (!rs)
        return;
    p = mk4(&f, 17, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 9, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 1)), v4a(A(10, 0, 0, 1)), 0, 0);
    p = mk4(&f, 17, A(1, 1, 1, 1), 1000, A(192, 0, 2, 7), 9, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 7)), v4a(A(10, 0, 0, 7)), 0, 0);
    p = mk4(&f, 17, A(1, 1, 1, 1), 1000, A(198, 51, 100, 200), 9, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, v4a(A(10, 0, 1, 0)), v4a(A(10, 0, 1, 3)), 5000, 5010);
    p = mk4(&f, 17, A(1, 1, 1, 1), 1000, A(198, 51, 101, 1), 9, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, v4a(A(10, 0, 0, 2)), v4a(A(10, 0, 0, 3)), 5000, 5010);
    /* A miss ends the rule; the next one is a port map. */
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 10), 443, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 44)), v4a(A(10, 0, 0, 44)), 0, 0);
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 10), 1500, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(10, 0, 0, 10)), v4a(A(10, 0, 0, 10)), 0, 0);
    /* UDP has no tcp dport: that map misses too. */
    p = mk4(&f, 17, A(1, 1, 1, 1), 1000, A(192, 0, 2, 10), 80, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 0);
    /* NETMAP into a /25: seven host bits kept. */
    p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(203, 0, 113, 200), 22, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_DST, NULL, &r), 1);
    CHECK_RANGE(&r, MAP | CT_NAT_RANGE_PERSISTENT, v4a(A(10, 141, 11, 72)), v4a(A(10, 141, 11, 72)),
                0, 0);
    p = mk4(&f, 6, A(10, 141, 11, 77), 1000, A(8, 8, 8, 8), 22, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(192, 168, 2, 77)), v4a(A(192, 168, 2, 77)), 0, 0);
    p = mk4(&f, 6, A(10, 141, 12, 77), 1000, A(8, 8, 8, 8), 22, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 0);
    /* NETMAP to a prefix without a map: 10.99.12.34 into 172.16.0.0/12. */
    p = mk4(&f, 6, A(10, 99, 12, 34), 1000, A(8, 8, 8, 8), 22, 0, 0);
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, v4a(A(172, 19, 12, 34)), v4a(A(172, 19, 12, 34)), 0, 0);
    /* IPv6 NETMAP: 2001:db8::42 -> 2001:db8:1::42. */
    p = mk6(&f, 6, 0x42, 1000, 2, 22);
    union ct_addr want = v6a(0x42);
    want.b[5] = 1;
    CHECK_EQ_I(nat(rs, p, CT_NAT_MANIP_SRC, NULL, &r), 1);
    CHECK_RANGE(&r, MAP, want, want, 0, 0);
    ct_ruleset_free(rs);
}

/* ---- errors ------------------------------------------------------------------ */

struct bad {
    const char *text;
    uint32_t line, col;
    const char *msg; /* a substring of the message */
    int err;
};

#define HDR "table ip t {\n chain c {\n  type filter hook prerouting priority raw\n"
#define HDR_POST "table ip t {\n chain c {\n  type filter hook prerouting priority 0\n"
#define NAT_PRE "table ip t {\n chain c {\n  type nat hook prerouting priority dstnat\n"
#define NAT_POST "table ip t {\n chain c {\n  type nat hook postrouting priority srcnat\n"

static const struct bad bad_inputs[] = {
    {"tabel ip t { }", 1, 1, "unsupported: 'tabel' (a table expected)", -EINVAL},
    {"table arp t { }", 1, 7, "unsupported: tables of family 'arp'", -EINVAL},
    {"table ip t {\n chain c {\n  type route hook output priority -100\n }\n}", 3, 8,
     "unsupported: chains of type 'route'", -EINVAL},
    {NAT_PRE "  dnat to 10.0.0.5-10.0.0.2\n }\n}", 4, 11,
     "address range '10.0.0.5-10.0.0.2' is empty", -EINVAL},
    {NAT_PRE "  tcp dport 1 dnat to 10.0.0.2:90-80\n }\n}", 4, 23, "port range '90-80' is empty",
     -EINVAL},
    {NAT_PRE "  tcp dport 1 dnat to 10.0.0.2:0\n }\n}", 4, 23, "port 0 cannot be", -EINVAL},
    {NAT_PRE "  tcp dport 1 dnat to 10.0.0.2:65536\n }\n}", 4, 23, "bad port or port range",
     -EINVAL},
    {NAT_PRE "  tcp dport 1 dnat to 10.0.0.2:80-\n }\n}", 4, 23, "bad port or port range", -EINVAL},
    {NAT_PRE "  dnat to 10.0.0.2:80\n }\n}", 4, 11,
     "a port mapping needs a transport protocol match first", -EINVAL},
    {NAT_PRE "  meta l4proto != tcp dnat to 10.0.0.2:80\n }\n}", 4, 31,
     "a port mapping needs a transport protocol match first", -EINVAL},
    {NAT_PRE "  redirect to :80\n }\n}", 4, 15,
     "a port mapping needs a transport protocol match first", -EINVAL},
    {NAT_PRE "  dnat to 10.0.0.256\n }\n}", 4, 11, "bad IPv4 address, range or prefix '10.0.0.256'",
     -EINVAL},
    {NAT_PRE "  meta l4proto tcp dnat to [2001:db8::1]:80\n }\n}", 4, 28,
     "an IPv6 address '[2001:db8::1]:80' in a statement of family ip", -EINVAL},
    {NAT_PRE "  dnat to 2001:db8::1\n }\n}", 4, 11,
     "an IPv6 address '2001:db8::1' in a statement of family ip", -EINVAL},
    {NAT_PRE "  dnat ip6 to 2001:db8::1\n }\n}", 4, 8, "'dnat ip6' in a table of family ip",
     -EINVAL},
    {"table ip6 t {\n chain c {\n  type nat hook prerouting priority -100\n"
     "  dnat to 10.0.0.1\n }\n}",
     4, 11, "bad IPv6 address, range or prefix '10.0.0.1'", -EINVAL},
    {"table inet t {\n chain c {\n  type nat hook prerouting priority -100\n"
     "  dnat to 10.0.0.1\n }\n}",
     4, 3, "'dnat' with an address in a table of family inet needs the family", -EINVAL},
    {"table inet t {\n chain c {\n  type nat hook prerouting priority -100\n"
     "  dnat to ip daddr map { 1.2.3.4 : 10.0.0.2 }\n }\n}",
     4, 3, "'dnat' with a map in a table of family inet needs the family", -EINVAL},
    {NAT_POST "  dnat to 10.0.0.2\n }\n}", 4, 3,
     "'dnat' is not allowed at hook postrouting (only at prerouting and output)", -EINVAL},
    {NAT_PRE "  masquerade\n }\n}", 4, 3,
     "'masquerade' is not allowed at hook prerouting (only at postrouting)", -EINVAL},
    {"table ip t {\n chain c {\n  type nat hook input priority 100\n  masquerade\n }\n}", 4, 3,
     "'masquerade' is not allowed at hook input", -EINVAL},
    {"table ip t {\n chain c {\n  type nat hook output priority 100\n  snat to 1.1.1.1\n"
     " }\n}",
     4, 3, "'snat' is not allowed at hook output (only at postrouting and input)", -EINVAL},
    {NAT_POST "  redirect\n }\n}", 4, 3, "'redirect' is not allowed at hook postrouting", -EINVAL},
    {"table ip t {\n chain c {\n  type nat hook forward priority 0\n }\n}", 3, 17,
     "a nat chain cannot hook 'forward'", -EINVAL},
    {"table ip t {\n chain c {\n  type nat hook prerouting priority -200\n }\n}", 3, 37,
     "a nat chain needs a priority above conntrack's (-200), not -200", -EINVAL},
    {HDR_POST "  dnat to 10.0.0.2\n }\n}", 4, 3, "'dnat' needs a chain of type nat", -EINVAL},
    {NAT_PRE "  dnat to 10.0.0.2 accept\n }\n}", 4, 20, "after the verdict", -EINVAL},
    {NAT_PRE "  dnat to 10.0.0.2 random,\n }\n}", 4, 27, "a NAT flag", -EINVAL},
    {NAT_PRE "  ct state new dnat to 10.0.0.2\n }\n}", 4, 3, "'ct' in nat chain c", -EINVAL},
    {NAT_PRE "  meta mark set 1\n }\n}", 4, 3, "'meta mark set' in nat chain c", -EINVAL},
    {NAT_PRE "  notrack\n }\n}", 4, 3, "'notrack' in nat chain c", -EINVAL},
    {NAT_POST "  meta l4proto tcp snat ip prefix to 10.0.0.0/24:80\n }\n}", 4, 38,
     "'snat prefix to' takes addresses and no ports", -EINVAL},
    {NAT_POST "  snat to ip saddr map { }\n }\n}", 4, 11, "ip saddr map: empty map", -EINVAL},
    {NAT_POST "  snat to ip saddr map { 10.0.0.0/8 : 1.1.1.1, 10.1.0.0/16 : 1.1.1.2 }\n }\n}", 4, 0,
     "NAT map: overlapping keys", -EINVAL},
    {NAT_POST "  snat to ip saddr map { 10.0.0.9-10.0.0.1 : 1.1.1.1 }\n }\n}", 4, 26,
     "map key '10.0.0.9-10.0.0.1' is empty", -EINVAL},
    {NAT_POST "  snat to ip saddr map { 10.0.0.1 : 1.1.1.9-1.1.1.1 }\n }\n}", 4, 37,
     "address range '1.1.1.9-1.1.1.1' is empty", -EINVAL},
    {NAT_POST "  meta l4proto tcp masquerade to 1.2.3.4\n }\n}", 4, 34,
     "':PORT' or ':PORT-PORT' expected, found '1.2.3.4'", -EINVAL},
    {NAT_PRE "  meta l4proto tcp dnat ip addr . port to ip daddr map { 1.2.3.4 : 10.0.0.2 . 80 }"
             "\n }\n}",
     4, 28, "unsupported: 'dnat ... addr . port'", -EINVAL},
    {NAT_PRE "  dnat to\n }\n}", 4, 10, "a NAT target", -EINVAL},
    {NAT_PRE "  dnat to ::1\n }\n}", 4, 11, "an IPv6 address '::1' in a statement of family ip",
     -EINVAL},
    {"table inet t {\n chain c {\n  type nat hook prerouting priority -100\n"
     "  meta l4proto tcp dnat ip to :80\n }\n}",
     4, 31, "'dnat ip' needs an address before", -EINVAL},
    {NAT_PRE "  dnat to ip daddr map { 1.2.3.4 : 10.0.0.2, 1.2.3.5 : 10.0.0.0/30 }\n }\n}", 4, 56,
     "'10.0.0.0/30': a map's values are all single addresses or all ranges", -EINVAL},
    {NAT_PRE "  dnat to ip daddr map { 1.2.3.4 : 10.0.0.2 } : 80\n }\n}", 4, 47,
     "a port mapping needs a transport protocol match first", -EINVAL},
    {"table ip t {\n chain c {\n  type filter hook input priority 0\n }\n}", 3, 20,
     "unsupported: hook 'input'", -EINVAL},
    {"table ip t {\n chain c {\n  ip saddr 1.2.3.4\n }\n}", 3, 3, "chain c has no hook", -EINVAL},
    {HDR "  ip saddr 1.2.3.4 jump x\n }\n}", 4, 20, "unsupported: 'jump'", -EINVAL},
    {HDR "  ip saddr 1.2.3.400 drop\n }\n}", 4, 12, "bad IPv4 address '1.2.3.400'", -EINVAL},
    {HDR "  ip saddr 1.2.3.4/33 drop\n }\n}", 4, 12, "bad IPv4 prefix", -EINVAL},
    {HDR "  tcp dport 70000 drop\n }\n}", 4, 13, "port 70000 out of range", -EINVAL},
    {HDR "  tcp dport 20-10 drop\n }\n}", 4, 13, "ends before it starts", -EINVAL},
    {HDR "  ct zone set 65536\n }\n}", 4, 15, "zone 65536 out of range", -EINVAL},
    {HDR "  meta mark set ct mark\n }\n}", 4, 3,
     "'meta mark set ct mark' has no effect before conntrack", -EINVAL},
    {HDR "  ct mark set 1\n }\n}", 4, 3, "'ct mark set' has no effect before conntrack", -EINVAL},
    {HDR "  ct state new drop\n }\n}", 4, 3, "'ct state' matches nothing before conntrack",
     -EINVAL},
    {HDR "  ct helper set \"ftp\"\n }\n}", 4, 3, "'ct helper set' has no effect before", -EINVAL},
    {HDR "  ct event set new\n }\n}", 4, 3, "'ct event set' has no effect before", -EINVAL},
    {HDR_POST "  notrack\n }\n}", 4, 3, "'notrack' has no effect after conntrack", -EINVAL},
    {HDR_POST "  ct zone set 1\n }\n}", 4, 3, "'ct zone set' has no effect after", -EINVAL},
    {HDR "  ct timeout set \"x\"\n }\n}", 4, 3, "'ct timeout set' has no effect before", -EINVAL},
    {HDR_POST "  ct timeout set \"nope\"\n }\n}", 4, 18, "ct timeout \"nope\" does not exist",
     -EINVAL},
    {HDR_POST "  ct helper set \"nope\"\n }\n}", 4, 17, "ct helper \"nope\" does not exist",
     -EINVAL},
    {"table ip t {\n ct helper h { type \"sip\" protocol udp; }\n}", 2, 21,
     "helper type \"sip\" does not exist", -EINVAL},
    {"table ip t {\n ct helper h { type \"ftp\" protocol udp; }\n}", 2, 36,
     "helper \"ftp\" works over tcp", -EINVAL},
    {"table ip t {\n ct timeout p { protocol tcp; policy = { bogus: 1 } }\n}", 2, 42,
     "unknown state 'bogus' for protocol tcp", -EINVAL},
    {"table ip t {\n ct timeout p { protocol tcp; policy = { close: 0 } }\n}", 2, 49,
     "a timeout of 0 seconds", -EINVAL},
    {"table ip t {\n ct timeout p { policy = { close: 1 } }\n}", 2, 17,
     "'protocol' must come before 'policy'", -EINVAL},
    {HDR "  drop accept\n }\n}", 4, 8, "after the verdict", -EINVAL},
    {HDR "  counter ip saddr 1.1.1.1\n }\n}", 4, 11, "match after a statement", -EINVAL},
    {HDR "  ip saddr @nope drop\n }\n}", 4, 12, "set @nope does not exist", -EINVAL},
    {HDR "  ip saddr { } drop\n }\n}", 4, 12, "empty set", -EINVAL},
    {HDR "  ip6 saddr ::1 drop\n }\n}", 4, 3, "'ip6' in a table of family ip", -EINVAL},
    {HDR "  meta oifname \"x\" drop\n }\n}", 4, 8, "unsupported: 'meta oifname'", -EINVAL},
    {HDR "  ct label set 1\n }\n}", 4, 6, "unsupported: 'ct label'", -EINVAL},
    {HDR "  ct zone set meta mark map { 1 : 2, 1 : 3 }\n }\n}", 4, 0, "overlapping keys", -EINVAL},
    {HDR "  ip saddr 1.1.1.1 drop\n", 5, 1, "chain c: '}' missing", -EINVAL},
    {HDR "  ip saddr \"1.1.1.1\n }\n}", 4, 12, "unterminated string", -EINVAL},
    {HDR "  ip saddr $x drop\n }\n}", 4, 12, "undefined variable $x", -EINVAL},
    {HDR "  ip saddr 1.1.1.1 ^\n }\n}", 4, 20, "unexpected character '^'", -EINVAL},
    {"define x = 1\ndefine x = 2\n", 2, 8, "define x: already defined", -EINVAL},
    {HDR "  tcp dport < 0 drop\n }\n}", 4, 15, "the comparison matches nothing", -EINVAL},
    {HDR "  ct state foo\n }\n}", 4, 3, "'ct state' matches nothing before", -EINVAL},
    {HDR_POST "  ct state foo\n }\n}", 4, 12, "unknown ct state 'foo'", -EINVAL},
    {HDR_POST "  ct event set new,bogus\n }\n}", 4, 20, "unknown ct event 'bogus'", -EINVAL},
    {HDR "  meta l4proto bogus\n }\n}", 4, 16, "unknown protocol 'bogus'", -EINVAL},
    {"table ip t {\n chain c { type filter hook prerouting priority raw; }\n"
     " chain c { type filter hook prerouting priority raw; }\n}",
     3, 8, "chain c: already declared", -EINVAL},
    {HDR "  ip saddr 1.2.3.9-1.2.3 drop\n }\n}", 4, 12, "bad IPv4 range", -EINVAL},
    {"table ip6 t {\n chain c {\n  type filter hook prerouting priority raw\n"
     "  ip6 saddr 2001:db8::g drop\n }\n}",
     4, 13, "bad IPv6 address '2001:db8::g'", -EINVAL},
    {"table ip6 t {\n chain c {\n  type filter hook prerouting priority raw\n"
     "  ip6 saddr ::/129 drop\n }\n}",
     4, 13, "bad IPv6 prefix '::/129'", -EINVAL},
    {"table ip6 t {\n chain c {\n  type filter hook prerouting priority raw\n"
     "  ip6 saddr ::9-::1 drop\n }\n}",
     4, 13, "ends before it starts", -EINVAL},
    {HDR "  meta mark 4294967296\n }\n}", 4, 13, "mark 4294967296 out of range", -EINVAL},
    {HDR "  vlan id x\n }\n}", 4, 11, "vlan id: a number expected, found 'x'", -EINVAL},
    {"table ip t {\n chain c {\n  type filter hook prerouting priority bogus\n }\n}", 3, 40,
     "bad priority 'bogus'", -EINVAL},
    {"table ip t {\n chain c {\n  type filter hook prerouting priority raw - x\n }\n}", 3, 46,
     "bad priority offset 'x'", -EINVAL},
    {"table ip t {\n chain c {\n  type filter hook bogus priority 0\n }\n}", 3, 20,
     "unknown hook 'bogus'", -EINVAL},
    {"table ip t {\n chain c {\n  type filter hook prerouting priority 0\n"
     "  type filter hook output priority 0\n }\n}",
     4, 3, "chain c: a second 'type'", -EINVAL},
    {"table ip t {\n ct timeout p { protocol tcp; }\n ct timeout p { protocol tcp; }\n}", 3, 13,
     "ct timeout p: already declared in this table", -EINVAL},
    {"table ip t {\n ct helper h { protocol tcp; }\n}", 2, 12, "ct helper h: 'type' missing",
     -EINVAL},
    {"table ip t {\n ct timeout p { l3proto ip; }\n}", 2, 13, "ct timeout p: 'protocol' missing",
     -EINVAL},
    {"table ip t {\n ct timeout p { protocol esp; }\n}", 2, 26,
     "no timeout policy for protocol esp", -EINVAL},
    {"table ip t {\n ct timeout p { protocol tcp; l3proto ip6; }\n}", 2, 39,
     "l3proto ip6 in a table of another family", -EINVAL},
    {"table ip t {\n ct timeout p { protocol tcp; bogus 1; }\n}", 2, 31,
     "unsupported in ct timeout: 'bogus'", -EINVAL},
    {"table ip t {\n ct expectation e { }\n}", 2, 5, "unsupported: 'ct expectation' object",
     -EINVAL},
    {"table ip t {\n flowtable f { }\n}", 2, 2, "unsupported in a table: 'flowtable'", -EINVAL},
    {"table ip t {\n set s { type ether_addr; }\n}", 2, 15, "unsupported set type 'ether_addr'",
     -EINVAL},
    {"table ip t {\n set s { type mark; flags dynamic; }\n}", 2, 27,
     "unsupported set flag 'dynamic'", -EINVAL},
    {"table ip t {\n set s { type mark; timeout 1s; }\n}", 2, 21, "unsupported in set: 'timeout'",
     -EINVAL},
    {"table ip t {\n set s { type mark; elements = { 1 }; elements = { 2 } }\n}", 2, 39,
     "set s: a second 'elements'", -EINVAL},
    {"table ip t {\n set s { type mark; }\n set s { type mark; }\n}", 3, 6,
     "set s: already declared in this table", -EINVAL},
    {"table ip t {\n set s { elements = { 1 } }\n}", 2, 10, "'type' must come before 'elements'",
     -EINVAL},
    {"table ip t {\n set s { type mark; }\n chain c {\n"
     "  type filter hook prerouting priority raw\n  ip saddr @s drop\n }\n}",
     5, 12, "set @s: its type does not fit 'ip saddr'", -EINVAL},
    {HDR "  ct zone set meta mark map { 5-1 : 2 }\n }\n}", 4, 31, "range ends before it starts",
     -EINVAL},
    {HDR "  ct zone set meta mark map { 1 2 }\n }\n}", 4, 33, "':' expected, found '2'", -EINVAL},
    {HDR "  ct zone set meta mark map { }\n }\n}", 4, 15, "empty map", -EINVAL},
    {HDR_POST "  ct helper set { }\n }\n}", 4, 17, "an object name expected, found '{'", -EINVAL},
    {HDR "  iifname \"a*b\"\n }\n}", 4, 11, "'*' is a wildcard only at the end", -EINVAL},
    {HDR "  iifname \"0123456789012345678901234567890123456789012345678901234567890123\"\n"
         " }\n}",
     4, 11, "iifname: a name of 1 to 63 bytes expected", -EINVAL},
    {"table ip t {\n chain c {\n  type filter hook prerouting priority raw\n"
     "  ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1"
     " ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1"
     " ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1 ip saddr 1.1.1.1"
     " ip saddr 1.1.1.1 ip saddr 1.1.1.1\n }\n}",
     4, 275, "more than 16 matches in one rule", -E2BIG},
    {HDR "  counter counter counter counter counter counter counter counter counter counter"
         " counter counter counter counter counter counter counter\n }\n}",
     4, 131, "more than 16 statements in one rule", -E2BIG},
    {"define x = { 1\n", 1, 8, "define x: '}' missing", -EINVAL},
    {"define x = }\n", 1, 12, "unbalanced '}'", -EINVAL},
    {"define = 1\n", 1, 8, "define: a variable name expected", -EINVAL},
    {"define x 1\n", 1, 10, "define x: '=' expected", -EINVAL},
    {"define x =\n", 1, 8, "define x: empty value", -EINVAL},
    {"table ip t { chain c { type filter hook prerouting priority raw; ip saddr \x01 } }", 1, 75,
     "unexpected byte 0x01", -EINVAL},
    {"table ip t { chain c { type filter hook prerouting priority raw; ip saddr $ } }", 1, 75,
     "'$' without a name", -EINVAL},
    {"table inet t { chain c { type filter hook prerouting priority raw; ip6 nexthdr 300 } }", 1,
     80, "unknown protocol '300'", -EINVAL},
    {"table ip t { chain c { type filter hook prerouting priority raw; tcp flags syn } }", 1, 70,
     "unsupported: 'tcp flags'", -EINVAL},
    {"table ip t { chain c { type filter hook prerouting priority raw; ct state set new } }", 1, 69,
     "'ct state' cannot be set", -EINVAL},
    {"table ip t { chain c { type filter hook prerouting priority raw; ip saddr < 1.1.1.1 } }", 1,
     77, "'<', '>', '<=' and '>=' are not supported here", -EINVAL},
    {"table ip t { chain c { type filter hook prerouting priority raw; policy maybe; } }", 1, 73,
     "'accept' or 'drop' expected, found 'maybe'", -EINVAL},
    {"table ip t { chain c { policy drop; } }", 1, 24, "'policy' needs a base chain", -EINVAL},
    {"table ip t { chain c { } }", 1, 20, "chain c has no hook", -EINVAL},
    {"table ip t { chain c { type filter hook prerouting device eth0 priority raw; } }", 1, 52,
     "unsupported: 'device'", -EINVAL},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
        const struct bad *b = &bad_inputs[i];
        struct ct_rules_error e;
        int err = 0;
        struct ct_ruleset *rs = ct_ruleset_load(b->text, strlen(b->text), &e, &err);
        CHECK(rs == NULL);
        ct_ruleset_free(rs);
        if (err != b->err || e.line != b->line || e.col != b->col || !strstr(e.msg, b->msg))
            CHECK_FAIL_("case %zu: got %u:%u: %s (%d), expected %u:%u: ...%s... (%d)", i,
                        e.line, e.col, e.msg, err, b->line, b->col, b->msg, b->err);
    }
}

static void test_limits(void)
{
    /* More rules than the limit. */
    size_t cap = 64u * (RULES_MAX_RULES + 10) + 256, len = 0;
    char *t = malloc(cap);
    struct ct_rules_error e;
    int err = 0;
    if (!t)
        return;
    len += (size_t)snprintf(t + len, cap - len, HDR);
    for (unsigned i = 0; i <= RULES_MAX_RULES; i++)
        len += (size_t)snprintf(t + len, cap - len, "  tcp dport %u drop\n", i % 65536);
    len += (size_t)snprintf(t + len, cap - len, " }\n}\n");
    CHECK(ct_ruleset_load(t, len, &e, &err) == NULL);
    CHECK_EQ_I(err, -E2BIG);
    CHECK(strstr(e.msg, "more than 4096 rules") != NULL);
    CHECK_EQ_U(e.line, 4 + RULES_MAX_RULES);
    /* A text larger than the limit. */
    CHECK(ct_ruleset_load(t, RULES_MAX_TEXT + 1, &e, &err) == NULL);
    CHECK_EQ_I(err, -E2BIG);
    free(t);
    /* One past each of the other limits: generated files, each checked
     * for -E2BIG and the limit's message. */
    static const struct {
        const char *head, *item, *tail;
        unsigned count;
        const char *msg;
    } over[] = {
        {"", "table ip t%u { }\n", "", RULES_MAX_TABLES + 1, "more than 16 tables"},
        {"table ip t {\n", " chain c%u { type filter hook prerouting priority raw; }\n", "}\n",
         RULES_MAX_CHAINS + 1, "more than 64 chains"},
        {"table ip t {\n", " ct timeout p%u { protocol tcp; }\n", "}\n",
         RULES_MAX_OBJECTS + 1, "more than 64 ct timeout objects"},
        {"table ip t {\n", " set s%u { type mark; }\n", "}\n", RULES_MAX_SETS + 1,
         "more than 64 sets"},
        {HDR, "  iifname \"if%u\"\n", " }\n}\n", RULES_MAX_IFNAMES + 1,
         "more than 32 different interface names"},
        {"", "define v%u = 1\n", "", RULES_MAX_DEFINES + 1, "more than 256 defines"},
        {HDR "  meta mark {", " %u,", " 0 }\n }\n}\n", RULES_MAX_ELEMS,
         "more than 65536 set and map elements"},
    };
    size_t cap2 = 1u << 20;
    char *g = malloc(cap2);
    for (size_t k = 0; g && k < sizeof(over) / sizeof(over[0]); k++) {
        size_t n = (size_t)snprintf(g, cap2, "%s", over[k].head);
        for (unsigned i = 0; i < over[k].count; i++)
            n += (size_t)snprintf(g + n, cap2 - n, over[k].item, i);
        n += (size_t)snprintf(g + n, cap2 - n, "%s", over[k].tail);
        CHECK(ct_ruleset_load(g, n, &e, &err) == NULL);
        CHECK_EQ_I(err, -E2BIG);
        if (!strstr(e.msg, over[k].msg))
            CHECK_FAIL_("limit %zu: %s", k, e.msg);
    }
    /* A word and a string longer than a token may be. */
    if (g) {
        memset(g, 'a', 300);
        CHECK(ct_ruleset_load(g, 300, &e, &err) == NULL);
        CHECK_EQ_I(err, -E2BIG);
        CHECK(strstr(e.msg, "word longer than 255 bytes") != NULL);
        g[0] = '"';
        g[299] = '"';
        CHECK(ct_ruleset_load(g, 300, &e, &err) == NULL);
        CHECK_EQ_I(err, -E2BIG);
        CHECK(strstr(e.msg, "string longer than 255 bytes") != NULL);
    }
    free(g);
    /* Empty text: an empty ruleset, which passes everything. */
    struct ct_ruleset *rs = ct_ruleset_load("", 0, &e, &err);
    CHECK(rs != NULL);
    CHECK_EQ_I(err, 0);
    ct_ruleset_free(rs);
    CHECK(ct_ruleset_load(NULL, 5, &e, &err) == NULL);
    CHECK_EQ_I(err, -EINVAL);
}

/* ---- sets against a linear reference ------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    /* xorshift64* (Vigna, "An experimental exploration of Marsaglia's
     * xorshift generators"). */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_sets_vs_linear(void)
{
    enum { N = 300, Q = 20000 };
    static struct range32 r[N], raw[N];
    static struct range128 r6[N], raw6[N];
    for (int round = 0; round < 20; round++) {
        uint32_t n = 1 + (uint32_t)(rnd() % N);
        uint32_t span = round % 2 ? 1000 : 0xffffffffu;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t a = (uint32_t)(rnd() % span), b = a + (uint32_t)(rnd() % 20);
            if (b < a)
                b = a;
            raw[i] = r[i] = (struct range32){a, b};
            struct u128 lo = {rnd() % 4, rnd() % 1000}, hi = lo;
            hi.lo += rnd() % 30;
            raw6[i] = r6[i] = (struct range128){lo, hi};
        }
        uint32_t m = ct_rules_merge32(r, n), m6 = ct_rules_merge128(r6, n);
        for (uint32_t i = 1; i < m; i++)
            CHECK(r[i].lo > r[i - 1].hi + 1);
        for (int q = 0; q < Q; q++) {
            uint32_t v = (uint32_t)(rnd() % (span == 1000 ? 1100 : span));
            if (q % 3 == 0)
                v = raw[rnd() % n].lo + (uint32_t)(rnd() % 3) - 1;
            int want = 0;
            for (uint32_t i = 0; i < n; i++)
                want |= v >= raw[i].lo && v <= raw[i].hi;
            if (ct_rules_in32(r, m, v) != want) {
                CHECK_FAIL_("round %d: %u: in32 %d, linear %d", round, v, !want, want);
                return;
            }
            struct u128 w = {rnd() % 5, rnd() % 1100};
            int want6 = 0;
            for (uint32_t i = 0; i < n; i++)
                want6 |= (w.hi == raw6[i].lo.hi && w.lo >= raw6[i].lo.lo && w.lo <= raw6[i].hi.lo);
            if (ct_rules_in128(r6, m6, w) != want6) {
                CHECK_FAIL_("round %d: in128 disagrees", round);
                return;
            }
        }
    }
    /* A full-range element and an element at the top. */
    struct range32 top[2] = {{5, UINT32_MAX}, {UINT32_MAX, UINT32_MAX}};
    CHECK_EQ_U(ct_rules_merge32(top, 2), 1);
    CHECK_EQ_I(ct_rules_in32(top, 1, UINT32_MAX), 1);
    CHECK_EQ_I(ct_rules_in32(top, 1, 4), 0);
}

/* Many addresses through the loader: bisection over a compiled set. */
static void test_big_set_through_rules(void)
{
    size_t cap = 1 << 16, len = 0;
    char *t = malloc(cap);
    static uint32_t addrs[1000];
    if (!t)
        return;
    len += (size_t)snprintf(t + len, cap - len, HDR "  ip saddr {");
    for (int i = 0; i < 1000; i++) {
        addrs[i] = (uint32_t)rnd();
        len += (size_t)snprintf(t + len, cap - len, "%s%u.%u.%u.%u", i ? ", " : " ",
                                addrs[i] >> 24, addrs[i] >> 16 & 255, addrs[i] >> 8 & 255,
                                addrs[i] & 255);
    }
    len += (size_t)snprintf(t + len, cap - len, " } ct zone set 1\n }\n}\n");
    struct ct_ruleset *rs = load(t);
    free(t);
    if (!rs)
        return;
    struct frame f;
    struct ct_rules_out o;
    for (int i = 0; i < 2000; i++) {
        uint32_t a = i < 1000 ? addrs[i] : (uint32_t)rnd();
        int want = 0;
        for (int k = 0; k < 1000; k++)
            want |= addrs[k] == a;
        pre(rs, mk4(&f, 6, a, 1, A(2, 2, 2, 2), 2, 0, 0), 0, &o);
        CHECK_EQ_U(o.zone, want);
    }
    ct_ruleset_free(rs);
}

/* ---- through the packet path ------------------------------------------------ */

/* One committed packet through the table; the descriptor is the caller's. */
static struct ct_verdict run_pkt(struct ct_table *t, struct ct_pkt *p, uint16_t iif,
                                 uint64_t now)
{
    struct ct_verdict v;
    p->iif = iif;
    memset(&v, 0xee, sizeof(v));
    CHECK_EQ_I(ct_process_parsed(t, p, &v, 1, now, CT_PROCESS_COMMIT), 1);
    return v;
}

static void test_path(void)
{
    struct ct_ruleset *rs = load(
        "table inet raw {\n"
        "  ct timeout udp-short { protocol udp; policy = { unreplied: 7 } }\n"
        "  ct helper ftp { type \"ftp\" protocol tcp; }\n"
        "  chain pre {\n"
        "    type filter hook prerouting priority raw\n"
        "    udp dport 53 notrack\n"
        "    udp dport 54 drop\n"
        "    iifname \"lan\" ct zone set 5\n"
        "    udp dport 55 ct original zone set 9\n"
        "  }\n"
        "  chain out {\n"
        "    type filter hook output priority raw\n"
        "    udp dport 58 notrack\n"
        "  }\n"
        "  chain post {\n"
        "    type filter hook prerouting priority filter\n"
        "    tcp dport 21 ct helper set \"ftp\" ct mark set 0x77 ct event set new,destroy\n"
        "    udp dport 55 ct state new ct timeout set \"udp-short\"\n"
        "    udp dport 56 ct state new drop\n"
        "    udp sport 57 ct state established drop\n"
        "    udp dport 57 ct mark set 3\n"
        "    udp dport 59 meta mark 0x99 ct state new drop\n"
        "  }\n"
        "}\n");
    struct ct_table *t = mk_table(64, 0);
    struct frame f;
    struct ct_conn_info ci;
    if (!rs || !t)
        goto out;
    CHECK_EQ_I(ct_ruleset_set_iface(rs, 4, "lan"), 0);
    CHECK_EQ_I(ct_ruleset_attach(t, rs), 0);
    CHECK_EQ_I(ct_ruleset_attach(t, rs), -EEXIST);

    struct ct_verdict v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 53, 0, 0), 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_UNTRACKED);
    CHECK_EQ_U(v.reason, CT_REASON_NOTRACK);
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 54, 0, 0), 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_RULE_DROP);
    CHECK(v.flags & CT_VERDICT_DROP);

    /* Zone from the interface, both directions. */
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 100, 0, 0), 4, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags & CT_VERDICT_DROP, 0);
    CHECK_EQ_I(ct_conn_get_info(t, v.conn, &ci), 0);
    CHECK_EQ_U(ci.zone[0], 5);
    CHECK_EQ_U(ci.zone[1], 5);
    /* The same tuple from another interface is another connection. */
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 100, 0, 0), 3, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_I(ct_conn_get_info(t, v.conn, &ci), 0);
    CHECK_EQ_U(ci.zone[0], 0);

    /* Original-direction zone and a timeout policy. */
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 55, 0, 0), 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_I(ct_conn_get_info(t, v.conn, &ci), 0);
    CHECK_EQ_U(ci.zone[0], 9);
    CHECK_EQ_U(ci.zone[1], 0);
    CHECK(ci.policy != 0);
    CHECK_EQ_U(ci.expires, 1 + 7ull * 1000000000ull);

    /* Helper, ct mark and events of a NEW connection. */
    v = run_pkt(t, mk4(&f, 6, A(1, 1, 1, 1), 1000, A(2, 2, 2, 2), 21, 0, 0), 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_I(ct_conn_get_info(t, v.conn, &ci), 0);
    CHECK_EQ_U(ci.mark, 0x77);
    CHECK_EQ_U(ci.helper, CT_HELPER_FTP);
    CHECK(ci.flags & CT_INFO_F_EVENTS);
    CHECK_EQ_U(ci.events, CT_EVENT_NEW | CT_EVENT_DESTROY);

    /* A NEW connection dropped after conntrack is not created. */
    struct ct_table_stats s0, s1;
    CHECK_EQ_I(ct_table_stats(t, &s0), 0);
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 56, 0, 0), 0, 1);
    CHECK_EQ_U(v.reason, CT_REASON_RULE_DROP);
    CHECK(v.flags & CT_VERDICT_DROP);
    CHECK_EQ_I(ct_table_stats(t, &s1), 0);
    CHECK_EQ_U(s1.created, s0.created);

    /* An existing connection: ct mark set, and a drop of its reply. */
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 57, 0, 0), 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_I(ct_conn_get_info(t, v.conn, &ci), 0);
    CHECK_EQ_U(ci.mark, 3);
    v = run_pkt(t, mk4(&f, 17, A(2, 2, 2, 2), 57, A(1, 1, 1, 1), 1, 0, 0), 0, 2);
    CHECK_EQ_U(v.state, CT_STATE_ESTABLISHED);
    CHECK(v.flags & CT_VERDICT_DROP);

    /* A second NEW packet of a connection without a reply meets the
     * chains too: the created connection was not dropped, this one is. */
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 7, A(2, 2, 2, 2), 59, 0, 0), 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK_EQ_U(v.flags & CT_VERDICT_DROP, 0);
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 7, A(2, 2, 2, 2), 59, 0, 0x99), 0, 2);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.conn != NULL);
    CHECK(v.flags & CT_VERDICT_DROP);

    /* Locally generated packets meet the output chains, not prerouting's. */
    struct ct_pkt *lp = mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 53, 0, 0);
    lp->frame_flags |= CT_FRAME_F_LOCAL;
    v = run_pkt(t, lp, 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    lp = mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 58, 0, 0);
    lp->frame_flags |= CT_FRAME_F_LOCAL;
    v = run_pkt(t, lp, 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_UNTRACKED);

    CHECK_EQ_I(ct_ruleset_attach(NULL, rs), -EINVAL);
    CHECK_EQ_I(ct_ruleset_attach(t, NULL), 0);
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1, A(2, 2, 2, 2), 54, 0, 0), 0, 3);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
out:
    ct_table_destroy(t);
    ct_ruleset_free(rs);
}

/* ---- mutated input ------------------------------------------------------------ */

/* NAT rules through the packet path: attaching enables the table's NAT,
 * the core asks the nat chains for each manip, and a drop there refuses
 * the connection. */
static void test_nat_path(void)
{
    struct ct_ruleset *rs = load("table ip nat {\n"
                                 "  chain pre {\n"
                                 "    type nat hook prerouting priority dstnat\n"
                                 "    tcp dport 80 dnat to 10.0.0.2:8080\n"
                                 "    udp dport 9 drop\n"
                                 "  }\n"
                                 "  chain post {\n"
                                 "    type nat hook postrouting priority srcnat\n"
                                 "    ip saddr 1.1.1.0/24 masquerade\n"
                                 "  }\n"
                                 "}\n");
    struct ct_table *t = mk_table(64, 0), *used = mk_table(64, 0);
    struct frame f;
    struct ct_nat_range r;
    struct ct_nat_stats st;
    struct ct_conn_info ci;
    union ct_addr out = v4a(A(203, 0, 113, 5));
    if (!rs || !t || !used)
        goto out;
    CHECK_EQ_I(ct_nat_stats(t, &st), -ENOTSUP);
    CHECK_EQ_I(ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_MASQUERADE, CT_L3_IPV4, &out), 0);
    CHECK_EQ_I(ct_ruleset_attach(t, rs), 0);
    CHECK_EQ_I(ct_nat_stats(t, &st), 0);

    struct ct_pkt *p = mk4(&f, 6, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 80, 0, 0);
    CHECK_EQ_I(ct_rules_conn_nat(t, p, CT_NAT_MANIP_DST, &p->tuple, &r), 1);
    CHECK_RANGE(&r, MAP | PROTO, v4a(A(10, 0, 0, 2)), v4a(A(10, 0, 0, 2)), 8080, 8080);
    CHECK_EQ_I(ct_nat_range_check(&r, CT_L3_IPV4), 0);

    struct ct_verdict v = run_pkt(t, p, 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_NEW);
    CHECK(v.conn != NULL);
    if (v.conn && ct_conn_get_info(t, v.conn, &ci) == 0) {
        /* The reply comes from the DNAT target to the masquerade address. */
        const struct ct_tuple *rt = &ci.tuple[CT_DIR_REPLY];
        CHECK_EQ_U(ntohl(rt->src.v4), A(10, 0, 0, 2));
        CHECK_EQ_U(rt->sport, 8080);
        CHECK_EQ_U(ntohl(rt->dst.v4), A(203, 0, 113, 5));
    }
    v = run_pkt(t, mk4(&f, 17, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 9, 0, 0), 0, 1);
    CHECK_EQ_U(v.state, CT_STATE_INVALID);
    CHECK_EQ_U(v.reason, CT_REASON_RULE_DROP);

    /* A table that has created connections cannot get NAT any more. */
    run_pkt(used, mk4(&f, 17, A(1, 1, 1, 1), 1000, A(192, 0, 2, 1), 7, 0, 0), 0, 1);
    CHECK_EQ_I(ct_ruleset_attach(used, rs), -EBUSY);
out:
    ct_table_destroy(t);
    ct_table_destroy(used);
    ct_ruleset_free(rs);
}

static const char *const seeds[] = {
    "table inet raw {\n"
    "  set nets { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 1.2.3.4-1.2.3.9 } }\n"
    "  ct timeout t { protocol tcp; l3proto ip; policy = { established: 100, close: 10 } }\n"
    "  ct helper h { type \"ftp\" protocol tcp; }\n"
    "  chain pre { type filter hook prerouting priority raw; policy accept;\n"
    "    iifname \"eth*\" ip saddr @nets tcp dport { 1-5, 22 } ct zone set 1\n"
    "    ip6 daddr fe80::/10 notrack\n"
    "    ct zone set meta mark map { 1 : 10, 2-3 : 20 }\n"
    "    ct original zone set 3 ct reply zone set 4 counter\n"
    "  }\n"
    "  chain post { type filter hook prerouting priority filter;\n"
    "    ct state new ct helper set \"h\" ct event set new,destroy ct mark set 0x10 accept\n"
    "    ct state new tcp dport 22 ct timeout set \"t\"\n"
    "    ct zone != 5 vlan id 7 meta mark 1 drop\n"
    "  }\n"
    "}\n",
    "define p = { 22, 80 }\ntable ip x { chain y { type filter hook output priority -300\n"
    "udp dport $p meta mark set 3; } }\n",
    "table inet n {\n"
    "  chain pre { type nat hook prerouting priority dstnat;\n"
    "    tcp dport 22 dnat ip to 10.0.0.2-10.0.0.5:80-90 random,persistent\n"
    "    meta l4proto tcp dnat ip6 to [2001:db8::1]-[2001:db8::5]:80\n"
    "    meta l4proto tcp dnat ip to tcp dport map { 1-5 : 10.0.0.1, 22 : 10.0.0.2 } : 7\n"
    "    dnat ip prefix to ip daddr map { 2.2.2.0/24 : 10.1.1.0/24 }\n"
    "    redirect fully-random\n"
    "  }\n"
    "  chain post { type nat hook postrouting priority srcnat; policy drop;\n"
    "    ip saddr 10.0.0.0/8 snat ip to ip saddr map { 10.0.0.0/8 : 1.1.1.1-1.1.1.9 }\n"
    "    meta l4proto tcp masquerade to :1024-2000\n"
    "  }\n"
    "}\n",
};

static void test_mutations(void)
{
    static const char alphabet[] = "{}();,=!<>\"$@#\\\n -:/.*+0123456789abcxyz";
    char buf[2048];
    struct frame f;
    struct ct_pkt *p4 = mk4(&f, 6, A(10, 1, 1, 1), 1, A(2, 2, 2, 2), 22, 7, 1);
    struct ct_pkt copy = *p4;
    unsigned loaded = 0;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        ct_ruleset_free(load(seeds[i])); /* each seed is valid before its mutations */
    for (int i = 0; i < 20000; i++) {
        const char *s = seeds[i % 3];
        size_t len = strlen(s);
        memcpy(buf, s, len);
        int edits = 1 + (int)(rnd() % 4);
        for (int k = 0; k < edits; k++) {
            size_t at = (size_t)(rnd() % (len + 1));
            switch (rnd() % 4) {
            case 0: /* replace a byte */
                if (at < len)
                    buf[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
                break;
            case 1: /* delete a run */
                if (at < len) {
                    size_t n = 1 + (size_t)(rnd() % 8);
                    if (at + n > len)
                        n = len - at;
                    memmove(buf + at, buf + at + n, len - at - n);
                    len -= n;
                }
                break;
            case 2: /* insert a byte, a random one now and then */
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = rnd() % 8 ? alphabet[rnd() % (sizeof(alphabet) - 1)]
                                        : (char)rnd();
                    len++;
                }
                break;
            default: /* cut */
                len = at;
                break;
            }
        }
        struct ct_rules_error e;
        int err = 0;
        struct ct_ruleset *rs = ct_ruleset_load(buf, len, &e, &err);
        if (rs) {
            struct ct_rules_out o;
            loaded++;
            CHECK_EQ_I(err, 0);
            *p4 = copy;
            ct_ruleset_set_iface(rs, 1, "eth0");
            pre(rs, p4, 1, &o);
            post(rs, p4, CT_STATE_NEW, 0, 0, &o);
            struct ct_nat_range r;
            union ct_addr a = v4a(A(10, 0, 0, 254));
            ct_ruleset_set_nat_addr(rs, CT_RULES_NAT_MASQUERADE, CT_L3_IPV4, &a);
            int n = ct_rules_eval_nat(rs, p4, CT_NAT_MANIP_DST, &p4->tuple, &r);
            CHECK(n == 0 || n == 1 || n == -EPERM);
            n = ct_rules_eval_nat(rs, p4, CT_NAT_MANIP_SRC, &p4->tuple, &r);
            CHECK(n == 0 || n == 1 || n == -EPERM);
            ct_ruleset_free(rs);
        } else {
            CHECK(err == -EINVAL || err == -E2BIG);
            CHECK(e.msg[0] != 0);
            CHECK(memchr(e.msg, 0, sizeof(e.msg)) != NULL);
        }
    }
    /* Some mutations keep the file valid; most do not. */
    CHECK(loaded > 0);
    CHECK(loaded < 20000);
}

int main(void)
{
    RUN(test_match_addresses_ports);
    RUN(test_match_ip6_meta_vlan_iif);
    RUN(test_proto_names);
    RUN(test_mark_copies);
    RUN(test_match_ct_post);
    RUN(test_statements_pre);
    RUN(test_statements_post_helper);
    RUN(test_named_sets_and_order);
    RUN(test_defines_and_syntax);
    RUN(test_errors);
    RUN(test_limits);
    RUN(test_sets_vs_linear);
    RUN(test_big_set_through_rules);
    RUN(test_path);
    RUN(test_nat_snat_dnat_forms);
    RUN(test_nat_ipv6_forms);
    RUN(test_nat_masquerade_redirect);
    RUN(test_nat_hooks_and_tuple);
    RUN(test_nat_order_verdicts);
    RUN(test_nat_maps);
    RUN(test_nat_path);
    RUN(test_mutations);
    return check_summary();
}
