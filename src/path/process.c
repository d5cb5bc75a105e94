/*
 * The packet path: ct_process_burst(), ct_process_parsed(), ct_process() and
 * ct_process_burst_rw().
 *
 * A burst goes through three stages over all its packets, so that the cache
 * misses of different packets overlap (the two-phase bulk lookup of DPDK's
 * rte_hash):
 *   1. classify each parsed packet (parser reason, fragment, transport
 *      checksum, ICMP error -> embedded tuple), build its lookup key, hash it
 *      and prefetch its home bucket;
 *   2. compare the signatures in each home bucket and prefetch the entries of
 *      the candidates (every line each spans: two or three, see
 *      ct_pool_prefetch_entry());
 *   3. in packet order, compare full keys (the lines are in cache by now), drop
 *      expired connections, run the protocol tracker and update the entry.
 * Stage 3 looks every packet up afresh in its (cached) bucket rather than
 * reusing stage 2's candidates, so a connection created or ended by an earlier
 * packet of the same burst is seen by the later ones.
 *
 * Verdicts follow Linux's nf_conntrack_in(): state ESTABLISHED for a reply-
 * direction packet or for an original-direction one once a reply was seen,
 * NEW otherwise; RELATED for an ICMP error about a known connection; INVALID
 * with a reason for what cannot be tracked; UNTRACKED for what is not IP or is
 * exempt (ICMPv6 neighbour discovery and MLD).
 */
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "ctrack/table.h"
#include "events/events.h"
#include "helper/helper.h"
#include "nat/nat.h"
#include "proto/proto.h"
#include "rules/rules.h"
#include "table/index.h"
#include "table/shared.h"
#include "table/table.h"
#include "template/template.h"

/* What stage 3 does with a packet. */
enum lookup_kind {
    LK_DONE = 0,  /* verdict already decided in stage 1 */
    LK_CONN = 1,  /* look up the packet's own tuple */
    LK_ERROR = 2, /* ICMP error: look up the embedded tuple */
    LK_TMPL = 3,  /* own tuple, with a template zone that differs per direction */
};

/* Per-packet scratch of a burst. */
struct stage {
    uint64_t hash;
    uint32_t bucket; /* home bucket of hash (non-shared tables) */
    union {
        struct ct_key4 k4;
        struct ct_key6 k6;
    } key;
    uint8_t kind; /* enum lookup_kind */
    uint8_t v6;
    uint16_t zone_reply; /* LK_TMPL: the packet's zone in the reply direction */
};

/*
 * The counters of the common outcome, a packet that matched its connection
 * and was accepted, kept in locals over a burst on a table of one thread and
 * added to the table's at the end of the burst (a shared table's counters go
 * through the thread's slot, CT_STAT_INC, at once).
 */
struct burst_count {
    uint64_t found; /* stats.found */
    uint64_t ok;    /* stats.reasons[CT_REASON_NONE] */
};

/* Reasons whose verdict is UNTRACKED rather than INVALID. */
static inline int reason_untracked(uint16_t r)
{
    return r == CT_REASON_NOT_IP || r == CT_REASON_NOTRACK || r == CT_REASON_ICMP6_UNTRACKED;
}

/* A verdict without a connection: INVALID or UNTRACKED by reason. */
static void verdict_reject(struct ct_table *t, struct ct_verdict *v, uint16_t reason,
                           uint8_t l4state)
{
    v->conn = NULL;
    v->dir = CT_DIR_ORIGINAL;
    v->l4state = l4state;
    v->reason = reason;
    if (reason_untracked(reason)) {
        v->state = CT_STATE_UNTRACKED;
        CT_STAT_INC(t, untracked);
    } else {
        v->state = CT_STATE_INVALID;
        CT_STAT_INC(t, invalid);
    }
    CT_STAT_INC(t, reasons[reason < CT_REASON_COUNT ? reason : CT_REASON_NONE]);
}

/* An accepted verdict, not counted. */
static inline void verdict_fill(struct ct_verdict *v, struct ct_conn *c, uint8_t state,
                                unsigned dir, uint8_t l4state)
{
    v->conn = c;
    v->state = state;
    v->dir = (uint8_t)dir;
    v->l4state = l4state;
    v->reason = CT_REASON_NONE;
}

static void verdict_ok(struct ct_table *t, struct ct_verdict *v, struct ct_conn *c, uint8_t state,
                       unsigned dir, uint8_t l4state)
{
    verdict_fill(v, c, state, dir, l4state);
    CT_STAT_INC(t, reasons[CT_REASON_NONE]);
}

/* ---- per-packet work ------------------------------------------------------------ */

/* Counts an accepted packet on c in direction dir (if the table keeps
 * counters) and refreshes its last_seen. */
static inline void account(const struct ct_table *t, struct ct_conn *c, unsigned dir,
                           const struct ct_pkt *pkt, uint64_t now)
{
    struct ct_acct *a = ct_table_conn_acct(t, c);
    if (a) {
        a->packets[dir]++;
        a->bytes[dir] += pkt->ip_len;
    }
    c->last_seen = now;
}

