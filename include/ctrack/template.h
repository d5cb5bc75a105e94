/*
 * ctrack/template.h: CT templates and timeout policies (Linux's CT target and
 * nft's ct objects, seed 003).
 *
 * A template says how a NEW connection is created: not at all (notrack), in
 * which zone for each direction (fixed, or taken from the packet mark), with
 * which ct mark, conntrack labels, timeout policy, event mask and helper. It
 * is registered in a table and named by a small id (1 to CT_TEMPLATE_MAX);
 * a packet carries the id of its template in struct ct_frame's `tmpl` (or
 * struct ct_pkt's, set by the rules of ctrack/rules.h), 0 for none.
 *
 * When a template applies:
 *   - notrack: the packet's verdict is UNTRACKED (reason NOTRACK) whether or
 *     not a connection exists, and nothing is looked up or created, as a
 *     Linux packet that met the raw table's notrack;
 *   - zone: the packet is looked up in the template's zone, per direction
 *     (below), as Linux's resolve_normal_ct() does with the template's zone;
 *   - everything else is applied once, when the packet creates a NEW
 *     connection, and never to a connection that exists already.
 *
 * Zones per direction (Linux's nf_ct_zone_id(zone, dir)): a template's zone
 * carries a direction mask, CT_ZONE_DIR_ORIG, CT_ZONE_DIR_REPL or both. A
 * connection created with it has zone `zone` in each direction inside the
 * mask and zone 0 in the other; its original tuple is indexed in the
 * original zone and its reply tuple in the reply zone. A packet with such a
 * template matches a connection's original tuple only in the original
 * zone and its reply tuple only in the reply zone. With CT_TMPL_ZONE_MARK the
 * zone is the low 16 bits of the packet mark (the iptables CT target's
 * `--zone-orig mark`, nft's `ct zone set meta mark`), with the same mask.
 *
 * Timeout policies (nft's `ct timeout` objects, `nfct timeout`): a named
 * set of per-state timeouts for one layer-4 protocol (and optionally one
 * layer-3 family), registered in the table; a state left 0 keeps the
 * table's timeout. A template names a policy by id; a connection created
 * with that template stores the id in its entry (one byte) when the
 * connection's protocol and family are the policy's, and its tracker and
 * the expiry sweep then use the policy's timeouts. Policies are stored once
 * in the table, never copied into connections.
 *
 * Helpers (nft's `ct helper` objects): named by CT_HELPER_LIST below; the
 * helpers themselves (FTP, TFTP, with their expectations) live in
 * src/helper/. ct_helper_id() resolves a name.
 *
 * Labels: 128 bits per connection (label n is bit n % 8 of byte n / 8), as
 * Linux's connlabels. Labels, the event mask and the helper id are kept in a
 * per-connection side array that the table maps when the first template
 * using one of them is registered, so tables that never use them pay
 * nothing; that registration needs a table that has not created a
 * connection yet (-EBUSY otherwise).
 *
 * Usage: register policies, then templates, after ct_table_create() and
 * before the packets that use them; pass the template id in each frame.
 * Thread-safety: the registration calls are configuration calls: not
 * concurrently with any other call on the same table (register before a
 * shared table's threads start). The query calls are reentrant and may run
 * while other threads process packets.
 * Ownership: the table copies templates and policies and frees them with
 * itself; nothing can be removed before that.
 */
#ifndef CTRACK_TEMPLATE_H
#define CTRACK_TEMPLATE_H

#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most templates, and the most timeout policies, a table holds (ids 1 to 255). */
#define CT_TEMPLATE_MAX 255
#define CT_POLICY_MAX 255
/* Bytes of a policy name, the terminating NUL included. */
#define CT_NAME_MAX 32

/* Zone directions (ct_template.zone_dir), Linux's NF_CT_ZONE_DIR_*. */
enum {
    CT_ZONE_DIR_ORIG = 1u << 0,
    CT_ZONE_DIR_REPL = 1u << 1,
    CT_ZONE_DIR_BOTH = CT_ZONE_DIR_ORIG | CT_ZONE_DIR_REPL,
};

/* Template flags (ct_template.flags): which fields apply. Unknown bits are rejected. */
enum {
    CT_TMPL_NOTRACK = 1u << 0,   /* UNTRACKED, nothing created; no other flag allowed */
    CT_TMPL_ZONE = 1u << 1,      /* zone and zone_dir */
    CT_TMPL_ZONE_MARK = 1u << 2, /* zone = packet mark & 0xffff, zone_dir; not with CT_TMPL_ZONE */
    CT_TMPL_MARK = 1u << 3,      /* ct mark = mark */
    CT_TMPL_LABELS = 1u << 4,    /* conntrack labels = labels */
    CT_TMPL_TIMEOUT = 1u << 5,   /* timeout policy = policy */
    CT_TMPL_EVENTS = 1u << 6,    /* event mask = events */
    CT_TMPL_HELPER = 1u << 7,    /* helper = helper */
    CT_TMPL_F_ALL = (1u << 8) - 1,
};

/*
 * Connection events a template lets a connection emit (ct_template.events),
 * numbered as Linux's enum ip_conntrack_events, whose bit names nft's
 * `ct event set` takes.
 */
enum {
    CT_EVENT_NEW = 1u << 0,
    CT_EVENT_RELATED = 1u << 1,
    CT_EVENT_DESTROY = 1u << 2,
    CT_EVENT_REPLY = 1u << 3,
    CT_EVENT_ASSURED = 1u << 4,
    CT_EVENT_PROTOINFO = 1u << 5,
    CT_EVENT_HELPER = 1u << 6,
    CT_EVENT_MARK = 1u << 7,
    CT_EVENT_SEQADJ = 1u << 8,
    CT_EVENT_SECMARK = 1u << 9,
    CT_EVENT_LABEL = 1u << 10,
    CT_EVENT_ALL = (1u << 11) - 1,
};

