/*
 * Private layout of a connection entry.
 *
 * An entry is the connection's original-direction key, then a body common to
 * both families, then, in a table that keeps accounting (the default; not
 * with CT_TABLE_F_NO_ACCT), the packet and byte counters:
 *
 *     IPv4: ct_key4 (16 B) + struct ct_conn (80 B)                =  96 B
 *           ct_key4 (16 B) + struct ct_conn (80 B) + ct_acct (32) = 128 B
 *     IPv6: ct_key6 (40 B) + struct ct_conn (80 B), padded        = 128 B
 *           ct_key6 (40 B) + struct ct_conn (80 B) + ct_acct (32) = 152 B,
 *           padded to 160 B.
 *
 * Entry sizes are multiples of CT_ENTRY_ALIGN (32), and the size in a table
 * (its pool stride, see pool.h) follows the table's flags. IPv4 and IPv6
 * entries live in two pools, so an IPv4 connection does not pay for IPv6
 * addresses. A handle (struct ct_conn *) points at the body; the key sits just
 * before it, at an offset fixed by the family (CT_STATUS_PRIV_IPV6); the
 * counters sit just after it, at the same offset (sizeof(struct ct_conn)) in
 * both families, and are reached only through ct_table_conn_acct()
 * (table.h), which knows whether the table has them.
 *
 * Why the counters are optional: at 10 million connections the goal is at
 * most 128 bytes per IPv4 connection with the hash index (~19 B per
 * connection), and the counters are what does not fit. Linux keeps them in
 * an extension that is off by default (net.netfilter.nf_conntrack_acct=0);
 * ctrack keeps them by default (its CLI prints them, as conntrack -L does
 * with accounting on) and lets a table leave them out.
 *
 * The reply tuple is not stored: without NAT it is the inverse of the
 * original (ct_tuple_invert()), and a reply-direction index slot is compared
 * against that inverse. A NATed connection keeps its reply tuple in the
 * table's NAT side array, indexed like the pool.
 *
 *   offset (IPv4 entry)   field
 *     0   key            16   original tuple, compact (IPv6: 40 B, body at 40)
 *    16   last_seen       8   ns, written per packet
 *    24   first_seen      8   ns (the UDP tracker's stream test reads it)
 *    32   mark            4
 *    36   timer_prev      4   timer wheel links (conn ids)
 *    40   timer_next      4
 *    44   status          2   CT_STATUS_* plus private bits below
 *    46   l4state         1   protocol state (TCP: enum ct_tcp_state)
 *    47   policy          1   timeout policy index (0: the table's)
 *    48   zone_reply      2   zone of the reply direction
 *    50   timeout         1   enum ct_timeout in force
 *    51   flags8          1   private per-connection bits (shared tables: lock)
 *    52   proto          44   struct ct_tcp_conn (TCP), unused otherwise
 *    96   acct           32   packets[2], bytes[2]: only with accounting
 *   128
 *
 * Cache-line budget of an established packet: the bucket line of the hash
 * index, then every line of the entry, which the burst path prefetches
 * together (ct_pool_prefetch_entry(), pool.h). The pools are page-aligned and
 * every size is a multiple of 32, so an entry starts at byte 0 or 32 of a
 * line:
 *
 *   IPv4,  96 B, at 0:  line 0 = key .. flags8 and TCP bytes 0-11,
 *                       line 1 = TCP bytes 12-43;
 *   IPv4,  96 B, at 32: line 0 = key, last_seen, first_seen,
 *                       line 1 = mark .. the whole TCP state;
 *   IPv4, 128 B (always at 0 of a 128-byte pair): line 0 as "96 B at 0",
 *                       line 1 = TCP bytes 12-43 and the counters;
 *   IPv6, 128 B: two lines; IPv6, 160 B: three lines.
 *
 * So an established IPv4 TCP packet reads and writes exactly two entry lines
 * with or without counters, as before the counters became optional, and an
 * IPv6 one two lines without counters (three with). The fields every packet
 * touches (key compare, last_seen, status, l4state, zone_reply for a reply's
 * key, timeout) lie in the first 52 bytes; a non-TCP packet without counters
 * touches one line when its entry starts a line. Nothing else is touched
 * unless the deadline moves earlier (timer links) or the connection ends.
 */
