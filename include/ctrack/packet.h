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
 * Tunnels: the parser reads one layer. The outer packet is what it parses
 * and what the table tracks (as Linux conntrack does); when the transport
 * payload is itself a frame (IP-in-IP, GRE, VXLAN, Geneve, Teredo, GTP-U),
 * `encap` says so and ct_pkt_inner_frame() hands out that inner frame, to be
 * parsed and tracked again by a caller that wants the inner connection (and
 * that caps the nesting depth). MPLS label stacks and PPPoE sessions below
 * the IP header are skipped, not reported as tunnels.
 *
 * Rewriting: a frame the caller lets the library write into is handed over
 * as a struct ct_frame_rw (ct_pkt_parse_rw(), or ct_process_burst_rw() in
 * ctrack/table.h); its descriptor is marked `writable`. The rewrite calls
 * below change an address or a port of such a packet in place, or, for an
 * ICMP error, those of the packet it quotes, and fix every checksum that
 * covers the field incrementally (RFC 1624), leaving the frame valid and the
 * descriptor's tuples holding the new values. A
 * descriptor of a read-only struct ct_frame is never written through
 * (-EROFS), so monitors keep passing const frames. ct_pkt_field_off() says
 * where each field a rewrite changes lies, for callers that rewrite
 * themselves.
 *
 * VLANs: the zone of a frame is the caller's choice. ct_zone_from_vlan()
 * (ctrack/zone.h) derives one from the parsed tag stack for callers that
 * want VLANs to separate connections, and ct_pkt_set_zone() applies it to a
 * parsed packet.
 *
 * Thread-safety: every function here is reentrant; the rewrite calls write
 * into the frame and the descriptor, so one thread at a time per packet.
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

/*
 * A frame handed to the tracker. Zero it before filling it in (a designated
 * initializer does), so that the fields a caller does not know about, such
 * as `flags`, `iif` and `tmpl`, are 0. 32 bytes on LP64 targets: `flags`
 * took what was 24 bytes to 32, and `iif` and `tmpl` (the input interface,
 * which the rules of ctrack/rules.h match, and the CT template of
 * ctrack/template.h) took the 4 bytes of padding that followed.
 */
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
    uint32_t flags;      /* CT_FRAME_F_*: what the receiving NIC checked; 0 if nothing */
    uint16_t iif;        /* input interface id, the caller's numbering; 0 = unknown */
    uint8_t tmpl;        /* CT template (ctrack/template.h) chosen by the caller; 0 = none */
    uint8_t reserved;    /* must be zero */
};
_Static_assert(sizeof(struct ct_frame) == 32 || sizeof(void *) != 8,
               "struct ct_frame is 32 bytes on LP64: iif and tmpl took its tail padding");

/*
 * A frame the library may write into: struct ct_frame with a non-const
 * `data`, for the calls that rewrite packets (ct_pkt_parse_rw(),
 * ct_process_burst_rw()). The fields mean what they mean in struct
 * ct_frame; zero it before filling it in.
 */
struct ct_frame_rw {
    uint8_t *data;       /* first byte of the link-layer header, writable */
    uint32_t len;        /* bytes available at data (captured length) */
    uint32_t wire_len;   /* length on the wire; 0 means the same as len */
    uint16_t link;       /* enum ct_link */
    uint16_t zone;       /* zone to look the packet up in (default 0) */
    uint32_t mark;       /* packet mark, as skb->mark */
    uint32_t flags;      /* CT_FRAME_F_* */
    uint16_t iif;        /* input interface id; 0 = unknown */
    uint8_t tmpl;        /* CT template id; 0 = none */
    uint8_t reserved;    /* must be zero */
};
_Static_assert(sizeof(struct ct_frame_rw) == 32 || sizeof(void *) != 8,
               "struct ct_frame_rw is 32 bytes on LP64");

