/*
 * ctrack: the command-line front end of libctrack.
 *
 * main() picks the sub-command. Each sub-command is a thin loop: a source
 * (source.h) yields frames, a pipeline (pipeline.h) processes them and
 * writes the output; options.c parses the arguments and output.c formats.
 * See docs/cli.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/pipeline.h"
#include "cli/source.h"

/* Standard output is written in blocks of this size: the table and the
   trace can be long. */
#define OUT_BUF_SIZE (1u << 16)

/* Reads the source (none for `ctrack show`) to its end through the
 * pipeline, saves the table with --save-state and the packets with
 * --write; returns the exit code. */
static int read_all(struct cli_source *src, struct cli_pipeline *p, const char *save_state)
{
    int status = CLI_EXIT_OK;
    struct cli_frame f;
    int rc = 0;
    while (src && (rc = cli_source_next(src, &f)) == 1) {
        if (cli_pipeline_feed(p, &f) < 0) {
            status = CLI_EXIT_FAIL;
            break;
        }
    }
    if (cli_pipeline_end_input(p) < 0 && status == CLI_EXIT_OK)
        status = CLI_EXIT_FAIL;
    if (status == CLI_EXIT_OK && rc < 0) {
        /* A damaged or cut-off file: report it, still print what was read. */
        cli_error("%s: capture damaged after packet %" PRIu64 ": %s; the table covers the "
                  "packets before it",
                  cli_source_name(src), cli_source_frames(src), cli_source_error(src));
        status = CLI_EXIT_FAIL;
    }
    /* The table after the last packet's expiry: what a restart needs. */
    if (save_state && status == CLI_EXIT_OK && cli_pipeline_save_state(p, save_state) < 0)
        status = CLI_EXIT_FAIL;
    /* The packets of a run that failed are not written: the previous file
       stays (cli_pipeline_destroy() removes the temporary one). */
    if (status == CLI_EXIT_OK && cli_pipeline_commit_write(p) < 0)
        status = CLI_EXIT_FAIL;
    if (cli_pipeline_finish(p) < 0)
        status = CLI_EXIT_FAIL;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the output: %s", strerror(errno));
        status = CLI_EXIT_FAIL;
    }
    return status;
}

/* The largest rules file read: one byte more than the library takes, so
   that a larger file gets the library's own message. */
#define RULES_FILE_MAX ((1u << 20) + 1)

/*
 * Loads --rules FILE. Returns the ruleset, or NULL after one line on
 * standard error: `ctrack: FILE: problem` when the file cannot be read,
 * `ctrack: FILE:LINE:COL: problem` when its text is wrong.
 */
static struct ct_ruleset *load_rules(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(RULES_FILE_MAX);
    size_t len = text ? fread(text, 1, RULES_FILE_MAX, f) : 0;
    int failed = !text || ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        cli_error("%s: cannot read: %s", path, text ? strerror(saved) : "out of memory");
        free(text);
        return NULL;
    }
    struct ct_rules_error where;
    int err = 0;
    struct ct_ruleset *rs = ct_ruleset_load(text, len, &where, &err);
    free(text);
    if (!rs) {
        if (where.line)
            cli_error("%s:%u:%u: %s", path, where.line, where.col, where.msg);
        else
            cli_error("%s: %s", path, where.msg[0] ? where.msg : ct_strerror(err));
        return NULL;
    }
    /* What attaching registers (templates, policies) has limits of its
       own: try it on a small table, so that rules beyond them fail here,
       as a usage error, and not once the capture is being read. */
    struct ct_table_config cfg;
    ct_table_config_init(&cfg);
    cfg.max_connections = 1;
    struct ct_table *probe = ct_table_create(&cfg, &err);
    if (probe && (err = ct_ruleset_attach(probe, rs)) != 0) {
        cli_error("%s: %s", path,
                  err == -ENOSPC ? "more than 255 distinct zone settings or ct timeout objects"
                  : err == -EEXIST ? "two ct timeout objects of the same name"
                  : err == -ENAMETOOLONG ? "a ct timeout object's name is longer than 31 bytes"
                                         : ct_strerror(err));
        ct_ruleset_free(rs);
        rs = NULL;
    }
    ct_table_destroy(probe);
    return rs;
}

/* Gives the ruleset the addresses of --masquerade-addr and --redirect-addr;
   0, or -1 after one line. */
static int set_nat_addrs(const struct cli_read_opts *o)
{
    static const char *const names[2] = {"--masquerade-addr", "--redirect-addr"};
    for (unsigned k = 0; k < 2; k++) {
        for (unsigned fam = 0; fam < 2; fam++) {
            if (!o->nat_addr_set[k][fam])
                continue;
            int err = ct_ruleset_set_nat_addr(o->ruleset, k, fam ? CT_L3_IPV6 : CT_L3_IPV4,
                                              &o->nat_addr[k][fam]);
            if (err != 0) {
                cli_error("read: %s: %s", names[k], ct_strerror(err));
                return -1;
            }
        }
    }
    return 0;
}

