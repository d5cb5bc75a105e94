/*
 * ctrack/flowkey.h: packets keyed into Zeek connections, and their records
 * written when Zeek would end them.
 *
 * Usage: a struct ct_flow_keyer sits beside a connection table and turns
 * every packet that parsed, with the verdict the table gave it, into the
 * flow records of include/ctrack/flowlog.h (Zeek conn.log, ctrack's JSON),
 * one per connection as Zeek defines it. It owns a struct ct_flowlog and
 * names each Zeek connection by a slot of it:
 *
 *     struct ct_flow_keyer_config kc;
 *     ct_flow_keyer_config_init(&kc);
 *     kc.flowlog.capacity = max_connections;
 *     kc.write = my_write;             // called with every finished record
 *     kc.write_arg = my_state;
 *     struct ct_flow_keyer *k = ct_flow_keyer_create(&kc, &err);
 *     ...
 *     // as the caller's clock moves on to `now`, before that time's packets:
 *     ct_flow_keyer_advance(k, now);
 *     // after ct_process_parsed() gave verdict v to the parsed packet pkt:
 *     slot = ct_flow_keyer_packet(k, &pkt, &v, now, CT_FLOW_SLOT_NONE, 0);
 *     ...
 *     ct_flow_keyer_finish(k, last_now);   // every record still open
 *     ct_flow_keyer_destroy(k);
 *
 * Keying: Zeek's key is not conntrack's connection. Zeek makes a
 * connection of every packet, including a lone RST, a SYN-ACK first, an
 * ICMP error, neighbour discovery, all of which conntrack calls INVALID or
 * RELATED to another connection; it keys ICMP by the message type and its
 * counterpart (echo request with echo reply) where conntrack keys it by the
 * identifier; and its timers end connections that conntrack keeps (and the
 * reverse). So the keyer keeps its own index from Zeek's key (addresses,
 * ports or the ICMP type pair, protocol, and the zone) to a slot. Both
 * directions of a connection map to the same slot; the slot's first packet
 * defines the direction ORIGINAL the flowlog sees. conntrack's verdict
 * supplies the ct facts (state, TCP state, a bad transport checksum).
 *
 * Records are handed to the `write` callback as they end: when a packet
 * finds that Zeek's rules ended its connection's record (port reuse, a
 * timer that ran out), when ct_flow_keyer_advance() passes a record's
 * deadline, and at ct_flow_keyer_finish(), which writes the rest in order
 * of their first packet. Records of packets marked CT_FLOW_PKT_F_HIDDEN (a
 * GRE or IP-in-IP tunnel, which Zeek writes to tunnel.log) are kept for
 * their uid but not written. docs/flowlog.md explains the choices.
 *
 * Memory is fixed at creation: `flowlog.capacity` slots (the flowlog's and
 * the index's), an index of at least twice as many cells and a deadline
 * queue of twice as many entries. Nothing is allocated and no clock is read
 * per packet: `now` is the caller's and must not go backwards. When every
 * slot is taken, a packet of a new key is not logged and is counted
 * (slots_full).
 *
 * Thread-safety: a keyer belongs to one thread at a time, and so does the
 * table it reads conntrack's facts from (CT_FLOW_KEYER_F_CT_INFO calls
 * ct_table_lookup() on it). Separate keyers (one per worker) share nothing.
 * The write callback runs on the calling thread, inside the call that ended
 * the record; it must not call back into the keyer.
 * Ownership: the keyer owns its flowlog (ct_flow_keyer_flowlog() lends it
 * for its setters) and frees everything at ct_flow_keyer_destroy(). A
 * record passed to `write` lives only for the duration of the callback. The
 * table stays the caller's and must outlive the keyer.
 */
#ifndef CTRACK_FLOWKEY_H
#define CTRACK_FLOWKEY_H

#include <stdint.h>

#include "ctrack/flowlog.h"
#include "ctrack/packet.h"
#include "ctrack/table.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ct_flow_keyer;

/* The slot number that means "none": no parent, or a packet not logged. */
#define CT_FLOW_SLOT_NONE UINT32_MAX

enum {
    /* Attach conntrack's facts (status, mark, timeout, counters) from the
       table to TCP and UDP records whose connection is still in it when the
       record ends; JSON records print them. Needs `table`. */
    CT_FLOW_KEYER_F_CT_INFO = 1u << 0,
    CT_FLOW_KEYER_F_ALL = (1u << 1) - 1,
};

