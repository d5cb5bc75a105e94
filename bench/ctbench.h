/*
 * bench/ctbench.h: pieces of ctbench shared between its files.
 */
#ifndef CTBENCH_CTBENCH_H
#define CTBENCH_CTBENCH_H

#include <stdint.h>

#include "ctrack/ctrack.h"
#include "traffic.h"

/*
 * The measured loop: hands every burst of the ring to ct_process_burst()
 * with `now` advancing by dt per burst, calls ct_expire() whenever the time
 * it asked for (*next_expire) has come, as an application's poll loop would,
 * and returns the time after the last burst. Kept out of line under a stable
 * name so that callgrind can count exactly this
 * (valgrind --toggle-collect=ctbench_process_ring).
 */
uint64_t ctbench_process_ring(struct ct_table *table, const struct tr_ring *ring,
                              struct ct_pkt *pkts, struct ct_verdict *verdicts, uint64_t now,
                              uint64_t dt, uint64_t *next_expire);

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
