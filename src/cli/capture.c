/*
 * `ctrack read`: reads a pcap or pcapng capture through libpcap and replays
 * it through a connection table, then prints the table.
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
 * libpcap hands out each packet's bytes only until the next read, so every
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
 * Flow records (--format zeek, --flows): see flows.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/inet.h"
#include "cli/cli.h"
#include "cli/flows.h"

#define NS_PER_SEC UINT64_C(1000000000)

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

/* One packet of the burst being gathered. */
struct slot {
    uint8_t *buf;
    size_t cap;
};

struct reader {
    const struct cli_read_opts *opts;
    struct ct_table *table;
    struct ct_defrag *defrag;  /* NULL with --no-defrag */
    struct cli_flows *flows;   /* flow records, or NULL */
    unsigned parse_flags;      /* CT_PARSE_F_* */
    uint16_t link;
    struct slot slots[CT_BURST_MAX];
    struct ct_pkt pkts[CT_BURST_MAX];
    struct ct_verdict verdicts[CT_BURST_MAX];
    struct ent ents[CT_BURST_MAX];
    unsigned nframes;        /* capture packets in the current burst */
    unsigned n;              /* parsed packets in the current burst */
    uint64_t burst_now;      /* their common timestamp */
    uint64_t last_now;       /* timestamp of the latest packet read */
    uint64_t clamped;        /* packets stamped earlier than their predecessor */
    uint64_t next_expire;    /* when ct_expire() asked to be called again */
    struct cli_counts counts;
    /* Flow log (--at-end drain): ended connections not printed yet. */
    struct cli_end *ends;
    size_t nends, cap_ends;
    int ends_oom;            /* a record could not be kept */
    uint64_t logged;         /* flow-log lines printed */
};

/* Destroy callback: keeps a copy of every connection that ends. */
static void on_end(void *arg, const struct ct_table *table, const struct ct_conn *conn,
                   unsigned reason, uint64_t now)
{
    struct reader *r = arg;
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

/* Prints the ended connections kept so far, in the order they ended. */
static void print_ends(struct reader *r)
{
    for (size_t i = 0; i < r->nends; i++)
        cli_print_end(stdout, r->opts->format, &r->ends[i]);
    r->logged += r->nends;
    r->nends = 0;
}

/*
 * Maps libpcap's DLT_* value (pcap_datalink() translates the file's
 * LINKTYPE_* into it) to the library's enum ct_link, which is numbered as
 * LINKTYPE_*. Returns -1 for a link type the parser does not read.
 */
static int map_link(int dlt)
{
    switch (dlt) {
    case DLT_NULL:
        return CT_LINK_NULL;
    case DLT_EN10MB:
        return CT_LINK_ETHERNET;
    case DLT_RAW:
        return CT_LINK_RAW;
#if DLT_LOOP != DLT_RAW
    case DLT_LOOP:
        return CT_LINK_LOOP;
#endif
    case DLT_LINUX_SLL:
        return CT_LINK_LINUX_SLL;
    case DLT_IPV4:
        return CT_LINK_IPV4;
    case DLT_IPV6:
        return CT_LINK_IPV6;
    case DLT_LINUX_SLL2:
        return CT_LINK_LINUX_SLL2;
    default:
        return -1;
    }
}

/*
 * Opens the capture, reporting why it cannot be read in one line: the
 * operating system's reason for a file that cannot be opened, "empty" or
 * "not a pcap or pcapng capture" for the rest, with libpcap's own words.
 */
static pcap_t *open_capture(const char *file)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    errbuf[0] = '\0';

    if (strcmp(file, "-") != 0) {
        struct stat sb;
        if (stat(file, &sb) != 0) {
            cli_error("%s: cannot open: %s", file, strerror(errno));
            return NULL;
        }
        if (S_ISDIR(sb.st_mode)) {
            cli_error("%s: is a directory, not a capture file", file);
            return NULL;
        }
        FILE *f = fopen(file, "rb");
        if (!f) {
            cli_error("%s: cannot open: %s", file, strerror(errno));
            return NULL;
        }
        fclose(f);
        if (S_ISREG(sb.st_mode) && sb.st_size == 0) {
            cli_error("%s: the file is empty, not a pcap or pcapng capture", file);
            return NULL;
        }
    }

    pcap_t *p;
    FILE *fp = strcmp(file, "-") != 0 ? fopen(file, "rb") : NULL;
    if (fp) {
        /* libpcap reads records through stdio; a 1 MiB buffer instead of
         * the default few KiB saves a system call per few packets. */
        (void)setvbuf(fp, NULL, _IOFBF, 1u << 20);
        p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!p)
            fclose(fp);
    } else {
        p = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    }
    if (!p) {
        /* libpcap's message may end in a newline or repeat the name; keep it one line. */
        errbuf[strcspn(errbuf, "\n")] = '\0';
        cli_error("%s: not a readable pcap or pcapng capture (libpcap: %s)",
                  strcmp(file, "-") == 0 ? "standard input" : file, errbuf);
    }
    return p;
}

