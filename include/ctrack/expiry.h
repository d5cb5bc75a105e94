/*
 * ctrack/expiry.h: the lifecycle of connections: expiry, the sweep, destroy
 * notification, drain, flush and per-zone limits.
 *
 * Usage:
 *     ct_table_set_destroy_cb(t, on_end, my_arg);   optional
 *     uint64_t next = 0;
 *     for (;;) {
 *         ... ct_process_burst(t, ..., now, CT_PROCESS_COMMIT) ...
 *         if (now >= next)
 *             next = ct_expire(t, now, 0);            bounded work
 *     }
 *     ct_table_drain(t, now);                         every connection ends
 *     ct_table_destroy(t);
 *
 * Lifecycle (docs/lifecycle.md has the whole story):
 *   - A packet on a connection only moves its last-seen time and state
 *     forward ("lazy refresh"); the connection's expiry deadline is
 *     last_seen + the timeout of its state, computed when needed.
 *   - Every connection is filed in a hierarchical timer wheel by deadline.
 *     ct_expire() advances the wheel: each connection that comes due is
 *     either expired or filed again at its real (later) deadline.
 *   - A lookup that meets an expired connection removes it (both tuples)
 *     instead of returning it, so a late sweep never lets a packet see a
 *     connection that has timed out.
 *   - When the table is full, a new connection first evicts an unassured
 *     connection near its hash slot (Linux's early drop); if there is none
 *     the packet is INVALID with reason TABLE_FULL. A zone over its limit
 *     refuses new connections (INVALID, reason ZONE_LIMIT).
 *   - Each connection that leaves the table, for whatever reason, is
 *     reported once to the destroy callback.
 *
 * Time: every call takes `now` in nanoseconds on the caller's clock, which
 * must not go backwards; the library reads no clock and starts no thread.
 *
 * Thread-safety: as the table (ctrack/table.h). A table without
 * CT_TABLE_F_SHARED belongs to one thread at a time. On a shared table any
 * thread may call ct_expire() while others process packets: one sweep runs
 * at a time, and a thread that finds the sweep busy returns at once (asking
 * to be called again after sweep_min_interval_ns) without sweeping.
 * ct_expire_all(), ct_table_drain(), ct_table_flush*() and the set calls
 * need a shared table to themselves (no other call running), and zone
 * limits are not available on shared tables (-ENOTSUP).
 * Ownership: the table owns its connections. A handle passed to the destroy
 * callback is valid only during the callback.
 */
#ifndef CTRACK_EXPIRY_H
#define CTRACK_EXPIRY_H

#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_table;

/* Why a connection left its table. */
enum ct_end_reason {
    CT_END_CLOSED = 0,   /* its tracker ended it: a TCP RST before any reply */
    CT_END_EXPIRED = 1,  /* its timeout passed (met by the sweep, a lookup or an early-drop scan) */
    CT_END_REPLACED = 2, /* a new connection took its tuple (TCP SYN reopening TIME_WAIT/CLOSE) */
    CT_END_EVICTED = 3,  /* early drop: unassured, evicted to make room for a new connection */
    CT_END_FLUSHED = 4,  /* removed by ct_table_flush() */
    CT_END_DRAINED = 5,  /* removed by ct_table_drain() */
    CT_END_COUNT
};

/* "closed", "expired", "replaced", "evicted", "flushed", "drained"; "unknown" out of range. */
const char *ct_end_reason_name(unsigned reason);

/*
 * Called once for every connection that leaves the table, while it is still
 * intact: ct_conn_get_info(table, conn, ...) reads its tuples, state and final
 * counters. `reason` is an enum ct_end_reason; `now` is the `now` of the call
 * that ended it. The callback must not call any function that changes the
 * table (processing, expiry, flush, drain, set_*); reading (ct_conn_get_info,
 * ct_table_stats) is allowed. The handle is valid only during the callback.
 */
typedef void (*ct_destroy_fn)(void *arg, const struct ct_table *table,
                              const struct ct_conn *conn, unsigned reason, uint64_t now);

/*
 * Sets (or, with fn NULL, clears) the destroy callback and its argument.
 * Returns 0, or -EINVAL if table is NULL.
 */
int ct_table_set_destroy_cb(struct ct_table *table, ct_destroy_fn fn, void *arg);

