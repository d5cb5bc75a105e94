/*
 * One worker's packet pipeline (pipeline.h): frames from a source go
 * through parsing, reassembly and tunnel decapsulation into bursts for a
 * connection table; the verdicts feed the trace, the counters and the flow
 * keyer; at the end the table, the flow log or the flow records are
 * written. All of its state lives in struct cli_pipeline, none in statics,
 * so that several pipelines can run side by side.
 *
 * Time: each packet is processed at its capture timestamp (nanoseconds, read
 * at nanosecond precision whatever the file's own precision). The library's
 * clock must not go backwards, so a packet stamped earlier than the one before
 * it (merged or reordered captures) is processed at the previous packet's
 * time; the summary counts such packets.
 *
 * Bursts: ct_process_burst() takes a single `now` for all its packets. A burst
 * therefore only ever groups consecutive packets with the same timestamp: it
 * is handed to the library when the next packet's timestamp differs or when
 * it holds --burst packets. Inside a burst the library processes packets in
 * order, so the table, the trace and the summary are the same for every
 * --burst value; only the number of library calls changes.
 *
 * A source hands out each frame's bytes only until the next read, so every
 * packet of a burst is copied into a buffer of its own slot.
 *
 * Expiry: connections expire in capture time. Whenever the timestamp moves
 * on (and at the first packet), the burst of the previous timestamp is
 * handed over, then ct_expire() runs at the new time if the time it asked
 * for has come. At the end, one unbounded ct_expire() at the last packet's
 * time leaves exactly what a live tracker would hold then. Expiry is thus
 * tied to timestamps, never to bursts, and --burst still changes nothing.
 *
 * Flow log (--at-end drain): the destroy callback copies every connection
 * that ends. Those that end while packets of one timestamp are processed are
 * printed after the trace lines of all the packets of that timestamp (so the
 * output does not depend on --burst either), those the sweep ends right
 * away; at the end the connections still alive are drained and printed in
 * the table's order.
 *
 * Parsing, reassembly and tunnels: the loop parses each frame itself
 * (ct_pkt_parse_flags(), so that --no-checksum can accept a bad IPv4 header
 * checksum) and hands the parsed packets to ct_process_parsed(). A fragment
 * goes to the reassembler first (unless --no-defrag), as Linux's
 * nf_defrag runs before conntrack: a held fragment is not seen by the table,
 * a dropped one counts as INVALID with the reassembler's reason, and a
 * complete datagram is parsed and tracked in place of the fragment that
 * completed it. With --tunnels (the default for flow records) the frame
 * inside an IP-in-IP, GRE, VXLAN, Geneve, Teredo (on any UDP port, as Zeek
 * finds it) or GTP-U packet is parsed and tracked right after its outer
 * packet, up to four layers deep. Every resulting packet of one capture
 * packet goes into the same burst, in order: outer first.
 *
 * Events (--events): the table's event callback prints each batch as the
 * library delivers it, at the end of the call that caused it, so an event
 * line comes before the trace lines of its burst. At the end of the capture
 * the expiry at the last packet's time reports what timed out by then; the
 * connections still alive get no event, as a live `conntrack -E` shows
 * none for them.
 *
 * Flow records (--format zeek, --flows): a struct ct_flow_keyer
 * (include/ctrack/flowkey.h) keys every parsed packet into Zeek's
 * connections and hands their records to write_flow().
 *
 * Packets out (--write): each captured packet is parsed from its slot's
 * copy as a writable frame, so the table's NAT translates it there, and
 * once the burst is accounted for, the slots go to the sink (sink.h) in
 * order, less the packets whose verdict says drop. Bursts are handed over
 * in input order, so the file is in input order too.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/inet.h"
#include "cli/pipeline.h"
#include "cli/sink.h"
#include "ctrack/flowkey.h"

/* Tunnel layers decapsulated below a capture packet. */
#define MAX_DEPTH 4
/* Parsed packets one capture packet can add to a burst: itself and its layers. */
#define MAX_PER_FRAME (1 + MAX_DEPTH)

/* What became of one parsed packet of the burst. */
enum ent_kind {
    ENT_TABLE = 0,   /* handed to the table */
    ENT_HELD = 1,    /* a fragment kept for reassembly */
    ENT_DROPPED = 2, /* a fragment the reassembler dropped: INVALID for `reason` */
};

