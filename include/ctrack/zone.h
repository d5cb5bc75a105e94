/*
 * ctrack/zone.h: zones (Linux's conntrack zones).
 *
 * A zone is a 16-bit number that is part of every tuple (struct ct_tuple's
 * `zone`): the same addresses and ports in two zones are two connections,
 * which lets one table serve several tenants or interfaces whose address
 * spaces overlap. The zone of a packet is the caller's choice, set in
 * struct ct_frame (or with ct_pkt_set_zone() after parsing); this header
 * derives one from VLAN tags and bounds how many connections a zone holds.
 *
 * Usage: ct_zone_set_limit() once per limited zone, at any time;
 * ct_zone_count() to read it back.
 * Thread-safety: as the table's other configuration calls: not concurrently
 * with packet processing on the same table. ct_zone_from_vlan() is reentrant.
 * Ownership: the zone counts belong to the table and are freed with it.
 */
#ifndef CTRACK_ZONE_H
#define CTRACK_ZONE_H

#include <stdint.h>

#include "ctrack/packet.h"
#include "ctrack/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Sets the most connections zone `zone` may hold (counted by the zone of the
 * original direction); 0 means unlimited, the default. A NEW packet that would
 * create a connection in a zone at its limit is INVALID with reason
 * ZONE_LIMIT (no early drop is tried). Lowering a limit below the zone's
 * count ends nothing; it only refuses new connections until the count falls.
 * The first call allocates the zone table (8 bytes per zone, 512 KiB of
 * address space, only touched pages cost memory) and counts the connections
 * already held. Returns 0, -EINVAL if table is NULL, -ENOMEM, or -ENOTSUP on a shared
 * table (its counts would need atomics on every insert).
 */
int ct_zone_set_limit(struct ct_table *table, uint16_t zone, uint32_t max);

/*
 * Reads a zone's limit (0: unlimited) and, when a limit was ever set on the
 * table, its count of connections. Either pointer may be NULL. Returns 0;
 * -ENOENT when no zone limit was ever set (counts are not kept then: *count
 * is set to 0), or -EINVAL if table is NULL.
 */
int ct_zone_count(const struct ct_table *table, uint16_t zone, uint32_t *count,
                  uint32_t *limit);

/*
 * A zone derived from the packet's VLAN tag stack, for callers that want
 * the same addresses and ports on different VLANs to be different
 * connections. Tags with VLAN ID 0 (priority tags, IEEE 802.1Q) are
 * ignored. The mapping:
 *   - no tag:          0;
 *   - one tag:         its VLAN ID, 1 to 4095 (exact, no collisions);
 *   - two or more:     0x1000 + (h % 0xf000), 4096 to 65535, where h is the
 *                      32-bit FNV-1a hash of the IDs as 16-bit big-endian
 *                      values, outermost first.
 * Two 12-bit IDs do not fit in 16 bits, so two different stacks of two or
 * more tags can share a zone (about one pair in 61440); they never share
 * one with an untagged or single-tagged packet. Callers that need exact
 * stacks should map them to zones themselves.
 */
uint16_t ct_zone_from_vlan(const struct ct_pkt *pkt);

#ifdef __cplusplus
}
#endif

#endif
