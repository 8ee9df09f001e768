#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Hermit RDMA client on a cluster node (run on 'compute'):
#   rdma_client.sh connect IP[:PORT][,IP[:PORT]...]
#                                      connect, wait until every server
#                                      is ready
#   rdma_client.sh disconnect          forget the server
#   rdma_client.sh wait STATE [SECS]   wait for the connection state
#   rdma_client.sh store [MIB]         the verified workload (MIB, default
#                                      32) 4x over memory.max, pages to
#                                      the server
#   rdma_client.sh prefetch            sequential and random scans, and
#                                      MADV_WILLNEED: swap readahead as
#                                      batched asynchronous READs on the
#                                      prefetch queue
#   rdma_client.sh pageout             THPs pushed out with MADV_PAGEOUT:
#                                      each large folio in one RDMA write
#   rdma_client.sh unreachable IP:PORT no server there: a clear error, and
#                                      swap goes to the disk, verified
#   rdma_client.sh hold NAME [MIB [SWAP_MIB]]
#                                      fill MIB (pages go to the server),
#                                      wait for /run/hermit/NAME/go, then
#                                      verify every page; prints the exit
#                                      (swap area of SWAP_MIB, default 512)
#   rdma_client.sh fill [MIB]          the verified workload, pages to the
#                                      server (or to the disk, where it
#                                      refuses them); the swap area stays on
#   rdma_client.sh trim [MIB [SWAP_MIB]]
#                                      MIB (default 128) of pages to the
#                                      server beside 8 MiB kept there, the
#                                      first workload killed: the chunks
#                                      no longer needed go back before
#                                      swapoff; the 8 MiB verified (swap
#                                      area of SWAP_MIB, default 512)
#   rdma_client.sh off                 swapoff; prints chunks and FREEs
#                                      deferred and pending
#   rdma_client.sh cut [writes|prefetches]
#                                      the RDMA device removed under
#                                      stores or prefetches in flight:
#                                      none lost
#   rdma_client.sh busy                swapoff, and a cgroup removed, with
#                                      stores in flight
#   rdma_client.sh stats               the client's stats
#   rdma_client.sh servers             the client's servers: where the
#                                      chunks are, reads and writes
#   rdma_client.sh key HEX|off         the shared key (write-only)
#   rdma_client.sh reconnect [SECS [FAILS]]
#                                      connect anew to the same server; print
#                                      connects before/after and the state;
#                                      with FAILS, stop once that many
#                                      attempts failed (a refusal)
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

H=/sys/kernel/debug/hermit
SWAPDEV=${SWAPDEV:-/dev/vdb}
# 512 MiB of swap area; the server lends 2 MiB chunks as pages need them.
SWAP_KIB=${SWAP_KIB:-524288}

cstat() {
	awk -v k="$1" '$1 == k { print $2 }' $H/rdma/stats
}

# Wait until every server's connection is in state $1.
wait_state() {
	local _
	for _ in $(seq "${2:-60}"); do
		grep -q " $1\$" $H/connect && ! grep -qv " $1\$" $H/connect && return 0
		sleep 1
	done
	fail "connection not $1 after ${2:-60} s: $(cat $H/connect)"
}

# Wait (at most 60 s, while process $1 lives) until writes are in flight;
# print how many.
in_flight() {
	local v=0

	# Read the gauge once per round: it can drop to 0 between two reads.
	for _ in $(seq 1200); do
		v=$(cstat writes_in_flight)
		[ "$v" -gt 0 ] && break
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	[ "$v" -gt 0 ] || fail "no store in flight"
	echo "$v"
}

# Poll stat $1 of the client, without forking, for at most $2 seconds;
# succeed as soon as it is above 0.
gauge_up() {
	local end=$((SECONDS + $2)) k v

	while [ $SECONDS -lt $end ]; do
		while read -r k v; do
			[ "$k" = "$1" ] && [ "$v" -gt 0 ] && return 0
		done <$H/rdma/stats
	done
	return 1
}

swap_on() {
	swapoff -a 2>/dev/null
	mkswap "$SWAPDEV" "$SWAP_KIB" >/dev/null || fail "mkswap"
	swapon "$SWAPDEV" || fail "swapon"
	echo rdma >$H/backend || fail "cannot select the rdma backend"
	echo 1 >$H/enabled
}

