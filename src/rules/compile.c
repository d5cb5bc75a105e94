/*
 * The rule language's compiler and the ruleset's life: ct_ruleset_load()
 * runs the lexer and the parser, then turns each match's elements into a
 * sorted array of disjoint ranges (so that a set of any size is one
 * bisection, rules.h) and orders the base chains of each hook as nft runs
 * them: by priority, and in load order between equal priorities.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "rules/rules.h"

static int cmp32(const void *a, const void *b)
{
    const struct range32 *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_u128(struct u128 a, struct u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

static int cmp128(const void *a, const void *b)
{
    const struct range128 *x = a, *y = b;
    return cmp_u128(x->lo, y->lo);
}

uint32_t ct_rules_merge32(struct range32 *r, uint32_t n)
{
    if (n == 0)
        return 0;
    qsort(r, n, sizeof(*r), cmp32);
    uint32_t o = 0;
    for (uint32_t i = 1; i < n; i++) {
        /* Overlapping or adjacent (hi + 1 == lo) ranges become one. */
        if (r[o].hi == UINT32_MAX || r[i].lo <= r[o].hi + 1) {
            if (r[i].hi > r[o].hi)
                r[o].hi = r[i].hi;
        } else {
            r[++o] = r[i];
        }
    }
    return o + 1;
}

static struct u128 inc128(struct u128 v)
{
    v.lo++;
    if (v.lo == 0)
        v.hi++;
    return v;
}

uint32_t ct_rules_merge128(struct range128 *r, uint32_t n)
{
    if (n == 0)
        return 0;
    qsort(r, n, sizeof(*r), cmp128);
    uint32_t o = 0;
    for (uint32_t i = 1; i < n; i++) {
        int top = r[o].hi.hi == UINT64_MAX && r[o].hi.lo == UINT64_MAX;
        if (top || cmp_u128(r[i].lo, inc128(r[o].hi)) <= 0) {
            if (cmp_u128(r[i].hi, r[o].hi) > 0)
                r[o].hi = r[i].hi;
        } else {
            r[++o] = r[i];
        }
    }
    return o + 1;
}

/* Sorts a map's ranges with their values; -EINVAL if two overlap (nft
 * refuses overlapping map elements: a key would have two values). */
static int sort_map(struct ct_ruleset *rs, uint32_t off, uint32_t n)
{
    /* Insertion sort of (range, value) pairs: maps are small, and the
     * values must move with their ranges. */
    for (uint32_t i = off + 1; i < off + n; i++) {
        struct range32 r = rs->r32[i];
        uint32_t v = rs->mapval[i], j = i;
        while (j > off && rs->r32[j - 1].lo > r.lo) {
            rs->r32[j] = rs->r32[j - 1];
            rs->mapval[j] = rs->mapval[j - 1];
            j--;
        }
        rs->r32[j] = r;
        rs->mapval[j] = v;
    }
    for (uint32_t i = off + 1; i < off + n; i++)
        if (rs->r32[i].lo <= rs->r32[i - 1].hi)
            return -EINVAL;
    return 0;
}

/* Sorts a NAT map's elements by key; -EINVAL if two keys overlap. */
static int sort_natmap(struct ct_ruleset *rs, uint32_t off, uint32_t n)
{
    struct rnatelem *el = rs->natelems + off;
    for (uint32_t i = 1; i < n; i++) {
        struct rnatelem x = el[i];
        uint32_t j = i;
        while (j > 0 && cmp_u128(el[j - 1].lo, x.lo) > 0) {
            el[j] = el[j - 1];
            j--;
        }
        el[j] = x;
    }
    for (uint32_t i = 1; i < n; i++)
        if (cmp_u128(el[i].lo, el[i - 1].hi) <= 0)
            return -EINVAL;
    return 0;
}

static void order_chains(struct ct_ruleset *rs)
{
    for (uint32_t c = 0; c < rs->nchains; c++) {
        const struct rchain *ch = &rs->chains[c];
        int side = ch->prio >= RULES_PRIO_CONNTRACK;
        /* nat chains have a sequence of their own (rules.h). */
        uint8_t *seq = ch->nat ? rs->natseq[ch->hook] : rs->seq[ch->hook][side];
        uint8_t *np = ch->nat ? &rs->nnatseq[ch->hook] : &rs->nseq[ch->hook][side];
        uint8_t n = *np;
        /* Insert after every chain of lower or equal priority: stable. */
        uint8_t j = n;
        while (j > 0 && rs->chains[seq[j - 1]].prio > ch->prio) {
            seq[j] = seq[j - 1];
            j--;
        }
        seq[j] = (uint8_t)c;
        *np = (uint8_t)(n + 1);
    }
}

int ct_rules_compile(struct ct_ruleset *rs, struct rules_err *e)
{
    for (uint32_t i = 0; i < rs->nmatches; i++) {
        struct rmatch *m = &rs->matches[i];
        if (m->key == RK_IP6_SADDR || m->key == RK_IP6_DADDR)
            m->n = ct_rules_merge128(rs->r128 + m->off, m->n);
        else if (m->key != RK_IIFNAME && m->key != RK_CT_STATE)
            m->n = ct_rules_merge32(rs->r32 + m->off, m->n);
    }
    for (uint32_t r = 0; r < rs->nrules; r++) {
        const struct rrule *ru = &rs->rules[r];
        for (uint32_t i = ru->s_off; i < ru->s_off + ru->s_n; i++) {
            const struct rstmt *s = &rs->stmts[i];
            if (s->kind == RS_ZONE_MARK_MAP && sort_map(rs, s->off, s->n) != 0)
                return ct_rules_error_at(e, -EINVAL, ru->line, 0,
                                         "ct zone set meta mark map: overlapping keys");
            if (s->kind == RS_NAT && rs->nats[s->value].n &&
                sort_natmap(rs, rs->nats[s->value].off, rs->nats[s->value].n) != 0)
                return ct_rules_error_at(e, -EINVAL, ru->line, 0, "NAT map: overlapping keys");
        }
    }
    order_chains(rs);
    return 0;
}

