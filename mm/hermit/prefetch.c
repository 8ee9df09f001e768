// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit prefetch policy: which pages swap readahead brings in from the
 * backend besides the faulting one.
 *
 * The hermit.prefetch knob picks the policy for the swap areas Hermit
 * serves (other swap areas keep the kernel's choice): the kernel's cluster
 * or VMA readahead, none, or "trend", a majority-stride detector in the
 * style of Leap and Canvas. Trend keeps, per address space, the page
 * deltas between its recent faults; the delta that holds a strict majority
 * of the newest 8, 16 or 32 of them is the stride, and readahead steps by
 * it from the faulting address. Without a majority the window shrinks by
 * half at each fault and what is left of it is read contiguously, so a
 * random access pattern soon reads no more than the faulting page. The
 * window grows (4, 8, ...) while the stride holds; hermit.readahead_win
 * fixes it instead. It stays inside the VMA and the page table of the
 * fault, as the kernel's VMA readahead does.
 *
 * The histories live in a small direct-mapped table keyed by the mm's
 * address: an mm never has to be told about (nor its pointer followed),
 * and one that takes over a slot of another learns its own trend within
 * a few faults.
 *
 * With hermit.prefetch_async, the faulting task only reads its own page
 * and notes the swap entries of its window; a worker allocates the
 * window's folios, charges them (to the memory cgroup each entry was
 * swapped out from, as any swap readahead does) and starts their reads,
 * on whichever CPU is free. Only swap entries are handed over, no mm or
 * VMA: an entry freed meanwhile is skipped by the swap cache, one reused
 * meanwhile is read for its new owner, as cluster readahead reads any
 * slot.
 */

#define pr_fmt(fmt) "hermit: " fmt

#include <linux/blkdev.h>
#include <linux/hash.h>
#include <linux/hermit.h>
#include <linux/mm.h>
#include <linux/mempolicy.h>
#include <linux/pagemap.h>
#include <linux/spinlock.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/vm_event_item.h>
#include <linux/workqueue.h>

#include "../swap.h"
#include "internal.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "hermit."

#define HERMIT_TREND_HISTORY	32	/* deltas kept per mm */
#define HERMIT_TREND_MIN	8	/* smallest window voted over */
#define HERMIT_TREND_SLOTS_BITS	6

static const char * const hermit_prefetch_names[] = {
	[HERMIT_RA_OFF] = "off",
	[HERMIT_RA_CLUSTER] = "cluster",
	[HERMIT_RA_VMA] = "vma",
	[HERMIT_RA_TREND] = "trend",
};

static int hermit_prefetch = HERMIT_RA_VMA;
unsigned int hermit_readahead_win;	/* 0: adaptive */
static bool hermit_prefetch_async;

/* A trend window waiting for a worker (prefetch_async). */
struct hermit_ra_queue {
	struct work_struct work;
	spinlock_t lock;		/* nr, entries */
	unsigned int nr;		/* 0: the worker has taken the last one */
	swp_entry_t entries[HERMIT_RA_MAX];
};

static DEFINE_PER_CPU(struct hermit_ra_queue, hermit_ra_queues);

struct hermit_trend {
	spinlock_t lock;		/* the fields below */
	const struct mm_struct *mm;	/* key only, never dereferenced */
	unsigned long last;		/* page of the last fault */
	unsigned int nr, head;		/* deltas kept, next to write */
	unsigned int win;		/* of the last readahead */
	long delta[HERMIT_TREND_HISTORY];
};

static struct hermit_trend hermit_trends[1 << HERMIT_TREND_SLOTS_BITS] = {
	[0 ... (1 << HERMIT_TREND_SLOTS_BITS) - 1] = {
		.lock = __SPIN_LOCK_UNLOCKED(hermit_trends.lock),
	},
};

/**
 * hermit_trend_stride() - majority delta of the newest deltas
 * @delta: Ring of @nr deltas, the newest at @head - 1.
 * @nr: Deltas in the ring (at most HERMIT_TREND_HISTORY).
 * @head: Next slot of the ring to write.
 *
 * Boyer-Moore majority vote over the newest 8, then 16, then 32 deltas.
 *
 * Return: the delta held by more than half of the smallest such window
 * that has one, or 0 when none has.
 */
