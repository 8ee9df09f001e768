// SPDX-License-Identifier: GPL-2.0
/*
 * Hermit: offloaded memory cgroup reclaim.
 *
 * When a memory cgroup's usage crosses its limit minus the headroom
 * (fs_headroom, or less with fs_headroom_adapt), reclaim for it is queued
 * to kernel threads on dedicated cores and the charging task goes on. At
 * the hard limit, a task whose cgroup the threads are reclaiming for waits
 * for their next batch; it reclaims for itself only if that made no room.
 * All this only while Hermit is on.
 *
 * The threads are per-CPU smpboot threads ("hermit_rcl/N"), so CPU hotplug
 * parks and unparks them, but only the offload cores (fs_cores, or the last
 * fs_nr_cores online CPUs) ever run, and of those only as many as the
 * feedback controller allows: one more when the queued cgroups charge
 * faster than the threads reclaim (or their tasks had to reclaim for
 * themselves), one less when the threads reclaim much faster than needed.
 * An idle system runs none.
 *
 * Queued cgroups sit in an xarray indexed by cgroup id (never reused) and
 * each holds a css reference while queued; a thread takes its own reference
 * for the batch it reclaims, so a cgroup removed meanwhile is only dropped
 * from the queue, never used after it is freed.
 */

#define pr_fmt(fmt) "hermit: " fmt

#include <linux/cgroup.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/hash.h>
#include <linux/hermit.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/page_counter.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smpboot.h>
#include <linux/string.h>
#include <linux/swap.h>
#include <linux/vmstat.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <trace/events/hermit.h>

#include "internal.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "hermit."

/* Pages an offload thread reclaims in one go, and hysteresis below trigger. */
#define HERMIT_RCL_BATCH	64
/* Feedback controller period. */
#define HERMIT_RCL_PERIOD	max(1, HZ / 100)
/* How long a task at its hard limit waits for the offload threads. */
#define HERMIT_RCL_WAIT		max(1, HZ / 100)
/* How long a cgroup the threads could not reclaim from is left alone. */
#define HERMIT_RCL_BACKOFF	max(1, HZ / 20)
/* Wait queues for tasks at their hard limit, hashed by cgroup id. */
#define HERMIT_RCL_WQ_BITS	4
/* The least headroom fs_headroom_adapt uses: two batches. */
#define HERMIT_RCL_MIN_HEADROOM	(2 * HERMIT_RCL_BATCH)

/**
 * hermit_offload_trigger() - usage above which a cgroup's reclaim is offloaded
 * @high: memory.high in pages (PAGE_COUNTER_MAX when unset, always in v1).
 * @max: memory.max, or v1 memory.limit_in_bytes, in pages.
 * @headroom: The headroom in use, in pages (at most fs_headroom).
 *
 * The limit is the lower of @high and @max; a headroom of more than half of
 * it is cut to half, so a small cgroup still keeps half of its memory.
 *
 * Return: the trigger in pages, or 0 when the cgroup has no limit.
 */
unsigned long hermit_offload_trigger(unsigned long high, unsigned long max,
				     unsigned long headroom)
{
	unsigned long limit = min(high, max);

	if (limit >= PAGE_COUNTER_MAX || !limit)
		return 0;
	return limit - min(headroom, limit / 2);
}

/**
 * hermit_offload_next_active() - feedback: offload threads for the next period
 * @active: Threads allowed to run in the period that ended.
 * @nr: Offload cores available.
 * @demand: Pages charged to cgroups above their trigger in that period.
 * @supply: Pages the offload threads reclaimed in that period.
 * @direct: Pages tasks of those cgroups had to reclaim for themselves.
 *
 * One thread more when the threads fall behind, one less when they are well
 * ahead or there was no demand at all (the controller steps from a timer,
 * so it also steps down while the threads are idle).
 *
 * Return: between 1 and @nr (0 when @nr is 0).
 */
unsigned int hermit_offload_next_active(unsigned int active, unsigned int nr,
					unsigned long demand, unsigned long supply,
					unsigned long direct)
{
	if (!nr)
		return 0;
	if (direct || demand > supply)
		active++;
	else if (active > 1 && (!demand || demand < supply / 2))
		active--;
	return clamp(active, 1U, nr);
}

/**
 * hermit_offload_next_headroom() - feedback: the headroom for the next period
 * @cur: Headroom used in the period that ended, in pages.
 * @max: fs_headroom, the most it may be.
 * @stalls: Times tasks of queued cgroups waited for the offload threads or
 *	    reclaimed for themselves in that period.
 * @demand: Pages charged to cgroups above their trigger in that period.
 *
 * The threads start reclaiming a headroom below the limit so that the
 * tasks never reach it; every page of headroom is a page of memory the
 * cgroup cannot use. Twice the headroom when tasks stalled (the threads
 * started too late), an eighth less in a period with demand and no stall,
 * unchanged when nothing was charged (but clamped to @max).
 *
 * Return: between min(HERMIT_RCL_MIN_HEADROOM, @max) and @max.
 */
