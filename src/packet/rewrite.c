/*
 * Packet rewriting for NAT: where each field a translation changes lies
 * (ct_pkt_field_off()), and the calls that change an address or a port in
 * place with incremental checksum updates (ct_pkt_rewrite_*()).
 *
 * The shape is pf's (OpenBSD sys/net/pf.c): one descriptor parsed once
 * says where the fields are, and small helpers change one field and fix
 * every checksum that covers it, as pf_change_a(), pf_change_a6(),
 * pf_change_ap() and pf_change_icmp() do through pf_cksum_fixup(). Nothing
 * here is on the packet path of a monitor: a descriptor of a read-only
 * frame is refused before anything is read.
 *
 * Incremental update (RFC 1624 section 3, equation 3): when the 16-bit
 * words m of a region change to m', its checksum HC becomes
 *     HC' = ~(~HC + ~m + m')
 * in one's complement arithmetic. Equation 3, unlike the earlier
 * HC' = HC - ~m - m' of RFC 1141, never turns a checksum into the -0
 * (0xffff) a computation from scratch cannot give, so a rewritten field
 * ends up byte for byte what summing the changed packet would write
 * (tests/unit/test_rewrite.c builds both). Every field a rewrite changes
 * starts at an even offset from the start of each region whose checksum
 * covers it (IP headers and extension headers are multiples of 4 bytes,
 * the ICMP header 8), so its bytes are whole words of the sum.
 *
 * Which checksums cover what:
 *   - the IPv4 header checksum (RFC 791) covers the addresses;
 *   - TCP, UDP, UDP-Lite and ICMPv6 checksums cover a pseudo-header with
 *     both addresses (RFC 9293 3.1, RFC 768, RFC 3828, RFC 8200 8.1) and
 *     their own ports or identifier; ICMP over IPv4 has no pseudo-header
 *     (RFC 792); SCTP's CRC32c (RFC 9260 6.8) covers the ports but no
 *     addresses, and cannot be updated incrementally;
 *   - a UDP checksum of 0 means none was sent and stays 0 (RFC 768; IPv6
 *     zero-checksum tunnels, RFC 6935); a computed 0 is sent as 0xffff
 *     (RFC 768, RFC 3828 for UDP-Lite);
 *   - an ICMP or ICMPv6 error's checksum covers the whole message, so every
 *     word changed in the quoted packet (address, port, the quoted IPv4
 *     header's checksum and the quoted transport checksum) changes it too.
 *     Linux's nf_nat_icmp_reply_translation() sums the message again
 *     instead; pf_change_icmp() updates it word by word, as here. A
 *     quoted transport checksum is updated only when both its bytes were
 *     quoted: a quote that ends between them leaves the one byte it holds
 *     as it was, since the new value depends on the byte that is gone.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/compiler.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "packet/packet_priv.h"

/* Where, in a transport header, a field is; -1 when the protocol has none. */
enum l4_what {
    L4_SPORT = 0,
    L4_DPORT = 1,
    L4_CSUM = 2,
};

/*
 * The offset of a field from the start of the transport header of a packet
 * of family `v6` and protocol `proto`; `icmp_error` for an ICMP error,
 * which has no identifier. -1 when there is none.
 */
static int l4_rel(int v6, uint8_t proto, int icmp_error, unsigned what)
{
    static const int8_t tcp[3] = {0, 2, 16}, udp[3] = {0, 2, 6}, sctp[3] = {0, 2, -1},
                        icmp[3] = {4, -1, 2};
    switch (proto) {
    case CT_IPPROTO_TCP:
        return tcp[what];
    case CT_IPPROTO_UDP:
    case CT_IPPROTO_UDPLITE:
        return udp[what];
    case CT_IPPROTO_SCTP:
        return sctp[what];
    case CT_IPPROTO_ICMP:
    case CT_IPPROTO_ICMPV6:
        if (v6 != (proto == CT_IPPROTO_ICMPV6))
            return -1;
        if (what == L4_SPORT && icmp_error)
            return -1;
        return icmp[what];
    default:
        return -1;
    }
}

