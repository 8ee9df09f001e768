// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for Hermit: slot arithmetic, knob parsing, the backend
 * registry, and the store/load/invalidate rules against a fake backend on a
 * swap area of its own.
 *
 * ./tools/testing/kunit/kunit.py run --kunitconfig=mm/hermit/tests
 */

#include <kunit/test.h>
#include <linux/hermit.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/page_counter.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <uapi/linux/hermit.h>

#include "../internal.h"

struct chunk_case {
	unsigned long offset, chunk, index;
};

static const struct chunk_case chunk_cases[] = {
	{ 0, 0, 0 },
	{ 1, 0, 1 },
	{ HERMIT_CHUNK_PAGES - 1, 0, HERMIT_CHUNK_PAGES - 1 },
	{ HERMIT_CHUNK_PAGES, 1, 0 },
	{ 3 * HERMIT_CHUNK_PAGES + 7, 3, 7 },
	{ (1UL << 40) + 5, (1UL << 40) >> HERMIT_CHUNK_SHIFT, 5 },
};

static void chunk_case_desc(const struct chunk_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "offset %lu", c->offset);
}

KUNIT_ARRAY_PARAM(chunk, chunk_cases, chunk_case_desc);

static void hermit_test_chunk_arith(struct kunit *test)
{
	const struct chunk_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, hermit_chunk_of(c->offset), c->chunk);
	KUNIT_EXPECT_EQ(test, hermit_index_in_chunk(c->offset), c->index);
	KUNIT_EXPECT_EQ(test, (hermit_chunk_of(c->offset) << HERMIT_CHUNK_SHIFT) +
			hermit_index_in_chunk(c->offset), c->offset);
}

static void hermit_test_nr_chunks(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, hermit_nr_chunks(0), 0UL);
	KUNIT_EXPECT_EQ(test, hermit_nr_chunks(1), 1UL);
	KUNIT_EXPECT_EQ(test, hermit_nr_chunks(HERMIT_CHUNK_PAGES), 1UL);
	KUNIT_EXPECT_EQ(test, hermit_nr_chunks(HERMIT_CHUNK_PAGES + 1), 2UL);
}

static void hermit_test_backend_names(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, hermit_backend_name_valid("dram"));
	KUNIT_EXPECT_TRUE(test, hermit_backend_name_valid("rdma-2_x"));
	KUNIT_EXPECT_TRUE(test, hermit_backend_name_valid("abcdefghijklmno"));
	KUNIT_EXPECT_FALSE(test, hermit_backend_name_valid(NULL));
	KUNIT_EXPECT_FALSE(test, hermit_backend_name_valid(""));
	KUNIT_EXPECT_FALSE(test, hermit_backend_name_valid("DRAM"));
	KUNIT_EXPECT_FALSE(test, hermit_backend_name_valid("has space"));
	KUNIT_EXPECT_FALSE(test, hermit_backend_name_valid("a/b"));
	KUNIT_EXPECT_FALSE(test, hermit_backend_name_valid("abcdefghijklmnop"));
}

static void hermit_test_size_param(struct kunit *test)
{
	unsigned long pages = 7;
	const struct kernel_param kp = { .arg = &pages };
	const struct kernel_param_ops *ops = &hermit_size_param_ops;
	static const char * const bad[] = {
		"", " ", "abc", "12x", "1M2", "-4096", "0", "4095", "0x", "99999T",
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, ops->set(bad[i], &kp), -EINVAL, "'%s'", bad[i]);
		KUNIT_EXPECT_EQ_MSG(test, pages, 7UL, "'%s' changed the value", bad[i]);
	}
	KUNIT_EXPECT_EQ(test, ops->set("4096", &kp), 0);
	KUNIT_EXPECT_EQ(test, pages, 1UL);
	KUNIT_EXPECT_EQ(test, ops->set("1M\n", &kp), 0);
	KUNIT_EXPECT_EQ(test, pages, 256UL);
	KUNIT_EXPECT_EQ(test, ops->set("8k", &kp), 0);
	KUNIT_EXPECT_EQ(test, pages, 2UL);
}

static void hermit_test_bool_param(struct kunit *test)
{
	bool v = false;
	const struct kernel_param kp = { .arg = &v };
	const struct kernel_param_ops *ops = &hermit_bool_param_ops;
	static const char * const bad[] = {
		"", "maybe", "2", "yes please", "-1", "enabled", "on off",
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, ops->set(bad[i], &kp), -EINVAL, "'%s'", bad[i]);
		KUNIT_EXPECT_FALSE_MSG(test, v, "'%s' changed the value", bad[i]);
	}
	KUNIT_EXPECT_EQ(test, ops->set("1", &kp), 0);
	KUNIT_EXPECT_TRUE(test, v);
	KUNIT_EXPECT_EQ(test, ops->set("off\n", &kp), 0);
	KUNIT_EXPECT_FALSE(test, v);
	KUNIT_EXPECT_EQ(test, ops->set("Y", &kp), 0);
	KUNIT_EXPECT_TRUE(test, v);
	KUNIT_EXPECT_EQ(test, ops->set("false", &kp), 0);
	KUNIT_EXPECT_FALSE(test, v);
}

