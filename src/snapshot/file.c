/*
 * ct_table_save_file(): a snapshot replaced atomically, so that a crash at
 * any moment leaves either the previous snapshot or the new one, never a
 * mix. The new one is written to a temporary file in the same directory
 * (rename(2) is atomic only within one file system), flushed with
 * fsync(2), renamed over the old name, and the directory is flushed too so
 * that the rename itself survives a power loss.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/compiler.h"
#include "ctrack/snapshot.h"

/* fsync of the directory that holds path; 0 or -errno. */
static int sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    return rc;
}

CT_EXPORT int ct_table_save_file(struct ct_table *t, const char *path, uint64_t now)
{
    if (!t || !path || !path[0])
        return -EINVAL;
    size_t n = strlen(path);
    char *tmp = malloc(n + 12);
    if (!tmp)
        return -ENOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        free(tmp);
        return e;
    }
    int err = ct_table_save_fd(t, fd, now);
    if (err == 0 && fsync(fd) != 0)
        err = -errno;
    if (close(fd) != 0 && err == 0)
        err = -errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = -errno;
    if (err != 0)
        (void)unlink(tmp);
    free(tmp);
    return err ? err : sync_dir(path);
}
