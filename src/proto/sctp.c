/*
 * SCTP tracker (RFC 9260), with the rules of Linux's
 * nf_conntrack_proto_sctp.c as of Linux 6.3 and later (HEARTBEAT_ACKED
 * merged into ESTABLISHED, ESTABLISHED's timeout 210 s). Behaviour checked
 * cell by cell against Linux 6.18 with tests/golden/kernel_compare.sh.
 *
 * The ports are in the tuple (the parser reads them from the common header,
 * RFC 9260 section 3.1). A packet is a common header followed by chunks
 * (section 3.2): type, flags, length, each padded to 4 bytes.
 *
 * For every packet, before any state:
 *   - the chunks are walked up to the end of the IP packet; the walk stops
 *     at a chunk header that does not fit, and a chunk whose length runs
 *     past the end ends the walk silently. INVALID (sctp-chunks): no chunk,
 *     a chunk of length 0, an INIT, INIT ACK or SHUTDOWN COMPLETE that is
 *     not the only chunk (sections 6.10 and 3.3: they must not be bundled),
 *     a COOKIE ECHO or COOKIE ACK that is not the first (section 5.1).
 *
 * A packet without a connection (the first one, seen while
 * CT_STATUS_CONFIRMED is clear) may not carry ABORT, SHUTDOWN COMPLETE or
 * COOKIE ACK (out of the blue, section 8.4), and each chunk must be one that
 * moves the state from NONE: INIT, INIT ACK, ABORT, SHUTDOWN, SHUTDOWN ACK,
 * ERROR, COOKIE ECHO, COOKIE ACK, SHUTDOWN COMPLETE, HEARTBEAT, HEARTBEAT
 * ACK. DATA, SACK and other chunk types cannot start one (sctp-new): there
 * is no mid-stream pickup. Such a first packet also notes the tags it
 * shows: an INIT (whose common-header tag must be 0, section 8.5.1 A) gives
 * the tag the reply direction will carry (its Initiate Tag); a HEARTBEAT
 * gives its own direction's tag (a second path of an association, seen
 * first here); a SHUTDOWN ACK gives the reply direction's tag (section 8.4
 * item 5: it is answered with a SHUTDOWN COMPLETE carrying that tag).
 *
 * Verification tags (section 8.5): a packet's tag must be the one noted for
 * its direction, except for packets carrying INIT, SHUTDOWN COMPLETE,
 * COOKIE ECHO, ABORT, SHUTDOWN ACK, HEARTBEAT or HEARTBEAT ACK, which are
 * checked chunk by chunk (section 8.5.1):
 *   - INIT: the tag is 0;
 *   - ABORT and SHUTDOWN COMPLETE: the direction's own tag, or with the T
 *     bit set the other direction's (the sender had no TCB, it reflects the
 *     tag it received);
 *   - COOKIE ECHO: the direction's tag (the Initiate Tag of the INIT ACK);
 *   - HEARTBEAT and HEARTBEAT ACK: a direction with no tag yet takes the
 *     packet's. A HEARTBEAT with another tag is let through without
 *     refreshing the connection (it may belong to another association on
 *     the same addresses and ports) and the mismatch is noted; a HEARTBEAT
 *     ACK with another tag, answering such a noted HEARTBEAT from the other
 *     side, replaces the tags: its own for its direction, unknown for the
 *     other. A mismatch on a packet that also carries DATA, or a second one
 *     in the same packet, is INVALID.
 * A mismatch is INVALID (sctp-vtag).
 *
 * States: Linux's. Each chunk moves the state by the table below, in the
 * packet's direction; DATA, SACK and the other chunk types leave it as it
 * is. An INIT notes the Initiate Tag for the other direction; an INIT ACK
 * too, once checked against what is known (when only one side has sent an
 * INIT, the INIT ACK must carry the tag that side was given, if any; after
 * INITs from both sides, a collision, it must carry the tag already noted).
 * An INIT retransmitted in CLOSED is let through without refreshing the
 * connection, so that a reused port cannot keep a dead entry alive. The
 * connection becomes ASSURED when a chunk moves it into ESTABLISHED.
 *
 * Results: INVALID packets leave the timeout alone, but, as in Linux, what
 * the chunks before the bad one changed (state, tags) stays. Packets let
 * through without refresh are accepted with reason sctp-ignored, which the
 * packet path neither counts nor uses to move last_seen. Any other packet
 * sets the timeout of the state it leaves the connection in: CLOSED 10 s,
 * COOKIE_WAIT 3 s, COOKIE_ECHOED 3 s, ESTABLISHED 210 s, SHUTDOWN_SENT 3 s,
 * SHUTDOWN_RECD 3 s, SHUTDOWN_ACK_SENT 3 s, HEARTBEAT_SENT 30 s.
 */
