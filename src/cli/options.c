/*
 * Argument parsing for `ctrack read` (getopt_long) and the usage texts.
 *
 * Every error is one line on stderr that names the option or argument and
 * what is wrong with it, and the exit code is 2. getopt's own messages are
 * switched off (opterr = 0) so that the wording stays ours and stays on one
 * line.
 */
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
            "                         per connection per line)\n"
            "  --trace                print one line per packet before the table: number,\n"
            "                         time, tuple, direction, ct state, TCP state, reason\n"
            "  --burst N              packets per library call, 1..%u (default %u); packets\n"
            "                         are grouped only while their timestamps are equal,\n"
            "                         so the output never depends on N\n"
            "  --max-connections N    table size, 1..%u (default %u); when full,\n"
            "                         unassured connections are dropped first, then new\n"
            "                         ones are refused (counted in the summary)\n"
            "  --no-checksum          do not verify TCP/UDP/ICMP checksums (use for\n"
            "                         captures taken on the sending host with checksum\n"
            "                         offload, where outgoing checksums look wrong)\n"
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

int cli_read_parse(int argc, char **argv, struct cli_read_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->format = CLI_FORMAT_CONNTRACK;
    opts->burst = CLI_DEFAULT_BURST;
    opts->max_connections = CLI_DEFAULT_MAX_CONNECTIONS;

    opterr = 0;
    optind = 1;
    for (;;) {
        int c = getopt_long(argc, argv, ":qh", read_options, NULL);
        if (c == -1)
            break;
        unsigned long v;
        char buf[64];
        switch (c) {
        case OPT_FORMAT:
            if (strcmp(optarg, "conntrack") == 0) {
                opts->format = CLI_FORMAT_CONNTRACK;
            } else if (strcmp(optarg, "json") == 0) {
                opts->format = CLI_FORMAT_JSON;
            } else {
                cli_error("read: --format: unknown format '%s' (expected conntrack or json)",
                          optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_BURST:
            if (parse_uint("--burst", optarg, 1, CT_BURST_MAX, &v) < 0)
                return CLI_EXIT_USAGE;
            opts->burst = (unsigned)v;
            break;
        case OPT_MAX_CONN:
            if (parse_uint("--max-connections", optarg, 1, CLI_LIMIT_MAX_CONNECTIONS, &v) < 0)
                return CLI_EXIT_USAGE;
            opts->max_connections = (uint32_t)v;
            break;
        case OPT_NO_CHECKSUM:
            opts->no_checksum = 1;
            break;
        case OPT_TIMEOUT:
            if (parse_timeout(optarg, opts) < 0)
                return CLI_EXIT_USAGE;
            break;
        case OPT_AT_END:
            if (strcmp(optarg, "table") == 0) {
                opts->at_end = CLI_AT_END_TABLE;
            } else if (strcmp(optarg, "drain") == 0) {
                opts->at_end = CLI_AT_END_DRAIN;
            } else {
                cli_error("read: --at-end: unknown value '%s' (expected table or drain)", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_STATS:
            opts->stats = 1;
            break;
        case OPT_TRACE:
            opts->trace = 1;
            break;
        case 'q':
            opts->quiet = 1;
            break;
        case 'h':
            cli_read_usage(stdout);
            return CLI_EXIT_OK;
        case OPT_VERSION:
            printf("ctrack %s\n", CTRACK_VERSION);
            return CLI_EXIT_OK;
        case ':':
            /* optind has moved past the option that lacks its value. */
            cli_error("read: option '%s' needs a value (see 'ctrack read --help')",
                      option_text(argv, optind - 1, buf, sizeof(buf)));
            return CLI_EXIT_USAGE;
        default: /* '?'; getopt_long has moved optind past the option. */
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
    }

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