/* One parsed packet of the burst, in capture order (outer before inner). */
struct ent {
    uint64_t pktno;     /* capture packet number, from 1 */
    uint8_t kind;       /* enum ent_kind */
    uint8_t depth;      /* tunnel layer, 0 for the captured packet */
    uint8_t carrier;    /* an IP-level tunnel (GRE, IP-in-IP) whose inner packet follows */
    uint8_t reassembled;/* a datagram put together from fragments */
    uint16_t reason;    /* ENT_DROPPED: why */
    int16_t parent;     /* entry of the outer packet, or -1 */
    uint8_t encap;      /* the parent's encapsulation (enum ct_encap) */
    uint32_t slot;      /* flow slot (flow records) */
    uint8_t *rbuf;      /* reassembled datagram bytes (owned) */
    size_t rcap;
};

/* One capture packet of the burst being gathered: a writable copy of its
   bytes and what --write needs to put it back. */
struct slot {
    uint8_t *buf;
    size_t cap;
    uint32_t caplen;
    uint32_t wire_len;
    uint64_t ts;        /* as recorded, before any clamping */
    unsigned ent;       /* its entry (depth 0) in ents[] */
};

/* A packet's tuples as it arrived, kept while the table may translate it. */
struct arrival {
    struct ct_tuple tuple;
    struct ct_tuple inner;
};

/* Events one library call may queue: a packet makes at most four (the
 * DESTROY of a connection it replaces, expires or evicts, its own NEW and
 * DESTROY, an UPDATE from the rules), and an expiry call may end every
 * connection. The buffer is allocated, not touched, up front, so sizing it
 * for the worst case costs address space only; the summary still reports
 * lost events should there be any. */
static uint32_t event_capacity(const struct cli_read_opts *opts)
{
    uint64_t cap = (uint64_t)opts->max_connections + 4u * CT_BURST_MAX;
    return cap > CT_EVENT_MAX_CAPACITY ? CT_EVENT_MAX_CAPACITY : (uint32_t)cap;
}

struct cli_pipeline {
    const struct cli_read_opts *opts;
    FILE *out;                 /* table, trace, flow log and flow records */
    struct ct_table *table;
    struct ct_defrag *defrag;  /* NULL with --no-defrag */
    struct ct_flow_keyer *flows; /* flow records, or NULL */
    unsigned parse_flags;      /* CT_PARSE_F_* */
    int failed;                /* a frame could not be handled: take no more */
    struct slot slots[CT_BURST_MAX];
    struct ct_pkt pkts[CT_BURST_MAX];
    struct ct_verdict verdicts[CT_BURST_MAX];
    struct ent ents[CT_BURST_MAX];
    struct arrival arrived[CT_BURST_MAX]; /* --write: tuples before translation */
    unsigned nframes;        /* capture packets in the current burst */
    unsigned n;              /* parsed packets in the current burst */
    uint64_t burst_now;      /* their common timestamp */
    uint64_t last_now;       /* timestamp of the latest packet read */
    uint64_t clamped;        /* packets stamped earlier than their predecessor */
    int loaded;              /* --load-state: last_now is the snapshot's time */
    uint64_t next_expire;    /* when ct_expire() asked to be called again */
    struct cli_counts counts;
    /* Flow log (--at-end drain): ended connections not printed yet. */
    struct cli_end *ends;
    size_t nends, cap_ends;
    int ends_oom;            /* a record could not be kept */
    uint64_t logged;         /* flow-log lines printed */
    /* Flow records: the Zeek header goes out before the first record. */
    uint64_t open_time;      /* the first frame's time, for #open */
    int header_done;
    uint64_t listed;         /* lines cli_pipeline_finish() wrote */
    /* --write: the packets that leave, and those a rule or helper dropped. */
    struct cli_sink *sink;
    uint64_t written, dropped;
    int write_done;          /* the file was put in place */
};

/* Destroy callback: keeps a copy of every connection that ends. */
static void on_end(void *arg, const struct ct_table *table, const struct ct_conn *conn,
                   unsigned reason, uint64_t now)
{
    struct cli_pipeline *r = arg;
    if (r->nends == r->cap_ends) {
        size_t cap = r->cap_ends ? r->cap_ends * 2 : 256;
        struct cli_end *nv = realloc(r->ends, cap * sizeof(*nv));
        if (!nv) {
            r->ends_oom = 1;
            return;
        }
        r->ends = nv;
        r->cap_ends = cap;
    }
    struct cli_end *e = &r->ends[r->nends];
    if (ct_conn_get_info(table, conn, &e->ci) != 0)
        return;
    e->reason = reason;
    e->when = now;
    r->nends++;
}

/* Event callback (--events): prints a batch as it comes. */
static void on_events(void *arg, const struct ct_event *ev, unsigned n)
{
    struct cli_pipeline *r = arg;
    for (unsigned i = 0; i < n; i++)
        cli_print_event(r->out, r->opts->format, &ev[i]);
}