unsigned long hermit_offload_next_headroom(unsigned long cur, unsigned long max,
					   unsigned long stalls, unsigned long demand)
{
	unsigned long least = min_t(unsigned long, HERMIT_RCL_MIN_HEADROOM, max);

	if (stalls)
		cur = cur > max / 2 ? max : 2 * cur;
	else if (demand)
		cur -= cur / 8;
	return clamp(cur, least, max);
}

/**
 * hermit_offload_pick() - choose the offload cores
 * @out: The chosen cores.
 * @wanted: fs_cores, or NULL for the default.
 * @online: The online CPUs.
 * @nbits: Bits in the three masks.
 * @nr: fs_nr_cores.
 *
 * The first @nr online CPUs of @wanted, or by default the last @nr online
 * CPUs (applications usually start on the first ones).
 *
 * Return: the number of cores chosen.
 */
unsigned int hermit_offload_pick(unsigned long *out, const unsigned long *wanted,
				 const unsigned long *online, unsigned int nbits,
				 unsigned int nr)
{
	unsigned int cpu, n = 0, skip = 0;

	bitmap_zero(out, nbits);
	if (!wanted) {
		unsigned int weight = bitmap_weight(online, nbits);

		skip = weight > nr ? weight - nr : 0;
		wanted = online;
	}
	for_each_set_bit(cpu, online, nbits) {
		if (!test_bit(cpu, wanted))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		if (n == nr)
			break;
		__set_bit(cpu, out);
		n++;
	}
	return n;
}

/* Knobs. */
static bool fs_enabled = true;
static unsigned int fs_nr_cores = 1;
static unsigned long fs_headroom = 2048;
static bool fs_headroom_adapt = true;
static bool fs_batch_flush = true;
static struct cpumask fs_cores;		/* empty: the default */

/* Queued cgroups by cgroup id; each entry holds a css reference. */
static DEFINE_XARRAY(hermit_rcl_queue);

/* The offload cores; protected by hermit_rcl_mutex and the hotplug lock. */
static DEFINE_MUTEX(hermit_rcl_mutex);
static struct cpumask hermit_rcl_cpus;
static bool hermit_rcl_ready;
static unsigned int hermit_rcl_nr;	/* weight of hermit_rcl_cpus */
static unsigned int hermit_rcl_active = 1;

static DEFINE_PER_CPU(struct task_struct *, hermit_rcl_task);
static DEFINE_PER_CPU(int, hermit_rcl_rank) = -1;
static DEFINE_PER_CPU(unsigned long, hermit_rcl_cursor);

/*
 * The controller's inputs for the current period. It steps from a delayed
 * work every HERMIT_RCL_PERIOD while cgroups are queued or more than one
 * thread is allowed, so it also steps down when the threads are idle.
 */
static atomic_long_t hermit_rcl_demand;
static atomic_long_t hermit_rcl_supply;
static atomic_long_t hermit_rcl_direct;
static atomic_long_t hermit_rcl_stalls;
/* The headroom in use with fs_headroom_adapt; set by the controller. */
static unsigned long hermit_rcl_headroom = HERMIT_RCL_MIN_HEADROOM;
static void hermit_rcl_tick(struct work_struct *work);
static DECLARE_DELAYED_WORK(hermit_rcl_work, hermit_rcl_tick);

/*
 * Cgroups an offload thread reclaimed nothing from, by cgroup id: a charge
 * does not queue them again before the deadline they hold (an xa_mk_value()
 * of jiffies). No reference is held; the work prunes expired entries.
 */
static DEFINE_XARRAY(hermit_rcl_backoff);
static atomic_long_t hermit_rcl_dropped;	/* removed while queued */
static atomic_long_t hermit_rcl_timeouts;	/* waits that ran out */
static atomic64_t hermit_rcl_pageout_ns;	/* threads writing held-back folios */

/*
 * What the threads did for each cgroup, by cgroup id, for fs_served; at
 * most HERMIT_RCL_SERVED_MAX cgroups, until a write to fs_served clears it.
 * Entries are changed, read and freed under the xarray's lock.
 */
#define HERMIT_RCL_SERVED_MAX	1024
struct hermit_rcl_served {
	unsigned long pages;	/* reclaimed */
	u64 ns;			/* the threads' time reclaiming for it */
};

static DEFINE_XARRAY(hermit_rcl_served);
static atomic_t hermit_rcl_nr_served;

/* Tasks at their hard limit waiting for an offload thread's batch. */
static wait_queue_head_t hermit_rcl_wq[1 << HERMIT_RCL_WQ_BITS];
static atomic_t hermit_rcl_nr_waiting;

struct hermit_rcl_waiter {
	struct wait_queue_entry wq;
	struct mem_cgroup *memcg;
	unsigned int nr_pages;
};

/* What a wakeup is for: @memcg's waiters, as many as @budget pages serve. */
struct hermit_rcl_wake_key {
	struct mem_cgroup *memcg;
	long budget;
};

static wait_queue_head_t *hermit_rcl_wq_of(struct mem_cgroup *memcg)
{
	return &hermit_rcl_wq[hash_64(cgroup_id(memcg->css.cgroup), HERMIT_RCL_WQ_BITS)];
}

