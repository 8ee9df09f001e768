#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Major-fault latency of one swap tier, on a cluster node:
#   fault_latency_guest.sh hermit-dram|zram-lz4|disk [MiB]
# fault_bench fills MiB in a cgroup limited to a quarter of it, then reads
# every page in random order, timing the accesses that faulted.
. /run/hermit/selftests/lib.sh

mode=${1:?mode}
mib=${2:-64}
H=/sys/kernel/debug/hermit
swapoff -a 2>/dev/null
echo 0 >$H/enabled
case $mode in
hermit-dram | disk)
	dev=/dev/vdb
	;;
zram-lz4)
	dev=/dev/zram0
	echo 1 >/sys/block/zram0/reset
	echo lz4 >/sys/block/zram0/comp_algorithm || fail "no lz4 in zram"
	echo 1G >/sys/block/zram0/disksize
	;;
*) fail "unknown mode $mode" ;;
esac
mkswap "$dev" >/dev/null && swapon "$dev" || fail "swapon $dev"
if [ "$mode" = hermit-dram ]; then
	echo dram >$H/backend
	echo 1 >$H/enabled
fi
cg=/sys/fs/cgroup/fault-bench
rmdir $cg 2>/dev/null
mkdir $cg
echo $((mib * 1024 * 1024 / 4)) >$cg/memory.max
out=$( (echo $BASHPID >$cg/cgroup.procs && exec "$SELFTESTS/fault_bench" "$mib") ) ||
	fail "fault_bench failed: $out"
rmdir $cg
swapoff "$dev"
echo 0 >$H/enabled
[ "$mode" = zram-lz4 ] && echo 1 >/sys/block/zram0/reset
echo "result: $mode $out"
