/*
 * Private interface of the helpers: the expectation table (expect.c), the
 * per-connection helper state, the FTP and TFTP payload parsers (ftp.c,
 * tftp.c) and the hooks the packet path calls (path/process.c).
 *
 * ---- Design -----------------------------------------------------------------
 *
 * What. An expectation is a tuple that a future connection's original
 * direction will have, with the source port left open (Linux's expectation
 * mask: both FTP and TFTP leave exactly that field open), the master
 * connection that announced it, the helper that made it and a deadline.
 * The table holds at most max_expect of them in an array allocated when
 * helpers are enabled, chained into a power-of-two hash on every field
 * except the source port (so one probe finds every candidate of a packet's
 * tuple), plus a free list. Links are index + 1 so that the zeroed
 * allocation is an empty table, and slots are handed out from the
 * never-used tail before the free list runs dry: only the memory of
 * expectations that existed is touched. Nothing is allocated on the packet
 * path; scans over all expectations (listing, a master's end, a full
 * table's expiry) stop at the high-water mark.
 *
 * Lifetimes follow Linux's nf_conntrack_expect.c: an expectation is used up
 * by the first NEW packet that matches it; it is removed at its deadline
 * (checked lazily, with the caller's `now`, whenever the table is searched,
 * added to or listed, so no timer is needed); a master may hold at most
 * the helper's max_expected at once and a new one evicts the master's
 * oldest (evict_oldest_expect()); the same expectation announced again by
 * the same master replaces the old one; one that overlaps another master's
 * is refused (-EBUSY there, the packet dropped); the table's bound is
 * nf_conntrack_expect_max. When a master ends, its expectations go with it
 * (nf_ct_remove_expectations()): table.c calls ct_helper_conn_end() for a
 * connection that has CT_STATUS_HELPER.
 *
 * Per-connection state lives in a side array of the table (table/ext.h),
 * so the entry does not grow and a table without helpers pays nothing:
 * the helper id, FTP's sequence numbers after the last newline per
 * direction, the number of expectations the connection holds as a master
 * and, for a connection created from an expectation, its master's original
 * tuple (Linux keeps a reference to the master; ctrack keeps what it shows).
 *
 * Cost on the packet path: tables without helpers test t->helpers once per
 * NEW packet (NULL) and nothing on established packets, whose status word
 * is already loaded and tested for CT_STATUS_HELPER only on the path that
 * fills the verdict.
 */
#ifndef CT_HELPER_HELPER_H
#define CT_HELPER_HELPER_H

#include <stddef.h>
#include <stdint.h>

#include "ctrack/helper.h"
#include "ctrack/packet.h"
#include "ctrack/table.h"

struct ct_table;
struct ct_conn;

/* Linux's expect policies: nf_conntrack_ftp.c and nf_conntrack_tftp.c both
 * allow one expectation per master, for five minutes. */
#define CT_HELPER_FTP_MAX_EXPECTED 1u
#define CT_HELPER_TFTP_MAX_EXPECTED 1u
#define CT_HELPER_EXPECT_TIMEOUT_NS (300ull * 1000000000ull)

/* FTP: sequence numbers after a newline remembered per direction
 * (NUM_SEQ_TO_REMEMBER). */
#define CT_FTP_SEQ_REMEMBER 2

/* Per-connection helper state: one slot of the table's helper extension. */
struct ct_helper_conn {
    uint8_t helper;                 /* enum ct_helper; 0 none */
    uint8_t has_master;             /* created from an expectation: master is set */
    uint8_t nl_num[2];              /* FTP: entries of nl_seq per direction */
    uint32_t expecting;             /* expectations this connection holds as master */
    uint32_t nl_seq[2][CT_FTP_SEQ_REMEMBER]; /* FTP: seq just after a '\n' */
    struct ct_tuple master;         /* the master's original tuple */
};

/* One expectation. */
struct ct_expect {
    struct ct_tuple tuple; /* expected original tuple; sport 0 and ignored */
    uint64_t expires;      /* ns */
    uint64_t serial;       /* order of creation: the oldest has the smallest */
    uint32_t master;       /* connection id of the master */
    uint32_t next;         /* hash chain, or the free list: index + 1, 0 ends it */
    uint8_t helper;        /* enum ct_helper */
    uint8_t live;
};

#define CT_EXPECT_NONE UINT32_MAX

/* The table's helpers (t->helpers). */
struct ct_helper_table {
    uint32_t count;      /* live expectations: the packet path tests this first */
    uint32_t max;        /* capacity of e[] */
    uint32_t mask;       /* buckets - 1 */
    uint32_t free_head;  /* index + 1 of a freed slot, 0 for none */
    uint32_t hiwater;    /* slots ever used: e[hiwater ..] are untouched */
    int ext_id;          /* the table extension of struct ct_helper_conn */
    uint64_t serial;
    uint64_t k0, k1;     /* hash key, derived from the table's */
    uint32_t *bucket;    /* chain heads: index + 1, 0 for an empty bucket */
    struct ct_expect *e;
    struct ct_helper_stats st; /* counters; the gauges are filled on copy */
};

/* ---- expectation table (expect.c) ------------------------------------------ */

/* The helper state of c (helpers enabled). */
struct ct_helper_conn *ct_helper_conn_state(const struct ct_table *t, const struct ct_conn *c);

