/*
 * Translating packets of NATed connections in the caller's frames
 * (ct_nat_rewrite(), and ct_process_burst_rw() through
 * ct_nat_rewrite_burst()).
 *
 * What a packet becomes follows Linux's nf_nat_packet() and
 * nf_nat_icmp_reply_translation() (net/netfilter/nf_nat_core.c,
 * nf_nat_proto.c) hook by hook: a packet of direction d meets the DST
 * manip (prerouting or output) and the SRC manip (postrouting or input);
 * each applies when the connection's status has the bit that manip
 * undoes in that direction (SRC_NAT/DST_NAT for the original direction,
 * the other one for replies), and writes the side it manips from the
 * tuple of the other direction, o:
 *   - DST manip: destination address <- o.src, destination port <- o.sport;
 *   - SRC manip: source address <- o.dst, source port <- o.dport;
 *   - an ICMP query's identifier <- o.sport under either manip.
 * An ICMP error RELATED to a translated connection quotes a packet that
 * went the other way: the DST manip writes the quoted source (address and
 * port) from o.src/o.sport and the outer destination address from o.src;
 * the SRC manip the quoted destination from o.dst/o.dport and the outer
 * source address from o.dst. Linux drops an ICMP redirect about a
 * translated connection, and so does ctrack.
 *
 * Every field is checked before the first byte is written (the field
 * was captured; an IPv6 destination is not behind a routing header), so a
 * packet is translated whole or left as it was. The checksums are updated
 * by the packet module (src/packet/rewrite.c, RFC 1624).
 */
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/nat.h"
#include "nat/nat.h"
#include "table/table.h"

/* One field to write. */
struct op {
    uint8_t inner;  /* the quoted packet of an ICMP error */
    uint8_t port;   /* a port or identifier, else an address */
    uint8_t side;   /* CT_PKT_SRC or CT_PKT_DST */
    uint16_t value; /* the port */
    const union ct_addr *addr;
};

struct plan {
    unsigned n;
    struct op op[6];
};

static void plan_addr(struct plan *p, int inner, unsigned side, const union ct_addr *a)
{
    p->op[p->n++] = (struct op){.inner = (uint8_t)inner, .side = (uint8_t)side, .addr = a};
}

static void plan_port(struct plan *p, int inner, unsigned side, uint16_t v)
{
    p->op[p->n++] =
        (struct op){.inner = (uint8_t)inner, .port = 1, .side = (uint8_t)side, .value = v};
}

/* The ports of a packet of tuple t that a manip of `side` writes. */
static void plan_l4(struct plan *p, int inner, const struct ct_tuple *t, unsigned side,
                    uint16_t port, uint16_t id)
{
    if (ct_nat_icmp_query(t))
        plan_port(p, inner, CT_PKT_SRC, id);
    else if (ct_nat_has_ports(t->proto))
        plan_port(p, inner, side, port);
}

/* The current value of a field, to skip what does not change. */
static int op_same(const struct ct_pkt *pkt, const struct op *o)
{
    const struct ct_tuple *t = o->inner ? &pkt->inner : &pkt->tuple;
    if (o->port)
        return (o->side == CT_PKT_SRC ? t->sport : t->dport) == o->value;
    const union ct_addr *a = o->side == CT_PKT_SRC ? &t->src : &t->dst;
    return memcmp(a->b, o->addr->b, t->l3 == CT_L3_IPV6 ? 16 : 4) == 0;
}

/* Whether the op can be done: its field was captured, and the rewrite
 * allows it. Returns 0, -ENOENT or -ENOTSUP. */
