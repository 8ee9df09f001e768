// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit swap hooks: store, load and invalidate swap slots in a backend.
 *
 * The swap device keeps allocating slots and stays the fallback: a page the
 * backend refuses goes to the device as usual, and a slot whose bit is clear
 * is read from the device. A slot is owned by its locked swap cache folio
 * while it is stored or loaded, so the bit of a slot changes under that lock
 * or, once the slot's last reference has gone (it has no owner left), with
 * an atomic clear; the backend's copy is kept after a load (the folio stays
 * clean), so a page that is reclaimed again without being written costs no
 * second transfer.
 */

#define pr_fmt(fmt) "hermit: " fmt

#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/fault-inject.h>
#include <linux/hermit.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/zswap.h>

#include <trace/events/hermit.h>

#include "internal.h"

static struct hermit_area *hermit_areas[MAX_SWAPFILES];
/* Serialises hermit_areas_prepare() with areas going away. */
static DEFINE_MUTEX(hermit_areas_lock);
static bool hermit_used;

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "hermit."

/*
 * Allocate the spare chunk, the one the next cluster placed takes, from a
 * worker, so that its grant (a round trip to a memory server, which zeroes
 * and registers 2 MiB) is not waited for in reclaim (see hermit_spare()).
 * The worker holds the area's lock while it allocates: a store that needs
 * another new chunk meanwhile waits for both. An area's first chunk is
 * allocated the same way when Hermit is enabled (see
 * hermit_areas_prepare()).
 */
static bool hermit_chunk_ahead = true;
module_param_cb(chunk_ahead, &hermit_bool_param_ops, &hermit_chunk_ahead, 0644);
MODULE_PARM_DESC(chunk_ahead, "Allocate the next chunk of a swap area before a store needs it (default Y)");

/* Chunks allocated ahead of the first store to them. */
atomic_long_t hermit_chunks_ahead;

/* Chunks given back before swapoff, because the pages held shrank. */
atomic_long_t hermit_chunks_returned;

/* Backend clusters placed under a swap cluster, in all areas. */
atomic_long_t hermit_clusters_used;

static const struct kernel_param hermit_swap_knobs[] = {
	{ .name = "chunk_ahead", .ops = &hermit_bool_param_ops, .perm = 0644,
	  .arg = &hermit_chunk_ahead },
};

#ifdef CONFIG_HERMIT_FAULT_INJECTION
static DECLARE_FAULT_ATTR(hermit_fail_load);

static bool hermit_load_fails(void)
{
	return should_fail(&hermit_fail_load, PAGE_SIZE);
}
#else
static bool hermit_load_fails(void)
{
	return false;
}
#endif

void hermit_swap_debugfs_init(struct dentry *dir)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hermit_swap_knobs); i++)
		hermit_debugfs_knob(dir, &hermit_swap_knobs[i]);
#ifdef CONFIG_HERMIT_FAULT_INJECTION
	fault_create_debugfs_attr("fail_load", dir, &hermit_fail_load);
#endif
}

struct hermit_area *hermit_area_of(int type)
{
	if (type < 0 || type >= MAX_SWAPFILES)
		return NULL;
	return READ_ONCE(hermit_areas[type]);
}

/**
 * hermit_never_used() - whether no page was ever offered to a backend
 *
 * Large folio swap-in stays off once Hermit is in use: a large folio may be
 * partly in the backend and partly on the device.
 *
 * Return: true until the first store is offered to a backend.
 */
bool hermit_never_used(void)
{
	return !READ_ONCE(hermit_used);
}

/* The area's backend, bound to the selected one at the first store. */
static struct hermit_backend *hermit_area_backend(struct hermit_area *area)
{
	struct hermit_backend *b = READ_ONCE(area->backend);

	if (b)
		return b;
	mutex_lock(&area->lock);
	b = area->backend;
	if (!b) {
		b = hermit_backend_bind();
		if (b) {
			/* Pairs with READ_ONCE() above: b is fully set up. */
			smp_store_release(&area->backend, b);
			pr_info("swap area %d uses backend %s\n", area->type, b->name);
		}
	}
	mutex_unlock(&area->lock);
	return b;
}

/*
 * hermit_area_chunk() with the area's lock held: *@new is set when the
 * chunk was allocated now.
 */
