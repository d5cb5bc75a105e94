/*
 * cli/pipeline.h: one worker's packet pipeline (pipeline.c).
 *
 * A pipeline owns everything one stream of frames needs: a connection
 * table, the reassembler, the flow keyer (flow records), the burst being
 * gathered and the output writers (table lines, trace lines, flow records,
 * the flow log of ended connections). It keeps no static or global state,
 * so that `ctrack live` can run one per worker thread, each fed by its own
 * source (source.h).
 *
 *     struct cli_pipeline *p = cli_pipeline_create(&opts, stdout);
 *     while (cli_source_next(src, &frame) == 1)
 *         if (cli_pipeline_feed(p, &frame) < 0)
 *             break;
 *     cli_pipeline_end_input(p);   // last burst, expiry at the last time
 *     cli_pipeline_finish(p);      // the table, flow log or records
 *     cli_pipeline_summary(p, name);
 *     cli_pipeline_destroy(p);
 *
 * Errors are reported with cli_error() where they happen; the functions
 * return -1 after one. Thread-safety: a pipeline belongs to one thread.
 * Ownership: the pipeline writes to `out` but does not own it; `opts` must
 * outlive the pipeline.
 */
#ifndef CT_CLI_PIPELINE_H
#define CT_CLI_PIPELINE_H

#include <stdio.h>

#include "cli/cli.h"
#include "cli/sink.h"
#include "cli/source.h"

struct cli_pipeline;

/* Creates the table, the reassembler and the flow keyer the options ask
   for. NULL after reporting why (out of memory, a table too large). */
struct cli_pipeline *cli_pipeline_create(const struct cli_read_opts *opts, FILE *out);

/*
 * Processes one frame at its timestamp: hands over the burst of the
 * previous timestamp when the time moves on, runs expiry, and adds the
 * frame (with its reassembled datagram and tunnelled packets) to the burst.
 * Returns 0, or -1 after reporting an error (out of memory); the pipeline
 * then takes no more frames, but can still be ended and finished.
 */
int cli_pipeline_feed(struct cli_pipeline *p, const struct cli_frame *f);

/*
 * The end of the input: hands over the last burst and expires, without a
 * budget, what has timed out by the last frame's time. Returns 0, or -1
 * after reporting an error.
 */
int cli_pipeline_end_input(struct cli_pipeline *p);

/*
 * Writes what the options ask for at the end: the connections still in the
 * table, the flow log of every connection (--at-end drain), or the open
 * flow records (and the Zeek footer). Returns 0, or -1 after reporting an
 * error (out of memory: the output is incomplete).
 */
int cli_pipeline_finish(struct cli_pipeline *p);

/* The summary on stderr (unless --quiet) and the counters (--stats);
   `name` names the input. */
void cli_pipeline_summary(const struct cli_pipeline *p, const char *name);

/* Frees everything. NULL is ignored. */
void cli_pipeline_destroy(struct cli_pipeline *p);

/* --load-state: the snapshot into the new, empty table, whose clock starts
 * at the snapshot's time. 0, or -1 after one line on standard error. */
int cli_pipeline_load_state(struct cli_pipeline *p, const char *path);

/* --save-state: the table as it stands after cli_pipeline_end_input(),
 * written atomically. 0, or -1 after one line on standard error. */
int cli_pipeline_save_state(struct cli_pipeline *p, const char *path);

/*
 * --write: from the next frame on, every captured packet that leaves (all
 * but those whose verdict has CT_VERDICT_DROP) goes to `sink`, translated
 * where the table's NAT translated it, in input order, with its own
 * timestamp and wire length. Call it before the first frame. The pipeline
 * owns the sink from then on: cli_pipeline_commit_write() or
 * cli_pipeline_destroy() ends it.
 */
void cli_pipeline_write_to(struct cli_pipeline *p, struct cli_sink *sink);

/* --write: after cli_pipeline_end_input(), makes the sink's file the
 * target (cli_sink_commit()). 0, or -1 after one line on standard error. */
int cli_pipeline_commit_write(struct cli_pipeline *p);

#endif
