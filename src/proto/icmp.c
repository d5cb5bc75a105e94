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
 * Every accepted packet refreshes the connection with the ICMP timeout (30 s).
 */
#include "proto/proto.h"

enum {
    CT_IPPROTO_ICMP = 1,
    CT_IPPROTO_ICMPV6 = 58,
};

/* What a type means to the tracker. */
enum icmp_class {
    ICMP_CLASS_OTHER = 0,   /* cannot start a connection */
    ICMP_CLASS_REQUEST,     /* may start one */
    ICMP_CLASS_REPLY,       /* answer to a request */
    ICMP_CLASS_UNTRACKED,   /* ICMPv6 ND / MLD */
};

static enum icmp_class icmp4_class(uint8_t type)
{
    switch (type) {
    case 8:  /* echo request */
    case 13: /* timestamp request */
    case 15: /* information request */
    case 17: /* address mask request */
        return ICMP_CLASS_REQUEST;
    case 0:  /* echo reply */
    case 14: /* timestamp reply */
    case 16: /* information reply */
    case 18: /* address mask reply */
        return ICMP_CLASS_REPLY;
    default:
        return ICMP_CLASS_OTHER;
    }
}

static enum icmp_class icmp6_class(uint8_t type)
{
    switch (type) {
    case 128: /* echo request */
    case 139: /* node information query */
        return ICMP_CLASS_REQUEST;
    case 129: /* echo reply */
    case 140: /* node information response */
        return ICMP_CLASS_REPLY;
    case 130: /* multicast listener query */
    case 131: /* multicast listener report */
    case 132: /* multicast listener done */
    case 133: /* router solicitation */
    case 134: /* router advertisement */
    case 135: /* neighbour solicitation */
    case 136: /* neighbour advertisement */
    case 143: /* multicast listener report v2 */
        return ICMP_CLASS_UNTRACKED;
    default:
        return ICMP_CLASS_OTHER;
    }
}

uint16_t ct_icmp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt)
{
    (void)cfg;
    enum icmp_class cls;
    if (pkt->tuple.l3 == CT_L3_IPV6 && pkt->tuple.proto == CT_IPPROTO_ICMPV6)
        cls = icmp6_class(pkt->icmp_type);
    else if (pkt->tuple.l3 == CT_L3_IPV4 && pkt->tuple.proto == CT_IPPROTO_ICMP)
        cls = icmp4_class(pkt->icmp_type);
    else
        cls = ICMP_CLASS_OTHER;
    if (pkt->icmp_is_error)
        cls = ICMP_CLASS_OTHER;

    switch (cls) {
    case ICMP_CLASS_REQUEST:
        conn->l4state = 0;
        conn->timeout = CT_TIMEOUT_ICMP;
        return CT_REASON_NONE;
    case ICMP_CLASS_REPLY:
        return CT_REASON_ICMP_REPLY_NO_REQUEST;
    case ICMP_CLASS_UNTRACKED:
        return CT_REASON_ICMP6_UNTRACKED;
    case ICMP_CLASS_OTHER:
    default:
        return CT_REASON_ICMP_TYPE;
    }
}

void ct_icmp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, struct ct_proto_result *res)
{
    (void)cfg;
    (void)dir;
    (void)pkt;
    conn->timeout = CT_TIMEOUT_ICMP;
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
}
