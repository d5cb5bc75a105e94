/*
 * Private interface of the expiry timer wheel: connections filed by expiry
 * deadline, handed back to the table when their slot comes due.
 *
 * ---- Design -----------------------------------------------------------------
 *
 * A hierarchical timing wheel after Varghese & Lauck, "Hashed and
 * Hierarchical Timing Wheels" (1987), scheme 7, with two changes that suit a
 * connection tracker with lazy refresh:
 *
 * - The wheel stores no deadline per connection. A connection is filed by the
 *   deadline it was inserted with; when its slot comes due it is handed to a
 *   callback, which looks at the connection's real deadline (last_seen plus
 *   the timeout in force, which packets move forward without touching the
 *   wheel) and either ends it or returns the deadline to file it at again.
 *   Cascading a higher level down is the same hand-out: the callback re-files
 *   the connection at its real deadline, which lands on a lower level.
 * - A connection is never handed out after the tick of the deadline it was
 *   filed with, but may be handed out before it: on level 0 it comes out at
 *   exactly its tick; on a higher level it comes out when its slot starts,
 *   which is up to one slot width early. Hence "filed deadline <= real
 *   deadline" is all the table has to keep true (re-file when a timeout
 *   shrinks), and the decision to expire is always the callback's.
 *
 * Time is cut into ticks of `resolution` ns; tick k is the instant
 * k * resolution. A deadline D is filed at tick ceil(D / resolution), the first
 * tick not before D, so the connection is handed out by the first advance
 * whose `now` reaches that tick: never before D, and no later than the first
 * advance with now >= D + resolution.
 *
 * Levels. With `cur` the wheel's current tick, a tick k > cur is filed on the
 * level of the highest 8-bit digit in which k and cur differ: level 0 holds
 * the ticks that differ from cur only in bits 0-7 (one slot per tick), level
 * 1 those that differ in bits 8-15 (one slot per 256 ticks), and so on up to
 * level 3 (bits 24-31); its slot is that digit of k, which is always greater
 * than cur's digit there, so no slot ever holds ticks of two different
 * rounds. Ticks that differ from cur above bit 31 (more than 2^32 ticks
 * ahead: 136 years at 1 s, 49 days at 1 ms) go on one overflow list, which is
 * handed out when cur reaches the 2^32-tick span of the earliest tick filed
 * there. As cur moves, a slot comes due when cur reaches its first tick; all
 * the slots due at a tick (one per level whose lower digits of cur are zero)
 * are moved in O(1) each onto pending lists, from which the connections are
 * handed out one at a time, so an advance can stop after any connection
 * (budget) and resume later. The callback may remove or file any connection,
 * including pending ones; a connection filed while the wheel is at tick cur
 * goes to a tick after cur, never onto a pending list, so an advance always
 * ends.
 *
 * Skipping time. An occupancy bitmap per level (256 bits) gives the next
 * non-empty slot with a few bit scans; the lowest level with a non-empty slot
 * ahead of cur holds the next event, since every slot of a level starts after
 * all the slots of the level below it in the current round. An advance jumps
 * straight from one non-empty slot to the next, so a 3-day gap in a capture
 * costs one step per non-empty slot in between, not one per tick.
 *
 * Cost: insert and remove are O(1) (a few link updates through `resolve`);
 * each connection is handed out at most once per level it passes through
 * (at most 5 times between two refreshes, usually 1 to 3) plus once at its
 * deadline; memory is 4 x 256 list heads of 4 bytes plus bitmaps, about
 * 4.3 KiB, whatever the timeouts and the number of connections.
 *
 * ---- Links ------------------------------------------------------------------
 *
 * The wheel owns conn->timer_prev and conn->timer_next. A filed connection is
 * on one doubly linked list of connection ids:
 *   timer_next  the id of the next connection, or CT_WHEEL_NONE at the tail;
 *   timer_prev  the id of the previous connection, or, for the first
 *               connection of a list, CT_WHEEL_HEAD_TAG | list number
 *               (0xFFFFF000 + n, n < CT_WHEEL_LISTS), which names the list
 *               head inside struct ct_wheel so that removal is O(1).
 * An unfiled connection has timer_prev == CT_WHEEL_NONE (and timer_next ==
 * CT_WHEEL_NONE); ct_wheel_conn_init() sets that, and a zeroed entry must be
 * given it before its first insert. Connection ids are opaque to the wheel
 * but must be at most CT_WHEEL_ID_MAX: ids from 0xFFFFF000 up are reserved for
 * the tags above and CT_WHEEL_NONE.
 *
 * Thread-safety: none; a wheel belongs to its table and is used under the
 * table's rules. Ownership: the wheel owns no memory beyond its struct (it is
 * embeddable and allocates nothing); connections belong to the caller.
 */
