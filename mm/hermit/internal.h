/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit internals shared by the files of mm/hermit/ and its KUnit tests.
 */
#ifndef _MM_HERMIT_INTERNAL_H
#define _MM_HERMIT_INTERNAL_H

#include <linux/atomic.h>
#include <linux/hermit_backend.h>
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vmstat.h>
#include <linux/workqueue.h>

struct dentry;

/* Where a swap slot lives in the chunked backend space. */
static inline unsigned long hermit_chunk_of(unsigned long offset)
{
	return offset >> HERMIT_CHUNK_SHIFT;
}

static inline unsigned long hermit_index_in_chunk(unsigned long offset)
{
	return offset & (HERMIT_CHUNK_PAGES - 1);
}

static inline unsigned long hermit_nr_chunks(unsigned long nr_pages)
{
	return DIV_ROUND_UP(nr_pages, HERMIT_CHUNK_PAGES);
}

/*
 * Slots are placed in the backend a swap cluster at a time: a chunk of
 * HERMIT_CHUNK_PAGES aligned slots. The slots of a large folio are aligned
 * to its size, so a folio no larger than a chunk (2 MiB: a PMD's worth
 * with 4 KiB pages) never straddles one; a larger one (a PMD's worth with
 * larger pages) goes to the swap device.
 */

/**
 * struct hermit_area - Hermit's state of one swap area (swap type)
 * @type: The swap type.
 * @nr_pages: Slots in the area.
 * @remote: One bit per slot: set while the backend holds the slot's page.
 *	Only the owner of the slot (the locked swap cache folio) sets it or
 *	reads it; once the slot's last reference has gone it is cleared
 *	atomically (free_swap_slot(), then swap_range_free() finds it clear).
 * @prefetched: One bit per slot: set while a folio read ahead from the
 *	backend has not been accessed yet (for the prefetch counters: the
 *	folio's PG_readahead is PG_reclaim too).
 * @chunks: Backend cookie of each chunk; NULL until it is allocated, at
 *	its first store or ahead of it, and after it is given back. Set
 *	under @lock; cleared under @lock and @cl_lock.
 * @nr_chunks: Entries in @chunks.
 * @chunk_set: One bit per chunk: set while it has a cookie in @chunks.
 *	Changed under @lock.
 * @cl_used: Per swap cluster (a chunk's worth of slots of the area): its
 *	slots that the backend holds or that are being stored; @nr_chunks
 *	entries.
 * @cl_place: Per swap cluster with @cl_used non-zero: the chunk of the
 *	backend space its slots are placed in.
 * @bcl_used: One bit per chunk of the backend space: placed under a swap
 *	cluster.
 * @cl_lock: Serialises @cl_used, @cl_place and @bcl_used. A @cl_place
 *	entry is read without it by whoever keeps @cl_used from reaching 0:
 *	a store in flight, or a slot's @remote bit.
 * @backend: Bound at the first store, kept until swapoff.
 * @lock: Serialises binding and chunk allocation.
 * @held: Pages of this area in the backend.
 * @ahead_work: Allocates the spare chunk (the lowest without a cluster
 *	placed, which the next cluster placed takes) before a store needs it.
 * @trim_work: Gives back the chunks without a cluster placed but the spare
 *	and the next free one.
 */
struct hermit_area {
	int type;
	unsigned long nr_pages;
	unsigned long *remote;
	unsigned long *prefetched;
	void **chunks;
	unsigned long nr_chunks;
	unsigned long *chunk_set;
	unsigned int *cl_used;
	unsigned int *cl_place;
	unsigned long *bcl_used;
	spinlock_t cl_lock;	/* cl_used, cl_place, bcl_used */
	struct hermit_backend *backend;
	struct mutex lock;	/* binding and chunk allocation */
	atomic_long_t held;
	struct work_struct ahead_work;
	struct work_struct trim_work;
};

/* The order is ABI: struct hermit_stats in include/uapi/linux/hermit.h. */
enum hermit_stat {
	HERMIT_STORED,
	HERMIT_STORED_LARGE,
	HERMIT_LOADED,
	HERMIT_ONDEMAND_SWAPIN,
	HERMIT_PREFETCH_SWAPIN,
	HERMIT_HITON_SWAP_CACHE,
	HERMIT_PREFETCH_LATE,
	HERMIT_PREFETCH_WASTED,
	HERMIT_PREFETCH_QUEUED,
	HERMIT_INVALIDATED,
	HERMIT_REFUSED_DISABLED,
	HERMIT_REFUSED_NO_BACKEND,
	HERMIT_REFUSED_FULL,
	HERMIT_REFUSED_UNAVAILABLE,
	HERMIT_REFUSED_ERROR,
	HERMIT_STORE_FAILED,
	HERMIT_LOAD_ERRORS,
	HERMIT_RELOADED,
	HERMIT_FS_QUEUED,
	HERMIT_FS_RECLAIMED_OFFLOAD,
	HERMIT_FS_OFFLOAD_NS,
	HERMIT_FS_RECLAIMED_DIRECT,
	HERMIT_FS_DIRECT_RECLAIM_NS,
	HERMIT_FS_WAITS,
	HERMIT_FS_WAIT_NS,
	NR_HERMIT_STATS,
};

