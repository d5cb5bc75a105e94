/* The trackers' registry seen from outside: what the outputs ask of a
 * protocol by number, generated from CT_PROTO_LIST (proto/proto.h). */
#include "base/compiler.h"
#include "proto/proto.h"

/* The state-name function of each protocol number, NULL where none. */
static const char *(*const state_names[256])(unsigned state) = {
#define CT_PROTO_STATE_NAME_(number, tracker, fam, state_name) [number] = state_name,
    CT_PROTO_LIST(CT_PROTO_STATE_NAME_)
#undef CT_PROTO_STATE_NAME_
};

CT_EXPORT const char *ct_proto_state_name(uint8_t proto, unsigned state)
{
    const char *(*name)(unsigned) = state_names[proto];
    return name ? name(state) : NULL;
}
