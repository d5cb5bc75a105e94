/*
 * A ruleset attached to a table: ct_ruleset_attach() and the three
 * calls the packet path makes when a table holds one (process.c).
 *
 * The rules choose CT templates (ctrack/template.h). What the chains before
 * conntrack can decide for a packet is finite and known when the rules are
 * loaded: notrack, or one of the zone settings the file writes (a value
 * and its directions, or "from the mark"). So attaching registers one
 * template for each, and the packet path only looks its id up
 * (ct_rules_burst_pre()). The statements after conntrack (ct mark, timeout
 * policy, helper, event mask) are written into the connection being
 * created directly (ct_rules_conn_new()), in the template's own places:
 * the entry's mark and policy byte and the template side array.
 *
 * The nat chains are not run here: the NAT core (src/nat/nat.c) asks
 * ct_rules_conn_nat() for each manip of a connection being created.
 *
 * Costs: a table without rules pays one predictable branch per burst and
 * one per connection created (t->rules == NULL).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "ctrack/helper.h"
#include "ctrack/nat.h"
#include "ctrack/table.h"
#include "ctrack/template.h"
#include "helper/helper.h"
#include "rules/rules.h"
#include "table/table.h"
#include "template/template.h"

struct zset {
    uint16_t zone;
    uint8_t dirs;
    uint8_t mark; /* zone from the packet mark */
};

struct ct_rules_bind {
    struct ct_ruleset *rs;
    uint8_t notrack_id;
    uint8_t policy[RULES_MAX_OBJECTS]; /* the table's policy id of each timeout object */
    uint8_t helper[RULES_MAX_OBJECTS]; /* enum ct_helper of each helper object */
    uint32_t nz;
    struct zset *z;
    uint8_t *ids; /* [zone index]: template id */
};

static int zset_find(const struct ct_rules_bind *b, struct zset z)
{
    for (uint32_t i = 0; i < b->nz; i++)
        if (b->z[i].zone == z.zone && b->z[i].dirs == z.dirs && b->z[i].mark == z.mark)
            return (int)i;
    return -1;
}

/* The distinct zone settings the statements can produce. */
static int collect_zones(struct ct_rules_bind *b)
{
    const struct ct_ruleset *rs = b->rs;
    for (uint32_t i = 0; i < rs->nstmts; i++) {
        const struct rstmt *s = &rs->stmts[i];
        uint32_t n = s->kind == RS_ZONE_MARK_MAP ? s->n : 1;
        if (s->kind != RS_ZONE_SET && s->kind != RS_ZONE_MARK && s->kind != RS_ZONE_MARK_MAP)
            continue;
        for (uint32_t k = 0; k < n; k++) {
            struct zset z = {.dirs = s->dirs, .mark = s->kind == RS_ZONE_MARK};
            if (s->kind == RS_ZONE_SET)
                z.zone = (uint16_t)s->value;
            else if (s->kind == RS_ZONE_MARK_MAP)
                z.zone = (uint16_t)rs->mapval[s->off + k];
            if (zset_find(b, z) >= 0)
                continue;
            if (b->nz >= CT_TEMPLATE_MAX)
                return -ENOSPC;
            struct zset *nz = realloc(b->z, (b->nz + 1) * sizeof(*nz));
            if (!nz)
                return -ENOMEM;
            b->z = nz;
            b->z[b->nz++] = z;
        }
    }
    return 0;
}

static int uses(const struct ct_ruleset *rs, uint8_t kind)
{
    for (uint32_t i = 0; i < rs->nstmts; i++)
        if (rs->stmts[i].kind == kind)
            return 1;
    return 0;
}

