/*
 * ctrack/table.h: the connection table and the packet-processing calls.
 *
 * Usage:
 *     struct ct_table_config cfg;
 *     ct_table_config_init(&cfg);
 *     cfg.max_connections = 1 << 20;
 *     int err;
 *     struct ct_table *t = ct_table_create(&cfg, &err);
 *     ...
 *     struct ct_pkt pkts[64];
 *     struct ct_verdict v[64];
 *     ct_process_burst(t, frames, pkts, v, n, now_ns, CT_PROCESS_COMMIT);
 *     ...
 *     ct_table_destroy(t);
 *
 * Time: every call that can create, refresh or expire state takes `now` in
 * nanoseconds on the caller's clock; the library never reads a clock. Use a
 * clock that does not go backwards (a capture's timestamps, CLOCK_MONOTONIC).
 *
 * Memory: all connection entries and the hash index are allocated by
 * ct_table_create() for `max_connections`; the packet path never allocates.
 *
 * Thread-safety: a table created without CT_TABLE_F_SHARED belongs to one
 * thread at a time (per-core mode: one table per worker, packets steered by
 * ct_tuple_steer_hash()). Read-only calls (ct_table_stats, ct_conn_get_info)
 * may run concurrently with nothing else on such a table.
 *
 * Shared tables (CT_TABLE_F_SHARED): any number of threads (at most 64
 * registered at once) may call ct_process_burst/parsed, ct_process,
 * ct_table_lookup and ct_table_stats at the same time, and one thread at a
 * time ct_expire alongside them (a thread that finds the sweep busy returns
 * at once). Lookups take no lock; a connection's state is updated under its
 * own lock; the index is changed under per-bucket locks. All threads take
 * `now` from one clock, so that no call passes a time earlier than a call
 * that finished before it began; calls that overlap may pass theirs
 * slightly out of order.
 *
 * Reclamation: a thread registers on its first call. An ended connection's
 * entry is reused only once every registered thread has started a call since
 * it ended (quiescent-state reclamation), so a registered thread that stops
 * calling (waits at a barrier, blocks on I/O, exits) holds reuse back. No
 * call ever waits for another thread on that account: entries that cannot be
 * reused yet wait on a list, memory use stays bounded by the entry pool
 * (max_connections plus 16384 spare entries), and once the spare entries are
 * used up new connections are refused as in a full table (stats.refused_full,
 * verdict INVALID TABLE_FULL) until the idle thread calls again. A thread
 * that stops using the table for longer than a moment should therefore call
 * ct_table_thread_offline() first; its next call registers it again. A
 * thread that exits while registered holds reuse back for good (and keeps
 * its slot): call ct_table_thread_offline() before a thread exits.
 *
 * A verdict's handle stays valid (not reused) until the same thread's next
 * call on the table, but other threads may update the connection meanwhile:
 * read it from the destroy callback or accept a snapshot that may be
 * mid-update. ct_table_foreach, ct_expire_all, ct_table_flush*,
 * ct_table_drain, ct_table_set_* and ct_table_destroy need the table to
 * themselves (no other call running). Zone limits are not available on
 * shared tables (-ENOTSUP).
 *
 * Ownership: the table owns every connection; the caller owns frames,
 * descriptors and verdict arrays. ct_table_destroy() frees everything and
 * invalidates every handle.
 */
#ifndef CTRACK_TABLE_H
#define CTRACK_TABLE_H

#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_table;

/* The most packets one burst call takes. */
#define CT_BURST_MAX 64

