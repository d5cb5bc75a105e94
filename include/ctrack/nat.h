/*
 * ctrack/nat.h: network address translation (docs/nat.md).
 *
 * Usage:
 *     struct ct_nat_config nc;
 *     ct_nat_config_init(&nc);
 *     nc.workers = 4; nc.worker = 2; nc.steer_seed = seed; (per-core tables)
 *     ct_nat_enable(table, &nc);                  before the first packet
 *     ct_nat_set_policy(table, my_policy, arg);   and/or ct_ruleset_attach()
 *     ...
 *     ct_process_burst_rw(table, frames, pkts, verdicts, n, now, CT_PROCESS_COMMIT);
 *     (the frames leave translated; verdicts[i].flags has CT_VERDICT_NAT)
 *
 * A binding is decided on a connection's first packet and never changes: the
 * policy callback and the `type nat` chains of an attached ruleset
 * (ctrack/rules.h) ask for a source and/or a destination translation with a
 * struct ct_nat_range each, the allocator picks a reply tuple that no live
 * connection has, and both tuples enter the index together. A connection
 * nobody asked to translate gets Linux's null binding: it keeps its tuples
 * unless its reply tuple is another (translated) connection's, in which case
 * its source port is changed as an SNAT to its own address would change it
 * (nf_nat_alloc_null_binding()). A connection created without a binding is
 * never translated later.
 *
 * Translation is done in the caller's frames by ct_process_burst_rw() (and
 * by ct_process_parsed() for descriptors from ct_pkt_parse_rw()): every
 * packet of a translated connection (and every ICMP error quoting one) is
 * rewritten in place, checksums updated incrementally (RFC 1624). Callers of
 * the read-only calls (ct_process_burst()) get the same verdicts and the
 * same table, and no packet is written; ct_nat_rewrite() translates such a
 * packet later, from a writable descriptor.
 *
 * Thread-safety: ct_nat_enable() and ct_nat_set_policy() need the table to
 * themselves, before it has seen a packet. The policy callback runs inside
 * the processing call, on the calling thread (in a shared table, from any
 * thread that processes packets: it must be reentrant).
 * Ownership: the table copies the configuration; the policy's `arg` is the
 * caller's.
 */
#ifndef CTRACK_NAT_H
#define CTRACK_NAT_H

#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "ctrack/table.h"
#include "ctrack/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_table;

/* Which side of the original tuple a translation changes, as Linux's
 * enum nf_nat_manip_type: SNAT the source, DNAT the destination. */
enum ct_nat_manip {
    CT_NAT_MANIP_SRC = 0,
    CT_NAT_MANIP_DST = 1,
};

/* Range flags, numbered as Linux's NF_NAT_RANGE_* (nf_nat.h). */
enum {
    CT_NAT_RANGE_MAP_IPS = 1u << 0,             /* min_addr..max_addr apply */
    CT_NAT_RANGE_PROTO_SPECIFIED = 1u << 1,     /* min_port..max_port apply */
    CT_NAT_RANGE_PROTO_RANDOM = 1u << 2,        /* `random`: keyed-random port start */
    CT_NAT_RANGE_PERSISTENT = 1u << 3,          /* `persistent`: the address depends on the source only */
    CT_NAT_RANGE_PROTO_RANDOM_FULLY = 1u << 4,  /* `fully-random`: never keep the original port */
    CT_NAT_RANGE_NETMAP = 1u << 6,              /* 1:1 prefix map: min_addr/max_addr are the prefix's ends */
    CT_NAT_RANGE_ALL = CT_NAT_RANGE_MAP_IPS | CT_NAT_RANGE_PROTO_SPECIFIED |
                       CT_NAT_RANGE_PROTO_RANDOM | CT_NAT_RANGE_PERSISTENT |
                       CT_NAT_RANGE_PROTO_RANDOM_FULLY | CT_NAT_RANGE_NETMAP,
};