/* Helpers the library knows, X(code, name): the ids are CT_HELPER_<code>. */
#define CT_HELPER_LIST(X)                                                                  \
    X(FTP, "ftp")                                                                          \
    X(TFTP, "tftp")

enum ct_helper {
    CT_HELPER_NONE = 0,
#define CT_HELPER_ENUM_(code, name) CT_HELPER_##code,
    CT_HELPER_LIST(CT_HELPER_ENUM_)
#undef CT_HELPER_ENUM_
    CT_HELPER_COUNT
};

/* Bytes of conntrack labels per connection (128 bits). */
#define CT_LABELS_BYTES 16

/* A template; zero it, then set `flags` and the fields they name. */
struct ct_template {
    uint32_t flags;     /* CT_TMPL_* */
    uint16_t zone;      /* with CT_TMPL_ZONE */
    uint8_t zone_dir;   /* CT_ZONE_DIR_*, with CT_TMPL_ZONE or CT_TMPL_ZONE_MARK; 0 = both */
    uint8_t policy;     /* with CT_TMPL_TIMEOUT: an id from ct_timeout_policy_add() */
    uint32_t mark;      /* with CT_TMPL_MARK */
    uint16_t events;    /* with CT_TMPL_EVENTS: CT_EVENT_* */
    uint8_t helper;     /* with CT_TMPL_HELPER: enum ct_helper (ct_helper_id()) */
    uint8_t reserved8;  /* must be zero */
    uint8_t labels[CT_LABELS_BYTES]; /* with CT_TMPL_LABELS */
    uint32_t reserved[4]; /* must be zero */
};

/*
 * Registers a copy of *tmpl in the table. Returns its id (1 to
 * CT_TEMPLATE_MAX), or:
 *   -EINVAL  table or tmpl is NULL, an unknown flag, a reserved field not
 *            zero, NOTRACK with another flag, ZONE with ZONE_MARK, a
 *            zone_dir outside CT_ZONE_DIR_BOTH, an event outside
 *            CT_EVENT_ALL, or a field set without its flag;
 *   -ENOENT  CT_TMPL_TIMEOUT names no registered policy, or CT_TMPL_HELPER
 *            no helper of CT_HELPER_LIST;
 *   -ENOSPC  CT_TEMPLATE_MAX templates are registered;
 *   -EBUSY   the template uses labels, events or a helper, the table keeps
 *            no side array for them yet, and it has already created a
 *            connection (register such templates first);
 *   -ENOTSUP CT_TMPL_HELPER on a shared table (ct_helper_enable());
 *   -ENOMEM  out of memory.
 */
int ct_template_add(struct ct_table *table, const struct ct_template *tmpl);

/*
 * Copies template `id` into *out. Returns 0, -EINVAL if an argument is
 * NULL, or -ENOENT if no template has that id.
 */
int ct_template_get(const struct ct_table *table, unsigned id, struct ct_template *out);

/*
 * A timeout policy: per-state timeouts in seconds for one protocol, indexed
 * by enum ct_timeout (ctrack/conn.h); 0 keeps the table's timeout. Only
 * the states of `proto` may be set: TCP the TCP_* rows, UDP and UDP-Lite
 * UDP and UDP_STREAM, ICMP and ICMPv6 ICMP, GRE the GRE rows, SCTP the
 * SCTP_* rows, any other protocol GENERIC.
 */
struct ct_timeout_policy {
    uint8_t l3;          /* CT_L3_IPV4, CT_L3_IPV6, or 0 for both families */
    uint8_t proto;       /* IP protocol number */
    uint8_t reserved8[2]; /* must be zero */
    uint32_t timeouts[CT_TIMEOUT_COUNT];
    uint32_t reserved[2]; /* must be zero */
};

/*
 * Registers a timeout policy under `name` (1 to CT_NAME_MAX - 1 bytes).
 * Returns its id (1 to CT_POLICY_MAX), or:
 *   -EINVAL  an argument is NULL, the name is empty or too long, l3 is not
 *            0, CT_L3_IPV4 or CT_L3_IPV6, a timeout of another protocol's
 *            state is set, or a reserved field is not zero;
 *   -EEXIST  a policy of that name exists;
 *   -ENOSPC  CT_POLICY_MAX policies are registered;
 *   -ENOMEM  out of memory.
 */
int ct_timeout_policy_add(struct ct_table *table, const char *name,
                          const struct ct_timeout_policy *policy);

/* The id of the policy named `name`, -ENOENT if none, -EINVAL if an argument is NULL. */
int ct_timeout_policy_find(const struct ct_table *table, const char *name);

/*
 * Copies policy `id` into *out (the timeouts as registered, 0 where the
 * table's apply). Returns 0, -EINVAL if an argument is NULL, or -ENOENT.
 */
int ct_timeout_policy_get(const struct ct_table *table, unsigned id,
                          struct ct_timeout_policy *out);

/* The id (enum ct_helper) of the helper named `name` ("ftp"), -ENOENT, or -EINVAL for NULL. */
int ct_helper_id(const char *name);

/* The name of helper `id`, or NULL for CT_HELPER_NONE and unknown ids. */
const char *ct_helper_name(unsigned id);

#ifdef __cplusplus
}
#endif

#endif
