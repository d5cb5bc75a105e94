/* Names and descriptions of the verdict reasons, generated from the one
 * list in ctrack/reason.h. */
#include "base/compiler.h"
#include "ctrack/reason.h"

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
