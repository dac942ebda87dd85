/*
 * A sparse map from a 64-bit index to a pointer: the part of the kernel's
 * xarray the driver uses (page_array keyed by PFN_DOWN(address), the backing
 * store keyed by page index).  A radix tree of 64-slot nodes, 6 index bits per
 * level; the tree is only as tall as the largest index needs, so a 1 TiB
 * ELRANGE costs nodes for the pages present, not for the range.
 *
 * Memory: a tree of height h holding n entries uses at most n * h nodes and,
 * for dense indexes, about n / 63 of them.  Nodes emptied by an erase are
 * freed at once and the tree shrinks when only slot 0 of the root is used, so
 * erasing everything returns to zero nodes.
 *
 * No locking: every user holds the lock of the structure that owns the map
 * (encl->lock for page_array), as the kernel's xa_lock would be.
 */
#include <errno.h>
#include <stdlib.h>

#include "driver.h"

#define XA_SHIFT 6
#define XA_SLOTS (1u << XA_SHIFT)
#define XA_MASK (XA_SLOTS - 1)
#define XA_MAX_HEIGHT ((64 + XA_SHIFT - 1) / XA_SHIFT)   /* 11 levels cover 66 bits */

struct xa_node {
	void *slots[XA_SLOTS];
	unsigned count;          /* non-NULL slots */
};

void xa_init(struct xa *xa)
{
	xa->root = NULL;
	xa->height = 0;
	xa->nodes = 0;
}

static void free_node(struct xa *xa, struct xa_node *n, unsigned level)
{
	if (level > 0)
		for (unsigned i = 0; i < XA_SLOTS; i++)
			if (n->slots[i])
				free_node(xa, n->slots[i], level - 1);
	free(n);
	xa->nodes--;
}

void xa_destroy(struct xa *xa)
{
	if (xa->root)
		free_node(xa, xa->root, xa->height - 1);
	xa_init(xa);
}

static unsigned slot_of(uint64_t index, unsigned level)
{
	unsigned shift = level * XA_SHIFT;
	return shift >= 64 ? 0 : (unsigned)(index >> shift) & XA_MASK;
}

/* The height needed to hold index: at least 1. */
static unsigned height_for(uint64_t index)
{
	unsigned h = 1;
	while (h < XA_MAX_HEIGHT && (index >> (h * XA_SHIFT)) != 0)
		h++;
	return h;
}

void *xa_load(const struct xa *xa, uint64_t index)
{
	if (!xa->root || height_for(index) > xa->height)
		return NULL;
	struct xa_node *n = xa->root;
	for (unsigned level = xa->height - 1; level > 0; level--) {
		n = n->slots[slot_of(index, level)];
		if (!n)
			return NULL;
	}
	return n->slots[slot_of(index, 0)];
}

static struct xa_node *node_new(struct xa *xa)
{
	struct xa_node *n = calloc(1, sizeof(*n));
	if (n)
		xa->nodes++;
	return n;
}

/* Grow the tree until index fits: the old root becomes slot 0 of a new root. */
static int grow(struct xa *xa, uint64_t index)
{
	unsigned need = height_for(index);
	if (!xa->root) {
		xa->root = node_new(xa);
		if (!xa->root)
			return -ENOMEM;
		xa->height = need;
		return 0;
	}
	while (xa->height < need) {
		struct xa_node *n = node_new(xa);
		if (!n)
			return -ENOMEM;
		n->slots[0] = xa->root;
		n->count = 1;
		xa->root = n;
		xa->height++;
	}
	return 0;
}

/* Drop root levels that only hold slot 0, and the root itself once empty. */
static void shrink(struct xa *xa)
{
	struct xa_node *r = xa->root;
	while (r && xa->height > 1 && r->count == 1 && r->slots[0]) {
		xa->root = r->slots[0];
		free(r);
		xa->nodes--;
		xa->height--;
		r = xa->root;
	}
	if (r && r->count == 0) {
		free(r);
		xa->nodes--;
		xa->root = NULL;
		xa->height = 0;
	}
}

