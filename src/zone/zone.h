/*
 * zone/zone.h: zones inside the library (seed 003).
 *
 * A zone is a 16-bit number in every key (ctrack/tuple.h): the same tuple in
 * two zones is two connections. The table keeps, once a limit is set, one
 * count and limit per zone in a lazily zeroed 65536-slot array (256 KiB of
 * address space, a page of memory per 512 zones in use); the count is of a
 * connection's original-direction zone, as Linux's nf_conncount per zone.
 * Zones chosen from a VLAN tag are derived here too (ct_zone_from_vlan()).
 */
#ifndef CT_ZONE_ZONE_H
#define CT_ZONE_ZONE_H

#include <stdint.h>

#include "base/compiler.h"
#include "table/conn.h"

/* Per-zone limit and count (allocated on the first ct_zone_set_limit()). */
struct ct_zone_slot {
    uint32_t count; /* connections whose original direction is in the zone */
    uint32_t limit; /* 0: unlimited */
};
#define CT_ZONES 65536u

/* Whether zone `zone` is at its limit (NULL zones: no limits set). */
static inline int ct_zone_full(const struct ct_zone_slot *zones, uint16_t zone)
{
    if (CT_LIKELY(zones == NULL))
        return 0;
    const struct ct_zone_slot *z = &zones[zone];
    return z->limit != 0 && z->count >= z->limit;
}

/* The zone a connection is counted in: its original direction's. */
static inline uint16_t ct_zone_of_conn(const struct ct_conn *c)
{
    struct ct_conn *m = (struct ct_conn *)c; /* the key accessors are not const */
    return ct_conn_is_v6(m) ? ct_conn_key6(m)->zone : ct_conn_key4(m)->zone;
}

/* Counts a connection into, or out of, its zone (no-op without limits). */
static inline void ct_zone_count_add(struct ct_zone_slot *zones, const struct ct_conn *c)
{
    if (zones)
        zones[ct_zone_of_conn(c)].count++;
}

static inline void ct_zone_count_sub(struct ct_zone_slot *zones, const struct ct_conn *c)
{
    if (zones)
        zones[ct_zone_of_conn(c)].count--;
}

#endif