#ifndef CT_TABLE_CONN_H
#define CT_TABLE_CONN_H

#include <stdint.h>

#include "base/compiler.h"
#include "ctrack/conn.h"
#include "ctrack/tuple.h"

/* Compact IPv4 key: what identifies one direction. 16 bytes, no padding. */
struct ct_key4 {
    uint32_t src;   /* network order */
    uint32_t dst;
    uint16_t sport; /* host order */
    uint16_t dport;
    uint16_t zone;
    uint8_t l3;     /* always CT_L3_IPV4 */
    uint8_t proto;
};
_Static_assert(sizeof(struct ct_key4) == 16, "ct_key4 must be padding-free");

/* IPv6 key: the public tuple layout. 40 bytes, no padding. */
struct ct_key6 {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    uint16_t zone;
    uint8_t l3;     /* always CT_L3_IPV6 */
    uint8_t proto;
};
_Static_assert(sizeof(struct ct_key6) == 40, "ct_key6 must be padding-free");
_Static_assert(sizeof(struct ct_key6) == sizeof(struct ct_tuple), "ct_key6 mirrors ct_tuple");

/*
 * Per-direction TCP window data (van Rooij's "Real Stateful TCP Packet
 * Filtering in IP Filter", as Linux's ip_ct_tcp_state keeps it). Packed to
 * 14 bytes so both directions and the last-packet fields fit the 44-byte
 * budget; members are read through the struct, never by address.
 */
struct __attribute__((packed, aligned(2))) ct_tcp_dir {
    uint32_t td_end;    /* highest seq + len seen from this side */
    uint32_t td_maxend; /* highest ack + max(win, 1) seen from this side */
    uint32_t td_maxwin; /* largest window advertised by this side */
    uint8_t td_scale;   /* window scale shift this side announced */
    uint8_t flags;      /* CT_TCPF_* */
};
_Static_assert(sizeof(struct ct_tcp_dir) == 14, "ct_tcp_dir is 14 bytes");

/* Per-direction TCP flags (ct_tcp_dir.flags), Linux's IP_CT_TCP_FLAG_*. */
enum {
    CT_TCPF_WINDOW_SCALE = 0x01,
    CT_TCPF_SACK_PERM = 0x02,
    CT_TCPF_CLOSE_INIT = 0x04,
    CT_TCPF_BE_LIBERAL = 0x08,
    CT_TCPF_DATA_UNACKNOWLEDGED = 0x10,
    CT_TCPF_MAXACK_SET = 0x20,
    CT_TCPF_CHALLENGE_ACK = 0x40,
    CT_TCPF_SIMULTANEOUS_OPEN = 0x80,
};

/*
 * TCP state beyond the state number: 44 bytes. The last_* fields remember
 * the previous packet for retransmission detection and for the "ignored
 * SYN/ACK" recovery, as Linux's ip_ct_tcp does.
 */
struct __attribute__((packed, aligned(2))) ct_tcp_conn {
    struct ct_tcp_dir seen[2]; /* 28 */
    uint32_t last_seq;
    uint32_t last_ack;
    uint32_t last_end;
    uint16_t last_win;
    uint8_t last_dir_index;    /* bit 0: last_dir; bits 1-3: last_index (flag class); bits 4-7: retrans (saturating) */
    uint8_t last_wscale_flags; /* bits 0-3: last_wscale; bits 4-7: last_flags (CT_TCPF_WINDOW_SCALE/SACK_PERM) */
};
_Static_assert(sizeof(struct ct_tcp_conn) == 44, "ct_tcp_conn budget is 44 bytes");