static void hermit_test_backend_param(struct kunit *test)
{
	const struct kernel_param_ops *ops = &hermit_backend_param_ops;
	char before[32], after[32];

	hermit_backend_selected(before, sizeof(before));
	KUNIT_EXPECT_EQ(test, ops->set("no-such-backend", NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, ops->set("Bad Name", NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, ops->set("", NULL), -EINVAL);
	hermit_backend_selected(after, sizeof(after));
	KUNIT_EXPECT_STREQ(test, before, after);
	KUNIT_EXPECT_EQ(test, ops->set("dram\n", NULL), 0);
	KUNIT_EXPECT_EQ(test, ops->set(before, NULL), 0);
}

/*
 * A fake backend: one page of storage per slot of the backend space of an
 * area of FAKE_CHUNKS chunks; a chunk's cookie is its first slot there.
 */
#define FAKE_CHUNKS	8
#define FAKE_PAGES	(FAKE_CHUNKS * HERMIT_CHUNK_PAGES)
#define FAKE_TYPE	(MAX_SWAPFILES - 1)

static struct {
	struct page *slot[FAKE_PAGES];
	int fail_after;		/* stores left before -ENOSPC; <0: never */
	int load_error;
	int chunks, invalidated;
	bool defer;		/* leave the write in flight */
	struct folio *deferred;
	bool read_defer;	/* leave a prefetch in flight */
	bool read_refuse;	/* refuse to start a prefetch */
	struct folio *read_deferred;
} fake;

static void *fake_chunk_alloc(int type, unsigned long index)
{
	if (index >= FAKE_CHUNKS)
		return ERR_PTR(-ENOSPC);
	fake.chunks++;
	return &fake.slot[index * HERMIT_CHUNK_PAGES];
}

static void fake_chunk_free(int type, unsigned long index, void *chunk)
{
	fake.chunks--;
}

static int fake_store(void *chunk, unsigned long index, struct folio *folio)
{
	struct page **slot = chunk;
	long i;

	for (i = 0; i < folio_nr_pages(folio); i++) {
		if (fake.fail_after == 0)
			return -ENOSPC;
		if (fake.fail_after > 0)
			fake.fail_after--;
		if (!slot[index + i])
			slot[index + i] = alloc_page(GFP_KERNEL);
		if (!slot[index + i])
			return -ENOMEM;
		copy_highpage(slot[index + i], folio_page(folio, i));
	}
	/* Completed later by the test, or at once. */
	if (fake.defer)
		fake.deferred = folio;
	else
		hermit_store_done(folio, 0);
	return 0;
}

static int fake_load(void *chunk, unsigned long index, struct page *page)
{
	struct page **slot = chunk;

	if (fake.load_error || !slot[index])
		return -EIO;
	copy_highpage(page, slot[index]);
	return 0;
}

static int fake_read(void *chunk, unsigned long index, struct folio *folio)
{
	int err;

	if (fake.read_refuse)
		return -ENOTCONN;
	/* The data lands now; the completion comes later, or at once. */
	err = fake_load(chunk, index, &folio->page);
	if (fake.read_defer)
		fake.read_deferred = folio;
	else
		hermit_read_done(folio, err);
	return 0;
}

static void fake_invalidate(void *chunk, unsigned long index)
{
	struct page **slot = chunk;

	fake.invalidated++;
	if (slot[index])
		__free_page(slot[index]);
	slot[index] = NULL;
}

static const struct hermit_backend_ops fake_ops = {
	.chunk_alloc = fake_chunk_alloc,
	.chunk_free = fake_chunk_free,
	.store = fake_store,
	.load = fake_load,
	.read = fake_read,
	.invalidate = fake_invalidate,
};

static struct hermit_backend fake_backend = {
	.name = "kunit-fake",
	.owner = THIS_MODULE,
	.ops = &fake_ops,
};

static void hermit_test_registry(struct kunit *test)
{
	struct hermit_backend nameless = { .name = "x y", .ops = &fake_ops };
	struct hermit_backend no_ops = { .name = "kunit-noops" };
	struct hermit_backend dup = { .name = "kunit-fake", .ops = &fake_ops };
	struct hermit_backend *b;
	char before[32];

	KUNIT_EXPECT_EQ(test, hermit_register_backend(&nameless), -EINVAL);
	KUNIT_EXPECT_EQ(test, hermit_register_backend(&no_ops), -EINVAL);
	KUNIT_ASSERT_EQ(test, hermit_register_backend(&fake_backend), 0);
	KUNIT_EXPECT_EQ(test, hermit_register_backend(&dup), -EEXIST);
	KUNIT_EXPECT_EQ(test, hermit_unregister_backend(&dup), -ENOENT);

	hermit_backend_selected(before, sizeof(before));
	KUNIT_ASSERT_EQ(test, hermit_backend_select("kunit-fake", true), 0);
	b = hermit_backend_bind();
	KUNIT_EXPECT_PTR_EQ(test, b, &fake_backend);
	KUNIT_EXPECT_EQ(test, hermit_unregister_backend(&fake_backend), -EBUSY);
	hermit_backend_unbind(b);
	KUNIT_EXPECT_EQ(test, hermit_unregister_backend(&fake_backend), 0);
	/* Selected but gone: nothing to bind. */
	KUNIT_EXPECT_NULL(test, hermit_backend_bind());
	KUNIT_EXPECT_EQ(test, hermit_backend_select(before, false), 0);
}

static struct folio *fake_folio(struct kunit *test, unsigned int order,
				unsigned long offset, u8 fill)
{
	struct folio *folio = folio_alloc(GFP_KERNEL, order);
	long i;

	KUNIT_ASSERT_NOT_NULL(test, folio);
	for (i = 0; i < folio_nr_pages(folio); i++)
		memset(page_address(folio_page(folio, i)), fill + i, PAGE_SIZE);
	__folio_set_locked(folio);
	folio->swap = swp_entry(FAKE_TYPE, offset);
	return folio;
}

static void fake_folio_put(struct folio *folio)
{
	folio->swap.val = 0;
	__folio_clear_locked(folio);
	folio_put(folio);
}

static bool page_filled(struct page *page, u8 fill)
{
	return !memchr_inv(page_address(page), fill, PAGE_SIZE);
}

static void hermit_test_store_load(struct kunit *test)
{
	bool was_enabled = hermit_enabled;
	struct hermit_area *area;
	long inflight, hits, late, wasted;
	struct folio *f, *g;
	char before[32];
	long i;

	memset(&fake, 0, sizeof(fake));
	fake.fail_after = -1;
	KUNIT_ASSERT_EQ(test, hermit_register_backend(&fake_backend), 0);
	hermit_backend_selected(before, sizeof(before));
	KUNIT_ASSERT_EQ(test, hermit_backend_select("kunit-fake", true), 0);
	/* One chunk: none is allocated ahead. */
	KUNIT_ASSERT_EQ(test, hermit_swapon(FAKE_TYPE, HERMIT_CHUNK_PAGES), 0);
	area = hermit_area_of(FAKE_TYPE);
	KUNIT_ASSERT_NOT_NULL(test, area);
	hermit_enabled = true;

	/* A page goes in and comes back. */
	f = fake_folio(test, 0, 5, 0xa5);
	KUNIT_EXPECT_TRUE(test, hermit_store(f));
	KUNIT_EXPECT_TRUE(test, test_bit(5, area->remote));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&area->held), 1L);
	KUNIT_EXPECT_EQ(test, fake.chunks, 1);
	g = fake_folio(test, 0, 5, 0);
	KUNIT_EXPECT_TRUE(test, hermit_load(g));
	KUNIT_EXPECT_TRUE(test, folio_test_uptodate(g));
	KUNIT_EXPECT_TRUE(test, page_filled(folio_page(g, 0), 0xa5));
	KUNIT_EXPECT_FALSE(test, folio_test_locked(g));
	fake_folio_put(g);

	/*
	 * A readahead folio is read asynchronously: locked until the read
	 * completes, then uptodate. Its first access is a hit, a late one
	 * while the read is under way.
	 */
	hits = atomic_long_read(&hermit_stats[HERMIT_HITON_SWAP_CACHE]);
	late = atomic_long_read(&hermit_stats[HERMIT_PREFETCH_LATE]);
	wasted = atomic_long_read(&hermit_stats[HERMIT_PREFETCH_WASTED]);
	fake.read_defer = true;
	g = fake_folio(test, 0, 5, 0);
	folio_set_readahead(g);
	KUNIT_EXPECT_TRUE(test, hermit_load(g));
	KUNIT_EXPECT_PTR_EQ(test, fake.read_deferred, g);
	KUNIT_EXPECT_TRUE(test, folio_test_locked(g));
	KUNIT_EXPECT_FALSE(test, folio_test_uptodate(g));
	KUNIT_EXPECT_TRUE(test, test_bit(5, area->prefetched));
	hermit_prefetch_hit(g->swap, g);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_stats[HERMIT_HITON_SWAP_CACHE]), hits + 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_stats[HERMIT_PREFETCH_LATE]), late + 1);
	KUNIT_EXPECT_FALSE(test, test_bit(5, area->prefetched));
	hermit_read_done(g, 0);
	KUNIT_EXPECT_FALSE(test, folio_test_locked(g));
	KUNIT_EXPECT_TRUE(test, folio_test_uptodate(g));
	KUNIT_EXPECT_TRUE(test, page_filled(folio_page(g, 0), 0xa5));
	/* A second access is no hit; leaving the cache then is no waste. */
	hermit_prefetch_hit(g->swap, g);
	hermit_prefetch_unused(g->swap, g);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_stats[HERMIT_HITON_SWAP_CACHE]), hits + 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_stats[HERMIT_PREFETCH_WASTED]), wasted);
	folio_clear_readahead(g);
	fake_folio_put(g);
	fake.read_defer = false;

	/*
	 * A prefetch that cannot start leaves the folio unlocked without
	 * data (the fault reads it again); untouched, it is wasted.
	 */
	fake.read_refuse = true;
	g = fake_folio(test, 0, 5, 0);
	folio_set_readahead(g);
	KUNIT_EXPECT_TRUE(test, hermit_load(g));
	KUNIT_EXPECT_FALSE(test, folio_test_locked(g));
	KUNIT_EXPECT_FALSE(test, folio_test_uptodate(g));
	hermit_prefetch_unused(g->swap, g);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_stats[HERMIT_PREFETCH_WASTED]), wasted + 1);
	folio_clear_readahead(g);
	fake_folio_put(g);
	fake.read_refuse = false;

	/* A refused re-store drops the old copy: the disk has the data now. */
	fake.fail_after = 0;
	KUNIT_EXPECT_FALSE(test, hermit_store(f));
	KUNIT_EXPECT_FALSE(test, test_bit(5, area->remote));
	KUNIT_EXPECT_EQ(test, fake.invalidated, 1);
	g = fake_folio(test, 0, 5, 0);
	KUNIT_EXPECT_FALSE(test, hermit_load(g));
	fake_folio_put(g);

	/* Disabled: refused, and again no stale copy is left behind. */
	fake.fail_after = -1;
	KUNIT_EXPECT_TRUE(test, hermit_store(f));
	hermit_enabled = false;
	KUNIT_EXPECT_FALSE(test, hermit_store(f));
	KUNIT_EXPECT_FALSE(test, test_bit(5, area->remote));
	hermit_enabled = true;
	fake_folio_put(f);

	/*
	 * An asynchronous write: the folio is under writeback and the slot
	 * not held until the write completes; a failed one redirties the
	 * folio and leaves no copy behind.
	 */
	inflight = atomic_long_read(&hermit_stores_in_flight);
	fake.defer = true;
	f = fake_folio(test, 0, 20, 0x33);
	KUNIT_EXPECT_TRUE(test, hermit_store(f));
	KUNIT_EXPECT_PTR_EQ(test, fake.deferred, f);
	KUNIT_EXPECT_TRUE(test, folio_test_writeback(f));
	KUNIT_EXPECT_FALSE(test, test_bit(20, area->remote));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_stores_in_flight), inflight + 1);
	hermit_store_done(f, -ENOTCONN);
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(f));
	KUNIT_EXPECT_TRUE(test, folio_test_dirty(f));
	KUNIT_EXPECT_FALSE(test, test_bit(20, area->remote));
	KUNIT_EXPECT_NULL(test, fake.slot[20]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_stores_in_flight), inflight);
	folio_clear_dirty(f);
	KUNIT_EXPECT_TRUE(test, hermit_store(f));
	KUNIT_EXPECT_FALSE(test, test_bit(20, area->remote));
	hermit_store_done(f, 0);
	KUNIT_EXPECT_FALSE(test, folio_test_writeback(f));
	KUNIT_EXPECT_FALSE(test, folio_test_dirty(f));
	KUNIT_EXPECT_TRUE(test, test_bit(20, area->remote));
	fake.defer = false;
	fake_folio_put(f);
	g = fake_folio(test, 0, 20, 0);
	KUNIT_EXPECT_TRUE(test, hermit_load(g));
	KUNIT_EXPECT_TRUE(test, page_filled(folio_page(g, 0), 0x33));
	fake_folio_put(g);
	hermit_invalidate(FAKE_TYPE, 20, 1);

	/* A large folio is stored whole or not at all. */
	f = fake_folio(test, 2, 8, 0x10);
	fake.fail_after = 2;
	KUNIT_EXPECT_FALSE(test, hermit_store(f));
	for (i = 8; i < 12; i++)
		KUNIT_EXPECT_FALSE(test, test_bit(i, area->remote));
	fake.fail_after = -1;
	KUNIT_EXPECT_TRUE(test, hermit_store(f));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&area->held), 4L);
	fake_folio_put(f);
	g = fake_folio(test, 0, 10, 0);
	KUNIT_EXPECT_TRUE(test, hermit_load(g));
	KUNIT_EXPECT_TRUE(test, page_filled(folio_page(g, 0), 0x12));
	fake_folio_put(g);

	/* A backend that cannot deliver: no uptodate, so the fault fails. */
	fake.load_error = 1;
	g = fake_folio(test, 0, 9, 0);
	KUNIT_EXPECT_TRUE(test, hermit_load(g));
	KUNIT_EXPECT_FALSE(test, folio_test_uptodate(g));
	fake_folio_put(g);
	fake.load_error = 0;

	/* Freed slots are dropped from the backend. */
	hermit_invalidate(FAKE_TYPE, 8, 4);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&area->held), 0L);
	for (i = 0; i < FAKE_PAGES; i++)
		KUNIT_EXPECT_NULL(test, fake.slot[i]);

	/* swapoff releases the chunks and the backend. */
	hermit_enabled = was_enabled;
	hermit_swapoff(FAKE_TYPE);
	KUNIT_EXPECT_NULL(test, hermit_area_of(FAKE_TYPE));
	KUNIT_EXPECT_EQ(test, fake.chunks, 0);
	KUNIT_EXPECT_EQ(test, hermit_unregister_backend(&fake_backend), 0);
	KUNIT_EXPECT_EQ(test, hermit_backend_select(before, false), 0);
}