#include <string.h>

#include "packet/packet_priv.h"
#include "proto/proto.h"

/* Chunk types (RFC 9260 section 3.2). */
enum {
    CH_DATA = 0,
    CH_INIT = 1,
    CH_INIT_ACK = 2,
    CH_SACK = 3,
    CH_HEARTBEAT = 4,
    CH_HEARTBEAT_ACK = 5,
    CH_ABORT = 6,
    CH_SHUTDOWN = 7,
    CH_SHUTDOWN_ACK = 8,
    CH_ERROR = 9,
    CH_COOKIE_ECHO = 10,
    CH_COOKIE_ACK = 11,
    CH_SHUTDOWN_COMPLETE = 14,
};

/* The T bit of ABORT and SHUTDOWN COMPLETE (sections 3.3.7 and 3.3.13). */
#define CH_FLAG_T 0x01u

#define BIT(t) (1u << (t))

/* Bytes of the common header (section 3.1) and of the fixed part of INIT
   and INIT ACK after their chunk header (sections 3.3.2 and 3.3.3). */
#define SCTP_HDR_LEN 12u
#define SCTP_INIT_FIXED 16u

/* No transition: the chunk is invalid in this state and direction. */
#define S_IV 0xffu

enum {
    S_NO = CT_SCTP_NONE,
    S_CL = CT_SCTP_CLOSED,
    S_CW = CT_SCTP_COOKIE_WAIT,
    S_CE = CT_SCTP_COOKIE_ECHOED,
    S_ES = CT_SCTP_ESTABLISHED,
    S_SS = CT_SCTP_SHUTDOWN_SENT,
    S_SR = CT_SCTP_SHUTDOWN_RECD,
    S_SA = CT_SCTP_SHUTDOWN_ACK_SENT,
    S_HS = CT_SCTP_HEARTBEAT_SENT,
};

/* Rows of the transition table: the chunk types that move the state. */
enum {
    R_INIT = 0,
    R_INIT_ACK,
    R_ABORT,
    R_SHUTDOWN,
    R_SHUTDOWN_ACK,
    R_ERROR,
    R_COOKIE_ECHO,
    R_COOKIE_ACK,
    R_SHUTDOWN_COMPLETE,
    R_HEARTBEAT,
    R_HEARTBEAT_ACK,
    R_COUNT
};

static int chunk_row(uint8_t type)
{
    switch (type) {
    case CH_INIT: return R_INIT;
    case CH_INIT_ACK: return R_INIT_ACK;
    case CH_ABORT: return R_ABORT;
    case CH_SHUTDOWN: return R_SHUTDOWN;
    case CH_SHUTDOWN_ACK: return R_SHUTDOWN_ACK;
    case CH_ERROR: return R_ERROR;
    case CH_COOKIE_ECHO: return R_COOKIE_ECHO;
    case CH_COOKIE_ACK: return R_COOKIE_ACK;
    case CH_SHUTDOWN_COMPLETE: return R_SHUTDOWN_COMPLETE;
    case CH_HEARTBEAT: return R_HEARTBEAT;
    case CH_HEARTBEAT_ACK: return R_HEARTBEAT_ACK;
    default: return -1;
    }
}

