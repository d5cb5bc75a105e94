/*
 * ctrack/error.h: the one error convention of libctrack.
 *
 * Usage: functions that can fail return 0 (or a count) on success and a
 * negative errno on failure (-EINVAL, -ENOMEM, -ENOSPC, -EEXIST, -ENOENT,
 * ...). Constructors return NULL and store the negative errno in an
 * out-parameter. ct_strerror() turns either sign into a message.
 *
 * Thread-safety: ct_strerror() is safe from any thread.
 * Ownership: the returned string is static; do not free it.
 */
#ifndef CTRACK_ERROR_H
#define CTRACK_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Returns a static description of err (a negative or positive errno). */
const char *ct_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