static void fake_store_one(struct kunit *test, unsigned long offset, u8 fill)
{
	struct folio *f = fake_folio(test, 0, offset, fill);

	KUNIT_EXPECT_TRUE(test, hermit_store(f));
	fake_folio_put(f);
}

static void fake_load_one(struct kunit *test, unsigned long offset, u8 fill)
{
	struct folio *g = fake_folio(test, 0, offset, 0);

	KUNIT_EXPECT_TRUE(test, hermit_load(g));
	KUNIT_EXPECT_TRUE(test, page_filled(folio_page(g, 0), fill));
	fake_folio_put(g);
}

/*
 * The fake backend registered and selected, and a swap area of FAKE_CHUNKS
 * chunks for it; the backend selected before is saved in @before.
 */
static struct hermit_area *fake_area_up(struct kunit *test, char *before, size_t size)
{
	struct hermit_area *area;

	memset(&fake, 0, sizeof(fake));
	fake.fail_after = -1;
	KUNIT_ASSERT_EQ(test, hermit_register_backend(&fake_backend), 0);
	hermit_backend_selected(before, size);
	KUNIT_ASSERT_EQ(test, hermit_backend_select("kunit-fake", true), 0);
	KUNIT_ASSERT_EQ(test, hermit_swapon(FAKE_TYPE, FAKE_PAGES), 0);
	area = hermit_area_of(FAKE_TYPE);
	KUNIT_ASSERT_NOT_NULL(test, area);
	return area;
}

