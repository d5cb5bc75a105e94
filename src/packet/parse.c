/*
 * ct_pkt_parse(): one pass from the link-layer header to the transport
 * header.
 *
 * Two tiers: parse_fast() (at the end of the file) takes plain Ethernet,
 * at most one 802.1Q tag, IPv4 without options or fragmentation or IPv6
 * without extension headers, and TCP or UDP; everything else, and every
 * frame it is not sure of, goes to ct_pkt_parse_general(), which knows
 * every link type, header and option below. Both write the same
 * descriptor for the frames the fast path takes
 * (tests/unit/test_parse_fast.c).
 *
 * Every read goes through ct_pkt_span() against a limit that never exceeds
 * the captured length, so a frame cut anywhere yields a reason, never an
 * out-of-bounds read. Lengths carried in the IP header are checked against
 * the wire length (ct_frame.wire_len), headers against the captured length:
 * a capture cut short by a snap length still parses as long as its headers
 * were captured (pkt->snapped tells).
 *
 * The checks follow what Linux does before and inside nf_conntrack_in():
 * ip_rcv_core() / ipv6_rcv() for the IP headers, the l4proto error
 * callbacks for transport headers, and the ICMP error handling for
 * embedded packets. Facts are taken from the RFCs cited at each step.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "packet/encap.h"
#include "packet/packet_priv.h"

/* Most IPv6 extension headers walked before giving up (IP6_EXT_CHAIN). */
#define IP6_EXT_MAX 16

/* State shared by the parsing steps of one frame. */
struct pctx {
    const uint8_t *data;
    uint32_t len;  /* captured bytes */
    uint32_t wire; /* bytes on the wire (>= len) */
    unsigned flags; /* CT_PARSE_F_* */
    struct ct_pkt *pkt;
};

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static inline uint16_t sat16(uint32_t v)
{
    return v > 0xffffu ? 0xffffu : (uint16_t)v;
}

/* ---- IPv4 --------------------------------------------------------------------- */

/*
 * Checks the structure of an IPv4 option list (RFC 791 section 3.1): every
 * option but End of List and No Operation has a length byte of at least 2
 * that keeps it inside the header. For the options Linux validates in
 * ip_options_compile() the same bounds apply: record route and the source
 * routes (RFC 791) need a length of 3 or more and a pointer of 4 or more,
 * timestamp (RFC 791) a length of 4 and a pointer of 5 or more, router
 * alert (RFC 2113) a length of exactly 4. Returns 1 if well-formed.
 */
static int ip4_options_ok(const uint8_t *opt, uint32_t n)
{
    uint32_t i = 0;
    int srr = 0;
    while (i < n) {
        uint8_t type = opt[i];
        if (type == 0) /* end of option list */
            return 1;
        if (type == 1) { /* no operation */
            i++;
            continue;
        }
        if (n - i < 2)
            return 0;
        uint32_t ol = opt[i + 1];
        if (ol < 2 || ol > n - i)
            return 0;
        switch (type) {
        case 131: /* loose source route */
        case 137: /* strict source route */
            if (srr++)
                return 0; /* at most one source route */
            /* fall through */
        case 7: /* record route */
            if (ol < 3 || opt[i + 2] < 4)
                return 0;
            break;
        case 68: /* timestamp */
            if (ol < 4 || opt[i + 2] < 5)
                return 0;
            break;
        case 148: /* router alert */
            if (ol != 4)
                return 0;
            break;
        default:
            break;
        }
        i += ol;
    }
    return 1;
}

static uint16_t parse_l4(struct pctx *c, uint32_t l4, uint32_t ipend);

static uint16_t parse_ip4(struct pctx *c, uint32_t off)
{
    struct ct_pkt *pkt = c->pkt;
    const uint8_t *h = ct_pkt_span(c->data, c->len, off, 1);
    if (!h)
        return CT_REASON_IP_TRUNCATED;
    if ((h[0] >> 4) != 4)
        return CT_REASON_IP_VERSION;
    h = ct_pkt_span(c->data, c->len, off, 20);
    if (!h)
        return CT_REASON_IP_TRUNCATED;
    uint32_t hl = (h[0] & 0x0fu) * 4u;
    /* c->wire >= c->len >= off + 20 here. */
    if (hl < 20 || hl > c->wire - off)
        return CT_REASON_IP_HDR_LEN;
    uint32_t tot = ct_be16(h + 2);
    if (tot < hl || tot > c->wire - off)
        return CT_REASON_IP_TOTAL_LEN;
    if (!ct_pkt_span(c->data, c->len, off, hl))
        return CT_REASON_IP_TRUNCATED; /* inside the packet but not captured */
    if (!(c->flags & CT_PARSE_F_NO_IP_CHECKSUM) && ct_csum_fold(ct_csum_add(0, h, hl)) != 0xffff)
        return CT_REASON_IP_CHECKSUM;
    if (hl > 20 && !ip4_options_ok(h + 20, hl - 20))
        return CT_REASON_IP_OPTIONS;

    pkt->tuple.l3 = CT_L3_IPV4;
    pkt->tuple.proto = h[9];
    memcpy(pkt->tuple.src.b, h + 12, 4);
    memcpy(pkt->tuple.dst.b, h + 16, 4);
    pkt->l3_off = (uint16_t)off;
    pkt->l4_off = (uint16_t)(off + hl);
    pkt->ip_len = tot;
    pkt->l4_len = tot - hl;

    uint16_t fo = ct_be16(h + 6);
    uint32_t frag_off = (fo & 0x1fffu) * 8u;
    int mf = (fo & 0x2000u) != 0;
    if (frag_off || mf) {
        pkt->frag = frag_off ? CT_FRAG_LATER : CT_FRAG_FIRST;
        /* RFC 791: every fragment but the last carries a multiple of 8
           bytes, and no fragment reaches past 65535 bytes. */
        if ((mf && (pkt->l4_len & 7u)) || frag_off + pkt->l4_len > 65535u)
            return CT_REASON_FRAG_INVALID;
        return CT_REASON_FRAGMENT;
    }
    return parse_l4(c, off + hl, off + tot);
}

