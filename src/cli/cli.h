/*
 * cli/cli.h: the pieces of the `ctrack` command-line tool.
 *
 * The tool is split into argument parsing (options.c), the sub-commands
 * (main.c), capture input (source.h, source_pcap.c), the per-worker packet
 * pipeline (pipeline.h, pipeline.c) and output formatting (output.c).
 * Everything here talks to libctrack through the public headers in
 * include/ctrack/ only, and keeps no mutable static state.
 *
 * Exit codes (documented in docs/cli.md):
 *   0  the capture was read to its end and the table printed;
 *   1  the capture was damaged part-way (the table of the packets read before
 *      the damage is still printed), the table could not be created, or
 *      standard output could not be written;
 *   2  a usage error (bad option or value) or an input that cannot be read
 *      as a capture at all (missing file, not pcap/pcapng, unsupported link
 *      type).
 */
#ifndef CT_CLI_CLI_H
#define CT_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "ctrack/ctrack.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

enum cli_format {
    CLI_FORMAT_CONNTRACK = 0, /* `conntrack -L -o extended` lines */
    CLI_FORMAT_JSON = 1,      /* one JSON object per line */
    CLI_FORMAT_ZEEK = 2,      /* flow records as Zeek's conn.log (TSV) */
};

/* Zeek timers settable with --flow-timeout (struct ct_flowlog_config). */
enum cli_flow_timer {
    CLI_FT_TCP_INACTIVITY = 0,
    CLI_FT_UDP_INACTIVITY,
    CLI_FT_ICMP_INACTIVITY,
    CLI_FT_TCP_ATTEMPT,
    CLI_FT_TCP_CLOSE,
    CLI_FT_DNS_SESSION,
    CLI_FT_COUNT
};

/* What `ctrack read` prints at the end of the capture (--at-end). */
enum cli_at_end {
    CLI_AT_END_TABLE = 0, /* the connections still alive at the last packet */
    CLI_AT_END_DRAIN = 1, /* a flow log: every connection, with how it ended */
};

/* Options of `ctrack read`, after parsing and validation. */
struct cli_read_opts {
    const char *file;          /* capture path, or "-" for standard input */
    enum cli_format format;
    enum cli_at_end at_end;
    unsigned burst;            /* 1..CT_BURST_MAX */
    uint32_t max_connections;  /* 1..2^30 */
    int no_checksum;           /* CT_TABLE_F_NO_CHECKSUM */
    int trace;                 /* one line per packet before the table */
    int quiet;                 /* no summary on stderr */
    int stats;                 /* every table counter on stderr */
    int events;                /* --events: the event stream instead of the table */
    uint32_t timeouts[CT_TIMEOUT_COUNT]; /* --timeout NAME=SECONDS; 0: the default */
    /* Flow records (--format zeek, --flows). */
    int flows;                 /* print flow records instead of the table */
    int at_end_set;            /* --at-end was given */
    int format_set;            /* --format was given */
    unsigned zeek_columns;     /* CT_ZEEK_F_*: --ip-proto, --community-id */
    uint16_t community_id_seed;
    int report_gaps;           /* --report-gaps-for-partial */
    int no_local_nets;         /* --no-local-nets */
    int no_zeek_timers;        /* --no-zeek-timers: records end only at the end */
    int64_t flow_timeouts[CLI_FT_COUNT]; /* ms; -1: Zeek's default */
    /* Packet handling. */
    int vlan_key;              /* --vlan-key: the VLAN stack is part of the key (zone) */
    int no_defrag;             /* --no-defrag: fragments go to the table as they are */
    int tunnels;               /* --tunnels / --no-tunnels; -1: on with flows, else off */
    /* Rules (--rules FILE). */
    const char *rules_file;    /* NULL: no rules */
    struct ct_ruleset *ruleset; /* loaded from it by cli_read_run(), attached to each table */
    /* Snapshots (docs/snapshot.md). */
    const char *save_state;    /* --save-state FILE: the table at the end, or NULL */
    const char *load_state;    /* --load-state FILE: the table at the start, or NULL */
    /* The addresses the rules' `masquerade` and `redirect` translate to
       (--masquerade-addr, --redirect-addr; ct_ruleset_set_nat_addr()):
       indexed by enum ct_rules_nat_addr, then 0 for IPv4 and 1 for IPv6. */
    union ct_addr nat_addr[2][2];
    uint8_t nat_addr_set[2][2];
    /* Packets out (--write FILE): every packet that leaves, as a pcap file. */
    const char *write_file;    /* NULL: none written */
};

/* One connection that ended, as the flow log (--at-end drain) prints it. */
struct cli_end {
    struct ct_conn_info ci;    /* its last state and counters */
    uint64_t when;             /* the time it ended (ns) */
    unsigned reason;           /* enum ct_end_reason */
};

