/*
 * ctrack: the command-line front end of libctrack.
 *
 * main() only picks the sub-command; `read` lives in options.c (arguments),
 * capture.c (the packet loop) and output.c (formats). See docs/cli.md.
 */
#include <string.h>

#include "cli/cli.h"

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
