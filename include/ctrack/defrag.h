/*
 * ctrack/defrag.h: IPv4 and IPv6 fragment reassembly before tracking.
 *
 * Usage: like Linux (nf_defrag_ipv4 / nf_defrag_ipv6 run before conntrack),
 * fragments are put back together first and the whole datagram is what the
 * table sees. Parse each frame; when it is a fragment (pkt.frag != NONE,
 * reason CT_REASON_FRAGMENT), hand it to the reassembler instead of the
 * table:
 *
 *     struct ct_defrag_config dc;
 *     ct_defrag_config_init(&dc);
 *     struct ct_defrag *d = ct_defrag_create(&dc, &err);
 *     ...
 *     ct_pkt_parse(&frame, &pkt);
 *     if (pkt.frag != CT_FRAG_NONE) {
 *         struct ct_frame whole;
 *         uint16_t reason;
 *         switch (ct_defrag_add(d, &pkt, now, &whole, &reason)) {
 *         case CT_DEFRAG_HELD:    break;              (wait for the rest)
 *         case CT_DEFRAG_DONE:    ct_process(t, &whole, &pkt2, &v, now, 0); break;
 *         case CT_DEFRAG_DROPPED: (the fragment is INVALID for `reason`)
 *         }
 *     }
 *
 * The reassembled frame is a raw IP packet (link CT_LINK_IPV4 or
 * CT_LINK_IPV6) with the zone of the fragments, the mark of the last one
 * and flags 0 (its transport checksum is checked when it is tracked):
 * IPv4 with the total length set, MF and the offset cleared (DF kept from
 * the first fragment) and the header checksum recomputed; IPv6 with the
 * fragment header removed, the next header it named written into the
 * header before it, and the payload length set. Headers come from the
 * first fragment (offset 0): all of an IPv4 header with its options, the
 * unfragmentable part of an IPv6 packet (RFC 8200 section 4.5). A link
 * layer (VLAN tags) is not kept: the key includes the zone, so derive the
 * zone (ct_zone_from_vlan()) before handing fragments in.
 *
 * Rules (Linux's inet_frag_queue_insert(), ip_frag_queue(), ip6_frag_queue()):
 *   - key: source, destination, identification and protocol for IPv4
 *     (RFC 791); source, destination and identification for IPv6 (RFC 8200:
 *     the next header is taken from the first fragment only); plus the
 *     family and the zone;
 *   - any overlap drops the whole datagram, for IPv6 (RFC 5722) and for
 *     IPv4 alike (Linux does so for IPv4 since 4.19); a fragment whose bytes
 *     were all received already is a duplicate: it is dropped and the
 *     datagram kept (RFC 5722 errata 3089), whatever its data. Linux calls
 *     such a fragment a duplicate only when it lies inside one run of
 *     fragments that arrived in order, and an overlap otherwise;
 *   - an empty fragment, a last fragment ending before data already seen or
 *     at a different end than an earlier last fragment, a fragment past the
 *     end a last fragment set, and a datagram longer than 65535 bytes
 *     (IPv4 total length, IPv6 payload length) drop the datagram
 *     (CT_REASON_FRAG_INVALID);
 *   - fragments the parser calls FRAG_INVALID (a non-last fragment whose
 *     length is not a multiple of 8, one ending past 65535, an IPv6 first
 *     fragment without the whole header chain, RFC 7112) are refused;
 *   - a datagram not complete `timeout` after its first fragment arrived
 *     is dropped (Linux: ipfrag_time 30 s, ip6frag_time 60 s); the timer is
 *     not restarted by later fragments;
 *   - memory is fixed: at most max_datagrams datagrams and max_bytes of
 *     buffer. When a new datagram or fragment does not fit, the oldest
 *     other datagrams are dropped to make room (counted as evicted).
 *     Linux instead refuses new datagrams while over ipfrag_high_thresh;
 *     dropping the oldest lets fresh traffic through a flood of
 *     never-completed fragments;
 *   - differences from Linux: no ECN combining (the first fragment's
 *     ECN bits are kept), no ipfrag_max_dist, and a per-datagram fragment
 *     limit (max_fragments).
 *
 * Memory: ct_defrag_create() allocates everything: the datagram slots, the
 * index, max_bytes of buffer pages and one output buffer. ct_defrag_add()
 * allocates nothing. Buffer pages are CT_DEFRAG_PAGE bytes; a fragment
 * holds the pages its bytes touch, so max_bytes counts what fragments
 * really occupy, like Linux's truesize accounting.
 *
 * Time: `now` is in nanoseconds on the caller's clock (capture time); the
 * library reads no clock. Expiry runs inside ct_defrag_add(); call
 * ct_defrag_expire() to expire without adding.
 *
 * Thread-safety: a reassembler belongs to one thread at a time; steer both
 * directions' fragments of a datagram (same addresses) to the same one.
 * Ownership: the reassembler owns the reassembled frame's bytes; they stay
 * valid until the next ct_defrag_add(), ct_defrag_expire() or
 * ct_defrag_destroy() call on it. The fragment's frame is only read during
 * the call.
 */
