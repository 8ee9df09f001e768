#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Hermit in the swap path, on one node with a swap disk (/dev/vdb):
#   hermit_swap.sh store v1|v2   4x over the cgroup limit, pages go to the
#                                backend and not to the disk
#   hermit_swap.sh disabled      hermit.enabled=0: pages go to the disk
#   hermit_swap.sh full          backend full: the rest goes to the disk
#   hermit_swap.sh swapoff       swapoff with pages in the backend
#   hermit_swap.sh pageout       THP-backed memory pushed out with
#                                MADV_PAGEOUT: large folios into the backend
#   hermit_swap.sh reload        loads fail (fault injection): every failed
#                                read is read again where the page is
#                                needed, no SIGBUS
#   hermit_swap.sh zswap         a slot zswap holds is taken by Hermit:
#                                zswap's old copy goes (zswap_stale)
#   hermit_swap.sh prefetch      sequential and random scans with the
#                                kernel's VMA readahead, strided and
#                                sequential ones with hermit.prefetch=trend
#                                (trend-async: its windows started by a
#                                worker, hermit.prefetch_async):
#                                readahead reads from the backend
#                                asynchronously; prints the prefetch
#                                counters, asserts accuracy >= 0.9 on the
#                                sequential scans, >= 0.5 with coverage
#                                >= 0.5 on the strided one (VMA readahead
#                                gets next to nothing there), waste
#                                <= 10 % on the random one; a seq scan
#                                of memory pushed out with MADV_PAGEOUT
#                                and hinted back with MADV_WILLNEED
#                                (willneed:*): the hint reads >= 0.9 of
#                                the pages asynchronously, accuracy
#                                >= 0.9 (PREFETCH_SPECS picks the scans)
#   hermit_swap.sh prefetch-zram the sequential scans with zram as the swap
#                                device (SWP_SYNCHRONOUS_IO, which skips
#                                the kernel's readahead): Hermit's pages
#                                are still read ahead
#   hermit_swap.sh syscalls v1|v2 hermit_stats(2) and hermit_reset(2)
#                                (hermit_syscalls: their errors), and
#                                syscaller.py: after a reset and a
#                                workload its counters are debugfs's, its
#                                lines are the original's, a memory
#                                cgroup's line is its memory.stat, reset
#                                needs root and zeroes them
# Every page is verified by checksum after swap-in (swap_workload).
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

H=/sys/kernel/debug/hermit
SWAPDEV=${SWAPDEV:-/dev/vdb}
BACKEND=${BACKEND:-dram}
MIB=${MIB:-128}

hstat() {
	cat "$H/$1"
}

swap_setup() {
	swapoff -a 2>/dev/null
	mkswap "$SWAPDEV" ${SWAP_KIB:-} >/dev/null || fail "mkswap $SWAPDEV"
	swapon "$SWAPDEV" || fail "swapon $SWAPDEV"
	echo "$BACKEND" >"$H/backend" || fail "cannot select backend $BACKEND"
	echo "${1:-1}" >"$H/enabled" || fail "cannot set enabled"
}

swap_teardown() {
	swapoff "$SWAPDEV" || fail "swapoff $SWAPDEV"
	echo 0 >"$H/enabled"
}

# With CG_STAT set, keep the workload cgroup's memory.stat there, once its
# stores have completed and the periodic flush of the memcg statistics
# (every 2 s; a read flushes only when many updates are pending) has run:
# it shows the pages debugfs counts (reset before the workload), or 15 s
# have passed on a busy guest (the caller then reports the difference).
cg_stat() {
	[ -n "${CG_STAT:-}" ] || return 0
	hermit_settle
	for _ in $(seq 30); do
		sleep 0.5
		cat "$1/memory.stat" >"$CG_STAT"
		grep -qx "hermit_swpout $(hstat stored)" "$CG_STAT" &&
			grep -qx "hermit_swpin $(hstat loaded)" "$CG_STAT" && break
	done
}

# /proc/vmstat's Hermit events, one "name value" per line.
hermit_vmstat() {
	grep -E '^(hermit_[a-z_]+|ondemand_swapin|prefetch_swapin|hiton_swap_cache) ' /proc/vmstat
}

