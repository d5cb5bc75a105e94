/*
 * The FTP helper's parser: finds the commands and replies that announce a
 * data connection at the start of a control-connection segment.
 *
 *   client to server  PORT h1,h2,h3,h4,p1,p2      RFC 959 4.1.2
 *                     EPRT |1|192.0.2.1|6275|     RFC 2428 2
 *                     EPRT |2|2001:db8::1|6275|
 *   server to client  227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)
 *                                                 RFC 959; RFC 1123 4.1.2.6
 *                     229 Entering Extended Passive Mode (|||6446|)
 *                                                 RFC 2428 3
 *
 * The rules are Linux's (nf_conntrack_ftp.c, find_pattern() and the try_*
 * parsers), written here from their behaviour:
 *   - only the start of the segment is looked at, and the command names
 *     compare without regard to case;
 *   - a segment shorter than the name that agrees with it so far, or a
 *     command whose numbers do not parse, is a "partial match", for which
 *     Linux drops the packet (-1 here);
 *   - PORT skips to the first space after the name and reads six
 *     comma-separated numbers ended by '\r'; 227 reads them from the first
 *     digit after "227 " (RFC 1123: the parentheses are not reliable), ended
 *     by anything but a digit or comma;
 *   - EPRT skips to the first space, then takes a delimiter (printable
 *     ASCII, not a digit), the family digit, which must be the connection's
 *     ('1' IPv4, '2' IPv6), the address and the port, each ended by the
 *     delimiter; 229 skips to '(' and takes three delimiters and the port;
 *   - a port of 0 is refused.
 * One stricter check than Linux: each of the six PORT/227 numbers must be at
 * most 255 (Linux shifts larger values into the neighbouring byte).
 */
#include <arpa/inet.h>
#include <string.h>

#include "helper/helper.h"

static int is_digit(uint8_t ch)
{
    return ch >= '0' && ch <= '9';
}

static int lower(uint8_t ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* Compares n bytes of p with the pattern, ignoring case. */
static int prefix_eq(const uint8_t *p, const char *pat, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != lower((uint8_t)pat[i]))
            return 0;
    return 1;
}

/*
 * Reads `count` decimal numbers separated by `sep` from p[0..len), ended by
 * `term` (or, with term 0, by any other byte) right after the last one.
 * Numbers above `max` are refused. Returns the bytes read up to the
 * terminator, or 0 on failure (including running out of bytes).
 */
static size_t read_numbers(const uint8_t *p, size_t len, uint32_t *out, unsigned count, uint8_t sep,
                           uint8_t term, uint32_t max)
{
    unsigned i = 0;
    int digits = 0;
    memset(out, 0, count * sizeof(*out));
    for (size_t n = 0; n < len; n++) {
        uint8_t ch = p[n];
        if (is_digit(ch)) {
            out[i] = out[i] * 10 + (uint32_t)(ch - '0');
            if (out[i] > max)
                return 0;
            digits = 1;
        } else if (ch == sep && i + 1 < count) {
            if (!digits)
                return 0;
            i++;
            digits = 0;
        } else {
            if ((ch == term || term == 0) && i == count - 1 && digits)
                return n;
            return 0;
        }
    }
    return 0;
}

/* h1,h2,h3,h4,p1,p2: RFC 959's host-port. Returns the length or 0. */
static size_t parse_hostport(const uint8_t *p, size_t len, uint8_t term, struct ct_ftp_cmd *cmd)
{
    uint32_t v[6];
    size_t n = read_numbers(p, len, v, 6, ',', term, 255);
    if (n == 0)
        return 0;
    uint32_t port = v[4] << 8 | v[5];
    if (port == 0)
        return 0;
    uint8_t a[4] = {(uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3]};
    memset(&cmd->addr, 0, sizeof(cmd->addr));
    memcpy(&cmd->addr.v4, a, 4);
    cmd->has_addr = 1;
    cmd->port = (uint16_t)port;
    return n;
}

/* A decimal port in 1..65535 at p[start..), ended by delim. Returns the
 * offset just past the delimiter, or 0. */
static size_t parse_port(const uint8_t *p, size_t start, size_t len, uint8_t delim, uint16_t *port)
{
    uint32_t v = 0;
    for (size_t i = start; i < len; i++) {
        if (p[i] == delim) {
            if (v == 0 || i == start)
                return 0;
            *port = (uint16_t)v;
            return i + 1;
        }
        if (!is_digit(p[i]))
            return 0;
        v = v * 10 + (uint32_t)(p[i] - '0');
        if (v > 65535)
            return 0;
    }
    return 0;
}

/* A delimiter of RFC 2428: printable ASCII (33..126) and not a digit. */
static int eprt_delim_ok(uint8_t d)
{
    return d >= 33 && d <= 126 && !is_digit(d);
}

