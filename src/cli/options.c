/*
 * Argument parsing for `ctrack read` (getopt_long) and the usage texts.
 *
 * Every error is one line on stderr that names the option or argument and
 * what is wrong with it, and the exit code is 2. getopt's own messages are
 * switched off (opterr = 0) so that the wording stays ours and stays on one
 * line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The default table size: 2^20 connections. */
#define CLI_DEFAULT_MAX_CONNECTIONS 1048576u
/* The largest table ct_table_create() accepts. */
#define CLI_LIMIT_MAX_CONNECTIONS (1u << 30)
/* The default burst size. */
#define CLI_DEFAULT_BURST 32u

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("ctrack: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_main_usage(FILE *out)
{
    fputs("Usage: ctrack COMMAND [OPTIONS]\n"
          "\n"
          "Userspace connection tracking with Linux nf_conntrack's rules.\n"
          "\n"
          "Commands:\n"
          "  read FILE     replay a pcap/pcapng capture through the tracker and print\n"
          "                the connection table at the end of the capture\n"
          "  show FILE     print the table saved in a snapshot (read --save-state)\n"
          "\n"
          "Options:\n"
          "  -h, --help    show this help (ctrack read --help for the command's options)\n"
          "  --version     show the version\n"
          "\n"
          "Exit status: 0 success, 1 damaged capture or output error, 2 usage or input error.\n",
          out);
}

void cli_read_usage(FILE *out)
{
    fprintf(out,
            "Usage: ctrack read [OPTIONS] FILE\n"
            "\n"
            "Replays the capture FILE (pcap or pcapng; '-' reads standard input) through\n"
            "the connection tracker, using each packet's timestamp as the clock, and\n"
            "prints the connection table as it stands at the last packet.\n"
            "\n"
            "Link types: Ethernet (with 802.1Q/802.1ad tags), raw IP, raw IPv4, raw IPv6,\n"
            "BSD/OpenBSD loopback, Linux cooked capture v1 and v2.\n"
            "\n"
            "Options:\n"
            "  --format FMT           table format: 'conntrack' (default; the lines of\n"
            "                         'conntrack -L -o extended') or 'json' (one object\n"
            "                         per connection per line); 'zeek': flow records as\n"
            "                         Zeek's conn.log instead of the table\n"
            "  --flows                flow records instead of the table, one per\n"
            "                         connection as Zeek defines it, when it ends: TSV\n"
            "                         conn.log (default) or, with --format json, JSON\n"
            "  --ip-proto             flow records: add the ip_proto column\n"
            "  --community-id         flow records: add the community_id column\n"
            "  --community-id-seed N  Community ID seed, 0..65535 (default 0)\n"
            "  --flow-timeout NAME=S  one of Zeek's timers, 1..4294967 s: tcp_inactivity\n"
            "                         (300), udp_inactivity (60), icmp_inactivity (60),\n"
            "                         tcp_attempt (5), tcp_close (5), dns_session (10;\n"
            "                         0 turns it off)\n"
            "  --report-gaps-for-partial  count content gaps of partial TCP connections\n"
            "  --no-zeek-timers       flow records end only at the end of the capture\n"
            "                         (one per connection key), not by Zeek's timers\n"
            "  --no-local-nets        local_orig/local_resp unset instead of private nets\n"
            "  --rules FILE           rules in nftables syntax choosing zones, notrack,\n"
            "                         marks, timeout policies, helpers and NAT (docs/rules.md);\n"
            "                         pcapng interface names are what iifname matches\n"
            "  --save-state FILE      write the table at the end of the capture to the\n"
            "                         snapshot FILE, atomically (docs/snapshot.md)\n"
            "  --load-state FILE      start from the table in the snapshot FILE, at its\n"
            "                         time; give the same --rules as when it was saved\n"
            "  --write OUT            write every packet that leaves (after NAT; not those\n"
            "                         a rule or helper dropped) to the pcap file OUT, in\n"
            "                         input order, atomically\n"
            "  --masquerade-addr ADDR the address the rules' masquerade translates to (the\n"
            "                         output interface's); once per family, IPv4 and IPv6\n"
            "  --redirect-addr ADDR   the address the rules' redirect in prerouting\n"
            "                         translates to (the input interface's); once per family\n"
            "  --vlan-key             VLAN tags are part of the connection key (zone)\n"
            "  --no-defrag            no IP reassembly: fragments are INVALID (fragment)\n"
            "  --tunnels, --no-tunnels  track connections inside IP-in-IP, GRE, VXLAN,\n"
            "                         Geneve, Teredo, GTP-U (default: on for flows)\n"
            "  --events               print the connection events instead of the table,\n"
            "                         as 'conntrack -E -o timestamp,extended' (NEW,\n"
            "                         UPDATE, DESTROY) with capture times, or one JSON\n"
            "                         object per event with --format json (docs/events.md)\n"
            "  --trace                print one line per packet before the table: number,\n"
            "                         time, tuple, direction, ct state, TCP state, reason\n"
            "  --burst N              packets per library call, 1..%u (default %u); packets\n"
            "                         are grouped only while their timestamps are equal,\n"
            "                         so the output never depends on N\n"
            "  --max-connections N    table size, 1..%u (default %u); when full,\n"
            "                         unassured connections are dropped first, then new\n"
            "                         ones are refused (counted in the summary)\n"
            "  --no-checksum          do not verify TCP/UDP/ICMP or IPv4 header checksums\n"
            "                         (use for captures taken on the sending host with\n"
            "                         checksum offload, where outgoing checksums look\n"
            "                         wrong; Zeek's -C)\n"
            "  --timeout NAME=SECS    override one timeout, 1..4294967295 seconds; NAME is\n"
            "                         tcp_syn_sent, tcp_syn_recv, tcp_established,\n"
            "                         tcp_fin_wait, tcp_close_wait, tcp_last_ack,\n"
            "                         tcp_time_wait, tcp_close, tcp_syn_sent2,\n"
            "                         tcp_retrans, tcp_unack, udp, udp_stream, icmp or\n"
            "                         generic (repeat the option for several)\n"
            "  --at-end WHAT          'table' (default): print the connections alive at\n"
            "                         the last packet; 'drain': print a flow log, every\n"
            "                         connection of the capture with how it ended\n"
            "                         (closed, expired, replaced, evicted, drained)\n"
            "  --stats                print every table counter on standard error\n"
            "  -q, --quiet            no summary on standard error\n"
            "  -h, --help             show this help\n"
            "  --version              show the version\n"
            "\n"
            "Output: the table on standard output, one line per connection, ordered by\n"
            "first packet; a summary (packets, connections, verdicts, invalid packets by\n"
            "reason) on standard error. Connections expire in capture time while the\n"
            "capture is read; remaining timeouts are counted from the time of the last\n"
            "packet in the capture. See docs/cli.md for every field.\n"
            "\n"
            "Examples:\n"
            "  ctrack read samples/sample.pcap\n"
            "  ctrack read --format json --no-checksum capture.pcapng\n"
            "  ctrack read --format zeek --community-id capture.pcap > conn.log\n"
            "  tcpdump -w - -i eth0 -c 1000 | ctrack read --trace -\n"
            "\n"
            "Exit status: 0 success, 1 damaged capture or output error, 2 usage or input error.\n",
            (unsigned)CT_BURST_MAX, CLI_DEFAULT_BURST, CLI_LIMIT_MAX_CONNECTIONS,
            CLI_DEFAULT_MAX_CONNECTIONS);
}

/*
 * Parses a decimal unsigned number in [lo, hi] for option `name`. Leading
 * whitespace, signs, hexadecimal and trailing characters are rejected so that
 * "--burst -1" or "--burst 8x" is an error instead of a surprise.
 */
static int parse_uint(const char *name, const char *text, unsigned long lo, unsigned long hi,
                      unsigned long *value)
{
    if (text[0] < '0' || text[0] > '9') {
        cli_error("read: %s: '%s' is not a number (expected %lu..%lu)", name, text, lo, hi);
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0') {
        cli_error("read: %s: '%s' is not a number (expected %lu..%lu)", name, text, lo, hi);
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        cli_error("read: %s: %s is out of range (expected %lu..%lu)", name, text, lo, hi);
        return -1;
    }
    *value = v;
    return 0;
}

/*
 * Parses "NAME=SECONDS" for --timeout into opts->timeouts. NAME is a
 * ct_timeout_name(); SECONDS is 1..4294967295.
 */
static int parse_timeout(const char *text, struct cli_read_opts *opts)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        cli_error("read: --timeout: '%s' is not NAME=SECONDS (e.g. udp=60)", text);
        return -1;
    }
    size_t n = (size_t)(eq - text);
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++) {
        const char *name = ct_timeout_name(i);
        if (strlen(name) == n && strncmp(name, text, n) == 0) {
            unsigned long v;
            char what[64];
            snprintf(what, sizeof(what), "--timeout %s", name);
            if (parse_uint(what, eq + 1, 1, UINT32_MAX, &v) < 0)
                return -1;
            opts->timeouts[i] = (uint32_t)v;
            return 0;
        }
    }
    cli_error("read: --timeout: unknown timeout '%.*s' (see 'ctrack read --help' for the names)",
              (int)n, text);
    return -1;
}

