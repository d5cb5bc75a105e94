/*
 * ctrack/flowlog.h: flow records in the form of Zeek's conn.log, ctrack's
 * own JSON flow records, and the Community ID flow hash.
 *
 * Usage: a struct ct_flowlog keeps, beside the connection table, the facts
 * Zeek's connection log needs about each connection: the two TCP endpoint
 * states, sequence-number byte counts, content gaps, the history letters,
 * packet and IP byte counts. It is an array of `capacity` slots created once
 * (no allocation per packet); the caller names a connection by a slot number
 * below the capacity, typically a dense index of the table's connection id.
 *
 *     struct ct_flowlog_config fc;
 *     ct_flowlog_config_init(&fc);
 *     fc.capacity = table_max_connections;
 *     struct ct_flowlog *fl = ct_flowlog_create(&fc, &err);
 *     ...
 *     // for a packet that created connection `slot`:
 *     ct_flowlog_open(fl, slot, &pkt, &verdict, now, &ended);
 *     // for every later packet matched to it (INVALID ones included):
 *     if (ct_flowlog_packet(fl, slot, &pkt, &verdict, now, &ended) == 1)
 *         write(&ended);          // an earlier record of this slot ended
 *     // when the table removes the connection (or at the end):
 *     if (ct_flowlog_close(fl, slot, &info, CT_FLOW_END_CT_TIMEOUT, now, &rec) == 1)
 *         write(&rec);
 *     ...
 *     ct_flow_record_format_zeek(&rec, line, sizeof line, CT_ZEEK_F_IP_PROTO);
 *
 * Zeek's notion of a connection is not conntrack's. Zeek ends a connection
 * by its own timers (inactivity 5 min for TCP, 1 min for UDP and ICMP;
 * 5 s after a TCP connection closed or after an unanswered SYN) and when a
 * new SYN reuses a closed connection's ports. The flowlog applies these
 * rules itself: when a packet arrives for a slot whose record has ended
 * under them, the old record is handed back through `ended` and the packet
 * starts a new record with a new uid, as Zeek would log two connections.
 * ct_flowlog_deadline() tells when the current record would end without
 * further packets, so that a caller with a timer can emit it on time
 * (ct_flowlog_expire()).
 *
 * Direction: Zeek's originator is normally the sender of the first packet,
 * but Zeek flips the roles when that packet looks like it came from the
 * server (a SYN-ACK followed by an ACK or data, or a source port in the
 * "likely server ports" set); the history then starts with '^'. The record
 * says whether its originator is conntrack's reply side (`flipped`).
 *
 * Sources: Zeek's documentation of conn.log (Conn::Info: conn_state values,
 * history letters, byte counts), of connection flipping
 * (docs.zeek.org/en/master/devel/conn.html) and of Site::private_address_space;
 * the Community ID v1 specification (github.com/corelight/community-id-spec).
 * docs/flowlog.md explains every field and the deliberate differences.
 *
 * Thread-safety: a flowlog belongs to one thread at a time, like a table
 * without CT_TABLE_F_SHARED. The formatters and ct_community_id_v1() are
 * reentrant.
 * Ownership: the caller owns records and buffers; ct_flowlog_destroy() frees
 * everything the flowlog allocated.
 */
#ifndef CTRACK_FLOWLOG_H
#define CTRACK_FLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "ctrack/table.h"
#include "ctrack/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_flowlog;

/* ---- Community ID ------------------------------------------------------ */

/* "1:" + 28 base64 characters + NUL, or "1:" + 40 hex digits + NUL. */
#define CT_COMMUNITY_ID_MAX 43

enum {
    CT_COMMUNITY_ID_HEX = 1u << 0, /* hex digest instead of base64 (the spec's "no base64" form) */
};

