/*
 * Tunnel decoders and the public helpers around them: ct_pkt_inner_frame(),
 * ct_zone_from_vlan() and ct_pkt_set_zone().
 *
 * The parser calls a decoder once the outer packet has parsed: for UDP on
 * the ports of VXLAN, Geneve, Teredo and GTP-U, and for IP protocols 4, 41
 * (IP in IP) and 47 (GRE). A decoder only records where the inner frame is;
 * parsing it is a second ct_pkt_parse() by the caller, so each layer is one
 * parse and nesting needs no recursion here. Every read goes through
 * ct_pkt_span() against the captured length and the end of the enclosing
 * packet. Like Zeek and Suricata, a decoder that does not recognise the
 * payload leaves it as payload: nothing here makes a packet INVALID.
 */
#include <errno.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "packet/encap.h"
#include "packet/packet_priv.h"

/* GRE flag bits in the first 16 bits (RFC 2784 section 2, RFC 2890, RFC 2637). */
enum {
    GRE_C = 0x8000,      /* checksum present */
    GRE_R = 0x4000,      /* routing present (RFC 1701, deprecated) */
    GRE_K = 0x2000,      /* key present (RFC 2890) */
    GRE_S = 0x1000,      /* sequence number present (RFC 2890) */
    GRE_SSR = 0x0800,    /* strict source route (RFC 1701) */
    GRE_RECUR = 0x0700,  /* recursion control (RFC 1701) */
    GRE_A = 0x0080,      /* acknowledgment present (RFC 2637) */
    GRE_FLAGS = 0x0078,  /* must be zero in version 1 */
    GRE_VER = 0x0007,
};

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

void ct_encap_set(struct ct_pkt *pkt, uint8_t kind, uint32_t off, uint32_t end, uint16_t link, uint32_t id)
{
    if (off > end || off > 0xffffu)
        return;
    pkt->encap = kind;
    pkt->encap_off = (uint16_t)off;
    pkt->encap_len = end - off;
    pkt->encap_link = link;
    pkt->encap_id = id;
}

/* ---- GRE ------------------------------------------------------------------------ */

/*
 * PPP in enhanced GRE (RFC 2637 section 4.1): an optional address and
 * control field (0xff 0x03, RFC 1662, absent when compressed), then a
 * protocol number of one byte (an odd value, protocol field compression,
 * RFC 1661 section 6.5) or two. IPv4 is 0x0021, IPv6 0x0057 (RFC 5072).
 * Returns the link of the PPP payload, or 0 when it is not IP.
 */
static uint16_t ppp_payload(const uint8_t *data, uint32_t lim, uint32_t *off)
{
    const uint8_t *p = ct_pkt_span(data, lim, *off, 2);
    if (!p)
        return 0;
    if (p[0] == 0xff && p[1] == 0x03) {
        *off += 2;
        p = ct_pkt_span(data, lim, *off, 1);
        if (!p)
            return 0;
    }
    uint16_t proto = p[0];
    if (proto & 1u) {
        *off += 1;
    } else {
        p = ct_pkt_span(data, lim, *off, 2);
        if (!p)
            return 0;
        proto = ct_be16(p);
        *off += 2;
    }
    if (proto == CT_PPP_PROTO_IPV4)
        return CT_LINK_IPV4;
    if (proto == CT_PPP_PROTO_IPV6)
        return CT_LINK_IPV6;
    return 0;
}