static void *hermit_area_chunk_locked(struct hermit_area *area,
				      struct hermit_backend *b,
				      unsigned long chunk, bool *new)
{
	void *c = area->chunks[chunk];

	lockdep_assert_held(&area->lock);
	if (c)
		return c;
	c = b->ops->chunk_alloc(area->type, chunk);
	if (!c)
		return ERR_PTR(-ENOMEM);
	if (!IS_ERR(c)) {
		__set_bit(chunk, area->chunk_set);
		/* Publish after the backend has set the chunk up. */
		smp_store_release(&area->chunks[chunk], c);
		*new = true;
	}
	return c;
}

/* The cookie of @chunk, allocated on first use. */
static void *hermit_area_chunk(struct hermit_area *area,
			       struct hermit_backend *b, unsigned long chunk)
{
	/* Pairs with the release above: the chunk is set up when seen. */
	void *c = smp_load_acquire(&area->chunks[chunk]);
	bool new = false;

	if (c)
		return c;
	mutex_lock(&area->lock);
	c = hermit_area_chunk_locked(area, b, chunk, &new);
	mutex_unlock(&area->lock);
	return c;
}

/*
 * Slots are placed in the backend a cluster at a time. The first slot of a
 * swap cluster to be stored takes the lowest free backend cluster for the
 * whole swap cluster, which gives it back once none of its slots is held
 * or being stored. The backend space in use is thus as dense as the pages
 * held, wherever the swap allocator puts them (6.12 spreads a
 * non-rotational device's clusters over the whole area, 64 MiB apart).
 * A chunk is one cluster (see internal.h): the backend holds the chunks of
 * the clusters placed, and the spare, which the next cluster placed takes
 * (the lowest free one), and the one after it. A worker allocates the
 * spare ahead (hermit_area_ahead_work()), and another gives back every
 * other chunk without a cluster placed (hermit_area_trim_work()): the
 * second one kept is the margin that keeps a workload whose pages come
 * and go across a cluster's edge from having a chunk allocated and given
 * back each time. The backend is asked to invalidate every slot of a
 * cluster before the cluster is placed anew.
 */

/* The spare chunk; the area's nr_chunks when every chunk is placed. */
static unsigned long hermit_spare(struct hermit_area *area)
{
	lockdep_assert_held(&area->cl_lock);
	return find_first_zero_bit(area->bcl_used, area->nr_chunks);
}

/* Whether chunk @c is the spare or the free one after it. */
static bool hermit_spare_kept(struct hermit_area *area, unsigned long c)
{
	unsigned long spare = hermit_spare(area);

	return c == spare ||
	       c == find_next_zero_bit(area->bcl_used, area->nr_chunks, spare + 1);
}

/*
 * @nr slots from @offset on (one swap cluster) are being stored. Returns
 * whether they took the spare and the next one is not allocated.
 */
static bool hermit_cl_get(struct hermit_area *area, unsigned long offset, long nr)
{
	unsigned long cl = offset >> HERMIT_CHUNK_SHIFT, bcl, flags;
	bool ahead = false;

	spin_lock_irqsave(&area->cl_lock, flags);
	if (!area->cl_used[cl]) {
		/* Never full: there are as many backend clusters as swap ones. */
		bcl = hermit_spare(area);
		__set_bit(bcl, area->bcl_used);
		WRITE_ONCE(area->cl_place[cl], bcl);
		atomic_long_inc(&hermit_clusters_used);
		/* The spare was taken: have the next one allocated. */
		bcl = find_next_zero_bit(area->bcl_used, area->nr_chunks, bcl + 1);
		ahead = bcl < area->nr_chunks && !READ_ONCE(area->chunks[bcl]);
	}
	area->cl_used[cl] += nr;
	spin_unlock_irqrestore(&area->cl_lock, flags);
	return ahead;
}

/*
 * @nr slots from @offset on are neither held nor being stored any more.
 * A cluster left without a slot has hermit_area_trim_work() give back the
 * chunks no longer kept.
 */
static void hermit_cl_put(struct hermit_area *area, unsigned long offset, long nr)
{
	unsigned long cl = offset >> HERMIT_CHUNK_SHIFT, flags;
	bool trim = false;

	spin_lock_irqsave(&area->cl_lock, flags);
	if (!WARN_ON_ONCE(area->cl_used[cl] < nr)) {
		area->cl_used[cl] -= nr;
		if (!area->cl_used[cl]) {
			__clear_bit(area->cl_place[cl], area->bcl_used);
			atomic_long_dec(&hermit_clusters_used);
			trim = true;
		}
	}
	spin_unlock_irqrestore(&area->cl_lock, flags);
	if (trim)
		queue_work(system_unbound_wq, &area->trim_work);
}

