/*
 * ctbench --nat: the cost of NAT against plain tracking, measured in the
 * same run (ctrack/nat.h, docs/nat.md).
 *
 *     ctbench --nat [--conns N] [--range R] [--runs N]
 *
 * Two workloads, each against its baseline without NAT, the two tables
 * timed in alternating rounds (best of --runs, default 5):
 *
 *   established  N UDP flows (default 100000) that have seen both
 *                directions, every packet through ct_process_burst_rw():
 *                `plain` tracks them; `dnat` translates every flow's
 *                destination (a service address to a backend) and every
 *                reply's source back. Frames are copied from a pristine
 *                ring into the burst buffer in both cases (a translation
 *                writes them). Reports packets per second of each and
 *                nat_cost = plain rate / dnat rate - 1 (the aim:
 *                at most 0.15).
 *   snat_setup   TCP connections from fresh clients to one server through
 *                one address with a port range of R ports (default 10000)
 *                of which 90 % are held by live connections to the same
 *                server port (so their reply tuples are the ones a new
 *                connection must not take): each set-up
 *                is a SYN (the allocation searches a free port) and the
 *                client's RST (the connection ends and its port is free
 *                again), so the range stays 90 % used. Reports set-ups
 *                per second with SNAT and without (`plain`: the same
 *                packets, no NAT) and the probes per set-up.
 *
 * Frames are raw IPv4 (link CT_LINK_IPV4) with valid checksums, and the
 * tables verify them, as a dataplane without checksum offload would.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctbench.h"
#include "ctrack/ctrack.h"

#define SEC 1000000000ull
#define CT_NOINLINE_BENCH __attribute__((noinline))
#define FRAME 48u /* bytes per frame slot: IPv4 20 + TCP 20 or UDP 8 + 4 */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/*
 * An IPv4 packet at o: UDP with 4 bytes of payload, or a TCP segment with
 * `flags`, with valid IP and transport checksums. Returns its length.
 */
static uint32_t ip4(uint8_t *o, uint8_t proto, uint32_t src, uint16_t sp, uint32_t dst,
                    uint16_t dp, uint8_t flags, uint32_t seq)
{
    uint32_t l4 = proto == 17 ? 12u : 20u, len = 20 + l4;
    memset(o, 0, len);
    o[0] = 0x45;
    put16(o + 2, (uint16_t)len);
    o[8] = 64;
    o[9] = proto;
    put32(o + 12, src);
    put32(o + 16, dst);
    put16(o + 10, fold(sum16(o, 20, 0)));
    uint8_t *t = o + 20;
    put16(t, sp);
    put16(t + 2, dp);
    if (proto == 17) {
        put16(t + 4, (uint16_t)l4);
        memcpy(t + 8, "ping", 4);
    } else {
        put32(t + 4, seq);
        t[12] = 5 << 4;
        t[13] = flags;
        put16(t + 14, 65535);
    }
    uint32_t ps = sum16(o + 12, 8, 0) + proto + l4;
    uint16_t c = fold(sum16(t, l4, ps));
    put16(t + (proto == 17 ? 6 : 16), proto == 17 && c == 0 ? 0xffff : c);
    return len;
}

struct ring {
    uint8_t *b;       /* n slots of FRAME bytes */
    uint32_t *len;
    uint32_t n;
};

static void ring_init(struct ring *r, uint32_t n)
{
    r->b = calloc(n, FRAME);
    r->len = calloc(n, sizeof(*r->len));
    r->n = n;
    if (!r->b || !r->len) {
        fprintf(stderr, "ctbench --nat: out of memory\n");
        exit(1);
    }
}

static void ring_free(struct ring *r)
{
    free(r->b);
    free(r->len);
}

static struct ct_table *mk(uint32_t n, int nat)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = n;
    int err = 0;
    struct ct_table *t = ct_table_create(&cfg, &err);
    struct ct_nat_config nc;
    ct_nat_config_init(&nc);
    if (t && nat && (err = ct_nat_enable(t, &nc)) != 0) {
        ct_table_destroy(t);
        t = NULL;
    }
    if (!t) {
        fprintf(stderr, "ctbench --nat: cannot create a table of %u: %d\n", n, err);
        exit(1);
    }
    return t;
}

/* Runs frames [0, n) of the ring through t in bursts, copied into `buf`
 * first. Returns the packets whose verdict was not `want` (a check that
 * the workload is what it claims). */
static uint64_t pass(struct ct_table *t, const struct ring *r, uint8_t *buf, uint64_t now,
                     uint8_t want)
{
    static struct ct_frame_rw f[CT_BURST_MAX];
    static struct ct_pkt p[CT_BURST_MAX];
    static struct ct_verdict v[CT_BURST_MAX];
    uint64_t off = 0;
    for (uint32_t i = 0; i < r->n; i += CT_BURST_MAX) {
        unsigned k = r->n - i < CT_BURST_MAX ? r->n - i : CT_BURST_MAX;
        memcpy(buf, r->b + (size_t)i * FRAME, (size_t)k * FRAME);
        for (unsigned j = 0; j < k; j++)
            f[j] = (struct ct_frame_rw){.data = buf + (size_t)j * FRAME, .len = r->len[i + j],
                                        .link = CT_LINK_IPV4};
        ct_process_burst_rw(t, f, p, v, k, now, CT_PROCESS_COMMIT);
        for (unsigned j = 0; j < k; j++)
            off += v[j].state != want;
    }
    return off;
}

