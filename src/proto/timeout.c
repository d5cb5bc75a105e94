/* Names and Linux's default values of the per-state timeouts (ctrack/conn.h). */
#include "base/compiler.h"
#include "ctrack/conn.h"

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
