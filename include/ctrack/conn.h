/*
 * ctrack/conn.h: what a tracked connection looks like from outside.
 *
 * Usage: a struct ct_conn is opaque; a verdict or a lookup hands out a
 * pointer to one. ct_conn_get_info() copies every fact about it (tuples,
 * status bits, protocol state, counters if the table keeps them, times) into
 * a struct ct_conn_info.
 *
 * Thread-safety: in a table used by one thread, a handle stays valid until
 * that thread's next call that can expire, evict or flush connections
 * (ct_process_*, ct_table_lookup, ct_expire, ct_expire_all, ct_table_flush*,
 * ct_table_drain; see ctrack/expiry.h). A connection ended inside a
 * ct_process_* call stays readable (status DYING) until the next such call;
 * the handle given to the destroy callback is valid during the callback
 * only. In a shared table
 * (CT_TABLE_F_SHARED) read a connection only from inside a callback or while
 * the table guarantees it (see ctrack/table.h).
 * Ownership: connections belong to their table; never free a handle.
 */
#ifndef CTRACK_CONN_H
#define CTRACK_CONN_H

#include <stdint.h>

#include "ctrack/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_conn;
struct ct_table;

/* Packet states (ct state), as iptables/nftables "ct state" sees them. */
enum ct_state {
    CT_STATE_NEW = 0,
    CT_STATE_ESTABLISHED = 1,
    CT_STATE_RELATED = 2,
    CT_STATE_INVALID = 3,
    CT_STATE_UNTRACKED = 4,
};

/* "new", "established", "related", "invalid", "untracked". */
const char *ct_state_name(unsigned state);

/* Connection status bits, numbered as Linux's IPS_* bits. */
enum {
    CT_STATUS_EXPECTED = 1u << 0,      /* created from an expectation */
    CT_STATUS_SEEN_REPLY = 1u << 1,    /* a packet in each direction was seen */
    CT_STATUS_ASSURED = 1u << 2,       /* not to be early-dropped */
    CT_STATUS_CONFIRMED = 1u << 3,     /* committed to the table */
    CT_STATUS_SRC_NAT = 1u << 4,
    CT_STATUS_DST_NAT = 1u << 5,
    CT_STATUS_SEQ_ADJUST = 1u << 6,
    CT_STATUS_SRC_NAT_DONE = 1u << 7,
    CT_STATUS_DST_NAT_DONE = 1u << 8,
    CT_STATUS_DYING = 1u << 9,         /* being removed */
    CT_STATUS_FIXED_TIMEOUT = 1u << 10,
    CT_STATUS_TEMPLATE = 1u << 11,
    CT_STATUS_UNTRACKED = 1u << 12,
    CT_STATUS_HELPER = 1u << 13,
    CT_STATUS_PUBLIC_MASK = (1u << 14) - 1,
};

/* TCP connection states, numbered and named as Linux nf_conntrack does. */
enum ct_tcp_state {
    CT_TCP_NONE = 0,
    CT_TCP_SYN_SENT = 1,
    CT_TCP_SYN_RECV = 2,
    CT_TCP_ESTABLISHED = 3,
    CT_TCP_FIN_WAIT = 4,
    CT_TCP_CLOSE_WAIT = 5,
    CT_TCP_LAST_ACK = 6,
    CT_TCP_TIME_WAIT = 7,
    CT_TCP_CLOSE = 8,
    CT_TCP_SYN_SENT2 = 9,
    CT_TCP_STATE_COUNT = 10,
};

/* "NONE", "SYN_SENT", ... "SYN_SENT2"; "UNKNOWN" out of range. */
const char *ct_tcp_state_name(unsigned state);

/*
 * SCTP association states, numbered and named as Linux nf_conntrack does
 * (enum sctp_conntrack). Linux 6.3 merged HEARTBEAT_ACKED into ESTABLISHED;
 * its number (9) is not used.
 */
enum ct_sctp_state {
    CT_SCTP_NONE = 0,
    CT_SCTP_CLOSED = 1,
    CT_SCTP_COOKIE_WAIT = 2,
    CT_SCTP_COOKIE_ECHOED = 3,
    CT_SCTP_ESTABLISHED = 4,
    CT_SCTP_SHUTDOWN_SENT = 5,
    CT_SCTP_SHUTDOWN_RECD = 6,
    CT_SCTP_SHUTDOWN_ACK_SENT = 7,
    CT_SCTP_HEARTBEAT_SENT = 8,
    CT_SCTP_STATE_COUNT = 9,
};

/* "NONE", "CLOSED", ... "HEARTBEAT_SENT"; "UNKNOWN" out of range. */
const char *ct_sctp_state_name(unsigned state);

/*
 * The name of a connection's protocol state as conntrack prints it after
 * the timeout column: ct_tcp_state_name() for TCP (6), ct_sctp_state_name()
 * for SCTP (132); NULL for protocols without states, for which conntrack
 * prints nothing there.
 */
const char *ct_proto_state_name(uint8_t proto, unsigned state);

/*
 * Timeouts, one per protocol state or condition: X(code, name, default).
 * The list is the single source of enum ct_timeout, the stable names
 * (ct_timeout_name()) and Linux's defaults in seconds (ct_timeout_default()):
 * TCP per state (nf_conntrack_tcp_timeout_*), then the max-retransmissions
 * and unacknowledged-data timeouts; UDP, and UDP once a stream (assured);
 * ICMP; other protocols; GRE, and GRE once both directions were seen; SCTP
 * per state. The TCP rows follow enum ct_tcp_state from SYN_SENT on, and the
 * TCP tracker relies on that order (asserted in src/proto/tcp.c). The GRE
 * and SCTP rows were added after GENERIC, so the earlier numbers did not
 * change (struct ct_table_config grew with them); append new rows at the
 * end for the same reason.
 */
