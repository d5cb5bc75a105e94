/*
 * Where the test corpus is: the captures and expected outputs of Zeek's and
 * Suricata's test suites that some unit tests replay when they are there.
 * It is $CTRACK_CORPUS when that is set and not empty, else the folder
 * ../shared/corpus beside the source tree (as tests/golden use it).
 */
#ifndef CT_TESTS_SUPPORT_CORPUS_H
#define CT_TESTS_SUPPORT_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the corpus folder's path to out[len]. Returns 1 when the folder
   is there (it holds INDEX.md), 0 when the tests that need it are to be
   skipped. */
static inline int corpus_dir(char *out, size_t len)
{
    const char *env = getenv("CTRACK_CORPUS");
    if (env && *env) {
        snprintf(out, len, "%s", env);
    } else {
        /* __FILE__ is .../tests/support/corpus.h: strip three components. */
        char src[1024];
        snprintf(src, sizeof(src), "%s", __FILE__);
        for (int i = 0; i < 3; i++) {
            char *slash = strrchr(src, '/');
            if (!slash) {
                strcpy(src, ".");
                break;
            }
            *slash = '\0';
        }
        snprintf(out, len, "%s/../shared/corpus", src);
    }
    char probe[1200];
    int n = snprintf(probe, sizeof(probe), "%s/INDEX.md", out);
    if (n < 0 || (size_t)n >= sizeof(probe))
        return 0;
    FILE *f = fopen(probe, "r");
    if (!f)
        return 0;
    fclose(f);
    return 1;
}

#endif