/* Prints the ended connections kept so far, in the order they ended. */
static void print_ends(struct cli_pipeline *r)
{
    for (size_t i = 0; i < r->nends; i++)
        cli_print_end(r->out, r->opts->format, &r->ends[i]);
    r->logged += r->nends;
    r->nends = 0;
}

static const char *encap_name(unsigned e)
{
    static const char *const names[] = {"none", "ipip", "gre", "vxlan", "geneve", "teredo",
                                        "gtpu"};
    return e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

/*
 * A writable packet leaves the table translated, its descriptor's tuples
 * with it. The trace, the counters and the flow records describe packets
 * as they arrived, whether or not --write asked for translated frames, so
 * the tuples of entries [i, j) are kept before the call and put back after
 * it; the frame's bytes stay translated for writing.
 */
static void keep_arrival(struct cli_pipeline *r, unsigned i, unsigned j)
{
    for (; i < j; i++) {
        if (r->pkts[i].writable) {
            r->arrived[i].tuple = r->pkts[i].tuple;
            r->arrived[i].inner = r->pkts[i].inner;
        }
    }
}

static void restore_arrival(struct cli_pipeline *r, unsigned i, unsigned j)
{
    for (; i < j; i++) {
        if (r->pkts[i].writable) {
            r->pkts[i].tuple = r->arrived[i].tuple;
            r->pkts[i].inner = r->arrived[i].inner;
        }
    }
}

/* Hands the gathered burst to the table: runs of packets for the table go
 * in one call each; held and dropped fragments between them are not the
 * table's. All share one `now`. */
static int run_table(struct cli_pipeline *r)
{
    for (unsigned i = 0; i < r->n;) {
        if (r->ents[i].kind != ENT_TABLE) {
            memset(&r->verdicts[i], 0, sizeof(r->verdicts[i]));
            i++;
            continue;
        }
        unsigned j = i;
        while (j < r->n && r->ents[j].kind == ENT_TABLE)
            j++;
        keep_arrival(r, i, j);
        int rc = ct_process_parsed(r->table, &r->pkts[i], &r->verdicts[i], j - i, r->burst_now,
                                   CT_PROCESS_COMMIT);
        if (rc < 0) {
            cli_error("internal error: ct_process_parsed: %s", ct_strerror(rc));
            return -1;
        }
        restore_arrival(r, i, j);
        i = j;
    }
    return 0;
}

/* Accounts for the verdict of entry i: counters, trace, flow records. */
static void account(struct cli_pipeline *r, unsigned i)
{
    struct ent *e = &r->ents[i];
    struct ct_verdict *v = &r->verdicts[i];
    const struct ct_pkt *pkt = &r->pkts[i];
    char extra[64];
    extra[0] = '\0';
    if (e->depth)
        snprintf(extra, sizeof(extra), "encap=%s", encap_name(e->encap));
    if (e->reassembled)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%sreassembled",
                 extra[0] ? " " : "");
    if (e->kind == ENT_HELD) {
        r->counts.frag_held++;
        if (r->opts->trace)
            cli_print_trace_held(r->out, e->pktno, r->burst_now, pkt, extra);
        return;
    }
    if (e->kind == ENT_DROPPED) {
        v->state = CT_STATE_INVALID;
        v->reason = e->reason;
        r->counts.reasons[e->reason]++;
    }
    if (v->state < sizeof(r->counts.verdicts) / sizeof(r->counts.verdicts[0]))
        r->counts.verdicts[v->state]++;
    if (r->opts->trace)
        cli_print_trace(r->out, e->pktno, r->burst_now, pkt, v, extra);
    if (r->flows && e->kind == ENT_TABLE && pkt->reason == CT_REASON_NONE) {
        uint32_t parent = e->parent >= 0 ? r->ents[e->parent].slot : CT_FLOW_SLOT_NONE;
        e->slot = ct_flow_keyer_packet(r->flows, pkt, v, r->burst_now, parent,
                                       e->carrier ? CT_FLOW_PKT_F_HIDDEN : 0);
    }
}

/*
 * --write: every capture packet of the burst that leaves, in input order,
 * with its own timestamp and wire length. A packet leaves unless the
 * verdict of the captured packet (not of a tunnelled one inside it) has
 * CT_VERDICT_DROP; INVALID packets leave unchanged, as Linux forwards them
 * unless a rule drops them. A fragment leaves as it came, whatever became
 * of its datagram: the datagram was tracked from a copy.
 */
