/*
 * Zeek conn.log records from the packets of a connection.
 *
 * This file models, per connection slot, what Zeek's connection log is
 * computed from, as Zeek documents it (Conn::Info in
 * base/protocols/conn/main.zeek; docs.zeek.org "Connection Handling"):
 *
 *   - two TCP endpoints (originator, responder), each in one of Zeek's
 *     endpoint states INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
 *     ESTABLISHED, CLOSED, RESET, moved by the flags each side sends;
 *     conn_state is a function of the two states (and, for RSTOS0, of the
 *     history);
 *   - per endpoint the first, the highest and the highest acknowledged
 *     sequence number in a 64-bit space that survives wrap-around, from
 *     which the payload size is taken (not counting the SYN and FIN
 *     octets), so that retransmissions are not counted twice;
 *   - per endpoint the next in-order byte and a few out-of-order ranges, so
 *     that an acknowledgement for bytes never seen is a content gap
 *     (missed_bytes, history 'G'/'g');
 *   - the history letters: once per direction for A, D, I, Q; again for S,
 *     H, F, R when the sequence number differs from the last one of that
 *     kind; at counts 1, 10, 100, ... for C, G, T, W;
 *   - packet and IP byte counts per direction, and for UDP and ICMP the
 *     payload bytes;
 *   - Zeek's own connection lifetime: inactivity timeouts, the attempt and
 *     close delays, and SYNs that reuse the ports of a finished connection.
 *
 * Nothing here allocates after ct_flowlog_create(); no clock is read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "base/siphash.h"
#include "ctrack/flowlog.h"
#include "ctrack/reason.h"

/* Zeek's TCP endpoint states. */
enum {
    EP_INACTIVE = 0,
    EP_SYN_SENT,
    EP_SYN_ACK_SENT,
    EP_PARTIAL,
    EP_ESTABLISHED,
    EP_CLOSED,
    EP_RESET,
};

/* Scaled history counters (logarithmic letters). */
enum { SC_RXMT = 0, SC_GAP, SC_WIN0, SC_CHK, SC_COUNT };

/* Out-of-order ranges kept per endpoint for gap accounting. */
#define FL_OOO 3

/* History-seen bits per endpoint (the responder's are shifted by 8). */
enum {
    HS_SYN = 1u << 0,
    HS_FIN = 1u << 1,
    HS_RST = 1u << 2,
    HS_DATA = 1u << 3,
    HS_ACK = 1u << 4,
    HS_FIN_RST = 1u << 5,
    HS_MULTI = 1u << 6,
};

/* Sequence numbers below are in a 64-bit space: the first value seen is
   taken as is (below 2^32) and later 32-bit values are placed next to the
   previous one, so wrap-around carries into the upper bits. */
struct fl_ep {
    uint64_t start;      /* StartSeq */
    uint64_t last;       /* LastSeq: highest sequence number sent plus one */
    uint64_t ack;        /* AckSeq: highest acknowledgement received for this side's data */
    uint64_t fin_seq;    /* relative sequence number just past the FIN */
    uint64_t reassem;    /* relative: next in-order byte (Zeek's last_reassem_seq) */
    uint64_t trim;       /* relative: acknowledged up to here (Zeek's trim_seq) */
    uint64_t ooo_lo[FL_OOO], ooo_hi[FL_OOO]; /* relative out-of-order ranges, sorted */
    uint64_t pkts;
    uint64_t ip_bytes;
    uint64_t size;       /* UDP / ICMP payload bytes */
    uint32_t hist_syn, hist_fin, hist_rst; /* relative seq of the last S/H, F, R letter */
    uint32_t sc_cnt[SC_COUNT];
    uint8_t sc_exp[SC_COUNT]; /* next letter at count 10^exp */
    uint8_t state;
    uint8_t prev_state;
    uint8_t fin_cnt;     /* saturating */
    uint8_t rst_cnt;     /* saturating */
    uint8_t did_close;
    uint8_t n_ooo;
    uint8_t seen;        /* a packet was counted (UDP: UDP_ACTIVE) */
};

enum {
    SF_FLIPPED = 1u << 0,       /* Zeek's originator is conntrack's reply side */
    SF_SYNACK_PENDING = 1u << 1, /* began with a SYN-ACK; flip on the next ACK or data */
    SF_PARTIAL = 1u << 2,       /* Zeek's is_partial */
    SF_LONG_INACT = 1u << 3,    /* TCP left the handshake: TCP inactivity timeout applies */
    SF_SEEN_ORIG = 1u << 4,     /* first packet of each side seen (SetPartialStatus) */
    SF_SEEN_RESP = 1u << 5,
    SF_SYN_TIMER = 1u << 6,     /* the attempt timer runs from syn_time */
    SF_CLOSE_TIMER = 1u << 7,   /* the close delay runs to close_at */
};

struct fl_slot {
    struct fl_ep ep[2];  /* [0] Zeek's originator, [1] responder */
    uint64_t ts;         /* first packet */
    uint64_t last;       /* Zeek's last time */
    uint64_t syn_time;   /* the originator's first SYN (attempt timer) */
    uint64_t close_at;   /* end by the close delay */
    uint64_t uid;
    uint64_t parents[CT_FLOW_MAX_PARENTS];
    uint64_t missed;
    struct ct_tuple id;  /* Zeek's conn_id: originator -> responder */
    char history[CT_FLOW_HISTORY_MAX];
    uint16_t hist_seen;
    uint16_t flags;      /* SF_* */
    uint8_t open;
    uint8_t proto;       /* enum ct_zeek_proto */
    uint8_t orig_dir;    /* conntrack direction of Zeek's originator */
    uint8_t hist_len;
    uint8_t n_parents;
    uint8_t ct_state;
    uint8_t l4state;
    uint8_t pad;
};

struct ct_flowlog {
    struct ct_flowlog_config cfg;
    struct fl_slot *slots;
    uint64_t next_uid;
    uint64_t server_ports[2][65536 / 64]; /* [0] TCP, [1] UDP */
    struct ct_subnet local[CT_FLOWLOG_MAX_LOCAL_NETS];
    unsigned n_local;
};

/* ---- defaults -------------------------------------------------------------- */

/*
 * Ports that Zeek's default analyzers register (Analyzer::register_for_ports
 * in base/protocols/ and the tunnel analyzers), which make up its
 * likely_server_ports. docs/flowlog.md lists them.
 */
static const uint16_t default_tcp_ports[] = {
    21,   22,   23,   25,   53,   80,   81,   88,   110,  135,  139,  143,  389,  443,
    445,  502,  563,  585,  587,  614,  631,  636,  750,  989,  990,  992,  993,  995,
    1080, 1434, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6666, 6667, 6668,
    6669, 8000, 8080, 8888, 20000,
};
static const uint16_t default_udp_ports[] = {
    53,  67,  68,   88,   123,  137,  161,  162,  389,  443,  500,  514,
    750, 1812, 2123, 2152, 3544, 4500, 4789, 5060, 5072, 5353, 5355, 6081, 20000,
};

/*
 * Zeek's Site::private_address_space (which Site::local_nets includes by
 * default): the blocks of the IANA IPv4 and IPv6 special-purpose address
 * registries that are not globally routable, the local network control
 * block 224.0.0.0/24 and the administratively scoped 239.0.0.0/8, each IPv4
 * block also as its 6to4 prefix.
 */
struct net_text {
    uint8_t l3;
    uint8_t prefix;
    uint8_t b[16];
};
static const struct net_text default_local[] = {
    {4, 8, {0, 0, 0, 0}},          {6, 24, {0x20, 0x02, 0x00}},
    {4, 8, {10, 0, 0, 0}},         {6, 24, {0x20, 0x02, 0x0a}},
    {4, 10, {100, 64, 0, 0}},      {6, 26, {0x20, 0x02, 0x64, 0x40}},
    {4, 8, {127, 0, 0, 0}},        {6, 24, {0x20, 0x02, 0x7f}},
    {4, 16, {169, 254, 0, 0}},     {6, 32, {0x20, 0x02, 0xa9, 0xfe}},
    {4, 12, {172, 16, 0, 0}},      {6, 28, {0x20, 0x02, 0xac, 0x10}},
    {4, 24, {192, 0, 0, 0}},       {6, 40, {0x20, 0x02, 0xc0, 0x00, 0x00}},
    {4, 24, {192, 0, 2, 0}},       {6, 40, {0x20, 0x02, 0xc0, 0x00, 0x02}},
    {4, 16, {192, 168, 0, 0}},     {6, 32, {0x20, 0x02, 0xc0, 0xa8}},
    {4, 15, {198, 18, 0, 0}},      {6, 31, {0x20, 0x02, 0xc6, 0x12}},
    {4, 24, {198, 51, 100, 0}},    {6, 40, {0x20, 0x02, 0xc6, 0x33, 0x64}},
    {4, 24, {203, 0, 113, 0}},     {6, 40, {0x20, 0x02, 0xcb, 0x00, 0x71}},
    {4, 24, {224, 0, 0, 0}},       {6, 40, {0x20, 0x02, 0xe0, 0x00, 0x00}},
    {4, 8, {239, 0, 0, 0}},        {6, 24, {0x20, 0x02, 0xef}},
    {4, 4, {240, 0, 0, 0}},        {6, 20, {0x20, 0x02, 0xf0}},
    {4, 32, {255, 255, 255, 255}}, {6, 48, {0x20, 0x02, 0xff, 0xff, 0xff, 0xff}},
    {6, 128, {0}},                                         /* :: */
    {6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}, /* ::1 */
    {6, 48, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}},        /* 64:ff9b:1::/48 */
    {6, 64, {0x01, 0x00}},                                 /* 100::/64 */
    {6, 23, {0x20, 0x01, 0x00}},                           /* 2001::/23 */
    {6, 48, {0x20, 0x01, 0x00, 0x02, 0x00, 0x00}},        /* 2001:2::/48 */
    {6, 32, {0x20, 0x01, 0x0d, 0xb8}},                     /* 2001:db8::/32 */
    {6, 7, {0xfc}},                                        /* fc00::/7 */
    {6, 10, {0xfe, 0x80}},                                 /* fe80::/10 */
    {6, 10, {0xfe, 0xc0}},                                 /* fec0::/10 */
};

/* ---- configuration ----------------------------------------------------------- */

CT_EXPORT void ct_flowlog_config_init(struct ct_flowlog_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->capacity = 65536;
    cfg->tcp_inactivity_ms = 300000;
    cfg->udp_inactivity_ms = 60000;
    cfg->icmp_inactivity_ms = 60000;
    cfg->tcp_attempt_ms = 5000;
    cfg->tcp_close_ms = 5000;
    cfg->dns_session_ms = 10000;
}

static void set_port(struct ct_flowlog *fl, unsigned which, uint16_t port, int on)
{
    uint64_t bit = 1ull << (port & 63);
    if (on)
        fl->server_ports[which][port >> 6] |= bit;
    else
        fl->server_ports[which][port >> 6] &= ~bit;
}

static int server_port(const struct ct_flowlog *fl, unsigned which, uint16_t port)
{
    return (fl->server_ports[which][port >> 6] >> (port & 63)) & 1;
}

CT_EXPORT struct ct_flowlog *ct_flowlog_create(const struct ct_flowlog_config *cfg, int *err)
{
    int e = -EINVAL;
    struct ct_flowlog *fl = NULL;
    if (!cfg || cfg->capacity == 0 || cfg->capacity > (1u << 30) ||
        (cfg->flags & ~(uint32_t)CT_FLOWLOG_F_ALL) ||
        (cfg->dns_session_ms && cfg->dns_session_ms <= 1000))
        goto fail;
    for (unsigned i = 0; i < CT_ARRAY_SIZE(cfg->reserved8); i++)
        if (cfg->reserved8[i])
            goto fail;
    for (unsigned i = 0; i < CT_ARRAY_SIZE(cfg->reserved); i++)
        if (cfg->reserved[i])
            goto fail;
    if (!cfg->tcp_inactivity_ms || !cfg->udp_inactivity_ms || !cfg->icmp_inactivity_ms ||
        !cfg->tcp_attempt_ms || !cfg->tcp_close_ms)
        goto fail;

    e = -ENOMEM;
    fl = calloc(1, sizeof(*fl));
    if (!fl)
        goto fail;
    fl->slots = calloc(cfg->capacity, sizeof(*fl->slots));
    if (!fl->slots)
        goto fail;
    fl->cfg = *cfg;
    if (!(cfg->flags & CT_FLOWLOG_F_NO_SERVER_PORTS)) {
        for (unsigned i = 0; i < CT_ARRAY_SIZE(default_tcp_ports); i++)
            set_port(fl, 0, default_tcp_ports[i], 1);
        for (unsigned i = 0; i < CT_ARRAY_SIZE(default_udp_ports); i++)
            set_port(fl, 1, default_udp_ports[i], 1);
    }
    if (!(cfg->flags & CT_FLOWLOG_F_NO_LOCAL_NETS)) {
        for (unsigned i = 0; i < CT_ARRAY_SIZE(default_local); i++) {
            struct ct_subnet *s = &fl->local[i];
            s->l3 = default_local[i].l3 == 4 ? CT_L3_IPV4 : CT_L3_IPV6;
            s->prefix = default_local[i].prefix;
            memcpy(s->addr.b, default_local[i].b, 16);
        }
        fl->n_local = CT_ARRAY_SIZE(default_local);
    }
    return fl;

fail:
    if (fl)
        free(fl->slots);
    free(fl);
    if (err)
        *err = e;
    return NULL;
}

CT_EXPORT void ct_flowlog_destroy(struct ct_flowlog *fl)
{
    if (!fl)
        return;
    free(fl->slots);
    free(fl);
}

CT_EXPORT int ct_flowlog_set_server_port(struct ct_flowlog *fl, uint8_t proto, uint16_t port,
                                         int on)
{
    if (!fl || (proto != CT_IPPROTO_TCP && proto != CT_IPPROTO_UDP))
        return -EINVAL;
    set_port(fl, proto == CT_IPPROTO_TCP ? 0 : 1, port, on);
    return 0;
}

CT_EXPORT int ct_flowlog_set_local_nets(struct ct_flowlog *fl, const struct ct_subnet *nets,
                                        unsigned n)
{
    if (!fl || n > CT_FLOWLOG_MAX_LOCAL_NETS || (n && !nets))
        return -EINVAL;
    for (unsigned i = 0; i < n; i++) {
        if (nets[i].l3 == CT_L3_IPV4 ? nets[i].prefix > 32
                                     : (nets[i].l3 != CT_L3_IPV6 || nets[i].prefix > 128))
            return -EINVAL;
    }
    if (n)
        memcpy(fl->local, nets, n * sizeof(*nets));
    fl->n_local = n;
    return 0;
}

static int in_subnet(const struct ct_subnet *s, uint8_t l3, const union ct_addr *a)
{
    if (s->l3 != l3)
        return 0;
    unsigned full = s->prefix / 8, rest = s->prefix % 8;
    if (memcmp(s->addr.b, a->b, full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((s->addr.b[full] & mask) != (a->b[full] & mask))
            return 0;
    }
    return 1;
}

static uint8_t is_local(const struct ct_flowlog *fl, uint8_t l3, const union ct_addr *a)
{
    if (!fl->n_local)
        return CT_FLOW_UNSET;
    for (unsigned i = 0; i < fl->n_local; i++)
        if (in_subnet(&fl->local[i], l3, a))
            return CT_FLOW_T;
    return CT_FLOW_F;
}

/* ---- history -------------------------------------------------------------- */

static void add_history(struct fl_slot *s, char c)
{
    if (s->hist_len + 1 < CT_FLOW_HISTORY_MAX) {
        s->history[s->hist_len++] = c;
        s->history[s->hist_len] = '\0';
    }
}

static char dir_letter(int is_orig, char upper)
{
    return is_orig ? upper : (char)(upper - 'A' + 'a');
}

/* Records `code` the first time the bit is seen for this side; returns 1 if
   it had been seen before (Zeek's CheckHistory). */
static int check_history(struct fl_slot *s, int is_orig, unsigned bit, char code)
{
    uint16_t mask = (uint16_t)(is_orig ? bit : bit << 8);
    if (s->hist_seen & mask)
        return 1;
    s->hist_seen |= mask;
    add_history(s, dir_letter(is_orig, code));
    return 0;
}

/* The logarithmic letters: at counts 1, 10, 100, ... */
static void scaled_history(struct fl_slot *s, int is_orig, unsigned which, char code)
{
    struct fl_ep *e = &s->ep[is_orig ? 0 : 1];
    uint32_t cnt = ++e->sc_cnt[which];
    uint64_t thresh = 1;
    for (unsigned i = 0; i < e->sc_exp[which]; i++)
        thresh *= 10;
    if (cnt == thresh) {
        add_history(s, dir_letter(is_orig, code));
        if (thresh * 10 <= UINT32_MAX)
            e->sc_exp[which]++;
        else
            e->sc_cnt[which] = 0;
    }
}

/* ---- sequence space -------------------------------------------------------- */

/* The 64-bit value of the 32-bit `v` nearest to `ref`. */
static uint64_t unwrap(uint64_t ref, uint32_t v)
{
    return ref + (uint64_t)(int64_t)(int32_t)(v - (uint32_t)ref);
}

static int is_handshake(uint8_t st)
{
    return st == EP_INACTIVE || st == EP_SYN_SENT || st == EP_SYN_ACK_SENT;
}

static void set_state(struct fl_slot *s, struct fl_ep *e, uint8_t st)
{
    if (st == e->state)
        return;
    struct fl_ep *peer = (e == &s->ep[0]) ? &s->ep[1] : &s->ep[0];
    if (!is_handshake(st) && is_handshake(e->state) && is_handshake(peer->state))
        s->flags |= SF_LONG_INACT;
    e->prev_state = e->state;
    e->state = st;
}

static void init_seq(struct fl_ep *e, uint32_t start, uint32_t last)
{
    e->start = start;
    e->ack = start;
    e->last = unwrap(start, last);
}

/* Size of an endpoint's payload from its sequence numbers. */
static uint64_t ep_size(const struct fl_ep *e, const struct fl_ep *peer)
{
    if (e->prev_state == EP_SYN_SENT && e->state == EP_RESET && peer->state == EP_INACTIVE &&
        !(e->ack == e->start || e->ack == e->start + 1))
        return 0;
    uint64_t top = e->last > e->ack ? e->last : e->ack;
    uint64_t size = top > e->start ? top - e->start : 0;
    if (size)
        size--;
    if (e->fin_cnt && size)
        size--;
    return size;
}

/* ---- content gaps ------------------------------------------------------------ */

static int is_clean(const struct fl_ep *e)
{
    return e->state == EP_ESTABLISHED || (e->state == EP_CLOSED && e->prev_state == EP_ESTABLISHED);
}

static void gap(struct ct_flowlog *fl, struct fl_slot *s, int is_orig, uint64_t len)
{
    const struct fl_ep *e = &s->ep[is_orig ? 0 : 1], *p = &s->ep[is_orig ? 1 : 0];
    int clean = is_clean(e) && is_clean(p);
    if (clean)
        scaled_history(s, is_orig, SC_GAP, 'G');
    if (clean || (fl->cfg.flags & CT_FLOWLOG_F_REPORT_GAPS_FOR_PARTIAL))
        s->missed += len;
}

static void ooo_remove(struct fl_ep *e, unsigned i)
{
    for (unsigned j = i + 1; j < e->n_ooo; j++) {
        e->ooo_lo[j - 1] = e->ooo_lo[j];
        e->ooo_hi[j - 1] = e->ooo_hi[j];
    }
    e->n_ooo--;
}

/* Delivers buffered ranges that now continue the in-order data. */
static void ooo_drain(struct fl_ep *e)
{
    while (e->n_ooo && e->ooo_lo[0] <= e->reassem) {
        if (e->ooo_hi[0] > e->reassem)
            e->reassem = e->ooo_hi[0];
        ooo_remove(e, 0);
    }
}

/* Buffers [lo, hi) above the in-order data, merging overlaps. When all
   ranges are in use, the range is merged into its nearest neighbour (the
   bytes between them then count as seen). */
static void ooo_add(struct fl_ep *e, uint64_t lo, uint64_t hi)
{
    unsigned i = 0;
    while (i < e->n_ooo && e->ooo_hi[i] < lo)
        i++;
    if (i < e->n_ooo && e->ooo_lo[i] <= hi) {
        /* Overlaps or touches range i (and maybe the following ones). */
        if (lo < e->ooo_lo[i])
            e->ooo_lo[i] = lo;
        if (hi > e->ooo_hi[i])
            e->ooo_hi[i] = hi;
        while (i + 1 < e->n_ooo && e->ooo_lo[i + 1] <= e->ooo_hi[i]) {
            if (e->ooo_hi[i + 1] > e->ooo_hi[i])
                e->ooo_hi[i] = e->ooo_hi[i + 1];
            ooo_remove(e, i + 1);
        }
        return;
    }
    if (e->n_ooo == FL_OOO) {
        if (i == FL_OOO)
            i--;
        if (lo < e->ooo_lo[i])
            e->ooo_lo[i] = lo;
        if (hi > e->ooo_hi[i])
            e->ooo_hi[i] = hi;
        return;
    }
    for (unsigned j = e->n_ooo; j > i; j--) {
        e->ooo_lo[j] = e->ooo_lo[j - 1];
        e->ooo_hi[j] = e->ooo_hi[j - 1];
    }
    e->ooo_lo[i] = lo;
    e->ooo_hi[i] = hi;
    e->n_ooo++;
}

/* Payload [seq, seq + len) of endpoint `is_orig` seen in full (Zeek's DataSent). */
static void data_sent(struct fl_slot *s, int is_orig, uint64_t seq, uint64_t len)
{
    struct fl_ep *e = &s->ep[is_orig ? 0 : 1];
    const struct fl_ep *p = &s->ep[is_orig ? 1 : 0];
    uint64_t ack = e->ack - e->start, hi = seq + len;
    if (seq < ack) {
        if (hi <= ack)
            return; /* already acknowledged */
        seq = ack;
    }
    if (hi <= e->trim)
        return;
    if (seq < e->trim)
        seq = e->trim;
    if (seq <= e->reassem) {
        if (hi > e->reassem) {
            e->reassem = hi;
            ooo_drain(e);
        }
    } else {
        ooo_add(e, seq, hi);
    }
    /* Much data and no acknowledgement at all: Zeek stops holding it. */
    if ((e->ack == e->start || e->ack == e->start + 1) && ep_size(e, p) > 16384 &&
        e->trim < e->reassem)
        e->trim = e->reassem;
}

/* The peer acknowledged endpoint `is_orig`'s data up to relative `seq`
   (Zeek's AckReceived and Undelivered). */
static void ack_received(struct ct_flowlog *fl, struct fl_slot *s, int is_orig, uint64_t seq)
{
    struct fl_ep *e = &s->ep[is_orig ? 0 : 1];
    if (e->fin_cnt && seq >= e->fin_seq)
        seq = e->fin_seq - 1;
    if (seq <= e->trim)
        return;
    if (seq > e->reassem) {
        if (!(seq <= 2 && (s->flags & SF_PARTIAL))) {
            while (e->n_ooo && e->ooo_lo[0] < seq) {
                if (e->ooo_lo[0] > e->reassem) {
                    gap(fl, s, is_orig, e->ooo_lo[0] - e->reassem);
                    e->reassem = e->ooo_lo[0];
                }
                ooo_drain(e);
            }
            if (seq > e->reassem) {
                gap(fl, s, is_orig, seq - e->reassem);
                e->reassem = seq;
            }
        }
    }
    e->trim = seq;
    while (e->n_ooo && e->ooo_hi[0] <= seq)
        ooo_remove(e, 0);
}

/* ---- the TCP state machine -------------------------------------------------------- */

/* Zeek's UpdateStateMachine: moves the sender's state; returns whether the
   packet closes the sender's side (do_close). */
static int tcp_state(struct fl_slot *s, int is_orig, uint8_t fl_, uint32_t base, uint32_t ackno,
                     uint64_t len)
{
    struct fl_ep *e = &s->ep[is_orig ? 0 : 1], *p = &s->ep[is_orig ? 1 : 0];
    int syn = fl_ & CT_TCP_SYN, fin = fl_ & CT_TCP_FIN, rst = fl_ & CT_TCP_RST,
        ack = fl_ & CT_TCP_ACK;
    int do_close = 0;
    (void)ackno;

    switch (e->state) {
    case EP_INACTIVE:
        if (syn) {
            if (is_orig) {
                set_state(s, e, ack ? EP_SYN_ACK_SENT : EP_SYN_SENT);
                if (!(s->flags & SF_SYN_TIMER)) {
                    s->flags |= SF_SYN_TIMER;
                    s->syn_time = s->last;
                }
            } else {
                if (!ack && p->state == EP_SYN_ACK_SENT && (uint32_t)e->start == base) {
                    /* A SYN answering a SYN-ACK: the two were seen in the
                       wrong order. Zeek flips the roles here; the caller
                       does it after this packet. */
                    s->flags |= SF_SYNACK_PENDING;
                }
                if (p->state == EP_SYN_SENT)
                    set_state(s, p, EP_ESTABLISHED);
                set_state(s, e, EP_ESTABLISHED);
            }
        }
        if (fin) {
            set_state(s, e, EP_CLOSED);
            do_close = 1;
        }
        if (rst) {
            set_state(s, e, EP_RESET);
            do_close = 1;
        }
        if (e->state == EP_INACTIVE) {
            if (!is_orig && len == 0 && s->ep[0].state == EP_SYN_SENT) {
                /* An ACK of the SYN before the SYN-ACK: not a partial connection. */
            } else if (ack && p->state == EP_ESTABLISHED) {
                set_state(s, e, EP_ESTABLISHED);
                s->flags &= (uint16_t)~SF_PARTIAL;
            } else {
                set_state(s, e, EP_PARTIAL);
            }
        }
        break;

    case EP_SYN_SENT:
    case EP_SYN_ACK_SENT:
        if (fin) {
            set_state(s, e, EP_CLOSED);
            do_close = 1;
        }
        if (rst) {
            set_state(s, e, EP_RESET);
            do_close = 1;
        }
        break;

    case EP_PARTIAL:
    case EP_ESTABLISHED:
        if (syn && e->state == EP_PARTIAL && p->state == EP_INACTIVE && !ack)
            set_state(s, e, EP_SYN_SENT);
        if (fin && !rst) {
            set_state(s, e, EP_CLOSED);
            if (p->state == EP_RESET && p->prev_state == EP_CLOSED)
                set_state(s, p, EP_CLOSED);
            do_close = 1;
        }
        if (rst) {
            set_state(s, e, EP_RESET);
            do_close = 1;
        }
        break;

    case EP_CLOSED:
        if (rst && p->state != EP_CLOSED) {
            set_state(s, e, EP_RESET);
            if (!e->did_close)
                do_close = 1;
        }
        break;

    default: /* EP_RESET: nothing changes */
        break;
    }
    return do_close;
}

static void connection_closed(struct ct_flowlog *fl, struct fl_slot *s, int is_orig)
{
    struct fl_ep *e = &s->ep[is_orig ? 0 : 1], *p = &s->ep[is_orig ? 1 : 0];
    if (e->did_close)
        return;
    e->did_close = 1;
    if (e->state == EP_RESET || p->did_close || p->state == EP_INACTIVE) {
        s->flags |= SF_CLOSE_TIMER;
        s->close_at = s->last + (uint64_t)fl->cfg.tcp_close_ms * 1000000ull;
    }
}

/* Swaps Zeek's originator and responder (connection flipping). */
static void flip(struct fl_slot *s, int rewrite_history)
{
    struct fl_ep tmp = s->ep[0];
    s->ep[0] = s->ep[1];
    s->ep[1] = tmp;
    s->hist_seen = (uint16_t)((s->hist_seen >> 8) | (s->hist_seen << 8));
    s->orig_dir ^= 1;
    s->flags ^= SF_FLIPPED;
    uint16_t seen = s->flags & (SF_SEEN_ORIG | SF_SEEN_RESP);
    s->flags &= (uint16_t)~(SF_SEEN_ORIG | SF_SEEN_RESP);
    if (seen & SF_SEEN_ORIG)
        s->flags |= SF_SEEN_RESP;
    if (seen & SF_SEEN_RESP)
        s->flags |= SF_SEEN_ORIG;
    union ct_addr a = s->id.src;
    s->id.src = s->id.dst;
    s->id.dst = a;
    uint16_t port = s->id.sport;
    s->id.sport = s->id.dport;
    s->id.dport = port;
    if (rewrite_history) {
        /* The letters so far are re-read from the other side, as though
           the roles had been right from the first packet. */
        char h[CT_FLOW_HISTORY_MAX];
        unsigned n = 0;
        h[n++] = '^';
        for (unsigned i = 0; i < s->hist_len && n + 1 < CT_FLOW_HISTORY_MAX; i++) {
            char c = s->history[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            else if (c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            h[n++] = c;
        }
        h[n] = '\0';
        memcpy(s->history, h, n + 1);
        s->hist_len = (uint8_t)n;
    } else {
        add_history(s, '^');
    }
}

/* Zeek's TCP packet processing for the sender `is_orig`. */
static void tcp_packet(struct ct_flowlog *fl, struct fl_slot *s, int is_orig,
                       const struct ct_pkt *pkt, uint64_t now)
{
    uint8_t f = pkt->tcp_flags;
    int syn = f & CT_TCP_SYN, fin = f & CT_TCP_FIN, rst = f & CT_TCP_RST, ack = f & CT_TCP_ACK;
    uint64_t len = pkt->l4_len > pkt->tcp_hdr_len ? pkt->l4_len - pkt->tcp_hdr_len : 0;
    uint32_t base = pkt->seq, ackno = pkt->ack;

    /* A record that began with a SYN-ACK flips on the next ACK or data. */
    if ((s->flags & SF_SYNACK_PENDING) && !syn && !rst && (ack || len)) {
        s->flags &= (uint16_t)~SF_SYNACK_PENDING;
        if (s->ep[0].state == EP_SYN_ACK_SENT && s->ep[1].state == EP_INACTIVE) {
            flip(s, 1);
            s->flags &= (uint16_t)~SF_PARTIAL;
            s->ep[1].prev_state = EP_INACTIVE;
            s->ep[1].state = EP_ESTABLISHED;
            s->flags |= SF_LONG_INACT;
            is_orig = !is_orig;
        }
    }

    struct fl_ep *e = &s->ep[is_orig ? 0 : 1], *p = &s->ep[is_orig ? 1 : 0];

    /* Zeek's is_partial: set from each side's first packet. */
    if (is_orig && !(s->flags & SF_SEEN_ORIG)) {
        if (!syn || ack)
            s->flags |= SF_PARTIAL;
        else
            s->flags &= (uint16_t)~SF_PARTIAL;
    } else if (!is_orig && !(s->flags & SF_SEEN_RESP) && !(s->flags & SF_PARTIAL) && !syn) {
        s->flags |= SF_PARTIAL;
    }

    uint64_t seg = len + (syn ? 1 : 0) + (fin ? 1 : 0);
    if (rst)
        seg -= len;
    uint32_t end32 = base + (uint32_t)seg;

    /* init_endpoint */
    switch (e->state) {
    case EP_INACTIVE:
        if (syn)
            init_seq(e, base, end32);
        else
            init_seq(e, base - 1, base);
        break;
    case EP_SYN_SENT:
    case EP_SYN_ACK_SENT:
    case EP_ESTABLISHED:
    case EP_PARTIAL:
        if (syn && (e->state == EP_ESTABLISHED || e->state == EP_PARTIAL ||
                    base != (uint32_t)e->start))
            init_seq(e, base, end32);
        break;
    case EP_RESET:
        if (syn && e->prev_state == EP_INACTIVE)
            init_seq(e, base, end32);
        break;
    default:
        break;
    }

    uint64_t full = unwrap(e->last, base);
    int underflow = full < e->start;
    uint64_t rel = full - e->start;

    /* History letters. */
    int bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
    if (bits > 1) {
        if (fin && rst)
            check_history(s, is_orig, HS_FIN_RST, 'I');
        else
            check_history(s, is_orig, HS_MULTI, 'Q');
    } else if (bits == 1) {
        if (syn) {
            char code = ack ? 'H' : 'S';
            if (check_history(s, is_orig, HS_SYN, code) && (uint32_t)rel != e->hist_syn)
                add_history(s, dir_letter(is_orig, code));
            e->hist_syn = (uint32_t)rel;
        }
        if (fin) {
            if (check_history(s, is_orig, HS_FIN, 'F') && (uint32_t)(rel + len) != e->hist_fin)
                add_history(s, dir_letter(is_orig, 'F'));
            e->hist_fin = (uint32_t)(rel + len);
        }
        if (rst) {
            if (check_history(s, is_orig, HS_RST, 'R') && (uint32_t)rel != e->hist_rst)
                add_history(s, dir_letter(is_orig, 'R'));
            e->hist_rst = (uint32_t)rel;
        }
    } else if (len) {
        check_history(s, is_orig, HS_DATA, 'D');
    } else if (ack) {
        check_history(s, is_orig, HS_ACK, 'A');
    }

    /* A zero window, unless it comes with or after a RST or after the peer's FIN. */
    if (pkt->win == 0 && !rst && p->state != EP_CLOSED && e->state != EP_RESET)
        scaled_history(s, is_orig, SC_WIN0, 'W');

    if (!s->ep[0].did_close || !s->ep[1].did_close)
        s->last = now;

    if (fin) {
        if (e->fin_cnt < 255)
            e->fin_cnt++;
        e->fin_seq = rel + seg;
    }
    if (rst && e->rst_cnt < 255)
        e->rst_cnt++;

    uint64_t rel_ack = 0;
    if (ack) {
        if (p->state == EP_INACTIVE) {
            rel_ack = 1;
            init_seq(p, ackno - 1, ackno - 1);
        } else {
            uint64_t afull = unwrap(p->ack, ackno);
            if (afull < p->start) {
                rel_ack = 0;
            } else {
                rel_ack = afull - p->start;
                if (!rst) {
                    int32_t d = (int32_t)(ackno - (uint32_t)p->ack);
                    if (!(ackno == 0 && d > 1048576) && d > 0)
                        p->ack = afull;
                }
            }
        }
    }

    /* update_last_seq, with retransmissions ('T'). */
    int32_t delta = (int32_t)(end32 - (uint32_t)e->last);
    if ((syn || rst) && (delta > 1048576 || delta < -1048576)) {
        /* implausible jump in a SYN or RST: not trusted */
    } else if (fin && e->last == e->start + 1) {
        e->last = unwrap(e->last, end32);
    } else if (e->state == EP_RESET) {
        /* nothing after a RST is trusted */
    } else if (delta > 0) {
        e->last = unwrap(e->last, end32);
    } else if (len > 0) {
        scaled_history(s, is_orig, SC_RXMT, 'T');
    }

    int do_close = tcp_state(s, is_orig, f, base, ackno, len);

    if (ack)
        ack_received(fl, s, !is_orig, rel_ack);

    s->flags |= is_orig ? SF_SEEN_ORIG : SF_SEEN_RESP;

    if (len && !rst && !underflow && pkt->payload_len >= len)
        data_sent(s, is_orig, syn ? rel + 1 : rel, len);

    if (do_close)
        connection_closed(fl, s, is_orig);

    /* A SYN answering a SYN-ACK (seen in the wrong order): flip now. */
    if ((s->flags & SF_SYNACK_PENDING) && syn && !ack && !is_orig) {
        s->flags &= (uint16_t)~SF_SYNACK_PENDING;
        flip(s, 0);
        s->flags &= (uint16_t)~SF_PARTIAL;
        set_state(s, &s->ep[1], EP_ESTABLISHED);
    }
}

/* ---- records ---------------------------------------------------------------- */

/* Zeek's conn_state() over the endpoint states. */
static uint8_t conn_state(const struct fl_slot *s)
{
    if (s->proto == CT_ZEEK_PROTO_UDP) {
        if (s->ep[0].seen)
            return s->ep[1].seen ? CT_ZEEK_SF : CT_ZEEK_S0;
        return s->ep[1].seen ? CT_ZEEK_SHR : CT_ZEEK_OTH;
    }
    if (s->proto != CT_ZEEK_PROTO_TCP)
        return CT_ZEEK_OTH;
    uint8_t os = s->ep[0].state, rs = s->ep[1].state;
    int o_inactive = os == EP_INACTIVE || os == EP_PARTIAL;
    int r_inactive = rs == EP_INACTIVE || rs == EP_PARTIAL;
    if (rs == EP_RESET) {
        if (os == EP_SYN_SENT || os == EP_SYN_ACK_SENT ||
            (os == EP_RESET && ep_size(&s->ep[0], &s->ep[1]) == 0 &&
             ep_size(&s->ep[1], &s->ep[0]) == 0))
            return CT_ZEEK_REJ;
        return o_inactive ? CT_ZEEK_RSTRH : CT_ZEEK_RSTR;
    }
    if (os == EP_RESET) {
        if (r_inactive) {
            /* History matching ^?S[^HAFGIQ]*R.* */
            const char *h = s->history;
            if (*h == '^')
                h++;
            if (*h == 'S') {
                for (h++; *h; h++) {
                    if (*h == 'R')
                        return CT_ZEEK_RSTOS0;
                    if (strchr("HAFGIQ", *h))
                        break;
                }
            }
            return CT_ZEEK_OTH;
        }
        return CT_ZEEK_RSTO;
    }
    if (rs == EP_CLOSED && os == EP_CLOSED)
        return CT_ZEEK_SF;
    if (os == EP_CLOSED)
        return r_inactive ? CT_ZEEK_SH : CT_ZEEK_S2;
    if (rs == EP_CLOSED)
        return o_inactive ? CT_ZEEK_SHR : CT_ZEEK_S3;
    if (os == EP_SYN_SENT && rs == EP_INACTIVE)
        return CT_ZEEK_S0;
    if (os == EP_ESTABLISHED && rs == EP_ESTABLISHED)
        return CT_ZEEK_S1;
    return CT_ZEEK_OTH;
}

static void format_uid(uint64_t v, char *out)
{
    static const char digits[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char tmp[16];
    unsigned n = 0;
    do {
        tmp[n++] = digits[v % 62];
        v /= 62;
    } while (v);
    out[0] = 'C';
    for (unsigned i = 0; i < n; i++)
        out[1 + i] = tmp[n - 1 - i];
    out[1 + n] = '\0';
}

static void fill_record(const struct ct_flowlog *fl, const struct fl_slot *s,
                        struct ct_flow_record *r)
{
    memset(r, 0, sizeof(*r));
    r->ts = s->ts;
    r->last = s->last;
    format_uid(s->uid, r->uid);
    r->id = s->id;
    r->proto = s->proto;
    r->ip_proto = s->id.proto;
    r->conn_state = conn_state(s);
    r->local_orig = is_local(fl, s->id.l3, &s->id.src);
    r->local_resp = is_local(fl, s->id.l3, &s->id.dst);
    r->has_duration = s->last > s->ts;
    r->flipped = (s->flags & SF_FLIPPED) != 0;
    if (s->proto == CT_ZEEK_PROTO_TCP) {
        r->orig_bytes = ep_size(&s->ep[0], &s->ep[1]);
        r->resp_bytes = ep_size(&s->ep[1], &s->ep[0]);
    } else {
        r->orig_bytes = s->ep[0].size;
        r->resp_bytes = s->ep[1].size;
    }
    r->missed_bytes = s->missed;
    r->orig_pkts = s->ep[0].pkts;
    r->orig_ip_bytes = s->ep[0].ip_bytes;
    r->resp_pkts = s->ep[1].pkts;
    r->resp_ip_bytes = s->ep[1].ip_bytes;
    memcpy(r->history, s->history, sizeof(r->history));
    r->n_parents = s->n_parents;
    for (unsigned i = 0; i < s->n_parents; i++)
        format_uid(s->parents[i], r->parents[i]);
    /* The Community ID of Zeek's conn_id: for ICMP the conn_id holds the
       type and counterpart-or-code; the hash wants (type << 8 | code). */
    struct ct_tuple t = s->id;
    if (s->proto == CT_ZEEK_PROTO_ICMP)
        t.dport = (uint16_t)(s->id.sport << 8 | (s->id.dport & 0xff));
    if (!(fl->cfg.flags & CT_FLOWLOG_F_NO_COMMUNITY_ID))
        ct_community_id_v1(&t, fl->cfg.community_id_seed, 0, r->community_id,
                           sizeof(r->community_id));
    r->ct_state = s->ct_state;
    r->l4state = s->l4state;
    r->zone[0] = r->zone[1] = s->id.zone;
}

static struct fl_slot *get_slot(struct ct_flowlog *fl, uint32_t slot)
{
    return (fl && slot < fl->cfg.capacity) ? &fl->slots[slot] : NULL;
}

/* When the record ends under Zeek's timers; *why gets the reason. */
static uint64_t slot_deadline(const struct ct_flowlog *fl, const struct fl_slot *s, uint8_t *why)
{
    if (why)
        *why = CT_FLOW_END_IDLE;
    if (!s->open || (fl->cfg.flags & CT_FLOWLOG_F_NO_ZEEK_TIMERS))
        return UINT64_MAX;
    uint32_t ms;
    if (s->proto == CT_ZEEK_PROTO_TCP)
        ms = (s->flags & SF_LONG_INACT) ? fl->cfg.tcp_inactivity_ms : fl->cfg.udp_inactivity_ms;
    else if (s->proto == CT_ZEEK_PROTO_UDP)
        ms = fl->cfg.udp_inactivity_ms;
    else
        ms = fl->cfg.icmp_inactivity_ms;
    uint64_t d = s->last + (uint64_t)ms * 1000000ull;
    uint8_t r = CT_FLOW_END_IDLE;
    if (s->proto == CT_ZEEK_PROTO_TCP) {
        if ((s->flags & SF_SYN_TIMER) &&
            (s->ep[0].state == EP_SYN_SENT || s->ep[0].state == EP_SYN_ACK_SENT) &&
            s->ep[1].state == EP_INACTIVE) {
            uint64_t a = s->syn_time + (uint64_t)fl->cfg.tcp_attempt_ms * 1000000ull;
            if (a < d) {
                d = a;
                r = CT_FLOW_END_ATTEMPT;
            }
        }
        if ((s->flags & SF_CLOSE_TIMER) && s->close_at < d) {
            d = s->close_at;
            r = CT_FLOW_END_CLOSED;
        }
    }
    if (s->proto == CT_ZEEK_PROTO_UDP && fl->cfg.dns_session_ms &&
        (s->id.dport == 53 || s->id.dport == 137 || s->id.dport == 5353 || s->id.dport == 5355)) {
        /* Zeek's DNS analyzer checks every dns_session_timeout from the
           start and removes the connection once it has been idle for
           dns_session_timeout less one second. */
        uint64_t period = (uint64_t)fl->cfg.dns_session_ms * 1000000ull;
        uint64_t idle = period - 1000000000ull;
        uint64_t want = s->last + idle, k = 1;
        if (want > s->ts)
            k = (want - s->ts + period - 1) / period;
        if (k == 0)
            k = 1;
        uint64_t t = s->ts + k * period;
        if (t < d) {
            d = t;
            r = CT_FLOW_END_IDLE;
        }
    }
    if (why)
        *why = r;
    return d;
}

/* Would this packet start a new connection in Zeek (IsReuse)? */
static int is_reuse(const struct fl_slot *s, int is_orig, const struct ct_pkt *pkt)
{
    uint8_t f = pkt->tcp_flags;
    if (s->proto != CT_ZEEK_PROTO_TCP || !(f & CT_TCP_SYN))
        return 0;
    const struct fl_ep *conn_orig = &s->ep[0];
    (void)is_orig;
    if (f & CT_TCP_ACK) {
        if (s->ep[0].state != EP_INACTIVE)
            return 0;
        conn_orig = &s->ep[1];
    }
    if (!s->ep[0].did_close && !s->ep[1].did_close) {
        if (pkt->seq == (uint32_t)conn_orig->start)
            return 0;
        if (!(f & CT_TCP_ACK) && conn_orig->state == EP_SYN_ACK_SENT &&
            s->ep[1].state == EP_INACTIVE)
            return 0;
    }
    return 1;
}

static void end_record(struct ct_flowlog *fl, struct fl_slot *s, uint8_t reason, uint64_t end,
                       struct ct_flow_record *out)
{
    if (out) {
        fill_record(fl, s, out);
        out->end_reason = reason;
        out->end = end;
    }
    s->open = 0;
}

static uint64_t next_uid(struct ct_flowlog *fl)
{
    uint64_t v;
    do {
        uint64_t n = fl->next_uid++;
        v = ct_siphash(fl->cfg.uid_seed, 0x7a65656b75696473ull /* "zeekuids" */, &n, sizeof(n),
                       2, 4);
    } while (v == 0);
    return v;
}

static uint8_t zeek_proto(uint8_t l3, uint8_t proto)
{
    if (proto == CT_IPPROTO_TCP)
        return CT_ZEEK_PROTO_TCP;
    if (proto == CT_IPPROTO_UDP)
        return CT_ZEEK_PROTO_UDP;
    if ((proto == CT_IPPROTO_ICMP && l3 == CT_L3_IPV4) ||
        (proto == CT_IPPROTO_ICMPV6 && l3 == CT_L3_IPV6))
        return CT_ZEEK_PROTO_ICMP;
    return CT_ZEEK_PROTO_UNKNOWN;
}

/* The ICMP "port" pair of Zeek's conn_id: type, then counterpart type or
   code (the counterpart column of the type table, base/inet.h). */
static uint16_t icmp_counterpart(uint8_t l3, uint8_t type, uint8_t code)
{
    int peer = ct_icmp_counterpart(l3 != CT_L3_IPV4, type);
    return peer >= 0 ? (uint16_t)peer : code;
}

/* Starts a record in s with the packet's sender as Zeek's originator,
   flipping where Zeek's heuristics say so. */
static void start_record(struct ct_flowlog *fl, struct fl_slot *s, const struct ct_pkt *pkt,
                         unsigned dir, uint64_t now)
{
    memset(s, 0, sizeof(*s));
    s->open = 1;
    s->uid = next_uid(fl);
    s->ts = now;
    s->last = now;
    s->orig_dir = (uint8_t)dir;
    s->id = pkt->tuple;
    s->proto = zeek_proto(pkt->tuple.l3, pkt->tuple.proto);
    for (unsigned i = 0; i < 2; i++) {
        s->ep[i].reassem = 1;
        s->ep[i].trim = 1;
    }
    if (s->proto == CT_ZEEK_PROTO_ICMP) {
        s->id.sport = pkt->icmp_type;
        s->id.dport = icmp_counterpart(pkt->tuple.l3, pkt->icmp_type, pkt->icmp_code);
    } else if (s->proto == CT_ZEEK_PROTO_UNKNOWN) {
        s->id.sport = s->id.dport = 0;
    }

    uint16_t sp = pkt->tuple.sport, dp = pkt->tuple.dport;
    if (s->proto == CT_ZEEK_PROTO_TCP) {
        uint8_t f = pkt->tcp_flags;
        if (!(f & CT_TCP_SYN) || (f & CT_TCP_ACK)) {
            int flip_now = 0;
            if (server_port(fl, 0, sp)) {
                if (server_port(fl, 0, dp))
                    flip_now = !(f & CT_TCP_SYN) && sp < dp;
                else
                    flip_now = 1;
            }
            if (flip_now)
                flip(s, 0);
            else if ((f & (CT_TCP_SYN | CT_TCP_ACK | CT_TCP_RST | CT_TCP_FIN)) ==
                     (CT_TCP_SYN | CT_TCP_ACK))
                s->flags |= SF_SYNACK_PENDING;
        }
    } else if (s->proto == CT_ZEEK_PROTO_UDP) {
        if (server_port(fl, 1, sp) && !server_port(fl, 1, dp))
            flip(s, 0);
    }
}

/* Accounts one packet of an open record. */
static void account(struct ct_flowlog *fl, struct fl_slot *s, const struct ct_pkt *pkt,
                    const struct ct_verdict *v, uint64_t now)
{
    int is_orig = v->dir == s->orig_dir;
    s->ct_state = v->state;
    s->l4state = v->l4state;

    if (v->reason == CT_REASON_L4_CHECKSUM) {
        /* Zeek drops a packet with a bad checksum but notes it. */
        if (s->proto == CT_ZEEK_PROTO_TCP || s->proto == CT_ZEEK_PROTO_UDP)
            scaled_history(s, is_orig, SC_CHK, 'C');
        return;
    }

    if (s->proto == CT_ZEEK_PROTO_TCP) {
        tcp_packet(fl, s, is_orig, pkt, now);
        /* tcp_packet may have flipped the roles. */
        is_orig = v->dir == s->orig_dir;
    } else {
        s->last = now;
        uint64_t hdr = s->proto == CT_ZEEK_PROTO_UNKNOWN ? pkt->l4_len : 8;
        if (s->proto != CT_ZEEK_PROTO_UNKNOWN && pkt->l4_len >= hdr)
            s->ep[is_orig ? 0 : 1].size += pkt->l4_len - hdr;
        if (s->proto == CT_ZEEK_PROTO_UDP)
            check_history(s, is_orig, HS_DATA, 'D');
    }
    struct fl_ep *e = &s->ep[is_orig ? 0 : 1];
    e->pkts++;
    e->ip_bytes += pkt->ip_len;
    e->seen = 1;
}

static int check_args(struct ct_flowlog *fl, uint32_t slot, const struct ct_pkt *pkt,
                      const struct ct_verdict *v)
{
    if (!get_slot(fl, slot) || !pkt || !v || v->dir > 1)
        return -EINVAL;
    if (pkt->reason != CT_REASON_NONE && pkt->reason != CT_REASON_L4_CHECKSUM)
        return -EINVAL;
    if (pkt->tuple.l3 != CT_L3_IPV4 && pkt->tuple.l3 != CT_L3_IPV6)
        return -EINVAL;
    return 0;
}

CT_EXPORT int ct_flowlog_open(struct ct_flowlog *fl, uint32_t slot, const struct ct_pkt *pkt,
                              const struct ct_verdict *v, uint64_t now,
                              struct ct_flow_record *ended)
{
    int rc = check_args(fl, slot, pkt, v);
    if (rc)
        return rc;
    struct fl_slot *s = &fl->slots[slot];
    int wrote = 0;
    if (s->open) {
        uint8_t why;
        uint64_t d = slot_deadline(fl, s, &why);
        if (d <= now)
            end_record(fl, s, why, d, ended);
        else
            end_record(fl, s, CT_FLOW_END_CT_REPLACE, now, ended);
        wrote = ended != NULL;
    }
    start_record(fl, s, pkt, v->dir, now);
    account(fl, s, pkt, v, now);
    return wrote;
}

CT_EXPORT int ct_flowlog_packet(struct ct_flowlog *fl, uint32_t slot, const struct ct_pkt *pkt,
                                const struct ct_verdict *v, uint64_t now,
                                struct ct_flow_record *ended)
{
    int rc = check_args(fl, slot, pkt, v);
    if (rc)
        return rc;
    struct fl_slot *s = &fl->slots[slot];
    int wrote = 0;
    if (s->open && !(fl->cfg.flags & CT_FLOWLOG_F_NO_ZEEK_TIMERS)) {
        uint8_t why;
        uint64_t d = slot_deadline(fl, s, &why);
        if (d <= now) {
            end_record(fl, s, why, d, ended);
            wrote = ended != NULL;
        } else if (v->reason == CT_REASON_NONE && is_reuse(s, v->dir == s->orig_dir, pkt)) {
            end_record(fl, s, CT_FLOW_END_REUSE, now, ended);
            wrote = ended != NULL;
        }
    }
    if (!s->open)
        start_record(fl, s, pkt, v->dir, now);
    account(fl, s, pkt, v, now);
    return wrote;
}

static void add_ct_info(struct ct_flow_record *r, const struct ct_conn_info *info)
{
    r->has_ct_info = 1;
    r->ct_status = info->status;
    r->mark = info->mark;
    r->zone[0] = info->zone[0];
    r->zone[1] = info->zone[1];
    r->ct_timeout = info->timeout;
    r->l4state = info->l4state;
    for (unsigned i = 0; i < 2; i++) {
        r->ct_packets[i] = info->packets[i];
        r->ct_bytes[i] = info->bytes[i];
    }
}

CT_EXPORT int ct_flowlog_close(struct ct_flowlog *fl, uint32_t slot,
                               const struct ct_conn_info *info, unsigned reason, uint64_t now,
                               struct ct_flow_record *out)
{
    struct fl_slot *s = get_slot(fl, slot);
    if (!s || !out || reason >= CT_FLOW_END_COUNT)
        return -EINVAL;
    if (!s->open)
        return 0;
    uint8_t why;
    uint64_t d = slot_deadline(fl, s, &why);
    if (d <= now)
        end_record(fl, s, why, d, out);
    else
        end_record(fl, s, (uint8_t)reason, now, out);
    if (info)
        add_ct_info(out, info);
    return 1;
}

CT_EXPORT uint64_t ct_flowlog_deadline(const struct ct_flowlog *fl, uint32_t slot)
{
    if (!fl || slot >= fl->cfg.capacity)
        return UINT64_MAX;
    return slot_deadline(fl, &fl->slots[slot], NULL);
}

CT_EXPORT int ct_flowlog_expire(struct ct_flowlog *fl, uint32_t slot, uint64_t now,
                                struct ct_flow_record *out)
{
    struct fl_slot *s = get_slot(fl, slot);
    if (!s || !out)
        return -EINVAL;
    uint8_t why;
    uint64_t d = slot_deadline(fl, s, &why);
    if (d > now)
        return 0;
    end_record(fl, s, why, d, out);
    return 1;
}

CT_EXPORT int ct_flowlog_peek(const struct ct_flowlog *fl, uint32_t slot,
                              struct ct_flow_record *out)
{
    if (!fl || slot >= fl->cfg.capacity || !out)
        return -EINVAL;
    const struct fl_slot *s = &fl->slots[slot];
    if (!s->open)
        return 0;
    fill_record(fl, s, out);
    return 1;
}

CT_EXPORT int ct_flowlog_add_parent(struct ct_flowlog *fl, uint32_t slot, uint32_t parent_slot)
{
    struct fl_slot *s = get_slot(fl, slot), *p = get_slot(fl, parent_slot);
    if (!s || !p)
        return -EINVAL;
    if (!s->open || !p->open)
        return -ENOENT;
    for (unsigned i = 0; i < s->n_parents; i++)
        if (s->parents[i] == p->uid)
            return 0;
    if (s->n_parents < CT_FLOW_MAX_PARENTS)
        s->parents[s->n_parents++] = p->uid;
    return 0;
}

/* ---- names ------------------------------------------------------------------- */

CT_EXPORT const char *ct_zeek_state_name(unsigned state)
{
    static const char *const names[CT_ZEEK_STATE_COUNT] = {
        "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH",
    };
    return state < CT_ZEEK_STATE_COUNT ? names[state] : "-";
}

CT_EXPORT const char *ct_flow_end_name(unsigned reason)
{
    static const char *const names[CT_FLOW_END_COUNT] = {
        "none",       "idle",     "attempt",    "closed", "reuse",   "ct-timeout",
        "ct-close",   "ct-replace", "ct-evict", "flush",  "shutdown",
    };
    return reason < CT_FLOW_END_COUNT ? names[reason] : "unknown";
}