/* The bytes of the IP packet that were captured end here. */
static uint32_t pkt_lim(const struct ct_pkt *pkt)
{
    uint32_t end = (uint32_t)pkt->l3_off + pkt->ip_len;
    return pkt->len < end ? pkt->len : end;
}

CT_EXPORT int ct_pkt_field_off(const struct ct_pkt *pkt, unsigned field)
{
    if (!pkt || field >= CT_PKT_FIELD_COUNT)
        return -EINVAL;
    if (pkt->reason != CT_REASON_NONE || pkt->frag != CT_FRAG_NONE)
        return -ENOENT;
    const int inner = field >= CT_PKT_FIELD_INNER_SRC_ADDR;
    if (inner && !(pkt->icmp_is_error && pkt->inner_ok))
        return -ENOENT;
    const struct ct_tuple *t = inner ? &pkt->inner : &pkt->tuple;
    const uint32_t l3 = inner ? pkt->inner_l3_off : pkt->l3_off;
    const uint32_t l4 = inner ? pkt->inner_l4_off : pkt->l4_off;
    const int v6 = t->l3 == CT_L3_IPV6;
    /* A quoted packet is never itself an ICMP error (the parser refuses
       nested errors), so only the outer one lacks an identifier. */
    const int icmp_error = !inner && pkt->icmp_is_error;
    const unsigned f = field - (inner ? (unsigned)CT_PKT_FIELD_INNER_SRC_ADDR : 0u);
    uint32_t off, n = 2;
    int rel;
    switch (f) {
    case CT_PKT_FIELD_SRC_ADDR:
        off = l3 + (v6 ? 8u : 12u);
        n = v6 ? 16u : 4u;
        break;
    case CT_PKT_FIELD_DST_ADDR:
        off = l3 + (v6 ? 24u : 16u);
        n = v6 ? 16u : 4u;
        break;
    case CT_PKT_FIELD_IP_CSUM:
        if (v6)
            return -ENOENT;
        off = l3 + 10u;
        break;
    default: /* the ports and the transport checksum */
        rel = l4_rel(v6, t->proto, icmp_error,
                     f == CT_PKT_FIELD_SRC_PORT   ? L4_SPORT
                     : f == CT_PKT_FIELD_DST_PORT ? L4_DPORT
                                                  : L4_CSUM);
        if (rel < 0)
            return -ENOENT;
        off = l4 + (uint32_t)rel;
        /* A quoted TCP checksum is only worth updating with the whole
           20-byte header quoted: Linux's tcp_manip_pkt() leaves it alone
           otherwise, and the translation must give Linux's bytes. */
        if (inner && f == CT_PKT_FIELD_L4_CSUM && t->proto == CT_IPPROTO_TCP)
            n = 4;
        break;
    }
    if (off > pkt_lim(pkt) || n > pkt_lim(pkt) - off)
        return -ENOENT;
    return (int)off;
}

/* ---- checksums ------------------------------------------------------------ */

/*
 * RFC 1624 equation 3 for the `n` bytes (even) at `old` replaced by those
 * at `new`: HC' = ~(~HC + ~m + m'), the sum folded with end-around carry.
 * At most 9 words of two 16-bit terms each, so 32 bits hold the sum.
 */
static uint16_t csum_fixup(uint16_t hc, const uint8_t *old, const uint8_t *new, uint32_t n)
{
    uint32_t s = (uint16_t)~hc;
    for (uint32_t i = 0; i < n; i += 2) {
        s += (uint16_t)~ct_be16(old + i);
        s += ct_be16(new + i);
    }
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)~s;
}

/* How a checksum field treats 0 (csum_update()). */
enum csum_kind {
    CSUM_PLAIN = 0, /* IPv4 header, TCP, ICMP, ICMPv6 */
    CSUM_UDP = 1,   /* UDP, UDP-Lite: 0 is "none sent", a computed 0 is 0xffff */
};

/*
 * Updates the checksum field at d + coff for `n` bytes changed from old to
 * new. was[] and now[] get the field's bytes before and after, for a
 * checksum that covers this one (an ICMP error's).
 */
