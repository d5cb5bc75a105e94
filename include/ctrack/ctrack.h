/*
 * ctrack/ctrack.h: everything libctrack offers, in one include.
 *
 * libctrack is a userspace connection tracker: hand it packets with the time
 * they arrived, and it says which connection each belongs to, in which
 * direction and in which state, following Linux nf_conntrack's rules.
 * See each header for usage, thread-safety and ownership.
 */
#ifndef CTRACK_CTRACK_H
#define CTRACK_CTRACK_H

#include "ctrack/conn.h"
#include "ctrack/defrag.h"
#include "ctrack/error.h"
#include "ctrack/events.h"
#include "ctrack/expiry.h"
#include "ctrack/flowkey.h"
#include "ctrack/flowlog.h"
#include "ctrack/helper.h"
#include "ctrack/nat.h"
#include "ctrack/packet.h"
#include "ctrack/reason.h"
#include "ctrack/rules.h"
#include "ctrack/snapshot.h"
#include "ctrack/table.h"
#include "ctrack/template.h"
#include "ctrack/tuple.h"
#include "ctrack/zone.h"

#define CTRACK_VERSION "0.1.0"

#endif
