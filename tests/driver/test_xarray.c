/*
 * xarray.c: load/store/insert/erase, iteration with xa_find, indexes up to
 * 2^40 and beyond, and memory that follows the entries, not the index range.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "driver/driver.h"

#define E(n) ((void *)(uintptr_t)(0x1000 + 8 * (n)))   /* distinct non-NULL entries */
#define NODE_BYTES (xa_bytes(&(struct xa){ .nodes = 1 }))

static void test_empty(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	uint64_t i = 0;
	assert_null(xa_load(&xa, 0));
	assert_null(xa_load(&xa, UINT64_MAX));
	assert_null(xa_find(&xa, &i, UINT64_MAX));
	assert_int_equal(i, 0);
	assert_null(xa_erase(&xa, 5));
	assert_int_equal(xa_bytes(&xa), 0);
	xa_destroy(&xa);
}

static void test_store_load_replace_erase(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	assert_int_equal(xa_store(&xa, 7, E(1)), 0);
	assert_ptr_equal(xa_load(&xa, 7), E(1));
	assert_null(xa_load(&xa, 6));
	assert_null(xa_load(&xa, 7 + 64));
	assert_int_equal(xa_store(&xa, 7, E(2)), 0);       /* replace */
	assert_ptr_equal(xa_load(&xa, 7), E(2));
	assert_int_equal(xa.nodes, 1);
	assert_int_equal(xa_store(&xa, 7, NULL), 0);       /* NULL erases */
	assert_null(xa_load(&xa, 7));
	assert_int_equal(xa.nodes, 0);
	assert_int_equal(xa.height, 0);

	assert_int_equal(xa_store(&xa, 100, E(3)), 0);
	assert_ptr_equal(xa_erase(&xa, 100), E(3));
	assert_null(xa_erase(&xa, 100));
	assert_int_equal(xa_bytes(&xa), 0);
	xa_destroy(&xa);
}

static void test_insert_busy(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	assert_int_equal(xa_insert(&xa, 1ull << 30, E(1)), 0);
	assert_int_equal(xa_insert(&xa, 1ull << 30, E(2)), -EBUSY);
	assert_ptr_equal(xa_load(&xa, 1ull << 30), E(1));      /* unchanged */
	assert_int_equal(xa_insert(&xa, (1ull << 30) + 1, E(2)), 0);
	xa_destroy(&xa);
}

/* 2^40 needs 41 bits: 7 levels of 6 bits.  One entry costs one node per level. */
static void test_large_indexes(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	uint64_t big = 1ull << 40;
	assert_int_equal(xa_store(&xa, big, E(1)), 0);
	assert_int_equal(xa.height, 7);
	assert_int_equal(xa.nodes, 7);
	assert_int_equal(xa_bytes(&xa), 7 * NODE_BYTES);
	assert_ptr_equal(xa_load(&xa, big), E(1));
	assert_null(xa_load(&xa, big - 1));
	assert_null(xa_load(&xa, big + 1));
	assert_null(xa_load(&xa, 0));

	/* index 0 shares only the root with 2^40: 6 more nodes */
	assert_int_equal(xa_store(&xa, 0, E(2)), 0);
	assert_int_equal(xa.nodes, 13);
	assert_ptr_equal(xa_load(&xa, 0), E(2));

	/* the largest indexes: an 11-level tree */
	assert_int_equal(xa_store(&xa, UINT64_MAX, E(3)), 0);
	assert_int_equal(xa.height, 11);
	assert_ptr_equal(xa_load(&xa, UINT64_MAX), E(3));
	assert_ptr_equal(xa_load(&xa, big), E(1));
	assert_ptr_equal(xa_load(&xa, 0), E(2));

	/* erasing shrinks back: the tree holds 2^40 and 0 at height 7 again */
	assert_ptr_equal(xa_erase(&xa, UINT64_MAX), E(3));
	assert_int_equal(xa.height, 7);
	assert_int_equal(xa.nodes, 13);
	assert_ptr_equal(xa_erase(&xa, big), E(1));
	assert_int_equal(xa.height, 1);
	assert_int_equal(xa.nodes, 1);
	assert_ptr_equal(xa_erase(&xa, 0), E(2));
	assert_int_equal(xa.nodes, 0);
	assert_int_equal(xa_bytes(&xa), 0);
	xa_destroy(&xa);
}

/* Dense runs cost about one node per 64 entries, whatever the base index. */
static void test_memory_follows_entries(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	uint64_t base = 1ull << 40;
	for (uint64_t i = 0; i < 4096; i++)
		assert_int_equal(xa_store(&xa, base + i, E(i + 1)), 0);
	/* 64 leaves, 1 node above them, then a chain to the root (height 7) */
	assert_int_equal(xa.height, 7);
	assert_int_equal(xa.nodes, 64 + 1 + 5);
	for (uint64_t i = 0; i < 4096; i++)
		assert_ptr_equal(xa_load(&xa, base + i), E(i + 1));

	/* sparse: one entry per 2^20 indexes, each its own path below the top */
	struct xa sp;
	xa_init(&sp);
	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(xa_store(&sp, i << 20, E(i + 1)), 0);
	/* height 4 (24 bits): each key has its own root slot (bits 23:18) and
	 * so its own chain of 3 nodes below the root */
	assert_int_equal(sp.height, 4);
	assert_int_equal(sp.nodes, 1 + 16 * 3);
	xa_destroy(&sp);

	for (uint64_t i = 0; i < 4096; i++)
		assert_ptr_equal(xa_erase(&xa, base + i), E(i + 1));
	assert_int_equal(xa_bytes(&xa), 0);
	xa_destroy(&xa);
}

