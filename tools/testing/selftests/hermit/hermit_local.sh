#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kselftest: Hermit on one machine, with the DRAM backend and the spare swap
# device HERMIT_SWAPDEV (its contents are destroyed; every other swap area
# is turned off meanwhile): a workload 4x over its cgroup's limit with
# every page verified, the system calls and syscaller.py against debugfs,
# vmstat, memory.stat and the tracepoints. Skipped without HERMIT_SWAPDEV.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
[ -d /sys/kernel/debug/hermit ] || skip "not a Hermit kernel (no /sys/kernel/debug/hermit)"
[ -n "${HERMIT_SWAPDEV:-}" ] ||
	skip "set HERMIT_SWAPDEV to a spare swap device (its contents are destroyed)"
[ -b "$HERMIT_SWAPDEV" ] || fail "HERMIT_SWAPDEV=$HERMIT_SWAPDEV is not a block device"
for mode in store syscalls; do
	echo "# hermit_swap.sh $mode v2"
	SWAPDEV=$HERMIT_SWAPDEV BACKEND=dram MIB=${MIB:-64} "$SELFTESTS/hermit_swap.sh" $mode v2 |
		sed 's/^/# /'
	[ "${PIPESTATUS[0]}" = 0 ] || fail "hermit_swap.sh $mode failed"
done
echo "ok"
