/*
 * Private interface of NAT (docs/nat.md): the table's NAT state, the
 * per-connection binding and the calls the packet path makes.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * Binding. A translated connection's reply tuple is not the inverse of its
 * original, so it cannot be derived (table/table.h) and is kept in a side
 * array (table/ext.h) slot of the connection, as the index's key: struct
 * ct_key4 or ct_key6 with the reply zone. In a table with NAT every
 * connection has its slot filled, translated or not, and the reply key's
 * derivation (ct_table_reply_key4/6(), ct_table_reply_match4()) reads the
 * slot whenever t->nat is set: it tests the table, which never changes,
 * together with the ICMP case it already tested, so a table without NAT
 * pays one OR on a reply-direction lookup, and lock-free lookups of shared
 * tables never read a connection's status (written by other threads under
 * its lock). Which manips changed the tuple is kept in the slot too, and in
 * the public status bits Linux uses for it (CT_STATUS_SRC_NAT,
 * CT_STATUS_DST_NAT), for readers. The slot is written before the insert
 * and never changed; it lives and dies with the entry: unlinking the
 * connection's two tuples (every path that ends one) is what releases its
 * ports; there is no separate port map to leak or to keep consistent.
 *
 * Allocation (ct_nat_conn_new()) follows Linux's get_unique_tuple() and
 * nf_nat_l4proto_unique_tuple() (net/netfilter/nf_nat_core.c): a
 * candidate is taken when the reply tuple it implies is in no live
 * connection's index slot, whichever direction (nf_nat_used_tuple()). So
 * uniqueness is of the whole tuple, and one address serves 64 k
 * connections per remote endpoint. Addresses from a range are chosen by
 * Linux's hash (Jenkins' lookup3 jhash2 of the source, keyed by the
 * destination unless `persistent`), so a range gives the kernel's choice.
 * docs/nat.md has the algorithm and every difference.
 *
 * Thread-safety: the allocation reads the index through the table's own
 * lookup (locked view in shared tables); a shared table's insert re-checks
 * both tuples under the bucket locks and the packet path allocates again
 * when another thread took the reply tuple meanwhile (process.c).
 */
#ifndef CT_NAT_NAT_H
#define CT_NAT_NAT_H

#include <stdint.h>

#include "ctrack/nat.h"
#include "table/conn.h"
#include "table/table.h"

struct ct_table;
struct ct_conn;
struct ct_pkt;
struct ct_verdict;

/*
 * A connection's binding: its reply key, as the index sees it, and which
 * manips changed it. Every connection of a NAT table has one, translated or
 * not, so that the reply key's derivation needs to know only whether the
 * table has NAT (t->nat, set before the first packet) and never reads the
 * connection's status, which other threads write under the connection's
 * lock while lock-free lookups compare keys (table/shared.h). Written once
 * before the insert, never changed: [I].
 */
struct ct_nat_slot {
    union { /* first: ct_table_nat_reply() is the slot's address */
        struct ct_key4 k4;
        struct ct_key6 k6;
    };
    uint16_t nat; /* CT_STATUS_SRC_NAT | CT_STATUS_DST_NAT as set at creation */
    uint16_t bs;  /* 1 while on a by-source list (below) */
    /* The by-source list of the connection's original source: which list
     * (set with the binding), and its neighbours there, connection ids,
     * CT_ID_NONE at the ends. Under the list's lock in shared tables. */
    uint32_t bs_list;
    uint32_t bs_next, bs_prev;
};

/* The table's NAT state (t->nat). */
/*
 * By source (Linux's nf_nat_bysource): every live connection of the table,
 * hashed by its original source (address, port, protocol, zone), so that
 * an SNAT whose original source is not in the range reuses the translated
 * source an earlier connection from the same source got, when it is in the
 * range and unique (find_appropriate_src(): the same client keeps one
 * public address and port towards every destination). Doubly linked
 * through the bindings; a shared table guards each list with one of
 * CT_NAT_BS_LOCKS spinlocks.
 */