/*
 * The state after a chunk: next_state[direction][row][state], states in
 * enum ct_sctp_state order (NONE, CLOSED, COOKIE_WAIT, COOKIE_ECHOED,
 * ESTABLISHED, SHUTDOWN_SENT, SHUTDOWN_RECD, SHUTDOWN_ACK_SENT,
 * HEARTBEAT_SENT). The connection's states, not an endpoint's: an INIT
 * from the originator gives CLOSED, its INIT ACK COOKIE_WAIT, the COOKIE
 * ECHO COOKIE_ECHOED, the COOKIE ACK ESTABLISHED (section 5.1); a SHUTDOWN
 * gives SHUTDOWN_SENT or SHUTDOWN_RECD by its direction, the SHUTDOWN ACK
 * SHUTDOWN_ACK_SENT and the SHUTDOWN COMPLETE CLOSED (section 9.2); an
 * ABORT closes (section 9.1). A HEARTBEAT first seen on a path gives
 * HEARTBEAT_SENT and its answer ESTABLISHED (section 8.3). In the reply
 * direction nothing is valid in NONE, and in HEARTBEAT_SENT only
 * HEARTBEAT and HEARTBEAT ACK are. Linux's table, checked against Linux
 * 6.18 by a capture that drives one association into each cell.
 */
static const uint8_t next_state[2][R_COUNT][CT_SCTP_STATE_COUNT] = {
    [CT_DIR_ORIGINAL] = {
        /*                     NO    CL    CW    CE    ES    SS    SR    SA    HS */
        [R_INIT] =            {S_CL, S_CL, S_CW, S_CE, S_ES, S_CL, S_CL, S_SA, S_CW},
        [R_INIT_ACK] =        {S_CL, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_CL},
        [R_ABORT] =           {S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL},
        [R_SHUTDOWN] =        {S_CL, S_CL, S_CW, S_CE, S_SS, S_SS, S_SR, S_SA, S_CL},
        [R_SHUTDOWN_ACK] =    {S_SA, S_CL, S_CW, S_CE, S_ES, S_SA, S_SA, S_SA, S_SA},
        [R_ERROR] =           {S_CL, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_CL},
        [R_COOKIE_ECHO] =     {S_CL, S_CL, S_CE, S_CE, S_ES, S_SS, S_SR, S_SA, S_CL},
        [R_COOKIE_ACK] =      {S_CL, S_CL, S_CW, S_ES, S_ES, S_SS, S_SR, S_SA, S_CL},
        [R_SHUTDOWN_COMPLETE]={S_CL, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_CL, S_CL},
        [R_HEARTBEAT] =       {S_HS, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_HS},
        [R_HEARTBEAT_ACK] =   {S_CL, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_HS},
    },
    [CT_DIR_REPLY] = {
        /*                     NO    CL    CW    CE    ES    SS    SR    SA    HS */
        [R_INIT] =            {S_IV, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_IV},
        [R_INIT_ACK] =        {S_IV, S_CW, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_IV},
        [R_ABORT] =           {S_IV, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_IV},
        [R_SHUTDOWN] =        {S_IV, S_CL, S_CW, S_CE, S_SR, S_SS, S_SR, S_SA, S_IV},
        [R_SHUTDOWN_ACK] =    {S_IV, S_CL, S_CW, S_CE, S_ES, S_SA, S_SA, S_SA, S_IV},
        [R_ERROR] =           {S_IV, S_CL, S_CW, S_CL, S_ES, S_SS, S_SR, S_SA, S_IV},
        [R_COOKIE_ECHO] =     {S_IV, S_CL, S_CE, S_CE, S_ES, S_SS, S_SR, S_SA, S_IV},
        [R_COOKIE_ACK] =      {S_IV, S_CL, S_CW, S_ES, S_ES, S_SS, S_SR, S_SA, S_IV},
        [R_SHUTDOWN_COMPLETE]={S_IV, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_CL, S_IV},
        [R_HEARTBEAT] =       {S_IV, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_HS},
        [R_HEARTBEAT_ACK] =   {S_IV, S_CL, S_CW, S_CE, S_ES, S_SS, S_SR, S_SA, S_ES},
    },
};

/* The state after a chunk of `type`, or S_IV. */
static uint8_t chunk_next(unsigned dir, uint8_t state, uint8_t type)
{
    int row = chunk_row(type);
    if (row < 0 || state >= CT_SCTP_STATE_COUNT)
        return state;
    return next_state[dir][row][state];
}