/* Wake the threads allowed to run; callable from any context. */
static void hermit_rcl_wake(void)
{
	unsigned int active = READ_ONCE(hermit_rcl_active);
	int cpu;

	/* Only the offload cores: a few bits, not all online CPUs. */
	for_each_cpu(cpu, &hermit_rcl_cpus) {
		int rank = READ_ONCE(per_cpu(hermit_rcl_rank, cpu));
		struct task_struct *t = READ_ONCE(per_cpu(hermit_rcl_task, cpu));

		if (rank >= 0 && rank < active && t)
			wake_up_process(t);
	}
}

static void hermit_rcl_arm(void)
{
	if (!delayed_work_pending(&hermit_rcl_work))
		queue_delayed_work(system_unbound_wq, &hermit_rcl_work, HERMIT_RCL_PERIOD);
}

/*
 * Offloading acts only while Hermit stores swapped-out pages: with Hermit
 * off, memory cgroups reclaim as in a stock kernel.
 */
static bool hermit_rcl_on(void)
{
	return READ_ONCE(fs_enabled) && READ_ONCE(hermit_enabled) &&
		READ_ONCE(hermit_rcl_nr);
}

static void hermit_rcl_wake_waiters(struct mem_cgroup *memcg, unsigned long nr_pages);

/*
 * Take @memcg off the queue. Its waiters wake and reclaim for themselves:
 * no thread will make room for them now. Returns false if it was not queued.
 */
static bool hermit_rcl_queue_del(unsigned long id, struct mem_cgroup *memcg)
{
	if (xa_cmpxchg(&hermit_rcl_queue, id, memcg, NULL, 0) != memcg)
		return false;
	hermit_rcl_wake_waiters(memcg, LONG_MAX);
	css_put(&memcg->css);
	return true;
}

/* Drop every queued cgroup (offloading off, or no offload core online). */
static void hermit_rcl_drain(void)
{
	struct mem_cgroup *memcg;
	unsigned long id;

	xa_for_each(&hermit_rcl_queue, id, memcg)
		hermit_rcl_queue_del(id, memcg);
}

/* Recompute the offload cores from the knobs; @online excludes a dying CPU. */
static void hermit_rcl_update(const struct cpumask *online)
{
	const unsigned long *wanted = NULL;
	int cpu, rank = 0;

	lockdep_assert_held(&hermit_rcl_mutex);
	if (!hermit_rcl_ready)
		return;
	if (!cpumask_empty(&fs_cores))
		wanted = cpumask_bits(&fs_cores);
	hermit_rcl_nr = hermit_offload_pick(cpumask_bits(&hermit_rcl_cpus), wanted,
					    cpumask_bits(online), nr_cpu_ids, fs_nr_cores);
	for_each_possible_cpu(cpu) {
		int r = -1;

		if (cpumask_test_cpu(cpu, &hermit_rcl_cpus))
			r = rank++;
		WRITE_ONCE(per_cpu(hermit_rcl_rank, cpu), r);
	}
	WRITE_ONCE(hermit_rcl_active, clamp(hermit_rcl_active, 1U, max(hermit_rcl_nr, 1U)));
	if (!hermit_rcl_nr) {
		pr_warn_once("no online offload core: memory cgroups reclaim for themselves\n");
		/* Nothing would ever take them off: drop their references. */
		hermit_rcl_drain();
	}
	hermit_rcl_wake();
}

/*
 * Set fs_nr_cores (@nr_cores) or fs_cores (@cores) and apply it. While
 * booting (command line) the threads do not exist yet: only store.
 */
static void hermit_rcl_set(unsigned int *nr_cores, unsigned int nr,
			   const struct cpumask *cores)
{
	bool running = READ_ONCE(hermit_rcl_ready);

	if (running) {
		cpus_read_lock();
		mutex_lock(&hermit_rcl_mutex);
	}
	if (nr_cores)
		*nr_cores = nr;
	if (cores)
		cpumask_copy(&fs_cores, cores);
	if (running) {
		hermit_rcl_update(cpu_online_mask);
		mutex_unlock(&hermit_rcl_mutex);
		cpus_read_unlock();
	}
}

/* Is the cgroup with id @id left alone after a batch that yielded nothing? */
static bool hermit_rcl_backing_off(unsigned long id)
{
	void *entry = xa_load(&hermit_rcl_backoff, id);

	if (!entry)
		return false;
	if (time_before(jiffies, xa_to_value(entry)))
		return true;
	xa_cmpxchg(&hermit_rcl_backoff, id, entry, NULL, 0);
	return false;
}

static void hermit_rcl_queue_add(struct mem_cgroup *memcg)
{
	unsigned long id = cgroup_id(memcg->css.cgroup);

	if (xa_load(&hermit_rcl_queue, id) || hermit_rcl_backing_off(id))
		return;
	if (!css_tryget_online(&memcg->css))
		return;
	if (xa_insert(&hermit_rcl_queue, id, memcg, GFP_NOWAIT | __GFP_NOWARN)) {
		css_put(&memcg->css);
		return;
	}
	hermit_count(HERMIT_FS_QUEUED, 1);
	hermit_rcl_wake();
	hermit_rcl_arm();
}

