/*
 * A growable array behind one mutex: files.c's host fd → model fd entries and
 * memory.c's enclave ranges are each one.
 *
 * Two things both need, written once here.  nr is atomic so an interposer
 * can peek at it without the lock: while a table is empty (a program that
 * never opened an SGX device) the call goes straight to libc and takes no
 * lock.  And a fork must not copy a table's lock while another thread holds
 * it (the child's first SGX call would hang on it): every table that has
 * been locked once is locked around fork by one pthread_atfork handler.
 */
#ifndef SGX2EMU_PRELOAD_TABLE_H
#define SGX2EMU_PRELOAD_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct preload_table {
	pthread_mutex_t lock;
	_Atomic size_t nr;             /* entries in use; read without the lock to skip an empty table */
	size_t cap;                    /* entries allocated */
	size_t size;                   /* bytes of an entry */
	size_t first_cap;              /* entries of the first allocation */
	void *items;
	struct preload_table *next;    /* the tables locked around fork (table.c) */
	atomic_bool listed;            /* on that list */
};

/* A table of entries of type, allocated first_cap at a time, then doubled. */
#define PRELOAD_TABLE_INIT(type, first)                                                          \
	{ .lock = PTHREAD_MUTEX_INITIALIZER, .size = sizeof(type), .first_cap = (first) }

/* The unlocked peek: true while t has no entries. */
static inline bool preload_table_empty(struct preload_table *t)
{
	return atomic_load(&t->nr) == 0;
}

/* Takes t's lock; the first time, puts t on the list that fork locks. */
void preload_table_lock(struct preload_table *t);
void preload_table_unlock(struct preload_table *t);

/* Room for one more entry (lock held): 0, or -1 when memory runs out (the
 * table is unchanged; callers answer ENOMEM).  items may move. */
int preload_table_reserve(struct preload_table *t);

#endif
