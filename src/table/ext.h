/*
 * Per-connection extensions: side arrays indexed by connection id.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * What. A module that needs state per connection (NAT's reply tuple and
 * binding, a TCP stream's reassembly buffer, labels, event masks) registers
 * an extension of a fixed size and alignment with the table before the
 * table sees its first packet, and gets an extension id. From then on every
 * connection has one zeroed slot of that extension, reached in constant
 * time from its connection id (pool index plus the family bit, table.h):
 *
 *     slot = area[ext].base[family] + pool index * area[ext].stride
 *
 * One area per extension and family, each an anonymous MAP_NORESERVE
 * mapping of pool capacity * stride bytes (the pool's capacity, i.e.
 * max_connections plus the entries a call may retire and, for shared
 * tables, the spare and magazine entries: every id a connection can have),
 * so only the pages of slots in use cost memory, as with the pools.
 *
 * Anchor: Linux's nf_ct_ext (net/netfilter/nf_conntrack_extend.c) gives
 * each conntrack a variable area of registered extensions (NAT, helper,
 * accounting, labels, ...), allocated or grown with krealloc() when an
 * extension is added to a connection and found through an offset table in
 * the area's header. ctrack takes the registry and the "zeroed when the
 * connection is created" contract, but not the in-entry area:
 *
 *   - The entry has a cache-line budget (table/conn.h): an established
 *     IPv4 packet touches exactly the two lines of its 96- or 128-byte
 *     entry, and every byte of them is spoken for. Growing the entry by
 *     even one 8-byte extension pointer would take the default IPv4 entry
 *     (with counters) from 128 to 160 bytes and a third line, and the
 *     96-byte one to 128 (strides are multiples of 32), for every table,
 *     including the monitors that never use NAT. A side array costs a
 *     table that registers nothing no byte and no instruction on the
 *     packet path: only entry allocation looks at `t->ext`, and only to
 *     see that it is NULL.
 *   - The packet path never allocates (DESIGN.md), so extensions cannot be
 *     attached on demand as Linux does; sizing every slot up front from
 *     the pool's capacity is what the pools already do.
 *   - The slot's address follows from the id alone, without reading the
 *     entry first, so a user such as NAT can prefetch it in the burst's
 *     second stage together with the entry.
 * What it costs: one more line touched per packet for a module that reads
 * its slot, and virtual address space of capacity * stride per extension
 * and family (only touched pages are backed).
 *
 * Lifecycle. Slots are zeroed when the entry is handed out for a new
 * connection (ct_table_conn_alloc() in table.c calls ct_table_ext_zero()),
 * so a reused id never shows the previous connection's state, whether it
 * came from the free list, a shared table's magazine or the never-used
 * tail of the pool. Nothing is done when a connection ends: a module that must
 * release something hooks the end itself (the destroy callback today,
 * events later).
 *
 * Registration is closed once the table has handed out an entry (-EBUSY):
 * a slot of a connection created before the registration would not have
 * been zeroed at creation, and a module could not tell. Register from the
 * thread that created the table, before any other thread uses it.
 *
 * Thread-safety: registration as above; ct_table_ext_get() reads only
 * what registration wrote, so any thread may call it for a connection it
 * may touch (a shared table's connection under its lock, or the thread's
 * own verdict's handle). The slot's contents are the module's to guard.
 */
#ifndef CT_TABLE_EXT_H
#define CT_TABLE_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "table/table.h"

/* The most extensions one table takes (Linux has about ten kinds). */
#define CT_EXT_MAX 8
/* The largest slot and alignment: a page, the alignment of the mappings. */
#define CT_EXT_SIZE_MAX 4096u

/* One extension's side arrays. */
struct ct_ext_area {
    uint8_t *base[2];  /* slots of IPv4 ([0]) and IPv6 ([1]) connection ids */
    size_t map_len;    /* bytes of each family's mapping */
    uint32_t stride;   /* the size rounded up to the alignment */
    uint32_t size;     /* bytes zeroed per new connection */
};

/* The table's extensions (t->ext; NULL until the first registration). */
struct ct_ext_set {
    uint32_t n; /* registered, ids 0 .. n-1 */
    struct ct_ext_area area[CT_EXT_MAX];
};

/*
 * Registers an extension of `size` bytes aligned to `align` (a power of
 * two) for every connection of t. Returns its id (0 to CT_EXT_MAX - 1), or:
 *   -EINVAL  t is NULL, size is 0 or above CT_EXT_SIZE_MAX, or align is
 *            not a power of two up to CT_EXT_SIZE_MAX;
 *   -ENOSPC  CT_EXT_MAX extensions are registered already;
 *   -EBUSY   the table has handed out a connection entry;
 *   -ENOMEM  the side arrays could not be mapped.
 */
int ct_table_ext_register(struct ct_table *t, size_t size, size_t align);

/*
 * The slot of extension `ext_id` of connection `conn_id` (ct_table_conn_id()).
 * ext_id must be an id ct_table_ext_register() returned for t, and conn_id
 * an id of t's pools; neither is checked (the packet path's callers hold
 * both from the table itself).
 */
static inline void *ct_table_ext_get(const struct ct_table *t, uint32_t conn_id, unsigned ext_id)
{
    const struct ct_ext_area *a = &t->ext->area[ext_id];
    return a->base[(conn_id & CT_ID_V6) != 0] + (size_t)(conn_id & (CT_ID_V6 - 1)) * a->stride;
}

/* Zeroes every extension slot of conn_id (for a new connection). */
void ct_table_ext_zero(const struct ct_table *t, uint32_t conn_id);

/* Bytes mapped for extensions (ct_table_stats().memory_bytes). */
size_t ct_table_ext_bytes(const struct ct_table *t);

/* Unmaps every side array (ct_table_destroy()). NULL t->ext is ignored. */
void ct_table_ext_destroy(struct ct_table *t);

#endif
