/*
 * Private helpers of the TCP tracker (src/proto/tcp.c), shared with its unit
 * tests: the flag classes that index the transition table, and accessors for
 * the fields packed into the two last bytes of struct ct_tcp_conn.
 *
 * Packing (see src/table/conn.h):
 *   last_dir_index     bit 0: last_dir; bits 1-3: last_index (flag class);
 *                      bits 4-7: retrans (saturating at 15)
 *   last_wscale_flags  bits 0-3: last_wscale; bits 4-7: last_flags
 */
#ifndef CT_PROTO_TCP_CONN_H
#define CT_PROTO_TCP_CONN_H

#include <stdint.h>

#include "proto/proto.h"
#include "table/conn.h"

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
 * ct_tcp_packet() without its fast paths (established ACK segments and the
 * three packets of a plain handshake): the state machine and the window
 * checks for every packet. ct_tcp_packet() calls it whenever no fast path
 * applies; tests/unit/test_tcp_fast.c calls it directly to check that both
 * reach the same result and state.
 */
void ct_tcp_packet_full(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                        const struct ct_pkt *pkt, struct ct_proto_result *res);

#endif