/*
 * Parses "NAME=SECONDS" for --flow-timeout into opts->flow_timeouts (ms).
 * dns_session accepts 0 (off); the others start at 1.
 */
static int parse_flow_timeout(const char *text, struct cli_read_opts *opts)
{
    static const char *const names[CLI_FT_COUNT] = {"tcp_inactivity", "udp_inactivity",
                                                    "icmp_inactivity", "tcp_attempt",
                                                    "tcp_close", "dns_session"};
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        cli_error("read: --flow-timeout: '%s' is not NAME=SECONDS (e.g. udp_inactivity=120)",
                  text);
        return -1;
    }
    size_t n = (size_t)(eq - text);
    for (unsigned i = 0; i < CLI_FT_COUNT; i++) {
        if (strlen(names[i]) == n && strncmp(names[i], text, n) == 0) {
            unsigned long v;
            char what[64];
            snprintf(what, sizeof(what), "--flow-timeout %s", names[i]);
            if (parse_uint(what, eq + 1, i == CLI_FT_DNS_SESSION ? 0 : 1, 4294967, &v) < 0)
                return -1;
            opts->flow_timeouts[i] = (int64_t)v * 1000;
            return 0;
        }
    }
    cli_error("read: --flow-timeout: unknown timer '%.*s' (tcp_inactivity, udp_inactivity, "
              "icmp_inactivity, tcp_attempt, tcp_close, dns_session)",
              (int)n, text);
    return -1;
}

