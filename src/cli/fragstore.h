/*
 * cli/fragstore.h: the fragments `ctrack read --write` holds back until
 * their datagram completes (fragstore.c).
 *
 * Linux forwards a reassembled datagram, not its fragments: a datagram
 * that never completes never leaves, and one that does leaves cut again at
 * output (docs/nat.md, "Fragments"). So with --write, every captured
 * fragment the reassembler keeps is kept here too, bytes and record header,
 * and handed back, in offset order, when the reassembler completes its
 * datagram; the pipeline then translates them (ct_nat_fragment()) and
 * writes them where the completing fragment was.
 *
 *     struct cli_fragstore *s = cli_fragstore_create(&defrag_config);
 *     rc = cli_fragstore_add(s, defrag, &pkt, now, &rec, &whole, &reason, &done);
 *     (rc as ct_defrag_add(); with CT_DEFRAG_DONE, `done` lists the fragments)
 *     cli_fragstore_release(s, done);
 *     cli_fragstore_destroy(s);
 *
 * The store follows the reassembler datagram for datagram: it wraps
 * ct_defrag_add() and, from its result and its counters, drops what the
 * reassembler dropped (an overlap, an invalid fragment, too many
 * fragments), times out what it timed out (the same timeouts, from the
 * same first fragment) and evicts the oldest datagrams as many times as it
 * evicted. Its memory is bounded: at most the reassembler's max_datagrams
 * datagrams and twice its max_bytes of fragment bytes. When a fragment
 * does not fit, the oldest other datagrams' fragments are dropped to make
 * room, as the reassembler makes room; such a datagram, when it completes,
 * is tracked but not written (counted as lost), as if it had not completed.
 *
 * Thread-safety: a store belongs to the pipeline's thread. Ownership: the
 * store copies the fragment's bytes; a list it hands back is the caller's
 * until cli_fragstore_release().
 */
#ifndef CT_CLI_FRAGSTORE_H
#define CT_CLI_FRAGSTORE_H

#include <stdint.h>

#include "ctrack/defrag.h"
#include "ctrack/packet.h"

/* One fragment kept, with what --write needs to write it. */
struct cli_frag {
    struct cli_frag *next;
    uint64_t ts; /* capture time as recorded */
    uint32_t caplen;
    uint32_t wire_len;
    uint32_t off;   /* fragment offset in bytes */
    uint16_t link;  /* enum ct_link of the bytes */
    uint8_t data[]; /* caplen bytes */
};

/* The record header of the fragment handed in. */
struct cli_frag_rec {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wire_len;
    uint64_t ts;
    uint16_t link;
};

struct cli_fragstore_stats {
    uint64_t kept;        /* fragments kept */
    uint64_t handed;      /* fragments handed back with their complete datagram */
    uint64_t lost;        /* fragments dropped for room (their datagrams are not written) */
    uint64_t lost_dgrams; /* completed datagrams not written because of that */
};

struct cli_fragstore;

/* A store sized after the reassembler's configuration; NULL when out of
   memory. */
struct cli_fragstore *cli_fragstore_create(const struct ct_defrag_config *dc);

/* Frees the store and every fragment it keeps (not lists handed out). */
void cli_fragstore_destroy(struct cli_fragstore *s);

/*
 * ct_defrag_add(d, pkt, now, out, reason), keeping the fragment `rec`
 * (whose parse is `pkt`) while the reassembler holds it. Every fragment
 * the reassembler gets must come through here, so that the store sees
 * every datagram it evicts; `rec` NULL follows a fragment without keeping
 * it (one inside a tunnel, which leaves inside its outer packet). Returns what
 * ct_defrag_add() returns; with CT_DEFRAG_DONE, *done is the datagram's
 * fragments in offset order, the one handed in included, or NULL when the
 * store had dropped some of them for room (or could not copy this one:
 * out of memory counts as lost too). *done is NULL otherwise.
 */
int cli_fragstore_add(struct cli_fragstore *s, struct ct_defrag *d, const struct ct_pkt *pkt,
                      uint64_t now, const struct cli_frag_rec *rec, struct ct_frame *out,
                      uint16_t *reason, struct cli_frag **done);

/* Frees a list cli_fragstore_add() handed back. NULL is a no-op. */
void cli_fragstore_release(struct cli_fragstore *s, struct cli_frag *list);

/* Copies the counters. */
void cli_fragstore_stats(const struct cli_fragstore *s, struct cli_fragstore_stats *st);

#endif
