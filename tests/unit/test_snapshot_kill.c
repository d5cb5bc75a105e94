/*
 * Crash safety of ct_table_save_file(): a writer replacing a snapshot of
 * 1 M connections is killed with SIGKILL at many points of the save (from
 * before the first byte to after the rename), and after every kill the
 * snapshot file is byte for byte the previous snapshot or the new one,
 * never anything else, and it restores into a fresh table.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ctrack/ctrack.h"
#include "support/table_fixture.h"
#include "table/table.h"

#define SEC 1000000000ull
#define NCONN (1u << 20)
#define KILLS 16

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* 1 M UDP connections, one packet each, at 1000 s. */
static struct ct_table *big_table(void)
{
    struct ct_table *t = mk_table(NCONN, 0);
    static struct ct_pkt pkts[CT_BURST_MAX];
    static struct ct_verdict v[CT_BURST_MAX];
    for (uint32_t i = 0; i < NCONN; i += CT_BURST_MAX) {
        for (uint32_t j = 0; j < CT_BURST_MAX; j++) {
            uint32_t n = i + j;
            pkts[j] = pkt4(17, 0x0a000000u + (n >> 8), 0xc0a80001u, (uint16_t)(1024 + (n & 255)),
                           53, 40);
            pkts[j].l4_len = 20;
            pkts[j].payload_len = 12;
        }
        ct_process_parsed(t, pkts, v, CT_BURST_MAX, 1000 * SEC, CT_PROCESS_COMMIT);
    }
    CHECK_EQ_U(t->connections, NCONN);
    return t;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    fstat(fileno(f), &st);
    *len = (size_t)st.st_size;
    uint8_t *b = malloc(*len ? *len : 1);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* Removes the temporary files killed writers left beside the snapshot. */
static unsigned sweep_tmp(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^S\\.tmp\\.' ; rm -f %s/S.tmp.*", dir, dir);
    FILE *p = popen(cmd, "r");
    unsigned n = 0;
    if (p) {
        if (fscanf(p, "%u", &n) != 1)
            n = 0;
        pclose(p);
    }
    return n;
}

static void test_kill_during_save(void)
{
    struct ct_table *t = big_table();
    char dir[] = "/tmp/ctrack-snapkill.XXXXXX";
    CHECK_PTR(mkdtemp(dir));
    char path[256], other[256];
    snprintf(path, sizeof(path), "%s/S", dir);
    snprintf(other, sizeof(other), "%s/T", dir);

    /* The previous snapshot (at 1001 s) and what the writer saves (1002 s). */
    CHECK_EQ_I(ct_table_save_file(t, path, 1001 * SEC), 0);
    size_t old_len = 0, new_len = 0;
    uint8_t *old = slurp(path, &old_len);
    uint64_t t0 = mono_us();
    CHECK_EQ_I(ct_table_save_file(t, other, 1002 * SEC), 0);
    uint64_t span = mono_us() - t0; /* one whole save, fsyncs included */
    uint8_t *want_new = slurp(other, &new_len);
    unlink(other);
    CHECK(old && want_new && old_len == new_len && memcmp(old, want_new, old_len) != 0);

    unsigned saw_old = 0, saw_new = 0, left = 0;
    for (unsigned k = 0; k < KILLS; k++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(ct_table_save_file(t, path, 1002 * SEC) == 0 ? 0 : 1);
        /* From at once to 30% past a whole save. */
        usleep((useconds_t)(span * 13 / 10 * k / (KILLS - 1)));
        kill(pid, SIGKILL);
        int st;
        CHECK_EQ_I(waitpid(pid, &st, 0), pid);
        size_t len = 0;
        uint8_t *got = slurp(path, &len);
        CHECK_PTR(got);
        int is_old = got && len == old_len && memcmp(got, old, len) == 0;
        int is_new = got && len == new_len && memcmp(got, want_new, len) == 0;
        CHECK(is_old || is_new);
        saw_old += (unsigned)is_old;
        saw_new += (unsigned)is_new;
        /* It loads: every fourth, to keep the run short. */
        if (got && k % 4 == 0) {
            struct ct_table *r = mk_table(NCONN, 0);
            CHECK_EQ_I(ct_table_restore_buf(r, got, len, 2000 * SEC), (long)NCONN);
            ct_table_destroy(r);
        }
        free(got);
        left += sweep_tmp(dir);
        if (is_new)
            CHECK_EQ_I(ct_table_save_file(t, path, 1001 * SEC), 0); /* the old one back */
    }
    fprintf(stderr, "kills: %u left the previous snapshot, %u the new one; %u temporary "
                    "files left behind; one save took %.3f s\n",
            saw_old, saw_new, left, (double)span / 1e6);
    CHECK(saw_old > 0);
    /* The snapshot is written unnamed (O_TMPFILE) and named only just
     * before the rename: a kill leaves no temporary file behind, unless it
     * lands in the microseconds between the two. */
    CHECK(left <= 1);
    unlink(path);
    rmdir(dir);
    free(old);
    free(want_new);
    ct_table_destroy(t);
}

int main(void)
{
    RUN(test_kill_during_save);
    return check_summary();
}
