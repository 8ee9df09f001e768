#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One application run of 'bench apps', on the compute node:
#   apps_guest.sh TIER APP SIZE LOCAL% PEAK_KIB high|max [SERVER]
# TIER: local (no swap at all: the 100 % run, which measures the peak),
# hermit-rdma (Hermit over RDMA as it ships: offloaded reclaim on, the
# default prefetch), fastswap (Hermit over RDMA the way Fastswap ran: one
# offload core, a TLB flush per page, the kernel's cluster readahead),
# hermit-dram (Hermit's DRAM backend, offloaded reclaim on), nvmeof-rdma,
# zram-lz4 or disk (Hermit off, its offloaded reclaim off).
# APP: sort (sort_bench of SIZE MiB, two threads: its runtime) or redis
# (redis-server holding SIZE MiB of 4 KiB values, then as many
# redis-benchmark GETs of random keys from 8 connections: throughput, p50, p99, max).
# The application runs on CPU 0 in a memory cgroup whose memory.high (or
# memory.max) is LOCAL% of PEAK_KIB; the offload thread (hermit tiers) and the load
# generator run on CPU 1. The result line has the metrics, the cgroup's
# memory.peak, and where the pages went (tier_where).
. /run/hermit/selftests/lib.sh
. /run/hermit/bench/tier.sh

tier=${1:?tier} app=${2:?app} size=${3:?size} pct=${4:?local%} peak=${5:?peak_kib}
limit=${6:?high|max} server=${7:-}
case $app in sort | redis) ;; *) fail "unknown app $app (sort, redis)" ;; esac
case $limit in high | max) ;; *) fail "limit must be high or max" ;; esac
case $tier in
local | nvmeof-rdma | zram-lz4 | disk) tier_up "$tier" "$server" ;;
hermit-dram) tier_up hermit-dram ;;
hermit-rdma | fastswap) tier_up hermit-rdma "$server" ;;
*) fail "unknown tier $tier" ;;
esac
case $tier in
hermit-*) tier_set $H/fs_enabled Y ;;
fastswap)
	tier_set $H/fs_enabled Y
	tier_set $H/fs_nr_cores 1
	tier_set $H/fs_batch_flush N
	tier_prefetch cluster
	;;
esac
cg=/sys/fs/cgroup/bench-app
rmdir $cg 2>/dev/null
mkdir $cg || fail "cannot create $cg"
[ "$pct" -lt 100 ] && echo $((peak * 1024 * pct / 100)) >$cg/memory.$limit
redis_pid=
cleanup() {
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	rmdir $cg 2>/dev/null
	tier_down
}
trap cleanup EXIT

case $app in
sort)
	out=$( (echo $BASHPID >$cg/cgroup.procs &&
		exec taskset -c 0 "$SELFTESTS/sort_bench" "$size" 2) 2>&1) ||
		fail "sort_bench failed: ${out:-killed}; memory.events: $(tr '\n' ' ' <$cg/memory.events)"
	metrics="seconds $(echo "$out" | awk '{ print $7 }')"
	;;
redis)
	command -v redis-server >/dev/null || fail "no redis-server in the image"
	keys=$((size * 256))
	(echo $BASHPID >$cg/cgroup.procs &&
		exec taskset -c 0 redis-server --port 6379 --save "" --appendonly no \
			--protected-mode no --daemonize no --logfile "") >/dev/null 2>&1 &
	redis_pid=$!
	for _ in $(seq 100); do
		redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && break
		sleep 0.2
	done
	redis-cli -p 6379 ping 2>/dev/null | grep -q PONG || fail "redis-server did not start"
	# Every key once, through redis-cli --pipe, named as redis-benchmark -r
	# names them (key:%012d).
	seq 0 $((keys - 1)) | awk -v v="$(head -c 4096 /dev/zero | tr '\0' x)" \
		'{ printf "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%012d\r\n$4096\r\n%s\r\n", 16, $1, v }' |
		taskset -c 1 redis-cli -p 6379 --pipe >/dev/null ||
		fail "filling redis failed; memory.events: $(tr '\n' ' ' <$cg/memory.events)"
	csv=$(taskset -c 1 redis-benchmark -p 6379 -t get -n "$keys" -r "$keys" \
		-c 8 -d 4096 --csv 2>/dev/null) || fail "redis-benchmark failed"
	kill -0 "$redis_pid" 2>/dev/null ||
		fail "redis-server died; memory.events: $(tr '\n' ' ' <$cg/memory.events)"
	metrics=$(echo "$csv" | tr -d '"' | awk -F, '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 ~ /^GET/ { printf "rps %s p50_ms %s p99_ms %s max_ms %s", $col["rps"],
			$col["p50_latency_ms"], $col["p99_latency_ms"], $col["max_latency_ms"] }')
	[ -n "$metrics" ] || fail "no GET line in redis-benchmark's output: $csv"
	;;
esac
echo "result: $tier $app pct $pct $metrics peak_kib $(($(cat $cg/memory.peak) / 1024))" \
	"mem_kib $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) cpus $(nproc)" \
	"$(tier_where)"
