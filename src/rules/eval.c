/*
 * The rule language's evaluation: the base chains of a hook, in order, on
 * one side of conntrack.
 *
 * nft's semantics, as in Linux's nf_tables_core.c: a rule's matches are
 * and-ed; its statements run in order once they all hold; `accept` ends
 * the chain (the next base chain still runs), `drop` ends everything; a
 * chain that runs out of rules applies its policy. A match whose key the
 * packet does not have (`tcp dport` on UDP, `ip saddr` on IPv6, `vlan id`
 * without a tag) fails whatever its operator, as nft's implicit protocol
 * dependencies make it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/nat.h"
#include "ctrack/reason.h"
#include "rules/rules.h"

int ct_rules_in32(const struct range32 *r, uint32_t n, uint32_t v)
{
    if (n <= RULES_LINEAR_MAX) {
        for (uint32_t i = 0; i < n; i++)
            if (v >= r[i].lo && v <= r[i].hi)
                return 1;
        return 0;
    }
    /* The last range starting at or below v is the only candidate. */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r[mid].lo <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && v <= r[lo - 1].hi;
}

static int le128(struct u128 a, struct u128 b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

int ct_rules_in128(const struct range128 *r, uint32_t n, struct u128 v)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (le128(r[mid].lo, v))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && le128(v, r[lo - 1].hi);
}

static struct u128 addr128(const union ct_addr *a)
{
    struct u128 v = {0, 0};
    for (int i = 0; i < 8; i++) {
        v.hi = v.hi << 8 | a->b[i];
        v.lo = v.lo << 8 | a->b[8 + i];
    }
    return v;
}

/* The 32-bit value of key k for the packet, addresses and ports read from
 * tp (the packet's tuple, or for NAT the tuple as the earlier manip left
 * it); 0 if the packet has no such key. */
static int key32(const struct ct_ruleset *rs, const struct ct_pkt *pkt, const struct ct_tuple *tp,
                 const struct ct_rules_meta *meta, uint8_t k, uint32_t *v)
{
    int parsed = pkt->reason == CT_REASON_NONE;
    uint8_t l3 = tp->l3, proto = tp->proto;
    switch (k) {
    case RK_IIF: *v = meta->iif; return 1;
    case RK_IIFNAME:
        *v = meta->iif <= CT_RULES_MAX_IFINDEX ? rs->ifbits[meta->iif] : 0;
        return 1;
    case RK_NFPROTO: *v = l3; return parsed;
    case RK_IP_SADDR:
    case RK_IP_DADDR:
        if (!parsed || l3 != CT_L3_IPV4)
            return 0;
        *v = ntohl(k == RK_IP_SADDR ? tp->src.v4 : tp->dst.v4);
        return 1;
    case RK_L4PROTO: *v = proto; return parsed;
    case RK_IP_PROTO: *v = proto; return parsed && l3 == CT_L3_IPV4;
    case RK_IP6_NEXTHDR: *v = proto; return parsed && l3 == CT_L3_IPV6;
    case RK_TCP_SPORT:
    case RK_TCP_DPORT:
        if (!parsed || proto != CT_IPPROTO_TCP)
            return 0;
        *v = k == RK_TCP_SPORT ? tp->sport : tp->dport;
        return 1;
    case RK_UDP_SPORT:
    case RK_UDP_DPORT:
        if (!parsed || proto != CT_IPPROTO_UDP)
            return 0;
        *v = k == RK_UDP_SPORT ? tp->sport : tp->dport;
        return 1;
    case RK_MARK: *v = pkt->mark; return 1;
    case RK_VLAN_ID:
        if (pkt->nvlan == 0)
            return 0;
        *v = pkt->vlan[0] & 0xfff;
        return 1;
    case RK_CT_STATE: *v = 1u << meta->ct_state; return 1;
    case RK_CT_ZONE: *v = meta->ct_zone; return 1;
    case RK_CT_MARK: *v = meta->ct_mark; return 1;
    default: return 0;
    }
}

