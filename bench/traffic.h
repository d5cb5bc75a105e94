/*
 * bench/traffic.h: in-memory traffic for ctbench.
 *
 * Every frame is a complete, valid Ethernet II frame (IPv4 header checksum,
 * TCP/UDP checksum with the pseudo-header, padding to the 60-byte Ethernet
 * minimum), so the library's parser and checksum verification do real work.
 *
 * Connections are named by a global index g. Thread t of T owns the indexes
 * g = k * T + t (k = 0, 1, ...), so threads sharing one table never touch
 * each other's connections. Three address spaces keep tuples apart:
 *
 *   fill/established  IPv4 client 10.0.x.y:10000+(g&255), server 198.18.0.s
 *                     IPv6 client 2001:db8:0:0::g,       server 2001:db8:ffff:ffff::s
 *   new (ring pass p) IPv4 client 10.(1+p).x.y,          server (198.18 - p).0.s
 *                     IPv6 client 2001:db8:0:(0x100+p)::g, server 2001:db8:ffff:(0xff00-p)::s
 *   old (new/mixed    as "new" with the pass word 0x80 / 0x7f (IPv4) so these
 *        fill only)   tuples are never reused by the ring
 *
 * Moving a "new" frame to the next pass raises the client's pass word by one
 * and lowers the server's by one: the 16-bit one's-complement sums of the IP
 * header and of the TCP/UDP pseudo-header do not change, so no checksum has
 * to be recomputed and every pass creates connections on fresh tuples.
 * Established frames move to the next pass by advancing their sequence
 * (client data) or acknowledgement (server ACK) number by the bytes the
 * client sent during one pass, with an incremental checksum update
 * (RFC 1624), so replaying the ring stays in window.
 */
#ifndef CTBENCH_TRAFFIC_H
#define CTBENCH_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include "ctrack/ctrack.h"

/* Workloads. */
enum tr_workload {
    TR_W_ESTABLISHED = 0,
    TR_W_NEW = 1,
    TR_W_UDP = 2,
    TR_W_MIXED = 3,
    TR_W_COUNT
};

const char *tr_workload_name(unsigned w);

/* Address spaces (see the top of this file). */
enum tr_space {
    TR_SPACE_EST = 0,
    TR_SPACE_NEW = 1,
    TR_SPACE_OLD = 2,
};

/* Everything that shapes a thread's traffic. */
struct tr_params {
    unsigned workload;    /* enum tr_workload */
    unsigned family;      /* 4 or 6 */
    unsigned thread;      /* this thread's number */
    unsigned threads;     /* threads sharing the connection space */
    uint32_t est_conns;   /* established (or UDP) connections this thread owns */
    uint32_t ring_len;    /* frames to generate before draining pipelines */
    unsigned burst;       /* frames per ct_process_burst() call */
    uint16_t payload;     /* TCP data bytes per segment, UDP payload bytes */
    uint8_t checksum;     /* 1: the table verifies transport checksums */
    uint8_t csum_offload; /* 1: frames with a right transport checksum carry
                             CT_FRAME_F_L4_CSUM_GOOD, as a NIC would mark them */
    uint64_t seed;
};

/* Per-frame rewrite done between passes. */
enum tr_rewrite {
    TR_RW_NONE = 0,
    TR_RW_SEQ = 1,      /* client frame: seq += c_total[conn] */
    TR_RW_ACK = 2,      /* server frame: ack += c_total[conn] */
    TR_RW_ADDR_C2S = 3, /* new-space frame from the client: move to the next pass */
    TR_RW_ADDR_S2C = 4, /* new-space frame from the server */
};

/* What a frame was generated to be. */
enum tr_expect {
    TR_X_OK = 0,            /* tracked: NEW, ESTABLISHED */
    TR_X_BAD_FLAGS = 1,     /* INVALID: SYN+FIN */
    TR_X_OUT_OF_WINDOW = 2, /* INVALID: sequence 2^30 past the window */
    TR_X_BAD_CHECKSUM = 3,  /* INVALID: wrong TCP checksum */
};

const char *tr_expect_name(unsigned x);

/*
 * A precomputed ring of frames, processed burst by burst: burst b is
 * frames[bstart[b]] .. frames[bstart[b + 1] - 1]. Bursts are `burst` frames
 * long except while the ring drains its pipelines at the end.
 */
struct tr_ring {
    uint8_t *buf;             /* frame bytes, each frame 64-byte aligned */
    size_t buf_len;
    struct ct_frame *frames;
    uint8_t *rw_kind;         /* enum tr_rewrite per frame */
    uint32_t *rw_conn;        /* local connection index per frame (TR_RW_SEQ/ACK) */
    uint8_t *expect;          /* enum tr_expect per frame (for --verify) */
    uint32_t *c_total;        /* bytes the client sends per connection per pass */
    uint32_t *bstart;         /* nbursts + 1 burst starts */
    uint32_t nbursts;
    uint32_t n;               /* frames in the ring */
    uint32_t new_conns;       /* connections the ring opens per pass (SYNs) */
    uint32_t n_invalid;       /* frames generated to be INVALID */
    unsigned pass;            /* passes completed (rewrites done) */
    unsigned family;
};

/*
 * Builds the ring for p. Returns 0 or -ENOMEM. Connections of the
 * established space must already be (or be about to be) set up by the fill.
 */
int tr_ring_build(struct tr_ring *ring, const struct tr_params *p);

/* Moves every frame of the ring to the next pass (see the top of the file). */
void tr_ring_next_pass(struct tr_ring *ring);

void tr_ring_free(struct tr_ring *ring);

/*
 * Fill generator: produces, burst by burst, the frames that open `count`
 * connections of a space. TCP: SYN, SYN-ACK and ACK, each in its own burst
 * (burst 3r carries the SYNs of group r, 3r+1 the SYN-ACKs of group r-1,
 * 3r+2 the ACKs of group r-2, a group being `burst` connections); UDP:
 * request, then the reply in the next burst. tr_fill_next() writes the next
 * burst into f->frames and returns its length, or 0 when done.
 */
struct tr_fill {
    const struct tr_params *p;
    unsigned space;        /* enum tr_space */
    uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
    uint32_t count;        /* connections to open */
    uint64_t burst_no;     /* next burst to produce */
    uint8_t *buf;          /* scratch frame bytes */
    struct ct_frame frames[CT_BURST_MAX];
};

int tr_fill_init(struct tr_fill *f, const struct tr_params *p, unsigned space, uint8_t proto,
                 uint32_t count);
unsigned tr_fill_next(struct tr_fill *f);
void tr_fill_free(struct tr_fill *f);

/* Frames one fill round of a protocol takes per connection (TCP 3, UDP 2). */
unsigned tr_fill_frames_per_conn(uint8_t proto);

#endif