/* Frame flags (ct_frame.flags). All of them fit in ct_pkt.frame_flags. */
enum {
    /*
     * The NIC verified the transport checksum and found it good: DPDK's
     * RTE_MBUF_F_RX_L4_CKSUM_GOOD, Linux's CHECKSUM_UNNECESSARY. The table
     * then does not check it again (CT_REASON_L4_CHECKSUM is never given to
     * the packet), as Linux's nf_ip_checksum() and nf_ip6_checksum() return
     * "good" for CHECKSUM_UNNECESSARY without summing. The IPv4 header
     * checksum is still checked by the parser. ct_pkt_verify_checksum()
     * itself ignores the flag: it always sums.
     */
    CT_FRAME_F_L4_CSUM_GOOD = 1u << 0,
    /*
     * The packet was generated on this host, not received: rules attached
     * to the table (ctrack/rules.h) run its `output` chains instead of its
     * `prerouting` ones. Nothing else reads it.
     */
    CT_FRAME_F_LOCAL = 1u << 1,
    /*
     * The NIC will fill this frame's transport checksum (Linux's
     * CHECKSUM_PARTIAL, DPDK's RTE_MBUF_F_TX_TCP_CKSUM and friends): the
     * checksum field holds the pseudo-header sum, and a NAT rewrite
     * (ctrack/nat.h) updates only what the pseudo-header covers.
     */
    CT_FRAME_F_CSUM_PARTIAL = 1u << 2,
};

#define CT_PKT_MAX_VLANS 4

/* Fragment kinds (ct_pkt.frag). */
enum ct_frag {
    CT_FRAG_NONE = 0,
    CT_FRAG_FIRST = 1, /* offset 0, more fragments follow */
    CT_FRAG_LATER = 2, /* offset > 0: no transport header here */
};
/*
 * A fragment parses with reason CT_REASON_FRAGMENT (or FRAG_INVALID) and
 * these fields set: l3_off, ip_len, the tuple's addresses and protocol (for
 * IPv6 the fragment header's next header), l4_off where the fragment's data
 * begins (IPv4: after the header; IPv6: after the fragment header, which is
 * the 8 bytes before it) and l4_len, the length of that data. The
 * reassembler (ctrack/defrag.h) relies on them.
 */

/*
 * Encapsulations (ct_pkt.encap): what the transport payload of a parsed
 * packet carries. Only packets that parsed (reason CT_REASON_NONE, not a
 * fragment) are examined; a payload that does not look like the
 * encapsulation it claims to be is left as plain payload (encap NONE).
 */
enum ct_encap {
    CT_ENCAP_NONE = 0,
    /* IP protocol 4 (IPv4) or 41 (IPv6) in IPv4 or IPv6: RFC 2003, RFC 2473,
       RFC 4213. encap_link is CT_LINK_IPV4 or CT_LINK_IPV6. */
    CT_ENCAP_IPIP = 1,
    /* GRE, IP protocol 47: version 0 (RFC 2784, key and sequence number of
       RFC 2890) carrying IPv4, IPv6 or Ethernet (transparent Ethernet
       bridging, 0x6558, and ERSPAN types I, II and III, 0x88be / 0x22eb);
       version 1 (enhanced GRE of PPTP, RFC 2637) carrying PPP with IPv4 or
       IPv6. encap_id is the key (version 1: the call ID), else 0. */
    CT_ENCAP_GRE = 2,
    /* VXLAN, UDP destination port 4789 with the I flag (RFC 7348): an
       Ethernet frame. encap_id is the VNI. */
    CT_ENCAP_VXLAN = 3,
    /* Geneve version 0, UDP destination port 6081 (RFC 8926), options
       skipped: Ethernet, IPv4 or IPv6 by its protocol type. encap_id is the
       VNI. */
    CT_ENCAP_GENEVE = 4,
    /* Teredo, UDP port 3544 either way (RFC 4380), authentication and
       origin indications skipped; reported only when the payload is an IPv6
       header whose payload length fills the datagram exactly. */
    CT_ENCAP_TEREDO = 5,
    /* GTP-U version 1 G-PDU (message type 255), UDP port 2152 either way
       (3GPP TS 29.281), optional fields and extension headers skipped:
       IPv4 or IPv6 by its first nibble (encap_link CT_LINK_RAW). encap_id is
       the TEID. */
    CT_ENCAP_GTPU = 6,
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
 *
 * Size: 176 bytes on LP64 targets: 168 as before rewriting and the SACK
 * offset were added, then 8 more for the input interface and the template
 * id (`iif`, `tmpl`), which found no free bytes together: they sit at the
 * end in the frame's own layout, so that the parser copies them with one
 * load and one store. The descriptor is written for every packet and read by
 * the tracker, so it stays within three cache lines and nothing is stored
 * that can be computed: every field a rewrite changes lies at a fixed
 * offset from l3_off, l4_off, inner_l3_off or inner_l4_off for the family
 * and protocol (ct_pkt_field_off()), and the UDP zero-checksum case is read
 * from the checksum field itself. What could not be derived cheaply took
 * the two bytes of padding after frame_flags: `tcp_sack_off`, so that the
 * TCP tracker reads the SACK blocks where the parser found them instead of
 * walking the options again, and `writable`.
 *
 * tcp_sack_off: the offset, from the TCP header, of the kind byte of the
 * segment's first SACK option (RFC 2018), whose length byte and the bytes
 * it covers lie inside the captured header; 0 when there is none. The
 * option may still be malformed (a length other than 2 + 8n, n >= 1):
 * then its blocks are not read, and a later well-formed option still sets
 * CT_TCPOPT_SACK. Linux's tcp_sack() also reads one SACK option only, but
 * passes over a malformed one to the next; ctrack's tracker has always
 * stopped at the first.
 */
struct ct_pkt {
    const uint8_t *data;
    uint32_t len;          /* captured bytes at data */
    uint16_t reason;       /* enum ct_reason; NONE when the frame parsed */
    uint8_t frag;          /* enum ct_frag */
    uint8_t nvlan;         /* number of VLAN tags (outermost first) */
    uint8_t snapped;       /* 1 if the capture cut the packet short */
    uint8_t frame_flags;   /* CT_FRAME_F_* of the frame, copied by the parser */
    uint8_t tcp_sack_off;  /* TCP: offset of the first SACK option from l4_off, 0 if none */
    uint8_t writable;      /* 1: parsed from a struct ct_frame_rw, `data` may be written */
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

