/*
 * TCP connection tracking, following the behaviour of Linux nf_conntrack
 * (nf_conntrack_proto_tcp.c, 6.x kernels): a state machine driven by a
 * transition table indexed by [direction][flag class][state], and window
 * tracking after Guido van Rooij, "Real Stateful TCP Packet Filtering in IP
 * Filter" (2000), with the bounds relaxed as RFC 793 allows (a segment must
 * intersect the window).
 *
 * Per direction the tracker keeps (struct ct_tcp_dir):
 *   td_end    = highest seq + len sent by this side;
 *   td_maxend = highest ack + max(win, 1) the other side announced to it;
 *   td_maxwin = largest window this side announced (plus SACK slack);
 *   td_scale  = this side's window-scale shift (RFC 7323), used only when
 *               both SYNs carried the option.
 * A segment from `sender` to `receiver` is in window when
 *   I.   seq        <= sender.td_maxend
 *   II.  seq + len  >= sender.td_end - receiver.td_maxwin
 *   III. sack       <= receiver.td_end
 *   IV.  sack       >= receiver.td_end - max(sender.td_maxwin, 66000)
 * where sack is the highest right edge of the SACK blocks, or the ACK.
 * Sequence numbers compare modulo 2^32 (RFC 793 section 3.3).
 *
 * Results, as Linux's return codes map onto enum ct_proto_action:
 *   - Linux marks the packet invalid        -> CT_PROTO_INVALID, reason set,
 *                                              stored state untouched, except
 *     that an out-of-window FIN or RST of an assured connection is noted,
 *     and one crossing a noted one from the other side cuts conn->timeout
 *     to UNACK (tcp_handle_invalid);
 *   - Linux accepts the packet but neither counts it nor refreshes the
 *     timer ("ignored")                     -> CT_PROTO_ACCEPT with a reason
 *     (TCP_IGNORED, TCP_CHALLENGE_ACK, TCP_SEQ_UNDER, TCP_ACK_UNDER,
 *     TCP_SEQ_OVER): the packet belongs to the connection, conn->timeout is
 *     not changed. Most of them change at most the tracker's notes (the
 *     last packet, a data end); a SYN sent again in SYN_SENT before any
 *     reply, and the reply side's SYN of a simultaneous open, go through
 *     the state machine and window checks like any accepted packet;
 *   - Linux repeats the lookup after killing the entry (SYN reopening a
 *     closed connection)                    -> CT_PROTO_REPLACE;
 *   - Linux kills the entry after accounting the packet (a RST before any
 *     reply)                                -> CT_PROTO_CLOSE;
 *   - otherwise                             -> CT_PROTO_ACCEPT, reason NONE.
 * docs/behaviour.md lists where this tracker deliberately differs from Linux.
 *
 * ct_tcp_packet_full() is the tracker as described. ct_tcp_segment() (what
 * ct_tcp_packet() calls), at the end of this file, first tries fast paths
 * for the common packets (an in-window ACK segment in ESTABLISHED, and the
 * SYN, SYN/ACK and ACK of a plain handshake): each is the full path
 * specialised to conditions it checks before writing anything, and hands
 * every other packet to the full path. tests/unit/test_tcp_fast.c holds them to the same results.
 */
#include <stdint.h>
#include <string.h>

#include "packet/packet_priv.h"
#include "proto/proto.h"
#include "proto/tcp_conn.h"

/* The window check and the tail of the full path are inlined into it, and
 * the fast paths into their callers. */
#define CT_TCP_INLINE CT_ALWAYS_INLINE

/* ---- sequence arithmetic ---------------------------------------------------- */

/* a precedes b in sequence space (RFC 793 section 3.3, modulo 2^32). */
static inline int seq_before(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

static inline int seq_after(uint32_t a, uint32_t b)
{
    return seq_before(b, a);
}

/* The lower ACK bound never reaches back less than this many bytes. */
#define CT_TCP_MAXACKWIN_MIN 66000u

/* An out-of-window FIN or RST exchange does not shorten a timeout with less
 * than this left (Linux: 120 s). */
#define CT_TCP_INVALID_CLOSE_MIN_NS (UINT64_C(120) * 1000000000u)

/* ---- the transition table ----------------------------------------------------- */

/* Table entries beyond the real states: the packet is invalid / ignored. */
#define T_IV CT_TCP_STATE_COUNT
#define T_IG (CT_TCP_STATE_COUNT + 1)

#define T_NO CT_TCP_NONE
#define T_SS CT_TCP_SYN_SENT
#define T_SR CT_TCP_SYN_RECV
#define T_ES CT_TCP_ESTABLISHED
#define T_FW CT_TCP_FIN_WAIT
#define T_CW CT_TCP_CLOSE_WAIT
#define T_LA CT_TCP_LAST_ACK
#define T_TW CT_TCP_TIME_WAIT
#define T_CL CT_TCP_CLOSE
#define T_S2 CT_TCP_SYN_SENT2

/*
 * The state after a packet of a flag class in a direction, by the state
 * before it. Same contents as Linux's tcp_conntracks. We are a middlebox: a
 * packet we see may still be lost before it arrives, so "ignored" cells let
 * through packets that may be right while our view is out of sync (a SYN in
 * an established connection, a SYN/ACK answering it), and "invalid" cells
 * are packets no correct peer sends in that state.
 */
static const uint8_t tcp_transitions[2][CT_TCP_CLASS_COUNT][CT_TCP_STATE_COUNT] = {
    [CT_DIR_ORIGINAL] = {
        /*                       NO    SS    SR    ES    FW    CW    LA    TW    CL    S2 */
        [CT_TCP_CLASS_SYN]    = {T_SS, T_SS, T_IG, T_IG, T_IG, T_IG, T_IG, T_SS, T_SS, T_S2},
        [CT_TCP_CLASS_SYNACK] = {T_IV, T_IV, T_SR, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_SR},
        [CT_TCP_CLASS_FIN]    = {T_IV, T_IV, T_FW, T_FW, T_LA, T_LA, T_LA, T_TW, T_CL, T_IV},
        [CT_TCP_CLASS_ACK]    = {T_ES, T_IV, T_ES, T_ES, T_CW, T_CW, T_TW, T_TW, T_CL, T_IV},
        [CT_TCP_CLASS_RST]    = {T_IV, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL},
        [CT_TCP_CLASS_NONE]   = {T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV},
    },
    [CT_DIR_REPLY] = {
        /*                       NO    SS    SR    ES    FW    CW    LA    TW    CL    S2 */
        [CT_TCP_CLASS_SYN]    = {T_IV, T_S2, T_IV, T_IV, T_IV, T_IV, T_IV, T_SS, T_IV, T_S2},
        [CT_TCP_CLASS_SYNACK] = {T_IV, T_SR, T_IG, T_IG, T_IG, T_IG, T_IG, T_IG, T_IG, T_SR},
        [CT_TCP_CLASS_FIN]    = {T_IV, T_IV, T_FW, T_FW, T_LA, T_LA, T_LA, T_TW, T_CL, T_IV},
        [CT_TCP_CLASS_ACK]    = {T_IV, T_IG, T_SR, T_ES, T_CW, T_CW, T_TW, T_TW, T_CL, T_IG},
        [CT_TCP_CLASS_RST]    = {T_IV, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL, T_CL},
        [CT_TCP_CLASS_NONE]   = {T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV, T_IV},
    },
};

/* ---- packet helpers --------------------------------------------------------------- */

#define TCP_FLAG_SET(f) (UINT64_C(1) << (f))
/* Flag bits that decide validity; ECE, CWR and PSH never matter. */
#define TCP_FLAGS_CHECKED (CT_TCP_FIN | CT_TCP_SYN | CT_TCP_RST | CT_TCP_ACK | CT_TCP_URG)

/*
 * The combinations of FIN, SYN, RST, ACK and URG a correct TCP sends (as
 * Linux's tcp_error accepts them), one bit per combination.
 */
static const uint64_t tcp_valid_flag_sets =
    TCP_FLAG_SET(CT_TCP_SYN) | TCP_FLAG_SET(CT_TCP_SYN | CT_TCP_URG) |
    TCP_FLAG_SET(CT_TCP_SYN | CT_TCP_ACK) | TCP_FLAG_SET(CT_TCP_RST) |
    TCP_FLAG_SET(CT_TCP_RST | CT_TCP_ACK) | TCP_FLAG_SET(CT_TCP_FIN | CT_TCP_ACK) |
    TCP_FLAG_SET(CT_TCP_FIN | CT_TCP_ACK | CT_TCP_URG) | TCP_FLAG_SET(CT_TCP_ACK) |
    TCP_FLAG_SET(CT_TCP_ACK | CT_TCP_URG);

/*
 * Sanity of the header fields the parser filled: a data offset within the
 * segment and a valid flag combination. Returns an INVALID reason or NONE.
 */
static inline uint16_t tcp_check_header(const struct ct_pkt *pkt)
{
    if (CT_UNLIKELY(pkt->tcp_hdr_len < 20 || pkt->l4_len < pkt->tcp_hdr_len))
        return CT_REASON_TCP_HDR_LEN;
    if (CT_UNLIKELY(!((tcp_valid_flag_sets >> (pkt->tcp_flags & TCP_FLAGS_CHECKED)) & 1u)))
        return CT_REASON_TCP_FLAGS;
    return CT_REASON_NONE;
}

static inline unsigned tcp_flag_class(uint8_t flags)
{
    if (flags & CT_TCP_RST)
        return CT_TCP_CLASS_RST;
    if (flags & CT_TCP_SYN)
        return (flags & CT_TCP_ACK) ? CT_TCP_CLASS_SYNACK : CT_TCP_CLASS_SYN;
    if (flags & CT_TCP_FIN)
        return CT_TCP_CLASS_FIN;
    if (flags & CT_TCP_ACK)
        return CT_TCP_CLASS_ACK;
    return CT_TCP_CLASS_NONE;
}

/*
 * seq + segment length, where SYN and FIN each occupy one sequence number.
 * The length comes from the IP lengths, not from the captured bytes.
 */
static inline uint32_t tcp_segment_end_f(const struct ct_pkt *pkt, uint8_t flags)
{
    return pkt->seq + (pkt->l4_len - pkt->tcp_hdr_len) + ((flags & CT_TCP_SYN) ? 1u : 0u) +
           ((flags & CT_TCP_FIN) ? 1u : 0u);
}

static inline uint32_t tcp_segment_end(const struct ct_pkt *pkt)
{
    return tcp_segment_end_f(pkt, pkt->tcp_flags);
}

/*
 * Takes the SYN options of a side: a header with options resets what is
 * known (keeping only BE_LIBERAL) and records SACK-permitted and the window
 * scale, capped at 14 (RFC 7323 section 2.3). A header without options
 * changes nothing.
 */
static inline void tcp_take_options(struct ct_tcp_dir *d, const struct ct_pkt *pkt)
{
    if (pkt->tcp_hdr_len <= 20)
        return;
    d->td_scale = 0;
    d->flags &= CT_TCPF_BE_LIBERAL;
    if (pkt->tcp_opts & CT_TCPOPT_SACK_PERM)
        d->flags |= CT_TCPF_SACK_PERM;
    if (pkt->tcp_opts & CT_TCPOPT_WSCALE) {
        d->td_scale = (uint8_t)(pkt->tcp_wscale > CT_TCP_MAX_WSCALE ? CT_TCP_MAX_WSCALE : pkt->tcp_wscale);
        d->flags |= CT_TCPF_WINDOW_SCALE;
    }
}

/*
 * The highest right edge of the SACK blocks (RFC 2018) of the first SACK
 * option, if beyond `sack`. Only runs when the parser saw a SACK option. The
 * parser recorded where the first one is after checking its bounds, and
 * ct_pkt_sack_blocks() hands out its blocks unless its length is malformed,
 * in which case none is read (as the walk over the options this replaced
 * stopped there).
 */
static uint32_t tcp_highest_sack(const struct ct_pkt *pkt, uint32_t sack)
{
    unsigned n;
    const uint8_t *b = ct_pkt_sack_blocks(pkt, &n);
    for (unsigned i = 0; i < n; i++) {
        uint32_t right = ct_be32(b + 8 * i + 4);
        if (seq_after(right, sack))
            sack = right;
    }
    return sack;
}

/*
 * The timeout of each state is found by offset: the TCP rows of
 * CT_TIMEOUT_LIST (ctrack/conn.h) follow enum ct_tcp_state from SYN_SENT to
 * SYN_SENT2. Each pair is checked here, so reordering either list breaks the
 * build instead of silently giving a state another state's timeout.
 */
#define CT_TCP_TIMEOUT_OF_(state) (CT_TIMEOUT_TCP_SYN_SENT + ((state) - CT_TCP_SYN_SENT))
#define CT_TCP_TIMEOUT_ORDER_(state)                                                      \
    _Static_assert(CT_TCP_TIMEOUT_OF_(CT_TCP_##state) == CT_TIMEOUT_TCP_##state,          \
                   "CT_TIMEOUT_TCP_" #state " follows enum ct_tcp_state")
CT_TCP_TIMEOUT_ORDER_(SYN_SENT);
CT_TCP_TIMEOUT_ORDER_(SYN_RECV);
CT_TCP_TIMEOUT_ORDER_(ESTABLISHED);
CT_TCP_TIMEOUT_ORDER_(FIN_WAIT);
CT_TCP_TIMEOUT_ORDER_(CLOSE_WAIT);
CT_TCP_TIMEOUT_ORDER_(LAST_ACK);
CT_TCP_TIMEOUT_ORDER_(TIME_WAIT);
CT_TCP_TIMEOUT_ORDER_(CLOSE);
CT_TCP_TIMEOUT_ORDER_(SYN_SENT2);
_Static_assert(CT_TCP_SYN_SENT2 == CT_TCP_STATE_COUNT - 1, "every TCP state above NONE is checked");
#undef CT_TCP_TIMEOUT_ORDER_

/* The enum ct_timeout of a state's own timeout (NONE has SYN_SENT's). */
static inline unsigned tcp_state_timeout(unsigned state)
{
    if (state == CT_TCP_NONE || state >= CT_TCP_STATE_COUNT)
        return CT_TIMEOUT_TCP_SYN_SENT;
    return CT_TCP_TIMEOUT_OF_(state);
}

/* States in which a RST is taken without checks (Linux's tcp_can_early_drop). */
static inline int tcp_closing(unsigned state)
{
    return state == CT_TCP_FIN_WAIT || state == CT_TCP_CLOSE_WAIT || state == CT_TCP_LAST_ACK ||
           state == CT_TCP_TIME_WAIT || state == CT_TCP_CLOSE;
}

/* Zeroes a direction's window data, keeping only BE_LIBERAL. */
static inline void tcp_dir_reset(struct ct_tcp_dir *d)
{
    d->td_end = 0;
    d->td_maxend = 0;
    d->td_maxwin = 0;
    d->td_scale = 0;
    d->flags &= CT_TCPF_BE_LIBERAL;
}

/*
 * The highest ACK that the peer of direction `d` has sent, as far as it is
 * known. There is no room for Linux's td_maxack in the entry, so it is
 * derived: when d has no unacknowledged data the peer has acknowledged
 * exactly d's td_end; otherwise, if the last in-window ACK came from the
 * peer, its ACK stands in. Returns 0 when neither holds.
 */
static inline int tcp_peer_maxack(const struct ct_tcp_conn *t, unsigned d, uint32_t *maxack)
{
    if (!(t->seen[d].flags & CT_TCPF_DATA_UNACKNOWLEDGED)) {
        *maxack = t->seen[d].td_end;
        return 1;
    }
    if (ct_tcp_last_dir(t) != d && ct_tcp_last_index(t) == CT_TCP_CLASS_ACK) {
        *maxack = t->last_ack;
        return 1;
    }
    return 0;
}

/* ---- window tracking ----------------------------------------------------------- */

enum tcp_window_verdict {
    TCP_WIN_ACCEPT = 0,
    TCP_WIN_IGNORE = 1,  /* let through, but update nothing */
    TCP_WIN_INVALID = 2, /* the packet is INVALID */
};

/* A failed check: liberal tracking (per table or per direction) accepts it. */
static inline unsigned tcp_window_fail(const struct ct_proto_cfg *cfg, const struct ct_tcp_dir *sender,
                                       unsigned verdict, uint16_t reason, uint16_t *why)
{
    if (cfg->tcp_liberal || (sender->flags & CT_TCPF_BE_LIBERAL))
        return TCP_WIN_ACCEPT;
    *why = reason;
    return verdict;
}

/*
 * Initialises a side from its SYN or SYN/ACK. Window scaling is on only if
 * both SYNs carried the option (RFC 7323 section 2.2); that is known when
 * the reply side's SYN is seen.
 */
static void tcp_init_sender(struct ct_tcp_dir *sender, struct ct_tcp_dir *receiver, const struct ct_pkt *pkt,
                            uint32_t end, uint32_t win, unsigned dir)
{
    sender->td_end = end;
    sender->td_maxend = end;
    sender->td_maxwin = win ? win : 1;
    tcp_take_options(sender, pkt);
    if (dir == CT_DIR_REPLY &&
        !((sender->flags & CT_TCPF_WINDOW_SCALE) && (receiver->flags & CT_TCPF_WINDOW_SCALE))) {
        sender->td_scale = 0;
        receiver->td_scale = 0;
    }
}

/*
 * Checks the segment against the four bounds and updates the window data
 * (Linux's tcp_in_window). `state` is the state stored before this packet.
 * *saved receives a copy of the TCP data before the first change made ahead
 * of the checks (sender initialisation), so that an INVALID packet can be
 * undone; *have_saved says whether it was taken. `flags` is pkt->tcp_flags.
 */
static CT_TCP_INLINE unsigned tcp_in_window(const struct ct_proto_cfg *cfg, struct ct_conn *conn, unsigned dir,
                                             unsigned index, const struct ct_pkt *pkt, const uint8_t flags,
                                             uint16_t *why, struct ct_tcp_conn *saved, int *have_saved)
{
    struct ct_tcp_conn *t = ct_tcp_of(conn);
    struct ct_tcp_dir *sender = &t->seen[dir];
    struct ct_tcp_dir *receiver = &t->seen[!dir];
    const unsigned state = conn->l4state;
    uint32_t seq = pkt->seq;
    uint32_t ack = pkt->ack;
    uint32_t sack = ack;
    uint32_t win = pkt->win;
    uint32_t end = tcp_segment_end_f(pkt, flags);
    uint32_t swin;

    if (CT_UNLIKELY((receiver->flags & CT_TCPF_SACK_PERM) && (pkt->tcp_opts & CT_TCPOPT_SACK)))
        sack = tcp_highest_sack(pkt, sack);

    if (CT_UNLIKELY(sender->td_maxwin == 0)) {
        if (!*have_saved) {
            *saved = *t;
            *have_saved = 1;
        }
        if (flags & CT_TCP_SYN) {
            /* A SYN/ACK answering the SYN, or the reply side's own SYN in a
             * simultaneous open. */
            tcp_init_sender(sender, receiver, pkt, end, win, dir);
            if (!(flags & CT_TCP_ACK))
                return TCP_WIN_ACCEPT;
        } else {
            /* First packet of a side picked up mid-stream: take its data as
             * the best guess of the window. */
            sender->td_end = end;
            swin = win << (sender->td_scale & 0xfu);
            sender->td_maxwin = swin ? swin : 1;
            sender->td_maxend = end + sender->td_maxwin;
            if (receiver->td_maxwin == 0) {
                /* Nothing seen from the other side either: let its ACK
                 * bounds (III, IV) pass until it speaks. */
                receiver->td_end = sack;
                receiver->td_maxend = sack;
            } else if (sack == receiver->td_end + 1) {
                /* Most likely the answer to a keep-alive probe, which
                 * sends one byte below td_end. */
                receiver->td_end++;
            }
        }
    } else if ((flags & CT_TCP_SYN) && seq_after(end, sender->td_end) &&
               (state == CT_TCP_SYN_SENT || state == CT_TCP_SYN_RECV)) {
        /* A side that restarted its handshake with a higher sequence
         * number (RFC 793: a reinitialised TCP need not wait if it uses
         * higher sequence numbers): start its window data afresh. */
        if (!*have_saved) {
            *saved = *t;
            *have_saved = 1;
        }
        tcp_init_sender(sender, receiver, pkt, end, win, dir);
        if (dir == CT_DIR_REPLY && !(flags & CT_TCP_ACK))
            return TCP_WIN_ACCEPT;
    }

    if (!(flags & CT_TCP_ACK)) {
        /* No ACK: take it as acknowledging what the receiver sent. */
        ack = sack = receiver->td_end;
    } else if ((flags & CT_TCP_RST) && ack == 0) {
        /* Stacks that send RST+ACK with a zero ACK number. */
        ack = sack = receiver->td_end;
    }

    if ((flags & CT_TCP_RST) && seq == 0 && state == CT_TCP_SYN_SENT) {
        /* A RST answering a SYN may carry sequence number 0. */
        seq = end = sender->td_end;
    }

    const uint32_t maxackwin = sender->td_maxwin > CT_TCP_MAXACKWIN_MIN ? sender->td_maxwin : CT_TCP_MAXACKWIN_MIN;

    /* I. seq <= sender.td_maxend */
    if (!seq_before(seq, sender->td_maxend + 1)) {
        uint32_t overshot = end - sender->td_maxend + 1;
        int ack_ok = seq_after(sack, receiver->td_end - maxackwin - 1);
        int in_recv_win = receiver->td_maxwin != 0 && seq_after(end, sender->td_end - receiver->td_maxwin - 1);
        if (in_recv_win && ack_ok && overshot <= receiver->td_maxwin && seq_before(sack, receiver->td_end + 1)) {
            /* A sender that overran the receive window slightly: only this
             * bound failed, so remember the data (else the peer's ACK of
             * it would fail bound III later) and let the packet pass. */
            sender->td_end = end;
            sender->flags |= CT_TCPF_DATA_UNACKNOWLEDGED;
            return tcp_window_fail(cfg, sender, TCP_WIN_IGNORE, CT_REASON_TCP_SEQ_OVER, why);
        }
        return tcp_window_fail(cfg, sender, TCP_WIN_INVALID, CT_REASON_TCP_SEQ_OVER, why);
    }

    /* III. sack <= receiver.td_end */
    if (!seq_before(sack, receiver->td_end + 1))
        return tcp_window_fail(cfg, sender, TCP_WIN_INVALID, CT_REASON_TCP_ACK_OVER, why);

    /* II. seq + len >= sender.td_end - receiver.td_maxwin (old retransmission) */
    if (receiver->td_maxwin != 0 && !seq_after(end, sender->td_end - receiver->td_maxwin - 1))
        return tcp_window_fail(cfg, sender, TCP_WIN_IGNORE, CT_REASON_TCP_SEQ_UNDER, why);

    /* IV. sack >= receiver.td_end - MAXACKWINDOW (overly delayed ACK) */
    if (!seq_after(sack, receiver->td_end - maxackwin - 1))
        return tcp_window_fail(cfg, sender, TCP_WIN_IGNORE, CT_REASON_TCP_ACK_UNDER, why);

    /* Windows in SYNs are never scaled (RFC 7323 section 2.2). */
    if (!(flags & CT_TCP_SYN))
        win <<= (sender->td_scale & 0xfu);

    /* Update the sender. */
    swin = win + (sack - ack);
    if (sender->td_maxwin < swin)
        sender->td_maxwin = swin;
    if (seq_after(end, sender->td_end)) {
        sender->td_end = end;
        sender->flags |= CT_TCPF_DATA_UNACKNOWLEDGED;
    }
    if (flags & CT_TCP_ACK)
        sender->flags |= CT_TCPF_MAXACK_SET;

    /* Update the receiver. */
    if (receiver->td_maxwin != 0 && seq_after(end, sender->td_maxend))
        receiver->td_maxwin += end - sender->td_maxend;
    if (seq_after(sack + win, receiver->td_maxend - 1)) {
        receiver->td_maxend = sack + win;
        if (win == 0)
            receiver->td_maxend++;
    }
    if (ack == receiver->td_end)
        receiver->flags &= (uint8_t)~CT_TCPF_DATA_UNACKNOWLEDGED;

    /* Retransmission: the same pure ACK segment as the last one. */
    if (index == CT_TCP_CLASS_ACK) {
        if (ct_tcp_last_dir(t) == dir && t->last_seq == seq && t->last_ack == ack && t->last_end == end &&
            t->last_win == pkt->win) {
            ct_tcp_set_retrans(t, ct_tcp_retrans(t) + 1);
        } else {
            ct_tcp_set_last_dir(t, dir);
            t->last_seq = seq;
            t->last_ack = ack;
            t->last_end = end;
            t->last_win = pkt->win;
            ct_tcp_set_retrans(t, 0);
        }
    }
    return TCP_WIN_ACCEPT;
}

/* ---- timeouts ------------------------------------------------------------------- */

/*
 * The timeout after an accepted packet, in Linux's order: many
 * retransmissions, then a RST, then unacknowledged data, then a zero window
 * each cap the state's timeout.
 */
static inline unsigned tcp_pick_timeout(const struct ct_proto_cfg *cfg, const struct ct_tcp_conn *t,
                                        unsigned state, unsigned index)
{
    const uint64_t *to = cfg->timeout_ns;
    const unsigned st = tcp_state_timeout(state);
    unsigned max_retrans = cfg->tcp_max_retrans > CT_TCP_RETRANS_MAX ? CT_TCP_RETRANS_MAX : cfg->tcp_max_retrans;

    if (ct_tcp_retrans(t) >= max_retrans && to[st] > to[CT_TIMEOUT_TCP_RETRANS])
        return CT_TIMEOUT_TCP_RETRANS;
    if (index == CT_TCP_CLASS_RST)
        return CT_TIMEOUT_TCP_CLOSE;
    if (((t->seen[0].flags | t->seen[1].flags) & CT_TCPF_DATA_UNACKNOWLEDGED) && to[st] > to[CT_TIMEOUT_TCP_UNACK])
        return CT_TIMEOUT_TCP_UNACK;
    if (t->last_win == 0 && to[st] > to[CT_TIMEOUT_TCP_RETRANS])
        return CT_TIMEOUT_TCP_RETRANS;
    return st;
}

/*
 * A FIN or RST of an assured connection failed the window checks (Linux's
 * handling of out-of-window FIN and RST, since 6.1). The first such packet
 * is noted as the last packet (flag class and direction only). When the
 * other side then sends one too, both ends are closing while our view of
 * the sequence numbers is out of sync: the timeout is cut to UNACK's, as if
 * data were unacknowledged, unless less than 120 s are left or the timeout
 * in force is not longer than UNACK's. A noted packet is not replaced by a
 * later one while the condition holds. Linux compares the time actually
 * left; the tracker has no clock and takes the whole timeout in force.
 */
static void tcp_handle_invalid(const struct ct_proto_cfg *cfg, struct ct_conn *conn, unsigned d, unsigned index)
{
    struct ct_tcp_conn *t = ct_tcp_of(conn);

    if (!(conn->status & CT_STATUS_ASSURED) || (conn->status & CT_STATUS_FIXED_TIMEOUT))
        return;
    if (index != CT_TCP_CLASS_FIN && index != CT_TCP_CLASS_RST)
        return;
    const unsigned last = ct_tcp_last_index(t);
    if (ct_tcp_last_dir(t) != d && (last == CT_TCP_CLASS_FIN || last == CT_TCP_CLASS_RST)) {
        /* An out-of-range index reads as the generic timeout, as the table does. */
        const uint64_t left = cfg->timeout_ns[conn->timeout < CT_TIMEOUT_COUNT ? conn->timeout : CT_TIMEOUT_GENERIC];
        if (left < CT_TCP_INVALID_CLOSE_MIN_NS)
            return;
        if (left > cfg->timeout_ns[CT_TIMEOUT_TCP_UNACK])
            conn->timeout = CT_TIMEOUT_TCP_UNACK;
        return;
    }
    ct_tcp_set_last_index(t, index);
    ct_tcp_set_last_dir(t, d);
}

/* ---- the tracker ------------------------------------------------------------------ */

static inline void tcp_invalid(struct ct_proto_result *res, uint16_t reason)
{
    res->action = CT_PROTO_INVALID;
    res->reason = reason;
}

uint16_t ct_tcp_open(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const struct ct_pkt *pkt)
{
    uint16_t reason = tcp_check_header(pkt);
    if (reason != CT_REASON_NONE)
        return reason;

    unsigned state = tcp_transitions[CT_DIR_ORIGINAL][tcp_flag_class(pkt->tcp_flags)][CT_TCP_NONE];
    if (state >= CT_TCP_STATE_COUNT)
        return CT_REASON_TCP_NEW_NOT_SYN;
    if (state != CT_TCP_SYN_SENT && !cfg->tcp_loose)
        return CT_REASON_TCP_NEW_NOT_SYN;

    struct ct_tcp_conn *t = ct_tcp_of(conn);
    memset(t, 0, sizeof(*t));
    struct ct_tcp_dir *orig = &t->seen[CT_DIR_ORIGINAL];
    orig->td_end = tcp_segment_end(pkt);
    orig->td_maxwin = pkt->win ? pkt->win : 1;
    if (state == CT_TCP_SYN_SENT) {
        orig->td_maxend = orig->td_end;
        tcp_take_options(orig, pkt);
    } else {
        /* Picked up mid-stream (loose): the history is lost, so guess the
         * window from this packet and track both sides liberally, with
         * SACK assumed, since the window scale cannot be known. */
        orig->td_maxend = orig->td_end + orig->td_maxwin;
        t->seen[CT_DIR_ORIGINAL].flags = CT_TCPF_SACK_PERM | CT_TCPF_BE_LIBERAL;
        t->seen[CT_DIR_REPLY].flags = CT_TCPF_SACK_PERM | CT_TCPF_BE_LIBERAL;
    }
    ct_tcp_set_last_index(t, CT_TCP_CLASS_NONE);
    conn->l4state = CT_TCP_NONE;
    conn->timeout = CT_TIMEOUT_TCP_SYN_SENT;
    return CT_REASON_NONE;
}

/*
 * The part of ct_tcp_packet() after the state machine: the window checks
 * (unless check_window is 0), the new state, the timeout and the status.
 * `flags` is pkt->tcp_flags.
 */
static CT_TCP_INLINE void tcp_finish(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const unsigned d,
                                     const struct ct_pkt *pkt, struct ct_proto_result *res, const uint8_t flags,
                                     const unsigned old_state, unsigned new_state, const unsigned index,
                                     const int check_window, const int simultaneous_open,
                                     struct ct_tcp_conn *saved, int *have_saved)
{
    struct ct_tcp_conn *t = ct_tcp_of(conn);

    if (check_window) {
        uint16_t why = CT_REASON_NONE;
        unsigned v = tcp_in_window(cfg, conn, d, index, pkt, flags, &why, saved, have_saved);
        if (CT_UNLIKELY(v != TCP_WIN_ACCEPT)) {
            if (v == TCP_WIN_INVALID) {
                if (*have_saved)
                    *t = *saved;
                tcp_handle_invalid(cfg, conn, d, index);
                tcp_invalid(res, why);
            } else {
                res->reason = why;
            }
            return;
        }
    }

    /* In window from here on. */
    ct_tcp_set_last_index(t, index);
    ct_tcp_set_last_dir(t, d);
    if (simultaneous_open)
        ct_tcp_set_last_flags(t, ct_tcp_last_flags(t) | CT_TCP_LASTF_SIMULTANEOUS_OPEN);
    conn->l4state = (uint8_t)new_state;
    if (old_state != new_state && new_state == CT_TCP_FIN_WAIT)
        t->seen[d].flags |= CT_TCPF_CLOSE_INIT;

    unsigned timeout = tcp_pick_timeout(cfg, t, new_state, index);

    if (!(conn->status & CT_STATUS_SEEN_REPLY)) {
        if (flags & CT_TCP_RST) {
            /* The only answer so far is a RST (or the opener gave up):
             * there is no connection to keep. */
            conn->timeout = (uint8_t)timeout;
            res->action = CT_PROTO_CLOSE;
            return;
        }
        if (index == CT_TCP_CLASS_SYN && old_state == CT_TCP_SYN_SENT) {
            /* A SYN sent again before any reply, or the reply side's SYN
             * of a simultaneous open (the direction does not matter): as
             * in Linux since 5.14, its state change stands, but it is
             * neither counted nor renews the timeout, so that a reused
             * port cannot keep the entry alive for ever. */
            res->reason = CT_REASON_TCP_IGNORED;
            return;
        }
        /* Picked up mid-stream and no answer yet: not the long
         * ESTABLISHED timeout. */
        if (new_state == CT_TCP_ESTABLISHED && cfg->timeout_ns[timeout] > cfg->timeout_ns[CT_TIMEOUT_TCP_UNACK])
            timeout = CT_TIMEOUT_TCP_UNACK;
    } else if (!(conn->status & CT_STATUS_ASSURED) &&
               (old_state == CT_TCP_SYN_RECV || old_state == CT_TCP_ESTABLISHED) &&
               new_state == CT_TCP_ESTABLISHED) {
        /* The handshake completed (or a picked-up connection was
         * answered): the connection is assured. */
        conn->status |= CT_STATUS_ASSURED;
    }
    conn->timeout = (uint8_t)timeout;
}

/* Every packet that no fast path takes (tcp_conn.h). */
CT_NOINLINE void ct_tcp_packet_full(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                                                  enum ct_dir dir, const struct ct_pkt *pkt,
                                                  struct ct_proto_result *res)
{
    struct ct_tcp_conn *t = ct_tcp_of(conn);
    const unsigned d = (unsigned)dir & 1u;
    struct ct_tcp_conn saved;
    int have_saved = 0;
    int check_window = 1;
    int simultaneous_open = 0;
    uint16_t why;

    res->action = CT_PROTO_ACCEPT;
    res->reason = CT_REASON_NONE;
    res->pad = 0;

    why = tcp_check_header(pkt);
    if (CT_UNLIKELY(why != CT_REASON_NONE)) {
        tcp_invalid(res, why);
        return;
    }
    unsigned old_state = conn->l4state;
    if (CT_UNLIKELY(old_state >= CT_TCP_STATE_COUNT)) {
        tcp_invalid(res, CT_REASON_TCP_INVALID_STATE);
        return;
    }
    const unsigned index = tcp_flag_class(pkt->tcp_flags);
    unsigned new_state = tcp_transitions[d][index][old_state];

    switch (new_state) {
    case CT_TCP_SYN_SENT:
        if (old_state < CT_TCP_TIME_WAIT)
            break;
        /* A SYN after the connection closed (RFC 1122 section 4.2.2.13
         * lets TIME-WAIT accept a new SYN), or after our side aborted it
         * with a RST: the old entry ends and the SYN starts a new one. */
        if (((t->seen[0].flags | t->seen[1].flags) & CT_TCPF_CLOSE_INIT) ||
            (ct_tcp_last_dir(t) == d && ct_tcp_last_index(t) == CT_TCP_CLASS_RST)) {
            res->action = CT_PROTO_REPLACE;
            return;
        }
        /* Otherwise treat it as the other ignored packets. */
        /* fall through */
    case T_IG:
        if (index == CT_TCP_CLASS_SYNACK && ct_tcp_last_index(t) == CT_TCP_CLASS_SYN &&
            ct_tcp_last_dir(t) != d && pkt->ack == t->last_end) {
            /* This SYN/ACK answers the SYN we ignored last: both ends are
             * in a new handshake that we missed. Restart the window data
             * from what we noted about that SYN. */
            const unsigned ld = ct_tcp_last_dir(t);
            struct ct_tcp_dir *syn_side = &t->seen[ld];
            const unsigned lf = ct_tcp_last_flags(t) & ~(unsigned)CT_TCP_LASTF_CHALLENGE_ACK;
            saved = *t;
            have_saved = 1;
            syn_side->td_end = t->last_end;
            syn_side->td_maxend = t->last_end;
            syn_side->td_maxwin = t->last_win ? t->last_win : 1;
            syn_side->td_scale = (uint8_t)ct_tcp_last_wscale(t);
            syn_side->flags = (uint8_t)(lf & CT_TCP_LASTF_OPTIONS);
            ct_tcp_set_last_flags(t, lf);
            tcp_dir_reset(&t->seen[d]);
            old_state = CT_TCP_SYN_SENT;
            new_state = CT_TCP_SYN_RECV;
            break;
        }
        /* Note the packet, so that an answer to it can be recognised. */
        ct_tcp_set_last_index(t, index);
        ct_tcp_set_last_dir(t, d);
        t->last_seq = pkt->seq;
        t->last_end = tcp_segment_end(pkt);
        t->last_win = pkt->win;
        if (index == CT_TCP_CLASS_SYN && d == CT_DIR_ORIGINAL) {
            /* A SYN from the original side: keep its options for the
             * SYN/ACK that would prove it right. In LAST_ACK the answer
             * may be an RFC 5961 challenge ACK instead, which must not be
             * taken for the last ACK. */
            unsigned lf = 0, ws = 0;
            if (pkt->tcp_hdr_len > 20) {
                if (pkt->tcp_opts & CT_TCPOPT_WSCALE) {
                    lf |= CT_TCP_LASTF_WINDOW_SCALE;
                    ws = pkt->tcp_wscale > CT_TCP_MAX_WSCALE ? CT_TCP_MAX_WSCALE : pkt->tcp_wscale;
                }
                if (pkt->tcp_opts & CT_TCPOPT_SACK_PERM)
                    lf |= CT_TCP_LASTF_SACK_PERM;
            }
            if (old_state == CT_TCP_LAST_ACK)
                lf |= CT_TCP_LASTF_CHALLENGE_ACK;
            ct_tcp_set_last_flags(t, lf);
            ct_tcp_set_last_wscale(t, ws);
        }
        if (old_state == CT_TCP_SYN_SENT && index == CT_TCP_CLASS_ACK && d == CT_DIR_REPLY) {
            /* Possibly a challenge ACK answering the SYN: a RST from the
             * original side with this sequence number will be accepted. */
            t->last_ack = pkt->ack;
        }
        res->reason = CT_REASON_TCP_IGNORED;
        return;
    case T_IV:
        tcp_invalid(res, CT_REASON_TCP_INVALID_STATE);
        return;
    case CT_TCP_TIME_WAIT:
        if (old_state == CT_TCP_LAST_ACK && index == CT_TCP_CLASS_ACK && ct_tcp_last_dir(t) != d &&
            ct_tcp_last_index(t) == CT_TCP_CLASS_SYN && (ct_tcp_last_flags(t) & CT_TCP_LASTF_CHALLENGE_ACK)) {
            /* The RFC 5961 challenge ACK answering the SYN we let through
             * in LAST_ACK: it does not acknowledge the last FIN. */
            ct_tcp_set_last_flags(t, ct_tcp_last_flags(t) & ~(unsigned)CT_TCP_LASTF_CHALLENGE_ACK);
            res->reason = CT_REASON_TCP_CHALLENGE_ACK;
            return;
        }
        break;
    case CT_TCP_SYN_SENT2:
        /* The table alone cannot follow a simultaneous open (RFC 793
         * figure 8): remember that one is under way. */
        simultaneous_open = 1;
        break;
    case CT_TCP_SYN_RECV:
        if (d == CT_DIR_REPLY && index == CT_TCP_CLASS_ACK &&
            (ct_tcp_last_flags(t) & CT_TCP_LASTF_SIMULTANEOUS_OPEN))
            new_state = CT_TCP_ESTABLISHED;
        break;
    case CT_TCP_CLOSE:
        if (index != CT_TCP_CLASS_RST)
            break;
        if (tcp_closing(old_state)) {
            /* Closing already: the tuple may be in use by a new
             * connection, so the window data is stale. Take the RST. */
            check_window = 0;
            break;
        }
        if ((t->seen[!d].flags & CT_TCPF_MAXACK_SET) && ct_tcp_last_index(t) != CT_TCP_CLASS_SYN) {
            const uint32_t seq = pkt->seq;
            const int established = old_state == CT_TCP_ESTABLISHED && (conn->status & CT_STATUS_ASSURED);
            uint32_t maxack = 0;
            const int known = tcp_peer_maxack(t, d, &maxack);

            /* Sequence 0 before the connection is established: most
             * likely the answer to a SYN we let through. */
            if (seq == 0 && !established)
                break;
            /* Below what the peer already acknowledged: not in window. */
            if (known && seq_before(seq, maxack) && !cfg->tcp_ignore_invalid_rst) {
                tcp_invalid(res, CT_REASON_TCP_RST_WINDOW);
                return;
            }
            if (!established || (known && seq == maxack))
                break;
            /* The RST right after this side's last data segment. */
            if (ct_tcp_last_index(t) == CT_TCP_CLASS_ACK && ct_tcp_last_dir(t) == d && seq == t->last_end)
                break;
            /* In window but not exactly at the expected sequence number
             * (RFC 5961 section 3.2): keep the state; a challenge ACK may
             * follow. */
            new_state = old_state;
        }
        if ((((conn->status & CT_STATUS_SEEN_REPLY) && ct_tcp_last_index(t) == CT_TCP_CLASS_SYN) ||
             (!(conn->status & CT_STATUS_ASSURED) && ct_tcp_last_index(t) == CT_TCP_CLASS_ACK)) &&
            pkt->ack == t->last_end) {
            /* The RST answers the SYN or ACK we let through while
             * ignoring it: it may acknowledge what we never tracked, so
             * skip the window checks and close. */
            check_window = 0;
            break;
        }
        if (old_state == CT_TCP_SYN_SENT && ct_tcp_last_index(t) == CT_TCP_CLASS_ACK &&
            ct_tcp_last_dir(t) == CT_DIR_REPLY && pkt->seq == t->last_ack) {
            /* The RST answering a challenge ACK we let through. */
            check_window = 0;
        }
        break;
    default:
        break;
    }

    tcp_finish(cfg, conn, d, pkt, res, pkt->tcp_flags, old_state, new_state, index, check_window,
               simultaneous_open, &saved, &have_saved);
}

/*
 * The ACK fast path: a segment of class ACK (ACK set; SYN, FIN and RST
 * clear) in ESTABLISHED on an assured connection, without a SACK option,
 * that passes all four window bounds. That is nearly every packet of a
 * connection. It is ct_tcp_packet_full() with everything these conditions
 * decide folded away:
 *   - the flags are a valid combination (ACK, or ACK with URG) and the
 *     transition table maps class ACK from ESTABLISHED to ESTABLISHED in
 *     both directions, with no case of the state-machine switch;
 *   - sack == ack, so the window data change as in tcp_in_window() with
 *     swin = win; a failed bound returns before anything is written;
 *   - the new last_dir_index is the retransmission count, class ACK and
 *     the direction, whatever it held (tcp_in_window() and tcp_finish()
 *     each write the direction, tcp_finish() the class);
 *   - SEEN_REPLY and ASSURED are set, so tcp_finish() changes no status
 *     bit and keeps the timeout tcp_pick_timeout() chose.
 * tcp_packet_fast_ack() also runs it for the ACK that completes the
 * handshake, and adds what differs there.
 *
 * The bounds are written as "not after" and "not before" instead of the
 * +1 and -1 of tcp_in_window(): seq_before(a, b + 1) is !seq_after(a, b)
 * and seq_after(a, b - 1) is !seq_before(a, b) for all a and b, wrap
 * included. tests/unit/test_tcp_fast.c drives random connections through
 * the fast paths and through ct_tcp_packet_full() and compares every
 * result and every state.
 *
 * `d` is a constant in each copy that tcp_packet_fast_ack() makes, so that
 * both sides sit at fixed offsets; `end` is seq plus the segment length.
 * Returns 0, having written nothing, when a bound fails.
 */
static CT_TCP_INLINE int tcp_packet_fast_dir(const struct ct_proto_cfg *restrict cfg, struct ct_conn *restrict conn,
                                             const unsigned d, const struct ct_pkt *restrict pkt, uint32_t end)
{
    struct ct_tcp_conn *t = ct_tcp_of(conn);
    struct ct_tcp_dir *sender = &t->seen[d];
    struct ct_tcp_dir *receiver = &t->seen[d ^ 1u];

    {
        const uint32_t s_maxwin = sender->td_maxwin;
        if (CT_UNLIKELY(s_maxwin == 0))
            return 0;
        const uint32_t maxackwin = s_maxwin > CT_TCP_MAXACKWIN_MIN ? s_maxwin : CT_TCP_MAXACKWIN_MIN;
        const uint32_t r_maxwin = receiver->td_maxwin;
        if (CT_UNLIKELY(seq_after(pkt->ack, receiver->td_end) ||                        /* III */
                        seq_before(pkt->ack, receiver->td_end - maxackwin) ||           /* IV */
                        seq_after(pkt->seq, sender->td_maxend) ||                       /* I */
                        (seq_before(end, sender->td_end - r_maxwin) && r_maxwin != 0))) /* II */
            return 0;
    }
    /* The checks' operands are read again below rather than kept in
     * registers: with them all live the compiler saves, restores and
     * spills more registers than the loads cost. */
    __asm__ volatile("" : "+r"(end) : : "memory");

    const uint32_t seq = pkt->seq;
    const uint32_t ack = pkt->ack;
    const uint16_t win16 = pkt->win;
    const uint32_t win = (uint32_t)win16 << (sender->td_scale & 0xfu);
    const uint32_t s_maxend = sender->td_maxend;
    const uint32_t r_end = receiver->td_end;
    const uint32_t r_maxwin = receiver->td_maxwin;

    /* Update the sender, then the receiver. */
    unsigned s_flags = sender->flags | CT_TCPF_MAXACK_SET;
    if (CT_UNLIKELY(sender->td_maxwin < win))
        sender->td_maxwin = win;
    if (seq_after(end, sender->td_end)) {
        sender->td_end = end;
        s_flags |= CT_TCPF_DATA_UNACKNOWLEDGED;
    }
    sender->flags = (uint8_t)s_flags;
    if (CT_UNLIKELY(seq_after(end, s_maxend)) && r_maxwin != 0)
        receiver->td_maxwin = r_maxwin + (end - s_maxend);
    if (!seq_before(ack + win, receiver->td_maxend))
        receiver->td_maxend = ack + win + (win == 0);
    unsigned r_flags = receiver->flags;
    if (ack == r_end) {
        r_flags &= ~(unsigned)CT_TCPF_DATA_UNACKNOWLEDGED;
        receiver->flags = (uint8_t)r_flags;
    }

    /* Retransmission: the same pure ACK segment as the last one. The count
     * has reached tcp_pick_timeout()'s limit, min(tcp_max_retrans, 15),
     * when it is at least tcp_max_retrans or saturated; a first copy has
     * count 0, which reaches it only when tcp_max_retrans is 0. */
    const unsigned ldi = t->last_dir_index;
    unsigned retrans = 0;
    int many_retrans;
    if (CT_UNLIKELY((ldi & 1u) == d && t->last_seq == seq && t->last_ack == ack && t->last_end == end &&
                    t->last_win == win16)) {
        retrans = (ldi >> 4) + 1;
        if (retrans > CT_TCP_RETRANS_MAX)
            retrans = CT_TCP_RETRANS_MAX;
        many_retrans = retrans >= cfg->tcp_max_retrans || retrans == CT_TCP_RETRANS_MAX;
    } else {
        t->last_seq = seq;
        t->last_ack = ack;
        t->last_end = end;
        t->last_win = win16;
        many_retrans = cfg->tcp_max_retrans == 0;
    }
    t->last_dir_index = (uint8_t)(retrans << 4 | CT_TCP_CLASS_ACK << 1 | d);

    /* tcp_pick_timeout() for ESTABLISHED and class ACK (last_win is win16). */
    const uint64_t *to = cfg->timeout_ns;
    unsigned timeout = CT_TIMEOUT_TCP_ESTABLISHED;
    if (CT_UNLIKELY(many_retrans) && to[CT_TIMEOUT_TCP_ESTABLISHED] > to[CT_TIMEOUT_TCP_RETRANS])
        timeout = CT_TIMEOUT_TCP_RETRANS;
    else if (((s_flags | r_flags) & CT_TCPF_DATA_UNACKNOWLEDGED) &&
             to[CT_TIMEOUT_TCP_ESTABLISHED] > to[CT_TIMEOUT_TCP_UNACK])
        timeout = CT_TIMEOUT_TCP_UNACK;
    else if (CT_UNLIKELY(win16 == 0) && to[CT_TIMEOUT_TCP_ESTABLISHED] > to[CT_TIMEOUT_TCP_RETRANS])
        timeout = CT_TIMEOUT_TCP_RETRANS;
    conn->timeout = (uint8_t)timeout;
    return 1;
}

/*
 * The conditions of the ACK fast path that do not depend on the window
 * data, for a packet of class ACK in ESTABLISHED (syn_recv 0) or from the
 * original side in SYN_RECV (syn_recv 1: the ACK completing the handshake,
 * which the transition table maps to ESTABLISHED with no special case and
 * after which tcp_finish() sets ASSURED, SEEN_REPLY being set). Returns 1
 * when the packet was accepted (the caller writes the result); 0 when the
 * full path must run, with nothing written.
 */
static CT_TCP_INLINE int tcp_packet_fast_ack(const struct ct_proto_cfg *cfg, struct ct_conn *conn, const unsigned d,
                                             const struct ct_pkt *pkt, const int syn_recv)
{
    const unsigned need = syn_recv ? CT_STATUS_SEEN_REPLY : CT_STATUS_SEEN_REPLY | CT_STATUS_ASSURED;

    if (CT_UNLIKELY((conn->status & need) != need || (pkt->tcp_opts & CT_TCPOPT_SACK) || pkt->tcp_hdr_len < 20 ||
                    pkt->l4_len < pkt->tcp_hdr_len))
        return 0;
    const uint32_t end = pkt->seq + (pkt->l4_len - pkt->tcp_hdr_len);
    if (syn_recv) {
        if (!tcp_packet_fast_dir(cfg, conn, CT_DIR_ORIGINAL, pkt, end))
            return 0;
        conn->l4state = CT_TCP_ESTABLISHED;
        conn->status |= CT_STATUS_ASSURED;
        return 1;
    }
    if (d == CT_DIR_ORIGINAL)
        return tcp_packet_fast_dir(cfg, conn, CT_DIR_ORIGINAL, pkt, end);
    return tcp_packet_fast_dir(cfg, conn, CT_DIR_REPLY, pkt, end);
}

/*
 * The fast path of the opening SYN: class SYN from the original side in
 * state NONE, that is the packet ct_tcp_open() just took. In the full path
 * the table gives SYN_SENT with no case of the switch, and tcp_in_window()
 * takes a segment without ACK as acknowledging receiver.td_end: bound III
 * holds, IV holds when max(sender.td_maxwin, 66000) is below 2^31, SACK
 * blocks do not matter, and MAXACK_SET and the retransmission data do not
 * change. The window checks run before anything is written; a sender
 * without window data (td_maxwin 0) goes to the full path. tcp_finish()
 * then sets no status bit: the old state is NONE. Returns 0, having
 * written nothing, when a condition does not hold.
 */
static CT_TCP_INLINE int tcp_packet_fast_syn(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                                             const struct ct_pkt *pkt)
{
    struct ct_tcp_conn *t = ct_tcp_of(conn);
    struct ct_tcp_dir *sender = &t->seen[CT_DIR_ORIGINAL];
    struct ct_tcp_dir *receiver = &t->seen[CT_DIR_REPLY];

    if (pkt->tcp_hdr_len < 20 || pkt->l4_len < pkt->tcp_hdr_len)
        return 0;
    const uint32_t end = pkt->seq + (pkt->l4_len - pkt->tcp_hdr_len) + 1u;
    const uint32_t s_maxwin = sender->td_maxwin;
    const uint32_t s_end = sender->td_end;
    const uint32_t s_maxend = sender->td_maxend;
    const uint32_t r_end = receiver->td_end;
    const uint32_t r_maxwin = receiver->td_maxwin;
    const uint32_t maxackwin = s_maxwin > CT_TCP_MAXACKWIN_MIN ? s_maxwin : CT_TCP_MAXACKWIN_MIN;
    if (s_maxwin == 0 || seq_after(pkt->seq, s_maxend) ||        /* I */
        (seq_before(end, s_end - r_maxwin) && r_maxwin != 0) ||  /* II */
        (int32_t)maxackwin < 0)                                   /* IV */
        return 0;

    /* Windows in SYNs are never scaled. */
    const uint32_t win = pkt->win;
    if (s_maxwin < win)
        sender->td_maxwin = win;
    if (seq_after(end, s_end)) {
        sender->td_end = end;
        sender->flags |= CT_TCPF_DATA_UNACKNOWLEDGED;
    }
    if (seq_after(end, s_maxend) && r_maxwin != 0)
        receiver->td_maxwin = r_maxwin + (end - s_maxend);
    if (!seq_before(r_end + win, receiver->td_maxend))
        receiver->td_maxend = r_end + win + (win == 0);
    receiver->flags &= (uint8_t)~CT_TCPF_DATA_UNACKNOWLEDGED;

    t->last_dir_index = (uint8_t)((t->last_dir_index & 0xf0u) | CT_TCP_CLASS_SYN << 1 | CT_DIR_ORIGINAL);
    conn->l4state = CT_TCP_SYN_SENT;
    conn->timeout = (uint8_t)tcp_pick_timeout(cfg, t, CT_TCP_SYN_SENT, CT_TCP_CLASS_SYN);
    return 1;
}

/*
 * The fast path of the SYN/ACK: class SYN/ACK (URG clear, else the flags
 * are invalid) from the reply side in SYN_SENT, before anything was seen
 * from that side (td_maxwin 0), without a SACK option. In the full path
 * the table gives SYN_RECV with no case of the switch; tcp_in_window()
 * initialises the sender from the segment (tcp_init_sender()) and then
 * checks it with td_end = td_maxend = end and td_maxwin = max(win, 1):
 * bound I is seq <= end, II fails only for a receiver td_maxwin of 2^31 or
 * more, and the ACK window is 66000. Of the updates only MAXACK_SET, the
 * receiver's td_maxend and DATA_UNACKNOWLEDGED can change. The checks run
 * on the values the initialisation would write, before it writes them.
 * tcp_finish() then sets no status bit: the old state is SYN_SENT.
 * Returns 0, having written nothing, when a condition does not hold.
 */
static CT_TCP_INLINE int tcp_packet_fast_synack(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                                                const struct ct_pkt *pkt)
{
    struct ct_tcp_conn *t = ct_tcp_of(conn);
    struct ct_tcp_dir *sender = &t->seen[CT_DIR_REPLY];
    struct ct_tcp_dir *receiver = &t->seen[CT_DIR_ORIGINAL];

    if ((pkt->tcp_flags & CT_TCP_URG) || (pkt->tcp_opts & CT_TCPOPT_SACK) || pkt->tcp_hdr_len < 20 ||
        pkt->l4_len < pkt->tcp_hdr_len || sender->td_maxwin != 0)
        return 0;
    const uint32_t end = pkt->seq + (pkt->l4_len - pkt->tcp_hdr_len) + 1u;
    const uint32_t ack = pkt->ack;
    const uint32_t r_end = receiver->td_end;
    if (seq_after(pkt->seq, end) ||                                  /* I */
        (int32_t)receiver->td_maxwin < 0 ||                          /* II */
        seq_after(ack, r_end) ||                                     /* III */
        seq_before(ack, r_end - CT_TCP_MAXACKWIN_MIN))               /* IV */
        return 0;

    const uint32_t win = pkt->win;
    tcp_init_sender(sender, receiver, pkt, end, win, CT_DIR_REPLY);
    sender->flags |= CT_TCPF_MAXACK_SET;
    if (!seq_before(ack + win, receiver->td_maxend))
        receiver->td_maxend = ack + win + (win == 0);
    if (ack == r_end)
        receiver->flags &= (uint8_t)~CT_TCPF_DATA_UNACKNOWLEDGED;

    t->last_dir_index = (uint8_t)((t->last_dir_index & 0xf0u) | CT_TCP_CLASS_SYNACK << 1 | CT_DIR_REPLY);
    conn->l4state = CT_TCP_SYN_RECV;
    conn->timeout = (uint8_t)tcp_pick_timeout(cfg, t, CT_TCP_SYN_RECV, CT_TCP_CLASS_SYNACK);
    return 1;
}

/*
 * The packets of the handshake that have a fast path; every other packet
 * goes to the full path. Kept out of ct_tcp_segment() so that the
 * established case there needs no more registers.
 */
static CT_NOINLINE void tcp_packet_other(const struct ct_proto_cfg *cfg, struct ct_conn *conn,
                                                       enum ct_dir dir, const struct ct_pkt *pkt,
                                                       struct ct_proto_result *res)
{
    const unsigned d = (unsigned)dir & 1u;
    const unsigned state = conn->l4state;
    int done = 0;

    switch (pkt->tcp_flags & (CT_TCP_FIN | CT_TCP_SYN | CT_TCP_RST | CT_TCP_ACK)) {
    case CT_TCP_ACK:
        done = state == CT_TCP_SYN_RECV && d == CT_DIR_ORIGINAL &&
               tcp_packet_fast_ack(cfg, conn, CT_DIR_ORIGINAL, pkt, 1);
        break;
    case CT_TCP_SYN:
        done = state == CT_TCP_NONE && d == CT_DIR_ORIGINAL && tcp_packet_fast_syn(cfg, conn, pkt);
        break;
    case CT_TCP_SYN | CT_TCP_ACK:
        done = state == CT_TCP_SYN_SENT && d == CT_DIR_REPLY && tcp_packet_fast_synack(cfg, conn, pkt);
        break;
    default:
        break;
    }
    if (done) {
        res->action = CT_PROTO_ACCEPT;
        res->reason = CT_REASON_NONE;
        res->pad = 0;
        return;
    }
    ct_tcp_packet_full(cfg, conn, dir, pkt, res);
}

void ct_tcp_segment(const struct ct_proto_cfg *cfg, struct ct_conn *conn, enum ct_dir dir,
                    const struct ct_pkt *pkt, struct ct_proto_result *res)
{
    if (CT_LIKELY(conn->l4state == CT_TCP_ESTABLISHED &&
                  (pkt->tcp_flags & (CT_TCP_FIN | CT_TCP_SYN | CT_TCP_RST | CT_TCP_ACK)) == CT_TCP_ACK &&
                  tcp_packet_fast_ack(cfg, conn, (unsigned)dir & 1u, pkt, 0))) {
        res->action = CT_PROTO_ACCEPT;
        res->reason = CT_REASON_NONE;
        res->pad = 0;
        return;
    }
    tcp_packet_other(cfg, conn, dir, pkt, res);
}

CT_EXPORT const char *ct_tcp_state_name(unsigned state)
{
    static const char *const names[CT_TCP_STATE_COUNT] = {
        "NONE",     "SYN_SENT",  "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
        "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2",
    };
    return state < CT_TCP_STATE_COUNT ? names[state] : "UNKNOWN";
}
