/*
 * Output formats of `ctrack read`: the connection table as
 * `conntrack -L -o extended` prints it or as JSON lines, the per-packet trace,
 * flow records (Zeek TSV or JSON lines, formatted by libctrack) and the
 * summary. docs/cli.md describes every field.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>

#include "cli/cli.h"

#define NS_PER_SEC UINT64_C(1000000000)

void cli_print_seconds(FILE *out, uint64_t ns)
{
    fprintf(out, "%" PRIu64 ".%09" PRIu64, ns / NS_PER_SEC, ns % NS_PER_SEC);
}

/* Whole seconds left before `ci` times out, counted from `now`, never negative. */
static uint64_t remaining_seconds(const struct ct_conn_info *ci, uint64_t now)
{
    return ci->expires > now ? (ci->expires - now) / NS_PER_SEC : 0;
}

/* Layer-3 name and the address-family number conntrack prints after it. */
static const char *l3_name(uint8_t l3, unsigned *family)
{
    if (l3 == CT_L3_IPV6) {
        *family = AF_INET6;
        return "ipv6";
    }
    if (l3 == CT_L3_IPV4) {
        *family = AF_INET;
        return "ipv4";
    }
    *family = 0;
    return "unknown";
}

static int proto_has_ports(uint8_t proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
           proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

static int proto_is_icmp(uint8_t proto)
{
    return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* ct_tuple_format() into a buffer large enough for any tuple. */
static const char *tuple_text(const struct ct_tuple *t, char *buf, size_t len)
{
    ct_tuple_format(t, buf, len);
    return buf;
}

/* Whether any conntrack label of the connection is set. */
static int has_labels(const struct ct_conn_info *ci)
{
    for (unsigned i = 0; i < sizeof(ci->labels); i++)
        if (ci->labels[i])
            return 1;
    return 0;
}

/* labels=N,M and helper=NAME, each followed by a space, when set. */
static void print_labels_helper(FILE *out, const struct ct_conn_info *ci)
{
    if (has_labels(ci)) {
        const char *sep = "labels=";
        for (unsigned bit = 0; bit < 8 * sizeof(ci->labels); bit++) {
            if (ci->labels[bit / 8] & (1u << (bit % 8))) {
                fprintf(out, "%s%u", sep, bit);
                sep = ",";
            }
        }
        fputc(' ', out);
    }
    const char *helper = ct_helper_name(ci->helper);
    if (helper)
        fprintf(out, "helper=%s ", helper);
}

/*
 * One line in the layout of conntrack-tools' default (extended) output,
 * fields separated by one space:
 *   l3name(padded to 8) l3num proto(padded to 8) protonum timeout [TCP state]
 *   orig-tuple packets= bytes= [UNREPLIED] reply-tuple packets= bytes=
 *   [ASSURED] mark= zone= [labels=] [helper=] use=
 * When the two directions live in different zones (a template's zone for
 * one direction only), the zone follows its tuple instead, as zone-orig=N or
 * zone-reply=N for each non-zero one, and zone= is 0, as conntrack prints
 * a zone with a direction (the kernel's CTA_TUPLE_ZONE) only in the tuple.
 * labels= lists the set label bits by number, helper= the helper's name,
 * both only when set.
 */
static void print_conntrack(FILE *out, const struct ct_conn_info *ci, uint64_t now,
                            const struct cli_end *end)
{
    char buf[256];
    unsigned family;
    const char *l3 = l3_name(ci->l3, &family);
    int split_zone = ci->zone[CT_DIR_ORIGINAL] != ci->zone[CT_DIR_REPLY];

    /* A flow-log line looks like a `conntrack -E` DESTROY event: no timeout. */
    if (end)
        fprintf(out, "[DESTROY] %-8s %u %-8s %u ", l3, family, ct_proto_name(ci->proto),
                (unsigned)ci->proto);
    else
        fprintf(out, "%-8s %u %-8s %u %" PRIu64 " ", l3, family, ct_proto_name(ci->proto),
                (unsigned)ci->proto, remaining_seconds(ci, now));
    const char *l4name = ct_proto_state_name(ci->proto, ci->l4state);
    if (l4name)
        fprintf(out, "%s ", l4name);

    fputs(tuple_text(&ci->tuple[CT_DIR_ORIGINAL], buf, sizeof(buf)), out);
    if (split_zone && ci->zone[CT_DIR_ORIGINAL])
        fprintf(out, " zone-orig=%u", (unsigned)ci->zone[CT_DIR_ORIGINAL]);
    fprintf(out, " packets=%" PRIu64 " bytes=%" PRIu64 " ", ci->packets[CT_DIR_ORIGINAL],
            ci->bytes[CT_DIR_ORIGINAL]);
    if (!(ci->status & CT_STATUS_SEEN_REPLY))
        fputs("[UNREPLIED] ", out);

    fputs(tuple_text(&ci->tuple[CT_DIR_REPLY], buf, sizeof(buf)), out);
    if (split_zone && ci->zone[CT_DIR_REPLY])
        fprintf(out, " zone-reply=%u", (unsigned)ci->zone[CT_DIR_REPLY]);
    fprintf(out, " packets=%" PRIu64 " bytes=%" PRIu64 " ", ci->packets[CT_DIR_REPLY],
            ci->bytes[CT_DIR_REPLY]);
    if (ci->status & CT_STATUS_ASSURED)
        fputs("[ASSURED] ", out);

    unsigned zone = split_zone ? 0 : ci->zone[CT_DIR_ORIGINAL];
    fprintf(out, "mark=%u zone=%u ", (unsigned)ci->mark, zone);
    print_labels_helper(out, ci);
    if (end) {
        fprintf(out, "end=%s t=", ct_end_reason_name(end->reason));
        cli_print_seconds(out, end->when);
        fputc('\n', out);
        return;
    }
    /* Every connection printed is held once, by the table: use=1. */
    fputs("use=1\n", out);
}

/* Linux's IPS_* names, indexed by bit number (CT_STATUS_*). */
static const char *const status_names[] = {
    "EXPECTED",     "SEEN_REPLY",   "ASSURED", "CONFIRMED",     "SRC_NAT",
    "DST_NAT",      "SEQ_ADJUST",   "SRC_NAT_DONE", "DST_NAT_DONE", "DYING",
    "FIXED_TIMEOUT", "TEMPLATE",    "UNTRACKED", "HELPER",
};

/* A tuple's addresses and ports (or ICMP type, code and id) as JSON
   members, without the braces. */
static void print_json_tuple(FILE *out, const struct ct_tuple *t)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    int af = t->l3 == CT_L3_IPV6 ? AF_INET6 : AF_INET;
    if (!inet_ntop(af, t->src.b, src, sizeof(src)))
        strcpy(src, "?");
    if (!inet_ntop(af, t->dst.b, dst, sizeof(dst)))
        strcpy(dst, "?");

    fprintf(out, "\"src\":\"%s\",\"dst\":\"%s\"", src, dst);
    if (proto_has_ports(t->proto))
        fprintf(out, ",\"sport\":%u,\"dport\":%u", (unsigned)t->sport, (unsigned)t->dport);
    else if (proto_is_icmp(t->proto))
        fprintf(out, ",\"type\":%u,\"code\":%u,\"id\":%u", (unsigned)(t->dport >> 8),
                (unsigned)(t->dport & 0xff), (unsigned)t->sport);
}

/* One direction's tuple and counters as a JSON object. */
static void print_json_dir(FILE *out, const struct ct_conn_info *ci, int dir)
{
    fputc('{', out);
    print_json_tuple(out, &ci->tuple[dir]);
    fprintf(out, ",\"zone\":%u,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
            (unsigned)ci->zone[dir], ci->packets[dir], ci->bytes[dir]);
}

/* Names of the CT_EVENT_* bits, as nft's `ct event set` spells them. */
static const char *const event_bit_names[] = {
    "new",    "related", "destroy", "reply",   "assured", "protoinfo",
    "helper", "mark",    "seqadj",  "secmark", "label",
};

/* The members an event adds before the connection's: its type, time and
 * the events behind it (and the end reason of a DESTROY). */
static void print_json_event(FILE *out, const struct ct_event *ev)
{
    fprintf(out, "\"event\":\"%s\",\"time\":", ct_event_type_name(ev->type));
    cli_print_seconds(out, ev->time);
    fputs(",\"events\":[", out);
    const char *sep = "";
    for (unsigned bit = 0; bit < sizeof(event_bit_names) / sizeof(event_bit_names[0]); bit++) {
        if (ev->events & (1u << bit)) {
            fprintf(out, "%s\"%s\"", sep, event_bit_names[bit]);
            sep = ",";
        }
    }
    fputs("],", out);
    if (ev->type == CT_EVENT_TYPE_DESTROY)
        fprintf(out, "\"end\":\"%s\",", ct_end_reason_name(ev->reason));
}

/*
 * One JSON object per line with the facts of the conntrack line plus the
 * status bits by name, the timeout kind in force and the first/last packet
 * times. Every string printed comes from fixed tables or inet_ntop(), so no
 * escaping is needed.
 */
static void print_json(FILE *out, const struct ct_conn_info *ci, uint64_t now,
                       const struct cli_end *end, const struct ct_event *ev)
{
    unsigned family;
    const char *l3 = l3_name(ci->l3, &family);
    const char *l4name = ct_proto_state_name(ci->proto, ci->l4state);

    fputc('{', out);
    if (ev)
        print_json_event(out, ev);
    fprintf(out, "\"l3\":\"%s\",\"proto\":\"%s\",\"protonum\":%u,\"timeout\":%" PRIu64
            ",\"timeout_kind\":\"%s\",",
            l3, ct_proto_name(ci->proto), (unsigned)ci->proto, remaining_seconds(ci, now),
            ct_timeout_name(ci->timeout));
    if (l4name)
        fprintf(out, "\"state\":\"%s\",", l4name);
    else
        fputs("\"state\":null,", out);

    fputs("\"status\":[", out);
    int first = 1;
    for (unsigned bit = 0; bit < sizeof(status_names) / sizeof(status_names[0]); bit++) {
        if (ci->status & (1u << bit)) {
            fprintf(out, "%s\"%s\"", first ? "" : ",", status_names[bit]);
            first = 0;
        }
    }
    fputs("],\"orig\":", out);
    print_json_dir(out, ci, CT_DIR_ORIGINAL);
    fputs(",\"reply\":", out);
    print_json_dir(out, ci, CT_DIR_REPLY);
    fputs(",\"first_seen\":", out);
    cli_print_seconds(out, ci->first_seen);
    fputs(",\"last_seen\":", out);
    cli_print_seconds(out, ci->last_seen);
    fprintf(out, ",\"mark\":%u", (unsigned)ci->mark);
    /* Template facts, only when set, so that output without templates keeps
     * its fields. */
    if (has_labels(ci)) {
        fputs(",\"labels\":[", out);
        const char *sep = "";
        for (unsigned bit = 0; bit < 8 * sizeof(ci->labels); bit++) {
            if (ci->labels[bit / 8] & (1u << (bit % 8))) {
                fprintf(out, "%s%u", sep, bit);
                sep = ",";
            }
        }
        fputc(']', out);
    }
    if (ct_helper_name(ci->helper))
        fprintf(out, ",\"helper\":\"%s\"", ct_helper_name(ci->helper));
    if (ci->policy)
        fprintf(out, ",\"timeout_policy\":%u", (unsigned)ci->policy);
    if (ci->flags & CT_INFO_F_EVENTS)
        fprintf(out, ",\"event_mask\":%u", (unsigned)ci->events);
    if (ci->flags & CT_INFO_F_MASTER) {
        /* A RELATED connection made from an expectation: whose helper announced it. */
        fputs(",\"master\":{", out);
        print_json_tuple(out, &ci->master);
        fputc('}', out);
    }
    if (end) {
        fprintf(out, ",\"end\":\"%s\",\"end_time\":", ct_end_reason_name(end->reason));
        cli_print_seconds(out, end->when);
    }
    fputs("}\n", out);
}

void cli_print_conn(FILE *out, enum cli_format format, const struct ct_conn_info *ci,
                    uint64_t now)
{
    if (format == CLI_FORMAT_JSON)
        print_json(out, ci, now, NULL, NULL);
    else
        print_conntrack(out, ci, now, NULL);
}

void cli_print_end(FILE *out, enum cli_format format, const struct cli_end *e)
{
    if (format == CLI_FORMAT_JSON)
        print_json(out, &e->ci, e->when, e, NULL);
    else
        print_conntrack(out, &e->ci, e->when, e);
}

/*
 * One event line as `conntrack -E -o timestamp,extended` prints it
 * (conntrack-tools 1.4 with libnetfilter_conntrack's default output, checked
 * against the kernel's own events):
 *   [SECONDS.MICROS]<TAB>%9s l3name l3num proto protonum [timeout] [state]
 *   orig-tuple [packets= bytes=] [UNREPLIED] reply-tuple [packets= bytes=]
 *   [ASSURED] [mark=] [zone=] [labels=] [helper=]
 * ctnetlink_conntrack_event() puts the counters in DESTROY messages only,
 * the remaining timeout in every message but a DESTROY of a connection that
 * timed out (nothing left of it), the mark when it is set or changed, the
 * zone when it is not 0; there is no use= in events.
 */
static void print_event_fields(FILE *out, const struct ct_event *ev)
{
    const struct ct_conn_info *ci = &ev->info;
    char buf[256], type[16];
    unsigned family;
    const char *l3 = l3_name(ci->l3, &family);
    int destroy = ev->type == CT_EVENT_TYPE_DESTROY;
    int split_zone = ci->zone[CT_DIR_ORIGINAL] != ci->zone[CT_DIR_REPLY];

    snprintf(type, sizeof(type), "[%s]", ct_event_type_name(ev->type));
    fprintf(out, "[%" PRIu64 ".%06" PRIu64 "]\t%9s %-8s %u %-8s %u ", ev->time / NS_PER_SEC,
            ev->time % NS_PER_SEC / 1000, type, l3, family, ct_proto_name(ci->proto),
            (unsigned)ci->proto);
    uint64_t left = remaining_seconds(ci, ev->time);
    if (!destroy || left)
        fprintf(out, "%" PRIu64 " ", left);
    /* ctnetlink_conntrack_event(): an UPDATE carries the protocol state
     * only when it changed (IPCT_PROTOINFO); NEW and DESTROY always. */
    const char *l4name = ct_proto_state_name(ci->proto, ci->l4state);
    if (l4name && (ev->type != CT_EVENT_TYPE_UPDATE || (ev->events & CT_EVENT_PROTOINFO)))
        fprintf(out, "%s ", l4name);
    for (unsigned d = 0; d < 2; d++) {
        fputs(tuple_text(&ci->tuple[d], buf, sizeof(buf)), out);
        if (split_zone && ci->zone[d])
            fprintf(out, " zone-%s=%u", d ? "reply" : "orig", (unsigned)ci->zone[d]);
        fputc(' ', out);
        if (destroy)
            fprintf(out, "packets=%" PRIu64 " bytes=%" PRIu64 " ", ci->packets[d], ci->bytes[d]);
        if (d == CT_DIR_ORIGINAL && !(ci->status & CT_STATUS_SEEN_REPLY))
            fputs("[UNREPLIED] ", out);
    }
    if (ci->status & CT_STATUS_ASSURED)
        fputs("[ASSURED] ", out);
    if (ci->mark || (ev->events & CT_EVENT_MARK))
        fprintf(out, "mark=%u ", (unsigned)ci->mark);
    if (!split_zone && ci->zone[CT_DIR_ORIGINAL])
        fprintf(out, "zone=%u ", (unsigned)ci->zone[CT_DIR_ORIGINAL]);
    print_labels_helper(out, ci);
}

/* The line of print_event_fields() without the space every field ends
 * with: conntrack's lines end with the last field. */
static void print_event_line(FILE *out, const struct ct_event *ev)
{
    char line[1024];
    FILE *m = fmemopen(line, sizeof(line), "w");
    if (!m) {
        print_event_fields(out, ev);
        fputc('\n', out);
        return;
    }
    print_event_fields(m, ev);
    long n = ftell(m);
    fclose(m);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(line))
        n = (long)sizeof(line) - 1;
    while (n > 0 && line[n - 1] == ' ')
        n--;
    fwrite(line, 1, (size_t)n, out);
    fputc('\n', out);
}