/*
 * Undo fake_area_up(): swapoff gives every chunk back and unbinds the area,
 * so the backend has no user left and unregisters.
 */
static void fake_area_down(struct kunit *test, const char *before, bool was_enabled)
{
	hermit_enabled = was_enabled;
	hermit_swapoff(FAKE_TYPE);
	KUNIT_EXPECT_EQ(test, fake.chunks, 0);
	KUNIT_EXPECT_EQ(test, hermit_unregister_backend(&fake_backend), 0);
	KUNIT_EXPECT_EQ(test, hermit_backend_select(before, false), 0);
}

/* Let the workers a store or an invalidation queued run. */
static void fake_settle(struct hermit_area *area)
{
	flush_work(&area->ahead_work);
	flush_work(&area->trim_work);
}

/*
 * Slots are placed in the backend a cluster (a chunk) at a time and
 * densely: wherever the swap allocator puts them, the lowest free backend
 * cluster is taken, and given back once nothing of it is held or being
 * stored. The backend holds the chunks of the clusters placed, the spare
 * (the lowest free one, allocated ahead of its store) and the free one
 * after it.
 */
static void hermit_test_placement(struct kunit *test)
{
	const unsigned long cl = HERMIT_CHUNK_PAGES;
	long used0 = atomic_long_read(&hermit_clusters_used);
	long ahead0 = atomic_long_read(&hermit_chunks_ahead);
	long returned0 = atomic_long_read(&hermit_chunks_returned);
	bool was_enabled = hermit_enabled;
	struct hermit_area *area;
	struct folio *f;
	char before[32];
	unsigned long i;

	/* With hermit.chunk_ahead's default, Y. */
	area = fake_area_up(test, before, sizeof(before));
	hermit_enabled = true;

	/*
	 * The first cluster stored to is placed first, wherever it is; the
	 * next one is allocated ahead.
	 */
	fake_store_one(test, 3 * cl + 7, 0x31);
	KUNIT_EXPECT_EQ(test, area->cl_used[3], 1U);
	KUNIT_EXPECT_EQ(test, area->cl_place[3], 0U);
	KUNIT_EXPECT_NOT_NULL(test, fake.slot[7]);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 2);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_ahead), ahead0 + 1);
	fake_store_one(test, cl + 9, 0x19);
	KUNIT_EXPECT_EQ(test, area->cl_place[1], 1U);
	KUNIT_EXPECT_NOT_NULL(test, fake.slot[cl + 9]);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 3);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_ahead), ahead0 + 2);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_clusters_used), used0 + 2);
	fake_load_one(test, 3 * cl + 7, 0x31);
	fake_load_one(test, cl + 9, 0x19);

	/* An emptied cluster is given back; its chunk is the spare now. */
	hermit_invalidate(FAKE_TYPE, 3 * cl + 7, 1);
	fake_settle(area);
	KUNIT_EXPECT_NULL(test, fake.slot[7]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_clusters_used), used0 + 1);
	KUNIT_EXPECT_EQ(test, fake.chunks, 3);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_returned), returned0);

	/*
	 * A store in flight keeps its cluster placed (the next spare is
	 * there); a failed one gives it back.
	 */
	fake.defer = true;
	f = fake_folio(test, 0, 5 * cl, 0x50);
	KUNIT_EXPECT_TRUE(test, hermit_store(f));
	KUNIT_EXPECT_EQ(test, area->cl_place[5], 0U);
	KUNIT_EXPECT_TRUE(test, test_bit(0, area->bcl_used));
	hermit_store_done(f, -ENOTCONN);
	KUNIT_EXPECT_FALSE(test, test_bit(0, area->bcl_used));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_clusters_used), used0 + 1);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 3);
	folio_clear_dirty(f);
	fake_folio_put(f);
	fake.defer = false;

	/* A held slot stored again stays where its cluster is. */
	fake_store_one(test, cl + 9, 0x91);
	KUNIT_EXPECT_EQ(test, area->cl_place[1], 1U);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_clusters_used), used0 + 1);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 3);
	fake_load_one(test, cl + 9, 0x91);

	/* Clusters 4-7 take backend clusters 0, 2, 3 and 4; chunk 5 is spare. */
	for (i = 4; i < 8; i++)
		fake_store_one(test, i * cl + i, i);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, area->cl_place[4], 0U);
	KUNIT_EXPECT_EQ(test, area->cl_place[5], 2U);
	KUNIT_EXPECT_EQ(test, area->cl_place[7], 4U);
	KUNIT_EXPECT_EQ(test, fake.chunks, 6);
	KUNIT_EXPECT_NOT_NULL(test, area->chunks[5]);
	for (i = 4; i < 8; i++)
		fake_load_one(test, i * cl + i, i);

	/* The top two emptied: 3 and 4 are kept, 5 goes back. */
	hermit_invalidate(FAKE_TYPE, 6 * cl, 2 * cl);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 5);
	KUNIT_EXPECT_NOT_NULL(test, area->chunks[4]);
	KUNIT_EXPECT_NULL(test, area->chunks[5]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_returned), returned0 + 1);

	/*
	 * A hole below the highest in use becomes the spare, and the chunk
	 * kept above goes back: the room is the clusters placed and two
	 * more. The next cluster takes the hole.
	 */
	hermit_invalidate(FAKE_TYPE, cl, cl);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 4);
	KUNIT_EXPECT_NULL(test, area->chunks[4]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_returned), returned0 + 2);
	fake_store_one(test, 6 * cl + 1, 0x61);
	KUNIT_EXPECT_EQ(test, area->cl_place[6], 1U);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 4);
	KUNIT_EXPECT_NOT_NULL(test, area->chunks[3]);
	fake_load_one(test, 6 * cl + 1, 0x61);

	/* All emptied: every chunk but the first two goes back. */
	hermit_invalidate(FAKE_TYPE, 0, FAKE_PAGES);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 2);
	KUNIT_EXPECT_NOT_NULL(test, area->chunks[0]);
	KUNIT_EXPECT_NOT_NULL(test, area->chunks[1]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_returned), returned0 + 4);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&area->held), 0L);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_clusters_used), used0);
	for (i = 0; i < FAKE_PAGES; i++)
		KUNIT_EXPECT_NULL(test, fake.slot[i]);

	/*
	 * Pages that come and go across a cluster's edge: no chunk is
	 * allocated or given back. swapoff releases those left.
	 */
	ahead0 = atomic_long_read(&hermit_chunks_ahead);
	for (i = 0; i < 3; i++) {
		fake_store_one(test, 7 * cl + 3, 0x73);
		KUNIT_EXPECT_EQ(test, area->cl_place[7], 0U);
		fake_settle(area);
		fake_load_one(test, 7 * cl + 3, 0x73);
		hermit_invalidate(FAKE_TYPE, 7 * cl + 3, 1);
		fake_settle(area);
	}
	KUNIT_EXPECT_EQ(test, fake.chunks, 2);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_ahead), ahead0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_returned), returned0 + 4);
	fake_area_down(test, before, was_enabled);
}

