#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Major-fault latency of one swap tier, on a cluster node:
#   fault_latency_guest.sh hermit-dram|hermit-rdma|hermit-rdma-nomerge|hermit-rdma-noahead|nvmeof-rdma|zram-lz4|disk
#                          [MiB [SERVER [max|high [ORDER [PREFETCH [LOCAL%
#                          [sleeps]]]]]]]
# hermit-rdma swaps to the Hermit memory server at SERVER (rdma_server.sh
# start there first; hermit-rdma-nomerge does with hermit.rdma_merge=1,
# every folio its own RDMA transfer, hermit-rdma-noahead with
# hermit.chunk_ahead=N), nvmeof-rdma on the NVMe-oF/RDMA namespace SERVER
# exports (nvmeof_swap.sh export there first).
# fault_bench fills MiB in a cgroup whose memory.max (or memory.high) is a
# quarter of it (LOCAL%, default 25),
# then reads every page in ORDER (rand, the default, seq or stride), timing
# the accesses that faulted. PREFETCH sets the swap readahead (which
# Hermit reads asynchronously): vma (the default: the kernel's VMA-based
# window), cluster (the swap-slot cluster around the fault), off (none) or,
# for Hermit only, trend (hermit.prefetch=trend, the stride detector) and
# trend-async (the same, its windows started by a worker:
# hermit.prefetch_async).
# Offloaded reclaim is off for every tier (it is measured by its own
# benchmark). The result line says where the pages went: pages Hermit
# stored, pages written to a swap device (pswpout, zram included), and
# Hermit's failed stores.
# With "sleeps", only the fill runs, and the result is where fault_bench
# was off the CPU meanwhile: sched_switch with a kernel stack each time it
# left the CPU, until it was back, summed by the first frames that are not
# the scheduler's own (sleep_ms NAME MS COUNT ... in the result line).
. /run/hermit/selftests/lib.sh

mode=${1:?mode}
mib=${2:-64}
order=${5:-rand}
prefetch=${6:-vma}
local_pct=${7:-25}
sleeps=${8:-}
. /run/hermit/bench/tier.sh
# Refused before anything changes.
tier_prefetch_valid "$mode" "$prefetch"
tier_up "$mode" "${3:-}"
tier_prefetch "$prefetch"
cg=/sys/fs/cgroup/fault-bench
rmdir $cg 2>/dev/null
mkdir $cg
limit=${4:-max}
case $limit in max | high) ;; *) fail "limit must be max or high" ;; esac
echo $((mib * 1024 * 1024 * local_pct / 100)) >$cg/memory.$limit
ra_keys="swap_ra swap_ra_hit pswpin"
hermit_keys="ondemand_swapin prefetch_swapin hiton_swap_cache prefetch_late prefetch_wasted"
for k in $ra_keys; do eval "${k}0=\$(vmstat $k)"; done
for k in $hermit_keys; do eval "${k}0=\$(cat $H/$k)"; done
cleanup() {
	rmdir $cg 2>/dev/null
	tier_down
}
T=/sys/kernel/tracing
trace_on() {
	mountpoint -q $T || mount -t tracefs nodev $T || fail "no tracefs"
	echo 0 >$T/tracing_on
	echo 16384 >$T/buffer_size_kb
	echo >$T/trace
	echo 'prev_comm == "fault_bench" || next_comm == "fault_bench"' \
		>$T/events/sched/sched_switch/filter
	echo 'stacktrace if prev_comm == "fault_bench"' >$T/events/sched/sched_switch/trigger
	echo 1 >$T/events/sched/sched_switch/enable
	echo 1 >$T/tracing_on
}
# Off-CPU time of fault_bench by the first frames of its kernel stack.
trace_off() {
	echo 0 >$T/tracing_on
	echo 0 >$T/events/sched/sched_switch/enable
	echo '!stacktrace if prev_comm == "fault_bench"' >$T/events/sched/sched_switch/trigger
	echo 0 >$T/events/sched/sched_switch/filter
	awk '
	/ sched_switch: / {
		ts = $0; sub(/:? sched_switch:.*/, "", ts); n = split(ts, f, " "); ts = f[n] + 0
		if ($0 ~ /prev_comm=fault_bench /) {
			out = ts; key = ""; path = ""; frames = 0; instack = 1
			if ($0 ~ /prev_state=R/) key = "runnable"
		} else if (out) {
			k = key != "" ? key : (path != "" ? path : "-")
			ms[k] += (ts - out) * 1000; cnt[k]++; out = 0; instack = 0
		}
		next
	}
	/<stack trace>/ { next }
	/^ => / && instack && key == "" {
		fn = $2
		if (fn ~ /^(__traceiter_.*|trace_.*|event_trigger.*|stacktrace_.*|__schedule|schedule|schedule_timeout|schedule_preempt_disabled|io_schedule|io_schedule_timeout|__cond_resched|preempt_schedule.*|schedule_hrtimeout.*|__down.*|down|rwsem_down.*|__mutex_lock.*|mutex_lock|rt_mutex.*|__wait_for_common|wait_for_completion.*|folio_wait_bit_common|.*wait_on_page.*|__wait_.*)$/) next
		path = path ? path "<" fn : fn
		if (++frames == 3) { key = path; path = ""; instack = 0 }
		next
	}
	!/^ => / && instack && path != "" { if (key == "") key = path; path = ""; instack = 0 }
	END {
		for (k in ms) printf " sleep_ms %s %.0f %d", k, ms[k], cnt[k]
	}' $T/trace
	echo >$T/trace
}
if [ -n "$sleeps" ]; then
	trace_on
	out=$( (echo $BASHPID >$cg/cgroup.procs && exec "$SELFTESTS/fault_bench" "$mib" "$order" fill) 2>&1)
	rc=$?
	profile=$(trace_off)
	cleanup
	[ $rc = 0 ] || fail "fault_bench failed: $out"
	echo "result: $mode $out$profile"
	exit 0
fi
if ! out=$( (echo $BASHPID >$cg/cgroup.procs && exec "$SELFTESTS/fault_bench" "$mib" "$order") 2>&1); then
	events=$(tr '\n' ' ' <$cg/memory.events)
	cleanup
	fail "fault_bench failed under memory.$limit: ${out:-killed}; memory.events: $events"
fi
where=$(tier_where)
for k in $ra_keys; do where="$where $k $(($(vmstat $k) - ${k}0))"; done
for k in $hermit_keys; do where="$where $k $(($(cat $H/$k) - ${k}0))"; done
cleanup
echo "result: $mode $out $where mem_kib $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) cpus $(nproc) kernel $(uname -r)"