void cli_print_event(FILE *out, enum cli_format format, const struct ct_event *ev)
{
    if (format == CLI_FORMAT_JSON)
        print_json(out, &ev->info, ev->time, NULL, ev);
    else
        print_event_line(out, ev);
}

static const char *dir_name(unsigned dir)
{
    return dir == CT_DIR_REPLY ? "reply" : "original";
}

/*
 * Trace line layout (docs/cli.md):
 *   pkt=N t=SECONDS proto=NAME TUPLE dir=DIR ct=STATE l4=TCPSTATE [reason=NAME]
 * TUPLE is ct_tuple_format() of the packet's own tuple, or "-" with proto=-
 * when the frame did not parse. dir is "-" when the packet belongs to no
 * connection; l4 is "-" unless the packet is TCP and has a connection state.
 */
void cli_print_trace(FILE *out, uint64_t n, uint64_t now, const struct ct_pkt *pkt,
                     const struct ct_verdict *v, const char *extra)
{
    char buf[256];
    int parsed = pkt->reason == CT_REASON_NONE;

    fprintf(out, "pkt=%" PRIu64 " t=", n);
    cli_print_seconds(out, now);
    if (parsed)
        fprintf(out, " proto=%s %s", ct_proto_name(pkt->tuple.proto),
                tuple_text(&pkt->tuple, buf, sizeof(buf)));
    else
        fputs(" proto=- -", out);

    fprintf(out, " dir=%s ct=%s", v->conn ? dir_name(v->dir) : "-", ct_state_name(v->state));

    int has_l4 = parsed && pkt->tuple.proto == IPPROTO_TCP && v->state != CT_STATE_UNTRACKED &&
                 (v->conn != NULL || v->l4state != CT_TCP_NONE);
    fprintf(out, " l4=%s", has_l4 ? ct_tcp_state_name(v->l4state) : "-");

    if (v->state == CT_STATE_INVALID || v->state == CT_STATE_UNTRACKED)
        fprintf(out, " reason=%s", ct_reason_name(v->reason));
    if (extra && extra[0])
        fprintf(out, " %s", extra);
    fputc('\n', out);
}