# Run the verified workload (MIB in all: 3/4 anonymous with threads, a
# forked child sharing it, 1/4 tmpfs) in a cgroup limited to MIB/4.
# Prints the deltas of Hermit's stored and the disk's pswpout counters.
workload() {
	local cgv=$1 limit=$((MIB * 1024 * 1024 / 4)) s0 d0 rc
	local cmd=("$SELFTESTS/swap_workload" -s $((MIB * 3 / 4)) -m $((MIB / 4))
		-t 4 -p 2 -f "${@:2}")

	s0=$(hstat stored)
	d0=$(vmstat pswpout)
	if [ "$cgv" = v1 ]; then
		[ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] || skip "no cgroup v1 memory hierarchy"
		cgdelete -g memory:hermit-test 2>/dev/null
		cgcreate -g memory:hermit-test || fail "cgcreate"
		echo $limit >/sys/fs/cgroup/memory/hermit-test/memory.limit_in_bytes ||
			fail "cannot set memory.limit_in_bytes"
		cgexec --sticky -g memory:hermit-test taskset -c 0,1 "${cmd[@]}"
		rc=$?
		cg_stat /sys/fs/cgroup/memory/hermit-test
		echo "memcg v1: max usage $(cat /sys/fs/cgroup/memory/hermit-test/memory.max_usage_in_bytes)," \
			"failcnt $(cat /sys/fs/cgroup/memory/hermit-test/memory.failcnt)"
		cgdelete -g memory:hermit-test
	else
		local cg=/sys/fs/cgroup/hermit-test
		rmdir "$cg" 2>/dev/null
		mkdir "$cg" || fail "cannot create $cg"
		echo $limit >"$cg/memory.max" || fail "cannot set memory.max"
		(echo "$BASHPID" >"$cg/cgroup.procs" && exec "${cmd[@]}")
		rc=$?
		cg_stat "$cg"
		echo "memcg v2: peak $(cat "$cg/memory.peak"), events: $(tr '\n' ' ' <"$cg/memory.events")"
		rmdir "$cg"
	fi
	[ $rc -eq 0 ] || fail "workload failed (exit $rc)"
	hermit_settle
	STORED=$(($(hstat stored) - s0))
	PSWPOUT=$(($(vmstat pswpout) - d0))
	echo "hermit stored $STORED pages, disk pswpout $PSWPOUT pages"
}

# Three quarters of the working set cannot stay resident.
MIN_SWAPPED=$((MIB * 256 * 3 / 4 / 2))