static void csum_update(uint8_t *d, uint32_t coff, const uint8_t *old, const uint8_t *new,
                        uint32_t n, enum csum_kind kind, uint8_t was[2], uint8_t now[2])
{
    uint8_t *c = d + coff;
    was[0] = c[0];
    was[1] = c[1];
    uint16_t hc = ct_be16(c);
    if (!(kind == CSUM_UDP && hc == 0)) {
        uint16_t v = csum_fixup(hc, old, new, n);
        if (kind == CSUM_UDP && v == 0)
            v = 0xffff;
        c[0] = (uint8_t)(v >> 8);
        c[1] = (uint8_t)v;
    }
    now[0] = c[0];
    now[1] = c[1];
}

/*
 * A transport checksum the NIC will finish (CT_FRAME_F_CSUM_PARTIAL,
 * Linux's CHECKSUM_PARTIAL): the field holds the folded pseudo-header sum,
 * not its complement, so a changed address is added to it as is:
 * S' = S + ~m + m' (Linux's inet_proto_csum_replace4() for a partial
 * skb). A UDP field that ends at 0 becomes 0xffff, as Linux's UDP NAT
 * leaves it (the same number in one's complement).
 */
static void csum_update_partial(uint8_t *c, const uint8_t *old, const uint8_t *new, uint32_t n,
                                enum csum_kind kind)
{
    uint32_t s = ct_be16(c);
    for (uint32_t i = 0; i < n; i += 2) {
        s += (uint16_t)~ct_be16(old + i);
        s += ct_be16(new + i);
    }
    while (s >> 16)
        s = (s & 0xffffu) + (s >> 16);
    if (kind == CSUM_UDP && s == 0)
        s = 0xffff;
    c[0] = (uint8_t)(s >> 8);
    c[1] = (uint8_t)s;
}

static int csum_partial(const struct ct_pkt *pkt)
{
    return (pkt->frame_flags & CT_FRAME_F_CSUM_PARTIAL) != 0;
}

/*
 * SCTP's CRC32c (RFC 9260 section 6.8) over the whole packet again after a
 * port changed: it cannot be updated from the changed bytes alone. Linux's
 * sctp_manip_pkt() does the same. Needs every byte of the packet.
 */
static void sctp_crc_redo(uint8_t *d, const struct ct_pkt *pkt)
{
    uint8_t *h = d + pkt->l4_off;
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t crc = 0xffffffffu;
    crc = ct_crc32c_update(crc, h, 8);
    crc = ct_crc32c_update(crc, zero, 4);
    crc = ~ct_crc32c_update(crc, h + 12, pkt->l4_len - 12);
    h[8] = (uint8_t)crc;
    h[9] = (uint8_t)(crc >> 8);
    h[10] = (uint8_t)(crc >> 16);
    h[11] = (uint8_t)(crc >> 24);
}

/* Whether an SCTP packet's CRC can be computed again: every byte captured. */
static int sctp_whole(const struct ct_pkt *pkt)
{
    return !pkt->snapped && pkt->l4_len >= 12 && (uint32_t)pkt->l4_off + pkt->l4_len <= pkt->len;
}

/* As csum_update() for a checksum nothing else covers. */
static void csum_update1(uint8_t *d, uint32_t coff, const uint8_t *old, const uint8_t *new,
                         uint32_t n, enum csum_kind kind)
{
    uint8_t was[2], now[2];
    csum_update(d, coff, old, new, n, kind, was, now);
}

/* The kind of the transport checksum of protocol `proto`. */
static enum csum_kind l4_kind(uint8_t proto)
{
    return proto == CT_IPPROTO_UDP || proto == CT_IPPROTO_UDPLITE ? CSUM_UDP : CSUM_PLAIN;
}

/* 1 if the transport checksum of `proto` covers a pseudo-header with the
   addresses of family v6. */
static int l4_pseudo(int v6, uint8_t proto)
{
    return proto == CT_IPPROTO_TCP || proto == CT_IPPROTO_UDP || proto == CT_IPPROTO_UDPLITE ||
           (v6 && proto == CT_IPPROTO_ICMPV6);
}

/* The writable bytes of a descriptor that may be rewritten, or NULL with
   the error in *err. */