/* Table flags (ct_table_config.flags). Unknown bits are rejected. */
enum {
    CT_TABLE_F_FIXED_KEY = 1u << 0,        /* use hash_key instead of a random key */
    CT_TABLE_F_NO_CHECKSUM = 1u << 1,      /* skip transport checksum checks (offload captures) */
    CT_TABLE_F_TCP_NO_LOOSE = 1u << 2,     /* do not pick up TCP connections mid-stream */
    CT_TABLE_F_TCP_LIBERAL = 1u << 3,      /* skip TCP window checks (mark only RSTs out of window) */
    CT_TABLE_F_TCP_IGNORE_INVALID_RST = 1u << 4, /* out-of-window RSTs are ignored, not INVALID */
    CT_TABLE_F_SHARED = 1u << 5,           /* one table for many threads */
    CT_TABLE_F_PREFAULT = 1u << 6,         /* touch all memory at creation */
    CT_TABLE_F_NO_ACCT = 1u << 7,          /* no per-connection packet and byte counters (below) */
    CT_TABLE_F_ALL = (1u << 8) - 1,
};

/*
 * Accounting. By default every connection counts packets and IP-layer bytes
 * per direction (ct_conn_info.packets and .bytes, with CT_INFO_F_ACCT set),
 * as Linux does with net.netfilter.nf_conntrack_acct=1. CT_TABLE_F_NO_ACCT
 * leaves the counters out, as Linux's default nf_conntrack_acct=0 does:
 * ct_conn_get_info() then reports zero counters and leaves CT_INFO_F_ACCT
 * clear, and nothing else changes (verdicts, states, timeouts and times are
 * the same). What it saves is memory, 32 bytes per connection:
 *
 *     entry             with counters   CT_TABLE_F_NO_ACCT
 *     IPv4 connection   128 B           96 B
 *     IPv6 connection   160 B           128 B
 *
 * plus about 19 bytes of hash index per connection either way (at
 * max_connections), so an IPv4 connection costs ~147 B with counters and
 * ~115 B without.
 */

struct ct_table_config {
    uint32_t max_connections;   /* required: the most connections held at once */
    uint32_t flags;             /* CT_TABLE_F_* */
    uint64_t hash_key[2];       /* the hash secret, with CT_TABLE_F_FIXED_KEY */
    uint32_t timeouts[CT_TIMEOUT_COUNT]; /* seconds; ct_table_config_init() sets Linux's defaults */
    uint8_t tcp_max_retrans;    /* retransmissions before the retrans timeout applies (3) */
    uint8_t reserved8[7];
    /*
     * Expiry and the sweep (ctrack/expiry.h, docs/lifecycle.md). A field left
     * 0 takes its default, which ct_table_config_init() also writes out.
     */
    uint64_t expiry_resolution_ns;   /* timer wheel tick: 1 s */
    uint64_t sweep_min_interval_ns;  /* ct_expire() pacing, shortest interval: 10 ms */
    uint64_t sweep_interval_step_ns; /* added per calm call: 10 ms */
    uint64_t sweep_max_interval_ns;  /* longest interval: 60 s / 128 = 468.75 ms */
    uint32_t sweep_budget;           /* connections per ct_expire(budget 0): 1024 */
    uint32_t sweep_expired_pct;      /* above this share expired, come back soon: 50 */
    uint64_t reserved[3];            /* must be zero */
};

/* Defaults of the expiry fields of struct ct_table_config. */
#define CT_EXPIRY_DEFAULT_RESOLUTION_NS 1000000000ull       /* 1 s */
#define CT_SWEEP_DEFAULT_MIN_INTERVAL_NS 10000000ull        /* 10 ms */
#define CT_SWEEP_DEFAULT_INTERVAL_STEP_NS 10000000ull       /* 10 ms */
#define CT_SWEEP_DEFAULT_MAX_INTERVAL_NS (60000000000ull / 128) /* 468.75 ms */
#define CT_SWEEP_DEFAULT_BUDGET 1024u
#define CT_SWEEP_DEFAULT_EXPIRED_PCT 50u

/* Fills *cfg with the defaults (max_connections 65536, Linux timeouts, the
 * expiry defaults above). */
void ct_table_config_init(struct ct_table_config *cfg);

/*
 * Creates a table. Returns NULL and sets *err (if err is not NULL) to:
 *   -EINVAL  cfg is NULL, max_connections is 0 or above 2^30, an unknown
 *            flag or a reserved field is set, a timeout is 0, the sweep's
 *            minimum interval is above its maximum, or sweep_expired_pct is
 *            above 100;
 *   -ENOMEM  the memory could not be allocated;
 *   -EIO     no random key could be read from the system.
 */