/*
 * Community ID v1 of a flow, written NUL-terminated to buf.
 *
 * `t` is the flow as seen from one side: src, dst, proto, l3. For TCP, UDP
 * and SCTP (132) the ports are t->sport and t->dport. For ICMP and ICMPv6,
 * t->dport holds (type << 8 | code) as ctrack's tuples do (t->sport, the
 * identifier, is not hashed): the type and, for types with a reply
 * counterpart, the counterpart type (else the code) stand in for the ports,
 * and the endpoints of a one-way ICMP message are hashed as given. Other
 * protocols hash the addresses and the protocol only. The zone is ignored.
 *
 * The hash is SHA-1 over: seed (2 bytes, network order), the two addresses,
 * the protocol (1 byte), a zero byte, the two ports (2 bytes each, network
 * order; absent for protocols without ports), with the endpoints ordered so
 * that the smaller address (then port) comes first; the result is "1:" and
 * the base64 of the digest (or the hex digest with CT_COMMUNITY_ID_HEX).
 *
 * Returns the length written (30 or 42), or -EINVAL (NULL argument, unknown
 * l3) or -ENOSPC (len too small; buf then holds "" if len > 0).
 */
int ct_community_id_v1(const struct ct_tuple *t, uint16_t seed, unsigned flags, char *buf,
                       size_t len);

/* ---- records ----------------------------------------------------------- */

/* Zeek's conn_state values, in the order Conn::Info documents them. */
enum ct_zeek_state {
    CT_ZEEK_S0 = 0,
    CT_ZEEK_S1,
    CT_ZEEK_SF,
    CT_ZEEK_REJ,
    CT_ZEEK_S2,
    CT_ZEEK_S3,
    CT_ZEEK_RSTO,
    CT_ZEEK_RSTR,
    CT_ZEEK_RSTOS0,
    CT_ZEEK_RSTRH,
    CT_ZEEK_SH,
    CT_ZEEK_SHR,
    CT_ZEEK_OTH,
    CT_ZEEK_STATE_COUNT
};

/* "S0", "S1", ... "OTH"; "-" out of range. */
const char *ct_zeek_state_name(unsigned state);

/* Why a record ended. */
enum ct_flow_end {
    CT_FLOW_END_NONE = 0,
    CT_FLOW_END_IDLE,        /* "idle": Zeek's inactivity timeout */
    CT_FLOW_END_ATTEMPT,     /* "attempt": TCP SYN unanswered for the attempt delay */
    CT_FLOW_END_CLOSED,      /* "closed": TCP close or reset, then the close delay */
    CT_FLOW_END_REUSE,       /* "reuse": a new SYN reused the ports of this record */
    CT_FLOW_END_CT_TIMEOUT,  /* "ct-timeout": conntrack timed the connection out */
    CT_FLOW_END_CT_CLOSE,    /* "ct-close": conntrack deleted it (e.g. RST before a reply) */
    CT_FLOW_END_CT_REPLACE,  /* "ct-replace": conntrack replaced it (e.g. SYN in TIME_WAIT) */
    CT_FLOW_END_CT_EVICT,    /* "ct-evict": dropped early to make room */
    CT_FLOW_END_FLUSH,       /* "flush": the table was flushed */
    CT_FLOW_END_SHUTDOWN,    /* "shutdown": end of capture or of the program */
    CT_FLOW_END_COUNT
};

/* "idle", "attempt", ... "shutdown"; "none" for NONE, "unknown" out of range. */
const char *ct_flow_end_name(unsigned reason);

/* Zeek's transport_proto of a record. */
enum ct_zeek_proto {
    CT_ZEEK_PROTO_UNKNOWN = 0, /* "unknown_transport" */
    CT_ZEEK_PROTO_TCP,         /* "tcp" */
    CT_ZEEK_PROTO_UDP,         /* "udp" */
    CT_ZEEK_PROTO_ICMP,        /* "icmp" (ICMP and ICMPv6, as Zeek logs both) */
};

#define CT_FLOW_HISTORY_MAX 32 /* history bytes with the NUL; longer histories are cut */
#define CT_FLOW_UID_MAX 24     /* "C" + base62 + NUL */
#define CT_FLOW_MAX_PARENTS 2  /* tunnel parents kept per record */

/* Three-valued flag: local_orig, local_resp. */
enum { CT_FLOW_F = 0, CT_FLOW_T = 1, CT_FLOW_UNSET = 2 };

/*
 * One connection record: every conn.log field plus ctrack's own. Times are
 * nanoseconds on the caller's clock.
 */
