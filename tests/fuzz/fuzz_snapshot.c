/*
 * libFuzzer target of ct_table_restore_buf() (built with -DCTRACK_FUZZ=ON and
 * clang; `make test-fuzz` runs it briefly). Restore must never crash and
 * must answer every input with a connection count or one of its documented
 * errors, leaving the table empty on error.
 *
 * Random bytes rarely pass the header's checksum, so half the inputs are
 * read as edits of a valid snapshot (pairs of offset and byte) whose
 * checksums are then made right again: those reach the record checks and
 * the inserts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrack/ctrack.h"

#define SEC 1000000000ull

static uint8_t *seed;
static size_t seed_len;

static struct ct_table *mk(void)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = 64;
    cfg.flags = CT_TABLE_F_NO_CHECKSUM;
    struct ct_table *t = ct_table_create(&cfg, NULL);
    if (!t)
        abort();
    return t;
}

/* A snapshot of a few TCP and UDP connections. */
static void make_seed(void)
{
    struct ct_table *t = mk();
    for (uint32_t i = 0; i < 12; i++) {
        struct ct_pkt p;
        memset(&p, 0, sizeof(p));
        p.tuple.l3 = i % 3 == 2 ? CT_L3_IPV6 : CT_L3_IPV4;
        p.tuple.proto = i % 2 ? 17 : 6;
        p.tuple.src.b[0] = 10;
        p.tuple.src.b[15] = (uint8_t)i;
        p.tuple.src.v4 = 0x0a000001u + i;
        p.tuple.dst.v4 = 0x0a000100u;
        p.tuple.sport = (uint16_t)(1000 + i);
        p.tuple.dport = 80;
        p.l4_len = 20;
        p.ip_len = 60;
        p.tcp_hdr_len = 20;
        p.tcp_flags = 0x02;
        p.seq = 1000 * i;
        p.win = 1024;
        struct ct_verdict v;
        ct_process_parsed(t, &p, &v, 1, 100 * SEC + i, CT_PROCESS_COMMIT);
    }
    seed_len = ct_table_save_size(t);
    seed = malloc(seed_len);
    long n = ct_table_save_buf(t, seed, seed_len, 101 * SEC);
    if (n < 0)
        abort();
    seed_len = (size_t)n;
    ct_table_destroy(t);
}

static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Rewrites the header's and the blocks' checksums (docs/snapshot.md). */
static void fix(uint8_t *b, size_t len)
{
    if (len < 96)
        return;
    put32(b + 92, crc32c(b, 92));
    size_t off = 96;
    while (off + 12 <= len) {
        uint32_t payload = get32(b + off + 4);
        if (payload > len - off - 12)
            return;
        put32(b + off + 8 + payload, crc32c(b + off, 8 + (size_t)payload));
        off += 12 + (size_t)payload;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!seed)
        make_seed();
    uint8_t *in;
    size_t len;
    if (size > 0 && (data[0] & 1)) {
        len = size - 1;
        in = malloc(len ? len : 1);
        memcpy(in, data + 1, len);
    } else {
        len = seed_len;
        in = malloc(len);
        memcpy(in, seed, len);
        for (size_t i = 1; i + 2 < size; i += 3) {
            size_t at = ((size_t)data[i] | (size_t)data[i + 1] << 8) % len;
            in[at] = data[i + 2];
        }
        fix(in, len);
    }
    struct ct_table *t = mk();
    long r = ct_table_restore_buf(t, in, len, 200 * SEC);
    struct ct_table_stats st;
    ct_table_stats(t, &st);
    if (r < 0) {
        if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOSPC && r != -EMEDIUMTYPE)
            abort();
        if (st.connections != 0)
            abort();
    } else if (st.connections != (uint64_t)r) {
        abort();
    }
    ct_table_destroy(t);
    free(in);
    return 0;
}