/* Enabling Hermit binds an unbound area and allocates its first chunk ahead. */
static void hermit_test_prepare(struct kunit *test)
{
	long ahead0 = atomic_long_read(&hermit_chunks_ahead);
	bool was_enabled = hermit_enabled;
	struct hermit_area *area;
	char before[32];

	area = fake_area_up(test, before, sizeof(before));

	/*
	 * Disabled: nothing is bound or allocated. The area's own helper,
	 * not hermit_areas_prepare(): a real swap area (KUnit run again
	 * from debugfs) must not bind to the fake backend.
	 */
	hermit_enabled = false;
	KUNIT_EXPECT_FALSE(test, hermit_area_prepare(area));
	flush_work(&area->ahead_work);
	KUNIT_EXPECT_NULL(test, area->backend);
	KUNIT_EXPECT_EQ(test, fake.chunks, 0);

	hermit_enabled = true;
	if (!hermit_area_prepare(area)) {
		fake_area_down(test, before, was_enabled);
		kunit_skip(test, "hermit.chunk_ahead is off");
	}
	flush_work(&area->ahead_work);
	KUNIT_EXPECT_PTR_EQ(test, area->backend, &fake_backend);
	KUNIT_EXPECT_EQ(test, fake.chunks, 1);
	KUNIT_EXPECT_NOT_NULL(test, area->chunks[0]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_ahead), ahead0 + 1);
	/* The first store finds its chunk there, and has the next one allocated. */
	fake_store_one(test, 5 * HERMIT_CHUNK_PAGES, 0x42);
	KUNIT_EXPECT_NOT_NULL(test, fake.slot[0]);
	fake_settle(area);
	KUNIT_EXPECT_EQ(test, fake.chunks, 2);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&hermit_chunks_ahead), ahead0 + 2);
	fake_load_one(test, 5 * HERMIT_CHUNK_PAGES, 0x42);
	hermit_invalidate(FAKE_TYPE, 0, FAKE_PAGES);
	fake_settle(area);

	/* Bound already: prepare leaves the area alone. */
	KUNIT_EXPECT_FALSE(test, hermit_area_prepare(area));
	KUNIT_EXPECT_EQ(test, fake.chunks, 2);

	fake_area_down(test, before, was_enabled);
}