/* The timeout of each state; NONE never outlives a packet. */
static const uint8_t state_timeout[CT_SCTP_STATE_COUNT] = {
    [CT_SCTP_NONE] = CT_TIMEOUT_SCTP_CLOSED,
    [CT_SCTP_CLOSED] = CT_TIMEOUT_SCTP_CLOSED,
    [CT_SCTP_COOKIE_WAIT] = CT_TIMEOUT_SCTP_COOKIE_WAIT,
    [CT_SCTP_COOKIE_ECHOED] = CT_TIMEOUT_SCTP_COOKIE_ECHOED,
    [CT_SCTP_ESTABLISHED] = CT_TIMEOUT_SCTP_ESTABLISHED,
    [CT_SCTP_SHUTDOWN_SENT] = CT_TIMEOUT_SCTP_SHUTDOWN_SENT,
    [CT_SCTP_SHUTDOWN_RECD] = CT_TIMEOUT_SCTP_SHUTDOWN_RECD,
    [CT_SCTP_SHUTDOWN_ACK_SENT] = CT_TIMEOUT_SCTP_SHUTDOWN_ACK_SENT,
    [CT_SCTP_HEARTBEAT_SENT] = CT_TIMEOUT_SCTP_HEARTBEAT_SENT,
};

/*
 * A walk over the chunks of a parsed packet. Reads are bounded by the
 * captured bytes and by the end of the IP packet; the walk ends at the
 * first chunk header that does not fit in both.
 */
struct walk {
    const uint8_t *data;
    uint32_t lim;   /* captured bytes of the SCTP packet end here */
    uint32_t end;   /* the SCTP packet ends here (IP lengths) */
    uint32_t off;   /* the current chunk */
    uint32_t vtag;  /* the common header's verification tag */
};

/* Starts a walk; returns 0, or an INVALID reason. */
static uint16_t walk_start(const struct ct_pkt *pkt, struct walk *w)
{
    uint32_t l4 = pkt->l4_off;
    w->data = pkt->data;
    w->end = l4 + pkt->l4_len;
    w->lim = pkt->len < w->end ? pkt->len : w->end;
    const uint8_t *h = ct_pkt_span(w->data, w->lim, l4, SCTP_HDR_LEN);
    if (!h || pkt->l4_len < SCTP_HDR_LEN)
        return CT_REASON_L4_TRUNCATED;
    w->vtag = ct_be32(h + 4);
    w->off = l4 + SCTP_HDR_LEN;
    return CT_REASON_NONE;
}

/* The current chunk's header, or NULL at the end of the walk. */
static const uint8_t *walk_chunk(const struct walk *w)
{
    if (w->off >= w->end)
        return NULL;
    return ct_pkt_span(w->data, w->lim, w->off, 4);
}

static void walk_next(struct walk *w, const uint8_t *ch)
{
    w->off += ((uint32_t)ct_be16(ch + 2) + 3u) & ~3u;
}

/*
 * The Initiate Tag of the INIT or INIT ACK chunk at ch: the fixed part must
 * be in the packet (whatever the chunk length says, as Linux reads it).
 * Returns 0 with *tag set, or an INVALID reason.
 */
static uint16_t init_tag(const struct walk *w, uint32_t *tag)
{
    const uint8_t *p = ct_pkt_span(w->data, w->lim, w->off + 4, SCTP_INIT_FIXED);
    if (!p || w->off + 4 + SCTP_INIT_FIXED > w->end)
        return CT_REASON_L4_TRUNCATED;
    *tag = ct_be32(p);
    return CT_REASON_NONE;
}

/*
 * The checks every packet passes before any state (see the file comment).
 * Sets *types to the set of chunk types below 32 that the packet carries.
 */
static uint16_t check_chunks(const struct ct_pkt *pkt, struct walk *w, uint32_t *types)
{
    uint16_t r = walk_start(pkt, w);
    if (r != CT_REASON_NONE)
        return r;
    struct walk it = *w;
    unsigned count = 0;
    int alone = 0;
    uint32_t seen = 0;
    for (const uint8_t *ch; (ch = walk_chunk(&it)) != NULL; walk_next(&it, ch), count++) {
        uint8_t type = ch[0];
        if (type == CH_INIT || type == CH_INIT_ACK || type == CH_SHUTDOWN_COMPLETE)
            alone = 1;
        if (ct_be16(ch + 2) == 0)
            return CT_REASON_SCTP_CHUNKS;
        if (count != 0 && (alone || type == CH_COOKIE_ECHO || type == CH_COOKIE_ACK))
            return CT_REASON_SCTP_CHUNKS;
        if (type < 32)
            seen |= BIT(type);
    }
    if (count == 0)
        return CT_REASON_SCTP_CHUNKS;
    *types = seen;
    return CT_REASON_NONE;
}