/* Fills the original key of a fresh entry from the packet's tuple. */
static void conn_set_key(struct ct_conn *c, const struct stage *st)
{
    if (st->v6)
        *ct_conn_key6(c) = st->key.k6;
    else
        *ct_conn_key4(c) = st->key.k4;
    c->zone_reply = st->v6 ? st->key.k6.zone : st->key.k4.zone;
}

/*
 * Decides, without creating anything, what a packet without a connection
 * would do: runs the tracker's new and first packet on a scratch entry.
 * Returns the INVALID/UNTRACKED reason, or NONE with *l4state set.
 */
static uint16_t classify_new(const struct ct_table *t, const struct ct_pkt *pkt,
                             const struct stage *st, uint64_t now, uint8_t *l4state)
{
    union {
        struct ct_conn4 c4;
        struct ct_conn6 c6;
    } scratch;
    struct ct_conn *c;
    memset(&scratch, 0, sizeof(scratch));
    if (st->v6) {
        c = &scratch.c6.c;
        c->status = CT_STATUS_PRIV_IPV6;
    } else {
        c = &scratch.c4.c;
    }
    conn_set_key(c, st);
    c->first_seen = now;
    c->last_seen = now;
    if (CT_UNLIKELY(pkt->tmpl != 0))
        c->policy = ct_tmpl_policy(t, pkt);
    const struct ct_proto_cfg *cfg = ct_table_conn_cfg(t, c);
    uint16_t r = ct_proto_new(cfg, c, pkt, now);
    if (r != CT_REASON_NONE)
        return r;
    struct ct_proto_result res;
    ct_proto_packet(cfg, c, CT_DIR_ORIGINAL, pkt, now, &res);
    if (res.action == CT_PROTO_INVALID)
        return res.reason != CT_REASON_NONE ? res.reason : CT_REASON_TCP_INVALID_STATE;
    *l4state = c->l4state;
    return CT_REASON_NONE;
}

/* Whether the table may hold connections whose zones differ per direction
 * (a template with a zone for one direction only was registered). */
static inline int split_zones(const struct ct_table *t)
{
    return CT_UNLIKELY(t->tmpl != NULL) && ct_tmpl_split_zones(t);
}

/* Whether direction dir of connection c has the staged key. */
static int conn_has_key(const struct ct_table *t, struct ct_conn *c, unsigned dir,
                        const struct stage *st)
{
    return st->v6 ? ct_conn_match6(t, c, dir, &st->key.k6) : ct_conn_match4(t, c, dir, &st->key.k4);
}

/*
 * Zones per direction: whether a tuple of the new connection c is indexed
 * already. Its reply tuple may belong to a connection whose original tuple
 * the packet did not match (that takes zones that differ per direction:
 * with one zone for both, the packet would have matched it); Linux's
 * __nf_conntrack_confirm() then fails the insert and drops the packet, and
 * so does ctrack (reason TUPLE_CLASH). The original tuple of an LK_TMPL
 * packet may be another connection's reply tuple in a reply zone that the
 * packet's template does not have (tmpl_lookup() passed over it): Linux
 * would then hold the two, told apart by their zone directions; the index
 * keeps one connection per key, so ctrack refuses this one too.
 */
static CT_NOINLINE int keys_taken(struct ct_table *t, struct ct_conn *c,
                                  const struct stage *st, uint64_t now)
{
    if (st->kind == LK_TMPL && ct_table_key_taken(t, c, CT_DIR_ORIGINAL, st->hash, now))
        return 1;
    return ct_table_key_taken(t, c, CT_DIR_REPLY, ct_table_conn_hash(t, c, CT_DIR_REPLY), now);
}

/* A NEW packet NAT refused: INVALID for the reason, and dropped, as Linux
 * drops a packet whose connection cannot be given a unique tuple (its
 * confirmation fails) or whose nat chain dropped it. */
static void nat_reject(struct ct_table *t, struct ct_verdict *v, uint16_t reason)
{
    verdict_reject(t, v, reason, 0);
    v->flags |= CT_VERDICT_DROP;
}

/*
 * A packet that matched no live connection (or replaced one). Returns 0, or
 * 1 in a shared table when another thread created the connection first
 * (nothing was changed: look the packet up again).
 */
static int process_new(struct ct_table *t, struct ct_pkt *pkt, const struct stage *st,
                       struct ct_verdict *v, uint64_t now, unsigned flags, uint8_t vflags)
{
    uint8_t l4state = 0;
    uint16_t r;

    if (!(flags & CT_PROCESS_COMMIT)) {
        r = classify_new(t, pkt, st, now, &l4state);
        if (r == CT_REASON_NONE && CT_UNLIKELY(t->rules != NULL) &&
            ct_rules_conn_new(t, NULL, pkt, now) != 0)
            r = CT_REASON_RULE_DROP;
        if (r != CT_REASON_NONE) {
            verdict_reject(t, v, r, 0);
            return 0;
        }
        verdict_ok(t, v, NULL, CT_STATE_NEW, CT_DIR_ORIGINAL, l4state);
        if (CT_UNLIKELY(t->helpers != NULL) && ct_helper_would_relate(t, pkt, now))
            v->state = CT_STATE_RELATED;
        v->flags = vflags;
        CT_STAT_INC(t, not_committed);
        return 0;
    }