struct ct_flow_record {
    /* ---- conn.log ---- */
    uint64_t ts;            /* first packet */
    uint64_t last;          /* Zeek's last time; duration = last - ts */
    char uid[CT_FLOW_UID_MAX];
    struct ct_tuple id;     /* orig_h = id.src, orig_p = id.sport, resp_h = id.dst,
                               resp_p = id.dport. ICMP: orig_p is the type, resp_p the
                               counterpart type or the code, as Zeek's conn_id. */
    uint8_t proto;          /* enum ct_zeek_proto */
    uint8_t ip_proto;       /* IP protocol number */
    uint8_t conn_state;     /* enum ct_zeek_state */
    uint8_t local_orig;     /* CT_FLOW_F, _T or _UNSET */
    uint8_t local_resp;
    uint8_t has_duration;   /* duration > 0: duration, orig_bytes, resp_bytes are logged */
    uint8_t flipped;        /* Zeek's originator is conntrack's reply direction */
    uint8_t n_parents;      /* entries of parents[] */
    uint64_t orig_bytes;    /* payload bytes (TCP: from sequence numbers) */
    uint64_t resp_bytes;
    uint64_t missed_bytes;  /* bytes in content gaps */
    uint64_t orig_pkts;
    uint64_t orig_ip_bytes;
    uint64_t resp_pkts;
    uint64_t resp_ip_bytes;
    char history[CT_FLOW_HISTORY_MAX];
    char parents[CT_FLOW_MAX_PARENTS][CT_FLOW_UID_MAX]; /* tunnel_parents uids */
    char community_id[CT_COMMUNITY_ID_MAX];
    /* ---- ctrack's own ---- */
    uint8_t end_reason;     /* enum ct_flow_end */
    uint8_t ct_state;       /* enum ct_state of the last packet */
    uint8_t l4state;        /* conntrack's protocol state after the last packet (TCP: enum ct_tcp_state) */
    uint8_t has_ct_info;    /* the fields below come from a struct ct_conn_info */
    uint8_t ct_timeout;     /* enum ct_timeout in force */
    uint8_t pad0[3];
    uint64_t end;           /* when the record ended */
    uint32_t ct_status;     /* CT_STATUS_* */
    uint32_t mark;
    uint16_t zone[2];       /* conntrack zone per direction (original, reply) */
    uint32_t pad1;
    uint64_t ct_packets[2]; /* conntrack's counters, original and reply direction (0 when the
                               table keeps none: CT_TABLE_F_NO_ACCT, CT_INFO_F_ACCT clear) */
    uint64_t ct_bytes[2];
};

/* ---- the flowlog ------------------------------------------------------- */

enum {
    /* Count gaps in missed_bytes even when a side is not cleanly established
       (Zeek's report_gaps_for_partial). */
    CT_FLOWLOG_F_REPORT_GAPS_FOR_PARTIAL = 1u << 0,
    /* Start with no likely server ports (else Zeek's default analyzers' ports). */
    CT_FLOWLOG_F_NO_SERVER_PORTS = 1u << 1,
    /* Start with no local networks (else Zeek's Site::private_address_space);
       with none, local_orig and local_resp are unset ("-"). */
    CT_FLOWLOG_F_NO_LOCAL_NETS = 1u << 2,
    /* Never end a record by Zeek's timers or port reuse: only ct_flowlog_close()
       ends records (one record per conntrack connection). */
    CT_FLOWLOG_F_NO_ZEEK_TIMERS = 1u << 3,
    /* Leave ct_flow_record.community_id empty (""): saves a SHA-1 per record
       when the Community ID is not written. */
    CT_FLOWLOG_F_NO_COMMUNITY_ID = 1u << 4,
    CT_FLOWLOG_F_ALL = (1u << 5) - 1,
};

