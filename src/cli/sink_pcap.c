/*
 * The pcap sink of `ctrack read --write` (sink.h): a classic pcap file
 * written to a temporary file and renamed over the target at the end, as
 * --save-state replaces a snapshot (ct_table_save_file()): rename(2) is
 * atomic within one file system, so the temporary file lies in the
 * target's directory; fsync of the file before the rename and of the
 * directory after it make the new file survive a power loss whole.
 *
 * libpcap is not used for writing: its dumper neither reports write errors
 * per record nor writes to a file of our choosing atomically, and the
 * format is two fixed headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/sink.h"

#define NS_PER_SEC UINT64_C(1000000000)

/* Magic numbers of classic pcap: microsecond and nanosecond timestamps. */
#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du

/* Bytes buffered before a write(2): records are small and many. */
#define SINK_BUF_SIZE (1u << 20)

struct cli_sink {
    FILE *f;
    const char *path; /* the target */
    char *tmp;        /* the temporary file beside it */
    int nano;
    int failed;       /* a write failed (reported once) */
    uint64_t records;
};

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Frees the sink after removing its temporary file. */
static void sink_free(struct cli_sink *k, int remove_tmp)
{
    if (k->f)
        fclose(k->f);
    if (remove_tmp)
        (void)unlink(k->tmp);
    free(k->tmp);
    free(k);
}

/* Reports a failed write once. */
static int sink_fail(struct cli_sink *k, int err)
{
    if (!k->failed)
        cli_error("%s: cannot write: %s", k->path, strerror(err ? err : EIO));
    k->failed = 1;
    return -1;
}

/* Creates the temporary file with the mode a new file would get (mkstemp
   makes it 0600). NULL after reporting why. */
static FILE *create_tmp(const char *path, char *tmp)
{
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        cli_error("%s: cannot create: %s", path, strerror(errno));
        return NULL;
    }
    /* The process is single-threaded here: reading the umask by setting
       it back is safe. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        cli_error("%s: cannot create: %s", path, strerror(errno));
        close(fd);
        (void)unlink(tmp);
        return NULL;
    }
    (void)setvbuf(f, NULL, _IOFBF, SINK_BUF_SIZE);
    return f;
}

struct cli_sink *cli_sink_open_pcap(const char *path, const struct cli_sink_format *fmt)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("%s: is a directory, not a file to write the packets to", path);
        return NULL;
    }
    struct cli_sink *k = calloc(1, sizeof(*k));
    size_t n = strlen(path);
    char *tmp = k ? malloc(n + 12) : NULL;
    if (!tmp) {
        cli_error("out of memory");
        free(k);
        return NULL;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp.XXXXXX", 12);
    k->path = path;
    k->tmp = tmp;
    k->nano = fmt->nano;
    k->f = create_tmp(path, tmp);
    if (!k->f) {
        free(tmp);
        free(k);
        return NULL;
    }
    uint8_t h[24] = {0};
    put_le32(h, fmt->nano ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC);
    h[4] = 2; /* version 2.4 */
    h[6] = 4;
    /* Bytes 8..15: the time zone offset and accuracy, always 0. */
    put_le32(h + 16, fmt->snaplen);
    put_le32(h + 20, fmt->linktype);
    if (fwrite(h, 1, sizeof(h), k->f) != sizeof(h)) {
        sink_fail(k, errno);
        sink_free(k, 1);
        return NULL;
    }
    return k;
}

int cli_sink_write(struct cli_sink *k, const uint8_t *data, uint32_t caplen, uint32_t wire_len,
                   uint64_t ts)
{
    if (k->failed)
        return -1;
    uint8_t h[16];
    uint64_t frac = ts % NS_PER_SEC;
    /* Seconds past 2106 do not fit the format's 32 bits; they wrap as
       every pcap writer's do. */
    put_le32(h, (uint32_t)(ts / NS_PER_SEC));
    put_le32(h + 4, (uint32_t)(k->nano ? frac : frac / 1000));
    put_le32(h + 8, caplen);
    put_le32(h + 12, wire_len);
    if (fwrite(h, 1, sizeof(h), k->f) != sizeof(h) ||
        (caplen && fwrite(data, 1, caplen, k->f) != caplen))
        return sink_fail(k, errno);
    k->records++;
    return 0;
}

uint64_t cli_sink_records(const struct cli_sink *k)
{
    return k->records;
}

/* fsync of the directory that holds path; 0 or an errno value. */
static int sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return errno;
    int err = fsync(fd) != 0 ? errno : 0;
    close(fd);
    return err;
}

int cli_sink_commit(struct cli_sink *k)
{
    const char *path = k->path;
    int failed = k->failed, err = 0;
    if (!failed && (fflush(k->f) != 0 || fsync(fileno(k->f)) != 0))
        err = errno;
    if (fclose(k->f) != 0 && !failed && err == 0)
        err = errno;
    k->f = NULL;
    if (!failed && err == 0 && rename(k->tmp, path) != 0)
        err = errno;
    if (failed || err) {
        sink_fail(k, err);
        sink_free(k, 1);
        return -1;
    }
    sink_free(k, 0);
    /* The rename has happened; only its durability is in doubt. */
    if ((err = sync_dir(path)) != 0) {
        cli_error("%s: written, but its directory could not be synced: %s", path, strerror(err));
        return -1;
    }
    return 0;
}

void cli_sink_abort(struct cli_sink *k)
{
    if (k)
        sink_free(k, 1);
}
