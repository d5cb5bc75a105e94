/*
 * CT templates and timeout policies: registration (ctrack/template.h) and
 * their application on the packet path (template/template.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "helper/helper.h"
#include "template/template.h"

#define CT_NS_PER_S 1000000000ull

/* The set of t, allocated on the first registration. */
static struct ct_tmpl_set *tmpl_set(struct ct_table *t)
{
    if (t->tmpl)
        return t->tmpl;
    struct ct_tmpl_set *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ext_id = -1;
    t->tmpl = s;
    return s;
}

/* ---- timeout policies ------------------------------------------------------------ */

/* Whether timeout row `row` (enum ct_timeout) is a state of protocol `proto`. */
static int row_of_proto(unsigned row, uint8_t proto)
{
    switch (proto) {
    case CT_IPPROTO_TCP:
        return row <= CT_TIMEOUT_TCP_UNACK;
    case CT_IPPROTO_UDP:
    case CT_IPPROTO_UDPLITE:
        return row == CT_TIMEOUT_UDP || row == CT_TIMEOUT_UDP_STREAM;
    case CT_IPPROTO_ICMP:
    case CT_IPPROTO_ICMPV6:
        return row == CT_TIMEOUT_ICMP;
    case CT_IPPROTO_GRE:
        return row == CT_TIMEOUT_GRE || row == CT_TIMEOUT_GRE_STREAM;
    case CT_IPPROTO_SCTP:
        return row >= CT_TIMEOUT_SCTP_CLOSED && row <= CT_TIMEOUT_SCTP_HEARTBEAT_SENT;
    default:
        return row == CT_TIMEOUT_GENERIC;
    }
}

CT_EXPORT int ct_timeout_policy_find(const struct ct_table *t, const char *name)
{
    if (!t || !name)
        return -EINVAL;
    const struct ct_tmpl_set *s = t->tmpl;
    for (uint32_t i = 1; s && i <= s->npolicy; i++)
        if (strcmp(s->policy[i].name, name) == 0)
            return (int)i;
    return -ENOENT;
}

CT_EXPORT int ct_timeout_policy_add(struct ct_table *t, const char *name,
                                    const struct ct_timeout_policy *p)
{
    if (!t || !name || !p)
        return -EINVAL;
    size_t len = strlen(name);
    if (len == 0 || len >= CT_NAME_MAX)
        return -EINVAL;
    if (p->l3 != 0 && p->l3 != CT_L3_IPV4 && p->l3 != CT_L3_IPV6)
        return -EINVAL;
    if (p->reserved8[0] || p->reserved8[1] || p->reserved[0] || p->reserved[1])
        return -EINVAL;
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        if (p->timeouts[i] && !row_of_proto(i, p->proto))
            return -EINVAL;
    if (ct_timeout_policy_find(t, name) > 0)
        return -EEXIST;
    if (t->tmpl && t->tmpl->npolicy >= CT_POLICY_MAX)
        return -ENOSPC;
    struct ct_tmpl_set *s = tmpl_set(t);
    if (!s)
        return -ENOMEM;
    uint32_t id = s->npolicy + 1;
    memcpy(s->policy[id].name, name, len + 1);
    s->policy[id].p = *p;
    /* The trackers' settings: the table's, with the policy's timeouts. */
    struct ct_proto_cfg *cfg = &s->cfg[id];
    *cfg = t->cfg;
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        if (p->timeouts[i])
            cfg->timeout_ns[i] = (uint64_t)p->timeouts[i] * CT_NS_PER_S;
    t->policy_cfg[id] = cfg;
    s->npolicy = id;
    return (int)id;
}

CT_EXPORT int ct_timeout_policy_get(const struct ct_table *t, unsigned id,
                                    struct ct_timeout_policy *out)
{
    if (!t || !out)
        return -EINVAL;
    if (!t->tmpl || id == 0 || id > t->tmpl->npolicy)
        return -ENOENT;
    *out = t->tmpl->policy[id].p;
    return 0;
}

/* ---- helpers' names ------------------------------------------------------------- */

static const char *const helper_names[CT_HELPER_COUNT] = {
    [CT_HELPER_NONE] = NULL,
#define CT_HELPER_NAME_(code, name) [CT_HELPER_##code] = name,
    CT_HELPER_LIST(CT_HELPER_NAME_)
#undef CT_HELPER_NAME_
};

