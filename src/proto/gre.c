/*
 * GRE tracker, with the rules of Linux's nf_conntrack_proto_gre.c.
 *
 * The tuple: GRE version 0 (RFC 2784, keys of RFC 2890) is keyed by its
 * addresses only, both keys zero, whatever key the header carries. For
 * version 1, the enhanced GRE of PPTP (RFC 2637 section 4.1), the call ID
 * of the packet is the destination key and the source key is zero (Linux
 * fills it from the key map of the PPTP helper, which learns call IDs from
 * the PPTP control connection; ctrack has no helpers). The parser puts the
 * call ID in tuple.dport, and a version 1 packet that does not carry PPP
 * has no tuple at all (INVALID gre-proto). Without the helper the two
 * directions of a PPTP call carry different call IDs, so each direction
 * makes its own connection, as in Linux without the helper.
 *
 * Every packet may start a connection and every packet belongs to it. Until
 * both directions were seen the timeout is GRE's 30 s; once a reply was
 * seen (SEEN_REPLY, which the packet path sets after the first accepted
 * reply-direction packet, so from the packet after it), each packet makes
 * the connection ASSURED with the GRE stream timeout, 180 s.
 */
#include "proto/proto.h"

uint16_t ct_gre_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                    uint64_t now)
{
    (void)cfg;
    (void)pkt;
    (void)now;
    conn->l4state = 0;
    conn->timeout = CT_TIMEOUT_GRE;
    return CT_REASON_NONE;
}

void ct_gre_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res)
{
    (void)cfg;
    (void)dir;
    (void)pkt;
    (void)now;
    if (conn->status & CT_STATUS_SEEN_REPLY) {
        conn->timeout = CT_TIMEOUT_GRE_STREAM;
        conn->status |= CT_STATUS_ASSURED;
    } else {
        conn->timeout = CT_TIMEOUT_GRE;
    }
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
}
