/*
 * SHA-1 against the test vectors of RFC 3174 (section 7.3) and FIPS 180-2
 * (appendix A), and the Community ID v1 against published vectors and
 * against every flow of the Zeek test corpus (the .out files of zeek/communityid under
 * ../shared/corpus, or $CTRACK_CORPUS), whose lines give a conn_id and the
 * Community ID Zeek computed for it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctrack/flowlog.h"
#include "flow/sha1.h"
#include "support/corpus.h"
#include "support/tuples.h"

static void hexdigest(const uint8_t d[20], char out[41])
{
    static const char hx[] = "0123456789abcdef";
    for (unsigned i = 0; i < 20; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[40] = '\0';
}

static void check_sha1(const char *msg, size_t len, unsigned repeat, const char *want)
{
    struct ct_sha1 s;
    uint8_t d[20];
    char hex[41];
    ct_sha1_init(&s);
    for (unsigned i = 0; i < repeat; i++)
        ct_sha1_update(&s, msg, len);
    ct_sha1_final(&s, d);
    hexdigest(d, hex);
    CHECK_STR(hex, want);
}

static void test_sha1_rfc3174(void)
{
    /* RFC 3174 section 7.3, TEST1..TEST4. */
    check_sha1("abc", 3, 1, "a9993e364706816aba3e25717850c26c9cd0d89d");
    check_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 1,
               "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    check_sha1("a", 1, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    check_sha1("0123456701234567012345670123456701234567012345670123456701234567", 64, 10,
               "dea356a2cddd90c7a7ecedc5ebb563934f460452");
    /* The empty message (FIPS 180 examples). */
    check_sha1("", 0, 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void test_sha1_split_updates(void)
{
    /* Every split of a 130-byte message gives the one-shot digest. */
    uint8_t msg[130], whole[20], part[20];
    for (unsigned i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    ct_sha1(msg, sizeof(msg), whole);
    for (unsigned cut = 0; cut <= sizeof(msg); cut++) {
        struct ct_sha1 s;
        ct_sha1_init(&s);
        ct_sha1_update(&s, msg, cut);
        ct_sha1_update(&s, msg + cut, sizeof(msg) - cut);
        ct_sha1_final(&s, part);
        CHECK(memcmp(whole, part, 20) == 0);
    }
}

static void test_hand_vectors(void)
{
    char buf[CT_COMMUNITY_ID_MAX];
    /* UDP 192.168.1.42:4242 -> 8.8.8.8:53, seed 0, both directions (the
       example of the Rust "communityid" crate's documentation). */
    struct ct_tuple t = tuple_v4("192.168.1.42", "8.8.8.8", 17, 4242, 53);
    CHECK_EQ_I(ct_community_id_v1(&t, 0, 0, buf, sizeof(buf)), 30);
    CHECK_STR(buf, "1:vTdrngJjlP5eZ9mw9JtnKyn99KM=");
    struct ct_tuple r = tuple_v4("8.8.8.8", "192.168.1.42", 17, 53, 4242);
    CHECK_EQ_I(ct_community_id_v1(&r, 0, CT_COMMUNITY_ID_HEX, buf, sizeof(buf)), 42);
    CHECK_STR(buf, "1:bd376b9e026394fe5e67d9b0f49b672b29fdf4a3");

    /* ICMPv6 neighbour solicitation with seed 1 (the specification's
       baseline_seed1.json): type 135 pairs with 136. */
    struct ct_tuple n =
        tuple_v6("fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 58, 0, 135 << 8);
    CHECK_EQ_I(ct_community_id_v1(&n, 1, 0, buf, sizeof(buf)), 30);
    CHECK_STR(buf, "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY=");

    /* The specification's README example: router solicitation to ff02::2. */
    struct ct_tuple rs = tuple_v6("fe80::200:86ff:fe05:80da", "ff02::2", 58, 0, 133 << 8);
    ct_community_id_v1(&rs, 0, 0, buf, sizeof(buf));
    CHECK_STR(buf, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=");

    /* The ICMP identifier (sport) is not hashed; the seed is. */
    char a[CT_COMMUNITY_ID_MAX], b[CT_COMMUNITY_ID_MAX];
    struct ct_tuple e1 = tuple_v4("10.0.0.1", "10.0.0.2", 1, 1, 8 << 8);
    struct ct_tuple e2 = tuple_v4("10.0.0.1", "10.0.0.2", 1, 999, 8 << 8);
    ct_community_id_v1(&e1, 0, 0, a, sizeof(a));
    ct_community_id_v1(&e2, 0, 0, b, sizeof(b));
    CHECK_STR(a, b);
    ct_community_id_v1(&e2, 7, 0, b, sizeof(b));
    CHECK(strcmp(a, b) != 0);
    /* An echo reply from the other side is the same flow. */
    struct ct_tuple e3 = tuple_v4("10.0.0.2", "10.0.0.1", 1, 1, 0 << 8);
    ct_community_id_v1(&e3, 0, 0, b, sizeof(b));
    CHECK_STR(a, b);
    /* A one-way message (destination unreachable) is not reordered. */
    struct ct_tuple u1 = tuple_v4("10.0.0.2", "10.0.0.1", 1, 0, 3 << 8 | 3);
    struct ct_tuple u2 = tuple_v4("10.0.0.1", "10.0.0.2", 1, 0, 3 << 8 | 3);
    ct_community_id_v1(&u1, 0, 0, a, sizeof(a));
    ct_community_id_v1(&u2, 0, 0, b, sizeof(b));
    CHECK(strcmp(a, b) != 0);
    /* A protocol without ports hashes no ports: the ports make no difference. */
    struct ct_tuple g1 = tuple_v4("10.0.0.1", "10.0.0.2", 47, 5, 6);
    struct ct_tuple g2 = tuple_v4("10.0.0.2", "10.0.0.1", 47, 0, 0);
    ct_community_id_v1(&g1, 0, 0, a, sizeof(a));
    ct_community_id_v1(&g2, 0, 0, b, sizeof(b));
    CHECK_STR(a, b);
}

static void test_errors(void)
{
    char buf[CT_COMMUNITY_ID_MAX];
    struct ct_tuple t = tuple_v4("10.0.0.1", "10.0.0.2", 6, 1, 2);
    CHECK_EQ_I(ct_community_id_v1(NULL, 0, 0, buf, sizeof(buf)), -EINVAL);
    CHECK_EQ_I(ct_community_id_v1(&t, 0, 0, NULL, 10), -EINVAL);
    strcpy(buf, "x");
    CHECK_EQ_I(ct_community_id_v1(&t, 0, 0, buf, 30), -ENOSPC);
    CHECK_STR(buf, "");
    CHECK_EQ_I(ct_community_id_v1(&t, 0, 0, buf, 31), 30);
    CHECK_EQ_I(ct_community_id_v1(&t, 0, CT_COMMUNITY_ID_HEX, buf, 42), -ENOSPC);
    t.l3 = 5;
    CHECK_EQ_I(ct_community_id_v1(&t, 0, 0, buf, sizeof(buf)), -EINVAL);
}

/* Parses "orig_h=A, orig_p=P/x, resp_h=B, resp_p=Q/x, proto=N" and the ID after "], ". */
static int parse_line(const char *line, struct ct_tuple *t, char *id, size_t idlen)
{
    char oh[64], rh[64], op_proto[8], rp_proto[8];
    unsigned op, rp, proto;
    if (sscanf(line,
               "[orig_h=%63[^,], orig_p=%u/%7[^,], resp_h=%63[^,], resp_p=%u/%7[^,], proto=%u", oh,
               &op, op_proto, rh, &rp, rp_proto, &proto) != 7)
        return 0;
    const char *cid = strstr(line, "], 1:");
    if (!cid)
        return 0;
    snprintf(id, idlen, "%s", cid + 3);
    id[strcspn(id, "\r\n")] = '\0';
    memset(t, 0, sizeof(*t));
    t->proto = (uint8_t)proto;
    if (inet_pton(AF_INET, oh, t->src.b) == 1 && inet_pton(AF_INET, rh, t->dst.b) == 1) {
        t->l3 = CT_L3_IPV4;
    } else if (inet_pton(AF_INET6, oh, t->src.b) == 1 && inet_pton(AF_INET6, rh, t->dst.b) == 1) {
        t->l3 = CT_L3_IPV6;
    } else {
        return 0;
    }
    if (proto == 1 || proto == 58) {
        /* Zeek's conn_id: orig_p is the type, resp_p the counterpart type or the code. */
        t->sport = 0;
        t->dport = (uint16_t)((op << 8) | (rp & 0xff));
    } else {
        t->sport = (uint16_t)op;
        t->dport = (uint16_t)rp;
    }
    return 1;
}

static void test_zeek_corpus(void)
{
    char dir[1200], path[1500];
    corpus_dir(dir, sizeof(dir) - 32);
    strcat(dir, "/zeek/communityid");
    DIR *d = opendir(dir);
    if (!d) {
        printf("test_zeek_corpus: %s not found, skipped\n", dir);
        return;
    }
    unsigned files = 0, flows = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".out") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        CHECK_PTR(f);
        if (!f)
            continue;
        files++;
        char line[512];
        while (fgets(line, sizeof(line), f)) {
            if (line[0] != '[')
                continue;
            struct ct_tuple t;
            char want[64], got[CT_COMMUNITY_ID_MAX];
            CHECK(parse_line(line, &t, want, sizeof(want)));
            if (!parse_line(line, &t, want, sizeof(want)))
                continue;
            flows++;
            CHECK_EQ_I(ct_community_id_v1(&t, 0, 0, got, sizeof(got)), 30);
            if (strcmp(got, want) != 0)
                fprintf(stderr, "%s: %s", e->d_name, line);
            CHECK_STR(got, want);
        }
        fclose(f);
    }
    closedir(d);
    CHECK(files >= 5);
    CHECK(flows >= 18);
    printf("test_zeek_corpus: %u flows in %u files\n", flows, files);
}

int main(void)
{
    RUN(test_sha1_rfc3174);
    RUN(test_sha1_split_updates);
    RUN(test_hand_vectors);
    RUN(test_errors);
    RUN(test_zeek_corpus);
    return check_summary();
}