static void hermit_test_trend(struct kunit *test)
{
	long d[32];
	unsigned int i;

	/* Too few deltas to vote over: no stride. */
	for (i = 0; i < 7; i++)
		d[i] = 8;
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 7, 7), 0L);
	/* A constant stride, forwards and backwards. */
	d[7] = 8;
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 8, 8), 8L);
	for (i = 0; i < 8; i++)
		d[i] = -3;
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 8, 8), -3L);
	/* A strict majority of the newest 8 (5 of 8) wins over noise. */
	for (i = 0; i < 8; i++)
		d[i] = i % 3 ? 2 : 100 + i;
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 8, 8), 2L);
	/* Half is no majority... */
	for (i = 0; i < 8; i++)
		d[i] = i % 2 ? 4 : 1000 + i;
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 8, 8), 0L);
	/* ...but the older deltas may make one over 16. */
	for (i = 0; i < 16; i++)
		d[i] = i < 8 ? 4 : (i % 2 ? 4 : 1000 + i);
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 16, 16), 4L);
	/* The ring wraps: the newest are just before head. */
	for (i = 0; i < 32; i++)
		d[i] = 500 + i;
	for (i = 0; i < 8; i++)
		d[(28 + i) % 32] = 1;
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 32, 4), 1L);
	/* Random deltas: none. */
	for (i = 0; i < 32; i++)
		d[i] = (long)(i * 7919 % 113) - 56;
	KUNIT_EXPECT_EQ(test, hermit_trend_stride(d, 32, 0), 0L);

	/* The window grows from 4 while a stride holds, up to the most. */
	KUNIT_EXPECT_EQ(test, hermit_trend_window(0, 8, 0), 4U);
	KUNIT_EXPECT_EQ(test, hermit_trend_window(4, 8, 0), 8U);
	KUNIT_EXPECT_EQ(test, hermit_trend_window(32, 8, 0), 32U);
	/* A fixed window is that window. */
	KUNIT_EXPECT_EQ(test, hermit_trend_window(4, 8, 16), 16U);
	/* No stride: halves, down to the faulting page alone. */
	KUNIT_EXPECT_EQ(test, hermit_trend_window(16, 0, 0), 8U);
	KUNIT_EXPECT_EQ(test, hermit_trend_window(1, 0, 0), 1U);
	KUNIT_EXPECT_EQ(test, hermit_trend_window(0, 0, 16), 1U);
}

