/*
 * ctbench --snapshot: save and restore rates of the table (ctrack/snapshot.h).
 *
 *     ctbench --snapshot [--conns N] [--family 4|6] [--acct on|off] [--runs N]
 *
 * Fills a table with N connections (TCP after a full handshake, with their
 * window state, and UDP with a reply, half each), then times, best of
 * --runs (default 3):
 *   save_buf     ct_table_save_buf() into memory;
 *   restore_buf  ct_table_restore_buf() from memory into a fresh table;
 *   save_file    ct_table_save_file() (temporary file, fsync, rename, fsync
 *                of the directory) in $TMPDIR or /tmp;
 *   restore_fd   ct_table_restore_fd() from that file (page cache warm).
 * One line per measurement: name, connections per second, seconds, and the
 * snapshot's bytes per connection. The goal is 5 M connections per
 * second per core each way (docs/snapshot.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctbench.h"
#include "ctrack/ctrack.h"

#define SEC 1000000000ull

static struct ct_table *mk(uint32_t n, int acct)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = n;
    cfg.flags = CT_TABLE_F_NO_CHECKSUM | (acct ? 0 : CT_TABLE_F_NO_ACCT);
    int err = 0;
    struct ct_table *t = ct_table_create(&cfg, &err);
    if (!t)
        fprintf(stderr, "ctbench: cannot create a table of %u: %s\n", n, strerror(-err));
    return t;
}

static struct ct_pkt pkt(unsigned v6, uint32_t i, unsigned reply, uint8_t proto, uint8_t flags,
                         uint32_t seq, uint32_t ack)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.tuple.l3 = v6 ? CT_L3_IPV6 : CT_L3_IPV4;
    p.tuple.proto = proto;
    union ct_addr a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (v6) {
        a.b[0] = b.b[0] = 0x20;
        a.w[3] = i + 1;
        b.w[3] = 0xffffffffu;
    } else {
        a.v4 = 0x0a000000u + (i >> 8);
        b.v4 = 0xc0a80001u;
    }
    uint16_t cp = (uint16_t)(1024 + (i & 255)), sp = proto == 6 ? 443 : 53;
    p.tuple.src = reply ? b : a;
    p.tuple.dst = reply ? a : b;
    p.tuple.sport = reply ? sp : cp;
    p.tuple.dport = reply ? cp : sp;
    unsigned l4 = proto == 6 ? 20 : 8;
    p.l4_len = l4;
    p.ip_len = (v6 ? 40 : 20) + l4;
    if (proto == 6) {
        p.tcp_hdr_len = 20;
        p.tcp_flags = flags;
        p.seq = seq;
        p.ack = ack;
        p.win = 65535;
    }
    return p;
}

/* n connections at time `now`, in bursts of CT_BURST_MAX packets of one kind. */
static void fill(struct ct_table *t, uint32_t n, unsigned v6, uint64_t now)
{
    static struct ct_pkt b[CT_BURST_MAX];
    static struct ct_verdict v[CT_BURST_MAX];
    for (unsigned step = 0; step < 5; step++) {
        for (uint32_t i = 0; i < n; i += CT_BURST_MAX) {
            unsigned k = 0;
            for (uint32_t j = i; j < n && j < i + CT_BURST_MAX; j++) {
                uint32_t isn = j * 7919u, risn = j * 104729u;
                if (j & 1) { /* UDP: request, answer */
                    if (step < 2)
                        b[k++] = pkt(v6, j, step, 17, 0, 0, 0);
                } else if (step == 0) {
                    b[k++] = pkt(v6, j, 0, 6, 0x02, isn, 0);
                } else if (step == 1) {
                    b[k++] = pkt(v6, j, 1, 6, 0x12, risn, isn + 1);
                } else if (step == 2) {
                    b[k++] = pkt(v6, j, 0, 6, 0x10, isn + 1, risn + 1);
                }
            }
            if (k)
                ct_process_parsed(t, b, v, k, now + step, CT_PROCESS_COMMIT);
        }
    }
}