uint16_t ct_sctp_new(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt,
                     uint64_t now)
{
    (void)cfg;
    (void)now;
    struct walk w;
    uint32_t types = 0;
    uint16_t r = check_chunks(pkt, &w, &types);
    if (r != CT_REASON_NONE)
        return r;
    /* Out of the blue (section 8.4): these are never answered by a new
       association. */
    if (types & (BIT(CH_ABORT) | BIT(CH_SHUTDOWN_COMPLETE) | BIT(CH_COOKIE_ACK)))
        return CT_REASON_SCTP_NEW;

    struct ct_sctp_conn s;
    memset(&s, 0, sizeof(s));
    for (const uint8_t *ch; (ch = walk_chunk(&w)) != NULL; walk_next(&w, ch)) {
        uint8_t next = chunk_next(CT_DIR_ORIGINAL, CT_SCTP_NONE, ch[0]);
        if (next == CT_SCTP_NONE || next == S_IV)
            return CT_REASON_SCTP_NEW;
        if (ch[0] == CH_INIT) {
            if (w.vtag != 0)
                return CT_REASON_SCTP_VTAG;
            r = init_tag(&w, &s.vtag[CT_DIR_REPLY]);
            if (r != CT_REASON_NONE)
                return r;
        } else if (ch[0] == CH_HEARTBEAT) {
            s.vtag[CT_DIR_ORIGINAL] = w.vtag;
        } else if (ch[0] == CH_SHUTDOWN_ACK) {
            s.vtag[CT_DIR_REPLY] = w.vtag;
        }
    }
    *ct_sctp_of(conn) = s;
    conn->l4state = CT_SCTP_NONE;
    conn->timeout = CT_TIMEOUT_SCTP_CLOSED;
    return CT_REASON_NONE;
}

/* Chunk types whose packets are exempt from the plain tag check. */
#define TAG_CHECKED_PER_CHUNK                                                               \
    (BIT(CH_INIT) | BIT(CH_SHUTDOWN_COMPLETE) | BIT(CH_COOKIE_ECHO) | BIT(CH_ABORT) |      \
     BIT(CH_SHUTDOWN_ACK) | BIT(CH_HEARTBEAT) | BIT(CH_HEARTBEAT_ACK))

static void set_invalid(struct ct_proto_result *res, uint16_t reason)
{
    res->action = CT_PROTO_INVALID;
    res->reason = reason;
}