    struct ct_conn *c = NULL;
    uint16_t zone = st->v6 ? st->key.k6.zone : st->key.k4.zone;
    int zone_full = ct_zone_full(t->zones, zone);
    if (CT_LIKELY(!zone_full))
        c = ct_table_conn_new(t, st->v6);
    if (CT_UNLIKELY(!c)) {
        /* No room: only a packet that would create a connection may make
         * room or be refused for lack of it; any other keeps its own reason. */
        r = classify_new(t, pkt, st, now, &l4state);
        if (r != CT_REASON_NONE) {
            verdict_reject(t, v, r, 0);
            return 0;
        }
        if (zone_full) {
            CT_STAT_INC(t, refused_zone);
            verdict_reject(t, v, CT_REASON_ZONE_LIMIT, 0);
            return 0;
        }
        /* Linux's early drop: evict an unassured connection near this
         * tuple's hash slot (or reap an expired one found there). */
        if (__atomic_load_n(&t->connections, __ATOMIC_RELAXED) >= t->max_connections &&
            ct_table_early_drop(t, st->hash, now))
            c = ct_table_conn_new(t, st->v6);
        if (!c) {
            CT_STAT_INC(t, refused_full);
            verdict_reject(t, v, CT_REASON_TABLE_FULL, 0);
            return 0;
        }
    }

    conn_set_key(c, st);
    c->first_seen = now;
    c->last_seen = now;
    /* The template of a NEW connection: reply zone, mark, labels, policy
     * (before the tracker, which reads the policy's timeouts), events,
     * helper. Never applied to a connection that exists. */
    if (CT_UNLIKELY(pkt->tmpl != 0))
        ct_tmpl_apply(t, c, pkt);
    /* The rules after conntrack see the NEW connection before it is
     * committed: a drop there means it is never created. */
    if (CT_UNLIKELY(t->rules != NULL) && ct_rules_conn_new(t, c, pkt, now) != 0) {
        ct_table_conn_discard(t, c);
        verdict_reject(t, v, CT_REASON_RULE_DROP, 0);
        return 0;
    }
    const struct ct_proto_cfg *cfg = ct_table_conn_cfg(t, c);
    r = ct_proto_new(cfg, c, pkt, now);
    if (r != CT_REASON_NONE) {
        ct_table_conn_discard(t, c);
        verdict_reject(t, v, r, 0);
        return 0;
    }
    struct ct_proto_result res;
    ct_proto_packet(cfg, c, CT_DIR_ORIGINAL, pkt, now, &res);
    if (res.action == CT_PROTO_INVALID) {
        ct_table_conn_discard(t, c);
        verdict_reject(t, v, res.reason != CT_REASON_NONE ? res.reason : CT_REASON_TCP_INVALID_STATE, 0);
        return 0;
    }
    /* NAT (nat/nat.h): the binding is chosen before either tuple is
     * indexed, so both enter the index together. */
    if (CT_UNLIKELY(t->nat != NULL) && (r = ct_nat_conn_new(t, c, pkt, st->hash, now)) != CT_REASON_NONE) {
        ct_table_conn_discard(t, c);
        nat_reject(t, v, r);
        return 0;
    }
    if (CT_UNLIKELY(t->sh != NULL)) {
        /* Shared: lock it before it becomes visible; the locked re-check
         * inside the insert catches a creation that raced with ours. */
        struct ct_conn *other;
        unsigned odir;
        int zd = split_zones(t);
        ct_conn_lock(c);
        int ir = ct_table_insert_shared(t, c, st->hash, &other, &odir);
        /* A translated reply tuple that another thread took since the
         * allocation looked: choose again (a bounded number of times). */
        for (unsigned again = 0;
             ir == -EEXIST && t->nat && again < 4 && !conn_has_key(t, other, odir, st); again++) {
            ct_conn_unlock(c);
            c->status &= (uint16_t) ~(CT_STATUS_SRC_NAT | CT_STATUS_DST_NAT |
                                      CT_STATUS_SRC_NAT_DONE | CT_STATUS_DST_NAT_DONE);
            if ((r = ct_nat_conn_new(t, c, pkt, st->hash, now)) != CT_REASON_NONE) {
                ct_table_conn_discard(t, c);
                nat_reject(t, v, r);
                return 0;
            }
            ct_conn_lock(c);
            ir = ct_table_insert_shared(t, c, st->hash, &other, &odir);
        }
        if (ir != 0) {
            ct_conn_unlock(c);
            ct_table_conn_discard(t, c);
            if (ir == -EEXIST && !zd)
                return 1;
            /* With zones per direction one tuple alone may be taken
             * (keys_taken()): look again only if the packet's lookup would
             * find the other connection, which an LK_TMPL lookup does only
             * through its original tuple. */
            if (ir == -EEXIST && conn_has_key(t, other, odir, st) &&
                (st->kind != LK_TMPL || odir == CT_DIR_ORIGINAL))
                return 1;
            verdict_reject(t, v, ir == -EEXIST ? CT_REASON_TUPLE_CLASH : CT_REASON_PROBE_LIMIT, 0);
            return 0;
        }
    } else if (split_zones(t) && keys_taken(t, c, st, now)) {
        ct_table_conn_discard(t, c);
        verdict_reject(t, v, CT_REASON_TUPLE_CLASH, 0);
        return 0;
    } else if (ct_table_insert(t, c, st->hash) != 0) {
        ct_table_conn_discard(t, c);
        verdict_reject(t, v, CT_REASON_PROBE_LIMIT, 0);
        return 0;
    }
    if (CT_UNLIKELY(t->nat != NULL))
        ct_nat_conn_added(t, c);
    account(t, c, CT_DIR_ORIGINAL, pkt, now);
    /* Helpers: an expectation makes the connection RELATED; the template's
     * helper sees its first packet. */
    uint8_t state = CT_STATE_NEW;
    if (CT_UNLIKELY(t->helpers != NULL))
        state = ct_helper_conn_new(t, c, pkt, ct_tmpl_conn_helper(t, c), now, &vflags);
    verdict_ok(t, v, c, state, CT_DIR_ORIGINAL, c->l4state);
    v->flags = (uint8_t)(vflags | CT_VERDICT_CREATED);
    if (res.action == CT_PROTO_CLOSE)
        ct_table_conn_remove(t, c, CT_RM_DELETE);
    if (t->sh)
        ct_conn_unlock(c);
    return 0;
}

