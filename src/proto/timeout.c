/* Names and Linux's default values of the per-state timeouts, generated from
 * the one list in ctrack/conn.h. */
#include "base/compiler.h"
#include "ctrack/conn.h"

static const struct {
    const char *name;
    uint32_t seconds;
} timeouts[CT_TIMEOUT_COUNT] = {
#define CT_TIMEOUT_ROW_(code, name, seconds) [CT_TIMEOUT_##code] = {name, seconds},
    CT_TIMEOUT_LIST(CT_TIMEOUT_ROW_)
#undef CT_TIMEOUT_ROW_
};

CT_EXPORT const char *ct_timeout_name(unsigned timeout)
{
    return timeout < CT_TIMEOUT_COUNT ? timeouts[timeout].name : "unknown";
}

CT_EXPORT uint32_t ct_timeout_default(unsigned timeout)
{
    return timeout < CT_TIMEOUT_COUNT ? timeouts[timeout].seconds : 0;
}