static int match_one(const struct ct_ruleset *rs, const struct ct_pkt *pkt,
                     const struct ct_tuple *tp, const struct ct_rules_meta *meta,
                     const struct rmatch *m)
{
    int in;
    if (m->key == RK_IP6_SADDR || m->key == RK_IP6_DADDR) {
        if (pkt->reason != CT_REASON_NONE || tp->l3 != CT_L3_IPV6)
            return 0;
        in = ct_rules_in128(rs->r128 + m->off, m->n,
                            addr128(m->key == RK_IP6_SADDR ? &tp->src : &tp->dst));
        return in != m->neg;
    }
    uint32_t v;
    if (!key32(rs, pkt, tp, meta, m->key, &v))
        return 0;
    if (m->key == RK_IIFNAME || m->key == RK_CT_STATE)
        in = (v & m->bits) != 0;
    else
        in = ct_rules_in32(rs->r32 + m->off, m->n, v);
    return in != m->neg;
}

/* Applies a timeout or helper object only to the protocol it was declared
 * for, as Linux's nft_ct_timeout_obj_eval() and nft_ct_helper_obj_eval()
 * do. */
static int obj_fits(uint8_t l3, uint8_t proto, const struct ct_pkt *pkt)
{
    return pkt->reason == CT_REASON_NONE && proto == pkt->tuple.proto &&
           (l3 == 0 || l3 == pkt->tuple.l3);
}

enum { GO_ON = 0, CHAIN_END = 1, DROPPED = 2 };

