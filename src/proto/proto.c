/* The trackers' registry: what the packet path and the outputs ask of a
 * protocol by number. */
#include "base/compiler.h"
#include "base/inet.h"
#include "proto/proto.h"

CT_EXPORT const char *ct_proto_state_name(uint8_t proto, unsigned state)
{
    if (proto == CT_IPPROTO_TCP)
        return ct_tcp_state_name(state);
    if (proto == CT_IPPROTO_SCTP)
        return ct_sctp_state_name(state);
    return NULL;
}
