/*
 * Table fixtures for the unit tests: a table with a fixed hash key, one
 * hand-built packet descriptor through the packet path, IPv4 packet and TCP
 * segment descriptors for the path, and a bare segment for the trackers.
 *
 * mk_table(max, flags) takes the table's flags exactly as given, apart from
 * CT_TABLE_F_FIXED_KEY, which it always adds with the same key so that
 * bucket placement, and with it early drop and probe-limit choices, repeats
 * from run to run. Tests that feed hand-built descriptors pass
 * CT_TABLE_F_NO_CHECKSUM themselves (a descriptor carries no frame bytes to
 * sum); tests that feed real frames leave the checksum on.
 *
 * Header-only (static inline functions). The fixtures report a failed
 * creation or call through check.h's CHECK macros, as a failure of the test
 * that called them.
 */
#ifndef CT_TESTS_SUPPORT_TABLE_FIXTURE_H
#define CT_TESTS_SUPPORT_TABLE_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ctrack/ctrack.h"

/* The fixed key of every fixture table. */
#define TABLE_FIXTURE_KEY0 0x1122334455667788ull
#define TABLE_FIXTURE_KEY1 0x99aabbccddeeff00ull

/*
 * A table from `base` (NULL: ct_table_config_init()'s defaults) for `max`
 * connections, with base's flags plus `flags` plus CT_TABLE_F_FIXED_KEY.
 * A failed creation is a test failure; the result is then NULL.
 */
static inline struct ct_table *mk_table_cfg(const struct ct_table_config *base, uint32_t max,
                                            uint32_t flags)
{
    struct ct_table_config cfg;
    if (base)
        cfg = *base;
    else
        ct_table_config_init(&cfg);
    cfg.max_connections = max;
    cfg.flags |= flags | CT_TABLE_F_FIXED_KEY;
    cfg.hash_key[0] = TABLE_FIXTURE_KEY0;
    cfg.hash_key[1] = TABLE_FIXTURE_KEY1;
    int err = 1;
    struct ct_table *t = ct_table_create(&cfg, &err);
    CHECK_PTR(t);
    CHECK_EQ_I(err, 0);
    return t;
}

/* A table with the default configuration for `max` connections and `flags`. */
static inline struct ct_table *mk_table(uint32_t max, uint32_t flags)
{
    return mk_table_cfg(NULL, max, flags);
}

/*
 * Runs one hand-built descriptor through ct_process_parsed() with
 * CT_PROCESS_COMMIT at `now`. The packet is a copy, so the caller's stays as
 * built; the verdict starts filled with 0xee so that a field the path
 * forgets to write shows.
 */
static inline struct ct_verdict run1(struct ct_table *t, struct ct_pkt p, uint64_t now)
{
    struct ct_verdict v;
    memset(&v, 0xee, sizeof(v));
    CHECK_EQ_I(ct_process_parsed(t, &p, &v, 1, now, CT_PROCESS_COMMIT), 1);
    return v;
}

/*
 * A parsed IPv4 packet from src:sp to dst:dp (addresses and ports in host
 * order; for ICMP the identifier and type << 8 | code) with the IP length
 * `ip_len`, for ct_process_parsed(): reason NONE, every other field zero.
 */
static inline struct ct_pkt pkt4(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp,
                                 uint16_t dp, uint32_t ip_len)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.reason = CT_REASON_NONE;
    p.tuple.l3 = CT_L3_IPV4;
    p.tuple.proto = proto;
    p.tuple.src.v4 = src;
    p.tuple.dst.v4 = dst;
    p.tuple.sport = sp;
    p.tuple.dport = dp;
    p.ip_len = ip_len;
    return p;
}

/* A parsed IPv4 TCP segment: pkt4() with a 20-byte header, `len` payload
 * bytes and a window of 65535. */
static inline struct ct_pkt tcp4(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
                                 uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
    struct ct_pkt p = pkt4(6, src, dst, sp, dp, 40 + len);
    p.l4_len = 20 + len;
    p.payload_len = (uint16_t)len;
    p.tcp_hdr_len = 20;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.win = 65535;
    return p;
}

/*
 * A TCP segment as the trackers see it: flags, sequence and acknowledgement
 * numbers, the window as carried (unscaled) and `len` payload bytes behind a
 * 20-byte header; no addresses (the trackers take the connection from the
 * caller). payload_len saturates at 65535, as the parser's does.
 */
static inline struct ct_pkt seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
                                uint32_t len)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.win = win;
    p.tcp_hdr_len = 20;
    p.l4_len = 20 + len;
    p.payload_len = (uint16_t)(len > 0xffff ? 0xffff : len);
    return p;
}

/*
 * A parsed packet of either family for ct_process_parsed(), with only its
 * tuple and IP length set: IPv4 addresses as given (network order in
 * memory is the caller's business), IPv6 ones fe80::SRC and fe80::DST (SRC
 * and DST in the last 32-bit word).
 */
static inline struct ct_pkt pkt_tuple(uint8_t l3, uint8_t proto, uint32_t src, uint32_t dst,
                                      uint16_t sp, uint16_t dp, uint32_t ip_len)
{
    struct ct_pkt p;
    memset(&p, 0, sizeof(p));
    p.tuple.l3 = l3;
    p.tuple.proto = proto;
    if (l3 == CT_L3_IPV4) {
        p.tuple.src.v4 = src;
        p.tuple.dst.v4 = dst;
    } else {
        p.tuple.src.b[0] = 0xfe;
        p.tuple.src.b[1] = 0x80;
        p.tuple.src.w[3] = src;
        p.tuple.dst.b[0] = 0xfe;
        p.tuple.dst.b[1] = 0x80;
        p.tuple.dst.w[3] = dst;
    }
    p.tuple.sport = sp;
    p.tuple.dport = dp;
    p.ip_len = ip_len;
    return p;
}

#endif