/*
 * Where slot @offset lives in the backend space: its swap cluster must be
 * placed (a store in flight or the slot's remote bit keeps it so).
 */
static unsigned long hermit_place(struct hermit_area *area, unsigned long offset)
{
	unsigned long bcl = READ_ONCE(area->cl_place[offset >> HERMIT_CHUNK_SHIFT]);

	return (bcl << HERMIT_CHUNK_SHIFT) | (offset & (HERMIT_CHUNK_PAGES - 1));
}

/* The backend's cookie of the chunk slot @offset is placed in, and its *@index there. */
static void *hermit_slot_chunk(struct hermit_area *area, unsigned long offset,
			       unsigned long *index)
{
	unsigned long place = hermit_place(area, offset);

	*index = hermit_index_in_chunk(place);
	return area->chunks[hermit_chunk_of(place)];
}

/*
 * Allocate the spare chunk unless it is there. Queued when a store took
 * the spare and had its own chunk (the backend is bound), or by
 * hermit_areas_prepare() (the area binds to the selected backend here
 * unless a store did first; nothing is placed, so the spare is the first
 * chunk); the backend's chunk_alloc keeps itself out of reclaim. A failure
 * is not retried: the chunk's first store allocates it (or is refused) as
 * without this. The spare is found under the area's lock, which the trim
 * takes too: a cluster that empties meanwhile queues a trim, which runs
 * after this and gives back what is no longer kept.
 */
static void hermit_area_ahead_work(struct work_struct *work)
{
	struct hermit_area *area = container_of(work, struct hermit_area, ahead_work);
	struct hermit_backend *b = READ_ONCE(area->backend);
	unsigned long spare, flags;
	bool new = false;

	if (!b) {
		if (!READ_ONCE(hermit_enabled))
			return;
		b = hermit_area_backend(area);
		if (!b)
			return;
	}
	mutex_lock(&area->lock);
	spin_lock_irqsave(&area->cl_lock, flags);
	spare = hermit_spare(area);
	spin_unlock_irqrestore(&area->cl_lock, flags);
	if (spare < area->nr_chunks)
		hermit_area_chunk_locked(area, b, spare, &new);
	mutex_unlock(&area->lock);
	if (new)
		atomic_long_inc(&hermit_chunks_ahead);
}

/**
 * hermit_area_prepare() - bind a swap area and allocate its first chunk ahead
 * @area: A published swap area; its swapoff is held off by the caller.
 *
 * With Hermit enabled and chunk_ahead, an area not bound to a backend yet
 * binds to the selected one in the background and its first chunk is
 * allocated there, so that the area's first store does not wait for the
 * backend to set a chunk up (on the RDMA backend: a round trip, and 2 MiB
 * zeroed and registered on the server).
 *
 * Return: whether the worker was queued.
 */
bool hermit_area_prepare(struct hermit_area *area)
{
	return READ_ONCE(hermit_enabled) && READ_ONCE(hermit_chunk_ahead) &&
	       !READ_ONCE(area->backend) &&
	       queue_work(system_unbound_wq, &area->ahead_work);
}

/**
 * hermit_areas_prepare() - Hermit was enabled, or a backend was selected
 *
 * hermit_area_prepare() for every swap area. An area swapped on while
 * Hermit is enabled binds at its first store (or at the next write of
 * either knob), not at swapon: scripts select the backend after swapon.
 */
void hermit_areas_prepare(void)
{
	struct hermit_area *area;
	int type;

	mutex_lock(&hermit_areas_lock);
	for (type = 0; type < MAX_SWAPFILES; type++) {
		area = hermit_areas[type];
		if (area)
			hermit_area_prepare(area);
	}
	mutex_unlock(&hermit_areas_lock);
}

/*
 * Give back every chunk without a cluster placed but the spare and the one
 * after it: the backend's room shrinks with the pages held, down to two
 * chunks more. A chunk's cookie is cleared under cl_lock once no cluster
 * of it is placed: a store placed there later finds it NULL and allocates
 * the chunk again, under the area's lock, after the backend has freed it.
 * The backend's chunk_free may allocate: kept out of I/O reclaim, whose
 * stores may wait for the area's lock.
 */
