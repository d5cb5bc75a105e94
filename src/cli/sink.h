/*
 * cli/sink.h: where `ctrack read --write` puts the packets that leave.
 *
 * A sink is a classic pcap file written atomically: records go to a
 * temporary file beside the target, and only cli_sink_commit() makes it the
 * target (fsync, rename, fsync of the directory), so a run that fails
 * half-way leaves the previous file as it was. The pipeline (pipeline.h)
 * hands over one record per packet that leaves; it never knows the format.
 *
 *     struct cli_sink *k = cli_sink_open_pcap(path, &fmt);   // before any packet
 *     cli_sink_write(k, bytes, caplen, wire_len, ts);          // per packet
 *     cli_sink_commit(k) or cli_sink_abort(k);                 // frees it
 *
 * Format: https://wiki.wireshark.org/Development/LibpcapFileFormat, every
 * field little-endian so that a file is the same bytes on every host.
 *
 * Thread-safety: a sink belongs to one thread. Ownership: the sink copies
 * what it is given; the caller keeps `path` alive until commit or abort.
 */
#ifndef CT_CLI_SINK_H
#define CT_CLI_SINK_H

#include <stdint.h>

/* The file header of the capture written. */
struct cli_sink_format {
    uint32_t linktype; /* LINKTYPE_* (enum ct_link is numbered so) */
    uint32_t snaplen;  /* the input's snapshot length */
    int nano;          /* 1: nanosecond timestamps; 0: microseconds */
};

struct cli_sink;

/*
 * Creates the temporary file beside `path` and writes the file header.
 * NULL after one line on standard error naming `path` and the problem (its
 * directory is missing or not writable, `path` is a directory, out of
 * memory); `ctrack` then exits with 2 before reading a packet.
 */
struct cli_sink *cli_sink_open_pcap(const char *path, const struct cli_sink_format *fmt);

/*
 * Appends one record: `caplen` bytes of `data`, the length on the wire and
 * the capture time in nanoseconds (cut to microseconds in a microsecond
 * file). Returns 0, or -1 after one line on standard error when the write
 * failed (a full disk); every later call then fails without a message.
 */
int cli_sink_write(struct cli_sink *k, const uint8_t *data, uint32_t caplen, uint32_t wire_len,
                   uint64_t ts);

/*
 * Makes the file the target: flush, fsync, rename over `path`, fsync of its
 * directory. Frees the sink. Returns 0, or -1 after one line on standard
 * error (the temporary file is removed and `path` is left as it was).
 */
int cli_sink_commit(struct cli_sink *k);

/* Removes the temporary file and frees the sink; `path` is left as it
   was. NULL is ignored. */
void cli_sink_abort(struct cli_sink *k);

/* Records written so far. */
uint64_t cli_sink_records(const struct cli_sink *k);

#endif