/* Gives the ruleset the capture's interface names (pcapng if_name), so
   that `iifname` matches them; 0, or -1 after reporting why not. */
static int name_ifaces(struct cli_source *src, struct ct_ruleset *rs)
{
    if (cli_source_want_ifaces(src) < 0) {
        cli_error("%s: cannot read the interface names", cli_source_name(src));
        return -1;
    }
    unsigned n = cli_source_iface_count(src);
    if (n > CT_RULES_MAX_IFINDEX) {
        cli_error("%s: more than %u interface names", cli_source_name(src),
                  CT_RULES_MAX_IFINDEX);
        return -1;
    }
    for (unsigned i = 1; i <= n; i++)
        ct_ruleset_set_iface(rs, (uint16_t)i, cli_source_iface_name(src, i));
    return 0;
}

/* --write: the pcap file the packets that leave go to, in the input's link
   type, snapshot length and timestamp precision. 0, or -1 after one line. */
static int open_write(struct cli_source *src, struct cli_pipeline *p, const char *path)
{
    if (cli_source_check_links(src) < 0)
        return -1;
    struct cli_sink_format fmt = {
        .linktype = cli_source_link(src),
        .snaplen = cli_source_snaplen(src),
        .nano = cli_source_nano(src),
    };
    struct cli_sink *k = cli_sink_open_pcap(path, &fmt);
    if (!k)
        return -1;
    cli_pipeline_write_to(p, k);
    return 0;
}

int cli_read_run(const struct cli_read_opts *given)
{
    struct cli_read_opts o = *given;
    const struct cli_read_opts *opts = &o;
    /* The rules first: a bad rules file stops the run before any packet. */
    if (o.rules_file && !(o.ruleset = load_rules(o.rules_file)))
        return CLI_EXIT_USAGE;
    if (o.ruleset && set_nat_addrs(&o) < 0) {
        ct_ruleset_free(o.ruleset);
        return CLI_EXIT_USAGE;
    }
    /* `ctrack show` reads no capture. */
    struct cli_source *src = opts->file ? cli_source_open_pcap(opts->file) : NULL;
    if (opts->file && !src) {
        ct_ruleset_free(o.ruleset);
        return CLI_EXIT_USAGE;
    }
    if (o.ruleset && src && name_ifaces(src, o.ruleset) < 0) {
        cli_source_close(src);
        ct_ruleset_free(o.ruleset);
        return CLI_EXIT_USAGE;
    }
    struct cli_pipeline *p = cli_pipeline_create(opts, stdout);
    if (!p) {
        cli_source_close(src);
        ct_ruleset_free(o.ruleset);
        return CLI_EXIT_FAIL;
    }
    /* A snapshot that cannot be loaded is bad input, like a bad capture;
       an output that cannot be created is a bad option. */
    if ((opts->load_state && cli_pipeline_load_state(p, opts->load_state) < 0) ||
        (opts->write_file && open_write(src, p, opts->write_file) < 0)) {
        cli_pipeline_destroy(p);
        cli_source_close(src);
        ct_ruleset_free(o.ruleset);
        return CLI_EXIT_USAGE;
    }
    /* The buffer must outlive every write to stdout: this command closes
       stdout before freeing it (nothing is written after the run). */
    char *outbuf = malloc(OUT_BUF_SIZE);
    if (outbuf)
        setvbuf(stdout, outbuf, _IOFBF, OUT_BUF_SIZE);
    int status = read_all(src, p, opts->save_state);
    cli_pipeline_summary(p, src ? cli_source_name(src) : opts->load_state);
    cli_pipeline_destroy(p);
    cli_source_close(src);
    ct_ruleset_free(o.ruleset);
    fclose(stdout);
    free(outbuf);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_main_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        if (argc > 2 && strcmp(argv[2], "read") == 0)
            cli_read_usage(stdout);
        else
            cli_main_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("ctrack %s\n", CTRACK_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "read") == 0) {
        struct cli_read_opts opts;
        int rc = cli_read_parse(argc - 1, argv + 1, &opts);
        if (rc >= 0)
            return rc;
        return cli_read_run(&opts);
    }
    if (strcmp(cmd, "show") == 0) {
        struct cli_read_opts opts;
        int rc = cli_show_parse(argc - 1, argv + 1, &opts);
        if (rc >= 0)
            return rc;
        return cli_read_run(&opts);
    }
    if (cmd[0] == '-')
        cli_error("unknown option '%s' before the command (see 'ctrack --help')", cmd);
    else
        cli_error("unknown command '%s' (see 'ctrack --help')", cmd);
    return CLI_EXIT_USAGE;
}