enum {
    OPT_FORMAT = 256,
    OPT_BURST,
    OPT_MAX_CONN,
    OPT_NO_CHECKSUM,
    OPT_TRACE,
    OPT_VERSION,
    OPT_TIMEOUT,
    OPT_AT_END,
    OPT_STATS,
    OPT_FLOWS,
    OPT_IP_PROTO,
    OPT_COMMUNITY_ID,
    OPT_COMMUNITY_ID_SEED,
    OPT_FLOW_TIMEOUT,
    OPT_REPORT_GAPS,
    OPT_NO_LOCAL_NETS,
    OPT_NO_ZEEK_TIMERS,
    OPT_VLAN_KEY,
    OPT_NO_DEFRAG,
    OPT_TUNNELS,
    OPT_NO_TUNNELS,
    OPT_RULES,
    OPT_EVENTS,
    OPT_SAVE_STATE,
    OPT_LOAD_STATE,
    OPT_WRITE,
    OPT_MASQUERADE_ADDR,
    OPT_REDIRECT_ADDR,
};

static const struct option read_options[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"at-end", required_argument, NULL, OPT_AT_END},
    {"stats", no_argument, NULL, OPT_STATS},
    {"burst", required_argument, NULL, OPT_BURST},
    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
    {"no-checksum", no_argument, NULL, OPT_NO_CHECKSUM},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"flows", no_argument, NULL, OPT_FLOWS},
    {"ip-proto", no_argument, NULL, OPT_IP_PROTO},
    {"community-id", no_argument, NULL, OPT_COMMUNITY_ID},
    {"community-id-seed", required_argument, NULL, OPT_COMMUNITY_ID_SEED},
    {"flow-timeout", required_argument, NULL, OPT_FLOW_TIMEOUT},
    {"report-gaps-for-partial", no_argument, NULL, OPT_REPORT_GAPS},
    {"no-local-nets", no_argument, NULL, OPT_NO_LOCAL_NETS},
    {"no-zeek-timers", no_argument, NULL, OPT_NO_ZEEK_TIMERS},
    {"vlan-key", no_argument, NULL, OPT_VLAN_KEY},
    {"no-defrag", no_argument, NULL, OPT_NO_DEFRAG},
    {"tunnels", no_argument, NULL, OPT_TUNNELS},
    {"no-tunnels", no_argument, NULL, OPT_NO_TUNNELS},
    {"rules", required_argument, NULL, OPT_RULES},
    {"events", no_argument, NULL, OPT_EVENTS},
    {"save-state", required_argument, NULL, OPT_SAVE_STATE},
    {"load-state", required_argument, NULL, OPT_LOAD_STATE},
    {"write", required_argument, NULL, OPT_WRITE},
    {"masquerade-addr", required_argument, NULL, OPT_MASQUERADE_ADDR},
    {"redirect-addr", required_argument, NULL, OPT_REDIRECT_ADDR},
    {NULL, 0, NULL, 0},
};