static void gre(const uint8_t *data, uint32_t caplen, uint32_t off, uint32_t end, struct ct_pkt *pkt)
{
    uint32_t lim = min_u32(caplen, end);
    const uint8_t *h = ct_pkt_span(data, lim, off, 4);
    if (!h)
        return;
    uint16_t flags = ct_be16(h);
    uint16_t proto = ct_be16(h + 2);
    uint32_t hl = 4, key = 0;
    uint16_t link;

    if ((flags & GRE_VER) == 1) {
        /* RFC 2637 4.1: C, R, s, recursion and flags zero, K set, protocol
           PPP. The key holds the payload length and the call ID. */
        if ((flags & (GRE_C | GRE_R | GRE_SSR | GRE_RECUR | GRE_FLAGS)) || !(flags & GRE_K) ||
            proto != CT_ETH_P_PPP)
            return;
        h = ct_pkt_span(data, lim, off, 8);
        if (!h)
            return;
        uint32_t plen = ct_be16(h + 4);
        key = ct_be16(h + 6);
        hl = 8 + ((flags & GRE_S) ? 4u : 0u) + ((flags & GRE_A) ? 4u : 0u);
        if (plen == 0 || plen > end - off || hl > end - off - plen)
            return; /* an acknowledgment alone, or a length past the packet */
        end = off + hl + plen;
        uint32_t p = off + hl;
        link = ppp_payload(data, min_u32(lim, end), &p);
        if (!link)
            return;
        ct_encap_set(pkt, CT_ENCAP_GRE, p, end, link, key);
        return;
    }
    if ((flags & GRE_VER) != 0)
        return;
    /* RFC 2784 2.3: a receiver discards a packet with any of bits 1 to 5
       set unless it implements RFC 1701; of those, K and S are RFC 2890's.
       Source routing (R, s) and recursion control are not supported. */
    if (flags & (GRE_R | GRE_SSR | 0x0400u))
        return;
    if (flags & GRE_C)
        hl += 4; /* checksum and reserved1 */
    if (flags & GRE_K) {
        h = ct_pkt_span(data, lim, off + hl, 4);
        if (!h)
            return;
        key = ct_be32(h);
        hl += 4;
    }
    if (flags & GRE_S)
        hl += 4;

    switch (proto) {
    case CT_ETH_P_IPV4:
        link = CT_LINK_IPV4;
        break;
    case CT_ETH_P_IPV6:
        link = CT_LINK_IPV6;
        break;
    case CT_ETH_P_TEB:
        link = CT_LINK_ETHERNET;
        break;
    case CT_ETH_P_ERSPAN_2:
        /* Type I has no sequence number and no ERSPAN header; type II
           has both, and an 8-byte header of version 1. */
        link = CT_LINK_ETHERNET;
        if (flags & GRE_S) {
            h = ct_pkt_span(data, lim, off + hl, 8);
            if (!h || (h[0] >> 4) != 1)
                return;
            hl += 8;
        }
        break;
    case CT_ETH_P_ERSPAN_3:
        /* Type III: a 12-byte header of version 2, then an 8-byte
           platform-specific subheader when its O flag (lowest bit of the
           last byte) is set. */
        link = CT_LINK_ETHERNET;
        h = ct_pkt_span(data, lim, off + hl, 12);
        if (!h || (h[0] >> 4) != 2)
            return;
        hl += (h[11] & 1u) ? 20u : 12u;
        break;
    default:
        return;
    }
    ct_encap_set(pkt, CT_ENCAP_GRE, off + hl, end, link, key);
}

/* ---- UDP encapsulations -------------------------------------------------------------- */

/* VXLAN (RFC 7348 section 5): flags with I (0x08) set, 24 reserved bits, the
   VNI and 8 reserved bits; then an Ethernet frame. */
static void vxlan(const uint8_t *data, uint32_t lim, uint32_t off, uint32_t end, struct ct_pkt *pkt)
{
    const uint8_t *h = ct_pkt_span(data, lim, off, 8);
    if (!h || !(h[0] & 0x08u))
        return;
    ct_encap_set(pkt, CT_ENCAP_VXLAN, off + 8, end, CT_LINK_ETHERNET, ct_be32(h + 4) >> 8);
}

/* Geneve (RFC 8926 section 3.4): version 0, options length in 4-byte words,
   flags, protocol type (an EtherType), VNI; the options follow. */
