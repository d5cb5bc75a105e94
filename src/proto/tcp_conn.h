/*
 * The TCP tracker's per-connection state and its private helpers
 * (src/proto/tcp.c), shared with its unit tests: the window data kept in the
 * protocol area of an entry (struct ct_tcp_conn, reached through
 * ct_tcp_of()), the flag classes that index the transition table, and
 * accessors for the fields packed into the two last bytes of struct
 * ct_tcp_conn.
 *
 * Packing of those two bytes:
 *   last_dir_index     bit 0: last_dir; bits 1-3: last_index (flag class);
 *                      bits 4-7: retrans (saturating at 15)
 *   last_wscale_flags  bits 0-3: last_wscale; bits 4-7: last_flags
 */
#ifndef CT_PROTO_TCP_CONN_H
#define CT_PROTO_TCP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "table/conn.h"

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
    /* bit 0: last_dir; bits 1-3: last_index (flag class); bits 4-7: retrans
       (saturating) */
    uint8_t last_dir_index;
    /* bits 0-3: last_wscale; bits 4-7: last_flags (CT_TCP_LASTF_*) */
    uint8_t last_wscale_flags;
};
_Static_assert(sizeof(struct ct_tcp_conn) == 44, "ct_tcp_conn budget is 44 bytes");
_Static_assert(sizeof(struct ct_tcp_conn) <= sizeof(((struct ct_conn *)0)->proto),
               "struct ct_tcp_conn must fit the protocol area of an entry");
_Static_assert(offsetof(struct ct_conn, proto) % _Alignof(struct ct_tcp_conn) == 0,
               "the protocol area is aligned for struct ct_tcp_conn");

/* The TCP state of a connection tracked by the TCP tracker. Always inlined:
 * as an ordinary inline function it changed how GCC compiled the established
 * fast path (one instruction more per packet). */
static CT_ALWAYS_INLINE struct ct_tcp_conn *ct_tcp_of(struct ct_conn *conn)
{
    return (struct ct_tcp_conn *)(void *)conn->proto;
}

static inline const struct ct_tcp_conn *ct_tcp_of_const(const struct ct_conn *conn)
{
    return (const struct ct_tcp_conn *)(const void *)conn->proto;
}

/*
 * Flag classes of a segment, in the order of Linux's tcp_bit_set: the row
 * index of the transition table. RST wins over everything, then SYN (with or
 * without ACK), then FIN, then ACK.
 */
enum ct_tcp_class {
    CT_TCP_CLASS_SYN = 0,
    CT_TCP_CLASS_SYNACK = 1,
    CT_TCP_CLASS_FIN = 2,
    CT_TCP_CLASS_ACK = 3,
    CT_TCP_CLASS_RST = 4,
    CT_TCP_CLASS_NONE = 5,
    CT_TCP_CLASS_COUNT = 6,
};

/*
 * Bits of last_flags (4 bits). The two low bits have the values of
 * CT_TCPF_WINDOW_SCALE and CT_TCPF_SACK_PERM so that the options of an
 * ignored SYN can be copied into a direction's flags by masking.
 */
enum {
    CT_TCP_LASTF_WINDOW_SCALE = 0x1,    /* the ignored SYN carried a window scale */
    CT_TCP_LASTF_SACK_PERM = 0x2,       /* the ignored SYN carried SACK-permitted */
    CT_TCP_LASTF_CHALLENGE_ACK = 0x4,   /* a SYN in LAST_ACK may draw an RFC 5961 challenge ACK */
    CT_TCP_LASTF_SIMULTANEOUS_OPEN = 0x8, /* SYN_SENT2 was passed: simultaneous open */
    CT_TCP_LASTF_OPTIONS = 0x3,
};
_Static_assert((int)CT_TCP_LASTF_WINDOW_SCALE == (int)CT_TCPF_WINDOW_SCALE, "last_flags mirrors CT_TCPF_*");
_Static_assert((int)CT_TCP_LASTF_SACK_PERM == (int)CT_TCPF_SACK_PERM, "last_flags mirrors CT_TCPF_*");

/* The retransmission counter saturates here (Linux keeps an 8-bit counter). */
#define CT_TCP_RETRANS_MAX 15u
/* The largest window-scale shift (RFC 7323 section 2.3). */
#define CT_TCP_MAX_WSCALE 14u

static inline unsigned ct_tcp_last_dir(const struct ct_tcp_conn *t)
{
    return t->last_dir_index & 0x1u;
}

static inline unsigned ct_tcp_last_index(const struct ct_tcp_conn *t)
{
    return (t->last_dir_index >> 1) & 0x7u;
}

static inline unsigned ct_tcp_retrans(const struct ct_tcp_conn *t)
{
    return (unsigned)t->last_dir_index >> 4;
}

static inline unsigned ct_tcp_last_wscale(const struct ct_tcp_conn *t)
{
    return t->last_wscale_flags & 0xfu;
}

static inline unsigned ct_tcp_last_flags(const struct ct_tcp_conn *t)
{
    return (unsigned)t->last_wscale_flags >> 4;
}

static inline void ct_tcp_set_last_dir(struct ct_tcp_conn *t, unsigned dir)
{
    t->last_dir_index = (uint8_t)((t->last_dir_index & ~0x1u) | (dir & 0x1u));
}

static inline void ct_tcp_set_last_index(struct ct_tcp_conn *t, unsigned index)
{
    t->last_dir_index = (uint8_t)((t->last_dir_index & ~0xeu) | ((index & 0x7u) << 1));
}

static inline void ct_tcp_set_retrans(struct ct_tcp_conn *t, unsigned retrans)
{
    if (retrans > CT_TCP_RETRANS_MAX)
        retrans = CT_TCP_RETRANS_MAX;
    t->last_dir_index = (uint8_t)((t->last_dir_index & 0x0fu) | (retrans << 4));
}

static inline void ct_tcp_set_last_wscale(struct ct_tcp_conn *t, unsigned wscale)
{
    t->last_wscale_flags = (uint8_t)((t->last_wscale_flags & 0xf0u) | (wscale & 0xfu));
}

static inline void ct_tcp_set_last_flags(struct ct_tcp_conn *t, unsigned flags)
{
    t->last_wscale_flags = (uint8_t)((t->last_wscale_flags & 0x0fu) | ((flags & 0xfu) << 4));
}

/*
 * ct_tcp_segment() without its fast paths (established ACK segments and the
 * three packets of a plain handshake): the state machine and the window
 * checks for every packet. ct_tcp_segment() calls it whenever no fast path
 * applies; tests/unit/test_tcp_fast.c calls it directly to check that both
 * reach the same result and state.
 */
void ct_tcp_packet_full(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                        const struct ct_pkt *pkt, struct ct_proto_result *res);

#endif