#define CT_NAT_BS_LOCKS 256u

struct ct_nat_bs_lock;

struct ct_nat {
    struct ct_nat_config cfg;
    ct_nat_policy_fn policy;
    void *policy_arg;
    int ext;                   /* extension id of struct ct_nat_slot */
    uint32_t bs_mask;          /* by-source heads - 1 (a power of two minus one) */
    uint32_t *bs_head;         /* connection ids, CT_ID_NONE when empty */
    struct ct_nat_bs_lock *bs_lock; /* shared tables: CT_NAT_BS_LOCKS, else NULL */
    struct ct_nat_stats stats; /* updated with atomic adds in shared tables */
};

/* Protocols whose tuple has ports NAT may choose (GRE keys it never
 * translates: no PPTP helper). */
static inline int ct_nat_has_ports(uint8_t proto)
{
    return proto == CT_IPPROTO_TCP || proto == CT_IPPROTO_UDP || proto == CT_IPPROTO_UDPLITE ||
           proto == CT_IPPROTO_SCTP;
}

/* An ICMP or ICMPv6 query, whose identifier NAT translates like a port. */
static inline int ct_nat_icmp_query(const struct ct_tuple *t)
{
    return t->proto == (t->l3 == CT_L3_IPV6 ? CT_IPPROTO_ICMPV6 : CT_IPPROTO_ICMP);
}

/* The status bits that say a connection's reply key is in its NAT slot. */
#define CT_STATUS_NAT_MASK (CT_STATUS_SRC_NAT | CT_STATUS_DST_NAT)

/* The binding of connection c of a NAT table. */
static inline struct ct_nat_slot *ct_nat_slot_of(const struct ct_table *t,
                                                 const struct ct_conn *c)
{
    return (struct ct_nat_slot *)(uintptr_t)ct_table_nat_reply(t, c);
}

/*
 * Fills the binding of a connection a NAT table creates without
 * ct_nat_conn_new() (snapshot restore): the reply tuple `reply` with the
 * manips `nat` that made it, or with reply NULL no translation (the
 * inverse of the original in the reply zone).
 */
void ct_nat_slot_restore(struct ct_table *t, struct ct_conn *c, const struct ct_tuple *reply,
                         uint16_t nat);

/*
 * For a connection c about to be inserted (key, zones, template applied,
 * tracker accepted its first packet): asks the policy and the ruleset for
 * translations, allocates a unique reply tuple (DST, then SRC, null
 * bindings where nothing was asked) and records it in c (slot and status
 * bits). Returns CT_REASON_NONE, or the reason the packet is refused:
 * NAT_EXHAUSTED, NAT_RANGE, RULE_DROP (a nat chain dropped it). Nothing
 * is left to undo on refusal beyond discarding c.
 */
uint16_t ct_nat_conn_new(struct ct_table *t, struct ct_conn *c, const struct ct_pkt *pkt,
                         uint64_t h_orig, uint64_t now);

/*
 * After a burst (ct_process_parsed(), which ct_process_burst_rw() goes
 * through): translates each writable packet of a translated connection
 * (ct_nat_rewrite()) and marks it CT_VERDICT_NAT; a packet that cannot be
 * translated becomes INVALID (reason NAT_REWRITE) with CT_VERDICT_DROP, and
 * is left as it was. Read-only packets are left alone.
 */
void ct_nat_rewrite_burst(struct ct_table *t, struct ct_pkt *pkts, struct ct_verdict *v,
                          unsigned n);

/* A connection of a NAT table entered the index (ct_table_insert*(),
 * snapshot restore): it joins its source's by-source list. */
void ct_nat_conn_added(struct ct_table *t, struct ct_conn *c);

/* A connection of a NAT table leaves the index: it leaves its list. */
void ct_nat_conn_gone(struct ct_table *t, struct ct_conn *c);

/* Frees the table's NAT state (ct_table_destroy()). */
void ct_nat_destroy(struct ct_table *t);

#endif