/*
 * Every latency falls in a bucket whose range holds it, the buckets are
 * in order and at most 25 % wide, and the last one takes what is longer.
 */
static void hermit_test_lat_buckets(struct kunit *test)
{
	u64 ns, lo, hi;
	unsigned int b;

	for (ns = 0; ns < (1ULL << 32); ns = ns < 64 ? ns + 1 : ns + ns / 7 + 3) {
		b = hermit_lat_bucket(ns);
		lo = hermit_lat_bucket_min(b);
		KUNIT_ASSERT_LT(test, b, HERMIT_LAT_BUCKETS);
		KUNIT_EXPECT_LE_MSG(test, lo, ns, "bucket %u of %llu ns", b, ns);
		if (b == HERMIT_LAT_BUCKETS - 1)
			continue;
		hi = hermit_lat_bucket_end(b);
		KUNIT_EXPECT_LT_MSG(test, ns, hi, "bucket %u of %llu ns", b, ns);
		if (lo >= 8)
			KUNIT_EXPECT_LE(test, (hi - lo) * 4, lo);
	}
	KUNIT_EXPECT_EQ(test, hermit_lat_bucket(U64_MAX), HERMIT_LAT_BUCKETS - 1);
	KUNIT_EXPECT_EQ(test, hermit_lat_bucket(1000), 9 * 4 + 3);
}

static struct kunit_case hermit_test_cases[] = {
	KUNIT_CASE_PARAM(hermit_test_chunk_arith, chunk_gen_params),
	KUNIT_CASE(hermit_test_nr_chunks),
	KUNIT_CASE(hermit_test_backend_names),
	KUNIT_CASE(hermit_test_size_param),
	KUNIT_CASE(hermit_test_bool_param),
	KUNIT_CASE(hermit_test_backend_param),
	KUNIT_CASE(hermit_test_registry),
	KUNIT_CASE(hermit_test_store_load),
	KUNIT_CASE(hermit_test_placement),
	KUNIT_CASE(hermit_test_prepare),
	KUNIT_CASE(hermit_test_trend),
	KUNIT_CASE(hermit_test_lat_buckets),
	{}
};

static struct kunit_suite hermit_test_suite = {
	.name = "hermit",
	.test_cases = hermit_test_cases,
};

#ifdef CONFIG_HERMIT_OFFLOAD_RECLAIM