/*
 * Adds an expectation for `tuple` (sport ignored) announced by master,
 * following Linux's __nf_ct_expect_check(). Returns 0, or -EBUSY when it
 * clashes with another master's, -EMFILE when the table is full.
 */
int ct_helper_expect_add(struct ct_table *t, struct ct_conn *master, unsigned helper,
                         const struct ct_tuple *tuple, uint64_t now);

/*
 * The live expectation that a NEW packet with original tuple `tu` matches,
 * or CT_EXPECT_NONE. Removes expired expectations it meets.
 */
uint32_t ct_helper_expect_find(struct ct_table *t, const struct ct_tuple *tu, uint64_t now);

/* Removes expectation i (cause: which counter to bump, or NULL). */
void ct_helper_expect_remove(struct ct_table *t, uint32_t i, uint64_t *cause);

/* ---- parsers (ftp.c, tftp.c): pure functions of the payload bytes ---------- */

enum ct_ftp_kind {
    CT_FTP_NONE = 0,
    CT_FTP_PORT = 1, /* PORT h1,h2,h3,h4,p1,p2 (RFC 959), client to server */
    CT_FTP_EPRT = 2, /* EPRT |af|addr|port| (RFC 2428), client to server */
    CT_FTP_PASV = 3, /* 227 reply to PASV (RFC 959, RFC 1123 4.1.2.6), server to client */
    CT_FTP_EPSV = 4, /* 229 reply to EPSV, (|||port|) (RFC 2428), server to client */
};

/* What the FTP parser found. */
struct ct_ftp_cmd {
    uint8_t kind;        /* enum ct_ftp_kind */
    uint8_t has_addr;    /* addr was given (not for EPSV) */
    uint16_t port;       /* host order */
    union ct_addr addr;  /* IPv4 in v4 (network order), or IPv6 */
    uint16_t num_off;    /* where the address and port start in the payload (for NAT) */
    uint16_t num_len;    /* and their length */
};

/*
 * Looks for an FTP command (dir CT_DIR_ORIGINAL: PORT, EPRT) or reply
 * (CT_DIR_REPLY: 227, 229) at the start of payload p of len bytes, on a
 * connection of family l3 (an EPRT must name that family). Returns 1 and
 * fills *cmd when one was found, 0 when the payload is not one of them,
 * -1 when it starts like one but is cut short or malformed (Linux drops
 * such a packet: "partial matching").
 */
int ct_helper_ftp_parse(const uint8_t *p, size_t len, unsigned dir, uint8_t l3,
                        struct ct_ftp_cmd *cmd);

/* TFTP opcodes (RFC 1350) that start a transfer. */
#define CT_TFTP_RRQ 1
#define CT_TFTP_WRQ 2

/* 1 when the UDP payload is a TFTP read or write request, else 0. */
int ct_helper_tftp_is_request(const uint8_t *p, size_t len);

/* ---- packet path hooks ------------------------------------------------------ */

/*
 * A connection c was just created and inserted by the packet pkt: consumes
 * a matching expectation (c becomes EXPECTED, records its master and takes
 * its mark), gives c the helper `helper` (from its template; 0 none) and
 * runs it on the packet. Returns the verdict state: CT_STATE_RELATED or
 * CT_STATE_NEW; sets CT_VERDICT_DROP in *vflags when the helper drops it.
 */
uint8_t ct_helper_conn_new(struct ct_table *t, struct ct_conn *c, const struct ct_pkt *pkt,
                           unsigned helper, uint64_t now, uint8_t *vflags);

/* Whether a NEW packet would be RELATED (classification without commit). */
int ct_helper_would_relate(struct ct_table *t, const struct ct_pkt *pkt, uint64_t now);

/* Runs c's helper on an accepted packet in direction dir; returns
 * CT_VERDICT_DROP when the helper drops the packet, else 0. */
uint8_t ct_helper_packet(struct ct_table *t, struct ct_conn *c, unsigned dir,
                         const struct ct_pkt *pkt, uint64_t now);

/*
 * Gives the NEW connection c the helper `helper` and runs it on pkt, the
 * packet in direction dir that created it: the seam for rules that set a
 * helper after the lookup (nft's `ct helper set` on `ct state new`), which
 * Linux then runs on that same packet at confirmation. Does nothing when
 * helpers are not enabled or c has a helper already (Linux's
 * nft_ct_helper_obj_eval() tests IPS_HELPER only, so an expected
 * connection may get one this way). Returns CT_VERDICT_DROP when the
 * helper drops pkt, else 0.
 */
uint8_t ct_helper_conn_start(struct ct_table *t, struct ct_conn *c, unsigned helper,
                             const struct ct_pkt *pkt, unsigned dir, uint64_t now);

/* Gives c the helper `helper` (templates and rules, on a NEW connection).
 * Returns 0, -EINVAL for an unknown helper, -ENOENT if helpers are not
 * enabled on t. */
int ct_helper_conn_assign(struct ct_table *t, struct ct_conn *c, unsigned helper);

/* c is leaving the table: its expectations go with it (table.c). */
void ct_helper_conn_end(struct ct_table *t, struct ct_conn *c);

/* Fills the helper facts of ct_conn_get_info(). */
void ct_helper_conn_info(const struct ct_table *t, const struct ct_conn *c,
                         struct ct_conn_info *info);

/* Frees the table's helpers (ct_table_destroy()). */
void ct_helper_destroy(struct ct_table *t);

#endif
