/*
 * gen_bigcap: writes a large synthetic pcap for the flow-log speed
 * comparison (bench/flowlog_compare.sh). Not committed; generated at
 * benchmark time.
 *
 *     gen_bigcap OUT.pcap [PACKETS] [SEED]
 *
 * The mix, in time order with interleaved connections (about 2000 open at
 * once, one new connection every few packets):
 *   - 80% TCP connections between 10.0.0.0/16 clients and 198.18.0.0/20
 *     servers on port 80 or 443: SYN, SYN-ACK, ACK, 1 to 16 data segments
 *     (100 to 1460 bytes) each acknowledged, then FIN, FIN-ACK, ACK;
 *   - 15% UDP exchanges to port 53 or 123: 1 to 4 request/answer pairs;
 *   - 5% ICMP echo: 1 to 4 request/reply pairs.
 * Ethernet frames, IPv4 with valid header, TCP and UDP checksums, 1 µs to
 * 50 µs apart. Deterministic for a seed (xorshift), so runs compare.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/support/frames.h"
#include "../tests/support/pcapfile.h"

#define OPEN_MAX 2048

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static unsigned rnd_range(unsigned lo, unsigned hi)
{
    return lo + (unsigned)(rnd() % (hi - lo + 1));
}

enum { K_TCP, K_UDP, K_ICMP };

/* One connection being played out. */
struct conn {
    uint8_t kind;
    uint8_t step;       /* next step of the script */
    uint8_t nsteps;     /* data segments or request/answer pairs */
    uint8_t done;       /* data segments sent so far */
    uint32_t cip, sip;
    uint16_t cport, sport;
    uint32_t cseq, sseq;
    uint16_t id;
    uint16_t seglen;
};

static uint8_t frame[1600];

/* Builds Ethernet + IPv4 (DF) + the L4 header and payload, with every
   checksum; returns the frame length. */
static size_t build(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4, size_t l4len,
                    uint16_t ipid)
{
    const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, (uint8_t)dst}, smac[6] = {0x02, 0, 0, 0, 0, (uint8_t)src};
    size_t off = eth_header(frame, dmac, smac, NULL, 0, 0x0800);
    uint8_t *ip = frame + off;
    size_t hl = ipv4_header(ip, proto, src, dst, ipid, NULL, 0, l4len);
    ipv4_set_frag(ip, 0x4000);
    memcpy(ip + hl, l4, l4len);
    ipv4_fill_transport_checksum(ip);
    return off + hl + l4len;
}

static uint8_t l4buf[1600];

static size_t tcp(const struct conn *c, int from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                  size_t len, uint16_t ipid)
{
    uint8_t *t = l4buf;
    tcp_header(t, from_client ? c->cport : c->sport, from_client ? c->sport : c->cport, seq, ack, flags, 65535,
               NULL, 0);
    memset(t + 20, 'x', len);
    return build(from_client ? c->cip : c->sip, from_client ? c->sip : c->cip, 6, t, 20 + len,
                 ipid);
}

static size_t udp(const struct conn *c, int from_client, size_t len, uint16_t ipid)
{
    uint8_t *u = l4buf;
    udp_header(u, from_client ? c->cport : c->sport, from_client ? c->sport : c->cport, len);
    memset(u + 8, 'q', len);
    return build(from_client ? c->cip : c->sip, from_client ? c->sip : c->cip, 17, u, 8 + len,
                 ipid);
}

static size_t icmp(const struct conn *c, int request, uint16_t seq, uint16_t ipid)
{
    uint8_t *m = l4buf;
    icmp_header(m, request ? 8 : 0, 0, c->id, seq);
    memset(m + 8, 'p', 56);
    return build(request ? c->cip : c->sip, request ? c->sip : c->cip, 1, m, 64, ipid);
}