struct ct_table *ct_table_create(const struct ct_table_config *cfg, int *err);

/* Frees the table and everything in it. NULL is ignored. */
void ct_table_destroy(struct ct_table *table);

/*
 * Shared tables: the calling thread stops using the table (it holds no handle
 * from it any more), so the reuse of ended connections' entries no longer
 * waits for it (see Reclamation above); its next call registers it again.
 * Call it from the thread itself, outside any call on the table (not from a
 * destroy callback). Returns 0 (also for a table that is not shared or that
 * the thread is not registered with), or -EINVAL if table is NULL.
 */
int ct_table_thread_offline(struct ct_table *table);

/* Processing flags. */
enum {
    CT_PROCESS_COMMIT = 1u << 0, /* insert NEW connections (else classify only) */
};

/* The result for one packet. */
struct ct_verdict {
    struct ct_conn *conn; /* the connection, or NULL (INVALID, UNTRACKED, uncommitted NEW) */
    uint8_t state;        /* enum ct_state */
    uint8_t dir;          /* enum ct_dir of the packet within conn */
    uint8_t l4state;      /* protocol state after the packet (TCP: enum ct_tcp_state) */
    uint8_t flags;        /* CT_VERDICT_* */
    uint16_t reason;      /* enum ct_reason: NONE unless INVALID or UNTRACKED */
    uint16_t pad;
};

enum {
    CT_VERDICT_CREATED = 1u << 0,  /* this packet created (committed) conn */
    CT_VERDICT_REPLACED = 1u << 1, /* an old connection with this tuple was ended first */
    /* Drop the packet although it was tracked: a rule (ctrack/rules.h)
     * dropped it, or the connection's helper refused it as Linux's would
     * (NF_DROP: a partial or malformed FTP command, an expectation that
     * could not be added). */
    CT_VERDICT_DROP = 1u << 2,
    /* The packet was translated (ctrack/nat.h): ct_process_burst_rw()
     * rewrote it in the caller's frame. */
    CT_VERDICT_NAT = 1u << 3,
};

/*
 * Processes up to CT_BURST_MAX frames: parses each into pkts[i], looks it up,
 * runs the protocol state machine, updates counters and times, and writes
 * verdicts[i]. With CT_PROCESS_COMMIT a packet that may start a connection
 * creates one; without it the verdict is NEW with conn NULL.
 * Returns the number of packets processed (n), or -EINVAL (NULL argument or
 * n > CT_BURST_MAX), or -EAGAIN (shared table: 64 threads already
 * registered).
 */
int ct_process_burst(struct ct_table *table, const struct ct_frame *frames,
                     struct ct_pkt *pkts, struct ct_verdict *verdicts,
                     unsigned n, uint64_t now, unsigned flags);

/* As ct_process_burst() for packets the caller already parsed. Packets
 * parsed from writable frames (ct_pkt_parse_rw()) are translated as
 * ct_process_burst_rw() translates them; the others are never written. */
int ct_process_parsed(struct ct_table *table, struct ct_pkt *pkts,
                      struct ct_verdict *verdicts, unsigned n, uint64_t now,
                      unsigned flags);

/*
 * As ct_process_burst() for frames the library may write into (struct
 * ct_frame_rw, ctrack/packet.h): each is parsed with ct_pkt_parse_rw(), so
 * its descriptor is marked writable and the ct_pkt_rewrite_*() calls accept
 * it after the verdict; otherwise the verdicts, the descriptors and the
 * table's state are exactly those ct_process_burst() gives for the same
 * bytes, and no frame is written. Monitors keep ct_process_burst() and
 * const frames. Returns n, -EINVAL or -EAGAIN as ct_process_burst() does.
 */
int ct_process_burst_rw(struct ct_table *table, const struct ct_frame_rw *frames,
                        struct ct_pkt *pkts, struct ct_verdict *verdicts,
                        unsigned n, uint64_t now, unsigned flags);