static uint8_t *writable_data(const struct ct_pkt *pkt, unsigned side, const void *arg, int *err)
{
    if (!pkt || !arg || side > CT_PKT_DST) {
        *err = -EINVAL;
        return NULL;
    }
    if (!pkt->writable || pkt->data == NULL) {
        *err = -EROFS;
        return NULL;
    }
    if (pkt->reason != CT_REASON_NONE || pkt->frag != CT_FRAG_NONE) {
        *err = -ENOENT;
        return NULL;
    }
    /* ct_pkt_parse_rw() marked it: the bytes came from a struct
       ct_frame_rw, whose data is not const. */
    return (uint8_t *)(uintptr_t)pkt->data;
}

/* ---- the outer packet ------------------------------------------------------- */

CT_EXPORT int ct_pkt_rewrite_addr(struct ct_pkt *pkt, unsigned side, const union ct_addr *addr)
{
    int err = 0;
    uint8_t *d = writable_data(pkt, side, addr, &err);
    if (!d)
        return err;
    const int v6 = pkt->tuple.l3 == CT_L3_IPV6;
    const uint32_t n = v6 ? 16u : 4u;
    if (v6 && side == CT_PKT_DST && pkt->l4_off != pkt->l3_off + 40u)
        return -ENOTSUP;
    int off =
        ct_pkt_field_off(pkt, side == CT_PKT_SRC ? CT_PKT_FIELD_SRC_ADDR : CT_PKT_FIELD_DST_ADDR);
    if (off < 0)
        return off;
    uint8_t old[16];
    memcpy(old, d + off, n);
    memcpy(d + off, addr->b, n);
    if (!v6)
        csum_update1(d, pkt->l3_off + 10u, old, addr->b, n, CSUM_PLAIN);
    const uint8_t proto = pkt->tuple.proto;
    int coff = ct_pkt_field_off(pkt, CT_PKT_FIELD_L4_CSUM);
    if (l4_pseudo(v6, proto) && coff >= 0) {
        if (csum_partial(pkt))
            csum_update_partial(d + coff, old, addr->b, n, l4_kind(proto));
        else
            csum_update1(d, (uint32_t)coff, old, addr->b, n, l4_kind(proto));
    }
    memcpy(side == CT_PKT_SRC ? pkt->tuple.src.b : pkt->tuple.dst.b, addr->b, n);
    return 0;
}