case ${1:-} in
connect)
	TRACE_KB=64 trace_start hermit_connect hermit_disconnect
	echo "$2" >$H/connect || fail "cannot write $2 to $H/connect"
	wait_state ready "${3:-60}"
	trace_stop
	dmesg | grep -q "ctrl is ready for reqs" || fail "no 'ctrl is ready for reqs' in the log"
	first=${2%%,*}
	grep -q " hermit_connect: server=${first%:*}:[0-9]* session=[0-9a-f]* err=0\$" $TRACING/trace ||
		fail "no hermit_connect event with err=0 in the trace: $(grep hermit_ $TRACING/trace)"
	grep . $H/rdma/stats | tr '\n' ' '
	echo
	;;
key)
	echo "$2" >$H/rdma/key || fail "cannot set the key"
	[ "$(cat $H/rdma/key)" = "$([ "$2" = off ] && echo off || echo set)" ] ||
		fail "key reads back as $(cat $H/rdma/key)"
	;;
reconnect)
	# Until ready, SECS at most; with FAILS, a refusal is waited for:
	# give up once that many attempts have failed.
	case ${2:-30}${3:-} in *[!0-9]*) fail "reconnect: SECS and FAILS are counts" ;; esac
	addr=$(cut -d' ' -f1 $H/connect)
	c0=$(cstat connects)
	f0=$(cstat connect_failures)
	echo "$addr" >$H/connect || fail "cannot write $addr to $H/connect"
	for _ in $(seq "${2:-30}"); do
		sleep 1
		[ "$(cstat connects)" -gt "$c0" ] && grep -q " ready\$" $H/connect && break
		[ -n "${3:-}" ] && [ "$(cstat connect_failures)" -ge $((f0 + $3)) ] && break
	done
	echo "connects0 $c0 connects $(cstat connects) state $(cut -d' ' -f2 $H/connect)" \
		"failures $(($(cstat connect_failures) - f0))"
	dmesg | grep "hermit: rdma:" | tail -2
	;;
disconnect)
	echo off >$H/connect || fail "cannot forget the server"
	[ "$(cat $H/connect)" = off ] || fail "server still set: $(cat $H/connect)"
	;;
wait)
	wait_state "$2" "${3:-60}"
	cat $H/connect
	;;
store)
	w0=$(cstat writes)
	r0=$(cstat reads)
	q0=$(cstat write_requests)
	p0=$(cstat write_posts)
	g0=$(cstat write_merged)
	mr0=$(cstat mr_transfers)
	gr0=$(cstat grants)
	ah0=$(cat $H/chunks_ahead)
	merge0=$(cat $H/rdma/merge)
	echo 16 >$H/rdma/merge
	SWAP_KIB=$SWAP_KIB BACKEND=rdma MIB=${2:-32} "$SELFTESTS/hermit_swap.sh" store v2 ||
		exit 1
	echo "$merge0" >$H/rdma/merge
	w=$(($(cstat writes) - w0))
	r=$(($(cstat reads) - r0))
	m=$(cstat writes_in_flight_max)
	q=$(($(cstat write_requests) - q0))
	p=$(($(cstat write_posts) - p0))
	g=$(($(cstat write_merged) - g0))
	gr=$(($(cstat grants) - gr0))
	ah=$(($(cat $H/chunks_ahead) - ah0))
	echo "result: $w pages written to the server, $r read back, all verified; up to $m writes in flight; $q writes in $p posts, $g of them in the WRITE of the slot before; $gr chunks granted, $ah of them ahead of their first store"
	[ "$w" -gt 0 ] && [ "$r" -gt 0 ] || fail "no RDMA traffic"
	# A transfer through a registered MR (ib_core.force_mr=1) is never
	# merged; plain ones are where their slots are neighbours.
	if [ "$(cstat mr_transfers)" -gt "$mr0" ]; then
		[ "$g" = 0 ] || fail "$g transfers through an MR merged"
	else
		[ "$g" -gt 0 ] || fail "no neighbouring slots merged into one WRITE"
	fi
	[ "$(cstat chunks)" = 0 ] || fail "chunks left after swapoff: $(cstat chunks)"
	;;
