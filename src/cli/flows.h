/*
 * cli/flows.h: Zeek conn.log flow records for `ctrack read` (flows.c).
 *
 * The packet loop hands every parsed packet with conntrack's verdict to
 * cli_flows_packet(); records are written through `out` when they end under
 * Zeek's rules (cli_flows_advance() as the capture's clock moves) and at
 * the end of the capture (cli_flows_finish()). docs/flowlog.md describes
 * the keying and the records.
 */
#ifndef CT_CLI_FLOWS_H
#define CT_CLI_FLOWS_H

#include <stdint.h>

#include "ctrack/ctrack.h"
#include "ctrack/flowlog.h"

/* Slot number that means "none" (no parent, or the packet was not logged). */
#define CLI_FLOW_NONE UINT32_MAX

/* Where records go. */
struct cli_flow_out {
    void (*write)(void *arg, const struct ct_flow_record *rec);
    void *arg;
    int json; /* attach conntrack's facts (JSON records carry them) */
};

struct cli_flows;

/* Creates the index and flowlog for cfg->capacity slots; NULL and *err. */
struct cli_flows *cli_flows_create(const struct ct_flowlog_config *cfg, struct ct_table *table,
                                   const struct cli_flow_out *out, int *err);
void cli_flows_destroy(struct cli_flows *f);

/* The flowlog, for its setters (server ports, local networks). */
struct ct_flowlog *cli_flows_log(struct cli_flows *f);

/*
 * Accounts a packet that parsed (reason NONE) with its verdict. `parent`
 * is the slot of the tunnel connection that carried it, or CLI_FLOW_NONE;
 * `hidden` marks a tunnel connection that is not written (GRE, IP-in-IP).
 * Returns the packet's slot, or CLI_FLOW_NONE when no slot was free.
 */
uint32_t cli_flows_packet(struct cli_flows *f, const struct ct_pkt *pkt,
                          const struct ct_verdict *v, uint64_t now, uint32_t parent, int hidden);

/* Starts loading the index cell of a packet's key, so that the lookup in
   cli_flows_packet() after the table's work finds it in the cache. */
void cli_flows_prefetch(const struct cli_flows *f, const struct ct_pkt *pkt);

/* Writes and frees the records whose Zeek deadline is at or before now. */
void cli_flows_advance(struct cli_flows *f, uint64_t now);

/* Ends every record at `now` (the last packet's time), in order of ts. */
int cli_flows_finish(struct cli_flows *f, uint64_t now);

uint64_t cli_flows_written(const struct cli_flows *f);
uint64_t cli_flows_slots_full(const struct cli_flows *f);

#endif