/*
 * A fragment the reassembler keeps: the table does not see it, so there is
 * no direction or ct state ("ct=-"); "defrag=held" says where it went.
 */
void cli_print_trace_held(FILE *out, uint64_t n, uint64_t now, const struct ct_pkt *pkt,
                          const char *extra)
{
    char buf[256];
    fprintf(out, "pkt=%" PRIu64 " t=", n);
    cli_print_seconds(out, now);
    struct ct_tuple t = pkt->tuple;
    t.sport = t.dport = 0;
    fprintf(out, " proto=%s %s dir=- ct=- l4=- defrag=held", ct_proto_name(t.proto),
            tuple_text(&t, buf, sizeof(buf)));
    if (extra && extra[0])
        fprintf(out, " %s", extra);
    fputc('\n', out);
}

/* Writes the n bytes of `buf` a formatter asked for, cut to what fit. */
static void put_formatted(FILE *out, const char *buf, size_t size, int n)
{
    if (n > 0)
        fwrite(buf, 1, (size_t)n < size ? (size_t)n : size - 1, out);
}

void cli_print_zeek_header(FILE *out, unsigned columns, uint64_t open_time)
{
    char buf[2048];
    put_formatted(out, buf, sizeof(buf),
                  ct_flowlog_zeek_header(columns, open_time, buf, sizeof(buf)));
}