/* The next queued cgroup after @cursor, round robin, with a reference. */
static struct mem_cgroup *hermit_rcl_queue_next(unsigned long *cursor)
{
	struct mem_cgroup *memcg;

	rcu_read_lock();
	memcg = xa_find_after(&hermit_rcl_queue, cursor, ULONG_MAX, XA_PRESENT);
	if (!memcg) {
		*cursor = 0;
		memcg = xa_find(&hermit_rcl_queue, cursor, ULONG_MAX, XA_PRESENT);
	}
	/* css are freed after an RCU grace period; the entry may be going. */
	if (memcg && !css_tryget(&memcg->css))
		memcg = NULL;
	rcu_read_unlock();
	return memcg;
}

/* The headroom in use: fs_headroom, or less with fs_headroom_adapt. */
static unsigned long hermit_rcl_headroom_now(void)
{
	unsigned long headroom = READ_ONCE(fs_headroom);

	if (READ_ONCE(fs_headroom_adapt))
		headroom = min(headroom, READ_ONCE(hermit_rcl_headroom));
	return headroom;
}

static unsigned long hermit_memcg_trigger(struct mem_cgroup *memcg,
					  unsigned long headroom)
{
	return hermit_offload_trigger(READ_ONCE(memcg->memory.high),
				      READ_ONCE(memcg->memory.max), headroom);
}

/**
 * hermit_memcg_charged() - a charge went through; offload reclaim if due
 * @memcg: The charged cgroup.
 * @nr_pages: Pages charged.
 *
 * Called by try_charge_memcg() each time it charges a batch to the page
 * counter. Queues every cgroup of the hierarchy whose usage is above its
 * trigger and wakes the offload threads. The charge counts once as demand
 * for the controller, however many ancestors are above their trigger.
 * Never sleeps.
 */
void hermit_memcg_charged(struct mem_cgroup *memcg, unsigned int nr_pages)
{
	unsigned long headroom;
	bool counted = false;

	if (!hermit_rcl_on() || !in_task())
		return;
	headroom = hermit_rcl_headroom_now();
	for (; memcg && !mem_cgroup_is_root(memcg); memcg = parent_mem_cgroup(memcg)) {
		unsigned long trigger = hermit_memcg_trigger(memcg, headroom);

		if (!trigger || page_counter_read(&memcg->memory) <= trigger)
			continue;
		if (!counted) {
			atomic_long_add(nr_pages, &hermit_rcl_demand);
			counted = true;
		}
		hermit_rcl_queue_add(memcg);
	}
}

static bool hermit_memcg_has_room(struct mem_cgroup *memcg, unsigned int nr_pages)
{
	return page_counter_read(&memcg->memory) + nr_pages <= READ_ONCE(memcg->memory.max);
}

static bool hermit_memcg_queued(struct mem_cgroup *memcg)
{
	return xa_load(&hermit_rcl_queue, cgroup_id(memcg->css.cgroup)) == memcg;
}

/* Are the threads reclaiming for @memcg or an ancestor (whose limit it hit)? */
static bool hermit_memcg_served(struct mem_cgroup *memcg)
{
	for (; memcg && !mem_cgroup_is_root(memcg); memcg = parent_mem_cgroup(memcg))
		if (hermit_memcg_queued(memcg))
			return true;
	return false;
}

/* Wake @memcg's waiters, in order, until @budget pages are handed out. */
static int hermit_rcl_wake_fn(struct wait_queue_entry *wq, unsigned int mode,
			      int sync, void *arg)
{
	struct hermit_rcl_waiter *w = container_of(wq, struct hermit_rcl_waiter, wq);
	struct hermit_rcl_wake_key *key = arg;

	if (w->memcg != key->memcg)
		return 0;
	if (key->budget <= 0)
		return -1;
	key->budget -= w->nr_pages;
	return autoremove_wake_function(wq, mode, sync, NULL);
}

/* @nr_pages were made free in @memcg: wake the waiters they serve. */
static void hermit_rcl_wake_waiters(struct mem_cgroup *memcg, unsigned long nr_pages)
{
	struct hermit_rcl_wake_key key = { .memcg = memcg, .budget = nr_pages };
	wait_queue_head_t *wqh;

	if (!atomic_read(&hermit_rcl_nr_waiting))
		return;
	/*
	 * A waiter missed here (it queued itself after the check and before
	 * the room was there) sleeps at most HERMIT_RCL_WAIT.
	 */
	wqh = hermit_rcl_wq_of(memcg);
	if (wq_has_sleeper(wqh))
		__wake_up(wqh, TASK_NORMAL, 0, &key);
}

/**
 * hermit_memcg_uncharged() - pages were uncharged; wake who waits for them
 * @memcg: The cgroup uncharged.
 * @nr_pages: Pages uncharged.
 *
 * Called by the memcg uncharge batch and, on cgroup v1, by
 * mem_cgroup_swapout() (interrupts off, under the swap cache lock). Costs
 * an atomic read when nobody waits.
 */