/* ---- IPv6 ---------------------------------------------------------------------- */

/* Result of walking an extension-header chain. */
enum walk_res {
    WALK_OK = 0,    /* reached an upper-layer header (or ESP / no next header) */
    WALK_TRUNC,     /* a header reaches past the limit */
    WALK_BAD,       /* a header is malformed */
    WALK_CHAIN,     /* more than IP6_EXT_MAX headers */
    WALK_FRAG,      /* a fragment header of a real fragment */
};

struct walk {
    uint32_t off;      /* offset of the header after the chain */
    uint8_t nh;        /* its protocol number */
    uint8_t frag;      /* enum ct_frag, with WALK_FRAG */
    uint8_t more;      /* M flag, with WALK_FRAG */
    uint8_t has_jumbo; /* a jumbo payload option was seen */
    uint32_t frag_off; /* fragment offset in bytes, with WALK_FRAG */
    uint32_t jumbo;    /* jumbo payload length (RFC 2675) */
};

/*
 * Checks the type-length-value options of a hop-by-hop or destination
 * options header (RFC 8200 section 4.2): Pad1 is one byte, every other
 * option a type, a length and that many bytes, all inside the header. A
 * jumbo payload option (RFC 2675, type 0xC2) must be in the hop-by-hop
 * header, 4 bytes long, and carry a length above 65535. Returns 1 if valid.
 */
static int ip6_tlvs_ok(const uint8_t *o, uint32_t n, int hbh, struct walk *w)
{
    uint32_t i = 0;
    while (i < n) {
        if (o[i] == 0) { /* Pad1 */
            i++;
            continue;
        }
        if (n - i < 2)
            return 0;
        uint32_t ol = o[i + 1];
        if (ol > n - i - 2)
            return 0;
        if (o[i] == 0xc2) {
            if (!hbh || ol != 4 || w->has_jumbo)
                return 0;
            w->jumbo = ct_be32(o + i + 2);
            w->has_jumbo = 1;
            if (w->jumbo <= 65535u)
                return 0;
        }
        i += 2 + ol;
    }
    return 1;
}

/*
 * Walks the IPv6 extension headers from `off` (next header `nh`) up to the
 * upper-layer header, reading nothing at or past `lim`. Extension headers
 * are those of RFC 8200 section 4 and RFC 7045: hop-by-hop (first only),
 * routing, fragment, destination options, authentication (RFC 4302, length
 * in 4-byte units plus 2), mobility (RFC 6275), HIP (RFC 7401) and shim6
 * (RFC 5533). ESP and "no next header" end the chain like an upper layer.
 * An atomic fragment (offset 0, M clear) is skipped as RFC 6946 asks.
 */
static enum walk_res ip6_walk(const uint8_t *data, uint32_t lim, uint32_t off, uint8_t nh, struct walk *w)
{
    for (unsigned n = 0;; n++) {
        const uint8_t *e;
        uint32_t hl;
        switch (nh) {
        case CT_IPPROTO_HOPOPTS:
        case CT_IPPROTO_DSTOPTS:
        case CT_IPPROTO_ROUTING:
        case CT_IPPROTO_MH:
        case CT_IPPROTO_HIP:
        case CT_IPPROTO_SHIM6:
            if (nh == CT_IPPROTO_HOPOPTS && n != 0)
                return WALK_BAD; /* RFC 8200 4.1: only right after the IPv6 header */
            break;
        case CT_IPPROTO_FRAGMENT:
        case CT_IPPROTO_AH:
            break;
        default:
            w->off = off;
            w->nh = nh;
            return WALK_OK;
        }
        if (n >= IP6_EXT_MAX)
            return WALK_CHAIN;
        e = ct_pkt_span(data, lim, off, 2);
        if (!e)
            return WALK_TRUNC;
        if (nh == CT_IPPROTO_FRAGMENT)
            hl = 8;
        else if (nh == CT_IPPROTO_AH)
            hl = ((uint32_t)e[1] + 2) * 4;
        else
            hl = ((uint32_t)e[1] + 1) * 8;
        e = ct_pkt_span(data, lim, off, hl);
        if (!e)
            return WALK_TRUNC;
        if ((nh == CT_IPPROTO_HOPOPTS || nh == CT_IPPROTO_DSTOPTS) &&
            !ip6_tlvs_ok(e + 2, hl - 2, nh == CT_IPPROTO_HOPOPTS, w))
            return WALK_BAD;
        if (nh == CT_IPPROTO_FRAGMENT) {
            uint16_t fo = ct_be16(e + 2);
            uint32_t frag_off = (uint32_t)(fo >> 3) * 8u;
            if (frag_off || (fo & 1u)) {
                w->off = off + hl;
                w->nh = e[0];
                w->frag = frag_off ? CT_FRAG_LATER : CT_FRAG_FIRST;
                w->more = fo & 1u;
                w->frag_off = frag_off;
                return WALK_FRAG;
            }
        }
        nh = e[0];
        off += hl;
    }
}

static void fill_addr6(struct ct_tuple *t, const uint8_t *h)
{
    t->l3 = CT_L3_IPV6;
    memcpy(t->src.b, h + 8, 16);
    memcpy(t->dst.b, h + 24, 16);
}

/*
 * RFC 8200 section 4.5 and RFC 7112: the first fragment must hold the whole
 * header chain, up to and including the upper-layer header (Linux checks
 * the TCP, UDP and ICMPv6 headers). Returns 0 only when the fragment, fully
 * captured, is known to fall short; a snapped capture cannot tell.
 */
static int first_frag_complete(const struct pctx *c, const struct walk *fw, uint32_t end)
{
    struct walk w = {0};
    uint32_t lim = min_u32(c->len, end);
    enum walk_res r = ip6_walk(c->data, lim, fw->off, fw->nh, &w);
    if (r == WALK_TRUNC)
        return lim < end;
    if (r != WALK_OK)
        return 1; /* another fragment header or a long chain: left to reassembly */
    uint32_t need = 1;
    if (w.nh == CT_IPPROTO_TCP)
        need = 20;
    else if (w.nh == CT_IPPROTO_UDP || w.nh == CT_IPPROTO_UDPLITE || w.nh == CT_IPPROTO_ICMPV6)
        need = 8;
    else if (w.nh == CT_IPPROTO_NONE)
        need = 0;
    return w.off <= end && need <= end - w.off;
}