static int write_burst(struct cli_pipeline *r)
{
    for (unsigned f = 0; f < r->nframes; f++) {
        const struct slot *s = &r->slots[f];
        const struct ent *e = &r->ents[s->ent];
        if (e->kind == ENT_TABLE && !e->reassembled &&
            (r->verdicts[s->ent].flags & CT_VERDICT_DROP)) {
            r->dropped++;
            continue;
        }
        if (cli_sink_write(r->sink, s->buf, s->caplen, s->wire_len, s->ts) < 0)
            return -1;
        r->written++;
    }
    return 0;
}

/* Hands the gathered burst to the library and accounts for its verdicts. */
static int flush_burst(struct cli_pipeline *r)
{
    if (r->n == 0)
        return 0;
    if (run_table(r) < 0)
        return -1;
    for (unsigned i = 0; i < r->n; i++)
        account(r, i);
    if (r->sink && write_burst(r) < 0)
        return -1;
    r->n = 0;
    r->nframes = 0;
    return 0;
}

/* Makes room for `len` bytes in an entry's reassembly buffer. */
static uint8_t *ent_buf(struct ent *e, size_t len)
{
    if (len > e->rcap) {
        size_t cap = len < 2048 ? 2048 : len;
        uint8_t *nb = realloc(e->rbuf, cap);
        if (!nb)
            return NULL;
        e->rbuf = nb;
        e->rcap = cap;
    }
    return e->rbuf;
}

/*
 * Hands fragment `pkt` of entry `e` to the reassembler. Returns 1 when it
 * completed a datagram, now parsed in `pkt`; 0 when it is held or dropped
 * (e->kind says which); -1 when out of memory.
 */
static int reassemble(struct cli_pipeline *r, struct ent *e, struct ct_pkt *pkt)
{
    struct ct_frame whole;
    uint16_t reason = 0;
    int rc = ct_defrag_add(r->defrag, pkt, r->burst_now, &whole, &reason);
    if (rc == CT_DEFRAG_HELD) {
        e->kind = ENT_HELD;
        return 0;
    }
    if (rc != CT_DEFRAG_DONE) {
        e->kind = ENT_DROPPED;
        e->reason = rc == CT_DEFRAG_DROPPED ? reason : CT_REASON_FRAG_INVALID;
        return 0;
    }
    /* The datagram's bytes live until the next ct_defrag_add(): copy. */
    uint8_t *b = ent_buf(e, whole.len);
    if (!b) {
        cli_error("out of memory keeping a %u-byte datagram", (unsigned)whole.len);
        return -1;
    }
    memcpy(b, whole.data, whole.len);
    whole.data = b;
    ct_pkt_parse_flags(&whole, pkt, r->parse_flags);
    e->reassembled = 1;
    r->counts.frag_done++;
    return 1;
}

/*
 * Parses `frame` into the next entry of the burst, reassembles it if it is
 * a fragment, and follows its tunnel layers. `wdata`, when not NULL, is
 * frame->data writable: with --write the captured packet is parsed as a
 * writable frame, so that the table translates it in place (the layers
 * inside it are tracked read-only: a translation of theirs would leave
 * the outer checksums wrong). Returns 0 or -1 (out of memory).
 */
