/*
 * The parser's fast path (src/packet/parse.c) against its general parser:
 * for every frame, the descriptor the fast path writes, when it takes the
 * frame, must be the one the general parser writes, byte for byte
 * (support/parsepaths.h), and ct_pkt_parse() must agree with the general
 * parser whichever path it took.
 *
 * Frames: every frame of every capture under tests/pcap, samples and the
 * corpus (../shared/corpus, when it is there), and a set of hand-built
 * frames of the kinds the fast path takes. Those it takes are also cut at
 * every length (as truncated packets and as snapped captures, from exactly
 * sized heap copies, so that ASan sees any read past the end) and mutated
 * byte by byte over their headers, and every variant is compared again:
 * that reaches each check the fast path makes from both sides.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "support/corpus.h"
#include "support/frames.h"
#include "support/parsepaths.h"
#include "support/pcapfile.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"

/* Comparisons made, and how many of them the fast path took. */
static unsigned long COMPARED, TAKEN;

/* Compares the paths on `fr` with and without the IPv4 header checksum
   check; returns 1 when the fast path took it (without the option). */
static int compare(const struct ct_frame *fr, const char *what, size_t index)
{
    static const unsigned flag_sets[] = {0, CT_PARSE_F_NO_IP_CHECKSUM};
    int took = 0;
    for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
        struct ct_pkt g;
        long at;
        int r = parse_paths_compare(fr, flag_sets[i], &g, &at);
        COMPARED++;
        if (r == PARSEPATHS_FAST)
            TAKEN++;
        if (r == PARSEPATHS_DIFFER) {
            CHECK_FAIL_(
                "%s #%zu (link %u, len %u, wire %u, flags %u): paths differ at byte %ld, "
                "general reason %s",
                what, index, (unsigned)fr->link, (unsigned)fr->len, (unsigned)fr->wire_len,
                flag_sets[i], at, ct_reason_name(g.reason));
            return -1;
        }
        if (i == 0)
            took = r == PARSEPATHS_FAST;
    }
    return took;
}

/* A frame of `n` bytes in a heap block of exactly that size (one byte for
   an empty frame, which is never read). */
static uint8_t *exact_copy(const uint8_t *f, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (b && n)
        memcpy(b, f, n);
    return b;
}

/*
 * Cuts the frame at every length from 0 to n - 1, as a truncated packet
 * (wire length = cut) and as a snapped capture (wire length = n), and
 * compares each. Returns how many cuts the fast path took.
 */
static unsigned cuts(const struct ct_frame *whole, const char *what, size_t index)
{
    unsigned took = 0;
    for (size_t k = 0; k < whole->len; k++) {
        uint8_t *b = exact_copy(whole->data, k);
        if (!b) {
            CHECK_FAIL_("out of memory");
            return took;
        }
        struct ct_frame fr = *whole;
        fr.data = b;
        fr.len = (uint32_t)k;
        fr.wire_len = (uint32_t)k;
        int r = compare(&fr, what, index);
        fr.wire_len = whole->len;
        int s = compare(&fr, what, index);
        free(b);
        if (r < 0 || s < 0)
            return took;
        took += (unsigned)(r + s);
    }
    return took;
}

/*
 * Changes each of the first `span` bytes of the frame in turn to a few
 * values (0, 0xff, its bit flips at 0x01, 0x10 and 0x80, one more, one
 * less, and the values of the fields the fast path looks for), compares
 * each variant and puts the byte back. Returns 0, or -1 at the first
 * difference.
 */
static int mutations(const struct ct_frame *whole, size_t span, const char *what, size_t index)
{
    static const uint8_t fixed[] = {0x00, 0xff, 0x45, 0x46, 0x4f, 0x60, 0x81, 0x88, 0x86, 0xdd,
                                    0x08, 0x06, 0x11, 0x2c, 0x3a, 0x50, 0x40, 0x20, 0x12, 0x17};
    uint8_t *b = exact_copy(whole->data, whole->len);
    if (!b)
        return -1;
    struct ct_frame fr = *whole;
    fr.data = b;
    if (span > whole->len)
        span = whole->len;
    int rc = 0;
    for (size_t i = 0; i < span && rc == 0; i++) {
        uint8_t orig = b[i];
        uint8_t vals[sizeof(fixed) + 5];
        memcpy(vals, fixed, sizeof(fixed));
        vals[sizeof(fixed)] = orig ^ 0x01;
        vals[sizeof(fixed) + 1] = orig ^ 0x10;
        vals[sizeof(fixed) + 2] = orig ^ 0x80;
        vals[sizeof(fixed) + 3] = (uint8_t)(orig + 1);
        vals[sizeof(fixed) + 4] = (uint8_t)(orig - 1);
        for (size_t v = 0; v < sizeof(vals) && rc == 0; v++) {
            if (vals[v] == orig)
                continue;
            b[i] = vals[v];
            if (compare(&fr, what, index) < 0)
                rc = -1;
        }
        b[i] = orig;
    }
    free(b);
    return rc;
}

