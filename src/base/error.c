/* ct_strerror(): the words for the negative errno values the library returns
 * (ctrack/error.h). */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "base/compiler.h"
#include "ctrack/error.h"

CT_EXPORT const char *ct_strerror(int err)
{
    /* INT_MIN cannot be negated (and is no errno): say so instead. */
    if (err == INT_MIN)
        return "unknown error";
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