static void geneve(const uint8_t *data, uint32_t lim, uint32_t off, uint32_t end, struct ct_pkt *pkt)
{
    const uint8_t *h = ct_pkt_span(data, lim, off, 8);
    if (!h || (h[0] >> 6) != 0)
        return;
    uint32_t hl = 8 + (h[0] & 0x3fu) * 4u;
    uint16_t link;
    switch (ct_be16(h + 2)) {
    case CT_ETH_P_TEB:
        link = CT_LINK_ETHERNET;
        break;
    case CT_ETH_P_IPV4:
        link = CT_LINK_IPV4;
        break;
    case CT_ETH_P_IPV6:
        link = CT_LINK_IPV6;
        break;
    default:
        return;
    }
    if (hl > end - off)
        return;
    ct_encap_set(pkt, CT_ENCAP_GENEVE, off + hl, end, link, ct_be32(h + 4) >> 8);
}

/*
 * Teredo (RFC 4380 section 5.1.1): an optional authentication indication
 * (0x0001, client ID length, authentication length, client ID,
 * authentication value, 8-byte nonce, confirmation byte), then an optional
 * origin indication (0x0000, port, address: 8 bytes), then an IPv6 packet.
 * Port 3544 carries other things too, so the IPv6 header must be captured,
 * be version 6, and its payload length must fill the datagram exactly (as
 * Suricata checks).
 */
static void teredo(const uint8_t *data, uint32_t lim, uint32_t off, uint32_t end, struct ct_pkt *pkt)
{
    const uint8_t *h = ct_pkt_span(data, lim, off, 4);
    if (h && h[0] == 0 && h[1] == 1) {
        off += 13u + h[2] + h[3];
        h = ct_pkt_span(data, lim, off, 2);
    }
    if (h && h[0] == 0 && h[1] == 0)
        off += 8;
    h = ct_pkt_span(data, lim, off, 40);
    if (!h || (h[0] >> 4) != 6 || 40u + ct_be16(h + 4) != end - off)
        return;
    ct_encap_set(pkt, CT_ENCAP_TEREDO, off, end, CT_LINK_IPV6, 0);
}

/*
 * GTP-U (3GPP TS 29.281 section 5): version 1 with protocol type GTP (not
 * GTP'), a G-PDU (message type 255) carrying a user packet. The length
 * counts the bytes after the 8-byte mandatory header. When any of the E, S
 * or PN flags is set, 4 more bytes follow (sequence number, N-PDU number,
 * next extension header type); with E, extension headers follow, each a
 * length in 4-byte units (never 0), content, and the next type. The user
 * packet is IPv4 or IPv6 by its first nibble, as Zeek reads it.
 */
static void gtpu(const uint8_t *data, uint32_t lim, uint32_t off, uint32_t end, struct ct_pkt *pkt)
{
    const uint8_t *h = ct_pkt_span(data, lim, off, 8);
    if (!h || (h[0] >> 5) != 1 || !(h[0] & 0x10u) || h[1] != 255)
        return;
    uint32_t glen = ct_be16(h + 2);
    if (glen > end - off - 8)
        return;
    uint32_t teid = ct_be32(h + 4);
    uint8_t fl = h[0];
    end = off + 8 + glen;
    lim = min_u32(lim, end);
    uint32_t p = off + 8;
    if (fl & 0x07u) {
        const uint8_t *o = ct_pkt_span(data, lim, p, 4);
        if (!o)
            return;
        uint8_t next = o[3];
        p += 4;
        while ((fl & 0x04u) && next != 0) {
            const uint8_t *e = ct_pkt_span(data, lim, p, 1);
            if (!e || e[0] == 0)
                return;
            uint32_t n = e[0] * 4u;
            e = ct_pkt_span(data, lim, p, n);
            if (!e)
                return;
            next = e[n - 1];
            p += n;
        }
    }
    const uint8_t *b = ct_pkt_span(data, lim, p, 1);
    if (!b || ((b[0] >> 4) != 4 && (b[0] >> 4) != 6))
        return;
    ct_encap_set(pkt, CT_ENCAP_GTPU, p, end, CT_LINK_RAW, teid);
}