static void report(const char *name, uint64_t conns, uint64_t ns, uint64_t bytes)
{
    printf("snapshot op=%s conns=%llu conn_per_s=%.0f seconds=%.4f bytes_per_conn=%.1f\n", name,
           (unsigned long long)conns, ns ? (double)conns * 1e9 / (double)ns : 0.0,
           (double)ns / 1e9, conns ? (double)bytes / (double)conns : 0.0);
}

int ctbench_snapshot(int argc, char **argv)
{
    uint32_t n = 1000000;
    unsigned v6 = 0, runs = 3;
    int acct = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--snapshot") == 0)
            continue;
        if (!val) {
            fprintf(stderr, "usage: ctbench --snapshot [--conns N] [--family 4|6] "
                            "[--acct on|off] [--runs N]\n");
            return 2;
        }
        if (strcmp(a, "--conns") == 0)
            n = (uint32_t)strtoul(val, NULL, 10);
        else if (strcmp(a, "--family") == 0)
            v6 = strcmp(val, "6") == 0;
        else if (strcmp(a, "--acct") == 0)
            acct = strcmp(val, "off") != 0;
        else if (strcmp(a, "--runs") == 0)
            runs = (unsigned)strtoul(val, NULL, 10);
        else {
            fprintf(stderr, "ctbench --snapshot: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (n == 0 || n > (1u << 26) || runs == 0)
        return 2;
    struct ct_table *t = mk(n, acct);
    if (!t)
        return 1;
    uint64_t now = 1000 * SEC;
    fill(t, n, v6, now);
    struct ct_table_stats st;
    ct_table_stats(t, &st);
    uint64_t conns = st.connections;
    size_t cap = ct_table_save_size(t);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return 1;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512];
    snprintf(path, sizeof(path), "%s/ctbench-snapshot.%d", dir, (int)getpid());
    uint64_t best[4] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    long len = 0;
    int rc = 0;
    for (unsigned r = 0; r < runs && rc == 0; r++) {
        uint64_t t0 = sys_now_ns();
        len = ct_table_save_buf(t, buf, cap, now + 10);
        uint64_t t1 = sys_now_ns();
        struct ct_table *u = mk(n, acct);
        uint64_t t2 = sys_now_ns();
        long got = u ? ct_table_restore_buf(u, buf, (size_t)len, now + 20) : -ENOMEM;
        uint64_t t3 = sys_now_ns();
        ct_table_destroy(u);
        int se = ct_table_save_file(t, path, now + 10);
        uint64_t t4 = sys_now_ns();
        u = mk(n, acct);
        int fd = open(path, O_RDONLY);
        uint64_t t5 = sys_now_ns();
        long got2 = u && fd >= 0 ? ct_table_restore_fd(u, fd, now + 20) : -ENOMEM;
        uint64_t t6 = sys_now_ns();
        if (fd >= 0)
            close(fd);
        ct_table_destroy(u);
        if (len < 0 || got != (long)conns || se != 0 || got2 != (long)conns) {
            fprintf(stderr, "ctbench --snapshot: failed: save %ld, restore %ld, file %d, %ld\n",
                    len, got, se, got2);
            rc = 1;
        }
        uint64_t d[4] = {t1 - t0, t3 - t2, t4 - t3, t6 - t5};
        for (unsigned k = 0; k < 4; k++)
            if (d[k] < best[k])
                best[k] = d[k];
    }
    unlink(path);
    if (rc == 0) {
        report("save_buf", conns, best[0], (uint64_t)len);
        report("restore_buf", conns, best[1], (uint64_t)len);
        report("save_file", conns, best[2], (uint64_t)len);
        report("restore_fd", conns, best[3], (uint64_t)len);
    }
    free(buf);
    ct_table_destroy(t);
    return rc;
}
