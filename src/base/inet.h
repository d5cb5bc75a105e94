/*
 * Internet facts every module uses, written once: IP protocol numbers,
 * EtherTypes, PPP protocol numbers and what each ICMP and ICMPv6 type
 * means (the type table of src/base/icmp.c).
 *
 * The ICMP table answers the questions the modules ask of a type, one row
 * per (family, type), as pf keeps all its ICMP knowledge in one place
 * (pf_icmp_mapping()):
 *   - is it an error that embeds the offending packet (the path matches it
 *     to that packet's connection: RELATED)?
 *   - is it a query, and may it start a connection (a request)?
 *   - what is its reply type for conntrack (Linux's invmap: the reply
 *     tuple of a query carries it)?
 *   - what is its counterpart for Zeek's conn_id and the Community ID? Zeek
 *     pairs more messages than conntrack does (router, neighbour and
 *     multicast-listener discovery, home-agent discovery), so the two
 *     pairings are two columns and must not be mixed;
 *   - is it exempt from tracking (ICMPv6 neighbour discovery and MLD, which
 *     Linux leaves untracked)?
 * The accessors are inline loads from one array indexed by family and type,
 * so the parser's per-packet questions cost a load, not a switch.
 */
#ifndef CT_BASE_INET_H
#define CT_BASE_INET_H

#include <stdint.h>

/* IP protocol numbers (IANA "Assigned Internet Protocol Numbers"). */
enum {
    CT_IPPROTO_HOPOPTS = 0,
    CT_IPPROTO_ICMP = 1,
    CT_IPPROTO_IPIP = 4,
    CT_IPPROTO_TCP = 6,
    CT_IPPROTO_UDP = 17,
    CT_IPPROTO_DCCP = 33,
    CT_IPPROTO_IPV6 = 41,
    CT_IPPROTO_ROUTING = 43,
    CT_IPPROTO_FRAGMENT = 44,
    CT_IPPROTO_GRE = 47,
    CT_IPPROTO_ESP = 50,
    CT_IPPROTO_AH = 51,
    CT_IPPROTO_ICMPV6 = 58,
    CT_IPPROTO_NONE = 59,
    CT_IPPROTO_DSTOPTS = 60,
    CT_IPPROTO_SCTP = 132,
    CT_IPPROTO_MH = 135,
    CT_IPPROTO_UDPLITE = 136,
    CT_IPPROTO_HIP = 139,
    CT_IPPROTO_SHIM6 = 140,
};

/* EtherTypes (IEEE 802 numbers, IANA "IEEE 802 Numbers"), as found in
 * Ethernet headers, VLAN tags and the protocol type field of GRE. */
enum {
    CT_ETH_P_IPV4 = 0x0800,
    CT_ETH_P_IPV6 = 0x86dd,
    CT_ETH_P_8021Q = 0x8100,
    CT_ETH_P_8021AD = 0x88a8,
    CT_ETH_P_QINQ_OLD = 0x9100,    /* pre-802.1ad double tagging */
    CT_ETH_P_MPLS_UC = 0x8847,
    CT_ETH_P_MPLS_MC = 0x8848,
    CT_ETH_P_PPPOE_SESS = 0x8864,
    CT_ETH_P_TEB = 0x6558,         /* transparent Ethernet bridging (GRE) */
    CT_ETH_P_ERSPAN_2 = 0x88be,    /* ERSPAN type I (no S flag) and II */
    CT_ETH_P_ERSPAN_3 = 0x22eb,    /* ERSPAN type III */
    CT_ETH_P_PPP = 0x880b,         /* PPP in enhanced GRE (RFC 2637) */
};

/* PPP protocol numbers of the network layers (RFC 1661 section 2, IPv4
 * RFC 1332, IPv6 RFC 5072). */
enum {
    CT_PPP_PROTO_IPV4 = 0x0021,
    CT_PPP_PROTO_IPV6 = 0x0057,
};

/* ---- ICMP and ICMPv6 types ------------------------------------------------ */

/* Bits of a type's row (ct_icmp_flags()). */
enum {
    CT_ICMPF_ERROR = 0x01,     /* error message embedding the offending packet */
    CT_ICMPF_QUERY = 0x02,     /* query or answer that conntrack tracks as a pair */
    CT_ICMPF_REQUEST = 0x04,   /* the query half that may start a connection */
    CT_ICMPF_UNTRACKED = 0x08, /* never tracked (ICMPv6 ND and MLD) */
    CT_ICMPF_HAS_REPLY = 0x10, /* row.reply holds conntrack's reply type */
    CT_ICMPF_HAS_PEER = 0x20,  /* row.peer holds the Zeek / Community ID counterpart */
};

/* One row of the table: a type of one family. */
struct ct_icmp_type {
    uint8_t flags; /* CT_ICMPF_* */
    uint8_t reply; /* conntrack's reply type, with CT_ICMPF_HAS_REPLY */
    uint8_t peer;  /* Zeek's and the Community ID's counterpart, with CT_ICMPF_HAS_PEER */
};

/* [0] ICMP, [1] ICMPv6; every type has a row, all-zero when it means nothing
 * special (an informational message that is neither query nor error). */
extern const struct ct_icmp_type ct_icmp_types[2][256];

/* The CT_ICMPF_* bits of a type; v6: 0 for ICMP, 1 for ICMPv6. */
static inline unsigned ct_icmp_flags(unsigned v6, uint8_t type)
{
    return ct_icmp_types[v6 != 0][type].flags;
}

/*
 * The type of the reply to a query type, or of the request to a reply
 * type, as conntrack pairs them (Linux's invmap in nf_conntrack_proto_icmp.c
 * and nf_conntrack_proto_icmpv6.c); -1 when the type has none.
 */
static inline int ct_icmp_reply_type(unsigned v6, uint8_t type)
{
    const struct ct_icmp_type *r = &ct_icmp_types[v6 != 0][type];
    return (r->flags & CT_ICMPF_HAS_REPLY) ? r->reply : -1;
}

/*
 * The counterpart type with which Zeek's conn_id and the Community ID v1
 * spec pair a message (Zeek's ICMP analyzer, community-id-spec), or -1 for
 * a one-way message.
 */
static inline int ct_icmp_counterpart(unsigned v6, uint8_t type)
{
    const struct ct_icmp_type *r = &ct_icmp_types[v6 != 0][type];
    return (r->flags & CT_ICMPF_HAS_PEER) ? r->peer : -1;
}

#endif