static const char *encap_name(unsigned e)
{
    static const char *const names[] = {"none", "ipip", "gre", "vxlan", "geneve", "teredo",
                                        "gtpu"};
    return e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

/* Hands the gathered burst to the library and accounts for its verdicts. */
static int flush_burst(struct reader *r)
{
    if (r->n == 0)
        return 0;
    /* Runs of packets for the table go in one call each; held and dropped
     * fragments between them are not the table's. All share one `now`. */
    for (unsigned i = 0; i < r->n;) {
        if (r->ents[i].kind != ENT_TABLE) {
            memset(&r->verdicts[i], 0, sizeof(r->verdicts[i]));
            i++;
            continue;
        }
        unsigned j = i;
        while (j < r->n && r->ents[j].kind == ENT_TABLE)
            j++;
        int rc = ct_process_parsed(r->table, &r->pkts[i], &r->verdicts[i], j - i, r->burst_now,
                                   CT_PROCESS_COMMIT);
        if (rc < 0) {
            cli_error("internal error: ct_process_parsed: %s", ct_strerror(rc));
            return -1;
        }
        i = j;
    }
    for (unsigned i = 0; i < r->n; i++) {
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
                cli_print_trace_held(stdout, e->pktno, r->burst_now, pkt, extra);
            continue;
        }
        if (e->kind == ENT_DROPPED) {
            v->state = CT_STATE_INVALID;
            v->reason = e->reason;
            r->counts.reasons[e->reason]++;
        }
        if (v->state < sizeof(r->counts.verdicts) / sizeof(r->counts.verdicts[0]))
            r->counts.verdicts[v->state]++;
        if (r->opts->trace)
            cli_print_trace(stdout, e->pktno, r->burst_now, pkt, v, extra);
        if (r->flows && e->kind == ENT_TABLE && pkt->reason == CT_REASON_NONE) {
            uint32_t parent = e->parent >= 0 ? r->ents[e->parent].slot : CLI_FLOW_NONE;
            e->slot = cli_flows_packet(r->flows, pkt, v, r->burst_now, parent, e->carrier);
        }
    }
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
 * Parses `frame` into the next entry of the burst, reassembles it if it is
 * a fragment, and follows its tunnel layers. Returns 0 or -1 (out of memory).
 */
static int add_frame(struct reader *r, const struct ct_frame *frame, uint64_t pktno,
                     unsigned depth, int parent, uint8_t encap)
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
    e->slot = CLI_FLOW_NONE;
    ct_pkt_parse_flags(frame, pkt, r->parse_flags);
    if (encap == CT_ENCAP_TEREDO && pkt->reason == CT_REASON_NONE &&
        pkt->tuple.proto == CT_IPPROTO_NONE && pkt->ip_len == 40) {
        /* A Teredo bubble (RFC 4380 section 2.8): an empty IPv6 packet that
           only keeps NAT mappings open. It carries no connection; Zeek does
           not log one either. */
        r->n--;
        return 0;
    }
    if (o->vlan_key && pkt->nvlan)
        ct_pkt_set_zone(pkt, ct_pkt_vlan_zone(pkt));

    if (pkt->frag != CT_FRAG_NONE && r->defrag) {
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
    }

    if (r->flows && pkt->reason == CT_REASON_NONE)
        cli_flows_prefetch(r->flows, pkt);
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
    return add_frame(r, &inner, pktno, depth + 1, (int)i, kind);
}

/* Adds one packet to the burst, flushing first if its timestamp differs. */
static int add_packet(struct reader *r, const struct pcap_pkthdr *h, const uint8_t *data)
{
    uint64_t sec = h->ts.tv_sec > 0 ? (uint64_t)h->ts.tv_sec : 0;
    uint64_t nsec = h->ts.tv_usec > 0 ? (uint64_t)h->ts.tv_usec : 0; /* ns at NANO precision */
    uint64_t now = sec * NS_PER_SEC + nsec;
    if (r->counts.packets > 0 && now < r->last_now) {
        now = r->last_now;
        r->clamped++;
    }

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
            cli_flows_advance(r->flows, now);
    } else if (r->nframes >= r->opts->burst || r->n + MAX_PER_FRAME > CT_BURST_MAX) {
        if (flush_burst(r) < 0)
            return -1;
    }
    r->last_now = now;

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
        memcpy(s->buf, data, h->caplen);

    struct ct_frame f;
    memset(&f, 0, sizeof(f));
    f.data = s->buf;
    f.len = h->caplen;
    /* A record whose wire length is below its captured length is damaged;
     * treat it as not cut short rather than pass an impossible length. */
    f.wire_len = h->len < h->caplen ? h->caplen : h->len;
    f.link = r->link;
    r->burst_now = now;
    r->nframes++;
    r->counts.packets++;
    unsigned before = r->n;
    if (add_frame(r, &f, r->counts.packets, 0, -1, CT_ENCAP_NONE) < 0)
        return -1;
    r->counts.inner += r->n - before - 1;
    return 0;
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