long hermit_trend_stride(const long *delta, unsigned int nr, unsigned int head)
{
	unsigned int w, i, votes, count;
	long cand;

	for (w = HERMIT_TREND_MIN; w <= nr; w *= 2) {
		cand = 0;
		votes = 0;
		for (i = 1; i <= w; i++) {
			long d = delta[(head - i) % HERMIT_TREND_HISTORY];

			if (!votes) {
				cand = d;
				votes = 1;
			} else {
				votes += d == cand ? 1 : -1;
			}
		}
		count = 0;
		for (i = 1; i <= w; i++)
			count += delta[(head - i) % HERMIT_TREND_HISTORY] == cand;
		if (cand && count > w / 2)
			return cand;
	}
	return 0;
}

/**
 * hermit_trend_window() - the next readahead window
 * @prev: The previous window (0 before the first).
 * @stride: The stride found, 0 for none.
 * @fixed: hermit.readahead_win, 0 for adaptive.
 *
 * Return: the pages to read, the faulting one included (at least 1, at
 * most HERMIT_RA_MAX).
 */
unsigned int hermit_trend_window(unsigned int prev, long stride, unsigned int fixed)
{
	if (!stride)
		return max(prev / 2, 1U);
	if (fixed)
		return fixed;
	return clamp(prev * 2, 4U, (unsigned int)HERMIT_RA_MAX);
}

static struct hermit_trend *hermit_trend_of(const struct mm_struct *mm)
{
	return &hermit_trends[hash_ptr(mm, HERMIT_TREND_SLOTS_BITS)];
}

/**
 * hermit_swap_fault() - a fault on a swapped-out page
 * @entry: The page's swap entry.
 * @vma: The VMA of the fault, or NULL when it is not a page table's fault.
 * @addr: The address of the fault.
 *
 * Every fault goes into the history of its mm, the ones that find their
 * page read ahead already too: otherwise the faults left are those past
 * each window, and their delta is the window's, not the stride.
 */
void hermit_swap_fault(swp_entry_t entry, struct vm_area_struct *vma,
		       unsigned long addr)
{
	unsigned long pfn = PFN_DOWN(addr);
	struct hermit_trend *t;

	if (!vma || hermit_readahead_mode(entry) != HERMIT_RA_TREND)
		return;
	t = hermit_trend_of(vma->vm_mm);
	spin_lock(&t->lock);
	if (t->mm != vma->vm_mm) {
		t->mm = vma->vm_mm;
		t->nr = 0;
		t->head = 0;
		t->win = 0;
	} else if (pfn != t->last) {
		t->delta[t->head] = (long)(pfn - t->last);
		t->head = (t->head + 1) % HERMIT_TREND_HISTORY;
		t->nr = min(t->nr + 1, (unsigned int)HERMIT_TREND_HISTORY);
	}
	t->last = pfn;
	spin_unlock(&t->lock);
}

/* The stride and window of a readahead for @mm (stride 1: contiguous). */
static unsigned int hermit_trend_next(const struct mm_struct *mm, long *stride)
{
	struct hermit_trend *t = hermit_trend_of(mm);
	unsigned int win = 1;

	*stride = 0;
	spin_lock(&t->lock);
	if (t->mm == mm) {
		*stride = hermit_trend_stride(t->delta, t->nr, t->head);
		win = hermit_trend_window(t->win, *stride,
					  READ_ONCE(hermit_readahead_win));
		t->win = win;
	}
	spin_unlock(&t->lock);
	if (!*stride)
		*stride = 1;
	return win;
}

/**
 * hermit_readahead_mode() - the readahead policy for a swap entry
 * @entry: The faulting page's swap entry.
 *
 * Return: HERMIT_RA_KERNEL when the swap area is not Hermit's (the kernel
 * chooses), else hermit.prefetch.
 */
int hermit_readahead_mode(swp_entry_t entry)
{
	struct hermit_area *area = hermit_area_of(swp_type(entry));

	if (!area || !READ_ONCE(area->backend))
		return HERMIT_RA_KERNEL;
	return READ_ONCE(hermit_prefetch);
}

