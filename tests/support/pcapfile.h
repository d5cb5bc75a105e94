/*
 * Capture files for the unit tests and the tools, without libpcap: a
 * writer of classic pcap files, a writer of pcapng files with several named
 * interfaces, and a reader of classic pcap (microsecond or nanosecond
 * timestamps, either byte order) and pcapng files that reports each
 * packet's interface id and the interfaces' names.
 *
 * The writer writes every field little-endian, so that a file is the same
 * bytes on every host. The reader streams from a FILE (standard input
 * included; pcapng needs a seekable one), keeps one packet at a time in a
 * buffer of its own, and says what is wrong with a malformed file instead
 * of stopping the program; the caller decides.
 *
 * Formats: https://wiki.wireshark.org/Development/LibpcapFileFormat and
 * draft-ietf-opsawg-pcapng (section header, interface description,
 * enhanced and simple packet blocks; other blocks are skipped).
 *
 * Header-only (static inline functions), like support/frames.h.
 */
#ifndef CT_TESTS_SUPPORT_PCAPFILE_H
#define CT_TESTS_SUPPORT_PCAPFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_USEC 0xa1b2c3d4u /* classic pcap, microsecond timestamps */
#define PCAP_MAGIC_NSEC 0xa1b23c4du /* classic pcap, nanosecond timestamps */

/* The largest packet the reader accepts (bytes captured). */
#define PCAP_READER_MAX_PACKET 65536u

/* ---- writing ---------------------------------------------------------------------------- */