void ct_sctp_packet(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, uint64_t now, struct ct_proto_result *res)
{
    (void)cfg;
    (void)now;
    const unsigned d = dir == CT_DIR_REPLY ? 1u : 0u;
    const unsigned o = d ^ 1u;
    struct ct_sctp_conn *s = ct_sctp_of(conn);
    struct walk w;
    uint32_t types = 0;
    uint16_t r = check_chunks(pkt, &w, &types);
    if (r != CT_REASON_NONE) {
        set_invalid(res, r);
        return;
    }
    if (!(types & TAG_CHECKED_PER_CHUNK) && w.vtag != s->vtag[d]) {
        set_invalid(res, CT_REASON_SCTP_VTAG);
        return;
    }

    const int first = !(conn->status & CT_STATUS_CONFIRMED);
    int ignore = 0;
    for (const uint8_t *ch; (ch = walk_chunk(&w)) != NULL; walk_next(&w, ch)) {
        const uint8_t type = ch[0];
        uint32_t want;
        switch (type) {
        case CH_INIT:
            if (w.vtag != 0) {
                set_invalid(res, CT_REASON_SCTP_VTAG);
                return;
            }
            break;
        case CH_ABORT:
        case CH_SHUTDOWN_COMPLETE:
            want = (ch[1] & CH_FLAG_T) ? s->vtag[o] : s->vtag[d];
            if (w.vtag != want) {
                set_invalid(res, CT_REASON_SCTP_VTAG);
                return;
            }
            break;
        case CH_COOKIE_ECHO:
            if (w.vtag != s->vtag[d]) {
                set_invalid(res, CT_REASON_SCTP_VTAG);
                return;
            }
            break;
        case CH_HEARTBEAT:
        case CH_HEARTBEAT_ACK:
            if (s->vtag[d] == 0) {
                s->vtag[d] = w.vtag;
            } else if (w.vtag != s->vtag[d]) {
                if ((types & BIT(CH_DATA)) || ignore) {
                    set_invalid(res, CT_REASON_SCTP_VTAG);
                    return;
                }
                if (type == CH_HEARTBEAT) {
                    /* Another path, or another association: note it, let
                       it through, and leave the state to this packet's
                       other chunks. */
                    s->flags = (uint8_t)(CT_SCTPF_HB_VTAG_FAILED | (d ? CT_SCTPF_HB_DIR_REPLY : 0));
                    ignore = 1;
                    continue;
                }
                /* A HEARTBEAT ACK must answer such a HEARTBEAT from the
                   other side; then its tag is the one to expect. */
                if (!(s->flags & CT_SCTPF_HB_VTAG_FAILED) ||
                    ((s->flags & CT_SCTPF_HB_DIR_REPLY) != 0) == (d != 0)) {
                    set_invalid(res, CT_REASON_SCTP_VTAG);
                    return;
                }
                s->flags &= (uint8_t)~CT_SCTPF_HB_VTAG_FAILED;
                s->vtag[d] = w.vtag;
                s->vtag[o] = 0;
            } else {
                s->flags &= (uint8_t)~CT_SCTPF_HB_VTAG_FAILED;
            }
            break;
        default:
            break;
        }

        const uint8_t old = conn->l4state;
        const uint8_t next = chunk_next(d, old, type);
        if (next == S_IV) {
            set_invalid(res, CT_REASON_SCTP_INVALID_STATE);
            return;
        }
        if (type == CH_INIT) {
            uint32_t tag;
            r = init_tag(&w, &tag);
            if (r != CT_REASON_NONE) {
                set_invalid(res, r);
                return;
            }
            /* INITs from both sides (a collision, section 5.2.4): the
               latest one counts. */
            if ((s->init_seen & BIT(d)) && (s->init_seen & BIT(o)))
                s->init_seen &= (uint8_t)~BIT(o);
            s->init_seen |= (uint8_t)BIT(d);
            s->vtag[o] = tag;
            /* A retransmitted INIT does not keep the entry alive. */
            if (next == CT_SCTP_CLOSED && old == CT_SCTP_CLOSED && !first)
                ignore = 1;
        } else if (type == CH_INIT_ACK) {
            uint32_t tag;
            r = init_tag(&w, &tag);
            if (r != CT_REASON_NONE) {
                set_invalid(res, r);
                return;
            }
            const uint32_t known = s->vtag[o];
            const int init_here = (s->init_seen & BIT(d)) != 0;
            const int init_there = (s->init_seen & BIT(o)) != 0;
            if ((!init_there && known != 0 && known != tag) || (init_here && init_there && known != tag)) {
                set_invalid(res, CT_REASON_SCTP_VTAG);
                return;
            }
            s->vtag[o] = tag;
        } else if (type == CH_COOKIE_ACK) {
            /* The handshake is over (section 5.1): an INIT ACK now must
               carry the tag already noted. */
            s->init_seen = 0;
        }
        conn->l4state = next;
        if (old != next && next == CT_SCTP_ESTABLISHED)
            conn->status |= CT_STATUS_ASSURED;
    }

    if (ignore) {
        res->action = CT_PROTO_ACCEPT;
        res->reason = CT_REASON_SCTP_IGNORED;
        return;
    }
    conn->timeout = state_timeout[conn->l4state < CT_SCTP_STATE_COUNT ? conn->l4state : CT_SCTP_CLOSED];
    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
}

CT_EXPORT const char *ct_sctp_state_name(unsigned state)
{
    static const char *const names[CT_SCTP_STATE_COUNT] = {
        "NONE",          "CLOSED",        "COOKIE_WAIT",       "COOKIE_ECHOED",  "ESTABLISHED",
        "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT",
    };
    return state < CT_SCTP_STATE_COUNT ? names[state] : "UNKNOWN";
}
