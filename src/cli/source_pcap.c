/*
 * The capture-file source of `ctrack read` (source.h): a pcap or pcapng
 * file, or standard input, read through libpcap at nanosecond precision.
 *
 * Everything that knows about libpcap lives here: the link-type mapping,
 * opening with one-line errors, the conversion of each record's header to
 * a struct cli_frame, and the message of a damaged file.
 *
 * Interfaces: libpcap reads pcapng files with several interfaces but does
 * not say which interface a packet was captured on. When asked
 * (cli_source_want_ifaces()), a second, minimal walker reads the same
 * file's pcapng blocks in step with libpcap: it learns each interface
 * description's if_name option, and for each packet block libpcap returns
 * it reads that block's interface id. libpcap stays the only reader of the
 * packets themselves. Interfaces are numbered by name over the whole file
 * (equal names share a number, as `iifname` matches them alike), from 1;
 * 0 is an interface with no name, or any interface once the walker lost
 * step (a file libpcap reads but the walker does not understand).
 * Format: draft-ietf-opsawg-pcapng (section header 0x0a0d0d0a, interface
 * description 1, packet 2 (obsolete), simple packet 3, enhanced packet 6).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/source.h"

#define NS_PER_SEC UINT64_C(1000000000)

/* Bytes kept of an interface name (Linux's IFNAMSIZ, the NUL included). */
#define IFNAME_SIZE 16
/* Interfaces per pcapng section, and distinct names per file, that get a number. */
#define WALK_MAX_IF 1023

/* The pcapng walker (see the top of this file). */
struct walk {
    FILE *f;
    int swap;              /* the section's byte order differs from the host's */
    uint32_t n_if;         /* interface descriptions in this section */
    int links_only;        /* cli_source_check_links(): names are not wanted */
    uint16_t iif[WALK_MAX_IF]; /* this section's interface -> number (0: none) */
    uint8_t body[1u << 16];    /* an interface description being read */
};

struct cli_source {
    pcap_t *pcap;
    const char *name;      /* for messages */
    const char *file;      /* the path, NULL for standard input */
    uint16_t link;         /* enum ct_link of every frame */
    uint64_t frames;
    struct walk *walk;     /* NULL unless interfaces are wanted and the file is pcapng */
    char (*names)[IFNAME_SIZE]; /* number - 1 -> name */
    unsigned n_names;
    uint32_t idb_link;     /* LINKTYPE_* of the first pcapng interface the walker saw */
    uint32_t idb_other;    /* the first one that differs from it, or idb_link */
    int idb_seen;
    int nano;              /* the file's timestamps have nanosecond precision */
    uint32_t snaplen;
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

/*
 * Whether `file` is a classic pcap file with microsecond timestamps (magic
 * 0xa1b2c3d4 in either byte order). libpcap scales every timestamp to the
 * precision asked for and does not say the file's own, so the magic is read
 * here; only from a regular file, as a pipe's bytes cannot be read twice.
 */
static int usec_file(const char *file)
{
    struct stat sb;
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    FILE *f = fopen(file, "rb");
    uint8_t m[4];
    int usec = f && fread(m, 1, 4, f) == 4 &&
               (memcmp(m, "\xd4\xc3\xb2\xa1", 4) == 0 || memcmp(m, "\xa1\xb2\xc3\xd4", 4) == 0);
    if (f)
        fclose(f);
    return usec;
}

static uint32_t walk_u32(const struct walk *w, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return w->swap ? __builtin_bswap32(v) : v;
}

static uint16_t walk_u16(const struct walk *w, const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return w->swap ? __builtin_bswap16(v) : v;
}

/* The number of interface name `name`, adding it to the list when it is
   new; 0 when the list is full or out of memory. */
static uint16_t name_number(struct cli_source *s, const char *name)
{
    for (unsigned i = 0; i < s->n_names; i++)
        if (strcmp(s->names[i], name) == 0)
            return (uint16_t)(i + 1);
    if (s->n_names >= WALK_MAX_IF)
        return 0;
    if ((s->n_names & (s->n_names - 1)) == 0) { /* grow at powers of two */
        unsigned cap = s->n_names ? s->n_names * 2 : 1;
        char(*nn)[IFNAME_SIZE] = realloc(s->names, cap * sizeof(*nn));
        if (!nn)
            return 0;
        s->names = nn;
    }
    snprintf(s->names[s->n_names], IFNAME_SIZE, "%s", name);
    return (uint16_t)++s->n_names;
}

/* Reads an interface description's options (body after link type,
   reserved and snapshot length) for if_name (option 2). */
static void walk_idb(struct cli_source *s, struct walk *w, const uint8_t *b, uint32_t len)
{
    if (w->links_only)
        return;
    char name[IFNAME_SIZE] = "";
    uint32_t off = 8;
    while (off + 4 <= len) {
        uint16_t code = walk_u16(w, b + off), olen = walk_u16(w, b + off + 2);
        if (code == 0 || off + 4 + olen > len)
            break;
        if (code == 2) {
            size_t n = olen < IFNAME_SIZE ? olen : IFNAME_SIZE - 1;
            memcpy(name, b + off + 4, n);
            name[n] = '\0';
        }
        off += 4 + ((olen + 3u) & ~3u);
    }
    uint16_t num = name[0] ? name_number(s, name) : 0;
    if (w->n_if < WALK_MAX_IF)
        w->iif[w->n_if] = num;
    w->n_if++;
}

/*
 * Reads blocks up to the next packet block and returns its interface's
 * number; with only_idbs, reads the whole file for the interface names
 * and returns 0. Returns -1 at the end of the file or when the walker loses
 * step (then it stops walking).
 */
static int walk_next(struct cli_source *s, struct walk *w, int only_idbs)
{
    uint8_t *body = w->body;
    for (;;) {
        uint8_t h[12];
        if (fread(h, 1, 12, w->f) != 12)
            return -1;
        uint32_t type;
        memcpy(&type, h, 4);
        if (type == 0x0a0d0d0au) {
            uint32_t bom;
            memcpy(&bom, h + 8, 4);
            if (bom != 0x1a2b3c4du && bom != 0x4d3c2b1au)
                return -1;
            w->swap = bom != 0x1a2b3c4du;
            w->n_if = 0;
        } else {
            type = walk_u32(w, h);
        }
        uint32_t len = walk_u32(w, h + 4);
        if (len < 12 || (len & 3))
            return -1;
        if (type == 1 && len >= 20) {
            /* An interface description's body opens with its link type. */
            uint32_t link = walk_u16(w, h + 8);
            if (!s->idb_seen)
                s->idb_link = s->idb_other = link;
            else if (s->idb_other == s->idb_link)
                s->idb_other = link;
            s->idb_seen = 1;
        }
        /* 12 bytes are read: the type, the length and the body's first 4
           bytes (the trailing length when the body is empty). */
        uint32_t blen = len - 12; /* body bytes */
        if (type == 1 && blen >= 8 && blen <= sizeof(w->body)) {
            memcpy(body, h + 8, 4);
            if (fread(body + 4, 1, blen - 4, w->f) != blen - 4 || fseek(w->f, 4, SEEK_CUR) != 0)
                return -1;
            walk_idb(s, w, body, blen);
            continue;
        }
        if (fseek(w->f, (long)len - 12, SEEK_CUR) != 0)
            return -1;
        if (type == 1) {
            walk_idb(s, w, body, 0); /* too large to read: an interface without a name */
        } else if (!only_idbs && (type == 6 || type == 2 || type == 3)) {
            /* The interface id opens the body: 32 bits (enhanced), 16 (obsolete packet). */
            uint32_t ifid = type == 6 ? walk_u32(w, h + 8) : type == 2 ? walk_u16(w, h + 8) : 0;
            if (type != 3 && blen < 4)
                return -1;
            return ifid < w->n_if && ifid < WALK_MAX_IF ? w->iif[ifid] : 0;
        }
    }
}

int cli_source_want_ifaces(struct cli_source *s)
{
    if (!s->file || s->walk)
        return 0;
    FILE *f = fopen(s->file, "rb");
    if (!f)
        return -1;
    uint8_t magic[4];
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "\x0a\x0d\x0d\x0a", 4) != 0) {
        fclose(f); /* a classic pcap names no interface */
        return 0;
    }
    struct walk *w = calloc(1, sizeof(*w));
    if (!w) {
        fclose(f);
        return -1;
    }
    w->f = f;
    /* First every name, so that the caller can resolve them before the packets. */
    rewind(f);
    (void)walk_next(s, w, 1);
    rewind(f);
    w->n_if = 0;
    s->walk = w;
    return 0;
}