static uint16_t parse_ip6(struct pctx *c, uint32_t off)
{
    struct ct_pkt *pkt = c->pkt;
    const uint8_t *h = ct_pkt_span(c->data, c->len, off, 1);
    if (!h)
        return CT_REASON_IP_TRUNCATED;
    if ((h[0] >> 4) != 6)
        return CT_REASON_IP_VERSION;
    h = ct_pkt_span(c->data, c->len, off, 40);
    if (!h)
        return CT_REASON_IP_TRUNCATED;
    uint32_t plen = ct_be16(h + 4);
    uint32_t room = c->wire - off - 40; /* wire bytes after the fixed header */
    if (plen > room)
        return CT_REASON_IP_TOTAL_LEN;
    /* A zero payload length is a jumbogram only with a hop-by-hop header
       (RFC 2675); otherwise the packet is empty, as Linux's ipv6_rcv()
       takes it (a Teredo bubble, RFC 4380, is one: next header 59). */
    int jumbo = plen == 0 && h[6] == CT_IPPROTO_HOPOPTS;

    fill_addr6(&pkt->tuple, h);
    pkt->l3_off = (uint16_t)off;
    /* A jumbogram's length is only known once the hop-by-hop header is read;
       walk it bounded by the frame, then check. */
    uint32_t end = off + 40 + (jumbo ? room : plen);
    struct walk w = {0};
    enum walk_res r = ip6_walk(c->data, min_u32(c->len, end), off + 40, h[6], &w);
    if (r == WALK_TRUNC || r == WALK_BAD)
        return CT_REASON_IP6_EXT_HDR;
    if (r == WALK_CHAIN)
        return CT_REASON_IP6_EXT_CHAIN;
    if (jumbo) {
        /* RFC 2675: a zero payload length needs a jumbo option. */
        if (!w.has_jumbo)
            return CT_REASON_IP_TOTAL_LEN;
        if (w.jumbo > room)
            return CT_REASON_IP_TOTAL_LEN;
        plen = w.jumbo;
        end = off + 40 + plen;
        if (w.off > end)
            return CT_REASON_IP6_EXT_HDR;
    } else if (w.has_jumbo) {
        return CT_REASON_IP6_EXT_HDR; /* RFC 2675: jumbo option with a payload length */
    }
    if (w.off > 0xffffu)
        return CT_REASON_IP6_EXT_CHAIN; /* offsets are 16-bit */

    pkt->tuple.proto = w.nh;
    pkt->l4_off = (uint16_t)w.off;
    pkt->ip_len = 40 + plen;
    pkt->l4_len = end - w.off;
    if (r == WALK_FRAG) {
        pkt->frag = w.frag;
        /* RFC 8200 section 4.5: a fragment that is not the last carries a
           multiple of 8 bytes; no fragment reaches past 65535 bytes. */
        if ((w.more && (pkt->l4_len & 7u)) || w.frag_off + pkt->l4_len > 65535u)
            return CT_REASON_FRAG_INVALID;
        if (w.frag == CT_FRAG_FIRST && !first_frag_complete(c, &w, end))
            return CT_REASON_FRAG_INVALID;
        return CT_REASON_FRAGMENT;
    }
    return parse_l4(c, w.off, end);
}

/* ---- transport ----------------------------------------------------------------- */

static void set_payload(struct ct_pkt *pkt, uint32_t off, uint32_t end)
{
    pkt->payload_off = (uint16_t)off;
    pkt->payload_len = end > off ? sat16(end - off) : 0;
}

/*
 * TCP (RFC 9293 section 3.1). Options (RFC 9293 3.2, RFC 7323, RFC 2018) are
 * read until End of List or until an option does not fit; like Linux's
 * tcp_parse_options() a malformed list is not an error, parsing just stops.
 * An option with an unexpected length is ignored.
 */
static void tcp_options(struct ct_pkt *pkt, const uint8_t *o, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t kind = o[i];
        if (kind == 0)
            return;
        if (kind == 1) {
            i++;
            continue;
        }
        if (n - i < 2)
            return;
        uint32_t ol = o[i + 1];
        if (ol < 2 || ol > n - i)
            return;
        const uint8_t *v = o + i + 2;
        switch (kind) {
        case 2:
            if (ol == 4) {
                pkt->tcp_opts |= CT_TCPOPT_MSS;
                pkt->tcp_mss = ct_be16(v);
            }
            break;
        case 3:
            if (ol == 3) {
                pkt->tcp_opts |= CT_TCPOPT_WSCALE;
                pkt->tcp_wscale = v[0] > 14 ? 14 : v[0]; /* RFC 7323 2.3 */
            }
            break;
        case 4:
            if (ol == 2)
                pkt->tcp_opts |= CT_TCPOPT_SACK_PERM;
            break;
        case 5:
            /* The tracker reads the blocks of the first SACK option only,
               and none when that one is malformed (ct_pkt_sack_blocks()
               checks its length); a later well-formed one still counts as
               seen. */
            if (pkt->tcp_sack_off == 0)
                pkt->tcp_sack_off = (uint8_t)(20 + i);
            if (ol >= 10 && (ol - 2) % 8 == 0)
                pkt->tcp_opts |= CT_TCPOPT_SACK;
            break;
        case 8:
            if (ol == 10)
                pkt->tcp_opts |= CT_TCPOPT_TIMESTAMP;
            break;
        default:
            break;
        }
        i += ol;
    }
}