struct ct_flowlog_config {
    uint32_t capacity;          /* required: slots, 1 .. 2^30 */
    uint32_t flags;             /* CT_FLOWLOG_F_* */
    uint64_t uid_seed;          /* uids are a keyed hash of (seed, record number) */
    uint16_t community_id_seed; /* Community ID seed (0, the spec's default) */
    uint8_t reserved8[6];
    /* Zeek's timers, in milliseconds; ct_flowlog_config_init() sets Zeek's defaults. */
    uint32_t tcp_inactivity_ms;   /* 300000 (tcp_inactivity_timeout) */
    uint32_t udp_inactivity_ms;   /* 60000 (udp_inactivity_timeout; also TCP before the handshake ends) */
    uint32_t icmp_inactivity_ms;  /* 60000 (icmp_inactivity_timeout; also other protocols) */
    uint32_t tcp_attempt_ms;      /* 5000 (tcp_attempt_delay) */
    uint32_t tcp_close_ms;        /* 5000 (tcp_close_delay) */
    uint32_t dns_session_ms;      /* 10000 (dns_session_timeout): UDP records whose responder
                                     port is a DNS port (53, 137, 5353, 5355) end when idle this
                                     long (less 1 s) at a check every dns_session_ms from the
                                     first packet, as Zeek's DNS analyzer removes them; 0: off */
    uint64_t reserved[4];         /* must be zero */
};

/* Fills *cfg with Zeek's defaults; capacity 65536. */
void ct_flowlog_config_init(struct ct_flowlog_config *cfg);

/*
 * Creates a flowlog with all memory for `capacity` slots. Returns NULL and
 * sets *err (if not NULL) to -EINVAL (bad config: capacity 0 or above 2^30,
 * unknown flag, reserved field set, a zero timer) or -ENOMEM.
 */
struct ct_flowlog *ct_flowlog_create(const struct ct_flowlog_config *cfg, int *err);

/* Frees the flowlog. NULL is ignored. */
void ct_flowlog_destroy(struct ct_flowlog *fl);

/*
 * Starts a record in `slot` with its first packet: `pkt` as parsed, `v` the
 * verdict the table gave it (v->dir is the packet's direction in the
 * conntrack connection, normally ORIGINAL; v->reason L4_CHECKSUM marks a
 * packet with a bad checksum, which Zeek records in the history but does
 * not count). If the slot still held an open record, that one ends
 * (reason CT_FLOW_END_CT_REPLACE) and is written to *ended (if not NULL).
 * Returns 1 if *ended was written, 0 if not, -EINVAL (NULL fl, pkt or v,
 * slot out of range, a packet that did not parse).
 */
int ct_flowlog_open(struct ct_flowlog *fl, uint32_t slot, const struct ct_pkt *pkt,
                    const struct ct_verdict *v, uint64_t now, struct ct_flow_record *ended);

/*
 * Accounts a later packet of the connection in `slot` (also packets that
 * conntrack judged INVALID but matched to the connection, since Zeek counts
 * them). If the slot's record ended under Zeek's rules before this packet
 * (inactivity, attempt or close delay, port reuse), that record is written
 * to *ended (if not NULL), 1 is returned, and the packet starts a new record.
 * A slot without an open record is opened by the packet. Returns 1, 0, or
 * -EINVAL as ct_flowlog_open().
 */
int ct_flowlog_packet(struct ct_flowlog *fl, uint32_t slot, const struct ct_pkt *pkt,
                      const struct ct_verdict *v, uint64_t now, struct ct_flow_record *ended);

/*
 * Ends the record in `slot` with `reason` at time `now` and writes it to
 * *out. `info` (may be NULL) adds conntrack's facts: status, mark, zones,
 * counters, the timeout in force. If the record had already ended under
 * Zeek's rules before `now`, it is written with that reason and end time
 * instead. Returns 1 if *out was written, 0 if the slot held no record, or
 * -EINVAL (NULL fl or out, slot out of range).
 */
int ct_flowlog_close(struct ct_flowlog *fl, uint32_t slot, const struct ct_conn_info *info,
                     unsigned reason, uint64_t now, struct ct_flow_record *out);

/*
 * The time at which the record in `slot` ends under Zeek's timers if no
 * further packet arrives; UINT64_MAX if the slot holds no record or the
 * timers are off (CT_FLOWLOG_F_NO_ZEEK_TIMERS).
 */
uint64_t ct_flowlog_deadline(const struct ct_flowlog *fl, uint32_t slot);

/*
 * Ends the record in `slot` if its deadline is at or before `now`, writing
 * it to *out with the reason and end time the timer gives. Returns 1 if
 * *out was written, 0 if the record is still running or there is none,
 * -EINVAL on a bad argument.
 */
