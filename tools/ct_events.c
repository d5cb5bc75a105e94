/*
 * ct_events: records the Linux kernel's conntrack event stream (ctnetlink)
 * and prints one line per event in the text of `conntrack -E -o
 * timestamp,extended`. The kernel comparison test (tests/kernel/) runs it
 * in the tracker namespace while a case is replayed, so that the kernel's
 * own events can be compared with ctrack's; see docs/kernel-compare.md.
 *
 * Usage: ct_events [--ready FILE] [--netns NAME]
 *
 *   --ready FILE   create FILE once subscribed, so that a caller knows no
 *                  event from then on is missed
 *   --netns NAME   enter the network namespace NAME (/run/netns/NAME) first
 *
 * It runs until SIGTERM or SIGINT, then reads what is still queued on the
 * socket and exits 0. On SIGUSR1 it reads what is queued, prints the line
 * "# mark" and creates the --ready file again (the caller removes it first
 * and waits for it): the kernel comparison marks the end of a replay this
 * way, before it flushes the table, so that the flush's DESTROY events
 * (with each connection's final counters) stand apart from the replay's. It exits 1 on any error, and in particular when the
 * kernel reports ENOBUFS: the socket overflowed and events were lost, so
 * the recording is incomplete and must not be compared. (conntrack -E
 * itself loses events in bursts this way, which is why this tool exists:
 * it reads the socket directly, with a receive buffer of 64 MiB.)
 *
 * The socket is NETLINK_NETFILTER bound to the groups NFNLGRP_CONNTRACK_NEW,
 * _UPDATE and _DESTROY. A message IPCTNL_MSG_CT_NEW with NLM_F_CREATE is a
 * NEW event, without it an UPDATE; IPCTNL_MSG_CT_DELETE is a DESTROY (as
 * libnetfilter_conntrack classifies them). Each line holds exactly the
 * attributes the kernel sent, in conntrack's order:
 *
 *   [SEC.USEC]<TAB>   [TYPE] l3name l3num proto protonum [timeout] [state]
 *   orig-tuple [zone-orig=] [packets= bytes=] [UNREPLIED] reply-tuple [zone-reply=]
 *   [packets= bytes=] [ASSURED] [mark=] [zone=] [helper=]
 *
 * The kernel sends the timeout and the protocol state only in NEW and
 * UPDATE events (the state only when it changed, IPCT_PROTOINFO), the
 * counters only in DESTROY events, and the mark when it is set or changed.
 * The timestamp is the time the event was read (wall clock), as conntrack
 * prints it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>

/* Large enough that a replayed case's whole event stream fits even if this
   process is not scheduled for a while. SO_RCVBUFFORCE (as root) exceeds
   net.core.rmem_max; SO_RCVBUF is the fallback. A build may set a small one
   (-DRCVBUF_BYTES=4096) to see that a lost event is reported. */
#ifndef RCVBUF_BYTES
#define RCVBUF_BYTES (64 << 20)
#endif

/* What SIGUSR1 adds to the stream; see the usage above. */
#define MARK_LINE "# mark"

static volatile sig_atomic_t stop_requested, mark_requested;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        mark_requested = 1;
    else
        stop_requested = 1;
}

/* Creates (or truncates) the --ready file, the caller's signal that what it
   asked for is done. Returns 0, or -1 (reported). */
static int touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "ct_events: %s: %s\n", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* The attributes of one nested block, indexed by type (unknown types and
   types above `max` are ignored). */
static void parse_attrs(const void *data, size_t len, const struct nlattr **tb, unsigned max)
{
    memset(tb, 0, (max + 1) * sizeof(*tb));
    const unsigned char *p = data;
    while (len >= NLA_HDRLEN) {
        const struct nlattr *a = (const struct nlattr *)p;
        if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
            break;
        unsigned type = a->nla_type & NLA_TYPE_MASK;
        if (type <= max)
            tb[type] = a;
        size_t step = NLA_ALIGN(a->nla_len);
        if (step > len)
            break;
        p += step;
        len -= step;
    }
}

static const void *attr_data(const struct nlattr *a)
{
    return (const unsigned char *)a + NLA_HDRLEN;
}

static size_t attr_len(const struct nlattr *a)
{
    return a->nla_len - NLA_HDRLEN;
}

/* Big-endian integers of the given width; 0 when the attribute is short. */
static uint64_t attr_be(const struct nlattr *a, size_t width)
{
    if (!a || attr_len(a) < width)
        return 0;
    const unsigned char *d = attr_data(a);
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
        v = v << 8 | d[i];
    return v;
}

/* libnetfilter_conntrack's protocol names (proto2str); others are "unknown". */
static const char *proto_name(unsigned proto)
{
    switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_UDPLITE: return "udplite";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_GRE: return "gre";
    case IPPROTO_DCCP: return "dccp";
    default: return "unknown";
    }
}