CT_EXPORT void ct_ruleset_free(struct ct_ruleset *rs)
{
    if (!rs)
        return;
    free(rs->chains);
    free(rs->rules);
    free(rs->matches);
    free(rs->stmts);
    free(rs->r32);
    free(rs->mapval);
    free(rs->r128);
    free(rs->nats);
    free(rs->natelems);
    free(rs);
}

CT_EXPORT struct ct_ruleset *ct_ruleset_load(const char *text, size_t len,
                                             struct ct_rules_error *where, int *err)
{
    struct rules_err e = {.out = where, .code = 0};
    struct ct_ruleset *rs = NULL;
    struct tok *toks = NULL;
    size_t n = 0;

    if (where)
        memset(where, 0, sizeof(*where));
    if (!text && len) {
        ct_rules_error_at(&e, -EINVAL, 0, 0, "no rules text");
        goto fail;
    }
    toks = ct_rules_lex(text ? text : "", len, &n, &e);
    if (!toks)
        goto fail;
    rs = calloc(1, sizeof(*rs));
    if (!rs) {
        ct_rules_error_at(&e, -ENOMEM, 0, 0, "out of memory");
        goto fail;
    }
    if (ct_rules_parse(toks, n, rs, &e) != 0 || ct_rules_compile(rs, &e) != 0)
        goto fail;
    free(toks);
    if (err)
        *err = 0;
    return rs;
fail:
    free(toks);
    ct_ruleset_free(rs);
    if (err)
        *err = e.code ? e.code : -EINVAL;
    return NULL;
}

/* 1 if the interface name matches the pattern (a trailing '*': a prefix). */
static int ifname_match(const char *pattern, const char *name)
{
    size_t l = strlen(pattern);
    if (l > 0 && pattern[l - 1] == '*')
        return strncmp(pattern, name, l - 1) == 0;
    return strcmp(pattern, name) == 0;
}

CT_EXPORT int ct_ruleset_set_iface(struct ct_ruleset *rs, uint16_t iif, const char *name)
{
    if (!rs || !name || iif == 0)
        return -EINVAL;
    if (iif > CT_RULES_MAX_IFINDEX)
        return -ERANGE;
    uint32_t bits = 0;
    for (uint32_t i = 0; i < rs->nifnames; i++)
        if (ifname_match(rs->ifnames[i], name))
            bits |= 1u << i;
    rs->ifbits[iif] = bits;
    return 0;
}

CT_EXPORT int ct_ruleset_set_nat_addr(struct ct_ruleset *rs, unsigned kind, unsigned l3,
                                      const union ct_addr *addr)
{
    if (!rs || !addr || kind > CT_RULES_NAT_REDIRECT || (l3 != CT_L3_IPV4 && l3 != CT_L3_IPV6))
        return -EINVAL;
    unsigned f = l3 == CT_L3_IPV6;
    union ct_addr *a = &rs->nat_addr[kind][f];
    *a = *addr;
    if (!f) /* ct_nat_range's IPv4 form: the unused bytes are zero */
        a->w[1] = a->w[2] = a->w[3] = 0;
    rs->nat_addr_set |= (uint8_t)(1u << (kind * 2 + f));
    return 0;
}

CT_EXPORT int ct_ruleset_has_chains(const struct ct_ruleset *rs, unsigned hook, int after)
{
    if (!rs || hook >= CT_RULES_HOOK_COUNT)
        return 0;
    return rs->nseq[hook][after ? 1 : 0] != 0;
}

CT_EXPORT unsigned ct_ruleset_timeout_count(const struct ct_ruleset *rs)
{
    return rs ? rs->ntimeouts : 0;
}

CT_EXPORT int ct_ruleset_timeout(const struct ct_ruleset *rs, unsigned i,
                                 struct ct_rules_timeout *out)
{
    if (!rs || i >= rs->ntimeouts || !out)
        return -ENOENT;
    *out = rs->timeouts[i];
    return 0;
}

CT_EXPORT unsigned ct_ruleset_helper_count(const struct ct_ruleset *rs)
{
    return rs ? rs->nhelpers : 0;
}

CT_EXPORT int ct_ruleset_helper(const struct ct_ruleset *rs, unsigned i,
                                struct ct_rules_helper *out)
{
    if (!rs || i >= rs->nhelpers || !out)
        return -ENOENT;
    *out = rs->helpers[i];
    return 0;
}

CT_EXPORT int ct_ruleset_counter(const struct ct_ruleset *rs, unsigned rule, uint64_t *packets,
                                 uint64_t *bytes)
{
    if (!rs || rule >= rs->nrules)
        return -ENOENT;
    const struct rrule *ru = &rs->rules[rule];
    for (uint32_t i = ru->s_off; i < ru->s_off + ru->s_n; i++)
        if (rs->stmts[i].kind == RS_COUNTER) {
            if (packets)
                *packets = __atomic_load_n(&ru->packets, __ATOMIC_RELAXED);
            if (bytes)
                *bytes = __atomic_load_n(&ru->bytes, __ATOMIC_RELAXED);
            return 0;
        }
    return -ENOENT;
}