void hermit_memcg_uncharged(struct mem_cgroup *memcg, unsigned long nr_pages)
{
	if (!atomic_read(&hermit_rcl_nr_waiting))
		return;
	for (; memcg && !mem_cgroup_is_root(memcg); memcg = parent_mem_cgroup(memcg))
		hermit_rcl_wake_waiters(memcg, nr_pages);
}

/**
 * hermit_memcg_wait() - at the hard limit, wait for the offload threads
 * @memcg: The cgroup at its limit.
 * @nr_pages: Pages the task is charging.
 *
 * Called by try_charge_memcg(), inside its memory stall and after the
 * MEMCG_MAX event, before a task reclaims for its own charge; the caller
 * bounds the calls per charge. If offload threads are reclaiming for
 * @memcg right now, the task waits for their next batch or an uncharge (at
 * most 10 ms) instead of reclaiming the same pages beside them; it reclaims
 * for itself if no room was made.
 *
 * Return: true if there is room now: the caller retries the charge.
 */
bool hermit_memcg_wait(struct mem_cgroup *memcg, unsigned int nr_pages)
{
	struct hermit_rcl_waiter w = { .memcg = memcg, .nr_pages = nr_pages };
	wait_queue_head_t *wqh = hermit_rcl_wq_of(memcg);
	long timeout = HERMIT_RCL_WAIT;
	bool room;
	u64 start;

	if (!hermit_rcl_on() || !hermit_memcg_queued(memcg))
		return false;
	start = local_clock();
	init_wait(&w.wq);
	w.wq.func = hermit_rcl_wake_fn;
	atomic_inc(&hermit_rcl_nr_waiting);
	for (;;) {
		prepare_to_wait_exclusive(wqh, &w.wq, TASK_KILLABLE);
		room = hermit_memcg_has_room(memcg, nr_pages);
		if (room || !timeout || fatal_signal_pending(current) ||
		    !hermit_memcg_queued(memcg))
			break;
		timeout = schedule_timeout(timeout);
	}
	finish_wait(wqh, &w.wq);
	atomic_dec(&hermit_rcl_nr_waiting);
	hermit_count(HERMIT_FS_WAITS, 1);
	hermit_count(HERMIT_FS_WAIT_NS, local_clock() - start);
	/*
	 * Every wait is a stall: the threads started too late. The direct
	 * input is left to the reclaim that may follow (it counts what it
	 * frees), so that a stall is not counted twice there.
	 */
	atomic_long_inc(&hermit_rcl_stalls);
	if (!room && !timeout)
		atomic_long_inc(&hermit_rcl_timeouts);
	return room;
}

/**
 * hermit_direct_reclaimed() - account reclaim a task did for its own charge
 * @memcg: The cgroup it reclaimed for.
 * @start: hermit_reclaim_start() before the reclaim.
 * @nr_reclaimed: Pages it reclaimed.
 *
 * The counters take every such reclaim, in any cgroup, whether or not
 * offloading is on (they are what it is compared with). Only reclaim that
 * freed pages for a cgroup the threads serve (or whose ancestor they serve)
 * is a controller input: the threads falling behind, both for the number
 * of threads and for the headroom.
 */
void hermit_direct_reclaimed(struct mem_cgroup *memcg, u64 start,
			     unsigned long nr_reclaimed)
{
	hermit_count(HERMIT_FS_RECLAIMED_DIRECT, nr_reclaimed);
	hermit_count(HERMIT_FS_DIRECT_RECLAIM_NS, local_clock() - start);
	if (nr_reclaimed && hermit_memcg_served(memcg)) {
		atomic_long_add(nr_reclaimed, &hermit_rcl_direct);
		atomic_long_inc(&hermit_rcl_stalls);
	}
}

/**
 * hermit_memcg_offline() - a cgroup goes offline: drop it from the queue
 * @memcg: The cgroup.
 *
 * Called by mem_cgroup_css_offline(), so a removed cgroup is not pinned by
 * the queue until a thread comes by.
 */
void hermit_memcg_offline(struct mem_cgroup *memcg)
{
	unsigned long id = cgroup_id(memcg->css.cgroup);

	if (hermit_rcl_queue_del(id, memcg))
		atomic_long_inc(&hermit_rcl_dropped);
	xa_erase(&hermit_rcl_backoff, id);
}

static void hermit_rcl_served_add(unsigned long id, unsigned long nr, u64 ns)
{
	struct hermit_rcl_served *sv;

	xa_lock(&hermit_rcl_served);
	sv = xa_load(&hermit_rcl_served, id);
	if (!sv && atomic_read(&hermit_rcl_nr_served) < HERMIT_RCL_SERVED_MAX) {
		sv = kzalloc(sizeof(*sv), GFP_NOWAIT | __GFP_NOWARN);
		if (sv && xa_err(__xa_store(&hermit_rcl_served, id, sv,
					    GFP_NOWAIT | __GFP_NOWARN))) {
			kfree(sv);
			sv = NULL;
		}
		if (sv)
			atomic_inc(&hermit_rcl_nr_served);
	}
	if (sv) {
		sv->pages += nr;
		sv->ns += ns;
	}
	xa_unlock(&hermit_rcl_served);
}