/* The common body of every entry; handles point here. */
struct ct_conn {
    uint64_t last_seen;
    uint64_t first_seen;
    uint32_t mark;
    uint32_t timer_prev;
    uint32_t timer_next;
    uint16_t status;
    uint8_t l4state;
    uint8_t policy;
    uint16_t zone_reply;
    uint8_t timeout;
    uint8_t flags8;
    union {
        struct ct_tcp_conn tcp;
        uint8_t raw[44];
    } proto;
};
_Static_assert(sizeof(struct ct_conn) == 80, "ct_conn body budget is 80 bytes");

/* Per-direction counters ([CT_DIR_ORIGINAL], [CT_DIR_REPLY]), kept right after
 * the body when the table keeps accounting. */
struct ct_acct {
    uint64_t packets[2];
    uint64_t bytes[2]; /* IP-layer bytes, as Linux counts them */
};
_Static_assert(sizeof(struct ct_acct) == 32, "ct_acct is 32 bytes");
_Static_assert(sizeof(struct ct_conn) % _Alignof(struct ct_acct) == 0,
               "the counters can follow the body directly");

/* Private status bits, kept above the public CT_STATUS_* bits. (The
 * per-connection lock of shared tables is flags8, not a status bit:
 * ct_conn_lock(), table.h.) */
enum {
    CT_STATUS_PRIV_IPV6 = 1u << 14, /* entry lives in the IPv6 pool */
};

/* Entry sizes are multiples of this; pools are page-aligned, so an entry
 * starts at byte 0 or 32 of a cache line. */
#define CT_ENTRY_ALIGN 32u

/* An entry without counters; with counters, struct ct_acct follows c. */
struct ct_conn4 {
    struct ct_key4 key;
    struct ct_conn c;
} CT_ALIGNED(CT_ENTRY_ALIGN);

struct ct_conn6 {
    struct ct_key6 key;
    struct ct_conn c;
    uint8_t pad[8];
} CT_ALIGNED(CT_ENTRY_ALIGN);

/* Bytes of an entry whose key takes key_bytes: key, body, the counters when
 * acct is non-zero, rounded up to CT_ENTRY_ALIGN. */
#define CT_ENTRY_SIZE(key_bytes, acct)                                                      \
    (((key_bytes) + sizeof(struct ct_conn) + ((acct) ? sizeof(struct ct_acct) : 0u) +      \
      CT_ENTRY_ALIGN - 1) / CT_ENTRY_ALIGN * CT_ENTRY_ALIGN)
#define CT_ENTRY4_SIZE(acct) CT_ENTRY_SIZE(offsetof(struct ct_conn4, c), acct)
#define CT_ENTRY6_SIZE(acct) CT_ENTRY_SIZE(offsetof(struct ct_conn6, c), acct)

_Static_assert(offsetof(struct ct_conn4, c) == sizeof(struct ct_key4), "IPv4 body follows the key");
_Static_assert(offsetof(struct ct_conn6, c) == sizeof(struct ct_key6), "IPv6 body follows the key");
_Static_assert(sizeof(struct ct_conn4) == 96 && CT_ENTRY4_SIZE(0) == 96,
               "IPv4 entry without counters is 96 bytes");
_Static_assert(CT_ENTRY4_SIZE(1) == 128, "IPv4 entry with counters is 128 bytes");
_Static_assert(sizeof(struct ct_conn6) == 128 && CT_ENTRY6_SIZE(0) == 128,
               "IPv6 entry without counters is 128 bytes");
_Static_assert(CT_ENTRY6_SIZE(1) == 160, "IPv6 entry with counters is 160 bytes");

static inline int ct_conn_is_v6(const struct ct_conn *c)
{
    return (c->status & CT_STATUS_PRIV_IPV6) != 0;
}

static inline struct ct_key4 *ct_conn_key4(struct ct_conn *c)
{
    return &CT_CONTAINER_OF(c, struct ct_conn4, c)->key;
}

static inline struct ct_key6 *ct_conn_key6(struct ct_conn *c)
{
    return &CT_CONTAINER_OF(c, struct ct_conn6, c)->key;
}

#endif
