/*
 * Private interface between the packet path and the per-protocol trackers
 * (TCP, UDP and UDP-Lite, ICMP/ICMPv6, GRE, SCTP, generic).
 *
 * For a packet without a connection the path calls ct_<tracker>_new(): may
 * this packet start a connection? It initialises the protocol part of the
 * entry (l4state, the tracker's state area, timeout). Then, for that first
 * packet as for every later one, it calls ct_<tracker>_packet() with the
 * packet's direction, which checks the packet against the state, updates the
 * state and status bits (SEEN_REPLY is set by the caller; ASSURED by the
 * tracker), and picks the timeout in force (conn->timeout). Trackers never
 * touch the index, counters or times.
 *
 * Every tracker takes the same arguments, whether it uses them or not, as
 * Linux gives every l4proto the same ones (nf_conntrack_handle_packet()):
 *
 *   uint16_t ct_<tracker>_new(cfg, conn, pkt, now)
 *       returns CT_REASON_NONE if the packet may start a connection, else
 *       the reason it is INVALID (or UNTRACKED);
 *   void ct_<tracker>_packet(cfg, conn, dir, pkt, now, res)
 *       fills *res (enum ct_proto_action and a reason).
 *
 * Which tracker takes which protocol is CT_PROTO_LIST below, the one
 * registry: the dispatch that the packet path calls (ct_proto_new(),
 * ct_proto_packet()) and ct_proto_state_name() are generated from it, so
 * adding a tracker means writing its file and adding its row. The dispatch
 * stays a switch inlined into the path, as Linux keeps one, rather than a
 * table of function pointers: the established TCP packet pays no indirect
 * call.
 *
 * This follows Linux's split between l4proto->new (tcp_new) and
 * l4proto->packet (tcp_packet / nf_conntrack_tcp_packet).
 */
#ifndef CT_PROTO_PROTO_H
#define CT_PROTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/inet.h"
#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "table/conn.h"

/*
 * Settings a tracker reads: a table's defaults, or a timeout policy's. One
 * object per policy; conn->policy selects it.
 */
struct ct_proto_cfg {
    uint64_t timeout_ns[CT_TIMEOUT_COUNT];
    uint8_t tcp_loose;              /* pick up mid-stream connections (Linux nf_conntrack_tcp_loose = 1) */
    uint8_t tcp_liberal;            /* skip window checks (nf_conntrack_tcp_be_liberal) */
    uint8_t tcp_ignore_invalid_rst; /* nf_conntrack_tcp_ignore_invalid_rst */
    uint8_t tcp_max_retrans;        /* nf_conntrack_tcp_max_retrans (3) */
    uint8_t pad[4];
};

/* What a tracker's packet function decided. */
enum ct_proto_action {
    CT_PROTO_ACCEPT = 0,  /* packet belongs to the connection; state updated */
    CT_PROTO_INVALID = 1, /* packet is INVALID (reason set); connection unchanged */
    CT_PROTO_REPLACE = 2, /* end this connection and process the packet again as
                             the first of a new one (TCP: SYN in TIME_WAIT/CLOSE) */
    CT_PROTO_CLOSE = 3,   /* packet accepted, and the connection is over now */
};

struct ct_proto_result {
    uint16_t reason; /* with CT_PROTO_INVALID */
    uint8_t action;  /* enum ct_proto_action */
    uint8_t pad;
};

/*
 * TCP (src/proto/tcp.c). ct_tcp_new() initialises the TCP state
 * (ct_tcp_of(conn), proto/tcp_conn.h) and l4state; ct_tcp_packet() runs
 * the state machine and window checks.
 *
 * TCP reads no clock, so the functions compiled in tcp.c, ct_tcp_open()
 * and ct_tcp_segment(), leave `now` out, and ct_tcp_new() and
 * ct_tcp_packet() are the common signature around them, inlined. Passing
 * `now` down would cost every established packet two instructions (loading
 * it for the call, and moving `res` to its new register in the callee).
 */
uint16_t ct_tcp_open(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                     const struct ct_pkt *pkt);
void ct_tcp_segment(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, struct ct_proto_result *res);

static CT_ALWAYS_INLINE uint16_t ct_tcp_new(const struct ct_proto_cfg *cfg,
                                                                 struct ct_conn *conn,
                                                                 const struct ct_pkt *pkt,
                                                                 uint64_t now)
{
    (void)now;
    return ct_tcp_open(cfg, conn, pkt);
}

static CT_ALWAYS_INLINE void ct_tcp_packet(const struct ct_proto_cfg *cfg,
                                                                struct ct_conn *conn,
                                                                enum ct_dir dir,
                                                                const struct ct_pkt *pkt,
                                                                uint64_t now,
                                                                struct ct_proto_result *res)
{
    (void)now;
    ct_tcp_segment(cfg, conn, dir, pkt, res);
}

/* UDP and UDP-Lite (src/proto/udp.c). */
uint16_t ct_udp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                    uint64_t now);
void ct_udp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res);

/* ICMP and ICMPv6 queries (src/proto/icmp.c); errors are RELATED, handled
 * by the path. */
uint16_t ct_icmp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                     uint64_t now);
void ct_icmp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res);

/*
 * GRE (src/proto/gre.c), both versions: the keys are in the tuple (the
 * parser puts a version 1 packet's call ID in tuple.dport).
 */
uint16_t ct_gre_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                    uint64_t now);
void ct_gre_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res);

/*
 * SCTP (src/proto/sctp.c). The association's state is l4state (enum
 * ct_sctp_state); the verification tags live in conn->proto as a
 * struct ct_sctp_conn. ct_sctp_new() initialises them; ct_sctp_packet()
 * walks the chunks. The first packet of a connection is the one seen while
 * CT_STATUS_CONFIRMED is clear, as in Linux (nf_ct_is_confirmed()).
 */