/* |af|address|port| of EPRT. Returns the length or 0. */
static size_t parse_eprt(const uint8_t *p, size_t len, uint8_t l3, struct ct_ftp_cmd *cmd)
{
    if (len <= 3)
        return 0;
    uint8_t d = p[0];
    if (!eprt_delim_ok(d) || p[2] != d)
        return 0;
    if ((l3 == CT_L3_IPV4 && p[1] != '1') || (l3 == CT_L3_IPV6 && p[1] != '2'))
        return 0;
    /* The address runs to the next delimiter; inet_pton() judges it. */
    size_t end = 3;
    while (end < len && p[end] != d)
        end++;
    if (end == len || end == 3 || end - 3 >= INET6_ADDRSTRLEN)
        return 0;
    char text[INET6_ADDRSTRLEN];
    memcpy(text, p + 3, end - 3);
    text[end - 3] = '\0';
    memset(&cmd->addr, 0, sizeof(cmd->addr));
    if (l3 == CT_L3_IPV4) {
        /* Linux reads four dot-separated numbers; inet_pton() takes exactly
         * those, in decimal, each at most 255. */
        if (inet_pton(AF_INET, text, &cmd->addr.v4) != 1)
            return 0;
    } else if (inet_pton(AF_INET6, text, cmd->addr.b) != 1) {
        return 0;
    }
    cmd->has_addr = 1;
    return parse_port(p, end + 1, len, d, &cmd->port);
}

/* (|||port|) of a 229 reply, from the first delimiter. Returns the length or 0. */
static size_t parse_epsv(const uint8_t *p, size_t len, struct ct_ftp_cmd *cmd)
{
    if (len <= 3)
        return 0;
    uint8_t d = p[0];
    if (!eprt_delim_ok(d) || p[1] != d || p[2] != d)
        return 0;
    cmd->has_addr = 0;
    return parse_port(p, 3, len, d, &cmd->port);
}

/* One pattern of Linux's search table. */
struct ftp_pattern {
    const char *name;
    uint8_t len;
    uint8_t skip;   /* skip to just past this byte first (0: no skip) */
    uint8_t kind;   /* enum ct_ftp_kind */
};

static const struct ftp_pattern patterns[2][2] = {
    [CT_DIR_ORIGINAL] = {{"PORT", 4, ' ', CT_FTP_PORT}, {"EPRT", 4, ' ', CT_FTP_EPRT}},
    [CT_DIR_REPLY] = {{"227 ", 4, 0, CT_FTP_PASV}, {"229 ", 4, '(', CT_FTP_EPSV}},
};

/* One pattern against the payload: 1, 0 or -1 as ct_helper_ftp_parse(). */
static int try_pattern(const struct ftp_pattern *pt, const uint8_t *p, size_t len, uint8_t l3,
                       struct ct_ftp_cmd *cmd)
{
    if (len <= pt->len)
        return prefix_eq(p, pt->name, len) ? -1 : 0;
    if (!prefix_eq(p, pt->name, pt->len))
        return 0;
    size_t i = pt->len;
    if (pt->skip) {
        while (p[i] != pt->skip) {
            if (i == len - 1)
                return -1;
            i++;
        }
        i++;
    }
    size_t n = 0;
    memset(cmd, 0, sizeof(*cmd));
    switch (pt->kind) {
    case CT_FTP_PORT:
        n = parse_hostport(p + i, len - i, '\r', cmd);
        break;
    case CT_FTP_EPRT:
        n = parse_eprt(p + i, len - i, l3, cmd);
        break;
    case CT_FTP_PASV:
        /* RFC 1123 4.1.2.6: scan for the first digit. */
        while (i < len && !is_digit(p[i]))
            i++;
        if (i == len)
            return -1;
        n = parse_hostport(p + i, len - i, 0, cmd);
        break;
    case CT_FTP_EPSV:
        n = parse_epsv(p + i, len - i, cmd);
        break;
    default:
        break;
    }
    if (n == 0)
        return -1;
    /* A PORT or 227 host-port names an IPv4 address: on an IPv6
     * connection it announces nothing Linux would track (its expectation
     * would be of the wrong family); treat it as not found. */
    if ((pt->kind == CT_FTP_PORT || pt->kind == CT_FTP_PASV) && l3 != CT_L3_IPV4)
        return 0;
    cmd->kind = pt->kind;
    cmd->num_off = (uint16_t)i;
    cmd->num_len = (uint16_t)n;
    return 1;
}

int ct_helper_ftp_parse(const uint8_t *p, size_t len, unsigned dir, uint8_t l3,
                        struct ct_ftp_cmd *cmd)
{
    if (!p || len == 0 || dir > CT_DIR_REPLY)
        return 0;
    for (unsigned k = 0; k < 2; k++) {
        int r = try_pattern(&patterns[dir][k], p, len, l3, cmd);
        if (r != 0)
            return r;
    }
    return 0;
}
