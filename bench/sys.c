/*
 * bench/sys.c: what ctbench needs from the system: clocks, memory use, CPU
 * facts, thread pinning and hardware counters.
 */
#include "ctbench.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t sys_rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

unsigned sys_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

void sys_cpu_model(char *buf, size_t len)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(buf, len, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        snprintf(buf, len, "%s", colon);
        break;
    }
    fclose(f);
    for (char *p = buf; *p; p++) {
        if (*p == '\n') {
            *p = 0;
            break;
        }
        if (*p == ' ' || *p == '\t' || *p == '"' || *p == '=' || *p == '\\')
            *p = '_';
    }
}

int sys_pin(unsigned cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

uint64_t sys_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t sys_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_counter(uint64_t config)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.type = PERF_TYPE_HARDWARE;
    a.size = sizeof(a);
    a.config = config;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

int sys_counters_open(struct sys_counters *c)
{
    c->fd_instr = open_counter(PERF_COUNT_HW_INSTRUCTIONS);
    c->fd_cycles = c->fd_instr >= 0 ? open_counter(PERF_COUNT_HW_CPU_CYCLES) : -1;
    return c->fd_instr >= 0 ? 0 : -1;
}

static void start_one(int fd)
{
    if (fd < 0)
        return;
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
}

static uint64_t stop_one(int fd)
{
    uint64_t v = 0;
    if (fd < 0)
        return UINT64_MAX;
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        return UINT64_MAX;
    return v;
}

void sys_counters_start(struct sys_counters *c)
{
    start_one(c->fd_instr);
    start_one(c->fd_cycles);
}

void sys_counters_stop(struct sys_counters *c, uint64_t *instr, uint64_t *cycles)
{
    *instr = stop_one(c->fd_instr);
    *cycles = stop_one(c->fd_cycles);
}

void sys_counters_close(struct sys_counters *c)
{
    if (c->fd_instr >= 0)
        close(c->fd_instr);
    if (c->fd_cycles >= 0)
        close(c->fd_cycles);
    c->fd_instr = c->fd_cycles = -1;
}
