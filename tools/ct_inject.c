/*
 * ct_inject: replays a capture onto a network interface so that the Linux
 * kernel's own nf_conntrack sees it, and writes a capture of exactly what was
 * sent, stamped with the times it was sent, for `ctrack read` to process.
 * The kernel comparison test (tests/golden/kernel_compare.sh) uses it inside
 * network namespaces it creates; see docs/kernel-compare.md.
 *
 * Usage: ct_inject [options] IFACE IN.pcap OUT.pcap
 *
 *   --max-gap SECONDS   longest pause between two packets (default 1); the
 *                       capture's own gaps are kept up to this length
 *   --min-gap MICROSEC  shortest pause between two packets (default 20)
 *   --netns NAME        enter the network namespace NAME (as named by
 *                       `ip netns`, /run/netns/NAME) before opening IFACE
 *   --dry-run           send nothing; still write OUT.pcap (with the
 *                       capture's gaps, capped, as timestamps)
 *   --by-ifname         send each packet of a pcapng capture to the
 *                       interface its interface description names (if_name),
 *                       IFACE only for packets of unnamed interfaces, and
 *                       write OUT as pcapng with the same interfaces and
 *                       names, so that `ctrack read` sees each packet enter on
 *                       the interface the kernel saw it enter on
 *   --list-ifnames      print the names of IN's interfaces, one a line, and
 *                       exit (usage: ct_inject --list-ifnames IN)
 *
 * IN.pcap may be a classic pcap (microsecond or nanosecond, either byte
 * order) or a pcapng file. Every IPv4 or IPv6 packet is sent as an Ethernet
 * frame: VLAN tags are removed, link layers other than Ethernet (raw IP,
 * loopback, Linux cooked) are replaced by an Ethernet header, and the MAC
 * addresses are set to fixed unicast addresses (02:c7:00:00:00:01 to
 * 02:c7:00:00:00:02) so that a bridge floods every packet to its other
 * ports. Frames that carry neither IPv4 nor IPv6 are not sent.
 *
 * OUT.pcap is a nanosecond pcap of Ethernet frames (pcapng with
 * --by-ifname): the frames as sent, each stamped with the capture's first
 * timestamp plus the time elapsed when it was sent, so that ctrack sees the
 * same timeline as the kernel did.
 *
 * This tool reads and writes captures itself (the tools are linked with
 * libctrack only), with the tests' reader and writer
 * (tests/support/pcapfile.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "../tests/support/pcapfile.h"

#define MAX_FRAME 65536
#define SEND_MAX 9014  /* Ethernet header plus the 9000-byte MTU the test sets */

static _Noreturn void die(const char *what, const char *detail)
{
    fprintf(stderr, "ct_inject: %s: %s\n", what, detail);
    exit(2);
}

/*
 * Finds the IP packet in a frame of the given link type. Returns the
 * EtherType (0x0800 or 0x86dd) and sets *off, or 0 when the frame carries
 * no IP packet this tool can send.
 */
static uint16_t find_ip(const uint8_t *d, uint32_t len, uint32_t link, uint32_t *off)
{
    uint32_t o;
    uint16_t et;
    switch (link) {
    case 1: /* Ethernet, with any number of 802.1Q / 802.1ad tags */
        if (len < 14)
            return 0;
        et = (uint16_t)(d[12] << 8 | d[13]);
        o = 14;
        while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && o + 4 <= len) {
            et = (uint16_t)(d[o + 2] << 8 | d[o + 3]);
            o += 4;
        }
        break;
    case 0:   /* BSD loopback: family in the capturing host's order */
    case 108: /* OpenBSD loopback: family in network order */
        if (len < 5)
            return 0;
        o = 4;
        et = (d[4] >> 4) == 4 ? 0x0800 : (d[4] >> 4) == 6 ? 0x86dd : 0;
        break;
    case 101: case 228: case 229: /* raw IP */
        if (len < 1)
            return 0;
        o = 0;
        et = (d[0] >> 4) == 4 ? 0x0800 : (d[0] >> 4) == 6 ? 0x86dd : 0;
        break;
    case 113: /* Linux cooked v1 */
        if (len < 16)
            return 0;
        et = (uint16_t)(d[14] << 8 | d[15]);
        o = 16;
        break;
    case 276: /* Linux cooked v2 */
        if (len < 20)
            return 0;
        et = (uint16_t)(d[0] << 8 | d[1]);
        o = 20;
        break;
    default:
        return 0;
    }
    if (et != 0x0800 && et != 0x86dd)
        return 0;
    *off = o;
    return et;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull),
                           .tv_nsec = (long)(t % 1000000000ull) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/*
 * Prints the names of the capture's interfaces (pcapng if_name options; a
 * classic pcap has none), each once, in the order they are described.
 */
