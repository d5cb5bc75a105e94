/*
 * Zones (seed 003): per-zone connection limits and counts. The zone is part
 * of every key (ctrack/tuple.h); its count is kept by the table on insert
 * and removal once a limit is set.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

#include "base/compiler.h"
#include "ctrack/zone.h"
#include "table/table.h"

static int count_zone(struct ct_conn *c, void *arg)
{
    struct ct_zone_slot *zones = arg;
    zones[ct_zone_of_conn(c)].count++;
    return 0;
}

CT_EXPORT int ct_zone_set_limit(struct ct_table *t, uint16_t zone, uint32_t max)
{
    if (t && t->sh)
        return -ENOTSUP; /* the counts would need atomics on every insert */
    if (!t)
        return -EINVAL;
    if (!t->zones) {
        /* Zeroed on demand by the kernel: only zones in use cost a page. */
        void *p = mmap(NULL, CT_ZONES * sizeof(struct ct_zone_slot), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return -ENOMEM;
        ct_table_foreach(t, count_zone, p);
        t->zones = p;
    }
    t->zones[zone].limit = max;
    return 0;
}

CT_EXPORT int ct_zone_count(const struct ct_table *t, uint16_t zone, uint32_t *count,
                            uint32_t *limit)
{
    if (!t)
        return -EINVAL;
    if (!t->zones) {
        if (count)
            *count = 0;
        if (limit)
            *limit = 0;
        return -ENOENT;
    }
    if (count)
        *count = t->zones[zone].count;
    if (limit)
        *limit = t->zones[zone].limit;
    return 0;
}

/* ---- zones from the packet ---------------------------------------------------------- */

CT_EXPORT uint16_t ct_zone_from_vlan(const struct ct_pkt *pkt)
{
    uint16_t ids[CT_PKT_MAX_VLANS];
    unsigned n = 0;
    for (unsigned i = 0; i < pkt->nvlan && i < CT_PKT_MAX_VLANS; i++)
        if (pkt->vlan[i] & 0x0fffu)
            ids[n++] = pkt->vlan[i] & 0x0fffu;
    if (n == 0)
        return 0;
    if (n == 1)
        return ids[0];
    uint32_t h = 2166136261u; /* FNV-1a, 32-bit offset basis */
    for (unsigned i = 0; i < n; i++) {
        h = (h ^ (uint32_t)(ids[i] >> 8)) * 16777619u;
        h = (h ^ (uint32_t)(ids[i] & 0xffu)) * 16777619u;
    }
    return (uint16_t)(0x1000u + h % 0xf000u);
}