/*
 * Re-files c if its real deadline may now be earlier than the deadline it is
 * filed at. Before the packet that deadline was at most the old real
 * deadline (last_seen old_last, timeout old_timeout) and at most now +
 * timer_cap (table.h, ct_table_file_deadline()), so only a real deadline
 * below both needs a new filing.
 */
static CT_NOINLINE void refile_if_earlier(struct ct_table *t, struct ct_conn *c,
                                                        uint64_t old_last, uint8_t old_timeout,
                                                        uint64_t now)
{
    const struct ct_proto_cfg *cfg = ct_table_conn_cfg(t, c);
    unsigned o = old_timeout < CT_TIMEOUT_COUNT ? old_timeout : CT_TIMEOUT_GENERIC;
    uint64_t bound = old_last + cfg->timeout_ns[o];
    if (now + t->timer_cap < bound)
        bound = now + t->timer_cap;
    if (ct_table_conn_expires(t, c) < bound) {
        CT_STAT_INC(t, refiled_shrink);
        ct_table_timer_refile(t, c);
    }
}

static int shared_found(struct ct_table *t, struct ct_pkt *pkt, const struct stage *st,
                        struct ct_verdict *v, uint64_t now, unsigned flags);

/*
 * The state of an accepted packet on a connection that has not seen a
 * reply or has a helper, and the helper's run. Linux's resolve_normal_ct():
 * an original-direction packet before any reply is NEW, or RELATED on a
 * connection made from an expectation. The helper (helper/helper.h) may
 * flag the packet CT_VERDICT_DROP in v->flags, which verdict_fill() keeps.
 */
static inline uint8_t found_other(struct ct_table *t, struct ct_conn *c, unsigned dir,
                                  const struct ct_pkt *pkt, struct ct_verdict *v, uint64_t now)
{
    uint8_t state = (c->status & CT_STATUS_SEEN_REPLY)
                        ? CT_STATE_ESTABLISHED
                        : ((c->status & CT_STATUS_EXPECTED) ? CT_STATE_RELATED : CT_STATE_NEW);
    if (CT_UNLIKELY(c->status & CT_STATUS_HELPER))
        v->flags |= ct_helper_packet(t, c, dir, pkt, now);
    return state;
}

/* A packet whose own tuple matched the live connection c in direction dir.
 * Inlined into the burst loop (stage_three): the call with eight arguments
 * and the tracker dispatch cost about 40 instructions per packet. bc: where
 * to count found and accepted packets, or NULL to count them in the table
 * at once. */
