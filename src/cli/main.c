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
#include "ctrack/rules.h"

/* Standard output is written in blocks of this size: the table and the
   trace can be long. */
#define OUT_BUF_SIZE (1u << 16)

/* Reads the source to its end through the pipeline; returns the exit code. */
static int read_all(struct cli_source *src, struct cli_pipeline *p)
{
    int status = CLI_EXIT_OK;
    struct cli_frame f;
    int rc;
    while ((rc = cli_source_next(src, &f)) == 1) {
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
    if (cli_pipeline_finish(p) < 0)
        status = CLI_EXIT_FAIL;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the output: %s", strerror(errno));
        status = CLI_EXIT_FAIL;
    }
    return status;
}

/*
 * Loads the rules of --rules FILE. A file that cannot be read, or rules
 * with any error, are reported in one line (FILE:LINE:COL: problem, where
 * the problem has a place) and NULL is returned: nothing is processed and
 * the exit status is 2.
 */
static struct ct_ruleset *load_rules(const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        cli_error("%s: cannot open: %s", file, strerror(errno));
        return NULL;
    }
    size_t len = 0, cap = 0;
    char *text = NULL;
    int too_big = 0, failed = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= CLI_RULES_MAX_BYTES) {
                too_big = 1;
                break;
            }
            cap = cap ? cap * 2 : 4096;
            char *nt = realloc(text, cap);
            if (!nt) {
                failed = 1;
                break;
            }
            text = nt;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (too_big || failed || read_error) {
        if (too_big)
            cli_error("%s: larger than %u bytes: not a rules file ctrack loads", file,
                      (unsigned)CLI_RULES_MAX_BYTES);
        else if (failed)
            cli_error("%s: out of memory reading the rules", file);
        else
            cli_error("%s: cannot read: %s", file, strerror(errno));
        free(text);
        return NULL;
    }
    struct ct_rules_error where;
    memset(&where, 0, sizeof(where));
    int err = 0;
    struct ct_ruleset *rs = ct_ruleset_load(text ? text : "", len, &where, &err);
    free(text);
    if (!rs) {
        const char *why = where.msg[0] ? where.msg : ct_strerror(err);
        if (where.line)
            cli_error("%s:%u:%u: %s", file, (unsigned)where.line, (unsigned)where.col, why);
        else
            cli_error("%s: %s", file, why);
    }
    return rs;
}

/*
 * Names the capture's interfaces in the ruleset, so that `iifname` matches
 * the pcapng interface names: interface number i (cli_source.h) is the
 * ruleset's interface i. Returns 0, or -1 after reporting why.
 */
static int name_interfaces(struct cli_source *src, struct ct_ruleset *rs)
{
    if (cli_source_want_ifaces(src) < 0) {
        cli_error("%s: cannot read its interfaces: %s", cli_source_name(src), strerror(errno));
        return -1;
    }
    unsigned n = cli_source_iface_count(src);
    for (unsigned i = 1; i <= n && i <= CT_RULES_MAX_IFINDEX; i++) {
        int rc = ct_ruleset_set_iface(rs, (uint16_t)i, cli_source_iface_name(src, i));
        if (rc < 0) {
            cli_error("%s: cannot name interface %u: %s", cli_source_name(src), i, ct_strerror(rc));
            return -1;
        }
    }
    return 0;
}

int cli_read_run(const struct cli_read_opts *given)
{
    struct cli_read_opts o = *given;
    const struct cli_read_opts *opts = &o;
    if (o.rules_file && !(o.ruleset = load_rules(o.rules_file)))
        return CLI_EXIT_USAGE;
    struct cli_source *src = cli_source_open_pcap(opts->file);
    if (!src || (o.ruleset && name_interfaces(src, o.ruleset) < 0)) {
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
    /* The buffer must outlive every write to stdout: this command closes
       stdout before freeing it (nothing is written after the run). */
    char *outbuf = malloc(OUT_BUF_SIZE);
    if (outbuf)
        setvbuf(stdout, outbuf, _IOFBF, OUT_BUF_SIZE);
    int status = read_all(src, p);
    cli_pipeline_summary(p, cli_source_name(src));
    cli_pipeline_destroy(p);
    cli_source_close(src);
    ct_ruleset_free(o.ruleset); /* after the table that held it */
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
    if (cmd[0] == '-')
        cli_error("unknown option '%s' before the command (see 'ctrack --help')", cmd);
    else
        cli_error("unknown command '%s' (see 'ctrack --help')", cmd);
    return CLI_EXIT_USAGE;
}
