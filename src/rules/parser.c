/*
 * The rule language's parser: tokens to tables, chains, rules, ct objects
 * and named sets, by recursive descent over the grammar of nft(8) that
 * docs/rules.md lists. Every word the parser does not know is an error
 * that names it; nothing is skipped.
 *
 * What a statement does depends on where its chain runs, as in Linux's
 * nft_ct.c: before conntrack (priority below -200) there is no connection
 * yet, so `ct zone set` and `notrack` build the template of the connection
 * to come, while `ct mark set`, `ct helper set`, `ct timeout set`, `ct
 * event set` and the `ct` matches need the connection (the last three a
 * new one, not yet confirmed) and do nothing there; after conntrack it is
 * the other way round. A statement in a chain
 * where Linux would ignore it is an error here, not a silent no-op.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrack/nat.h"
#include "rules/rules.h"

/* What the values of a key are, for parsing them and for typing sets. */
enum vclass {
    VC_IFINDEX = 0, /* 0..65535, or a quoted name (then matched as an exact iifname) */
    VC_IFNAME,      /* strings; a trailing '*' matches a prefix */
    VC_NFPROTO,     /* ipv4 | ipv6 */
    VC_V4,
    VC_V6,
    VC_PROTO,       /* a protocol name or 0..255 */
    VC_PORT,        /* 0..65535 */
    VC_MARK,        /* 0..0xffffffff */
    VC_VLAN,        /* 0..4095 */
    VC_STATE,       /* ct state names */
    VC_ZONE,        /* 0..65535 */
};

static const struct {
    const char *text; /* for messages */
    uint8_t vc;
} keys[RK_COUNT] = {
    [RK_IIF] = {"iif", VC_IFINDEX},
    [RK_IIFNAME] = {"iifname", VC_IFNAME},
    [RK_NFPROTO] = {"meta nfproto", VC_NFPROTO},
    [RK_IP_SADDR] = {"ip saddr", VC_V4},
    [RK_IP_DADDR] = {"ip daddr", VC_V4},
    [RK_IP6_SADDR] = {"ip6 saddr", VC_V6},
    [RK_IP6_DADDR] = {"ip6 daddr", VC_V6},
    [RK_L4PROTO] = {"meta l4proto", VC_PROTO},
    [RK_IP_PROTO] = {"ip protocol", VC_PROTO},
    [RK_IP6_NEXTHDR] = {"ip6 nexthdr", VC_PROTO},
    [RK_TCP_SPORT] = {"tcp sport", VC_PORT},
    [RK_TCP_DPORT] = {"tcp dport", VC_PORT},
    [RK_UDP_SPORT] = {"udp sport", VC_PORT},
    [RK_UDP_DPORT] = {"udp dport", VC_PORT},
    [RK_MARK] = {"meta mark", VC_MARK},
    [RK_VLAN_ID] = {"vlan id", VC_VLAN},
    [RK_CT_STATE] = {"ct state", VC_STATE},
    [RK_CT_ZONE] = {"ct zone", VC_ZONE},
    [RK_CT_MARK] = {"ct mark", VC_MARK},
};

static const struct {
    const char *name;
    uint8_t vc;
} set_types[] = {
    {"ipv4_addr", VC_V4}, {"ipv6_addr", VC_V6}, {"inet_service", VC_PORT},
    {"mark", VC_MARK},    {"ifname", VC_IFNAME}, {"inet_proto", VC_PROTO},
};

static const struct {
    const char *name;
    uint8_t proto;
} proto_names[] = {
    {"icmp", 1}, {"igmp", 2}, {"tcp", 6},     {"udp", 17},     {"gre", 47},
    {"esp", 50}, {"ah", 51},  {"icmpv6", 58}, {"ipv6-icmp", 58}, {"sctp", 132},
    {"udplite", 136}, {"dccp", 33},
};

static const char *const state_names[] = {
    [CT_STATE_NEW] = "new",
    [CT_STATE_ESTABLISHED] = "established",
    [CT_STATE_RELATED] = "related",
    [CT_STATE_INVALID] = "invalid",
    [CT_STATE_UNTRACKED] = "untracked",
};

static const char *const event_names[] = {
    "new",  "related", "destroy", "reply",   "assured", "protoinfo",
    "helper", "mark",  "seqadj",  "secmark", "label",
};

struct pset {
    const struct tok *name;
    uint8_t table;
    uint8_t vc;
    uint32_t off, n; /* raw ranges in r32 / r128 */
    uint32_t bits;   /* VC_IFNAME */
};

/* A name to resolve once the whole file is read: nft lets a rule name an
 * object or set declared further down its table. */
struct fixup {
    const struct tok *name;
    uint32_t index; /* the match (sets) or statement (objects) */
    uint8_t table;
    uint8_t kind;   /* 0 set, 1 timeout, 2 helper */
};

struct ptable {
    const struct tok *name;
    uint8_t family;
};

struct parser {
    const struct tok *t;
    size_t n, i;
    struct ct_ruleset *rs;
    struct rules_err *e;
    struct ptable tables[RULES_MAX_TABLES];
    unsigned ntables;
    uint8_t table;  /* current table */
    uint8_t family; /* its family: 0 inet, 4 ip, 6 ip6 */
    struct pset sets[RULES_MAX_SETS];
    unsigned nsets;
    uint8_t obj_table[2][RULES_MAX_OBJECTS]; /* [0] timeouts, [1] helpers */
    struct fixup *fix;
    size_t nfix, capfix;
    uint32_t elems; /* set and map elements so far */
};

/* ---- tokens ------------------------------------------------------------- */

static const struct tok *peek(const struct parser *p)
{
    return &p->t[p->i];
}

static const struct tok *next(struct parser *p)
{
    const struct tok *t = &p->t[p->i];
    if (t->kind != TOK_EOF)
        p->i++;
    return t;
}

static int is(const struct tok *t, const char *w)
{
    size_t l = strlen(w);
    return t->kind == TOK_WORD && t->len == l && memcmp(t->s, w, l) == 0;
}

