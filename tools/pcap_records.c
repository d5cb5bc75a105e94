/*
 * pcap_records: prints every record of a pcap or pcapng file as one line,
 * so that the golden tests can compare what `ctrack read --write` wrote
 * with what it read whatever the two files' formats.
 *
 *     pcap_records FILE
 *
 * Each line: the record's number (from 1), its link type (LINKTYPE_*), its
 * timestamp in nanoseconds (`-` for a pcapng simple packet block, which
 * has none), the captured and the wire length, and the captured bytes in
 * hex. Exit status 0, or 1 with one line on standard error when the file
 * cannot be read or is damaged.
 */
#include <stdio.h>

#include "../tests/support/pcapfile.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcap_records FILE\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    struct pcap_reader r;
    int rc = pcap_reader_open(&r, f);
    struct pcap_packet p;
    unsigned long long n = 0;
    while (rc == 0 && (rc = pcap_reader_next(&r, &p)) == 1) {
        if (p.has_ts)
            printf("%llu %u %llu %u %u ", ++n, (unsigned)p.link, (unsigned long long)p.ts_ns,
                   (unsigned)p.caplen, (unsigned)p.wirelen);
        else
            printf("%llu %u - %u %u ", ++n, (unsigned)p.link, (unsigned)p.caplen,
                   (unsigned)p.wirelen);
        for (uint32_t i = 0; i < p.caplen; i++)
            printf("%02x", p.data[i]);
        putchar('\n');
        rc = 0;
    }
    if (rc < 0)
        fprintf(stderr, "pcap_records: %s: %s\n", argv[1], r.error);
    pcap_reader_close(&r);
    fclose(f);
    return rc < 0 || ferror(stdout) ? 1 : 0;
}