prefetch)
	q0=$(cstat prefetch_requests)
	p0=$(cstat prefetch_posts)
	g0=$(cstat prefetch_merged)
	r0=$(cstat reads)
	merge0=$(cat $H/rdma/merge)
	echo 16 >$H/rdma/merge
	SWAP_KIB=$SWAP_KIB BACKEND=rdma PREFETCH_MIB=${2:-16} \
		PREFETCH_SPECS="seq:vma rand:vma stride:trend stride:trend-async willneed:vma" "$SELFTESTS/hermit_swap.sh" prefetch ||
		exit 1
	echo "$merge0" >$H/rdma/merge
	q=$(($(cstat prefetch_requests) - q0))
	p=$(($(cstat prefetch_posts) - p0))
	r=$(($(cstat reads) - r0))
	g=$(($(cstat prefetch_merged) - g0))
	echo "result: $r pages read over RDMA, $q of them prefetched in $p posts ($g in the READ of the slot before), all verified"
	[ "$q" -gt 0 ] || fail "nothing read on the prefetch queue"
	[ "$g" -gt 0 ] || fail "no neighbouring slots merged into one READ"
	[ "$p" -lt "$q" ] || fail "prefetches are not batched"
	[ "$(cstat prefetches_in_flight)" = 0 ] || fail "prefetches left in flight"
	;;
pageout)
	w0=$(cstat writes)
	PAGEOUT_MIB=16 SWAP_KIB=$SWAP_KIB BACKEND=rdma "$SELFTESTS/hermit_swap.sh" pageout || exit 1
	echo "result: $(($(cstat writes) - w0)) pages written to the server, large folios whole, verified"
	;;
unreachable)
	echo "$2" >$H/connect || fail "cannot write $2 to $H/connect"
	for _ in $(seq 30); do
		dmesg | grep -q "cannot connect to server $2" && break
		sleep 1
	done
	dmesg | grep "cannot connect to server $2" || fail "no clear error in the log"
	grep -q " ready\$" $H/connect && fail "connected to nothing"
	swap_on
	u0=$(awk '$1 == "refused_unavailable" { print $2 }' $H/stats)
	d0=$(vmstat pswpout)
	run_in_memcg $((16 << 20)) "$SELFTESTS/swap_workload" -s 48 -t 2 -p 1 ||
		fail "workload failed"
	u=$(($(awk '$1 == "refused_unavailable" { print $2 }' $H/stats) - u0))
	d=$(($(vmstat pswpout) - d0))
	swapoff "$SWAPDEV"
	echo 0 >$H/enabled
	echo off >$H/connect || fail "cannot forget the server"
	echo "result: $u stores refused as unavailable, $d pages to the disk, verified"
	[ "$u" -gt 0 ] && [ "$d" -gt 0 ] || fail "swap did not go to the disk"
	;;
hold)
	dir=/run/hermit/$2
	mib=${3:-24}
	[ -n "${4:-}" ] && SWAP_KIB=$(($4 << 10))
	rm -rf "$dir"
	mkdir -p "$dir"
	swap_on
	cg=/sys/fs/cgroup/hermit-hold
	rmdir $cg 2>/dev/null
	mkdir $cg || fail "cannot create $cg"
	echo $((mib << 18)) >$cg/memory.max
	(echo "$BASHPID" >$cg/cgroup.procs &&
		exec "$SELFTESTS/swap_workload" -s "$mib" -t 2 -p 1 -P "$dir") &
	pid=$!
	wait $pid
	rc=$?
	echo "workload exit $rc"
	rmdir $cg
	# A test may have taken the swap area away already.
	if grep -q "^$SWAPDEV " /proc/swaps; then
		swapoff "$SWAPDEV" || fail "swapoff failed"
	fi
	echo 0 >$H/enabled
	grep . $H/rdma/stats | tr '\n' ' '
	echo
	exit $rc
	;;
fill)
	swap_on
	d0=$(vmstat pswpout)
	run_in_memcg $((${2:-8} << 18)) "$SELFTESTS/swap_workload" -s "${2:-8}" -t 2 -p 1 ||
		fail "workload failed"
	echo "chunks $(cstat chunks) writes $(cstat writes) pswpout $(($(vmstat pswpout) - d0))"
	;;
