/*
 * Private layout of a connection entry.
 *
 * An entry is the connection's original-direction key followed by a body
 * common to both families:
 *
 *     struct ct_conn4 = ct_key4 (16 B) + struct ct_conn (112 B) = 128 B,
 *                       128-byte aligned: exactly two cache lines;
 *     struct ct_conn6 = ct_key6 (40 B) + struct ct_conn (112 B) = 152 B,
 *                       padded to 160 B.
 *
 * IPv4 and IPv6 entries live in two pools (see table.h), so an IPv4
 * connection does not pay for IPv6 addresses. A handle (struct ct_conn *)
 * points at the body; the key sits just before it, at an offset fixed by the
 * family (CT_STATUS_PRIV_IPV6).
 *
 * The reply tuple is not stored: without NAT it is the inverse of the
 * original (ct_tuple_invert()), and a reply-direction index slot is compared
 * against that inverse. A NATed connection keeps its reply tuple in the
 * table's NAT side array, indexed like the pool.
 *
 * Cache-line budget of an established packet (IPv4): the bucket line of the
 * hash index, then the entry's two lines, which are prefetched together.
 * Line 0 holds the key (compared first) and the fields every packet writes
 * (last_seen, counters); line 1 holds the TCP window state the TCP tracker
 * reads and writes. Nothing else is touched.
 *
 *   offset (in ct_conn4)   field
 *     0   key            16   original tuple, compact
 *    16   last_seen       8   ns, written per packet
 *    24   packets[2]     16
 *    40   bytes[2]       16
 *    56   first_seen      8
 *    64   mark            4   -- line 1 --
 *    68   timer_prev      4   timer wheel links (conn ids)
 *    72   timer_next      4
 *    76   status          2   CT_STATUS_* plus private bits below
 *    78   l4state         1   protocol state (TCP: enum ct_tcp_state)
 *    79   policy          1   timeout policy index (0: the table's)
 *    80   zone_reply      2   zone of the reply direction
 *    82   timeout         1   enum ct_timeout in force
 *    83   flags8          1   private per-connection bits
 *    84   proto          44   struct ct_tcp_conn (TCP), unused otherwise
 *   128
 */
#ifndef CT_TABLE_CONN_H
#define CT_TABLE_CONN_H

#include <stdint.h>

#include "common/compiler.h"
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
    uint64_t packets[2];
    uint64_t bytes[2];
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
_Static_assert(sizeof(struct ct_conn) == 112, "ct_conn body budget is 112 bytes");

/* Private status bits, kept above the public CT_STATUS_* bits. */
enum {
    CT_STATUS_PRIV_IPV6 = 1u << 14, /* entry lives in the IPv6 pool */
    CT_STATUS_PRIV_LOCK = 1u << 15, /* per-connection lock (shared tables) */
};

struct ct_conn4 {
    struct ct_key4 key;
    struct ct_conn c;
} CT_ALIGNED(128);
_Static_assert(sizeof(struct ct_conn4) == 128, "IPv4 entry is two cache lines");

struct ct_conn6 {
    struct ct_key6 key;
    struct ct_conn c;
    uint8_t pad[8];
} CT_ALIGNED(32);
_Static_assert(sizeof(struct ct_conn6) == 160, "IPv6 entry is 160 bytes");

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