/* One packet: a wrapper of ct_process_burst(). Returns 0 or -EINVAL. */
int ct_process(struct ct_table *table, const struct ct_frame *frame,
               struct ct_pkt *pkt, struct ct_verdict *verdict, uint64_t now,
               unsigned flags);

/*
 * Finds the live connection one of whose tuples equals *tuple. Returns it
 * and stores the tuple's direction in *dir (if dir is not NULL), or NULL
 * (also for a NULL argument or an unknown family). A connection whose
 * deadline is at or before `now` is not returned: it is removed (reason
 * EXPIRED, ctrack/expiry.h), as a packet's lookup would.
 */
struct ct_conn *ct_table_lookup(struct ct_table *table, const struct ct_tuple *tuple,
                                uint64_t now, enum ct_dir *dir);

/*
 * Calls fn for every connection in the table (in no particular order) until
 * fn returns non-zero. Returns that value, or 0. fn must not modify the table.
 */
int ct_table_foreach(struct ct_table *table,
                     int (*fn)(struct ct_conn *conn, void *arg), void *arg);

/* Table counters. */
struct ct_table_stats {
    uint64_t packets;                     /* packets processed */
    uint64_t found;                       /* packets that matched a connection */
    uint64_t created;                     /* connections committed */
    uint64_t not_committed;               /* NEW packets classified without commit */
    uint64_t invalid;                     /* INVALID verdicts */
    uint64_t untracked;                   /* UNTRACKED verdicts */
    uint64_t related;                     /* RELATED verdicts */
    uint64_t refused_full;                /* NEW refused: table full */
    uint64_t probe_limit;                 /* inserts refused: probe cap hit */
    uint64_t deleted;                     /* connections removed (any cause) */
    uint64_t expired;                     /* connections removed by timeout */
    uint64_t early_drop;                  /* unassured connections evicted when full */
    uint64_t replaced;                    /* connections ended by a new one on the same tuple */
    uint64_t reasons[CT_REASON_COUNT];    /* verdicts by reason */
    uint32_t connections;                 /* now in the table */
    uint32_t peak_connections;
    uint32_t max_connections;
    uint32_t buckets;                     /* hash index buckets */
    uint64_t memory_bytes;                /* bytes allocated for index and entries */

    /*
     * Lifecycle (docs/lifecycle.md). `deleted` counts every connection that
     * left the table; by reason: closed + expired + replaced + early_drop +
     * flushed + drained. `expired` = sweep_expired + expired_inline.
     */
    uint64_t closed;                      /* ended by their tracker (TCP RST before any reply) */
    uint64_t flushed;                     /* ended by ct_table_flush*() */
    uint64_t drained;                     /* ended by ct_table_drain() */
    uint64_t refused_zone;                /* NEW refused: the zone's limit was reached */
    uint64_t expired_inline;              /* expired outside the sweep: by a lookup, the early-drop scan or ct_expire_all() */
    uint64_t early_drop_scans;            /* early-drop scans (table full on a NEW packet) */
    uint64_t sweep_calls;                 /* ct_expire() calls */
    uint64_t sweep_examined;              /* connections the timer wheel handed to the sweep */
    uint64_t sweep_expired;               /* of those, expired */
    uint64_t sweep_refiled;               /* of those, filed again at their later real deadline */
    uint64_t sweep_backlog;               /* calls that stopped on their budget with more due */
    uint64_t refiled_shrink;              /* re-filed by a packet that shortened the timeout */
    uint64_t sweep_interval_ns;           /* gauge: the sweep's current pacing interval */
    uint64_t timer_next_due;              /* gauge: the wheel's next due time, UINT64_MAX if none */
    uint32_t timers;                      /* gauge: connections filed in the timer wheel */
    uint32_t pad;
};

/* Copies the counters. Returns 0 or -EINVAL. */
int ct_table_stats(const struct ct_table *table, struct ct_table_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
