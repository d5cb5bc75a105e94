/*
 * ctrack/rules.h: rules in nftables syntax that choose zones, notrack,
 * marks and the settings of new connections (docs/rules.md).
 *
 * Usage: ct_ruleset_load() compiles the text of a rules file (the subset of
 * `nft -f` syntax that docs/rules.md lists) into a struct ct_ruleset, or
 * fails with a located message (line, column, problem). Name the
 * interfaces the caller's packets arrive on with ct_ruleset_set_iface(), so
 * that `iifname` matches. Then, per packet:
 *   - before looking it up, ct_rules_eval_pre() runs the base chains of the
 *     packet's hook whose priority is below conntrack's (-200, "raw"):
 *     drop, notrack, the zone to look it up in with its directions (as in
 *     Linux, the last zone statement sets both the zone and its
 *     directions: `ct original zone set 1 ct reply zone set 2` leaves zone
 *     2 in the reply direction only) and `meta mark set`;
 *   - after conntrack, ct_rules_eval_post() runs the chains at priority
 *     -200 and above, which can match `ct state`, `ct zone` and `ct mark`:
 *     drop (a NEW connection dropped is not created), `ct mark set`, and
 *     for a NEW connection the timeout policy, the helper and the event
 *     mask.
 * The packet path (ctrack/table.h) does both when the ruleset is attached
 * to the table with ct_ruleset_attach(), and marks the packets a rule
 * drops with CT_VERDICT_DROP; a dataplane that tracks by itself can call
 * the two evaluations directly. Frames flagged CT_FRAME_F_LOCAL meet the
 * `output` chains, all others the `prerouting` ones.
 * Chains of `type nat` (snat, dnat, masquerade, redirect) run only for a
 * connection's first packet, when the table's NAT (ctrack/nat.h) asks
 * them for its bindings; ct_ruleset_set_nat_addr() names the addresses
 * masquerade and redirect translate to.
 * ct_ruleset_timeout() and ct_ruleset_helper() describe the `ct timeout`
 * and `ct helper` objects the rules name, by the index that the results
 * carry.
 *
 * Thread-safety: a loaded ruleset is read-only to the evaluation calls,
 * which may run concurrently from any number of threads (the counters of
 * `counter` statements are updated with atomic adds).
 * ct_ruleset_set_iface() and ct_ruleset_set_nat_addr() write the ruleset:
 * call them before evaluating.
 * Ownership: the caller owns the ruleset and frees it with
 * ct_ruleset_free() once no table holds it and no evaluation runs.
 */
#ifndef CTRACK_RULES_H
#define CTRACK_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "ctrack/template.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_ruleset;

/* Where a load failed: 1-based line and column of the offending token (0
 * when the problem is not at one place, such as a limit on the whole file)
 * and a one-line description naming the construct. */
struct ct_rules_error {
    uint32_t line;
    uint32_t col;
    char msg[160];
};

/*
 * Compiles `len` bytes of rules text. On failure returns NULL, sets *err
 * (when err is not NULL) and, when where is not NULL, fills it:
 *   -EINVAL  a syntax error, an unsupported construct, a value out of
 *            range, a name that refers to nothing (a timeout or helper
 *            object, a set, a variable), a statement in a chain where it
 *            would have no effect;
 *   -E2BIG   the rules exceed a limit (text size, rules, set elements,
 *            objects; docs/rules.md lists them);
 *   -ENOMEM  out of memory.
 * Nothing in the text is ever ignored: what is not understood fails.
 */
struct ct_ruleset *ct_ruleset_load(const char *text, size_t len, struct ct_rules_error *where,
                                   int *err);

/* Frees a ruleset; NULL is ignored. */
void ct_ruleset_free(struct ct_ruleset *rs);

/* Interface indexes that can carry a name (ct_ruleset_set_iface()). */
#define CT_RULES_MAX_IFINDEX 1023

/*
 * Names interface `iif` (1 to CT_RULES_MAX_IFINDEX) `name`, so that
 * `iifname` patterns and `iif "NAME"` match packets that arrive on it.
 * Returns 0, -EINVAL for iif 0 or a NULL name, -ERANGE for iif above the
 * maximum. Not concurrently with evaluation.
 */
