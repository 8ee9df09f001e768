#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the Hermit selftests that run inside a cluster node or, through
# kselftest (hermit_local.sh, hermit_rdma.sh), on a real machine. The test
# runner copies this directory to /run/hermit/selftests on every node; the
# cluster's addresses are in /run/hermit/cluster.env.

set -u
[ -f /run/hermit/cluster.env ] && . /run/hermit/cluster.env
SELFTESTS=${SELFTESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 4
}

vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

TRACING=/sys/kernel/tracing

# Trace the Hermit events named (hermit_store_done ...) into an emptied
# buffer of TRACE_KB KiB per CPU.
trace_start() {
	local e

	mountpoint -q $TRACING || mount -t tracefs nodev $TRACING ||
		fail "cannot mount tracefs"
	[ -d $TRACING/events/hermit ] || fail "no Hermit tracepoints in tracefs"
	echo 0 >$TRACING/tracing_on
	echo 0 >$TRACING/events/hermit/enable
	echo "${TRACE_KB:-16384}" >$TRACING/buffer_size_kb
	echo >$TRACING/trace
	for e in "$@"; do
		echo 1 >"$TRACING/events/hermit/$e/enable" || fail "cannot enable hermit:$e"
	done
	echo 1 >$TRACING/tracing_on
}

# Stop tracing; the events stay in $TRACING/trace. Fails if any was lost.
trace_stop() {
	local n

	echo 0 >$TRACING/tracing_on
	echo 0 >$TRACING/events/hermit/enable
	n=$(sed -n 's|^# entries-in-buffer/entries-written: \([0-9]*\)/\([0-9]*\).*|\1 \2|p' $TRACING/trace)
	[ -n "$n" ] || fail "no entry count in the trace"
	set -- $n
	[ "$1" = "$2" ] || fail "the trace lost events: $1 of $2 kept"
}

# Stores to a Hermit backend complete asynchronously: wait (at most 60 s)
# until none is in flight before reading what was stored.
hermit_settle() {
	local f=/sys/kernel/debug/hermit/stores_in_flight i

	[ -f $f ] || return 0
	for i in $(seq 600); do
		[ "$(cat $f)" = 0 ] && return 0
		sleep 0.1
	done
	fail "stores still in flight after 60 s: $(cat $f)"
}

# Run "$@" in a fresh cgroup v2 group with memory.high=$1 bytes (the limit
# that throttles instead of OOM-killing, so slow swap still completes).
run_in_memcg() {
	local high=$1 cg=/sys/fs/cgroup/hermit-selftest.$$ rc
	shift
	mkdir "$cg" || fail "cannot create $cg"
	echo "$high" >"$cg/memory.high" || fail "cannot set memory.high"
	(
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 99
		exec "$@"
	)
	rc=$?
	echo "memcg: $(grep -E '^(anon|swapcached) ' "$cg/memory.stat" | tr '\n' ' ')"
	echo "memcg: peak $(cat "$cg/memory.peak" 2>/dev/null) events: $(tr '\n' ' ' <"$cg/memory.events")"
	rmdir "$cg" 2>/dev/null
	return $rc
}