    /* Encapsulation (valid with reason CT_REASON_NONE; see enum ct_encap). */
    uint8_t encap;         /* enum ct_encap; NONE when no frame follows */
    uint8_t nmpls;         /* MPLS labels skipped before the IP header (saturates at 255) */
    uint16_t encap_link;   /* enum ct_link of the encapsulated frame */
    uint16_t encap_off;    /* offset of the encapsulated frame from data */
    uint16_t pad1;
    uint32_t encap_len;    /* its length on the wire, from the IP, UDP and tunnel lengths */
    uint32_t encap_id;     /* VNI, GRE key or GTP TEID (see enum ct_encap); 0 if none */

    /* Copied from the frame as one 4-byte word, in the frame's layout. */
    uint16_t iif;          /* input interface id; 0 = unknown */
    uint8_t tmpl;          /* CT template (ctrack/template.h) for a NEW connection; 0 = none.
                              The rules (ctrack/rules.h) may set it. */
    uint8_t reserved;      /* the frame's reserved byte */
    uint32_t pad2;
};

/*
 * Parses the frame into *pkt. Always fills pkt->reason: CT_REASON_NONE, or
 * the reason the frame is INVALID (or UNTRACKED: CT_REASON_NOT_IP). The
 * zone, mark and flags are copied from the frame. Does not verify transport
 * checksums (see ct_pkt_verify_checksum()).
 */
void ct_pkt_parse(const struct ct_frame *frame, struct ct_pkt *pkt);

/* Parsing options (ct_pkt_parse_flags()). */
enum {
    /* Accept an IPv4 header whose checksum is wrong, as a capture tool that
       does not validate checksums would (Zeek's -C, Suricata's -k none).
       Linux drops such packets before conntrack; this is for reading
       captures, not for a dataplane. */
    CT_PARSE_F_NO_IP_CHECKSUM = 1u << 0,
};

/* ct_pkt_parse() with CT_PARSE_F_* options; ct_pkt_parse() passes 0. */
void ct_pkt_parse_flags(const struct ct_frame *frame, struct ct_pkt *pkt, unsigned flags);

/*
 * Parses a writable frame as ct_pkt_parse_flags() does and marks the
 * descriptor writable (pkt->writable = 1), so that the rewrite calls below
 * accept it. Everything else in *pkt is what ct_pkt_parse_flags() would
 * write for the same bytes.
 */
void ct_pkt_parse_rw(const struct ct_frame_rw *frame, struct ct_pkt *pkt, unsigned flags);

/*
 * Verifies the transport checksum of a parsed packet (TCP, UDP, UDP-Lite,
 * ICMP, ICMPv6, and SCTP's CRC32c). Returns 1 if it is correct or not
 * checkable (fragments, a UDP checksum of zero over IPv4, a protocol without
 * a checksum), 0 if wrong.
 */
int ct_pkt_verify_checksum(const struct ct_pkt *pkt);

/*
 * Fills *inner with the frame encapsulated in a parsed packet: data at
 * pkt->data + encap_off, link encap_link, the captured bytes of the inner
 * frame as len (none past the outer IP packet or UDP datagram) and
 * encap_len as wire_len, the zone and mark of the outer packet, and flags
 * 0 (a NIC's verdict on the outer checksum says nothing of the inner one).
 * Parse it with ct_pkt_parse(); it points into the outer frame and lives as
 * long.
 * Returns 0, or -ENOENT when the packet did not parse or carries no
 * encapsulated frame.
 */
int ct_pkt_inner_frame(const struct ct_pkt *pkt, struct ct_frame *inner);

/*
 * Decodes the payload of a parsed UDP packet as the UDP encapsulation
 * `kind` (CT_ENCAP_VXLAN, GENEVE, TEREDO or GTPU) whatever its ports, with
 * the same checks as on the standard ports, and fills *inner as
 * ct_pkt_inner_frame() does. For tunnels on other ports: Teredo clients
 * talk to relays and peers on any port, which Zeek and Suricata find by
 * trying Teredo on every UDP packet. Returns 0, -ENOENT when the packet is
 * not UDP or its payload is not that encapsulation, -EINVAL for another
 * kind.
 */
int ct_pkt_decap(const struct ct_pkt *pkt, unsigned kind, struct ct_frame *inner);

/*
 * Sets the zone a parsed packet is looked up in (its tuple and, for ICMP
 * errors, the embedded tuple), for a zone chosen after parsing, such as
 * ct_zone_from_vlan(); then hand the packet to ct_process_parsed().
 */
void ct_pkt_set_zone(struct ct_pkt *pkt, uint16_t zone);

/* ---- rewriting ------------------------------------------------------------ */

/*
 * The fields a rewrite changes (ct_pkt_field_off()). Addresses are 4 bytes
 * (IPv4) or 16 (IPv6), the others 2. The INNER_ fields are those of the
 * packet an ICMP or ICMPv6 error quotes (icmp_is_error and inner_ok set).
 */
enum ct_pkt_field {
    CT_PKT_FIELD_SRC_ADDR = 0, /* IP source address */
    CT_PKT_FIELD_DST_ADDR,     /* IP destination address */
    CT_PKT_FIELD_SRC_PORT,     /* TCP, UDP, UDP-Lite, SCTP source port; ICMP query identifier */
    CT_PKT_FIELD_DST_PORT,     /* TCP, UDP, UDP-Lite, SCTP destination port */
    CT_PKT_FIELD_IP_CSUM,      /* IPv4 header checksum (none in IPv6) */
    CT_PKT_FIELD_L4_CSUM,      /* TCP, UDP, UDP-Lite, ICMP or ICMPv6 checksum; a UDP
                                  checksum of 0 means none was sent (RFC 768) */
    CT_PKT_FIELD_INNER_SRC_ADDR,
    CT_PKT_FIELD_INNER_DST_ADDR,
    CT_PKT_FIELD_INNER_SRC_PORT,
    CT_PKT_FIELD_INNER_DST_PORT,
    CT_PKT_FIELD_INNER_IP_CSUM,
    CT_PKT_FIELD_INNER_L4_CSUM, /* only when the quote holds both its bytes, and for
                                   TCP the whole 20-byte header (Linux's NAT
                                   updates it only then) */
    CT_PKT_FIELD_COUNT,
};

/*
 * The offset from pkt->data of a field of a parsed packet, computed from
 * the header offsets, the family and the protocol. Every byte of the field
 * was captured. Returns the offset (>= 0), or:
 *   -EINVAL  pkt is NULL or field is not an enum ct_pkt_field;
 *   -ENOENT  the packet has no such field: it did not parse (reason not
 *            NONE, fragments included), its protocol has no such field
 *            (GRE ports, an IPv6 header checksum, an ICMP message without
 *            identifier), it is not an ICMP error (INNER_ fields), or the
 *            field lies past the captured bytes.
 */
int ct_pkt_field_off(const struct ct_pkt *pkt, unsigned field);

/* Which address or port a rewrite changes. */
enum ct_pkt_side {
    CT_PKT_SRC = 0,
    CT_PKT_DST = 1,
};

/*
 * Rewrites the source or destination address of a writable parsed packet
 * (the family stays: addr holds 4 bytes for IPv4 in addr->v4, 16 for IPv6)
 * and updates incrementally (RFC 1624) the IPv4 header checksum and the
 * transport checksum whose pseudo-header covers the address: TCP, UDP,
 * UDP-Lite, ICMPv6 (ICMP over IPv4 has none; a UDP checksum of 0 stays 0,
 * and a computed 0 is sent as 0xffff, RFC 768). The descriptor's tuple
 * follows. Any other protocol only gets the IP header fixed: SCTP's CRC32c
 * does not cover the addresses, and protocols the parser does not read are
 * not known to. Returns 0, or:
 *   -EINVAL  a NULL argument or side not an enum ct_pkt_side;
 *   -EROFS   the descriptor does not come from a writable frame;
 *   -ENOENT  the packet did not parse (reason not NONE, fragments included);
 *   -ENOTSUP the destination of an IPv6 packet with extension headers (a
 *            routing header would make another address the pseudo-header's
 *            destination).
 */
int ct_pkt_rewrite_addr(struct ct_pkt *pkt, unsigned side, const union ct_addr *addr);

/*
 * Rewrites the source or destination port (port in host order) of a
 * writable parsed TCP, UDP or UDP-Lite packet, or the identifier of an ICMP
 * or ICMPv6 query (side CT_PKT_SRC: the identifier is the tuple's source
 * "port" either way), and updates its checksum incrementally as
 * ct_pkt_rewrite_addr() does. Returns 0, or -EINVAL, -EROFS and -ENOENT as
 * ct_pkt_rewrite_addr() does (-ENOENT also for a protocol without ports,
 * an ICMP error or the destination "port" of an ICMP query; for SCTP, a
 * packet not captured whole: its CRC32c cannot be updated incrementally and
 * is computed again over the packet, as Linux does).
 *
 * Frames flagged CT_FRAME_F_CSUM_PARTIAL (the NIC finishes the transport
 * checksum): their checksum field holds the pseudo-header sum, which
 * ct_pkt_rewrite_addr() updates for the address; ports change nothing
 * there, and an SCTP CRC is left to the NIC.
 */
int ct_pkt_rewrite_port(struct ct_pkt *pkt, unsigned side, uint16_t port);

/*
 * ICMP error translation: rewrites an address, or a port or ICMP query
 * identifier, of the packet a writable ICMP or ICMPv6 error quotes, as
 * pf's pf_change_icmp() and Linux's nf_nat_icmp_reply_translation() do.
 * Updated incrementally: the quoted IPv4 header's checksum, the quoted
 * transport checksum when the quote reaches it (its pseudo-header for an
 * address; a quoted UDP checksum of 0 stays 0), and the outer ICMP or
 * ICMPv6 checksum for every 16-bit word changed inside the message. The
 * outer addresses are changed with ct_pkt_rewrite_addr(). pkt->inner
 * follows. Returns 0, or:
 *   -EINVAL  a NULL argument or a bad side;
 *   -EROFS   the descriptor does not come from a writable frame;
 *   -ENOENT  the packet is not an ICMP error with a quoted packet
 *            (inner_ok), or (ports) the quoted protocol has none or they
 *            were not quoted;
 *   -ENOTSUP the destination of a quoted IPv6 packet with extension
 *            headers, or a port of a quoted SCTP packet.
 */
int ct_pkt_rewrite_inner_addr(struct ct_pkt *pkt, unsigned side, const union ct_addr *addr);
int ct_pkt_rewrite_inner_port(struct ct_pkt *pkt, unsigned side, uint16_t port);

#ifdef __cplusplus
}
#endif
#endif
