/*
 * gen_sample: writes the project's sample capture (samples/sample.pcap).
 *
 * Usage: gen_sample OUT.pcap            the sample capture
 *        gen_sample --test-captures DIR  the link-type and checksum-offload
 *                                        captures of tests/pcap/
 *
 * The capture is built packet by packet from constants, so every run writes
 * the same bytes on every host (all multi-byte fields are written with
 * explicit byte order). It needs no libpcap: the file is the classic pcap
 * format (magic 0xa1b2c3d4 written little-endian, version 2.4, microsecond
 * timestamps, LINKTYPE_ETHERNET), one 16-byte record header per packet.
 *
 * Every header checksum is correct (IPv4 header: RFC 791 with RFC 1071's
 * one's-complement sum; TCP: RFC 9293 section 3.1 pseudo-header; UDP: RFC 768;
 * ICMP: RFC 792; UDP over IPv6: RFC 8200 section 8.1 pseudo-header) except in
 * the one frame that is malformed on purpose. Ethernet frames shorter than
 * 60 bytes are padded with zeros, as a receiving NIC captures them, so that
 * byte counters must use the IP length and not the frame length.
 *
 * Addresses are from the documentation ranges (RFC 5737: 192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24; RFC 3849: 2001:db8::/32); MAC addresses
 * are locally administered. Time starts at 2024-01-01 00:00:00 UTC.
 *
 * The traffic, in capture order (docs/cli.md lists the expected table):
 *   t=0.000  ARP request (not IP: UNTRACKED, reason not-ip)
 *   t=0.100  TCP 192.0.2.10:40000 -> 198.51.100.20:80: handshake with MSS,
 *            window scale and SACK-permitted options, a request, a response,
 *            FIN from the client at t=1.000, FIN/ACK from the server, last ACK
 *   t=0.500  UDP DNS query and answer 192.0.2.10:53000 <-> 198.51.100.53:53
 *   t=0.600  ICMP echo request and reply 192.0.2.10 <-> 198.51.100.20
 *   t=0.800  one-way UDP 192.0.2.12:5004 -> 198.51.100.30:5004, one packet
 *            a second until t=3.800 (four packets)
 *   t=1.500  TCP 192.0.2.10:40001 -> 198.51.100.20:81 refused: SYN, RST/ACK
 *   t=2.000  TCP 192.0.2.11:40002 -> 203.0.113.5:443 half-open: SYN,
 *            retransmitted at t=3.000, never answered
 *   t=2.250  UDP 192.0.2.99 -> 198.51.100.99 with a bad IPv4 header checksum
 *   t=2.500  UDP over IPv6 2001:db8::10:50000 <-> 2001:db8:1::53:53 (DNS AAAA)
 *   t=3.200  UDP in VLAN 100 192.0.2.20:40100 <-> 198.51.100.40:123 (NTP),
 *            request and answer stamped with the same microsecond
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/support/frames.h"
#include "../tests/support/pcapfile.h"

#define BASE_SEC 1704067200u /* 2024-01-01 00:00:00 UTC */

#define ETH_P_IPV4 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_VLAN 0x8100
#define ETH_P_IPV6 0x86dd

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static FILE *out;

/* ---- pcap file format ---- */

/* Set while writing packets whose sender leaves the transport checksum to
 * the NIC (checksum offload). */
static int offload_partial;

/* Link type of the file being written (LINKTYPE_* value). */
static uint32_t link_type = 1;

static void write_failed(void)
{
    fprintf(stderr, "gen_sample: write failed: %s\n", strerror(errno));
    exit(1);
}

/* Microsecond-resolution pcap, snapshot length 65535, the current link type. */
static void pcap_file_header(void)
{
    if (pcap_write_header(out, PCAP_MAGIC_USEC, 65535, link_type) != 0)
        write_failed();
}

/* Writes one record; `usec` is microseconds after BASE_SEC. */
static void pcap_record(uint64_t usec, const uint8_t *frame, size_t len)
{
    if (pcap_write_record(out, (uint32_t)(BASE_SEC + usec / 1000000u), (uint32_t)(usec % 1000000u), frame,
                          (uint32_t)len, (uint32_t)len) != 0)
        write_failed();
}

/* ---- hosts ---- */

struct host {
    uint8_t mac[6];
    int v6;
    uint8_t addr[16]; /* IPv4 in the first 4 bytes */
};

