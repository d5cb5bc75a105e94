/*
 * Code that breaks the lock rules of shared tables (table/shared.h, "What
 * the compiler checks"), one mistake per CT_TSA_CASE_* macro. The tsa_*
 * tests (tests/tsa/CMakeLists.txt) compile each case with clang's
 * -Wthread-safety -Werror and pass only if the compiler rejects it with the
 * diagnostic named beside the case: proof that the annotations are in force
 * and that the analysis reads them. guarded_access.c does each thing right
 * and must compile.
 */
#include "table/shared.h"
#include "table/table.h"

/* Touches the deferred list without defer_lock.
 * Expect: reading variable 'defer_head' requires holding any mutex */
#if defined(CT_TSA_CASE_DEFER_FIELD)
uint32_t tsa_case(struct ct_table *t);
uint32_t tsa_case(struct ct_table *t)
{
    return t->sh->defer_head;
}
#endif

/* Frees an entry onto the pool's free list without pool_lock.
 * Expect: calling function 'ct_table_conn_free_locked' requires holding
 * mutex 't->sh->pool_lock' */
#if defined(CT_TSA_CASE_POOL_FREE)
void tsa_case(struct ct_table *t, struct ct_conn *c);
void tsa_case(struct ct_table *t, struct ct_conn *c)
{
    ct_table_conn_free_locked(t, c);
}
#endif

/* Reads a shared table's wheel holding the wrong lock.
 * Expect: calling function 'ct_shared_wheel' requires holding mutex
 * 't->sh->wheel_lock' */
#if defined(CT_TSA_CASE_WHEEL_WRONG_LOCK)
uint32_t tsa_case(struct ct_table *t);
uint32_t tsa_case(struct ct_table *t)
{
    ct_spin_lock(&t->sh->pool_lock);
    uint32_t n = ct_wheel_count(ct_shared_wheel(t));
    ct_spin_unlock(&t->sh->pool_lock);
    return n;
}
#endif

/* Returns with the sweep lock still held.
 * Expect: mutex 't->sh->sweep_lock' is still held at the end of function */
#if defined(CT_TSA_CASE_LOCK_LEAK)
void tsa_case(struct ct_table *t);
void tsa_case(struct ct_table *t)
{
    ct_spin_lock(&t->sh->sweep_lock);
    ct_shared_sweep(t)->interval = 0;
}
#endif

/* Takes pool_lock twice: a spinlock never comes back from that.
 * Expect: acquiring mutex 't->sh->pool_lock' that is already held */
#if defined(CT_TSA_CASE_DOUBLE_LOCK)
void tsa_case(struct ct_table *t, struct ct_conn *c);
void tsa_case(struct ct_table *t, struct ct_conn *c)
{
    ct_spin_lock(&t->sh->pool_lock);
    ct_spin_lock(&t->sh->pool_lock);
    ct_table_conn_free_locked(t, c);
    ct_spin_unlock(&t->sh->pool_lock);
}
#endif
