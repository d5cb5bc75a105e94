/*
 * Snapshots: the whole connection table saved to a file descriptor or a
 * buffer and restored into a new table, so that a restart loses no
 * connection. The format is documented byte by byte in docs/snapshot.md.
 *
 * Usage:
 *     ct_table_save_fd(t, fd, now);               // the table at time now
 *     ...
 *     struct ct_table *n = ct_table_create(&cfg, NULL); // same templates,
 *     ct_table_restore_fd(n, fd, now2);                 // policies, flags
 *
 * Each connection keeps its age: a connection last seen d ns before the
 * save's `now` is last seen d ns before the restore's `now`, so it has the
 * same time left. Restoring at the saved time (ct_snapshot_info().now)
 * continues the table exactly where it stopped.
 *
 * Thread-safety: save and restore need the table to themselves: no other
 * call on it may run at the same time (a shared table must be quiescent).
 * Restore needs a table that holds no connection, and is refused on a
 * shared table.
 *
 * Ownership: the caller owns the buffers and descriptors; nothing is kept.
 *
 * What is saved: both tuples (the original, its zone and the reply zone;
 * the reply tuple follows from them), mark, status, protocol state (TCP
 * windows and last-packet data, SCTP tags), timeout in force and policy id,
 * first and last seen as ages, counters (tables with accounting), the
 * template's extras (labels, event mask, helper) and the helper's state
 * (FTP sequence memory, master tuple). Not saved: the timeout policies,
 * templates, helpers and rules themselves (the restoring table is set up
 * with the same ones; a policy id it lacks is refused), expectations,
 * zone limits, table statistics.
 */
#ifndef CTRACK_SNAPSHOT_H
#define CTRACK_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "ctrack/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The format version this library writes; it reads this and older ones. */
#define CT_SNAPSHOT_VERSION 1u

/* What a snapshot's header says (ct_snapshot_info()). */
struct ct_snapshot_info {
    uint32_t version;
    uint32_t record_bytes;     /* bytes per connection */
    uint64_t connections;
    uint64_t now;              /* the `now` of the save, ns */
    uint32_t max_connections;  /* of the table that was saved */
    uint32_t flags;            /* CT_SNAPSHOT_F_* */
    uint64_t total_bytes;      /* of the whole snapshot */
};

enum {
    CT_SNAPSHOT_F_ACCT = 1u << 0,   /* records carry the counters */
    CT_SNAPSHOT_F_TMPL = 1u << 1,   /* ... the template's labels, event mask, helper */
    CT_SNAPSHOT_F_HELPER = 1u << 2, /* ... the helper's state and master tuple */
    CT_SNAPSHOT_F_NAT = 1u << 3,    /* ... a translated connection's reply tuple (ctrack/nat.h) */
};

/*
 * Bytes ct_table_save_buf() needs for the table as it is now (an upper
 * bound: connections past their deadline are left out). 0 for NULL.
 */
size_t ct_table_save_size(const struct ct_table *table);

/*
 * Writes the table's live connections at time `now` into buf (len bytes).
 * Returns the bytes written, or:
 *   -EINVAL  table or buf is NULL;
 *   -ENOSPC  len is too small (ct_table_save_size() is enough).
 */
long ct_table_save_buf(struct ct_table *table, void *buf, size_t len, uint64_t now);

/*
 * As ct_table_save_buf(), written to fd in blocks. Returns 0, or -EINVAL
 * (NULL table, negative fd), -ENOMEM, or the negative errno of a failed
 * write(2). Writes only; fsync and renaming are the caller's (the CLI writes
 * a temporary file and renames it, docs/snapshot.md).
 */
int ct_table_save_fd(struct ct_table *table, int fd, uint64_t now);

/*
 * Replaces the snapshot file `path` atomically with the table at `now`:
 * writes PATH.tmp.XXXXXX in the same directory, fsyncs it, renames it over
 * path and fsyncs the directory, so that a crash at any moment leaves the
 * previous snapshot or the new one whole. Returns 0, or -EINVAL (NULL or
 * empty argument), -ENOMEM, or the negative errno of the failed step
 * (creating, writing, flushing, renaming; then nothing is left behind), or
 * of the directory's fsync (the new snapshot is in place).
 */
int ct_table_save_file(struct ct_table *table, const char *path, uint64_t now);

/*
 * Reads a snapshot's header (at least 96 bytes of buf) into *info without
 * checking the blocks. Returns 0, or -EINVAL (NULL argument), -EBADMSG
 * (short, wrong magic, header checksum or inconsistent sizes),
 * -EPROTONOSUPPORT (a version newer than CT_SNAPSHOT_VERSION).
 */
int ct_snapshot_info(const void *buf, size_t len, struct ct_snapshot_info *info);

/*
 * Restores a snapshot into table, an empty table of one thread, at time
 * `now`: every connection gets its saved age relative to now and is indexed
 * under the table's own hash key. The whole input is checked before the
 * first connection is inserted; on any error the table holds no connection.
 * Returns the connections restored, or:
 *   -EINVAL      NULL argument, the table holds connections or is shared;
 *   -EBADMSG     damaged input: truncated, trailing bytes, wrong magic, a
 *                checksum that does not match, counts that disagree with
 *                the blocks, a record with impossible values (family,
 *                status bits, timeout, ages, a policy id the table lacks),
 *                or two connections with the same tuple;
 *   -EPROTONOSUPPORT  a future version;
 *   -ENOSPC      more connections than the table's max_connections (the
 *                sizes are in ct_snapshot_info() and the table's config),
 *                or the index refused an insert;
 *   -EMEDIUMTYPE the snapshot has template extras, helper state or NAT
 *                bindings and the table has no templates, no helpers
 *                registered or no NAT enabled.
 */
long ct_table_restore_buf(struct ct_table *table, const void *buf, size_t len, uint64_t now);

/*
 * As ct_table_restore_buf(), reading fd to its end. Also -ENOMEM, -EFBIG
 * (more than 2^40 bytes) or the negative errno of a failed read(2).
 */
long ct_table_restore_fd(struct ct_table *table, int fd, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif
