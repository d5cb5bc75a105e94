/*
 * ICMP and ICMPv6 query tracker, with Linux's rules
 * (nf_conntrack_proto_icmp.c, nf_conntrack_proto_icmpv6.c).
 *
 * A query and its answer form a connection: the tuple's source "port" is the
 * identifier and the destination "port" is type << 8 | code, so the reply
 * tuple carries the reply type (ct_tuple_invert()). Only query requests may
 * create a connection: ICMP echo (8), timestamp (13), information (15) and
 * address mask (17) requests (RFC 792, RFC 950); ICMPv6 echo request (128,
 * RFC 4443) and node information query (139, RFC 4620). A reply type seen
 * without its request is INVALID (ICMP_REPLY_NO_REQUEST); any other type
 * cannot start a connection (ICMP_TYPE). ICMPv6 neighbour discovery
 * (RFC 4861: router solicitation and advertisement 133-134, neighbour
 * solicitation and advertisement 135-136) and multicast listener messages
 * (RFC 2710: 130-132; RFC 3810: 143) are not tracked at all, as Linux leaves
 * them untracked: reason ICMP6_UNTRACKED, which the packet path turns into an UNTRACKED
 * verdict. Error messages never reach this tracker: the packet path matches
 * them to the connection they report on (RELATED).
 *
 * Which type is which comes from the type table (base/inet.h).
 *
 * Every accepted packet refreshes the connection with the ICMP timeout (30 s).
 */
#include "base/inet.h"
#include "proto/proto.h"

uint16_t ct_icmp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                     uint64_t now)
{
    (void)cfg;
    (void)now;
    unsigned cls;
    if (pkt->tuple.l3 == CT_L3_IPV6 && pkt->tuple.proto == CT_IPPROTO_ICMPV6)
        cls = ct_icmp_flags(1, pkt->icmp_type);
    else if (pkt->tuple.l3 == CT_L3_IPV4 && pkt->tuple.proto == CT_IPPROTO_ICMP)
        cls = ct_icmp_flags(0, pkt->icmp_type);
    else
        cls = 0;
    if (pkt->icmp_is_error)
        cls = 0;

    if (cls & CT_ICMPF_REQUEST) {
        conn->l4state = 0;
        conn->timeout = CT_TIMEOUT_ICMP;
        return CT_REASON_NONE;
    }
    if (cls & CT_ICMPF_QUERY)
        return CT_REASON_ICMP_REPLY_NO_REQUEST;
    if (cls & CT_ICMPF_UNTRACKED)
        return CT_REASON_ICMP6_UNTRACKED;
    return CT_REASON_ICMP_TYPE;
}

void ct_icmp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res)
{
    (void)cfg;
    (void)dir;
    (void)pkt;
    (void)now;
    conn->timeout = CT_TIMEOUT_ICMP;
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
}