static void hermit_area_trim_work(struct work_struct *work)
{
	struct hermit_area *area = container_of(work, struct hermit_area, trim_work);
	struct hermit_backend *b = READ_ONCE(area->backend);
	unsigned long c, flags;
	unsigned int noio;
	void *cookie;

	if (WARN_ON_ONCE(!b))
		return;
	noio = memalloc_noio_save();
	mutex_lock(&area->lock);
	/*
	 * A chunk is a cluster: those allocated without one placed. bcl_used
	 * is read without cl_lock here, as a hint: checked again under it.
	 */
	for_each_andnot_bit(c, area->chunk_set, area->bcl_used, area->nr_chunks) {
		spin_lock_irqsave(&area->cl_lock, flags);
		if (test_bit(c, area->bcl_used) || hermit_spare_kept(area, c)) {
			spin_unlock_irqrestore(&area->cl_lock, flags);
			continue;
		}
		cookie = area->chunks[c];
		WRITE_ONCE(area->chunks[c], NULL);
		spin_unlock_irqrestore(&area->cl_lock, flags);
		__clear_bit(c, area->chunk_set);
		b->ops->chunk_free(area->type, c, cookie);
		atomic_long_inc(&hermit_chunks_returned);
	}
	mutex_unlock(&area->lock);
	memalloc_noio_restore(noio);
}

/*
 * The backend's copy of a slot is being overwritten or dropped: not held
 * meanwhile. A freed slot comes here twice (hermit_invalidate()): the
 * second time, a plain read finds the bit clear.
 */
static bool hermit_unmark(struct hermit_area *area, unsigned long offset)
{
	if (!test_bit(offset, area->remote) ||
	    !test_and_clear_bit(offset, area->remote))
		return false;
	atomic_long_dec(&area->held);
	atomic_long_dec(&hermit_pages_held);
	return true;
}

/* Forget the backend's copy of a slot, if it has one. */
static bool hermit_drop(struct hermit_area *area, unsigned long offset)
{
	unsigned long index;
	void *chunk;

	if (!hermit_unmark(area, offset))
		return false;
	chunk = hermit_slot_chunk(area, offset, &index);
	area->backend->ops->invalidate(chunk, index);
	hermit_cl_put(area, offset, 1);
	return true;
}

/*
 * A write of @nr slots did not happen or failed: the backend drops them,
 * and they are no longer being stored.
 */
static void hermit_forget(struct hermit_area *area, unsigned long offset, long nr)
{
	unsigned long index;
	void *chunk = hermit_slot_chunk(area, offset, &index);
	long i;

	for (i = 0; i < nr; i++)
		area->backend->ops->invalidate(chunk, index + i);
	hermit_cl_put(area, offset, nr);
}

/* A written slot is held: what kept its cluster placed while it was stored now does. */
static void hermit_mark_held(struct hermit_area *area, unsigned long offset)
{
	if (!test_and_set_bit(offset, area->remote)) {
		atomic_long_inc(&area->held);
		atomic_long_inc(&hermit_pages_held);
	} else {
		hermit_cl_put(area, offset, 1);
	}
}

static enum hermit_stat hermit_refusal(int err)
{
	switch (err) {
	case -ENOSPC:
	case -ENOMEM:
		return HERMIT_REFUSED_FULL;
	case -ENOTCONN:
	case -ECONNRESET:
	case -ESHUTDOWN:
	case -EHOSTUNREACH:
		return HERMIT_REFUSED_UNAVAILABLE;
	default:
		return HERMIT_REFUSED_ERROR;
	}
}

/*
 * Nothing was sent after all: undo folio_start_writeback(), keeping
 * reclaim's mark for the device write that follows.
 */
static void hermit_store_cancel(struct folio *folio)
{
	bool reclaim = folio_test_reclaim(folio);

	atomic_long_sub(folio_nr_pages(folio), &hermit_stores_in_flight);
	folio_end_writeback(folio);
	if (reclaim)
		folio_set_reclaim(folio);
}

/* @folio goes to the swap device: count why. */
static void hermit_refuse(struct folio *folio, enum hermit_stat reason)
{
	long nr = folio_nr_pages(folio);

	hermit_count_folio(folio, reason, nr);
	trace_hermit_refuse(swp_type(folio->swap), swp_offset(folio->swap), nr,
			    hermit_stat_names[reason]);
}

/**
 * hermit_store() - offer a folio being swapped out to the backend
 * @folio: Locked swap cache folio.
 *
 * The write is asynchronous: a folio the backend takes is put under
 * writeback, which hermit_store_done() ends. Every page of a large folio is
 * stored, or none is.
 *
 * Return: true when the backend has taken the whole folio; false when the
 * folio must go to the swap device (any earlier copy in the backend of its
 * slots is then dropped, so it is never read back instead).
 */