void cli_print_zeek_footer(FILE *out, uint64_t close_time)
{
    char buf[128];
    int n = ct_flowlog_zeek_footer(close_time, buf, sizeof(buf));
    if (n > 0 && (size_t)n < sizeof(buf))
        fputs(buf, out);
}

void cli_print_flow(FILE *out, enum cli_format format, unsigned columns,
                    const struct ct_flow_record *rec)
{
    char buf[2048];
    int n;
    if (format == CLI_FORMAT_ZEEK)
        n = ct_flow_record_format_zeek(rec, columns, buf, sizeof(buf));
    else
        n = ct_flow_record_format_json(rec, columns, buf, sizeof(buf));
    put_formatted(out, buf, sizeof(buf), n);
}

void cli_print_summary(FILE *out, const char *file, const struct cli_counts *counts,
                       const struct ct_table_stats *st, uint64_t listed)
{
    fprintf(out, "%s: %" PRIu64 " packets, %" PRIu64 " connections\n", file, counts->packets,
            listed);

    fputs("verdicts:", out);
    for (unsigned s = 0; s < sizeof(counts->verdicts) / sizeof(counts->verdicts[0]); s++)
        fprintf(out, " %s=%" PRIu64, ct_state_name(s), counts->verdicts[s]);
    fputc('\n', out);

    /* The table's reasons plus fragments the reassembler dropped before it. */
    fputs("reasons:", out);
    int any = 0;
    for (unsigned r = 1; r < CT_REASON_COUNT; r++) {
        uint64_t c = st->reasons[r] + counts->reasons[r];
        if (c) {
            fprintf(out, " %s=%" PRIu64, ct_reason_name(r), c);
            any = 1;
        }
    }
    fputs(any ? "\n" : " none\n", out);

    fprintf(out,
            "table: created=%" PRIu64 " peak=%u max=%u expired=%" PRIu64 " early_drop=%" PRIu64
            " refused_full=%" PRIu64 "\n",
            st->created, st->peak_connections, st->max_connections, st->expired,
            st->early_drop, st->refused_full);
}

