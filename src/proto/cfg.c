/* Conversion of a public table configuration into the trackers' settings. */
#include "ctrack/table.h"
#include "proto/proto.h"

#define CT_NS_PER_S 1000000000ull

void ct_proto_cfg_from_config(struct ct_proto_cfg *cfg, const uint32_t timeouts_s[CT_TIMEOUT_COUNT],
                              uint32_t table_flags, uint8_t tcp_max_retrans)
{
    for (unsigned i = 0; i < CT_TIMEOUT_COUNT; i++)
        cfg->timeout_ns[i] = (uint64_t)timeouts_s[i] * CT_NS_PER_S;
    /* Linux's defaults: nf_conntrack_tcp_loose = 1, be_liberal = 0,
     * ignore_invalid_rst = 0. */
    cfg->tcp_loose = (table_flags & CT_TABLE_F_TCP_NO_LOOSE) ? 0 : 1;
    cfg->tcp_liberal = (table_flags & CT_TABLE_F_TCP_LIBERAL) ? 1 : 0;
    cfg->tcp_ignore_invalid_rst = (table_flags & CT_TABLE_F_TCP_IGNORE_INVALID_RST) ? 1 : 0;
    cfg->tcp_max_retrans = tcp_max_retrans;
    for (unsigned i = 0; i < sizeof(cfg->pad); i++)
        cfg->pad[i] = 0;
}