/* Decodes the UDP payload [off, end) as encapsulation `kind`. */
static void udp_as(const uint8_t *data, uint32_t caplen, uint32_t off, uint32_t end, struct ct_pkt *pkt,
                   unsigned kind)
{
    uint32_t lim = min_u32(caplen, end);
    switch (kind) {
    case CT_ENCAP_VXLAN:
        vxlan(data, lim, off, end, pkt);
        break;
    case CT_ENCAP_GENEVE:
        geneve(data, lim, off, end, pkt);
        break;
    case CT_ENCAP_TEREDO:
        teredo(data, lim, off, end, pkt);
        break;
    case CT_ENCAP_GTPU:
        gtpu(data, lim, off, end, pkt);
        break;
    default:
        break;
    }
}

uint16_t ct_encap_ip(const uint8_t *data, uint32_t caplen, uint32_t off, uint32_t end, struct ct_pkt *pkt)
{
    if (pkt->tuple.proto == CT_IPPROTO_IPIP)
        ct_encap_set(pkt, CT_ENCAP_IPIP, off, end, CT_LINK_IPV4, 0);
    else if (pkt->tuple.proto == CT_IPPROTO_IPV6)
        ct_encap_set(pkt, CT_ENCAP_IPIP, off, end, CT_LINK_IPV6, 0);
    else if (pkt->tuple.proto == CT_IPPROTO_GRE)
        gre(data, caplen, off, end, pkt);
    return CT_REASON_NONE;
}

uint16_t ct_encap_udp(const uint8_t *data, uint32_t caplen, uint32_t off, uint32_t end, struct ct_pkt *pkt)
{
    uint16_t sp = pkt->tuple.sport, dp = pkt->tuple.dport;
    unsigned kind;
    if (dp == CT_PORT_VXLAN)
        kind = CT_ENCAP_VXLAN;
    else if (dp == CT_PORT_GENEVE)
        kind = CT_ENCAP_GENEVE;
    else if (dp == CT_PORT_GTPU || sp == CT_PORT_GTPU)
        kind = CT_ENCAP_GTPU;
    else
        kind = CT_ENCAP_TEREDO;
    udp_as(data, caplen, off, end, pkt, kind);
    return CT_REASON_NONE;
}

/* ---- public helpers ---------------------------------------------------------------------- */

CT_EXPORT int ct_pkt_inner_frame(const struct ct_pkt *pkt, struct ct_frame *inner)
{
    if (pkt->reason != CT_REASON_NONE || pkt->encap == CT_ENCAP_NONE)
        return -ENOENT;
    uint32_t off = min_u32(pkt->encap_off, pkt->len);
    inner->data = pkt->data + off;
    inner->len = min_u32(pkt->len - off, pkt->encap_len);
    inner->wire_len = pkt->encap_len;
    inner->link = pkt->encap_link;
    inner->zone = pkt->tuple.zone;
    inner->mark = pkt->mark;
    inner->flags = 0; /* what the NIC checked was the outer packet */
    return 0;
}

CT_EXPORT int ct_pkt_decap(const struct ct_pkt *pkt, unsigned kind, struct ct_frame *inner)
{
    if (kind != CT_ENCAP_VXLAN && kind != CT_ENCAP_GENEVE && kind != CT_ENCAP_TEREDO && kind != CT_ENCAP_GTPU)
        return -EINVAL;
    if (pkt->reason != CT_REASON_NONE || pkt->frag != CT_FRAG_NONE || pkt->tuple.proto != CT_IPPROTO_UDP)
        return -ENOENT;
    if (pkt->encap == kind)
        return ct_pkt_inner_frame(pkt, inner);
    const uint8_t *h = ct_pkt_span(pkt->data, pkt->len, pkt->l4_off, 8);
    if (!h || ct_be16(h + 4) < 8)
        return -ENOENT;
    struct ct_pkt tmp = *pkt;
    tmp.encap = CT_ENCAP_NONE;
    udp_as(pkt->data, pkt->len, pkt->l4_off + 8u, pkt->l4_off + (uint32_t)ct_be16(h + 4), &tmp, kind);
    if (tmp.encap != kind)
        return -ENOENT;
    return ct_pkt_inner_frame(&tmp, inner);
}

CT_EXPORT void ct_pkt_set_zone(struct ct_pkt *pkt, uint16_t zone)
{
    pkt->tuple.zone = zone;
    pkt->inner.zone = zone;
}