static int add_frame(struct cli_pipeline *r, const struct ct_frame *frame, uint8_t *wdata,
                     uint64_t pktno, unsigned depth, int parent, uint8_t encap)
{
    const struct cli_read_opts *o = r->opts;
    unsigned i = r->n++;
    struct ent *e = &r->ents[i];
    struct ct_pkt *pkt = &r->pkts[i];
    e->pktno = pktno;
    e->kind = ENT_TABLE;
    e->depth = (uint8_t)depth;
    e->carrier = 0;
    e->reassembled = 0;
    e->reason = 0;
    e->parent = (int16_t)parent;
    e->encap = encap;
    e->slot = CT_FLOW_SLOT_NONE;
    if (wdata) {
        struct ct_frame_rw rw = {
            .data = wdata,
            .len = frame->len,
            .wire_len = frame->wire_len,
            .link = frame->link,
            .iif = frame->iif,
        };
        ct_pkt_parse_rw(&rw, pkt, r->parse_flags);
    } else {
        ct_pkt_parse_flags(frame, pkt, r->parse_flags);
    }
    if (encap == CT_ENCAP_TEREDO && pkt->reason == CT_REASON_NONE &&
        pkt->tuple.proto == CT_IPPROTO_NONE && pkt->ip_len == 40) {
        /* A Teredo bubble (RFC 4380 section 2.8): an empty IPv6 packet that
           only keeps NAT mappings open. It carries no connection; Zeek does
           not log one either. */
        r->n--;
        return 0;
    }
    if (o->vlan_key && pkt->nvlan)
        ct_pkt_set_zone(pkt, ct_zone_from_vlan(pkt));

    if (pkt->frag != CT_FRAG_NONE && r->defrag) {
        int rc = reassemble(r, e, pkt);
        if (rc <= 0)
            return rc;
    }

    if (r->flows && pkt->reason == CT_REASON_NONE)
        ct_flow_keyer_prefetch(r->flows, pkt);
    if (!o->tunnels || depth >= MAX_DEPTH || pkt->reason != CT_REASON_NONE ||
        pkt->frag != CT_FRAG_NONE)
        return 0;
    struct ct_frame inner;
    uint8_t kind = pkt->encap;
    int found = ct_pkt_inner_frame(pkt, &inner) == 0;
    if (!found && pkt->tuple.proto == CT_IPPROTO_UDP &&
        ct_pkt_decap(pkt, CT_ENCAP_TEREDO, &inner) == 0) {
        /* Teredo on any port: clients talk to relays and peers on other
           ports, and Zeek tries Teredo on every UDP packet. */
        found = 1;
        kind = CT_ENCAP_TEREDO;
    }
    if (!found)
        return 0;
    /* A tunnel packet with a bad checksum carries nothing (Zeek, Suricata
       and a decapsulating host drop it). */
    if (!o->no_checksum && !ct_pkt_verify_checksum(pkt))
        return 0;
    if (kind == CT_ENCAP_IPIP || kind == CT_ENCAP_GRE)
        e->carrier = 1;
    return add_frame(r, &inner, NULL, pktno, depth + 1, (int)i, kind);
}

/*
 * Moves the clock to `now` before a frame of that time: when the timestamp
 * moves on, finishes the previous one and expires; else hands over a full
 * burst.
 */
static int set_time(struct cli_pipeline *r, uint64_t now)
{
    if (r->counts.packets == 0 || now != r->last_now) {
        /* The timestamp moves on: finish the previous one, then expire. */
        if (r->n > 0 && flush_burst(r) < 0)
            return -1;
        print_ends(r);
        if (now >= r->next_expire) {
            r->next_expire = ct_expire(r->table, now, 0);
            print_ends(r);
        }
        if (r->flows)
            ct_flow_keyer_advance(r->flows, now);
    } else if (r->nframes >= r->opts->burst || r->n + MAX_PER_FRAME > CT_BURST_MAX) {
        if (flush_burst(r) < 0)
            return -1;
    }
    r->last_now = now;
    return 0;
}

/* Adds one frame to the burst, flushing first if its timestamp differs. */
static int add_packet(struct cli_pipeline *r, const struct cli_frame *h)
{
    uint64_t now = h->ts;
    if ((r->counts.packets > 0 || r->loaded) && now < r->last_now) {
        now = r->last_now;
        r->clamped++;
    }
    if (set_time(r, now) < 0)
        return -1;

    struct slot *s = &r->slots[r->nframes];
    if (h->caplen > s->cap) {
        size_t cap = h->caplen < 2048 ? 2048 : h->caplen;
        uint8_t *nb = realloc(s->buf, cap);
        if (!nb) {
            cli_error("out of memory copying a %u-byte packet", (unsigned)h->caplen);
            return -1;
        }
        s->buf = nb;
        s->cap = cap;
    }
    if (h->caplen)
        memcpy(s->buf, h->data, h->caplen);

    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = s->buf;
    f.len = h->caplen;
    f.wire_len = h->wire_len;
    f.link = h->link;
    f.iif = (uint16_t)h->iface;
    s->caplen = h->caplen;
    s->wire_len = h->wire_len;
    s->ts = h->ts;
    s->ent = r->n;
    r->burst_now = now;
    r->nframes++;
    r->counts.packets++;
    unsigned before = r->n;
    if (add_frame(r, &f, r->sink ? s->buf : NULL, r->counts.packets, 0, -1, CT_ENCAP_NONE) < 0)
        return -1;
    r->counts.inner += r->n - before - 1;
    return 0;
}

/* Opens a Zeek TSV log at the first frame (`#open` is its time). */
static void write_header(struct cli_pipeline *r)
{
    if (r->header_done || r->opts->format != CLI_FORMAT_ZEEK)
        return;
    cli_print_zeek_header(r->out, r->opts->zeek_columns, r->open_time);
    r->header_done = 1;
}

/* The flow keyer's writer: one Zeek TSV line or one JSON object. */
static void write_flow(void *arg, const struct ct_flow_record *rec)
{
    struct cli_pipeline *r = arg;
    write_header(r);
    cli_print_flow(r->out, r->opts->format, r->opts->zeek_columns, rec);
}