/* Wire lengths around the captured one: as captured, one more, much more
   (snapped), and 0 (the same as captured). */
static int wire_variants(const struct ct_frame *whole, const char *what, size_t index)
{
    static const uint32_t extra[] = {0, 1, 3, 1000, 70000};
    struct ct_frame fr = *whole;
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        fr.wire_len = whole->len + extra[i];
        if (compare(&fr, what, index) < 0)
            return -1;
    }
    fr.wire_len = 0;
    return compare(&fr, what, index) < 0 ? -1 : 0;
}

/* Everything above on one frame whose fast-path result is `want_fast`
   (-1: either). */
static void exercise(const uint8_t *f, size_t n, uint16_t link, uint32_t wire, int want_fast,
                     const char *what, size_t index, int deep)
{
    uint8_t *b = exact_copy(f, n);
    if (!b) {
        CHECK_FAIL_("out of memory");
        return;
    }
    struct ct_frame fr = {.data = b,
                          .len = (uint32_t)n,
                          .wire_len = wire,
                          .link = link,
                          .zone = 0x1234,
                          .mark = 0xdeadbeef,
                          .flags = CT_FRAME_F_L4_CSUM_GOOD};
    int took = compare(&fr, what, index);
    if (took >= 0 && want_fast >= 0 && took != want_fast)
        CHECK_FAIL_("%s #%zu: the fast path %s it", what, index, took ? "took" : "declined");
    if (took > 0 || deep) {
        fr.zone = 0;
        fr.mark = 0;
        fr.flags = 0;
        if (compare(&fr, what, index) >= 0 && wire_variants(&fr, what, index) == 0 &&
            mutations(&fr, 14 + 4 + 40 + 60, what, index) == 0)
            (void)cuts(&fr, what, index);
    }
    free(b);
}

/* ---- captures ------------------------------------------------------------------------ */

static unsigned long CAPTURE_FRAMES, CAPTURE_TAKEN;

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void run_capture(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        CHECK_FAIL_("cannot open %s", path);
        return;
    }
    struct pcap_reader r;
    if (pcap_reader_open(&r, fp) != 0) {
        CHECK_FAIL_("%s: %s", path, r.error);
        pcap_reader_close(&r);
        fclose(fp);
        return;
    }
    struct pcap_packet pk;
    size_t i = 0;
    int rc;
    while ((rc = pcap_reader_next(&r, &pk)) == 1) {
        unsigned long before = TAKEN;
        exercise(pk.data, pk.caplen, (uint16_t)pk.link, pk.wirelen, -1, path, i++, 0);
        CAPTURE_FRAMES++;
        CAPTURE_TAKEN += TAKEN != before;
    }
    if (rc < 0)
        CHECK_FAIL_("%s: %s", path, r.error);
    pcap_reader_close(&r);
    fclose(fp);
}

/* Every .pcap and .pcapng file under `dir`, in name order, recursively. */
static void run_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char path[2048];
        if (name[0] != '.' &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path)) {
            struct stat st;
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                run_dir(path);
            else if (has_suffix(name, ".pcap") || has_suffix(name, ".pcapng"))
                run_capture(path);
        }
        free(names[i]);
    }
    free(names);
}

/* The source tree's root, from this file's path (tests/unit/...). */
static void source_root(char *out, size_t len)
{
    snprintf(out, len, "%s", __FILE__);
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(out, '/');
        if (!slash) {
            snprintf(out, len, ".");
            return;
        }
        *slash = '\0';
    }
}

static void test_captures(void)
{
    char root[1024], dir[1200], corpus[1024];
    source_root(root, sizeof(root));
    snprintf(dir, sizeof(dir), "%s/tests/pcap", root);
    run_dir(dir);
    snprintf(dir, sizeof(dir), "%s/samples", root);
    run_dir(dir);
    unsigned long own = CAPTURE_FRAMES;
    /* The repository's own captures hold plain Ethernet TCP and UDP. */
    CHECK(own > 100);
    CHECK(CAPTURE_TAKEN > 20);
    if (corpus_dir(corpus, sizeof(corpus)))
        run_dir(corpus);
    else
        printf("corpus not found: only the repository's captures compared\n");
    printf("captures: %lu frames, %lu taken by the fast path\n", CAPTURE_FRAMES, CAPTURE_TAKEN);
}