int ct_ruleset_set_iface(struct ct_ruleset *rs, uint16_t iif, const char *name);

/* Which local address a NAT statement resolves (ct_ruleset_set_nat_addr()). */
enum ct_rules_nat_addr {
    CT_RULES_NAT_MASQUERADE = 0, /* `masquerade`: the output interface's address */
    CT_RULES_NAT_REDIRECT = 1,   /* `redirect` in prerouting: the input interface's address */
};

/*
 * Sets the address that `masquerade` (kind CT_RULES_NAT_MASQUERADE) or
 * `redirect` (CT_RULES_NAT_REDIRECT) translates to for connections of
 * family l3 (enum ct_l3): ctrack does not route, so the caller says which
 * address the output or input interface has. `redirect` in an output
 * chain goes to the loopback address (127.0.0.1, ::1), as Linux's does. A
 * masquerade or redirect without an address drops the packet, as Linux
 * does for an interface without one. Returns 0, -EINVAL (NULL argument,
 * unknown kind or family). Not concurrently with evaluation.
 */
int ct_ruleset_set_nat_addr(struct ct_ruleset *rs, unsigned kind, unsigned l3,
                            const union ct_addr *addr);

struct ct_table;

/*
 * Attaches rs to the table: the packet path (ct_process_burst() and the
 * other calls of ctrack/table.h) then runs its chains on every packet, as
 * docs/rules.md describes, and sets CT_VERDICT_DROP on the packets a rule
 * drops. Attaching enables helpers (ct_helper_enable()) when the rules
 * have `ct helper` objects, and registers a timeout policy per `ct timeout`
 * object (named as the object) and the templates (ctrack/template.h) that
 * the rules' notrack and zone statements need, and enables NAT with
 * ct_nat_enable()'s defaults when the rules have nat chains and the table
 * has no NAT yet (to choose the NAT settings, enable it first); call it
 * after ct_table_create() and before the first packet. rs must outlive the
 * attachment; several tables may share one ruleset. rs NULL detaches (what
 * was registered stays). Returns 0, or:
 *   -EINVAL       table is NULL;
 *   -EEXIST       a ruleset is attached already, or a timeout policy of
 *                 an object's name is registered;
 *   -ENAMETOOLONG a timeout object's name does not fit a policy name;
 *   -ENOSPC       the templates or policies do not fit the table's 255;
 *   -EBUSY        the rules use helpers or event masks, or have nat chains
 *                 for a table without NAT, and the table has created
 *                 connections already;
 *   -ENOTSUP      the rules use helpers and the table is shared (helpers
 *                 run in tables of one thread, ctrack/helper.h);
 *   -ENOMEM       out of memory.
 * What was registered before a failure stays registered.
 */
int ct_ruleset_attach(struct ct_table *table, struct ct_ruleset *rs);

/* Hooks a packet can traverse (docs/rules.md, "Hooks"). */
enum ct_rules_hook {
    CT_RULES_HOOK_PREROUTING = 0, /* received packets */
    CT_RULES_HOOK_OUTPUT = 1,     /* locally generated packets */
    CT_RULES_HOOK_COUNT
};

/* 1 if the ruleset has chains for `hook` on that side of conntrack
 * (after = 0: priority below -200; 1: -200 and above), else 0. */
int ct_ruleset_has_chains(const struct ct_ruleset *rs, unsigned hook, int after);

/* What the packet carries besides its bytes, and after conntrack what its
 * connection is. */
struct ct_rules_meta {
    uint16_t iif;     /* input interface index, 0 = unknown */
    uint8_t hook;     /* enum ct_rules_hook */
    uint8_t ct_state; /* ct_rules_eval_post(): enum ct_state of the verdict */
    uint16_t ct_zone; /* ct_rules_eval_post(): the connection's zone (original direction) */
    uint8_t created;  /* ct_rules_eval_post(): this packet is creating the connection */
    uint8_t pad;
    uint32_t ct_mark; /* ct_rules_eval_post(): the connection's mark (0 for NEW) */
};