static const uint8_t MAC_GW[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

static struct host v4host(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t mac_last)
{
    struct host h;
    memset(&h, 0, sizeof(h));
    memcpy(h.mac, MAC_GW, 6);
    h.mac[5] = mac_last;
    h.addr[0] = a;
    h.addr[1] = b;
    h.addr[2] = c;
    h.addr[3] = d;
    return h;
}

/* 2001:db8:<g2>::<last> */
static struct host v6host(uint16_t g2, uint16_t last, uint8_t mac_last)
{
    struct host h;
    memset(&h, 0, sizeof(h));
    memcpy(h.mac, MAC_GW, 6);
    h.mac[5] = mac_last;
    h.v6 = 1;
    put_be16(h.addr, 0x2001);
    put_be16(h.addr + 2, 0x0db8);
    put_be16(h.addr + 4, g2);
    put_be16(h.addr + 14, last);
    return h;
}

/* ---- packet builder ---- */

struct pkt {
    uint8_t b[1600];
    size_t len;
};

/* LINKTYPE_* values (https://www.tcpdump.org/linktypes.html). */
#define LT_NULL 0
#define LT_ETHERNET 1
#define LT_RAW 101
#define LT_LOOP 108
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276

/*
 * Writes the link-layer header of the current link type at f and returns
 * its length: Ethernet II with an optional 802.1Q tag; BSD loopback (the
 * address family as a 4-byte word in the writer's byte order, here
 * little-endian; 2 = AF_INET, 24 = AF_INET6 as NetBSD/OpenBSD number it);
 * OpenBSD loopback (the same in network order); Linux cooked capture v1
 * (packet type, ARPHRD_ETHER, address length, 8 address bytes, protocol) and
 * v2 (protocol, reserved, interface index, ARPHRD_ETHER, packet type, address
 * length, 8 address bytes); nothing for raw IP.
 */
static size_t link_header(uint8_t *f, const struct host *src, const struct host *dst, int vlan)
{
    uint16_t ethertype = src->v6 ? ETH_P_IPV6 : ETH_P_IPV4;
    uint32_t family = src->v6 ? 24 : 2;
    switch (link_type) {
    case LT_ETHERNET: {
        const uint16_t tag[2] = {ETH_P_VLAN, (uint16_t)(vlan >= 0 ? vlan : 0)}; /* PCP 0, DEI 0, VID */
        return eth_header(f, dst->mac, src->mac, tag, vlan >= 0 ? 1 : 0, ethertype);
    }
    case LT_NULL:
        put_le32(f, family);
        return 4;
    case LT_LOOP:
        put_be32(f, family);
        return 4;
    case LT_LINUX_SLL:
        put_be16(f, 4);      /* packet type: sent by us */
        put_be16(f + 2, 1);  /* ARPHRD_ETHER */
        put_be16(f + 4, 6);  /* address length */
        memset(f + 6, 0, 8);
        memcpy(f + 6, src->mac, 6);
        put_be16(f + 14, ethertype);
        return 16;
    case LT_LINUX_SLL2:
        put_be16(f, ethertype);
        put_be16(f + 2, 0);  /* reserved */
        put_be32(f + 4, 2);  /* interface index */
        put_be16(f + 8, 1);  /* ARPHRD_ETHER */
        f[10] = 4;          /* packet type: sent by us */
        f[11] = 6;          /* address length */
        memset(f + 12, 0, 8);
        memcpy(f + 12, src->mac, 6);
        return 20;
    default: /* raw IP, raw IPv4, raw IPv6 */
        return 0;
    }
}

/*
 * Builds the link header (+ optional 802.1Q tag on Ethernet) + IPv4/IPv6 around an L4 header
 * and payload that are already in l4[0..l4len), fills the L4 checksum at
 * l4[csum_off] over the pseudo-header (no pseudo-header for ICMP), and pads
 * an Ethernet frame to the minimum of 60 bytes.
 */
static void build_ip(struct pkt *p, const struct host *src, const struct host *dst, int vlan,
                     uint8_t proto, uint16_t ip_id, uint8_t *l4, size_t l4len, size_t csum_off,
                     int bad_ip_csum)
{
    uint8_t *f = p->b;
    size_t off = link_header(f, src, dst, vlan);
    /* Transport checksum: pseudo-header sum (none for ICMP), then header and payload. */
    uint32_t sum = 0;
    if (proto != PROTO_ICMP)
        sum = src->v6 ? inet_pseudo6(src->addr, dst->addr, proto, (uint32_t)l4len)
                      : inet_pseudo4(src->addr, dst->addr, proto, (uint32_t)l4len);
    l4[csum_off] = l4[csum_off + 1] = 0;
    uint16_t c = inet_fold(inet_sum(sum, l4, l4len));
    if (offload_partial && proto != PROTO_ICMP) {
        /* What a sender with checksum offload hands its NIC (and its own
         * capture): only the pseudo-header sum, not complemented. */
        c = (uint16_t)~inet_fold(sum);
    } else if (proto == PROTO_UDP && c == 0) {
        c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
    }
    put_be16(l4 + csum_off, c);

    uint8_t *ip = f + off;
    if (src->v6) {
        off += ipv6_header(ip, proto, src->addr, dst->addr, l4len);
    } else {
        off += ipv4_header(ip, proto, get_be32(src->addr), get_be32(dst->addr), ip_id, NULL, 0, l4len);
        if (proto == PROTO_TCP)
            ipv4_set_frag(ip, 0x4000); /* DF for TCP */
        if (bad_ip_csum)
            put_be16(ip + 10, get_be16(ip + 10) ^ 0x5a5a);
    }
    memcpy(f + off, l4, l4len);
    off += l4len;
    while (link_type == LT_ETHERNET && off < 60)
        f[off++] = 0;
    p->len = off;
}

/* TCP options of a SYN or SYN/ACK: MSS, NOP, window scale, NOP, NOP, SACK permitted. */
static size_t syn_options(uint8_t *o, uint16_t mss, uint8_t wscale)
{
    o[0] = 2; /* MSS */
    o[1] = 4;
    put_be16(o + 2, mss);
    o[4] = 1; /* NOP */
    o[5] = 3; /* window scale */
    o[6] = 3;
    o[7] = wscale;
    o[8] = 1;
    o[9] = 1;
    o[10] = 4; /* SACK permitted */
    o[11] = 2;
    return 12;
}

static uint16_t next_ip_id = 0x1000;

static void tcp(uint64_t usec, const struct host *src, const struct host *dst, uint16_t sport,
                uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                const uint8_t *payload, size_t plen)
{
    uint8_t l4[1500], opt[12];
    size_t olen = (flags & F_SYN) ? syn_options(opt, 1460, 7) : 0;
    size_t hl = tcp_header(l4, sport, dport, seq, ack, flags, win, opt, olen);
    if (plen)
        memcpy(l4 + hl, payload, plen);
    struct pkt p;
    build_ip(&p, src, dst, -1, PROTO_TCP, next_ip_id++, l4, hl + plen, 16, 0);
    pcap_record(usec, p.b, p.len);
}

static void udp(uint64_t usec, const struct host *src, const struct host *dst, int vlan,
                uint16_t sport, uint16_t dport, const uint8_t *payload, size_t plen,
                int bad_ip_csum)
{
    uint8_t l4[1500];
    udp_header(l4, sport, dport, plen);
    memcpy(l4 + 8, payload, plen);
    struct pkt p;
    build_ip(&p, src, dst, vlan, PROTO_UDP, next_ip_id++, l4, 8 + plen, 6, bad_ip_csum);
    pcap_record(usec, p.b, p.len);
}

static void icmp_echo(uint64_t usec, const struct host *src, const struct host *dst,
                      uint8_t type, uint16_t id, uint16_t seq)
{
    uint8_t l4[64];
    icmp_header(l4, type, 0, id, seq);
    for (size_t i = 8; i < sizeof(l4); i++)
        l4[i] = (uint8_t)(0x10 + i - 8); /* ping's fill pattern */
    struct pkt p;
    build_ip(&p, src, dst, -1, PROTO_ICMP, next_ip_id++, l4, sizeof(l4), 2, 0);
    pcap_record(usec, p.b, p.len);
}

static void arp_request(uint64_t usec, const struct host *sender, const uint8_t target_ip[4])
{
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t f[60];
    memset(f, 0, sizeof(f));
    uint8_t *a = f + eth_header(f, broadcast, sender->mac, NULL, 0, ETH_P_ARP);
    put_be16(a, 1);          /* hardware: Ethernet */
    put_be16(a + 2, 0x0800); /* protocol: IPv4 */
    a[4] = 6;
    a[5] = 4;
    put_be16(a + 6, 1);      /* request */
    memcpy(a + 8, sender->mac, 6);
    memcpy(a + 14, sender->addr, 4);
    memcpy(a + 24, target_ip, 4); /* target MAC left zero */
    pcap_record(usec, f, sizeof(f));
}

/* A DNS message (RFC 1035) for www.example.com: a query, or an answer with one record. */
static size_t dns_message(uint8_t *m, uint16_t id, uint16_t qtype, const uint8_t *rdata,
                          uint16_t rdlen)
{
    static const uint8_t qname[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
                                    3, 'c', 'o', 'm', 0};
    size_t n = 0;
    put_be16(m, id);
    put_be16(m + 2, rdata ? 0x8180 : 0x0100); /* response+RD+RA, or query with RD */
    put_be16(m + 4, 1);                       /* one question */
    put_be16(m + 6, rdata ? 1 : 0);
    put_be16(m + 8, 0);
    put_be16(m + 10, 0);
    n = 12;
    memcpy(m + n, qname, sizeof(qname));
    n += sizeof(qname);
    put_be16(m + n, qtype);
    put_be16(m + n + 2, 1); /* class IN */
    n += 4;
    if (rdata) {
        put_be16(m + n, 0xc00c); /* name: pointer to the question */
        put_be16(m + n + 2, qtype);
        put_be16(m + n + 4, 1);
        put_be32(m + n + 6, 300); /* TTL */
        put_be16(m + n + 10, rdlen);
        memcpy(m + n + 12, rdata, rdlen);
        n += 12 + rdlen;
    }
    return n;
}

/* Deterministic filler bytes for payloads without a meaning of their own. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

#define MS(x) ((uint64_t)(x) * 1000u)

static void open_out(const char *path, uint32_t lt)
{
    out = fopen(path, "wb");
    if (!out) {
        fprintf(stderr, "gen_sample: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    link_type = lt;
    next_ip_id = 0x1000;
    pcap_file_header();
}

static void close_out(const char *path)
{
    if (fclose(out) != 0) {
        fprintf(stderr, "gen_sample: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    out = NULL;
}

static void write_sample(const char *path)
{
    open_out(path, LT_ETHERNET);

    struct host client = v4host(192, 0, 2, 10, 0x0a);
    struct host client2 = v4host(192, 0, 2, 11, 0x0b);
    struct host client3 = v4host(192, 0, 2, 12, 0x0c);
    struct host client4 = v4host(192, 0, 2, 20, 0x14);
    struct host broken = v4host(192, 0, 2, 99, 0x63);
    struct host web = v4host(198, 51, 100, 20, 0x01);
    struct host dns = v4host(198, 51, 100, 53, 0x01);
    struct host media = v4host(198, 51, 100, 30, 0x01);
    struct host ntp = v4host(198, 51, 100, 40, 0x01);
    struct host sink = v4host(198, 51, 100, 99, 0x01);
    struct host tls = v4host(203, 0, 113, 5, 0x01);
    struct host client6 = v6host(0, 0x10, 0x0a);
    struct host dns6 = v6host(1, 0x53, 0x01);

    /* t=0.000: ARP request for the gateway. */
    static const uint8_t gw_ip[4] = {192, 0, 2, 1};
    arp_request(0, &client, gw_ip);

    /* TCP connection with request/response and an orderly close. */
    static const char req[] = "GET / HTTP/1.1\r\nHost: www.example.com\r\n"
                              "User-Agent: ctrack-sample/1\r\nAccept: */*\r\n\r\n";
    static const char body[] = "Hello from the ctrack sample capture.\n";
    char resp[512];
    int rlen = snprintf(resp, sizeof(resp),
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                        sizeof(body) - 1, body);
    size_t qlen = sizeof(req) - 1;
    size_t plen = (size_t)rlen;
    uint32_t c = 1000000000u, s = 2000000000u;
    tcp(MS(100), &client, &web, 40000, 80, c, 0, F_SYN, 64240, NULL, 0);
    tcp(MS(110), &web, &client, 80, 40000, s, c + 1, F_SYN | F_ACK, 65160, NULL, 0);
    tcp(MS(120), &client, &web, 40000, 80, c + 1, s + 1, F_ACK, 502, NULL, 0);
    tcp(MS(130), &client, &web, 40000, 80, c + 1, s + 1, F_PSH | F_ACK, 502,
        (const uint8_t *)req, qlen);
    tcp(MS(145), &web, &client, 80, 40000, s + 1, c + 1 + (uint32_t)qlen, F_PSH | F_ACK, 507,
        (const uint8_t *)resp, plen);
    tcp(MS(155), &client, &web, 40000, 80, c + 1 + (uint32_t)qlen, s + 1 + (uint32_t)plen, F_ACK,
        501, NULL, 0);

    /* DNS query and answer. */
    uint8_t msg[512];
    static const uint8_t a_rr[4] = {203, 0, 113, 80};
    size_t n = dns_message(msg, 0x5a5a, 1, NULL, 0);
    udp(MS(500), &client, &dns, -1, 53000, 53, msg, n, 0);
    n = dns_message(msg, 0x5a5a, 1, a_rr, sizeof(a_rr));
    udp(MS(520), &dns, &client, -1, 53, 53000, msg, n, 0);

    /* ICMP echo request and reply. */
    icmp_echo(MS(600), &client, &web, 8, 0x1234, 1);
    icmp_echo(MS(610), &web, &client, 0, 0x1234, 1);

    /* One-way UDP media stream: first packet. */
    uint8_t media_payload[172];
    fill(media_payload, sizeof(media_payload), 0x80);
    udp(MS(800), &client3, &media, -1, 5004, 5004, media_payload, sizeof(media_payload), 0);

    /* Orderly close of the TCP connection. */
    tcp(MS(1000), &client, &web, 40000, 80, c + 1 + (uint32_t)qlen, s + 1 + (uint32_t)plen,
        F_FIN | F_ACK, 501, NULL, 0);
    tcp(MS(1010), &web, &client, 80, 40000, s + 1 + (uint32_t)plen, c + 2 + (uint32_t)qlen,
        F_FIN | F_ACK, 507, NULL, 0);
    tcp(MS(1020), &client, &web, 40000, 80, c + 2 + (uint32_t)qlen, s + 2 + (uint32_t)plen,
        F_ACK, 501, NULL, 0);

    /* Refused connection: the SYN is answered by RST/ACK. */
    uint32_t c2 = 3000000000u;
    tcp(MS(1500), &client, &web, 40001, 81, c2, 0, F_SYN, 64240, NULL, 0);
    tcp(MS(1501), &web, &client, 81, 40001, 0, c2 + 1, F_RST | F_ACK, 0, NULL, 0);

    udp(MS(1800), &client3, &media, -1, 5004, 5004, media_payload, sizeof(media_payload), 0);

    /* Half-open connection: a SYN nobody answers. */
    uint32_t c3 = 3500000000u;
    tcp(MS(2000), &client2, &tls, 40002, 443, c3, 0, F_SYN, 64240, NULL, 0);

    /* Malformed: IPv4 header checksum wrong. */
    uint8_t junk[16];
    fill(junk, sizeof(junk), 0x33);
    udp(MS(2250), &broken, &sink, -1, 40500, 9, junk, sizeof(junk), 1);

    /* DNS over IPv6. */
    static const uint8_t aaaa_rr[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,
                                        0,    0,    0,    0,    0, 0, 0, 0x80};
    n = dns_message(msg, 0x6b6b, 28, NULL, 0);
    udp(MS(2500), &client6, &dns6, -1, 50000, 53, msg, n, 0);
    n = dns_message(msg, 0x6b6b, 28, aaaa_rr, sizeof(aaaa_rr));
    udp(MS(2501), &dns6, &client6, -1, 53, 50000, msg, n, 0);

    udp(MS(2800), &client3, &media, -1, 5004, 5004, media_payload, sizeof(media_payload), 0);

    /* The half-open connection's SYN is retransmitted once. */
    tcp(MS(3000), &client2, &tls, 40002, 443, c3, 0, F_SYN, 64240, NULL, 0);

    /* VLAN 100: an NTP (RFC 5905) client request and the server's answer,
     * stamped with the same microsecond. */
    uint8_t ntp_req[48], ntp_resp[48];
    memset(ntp_req, 0, sizeof(ntp_req));
    ntp_req[0] = 0x23;                     /* LI 0, version 4, mode 3 (client) */
    put_be32(ntp_req + 40, 0xe93c2a80u);    /* transmit timestamp, seconds */
    memset(ntp_resp, 0, sizeof(ntp_resp));
    ntp_resp[0] = 0x24;                    /* LI 0, version 4, mode 4 (server) */
    ntp_resp[1] = 2;                       /* stratum */
    ntp_resp[2] = 6;                       /* poll */
    ntp_resp[3] = 0xe9;                    /* precision */
    memcpy(ntp_resp + 12, tls.addr, 4);    /* reference id: the upstream server */
    put_be32(ntp_resp + 16, 0xe93c2a00u);   /* reference timestamp */
    put_be32(ntp_resp + 24, 0xe93c2a80u);   /* origin: the client's transmit time */
    put_be32(ntp_resp + 32, 0xe93c2a80u);   /* receive */
    put_be32(ntp_resp + 40, 0xe93c2a80u);   /* transmit */
    udp(MS(3200), &client4, &ntp, 100, 40100, 123, ntp_req, sizeof(ntp_req), 0);
    udp(MS(3200), &ntp, &client4, 100, 123, 40100, ntp_resp, sizeof(ntp_resp), 0);

    udp(MS(3800), &client3, &media, -1, 5004, 5004, media_payload, sizeof(media_payload), 0);

    close_out(path);
}