/* Forget backoffs that have run out (their cgroups may be gone). */
static void hermit_rcl_prune(void)
{
	unsigned long id;
	void *entry;

	xa_for_each(&hermit_rcl_backoff, id, entry)
		if (!time_before(jiffies, xa_to_value(entry)))
			xa_cmpxchg(&hermit_rcl_backoff, id, entry, NULL, 0);
}

/* One controller step; again in a period while there is anything to do. */
static void hermit_rcl_tick(struct work_struct *work)
{
	unsigned long demand = atomic_long_xchg(&hermit_rcl_demand, 0);
	unsigned int old, new;

	old = READ_ONCE(hermit_rcl_active);
	new = hermit_offload_next_active(old, READ_ONCE(hermit_rcl_nr), demand,
					 atomic_long_xchg(&hermit_rcl_supply, 0),
					 atomic_long_xchg(&hermit_rcl_direct, 0));
	if (new && new != old) {
		WRITE_ONCE(hermit_rcl_active, new);
		if (new > old)
			hermit_rcl_wake();
	}
	WRITE_ONCE(hermit_rcl_headroom,
		   hermit_offload_next_headroom(READ_ONCE(hermit_rcl_headroom),
						READ_ONCE(fs_headroom),
						atomic_long_xchg(&hermit_rcl_stalls, 0),
						demand));
	hermit_rcl_prune();
	/*
	 * Queued while the last offload core went away or Hermit was turned
	 * off: nobody would serve it.
	 */
	if (!hermit_rcl_on())
		hermit_rcl_drain();
	if (!xa_empty(&hermit_rcl_queue) || new > 1 || !xa_empty(&hermit_rcl_backoff))
		hermit_rcl_arm();
}

/**
 * hermit_defer_pageout() - may reclaim write this dirty folio after the batch?
 * @folio: A dirty folio reclaim has unmapped and is about to write.
 *
 * Called by shrink_folio_list(). An offload thread reclaims for tasks on
 * other CPUs: the TLB flush before each write is a shootdown IPI to them.
 * With fs_batch_flush, an offload thread holds order-0 anonymous swap cache
 * folios back and writes them after the batch, after one flush.
 *
 * Return: true to defer the write of @folio.
 */
bool hermit_defer_pageout(struct folio *folio)
{
	return READ_ONCE(fs_batch_flush) && (current->flags & PF_KTHREAD) &&
		this_cpu_read(hermit_rcl_task) == current &&
		!folio_test_large(folio) && folio_test_anon(folio) &&
		folio_test_swapcache(folio);
}

/**
 * hermit_pageout_done() - an offload thread wrote the folios it held back
 * @start: hermit_reclaim_start() before the TLB flush and the writes.
 *
 * Called by shrink_folio_list() after the writes of the folios that
 * hermit_defer_pageout() held back, so that the threads' time splits into
 * writing (fs_status pageout_ns) and the rest: scanning and unmapping.
 */
void hermit_pageout_done(u64 start)
{
	atomic64_add(local_clock() - start, &hermit_rcl_pageout_ns);
}

static int hermit_rcl_should_run(unsigned int cpu)
{
	int rank = __this_cpu_read(hermit_rcl_rank);

	return rank >= 0 && rank < READ_ONCE(hermit_rcl_active) &&
		!xa_empty(&hermit_rcl_queue);
}

/* One batch of reclaim for the next queued cgroup. */
static void hermit_rcl_run(unsigned int cpu)
{
	unsigned long *cursor = per_cpu_ptr(&hermit_rcl_cursor, cpu);
	unsigned long id, trigger, usage, nr = 0;
	struct mem_cgroup *memcg;

	memcg = hermit_rcl_queue_next(cursor);
	if (!memcg)
		return;
	id = *cursor;
	trigger = hermit_memcg_trigger(memcg, hermit_rcl_headroom_now());
	usage = page_counter_read(&memcg->memory);
	if (!mem_cgroup_online(memcg)) {
		if (hermit_rcl_queue_del(id, memcg))
			atomic_long_inc(&hermit_rcl_dropped);
		goto out;
	}
	/* Reclaim a batch below the trigger, so the task is not back at once. */
	if (hermit_rcl_on() && trigger && usage + HERMIT_RCL_BATCH > trigger) {
		u64 ns, start = local_clock();

		nr = try_to_free_mem_cgroup_pages(memcg, HERMIT_RCL_BATCH, GFP_KERNEL,
						  MEMCG_RECLAIM_MAY_SWAP, NULL);
		ns = local_clock() - start;
		trace_hermit_offload_batch(id, usage, nr, ns);
		hermit_count(HERMIT_FS_OFFLOAD_NS, ns);
		hermit_count_memcg(memcg, HERMIT_FS_RECLAIMED_OFFLOAD, nr);
		atomic_long_add(nr, &hermit_rcl_supply);
		/* The uncharge of the pages freed woke the waiters. */
		hermit_rcl_served_add(id, nr, ns);
		if (!nr) {
			/* Stuck: leave it alone for a while, do not spin on it. */
			xa_store(&hermit_rcl_backoff, id,
				 xa_mk_value(jiffies + HERMIT_RCL_BACKOFF),
				 GFP_KERNEL | __GFP_NOWARN);
		}
	}
	/* Done, or stuck: a charge above the trigger queues it again. */
	if (!nr)
		hermit_rcl_queue_del(id, memcg);
out:
	css_put(&memcg->css);
	cond_resched();
}

