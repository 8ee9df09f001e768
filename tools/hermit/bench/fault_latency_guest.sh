#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Major-fault latency of one swap tier, on a cluster node:
#   fault_latency_guest.sh hermit-dram|hermit-rdma|nvmeof-rdma|zram-lz4|disk [MiB [SERVER]]
# hermit-rdma swaps to the Hermit memory server at SERVER (rdma_server.sh
# start there first), nvmeof-rdma on the NVMe-oF/RDMA namespace SERVER
# exports (nvmeof_swap.sh export there first).
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
hermit-rdma)
	dev=/dev/vdb
	"$SELFTESTS/rdma_client.sh" connect "${3:?server}" >/dev/null ||
		fail "cannot connect to the Hermit server"
	;;
nvmeof-rdma)
	dev=$("$SELFTESTS/nvmeof_swap.sh" connect "${3:?server}") ||
		fail "cannot connect to the NVMe-oF target"
	;;
zram-lz4)
	dev=/dev/zram0
	echo 1 >/sys/block/zram0/reset
	echo lz4 >/sys/block/zram0/comp_algorithm || fail "no lz4 in zram"
	echo 1G >/sys/block/zram0/disksize
	;;
*) fail "unknown mode $mode" ;;
esac
# 512 MiB of swap area: as much as the NVMe-oF ramdisk, 8 chunks on a server.
mkswap "$dev" 524288 >/dev/null && swapon "$dev" || fail "swapon $dev"
case $mode in
hermit-dram | hermit-rdma)
	echo "${mode#hermit-}" >$H/backend
	echo 1 >$H/enabled
	;;
esac
cg=/sys/fs/cgroup/fault-bench
rmdir $cg 2>/dev/null
mkdir $cg
# Over RDMA the limit throttles (memory.high) instead of OOM-killing while
# slow soft-RoCE swap-out catches up; the local tiers keep memory.max.
case $mode in
*-rdma) echo $((mib * 1024 * 1024 / 4)) >$cg/memory.high ;;
*) echo $((mib * 1024 * 1024 / 4)) >$cg/memory.max ;;
esac
out=$( (echo $BASHPID >$cg/cgroup.procs && exec "$SELFTESTS/fault_bench" "$mib") ) ||
	fail "fault_bench failed: $out"
rmdir $cg
swapoff "$dev"
echo 0 >$H/enabled
[ "$mode" = zram-lz4 ] && echo 1 >/sys/block/zram0/reset
[ "$mode" = nvmeof-rdma ] && "$SELFTESTS/nvmeof_swap.sh" disconnect
echo "result: $mode $out"