static uint16_t parse_tcp(struct pctx *c, uint32_t l4, uint32_t lim)
{
    struct ct_pkt *pkt = c->pkt;
    if (pkt->l4_len < 20)
        return CT_REASON_L4_TRUNCATED;
    const uint8_t *h = ct_pkt_span(c->data, lim, l4, 20);
    if (!h)
        return CT_REASON_L4_TRUNCATED;
    uint32_t doff = (uint32_t)(h[12] >> 4) * 4u;
    if (doff < 20 || doff > pkt->l4_len)
        return CT_REASON_TCP_HDR_LEN;
    h = ct_pkt_span(c->data, lim, l4, doff);
    if (!h)
        return CT_REASON_L4_TRUNCATED;
    pkt->tuple.sport = ct_be16(h);
    pkt->tuple.dport = ct_be16(h + 2);
    pkt->seq = ct_be32(h + 4);
    pkt->ack = ct_be32(h + 8);
    pkt->tcp_flags = h[13];
    pkt->win = ct_be16(h + 14);
    pkt->tcp_hdr_len = (uint8_t)doff;
    if (doff > 20)
        tcp_options(pkt, h + 20, doff - 20);
    set_payload(pkt, l4 + doff, lim);
    return CT_REASON_NONE;
}

/*
 * UDP (RFC 768) and UDP-Lite (RFC 3828). The UDP length must hold the header
 * and fit in the IP payload; a shorter UDP length is accepted (bytes after
 * it are not payload), as Linux accepts it. For UDP-Lite the field is the
 * checksum coverage: 0 (everything) or 8 up to the IP payload length.
 */
static uint16_t parse_udp(struct pctx *c, uint32_t l4, uint32_t lim, int lite)
{
    struct ct_pkt *pkt = c->pkt;
    if (pkt->l4_len < 8)
        return CT_REASON_L4_TRUNCATED;
    const uint8_t *h = ct_pkt_span(c->data, lim, l4, 8);
    if (!h)
        return CT_REASON_L4_TRUNCATED;
    uint32_t ulen = ct_be16(h + 4);
    uint32_t end = l4 + pkt->l4_len;
    if (!lite) {
        if (ulen < 8 || ulen > pkt->l4_len)
            return CT_REASON_UDP_LEN;
        end = l4 + ulen;
    } else if (ulen != 0 && (ulen < 8 || ulen > pkt->l4_len)) {
        return CT_REASON_UDP_LEN;
    }
    uint16_t sp = ct_be16(h), dp = ct_be16(h + 2);
    pkt->tuple.sport = sp;
    pkt->tuple.dport = dp;
    /* Tunnels over UDP: VXLAN, Geneve, Teredo, GTP-U (encap.c). The ports
       are checked before the payload is set so that only one bit stays
       live, and the decoder is a tail call: plain UDP pays a few compares. */
    int tunnel = !lite && CT_UNLIKELY(ct_encap_udp_port(sp, dp));
    set_payload(pkt, l4 + 8, min_u32(lim, end));
    if (CT_UNLIKELY(tunnel))
        return ct_encap_udp(c->data, c->len, l4 + 8, end, pkt);
    return CT_REASON_NONE;
}

/*
 * SCTP (RFC 9260 section 3.1): the common header is 12 bytes, source and
 * destination ports first. A shorter packet is INVALID, as Linux's SCTP
 * tracker calls it. The chunks are the tracker's business (proto/sctp.c).
 * DCCP (RFC 4340) is not read: Linux 6.16 removed its DCCP tracker, so the
 * kernel keys DCCP by addresses only, like any other protocol.
 */
static uint16_t parse_sctp(struct pctx *c, uint32_t l4, uint32_t lim)
{
    struct ct_pkt *pkt = c->pkt;
    if (pkt->l4_len < 12)
        return CT_REASON_L4_TRUNCATED;
    const uint8_t *h = ct_pkt_span(c->data, lim, l4, 12);
    if (!h)
        return CT_REASON_L4_TRUNCATED;
    pkt->tuple.sport = ct_be16(h);
    pkt->tuple.dport = ct_be16(h + 2);
    set_payload(pkt, l4 + 12, lim);
    return CT_REASON_NONE;
}

/* GRE's PPP protocol type, carried by enhanced GRE (RFC 2637 section 4.1). */
#define GRE_PROTO_PPP 0x880bu

/*
 * The keys of a GRE packet as Linux's GRE tracker takes them: version 0
 * (RFC 2784, RFC 2890) has none, its key field notwithstanding. Version 1,
 * PPTP's enhanced GRE (RFC 2637 section 4.1), carries its call ID at bytes
 * 6-7, which becomes the destination key (the source key would come from a
 * PPTP helper, which ctrack does not have). A header too short to hold the
 * version, or a version 1 header too short to hold the call ID, leaves the
 * keys zero, as in Linux; a version 1 packet whose protocol type is not PPP
 * has no tuple there and is INVALID (gre-proto). `t` gets the keys; `len`
 * is the length of the GRE packet from the IP header, `lim` bounds the
 * reads. Returns CT_REASON_NONE, CT_REASON_GRE_PROTO, or -1 when the bytes
 * that decide were not captured.
 */
static int gre_keys(const uint8_t *data, uint32_t lim, uint32_t off, uint32_t len, struct ct_tuple *t)
{
    if (len < 4)
        return CT_REASON_NONE;
    const uint8_t *h = ct_pkt_span(data, lim, off, 4);
    if (!h)
        return -1;
    if ((ct_be16(h) & 0x7u) != 1 || len < 8)
        return CT_REASON_NONE;
    h = ct_pkt_span(data, lim, off, 8);
    if (!h)
        return -1;
    if (ct_be16(h + 2) != GRE_PROTO_PPP)
        return CT_REASON_GRE_PROTO;
    t->sport = 0;
    t->dport = ct_be16(h + 6);
    return CT_REASON_NONE;
}

/*
 * The packet embedded in an ICMP or ICMPv6 error (RFC 792: its IP header and
 * at least the first 8 bytes of its data; RFC 4443 2.4: as much as fits).
 * Fills pkt->inner with its tuple as it was sent. `lim` bounds the reads to
 * the ICMP message's captured bytes.
 */