static struct smp_hotplug_thread hermit_rcl_threads = {
	.store			= &hermit_rcl_task,
	.thread_should_run	= hermit_rcl_should_run,
	.thread_fn		= hermit_rcl_run,
	.thread_comm		= "hermit_rcl/%u",
};

static int hermit_rcl_cpu_online(unsigned int cpu)
{
	mutex_lock(&hermit_rcl_mutex);
	hermit_rcl_update(cpu_online_mask);
	mutex_unlock(&hermit_rcl_mutex);
	return 0;
}

static int hermit_rcl_cpu_offline(unsigned int cpu)
{
	static struct cpumask online;	/* under hermit_rcl_mutex */

	mutex_lock(&hermit_rcl_mutex);
	cpumask_copy(&online, cpu_online_mask);
	cpumask_clear_cpu(cpu, &online);
	hermit_rcl_update(&online);
	mutex_unlock(&hermit_rcl_mutex);
	return 0;
}

/* Turned off, the queue is emptied by the next controller step. */
module_param_cb(fs_enabled, &hermit_bool_param_ops, &fs_enabled, 0644);
MODULE_PARM_DESC(fs_enabled, "Offload memory cgroup reclaim to dedicated cores (default Y)");

static int hermit_fs_nr_cores_set(const char *val, const struct kernel_param *kp)
{
	unsigned int nr;

	if (kstrtouint(val, 0, &nr) || !nr || nr > nr_cpu_ids)
		return -EINVAL;
	hermit_rcl_set(&fs_nr_cores, nr, NULL);
	return 0;
}

static const struct kernel_param_ops hermit_fs_nr_cores_ops = {
	.set = hermit_fs_nr_cores_set,
	.get = param_get_uint,
};
module_param_cb(fs_nr_cores, &hermit_fs_nr_cores_ops, &fs_nr_cores, 0644);
MODULE_PARM_DESC(fs_nr_cores, "Offload reclaim threads at most (default 1)");

/*
 * A cpulist of possible CPUs, or "auto" for the last fs_nr_cores online.
 * Parameter writes are serialised by the parameter lock (and the command
 * line is parsed before there is an allocator), hence the static mask.
 */