static CT_ALWAYS_INLINE void process_found(struct ct_table *t, struct ct_pkt *pkt, const struct stage *st,
                          struct ct_verdict *v, struct ct_conn *c, unsigned dir, uint64_t now,
                          unsigned flags, struct burst_count *bc)
{
    struct ct_proto_result res;
    /* Lazy refresh: the deadline is last_seen + the timeout in force, and the
     * wheel only needs a deadline no later than it. Remember both fields (on
     * lines the packet touches anyway) to see whether it moved earlier. */
    uint64_t old_last = c->last_seen;
    uint8_t old_timeout = c->timeout;
    if (bc)
        bc->found++;
    else
        CT_STAT_INC(t, found);
    ct_proto_packet(ct_table_conn_cfg(t, c), c, dir, pkt, now, &res);
    switch (res.action) {
    case CT_PROTO_INVALID:
        /* As Linux: an invalid packet leaves the connection as it was, except
         * that the TCP tracker may cut the timeout (an out-of-window FIN/RST
         * exchange); Linux's nf_ct_refresh() then counts the new timeout from
         * this packet, so take now as the base and re-file if needed. */
        if (CT_UNLIKELY(c->timeout != old_timeout)) {
            c->last_seen = now;
            refile_if_earlier(t, c, old_last, old_timeout, now);
        }
        verdict_reject(t, v, res.reason != CT_REASON_NONE ? res.reason : CT_REASON_TCP_INVALID_STATE,
                       c->l4state);
        return;
    case CT_PROTO_REPLACE:
        ct_table_conn_remove(t, c, CT_RM_REPLACED);
        /* Shared: a thread that beat us to the new connection made it; the
         * packet is then that connection's (its verdict as the caller's
         * retry would give). */
        while (process_new(t, pkt, st, v, now, flags, CT_VERDICT_REPLACED))
            if (shared_found(t, pkt, st, v, now, flags))
                break;
        return;
    default:
        break;
    }
    /* An accepted packet with a reason is one Linux lets through but ignores
     * (TCP: "ignored" packets): it neither counts nor refreshes the timer. */
    if (CT_LIKELY(res.reason == CT_REASON_NONE))
        account(t, c, dir, pkt, now);
    if (dir == CT_DIR_REPLY)
        c->status |= CT_STATUS_SEEN_REPLY;
    /* One test settles the common case, a connection that has seen a
     * reply (the packet's own, if it is one) and has no helper. */
    uint8_t state = CT_STATE_ESTABLISHED;
    if (CT_UNLIKELY((c->status & (CT_STATUS_SEEN_REPLY | CT_STATUS_HELPER)) !=
                    CT_STATUS_SEEN_REPLY))
        state = found_other(t, c, dir, pkt, v, now);
    verdict_fill(v, c, state, dir, c->l4state);
    if (bc)
        bc->ok++;
    else
        CT_STAT_INC(t, reasons[CT_REASON_NONE]);
    if (res.action == CT_PROTO_CLOSE) {
        /* Only a RST answering a connection that saw no reply closes it
         * (proto/tcp.c): Linux's tcp_packet() kills it before
         * nf_conntrack_in() marks the reply seen, so it ends UNREPLIED. */
        c->status &= (uint16_t)~CT_STATUS_SEEN_REPLY;
        ct_table_conn_remove(t, c, CT_RM_DELETE);
        return;
    }
    /* Only a change of the timeout in force can move the deadline earlier
     * (last_seen never goes back); then re-file at the new deadline. A new
     * deadline at or beyond now + timer_cap is never below the filed one's
     * bound, so the common switch between ESTABLISHED and UNACK (both at
     * least timer_cap) is settled here without the call. */
    if (CT_UNLIKELY(c->timeout != old_timeout) && ct_table_conn_expires(t, c) < now + t->timer_cap)
        refile_if_earlier(t, c, old_last, old_timeout, now);
}

/* Finds the live connection for a staged key; reaps it if it has expired. */
static inline struct ct_conn *lookup_live(struct ct_table *t, const struct stage *st, uint64_t now,
                                          unsigned *dir)
{
    return ct_table_find_live(t, &st->key, st->v6, st->hash, st->bucket, now, dir);
}

/* Sets the zone of a staged key and hashes it again. */
static void stage_rekey(const struct ct_table *t, struct stage *st, uint16_t zone)
{
    if (st->v6) {
        st->key.k6.zone = zone;
        st->hash = ct_table_hash6(t, &st->key.k6);
    } else {
        st->key.k4.zone = zone;
        st->hash = ct_table_hash4(t, &st->key.k4);
    }
    st->bucket = ct_table_bucket_of(t, st->hash);
}

/*
 * Stage 1's end for a packet that names a template (template/template.h):
 * notrack decides the verdict (returns 1); a template zone re-keys the
 * packet in its original-direction zone, and one that differs per
 * direction makes it an LK_TMPL lookup (stage_three_tmpl()).
 */
static CT_NOINLINE int stage_tmpl(struct ct_table *t, struct ct_pkt *pkt, struct ct_verdict *v,
                                  struct stage *st)
{
    uint16_t zr;
    if (ct_tmpl_prepare(t, pkt, &zr) != CT_REASON_NONE) {
        st->kind = LK_DONE;
        verdict_reject(t, v, CT_REASON_NOTRACK, 0);
        return 1;
    }
    const struct ct_tuple *tu = st->kind == LK_ERROR ? &pkt->inner : &pkt->tuple;
    stage_rekey(t, st, tu->zone);
    st->zone_reply = zr;
    if (st->kind == LK_CONN && zr != tu->zone)
        st->kind = LK_TMPL;
    return 0;
}

/*
 * Stage 1 for one packet: decide early verdicts, else stage the key.
 * `tmpl` is whether the table has templates (t->tmpl), tested once per
 * burst: the loop of a table without them is compiled without the test of
 * the packet's template id.
 */
