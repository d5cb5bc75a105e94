/*
 * ctrack/reason.h: why a packet was not tracked normally.
 *
 * Usage: every packet verdict carries a reason. It is CT_REASON_NONE for
 * NEW, ESTABLISHED and RELATED packets. An INVALID packet always has a
 * reason saying what was wrong; an UNTRACKED packet has one saying why it was
 * not tracked. Each table keeps one counter per reason (ct_table_stats()).
 *
 * The list below is the single source of the codes, their short names (used
 * in CLI output, stable, lowercase with dashes) and their descriptions.
 *
 * Thread-safety: the functions here are pure and safe from any thread.
 * Ownership: returned strings are static.
 */
#ifndef CTRACK_REASON_H
#define CTRACK_REASON_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(code, short-name, description) */
#define CT_REASON_LIST(X)                                                                 \
    X(NONE, "none", "no problem")                                                       \
    /* ---- link layer ---- */                                                          \
    X(LINK_UNSUPPORTED, "link-unsupported", "unsupported link-layer type")                \
    X(L2_TRUNCATED, "l2-truncated", "truncated link-layer header")                      \
    X(VLAN_TOO_DEEP, "vlan-too-deep", "too many stacked VLAN tags")                      \
    X(NOT_IP, "not-ip", "not an IPv4 or IPv6 packet")                                   \
    /* ---- IPv4 / IPv6 ---- */                                                         \
    X(IP_TRUNCATED, "ip-truncated", "truncated IP header")                              \
    X(IP_VERSION, "ip-version", "IP version does not match the link layer")             \
    X(IP_HDR_LEN, "ip-hdr-len", "IPv4 header length below 20 bytes or past the data")   \
    X(IP_TOTAL_LEN, "ip-total-len", "IP total length shorter than the header or longer than the frame") \
    X(IP_CHECKSUM, "ip-checksum", "bad IPv4 header checksum")                           \
    X(IP_OPTIONS, "ip-options", "malformed IPv4 options")                               \
    X(IP6_EXT_HDR, "ip6-ext-hdr", "malformed or truncated IPv6 extension header")       \
    X(IP6_EXT_CHAIN, "ip6-ext-chain", "IPv6 extension header chain too long")           \
    X(FRAGMENT, "fragment", "IP fragment (reassembly not enabled)")                     \
    X(FRAG_INVALID, "frag-invalid", "malformed IP fragment")                            \
    /* ---- transport headers ---- */                                                   \
    X(L4_TRUNCATED, "l4-truncated", "truncated transport header")                       \
    X(L4_CHECKSUM, "l4-checksum", "bad transport checksum")                             \
    X(TCP_HDR_LEN, "tcp-hdr-len", "TCP data offset below 20 bytes or past the segment") \
    X(TCP_FLAGS, "tcp-flags", "invalid combination of TCP flags")                       \
    X(UDP_LEN, "udp-len", "UDP length does not match the IP payload")                   \
    /* ---- ICMP / ICMPv6 ---- */                                                       \
    X(ICMP_TRUNCATED, "icmp-truncated", "ICMP error too short for its embedded header") \
    X(ICMP_NESTED, "icmp-nested", "ICMP error about an ICMP error")                     \
    X(ICMP_INNER_INVALID, "icmp-inner-invalid", "ICMP error embeds a malformed packet") \
    X(ICMP_NO_CONN, "icmp-no-conn", "ICMP error refers to no known connection")          \
    X(ICMP_REPLY_NO_REQUEST, "icmp-reply-no-request", "ICMP reply without a request")   \
    X(ICMP_TYPE, "icmp-type", "ICMP type cannot start a connection")                    \
    X(ICMP6_UNTRACKED, "icmpv6-untracked", "ICMPv6 neighbour discovery or MLD message (not tracked)") \
    /* ---- TCP tracking (window checks after van Rooij; Linux messages) ---- */         \
    X(TCP_NEW_NOT_SYN, "tcp-new-not-syn", "TCP packet cannot start a connection")       \
    X(TCP_INVALID_STATE, "tcp-invalid-state", "TCP flags invalid in the connection state") \
    X(TCP_IGNORED, "tcp-ignored", "TCP packet ignored in the connection state")         \
    X(TCP_SEQ_OVER, "tcp-seq-over", "SEQ is over the upper bound (over the window of the receiver)") \
    X(TCP_SEQ_UNDER, "tcp-seq-under", "SEQ is under the lower bound (already ACKed data retransmitted)") \
    X(TCP_ACK_OVER, "tcp-ack-over", "ACK is over the upper bound (ACKed data not seen yet)") \
    X(TCP_ACK_UNDER, "tcp-ack-under", "ACK is under the lower bound (possible overly delayed ACK)") \
    X(TCP_RST_WINDOW, "tcp-rst-window", "RST outside the window")                       \
    X(TCP_BAD_SYNACK, "tcp-bad-synack", "SYN/ACK does not acknowledge the SYN")         \
    X(TCP_CHALLENGE_ACK, "tcp-challenge-ack", "challenge ACK while closing")            \
    /* ---- table and policy ---- */                                                    \
    X(TABLE_FULL, "table-full", "connection table full")                                \
    X(ZONE_LIMIT, "zone-limit", "zone connection limit reached")                        \
    X(PROBE_LIMIT, "probe-limit", "hash probe limit reached")                           \
    X(NOTRACK, "notrack", "not tracked by rule")                                        \
    X(RULE_DROP, "rule-drop", "dropped by a rule before conntrack")                     \
    /* ---- IP reassembly (ctrack/defrag.h) ---- */                                      \
    X(FRAG_OVERLAP, "frag-overlap", "overlapping IP fragments: the datagram is dropped (RFC 5722)") \
    X(FRAG_DUPLICATE, "frag-duplicate", "duplicate IP fragment (dropped; the datagram is kept)") \
    X(FRAG_TOO_MANY, "frag-too-many", "too many fragments in one IP datagram")             \
    X(FRAG_SNAPPED, "frag-snapped", "IP fragment cut short by the capture (cannot be reassembled)") \
    /* ---- GRE and SCTP tracking (added last so that earlier codes keep their numbers) ---- */ \
    X(GRE_PROTO, "gre-proto", "GRE version 1 (PPTP) packet not carrying PPP")                \
    X(SCTP_CHUNKS, "sctp-chunks", "malformed SCTP chunk list (none, a zero length, INIT, INIT ACK or SHUTDOWN COMPLETE not alone, COOKIE ECHO or COOKIE ACK not first)") \
    X(SCTP_NEW, "sctp-new", "SCTP packet cannot start an association")                      \
    X(SCTP_VTAG, "sctp-vtag", "SCTP verification tag does not match the association")        \
    X(SCTP_INVALID_STATE, "sctp-invalid-state", "SCTP chunk invalid in the association state") \
    X(SCTP_IGNORED, "sctp-ignored", "SCTP packet let through without refreshing the association (INIT retransmission, HEARTBEAT with another path's tag)") \
    /* ---- zones per direction ---- */                                                 \
    X(TUPLE_CLASH, "tuple-clash", "reply tuple of a new connection taken by another (zones per direction)") \
    /* ---- NAT (ctrack/nat.h) ---- */                                                   \
    X(NAT_EXHAUSTED, "nat-exhausted", "NAT found no unique tuple in the range (ports exhausted)") \
    X(NAT_RANGE, "nat-range", "NAT policy gave an invalid range")                        \
    X(NAT_REWRITE, "nat-rewrite", "NAT rewrite needs bytes the frame does not hold")

enum ct_reason {
#define CT_REASON_ENUM_(code, name, desc) CT_REASON_##code,
    CT_REASON_LIST(CT_REASON_ENUM_)
#undef CT_REASON_ENUM_
    CT_REASON_COUNT
};

/* Short stable name of a reason ("tcp-seq-over"); "unknown" if out of range. */
const char *ct_reason_name(unsigned reason);

/* One-line description of a reason. */
const char *ct_reason_desc(unsigned reason);

#ifdef __cplusplus
}
#endif
#endif