static uint16_t parse_inner(struct pctx *c, uint32_t off, uint32_t lim, int v6)
{
    struct ct_pkt *pkt = c->pkt;
    struct ct_tuple *t = &pkt->inner;
    uint32_t l4;
    uint8_t proto;

    if (!v6) {
        const uint8_t *h = ct_pkt_span(c->data, lim, off, 20);
        if (!h)
            return CT_REASON_ICMP_TRUNCATED;
        uint32_t hl = (h[0] & 0x0fu) * 4u;
        /* The quoted total length is not checked: the quote may be cut,
           and some stacks quote it in host byte order (Linux ignores it). */
        if ((h[0] >> 4) != 4 || hl < 20)
            return CT_REASON_ICMP_INNER_INVALID;
        if (ct_be16(h + 6) & 0x1fffu)
            return CT_REASON_ICMP_INNER_INVALID; /* no transport header to match */
        if (!ct_pkt_span(c->data, lim, off, hl))
            return CT_REASON_ICMP_TRUNCATED;
        t->l3 = CT_L3_IPV4;
        memcpy(t->src.b, h + 12, 4);
        memcpy(t->dst.b, h + 16, 4);
        proto = h[9];
        l4 = off + hl;
    } else {
        const uint8_t *h = ct_pkt_span(c->data, lim, off, 40);
        if (!h)
            return CT_REASON_ICMP_TRUNCATED;
        if ((h[0] >> 4) != 6)
            return CT_REASON_ICMP_INNER_INVALID;
        struct walk w = {0};
        switch (ip6_walk(c->data, lim, off + 40, h[6], &w)) {
        case WALK_OK:
            break;
        case WALK_TRUNC:
            return CT_REASON_ICMP_TRUNCATED;
        case WALK_FRAG:
            if (w.frag == CT_FRAG_LATER)
                return CT_REASON_ICMP_INNER_INVALID;
            break;
        default:
            return CT_REASON_ICMP_INNER_INVALID;
        }
        fill_addr6(t, h);
        proto = w.nh;
        l4 = w.off;
    }
    if (l4 > 0xffffu)
        return CT_REASON_ICMP_INNER_INVALID;
    t->proto = proto;
    pkt->inner_l3_off = (uint16_t)off;
    pkt->inner_l4_off = (uint16_t)l4;

    const uint8_t *th = NULL;
    int icmp = (!v6 && proto == CT_IPPROTO_ICMP) || (v6 && proto == CT_IPPROTO_ICMPV6);
    if (icmp || proto == CT_IPPROTO_TCP || proto == CT_IPPROTO_UDP || proto == CT_IPPROTO_UDPLITE) {
        th = ct_pkt_span(c->data, lim, l4, 8);
        if (!th)
            return CT_REASON_ICMP_TRUNCATED;
    }
    if (icmp) {
        if (ct_icmp_flags(v6, th[0]) & CT_ICMPF_ERROR)
            return CT_REASON_ICMP_NESTED;
        t->sport = ct_be16(th + 4);
        t->dport = (uint16_t)(th[0] << 8 | th[1]);
    } else if (th) {
        t->sport = ct_be16(th);
        t->dport = ct_be16(th + 2);
    } else if (proto == CT_IPPROTO_SCTP) {
        /* The ports are all Linux reads of a quoted SCTP header. */
        th = ct_pkt_span(c->data, lim, l4, 4);
        if (!th)
            return CT_REASON_ICMP_TRUNCATED;
        t->sport = ct_be16(th);
        t->dport = ct_be16(th + 2);
    } else if (proto == CT_IPPROTO_GRE) {
        /* Keys from what was quoted: a quote too short for them leaves them
           zero, as Linux reads it; a quoted version 1 packet without PPP
           has no tuple. */
        if (gre_keys(c->data, lim, l4, lim > l4 ? lim - l4 : 0, t) == CT_REASON_GRE_PROTO)
            return CT_REASON_ICMP_INNER_INVALID;
    }
    pkt->inner_ok = 1;
    return CT_REASON_NONE;
}

/*
 * ICMP (RFC 792) and ICMPv6 (RFC 4443). Queries and other informational
 * messages get the identifier as source "port" and type << 8 | code as
 * destination "port"; errors keep ports 0 and carry the embedded packet.
 */
static uint16_t parse_icmp(struct pctx *c, uint32_t l4, uint32_t lim, int v6)
{
    struct ct_pkt *pkt = c->pkt;
    /* The ICMP header is 8 bytes (RFC 792, RFC 4443); other informational
       messages are accepted from 4 bytes (type, code, checksum). */
    uint32_t hl = pkt->l4_len < 8 ? pkt->l4_len : 8;
    if (hl < 4)
        return CT_REASON_L4_TRUNCATED;
    const uint8_t *h = ct_pkt_span(c->data, lim, l4, hl);
    if (!h)
        return CT_REASON_L4_TRUNCATED;
    uint8_t type = h[0], code = h[1];
    pkt->icmp_type = type;
    pkt->icmp_code = code;
    unsigned cls = ct_icmp_flags(v6, type);
    int err = (cls & CT_ICMPF_ERROR) != 0;
    if ((cls & (CT_ICMPF_ERROR | CT_ICMPF_QUERY)) && hl < 8)
        return CT_REASON_L4_TRUNCATED;
    set_payload(pkt, l4 + hl, lim);
    if (err) {
        pkt->icmp_is_error = 1;
        return parse_inner(c, l4 + 8, lim, v6);
    }
    pkt->tuple.sport = hl >= 6 ? ct_be16(h + 4) : 0;
    pkt->tuple.dport = (uint16_t)(type << 8 | code);
    return CT_REASON_NONE;
}

