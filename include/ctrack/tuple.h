/*
 * ctrack/tuple.h: the identity of one direction of a connection.
 *
 * Usage: a tuple names a flow direction: zone, L3 family, L4 protocol,
 * addresses and ports. For ICMP and ICMPv6 queries the source "port" is the
 * identifier and the destination "port" is (type << 8 | code), as Linux
 * nf_conntrack does; GRE keeps its keys there (version 1, PPTP: the call ID
 * in dport; version 0: both zero), SCTP its ports; for protocols without
 * ports both are zero.
 * A connection has an original tuple (as its first packet was seen) and a
 * reply tuple (what an answer looks like, after NAT if any).
 *
 * The structure is padding-free so that it can be hashed and compared as
 * bytes; unused address bytes (IPv4 uses the first 4 of 16) must be zero.
 * Addresses are in network byte order, ports and the zone in host order.
 *
 * Thread-safety: the functions here are pure and safe from any thread.
 * Ownership: tuples are plain values owned by the caller.
 */
#ifndef CTRACK_TUPLE_H
#define CTRACK_TUPLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ct_dir {
    CT_DIR_ORIGINAL = 0,
    CT_DIR_REPLY = 1,
};

enum ct_l3 {
    CT_L3_IPV4 = 4,
    CT_L3_IPV6 = 6,
};

union ct_addr {
    uint8_t b[16];
    uint32_t w[4];
    uint32_t v4; /* IPv4 address, network byte order, in w[0] */
};

struct ct_tuple {
    union ct_addr src;
    union ct_addr dst;
    uint16_t sport; /* host order; ICMP: identifier */
    uint16_t dport; /* host order; ICMP: type << 8 | code */
    uint16_t zone;  /* conntrack zone this direction is looked up in */
    uint8_t l3;     /* enum ct_l3 */
    uint8_t proto;  /* IP protocol number (IPPROTO_TCP, ...) */
};

_Static_assert(sizeof(struct ct_tuple) == 40, "struct ct_tuple must be padding-free");

/*
 * Writes the tuple a reply to `t` would carry: addresses and ports swapped;
 * for ICMP/ICMPv6 queries the type becomes the matching reply type and the
 * identifier stays. Returns 0, or -EINVAL when `t` has no reply form (an
 * ICMP type that is not a query).
 */
int ct_tuple_invert(const struct ct_tuple *t, struct ct_tuple *reply);

/* 1 if the tuples are equal, else 0. */
int ct_tuple_equal(const struct ct_tuple *a, const struct ct_tuple *b);

/*
 * Formats `t` as "src=A dst=B sport=P dport=Q" (ICMP: "type=T code=C id=I",
 * protocols without ports: addresses only) into buf, always NUL-terminated.
 * Returns the length the full text needs, like snprintf.
 */
int ct_tuple_format(const struct ct_tuple *t, char *buf, size_t len);

/* Name of an IP protocol number as conntrack prints it ("tcp", "icmpv6", "unknown"). */
const char *ct_proto_name(uint8_t proto);

/*
 * Symmetric steering hash: the same value for a tuple and its plain inverse
 * (both directions of a connection without NAT), keyed by `seed`. Use it to
 * steer packets to per-core tables so that both directions meet on one
 * worker.
 */
uint32_t ct_tuple_steer_hash(const struct ct_tuple *t, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