/*
 * What one translation may choose from, as Linux's struct nf_nat_range2:
 * addresses min_addr..max_addr inclusive (network order, IPv4 in v4, of the
 * connection's family; unused bytes zero) when MAP_IPS is set, else the
 * address stays; ports min_port..max_port inclusive (host order; for ICMP
 * and ICMPv6 queries the identifier, for GRE version 1 the key) when
 * PROTO_SPECIFIED is set, else the port stays unless it must change for
 * the reply tuple to be unique (SNAT only: Linux's port classes 1-511,
 * 600-1023, 1024-65535). A REDIRECT is a DNAT to the local address, a
 * MASQUERADE an SNAT to the output interface's address: the caller names
 * the address. NETMAP maps the address's host part into the prefix
 * min_addr..max_addr (whose ends must differ only in the host bits).
 */
struct ct_nat_range {
    uint32_t flags;       /* CT_NAT_RANGE_* */
    union ct_addr min_addr;
    union ct_addr max_addr;
    uint16_t min_port;
    uint16_t max_port;
};

/*
 * Checks a range for a connection of family l3 (enum ct_l3): no unknown
 * flag, min <= max for addresses (compared as numbers) and ports, IPv4
 * ranges with zero unused bytes, a NETMAP range whose ends share their
 * prefix and span exactly the host part. Returns 0 or -EINVAL.
 */
int ct_nat_range_check(const struct ct_nat_range *r, unsigned l3);

/* What the policy asks for a new connection. */
struct ct_nat_request {
    uint32_t manips;                /* bit 1 << CT_NAT_MANIP_SRC, 1 << CT_NAT_MANIP_DST */
    struct ct_nat_range range[2];   /* [enum ct_nat_manip] */
};

/*
 * The NAT policy: called once for each packet about to create a connection
 * (its tracker accepted it; rules did not drop it), with req->manips 0. It
 * asks for a translation by setting a bit of req->manips and the range of
 * that manip. For each manip it leaves unset, the `type nat` chains of an
 * attached ruleset decide (DST first, then SRC on the tuple as DST left
 * it, as Linux's prerouting and postrouting hooks do). A range that fails
 * ct_nat_range_check() makes the packet INVALID (reason NAT_RANGE). The
 * callback must not call into the table.
 */
typedef void (*ct_nat_policy_fn)(void *arg, const struct ct_pkt *pkt,
                                 struct ct_nat_request *req);

/* Table-wide NAT settings. */
struct ct_nat_config {
    uint32_t flags;        /* CT_NAT_F_* */
    /*
     * Per-core affinity: the table is worker `worker` of `workers` tables
     * to which packets are steered by ct_nat_steer_worker(
     * ct_tuple_steer_hash(tuple, steer_seed), workers). Ports the
     * allocator chooses then give reply tuples that steer to this worker,
     * so replies arrive where their connection lives. 0 or 1 workers: no
     * affinity.
     */
    uint16_t workers;
    uint16_t worker;
    uint64_t steer_seed;
    uint64_t reserved[2];  /* must be zero */
};

/* Config flags. */
enum {
    /*
     * The NIC fills the transport checksums of the frames this table
     * rewrites (Linux's CHECKSUM_PARTIAL): their checksum fields hold the
     * pseudo-header sum, which a translation updates for addresses; ports
     * are left to the NIC. Per frame, CT_FRAME_F_CSUM_PARTIAL says the same.
     */
    CT_NAT_F_CSUM_PARTIAL = 1u << 0,
    CT_NAT_F_ALL = (1u << 1) - 1,
};

/* Fills *cfg with the defaults: no flags, no affinity. */
void ct_nat_config_init(struct ct_nat_config *cfg);

/*
 * Turns NAT on for a table that has not yet seen a packet. Returns 0, or
 * -EINVAL (NULL table or config, unknown flag, reserved field set, worker
 * >= workers with workers > 1), -EBUSY (the table has created connections,
 * or NAT is on already), -ENOMEM.
 */
int ct_nat_enable(struct ct_table *table, const struct ct_nat_config *cfg);

/* Sets (fn non-NULL) or clears the policy. Returns 0, -EINVAL (NULL table)
 * or -ENOTSUP (NAT is not enabled). */