static CT_ALWAYS_INLINE void stage_one(struct ct_table *t, struct ct_pkt *pkt,
                                       struct ct_verdict *v, struct stage *st, int tmpl)
{
    const struct ct_tuple *tu;
    struct ct_tuple inv;
    memset(v, 0, sizeof(*v));
    st->kind = LK_DONE;
    if (CT_UNLIKELY(pkt->reason != CT_REASON_NONE)) {
        verdict_reject(t, v, pkt->reason, 0);
        return;
    }
    if (CT_UNLIKELY(pkt->frag != CT_FRAG_NONE)) {
        verdict_reject(t, v, CT_REASON_FRAGMENT, 0);
        return;
    }
    if (!(t->flags & CT_TABLE_F_NO_CHECKSUM) && !(pkt->frame_flags & CT_FRAME_F_L4_CSUM_GOOD) &&
        CT_UNLIKELY(!ct_pkt_verify_checksum(pkt))) {
        verdict_reject(t, v, CT_REASON_L4_CHECKSUM, 0);
        return;
    }
    if (CT_UNLIKELY(pkt->icmp_is_error)) {
        if (!pkt->inner_ok) {
            verdict_reject(t, v, CT_REASON_ICMP_INNER_INVALID, 0);
            return;
        }
        /* The quoted packet travelled the other way: the error belongs
         * to the connection with the quoted tuple's inverse, in that
         * tuple's direction (Linux's nf_conntrack_inet_error()). With NAT
         * only the inverse is a tuple of the connection: the quote shows
         * the packet as it left, translated. */
        if (CT_UNLIKELY(ct_tuple_invert(&pkt->inner, &inv) != 0)) {
            verdict_reject(t, v, CT_REASON_ICMP_NO_CONN, 0);
            return;
        }
        tu = &inv;
        st->kind = LK_ERROR;
    } else {
        tu = &pkt->tuple;
        st->kind = LK_CONN;
    }
    if (CT_LIKELY(tu->l3 == CT_L3_IPV4)) {
        st->v6 = 0;
        ct_key4_from_tuple(&st->key.k4, tu);
        st->hash = ct_table_hash4(t, &st->key.k4);
    } else if (tu->l3 == CT_L3_IPV6) {
        st->v6 = 1;
        memcpy(&st->key.k6, tu, sizeof(st->key.k6));
        st->hash = ct_table_hash6(t, &st->key.k6);
    } else {
        st->kind = LK_DONE;
        verdict_reject(t, v, CT_REASON_IP_VERSION, 0);
        return;
    }
    if (tmpl && CT_UNLIKELY(pkt->tmpl != 0) && stage_tmpl(t, pkt, v, st))
        return;
    st->bucket = ct_table_bucket_of(t, st->hash);
    CT_PREFETCH(&t->buckets[st->bucket]);
}

/* Stage 2 for one packet: prefetch the entries whose signature matches. */
static inline void stage_two(const struct ct_table *t, const struct stage *st)
{
    const struct ct_bucket *bk = &t->buckets[st->bucket];
    unsigned m = ct_bucket_match(bk, ct_hash_sig(st->hash));
    while (m) {
        unsigned s = ct_match_slot(m);
        m &= m - 1;
        uint32_t id = bk->ref[s] >> 1;
        ct_pool_prefetch_entry(&t->pool[(id & CT_ID_V6) != 0], id & (CT_ID_V6 - 1));
        /* NAT: a translated connection's reply key and the translation
         * read its binding (nat/nat.h); the slot's address follows from
         * the id, so it is fetched with the entry. */
        if (CT_UNLIKELY(t->nat != NULL))
            CT_PREFETCH(ct_table_nat_at(t, id));
    }
}

/* A lookup in either mode: a shared table's connection comes back locked. */
static struct ct_conn *find_any(struct ct_table *t, const struct stage *st, uint64_t now,
                                unsigned *dir)
{
    if (t->sh)
        return ct_shared_find_live_locked(t, &st->key, st->v6, st->hash, now, dir);
    return ct_table_find_live(t, &st->key, st->v6, st->hash, st->bucket, now, dir);
}

/*
 * The lookup of a packet whose template zone differs per direction, as
 * Linux's resolve_normal_ct() with nf_ct_zone_equal(): the packet matches a
 * connection's original tuple only in its original-direction zone and the
 * reply tuple only in its reply-direction zone. So look the tuple up in the
 * original zone and keep an original-direction match, then in the reply
 * zone and keep a reply-direction match.
 */
static struct ct_conn *tmpl_lookup(struct ct_table *t, const struct stage *st, uint64_t now,
                                   unsigned *dir)
{
    struct ct_conn *c = find_any(t, st, now, dir);
    if (c && *dir == CT_DIR_ORIGINAL)
        return c;
    if (c && t->sh)
        ct_conn_unlock(c);
    struct stage r = *st;
    stage_rekey(t, &r, st->zone_reply);
    c = find_any(t, &r, now, dir);
    if (c && *dir == CT_DIR_REPLY)
        return c;
    if (c && t->sh)
        ct_conn_unlock(c);
    return NULL;
}

/* Stage 3 of an LK_TMPL packet, in either mode. A NEW connection is keyed
 * by the staged (original-zone) key; ct_tmpl_apply() sets its reply zone. */
static CT_NOINLINE void stage_three_tmpl(struct ct_table *t, struct ct_pkt *pkt,
                                         struct ct_verdict *v, const struct stage *st,
                                         uint64_t now, unsigned flags)
{
    for (;;) {
        unsigned dir = 0;
        struct ct_conn *c = tmpl_lookup(t, st, now, &dir);
        if (c) {
            process_found(t, pkt, st, v, c, dir, now, flags, NULL);
            if (t->sh)
                ct_conn_unlock(c);
            return;
        }
        /* A shared table's lost creation race: look again. */
        if (!process_new(t, pkt, st, v, now, flags, 0))
            return;
    }
}

/* Stage 3 for one packet. Always inlined: with a second caller
 * (process_staged_events()) the compiler would otherwise make it a call,
 * which measured about 40 instructions more per packet. */