int cli_pipeline_feed(struct cli_pipeline *r, const struct cli_frame *f)
{
    if (r->failed)
        return -1;
    if (r->counts.packets == 0 && r->flows) {
        r->open_time = f->ts;
        write_header(r);
    }
    if (add_packet(r, f) < 0) {
        r->failed = 1;
        return -1;
    }
    return 0;
}

int cli_pipeline_end_input(struct cli_pipeline *r)
{
    int rc = 0;
    if (!r->failed && flush_burst(r) < 0)
        rc = -1;
    print_ends(r);
    /* Whatever has timed out by the last packet goes now, without a budget:
     * the table is then what a live tracker would hold at that time. */
    if (r->counts.packets > 0) {
        (void)ct_expire(r->table, r->last_now, UINT_MAX);
        print_ends(r);
        /* The sweep is exact to a wheel tick; the rest timed out within the
         * last tick. They end now, listed with the drained ones. */
        (void)ct_expire_all(r->table, r->last_now);
    }
    return rc;
}

/* The connections left at the end, copied out for sorting. */
struct conn_list {
    struct ct_conn_info *v;
    size_t n, cap;
    const struct ct_table *table;
};

static int collect_conn(struct ct_conn *conn, void *arg)
{
    struct conn_list *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct ct_conn_info *nv = realloc(l->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    if (ct_conn_get_info(l->table, conn, &l->v[l->n]) == 0)
        l->n++;
    return 0;
}

/* Stable order: first packet time, then the original tuple's bytes. */
static int cmp_conn(const void *a, const void *b)
{
    const struct ct_conn_info *x = a, *y = b;
    if (x->first_seen != y->first_seen)
        return x->first_seen < y->first_seen ? -1 : 1;
    int c = memcmp(&x->tuple[CT_DIR_ORIGINAL], &y->tuple[CT_DIR_ORIGINAL],
                   sizeof(x->tuple[CT_DIR_ORIGINAL]));
    if (c)
        return c;
    return memcmp(&x->tuple[CT_DIR_REPLY], &y->tuple[CT_DIR_REPLY], sizeof(x->tuple[CT_DIR_REPLY]));
}

static int cmp_end(const void *a, const void *b)
{
    const struct cli_end *x = a, *y = b;
    return cmp_conn(&x->ci, &y->ci);
}

/* The flowlog configuration the options ask for. */
static void flow_config(const struct cli_read_opts *opts, struct ct_flowlog_config *fc)
{
    fc->capacity = opts->max_connections;
    fc->uid_seed = 1;
    fc->community_id_seed = opts->community_id_seed;
    if (opts->report_gaps)
        fc->flags |= CT_FLOWLOG_F_REPORT_GAPS_FOR_PARTIAL;
    if (opts->no_local_nets)
        fc->flags |= CT_FLOWLOG_F_NO_LOCAL_NETS;
    if (opts->no_zeek_timers)
        fc->flags |= CT_FLOWLOG_F_NO_ZEEK_TIMERS;
    if (!(opts->zeek_columns & CT_ZEEK_F_COMMUNITY_ID) && opts->format == CLI_FORMAT_ZEEK)
        fc->flags |= CT_FLOWLOG_F_NO_COMMUNITY_ID;
    uint32_t *ms[CLI_FT_COUNT] = {&fc->tcp_inactivity_ms, &fc->udp_inactivity_ms,
                                  &fc->icmp_inactivity_ms, &fc->tcp_attempt_ms,
                                  &fc->tcp_close_ms, &fc->dns_session_ms};
    for (unsigned i = 0; i < CLI_FT_COUNT; i++)
        if (opts->flow_timeouts[i] >= 0)
            *ms[i] = (uint32_t)opts->flow_timeouts[i];
}

/* The open flow records, in order of their first packet, and #close. */
static int finish_flows(struct cli_pipeline *r, uint64_t now)
{
    int rc = 0;
    write_header(r);
    if (ct_flow_keyer_finish(r->flows, now) != 0) {
        cli_error("out of memory ending the flow records");
        rc = -1;
    }
    struct ct_flow_keyer_stats ks;
    ct_flow_keyer_stats(r->flows, &ks);
    r->listed = ks.written;
    if (r->opts->format == CLI_FORMAT_ZEEK)
        cli_print_zeek_footer(r->out, r->counts.packets ? now : r->open_time);
    return rc;
}

/* The flow log: the connections still in the table end here (those that
 * timed out within the last tick above), printed in the table's order. */
static int finish_drain(struct cli_pipeline *r, uint64_t now)
{
    (void)ct_table_drain(r->table, now);
    if (r->nends > 1)
        qsort(r->ends, r->nends, sizeof(r->ends[0]), cmp_end);
    print_ends(r);
    r->listed = r->logged;
    if (r->ends_oom) {
        cli_error("out of memory keeping the flow log; some connections are missing");
        return -1;
    }
    return 0;
}

/* The connections alive at the last packet, in a stable order. */
static int finish_table(struct cli_pipeline *r, uint64_t now)
{
    int rc = 0;
    struct conn_list list = {.table = r->table};
    if (ct_table_foreach(r->table, collect_conn, &list) != 0) {
        cli_error("out of memory listing the connections");
        rc = -1;
    }
    if (list.n > 1)
        qsort(list.v, list.n, sizeof(list.v[0]), cmp_conn);
    for (size_t i = 0; i < list.n; i++)
        cli_print_conn(r->out, r->opts->format, &list.v[i], now);
    r->listed = list.n;
    free(list.v);
    return rc;
}

int cli_pipeline_finish(struct cli_pipeline *r)
{
    if (r->flows)
        return finish_flows(r, r->last_now);
    if (r->opts->at_end == CLI_AT_END_DRAIN)
        return finish_drain(r, r->last_now);
    if (r->opts->events) {
        /* Every event is out already; the summary counts the connections. */
        struct ct_table_stats st;
        if (ct_table_stats(r->table, &st) == 0)
            r->listed = st.created;
        return 0;
    }
    return finish_table(r, r->last_now);
}

int cli_pipeline_load_state(struct cli_pipeline *r, const char *path)
{
    /* The clock goes on from the snapshot's time: a packet stamped before
     * it is clamped, as one stamped before its predecessor. */
    if (cli_state_load(r->table, path, r->opts->max_connections, &r->last_now) < 0)
        return -1;
    r->loaded = 1;
    return 0;
}

int cli_pipeline_save_state(struct cli_pipeline *r, const char *path)
{
    return cli_state_save(r->table, path, r->last_now);
}

void cli_pipeline_write_to(struct cli_pipeline *r, struct cli_sink *sink)
{
    cli_sink_abort(r->sink);
    r->sink = sink;
}

int cli_pipeline_commit_write(struct cli_pipeline *r)
{
    struct cli_sink *k = r->sink;
    r->sink = NULL;
    if (!k || cli_sink_commit(k) < 0)
        return k ? -1 : 0;
    r->write_done = 1;
    return 0;
}

/* The NAT counters of the summary, when the table has NAT on (the rules
   have nat chains). */
static void print_nat(const struct cli_pipeline *r)
{
    struct ct_nat_stats ns;
    if (ct_nat_stats(r->table, &ns) == 0)
        cli_print_nat(stderr, &ns);
}

void cli_pipeline_summary(const struct cli_pipeline *r, const char *name)
{
    struct ct_table_stats st;
    memset(&st, 0, sizeof(st));
    ct_table_stats(r->table, &st);
    if (!r->opts->quiet) {
        cli_print_summary(stderr, name, &r->counts, &st, r->listed);
        if (r->defrag) {
            struct ct_defrag_stats ds;
            ct_defrag_stats(r->defrag, &ds);
            if (ds.fragments)
                fprintf(stderr,
                        "defrag: fragments=%" PRIu64 " reassembled=%" PRIu64 " timed_out=%" PRIu64
                        " evicted=%" PRIu64 " dropped=%" PRIu64 " pending=%u\n",
                        ds.fragments, ds.reassembled, ds.timed_out, ds.evicted,
                        ds.overlaps + ds.duplicates + ds.invalid + ds.too_many + ds.snapped,
                        ds.datagrams);
        }
        if (r->counts.inner)
            fprintf(stderr, "tunnels: %" PRIu64 " inner packets tracked\n", r->counts.inner);
        print_nat(r);
        if (r->write_done)
            fprintf(stderr, "write: %" PRIu64 " packets to %s, %" PRIu64 " dropped\n", r->written,
                    r->opts->write_file, r->dropped);
        else if (r->opts->write_file)
            fprintf(stderr, "write: nothing written to %s: the run failed\n", r->opts->write_file);
        struct ct_flow_keyer_stats ks = {0};
        if (r->flows)
            ct_flow_keyer_stats(r->flows, &ks);
        if (ks.slots_full)
            fprintf(stderr,
                    "note: %" PRIu64 " packets of new connections were not logged: all %" PRIu32
                    " flow slots were in use (raise --max-connections)\n",
                    ks.slots_full, r->opts->max_connections);
        struct ct_event_stats es;
        if (r->opts->events && ct_table_event_stats(r->table, &es) == 0)
            fprintf(stderr, "events: %" PRIu64 " printed, %" PRIu64 " lost\n", es.delivered,
                    es.lost);
        if (r->clamped)
            fprintf(stderr,
                    "note: %" PRIu64 " packets were stamped earlier than the packet before "
                    "them and were processed at that packet's time\n",
                    r->clamped);
    }
    if (r->opts->stats)
        cli_print_stats(stderr, &st);
}

/* The table the options describe; NULL after reporting why. */
static struct ct_table *create_table(const struct cli_read_opts *opts)
{
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = opts->max_connections;
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        if (opts->timeouts[i])
            cfg.timeouts[i] = opts->timeouts[i];
    if (opts->no_checksum)
        cfg.flags |= CT_TABLE_F_NO_CHECKSUM;
    int err = 0;
    struct ct_table *table = ct_table_create(&cfg, &err);
    if (!table) {
        cli_error("cannot create a table for %" PRIu32 " connections: %s%s", opts->max_connections,
                  ct_strerror(err), err == -ENOMEM ? " (try a smaller --max-connections)" : "");
        return NULL;
    }
    /* Rules are the CLI's only NAT policy: attaching rules with `type nat`
       chains turns the table's NAT on with its defaults (ctrack/rules.h). */
    if (opts->ruleset && (err = ct_ruleset_attach(table, opts->ruleset)) != 0) {
        cli_error("%s: cannot apply the rules: %s", opts->rules_file, ct_strerror(err));
        ct_table_destroy(table);
        return NULL;
    }
    return table;
}

/* The flow keyer for flow records, writing through write_flow(). */
static int create_flows(struct cli_pipeline *r)
{
    const struct cli_read_opts *opts = r->opts;
    struct ct_flow_keyer_config kc;
    ct_flow_keyer_config_init(&kc);
    flow_config(opts, &kc.flowlog);
    kc.write = write_flow;
    kc.write_arg = r;
    if (opts->format == CLI_FORMAT_JSON) {
        kc.flags |= CT_FLOW_KEYER_F_CT_INFO;
        kc.table = r->table;
    }
    int err = 0;
    r->flows = ct_flow_keyer_create(&kc, &err);
    if (!r->flows) {
        cli_error("cannot create the flow log for %" PRIu32 " connections: %s%s",
                  opts->max_connections, ct_strerror(err),
                  err == -ENOMEM ? " (try a smaller --max-connections)" : "");
        return -1;
    }
    return 0;
}

struct cli_pipeline *cli_pipeline_create(const struct cli_read_opts *opts, FILE *out)
{
    struct ct_table *table = create_table(opts);
    if (!table)
        return NULL;
    struct cli_pipeline *r = calloc(1, sizeof(*r));
    if (!r) {
        cli_error("out of memory");
        ct_table_destroy(table);
        return NULL;
    }
    r->opts = opts;
    r->out = out;
    r->table = table;
    r->parse_flags = opts->no_checksum ? CT_PARSE_F_NO_IP_CHECKSUM : 0;
    if (opts->at_end == CLI_AT_END_DRAIN && !opts->flows)
        ct_table_set_destroy_cb(table, on_end, r);
    if (opts->events) {
        int err = ct_table_set_event_cb(table, on_events, r, CT_EVENT_ALL, event_capacity(opts));
        if (err) {
            cli_error("cannot set up the events: %s", ct_strerror(err));
            cli_pipeline_destroy(r);
            return NULL;
        }
    }
    if (!opts->no_defrag) {
        struct ct_defrag_config dc;
        ct_defrag_config_init(&dc);
        int err = 0;
        r->defrag = ct_defrag_create(&dc, &err);
        if (!r->defrag) {
            cli_error("cannot create the reassembler: %s", ct_strerror(err));
            cli_pipeline_destroy(r);
            return NULL;
        }
    }
    if (opts->flows && create_flows(r) < 0) {
        cli_pipeline_destroy(r);
        return NULL;
    }
    return r;
}

void cli_pipeline_destroy(struct cli_pipeline *r)
{
    if (!r)
        return;
    cli_sink_abort(r->sink);
    free(r->ends);
    for (unsigned i = 0; i < CT_BURST_MAX; i++)
        free(r->ents[i].rbuf);
    ct_flow_keyer_destroy(r->flows);
    ct_defrag_destroy(r->defrag);
    for (unsigned i = 0; i < CT_BURST_MAX; i++)
        free(r->slots[i].buf);
    ct_table_destroy(r->table);
    free(r);
}