int ct_nat_set_policy(struct ct_table *table, ct_nat_policy_fn fn, void *arg);

/* The worker a steering hash goes to among `workers` (0 and 1: worker 0):
 * the high half of hash * workers, as Lemire's multiply-shift reduction. */
static inline unsigned ct_nat_steer_worker(uint32_t hash, unsigned workers)
{
    return workers > 1 ? (unsigned)(((uint64_t)hash * workers) >> 32) : 0;
}

/*
 * Translates a packet of a writable descriptor (ct_pkt_parse_rw()) whose
 * verdict `v` came from `table` (a verdict of ct_process_burst() for the
 * same bytes, for instance): the packet of direction v->dir of v->conn is
 * rewritten to carry the other tuple's addresses and ports, and an ICMP
 * error that is RELATED to a translated connection gets its quoted packet
 * translated too. `flags`: CT_NAT_F_CSUM_PARTIAL, or 0. Returns 1 when
 * the packet was changed, 0 when it needed nothing (no connection, or one
 * without translation), or:
 *   -EINVAL  a NULL argument or unknown flag;
 *   -EROFS   the descriptor is not writable;
 *   -ENOENT  a field the rewrite needs was not captured (a truncated
 *            header, an ICMP error whose quote is cut short); nothing was
 *            written;
 *   -ENOTSUP a rewrite the packet's format does not allow (an IPv6
 *            routing header's final destination); nothing was written.
 * ct_process_burst_rw() calls it for every packet and makes the verdict
 * INVALID (reason NAT_REWRITE) where it fails.
 */
int ct_nat_rewrite(const struct ct_table *table, struct ct_pkt *pkt,
                   const struct ct_verdict *v, unsigned flags);

/*
 * Translates one fragment of a datagram that was reassembled
 * (ctrack/defrag.h), tracked and translated: `before` and `after` are the
 * reassembled datagram (a raw IP frame, link CT_LINK_IPV4 or CT_LINK_IPV6,
 * as ct_defrag_add() gives it) before and after ct_nat_rewrite() or
 * ct_process_burst_rw() translated it, and `frag` one of the fragments it
 * was put together from, writable, with its own link layer. The fragment
 * becomes the piece of the translated datagram it held, as Linux's
 * ip_do_fragment() and ip6_fragment() cut a forwarded datagram again: its
 * header gets the translated addresses (IPv4: the header checksum updated
 * incrementally, RFC 1624), its data the translated bytes at its offset
 * (in the first fragment the transport header's ports or identifier and
 * its checksum, which covers the whole datagram; an ICMP error's quoted
 * packet wherever it lies). Every other byte stays, its other header
 * fields (identification, offset, flags, options) included.
 *
 * Returns 1 when the fragment was changed, 0 when the translation left its
 * bytes as they were, or (nothing written):
 *   -EINVAL  a NULL argument; `before` and `after` not one IP datagram of
 *            the same family and length; `frag` not a fragment of it (not
 *            a fragment, another family, other addresses, identification
 *            or protocol than `before`, data that lies past the datagram's
 *            end or differs from the datagram's bytes at its offset);
 *   -ENOENT  the fragment was not captured whole (its IP length runs past
 *            the captured bytes).
 * Thread-safety: touches only its arguments.
 */
int ct_nat_fragment(struct ct_frame_rw *frag, const struct ct_frame *before,
                    const struct ct_frame *after);

/* NAT counters of a table. */
struct ct_nat_stats {
    uint64_t bindings;         /* connections created with a translation */
    uint64_t null_remapped;    /* null bindings that had to change the port */
    uint64_t exhausted;        /* NEW refused: no unique tuple in the range */
    uint64_t bad_range;        /* NEW refused: the policy gave an invalid range */
    uint64_t probes;           /* tuples tried by the allocator */
    uint64_t rewritten;        /* packets translated */
    uint64_t rewrite_failed;   /* packets a rewrite could not translate */
};

/* Copies the NAT counters. Returns 0, -EINVAL or -ENOTSUP (NAT off). */
int ct_nat_stats(const struct ct_table *table, struct ct_nat_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
