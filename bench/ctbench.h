/*
 * bench/ctbench.h: pieces of ctbench shared between its files.
 */
#ifndef CTBENCH_CTBENCH_H
#define CTBENCH_CTBENCH_H

#include <stdint.h>

#include "ctrack/ctrack.h"
#include "traffic.h"

/*
 * The clock of one worker. Every worker paces its own traffic with its own
 * clock, `now` advancing by a step per burst, as if it had a table of its
 * own. A table has one clock however many threads call it (ctrack/table.h),
 * so workers sharing a table hand it the latest time any of them has
 * reached (`shared`, an atomic maximum) rather than their own.
 *
 * Sharing one clock needs the workers to keep pace: the clock is virtual
 * and runs about a million times faster than a real one, so a worker that
 * the system deschedules for a millisecond, or one that simply runs faster,
 * would otherwise drag the table minutes of time ahead of the others'
 * traffic, and their half-open or idle connections would time out. So a
 * worker whose own clock is more than a small lag ahead of another's waits
 * for it (ctb_clock_wait()), a phase starts only once every worker has
 * started it (ctb_clock_start()), and a worker that stops calling the table
 * (ctb_clock_leave()) is no longer waited for.
 */
struct ctb_lane {
    uint64_t at; /* atomic: the worker's own clock (its latest burst), UINT64_MAX
                  * while it is not calling the table */
    uint8_t pad[56];
};

struct ctb_clock {
    uint64_t now;           /* own clock: the time of the next burst */
    uint64_t *shared;       /* atomic: the latest time of all workers sharing the table, or NULL */
    struct ctb_lane *lanes; /* shared: one per worker */
    unsigned nlanes, self;
    uint64_t bound;         /* shared: own times below this need no look at the others */
    unsigned *gate;         /* atomic: shared: workers that passed a start gate, in all */
    unsigned gates;         /* start gates this worker passed */
};

void ctb_clock_start(struct ctb_clock *c);
void ctb_clock_wait(struct ctb_clock *c, uint64_t own, uint64_t dt);
void ctb_clock_leave(struct ctb_clock *c);

/* The time to hand the table for the next burst; moves the own clock on by dt. */
static inline uint64_t ctb_clock_next(struct ctb_clock *c, uint64_t dt)
{
    uint64_t own = c->now;
    c->now += dt;
    if (!c->shared)
        return own;
    if (own >= c->bound)
        ctb_clock_wait(c, own, dt);
    __atomic_store_n(&c->lanes[c->self].at, own, __ATOMIC_RELAXED);
    uint64_t cur = __atomic_load_n(c->shared, __ATOMIC_RELAXED);
    while (cur < own && !__atomic_compare_exchange_n(c->shared, &cur, own, 1, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED))
        ;
    return cur > own ? cur : own;
}

/*
 * The measured loop: hands every burst of the ring to ct_process_burst()
 * at the clock's time, advancing the clock by dt per burst, and calls
 * ct_expire() whenever the time it asked for (*next_expire) has come, as an
 * application's poll loop would. Kept out of line under a stable name so
 * that callgrind can count exactly this
 * (valgrind --toggle-collect=ctbench_process_ring).
 */
void ctbench_process_ring(struct ct_table *table, const struct tr_ring *ring,
                          struct ct_pkt *pkts, struct ct_verdict *verdicts,
                          struct ctb_clock *clock, uint64_t dt, uint64_t *next_expire);

/* ---- system helpers (sys.c) ---- */

/* Resident set size of the process in bytes (from /proc/self/statm), or 0. */
uint64_t sys_rss_bytes(void);

/* Online CPUs. */
unsigned sys_cpus(void);

/* The CPU model name with spaces turned into '_' (into buf). */
void sys_cpu_model(char *buf, size_t len);

/* Pins the calling thread to one CPU; returns 0 or an errno. */
int sys_pin(unsigned cpu);

/* Monotonic nanoseconds. */
uint64_t sys_now_ns(void);

/* ctbench --snapshot (bench/snapshot.c): save and restore rates; returns
 * the exit status. */
int ctbench_snapshot(int argc, char **argv);

/* ctbench --nat (bench/nat.c): NAT against plain tracking in the same run;
 * returns the exit status. */
int ctbench_nat(int argc, char **argv);

/* CPU time of the calling thread, in nanoseconds. */
uint64_t sys_thread_cpu_ns(void);

/*
 * Hardware counters of the calling thread: user-space instructions and
 * cycles. sys_counters_open() returns 0 when at least the instruction
 * counter works here; otherwise reads give nothing and callers print "na".
 */
struct sys_counters {
    int fd_instr;
    int fd_cycles;
};

int sys_counters_open(struct sys_counters *c);
void sys_counters_start(struct sys_counters *c);
/* Stops and reads; a value is UINT64_MAX when its counter is unavailable. */
void sys_counters_stop(struct sys_counters *c, uint64_t *instr, uint64_t *cycles);
void sys_counters_close(struct sys_counters *c);

#endif