/* The option text as the user wrote it, for messages ("--burst", "-x"). */
static const char *option_text(char **argv, int index, char *buf, size_t len)
{
    const char *arg = argv[index];
    if (arg[0] == '-' && arg[1] == '-') {
        /* Drop "=value" so the message names the option alone. */
        size_t n = strcspn(arg, "=");
        if (n >= len)
            n = len - 1;
        memcpy(buf, arg, n);
        buf[n] = '\0';
        return buf;
    }
    return arg;
}

/*
 * 1 if `arg` is "--name=value" for a known option that takes no value and
 * whose code is `code` (getopt_long reports that case as '?' with optopt set
 * to the option's code).
 */
static int takes_no_value(const char *arg, int code)
{
    if (strncmp(arg, "--", 2) != 0 || !strchr(arg, '='))
        return 0;
    size_t n = strcspn(arg + 2, "=");
    for (const struct option *o = read_options; o->name; o++)
        if (o->has_arg == no_argument && o->val == code && strlen(o->name) >= n &&
            strncmp(o->name, arg + 2, n) == 0)
            return 1;
    return 0;
}

/* Sets a flag option (one without a value); 0 if `c` is not one. */
static int set_flag(int c, struct cli_read_opts *opts)
{
    switch (c) {
    case OPT_FLOWS:
        opts->flows = 1;
        break;
    case OPT_IP_PROTO:
        opts->zeek_columns |= CT_ZEEK_F_IP_PROTO;
        break;
    case OPT_COMMUNITY_ID:
        opts->zeek_columns |= CT_ZEEK_F_COMMUNITY_ID;
        break;
    case OPT_REPORT_GAPS:
        opts->report_gaps = 1;
        break;
    case OPT_NO_LOCAL_NETS:
        opts->no_local_nets = 1;
        break;
    case OPT_NO_ZEEK_TIMERS:
        opts->no_zeek_timers = 1;
        break;
    case OPT_VLAN_KEY:
        opts->vlan_key = 1;
        break;
    case OPT_NO_DEFRAG:
        opts->no_defrag = 1;
        break;
    case OPT_TUNNELS:
        opts->tunnels = 1;
        break;
    case OPT_NO_TUNNELS:
        opts->tunnels = 0;
        break;
    case OPT_NO_CHECKSUM:
        opts->no_checksum = 1;
        break;
    case OPT_STATS:
        opts->stats = 1;
        break;
    case OPT_EVENTS:
        opts->events = 1;
        return 1;
    case OPT_TRACE:
        opts->trace = 1;
        break;
    case 'q':
        opts->quiet = 1;
        break;
    default:
        return 0;
    }
    return 1;
}

/* --format NAME. */
static int set_format(const char *name, struct cli_read_opts *opts)
{
    if (strcmp(name, "conntrack") == 0) {
        opts->format = CLI_FORMAT_CONNTRACK;
    } else if (strcmp(name, "json") == 0) {
        opts->format = CLI_FORMAT_JSON;
    } else if (strcmp(name, "zeek") == 0) {
        opts->format = CLI_FORMAT_ZEEK;
        opts->flows = 1;
    } else {
        cli_error("read: --format: unknown format '%s' (expected conntrack, json or zeek)", name);
        return -1;
    }
    opts->format_set = 1;
    return 0;
}

/* --at-end WHAT. */
static int set_at_end(const char *what, struct cli_read_opts *opts)
{
    opts->at_end_set = 1;
    if (strcmp(what, "table") == 0) {
        opts->at_end = CLI_AT_END_TABLE;
    } else if (strcmp(what, "drain") == 0) {
        opts->at_end = CLI_AT_END_DRAIN;
    } else {
        cli_error("read: --at-end: unknown value '%s' (expected table or drain)", what);
        return -1;
    }
    return 0;
}

/*
 * --masquerade-addr ADDR, --redirect-addr ADDR: the address the rules'
 * masquerade or redirect statements translate connections of ADDR's
 * family to (enum ct_rules_nat_addr `kind`), at most one per family.
 */