/* ---- hand-built frames --------------------------------------------------------------- */

static const uint8_t A6[16] = IPV6_DOC_ADDR(1);
static const uint8_t B6[16] = IPV6_DOC_ADDR(2);

static uint8_t l4b[2048], ipb[2048], frb[2048];

/* TCP with `olen` bytes of options (timestamps and padding) and `plen`
   bytes of payload, in IPv4 or IPv6, in Ethernet with `ntag` 802.1Q tags;
   `pad` bytes of Ethernet padding after the IP packet. */
static size_t build_tcp(int v6, int ntag, size_t olen, size_t plen, size_t pad)
{
    uint8_t opt[40] = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};
    for (size_t i = 12; i < sizeof(opt); i++)
        opt[i] = 1;
    size_t l = tcp_header(l4b, 40000, 443, 0x01020304, 0xa0b0c0d0, CT_TCP_ACK | CT_TCP_PSH, 501,
                          opt, olen);
    for (size_t i = 0; i < plen; i++)
        l4b[l + i] = (uint8_t)(i * 31 + 7);
    l += plen;
    size_t n;
    if (!v6) {
        n = ipv4_packet(ipb, 6, IPV4_ADDR(192, 0, 2, 1), IPV4_ADDR(198, 51, 100, 2), 77, l4b, l);
        ipv4_fill_transport_checksum(ipb);
    } else {
        n = ipv6_packet(ipb, 6, A6, B6, l4b, l);
        ipv6_fill_transport_checksum(ipb, 40, 6, NULL);
    }
    static const uint16_t tags[] = {0x8100, 0x2064, 0x8100, 0x0007};
    n = eth_frame(frb, tags, ntag, v6 ? 0x86dd : 0x0800, ipb, n);
    memset(frb + n, 0, pad);
    return n + pad;
}

static size_t build_udp(int v6, int ntag, uint16_t sport, uint16_t dport, size_t plen, size_t pad)
{
    size_t l = udp_header(l4b, sport, dport, plen);
    for (size_t i = 0; i < plen; i++)
        l4b[l + i] = (uint8_t)(i * 17 + 3);
    l += plen;
    size_t n;
    if (!v6) {
        n = ipv4_packet(ipb, 17, IPV4_ADDR(10, 1, 2, 3), IPV4_ADDR(10, 3, 2, 1), 9, l4b, l);
        ipv4_fill_transport_checksum(ipb);
    } else {
        n = ipv6_packet(ipb, 17, A6, B6, l4b, l);
        ipv6_fill_transport_checksum(ipb, 40, 17, NULL);
    }
    static const uint16_t tags[] = {0x8100, 0x0fff, 0x8100, 0x0001};
    n = eth_frame(frb, tags, ntag, v6 ? 0x86dd : 0x0800, ipb, n);
    memset(frb + n, 0, pad);
    return n + pad;
}

static void test_built_tcp(void)
{
    static const size_t olens[] = {0, 4, 12, 40};
    static const size_t plens[] = {0, 1, 6, 200};
    size_t idx = 0;
    for (int v6 = 0; v6 <= 1; v6++)
        for (int ntag = 0; ntag <= 2; ntag++)
            for (size_t o = 0; o < 4; o++)
                for (size_t p = 0; p < 4; p++) {
                    size_t n = build_tcp(v6, ntag, olens[o], plens[p], p == 1 ? 9 : 0);
                    /* Two stacked tags are the general parser's. */
                    exercise(frb, n, CT_LINK_ETHERNET, 0, ntag < 2, "built tcp", idx++, 1);
                }
}

static void test_built_udp(void)
{
    /* Plain ports, then each tunnel port the fast path leaves to the
       general parser's decoders, on either side. */
    static const uint16_t ports[][2] = {{5353, 53}, {53, 40000}, {2152, 9}, {9, 2152},
                                        {3544, 9}, {9, 3544},   {9, 4789}, {9, 6081},
                                        {4789, 9}, {6081, 9},   {2151, 6082}};
    size_t idx = 0;
    for (int v6 = 0; v6 <= 1; v6++)
        for (int ntag = 0; ntag <= 1; ntag++)
            for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
                uint16_t sp = ports[i][0], dp = ports[i][1];
                int tunnel = dp == 4789 || dp == 6081 || dp == 3544 || sp == 3544 || dp == 2152 ||
                             sp == 2152;
                size_t n = build_udp(v6, ntag, sp, dp, i == 2 ? 0 : 30, i == 1 ? 4 : 0);
                exercise(frb, n, CT_LINK_ETHERNET, 0, !tunnel, "built udp", idx++, 1);
            }
}

