// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit DRAM backend: swapped-out pages kept in local memory.
 *
 * For experiments without an RDMA fabric, what Fastswap's fastswap_dram and
 * RackMem's dvs_dram gave their users: the swap path of a remote backend
 * with memory-speed transfers. Pages are allocated as they are stored, up to
 * hermit.dram_capacity (default: a quarter of RAM), and are not charged to
 * any memory cgroup, so a cgroup's swapped-out memory really leaves it.
 */

#define pr_fmt(fmt) "hermit: dram: " fmt

#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "internal.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "hermit."

struct hermit_dram_chunk {
	struct page *pages[HERMIT_CHUNK_PAGES];
};

/* Capacity in pages; 0 until set (then a quarter of RAM at init). */
static unsigned long hermit_dram_capacity;
module_param_cb(dram_capacity, &hermit_size_param_ops, &hermit_dram_capacity, 0644);
MODULE_PARM_DESC(dram_capacity, "Bytes the DRAM backend may hold (K/M/G suffixes; default RAM/4)");

static atomic_long_t hermit_dram_used;

static void *hermit_dram_chunk_alloc(int type, unsigned long index)
{
	unsigned int noio = memalloc_noio_save();
	struct hermit_dram_chunk *chunk;

	chunk = kvzalloc(sizeof(*chunk), GFP_KERNEL | __GFP_NOWARN);
	memalloc_noio_restore(noio);
	return chunk ?: ERR_PTR(-ENOMEM);
}

static void hermit_dram_free_page(struct hermit_dram_chunk *chunk,
				  unsigned long index)
{
	struct page *page = xchg(&chunk->pages[index], NULL);

	if (page) {
		__free_page(page);
		atomic_long_dec(&hermit_dram_used);
	}
}

static void hermit_dram_chunk_free(int type, unsigned long index, void *data)
{
	struct hermit_dram_chunk *chunk = data;
	unsigned long i;

	for (i = 0; i < HERMIT_CHUNK_PAGES; i++)
		hermit_dram_free_page(chunk, i);
	kvfree(chunk);
}

static int hermit_dram_store_page(struct hermit_dram_chunk *chunk,
				  unsigned long index, struct page *page)
{
	struct page *copy = chunk->pages[index];

	if (!copy) {
		if (atomic_long_inc_return(&hermit_dram_used) >
		    READ_ONCE(hermit_dram_capacity)) {
			atomic_long_dec(&hermit_dram_used);
			return -ENOSPC;
		}
		copy = alloc_page(GFP_NOIO | __GFP_NORETRY | __GFP_NOWARN |
				  __GFP_NOMEMALLOC);
		if (!copy) {
			atomic_long_dec(&hermit_dram_used);
			return -ENOMEM;
		}
		chunk->pages[index] = copy;
	}
	copy_highpage(copy, page);
	return 0;
}

/* A copy is done at once: the write completes before it returns. */
static int hermit_dram_store(void *data, unsigned long index, struct folio *folio)
{
	long i, nr = folio_nr_pages(folio);
	int err;

	for (i = 0; i < nr; i++) {
		err = hermit_dram_store_page(data, index + i, folio_page(folio, i));
		if (err)
			return err;
	}
	hermit_store_done(folio, 0);
	return 0;
}

static int hermit_dram_load(void *data, unsigned long index, struct page *page)
{
	struct hermit_dram_chunk *chunk = data;
	struct page *copy = READ_ONCE(chunk->pages[index]);

	if (WARN_ON_ONCE(!copy))
		return -EIO;
	copy_highpage(page, copy);
	return 0;
}

/* A copy, done at once: the read completes before it returns. */
static int hermit_dram_read(void *data, unsigned long index, struct folio *folio)
{
	hermit_read_done(folio, hermit_dram_load(data, index, &folio->page));
	return 0;
}

static void hermit_dram_invalidate(void *data, unsigned long index)
{
	hermit_dram_free_page(data, index);
}

static const struct hermit_backend_ops hermit_dram_ops = {
	.chunk_alloc = hermit_dram_chunk_alloc,
	.chunk_free = hermit_dram_chunk_free,
	.store = hermit_dram_store,
	.load = hermit_dram_load,
	.read = hermit_dram_read,
	.invalidate = hermit_dram_invalidate,
};

static struct hermit_backend hermit_dram_backend = {
	.name = "dram",
	.owner = THIS_MODULE,
	.ops = &hermit_dram_ops,
};

static int hermit_dram_used_get(void *data, u64 *val)
{
	*val = (u64)atomic_long_read(&hermit_dram_used) << PAGE_SHIFT;
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(hermit_dram_used_fops, hermit_dram_used_get, NULL, "%llu\n");

static const struct kernel_param hermit_dram_knob = {
	.name = "capacity", .ops = &hermit_size_param_ops, .perm = 0644,
	.arg = &hermit_dram_capacity,
};

static int __init hermit_dram_init(void)
{
	unsigned long max = totalram_pages();
	struct dentry *dir;
	int err;

	if (!hermit_dram_capacity)
		hermit_dram_capacity = max / 4;
	hermit_dram_capacity = min(hermit_dram_capacity, max);
	err = hermit_register_backend(&hermit_dram_backend);
	if (err) {
		pr_err("cannot register: %d\n", err);
		return err;
	}
	dir = debugfs_create_dir("dram", hermit_debugfs_root());
	hermit_debugfs_knob(dir, &hermit_dram_knob);
	debugfs_create_file_unsafe("used", 0444, dir, NULL, &hermit_dram_used_fops);
	return 0;
}
device_initcall(hermit_dram_init);
