/*
 * The control of unguarded_access.c: each of its cases done under the right
 * lock. The tsa_control test compiles this with clang's -Wthread-safety
 * -Werror and passes only if it compiles, so a failing tsa_* case means the
 * analysis caught the mistake, not that the headers stopped compiling.
 */
#include "table/shared.h"
#include "table/table.h"

uint32_t tsa_defer_field(struct ct_table *t);
uint32_t tsa_defer_field(struct ct_table *t)
{
    ct_spin_lock(&t->sh->defer_lock);
    uint32_t head = t->sh->defer_head;
    ct_spin_unlock(&t->sh->defer_lock);
    return head;
}

void tsa_pool_free(struct ct_table *t, struct ct_conn *c);
void tsa_pool_free(struct ct_table *t, struct ct_conn *c)
{
    ct_spin_lock(&t->sh->pool_lock);
    ct_table_conn_free_locked(t, c);
    ct_spin_unlock(&t->sh->pool_lock);
}

uint32_t tsa_wheel(struct ct_table *t);
uint32_t tsa_wheel(struct ct_table *t)
{
    ct_spin_lock(&t->sh->wheel_lock);
    uint32_t n = ct_wheel_count(ct_shared_wheel(t));
    ct_spin_unlock(&t->sh->wheel_lock);
    return n;
}

int tsa_sweep(struct ct_table *t);
int tsa_sweep(struct ct_table *t)
{
    if (!ct_spin_trylock(&t->sh->sweep_lock))
        return 0;
    ct_shared_sweep(t)->interval = 0;
    ct_spin_unlock(&t->sh->sweep_lock);
    return 1;
}