bool hermit_store(struct folio *folio)
{
	swp_entry_t entry = folio->swap;
	struct hermit_area *area = hermit_area_of(swp_type(entry));
	unsigned long offset = swp_offset(entry);
	long i, nr = folio_nr_pages(folio);
	enum hermit_stat reason;
	struct hermit_backend *b;
	unsigned long place;
	void *chunk;
	bool ahead;
	int err;

	VM_WARN_ON_ONCE(!folio_test_locked(folio));
	if (!area)
		return false;
	if (!READ_ONCE(hermit_enabled)) {
		reason = HERMIT_REFUSED_DISABLED;
		goto refuse;
	}
	b = hermit_area_backend(area);
	if (!b) {
		reason = HERMIT_REFUSED_NO_BACKEND;
		goto refuse;
	}
	if (!READ_ONCE(hermit_used))
		WRITE_ONCE(hermit_used, true);
	/*
	 * A folio larger than a chunk (a PMD's worth with pages above 4 KiB)
	 * goes to the device. Swap slots of a large folio are aligned to its
	 * size, so a smaller one never straddles a chunk.
	 */
	if (nr > HERMIT_CHUNK_PAGES ||
	    WARN_ON_ONCE((offset ^ (offset + nr - 1)) >> HERMIT_CHUNK_SHIFT)) {
		reason = HERMIT_REFUSED_ERROR;
		goto refuse;
	}
	/*
	 * From here until the write is over or given up, these slots keep
	 * their cluster placed; a held slot's own count is given up below.
	 */
	ahead = hermit_cl_get(area, offset, nr);
	place = hermit_place(area, offset);
	chunk = hermit_area_chunk(area, b, hermit_chunk_of(place));
	if (IS_ERR(chunk)) {
		hermit_cl_put(area, offset, nr);
		reason = hermit_refusal(PTR_ERR(chunk));
		goto refuse;
	}
	/* Only once this chunk was had: a refused one is the spare again. */
	if (ahead && READ_ONCE(hermit_chunk_ahead))
		queue_work(system_unbound_wq, &area->ahead_work);
	/*
	 * The backend's copy of these slots, if any, is overwritten from now
	 * on: not held until the write has completed. Nobody reads the slots
	 * meanwhile, the folio stays in the swap cache under writeback.
	 */
	for (i = 0; i < nr; i++) {
		if (hermit_unmark(area, offset + i))
			hermit_cl_put(area, offset + i, 1);
	}
	/*
	 * zswap may hold an older copy of these slots, stored while Hermit
	 * refused them and kept while the folio stayed in the swap cache.
	 * zswap drops it only in its own store, which this one replaces:
	 * drop it here, or zswap writeback could one day put the old data in
	 * the swap cache. The folio is locked in the swap cache, so no
	 * writeback of these slots is under way. Without zswap ever on,
	 * there is nothing to drop: no tree walk on the reclaim path.
	 */
	if (!zswap_never_enabled()) {
		for (i = 0; i < nr; i++)
			zswap_invalidate(swp_entry(swp_type(entry), offset + i));
	}
	atomic_long_add(nr, &hermit_stores_in_flight);
	folio_start_writeback(folio);
	trace_hermit_store(swp_type(entry), offset, nr, 0);
	err = b->ops->store(chunk, hermit_index_in_chunk(place), folio);
	if (!err)
		return true;
	hermit_store_cancel(folio);
	hermit_refuse(folio, hermit_refusal(err));
	hermit_forget(area, offset, nr);
	return false;

refuse:
	hermit_refuse(folio, reason);
	/* A slot's bit is only ever set once a backend is bound. */
	for (i = 0; i < nr; i++)
		hermit_drop(area, offset + i);
	return false;
}

/**
 * hermit_store_done() - a backend has finished writing a folio
 * @folio: The folio hermit_store() gave the backend, under writeback.
 * @err: 0 when the backend holds every page of it now, else a negative
 *	errno.
 *
 * A failed write loses nothing: the folio is dirtied again, so reclaim
 * writes it once more (to the swap device, while the backend cannot take
 * it), and the backend's partial copy is dropped. Ends the writeback. Any
 * context.
 */