static int list_ifnames(const char *in_path)
{
    FILE *in = fopen(in_path, "rb");
    if (!in)
        die(in_path, strerror(errno));
    struct pcap_reader r;
    if (pcap_reader_open(&r, in) != 0)
        die(in_path, r.error);
    struct pcap_packet pkt;
    unsigned printed = 0;
    int got;
    do {
        got = pcap_reader_next(&r, &pkt);
        for (; printed < r.n_if; printed++) {
            int seen = 0;
            for (unsigned k = 0; k < printed; k++)
                seen |= strcmp(r.if_name[k], r.if_name[printed]) == 0;
            if (r.if_name[printed][0] && !seen)
                printf("%s\n", r.if_name[printed]);
        }
    } while (got == 1);
    if (got < 0)
        die(in_path, r.error);
    pcap_reader_close(&r);
    fclose(in);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: ct_inject [--max-gap SECONDS] [--min-gap MICROSEC] [--netns NAME] [--dry-run] "
                    "[--by-ifname] IFACE IN.pcap OUT.pcap\n"
                    "       ct_inject --list-ifnames IN.pcap\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double max_gap_s = 1.0;
    long min_gap_us = 20;
    int dry = 0, by_ifname = 0;
    const char *netns = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--max-gap") == 0 && i + 1 < argc) {
            char *end;
            max_gap_s = strtod(argv[++i], &end);
            if (*end || max_gap_s < 0 || max_gap_s > 600)
                die("--max-gap", "expects seconds between 0 and 600");
        } else if (strcmp(argv[i], "--min-gap") == 0 && i + 1 < argc) {
            char *end;
            min_gap_us = strtol(argv[++i], &end, 10);
            if (*end || min_gap_us < 0 || min_gap_us > 1000000)
                die("--min-gap", "expects microseconds between 0 and 1000000");
        } else if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc) {
            netns = argv[++i];
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            dry = 1;
        } else if (strcmp(argv[i], "--by-ifname") == 0) {
            by_ifname = 1;
        } else if (strcmp(argv[i], "--list-ifnames") == 0 && i + 2 == argc) {
            return list_ifnames(argv[i + 1]);
        } else {
            usage();
        }
    }
    if (argc - i != 3)
        usage();
    const char *ifname = argv[i], *in_path = argv[i + 1], *out_path = argv[i + 2];

    int fd = -1;
    unsigned ifindex = 0;
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    if (netns && !dry) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/run/netns/%s", netns);
        int nfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nfd < 0)
            die(path, strerror(errno));
        if (setns(nfd, CLONE_NEWNET) != 0)
            die("setns", strerror(errno));
        close(nfd);
    }
    if (!dry) {
        ifindex = if_nametoindex(ifname);
        if (ifindex == 0)
            die(ifname, "no such interface");
        fd = socket(AF_PACKET, SOCK_RAW, 0);
        if (fd < 0)
            die("AF_PACKET socket", strerror(errno));
        sll.sll_family = AF_PACKET;
        sll.sll_ifindex = (int)ifindex;
        sll.sll_halen = ETH_ALEN;
        /* Stay on one CPU so that packets reach the stack in order. */
        int cpu = sched_getcpu();
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            (void)sched_setaffinity(0, sizeof(set), &set);
        }
    }

    FILE *in = strcmp(in_path, "-") == 0 ? stdin : fopen(in_path, "rb");
    if (!in)
        die(in_path, strerror(errno));
    struct pcap_reader r;
    if (pcap_reader_open(&r, in) != 0)
        die(in_path, r.error);
    if (by_ifname && !r.pcapng)
        die(in_path, "--by-ifname needs a pcapng capture (a pcap file names no interface)");
    FILE *out = fopen(out_path, "wb");
    if (!out)
        die(out_path, strerror(errno));
    if (by_ifname)
        (void)pcapng_write_shb(out);
    else
        (void)pcap_write_header(out, PCAP_MAGIC_NSEC, MAX_FRAME, 1 /* Ethernet */);
    /* --by-ifname: the interface index each capture interface is sent to,
       and how many of the capture's interfaces OUT describes so far. */
    unsigned if_index[64] = {0}, n_out_if = 0;

    struct pcap_packet pkt;
    static uint8_t frame[MAX_FRAME + 14];
    static const uint8_t mac_dst[6] = {0x02, 0xc7, 0, 0, 0, 0x02};
    static const uint8_t mac_src[6] = {0x02, 0xc7, 0, 0, 0, 0x01};
    unsigned long n_read = 0, n_sent = 0, n_not_ip = 0, n_big = 0, n_err = 0;
    uint64_t first_ts = 0, prev_ts = 0, start = 0, target = 0, last_sent = 0;
    uint64_t max_gap = (uint64_t)(max_gap_s * 1e9), min_gap = (uint64_t)min_gap_us * 1000u;

    int got;
    while ((got = pcap_reader_next(&r, &pkt)) == 1) {
        n_read++;
        for (; by_ifname && n_out_if < r.n_if; n_out_if++) {
            const char *name = r.if_name[n_out_if];
            if_index[n_out_if] = ifindex;
            if (name[0] && !dry && (if_index[n_out_if] = if_nametoindex(name)) == 0)
                die(name, "no such interface (the capture names it)");
            (void)pcapng_write_idb(out, 1 /* Ethernet */, MAX_FRAME, name[0] ? name : NULL);
        }
        uint32_t off;
        uint16_t et = find_ip(pkt.data, pkt.caplen, pkt.link, &off);
        if (!et) {
            n_not_ip++;
            continue;
        }
        uint32_t l3len = pkt.caplen - off;
        if (14 + l3len > SEND_MAX) {
            n_big++;
            continue;
        }
        memcpy(frame, mac_dst, 6);
        memcpy(frame + 6, mac_src, 6);
        frame[12] = (uint8_t)(et >> 8);
        frame[13] = (uint8_t)et;
        memcpy(frame + 14, pkt.data + off, l3len);
        uint32_t flen = 14 + l3len;

        /* Keep the capture's gap, within [min_gap, max_gap]. */
        uint64_t ts = pkt.has_ts ? pkt.ts_ns : prev_ts;
        if (n_sent == 0) {
            first_ts = ts;
            prev_ts = ts;
            start = dry ? 0 : mono_ns();
            target = start;
        } else {
            uint64_t gap = ts > prev_ts ? ts - prev_ts : 0;
            if (gap > max_gap)
                gap = max_gap;
            if (gap < min_gap)
                gap = min_gap;
            target += gap;
            prev_ts = ts;
        }
        uint64_t at = target;
        if (!dry) {
            sleep_until(target);
            at = mono_ns();
            if (by_ifname)
                sll.sll_ifindex = (int)if_index[pkt.ifid];
            if (sendto(fd, frame, flen, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)flen) {
                fprintf(stderr, "ct_inject: packet %lu: send: %s\n", n_read, strerror(errno));
                n_err++;
                continue;
            }
        }
        last_sent = at;
        uint64_t t = first_ts + (at - start);
        if (by_ifname)
            (void)pcapng_write_epb(out, pkt.ifid, t, frame, flen, flen);
        else
            (void)pcap_write_record(out, (uint32_t)(t / 1000000000ull),
                                    (uint32_t)(t % 1000000000ull), frame, flen, flen);
        n_sent++;
    }
    if (got < 0)
        die(in_path, r.error);
    pcap_reader_close(&r);
    if (in != stdin)
        fclose(in);
    if (fclose(out) != 0)
        die(out_path, strerror(errno));
    fprintf(stderr, "ct_inject: %s: %lu frames read, %lu sent, %lu not IP, %lu too big, "
                    "%lu send errors, %.3f s replayed\n",
            in_path, n_read, n_sent, n_not_ip, n_big, n_err,
            n_sent ? (double)(last_sent - start) / 1e9 : 0.0);
    if (fd >= 0)
        close(fd);
    return n_err ? 1 : 0;
}
