/*
 * Tracker for protocols without a dedicated one (Linux's generic tracker,
 * nf_conntrack_proto_generic.c): any packet may start a connection, every
 * packet belongs to it, and the timeout is the "other protocols" one.
 */
#include "proto/proto.h"

uint16_t ct_generic_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                        const struct ct_pkt *pkt, uint64_t now)
{
    (void)cfg;
    (void)pkt;
    (void)now;
    conn->l4state = 0;
    conn->timeout = CT_TIMEOUT_GENERIC;
    return CT_REASON_NONE;
}

void ct_generic_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                       const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res)
{
    (void)cfg;
    (void)dir;
    (void)pkt;
    (void)now;
    conn->timeout = CT_TIMEOUT_GENERIC;
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
}