struct ct_flow_keyer_config {
    struct ct_flowlog_config flowlog; /* the records; capacity = slots (ct_flowlog_create()) */
    uint32_t flags;                   /* CT_FLOW_KEYER_F_* */
    uint32_t reserved32;              /* must be zero */
    /* Required: receives every record that is written. */
    void (*write)(void *arg, const struct ct_flow_record *rec);
    void *write_arg;
    struct ct_table *table;           /* with CT_FLOW_KEYER_F_CT_INFO; else ignored */
    uint64_t reserved[4];             /* must be zero */
};

/* Fills *cfg: ct_flowlog_config_init() for the flowlog, no flags, no writer. */
void ct_flow_keyer_config_init(struct ct_flow_keyer_config *cfg);

/*
 * Creates a keyer and its flowlog, with all memory for flowlog.capacity
 * slots. Returns NULL and sets *err (if not NULL) to -EINVAL (NULL cfg, no
 * write callback, unknown flag, a reserved field set, CT_INFO without a
 * table, or a flowlog configuration ct_flowlog_create() refuses) or
 * -ENOMEM.
 */
struct ct_flow_keyer *ct_flow_keyer_create(const struct ct_flow_keyer_config *cfg, int *err);

/* Frees the keyer and its flowlog without writing the open records. NULL
   is ignored. */
void ct_flow_keyer_destroy(struct ct_flow_keyer *k);

/* The keyer's flowlog, for ct_flowlog_set_server_port() and
   ct_flowlog_set_local_nets(); NULL for a NULL keyer. */
struct ct_flowlog *ct_flow_keyer_flowlog(struct ct_flow_keyer *k);

enum {
    /* The packet's connection is a GRE or IP-in-IP tunnel: its record keeps
       a uid for its inner connections' tunnel_parents but is not written. */
    CT_FLOW_PKT_F_HIDDEN = 1u << 0,
};

/*
 * Accounts a packet that parsed (pkt->reason NONE or L4_CHECKSUM, IPv4 or
 * IPv6) with the verdict `v` the table gave it at `now`, in the slot of its
 * Zeek key, opening the slot if the key is new. If the packet ends the
 * slot's previous record under Zeek's rules, that record is written first.
 * `parent` is the slot of the tunnel connection that carried the packet, or
 * CT_FLOW_SLOT_NONE; `flags` is CT_FLOW_PKT_F_HIDDEN or 0 (other bits are
 * ignored), taken when the key is new.
 * Returns the packet's slot, or CT_FLOW_SLOT_NONE when the packet is not
 * logged: every slot is taken (counted in slots_full), or it did not parse.
 */
uint32_t ct_flow_keyer_packet(struct ct_flow_keyer *k, const struct ct_pkt *pkt,
                              const struct ct_verdict *v, uint64_t now, uint32_t parent,
                              unsigned flags);

/* Starts loading the index cell of a packet's key into the cache, so that
   ct_flow_keyer_packet() after the table's work finds it there. */
void ct_flow_keyer_prefetch(const struct ct_flow_keyer *k, const struct ct_pkt *pkt);

/*
 * Writes and frees the records whose deadline under Zeek's timers
 * (ct_flowlog_deadline()) is at or before `now`. Call it whenever the
 * clock moves, before the packets of the new time: records then come out
 * in order of deadline. Over a longer step they come out in the order they
 * were queued, so a record whose deadline moved later since may come out
 * before one that ended earlier; each still carries its own end time.
 */
void ct_flow_keyer_advance(struct ct_flow_keyer *k, uint64_t now);

/*
 * The end of the input at `now` (the last packet's time): advances to
 * `now`, then ends every open record (CT_FLOW_END_SHUTDOWN) and writes
 * them in order of their first packet (ts, then uid), and frees every
 * slot. It allocates a buffer for the sort, so it is not for the packet
 * path. Returns 0, or -ENOMEM (the records whose deadline had passed were
 * written; the others stay open).
 */
int ct_flow_keyer_finish(struct ct_flow_keyer *k, uint64_t now);

struct ct_flow_keyer_stats {
    uint64_t written;    /* records handed to `write` */
    uint64_t slots_full; /* packets of new keys not logged: every slot was taken */
    uint32_t open;       /* slots holding a Zeek connection now */
    uint32_t capacity;   /* flowlog.capacity */
};

/* Fills *st. */
void ct_flow_keyer_stats(const struct ct_flow_keyer *k, struct ct_flow_keyer_stats *st);

#ifdef __cplusplus
}
#endif
#endif