#define CT_TIMEOUT_LIST(X)                                                                \
    X(TCP_SYN_SENT, "tcp_syn_sent", 120)                                                  \
    X(TCP_SYN_RECV, "tcp_syn_recv", 60)                                                   \
    X(TCP_ESTABLISHED, "tcp_established", 432000) /* 5 days */                            \
    X(TCP_FIN_WAIT, "tcp_fin_wait", 120)                                                  \
    X(TCP_CLOSE_WAIT, "tcp_close_wait", 60)                                               \
    X(TCP_LAST_ACK, "tcp_last_ack", 30)                                                   \
    X(TCP_TIME_WAIT, "tcp_time_wait", 120)                                                \
    X(TCP_CLOSE, "tcp_close", 10)                                                         \
    X(TCP_SYN_SENT2, "tcp_syn_sent2", 120)                                                \
    X(TCP_RETRANS, "tcp_max_retrans", 300)                                                \
    X(TCP_UNACK, "tcp_unacknowledged", 300)                                               \
    X(UDP, "udp", 30)                                                                     \
    X(UDP_STREAM, "udp_stream", 120)                                                      \
    X(ICMP, "icmp", 30)                                                                   \
    X(GENERIC, "generic", 600)                                                            \
    X(GRE, "gre", 30)                                                                     \
    X(GRE_STREAM, "gre_stream", 180)                                                      \
    X(SCTP_CLOSED, "sctp_closed", 10)                                                     \
    X(SCTP_COOKIE_WAIT, "sctp_cookie_wait", 3)                                            \
    X(SCTP_COOKIE_ECHOED, "sctp_cookie_echoed", 3)                                        \
    X(SCTP_ESTABLISHED, "sctp_established", 210)                                          \
    X(SCTP_SHUTDOWN_SENT, "sctp_shutdown_sent", 3)                                        \
    X(SCTP_SHUTDOWN_RECD, "sctp_shutdown_recd", 3)                                        \
    X(SCTP_SHUTDOWN_ACK_SENT, "sctp_shutdown_ack_sent", 3)                                \
    X(SCTP_HEARTBEAT_SENT, "sctp_heartbeat_sent", 30)

enum ct_timeout {
#define CT_TIMEOUT_ENUM_(code, name, seconds) CT_TIMEOUT_##code,
    CT_TIMEOUT_LIST(CT_TIMEOUT_ENUM_)
#undef CT_TIMEOUT_ENUM_
    CT_TIMEOUT_COUNT
};

/* Stable name of a timeout ("tcp_established", "udp_stream", ...). */
const char *ct_timeout_name(unsigned timeout);

/* Linux's default for a timeout, in seconds. */
uint32_t ct_timeout_default(unsigned timeout);

/* Everything known about one connection, copied out. */
struct ct_conn_info {
    struct ct_tuple tuple[2];   /* [CT_DIR_ORIGINAL], [CT_DIR_REPLY] */
    uint64_t packets[2];        /* per direction; 0 without CT_INFO_F_ACCT */
    uint64_t bytes[2];          /* per direction, IP-layer bytes as Linux counts them; 0 without CT_INFO_F_ACCT */
    uint64_t first_seen;        /* ns, the caller's clock */
    uint64_t last_seen;         /* ns */
    uint64_t expires;           /* ns at which it times out */
    uint32_t status;            /* CT_STATUS_* */
    uint32_t mark;
    uint16_t zone[2];           /* zone per direction */
    uint8_t l3;                 /* enum ct_l3 */
    uint8_t proto;              /* IP protocol number */
    uint8_t l4state;            /* TCP: enum ct_tcp_state; SCTP: enum ct_sctp_state; else 0 */
    uint8_t timeout;            /* enum ct_timeout in force */
    uint8_t flags;              /* CT_INFO_F_* */
    uint8_t policy;             /* timeout policy id (ctrack/template.h); 0: the table's */
    uint8_t helper;             /* enum ct_helper (ctrack/template.h); 0: none */
    uint8_t pad;
    uint16_t events;            /* CT_EVENT_* the connection may emit, with CT_INFO_F_EVENTS */
    uint8_t labels[16];         /* conntrack labels: label n is bit n % 8 of byte n / 8 */
    struct ct_tuple master;     /* with CT_INFO_F_MASTER: the master's original tuple */
};

/* ct_conn_info.flags */
enum {
    /*
     * packets[] and bytes[] are counted: the table keeps accounting (the
     * default). Clear for a table created with CT_TABLE_F_NO_ACCT, whose
     * connections keep no counters; both arrays are then 0.
     */
    CT_INFO_F_ACCT = 1u << 0,
    /* `events` was set by the connection's template (CT_TMPL_EVENTS); without
       it the connection emits every event. */
    CT_INFO_F_EVENTS = 1u << 1,
    /*
     * The connection was created from an expectation (status
     * CT_STATUS_EXPECTED) and `master` holds the original tuple of the
     * connection whose helper announced it (ctrack/helper.h).
     */
    CT_INFO_F_MASTER = 1u << 2,
};

/*
 * Copies the facts about `conn` into *info. Returns 0, or -EINVAL if an
 * argument is NULL.
 */
int ct_conn_get_info(const struct ct_table *table, const struct ct_conn *conn,
                     struct ct_conn_info *info);

#ifdef __cplusplus
}
#endif
#endif