#ifndef CT_EXPIRY_WHEEL_H
#define CT_EXPIRY_WHEEL_H

#include <stdint.h>

#include "table/conn.h"

#define CT_WHEEL_LEVEL_BITS 8
#define CT_WHEEL_SLOTS (1u << CT_WHEEL_LEVEL_BITS) /* slots per level */
#define CT_WHEEL_LEVELS 4
#define CT_WHEEL_BITMAP_WORDS (CT_WHEEL_SLOTS / 64)

/* List numbers: level slots, then the overflow list, then one pending list
 * per level and one for the overflow list. */
#define CT_WHEEL_OVERFLOW (CT_WHEEL_LEVELS * CT_WHEEL_SLOTS)
#define CT_WHEEL_PENDING (CT_WHEEL_OVERFLOW + 1)
#define CT_WHEEL_NPENDING (CT_WHEEL_LEVELS + 1)
#define CT_WHEEL_LISTS (CT_WHEEL_PENDING + CT_WHEEL_NPENDING)

#define CT_WHEEL_NONE UINT32_MAX           /* no connection; unfiled */
#define CT_WHEEL_HEAD_TAG 0xFFFFF000u      /* timer_prev of a list's first entry */
#define CT_WHEEL_ID_MAX (CT_WHEEL_HEAD_TAG - 1)
_Static_assert(CT_WHEEL_LISTS < CT_WHEEL_NONE - CT_WHEEL_HEAD_TAG, "list tags fit below NONE");

#define CT_WHEEL_DEFAULT_RESOLUTION_NS 1000000000ull /* 1 s */

/* Returned by a due callback: leave the connection unfiled. */
#define CT_WHEEL_EXPIRED UINT64_MAX

/* Maps a connection id to its entry (the table's id encoding). */
typedef struct ct_conn *(*ct_wheel_resolve_fn)(void *ctx, uint32_t id);

/*
 * Called by ct_wheel_advance() for each connection handed out. The wheel has
 * already unlinked it (it is unfiled). `tick_ns` is the time of the tick being
 * processed: it is at most the advance's `now` and at least the tick time of
 * every connection handed out before it in this advance.
 *
 * Returns CT_WHEEL_EXPIRED to leave the connection unfiled (the callback
 * expired it and may free it, or filed it itself), or a deadline in ns to
 * file it at (as ct_wheel_insert(); a deadline not after tick_ns goes to the
 * next tick). A table that ends connections whose real deadline is <= now,
 * and returns the real deadline otherwise, expires each connection at most
 * one tick late and never early. Comparing with tick_ns instead of now
 * expires connections in deadline order (to the tick) even across a large
 * jump, those due between the last tick and now waiting for the next advance.
 *
 * The callback may insert and remove any connection (pending ones included)
 * but must not call ct_wheel_advance() or ct_wheel_init() on this wheel.
 */
typedef uint64_t (*ct_wheel_due_fn)(void *arg, uint32_t id, struct ct_conn *c, uint64_t tick_ns);

struct ct_wheel {
    uint64_t resolution;   /* ns per tick */
    uint64_t cur;          /* current tick: every tick before it has been
                              handed out; its due lists are the pending ones */
    uint64_t overflow_min; /* lower bound of the ticks on the overflow list */
    uint64_t steps;        /* diagnostic: ticks the wheel has stopped at */
    ct_wheel_resolve_fn resolve;
    void *ctx;
    uint32_t filed;        /* connections filed (pending ones included) */
    uint32_t pad;
    uint64_t occupied[CT_WHEEL_LEVELS][CT_WHEEL_BITMAP_WORDS]; /* non-empty slots */
    uint32_t head[CT_WHEEL_LISTS]; /* first connection id of each list */
};

/* Marks a connection unfiled. Call once on a new entry before inserting it. */
static inline void ct_wheel_conn_init(struct ct_conn *c)
{
    c->timer_prev = CT_WHEEL_NONE;
    c->timer_next = CT_WHEEL_NONE;
}

/* Whether the connection is filed in a wheel (pending counts as filed). */
static inline int ct_wheel_is_filed(const struct ct_conn *c)
{
    return c->timer_prev != CT_WHEEL_NONE;
}

/* Connections filed, pending ones included. */
static inline uint32_t ct_wheel_count(const struct ct_wheel *w)
{
    return w->filed;
}

/*
 * Sets up an empty wheel at time now_ns with ticks of resolution_ns
 * (CT_WHEEL_DEFAULT_RESOLUTION_NS is 1 s). Deadlines at or before now_ns are
 * filed at the next tick. resolve maps a connection id to its entry and ctx
 * is passed to it. Returns 0, or -EINVAL if w or resolve is NULL or
 * resolution_ns is 0.
 */
int ct_wheel_init(struct ct_wheel *w, uint64_t now_ns, uint64_t resolution_ns,
                  ct_wheel_resolve_fn resolve, void *ctx);

/*
 * Files connection c (named id) at deadline_ns, in O(1). If c is already
 * filed (or pending) it is moved: this is how a connection whose timeout
 * shrank is re-filed. The connection is handed out by the first advance whose
 * now reaches the tick max(ceil(deadline_ns / resolution), cur + 1), where cur
 * is the wheel's current tick (that of the last advance's now or of init; from
 * inside a callback, the tick being processed): a deadline in the past goes to
 * the next tick. It may be handed out earlier, from a higher level.
 * Returns 0, or -EINVAL if w or c is NULL or id is above CT_WHEEL_ID_MAX
 * (nothing is changed then).
 */
int ct_wheel_insert(struct ct_wheel *w, uint32_t id, struct ct_conn *c, uint64_t deadline_ns);

/*
 * Unfiles c in O(1) (a pending connection too). An unfiled connection or a
 * NULL argument is ignored. The connection's id is not needed: the links say
 * where it is.
 */
void ct_wheel_remove(struct ct_wheel *w, struct ct_conn *c);

/*
 * Moves the wheel forward to now_ns and hands out, through fn, every filed
 * connection whose tick (or whose higher-level slot) comes due at or before
 * now_ns, in tick order, until `budget` connections were handed out. Empty
 * stretches of time are skipped in a few bit scans, whatever their length.
 *
 * Returns the number of connections handed out (at most budget, and at most
 * INT_MAX), or -EINVAL if w or fn is NULL. A result equal to budget may mean
 * that more are due: the next call (with the same or a later now) resumes
 * where this one stopped, and ct_wheel_next_due() <= now_ns says whether
 * anything is left. A now_ns earlier than the wheel's current tick hands out
 * nothing and moves nothing (time does not go backwards). now_ns must be
 * below UINT64_MAX.
 */
int ct_wheel_advance(struct ct_wheel *w, uint64_t now_ns, unsigned budget, ct_wheel_due_fn fn,
                     void *arg);

/*
 * The earliest time (ns) at which an advance would hand something out: the
 * current tick's time if an advance stopped on its budget with connections
 * still pending, else the first tick of the next non-empty slot (which may be
 * earlier than the deadlines filed there), or UINT64_MAX if nothing is filed
 * (or nothing can come due at a time below 2^64 ns).
 */
uint64_t ct_wheel_next_due(const struct ct_wheel *w);

#endif
