/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit backends: where swapped-out pages go instead of the swap device.
 *
 * The core places the slots of every swap area in a space of chunks of
 * HERMIT_CHUNK_PAGES pages, densely: a cluster of slots at a time, in the
 * lowest free place, so that an index inside a chunk may hold another swap
 * slot's page after the core has invalidated it. A backend provides room
 * for a chunk the first time one of its indices is stored (or, with
 * hermit.chunk_ahead, before: the first chunk when Hermit is enabled, and
 * the next free one whenever a store takes the one before), and then
 * writes folios and reads single pages at an index inside a chunk; writes
 * complete asynchronously. Which indices hold what is the core's business:
 * a backend is never asked to load one it did not store.
 */
#ifndef _LINUX_HERMIT_BACKEND_H
#define _LINUX_HERMIT_BACKEND_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/types.h>
#include <asm/page.h>

struct dentry;
struct folio;
struct module;
struct page;

/*
 * log2 of the pages in a chunk: 2 MiB whatever the page size (512 pages of
 * 4 KiB, 32 of 64 KiB), so that a memory server grants the same chunks to
 * clients of every architecture, and the memory it lends a client exceeds
 * the pages held by a few chunks at most (see hermit_spare()).
 */
#define HERMIT_CHUNK_SHIFT	(21 - PAGE_SHIFT)
#define HERMIT_CHUNK_PAGES	BIT(HERMIT_CHUNK_SHIFT)

/**
 * struct hermit_backend_ops - what a Hermit backend implements
 *
 * @chunk_alloc: Provide room for chunk @index of swap area @type. Returns
 *	a cookie that the core passes back for that chunk, or an ERR_PTR:
 *	-ENOSPC when the backend is full, -ENOTCONN when it cannot reach its
 *	memory, any other errno for other failures. May sleep; called in
 *	reclaim context or from a worker, for a chunk that may never be
 *	stored to, and must not recurse into reclaim (GFP_NOIO).
 * @chunk_free: Release a chunk, when the core holds no slot of it any more:
 *	from a worker once the pages held no longer need it, and at swapoff.
 *	May sleep; called with GFP_NOIO in effect.
 * @store: Start writing all pages of @folio (locked, in the swap cache and
 *	under writeback) to the slots of @chunk from @index on (a folio's
 *	slots never straddle chunks). Returns 0 once the write is under way:
 *	the backend then calls hermit_store_done() exactly once, from any
 *	context, possibly before @store returns. Returns -ENOSPC when full,
 *	-ENOTCONN when the memory cannot be reached, another negative errno on
 *	other failures: nothing is under way then and hermit_store_done() is
 *	not called. Either way the slots' previous content may be lost; the
 *	core does not read it again. May sleep (to wait for room in a queue);
 *	GFP_NOIO; must not allocate memory per write when it can be avoided.
 * @load: Read slot @index of @chunk into @page. Returns 0, or a negative
 *	errno when the data cannot be had (the faulting task then gets an I/O
 *	error: SIGBUS). May sleep.
 * @read: Start reading slot @index of @chunk into @folio (order 0, locked,
 *	in the swap cache, not uptodate): a page that swap readahead brings
 *	in besides the faulting one. Returns 0 once the read is under way: the
 *	backend then calls hermit_read_done() exactly once, from any context,
 *	possibly before @read returns. Returns a negative errno when it cannot
 *	start the read without waiting for its memory to be reachable again:
 *	nothing is under way then. May sleep for room in a queue. Optional:
 *	without it, every read is a @load.
 * @invalidate: The core no longer needs slot @index of @chunk. Called with
 *	a spinlock held: must not sleep.
 */
struct hermit_backend_ops {
	void *(*chunk_alloc)(int type, unsigned long index);
	void (*chunk_free)(int type, unsigned long index, void *chunk);
	int (*store)(void *chunk, unsigned long index, struct folio *folio);
	int (*load)(void *chunk, unsigned long index, struct page *page);
	int (*read)(void *chunk, unsigned long index, struct folio *folio);
	void (*invalidate)(void *chunk, unsigned long index);
};

/**
 * struct hermit_backend - a registered backend
 * @name: Name selected with the ``hermit.backend`` knob: lower case letters,
 *	digits, '_' and '-', at most 15 characters.
 * @owner: Module that implements @ops (THIS_MODULE); pinned while a swap
 *	area holds pages in this backend.
 * @ops: The operations.
 * @list: Private to the registry.
 * @users: Private to the registry: swap areas bound to this backend.
 */
struct hermit_backend {
	const char *name;
	struct module *owner;
	const struct hermit_backend_ops *ops;
	struct list_head list;
	unsigned int users;
};

int hermit_register_backend(struct hermit_backend *backend);
int hermit_unregister_backend(struct hermit_backend *backend);
void hermit_store_done(struct folio *folio, int err);
void hermit_read_done(struct folio *folio, int err);
struct dentry *hermit_debugfs_root(void);
struct dentry *hermit_debugfs_knob(struct dentry *parent,
				   const struct kernel_param *kp);

#endif /* _LINUX_HERMIT_BACKEND_H */
