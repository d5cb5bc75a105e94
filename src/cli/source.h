/*
 * cli/source.h: where `ctrack` gets its frames from.
 *
 * A source yields link-layer frames in the order they were captured, each
 * with its capture timestamp and the interface it came from. `ctrack read`
 * opens a pcap or pcapng file (source_pcap.c). A live capture (`ctrack
 * live`) needs only another constructor there, since libpcap hands out
 * frames of files and interfaces through the same pcap_next_ex(); with one
 * source per worker, the pipeline (pipeline.h) never knows where its
 * frames come from. What leaves the pipeline goes to a sink (sink.h).
 *
 * Thread-safety: a source belongs to one thread. Ownership: a frame's bytes
 * belong to the source and stay valid only until the next call of
 * cli_source_next() or cli_source_close().
 */
#ifndef CT_CLI_SOURCE_H
#define CT_CLI_SOURCE_H

#include <stdint.h>

/* One captured frame. */
struct cli_frame {
    const uint8_t *data; /* the link-layer header onwards */
    uint32_t caplen;     /* bytes at data */
    uint32_t wire_len;   /* length on the wire, never below caplen */
    uint64_t ts;         /* capture time, ns since the epoch, as recorded (it may go
                            backwards in merged captures; the pipeline copes) */
    uint32_t iface;      /* interface number (cli_source_want_ifaces()); 0 = unknown */
    uint16_t link;       /* enum ct_link */
    uint16_t pad;
};

struct cli_source;

/*
 * Opens a pcap or pcapng file, or standard input for "-", for reading at
 * nanosecond precision. On failure it reports why in one line (cli_error():
 * the operating system's reason, an empty file, not a capture, an
 * unsupported link type) and returns NULL; `ctrack` then exits with 2.
 */
struct cli_source *cli_source_open_pcap(const char *file);

/*
 * The next frame into *f. Returns 1, 0 at the end of the input, or -1 when
 * the input is damaged (cli_source_error() says how); no frame follows 0
 * or -1.
 */
int cli_source_next(struct cli_source *s, struct cli_frame *f);

/*
 * Asks for each frame's interface: for a pcapng file, frames then carry the
 * number of their interface's name (if_name), 1 to cli_source_iface_count(),
 * the same number for the same name; 0 for an interface without a name, and
 * for classic pcap files and standard input. Call it before the first
 * cli_source_next(); the names are known as soon as it returns. Returns 0,
 * or -1 when out of memory or the file cannot be opened a second time.
 */
int cli_source_want_ifaces(struct cli_source *s);

/* How many interface names the capture has (after cli_source_want_ifaces()). */
unsigned cli_source_iface_count(const struct cli_source *s);

/* The name of interface number `iif`, or NULL when there is none. */
const char *cli_source_iface_name(const struct cli_source *s, unsigned iif);

/*
 * For writing the packets back (--write): checks that every interface of
 * a pcapng file has one link type, since a classic pcap file holds one
 * (libpcap itself stops at an interface whose type differs from the
 * first's, part-way through the file). Standard input cannot be read twice
 * and is not checked. Returns 0, or -1 after one line on standard error.
 */
int cli_source_check_links(struct cli_source *s);

/* The link type of every frame (enum ct_link, numbered as LINKTYPE_*). */
uint16_t cli_source_link(const struct cli_source *s);

/* The capture's snapshot length (the longest record it may hold). */
uint32_t cli_source_snaplen(const struct cli_source *s);

/* 1 unless the input is a classic pcap file with microsecond timestamps:
   the precision that keeps every timestamp exact when written back. */
int cli_source_nano(const struct cli_source *s);

/* The input's name for messages: the file, or "standard input". */
const char *cli_source_name(const struct cli_source *s);

/* Why cli_source_next() returned -1, in one line. */
const char *cli_source_error(const struct cli_source *s);

/* Frames returned so far. */
uint64_t cli_source_frames(const struct cli_source *s);

/* Closes the input. NULL is ignored. */
void cli_source_close(struct cli_source *s);

#endif