/*
 * Walk towards index as far as nodes exist, clear its slot if reached (the
 * old entry is returned), then free the nodes left empty, bottom up.  Also
 * used to undo a path that xa_store built before running out of memory.
 */
static void *erase_path(struct xa *xa, uint64_t index)
{
	if (!xa->root || height_for(index) > xa->height)
		return NULL;
	struct xa_node *path[XA_MAX_HEIGHT];
	unsigned level = xa->height - 1;
	void *old = NULL;

	path[level] = xa->root;
	while (level > 0 && path[level]->slots[slot_of(index, level)]) {
		path[level - 1] = path[level]->slots[slot_of(index, level)];
		level--;
	}
	if (level == 0 && path[0]->slots[slot_of(index, 0)]) {
		old = path[0]->slots[slot_of(index, 0)];
		path[0]->slots[slot_of(index, 0)] = NULL;
		path[0]->count--;
	}
	for (; level + 1 < xa->height && path[level]->count == 0; level++) {
		free(path[level]);
		xa->nodes--;
		path[level + 1]->slots[slot_of(index, level + 1)] = NULL;
		path[level + 1]->count--;
	}
	shrink(xa);
	return old;
}

void *xa_erase(struct xa *xa, uint64_t index)
{
	return erase_path(xa, index);
}

int xa_store(struct xa *xa, uint64_t index, void *entry)
{
	if (!entry) {
		xa_erase(xa, index);
		return 0;
	}
	int err = grow(xa, index);
	if (err) {
		shrink(xa);
		return err;
	}
	struct xa_node *n = xa->root;
	for (unsigned level = xa->height - 1; level > 0; level--) {
		struct xa_node **child = (struct xa_node **)&n->slots[slot_of(index, level)];
		if (!*child) {
			*child = node_new(xa);
			if (!*child) {
				/* keep the tree minimal: remove the empty path just built */
				erase_path(xa, index);
				return -ENOMEM;
			}
			n->count++;
		}
		n = *child;
	}
	void **slot = &n->slots[slot_of(index, 0)];
	if (!*slot)
		n->count++;
	*slot = entry;
	return 0;
}

int xa_insert(struct xa *xa, uint64_t index, void *entry)
{
	if (xa_load(xa, index))
		return -EBUSY;
	return xa_store(xa, index, entry);
}

/*
 * Depth-first search below node n (at level, covering indexes from base) for
 * the first entry in [*index, max]; *index lies in n's range or before it.
 */
static void *find_in(struct xa_node *n, unsigned level, uint64_t base, uint64_t *index, uint64_t max)
{
	unsigned shift = level * XA_SHIFT;
	/* the top level of an 11-level tree holds only 64 - 60 = 4 index bits */
	unsigned nslots = shift + XA_SHIFT > 64 ? 1u << (64 - shift) : XA_SLOTS;
	unsigned first = *index > base ? slot_of(*index, level) : 0;

	for (unsigned i = first; i < nslots; i++) {
		uint64_t start = base | ((uint64_t)i << shift);
		if (start > max)
			return NULL;
		if (!n->slots[i])
			continue;
		uint64_t at = start > *index ? start : *index;
		if (level == 0) {
			*index = at;
			return n->slots[i];
		}
		void *e = find_in(n->slots[i], level - 1, start, &at, max);
		if (e) {
			*index = at;
			return e;
		}
	}
	return NULL;
}

void *xa_find(const struct xa *xa, uint64_t *index, uint64_t max)
{
	if (!xa->root || *index > max)
		return NULL;
	unsigned top = xa->height - 1;
	/* an index beyond what the tree holds has no entry */
	if (height_for(*index) > xa->height)
		return NULL;
	uint64_t at = *index;
	void *e = find_in(xa->root, top, 0, &at, max);
	if (e)
		*index = at;
	return e;
}

size_t xa_bytes(const struct xa *xa)
{
	return xa->nodes * sizeof(struct xa_node);
}
