/*
 * The rule language's private structures: tokens, the parsed form, and the
 * compiled ruleset that ct_rules_eval_pre() / ct_rules_eval_post() walk.
 *
 * Design. A rules file goes through three passes, each bounded:
 *   1. lexer.c cuts the text into tokens (words, strings, punctuation,
 *      newlines), each with its line and column, and expands `define`
 *      variables at the token level;
 *   2. parser.c reads the tokens by recursive descent into the parsed form
 *      below (tables, chains, rules of matches and statements, ct objects,
 *      named sets), checking what each hook may hold;
 *   3. compile.c turns the parsed form into one allocation-free structure
 *      per packet: the base chains of each hook in nft's order (priority,
 *      then load order) split at conntrack's priority (-200), the rules of
 *      each chain as a linear array, and the values of every match as a
 *      sorted, merged array of ranges. A match with at most
 *      RULES_LINEAR_MAX ranges is compared linearly; a larger one (an
 *      address or port set) is searched by bisection, O(log n) for any
 *      number of elements, as nft's interval sets (the rbtree and pipapo
 *      backends) are for prefixes and ranges.
 *
 * Chains of `type nat` are compiled the same way into sequences of their
 * own, one per NAT hook, which only ct_rules_conn_nat() walks (once per
 * manip of a connection being created); a NAT statement is a struct rnat,
 * its map a sorted array of struct rnatelem searched by bisection.
 *
 * Evaluation never allocates and reads the ruleset only, apart from the
 * counters of rules that carry `counter` (relaxed atomic adds, so that a
 * ruleset attached to several per-core tables counts every worker's
 * packets).
 *
 * Sources: the nftables wiki and nft(8) for the syntax; Linux's
 * net/netfilter/nft_ct.c (what `ct ... set` does before and after
 * conntrack), nft_chain_filter.c and nf_tables_api.c (base chain hooks and
 * priorities), nfnetlink_cttimeout.c (timeout policy state names),
 * nft_nat.c, nft_masq.c, nft_redir.c, nf_nat_redirect.c and
 * nf_nat_masquerade.c (what the NAT statements ask of nf_nat_setup_info(),
 * and at which hooks), nf_nat_core.c (nf_nat_inet_fn(): the nat chains of
 * a hook until one sets the binding).
 */
#ifndef CT_RULES_RULES_H
#define CT_RULES_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "ctrack/conn.h"
#include "ctrack/rules.h"

/* Limits: a file beyond any of them is refused with -E2BIG and a located
 * error, so that loading is bounded in time and memory. */
#define RULES_MAX_TEXT (1u << 20)     /* bytes of rules text */
#define RULES_MAX_TOKENS (1u << 18)   /* tokens after define expansion */
#define RULES_MAX_TOKEN_LEN 255       /* bytes in one word or string */
#define RULES_MAX_DEFINES 256
#define RULES_MAX_TABLES 16
#define RULES_MAX_CHAINS 64
#define RULES_MAX_RULES 4096
#define RULES_MAX_MATCHES 16          /* per rule */
#define RULES_MAX_STMTS 16            /* per rule */
#define RULES_MAX_ELEMS (1u << 16)    /* set and map elements, all rules together */
#define RULES_MAX_OBJECTS 64          /* ct timeout and ct helper objects, each */
#define RULES_MAX_SETS 64             /* named sets */
#define RULES_MAX_IFNAMES 32          /* distinct iifname patterns (one bit each) */
#define RULES_MAX_NAME 64             /* table, chain, object, interface names */
#define RULES_LINEAR_MAX 4            /* ranges compared linearly; more: bisection */

/* Linux's netfilter hook priorities the named priorities stand for
 * (nft(8), "PRIORITY"), and conntrack's own. */
#define RULES_PRIO_CONNTRACK (-200)

/* ---- tokens ------------------------------------------------------------- */

enum tok_kind {
    TOK_EOF = 0,
    TOK_NL,     /* end of line: ends a rule as ';' does */
    TOK_WORD,   /* a run of letters, digits and _ . : / - + * [ ] */
    TOK_STRING, /* "...", without the quotes */
    TOK_VAR,    /* $name (only before expansion) */
    TOK_SETREF, /* @name */
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_SEMI,
    TOK_COMMA,
    TOK_EQ,     /* = or == */
    TOK_NE,     /* != */
    TOK_LT,
    TOK_GT,
    TOK_LE,
    TOK_GE,
};

struct tok {
    const char *s; /* into the text (for words, strings and names) */
    uint32_t len;
    uint32_t line, col; /* 1-based */
    uint8_t kind;       /* enum tok_kind */
};

