/*
 * libFuzzer target of NAT (built with -DCTRACK_FUZZ=ON and clang; `make
 * test-fuzz` runs it briefly): packets through a table with SNAT and DNAT
 * policies chosen by the input, in bursts through ct_process_burst_rw().
 *
 * The input is a policy byte, then records, each building one valid packet
 * (IPv4 or IPv6; TCP, UDP with or without a checksum, ICMP echo, an ICMP
 * error quoting an earlier packet, SCTP) from a small address and port
 * space, so that connections meet, clash and exhaust their ranges, cut to
 * a length the record chooses. Checked after every burst, besides memory
 * safety:
 *   - no byte past a frame's length changed (guard bytes);
 *   - a packet the verdict does not mark CT_VERDICT_NAT is unchanged;
 *   - a packet marked CT_VERDICT_NAT parses again, and when it was whole
 *     its checksums are still right (every rewrite updates them);
 *   - the table's counters add up (created = live + deleted).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrack/ctrack.h"

#define SEC 1000000000ull
#define SLOT 160u  /* bytes per frame, guard included */
#define GUARD 16u
#define MAXLEN (SLOT - GUARD)

struct policy {
    struct ct_nat_request req;
};

static void policy_fn(void *arg, const struct ct_pkt *pkt, struct ct_nat_request *req)
{
    const struct policy *p = arg;
    const int v6 = pkt->tuple.l3 == CT_L3_IPV6;
    *req = p->req;
    for (unsigned m = 0; m < 2; m++) {
        struct ct_nat_range *r = &req->range[m];
        if (v6 && (r->flags & CT_NAT_RANGE_MAP_IPS)) {
            /* The same ends in the IPv6 documentation prefix. */
            uint8_t lo = r->min_addr.b[3], hi = r->max_addr.b[3];
            memset(&r->min_addr, 0, sizeof(r->min_addr));
            memset(&r->max_addr, 0, sizeof(r->max_addr));
            r->min_addr.b[0] = r->max_addr.b[0] = 0x20;
            r->min_addr.b[1] = r->max_addr.b[1] = 0x01;
            r->min_addr.b[15] = lo;
            r->max_addr.b[15] = hi;
        }
    }
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t sum(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += be16(p + i);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Writes the transport checksum of the packet at ip (l4 at off, n bytes). */
static void l4_csum(uint8_t *ip, int v6, uint8_t proto, uint8_t *l4, uint32_t n, unsigned coff)
{
    uint32_t s = 0;
    if (proto != 1) {
        s = v6 ? sum(0, ip + 8, 32) : sum(0, ip + 12, 8);
        s += proto + n;
    }
    put16(l4 + coff, 0);
    uint16_t c = fold(sum(s, l4, n));
    put16(l4 + coff, proto == 17 && c == 0 ? 0xffff : c);
}

/* One packet from a record r of 8 bytes into o; returns its length. */
static uint32_t build(uint8_t *o, const uint8_t *r, const uint8_t *last, uint32_t last_len)
{
    const unsigned kind = r[0] % 7, v6 = (r[0] >> 3) & 1;
    const uint8_t a = (uint8_t)(1 + (r[1] & 7)), b = (uint8_t)(9 + ((r[1] >> 3) & 7));
    const uint16_t sp = (uint16_t)(1000 + (r[2] & 15)), dp = (uint16_t)(80 + (r[3] & 3));
    const int rev = r[4] & 1;
    static const uint8_t protos[7] = {6, 17, 17, 1, 1, 132, 6};
    uint8_t proto = protos[kind];
    if (v6 && proto == 1)
        proto = 58;
    const uint32_t hl = v6 ? 40u : 20u;
    uint8_t *l4 = o + hl;
    uint32_t n;
    memset(o, 0, MAXLEN);
    switch (kind) {
    case 0:
    case 6: /* TCP: SYN, or whatever flags the record says */
        n = 20;
        put16(l4, rev ? dp : sp);
        put16(l4 + 2, rev ? sp : dp);
        l4[12] = 5 << 4;
        l4[13] = kind == 0 ? 0x02 : r[5];
        put16(l4 + 14, 65535);
        break;
    case 1:
    case 2: /* UDP, with a checksum or (IPv4 only) none */
        n = 12;
        put16(l4, rev ? dp : sp);
        put16(l4 + 2, rev ? sp : dp);
        put16(l4 + 4, (uint16_t)n);
        break;
    case 3: /* echo request or reply */
        n = 12;
        l4[0] = v6 ? (rev ? 129 : 128) : (rev ? 0 : 8);
        put16(l4 + 4, sp);
        break;
    case 4: /* an error quoting the last packet */
        n = 8 + (last_len < MAXLEN - hl - 8 ? last_len : MAXLEN - hl - 8);
        if (r[5] & 1)
            n = 8 + ((n - 8) * r[6] / 255);
        l4[0] = v6 ? 1 : 3;
        l4[1] = v6 ? 4 : 3;
        memcpy(l4 + 8, last, n - 8);
        break;
    default: /* SCTP: the common header and a DATA chunk head */
        n = 28;
        put16(l4, rev ? dp : sp);
        put16(l4 + 2, rev ? sp : dp);
        l4[12] = 0;
        put16(l4 + 14, 16);
        break;
    }
    if (v6) {
        o[0] = 0x60;
        put16(o + 4, (uint16_t)n);
        o[6] = proto;
        o[7] = 64;
        o[8] = 0x20;
        o[9] = 0x01;
        o[24] = 0x20;
        o[25] = 0x01;
        o[23] = rev ? b : a;
        o[39] = rev ? a : b;
    } else {
        o[0] = 0x45;
        put16(o + 2, (uint16_t)(hl + n));
        o[8] = 64;
        o[9] = proto;
        o[12] = 10;
        o[15] = rev ? b : a;
        o[16] = 10;
        o[19] = rev ? a : b;
        put16(o + 10, fold(sum(0, o, 20)));
    }
    if (proto == 132) {
        /* CRC32c left as it comes: the table checks no checksum. */
    } else if (!(kind == 2 && !v6)) {
        unsigned coff = proto == 6 ? 16 : proto == 17 ? 6 : 2;
        l4_csum(o, (int)v6, proto, l4, n, coff);
    }
    return hl + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = 32;
    cfg.flags = CT_TABLE_F_NO_CHECKSUM;
    struct ct_table *t = ct_table_create(&cfg, NULL);
    if (!t)
        abort();
    struct ct_nat_config nc;
    ct_nat_config_init(&nc);
    nc.workers = (uint16_t)(data[0] >> 6);
    nc.worker = 0;
    nc.flags = (data[1] & 0x80) ? CT_NAT_F_CSUM_PARTIAL : 0;
    if (ct_nat_enable(t, &nc) != 0)
        abort();
    static struct policy pol;
    memset(&pol, 0, sizeof(pol));
    pol.req.manips = data[0] & 3;
    for (unsigned m = 0; m < 2; m++) {
        struct ct_nat_range *r = &pol.req.range[m];
        uint8_t x = (uint8_t)(data[1] >> (m * 3));
        r->flags = (x & 1) ? CT_NAT_RANGE_MAP_IPS : 0;
        r->min_addr.b[0] = r->max_addr.b[0] = 10;
        r->min_addr.b[3] = (uint8_t)(20 + m);
        r->max_addr.b[3] = (uint8_t)(20 + m + ((x >> 1) & 1));
        if (x & 4) {
            r->flags |= CT_NAT_RANGE_PROTO_SPECIFIED;
            r->min_port = 2000;
            r->max_port = (uint16_t)(2000 + (data[0] >> 2 & 7));
        }
        if (data[0] & 0x20)
            r->flags |= CT_NAT_RANGE_PROTO_RANDOM_FULLY;
    }
    ct_nat_set_policy(t, policy_fn, &pol);

    static uint8_t buf[CT_BURST_MAX][SLOT], copy[CT_BURST_MAX][SLOT];
    static uint8_t last[MAXLEN];
    uint32_t last_len = 0;
    struct ct_frame_rw fr[CT_BURST_MAX];
    struct ct_pkt pk[CT_BURST_MAX];
    struct ct_verdict v[CT_BURST_MAX];
    const uint8_t *p = data + 2, *end = data + size;
    uint64_t now = SEC;
    while (p + 8 <= end) {
        unsigned n = 0;
        while (n < 8 && p + 8 <= end) {
            uint32_t len = build(buf[n], p, last, last_len);
            memcpy(last, buf[n], len);
            last_len = len;
            /* Cut short, sometimes: the record's last byte. */
            if (p[7] & 0x80)
                len = len * (p[7] & 0x7f) / 127;
            memset(buf[n] + len, 0xa5, SLOT - len);
            memcpy(copy[n], buf[n], SLOT);
            fr[n] = (struct ct_frame_rw){.data = buf[n], .len = len,
                                         .link = (buf[n][0] >> 4) == 6 ? CT_LINK_IPV6
                                                                       : CT_LINK_IPV4,
                                         .flags = (p[4] & 2) ? CT_FRAME_F_CSUM_PARTIAL : 0};
            n++;
            p += 8;
        }
        now += (uint64_t)(p[-1] & 3) * SEC;
        if (ct_process_burst_rw(t, fr, pk, v, n, now, CT_PROCESS_COMMIT) != (int)n)
            abort();
        for (unsigned i = 0; i < n; i++) {
            if (memcmp(buf[i] + fr[i].len, copy[i] + fr[i].len, SLOT - fr[i].len) != 0)
                abort(); /* written past the frame */
            if (!(v[i].flags & CT_VERDICT_NAT)) {
                if (memcmp(buf[i], copy[i], fr[i].len) != 0)
                    abort(); /* changed without saying so */
                continue;
            }
            struct ct_pkt q;
            const struct ct_frame f = {.data = buf[i], .len = fr[i].len, .link = fr[i].link};
            ct_pkt_parse(&f, &q);
            if (q.reason != CT_REASON_NONE)
                abort(); /* a translation broke the packet */
            const struct ct_frame f0 = {.data = copy[i], .len = fr[i].len, .link = fr[i].link};
            struct ct_pkt q0;
            ct_pkt_parse(&f0, &q0);
            /* Checksums right before stay right, unless the NIC is to
             * finish them (partial) or the packet is SCTP (the input's
             * CRC was never right). */
            if (!(fr[i].flags & CT_FRAME_F_CSUM_PARTIAL) && !(nc.flags & CT_NAT_F_CSUM_PARTIAL) &&
                q0.tuple.proto != 132 && ct_pkt_verify_checksum(&q0) &&
                !ct_pkt_verify_checksum(&q))
                abort();
        }
    }
    struct ct_table_stats st;
    ct_table_stats(t, &st);
    if (st.created != st.connections + st.deleted)
        abort();
    ct_table_destroy(t);
    return 0;
}
