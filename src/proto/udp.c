/*
 * UDP and UDP-Lite tracker, with Linux's rules (nf_conntrack_proto_udp.c):
 * every packet may start a connection; until a reply has been seen the
 * connection is "unreplied" and lives for the UDP timeout (30 s). Once the
 * reply has been seen (SEEN_REPLY, which the packet path sets after the first
 * accepted reply-direction packet), a packet arriving more than two seconds
 * after the connection was created marks it a stream: ASSURED, with the UDP
 * stream timeout (120 s). Earlier packets keep the UDP timeout.
 */
#include "proto/proto.h"

/* A connection still active this long after its first packet is a stream. */
#define CT_UDP_STREAM_AFTER_NS 2000000000ull

uint16_t ct_udp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                    uint64_t now)
{
    (void)cfg;
    (void)pkt;
    (void)now;
    conn->l4state = 0;
    conn->timeout = CT_TIMEOUT_UDP;
    return CT_REASON_NONE;
}

void ct_udp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res)
{
    (void)cfg;
    (void)dir;
    (void)pkt;
    if ((conn->status & CT_STATUS_SEEN_REPLY) && now > conn->first_seen &&
        now - conn->first_seen > CT_UDP_STREAM_AFTER_NS) {
        conn->timeout = CT_TIMEOUT_UDP_STREAM;
        conn->status |= CT_STATUS_ASSURED;
    } else if (conn->status & CT_STATUS_ASSURED) {
        /* Already a stream (a clock that went backwards): keep its timeout. */
        conn->timeout = CT_TIMEOUT_UDP_STREAM;
    } else {
        conn->timeout = CT_TIMEOUT_UDP;
    }
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
}