static int hermit_fs_cores_set(const char *val, const struct kernel_param *kp)
{
	static struct cpumask mask;
	char buf[256];

	if (strscpy(buf, val ?: "", sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	cpumask_clear(&mask);
	if (strcmp(buf, "auto") &&
	    (!buf[0] || cpulist_parse(buf, &mask) || cpumask_empty(&mask) ||
	     !cpumask_subset(&mask, cpu_possible_mask)))
		return -EINVAL;
	hermit_rcl_set(NULL, 0, &mask);
	return 0;
}

static int hermit_fs_cores_get(char *buf, const struct kernel_param *kp)
{
	if (cpumask_empty(&fs_cores))
		return sysfs_emit(buf, "auto\n");
	return sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(&fs_cores));
}

static const struct kernel_param_ops hermit_fs_cores_ops = {
	.set = hermit_fs_cores_set,
	.get = hermit_fs_cores_get,
};
module_param_cb(fs_cores, &hermit_fs_cores_ops, NULL, 0644);
MODULE_PARM_DESC(fs_cores, "Offload cores, a cpulist, or auto: the last fs_nr_cores online CPUs");

static int hermit_fs_headroom_set(const char *val, const struct kernel_param *kp)
{
	unsigned long pages;

	/* Before mm is up (command line) totalram_pages() is still 0. */
	if (kstrtoul(val, 0, &pages) || !pages ||
	    (totalram_pages() && pages >= totalram_pages()))
		return -EINVAL;
	WRITE_ONCE(fs_headroom, pages);
	return 0;
}

static const struct kernel_param_ops hermit_fs_headroom_ops = {
	.set = hermit_fs_headroom_set,
	.get = param_get_ulong,
};
module_param_cb(fs_headroom, &hermit_fs_headroom_ops, &fs_headroom, 0644);
MODULE_PARM_DESC(fs_headroom, "Pages below a cgroup's limit where offloaded reclaim starts, at most with fs_headroom_adapt (default 2048)");

module_param_cb(fs_headroom_adapt, &hermit_bool_param_ops, &fs_headroom_adapt, 0644);
MODULE_PARM_DESC(fs_headroom_adapt, "Grow the headroom when tasks stall, shrink it when they do not, up to fs_headroom (default Y)");

module_param_cb(fs_batch_flush, &hermit_bool_param_ops, &fs_batch_flush, 0644);
MODULE_PARM_DESC(fs_batch_flush, "Offload threads flush the TLB once per batch of dirty pages (default Y)");

static int hermit_fs_status_show(struct seq_file *m, void *v)
{
	unsigned long __maybe_unused *events;
	unsigned long id, queued = 0;
	struct mem_cgroup *memcg;
	void *entry;

	mutex_lock(&hermit_rcl_mutex);
	seq_printf(m, "offload_cpus %*pbl\n", cpumask_pr_args(&hermit_rcl_cpus));
	seq_printf(m, "threads %u\nactive %u\n", hermit_rcl_nr,
		   READ_ONCE(hermit_rcl_active));
	seq_printf(m, "headroom %lu\n", hermit_rcl_headroom_now());
	mutex_unlock(&hermit_rcl_mutex);
	xa_for_each(&hermit_rcl_queue, id, memcg)
		queued++;
	seq_printf(m, "queued_cgroups %lu\n", queued);
	queued = 0;
	xa_for_each(&hermit_rcl_backoff, id, entry)
		queued++;
	seq_printf(m, "backoff_cgroups %lu\n", queued);
	seq_printf(m, "dropped_offline %ld\n", atomic_long_read(&hermit_rcl_dropped));
	seq_printf(m, "wait_timeouts %ld\n", atomic_long_read(&hermit_rcl_timeouts));
	seq_printf(m, "pageout_ns %lld\n", atomic64_read(&hermit_rcl_pageout_ns));
#ifdef CONFIG_VM_EVENT_COUNTERS
	events = kcalloc(NR_VM_EVENT_ITEMS, sizeof(*events), GFP_KERNEL);
	if (events) {
		all_vm_events(events);
		seq_printf(m, "reclaimed_kswapd %lu\n", events[PGSTEAL_KSWAPD]);
		kfree(events);
	}
#endif
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hermit_fs_status);

/* "CGROUP_ID PAGES NS" for each cgroup the threads reclaimed for. */
static int hermit_fs_served_show(struct seq_file *m, void *v)
{
	struct hermit_rcl_served *sv;
	unsigned long id;

	xa_lock(&hermit_rcl_served);
	xa_for_each(&hermit_rcl_served, id, sv)
		seq_printf(m, "%lu %lu %llu\n", id, sv->pages, sv->ns);
	xa_unlock(&hermit_rcl_served);
	return 0;
}

static int hermit_fs_served_open(struct inode *inode, struct file *file)
{
	return single_open(file, hermit_fs_served_show, NULL);
}

/* Any write clears the table. */
static ssize_t hermit_fs_served_write(struct file *file, const char __user *buf,
				      size_t len, loff_t *ppos)
{
	struct hermit_rcl_served *sv;
	unsigned long id;

	xa_lock(&hermit_rcl_served);
	xa_for_each(&hermit_rcl_served, id, sv)
		kfree(__xa_erase(&hermit_rcl_served, id));
	atomic_set(&hermit_rcl_nr_served, 0);
	xa_unlock(&hermit_rcl_served);
	return len;
}

static const struct file_operations hermit_fs_served_fops = {
	.owner		= THIS_MODULE,
	.open		= hermit_fs_served_open,
	.read		= seq_read,
	.llseek		= seq_lseek,
	.release	= single_release,
	.write		= hermit_fs_served_write,
};

static const struct kernel_param hermit_fs_knobs[] = {
	{ .name = "fs_enabled", .ops = &hermit_bool_param_ops, .perm = 0644,
	  .arg = &fs_enabled },
	{ .name = "fs_nr_cores", .ops = &hermit_fs_nr_cores_ops, .perm = 0644,
	  .arg = &fs_nr_cores },
	{ .name = "fs_cores", .ops = &hermit_fs_cores_ops, .perm = 0644 },
	{ .name = "fs_headroom", .ops = &hermit_fs_headroom_ops, .perm = 0644,
	  .arg = &fs_headroom },
	{ .name = "fs_headroom_adapt", .ops = &hermit_bool_param_ops, .perm = 0644,
	  .arg = &fs_headroom_adapt },
	{ .name = "fs_batch_flush", .ops = &hermit_bool_param_ops, .perm = 0644,
	  .arg = &fs_batch_flush },
};

static int __init hermit_rcl_init(void)
{
	struct dentry *dir = hermit_debugfs_root();
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(hermit_fs_knobs); i++)
		hermit_debugfs_knob(dir, &hermit_fs_knobs[i]);
	debugfs_create_file("fs_status", 0444, dir, NULL, &hermit_fs_status_fops);
	debugfs_create_file("fs_served", 0644, dir, NULL, &hermit_fs_served_fops);

	for (i = 0; i < ARRAY_SIZE(hermit_rcl_wq); i++)
		init_waitqueue_head(&hermit_rcl_wq[i]);
	ret = smpboot_register_percpu_thread(&hermit_rcl_threads);
	if (ret) {
		pr_err("cannot start the offload reclaim threads: %d\n", ret);
		return ret;
	}
	WRITE_ONCE(hermit_rcl_ready, true);
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "mm/hermit:online",
					hermit_rcl_cpu_online, hermit_rcl_cpu_offline);
	if (ret < 0)
		pr_warn("no CPU hotplug notification (%d): offload cores stay as chosen\n", ret);
	hermit_rcl_set(NULL, 0, NULL);
	return 0;
}
late_initcall(hermit_rcl_init);