/* Registers what the rules need in the table; fills b. */
static int bind(struct ct_table *t, struct ct_rules_bind *b)
{
    const struct ct_ruleset *rs = b->rs;
    int r;
    /* nat chains need the table's NAT (ctrack/nat.h); a caller that has
     * not enabled it gets the defaults. */
    int nat = 0;
    for (unsigned h = 0; h < RULES_NAT_HOOKS; h++)
        nat |= rs->nnatseq[h] != 0;
    if (nat && !t->nat) {
        struct ct_nat_config nc;
        ct_nat_config_init(&nc);
        if ((r = ct_nat_enable(t, &nc)) != 0)
            return r;
    }
    for (uint32_t i = 0; i < rs->ntimeouts; i++) {
        const struct ct_rules_timeout *o = &rs->timeouts[i];
        struct ct_timeout_policy p = {.l3 = o->l3, .proto = o->proto};
        memcpy(p.timeouts, o->seconds, sizeof(p.timeouts));
        char name[CT_NAME_MAX];
        size_t l = strlen(o->name);
        if (l >= CT_NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(name, o->name, l + 1);
        r = ct_timeout_policy_add(t, name, &p);
        if (r < 0)
            return r;
        b->policy[i] = (uint8_t)r;
    }
    for (uint32_t i = 0; i < rs->nhelpers; i++) {
        r = ct_helper_id(rs->helpers[i].type);
        if (r < 0)
            return r;
        b->helper[i] = (uint8_t)r;
    }
    /* Helpers run only in a table that has them enabled. */
    if (rs->nhelpers && !t->helpers && (r = ct_helper_enable(t, NULL)) != 0)
        return r;
    /* Helpers and event masks live in the template side array, which the
     * table maps when a template that uses them is registered. */
    if (rs->nhelpers || uses(rs, RS_CT_EVENT)) {
        struct ct_template x = {.flags = CT_TMPL_EVENTS | CT_TMPL_HELPER,
                                .events = CT_EVENT_ALL,
                                .helper = rs->nhelpers ? b->helper[0] : CT_HELPER_FTP};
        if ((r = ct_template_add(t, &x)) < 0)
            return r;
    }
    if (uses(rs, RS_NOTRACK)) {
        struct ct_template x = {.flags = CT_TMPL_NOTRACK};
        if ((r = ct_template_add(t, &x)) < 0)
            return r;
        b->notrack_id = (uint8_t)r;
    }
    if ((r = collect_zones(b)) != 0)
        return r;
    b->ids = calloc(b->nz + 1, 1);
    if (!b->ids)
        return -ENOMEM;
    for (uint32_t zi = 0; zi < b->nz; zi++) {
        const struct zset *z = &b->z[zi];
        struct ct_template x = {.flags = z->mark ? CT_TMPL_ZONE_MARK : CT_TMPL_ZONE,
                                .zone = z->mark ? 0 : z->zone, .zone_dir = z->dirs};
        if ((r = ct_template_add(t, &x)) < 0)
            return r;
        b->ids[zi] = (uint8_t)r;
    }
    return 0;
}

static void bind_free(struct ct_rules_bind *b)
{
    if (!b)
        return;
    free(b->z);
    free(b->ids);
    free(b);
}

CT_EXPORT int ct_ruleset_attach(struct ct_table *table, struct ct_ruleset *rs)
{
    if (!table)
        return -EINVAL;
    if (!rs) {
        bind_free(table->rules);
        table->rules = NULL;
        return 0;
    }
    if (table->rules)
        return -EEXIST;
    struct ct_rules_bind *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->rs = rs;
    int r = bind(table, b);
    if (r != 0) {
        bind_free(b);
        return r;
    }
    table->rules = b;
    return 0;
}

void ct_rules_unbind(struct ct_table *t)
{
    bind_free(t->rules);
    t->rules = NULL;
}

/* The hook a packet traverses: output for locally generated packets. */
static uint8_t hook_of(const struct ct_pkt *pkt)
{
    return (pkt->frame_flags & CT_FRAME_F_LOCAL) ? CT_RULES_HOOK_OUTPUT
                                                 : CT_RULES_HOOK_PREROUTING;
}

void ct_rules_burst_pre(struct ct_table *t, struct ct_pkt *pkts, unsigned n)
{
    struct ct_rules_bind *b = t->rules;
    for (unsigned i = 0; i < n; i++) {
        struct ct_pkt *pkt = &pkts[i];
        struct ct_rules_meta m = {.iif = pkt->iif, .hook = hook_of(pkt)};
        struct ct_rules_out o;
        if (!b->rs->nseq[m.hook][0])
            continue;
        memset(&o, 0, sizeof(o));
        if (!ct_rules_eval_pre(b->rs, pkt, &m, &o)) {
            pkt->reason = CT_REASON_RULE_DROP;
            continue;
        }
        /* A template the caller chose stays unless the rules choose one. */
        if (o.notrack) {
            pkt->tmpl = b->notrack_id;
        } else if (o.zone_dirs) {
            struct zset z = {.zone = o.zone_mark ? 0 : o.zone, .dirs = o.zone_dirs,
                             .mark = o.zone_mark};
            pkt->tmpl = b->ids[zset_find(b, z)];
        }
    }
}

/* `ct zone` of a connection: nft reads the zone's id, which is the zone of
 * each direction the zone applies to (the other is 0). */
static uint16_t conn_zone(const struct ct_conn *c)
{
    uint16_t zo = ct_conn_is_v6(c) ? ct_conn_key6((struct ct_conn *)c)->zone
                                   : ct_conn_key4((struct ct_conn *)c)->zone;
    return zo ? zo : c->zone_reply;
}

int ct_rules_conn_new(struct ct_table *t, struct ct_conn *c, struct ct_pkt *pkt, uint64_t now)
{
    struct ct_rules_bind *b = t->rules;
    /* A connection an expectation awaits is RELATED from its first packet
     * (helper/helper.h), and `ct state` says so to the rules. */
    uint8_t state = t->helpers && ct_helper_would_relate(t, pkt, now) ? CT_STATE_RELATED
                                                                      : CT_STATE_NEW;
    struct ct_rules_meta m = {.iif = pkt->iif, .hook = hook_of(pkt), .ct_state = state,
                              .ct_zone = c ? conn_zone(c) : pkt->tuple.zone,
                              .ct_mark = c ? c->mark : 0, .created = 1};
    struct ct_rules_out o;
    if (!b->rs->nseq[m.hook][1])
        return 0;
    memset(&o, 0, sizeof(o));
    if (!ct_rules_eval_post(b->rs, pkt, &m, &o))
        return -EPERM;
    if (!c)
        return 0;
    if (o.ct_mark_set)
        c->mark = o.ct_mark;
    if (o.timeout)
        c->policy = b->policy[o.timeout - 1];
    if (o.helper || o.events_set) {
        struct ct_tmpl_conn *x = ct_tmpl_conn(t, c);
        if (x && o.helper)
            x->helper = b->helper[o.helper - 1];
        if (x && o.events_set) {
            x->events = o.events;
            x->flags |= CT_TMPL_EVENTS;
        }
    }
    return 0;
}

void ct_rules_burst_post(struct ct_table *t, struct ct_pkt *pkts, struct ct_verdict *v,
                         unsigned n)
{
    struct ct_rules_bind *b = t->rules;
    for (unsigned i = 0; i < n; i++) {
        struct ct_pkt *pkt = &pkts[i];
        if (v[i].reason == CT_REASON_RULE_DROP) {
            v[i].flags |= CT_VERDICT_DROP;
            continue;
        }
        /* Packets that created (or, uncommitted, would have created) a
         * connection met the chains then (ct_rules_conn_new()). A NEW
         * packet of an existing connection (no reply seen yet) meets them
         * here. */
        if ((v[i].flags & CT_VERDICT_CREATED) || (v[i].state == CT_STATE_NEW && !v[i].conn))
            continue;
        struct ct_conn *c = v[i].conn;
        struct ct_rules_meta m = {.iif = pkt->iif, .hook = hook_of(pkt),
                                  .ct_state = v[i].state,
                                  .ct_zone = c ? conn_zone(c) : pkt->tuple.zone,
                                  .ct_mark = c ? __atomic_load_n(&c->mark, __ATOMIC_RELAXED)
                                               : 0};
        struct ct_rules_out o;
        if (!b->rs->nseq[m.hook][1])
            continue;
        memset(&o, 0, sizeof(o));
        if (!ct_rules_eval_post(b->rs, pkt, &m, &o))
            v[i].flags |= CT_VERDICT_DROP;
        /* ct mark set on an existing connection, as Linux's
         * nft_ct_set_eval(): a relaxed store, since in a shared table the
         * connection's lock is no longer held here. */
        if (o.ct_mark_set && c)
            __atomic_store_n(&c->mark, o.ct_mark, __ATOMIC_RELAXED);
    }
}

int ct_rules_conn_nat(struct ct_table *t, const struct ct_pkt *pkt, unsigned manip,
                      const struct ct_tuple *tuple, struct ct_nat_range *range)
{
    return ct_rules_eval_nat(t->rules->rs, pkt, manip, tuple, range);
}
