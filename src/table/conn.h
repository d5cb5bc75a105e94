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
 *    52   proto          44   tracker state: struct ct_tcp_conn (TCP), struct
 *                             ct_sctp_conn (SCTP), unused otherwise
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
 * Bytes of an entry reserved for the protocol tracker's own state (TCP: its
 * window data, struct ct_tcp_conn in proto/tcp_conn.h; SCTP: its tags,
 * struct ct_sctp_conn in proto/proto.h). The table never reads them; each
 * tracker asserts that its state fits.
 */
#define CT_CONN_PROTO_BYTES 44

/*
 * The common body of every entry; handles point here.
 *
 * Locking in a shared table (legend in table/shared.h; a table of one
 * thread takes no locks). The key (before the body), first_seen, policy,
 * zone_reply and the family bit of status are [I] from the insert until the
 * entry is freed, so a lock-free lookup may compare them. flags8 is the
 * connection lock itself [A]. last_seen, mark, the rest of status, l4state,
 * timeout, proto and the counters are [C]. timer_prev and timer_next
 * belong to whoever holds the entry: [W] while it is filed in the wheel,
 * [O] in a limbo, [D] on the deferred list, [P] on a pool's free list.
 * None of this is checked by the analysis (shared.h says why).
 */
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
    uint8_t proto[CT_CONN_PROTO_BYTES]; /* the tracker's state, see above */
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