static CT_ALWAYS_INLINE void stage_three(struct ct_table *t, struct ct_pkt *pkt, struct ct_verdict *v,
                               const struct stage *st, uint64_t now, unsigned flags,
                               struct burst_count *bc)
{
    unsigned dir = 0;
    struct ct_conn *c = lookup_live(t, st, now, &dir);
    if (CT_LIKELY(st->kind == LK_CONN)) {
        if (CT_LIKELY(c != NULL))
            process_found(t, pkt, st, v, c, dir, now, flags, bc);
        else
            (void)process_new(t, pkt, st, v, now, flags, 0);
        return;
    }
    if (st->kind == LK_TMPL) {
        stage_three_tmpl(t, pkt, v, st, now, flags);
        return;
    }
    /* ICMP error: RELATED to the connection of the embedded packet, in
     * the direction of the quote's inverse (Linux's IP_CT_RELATED /
     * RELATED_REPLY). The connection's state, counters and times are left
     * alone. */
    if (c) {
        CT_STAT_INC(t, related);
        verdict_ok(t, v, c, CT_STATE_RELATED, dir, c->l4state);
    } else {
        verdict_reject(t, v, CT_REASON_ICMP_NO_CONN, 0);
    }
}

/* ---- shared tables (protocol: table/shared.h) ----------------------------------------- */

/* Finds the live connection of a staged key and returns it locked, or NULL. */
static struct ct_conn *shared_lookup_locked(struct ct_table *t, const struct stage *st,
                                            uint64_t now, unsigned *dir)
{
    return ct_shared_find_live_locked(t, &st->key, st->v6, st->hash, now, dir);
}

/* Processes the packet on its connection if there is one: returns 1, else 0. */
static int shared_found(struct ct_table *t, struct ct_pkt *pkt, const struct stage *st,
                        struct ct_verdict *v, uint64_t now, unsigned flags)
{
    unsigned dir = 0;
    struct ct_conn *c = shared_lookup_locked(t, st, now, &dir);
    if (!c)
        return 0;
    process_found(t, pkt, st, v, c, dir, now, flags, NULL);
    ct_conn_unlock(c);
    return 1;
}

static void stage_three_shared(struct ct_table *t, struct ct_pkt *pkt, struct ct_verdict *v,
                               const struct stage *st, uint64_t now, unsigned flags)
{
    if (CT_UNLIKELY(st->kind == LK_TMPL)) {
        stage_three_tmpl(t, pkt, v, st, now, flags);
        return;
    }
    if (CT_UNLIKELY(st->kind == LK_ERROR)) {
        unsigned dir = 0;
        struct ct_conn *c = shared_lookup_locked(t, st, now, &dir);
        if (c) {
            CT_STAT_INC(t, related);
            verdict_ok(t, v, c, CT_STATE_RELATED, dir, c->l4state);
            ct_conn_unlock(c);
        } else {
            verdict_reject(t, v, CT_REASON_ICMP_NO_CONN, 0);
        }
        return;
    }
    /* A lost creation race (process_new returns 1) means the connection now
     * exists: the next round finds it. */
    while (!shared_found(t, pkt, st, v, now, flags))
        if (!process_new(t, pkt, st, v, now, flags, 0))
            break;
}

static int process_staged_shared(struct ct_table *t, struct ct_pkt *pkts,
                                 struct ct_verdict *verdicts, unsigned n, uint64_t now,
                                 unsigned flags)
{
    struct stage st[CT_BURST_MAX];
    if (!ct_shared_enter(t))
        return -EAGAIN;
    __atomic_store_n(&t->clock, now, __ATOMIC_RELAXED);
    CT_STAT_ADD(t, packets, n);
    if (CT_UNLIKELY(t->rules != NULL))
        ct_rules_burst_pre(t, pkts, n);
    if (CT_LIKELY(t->tmpl == NULL))
        for (unsigned i = 0; i < n; i++)
            stage_one(t, &pkts[i], &verdicts[i], &st[i], 0);
    else
        for (unsigned i = 0; i < n; i++)
            stage_one(t, &pkts[i], &verdicts[i], &st[i], 1);
    for (unsigned i = 0; i < n; i++)
        if (st[i].kind != LK_DONE)
            ct_shared_prefetch(t, st[i].hash);
    for (unsigned i = 0; i < n; i++)
        if (st[i].kind != LK_DONE)
            stage_three_shared(t, &pkts[i], &verdicts[i], &st[i], now, flags);
    if (CT_UNLIKELY(t->rules != NULL))
        ct_rules_burst_post(t, pkts, verdicts, n);
    return (int)n;
}

/* The rules after conntrack may have set marks or labels: report those
 * changes too, with the events of the packet before them, then deliver
 * the burst's events. */
static CT_NOINLINE void events_burst_end(struct ct_table *t, const struct ct_verdict *verdicts,
                                         unsigned n)
{
    if (t->rules)
        for (unsigned i = 0; i < n; i++)
            ct_event_packet(t, &verdicts[i], 1);
    ct_event_call_end(t);
}

/*
 * The burst of a table of one thread, in two copies: `events` is a
 * constant, 0 for process_staged() and 1 for process_staged_events(), the
 * copy a table with a listener (events/events.h) runs. There each packet's
 * events are taken right after it, so that they keep the order of the
 * packets and a removal's DESTROY (queued inside stage 3) falls in its
 * place. Callgrind, instructions per packet without a listener against
 * the tree before events: a test inside the loop of one copy +3, the two
 * copies +1 to +1.5 (docs/events.md).
 */