void hermit_store_done(struct folio *folio, int err)
{
	struct hermit_area *area = hermit_area_of(swp_type(folio->swap));
	unsigned long offset = swp_offset(folio->swap);
	long i, nr = folio_nr_pages(folio);

	trace_hermit_store_done(swp_type(folio->swap), offset, nr, err);
	/* The folio under writeback keeps its slots, and swapoff waits. */
	if (!err) {
		for (i = 0; i < nr; i++)
			hermit_mark_held(area, offset + i);
		hermit_count_folio(folio, HERMIT_STORED, nr);
		if (nr > 1)
			hermit_count(HERMIT_STORED_LARGE, 1);
	} else {
		hermit_forget(area, offset, nr);
		hermit_count(HERMIT_STORE_FAILED, nr);
		folio_mark_dirty(folio);
		folio_clear_reclaim(folio);
	}
	atomic_long_sub(nr, &hermit_stores_in_flight);
	folio_end_writeback(folio);
}
EXPORT_SYMBOL_GPL(hermit_store_done);

/*
 * Returns whether the backend holds the slots; see hermit_load(). @first:
 * the read swap_read_folio() asks for (not hermit_reload()'s): the fault
 * injection applies, a readahead folio is read asynchronously where the
 * backend can, and the folio is unlocked once the read is over.
 */
static bool __hermit_load(struct folio *folio, bool first)
{
	swp_entry_t entry = folio->swap;
	struct hermit_area *area = hermit_area_of(swp_type(entry));
	unsigned long offset = swp_offset(entry);
	long i, held = 0, nr = folio_nr_pages(folio);
	unsigned long index;
	struct hermit_backend *b;
	void *chunk;
	int err = -EIO;

	VM_WARN_ON_ONCE(!folio_test_locked(folio));
	if (!area)
		return false;
	for (i = 0; i < nr; i++)
		held += test_bit(offset + i, area->remote);
	if (!held)
		return false;
	/* Large swap-in is off while Hermit is used (hermit_never_used()). */
	if (WARN_ON_ONCE(held != nr) || (first && hermit_load_fails())) {
		hermit_count(HERMIT_LOAD_ERRORS, nr);
		goto out;
	}
	b = area->backend;
	if (first && nr == 1 && b->ops->read && folio_test_readahead(folio)) {
		hermit_count_folio(folio, HERMIT_PREFETCH_SWAPIN, 1);
		set_bit(offset, area->prefetched);
		trace_hermit_prefetch(swp_type(entry), offset, 1, 0);
		/* Started: hermit_read_done() unlocks the folio. */
		chunk = hermit_slot_chunk(area, offset, &index);
		err = b->ops->read(chunk, index, folio);
		if (!err)
			return true;
		/* Not started: a later fault on the page reads it again. */
		trace_hermit_prefetch_done(swp_type(entry), offset, 1, err);
		hermit_count(HERMIT_LOAD_ERRORS, 1);
		goto unlock;
	}
	if (first) {
		/* Readahead of this task waiting in its plug goes out first. */
		blk_flush_plug(current->plug, false);
		hermit_count_folio(folio, HERMIT_ONDEMAND_SWAPIN, nr);
	}
	for (i = 0; i < nr; i++) {
		unsigned long slot = offset + i;

		chunk = hermit_slot_chunk(area, slot, &index);
		err = b->ops->load(chunk, index, folio_page(folio, i));
		if (err) {
			hermit_count(HERMIT_LOAD_ERRORS, nr);
			goto out;
		}
	}
	folio_mark_uptodate(folio);
	hermit_count_folio(folio, HERMIT_LOADED, nr);
out:
	trace_hermit_load(swp_type(entry), offset, nr, err);
unlock:
	if (first)
		folio_unlock(folio);
	return true;
}

/**
 * hermit_holds() - whether the backend holds a swap slot's page
 * @entry: The swap entry; the caller keeps its swap device from going.
 *
 * It may change right after (a store, an invalidation): for choices that
 * are only about speed.
 *
 * Return: true when a read of the slot would be served by the backend.
 */
bool hermit_holds(swp_entry_t entry)
{
	struct hermit_area *area = hermit_area_of(swp_type(entry));

	return area && test_bit(swp_offset(entry), area->remote);
}

