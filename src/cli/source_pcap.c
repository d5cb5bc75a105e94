/*
 * The capture-file source of `ctrack read` (source.h): a pcap or pcapng
 * file, or standard input, read through libpcap at nanosecond precision.
 *
 * Everything that knows about libpcap lives here: the link-type mapping,
 * opening with one-line errors, the conversion of each record's header to
 * a struct cli_frame, and the message of a damaged file.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/source.h"

#define NS_PER_SEC UINT64_C(1000000000)

struct cli_source {
    pcap_t *pcap;
    const char *name;      /* for messages */
    uint16_t link;         /* enum ct_link of every frame */
    uint64_t frames;
    char error[PCAP_ERRBUF_SIZE + 1];
};

/*
 * Maps libpcap's DLT_* value (pcap_datalink() translates the file's
 * LINKTYPE_* into it) to the library's enum ct_link, which is numbered as
 * LINKTYPE_*. Returns -1 for a link type the parser does not read.
 */
static int map_link(int dlt)
{
    switch (dlt) {
    case DLT_NULL:
        return CT_LINK_NULL;
    case DLT_EN10MB:
        return CT_LINK_ETHERNET;
    case DLT_RAW:
        return CT_LINK_RAW;
#if DLT_LOOP != DLT_RAW
    case DLT_LOOP:
        return CT_LINK_LOOP;
#endif
    case DLT_LINUX_SLL:
        return CT_LINK_LINUX_SLL;
    case DLT_IPV4:
        return CT_LINK_IPV4;
    case DLT_IPV6:
        return CT_LINK_IPV6;
    case DLT_LINUX_SLL2:
        return CT_LINK_LINUX_SLL2;
    default:
        return -1;
    }
}

/*
 * Opens the capture, reporting why it cannot be read in one line: the
 * operating system's reason for a file that cannot be opened, "empty" or
 * "not a pcap or pcapng capture" for the rest, with libpcap's own words.
 */
static pcap_t *open_capture(const char *file)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    errbuf[0] = '\0';

    if (strcmp(file, "-") != 0) {
        struct stat sb;
        if (stat(file, &sb) != 0) {
            cli_error("%s: cannot open: %s", file, strerror(errno));
            return NULL;
        }
        if (S_ISDIR(sb.st_mode)) {
            cli_error("%s: is a directory, not a capture file", file);
            return NULL;
        }
        FILE *f = fopen(file, "rb");
        if (!f) {
            cli_error("%s: cannot open: %s", file, strerror(errno));
            return NULL;
        }
        fclose(f);
        if (S_ISREG(sb.st_mode) && sb.st_size == 0) {
            cli_error("%s: the file is empty, not a pcap or pcapng capture", file);
            return NULL;
        }
    }

    pcap_t *p;
    FILE *fp = strcmp(file, "-") != 0 ? fopen(file, "rb") : NULL;
    if (fp) {
        /* libpcap reads records through stdio; a 1 MiB buffer instead of
         * the default few KiB saves a system call per few packets. */
        (void)setvbuf(fp, NULL, _IOFBF, 1u << 20);
        p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!p)
            fclose(fp);
    } else {
        p = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    }
    if (!p) {
        /* libpcap's message may end in a newline or repeat the name; keep it one line. */
        errbuf[strcspn(errbuf, "\n")] = '\0';
        cli_error("%s: not a readable pcap or pcapng capture (libpcap: %s)",
                  strcmp(file, "-") == 0 ? "standard input" : file, errbuf);
    }
    return p;
}

struct cli_source *cli_source_open_pcap(const char *file)
{
    const char *name = strcmp(file, "-") == 0 ? "standard input" : file;
    pcap_t *p = open_capture(file);
    if (!p)
        return NULL;

    int dlt = pcap_datalink(p);
    int link = map_link(dlt);
    if (link < 0) {
        const char *dname = pcap_datalink_val_to_name(dlt);
        cli_error("%s: unsupported link-layer type %d (%s); ctrack reads Ethernet, raw IP, "
                  "loopback and Linux cooked captures",
                  name, dlt, dname ? dname : "unknown");
        pcap_close(p);
        return NULL;
    }
    struct cli_source *s = calloc(1, sizeof(*s));
    if (!s) {
        cli_error("out of memory");
        pcap_close(p);
        return NULL;
    }
    s->pcap = p;
    s->name = name;
    s->link = (uint16_t)link;
    return s;
}

int cli_source_next(struct cli_source *s, struct cli_frame *f)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(s->pcap, &h, &data);
    if (rc == PCAP_ERROR) {
        /* A damaged or cut-off file; libpcap's message may end in a newline. */
        snprintf(s->error, sizeof(s->error), "%s", pcap_geterr(s->pcap));
        s->error[strcspn(s->error, "\n")] = '\0';
        return -1;
    }
    if (rc != 1)
        return 0;
    uint64_t sec = h->ts.tv_sec > 0 ? (uint64_t)h->ts.tv_sec : 0;
    uint64_t nsec = h->ts.tv_usec > 0 ? (uint64_t)h->ts.tv_usec : 0; /* ns at NANO precision */
    f->data = data;
    f->caplen = h->caplen;
    /* A record whose wire length is below its captured length is damaged;
     * treat it as not cut short rather than pass an impossible length. */
    f->wire_len = h->len < h->caplen ? h->caplen : h->len;
    f->ts = sec * NS_PER_SEC + nsec;
    f->iface = 0;
    f->link = s->link;
    f->pad = 0;
    s->frames++;
    return 1;
}

const char *cli_source_name(const struct cli_source *s)
{
    return s->name;
}

const char *cli_source_error(const struct cli_source *s)
{
    return s->error;
}

uint64_t cli_source_frames(const struct cli_source *s)
{
    return s->frames;
}

void cli_source_close(struct cli_source *s)
{
    if (!s)
        return;
    pcap_close(s->pcap);
    free(s);
}