static int op_check(const struct ct_pkt *pkt, const struct op *o)
{
    static const uint8_t field[2][2][2] = {
        {{CT_PKT_FIELD_SRC_ADDR, CT_PKT_FIELD_DST_ADDR},
         {CT_PKT_FIELD_SRC_PORT, CT_PKT_FIELD_DST_PORT}},
        {{CT_PKT_FIELD_INNER_SRC_ADDR, CT_PKT_FIELD_INNER_DST_ADDR},
         {CT_PKT_FIELD_INNER_SRC_PORT, CT_PKT_FIELD_INNER_DST_PORT}},
    };
    if (ct_pkt_field_off(pkt, field[o->inner][o->port][o->side]) < 0)
        return -ENOENT;
    const struct ct_tuple *t = o->inner ? &pkt->inner : &pkt->tuple;
    if (!o->port && o->side == CT_PKT_DST && t->l3 == CT_L3_IPV6 &&
        (o->inner ? pkt->inner_l4_off != pkt->inner_l3_off + 40u
                  : pkt->l4_off != pkt->l3_off + 40u))
        return -ENOTSUP;
    if (o->port && t->proto == CT_IPPROTO_SCTP) {
        if (o->inner)
            return -ENOTSUP;
        if (!(pkt->frame_flags & CT_FRAME_F_CSUM_PARTIAL) &&
            (pkt->snapped || (uint32_t)pkt->l4_off + pkt->l4_len > pkt->len))
            return -ENOENT;
    }
    return 0;
}

static int op_do(struct ct_pkt *pkt, const struct op *o)
{
    if (o->inner)
        return o->port ? ct_pkt_rewrite_inner_port(pkt, o->side, o->value)
                       : ct_pkt_rewrite_inner_addr(pkt, o->side, o->addr);
    return o->port ? ct_pkt_rewrite_port(pkt, o->side, o->value)
                   : ct_pkt_rewrite_addr(pkt, o->side, o->addr);
}

/* A 32-bit word as stored, in the host's byte order. */
static inline uint32_t ld32(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

static inline uint16_t ld16(const uint8_t *p)
{
    uint16_t w;
    memcpy(&w, p, 2);
    return w;
}

/*
 * RFC 1624 equation 3, HC' = ~(~HC + ~m + m'), for a change whose old
 * 32-bit words sum to `old` and new ones to `new` (64-bit sums of words,
 * with ~m taken as 0xffffffff - m): one's-complement sums may be taken over
 * 32-bit words and folded (RFC 1071 section 2(C)), and in either byte order
 * as long as the checksum is read and written in the same one (section
 * 2(B)), so the words are summed as they lie in memory.
 */
static inline uint16_t csum_adjust(uint16_t hc, uint64_t delta)
{
    uint64_t s = (uint16_t)~hc + delta;
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* The delta of words changed from o to n: sum of ~o + n. */
static inline uint64_t word_delta(uint32_t o, uint32_t n)
{
    return (uint64_t)(uint32_t)~o + n;
}

/*
 * The common case in one pass: an IPv4 TCP, UDP or UDP-Lite packet, not an
 * ICMP error, with a complete checksum: both addresses and ports take the
 * other direction's tuple `o` (a side no manip changes is already equal),
 * and the IPv4 header and transport checksums get one adjustment each for
 * all the words that changed, which gives the bytes the field-by-field
 * updates give (one's-complement addition is associative). The caller
 * calls it for a translated connection only, whose packets always change.
 * Returns 1 when it handled the packet (*changed set), 0 to take the
 * general path.
 */
static CT_ALWAYS_INLINE int translate_fast4(struct ct_pkt *pkt, const struct ct_key4 *o,
                                            int *changed)
{
    const uint8_t proto = pkt->tuple.proto;
    if (pkt->tuple.l3 != CT_L3_IPV4 || pkt->icmp_is_error ||
        (proto != CT_IPPROTO_TCP && proto != CT_IPPROTO_UDP && proto != CT_IPPROTO_UDPLITE) ||
        (pkt->frame_flags & CT_FRAME_F_CSUM_PARTIAL))
        return 0;
    const uint32_t coff = proto == CT_IPPROTO_TCP ? 16u : 6u;
    if ((uint32_t)pkt->l4_off + coff + 2 > pkt->len)
        return 0;
    uint8_t *ip = (uint8_t *)(uintptr_t)pkt->data + pkt->l3_off;
    uint8_t *l4 = (uint8_t *)(uintptr_t)pkt->data + pkt->l4_off;
    /* New source: the other direction's destination, and so on. */
    const uint32_t ns = o->dst, nd = o->src;
    uint8_t np[4] = {(uint8_t)(o->dport >> 8), (uint8_t)o->dport, (uint8_t)(o->sport >> 8),
                     (uint8_t)o->sport};
    uint32_t os = ld32(ip + 12), od = ld32(ip + 16), op = ld32(l4), nps;
    memcpy(&nps, np, 4);
    /* Words that do not change add ~w + w = -0, which leaves a checksum
       as it was (a computed IPv4 or transport checksum is never 0xffff,
       the one value -0 would turn into 0): no test needed. */
    const uint64_t da = word_delta(os, ns) + word_delta(od, nd);
    uint16_t hc = csum_adjust(ld16(ip + 10), da);
    memcpy(ip + 10, &hc, 2);
    uint8_t *cs = l4 + coff;
    uint16_t lc = ld16(cs);
    if (proto == CT_IPPROTO_TCP || lc != 0) {
        /* RFC 768: a UDP checksum of 0 was not sent and stays 0; a computed
           0 is sent as 0xffff (the same in either byte order). */
        lc = csum_adjust(lc, da + word_delta(op, nps));
        if (proto != CT_IPPROTO_TCP && lc == 0)
            lc = 0xffff;
        memcpy(cs, &lc, 2);
    }
    memcpy(ip + 12, &ns, 4);
    memcpy(ip + 16, &nd, 4);
    memcpy(l4, &nps, 4);
    pkt->tuple.src.v4 = ns;
    pkt->tuple.dst.v4 = nd;
    pkt->tuple.sport = o->dport;
    pkt->tuple.dport = o->sport;
    *changed = 1;
    return 1;
}

/* ICMPv4 redirect (RFC 792), which Linux refuses to translate. */
#define ICMP_REDIRECT_TYPE 5

static int translate(const struct ct_table *t, struct ct_pkt *pkt, const struct ct_verdict *v)
{
    const struct ct_conn *c = v->conn;
    const uint16_t st = ct_nat_slot_of(t, c)->nat;
    const unsigned d = v->dir;
    const int dst_on = (st & (d == CT_DIR_ORIGINAL ? CT_STATUS_DST_NAT : CT_STATUS_SRC_NAT)) != 0;
    const int src_on = (st & (d == CT_DIR_ORIGINAL ? CT_STATUS_SRC_NAT : CT_STATUS_DST_NAT)) != 0;
    if (!dst_on && !src_on)
        return 0;
    int changed;
    if (!ct_conn_is_v6(c) &&
        translate_fast4(pkt,
                        d == CT_DIR_ORIGINAL ? &ct_nat_slot_of(t, c)->k4
                                             : ct_conn_key4((struct ct_conn *)c),
                        &changed))
        return changed;
    struct ct_tuple o;
    ct_table_conn_tuple(t, c, d ^ 1u, &o);
    struct plan p = {.n = 0};
    if (v->state == CT_STATE_RELATED && pkt->icmp_is_error) {
        if (!pkt->inner_ok)
            return -ENOENT;
        if (pkt->tuple.proto == CT_IPPROTO_ICMP && pkt->icmp_type == ICMP_REDIRECT_TYPE)
            return -EPERM;
        if (dst_on) {
            plan_addr(&p, 1, CT_PKT_SRC, &o.src);
            plan_l4(&p, 1, &pkt->inner, CT_PKT_SRC, o.sport, o.sport);
            plan_addr(&p, 0, CT_PKT_DST, &o.src);
        }
        if (src_on) {
            plan_addr(&p, 1, CT_PKT_DST, &o.dst);
            plan_l4(&p, 1, &pkt->inner, CT_PKT_DST, o.dport, o.sport);
            plan_addr(&p, 0, CT_PKT_SRC, &o.dst);
        }
    } else {
        if (dst_on) {
            plan_addr(&p, 0, CT_PKT_DST, &o.src);
            plan_l4(&p, 0, &pkt->tuple, CT_PKT_DST, o.sport, o.sport);
        }
        if (src_on) {
            plan_addr(&p, 0, CT_PKT_SRC, &o.dst);
            plan_l4(&p, 0, &pkt->tuple, CT_PKT_SRC, o.dport, o.sport);
        }
    }
    /* Drop what would not change (an identifier both manips write, a
       side a translation left as it was), then check all, then write. */
    unsigned k = 0;
    for (unsigned i = 0; i < p.n; i++) {
        int dup = 0;
        for (unsigned j = 0; j < k; j++)
            dup |= p.op[j].inner == p.op[i].inner && p.op[j].port == p.op[i].port &&
                   p.op[j].side == p.op[i].side;
        if (!dup && !op_same(pkt, &p.op[i]))
            p.op[k++] = p.op[i];
    }
    p.n = k;
    for (unsigned i = 0; i < p.n; i++) {
        int e = op_check(pkt, &p.op[i]);
        if (e)
            return e;
    }
    for (unsigned i = 0; i < p.n; i++) {
        int e = op_do(pkt, &p.op[i]);
        if (e)
            return e; /* checked above: cannot happen */
    }
    return p.n > 0;
}

CT_EXPORT int ct_nat_rewrite(const struct ct_table *t, struct ct_pkt *pkt,
                             const struct ct_verdict *v, unsigned flags)
{
    if (!t || !pkt || !v || (flags & ~(unsigned)CT_NAT_F_ALL))
        return -EINVAL;
    if (!pkt->writable)
        return -EROFS;
    if (!t->nat || !v->conn || v->state == CT_STATE_INVALID || v->state == CT_STATE_UNTRACKED)
        return 0;
    const uint8_t saved = pkt->frame_flags;
    if ((flags | t->nat->cfg.flags) & CT_NAT_F_CSUM_PARTIAL)
        pkt->frame_flags |= CT_FRAME_F_CSUM_PARTIAL;
    int r = translate(t, pkt, v);
    pkt->frame_flags = saved;
    return r;
}

void ct_nat_rewrite_burst(struct ct_table *t, struct ct_pkt *pkts, struct ct_verdict *v, unsigned n)
{
    uint64_t done = 0, failed = 0;
    const int partial = (t->nat->cfg.flags & CT_NAT_F_CSUM_PARTIAL) != 0;
    for (unsigned i = 0; i < n; i++) {
        const struct ct_conn *c = v[i].conn;
        if (!c || !pkts[i].writable)
            continue;
        /* The binding, not c->status: other threads of a shared table
         * write the status under the connection's lock. */
        const struct ct_nat_slot *b = ct_nat_slot_of(t, c);
        if (!b->nat)
            continue;
        /* The descriptor is writable and the verdict the table's own: the
         * common case goes straight to the one-pass rewrite, from the
         * other direction's key (the binding's for an original packet). */
        int r;
        if (partial || ct_conn_is_v6(c) ||
            !translate_fast4(&pkts[i],
                             v[i].dir == CT_DIR_ORIGINAL ? &b->k4
                                                         : ct_conn_key4((struct ct_conn *)c),
                             &r))
            r = ct_nat_rewrite(t, &pkts[i], &v[i], 0);
        if (r > 0) {
            v[i].flags |= CT_VERDICT_NAT;
            done++;
        } else if (r < 0) {
            /* Not translated, so it must not leave: Linux drops a packet
             * its NAT cannot mangle. The connection stays. */
            v[i].conn = NULL;
            v[i].state = CT_STATE_INVALID;
            v[i].reason = CT_REASON_NAT_REWRITE;
            v[i].flags |= CT_VERDICT_DROP;
            CT_STAT_INC(t, invalid);
            CT_STAT_INC(t, reasons[CT_REASON_NAT_REWRITE]);
            failed++;
        }
    }
    if (t->sh) {
        __atomic_fetch_add(&t->nat->stats.rewritten, done, __ATOMIC_RELAXED);
        __atomic_fetch_add(&t->nat->stats.rewrite_failed, failed, __ATOMIC_RELAXED);
    } else {
        t->nat->stats.rewritten += done;
        t->nat->stats.rewrite_failed += failed;
    }
}