case ${1:-} in
syscalls)
	SC=$SELFTESTS/syscaller.py
	# In the kernel tree (make run_tests) it is in tools/hermit.
	[ -f "$SC" ] || SC=$SELFTESTS/../../../hermit/syscaller.py
	SC="python3 $SC"
	checks=$("$SELFTESTS/hermit_syscalls") || fail "system call checks failed: $checks"
	MIB=32
	swap_setup 1
	$SC reset || fail "syscaller.py reset failed"
	[ "$(hstat stored)" = 0 ] || fail "stored is $(hstat stored) after a reset"
	hermit_vmstat >/tmp/vm0
	trace_start hermit_store_done hermit_load hermit_prefetch hermit_offload_batch
	CG_STAT=/tmp/cg.stat workload "${2:-v2}"
	trace_stop
	hermit_vmstat >/tmp/vm1
	# /proc/vmstat, the cgroup's memory.stat and the tracepoints count
	# what debugfs counts (reset before the workload).
	counts=$(python3 - "$H" /tmp/vm0 /tmp/vm1 /tmp/cg.stat $TRACING/trace <<-'PY'
		import re, sys
		def kv(path):
		    return {k: int(v) for k, v in (l.split()[:2] for l in open(path) if len(l.split()) == 2)}
		d = kv(sys.argv[1] + "/stats")
		vm0, vm1, cg = kv(sys.argv[2]), kv(sys.argv[3]), kv(sys.argv[4])
		want = {"hermit_swpout": d["stored"], "hermit_swpin": d["loaded"],
		        "hermit_swpout_refused": sum(v for k, v in d.items() if k.startswith("refused_")),
		        "ondemand_swapin": d["ondemand_swapin"], "prefetch_swapin": d["prefetch_swapin"],
		        "hiton_swap_cache": d["hiton_swap_cache"],
		        "hermit_reclaim_offload": d["fs_reclaimed_offload"]}
		bad = []
		for k, n in want.items():
		    if vm1.get(k, -1) - vm0.get(k, 0) != n:
		        bad.append(f"vmstat {k} moved {vm1.get(k, -1) - vm0.get(k, 0)}, debugfs {n}")
		    for c in (k, "total_" + k) if "total_pgfault" in cg else (k,):
		        if cg.get(c) != n:
		            bad.append(f"memory.stat {c} {cg.get(c)}, debugfs {n}")
		ev = {}
		for l in open(sys.argv[5]):
		    m = re.search(r" (hermit_\w+): .*?(?:nr|nr_reclaimed)=(\d+)(?: err=(-?\d+)|.*)", l)
		    if m and (m.group(3) or "0") == "0":
		        ev[m.group(1)] = ev.get(m.group(1), 0) + int(m.group(2))
		trace = {"hermit_store_done": d["stored"], "hermit_prefetch": d["prefetch_swapin"],
		         "hermit_offload_batch": d["fs_reclaimed_offload"]}
		if not d["load_errors"]:
		    trace["hermit_load"] = d["ondemand_swapin"] + d["reloaded"]
		for k, n in trace.items():
		    if ev.get(k, 0) != n:
		        bad.append(f"trace {k} pages {ev.get(k, 0)}, debugfs {n}")
		if not d["stored"] or not d["loaded"] or not d["fs_reclaimed_offload"]:
		    bad.append(f"nothing to compare: {d}")
		print(f"{len(want)} vmstat events and memory.stat lines, {len(trace)} tracepoints: "
		      + ("; ".join(bad) if bad else "equal to debugfs"))
		sys.exit(1 if bad else 0)
	PY
	) || fail "counters differ: $counts"
	swap_teardown
	hermit_settle
	# Every counter as debugfs has it (nothing moves now).
	$SC stats --json >/tmp/sc.json || fail "syscaller.py stats --json failed"
	python3 - "$H" /tmp/sc.json <<-'PY' || fail "syscaller.py and debugfs differ"
		import json, sys
		d = dict(l.split() for l in open(sys.argv[1] + "/stats"))
		j = json.load(open(sys.argv[2]))
		bad = [k for k in d if k in j and int(d[k]) != j[k]]
		missing = [k for k in d if k not in j and k != "bytes_held"]
		# The fault latency: the same buckets, the same summary.
		for line in open(sys.argv[1] + "/fault_latency"):
		    w = line.split()
		    got = j["fault_latency"][w[0]]
		    want = dict(zip(w[1::2], map(int, w[2::2])))
		    if got != want:
		        bad.append(f"{w[0]} fault latency {got}, debugfs {want}")
		lat = j["fault_latency"]["major"]
		if not lat["faults"] or not 0 < lat["p50_ns"] <= lat["p99_ns"]:
		    bad.append(f"no major fault timed: {lat}")
		print(f"{len(d) - len(missing)} counters compared; differ: {bad}, missing: {missing}")
		print("fault latency " + "; ".join(
		    f"{k} {v['faults']} faults, mean {v['mean_ns'] / 1e3:.0f} us, "
		    f"p50 < {v['p50_ns'] / 1e3:.0f} us, p99 < {v['p99_ns'] / 1e3:.0f} us"
		    for k, v in j["fault_latency"].items()), file=open("/tmp/lat.txt", "w"))
		sys.exit(1 if bad or missing or not j["stored"] or not j["loaded"] else 0)
	PY
	# The original's lines, from debugfs's numbers.
	d=$(hstat ondemand_swapin) p=$(hstat prefetch_swapin) h=$(hstat hiton_swap_cache)
	expect=$(awk -v d=$d -v p=$p -v h=$h 'BEGIN {
		printf "%d %d %d\n#(On-demand Swapin): %d\n#(Prefetch Swapin) : %d\n", d, p, h, d, p
		printf "#(Hiton Swap Cache): %d\nPrefetch Precentage: %.2f\n", h, d + p ? p / (d + p) : 0
		printf "Prefetch Accuracy  : %.2f\n", p ? h / p : 0 }')
	got=$($SC) || fail "syscaller.py failed"
	[ "$got" = "$expect" ] || fail "syscaller.py printed:
$got
expected:
$expect"
	$SC stats | head -6 | diff - <(echo "$expect") || fail "stats does not start with the summary"
	# A memory cgroup's line is its memory.stat.
	if [ "${2:-v2}" = v1 ]; then cg=/sys/fs/cgroup/memory/hermit-sc; else cg=/sys/fs/cgroup/hermit-sc; fi
	mkdir -p $cg || fail "cannot create $cg"
	line=$($SC stats | grep "^cgroup ${2:-v2} hermit-sc: ")
	want="cgroup ${2:-v2} hermit-sc: $(awk '$1 ~ /^(total_)?(hermit_swpin|hermit_swpout|hermit_swpout_refused|ondemand_swapin|prefetch_swapin|hiton_swap_cache|hermit_reclaim_offload|pswpin|pswpout|pgmajfault)$/ { print $1, $2 }' $cg/memory.stat | LC_ALL=C sort | paste -sd' ')"
	echo "$want" | grep -q " hermit_swpout 0" || fail "no hermit_swpout in a cgroup's memory.stat: $want"
	rmdir $cg
	[ "$line" = "$want" ] || fail "cgroup line '$line', expected '$want'"
	# Only root resets; root's reset zeroes.
	out=$(python3 -c 'import os, sys; os.setgroups([]); os.setgid(65534); os.setuid(65534); os.execvp(sys.argv[1], sys.argv[1:])' \
		$SC reset 2>&1) &&
		fail "an unprivileged reset succeeded"
	echo "$out" | grep -q "needs root" || fail "unprivileged reset: '$out'"
	[ "$(hstat stored)" != 0 ] || fail "an unprivileged reset zeroed the counters"
	$SC reset || fail "syscaller.py reset failed"
	[ "$(hstat stored)" = 0 ] && [ "$(hstat loaded)" = 0 ] ||
		fail "reset left stored $(hstat stored), loaded $(hstat loaded)"
	echo "result: $checks; syscaller.py matches debugfs after $STORED pages stored, its summary and cgroup lines checked, reset needs root and zeroes; $counts; $(cat /tmp/lat.txt)"
	;;
store)
	swap_setup 1
	workload "${2:-v2}"
	swap_teardown
	grep . "$H/stats" "$H/dram/used" "$H/dram/capacity"
	[ "$STORED" -ge $MIN_SWAPPED ] || fail "only $STORED pages stored in Hermit"
	[ "$PSWPOUT" -le $((STORED / 100)) ] || fail "$PSWPOUT pages went to the disk"
	;;
disabled)
	# The swap disk under TCG is slow: half the size, still 4x over.
	MIB=64
	MIN_SWAPPED=$((MIB * 256 * 3 / 4 / 2))
	swap_setup 0
	workload v2
	swap_teardown
	[ "$STORED" -eq 0 ] || fail "$STORED pages stored while disabled"
	[ "$PSWPOUT" -ge $MIN_SWAPPED ] || fail "only $PSWPOUT pages went to the disk"
	;;
full)
	MIB=64
	MIN_SWAPPED=$((MIB * 256 * 3 / 4 / 2))
	cap=$(cat "$H/dram/capacity")
	r0=$(hstat refused_full)
	echo 8M >"$H/dram/capacity" || fail "cannot set the capacity"
	swap_setup 1
	workload v2
	swap_teardown
	echo "$cap" >"$H/dram/capacity"
	refused=$(($(hstat refused_full) - r0))
	echo "refused_full $refused"
	[ "$STORED" -ge 2048 ] || fail "only $STORED pages stored"
	[ "$refused" -gt 0 ] || fail "no page refused as full"
	[ "$PSWPOUT" -ge $((MIN_SWAPPED / 2)) ] || fail "only $PSWPOUT pages went to the disk"
	;;
