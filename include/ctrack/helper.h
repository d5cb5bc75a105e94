/*
 * ctrack/helper.h: connection helpers and expectations (Linux's
 * nf_conntrack_helper, nf_conntrack_expect, nf_conntrack_ftp and
 * nf_conntrack_tftp).
 *
 * A helper reads the payload of a control connection (FTP's commands and
 * replies, TFTP's requests) and announces the data connection that will
 * follow as an expectation: its tuple, with the ports the peer chooses left
 * open. The first packet that matches an expectation creates a connection
 * that is RELATED (verdict state CT_STATE_RELATED, status CT_STATUS_EXPECTED)
 * and records its master; the expectation is used up. Expectations expire
 * (each helper has a timeout), are bounded (per master by the helper, in
 * total by the table) and die with their master.
 *
 * Usage: ct_helper_enable() once, before the table sees its first packet
 * (templates and rule sets that name a helper call it themselves); then a
 * connection gets a helper from the template it was created with, never
 * from its port (as Linux since 4.7, nf_conntrack_helper=0).
 * ct_helper_expect_foreach() lists the expectations, ct_helper_stats()
 * counts what the helpers did.
 *
 * Thread-safety: as the table's configuration calls: not concurrently with
 * packet processing on the same table. Helpers are available in tables of
 * one thread only: ct_helper_enable() refuses a shared table.
 * Ownership: the expectation table belongs to the connection table and is
 * freed with it.
 */
#ifndef CTRACK_HELPER_H
#define CTRACK_HELPER_H

#include <stdint.h>

#include "ctrack/table.h"
#include "ctrack/template.h"
#include "ctrack/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The helpers are enum ct_helper of ctrack/template.h (CT_HELPER_FTP:
 * PORT, EPRT, 227, 229; CT_HELPER_TFTP: read and write requests), named by
 * ct_helper_id() and ct_helper_name() there.
 *
 * The IP protocol helper `id` tracks (6 for FTP, 17 for TFTP), which an
 * nft "ct helper" object's "protocol" must name; 0 for an unknown id.
 */
uint8_t ct_helper_proto(unsigned id);

/* Settings of a table's expectations (ct_helper_enable()). */
struct ct_helper_config {
    /* Most expectations the table holds at once; 0: Linux's default,
     * 4 * max(max_connections / 256, 1) (nf_conntrack_expect_max). */
    uint32_t max_expect;
    uint32_t reserved[3]; /* must be 0 */
};

/*
 * Makes the table ready for helpers: allocates the expectation table and
 * the per-connection helper state (a side array, see src/table/ext.h).
 * cfg may be NULL for the defaults. Calling it again once enabled changes
 * nothing and returns 0. Returns 0, or:
 *   -EINVAL  table is NULL, or cfg has non-zero reserved fields;
 *   -ENOTSUP the table is shared (CT_TABLE_F_SHARED);
 *   -EBUSY   the table has already created a connection;
 *   -ENOSPC  the table has no room for another extension;
 *   -ENOMEM  out of memory.
 */
int ct_helper_enable(struct ct_table *table, const struct ct_helper_config *cfg);

/* One expectation, copied out (ct_helper_expect_foreach()). */
struct ct_expect_info {
    struct ct_tuple tuple;   /* the expected original tuple; see flags for wildcards */
    struct ct_tuple master;  /* the master connection's original tuple */
    uint64_t expires;        /* ns, the caller's clock */
    uint8_t helper;          /* enum ct_helper that created it */
    uint8_t flags;           /* CT_EXPECT_F_* */
    uint8_t pad[6];
};

/* ct_expect_info.flags */
enum {
    CT_EXPECT_F_SPORT_ANY = 1u << 0, /* any source port matches (tuple.sport is 0) */
};

/*
 * Calls fn for every live expectation at time `now` (those expired by then
 * are removed first), until fn returns non-zero. Returns the number of
 * expectations visited, 0 when helpers are not enabled, or -EINVAL if
 * table or fn is NULL.
 */
int ct_helper_expect_foreach(struct ct_table *table, uint64_t now,
                             int (*fn)(const struct ct_expect_info *e, void *arg), void *arg);

/* What the helpers did (ct_helper_stats()). */
struct ct_helper_stats {
    uint64_t expect_created;  /* expectations added */
    uint64_t expect_matched;  /* connections created RELATED from one */
    uint64_t expect_expired;  /* removed at their timeout */
    uint64_t expect_evicted;  /* the master's oldest, removed for a newer one */
    uint64_t expect_master;   /* removed with their master */
    uint64_t expect_refused;  /* not added: table full or a clash (the packet is dropped) */
    uint64_t parse_drops;     /* packets dropped for a partial or malformed command */
    uint32_t expectations;    /* held now */
    uint32_t max_expect;      /* the table's bound */
};

/*
 * Copies the helpers' counters into *out. Returns 0, -EINVAL if an
 * argument is NULL, or -ENOENT if helpers are not enabled (*out zeroed).
 */
int ct_helper_stats(const struct ct_table *table, struct ct_helper_stats *out);

#ifdef __cplusplus
}
#endif
#endif