/* The parse state shared by the three passes: tokens, error, limits. */
struct rules_err {
    struct ct_rules_error *out; /* may be NULL */
    int code;                   /* first error: negative errno, 0 if none */
};

int ct_rules_error_at(struct rules_err *e, int code, uint32_t line, uint32_t col,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Cuts text into tokens, expands $variables from `define NAME = VALUE` lines
 * (the define lines themselves are removed) and ends the array with
 * TOK_EOF. Returns the array (free()) and its length in *n, or NULL with
 * the error recorded in e: -EINVAL for a lexical error, -E2BIG past a
 * limit, -ENOMEM.
 */
struct tok *ct_rules_lex(const char *text, size_t len, size_t *n, struct rules_err *e);

/* ---- the parsed form ------------------------------------------------------ */

/* What a match reads from the packet or its connection. */
enum rkey {
    RK_IIF = 0,     /* u32: interface index */
    RK_IIFNAME,     /* bits: iifname patterns the interface matches */
    RK_NFPROTO,     /* u32: 4 or 6 (meta nfproto ipv4|ipv6) */
    RK_IP_SADDR,    /* u32: IPv4 source, host order */
    RK_IP_DADDR,
    RK_IP6_SADDR,   /* u128 */
    RK_IP6_DADDR,
    RK_L4PROTO,     /* u32: meta l4proto */
    RK_IP_PROTO,    /* u32: ip protocol (IPv4 only) */
    RK_IP6_NEXTHDR, /* u32: ip6 nexthdr (IPv6 only; the transport, as meta l4proto) */
    RK_TCP_SPORT,   /* u32: transport ports of the named protocol */
    RK_TCP_DPORT,
    RK_UDP_SPORT,
    RK_UDP_DPORT,
    RK_MARK,        /* u32: meta mark */
    RK_VLAN_ID,     /* u32: outermost VLAN ID */
    RK_CT_STATE,    /* bits: 1 << enum ct_state */
    RK_CT_ZONE,     /* u32 */
    RK_CT_MARK,     /* u32 */
    RK_COUNT
};

struct u128 {
    uint64_t hi, lo; /* the address as a 128-bit big-endian number */
};

struct range32 {
    uint32_t lo, hi;
};

struct range128 {
    struct u128 lo, hi;
};

/* A compiled match: `key` compared with ranges [off, off + n) of the
 * ruleset's r32 array (r128 for IPv6 addresses), or for iifname and ct
 * state with the mask `bits` (the match holds when key & bits != 0). */
struct rmatch {
    uint8_t key;  /* enum rkey */
    uint8_t neg;  /* != */
    uint16_t pad;
    uint32_t n;
    uint32_t off;
    uint32_t bits; /* RK_IIFNAME, RK_CT_STATE */
};

enum rstmt_kind {
    RS_ACCEPT = 0,
    RS_DROP,
    RS_COUNTER,
    RS_NOTRACK,
    RS_ZONE_SET,      /* dirs, value */
    RS_ZONE_MARK,     /* dirs: zone = low 16 bits of meta mark */
    RS_ZONE_MARK_MAP, /* dirs: zone = map[meta mark] (ranges off/n, values in mapval) */
    RS_META_MARK_SET, /* value */
    RS_CT_MARK_SET,   /* value */
    RS_META_MARK_CT,  /* meta mark set ct mark (after conntrack) */
    RS_CT_MARK_META,  /* ct mark set meta mark (after conntrack) */
    RS_CT_TIMEOUT,    /* value: object index */
    RS_CT_EVENT,      /* value: CT_EVENT_* mask */
    RS_CT_HELPER,     /* value: object index */
    RS_NAT,           /* value: index into the ruleset's nats (nat chains only) */
};

struct rstmt {
    uint8_t kind; /* enum rstmt_kind */
    uint8_t dirs; /* CT_ZONE_DIR_ORIG | CT_ZONE_DIR_REPL */
    uint16_t pad;
    uint32_t value;
    uint32_t off, n; /* RS_ZONE_MARK_MAP */
};

struct rrule {
    uint32_t m_off, s_off; /* into the ruleset's matches and stmts */
    uint16_t m_n, s_n;
    uint32_t line;         /* where the rule starts, for counters and messages */
    uint64_t packets;      /* RS_COUNTER: relaxed atomic */
    uint64_t bytes;
};

struct rchain {
    char name[RULES_MAX_NAME];
    int32_t prio;
    uint8_t hook;    /* enum ct_rules_hook; nat chains: enum rules_nat_hook */
    uint8_t family;  /* 0: inet (both), 4: ip, 6: ip6 */
    uint8_t policy;  /* 1: drop */
    uint8_t table;   /* index of its table, for object names */
    uint8_t nat;     /* `type nat`: run only by ct_rules_conn_nat() */
    uint8_t pad[3];
    uint32_t r_off, r_n;
    uint32_t order;  /* load order: the tie-break between equal priorities */
};

/*
 * NAT. Chains of `type nat` are kept apart from the filter chains: Linux
 * runs them only for a connection's first packet, once per manip
 * (nf_nat_inet_fn()), so they are walked by ct_rules_conn_nat() alone and
 * never by the per-packet evaluation. Their hooks, as Linux's nat chains
 * may take them (nft_chain_nat.c):
 */
enum rules_nat_hook {
    RULES_NAT_PREROUTING = 0, /* DNAT of received packets */
    RULES_NAT_INPUT,          /* SNAT of packets delivered locally */
    RULES_NAT_OUTPUT,         /* DNAT of locally generated packets */
    RULES_NAT_POSTROUTING,    /* SNAT of everything else */
    RULES_NAT_HOOKS
};

enum rnat_type {
    RN_SNAT = 0,
    RN_DNAT,
    RN_MASQ,  /* SNAT to the address set with ct_ruleset_set_nat_addr() */
    RN_REDIR, /* DNAT to the redirect address, or loopback at output */
};

/*
 * One NAT statement: what Linux's nft_nat, nft_masq and nft_redir keep,
 * resolved per packet into a struct ct_nat_range by ct_rules_conn_nat().
 * Without a map, min/max_addr hold the target (network order, as struct
 * ct_nat_range). With one, the key of `map_key` read from the tuple is
 * looked up in natelems[off, off + n), sorted by key: a hit gives the
 * addresses, a miss ends the rule (nft's NFT_BREAK). `netmap` (`prefix`)
 * keeps the host part of the address the statement replaces.
 */
struct rnat {
    uint8_t type;    /* enum rnat_type */
    uint8_t family;  /* of the target addresses: CT_L3_IPV4, CT_L3_IPV6; 0 without any */
    uint8_t map_key; /* enum rkey of the map's key; RK_COUNT: no map */
    uint8_t netmap;
    uint32_t flags; /* CT_NAT_RANGE_*: MAP_IPS (an address or a map), PROTO_SPECIFIED, and
                       * the statement's random, persistent, fully-random */
    union ct_addr min_addr, max_addr;
    uint16_t min_port, max_port;
    uint32_t off, n; /* map elements */
};

/* A NAT map element: keys lo..hi (addresses and ports as numbers) to
 * addresses min..max (network order). */
struct rnatelem {
    struct u128 lo, hi;
    union ct_addr min_addr, max_addr;
};

/* The ruleset. Rules, matches and statements are in load order; `seq`
 * lists the chain indexes of each hook and side of conntrack in
 * evaluation order. */
struct ct_ruleset {
    struct rchain *chains;
    uint32_t nchains;
    struct rrule *rules;
    uint32_t nrules;
    struct rmatch *matches;
    uint32_t nmatches;
    struct rstmt *stmts;
    uint32_t nstmts;
    struct range32 *r32;
    uint32_t nr32;
    struct range128 *r128;
    uint32_t nr128;
    uint32_t *mapval; /* values of RS_ZONE_MARK_MAP, parallel to r32 */
    uint32_t cap_chains, cap_rules, cap_matches, cap_stmts, cap_r32, cap_r128;

    /* seq[hook][side]: side 0 runs before conntrack, 1 after. */
    uint8_t seq[CT_RULES_HOOK_COUNT][2][RULES_MAX_CHAINS];
    uint8_t nseq[CT_RULES_HOOK_COUNT][2];

    struct ct_rules_timeout timeouts[RULES_MAX_OBJECTS];
    uint32_t ntimeouts;
    struct ct_rules_helper helpers[RULES_MAX_OBJECTS];
    uint32_t nhelpers;

    /* NAT statements, their map elements, and the nat chains of each hook
     * in evaluation order. */
    struct rnat *nats;
    uint32_t nnats, cap_nats;
    struct rnatelem *natelems;
    uint32_t nnatelems, cap_natelems;
    uint8_t natseq[RULES_NAT_HOOKS][RULES_MAX_CHAINS];
    uint8_t nnatseq[RULES_NAT_HOOKS];
    /* ct_ruleset_set_nat_addr(): [enum ct_rules_nat_addr][0 IPv4, 1 IPv6],
     * and a bit (1 << (kind * 2 + family)) for each address set. */
    union ct_addr nat_addr[2][2];
    uint8_t nat_addr_set;

    /* iifname patterns, one bit each; ifbits[iif] says which the
     * interface's registered name matches (ct_ruleset_set_iface()). */
    char ifnames[RULES_MAX_IFNAMES][RULES_MAX_NAME];
    uint32_t nifnames;
    uint32_t ifbits[CT_RULES_MAX_IFINDEX + 1];
};

/* ---- the packet path's calls (attach.c) ----------------------------------- */

struct ct_table;
struct ct_conn;
struct ct_verdict;
struct ct_nat_range;
struct ct_tuple;

/*
 * Before stage 1 of a burst on a table with rules: runs each packet's
 * chains before conntrack. A dropped packet gets reason CT_REASON_RULE_DROP
 * (its verdict is then INVALID with that reason); notrack, a zone or a
 * timeout policy set pkt->tmpl to the template registered for them.
 */
void ct_rules_burst_pre(struct ct_table *t, struct ct_pkt *pkts, unsigned n);

/*
 * For a packet about to create a connection (c, or NULL when the caller
 * does not commit) at `now`: runs the chains after conntrack with state
 * NEW (RELATED when an expectation awaits it) and
 * writes `ct mark set`, the helper and the event mask into c. Returns 0, or
 * -EPERM when a rule dropped the packet (the connection is not created).
 */
int ct_rules_conn_new(struct ct_table *t, struct ct_conn *c, struct ct_pkt *pkt, uint64_t now);

/*
 * After stage 3: runs the chains after conntrack for the packets that did
 * not create a connection (NEW ones of a connection without a reply yet,
 * ESTABLISHED, RELATED, INVALID, UNTRACKED), sets
 * CT_VERDICT_DROP on the dropped ones (and on those dropped before
 * conntrack), and writes `ct mark set` into existing connections.
 */
void ct_rules_burst_post(struct ct_table *t, struct ct_pkt *pkts, struct ct_verdict *v,
                         unsigned n);

/*
 * NAT (src/nat/nat.c calls it for a packet about to create a connection,
 * once per manip, DST first): runs the `type nat` chains of the hook that
 * does `manip` for this packet (CT_NAT_MANIP_DST: prerouting, or output for
 * CT_FRAME_F_LOCAL frames; CT_NAT_MANIP_SRC: postrouting, or input for a
 * packet whose destination after DST is a local address), in priority
 * order, matching addresses and ports against *tuple (the packet's
 * original tuple after the DST translation already decided) and everything
 * else against pkt. The first nat statement that applies ends the
 * evaluation for this manip: *range receives what it asks, with redirect,
 * masquerade, netmap and map lookups already resolved to addresses.
 * Returns 1 (a nat statement applied), 0 (none did), or -EPERM (a rule
 * dropped the packet, or it asked for an address the ruleset does not
 * know: masquerade or redirect without ct_ruleset_set_nat_addr()).
 */
int ct_rules_conn_nat(struct ct_table *t, const struct ct_pkt *pkt, unsigned manip,
                      const struct ct_tuple *tuple, struct ct_nat_range *range);

/* What ct_rules_conn_nat() does, on a ruleset: the same results. */
int ct_rules_eval_nat(struct ct_ruleset *rs, const struct ct_pkt *pkt, unsigned manip,
                      const struct ct_tuple *tuple, struct ct_nat_range *range);

/* Frees the table's binding (ct_table_destroy()). */
void ct_rules_unbind(struct ct_table *t);

/* ---- parser and compiler ---------------------------------------------------- */

/*
 * Parses tokens into rs (chains, rules in load order, matches with their
 * raw elements appended to rs->r32 / r128, objects). Returns 0, or a
 * negative errno with the error recorded in e.
 */
int ct_rules_parse(const struct tok *toks, size_t n, struct ct_ruleset *rs, struct rules_err *e);

/*
 * Compiles what ct_rules_parse() built: sorts and merges every match's
 * ranges (checking map elements for overlaps), orders the chains. Returns
 * 0 or a negative errno with the error recorded in e.
 */
int ct_rules_compile(struct ct_ruleset *rs, struct rules_err *e);

/* Appends to the ruleset's growing arrays; -E2BIG past the limits,
 * -ENOMEM. */
int ct_rules_push_r32(struct ct_ruleset *rs, uint32_t lo, uint32_t hi, uint32_t val);
int ct_rules_push_r128(struct ct_ruleset *rs, struct u128 lo, struct u128 hi);

/* Ranges of a match, sorted and merged in place; returns the new count. */
uint32_t ct_rules_merge32(struct range32 *r, uint32_t n);
uint32_t ct_rules_merge128(struct range128 *r, uint32_t n);

/* 1 if v lies in one of the n sorted, disjoint ranges. */
int ct_rules_in32(const struct range32 *r, uint32_t n, uint32_t v);
int ct_rules_in128(const struct range128 *r, uint32_t n, struct u128 v);

#endif