/**
 * hermit_read_done() - a backend has finished a read that ->read started
 * @folio: The folio ->read was given, locked.
 * @err: 0 when the folio holds the slot's data now, else a negative errno.
 *
 * Marks the folio uptodate when the read succeeded and unlocks it, as
 * end_swap_bio_read() does. A failed read leaves the folio !uptodate in
 * the swap cache, where hermit_reload() reads it again once the page is
 * needed: a prefetch that fails never becomes an error by itself. Any
 * context.
 */
void hermit_read_done(struct folio *folio, int err)
{
	trace_hermit_prefetch_done(swp_type(folio->swap), swp_offset(folio->swap),
				   1, err);
	if (!err) {
		folio_mark_uptodate(folio);
		hermit_count_folio(folio, HERMIT_LOADED, 1);
	} else {
		hermit_count(HERMIT_LOAD_ERRORS, 1);
	}
	folio_unlock(folio);
}
EXPORT_SYMBOL_GPL(hermit_read_done);

/**
 * hermit_load() - read a folio being swapped in from the backend
 * @folio: Locked folio with folio->swap set, not uptodate.
 *
 * A folio that swap readahead brings in besides the faulting page (it is
 * marked PG_readahead before it is read) is read asynchronously where the
 * backend can: it stays locked until the data is there, and a fault on it
 * meanwhile waits for that lock, as for a read from a disk. Every other
 * read is synchronous.
 *
 * Return: false when the backend does not hold the folio's slots: the
 * folio is left locked, read it from the swap device. True when it does:
 * the folio is unlocked once the read is over (possibly before this
 * returns), uptodate if the backend delivered; otherwise it is left
 * !uptodate, hermit_reload() tries again when the folio is needed, and
 * only if that fails too does the fault end in an I/O error (SIGBUS)
 * instead of mapping wrong data.
 */
bool hermit_load(struct folio *folio)
{
	return __hermit_load(folio, true);
}

/* Forget that the slot's page was read ahead; returns whether it was. */
static bool hermit_unprefetch(struct hermit_area *area, unsigned long offset)
{
	return area && test_bit(offset, area->prefetched) &&
	       test_and_clear_bit(offset, area->prefetched);
}

/**
 * hermit_prefetch_hit() - a fault found a folio in the swap cache
 * @entry: Its swap entry.
 * @folio: The folio (order 0).
 *
 * Counts the first access to each folio read ahead from the backend, and
 * those that came while its read was still under way. Any context; the
 * folio need not be locked (a statistic).
 */
void hermit_prefetch_hit(swp_entry_t entry, struct folio *folio)
{
	if (!hermit_unprefetch(hermit_area_of(swp_type(entry)), swp_offset(entry)))
		return;
	hermit_count_folio(folio, HERMIT_HITON_SWAP_CACHE, 1);
	if (folio_test_locked(folio) && !folio_test_uptodate(folio))
		hermit_count(HERMIT_PREFETCH_LATE, 1);
}

/**
 * hermit_prefetch_unused() - a folio leaves the swap cache
 * @entry: Its swap entry (the first, for a large folio: only order-0
 *	folios are read ahead).
 * @folio: The folio.
 *
 * Counts the folios read ahead from the backend that nothing accessed.
 * Called under the swap cache's lock.
 */
void hermit_prefetch_unused(swp_entry_t entry, struct folio *folio)
{
	if (hermit_unprefetch(hermit_area_of(swp_type(entry)), swp_offset(entry)))
		hermit_count(HERMIT_PREFETCH_WASTED, 1);
}

/**
 * hermit_reload() - read a swap cache folio again whose read failed
 * @folio: Locked folio that a fault, swapoff or shmem is about to use.
 *
 * A read from the backend fails for a while when the connection breaks,
 * and for good when the data is gone or the backend gave up. A readahead
 * folio whose read failed stays in the swap cache !uptodate, and every
 * user of the swap cache takes that for an I/O error: called where they
 * check, this gives the slot one more read, bounded by the backend's own
 * deadline, so that a transient failure of a speculative read never
 * becomes a SIGBUS. Folios that Hermit does not hold are left alone.
 */
void hermit_reload(struct folio *folio)
{
	if (likely(folio_test_uptodate(folio)) || !folio_test_swapcache(folio))
		return;
	if (__hermit_load(folio, false) && folio_test_uptodate(folio))
		hermit_count(HERMIT_RELOADED, folio_nr_pages(folio));
}

/**
 * hermit_invalidate() - swap slots were freed
 * @type: Swap type.
 * @offset: First slot.
 * @nr: Number of slots.
 *
 * Called by free_swap_slot() as a slot's last reference goes, before the
 * CPU's swap slots cache hands it back (at most 64 frees later), and by
 * swap_range_free() as slots are handed back (under the swap_info lock),
 * where a slot dropped already has nothing left to drop. Does not sleep.
 */