/* Emits the next packet of c; returns its length, 0 when c is finished. */
static size_t next_packet(struct conn *c, uint16_t ipid)
{
    if (c->kind == K_TCP) {
        unsigned data_steps = 2u * c->nsteps;
        unsigned s = c->step++;
        if (s == 0)
            return tcp(c, 1, 0x02, c->cseq, 0, 0, ipid);
        if (s == 1)
            return tcp(c, 0, 0x12, c->sseq, c->cseq + 1, 0, ipid);
        if (s == 2)
            return tcp(c, 1, 0x10, c->cseq + 1, c->sseq + 1, 0, ipid);
        if (s < 3 + data_steps) {
            unsigned k = s - 3;
            uint32_t off = (uint32_t)(k / 2) * c->seglen;
            if ((k & 1) == 0) /* the server sends, the client acknowledges */
                return tcp(c, 0, 0x18, c->sseq + 1 + off, c->cseq + 1, c->seglen, ipid);
            return tcp(c, 1, 0x10, c->cseq + 1, c->sseq + 1 + off + c->seglen, 0, ipid);
        }
        uint32_t sdata = (uint32_t)c->nsteps * c->seglen;
        if (s == 3 + data_steps)
            return tcp(c, 1, 0x11, c->cseq + 1, c->sseq + 1 + sdata, 0, ipid);
        if (s == 4 + data_steps)
            return tcp(c, 0, 0x11, c->sseq + 1 + sdata, c->cseq + 2, 0, ipid);
        if (s == 5 + data_steps)
            return tcp(c, 1, 0x10, c->cseq + 2, c->sseq + 2 + sdata, 0, ipid);
        return 0;
    }
    unsigned s = c->step++;
    if (s >= 2u * c->nsteps)
        return 0;
    if (c->kind == K_UDP)
        return udp(c, (s & 1) == 0, (s & 1) ? 120 : 40, ipid);
    return icmp(c, (s & 1) == 0, (uint16_t)(s / 2 + 1), ipid);
}

static void new_conn(struct conn *c, uint32_t n)
{
    memset(c, 0, sizeof(*c));
    unsigned r = rnd_range(0, 99);
    c->kind = r < 80 ? K_TCP : r < 95 ? K_UDP : K_ICMP;
    c->cip = 0x0a000000u | (uint32_t)rnd_range(1, 65534);
    c->sip = 0xc6120000u | (uint32_t)rnd_range(1, 4094);
    c->cport = (uint16_t)(1024 + (n * 7 + rnd_range(0, 6)) % 64000);
    c->cseq = (uint32_t)rnd();
    c->sseq = (uint32_t)rnd();
    c->id = (uint16_t)rnd();
    if (c->kind == K_TCP) {
        c->sport = rnd_range(0, 1) ? 80 : 443;
        c->nsteps = (uint8_t)rnd_range(1, 16);
        c->seglen = (uint16_t)rnd_range(100, 1460);
    } else if (c->kind == K_UDP) {
        c->sport = rnd_range(0, 1) ? 53 : 123;
        c->nsteps = (uint8_t)rnd_range(1, 4);
    } else {
        c->nsteps = (uint8_t)rnd_range(1, 4);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_bigcap OUT.pcap [PACKETS] [SEED]\n");
        return 2;
    }
    uint64_t want = argc > 2 ? strtoull(argv[2], NULL, 10) : 4000000;
    if (argc > 3)
        rng_state ^= strtoull(argv[3], NULL, 10) * 0x2545f4914f6cdd1dull;
    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static char obuf[1 << 20];
    setvbuf(f, obuf, _IOFBF, sizeof(obuf));
    (void)pcap_write_header(f, PCAP_MAGIC_USEC, 65535, 1 /* Ethernet */);

    static struct conn open[OPEN_MAX];
    uint32_t nconn = 0;
    for (unsigned i = 0; i < OPEN_MAX; i++)
        new_conn(&open[i], nconn++);
    uint64_t t_us = 1700000000ull * 1000000ull;
    uint64_t n = 0;
    while (n < want) {
        unsigned i = (unsigned)(rnd() % OPEN_MAX);
        size_t len = next_packet(&open[i], (uint16_t)n);
        if (len == 0) {
            new_conn(&open[i], nconn++);
            continue;
        }
        t_us += rnd_range(1, 50);
        (void)pcap_write_record(f, (uint32_t)(t_us / 1000000), (uint32_t)(t_us % 1000000), frame, (uint32_t)len,
                                (uint32_t)len);
        n++;
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    fprintf(stderr, "gen_bigcap: %s: %llu packets, %u connections started\n", argv[1],
            (unsigned long long)n, nconn);
    return 0;
}