static void hermit_test_offload_trigger(struct kunit *test)
{
	const unsigned long none = PAGE_COUNTER_MAX;

	/* No limit at all, or a zero one: never offloaded. */
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(none, none, 2048), 0);
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(none, 0, 2048), 0);
	/* v1 and v2 memory.max alone. */
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(none, 10000, 2048), 10000 - 2048);
	/* memory.high, when set, is the limit (or max, if lower). */
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(8000, 10000, 2048), 8000 - 2048);
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(12000, 10000, 2048), 10000 - 2048);
	/* A headroom above half the limit is cut to half of it. */
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(none, 4096, 2048), 2048);
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(none, 3000, 2048), 1500);
	KUNIT_EXPECT_EQ(test, hermit_offload_trigger(none, 1, 2048), 1);
}

static void hermit_test_offload_feedback(struct kunit *test)
{
	/* No core: nothing runs. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(1, 0, 100, 0, 5), 0);
	/* Falling behind (or tasks reclaiming): one more, up to nr. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(1, 4, 200, 100, 0), 2);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(2, 4, 0, 100, 1), 3);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(4, 4, 900, 100, 7), 4);
	/* Keeping up: unchanged; well ahead: one less, never below one. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(3, 4, 100, 100, 0), 3);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(3, 4, 60, 100, 0), 3);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(3, 4, 40, 100, 0), 2);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(1, 4, 0, 100, 0), 1);
	/* Idle (the controller steps from a timer): one less, down to one. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(2, 4, 0, 0, 0), 1);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(1, 4, 0, 0, 0), 1);
	/* Fewer cores than before (fs_nr_cores lowered): clamped. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_active(6, 2, 0, 0, 0), 2);
}

static void hermit_test_offload_headroom(struct kunit *test)
{
	/* Tasks stalled: twice the headroom, up to fs_headroom. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(128, 2048, 1, 500), 256);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(1500, 2048, 3, 0), 2048);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(2048, 2048, 1, 10), 2048);
	/* Demand and no stall: an eighth less, down to two batches. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(2048, 2048, 0, 10), 1792);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(130, 2048, 0, 10), 128);
	/* Idle: unchanged. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(512, 2048, 0, 0), 512);
	/* fs_headroom lowered below it, or below two batches: clamped. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(1024, 300, 0, 0), 300);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(128, 16, 0, 5), 16);
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(16, 16, 2, 5), 16);
	/* No overflow near the largest headroom. */
	KUNIT_EXPECT_EQ(test, hermit_offload_next_headroom(ULONG_MAX / 2 + 1, ULONG_MAX - 1, 1, 0),
			ULONG_MAX - 1);
}

static void hermit_test_offload_pick(struct kunit *test)
{
	unsigned long online = 0xff, out, wanted;

	/* Default: the last nr online CPUs. */
	KUNIT_EXPECT_EQ(test, hermit_offload_pick(&out, NULL, &online, 16, 1), 1);
	KUNIT_EXPECT_EQ(test, out, 0x80);
	KUNIT_EXPECT_EQ(test, hermit_offload_pick(&out, NULL, &online, 16, 3), 3);
	KUNIT_EXPECT_EQ(test, out, 0xe0);
	/* More wanted than online: all of them. */
	KUNIT_EXPECT_EQ(test, hermit_offload_pick(&out, NULL, &online, 16, 12), 8);
	KUNIT_EXPECT_EQ(test, out, 0xff);
	/* A hole in the online mask (CPU 7 unplugged). */
	online = 0x7f;
	KUNIT_EXPECT_EQ(test, hermit_offload_pick(&out, NULL, &online, 16, 2), 2);
	KUNIT_EXPECT_EQ(test, out, 0x60);
	/* fs_cores: its first nr online CPUs, offline ones skipped. */
	wanted = 0x8a;	/* 1, 3, 7 */
	KUNIT_EXPECT_EQ(test, hermit_offload_pick(&out, &wanted, &online, 16, 2), 2);
	KUNIT_EXPECT_EQ(test, out, 0x0a);
	KUNIT_EXPECT_EQ(test, hermit_offload_pick(&out, &wanted, &online, 16, 8), 2);
	KUNIT_EXPECT_EQ(test, out, 0x0a);
	wanted = 0x80;
	KUNIT_EXPECT_EQ(test, hermit_offload_pick(&out, &wanted, &online, 16, 1), 0);
	KUNIT_EXPECT_EQ(test, out, 0);
}

static struct kunit_case hermit_offload_test_cases[] = {
	KUNIT_CASE(hermit_test_offload_trigger),
	KUNIT_CASE(hermit_test_offload_feedback),
	KUNIT_CASE(hermit_test_offload_headroom),
	KUNIT_CASE(hermit_test_offload_pick),
	{}
};

static struct kunit_suite hermit_offload_test_suite = {
	.name = "hermit_offload",
	.test_cases = hermit_offload_test_cases,
};

kunit_test_suites(&hermit_test_suite, &hermit_offload_test_suite);

#else

kunit_test_suite(hermit_test_suite);

#endif /* CONFIG_HERMIT_OFFLOAD_RECLAIM */

MODULE_DESCRIPTION("KUnit tests for Hermit");
MODULE_LICENSE("GPL");
