/*
 * --save-state and --load-state of `ctrack read`, and `ctrack show`: the
 * table written to and read from a snapshot file (ctrack/snapshot.h,
 * docs/snapshot.md).
 * A snapshot is replaced atomically (ct_table_save_file()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_state_save(struct ct_table *t, const char *path, uint64_t now)
{
    int err = ct_table_save_file(t, path, now);
    if (err != 0) {
        cli_error("%s: cannot save the table: %s", path, strerror(-err));
        return -1;
    }
    return 0;
}

/* The largest snapshot file read (the library's own limit on restore). */
#define STATE_FILE_MAX (1ull << 40)

/* What a restore error means, for the one-line message. */
static const char *restore_problem(long err)
{
    switch (err) {
    case -EBADMSG:
        return "damaged snapshot (truncated, a checksum or a value is wrong)";
    case -EPROTONOSUPPORT:
        return "snapshot written by a newer ctrack (format version too new)";
    case -EMEDIUMTYPE:
        return "snapshot has template or helper state: give the same --rules";
    default:
        return strerror((int)-err);
    }
}

int cli_state_load(struct ct_table *t, const char *path, uint32_t max_connections,
                   uint64_t *now)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > STATE_FILE_MAX) {
        cli_error("%s: not a regular file of at most 1 TiB", path);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    size_t got = 0;
    while (buf && got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != len) {
        cli_error("%s: cannot read: %s", path, buf ? strerror(errno) : "out of memory");
        free(buf);
        return -1;
    }
    struct ct_snapshot_info info;
    long err = ct_snapshot_info(buf, len, &info);
    if (err == 0 && info.connections > max_connections) {
        cli_error("%s: the snapshot holds %" PRIu64 " connections, the table takes %" PRIu32
                  " (--max-connections)",
                  path, info.connections, max_connections);
        free(buf);
        return -1;
    }
    if (err == 0)
        err = ct_table_restore_buf(t, buf, len, info.now);
    free(buf);
    if (err < 0) {
        cli_error("%s: %s", path, restore_problem(err));
        return -1;
    }
    *now = info.now;
    return 0;
}