#ifndef CTRACK_DEFRAG_H
#define CTRACK_DEFRAG_H

#include <stdint.h>

#include "ctrack/packet.h"
#include "ctrack/reason.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_defrag;

/* Bytes per buffer page. */
#define CT_DEFRAG_PAGE 1024u

/* The longest unfragmentable part (IPv4 header, or IPv6 header and the
   extension headers before the fragment header) a datagram may have. */
#define CT_DEFRAG_HDR_MAX 2048u

/* The smallest max_bytes: one datagram of the largest size must fit. */
#define CT_DEFRAG_MIN_BYTES (65536u + CT_DEFRAG_HDR_MAX)

/* Reassembler flags (ct_defrag_config.flags). Unknown bits are rejected. */
enum {
    CT_DEFRAG_F_FIXED_KEY = 1u << 0, /* use hash_key instead of a random key */
};

struct ct_defrag_config {
    uint32_t max_datagrams; /* datagrams in reassembly at once (default 1024) */
    uint32_t max_fragments; /* fragments kept per datagram (default 256) */
    uint64_t max_bytes;     /* buffer for fragment data (default 4 MiB, Linux's
                               ipfrag_high_thresh); at least CT_DEFRAG_MIN_BYTES */
    uint64_t timeout_ipv4;  /* ns from the first fragment to completion (default 30 s) */
    uint64_t timeout_ipv6;  /* the same for IPv6 (default 60 s, RFC 8200 4.5) */
    uint32_t flags;         /* CT_DEFRAG_F_* */
    uint32_t pad0;
    uint64_t hash_key[2];   /* SipHash key of the datagram index, with CT_DEFRAG_F_FIXED_KEY */
};

/* Results of ct_defrag_add() (errors are negative errno values). */
enum ct_defrag_result {
    CT_DEFRAG_HELD = 0,    /* stored; the datagram is not complete */
    CT_DEFRAG_DONE = 1,    /* the datagram is complete: *out holds it */
    CT_DEFRAG_DROPPED = 2, /* the fragment was dropped (and with it, for some
                              reasons, its datagram): *reason says why */
};

struct ct_defrag_stats {
    uint64_t fragments;   /* fragments handed to ct_defrag_add() */
    uint64_t reassembled; /* datagrams completed */
    uint64_t timed_out;   /* datagrams dropped incomplete at their timeout */
    uint64_t evicted;     /* datagrams dropped to make room */
    uint64_t overlaps;    /* datagrams dropped for overlapping fragments */
    uint64_t duplicates;  /* duplicate fragments dropped */
    uint64_t invalid;     /* fragments refused or datagrams dropped as FRAG_INVALID */
    uint64_t too_many;    /* datagrams dropped past max_fragments */
    uint64_t snapped;     /* fragments refused because the capture cut them short */
    uint32_t datagrams;   /* datagrams in reassembly now */
    uint32_t pages;       /* buffer pages in use now */
};

/* Fills *cfg with the defaults above. */
void ct_defrag_config_init(struct ct_defrag_config *cfg);

/*
 * Creates a reassembler. Returns NULL and sets *err to -EINVAL (a zero
 * limit or timeout, max_bytes below CT_DEFRAG_MIN_BYTES, unknown flags),
 * -ENOMEM, or an error from getrandom() for the hash key.
 */
struct ct_defrag *ct_defrag_create(const struct ct_defrag_config *cfg, int *err);

/* Frees the reassembler and everything it holds. NULL is a no-op. */
void ct_defrag_destroy(struct ct_defrag *d);

/*
 * Hands a parsed fragment (pkt->frag != CT_FRAG_NONE, reason
 * CT_REASON_FRAGMENT or CT_REASON_FRAG_INVALID) to the reassembler at time
 * `now`, first expiring datagrams past their timeout. Returns:
 *   CT_DEFRAG_HELD     the fragment is stored, the datagram incomplete;
 *   CT_DEFRAG_DONE     *out is the reassembled datagram (see above);
 *   CT_DEFRAG_DROPPED  *reason (if not NULL) is FRAG_INVALID, FRAG_OVERLAP,
 *                      FRAG_DUPLICATE, FRAG_TOO_MANY or FRAG_SNAPPED;
 *   -EINVAL            pkt is not a fragment as parsed by ct_pkt_parse().
 * *reason is CT_REASON_NONE unless the result is DROPPED.
 */
int ct_defrag_add(struct ct_defrag *d, const struct ct_pkt *pkt, uint64_t now, struct ct_frame *out,
                  uint16_t *reason);

/* Drops the datagrams whose timeout has passed at `now`; returns how many. */
unsigned ct_defrag_expire(struct ct_defrag *d, uint64_t now);

/* Copies the counters. */
void ct_defrag_stats(const struct ct_defrag *d, struct ct_defrag_stats *st);

#ifdef __cplusplus
}
#endif
#endif