/* Runs the statements of a rule whose matches held. */
static int statements(struct ct_ruleset *rs, struct rrule *ru, struct ct_pkt *pkt,
                      const struct ct_rules_meta *meta, struct ct_rules_out *out)
{
    for (uint32_t i = ru->s_off; i < ru->s_off + ru->s_n; i++) {
        const struct rstmt *s = &rs->stmts[i];
        uint32_t zone;
        switch (s->kind) {
        case RS_ACCEPT: return CHAIN_END;
        case RS_DROP: return DROPPED;
        case RS_COUNTER:
            __atomic_fetch_add(&ru->packets, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&ru->bytes,
                               pkt->reason == CT_REASON_NONE ? pkt->ip_len : pkt->len,
                               __ATOMIC_RELAXED);
            break;
        case RS_NOTRACK:
            /* nft_notrack_eval(): a packet that already carries a template
             * (a zone set earlier) keeps it and stays tracked. */
            if (!out->zone_dirs)
                out->notrack = 1;
            break;
        case RS_ZONE_SET:
        case RS_ZONE_MARK:
        case RS_ZONE_MARK_MAP:
            if (s->kind == RS_ZONE_SET) {
                zone = s->value;
            } else if (s->kind == RS_ZONE_MARK) {
                zone = pkt->mark & 0xffff; /* Linux: (u16)skb->mark */
            } else {
                /* A map without the key fails the lookup, which ends the
                 * rule there (nft's NFT_BREAK). */
                const struct range32 *r = rs->r32 + s->off;
                uint32_t lo = 0, hi = s->n, m = pkt->mark;
                while (lo < hi) {
                    uint32_t mid = lo + (hi - lo) / 2;
                    if (r[mid].lo <= m)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                if (lo == 0 || m > r[lo - 1].hi)
                    return GO_ON;
                zone = rs->mapval[s->off + lo - 1];
            }
            /* nft_ct_set_zone_eval(): the first zone statement a packet
             * meets gives it a template with that zone and its directions;
             * a later one finds the template and leaves it. A zone after
             * `notrack` replaces the untracked mark: the packet is tracked
             * in that zone. */
            if (out->zone_dirs)
                break;
            out->notrack = 0;
            out->zone = (uint16_t)zone;
            out->zone_dirs = s->dirs;
            out->zone_mark = s->kind == RS_ZONE_MARK;
            break;
        case RS_META_MARK_SET: pkt->mark = s->value; break;
        case RS_META_MARK_CT:
            /* No connection (INVALID, UNTRACKED): nft_ct_get_eval() finds
             * no ct and ends the rule. */
            if (meta->ct_state == CT_STATE_INVALID || meta->ct_state == CT_STATE_UNTRACKED)
                return GO_ON;
            pkt->mark = out->ct_mark_set ? out->ct_mark : meta->ct_mark;
            break;
        case RS_CT_MARK_META:
            if (meta->ct_state != CT_STATE_INVALID && meta->ct_state != CT_STATE_UNTRACKED) {
                out->ct_mark = pkt->mark;
                out->ct_mark_set = 1;
            }
            break;
        case RS_CT_MARK_SET:
            if (meta->ct_state != CT_STATE_INVALID && meta->ct_state != CT_STATE_UNTRACKED) {
                out->ct_mark = s->value;
                out->ct_mark_set = 1;
            }
            break;
        case RS_CT_TIMEOUT:
            if ((meta->ct_state == CT_STATE_NEW || meta->created) &&
                obj_fits(rs->timeouts[s->value].l3, rs->timeouts[s->value].proto, pkt))
                out->timeout = (uint8_t)(s->value + 1);
            break;
        case RS_CT_EVENT:
            if ((meta->ct_state == CT_STATE_NEW || meta->created)) {
                out->events = (uint16_t)s->value;
                out->events_set = 1;
            }
            break;
        case RS_CT_HELPER:
            if ((meta->ct_state == CT_STATE_NEW || meta->created) &&
                obj_fits(rs->helpers[s->value].l3, rs->helpers[s->value].proto, pkt))
                out->helper = (uint8_t)(s->value + 1);
            break;
        default: break;
        }
    }
    return GO_ON;
}

static int run(struct ct_ruleset *rs, int side, struct ct_pkt *pkt,
               const struct ct_rules_meta *meta, struct ct_rules_out *out)
{
    if (meta->hook >= CT_RULES_HOOK_COUNT)
        return 1;
    uint8_t n = rs->nseq[meta->hook][side];
    for (uint8_t c = 0; c < n; c++) {
        const struct rchain *ch = &rs->chains[rs->seq[meta->hook][side][c]];
        if (ch->family != 0 &&
            (pkt->reason != CT_REASON_NONE || pkt->tuple.l3 != ch->family))
            continue; /* an ip or ip6 table sees only its family */
        int res = GO_ON;
        for (uint32_t r = ch->r_off; r < ch->r_off + ch->r_n && res == GO_ON; r++) {
            struct rrule *ru = &rs->rules[r];
            uint32_t i = ru->m_off, end = ru->m_off + ru->m_n;
            while (i < end && match_one(rs, pkt, &pkt->tuple, meta, &rs->matches[i]))
                i++;
            if (i == end)
                res = statements(rs, ru, pkt, meta, out);
        }
        if (res == DROPPED || (res == GO_ON && ch->policy)) {
            out->drop = 1;
            return 0;
        }
    }
    return 1;
}

CT_EXPORT int ct_rules_eval_pre(struct ct_ruleset *rs, struct ct_pkt *pkt,
                                const struct ct_rules_meta *meta, struct ct_rules_out *out)
{
    return run(rs, 0, pkt, meta, out);
}

CT_EXPORT int ct_rules_eval_post(struct ct_ruleset *rs, struct ct_pkt *pkt,
                                 const struct ct_rules_meta *meta, struct ct_rules_out *out)
{
    return run(rs, 1, pkt, meta, out);
}

/* ---- NAT -------------------------------------------------------------------- */

enum {
    NAT_APPLIED = 0,
    NAT_SKIP,
    NAT_ACCEPT,
    NAT_DROP
};

/* The key of a NAT map, read from the tuple; 0 if the packet has none. */
static int nat_key(const struct ct_tuple *t, uint8_t key, struct u128 *v)
{
    switch (key) {
    case RK_IP_SADDR:
    case RK_IP_DADDR:
        if (t->l3 != CT_L3_IPV4)
            return 0;
        *v = (struct u128){0, ntohl(key == RK_IP_SADDR ? t->src.v4 : t->dst.v4)};
        return 1;
    case RK_IP6_SADDR:
    case RK_IP6_DADDR:
        if (t->l3 != CT_L3_IPV6)
            return 0;
        *v = addr128(key == RK_IP6_SADDR ? &t->src : &t->dst);
        return 1;
    case RK_TCP_SPORT:
    case RK_TCP_DPORT:
    case RK_UDP_SPORT:
    case RK_UDP_DPORT:
        if (t->proto != (key <= RK_TCP_DPORT ? CT_IPPROTO_TCP : CT_IPPROTO_UDP))
            return 0;
        *v = (struct u128){0, key == RK_TCP_SPORT || key == RK_UDP_SPORT ? t->sport : t->dport};
        return 1;
    default:
        return 0;
    }
}

/*
 * The addresses of a SNAT or DNAT with a map: the element whose key holds
 * the tuple's, or NULL (a miss ends the rule, as nft's lookup does).
 */
static const struct rnatelem *nat_lookup(const struct ct_ruleset *rs, const struct rnat *n,
                                         const struct ct_tuple *t)
{
    struct u128 k;
    if (!nat_key(t, n->map_key, &k))
        return NULL;
    const struct rnatelem *el = rs->natelems + n->off;
    uint32_t lo = 0, hi = n->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (le128(el[mid].lo, k))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && le128(k, el[lo - 1].hi) ? &el[lo - 1] : NULL;
}

/*
 * One NAT statement for the tuple at `hook`, filling *range as Linux's
 * nft_nat_eval(), nft_masq_eval() and nft_redir_eval() fill the
 * nf_nat_range2 they hand to nf_nat_setup_info(): the statement's flags,
 * PROTO_SPECIFIED with its ports, MAP_IPS with its addresses.
 */
static int nat_apply(const struct ct_ruleset *rs, const struct rnat *n, unsigned hook,
                     const struct ct_tuple *t, struct ct_nat_range *range)
{
    unsigned f = t->l3 == CT_L3_IPV6;
    union ct_addr a;

    /* nft_nat_inet_eval(): a statement of the other family does nothing. */
    if (n->family && n->family != t->l3)
        return NAT_SKIP;
    memset(range, 0, sizeof(*range));
    range->flags = n->flags;
    range->min_port = n->min_port;
    range->max_port = n->max_port;
    switch (n->type) {
    case RN_MASQ:
        /* nf_nat_masquerade_ipv4(): a source of 0.0.0.0 (a local packet
         * not meant for masquerading) is accepted untranslated. */
        if (!f && t->src.v4 == 0)
            return NAT_ACCEPT;
        if (!(rs->nat_addr_set & 1u << (CT_RULES_NAT_MASQUERADE * 2 + f)))
            return NAT_DROP; /* an interface without an address */
        a = rs->nat_addr[CT_RULES_NAT_MASQUERADE][f];
        break;
    case RN_REDIR:
        /* nf_nat_redirect_ipv4/6(): local packets go to loopback, received
         * ones to the input interface's address. */
        memset(&a, 0, sizeof(a));
        if (hook == RULES_NAT_OUTPUT) {
            if (f)
                a.b[15] = 1;
            else
                a.v4 = htonl(0x7f000001u);
        } else if (rs->nat_addr_set & 1u << (CT_RULES_NAT_REDIRECT * 2 + f)) {
            a = rs->nat_addr[CT_RULES_NAT_REDIRECT][f];
        } else {
            return NAT_DROP;
        }
        break;
    default: {
        const union ct_addr *min = &n->min_addr, *max = &n->max_addr;
        if (n->map_key != RK_COUNT) {
            const struct rnatelem *el = nat_lookup(rs, n, t);
            if (!el)
                return NAT_SKIP;
            min = &el->min_addr;
            max = &el->max_addr;
        }
        if (!n->netmap) {
            range->min_addr = *min;
            range->max_addr = *max;
            return NAT_APPLIED;
        }
        /* nft_nat_setup_netmap(): the bits in which the target's ends
         * differ come from the address being replaced, the others from
         * the target; the result is one address. */
        const union ct_addr *orig = n->type == RN_SNAT ? &t->src : &t->dst;
        memset(&a, 0, sizeof(a));
        for (unsigned i = 0; i < (f ? 4u : 1u); i++) {
            uint32_t host = min->w[i] ^ max->w[i];
            a.w[i] = (orig->w[i] & host) | (min->w[i] & ~host);
        }
        break;
    }
    }
    range->flags |= CT_NAT_RANGE_MAP_IPS;
    range->min_addr = a;
    range->max_addr = a;
    return NAT_APPLIED;
}

static int addr_eq(const union ct_addr *a, const union ct_addr *b)
{
    return a->w[0] == b->w[0] && a->w[1] == b->w[1] && a->w[2] == b->w[2] && a->w[3] == b->w[3];
}

int ct_rules_eval_nat(struct ct_ruleset *rs, const struct ct_pkt *pkt, unsigned manip,
                      const struct ct_tuple *tuple, struct ct_nat_range *range)
{
    unsigned f = tuple->l3 == CT_L3_IPV6, hook;
    int local = (pkt->frame_flags & CT_FRAME_F_LOCAL) != 0;

    /* The hook Linux would do this manip at. A locally generated packet
     * meets SNAT at postrouting even when it goes to a local address: its
     * connection is confirmed there, before loopback delivers it. */
    if (manip == CT_NAT_MANIP_DST)
        hook = local ? RULES_NAT_OUTPUT : RULES_NAT_PREROUTING;
    else if (!local && (rs->nat_addr_set & 1u << (CT_RULES_NAT_REDIRECT * 2 + f)) &&
             addr_eq(&tuple->dst, &rs->nat_addr[CT_RULES_NAT_REDIRECT][f]))
        hook = RULES_NAT_INPUT;
    else
        hook = RULES_NAT_POSTROUTING;
    memset(range, 0, sizeof(*range));
    if (!rs->nnatseq[hook])
        return 0;

    /* Addresses and ports are matched on the tuple as the earlier manip
     * left it (a DNAT decided at prerouting shows at postrouting), the
     * rest on the packet. */
    const struct ct_rules_meta meta = {.iif = pkt->iif};
    for (uint8_t c = 0; c < rs->nnatseq[hook]; c++) {
        const struct rchain *ch = &rs->chains[rs->natseq[hook][c]];
        if (ch->family != 0 && (pkt->reason != CT_REASON_NONE || tuple->l3 != ch->family))
            continue;
        int res = GO_ON;
        for (uint32_t r = ch->r_off; r < ch->r_off + ch->r_n && res == GO_ON; r++) {
            struct rrule *ru = &rs->rules[r];
            uint32_t i = ru->m_off, end = ru->m_off + ru->m_n;
            while (i < end && match_one(rs, pkt, tuple, &meta, &rs->matches[i]))
                i++;
            if (i < end)
                continue;
            for (i = ru->s_off; i < ru->s_off + ru->s_n && res == GO_ON; i++) {
                const struct rstmt *s = &rs->stmts[i];
                if (s->kind == RS_COUNTER) {
                    __atomic_fetch_add(&ru->packets, 1, __ATOMIC_RELAXED);
                    __atomic_fetch_add(&ru->bytes, pkt->ip_len, __ATOMIC_RELAXED);
                } else if (s->kind == RS_ACCEPT) {
                    res = CHAIN_END;
                } else if (s->kind == RS_DROP) {
                    return -EPERM;
                } else if (s->kind == RS_NAT) {
                    int x = nat_apply(rs, &rs->nats[s->value], hook, tuple, range);
                    if (x == NAT_APPLIED)
                        return 1;
                    if (x == NAT_DROP)
                        return -EPERM;
                    if (x == NAT_ACCEPT)
                        res = CHAIN_END;
                    break; /* NAT_SKIP: the rule ends, the next one runs */
                }
            }
        }
        if (res == GO_ON && ch->policy)
            return -EPERM;
    }
    memset(range, 0, sizeof(*range));
    return 0;
}