/* Verdict counters the packet loop keeps (ct_state order). */
struct cli_counts {
    uint64_t packets;          /* packets read from the capture */
    uint64_t verdicts[5];      /* indexed by enum ct_state */
    uint64_t inner;            /* packets decapsulated from tunnels (also in verdicts) */
    uint64_t frag_held;        /* fragments kept for reassembly */
    uint64_t frag_done;        /* datagrams reassembled (in verdicts) */
    /* INVALID verdicts the CLI gave itself (fragments the reassembler dropped). */
    uint64_t reasons[CT_REASON_COUNT];
};

/*
 * Parses the arguments of `ctrack read` (argv[0] is "read"). Returns -1 when
 * the arguments are valid and *opts is filled; otherwise the exit code to
 * return at once (0 after --help, 2 after an error line on stderr).
 */
int cli_read_parse(int argc, char **argv, struct cli_read_opts *opts);

/* Prints the usage of `ctrack read` to `out`. */
void cli_read_usage(FILE *out);

/* Prints the top-level usage (the list of commands) to `out`. */
void cli_main_usage(FILE *out);

/* Runs `ctrack read` with parsed options; returns the exit code. */
int cli_read_run(const struct cli_read_opts *opts);

/*
 * Output. `now` is the time of the last packet of the capture (ns); every
 * remaining timeout is computed against it.
 */
void cli_print_conn(FILE *out, enum cli_format format, const struct ct_conn_info *ci,
                    uint64_t now);

/*
 * One trace line for packet number `n` (1-based) processed at `now`: the
 * packet's tuple (or "-" when it did not parse), direction, ct state, the
 * TCP state after it, and the reason for INVALID/UNTRACKED.
 */
void cli_print_trace(FILE *out, uint64_t n, uint64_t now, const struct ct_pkt *pkt,
                     const struct ct_verdict *v, const char *extra);

/* A trace line for a fragment held for reassembly (no verdict): "ct=-". */
void cli_print_trace_held(FILE *out, uint64_t n, uint64_t now, const struct ct_pkt *pkt,
                          const char *extra);

/*
 * One flow-log line (--at-end drain) for a connection that ended: the
 * conntrack line in the style of `conntrack -E` DESTROY events (no timeout,
 * no use=) with `end=REASON t=SECONDS` appended, or the JSON object of the
 * table with "end" and "end_time" added (its timeout counted from the end).
 */
void cli_print_end(FILE *out, enum cli_format format, const struct cli_end *e);

/*
 * One event (--events): the line `conntrack -E -o timestamp,extended`
 * prints, with the capture time, or the JSON object of the table with
 * "event", "time", "events" (and "end" for DESTROY) first.
 */
void cli_print_event(FILE *out, enum cli_format format, const struct ct_event *ev);

/* The header of a Zeek TSV log (#separator ... #types), `#open` at open_time;
   `columns` is CT_ZEEK_F_*. */
void cli_print_zeek_header(FILE *out, unsigned columns, uint64_t open_time);

/* The closing line of a Zeek TSV log, "#close" at close_time. */
void cli_print_zeek_footer(FILE *out, uint64_t close_time);

/* One flow record: a Zeek TSV line (CLI_FORMAT_ZEEK) or a JSON object. */
void cli_print_flow(FILE *out, enum cli_format format, unsigned columns,
                    const struct ct_flow_record *rec);

/* The summary on stderr: packets, connections, verdicts, reasons. */
void cli_print_summary(FILE *out, const char *file, const struct cli_counts *counts,
                       const struct ct_table_stats *st, uint64_t listed);

/* The NAT counters (struct ct_nat_stats) as the summary's `nat:` line. */
void cli_print_nat(FILE *out, const struct ct_nat_stats *ns);

/* Every table counter (--stats), as `stats: ` lines on `out`. */
void cli_print_stats(FILE *out, const struct ct_table_stats *st);

/* Writes `ns` as seconds with 9 decimals ("1704067200.100000000"). */
void cli_print_seconds(FILE *out, uint64_t ns);

/* Reports an error: "ctrack: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Writes table t at `now` to the snapshot `path` atomically (state.c): a
 * temporary file beside it, fsync, rename, fsync of the directory. Returns
 * 0, or -1 after one line on standard error.
 */
int cli_state_save(struct ct_table *t, const char *path, uint64_t now);

/*
 * Restores the snapshot `path` into the empty table t (made for
 * max_connections) at the snapshot's own time, which goes to *now. Returns
 * 0, or -1 after one line on standard error naming the file and the problem.
 */
int cli_state_load(struct ct_table *t, const char *path, uint32_t max_connections,
                   uint64_t *now);

/* Parses the arguments of `ctrack show` (argv[0] is "show") into read
 * options with no capture; as cli_read_parse() otherwise. */
int cli_show_parse(int argc, char **argv, struct cli_read_opts *opts);

#endif