/* The outcome of the chains. Zero it before the first call; both calls
 * only set the fields their statements write. */
struct ct_rules_out {
    uint8_t drop;        /* a rule or a chain policy dropped the packet */
    uint8_t notrack;     /* pre: `notrack`: UNTRACKED, nothing looked up or created */
    uint8_t zone_dirs;   /* pre: CT_ZONE_DIR_* directions of `zone`; 0 = no zone set */
    uint8_t timeout;     /* post: 1 + index of the `ct timeout` object, 0 = none */
    uint16_t zone;       /* pre: the zone of the directions in zone_dirs (the others: 0) */
    uint8_t zone_mark;   /* pre: `zone` came from `ct zone set meta mark` */
    uint8_t helper;      /* post: 1 + index of the `ct helper` object, 0 = none */
    uint8_t ct_mark_set; /* post: ct_mark is to be written to the connection */
    uint8_t events_set;  /* post: `events` holds the connection's event mask */
    uint16_t events;     /* post: CT_EVENT_* (ctrack/template.h) */
    uint32_t ct_mark;
};

/*
 * Runs the chains before conntrack (priority < -200) of meta->hook over a
 * parsed packet; `meta mark set` writes pkt->mark. Returns 1 if the packet
 * may go on (out->notrack says whether to track it), 0 if it was dropped
 * (out->drop). A packet that did not parse (reason other than
 * CT_REASON_NONE) matches only rules without packet matches.
 */
int ct_rules_eval_pre(struct ct_ruleset *rs, struct ct_pkt *pkt, const struct ct_rules_meta *meta,
                      struct ct_rules_out *out);

/*
 * Runs the chains after conntrack (priority >= -200) of meta->hook.
 * Returns 1 if the packet may go on, 0 if it was dropped.
 * The statements that apply only to a connection being created
 * (`ct timeout set`, `ct helper set`, `ct event set`) are recorded only
 * when meta->ct_state is CT_STATE_NEW or meta->created is set (a RELATED
 * connection made from an expectation), as Linux applies them only to an
 * unconfirmed connection; `ct mark set` is recorded for any tracked packet.
 */
int ct_rules_eval_post(struct ct_ruleset *rs, struct ct_pkt *pkt,
                       const struct ct_rules_meta *meta, struct ct_rules_out *out);

/* A `ct timeout NAME { ... }` object: per-state timeouts for one protocol.
 * seconds[i] is the timeout CT_TIMEOUT_* i, 0 where the policy does not
 * set it (the table's value applies). */
struct ct_rules_timeout {
    char name[64];
    uint8_t l3;    /* CT_L3_IPV4, CT_L3_IPV6, or 0 for both (l3proto inet) */
    uint8_t proto; /* IP protocol */
    uint16_t pad;
    uint32_t seconds[CT_TIMEOUT_COUNT];
};

/* A `ct helper NAME { type "ftp" protocol tcp; }` object. */
struct ct_rules_helper {
    char name[64];
    char type[16]; /* "ftp" or "tftp" */
    uint8_t l3;    /* CT_L3_IPV4, CT_L3_IPV6, or 0 for both */
    uint8_t proto; /* IP protocol */
};

/* Number of timeout objects; copies object `i` to *out. Return 0 or
 * -ENOENT for an index out of range. */
unsigned ct_ruleset_timeout_count(const struct ct_ruleset *rs);
int ct_ruleset_timeout(const struct ct_ruleset *rs, unsigned i, struct ct_rules_timeout *out);
unsigned ct_ruleset_helper_count(const struct ct_ruleset *rs);
int ct_ruleset_helper(const struct ct_ruleset *rs, unsigned i, struct ct_rules_helper *out);

/*
 * Counters of rule `rule` (0-based, in file order over all chains).
 * Returns 0, -ENOENT when there is no such rule or it has no `counter`.
 */
int ct_ruleset_counter(const struct ct_ruleset *rs, unsigned rule, uint64_t *packets,
                       uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif
