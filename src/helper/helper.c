/*
 * The helpers' registry and the hooks of the packet path: consuming an
 * expectation when a connection is created, running a connection's helper
 * on its accepted packets (Linux's nf_conntrack_ftp.c help() and
 * nf_conntrack_tftp.c tftp_help(), written here from their behaviour), and
 * cleaning up when a master ends. Design in helper/helper.h.
 */
#include <errno.h>
#include <string.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "helper/helper.h"
#include "table/table.h"
#include "template/template.h"

/* The protocol of each helper (enum ct_helper, ctrack/template.h). */
static const uint8_t helper_proto[CT_HELPER_COUNT] = {
    [CT_HELPER_FTP] = CT_IPPROTO_TCP,
    [CT_HELPER_TFTP] = CT_IPPROTO_UDP,
};

CT_EXPORT uint8_t ct_helper_proto(unsigned id)
{
    return id < CT_HELPER_COUNT ? helper_proto[id] : 0;
}

int ct_helper_conn_assign(struct ct_table *t, struct ct_conn *c, unsigned helper)
{
    if (!t->helpers)
        return -ENOENT;
    if (helper == CT_HELPER_NONE || helper >= CT_HELPER_COUNT)
        return -EINVAL;
    ct_helper_conn_state(t, c)->helper = (uint8_t)helper;
    c->status |= CT_STATUS_HELPER;
    return 0;
}

/* The transport payload of pkt, or NULL when there is none in the frame. */
static const uint8_t *payload(const struct ct_pkt *pkt, size_t *len)
{
    if (!pkt->data || pkt->payload_len == 0 ||
        (uint32_t)pkt->payload_off + pkt->payload_len > pkt->len)
        return NULL;
    *len = pkt->payload_len;
    return pkt->data + pkt->payload_off;
}

/* Linux's find_nl_seq(): is seq just after a newline we saw in dir? */
static int ftp_after_nl(const struct ct_helper_conn *hc, unsigned dir, uint32_t seq)
{
    for (unsigned i = 0; i < hc->nl_num[dir]; i++)
        if (hc->nl_seq[dir][i] == seq)
            return 1;
    return 0;
}

/* Linux's update_nl_seq(): remember seq (just after a newline) in dir,
 * replacing the older of the two remembered when it is later. */
static void ftp_note_nl(struct ct_helper_conn *hc, unsigned dir, uint32_t seq)
{
    if (ftp_after_nl(hc, dir, seq))
        return;
    if (hc->nl_num[dir] < CT_FTP_SEQ_REMEMBER) {
        hc->nl_seq[dir][hc->nl_num[dir]++] = seq;
        return;
    }
    unsigned oldest = (int32_t)(hc->nl_seq[dir][0] - hc->nl_seq[dir][1]) < 0 ? 0 : 1;
    if ((int32_t)(seq - hc->nl_seq[dir][oldest]) > 0)
        hc->nl_seq[dir][oldest] = seq;
}

static int addr_equal(uint8_t l3, const union ct_addr *a, const union ct_addr *b)
{
    return l3 == CT_L3_IPV4 ? a->v4 == b->v4 : memcmp(a->b, b->b, 16) == 0;
}

/*
 * FTP on an accepted segment of the control connection c in direction dir.
 * Only once traffic went both ways, and only a segment that starts just
 * after a newline of its direction (so a command split over two segments
 * is not recognised in the second, and the first segment of each
 * direction, the greeting and USER, is never read). The announced address
 * must be the sender's own (Linux's default, loose=0): otherwise nothing is
 * expected.
 */
static uint8_t ftp_packet(struct ct_table *t, struct ct_conn *c, struct ct_helper_conn *hc,
                          unsigned dir, const struct ct_pkt *pkt, uint64_t now)
{
    size_t len;
    const uint8_t *p;
    if (dir != CT_DIR_REPLY && !(c->status & CT_STATUS_SEEN_REPLY))
        return 0;
    if (pkt->tuple.proto != CT_IPPROTO_TCP || !(p = payload(pkt, &len)))
        return 0;
    int ends_in_nl = p[len - 1] == '\n';
    uint32_t next_seq = pkt->seq + (uint32_t)len;
    uint8_t drop = 0;
    struct ct_tuple tu[2];
    ct_table_conn_tuple(t, c, CT_DIR_ORIGINAL, &tu[CT_DIR_ORIGINAL]);
    ct_table_conn_tuple(t, c, CT_DIR_REPLY, &tu[CT_DIR_REPLY]);

    if (ftp_after_nl(hc, dir, pkt->seq)) {
        struct ct_ftp_cmd cmd;
        int r = ct_helper_ftp_parse(p, len, dir, tu[0].l3, &cmd);
        if (r < 0) {
            /* Linux drops a partial or malformed command, and does not
             * note its newline. */
            t->helpers->st.parse_drops++;
            return CT_VERDICT_DROP;
        }
        if (r > 0 && (!cmd.has_addr || addr_equal(tu[0].l3, &cmd.addr, &tu[dir].src))) {
            /* The data connection comes from the other side to the
             * announced address and port, from any port. */
            struct ct_tuple e = tu[dir ^ 1u];
            e.proto = CT_IPPROTO_TCP;
            e.sport = 0;
            e.dport = cmd.port;
            e.zone = tu[CT_DIR_ORIGINAL].zone;
            if (ct_helper_expect_add(t, c, CT_HELPER_FTP, &e, now) != 0)
                drop = CT_VERDICT_DROP;
        }
    }
    if (ends_in_nl)
        ftp_note_nl(hc, dir, next_seq);
    return drop;
}

/* TFTP: a read or write request, in either direction and in any state,
 * expects the reply's tuple from any source port. */
static uint8_t tftp_packet(struct ct_table *t, struct ct_conn *c, const struct ct_pkt *pkt,
                           uint64_t now)
{
    size_t len;
    const uint8_t *p;
    if (pkt->tuple.proto != CT_IPPROTO_UDP || !(p = payload(pkt, &len)))
        return 0;
    if (!ct_helper_tftp_is_request(p, len))
        return 0;
    struct ct_tuple e;
    ct_table_conn_tuple(t, c, CT_DIR_REPLY, &e);
    e.sport = 0;
    e.zone = ct_conn_is_v6(c) ? ct_conn_key6(c)->zone : ct_conn_key4(c)->zone;
    return ct_helper_expect_add(t, c, CT_HELPER_TFTP, &e, now) != 0 ? CT_VERDICT_DROP : 0;
}

uint8_t ct_helper_packet(struct ct_table *t, struct ct_conn *c, unsigned dir,
                         const struct ct_pkt *pkt, uint64_t now)
{
    if (!t->helpers)
        return 0;
    struct ct_helper_conn *hc = ct_helper_conn_state(t, c);
    uint8_t r = 0;
    switch (hc->helper) {
    case CT_HELPER_FTP:
        r = ftp_packet(t, c, hc, dir, pkt, now);
        break;
    case CT_HELPER_TFTP:
        r = tftp_packet(t, c, pkt, now);
        break;
    default:
        break;
    }
    return r;
}

uint8_t ct_helper_conn_new(struct ct_table *t, struct ct_conn *c, const struct ct_pkt *pkt,
                           unsigned helper, uint64_t now, uint8_t *vflags)
{
    struct ct_helper_table *h = t->helpers;
    if (h->count) {
        struct ct_tuple tu;
        ct_table_conn_tuple(t, c, CT_DIR_ORIGINAL, &tu);
        uint32_t i = ct_helper_expect_find(t, &tu, now);
        if (i != CT_EXPECT_NONE) {
            /* init_conntrack(): EXPECTED, the master recorded, its mark
             * inherited; the expectation is used up. */
            struct ct_conn *m = ct_table_conn_at(t, h->e[i].master);
            struct ct_helper_conn *hc = ct_helper_conn_state(t, c);
            hc->has_master = 1;
            ct_table_conn_tuple(t, m, CT_DIR_ORIGINAL, &hc->master);
            c->status |= CT_STATUS_EXPECTED;
            c->mark = m->mark;
            ct_helper_expect_remove(t, i, &h->st.expect_matched);
            /* Linux assigns the template's helper only to a connection
             * that no expectation created (init_conntrack()). */
            struct ct_tmpl_conn *x = ct_tmpl_conn(t, c);
            if (x)
                x->helper = CT_HELPER_NONE;
            return CT_STATE_RELATED;
        }
    }
    if (helper != CT_HELPER_NONE)
        *vflags |= ct_helper_conn_start(t, c, helper, pkt, CT_DIR_ORIGINAL, now);
    /* (A connection made from an expectation returned above.) */
    return CT_STATE_NEW;
}

uint8_t ct_helper_conn_start(struct ct_table *t, struct ct_conn *c, unsigned helper,
                             const struct ct_pkt *pkt, unsigned dir, uint64_t now)
{
    if (!t->helpers || (c->status & CT_STATUS_HELPER))
        return 0;
    if (ct_helper_conn_assign(t, c, helper) != 0)
        return 0;
    return ct_helper_packet(t, c, dir, pkt, now);
}

int ct_helper_would_relate(struct ct_table *t, const struct ct_pkt *pkt, uint64_t now)
{
    return t->helpers->count && ct_helper_expect_find(t, &pkt->tuple, now) != CT_EXPECT_NONE;
}

void ct_helper_conn_end(struct ct_table *t, struct ct_conn *c)
{
    struct ct_helper_table *h = t->helpers;
    if (!h || !ct_helper_conn_state(t, c)->expecting)
        return;
    uint32_t id = ct_table_conn_id(t, c);
    for (uint32_t i = 0; i < h->hiwater; i++)
        if (h->e[i].live && h->e[i].master == id)
            ct_helper_expect_remove(t, i, &h->st.expect_master);
}

void ct_helper_conn_info(const struct ct_table *t, const struct ct_conn *c,
                         struct ct_conn_info *info)
{
    if (!t->helpers)
        return;
    const struct ct_helper_conn *hc = ct_helper_conn_state(t, c);
    if (hc->helper)
        info->helper = hc->helper;
    if (hc->has_master) {
        info->master = hc->master;
        info->flags |= CT_INFO_F_MASTER;
    }
}