swapoff)
	swap_setup 1
	dir=$(mktemp -d)
	cg=/sys/fs/cgroup/hermit-test
	rmdir "$cg" 2>/dev/null
	mkdir "$cg" || fail "cannot create $cg"
	echo $((MIB * 1024 * 1024 / 4)) >"$cg/memory.max"
	l0=$(hstat loaded)
	(echo "$BASHPID" >"$cg/cgroup.procs" &&
		exec "$SELFTESTS/swap_workload" -s "$MIB" -t 2 -p 1 -P "$dir") &
	pid=$!
	for i in $(seq 600); do
		[ -e "$dir/ready" ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	[ -e "$dir/ready" ] || fail "workload did not get ready"
	held=$(hstat pages_held)
	echo "pages held before swapoff: $held"
	[ "$held" -ge $MIN_SWAPPED ] || fail "only $held pages in the backend"
	# Room for everything to come back, then take the swap area away.
	echo max >"$cg/memory.max"
	swapoff "$SWAPDEV" || fail "swapoff failed"
	echo "after swapoff: pages_held $(hstat pages_held), loaded $(($(hstat loaded) - l0))"
	[ "$(hstat pages_held)" -eq 0 ] || fail "pages still held after swapoff"
	touch "$dir/go"
	wait $pid || fail "workload failed after swapoff"
	rmdir "$cg"
	rm -rf "$dir"
	echo 0 >"$H/enabled"
	;;
pageout)
	swap_setup 1
	s0=$(hstat stored)
	l0=$(hstat stored_large_folios)
	"$SELFTESTS/swap_workload" -s "${PAGEOUT_MIB:-64}" -t 2 -p 2 -H || fail "workload failed"
	hermit_settle
	STORED=$(($(hstat stored) - s0))
	large=$(($(hstat stored_large_folios) - l0))
	swap_teardown
	echo "hermit stored $STORED pages, $large large folios whole"
	[ "$STORED" -ge $((${PAGEOUT_MIB:-64} * 256)) ] || fail "only $STORED pages stored"
	[ "$large" -gt 0 ] || fail "no large folio was stored whole"
	;;
reload)
	f=$H/fail_load
	[ -d "$f" ] || fail "no $f: kernel without CONFIG_HERMIT_FAULT_INJECTION"
	MIB=32
	times=200
	e0=$(hstat load_errors)
	r0=$(hstat reloaded)
	swap_setup 1
	echo 0 >"$f/verbose"
	echo $times >"$f/times"
	echo 100 >"$f/probability"
	workload v2
	echo 0 >"$f/probability"
	swap_teardown
	errors=$(($(hstat load_errors) - e0))
	reloaded=$(($(hstat reloaded) - r0))
	echo "result: $errors loads failed on purpose, $reloaded pages read again, no SIGBUS, verified"
	[ "$errors" -ge $times ] || fail "only $errors loads failed; the injection did not work"
	[ "$reloaded" -gt 0 ] || fail "no failed read was read again"
	;;
zswap)
	Z=/sys/module/zswap/parameters/enabled
	[ -f $Z ] || fail "no zswap in this kernel"
	swap_setup 0
	echo Y >$Z || fail "cannot enable zswap"
	# zswap sets up (and its debugfs appears) when first enabled.
	[ -d /sys/kernel/debug/zswap ] || fail "zswap did not set up"
	"$SELFTESTS/zswap_stale" 256
	rc=$?
	echo N >$Z
	swap_teardown
	[ $rc -eq 0 ] || fail "zswap_stale failed (exit $rc)"
	;;