CT_EXPORT int ct_pkt_rewrite_port(struct ct_pkt *pkt, unsigned side, uint16_t port)
{
    int err = 0;
    uint8_t *d = writable_data(pkt, side, pkt, &err);
    if (!d)
        return err;
    const uint8_t proto = pkt->tuple.proto;
    int off =
        ct_pkt_field_off(pkt, side == CT_PKT_SRC ? CT_PKT_FIELD_SRC_PORT : CT_PKT_FIELD_DST_PORT);
    if (off < 0)
        return off;
    if (proto == CT_IPPROTO_SCTP && !csum_partial(pkt) && !sctp_whole(pkt))
        return -ENOENT;
    uint8_t old[2], new[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    memcpy(old, d + off, 2);
    memcpy(d + off, new, 2);
    int coff = ct_pkt_field_off(pkt, CT_PKT_FIELD_L4_CSUM);
    if (proto == CT_IPPROTO_SCTP) {
        if (!csum_partial(pkt))
            sctp_crc_redo(d, pkt);
    } else if (coff >= 0 && !csum_partial(pkt)) {
        /* A partial checksum covers only the pseudo-header: ports are
           the NIC's to sum. */
        csum_update1(d, (uint32_t)coff, old, new, 2, l4_kind(proto));
    }
    if (side == CT_PKT_SRC)
        pkt->tuple.sport = port;
    else
        pkt->tuple.dport = port;
    return 0;
}

/* ---- ICMP errors: the quoted packet ------------------------------------------- */

/*
 * Changes the `n` bytes at d + off inside an ICMP error's message to `new`
 * and fixes the outer ICMP or ICMPv6 checksum (at d + icsum) for them.
 */
static void icmp_change(uint8_t *d, uint32_t icsum, uint32_t off, const uint8_t *new, uint32_t n)
{
    uint8_t old[16];
    memcpy(old, d + off, n);
    memcpy(d + off, new, n);
    csum_update1(d, icsum, old, new, n, CSUM_PLAIN);
}

/*
 * Fixes a checksum inside an ICMP error's message (the quoted IPv4 header's
 * or the quoted transport checksum) for `n` bytes changed from old to new,
 * then the outer checksum at d + icsum for the change of that field.
 */
static void icmp_inner_csum(uint8_t *d, uint32_t icsum, uint32_t coff, const uint8_t *old,
                            const uint8_t *new, uint32_t n, enum csum_kind kind)
{
    uint8_t was[2], now[2];
    csum_update(d, coff, old, new, n, kind, was, now);
    csum_update1(d, icsum, was, now, 2, CSUM_PLAIN);
}

/* The outer ICMP or ICMPv6 checksum of an error, or -ENOENT. */
static int icmp_error_csum(const struct ct_pkt *pkt)
{
    if (!pkt->icmp_is_error || !pkt->inner_ok)
        return -ENOENT;
    return ct_pkt_field_off(pkt, CT_PKT_FIELD_L4_CSUM);
}

CT_EXPORT int ct_pkt_rewrite_inner_addr(struct ct_pkt *pkt, unsigned side,
                                        const union ct_addr *addr)
{
    int err = 0;
    uint8_t *d = writable_data(pkt, side, addr, &err);
    if (!d)
        return err;
    int icsum = icmp_error_csum(pkt);
    if (icsum < 0)
        return icsum;
    const int v6 = pkt->inner.l3 == CT_L3_IPV6;
    const uint32_t n = v6 ? 16u : 4u;
    if (v6 && side == CT_PKT_DST && pkt->inner_l4_off != pkt->inner_l3_off + 40u)
        return -ENOTSUP;
    int off = ct_pkt_field_off(pkt, side == CT_PKT_SRC ? CT_PKT_FIELD_INNER_SRC_ADDR
                                                       : CT_PKT_FIELD_INNER_DST_ADDR);
    if (off < 0)
        return off;
    uint8_t old[16];
    memcpy(old, d + off, n);
    icmp_change(d, (uint32_t)icsum, (uint32_t)off, addr->b, n);
    if (!v6)
        icmp_inner_csum(d, (uint32_t)icsum, pkt->inner_l3_off + 10u, old, addr->b, n, CSUM_PLAIN);
    const uint8_t proto = pkt->inner.proto;
    int coff = ct_pkt_field_off(pkt, CT_PKT_FIELD_INNER_L4_CSUM);
    if (l4_pseudo(v6, proto) && coff >= 0)
        icmp_inner_csum(d, (uint32_t)icsum, (uint32_t)coff, old, addr->b, n, l4_kind(proto));
    memcpy(side == CT_PKT_SRC ? pkt->inner.src.b : pkt->inner.dst.b, addr->b, n);
    return 0;
}

CT_EXPORT int ct_pkt_rewrite_inner_port(struct ct_pkt *pkt, unsigned side, uint16_t port)
{
    int err = 0;
    uint8_t *d = writable_data(pkt, side, pkt, &err);
    if (!d)
        return err;
    int icsum = icmp_error_csum(pkt);
    if (icsum < 0)
        return icsum;
    const uint8_t proto = pkt->inner.proto;
    if (proto == CT_IPPROTO_SCTP)
        return -ENOTSUP;
    int off = ct_pkt_field_off(pkt, side == CT_PKT_SRC ? CT_PKT_FIELD_INNER_SRC_PORT
                                                       : CT_PKT_FIELD_INNER_DST_PORT);
    if (off < 0)
        return off;
    uint8_t old[2], new[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    memcpy(old, d + off, 2);
    icmp_change(d, (uint32_t)icsum, (uint32_t)off, new, 2);
    int coff = ct_pkt_field_off(pkt, CT_PKT_FIELD_INNER_L4_CSUM);
    if (coff >= 0)
        icmp_inner_csum(d, (uint32_t)icsum, (uint32_t)coff, old, new, 2, l4_kind(proto));
    if (side == CT_PKT_SRC)
        pkt->inner.sport = port;
    else
        pkt->inner.dport = port;
    return 0;
}