/* Flow-record output: one Zeek TSV line or one JSON object per record. */
struct flow_writer {
    const struct cli_read_opts *opts;
    uint64_t open_time;
    int header_done;
};

static void write_header(struct flow_writer *w)
{
    if (w->header_done || w->opts->format != CLI_FORMAT_ZEEK)
        return;
    char buf[2048];
    int n = ct_flowlog_zeek_header(w->opts->zeek_columns, w->open_time, buf, sizeof(buf));
    if (n > 0)
        fwrite(buf, 1, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, stdout);
    w->header_done = 1;
}

static void write_flow(void *arg, const struct ct_flow_record *rec)
{
    struct flow_writer *w = arg;
    char buf[2048];
    int n;
    write_header(w);
    if (w->opts->format == CLI_FORMAT_ZEEK)
        n = ct_flow_record_format_zeek(rec, w->opts->zeek_columns, buf, sizeof(buf));
    else
        n = ct_flow_record_format_json(rec, w->opts->zeek_columns, buf, sizeof(buf));
    if (n > 0)
        fwrite(buf, 1, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, stdout);
}

/* The flowlog configuration the options ask for. */
static void flow_config(const struct cli_read_opts *opts, struct ct_flowlog_config *fc)
{
    ct_flowlog_config_init(fc);
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

int cli_read_run(const struct cli_read_opts *opts)
{
    const char *name = strcmp(opts->file, "-") == 0 ? "standard input" : opts->file;
    pcap_t *p = open_capture(opts->file);
    if (!p)
        return CLI_EXIT_USAGE;

    int dlt = pcap_datalink(p);
    int link = map_link(dlt);
    if (link < 0) {
        const char *dname = pcap_datalink_val_to_name(dlt);
        cli_error("%s: unsupported link-layer type %d (%s); ctrack reads Ethernet, raw IP, "
                  "loopback and Linux cooked captures",
                  name, dlt, dname ? dname : "unknown");
        pcap_close(p);
        return CLI_EXIT_USAGE;
    }

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
        pcap_close(p);
        return CLI_EXIT_FAIL;
    }

    struct reader *r = calloc(1, sizeof(*r));
    if (!r) {
        cli_error("out of memory");
        ct_table_destroy(table);
        pcap_close(p);
        return CLI_EXIT_FAIL;
    }
    r->opts = opts;
    r->table = table;
    r->link = (uint16_t)link;
    r->parse_flags = opts->no_checksum ? CT_PARSE_F_NO_IP_CHECKSUM : 0;
    if (opts->at_end == CLI_AT_END_DRAIN && !opts->flows)
        ct_table_set_destroy_cb(table, on_end, r);
    if (!opts->no_defrag) {
        struct ct_defrag_config dc;
        ct_defrag_config_init(&dc);
        r->defrag = ct_defrag_create(&dc, &err);
        if (!r->defrag) {
            cli_error("cannot create the reassembler: %s", ct_strerror(err));
            free(r);
            ct_table_destroy(table);
            pcap_close(p);
            return CLI_EXIT_FAIL;
        }
    }
    static struct flow_writer fw;
    static struct cli_flow_out fout;
    fw.opts = opts;
    fout.write = write_flow;
    fout.arg = &fw;
    fout.json = opts->format == CLI_FORMAT_JSON;
    if (opts->flows) {
        struct ct_flowlog_config fc;
        flow_config(opts, &fc);
        r->flows = cli_flows_create(&fc, table, &fout, &err);
        if (!r->flows) {
            cli_error("cannot create the flow log for %" PRIu32 " connections: %s%s",
                      opts->max_connections, ct_strerror(err),
                      err == -ENOMEM ? " (try a smaller --max-connections)" : "");
            ct_defrag_destroy(r->defrag);
            free(r);
            ct_table_destroy(table);
            pcap_close(p);
            return CLI_EXIT_FAIL;
        }
    }

    /* The table and trace go to stdout in large blocks. */
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

    int status = CLI_EXIT_OK;
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        if (r->counts.packets == 0 && r->flows) {
            fw.open_time = (uint64_t)(h->ts.tv_sec > 0 ? h->ts.tv_sec : 0) * NS_PER_SEC +
                           (uint64_t)(h->ts.tv_usec > 0 ? h->ts.tv_usec : 0);
            write_header(&fw);
        }
        if (add_packet(r, h, data) < 0) {
            status = CLI_EXIT_FAIL;
            break;
        }
    }
    if (status == CLI_EXIT_OK && flush_burst(r) < 0)
        status = CLI_EXIT_FAIL;
    print_ends(r);
    /* Whatever has timed out by the last packet goes now, without a budget:
     * the table is then what a live tracker would hold at that time. */
    uint64_t now = r->last_now;
    if (r->counts.packets > 0) {
        (void)ct_expire(table, now, UINT_MAX);
        print_ends(r);
        /* The sweep is exact to a wheel tick; the rest timed out within the
         * last tick. They end now, listed with the drained ones. */
        (void)ct_expire_all(table, now);
    }
    if (status == CLI_EXIT_OK && rc == PCAP_ERROR) {
        /* A damaged or cut-off file: report it, still print what was read. */
        char msg[PCAP_ERRBUF_SIZE + 1];
        snprintf(msg, sizeof(msg), "%s", pcap_geterr(p));
        msg[strcspn(msg, "\n")] = '\0';
        cli_error("%s: capture damaged after packet %" PRIu64 ": %s; the table covers the "
                  "packets before it",
                  name, r->counts.packets, msg);
        status = CLI_EXIT_FAIL;
    }

    struct conn_list list = {.table = table};
    uint64_t listed = 0;
    if (r->flows) {
        write_header(&fw);
        if (cli_flows_finish(r->flows, now) != 0) {
            cli_error("out of memory ending the flow records");
            status = CLI_EXIT_FAIL;
        }
        listed = cli_flows_written(r->flows);
        if (opts->format == CLI_FORMAT_ZEEK) {
            char buf[128];
            int n = ct_flowlog_zeek_footer(r->counts.packets ? now : fw.open_time, buf,
                                           sizeof(buf));
            if (n > 0 && (size_t)n < sizeof(buf))
                fputs(buf, stdout);
        }
    } else if (opts->at_end == CLI_AT_END_DRAIN) {
        /* The connections still in the table end here (those that timed out
         * within the last tick above), printed in the table's order. */
        (void)ct_table_drain(table, now);
        if (r->nends > 1)
            qsort(r->ends, r->nends, sizeof(r->ends[0]), cmp_end);
        print_ends(r);
        listed = r->logged;
        if (r->ends_oom) {
            cli_error("out of memory keeping the flow log; some connections are missing");
            status = CLI_EXIT_FAIL;
        }
    } else {
        if (ct_table_foreach(table, collect_conn, &list) != 0) {
            cli_error("out of memory listing the connections");
            status = CLI_EXIT_FAIL;
        }
        if (list.n > 1)
            qsort(list.v, list.n, sizeof(list.v[0]), cmp_conn);
        for (size_t i = 0; i < list.n; i++)
            cli_print_conn(stdout, opts->format, &list.v[i], now);
        listed = list.n;
    }

    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the output: %s", strerror(errno));
        status = CLI_EXIT_FAIL;
    }

    if (!opts->quiet) {
        struct ct_table_stats st;
        memset(&st, 0, sizeof(st));
        ct_table_stats(table, &st);
        cli_print_summary(stderr, name, &r->counts, &st, listed);
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
        if (r->flows && cli_flows_slots_full(r->flows))
            fprintf(stderr,
                    "note: %" PRIu64 " packets of new connections were not logged: all %" PRIu32
                    " flow slots were in use (raise --max-connections)\n",
                    cli_flows_slots_full(r->flows), opts->max_connections);
        if (r->clamped)
            fprintf(stderr,
                    "note: %" PRIu64 " packets were stamped earlier than the packet before "
                    "them and were processed at that packet's time\n",
                    r->clamped);
    }
    if (opts->stats) {
        struct ct_table_stats st;
        memset(&st, 0, sizeof(st));
        ct_table_stats(table, &st);
        cli_print_stats(stderr, &st);
    }

    free(list.v);
    free(r->ends);
    for (unsigned i = 0; i < CT_BURST_MAX; i++)
        free(r->ents[i].rbuf);
    cli_flows_destroy(r->flows);
    ct_defrag_destroy(r->defrag);
    for (unsigned i = 0; i < CT_BURST_MAX; i++)
        free(r->slots[i].buf);
    free(r);
    ct_table_destroy(table);
    pcap_close(p);
    return status;
}