static int tok_eq(const struct tok *a, const struct tok *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

#define ERR(p, tk, code, ...) ct_rules_error_at((p)->e, (code), (tk)->line, (tk)->col, __VA_ARGS__)

/* How a token reads in a message. */
static const char *describe(const struct tok *t, char *buf, size_t len)
{
    switch (t->kind) {
    case TOK_EOF: return "end of file";
    case TOK_NL: return "end of line";
    case TOK_LBRACE: return "'{'";
    case TOK_RBRACE: return "'}'";
    case TOK_SEMI: return "';'";
    case TOK_COMMA: return "','";
    case TOK_EQ: return "'='";
    case TOK_NE: return "'!='";
    case TOK_LT: return "'<'";
    case TOK_GT: return "'>'";
    case TOK_LE: return "'<='";
    case TOK_GE: return "'>='";
    case TOK_STRING: snprintf(buf, len, "\"%.*s\"", (int)t->len, t->s); return buf;
    case TOK_SETREF: snprintf(buf, len, "@%.*s", (int)t->len, t->s); return buf;
    default: snprintf(buf, len, "'%.*s'", (int)t->len, t->s); return buf;
    }
}

static int unexpected(struct parser *p, const struct tok *t, const char *what)
{
    char b[96];
    return ERR(p, t, -EINVAL, "%s expected, found %s", what, describe(t, b, sizeof(b)));
}

static int expect(struct parser *p, int kind, const char *what)
{
    const struct tok *t = next(p);
    if (t->kind != kind)
        return unexpected(p, t, what);
    return 0;
}

static int expect_word(struct parser *p, const char *w)
{
    const struct tok *t = next(p);
    if (!is(t, w)) {
        char what[64];
        snprintf(what, sizeof(what), "'%s'", w);
        return unexpected(p, t, what);
    }
    return 0;
}

static void skip_nl(struct parser *p)
{
    while (peek(p)->kind == TOK_NL)
        p->i++;
}

/* The end of a statement inside braces: ';', a newline, or the '}' (left
 * for the caller). */
static int end_of_line(struct parser *p)
{
    const struct tok *t = peek(p);
    if (t->kind == TOK_SEMI || t->kind == TOK_NL) {
        p->i++;
        return 0;
    }
    if (t->kind == TOK_RBRACE)
        return 0;
    return unexpected(p, t, "';' or end of line");
}

/* Copies a name token into dst; -EINVAL if it is too long or not a name. */
static int take_name(struct parser *p, const struct tok *t, char *dst, const char *what)
{
    if (t->kind != TOK_WORD && t->kind != TOK_STRING)
        return unexpected(p, t, what);
    if (t->len == 0 || t->len >= RULES_MAX_NAME)
        return ERR(p, t, -EINVAL, "%s: a name of 1 to %d bytes expected", what,
                   RULES_MAX_NAME - 1);
    memcpy(dst, t->s, t->len);
    dst[t->len] = 0;
    return 0;
}

/* ---- numbers and addresses ---------------------------------------------- */

/* Decimal or 0x hexadecimal, up to max. */
static int num(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    int hex = len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (hex)
        i = 2;
    if (i == len)
        return -1;
    for (; i < len; i++) {
        unsigned d;
        char c = s[i];
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -1;
        v = v * (hex ? 16 : 10) + d;
        if (v > max)
            return -2;
    }
    *out = v;
    return 0;
}

static int tok_num(struct parser *p, const struct tok *t, uint64_t max, uint64_t *out,
                   const char *what)
{
    int r = t->kind == TOK_WORD ? num(t->s, t->len, max, out) : -1;
    if (r == -2)
        return ERR(p, t, -EINVAL, "%s %.*s out of range (0 to %llu)", what, (int)t->len, t->s,
                   (unsigned long long)max);
    if (r != 0) {
        char b[96];
        return ERR(p, t, -EINVAL, "%s: a number expected, found %s", what,
                   describe(t, b, sizeof(b)));
    }
    return 0;
}

static int parse_v4(const char *s, size_t len, uint32_t *out)
{
    char buf[INET_ADDRSTRLEN];
    struct in_addr a;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

static int parse_v6(const char *s, size_t len, struct u128 *out)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char a[16];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (inet_pton(AF_INET6, buf, a) != 1)
        return -1;
    out->hi = out->lo = 0;
    for (int i = 0; i < 8; i++) {
        out->hi = out->hi << 8 | a[i];
        out->lo = out->lo << 8 | a[8 + i];
    }
    return 0;
}

/* ---- growing the ruleset ------------------------------------------------ */

static int grow(void **arr, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return 0;
    uint32_t c = *cap ? *cap * 2 : 16;
    void *a = realloc(*arr, (size_t)c * size);
    if (!a)
        return -ENOMEM;
    *arr = a;
    *cap = c;
    return 0;
}

int ct_rules_push_r32(struct ct_ruleset *rs, uint32_t lo, uint32_t hi, uint32_t val)
{
    uint32_t cap = rs->cap_r32;
    if (grow((void **)&rs->r32, &rs->cap_r32, rs->nr32, sizeof(*rs->r32)) != 0)
        return -ENOMEM;
    if (rs->cap_r32 != cap) {
        uint32_t *mv = realloc(rs->mapval, (size_t)rs->cap_r32 * sizeof(*mv));
        if (!mv)
            return -ENOMEM;
        rs->mapval = mv;
    }
    rs->r32[rs->nr32] = (struct range32){lo, hi};
    rs->mapval[rs->nr32] = val;
    rs->nr32++;
    return 0;
}

int ct_rules_push_r128(struct ct_ruleset *rs, struct u128 lo, struct u128 hi)
{
    if (grow((void **)&rs->r128, &rs->cap_r128, rs->nr128, sizeof(*rs->r128)) != 0)
        return -ENOMEM;
    rs->r128[rs->nr128++] = (struct range128){lo, hi};
    return 0;
}

/* Counts one element against the limit. */
static int count_elem(struct parser *p, const struct tok *t)
{
    if (++p->elems > RULES_MAX_ELEMS)
        return ERR(p, t, -E2BIG, "more than %u set and map elements in all", RULES_MAX_ELEMS);
    return 0;
}

/* ---- values --------------------------------------------------------------- */

/* The bit of an iifname pattern, allocated on first use. */
static int ifname_bit(struct parser *p, const struct tok *t, uint32_t *bits)
{
    struct ct_ruleset *rs = p->rs;
    char name[RULES_MAX_NAME];
    int r = take_name(p, t, name, "iifname");
    if (r)
        return r;
    for (uint32_t i = 0; i < rs->nifnames; i++)
        if (strcmp(rs->ifnames[i], name) == 0) {
            *bits |= 1u << i;
            return 0;
        }
    if (rs->nifnames == RULES_MAX_IFNAMES)
        return ERR(p, t, -E2BIG, "more than %d different interface names", RULES_MAX_IFNAMES);
    char *star = strchr(name, '*');
    if (star && star[1] != 0)
        return ERR(p, t, -EINVAL, "iifname \"%s\": '*' is a wildcard only at the end", name);
    memcpy(rs->ifnames[rs->nifnames], name, sizeof(name));
    *bits |= 1u << rs->nifnames++;
    return 0;
}

/* Whether t is one of proto_names (a protocol by its name). */
static int proto_name(const struct tok *t)
{
    for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
        if (is(t, proto_names[i].name))
            return 1;
    return 0;
}

/* One scalar element (U32 classes) as a range. */
static int scalar(struct parser *p, uint8_t vc, const struct tok *t, uint32_t *v)
{
    uint64_t x;
    int r;
    switch (vc) {
    case VC_PROTO:
        for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
            if (is(t, proto_names[i].name)) {
                *v = proto_names[i].proto;
                return 0;
            }
        r = t->kind == TOK_WORD ? num(t->s, t->len, 255, &x) : -1;
        if (r != 0) {
            char b[96];
            return ERR(p, t, -EINVAL, "unknown protocol %s", describe(t, b, sizeof(b)));
        }
        *v = (uint32_t)x;
        return 0;
    case VC_NFPROTO:
        if (is(t, "ipv4") || is(t, "ipv6")) {
            *v = is(t, "ipv4") ? CT_L3_IPV4 : CT_L3_IPV6;
            return 0;
        }
        return unexpected(p, t, "ipv4 or ipv6");
    case VC_IFINDEX:
        r = tok_num(p, t, 65535, &x, "iif");
        break;
    case VC_PORT:
        r = tok_num(p, t, 65535, &x, "port");
        break;
    case VC_MARK:
        r = tok_num(p, t, 0xffffffffu, &x, "mark");
        break;
    case VC_VLAN:
        r = tok_num(p, t, 4095, &x, "vlan id");
        break;
    case VC_ZONE:
        r = tok_num(p, t, 65535, &x, "zone");
        break;
    default:
        return unexpected(p, t, "a value");
    }
    if (r)
        return r;
    *v = (uint32_t)x;
    return 0;
}

/* A word "A-B" split at its '-' into two tokens; 0 if it has none. */
static int split_range(const struct tok *t, struct tok *a, struct tok *b)
{
    if (t->kind != TOK_WORD || t->len < 3)
        return 0;
    const char *dash = memchr(t->s + 1, '-', t->len - 1);
    if (!dash || dash == t->s + t->len - 1)
        return 0;
    *a = *t;
    a->len = (uint32_t)(dash - t->s);
    *b = *t;
    b->s = dash + 1;
    b->len = (uint32_t)(t->s + t->len - dash - 1);
    b->col = t->col + a->len + 1;
    return 1;
}

static int elem_v4(struct parser *p, const struct tok *t)
{
    uint32_t lo, hi;
    struct tok a, b;
    if (t->kind != TOK_WORD)
        return unexpected(p, t, "an IPv4 address");
    const char *slash = memchr(t->s, '/', t->len);
    if (slash) {
        uint64_t plen;
        size_t alen = (size_t)(slash - t->s);
        if (parse_v4(t->s, alen, &lo) != 0 ||
            num(slash + 1, t->len - alen - 1, 32, &plen) != 0)
            return ERR(p, t, -EINVAL, "bad IPv4 prefix '%.*s'", (int)t->len, t->s);
        uint32_t mask = plen == 0 ? 0 : ~0u << (32 - plen);
        lo &= mask;
        hi = lo | ~mask;
    } else if (split_range(t, &a, &b)) {
        if (parse_v4(a.s, a.len, &lo) != 0 || parse_v4(b.s, b.len, &hi) != 0)
            return ERR(p, t, -EINVAL, "bad IPv4 range '%.*s'", (int)t->len, t->s);
        if (lo > hi)
            return ERR(p, t, -EINVAL, "range '%.*s' ends before it starts", (int)t->len, t->s);
    } else {
        if (parse_v4(t->s, t->len, &lo) != 0)
            return ERR(p, t, -EINVAL, "bad IPv4 address '%.*s'", (int)t->len, t->s);
        hi = lo;
    }
    int r = count_elem(p, t);
    if (r == 0 && ct_rules_push_r32(p->rs, lo, hi, 0) != 0)
        r = ERR(p, t, -ENOMEM, "out of memory");
    return r;
}

static int elem_v6(struct parser *p, const struct tok *t)
{
    struct u128 lo, hi;
    struct tok a, b;
    if (t->kind != TOK_WORD)
        return unexpected(p, t, "an IPv6 address");
    const char *slash = memchr(t->s, '/', t->len);
    if (slash) {
        uint64_t plen;
        size_t alen = (size_t)(slash - t->s);
        if (parse_v6(t->s, alen, &lo) != 0 ||
            num(slash + 1, t->len - alen - 1, 128, &plen) != 0)
            return ERR(p, t, -EINVAL, "bad IPv6 prefix '%.*s'", (int)t->len, t->s);
        uint64_t mhi = plen == 0 ? 0 : plen >= 64 ? ~0ull : ~0ull << (64 - plen);
        uint64_t mlo = plen <= 64 ? 0 : plen == 128 ? ~0ull : ~0ull << (128 - plen);
        lo.hi &= mhi;
        lo.lo &= mlo;
        hi.hi = lo.hi | ~mhi;
        hi.lo = lo.lo | ~mlo;
    } else if (split_range(t, &a, &b)) {
        if (parse_v6(a.s, a.len, &lo) != 0 || parse_v6(b.s, b.len, &hi) != 0)
            return ERR(p, t, -EINVAL, "bad IPv6 range '%.*s'", (int)t->len, t->s);
        if (lo.hi > hi.hi || (lo.hi == hi.hi && lo.lo > hi.lo))
            return ERR(p, t, -EINVAL, "range '%.*s' ends before it starts", (int)t->len, t->s);
    } else {
        if (parse_v6(t->s, t->len, &lo) != 0)
            return ERR(p, t, -EINVAL, "bad IPv6 address '%.*s'", (int)t->len, t->s);
        hi = lo;
    }
    int r = count_elem(p, t);
    if (r == 0 && ct_rules_push_r128(p->rs, lo, hi) != 0)
        r = ERR(p, t, -ENOMEM, "out of memory");
    return r;
}

/*
 * One element of class vc: appended to r32 / r128 (with map value `val`),
 * or or-ed into *bits (VC_IFNAME, VC_STATE). Scalars take the forms N and
 * N-M, and "N - M" over three tokens.
 */
static int elem(struct parser *p, uint8_t vc, uint32_t *bits, uint32_t val)
{
    const struct tok *t = next(p);
    if (vc == VC_V4)
        return elem_v4(p, t);
    if (vc == VC_V6)
        return elem_v6(p, t);
    if (vc == VC_IFNAME)
        return ifname_bit(p, t, bits);
    if (vc == VC_STATE) {
        for (unsigned s = 0; s < sizeof(state_names) / sizeof(state_names[0]); s++)
            if (is(t, state_names[s])) {
                *bits |= 1u << s;
                return 0;
            }
        char b[96];
        return ERR(p, t, -EINVAL, "unknown ct state %s", describe(t, b, sizeof(b)));
    }
    uint32_t lo, hi;
    struct tok a, b;
    int r;
    /* A name with a dash in it ("ipv6-icmp", as `nft list` prints ICMPv6)
     * is one element, not a range. */
    if (split_range(t, &a, &b) && !(vc == VC_PROTO && proto_name(t))) {
        if ((r = scalar(p, vc, &a, &lo)) != 0 || (r = scalar(p, vc, &b, &hi)) != 0)
            return r;
    } else {
        if ((r = scalar(p, vc, t, &lo)) != 0)
            return r;
        hi = lo;
        if (is(peek(p), "-")) {
            p->i++;
            if ((r = scalar(p, vc, next(p), &hi)) != 0)
                return r;
        }
    }
    if (lo > hi)
        return ERR(p, t, -EINVAL, "range '%.*s' ends before it starts", (int)t->len, t->s);
    if ((r = count_elem(p, t)) != 0)
        return r;
    if (ct_rules_push_r32(p->rs, lo, hi, val) != 0)
        return ERR(p, t, -ENOMEM, "out of memory");
    return 0;
}

/* "{ a, b, c }" (newlines allowed anywhere inside), after the '{'. */
static int elems_braced(struct parser *p, uint8_t vc, uint32_t *bits)
{
    int r;
    for (;;) {
        skip_nl(p);
        if (peek(p)->kind == TOK_RBRACE) {
            p->i++;
            return 0;
        }
        if ((r = elem(p, vc, bits, 0)) != 0)
            return r;
        skip_nl(p);
        const struct tok *t = peek(p);
        if (t->kind == TOK_COMMA)
            p->i++;
        else if (t->kind != TOK_RBRACE)
            return unexpected(p, t, "',' or '}'");
    }
}

static int add_fixup(struct parser *p, const struct tok *name, uint32_t index, uint8_t kind)
{
    if (p->nfix == p->capfix) {
        size_t c = p->capfix ? p->capfix * 2 : 16;
        struct fixup *f = realloc(p->fix, c * sizeof(*f));
        if (!f)
            return ERR(p, name, -ENOMEM, "out of memory");
        p->fix = f;
        p->capfix = c;
    }
    p->fix[p->nfix++] = (struct fixup){name, index, p->table, kind};
    return 0;
}

/* ---- matches --------------------------------------------------------------- */

static int add_match(struct parser *p, const struct tok *at, struct rmatch *m, uint32_t *nm)
{
    struct ct_ruleset *rs = p->rs;
    if (*nm == RULES_MAX_MATCHES)
        return ERR(p, at, -E2BIG, "more than %d matches in one rule", RULES_MAX_MATCHES);
    if (grow((void **)&rs->matches, &rs->cap_matches, rs->nmatches, sizeof(*m)) != 0)
        return ERR(p, at, -ENOMEM, "out of memory");
    rs->matches[rs->nmatches++] = *m;
    (*nm)++;
    return 0;
}

/*
 * The operator and value(s) of a match on `key`: `[== | != | < | > | <= |
 * >=] VALUE`, where VALUE is an element, "{ elements }", "@set", or for
 * `ct state` a comma-separated list.
 */
static int match(struct parser *p, const struct tok *at, uint8_t key, uint32_t *nm)
{
    struct ct_ruleset *rs = p->rs;
    uint8_t vc = keys[key].vc;
    struct rmatch m = {.key = key};
    const struct tok *t = peek(p);
    int r, cmp = 0;

    if (t->kind == TOK_EQ) {
        p->i++;
    } else if (t->kind == TOK_NE) {
        m.neg = 1;
        p->i++;
    } else if (t->kind >= TOK_LT && t->kind <= TOK_GE) {
        cmp = t->kind;
        p->i++;
    }
    t = peek(p);
    if (vc == VC_IFINDEX && t->kind == TOK_STRING) {
        /* iif "NAME": Linux resolves the name to its index when the rule
         * is loaded; here the names are the caller's (set_iface), so the
         * match is on the name, exactly. */
        m.key = RK_IIFNAME;
        vc = VC_IFNAME;
    }
    int big = vc == VC_V6;
    uint32_t start = big ? rs->nr128 : rs->nr32;
    if (cmp) {
        uint32_t v;
        if (vc == VC_V4 || vc == VC_V6 || vc == VC_IFNAME || vc == VC_STATE || vc == VC_NFPROTO)
            return ERR(p, t, -EINVAL, "%s: '<', '>', '<=' and '>=' are not supported here",
                       keys[key].text);
        if ((r = scalar(p, vc, next(p), &v)) != 0)
            return r;
        uint32_t lo = 0, hi = 0xffffffffu;
        uint32_t max = vc == VC_MARK ? 0xffffffffu : vc == VC_PROTO ? 255 : vc == VC_VLAN ? 4095
                                                                                         : 65535;
        hi = max;
        if ((cmp == TOK_LT && v == 0) || (cmp == TOK_GT && v == max))
            return ERR(p, t, -EINVAL, "%s: the comparison matches nothing", keys[key].text);
        if (cmp == TOK_LT)
            hi = v - 1;
        else if (cmp == TOK_LE)
            hi = v;
        else if (cmp == TOK_GT)
            lo = v + 1;
        else
            lo = v;
        if ((r = count_elem(p, t)) != 0)
            return r;
        if (ct_rules_push_r32(rs, lo, hi, 0) != 0)
            return ERR(p, t, -ENOMEM, "out of memory");
    } else if (t->kind == TOK_LBRACE) {
        p->i++;
        if ((r = elems_braced(p, vc, &m.bits)) != 0)
            return r;
    } else if (t->kind == TOK_SETREF) {
        p->i++;
        if ((r = add_fixup(p, t, rs->nmatches, 0)) != 0)
            return r;
    } else {
        if ((r = elem(p, vc, &m.bits, 0)) != 0)
            return r;
        while (vc == VC_STATE && peek(p)->kind == TOK_COMMA) {
            p->i++;
            if ((r = elem(p, vc, &m.bits, 0)) != 0)
                return r;
        }
    }
    m.off = start;
    m.n = (big ? rs->nr128 : rs->nr32) - start;
    if (m.n == 0 && m.bits == 0 && t->kind == TOK_LBRACE)
        return ERR(p, t, -EINVAL, "%s: empty set", keys[key].text);
    return add_match(p, at, &m, nm);
}

/* ---- statements ------------------------------------------------------------ */

/* What the current chain is; `side` 0 before conntrack, 1 after. */
struct chainctx {
    const struct tok *name;
    int side;
    int32_t prio;
    int has_hook;
    int nat;      /* a `type nat` chain */
    int nat_hook; /* its enum rules_nat_hook */
};

static int add_stmt(struct parser *p, const struct tok *at, const struct rstmt *s, uint32_t *ns)
{
    struct ct_ruleset *rs = p->rs;
    if (*ns == RULES_MAX_STMTS)
        return ERR(p, at, -E2BIG, "more than %d statements in one rule", RULES_MAX_STMTS);
    if (grow((void **)&rs->stmts, &rs->cap_stmts, rs->nstmts, sizeof(*s)) != 0)
        return ERR(p, at, -ENOMEM, "out of memory");
    rs->stmts[rs->nstmts++] = *s;
    (*ns)++;
    return 0;
}

/* A statement that needs a side of conntrack the chain is not on. */
static int wrong_side(struct parser *p, const struct tok *at, const struct chainctx *c,
                      const char *what)
{
    if (c->side == 0)
        return ERR(p, at, -EINVAL,
                   "'%s' has no effect before conntrack (chain %.*s has priority %d < -200)",
                   what, (int)c->name->len, c->name->s, (int)c->prio);
    return ERR(p, at, -EINVAL,
               "'%s' has no effect after conntrack (chain %.*s has priority %d >= -200)", what,
               (int)c->name->len, c->name->s, (int)c->prio);
}

/*
 * Splits "KEY : VALUE" where the colon may stick to either side or both
 * ("1:", ":10", "1:10", "1 : 10"): *key is the token already read and is
 * cut at its colon; *val is the value's token, read as needed.
 */
static int key_value(struct parser *p, struct tok *key, struct tok *val)
{
    const char *colon = key->kind == TOK_WORD ? memchr(key->s, ':', key->len) : NULL;
    if (colon) {
        size_t kl = (size_t)(colon - key->s);
        *val = *key;
        val->s = colon + 1;
        val->len = (uint32_t)(key->len - kl - 1);
        val->col = key->col + (uint32_t)kl + 1;
        key->len = (uint32_t)kl;
        if (val->len > 0)
            return 0;
    } else {
        const struct tok *c = next(p);
        if (c->kind != TOK_WORD || c->s[0] != ':')
            return unexpected(p, c, "':'");
        if (c->len > 1) {
            *val = *c;
            val->s++;
            val->len--;
            val->col++;
            return 0;
        }
    }
    *val = *next(p);
    return 0;
}

/* ct zone set VALUE, after "set": a number, `meta mark` or `meta mark map
 * { MARK : ZONE, ... }`. */
static int zone_value(struct parser *p, struct rstmt *s)
{
    const struct tok *t = next(p);
    int r;
    if (!is(t, "meta")) {
        uint32_t z;
        if ((r = scalar(p, VC_ZONE, t, &z)) != 0)
            return r;
        s->kind = RS_ZONE_SET;
        s->value = z;
        return 0;
    }
    if ((r = expect_word(p, "mark")) != 0)
        return r;
    if (!is(peek(p), "map")) {
        s->kind = RS_ZONE_MARK;
        return 0;
    }
    p->i++;
    if ((r = expect(p, TOK_LBRACE, "'{'")) != 0)
        return r;
    s->kind = RS_ZONE_MARK_MAP;
    s->off = p->rs->nr32;
    for (;;) {
        skip_nl(p);
        const struct tok *k = peek(p);
        if (k->kind == TOK_RBRACE) {
            p->i++;
            break;
        }
        /* The key may run into the colon: "1:", "1:10", or "1 : 10". */
        struct tok key = *next(p), val;
        if ((r = key_value(p, &key, &val)) != 0)
            return r;
        uint32_t lo, hi, z;
        struct tok a, b;
        if (split_range(&key, &a, &b)) {
            if ((r = scalar(p, VC_MARK, &a, &lo)) != 0 || (r = scalar(p, VC_MARK, &b, &hi)) != 0)
                return r;
        } else {
            if ((r = scalar(p, VC_MARK, &key, &lo)) != 0)
                return r;
            hi = lo;
        }
        if (lo > hi)
            return ERR(p, &key, -EINVAL, "range ends before it starts");
        if ((r = scalar(p, VC_ZONE, &val, &z)) != 0)
            return r;
        if ((r = count_elem(p, &key)) != 0)
            return r;
        if (ct_rules_push_r32(p->rs, lo, hi, z) != 0)
            return ERR(p, &key, -ENOMEM, "out of memory");
        skip_nl(p);
        if (peek(p)->kind == TOK_COMMA)
            p->i++;
        else if (peek(p)->kind != TOK_RBRACE)
            return unexpected(p, peek(p), "',' or '}'");
    }
    s->n = p->rs->nr32 - s->off;
    if (s->n == 0)
        return ERR(p, t, -EINVAL, "ct zone set meta mark map: empty map");
    return 0;
}

static int name_value(struct parser *p, const struct tok **name, const char *what)
{
    const struct tok *t = next(p);
    if ((t->kind != TOK_STRING && t->kind != TOK_WORD) || t->len == 0 ||
        t->len >= RULES_MAX_NAME) {
        char b[96];
        return ERR(p, t, -EINVAL, "%s: an object name expected, found %s", what,
                   describe(t, b, sizeof(b)));
    }
    *name = t;
    return 0;
}

/* `ct ...` after the word "ct": a match or a statement. */
static int ct_item(struct parser *p, const struct tok *at, const struct chainctx *c,
                   uint32_t *nm, uint32_t *ns, int *seen_stmt)
{
    const struct tok *w = next(p);
    struct rstmt s = {0};
    int r;
    char b[96];

    if (is(w, "original") || is(w, "reply")) {
        s.dirs = is(w, "original") ? CT_ZONE_DIR_ORIG : CT_ZONE_DIR_REPL;
        if ((r = expect_word(p, "zone")) != 0 || (r = expect_word(p, "set")) != 0)
            return r;
        if (c->side != 0)
            return wrong_side(p, at, c, "ct zone set");
        if ((r = zone_value(p, &s)) != 0)
            return r;
        *seen_stmt = 1;
        return add_stmt(p, at, &s, ns);
    }
    int k = is(w, "state") ? RK_CT_STATE : is(w, "zone") ? RK_CT_ZONE : is(w, "mark") ? RK_CT_MARK
                                                                                     : -1;
    if (k >= 0 && is(peek(p), "set")) {
        p->i++;
        if (k == RK_CT_STATE)
            return ERR(p, w, -EINVAL, "'ct state' cannot be set");
        if (k == RK_CT_ZONE) {
            if (c->side != 0)
                return wrong_side(p, at, c, "ct zone set");
            s.dirs = CT_ZONE_DIR_ORIG | CT_ZONE_DIR_REPL;
            if ((r = zone_value(p, &s)) != 0)
                return r;
        } else {
            if (c->side != 1)
                return wrong_side(p, at, c, "ct mark set");
            if (is(peek(p), "meta") && p->i + 1 < p->n && is(&p->t[p->i + 1], "mark")) {
                p->i += 2; /* ct mark set meta mark: save the packet's mark */
                s.kind = RS_CT_MARK_META;
            } else {
                uint32_t v;
                if ((r = scalar(p, VC_MARK, next(p), &v)) != 0)
                    return r;
                s.kind = RS_CT_MARK_SET;
                s.value = v;
            }
        }
        *seen_stmt = 1;
        return add_stmt(p, at, &s, ns);
    }
    if (k >= 0) {
        if (*seen_stmt)
            return ERR(p, at, -EINVAL, "'ct %.*s' match after a statement: put matches first",
                       (int)w->len, w->s);
        if (c->side != 1)
            return ERR(p, at, -EINVAL,
                       "'ct %.*s' matches nothing before conntrack (chain %.*s has priority "
                       "%d < -200)",
                       (int)w->len, w->s, (int)c->name->len, c->name->s, (int)c->prio);
        return match(p, at, (uint8_t)k, nm);
    }
    const struct tok *name = NULL;
    if (is(w, "timeout") || is(w, "helper")) {
        int helper = is(w, "helper");
        if ((r = expect_word(p, "set")) != 0)
            return r;
        if (c->side != 1)
            return wrong_side(p, at, c, helper ? "ct helper set" : "ct timeout set");
        if ((r = name_value(p, &name, helper ? "ct helper set" : "ct timeout set")) != 0)
            return r;
        s.kind = helper ? RS_CT_HELPER : RS_CT_TIMEOUT;
        if ((r = add_fixup(p, name, p->rs->nstmts, helper ? 2 : 1)) != 0)
            return r;
        *seen_stmt = 1;
        return add_stmt(p, at, &s, ns);
    }
    if (is(w, "event")) {
        if ((r = expect_word(p, "set")) != 0)
            return r;
        if (c->side != 1)
            return wrong_side(p, at, c, "ct event set");
        s.kind = RS_CT_EVENT;
        do {
            const struct tok *e = next(p);
            unsigned i;
            for (i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
                if (is(e, event_names[i]))
                    break;
            if (i == sizeof(event_names) / sizeof(event_names[0]))
                return ERR(p, e, -EINVAL, "unknown ct event %s", describe(e, b, sizeof(b)));
            s.value |= 1u << i;
        } while (peek(p)->kind == TOK_COMMA && (p->i++, 1));
        *seen_stmt = 1;
        return add_stmt(p, at, &s, ns);
    }
    return ERR(p, w, -EINVAL, "unsupported: 'ct %.*s'", (int)w->len, w->s);
}

/* ---- NAT statements --------------------------------------------------------- */

/*
 * The grammar of nft(8), "NAT STATEMENTS", as nft 1.0.6 takes it:
 *   snat | dnat [ip | ip6] [to] ADDR[-ADDR][:PORT[-PORT]] [FLAGS]
 *   snat | dnat [ip | ip6] [to] :PORT[-PORT] [FLAGS]
 *   snat | dnat [ip | ip6] [to] KEY map { KEY : ADDR[-ADDR], ... } [FLAGS]
 *   snat | dnat [ip | ip6] prefix to KEY map { KEY : PREFIX, ... } [FLAGS]
 *   masquerade [to :PORT[-PORT]] [FLAGS]
 *   redirect [to [:]PORT[-PORT]] [FLAGS]
 * with IPv6 addresses bracketed when ports follow ([2001:db8::1]:80), FLAGS
 * among persistent, random, fully-random (commas or spaces between), and
 * KEY one of ip saddr, ip daddr, ip6 saddr, ip6 daddr, tcp sport, tcp
 * dport, udp sport, udp dport. The hooks each statement may run at are
 * Linux's (nft_nat_validate(), nft_masq_validate(), nft_redir_validate()).
 */

static const char *const nat_hook_names[RULES_NAT_HOOKS] = {
    [RULES_NAT_PREROUTING] = "prerouting",
    [RULES_NAT_INPUT] = "input",
    [RULES_NAT_OUTPUT] = "output",
    [RULES_NAT_POSTROUTING] = "postrouting",
};

static void u128_to_addr(struct u128 v, int l3, union ct_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (l3 == CT_L3_IPV4) {
        a->v4 = htonl((uint32_t)v.lo);
        return;
    }
    for (int i = 0; i < 8; i++) {
        a->b[7 - i] = (uint8_t)(v.hi >> (8 * i));
        a->b[15 - i] = (uint8_t)(v.lo >> (8 * i));
    }
}

static int u128_le(struct u128 a, struct u128 b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* An address, a range A-B or a prefix A/LEN of family l3 in s[0, len), as
 * the numbers lo..hi (IPv4 in lo's low 32 bits). Returns 0, or -1 when it
 * does not parse. Brackets around IPv6 addresses are dropped. */
static int addr_span(const char *s, size_t len, int l3, struct u128 *lo, struct u128 *hi)
{
    char buf[2 * INET6_ADDRSTRLEN + 8];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '[' || s[i] == ']')
            continue;
        if (n + 1 >= sizeof(buf))
            return -1;
        buf[n++] = s[i];
    }
    buf[n] = 0;
    const char *slash = memchr(buf, '/', n), *dash = memchr(buf, '-', n);
    size_t alen = slash ? (size_t)(slash - buf) : dash ? (size_t)(dash - buf) : n;
    uint64_t plen = 0;
    if (slash && (dash || num(slash + 1, n - alen - 1, l3 == CT_L3_IPV4 ? 32 : 128, &plen) != 0))
        return -1;
    if (l3 == CT_L3_IPV4) {
        uint32_t a, b;
        if (parse_v4(buf, alen, &a) != 0 || (dash && parse_v4(dash + 1, n - alen - 1, &b) != 0))
            return -1;
        if (slash) {
            uint32_t mask = plen == 0 ? 0 : ~0u << (32 - plen);
            a &= mask;
            b = a | ~mask;
        } else if (!dash) {
            b = a;
        }
        *lo = (struct u128){0, a};
        *hi = (struct u128){0, b};
        return 0;
    }
    if (parse_v6(buf, alen, lo) != 0 || (dash && parse_v6(dash + 1, n - alen - 1, hi) != 0))
        return -1;
    if (slash) {
        uint64_t mhi = plen == 0 ? 0 : plen >= 64 ? ~0ull : ~0ull << (64 - plen);
        uint64_t mlo = plen <= 64 ? 0 : plen == 128 ? ~0ull : ~0ull << (128 - plen);
        lo->hi &= mhi;
        lo->lo &= mlo;
        hi->hi = lo->hi | ~mhi;
        hi->lo = lo->lo | ~mlo;
    } else if (!dash) {
        *hi = *lo;
    }
    return 0;
}

/* A translation's addresses: s parsed by addr_span(), checked, stored. */
static int nat_addrs(struct parser *p, const struct tok *at, const char *s, size_t len, int l3,
                     union ct_addr *min, union ct_addr *max)
{
    struct u128 lo, hi;
    if (addr_span(s, len, l3, &lo, &hi) != 0)
        return ERR(p, at, -EINVAL, "bad %s address, range or prefix '%.*s'",
                   l3 == CT_L3_IPV4 ? "IPv4" : "IPv6", (int)len, s);
    if (!u128_le(lo, hi))
        return ERR(p, at, -EINVAL, "address range '%.*s' is empty: it ends before it starts",
                   (int)len, s);
    u128_to_addr(lo, l3, min);
    u128_to_addr(hi, l3, max);
    return 0;
}

/* PORT or PORT-PORT of a translation. Port 0 is refused: nft takes it, but
 * a connection translated to port 0 cannot be reached (docs/rules.md). */
static int nat_ports(struct parser *p, const struct tok *at, const char *s, size_t len,
                     struct rnat *n)
{
    uint64_t lo, hi;
    const char *dash = memchr(s, '-', len);
    size_t l1 = dash ? (size_t)(dash - s) : len;
    if (num(s, l1, 65535, &lo) != 0 || (dash && num(dash + 1, len - l1 - 1, 65535, &hi) != 0))
        return ERR(p, at, -EINVAL, "bad port or port range '%.*s' (1 to 65535)", (int)len, s);
    if (!dash)
        hi = lo;
    if (lo == 0)
        return ERR(p, at, -EINVAL, "port 0 cannot be a translation's port ('%.*s')", (int)len, s);
    if (lo > hi)
        return ERR(p, at, -EINVAL, "port range '%.*s' is empty: it ends before it starts", (int)len,
                   s);
    n->min_port = (uint16_t)lo;
    n->max_port = (uint16_t)hi;
    n->flags |= CT_NAT_RANGE_PROTO_SPECIFIED;
    return 0;
}

static int nat_flag(const struct tok *t)
{
    return is(t, "random")         ? CT_NAT_RANGE_PROTO_RANDOM
           : is(t, "persistent")   ? CT_NAT_RANGE_PERSISTENT
           : is(t, "fully-random") ? CT_NAT_RANGE_PROTO_RANDOM_FULLY
                                   : 0;
}

/* The words of a target, joined where a ':' or '-' binds them: "1.2.3.4 :
 * 80" and "1.2.3.4:80" read alike, as they do for nft. */
static int nat_text(struct parser *p, char *buf, size_t cap, size_t *len, const struct tok **at)
{
    *at = peek(p);
    *len = 0;
    while (peek(p)->kind == TOK_WORD && !nat_flag(peek(p)) && !is(peek(p), "comment")) {
        const struct tok *t = peek(p);
        if (*len > 0 && buf[*len - 1] != ':' && buf[*len - 1] != '-' && t->s[0] != ':' &&
            t->s[0] != '-')
            break;
        p->i++;
        if (*len + t->len >= cap)
            return ERR(p, *at, -EINVAL, "a NAT target longer than %zu bytes", cap - 1);
        memcpy(buf + *len, t->s, t->len);
        *len += t->len;
    }
    if (*len == 0)
        return unexpected(p, *at, "a NAT target (an address, a range or ':PORT')");
    buf[*len] = 0;
    return 0;
}

static size_t colons(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == ':';
    return n;
}

/* ADDR[-ADDR][:PORT[-PORT]] or :PORT[-PORT]; IPv6 addresses in brackets
 * when ports follow. l3 is the family addresses must have (0: unknown, an
 * error when an address is given). */
static int nat_target(struct parser *p, const struct tok *at, const struct tok *kw, const char *s,
                      size_t len, int l3, struct rnat *n)
{
    const char *ports = NULL, *end = s + len;
    size_t alen = len;
    if (s[0] == ':' && s[1] != ':') { /* "::1" is an address */
        ports = s + 1;
        alen = 0;
    } else if (!l3) {
        return ERR(p, kw, -EINVAL,
                   "'%.*s' with an address in a table of family inet needs "
                   "the family: '%.*s ip to ...' or '%.*s ip6 to ...'",
                   (int)kw->len, kw->s, (int)kw->len, kw->s, (int)kw->len, kw->s);
    } else if (s[0] == '[' || (l3 == CT_L3_IPV4 && colons(s, len) > 1)) {
        if (l3 != CT_L3_IPV6)
            return ERR(p, at, -EINVAL, "an IPv6 address '%.*s' in a statement of family ip",
                       (int)len, s);
        /* [A] or [A]-[B], then :PORTS */
        const char *c = memchr(s, ']', len);
        if (!c)
            return ERR(p, at, -EINVAL, "']' missing in '%.*s'", (int)len, s);
        c++;
        if (c + 1 < end && c[0] == '-' && c[1] == '[') {
            c = memchr(c, ']', (size_t)(end - c));
            if (!c)
                return ERR(p, at, -EINVAL, "']' missing in '%.*s'", (int)len, s);
            c++;
        }
        alen = (size_t)(c - s);
        if (c < end) {
            if (*c != ':')
                return ERR(p, at, -EINVAL, "':PORT' expected after the address in '%.*s'", (int)len,
                           s);
            ports = c + 1;
        }
    } else if (l3 == CT_L3_IPV4) {
        const char *c = memchr(s, ':', len);
        if (c) {
            alen = (size_t)(c - s);
            ports = c + 1;
        }
    }
    int r;
    if (alen) {
        if ((r = nat_addrs(p, at, s, alen, l3, &n->min_addr, &n->max_addr)) != 0)
            return r;
        n->flags |= CT_NAT_RANGE_MAP_IPS;
        n->family = (uint8_t)l3;
    }
    if (ports)
        return nat_ports(p, at, ports, (size_t)(end - ports), n);
    return 0;
}

static int push_natelem(struct parser *p, const struct tok *at, const struct rnatelem *el)
{
    struct ct_ruleset *rs = p->rs;
    int r = count_elem(p, at);
    if (r)
        return r;
    if (grow((void **)&rs->natelems, &rs->cap_natelems, rs->nnatelems, sizeof(*el)) != 0)
        return ERR(p, at, -ENOMEM, "out of memory");
    rs->natelems[rs->nnatelems++] = *el;
    return 0;
}

/* KEY map { KEY : VALUE, ... }, from the key's first word. Values are
 * addresses of family l3: single, ranges or prefixes. */
static int nat_map(struct parser *p, const struct tok *kw, struct rnat *n, int l3)
{
    struct ct_ruleset *rs = p->rs;
    const struct tok *k1 = next(p), *k2 = next(p);
    int key;
    if (is(k1, "ip") || is(k1, "ip6")) {
        int v6 = is(k1, "ip6");
        key =
            is(k2, "saddr") ? (v6 ? RK_IP6_SADDR : RK_IP_SADDR) : (v6 ? RK_IP6_DADDR : RK_IP_DADDR);
        if ((p->family == CT_L3_IPV4 && v6) || (p->family == CT_L3_IPV6 && !v6))
            return ERR(p, k1, -EINVAL, "'%.*s' in a table of family %s", (int)k1->len, k1->s,
                       p->family == CT_L3_IPV4 ? "ip" : "ip6");
    } else {
        int udp = is(k1, "udp");
        key = is(k2, "sport") ? (udp ? RK_UDP_SPORT : RK_TCP_SPORT)
                              : (udp ? RK_UDP_DPORT : RK_TCP_DPORT);
    }
    uint8_t vc = keys[key].vc;
    int r;
    if (!l3)
        return ERR(p, kw, -EINVAL,
                   "'%.*s' with a map in a table of family inet needs the "
                   "family: '%.*s ip to ...' or '%.*s ip6 to ...'",
                   (int)kw->len, kw->s, (int)kw->len, kw->s, (int)kw->len, kw->s);
    if ((r = expect_word(p, "map")) != 0 || (r = expect(p, TOK_LBRACE, "'{'")) != 0)
        return r;
    n->map_key = (uint8_t)key;
    n->off = rs->nnatelems;
    int ranges = -1; /* whether the values are ranges (1) or single addresses (0) */
    for (;;) {
        skip_nl(p);
        if (peek(p)->kind == TOK_RBRACE) {
            p->i++;
            break;
        }
        struct tok kt = *next(p), vt;
        if (kt.kind != TOK_WORD)
            return unexpected(p, &kt, "a map key");
        if (vc == VC_V6) {
            /* An IPv6 key is full of colons: the separator stands apart. */
            const struct tok *c = next(p);
            if (c->kind != TOK_WORD || c->s[0] != ':')
                return unexpected(p, c, "' : '");
            if (c->len > 1) {
                vt = *c;
                vt.s++;
                vt.len--;
                vt.col++;
            } else {
                vt = *next(p);
            }
        } else if ((r = key_value(p, &kt, &vt)) != 0) {
            return r;
        }
        struct rnatelem el;
        memset(&el, 0, sizeof(el));
        if (vc == VC_PORT) {
            uint32_t lo, hi;
            struct tok a, b;
            if (split_range(&kt, &a, &b)) {
                if ((r = scalar(p, vc, &a, &lo)) != 0 || (r = scalar(p, vc, &b, &hi)) != 0)
                    return r;
            } else {
                if ((r = scalar(p, vc, &kt, &lo)) != 0)
                    return r;
                hi = lo;
            }
            el.lo = (struct u128){0, lo};
            el.hi = (struct u128){0, hi};
        } else if (addr_span(kt.s, kt.len, vc == VC_V4 ? CT_L3_IPV4 : CT_L3_IPV6, &el.lo, &el.hi) !=
                   0) {
            return ERR(p, &kt, -EINVAL, "bad map key '%.*s'", (int)kt.len, kt.s);
        }
        if (!u128_le(el.lo, el.hi))
            return ERR(p, &kt, -EINVAL, "map key '%.*s' is empty: it ends before it starts",
                       (int)kt.len, kt.s);
        if (vt.kind != TOK_WORD)
            return unexpected(p, &vt, "an address");
        /* nft types a map's data by its first value and refuses the
         * others when they differ (a range among addresses). */
        int range = memchr(vt.s, '-', vt.len) || memchr(vt.s, '/', vt.len);
        if (ranges >= 0 && range != ranges)
            return ERR(p, &vt, -EINVAL,
                       "'%.*s': a map's values are all single addresses or "
                       "all ranges and prefixes, as nft requires",
                       (int)vt.len, vt.s);
        ranges = range;
        if ((r = nat_addrs(p, &vt, vt.s, vt.len, l3, &el.min_addr, &el.max_addr)) != 0 ||
            (r = push_natelem(p, &kt, &el)) != 0)
            return r;
        skip_nl(p);
        if (peek(p)->kind == TOK_COMMA)
            p->i++;
        else if (peek(p)->kind != TOK_RBRACE)
            return unexpected(p, peek(p), "',' or '}'");
    }
    n->n = rs->nnatelems - n->off;
    if (n->n == 0)
        return ERR(p, k1, -EINVAL, "%s map: empty map", keys[key].text);
    n->flags |= CT_NAT_RANGE_MAP_IPS;
    n->family = (uint8_t)l3;
    return 0;
}

/* Whether the next two tokens name a map key ("ip daddr", "tcp dport"). */
static int at_map_key(const struct parser *p)
{
    if (p->i + 1 >= p->n)
        return 0;
    const struct tok *a = &p->t[p->i], *b = &p->t[p->i + 1];
    if (is(a, "ip") || is(a, "ip6"))
        return is(b, "saddr") || is(b, "daddr");
    if (is(a, "tcp") || is(a, "udp"))
        return is(b, "sport") || is(b, "dport");
    return 0;
}

/*
 * A NAT statement from its keyword kw. l3ctx is the family the rule's
 * matches imply (0: none), l4ctx whether they name a transport protocol:
 * nft requires the latter before a port mapping, and in an inet table the
 * former (or an explicit `ip`/`ip6`) before an address.
 */
static int nat_stmt(struct parser *p, const struct tok *kw, const struct chainctx *c, int l3ctx,
                    int l4ctx, struct rstmt *s)
{
    struct ct_ruleset *rs = p->rs;
    struct rnat n;
    char text[160];
    size_t len;
    const struct tok *at = kw;
    int r;

    memset(&n, 0, sizeof(n));
    n.map_key = RK_COUNT;
    n.type = is(kw, "snat")         ? RN_SNAT
             : is(kw, "dnat")       ? RN_DNAT
             : is(kw, "masquerade") ? RN_MASQ
                                    : RN_REDIR;
    if (!c->nat)
        return ERR(p, kw, -EINVAL, "'%.*s' needs a chain of type nat", (int)kw->len, kw->s);
    unsigned hooks = n.type == RN_SNAT   ? 1u << RULES_NAT_POSTROUTING | 1u << RULES_NAT_INPUT
                     : n.type == RN_MASQ ? 1u << RULES_NAT_POSTROUTING
                                         : 1u << RULES_NAT_PREROUTING | 1u << RULES_NAT_OUTPUT;
    if (!(hooks & 1u << c->nat_hook))
        return ERR(p, kw, -EINVAL, "'%.*s' is not allowed at hook %s (only at %s)", (int)kw->len,
                   kw->s, nat_hook_names[c->nat_hook],
                   n.type == RN_SNAT   ? "postrouting and input"
                   : n.type == RN_MASQ ? "postrouting"
                                       : "prerouting and output");
    if (n.type == RN_SNAT || n.type == RN_DNAT) {
        int l3 = p->family;
        const struct tok *fam = NULL;
        if ((is(peek(p), "ip") || is(peek(p), "ip6")) && !at_map_key(p)) {
            fam = next(p);
            int f = is(fam, "ip") ? CT_L3_IPV4 : CT_L3_IPV6;
            if (p->family && f != p->family)
                return ERR(p, fam, -EINVAL, "'%.*s %.*s' in a table of family %s", (int)kw->len,
                           kw->s, (int)fam->len, fam->s, p->family == CT_L3_IPV4 ? "ip" : "ip6");
            l3 = f;
        } else if (!l3) {
            l3 = l3ctx;
        }
        if (is(peek(p), "prefix")) {
            p->i++;
            n.netmap = 1;
        }
        if (is(peek(p), "addr"))
            return ERR(p, peek(p), -EINVAL,
                       "unsupported: '%.*s ... addr . port' (maps to an address and a port)",
                       (int)kw->len, kw->s);
        if (is(peek(p), "to"))
            p->i++;
        else if (n.netmap)
            return unexpected(p, peek(p), "'to'");
        if (at_map_key(p)) {
            if ((r = nat_map(p, kw, &n, l3)) != 0)
                return r;
            /* KEY map { ... } : PORT[-PORT] */
            if (peek(p)->kind == TOK_WORD && peek(p)->s[0] == ':') {
                if ((r = nat_text(p, text, sizeof(text), &len, &at)) != 0 ||
                    (r = nat_ports(p, at, text + 1, len - 1, &n)) != 0)
                    return r;
            }
        } else if (n.netmap) {
            /* prefix to ADDRESSES: the same mapping into one range */
            if ((r = nat_text(p, text, sizeof(text), &len, &at)) != 0 ||
                (r = nat_target(p, at, kw, text, len, l3, &n)) != 0)
                return r;
            if (!(n.flags & CT_NAT_RANGE_MAP_IPS) || (n.flags & CT_NAT_RANGE_PROTO_SPECIFIED))
                return ERR(p, at, -EINVAL,
                           "'%.*s prefix to' takes addresses and no ports, as "
                           "nft requires",
                           (int)kw->len, kw->s);
        } else {
            if ((r = nat_text(p, text, sizeof(text), &len, &at)) != 0)
                return r;
            if (fam && text[0] == ':' && text[1] != ':')
                return ERR(p, at, -EINVAL,
                           "'%.*s %.*s' needs an address before ':PORT', as "
                           "nft requires",
                           (int)kw->len, kw->s, (int)fam->len, fam->s);
            if ((r = nat_target(p, at, kw, text, len, l3, &n)) != 0)
                return r;
        }
    } else if (is(peek(p), "to")) {
        p->i++;
        if ((r = nat_text(p, text, sizeof(text), &len, &at)) != 0)
            return r;
        if (n.type == RN_MASQ && text[0] != ':')
            return unexpected(p, at, "':PORT' or ':PORT-PORT'");
        const char *ports = text[0] == ':' ? text + 1 : text;
        if ((r = nat_ports(p, at, ports, len - (size_t)(ports - text), &n)) != 0)
            return r;
    }
    if ((n.flags & CT_NAT_RANGE_PROTO_SPECIFIED) && !l4ctx)
        return ERR(p, at, -EINVAL,
                   "a port mapping needs a transport protocol match first "
                   "(meta l4proto, tcp dport, ...), as nft requires");
    for (;;) {
        int f = nat_flag(peek(p));
        if (!f)
            break;
        p->i++;
        n.flags |= (uint32_t)f;
        if (peek(p)->kind == TOK_COMMA) {
            p->i++;
            if (!nat_flag(peek(p)))
                return unexpected(p, peek(p), "a NAT flag (persistent, random, fully-random)");
        }
    }
    if (grow((void **)&rs->nats, &rs->cap_nats, rs->nnats, sizeof(n)) != 0)
        return ERR(p, kw, -ENOMEM, "out of memory");
    s->kind = RS_NAT;
    s->value = rs->nnats;
    rs->nats[rs->nnats++] = n;
    return 0;
}

/* What a match tells a later NAT statement, as nft's protocol context
 * does: a family (ip and ip6 matches, `meta nfproto` of one value) and
 * whether the transport protocol is known (a port match, or a protocol
 * match that is not negated). */
static void match_context(const struct rmatch *m, const struct ct_ruleset *rs, int *l3ctx,
                          int *l4ctx)
{
    switch (m->key) {
    case RK_IP_SADDR:
    case RK_IP_DADDR:
        *l3ctx = CT_L3_IPV4;
        break;
    case RK_IP6_SADDR:
    case RK_IP6_DADDR:
        *l3ctx = CT_L3_IPV6;
        break;
    case RK_IP_PROTO:
    case RK_IP6_NEXTHDR:
        *l3ctx = m->key == RK_IP_PROTO ? CT_L3_IPV4 : CT_L3_IPV6;
        *l4ctx |= !m->neg;
        break;
    case RK_L4PROTO:
        *l4ctx |= !m->neg;
        break;
    case RK_TCP_SPORT:
    case RK_TCP_DPORT:
    case RK_UDP_SPORT:
    case RK_UDP_DPORT:
        *l4ctx = 1;
        break;
    case RK_NFPROTO:
        if (!m->neg && m->n == 1 && rs->r32[m->off].lo == rs->r32[m->off].hi)
            *l3ctx = (int)rs->r32[m->off].lo;
        break;
    default:
        break;
    }
}

/* A statement or match that a nat chain does not take here. */
static int nat_chain_refuses(struct parser *p, const struct tok *at, const struct chainctx *c,
                             const char *what)
{
    return ERR(p, at, -EINVAL,
               "'%s' in nat chain %.*s: a nat chain takes matches on the packet, "
               "counter, accept, drop and NAT statements",
               what, (int)c->name->len, c->name->s);
}

/* One rule, up to ';', a newline or the chain's '}'. */
static int rule(struct parser *p, const struct chainctx *c, uint32_t line)
{
    struct ct_ruleset *rs = p->rs;
    uint32_t nm = 0, ns = 0, m_off = rs->nmatches, s_off = rs->nstmts;
    int seen_stmt = 0, verdict = 0, r;
    int l3ctx = 0, l4ctx = 0; /* what the matches so far imply, for NAT statements */
    uint64_t cnt_pk = 0, cnt_by = 0;
    char b[96];

    if (rs->nrules == RULES_MAX_RULES)
        return ERR(p, peek(p), -E2BIG, "more than %d rules", RULES_MAX_RULES);
    for (;;) {
        const struct tok *t = peek(p);
        if (t->kind == TOK_SEMI || t->kind == TOK_NL || t->kind == TOK_RBRACE ||
            t->kind == TOK_EOF)
            break;
        p->i++;
        if (t->kind != TOK_WORD)
            return unexpected(p, t, "a match or a statement");
        if (verdict && !is(t, "comment"))
            return ERR(p, t, -EINVAL, "%s after the verdict: a verdict ends the rule",
                       describe(t, b, sizeof(b)));
        int key = -1;
        struct rstmt s = {0};
        if (is(t, "iifname")) {
            key = RK_IIFNAME;
        } else if (is(t, "iif")) {
            key = RK_IIF;
        } else if (is(t, "meta") || is(t, "mark")) {
            const struct tok *w = is(t, "mark") ? t : next(p);
            if (is(w, "mark") && is(peek(p), "set")) {
                if (c->nat)
                    return nat_chain_refuses(p, t, c, "meta mark set");
                p->i++;
                if (is(peek(p), "ct") && p->i + 1 < p->n && is(&p->t[p->i + 1], "mark")) {
                    /* meta mark set ct mark: restore the connection's mark */
                    if (c->side != 1)
                        return wrong_side(p, t, c, "meta mark set ct mark");
                    p->i += 2;
                    s.kind = RS_META_MARK_CT;
                } else {
                    uint32_t v;
                    if ((r = scalar(p, VC_MARK, next(p), &v)) != 0)
                        return r;
                    s.kind = RS_META_MARK_SET;
                    s.value = v;
                }
                seen_stmt = 1;
                if ((r = add_stmt(p, t, &s, &ns)) != 0)
                    return r;
                continue;
            }
            key = is(w, "mark") ? RK_MARK : is(w, "l4proto") ? RK_L4PROTO
                  : is(w, "nfproto") ? RK_NFPROTO : is(w, "iif") ? RK_IIF
                  : is(w, "iifname") ? RK_IIFNAME : -1;
            if (key < 0)
                return ERR(p, w, -EINVAL, "unsupported: 'meta %.*s'", (int)w->len, w->s);
        } else if (is(t, "ip") || is(t, "ip6")) {
            int v6 = is(t, "ip6");
            const struct tok *w = next(p);
            if (is(w, "saddr"))
                key = v6 ? RK_IP6_SADDR : RK_IP_SADDR;
            else if (is(w, "daddr"))
                key = v6 ? RK_IP6_DADDR : RK_IP_DADDR;
            else if (!v6 && is(w, "protocol"))
                key = RK_IP_PROTO;
            else if (v6 && is(w, "nexthdr"))
                key = RK_IP6_NEXTHDR;
            else
                return ERR(p, w, -EINVAL, "unsupported: '%.*s %.*s'", (int)t->len, t->s,
                           (int)w->len, w->s);
            if ((p->family == CT_L3_IPV4 && v6) || (p->family == CT_L3_IPV6 && !v6))
                return ERR(p, t, -EINVAL, "'%.*s' in a table of family %s", (int)t->len, t->s,
                           p->family == CT_L3_IPV4 ? "ip" : "ip6");
        } else if (is(t, "tcp") || is(t, "udp")) {
            int udp = is(t, "udp");
            const struct tok *w = next(p);
            if (is(w, "sport"))
                key = udp ? RK_UDP_SPORT : RK_TCP_SPORT;
            else if (is(w, "dport"))
                key = udp ? RK_UDP_DPORT : RK_TCP_DPORT;
            else
                return ERR(p, w, -EINVAL, "unsupported: '%.*s %.*s'", (int)t->len, t->s,
                           (int)w->len, w->s);
        } else if (is(t, "vlan")) {
            if ((r = expect_word(p, "id")) != 0)
                return r;
            key = RK_VLAN_ID;
        } else if (is(t, "ct")) {
            if (c->nat)
                return nat_chain_refuses(p, t, c, "ct");
            if ((r = ct_item(p, t, c, &nm, &ns, &seen_stmt)) != 0)
                return r;
            continue;
        } else if (is(t, "snat") || is(t, "dnat") || is(t, "masquerade") || is(t, "redirect")) {
            if ((r = nat_stmt(p, t, c, l3ctx, l4ctx, &s)) != 0)
                return r;
            verdict = 1; /* nft: a NAT statement is terminal */
        } else if (is(t, "notrack")) {
            if (c->nat)
                return nat_chain_refuses(p, t, c, "notrack");
            if (c->side != 0)
                return wrong_side(p, t, c, "notrack");
            s.kind = RS_NOTRACK;
        } else if (is(t, "accept") || is(t, "drop")) {
            s.kind = is(t, "drop") ? RS_DROP : RS_ACCEPT;
            verdict = 1;
        } else if (is(t, "counter")) {
            s.kind = RS_COUNTER;
            /* "counter packets N bytes M", as `nft list` prints it: the
             * counter starts from those values. */
            if (is(peek(p), "packets")) {
                p->i++;
                if ((r = tok_num(p, next(p), UINT64_MAX, &cnt_pk, "packets")) != 0 ||
                    (r = expect_word(p, "bytes")) != 0 ||
                    (r = tok_num(p, next(p), UINT64_MAX, &cnt_by, "bytes")) != 0)
                    return r;
            }
        } else if (is(t, "comment")) {
            const struct tok *cm = next(p);
            if (cm->kind != TOK_STRING)
                return unexpected(p, cm, "a quoted comment");
            continue;
        } else {
            return ERR(p, t, -EINVAL, "unsupported: '%.*s'", (int)t->len, t->s);
        }
        if (key >= 0) {
            if (seen_stmt)
                return ERR(p, t, -EINVAL, "'%s' match after a statement: put matches first",
                           keys[key].text);
            if ((r = match(p, t, (uint8_t)key, &nm)) != 0)
                return r;
            match_context(&rs->matches[rs->nmatches - 1], rs, &l3ctx, &l4ctx);
            continue;
        }
        seen_stmt = 1;
        if ((r = add_stmt(p, t, &s, &ns)) != 0)
            return r;
    }
    if (nm == 0 && ns == 0)
        return 0; /* an empty line */
    if (grow((void **)&rs->rules, &rs->cap_rules, rs->nrules, sizeof(*rs->rules)) != 0)
        return ERR(p, peek(p), -ENOMEM, "out of memory");
    struct rrule *ru = &rs->rules[rs->nrules++];
    memset(ru, 0, sizeof(*ru));
    ru->m_off = m_off;
    ru->m_n = (uint16_t)nm;
    ru->s_off = s_off;
    ru->s_n = (uint16_t)ns;
    ru->line = line;
    ru->packets = cnt_pk;
    ru->bytes = cnt_by;
    return 0;
}

/* ---- chains --------------------------------------------------------------- */

static const struct {
    const char *name;
    int32_t prio;
} prio_names[] = {
    {"raw", -300}, {"mangle", -150}, {"dstnat", -100}, {"filter", 0},
    {"security", 50}, {"srcnat", 100},
};

/* PRIORITY: a number, or a name optionally followed by +N / -N. */
static int priority(struct parser *p, int32_t *out)
{
    const struct tok *t = next(p);
    char b[96];
    if (t->kind != TOK_WORD)
        return unexpected(p, t, "a priority");
    int64_t base = 0;
    size_t i = 0;
    for (; i < sizeof(prio_names) / sizeof(prio_names[0]); i++) {
        size_t l = strlen(prio_names[i].name);
        if (t->len >= l && memcmp(t->s, prio_names[i].name, l) == 0 &&
            (t->len == l || t->s[l] == '+' || t->s[l] == '-')) {
            base = prio_names[i].prio;
            break;
        }
    }
    const char *s = t->s;
    size_t len = t->len;
    struct tok off = *t;
    if (i < sizeof(prio_names) / sizeof(prio_names[0])) {
        size_t l = strlen(prio_names[i].name);
        s += l;
        len -= l;
        if (len == 0 && peek(p)->kind == TOK_WORD && (peek(p)->s[0] == '+' ||
                                                       peek(p)->s[0] == '-')) {
            off = *next(p);
            s = off.s;
            len = off.len;
            if (len == 1) { /* "raw - 10" */
                const struct tok *n2 = next(p);
                if (n2->kind != TOK_WORD)
                    return unexpected(p, n2, "a number");
                uint64_t v;
                if (num(n2->s, n2->len, 1000000, &v) != 0)
                    return ERR(p, n2, -EINVAL, "bad priority offset %s",
                               describe(n2, b, sizeof(b)));
                *out = (int32_t)(base + (s[0] == '-' ? -(int64_t)v : (int64_t)v));
                return 0;
            }
        }
        if (len == 0) {
            *out = (int32_t)base;
            return 0;
        }
    }
    int neg = len > 0 && s[0] == '-';
    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        s++;
        len--;
    }
    uint64_t v;
    if (num(s, len, 1000000, &v) != 0)
        return ERR(p, t, -EINVAL, "bad priority %s", describe(t, b, sizeof(b)));
    *out = (int32_t)(base + (neg ? -(int64_t)v : (int64_t)v));
    return 0;
}

/*
 * `type nat hook H priority P;` after the hook's name h. Linux registers
 * nat chains at prerouting, input, output and postrouting only, and
 * refuses a priority at or below conntrack's (nf_tables_api.c: a nat
 * chain must see the connection).
 */
static int nat_chain_type(struct parser *p, struct rchain *ch, struct chainctx *c,
                          const struct tok *h)
{
    char b[96];
    int r, hook;
    for (hook = 0; hook < RULES_NAT_HOOKS; hook++)
        if (is(h, nat_hook_names[hook]))
            break;
    if (hook == RULES_NAT_HOOKS) {
        if (is(h, "forward") || is(h, "ingress") || is(h, "egress"))
            return ERR(p, h, -EINVAL,
                       "a nat chain cannot hook '%.*s' (prerouting, input, "
                       "output or postrouting)",
                       (int)h->len, h->s);
        return ERR(p, h, -EINVAL, "unknown hook %s", describe(h, b, sizeof(b)));
    }
    if (is(peek(p), "device"))
        return ERR(p, peek(p), -EINVAL, "unsupported: 'device' (netdev chains)");
    if ((r = expect_word(p, "priority")) != 0)
        return r;
    const struct tok *pt = peek(p);
    if ((r = priority(p, &ch->prio)) != 0)
        return r;
    if (ch->prio <= RULES_PRIO_CONNTRACK)
        return ERR(p, pt, -EINVAL,
                   "a nat chain needs a priority above conntrack's (-200), "
                   "not %d",
                   (int)ch->prio);
    ch->nat = 1;
    ch->hook = (uint8_t)hook;
    c->prio = ch->prio;
    c->side = 1;
    c->has_hook = 1;
    c->nat = 1;
    c->nat_hook = hook;
    return end_of_line(p);
}

/* `type filter hook H priority P;` */
static int chain_type(struct parser *p, struct rchain *ch, struct chainctx *c)
{
    const struct tok *t = next(p);
    int r;
    char b[96];
    if (is(t, "route"))
        return ERR(p, t, -EINVAL, "unsupported: chains of type '%.*s' (only filter and nat)",
                   (int)t->len, t->s);
    if (!is(t, "filter") && !is(t, "nat"))
        return unexpected(p, t, "a chain type ('filter' or 'nat')");
    if ((r = expect_word(p, "hook")) != 0)
        return r;
    const struct tok *h = next(p);
    if (is(t, "nat"))
        return nat_chain_type(p, ch, c, h);
    if (is(h, "prerouting"))
        ch->hook = CT_RULES_HOOK_PREROUTING;
    else if (is(h, "output"))
        ch->hook = CT_RULES_HOOK_OUTPUT;
    else if (is(h, "input") || is(h, "forward") || is(h, "postrouting") || is(h, "ingress") ||
             is(h, "egress"))
        return ERR(p, h, -EINVAL,
                   "unsupported: hook '%.*s' (ctrack sees packets at prerouting and output)",
                   (int)h->len, h->s);
    else
        return ERR(p, h, -EINVAL, "unknown hook %s", describe(h, b, sizeof(b)));
    if (is(peek(p), "device"))
        return ERR(p, peek(p), -EINVAL, "unsupported: 'device' (netdev chains)");
    if ((r = expect_word(p, "priority")) != 0 || (r = priority(p, &ch->prio)) != 0)
        return r;
    c->prio = ch->prio;
    c->side = ch->prio >= RULES_PRIO_CONNTRACK;
    c->has_hook = 1;
    return end_of_line(p);
}

static int chain(struct parser *p)
{
    struct ct_ruleset *rs = p->rs;
    const struct tok *name = next(p);
    int r;
    if (name->kind != TOK_WORD && name->kind != TOK_STRING)
        return unexpected(p, name, "a chain name");
    if (rs->nchains == RULES_MAX_CHAINS)
        return ERR(p, name, -E2BIG, "more than %d chains", RULES_MAX_CHAINS);
    for (uint32_t i = 0; i < rs->nchains; i++)
        if (rs->chains[i].table == p->table && strlen(rs->chains[i].name) == name->len &&
            memcmp(rs->chains[i].name, name->s, name->len) == 0)
            return ERR(p, name, -EINVAL, "chain %.*s: already declared in this table",
                       (int)name->len, name->s);
    if (grow((void **)&rs->chains, &rs->cap_chains, rs->nchains, sizeof(*rs->chains)) != 0)
        return ERR(p, name, -ENOMEM, "out of memory");
    struct rchain ch = {.table = p->table, .family = p->family, .order = rs->nchains};
    if ((r = take_name(p, name, ch.name, "chain")) != 0)
        return r;
    if ((r = expect(p, TOK_LBRACE, "'{'")) != 0)
        return r;
    struct chainctx c = {.name = name};
    ch.r_off = rs->nrules;
    for (;;) {
        const struct tok *t = peek(p);
        if (t->kind == TOK_NL || t->kind == TOK_SEMI) {
            p->i++;
            continue;
        }
        if (t->kind == TOK_RBRACE) {
            p->i++;
            break;
        }
        if (t->kind == TOK_EOF)
            return ERR(p, t, -EINVAL, "chain %.*s: '}' missing", (int)name->len, name->s);
        if (is(t, "type")) {
            if (c.has_hook)
                return ERR(p, t, -EINVAL, "chain %.*s: a second 'type'", (int)name->len,
                           name->s);
            if (rs->nrules != ch.r_off)
                return ERR(p, t, -EINVAL, "chain %.*s: 'type' must come before the rules",
                           (int)name->len, name->s);
            p->i++;
            if ((r = chain_type(p, &ch, &c)) != 0)
                return r;
            continue;
        }
        if (is(t, "policy")) {
            p->i++;
            const struct tok *v = next(p);
            if (!c.has_hook)
                return ERR(p, t, -EINVAL, "chain %.*s: 'policy' needs a base chain",
                           (int)name->len, name->s);
            if (!is(v, "accept") && !is(v, "drop"))
                return unexpected(p, v, "'accept' or 'drop'");
            ch.policy = is(v, "drop");
            if ((r = end_of_line(p)) != 0)
                return r;
            continue;
        }
        if (is(t, "comment")) {
            p->i++;
            if (next(p)->kind != TOK_STRING)
                return unexpected(p, &p->t[p->i - 1], "a quoted comment");
            continue;
        }
        if (!c.has_hook)
            return ERR(p, t, -EINVAL,
                       "chain %.*s has no hook: regular chains (jump, goto) are not supported",
                       (int)name->len, name->s);
        if ((r = rule(p, &c, t->line)) != 0)
            return r;
    }
    if (!c.has_hook)
        return ERR(p, name, -EINVAL,
                   "chain %.*s has no hook: regular chains (jump, goto) are not supported",
                   (int)name->len, name->s);
    ch.r_n = rs->nrules - ch.r_off;
    rs->chains[rs->nchains++] = ch;
    return 0;
}

/* ---- ct objects and sets --------------------------------------------------- */

/* l3proto ip | ip6 | inet. */
static int l3proto(struct parser *p, uint8_t *l3)
{
    const struct tok *t = next(p);
    if (is(t, "ip"))
        *l3 = CT_L3_IPV4;
    else if (is(t, "ip6"))
        *l3 = CT_L3_IPV6;
    else if (is(t, "inet"))
        *l3 = 0;
    else
        return unexpected(p, t, "'ip', 'ip6' or 'inet'");
    if ((p->family == CT_L3_IPV4 && *l3 != CT_L3_IPV4) ||
        (p->family == CT_L3_IPV6 && *l3 != CT_L3_IPV6))
        return ERR(p, t, -EINVAL, "l3proto %.*s in a table of another family", (int)t->len,
                   t->s);
    return 0;
}

/* The timeouts a policy may name for a protocol, as nft calls them. */
static const struct {
    uint8_t proto;
    const char *name;
    uint8_t timeout;
} policy_states[] = {
    {6, "syn_sent", CT_TIMEOUT_TCP_SYN_SENT},
    {6, "syn_recv", CT_TIMEOUT_TCP_SYN_RECV},
    {6, "established", CT_TIMEOUT_TCP_ESTABLISHED},
    {6, "fin_wait", CT_TIMEOUT_TCP_FIN_WAIT},
    {6, "close_wait", CT_TIMEOUT_TCP_CLOSE_WAIT},
    {6, "last_ack", CT_TIMEOUT_TCP_LAST_ACK},
    {6, "time_wait", CT_TIMEOUT_TCP_TIME_WAIT},
    {6, "close", CT_TIMEOUT_TCP_CLOSE},
    {6, "syn_sent2", CT_TIMEOUT_TCP_SYN_SENT2},
    {6, "retrans", CT_TIMEOUT_TCP_RETRANS},
    {6, "unacknowledged", CT_TIMEOUT_TCP_UNACK},
    {17, "unreplied", CT_TIMEOUT_UDP},
    {17, "replied", CT_TIMEOUT_UDP_STREAM},
    {47, "unreplied", CT_TIMEOUT_GRE},
    {47, "replied", CT_TIMEOUT_GRE_STREAM},
    {1, "timeout", CT_TIMEOUT_ICMP},
    {58, "timeout", CT_TIMEOUT_ICMP},
    {132, "closed", CT_TIMEOUT_SCTP_CLOSED},
    {132, "cookie_wait", CT_TIMEOUT_SCTP_COOKIE_WAIT},
    {132, "cookie_echoed", CT_TIMEOUT_SCTP_COOKIE_ECHOED},
    {132, "established", CT_TIMEOUT_SCTP_ESTABLISHED},
    {132, "shutdown_sent", CT_TIMEOUT_SCTP_SHUTDOWN_SENT},
    {132, "shutdown_recd", CT_TIMEOUT_SCTP_SHUTDOWN_RECD},
    {132, "shutdown_ack_sent", CT_TIMEOUT_SCTP_SHUTDOWN_ACK_SENT},
    {132, "heartbeat_sent", CT_TIMEOUT_SCTP_HEARTBEAT_SENT},
};

/* policy = { STATE: SECONDS, ... } */
static int policy(struct parser *p, const struct tok *at, struct ct_rules_timeout *to,
                  const struct tok *proto_tok)
{
    int r;
    if (!proto_tok)
        return ERR(p, at, -EINVAL, "ct timeout: 'protocol' must come before 'policy'");
    if ((r = expect(p, TOK_EQ, "'='")) != 0 || (r = expect(p, TOK_LBRACE, "'{'")) != 0)
        return r;
    for (;;) {
        skip_nl(p);
        if (peek(p)->kind == TOK_RBRACE) {
            p->i++;
            return 0;
        }
        struct tok st = *next(p), val;
        if (st.kind != TOK_WORD)
            return unexpected(p, &st, "a state name");
        if ((r = key_value(p, &st, &val)) != 0)
            return r;
        size_t i;
        for (i = 0; i < sizeof(policy_states) / sizeof(policy_states[0]); i++)
            if (policy_states[i].proto == to->proto && strlen(policy_states[i].name) == st.len &&
                memcmp(policy_states[i].name, st.s, st.len) == 0)
                break;
        if (i == sizeof(policy_states) / sizeof(policy_states[0]))
            return ERR(p, &st, -EINVAL, "ct timeout: unknown state '%.*s' for protocol %.*s",
                       (int)st.len, st.s, (int)proto_tok->len, proto_tok->s);
        uint64_t v;
        /* Linux keeps timeouts in jiffies (32 bits); 1 to 2^31/1000 seconds
         * fits every HZ up to 1000. */
        if ((r = tok_num(p, &val, 2147483, &v, "timeout")) != 0)
            return r;
        if (v == 0)
            return ERR(p, &val, -EINVAL, "ct timeout: a timeout of 0 seconds");
        to->seconds[policy_states[i].timeout] = (uint32_t)v;
        skip_nl(p);
        if (peek(p)->kind == TOK_COMMA)
            p->i++;
        else if (peek(p)->kind != TOK_RBRACE)
            return unexpected(p, peek(p), "',' or '}'");
    }
}

static int protocol_of(struct parser *p, uint8_t *proto)
{
    uint32_t v;
    int r = scalar(p, VC_PROTO, next(p), &v);
    *proto = (uint8_t)v;
    return r;
}

/* `ct timeout NAME { ... }` or `ct helper NAME { ... }`, after "ct". */
static int ct_object(struct parser *p)
{
    struct ct_ruleset *rs = p->rs;
    const struct tok *kind = next(p);
    int helper = is(kind, "helper"), r;
    if (!helper && !is(kind, "timeout"))
        return ERR(p, kind, -EINVAL, "unsupported: 'ct %.*s' object", (int)kind->len, kind->s);
    const struct tok *name = next(p);
    char nm[RULES_MAX_NAME];
    if ((r = take_name(p, name, nm, helper ? "ct helper" : "ct timeout")) != 0)
        return r;
    uint32_t *count = helper ? &rs->nhelpers : &rs->ntimeouts;
    if (*count == RULES_MAX_OBJECTS)
        return ERR(p, name, -E2BIG, "more than %d ct %s objects", RULES_MAX_OBJECTS,
                   helper ? "helper" : "timeout");
    for (uint32_t i = 0; i < *count; i++) {
        const char *other = helper ? rs->helpers[i].name : rs->timeouts[i].name;
        if (p->obj_table[helper][i] == p->table && strcmp(other, nm) == 0)
            return ERR(p, name, -EINVAL, "ct %s %s: already declared in this table",
                       helper ? "helper" : "timeout", nm);
    }
    if ((r = expect(p, TOK_LBRACE, "'{'")) != 0)
        return r;
    struct ct_rules_timeout to = {.l3 = p->family};
    struct ct_rules_helper he = {.l3 = p->family};
    const struct tok *proto_tok = NULL, *type_tok = NULL;
    for (;;) {
        const struct tok *t = next(p);
        if (t->kind == TOK_NL || t->kind == TOK_SEMI)
            continue;
        if (t->kind == TOK_RBRACE)
            break;
        if (is(t, "protocol")) {
            proto_tok = peek(p);
            if ((r = protocol_of(p, helper ? &he.proto : &to.proto)) != 0)
                return r;
        } else if (is(t, "l3proto")) {
            if ((r = l3proto(p, helper ? &he.l3 : &to.l3)) != 0)
                return r;
        } else if (!helper && is(t, "policy")) {
            if ((r = policy(p, t, &to, proto_tok)) != 0)
                return r;
        } else if (helper && is(t, "type")) {
            type_tok = next(p);
            if (type_tok->kind != TOK_STRING)
                return unexpected(p, type_tok, "a quoted helper type");
            if (!is(&(struct tok){.kind = TOK_WORD, .s = type_tok->s, .len = type_tok->len},
                    "ftp") &&
                !is(&(struct tok){.kind = TOK_WORD, .s = type_tok->s, .len = type_tok->len},
                    "tftp"))
                return ERR(p, type_tok, -EINVAL, "helper type \"%.*s\" does not exist",
                           (int)type_tok->len, type_tok->s);
            memcpy(he.type, type_tok->s, type_tok->len);
            he.type[type_tok->len] = 0;
            /* nft writes `type "ftp" protocol tcp` on one line. */
            if (is(peek(p), "protocol")) {
                p->i++;
                proto_tok = peek(p);
                if ((r = protocol_of(p, &he.proto)) != 0)
                    return r;
            }
        } else if (t->kind == TOK_EOF) {
            return ERR(p, t, -EINVAL, "ct %s %s: '}' missing", helper ? "helper" : "timeout",
                       nm);
        } else {
            char b[96];
            return ERR(p, t, -EINVAL, "unsupported in ct %s: %s", helper ? "helper" : "timeout",
                       describe(t, b, sizeof(b)));
        }
        if ((r = end_of_line(p)) != 0)
            return r;
    }
    if (!proto_tok)
        return ERR(p, name, -EINVAL, "ct %s %s: 'protocol' missing", helper ? "helper" : "timeout",
                   nm);
    if (helper) {
        if (!type_tok)
            return ERR(p, name, -EINVAL, "ct helper %s: 'type' missing", nm);
        uint8_t want = strcmp(he.type, "ftp") == 0 ? 6 : 17;
        if (he.proto != want)
            return ERR(p, proto_tok, -EINVAL, "ct helper %s: helper \"%s\" works over %s", nm,
                       he.type, want == 6 ? "tcp" : "udp");
        memcpy(he.name, nm, sizeof(nm));
        p->obj_table[1][rs->nhelpers] = p->table;
        rs->helpers[rs->nhelpers++] = he;
    } else {
        int known = 0;
        for (size_t i = 0; i < sizeof(policy_states) / sizeof(policy_states[0]); i++)
            known |= policy_states[i].proto == to.proto;
        if (!known)
            return ERR(p, proto_tok, -EINVAL, "ct timeout %s: no timeout policy for protocol "
                       "%.*s", nm, (int)proto_tok->len, proto_tok->s);
        memcpy(to.name, nm, sizeof(nm));
        p->obj_table[0][rs->ntimeouts] = p->table;
        rs->timeouts[rs->ntimeouts++] = to;
    }
    return 0;
}

/* `set NAME { type T; flags interval; elements = { ... } }` */
static int named_set(struct parser *p)
{
    const struct tok *name = next(p);
    int r;
    if (name->kind != TOK_WORD)
        return unexpected(p, name, "a set name");
    if (p->nsets == RULES_MAX_SETS)
        return ERR(p, name, -E2BIG, "more than %d sets", RULES_MAX_SETS);
    for (unsigned i = 0; i < p->nsets; i++)
        if (p->sets[i].table == p->table && tok_eq(p->sets[i].name, name))
            return ERR(p, name, -EINVAL, "set %.*s: already declared in this table",
                       (int)name->len, name->s);
    if ((r = expect(p, TOK_LBRACE, "'{'")) != 0)
        return r;
    struct pset s = {.name = name, .table = p->table, .vc = 0xff};
    int have_elems = 0;
    for (;;) {
        const struct tok *t = next(p);
        if (t->kind == TOK_NL || t->kind == TOK_SEMI)
            continue;
        if (t->kind == TOK_RBRACE)
            break;
        if (is(t, "type")) {
            const struct tok *ty = next(p);
            size_t i;
            for (i = 0; i < sizeof(set_types) / sizeof(set_types[0]); i++)
                if (is(ty, set_types[i].name))
                    break;
            if (i == sizeof(set_types) / sizeof(set_types[0]))
                return ERR(p, ty, -EINVAL, "unsupported set type '%.*s'", (int)ty->len, ty->s);
            s.vc = set_types[i].vc;
        } else if (is(t, "flags")) {
            do {
                const struct tok *f = next(p);
                if (!is(f, "interval") && !is(f, "constant"))
                    return ERR(p, f, -EINVAL, "unsupported set flag '%.*s'", (int)f->len, f->s);
            } while (peek(p)->kind == TOK_COMMA && (p->i++, 1));
        } else if (is(t, "auto-merge")) {
            /* Merging adjacent elements changes nothing a lookup returns. */
        } else if (is(t, "elements")) {
            if (s.vc == 0xff)
                return ERR(p, t, -EINVAL, "set %.*s: 'type' must come before 'elements'",
                           (int)name->len, name->s);
            if (have_elems)
                return ERR(p, t, -EINVAL, "set %.*s: a second 'elements'", (int)name->len,
                           name->s);
            have_elems = 1;
            if ((r = expect(p, TOK_EQ, "'='")) != 0 || (r = expect(p, TOK_LBRACE, "'{'")) != 0)
                return r;
            s.off = s.vc == VC_V6 ? p->rs->nr128 : p->rs->nr32;
            if ((r = elems_braced(p, s.vc, &s.bits)) != 0)
                return r;
            s.n = (s.vc == VC_V6 ? p->rs->nr128 : p->rs->nr32) - s.off;
        } else if (t->kind == TOK_EOF) {
            return ERR(p, t, -EINVAL, "set %.*s: '}' missing", (int)name->len, name->s);
        } else {
            char b[96];
            return ERR(p, t, -EINVAL, "unsupported in set: %s", describe(t, b, sizeof(b)));
        }
        if ((r = end_of_line(p)) != 0)
            return r;
    }
    if (s.vc == 0xff)
        return ERR(p, name, -EINVAL, "set %.*s: 'type' missing", (int)name->len, name->s);
    p->sets[p->nsets++] = s;
    return 0;
}

/* ---- tables --------------------------------------------------------------- */

static int table(struct parser *p)
{
    const struct tok *t = next(p);
    int r;
    uint8_t family = CT_L3_IPV4; /* nft's default family */
    if (is(t, "ip") || is(t, "ip6") || is(t, "inet")) {
        family = is(t, "ip") ? CT_L3_IPV4 : is(t, "ip6") ? CT_L3_IPV6 : 0;
        t = next(p);
    } else if (is(t, "arp") || is(t, "bridge") || is(t, "netdev")) {
        return ERR(p, t, -EINVAL, "unsupported: tables of family '%.*s'", (int)t->len, t->s);
    }
    if (t->kind != TOK_WORD && t->kind != TOK_STRING)
        return unexpected(p, t, "a table name");
    if (t->len >= RULES_MAX_NAME)
        return ERR(p, t, -EINVAL, "table name longer than %d bytes", RULES_MAX_NAME - 1);
    unsigned i;
    for (i = 0; i < p->ntables; i++)
        if (p->tables[i].family == family && tok_eq(p->tables[i].name, t))
            break;
    if (i == p->ntables) {
        if (p->ntables == RULES_MAX_TABLES)
            return ERR(p, t, -E2BIG, "more than %d tables", RULES_MAX_TABLES);
        p->tables[p->ntables++] = (struct ptable){t, family};
    }
    p->table = (uint8_t)i;
    p->family = family;
    if ((r = expect(p, TOK_LBRACE, "'{'")) != 0)
        return r;
    for (;;) {
        const struct tok *w = next(p);
        if (w->kind == TOK_NL || w->kind == TOK_SEMI)
            continue;
        if (w->kind == TOK_RBRACE)
            return 0;
        if (w->kind == TOK_EOF)
            return ERR(p, w, -EINVAL, "table %.*s: '}' missing", (int)t->len, t->s);
        if (is(w, "chain"))
            r = chain(p);
        else if (is(w, "ct"))
            r = ct_object(p);
        else if (is(w, "set"))
            r = named_set(p);
        else if (is(w, "flags") || is(w, "comment")) {
            const struct tok *v = next(p);
            if (is(w, "comment") && v->kind == TOK_STRING)
                continue;
            return ERR(p, w, -EINVAL, "unsupported: table '%.*s'", (int)w->len, w->s);
        } else {
            char b[96];
            return ERR(p, w, -EINVAL, "unsupported in a table: %s", describe(w, b, sizeof(b)));
        }
        if (r)
            return r;
    }
}

/* Resolves the names rules used, now that every table is read. */
static int resolve(struct parser *p)
{
    struct ct_ruleset *rs = p->rs;
    for (size_t f = 0; f < p->nfix; f++) {
        const struct fixup *x = &p->fix[f];
        char nm[RULES_MAX_NAME];
        snprintf(nm, sizeof(nm), "%.*s", (int)x->name->len, x->name->s);
        if (x->kind == 0) {
            struct rmatch *m = &rs->matches[x->index];
            unsigned i;
            for (i = 0; i < p->nsets; i++)
                if (p->sets[i].table == x->table && tok_eq(p->sets[i].name, x->name))
                    break;
            if (i == p->nsets)
                return ERR(p, x->name, -EINVAL, "set @%s does not exist", nm);
            const struct pset *s = &p->sets[i];
            if (s->vc != keys[m->key].vc)
                return ERR(p, x->name, -EINVAL, "set @%s: its type does not fit '%s'", nm,
                           keys[m->key].text);
            m->bits = s->bits;
            m->off = s->vc == VC_V6 ? rs->nr128 : rs->nr32;
            m->n = s->n;
            for (uint32_t k = 0; k < s->n; k++) {
                int r;
                if (s->vc == VC_V6)
                    r = ct_rules_push_r128(rs, rs->r128[s->off + k].lo, rs->r128[s->off + k].hi);
                else
                    r = ct_rules_push_r32(rs, rs->r32[s->off + k].lo, rs->r32[s->off + k].hi, 0);
                if (r == 0)
                    r = count_elem(p, x->name);
                else
                    r = ERR(p, x->name, -ENOMEM, "out of memory");
                if (r)
                    return r;
            }
            continue;
        }
        int helper = x->kind == 2;
        uint32_t n = helper ? rs->nhelpers : rs->ntimeouts, i;
        for (i = 0; i < n; i++) {
            const char *o = helper ? rs->helpers[i].name : rs->timeouts[i].name;
            if (p->obj_table[helper][i] == x->table && strcmp(o, nm) == 0)
                break;
        }
        if (i == n)
            return ERR(p, x->name, -EINVAL, "ct %s \"%s\" does not exist in this table",
                       helper ? "helper" : "timeout", nm);
        rs->stmts[x->index].value = i;
    }
    return 0;
}

int ct_rules_parse(const struct tok *toks, size_t n, struct ct_ruleset *rs, struct rules_err *e)
{
    struct parser p = {.t = toks, .n = n, .rs = rs, .e = e};
    int r = 0;
    for (;;) {
        const struct tok *t = next(&p);
        if (t->kind == TOK_EOF)
            break;
        if (t->kind == TOK_NL || t->kind == TOK_SEMI)
            continue;
        if (is(t, "table")) {
            r = table(&p);
        } else if (is(t, "flush")) {
            /* The rules start from nothing, which is what this asks for. */
            r = expect_word(&p, "ruleset");
        } else {
            char b[96];
            r = ERR(&p, t, -EINVAL, "unsupported: %s (a table expected)",
                    describe(t, b, sizeof(b)));
        }
        if (r)
            break;
    }
    if (r == 0)
        r = resolve(&p);
    free(p.fix);
    return r;
}