/* TCP states by the kernel's enum tcp_conntrack, named as ctrack names them
   (SYN_SENT2 for the simultaneous open). */
static const char *const tcp_states[] = {
    "NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
    "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2",
};

/* SCTP states by the kernel's enum sctp_conntrack. */
static const char *const sctp_states[] = {
    "NONE",          "CLOSED",        "COOKIE_WAIT",       "COOKIE_ECHOED",
    "ESTABLISHED",   "SHUTDOWN_SENT", "SHUTDOWN_RECD",     "SHUTDOWN_ACK_SENT",
    "HEARTBEAT_SENT",
};

/* The line being built: fields are appended with a trailing space each,
   and the last space is removed before the line is written. */
static char line[4096];
static size_t line_len;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
    /* Keep one byte for the newline; a field that does not fit is cut. */
    size_t room = sizeof(line) - 1 - line_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + line_len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        line_len += (size_t)n < room ? (size_t)n : room - 1;
}

/* One CTA_TUPLE_* block as conntrack prints it, followed by its zone (the
   kernel's CTA_TUPLE_ZONE, a zone for one direction only) when present, as
   zone-orig=N or zone-reply=N (`dir`). */
static void print_tuple(const struct nlattr *tuple, unsigned family, const char *dir)
{
    const struct nlattr *tb[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
    parse_attrs(attr_data(tuple), attr_len(tuple), tb, CTA_TUPLE_MAX);
    char src[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "";
    if (tb[CTA_TUPLE_IP]) {
        parse_attrs(attr_data(tb[CTA_TUPLE_IP]), attr_len(tb[CTA_TUPLE_IP]), ip, CTA_IP_MAX);
        int v6 = family == AF_INET6;
        const struct nlattr *s = ip[v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC];
        const struct nlattr *d = ip[v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST];
        size_t want = v6 ? 16 : 4;
        if (s && attr_len(s) >= want)
            inet_ntop(v6 ? AF_INET6 : AF_INET, attr_data(s), src, sizeof(src));
        if (d && attr_len(d) >= want)
            inet_ntop(v6 ? AF_INET6 : AF_INET, attr_data(d), dst, sizeof(dst));
    }
    emit("src=%s dst=%s ", src, dst);
    if (tb[CTA_TUPLE_PROTO]) {
        parse_attrs(attr_data(tb[CTA_TUPLE_PROTO]), attr_len(tb[CTA_TUPLE_PROTO]), pr,
                    CTA_PROTO_MAX);
        unsigned proto = (unsigned)attr_be(pr[CTA_PROTO_NUM], 1);
        unsigned sport = (unsigned)attr_be(pr[CTA_PROTO_SRC_PORT], 2);
        unsigned dport = (unsigned)attr_be(pr[CTA_PROTO_DST_PORT], 2);
        switch (proto) {
        case IPPROTO_TCP:
        case IPPROTO_UDP:
        case IPPROTO_UDPLITE:
        case IPPROTO_SCTP:
            emit("sport=%u dport=%u ", sport, dport);
            break;
        case IPPROTO_ICMP:
            emit("type=%u code=%u id=%u ", (unsigned)attr_be(pr[CTA_PROTO_ICMP_TYPE], 1),
                   (unsigned)attr_be(pr[CTA_PROTO_ICMP_CODE], 1),
                   (unsigned)attr_be(pr[CTA_PROTO_ICMP_ID], 2));
            break;
        case IPPROTO_ICMPV6:
            emit("type=%u code=%u id=%u ", (unsigned)attr_be(pr[CTA_PROTO_ICMPV6_TYPE], 1),
                   (unsigned)attr_be(pr[CTA_PROTO_ICMPV6_CODE], 1),
                   (unsigned)attr_be(pr[CTA_PROTO_ICMPV6_ID], 2));
            break;
        case IPPROTO_GRE:
            /* The GRE keys travel as the ports (PPTP call IDs, RFC 2637). */
            emit("srckey=0x%x dstkey=0x%x ", sport, dport);
            break;
        default:
            break;
        }
    }
    if (tb[CTA_TUPLE_ZONE])
        emit("zone-%s=%u ", dir, (unsigned)attr_be(tb[CTA_TUPLE_ZONE], 2));
}

static void print_counters(const struct nlattr *counters)
{
    const struct nlattr *tb[CTA_COUNTERS_MAX + 1];
    parse_attrs(attr_data(counters), attr_len(counters), tb, CTA_COUNTERS_MAX);
    emit("packets=%" PRIu64 " bytes=%" PRIu64 " ", attr_be(tb[CTA_COUNTERS_PACKETS], 8),
           attr_be(tb[CTA_COUNTERS_BYTES], 8));
}

/* The protocol state from CTA_PROTOINFO, or NULL when there is none. */
static const char *proto_state(const struct nlattr *protoinfo)
{
    const struct nlattr *tb[CTA_PROTOINFO_MAX + 1], *in[CTA_PROTOINFO_TCP_MAX + 1];
    parse_attrs(attr_data(protoinfo), attr_len(protoinfo), tb, CTA_PROTOINFO_MAX);
    if (tb[CTA_PROTOINFO_TCP]) {
        parse_attrs(attr_data(tb[CTA_PROTOINFO_TCP]), attr_len(tb[CTA_PROTOINFO_TCP]), in,
                    CTA_PROTOINFO_TCP_MAX);
        if (!in[CTA_PROTOINFO_TCP_STATE])
            return NULL;
        unsigned s = (unsigned)attr_be(in[CTA_PROTOINFO_TCP_STATE], 1);
        return s < sizeof(tcp_states) / sizeof(tcp_states[0]) ? tcp_states[s] : "UNKNOWN";
    }
    if (tb[CTA_PROTOINFO_SCTP]) {
        const struct nlattr *sc[CTA_PROTOINFO_SCTP_MAX + 1];
        parse_attrs(attr_data(tb[CTA_PROTOINFO_SCTP]), attr_len(tb[CTA_PROTOINFO_SCTP]), sc,
                    CTA_PROTOINFO_SCTP_MAX);
        if (!sc[CTA_PROTOINFO_SCTP_STATE])
            return NULL;
        unsigned s = (unsigned)attr_be(sc[CTA_PROTOINFO_SCTP_STATE], 1);
        return s < sizeof(sctp_states) / sizeof(sctp_states[0]) ? sctp_states[s] : "UNKNOWN";
    }
    return NULL;
}

/* One event line for a ctnetlink conntrack message. */
static void print_event(const struct nlmsghdr *nlh)
{
    unsigned msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
    const char *type;
    if (msg == IPCTNL_MSG_CT_NEW)
        type = nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL) ? "[NEW]" : "[UPDATE]";
    else if (msg == IPCTNL_MSG_CT_DELETE)
        type = "[DESTROY]";
    else
        return;
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nfgenmsg)))
        return;
    const struct nfgenmsg *nfg = NLMSG_DATA(nlh);
    unsigned family = nfg->nfgen_family;
    const struct nlattr *tb[CTA_MAX + 1];
    size_t off = NLMSG_LENGTH(sizeof(*nfg)) - NLMSG_HDRLEN;
    parse_attrs((const unsigned char *)NLMSG_DATA(nlh) + NLMSG_ALIGN(off),
                nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(off), tb, CTA_MAX);

    /* The timestamp as seconds and microseconds. conntrack -E -o timestamp
       pads the microseconds with spaces on the right ("%-6ld"), which reads
       as a different number; they are zero-padded here, as ctrack prints
       capture times. */
    struct timeval tv;
    gettimeofday(&tv, NULL);
    line_len = 0;
    emit("[%ld.%06ld]\t%9s ", (long)tv.tv_sec, (long)tv.tv_usec, type);

    unsigned proto = 0;
    if (tb[CTA_TUPLE_ORIG]) {
        const struct nlattr *t[CTA_TUPLE_MAX + 1], *pr[CTA_PROTO_MAX + 1];
        parse_attrs(attr_data(tb[CTA_TUPLE_ORIG]), attr_len(tb[CTA_TUPLE_ORIG]), t,
                    CTA_TUPLE_MAX);
        if (t[CTA_TUPLE_PROTO]) {
            parse_attrs(attr_data(t[CTA_TUPLE_PROTO]), attr_len(t[CTA_TUPLE_PROTO]), pr,
                        CTA_PROTO_MAX);
            proto = (unsigned)attr_be(pr[CTA_PROTO_NUM], 1);
        }
    }
    emit("%-8s %u %-8s %u ", family == AF_INET6 ? "ipv6" : family == AF_INET ? "ipv4" : "unknown",
           family, proto_name(proto), proto);
    if (tb[CTA_TIMEOUT])
        emit("%u ", (unsigned)attr_be(tb[CTA_TIMEOUT], 4));
    if (tb[CTA_PROTOINFO]) {
        const char *state = proto_state(tb[CTA_PROTOINFO]);
        if (state)
            emit("%s ", state);
    }
    uint32_t status = (uint32_t)attr_be(tb[CTA_STATUS], 4);
    if (tb[CTA_TUPLE_ORIG])
        print_tuple(tb[CTA_TUPLE_ORIG], family, "orig");
    if (tb[CTA_COUNTERS_ORIG])
        print_counters(tb[CTA_COUNTERS_ORIG]);
    if (tb[CTA_STATUS] && !(status & IPS_SEEN_REPLY))
        emit("[UNREPLIED] ");
    if (tb[CTA_TUPLE_REPLY])
        print_tuple(tb[CTA_TUPLE_REPLY], family, "reply");
    if (tb[CTA_COUNTERS_REPLY])
        print_counters(tb[CTA_COUNTERS_REPLY]);
    if (status & IPS_ASSURED)
        emit("[ASSURED] ");
    if (tb[CTA_MARK])
        emit("mark=%u ", (unsigned)attr_be(tb[CTA_MARK], 4));
    if (tb[CTA_ZONE])
        emit("zone=%u ", (unsigned)attr_be(tb[CTA_ZONE], 2));
    if (tb[CTA_HELP]) {
        const struct nlattr *h[CTA_HELP_MAX + 1];
        parse_attrs(attr_data(tb[CTA_HELP]), attr_len(tb[CTA_HELP]), h, CTA_HELP_MAX);
        if (h[CTA_HELP_NAME])
            emit("helper=%.*s ", (int)strnlen(attr_data(h[CTA_HELP_NAME]),
                                                attr_len(h[CTA_HELP_NAME])),
                   (const char *)attr_data(h[CTA_HELP_NAME]));
    }
    /* conntrack removes the separator after the last field. */
    if (line_len > 0 && line[line_len - 1] == ' ')
        line_len--;
    line[line_len++] = '\n';
    fwrite(line, 1, line_len, stdout);
}

