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
# APP: sort (sort_bench of SIZE MiB, two threads: its runtime), redis
# (redis-server holding SIZE MiB of 4 KiB values, then as many
# redis-benchmark GETs of random keys from 8 connections: throughput, p50, p99, max),
# memcached (memcached holding SIZE MiB of 4 KiB values, then mc_load's
# 90 % GET / 10 % SET of Zipf-popular keys from 4 connections, every value
# checked: throughput, p50, p99, p99.9, max) or faas (faas_bench: 8
# functions of SIZE/8 MiB, each a process in a memory cgroup of its own
# below the limited one, started cold, then 32 warm invocations with a
# skew: cold and warm latency; the metric is the warm invocations' time).
# The application runs on CPU 0 in a memory cgroup whose memory.high (or
# memory.max) is LOCAL% of PEAK_KIB; the offload thread (hermit tiers) and the load
# generator run on CPU 1. The result line has the metrics, the cgroup's
# memory.peak, and where the pages went (tier_where).
# Where the test cluster puts them, or (on real machines, see apps.py)
# where SELFTESTS and HERMIT_BENCH_DIR say.
. "${SELFTESTS:-/run/hermit/selftests}/lib.sh"
. "${HERMIT_BENCH_DIR:-/run/hermit/bench}/tier.sh"

tier=${1:?tier} app=${2:?app} size=${3:?size} pct=${4:?local%} peak=${5:?peak_kib}
limit=${6:?high|max} server=${7:-}
case $app in sort | redis | memcached | faas) ;;
*) fail "unknown app $app (sort, redis, memcached, faas)" ;;
esac
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
	tier_set $H/fs_headroom_adapt N
	tier_prefetch cluster
	;;
esac
cg=/sys/fs/cgroup/bench-app
rmdir $cg 2>/dev/null
mkdir $cg || fail "cannot create $cg"
[ "$pct" -lt 100 ] && echo $((peak * 1024 * pct / 100)) >$cg/memory.$limit
app_pid=
cleanup() {
	[ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
	rmdir $cg/fn-* $cg 2>/dev/null
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
	app_pid=$!
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
	kill -0 "$app_pid" 2>/dev/null ||
		fail "redis-server died; memory.events: $(tr '\n' ' ' <$cg/memory.events)"
	metrics=$(echo "$csv" | tr -d '"' | awk -F, '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 ~ /^GET/ { printf "rps %s p50_ms %s p99_ms %s max_ms %s", $col["rps"],
			$col["p50_latency_ms"], $col["p99_latency_ms"], $col["max_latency_ms"] }')
	[ -n "$metrics" ] || fail "no GET line in redis-benchmark's output: $csv"
	;;
memcached)
	command -v memcached >/dev/null || fail "no memcached in the image"
	(echo $BASHPID >$cg/cgroup.procs &&
		exec taskset -c 0 memcached -p 11211 -U 0 -l 127.0.0.1 -t 1 -u root \
			-m $((size * 2 + 16))) >/dev/null 2>&1 &
	app_pid=$!
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null && break
		sleep 0.2
	done
	# "memcached keys K conns C requests R seconds S rps X p50_ms ... misses M"
	out=$(taskset -c 1 "$SELFTESTS/mc_load" 11211 "$size" 4 2>&1) ||
		fail "mc_load failed: $out; memory.events: $(tr '\n' ' ' <$cg/memory.events)"
	kill -0 "$app_pid" 2>/dev/null ||
		fail "memcached died; memory.events: $(tr '\n' ' ' <$cg/memory.events)"
	metrics=$(echo "$out" | cut -d' ' -f8-)
	;;
faas)
	# faas_bench stays out of $cg (it puts each function in $cg/fn-N).
	out=$(taskset -c 0 "$SELFTESTS/faas_bench" $cg 8 $((size / 8 > 0 ? size / 8 : 1)) 2>&1) ||
		fail "faas_bench failed: $out; memory.events: $(tr '\n' ' ' <$cg/memory.events)"
	# "faas funcs F mib M invocations N seconds S cold_p50_ms ..."
	metrics=$(echo "$out" | cut -d' ' -f8-)
	;;
esac
echo "result: $tier $app pct $pct $metrics peak_kib $(($(cat $cg/memory.peak) / 1024))" \
	"mem_kib $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) cpus $(nproc)" \
	"$(tier_where)"