/* Dispatches on the transport protocol; `ipend` is where the IP packet ends. */
static uint16_t parse_l4(struct pctx *c, uint32_t l4, uint32_t ipend)
{
    struct ct_pkt *pkt = c->pkt;
    uint32_t lim = min_u32(c->len, ipend); /* Ethernet padding is not payload */
    int v6 = pkt->tuple.l3 == CT_L3_IPV6;
    switch (pkt->tuple.proto) {
    case CT_IPPROTO_TCP:
        return parse_tcp(c, l4, lim);
    case CT_IPPROTO_UDP:
        return parse_udp(c, l4, lim, 0);
    case CT_IPPROTO_UDPLITE:
        return parse_udp(c, l4, lim, 1);
    case CT_IPPROTO_ICMP:
        if (!v6)
            return parse_icmp(c, l4, lim, 0);
        break;
    case CT_IPPROTO_ICMPV6:
        if (v6)
            return parse_icmp(c, l4, lim, 1);
        break;
    case CT_IPPROTO_SCTP:
        return parse_sctp(c, l4, lim);
    case CT_IPPROTO_GRE: {
        int r = gre_keys(c->data, lim, l4, pkt->l4_len, &pkt->tuple);
        if (r != CT_REASON_NONE)
            return r < 0 ? CT_REASON_L4_TRUNCATED : (uint16_t)r;
        break;
    }
    default:
        break;
    }
    set_payload(pkt, l4, lim);
    /* IP in IP and GRE (encap.c), as a tail call. */
    if (CT_UNLIKELY(pkt->tuple.proto == CT_IPPROTO_IPIP || pkt->tuple.proto == CT_IPPROTO_IPV6 ||
                    pkt->tuple.proto == CT_IPPROTO_GRE))
        return ct_encap_ip(c->data, c->len, l4, ipend, pkt);
    return CT_REASON_NONE;
}

/* ---- link layer ---------------------------------------------------------------- */

/* Dispatches on an IP version: 4, 6, or 0 for "from the first nibble". */
static uint16_t parse_ip(struct pctx *c, uint32_t off, unsigned ver)
{
    if (ver == 0) {
        const uint8_t *b = ct_pkt_span(c->data, c->len, off, 1);
        if (!b)
            return CT_REASON_IP_TRUNCATED;
        ver = b[0] >> 4;
        if (ver != 4 && ver != 6)
            return CT_REASON_IP_VERSION;
    }
    return ver == 4 ? parse_ip4(c, off) : parse_ip6(c, off);
}

/*
 * An MPLS label stack (RFC 3032 section 2.1): 4-byte entries down to the one
 * with the bottom-of-stack bit. The stack does not say what it carries; as
 * Zeek and Wireshark do, the first nibble after it picks IPv4 or IPv6, and
 * anything else (a pseudowire control word, RFC 4385) is not IP.
 */
static uint16_t parse_mpls(struct pctx *c, uint32_t off)
{
    struct ct_pkt *pkt = c->pkt;
    for (;;) {
        const uint8_t *e = ct_pkt_span(c->data, c->len, off, 4);
        if (!e)
            return CT_REASON_L2_TRUNCATED;
        if (pkt->nmpls < 255)
            pkt->nmpls++;
        off += 4;
        if (e[2] & 1u)
            break;
    }
    const uint8_t *b = ct_pkt_span(c->data, c->len, off, 1);
    if (!b)
        return CT_REASON_L2_TRUNCATED;
    unsigned ver = b[0] >> 4;
    if (ver != 4 && ver != 6)
        return CT_REASON_NOT_IP;
    return parse_ip(c, off, ver);
}

/*
 * A PPPoE session frame (RFC 2516 section 4): version and type 0x11, code
 * 0, session ID, length, then a PPP protocol number (RFC 1661; 0x0021 IPv4,
 * 0x0057 IPv6, RFC 5072). Other PPP protocols (LCP, IPCP...) are not IP.
 */
static uint16_t parse_pppoe(struct pctx *c, uint32_t off)
{
    const uint8_t *h = ct_pkt_span(c->data, c->len, off, 8);
    if (!h)
        return CT_REASON_L2_TRUNCATED;
    if (h[0] != 0x11 || h[1] != 0)
        return CT_REASON_NOT_IP;
    uint16_t proto = ct_be16(h + 6);
    if (proto == CT_PPP_PROTO_IPV4)
        return parse_ip(c, off + 8, 4);
    if (proto == CT_PPP_PROTO_IPV6)
        return parse_ip(c, off + 8, 6);
    return CT_REASON_NOT_IP;
}

/*
 * Follows an EtherType through stacked VLAN tags: 802.1Q (0x8100),
 * 802.1ad (0x88a8) and the pre-standard 0x9100, each 4 bytes of TCI and
 * inner EtherType. Records up to CT_PKT_MAX_VLANS VLAN IDs, outermost first.
 */
static uint16_t parse_ethertype(struct pctx *c, uint32_t off, uint16_t type)
{
    struct ct_pkt *pkt = c->pkt;
    while (type == CT_ETH_P_8021Q || type == CT_ETH_P_8021AD || type == CT_ETH_P_QINQ_OLD) {
        if (pkt->nvlan == CT_PKT_MAX_VLANS)
            return CT_REASON_VLAN_TOO_DEEP;
        const uint8_t *t = ct_pkt_span(c->data, c->len, off, 4);
        if (!t)
            return CT_REASON_L2_TRUNCATED;
        pkt->vlan[pkt->nvlan++] = ct_be16(t) & 0x0fffu;
        type = ct_be16(t + 2);
        off += 4;
    }
    if (type == CT_ETH_P_IPV4)
        return parse_ip(c, off, 4);
    if (type == CT_ETH_P_IPV6)
        return parse_ip(c, off, 6);
    if (type == CT_ETH_P_MPLS_UC || type == CT_ETH_P_MPLS_MC)
        return parse_mpls(c, off);
    if (type == CT_ETH_P_PPPOE_SESS)
        return parse_pppoe(c, off);
    return CT_REASON_NOT_IP;
}

/* BSD loopback address families: AF_INET, and AF_INET6 as BSDs number it. */
static unsigned null_family_version(uint32_t fam)
{
    if (fam == 2)
        return 4;
    if (fam == 24 || fam == 28 || fam == 30)
        return 6;
    return 0;
}

/*
 * The general parser: every link type, header and option the module knows.
 * ct_pkt_parse_flags() comes here when the fast path below declines a frame.
 */