/*
 * The incremental sweep. Advances the table's timer wheel to `now` and
 * examines at most `budget` connections that came due (0: the table's
 * sweep_budget, default 1024): each is expired (reason EXPIRED) if its real
 * deadline is at or before `now`, else filed again at that deadline.
 *
 * Returns the time (ns) at which it wants to be called next:
 *   - `now` if it stopped on its budget with more connections due (call again
 *     as soon as convenient);
 *   - else now + interval, where the interval adapts as gVisor's conntrack
 *     reaper does: sweep_min_interval_ns (10 ms) if more than
 *     sweep_expired_pct (50) percent of the connections examined expired,
 *     otherwise the previous interval plus sweep_interval_step_ns (10 ms), at
 *     most sweep_max_interval_ns (60 s / 128 = 468.75 ms);
 *   - but never later than the wheel's next due time, nor earlier than
 *     now + sweep_min_interval_ns.
 * Calling it earlier or later than asked is harmless: lookups never return
 * an expired connection, and a late call only holds memory longer.
 * Handles from earlier calls become invalid (see ctrack/conn.h). There are
 * no errors: a NULL table returns UINT64_MAX.
 */
uint64_t ct_expire(struct ct_table *table, uint64_t now, unsigned budget);

/*
 * Expires, exactly, every connection whose deadline is at or before `now`
 * (reason EXPIRED), by walking the whole table: O(table size), unbounded.
 * ct_expire() is the call for a packet loop; it may leave connections that
 * timed out less than one wheel tick (expiry_resolution_ns) ago. This one is
 * for the end of a capture, before printing the table, and for tests.
 * Returns the number of connections expired, or -EINVAL if table is NULL.
 */
int ct_expire_all(struct ct_table *table, uint64_t now);

/*
 * Ends every connection in the table through the destroy callback with
 * reason DRAINED (at shutdown or at the end of a capture), in no particular
 * order. Connections whose deadline is at or before `now` are ended with
 * reason EXPIRED instead, as the sweep would have. Returns the number of
 * connections ended, or -EINVAL if table is NULL.
 */
int ct_table_drain(struct ct_table *table, uint64_t now);

/* Fields a flush filter compares (ct_flush_filter.match). */
enum {
    CT_FLUSH_ZONE = 1u << 0,  /* the original direction's zone equals `zone` */
    CT_FLUSH_L3 = 1u << 1,    /* the family equals `l3` (enum ct_l3) */
    CT_FLUSH_PROTO = 1u << 2, /* the IP protocol equals `proto` */
    CT_FLUSH_SRC = 1u << 3,   /* the original source address equals `src` (needs CT_FLUSH_L3) */
    CT_FLUSH_DST = 1u << 4,   /* the original destination address is `dst` (needs CT_FLUSH_L3) */
    CT_FLUSH_SPORT = 1u << 5, /* the original source port equals `sport` */
    CT_FLUSH_DPORT = 1u << 6, /* the original destination port equals `dport` */
    CT_FLUSH_ALL_FIELDS = (1u << 7) - 1,
};

/*
 * Which connections ct_table_flush() ends: those whose original tuple matches
 * every field selected in `match` (0 selects every connection). Addresses
 * follow struct ct_tuple (IPv4 in the first 4 bytes, the rest zero).
 */
struct ct_flush_filter {
    uint32_t match;   /* CT_FLUSH_* */
    uint16_t zone;
    uint8_t l3;
    uint8_t proto;
    union ct_addr src;
    union ct_addr dst;
    uint16_t sport;
    uint16_t dport;
    uint32_t reserved; /* must be zero */
};

/*
 * Ends every connection matching *filter (NULL: every connection) through the
 * destroy callback with reason FLUSHED. Returns the number ended, or -EINVAL
 * if table is NULL, `match` has unknown bits, CT_FLUSH_SRC or CT_FLUSH_DST is
 * set without CT_FLUSH_L3, or `reserved` is not zero.
 */
int ct_table_flush(struct ct_table *table, const struct ct_flush_filter *filter, uint64_t now);

/*
 * Ends every connection for which match(arg, table, conn) returns non-zero,
 * with reason FLUSHED. match may read the connection (ct_conn_get_info) but
 * not change the table. Returns the number ended, or -EINVAL if table or
 * match is NULL.
 */
int ct_table_flush_if(struct ct_table *table,
                      int (*match)(void *arg, const struct ct_table *table,
                                   const struct ct_conn *conn),
                      void *arg, uint64_t now);

#ifdef __cplusplus
}
#endif
#endif