/* The timed passes of each table, apart, so that callgrind can count each
 * (valgrind --toggle-collect=ctbench_nat_plain, ctbench_nat_translated for
 * the established workload, ctbench_nat_setup_plain, ctbench_nat_setup_snat
 * for the set-ups; bench/callgrind_nat.sh prints them per packet). */
#define TIMED_PASS(name)                                                                   \
    CT_NOINLINE_BENCH uint64_t name(struct ct_table *t, const struct ring *r, uint8_t *buf,   \
                                    uint64_t now, uint8_t want);                              \
    CT_NOINLINE_BENCH uint64_t name(struct ct_table *t, const struct ring *r, uint8_t *buf,   \
                                    uint64_t now, uint8_t want)                               \
    {                                                                                         \
        return pass(t, r, buf, now, want);                                                    \
    }
TIMED_PASS(ctbench_nat_plain)
TIMED_PASS(ctbench_nat_translated)
TIMED_PASS(ctbench_nat_setup_plain)
TIMED_PASS(ctbench_nat_setup_snat)

/* ---- established ---------------------------------------------------------------------- */

#define VIP 0xc0000280u     /* 192.0.2.128: the service */
#define BACKEND 0x0a630001u /* 10.99.0.1 */
#define SERVER 0xcb007107u  /* 203.0.113.7 */
#define PUBLIC 0xc6336401u  /* 198.51.100.1 */

static uint32_t client(uint32_t i)
{
    return 0x0a000000u + (i >> 8) * 256 + 1 + (i & 127);
}

static uint16_t cport(uint32_t i)
{
    return (uint16_t)(20000 + ((i >> 7) & 1) * 20000 + (i & 0x3ff));
}

static void dnat_policy(void *arg, const struct ct_pkt *pkt, struct ct_nat_request *req)
{
    (void)arg;
    (void)pkt;
    req->manips = 1u << CT_NAT_MANIP_DST;
    memset(&req->range[CT_NAT_MANIP_DST], 0, sizeof(req->range[0]));
    req->range[CT_NAT_MANIP_DST].flags = CT_NAT_RANGE_MAP_IPS;
    req->range[CT_NAT_MANIP_DST].min_addr.v4 = __builtin_bswap32(BACKEND);
    req->range[CT_NAT_MANIP_DST].max_addr.v4 = __builtin_bswap32(BACKEND);
}

/* The flows: request i to the service (or the backend itself, plain), and
 * its answer from where the answer comes. */
static void flows(struct ring *r, uint32_t n, uint32_t replier)
{
    ring_init(r, 2 * n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = 2 * i, b = 2 * i + 1;
        r->len[a] = ip4(r->b + (size_t)a * FRAME, 17, client(i), cport(i), VIP, 53, 0, 0);
        r->len[b] = ip4(r->b + (size_t)b * FRAME, 17, replier, 53, client(i), cport(i), 0, 0);
    }
}

static CT_NOINLINE_BENCH void bench_established(uint32_t n, unsigned runs)
{
    struct ring plain_r, nat_r;
    flows(&plain_r, n, VIP);
    flows(&nat_r, n, BACKEND);
    struct ct_table *plain = mk(n, 0), *nat = mk(n, 1);
    ct_nat_set_policy(nat, dnat_policy, NULL);
    uint8_t *buf = malloc((size_t)CT_BURST_MAX * FRAME);
    uint64_t now = SEC;
    /* Both directions seen: every later packet is ESTABLISHED. */
    pass(plain, &plain_r, buf, now, CT_STATE_ESTABLISHED);
    pass(nat, &nat_r, buf, now, CT_STATE_ESTABLISHED);
    double best[2] = {0, 0};
    uint64_t bad = 0;
    for (unsigned run = 0; run < runs; run++) {
        for (unsigned w = 0; w < 2; w++) {
            struct ct_table *t = w ? nat : plain;
            const struct ring *r = w ? &nat_r : &plain_r;
            now += SEC;
            uint64_t t0 = sys_now_ns();
            for (unsigned k = 0; k < 4; k++)
                bad += (w ? ctbench_nat_translated : ctbench_nat_plain)(t, r, buf, now + k,
                                                                         CT_STATE_ESTABLISHED);
            double rate = 4.0 * r->n * 1e9 / (double)(sys_now_ns() - t0);
            if (rate > best[w])
                best[w] = rate;
        }
    }
    struct ct_nat_stats ns;
    ct_nat_stats(nat, &ns);
    printf("nat workload=established conns=%u plain_pps=%.0f dnat_pps=%.0f nat_cost=%.3f "
           "translated=%llu not_established=%llu\n",
           n, best[0], best[1], best[0] / best[1] - 1.0, (unsigned long long)ns.rewritten,
           (unsigned long long)bad);
    free(buf);
    ct_table_destroy(plain);
    ct_table_destroy(nat);
    ring_free(&plain_r);
    ring_free(&nat_r);
}