trim)
	mib=${2:-128}
	[ -n "${3:-}" ] && SWAP_KIB=$(($3 << 10))
	dir=/run/hermit/trim
	rm -rf $dir
	mkdir -p $dir/keep $dir/big
	swap_on
	ret0=$(cat $H/chunks_returned)
	fd0=$(cstat frees_deferred)
	# A verified workload whose pages stay remote throughout (first, so
	# in the lowest places), then MIB more, killed once stored.
	run_paused() {
		local cg=/sys/fs/cgroup/hermit-trim-$1

		rmdir $cg 2>/dev/null
		mkdir $cg || fail "cannot create $cg"
		echo "$3" >$cg/memory.max
		(echo "$BASHPID" >$cg/cgroup.procs &&
			exec "$SELFTESTS/swap_workload" -s "$2" -p "$4" -P $dir/"$1") &
		pid=$!
		for _ in $(seq 1200); do
			[ -e $dir/"$1"/ready ] && return 0
			kill -0 $pid 2>/dev/null || break
			sleep 0.1
		done
		fail "the workload did not fill $2 MiB"
	}
	run_paused keep 8 2M 1
	keep=$pid
	run_paused big "$mib" 8M 0
	big=$pid
	held=$(cat $H/pages_held)
	peak=$(cstat chunks)
	# No store in flight: the folio under writeback would keep its slot.
	for _ in $(seq 100); do
		[ "$(cat $H/stores_in_flight)" -eq 0 ] && break
		sleep 0.1
	done
	# Its slots are freed as it exits, without reading anything back.
	kill -9 $big
	wait $big 2>/dev/null
	rmdir /sys/fs/cgroup/hermit-trim-big
	# Nothing pushes out the up to 64 freed slots a CPU keeps in its
	# swap slots cache: Hermit drops their copies as they go in.
	# Until the worker is done: a chunk went back and the counts agree
	# twice in a row (a slow guest may take a while; the test says so).
	last=
	for _ in $(seq 200); do
		after=$(cstat chunks)
		ret=$(($(cat $H/chunks_returned) - ret0))
		now="$after $ret"
		[ "$after" -lt "$peak" ] && [ $((after + ret)) -eq "$peak" ] &&
			[ "$now" = "$last" ] && break
		last=$now
		sleep 0.3
	done
	fd=$(($(cstat frees_deferred) - fd0))
	kept=$(cat $H/pages_held)
	placed=$(cat $H/clusters_used)
	touch $dir/keep/go
	wait $keep
	rc=$?
	rmdir /sys/fs/cgroup/hermit-trim-keep
	[ $rc -eq 0 ] || fail "the workload kept remote failed its verification (exit $rc)"
	swapoff "$SWAPDEV" || fail "swapoff failed"
	echo 0 >$H/enabled
	echo "result: $((SWAP_KIB >> 10)) MiB swap area; $held pages held, in $peak chunks; after the exit $kept pages held, in $placed clusters and $after chunks, $ret given back before swapoff ($fd FREEs deferred); $(cstat chunks) after swapoff; the pages kept remote verified"
	;;
cut)
	# The RDMA device goes (and comes back) while stores (cut writes) or
	# prefetches (cut prefetches) are in flight, until one of them
	# failed: a failed store is written again, a failed prefetch read
	# again where its page is needed; nothing is lost (the workload
	# verifies every page, swapoff reads back all).
	what=${2:-writes}
	case $what in
	# Stores are in flight from the first pass on: two passes do; a
	# prefetch in flight at a cut takes more tries, six passes, and
	# VMA readahead's largest window (2^5 pages), so that a window is
	# still in flight once rdma(8) has started and deleted the device.
	writes) gauge=writes_in_flight counter=store_failed order=mixed threads=2 maxcuts=5 passes=2 ;;
	prefetches) gauge=prefetches_in_flight counter=read_errors order=seq threads=1 maxcuts=20 passes=6 ;;
	*) fail "cut writes|prefetches" ;;
	esac
	swap_on
	pc0=$(cat /proc/sys/vm/page-cluster)
	[ $what = prefetches ] && echo 5 >/proc/sys/vm/page-cluster
	# The core's failed stores; the client's failed READs (a prefetch
	# refused while the connection is down is not one of them).
	failures() {
		if [ $what = writes ]; then
			awk -v k=$counter '$1 == k { print $2 }' $H/stats
		else
			cstat $counter
		fi
	}
	f0=$(failures)
	r0=$(awk '$1 == "reloaded" { print $2 }' $H/stats)
	d0=$(vmstat pswpout)
	out=/run/hermit/cut.out
	run_in_memcg $((8 << 20)) "$SELFTESTS/swap_workload" -s 32 -t $threads -p $passes \
		-o $order >$out 2>&1 &
	pid=$!
	cuts=0 failed=0
	# Prefetches are in flight for a moment only: their gauge is polled
	# without forking (an awk per sample mostly misses them).
	while kill -0 $pid 2>/dev/null && [ $cuts -lt $maxcuts ] && [ $failed -eq 0 ]; do
		if [ $what = writes ] && [ "$(cstat $gauge)" -eq 0 ]; then
			sleep 0.02
			continue
		fi
		if [ $what = prefetches ] && ! gauge_up $gauge 5; then
			continue
		fi
		rdma link delete rxe0 || fail "cannot delete rxe0"
		cuts=$((cuts + 1))
		sleep 2
		rdma link add rxe0 type rxe netdev eth0 || fail "cannot add rxe0 again"
		wait_state ready 120
		failed=$(($(failures) - f0))
	done
	wait $pid
	rc=$?
	echo "$pc0" >/proc/sys/vm/page-cluster
	cat $out
	[ $rc -eq 0 ] || fail "workload failed (exit $rc)"
	hermit_settle
	failed=$(($(failures) - f0))
	reloaded=$(($(awk '$1 == "reloaded" { print $2 }' $H/stats) - r0))
	swapoff "$SWAPDEV" || fail "swapoff failed"
	echo 0 >$H/enabled
	if [ $what = writes ]; then
		echo "result: $cuts cuts, $failed pages of stores in flight failed and written again," \
			"$(($(vmstat pswpout) - d0)) pages to the disk, all verified"
	else
		echo "result: $cuts cuts, $failed prefetches in flight failed, $reloaded pages read" \
			"again where needed, no SIGBUS, all verified"
	fi
	[ $failed -gt 0 ] || fail "nothing was in flight at a cut ($gauge)"
	;;