static int set_nat_addr(const char *name, unsigned kind, const char *text,
                        struct cli_read_opts *opts)
{
    union ct_addr a;
    memset(&a, 0, sizeof(a));
    unsigned fam;
    if (inet_pton(AF_INET, text, &a.v4) == 1) {
        fam = 0;
    } else if (inet_pton(AF_INET6, text, a.b) == 1) {
        fam = 1;
    } else {
        cli_error("read: %s: '%s' is not an IPv4 or IPv6 address", name, text);
        return -1;
    }
    if (opts->nat_addr_set[kind][fam]) {
        cli_error("read: %s: given twice for %s ('%s'); give it once per address family", name,
                  fam ? "IPv6" : "IPv4", text);
        return -1;
    }
    opts->nat_addr[kind][fam] = a;
    opts->nat_addr_set[kind][fam] = 1;
    return 0;
}

/* Sets an option that takes a value: 0, -1 after an error line, or 1 if
   `c` is not one. */
static int set_value(int c, const char *arg, struct cli_read_opts *opts)
{
    unsigned long v;
    switch (c) {
    case OPT_FORMAT:
        return set_format(arg, opts);
    case OPT_AT_END:
        return set_at_end(arg, opts);
    case OPT_COMMUNITY_ID_SEED:
        if (parse_uint("--community-id-seed", arg, 0, 65535, &v) < 0)
            return -1;
        opts->community_id_seed = (uint16_t)v;
        return 0;
    case OPT_FLOW_TIMEOUT:
        return parse_flow_timeout(arg, opts);
    case OPT_BURST:
        if (parse_uint("--burst", arg, 1, CT_BURST_MAX, &v) < 0)
            return -1;
        opts->burst = (unsigned)v;
        return 0;
    case OPT_MAX_CONN:
        if (parse_uint("--max-connections", arg, 1, CLI_LIMIT_MAX_CONNECTIONS, &v) < 0)
            return -1;
        opts->max_connections = (uint32_t)v;
        return 0;
    case OPT_TIMEOUT:
        return parse_timeout(arg, opts);
    case OPT_RULES:
        opts->rules_file = arg;
        return 0;
    case OPT_SAVE_STATE:
        opts->save_state = arg;
        return 0;
    case OPT_LOAD_STATE:
        opts->load_state = arg;
        return 0;
    case OPT_WRITE:
        /* Standard output carries the table: packets there would mix with it. */
        if (arg[0] == '\0' || strcmp(arg, "-") == 0) {
            cli_error("read: --write: '%s' is not a file name (standard output carries the "
                      "table; name a file)",
                      arg);
            return -1;
        }
        opts->write_file = arg;
        return 0;
    case OPT_MASQUERADE_ADDR:
        return set_nat_addr("--masquerade-addr", CT_RULES_NAT_MASQUERADE, arg, opts);
    case OPT_REDIRECT_ADDR:
        return set_nat_addr("--redirect-addr", CT_RULES_NAT_REDIRECT, arg, opts);
    default:
        return 1;
    }
}

/* Reports what getopt_long returned ':' or '?' for; returns the exit code. */
static int bad_option(int c, char **argv)
{
    char buf[64];
    if (c == ':') {
        /* optind has moved past the option that lacks its value. */
        cli_error("read: option '%s' needs a value (see 'ctrack read --help')",
                  option_text(argv, optind - 1, buf, sizeof(buf)));
        return CLI_EXIT_USAGE;
    }
    /* '?'; getopt_long has moved optind past the option. */
    if (takes_no_value(argv[optind - 1], optopt))
        cli_error("read: option '%s' takes no value (see 'ctrack read --help')",
                  option_text(argv, optind - 1, buf, sizeof(buf)));
    else if (optopt != 0 && optopt < 256)
        cli_error("read: unknown option '-%c' (see 'ctrack read --help')", optopt);
    else
        cli_error("read: unknown option '%s' (see 'ctrack read --help')",
                  option_text(argv, optind - 1, buf, sizeof(buf)));
    return CLI_EXIT_USAGE;
}

