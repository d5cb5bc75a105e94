/*
 * The parser's two paths side by side: ct_pkt_parse_flags() tries a fast
 * path for common frames and falls back to the general parser
 * (src/packet/parse.c). parse_paths_compare() runs a frame through each on
 * its own and through the public entry point, and says whether the
 * descriptors are the same byte for byte.
 *
 * Byte for byte means the whole struct ct_pkt: it has no implicit padding
 * (the static assertion below sums its fields), and its explicit pad
 * fields are part of what both paths must write. Each descriptor starts
 * filled with a different byte pattern, so that a field one path leaves
 * unwritten shows up as a difference.
 *
 * Header-only, for the unit tests (which may include private headers).
 */
#ifndef CT_TESTS_SUPPORT_PARSEPATHS_H
#define CT_TESTS_SUPPORT_PARSEPATHS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctrack/packet.h"
#include "packet/packet_priv.h"

#define PARSEPATHS_FIELD_(f) sizeof(((struct ct_pkt *)0)->f)

_Static_assert(
    PARSEPATHS_FIELD_(data) + PARSEPATHS_FIELD_(len) + PARSEPATHS_FIELD_(reason) +
            PARSEPATHS_FIELD_(frag) + PARSEPATHS_FIELD_(nvlan) + PARSEPATHS_FIELD_(snapped) +
            PARSEPATHS_FIELD_(frame_flags) + PARSEPATHS_FIELD_(tcp_sack_off) +
            PARSEPATHS_FIELD_(writable) + PARSEPATHS_FIELD_(vlan) +
            PARSEPATHS_FIELD_(mark) + PARSEPATHS_FIELD_(l3_off) + PARSEPATHS_FIELD_(l4_off) +
            PARSEPATHS_FIELD_(ip_len) + PARSEPATHS_FIELD_(l4_len) + PARSEPATHS_FIELD_(payload_off) +
            PARSEPATHS_FIELD_(payload_len) + PARSEPATHS_FIELD_(tuple) + PARSEPATHS_FIELD_(seq) +
            PARSEPATHS_FIELD_(ack) + PARSEPATHS_FIELD_(win) + PARSEPATHS_FIELD_(tcp_flags) +
            PARSEPATHS_FIELD_(tcp_hdr_len) + PARSEPATHS_FIELD_(tcp_opts) +
            PARSEPATHS_FIELD_(tcp_wscale) + PARSEPATHS_FIELD_(tcp_mss) +
            PARSEPATHS_FIELD_(icmp_type) + PARSEPATHS_FIELD_(icmp_code) +
            PARSEPATHS_FIELD_(icmp_is_error) + PARSEPATHS_FIELD_(inner_ok) +
            PARSEPATHS_FIELD_(inner_l3_off) + PARSEPATHS_FIELD_(inner_l4_off) +
            PARSEPATHS_FIELD_(inner) + PARSEPATHS_FIELD_(encap) + PARSEPATHS_FIELD_(nmpls) +
            PARSEPATHS_FIELD_(encap_link) + PARSEPATHS_FIELD_(encap_off) + PARSEPATHS_FIELD_(pad1) +
            PARSEPATHS_FIELD_(encap_len) + PARSEPATHS_FIELD_(encap_id) +
            PARSEPATHS_FIELD_(iif) + PARSEPATHS_FIELD_(tmpl) + PARSEPATHS_FIELD_(reserved) +
            PARSEPATHS_FIELD_(pad2) ==
        sizeof(struct ct_pkt),
    "struct ct_pkt must have no implicit padding for the byte comparison");

/* Results of parse_paths_compare(). */
enum {
    PARSEPATHS_DIFFER = -1, /* the fast path and the general parser disagree */
    PARSEPATHS_GENERAL = 0, /* the fast path declined; the entry point agrees with the parser */
    PARSEPATHS_FAST = 1,    /* the fast path took the frame and agrees */
};

/* The first byte offset where a and b differ, or -1. */
static inline long parse_paths_diff_at(const struct ct_pkt *a, const struct ct_pkt *b)
{
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    for (size_t i = 0; i < sizeof(*a); i++)
        if (x[i] != y[i])
            return (long)i;
    return -1;
}

/*
 * Parses `fr` (with CT_PARSE_F_* `flags`) four ways: the general parser
 * alone, the fast path alone, ct_pkt_parse_flags() (and ct_pkt_parse()
 * when flags is 0), and ct_pkt_parse_rw(), whose descriptor must differ
 * only in being marked writable. Returns
 * PARSEPATHS_FAST when the fast path took the frame and all three agree,
 * PARSEPATHS_GENERAL when it declined and the entry point agrees with the
 * general parser, PARSEPATHS_DIFFER otherwise (*at gets the first byte
 * offset that differs). *general gets the general parser's descriptor.
 */
static inline int parse_paths_compare(const struct ct_frame *fr, unsigned flags,
                                      struct ct_pkt *general, long *at)
{
    struct ct_pkt fast, entry;
    memset(general, 0xa5, sizeof(*general));
    memset(&fast, 0x5a, sizeof(fast));
    memset(&entry, 0x3c, sizeof(entry));
    ct_pkt_parse_general(fr, general, flags);
    int took = ct_pkt_parse_fast(fr, &fast, flags);
    ct_pkt_parse_flags(fr, &entry, flags);
    *at = parse_paths_diff_at(&entry, general);
    if (*at >= 0)
        return PARSEPATHS_DIFFER;
    if (flags == 0) {
        memset(&entry, 0xc3, sizeof(entry));
        ct_pkt_parse(fr, &entry);
        *at = parse_paths_diff_at(&entry, general);
        if (*at >= 0)
            return PARSEPATHS_DIFFER;
    }
    /* The writable entry point: the same descriptor, marked writable. The
       frame is the caller's own memory; the parser only reads it. */
    const struct ct_frame_rw rw = {.data = (uint8_t *)(uintptr_t)fr->data, .len = fr->len,
                                   .wire_len = fr->wire_len, .link = fr->link, .zone = fr->zone,
                                   .mark = fr->mark, .flags = fr->flags};
    memset(&entry, 0x96, sizeof(entry));
    ct_pkt_parse_rw(&rw, &entry, flags);
    if (entry.writable != 1) {
        *at = (long)offsetof(struct ct_pkt, writable);
        return PARSEPATHS_DIFFER;
    }
    entry.writable = general->writable;
    *at = parse_paths_diff_at(&entry, general);
    if (*at >= 0)
        return PARSEPATHS_DIFFER;
    if (!took)
        return PARSEPATHS_GENERAL;
    *at = parse_paths_diff_at(&fast, general);
    return *at >= 0 ? PARSEPATHS_DIFFER : PARSEPATHS_FAST;
}

#endif