/**
 * hermit_wants_readahead() - whether a fault should read ahead around a slot
 * @entry: The faulting page's swap entry, as for hermit_holds().
 *
 * On a swap device that is SWP_SYNCHRONOUS_IO (zram), the kernel faults a
 * page mapped once in without the swap cache, and so without readahead;
 * a page the backend holds should still bring its readahead window along.
 *
 * Return: true when the backend holds the slot and hermit.prefetch reads
 * ahead.
 */
bool hermit_wants_readahead(swp_entry_t entry)
{
	return READ_ONCE(hermit_prefetch) != HERMIT_RA_OFF && hermit_holds(entry);
}

/* Allocate, add to the swap cache and start reading one readahead entry. */
static void hermit_read_ahead(swp_entry_t entry, gfp_t gfp_mask,
			      struct mempolicy *mpol, pgoff_t ilx,
			      struct swap_iocb **splug)
{
	bool page_allocated;
	struct folio *ra;

	ra = __read_swap_cache_async(entry, gfp_mask, mpol, ilx,
				     &page_allocated, false);
	if (!ra)
		return;
	if (page_allocated) {
		folio_set_readahead(ra);
		count_vm_event(SWAP_RA);
		swap_read_folio(ra, splug);
	}
	folio_put(ra);
}

static void hermit_ra_work(struct work_struct *work)
{
	struct hermit_ra_queue *q = container_of(work, struct hermit_ra_queue, work);
	swp_entry_t entries[HERMIT_RA_MAX];
	struct mempolicy *mpol = get_task_policy(current);
	struct swap_iocb *splug = NULL;
	struct blk_plug plug;
	unsigned int nr, i;

	spin_lock(&q->lock);
	nr = q->nr;
	memcpy(entries, q->entries, nr * sizeof(entries[0]));
	q->nr = 0;
	spin_unlock(&q->lock);
	blk_start_plug(&plug);
	/* Speculative: may reclaim once, never retries nor calls the OOM killer. */
	for (i = 0; i < nr; i++)
		hermit_read_ahead(entries[i], GFP_HIGHUSER_MOVABLE | __GFP_NORETRY |
				  __GFP_NOWARN, mpol, NO_INTERLEAVE_INDEX, &splug);
	blk_finish_plug(&plug);
	swap_read_unplug(splug);
	lru_add_drain();
}

/*
 * Hand a window of @nr entries to a worker, unless the worker has not
 * taken the last one yet: then it is behind the faults (a backend as fast
 * as DRAM), and the faulting task reads the window itself.
 */
static bool hermit_ra_hand_off(const swp_entry_t *entries, unsigned int nr)
{
	struct hermit_ra_queue *q = raw_cpu_ptr(&hermit_ra_queues);
	bool taken = false;

	spin_lock(&q->lock);
	if (!q->nr) {
		memcpy(q->entries, entries, nr * sizeof(entries[0]));
		q->nr = nr;
		taken = true;
	}
	spin_unlock(&q->lock);
	if (!taken)
		return false;
	queue_work(system_unbound_wq, &q->work);
	hermit_count(HERMIT_PREFETCH_QUEUED, nr);
	return true;
}

/**
 * hermit_readahead() - swap in a page and, by trend, some after it
 * @entry: The faulting page's swap entry.
 * @gfp_mask: Allocation flags.
 * @mpol: NUMA policy of the fault.
 * @ilx: NUMA interleave index of the fault.
 * @vmf: The fault; mmap_lock or the VMA lock is held.
 *
 * For hermit.prefetch "trend" and "off" (a window of one page). The
 * faulting page is read first, synchronously; the pages of the window are
 * then read as swap readahead is (asynchronously from the backend), under
 * one plug, by the faulting task or with hermit.prefetch_async by a
 * worker.
 *
 * Return: the faulting page's folio, as swapin_readahead() does.
 */
struct folio *hermit_readahead(swp_entry_t entry, gfp_t gfp_mask,
			       struct mempolicy *mpol, pgoff_t ilx,
			       struct vm_fault *vmf)
{
	unsigned long faddr = vmf->address, addr, lo, hi;
	struct vm_area_struct *vma = vmf->vma;
	swp_entry_t entries[HERMIT_RA_MAX];
	u8 steps[HERMIT_RA_MAX];
	struct swap_iocb *splug = NULL;
	unsigned int win = 1, i, nr = 0;
	bool page_allocated;
	struct blk_plug plug;
	struct folio *folio;
	pte_t *pte, pentry;
	long stride = 1;

