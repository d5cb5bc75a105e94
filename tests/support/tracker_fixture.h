/*
 * tests/support/tracker_fixture.h: what the tests that drive one protocol
 * tracker directly (test_gre.c, test_sctp.c) share: the trackers' settings
 * with Linux's default timeouts, and a frame buffer parsed from a raw IP
 * link.
 */
#ifndef CT_TEST_TRACKER_FIXTURE_H
#define CT_TEST_TRACKER_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "ctrack/conn.h"
#include "ctrack/packet.h"
#include "proto/proto.h"

/* The trackers' settings with Linux's default timeouts, nothing else set. */
static inline void tracker_cfg_default(struct ct_proto_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        cfg->timeout_ns[i] = (uint64_t)ct_timeout_default(i) * 1000000000ull;
}

/* A packet under construction: a frame on a raw IP link and its parse. */
struct frame {
    uint8_t b[512];
    size_t len;
    struct ct_pkt pkt;
};

/* Parses f->b with link type `link`, captured for `cap` bytes (0: all). */
static inline void parse_as(struct frame *f, uint16_t link, size_t cap)
{
    struct ct_frame fr;
    memset(&fr, 0, sizeof(fr));
    fr.data = f->b;
    fr.len = (uint32_t)(cap ? cap : f->len);
    fr.wire_len = (uint32_t)f->len;
    fr.link = link;
    ct_pkt_parse(&fr, &f->pkt);
}

#endif