/* Prints every event in one datagram. Returns 0, or -1 on a netlink error
   message (reported). */
static int handle(const unsigned char *buf, size_t len)
{
    for (const struct nlmsghdr *nlh = (const void *)buf; NLMSG_OK(nlh, len);
         nlh = NLMSG_NEXT(nlh, len)) {
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(nlh);
            fprintf(stderr, "ct_events: netlink error: %s\n", strerror(-e->error));
            return -1;
        }
        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK)
            print_event(nlh);
    }
    return 0;
}

static int enter_netns(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        fprintf(stderr, "ct_events: cannot enter network namespace %s: %s\n", name,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    const char *ready = NULL, *netns = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ready") && i + 1 < argc) {
            ready = argv[++i];
        } else if (!strcmp(argv[i], "--netns") && i + 1 < argc) {
            netns = argv[++i];
        } else {
            fprintf(stderr, "usage: ct_events [--ready FILE] [--netns NAME]\n");
            return 2;
        }
    }
    if (netns && enter_netns(netns) != 0)
        return 1;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) {
        fprintf(stderr, "ct_events: socket(NETLINK_NETFILTER): %s\n", strerror(errno));
        return 1;
    }
    int size = RCVBUF_BYTES;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) != 0) {
        fprintf(stderr, "ct_events: SO_RCVBUF: %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_nl sa_nl;
    memset(&sa_nl, 0, sizeof(sa_nl));
    sa_nl.nl_family = AF_NETLINK;
    sa_nl.nl_groups = 1u << (NFNLGRP_CONNTRACK_NEW - 1) | 1u << (NFNLGRP_CONNTRACK_UPDATE - 1) |
                      1u << (NFNLGRP_CONNTRACK_DESTROY - 1);
    if (bind(fd, (struct sockaddr *)&sa_nl, sizeof(sa_nl)) != 0) {
        fprintf(stderr, "ct_events: bind: %s\n", strerror(errno));
        return 1;
    }
    if (ready && touch(ready) != 0)
        return 1;

    static unsigned char buf[1 << 16];
    int draining = 0, marking = 0;
    for (;;) {
        /* Once asked to stop, read what is queued without waiting, then stop;
           once asked for a mark, likewise, then print the mark. */
        if (stop_requested)
            draining = 1;
        if (mark_requested) {
            mark_requested = 0;
            marking = 1;
        }
        if (!draining && !marking) {
            /* A short timeout, so that a signal arriving just before the
               poll still stops the loop promptly. */
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int r = poll(&p, 1, 100);
            if (r < 0 && errno != EINTR) {
                fprintf(stderr, "ct_events: poll: %s\n", strerror(errno));
                return 1;
            }
            if (r <= 0)
                continue;
        }
        ssize_t n = recv(fd, buf, sizeof(buf), draining || marking ? MSG_DONTWAIT : 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if ((draining || marking) && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (draining)
                    break;
                /* Everything queued before the mark was asked for is out. */
                printf("%s\n", MARK_LINE);
                fflush(stdout);
                marking = 0;
                if (ready && touch(ready) != 0)
                    return 1;
                continue;
            }
            if (errno == ENOBUFS) {
                fprintf(stderr, "ct_events: ENOBUFS: the kernel dropped events "
                                "(socket buffer overflow); the recording is incomplete\n");
                return 1;
            }
            fprintf(stderr, "ct_events: recv: %s\n", strerror(errno));
            return 1;
        }
        if (handle(buf, (size_t)n) != 0)
            return 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ct_events: write error\n");
        return 1;
    }
    return 0;
}