	if (READ_ONCE(hermit_prefetch) == HERMIT_RA_TREND)
		win = hermit_trend_next(vma->vm_mm, &stride);
	folio = __read_swap_cache_async(entry, gfp_mask, mpol, ilx,
					&page_allocated, false);
	if (!folio)
		return NULL;
	if (page_allocated)
		swap_read_folio(folio, NULL);
	if (win <= 1)
		return folio;

	lo = max(vma->vm_start, faddr & PMD_MASK);
	hi = min(vma->vm_end, (faddr & PMD_MASK) + PMD_SIZE);
	for (i = 1; i < win; i++) {
		addr = faddr + i * stride * (long)PAGE_SIZE;
		if (addr < lo || addr >= hi)
			break;
		pte = pte_offset_map(vmf->pmd, addr);
		if (!pte)
			break;
		pentry = ptep_get_lockless(pte);
		pte_unmap(pte);
		if (!is_swap_pte(pentry))
			continue;
		entry = pte_to_swp_entry(pentry);
		if (unlikely(non_swap_entry(entry)))
			continue;
		steps[nr] = i;
		entries[nr++] = entry;
	}
	if (!nr || (READ_ONCE(hermit_prefetch_async) && hermit_ra_hand_off(entries, nr)))
		return folio;
	blk_start_plug(&plug);
	for (i = 0; i < nr; i++)
		hermit_read_ahead(entries[i], gfp_mask, mpol,
				  ilx + steps[i] * stride, &splug);
	blk_finish_plug(&plug);
	swap_read_unplug(splug);
	lru_add_drain();
	return folio;
}

static int hermit_prefetch_param_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(hermit_prefetch_names, val);

	if (i < 0)
		return -EINVAL;
	WRITE_ONCE(hermit_prefetch, i);
	return 0;
}

static int hermit_prefetch_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", hermit_prefetch_names[READ_ONCE(hermit_prefetch)]);
}

static const struct kernel_param_ops hermit_prefetch_param_ops = {
	.set = hermit_prefetch_param_set,
	.get = hermit_prefetch_param_get,
};
module_param_cb(prefetch, &hermit_prefetch_param_ops, NULL, 0644);
MODULE_PARM_DESC(prefetch, "Readahead from Hermit's swap areas: off, cluster, vma (default) or trend");

static int hermit_win_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int win;

	if (kstrtouint(val, 0, &win) || win > HERMIT_RA_MAX)
		return -EINVAL;
	WRITE_ONCE(hermit_readahead_win, win);
	return 0;
}

static const struct kernel_param_ops hermit_win_param_ops = {
	.set = hermit_win_param_set,
	.get = param_get_uint,
};
module_param_cb(readahead_win, &hermit_win_param_ops, &hermit_readahead_win, 0644);
MODULE_PARM_DESC(readahead_win, "Pages of a trend readahead window: 0 (adaptive, default) or 1-32");

module_param_cb(prefetch_async, &hermit_bool_param_ops, &hermit_prefetch_async, 0644);
MODULE_PARM_DESC(prefetch_async, "Start a trend window's reads from a worker, not the faulting task (default N)");

static const struct kernel_param hermit_prefetch_knobs[] = {
	{ .name = "prefetch", .ops = &hermit_prefetch_param_ops, .perm = 0644 },
	{ .name = "readahead_win", .ops = &hermit_win_param_ops, .perm = 0644,
	  .arg = &hermit_readahead_win },
	{ .name = "prefetch_async", .ops = &hermit_bool_param_ops, .perm = 0644,
	  .arg = &hermit_prefetch_async },
};

void hermit_prefetch_debugfs_init(struct dentry *dir)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hermit_prefetch_knobs); i++)
		hermit_debugfs_knob(dir, &hermit_prefetch_knobs[i]);
}

static int __init hermit_prefetch_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct hermit_ra_queue *q = per_cpu_ptr(&hermit_ra_queues, cpu);

		spin_lock_init(&q->lock);
		INIT_WORK(&q->work, hermit_ra_work);
	}
	return 0;
}
subsys_initcall(hermit_prefetch_init);
