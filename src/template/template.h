/*
 * template/template.h: CT templates and timeout policies inside the library
 * (API: ctrack/template.h; seed 003).
 *
 * ---- Design -----------------------------------------------------------------
 *
 * What. A table's templates and timeout policies live in one block, `struct
 * ct_tmpl_set`, allocated by the first registration (t->tmpl; NULL before,
 * so a table that never registers one pays a NULL pointer). Templates and
 * policies are arrays indexed by their ids (1 to 255; slot 0 unused), so a
 * packet's template is one index away and a connection's policy is one
 * byte in its entry (struct ct_conn's `policy`, which ct_table_conn_cfg()
 * in table/table.h reads).
 *
 * Policies. Each policy is kept twice: as registered (for
 * ct_timeout_policy_get()) and as the trackers' settings, a full struct
 * ct_proto_cfg (the table's, with the policy's timeouts written over it),
 * so a tracker and the sweep read a policy connection's timeouts exactly as
 * the table's: t->policy_cfg[id]. Linux keeps a pointer to the timeout
 * object in the connection's timeout extension (nf_conn_timeout); one byte
 * of the entry is what ctrack spends.
 *
 * Per-connection extras. Labels (128 bits), the event mask and the helper
 * id have no room in the entry (table/conn.h: every byte of the hot lines is
 * spoken for), so they sit in one per-connection side array (table/ext.h),
 * registered by the first template that sets one of them. Connections of a
 * table without such templates have no slot at all.
 *
 * The packet path calls in twice, both times only for a packet whose
 * `tmpl` is non-zero (process.c): ct_tmpl_prepare() before the lookup (the
 * notrack verdict, the zone of each direction) and ct_tmpl_apply() when
 * such a packet creates a connection.
 */
#ifndef CT_TEMPLATE_TEMPLATE_H
#define CT_TEMPLATE_TEMPLATE_H

#include <stdint.h>

#include "ctrack/template.h"
#include "table/ext.h"
#include "table/table.h"

/* A template's per-connection extras (the side array's slot). */
struct ct_tmpl_conn {
    uint8_t labels[CT_LABELS_BYTES];
    uint16_t events; /* CT_EVENT_* the connection may emit; 0 without CT_TMPL_EVENTS */
    uint8_t helper;  /* enum ct_helper */
    uint8_t flags;   /* CT_TMPL_EVENTS when `events` was set by a template */
};

struct ct_tmpl_policy {
    char name[CT_NAME_MAX];
    struct ct_timeout_policy p; /* as registered */
};

struct ct_tmpl_set {
    uint32_t ntmpl;   /* ids 1 .. ntmpl are registered */
    uint32_t npolicy; /* ids 1 .. npolicy */
    int ext_id;       /* side array of struct ct_tmpl_conn; -1 until needed */
    int split_zones;  /* a template's zone covers one direction only */
    struct ct_template tmpl[CT_TEMPLATE_MAX + 1];
    struct ct_tmpl_policy policy[CT_POLICY_MAX + 1];
    struct ct_proto_cfg cfg[CT_POLICY_MAX + 1]; /* t->policy_cfg[id] points here */
};

/* The template a packet names, or NULL (no template, or an id not registered). */
static inline const struct ct_template *ct_tmpl_of(const struct ct_table *t, unsigned id)
{
    const struct ct_tmpl_set *s = t->tmpl;
    return s && id != 0 && id <= s->ntmpl ? &s->tmpl[id] : NULL;
}

/*
 * Before the lookup of a packet whose `tmpl` is non-zero: CT_REASON_NOTRACK
 * if its template says notrack; else CT_REASON_NONE, with the template's
 * original-direction zone written into the packet's tuples (its own and the
 * quoted one of an ICMP error) and the reply-direction zone in *zone_reply
 * (the tuple's zone when the template sets none).
 */
uint16_t ct_tmpl_prepare(const struct ct_table *t, struct ct_pkt *pkt, uint16_t *zone_reply);

/*
 * On a connection being created by pkt, before its tracker's new function
 * (the policy decides the timeouts it uses): applies pkt's template, if
 * any: the reply zone, the ct mark, the timeout policy when the
 * connection's protocol and family are the policy's, and the side array's
 * labels, events and helper. The original key (and its zone) is already set.
 */
void ct_tmpl_apply(const struct ct_table *t, struct ct_conn *c, const struct ct_pkt *pkt);

/* The timeout policy pkt's template gives a connection of pkt's protocol
 * and family: its id, or 0 (the table's timeouts). */
uint8_t ct_tmpl_policy(const struct ct_table *t, const struct ct_pkt *pkt);

/* Whether connections of t may have zones that differ per direction (the
 * packet path then checks a new connection's reply tuple for a clash). */
static inline int ct_tmpl_split_zones(const struct ct_table *t)
{
    return t->tmpl->split_zones;
}

/* The extras of connection c, or NULL when the table keeps none. */
static inline struct ct_tmpl_conn *ct_tmpl_conn(const struct ct_table *t, const struct ct_conn *c)
{
    if (CT_LIKELY(t->tmpl == NULL) || t->tmpl->ext_id < 0)
        return NULL;
    return (struct ct_tmpl_conn *)ct_table_ext_get(t, ct_table_conn_id(t, c),
                                                   (unsigned)t->tmpl->ext_id);
}

/* The helper (enum ct_helper) of connection c; CT_HELPER_NONE when none. */
static inline unsigned ct_tmpl_conn_helper(const struct ct_table *t, const struct ct_conn *c)
{
    const struct ct_tmpl_conn *x = ct_tmpl_conn(t, c);
    return x ? x->helper : CT_HELPER_NONE;
}

/* Fills the template fields of ct_conn_get_info() (labels, events, helper, policy). */
void ct_tmpl_conn_info(const struct ct_table *t, const struct ct_conn *c,
                       struct ct_conn_info *info);

/* Frees t->tmpl (ct_table_destroy()). */
void ct_tmpl_destroy(struct ct_table *t);

#endif