int cli_source_check_links(struct cli_source *s)
{
    if (!s->file)
        return 0;
    FILE *f = fopen(s->file, "rb");
    if (!f) {
        cli_error("%s: cannot open a second time: %s", s->name, strerror(errno));
        return -1;
    }
    uint8_t magic[4];
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "\x0a\x0d\x0d\x0a", 4) != 0) {
        fclose(f); /* a classic pcap has one link type */
        return 0;
    }
    struct walk *w = calloc(1, sizeof(*w));
    if (!w) {
        fclose(f);
        cli_error("out of memory");
        return -1;
    }
    w->f = f;
    w->links_only = 1;
    rewind(f);
    (void)walk_next(s, w, 1);
    fclose(f);
    free(w);
    if (s->idb_other != s->idb_link) {
        cli_error("%s: interfaces of different link types (LINKTYPE %u and %u); --write "
                  "writes a pcap file of one link type",
                  s->name, (unsigned)s->idb_link, (unsigned)s->idb_other);
        return -1;
    }
    return 0;
}

uint16_t cli_source_link(const struct cli_source *s)
{
    return s->link;
}

uint32_t cli_source_snaplen(const struct cli_source *s)
{
    return s->snaplen;
}

int cli_source_nano(const struct cli_source *s)
{
    return s->nano;
}

unsigned cli_source_iface_count(const struct cli_source *s)
{
    return s->n_names;
}

const char *cli_source_iface_name(const struct cli_source *s, unsigned iif)
{
    return iif >= 1 && iif <= s->n_names ? s->names[iif - 1] : NULL;
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
    s->file = strcmp(file, "-") != 0 ? file : NULL;
    s->link = (uint16_t)link;
    int snap = pcap_snapshot(p);
    s->snaplen = snap > 0 ? (uint32_t)snap : 262144u;
    s->nano = !s->file || !usec_file(file);
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
    if (s->walk) {
        int iif = walk_next(s, s->walk, 0);
        if (iif < 0) {
            fclose(s->walk->f);
            free(s->walk);
            s->walk = NULL;
        } else {
            f->iface = (uint32_t)iif;
        }
    }
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
    if (s->walk) {
        fclose(s->walk->f);
        free(s->walk);
    }
    free(s->names);
    free(s);
}