static void test_find_iteration(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	const uint64_t keys[] = { 0, 1, 63, 64, 4095, 4096, 1ull << 30, (1ull << 40) + 5, UINT64_MAX - 1 };
	const size_t n = sizeof(keys) / sizeof(keys[0]);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(xa_store(&xa, keys[k], E(k + 1)), 0);

	/* walk everything in order */
	uint64_t i = 0;
	size_t seen = 0;
	for (void *e = xa_find(&xa, &i, UINT64_MAX); e; e = xa_find(&xa, &i, UINT64_MAX)) {
		assert_true(seen < n);
		assert_int_equal(i, keys[seen]);
		assert_ptr_equal(e, E(seen + 1));
		seen++;
		if (i == UINT64_MAX)
			break;
		i++;
	}
	assert_int_equal(seen, n);

	/* bounded windows */
	i = 2;
	assert_ptr_equal(xa_find(&xa, &i, UINT64_MAX), E(3));
	assert_int_equal(i, 63);
	i = 65;
	assert_ptr_equal(xa_find(&xa, &i, 4095), E(5));
	assert_int_equal(i, 4095);
	i = 65;
	assert_null(xa_find(&xa, &i, 4094));
	assert_int_equal(i, 65);                        /* unchanged when nothing found */
	i = 4097;
	assert_ptr_equal(xa_find(&xa, &i, UINT64_MAX), E(7));
	assert_int_equal(i, 1ull << 30);
	i = (1ull << 30) + 1;
	assert_null(xa_find(&xa, &i, 1ull << 40));
	i = (1ull << 30) + 1;
	assert_ptr_equal(xa_find(&xa, &i, (1ull << 40) + 5), E(8));
	assert_int_equal(i, (1ull << 40) + 5);
	i = UINT64_MAX - 1;
	assert_ptr_equal(xa_find(&xa, &i, UINT64_MAX), E(9));
	assert_int_equal(i, UINT64_MAX - 1);
	i = UINT64_MAX;
	assert_null(xa_find(&xa, &i, UINT64_MAX));
	i = 10;
	assert_null(xa_find(&xa, &i, 5));               /* empty window */
	xa_destroy(&xa);
}

/* xa_find stays within [index, max] of a small tree even for huge bounds */
static void test_find_beyond_height(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	assert_int_equal(xa_store(&xa, 10, E(1)), 0);
	uint64_t i = 1ull << 40;
	assert_null(xa_find(&xa, &i, UINT64_MAX));
	i = 0;
	assert_ptr_equal(xa_find(&xa, &i, UINT64_MAX), E(1));
	assert_int_equal(i, 10);
	xa_destroy(&xa);
}

/* Interleaved stores and erases against a plain array as the model. */
static void test_random_against_model(void **state)
{
	(void)state;
	enum { N = 2048 };
	static void *model[N];
	struct xa xa;
	xa_init(&xa);
	uint64_t seed = 12345;
	const uint64_t stride = 1ull << 27;   /* spread the keys up to 2^38 */
	for (int round = 0; round < 20000; round++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned k = (unsigned)(seed >> 33) % N;
		uint64_t key = (uint64_t)k * stride + (k & 7);
		if ((seed >> 20) & 1) {
			void *e = E(round + 1);
			assert_int_equal(xa_store(&xa, key, e), 0);
			model[k] = e;
		} else {
			assert_ptr_equal(xa_erase(&xa, key), model[k]);
			model[k] = NULL;
		}
	}
	uint64_t i = 0;
	unsigned live = 0;
	for (unsigned k = 0; k < N; k++) {
		uint64_t key = (uint64_t)k * stride + (k & 7);
		assert_ptr_equal(xa_load(&xa, key), model[k]);
		if (model[k]) {
			live++;
			assert_ptr_equal(xa_find(&xa, &i, UINT64_MAX), model[k]);
			assert_int_equal(i, key);
			i++;
		}
	}
	assert_null(xa_find(&xa, &i, UINT64_MAX));
	assert_true(live > 0);
	for (unsigned k = 0; k < N; k++)
		xa_erase(&xa, (uint64_t)k * stride + (k & 7));
	assert_int_equal(xa.nodes, 0);
	xa_destroy(&xa);
}

static void test_destroy_frees_nodes(void **state)
{
	(void)state;
	struct xa xa;
	xa_init(&xa);
	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(xa_store(&xa, i * 977, E(i + 1)), 0);
	assert_true(xa.nodes > 0);
	xa_destroy(&xa);           /* LeakSanitizer checks the nodes are gone */
	assert_int_equal(xa.nodes, 0);
	assert_null(xa.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_store_load_replace_erase),
		cmocka_unit_test(test_insert_busy),
		cmocka_unit_test(test_large_indexes),
		cmocka_unit_test(test_memory_follows_entries),
		cmocka_unit_test(test_find_iteration),
		cmocka_unit_test(test_find_beyond_height),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_destroy_frees_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