void ct_pkt_parse_general(const struct ct_frame *frame, struct ct_pkt *pkt, unsigned flags)
{
    memset(pkt, 0, sizeof(*pkt));
    struct pctx c;
    c.flags = flags;
    c.data = frame->data;
    c.len = frame->data ? frame->len : 0;
    c.wire = frame->wire_len > c.len ? frame->wire_len : c.len;
    c.pkt = pkt;
    pkt->data = c.data;
    pkt->len = c.len;
    pkt->snapped = c.len < c.wire;
    pkt->frame_flags = (uint8_t)frame->flags;
    pkt->mark = frame->mark;
    memcpy(&pkt->iif, &frame->iif, 4); /* iif, tmpl, reserved */
    pkt->tuple.zone = frame->zone;
    pkt->inner.zone = frame->zone;

    const uint8_t *h;
    uint16_t r;
    switch (frame->link) {
    case CT_LINK_ETHERNET:
        h = ct_pkt_span(c.data, c.len, 0, 14);
        r = h ? parse_ethertype(&c, 14, ct_be16(h + 12)) : CT_REASON_L2_TRUNCATED;
        break;
    case CT_LINK_LINUX_SLL:
        /* packet type, ARPHRD type, address length, 8 address bytes, protocol */
        h = ct_pkt_span(c.data, c.len, 0, 16);
        r = h ? parse_ethertype(&c, 16, ct_be16(h + 14)) : CT_REASON_L2_TRUNCATED;
        break;
    case CT_LINK_LINUX_SLL2:
        /* protocol, reserved, interface index, ARPHRD type, packet type,
           address length, 8 address bytes */
        h = ct_pkt_span(c.data, c.len, 0, 20);
        r = h ? parse_ethertype(&c, 20, ct_be16(h)) : CT_REASON_L2_TRUNCATED;
        break;
    case CT_LINK_RAW:
        r = parse_ip(&c, 0, 0);
        break;
    case CT_LINK_IPV4:
        r = parse_ip4(&c, 0);
        break;
    case CT_LINK_IPV6:
        r = parse_ip6(&c, 0);
        break;
    case CT_LINK_NULL:
    case CT_LINK_LOOP: {
        h = ct_pkt_span(c.data, c.len, 0, 4);
        if (!h) {
            r = CT_REASON_L2_TRUNCATED;
            break;
        }
        uint32_t fam;
        if (frame->link == CT_LINK_LOOP) {
            fam = ct_be32(h);
        } else {
            /* Host order of the capturing machine, which may not be ours:
               the families are small, so a value with the upper half set
               is the other byte order (as tcpdump reads it). */
            memcpy(&fam, h, 4);
            if (fam & 0xffff0000u)
                fam = __builtin_bswap32(fam);
        }
        unsigned ver = null_family_version(fam);
        r = ver ? parse_ip(&c, 4, ver) : CT_REASON_NOT_IP;
        break;
    }
    default:
        r = CT_REASON_LINK_UNSUPPORTED;
        break;
    }
    pkt->reason = r;
}

/* ---- fast path ------------------------------------------------------------------ */

/*
 * The frames a dataplane sees nearly all the time: Ethernet II with at most
 * one 802.1Q tag; IPv4 with a 20-byte header (IHL 5, no options) that is
 * not a fragment, or IPv6 whose first next header is TCP or UDP (no
 * extension headers); a TCP header, options included, or a UDP header on
 * ports that carry no tunnel; every header captured. The checks are the
 * general parser's on the same path. Wherever that parser would give a
 * reason, or go down a branch this one does not have, the fast path
 * declines and the general parser starts over, so that the descriptor is
 * the same byte for byte (tests/unit/test_parse_fast.c holds the two to
 * it). Each header is read once, from a pointer bounded by one length check
 * per layer; lengths are computed once; the descriptor is written field by
 * field, with only the ICMP and tunnel fields, which this path never sets,
 * zeroed as one block.
 */
