/*
 * Text forms of flow records: Zeek's ASCII (TSV) conn.log with its header,
 * as Zeek's ASCII writer lays it out (a "#separator \x09" line, then
 * #set_separator, #empty_field, #unset_field, #path, #open, #fields and
 * #types, one record per line, "#close" at the end; unset fields "-",
 * sets joined by ","), and one JSON object per line with Zeek's field names
 * plus ctrack's own.
 *
 * Times print as Zeek prints time and interval values: seconds with six
 * decimals, rounded to the microsecond.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/compiler.h"
#include "base/inet.h"
#include "ctrack/conn.h"
#include "ctrack/flowlog.h"

/* An append-only text buffer that, like snprintf, counts what does not fit. */
struct out {
    char *buf;
    size_t len;
    size_t pos; /* bytes the full text needs so far */
};

static void out_add(struct out *o, const char *s, size_t n)
{
    if (o->pos < o->len) {
        size_t room = o->len - o->pos - 1;
        memcpy(o->buf + o->pos, s, n < room ? n : room);
    }
    o->pos += n;
}

static void out_str(struct out *o, const char *s)
{
    out_add(o, s, strlen(s));
}

static void out_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        out_add(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static int out_end(struct out *o)
{
    if (o->len)
        o->buf[o->pos < o->len ? o->pos : o->len - 1] = '\0';
    return o->pos > INT32_MAX ? -ERANGE : (int)o->pos;
}

/* Seconds with six decimals, rounded to the microsecond. */
static void out_time(struct out *o, uint64_t ns)
{
    uint64_t us = ns / 1000 + ((ns % 1000) >= 500);
    out_fmt(o, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static void out_addr(struct out *o, uint8_t l3, const union ct_addr *a)
{
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(l3 == CT_L3_IPV4 ? AF_INET : AF_INET6, a->b, text, sizeof(text)))
        strcpy(text, "-");
    out_str(o, text);
}

static const char *proto_name(uint8_t p)
{
    switch (p) {
    case CT_ZEEK_PROTO_TCP: return "tcp";
    case CT_ZEEK_PROTO_UDP: return "udp";
    case CT_ZEEK_PROTO_ICMP: return "icmp";
    default: return "unknown_transport";
    }
}

/* Column names and Zeek types, in conn.log order. */
static const char *const base_fields[] = {
    "ts",         "uid",          "id.orig_h",     "id.orig_p",  "id.resp_h",
    "id.resp_p",  "proto",        "service",       "duration",   "orig_bytes",
    "resp_bytes", "conn_state",   "local_orig",    "local_resp", "missed_bytes",
    "history",    "orig_pkts",    "orig_ip_bytes", "resp_pkts",  "resp_ip_bytes",
    "tunnel_parents",
};
static const char *const base_types[] = {
    "time",   "string", "addr",   "port",   "addr",   "port",  "enum",
    "string", "interval", "count", "count", "string", "bool",  "bool",
    "count",  "string", "count",  "count",  "count",  "count", "set[string]",
};
_Static_assert(CT_ARRAY_SIZE(base_fields) == CT_ARRAY_SIZE(base_types), "one type per field");

static void out_open_time(struct out *o, uint64_t ns)
{
    time_t t = (time_t)(ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&t, &tm);
    out_fmt(o, "%04d-%02d-%02d-%02d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec);
}

CT_EXPORT int ct_flowlog_zeek_header(unsigned options, uint64_t open_time, char *buf, size_t len)
{
    if (!buf && len)
        return -EINVAL;
    struct out o = {buf, len, 0};
    out_str(&o, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
                "#path\tconn\n#open\t");
    out_open_time(&o, open_time);
    out_str(&o, "\n#fields");
    for (unsigned i = 0; i < CT_ARRAY_SIZE(base_fields); i++) {
        out_str(&o, "\t");
        out_str(&o, base_fields[i]);
    }
    if (options & CT_ZEEK_F_IP_PROTO)
        out_str(&o, "\tip_proto");
    if (options & CT_ZEEK_F_COMMUNITY_ID)
        out_str(&o, "\tcommunity_id");
    out_str(&o, "\n#types");
    for (unsigned i = 0; i < CT_ARRAY_SIZE(base_types); i++) {
        out_str(&o, "\t");
        out_str(&o, base_types[i]);
    }
    if (options & CT_ZEEK_F_IP_PROTO)
        out_str(&o, "\tcount");
    if (options & CT_ZEEK_F_COMMUNITY_ID)
        out_str(&o, "\tstring");
    out_str(&o, "\n");
    return out_end(&o);
}

CT_EXPORT int ct_flowlog_zeek_footer(uint64_t close_time, char *buf, size_t len)
{
    if (!buf && len)
        return -EINVAL;
    struct out o = {buf, len, 0};
    out_str(&o, "#close\t");
    out_open_time(&o, close_time);
    out_str(&o, "\n");
    return out_end(&o);
}

static const char *flag_text(uint8_t v)
{
    return v == CT_FLOW_T ? "T" : v == CT_FLOW_F ? "F" : "-";
}

CT_EXPORT int ct_flow_record_format_zeek(const struct ct_flow_record *r, unsigned options,
                                         char *buf, size_t len)
{
    if (!r || (!buf && len))
        return -EINVAL;
    struct out o = {buf, len, 0};
    out_time(&o, r->ts);
    out_str(&o, "\t");
    out_str(&o, r->uid);
    out_str(&o, "\t");
    out_addr(&o, r->id.l3, &r->id.src);
    out_fmt(&o, "\t%u\t", r->id.sport);
    out_addr(&o, r->id.l3, &r->id.dst);
    out_fmt(&o, "\t%u\t%s\t-\t", r->id.dport, proto_name(r->proto));
    if (r->has_duration) {
        out_time(&o, r->last - r->ts);
        out_fmt(&o, "\t%" PRIu64 "\t%" PRIu64, r->orig_bytes, r->resp_bytes);
    } else {
        out_str(&o, "-\t-\t-");
    }
    out_fmt(&o, "\t%s\t%s\t%s\t%" PRIu64 "\t%s", ct_zeek_state_name(r->conn_state),
            flag_text(r->local_orig), flag_text(r->local_resp), r->missed_bytes,
            r->history[0] ? r->history : "-");
    out_fmt(&o, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t", r->orig_pkts,
            r->orig_ip_bytes, r->resp_pkts, r->resp_ip_bytes);
    if (r->n_parents) {
        for (unsigned i = 0; i < r->n_parents && i < CT_FLOW_MAX_PARENTS; i++) {
            if (i)
                out_str(&o, ",");
            out_str(&o, r->parents[i]);
        }
    } else {
        out_str(&o, "-");
    }
    if (options & CT_ZEEK_F_IP_PROTO)
        out_fmt(&o, "\t%u", r->ip_proto);
    if (options & CT_ZEEK_F_COMMUNITY_ID)
        out_fmt(&o, "\t%s", r->community_id[0] ? r->community_id : "-");
    out_str(&o, "\n");
    return out_end(&o);
}

/* Linux's IPS_* names of the public status bits, in bit order. */
static const char *const status_names[] = {
    "EXPECTED",     "SEEN_REPLY",   "ASSURED", "CONFIRMED", "SRC_NAT",  "DST_NAT",  "SEQ_ADJUST",
    "SRC_NAT_DONE", "DST_NAT_DONE", "DYING",   "FIXED_TIMEOUT", "TEMPLATE", "UNTRACKED", "HELPER",
};

CT_EXPORT int ct_flow_record_format_json(const struct ct_flow_record *r, unsigned options,
                                         char *buf, size_t len)
{
    if (!r || (!buf && len))
        return -EINVAL;
    struct out o = {buf, len, 0};
    out_str(&o, "{\"ts\":");
    out_time(&o, r->ts);
    out_fmt(&o, ",\"uid\":\"%s\",\"id.orig_h\":\"", r->uid);
    out_addr(&o, r->id.l3, &r->id.src);
    out_fmt(&o, "\",\"id.orig_p\":%u,\"id.resp_h\":\"", r->id.sport);
    out_addr(&o, r->id.l3, &r->id.dst);
    out_fmt(&o, "\",\"id.resp_p\":%u,\"proto\":\"%s\"", r->id.dport, proto_name(r->proto));
    if (r->has_duration) {
        out_str(&o, ",\"duration\":");
        out_time(&o, r->last - r->ts);
        out_fmt(&o, ",\"orig_bytes\":%" PRIu64 ",\"resp_bytes\":%" PRIu64, r->orig_bytes,
                r->resp_bytes);
    }
    out_fmt(&o, ",\"conn_state\":\"%s\"", ct_zeek_state_name(r->conn_state));
    if (r->local_orig != CT_FLOW_UNSET)
        out_fmt(&o, ",\"local_orig\":%s", r->local_orig ? "true" : "false");
    if (r->local_resp != CT_FLOW_UNSET)
        out_fmt(&o, ",\"local_resp\":%s", r->local_resp ? "true" : "false");
    out_fmt(&o, ",\"missed_bytes\":%" PRIu64, r->missed_bytes);
    if (r->history[0])
        out_fmt(&o, ",\"history\":\"%s\"", r->history);
    out_fmt(&o,
            ",\"orig_pkts\":%" PRIu64 ",\"orig_ip_bytes\":%" PRIu64 ",\"resp_pkts\":%" PRIu64
            ",\"resp_ip_bytes\":%" PRIu64,
            r->orig_pkts, r->orig_ip_bytes, r->resp_pkts, r->resp_ip_bytes);
    if (r->n_parents) {
        out_str(&o, ",\"tunnel_parents\":[");
        for (unsigned i = 0; i < r->n_parents && i < CT_FLOW_MAX_PARENTS; i++)
            out_fmt(&o, "%s\"%s\"", i ? "," : "", r->parents[i]);
        out_str(&o, "]");
    }
    if (options & CT_ZEEK_F_IP_PROTO)
        out_fmt(&o, ",\"ip_proto\":%u", r->ip_proto);
    if ((options & CT_ZEEK_F_COMMUNITY_ID) && r->community_id[0])
        out_fmt(&o, ",\"community_id\":\"%s\"", r->community_id);

    /* ctrack's own facts. */
    out_fmt(&o, ",\"ct_state\":\"%s\"", ct_state_name(r->ct_state));
    if (r->ip_proto == CT_IPPROTO_TCP)
        out_fmt(&o, ",\"l4_state\":\"%s\"", ct_tcp_state_name(r->l4state));
    else
        out_str(&o, ",\"l4_state\":null");
    out_fmt(&o, ",\"zone\":%u", r->zone[0]);
    if (r->zone[1] != r->zone[0])
        out_fmt(&o, ",\"zone_reply\":%u", r->zone[1]);
    out_fmt(&o, ",\"flipped\":%s,\"end_reason\":\"%s\",\"end\":", r->flipped ? "true" : "false",
            ct_flow_end_name(r->end_reason));
    out_time(&o, r->end);
    if (r->has_ct_info) {
        out_str(&o, ",\"ct_status\":[");
        unsigned n = 0;
        for (unsigned i = 0; i < CT_ARRAY_SIZE(status_names); i++)
            if (r->ct_status & (1u << i))
                out_fmt(&o, "%s\"%s\"", n++ ? "," : "", status_names[i]);
        out_fmt(&o, "],\"mark\":%u,\"timeout_kind\":\"%s\"", r->mark, ct_timeout_name(r->ct_timeout));
        out_fmt(&o,
                ",\"ct_orig\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
                "},\"ct_reply\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
                r->ct_packets[0], r->ct_bytes[0], r->ct_packets[1], r->ct_bytes[1]);
    }
    out_str(&o, "}\n");
    return out_end(&o);
}
