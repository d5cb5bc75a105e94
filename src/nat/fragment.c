/*
 * Translating the fragments of a reassembled datagram (ct_nat_fragment()).
 *
 * Linux tracks and translates the datagram nf_defrag put together, and
 * when it forwards it, ip_do_fragment() (IPv4) and ip6_fragment() (IPv6)
 * cut it again at the largest fragment size that arrived (IPCB's and
 * IP6CB's frag_max_size). When the fragments that arrived were all of one
 * size but the last, the pieces that leave are those fragments as they
 * came, with the translation applied. ct_nat_fragment() makes exactly that
 * piece out of one original fragment: it is the slice of the translated
 * datagram the fragment held, under the fragment's own header with the
 * translated addresses.
 *
 * Where the slice lies: RFC 791 section 3.2 and RFC 8200 section 4.5 count
 * a fragment's offset from the end of the unfragmentable part, which is
 * the first fragment's IPv4 header (options included) or its IPv6 header
 * with the extension headers before the fragment header. The reassembled
 * datagram carries that part in front (ctrack/defrag.h), so for IPv4 the
 * datagram's own header length gives it; for IPv6 the first fragment
 * shows it (everything before its fragment header), and for a later
 * fragment the datagram's chain does: RFC 8200 puts the Hop-by-Hop
 * Options, a Routing header and the Destination Options before one in the
 * unfragmentable part, the same rule Linux's ip6_find_1stfragopt() follows
 * when it fragments at output.
 *
 * Before anything is written the fragment's data is compared with the
 * datagram before translation at that place: a fragment of another
 * datagram (or of an earlier one with the same identification) never
 * receives bytes that are not its own. Only bytes that NAT changed differ
 * between the two datagrams (addresses in the header, and in the slice the
 * transport header's ports, echo identifier and checksum, or the quoted
 * packet of an ICMP error), so copying the translated slice writes those
 * and leaves every other byte as it was.
 */
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "ctrack/nat.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "packet/packet_priv.h"

/* IPv6 extension headers that may precede a fragment header. */
enum {
    NH_HOPOPTS = 0,
    NH_ROUTING = 43,
    NH_DSTOPTS = 60,
};

/*
 * The unfragmentable part of the IPv6 datagram `d` (len bytes): the fixed
 * header, then Hop-by-Hop Options, Destination Options followed by a
 * Routing header, and the Routing header (RFC 8200 section 4.5). Returns
 * its length, or 0 when the chain runs past the datagram.
 */
static uint32_t ip6_unfrag_len(const uint8_t *d, uint32_t len)
{
    uint32_t off = 40, end = 40;
    uint8_t nh = d[6];
    while (nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_DSTOPTS) {
        if (off + 8 > len)
            return 0;
        uint32_t hl = (d[off + 1] + 1u) * 8u;
        if (off + hl > len)
            return 0;
        if (nh != NH_DSTOPTS)
            end = off + hl; /* a Destination Options header counts only before Routing */
        nh = d[off];
        off += hl;
    }
    return end;
}

/*
 * Replaces the n bytes (n even, at an even distance from the header's
 * start) at `p` with those at `v` and updates the one's complement
 * checksum at `csum` that covers them: RFC 1624 equation 3,
 * HC' = ~(~HC + ~m + m'), 16 bits at a time.
 */
static void replace_csummed(uint8_t *csum, uint8_t *p, const uint8_t *v, unsigned n)
{
    uint32_t sum = (uint16_t)~ct_be16(csum);
    for (unsigned i = 0; i < n; i += 2)
        sum += (uint16_t)~ct_be16(p + i) + (uint32_t)ct_be16(v + i);
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    csum[0] = (uint8_t)(c >> 8);
    csum[1] = (uint8_t)c;
    memcpy(p, v, n);
}

CT_EXPORT int ct_nat_fragment(struct ct_frame_rw *frag, const struct ct_frame *before,
                              const struct ct_frame *after)
{
    if (!frag || !frag->data || !before || !before->data || !after || !after->data)
        return -EINVAL;
    if (before->link != after->link || before->len != after->len)
        return -EINVAL;
    int v6;
    if (before->link == CT_LINK_IPV4)
        v6 = 0;
    else if (before->link == CT_LINK_IPV6)
        v6 = 1;
    else
        return -EINVAL;
    const uint8_t *b = before->data, *a = after->data;
    uint32_t blen = before->len;

    /* The datagram: a whole IP packet with its header where it says. */
    uint32_t dhl;
    if (!v6) {
        if (blen < 20 || (b[0] >> 4) != 4 || (a[0] >> 4) != 4)
            return -EINVAL;
        dhl = (b[0] & 15u) * 4u;
        if (dhl < 20 || dhl > blen || ct_be16(b + 2) != blen)
            return -EINVAL;
    } else {
        if (blen < 40 || (b[0] >> 4) != 6 || (a[0] >> 4) != 6 || 40u + ct_be16(b + 4) != blen)
            return -EINVAL;
        dhl = 0; /* from the fragment below */
    }

    /* The fragment: parsed where its link layer says, captured whole. */
    struct ct_pkt pkt;
    ct_pkt_parse_rw(frag, &pkt, CT_PARSE_F_NO_IP_CHECKSUM);
    if (pkt.snapped)
        return -ENOENT;
    if (pkt.frag == CT_FRAG_NONE || pkt.reason != CT_REASON_FRAGMENT ||
        pkt.tuple.l3 != (v6 ? CT_L3_IPV6 : CT_L3_IPV4))
        return -EINVAL;
    uint32_t l3 = pkt.l3_off, l4 = pkt.l4_off, dlen = pkt.l4_len;
    if (l3 > frag->len || pkt.ip_len > frag->len - l3)
        return -ENOENT;
    if (l4 < l3 || l4 - l3 > pkt.ip_len || dlen != pkt.ip_len - (l4 - l3))
        return -EINVAL;
    uint8_t *h = frag->data + l3;
    uint32_t off;
    if (!v6) {
        if (l4 - l3 < 20 || ct_be16(h + 4) != ct_be16(b + 4) || h[9] != b[9])
            return -EINVAL;
        off = (ct_be16(h + 6) & 0x1fffu) * 8u;
    } else {
        if (l4 - l3 < 48)
            return -EINVAL;
        off = ct_be16(frag->data + l4 - 6) & 0xfff8u;
        dhl = off == 0 ? l4 - 8 - l3 : ip6_unfrag_len(b, blen);
        if (dhl == 0 || dhl > blen)
            return -EINVAL;
    }
    uint32_t aoff = v6 ? 8 : 12; /* source and destination addresses */
    uint32_t alen = v6 ? 32 : 8;
    if (memcmp(h + aoff, b + aoff, alen) != 0)
        return -EINVAL;
    if (off > blen - dhl || dlen > blen - dhl - off)
        return -EINVAL;
    uint8_t *data = frag->data + l4;
    const uint8_t *slice_b = b + dhl + off, *slice_a = a + dhl + off;
    if (memcmp(data, slice_b, dlen) != 0)
        return -EINVAL;

    /* Everything is checked: write the translation. */
    int changed = 0;
    if (memcmp(h + aoff, a + aoff, alen) != 0) {
        if (!v6)
            replace_csummed(h + 10, h + aoff, a + aoff, alen);
        else
            memcpy(h + aoff, a + aoff, alen);
        changed = 1;
    }
    if (memcmp(data, slice_a, dlen) != 0) {
        memcpy(data, slice_a, dlen);
        changed = 1;
    }
    return changed;
}