void cli_print_nat(FILE *out, const struct ct_nat_stats *ns)
{
    fprintf(out,
            "nat: bindings=%" PRIu64 " null_remapped=%" PRIu64 " exhausted=%" PRIu64
            " bad_range=%" PRIu64 " probes=%" PRIu64 " rewritten=%" PRIu64
            " rewrite_failed=%" PRIu64 "\n",
            ns->bindings, ns->null_remapped, ns->exhausted, ns->bad_range, ns->probes,
            ns->rewritten, ns->rewrite_failed);
}

void cli_print_stats(FILE *out, const struct ct_table_stats *st)
{
    fprintf(out,
            "stats: packets=%" PRIu64 " found=%" PRIu64 " new=%" PRIu64 " not_committed=%" PRIu64
            " invalid=%" PRIu64 " untracked=%" PRIu64 " related=%" PRIu64 "\n",
            st->packets, st->found, st->created, st->not_committed, st->invalid, st->untracked,
            st->related);
    fprintf(out,
            "stats: size=%u peak=%u max=%u buckets=%u timers=%u memory_bytes=%" PRIu64 "\n",
            st->connections, st->peak_connections, st->max_connections, st->buckets, st->timers,
            st->memory_bytes);
    fprintf(out,
            "stats: ended=%" PRIu64 " closed=%" PRIu64 " expired=%" PRIu64 " replaced=%" PRIu64
            " evicted=%" PRIu64 " flushed=%" PRIu64 " drained=%" PRIu64 "\n",
            st->deleted, st->closed, st->expired, st->replaced, st->early_drop, st->flushed,
            st->drained);
    fprintf(out,
            "stats: refused_full=%" PRIu64 " refused_zone=%" PRIu64 " probe_limit=%" PRIu64
            " early_drop_scans=%" PRIu64 "\n",
            st->refused_full, st->refused_zone, st->probe_limit, st->early_drop_scans);
    fprintf(out,
            "stats: sweep calls=%" PRIu64 " examined=%" PRIu64 " expired=%" PRIu64
            " refiled=%" PRIu64 " backlog=%" PRIu64 " interval_ns=%" PRIu64
            " expired_inline=%" PRIu64 " refiled_shrink=%" PRIu64 "\n",
            st->sweep_calls, st->sweep_examined, st->sweep_expired, st->sweep_refiled,
            st->sweep_backlog, st->sweep_interval_ns, st->expired_inline, st->refiled_shrink);
    fputs("stats: reasons:", out);
    int any = 0;
    for (unsigned r = 1; r < CT_REASON_COUNT; r++) {
        if (st->reasons[r]) {
            fprintf(out, " %s=%" PRIu64, ct_reason_name(r), st->reasons[r]);
            any = 1;
        }
    }
    fputs(any ? "\n" : " none\n", out);
}