CT_EXPORT int ct_helper_id(const char *name)
{
    if (!name)
        return -EINVAL;
    for (unsigned i = 1; i < CT_HELPER_COUNT; i++)
        if (strcmp(helper_names[i], name) == 0)
            return (int)i;
    return -ENOENT;
}

CT_EXPORT const char *ct_helper_name(unsigned id)
{
    return id < CT_HELPER_COUNT ? helper_names[id] : NULL;
}

/* ---- templates ------------------------------------------------------------------ */

static int labels_set(const uint8_t *l)
{
    for (unsigned i = 0; i < CT_LABELS_BYTES; i++)
        if (l[i])
            return 1;
    return 0;
}

/* -EINVAL for a template whose fields contradict each other or its flags. */
static int tmpl_check(const struct ct_template *x)
{
    uint32_t f = x->flags;
    if (f & ~(uint32_t)CT_TMPL_F_ALL)
        return -EINVAL;
    if (x->reserved8 || x->reserved[0] || x->reserved[1] || x->reserved[2] || x->reserved[3])
        return -EINVAL;
    if ((f & CT_TMPL_NOTRACK) && f != CT_TMPL_NOTRACK)
        return -EINVAL;
    if ((f & CT_TMPL_ZONE) && (f & CT_TMPL_ZONE_MARK))
        return -EINVAL;
    if (x->zone_dir & ~(unsigned)CT_ZONE_DIR_BOTH)
        return -EINVAL;
    if (x->events & ~(unsigned)CT_EVENT_ALL)
        return -EINVAL;
    /* A field set without its flag would be ignored: refuse it instead. */
    if ((x->zone && !(f & CT_TMPL_ZONE)) ||
        (x->zone_dir && !(f & (CT_TMPL_ZONE | CT_TMPL_ZONE_MARK))) ||
        (x->mark && !(f & CT_TMPL_MARK)) || (x->policy && !(f & CT_TMPL_TIMEOUT)) ||
        (x->events && !(f & CT_TMPL_EVENTS)) || (x->helper && !(f & CT_TMPL_HELPER)) ||
        (labels_set(x->labels) && !(f & CT_TMPL_LABELS)))
        return -EINVAL;
    return 0;
}

CT_EXPORT int ct_template_add(struct ct_table *t, const struct ct_template *x)
{
    if (!t || !x)
        return -EINVAL;
    int r = tmpl_check(x);
    if (r)
        return r;
    if ((x->flags & CT_TMPL_TIMEOUT) &&
        (!t->tmpl || x->policy == 0 || x->policy > t->tmpl->npolicy))
        return -ENOENT;
    if ((x->flags & CT_TMPL_HELPER) && (x->helper == CT_HELPER_NONE || x->helper >= CT_HELPER_COUNT))
        return -ENOENT;
    if (t->tmpl && t->tmpl->ntmpl >= CT_TEMPLATE_MAX)
        return -ENOSPC;
    struct ct_tmpl_set *s = tmpl_set(t);
    if (!s)
        return -ENOMEM;
    if ((x->flags & (CT_TMPL_LABELS | CT_TMPL_EVENTS | CT_TMPL_HELPER)) && s->ext_id < 0) {
        int e = ct_table_ext_register(t, sizeof(struct ct_tmpl_conn),
                                      _Alignof(struct ct_tmpl_conn));
        if (e < 0)
            return e;
        s->ext_id = e;
    }
    if (x->flags & CT_TMPL_HELPER) {
        /* The helper's own state and the expectation table (ctrack/helper.h). */
        int e = ct_helper_enable(t, NULL);
        if (e < 0)
            return e;
    }
    uint32_t id = s->ntmpl + 1;
    s->tmpl[id] = *x;
    if ((x->flags & (CT_TMPL_ZONE | CT_TMPL_ZONE_MARK)) && x->zone_dir == 0)
        s->tmpl[id].zone_dir = CT_ZONE_DIR_BOTH;
    if ((x->flags & (CT_TMPL_ZONE | CT_TMPL_ZONE_MARK)) && s->tmpl[id].zone_dir != CT_ZONE_DIR_BOTH)
        s->split_zones = 1;
    s->ntmpl = id;
    return (int)id;
}

CT_EXPORT int ct_template_get(const struct ct_table *t, unsigned id, struct ct_template *out)
{
    if (!t || !out)
        return -EINVAL;
    const struct ct_template *x = ct_tmpl_of(t, id);
    if (!x)
        return -ENOENT;
    *out = *x;
    return 0;
}

