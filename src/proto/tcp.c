/* Placeholder TCP tracker: replaced by the full implementation. */
#include "proto/proto.h"

uint16_t ct_tcp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt)
{
    (void)cfg;
    (void)pkt;
    conn->l4state = CT_TCP_SYN_SENT;
    conn->timeout = CT_TIMEOUT_TCP_SYN_SENT;
    return CT_REASON_NONE;
}

void ct_tcp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                   const struct ct_pkt *pkt, struct ct_proto_result *res)
{
    (void)cfg;
    (void)conn;
    (void)dir;
    (void)pkt;
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
}