static inline void pcap_put_le32_(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Writes the 24-byte file header: `magic` (PCAP_MAGIC_USEC or _NSEC),
   version 2.4, UTC, the snapshot length and the LINKTYPE_* value.
   Returns 0, or -1 when the write failed. */
static inline int pcap_write_header(FILE *f, uint32_t magic, uint32_t snaplen, uint32_t linktype)
{
    uint8_t h[24] = {0};
    pcap_put_le32_(h, magic);
    h[4] = 2; /* version 2.4 */
    h[6] = 4;
    pcap_put_le32_(h + 16, snaplen);
    pcap_put_le32_(h + 20, linktype);
    return fwrite(h, 1, sizeof(h), f) == sizeof(h) ? 0 : -1;
}

/* Writes one record: the 16-byte header (seconds, microseconds or
   nanoseconds as the file's magic says, captured and original lengths),
   then the `caplen` bytes captured. Returns 0, or -1 when a write failed. */
static inline int pcap_write_record(FILE *f, uint32_t sec, uint32_t frac, const uint8_t *data,
                                    uint32_t caplen, uint32_t wirelen)
{
    uint8_t h[16];
    pcap_put_le32_(h, sec);
    pcap_put_le32_(h + 4, frac);
    pcap_put_le32_(h + 8, caplen);
    pcap_put_le32_(h + 12, wirelen);
    if (fwrite(h, 1, sizeof(h), f) != sizeof(h))
        return -1;
    return fwrite(data, 1, caplen, f) == caplen ? 0 : -1;
}

/*
 * pcapng (draft-ietf-opsawg-pcapng): a section header block, one interface
 * description block per interface (link type, snapshot length, if_name,
 * if_tsresol 9 = nanoseconds), then enhanced packet blocks naming their
 * interface by its index among the description blocks. Little-endian, like
 * the classic writer. Each returns 0, or -1 when a write failed.
 */
static inline int pcapng_write_block_(FILE *f, uint32_t type, const uint8_t *body, uint32_t len)
{
    uint8_t h[8], pad[4] = {0};
    uint32_t padded = (len + 3u) & ~3u, total = 12u + padded;
    pcap_put_le32_(h, type);
    pcap_put_le32_(h + 4, total);
    if (fwrite(h, 1, 8, f) != 8 || fwrite(body, 1, len, f) != len ||
        fwrite(pad, 1, padded - len, f) != padded - len)
        return -1;
    pcap_put_le32_(h, total);
    return fwrite(h, 1, 4, f) == 4 ? 0 : -1;
}

/* The section header: byte-order magic, version 1.0, section length unknown. */
static inline int pcapng_write_shb(FILE *f)
{
    uint8_t b[16];
    pcap_put_le32_(b, 0x1a2b3c4du);
    b[4] = 1;
    b[5] = 0;
    b[6] = 0;
    b[7] = 0;
    memset(b + 8, 0xff, 8);
    return pcapng_write_block_(f, 0x0a0d0d0au, b, sizeof(b));
}

/* An interface: LINKTYPE_* value, snapshot length, its name (NULL for none,
   at most 63 bytes) and nanosecond timestamps. */
static inline int pcapng_write_idb(FILE *f, uint16_t linktype, uint32_t snaplen, const char *name)
{
    uint8_t b[8 + 4 + 64 + 8 + 4];
    uint32_t n = 8;
    memset(b, 0, sizeof(b));
    b[0] = (uint8_t)linktype;
    b[1] = (uint8_t)(linktype >> 8);
    pcap_put_le32_(b + 4, snaplen);
    size_t nl = name ? strlen(name) : 0;
    if (nl > 63)
        return -1;
    if (nl) {
        b[n] = 2; /* if_name */
        b[n + 2] = (uint8_t)nl;
        memcpy(b + n + 4, name, nl);
        n += 4 + (((uint32_t)nl + 3u) & ~3u);
    }
    b[n] = 9; /* if_tsresol: 10^-9 */
    b[n + 2] = 1;
    b[n + 4] = 9;
    n += 8;
    n += 4; /* opt_endofopt */
    return pcapng_write_block_(f, 1, b, n);
}

/* A packet on interface `ifid`, stamped `ts_ns` nanoseconds since the epoch. */
static inline int pcapng_write_epb(FILE *f, uint32_t ifid, uint64_t ts_ns, const uint8_t *data,
                                   uint32_t caplen, uint32_t wirelen)
{
    static uint8_t b[20 + PCAP_READER_MAX_PACKET];
    if (caplen > PCAP_READER_MAX_PACKET)
        return -1;
    pcap_put_le32_(b, ifid);
    pcap_put_le32_(b + 4, (uint32_t)(ts_ns >> 32));
    pcap_put_le32_(b + 8, (uint32_t)ts_ns);
    pcap_put_le32_(b + 12, caplen);
    pcap_put_le32_(b + 16, wirelen);
    memcpy(b + 20, data, caplen);
    return pcapng_write_block_(f, 6, b, 20 + caplen);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* A capture being read. */
struct pcap_reader {
    FILE *f;
    int pcapng;
    int swap;          /* the file's byte order differs from the host's */
    uint32_t link;     /* classic pcap: the file's link type */
    uint64_t frac_ns;  /* classic pcap: nanoseconds per unit of the fraction */
    /* pcapng: each interface's link type and timestamp units per second. */
    uint32_t if_link[64];
    uint64_t if_units[64];
    char if_name[64][64]; /* if_name option, "" when absent */
    unsigned n_if;
    uint8_t *buf;      /* the current record or block */
    const char *error; /* what is wrong, after a result of -1 */
};

/* One packet read; `data` stays valid until the next read. */
struct pcap_packet {
    const uint8_t *data;
    uint32_t caplen, wirelen;
    uint32_t link;    /* LINKTYPE_* value */
    uint64_t ts_ns;   /* nanoseconds since the epoch, when has_ts */
    int has_ts;       /* 0 for a pcapng simple packet block */
    uint32_t ifid;    /* pcapng: the interface's index (if_name in the reader); 0 for pcap */
};

#define PCAP_READER_BUF_ (PCAP_READER_MAX_PACKET + 4096u)

static inline uint32_t pcap_rd32_(const struct pcap_reader *r, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return r->swap ? __builtin_bswap32(v) : v;
}

static inline uint16_t pcap_rd16_(const struct pcap_reader *r, const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return r->swap ? __builtin_bswap16(v) : v;
}

static inline int pcap_fail_(struct pcap_reader *r, const char *why)
{
    r->error = why;
    return -1;
}

/* Frees what the reader holds (not the FILE, which is the caller's). */
static inline void pcap_reader_close(struct pcap_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Starts reading the capture `f` and reads its file header. Returns 0, or
   -1 with r->error set (pcap_reader_close() is still to be called). */
static inline int pcap_reader_open(struct pcap_reader *r, FILE *f)
{
    memset(r, 0, sizeof(*r));
    r->f = f;
    r->buf = malloc(PCAP_READER_BUF_);
    if (!r->buf)
        return pcap_fail_(r, "out of memory");
    uint8_t h[24];
    if (fread(h, 1, 4, f) != 4)
        return pcap_fail_(r, "not a capture file (too short)");
    uint32_t magic;
    memcpy(&magic, h, 4);
    if (magic == 0x0a0d0d0au) {
        r->pcapng = 1;
        /* The section header block is read as the first block. */
        if (fseek(f, 0, SEEK_SET) != 0)
            return pcap_fail_(r, "pcapng input must be seekable");
        return 0;
    }
    if (fread(h + 4, 1, 20, f) != 20)
        return pcap_fail_(r, "truncated pcap header");
    switch (magic) {
    case 0xa1b2c3d4u: r->frac_ns = 1000; break;
    case 0xa1b23c4du: r->frac_ns = 1; break;
    case 0xd4c3b2a1u: r->frac_ns = 1000; r->swap = 1; break;
    case 0x4d3cb2a1u: r->frac_ns = 1; r->swap = 1; break;
    default: return pcap_fail_(r, "not a pcap or pcapng file");
    }
    r->link = pcap_rd32_(r, h + 20) & 0x0fffffffu;
    return 0;
}

static inline int pcap_read_classic_(struct pcap_reader *r, struct pcap_packet *p)
{
    uint8_t h[16];
    size_t got = fread(h, 1, 16, r->f);
    if (got == 0)
        return 0;
    if (got != 16)
        return pcap_fail_(r, "truncated packet header");
    uint32_t caplen = pcap_rd32_(r, h + 8);
    if (caplen > PCAP_READER_MAX_PACKET)
        return pcap_fail_(r, "packet larger than 65536 bytes");
    if (fread(r->buf, 1, caplen, r->f) != caplen)
        return pcap_fail_(r, "truncated packet");
    p->data = r->buf;
    p->caplen = caplen;
    p->wirelen = pcap_rd32_(r, h + 12);
    p->link = r->link;
    p->ts_ns =
        (uint64_t)pcap_rd32_(r, h) * 1000000000ull + (uint64_t)pcap_rd32_(r, h + 4) * r->frac_ns;
    p->has_ts = 1;
    p->ifid = 0;
    return 1;
}

/* Reads an interface description block's body (after type and length). */
static inline int pcap_read_idb_(struct pcap_reader *r, const uint8_t *b, uint32_t len)
{
    if (r->n_if >= 64 || len < 8)
        return pcap_fail_(r, "bad or too many pcapng interfaces");
    unsigned i = r->n_if++;
    r->if_link[i] = pcap_rd16_(r, b);
    r->if_units[i] = 1000000;
    r->if_name[i][0] = '\0';
    uint32_t off = 8;
    while (off + 4 <= len) {
        uint16_t code = pcap_rd16_(r, b + off), olen = pcap_rd16_(r, b + off + 2);
        if (code == 0)
            break;
        if (code == 9 && olen >= 1 && off + 5 <= len) { /* if_tsresol */
            uint8_t res = b[off + 4];
            uint64_t units = 1;
            unsigned n = res & 0x7f;
            for (unsigned k = 0; k < n && units < (1ull << 60); k++)
                units *= (res & 0x80) ? 2 : 10;
            r->if_units[i] = units;
        }
        if (code == 2 && off + 4 + olen <= len) { /* if_name, not NUL-terminated */
            size_t n = olen < sizeof(r->if_name[i]) ? olen : sizeof(r->if_name[i]) - 1;
            memcpy(r->if_name[i], b + off + 4, n);
            r->if_name[i][n] = '\0';
        }
        off += 4 + ((olen + 3u) & ~3u);
    }
    return 0;
}

/* A pcapng timestamp in `units` per second, in nanoseconds. */
static inline uint64_t pcap_units_to_ns_(uint64_t ts, uint64_t units)
{
    if (units >= 1000000000ull && units % 1000000000ull == 0)
        return ts / (units / 1000000000ull);
    return ts / units * 1000000000ull + ts % units * 1000000000ull / units;
}

static inline int pcap_read_pcapng_(struct pcap_reader *r, struct pcap_packet *p)
{
    uint8_t *b = r->buf;
    for (;;) {
        uint8_t h[8];
        size_t got = fread(h, 1, 8, r->f);
        if (got == 0)
            return 0;
        if (got != 8)
            return pcap_fail_(r, "truncated pcapng block");
        uint32_t type;
        memcpy(&type, h, 4);
        if (type == 0x0a0d0d0au) {
            /* Section header: learn the byte order from its magic. */
            uint8_t m[4];
            if (fread(m, 1, 4, r->f) != 4)
                return pcap_fail_(r, "truncated section header");
            uint32_t bom;
            memcpy(&bom, m, 4);
            if (bom == 0x1a2b3c4du)
                r->swap = 0;
            else if (bom == 0x4d3c2b1au)
                r->swap = 1;
            else
                return pcap_fail_(r, "bad pcapng byte-order magic");
            r->n_if = 0;
            uint32_t len = pcap_rd32_(r, h + 4);
            if (len < 16 || len > PCAP_READER_BUF_)
                return pcap_fail_(r, "bad section header length");
            if (fread(b, 1, len - 12, r->f) != len - 12)
                return pcap_fail_(r, "truncated section header");
            continue;
        }
        type = pcap_rd32_(r, h);
        uint32_t len = pcap_rd32_(r, h + 4);
        if (len < 12 || len > PCAP_READER_BUF_ || (len & 3))
            return pcap_fail_(r, "bad pcapng block length");
        if (fread(b, 1, len - 8, r->f) != len - 8)
            return pcap_fail_(r, "truncated pcapng block");
        uint32_t body = len - 12;
        if (type == 1) {
            if (pcap_read_idb_(r, b, body) != 0)
                return -1;
        } else if (type == 6 && body >= 20) {
            uint32_t ifid = pcap_rd32_(r, b), caplen = pcap_rd32_(r, b + 12);
            if (ifid >= r->n_if || caplen > body - 20)
                return pcap_fail_(r, "bad enhanced packet block");
            uint64_t ts = (uint64_t)pcap_rd32_(r, b + 4) << 32 | pcap_rd32_(r, b + 8);
            p->ts_ns = pcap_units_to_ns_(ts, r->if_units[ifid]);
            p->has_ts = 1;
            p->data = b + 20;
            p->caplen = caplen;
            p->wirelen = pcap_rd32_(r, b + 16);
            p->link = r->if_link[ifid];
            p->ifid = ifid;
            return 1;
        } else if (type == 3 && body >= 4) {
            if (r->n_if == 0)
                return pcap_fail_(r, "simple packet block before any interface");
            uint32_t wirelen = pcap_rd32_(r, b);
            p->data = b + 4;
            p->caplen = wirelen > body - 4 ? body - 4 : wirelen;
            p->wirelen = wirelen;
            p->link = r->if_link[0];
            p->ifid = 0;
            p->ts_ns = 0;
            p->has_ts = 0;
            return 1;
        }
        /* Other blocks (statistics, name resolution, ...) are skipped. */
    }
}

/* Reads the next packet: 1, 0 at the end of the file, or -1 with
   r->error set when the file is malformed. */
static inline int pcap_reader_next(struct pcap_reader *r, struct pcap_packet *p)
{
    return r->pcapng ? pcap_read_pcapng_(r, p) : pcap_read_classic_(r, p);
}

#endif
