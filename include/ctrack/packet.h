/*
 * ctrack/packet.h: parsing a frame into a packet descriptor.
 *
 * Usage: ct_pkt_parse() reads a frame (link layer to transport header) once
 * and fills a struct ct_pkt with the tuple, the offsets of the headers that
 * NAT rewrites, and the transport fields tracking needs. Every read is
 * bounds-checked against the captured length; a malformed frame sets
 * `reason` to an INVALID reason and never reads past `len`. The table calls
 * the parser itself (ct_process_burst()); call it directly to inspect a
 * frame or to parse once and process later (ct_process_parsed()).
 *
 * Thread-safety: ct_pkt_parse() is reentrant.
 * Ownership: the descriptor points into the caller's frame (`data`); the frame
 * must outlive every use of the descriptor.
 */
#ifndef CTRACK_PACKET_H
#define CTRACK_PACKET_H

#include <stdint.h>

#include "ctrack/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Link-layer types, numbered as pcap's LINKTYPE_* values. */
enum ct_link {
    CT_LINK_NULL = 0,          /* BSD loopback: 4-byte host-order family */
    CT_LINK_ETHERNET = 1,      /* Ethernet II, with 802.1Q / 802.1ad tags */
    CT_LINK_RAW = 101,         /* raw IP, version from the first nibble */
    CT_LINK_LOOP = 108,        /* OpenBSD loopback: 4-byte network-order family */
    CT_LINK_LINUX_SLL = 113,   /* Linux cooked capture v1 */
    CT_LINK_IPV4 = 228,        /* raw IPv4 */
    CT_LINK_IPV6 = 229,        /* raw IPv6 */
    CT_LINK_LINUX_SLL2 = 276,  /* Linux cooked capture v2 */
};

/* A frame handed to the tracker. */
struct ct_frame {
    const uint8_t *data; /* first byte of the link-layer header */
    uint32_t len;        /* bytes available at data (captured length) */
    uint32_t wire_len;   /* length on the wire; 0 means the same as len. A
                            capture cut short by a snap length has
                            wire_len > len: lengths in the IP header are
                            checked against wire_len, headers against len. */
    uint16_t link;       /* enum ct_link */
    uint16_t zone;       /* zone to look the packet up in (default 0) */
    uint32_t mark;       /* packet mark, as skb->mark */
};

#define CT_PKT_MAX_VLANS 4

/* Fragment kinds (ct_pkt.frag). */
enum ct_frag {
    CT_FRAG_NONE = 0,
    CT_FRAG_FIRST = 1, /* offset 0, more fragments follow */
    CT_FRAG_LATER = 2, /* offset > 0: no transport header here */
};

/* TCP flag bits as in the header's 13th byte. */
enum {
    CT_TCP_FIN = 0x01,
    CT_TCP_SYN = 0x02,
    CT_TCP_RST = 0x04,
    CT_TCP_PSH = 0x08,
    CT_TCP_ACK = 0x10,
    CT_TCP_URG = 0x20,
    CT_TCP_ECE = 0x40,
    CT_TCP_CWR = 0x80,
};

/* TCP options seen (ct_pkt.tcp_opts). */
enum {
    CT_TCPOPT_MSS = 0x01,
    CT_TCPOPT_WSCALE = 0x02,
    CT_TCPOPT_SACK_PERM = 0x04,
    CT_TCPOPT_TIMESTAMP = 0x08,
    CT_TCPOPT_SACK = 0x10,
};

/*
 * The parsed packet. Offsets are from `data`. Fields past `reason` are
 * meaningful only when reason is CT_REASON_NONE (fragments: see `frag`).
 */
struct ct_pkt {
    const uint8_t *data;
    uint32_t len;          /* captured bytes at data */
    uint16_t reason;       /* enum ct_reason; NONE when the frame parsed */
    uint8_t frag;          /* enum ct_frag */
    uint8_t nvlan;         /* number of VLAN tags (outermost first) */
    uint8_t snapped;       /* 1 if the capture cut the packet short */
    uint8_t pad0[3];
    uint16_t vlan[CT_PKT_MAX_VLANS]; /* VLAN IDs */
    uint32_t mark;

    uint16_t l3_off;       /* IP header */
    uint16_t l4_off;       /* transport header (after IPv6 extension headers) */
    uint32_t ip_len;       /* IP-layer length: IPv4 total length, IPv6 40 + payload length */
    uint32_t l4_len;       /* transport header + payload bytes, from the IP lengths */
    uint16_t payload_off;  /* transport payload */
    uint16_t payload_len;  /* transport payload bytes present in the frame */

    struct ct_tuple tuple; /* original-direction view of this packet; zone from the frame */

    /* TCP */
    uint32_t seq;
    uint32_t ack;
    uint16_t win;          /* raw (unscaled) window */
    uint8_t tcp_flags;     /* CT_TCP_* */
    uint8_t tcp_hdr_len;   /* data offset in bytes */
    uint8_t tcp_opts;      /* CT_TCPOPT_* seen */
    uint8_t tcp_wscale;    /* window-scale shift from the option (valid with CT_TCPOPT_WSCALE) */
    uint16_t tcp_mss;

    /* ICMP / ICMPv6 */
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint8_t icmp_is_error; /* an error message with an embedded packet */
    uint8_t inner_ok;      /* `inner` holds the embedded packet's tuple */
    uint16_t inner_l3_off; /* embedded IP header */
    uint16_t inner_l4_off; /* embedded transport header */
    struct ct_tuple inner; /* tuple of the embedded packet, as it was sent */
};

/*
 * Parses the frame into *pkt. Always fills pkt->reason: CT_REASON_NONE, or
 * the reason the frame is INVALID (or UNTRACKED: CT_REASON_NOT_IP). The
 * zone and mark are copied from the frame. Does not verify transport
 * checksums (see ct_pkt_verify_checksum()).
 */
void ct_pkt_parse(const struct ct_frame *frame, struct ct_pkt *pkt);

/*
 * Verifies the transport checksum of a parsed packet (TCP, UDP, ICMP,
 * ICMPv6). Returns 1 if it is correct or not checkable (fragments, a UDP
 * checksum of zero over IPv4, a protocol without a checksum), 0 if wrong.
 */
int ct_pkt_verify_checksum(const struct ct_pkt *pkt);

#ifdef __cplusplus
}
#endif
#endif