void hermit_invalidate(int type, unsigned long offset, unsigned int nr)
{
	struct hermit_area *area = hermit_area_of(type);
	unsigned long n = 0;
	unsigned int i;

	if (!area || !READ_ONCE(area->backend))
		return;
	for (i = 0; i < nr; i++) {
		n += hermit_drop(area, offset + i);
		if (hermit_unprefetch(area, offset + i))
			hermit_count(HERMIT_PREFETCH_WASTED, 1);
	}
	if (n)
		hermit_count(HERMIT_INVALIDATED, n);
}

static void hermit_area_free(struct hermit_area *area)
{
	kvfree(area->remote);
	kvfree(area->prefetched);
	kvfree(area->chunks);
	kvfree(area->cl_used);
	kvfree(area->cl_place);
	kvfree(area->bcl_used);
	kvfree(area->chunk_set);
	kfree(area);
}

/**
 * hermit_swapon() - a swap area is being enabled
 * @type: Swap type.
 * @nr_pages: Slots in the area.
 *
 * Return: 0, or -ENOMEM (swapon then fails).
 */
int hermit_swapon(int type, unsigned long nr_pages)
{
	struct hermit_area *area;

	area = kzalloc(sizeof(*area), GFP_KERNEL);
	if (!area)
		return -ENOMEM;
	area->type = type;
	area->nr_pages = nr_pages;
	area->nr_chunks = hermit_nr_chunks(nr_pages);
	mutex_init(&area->lock);
	spin_lock_init(&area->cl_lock);
	atomic_long_set(&area->held, 0);
	INIT_WORK(&area->ahead_work, hermit_area_ahead_work);
	INIT_WORK(&area->trim_work, hermit_area_trim_work);
	area->remote = kvcalloc(BITS_TO_LONGS(nr_pages), sizeof(long), GFP_KERNEL);
	area->prefetched = kvcalloc(BITS_TO_LONGS(nr_pages), sizeof(long), GFP_KERNEL);
	area->chunks = kvcalloc(area->nr_chunks, sizeof(void *), GFP_KERNEL);
	area->cl_used = kvcalloc(area->nr_chunks, sizeof(int), GFP_KERNEL);
	area->cl_place = kvcalloc(area->nr_chunks, sizeof(int), GFP_KERNEL);
	area->bcl_used = kvcalloc(BITS_TO_LONGS(area->nr_chunks), sizeof(long),
				  GFP_KERNEL);
	area->chunk_set = kvcalloc(BITS_TO_LONGS(area->nr_chunks), sizeof(long),
				   GFP_KERNEL);
	if (!area->remote || !area->prefetched || !area->chunks ||
	    !area->cl_used || !area->cl_place || !area->bcl_used ||
	    !area->chunk_set) {
		hermit_area_free(area);
		return -ENOMEM;
	}
	mutex_lock(&hermit_areas_lock);
	WRITE_ONCE(hermit_areas[type], area);
	mutex_unlock(&hermit_areas_lock);
	return 0;
}

/**
 * hermit_swapoff() - a swap area is gone
 * @type: Swap type.
 *
 * try_to_unuse() has read every page back and freed every slot by now, so
 * the backend holds nothing of this area; its chunks are released and the
 * backend unbound.
 */
void hermit_swapoff(int type)
{
	struct hermit_area *area = hermit_area_of(type);
	struct hermit_backend *b;
	unsigned long i;

	if (!area)
		return;
	mutex_lock(&hermit_areas_lock);
	WRITE_ONCE(hermit_areas[type], NULL);
	mutex_unlock(&hermit_areas_lock);
	/* No store runs any more, and prepare cannot find the area. */
	cancel_work_sync(&area->ahead_work);
	b = area->backend;
	if (b && WARN_ON_ONCE(atomic_long_read(&area->held))) {
		for_each_set_bit(i, area->remote, area->nr_pages)
			hermit_drop(area, i);
	}
	/* Nothing queues it any more: let it finish giving chunks back. */
	flush_work(&area->trim_work);
	if (b) {
		for_each_set_bit(i, area->chunk_set, area->nr_chunks)
			b->ops->chunk_free(type, i, area->chunks[i]);
		hermit_backend_unbind(b);
	}
	hermit_area_free(area);
}
