/*
 * kernel_cases: writes the small, focused captures that the kernel
 * comparison test (tests/golden/kernel_compare.sh) replays through Linux's
 * own nf_conntrack and through `ctrack read`.
 *
 * Usage: kernel_cases [--nat] DIR
 *
 * With --nat it writes the NAT cases instead (nat-*.pcap, each with its
 * NAME.nft), which the NAT comparison (tests/kernel/nat-compare.sh)
 * replays through a routing namespace; see cases_nat().
 *
 * Each case is one classic pcap file (Ethernet, microsecond timestamps) in
 * DIR, named after the behaviour it exercises. A rules case (named
 * rules-*) is a pcapng file whose interfaces carry names (if_name), with an
 * nftables rules file of the same name beside it (NAME.nft): the kernel
 * comparison loads it with `nft -f` in the kernel's namespace and with
 * `ctrack read --rules`, and sends each packet to the interface its capture
 * names (docs/kernel-compare.md). Packets are 1 ms apart unless
 * a case needs a longer gap (UDP's two-second stream rule). Every checksum is
 * correct unless the case is about a wrong one. The file names are printed,
 * one per line, so that the caller can loop over them.
 *
 * Frames, checksums and the pcap format come from tests/support/frames.h and
 * tests/support/pcapfile.h, shared with the unit tests and the other tools;
 * the captures in tests/pcap/cases/ are these bytes, so a change to either
 * header that moves a byte shows in the golden test (tests/golden/pcaps.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/support/frames.h"
#include "../tests/support/pcapfile.h"

/* One direction-independent description of a flow: addresses and ports. */
struct flow {
    int l3;              /* 4 or 6 */
    uint8_t a[16];       /* the originator's address */
    uint8_t b[16];       /* the responder's address */
    uint16_t pa, pb;     /* ports (ICMP: unused) */
};

/* The capture being written and its clock. */
struct cap {
    FILE *f;
    uint64_t t_us;       /* timestamp of the next packet, microseconds */
    const char *name;
    int ng;              /* a pcapng file (a rules case) */
    uint32_t ifid;       /* pcapng: the interface the next packets are captured on */
};

static const char *out_dir;
static int failed;

