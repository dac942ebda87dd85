/*
 * struct preload_table (table.h): the lock, the fork handlers, the growth.
 *
 * The fork list.  One pthread_atfork handler locks every listed table before
 * fork and unlocks them after it, in the parent and in the child.  A table
 * is listed the first time it is locked, under list_lock, which is never held
 * while waiting for a table's lock (so listing cannot deadlock with a fork).
 * The list only grows at its head and a listed table's next never changes;
 * fork_prepare remembers the head it saw in a thread-local, so fork_done
 * unlocks exactly the tables it locked even if another table was listed in
 * between (the child's only thread is a copy of the forking one: same value).
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "table.h"

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct preload_table *_Atomic tables;     /* newest first */
static _Thread_local struct preload_table *forking;   /* what fork_prepare locked */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	forking = atomic_load(&tables);
	for (struct preload_table *t = forking; t; t = t->next)
		pthread_mutex_lock(&t->lock);
}

static void fork_done(void)
{
	for (struct preload_table *t = forking; t; t = t->next)
		pthread_mutex_unlock(&t->lock);
}

static void register_atfork(void)
{
	pthread_atfork(fork_prepare, fork_done, fork_done);
}

/* Lists t for fork once: the handler exists before any table is listed, and
 * a caller that finds t not yet listed waits for the one listing it. */
static void list(struct preload_table *t)
{
	if (atomic_load(&t->listed))
		return;
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&list_lock);
	if (!atomic_load(&t->listed)) {
		t->next = atomic_load(&tables);
		atomic_store(&tables, t);
		atomic_store(&t->listed, true);
	}
	pthread_mutex_unlock(&list_lock);
}

void preload_table_lock(struct preload_table *t)
{
	list(t);
	pthread_mutex_lock(&t->lock);
}

void preload_table_unlock(struct preload_table *t)
{
	pthread_mutex_unlock(&t->lock);
}

int preload_table_reserve(struct preload_table *t)
{
	if (t->nr < t->cap)
		return 0;
	size_t cap = t->cap ? 2 * t->cap : t->first_cap;
	void *items = realloc(t->items, cap * t->size);
	if (!items)
		return -1;
	t->items = items;
	t->cap = cap;
	return 0;
}
