/*
 * Private interface between the table's packet path and the per-protocol
 * trackers (TCP, UDP, ICMP/ICMPv6, GRE, SCTP, generic).
 *
 * For a packet without a connection the path calls <proto>_new(): may this
 * packet start a connection? It initialises the protocol part of the entry
 * (l4state, proto, timeout). Then, for that first packet as for every later
 * one, it calls <proto>_packet() with the packet's direction, which checks the
 * packet against the state, updates the state and status bits (SEEN_REPLY is
 * set by the caller; ASSURED by the tracker), and picks the timeout in force
 * (conn->timeout). Trackers never touch the index, counters or times.
 *
 * This follows Linux's split between l4proto->new (tcp_new) and
 * l4proto->packet (tcp_packet / nf_conntrack_tcp_packet).
 */
#ifndef CT_PROTO_PROTO_H
#define CT_PROTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

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
 * TCP (src/proto/tcp.c). ct_tcp_new() returns CT_REASON_NONE if the packet
 * may create a connection and initialises its state (ct_tcp_of(conn),
 * proto/tcp_conn.h) and l4state, else the INVALID reason. ct_tcp_packet()
 * runs the state machine and window checks for a packet in direction `dir`.
 */
uint16_t ct_tcp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt);
void ct_tcp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, struct ct_proto_result *res);

/* UDP and UDP-Lite (src/proto/udp.c). */
uint16_t ct_udp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt);
void ct_udp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res);

/* ICMP and ICMPv6 queries (src/proto/icmp.c); errors are RELATED, handled by the path. */
uint16_t ct_icmp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt);
void ct_icmp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, struct ct_proto_result *res);

/*
 * GRE (src/proto/gre.c), both versions: the keys are in the tuple (the
 * parser puts a version 1 packet's call ID in tuple.dport).
 */
uint16_t ct_gre_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt);
void ct_gre_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, struct ct_proto_result *res);

/*
 * SCTP (src/proto/sctp.c). The association's state is l4state (enum
 * ct_sctp_state); the verification tags live in conn->proto as a
 * struct ct_sctp_conn. ct_sctp_new() returns CT_REASON_NONE if the packet
 * may start an association (and initialises that state), else the INVALID
 * reason; ct_sctp_packet() walks the chunks for a packet in direction
 * `dir`. The first packet of a connection is the one seen while
 * CT_STATUS_CONFIRMED is clear, as in Linux (nf_ct_is_confirmed()).
 */
uint16_t ct_sctp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt);
void ct_sctp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, struct ct_proto_result *res);

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
uint16_t ct_generic_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt);
void ct_generic_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                       const struct ct_pkt *pkt, struct ct_proto_result *res);

/* Fills cfg from a public table configuration. */
void ct_proto_cfg_from_config(struct ct_proto_cfg *cfg, const uint32_t timeouts_s[CT_TIMEOUT_COUNT],
                              uint32_t table_flags, uint8_t tcp_max_retrans);

#endif