/* ---- SNAT set-up under pressure ------------------------------------------------------------ */

static uint16_t snat_range;

static void snat_policy(void *arg, const struct ct_pkt *pkt, struct ct_nat_request *req)
{
    (void)arg;
    (void)pkt;
    req->manips = 1u << CT_NAT_MANIP_SRC;
    struct ct_nat_range *r = &req->range[CT_NAT_MANIP_SRC];
    memset(r, 0, sizeof(*r));
    r->flags = CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED;
    r->min_addr.v4 = r->max_addr.v4 = __builtin_bswap32(PUBLIC);
    r->min_port = 10000;
    r->max_port = (uint16_t)(10000 + snat_range - 1);
}

static void bench_snat_setup(uint32_t range, unsigned runs)
{
    snat_range = (uint16_t)range;
    const uint32_t held = range * 9 / 10, ops = 200000;
    struct ct_table *t[2] = {mk(held + 4 * CT_BURST_MAX, 0), mk(held + 4 * CT_BURST_MAX, 1)};
    ct_nat_set_policy(t[1], snat_policy, NULL);
    /* The held connections: SYNs of other clients to the same server port
     * (SYN_SENT lasts 120 s, longer than the run), so their translated
     * tuples are what the set-ups must avoid. */
    struct ring hold;
    ring_init(&hold, held);
    for (uint32_t i = 0; i < held; i++)
        hold.len[i] = ip4(hold.b + (size_t)i * FRAME, 6, 0x0b000000u + i, 5000, SERVER, 80, 0x02,
                          i * 104729u);
    uint8_t *buf = malloc((size_t)CT_BURST_MAX * FRAME);
    for (unsigned w = 0; w < 2; w++)
        pass(t[w], &hold, buf, SEC, CT_STATE_NEW);
    /* The set-ups: SYN then RST of fresh clients, in bursts of 32 pairs. */
    struct ring ops_r;
    ring_init(&ops_r, 2 * ops);
    for (uint32_t i = 0; i < ops; i++) {
        uint32_t c = 0x0c000000u + i;
        ops_r.len[2 * i] = ip4(ops_r.b + (size_t)(2 * i) * FRAME, 6, c, 6000, SERVER, 80, 0x02,
                               i * 7919u);
        ops_r.len[2 * i + 1] = ip4(ops_r.b + (size_t)(2 * i + 1) * FRAME, 6, c, 6000, SERVER, 80,
                                   0x04, i * 7919u + 1);
    }
    double best[2] = {0, 0};
    struct ct_nat_stats before, after;
    ct_nat_stats(t[1], &before);
    uint64_t now = 2 * SEC;
    for (unsigned run = 0; run < runs; run++) {
        for (unsigned w = 0; w < 2; w++) {
            now += SEC;
            uint64_t t0 = sys_now_ns();
            (w ? ctbench_nat_setup_snat : ctbench_nat_setup_plain)(t[w], &ops_r, buf, now, 0xff);
            double rate = (double)ops * 1e9 / (double)(sys_now_ns() - t0);
            if (rate > best[w])
                best[w] = rate;
        }
    }
    ct_nat_stats(t[1], &after);
    struct ct_table_stats st;
    ct_table_stats(t[1], &st);
    uint64_t made = after.bindings - before.bindings;
    printf("nat workload=snat_setup range=%u held=%u plain_setups_per_s=%.0f "
           "snat_setups_per_s=%.0f ratio=%.3f probes_per_setup=%.1f exhausted=%llu "
           "connections_after=%u\n",
           range, held, best[0], best[1], best[1] / best[0],
           made ? (double)(after.probes - before.probes) / (double)made : 0.0,
           (unsigned long long)(after.exhausted - before.exhausted), st.connections);
    free(buf);
    ring_free(&hold);
    ring_free(&ops_r);
    ct_table_destroy(t[0]);
    ct_table_destroy(t[1]);
}

int ctbench_nat(int argc, char **argv)
{
    uint32_t n = 100000, range = 10000;
    unsigned runs = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--nat") == 0)
            continue;
        char *end = NULL;
        unsigned long x = val ? strtoul(val, &end, 10) : 0;
        if (!val || *end != '\0' || x == 0) {
            fprintf(stderr, "usage: ctbench --nat [--conns N] [--range R] [--runs N]\n");
            return 2;
        }
        if (strcmp(a, "--conns") == 0 && x <= (1u << 24))
            n = (uint32_t)x;
        else if (strcmp(a, "--range") == 0 && x >= 10 && x <= 50000)
            range = (uint32_t)x;
        else if (strcmp(a, "--runs") == 0 && x <= 100)
            runs = (unsigned)x;
        else {
            fprintf(stderr, "ctbench --nat: bad option %s %s\n", a, val);
            return 2;
        }
        i++;
    }
    bench_established(n, runs);
    bench_snat_setup(range, runs);
    return 0;
}