static CT_ALWAYS_INLINE int parse_fast(const struct ct_frame *frame, struct ct_pkt *pkt,
                                                            unsigned flags)
{
    const uint8_t *d = frame->data;
    const uint32_t len = frame->len;
    /* Ethernet, IPv4 and UDP headers: the shortest frame taken. */
    if (frame->link != CT_LINK_ETHERNET || CT_UNLIKELY(d == NULL) || len < 14 + 20 + 8)
        return 0;
    const uint32_t wire = frame->wire_len > len ? frame->wire_len : len;
    /* What comes from the frame is written first, so that the frame is no
       longer needed. */
    pkt->data = d;
    pkt->len = len;
    pkt->reason = CT_REASON_NONE;
    pkt->frag = CT_FRAG_NONE;
    pkt->snapped = len < wire;
    pkt->frame_flags = (uint8_t)frame->flags;
    pkt->tcp_sack_off = 0;
    pkt->writable = 0;
    pkt->mark = frame->mark;
    pkt->tuple.zone = frame->zone;
    memset(&pkt->icmp_type, 0, offsetof(struct ct_pkt, iif) - offsetof(struct ct_pkt, icmp_type));
    pkt->inner.zone = frame->zone;
    {
        /* iif, tmpl and reserved in one word, and the padding after them. */
        uint32_t w;
        memcpy(&w, &frame->iif, 4);
        uint64_t w64 = w;
        memcpy(&pkt->iif, &w64, 8);
    }

    /* One 802.1Q tag or none, without a branch: bytes 14 to 17 are
       captured either way. */
    const unsigned tagged = ct_be16(d + 12) == CT_ETH_P_8021Q;
    const uint32_t off = 14 + 4 * tagged;
    const uint16_t type = ct_be16(d + off - 2);
    if (len < off + 20 + 8)
        return 0;
    pkt->nvlan = (uint8_t)tagged;
    pkt->vlan[0] = tagged ? ct_be16(d + 14) & 0x0fffu : 0;
    pkt->vlan[1] = 0;
    pkt->vlan[2] = 0;
    pkt->vlan[3] = 0;
    const uint8_t *h = d + off;
    uint32_t ip_len, l4_len, l4;
    uint8_t proto;
    if (type == CT_ETH_P_IPV4) {
        /* Version 4 and IHL 5 in one byte; the 20 bytes are captured
           (len >= off + 28). A total length from 20 to the bytes on the
           wire; RFC 791: no MF flag, no fragment offset. */
        ip_len = ct_be16(h + 2);
        proto = h[9];
        if (h[0] != 0x45 || ip_len - 20 > wire - off - 20 || (ct_be16(h + 6) & 0x3fffu) != 0 ||
            (proto != CT_IPPROTO_TCP && proto != CT_IPPROTO_UDP))
            return 0;
        if (!(flags & CT_PARSE_F_NO_IP_CHECKSUM) && !ct_ip4_hdr20_csum_ok(h))
            return 0;
        l4 = off + 20;
        l4_len = ip_len - 20;
        memcpy(pkt->tuple.src.b, h + 12, 4);
        memset(pkt->tuple.src.b + 4, 0, 12);
        memcpy(pkt->tuple.dst.b, h + 16, 4);
        memset(pkt->tuple.dst.b + 4, 0, 12);
        pkt->tuple.l3 = CT_L3_IPV4;
    } else if (type == CT_ETH_P_IPV6) {
        /* The 40 bytes and 8 more are captured; the wire holds the
           payload length (RFC 8200 section 3). */
        if (len < off + 40 + 8)
            return 0;
        l4_len = ct_be16(h + 4);
        proto = h[6];
        if ((h[0] >> 4) != 6 || l4_len > wire - off - 40 ||
            (proto != CT_IPPROTO_TCP && proto != CT_IPPROTO_UDP))
            return 0;
        l4 = off + 40;
        ip_len = 40 + l4_len;
        memcpy(pkt->tuple.src.b, h + 8, 16);
        memcpy(pkt->tuple.dst.b, h + 24, 16);
        pkt->tuple.l3 = CT_L3_IPV6;
    } else {
        return 0;
    }
    pkt->tuple.proto = proto;
    /* Offsets fit in 16 bits: at most 18 + 40 + 60. */
    pkt->l3_off = (uint16_t)off;
    pkt->l4_off = (uint16_t)l4;
    pkt->ip_len = ip_len;
    pkt->l4_len = l4_len;
    /* The segment's bytes that were captured, up to the end of the IP
       packet (Ethernet padding is not payload): at least 8 (len >= l4 + 8),
       at most l4_len. */
    const uint32_t avail = min_u32(len, l4 + l4_len) - l4;
    const uint8_t *t = d + l4;
    pkt->tcp_opts = 0;
    pkt->tcp_wscale = 0;
    pkt->tcp_mss = 0;
    if (proto == CT_IPPROTO_TCP) {
        /* RFC 9293 section 3.1: a data offset of 5 to 15 words, inside the
           segment and captured. */
        if (avail < 20)
            return 0;
        uint32_t doff = (uint32_t)(t[12] >> 4) * 4u;
        if (doff < 20 || doff > avail)
            return 0;
        pkt->tuple.sport = ct_be16(t);
        pkt->tuple.dport = ct_be16(t + 2);
        pkt->seq = ct_be32(t + 4);
        pkt->ack = ct_be32(t + 8);
        pkt->win = ct_be16(t + 14);
        pkt->tcp_flags = t[13];
        pkt->tcp_hdr_len = (uint8_t)doff;
        /* The payload length is below 65536, as the IP length is. */
        pkt->payload_off = (uint16_t)(l4 + doff);
        pkt->payload_len = (uint16_t)(avail - doff);
        if (doff > 20)
            tcp_options(pkt, t + 20, doff - 20);
        return 1;
    }
    /* RFC 768: a UDP length from 8 to the IP payload length. */
    uint32_t ulen = ct_be16(t + 4);
    uint16_t sp = ct_be16(t), dp = ct_be16(t + 2);
    if (ulen < 8 || ulen > l4_len || CT_UNLIKELY(ct_encap_udp_port(sp, dp)))
        return 0;
    pkt->tuple.sport = sp;
    pkt->tuple.dport = dp;
    pkt->seq = 0;
    pkt->ack = 0;
    pkt->win = 0;
    pkt->tcp_flags = 0;
    pkt->tcp_hdr_len = 0;
    pkt->payload_off = (uint16_t)(l4 + 8);
    pkt->payload_len = (uint16_t)(min_u32(avail, ulen) - 8);
    return 1;
}

int ct_pkt_parse_fast(const struct ct_frame *frame, struct ct_pkt *pkt, unsigned flags)
{
    return parse_fast(frame, pkt, flags);
}

CT_EXPORT void ct_pkt_parse(const struct ct_frame *frame, struct ct_pkt *pkt)
{
    if (CT_LIKELY(parse_fast(frame, pkt, 0)))
        return;
    ct_pkt_parse_general(frame, pkt, 0);
}

CT_EXPORT void ct_pkt_parse_flags(const struct ct_frame *frame, struct ct_pkt *pkt, unsigned flags)
{
    if (CT_LIKELY(parse_fast(frame, pkt, flags)))
        return;
    ct_pkt_parse_general(frame, pkt, flags);
}

/* The parser copies iif, tmpl and reserved as one word from the frame to
 * the descriptor. */
_Static_assert(offsetof(struct ct_frame, tmpl) == offsetof(struct ct_frame, iif) + 2 &&
                   offsetof(struct ct_frame, reserved) == offsetof(struct ct_frame, iif) + 3 &&
                   offsetof(struct ct_pkt, tmpl) == offsetof(struct ct_pkt, iif) + 2 &&
                   offsetof(struct ct_pkt, reserved) == offsetof(struct ct_pkt, iif) + 3 &&
                   offsetof(struct ct_pkt, pad2) == offsetof(struct ct_pkt, iif) + 4 &&
                   sizeof(struct ct_pkt) == offsetof(struct ct_pkt, pad2) + 4,
               "iif, tmpl and reserved lie alike in frames and descriptors, at the end of both");

CT_EXPORT void ct_pkt_parse_rw(const struct ct_frame_rw *frame, struct ct_pkt *pkt, unsigned flags)
{
    /* The same fields, read-only: the parser never writes into a frame. */
    const struct ct_frame ro = {
        .data = frame->data,
        .len = frame->len,
        .wire_len = frame->wire_len,
        .link = frame->link,
        .zone = frame->zone,
        .mark = frame->mark,
        .flags = frame->flags,
        .iif = frame->iif,
        .tmpl = frame->tmpl,
        .reserved = frame->reserved,
    };
    if (!parse_fast(&ro, pkt, flags))
        ct_pkt_parse_general(&ro, pkt, flags);
    pkt->writable = 1;
}