/* Walks the options; -1 when they are all valid, else the exit code. */
static int parse_options(int argc, char **argv, struct cli_read_opts *opts)
{
    opterr = 0;
    optind = 1;
    for (;;) {
        int c = getopt_long(argc, argv, ":qh", read_options, NULL);
        if (c == -1)
            return -1;
        if (set_flag(c, opts))
            continue;
        int rc = set_value(c, optarg, opts);
        if (rc < 0)
            return CLI_EXIT_USAGE;
        if (rc == 0)
            continue;
        if (c == 'h') {
            cli_read_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (c == OPT_VERSION) {
            printf("ctrack %s\n", CTRACK_VERSION);
            return CLI_EXIT_OK;
        }
        return bad_option(c, argv);
    }
}

/* The one capture file after the options; -1 or the exit code. */
static int take_file(int argc, char **argv, struct cli_read_opts *opts)
{
    int left = argc - optind;
    if (left == 0) {
        cli_error("read: no capture file given (usage: ctrack read [OPTIONS] FILE)");
        return CLI_EXIT_USAGE;
    }
    if (left > 1) {
        cli_error("read: expected one capture file, got %d ('%s' is extra)", left,
                  argv[optind + 1]);
        return CLI_EXIT_USAGE;
    }
    if (argv[optind][0] == '\0') {
        cli_error("read: the capture file name is empty");
        return CLI_EXIT_USAGE;
    }
    opts->file = argv[optind];
    return -1;
}

/* Options that apply only with or only without flow records; -1 or the exit code. */
static int check_flows(struct cli_read_opts *opts)
{
    if (opts->flows) {
        if (opts->format_set && opts->format == CLI_FORMAT_CONNTRACK) {
            cli_error("read: --flows prints flow records: use --format zeek or --format json");
            return CLI_EXIT_USAGE;
        }
        if (opts->at_end_set) {
            cli_error("read: --at-end applies to the table, not to flow records (--flows, "
                      "--format zeek)");
            return CLI_EXIT_USAGE;
        }
        if (!opts->format_set)
            opts->format = CLI_FORMAT_ZEEK;
    } else if (opts->zeek_columns || opts->report_gaps || opts->no_local_nets ||
               opts->no_zeek_timers) {
        cli_error("read: --ip-proto, --community-id, --report-gaps-for-partial, "
                  "--no-local-nets and --no-zeek-timers apply to flow records (--flows, "
                  "--format zeek)");
        return CLI_EXIT_USAGE;
    }
    if (opts->events && (opts->flows || opts->at_end_set)) {
        cli_error("read: --events prints the event stream instead of the table: it does not "
                  "go with --flows, --format zeek or --at-end");
        return CLI_EXIT_USAGE;
    }
    if (opts->tunnels < 0)
        opts->tunnels = opts->flows;
    /* The NAT addresses are those of the rules' statements. */
    for (unsigned k = 0; k < 2; k++) {
        if ((opts->nat_addr_set[k][0] || opts->nat_addr_set[k][1]) && !opts->rules_file) {
            cli_error("read: %s names the address of the rules' %s statements: give --rules",
                      k == CT_RULES_NAT_MASQUERADE ? "--masquerade-addr" : "--redirect-addr",
                      k == CT_RULES_NAT_MASQUERADE ? "masquerade" : "redirect");
            return CLI_EXIT_USAGE;
        }
    }
    /* A snapshot holds the table, not the flow keyer's records. */
    if (opts->flows && (opts->save_state || opts->load_state)) {
        cli_error("read: --save-state and --load-state keep the table, not flow records "
                  "(--flows, --format zeek)");
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_show_parse(int argc, char **argv, struct cli_read_opts *opts)
{
    int rc = cli_read_parse(argc, argv, opts);
    if (rc >= 0)
        return rc;
    if (opts->flows || opts->trace || opts->save_state || opts->load_state || opts->write_file) {
        cli_error("show: --flows, --format zeek, --trace, --save-state, --load-state and "
                  "--write do not apply to a snapshot");
        return CLI_EXIT_USAGE;
    }
    /* The one file is the snapshot; the table it fills has no capture. */
    opts->load_state = opts->file;
    opts->file = NULL;
    opts->quiet = 1;
    return -1;
}

int cli_read_parse(int argc, char **argv, struct cli_read_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->format = CLI_FORMAT_CONNTRACK;
    opts->burst = CLI_DEFAULT_BURST;
    opts->max_connections = CLI_DEFAULT_MAX_CONNECTIONS;
    opts->tunnels = -1;
    for (unsigned i = 0; i < CLI_FT_COUNT; i++)
        opts->flow_timeouts[i] = -1;

    int rc = parse_options(argc, argv, opts);
    if (rc < 0)
        rc = take_file(argc, argv, opts);
    if (rc < 0)
        rc = check_flows(opts);
    return rc;
}