static CT_ALWAYS_INLINE int process_staged_one(struct ct_table *t, struct ct_pkt *pkts,
                                               struct ct_verdict *verdicts, unsigned n,
                                               uint64_t now, unsigned flags, int events)
{
    struct stage st[CT_BURST_MAX];
    struct burst_count bc = {0, 0};

    /* Entries retired by the previous call may be reused from here on. */
    ct_table_reclaim(t);
    t->clock = now;
    CT_STAT_ADD(t, packets, n);
    /* Rules (rules/attach.c): the chains before conntrack choose each
     * packet's template or drop it; those after it run once the verdicts
     * are known. */
    if (CT_UNLIKELY(t->rules != NULL))
        ct_rules_burst_pre(t, pkts, n);

    if (CT_LIKELY(t->tmpl == NULL))
        for (unsigned i = 0; i < n; i++)
            stage_one(t, &pkts[i], &verdicts[i], &st[i], 0);
    else
        for (unsigned i = 0; i < n; i++)
            stage_one(t, &pkts[i], &verdicts[i], &st[i], 1);
    for (unsigned i = 0; i < n; i++)
        if (st[i].kind != LK_DONE)
            stage_two(t, &st[i]);
    for (unsigned i = 0; i < n; i++) {
        if (st[i].kind == LK_DONE)
            continue;
        stage_three(t, &pkts[i], &verdicts[i], &st[i], now, flags, &bc);
        if (events)
            ct_event_packet(t, &verdicts[i], 0);
    }
    CT_STAT_ADD(t, found, bc.found);
    CT_STAT_ADD(t, reasons[CT_REASON_NONE], bc.ok);
    if (CT_UNLIKELY(t->rules != NULL))
        ct_rules_burst_post(t, pkts, verdicts, n);
    if (events)
        events_burst_end(t, verdicts, n);
    return (int)n;
}

static CT_NOINLINE int process_staged_events(struct ct_table *t, struct ct_pkt *pkts,
                                             struct ct_verdict *verdicts, unsigned n,
                                             uint64_t now, unsigned flags)
{
    return process_staged_one(t, pkts, verdicts, n, now, flags, 1);
}

static int process_staged(struct ct_table *t, struct ct_pkt *pkts, struct ct_verdict *verdicts,
                          unsigned n, uint64_t now, unsigned flags)
{
    if (t->sh)
        return process_staged_shared(t, pkts, verdicts, n, now, flags);
    if (CT_UNLIKELY(t->ev != NULL))
        return process_staged_events(t, pkts, verdicts, n, now, flags);
    return process_staged_one(t, pkts, verdicts, n, now, flags, 0);
}

CT_EXPORT int ct_process_parsed(struct ct_table *table, struct ct_pkt *pkts,
                                struct ct_verdict *verdicts, unsigned n, uint64_t now,
                                unsigned flags)
{
    if (!table || (n && (!pkts || !verdicts)) || n > CT_BURST_MAX)
        return -EINVAL;
    int r = process_staged(table, pkts, verdicts, n, now, flags);
    /* Descriptors the caller parsed from writable frames are translated
     * here, so that a caller that parses by itself (reassembly, its own
     * parse flags) gets what ct_process_burst_rw() gives. */
    if (r > 0 && CT_UNLIKELY(table->nat != NULL))
        ct_nat_rewrite_burst(table, pkts, verdicts, (unsigned)r);
    return r;
}

CT_EXPORT int ct_process_burst(struct ct_table *table, const struct ct_frame *frames,
                               struct ct_pkt *pkts, struct ct_verdict *verdicts, unsigned n,
                               uint64_t now, unsigned flags)
{
    if (!table || (n && (!frames || !pkts || !verdicts)) || n > CT_BURST_MAX)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        ct_pkt_parse(&frames[i], &pkts[i]);
    return process_staged(table, pkts, verdicts, n, now, flags);
}

/*
 * The writable entry point. It goes through ct_process_parsed() rather than
 * process_staged(), so that the read-only calls above keep the one caller
 * of process_staged() each that they were compiled with.
 */
CT_EXPORT int ct_process_burst_rw(struct ct_table *table, const struct ct_frame_rw *frames,
                                  struct ct_pkt *pkts, struct ct_verdict *verdicts, unsigned n,
                                  uint64_t now, unsigned flags)
{
    if (!table || (n && (!frames || !pkts || !verdicts)) || n > CT_BURST_MAX)
        return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        ct_pkt_parse_rw(&frames[i], &pkts[i], 0);
    return ct_process_parsed(table, pkts, verdicts, n, now, flags);
}

CT_EXPORT int ct_process(struct ct_table *table, const struct ct_frame *frame, struct ct_pkt *pkt,
                         struct ct_verdict *verdict, uint64_t now, unsigned flags)
{
    int r = ct_process_burst(table, frame, pkt, verdict, 1, now, flags);
    return r < 0 ? r : 0;
}

/* The name of a verdict state (enum ct_state, ctrack/conn.h). */
CT_EXPORT const char *ct_state_name(unsigned state)
{
    static const char *const names[] = {"new", "established", "related", "invalid", "untracked"};
    return state < CT_ARRAY_SIZE(names) ? names[state] : "unknown";
}
