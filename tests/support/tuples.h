/*
 * Tuples for the unit tests, written with text addresses:
 * tuple_v4("10.0.0.1", "10.0.0.2", 6, 1234, 80) is TCP 10.0.0.1:1234 ->
 * 10.0.0.2:80, zone 0. Ports are host order, as in struct ct_tuple; for
 * ICMP the source port is the identifier and the destination port
 * type << 8 | code.
 */
#ifndef CT_TESTS_SUPPORT_TUPLES_H
#define CT_TESTS_SUPPORT_TUPLES_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "ctrack/tuple.h"

static inline struct ct_tuple tuple_text_(uint8_t l3, const char *src, const char *dst,
                                          uint8_t proto, uint16_t sport, uint16_t dport)
{
    struct ct_tuple t;
    memset(&t, 0, sizeof(t));
    int af = l3 == CT_L3_IPV4 ? AF_INET : AF_INET6;
    t.l3 = l3;
    t.proto = proto;
    inet_pton(af, src, t.src.b);
    inet_pton(af, dst, t.dst.b);
    t.sport = sport;
    t.dport = dport;
    return t;
}

static inline struct ct_tuple tuple_v4(const char *src, const char *dst, uint8_t proto,
                                       uint16_t sport, uint16_t dport)
{
    return tuple_text_(CT_L3_IPV4, src, dst, proto, sport, dport);
}

static inline struct ct_tuple tuple_v6(const char *src, const char *dst, uint8_t proto,
                                       uint16_t sport, uint16_t dport)
{
    return tuple_text_(CT_L3_IPV6, src, dst, proto, sport, dport);
}

#endif