int ct_flowlog_expire(struct ct_flowlog *fl, uint32_t slot, uint64_t now,
                      struct ct_flow_record *out);

/*
 * Writes the record in `slot` as it stands (conn_state, history and counts
 * so far), without ending it: for periodic reports. Returns 1, 0 (no
 * record) or -EINVAL.
 */
int ct_flowlog_peek(const struct ct_flowlog *fl, uint32_t slot, struct ct_flow_record *out);

/*
 * Notes that the connection in `slot` travels inside the connection in
 * `parent_slot` (a tunnel): the parent's current uid joins tunnel_parents
 * (up to CT_FLOW_MAX_PARENTS, duplicates ignored). Returns 0, -ENOENT (one
 * of the slots holds no record) or -EINVAL.
 */
int ct_flowlog_add_parent(struct ct_flowlog *fl, uint32_t slot, uint32_t parent_slot);

/*
 * Adds (on != 0) or removes a port of the likely-server-port set that the
 * flip heuristic consults, for proto 6 (TCP) or 17 (UDP). Returns 0 or
 * -EINVAL.
 */
int ct_flowlog_set_server_port(struct ct_flowlog *fl, uint8_t proto, uint16_t port, int on);

/* The most local networks a flowlog holds. */
#define CT_FLOWLOG_MAX_LOCAL_NETS 64

/* An address block: addr (network order, IPv4 in the first 4 bytes) / prefix. */
struct ct_subnet {
    union ct_addr addr;
    uint8_t l3;     /* CT_L3_IPV4 or CT_L3_IPV6 */
    uint8_t prefix; /* 0..32 or 0..128 */
    uint8_t pad[2];
};

/*
 * Replaces the local networks (Zeek's Site::local_nets) that decide
 * local_orig and local_resp; n == 0 leaves them unset ("-"). Returns 0, or
 * -EINVAL (bad entry, n above CT_FLOWLOG_MAX_LOCAL_NETS).
 */
int ct_flowlog_set_local_nets(struct ct_flowlog *fl, const struct ct_subnet *nets, unsigned n);

/* ---- formatting -------------------------------------------------------- */

enum {
    CT_ZEEK_F_IP_PROTO = 1u << 0,     /* add the ip_proto column (Zeek 6.1 and later log it) */
    CT_ZEEK_F_COMMUNITY_ID = 1u << 1, /* add the community_id column */
};

/*
 * The header of a Zeek TSV log, exactly as Zeek's ASCII writer opens one:
 * #separator \x09, #set_separator, #empty_field, #unset_field, #path conn,
 * #open <time>, #fields ..., #types ... (one line each, '\n'-terminated).
 * `open_time` (ns since the epoch) is printed as Zeek does,
 * YYYY-MM-DD-HH-MM-SS in UTC. Returns the length the full text needs, like
 * snprintf (buf is always NUL-terminated when len > 0), or -EINVAL.
 */
int ct_flowlog_zeek_header(unsigned options, uint64_t open_time, char *buf, size_t len);

/* The closing line "#close YYYY-MM-DD-HH-MM-SS\n"; returns as above. */
int ct_flowlog_zeek_footer(uint64_t close_time, char *buf, size_t len);

/*
 * One conn.log line for `rec` (tab-separated, '\n'-terminated), with the
 * columns the header of the same `options` announces. Returns the length
 * the full line needs, like snprintf, or -EINVAL.
 */
int ct_flow_record_format_zeek(const struct ct_flow_record *rec, unsigned options, char *buf,
                               size_t len);

/*
 * One JSON object for `rec` on one line ('\n'-terminated): the conn.log
 * fields under Zeek's names (as Zeek's JSON writer names them, unset fields
 * left out) plus ctrack's own: "ct_state", "l4_state", "ct_status",
 * "zone", "mark", "end_reason", "end", "flipped", and with has_ct_info the
 * conntrack counters. Returns as ct_flow_record_format_zeek().
 */
int ct_flow_record_format_json(const struct ct_flow_record *rec, unsigned options, char *buf,
                               size_t len);

#ifdef __cplusplus
}
#endif
#endif
