/*
 * pcap_split: cuts a classic pcap file in two at a packet, for the
 * split-capture test of snapshots (tests/golden/snapshot.sh).
 *
 *     pcap_split IN N OUT1 OUT2
 *
 * OUT1 gets the global header and the first N packets, OUT2 the global
 * header and the rest. Either byte order and the nanosecond variant are
 * kept as they are (the header is copied, record headers are only read).
 * Prints the number of packets in IN on standard output. Exit status 0, 1
 * on a damaged file or an I/O error, 3 when IN is not a classic pcap file
 * (pcapng is not split).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rd32(const uint8_t *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: pcap_split IN N OUT1 OUT2\n");
        return 1;
    }
    FILE *in = fopen(argv[1], "rb");
    FILE *out[2] = {fopen(argv[3], "wb"), fopen(argv[4], "wb")};
    if (!in || !out[0] || !out[1]) {
        perror("pcap_split");
        return 1;
    }
    unsigned long long cut = strtoull(argv[2], NULL, 10);
    uint8_t gh[24];
    if (fread(gh, 1, 24, in) != 24)
        return 3;
    uint32_t magic;
    memcpy(&magic, gh, 4);
    int swap;
    if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
        swap = 0;
    else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
        swap = 1;
    else
        return 3;
    for (int i = 0; i < 2; i++)
        fwrite(gh, 1, 24, out[i]);
    static uint8_t buf[1 << 18];
    unsigned long long n = 0;
    uint8_t rh[16];
    size_t got;
    while ((got = fread(rh, 1, 16, in)) == 16) {
        uint32_t caplen = rd32(rh + 8, swap);
        if (caplen > sizeof(buf) || fread(buf, 1, caplen, in) != caplen) {
            fprintf(stderr, "pcap_split: %s: damaged record %llu\n", argv[1], n + 1);
            return 1;
        }
        FILE *o = out[n >= cut];
        fwrite(rh, 1, 16, o);
        fwrite(buf, 1, caplen, o);
        n++;
    }
    if (got != 0) {
        fprintf(stderr, "pcap_split: %s: cut-off record header\n", argv[1]);
        return 1;
    }
    if (fclose(out[0]) != 0 || fclose(out[1]) != 0) {
        perror("pcap_split");
        return 1;
    }
    fclose(in);
    printf("%llu\n", n);
    return 0;
}
