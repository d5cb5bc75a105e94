/*
 * Finding a live connection by key in either concurrency mode, with seed
 * 001's reaping of an expired connection met on the way: the shared table's
 * locked find (the packet path's, and ct_table_lookup()'s) and
 * ct_table_lookup(), one tuple looked up outside the packet path (ctrack/
 * table.h). A table of one thread finds with ct_table_find_live()
 * (index.h).
 */
#include <string.h>

#include "base/compiler.h"
#include "events/events.h"
#include "ctrack/table.h"
#include "table/index.h"
#include "table/shared.h"
#include "table/table.h"

struct ct_conn *ct_shared_find_live_locked(struct ct_table *t, const void *k, unsigned v6,
                                           uint64_t h, uint64_t now, unsigned *dir)
{
    struct ct_conn *c = ct_shared_find(t, k, v6, h, dir);
    if (!c)
        return NULL;
    ct_conn_lock(c);
    if ((c->status & (CT_STATUS_CONFIRMED | CT_STATUS_DYING)) != CT_STATUS_CONFIRMED) {
        ct_conn_unlock(c);
        return NULL;
    }
    if (CT_UNLIKELY(ct_table_conn_expires(t, c) <= now)) {
        CT_STAT_INC(t, expired_inline);
        ct_table_conn_remove(t, c, CT_RM_EXPIRED);
        ct_conn_unlock(c);
        return NULL;
    }
    return c;
}
CT_EXPORT struct ct_conn *ct_table_lookup(struct ct_table *table, const struct ct_tuple *tuple,
                                          uint64_t now, enum ct_dir *dir)
{
    struct ct_key4 k4;
    struct ct_key6 k6;
    const void *key;
    uint64_t hash;
    unsigned v6, d = 0;
    if (!table || !tuple)
        return NULL;
    if (tuple->l3 == CT_L3_IPV4) {
        v6 = 0;
        ct_key4_from_tuple(&k4, tuple);
        key = &k4;
        hash = ct_table_hash4(table, &k4);
    } else if (tuple->l3 == CT_L3_IPV6) {
        v6 = 1;
        memcpy(&k6, tuple, sizeof(k6));
        key = &k6;
        hash = ct_table_hash6(table, &k6);
    } else {
        return NULL;
    }
    struct ct_conn *c;
    if (table->sh) {
        if (!ct_shared_enter(table))
            return NULL;
        __atomic_store_n(&table->clock, now, __ATOMIC_RELAXED);
        c = ct_shared_find_live_locked(table, key, v6, hash, now, &d);
        if (c)
            ct_conn_unlock(c);
    } else {
        table->clock = now;
        c = ct_table_find_live(table, key, v6, hash, ct_table_bucket_of(table, hash), now, &d);
        ct_event_call_end(table);
    }
    if (c && dir)
        *dir = d ? CT_DIR_REPLY : CT_DIR_ORIGINAL;
    return c;
}
