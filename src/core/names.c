/* Names and defaults that the public headers promise: errors, reasons,
 * states, timeouts. */
#include <errno.h>
#include <string.h>

#include "common/compiler.h"
#include "ctrack/conn.h"
#include "ctrack/error.h"
#include "ctrack/reason.h"

CT_EXPORT const char *ct_strerror(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0:
        return "success";
    case EINVAL:
        return "invalid argument";
    case ENOMEM:
        return "out of memory";
    case ENOSPC:
        return "connection table full";
    case EEXIST:
        return "already exists";
    case ENOENT:
        return "no such connection";
    case EIO:
        return "input/output error";
    case EBUSY:
        return "busy";
    case EAGAIN:
        return "try again";
    case ERANGE:
        return "value out of range";
    case ENOTSUP:
        return "not supported";
    default:
        return strerror(err);
    }
}

static const char *const reason_names[] = {
#define CT_REASON_NAME_(code, name, desc) name,
    CT_REASON_LIST(CT_REASON_NAME_)
#undef CT_REASON_NAME_
};

static const char *const reason_descs[] = {
#define CT_REASON_DESC_(code, name, desc) desc,
    CT_REASON_LIST(CT_REASON_DESC_)
#undef CT_REASON_DESC_
};

CT_EXPORT const char *ct_reason_name(unsigned reason)
{
    return reason < CT_REASON_COUNT ? reason_names[reason] : "unknown";
}

CT_EXPORT const char *ct_reason_desc(unsigned reason)
{
    return reason < CT_REASON_COUNT ? reason_descs[reason] : "unknown reason";
}

CT_EXPORT const char *ct_state_name(unsigned state)
{
    static const char *const names[] = {"new", "established", "related", "invalid", "untracked"};
    return state < CT_ARRAY_SIZE(names) ? names[state] : "unknown";
}

CT_EXPORT const char *ct_tcp_state_name(unsigned state)
{
    static const char *const names[CT_TCP_STATE_COUNT] = {
        "NONE",     "SYN_SENT",  "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
        "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2",
    };
    return state < CT_TCP_STATE_COUNT ? names[state] : "UNKNOWN";
}

CT_EXPORT const char *ct_sctp_state_name(unsigned state)
{
    static const char *const names[CT_SCTP_STATE_COUNT] = {
        "NONE",          "CLOSED",        "COOKIE_WAIT",       "COOKIE_ECHOED",  "ESTABLISHED",
        "SHUTDOWN_SENT", "SHUTDOWN_RECD", "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT",
    };
    return state < CT_SCTP_STATE_COUNT ? names[state] : "UNKNOWN";
}

CT_EXPORT const char *ct_proto_state_name(uint8_t proto, unsigned state)
{
    if (proto == 6)
        return ct_tcp_state_name(state);
    if (proto == 132)
        return ct_sctp_state_name(state);
    return NULL;
}

static const struct {
    const char *name;
    uint32_t seconds;
} timeouts[CT_TIMEOUT_COUNT] = {
    [CT_TIMEOUT_TCP_SYN_SENT] = {"tcp_syn_sent", 120},
    [CT_TIMEOUT_TCP_SYN_RECV] = {"tcp_syn_recv", 60},
    [CT_TIMEOUT_TCP_ESTABLISHED] = {"tcp_established", 432000},
    [CT_TIMEOUT_TCP_FIN_WAIT] = {"tcp_fin_wait", 120},
    [CT_TIMEOUT_TCP_CLOSE_WAIT] = {"tcp_close_wait", 60},
    [CT_TIMEOUT_TCP_LAST_ACK] = {"tcp_last_ack", 30},
    [CT_TIMEOUT_TCP_TIME_WAIT] = {"tcp_time_wait", 120},
    [CT_TIMEOUT_TCP_CLOSE] = {"tcp_close", 10},
    [CT_TIMEOUT_TCP_SYN_SENT2] = {"tcp_syn_sent2", 120},
    [CT_TIMEOUT_TCP_RETRANS] = {"tcp_max_retrans", 300},
    [CT_TIMEOUT_TCP_UNACK] = {"tcp_unacknowledged", 300},
    [CT_TIMEOUT_UDP] = {"udp", 30},
    [CT_TIMEOUT_UDP_STREAM] = {"udp_stream", 120},
    [CT_TIMEOUT_ICMP] = {"icmp", 30},
    [CT_TIMEOUT_GENERIC] = {"generic", 600},
    [CT_TIMEOUT_GRE] = {"gre", 30},
    [CT_TIMEOUT_GRE_STREAM] = {"gre_stream", 180},
    [CT_TIMEOUT_SCTP_CLOSED] = {"sctp_closed", 10},
    [CT_TIMEOUT_SCTP_COOKIE_WAIT] = {"sctp_cookie_wait", 3},
    [CT_TIMEOUT_SCTP_COOKIE_ECHOED] = {"sctp_cookie_echoed", 3},
    [CT_TIMEOUT_SCTP_ESTABLISHED] = {"sctp_established", 210},
    [CT_TIMEOUT_SCTP_SHUTDOWN_SENT] = {"sctp_shutdown_sent", 3},
    [CT_TIMEOUT_SCTP_SHUTDOWN_RECD] = {"sctp_shutdown_recd", 3},
    [CT_TIMEOUT_SCTP_SHUTDOWN_ACK_SENT] = {"sctp_shutdown_ack_sent", 3},
    [CT_TIMEOUT_SCTP_HEARTBEAT_SENT] = {"sctp_heartbeat_sent", 30},
};

CT_EXPORT const char *ct_timeout_name(unsigned timeout)
{
    return timeout < CT_TIMEOUT_COUNT ? timeouts[timeout].name : "unknown";
}

CT_EXPORT uint32_t ct_timeout_default(unsigned timeout)
{
    return timeout < CT_TIMEOUT_COUNT ? timeouts[timeout].seconds : 0;
}