/* ---- the packet path ------------------------------------------------------------- */

/* Linux's nf_ct_zone_id(): the zone in direction dir, 0 outside the mask. */
static inline uint16_t zone_in_dir(uint16_t zone, unsigned mask, unsigned dir_bit)
{
    return (mask & dir_bit) ? zone : 0;
}

uint16_t ct_tmpl_prepare(const struct ct_table *t, struct ct_pkt *pkt, uint16_t *zone_reply)
{
    const struct ct_template *x = ct_tmpl_of(t, pkt->tmpl);
    *zone_reply = pkt->tuple.zone;
    if (!x)
        return CT_REASON_NONE;
    if (x->flags & CT_TMPL_NOTRACK)
        return CT_REASON_NOTRACK;
    if (!(x->flags & (CT_TMPL_ZONE | CT_TMPL_ZONE_MARK)))
        return CT_REASON_NONE;
    /* Linux's nf_ct_zone_tmpl(): with NF_CT_FLAG_MARK the zone id is the
     * packet's mark, truncated to 16 bits. */
    uint16_t zone = (x->flags & CT_TMPL_ZONE_MARK) ? (uint16_t)(pkt->mark & 0xffff) : x->zone;
    uint16_t zo = zone_in_dir(zone, x->zone_dir, CT_ZONE_DIR_ORIG);
    pkt->tuple.zone = zo;
    pkt->inner.zone = zo;
    *zone_reply = zone_in_dir(zone, x->zone_dir, CT_ZONE_DIR_REPL);
    return CT_REASON_NONE;
}

uint8_t ct_tmpl_policy(const struct ct_table *t, const struct ct_pkt *pkt)
{
    const struct ct_template *x = ct_tmpl_of(t, pkt->tmpl);
    if (!x || !(x->flags & CT_TMPL_TIMEOUT))
        return 0;
    /* A policy is for one protocol (and maybe one family): a template that
     * names it leaves other connections on the table's timeouts, as Linux's
     * nft_ct_timeout_obj_eval() does when the l4 protocol differs. */
    const struct ct_timeout_policy *p = &t->tmpl->policy[x->policy].p;
    if (p->proto == pkt->tuple.proto && (p->l3 == 0 || p->l3 == pkt->tuple.l3))
        return x->policy;
    return 0;
}

void ct_tmpl_apply(const struct ct_table *t, struct ct_conn *c, const struct ct_pkt *pkt)
{
    const struct ct_template *x = ct_tmpl_of(t, pkt->tmpl);
    if (!x)
        return;
    if (x->flags & (CT_TMPL_ZONE | CT_TMPL_ZONE_MARK)) {
        uint16_t zone = (x->flags & CT_TMPL_ZONE_MARK) ? (uint16_t)(pkt->mark & 0xffff) : x->zone;
        c->zone_reply = zone_in_dir(zone, x->zone_dir, CT_ZONE_DIR_REPL);
    }
    if (x->flags & CT_TMPL_MARK)
        c->mark = x->mark;
    c->policy = ct_tmpl_policy(t, pkt);
    if (x->flags & (CT_TMPL_LABELS | CT_TMPL_EVENTS | CT_TMPL_HELPER)) {
        struct ct_tmpl_conn *e = ct_tmpl_conn(t, c);
        if (x->flags & CT_TMPL_LABELS)
            memcpy(e->labels, x->labels, CT_LABELS_BYTES);
        if (x->flags & CT_TMPL_EVENTS) {
            e->events = x->events;
            e->flags |= CT_TMPL_EVENTS;
        }
        if (x->flags & CT_TMPL_HELPER)
            e->helper = x->helper;
    }
}

void ct_tmpl_conn_info(const struct ct_table *t, const struct ct_conn *c,
                       struct ct_conn_info *info)
{
    info->policy = c->policy;
    const struct ct_tmpl_conn *e = ct_tmpl_conn(t, c);
    if (!e)
        return;
    memcpy(info->labels, e->labels, CT_LABELS_BYTES);
    info->helper = e->helper;
    if (e->flags & CT_TMPL_EVENTS) {
        info->events = e->events;
        info->flags |= CT_INFO_F_EVENTS;
    }
}

void ct_tmpl_destroy(struct ct_table *t)
{
    free(t->tmpl);
    t->tmpl = NULL;
}