/*
 * The link-type captures for tests/pcap/: in each, one UDP request and its
 * answer over IPv4 (192.0.2.1:1000 <-> 198.51.100.1:2000, payloads of 10 and
 * 20 bytes: 38 and 48 IP bytes) and, where the link type carries IPv6, one
 * over IPv6 (2001:db8::1:1000 <-> 2001:db8:1::1:2000: 58 and 68 IP bytes).
 */
static void write_link_capture(const char *dir, const char *name, uint32_t lt, int with_v6)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    open_out(path, lt);
    struct host a = v4host(192, 0, 2, 1, 0x01);
    struct host b = v4host(198, 51, 100, 1, 0x02);
    uint8_t q[10], r[20];
    fill(q, sizeof(q), 0x40);
    fill(r, sizeof(r), 0x50);
    if (lt != LT_IPV6) {
        udp(MS(0), &a, &b, -1, 1000, 2000, q, sizeof(q), 0);
        udp(MS(10), &b, &a, -1, 2000, 1000, r, sizeof(r), 0);
    }
    if (with_v6) {
        struct host a6 = v6host(0, 1, 0x01);
        struct host b6 = v6host(1, 1, 0x02);
        udp(MS(20), &a6, &b6, -1, 1000, 2000, q, sizeof(q), 0);
        udp(MS(30), &b6, &a6, -1, 2000, 1000, r, sizeof(r), 0);
    }
    close_out(path);
}