busy)
	# swapoff while stores are in flight (the workload goes on, verified,
	# on the swap area enabled again), then a cgroup killed and removed
	# while its stores are in flight: nothing is left held or in flight.
	swap_on
	out=/run/hermit/busy.out
	run_in_memcg $((8 << 20)) "$SELFTESTS/swap_workload" -s 24 -t 2 -p 2 >$out 2>&1 &
	pid=$!
	m=$(in_flight $pid) || exit 1
	swapoff "$SWAPDEV" || fail "swapoff with $m writes in flight failed"
	held=$(cat $H/pages_held)
	swapon "$SWAPDEV" || fail "swapon again"
	wait $pid
	rc=$?
	cat $out
	[ $rc -eq 0 ] || fail "workload failed (exit $rc)"
	[ "$held" -eq 0 ] || fail "$held pages held after swapoff"
	echo "swapoff with $m writes in flight: ok, nothing held after it, workload verified"
	cg=/sys/fs/cgroup/hermit-busy
	rmdir $cg 2>/dev/null
	mkdir $cg || fail "cannot create $cg"
	echo $((8 << 20)) >$cg/memory.max
	(echo "$BASHPID" >$cg/cgroup.procs &&
		exec "$SELFTESTS/swap_workload" -s 32 -t 2 -p 2) >/dev/null 2>&1 &
	pid=$!
	m=$(in_flight $pid) || exit 1
	kill -9 $pid
	wait $pid 2>/dev/null
	for _ in $(seq 100); do
		rmdir $cg 2>/dev/null && break
		sleep 0.1
	done
	[ -d $cg ] && fail "cannot remove $cg"
	hermit_settle
	swapoff "$SWAPDEV" || fail "swapoff failed"
	echo 0 >$H/enabled
	held=$(cat $H/pages_held)
	echo "result: swapoff with stores in flight, verified; cgroup killed and removed" \
		"with $m writes in flight: $held pages held after swapoff"
	[ "$held" -eq 0 ] || fail "$held pages held after swapoff"
	;;
off)
	swapoff "$SWAPDEV" || fail "swapoff failed"
	echo 0 >$H/enabled
	grep -E '^(chunks|frees_deferred|frees_pending) ' $H/rdma/stats | tr '\n' ' '
	echo
	;;
servers)
	cat $H/rdma/servers
	;;
stats)
	cat $H/rdma/stats
	;;
*)
	fail "usage: rdma_client.sh connect IP[:PORT] | disconnect | wait STATE [SECS] | store [MIB] | pageout | unreachable IP:PORT | hold NAME [MIB [SWAP_MIB]] | fill [MIB] | cut | busy | off | stats"
	;;
esac