extern atomic_long_t hermit_stats[NR_HERMIT_STATS];
extern const char * const hermit_stat_names[NR_HERMIT_STATS];
extern atomic_long_t hermit_pages_held;
extern atomic_long_t hermit_stores_in_flight;
extern atomic_long_t hermit_chunks_ahead;
extern atomic_long_t hermit_chunks_returned;
extern atomic_long_t hermit_clusters_used;

static inline void hermit_count(enum hermit_stat stat, long nr)
{
	atomic_long_add(nr, &hermit_stats[stat]);
}

/* The vm event (patch 0014) that also counts @stat, or -1. */
static inline int hermit_stat_event(enum hermit_stat stat)
{
	switch (stat) {
	case HERMIT_STORED:
		return HSWPOUT;
	case HERMIT_LOADED:
		return HSWPIN;
	case HERMIT_ONDEMAND_SWAPIN:
		return ONDEMAND_SWAPIN;
	case HERMIT_PREFETCH_SWAPIN:
		return PREFETCH_SWAPIN;
	case HERMIT_HITON_SWAP_CACHE:
		return HITON_SWAP_CACHE;
	case HERMIT_REFUSED_DISABLED:
	case HERMIT_REFUSED_NO_BACKEND:
	case HERMIT_REFUSED_FULL:
	case HERMIT_REFUSED_UNAVAILABLE:
	case HERMIT_REFUSED_ERROR:
		return HSWPOUT_REFUSED;
#ifdef CONFIG_HERMIT_OFFLOAD_RECLAIM
	case HERMIT_FS_RECLAIMED_OFFLOAD:
		return HRECLAIM_OFFLOAD;
#endif
	default:
		return -1;
	}
}

/*
 * hermit_count() for pages of @memcg: @stat's vm event, if it has one, is
 * counted too, in /proc/vmstat and in @memcg's memory.stat.
 */
static inline void hermit_count_memcg(struct mem_cgroup *memcg,
				      enum hermit_stat stat, long nr)
{
	int item = hermit_stat_event(stat);

	hermit_count(stat, nr);
	if (item < 0)
		return;
	count_vm_events(item, nr);
	if (memcg)
		count_memcg_events(memcg, item, nr);
}

/*
 * hermit_count_memcg() for the pages of @folio. Any context; the folio is
 * locked, under writeback or referenced, so its cgroup stays.
 */
static inline void hermit_count_folio(struct folio *folio,
				      enum hermit_stat stat, long nr)
{
	rcu_read_lock();
	hermit_count_memcg(folio_memcg(folio), stat, nr);
	rcu_read_unlock();
}

/* Fault latency (latency.c). */
struct hermit_stats;
unsigned int hermit_lat_bucket(u64 ns);
u64 hermit_lat_bucket_min(unsigned int b);
u64 hermit_lat_bucket_end(unsigned int b);
void hermit_fault_latency(struct hermit_stats *stats);
void hermit_fault_latency_reset(void);
void hermit_latency_debugfs_init(struct dentry *dir);

/* Knobs (core.c). */
extern bool hermit_enabled;
extern const struct kernel_param_ops hermit_bool_param_ops;
extern const struct kernel_param_ops hermit_backend_param_ops;
extern const struct kernel_param_ops hermit_size_param_ops;

/* Backend registry (backend.c). */
bool hermit_backend_name_valid(const char *name);
struct hermit_backend *hermit_backend_bind(void);
void hermit_backend_unbind(struct hermit_backend *backend);
int hermit_backend_select(const char *name, bool must_exist);
void hermit_backend_selected(char *buf, size_t size);

/* Prefetch policy (prefetch.c); the pure parts for the tests. */
extern unsigned int hermit_readahead_win;
long hermit_trend_stride(const long *delta, unsigned int nr, unsigned int head);
unsigned int hermit_trend_window(unsigned int prev, long stride, unsigned int fixed);
void hermit_prefetch_debugfs_init(struct dentry *dir);

/* Swap areas (swap.c), for the tests. */
struct hermit_area *hermit_area_of(int type);
void hermit_swap_debugfs_init(struct dentry *dir);
bool hermit_area_prepare(struct hermit_area *area);
void hermit_areas_prepare(void);

/* Offloaded reclaim policy (reclaim.c), for the tests. */
unsigned long hermit_offload_trigger(unsigned long high, unsigned long max,
				     unsigned long headroom);
unsigned long hermit_offload_next_headroom(unsigned long cur, unsigned long max,
					   unsigned long stalls, unsigned long demand);
unsigned int hermit_offload_next_active(unsigned int active, unsigned int nr,
					unsigned long demand, unsigned long supply,
					unsigned long direct);
unsigned int hermit_offload_pick(unsigned long *out, const unsigned long *wanted,
				 const unsigned long *online, unsigned int nbits,
				 unsigned int nr);

#endif /* _MM_HERMIT_INTERNAL_H */