static void cap_open(struct cap *c, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.pcap", out_dir, name);
    c->f = fopen(path, "wb");
    if (!c->f) {
        fprintf(stderr, "kernel_cases: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    c->t_us = 1700000000ull * 1000000ull;
    c->name = name;
    c->ng = 0;
    c->ifid = 0;
    if (pcap_write_header(c->f, PCAP_MAGIC_USEC, 65535, 1 /* LINKTYPE_ETHERNET */) != 0)
        failed = 1;
}

static void cap_close(struct cap *c)
{
    if (fclose(c->f) != 0)
        failed = 1;
    printf("%s.%s\n", c->name, c->ng ? "pcapng" : "pcap");
}

/*
 * Opens a rules case: NAME.pcapng with one Ethernet interface per name in
 * `ifnames` (the interface ids are their indexes; packets go to interface 0
 * until cap_iface() says otherwise), and NAME.nft holding `rules`.
 */
static void cap_open_rules(struct cap *c, const char *name, const char *const *ifnames, unsigned n,
                           const char *rules)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.nft", out_dir, name);
    FILE *r = fopen(path, "w");
    if (!r) {
        fprintf(stderr, "kernel_cases: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (fputs(rules, r) < 0 || fclose(r) != 0)
        failed = 1;
    snprintf(path, sizeof(path), "%s/%s.pcapng", out_dir, name);
    c->f = fopen(path, "wb");
    if (!c->f) {
        fprintf(stderr, "kernel_cases: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    c->t_us = 1700000000ull * 1000000ull;
    c->name = name;
    c->ng = 1;
    c->ifid = 0;
    if (pcapng_write_shb(c->f) != 0)
        failed = 1;
    for (unsigned i = 0; i < n; i++)
        if (pcapng_write_idb(c->f, 1 /* LINKTYPE_ETHERNET */, 65535, ifnames[i]) != 0)
            failed = 1;
}

/* The packets that follow are captured on interface `ifid` of a rules case. */
static void cap_iface(struct cap *c, uint32_t ifid)
{
    c->ifid = ifid;
}

/* Writes one frame stamped with the capture clock, then moves it on 1 ms. */
static void cap_frame(struct cap *c, const uint8_t *frame, size_t len)
{
    if (c->ng) {
        if (pcapng_write_epb(c->f, c->ifid, c->t_us * 1000u, frame, (uint32_t)len,
                             (uint32_t)len) != 0)
            failed = 1;
        c->t_us += 1000;
        return;
    }
    if (pcap_write_record(c->f, (uint32_t)(c->t_us / 1000000u), (uint32_t)(c->t_us % 1000000u), frame,
                          (uint32_t)len, (uint32_t)len) != 0)
        failed = 1;
    c->t_us += 1000;
}

static void cap_wait_ms(struct cap *c, unsigned ms)
{
    c->t_us += (uint64_t)ms * 1000u;
}

/*
 * Builds Ethernet + IP (IPv4: identification 0x1234, DF) around an L4
 * segment of l4len bytes already written at frame + l4_at(fl), fills its
 * transport checksum (TCP, UDP, ICMP, ICMPv6; none for other protocols)
 * unless `no_csum`, spoils it if `corrupt`, and writes the frame. dir 0
 * sends a->b.
 */
static void emit_ip(struct cap *c, const struct flow *fl, int dir, uint8_t proto,
                    uint8_t *frame, size_t l4len, int no_csum, int corrupt)
{
    static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
    static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
    const uint8_t *src = dir ? fl->b : fl->a;
    const uint8_t *dst = dir ? fl->a : fl->b;
    int v6 = fl->l3 == 6;
    size_t off = eth_header(frame, dir ? mac_a : mac_b, dir ? mac_b : mac_a, NULL, 0, v6 ? 0x86dd : 0x0800);
    uint8_t *ip = frame + off;
    if (v6) {
        off += ipv6_header(ip, proto, src, dst, l4len);
        if (!no_csum)
            ipv6_fill_transport_checksum(ip, 40, proto, NULL);
    } else {
        off += ipv4_header(ip, proto, get_be32(src), get_be32(dst), 0x1234, NULL, 0, l4len);
        ipv4_set_frag(ip, 0x4000);
        if (!no_csum)
            ipv4_fill_transport_checksum(ip);
    }
    if (corrupt) {
        uint8_t *ck = frame + off + transport_checksum_offset(proto, v6);
        put_be16(ck, get_be16(ck) ^ 0x5555);
    }
    cap_frame(c, frame, off + l4len);
}

static size_t l4_at(const struct flow *fl)
{
    return 14 + (fl->l3 == 4 ? 20u : 40u);
}

/* TCP option sets for SYNs. */
enum { OPT_NONE = 0, OPT_SYN = 1 };

/* Writes a TCP segment with `len` payload bytes (filled with 'x'). */
static void tcp_seg(struct cap *c, const struct flow *fl, int dir, uint8_t flags,
                    uint32_t seq, uint32_t ack, uint16_t win, size_t len,
                    int opts, int corrupt)
{
    /* MSS 1460, SACK permitted, window scale 7, then padding. */
    static const uint8_t syn_opts[12] = {2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1, 1, 1};
    static uint8_t frame[16384];
    uint8_t *t = frame + l4_at(fl);
    size_t hl = tcp_header(t, dir ? fl->pb : fl->pa, dir ? fl->pa : fl->pb, seq, ack, flags, win, syn_opts,
                           opts == OPT_SYN ? sizeof(syn_opts) : 0);
    memset(t + hl, 'x', len);
    emit_ip(c, fl, dir, IPPROTO_TCP, frame, hl + len, 0, corrupt);
}

/* Writes a TCP segment carrying `len` bytes of `data` (an application's
   text, for the helpers' cases). */
static void tcp_data(struct cap *c, const struct flow *fl, int dir, uint8_t flags, uint32_t seq,
                     uint32_t ack, const void *data, size_t len)
{
    static uint8_t frame[16384];
    uint8_t *t = frame + l4_at(fl);
    size_t hl = tcp_header(t, dir ? fl->pb : fl->pa, dir ? fl->pa : fl->pb, seq, ack, flags, 509,
                           NULL, 0);
    memcpy(t + hl, data, len);
    emit_ip(c, fl, dir, IPPROTO_TCP, frame, hl + len, 0, 0);
}

/* A UDP datagram carrying `len` bytes of `data`. */
static void udp_data(struct cap *c, const struct flow *fl, int dir, const void *data, size_t len)
{
    static uint8_t frame[16384];
    uint8_t *u = frame + l4_at(fl);
    size_t hl = udp_header(u, dir ? fl->pb : fl->pa, dir ? fl->pa : fl->pb, len);
    memcpy(u + hl, data, len);
    emit_ip(c, fl, dir, IPPROTO_UDP, frame, hl + len, 0, 0);
}

/* With zero_csum the checksum field stays zero: "no checksum" over IPv4. */
static void udp_dgram(struct cap *c, const struct flow *fl, int dir, size_t len,
                      int corrupt, int zero_csum)
{
    static uint8_t frame[16384];
    uint8_t *u = frame + l4_at(fl);
    size_t hl = udp_header(u, dir ? fl->pb : fl->pa, dir ? fl->pa : fl->pb, len);
    memset(u + hl, 'u', len);
    emit_ip(c, fl, dir, IPPROTO_UDP, frame, hl + len, zero_csum, corrupt);
}

/* ICMP or ICMPv6 echo request (reply = 0) or reply (reply = 1). */
static void icmp_echo(struct cap *c, const struct flow *fl, int dir, int reply,
                      uint16_t id, uint16_t seq)
{
    static uint8_t frame[2048];
    uint8_t *m = frame + l4_at(fl);
    int v6 = fl->l3 == 6;
    size_t hl = icmp_header(m, v6 ? (reply ? 129 : 128) : (reply ? 0 : 8), 0, id, seq);
    memset(m + hl, 'p', 32);
    emit_ip(c, fl, dir, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, frame, hl + 32, 0, 0);
}

/*
 * An ICMP error of type/code sent from `from` (an address of the flow's
 * family) to the originator of `inner`, quoting a packet of `inner` sent in
 * direction 0 (its IP header and the first 8 bytes of its transport header).
 */
static void icmp_error(struct cap *c, const struct flow *inner, uint8_t inner_proto,
                       const uint8_t *from, uint8_t type, uint8_t code)
{
    static uint8_t frame[2048];
    struct flow outer = *inner;
    memcpy(outer.b, from, 16);
    uint8_t *m = frame + l4_at(inner);
    size_t hl = icmp_header(m, type, code, 0, 0);
    /* The quoted packet: UDP with 16 payload bytes, or a bare TCP or SCTP header. */
    uint8_t *q = m + hl;
    size_t inner_l4len = inner_proto == IPPROTO_UDP ? 24 : 20;
    size_t qh = inner->l3 == 6
                    ? ipv6_header(q, inner_proto, inner->a, inner->b, inner_l4len)
                    : ipv4_header(q, inner_proto, get_be32(inner->a), get_be32(inner->b), 0, NULL, 0, inner_l4len);
    uint8_t *l4 = q + qh;
    if (inner_proto == IPPROTO_UDP) {
        udp_header(l4, inner->pa, inner->pb, inner_l4len - 8);
    } else {
        /* Ports, then TCP's sequence number or SCTP's verification tag. */
        put_be16(l4, inner->pa);
        put_be16(l4 + 2, inner->pb);
        put_be32(l4 + 4, 1001);
    }
    /* The error travels from `from` to the inner packet's source. */
    emit_ip(c, &outer, 1, inner->l3 == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, frame, hl + qh + 8, 0, 0);
}

/* CRC32c (Castagnoli), bit by bit: SCTP's checksum. */
static uint32_t crc32c(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* A packet of IP protocol `proto` carrying `payload` as it is: no checksum
   is filled in (GRE has none here, SCTP's CRC32c is the caller's). */
static void raw_proto(struct cap *c, const struct flow *fl, int dir, uint8_t proto,
                      const uint8_t *payload, size_t len)
{
    static uint8_t frame[2048];
    memcpy(frame + l4_at(fl), payload, len);
    emit_ip(c, fl, dir, proto, frame, len, 1, 0);
}

static struct flow flow4(const char *a, const char *b, uint16_t pa, uint16_t pb)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.l3 = 4;
    inet_pton(AF_INET, a, f.a);
    inet_pton(AF_INET, b, f.b);
    f.pa = pa;
    f.pb = pb;
    return f;
}

static struct flow flow6(const char *a, const char *b, uint16_t pa, uint16_t pb)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.l3 = 6;
    inet_pton(AF_INET6, a, f.a);
    inet_pton(AF_INET6, b, f.b);
    f.pa = pa;
    f.pb = pb;
    return f;
}

/* Flags, spelled as tcpdump prints them. */
enum { F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10 };

/* SYN, SYN/ACK, ACK with window scaling; client ISN ci, server ISN si. */
static void handshake(struct cap *c, const struct flow *fl, uint32_t ci, uint32_t si)
{
    tcp_seg(c, fl, 0, S, ci, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(c, fl, 1, S | A, si, ci + 1, 65160, 0, OPT_SYN, 0);
    tcp_seg(c, fl, 0, A, ci + 1, si + 1, 502, 0, OPT_NONE, 0);
}

/* Handshake, one request and one answer, each acknowledged. */
static void exchange(struct cap *c, const struct flow *fl, uint32_t ci, uint32_t si)
{
    handshake(c, fl, ci, si);
    tcp_seg(c, fl, 0, P | A, ci + 1, si + 1, 502, 100, OPT_NONE, 0);
    tcp_seg(c, fl, 1, A, si + 1, ci + 101, 509, 0, OPT_NONE, 0);
    tcp_seg(c, fl, 1, P | A, si + 1, ci + 101, 509, 200, OPT_NONE, 0);
    tcp_seg(c, fl, 0, A, ci + 101, si + 201, 501, 0, OPT_NONE, 0);
}

/* Orderly close after exchange(): client FIN first. */
static void close_fin(struct cap *c, const struct flow *fl, uint32_t ci, uint32_t si)
{
    tcp_seg(c, fl, 0, F | A, ci + 101, si + 201, 501, 0, OPT_NONE, 0);
    tcp_seg(c, fl, 1, A, si + 201, ci + 102, 509, 0, OPT_NONE, 0);
    tcp_seg(c, fl, 1, F | A, si + 201, ci + 102, 509, 0, OPT_NONE, 0);
    tcp_seg(c, fl, 0, A, ci + 102, si + 202, 501, 0, OPT_NONE, 0);
}

static void cases_tcp(void)
{
    struct cap c;
    struct flow fl;

    cap_open(&c, "tcp-full-close");
    fl = flow4("10.1.0.1", "10.2.0.1", 40001, 80);
    exchange(&c, &fl, 1000, 5000);
    close_fin(&c, &fl, 1000, 5000);
    cap_close(&c);

    cap_open(&c, "tcp-established");
    fl = flow4("10.1.0.1", "10.2.0.1", 40002, 80);
    exchange(&c, &fl, 1000, 5000);
    cap_close(&c);

    cap_open(&c, "tcp-refused");
    fl = flow4("10.1.0.1", "10.2.0.1", 40003, 81);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, R | A, 0, 1001, 0, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-half-open");
    fl = flow4("10.1.0.1", "10.2.0.1", 40004, 82);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-syn-recv");
    fl = flow4("10.1.0.1", "10.2.0.1", 40005, 80);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, S | A, 5000, 1001, 65160, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-out-of-window");
    fl = flow4("10.1.0.1", "10.2.0.1", 40006, 80);
    exchange(&c, &fl, 1000, 5000);
    /* Far past the receiver's window, then an ACK for data never sent. */
    tcp_seg(&c, &fl, 0, P | A, 1000 + 50000000, 5201, 501, 10, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, A, 5201, 1101 + 9000000, 509, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-retransmission");
    fl = flow4("10.1.0.1", "10.2.0.1", 40007, 80);
    handshake(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 0, P | A, 1001, 5001, 502, 100, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, P | A, 1001, 5001, 502, 100, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, P | A, 1001, 5001, 502, 100, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, A, 5001, 1101, 509, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-simultaneous-open");
    fl = flow4("10.1.0.1", "10.2.0.1", 40008, 40009);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, S, 5000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 0, S | A, 1000, 5001, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, S | A, 5000, 1001, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 0, A, 1001, 5001, 502, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, A, 5001, 1001, 502, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-simultaneous-syn");
    fl = flow4("10.1.0.1", "10.2.0.1", 40010, 40011);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, S, 5000, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-time-wait-reuse");
    fl = flow4("10.1.0.1", "10.2.0.1", 40012, 80);
    exchange(&c, &fl, 1000, 5000);
    close_fin(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 0, S, 900000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, S | A, 700000, 900001, 65160, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-midstream");
    fl = flow4("10.1.0.1", "10.2.0.1", 40013, 80);
    tcp_seg(&c, &fl, 0, P | A, 3000, 7000, 502, 100, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, A, 7000, 3100, 509, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, P | A, 7000, 3100, 509, 50, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-midstream-oneway");
    fl = flow4("10.1.0.1", "10.2.0.1", 40014, 80);
    tcp_seg(&c, &fl, 0, P | A, 3000, 7000, 502, 100, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, P | A, 3100, 7000, 502, 100, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-rst-established");
    fl = flow4("10.1.0.1", "10.2.0.1", 40015, 80);
    exchange(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 1, R | A, 5201, 1101, 0, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-rst-out-of-window");
    fl = flow4("10.1.0.1", "10.2.0.1", 40016, 80);
    exchange(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 1, R, 5201 + 40000000, 0, 0, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-bad-flags");
    fl = flow4("10.1.0.1", "10.2.0.1", 40017, 80);
    tcp_seg(&c, &fl, 0, S | F, 1000, 0, 64240, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, 0, 1000, 0, 64240, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, S | R, 1000, 0, 64240, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-bad-checksum");
    fl = flow4("10.1.0.1", "10.2.0.1", 40018, 80);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 1);
    fl.pa = 40019;
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-syn-in-established");
    fl = flow4("10.1.0.1", "10.2.0.1", 40020, 80);
    exchange(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 0, S, 123456, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-bad-synack");
    fl = flow4("10.1.0.1", "10.2.0.1", 40021, 80);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, S | A, 5000, 77777, 65160, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-window-scale");
    fl = flow4("10.1.0.1", "10.2.0.1", 40022, 80);
    handshake(&c, &fl, 1000, 5000);
    /* 4000 bytes fit the scaled window (509 << 7), not the raw one. */
    tcp_seg(&c, &fl, 1, A, 5001, 1001, 509, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, P | A, 1001, 5001, 502, 4000, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, A, 5001, 5001, 509, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-server-close-first");
    fl = flow4("10.1.0.1", "10.2.0.1", 40023, 80);
    exchange(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 1, F | A, 5201, 1101, 509, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, A, 1101, 5202, 501, 0, OPT_NONE, 0);
    cap_close(&c);

    /* Packets Linux accepts without counting them or renewing the timeout.
     * The pauses of 2.9 s exceed the comparison's 2 s tolerance, so a
     * renewed timeout would show. */
    cap_open(&c, "tcp-syn-retransmit-late");
    fl = flow4("10.1.0.1", "10.2.0.1", 40040, 82);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    cap_wait_ms(&c, 2900);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-simultaneous-syn-late");
    fl = flow4("10.1.0.1", "10.2.0.1", 40041, 40042);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    cap_wait_ms(&c, 2900);
    tcp_seg(&c, &fl, 1, S, 5000, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    cap_open(&c, "tcp-syn-in-established-late");
    fl = flow4("10.1.0.1", "10.2.0.1", 40043, 80);
    exchange(&c, &fl, 1000, 5000);
    cap_wait_ms(&c, 2900);
    tcp_seg(&c, &fl, 0, S, 123456, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    /* Once a reply was seen, even an ignored one (an ACK answering the SYN
     * for an older connection), a SYN in SYN_SENT counts and renews. */
    cap_open(&c, "tcp-syn-after-ignored-reply");
    fl = flow4("10.1.0.1", "10.2.0.1", 40044, 80);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(&c, &fl, 1, A, 777, 4242, 509, 0, OPT_NONE, 0);
    cap_wait_ms(&c, 2900);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    cap_close(&c);

    /* Out-of-window FIN and RST on an assured connection (ACK numbers of
     * data never seen): a crossing pair cuts the timeout to 300 s. */
    cap_open(&c, "tcp-invalid-fin-exchange");
    fl = flow4("10.1.0.1", "10.2.0.1", 40045, 80);
    exchange(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 0, F | A, 1101, 5201 + 100000, 501, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, F | A, 5201, 1101 + 100000, 509, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, A, 1102, 5202 + 100000, 501, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-invalid-fin-one-side");
    fl = flow4("10.1.0.1", "10.2.0.1", 40046, 80);
    exchange(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 0, F | A, 1101, 5201 + 100000, 501, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 0, F | A, 1101, 5201 + 100000, 501, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, A, 5201, 1101 + 100000, 509, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-invalid-fin-rst");
    fl = flow4("10.1.0.1", "10.2.0.1", 40047, 80);
    exchange(&c, &fl, 1000, 5000);
    tcp_seg(&c, &fl, 0, F | A, 1101, 5201 + 100000, 501, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, R, 5201 + 40000000, 0, 0, 0, OPT_NONE, 0);
    cap_close(&c);

    /* The same exchange after a pause: Linux counts the 300 s from the
     * second FIN. */
    cap_open(&c, "tcp-invalid-fin-exchange-late");
    fl = flow4("10.1.0.1", "10.2.0.1", 40048, 80);
    exchange(&c, &fl, 1000, 5000);
    cap_wait_ms(&c, 2900);
    tcp_seg(&c, &fl, 0, F | A, 1101, 5201 + 100000, 501, 0, OPT_NONE, 0);
    tcp_seg(&c, &fl, 1, F | A, 5201, 1101 + 100000, 509, 0, OPT_NONE, 0);
    cap_close(&c);

    cap_open(&c, "tcp-ipv6");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 40024, 443);
    exchange(&c, &fl, 1000, 5000);
    close_fin(&c, &fl, 1000, 5000);
    fl.pa = 40025;
    handshake(&c, &fl, 2000, 6000);
    cap_close(&c);
}

static void cases_udp_icmp(void)
{
    struct cap c;
    struct flow fl, fl2;
    uint8_t router[16];

    cap_open(&c, "udp-oneway");
    fl = flow4("10.1.0.1", "10.2.0.1", 50001, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 0, 40, 0, 0);
    cap_close(&c);

    cap_open(&c, "udp-request-reply");
    fl = flow4("10.1.0.1", "10.2.0.1", 50002, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 90, 0, 0);
    cap_close(&c);

    cap_open(&c, "udp-stream");
    fl = flow4("10.1.0.1", "10.2.0.1", 50003, 5004);
    udp_dgram(&c, &fl, 0, 100, 0, 0);
    udp_dgram(&c, &fl, 1, 100, 0, 0);
    udp_dgram(&c, &fl, 0, 100, 0, 0);
    /* Still talking more than two seconds after the first packet. */
    cap_wait_ms(&c, 2600);
    udp_dgram(&c, &fl, 0, 100, 0, 0);
    udp_dgram(&c, &fl, 1, 100, 0, 0);
    cap_close(&c);

    cap_open(&c, "udp-checksums");
    fl = flow4("10.1.0.1", "10.2.0.1", 50004, 53);
    udp_dgram(&c, &fl, 0, 30, 1, 0);
    fl.pa = 50005;
    udp_dgram(&c, &fl, 0, 30, 0, 1);
    cap_close(&c);

    cap_open(&c, "udp-ipv6");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 50006, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 60, 0, 0);
    fl.pa = 50007;
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    cap_close(&c);

    cap_open(&c, "icmp-echo");
    fl = flow4("10.1.0.1", "10.2.0.1", 0, 0);
    icmp_echo(&c, &fl, 0, 0, 0x1111, 1);
    icmp_echo(&c, &fl, 1, 1, 0x1111, 1);
    icmp_echo(&c, &fl, 0, 0, 0x2222, 1);
    icmp_echo(&c, &fl, 0, 0, 0x2222, 2);
    /* A reply nobody asked for. */
    icmp_echo(&c, &fl, 1, 1, 0x3333, 1);
    cap_close(&c);

    cap_open(&c, "icmp-error-related");
    fl = flow4("10.1.0.1", "10.2.0.1", 50008, 33434);
    udp_dgram(&c, &fl, 0, 16, 0, 0);
    /* Port unreachable from the destination, then TTL exceeded from a router. */
    icmp_error(&c, &fl, IPPROTO_UDP, fl.b, 3, 3);
    inet_pton(AF_INET, "10.9.9.9", router);
    icmp_error(&c, &fl, IPPROTO_UDP, router, 11, 0);
    /* An error about a connection that does not exist. */
    fl2 = flow4("10.1.0.1", "10.2.0.1", 50009, 33435);
    icmp_error(&c, &fl2, IPPROTO_UDP, fl2.b, 3, 3);
    cap_close(&c);

    cap_open(&c, "icmp-error-tcp");
    fl = flow4("10.1.0.1", "10.2.0.1", 40030, 80);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_SYN, 0);
    inet_pton(AF_INET, "10.9.9.9", router);
    icmp_error(&c, &fl, IPPROTO_TCP, router, 3, 1);
    cap_close(&c);

    cap_open(&c, "icmpv6");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 0, 0);
    icmp_echo(&c, &fl, 0, 0, 0x4444, 1);
    icmp_echo(&c, &fl, 1, 1, 0x4444, 1);
    icmp_echo(&c, &fl, 0, 0, 0x5555, 1);
    fl2 = flow6("2001:db8:1::1", "2001:db8:2::1", 50010, 33434);
    udp_dgram(&c, &fl2, 0, 16, 0, 0);
    icmp_error(&c, &fl2, IPPROTO_UDP, fl2.b, 1, 4);
    cap_close(&c);
}

static void cases_other(void)
{
    struct cap c;
    struct flow fl;
    uint8_t payload[64];

    cap_open(&c, "generic-proto");
    fl = flow4("10.1.0.1", "10.2.0.1", 0, 0);
    memset(payload, 0x42, sizeof(payload));
    raw_proto(&c, &fl, 0, 253, payload, 24);
    raw_proto(&c, &fl, 1, 253, payload, 32);
    raw_proto(&c, &fl, 0, 253, payload, 24);
    cap_close(&c);

    cap_open(&c, "gre");
    /* GRE version 0 carrying IPv4, no key. */
    memset(payload, 0, sizeof(payload));
    put_be16(payload + 2, 0x0800);
    raw_proto(&c, &fl, 0, IPPROTO_GRE, payload, 4 + 20);
    raw_proto(&c, &fl, 1, IPPROTO_GRE, payload, 4 + 20);
    cap_close(&c);

    cap_open(&c, "sctp-init");
    /* An SCTP INIT chunk with a correct CRC32c. */
    memset(payload, 0, sizeof(payload));
    put_be16(payload, 5000);
    put_be16(payload + 2, 7000);
    payload[12] = 1;                       /* INIT */
    put_be16(payload + 14, 20);
    put_be32(payload + 16, 0x01020304);       /* initiate tag */
    put_be32(payload + 20, 65536);
    put_be16(payload + 24, 1);
    put_be16(payload + 26, 1);
    put_be32(payload + 28, 1);
    put_le32(payload + 8, crc32c(payload, 32));
    raw_proto(&c, &fl, 0, IPPROTO_SCTP, payload, 32);
    cap_close(&c);
}

/* ---- GRE and SCTP -------------------------------------------------------------- */

/* SCTP chunk types (RFC 9260 section 3.2). */
enum {
    SCTP_DATA = 0,
    SCTP_INIT = 1,
    SCTP_INIT_ACK = 2,
    SCTP_SACK = 3,
    SCTP_HEARTBEAT = 4,
    SCTP_HEARTBEAT_ACK = 5,
    SCTP_ABORT = 6,
    SCTP_SHUTDOWN = 7,
    SCTP_SHUTDOWN_ACK = 8,
    SCTP_COOKIE_ECHO = 10,
    SCTP_COOKIE_ACK = 11,
    SCTP_SHUTDOWN_COMPLETE = 14,
};

/*
 * Appends one chunk of `type` to buf at *len: INIT and INIT ACK carry the
 * Initiate Tag `tag` (RFC 9260 sections 3.3.2, 3.3.3), DATA four payload
 * bytes, SACK, HEARTBEAT (an information parameter), SHUTDOWN and COOKIE
 * ECHO the smallest bodies their sections allow; `flags` is the chunk's
 * flags byte (the T bit of ABORT and SHUTDOWN COMPLETE is 0x01).
 */
static void sctp_chunk(uint8_t *buf, size_t *len, uint8_t type, uint8_t flags, uint32_t tag)
{
    uint8_t *ch = buf + *len;
    size_t n = 4;
    memset(ch, 0, 20);
    ch[0] = type;
    ch[1] = flags;
    switch (type) {
    case SCTP_INIT:
    case SCTP_INIT_ACK:
        put_be32(ch + 4, tag);
        put_be32(ch + 8, 65536);   /* advertised receiver window */
        put_be16(ch + 12, 1);      /* outbound streams */
        put_be16(ch + 14, 1);      /* inbound streams */
        put_be32(ch + 16, 1);      /* initial TSN */
        n = 20;
        break;
    case SCTP_DATA:
        ch[1] = (uint8_t)(flags | 0x03); /* unfragmented */
        put_be32(ch + 4, tag);     /* TSN */
        memcpy(ch + 16, "data", 4);
        n = 20;
        break;
    case SCTP_SACK:
        put_be32(ch + 4, tag);     /* cumulative TSN */
        put_be32(ch + 8, 65536);
        n = 16;
        break;
    case SCTP_HEARTBEAT:
    case SCTP_HEARTBEAT_ACK:
        put_be16(ch + 4, 1);       /* heartbeat information */
        put_be16(ch + 6, 8);
        put_be32(ch + 8, 0x12345678);
        n = 12;
        break;
    case SCTP_SHUTDOWN:
        put_be32(ch + 4, tag);     /* cumulative TSN */
        n = 8;
        break;
    case SCTP_COOKIE_ECHO:
        put_be32(ch + 4, 0xc00c1e00u);
        n = 8;
        break;
    default:
        break;
    }
    put_be16(ch + 2, (uint16_t)n);
    *len += n;
}

/*
 * Sends an SCTP packet of the flow in direction dir: the common header with
 * verification tag `vtag`, the `clen` bytes of chunks, and a CRC32c
 * (RFC 9260 appendix A, least significant byte first), spoiled if `corrupt`.
 */
static void sctp_send(struct cap *c, const struct flow *fl, int dir, uint32_t vtag,
                      const uint8_t *chunks, size_t clen, int corrupt)
{
    uint8_t pkt[512];
    put_be16(pkt, dir ? fl->pb : fl->pa);
    put_be16(pkt + 2, dir ? fl->pa : fl->pb);
    put_be32(pkt + 4, vtag);
    memset(pkt + 8, 0, 4);
    memcpy(pkt + 12, chunks, clen);
    uint32_t crc = crc32c(pkt, 12 + clen);
    put_le32(pkt + 8, corrupt ? crc ^ 0x5555u : crc);
    raw_proto(c, fl, dir, IPPROTO_SCTP, pkt, 12 + clen);
}

/* One chunk in one packet. */
static void sctp1(struct cap *c, const struct flow *fl, int dir, uint32_t vtag, uint8_t type,
                  uint8_t flags, uint32_t tag)
{
    uint8_t ch[64];
    size_t n = 0;
    sctp_chunk(ch, &n, type, flags, tag);
    sctp_send(c, fl, dir, vtag, ch, n, 0);
}

/* The tags of the cases' associations: the originator's and the responder's. */
#define TAG_A 0x0a0a0a0au
#define TAG_B 0x0b0b0b0bu

/* The four-way handshake (RFC 9260 section 5.1): ESTABLISHED and ASSURED. */
static void sctp_handshake(struct cap *c, const struct flow *fl)
{
    sctp1(c, fl, 0, 0, SCTP_INIT, 0, TAG_A);
    sctp1(c, fl, 1, TAG_A, SCTP_INIT_ACK, 0, TAG_B);
    sctp1(c, fl, 0, TAG_B, SCTP_COOKIE_ECHO, 0, 0);
    sctp1(c, fl, 1, TAG_A, SCTP_COOKIE_ACK, 0, 0);
}

/*
 * A GRE packet (RFC 2784): version 0 with protocol type `ptype`, or version
 * 1, the enhanced GRE of PPTP (RFC 2637 section 4.1), with the key bit, the
 * payload length and call ID `call`; `plen` payload bytes follow.
 */
static void gre_send(struct cap *c, const struct flow *fl, int dir, int v1, uint16_t ptype,
                     uint16_t call, size_t plen)
{
    uint8_t pkt[256];
    size_t hl = v1 ? 8 : 4;
    memset(pkt, 0, sizeof(pkt));
    put_be16(pkt, v1 ? 0x2001 : 0x0000);
    put_be16(pkt + 2, ptype);
    if (v1) {
        put_be16(pkt + 4, (uint16_t)plen);
        put_be16(pkt + 6, call);
    }
    memset(pkt + hl, 0x7e, plen);
    raw_proto(c, fl, dir, IPPROTO_GRE, pkt, hl + plen);
}

static void cases_gre_sctp(void)
{
    struct cap c;
    struct flow fl;
    uint8_t ch[128];
    size_t n;

    /* GRE: both directions, then a third packet that makes it a stream
       (ASSURED, 180 s), keyed by addresses only in version 0. */
    cap_open(&c, "gre-stream");
    fl = flow4("10.1.0.1", "10.2.0.1", 0, 0);
    gre_send(&c, &fl, 0, 0, 0x0800, 0, 24);
    gre_send(&c, &fl, 1, 0, 0x0800, 0, 24);
    gre_send(&c, &fl, 0, 0, 0x0800, 0, 24);
    gre_send(&c, &fl, 1, 0, 0x86dd, 0, 44);
    cap_close(&c);

    /* PPTP's GRE: each side sends with the peer's call ID, so without the
       PPTP helper each direction is its own connection (dstkey = call ID);
       a version 1 packet not carrying PPP is INVALID. */
    cap_open(&c, "gre-pptp");
    fl = flow4("10.1.0.3", "10.2.0.3", 0, 0);
    gre_send(&c, &fl, 0, 1, 0x880b, 0x1234, 20);
    gre_send(&c, &fl, 1, 1, 0x880b, 0x5678, 20);
    gre_send(&c, &fl, 0, 1, 0x880b, 0x1234, 30);
    gre_send(&c, &fl, 0, 1, 0x0800, 0x1234, 20);
    cap_close(&c);

    cap_open(&c, "gre-ipv6");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 0, 0);
    gre_send(&c, &fl, 0, 0, 0x86dd, 0, 40);
    gre_send(&c, &fl, 1, 0, 0x86dd, 0, 40);
    cap_close(&c);

    /* SCTP: handshake with DATA bundled after the COOKIE ECHO, data, SACK,
       a heartbeat: ESTABLISHED, ASSURED, 210 s. */
    cap_open(&c, "sctp-assoc");
    fl = flow4("10.1.0.1", "10.2.0.1", 5001, 7001);
    sctp1(&c, &fl, 0, 0, SCTP_INIT, 0, TAG_A);
    sctp1(&c, &fl, 1, TAG_A, SCTP_INIT_ACK, 0, TAG_B);
    n = 0;
    sctp_chunk(ch, &n, SCTP_COOKIE_ECHO, 0, 0);
    sctp_chunk(ch, &n, SCTP_DATA, 0, 1);
    sctp_send(&c, &fl, 0, TAG_B, ch, n, 0);
    n = 0;
    sctp_chunk(ch, &n, SCTP_COOKIE_ACK, 0, 0);
    sctp_chunk(ch, &n, SCTP_SACK, 0, 1);
    sctp_send(&c, &fl, 1, TAG_A, ch, n, 0);
    sctp1(&c, &fl, 0, TAG_B, SCTP_DATA, 0, 2);
    sctp1(&c, &fl, 1, TAG_A, SCTP_SACK, 0, 2);
    sctp1(&c, &fl, 1, TAG_A, SCTP_HEARTBEAT, 0, 0);
    sctp1(&c, &fl, 0, TAG_B, SCTP_HEARTBEAT_ACK, 0, 0);
    cap_close(&c);

    /* Graceful close (RFC 9260 section 9.2): SHUTDOWN, SHUTDOWN ACK,
       SHUTDOWN COMPLETE: CLOSED, 10 s. A second association stops at
       SHUTDOWN_ACK_SENT (3 s). */
    cap_open(&c, "sctp-shutdown");
    fl = flow4("10.1.0.1", "10.2.0.1", 5002, 7001);
    sctp_handshake(&c, &fl);
    sctp1(&c, &fl, 0, TAG_B, SCTP_DATA, 0, 1);
    sctp1(&c, &fl, 0, TAG_B, SCTP_SHUTDOWN, 0, 1);
    sctp1(&c, &fl, 1, TAG_A, SCTP_SHUTDOWN_ACK, 0, 0);
    sctp1(&c, &fl, 0, TAG_B, SCTP_SHUTDOWN_COMPLETE, 0, 0);
    fl.pa = 5003;
    sctp_handshake(&c, &fl);
    sctp1(&c, &fl, 1, TAG_A, SCTP_SHUTDOWN, 0, 1);
    sctp1(&c, &fl, 0, TAG_B, SCTP_SHUTDOWN_ACK, 0, 0);
    cap_close(&c);

    /* ABORT (section 9.1): with the sender's own tag, and with the T bit
       and the tag it reflects; then an ABORT with a wrong tag (INVALID). */
    cap_open(&c, "sctp-abort");
    fl = flow4("10.1.0.1", "10.2.0.1", 5004, 7001);
    sctp_handshake(&c, &fl);
    sctp1(&c, &fl, 1, TAG_A, SCTP_ABORT, 0, 0);
    fl.pa = 5005;
    sctp_handshake(&c, &fl);
    sctp1(&c, &fl, 0, 0x0c0c0c0cu, SCTP_ABORT, 0, 0);
    sctp1(&c, &fl, 0, TAG_A, SCTP_ABORT, 0x01, 0);
    fl.pa = 5006;
    sctp_handshake(&c, &fl);
    sctp1(&c, &fl, 1, TAG_B, SCTP_ABORT, 0, 0);
    cap_close(&c);

    /* What is INVALID: a wrong tag on DATA, an INIT bundled with DATA, a
       zero-length chunk, a COOKIE ECHO after another chunk, a bad CRC32c,
       and packets that cannot start an association (out-of-the-blue
       ABORT, DATA, an INIT with a non-zero tag). */
    cap_open(&c, "sctp-invalid");
    fl = flow4("10.1.0.1", "10.2.0.1", 5007, 7001);
    sctp_handshake(&c, &fl);
    sctp1(&c, &fl, 0, TAG_A, SCTP_DATA, 0, 1);
    n = 0;
    sctp_chunk(ch, &n, SCTP_INIT, 0, TAG_A);
    sctp_chunk(ch, &n, SCTP_DATA, 0, 1);
    sctp_send(&c, &fl, 0, 0, ch, n, 0);
    n = 0;
    sctp_chunk(ch, &n, SCTP_DATA, 0, 1);
    sctp_chunk(ch, &n, SCTP_SACK, 0, 1);
    put_be16(ch + 22, 0);
    sctp_send(&c, &fl, 0, TAG_B, ch, n, 0);
    n = 0;
    sctp_chunk(ch, &n, SCTP_SACK, 0, 1);
    sctp_chunk(ch, &n, SCTP_COOKIE_ECHO, 0, 0);
    sctp_send(&c, &fl, 0, TAG_B, ch, n, 0);
    n = 0;
    sctp_chunk(ch, &n, SCTP_DATA, 0, 3);
    sctp_send(&c, &fl, 0, TAG_B, ch, n, 1);
    sctp1(&c, &fl, 1, TAG_A, SCTP_SACK, 0, 3);
    fl.pa = 5008;
    sctp1(&c, &fl, 0, 0, SCTP_ABORT, 0, 0);
    sctp1(&c, &fl, 0, TAG_B, SCTP_DATA, 0, 1);
    sctp1(&c, &fl, 0, TAG_B, SCTP_INIT, 0, TAG_A);
    cap_close(&c);

    /* An INIT retransmitted in CLOSED after 2.5 s is let through but does
       not count or renew the 10 s timeout; the answer then does. */
    cap_open(&c, "sctp-init-retransmit");
    fl = flow4("10.1.0.1", "10.2.0.1", 5009, 7001);
    sctp1(&c, &fl, 0, 0, SCTP_INIT, 0, TAG_A);
    cap_wait_ms(&c, 2500);
    sctp1(&c, &fl, 0, 0, SCTP_INIT, 0, TAG_A);
    cap_close(&c);

    /* A second path seen first by its HEARTBEAT (HEARTBEAT_SENT, 30 s),
       then its HEARTBEAT ACK: ESTABLISHED and ASSURED; DATA follows. A
       HEARTBEAT with another tag is let through uncounted. */
    cap_open(&c, "sctp-heartbeat-path");
    fl = flow4("10.1.0.2", "10.2.0.2", 5010, 7001);
    sctp1(&c, &fl, 0, TAG_B, SCTP_HEARTBEAT, 0, 0);
    sctp1(&c, &fl, 1, TAG_A, SCTP_HEARTBEAT_ACK, 0, 0);
    sctp1(&c, &fl, 0, TAG_B, SCTP_DATA, 0, 1);
    sctp1(&c, &fl, 0, 0x0c0c0c0cu, SCTP_HEARTBEAT, 0, 0);
    fl.pa = 5011;
    sctp1(&c, &fl, 0, TAG_B, SCTP_HEARTBEAT, 0, 0);
    cap_close(&c);

    /* The same association over IPv6, and an ICMPv6 error about it. */
    cap_open(&c, "sctp-ipv6");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 5012, 7001);
    sctp_handshake(&c, &fl);
    sctp1(&c, &fl, 0, TAG_B, SCTP_DATA, 0, 1);
    cap_close(&c);

    cap_open(&c, "icmp-error-sctp");
    fl = flow4("10.1.0.1", "10.2.0.1", 5013, 7001);
    sctp1(&c, &fl, 0, 0, SCTP_INIT, 0, TAG_A);
    icmp_error(&c, &fl, IPPROTO_SCTP, fl.b, 3, 3);
    cap_close(&c);
}

/* A TCP connection in progress: its flow and each side's next sequence number. */
struct conv {
    struct flow fl;
    uint32_t seq[2];
};

/* Opens a connection with a handshake; client ISN ci, server ISN si. */
static void conv_open(struct cap *c, struct conv *v, struct flow fl, uint32_t ci, uint32_t si)
{
    v->fl = fl;
    handshake(c, &v->fl, ci, si);
    v->seq[0] = ci + 1;
    v->seq[1] = si + 1;
}

/* One side sends `text` in one segment; the other acknowledges it. */
static void conv_say(struct cap *c, struct conv *v, int dir, const char *text)
{
    size_t len = strlen(text);
    tcp_data(c, &v->fl, dir, P | A, v->seq[dir], v->seq[!dir], text, len);
    v->seq[dir] += (uint32_t)len;
    tcp_seg(c, &v->fl, !dir, A, v->seq[!dir], v->seq[dir], 509, 0, OPT_NONE, 0);
}

/* The rules cases: each rules file is one `table inet` of its own, loaded
   beside the comparison's counting table. */
static void cases_rules(void)
{
    static const char *const one[] = {"lan0"};
    static const char *const two[] = {"lan0", "lan1"};
    struct cap c;
    struct conv v;
    struct flow fl;

    /* Zone per interface: what enters on lan0 is in zone 1, on lan1 in
       zone 2; each interface carries its own flows. */
    cap_open_rules(&c, "rules-zone-iface", two, 2,
                   "table inet zone_iface {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        iifname \"lan0\" ct zone set 1\n"
                   "        iifname \"lan1\" ct zone set 2\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41001, 80);
    exchange(&c, &fl, 1000, 5000);
    cap_iface(&c, 1);
    fl = flow4("10.3.0.1", "10.4.0.1", 41002, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 60, 0, 0);
    cap_iface(&c, 0);
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 41003, 443);
    handshake(&c, &fl, 7000, 9000);
    cap_close(&c);

    /* The same tuples on two interfaces, in two zones, kept apart: two
       connections each, with their own counters and states. */
    cap_open_rules(&c, "rules-zone-same-tuple", two, 2,
                   "table inet zone_same_tuple {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        iifname \"lan0\" ct zone set 10\n"
                   "        iifname \"lan1\" ct zone set 20\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41010, 80);
    handshake(&c, &fl, 1000, 5000);
    cap_iface(&c, 1);
    tcp_seg(&c, &fl, 0, S, 3000, 0, 64240, 0, OPT_SYN, 0);
    cap_iface(&c, 0);
    tcp_seg(&c, &fl, 0, P | A, 1001, 5001, 502, 100, OPT_NONE, 0);
    fl = flow4("10.1.0.1", "10.2.0.1", 41011, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    cap_iface(&c, 1);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 60, 0, 0);
    cap_close(&c);

    /* The zone from the packet mark: a raw rule marks the packets, the
       next takes the zone from the mark through a map (the iptables CT
       target's --zone mark); a packet whose mark the map lacks keeps
       zone 0. A rule after conntrack sets the ct mark of one new
       connection. */
    cap_open_rules(&c, "rules-zone-mark", one, 1,
                   "table inet zone_mark {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        udp dport 53 meta mark set 0x2a\n"
                   "        udp sport 53 meta mark set 0x2a\n"
                   "        tcp dport 80 meta mark set 0x2b\n"
                   "        tcp sport 80 meta mark set 0x2b\n"
                   "        ct zone set meta mark map { 0x2a : 42, 0x2b : 43 }\n"
                   "    }\n"
                   "    chain track {\n"
                   "        type filter hook prerouting priority filter; policy accept;\n"
                   "        ct state new tcp dport 80 ct mark set 0x7\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41020, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 60, 0, 0);
    fl = flow4("10.1.0.1", "10.2.0.1", 41021, 80);
    exchange(&c, &fl, 1000, 5000);
    fl = flow4("10.1.0.1", "10.2.0.1", 41022, 8080);
    handshake(&c, &fl, 1000, 5000);
    cap_close(&c);

    /* Zones per direction: `ct original zone set` puts only the original
       tuple in zone 7 (the reply tuple stays in zone 0, so unzoned replies
       find the connection); `ct reply zone set` only the reply tuple. */
    cap_open_rules(&c, "rules-zone-direction", two, 2,
                   "table inet zone_direction {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        iifname \"lan0\" udp dport 53 ct original zone set 7\n"
                   "        iifname \"lan1\" ct reply zone set 9\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41030, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 60, 0, 0);
    cap_iface(&c, 1);
    fl = flow4("10.1.0.1", "10.2.0.1", 41031, 80);
    exchange(&c, &fl, 1000, 5000);
    cap_close(&c);

    /* Matches after conntrack: ct zone, meta mark, ct mark, address sets and
       port ranges choose the ct mark of new connections, and a rule that
       matches a connection's mark rewrites it on a later packet (ct mark set
       applies to every packet it meets, not only to new connections). */
    cap_open_rules(&c, "rules-ct-match", two, 2,
                   "table inet ct_match {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        iifname \"lan1\" ct zone set 2\n"
                   "        iifname \"lan1\" tcp dport 443 meta mark set 0x9\n"
                   "    }\n"
                   "    chain track {\n"
                   "        type filter hook prerouting priority filter; policy accept;\n"
                   "        ct state new ct zone 2 meta mark 0x9 ct mark set 0x5\n"
                   "        ct state new ct zone 0 ip saddr { 10.1.0.1, 10.1.0.7 } "
                   "udp dport 50-60 ct mark set 0x6\n"
                   "        ct mark 0x6 udp sport 53 ct mark set 0x7\n"
                   "        ct state new tcp dport 8000-8100 ct mark set 0x8\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41080, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 60, 0, 0);
    fl = flow4("10.1.0.2", "10.2.0.1", 41081, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    fl = flow4("10.1.0.1", "10.2.0.1", 41082, 8080);
    handshake(&c, &fl, 1000, 5000);
    cap_iface(&c, 1);
    fl = flow4("10.3.0.1", "10.4.0.1", 41083, 443);
    handshake(&c, &fl, 1000, 5000);
    fl = flow4("10.3.0.1", "10.4.0.1", 41084, 80);
    handshake(&c, &fl, 1000, 5000);
    cap_close(&c);

    /* IPv6: zones from address prefixes, notrack by layer-4 protocol, a
       timeout policy for IPv6 UDP and a ct mark by protocol. */
    cap_open_rules(&c, "rules-ipv6", one, 1,
                   "table inet v6 {\n"
                   "    ct timeout udp6-short {\n"
                   "        protocol udp; l3proto ip6;\n"
                   "        policy = { unreplied: 7, replied: 9 };\n"
                   "    }\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        meta l4proto icmpv6 notrack\n"
                   "        meta l4proto { tcp, udp } ip6 saddr 2001:db8:1::/48 ct zone set 6\n"
                   "        meta l4proto { tcp, udp } ip6 daddr 2001:db8:1::/48 ct zone set 6\n"
                   "    }\n"
                   "    chain track {\n"
                   "        type filter hook prerouting priority filter; policy accept;\n"
                   "        ct state new meta l4proto udp ct mark set 0x66\n"
                   "        ct state new udp dport 5353 ct timeout set \"udp6-short\"\n"
                   "    }\n"
                   "}\n");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 41090, 443);
    exchange(&c, &fl, 1000, 5000);
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 41091, 5353);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 1, 60, 0, 0);
    fl = flow6("2001:db8:3::1", "2001:db8:2::1", 41092, 5353);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 0, 0);
    icmp_echo(&c, &fl, 0, 0, 0x77, 1);
    icmp_echo(&c, &fl, 1, 1, 0x77, 1);
    cap_close(&c);

    /* The order of raw statements, as Linux's nft_ct and nft_notrack have
       it: the first zone a packet is given stays (a later `ct zone set`
       finds the packet's template and leaves it: the TCP connection is in
       zone 6, not 60); notrack leaves a packet that has a template alone
       (the ICMPv6 echo is tracked, in zone 6); and a zone set after
       notrack tracks the packet after all (port 7, zone 8). */
    cap_open_rules(&c, "rules-statement-order", one, 1,
                   "table inet statement_order {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        ip6 saddr 2001:db8:1::/48 ct zone set 6\n"
                   "        ip6 daddr 2001:db8:1::/48 ct zone set 6\n"
                   "        meta l4proto icmpv6 notrack\n"
                   "        tcp dport 443 ct zone set 60\n"
                   "        tcp sport 443 ct zone set 60\n"
                   "        udp dport 7 notrack\n"
                   "        udp dport 7 ct zone set 8\n"
                   "    }\n"
                   "}\n");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 41094, 443);
    exchange(&c, &fl, 1000, 5000);
    fl = flow6("2001:db8:3::1", "2001:db8:2::1", 41095, 7);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 0, 0);
    icmp_echo(&c, &fl, 0, 0, 0x78, 1);
    icmp_echo(&c, &fl, 1, 1, 0x78, 1);
    cap_close(&c);

    /* The remaining statements of an operator's raw and ct rules: iif by
       name, counter, accept (which ends the chain: the zone rule after it
       is not reached for port 22), ct event set, a meta mark match. */
    cap_open_rules(&c, "rules-misc", two, 2,
                   "table inet misc {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        iif \"lan1\" counter meta mark set 0x31\n"
                   "        tcp dport 22 accept\n"
                   "        tcp sport 22 accept\n"
                   "        iif \"lan1\" ct zone set 3\n"
                   "    }\n"
                   "    chain track {\n"
                   "        type filter hook prerouting priority filter; policy accept;\n"
                   "        ct state new ct event set new,destroy\n"
                   "        ct state new meta mark 0x31 ct mark set 0x31\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41100, 80);
    handshake(&c, &fl, 1000, 5000);
    cap_iface(&c, 1);
    fl = flow4("10.1.0.1", "10.2.0.1", 41101, 80);
    handshake(&c, &fl, 1000, 5000);
    fl = flow4("10.1.0.1", "10.2.0.1", 41102, 22);
    handshake(&c, &fl, 1000, 5000);
    cap_close(&c);

    /* notrack for a port: port 8080 in both directions is UNTRACKED and
       makes no connection; the other flows are tracked as usual. */
    cap_open_rules(&c, "rules-notrack", one, 1,
                   "table inet notrack_port {\n"
                   "    chain raw {\n"
                   "        type filter hook prerouting priority raw; policy accept;\n"
                   "        tcp dport 8080 notrack\n"
                   "        tcp sport 8080 notrack\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41040, 8080);
    exchange(&c, &fl, 1000, 5000);
    fl = flow4("10.1.0.1", "10.2.0.1", 41041, 80);
    exchange(&c, &fl, 1000, 5000);
    cap_close(&c);

    /* A timeout policy (an nfct timeout object) assigned after conntrack:
       its UDP connections expire after 2 s unreplied, so the first is gone
       2.5 s later while a later one remains with its short timeout; TCP's
       ESTABLISHED gets 20 s instead of 5 days. Replayed with the real gap. */
    cap_open_rules(&c, "rules-timeout", one, 1,
                   "table inet timeout_policy {\n"
                   "    ct timeout udp-short {\n"
                   "        protocol udp; l3proto ip;\n"
                   "        policy = { unreplied: 2, replied: 4 };\n"
                   "    }\n"
                   "    ct timeout tcp-short {\n"
                   "        protocol tcp; l3proto ip;\n"
                   "        policy = { established: 20, close: 3 };\n"
                   "    }\n"
                   "    chain track {\n"
                   "        type filter hook prerouting priority filter; policy accept;\n"
                   "        ct state new udp dport 5353 ct timeout set \"udp-short\"\n"
                   "        ct state new tcp dport 80 ct timeout set \"tcp-short\"\n"
                   "    }\n"
                   "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41050, 5353);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    fl = flow4("10.1.0.1", "10.2.0.1", 41051, 80);
    exchange(&c, &fl, 1000, 5000);
    cap_wait_ms(&c, 2500);
    fl = flow4("10.1.0.1", "10.2.0.1", 41052, 5353);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    fl = flow4("10.1.0.1", "10.2.0.1", 41053, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    cap_close(&c);

    /* FTP (RFC 959, RFC 2428) with the helper assigned by a rule: the data
       connections the control connection announces are RELATED. Linux's
       helper reads a command only in a segment that starts just after a
       newline it saw, so each side says something first. */
    static const char ftp_rules[] =
        "table inet ftp {\n"
        "    ct helper ftp-standard {\n"
        "        type \"ftp\" protocol tcp;\n"
        "    }\n"
        "    chain track {\n"
        "        type filter hook prerouting priority filter; policy accept;\n"
        "        tcp dport 21 ct helper set \"ftp-standard\"\n"
        "    }\n"
        "}\n";

    /* Active mode: the client's PORT names 10.1.0.1:40000 (156 * 256 + 64);
       the server connects from port 20. */
    cap_open_rules(&c, "rules-ftp-active", one, 1, ftp_rules);
    conv_open(&c, &v, flow4("10.1.0.1", "10.2.0.1", 41060, 21), 1000, 5000);
    conv_say(&c, &v, 1, "220 ready\r\n");
    conv_say(&c, &v, 0, "USER anonymous\r\n");
    conv_say(&c, &v, 1, "331 password\r\n");
    conv_say(&c, &v, 0, "PORT 10,1,0,1,156,64\r\n");
    conv_say(&c, &v, 1, "200 PORT ok\r\n");
    conv_say(&c, &v, 0, "LIST\r\n");
    fl = flow4("10.2.0.1", "10.1.0.1", 20, 40000);
    handshake(&c, &fl, 20000, 30000);
    tcp_seg(&c, &fl, 0, P | A, 20001, 30001, 502, 100, OPT_NONE, 0);
    conv_say(&c, &v, 1, "226 done\r\n");
    cap_close(&c);

    /* Passive mode: the server's 227 reply names 10.2.0.1:40001. */
    cap_open_rules(&c, "rules-ftp-passive", one, 1, ftp_rules);
    conv_open(&c, &v, flow4("10.1.0.1", "10.2.0.1", 41061, 21), 1000, 5000);
    conv_say(&c, &v, 1, "220 ready\r\n");
    conv_say(&c, &v, 0, "USER anonymous\r\n");
    conv_say(&c, &v, 1, "331 password\r\n");
    conv_say(&c, &v, 0, "PASV\r\n");
    conv_say(&c, &v, 1, "227 Entering Passive Mode (10,2,0,1,156,65).\r\n");
    conv_say(&c, &v, 0, "RETR file\r\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41062, 40001);
    handshake(&c, &fl, 20000, 30000);
    tcp_seg(&c, &fl, 1, P | A, 30001, 20001, 502, 100, OPT_NONE, 0);
    conv_say(&c, &v, 1, "226 done\r\n");
    cap_close(&c);

    /* IPv6 (RFC 2428): an EPRT data connection, then an EPSV one. */
    cap_open_rules(&c, "rules-ftp-ipv6", one, 1, ftp_rules);
    conv_open(&c, &v, flow6("2001:db8:1::1", "2001:db8:2::1", 41063, 21), 1000, 5000);
    conv_say(&c, &v, 1, "220 ready\r\n");
    conv_say(&c, &v, 0, "USER anonymous\r\n");
    conv_say(&c, &v, 1, "331 password\r\n");
    conv_say(&c, &v, 0, "EPRT |2|2001:db8:1::1|40002|\r\n");
    conv_say(&c, &v, 1, "200 EPRT ok\r\n");
    conv_say(&c, &v, 0, "LIST\r\n");
    fl = flow6("2001:db8:2::1", "2001:db8:1::1", 20, 40002);
    handshake(&c, &fl, 20000, 30000);
    tcp_seg(&c, &fl, 0, P | A, 20001, 30001, 502, 100, OPT_NONE, 0);
    conv_say(&c, &v, 1, "226 done\r\n");
    conv_say(&c, &v, 0, "EPSV\r\n");
    conv_say(&c, &v, 1, "229 Entering Extended Passive Mode (|||40003|)\r\n");
    conv_say(&c, &v, 0, "RETR file\r\n");
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 41064, 40003);
    handshake(&c, &fl, 40000, 50000);
    tcp_seg(&c, &fl, 1, P | A, 50001, 40001, 502, 100, OPT_NONE, 0);
    conv_say(&c, &v, 1, "226 done\r\n");
    cap_close(&c);

    /* A PORT command split across two segments: Linux's helper reads a
       command only within one segment, drops the segment with the partial
       command, and does not read the rest (it does not start after a
       newline); so no expectation, and the data connection is NEW. */
    cap_open_rules(&c, "rules-ftp-split", one, 1, ftp_rules);
    conv_open(&c, &v, flow4("10.1.0.1", "10.2.0.1", 41065, 21), 1000, 5000);
    conv_say(&c, &v, 1, "220 ready\r\n");
    conv_say(&c, &v, 0, "USER anonymous\r\n");
    conv_say(&c, &v, 1, "331 password\r\n");
    conv_say(&c, &v, 0, "PORT 10,1,0,1,156,");
    conv_say(&c, &v, 0, "68\r\n");
    conv_say(&c, &v, 1, "200 PORT ok\r\n");
    conv_say(&c, &v, 0, "LIST\r\n");
    fl = flow4("10.2.0.1", "10.1.0.1", 20, 40004);
    handshake(&c, &fl, 20000, 30000);
    cap_close(&c);

    /* TFTP (RFC 1350): a read request to port 69; the server answers from
       a new port, which the helper expected: RELATED, then the ACK. */
    cap_open_rules(&c, "rules-tftp", one, 1,
                   "table inet tftp {\n"
                   "    ct helper tftp-standard {\n"
                   "        type \"tftp\" protocol udp;\n"
                   "    }\n"
                   "    chain track {\n"
                   "        type filter hook prerouting priority filter; policy accept;\n"
                   "        udp dport 69 ct helper set \"tftp-standard\"\n"
                   "    }\n"
                   "}\n");
    static const uint8_t rrq[] = "\0\1file.bin\0octet";
    static const uint8_t data1[] = "\0\3\0\1hello";
    static const uint8_t ack1[] = {0, 4, 0, 1};
    fl = flow4("10.1.0.1", "10.2.0.1", 41070, 69);
    udp_data(&c, &fl, 0, rrq, sizeof(rrq));
    fl = flow4("10.2.0.1", "10.1.0.1", 41071, 41070);
    udp_data(&c, &fl, 0, data1, sizeof(data1) - 1);
    udp_data(&c, &fl, 1, ack1, sizeof(ack1));
    cap_close(&c);
}

/* ---- NAT cases (kernel_cases --nat) -------------------------------------------------- */

/*
 * A NAT case is a classic pcap with an nftables rules file beside it: the
 * NAT comparison (tests/kernel/nat-compare.sh) replays it through a
 * namespace that routes, with the same rules, and compares the kernel's
 * table and the packets it lets out with `ctrack read --write`. The
 * capture is what enters the router: original-direction packets as the
 * client sends them, replies as the server really sends them, to the
 * translated address and port (known in advance wherever the kernel's
 * choice is deterministic). A rules file whose first line is
 * "# kernel-compare: random-ports" marks a case where the kernel picks
 * random ports or identifiers on clashes; the comparison then matches the
 * two sides' choices through a bijection (docs/kernel-compare.md). A line
 * "# kernel-compare: wire" makes the comparison take the kernel's packets
 * from the wire rather than from nflog (fragments: the kernel fragments
 * again after its last hook).
 */
struct natconn {
    struct flow o;   /* original direction: a -> b as the client sends it */
    struct flow r;   /* replies: r.b -> r.a, as the server sends them (dir 1) */
};

static void cap_open_nat(struct cap *c, const char *name, const char *rules)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.nft", out_dir, name);
    FILE *r = fopen(path, "w");
    if (!r) {
        fprintf(stderr, "kernel_cases: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    if (fputs(rules, r) < 0 || fclose(r) != 0)
        failed = 1;
    cap_open(c, name);
}

/* A connection whose replies come from `rsrc`:`rsport` to `rdst`:`rdport`. */
static struct natconn natconn4(const char *a, uint16_t pa, const char *b, uint16_t pb,
                               const char *rsrc, uint16_t rsport, const char *rdst, uint16_t rdport)
{
    struct natconn n;
    n.o = flow4(a, b, pa, pb);
    n.r = flow4(rdst, rsrc, rdport, rsport);
    return n;
}

static struct natconn natconn6(const char *a, uint16_t pa, const char *b, uint16_t pb,
                               const char *rsrc, uint16_t rsport, const char *rdst, uint16_t rdport)
{
    struct natconn n;
    n.o = flow6(a, b, pa, pb);
    n.r = flow6(rdst, rsrc, rdport, rsport);
    return n;
}

/* Handshake, a request and a response, as exchange() does. */
static void nat_exchange(struct cap *c, const struct natconn *n, uint32_t ci, uint32_t si)
{
    tcp_seg(c, &n->o, 0, S, ci, 0, 64240, 0, OPT_SYN, 0);
    tcp_seg(c, &n->r, 1, S | A, si, ci + 1, 65160, 0, OPT_SYN, 0);
    tcp_seg(c, &n->o, 0, A, ci + 1, si + 1, 502, 0, OPT_NONE, 0);
    tcp_seg(c, &n->o, 0, P | A, ci + 1, si + 1, 502, 100, OPT_NONE, 0);
    tcp_seg(c, &n->r, 1, A, si + 1, ci + 101, 509, 0, OPT_NONE, 0);
    tcp_seg(c, &n->r, 1, P | A, si + 1, ci + 101, 509, 200, OPT_NONE, 0);
    tcp_seg(c, &n->o, 0, A, ci + 101, si + 201, 501, 0, OPT_NONE, 0);
}

/* A UDP request and its response (zero checksums with `zero`). */
static void nat_udp(struct cap *c, const struct natconn *n, int zero)
{
    udp_dgram(c, &n->o, 0, 30, 0, zero);
    udp_dgram(c, &n->r, 1, 60, 0, zero);
}

/*
 * Linux's jhash2() (Bob Jenkins' lookup3 hashword, JHASH_INITVAL
 * 0xdeadbeef) over `n` 32-bit words, each read from memory in the host's
 * byte order as the kernel reads them: the DNAT address-range cases need
 * the address the kernel will choose, so that their replies come from it.
 */
static uint32_t rol32(uint32_t v, unsigned s)
{
    return (v << s) | (v >> (32 - s));
}

static uint32_t linux_jhash2(const uint32_t *k, uint32_t n, uint32_t initval)
{
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + (n << 2) + initval;
    while (n > 3) {
        a += k[0];
        b += k[1];
        c += k[2];
        a -= c; a ^= rol32(c, 4); c += b;
        b -= a; b ^= rol32(a, 6); a += c;
        c -= b; c ^= rol32(b, 8); b += a;
        a -= c; a ^= rol32(c, 16); c += b;
        b -= a; b ^= rol32(a, 19); a += c;
        c -= b; c ^= rol32(b, 4); b += a;
        n -= 3;
        k += 3;
    }
    switch (n) {
    case 3: c += k[2]; /* fall through */
    case 2: b += k[1]; /* fall through */
    case 1:
        a += k[0];
        c ^= b; c -= rol32(b, 14);
        a ^= c; a -= rol32(c, 11);
        b ^= a; b -= rol32(a, 25);
        c ^= b; c -= rol32(b, 16);
        a ^= c; a -= rol32(c, 4);
        b ^= a; b -= rol32(a, 14);
        c ^= b; c -= rol32(b, 24);
        break;
    default:
        break;
    }
    return c;
}

/*
 * The address Linux's find_best_ips_proto() picks for an IPv4 DNAT from
 * `src` to `dst` into min..max without `persistent` (zone 0): the hash of
 * the source address (as the 16-byte union nf_inet_addr, IPv4 in the first
 * word) keyed with the destination, scaled into the range (reciprocal_scale).
 * Writes the dotted address to out.
 */
static void dnat_pick4(const char *src, const char *dst, const char *min, const char *max,
                       char out[INET_ADDRSTRLEN])
{
    uint8_t s[16] = {0}, d[4], lo[4], hi[4];
    uint32_t words[4], dw;
    inet_pton(AF_INET, src, s);
    inet_pton(AF_INET, dst, d);
    inet_pton(AF_INET, min, lo);
    inet_pton(AF_INET, max, hi);
    memcpy(words, s, sizeof(words));
    memcpy(&dw, d, 4);
    uint32_t j = linux_jhash2(words, 4, dw);
    uint32_t dist = get_be32(hi) - get_be32(lo) + 1;
    uint32_t pick = get_be32(lo) + (uint32_t)(((uint64_t)j * dist) >> 32);
    uint8_t o[4];
    put_be32(o, pick);
    inet_ntop(AF_INET, o, out, INET_ADDRSTRLEN);
}

/*
 * An ICMP or ICMPv6 error of type/code from `from` to `to` (of the quoted
 * packet's family) that quotes the whole IP packet `q` of qlen bytes (as
 * Linux quotes a short packet: up to 576 bytes of it for IPv4, 1280 for
 * IPv6), so every checksum inside the quote can be checked.
 */
static void nat_icmp_error(struct cap *c, int l3, const char *from, const char *to, uint8_t type,
                           uint8_t code, const uint8_t *q, size_t qlen)
{
    static uint8_t frame[2048];
    struct flow outer = l3 == 6 ? flow6(to, from, 0, 0) : flow4(to, from, 0, 0);
    uint8_t *m = frame + l4_at(&outer);
    size_t hl = icmp_header(m, type, code, 0, 0);
    memcpy(m + hl, q, qlen);
    emit_ip(c, &outer, 1, l3 == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, frame, hl + qlen, 0, 0);
}

/*
 * The IP packet a quoted error carries: a UDP datagram of `len` payload
 * bytes or a bare TCP SYN header (20 bytes), from a:pa to b:pb, with hop
 * limit `ttl` (it was forwarded on its way) and correct checksums. Returns
 * its length.
 */
static size_t quoted_packet(uint8_t *q, const struct flow *fl, uint8_t proto, size_t len, uint8_t ttl)
{
    size_t l4len = proto == IPPROTO_UDP ? 8 + len : 20;
    size_t ih = fl->l3 == 6 ? ipv6_header(q, proto, fl->a, fl->b, l4len)
                            : ipv4_header(q, proto, get_be32(fl->a), get_be32(fl->b), 0x4242, NULL, 0,
                                          l4len);
    uint8_t *l4 = q + ih;
    if (proto == IPPROTO_UDP) {
        udp_header(l4, fl->pa, fl->pb, len);
        memset(l4 + 8, 'q', len);
    } else {
        tcp_header(l4, fl->pa, fl->pb, 1000, 0, S, 64240, NULL, 0);
    }
    if (fl->l3 == 6) {
        q[7] = ttl;
        ipv6_fill_transport_checksum(q, 40, proto, NULL);
    } else {
        q[8] = ttl;
        ipv4_refresh_checksum(q);
        ipv4_fill_transport_checksum(q);
    }
    return ih + l4len;
}

/*
 * A UDP datagram of `len` payload bytes sent as fragments of at most
 * `frag` payload bytes each (a multiple of 8): IPv4 fragments with MF and
 * offsets (identification 0x5151), or IPv6 fragments with a fragment
 * header (identification 0x51515151). The UDP checksum covers the whole
 * datagram, as the sender computed it before fragmenting.
 */
static void udp_fragments(struct cap *c, const struct flow *fl, int dir, size_t len, size_t frag)
{
    static uint8_t whole[4096], frame[4096];
    const uint8_t *src = dir ? fl->b : fl->a, *dst = dir ? fl->a : fl->b;
    int v6 = fl->l3 == 6;
    size_t ih = v6 ? 40 : 20;
    uint8_t *u = whole + ih;
    udp_header(u, dir ? fl->pb : fl->pa, dir ? fl->pa : fl->pb, len);
    for (size_t i = 0; i < len; i++)
        u[8 + i] = (uint8_t)('a' + i % 26);
    if (v6) {
        ipv6_header(whole, IPPROTO_UDP, src, dst, 8 + len);
        ipv6_fill_transport_checksum(whole, 40, IPPROTO_UDP, NULL);
    } else {
        ipv4_header(whole, IPPROTO_UDP, get_be32(src), get_be32(dst), 0x5151, NULL, 0, 8 + len);
        ipv4_fill_transport_checksum(whole);
    }
    static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
    static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
    size_t total = 8 + len;
    for (size_t off = 0; off < total; off += frag) {
        size_t n = total - off < frag ? total - off : frag;
        int more = off + n < total;
        size_t at = eth_header(frame, dir ? mac_a : mac_b, dir ? mac_b : mac_a, NULL, 0,
                               v6 ? 0x86dd : 0x0800);
        uint8_t *ip = frame + at;
        if (v6) {
            ipv6_header(ip, 44, src, dst, 8 + n);
            uint8_t *fh = ip + 40;
            fh[0] = IPPROTO_UDP;
            fh[1] = 0;
            put_be16(fh + 2, (uint16_t)(off | (more ? 1u : 0u)));
            put_be32(fh + 4, 0x51515151u);
            memcpy(fh + 8, u + off, n);
            cap_frame(c, frame, at + 48 + n);
        } else {
            ipv4_header(ip, IPPROTO_UDP, get_be32(src), get_be32(dst), 0x5151, NULL, 0, n);
            ipv4_set_frag(ip, (uint16_t)((more ? 0x2000u : 0u) | off / 8));
            memcpy(ip + 20, u + off, n);
            cap_frame(c, frame, at + 20 + n);
        }
    }
}

static void cases_nat(void)
{
    struct cap c;
    struct natconn n;
    uint8_t q[1024];
    size_t ql;
    char pick[INET_ADDRSTRLEN];

    /* DNAT to one address: a service address 10.2.0.100 served by
       10.3.0.1; TCP and UDP, the replies from the real server. */
    cap_open_nat(&c, "nat-dnat",
                 "table ip nat_dnat {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip daddr 10.2.0.100 dnat to 10.3.0.1\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.1", 41200, "10.2.0.100", 80, "10.3.0.1", 80, "10.1.0.1", 41200);
    nat_exchange(&c, &n, 1000, 5000);
    n = natconn4("10.1.0.1", 41201, "10.2.0.100", 53, "10.3.0.1", 53, "10.1.0.1", 41201);
    nat_udp(&c, &n, 0);
    cap_close(&c);

    /* DNAT to an address range with a port range: the address is the
       kernel's hash of the source keyed with the destination; the port is
       the range's first, and the next one in order when that reply tuple
       is taken (port 81 from the same client to the same address). UDP
       to an address range keeps its port. */
    cap_open_nat(&c, "nat-dnat-range",
                 "table ip nat_dnat_range {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip daddr 10.2.0.100 tcp dport { 80, 81 } "
                 "dnat to 10.3.0.1-10.3.0.4:8000-8010\n"
                 "        ip daddr 10.2.0.100 udp dport 53 dnat to 10.3.0.10-10.3.0.12\n"
                 "    }\n"
                 "}\n");
    static const char *const clients[] = {"10.1.0.1", "10.1.0.2", "10.1.0.3"};
    for (unsigned i = 0; i < 3; i++) {
        dnat_pick4(clients[i], "10.2.0.100", "10.3.0.1", "10.3.0.4", pick);
        n = natconn4(clients[i], 41210, "10.2.0.100", 80, pick, 8000, clients[i], 41210);
        nat_exchange(&c, &n, 1000 + i, 5000 + i);
    }
    dnat_pick4("10.1.0.1", "10.2.0.100", "10.3.0.1", "10.3.0.4", pick);
    n = natconn4("10.1.0.1", 41210, "10.2.0.100", 81, pick, 8001, "10.1.0.1", 41210);
    nat_exchange(&c, &n, 2000, 6000);
    for (unsigned i = 0; i < 3; i++) {
        dnat_pick4(clients[i], "10.2.0.100", "10.3.0.10", "10.3.0.12", pick);
        n = natconn4(clients[i], 41211, "10.2.0.100", 53, pick, 53, clients[i], 41211);
        nat_udp(&c, &n, 0);
    }
    cap_close(&c);

    /* REDIRECT to a local port: delivered to the router itself (the
       input interface's address), where a socket takes the datagrams and
       never answers. IPv4 and IPv6. */
    cap_open_nat(&c, "nat-redirect",
                 "table ip nat_redirect {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        udp dport 53 redirect to :9999\n"
                 "    }\n"
                 "}\n"
                 "table ip6 nat_redirect6 {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        udp dport 53 redirect to :9999\n"
                 "    }\n"
                 "}\n");
    struct flow fl = flow4("10.1.0.1", "10.2.0.1", 41220, 53);
    for (unsigned i = 0; i < 3; i++)
        udp_dgram(&c, &fl, 0, 30 + i, 0, 0);
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 41221, 53);
    udp_dgram(&c, &fl, 0, 30, 0, 0);
    udp_dgram(&c, &fl, 0, 31, 0, 0);
    cap_close(&c);

    /* SNAT under port pressure: sixteen clients, all from port 40000, to
       one server through one address. The first keeps its port; each
       later one clashes and gets a random port from the kernel (compared
       through a bijection). Only the first connection's reply can be in
       the capture (the others' ports are not known in advance). */
    cap_open_nat(&c, "nat-snat-pressure",
                 "# kernel-compare: random-ports\n"
                 "table ip nat_snat_pressure {\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 snat to 198.51.100.1\n"
                 "    }\n"
                 "}\n");
    for (unsigned i = 1; i <= 16; i++) {
        char a[INET_ADDRSTRLEN];
        snprintf(a, sizeof(a), "10.1.0.%u", i);
        n = natconn4(a, 40000, "10.2.0.1", 80, "10.2.0.1", 80, "198.51.100.1", 40000);
        tcp_seg(&c, &n.o, 0, S, 1000 + i, 0, 64240, 0, OPT_SYN, 0);
        if (i == 1)
            tcp_seg(&c, &n.r, 1, S | A, 5000, 1002, 65160, 0, OPT_SYN, 0);
        udp_dgram(&c, &n.o, 0, 20, 0, 0);
    }
    cap_close(&c);

    /* SNAT into a range of four ports with six clients from one port:
       four connections get the four ports, the fifth and sixth find none
       free (what the kernel does with them is the oracle). */
    cap_open_nat(&c, "nat-snat-exhaust",
                 "# kernel-compare: random-ports\n"
                 "table ip nat_snat_exhaust {\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 udp dport 53 snat to 198.51.100.1:40000-40003\n"
                 "    }\n"
                 "}\n");
    for (unsigned i = 1; i <= 6; i++) {
        char a[INET_ADDRSTRLEN];
        snprintf(a, sizeof(a), "10.1.0.%u", i);
        fl = flow4(a, "10.2.0.1", 40000, 53);
        udp_dgram(&c, &fl, 0, 20, 0, 0);
    }
    cap_close(&c);

    /* MASQUERADE to the output interface's address (198.51.100.1): TCP,
       UDP and ICMP echo keep their ports and identifier. */
    cap_open_nat(&c, "nat-masquerade",
                 "table ip nat_masquerade {\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 masquerade\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.1", 41230, "10.2.0.1", 80, "10.2.0.1", 80, "198.51.100.1", 41230);
    nat_exchange(&c, &n, 1000, 5000);
    n = natconn4("10.1.0.2", 41231, "10.2.0.1", 53, "10.2.0.1", 53, "198.51.100.1", 41231);
    nat_udp(&c, &n, 0);
    n = natconn4("10.1.0.3", 0, "10.2.0.1", 0, "10.2.0.1", 0, "198.51.100.1", 0);
    icmp_echo(&c, &n.o, 0, 0, 0x4d41, 1);
    icmp_echo(&c, &n.r, 1, 1, 0x4d41, 1);
    cap_close(&c);

    /* NETMAP: 1:1 prefix maps, destinations 10.2.0.0/24 to 10.4.0.0/24
       and sources 10.1.0.0/24 to 172.16.1.0/24, host parts kept. */
    cap_open_nat(&c, "nat-netmap",
                 "table ip nat_netmap {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        dnat ip prefix to ip daddr map { 10.2.0.0/24 : 10.4.0.0/24 }\n"
                 "    }\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        snat ip prefix to ip saddr map { 10.1.0.0/24 : 172.16.1.0/24 }\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.5", 41240, "10.2.0.7", 80, "10.4.0.7", 80, "172.16.1.5", 41240);
    nat_exchange(&c, &n, 1000, 5000);
    n = natconn4("10.1.0.9", 41241, "10.2.0.200", 53, "10.4.0.200", 53, "172.16.1.9", 41241);
    nat_udp(&c, &n, 0);
    cap_close(&c);

    /* Hairpin: a client reaches the public address of a server on its own
       network (DNAT to 10.1.0.50:8080), and an SNAT to the router's
       address makes the server answer through the router. */
    cap_open_nat(&c, "nat-hairpin",
                 "table ip nat_hairpin {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip daddr 10.2.0.100 tcp dport 80 dnat to 10.1.0.50:8080\n"
                 "    }\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/24 ip daddr 10.1.0.50 tcp dport 8080 "
                 "snat to 198.51.100.1\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.1", 41250, "10.2.0.100", 80, "10.1.0.50", 8080, "198.51.100.1", 41250);
    nat_exchange(&c, &n, 1000, 5000);
    cap_close(&c);

    /* ICMP echo through SNAT: two clients with their own identifiers keep
       them; a third with the first one's identifier gets a random one
       (bijection), and gets no reply. */
    cap_open_nat(&c, "nat-icmp-echo",
                 "# kernel-compare: random-ports\n"
                 "table ip nat_icmp_echo {\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 snat to 198.51.100.1\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.1", 0, "10.2.0.1", 0, "10.2.0.1", 0, "198.51.100.1", 0);
    icmp_echo(&c, &n.o, 0, 0, 0x0100, 1);
    icmp_echo(&c, &n.r, 1, 1, 0x0100, 1);
    n = natconn4("10.1.0.2", 0, "10.2.0.1", 0, "10.2.0.1", 0, "198.51.100.1", 0);
    icmp_echo(&c, &n.o, 0, 0, 0x0200, 1);
    icmp_echo(&c, &n.r, 1, 1, 0x0200, 1);
    n = natconn4("10.1.0.3", 0, "10.2.0.1", 0, "10.2.0.1", 0, "198.51.100.1", 0);
    icmp_echo(&c, &n.o, 0, 0, 0x0100, 1);
    icmp_echo(&c, &n.o, 0, 0, 0x0100, 2);
    cap_close(&c);

    /* ICMP errors quoting translated connections: the quote is the packet
       as it left the router (translated, TTL 63), and the kernel must
       translate it back for the client, with its checksums. A port
       unreachable from the far end about SNATed UDP, a time exceeded from
       a router in between about an SNATed TCP SYN, and a host unreachable
       from the real server about DNATed UDP. */
    cap_open_nat(&c, "nat-icmp-error",
                 "table ip nat_icmp_error {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip daddr 10.2.0.100 dnat to 10.3.0.1\n"
                 "    }\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 ip daddr 10.2.0.0/24 snat to 198.51.100.1\n"
                 "    }\n"
                 "}\n");
    fl = flow4("10.1.0.1", "10.2.0.1", 41260, 53);
    udp_dgram(&c, &fl, 0, 24, 0, 0);
    fl = flow4("198.51.100.1", "10.2.0.1", 41260, 53);
    ql = quoted_packet(q, &fl, IPPROTO_UDP, 24, 63);
    nat_icmp_error(&c, 4, "10.2.0.1", "198.51.100.1", 3, 3, q, ql);
    fl = flow4("10.1.0.1", "10.2.0.1", 41261, 80);
    tcp_seg(&c, &fl, 0, S, 1000, 0, 64240, 0, OPT_NONE, 0);
    fl = flow4("198.51.100.1", "10.2.0.1", 41261, 80);
    ql = quoted_packet(q, &fl, IPPROTO_TCP, 0, 1);
    nat_icmp_error(&c, 4, "10.9.0.1", "198.51.100.1", 11, 0, q, ql);
    fl = flow4("10.1.0.2", "10.2.0.100", 41262, 5000);
    udp_dgram(&c, &fl, 0, 24, 0, 0);
    fl = flow4("10.1.0.2", "10.3.0.1", 41262, 5000);
    ql = quoted_packet(q, &fl, IPPROTO_UDP, 24, 63);
    nat_icmp_error(&c, 4, "10.3.0.1", "10.1.0.2", 3, 1, q, ql);
    cap_close(&c);

    /* IPv6: DNAT of a service address and masquerade to the output
       interface's address (2001:db8:f2::1): TCP, UDP, ICMPv6 echo, and an
       ICMPv6 port unreachable quoting the translated UDP. */
    cap_open_nat(&c, "nat-ipv6",
                 "table ip6 nat_ipv6 {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip6 daddr 2001:db8:2::100 dnat to 2001:db8:3::1\n"
                 "    }\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip6 saddr 2001:db8:1::/64 masquerade\n"
                 "    }\n"
                 "}\n");
    n = natconn6("2001:db8:1::1", 41270, "2001:db8:2::100", 80, "2001:db8:3::1", 80,
                 "2001:db8:f2::1", 41270);
    nat_exchange(&c, &n, 1000, 5000);
    n = natconn6("2001:db8:1::1", 41271, "2001:db8:2::1", 53, "2001:db8:2::1", 53,
                 "2001:db8:f2::1", 41271);
    nat_udp(&c, &n, 0);
    n = natconn6("2001:db8:1::2", 0, "2001:db8:2::1", 0, "2001:db8:2::1", 0, "2001:db8:f2::1", 0);
    icmp_echo(&c, &n.o, 0, 0, 0x6666, 1);
    icmp_echo(&c, &n.r, 1, 1, 0x6666, 1);
    fl = flow6("2001:db8:1::1", "2001:db8:2::1", 41272, 5000);
    udp_dgram(&c, &fl, 0, 24, 0, 0);
    fl = flow6("2001:db8:f2::1", "2001:db8:2::1", 41272, 5000);
    ql = quoted_packet(q, &fl, IPPROTO_UDP, 24, 63);
    nat_icmp_error(&c, 6, "2001:db8:2::1", "2001:db8:f2::1", 1, 4, q, ql);
    cap_close(&c);

    /* UDP without a checksum (zero, allowed over IPv4) through DNAT and
       SNAT: it must stay zero. */
    cap_open_nat(&c, "nat-udp-zero-checksum",
                 "table ip nat_udp_zero {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip daddr 10.2.0.100 dnat to 10.3.0.1\n"
                 "    }\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 snat to 198.51.100.1\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.1", 41280, "10.2.0.100", 53, "10.3.0.1", 53, "198.51.100.1", 41280);
    nat_udp(&c, &n, 1);
    cap_close(&c);

    /* SCTP through SNAT: the port changes nothing but the CRC32c, which
       covers the whole packet. */
    cap_open_nat(&c, "nat-sctp",
                 "table ip nat_sctp {\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 snat to 198.51.100.1\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.1", 41290, "10.2.0.1", 5060, "10.2.0.1", 5060, "198.51.100.1", 41290);
    sctp1(&c, &n.o, 0, 0, SCTP_INIT, 0, TAG_A);
    sctp1(&c, &n.r, 1, TAG_A, SCTP_INIT_ACK, 0, TAG_B);
    sctp1(&c, &n.o, 0, TAG_B, SCTP_COOKIE_ECHO, 0, 0);
    sctp1(&c, &n.r, 1, TAG_A, SCTP_COOKIE_ACK, 0, 0);
    cap_close(&c);

    /* Fragments: a 1400-byte UDP datagram in fragments of 512 bytes, over
       IPv4 and IPv6, through DNAT and SNAT. Both sides reassemble before
       NAT; what leaves is the oracle (docs/kernel-compare.md). */
    cap_open_nat(&c, "nat-fragments",
                 "# kernel-compare: wire\n"
                 "table ip nat_fragments {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip daddr 10.2.0.100 dnat to 10.3.0.1\n"
                 "    }\n"
                 "    chain post {\n"
                 "        type nat hook postrouting priority srcnat; policy accept;\n"
                 "        ip saddr 10.1.0.0/16 snat to 198.51.100.1\n"
                 "    }\n"
                 "}\n"
                 "table ip6 nat_fragments6 {\n"
                 "    chain pre {\n"
                 "        type nat hook prerouting priority dstnat; policy accept;\n"
                 "        ip6 daddr 2001:db8:2::100 dnat to 2001:db8:3::1\n"
                 "    }\n"
                 "}\n");
    n = natconn4("10.1.0.1", 41300, "10.2.0.100", 7000, "10.3.0.1", 7000, "198.51.100.1", 41300);
    udp_fragments(&c, &n.o, 0, 1400, 512);
    udp_dgram(&c, &n.r, 1, 40, 0, 0);
    n = natconn6("2001:db8:1::1", 41301, "2001:db8:2::100", 7000, "2001:db8:3::1", 7000,
                 "2001:db8:1::1", 41301);
    udp_fragments(&c, &n.o, 0, 1400, 512);
    udp_dgram(&c, &n.r, 1, 40, 0, 0);
    cap_close(&c);
}

int main(int argc, char **argv)
{
    int nat = argc == 3 && strcmp(argv[1], "--nat") == 0;
    if (argc != 2 && !nat) {
        fprintf(stderr, "usage: kernel_cases [--nat] DIR\n");
        return 2;
    }
    out_dir = argv[argc - 1];
    if (nat) {
        cases_nat();
        return failed ? 1 : 0;
    }
    cases_tcp();
    cases_udp_icmp();
    cases_other();
    cases_gre_sctp();
    cases_rules();
    return failed ? 1 : 0;
}