uint16_t ct_sctp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                     uint64_t now);
void ct_sctp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res);

/* Per-association SCTP data, in the 44-byte protocol area of an entry. */
struct ct_sctp_conn {
    uint32_t vtag[2];  /* verification tag expected on packets in each direction
                          (host order), 0 while unknown (RFC 9260 section 8.5) */
    uint8_t init_seen; /* bit d: an INIT was seen in direction d */
    uint8_t flags;     /* CT_SCTPF_* */
    uint8_t pad[2];
};
_Static_assert(sizeof(struct ct_sctp_conn) <= sizeof(((struct ct_conn *)0)->proto),
               "struct ct_sctp_conn must fit the protocol area");
_Static_assert(offsetof(struct ct_conn, proto) % _Alignof(struct ct_sctp_conn) == 0,
               "the protocol area is aligned for struct ct_sctp_conn");

enum {
    /* A HEARTBEAT carried a tag other than the one known for its direction
       (another path of a multihomed association); its HEARTBEAT ACK from
       the other side may then bring new tags. */
    CT_SCTPF_HB_VTAG_FAILED = 0x01,
    /* The direction of that HEARTBEAT: set for the reply direction. */
    CT_SCTPF_HB_DIR_REPLY = 0x02,
};

static inline struct ct_sctp_conn *ct_sctp_of(struct ct_conn *conn)
{
    return (struct ct_sctp_conn *)(void *)conn->proto;
}

/* Any other protocol (src/proto/generic.c). */
uint16_t ct_generic_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                        const struct ct_pkt *pkt, uint64_t now);
void ct_generic_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                       const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res);

/*
 * The registry: X(number, tracker, l3, state_name), one row per IP protocol
 * with a tracker of its own.
 *   number      IP protocol number (base/inet.h);
 *   tracker     ct_<tracker>_new() and ct_<tracker>_packet() handle it;
 *   l3          the family it is tracked in (CT_L3_IPV4 or CT_L3_IPV6), or 0
 *               for both: ICMP is ICMP only over IPv4 and ICMPv6 only over
 *               IPv6; in the other family they are just another protocol;
 *   state_name  the function that names its l4state values as conntrack
 *               prints them (ctrack/conn.h), or NULL for a tracker without
 *               states.
 * Every other protocol goes to the generic tracker.
 */
#define CT_PROTO_LIST(X)                                                                   \
    X(CT_IPPROTO_TCP, tcp, 0, ct_tcp_state_name)                                           \
    X(CT_IPPROTO_UDP, udp, 0, NULL)                                                        \
    X(CT_IPPROTO_UDPLITE, udp, 0, NULL)                                                    \
    X(CT_IPPROTO_GRE, gre, 0, NULL)                                                        \
    X(CT_IPPROTO_SCTP, sctp, 0, ct_sctp_state_name)                                        \
    X(CT_IPPROTO_ICMP, icmp, CT_L3_IPV4, NULL)                                             \
    X(CT_IPPROTO_ICMPV6, icmp, CT_L3_IPV6, NULL)

/* The packet's protocol is tracked by this row's tracker in its family. */
#define CT_PROTO_FAMILY_OK_(fam, pkt) ((fam) == 0 || (pkt)->tuple.l3 == (fam))

/*
 * May the packet start a connection? Runs the tracker's new function on
 * conn: CT_REASON_NONE, or the reason it may not.
 */
static inline uint16_t ct_proto_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                                    const struct ct_pkt *pkt, uint64_t now)
{
    switch (pkt->tuple.proto) {
#define CT_PROTO_NEW_CASE_(number, tracker, fam, state_name)                                \
    case number:                                                                           \
        if (CT_PROTO_FAMILY_OK_(fam, pkt))                                                 \
            return ct_##tracker##_new(cfg, conn, pkt, now);                                \
        break;
        CT_PROTO_LIST(CT_PROTO_NEW_CASE_)
#undef CT_PROTO_NEW_CASE_
    default:
        break;
    }
    return ct_generic_new(cfg, conn, pkt, now);
}

/*
 * Runs the tracker's packet function for a packet in direction dir (0 or 1,
 * enum ct_dir) on its connection, with *res preset to an accepted packet.
 * Always inlined into the packet path: the established TCP packet then
 * costs one compare and one direct call here.
 */
static CT_ALWAYS_INLINE void ct_proto_packet(const struct ct_proto_cfg *cfg,
                                                                  struct ct_conn *conn,
                                                                  unsigned dir,
                                                                  const struct ct_pkt *pkt,
                                                                  uint64_t now,
                                                                  struct ct_proto_result *res)
{
    enum ct_dir d = dir ? CT_DIR_REPLY : CT_DIR_ORIGINAL;
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
    switch (pkt->tuple.proto) {
#define CT_PROTO_PACKET_CASE_(number, tracker, fam, state_name)                             \
    case number:                                                                           \
        if (CT_PROTO_FAMILY_OK_(fam, pkt)) {                                               \
            ct_##tracker##_packet(cfg, conn, d, pkt, now, res);                            \
            return;                                                                        \
        }                                                                                  \
        break;
        CT_PROTO_LIST(CT_PROTO_PACKET_CASE_)
#undef CT_PROTO_PACKET_CASE_
    default:
        break;
    }
    ct_generic_packet(cfg, conn, d, pkt, now, res);
}

/* Fills cfg from a public table configuration. */
void ct_proto_cfg_from_config(struct ct_proto_cfg *cfg, const uint32_t timeouts_s[CT_TIMEOUT_COUNT],
                              uint32_t table_flags, uint8_t tcp_max_retrans);

#endif
