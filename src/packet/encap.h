/*
 * Private interface of the tunnel decoders (encap.c) to the parser.
 *
 * Each decoder looks at the payload of a parsed packet and, when it is an
 * encapsulation it recognises, records the inner frame in pkt->encap,
 * encap_off, encap_len, encap_link and encap_id. It never fails: a payload
 * that is not what the port or protocol promises stays plain payload. Reads
 * are bounded by `caplen` (the captured bytes) and by `end` (where the
 * enclosing IP packet or UDP datagram ends on the wire).
 */
#ifndef CT_PACKET_ENCAP_H
#define CT_PACKET_ENCAP_H

#include <stdint.h>

#include "ctrack/packet.h"

/* UDP ports of the encapsulations ct_encap_udp() decodes (IANA registry). */
enum {
    CT_PORT_TEREDO = 3544, /* RFC 4380 */
    CT_PORT_GTPU = 2152,   /* 3GPP TS 29.281 */
    CT_PORT_VXLAN = 4789,  /* RFC 7348 */
    CT_PORT_GENEVE = 6081, /* RFC 8926 */
};

/* 1 if either port may carry an encapsulation. Two range checks first
   (destination ports 2152 to 6081, source ports 2152 to 3544), so that
   ordinary UDP costs two compares. */
static inline int ct_encap_udp_port(uint16_t sport, uint16_t dport)
{
    if ((unsigned)dport - CT_PORT_GTPU > (unsigned)(CT_PORT_GENEVE - CT_PORT_GTPU) &&
        (unsigned)sport - CT_PORT_GTPU > (unsigned)(CT_PORT_TEREDO - CT_PORT_GTPU))
        return 0;
    return dport == CT_PORT_VXLAN || dport == CT_PORT_GENEVE || dport == CT_PORT_TEREDO ||
           sport == CT_PORT_TEREDO || dport == CT_PORT_GTPU || sport == CT_PORT_GTPU;
}

/*
 * Records an encapsulated frame from `off` to `end` (wire offsets from the
 * frame start) if it lies inside the 16-bit offsets of the descriptor.
 */
void ct_encap_set(struct ct_pkt *pkt, uint8_t kind, uint32_t off, uint32_t end, uint16_t link,
                  uint32_t id);

/*
 * The UDP payload from `off` to `end`, by the ports in pkt->tuple (call
 * it when ct_encap_udp_port() says they may carry a tunnel); the
 * transport payload from `off` to `end` of IP protocol 4, 41 (IP in IP) or
 * 47 (GRE), by pkt->tuple.proto. Both return CT_REASON_NONE, so that the
 * parser can end with a tail call to them.
 */
uint16_t ct_encap_udp(const uint8_t *data, uint32_t caplen, uint32_t off, uint32_t end, struct ct_pkt *pkt);
uint16_t ct_encap_ip(const uint8_t *data, uint32_t caplen, uint32_t off, uint32_t end, struct ct_pkt *pkt);

#endif
