/*
 * The ICMP and ICMPv6 type table (declared and explained in base/inet.h):
 * one row per (family, type) that means something to ctrack; every other
 * type is all-zero.
 *
 * Sources: ICMP RFC 792 (echo, unreachable, source quench, redirect, time
 * exceeded, parameter problem, timestamp, information), RFC 950 (address
 * mask), RFC 1256 (router discovery); ICMPv6 RFC 4443 (errors, echo),
 * RFC 2710 and RFC 3810 (MLD), RFC 4861 (neighbour discovery), RFC 4620
 * (node information), RFC 6275 section 6.5 (home agent address discovery).
 * The conntrack pairs are those of Linux's invmap; the counterpart pairs
 * are those of the Community ID v1 spec, which Zeek's conn_id uses too.
 */
#include "base/inet.h"

enum { V4 = 0, V6 = 1, NONE = -1 };

/* A row: the bits, then conntrack's reply type and the Zeek / Community ID
 * counterpart (NONE: the type has none; the HAS_ bits follow from them). */
#define ROW(fam, type, flags, reply, peer)                                                   \
    [fam][type] = {(uint8_t)((flags) | ((reply) >= 0 ? CT_ICMPF_HAS_REPLY : 0) |           \
                             ((peer) >= 0 ? CT_ICMPF_HAS_PEER : 0)),                         \
                   (uint8_t)((reply) >= 0 ? (reply) : 0), (uint8_t)((peer) >= 0 ? (peer) : 0)}

#define ERR CT_ICMPF_ERROR
#define QRY CT_ICMPF_QUERY
#define REQ (CT_ICMPF_QUERY | CT_ICMPF_REQUEST)
#define UNT CT_ICMPF_UNTRACKED

const struct ct_icmp_type ct_icmp_types[2][256] = {
    /*   family type  bits reply peer */
    ROW(V4, 0, QRY, 8, 8),          /* echo reply */
    ROW(V4, 3, ERR, NONE, NONE),    /* destination unreachable */
    ROW(V4, 4, ERR, NONE, NONE),    /* source quench */
    ROW(V4, 5, ERR, NONE, NONE),    /* redirect */
    ROW(V4, 8, REQ, 0, 0),          /* echo request */
    ROW(V4, 9, 0, NONE, 10),        /* router advertisement */
    ROW(V4, 10, 0, NONE, 9),        /* router solicitation */
    ROW(V4, 11, ERR, NONE, NONE),   /* time exceeded */
    ROW(V4, 12, ERR, NONE, NONE),   /* parameter problem */
    ROW(V4, 13, REQ, 14, 14),       /* timestamp request */
    ROW(V4, 14, QRY, 13, 13),       /* timestamp reply */
    ROW(V4, 15, REQ, 16, 16),       /* information request */
    ROW(V4, 16, QRY, 15, 15),       /* information reply */
    ROW(V4, 17, REQ, 18, 18),       /* address mask request */
    ROW(V4, 18, QRY, 17, 17),       /* address mask reply */

    ROW(V6, 1, ERR, NONE, NONE),    /* destination unreachable */
    ROW(V6, 2, ERR, NONE, NONE),    /* packet too big */
    ROW(V6, 3, ERR, NONE, NONE),    /* time exceeded */
    ROW(V6, 4, ERR, NONE, NONE),    /* parameter problem */
    ROW(V6, 128, REQ, 129, 129),    /* echo request */
    ROW(V6, 129, QRY, 128, 128),    /* echo reply */
    ROW(V6, 130, UNT, NONE, 131),   /* multicast listener query */
    ROW(V6, 131, UNT, NONE, 130),   /* multicast listener report */
    ROW(V6, 132, UNT, NONE, NONE),  /* multicast listener done */
    ROW(V6, 133, UNT, NONE, 134),   /* router solicitation */
    ROW(V6, 134, UNT, NONE, 133),   /* router advertisement */
    ROW(V6, 135, UNT, NONE, 136),   /* neighbour solicitation */
    ROW(V6, 136, UNT, NONE, 135),   /* neighbour advertisement */
    ROW(V6, 139, REQ, 140, 140),    /* node information query */
    ROW(V6, 140, QRY, 139, 139),    /* node information response */
    ROW(V6, 143, UNT, NONE, NONE),  /* multicast listener report v2 */
    ROW(V6, 144, 0, NONE, 145),     /* home agent address discovery request */
    ROW(V6, 145, 0, NONE, 144),     /* home agent address discovery reply */
};
