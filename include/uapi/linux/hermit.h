/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Hermit remote memory: the ABI of its statistics system calls.
 *
 * hermit_stats(stats, size, flags) copies Hermit's counters into @stats,
 * @size bytes of it: at least HERMIT_STATS_SIZE_VER0. A caller built
 * with a newer, longer struct gets its unknown tail zeroed; one built with
 * an older, shorter one gets the fields it knows. @flags must be 0.
 * hermit_reset(flags) zeroes the counters (CAP_SYS_ADMIN; @flags 0).
 *
 * Their numbers (x86_64 only; __NR_hermit_stats and __NR_hermit_reset
 * in <asm/unistd.h>) are 500 and 501, far above the last numbers
 * released kernels use (mseal is 462 in 6.12, 463-469 came in 6.13 to
 * 6.17), so that the next upstream system calls do not take them as
 * 451/452 were taken from the original Hermit.
 */
#ifndef _UAPI_LINUX_HERMIT_H
#define _UAPI_LINUX_HERMIT_H

#include <linux/types.h>

/*
 * Buckets of the fault latency histograms, in nanoseconds: bucket b < 4
 * holds b ns, buckets 4 to 7 are unused, and bucket b >= 8, with o = b / 4
 * and q = b % 4, holds [2^o + q * 2^(o-2), 2^o + (q+1) * 2^(o-2)) ns: four
 * buckets per power of two. The last one also holds everything longer
 * (from 2^31 + 3 * 2^29 ns, about 3.8 s).
 */
#define HERMIT_LAT_BUCKETS	128

/**
 * struct hermit_stats - Hermit's counters since boot or the last reset
 * @stored: Pages whose store to the backend completed.
 * @stored_large_folios: Large folios among them.
 * @loaded: Pages read back from the backend.
 * @ondemand_swapin: Pages read for the faulting task.
 * @prefetch_swapin: Pages of swap readahead whose read was started.
 * @hiton_swap_cache: First accesses to a prefetched page.
 * @prefetch_late: Of those, accesses that came before its read completed.
 * @prefetch_wasted: Prefetched pages that left the swap cache untouched.
 * @prefetch_queued: Readahead entries handed to the prefetch worker.
 * @invalidated: Held pages dropped (their swap slot freed).
 * @refused_disabled: Stores refused: Hermit disabled.
 * @refused_no_backend: Stores refused: no backend.
 * @refused_full: Stores refused: the backend was full.
 * @refused_unavailable: Stores refused: the backend was unreachable.
 * @refused_error: Stores refused for another error.
 * @store_failed: Pages whose started store failed (written to the disk).
 * @load_errors: Failed reads from the backend.
 * @reloaded: Pages read again after a failed read.
 * @fs_queued: Cgroups queued for offloaded reclaim.
 * @fs_reclaimed_offload: Pages reclaimed by the offload threads.
 * @fs_offload_ns: Time the offload threads spent reclaiming.
 * @fs_reclaimed_direct: Pages reclaimed directly by charging tasks.
 * @fs_direct_reclaim_ns: Time charging tasks spent in direct reclaim.
 * @fs_waits: Charges that waited for the offload threads.
 * @fs_wait_ns: Time they waited.
 * @pages_held: Pages the backend holds now (not reset).
 * @stores_in_flight: Stores started and not completed now (not reset).
 * @fault_major_ns: Time spent in the faults of @fault_major.
 * @fault_minor_ns: Time spent in the faults of @fault_minor.
 * @fault_major: Latency histogram (HERMIT_LAT_BUCKETS) of the page faults
 *	on pages Hermit held that read the page from it, or waited for a
 *	read under way.
 * @fault_minor: The same of those that found the page read ahead.
 *
 * Fields up to @stores_in_flight are HERMIT_STATS_SIZE_VER0; the
 * histograms came with HERMIT_STATS_SIZE_VER1.
 */
struct hermit_stats {
	__u64 stored;
	__u64 stored_large_folios;
	__u64 loaded;
	__u64 ondemand_swapin;
	__u64 prefetch_swapin;
	__u64 hiton_swap_cache;
	__u64 prefetch_late;
	__u64 prefetch_wasted;
	__u64 prefetch_queued;
	__u64 invalidated;
	__u64 refused_disabled;
	__u64 refused_no_backend;
	__u64 refused_full;
	__u64 refused_unavailable;
	__u64 refused_error;
	__u64 store_failed;
	__u64 load_errors;
	__u64 reloaded;
	__u64 fs_queued;
	__u64 fs_reclaimed_offload;
	__u64 fs_offload_ns;
	__u64 fs_reclaimed_direct;
	__u64 fs_direct_reclaim_ns;
	__u64 fs_waits;
	__u64 fs_wait_ns;
	__u64 pages_held;
	__u64 stores_in_flight;
	__u64 fault_major_ns;
	__u64 fault_minor_ns;
	__u64 fault_major[HERMIT_LAT_BUCKETS];
	__u64 fault_minor[HERMIT_LAT_BUCKETS];
};

#define HERMIT_STATS_SIZE_VER0	216	/* sizeof first published struct */
#define HERMIT_STATS_SIZE_VER1	2280	/* with the fault latency histograms */

#endif /* _UAPI_LINUX_HERMIT_H */
