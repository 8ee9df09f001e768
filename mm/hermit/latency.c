// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit: the latency of page faults on pages Hermit holds.
 *
 * handle_pte_fault() brackets do_swap_page() with hermit_fault_start() and
 * hermit_fault_end(). A fault on a swap entry whose page Hermit holds is
 * timed and counted in one of two histograms: "major" when the fault read
 * the page from the backend or waited for a read under way (it returned
 * VM_FAULT_MAJOR or VM_FAULT_RETRY), "minor" when it found the page ready in
 * the swap cache (read ahead). A fault that waits and retries counts twice,
 * once in each. Faults on tmpfs pages (shmem_fault()) are not timed.
 *
 * The histograms are per CPU, with HERMIT_LAT_BUCKETS buckets of
 * nanoseconds, four per power of two (see include/uapi/linux/hermit.h):
 * within 25 % of the true value, a few instructions per fault.
 */

#include <linux/debugfs.h>
#include <linux/hermit.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <uapi/linux/hermit.h>

#include "internal.h"

struct hermit_lat {
	u64 ns;
	u64 hist[HERMIT_LAT_BUCKETS];
};

static DEFINE_PER_CPU(struct hermit_lat, hermit_lat_major);
static DEFINE_PER_CPU(struct hermit_lat, hermit_lat_minor);

/* The bucket of a latency: see the uapi header. */
unsigned int hermit_lat_bucket(u64 ns)
{
	unsigned int o;

	if (ns < 4)
		return ns;
	o = fls64(ns) - 1;
	return min_t(u64, o * 4 + ((ns >> (o - 2)) & 3), HERMIT_LAT_BUCKETS - 1);
}

/* The first latency bucket @b holds. */
u64 hermit_lat_bucket_min(unsigned int b)
{
	unsigned int o = b / 4;

	if (b < 8)
		return b < 4 ? b : 4;
	return (1ULL << o) + (u64)(b % 4) * (1ULL << (o - 2));
}

/* The first latency past bucket @b (the last one has no end). */
u64 hermit_lat_bucket_end(unsigned int b)
{
	/* Buckets 4 to 7 are never used: 3 ends where 8 begins. */
	return hermit_lat_bucket_min(b < 3 ? b + 1 : max(b + 1, 8U));
}

/**
 * hermit_fault_start() - a swap fault begins
 * @entry: The swap entry of the faulting pte (or another non-present one).
 *
 * Return: the time, when Hermit holds the entry's page; else 0.
 */
u64 hermit_fault_start(swp_entry_t entry)
{
	struct swap_info_struct *si;
	bool held;

	if (hermit_never_used() || non_swap_entry(entry))
		return 0;
	si = get_swap_device(entry);
	if (!si)
		return 0;
	held = hermit_holds(entry);
	put_swap_device(si);
	return held ? local_clock() ?: 1 : 0;
}

/**
 * hermit_fault_end() - a swap fault ends
 * @start: What hermit_fault_start() returned.
 * @ret: What do_swap_page() returned.
 */
void hermit_fault_end(u64 start, vm_fault_t ret)
{
	struct hermit_lat __percpu *lat = &hermit_lat_minor;
	u64 ns;

	if (!start)
		return;
	ns = local_clock() - start;
	if (ret & (VM_FAULT_MAJOR | VM_FAULT_RETRY))
		lat = &hermit_lat_major;
	this_cpu_add(lat->ns, ns);
	this_cpu_inc(lat->hist[hermit_lat_bucket(ns)]);
}

static void hermit_lat_sum(struct hermit_lat __percpu *lat, u64 *ns, u64 *hist)
{
	int cpu, b;

	*ns = 0;
	memset(hist, 0, HERMIT_LAT_BUCKETS * sizeof(*hist));
	for_each_possible_cpu(cpu) {
		struct hermit_lat *l = per_cpu_ptr(lat, cpu);

		*ns += READ_ONCE(l->ns);
		for (b = 0; b < HERMIT_LAT_BUCKETS; b++)
			hist[b] += READ_ONCE(l->hist[b]);
	}
}

/**
 * hermit_fault_latency() - the histograms, summed over the CPUs
 * @stats: Where to put them.
 */
void hermit_fault_latency(struct hermit_stats *stats)
{
	hermit_lat_sum(&hermit_lat_major, &stats->fault_major_ns, stats->fault_major);
	hermit_lat_sum(&hermit_lat_minor, &stats->fault_minor_ns, stats->fault_minor);
}

/* Zero the histograms; a fault counted meanwhile may be half counted. */
void hermit_fault_latency_reset(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		memset(per_cpu_ptr(&hermit_lat_major, cpu), 0, sizeof(struct hermit_lat));
		memset(per_cpu_ptr(&hermit_lat_minor, cpu), 0, sizeof(struct hermit_lat));
	}
}

/* The bucket bound below which @pct % of the @n latencies lie. */
static u64 hermit_lat_pct(const u64 *hist, u64 n, unsigned int pct)
{
	u64 want = div_u64(n * pct + 99, 100), seen = 0;
	unsigned int b;

	for (b = 0; b < HERMIT_LAT_BUCKETS - 1; b++) {
		seen += hist[b];
		if (seen >= want)
			return hermit_lat_bucket_end(b);
	}
	return hermit_lat_bucket_min(HERMIT_LAT_BUCKETS - 1);
}

static void hermit_lat_show(struct seq_file *m, const char *name, u64 ns,
			    const u64 *hist)
{
	u64 n = 0;
	int b;

	for (b = 0; b < HERMIT_LAT_BUCKETS; b++)
		n += hist[b];
	seq_printf(m, "%s faults %llu mean_ns %llu p50_ns %llu p99_ns %llu\n", name,
		   n, n ? div64_u64(ns, n) : 0, n ? hermit_lat_pct(hist, n, 50) : 0,
		   n ? hermit_lat_pct(hist, n, 99) : 0);
}

static int hermit_lat_debugfs_show(struct seq_file *m, void *v)
{
	struct hermit_stats *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return -ENOMEM;
	hermit_fault_latency(s);
	hermit_lat_show(m, "major", s->fault_major_ns, s->fault_major);
	hermit_lat_show(m, "minor", s->fault_minor_ns, s->fault_minor);
	kfree(s);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hermit_lat_debugfs);

void hermit_latency_debugfs_init(struct dentry *dir)
{
	debugfs_create_file("fault_latency", 0444, dir, NULL, &hermit_lat_debugfs_fops);
}