/*
 * checksum_offload.pcap: a TCP handshake captured on the client, whose
 * outgoing SYN and ACK carry only the pseudo-header sum in the checksum
 * field (the NIC completes it); the server's SYN/ACK is correct.
 */
static void write_offload_capture(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/checksum_offload.pcap", dir);
    open_out(path, LT_ETHERNET);
    struct host client = v4host(192, 0, 2, 10, 0x0a);
    struct host server = v4host(198, 51, 100, 20, 0x01);
    uint32_t c = 100000u, s = 900000u;
    offload_partial = 1;
    tcp(MS(0), &client, &server, 41000, 443, c, 0, F_SYN, 64240, NULL, 0);
    offload_partial = 0;
    tcp(MS(5), &server, &client, 443, 41000, s, c + 1, F_SYN | F_ACK, 65160, NULL, 0);
    offload_partial = 1;
    tcp(MS(10), &client, &server, 41000, 443, c + 1, s + 1, F_ACK, 502, NULL, 0);
    offload_partial = 0;
    close_out(path);
}

static void write_test_captures(const char *dir)
{
    write_link_capture(dir, "link_ethernet.pcap", LT_ETHERNET, 1);
    write_link_capture(dir, "link_null.pcap", LT_NULL, 1);
    write_link_capture(dir, "link_loop.pcap", LT_LOOP, 1);
    write_link_capture(dir, "link_raw.pcap", LT_RAW, 1);
    write_link_capture(dir, "link_ipv4.pcap", LT_IPV4, 0);
    write_link_capture(dir, "link_ipv6.pcap", LT_IPV6, 1);
    write_link_capture(dir, "link_linux_sll.pcap", LT_LINUX_SLL, 1);
    write_link_capture(dir, "link_linux_sll2.pcap", LT_LINUX_SLL2, 1);
    write_offload_capture(dir);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--test-captures") == 0) {
        write_test_captures(argv[2]);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: gen_sample OUT.pcap\n"
                        "       gen_sample --test-captures DIR\n"
                        "Writes the deterministic sample capture, or the link-type and\n"
                        "checksum-offload captures of tests/pcap/ into DIR (see the comments\n"
                        "in tools/gen_sample.c).\n");
        return 2;
    }
    write_sample(argv[1]);
    return 0;
}
