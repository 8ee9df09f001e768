/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hermit: remote memory in the swap path.
 *
 * These are the hooks core mm calls; they sit beside zswap's. A page that
 * Hermit takes at swap-out lives in a backend (the DRAM of a memory server
 * over RDMA, or a local DRAM pool) instead of on the swap device, which stays
 * the system of record for slot allocation and the fallback tier for every
 * page the backend cannot take.
 */
#ifndef _LINUX_HERMIT_H
#define _LINUX_HERMIT_H

#include <linux/mm_types.h>
#include <linux/types.h>

struct folio;
struct mem_cgroup;
struct mempolicy;
struct vm_area_struct;
struct vm_fault;

/* Swap readahead policies (hermit.prefetch); see hermit_readahead_mode(). */
enum hermit_readahead_policy {
	HERMIT_RA_OFF,
	HERMIT_RA_CLUSTER,
	HERMIT_RA_VMA,
	HERMIT_RA_TREND,
	HERMIT_RA_KERNEL,	/* not a Hermit swap area: the kernel's choice */
};

/* The largest readahead window of the trend policy, in pages. */
#define HERMIT_RA_MAX	32

#ifdef CONFIG_HERMIT

bool hermit_store(struct folio *folio);
bool hermit_load(struct folio *folio);
void hermit_reload(struct folio *folio);
void hermit_prefetch_hit(swp_entry_t entry, struct folio *folio);
void hermit_prefetch_unused(swp_entry_t entry, struct folio *folio);
void hermit_invalidate(int type, unsigned long offset, unsigned int nr);
int hermit_swapon(int type, unsigned long nr_pages);
void hermit_swapoff(int type);
bool hermit_never_used(void);
u64 hermit_fault_start(swp_entry_t entry);
void hermit_fault_end(u64 start, vm_fault_t ret);
int hermit_readahead_mode(swp_entry_t entry);
bool hermit_holds(swp_entry_t entry);
bool hermit_wants_readahead(swp_entry_t entry);
void hermit_swap_fault(swp_entry_t entry, struct vm_area_struct *vma,
		       unsigned long addr);
struct folio *hermit_readahead(swp_entry_t entry, gfp_t gfp_mask,
			       struct mempolicy *mpol, pgoff_t ilx,
			       struct vm_fault *vmf);

#else

static inline bool hermit_store(struct folio *folio)
{
	return false;
}

static inline bool hermit_load(struct folio *folio)
{
	return false;
}

static inline void hermit_reload(struct folio *folio) {}
static inline void hermit_prefetch_hit(swp_entry_t entry, struct folio *folio) {}
static inline void hermit_prefetch_unused(swp_entry_t entry,
					  struct folio *folio) {}

static inline void hermit_invalidate(int type, unsigned long offset,
				     unsigned int nr) {}

static inline int hermit_swapon(int type, unsigned long nr_pages)
{
	return 0;
}

static inline void hermit_swapoff(int type) {}

static inline bool hermit_never_used(void)
{
	return true;
}

static inline u64 hermit_fault_start(swp_entry_t entry)
{
	return 0;
}

static inline void hermit_fault_end(u64 start, vm_fault_t ret) {}

static inline int hermit_readahead_mode(swp_entry_t entry)
{
	return HERMIT_RA_KERNEL;
}

static inline bool hermit_holds(swp_entry_t entry)
{
	return false;
}

static inline bool hermit_wants_readahead(swp_entry_t entry)
{
	return false;
}

static inline void hermit_swap_fault(swp_entry_t entry,
				     struct vm_area_struct *vma,
				     unsigned long addr) {}

static inline struct folio *hermit_readahead(swp_entry_t entry, gfp_t gfp_mask,
					     struct mempolicy *mpol,
					     pgoff_t ilx,
					     struct vm_fault *vmf)
{
	return NULL;
}

#endif /* CONFIG_HERMIT */

#ifdef CONFIG_HERMIT_OFFLOAD_RECLAIM

#include <linux/sched/clock.h>

void hermit_memcg_charged(struct mem_cgroup *memcg, unsigned int nr_pages);
void hermit_memcg_uncharged(struct mem_cgroup *memcg, unsigned long nr_pages);
void hermit_memcg_offline(struct mem_cgroup *memcg);
bool hermit_defer_pageout(struct folio *folio);
void hermit_pageout_done(u64 start);
bool hermit_memcg_wait(struct mem_cgroup *memcg, unsigned int nr_pages);
void hermit_direct_reclaimed(struct mem_cgroup *memcg, u64 start,
			     unsigned long nr_reclaimed);

/* Timestamp for hermit_direct_reclaimed() and hermit_pageout_done(). */
static inline u64 hermit_reclaim_start(void)
{
	return local_clock();
}

#else

static inline void hermit_memcg_charged(struct mem_cgroup *memcg,
					unsigned int nr_pages) {}
static inline void hermit_memcg_uncharged(struct mem_cgroup *memcg,
					  unsigned long nr_pages) {}
static inline void hermit_memcg_offline(struct mem_cgroup *memcg) {}

static inline bool hermit_defer_pageout(struct folio *folio)
{
	return false;
}

static inline void hermit_pageout_done(u64 start) {}

static inline void hermit_direct_reclaimed(struct mem_cgroup *memcg, u64 start,
					   unsigned long nr_reclaimed) {}

static inline bool hermit_memcg_wait(struct mem_cgroup *memcg,
				     unsigned int nr_pages)
{
	return false;
}

static inline u64 hermit_reclaim_start(void)
{
	return 0;
}

#endif /* CONFIG_HERMIT_OFFLOAD_RECLAIM */

#endif /* _LINUX_HERMIT_H */
