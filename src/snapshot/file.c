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

/*
 * Opens the file the snapshot is written to before it takes path's name.
 * Where the file system allows, an unnamed one (O_TMPFILE, Linux 3.11):
 * a writer killed while it writes leaves nothing behind, where a named
 * temporary file would stay until someone removed it. It gets a name
 * (*tmp) only once written and flushed, just before the rename. Elsewhere
 * a named temporary file (mkostemp()). Returns the descriptor, *tmp set
 * (named) or NULL (unnamed), or -errno.
 */
static int open_temp(const char *path, int named_only, char **tmp, int *unnamed)
{
    size_t n = strlen(path);
    *tmp = malloc(n + 12);
    if (!*tmp)
        return -ENOMEM;
    memcpy(*tmp, path, n);
    memcpy(*tmp + n, ".tmp.XXXXXX", 12);
    *unnamed = 0;
#ifdef O_TMPFILE
    if (!named_only) {
        char *copy = strdup(path);
        if (!copy)
            return -ENOMEM;
        int fd = open(dirname(copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        free(copy);
        if (fd >= 0) {
            *unnamed = 1;
            return fd;
        }
        /* EOPNOTSUPP, EISDIR or EINVAL: a file system or kernel without it. */
    }
#else
    (void)named_only;
#endif
    int f = mkostemp(*tmp, O_CLOEXEC);
    return f >= 0 ? f : -errno;
}

/* Gives the unnamed file fd a free temporary name beside path (in *tmp). */
static int name_temp(int fd, char *tmp)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    size_t n = strlen(tmp);
    for (unsigned tries = 0; tries < 100; tries++) {
        /* mkostemp()'s pattern, filled by a name that does not exist yet. */
        memcpy(tmp + n - 6, "XXXXXX", 6);
        int probe = mkostemp(tmp, O_CLOEXEC);
        if (probe < 0)
            return -errno;
        close(probe);
        unlink(tmp);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* One attempt of ct_table_save_file(); *retry is set when the unnamed file
 * could not be given a name (no /proc), so that a named one is tried. */
static int save_file(struct ct_table *t, const char *path, uint64_t now, int named_only,
                     int *retry)
{
    char *tmp = NULL;
    int unnamed = 0;
    int fd = open_temp(path, named_only, &tmp, &unnamed);
    if (fd < 0) {
        free(tmp);
        return fd;
    }
    int err = ct_table_save_fd(t, fd, now);
    if (err == 0 && fsync(fd) != 0)
        err = -errno;
    int named = !unnamed;
    if (err == 0 && unnamed) {
        err = name_temp(fd, tmp);
        named = err == 0;
        *retry = err == -ENOENT || err == -EPERM || err == -EACCES;
    }
    if (close(fd) != 0 && err == 0)
        err = -errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = -errno;
    if (err != 0 && named)
        (void)unlink(tmp);
    free(tmp);
    return err;
}

CT_EXPORT int ct_table_save_file(struct ct_table *t, const char *path, uint64_t now)
{
    if (!t || !path || !path[0])
        return -EINVAL;
    int retry = 0;
    int err = save_file(t, path, now, 0, &retry);
    if (err != 0 && retry)
        err = save_file(t, path, now, 1, &retry);
    return err ? err : sync_dir(path);
}
