/*
 * Per-connection extensions: registration and the side arrays' memory.
 * The design, and why side arrays rather than a larger entry, is in ext.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "table/ext.h"

int ct_table_ext_register(struct ct_table *t, size_t size, size_t align)
{
    if (!t || size == 0 || size > CT_EXT_SIZE_MAX || align == 0 || (align & (align - 1)) != 0 ||
        align > CT_EXT_SIZE_MAX)
        return -EINVAL;
    if (t->ext && t->ext->n == CT_EXT_MAX)
        return -ENOSPC;
    /* An entry handed out before now had no slot zeroed for it (ext.h). */
    if (t->pool[0].hiwater || t->pool[1].hiwater)
        return -EBUSY;
    if (!t->ext) {
        t->ext = calloc(1, sizeof(*t->ext));
        if (!t->ext)
            return -ENOMEM;
    }
    struct ct_ext_area *a = &t->ext->area[t->ext->n];
    a->size = (uint32_t)size;
    a->stride = (uint32_t)((size + align - 1) & ~(align - 1));
    /* Both pools have the same capacity (table.c); every id of either
       indexes its family's array. */
    a->map_len = ((size_t)t->pool[0].cap * a->stride + 4095u) & ~(size_t)4095u;
    int prefault = (t->flags & CT_TABLE_F_PREFAULT) != 0;
    for (unsigned v6 = 0; v6 < 2; v6++) {
        a->base[v6] = (uint8_t *)ct_table_map(a->map_len, prefault);
        if (!a->base[v6]) {
            if (v6)
                munmap(a->base[0], a->map_len);
            memset(a, 0, sizeof(*a));
            return -ENOMEM;
        }
    }
    return (int)t->ext->n++;
}

void ct_table_ext_zero(const struct ct_table *t, uint32_t conn_id)
{
    for (unsigned i = 0; i < t->ext->n; i++)
        memset(ct_table_ext_get(t, conn_id, i), 0, t->ext->area[i].size);
}

size_t ct_table_ext_bytes(const struct ct_table *t)
{
    size_t n = 0;
    if (t->ext) {
        n += sizeof(*t->ext);
        for (unsigned i = 0; i < t->ext->n; i++)
            n += 2 * t->ext->area[i].map_len;
    }
    return n;
}

void ct_table_ext_destroy(struct ct_table *t)
{
    if (!t->ext)
        return;
    for (unsigned i = 0; i < t->ext->n; i++)
        for (unsigned v6 = 0; v6 < 2; v6++)
            munmap(t->ext->area[i].base[v6], t->ext->area[i].map_len);
    free(t->ext);
    t->ext = NULL;
}