prefetch | prefetch-zram)
	MIB=${PREFETCH_MIB:-32}
	specs=${PREFETCH_SPECS:-seq:vma rand:vma stride:trend seq:trend seq:trend-async willneed:vma}
	if [ "$1" = prefetch-zram ]; then
		zram=/sys/block/zram0
		[ -d $zram ] || fail "no zram in this kernel"
		echo 1 >$zram/reset
		echo $((MIB * 2))M >$zram/disksize || fail "cannot size zram0"
		SWAPDEV=/dev/zram0
		specs=${PREFETCH_SPECS:-seq:vma seq:trend}
	fi
	swap_setup 1
	cg=/sys/fs/cgroup/hermit-test
	p0=$(cat $H/prefetch) a0=$(cat $H/prefetch_async)
	for spec in $specs; do
		order=${spec%:*}
		opts=(-o "$order" -p 2)
		limit=$((MIB << 18))
		# The hint brings back all of it: no limit, MADV_PAGEOUT instead.
		[ "$order" = willneed ] && opts=(-o seq -p 0 -W -P /run/hermit-willneed) limit=max
		mode=${spec#*:}
		echo "${mode%-async}" >$H/prefetch || fail "cannot set prefetch $mode"
		case $mode in *-async) echo Y ;; *) echo N ;; esac >$H/prefetch_async
		for k in ondemand_swapin prefetch_swapin hiton_swap_cache prefetch_late \
			prefetch_wasted prefetch_queued load_errors; do
			eval "$k=\$(hstat $k)"
		done
		s0=$(hstat stored)
		rmdir "$cg" 2>/dev/null
		mkdir "$cg" || fail "cannot create $cg"
		echo $limit >"$cg/memory.max" || fail "cannot set memory.max"
		if [ "$order" = willneed ]; then
			# Pushed out and written (an asynchronous store leaves the
			# folio in the swap cache until reclaim comes back for it):
			# drop the swap cache too, then the hint.
			rm -rf /run/hermit-willneed && mkdir /run/hermit-willneed
			(echo "$BASHPID" >"$cg/cgroup.procs" &&
				exec "$SELFTESTS/swap_workload" -s "$MIB" -t 1 "${opts[@]}") &
			pid=$!
			while [ ! -e /run/hermit-willneed/ready ]; do
				kill -0 $pid 2>/dev/null || break
				sleep 0.1
			done
			hermit_settle
			echo $((MIB * 2))M >"$cg/memory.reclaim" 2>/dev/null
			touch /run/hermit-willneed/go
			wait $pid || fail "$order workload failed"
			rm -rf /run/hermit-willneed
		else
			(echo "$BASHPID" >"$cg/cgroup.procs" &&
				exec "$SELFTESTS/swap_workload" -s "$MIB" -t 1 "${opts[@]}") ||
				fail "$order workload failed"
		fi
		rmdir "$cg"
		hermit_settle
		st=$(($(hstat stored) - s0))
		od=$(($(hstat ondemand_swapin) - ondemand_swapin))
		pf=$(($(hstat prefetch_swapin) - prefetch_swapin))
		hit=$(($(hstat hiton_swap_cache) - hiton_swap_cache))
		late=$(($(hstat prefetch_late) - prefetch_late))
		waste=$(($(hstat prefetch_wasted) - prefetch_wasted))
		err=$(($(hstat load_errors) - load_errors))
		queued=$(($(hstat prefetch_queued) - prefetch_queued))
		acc=$(awk -v h=$hit -v p=$pf 'BEGIN { printf "%.2f", p ? h / p : 0 }')
		cov=$(awk -v h=$hit -v d=$od 'BEGIN { printf "%.2f", h + d ? h / (h + d) : 0 }')
		echo "result: $order ($mode): $st stored, $od on demand, $pf prefetched, $hit hits ($late late), $waste wasted, $queued to the worker, $err failed; accuracy $acc coverage $cov"
		[ "$st" -gt 0 ] && [ $((od + pf)) -gt 0 ] || fail "$order: nothing went through the backend"
		[ "$err" -eq 0 ] || fail "$order: $err reads failed"
		case $mode in
		*-async) [ "$queued" -gt 0 ] || fail "$spec: no window went to the worker" ;;
		*) [ "$queued" -eq 0 ] || fail "$spec: $queued entries went to the worker" ;;
		esac
		if [ $order = willneed ]; then
			[ $((pf * 10)) -ge $((st * 9)) ] ||
				fail "$spec: the hint read $pf of $st pages stored"
			awk -v a="$acc" -v c="$cov" 'BEGIN { exit !(a >= 0.9 && c >= 0.9) }' ||
				fail "$spec: accuracy $acc, coverage $cov (< 0.9)"
		elif [ $order = seq ]; then
			[ "$pf" -ge "$od" ] || fail "$spec: fewer pages prefetched than read on demand"
			awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' ||
				fail "$spec: prefetch accuracy $acc < 0.9"
		elif [ $order = stride ]; then
			awk -v a="$acc" -v c="$cov" 'BEGIN { exit !(a >= 0.5 && c >= 0.5) }' ||
				fail "$spec: the stride was not found (accuracy $acc, coverage $cov)"
		else
			[ $((waste * 10)) -le $((od + pf)) ] ||
				fail "rand: $waste prefetches wasted, over 10 % of the reads"
		fi
	done
	echo "$p0" >$H/prefetch
	echo "$a0" >$H/prefetch_async
	swap_teardown
	if [ -n "${zram:-}" ]; then echo 1 >$zram/reset; fi
	;;
*)
	fail "usage: hermit_swap.sh store v1|v2 | disabled | full | swapoff | pageout | reload | zswap | prefetch | prefetch-zram"
	;;
esac
echo "ok"