/*
 * SACK options (RFC 2018): the parser records where the first one is
 * (tcp_sack_off) so that the TCP tracker reads its blocks without walking
 * the options again; both paths must agree on it, around every condition:
 * where the option sits, how many blocks, a malformed first option
 * (recorded, no blocks read, though a later good one still sets
 * CT_TCPOPT_SACK), a second option (not recorded), an option after End of
 * List or running past the header (not seen).
 */
static void test_built_sack(void)
{
    struct sack_case {
        uint8_t opt[40];
        size_t olen;
        uint8_t want_off;   /* tcp_sack_off, from the TCP header */
        uint8_t want_flag;  /* CT_TCPOPT_SACK set */
        unsigned want_n;    /* blocks ct_pkt_sack_blocks() hands out */
    } cases[] = {
        /* NOP NOP, one block */
        {{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}, 12, 22, 1, 1},
        /* timestamps, NOP NOP, two blocks */
        {{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 1, 5, 18, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0,
          0, 4, 0},
         32, 34, 1, 2},
        /* four blocks right at the start, then padding */
        {{5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0,
          0, 0, 8, 1, 1, 0, 0, 0, 0},
         40, 20, 1, 4},
        /* a malformed first option (length 9), then a good one: the
           first is recorded, and has no blocks */
        {{5, 9, 0, 0, 0, 1, 0, 0, 0, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0}, 20, 20, 1, 0},
        /* two good options: the first is recorded */
        {{5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 10, 0, 0, 0, 3, 0, 0, 0, 4}, 20, 20, 1, 1},
        /* End of List before the option: not seen */
        {{0, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}, 12, 0, 0, 0},
        /* an option running past the header: not seen */
        {{1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2}, 12, 0, 0, 0},
        /* too short for a block */
        {{1, 1, 5, 2}, 4, 22, 0, 0},
    };
    size_t idx = 0;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
        for (int v6 = 0; v6 <= 1; v6++) {
            const struct sack_case *k = &cases[c];
            size_t l = tcp_header(l4b, 40000, 443, 100, 200, CT_TCP_ACK, 501, k->opt, k->olen);
            size_t n = v6 ? ipv6_packet(ipb, 6, A6, B6, l4b, l)
                          : ipv4_packet(ipb, 6, IPV4_ADDR(192, 0, 2, 1), IPV4_ADDR(198, 51, 100, 2), 7,
                                        l4b, l);
            n = eth_frame(frb, NULL, 0, v6 ? 0x86dd : 0x0800, ipb, n);
            exercise(frb, n, CT_LINK_ETHERNET, 0, 1, "built sack", idx++, 1);
            struct ct_frame fr = {.data = frb, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
            struct ct_pkt p;
            ct_pkt_parse(&fr, &p);
            CHECK_EQ_U(p.reason, CT_REASON_NONE);
            CHECK_EQ_U(p.tcp_sack_off, k->want_off);
            CHECK_EQ_U((p.tcp_opts & CT_TCPOPT_SACK) != 0, k->want_flag);
            unsigned nb;
            const uint8_t *b = ct_pkt_sack_blocks(&p, &nb);
            CHECK_EQ_U(nb, k->want_n);
            if (k->want_n) {
                CHECK(b == frb + p.l4_off + k->want_off + 2);
                /* The right edge of the first block, as the cases spell it. */
                CHECK_EQ_U(ct_be32(b + 4), get_be32(k->opt + (k->want_off - 20) + 6));
            } else {
                CHECK(b == NULL);
            }
        }
}

/* Frames next to the fast path's edges: it declines them all and the
   general parser gives its reason. */
static void test_declined(void)
{
    size_t idx = 0;
    size_t n = build_tcp(0, 0, 0, 6, 0);
    /* IPv4 options (IHL 6, one word of no-operation options). */
    {
        uint8_t opt[4] = {1, 1, 1, 0};
        size_t l = tcp_header(l4b, 1, 2, 3, 4, CT_TCP_SYN, 5, NULL, 0);
        size_t hl =
            ipv4_header(ipb, 6, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, opt, 4, l);
        memcpy(ipb + hl, l4b, l);
        ipv4_fill_transport_checksum(ipb);
        n = eth_frame(frb, NULL, 0, 0x0800, ipb, hl + l);
        exercise(frb, n, CT_LINK_ETHERNET, 0, 0, "ip options", idx++, 1);
    }
    /* Fragments: MF, then an offset. DF alone is taken. */
    static const uint16_t frag[] = {0x2000, 0x0001, 0x4000};
    for (size_t i = 0; i < 3; i++) {
        n = build_tcp(0, 0, 0, 16, 0);
        ipv4_set_frag(frb + 14, frag[i]);
        exercise(frb, n, CT_LINK_ETHERNET, 0, frag[i] == 0x4000, "fragment", idx++, 1);
    }
    /* A wrong IPv4 header checksum: declined, IP_CHECKSUM from the general
       parser; with CT_PARSE_F_NO_IP_CHECKSUM the fast path takes it. */
    n = build_tcp(0, 0, 0, 6, 0);
    frb[14 + 10] ^= 0x40;
    exercise(frb, n, CT_LINK_ETHERNET, 0, 0, "ip checksum", idx++, 1);
    struct ct_frame fr = {.data = frb, .len = (uint32_t)n, .link = CT_LINK_ETHERNET};
    struct ct_pkt g;
    long at;
    CHECK_EQ_I(parse_paths_compare(&fr, 0, &g, &at), PARSEPATHS_GENERAL);
    CHECK_EQ_U(g.reason, CT_REASON_IP_CHECKSUM);
    CHECK_EQ_I(parse_paths_compare(&fr, CT_PARSE_F_NO_IP_CHECKSUM, &g, &at), PARSEPATHS_FAST);
    CHECK_EQ_U(g.reason, CT_REASON_NONE);
    /* An 802.1ad outer tag, ICMP, an IPv6 extension header, other links. */
    static const uint16_t ad[] = {0x88a8, 0x0010};
    n = build_tcp(0, 0, 0, 6, 0);
    memmove(ipb, frb + 14, n - 14);
    n = eth_frame(frb, ad, 1, 0x0800, ipb, n - 14);
    exercise(frb, n, CT_LINK_ETHERNET, 0, 0, "802.1ad", idx++, 1);
    {
        size_t l = icmp_header(l4b, 8, 0, 1, 1);
        n = ipv4_packet(ipb, 1, IPV4_ADDR(10, 0, 0, 1), IPV4_ADDR(10, 0, 0, 2), 1, l4b, l + 8);
        ipv4_fill_transport_checksum(ipb);
        n = eth_frame(frb, NULL, 0, 0x0800, ipb, n);
        exercise(frb, n, CT_LINK_ETHERNET, 0, 0, "icmp", idx++, 1);
    }
    {
        uint8_t ext[8 + 20] = {6, 0, 1, 4, 0, 0, 0, 0}; /* destination options, PadN */
        size_t l = tcp_header(ext + 8, 1, 2, 3, 4, CT_TCP_SYN, 5, NULL, 0);
        n = ipv6_packet(ipb, 60, A6, B6, ext, 8 + l);
        ipv6_fill_transport_checksum(ipb, 48, 6, NULL);
        n = eth_frame(frb, NULL, 0, 0x86dd, ipb, n);
        exercise(frb, n, CT_LINK_ETHERNET, 0, 0, "ipv6 dstopts", idx++, 1);
    }
    n = build_udp(0, 0, 1000, 2000, 10, 0);
    exercise(frb + 14, n - 14, CT_LINK_RAW, 0, 0, "raw ip", idx++, 1);
    exercise(frb + 14, n - 14, CT_LINK_IPV4, 0, 0, "raw ipv4", idx++, 1);
    exercise(frb, n, CT_LINK_LINUX_SLL, 0, 0, "sll", idx++, 0);
    /* A NULL data pointer with a length: the general parser reads it as
       empty. */
    struct ct_frame nul = {.data = NULL, .len = 100, .link = CT_LINK_ETHERNET};
    CHECK_EQ_I(parse_paths_compare(&nul, 0, &g, &at), PARSEPATHS_GENERAL);
    CHECK_EQ_U(g.reason, CT_REASON_L2_TRUNCATED);
}

/* The comparisons above did reach the fast path, many times. */
static void test_totals(void)
{
    printf("compared %lu descriptors, %lu from the fast path\n", COMPARED, TAKEN);
    CHECK(TAKEN > 10000);
    CHECK(COMPARED > TAKEN);
}

int main(void)
{
    RUN(test_built_tcp);
    RUN(test_built_udp);
    RUN(test_built_sack);
    RUN(test_declined);
    RUN(test_captures);
    RUN(test_totals);
    return check_summary();
}
